//! Everything a report shows, gathered once from the store into plain data; every format
//! renders from this model, so HTML, XLSX, PDF and DOCX carry the same numbers.

use crate::definition::ReportDefinition;
use crate::map::MapPaths;
use crate::text::{self, Facts};
use quartier_app::store::Store;
use quartier_app::views::{IndicatorQuery, compute_indicators};
use quartier_core::classify::{self, Method};
use quartier_core::indicator::Direction;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// One area of the report's level.
#[derive(Debug, Clone, PartialEq)]
pub struct Area {
    pub key: String,
    pub name: String,
    pub parent: Option<String>,
}

/// An indicator with its values on the report's level in every year.
#[derive(Debug, Clone)]
pub struct IndicatorData {
    pub id: String,
    pub name: String,
    pub description: String,
    pub formula: String,
    pub unit: String,
    pub decimals: usize,
    pub direction: Direction,
    pub domain: String,
    pub source: String,
    /// Per area (in `Report::areas` order) and year: the value shown (None: none or withheld).
    pub values: Vec<BTreeMap<i32, Option<f64>>>,
    /// Per area and year why there is no value ("geheim", "fehlt", …), or "geschätzt" beside
    /// a value computed from estimates (carried across a boundary change).
    pub notes: Vec<BTreeMap<i32, &'static str>>,
    /// The whole municipality per year.
    pub reference: BTreeMap<i32, Option<f64>>,
    /// The course over the years: the reference, or where there is none (rates delivered
    /// without counts) the median of the areas; and what it is.
    pub trend: Vec<(i32, f64)>,
    pub trend_label: String,
    /// Class upper bounds for the map in the report year (mapclassify semantics).
    pub bins: Vec<f64>,
    /// Frozen breaks used (comparable across editions).
    pub frozen: bool,
    /// The generated paragraph.
    pub text: String,
    /// LISA clusters in the report year (area key, HH/LL/HL/LH), significant at 5 %.
    pub clusters: Vec<(String, &'static str)>,
    /// Largest changes since `Report::since` (area position, change), largest first.
    pub changes: Vec<(usize, f64)>,
}

impl IndexData {
    /// The class colours of the index map, per area (grey: not rated).
    pub fn fills(&self) -> Vec<&'static str> {
        let colours = crate::map::palette(self.class_names.len().max(1));
        self.class.iter().map(|c| c.map(|c| colours[(c.max(1) as usize - 1).min(colours.len() - 1)]).unwrap_or("#f2f2f2")).collect()
    }

    /// The legend of the index map: per class its colour, name and number of areas, then the
    /// areas not rated.
    pub fn class_legend(&self) -> Vec<(&'static str, String, usize)> {
        let colours = crate::map::palette(self.class_names.len().max(1));
        let mut items: Vec<(&'static str, String, usize)> = self
            .class_names
            .iter()
            .enumerate()
            .map(|(k, name)| {
                (colours[k.min(colours.len() - 1)], name.clone(), self.class.iter().filter(|c| **c == Some(k as i64 + 1)).count())
            })
            .collect();
        let unrated = self.class.iter().filter(|c| c.is_none()).count();
        if unrated > 0 {
            items.push(("#f2f2f2", "nicht bewertet".into(), unrated));
        }
        items
    }

    /// The status × dynamics table as text rows: class name, the three counts, their sum.
    pub fn matrix_rows(&self) -> Option<Vec<Vec<String>>> {
        let m = self.matrix.as_ref()?;
        Some(
            m.iter()
                .enumerate()
                .map(|(s, row)| {
                    let mut v = vec![self.class_names[s].clone()];
                    v.extend(row.iter().map(|n| n.to_string()));
                    v.push(row.iter().sum::<usize>().to_string());
                    v
                })
                .collect(),
        )
    }
}

impl IndicatorData {
    pub fn value(&self, area: usize, year: i32) -> Option<f64> {
        self.values[area].get(&year).copied().flatten()
    }

