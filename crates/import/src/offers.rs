//! The offer directory in HSDS style (Open Referral Human Services Data Specification 3.0):
//! a folder with `organizations.csv`, `services.csv`, `locations.csv` and
//! `service_at_location.csv` (HSDS table names; CSV or XLSX with the same names), or one
//! JSON file with the four lists. Lists inside a cell (target groups, languages) are
//! separated by `|`, `;` or `,`. Coordinates are WGS84 `latitude`/`longitude`, or `x`/`y`
//! with `--crs` (e.g. EPSG:25832). Every problem names file, line and field.

use crate::table::{self, Sheet, TableOptions};
use crate::{ImportError, Result};
use quartier_geom::crs::{Crs, Transformer};
use quartier_store::offers::{Location, Offers, Organization, Service, ServiceAtLocation};
use std::collections::HashSet;
use std::path::Path;

/// Reads a directory or a JSON file.
pub fn read(path: &Path, crs: Option<&str>) -> Result<Offers> {
    let shown = path.display().to_string();
    if path.is_file() {
        let text = std::fs::read_to_string(path).map_err(|e| ImportError::file(&shown, e.to_string()))?;
        let offers: Offers = serde_json::from_str(&text).map_err(|e| ImportError::file(&shown, format!("JSON ungültig: {e}")))?;
        let mut problems = Vec::new();
        check(&offers, &mut problems, &|kind, i| format!("{kind}[{i}]"));
        return if problems.is_empty() { Ok(offers) } else { Err(ImportError::Problems { file: shown, problems }) };
    }
    if !path.is_dir() {
        return Err(ImportError::file(&shown, "weder Verzeichnis (HSDS-CSV) noch JSON-Datei"));
    }
    let transformer = match crs {
        Some(c) => {
            let from = Crs::parse(c).map_err(|e| ImportError::file(&shown, format!("--crs {c}: {e}")))?;
            Some(Transformer::new(from, Crs::wgs84()))
        }
        None => None,
    };
    let mut problems = Vec::new();
    let find = |stem: &str| ["csv", "xlsx"].iter().map(|e| path.join(format!("{stem}.{e}"))).find(|p| p.exists());
    let sheet = |stem: &str| -> Result<Option<(String, Sheet)>> {
        let Some(p) = find(stem) else { return Ok(None) };
        let mut sheets = table::read(&p, &TableOptions::default())?;
        Ok(Some((p.display().to_string(), sheets.remove(0))))
    };
    let Some((org_file, orgs)) = sheet("organizations")? else {
        return Err(ImportError::file(&shown, "organizations.csv fehlt (HSDS: organizations, services, locations, service_at_location)"));
    };
    let mut offers = Offers::default();
    for i in 0..orgs.len() {
        let f = Fields { sheet: &orgs, file: &org_file, i };
        offers.organizations.push(Organization {
            id: f.required("id", &mut problems),
            name: f.required("name", &mut problems),
            description: f.text("description"),
            email: f.text("email"),
            url: f.text("url"),
            maintainer: f.text("maintainer"),
            last_confirmed: f.date("last_confirmed", &mut problems),
        });
    }
    if let Some((file, s)) = sheet("services")? {
        for i in 0..s.len() {
            let f = Fields { sheet: &s, file: &file, i };
            offers.services.push(Service {
                id: f.required("id", &mut problems),
                organization_id: f.required("organization_id", &mut problems),
                name: f.required("name", &mut problems),
                description: f.text("description"),
                target_groups: f.list("target_groups"),
                eligibility: f.text("eligibility"),
                capacity: f.number("capacity", &mut problems),
                schedule: f.text("schedule"),
                cost: f.text("cost"),
                languages: f.list("languages"),
                accessibility: f.text("accessibility"),
                contact: f.text("contact"),
                funding: f.text("funding"),
                valid_from: f.date("valid_from", &mut problems),
                valid_to: f.date("valid_to", &mut problems),
                maintainer: f.text("maintainer"),
                last_confirmed: f.date("last_confirmed", &mut problems),
            });
        }
    }
    if let Some((file, s)) = sheet("locations")? {
        for i in 0..s.len() {
            let f = Fields { sheet: &s, file: &file, i };
            let (lat, lon) = match (&transformer, s.column("latitude").is_some()) {
                (None, _) | (_, true) => (f.number("latitude", &mut problems), f.number("longitude", &mut problems)),
                (Some(t), false) => match (f.number("x", &mut problems), f.number("y", &mut problems)) {
                    (Some(x), Some(y)) => match t.coord(quartier_geom::Coord { x, y }) {
                        Ok(c) => (Some(c.y), Some(c.x)),
                        Err(e) => {
                            problems.push(format!("{}: Zeile {}: Koordinaten {x}, {y}: {e}", file, s.line(i)));
                            (None, None)
                        }
                    },
                    _ => (None, None),
                },
            };
            if lat.is_none() || lon.is_none() {
                problems.push(format!("{}: Zeile {}: latitude/longitude (oder x/y mit --crs) fehlen", file, s.line(i)));
            }
            // Seven decimals (about 1 cm): what the export writes, so a round trip is exact.
            let round = |v: f64| (v * 1e7).round() / 1e7;
            offers.locations.push(Location {
                id: f.required("id", &mut problems),
                organization_id: f.text("organization_id"),
                name: f.required("name", &mut problems),
                address: f.text("address"),
                latitude: round(lat.unwrap_or(0.0)),
                longitude: round(lon.unwrap_or(0.0)),
            });
        }
    }
    if let Some((file, s)) = sheet("service_at_location")? {
        for i in 0..s.len() {
            let f = Fields { sheet: &s, file: &file, i };
            // HSDS gives each link an id; without one, service@location.
            let id = match f.text("id") {
                id if id.is_empty() => format!("{}@{}", f.text("service_id"), f.text("location_id")),
                id => id,
            };
            offers.service_at_location.push(ServiceAtLocation {
                id,
                service_id: f.required("service_id", &mut problems),
                location_id: f.required("location_id", &mut problems),
            });
        }
    }
    check(&offers, &mut problems, &|kind, i| format!("{kind}: Eintrag {}", i + 1));
    if problems.is_empty() { Ok(offers) } else { Err(ImportError::Problems { file: shown, problems }) }
}

