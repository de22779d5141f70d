//! Emits the typed writers of one dictionary's Grouped AVPs and commands: `…Writer` types
//! that write members straight into the output buffer.

use proc_macro2::TokenStream;
use quote::quote;

use super::Ctx;

impl Ctx<'_> {
    /// Every writer of the current dictionary.
    pub(super) fn emit_writers(&self) -> TokenStream {
        quote!()
    }
}
