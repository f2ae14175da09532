//! Read models combining stored values with the core's hierarchy sums.

use quartier_core::validate::VariableKind;
use quartier_core::{Cell, hierarchy};
use quartier_store::{Result, Store, ValueFilter, node_key};
use serde::Serialize;
use std::collections::HashMap;

/// Where a shown value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Delivered for this area.
    Delivered,
    /// Summed from the children (counts only).
    Summed,
    /// Neither delivered nor computable.
    Missing,
}

/// Why indicators cannot be computed at all (callers tell it from other errors).
pub const NO_CATALOGUE: &str = "kein Indikatorenkatalog gespeichert: zuerst `quartier indicators load KATALOG.toml`";

/// One area's value of a variable in a year, as shown in lists and maps.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AreaValue {
    pub area: String,
    pub name: String,
    pub level: String,
    pub parent: Option<String>,
    pub value: Option<f64>,
    pub symbol: Option<&'static str>,
    pub origin: Origin,
}

/// Values of `variable` in `year` for every area of `level`: delivered where present, else
/// (for counts) the sum of the children.
pub fn level_values(store: &dyn Store, variable: &str, kind: VariableKind, year: i32, level: &str) -> Result<Vec<AreaValue>> {
    let areas = store.areas(Some(level))?;
    let ranks: HashMap<String, usize> = store.levels()?.into_iter().map(|l| (l.name, l.rank)).collect();
    let delivered = store.values(&ValueFilter { variable: Some(variable.into()), year: Some(year), ..Default::default() })?;
    let keyed: Vec<(String, Cell)> = delivered.iter().map(|v| (node_key(ranks[&v.level], &v.area), v.cell)).collect();
    let cells: HashMap<&str, Cell> = keyed.iter().map(|(k, c)| (k.as_str(), *c)).collect();
    let sums = if kind == VariableKind::Count { hierarchy::sum_up(&store.hierarchy()?, &cells) } else { HashMap::new() };
    Ok(areas
        .into_iter()
        .map(|a| {
            let node = node_key(a.level_rank, &a.key);
            let (value, symbol, origin) = match cells.get(node.as_str()) {
                Some(c) => (c.number(), c.symbol().map(|s| s.as_str()), Origin::Delivered),
                None => match sums.get(&node).and_then(|s| s.value) {
                    Some(v) => (Some(v), None, Origin::Summed),
                    None => (None, None, Origin::Missing),
                },
            };
            AreaValue { area: a.key, name: a.name, level: a.level, parent: a.parent, value, symbol, origin }
        })
        .collect())
}

/// [`level_values`] for public output: a count variable is protected over the whole
/// hierarchy ([`quartier_core::disclosure::protect`]: counts below `threshold` and the cells
/// that would give them back are withheld, shown as `*`). Other variables pass unchanged.
pub fn public_level_values(
    store: &dyn Store,
    variable: &str,
    kind: VariableKind,
    year: i32,
    level: &str,
    threshold: f64,
) -> Result<Vec<AreaValue>> {
    use quartier_core::disclosure;
    if kind != VariableKind::Count {
        return level_values(store, variable, kind, year, level);
    }
    let levels = store.levels()?;
    let mut all: Vec<(usize, AreaValue)> = Vec::new();
    for l in &levels {
        all.extend(level_values(store, variable, kind, year, &l.name)?.into_iter().map(|v| (l.rank, v)));
    }
    let row: HashMap<(usize, &str), usize> = all.iter().enumerate().map(|(i, (r, v))| ((*r, v.area.as_str()), i)).collect();
    let parent: Vec<Option<usize>> =
        all.iter().map(|(r, v)| v.parent.as_deref().zip(r.checked_sub(1)).and_then(|(p, pr)| row.get(&(pr, p)).copied())).collect();
    let cells: Vec<Option<f64>> = all.iter().map(|(_, v)| v.value).collect();
    let marks = disclosure::protect_tree(&cells, &parent, threshold);
    Ok(all
        .into_iter()
        .zip(marks)
        .filter(|((_, v), _)| v.level == level)
        .map(|((_, mut v), m)| {
            if m.is_suppressed() && v.value.is_some() {
                v.value = None;
                v.symbol = Some(quartier_core::Symbol::Suppressed.as_str());
            }
            v
        })
        .collect())
}

/// The boundary set a year is shown on: values belong to the set valid at their reference
/// date, so a year that ended before the latest boundary change is shown on the set valid at
/// its end (the date returned); later years on the current set (None).
pub fn boundary_for_year(store: &dyn Store, year: i32) -> std::result::Result<Option<String>, String> {
    Ok(boundary_of_year(&store.version_dates().map_err(|e| e.to_string())?, year))
}