    /// The text of a table cell: the value (with „(geschätzt)“ for an estimate), else why
    /// there is none.
    pub fn cell_text(&self, area: usize, year: i32) -> String {
        let note = self.notes[area].get(&year).copied();
        match (self.value(area, year), note) {
            (Some(v), Some(n)) => format!("{} ({n})", crate::format::fmt_de(v, self.decimals)),
            (Some(v), None) => crate::format::fmt_de(v, self.decimals),
            (None, n) => n.unwrap_or("–").to_string(),
        }
    }
}

/// A chapter of indicators.
#[derive(Debug, Clone)]
pub struct ChapterData {
    pub title: String,
    pub text: String,
    /// Positions in `Report::indicators`.
    pub indicators: Vec<usize>,
}

/// An area whose index class changed: (area position, previous label, current label).
pub type ClassChange = (usize, String, String);

/// The index chapter.
#[derive(Debug, Clone)]
pub struct IndexData {
    pub id: String,
    pub title: String,
    pub name: String,
    pub method: quartier_core::index::IndexMethod,
    pub text: String,
    pub year: i32,
    /// Per area position: the class shown on the map (MSS: status class 1–4; others: the
    /// method's class), and the combined class text.
    pub class: Vec<Option<i64>>,
    pub label: Vec<Option<String>>,
    pub class_names: Vec<String>,
    /// Status × dynamics counts (MSS): rows status 1–4, columns +, +/-, -.
    pub matrix: Option<[[usize; 3]; 4]>,
    /// Areas needing attention: (area position, reason).
    pub attention: Vec<(usize, String)>,
    pub rated: usize,
    /// Areas whose class depends on a single choice (robustness), when computed.
    pub fragile: Option<Vec<usize>>,
    /// Against the previous edition: its year and the areas whose class changed (position,
    /// previous label, current label).
    pub changed: Option<(i32, Vec<ClassChange>)>,
    pub definition: String,
}

/// Source of the data, for the appendix.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Source {
    pub source: String,
    pub reference_date: String,
    pub variables: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub def: ReportDefinition,
    pub level: String,
    pub year: i32,
    pub since: Option<i32>,
    pub years: Vec<i32>,
    pub areas: Vec<Area>,
    pub indicators: Vec<IndicatorData>,
    pub chapters: Vec<ChapterData>,
    pub index: Option<IndexData>,
    /// Area positions with a profile.
    pub profiles: Vec<usize>,
    pub map: MapPaths,
    pub sources: Vec<Source>,
    /// Notable findings for the planner to comment on.
    pub findings: Vec<String>,
    /// Disclosure threshold applied (public report).
    pub threshold: Option<f64>,
}

impl Report {
    pub fn area_name(&self, i: usize) -> String {
        let a = &self.areas[i];
        format!("{} ({})", a.name, a.key)
    }
}

