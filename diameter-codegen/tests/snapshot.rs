//! Snapshot of the code generated for a small fixture dictionary. On a difference the test
//! fails; run with `UPDATE_SNAPSHOTS=1` to rewrite the snapshot, then review it with git diff.

use std::path::{Path, PathBuf};

#[test]
fn small_dictionary_snapshot() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let generated = diameter_codegen::Builder::new()
        .dictionary(dir.join("fixtures/small/acme.xml"))
        .externs(Vec::<PathBuf>::new())
        .emit()
        .expect("fixture generates");
    assert_eq!(generated.files.len(), 1);
    let (name, text) = &generated.files[0];
    assert_eq!(name, "diameter_generated.rs");
    let text = text.replace(&dir.display().to_string(), "<tests>");
    let snapshot = dir.join("snapshots/acme.rs.txt");
    let expected = std::fs::read_to_string(&snapshot).unwrap_or_default();
    if expected != text {
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&snapshot, &text).unwrap();
        } else {
            panic!(
                "generated code differs from {}; rerun with UPDATE_SNAPSHOTS=1 and review the diff",
                snapshot.display()
            );
        }
    }
    // Every generated public item carries rustdoc that names the specification.
    assert!(text.contains("ACME Diameter Test Application §3.4"));
    assert!(
        text.contains("pub acme_tree: Option<rt::lazy::Lazy<AcmeTree>>"),
        "optional recursion is boxed (in a Lazy)"
    );
    assert!(text.contains("pub acme_peer: Vec<rt::data::Address>"));
    assert!(text.contains("pub const AUTO_3GPP: Self = Self(2);"));
    // Named values of an Unsigned32 AVP: table rows (as the i32 bit pattern, sorted so),
    // no newtype.
    assert!(text.contains("Acme-Level|ACME Diameter Test Application §3.5\nE|-1|MAX\nE|0|LOW\n"));
    assert!(text.contains("pub acme_level: Option<u32>"));
    // Result-Codes: constants (a hyphen becomes an underscore), table rows, name lookups.
    assert!(text.contains("pub const ACME_WIDGET_JAMMED: rt::ResultCode = rt::ResultCode(4999);"));
    assert!(
        text.contains("pub const ACME_ERROR_NO_WIDGET: rt::result_code::ExperimentalResultCode")
    );
    assert!(text.contains("(99999, 5999) => Some(\"ACME_ERROR_NO-WIDGET\"),"));
}

#[test]
fn generation_is_deterministic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/small/acme.xml");
    let a = diameter_codegen::Builder::new()
        .dictionary(&dir)
        .externs(Vec::<PathBuf>::new())
        .emit()
        .unwrap();
    let b = diameter_codegen::Builder::new()
        .dictionary(&dir)
        .externs(Vec::<PathBuf>::new())
        .emit()
        .unwrap();
    assert_eq!(a.files, b.files);
}
