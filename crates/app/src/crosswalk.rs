//! Boundary changes as a use case: crosswalks between two stored boundary sets of a level
//! (from a key table, an overlay of their geometries, weighted points or the population of a
//! finer level) and values carried across them as estimates.
//!
//! The weights and the carrying are `quartier_core::crosswalk`; this module reads the two
//! boundary sets and the values from the store and writes the results back.

use crate::store::{CarriedValues, CarryReport, CrosswalkRecord, Store, VersionArea};
use crate::supply::WeightedPoints;
use quartier_core::Cell;
use quartier_core::crosswalk::{Crosswalk, Method};
use quartier_core::validate::VariableKind;
use quartier_geom::MultiPolygon;
use quartier_geom::crs::{Crs, Transformer};
use quartier_geom::wkb::{self, Decoded};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Where a computed crosswalk's weights come from.
pub enum Weights<'a> {
    /// Shares of area (overlay in ETRS89-LAEA, equal-area).
    Overlay,
    /// Shares of weighted points (Zensus grid cells, address points) in WGS84.
    Points(&'a WeightedPoints),
    /// Shares of the population of a finer level's areas (each at a point on its surface):
    /// `variable` in `year`. The preferred method where a finer level exists.
    Finer { level: &'a str, variable: &'a str, year: Option<i32> },
}

/// The date that selects the old set: its valid-from date, or the start.
fn old_date(from: Option<&str>) -> String {
    from.map_or_else(|| "0001-01-01".to_string(), str::to_string)
}

/// The boundary set `from` (None: the first) and the set `to` of `level`.
fn sets(store: &dyn Store, level: &str, from: Option<&str>, to: &str) -> Result<(Vec<VersionArea>, Vec<VersionArea>), String> {
    let versions = store.area_versions(Some(level)).map_err(|e| e.to_string())?;
    let known = |d: Option<&str>| versions.iter().any(|v| v.valid_from.as_deref() == d);
    let list = || versions.iter().map(|v| v.valid_from.clone().unwrap_or_else(|| "Anfang".into())).collect::<Vec<_>>().join(", ");
    if !known(from) || !known(Some(to)) {
        return Err(format!(
            "Die Ebene {level} hat die Gebietsstände ab {} (gefragt: ab {} und ab {to}); neue mit `quartier import areas … --valid-from`",
            list(),
            from.unwrap_or("Anfang")
        ));
    }
    if from.is_some_and(|f| f >= to) {
        return Err(format!("Ein Umstieg führt vom älteren zum neueren Gebietsstand, nicht von {} zu {to}", from.unwrap_or("Anfang")));
    }
    let old = store.version_areas(level, Some(&old_date(from))).map_err(|e| e.to_string())?;
    let new = store.version_areas(level, Some(to)).map_err(|e| e.to_string())?;
    Ok((old, new))
}

fn geometries(areas: &[VersionArea], set: &str) -> Result<Vec<MultiPolygon>, String> {
    areas
        .iter()
        .map(|a| match a.geometry.as_deref().map(wkb::decode) {
            Some(Ok(Decoded::Areal(mp))) => Ok(mp),
            _ => Err(format!(
                "Gebiet „{}“ des Gebietsstands {set} hat keine Flächengeometrie: Umstieg nur aus einer Schlüsseltabelle",
                a.key
            )),
        })
        .collect()
}

/// A crosswalk computed from the two boundary sets. Areas that continue (the same stored
/// area in both sets) go whole to themselves whatever the weights say.
pub fn compute(store: &dyn Store, level: &str, from: Option<&str>, to: &str, weights: Weights) -> Result<(Crosswalk, String), String> {
    let (old, new) = sets(store, level, from, to)?;
    let (old_g, new_g) = (geometries(&old, from.unwrap_or("Anfang"))?, geometries(&new, to)?);
    let keys = |v: &[VersionArea]| v.iter().map(|a| a.key.clone()).collect::<Vec<_>>();
    let (triples, method, source) = match weights {
        Weights::Overlay => {
            let laea = Crs::from_epsg(3035).map_err(|e| e.to_string())?;
            let t = Transformer::new(Crs::wgs84(), laea);
            let project = |g: &[MultiPolygon]| -> Result<Vec<MultiPolygon>, String> {
                g.iter()
                    .map(|m| {
                        let mut m = m.clone();
                        t.multipolygon(&mut m).map_err(|e| e.to_string())?;
                        Ok(m)
                    })
                    .collect()
            };
            let shared = quartier_geom::overlay::shared_areas(&project(&old_g)?, &project(&new_g)?);
            (shared, Method::AreaOverlay, "Verschneidung der Geometrien (ETRS89-LAEA)".to_string())
        }
        Weights::Points(p) => {
            let (shared, outside) = quartier_geom::overlay::shared_points(&old_g, &new_g, &p.points);
            let note = if outside > 0 { format!("; {outside} Punkte außerhalb") } else { String::new() };
            (shared, Method::Points, format!("{} ({} Punkte{note})", p.source, p.points.len()))
        }
        Weights::Finer { level: finer, variable, year } => {
            let points = finer_points(store, level, finer, variable, year)?;
            let (shared, _) = quartier_geom::overlay::shared_points(&old_g, &new_g, &points.points);
            (shared, Method::Points, points.source)
        }
    };
    let mut c = Crosswalk::from_weights(keys(&old), keys(&new), &triples, method);
    keep_continuing(&mut c, &old, &new);
    Ok((c, source))
}

