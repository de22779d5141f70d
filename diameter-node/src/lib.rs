//! The Diameter node on tokio (RFC 6733 §5): see ARCHITECTURE.md for its modules.
#![forbid(unsafe_code)]
