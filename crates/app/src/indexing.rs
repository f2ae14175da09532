//! Composite indices over stored data: gathers indicator values, population and exclusions
//! for a definition, runs the core method and returns a result table (shared by the CLI and
//! the web app).

use crate::views::{self, IndicatorQuery};
use quartier_core::index::definition::MissingPolicy;
use quartier_core::index::mss::{self, MssError, MssInput};
use quartier_core::index::{IndexDefinition, IndexMethod};
use quartier_core::index::{imd, svi};
use quartier_store::Store;
use std::collections::{HashMap, HashSet};

/// What every method needs: the rated level's areas, indicator values and population.
pub struct Ctx {
    pub file: String,
    pub year: i32,
    areas: Vec<quartier_store::AreaRecord>,
    /// (indicator, area) → value (None where missing or not usable).
    values: HashMap<(String, String), Option<f64>>,
    population: HashMap<String, Option<f64>>,
    catalogue: quartier_core::indicator::Catalogue,
}

impl Ctx {
    fn value(&self, indicator: &str, area: &str) -> Option<f64> {
        self.values.get(&(indicator.to_string(), area.to_string())).copied().flatten()
    }

    /// Why an area is not rated (exclusion, population), if it is not.
    fn not_rated(&self, def: &IndexDefinition, area: &str) -> Option<String> {
        if let Some(e) = def.exclude.iter().find(|e| e.area == area && e.applies(self.year)) {
            return Some(format!("ausgeschlossen: {}", e.reason));
        }
        if let Some(m) = self.missing_reason(def, area) {
            return Some(m);
        }
        if def.population.is_some() {
            match self.population.get(area).copied().flatten() {
                None => return Some("Einwohnerzahl fehlt".into()),
                Some(p) if def.min_population.is_some_and(|m| p < m) => {
                    return Some(format!("weniger als {} Einwohner ({p})", def.min_population.unwrap_or(0.0)));
                }
                Some(p) if def.method == IndexMethod::Svi && p <= 0.0 => return Some("keine Einwohner".into()),
                _ => {}
            }
        }
        None
    }

    /// With `missing = "exclude"`: the reason an area lacking values is left out.
    fn missing_reason(&self, def: &IndexDefinition, area: &str) -> Option<String> {
        if def.missing != MissingPolicy::Exclude {
            return None;
        }
        let lacking: Vec<String> = def.indicators().into_iter().filter(|i| self.value(i, area).is_none()).collect();
        (!lacking.is_empty()).then(|| format!("Werte fehlen: {}", lacking.join(", ")))
    }

    /// Rated areas lacking a value: an error naming them (never silent zeros).
    fn require_values(&self, def: &IndexDefinition, rated: &[usize]) -> Result<(), String> {
        let missing: Vec<String> = rated
            .iter()
            .flat_map(|&i| {
                def.indicators()
                    .into_iter()
                    .filter(move |ind| self.value(ind, &self.areas[i].key).is_none())
                    .map(move |ind| format!("{}: {ind}", self.areas[i].key))
            })
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(format!(
            "{}: {} Werte fehlen bei bewerteten Gebieten {} (keine stillen Nullen: Gebiete ausschließen oder Daten ergänzen): {}{}",
            self.file,
            missing.len(),
            self.year,
            missing[..missing.len().min(20)].join(", "),
            if missing.len() > 20 { " …" } else { "" }
        ))
    }
}

pub fn gather(store: &dyn Store, def: &IndexDefinition, file: &str, year: Option<i32>) -> Result<Ctx, String> {
    let levels = store.levels().map_err(|e| e.to_string())?;
    let level = match &def.level {
        Some(l) => l.clone(),
        None => levels.iter().rev().find(|l| l.areas > 0).map(|l| l.name.clone()).ok_or_else(|| "keine Gebiete gespeichert".to_string())?,
    };
    let areas = store.areas(Some(&level)).map_err(|e| format!("{file}: {e}"))?;
    let known: HashSet<&str> = areas.iter().map(|x| x.key.as_str()).collect();
    let unknown: Vec<&str> = def.exclude.iter().map(|e| e.area.as_str()).filter(|k| !known.contains(k)).collect();
    if !unknown.is_empty() {
        return Err(format!("{file}: exclude nennt Gebiete, die es auf Ebene „{level}“ nicht gibt: {}", unknown.join(", ")));
    }
    let res = views::compute_indicators(
        store,
        &IndicatorQuery { indicators: def.indicators(), years: year.map(|y| vec![y]), level: Some(level.clone()), ..Default::default() },
    )
    .map_err(|e| format!("{file}: {e}"))?;
    let usable = |r: &views::IndicatorRow| r.status.has_value().then_some(r.value).flatten();
    let year = match year {
        Some(y) => y,
        None => *res
            .years
            .iter()
            .rev()
            .find(|&&y| def.indicators().iter().all(|i| res.rows.iter().any(|r| r.year == y && &r.indicator == i && usable(r).is_some())))
            .ok_or_else(|| format!("{file}: kein Jahr, in dem alle Indikatoren ({}) Werte haben", def.indicators().join(", ")))?,
    };
    let values = res.rows.iter().filter(|r| r.year == year).map(|r| ((r.indicator.clone(), r.area_id.clone()), usable(r))).collect();
    let population = match &def.population {
        Some(var) => {
            let vars = store.variables().map_err(|e| e.to_string())?;
            let v = vars
                .iter()
                .find(|x| &x.key == var)
                .ok_or_else(|| format!("{file}: population = „{var}“ ist kein gespeichertes Merkmal"))?;
            views::level_values(store, var, v.kind, year, &level)
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|x| (x.area, x.value))
                .collect()
        }
        None => HashMap::new(),
    };
    Ok(Ctx { file: file.to_string(), year, areas, values, population, catalogue: res.catalogue })
}

