//! Dictionary tables for generic decoding, validation and printing.
//!
//! The generator emits one [`Module`] per dictionary file plus lookup functions that
//! `match` on `(vendor, code)`; this module defines the table types and the lookups over all
//! compiled-in modules.

use crate::avp::AvpKey;

pub mod compact;

pub use compact::ModuleTables;

/// RFC 6733 §4.2/§4.3 data formats (plus QoSFilterRule).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(clippy::upper_case_acronyms)]
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
    UTF8String,
    /// DiameterIdentity.
    DiameterIdentity,
    /// DiameterURI.
    DiameterURI,
    /// Enumerated.
    Enumerated,
    /// IPFilterRule.
    IPFilterRule,
    /// QoSFilterRule.
    QoSFilterRule,
}

impl AvpType {
    /// The name as the RFC writes it.
    pub const fn name(self) -> &'static str {
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
            Self::UTF8String => "UTF8String",
            Self::DiameterIdentity => "DiameterIdentity",
            Self::DiameterURI => "DiameterURI",
            Self::Enumerated => "Enumerated",
            Self::IPFilterRule => "IPFilterRule",
            Self::QoSFilterRule => "QoSFilterRule",
        }
    }

    /// Parses [`Self::name`].
    pub fn from_name(s: &str) -> Option<Self> {
        ALL_TYPES.iter().copied().find(|t| t.name() == s)
    }

    /// The size of the data for fixed-size types, the minimum otherwise: what a Failed-AVP
    /// for a missing AVP carries as zeroed data (RFC 6733 §7.5).
    pub const fn min_data_len(self) -> usize {
        match self {
            Self::Integer32 | Self::Unsigned32 | Self::Float32 | Self::Enumerated | Self::Time => 4,
            Self::Integer64 | Self::Unsigned64 | Self::Float64 => 8,
            Self::Address => 6,
            _ => 0,
        }
    }
}

/// Every [`AvpType`].
pub const ALL_TYPES: [AvpType; 16] = [
    AvpType::OctetString,
    AvpType::Integer32,
    AvpType::Integer64,
    AvpType::Unsigned32,
    AvpType::Unsigned64,
    AvpType::Float32,
    AvpType::Float64,
    AvpType::Grouped,
    AvpType::Address,
    AvpType::Time,
    AvpType::UTF8String,
    AvpType::DiameterIdentity,
    AvpType::DiameterURI,
    AvpType::Enumerated,
    AvpType::IPFilterRule,
    AvpType::QoSFilterRule,
];

/// A flag rule of a specification's AVP table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlagRule {
    /// MUST be set.
    Must,
    /// MAY be set.
    May,
    /// MUST NOT be set.
    MustNot,
    /// SHOULD NOT be set.
    ShouldNot,
}

impl FlagRule {
    /// Whether a sender following the rule sets the bit by default.
    pub const fn default_set(self) -> bool {
        matches!(self, Self::Must)
    }
}

/// One AVP definition.
#[derive(Debug)]
pub struct AvpDef {
    /// AVP Code.
    pub code: u32,
    /// Vendor-ID (0: IETF).
    pub vendor: u32,
    /// Name as the specification writes it.
    pub name: &'static str,
    /// Data format.
    pub ty: AvpType,
    /// M-bit rule.
    pub mandatory: FlagRule,
    /// P-bit rule.
    pub protected: FlagRule,
    /// V-bit rule.
    pub vendor_bit: FlagRule,
    /// Named values, sorted by value: those of an Enumerated AVP, or those an Integer32 or
    /// Unsigned32 AVP's specification names (an Unsigned32 value as its 32-bit pattern,
    /// `u as i32`; see [`AvpDef::value_name`]).
    pub enums: &'static [(i32, &'static str)],
    /// Member rules of a Grouped AVP.
    pub grouped: &'static [Rule],
    /// Where it is defined, e.g. `RFC 6733 §8.8`.
    pub spec: &'static str,
}

impl AvpDef {
    /// The AVP's key.
    pub const fn key(&self) -> AvpKey {
        AvpKey::new(self.code, self.vendor)
    }

    /// The flags a sender sets by default: V from the vendor, M and P when the rule is MUST.
    pub const fn default_flags(&self) -> crate::avp::AvpFlags {
        let mut f = 0;
        if self.vendor != 0 {
            f |= crate::avp::AvpFlags::VENDOR;
        }
        if self.mandatory.default_set() {
            f |= crate::avp::AvpFlags::MANDATORY;
        }
        if self.protected.default_set() {
            f |= crate::avp::AvpFlags::PROTECTED;
        }
        crate::avp::AvpFlags(f)
    }

