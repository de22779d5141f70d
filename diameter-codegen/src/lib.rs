//! Generates typed Rust from Diameter dictionaries written in XML (the format is described in
//! `dictionaries/README.md`, shipped with this crate).
//!
//! The pipeline is model, validate, emit: XML is read into an element tree that remembers
//! lines, lowered into a [`model::Dictionary`], checked across all files (every problem is
//! reported with `file:line`), and emitted with `quote`, parsed by `syn` and formatted by
//! `prettyplease`.
//!
//! # From build.rs
//!
//! A crate with its own dictionary (say `dict/acme.xml`, whose rules may use the built-in
//! AVPs such as Session-Id) generates its types like this:
//!
//! ```no_run
//! // build.rs: fn main() { ... }
//! diameter_codegen::Builder::new()
//!     .dictionary("dict/acme.xml")
//!     .out_dir(std::env::var("OUT_DIR").unwrap())
//!     .generate()
//!     .unwrap();
//! println!("cargo:rerun-if-changed=dict/acme.xml");
//! ```
//!
//! and includes them with
//! `include!(concat!(env!("OUT_DIR"), "/diameter_generated.rs"));`. The example crate
//! `diameter-codegen/examples/custom-dictionary` does exactly this and is built by the tests.
#![forbid(unsafe_code)]

mod emit;
mod error;
pub mod model;
mod names;
mod validate;
mod xml;

use std::path::{Path, PathBuf};

pub use error::{Diagnostic, Error};

/// The folder of the built-in dictionaries compiled into `diameter-core`, so a user's
/// dictionary can use their AVPs. They ship inside this crate (`dictionaries/`); in the
/// workspace that folder is a symlink to the root `dictionaries/`.
pub fn builtin_dictionaries_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shipped = manifest.join("dictionaries");
    if shipped.is_dir() {
        shipped
    } else {
        // A workspace checkout without symlinks (git's `core.symlinks=false`, as on some
        // Windows set-ups) has a text file there; the files themselves are at the root.
        manifest.join("../dictionaries")
    }
}

/// Parses and lowers one dictionary from text.
pub fn parse_dictionary(file: impl Into<PathBuf>, text: &str) -> Result<model::Dictionary, Error> {
    let file = file.into();
    let mut problems = Vec::new();
    let d = match xml::parse(text) {
        Ok(root) => Some(model::lower(file.clone(), &root, &mut problems)),
        Err(p) => {
            problems.push(p);
            None
        }
    };
    match d {
        Some(d) if problems.is_empty() => Ok(d),
        _ => Err(Error::Invalid(
            problems
                .into_iter()
                .map(|p| Diagnostic {
                    file: file.clone(),
                    line: p.line,
                    message: p.message,
                })
                .collect(),
        )),
    }
}

fn read_all(paths: &[PathBuf]) -> Result<Vec<model::Dictionary>, Error> {
    let mut out = Vec::new();
    let mut diags = Vec::new();
    for p in paths {
        let text = std::fs::read_to_string(p).map_err(|source| Error::Io {
            path: p.clone(),
            source,
        })?;
        match parse_dictionary(p.clone(), &text) {
            Ok(d) => out.push(d),
            Err(Error::Invalid(d)) => diags.extend(d),
            Err(e) => return Err(e),
        }
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(Error::Invalid(diags))
    }
}

/// Every `*.xml` file of a folder, sorted by name.
pub fn dictionaries_in(dir: impl AsRef<Path>) -> Result<Vec<PathBuf>, Error> {
    let dir = dir.as_ref();
    let rd = std::fs::read_dir(dir).map_err(|source| Error::Io {
        path: dir.to_owned(),
        source,
    })?;
    let mut v: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    v.sort();
    Ok(v)
}

/// Generated sources: file name and contents, plus the dependencies between modules.
#[derive(Debug, Clone)]
pub struct Generated {
    /// `(file name, contents)`, in a stable order.
    pub files: Vec<(String, String)>,
    /// For each generated module, the other generated modules whose AVPs its rules name.
    pub dependencies: Vec<(String, Vec<String>)>,
    /// diameter-core's layout only: its cargo features (`s6a`, `gy`, `ts29212`, ...) and
    /// what each compiles, sorted by name; empty for a user's crate.
    pub features: Vec<(String, String)>,
    /// Those of `features` that compile an application (interface) rather than only a
    /// dictionary, e.g. `gy`, `gx`, `s6a`.
    pub interfaces: Vec<String>,
}