/// Areas that continue into the new set (the same stored area) go whole to themselves:
/// digitising slivers of neighbours must not move their values.
fn keep_continuing(c: &mut Crosswalk, old: &[VersionArea], new: &[VersionArea]) {
    let new_pos: HashMap<i64, usize> = new.iter().enumerate().map(|(j, a)| (a.id, j)).collect();
    let same: HashMap<usize, usize> = old.iter().enumerate().filter_map(|(i, a)| new_pos.get(&a.id).map(|j| (i, *j))).collect();
    c.links.retain(|l| !same.contains_key(&l.old));
    for (&i, &j) in &same {
        c.links.push(quartier_core::crosswalk::Link { old: i, new: j, weight: 1.0 });
    }
    c.links.sort_by_key(|l| (l.old, l.new));
}

/// The areas of a finer level as weighted points: a point on each area's surface, weighted
/// with `variable` of `year` (the latest year with values when None).
fn finer_points(store: &dyn Store, level: &str, finer: &str, variable: &str, year: Option<i32>) -> Result<WeightedPoints, String> {
    let levels = store.levels().map_err(|e| e.to_string())?;
    let rank = |n: &str| levels.iter().find(|l| l.name == n).map(|l| l.rank);
    match (rank(level), rank(finer)) {
        (Some(a), Some(b)) if b > a => {}
        (_, None) => return Err(format!("Ebene „{finer}“ gibt es nicht")),
        _ => return Err(format!("Ebene „{finer}“ liegt nicht unter {level}: Bevölkerungsgewichte brauchen eine feinere Ebene")),
    }
    if store.area_versions(Some(finer)).map_err(|e| e.to_string())?.len() > 1 {
        return Err(format!("Die Ebene {finer} hat selbst mehrere Gebietsstände: als Gewichte taugt nur eine Ebene, die in beiden gilt"));
    }
    let values = store.values(&crate::store::ValueFilter {
        variable: Some(variable.to_string()),
        level: Some(finer.to_string()),
        ..Default::default()
    });
    let values = values.map_err(|e| e.to_string())?;
    let year = match year.or_else(|| values.iter().map(|v| v.year).max()) {
        Some(y) => y,
        None => return Err(format!("Merkmal „{variable}“ hat auf der Ebene {finer} keine Werte")),
    };
    let weight: HashMap<&str, f64> = values
        .iter()
        .filter(|v| v.year == year)
        .filter_map(|v| match v.cell {
            Cell::Number(x) => Some((v.area.as_str(), x)),
            _ => None,
        })
        .collect();
    let mut points = Vec::new();
    for a in store.version_areas(finer, None).map_err(|e| e.to_string())? {
        let (Some(w), Some(Ok(Decoded::Areal(mp)))) = (weight.get(a.key.as_str()), a.geometry.as_deref().map(wkb::decode)) else {
            continue;
        };
        if let Some(p) = quartier_geom::ops::point_on_surface(&mp) {
            points.push((p.x(), p.y(), *w));
        }
    }
    if points.is_empty() {
        return Err(format!("Keine Gebiete der Ebene {finer} mit Geometrie und Wert von „{variable}“ {year}"));
    }
    Ok(WeightedPoints { source: format!("{variable} {year} der {} Gebiete der Ebene {finer}", points.len()), points })
}

