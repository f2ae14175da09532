//! Fixtures: a small synthetic "Musterstadt" in EPSG:25832 and helpers to run the binary.

use quartier_app::store::{Location, Store, ValueFilter};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Env {
    pub dir: tempfile::TempDir,
    /// A PostgreSQL database instead of the SQLite file (`--database`).
    pub database: Option<String>,
}

pub struct Run {
    pub out: Output,
}

impl Run {
    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }
    /// Asserts success and returns stdout.
    pub fn ok(&self) -> String {
        assert!(self.out.status.success(), "expected success\nstdout: {}\nstderr: {}", self.stdout(), self.stderr());
        self.stdout()
    }
    /// Asserts failure with exit code 1 and returns stderr.
    pub fn fails(&self) -> String {
        assert_eq!(self.out.status.code(), Some(1), "expected exit code 1\nstdout: {}\nstderr: {}", self.stdout(), self.stderr());
        self.stderr()
    }
}

/// Everything stored, for "nothing changed" checks.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    areas: Vec<quartier_app::store::AreaRecord>,
    values: Vec<quartier_app::store::ValueRecord>,
    variables: Vec<quartier_app::store::VariableRecord>,
    geometries: Vec<(String, Vec<u8>)>,
}

impl Env {
    pub fn new() -> Env {
        Env { dir: tempfile::tempdir().unwrap(), database: None }
    }

    /// An environment on a fresh PostgreSQL database, when `QUARTIER_TEST_POSTGRES` names a
    /// test server.
    pub fn on_postgres() -> Option<Env> {
        Some(Env { dir: tempfile::tempdir().unwrap(), database: Some(quartier_app::store::postgres::fresh_test_database()?) })
    }

    /// The database as the commands see it.
    pub fn location(&self) -> Location {
        match &self.database {
            Some(url) => Location::parse(url),
            None => Location::Sqlite(self.db()),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn db(&self) -> PathBuf {
        self.path("q.db")
    }

    pub fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, content).unwrap();
        p
    }

    pub fn run(&self, args: &[&str]) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_quartier"));
        cmd.current_dir(self.dir.path()).env("QUARTIER_DB", self.db()).env_remove("QUARTIER_DATABASE");
        if let Some(url) = &self.database {
            cmd.env("QUARTIER_DATABASE", url);
        }
        let out = cmd.args(args).output().unwrap();
        Run { out }
    }

    pub fn snapshot(&self) -> Snapshot {
        let s = self.location().open().unwrap();
        let levels = s.levels().unwrap();
        Snapshot {
            areas: s.areas(None).unwrap(),
            values: s.values(&ValueFilter::default()).unwrap(),
            variables: s.variables().unwrap(),
            geometries: levels.iter().flat_map(|l| s.geometries(&l.name).unwrap()).collect(),
        }
    }

    /// Runs a command that must fail, and checks the database did not change.
    pub fn fails_unchanged(&self, args: &[&str]) -> String {
        let before = self.snapshot();
        let err = self.run(args).fails();
        assert_eq!(self.snapshot(), before, "database changed by a failed command {args:?}");
        err
    }

    /// Levels Stadtteil → Sozialraum, two Stadtteile and four Sozialräume with geometries.
    pub fn musterstadt(&self) {
        self.run(&["levels", "define", "Stadtteil", "Sozialraum"]).ok();
        let st = self.write("stadtteile.geojson", stadtteile_geojson());
        self.run(&["import", "areas", st.to_str().unwrap(), "--level", "Stadtteil"]).ok();
        let sr = self.write("sozialraeume.geojson", sozialraeume_geojson());
        self.run(&["import", "areas", sr.to_str().unwrap(), "--level", "Sozialraum", "--id-field", "schluessel", "--name-field", "name"])
            .ok();
    }
}

/// Musterstadt origin in EPSG:25832 (Bochum-ish).
pub const X0: f64 = 370_000.0;
pub const Y0: f64 = 5_705_000.0;

pub fn square(x: f64, y: f64, s: f64) -> String {
    format!("[[[{x},{y}],[{},{y}],[{},{}],[{x},{}],[{x},{y}]]]", x + s, x + s, y + s, y + s)
}

pub fn feature(props: &str, geom: &str) -> String {
    format!(r#"{{"type":"Feature","properties":{{{props}}},"geometry":{geom}}}"#)
}

pub fn polygon(x: f64, y: f64, s: f64) -> String {
    format!(r#"{{"type":"Polygon","coordinates":{}}}"#, square(x, y, s))
}

pub fn collection(crs: Option<&str>, features: &[String]) -> String {
    let crs = crs.map(|c| format!(r#""crs":{{"type":"name","properties":{{"name":"{c}"}}}},"#)).unwrap_or_default();
    format!(r#"{{"type":"FeatureCollection",{crs}"features":[{}]}}"#, features.join(","))
}

/// Two Stadtteile, 2 km × 2 km each, side by side.
pub fn stadtteile_geojson() -> String {
    collection(
        Some("urn:ogc:def:crs:EPSG::25832"),
        &[
            feature(r#""id":"01","name":"Altstadt""#, &polygon(X0, Y0, 2000.0)),
            feature(r#""id":"02","name":"Nordfeld""#, &polygon(X0 + 2000.0, Y0, 2000.0)),
        ],
    )
}

/// Four Sozialräume, 1 km × 2 km, two per Stadtteil; keys with leading zeros.
pub fn sozialraeume_geojson() -> String {
    let f = |key: &str, name: &str, x: f64| {
        feature(
            &format!(r#""schluessel":"{key}","name":"{name}","einwohner":1000"#),
            &format!(
                r#"{{"type":"Polygon","coordinates":[[[{x},{Y0}],[{},{Y0}],[{},{}],[{x},{}],[{x},{Y0}]]]}}"#,
                x + 1000.0,
                x + 1000.0,
                Y0 + 2000.0,
                Y0 + 2000.0
            ),
        )
    };
    collection(
        Some("urn:ogc:def:crs:EPSG::25832"),
        &[
            f("0101", "Marktviertel", X0),
            f("0102", "Südwall", X0 + 1000.0),
            f("0201", "Bahnhofsviertel", X0 + 2000.0),
            f("0202", "Grüne Mitte", X0 + 3000.0),
        ],
    )
}

/// The Sozialräume of 2025: 0101 and 0102 merged under the key 0101, 0201 split into a
/// southern and a northern half (0201a, 0201b), 0202 only renamed.
pub fn sozialraeume_2025_geojson() -> String {
    let rect = |x0: f64, y0: f64, x1: f64, y1: f64| {
        format!(r#"{{"type":"Polygon","coordinates":[[[{x0},{y0}],[{x1},{y0}],[{x1},{y1}],[{x0},{y1}],[{x0},{y0}]]]}}"#)
    };
    let f = |key: &str, name: &str, g: String| feature(&format!(r#""schluessel":"{key}","name":"{name}""#), &g);
    collection(
        Some("urn:ogc:def:crs:EPSG::25832"),
        &[
            f("0101", "Marktviertel", rect(X0, Y0, X0 + 2000.0, Y0 + 2000.0)),
            f("0201a", "Bahnhof Süd", rect(X0 + 2000.0, Y0, X0 + 3000.0, Y0 + 1000.0)),
            f("0201b", "Bahnhof Nord", rect(X0 + 2000.0, Y0 + 1000.0, X0 + 3000.0, Y0 + 2000.0)),
            f("0202", "Grüne Mitte Ost", rect(X0 + 3000.0, Y0, X0 + 4000.0, Y0 + 2000.0)),
        ],
    )
}

pub fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

pub fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel)
}
