//! Emits the zero-copy typed views of one dictionary's Grouped AVPs and commands: `…View`
//! types that check a received message once and then read members straight from its bytes.

use proc_macro2::TokenStream;
use quote::quote;

use super::Ctx;

impl Ctx<'_> {
    /// Every view of the current dictionary.
    pub(super) fn emit_views(&self) -> TokenStream {
        quote!()
    }
}