/// Configures and runs generation (the prost-build shape: setters, then `generate`).
#[derive(Debug, Clone)]
pub struct Builder {
    dictionaries: Vec<PathBuf>,
    externs: Option<Vec<PathBuf>>,
    out_dir: Option<PathBuf>,
    core_layout: bool,
    generator: String,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// A builder for user dictionaries that may use the built-in ones.
    pub fn new() -> Self {
        Self {
            dictionaries: Vec::new(),
            externs: None,
            out_dir: None,
            core_layout: false,
            generator: "diameter-codegen".to_owned(),
        }
    }

    /// Adds a dictionary to generate code for.
    pub fn dictionary(&mut self, path: impl Into<PathBuf>) -> &mut Self {
        self.dictionaries.push(path.into());
        self
    }

    /// Adds several dictionaries.
    pub fn dictionaries<P: Into<PathBuf>>(
        &mut self,
        paths: impl IntoIterator<Item = P>,
    ) -> &mut Self {
        self.dictionaries.extend(paths.into_iter().map(Into::into));
        self
    }

    /// Dictionaries whose code already exists in `diameter_core::generated` and that the
    /// generated code refers to instead of generating again. Defaults to every built-in
    /// dictionary; pass an empty list to stand alone.
    pub fn externs<P: Into<PathBuf>>(&mut self, paths: impl IntoIterator<Item = P>) -> &mut Self {
        self.externs = Some(paths.into_iter().map(Into::into).collect());
        self
    }

    /// Where [`Builder::generate`] writes (`OUT_DIR` in build.rs).
    pub fn out_dir(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// Emit the layout of `diameter-core`'s own `generated/` folder (used by xtask).
    #[doc(hidden)]
    pub fn core_layout(&mut self, on: bool) -> &mut Self {
        self.core_layout = on;
        self
    }

    /// The name written in the `@generated` header.
    pub fn generator_name(&mut self, name: impl Into<String>) -> &mut Self {
        self.generator = name.into();
        self
    }

    /// Parses, validates and emits, returning the files without writing them.
    pub fn emit(&self) -> Result<Generated, Error> {
        let externs = match (&self.externs, self.core_layout) {
            (_, true) => Vec::new(),
            (Some(e), false) => e.clone(),
            (None, false) => dictionaries_in(builtin_dictionaries_dir())?,
        };
        let mut dicts = read_all(&self.dictionaries)?;
        let n_local = dicts.len();
        dicts.extend(read_all(&externs)?);
        let local: Vec<bool> = (0..dicts.len()).map(|i| i < n_local).collect();
        let resolved = validate::validate(&dicts).map_err(Error::Invalid)?;
        let layout = if self.core_layout {
            emit::Layout::Core
        } else {
            emit::Layout::User
        };
        let e = emit::emit(&dicts, &local, &resolved, layout, &self.generator)?;
        Ok(Generated {
            files: e.files,
            dependencies: e
                .deps
                .into_iter()
                .map(|(k, v)| (k, v.into_iter().collect()))
                .collect(),
            features: e.features.into_iter().collect(),
            interfaces: e.interfaces.into_iter().collect(),
        })
    }

    /// Emits and writes the files into the output folder, leaving unchanged files untouched
    /// (so nothing rebuilds needlessly).
    pub fn generate(&self) -> Result<Generated, Error> {
        let g = self.emit()?;
        let dir = self
            .out_dir
            .clone()
            .or_else(|| std::env::var_os("OUT_DIR").map(PathBuf::from))
            .ok_or_else(|| Error::Io {
                path: PathBuf::from("OUT_DIR"),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no out_dir and no OUT_DIR",
                ),
            })?;
        for (name, text) in &g.files {
            let path = dir.join(name);
            if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
                std::fs::write(&path, text).map_err(|source| Error::Io { path, source })?;
            }
        }
        Ok(g)
    }
}
