//! What every form of the web app shares: a field's error shown and announced at the field
//! (`aria-invalid`, `aria-describedby`), element ids from field names.

use maud::{Markup, html};
pub(crate) use quartier_report::library::FieldError;

/// A field's error, if any: (its element id, the message).
pub(crate) fn error_for<'a>(errors: &'a [FieldError], field: &str) -> Option<&'a str> {
    errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
}

pub(crate) fn field_id(field: &str) -> String {
    format!("f-{}", field.replace('.', "-"))
}

/// A labelled text input with its error (announced with the field).
pub(crate) fn text_field(label: &str, name: &str, field: &str, value: &str, errors: &[FieldError], required: bool) -> Markup {
    let id = field_id(field);
    let err = error_for(errors, field);
    let err_id = format!("{id}-fehler");
    html! {
        label for=(id) { (label) @if required { " (Pflicht)" } }
        input #(id) type="text" name=(name) value=(value) required[required] aria-invalid=[err.map(|_| "true")] aria-describedby=[err.map(|_| err_id.as_str())];
        @if let Some(e) = err { p.field-error id=(err_id) { (e) } }
    }
}

/// A field's error message after its input (the id its `aria-describedby` names).
pub(crate) fn error_after(errors: &[FieldError], field: &str) -> Markup {
    html! { @if let Some(e) = error_for(errors, field) { p.field-error id=(format!("{}-fehler", field_id(field))) { (e) } } }
}

/// The `aria-describedby` of a field's input when it has an error.
pub(crate) fn described_by(errors: &[FieldError], field: &str) -> Option<String> {
    error_for(errors, field).map(|_| format!("{}-fehler", field_id(field)))
}

/// The list of a form's problems above it, each linking to its field (focused by app.js).
pub(crate) fn problems_summary(errors: &[FieldError], what: &str) -> Markup {
    html! {
        @if !errors.is_empty() {
            div.problems role="alert" tabindex="-1" id="fehler" {
                p { strong { (what) ": " (errors.len()) @if errors.len() == 1 { " Angabe braucht" } @else { " Angaben brauchen" } " eine Korrektur." } }
                ul { @for e in errors { li { a href=(format!("#{}", field_id(&e.field))) { (e.message) } } } }
            }
        }
    }
}

/// A number as a German user types it into a form: `22,5`, `1.000`, `0.5`, `-3`. A text that
/// reads both ways (`1.234`) is read the German way (one thousand two hundred …).
pub(crate) fn form_number(text: &str) -> Option<f64> {
    use quartier_core::cell::{NumberFormat, NumberShape, number_shape, parse_number};
    let t = text.trim();
    let fmt = match number_shape(t) {
        NumberShape::NotNumber => return None,
        NumberShape::Only(Some(f)) => f,
        NumberShape::Only(None) | NumberShape::Ambiguous => NumberFormat::Comma,
    };
    parse_number(t, fmt).filter(|v| v.is_finite())
}

/// A number written back into a form field (decimal comma, no thousands separator), so that
/// [`form_number`] reads it to the same value.
pub(crate) fn form_text(v: f64) -> String {
    format!("{v}").replace('.', ",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_german_users_type_them() {
        for (text, want) in
            [("22,5", 22.5), ("0.5", 0.5), ("1.000", 1000.0), ("-3", -3.0), (" 7 ", 7.0), ("1.234,5", 1234.5), ("1e3", 1000.0)]
        {
            assert_eq!(form_number(text), Some(want), "{text}");
        }
        for text in ["", "abc", "1,2,3", "inf", "NaN"] {
            assert_eq!(form_number(text), None, "{text}");
        }
        for v in [22.5, 1000.0, 0.001, 1e-9, 12345678.25] {
            assert_eq!(form_number(&form_text(v)), Some(v), "{v}");
        }
    }
}
