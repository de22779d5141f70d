//! Diameter Overload Indication Conveyance, DOIC (RFC 7683), with its loss algorithm (§6),
//! in both roles:
//!
//! - **reacting node** (§5.2.2, §6.3): requests the node sends carry OC-Supported-Features
//!   announcing OLR_DEFAULT_ALGO; an OC-OLR in an answer creates or updates the overload
//!   control state (OCS) of the reporting host (HOST_REPORT) or realm (REALM_REPORT) for
//!   the answer's application; while it is valid, that share of new requests to the host or
//!   realm is throttled: they fail locally with [`crate::RequestError::Throttled`] and never reach
//!   the network. Diversion to another path (§6.3 allows it) is not done: which other peer
//!   could take a request is the routing's business, and the caller that gets `Throttled`
//!   can retry elsewhere with Destination-Host if it knows better.
//! - **reporting node** (§5.2.3, §6.2): an answer to a request that carried
//!   OC-Supported-Features with the loss algorithm (or no OC-Feature-Vector, which means
//!   the same, §7.2) carries OC-Supported-Features selecting it and, while the node is
//!   overloaded, an OC-OLR. Overload is set through [`crate::NodeHandle::set_overload`] or,
//!   when configured, reported automatically while a connection reaches a number of
//!   handlers running at once. When overload ends, answers carry an OC-OLR with
//!   OC-Validity-Duration 0 (§7.5) for as long as the last report could still be in force.
//!
//! One job per file: `wire.rs` reads and writes the DOIC AVPs through diameter-core's
//! generated views and writers; `reacting.rs` (`ReactingState`) and `reporting.rs`
//! (`Reporter`) are sans-IO, with the clock and the random source passed in, so that
//! every rule is unit tested; `node.rs` is the node's glue (clock, random numbers, locks).
//!
//! Hostile input never panics: an OC-OLR that does not frame, lacks a fixed member, has a
//! member of the wrong size, an unknown OC-Report-Type or an OC-Reduction-Percentage above
//! 100 is ignored (§7.7: "Values greater than 100 are ignored"), as is an OLR whose answer
//! selected an algorithm other than loss.

mod node;
mod reacting;
mod reporting;
mod wire;

#[cfg(test)]
mod tests;

pub(crate) use node::Doic;
pub use reacting::{OverloadState, Scope};
pub(crate) use reporting::Overload;
pub use wire::{AnswerAvps, DEFAULT_VALIDITY, MAX_VALIDITY, OLR_DEFAULT_ALGO, OverloadReport};