/// Gathers the report from the store; every unknown name in the definition is an error.
pub fn build(store: &dyn Store, def: &ReportDefinition) -> Result<Report, String> {
    let levels = store.levels().map_err(|e| e.to_string())?;
    let level = match &def.level {
        Some(l) => levels
            .iter()
            .find(|x| &x.name == l)
            .map(|x| x.name.clone())
            .ok_or_else(|| format!("Ebene „{l}“ gibt es nicht (vorhanden: {})", names(levels.iter().map(|l| l.name.as_str()))))?,
        None => levels.iter().rev().find(|l| l.areas > 0).map(|l| l.name.clone()).ok_or("die Datenbank hat noch keine Gebiete")?,
    };
    let catalogue = store.catalogue().map_err(|e| e.to_string())?;
    let wanted: Vec<String> = def.chapters.iter().flat_map(|c| c.indicators.clone()).collect::<Vec<_>>();
    let unknown: Vec<&str> = wanted.iter().filter(|i| catalogue.get(i).is_none()).map(String::as_str).collect();
    if !unknown.is_empty() {
        return Err(format!("unbekannte Indikatoren: {} (im Katalog: siehe quartier indicators list)", unknown.join(", ")));
    }
    // Parents by name (the level above), as readers know them.
    let rank = levels.iter().find(|l| l.name == level).map(|l| l.rank).unwrap_or(0);
    let parent_names: HashMap<String, String> = match levels.iter().find(|l| rank > 0 && l.rank == rank - 1) {
        Some(p) => store.areas(Some(&p.name)).map_err(|e| e.to_string())?.into_iter().map(|a| (a.key, a.name)).collect(),
        None => HashMap::new(),
    };
    let areas: Vec<Area> = store
        .areas(Some(&level))
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|a| {
            let parent = a.parent.map(|p| parent_names.get(&p).map(|n| format!("{n} ({p})")).unwrap_or(p));
            Area { key: a.key, name: a.name, parent }
        })
        .collect();
    let position: HashMap<&str, usize> = areas.iter().enumerate().map(|(i, a)| (a.key.as_str(), i)).collect();
    let profiles: Vec<usize> = match def.profile_areas() {
        None => Vec::new(),
        Some(list) if list.is_empty() => (0..areas.len()).collect(),
        Some(list) => {
            let missing: Vec<&str> = list.iter().filter(|k| !position.contains_key(k.as_str())).map(String::as_str).collect();
            if !missing.is_empty() {
                return Err(format!("profiles nennt Gebiete, die es auf Ebene „{level}“ nicht gibt: {}", missing.join(", ")));
            }
            list.iter().map(|k| position[k.as_str()]).collect()
        }
    };
    let threshold = def.threshold();
    let mut ids: Vec<String> = wanted.clone();
    let mut seen = BTreeSet::new();
    ids.retain(|i| seen.insert(i.clone()));
    let results = if ids.is_empty() {
        Default::default()
    } else {
        compute_indicators(store, &IndicatorQuery { indicators: ids.clone(), years: None, level: Some(level.clone()), public: threshold })?
    };
    let mut years: Vec<i32> =
        results.rows.iter().filter(|r| r.status.has_value()).map(|r| r.year).collect::<BTreeSet<_>>().into_iter().collect();
    if years.is_empty() {
        years = results.years.clone();
    }
    let year = match def.year {
        Some(y) if years.is_empty() || years.contains(&y) => y,
        Some(y) => return Err(format!("für {y} gibt es keine Werte (Jahre mit Werten: {})", names(years.iter().map(|y| y.to_string())))),
        None => *years.last().ok_or("keine Indikatorwerte auf dieser Ebene")?,
    };
    let since = def.since.or_else(|| years.first().copied()).filter(|s| *s < year);
    let map = crate::map::level_map(store, &levels, &level)?;
    let mut indicators = Vec::new();
    for id in &ids {
        let ind = catalogue.get(id).expect("checked above");
        let mut values = vec![BTreeMap::new(); areas.len()];
        let mut notes = vec![BTreeMap::new(); areas.len()];
        for r in results.rows.iter().filter(|r| &r.indicator == id && r.level == level) {
            let Some(&i) = position.get(r.area_id.as_str()) else { continue };
            let v = if r.status.has_value() { r.value } else { None };
            values[i].insert(r.year, v);
            if v.is_none() {
                notes[i].insert(r.year, status_word(&r.status));
            } else if r.estimated {
                notes[i].insert(r.year, "geschätzt");
            }
        }
        let reference: BTreeMap<i32, Option<f64>> = results
            .references
            .iter()
            .filter(|r| &r.indicator == id)
            .map(|r| (r.year, if r.status.has_value() { r.value } else { None }))
            .collect();
        let current: Vec<f64> = (0..areas.len()).filter_map(|i| values[i].get(&year).copied().flatten()).collect();
        let (bins, frozen) = breaks(store, def, id, &level, &current)?;
        let decimals = ind.decimals as usize;
        let mut data = IndicatorData {
            id: id.clone(),
            name: ind.name.clone(),
            description: ind.description.clone(),
            formula: ind.formula.clone(),
            unit: ind.unit.clone(),
            decimals,
            direction: ind.direction,
            domain: ind.domain.clone(),
            source: ind.source.clone(),
            values,
            notes,
            reference,
            bins,
            frozen,
            trend: Vec::new(),
            trend_label: String::new(),
            text: String::new(),
            clusters: clusters(store, id, year, &level),
            changes: Vec::new(),
        };
        if let Some(s) = since {
            let mut ch: Vec<(usize, f64)> = (0..areas.len()).filter_map(|i| Some((i, data.value(i, year)? - data.value(i, s)?))).collect();
            ch.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
            ch.truncate(5);
            data.changes = ch;
        }
        (data.trend, data.trend_label) = trend(&data, &areas, &def.municipality, &level, &years);
        data.text = paragraph(&data, &areas, &def.municipality, year, since);
        indicators.push(data);
    }
    let index_of: HashMap<&str, usize> = indicators.iter().enumerate().map(|(i, d)| (d.id.as_str(), i)).collect();
    let chapters = def
        .chapters
        .iter()
        .map(|c| ChapterData {
            title: c.title.clone(),
            text: c.text.clone(),
            indicators: c.indicators.iter().map(|i| index_of[i.as_str()]).collect(),
        })
        .collect();
    let index = match &def.index {
        Some(ix) => Some(index_chapter(store, ix, &areas, &position)?),
        None => None,
    };
    let sources = sources(store, &catalogue, &ids, &def.sources)?;
    let findings = findings(&indicators, &areas, index.as_ref(), since, year);
    Ok(Report {
        def: def.clone(),
        level,
        year,
        since,
        years,
        areas,
        indicators,
        chapters,
        index,
        profiles,
        map,
        sources,
        findings,
        threshold,
    })
}