/// A key table read from a file, checked against the two sets: continuing areas the table
/// leaves out go whole to themselves.
pub fn from_key_table(store: &dyn Store, level: &str, from: Option<&str>, to: &str, table: Crosswalk) -> Result<Crosswalk, String> {
    let (old, new) = sets(store, level, from, to)?;
    let (old_pos, new_pos): (HashMap<&str, usize>, HashMap<&str, usize>) = (
        old.iter().enumerate().map(|(i, a)| (a.key.as_str(), i)).collect(),
        new.iter().enumerate().map(|(i, a)| (a.key.as_str(), i)).collect(),
    );
    let mut problems = Vec::new();
    let mut triples = Vec::new();
    for l in &table.links {
        let (o, n) = (&table.old[l.old], &table.new[l.new]);
        match (old_pos.get(o.as_str()), new_pos.get(n.as_str())) {
            (Some(i), Some(j)) => triples.push((*i, *j, l.weight)),
            (None, _) => problems.push(format!("alter Schlüssel „{o}“ ist kein Gebiet des Gebietsstands ab {}", from.unwrap_or("Anfang"))),
            (_, None) => problems.push(format!("neuer Schlüssel „{n}“ ist kein Gebiet des Gebietsstands ab {to}")),
        }
    }
    if !problems.is_empty() {
        problems.dedup();
        problems.truncate(20);
        return Err(problems.join("; "));
    }
    let mentioned: BTreeSet<usize> = triples.iter().map(|t| t.0).collect();
    let keys = |v: &[VersionArea]| v.iter().map(|a| a.key.clone()).collect::<Vec<_>>();
    // Shares as given (not rescaled: a check names old areas whose shares do not sum to 1).
    let mut links: Vec<quartier_core::crosswalk::Link> =
        triples.iter().map(|&(i, j, w)| quartier_core::crosswalk::Link { old: i, new: j, weight: w }).collect();
    let new_ids: HashMap<i64, usize> = new.iter().enumerate().map(|(j, a)| (a.id, j)).collect();
    for (i, a) in old.iter().enumerate() {
        if let (false, Some(&j)) = (mentioned.contains(&i), new_ids.get(&a.id)) {
            links.push(quartier_core::crosswalk::Link { old: i, new: j, weight: 1.0 });
        }
    }
    links.sort_by_key(|l| (l.old, l.new));
    Ok(Crosswalk { old: keys(&old), new: keys(&new), links, method: Method::KeyTable })
}

/// The machine word of a method, as stored.
pub fn method_word(m: &Method) -> &'static str {
    match m {
        Method::KeyTable => "key-table",
        Method::AreaOverlay => "area-overlay",
        Method::Points => "points",
        Method::Chained(..) => "chained",
    }
}

fn method_label(word: &str, source: &str) -> String {
    let base = match word {
        "key-table" => Method::KeyTable.label_de(),
        "area-overlay" => Method::AreaOverlay.label_de(),
        "points" => Method::Points.label_de(),
        _ => "verketteter Umstieg".to_string(),
    };
    if source.is_empty() { base } else { format!("{base}: {source}") }
}

