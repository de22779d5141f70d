//! The dictionary model and its lowering from the XML tree. Lowering checks what one element
//! can tell (known elements and attributes, numbers, enum values); cross-file checks are in
//! `validate.rs`.

use std::path::PathBuf;

use crate::error::Problem;
use crate::xml::Element;

/// The data formats of RFC 6733 §4.2/§4.3 plus QoSFilterRule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AvpType {
    /// OctetString.
    OctetString,
    /// Integer32.
    Integer32,
    /// Integer64.
    Integer64,
    /// Unsigned32.
    Unsigned32,
    /// Unsigned64.
    Unsigned64,
    /// Float32.
    Float32,
    /// Float64.
    Float64,
    /// Grouped.
    Grouped,
    /// Address.
    Address,
    /// Time.
    Time,
    /// UTF8String.
    Utf8String,
    /// DiameterIdentity.
    DiameterIdentity,
    /// DiameterURI.
    DiameterUri,
    /// Enumerated.
    Enumerated,
    /// IPFilterRule.
    IpFilterRule,
    /// QoSFilterRule.
    QosFilterRule,
}

impl AvpType {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "OctetString" => Self::OctetString,
            "Integer32" => Self::Integer32,
            "Integer64" => Self::Integer64,
            "Unsigned32" => Self::Unsigned32,
            "Unsigned64" => Self::Unsigned64,
            "Float32" => Self::Float32,
            "Float64" => Self::Float64,
            "Grouped" => Self::Grouped,
            "Address" => Self::Address,
            "Time" => Self::Time,
            "UTF8String" => Self::Utf8String,
            "DiameterIdentity" => Self::DiameterIdentity,
            "DiameterURI" => Self::DiameterUri,
            "Enumerated" => Self::Enumerated,
            "IPFilterRule" => Self::IpFilterRule,
            "QoSFilterRule" => Self::QosFilterRule,
            _ => return None,
        })
    }

    /// The variant name of `diameter_core::dictionary::AvpType`.
    pub fn core_variant(self) -> &'static str {
        match self {
            Self::OctetString => "OctetString",
            Self::Integer32 => "Integer32",
            Self::Integer64 => "Integer64",
            Self::Unsigned32 => "Unsigned32",
            Self::Unsigned64 => "Unsigned64",
            Self::Float32 => "Float32",
            Self::Float64 => "Float64",
            Self::Grouped => "Grouped",
            Self::Address => "Address",
            Self::Time => "Time",
            Self::Utf8String => "UTF8String",
            Self::DiameterIdentity => "DiameterIdentity",
            Self::DiameterUri => "DiameterURI",
            Self::Enumerated => "Enumerated",
            Self::IpFilterRule => "IPFilterRule",
            Self::QosFilterRule => "QoSFilterRule",
        }
    }
}

/// A flag rule from a specification's AVP table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlagRule {
    /// MUST.
    Must,
    /// MAY.
    May,
    /// MUST NOT.
    MustNot,
    /// SHOULD NOT.
    ShouldNot,
}

impl FlagRule {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "must" => Self::Must,
            "may" => Self::May,
            "mustnot" => Self::MustNot,
            "shouldnot" => Self::ShouldNot,
            _ => return None,
        })
    }

    /// The variant name of `diameter_core::dictionary::FlagRule`.
    pub fn core_variant(self) -> &'static str {
        match self {
            Self::Must => "Must",
            Self::May => "May",
            Self::MustNot => "MustNot",
            Self::ShouldNot => "ShouldNot",
        }
    }
}

/// One dictionary file.
#[derive(Debug, Clone)]
pub struct Dictionary {
    /// Where it was read from.
    pub file: PathBuf,
    /// Module name.
    pub name: String,
    /// Specification transcribed.
    pub spec: String,
    /// Its version.
    pub version: String,
    /// Optional title.
    pub title: Option<String>,
    /// Line of the root element.
    pub line: usize,
    /// Vendors declared.
    pub vendors: Vec<Vendor>,
    /// Applications declared.
    pub applications: Vec<Application>,
    /// AVPs defined.
    pub avps: Vec<Avp>,
    /// Commands defined.
    pub commands: Vec<Command>,
    /// Result-Code (`<result-code>`) and Experimental-Result-Code (`<experimental-result-code>`)
    /// values defined, in file order.
    pub result_codes: Vec<ResultCodeValue>,
}

