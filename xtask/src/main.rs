//! Project automation. `cargo xtask regen` rewrites `diameter-core/src/generated/` from
//! `dictionaries/*.xml`, the dictionary features of `diameter-core/Cargo.toml` and their
//! forwarding in `diameter-node/Cargo.toml`;
//! `cargo xtask regen --check` changes nothing and fails, naming the stale files, when the
//! checked-in code does not match the dictionaries.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

const FEATURES_BEGIN: &str = "# BEGIN dictionary features (written by `cargo xtask regen`)";
const FEATURES_END: &str = "# END dictionary features";

/// The workspace root; `--root DIR` points at another copy (the staleness test uses one).
fn root(args: &[String]) -> PathBuf {
    match args.iter().position(|a| a == "--root") {
        Some(i) if i + 1 < args.len() => PathBuf::from(&args[i + 1]),
        _ => {
            let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
            p.canonicalize().unwrap_or(p)
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("regen") => {
            let check = args.iter().any(|a| a == "--check");
            regen(&root(&args), check)
        }
        Some("features") => features(&root(&args), args.iter().any(|a| a == "--interfaces")),
        _ => {
            eprintln!("usage: cargo xtask regen [--check] [--root DIR]");
            eprintln!("       cargo xtask features [--interfaces] [--root DIR]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The expected contents of every generated file, keyed by path relative to `root`.
fn expected(root: &Path) -> Result<Vec<(PathBuf, String)>> {
    let dicts = diameter_codegen::dictionaries_in(root.join("dictionaries"))?;
    let generated = diameter_codegen::Builder::new()
        .dictionaries(dicts)
        .core_layout(true)
        .generator_name("`cargo xtask regen`")
        .emit()?;
    let mut out: Vec<(PathBuf, String)> = generated
        .files
        .iter()
        .map(|(name, text)| {
            (
                PathBuf::from("diameter-core/src/generated").join(name),
                text.clone(),
            )
        })
        .collect();
    for (manifest, forward) in [
        ("diameter-core/Cargo.toml", None),
        ("diameter-node/Cargo.toml", Some("diameter-core")),
    ] {
        let path = root.join(manifest);
        // A checkout for the staleness test may hold only diameter-core.
        if forward.is_some() && !path.exists() {
            continue;
        }
        let current =
            std::fs::read_to_string(&path).with_context(|| format!("reading {manifest}"))?;
        out.push((
            PathBuf::from(manifest),
            with_features(&current, &generated.features, forward)?,
        ));
    }
    Ok(out)
}

/// `current` manifest with its dictionary-feature block rewritten: `all`, then each feature
/// with a comment saying what it compiles; with `forward`, each feature turns on the same
/// feature of that crate.
fn with_features(
    current: &str,
    features: &[(String, String)],
    forward: Option<&str>,
) -> Result<String> {
    let (Some(b), Some(e)) = (current.find(FEATURES_BEGIN), current.find(FEATURES_END)) else {
        bail!("manifest lacks the markers {FEATURES_BEGIN:?} / {FEATURES_END:?}");
    };
    let value = |name: &str| match forward {
        Some(c) => format!("[\"{c}/{name}\"]"),
        None => "[]".to_owned(),
    };
    let mut block = format!("{FEATURES_BEGIN}\n");
    block.push_str("# Every dictionary and application: for tools (the CLI, fuzzers, interop).\n");
    match forward {
        Some(_) => block.push_str(&format!("all = {}\n", value("all"))),
        None => block.push_str(&format!(
            "all = [{}]\n",
            features
                .iter()
                .map(|(n, _)| format!("\"{n}\""))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
    for (name, what) in features {
        block.push_str(&format!("# {what}\n{name} = {}\n", value(name)));
    }
    Ok(format!("{}{}{}", &current[..b], block, &current[e..]))
}

/// Prints diameter-core's dictionary features, one per line (with `--interfaces`, only
/// those compiling an application: what CI builds one at a time).
fn features(root: &Path, interfaces_only: bool) -> Result<()> {
    let dicts = diameter_codegen::dictionaries_in(root.join("dictionaries"))?;
    let generated = diameter_codegen::Builder::new()
        .dictionaries(dicts)
        .core_layout(true)
        .emit()?;
    if interfaces_only {
        generated.interfaces.iter().for_each(|f| println!("{f}"));
    } else {
        generated.features.iter().for_each(|(f, _)| println!("{f}"));
    }
    Ok(())
}

fn regen(root: &Path, check: bool) -> Result<()> {
    let files = expected(root)?;
    let gen_dir = root.join("diameter-core/src/generated");
    let mut stale = Vec::new();
    for (rel, text) in &files {
        let path = root.join(rel);
        let now = std::fs::read_to_string(&path)
            .ok()
            .map(|s| s.replace("\r\n", "\n"));
        if now.as_deref() != Some(text.as_str()) {
            stale.push(rel.display().to_string());
            if !check {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
        }
    }
    // Files in generated/ that no dictionary produces any more.
    if let Ok(rd) = std::fs::read_dir(&gen_dir) {
        for entry in rd.flatten() {
            let rel = PathBuf::from("diameter-core/src/generated").join(entry.file_name());
            if !files.iter().any(|(r, _)| *r == rel) {
                stale.push(format!("{} (no longer generated)", rel.display()));
                if !check {
                    std::fs::remove_file(entry.path())?;
                }
            }
        }
    }
    if check {
        if !stale.is_empty() {
            bail!(
                "generated code is stale; run `cargo xtask regen` and commit:\n  {}",
                stale.join("\n  ")
            );
        }
        println!("generated code is up to date ({} files)", files.len());
    } else if stale.is_empty() {
        println!("nothing to regenerate");
    } else {
        println!("regenerated:\n  {}", stale.join("\n  "));
    }
    Ok(())
}