fn names<S: AsRef<str>>(it: impl Iterator<Item = S>) -> String {
    let v: Vec<String> = it.map(|s| s.as_ref().to_string()).collect();
    if v.is_empty() { "keine".into() } else { v.join(", ") }
}

/// Why a value is not shown, in one word.
pub fn status_word(s: &quartier_core::indicator::Status) -> &'static str {
    use quartier_core::indicator::Status;
    match s {
        Status::Confidential | Status::Suppressed(_) => "geheim",
        Status::Unreliable => "unsicher",
        Status::DivisionByZero => "Nenner 0",
        Status::Missing(_) => "fehlt",
        _ => "–",
    }
}

/// Class breaks: frozen ones when asked for and stored, else computed with the method.
fn breaks(store: &dyn Store, def: &ReportDefinition, id: &str, level: &str, values: &[f64]) -> Result<(Vec<f64>, bool), String> {
    if def.classes.frozen
        && let Some((_, bins)) = store.frozen_breaks(id, level).map_err(|e| e.to_string())?
    {
        return Ok((bins, true));
    }
    if values.len() < 2 {
        return Ok((Vec::new(), false));
    }
    let k = def.classes.k.min(values.len());
    let method = match def.classes.method.as_str() {
        "quantiles" => Method::Quantiles { k, type9: false },
        "equal-interval" => Method::EqualInterval { k },
        "fisher-jenks" => Method::FisherJenks { k },
        "jenks-caspall" => Method::JenksCaspall { k },
        "max-breaks" => Method::MaxBreaks { k },
        other => {
            return Err(format!(
                "classes.method = \"{other}\": erlaubt sind quantiles, equal-interval, fisher-jenks, jenks-caspall, max-breaks"
            ));
        }
    };
    Ok((classify::classify(values, &method).map(|c| c.bins).unwrap_or_default(), false))
}

/// Significant LISA clusters (queen contiguity, 999 permutations, seed 1, p ≤ 0.05) on the
/// true values; only the cluster labels are shown, never the values behind them.
fn clusters(store: &dyn Store, id: &str, year: i32, level: &str) -> Vec<(String, &'static str)> {
    quartier_app::spatial::lisa_clusters(store, id, year, level).unwrap_or_default()
}

