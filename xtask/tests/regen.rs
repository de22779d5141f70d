//! `cargo xtask regen [--check]` on the small dictionary set of tests/fixtures/small (a
//! `--root` with `dictionaries/` and a `diameter-core/Cargo.toml` stub): regen writes the
//! generated modules and the dictionary features, `--check` then passes, and after a
//! dictionary edit it fails naming the stale file and changes nothing.
//!
//! The freshness of the checked-in tree (every real dictionary) is not tested here: CI runs
//! `cargo xtask regen --check` once, as its own step of scripts/test-all.

use std::path::{Path, PathBuf};
use std::process::Command;

const GENERATED: &str = "diameter-core/src/generated";

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

/// A fresh copy of the fixture (dictionaries and manifest stub, nothing generated yet),
/// removed on drop.
struct Fixture(PathBuf);

impl Fixture {
    fn new(test: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("xtask-regen-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        copy_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/small"),
            &dir,
        );
        Self(dir)
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    /// Replaces the first `from` of file `rel` with `to`.
    fn edit(&self, rel: &str, from: &str, to: &str) {
        let text = self.read(rel);
        let edited = text.replacen(from, to, 1);
        assert_ne!(text, edited, "{rel} should contain {from:?}");
        std::fs::write(self.path(rel), edited).unwrap();
    }

    /// Runs the xtask on this root: (success, stdout + stderr).
    fn xtask(&self, args: &[&str]) -> (bool, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(args)
            .arg("--root")
            .arg(&self.0)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    }

    /// Every file under `diameter-core/` with its contents, sorted by path.
    fn snapshot(&self) -> Vec<(PathBuf, String)> {
        fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    let text = std::fs::read_to_string(&p).unwrap();
                    out.push((p, text));
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.path("diameter-core"), &mut out);
        out.sort();
        out
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs regen on a fresh fixture and checks it is then up to date.
fn generated(test: &str) -> Fixture {
    let f = Fixture::new(test);
    let (ok, text) = f.xtask(&["regen", "--check"]);
    assert!(!ok, "nothing is generated yet: {text}");
    let (ok, text) = f.xtask(&["regen"]);
    assert!(ok, "{text}");
    let (ok, text) = f.xtask(&["regen", "--check"]);
    assert!(ok, "fresh after regen: {text}");
    assert!(text.contains("up to date (5 files)"), "{text}");
    f
}

#[test]
fn regen_writes_modules_and_features() {
    let f = generated("writes");
    for m in ["mod", "base", "acme", "acme_ext"] {
        assert!(f.path(&format!("{GENERATED}/{m}.rs")).is_file(), "{m}.rs");
    }
    let manifest = f.read("diameter-core/Cargo.toml");
    assert!(
        manifest.contains(
            "# BEGIN dictionary features (written by `cargo xtask regen`)\n\
             # Every dictionary and application: for tools (the CLI, fuzzers, interop).\n\
             all = [\"acme\", \"acme_ext\", \"at\"]\n"
        ),
        "{manifest}"
    );
    for feature in ["acme", "acme_ext", "at"] {
        assert!(
            manifest.contains(&format!("\n{feature} = []\n")),
            "{manifest}"
        );
    }
    // Acme-Mode is reached by the application's command (`at`), by its own dictionary and by
    // acme_ext's rules: it is compiled under any of the three.
    let acme = f.read(&format!("{GENERATED}/acme.rs"));
    assert!(
        acme.contains("#[cfg(any(feature = \"acme\", feature = \"acme_ext\", feature = \"at\"))]"),
        "{acme}"
    );
    let (ok, text) = f.xtask(&["regen"]);
    assert!(ok && text.contains("nothing to regenerate"), "{text}");
}

#[test]
fn check_fails_after_dictionary_edit_naming_the_stale_file() {
    let f = generated("edit");
    // A section reference of a command, which only changes rustdoc of its own module.
    f.edit(
        "dictionaries/acme.xml",
        "<request section=\"4.1\">",
        "<request section=\"4.1 (edited)\">",
    );
    let before = f.snapshot();
    let (ok, text) = f.xtask(&["regen", "--check"]);
    assert!(!ok, "check must fail after the edit: {text}");
    assert!(text.contains(&format!("{GENERATED}/acme.rs")), "{text}");
    for other in ["base.rs", "acme_ext.rs", "mod.rs"] {
        assert!(!text.contains(other), "only acme.rs is stale: {text}");
    }
    assert!(!text.contains("Cargo.toml"), "{text}");
    assert_eq!(before, f.snapshot(), "--check writes nothing");

    let (ok, text) = f.xtask(&["regen"]);
    assert!(ok, "{text}");
    assert!(
        f.read(&format!("{GENERATED}/acme.rs"))
            .contains("4.1 (edited)")
    );
    let (ok, text) = f.xtask(&["regen", "--check"]);
    assert!(ok, "fresh after regen: {text}");
}

#[test]
fn check_fails_after_feature_change_naming_the_manifest() {
    let f = generated("feature");
    f.edit(
        "dictionaries/acme.xml",
        "feature=\"at\"",
        "feature=\"acme_test\"",
    );
    let (ok, text) = f.xtask(&["regen", "--check"]);
    assert!(!ok, "{text}");
    assert!(text.contains("diameter-core/Cargo.toml"), "{text}");
    assert!(text.contains(&format!("{GENERATED}/acme.rs")), "{text}");
    let (ok, text) = f.xtask(&["regen"]);
    assert!(ok, "{text}");
    let manifest = f.read("diameter-core/Cargo.toml");
    assert!(manifest.contains("\nacme_test = []\n"), "{manifest}");
    assert!(!manifest.contains("\nat = []\n"), "{manifest}");
}

#[test]
fn check_names_modules_no_dictionary_produces() {
    let f = generated("removed");
    std::fs::remove_file(f.path("dictionaries/acme_ext.xml")).unwrap();
    let (ok, text) = f.xtask(&["regen", "--check"]);
    assert!(!ok, "{text}");
    assert!(
        text.contains(&format!("{GENERATED}/acme_ext.rs (no longer generated)")),
        "{text}"
    );
    assert!(f.path(&format!("{GENERATED}/acme_ext.rs")).is_file());
    let (ok, text) = f.xtask(&["regen"]);
    assert!(ok, "{text}");
    assert!(!f.path(&format!("{GENERATED}/acme_ext.rs")).exists());
    let (ok, text) = f.xtask(&["regen", "--check"]);
    assert!(ok, "{text}");
}

#[test]
fn manifest_without_markers_is_an_error() {
    let f = Fixture::new("markers");
    f.edit(
        "diameter-core/Cargo.toml",
        "# END dictionary features",
        "# END (marker removed)",
    );
    let (ok, text) = f.xtask(&["regen"]);
    assert!(!ok, "{text}");
    assert!(text.contains("lacks the markers"), "{text}");
}
