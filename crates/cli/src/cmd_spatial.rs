//! `quartier spatial moran|lisa`: spatial autocorrelation of an indicator.

use crate::open;
use crate::output::{self, Format};
use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use quartier_core::spatial::{self, SpatialError, Weights};
use quartier_geom::crs::{Crs, Transformer};
use quartier_geom::wkb::{self, Decoded};
use quartier_geom::{MultiPolygon, weights as gw};
use quartier_store::Store;
use quartier_store::views::{self, IndicatorQuery};
use std::collections::HashMap;
use std::path::Path;

#[derive(Subcommand)]
pub enum SpatialCmd {
    /// Globales Moran's I (analytisch und mit Permutationstest; Namen wie PySAL esda)
    Moran(SpatialArgs),
    /// Lokales Moran's I (LISA): Cluster HH/LH/LL/HL mit Pseudo-p-Werten
    Lisa(SpatialArgs),
}

#[derive(Args)]
pub struct SpatialArgs {
    #[arg(long)]
    indicator: String,
    #[arg(long)]
    year: i32,
    #[arg(long)]
    level: String,
    /// Nachbarschaft: queen, rook, knn:K oder distance:METER
    #[arg(long, default_value = "queen")]
    weights: String,
    /// Gewichte zeilenstandardisiert (r) oder binär (b)
    #[arg(long, default_value = "r", value_parser = ["r", "b"])]
    transform: String,
    /// Toleranz in Metern für gemeinsame Grenzpunkte (kleine Lücken/Überlappungen); 0 = exakt
    #[arg(long, default_value_t = 0.0)]
    tolerance: f64,
    /// Zahl der Permutationen (0 = keine)
    #[arg(long, default_value_t = 999)]
    permutations: usize,
    /// Startwert des Zufallsgenerators
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Signifikanzniveau für LISA-Cluster
    #[arg(long, default_value_t = 0.05)]
    significance: f64,
    /// LISA: Signifikanz nach Benjamini–Hochberg (False Discovery Rate) korrigieren
    #[arg(long)]
    fdr: bool,
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
}

/// Indicator values and weights for the areas of a level that have a value.
fn prepare(store: &quartier_store::SqliteStore, a: &SpatialArgs) -> Result<(Vec<String>, Vec<f64>, Weights)> {
    let res = views::compute_indicators(
        store,
        &IndicatorQuery { indicators: vec![a.indicator.clone()], years: Some(vec![a.year]), level: Some(a.level.clone()) },
    )
    .map_err(anyhow::Error::msg)?;
    let values: HashMap<String, f64> =
        res.rows.iter().filter(|r| r.status.has_value()).filter_map(|r| r.value.map(|v| (r.area_id.clone(), v))).collect();
    let mut geoms: Vec<(String, MultiPolygon)> = Vec::new();
    let mut bad = Vec::new();
    for (k, b) in store.geometries(&a.level)? {
        match wkb::decode(&b) {
            Ok(Decoded::Areal(mp)) if values.contains_key(&k) => geoms.push((k, mp)),
            Ok(Decoded::Areal(_)) => {}
            _ => bad.push(k),
        }
    }
    if !bad.is_empty() {
        bail!("ungültige oder nicht-flächige Geometrien: {}", bad.join(", "));
    }
    let without = values.len().saturating_sub(geoms.len());
    if geoms.len() < 4 {
        bail!("nur {} Gebiete mit Wert und Geometrie auf Ebene „{}“", geoms.len(), a.level);
    }
    let skipped = store.areas(Some(&a.level))?.iter().filter(|x| !values.contains_key(&x.key)).count();
    if skipped + without > 0 {
        eprintln!("Hinweis: {} Gebiete ohne Wert oder Geometrie bleiben unberücksichtigt", skipped + without);
    }
    // Metric coordinates (ETRS89-LAEA) for distances and snapping tolerances.
    let to_metric = Transformer::new(Crs::wgs84(), Crs::from_epsg(3035).expect("registry"));
    let metric = |mp: &MultiPolygon| -> Result<MultiPolygon> {
        let mut m = mp.clone();
        to_metric.multipolygon(&mut m)?;
        Ok(m)
    };
    let shapes: Vec<MultiPolygon> = if a.tolerance > 0.0 || !matches!(a.weights.as_str(), "queen" | "rook") {
        geoms.iter().map(|(_, g)| metric(g)).collect::<Result<_>>()?
    } else {
        geoms.iter().map(|(_, g)| g.clone()).collect()
    };
    let neighbors = match a.weights.split_once(':') {
        None if a.weights == "queen" => gw::contiguity(&shapes, false, a.tolerance),
        None if a.weights == "rook" => gw::contiguity(&shapes, true, a.tolerance),
        Some(("knn", k)) => {
            let k: usize = k.parse().map_err(|_| anyhow::anyhow!("--weights knn:K braucht eine Zahl K"))?;
            if k == 0 || k >= shapes.len() {
                bail!("knn:{k}: K muss zwischen 1 und {} liegen", shapes.len() - 1);
            }
            gw::knn(&gw::centroids(&shapes), k)
        }
        Some(("distance", d)) => {
            let d: f64 = d.parse().map_err(|_| anyhow::anyhow!("--weights distance:METER braucht eine Zahl"))?;
            gw::distance_band(&gw::centroids(&shapes), d)
        }
        _ => bail!("--weights kennt queen, rook, knn:K, distance:METER"),
    };
    let mut w = Weights::binary(neighbors);
    let islands: Vec<&str> = w.islands().iter().map(|&i| geoms[i].0.as_str()).collect();
    if !islands.is_empty() {
        eprintln!("Hinweis: {} Gebiete ohne Nachbarn (Inseln): {}", islands.len(), islands.join(", "));
    }
    if a.transform == "r" {
        w = w.row_standardised();
    }
    let keys: Vec<String> = geoms.iter().map(|(k, _)| k.clone()).collect();
    let y: Vec<f64> = keys.iter().map(|k| values[k]).collect();
    Ok((keys, y, w))
}