/// Cells of one row, with messages naming file, line and field.
struct Fields<'a> {
    sheet: &'a Sheet,
    file: &'a str,
    i: usize,
}

impl Fields<'_> {
    fn text(&self, name: &str) -> String {
        self.sheet.column(name).and_then(|c| self.sheet.text(self.i, c)).map(|t| t.trim().to_string()).unwrap_or_default()
    }

    fn at(&self, field: &str) -> String {
        format!("{}: Zeile {}, Feld „{field}“", self.file, self.sheet.line(self.i))
    }

    fn required(&self, name: &str, problems: &mut Vec<String>) -> String {
        let t = self.text(name);
        if t.is_empty() {
            problems.push(format!("{}: Pflichtfeld leer oder Spalte fehlt", self.at(name)));
        }
        t
    }

    fn list(&self, name: &str) -> Vec<String> {
        self.text(name).split(['|', ';', ',']).map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
    }

    fn number(&self, name: &str, problems: &mut Vec<String>) -> Option<f64> {
        let t = self.text(name);
        if t.is_empty() {
            return None;
        }
        match t.replace(',', ".").parse::<f64>() {
            Ok(v) if v.is_finite() => Some(v),
            _ => {
                problems.push(format!("{}: „{t}“ ist keine Zahl", self.at(name)));
                None
            }
        }
    }

    /// An ISO date (YYYY-MM-DD) or a German one (TT.MM.JJJJ), stored as ISO.
    fn date(&self, name: &str, problems: &mut Vec<String>) -> String {
        let t = self.text(name);
        if t.is_empty() {
            return t;
        }
        match iso_date(&t) {
            Some(d) => d,
            None => {
                problems.push(format!("{}: „{t}“ ist kein Datum (JJJJ-MM-TT oder TT.MM.JJJJ)", self.at(name)));
                String::new()
            }
        }
    }
}

/// `2025-03-01` or `1.3.2025` → `2025-03-01`.
pub fn iso_date(t: &str) -> Option<String> {
    let (y, m, d) = if let Some((y, rest)) = t.split_once('-') {
        let (m, d) = rest.split_once('-')?;
        (y.parse::<i32>().ok()?, m.parse::<u32>().ok()?, d.parse::<u32>().ok()?)
    } else {
        let mut p = t.split('.');
        let d = p.next()?.trim().parse::<u32>().ok()?;
        let m = p.next()?.trim().parse::<u32>().ok()?;
        let y = p.next()?.trim().parse::<i32>().ok()?;
        (y, m, d)
    };
    ((1900..=2200).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d)).then(|| format!("{y:04}-{m:02}-{d:02}"))
}

