//! `quartier segregation`: dissimilarity, segregation, isolation, exposure per year.

use crate::open;
use crate::output::{self, Format};
use anyhow::{Result, bail};
use clap::Args;
use quartier_app::store::Store;
use quartier_app::views;
use quartier_core::segregation;
use quartier_core::validate::VariableKind;
use std::collections::HashMap;
use std::path::Path;

#[derive(Args)]
#[command(after_help = "Beispiele:
  quartier segregation --group sgb2_recipients --total population --level Sozialraum
  quartier segregation --group children_u15_sgb2 --total children_u15 --level Sozialraum --format json
  quartier segregation --group non_german --other german --total population --level Stadtteil")]
pub struct SegregationArgs {
    /// Merkmal (Anzahl) der Gruppe, z. B. SGB-II-Beziehende
    #[arg(long)]
    group: String,
    /// Merkmal (Anzahl) der Gesamtbevölkerung, zu der die Gruppe gehört
    #[arg(long)]
    total: String,
    /// Vergleichsgruppe (Anzahl); Standard: alle übrigen (total − group)
    #[arg(long)]
    other: Option<String>,
    /// Ebene der Gebiete
    #[arg(long)]
    level: String,
    /// Nur dieses Jahr (Standard: alle Jahre mit Daten)
    #[arg(long)]
    year: Option<i32>,
    /// Gebiete ohne Werte weglassen (sonst ist das ein Fehler); die Zahl wird ausgegeben
    #[arg(long)]
    skip_missing: bool,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

pub fn run(db: &Path, a: SegregationArgs) -> Result<()> {
    let store = open(db)?;
    let vars = store.variables()?;
    let kind_of = |key: &str| -> Result<(VariableKind, Vec<i32>)> {
        let v = vars.iter().find(|v| v.key == key).ok_or_else(|| anyhow::anyhow!("Merkmal „{key}“ gibt es nicht"))?;
        if v.kind != VariableKind::Count {
            bail!("„{key}“ ist eine Quote; Segregationsmaße brauchen Anzahlen");
        }
        Ok((v.kind, v.years.clone()))
    };
    let (gk, gyears) = kind_of(&a.group)?;
    let (tk, tyears) = kind_of(&a.total)?;
    let other = a.other.as_deref().map(kind_of).transpose()?;
    let mut years: Vec<i32> = gyears.into_iter().filter(|y| tyears.contains(y)).collect();
    if let Some(y) = a.year {
        if !years.contains(&y) {
            bail!("für {y} gibt es nicht beide Merkmale (gemeinsame Jahre: {years:?})");
        }
        years = vec![y];
    }
    if years.is_empty() {
        bail!("„{}“ und „{}“ haben kein gemeinsames Jahr", a.group, a.total);
    }
    #[derive(serde::Serialize)]
    struct Row {
        year: i32,
        areas_skipped: usize,
        #[serde(flatten)]
        m: segregation::Segregation,
    }
    let mut out = Vec::new();
    for year in years {
        let get = |key: &str, kind: VariableKind| -> Result<HashMap<String, Option<f64>>> {
            Ok(views::level_values(&store, key, kind, year, &a.level)?.into_iter().map(|v| (v.area, v.value)).collect())
        };
        let g = get(&a.group, gk)?;
        let t = get(&a.total, tk)?;
        let o = match (&a.other, &other) {
            (Some(k), Some((kind, _))) => Some(get(k, *kind)?),
            _ => None,
        };
        let mut keys: Vec<&String> = t.keys().collect();
        keys.sort();
        let (mut gv, mut tv, mut ov, mut missing) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for k in keys {
            let (gi, ti) = (g.get(k).copied().flatten(), t[k]);
            let oi = o.as_ref().map(|o| o.get(k).copied().flatten());
            match (gi, ti, oi) {
                (Some(x), Some(y), None) => {
                    gv.push(x);
                    tv.push(y);
                }
                (Some(x), Some(y), Some(Some(z))) => {
                    gv.push(x);
                    tv.push(y);
                    ov.push(z);
                }
                _ => missing.push(k.clone()),
            }
        }
        if !missing.is_empty() && !a.skip_missing {
            bail!(
                "{year}: {} Gebiete ohne Werte (z. B. {}); mit --skip-missing weglassen",
                missing.len(),
                missing.iter().take(10).cloned().collect::<Vec<_>>().join(", ")
            );
        }
        if let Some(bad) = gv.iter().zip(&tv).position(|(g, t)| g > t) {
            bail!("{year}: die Gruppe ist in einem Gebiet größer als die Gesamtbevölkerung ({} > {}): passt --total?", gv[bad], tv[bad]);
        }
        let m = segregation::measures(&gv, a.other.as_ref().map(|_| ov.as_slice()), &tv)
            .ok_or_else(|| anyhow::anyhow!("{year}: Gruppe, Vergleichsgruppe oder übrige Bevölkerung ist leer"))?;
        out.push(Row { year, areas_skipped: missing.len(), m });
    }
    let f = |x: f64| format!("{x:.4}");
    let table = out
        .iter()
        .map(|r| {
            vec![
                r.year.to_string(),
                r.m.areas.to_string(),
                r.areas_skipped.to_string(),
                f(r.m.dissimilarity),
                f(r.m.segregation),
                f(r.m.isolation),
                f(r.m.exposure),
            ]
        })
        .collect();
    output::emit(a.format, &["year", "areas", "areas_skipped", "dissimilarity", "segregation", "isolation", "exposure"], table, &out)
}
