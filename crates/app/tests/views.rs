//! Values per level as the use cases read them: delivered totals before sums, sums per level
//! where keys repeat across levels. On SQLite and, when `QUARTIER_TEST_POSTGRES` names a
//! server, on PostgreSQL.

use quartier_app::views;
use quartier_core::Cell;
use quartier_core::validate::VariableKind;
use quartier_store::testing::{area, backends, batch, berlins, delivered_totals, row};
use quartier_store::*;

#[test]
fn delivered_total_is_taken_before_the_sum() {
    for (backend, mut s) in berlins() {
        eprintln!("backend {backend}");
        let r = s.apply_data(&delivered_totals(), false).unwrap();
        assert_eq!(r.total_mismatches.len(), 1);
        let v = views::level_values(&s, "pop", VariableKind::Count, 2019, "Bezirk").unwrap();
        assert_eq!(v[0].value, Some(111.0));
        assert_eq!(v[0].origin, views::Origin::Delivered);
    }
}

#[test]
fn keys_repeating_across_levels_are_summed_per_level() {
    // Stadtbezirk "1" contains Stadtteil "1" and "2": same key "1" on two levels.
    for (backend, mut s) in backends() {
        eprintln!("backend {backend}");
        s.define_levels(&["Stadtbezirk".into(), "Stadtteil".into()]).unwrap();
        s.apply_areas(
            &AreaBatch {
                file: "b".into(),
                level: "Stadtbezirk".into(),
                areas: vec![area("1", "Nord", None)],
                source_crs: None,
                version: None,
            },
            false,
        )
        .unwrap();
        s.apply_areas(
            &AreaBatch {
                file: "t".into(),
                level: "Stadtteil".into(),
                areas: vec![area("1", "Altstadt", Some("1")), area("2", "Hafen", Some("1"))],
                source_crs: None,
                version: None,
            },
            false,
        )
        .unwrap();
        // Without a level the key "1" is ambiguous.
        let err = s.apply_data(&batch(vec![row("1", 2020, "pop", Cell::Number(10.0), 2)]), false).unwrap_err();
        assert!(err.to_string().contains("auf mehreren Ebenen"), "{err}");
        let mut b = batch(vec![row("1", 2020, "pop", Cell::Number(10.0), 2), row("2", 2020, "pop", Cell::Number(5.0), 3)]);
        b.level = Some("Stadtteil".into());
        s.apply_data(&b, false).unwrap();
        let v = views::level_values(&s, "pop", VariableKind::Count, 2020, "Stadtbezirk").unwrap();
        assert_eq!((v[0].value, v[0].origin), (Some(15.0), views::Origin::Summed));
        let t = views::level_values(&s, "pop", VariableKind::Count, 2020, "Stadtteil").unwrap();
        assert_eq!(t[0].value, Some(10.0));
    }
}
