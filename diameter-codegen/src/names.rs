//! Rust names from specification names: `Multiple-Services-Credit-Control` becomes the type
//! `MultipleServicesCreditControl`, the field `multiple_services_credit_control` and the
//! constant `MULTIPLE_SERVICES_CREDIT_CONTROL`. A leading `3GPP` reads `Tgpp`/`tgpp`/`TGPP`
//! (identifiers cannot start with a digit); other leading digits get an `N` prefix.

fn words(name: &str) -> Vec<String> {
    let mut words: Vec<String> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(first) = words.first_mut() {
        if first.starts_with(|c: char| c.is_ascii_digit()) {
            let upper = first.to_ascii_uppercase();
            *first = if let Some(rest) = upper.strip_prefix("3GPP") {
                format!("TGPP{rest}")
            } else {
                format!("N{first}")
            };
        }
    }
    if words.is_empty() {
        words.push("Unnamed".to_owned());
    }
    words
}

/// `CamelCase` type name.
pub(crate) fn type_name(name: &str) -> String {
    words(name)
        .iter()
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect()
}

/// The stem of a command's Request/Answer type names within its dictionary: the command
/// name, prefixed with its application's name when the dictionary defines the same command
/// for several applications (Gx and Gxx both define Credit-Control).
pub(crate) fn command_stem(d: &crate::model::Dictionary, c: &crate::model::Command) -> String {
    let same = d.commands.iter().filter(|o| o.name == c.name).count();
    if same > 1 {
        let app = d
            .applications
            .iter()
            .find(|a| a.id == c.application)
            .map_or_else(|| format!("App{}", c.application), |a| type_name(&a.name));
        format!("{app}{}", type_name(&c.name))
    } else {
        type_name(&c.name)
    }
}

/// Makes `name` unique among `taken` by appending `_<n>` (for constants).
pub(crate) fn unique(
    taken: &mut std::collections::HashSet<String>,
    name: String,
    n: u32,
) -> String {
    let name = if taken.contains(&name) {
        format!("{name}_{n}")
    } else {
        name
    };
    taken.insert(name.clone());
    name
}

/// `snake_case` field name, escaping keywords with a trailing `_`.
pub(crate) fn field_name(name: &str) -> String {
    let s = words(name)
        .iter()
        .map(|w| w.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join("_");
    if is_keyword(&s) || matches!(s.as_str(), "header" | "extra" | "avp_flags") {
        format!("{s}_")
    } else {
        s
    }
}

/// `SCREAMING_SNAKE` constant name.
pub(crate) fn const_name(name: &str) -> String {
    let s = words(name)
        .iter()
        .map(|w| w.to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join("_");
    if matches!(s.as_str(), "KEY" | "SELF") {
        format!("{s}_")
    } else {
        s
    }
}

/// The constant of a Result-Code or Experimental-Result-Code name: the spec's name upper-cased
/// with `-` as `_` (TS 29.214's `IP-CAN_SESSION_NOT_AVAILABLE`).
pub(crate) fn result_code_const(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c == '-' {
                '_'
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect();
    if s == "SELF" { format!("{s}_") } else { s }
}

fn is_keyword(s: &str) -> bool {
    matches!(
        s,
        "as" | "break"
            | "const"
            | "continue"
            | "crate"
            | "else"
            | "enum"
            | "extern"
            | "false"
            | "fn"
            | "for"
            | "if"
            | "impl"
            | "in"
            | "let"
            | "loop"
            | "match"
            | "mod"
            | "move"
            | "mut"
            | "pub"
            | "ref"
            | "return"
            | "self"
            | "static"
            | "struct"
            | "super"
            | "trait"
            | "true"
            | "type"
            | "unsafe"
            | "use"
            | "where"
            | "while"
            | "async"
            | "await"
            | "dyn"
            | "abstract"
            | "become"
            | "box"
            | "do"
            | "final"
            | "macro"
            | "override"
            | "priv"
            | "typeof"
            | "unsized"
            | "virtual"
            | "yield"
            | "try"
            | "gen"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            type_name("Multiple-Services-Credit-Control"),
            "MultipleServicesCreditControl"
        );
        assert_eq!(type_name("3GPP-IMSI"), "TgppImsi");
        assert_eq!(type_name("3GPP2-BSID"), "Tgpp2Bsid");
        assert_eq!(field_name("CC-Request-Type"), "cc_request_type");
        assert_eq!(field_name("Type"), "type_");
        assert_eq!(
            const_name("DO_NOT_WANT_TO_TALK_TO_YOU"),
            "DO_NOT_WANT_TO_TALK_TO_YOU"
        );
        assert_eq!(const_name("3GPP-IMSI"), "TGPP_IMSI");
        assert_eq!(const_name("0 (zero)"), "N0_ZERO");
    }
}
