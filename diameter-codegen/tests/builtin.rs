//! The built-in dictionaries are found from the crate itself, and `Builder::new()` lets a
//! user dictionary use their AVPs. (That they ship in the published package is checked by
//! `scripts/package-check`, which runs the generator from an unpacked `.crate`.)

use std::path::Path;

const USER_DICTIONARY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<dictionary name="probe" spec="Probe Application" version="1.0">
  <application id="16777998" name="Probe" type="auth" section="1"/>
  <command name="Probe" short="PR" code="9998" application="16777998" proxiable="true" section="2">
    <request>
      <fixed avp="Session-Id"/>
      <required avp="Origin-Host"/>
      <required avp="Origin-Realm"/>
      <optional avp="Proxy-Info" max="unbounded"/>
    </request>
    <answer>
      <fixed avp="Session-Id"/>
      <required avp="Result-Code"/>
    </answer>
  </command>
</dictionary>
"#;

#[test]
fn builtin_dictionaries_are_found() {
    let dir = diameter_codegen::builtin_dictionaries_dir();
    let files = diameter_codegen::dictionaries_in(&dir).expect("built-in dictionaries folder");
    assert!(
        files.iter().any(|f| f.ends_with("base.xml")),
        "no base.xml in {}: {files:?}",
        dir.display()
    );
}

#[test]
fn user_dictionary_uses_builtin_avps_by_default() {
    let dict = Path::new(env!("CARGO_TARGET_TMPDIR")).join("builtin-probe.xml");
    std::fs::write(&dict, USER_DICTIONARY).unwrap();
    let generated = diameter_codegen::Builder::new()
        .dictionary(&dict)
        .emit()
        .unwrap_or_else(|e| panic!("{e}"));
    let (name, text) = &generated.files[0];
    assert_eq!(name, "diameter_generated.rs");
    assert!(text.contains("ProbeRequest"), "the command is generated");
    assert!(
        text.contains("diameter_core::generated::base::ProxyInfo"),
        "the base protocol's Proxy-Info comes from diameter-core"
    );
}