/// A named Result-Code value (RFC 6733 §7.1) or a vendor's Experimental-Result-Code value
/// (§7.7) that a specification defines.
#[derive(Debug, Clone)]
pub struct ResultCodeValue {
    /// The name as the specification writes it, e.g. `DIAMETER_CREDIT_LIMIT_REACHED`.
    pub name: String,
    /// The value.
    pub code: u32,
    /// `None` for a Result-Code (AVP 268); the Vendor-Id of an Experimental-Result-Code
    /// (AVP 298, inside Experimental-Result with that Vendor-Id).
    pub vendor: Option<u32>,
    /// The section of the specification that defines it.
    pub section: String,
    /// Free text for rustdoc.
    pub doc: Option<String>,
    /// Source line.
    pub line: usize,
}

impl ResultCodeValue {
    /// The element name it is written with.
    pub fn element(&self) -> &'static str {
        if self.vendor.is_some() {
            "experimental-result-code"
        } else {
            "result-code"
        }
    }
}

/// A vendor.
#[derive(Debug, Clone)]
pub struct Vendor {
    /// Enterprise number.
    pub id: u32,
    /// Name.
    pub name: String,
    /// Source line.
    pub line: usize,
}

/// An application.
#[derive(Debug, Clone)]
pub struct Application {
    /// Application-Id.
    pub id: u32,
    /// Name.
    pub name: String,
    /// `true` for accounting.
    pub acct: bool,
    /// Section.
    pub section: Option<String>,
    /// The cargo feature of diameter-core that compiles this application's commands (and
    /// what their ABNF reaches), e.g. `s6a`; `None` for the base protocol's applications.
    pub feature: Option<String>,
    /// Source line.
    pub line: usize,
}

/// An AVP definition.
#[derive(Debug, Clone)]
pub struct Avp {
    /// Name.
    pub name: String,
    /// Code.
    pub code: u32,
    /// Vendor-ID.
    pub vendor: u32,
    /// Data format.
    pub ty: AvpType,
    /// M rule.
    pub mandatory: FlagRule,
    /// P rule.
    pub protected: FlagRule,
    /// V rule.
    pub vendor_bit: FlagRule,
    /// Section of the spec.
    pub section: String,
    /// Free text for rustdoc.
    pub doc: Option<String>,
    /// Named values (Enumerated, Integer32, Unsigned32).
    pub enums: Vec<EnumValue>,
    /// Grouped rules.
    pub grouped: Option<Vec<Rule>>,
    /// Source line.
    pub line: usize,
}

/// A named value of an Enumerated AVP, or of an Integer32 or Unsigned32 AVP whose
/// specification names some of its values.
#[derive(Debug, Clone)]
pub struct EnumValue {
    /// Name as the spec writes it.
    pub name: String,
    /// Value (an Unsigned32 value as its 32-bit pattern, `u as i32`).
    pub code: i32,
    /// Source line.
    pub line: usize,
}

/// Kind of a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RuleKind {
    /// `< >`.
    Fixed,
    /// `{ }`.
    Required,
    /// `[ ]`.
    Optional,
}

/// One ABNF rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Kind.
    pub kind: RuleKind,
    /// The AVP's name, `None` for `*[ AVP ]`.
    pub avp: Option<String>,
    /// Minimum occurrences.
    pub min: u32,
    /// Maximum occurrences, `None` for unbounded.
    pub max: Option<u32>,
    /// Source line.
    pub line: usize,
}

impl Rule {
    /// Whether more than one occurrence is allowed (a `Vec` field).
    pub fn repeated(&self) -> bool {
        self.max != Some(1)
    }
}