    /// The name of an enumerated value.
    pub fn enum_name(&self, value: i32) -> Option<&'static str> {
        self.enums
            .binary_search_by_key(&value, |(v, _)| *v)
            .ok()
            .map(|i| self.enums[i].1)
    }

    /// The specification's name of a value of an Enumerated, Integer32 or Unsigned32 AVP (an
    /// Unsigned32 value given as `u64` from `u32`), if it names it.
    pub fn value_name(&self, value: i64) -> Option<&'static str> {
        let v = match self.ty {
            AvpType::Unsigned32 => u32::try_from(value).ok()? as i32,
            _ => i32::try_from(value).ok()?,
        };
        self.enum_name(v)
    }

    /// The value of an enumerated name.
    pub fn enum_value(&self, name: &str) -> Option<i32> {
        self.enums.iter().find(|(_, n)| *n == name).map(|(v, _)| *v)
    }
}

/// Kind of an ABNF rule (RFC 6733 §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RuleKind {
    /// `< AVP >`: at a fixed position, at the start.
    Fixed,
    /// `{ AVP }`: must be present.
    Required,
    /// `[ AVP ]`: may be present.
    Optional,
}

/// One ABNF rule: which AVP (or any, for `*[ AVP ]`), and how often.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rule {
    /// Fixed, required or optional.
    pub kind: RuleKind,
    /// The AVP, or `None` for the `*[ AVP ]` slot.
    pub avp: Option<AvpKey>,
    /// Minimum occurrences.
    pub min: u32,
    /// Maximum occurrences ([`UNBOUNDED`] for `*`).
    pub max: u32,
}

/// `max` of a rule without an upper bound.
pub const UNBOUNDED: u32 = u32::MAX;

/// Auth or accounting application (RFC 6733 §2.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApplicationKind {
    /// Advertised in Auth-Application-Id.
    Auth,
    /// Advertised in Acct-Application-Id.
    Acct,
}

/// An application id.
#[derive(Debug)]
pub struct ApplicationDef {
    /// Application-Id.
    pub id: u32,
    /// Name.
    pub name: &'static str,
    /// Auth or accounting.
    pub kind: ApplicationKind,
    /// Where it is defined.
    pub spec: &'static str,
}

/// A vendor.
#[derive(Debug)]
pub struct VendorDef {
    /// SMI Private Enterprise Code.
    pub id: u32,
    /// Name.
    pub name: &'static str,
}

/// A command of an application: its request and answer ABNF.
#[derive(Debug)]
pub struct CommandDef {
    /// Command Code.
    pub code: u32,
    /// Application-Id.
    pub application: u32,
    /// Name without Request/Answer, e.g. `Credit-Control`.
    pub name: &'static str,
    /// Abbreviation stem, e.g. `CC`.
    pub short: &'static str,
    /// Whether the P bit is set (`PXY` in the ABNF header).
    pub proxiable: bool,
    /// Request ABNF.
    pub request: &'static [Rule],
    /// Answer ABNF.
    pub answer: &'static [Rule],
    /// Where it is defined.
    pub spec: &'static str,
}

impl CommandDef {
    /// The rules for a request (`true`) or an answer.
    pub fn rules(&self, request: bool) -> &'static [Rule] {
        if request { self.request } else { self.answer }
    }
}

/// A named Result-Code (RFC 6733 §7.1) or Experimental-Result-Code (§7.7) value of a
/// specification.
#[derive(Debug)]
pub struct ResultCodeDef {
    /// 0 for a Result-Code (AVP 268); the Vendor-Id of an Experimental-Result-Code (never 0).
    pub vendor: u32,
    /// The value.
    pub code: u32,
    /// Name as the specification writes it, e.g. `DIAMETER_CREDIT_LIMIT_REACHED`.
    pub name: &'static str,
    /// Where it is defined, e.g. `IETF RFC 8506 §9.1`.
    pub spec: &'static str,
}

impl ResultCodeDef {
    /// Whether this is an Experimental-Result-Code value (of vendor [`Self::vendor`]).
    pub const fn is_experimental(&self) -> bool {
        self.vendor != 0
    }
}

/// One dictionary file's tables.
#[derive(Debug)]
pub struct Module {
    /// Module name (`base`, `credit_control`, ...).
    pub name: &'static str,
    /// The specification transcribed.
    pub spec: &'static str,
    /// Its version.
    pub version: &'static str,
    /// Vendors declared.
    pub vendors: &'static [VendorDef],
    /// Applications declared.
    pub applications: &'static [ApplicationDef],
    /// AVPs defined, sorted by (vendor, code).
    pub avps: &'static [AvpDef],
    /// Commands defined.
    pub commands: &'static [CommandDef],
    /// Result-Code and Experimental-Result-Code values defined, sorted by (vendor, code).
    pub result_codes: &'static [ResultCodeDef],
}

/// Dictionaries generated by users (from build.rs) and registered at run time; consulted
/// only when the compiled-in tables miss.
static REGISTERED: std::sync::RwLock<Vec<&'static Module>> = std::sync::RwLock::new(Vec::new());

