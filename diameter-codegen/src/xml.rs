//! A small element tree over quick-xml that remembers the line of every element, so that
//! every later error can name `file:line`.

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;

use crate::error::Problem;

/// One XML element.
#[derive(Debug, Clone)]
pub(crate) struct Element {
    pub(crate) name: String,
    pub(crate) attrs: Vec<(String, String)>,
    pub(crate) children: Vec<Element>,
    pub(crate) text: String,
    pub(crate) line: usize,
}

impl Element {
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

fn line_of(src: &str, offset: usize) -> usize {
    src.as_bytes()[..offset.min(src.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn start(src: &str, e: &BytesStart<'_>, offset: usize) -> Result<Element, Problem> {
    let line = line_of(src, offset);
    let name = String::from_utf8_lossy(e.name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| Problem::new(line, format!("malformed attribute: {err}")))?;
        let value = a
            .unescape_value()
            .map_err(|err| Problem::new(line, format!("malformed attribute value: {err}")))?;
        attrs.push((
            String::from_utf8_lossy(a.key.as_ref()).into_owned(),
            value.into_owned(),
        ));
    }
    Ok(Element {
        name,
        attrs,
        children: Vec::new(),
        text: String::new(),
        line,
    })
}

/// Parses a whole document into its root element.
pub(crate) fn parse(src: &str) -> Result<Element, Problem> {
    let mut reader = Reader::from_str(src);
    let mut stack: Vec<Element> = Vec::new();
    let mut root = None;
    loop {
        let offset = reader.buffer_position() as usize;
        let event = reader.read_event().map_err(|e| {
            Problem::new(
                line_of(src, reader.buffer_position() as usize),
                format!("malformed XML: {e}"),
            )
        })?;
        match event {
            Event::Start(e) => stack.push(start(src, &e, offset)?),
            Event::Empty(e) => {
                let el = start(src, &e, offset)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let Some(el) = stack.pop() else {
                    return Err(Problem::new(line_of(src, offset), "unbalanced end tag"));
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    let text = t.unescape().map_err(|e| {
                        Problem::new(line_of(src, offset), format!("malformed text: {e}"))
                    })?;
                    top.text.push_str(&text);
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(Problem::new(
            open.line,
            format!("element <{}> is never closed", open.name),
        ));
    }
    root.ok_or_else(|| Problem::new(1, "no root element"))
}
