//! `quartier index compute`.

use crate::open;
use crate::output::{self, Format};
use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use quartier_app::indexing;
use quartier_core::index::IndexDefinition;
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

Weitere Methoden: method = \"svi\" mit themes = [{ name, indicators }], method = \"imd\" mit
domains = [{ indicator, weight }] (optional weights_sum = 100).
Fertige Definitionen: data/berlin-mss/index-mss-2019.toml, index-mss-2013-2017.toml,
index-svi-style.toml, index-imd-style.toml.")]
    Compute(ComputeArgs),
    /// Wie stabil ist die Klasse jedes Gebiets? Gewichte (Monte-Carlo), Weglassen je
    /// Indikator, andere Bewertungsgrundgesamtheit (method = "mss", "weighted" mit Klassen, "imd")
    Robustness(RobustnessArgs),
    /// Gebietstypen: Clusteranalyse auf standardisierten Indikatoren (k-means oder Ward)
    Cluster(ClusterArgs),
    /// Indexdefinition in der Datenbank speichern (dann auch als Karte in der Web-Oberfläche)
    Save {
        /// Indexdefinition (TOML)
        #[arg(long)]
        definition: PathBuf,
    },
    /// Gespeicherte Indexdefinitionen
    List {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Clone, Copy, Debug, clap::ValueEnum, PartialEq)]
pub enum ClusterMethod {
    Kmeans,
    Ward,
}

#[derive(Args)]
pub struct ClusterArgs {
    /// Indikatoren, kommagetrennt (z. B. s1,s3,s4,k01)
    #[arg(long, value_delimiter = ',', required = true)]
    indicators: Vec<String>,
    #[arg(long)]
    year: i32,
    #[arg(long)]
    level: String,
    /// Zahl der Gebietstypen
    #[arg(long, default_value_t = 4)]
    k: usize,
    #[arg(long, value_enum, default_value_t = ClusterMethod::Kmeans)]
    method: ClusterMethod,
    /// Zahl der k-means-Starts (das beste Ergebnis zählt)
    #[arg(long, default_value_t = 10)]
    starts: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Args)]
pub struct RobustnessArgs {
    /// Indexdefinition (TOML, method = "mss")
    #[arg(long)]
    definition: PathBuf,
    #[arg(long)]
    year: Option<i32>,
    /// Zahl der Monte-Carlo-Läufe mit zufälligen Gewichten
    #[arg(long, default_value_t = 1000)]
    runs: usize,
    /// Gewichte gleichverteilt in [1 − r, 1 + r]
    #[arg(long, default_value_t = 0.5)]
    weight_range: f64,
    /// Startwert des Zufallsgenerators (gleicher Wert = gleiches Ergebnis)
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    format: Format,
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
        IndexCmd::Robustness(a) => robustness(db, &a),
        IndexCmd::Cluster(a) => cluster(db, &a),
        IndexCmd::Save { definition } => {
            let (file, def) = read_definition(&definition)?;
            let text = std::fs::read_to_string(&definition)?;
            let mut store = open(db)?;
            // Check that it computes on the stored data before saving it.
            indexing::compute_index(&store, &def, &file, None).map_err(anyhow::Error::msg)?;
            quartier_app::store::Store::save_index_definition(&mut store, &def.id, &text)?;
            println!("Index „{}“ gespeichert ({}).", def.id, if def.name.is_empty() { &def.id } else { &def.name });
            Ok(())
        }
        IndexCmd::List { format } => {
            let store = open(db)?;
            let defs = quartier_app::store::Store::index_definitions(&store)?;
            let mut rows = Vec::new();
            let mut out = Vec::new();
            for (id, text) in defs {
                let d = IndexDefinition::from_toml(&text).map_err(|e| anyhow::anyhow!("gespeicherter Index {id}: {e}"))?;
                rows.push(vec![id.clone(), d.name.clone(), format!("{:?}", d.method).to_lowercase(), d.indicators().join(" ")]);
                out.push(serde_json::json!({"id": id, "name": d.name, "method": format!("{:?}", d.method).to_lowercase(), "indicators": d.indicators()}));
            }
            output::emit(format, &["id", "name", "method", "indicators"], rows, &out)
        }
    }
}