/// The reference per year, or the median of the areas where there is no reference.
fn trend(d: &IndicatorData, areas: &[Area], municipality: &str, level: &str, years: &[i32]) -> (Vec<(i32, f64)>, String) {
    let reference: Vec<(i32, f64)> = d.reference.iter().filter_map(|(y, v)| Some((*y, (*v)?))).collect();
    if reference.len() > 1 {
        return (reference, format!("Durchschnitt von {municipality}"));
    }
    let median: Vec<(i32, f64)> = years
        .iter()
        .filter_map(|y| {
            let mut v: Vec<f64> = (0..areas.len()).filter_map(|i| d.value(i, *y)).collect();
            v.sort_by(f64::total_cmp);
            (!v.is_empty()).then(|| (*y, crate::charts::quartile(&v, 0.5)))
        })
        .collect();
    (median, format!("Median der Gebiete ({level})"))
}

fn paragraph(d: &IndicatorData, areas: &[Area], municipality: &str, year: i32, since: Option<i32>) -> String {
    let mut current: Vec<(usize, f64)> = (0..areas.len()).filter_map(|i| Some((i, d.value(i, year)?))).collect();
    current.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let sorted: Vec<f64> = {
        let mut s: Vec<f64> = current.iter().map(|x| x.1).collect();
        s.sort_by(f64::total_cmp);
        s
    };
    let since_ref = since.and_then(|s| Some((s, d.reference.get(&s).copied().flatten()?)));
    let highest = current.first().map(|(i, v)| (areas[*i].name.as_str(), *v));
    let lowest = current.last().filter(|_| current.len() > 1).map(|(i, v)| (areas[*i].name.as_str(), *v));
    text::indicator_paragraph(&Facts {
        unit: &d.unit,
        decimals: d.decimals,
        municipality,
        year,
        reference: d.reference.get(&year).copied().flatten(),
        since: since_ref,
        highest,
        lowest,
        quartiles: (sorted.len() >= 4).then(|| (crate::charts::quartile(&sorted, 0.25), crate::charts::quartile(&sorted, 0.75))),
        areas: sorted.len(),
    })
}

