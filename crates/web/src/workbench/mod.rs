//! Werkstatt: drafting an indicator or an index in the browser, in a form or as TOML (the two
//! stay in sync). A draft is checked exactly as the CLI checks a catalogue or an index
//! definition, each problem shown at its field, and computed on the stored data before
//! anything is saved. Where the server allows changes (see `admin`), a CSRF-protected form
//! saves the checked draft through the same checks again, refused with a conflict when the
//! stored definition changed since the draft was made.

mod index;
mod indicator;

pub use index::{index_draft, save_index};
pub use indicator::{check_formula, indicator_draft, save_indicator};

/// The catalogue and the index definitions are shared by every tenant: an account limited to
/// an area may draft and preview, never save — refused before the draft is even checked, so
/// the answer does not depend on what the draft contains.
fn may_save_shared() -> Result<(), crate::AppError> {
    match crate::current_view() {
        Some(v) => Err(crate::AppError::Forbidden(format!(
            "Dieses Konto ist auf {} beschränkt: Indikatorenkatalog und Indizes ändert die Sozialplanung des Kreises.",
            v.scope()
        ))),
        None => Ok(()),
    }
}