/// A result table: headers, text rows, JSON objects.
#[derive(Debug, Clone)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub json: Vec<serde_json::Value>,
    /// Remarks for the user (e.g. explained variance of GISD components).
    pub notes: Vec<String>,
}

impl Table {
    pub fn new(headers: Vec<String>) -> Table {
        Table { headers, rows: Vec::new(), json: Vec::new(), notes: Vec::new() }
    }

    /// Adds one row from (column, value) pairs in header order.
    pub fn push(&mut self, cells: Vec<(String, serde_json::Value)>) {
        self.rows.push(
            cells
                .iter()
                .map(|(_, v)| match v {
                    serde_json::Value::Null => String::new(),
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
        );
        self.json.push(serde_json::Value::Object(cells.into_iter().collect()));
    }
}

fn base_cells(area: &str, year: i32, reason: &Option<String>) -> Vec<(String, serde_json::Value)> {
    vec![
        ("area_id".into(), area.into()),
        ("year".into(), year.into()),
        ("rated".into(), reason.is_none().into()),
        ("reason_not_rated".into(), reason.clone().into()),
    ]
}

fn headers(extra: impl IntoIterator<Item = String>) -> Vec<String> {
    ["area_id", "year", "rated", "reason_not_rated"].iter().map(|s| s.to_string()).chain(extra).collect()
}

pub fn mss_inputs(ctx: &Ctx, def: &IndexDefinition) -> MssInput {
    let column = |i: &String| ctx.areas.iter().map(|ar| ctx.value(i, &ar.key)).collect();
    MssInput {
        areas: ctx.areas.iter().map(|ar| ar.key.clone()).collect(),
        population: ctx.areas.iter().map(|ar| ctx.population.get(&ar.key).copied().flatten()).collect(),
        excluded: ctx
            .areas
            .iter()
            .map(|ar| {
                def.exclude
                    .iter()
                    .find(|e| e.area == ar.key && e.applies(ctx.year))
                    .map(|e| e.reason.clone())
                    .or_else(|| ctx.missing_reason(def, &ar.key))
            })
            .collect(),
        status: def.status.iter().map(column).collect(),
        dynamics: def.dynamics.iter().map(column).collect(),
    }
}

pub fn mss_error(ctx: &Ctx, def: &IndexDefinition, e: MssError) -> String {
    let (file, year) = (&ctx.file, ctx.year);
    match e {
        MssError::MissingValues(m) => {
            let list: Vec<String> = m
                .iter()
                .take(20)
                .map(|(area, k, status)| format!("{area}: {}", if *status { &def.status[*k] } else { &def.dynamics[*k] }))
                .collect();
            format!(
                "{file}: {} Werte fehlen bei bewerteten Gebieten {year} (keine stillen Nullen: Gebiete ausschließen oder Daten ergänzen): {}{}",
                m.len(),
                list.join(", "),
                if m.len() > 20 { " …" } else { "" }
            )
        }
        MssError::ZeroVariance { status, position } => {
            let list = if status { &def.status } else { &def.dynamics };
            format!(
                "{file}: „{}“ hat {year} bei allen bewerteten Gebieten denselben Wert (Varianz 0): keine Standardisierung möglich",
                list.get(position).map(String::as_str).unwrap_or("Summe")
            )
        }
        MssError::TooFewRated(n) => format!("{file}: nur {n} bewertete Gebiete {year}: zu wenige für einen Index"),
    }
}

pub fn direction_sign_cat(cat: &quartier_core::indicator::Catalogue, indicator: &str) -> f64 {
    match cat.get(indicator).map(|i| i.direction) {
        Some(quartier_core::indicator::Direction::HigherIsBetter) => -1.0,
        _ => 1.0,
    }
}

/// MSS-style index, with the areas needing attention and the count of indicators more than
/// one standard deviation worse than the mean (multiple disadvantage).
fn compute_mss(ctx: &Ctx, def: &IndexDefinition) -> Result<Table, String> {
    let year = ctx.year;
    let inputs = mss_inputs(ctx, def);
    let results = mss::compute(&inputs, def.min_population).map_err(|e| mss_error(ctx, def, e))?;
    let mut extra = Vec::new();
    for i in def.status.iter().chain(&def.dynamics) {
        extra.push(format!("{i}_value"));
        extra.push(format!("{i}_z"));
    }
    extra.extend(
        [
            "status_sum",
            "status_index",
            "status_class",
            "status_label",
            "dynamics_index",
            "dynamics_class",
            "dynamics_label",
            "combined_class",
            "attention",
            "attention_reason",
            "indicators_beyond_1sd",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    let mut t = Table::new(headers(extra));
    let r = &results;
    for (i, (area, row)) in inputs.areas.iter().zip(r.rows(inputs.len())).enumerate() {
        let mut cells = base_cells(area, year, &r.reason_not_rated[i]);
        let parts =
            inputs.status.iter().zip(&r.status_z).zip(&def.status).chain(inputs.dynamics.iter().zip(&r.dynamics_z).zip(&def.dynamics));
        let mut beyond = 0;
        for ((v, z), id) in parts {
            let z = row.map(|row| z[row]);
            cells.push((format!("{id}_value"), v[i].into()));
            cells.push((format!("{id}_z"), z.into()));
            beyond += usize::from(z.is_some_and(|z| z > 1.0));
        }
        let at = |col: &Vec<f64>| row.and_then(|row| col.get(row).copied());
        let status_class = row.map(|row| r.status_class[row]);
        let dynamics_class = row.and_then(|row| r.dynamics_class.get(row).copied());
        // Attention: low or very low status, or negative dynamics.
        let mut reasons = Vec::new();
        match status_class {
            Some(3) => reasons.push("niedriger Status"),
            Some(4) => reasons.push("sehr niedriger Status"),
            _ => {}
        }
        if dynamics_class == Some("-") {
            reasons.push("negative Dynamik");
        }
        let rated = row.is_some();
        cells.extend([
            ("status_sum".into(), at(&r.status_sum).into()),
            ("status_index".into(), at(&r.status_index).into()),
            ("status_class".into(), status_class.into()),
            ("status_label".into(), status_class.map(|c| mss::STATUS_LABELS[c as usize - 1]).into()),
            ("dynamics_index".into(), at(&r.dynamics_index).into()),
            ("dynamics_class".into(), dynamics_class.into()),
            ("dynamics_label".into(), dynamics_class.map(mss::dynamics_label).into()),
            ("combined_class".into(), row.map(|row| r.combined_class[row]).into()),
            ("attention".into(), (rated && !reasons.is_empty()).into()),
            ("attention_reason".into(), (!reasons.is_empty()).then(|| reasons.join(", ")).into()),
            ("indicators_beyond_1sd".into(), rated.then_some(beyond).into()),
        ]);
        t.push(cells);
    }
    Ok(t)
}

fn direction_sign(ctx: &Ctx, indicator: &str) -> f64 {
    direction_sign_cat(&ctx.catalogue, indicator)
}

fn compute_svi(ctx: &Ctx, def: &IndexDefinition) -> Result<Table, String> {
    let reasons: Vec<Option<String>> = ctx.areas.iter().map(|a| ctx.not_rated(def, &a.key)).collect();
    let rated: Vec<usize> = (0..ctx.areas.len()).filter(|&i| reasons[i].is_none()).collect();
    if rated.len() < 2 {
        return Err(format!("{}: nur {} bewertete Gebiete", ctx.file, rated.len()));
    }
    ctx.require_values(def, &rated)?;
    let themes: Vec<Vec<Vec<f64>>> = def
        .themes
        .iter()
        .map(|t| {
            t.indicators.iter().map(|ind| rated.iter().map(|&i| ctx.value(ind, &ctx.areas[i].key).expect("checked")).collect()).collect()
        })
        .collect();
    let inverted: Vec<Vec<bool>> =
        def.themes.iter().map(|t| t.indicators.iter().map(|ind| direction_sign(ctx, ind) < 0.0).collect()).collect();
    let theme_weights: Vec<f64> = def.themes.iter().map(|t| t.weight.unwrap_or(1.0)).collect();
    let res = svi::compute(&themes, &inverted, &theme_weights);
    let mut extra = Vec::new();
    for t in &def.themes {
        for ind in &t.indicators {
            extra.push(format!("EPL_{ind}"));
            extra.push(format!("F_{ind}"));
        }
    }
    for t in &def.themes {
        extra.extend([format!("SPL_{}", t.name), format!("RPL_{}", t.name), format!("F_{}", t.name)]);
    }
    extra.extend(["SPL_THEMES", "RPL_THEMES", "F_TOTAL", "svi_class"].iter().map(|s| s.to_string()));
    let mut t = Table::new(headers(extra));
    let by_area: HashMap<usize, &svi::SviResult> = rated.iter().zip(&res).map(|(&i, r)| (i, r)).collect();
    for (i, a) in ctx.areas.iter().enumerate() {
        let mut cells = base_cells(&a.key, ctx.year, &reasons[i]);
        let r = by_area.get(&i);
        for (ti, th) in def.themes.iter().enumerate() {
            for (vi, ind) in th.indicators.iter().enumerate() {
                cells.push((format!("EPL_{ind}"), r.map(|r| r.epl[ti][vi]).into()));
                cells.push((format!("F_{ind}"), r.map(|r| r.flags[ti][vi] as u8).into()));
            }
        }
        for (ti, th) in def.themes.iter().enumerate() {
            cells.push((format!("SPL_{}", th.name), r.map(|r| r.spl[ti]).into()));
            cells.push((format!("RPL_{}", th.name), r.map(|r| r.rpl[ti]).into()));
            cells.push((format!("F_{}", th.name), r.map(|r| r.flag_counts[ti]).into()));
        }
        cells.push(("SPL_THEMES".into(), r.map(|r| r.spl_overall).into()));
        cells.push(("RPL_THEMES".into(), r.map(|r| r.rpl_overall).into()));
        cells.push(("F_TOTAL".into(), r.map(|r| r.flags_total).into()));
        cells.push(("svi_class".into(), r.map(|r| svi::quartile_class(r.rpl_overall)).into()));
        t.push(cells);
    }
    Ok(t)
}

/// A planner's weighted index: normalised, oriented indicators (high = more need), weighted
/// mean overall and per dimension, classes by any mapclassify method.
fn compute_weighted(ctx: &Ctx, def: &IndexDefinition) -> Result<Table, String> {
    use quartier_core::classify::{Method, classify};
    let reasons: Vec<Option<String>> = ctx.areas.iter().map(|a| ctx.not_rated(def, &a.key)).collect();
    let rated: Vec<usize> = (0..ctx.areas.len()).filter(|&i| reasons[i].is_none()).collect();
    if rated.len() < 2 {
        return Err(format!("{}: nur {} bewertete Gebiete", ctx.file, rated.len()));
    }
    ctx.require_values(def, &rated)?;
    // Oriented values (higher = more disadvantage) of every domain over the rated areas.
    let values: Vec<Vec<f64>> = def
        .domains
        .iter()
        .map(|d| {
            let sign = direction_sign(ctx, &d.indicator);
            rated.iter().map(|&i| sign * ctx.value(&d.indicator, &ctx.areas[i].key).expect("checked")).collect()
        })
        .collect();
    let quartier_core::index::weighted::WeightedIndex { normalised: norm, index, sub_indices } =
        quartier_core::index::weighted::compute(&values, &def.domains, def.normalisation).map_err(|e| match e {
            quartier_core::index::weighted::WeightedError::ZeroVariance(d) => format!(
                "{}: „{}“ hat {} bei allen bewerteten Gebieten denselben Wert (Varianz 0)",
                ctx.file, def.domains[d].indicator, ctx.year
            ),
        })?;
    let (dims, subs): (Vec<String>, Vec<Vec<f64>>) = sub_indices.into_iter().unzip();
    let classes = match &def.classification {
        None => None,
        Some(c) => {
            let k = c.k.unwrap_or(5);
            let method = match c.method.as_str() {
                "quantiles" => Method::Quantiles { k, type9: false },
                "equal-interval" => Method::EqualInterval { k },
                "std-mean" => Method::StdMean { multiples: vec![-2.0, -1.0, 1.0, 2.0], center: None },
                "fisher-jenks" => Method::FisherJenks { k },
                "jenks-caspall" => Method::JenksCaspall { k },
                "box-plot" => Method::BoxPlot { hinge: 1.5 },
                "headtail" => Method::HeadTail,
                "max-breaks" => Method::MaxBreaks { k },
                "user" => Method::User { breaks: c.breaks.clone() },
                other => return Err(format!("{}: unbekannte Klassifikation „{other}“", ctx.file)),
            };
            if c.method != "user" && !matches!(c.method.as_str(), "std-mean" | "box-plot" | "headtail") && rated.len() < k {
                return Err(format!("{}: {} bewertete Gebiete sind weniger als {k} Klassen", ctx.file, rated.len()));
            }
            Some(classify(&index, &method).map_err(|e| format!("{}: {e}", ctx.file))?)
        }
    };
    let mut extra = Vec::new();
    for d in &def.domains {
        extra.extend([format!("{}_value", d.indicator), format!("{}_norm", d.indicator)]);
    }
    extra.extend(dims.iter().map(|d| format!("sub_{d}")));
    extra.extend(["index", "rank", "class"].iter().map(|s| s.to_string()));
    let ranks = imd::rank_desc(&index);
    let mut t = Table::new(headers(extra));
    let pos: HashMap<usize, usize> = rated.iter().enumerate().map(|(r, &i)| (i, r)).collect();
    for (i, a) in ctx.areas.iter().enumerate() {
        let mut cells = base_cells(&a.key, ctx.year, &reasons[i]);
        let r = pos.get(&i).copied();
        for (d, v) in def.domains.iter().zip(&norm) {
            cells.push((format!("{}_value", d.indicator), ctx.value(&d.indicator, &a.key).into()));
            cells.push((format!("{}_norm", d.indicator), r.map(|r| v[r]).into()));
        }
        for (name, sub) in dims.iter().zip(&subs) {
            cells.push((format!("sub_{name}"), r.map(|r| sub[r]).into()));
        }
        cells.push(("index".into(), r.map(|r| index[r]).into()));
        cells.push(("rank".into(), r.map(|r| ranks[r]).into()));
        cells.push(("class".into(), r.and_then(|r| classes.as_ref().map(|c| c.yb[r])).into()));
        t.push(cells);
    }
    Ok(t)
}

fn compute_gisd(ctx: &Ctx, def: &IndexDefinition) -> Result<Table, String> {
    use quartier_core::index::gisd;
    let reasons: Vec<Option<String>> = ctx.areas.iter().map(|a| ctx.not_rated(def, &a.key)).collect();
    let rated: Vec<usize> = (0..ctx.areas.len()).filter(|&i| reasons[i].is_none()).collect();
    if rated.len() < 5 {
        return Err(format!("{}: nur {} bewertete Gebiete: zu wenige für Quintile", ctx.file, rated.len()));
    }
    ctx.require_values(def, &rated)?;
    let mut comps = Vec::new();
    for d in &def.dimensions {
        let x: Vec<Vec<f64>> =
            d.indicators.iter().map(|ind| rated.iter().map(|&i| ctx.value(ind, &ctx.areas[i].key).expect("checked")).collect()).collect();
        let anchor = d.indicators.iter().position(|i| *i == d.anchor).expect("checked in definition");
        comps.push(
            gisd::first_component(&x, anchor)
                .ok_or_else(|| format!("{}: Dimension „{}“: ein Indikator hat keine Varianz", ctx.file, d.name))?,
        );
    }
    let mut notes = Vec::new();
    for (d, c) in def.dimensions.iter().zip(&comps) {
        let loads: Vec<String> = d.indicators.iter().zip(&c.loadings).map(|(i, l)| format!("{i} {l:.3}")).collect();
        notes.push(format!(
            "Dimension {}: erste Hauptkomponente erklärt {:.1} % der Varianz; Ladungen: {}",
            d.name,
            c.explained * 100.0,
            loads.join(", ")
        ));
    }
    let weights: Vec<f64> = def.dimensions.iter().map(|d| d.weight.unwrap_or(1.0)).collect();
    let score = gisd::score(&comps, &weights);
    let quint = gisd::quintiles(&score);
    let mut extra: Vec<String> = def.dimensions.iter().map(|d| format!("{}_component", d.name)).collect();
    extra.extend(["score", "quintile"].iter().map(|s| s.to_string()));
    let mut t = Table::new(headers(extra));
    t.notes = notes;
    let pos: HashMap<usize, usize> = rated.iter().enumerate().map(|(r, &i)| (i, r)).collect();
    for (i, a) in ctx.areas.iter().enumerate() {
        let mut cells = base_cells(&a.key, ctx.year, &reasons[i]);
        let r = pos.get(&i).copied();
        for (d, c) in def.dimensions.iter().zip(&comps) {
            cells.push((format!("{}_component", d.name), r.map(|r| c.scores[r]).into()));
        }
        cells.push(("score".into(), r.map(|r| score[r]).into()));
        cells.push(("quintile".into(), r.map(|r| quint[r]).into()));
        t.push(cells);
    }
    Ok(t)
}

fn compute_imd(ctx: &Ctx, def: &IndexDefinition) -> Result<Table, String> {
    let reasons: Vec<Option<String>> = ctx.areas.iter().map(|a| ctx.not_rated(def, &a.key)).collect();
    let rated: Vec<usize> = (0..ctx.areas.len()).filter(|&i| reasons[i].is_none()).collect();
    if rated.is_empty() {
        return Err(format!("{}: keine bewerteten Gebiete", ctx.file));
    }
    ctx.require_values(def, &rated)?;
    let domains: Vec<Vec<f64>> = def
        .domains
        .iter()
        .map(|d| {
            rated
                .iter()
                .map(|&i| direction_sign(ctx, &d.indicator) * ctx.value(&d.indicator, &ctx.areas[i].key).expect("checked"))
                .collect()
        })
        .collect();
    let weights: Vec<f64> = def.domains.iter().map(|d| d.weight).collect();
    let res = imd::compute(&domains, &weights);
    let mut extra = Vec::new();
    for d in &def.domains {
        extra.extend([format!("{}_rank", d.indicator), format!("{}_exp", d.indicator)]);
    }
    extra.extend(["imd_score", "imd_rank", "imd_decile"].iter().map(|s| s.to_string()));
    let mut t = Table::new(headers(extra));
    let by_area: HashMap<usize, usize> = rated.iter().enumerate().map(|(r, &i)| (i, r)).collect();
    for (i, a) in ctx.areas.iter().enumerate() {
        let mut cells = base_cells(&a.key, ctx.year, &reasons[i]);
        let r = by_area.get(&i).copied();
        for (di, d) in def.domains.iter().enumerate() {
            cells.push((format!("{}_rank", d.indicator), r.map(|r| res.domain_ranks[di][r]).into()));
            cells.push((format!("{}_exp", d.indicator), r.map(|r| res.exp_score(di, r)).into()));
        }
        cells.push(("imd_score".into(), r.map(|r| res.score[r]).into()));
        cells.push(("imd_rank".into(), r.map(|r| res.rank[r]).into()));
        cells.push(("imd_decile".into(), r.map(|r| res.decile[r]).into()));
        t.push(cells);
    }
    Ok(t)
}

/// Where in an index definition a problem lies, for a form to show it at its field and an
/// API to name it.
#[derive(Debug, Clone, PartialEq)]
pub enum DefinitionField {
    /// The definition as a whole (the parts the method needs).
    Method,
    Level,
    Population,
    /// Every place that names this indicator.
    Indicator(String),
    /// The n-th entry of `exclude`.
    Exclusion(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct DefinitionProblem {
    pub field: DefinitionField,
    pub message: String,
}

/// Checks a definition against the stored data before it is computed: the parts its method
/// needs, the level, the population variable, the indicators in the catalogue and the areas
/// of the exclusions on the rated level. Every problem, each with its place; empty when the
/// definition can be computed (values missing in a year are the computation's to report).
pub fn check_definition(store: &dyn Store, def: &IndexDefinition) -> Result<Vec<DefinitionProblem>, String> {
    use DefinitionField as F;
    let mut problems = Vec::new();
    let mut add = |field, message: String| problems.push(DefinitionProblem { field, message });
    if let Err(e) = def.check() {
        add(F::Method, e);
    }
    let levels = store.levels().map_err(|e| e.to_string())?;
    let level = match &def.level {
        Some(l) if !levels.iter().any(|x| &x.name == l) => {
            add(F::Level, format!("Die Ebene „{l}“ gibt es nicht."));
            None
        }
        Some(l) => Some(l.clone()),
        None => levels.iter().rev().find(|l| l.areas > 0).map(|l| l.name.clone()),
    };
    if let Some(p) = &def.population
        && !store.variables().map_err(|e| e.to_string())?.iter().any(|v| &v.key == p)
    {
        add(F::Population, format!("„{p}“ ist kein gespeichertes Merkmal."));
    }
    let catalogue = store.catalogue().map_err(|e| e.to_string())?;
    for id in def.indicators() {
        if catalogue.get(&id).is_none() {
            add(F::Indicator(id.clone()), format!("Den Indikator „{id}“ gibt es im Katalog nicht."));
        }
    }
    if let Some(level) = level {
        let known: HashSet<String> = store.areas(Some(&level)).map_err(|e| e.to_string())?.into_iter().map(|a| a.key).collect();
        for (n, e) in def.exclude.iter().enumerate() {
            if !known.contains(&e.area) {
                add(F::Exclusion(n), format!("Das Gebiet „{}“ gibt es auf der Ebene „{level}“ nicht.", e.area));
            } else if e.reason.trim().is_empty() {
                add(F::Exclusion(n), format!("Für „{}“ fehlt der Grund des Ausschlusses.", e.area));
            }
        }
    }
    Ok(problems)
}

/// Computes an index for its definition (`file` names it in messages).
pub fn compute_index(store: &dyn Store, def: &IndexDefinition, file: &str, year: Option<i32>) -> Result<Table, String> {
    let ctx = gather(store, def, file, year)?;
    match def.method {
        IndexMethod::Mss => compute_mss(&ctx, def),
        IndexMethod::Svi => compute_svi(&ctx, def),
        IndexMethod::Imd => compute_imd(&ctx, def),
        IndexMethod::Gisd => compute_gisd(&ctx, def),
        IndexMethod::Weighted => compute_weighted(&ctx, def),
    }
}

/// Robustness of an index: MSS-style with `quartier_core::index::robustness`; the others by
/// recomputing the method (see [`recomputed_robustness`]).
pub fn robustness_table(
    store: &dyn Store,
    def: &IndexDefinition,
    file: &str,
    year: Option<i32>,
    runs: usize,
    range: f64,
    seed: u64,
) -> Result<Table, String> {
    if !(0.0..1.0).contains(&range) {
        return Err("--weight-range muss zwischen 0 und 1 liegen (Gewichte bleiben positiv)".into());
    }
    if def.method != IndexMethod::Mss {
        return recomputed_robustness(store, def, file, year, runs, range, seed);
    }
    let ctx = gather(store, def, file, year)?;
    let inputs = mss_inputs(&ctx, def);
    let res = quartier_core::index::robustness::robustness(&inputs, def.min_population, runs, range, seed)
        .map_err(|e| mss_error(&ctx, def, e))?;
    let rows = res
        .rated
        .iter()
        .enumerate()
        .map(|(r, &i)| {
            let left: Vec<&str> = res.changes_when_left_out[r].iter().map(|&k| def.status[k].as_str()).collect();
            let population: Vec<&str> = res.changes_with_population[r].iter().map(|&v| res.variants[v].as_str()).collect();
            (inputs.areas[i].clone(), res.status_class[r].into(), res.same_class_share_weights[r], left.join(" "), population.join("; "))
        })
        .collect();
    Ok(robustness_rows("status_class", ctx.year, rows))
}

/// The robustness table, the same columns for every method (the class column named as in the
/// method's result table): per area (key, class, share of weight runs keeping it, indicators
/// whose removal changes it, population variants that change it).
fn robustness_rows(class_column: &str, year: i32, rows: Vec<(String, serde_json::Value, f64, String, String)>) -> Table {
    let mut t = Table::new(
        [
            "area_id",
            "year",
            class_column,
            "same_class_share_weights",
            "changes_when_left_out",
            "changes_with_population",
            "depends_on_single_choice",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
    );
    for (area, class, share, left, population) in rows {
        let depends = !left.is_empty() || !population.is_empty();
        t.push(vec![
            ("area_id".into(), area.into()),
            ("year".into(), year.into()),
            (class_column.into(), class),
            ("same_class_share_weights".into(), share.into()),
            ("changes_when_left_out".into(), left.into()),
            ("changes_with_population".into(), population.into()),
            ("depends_on_single_choice".into(), depends.into()),
        ]);
    }
    t
}

/// Robustness of an index without a closed-form shortcut (weighted, IMD, SVI, GISD), by
/// recomputing the method on the gathered data:
/// - `runs` seeded Monte-Carlo draws of every weight from [w·(1 − range), w·(1 + range)]:
///   the domains' weights (weighted, IMD), the themes' weights in the overall sum (SVI) or
///   the dimensions' weights in the score (GISD), which the published methods set to 1;
/// - each indicator left out in turn (a GISD dimension keeps at least one; its anchor passes
///   to the next indicator);
/// - the rating population varied: half and double the minimum population, exclusions lifted.
///
/// Per area: the share of weight runs keeping its class, the indicators whose removal
/// changes it, the population variants that change it. Classes: the weighted index's
/// classification, IMD deciles, SVI quartile classes (CDC map classes), GISD quintiles.
fn recomputed_robustness(
    store: &dyn Store,
    def: &IndexDefinition,
    file: &str,
    year: Option<i32>,
    runs: usize,
    range: f64,
    seed: u64,
) -> Result<Table, String> {
    let column = match def.method {
        IndexMethod::Imd => "imd_decile",
        IndexMethod::Svi => "svi_class",
        IndexMethod::Gisd => "quintile",
        IndexMethod::Weighted if def.classification.is_none() => {
            return Err(format!("{file}: die Robustheitsprüfung braucht Klassen: classification = {{ method = \"quantiles\", k = 5 }}"));
        }
        _ => "class",
    };
    let ctx = gather(store, def, file, year)?;
    let compute = |d: &IndexDefinition| -> Result<HashMap<String, i64>, String> {
        let t = match d.method {
            IndexMethod::Imd => compute_imd(&ctx, d)?,
            IndexMethod::Svi => compute_svi(&ctx, d)?,
            IndexMethod::Gisd => compute_gisd(&ctx, d)?,
            _ => compute_weighted(&ctx, d)?,
        };
        Ok(t.json
            .iter()
            .filter_map(|r| {
                Some((r["area_id"].as_str()?.to_string(), r[column].as_i64().or_else(|| r[column].as_f64().map(|x| x as i64))?))
            })
            .collect())
    };
    let base = compute(def)?;
    let mut areas: Vec<&String> = base.keys().collect();
    areas.sort();
    // 1. Weights: all draws first, from the seeded generator.
    let mut rng = quartier_core::index::robustness::Rng::new(seed);
    let mut same: HashMap<&str, usize> = HashMap::new();
    for _ in 0..runs {
        let mut d = def.clone();
        d.weights_sum = None;
        let mut draw = |w: f64| w * (1.0 - range + 2.0 * range * rng.next_f64());
        for dom in &mut d.domains {
            dom.weight = draw(dom.weight);
        }
        for t in &mut d.themes {
            t.weight = Some(draw(t.weight.unwrap_or(1.0)));
        }
        for dim in &mut d.dimensions {
            dim.weight = Some(draw(dim.weight.unwrap_or(1.0)));
        }
        let classes = compute(&d)?;
        for a in &areas {
            if classes.get(*a) == base.get(*a) {
                *same.entry(a.as_str()).or_default() += 1;
            }
        }
    }
    // 2. Each indicator left out (where the method keeps at least one).
    let mut left_out: HashMap<&str, Vec<String>> = HashMap::new();
    for (indicator, d) in leave_one_out_definitions(def) {
        let classes = compute(&d)?;
        for a in &areas {
            if classes.get(*a) != base.get(*a) {
                left_out.entry(a.as_str()).or_default().push(indicator.clone());
            }
        }
    }
    // 3. Rating population.
    let mut variants: Vec<(String, IndexDefinition)> = Vec::new();
    if let Some(m) = def.min_population {
        for f in [0.5, 2.0] {
            let mut d = def.clone();
            d.min_population = Some(m * f);
            variants.push((format!("Mindesteinwohnerzahl {}", m * f), d));
        }
    }
    if !def.exclude.is_empty() {
        let mut d = def.clone();
        d.exclude.clear();
        variants.push(("ohne Ausschlüsse".into(), d));
    }
    let mut pop: HashMap<&str, Vec<String>> = HashMap::new();
    for (label, d) in &variants {
        let Ok(classes) = compute(d) else { continue };
        for a in &areas {
            if classes.get(*a) != base.get(*a) {
                pop.entry(a.as_str()).or_default().push(label.clone());
            }
        }
    }
    let rows = areas
        .into_iter()
        .map(|a| {
            let share = if runs == 0 { 1.0 } else { same.get(a.as_str()).copied().unwrap_or(0) as f64 / runs as f64 };
            let left = left_out.get(a.as_str()).map(|v| v.join(" ")).unwrap_or_default();
            let changes = pop.get(a.as_str()).map(|v| v.join("; ")).unwrap_or_default();
            (a.clone(), base[a].into(), share, left, changes)
        })
        .collect();
    Ok(robustness_rows(column, ctx.year, rows))
}

/// The definition with each indicator left out in turn, labelled by the indicator: domains
/// (with at least two), SVI variables (a theme left empty goes; at least two variables),
/// GISD indicators of dimensions with at least two (the anchor passes to the next one).
fn leave_one_out_definitions(def: &IndexDefinition) -> Vec<(String, IndexDefinition)> {
    let mut out = Vec::new();
    if def.domains.len() > 1 {
        for (j, dom) in def.domains.iter().enumerate() {
            let mut d = def.clone();
            d.weights_sum = None;
            d.domains.remove(j);
            out.push((dom.indicator.clone(), d));
        }
    }
    if def.themes.iter().map(|t| t.indicators.len()).sum::<usize>() > 1 {
        for (ti, theme) in def.themes.iter().enumerate() {
            for (vi, ind) in theme.indicators.iter().enumerate() {
                let mut d = def.clone();
                d.themes[ti].indicators.remove(vi);
                d.themes.retain(|t| !t.indicators.is_empty());
                out.push((ind.clone(), d));
            }
        }
    }
    for (di, dim) in def.dimensions.iter().enumerate() {
        if dim.indicators.len() < 2 {
            continue;
        }
        for (ii, ind) in dim.indicators.iter().enumerate() {
            let mut d = def.clone();
            let target = &mut d.dimensions[di];
            target.indicators.remove(ii);
            if target.anchor == *ind {
                target.anchor = target.indicators[0].clone();
            }
            out.push((ind.clone(), d));
        }
    }
    out
}

/// Area types: the result of clustering areas on standardised indicators.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaTypes {
    /// Areas with all indicator values, in key order.
    pub areas: Vec<String>,
    pub labels: Vec<usize>,
    pub silhouettes: Vec<f64>,
    /// Per type: size, profile in words, mean silhouette, center (z per indicator).
    pub types: Vec<(usize, String, f64, Vec<f64>)>,
    pub inertia: f64,
    /// Areas left out for lack of a value.
    pub without_values: Vec<String>,
}

/// Clusters the areas of `level` in `year` on z-scores (population SD) of `indicators`,
/// oriented so that high = more need: Ward (`ward = true`) or k-means++ with `starts` seeded
/// starts.
#[allow(clippy::too_many_arguments)]
pub fn area_types(
    store: &dyn Store,
    indicators: &[String],
    year: i32,
    level: &str,
    k: usize,
    ward: bool,
    starts: usize,
    seed: u64,
) -> Result<AreaTypes, String> {
    use quartier_core::cluster;
    let res = views::compute_indicators(
        store,
        &IndicatorQuery { indicators: indicators.to_vec(), years: Some(vec![year]), level: Some(level.to_string()), ..Default::default() },
    )?;
    let mut by_area: std::collections::BTreeMap<String, Vec<Option<f64>>> = std::collections::BTreeMap::new();
    for r in &res.rows {
        let pos = indicators.iter().position(|i| *i == r.indicator).expect("selected");
        by_area.entry(r.area_id.clone()).or_insert_with(|| vec![None; indicators.len()])[pos] =
            r.status.has_value().then_some(r.value).flatten();
    }
    let (complete, missing): (Vec<_>, Vec<_>) = by_area.into_iter().partition(|(_, v)| v.iter().all(Option::is_some));
    if complete.len() < k {
        return Err(format!("nur {} Gebiete mit allen Indikatoren für {k} Gebietstypen", complete.len()));
    }
    let mut data: Vec<Vec<f64>> = complete.iter().map(|(_, v)| v.iter().map(|x| x.expect("complete")).collect()).collect();
    for (j, ind) in indicators.iter().enumerate() {
        let sign = direction_sign_cat(&res.catalogue, ind);
        let n = data.len() as f64;
        let mean = data.iter().map(|r| r[j]).sum::<f64>() / n;
        let sd = (data.iter().map(|r| (r[j] - mean).powi(2)).sum::<f64>() / n).sqrt();
        if sd == 0.0 {
            return Err(format!("„{ind}“ hat {year} überall denselben Wert (Varianz 0)"));
        }
        data.iter_mut().for_each(|r| r[j] = sign * (r[j] - mean) / sd);
    }
    if ward && data.len() > 20_000 {
        return Err(format!("Ward braucht Speicher für n² Abstände: bei {} Gebieten bitte k-means verwenden", data.len()));
    }
    let c = if ward { cluster::ward(&data, k) } else { cluster::kmeans(&data, k, starts, seed) }
        .ok_or_else(|| format!("zu wenige Gebiete für {k} Gebietstypen"))?;
    let silhouettes = cluster::silhouette(&data, &c.labels);
    let names: Vec<String> = indicators.iter().map(|i| res.catalogue.get(i).map(|x| x.name.clone()).unwrap_or_else(|| i.clone())).collect();
    let types = c
        .centers
        .iter()
        .enumerate()
        .map(|(t, center)| {
            let members: Vec<usize> = (0..c.labels.len()).filter(|&i| c.labels[i] == t).collect();
            let sil = members.iter().map(|&i| silhouettes[i]).sum::<f64>() / members.len().max(1) as f64;
            (members.len(), cluster::profile(center, &names), sil, center.clone())
        })
        .collect();
    Ok(AreaTypes {
        areas: complete.into_iter().map(|(k, _)| k).collect(),
        labels: c.labels,
        silhouettes,
        types,
        inertia: c.inertia,
        without_values: missing.into_iter().map(|(k, _)| k).collect(),
    })
}