/// A command of an application.
#[derive(Debug, Clone)]
pub struct Command {
    /// Name without Request/Answer.
    pub name: String,
    /// Abbreviation stem.
    pub short: Option<String>,
    /// Code.
    pub code: u32,
    /// Application-Id.
    pub application: u32,
    /// P bit.
    pub proxiable: bool,
    /// Section.
    pub section: String,
    /// Free text.
    pub doc: Option<String>,
    /// The dictionary whose definition of the same (code, application) this one replaces
    /// (TS 32.299's Ro CCR refines RFC 4006's). In diameter-core the replaced definition
    /// keeps the dispatch of `decode_typed`, so that enabling a feature never changes how a
    /// message decodes; in a user's crate the replacing one takes it.
    pub replaces: Option<String>,
    /// The cargo feature compiling this command when it differs from its application's
    /// (TS 32.299's Gy/Ro CCR is `gy`, in RFC 4006's application 4).
    pub feature: Option<String>,
    /// Request ABNF.
    pub request: Vec<Rule>,
    /// Section of the request ABNF.
    pub request_section: Option<String>,
    /// Answer ABNF.
    pub answer: Vec<Rule>,
    /// Section of the answer ABNF.
    pub answer_section: Option<String>,
    /// Source line.
    pub line: usize,
}

struct Lower<'a> {
    problems: &'a mut Vec<Problem>,
}

