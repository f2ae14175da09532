//! `quartier spatial moran|lisa`: spatial autocorrelation of an indicator.

use crate::open;
use crate::output::{self, Format};
use anyhow::Result;
use clap::{Args, Subcommand};
use quartier_app::spatial::{SpatialSpec, spatial_input};
use quartier_core::spatial::{self, SpatialError};
use std::path::Path;

#[derive(Subcommand)]
pub enum SpatialCmd {
    /// Globales Moran's I (analytisch und mit Permutationstest; Namen wie PySAL esda)
    Moran(SpatialArgs),
    /// Lokales Moran's I (LISA): Cluster HH/LH/LL/HL mit Pseudo-p-Werten
    Lisa(SpatialArgs),
    /// Getis–Ord Gᵢ (mit --star Gᵢ*): Hot Spots hoher und niedriger Werte
    GetisOrd(GetisArgs),
    /// Nachbarschaften einer Ebene als GAL (binär) oder GWT (mit Gewichten) exportieren
    Weights {
        #[arg(long)]
        level: String,
        /// queen, rook, knn:K oder distance:METER
        #[arg(long, default_value = "queen")]
        weights: String,
        /// Toleranz in Metern für gemeinsame Grenzpunkte
        #[arg(long, default_value_t = 0.0)]
        tolerance: f64,
        /// Zieldatei: .gal oder .gwt (GWT zeilenstandardisiert mit --transform r)
        #[arg(long)]
        out: std::path::PathBuf,
        #[arg(long, default_value = "b", value_parser = ["r", "b"])]
        transform: String,
    },
}

#[derive(Args)]
pub struct GetisArgs {
    #[command(flatten)]
    common: SpatialArgs,
    /// Gᵢ* statt Gᵢ: das Gebiet zählt zu seiner eigenen Nachbarschaft
    #[arg(long)]
    star: bool,
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
    /// Gewichte aus einer GAL- oder GWT-Datei statt --weights
    #[arg(long)]
    weights_file: Option<std::path::PathBuf>,
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

impl SpatialArgs {
    /// The same arguments with binary weights (Getis–Ord transforms them itself).
    fn binary(&self) -> SpatialArgs {
        SpatialArgs {
            indicator: self.indicator.clone(),
            year: self.year,
            level: self.level.clone(),
            weights: self.weights.clone(),
            transform: "b".into(),
            tolerance: self.tolerance,
            weights_file: self.weights_file.clone(),
            permutations: self.permutations,
            seed: self.seed,
            significance: self.significance,
            fdr: self.fdr,
            format: self.format,
        }
    }
}

fn prepare(store: &dyn quartier_app::store::Store, a: &SpatialArgs) -> Result<(Vec<String>, Vec<f64>, spatial::Weights)> {
    let file = a.weights_file.as_ref().map(|p| p.display().to_string());
    let text = match &a.weights_file {
        Some(p) => Some(std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?),
        None => None,
    };
    let spec = SpatialSpec {
        indicator: &a.indicator,
        year: a.year,
        level: &a.level,
        weights: &a.weights,
        row_standardise: a.transform == "r",
        tolerance: a.tolerance,
        weights_file: file.as_deref().zip(text.as_deref()),
    };
    let input = spatial_input(store, &spec).map_err(anyhow::Error::msg)?;
    for n in &input.notes {
        eprintln!("Hinweis: {n}");
    }
    Ok((input.keys, input.y, input.weights))
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
            let t = std::time::Instant::now();
            let (_, y, w) = prepare(&store, &a)?;
            output::timing("prepare", t);
            let t = std::time::Instant::now();
            let m = spatial::moran(&y, &w, a.permutations, a.seed).map_err(|e| error(e, &a))?;
            output::timing("compute", t);
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
        SpatialCmd::Weights { level, weights, tolerance, out, transform } => {
            use quartier_app::spatial::{level_geometries, neighbours_of, to_gal, to_gwt};
            let geoms = level_geometries(&store, &level).map_err(anyhow::Error::msg)?;
            let keys: Vec<String> = geoms.iter().map(|(k, _)| k.clone()).collect();
            let nb = neighbours_of(&geoms, &weights, tolerance).map_err(anyhow::Error::msg)?;
            let ext = out.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
            let text = match ext.as_str() {
                "gal" => to_gal(&keys, &nb),
                "gwt" => {
                    let mut w = spatial::Weights::binary(nb.clone());
                    if transform == "r" {
                        w = w.row_standardised();
                    }
                    to_gwt(&keys, &w)
                }
                _ => anyhow::bail!("--out braucht die Endung .gal oder .gwt"),
            };
            std::fs::write(&out, text).map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
            let islands = nb.iter().filter(|n| n.is_empty()).count();
            println!(
                "{}: {} Gebiete, {} Nachbarschaftspaare, {islands} ohne Nachbarn",
                out.display(),
                keys.len(),
                nb.iter().map(Vec::len).sum::<usize>()
            );
        }
        SpatialCmd::GetisOrd(g) => {
            let a = &g.common;
            let (keys, y, w) = prepare(&store, &a.binary())?;
            let res = spatial::getis_ord(&y, &w, g.star, a.transform == "r", a.permutations, a.seed).map_err(|e| error(e, a))?;
            let num = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
            let rows = keys
                .iter()
                .zip(&res)
                .map(|(k, r)| {
                    vec![
                        k.clone(),
                        r.Gs.to_string(),
                        r.EGs.to_string(),
                        r.VGs.to_string(),
                        r.Zs.to_string(),
                        r.p_norm.to_string(),
                        num(r.p_sim),
                    ]
                })
                .collect();
            let json: Vec<serde_json::Value> = keys
                .iter()
                .zip(&res)
                .map(|(k, r)| serde_json::json!({"area_id": k, "Gs": r.Gs, "EGs": r.EGs, "VGs": r.VGs, "Zs": r.Zs, "p_norm": r.p_norm, "p_sim": r.p_sim}))
                .collect();
            output::emit(a.format, &["area_id", "Gs", "EGs", "VGs", "Zs", "p_norm", "p_sim"], rows, &json)?;
        }
        SpatialCmd::Lisa(a) => {
            let t = std::time::Instant::now();
            let (keys, y, w) = prepare(&store, &a)?;
            output::timing("prepare", t);
            let t = std::time::Instant::now();
            let l = spatial::local_moran(&y, &w, a.permutations, a.seed).map_err(|e| error(e, &a))?;
            output::timing("compute", t);
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
