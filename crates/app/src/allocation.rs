//! Needs-based allocation on stored data: the need per area (an indicator, an index class
//! with factors, or an index column), optionally times a target group's size, eligibility,
//! bounds; [`quartier_core::allocation::allocate`] does the arithmetic. Beside it always the
//! per-capita ("Gießkanne") distribution of the same budget.

use crate::views::{IndicatorQuery, compute_indicators, level_values};
use quartier_core::allocation::{Rules, allocate};
use quartier_store::{Store, StoreError};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// What decides the need of an area.
#[derive(Debug, Clone, PartialEq)]
pub enum Need {
    /// An indicator's value (higher = more need).
    Indicator(String),
    /// A saved index's class, with a factor per class (class → factor).
    IndexClass(String, BTreeMap<i64, f64>),
    /// A numeric column of a saved index's result (≥ 0).
    IndexColumn(String, String),
}

impl Need {
    /// `indicator:ID`, `index:ID` (class, needs factors) or `index:ID:COLUMN`.
    pub fn parse(s: &str, factors: Option<&str>) -> Result<Need, String> {
        let parts: Vec<&str> = s.split(':').collect();
        match parts.as_slice() {
            ["indicator", id] => Ok(Need::Indicator(id.to_string())),
            ["index", id] => {
                let f = factors.ok_or("--need index:ID braucht --factors, z. B. 1=0,2=0,3=1,4=2 (Faktor je Klasse)")?;
                let mut map = BTreeMap::new();
                for pair in f.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    let (c, v) = pair.split_once('=').ok_or_else(|| format!("--factors „{pair}“: Klasse=Faktor erwartet"))?;
                    let c: i64 = c.trim().parse().map_err(|_| format!("--factors: Klasse „{c}“ ist keine Zahl"))?;
                    let v: f64 = v.trim().replace(',', ".").parse().map_err(|_| format!("--factors: Faktor „{v}“ ist keine Zahl"))?;
                    if !(v.is_finite() && v >= 0.0) {
                        return Err(format!("--factors: Faktor {v} muss ≥ 0 sein"));
                    }
                    map.insert(c, v);
                }
                Ok(Need::IndexClass(id.to_string(), map))
            }
            ["index", id, column] => Ok(Need::IndexColumn(id.to_string(), column.to_string())),
            _ => Err(format!("--need „{s}“: indicator:ID, index:ID (mit --factors) oder index:ID:SPALTE")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Spec {
    pub level: String,
    pub year: Option<i32>,
    pub need: Need,
    /// Target-group variable: weight = need × its size.
    pub group: Option<String>,
    /// Population variable for the per-capita comparison (default: the group).
    pub population: Option<String>,
    /// Areas with a need below this get nothing.
    pub threshold: Option<f64>,
    pub rules: Rules,
    /// Only these areas of the level share the budget (a municipality distributing its own
    /// funds among its areas); None: every area.
    pub only: Option<std::collections::HashSet<String>>,
}

/// One area of the plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub area_id: String,
    pub name: String,
    pub need: Option<f64>,
    pub group: Option<f64>,
    pub population: Option<f64>,
    pub eligible: bool,
    /// Why not eligible.
    pub reason: Option<String>,
    pub weight: f64,
    pub allocation: u64,
    pub per_capita: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub year: i32,
    pub level: String,
    pub need_label: String,
    pub rows: Vec<Row>,
    /// The formula in words.
    pub explanation: String,
}

/// Whole euros with German thousands separators (1.234.567).
fn german(v: u64) -> String {
    quartier_core::cell::format_de(v as f64, 0)
}

/// Computes the plan.
pub fn plan(store: &dyn Store, spec: &Spec) -> Result<Plan, String> {
    let mut areas = store.areas(Some(&spec.level)).map_err(|e| match e {
        StoreError::UnknownLevel(..) => e.to_string(),
        other => other.to_string(),
    })?;
    if let Some(only) = &spec.only {
        areas.retain(|a| only.contains(&a.key));
    }
    if areas.is_empty() {
        return Err(format!("Ebene „{}“ hat keine Gebiete", spec.level));
    }
    // The need per area, and its year.
    let (need, year, need_label): (HashMap<String, f64>, i32, String) = match &spec.need {
        Need::Indicator(id) => {
            let cat = store.catalogue().map_err(|e| e.to_string())?;
            let ind = cat.get(id).ok_or_else(|| format!("Indikator „{id}“ gibt es nicht"))?;
            if ind.direction == quartier_core::indicator::Direction::HigherIsBetter {
                return Err(format!(
                    "„{}“: höher ist besser – als Bedarf taugt ein Indikator, bei dem höher mehr Bedarf bedeutet",
                    ind.name
                ));
            }
            let res = compute_indicators(
                store,
                &IndicatorQuery {
                    indicators: vec![id.clone()],
                    years: spec.year.map(|y| vec![y]),
                    level: Some(spec.level.clone()),
                    public: None,
                },
            )?;
            let year = match spec.year {
                Some(y) => y,
                None => res
                    .rows
                    .iter()
                    .filter(|r| r.status.has_value())
                    .map(|r| r.year)
                    .max()
                    .ok_or_else(|| format!("„{}“ hat keine Werte auf Ebene „{}“", ind.name, spec.level))?,
            };
            let need = res
                .rows
                .iter()
                .filter(|r| r.year == year && r.status.has_value())
                .filter_map(|r| Some((r.area_id.clone(), r.value?)))
                .collect();
            (need, year, format!("{}{}", ind.name, if ind.unit.is_empty() { String::new() } else { format!(" ({})", ind.unit) }))
        }
        Need::IndexClass(id, _) | Need::IndexColumn(id, _) => {
            let saved = store.index_definitions().map_err(|e| e.to_string())?;
            let (_, text) = saved.iter().find(|(i, _)| i == id).ok_or_else(|| format!("Index „{id}“ ist nicht gespeichert"))?;
            let def = quartier_core::index::IndexDefinition::from_toml(text)?;
            let table = crate::indexing::compute_index(store, &def, id, spec.year)?;
            let column = match &spec.need {
                Need::IndexColumn(_, c) => c.clone(),
                _ => match def.method {
                    quartier_core::index::IndexMethod::Mss => "status_class".into(),
                    quartier_core::index::IndexMethod::Imd => "imd_decile".into(),
                    quartier_core::index::IndexMethod::Svi => "svi_class".into(),
                    quartier_core::index::IndexMethod::Gisd => "quintile".into(),
                    quartier_core::index::IndexMethod::Weighted => "class".into(),
                },
            };
            if !table.headers.contains(&column) {
                return Err(format!("Index „{id}“ hat keine Spalte „{column}“ (vorhanden: {})", table.headers.join(", ")));
            }
            let year = table.json.first().and_then(|r| r["year"].as_i64()).unwrap_or(0) as i32;
            let mut need = HashMap::new();
            for r in &table.json {
                let (Some(k), Some(v)) = (r["area_id"].as_str(), r[&column].as_f64()) else { continue };
                let v = match &spec.need {
                    Need::IndexClass(_, f) => *f.get(&(v as i64)).unwrap_or(&0.0),
                    _ => v,
                };
                need.insert(k.to_string(), v);
            }
            if let Need::IndexColumn(..) = spec.need
                && need.values().any(|v| *v < 0.0)
            {
                return Err(format!("Spalte „{column}“ hat negative Werte: als Bedarf eine Spalte ≥ 0 oder Klassen mit --factors wählen"));
            }
            let label = match &spec.need {
                Need::IndexClass(_, f) => format!(
                    "{} (Faktor je Klasse: {})",
                    if def.name.is_empty() { id.clone() } else { def.name.clone() },
                    f.iter().map(|(c, v)| format!("{c} → {v}")).collect::<Vec<_>>().join(", ")
                ),
                _ => format!("{} – {column}", if def.name.is_empty() { id.clone() } else { def.name.clone() }),
            };
            (need, year, label)
        }
    };
    // Variables once (their years come from a scan of all values), not per variable asked for.
    let vars = store.variables().map_err(|e| e.to_string())?;
    let variable = |name: &str| -> Result<HashMap<String, f64>, String> {
        let v = vars.iter().find(|v| v.key == name).ok_or_else(|| format!("Merkmal „{name}“ gibt es nicht (siehe quartier data list)"))?;
        let years = &v.years;
        let y = if years.contains(&year) {
            year
        } else {
            *years.iter().filter(|y| **y <= year).max().or(years.last()).ok_or_else(|| format!("„{name}“ hat keine Werte"))?
        };
        Ok(level_values(store, name, v.kind, y, &spec.level)
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter_map(|a| Some((a.area, a.value?)))
            .collect())
    };
    let group = spec.group.as_deref().map(variable).transpose()?;
    let population_var = spec.population.clone().or_else(|| spec.group.clone());
    // Without its own population variable the watering can uses the group: the same values.
    let population = match (&spec.population, &group) {
        (None, Some(g)) => Some(g.clone()),
        _ => population_var.as_deref().map(variable).transpose()?,
    };
    let mut rows: Vec<Row> = areas
        .iter()
        .map(|a| {
            let n = need.get(&a.key).copied();
            let g = group.as_ref().map(|m| m.get(&a.key).copied());
            let p = population.as_ref().and_then(|m| m.get(&a.key).copied());
            let reason = match (n, g) {
                (None, _) => Some("kein Bedarfswert".to_string()),
                (_, Some(None)) => Some("Zielgruppe ohne Wert".to_string()),
                (Some(n), _) if spec.threshold.is_some_and(|t| n < t) => {
                    Some(format!("unter der Schwelle {}", spec.threshold.unwrap_or(0.0)))
                }
                (Some(n), _) if n <= 0.0 => Some("kein Bedarf (0)".to_string()),
                _ => None,
            };
            let weight = if reason.is_none() { n.unwrap_or(0.0) * g.flatten().unwrap_or(1.0) } else { 0.0 };
            Row {
                area_id: a.key.clone(),
                name: a.name.clone(),
                need: n,
                group: g.flatten(),
                population: p,
                eligible: reason.is_none() && weight > 0.0,
                reason: if reason.is_none() && weight <= 0.0 { Some("Zielgruppe 0".into()) } else { reason },
                weight,
                allocation: 0,
                per_capita: 0,
            }
        })
        .collect();
    let weights: Vec<f64> = rows.iter().map(|r| if r.eligible { r.weight } else { 0.0 }).collect();
    let amounts = allocate(&weights, &spec.rules).map_err(|e| e.to_string())?;
    for (r, a) in rows.iter_mut().zip(&amounts) {
        r.allocation = *a;
    }
    // The watering can: the same budget by population alone, to every area with people.
    if let Some(pop) = &population {
        let w: Vec<f64> = rows.iter().map(|r| pop.get(&r.area_id).copied().unwrap_or(0.0).max(0.0)).collect();
        if let Ok(pc) = allocate(&w, &Rules { budget: spec.rules.budget, min: 0, max: None }) {
            for (r, a) in rows.iter_mut().zip(pc) {
                r.per_capita = a;
            }
        }
    }
    let eligible = rows.iter().filter(|r| r.eligible).count();
    let mut e = format!(
        "Verteilt werden {} € auf {eligible} von {} Gebieten ({}). Anteil eines Gebiets = {}",
        german(spec.rules.budget),
        rows.len(),
        spec.level,
        need_label
    );
    if let Some(g) = &spec.group {
        e.push_str(&format!(" × Größe der Zielgruppe „{g}“"));
    }
    e.push_str(", geteilt durch die Summe dieser Werte über alle berechtigten Gebiete.");
    if let Some(t) = spec.threshold {
        e.push_str(&format!(" Berechtigt sind Gebiete mit einem Bedarfswert von mindestens {t}."));
    }
    if spec.rules.min > 0 || spec.rules.max.is_some() {
        e.push_str(" Je berechtigtem Gebiet");
        if spec.rules.min > 0 {
            e.push_str(&format!(" mindestens {} €", german(spec.rules.min)));
        }
        if let Some(m) = spec.rules.max {
            e.push_str(&format!("{} höchstens {} €", if spec.rules.min > 0 { "," } else { "" }, german(m)));
        }
        e.push_str("; was durch diese Grenzen frei wird oder fehlt, teilen die übrigen Gebiete im selben Verhältnis.");
    }
    e.push_str(" Gerundet auf ganze Euro nach dem Verfahren der größten Reste (Hare–Niemeyer); die Summe ist genau das Budget.");
    if let Some(p) = &population_var {
        e.push_str(&format!(" Zum Vergleich die Gießkanne: dasselbe Budget nach „{p}“ auf alle Gebiete."));
    }
    Ok(Plan { year, level: spec.level.clone(), need_label, rows, explanation: e })
}