impl Lower<'_> {
    /// The `feature` attribute: a cargo feature name (`[a-z][a-z0-9_]*`) that is not one of
    /// the names diameter-core gives a meaning of its own.
    fn feature(&mut self, el: &Element) -> Option<String> {
        let f = el.attr("feature")?;
        let well_formed = f.starts_with(|c: char| c.is_ascii_lowercase())
            && f.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !well_formed || ["all", "default", "base"].contains(&f) {
            self.problems.push(Problem::new(
                el.line,
                format!("`feature` of <{}> must match [a-z][a-z0-9_]* and not be all, default or base: {f:?}", el.name),
            ));
            return None;
        }
        Some(f.to_owned())
    }

    fn check_attrs(&mut self, el: &Element, allowed: &[&str]) {
        for (k, _) in &el.attrs {
            if !allowed.contains(&k.as_str()) && !k.starts_with("xmlns") {
                self.problems.push(Problem::new(
                    el.line,
                    format!("unknown attribute `{k}` on <{}>", el.name),
                ));
            }
        }
    }

    fn req<'e>(&mut self, el: &'e Element, attr: &str) -> Option<&'e str> {
        let v = el.attr(attr);
        if v.is_none() {
            self.problems.push(Problem::new(
                el.line,
                format!("<{}> needs the attribute `{attr}`", el.name),
            ));
        }
        v
    }

    fn num<T: std::str::FromStr>(&mut self, el: &Element, attr: &str, v: &str) -> Option<T> {
        let r = v.trim().parse::<T>().ok();
        if r.is_none() {
            self.problems.push(Problem::new(
                el.line,
                format!("`{attr}` of <{}> is not a valid number: {v:?}", el.name),
            ));
        }
        r
    }

    fn flag(&mut self, el: &Element, attr: &str, default: FlagRule) -> FlagRule {
        match el.attr(attr) {
            None => default,
            Some(v) => FlagRule::parse(v).unwrap_or_else(|| {
                self.problems.push(Problem::new(
                    el.line,
                    format!("`{attr}` must be must, may, mustnot or shouldnot, not {v:?}"),
                ));
                default
            }),
        }
    }

    fn rules(&mut self, el: &Element) -> Vec<Rule> {
        self.check_attrs(el, &["section"]);
        let mut out = Vec::new();
        for r in &el.children {
            let kind = match r.name.as_str() {
                "fixed" => RuleKind::Fixed,
                "required" => RuleKind::Required,
                "optional" | "any-avp" => RuleKind::Optional,
                other => {
                    self.problems.push(Problem::new(
                        r.line,
                        format!("unknown rule <{other}> in <{}>", el.name),
                    ));
                    continue;
                }
            };
            let any = r.name == "any-avp";
            if any {
                self.check_attrs(r, &["min", "max"]);
            } else {
                self.check_attrs(r, &["avp", "min", "max"]);
            }
            let avp = if any {
                None
            } else {
                self.req(r, "avp").map(str::to_owned)
            };
            if !any && avp.is_none() {
                continue;
            }
            let default_min = if kind == RuleKind::Optional { 0 } else { 1 };
            let min = match r.attr("min") {
                Some(v) => self.num(r, "min", v).unwrap_or(default_min),
                None => default_min,
            };
            let max = match r.attr("max") {
                Some("unbounded") => None,
                Some(v) => Some(self.num(r, "max", v).unwrap_or(1)),
                None if any => None,
                None => Some(1),
            };
            out.push(Rule {
                kind,
                avp,
                min,
                max,
                line: r.line,
            });
        }
        out
    }

    fn avp(&mut self, el: &Element) -> Option<Avp> {
        self.check_attrs(
            el,
            &[
                "name",
                "code",
                "vendor",
                "type",
                "mandatory",
                "protected",
                "vendor-bit",
                "section",
            ],
        );
        let name = self.req(el, "name")?.to_owned();
        let code = self.req(el, "code").and_then(|v| self.num(el, "code", v))?;
        let vendor = match el.attr("vendor") {
            Some(v) => self.num(el, "vendor", v)?,
            None => 0,
        };
        let ty_text = self.req(el, "type")?;
        let Some(ty) = AvpType::parse(ty_text) else {
            self.problems.push(Problem::new(
                el.line,
                format!("unknown AVP type {ty_text:?}"),
            ));
            return None;
        };
        let mandatory = match self.req(el, "mandatory") {
            Some(_) => self.flag(el, "mandatory", FlagRule::May),
            None => FlagRule::May,
        };
        let protected = self.flag(el, "protected", FlagRule::May);
        let vdefault = if vendor != 0 {
            FlagRule::Must
        } else {
            FlagRule::MustNot
        };
        let vendor_bit = self.flag(el, "vendor-bit", vdefault);
        let section = self.req(el, "section").unwrap_or_default().to_owned();
        let mut avp = Avp {
            name,
            code,
            vendor,
            ty,
            mandatory,
            protected,
            vendor_bit,
            section,
            doc: None,
            enums: Vec::new(),
            grouped: None,
            line: el.line,
        };
        for c in &el.children {
            match c.name.as_str() {
                "doc" => avp.doc = Some(c.text.trim().to_owned()),
                "enum" => {
                    self.check_attrs(c, &["name", "code"]);
                    if !matches!(
                        ty,
                        AvpType::Enumerated | AvpType::Integer32 | AvpType::Unsigned32
                    ) {
                        self.problems.push(Problem::new(
                            c.line,
                            format!(
                                "<enum> on AVP {} of type {ty_text}, not Enumerated, Integer32 or Unsigned32",
                                avp.name
                            ),
                        ));
                        continue;
                    }
                    let (Some(n), Some(v)) = (self.req(c, "name"), self.req(c, "code")) else {
                        continue;
                    };
                    let n = n.to_owned();
                    // An Unsigned32 value is kept as its 32-bit pattern (`v as i32`), as the
                    // tables of diameter-core hold it.
                    let code = if ty == AvpType::Unsigned32 {
                        self.num::<u32>(c, "code", v).map(|u| u as i32)
                    } else {
                        self.num::<i32>(c, "code", v)
                    };
                    if let Some(code) = code {
                        avp.enums.push(EnumValue {
                            name: n,
                            code,
                            line: c.line,
                        });
                    }
                }
                "grouped" => {
                    if ty != AvpType::Grouped {
                        self.problems.push(Problem::new(
                            c.line,
                            format!("<grouped> on AVP {} of type {ty_text}", avp.name),
                        ));
                        continue;
                    }
                    avp.grouped = Some(self.rules(c));
                }
                other => self.problems.push(Problem::new(
                    c.line,
                    format!("unknown element <{other}> in <avp>"),
                )),
            }
        }
        if ty == AvpType::Grouped && avp.grouped.is_none() {
            self.problems.push(Problem::new(
                el.line,
                format!("Grouped AVP {} has no <grouped> rules", avp.name),
            ));
            avp.grouped = Some(Vec::new());
        }
        Some(avp)
    }

    fn command(&mut self, el: &Element) -> Option<Command> {
        self.check_attrs(
            el,
            &[
                "name",
                "short",
                "code",
                "application",
                "proxiable",
                "section",
                "replaces",
                "feature",
            ],
        );
        let name = self.req(el, "name")?.to_owned();
        let code = self.req(el, "code").and_then(|v| self.num(el, "code", v))?;
        let application = self
            .req(el, "application")
            .and_then(|v| self.num(el, "application", v))?;
        let proxiable = match self.req(el, "proxiable")? {
            "true" | "1" => true,
            "false" | "0" => false,
            other => {
                self.problems.push(Problem::new(
                    el.line,
                    format!("`proxiable` must be true or false, not {other:?}"),
                ));
                false
            }
        };
        let mut cmd = Command {
            name,
            short: el.attr("short").map(str::to_owned),
            code,
            application,
            proxiable,
            section: self.req(el, "section").unwrap_or_default().to_owned(),
            doc: None,
            replaces: el.attr("replaces").map(str::to_owned),
            feature: self.feature(el),
            request: Vec::new(),
            request_section: None,
            answer: Vec::new(),
            answer_section: None,
            line: el.line,
        };
        let (mut has_req, mut has_ans) = (false, false);
        for c in &el.children {
            match c.name.as_str() {
                "doc" => cmd.doc = Some(c.text.trim().to_owned()),
                "request" => {
                    has_req = true;
                    cmd.request = self.rules(c);
                    cmd.request_section = c.attr("section").map(str::to_owned);
                }
                "answer" => {
                    has_ans = true;
                    cmd.answer = self.rules(c);
                    cmd.answer_section = c.attr("section").map(str::to_owned);
                }
                other => self.problems.push(Problem::new(
                    c.line,
                    format!("unknown element <{other}> in <command>"),
                )),
            }
        }
        if !has_req || !has_ans {
            self.problems.push(Problem::new(
                el.line,
                format!("command {} needs both <request> and <answer>", cmd.name),
            ));
        }
        Some(cmd)
    }

    /// `<result-code name code section/>` or `<experimental-result-code name code vendor
    /// section/>`, with an optional `<doc>` child.
    fn result_code(&mut self, el: &Element) -> Option<ResultCodeValue> {
        let experimental = el.name == "experimental-result-code";
        if experimental {
            self.check_attrs(el, &["name", "code", "vendor", "section"]);
        } else {
            self.check_attrs(el, &["name", "code", "section"]);
        }
        let name = self.req(el, "name");
        let code = self
            .req(el, "code")
            .and_then(|v| self.num::<u32>(el, "code", v));
        let vendor = if experimental {
            match self.req(el, "vendor") {
                Some(v) => match self.num::<u32>(el, "vendor", v)? {
                    0 => {
                        self.problems.push(Problem::new(
                            el.line,
                            "an Experimental-Result-Code belongs to a vendor: `vendor` must not be 0 \
                             (IETF values are <result-code>)",
                        ));
                        return None;
                    }
                    v => Some(v),
                },
                None => return None,
            }
        } else {
            None
        };
        let section = self.req(el, "section");
        let (name, code, section) = (name?, code?, section?);
        let well_formed = name.starts_with(|c: char| c.is_ascii_alphabetic())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !well_formed {
            self.problems.push(Problem::new(
                el.line,
                format!(
                    "`name` of <{}> must match [A-Za-z][A-Za-z0-9_-]*: {name:?}",
                    el.name
                ),
            ));
            return None;
        }
        // RFC 6733 §7.1: the thousands digit is the class, 1xxx to 5xxx.
        if !(1000..=5999).contains(&code) {
            self.problems.push(Problem::new(
                el.line,
                format!(
                    "`code` of <{}> {name} is {code}, outside the classes 1xxx to 5xxx of RFC 6733 §7.1",
                    el.name
                ),
            ));
            return None;
        }
        let mut doc = None;
        for c in &el.children {
            match c.name.as_str() {
                "doc" => doc = Some(c.text.trim().to_owned()),
                other => self.problems.push(Problem::new(
                    c.line,
                    format!("unknown element <{other}> in <{}>", el.name),
                )),
            }
        }
        Some(ResultCodeValue {
            name: name.to_owned(),
            code,
            vendor,
            section: section.to_owned(),
            doc,
            line: el.line,
        })
    }
}

