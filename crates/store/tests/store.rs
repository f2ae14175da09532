//! Behaviour of the SQLite store: migrations, levels, atomic imports, change summaries.

use quartier_core::validate::{DataRow, Location, VariableKind};
use quartier_core::{Cell, Symbol};
use quartier_store::*;

fn area(key: &str, name: &str, parent: Option<&str>) -> NewArea {
    NewArea {
        key: key.into(),
        name: name.into(),
        parent: parent.map(Into::into),
        geometry: None,
        source_geometry: None,
        area_m2: None,
        origin: format!("Zeile {key}"),
    }
}

fn row(area: &str, year: i32, var: &str, cell: Cell, line: usize) -> DataRow {
    DataRow { area: area.into(), year, variable: var.into(), cell, at: Location { sheet: None, line, column: "wert".into() } }
}

fn berlin() -> SqliteStore {
    let mut s = SqliteStore::in_memory().unwrap();
    s.define_levels(&["Bezirk".into(), "Bezirksregion".into(), "Planungsraum".into()]).unwrap();
    s.apply_areas(
        &AreaBatch { file: "b.csv".into(), level: "Bezirk".into(), areas: vec![area("01", "Mitte", None)], source_crs: None },
        false,
    )
    .unwrap();
    s.apply_areas(
        &AreaBatch {
            file: "r.csv".into(),
            level: "Bezirksregion".into(),
            areas: vec![area("010111", "Tiergarten Süd", Some("01"))],
            source_crs: None,
        },
        false,
    )
    .unwrap();
    s.apply_areas(
        &AreaBatch {
            file: "p.csv".into(),
            level: "Planungsraum".into(),
            areas: vec![area("01011101", "Stülerstraße", Some("010111")), area("01011102", "Großer Tiergarten", Some("010111"))],
            source_crs: None,
        },
        false,
    )
    .unwrap();
    s
}

fn count(s: &SqliteStore) -> usize {
    s.values(&ValueFilter::default()).unwrap().len()
}

fn batch(rows: Vec<DataRow>) -> DataBatch {
    DataBatch { file: "d.csv".into(), level: None, rows, variables: vec![] }
}

#[test]
fn file_database_uses_wal_and_migrates_once() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("q.db");
    let s = SqliteStore::open(&p).unwrap();
    assert_eq!(s.journal_mode().unwrap(), "wal");
    assert_eq!(s.schema_version().unwrap(), 8);
    drop(s);
    assert_eq!(SqliteStore::open(&p).unwrap().schema_version().unwrap(), 8);
}

#[test]
fn levels_keep_their_order() {
    let mut s = berlin();
    let l = s.define_levels(&["Stadt".into(), "Bezirk".into()]).unwrap();
    let names: Vec<&str> = l.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["Stadt", "Bezirk", "Bezirksregion", "Planungsraum"]);
    assert!(s.define_levels(&["Planungsraum".into(), "Bezirk".into()]).is_err());
    assert!(s.define_levels(&["A".into(), "A".into()]).is_err());
}

#[test]
fn bad_parent_changes_nothing() {
    let mut s = berlin();
    let before = s.areas(None).unwrap();
    let err = s
        .apply_areas(
            &AreaBatch {
                file: "p.csv".into(),
                level: "Planungsraum".into(),
                areas: vec![area("01011103", "Neu", Some("999999"))],
                source_crs: None,
            },
            false,
        )
        .unwrap_err();
    assert!(err.to_string().contains("„999999“"), "{err}");
    assert_eq!(s.areas(None).unwrap(), before);
    assert!(s.apply_areas(&AreaBatch { file: "x".into(), level: "Ortsteil".into(), areas: vec![], source_crs: None }, false).is_err());
}

