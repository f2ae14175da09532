//! `quartier index compute`.

use crate::open;
use crate::output::{self, Format};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use quartier_core::index::mss::{self, MssError, MssInput};
use quartier_core::index::{IndexDefinition, IndexMethod};
use quartier_store::Store;
use quartier_store::views::{self, IndicatorQuery};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum IndexCmd {
    /// Index je Gebiet berechnen (Status, Dynamik, Klassen)
    #[command(after_help = "Mindestform (MSS):
  id = \"mss\"
  name = \"Index Soziale Ungleichheit\"
  method = \"mss\"
  population = \"inhabitants\"
  min_population = 300
  exclude = [{ area = \"01011102\", reason = \"Parkanlage, kaum Wohnbevölkerung\" }]
  status = [\"s1\", \"s3\", \"s4\"]
  dynamics = [\"d1\", \"d3\", \"d4\"]

Fertige Definitionen: data/berlin-mss/index-mss-2019.toml, index-mss-2013-2017.toml.")]
    Compute(ComputeArgs),
}

#[derive(Args)]
pub struct ComputeArgs {
    /// Indexdefinition (TOML)
    #[arg(long)]
    definition: PathBuf,
    /// Jahr (Standard: das letzte Jahr, in dem alle Indikatoren Werte haben)
    #[arg(long)]
    year: Option<i32>,
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    format: Format,
}

pub fn run(db: &Path, cmd: IndexCmd) -> Result<()> {
    match cmd {
        IndexCmd::Compute(a) => compute(db, &a),
    }
}

fn compute(db: &Path, a: &ComputeArgs) -> Result<()> {
    let file = a.definition.display().to_string();
    let text = std::fs::read_to_string(&a.definition).with_context(|| format!("{file} kann nicht gelesen werden"))?;
    let def = IndexDefinition::from_toml(&text).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    if def.method != IndexMethod::Mss {
        bail!("{file}: Methode {:?} ist in diesem Stand noch nicht berechenbar (verfügbar: mss)", def.method);
    }
    let store = open(db)?;
    let levels = store.levels()?;
    let level = match &def.level {
        Some(l) => l.clone(),
        None => {
            levels.iter().rev().find(|l| l.areas > 0).map(|l| l.name.clone()).ok_or_else(|| anyhow::anyhow!("keine Gebiete gespeichert"))?
        }
    };
    let areas = store.areas(Some(&level)).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    let known: HashSet<&str> = areas.iter().map(|x| x.key.as_str()).collect();
    let unknown: Vec<&str> = def.exclude.iter().map(|e| e.area.as_str()).filter(|k| !known.contains(k)).collect();
    if !unknown.is_empty() {
        bail!("{file}: exclude nennt Gebiete, die es auf Ebene „{level}“ nicht gibt: {}", unknown.join(", "));
    }
    let res = views::compute_indicators(
        &store,
        &IndicatorQuery { indicators: def.indicators(), years: a.year.map(|y| vec![y]), level: Some(level.clone()) },
    )
    .map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    // Value of (indicator, area) in a year.
    let value = |year: i32| -> HashMap<(&str, &str), Option<f64>> {
        res.rows
            .iter()
            .filter(|r| r.year == year)
            .map(|r| ((r.indicator.as_str(), r.area_id.as_str()), r.status.has_value().then_some(r.value).flatten()))
            .collect()
    };
    let year = match a.year {
        Some(y) => y,
        None => *res
            .years
            .iter()
            .rev()
            .find(|&&y| {
                let v = value(y);
                def.indicators().iter().all(|i| v.iter().any(|((ind, _), x)| *ind == i.as_str() && x.is_some()))
            })
            .ok_or_else(|| anyhow::anyhow!("{file}: kein Jahr, in dem alle Indikatoren ({}) Werte haben", def.indicators().join(", ")))?,
    };
    let values = value(year);
    let population: HashMap<String, Option<f64>> = match &def.population {
        Some(var) => {
            let vars = store.variables()?;
            let v = vars
                .iter()
                .find(|x| &x.key == var)
                .ok_or_else(|| anyhow::anyhow!("{file}: population = „{var}“ ist kein gespeichertes Merkmal"))?;
            views::level_values(&store, var, v.kind, year, &level)?.into_iter().map(|x| (x.area, x.value)).collect()
        }
        None => HashMap::new(),
    };
    let inputs: Vec<MssInput> = areas
        .iter()
        .map(|ar| MssInput {
            area: ar.key.clone(),
            population: population.get(&ar.key).copied().flatten(),
            excluded: def.exclude.iter().find(|e| e.area == ar.key && e.applies(year)).map(|e| e.reason.clone()),
            status: def.status.iter().map(|i| values.get(&(i.as_str(), ar.key.as_str())).copied().flatten()).collect(),
            dynamics: def.dynamics.iter().map(|i| values.get(&(i.as_str(), ar.key.as_str())).copied().flatten()).collect(),
        })
        .collect();
    let results = mss::compute(&inputs, def.min_population).map_err(|e| match e {
        MssError::MissingValues(m) => {
            let list: Vec<String> = m
                .iter()
                .take(20)
                .map(|(area, k, status)| format!("{area}: {}", if *status { &def.status[*k] } else { &def.dynamics[*k] }))
                .collect();
            anyhow::anyhow!(
                "{file}: {} Werte fehlen bei bewerteten Gebieten {year} (keine stillen Nullen: Gebiete ausschließen oder Daten ergänzen): {}{}",
                m.len(),
                list.join(", "),
                if m.len() > 20 { " …" } else { "" }
            )
        }
        MssError::ZeroVariance { status, position } => {
            let list = if status { &def.status } else { &def.dynamics };
            anyhow::anyhow!("{file}: „{}“ hat {year} bei allen bewerteten Gebieten denselben Wert (Varianz 0): keine Standardisierung möglich", list.get(position).map(String::as_str).unwrap_or("Summe"))
        }
        MssError::TooFewRated(n) => anyhow::anyhow!("{file}: nur {n} bewertete Gebiete {year}: zu wenige für einen Index"),
    })?;
    let mut headers: Vec<String> = ["area_id", "year", "rated", "reason_not_rated"].iter().map(|s| s.to_string()).collect();
    for i in def.status.iter().chain(&def.dynamics) {
        headers.push(format!("{i}_value"));
        headers.push(format!("{i}_z"));
    }
    headers.extend(
        ["status_sum", "status_index", "status_class", "dynamics_index", "dynamics_class", "combined_class"].iter().map(|s| s.to_string()),
    );
    let num = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    let mut table = Vec::new();
    let mut json_rows = Vec::new();
    for (inp, r) in inputs.iter().zip(&results) {
        let mut row = vec![r.area.clone(), year.to_string(), r.rated.to_string(), r.reason_not_rated.clone().unwrap_or_default()];
        let mut obj = serde_json::Map::new();
        obj.insert("area_id".into(), r.area.clone().into());
        obj.insert("year".into(), year.into());
        obj.insert("rated".into(), r.rated.into());
        obj.insert("reason_not_rated".into(), r.reason_not_rated.clone().into());
        let parts = inp.status.iter().zip(&r.status_z).zip(&def.status).chain(inp.dynamics.iter().zip(&r.dynamics_z).zip(&def.dynamics));
        for ((v, z), id) in parts {
            row.push(num(*v));
            row.push(num(*z));
            obj.insert(format!("{id}_value"), (*v).into());
            obj.insert(format!("{id}_z"), (*z).into());
        }
        row.extend([
            num(r.status_sum),
            num(r.status_index),
            r.status_class.map(|c| c.to_string()).unwrap_or_default(),
            num(r.dynamics_index),
            r.dynamics_class.unwrap_or("").to_string(),
            r.combined_class.clone().unwrap_or_default(),
        ]);
        obj.insert("status_sum".into(), r.status_sum.into());
        obj.insert("status_index".into(), r.status_index.into());
        obj.insert("status_class".into(), r.status_class.into());
        obj.insert("status_label".into(), r.status_class.map(|c| mss::STATUS_LABELS[c as usize - 1]).into());
        obj.insert("dynamics_index".into(), r.dynamics_index.into());
        obj.insert("dynamics_class".into(), r.dynamics_class.into());
        obj.insert("dynamics_label".into(), r.dynamics_class.map(mss::dynamics_label).into());
        obj.insert("combined_class".into(), r.combined_class.clone().into());
        table.push(row);
        json_rows.push(serde_json::Value::Object(obj));
    }
    let h: Vec<&str> = headers.iter().map(String::as_str).collect();
    output::emit(a.format, &h, table, &json_rows)
}