fn read_definition(path: &Path) -> Result<(String, IndexDefinition)> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("{file} kann nicht gelesen werden"))?;
    let def = IndexDefinition::from_toml(&text).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    Ok((file, def))
}

fn emit(format: Format, table: indexing::Table) -> Result<()> {
    for n in &table.notes {
        eprintln!("{n}");
    }
    let h: Vec<&str> = table.headers.iter().map(String::as_str).collect();
    output::emit(format, &h, table.rows, &table.json)
}

fn compute(db: &Path, a: &ComputeArgs) -> Result<()> {
    let (file, def) = read_definition(&a.definition)?;
    let table = indexing::compute_index(&open(db)?, &def, &file, a.year).map_err(anyhow::Error::msg)?;
    emit(a.format, table)
}
fn robustness(db: &Path, a: &RobustnessArgs) -> Result<()> {
    let (file, def) = read_definition(&a.definition)?;
    let table = indexing::robustness_table(&open(db)?, &def, &file, a.year, a.runs, a.weight_range, a.seed).map_err(anyhow::Error::msg)?;
    emit(a.format, table)
}
fn cluster(db: &Path, a: &ClusterArgs) -> Result<()> {
    let store = open(db)?;
    let t = indexing::area_types(&store, &a.indicators, a.year, &a.level, a.k, a.method == ClusterMethod::Ward, a.starts, a.seed)
        .map_err(anyhow::Error::msg)?;
    let mean_sil = t.silhouettes.iter().sum::<f64>() / t.silhouettes.len() as f64;
    let clusters: Vec<serde_json::Value> = t
        .types
        .iter()
        .enumerate()
        .map(|(k, (size, profile, sil, center))| {
            serde_json::json!({
                "cluster": k,
                "size": size,
                "profile": profile,
                "silhouette_mean": sil,
                "center_z": a.indicators.iter().zip(center).map(|(i, z)| (i.clone(), serde_json::json!(z))).collect::<serde_json::Map<_, _>>(),
            })
        })
        .collect();
    let areas: Vec<serde_json::Value> = t
        .areas
        .iter()
        .zip(&t.labels)
        .zip(&t.silhouettes)
        .map(|((k, l), s)| serde_json::json!({"area_id": k, "cluster": l, "silhouette": s}))
        .collect();
    match a.format {
        Format::Json => {
            let out = serde_json::json!({
                "method": if a.method == ClusterMethod::Kmeans { "kmeans" } else { "ward" },
                "k": a.k, "year": a.year, "level": a.level, "indicators": a.indicators,
                "silhouette_mean": mean_sil, "inertia": t.inertia,
                "areas_without_all_values": t.without_values,
                "clusters": clusters, "areas": areas,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        f => {
            if f == Format::Table {
                let skipped = if t.without_values.is_empty() {
                    String::new()
                } else {
                    format!(", {} Gebiete ohne alle Werte nicht zugeordnet", t.without_values.len())
                };
                println!("{} Gebietstypen, mittlere Silhouette {:.3}{skipped}", a.k, mean_sil);
                for (k, (size, profile, _, _)) in t.types.iter().enumerate() {
                    println!("  Typ {k}: {size} Gebiete – {profile}");
                }
            }
            let rows = t
                .areas
                .iter()
                .zip(&t.labels)
                .zip(&t.silhouettes)
                .map(|((k, l), s)| vec![k.clone(), l.to_string(), format!("{s:.4}")])
                .collect();
            output::emit(f, &["area_id", "cluster", "silhouette"], rows, &areas)?;
        }
    }
    Ok(())
}