/// A stored crosswalk as the core's type (keys in the order of its links).
pub fn to_core(r: &CrosswalkRecord) -> Crosswalk {
    let mut old: Vec<String> = r.links.iter().map(|l| l.0.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let mut new: Vec<String> = r.links.iter().map(|l| l.1.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    old.dedup();
    new.dedup();
    let (op, np): (HashMap<&str, usize>, HashMap<&str, usize>) =
        (old.iter().enumerate().map(|(i, k)| (k.as_str(), i)).collect(), new.iter().enumerate().map(|(i, k)| (k.as_str(), i)).collect());
    let links =
        r.links.iter().map(|(o, n, w)| quartier_core::crosswalk::Link { old: op[o.as_str()], new: np[n.as_str()], weight: *w }).collect();
    let method = match r.method.as_str() {
        "key-table" => Method::KeyTable,
        "area-overlay" => Method::AreaOverlay,
        "points" => Method::Points,
        _ => Method::Chained(Box::new(Method::KeyTable), Box::new(Method::KeyTable)),
    };
    Crosswalk { old: old.clone(), new: new.clone(), links, method }
}

/// Stores a crosswalk under a name.
pub fn save(
    store: &mut dyn Store,
    name: &str,
    level: &str,
    from: Option<&str>,
    to: &str,
    c: &Crosswalk,
    source: &str,
) -> Result<(), String> {
    let record = CrosswalkRecord {
        name: name.to_string(),
        level: level.to_string(),
        from: from.map(str::to_string),
        to: to.to_string(),
        method: method_word(&c.method).to_string(),
        source: source.to_string(),
        created: String::new(),
        who: String::new(),
        links: c.links.iter().map(|l| (c.old[l.old].clone(), c.new[l.new].clone(), l.weight)).collect(),
    };
    store.save_crosswalk(&record, false).map_err(|e| e.to_string())
}

/// Two stored crosswalks one after the other (A → B, B → C), stored as a new one (A → C).
pub fn chain(store: &mut dyn Store, first: &str, second: &str, name: &str) -> Result<CrosswalkRecord, String> {
    let (a, b) = (get(store, first)?, get(store, second)?);
    if a.level != b.level || b.from.as_deref() != Some(a.to.as_str()) {
        return Err(format!(
            "„{second}“ beginnt nicht, wo „{first}“ endet ({} ab {} gegen {} ab {})",
            a.level,
            a.to,
            b.level,
            b.from.as_deref().unwrap_or("Anfang")
        ));
    }
    let c = to_core(&a).chain(&to_core(&b))?;
    let source = format!("„{first}“, dann „{second}“");
    save(store, name, &a.level, a.from.as_deref(), &b.to, &c, &source)?;
    get(store, name)
}

pub fn get(store: &dyn Store, name: &str) -> Result<CrosswalkRecord, String> {
    store.crosswalks(Some(name)).map_err(|e| e.to_string())?.pop().ok_or_else(|| {
        let known: Vec<String> = store.crosswalks(None).unwrap_or_default().into_iter().map(|c| c.name).collect();
        format!("Einen Umstieg „{name}“ gibt es nicht (gespeichert: {})", if known.is_empty() { "keiner".into() } else { known.join(", ") })
    })
}

/// Per new area: how much of it is estimated (share from split old areas, by the weights).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub name: String,
    pub level: String,
    pub from: Option<String>,
    pub to: String,
    pub method: String,
    pub links: usize,
    pub old_areas: usize,
    pub new_areas: usize,
    /// Old areas whose weights do not sum to 1 (key, sum).
    pub not_one: Vec<(String, f64)>,
    /// Old areas of the old set without any weight.
    pub old_unlinked: Vec<String>,
    /// New areas nothing goes to.
    pub new_unlinked: Vec<String>,
    /// Per new area: (key, share estimated — from split old areas, by weight).
    pub estimated: Vec<(String, f64)>,
}

/// A crosswalk with its checks (weights per old area sum to 1; areas of either set left out).
pub fn summary(store: &dyn Store, r: &CrosswalkRecord) -> Result<Summary, String> {
    let c = to_core(r);
    let check = c.check(1e-6);
    let (old, new) = sets(store, &r.level, r.from.as_deref(), &r.to)?;
    let (linked_old, linked_new): (BTreeSet<&str>, BTreeSet<&str>) =
        (r.links.iter().map(|l| l.0.as_str()).collect(), r.links.iter().map(|l| l.1.as_str()).collect());
    let ones = vec![Some(1.0); c.old.len()];
    let carried = c.carry_counts(&ones);
    Ok(Summary {
        name: r.name.clone(),
        level: r.level.clone(),
        from: r.from.clone(),
        to: r.to.clone(),
        method: method_label(&r.method, &r.source),
        links: r.links.len(),
        old_areas: old.len(),
        new_areas: new.len(),
        not_one: check.not_one,
        old_unlinked: old.iter().filter(|a| !linked_old.contains(a.key.as_str())).map(|a| a.key.clone()).collect(),
        new_unlinked: new.iter().filter(|a| !linked_new.contains(a.key.as_str())).map(|a| a.key.clone()).collect(),
        estimated: c.new.iter().cloned().zip(carried.estimated).collect(),
    })
}

/// What carrying values across did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Applied {
    pub stored: CarryReport,
    pub method: String,
    /// (variable, year, total of the old areas, total carried): equal for counts.
    pub totals: Vec<(String, i32, f64, f64)>,
    /// What was not carried, and why.
    pub skipped: Vec<String>,
}

