//! Generates `$OUT_DIR/diameter_generated.rs` from `dict/acme.xml`. Its rules use AVPs of
//! the base protocol, whose types come from `diameter_core::generated::base`.

fn main() {
    let builtin = diameter_codegen::builtin_dictionaries_dir();
    diameter_codegen::Builder::new()
        .dictionary("dict/acme.xml")
        // Only the built-in dictionaries this one uses; omit `externs` to use them all.
        .externs([builtin.join("base.xml")])
        .generate()
        .unwrap_or_else(|e| panic!("{e}"));
    println!("cargo:rerun-if-changed=dict/acme.xml");
    println!(
        "cargo:rerun-if-changed={}",
        builtin.join("base.xml").display()
    );
}