/// Makes a user-generated dictionary module known to validation, dumps and lookups
/// (the generated `register()` calls this for every module of the file). Idempotent.
pub fn register(module: &'static Module) {
    let mut list = REGISTERED
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if !list.iter().any(|m| std::ptr::eq(*m, module)) {
        list.push(module);
    }
}

fn registered() -> Vec<&'static Module> {
    REGISTERED
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// The `i`-th AVP definition of `module` (its `avps`, sorted by vendor and code), if that
/// module is compiled in: the arms of the generated `avp_def` (the module constants fold,
/// so each arm is a check that the module's tables are parsed and an index).
#[inline(always)]
pub fn avp_in(module: Option<&'static ModuleTables>, i: usize) -> Option<&'static AvpDef> {
    module.and_then(|m| m.get().avps.get(i))
}

/// The AVP definition for `key` among the compiled-in and registered dictionaries.
#[inline]
pub fn avp(key: AvpKey) -> Option<&'static AvpDef> {
    crate::generated::avp_def(key.vendor, key.code).or_else(|| registered_avp(key))
}

#[cold]
fn registered_avp(key: AvpKey) -> Option<&'static AvpDef> {
    let list = REGISTERED
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    list.iter().find_map(|m| {
        m.avps
            .binary_search_by_key(&(key.vendor, key.code), |a| (a.vendor, a.code))
            .ok()
            .map(|i| &m.avps[i])
    })
}

/// The name of an AVP, if known.
pub fn avp_name(key: AvpKey) -> Option<&'static str> {
    avp(key).map(|d| d.name)
}

/// The command definition for `(code, application)`; base commands defined for
/// application 0 (RAR, STR, ASR, ...) serve applications that do not redefine them.
#[inline]
pub fn command(code: u32, application: u32) -> Option<&'static CommandDef> {
    crate::generated::command_def(code, application)
        .or_else(|| registered_command(code, application))
        .or_else(|| crate::generated::command_def(code, 0))
}

#[cold]
fn registered_command(code: u32, application: u32) -> Option<&'static CommandDef> {
    let list = REGISTERED
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    list.iter()
        .flat_map(|m| m.commands.iter())
        .find(|c| c.code == code && c.application == application)
}

/// The name of a Result-Code value (AVP 268) among the compiled-in and registered
/// dictionaries, e.g. `DIAMETER_CREDIT_LIMIT_REACHED` for 4012 when a dictionary defining it
/// (RFC 8506's) is compiled in. RFC 6733's are always known.
#[inline]
pub fn result_code_name(code: u32) -> Option<&'static str> {
    crate::generated::result_code_name(code).or_else(|| registered_result_code(0, code))
}

/// The name of vendor `vendor`'s Experimental-Result-Code value `code` (AVP 298, inside an
/// Experimental-Result with that Vendor-Id) among the compiled-in and registered
/// dictionaries, e.g. `DIAMETER_ERROR_UNKNOWN_EPS_SUBSCRIPTION` for (10415, 5420) with TS
/// 29.272 compiled in. `None` for vendor 0.
#[inline]
pub fn experimental_result_code_name(vendor: u32, code: u32) -> Option<&'static str> {
    if vendor == 0 {
        return None;
    }
    crate::generated::experimental_result_code_name(vendor, code)
        .or_else(|| registered_result_code(vendor, code))
}

#[cold]
fn registered_result_code(vendor: u32, code: u32) -> Option<&'static str> {
    let list = REGISTERED
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    list.iter().find_map(|m| {
        m.result_codes
            .binary_search_by_key(&(vendor, code), |r| (r.vendor, r.code))
            .ok()
            .map(|i| m.result_codes[i].name)
    })
}

/// Every compiled-in dictionary module, then the registered ones.
pub fn modules() -> impl Iterator<Item = &'static Module> {
    crate::generated::MODULES
        .iter()
        .flatten()
        .map(|m| m.get())
        .chain(registered())
}

/// Looks an AVP up by name (linear: for tools and JSON input, not the hot path).
pub fn avp_by_name(name: &str) -> Option<&'static AvpDef> {
    modules()
        .flat_map(|m| m.avps.iter())
        .find(|a| a.name == name)
}

/// Looks a vendor up by id.
pub fn vendor(id: u32) -> Option<&'static VendorDef> {
    modules()
        .flat_map(|m| m.vendors.iter())
        .find(|v| v.id == id)
}

/// Looks an application up by id.
pub fn application(id: u32) -> Option<&'static ApplicationDef> {
    modules()
        .flat_map(|m| m.applications.iter())
        .find(|a| a.id == id)
}

/// Every command defined for `code`, in any application (for naming commands whose
/// application is not compiled in, e.g. a relayed CCR).
pub fn commands_by_code(code: u32) -> impl Iterator<Item = &'static CommandDef> {
    modules()
        .flat_map(|m| m.commands.iter())
        .filter(move |c| c.code == code)
}