/// Carries the values of the old set's years (those whose end lies before the new set) onto
/// the new areas: counts split by the weights and summed (totals preserved); rates delivered
/// without counts as means weighted by `population` (a count variable), else not at all.
/// Every carried value is stored as an estimate naming the method. `variables` None: every
/// variable with values on the old set's areas.
pub fn apply(
    store: &mut dyn Store,
    name: &str,
    variables: Option<&[String]>,
    population: Option<&str>,
    replace: bool,
    dry_run: bool,
) -> Result<Applied, String> {
    let r = get(store, name)?;
    let c = to_core(&r);
    let check = c.check(1e-6);
    if !check.not_one.is_empty() {
        return Err(format!(
            "Die Gewichte dieser alten Gebiete ergeben nicht 1, Summen gingen verloren: {}",
            check.not_one.iter().take(20).map(|(k, s)| format!("{k} ({s:.4})")).collect::<Vec<_>>().join(", ")
        ));
    }
    let (old, _) = sets(store, &r.level, r.from.as_deref(), &r.to)?;
    let unlinked: Vec<&str> = old.iter().map(|a| a.key.as_str()).filter(|k| !c.old.iter().any(|o| o == k)).collect();
    if !unlinked.is_empty() {
        return Err(format!("Diese alten Gebiete fehlen im Umstieg „{name}“, ihre Werte gingen verloren: {}", unlinked.join(", ")));
    }
    let kinds: HashMap<String, VariableKind> = store.variable_kinds().map_err(|e| e.to_string())?.into_iter().collect();
    let all: Vec<String> = match variables {
        Some(v) => v.to_vec(),
        None => kinds.keys().cloned().collect::<BTreeSet<_>>().into_iter().collect(),
    };
    for v in &all {
        if !kinds.contains_key(v) {
            return Err(format!("Merkmal „{v}“ gibt es nicht"));
        }
    }
    let mut wanted = all.clone();
    if let Some(p) = population {
        if kinds.get(p) != Some(&VariableKind::Count) {
            return Err(format!("--population „{p}“ muss ein Merkmal mit Anzahlen sein"));
        }
        wanted.push(p.to_string());
    }
    let at = old_date(r.from.as_deref());
    let values = store.version_values(&r.level, Some(&at), &wanted).map_err(|e| e.to_string())?;
    // The old set was in effect for a year when the year ended before the new set began.
    let in_effect = |y: i32| format!("{y:04}-12-31") < r.to;
    let pos: HashMap<&str, usize> = c.old.iter().enumerate().map(|(i, k)| (k.as_str(), i)).collect();
    let mut table: BTreeMap<(String, i32), Vec<Option<f64>>> = BTreeMap::new();
    for (key, var, year, cell, _) in &values {
        if !in_effect(*year) {
            continue;
        }
        let Some(&i) = pos.get(key.as_str()) else { continue };
        let slot = table.entry((var.clone(), *year)).or_insert_with(|| vec![None; c.old.len()]);
        slot[i] = match cell {
            Cell::Number(x) => Some(*x),
            Cell::Symbol(s) => s.numeric(),
        };
    }
    let method = format!("{} (Umstieg „{name}“)", method_label(&r.method, &r.source));
    let mut out = Applied { method: method.clone(), ..Default::default() };
    let mut carried = Vec::new();
    for ((var, year), vals) in &table {
        if !all.contains(var) {
            continue;
        }
        let result = match kinds[var] {
            VariableKind::Count => {
                let res = c.carry_counts(vals);
                let before: f64 = vals.iter().flatten().sum();
                let after: f64 = res.values.iter().flatten().sum();
                out.totals.push((var.clone(), *year, before, after));
                res
            }
            VariableKind::Rate => match population.and_then(|p| table.get(&(p.to_string(), *year))) {
                Some(pop) => c.carry_rates(vals, pop),
                None => {
                    out.skipped.push(format!(
                        "{var} {year}: eine Quote ohne ihre Anzahlen wird nur mit --population (Bevölkerung der alten Gebiete) gewichtet übertragen"
                    ));
                    continue;
                }
            },
        };
        let missing = result.values.iter().filter(|v| v.is_none()).count();
        if missing > 0 {
            out.skipped.push(format!("{var} {year}: {missing} neue Gebiete ohne Wert (ein beitragendes altes Gebiet hat keinen Wert)"));
        }
        for (j, v) in result.values.iter().enumerate() {
            if let Some(v) = v {
                carried.push((c.new[j].clone(), var.clone(), *year, *v));
            }
        }
    }
    if carried.is_empty() {
        return Err(format!(
            "Nichts zu übertragen: keine Werte der Jahre vor {} auf dem Gebietsstand ab {}",
            r.to,
            r.from.as_deref().unwrap_or("Anfang")
        ));
    }
    out.stored = store
        .store_carried(&r.level, &CarriedValues { crosswalk: name.to_string(), method, values: carried, replace }, dry_run)
        .map_err(|e| e.to_string())?;
    Ok(out)
}
