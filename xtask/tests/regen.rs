//! `cargo xtask regen --check` passes on the checked-in tree and fails, naming the stale
//! file, once a dictionary changes without regeneration.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

fn xtask(args: &[&str], root: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .arg("--root")
        .arg(root)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn checked_in_code_is_fresh() {
    let (ok, text) = xtask(&["regen", "--check"], &workspace());
    assert!(ok, "{text}");
}

#[test]
fn check_fails_after_dictionary_edit() {
    let tmp = std::env::temp_dir().join(format!("xtask-regen-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let ws = workspace();
    copy_dir(&ws.join("dictionaries"), &tmp.join("dictionaries"));
    copy_dir(
        &ws.join("diameter-core/src/generated"),
        &tmp.join("diameter-core/src/generated"),
    );
    std::fs::copy(
        ws.join("diameter-core/Cargo.toml"),
        tmp.join("diameter-core/Cargo.toml"),
    )
    .unwrap();

    let (ok, text) = xtask(&["regen", "--check"], &tmp);
    assert!(ok, "fresh copy should pass: {text}");

    // Edit the base dictionary: a section reference, which only changes rustdoc.
    let base = tmp.join("dictionaries/base.xml");
    let xml = std::fs::read_to_string(&base).unwrap();
    let edited = xml.replacen("section=\"8.8\"", "section=\"8.8 (edited)\"", 1);
    assert_ne!(xml, edited, "base.xml should define Session-Id in §8.8");
    std::fs::write(&base, edited).unwrap();

    let (ok, text) = xtask(&["regen", "--check"], &tmp);
    assert!(!ok, "check must fail after the edit");
    assert!(
        text.contains("diameter-core/src/generated/base.rs"),
        "names the stale file: {text}"
    );

    let (ok, text) = xtask(&["regen"], &tmp);
    assert!(ok, "{text}");
    let (ok, text) = xtask(&["regen", "--check"], &tmp);
    assert!(ok, "fresh after regen: {text}");
    let _ = std::fs::remove_dir_all(&tmp);
}
