//! Writing results: JSON as one object, an array, or one object per line, streamed.

use std::io::{self, Write};

use serde_json::Value;

/// Whether an error is (or wraps) a closed stdout, e.g. `diameter decode ... | head`: the
/// command then stops quietly.
pub(crate) fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Prints JSON values as they come: with `lines`, one compact object per line; otherwise
/// one pretty object when there is exactly one value, else a pretty array. Only the first
/// value is held back (until the second shows it is an array).
pub(crate) struct JsonSink<W: Write> {
    out: W,
    lines: bool,
    held: Option<Value>,
    count: usize,
}

impl<W: Write> JsonSink<W> {
    pub(crate) fn new(out: W, lines: bool) -> Self {
        Self {
            out,
            lines,
            held: None,
            count: 0,
        }
    }

    pub(crate) fn push(&mut self, v: Value) -> io::Result<()> {
        self.count += 1;
        if self.lines {
            serde_json::to_writer(&mut self.out, &v)?;
            return self.out.write_all(b"\n");
        }
        match self.count {
            1 => {
                self.held = Some(v);
                Ok(())
            }
            2 => {
                let first = self.held.take().unwrap_or(Value::Null);
                self.out.write_all(b"[\n")?;
                write_indented(&mut self.out, &first)?;
                self.out.write_all(b",\n")?;
                write_indented(&mut self.out, &v)
            }
            _ => {
                self.out.write_all(b",\n")?;
                write_indented(&mut self.out, &v)
            }
        }
    }

    /// Closes the array (or prints the single object) and flushes.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        if !self.lines {
            match self.count {
                0 => self.out.write_all(b"[]\n")?,
                1 => {
                    let v = self.held.take().unwrap_or(Value::Null);
                    serde_json::to_writer_pretty(&mut self.out, &v)?;
                    self.out.write_all(b"\n")?;
                }
                _ => self.out.write_all(b"\n]\n")?,
            }
        }
        self.out.flush()
    }
}

/// Writes `v` pretty-printed, every line indented by two spaces (an array element).
fn write_indented(out: &mut impl Write, v: &Value) -> io::Result<()> {
    let text = serde_json::to_string_pretty(v)?;
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.write_all(b"\n")?;
        }
        out.write_all(b"  ")?;
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(values: &[Value], lines: bool) -> String {
        let mut buf = Vec::new();
        let mut sink = JsonSink::new(&mut buf, lines);
        for v in values {
            sink.push(v.clone()).unwrap();
        }
        sink.finish().unwrap();
        String::from_utf8(buf).unwrap()
    }

    #[test]
    fn shapes() {
        assert_eq!(render(&[], false), "[]\n");
        let one = render(&[json!({"a": 1})], false);
        assert_eq!(
            serde_json::from_str::<Value>(&one).unwrap(),
            json!({"a": 1})
        );
        let two = render(&[json!({"a": 1}), json!({"b": [2]})], false);
        assert_eq!(
            serde_json::from_str::<Value>(&two).unwrap(),
            json!([{"a": 1}, {"b": [2]}])
        );
        assert_eq!(render(&[json!(1), json!(2)], true), "1\n2\n");
    }
}
