//! Every validation error the generator knows, from a malformed fixture: each produces a
//! diagnostic naming the file and line, and nothing panics.

use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/errors")
        .join(format!("{name}.xml"))
}

fn diagnostics(name: &str) -> Vec<diameter_codegen::Diagnostic> {
    let err = diameter_codegen::Builder::new()
        .dictionary(fixture(name))
        .externs(Vec::<PathBuf>::new())
        .emit()
        .expect_err("fixture must be rejected");
    let d = err.diagnostics().to_vec();
    assert!(!d.is_empty(), "{name}: no diagnostics in {err}");
    d
}

#[track_caller]
fn expect(name: &str, line: usize, needle: &str) {
    let d = diagnostics(name);
    let hit = d.iter().find(|d| d.message.contains(needle));
    let Some(hit) = hit else {
        panic!("{name}: no diagnostic containing {needle:?}: {d:?}");
    };
    assert_eq!(hit.line, line, "{name}: wrong line for {hit}");
    assert!(
        hit.file.ends_with(format!("{name}.xml")),
        "{name}: wrong file {}",
        hit.file.display()
    );
    // The rendered form is `file:line: message`.
    assert!(hit.to_string().contains(&format!("{name}.xml:{line}: ")));
}

#[test]
fn undefined_avp_in_rule() {
    expect("undefined_avp", 5, "undefined AVP Nope");
}

#[test]
fn duplicate_code_and_vendor() {
    expect("duplicate_code", 4, "duplicate AVP (code 1, vendor 0)");
}

#[test]
fn duplicate_name() {
    expect("duplicate_name", 4, "duplicate AVP name A");
}

#[test]
fn duplicate_enum_value() {
    expect("duplicate_enum", 5, "duplicate enum value 0");
}

#[test]
fn enum_on_non_integer() {
    expect(
        "enum_on_octetstring",
        4,
        "not Enumerated, Integer32 or Unsigned32",
    );
}

#[test]
fn fixed_after_non_fixed() {
    expect(
        "fixed_after_required",
        8,
        "fixed rule after a non-fixed one",
    );
}

#[test]
fn grouped_cycle() {
    expect("grouped_cycle", 3, "contain each other");
}

#[test]
fn unknown_vendor() {
    expect("unknown_vendor", 3, "undeclared vendor 99999");
}

#[test]
fn unknown_type() {
    expect("unknown_type", 3, "unknown AVP type \"Unsigned16\"");
}

#[test]
fn unknown_flag_rule() {
    expect(
        "unknown_flag_rule",
        3,
        "must be must, may, mustnot or shouldnot",
    );
}

#[test]
fn unknown_application() {
    expect("unknown_application", 4, "undeclared application 77");
}

#[test]
fn min_above_max() {
    expect("min_above_max", 6, "min 3 > max 2");
}

#[test]
fn grouped_without_rules() {
    expect("grouped_without_rules", 3, "has no <grouped> rules");
}

#[test]
fn bad_number() {
    expect("bad_number", 3, "not a valid number");
}

#[test]
fn unknown_element() {
    expect("unknown_element", 4, "unknown element <avpp>");
}

#[test]
fn malformed_xml() {
    let d = diagnostics("malformed_xml");
    assert!(
        d[0].message.contains("XML") || d[0].message.contains("never closed"),
        "{d:?}"
    );
    assert!(d[0].line >= 3);
}

#[test]
fn arbitrary_text_never_panics() {
    // A few hostile inputs straight into the parser.
    for text in [
        "",
        "<",
        "<dictionary>",
        "<dictionary name='x' spec='s' version='1'><avp/></dictionary>",
        "<dictionary name='X!' spec='s' version='1'><command/></dictionary>",
        "<?xml version='1.0'?><a><b></a>",
        "<dictionary name='x' spec='s' version='1'><avp name='a' code='-1' type='Grouped' mandatory='must' section='1'><grouped><any-avp max='zz'/></grouped></avp></dictionary>",
    ] {
        let _ = diameter_codegen::parse_dictionary("inline.xml", text);
    }
}

#[test]
fn duplicate_command() {
    expect(
        "duplicate_command",
        8,
        "duplicate command (code 9, application 0)",
    );
}

#[test]
fn replaces_unknown_definition() {
    expect(
        "bad_replaces",
        4,
        "replaces a definition that dictionary \"other\" does not have",
    );
}

#[test]
fn bad_result_code_attributes() {
    expect(
        "bad_result_code",
        4,
        "6001, outside the classes 1xxx to 5xxx",
    );
    expect("bad_result_code", 5, "must match [A-Za-z][A-Za-z0-9_-]*");
    expect(
        "bad_result_code",
        6,
        "`code` of <result-code> is not a valid number",
    );
    expect(
        "bad_result_code",
        7,
        "unknown attribute `vendor` on <result-code>",
    );
    expect(
        "bad_result_code",
        8,
        "<experimental-result-code> needs the attribute `vendor`",
    );
    expect("bad_result_code", 9, "`vendor` must not be 0");
    // The good one is not reported.
    assert!(diagnostics("bad_result_code").iter().all(|d| d.line != 3));
}

#[test]
fn duplicate_result_codes_and_undeclared_vendor() {
    expect("duplicate_result_code", 5, "duplicate Result-Code 4012");
    // The same value as an Experimental-Result-Code of a vendor is another code.
    assert!(
        diagnostics("duplicate_result_code")
            .iter()
            .all(|d| d.line != 6)
    );
    // DIAMETER-A and DIAMETER_A are both the constant DIAMETER_A.
    expect(
        "duplicate_result_code",
        7,
        "duplicate result code name DIAMETER-A (constant DIAMETER_A",
    );
    expect(
        "duplicate_result_code",
        8,
        "duplicate Experimental-Result-Code 5001 of vendor 10415",
    );
    expect(
        "duplicate_result_code",
        9,
        "<experimental-result-code> DIAMETER_E uses undeclared vendor 99999",
    );
}

/// The tables' text separates fields with `|` (diameter-core's `dictionary::compact`).
#[test]
fn bar_in_a_name() {
    expect(
        "bar_in_name",
        4,
        "value name \"X|Y\" contains `|` or a line break",
    );
}