/// [`boundary_for_year`] from the dates later boundary sets began (`Store::version_dates`).
pub fn boundary_of_year(dates: &[String], year: i32) -> Option<String> {
    let end = format!("{year:04}-12-31");
    dates.last().filter(|last| end.as_str() < last.as_str()).map(|_| end)
}

/// One computed indicator value as shown and exported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorRow {
    /// Area key; empty for the whole-municipality reference.
    pub area_id: String,
    pub name: String,
    /// Level name; empty for the reference.
    pub level: String,
    pub year: i32,
    pub indicator: String,
    pub value: Option<f64>,
    pub numerator: Option<f64>,
    pub denominator: Option<f64>,
    pub status: quartier_core::indicator::Status,
    /// Computed from an estimate (a value carried across a boundary change, or one the
    /// statistics office estimated).
    pub estimated: bool,
}

impl IndicatorRow {
    /// The status word of downloads: `estimated` for a value computed from estimates, else
    /// the status's code.
    pub fn status_code(&self) -> &'static str {
        if self.estimated && self.status.has_value() { "estimated" } else { self.status.code() }
    }
}

/// Which indicator values to compute.
#[derive(Debug, Clone, Default)]
pub struct IndicatorQuery {
    /// Indicator ids; empty = all.
    pub indicators: Vec<String>,
    pub years: Option<Vec<i32>>,
    pub level: Option<String>,
    /// For public output: disclosure control with this threshold
    /// ([`quartier_core::disclosure::protect_indicators`]).
    pub public: Option<f64>,
}

/// Computed values (areas of the requested level, or all) and the references.
#[derive(Debug, Clone, Default)]
pub struct IndicatorResults {
    pub catalogue: quartier_core::indicator::Catalogue,
    pub rows: Vec<IndicatorRow>,
    pub references: Vec<IndicatorRow>,
    pub years: Vec<i32>,
}

impl IndicatorResults {
    /// One indicator's rows on one level, and its references: the part a page about it needs
    /// from results computed for all.
    pub fn only(&self, indicator: &str, level: &str) -> IndicatorResults {
        IndicatorResults {
            rows: self.rows.iter().filter(|r| r.indicator == indicator && r.level == level).cloned().collect(),
            references: self.references.iter().filter(|r| r.indicator == indicator).cloned().collect(),
            ..Default::default()
        }
    }
}

/// Evaluates indicators from the stored catalogue and data.
pub fn compute_indicators(store: &dyn Store, q: &IndicatorQuery) -> std::result::Result<IndicatorResults, String> {
    let cat = store.catalogue().map_err(|e| e.to_string())?;
    compute_with_catalogue(store, cat, q)
}