fn index_chapter(
    store: &dyn Store,
    ix: &crate::definition::IndexChapter,
    areas: &[Area],
    position: &HashMap<&str, usize>,
) -> Result<IndexData, String> {
    use quartier_core::index::{IndexDefinition, IndexMethod};
    let saved = store.index_definitions().map_err(|e| e.to_string())?;
    let (_, text) = saved
        .iter()
        .find(|(id, _)| *id == ix.id)
        .ok_or_else(|| format!("Index „{}“ ist nicht gespeichert (vorhanden: {})", ix.id, names(saved.iter().map(|s| s.0.as_str()))))?;
    let def = IndexDefinition::from_toml(text)?;
    let table = quartier_app::indexing::compute_index(store, &def, &ix.id, None)?;
    let column = match def.method {
        IndexMethod::Mss => "status_class",
        IndexMethod::Imd => "imd_decile",
        IndexMethod::Svi => "svi_class",
        IndexMethod::Gisd => "quintile",
        IndexMethod::Weighted => "class",
    };
    let mut class = vec![None; areas.len()];
    let mut label = vec![None; areas.len()];
    let mut attention = Vec::new();
    let mut matrix = (def.method == IndexMethod::Mss).then_some([[0usize; 3]; 4]);
    let mut rated = 0;
    let mut year = 0;
    for r in &table.json {
        year = r["year"].as_i64().unwrap_or(0) as i32;
        let Some(&i) = r["area_id"].as_str().and_then(|k| position.get(k)) else { continue };
        if r["rated"] != true {
            continue;
        }
        rated += 1;
        class[i] = r[column].as_i64().or_else(|| r[column].as_f64().map(|x| x as i64));
        label[i] = r.get("combined_class").and_then(|c| c.as_str()).map(String::from).or_else(|| class[i].map(|c| c.to_string()));
        if let (Some(m), Some(s)) = (matrix.as_mut(), class[i]) {
            let d = match r["dynamics_class"].as_str() {
                Some("+") => 0,
                Some("-") => 2,
                _ => 1,
            };
            m[(s.clamp(1, 4) - 1) as usize][d] += 1;
        }
        if r["attention"] == true {
            attention.push((i, r["attention_reason"].as_str().unwrap_or("").to_string()));
        }
    }
    let class_names = match def.method {
        IndexMethod::Mss => {
            quartier_core::index::mss::STATUS_LABELS.iter().enumerate().map(|(i, l)| format!("{} – Status {l}", i + 1)).collect()
        }
        IndexMethod::Imd => (1..=10).map(|d| format!("Dezil {d}{}", if d == 1 { " (am stärksten benachteiligt)" } else { "" })).collect(),
        IndexMethod::Svi => ["1 – niedrig", "2", "3", "4 – hoch"].iter().map(|s| format!("Verwundbarkeit {s}")).collect(),
        IndexMethod::Gisd => (1..=5).map(|q| format!("Quintil {q}")).collect(),
        IndexMethod::Weighted => {
            let max = class.iter().flatten().max().copied().unwrap_or(0);
            (1..=max).map(|c| format!("Klasse {c}")).collect()
        }
    };
    let fragile = quartier_app::indexing::robustness_table(store, &def, &ix.id, None, 200, 0.5, 1).ok().map(|t| {
        t.json
            .iter()
            .filter(|r| r["depends_on_single_choice"] == true)
            .filter_map(|r| r["area_id"].as_str().and_then(|k| position.get(k)).copied())
            .collect()
    });
    let changed = previous_edition(store, &def, &ix.id, year, column, position, &label);
    Ok(IndexData {
        id: ix.id.clone(),
        title: ix.title.clone().unwrap_or_else(|| if def.name.is_empty() { "Sozialindex".into() } else { def.name.clone() }),
        name: def.name.clone(),
        method: def.method,
        text: ix.text.clone(),
        year,
        class,
        label,
        class_names,
        matrix,
        attention,
        rated,
        fragile,
        changed,
        definition: text.clone(),
    })
}

/// The same index a year (an edition) earlier, and the areas whose class changed.
fn previous_edition(
    store: &dyn Store,
    def: &quartier_core::index::IndexDefinition,
    id: &str,
    year: i32,
    column: &str,
    position: &HashMap<&str, usize>,
    label: &[Option<String>],
) -> Option<(i32, Vec<ClassChange>)> {
    let catalogue = store.catalogue().ok()?;
    let all = store.variables().ok()?;
    let mut variables: Vec<String> = Vec::new();
    for i in def.indicators() {
        if let Some(ind) = catalogue.get(&i) {
            variables.extend(all.iter().filter(|v| formula_mentions(&ind.formula, &v.key)).map(|v| v.key.clone()));
        }
    }
    let earlier = store.value_years(&variables).ok()?.into_iter().filter(|y| *y < year).max()?;
    let table = quartier_app::indexing::compute_index(store, def, id, Some(earlier)).ok()?;
    let mut changed = Vec::new();
    for r in &table.json {
        let Some(&i) = r["area_id"].as_str().and_then(|k| position.get(k)) else { continue };
        if r["rated"] != true {
            continue;
        }
        let before =
            r.get("combined_class").and_then(|c| c.as_str()).map(String::from).or_else(|| r[column].as_i64().map(|c| c.to_string()));
        let (Some(before), Some(now)) = (before, label[i].clone()) else { continue };
        // MSS: the status class (the digit) is what a change of class means.
        if before.chars().next() != now.chars().next() {
            changed.push((i, before, now));
        }
    }
    Some((earlier, changed))
}