fn error(e: SpatialError, a: &SpatialArgs) -> anyhow::Error {
    match e {
        SpatialError::TooFew(n) => anyhow::anyhow!("nur {n} Gebiete: zu wenige"),
        SpatialError::ZeroVariance => {
            anyhow::anyhow!("„{}“ hat {} überall denselben Wert (Varianz 0): keine Autokorrelation berechenbar", a.indicator, a.year)
        }
        SpatialError::NoWeights => anyhow::anyhow!("kein Gebiet hat Nachbarn: andere --weights wählen"),
    }
}

pub fn run(db: &Path, cmd: SpatialCmd) -> Result<()> {
    let store = open(db)?;
    match cmd {
        SpatialCmd::Moran(a) => {
            let (_, y, w) = prepare(&store, &a)?;
            let m = spatial::moran(&y, &w, a.permutations, a.seed).map_err(|e| error(e, &a))?;
            let json = serde_json::to_value(&m)?;
            match a.format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&json)?),
                f => {
                    let obj = json.as_object().expect("object");
                    let rows = obj.iter().map(|(k, v)| vec![k.clone(), v.to_string()]).collect();
                    output::emit(f, &["statistic", "value"], rows, &json)?;
                }
            }
        }
        SpatialCmd::Lisa(a) => {
            let (keys, y, w) = prepare(&store, &a)?;
            let l = spatial::local_moran(&y, &w, a.permutations, a.seed).map_err(|e| error(e, &a))?;
            let threshold = if a.fdr {
                let p: Vec<f64> = l.iter().filter_map(|x| x.p_sim).collect();
                spatial::fdr_threshold(&p, a.significance)
            } else {
                a.significance
            };
            let label = |q: u8| ["HH", "LH", "LL", "HL"][q as usize - 1];
            let mut rows = Vec::new();
            let mut json = Vec::new();
            for (k, x) in keys.iter().zip(&l) {
                let cluster = match x.p_sim {
                    Some(p) if p <= threshold => label(x.q),
                    _ => "ns",
                };
                let num = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
                rows.push(vec![
                    k.clone(),
                    x.Is.to_string(),
                    x.q.to_string(),
                    num(x.p_sim),
                    num(x.z_sim),
                    num(x.p_z_sim),
                    cluster.to_string(),
                ]);
                json.push(serde_json::json!({"area_id": k, "Is": x.Is, "q": x.q, "p_sim": x.p_sim, "z_sim": x.z_sim, "p_z_sim": x.p_z_sim, "cluster": cluster}));
            }
            output::emit(a.format, &["area_id", "Is", "q", "p_sim", "z_sim", "p_z_sim", "cluster"], rows, &json)?;
        }
    }
    Ok(())
}
