//! A dictionary's `<doc>` text reaches rustdoc as prose: brackets outside code are escaped, so
//! ABNF such as `*[ AVP ]` and references such as `[RFC1234]` are not read as intra-doc links
//! (`cargo doc` warns on those, and CI denies the warnings).

use std::path::PathBuf;

#[test]
fn doc_brackets_are_escaped_outside_code() {
    let dir = std::env::temp_dir().join(format!("codegen-doc-text-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let xml = dir.join("brackets.xml");
    std::fs::write(
        &xml,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<dictionary name="brackets" spec="Bracket Test" version="1.0">
  <application id="16777998" name="Bracket Test" type="auth" section="1"/>
  <avp name="Session-Id" code="263" type="UTF8String" mandatory="must" section="2"/>
  <avp name="Bracket-Mode" code="1" type="Enumerated" mandatory="must" section="3">
    <doc>Values from the registry [RFC1234]; others ride in the *[ AVP ] slot; `a[0]` is code.</doc>
    <enum name="OFF" code="0"/>
  </avp>
</dictionary>
"#,
    )
    .unwrap();
    let generated = diameter_codegen::Builder::new()
        .dictionary(&xml)
        .externs(Vec::<PathBuf>::new())
        .emit()
        .expect("fixture generates");
    let _ = std::fs::remove_dir_all(&dir);
    let text = &generated.files[0].1;
    assert!(
        text.contains(r"registry \[RFC1234\]; others ride in the *\[ AVP \] slot; `a[0]` is code."),
        "{text}"
    );
}