fn sources(
    store: &dyn Store,
    catalogue: &quartier_core::indicator::Catalogue,
    ids: &[String],
    extra: &[String],
) -> Result<Vec<Source>, String> {
    let variables = store.variables().map_err(|e| e.to_string())?;
    // The variables each indicator's formula reads (by name), with their sources.
    let mut by_source: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for id in ids {
        let formula = catalogue.get(id).map(|i| i.formula.as_str()).unwrap_or("");
        for v in variables.iter().filter(|v| formula_mentions(formula, &v.key)) {
            let label = if v.label.is_empty() { v.key.clone() } else { v.label.clone() };
            by_source.entry((v.source.clone(), v.reference_date.clone())).or_default().insert(label);
        }
    }
    let mut out: Vec<Source> = by_source
        .into_iter()
        .map(|((source, reference_date), vars)| Source {
            source: if source.is_empty() { "ohne Quellenangabe geliefert".into() } else { source },
            reference_date,
            variables: vars.into_iter().collect(),
        })
        .collect();
    out.extend(extra.iter().map(|s| Source { source: s.clone(), reference_date: String::new(), variables: Vec::new() }));
    Ok(out)
}

/// Whether `formula` uses the identifier `name` (not as part of a longer one).
fn formula_mentions(formula: &str, name: &str) -> bool {
    formula.match_indices(name).any(|(at, _)| {
        let before = formula[..at].chars().next_back();
        let after = formula[at + name.len()..].chars().next();
        let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        !ident(before) && !ident(after)
    })
}

/// Notable findings, for the planner to comment on: LISA hot spots, the strongest changes,
/// areas needing attention.
fn findings(indicators: &[IndicatorData], areas: &[Area], index: Option<&IndexData>, since: Option<i32>, year: i32) -> Vec<String> {
    let mut out = Vec::new();
    for d in indicators {
        let hot: Vec<&str> = d
            .clusters
            .iter()
            .filter(|(_, c)| *c == "HH")
            .filter_map(|(k, _)| areas.iter().find(|a| &a.key == k).map(|a| a.name.as_str()))
            .collect();
        if !hot.is_empty() {
            let shown: Vec<&str> = hot.iter().take(8).copied().collect();
            out.push(format!(
                "{}: räumliche Häufung hoher Werte (LISA, {year}) in {} Gebieten, u. a. {}{}",
                d.name,
                hot.len(),
                shown.join(", "),
                if hot.len() > 8 { " …" } else { "" }
            ));
        }
        if let (Some(s), Some((i, ch))) = (since, d.changes.first()) {
            let du = if d.unit.trim() == "%" { "Prozentpunkte".to_string() } else { d.unit.clone() };
            out.push(format!(
                "{}: die stärkste Veränderung seit {s} hat {} ({}{} {du})",
                d.name,
                areas[*i].name,
                if *ch > 0.0 { "+" } else { "−" },
                crate::format::fmt_de(ch.abs(), d.decimals)
            ));
        }
    }
    if let Some(ix) = index {
        if !ix.attention.is_empty() {
            out.push(format!("{}: {} Gebiete mit besonderem Aufmerksamkeitsbedarf", ix.title, ix.attention.len()));
        }
        if let Some((y, ch)) = &ix.changed
            && !ch.is_empty()
        {
            let names: Vec<String> = ch.iter().take(8).map(|(i, b, n)| format!("{} ({b} → {n})", areas[*i].name)).collect();
            out.push(format!(
                "{}: {} Gebiete haben seit {y} die Klasse gewechselt, u. a. {}{}",
                ix.title,
                ch.len(),
                names.join(", "),
                if ch.len() > 8 { " …" } else { "" }
            ));
        }
        if let Some(f) = &ix.fragile
            && !f.is_empty()
        {
            out.push(format!("{}: bei {} Gebieten hängt die Klasse an einer einzelnen Festlegung (Robustheitsprüfung)", ix.title, f.len()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn formula_mentions_whole_identifiers_only() {
        assert!(super::formula_mentions("100 * kinder_sgb2 / kinder", "kinder"));
        assert!(super::formula_mentions("kinder_sgb2/kinder", "kinder_sgb2"));
        assert!(!super::formula_mentions("kinder_sgb2", "kinder"));
        assert!(!super::formula_mentions("100*ew_u15", "ew"));
    }
}
