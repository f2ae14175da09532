//! Numbers as German readers expect them.

pub use quartier_core::cell::format_de as fmt_de;

#[cfg(test)]
mod tests {
    #[test]
    fn german_numbers() {
        assert_eq!(super::fmt_de(12345.678, 1), "12.345,7");
        assert_eq!(super::fmt_de(-0.04, 1), "0,0");
        assert_eq!(super::fmt_de(-3.0, 0), "−3");
        assert_eq!(super::fmt_de(999.0, 2), "999,00");
    }
}