/// Duplicate ids, coordinates outside WGS84, a validity that ends before it begins, negative
/// capacities. References between the lists are checked by the store (they may point to
/// stored entries).
fn check(o: &Offers, problems: &mut Vec<String>, at: &dyn Fn(&str, usize) -> String) {
    let mut dup = |kind: &str, ids: Vec<&str>| {
        let mut seen = HashSet::new();
        for (i, id) in ids.into_iter().enumerate() {
            if !id.is_empty() && !seen.insert(id) {
                problems.push(format!("{}: Kennung „{id}“ doppelt", at(kind, i)));
            }
        }
    };
    dup("organizations", o.organizations.iter().map(|x| x.id.as_str()).collect());
    dup("services", o.services.iter().map(|x| x.id.as_str()).collect());
    dup("locations", o.locations.iter().map(|x| x.id.as_str()).collect());
    dup("service_at_location", o.service_at_location.iter().map(|x| x.id.as_str()).collect());
    for (i, l) in o.locations.iter().enumerate() {
        if !(-90.0..=90.0).contains(&l.latitude) || !(-180.0..=180.0).contains(&l.longitude) {
            problems.push(format!(
                "{}: Koordinaten {}, {} liegen nicht im WGS84-Bereich (x/y? dann --crs angeben)",
                at("locations", i),
                l.latitude,
                l.longitude
            ));
        }
    }
    for (i, s) in o.services.iter().enumerate() {
        if s.capacity.is_some_and(|c| c < 0.0) {
            problems.push(format!("{}: Kapazität {} ist negativ", at("services", i), s.capacity.unwrap_or(0.0)));
        }
        if !s.valid_from.is_empty() && !s.valid_to.is_empty() && s.valid_to < s.valid_from {
            problems.push(format!("{}: gültig bis {} liegt vor gültig ab {}", at("services", i), s.valid_to, s.valid_from));
        }
    }
}

/// The directory as HSDS-style CSV files: (file name, UTF-8 content).
pub fn to_csv(o: &Offers) -> Vec<(String, String)> {
    fn row(cells: &[&str]) -> String {
        cells
            .iter()
            .map(|c| if c.contains([',', '"', '\n', '\r']) { format!("\"{}\"", c.replace('"', "\"\"")) } else { c.to_string() })
            .collect::<Vec<_>>()
            .join(",")
            + "\r\n"
    }
    let mut orgs = row(&["id", "name", "description", "email", "url", "maintainer", "last_confirmed"]);
    for x in &o.organizations {
        orgs += &row(&[&x.id, &x.name, &x.description, &x.email, &x.url, &x.maintainer, &x.last_confirmed]);
    }
    let mut services = row(&[
        "id",
        "organization_id",
        "name",
        "description",
        "target_groups",
        "eligibility",
        "capacity",
        "schedule",
        "cost",
        "languages",
        "accessibility",
        "contact",
        "funding",
        "valid_from",
        "valid_to",
        "maintainer",
        "last_confirmed",
    ]);
    for s in &o.services {
        let cap = s.capacity.map(|c| c.to_string()).unwrap_or_default();
        services += &row(&[
            &s.id,
            &s.organization_id,
            &s.name,
            &s.description,
            &s.target_groups.join("|"),
            &s.eligibility,
            &cap,
            &s.schedule,
            &s.cost,
            &s.languages.join("|"),
            &s.accessibility,
            &s.contact,
            &s.funding,
            &s.valid_from,
            &s.valid_to,
            &s.maintainer,
            &s.last_confirmed,
        ]);
    }
    let mut locations = row(&["id", "organization_id", "name", "address", "latitude", "longitude"]);
    for l in &o.locations {
        locations += &row(&[&l.id, &l.organization_id, &l.name, &l.address, &format!("{:.7}", l.latitude), &format!("{:.7}", l.longitude)]);
    }
    let mut links = row(&["id", "service_id", "location_id"]);
    for k in &o.service_at_location {
        links += &row(&[&k.id, &k.service_id, &k.location_id]);
    }
    vec![
        ("organizations.csv".into(), orgs),
        ("services.csv".into(), services),
        ("locations.csv".into(), locations),
        ("service_at_location.csv".into(), links),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates() {
        assert_eq!(super::iso_date("2025-03-01").as_deref(), Some("2025-03-01"));
        assert_eq!(super::iso_date("1.3.2025").as_deref(), Some("2025-03-01"));
        assert_eq!(super::iso_date("31.13.2025"), None);
        assert_eq!(super::iso_date("gestern"), None);
    }
}