#[test]
fn data_import_is_atomic_and_summarises_changes() {
    let mut s = berlin();
    let r = s
        .apply_data(
            &batch(vec![
                row("01011101", 2019, "pop", Cell::Number(3384.0), 2),
                row("01011102", 2019, "pop", Cell::Symbol(Symbol::Zero), 3),
            ]),
            false,
        )
        .unwrap();
    assert_eq!((r.inserted, r.changed), (2, 0));
    // Unknown key with lost zero: error, nothing written.
    let err = s
        .apply_data(
            &batch(vec![row("01011101", 2019, "pop", Cell::Number(1.0), 2), row("1011102", 2019, "pop", Cell::Number(1.0), 3)]),
            false,
        )
        .unwrap_err();
    assert!(err.to_string().contains("„01011102“"), "{err}");
    assert_eq!(s.values(&ValueFilter::default()).unwrap()[0].cell, Cell::Number(3384.0));
    // Dry run reports but does not write.
    let r = s.apply_data(&batch(vec![row("01011101", 2019, "pop", Cell::Number(3400.0), 2)]), true).unwrap();
    assert_eq!(r.changed, 1);
    assert_eq!(r.changes[0].old, "3384");
    assert_eq!(s.values(&ValueFilter::default()).unwrap()[0].cell, Cell::Number(3384.0));
    // Corrected delivery replaces.
    let r = s
        .apply_data(
            &batch(vec![
                row("01011101", 2019, "pop", Cell::Number(3400.0), 2),
                row("01011102", 2019, "pop", Cell::Symbol(Symbol::Zero), 3),
            ]),
            false,
        )
        .unwrap();
    assert_eq!((r.changed, r.unchanged), (1, 1));
    assert_eq!(count(&s), 2);
    assert_eq!(s.imports().unwrap().len(), 3 + 2);
}

#[test]
fn delivered_totals_are_compared_with_sums() {
    let mut s = berlin();
    let r = s
        .apply_data(
            &batch(vec![
                row("01011101", 2019, "pop", Cell::Number(100.0), 2),
                row("01011102", 2019, "pop", Cell::Number(10.0), 3),
                row("010111", 2019, "pop", Cell::Number(111.0), 4),
                row("01", 2019, "pop", Cell::Number(111.0), 5),
            ]),
            false,
        )
        .unwrap();
    assert_eq!(r.total_mismatches.len(), 1);
    let m = &r.total_mismatches[0];
    assert_eq!((m.area.as_str(), m.level.as_str(), m.delivered, m.summed), ("010111", "Bezirksregion", 111.0, 110.0));
    let v = views::level_values(&s, "pop", VariableKind::Count, 2019, "Bezirk").unwrap();
    assert_eq!(v[0].value, Some(111.0));
    assert_eq!(v[0].origin, views::Origin::Delivered);
}

#[test]
fn negative_counts_rejected_rates_allowed() {
    let mut s = berlin();
    assert!(s.apply_data(&batch(vec![row("01011101", 2019, "pop", Cell::Number(-1.0), 2)]), false).is_err());
    assert_eq!(count(&s), 0);
    let mut b = batch(vec![row("01011101", 2019, "d1", Cell::Number(-1.0), 2)]);
    b.variables.push(VariableMeta { key: "d1".into(), kind: Some(VariableKind::Rate), ..Default::default() });
    s.apply_data(&b, false).unwrap();
    assert_eq!(s.variables().unwrap()[0].kind, VariableKind::Rate);
}

#[test]
fn keys_repeating_across_levels_are_summed_per_level() {
    // Stadtbezirk "1" contains Stadtteil "1" and "2": same key "1" on two levels.
    let mut s = SqliteStore::in_memory().unwrap();
    s.define_levels(&["Stadtbezirk".into(), "Stadtteil".into()]).unwrap();
    s.apply_areas(
        &AreaBatch { file: "b".into(), level: "Stadtbezirk".into(), areas: vec![area("1", "Nord", None)], source_crs: None },
        false,
    )
    .unwrap();
    s.apply_areas(
        &AreaBatch {
            file: "t".into(),
            level: "Stadtteil".into(),
            areas: vec![area("1", "Altstadt", Some("1")), area("2", "Hafen", Some("1"))],
            source_crs: None,
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

#[test]
fn bulk_delivery_is_written_and_foreign_keys_stay_on() {
    let mut s = berlin();
    let rows: Vec<DataRow> = (0..60_000)
        .map(|i| row(if i % 2 == 0 { "01011101" } else { "01011102" }, 1000 + i / 2, "pop", Cell::Number(i as f64), i as usize + 2))
        .collect();
    let r = s.apply_data(&batch(rows), false).unwrap();
    assert_eq!(r.inserted, 60_000);
    assert!(s.foreign_keys_enabled().unwrap());
    assert_eq!(count(&s), 60_000);
    // A failing bulk delivery also leaves them on and writes nothing.
    let mut bad: Vec<DataRow> = (0..60_000).map(|i| row("01011101", 5000 + i, "pop", Cell::Number(1.0), i as usize + 2)).collect();
    bad.push(row("99999999", 1, "pop", Cell::Number(1.0), 70_000));
    assert!(s.apply_data(&batch(bad), false).is_err());
    assert!(s.foreign_keys_enabled().unwrap());
    assert_eq!(count(&s), 60_000);
}