/// [`compute_indicators`] with a catalogue that is not (yet) stored, e.g. a draft to preview;
/// it must have passed `Catalogue::checked`.
pub fn compute_with_catalogue(
    store: &dyn Store,
    cat: quartier_core::indicator::Catalogue,
    q: &IndicatorQuery,
) -> std::result::Result<IndicatorResults, String> {
    use quartier_core::indicator::eval::{Dataset, evaluate};
    let err = |e: quartier_store::StoreError| e.to_string();
    if cat.indicators.is_empty() {
        return Err(NO_CATALOGUE.into());
    }
    let ids: HashMap<&str, usize> = cat.indicators.iter().enumerate().map(|(i, x)| (x.id.as_str(), i)).collect();
    let mut selected = Vec::new();
    for id in &q.indicators {
        match ids.get(id.as_str()) {
            Some(&i) => selected.push(i),
            None => {
                return Err(format!(
                    "Indikator „{id}“ gibt es nicht; vorhanden: {}",
                    cat.indicators.iter().map(|i| i.id.as_str()).collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    if selected.is_empty() {
        selected = (0..cat.indicators.len()).collect();
    }
    let levels = store.levels().map_err(err)?;
    if let Some(l) = &q.level
        && !levels.iter().any(|x| &x.name == l)
    {
        return Err(format!(
            "Ebene „{l}“ gibt es nicht; vorhanden: {}",
            levels.iter().map(|l| l.name.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    // Variables the selected indicators use, directly or through the indicators they refer
    // to: only these are read (a page about one indicator reads one indicator's data).
    let is_variable = |v: &str| !ids.contains_key(v) || cat.get(v).is_some_and(|i| i.formula.trim() == v);
    let mut needed: Vec<bool> = vec![false; cat.indicators.len()];
    let mut stack: Vec<usize> = selected.clone();
    while let Some(i) = stack.pop() {
        if std::mem::replace(&mut needed[i], true) {
            continue;
        }
        for v in cat.indicators[i].expr().variables() {
            if !is_variable(&v) {
                stack.push(ids[v.as_str()]);
            }
        }
    }
    let mut vars: Vec<String> = cat
        .indicators
        .iter()
        .enumerate()
        .filter(|(i, _)| needed[*i])
        .flat_map(|(_, i)| i.expr().variables())
        .filter(|v| is_variable(v))
        .collect();
    vars.sort();
    vars.dedup();
    let cells = store.cells(&vars).map_err(err)?;
    let estimated = store.estimated_cells(&vars).map_err(err)?;
    // Years: those of the whole catalogue's data, as if every variable had been read, so a
    // year without data for these indicators gives them a status, not a missing year.
    let mut all_vars: Vec<String> = cat.indicators.iter().flat_map(|i| i.expr().variables()).filter(|v| is_variable(v)).collect();
    all_vars.sort();
    all_vars.dedup();
    let kinds: HashMap<String, VariableKind> = store.variable_kinds().map_err(err)?.into_iter().collect();
    let mut years: Vec<i32> = store.value_years(&all_vars).map_err(err)?;
    if let Some(want) = &q.years {
        for y in want {
            if !years.contains(y) {
                return Err(format!(
                    "für das Jahr {y} gibt es keine Daten der Merkmale der Indikatoren (vorhanden: {})",
                    years.iter().map(|y| y.to_string()).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        years = want.clone();
    }
    let nodes = store.hierarchy().map_err(err)?;
    let areas = store.areas(None).map_err(err)?;
    let names: HashMap<String, (&str, &str, &str)> =
        areas.iter().map(|a| (node_key(a.level_rank, &a.key), (a.key.as_str(), a.name.as_str(), a.level.as_str()))).collect();
    let mut ev = evaluate(&cat, &Dataset { nodes: &nodes, kinds: &kinds, values: &cells, estimated: &estimated }, &years, &selected);
    if let Some(threshold) = q.public {
        let is_count: Vec<bool> = cat.indicators.iter().map(|i| kinds.get(i.formula.trim()) == Some(&VariableKind::Count)).collect();
        quartier_core::disclosure::protect_indicators(&mut ev.values, &nodes, &is_count, threshold);
    }
    let mut rows = Vec::new();
    let mut references = Vec::new();
    for v in ev.values {
        let ind = cat.indicators[v.indicator].id.clone();
        match v.node {
            None => references.push(IndicatorRow {
                area_id: String::new(),
                name: "Gesamt".into(),
                level: String::new(),
                year: v.year,
                indicator: ind,
                value: v.value,
                numerator: v.numerator,
                denominator: v.denominator,
                status: v.status,
                estimated: v.estimated,
            }),
            Some(i) => {
                let (key, name, level) = names[&nodes[i].key];
                if q.level.as_deref().is_some_and(|l| l != level) {
                    continue;
                }
                rows.push(IndicatorRow {
                    area_id: key.into(),
                    name: name.into(),
                    level: level.into(),
                    year: v.year,
                    indicator: ind,
                    value: v.value,
                    numerator: v.numerator,
                    denominator: v.denominator,
                    status: v.status,
                    estimated: v.estimated,
                });
            }
        }
    }
    let rank: HashMap<&str, usize> = levels.iter().map(|l| (l.name.as_str(), l.rank)).collect();
    let pos: HashMap<&str, usize> = selected.iter().enumerate().map(|(p, &i)| (cat.indicators[i].id.as_str(), p)).collect();
    // Sorted as small keys (looked up once per row) and then moved once: half a million rows
    // at 50,000 areas, each too large to move around in the sort.
    let mut order: Vec<(usize, i32, usize, usize)> =
        rows.iter().enumerate().map(|(i, r)| (pos[r.indicator.as_str()], r.year, rank[r.level.as_str()], i)).collect();
    order.sort_unstable_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)).then_with(|| rows[a.3].area_id.cmp(&rows[b.3].area_id)));
    let mut slots: Vec<Option<IndicatorRow>> = rows.into_iter().map(Some).collect();
    let rows: Vec<IndicatorRow> = order.iter().filter_map(|k| slots[k.3].take()).collect();
    Ok(IndicatorResults { catalogue: cat, rows, references, years })
}