/// Lowers a parsed document into a [`Dictionary`], collecting problems.
pub(crate) fn lower(file: PathBuf, root: &Element, problems: &mut Vec<Problem>) -> Dictionary {
    let mut l = Lower { problems };
    if root.name != "dictionary" {
        l.problems.push(Problem::new(
            root.line,
            format!("root element must be <dictionary>, not <{}>", root.name),
        ));
    }
    l.check_attrs(root, &["name", "spec", "version", "title", "depends"]);
    let name = l.req(root, "name").unwrap_or("unnamed").to_owned();
    if !name.starts_with(|c: char| c.is_ascii_lowercase())
        || !name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        l.problems.push(Problem::new(
            root.line,
            format!("dictionary name {name:?} must match [a-z][a-z0-9_]*"),
        ));
    }
    let mut d = Dictionary {
        file,
        spec: l.req(root, "spec").unwrap_or_default().to_owned(),
        version: l.req(root, "version").unwrap_or_default().to_owned(),
        title: root.attr("title").map(str::to_owned),
        name,
        line: root.line,
        vendors: Vec::new(),
        applications: Vec::new(),
        avps: Vec::new(),
        commands: Vec::new(),
        result_codes: Vec::new(),
    };
    for el in &root.children {
        match el.name.as_str() {
            "vendor" => {
                l.check_attrs(el, &["id", "name"]);
                if let (Some(id), Some(name)) = (l.req(el, "id"), l.req(el, "name")) {
                    let name = name.to_owned();
                    if let Some(id) = l.num(el, "id", id) {
                        d.vendors.push(Vendor {
                            id,
                            name,
                            line: el.line,
                        });
                    }
                }
            }
            "application" => {
                l.check_attrs(el, &["id", "name", "type", "section", "feature"]);
                let (Some(id), Some(name), Some(ty)) =
                    (l.req(el, "id"), l.req(el, "name"), l.req(el, "type"))
                else {
                    continue;
                };
                let name = name.to_owned();
                let acct = match ty {
                    "auth" => false,
                    "acct" => true,
                    other => {
                        l.problems.push(Problem::new(
                            el.line,
                            format!("application type must be auth or acct, not {other:?}"),
                        ));
                        false
                    }
                };
                if let Some(id) = l.num(el, "id", id) {
                    d.applications.push(Application {
                        id,
                        name,
                        acct,
                        section: el.attr("section").map(str::to_owned),
                        feature: l.feature(el),
                        line: el.line,
                    });
                }
            }
            "avp" => {
                if let Some(a) = l.avp(el) {
                    d.avps.push(a);
                }
            }
            "command" => {
                if let Some(c) = l.command(el) {
                    d.commands.push(c);
                }
            }
            "result-code" | "experimental-result-code" => {
                if let Some(r) = l.result_code(el) {
                    d.result_codes.push(r);
                }
            }
            other => l.problems.push(Problem::new(
                el.line,
                format!("unknown element <{other}> in <dictionary>"),
            )),
        }
    }
    d
}
