//! Fixtures for the tests of the store and of its users: an empty store of every backend under
//! test (SQLite in memory; PostgreSQL when `QUARTIER_TEST_POSTGRES` names a server), and a
//! small Berlin hierarchy (Mitte → Tiergarten Süd → two Planungsräume).

use crate::*;
use quartier_core::Cell;
use quartier_core::validate::{DataRow, Location};

/// An area of an import batch; its origin names the key.
pub fn area(key: &str, name: &str, parent: Option<&str>) -> NewArea {
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

pub fn row(area: &str, year: i32, var: &str, cell: Cell, line: usize) -> DataRow {
    DataRow {
        area: area.into(),
        year,
        variable: var.into(),
        cell,
        at: Location { sheet: None, line, column: "wert".into() },
        reference_date: None,
        quality: None,
    }
}

/// A new, empty store of each backend under test, with its name.
pub fn backends() -> Vec<(&'static str, Box<dyn Store + Send>)> {
    let mut out: Vec<(&'static str, Box<dyn Store + Send>)> = vec![("SQLite", Box::new(SqliteStore::in_memory().unwrap()))];
    if let Some(url) = crate::postgres::fresh_test_database() {
        out.push(("PostgreSQL", crate::Location::parse(&url).open().unwrap()));
    }
    out
}

/// Berlin's three levels with four areas, in each backend.
pub fn berlins() -> Vec<(&'static str, Box<dyn Store + Send>)> {
    backends().into_iter().map(|(name, s)| (name, berlin_in(s))).collect()
}

pub fn berlin_in(mut s: Box<dyn Store + Send>) -> Box<dyn Store + Send> {
    s.define_levels(&["Bezirk".into(), "Bezirksregion".into(), "Planungsraum".into()]).unwrap();
    s.apply_areas(
        &AreaBatch {
            file: "b.csv".into(),
            level: "Bezirk".into(),
            areas: vec![area("01", "Mitte", None)],
            source_crs: None,
            version: None,
        },
        false,
    )
    .unwrap();
    s.apply_areas(
        &AreaBatch {
            file: "r.csv".into(),
            level: "Bezirksregion".into(),
            areas: vec![area("010111", "Tiergarten Süd", Some("01"))],
            source_crs: None,
            version: None,
        },
        false,
    )
    .unwrap();
    s.apply_areas(
        &AreaBatch {
            file: "p.csv".into(),
            level: "Planungsraum".into(),
            areas: vec![area("01011101", "Stülerstraße", Some("010111")), area("01011102", "Großer Tiergarten", Some("010111"))],
            version: None,
            source_crs: None,
        },
        false,
    )
    .unwrap();
    s
}

/// A data batch from `d.csv` without a level.
pub fn batch(rows: Vec<DataRow>) -> DataBatch {
    DataBatch { file: "d.csv".into(), level: None, rows, variables: vec![], area_levels: Default::default(), current_boundaries: false }
}

/// Populations of the Berlin hierarchy for 2019 with delivered totals: the Bezirksregion's
/// 111 disagrees with its Planungsräume' 110 (100 + 10), the Bezirk's 111 agrees with it.
pub fn delivered_totals() -> DataBatch {
    batch(vec![
        row("01011101", 2019, "pop", Cell::Number(100.0), 2),
        row("01011102", 2019, "pop", Cell::Number(10.0), 3),
        row("010111", 2019, "pop", Cell::Number(111.0), 4),
        row("01", 2019, "pop", Cell::Number(111.0), 5),
    ])
}
