//! `quartier indicators …` and `quartier classify`.

use crate::open;
use crate::output::{self, Format};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use quartier_app::store::Store;
use quartier_app::views::{self, IndicatorQuery, IndicatorRow};
use quartier_core::classify::{self, ClassifyError, Method};
use quartier_core::indicator::{Catalogue, Direction, Status};
use quartier_core::stats;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

#[derive(Subcommand)]
pub enum IndicatorsCmd {
    /// Indikatorenkatalog (TOML) laden: Formeln werden geprüft, vorhandene Indikatoren ersetzt
    #[command(after_help = "Mindestform eines Katalogs:
  [[indicator]]
  id = \"child_poverty\"
  name = \"Kinderarmut\"
  formula = \"100 * children_u15_sgb2 / children_u15\"
  unit = \"%\"
  direction = \"higher_is_worse\"      # oder \"higher_is_better\"
  domain = \"Arbeit und Einkommen\"
  target_groups = [\"Kinder\"]
  min_denominator = 30

Weitere Felder: description, decimals, source. Formeln: + - * / ^, Klammern, min, max, abs, ln,
sqrt, if(Bedingung, dann, sonst), Vergleiche < <= > >= == !=, and/or. Ein bloßer Merkmalsname
übernimmt das Merkmal wie geliefert; Formeln dürfen andere Indikatoren verwenden.")]
    Load {
        file: PathBuf,
        /// Gespeicherte Indikatoren, die nicht in der Datei stehen, löschen
        #[arg(long)]
        replace: bool,
        /// Nur prüfen, nichts speichern
        #[arg(long)]
        dry_run: bool,
    },
    /// Indikatoren auflisten, auch nach Zielgruppe oder Lebensbereich
    List {
        /// Nur Indikatoren für diese Zielgruppe (z. B. Kinder, Alleinerziehende, Ältere)
        #[arg(long)]
        target_group: Option<String>,
        /// Nur dieser Lebensbereich
        #[arg(long)]
        domain: Option<String>,
        /// Gruppiert ausgeben
        #[arg(long, value_enum)]
        by: Option<GroupBy>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Den gespeicherten Katalog als TOML ausgeben
    Export {
        /// Datei statt Standardausgabe
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Indikatorwerte je Gebiet, Jahr und Indikator berechnen
    Compute(ComputeArgs),
    /// Verteilung über die Gebiete: Kennzahlen und Abweichung jedes Gebiets vom Gesamtwert
    Stats {
        #[arg(long)]
        indicator: String,
        #[arg(long)]
        year: i32,
        #[arg(long)]
        level: String,
        #[arg(long, value_enum, default_value_t = Format::Json)]
        format: Format,
    },
    /// Veränderung über die Zeit je Gebiet: Differenz, relative Änderung, Trend, Dynamikklasse
    Change {
        #[arg(long)]
        indicator: String,
        #[arg(long)]
        level: String,
        /// Erstes Jahr der Spanne (Standard: erstes Jahr mit Daten)
        #[arg(long)]
        from: Option<i32>,
        /// Letztes Jahr der Spanne (Standard: letztes Jahr mit Daten)
        #[arg(long)]
        to: Option<i32>,
        /// Basisjahr für die Veränderung gegenüber einem festen Jahr (Standard: --from)
        #[arg(long)]
        base_year: Option<i32>,
        /// Schwelle für die Dynamikklasse in Standardabweichungen der Veränderung
        #[arg(long, default_value_t = 1.0)]
        threshold: f64,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum GroupBy {
    TargetGroup,
    Domain,
}

#[derive(Args)]
pub struct ComputeArgs {
    /// Nur diese Indikatoren (mehrfach möglich; Standard: alle)
    #[arg(long)]
    indicator: Vec<String>,
    /// Nur dieses Jahr
    #[arg(long)]
    year: Option<i32>,
    /// Nur diese Ebene
    #[arg(long)]
    level: Option<String>,
    /// Auch den Gesamtwert (Referenz) je Jahr ausgeben (area_id leer)
    #[arg(long)]
    reference: bool,
    /// Für die Veröffentlichung: Geheimhaltung — Zähler und Nenner unter der Schwelle und solche,
    /// aus denen sie sich über die Gebietshierarchie zurückrechnen ließen, werden gesperrt (leer,
    /// Status confidential), ebenso jede Quote mit gesperrtem Zähler oder Nenner und unsichere Werte
    #[arg(long)]
    public: bool,
    /// Schwelle der Geheimhaltung (mit --public): Anzahlen 1 bis Schwelle−1 werden gesperrt
    #[arg(long, default_value_t = crate::cmd_disclosure::DEFAULT_THRESHOLD)]
    disclosure_threshold: f64,
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    format: Format,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
pub enum MethodArg {
    Quantiles,
    EqualInterval,
    StdMean,
    FisherJenks,
    JenksCaspall,
    BoxPlot,
    Headtail,
    MaxBreaks,
    User,
}

#[derive(Args)]
pub struct ClassifyArgs {
    #[arg(long)]
    indicator: String,
    #[arg(long)]
    year: i32,
    #[arg(long)]
    level: String,
    #[arg(long, value_enum, default_value_t = MethodArg::Quantiles)]
    method: MethodArg,
    /// Zahl der Klassen
    #[arg(long, default_value_t = 5)]
    k: usize,
    /// Klassengrenzen für --method user, aufsteigend, z. B. 0,10,20 (0 ist erlaubt)
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    breaks: Vec<f64>,
    /// Quantile nach mapclassify (7, Standard) oder nach R type 9
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u8).range(7..=9))]
    quantile_type: u8,
    /// Vielfaches des Interquartilsabstands für box-plot
    #[arg(long, default_value_t = 1.5)]
    hinge: f64,
    /// Divergierende Klassen für std-mean: um 0 oder um den Gesamtwert statt um den Mittelwert
    #[arg(long, value_enum)]
    center: Option<CenterArg>,
    /// Die berechneten Grenzen für diesen Indikator und diese Ebene einfrieren (Karten aller Jahre vergleichbar)
    #[arg(long)]
    freeze: bool,
    /// Eingefrorene Grenzen verwenden statt neu zu berechnen
    #[arg(long, conflicts_with = "freeze")]
    frozen: bool,
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum CenterArg {
    Zero,
    Reference,
}

fn status_detail(s: &Status) -> String {
    match s {
        Status::Missing(v) | Status::Suppressed(v) => v.join(" "),
        _ => String::new(),
    }
}

fn num(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

pub fn run(db: &Path, cmd: IndicatorsCmd) -> Result<()> {
    match cmd {
        IndicatorsCmd::Load { file, replace, dry_run } => load(db, &file, replace, dry_run),
        IndicatorsCmd::List { target_group, domain, by, format } => list(db, target_group, domain, by, format),
        IndicatorsCmd::Export { out } => {
            let text = open(db)?.catalogue()?.to_toml();
            match out {
                Some(p) => std::fs::write(&p, text).with_context(|| format!("{} kann nicht geschrieben werden", p.display()))?,
                None => print!("{text}"),
            }
            Ok(())
        }
        IndicatorsCmd::Compute(a) => compute(db, a),
        IndicatorsCmd::Stats { indicator, year, level, format } => stats_cmd(db, &indicator, year, &level, format),
        IndicatorsCmd::Change { indicator, level, from, to, base_year, threshold, format } => {
            change(db, &indicator, &level, from, to, base_year, threshold, format)
        }
    }
}

fn load(db: &Path, file: &Path, replace: bool, dry_run: bool) -> Result<()> {
    let text = std::fs::read_to_string(file).with_context(|| format!("{} kann nicht gelesen werden", file.display()))?;
    let new = Catalogue::from_toml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let mut store = open(db)?;
    let variables: HashSet<String> = store.variables()?.into_iter().map(|v| v.key).collect();
    // Merge: the file's definitions replace stored ones with the same id.
    let mut merged = if replace { Vec::new() } else { store.catalogue()?.indicators };
    for ind in new.indicators {
        match merged.iter_mut().find(|i| i.id == ind.id) {
            Some(slot) => *slot = ind,
            None => merged.push(ind),
        }
    }
    let checked = Catalogue { indicators: merged }.checked(&variables).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let r = store.save_catalogue(&checked, dry_run)?;
    println!(
        "{}: {} Indikatoren geprüft: {} neu, {} geändert, {} unverändert{}",
        file.display(),
        checked.indicators.len(),
        r.inserted.len(),
        r.updated.len(),
        r.unchanged.len(),
        if r.removed.is_empty() { String::new() } else { format!(", {} entfernt ({})", r.removed.len(), r.removed.join(", ")) }
    );
    if dry_run {
        println!("Probelauf (--dry-run): nichts gespeichert.");
    }
    Ok(())
}

fn list(db: &Path, target_group: Option<String>, domain: Option<String>, by: Option<GroupBy>, format: Format) -> Result<()> {
    let cat = open(db)?.catalogue()?;
    let lower = |s: &str| s.to_lowercase();
    let inds: Vec<_> = cat
        .indicators
        .iter()
        .filter(|i| target_group.as_ref().is_none_or(|g| i.target_groups.iter().any(|t| lower(t) == lower(g))))
        .filter(|i| domain.as_ref().is_none_or(|d| lower(&i.domain) == lower(d)))
        .collect();
    if inds.is_empty() && !cat.indicators.is_empty() {
        let groups: std::collections::BTreeSet<&str> =
            cat.indicators.iter().flat_map(|i| i.target_groups.iter().map(String::as_str)).collect();
        let domains: std::collections::BTreeSet<&str> = cat.indicators.iter().map(|i| i.domain.as_str()).collect();
        bail!(
            "keine Indikatoren für diese Auswahl; Zielgruppen: {}; Lebensbereiche: {}",
            groups.into_iter().collect::<Vec<_>>().join(", "),
            domains.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    let row = |group: &str, i: &quartier_core::indicator::Indicator| {
        vec![
            group.to_string(),
            i.id.clone(),
            i.name.clone(),
            i.formula.clone(),
            i.unit.clone(),
            i.direction.as_str().to_string(),
            i.domain.clone(),
            i.target_groups.join("; "),
            i.min_denominator.map(|m| m.to_string()).unwrap_or_default(),
            i.source.clone(),
        ]
    };
    let headers = ["group", "id", "name", "formula", "unit", "direction", "domain", "target_groups", "min_denominator", "source"];
    let mut rows = Vec::new();
    match by {
        None => rows.extend(inds.iter().map(|i| row("", i))),
        Some(GroupBy::Domain) => {
            let mut g: BTreeMap<&str, Vec<_>> = BTreeMap::new();
            inds.iter().for_each(|i| g.entry(i.domain.as_str()).or_default().push(*i));
            for (k, v) in g {
                rows.extend(v.iter().map(|i| row(k, i)));
            }
        }
        Some(GroupBy::TargetGroup) => {
            let mut g: BTreeMap<&str, Vec<_>> = BTreeMap::new();
            for i in &inds {
                if i.target_groups.is_empty() {
                    g.entry("(alle)").or_default().push(*i);
                }
                for t in &i.target_groups {
                    g.entry(t.as_str()).or_default().push(*i);
                }
            }
            for (k, v) in g {
                rows.extend(v.iter().map(|i| row(k, i)));
            }
        }
    }
    output::emit(format, &headers, rows, &inds)
}

fn compute(db: &Path, a: ComputeArgs) -> Result<()> {
    let store = open(db)?;
    if a.public && (a.disclosure_threshold.is_nan() || a.disclosure_threshold < 1.0) {
        bail!("--disclosure-threshold muss mindestens 1 sein");
    }
    let res = views::compute_indicators(
        &store,
        &IndicatorQuery {
            indicators: a.indicator.clone(),
            years: a.year.map(|y| vec![y]),
            level: a.level.clone(),
            public: a.public.then_some(a.disclosure_threshold),
        },
    )
    .map_err(anyhow::Error::msg)?;
    let mut rows: Vec<IndicatorRow> = res.rows;
    if a.reference {
        rows.extend(res.references);
    }
    #[derive(serde::Serialize)]
    struct Out<'a> {
        area_id: &'a str,
        level: &'a str,
        year: i32,
        indicator: &'a str,
        value: Option<f64>,
        numerator: Option<f64>,
        denominator: Option<f64>,
        status: &'static str,
        #[serde(skip_serializing_if = "String::is_empty")]
        inputs: String,
    }
    let out: Vec<Out> = rows
        .iter()
        .map(|r| Out {
            area_id: &r.area_id,
            level: &r.level,
            year: r.year,
            indicator: &r.indicator,
            value: r.value,
            numerator: r.numerator,
            denominator: r.denominator,
            status: r.status_code(),
            inputs: status_detail(&r.status),
        })
        .collect();
    let table: Vec<Vec<String>> = out
        .iter()
        .map(|r| {
            vec![
                r.area_id.into(),
                r.level.into(),
                r.year.to_string(),
                r.indicator.into(),
                num(r.value),
                num(r.numerator),
                num(r.denominator),
                r.status.into(),
            ]
        })
        .collect();
    output::emit(a.format, &["area_id", "level", "year", "indicator", "value", "numerator", "denominator", "status"], table, &out)
}

/// Values of one indicator on one level and year (areas with a value), and the reference.
fn level_year(
    db: &Path,
    indicator: &str,
    year: i32,
    level: &str,
) -> Result<(quartier_core::indicator::Indicator, Vec<IndicatorRow>, Option<f64>)> {
    let store = open(db)?;
    let res = views::compute_indicators(
        &store,
        &IndicatorQuery { indicators: vec![indicator.into()], years: Some(vec![year]), level: Some(level.into()), ..Default::default() },
    )
    .map_err(anyhow::Error::msg)?;
    let ind = res.catalogue.get(indicator).cloned().expect("selected indicator exists");
    let reference = res.references.first().and_then(|r| if r.status.has_value() { r.value } else { None });
    let rows: Vec<IndicatorRow> = res.rows.into_iter().filter(|r| r.status.has_value() && r.value.is_some()).collect();
    if rows.is_empty() {
        bail!("Indikator „{indicator}“ hat {year} auf Ebene „{level}“ keine Werte (alle fehlen, sind geheim oder nicht berechenbar)");
    }
    Ok((ind, rows, reference))
}

fn stats_cmd(db: &Path, indicator: &str, year: i32, level: &str, format: Format) -> Result<()> {
    let (ind, rows, reference) = level_year(db, indicator, year, level)?;
    let values: Vec<f64> = rows.iter().filter_map(|r| r.value).collect();
    let summary = stats::summary(&values, reference).expect("non-empty");
    let pos = stats::positions(&values, &summary, ind.direction == Direction::HigherIsWorse);
    #[derive(serde::Serialize)]
    struct Area<'a> {
        area_id: &'a str,
        name: &'a str,
        #[serde(flatten)]
        position: &'a stats::Position,
        status: &'static str,
    }
    let areas: Vec<Area> =
        rows.iter().zip(&pos).map(|(r, p)| Area { area_id: &r.area_id, name: &r.name, position: p, status: r.status.code() }).collect();
    let json = serde_json::json!({ "indicator": indicator, "year": year, "level": level, "direction": ind.direction.as_str(), "summary": summary, "areas": areas });
    let table: Vec<Vec<String>> = areas
        .iter()
        .map(|a| {
            vec![
                a.area_id.into(),
                a.name.into(),
                a.position.value.to_string(),
                num(a.position.deviation_abs),
                num(a.position.deviation_rel),
                num(a.position.z),
                a.position.rank.to_string(),
                a.position.percentile_rank.to_string(),
            ]
        })
        .collect();
    if format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    if format == Format::Table {
        println!(
            "n {}  Min {}  Max {}  Mittel {:.3}  Gesamtwert {}  Median {}  Q1 {}  Q3 {}  SD(n) {:.3}  SD(n−1) {}  VK {}",
            summary.n,
            summary.min,
            summary.max,
            summary.mean,
            num(summary.reference),
            summary.median,
            summary.q1,
            summary.q3,
            summary.sd_population,
            num(summary.sd_sample),
            num(summary.cv)
        );
    }
    output::emit(format, &["area_id", "name", "value", "deviation_abs", "deviation_rel", "z", "rank", "percentile_rank"], table, &areas)
}

#[allow(clippy::too_many_arguments)]
fn change(
    db: &Path,
    indicator: &str,
    level: &str,
    from: Option<i32>,
    to: Option<i32>,
    base_year: Option<i32>,
    threshold: f64,
    format: Format,
) -> Result<()> {
    let store = open(db)?;
    let res = views::compute_indicators(
        &store,
        &IndicatorQuery { indicators: vec![indicator.into()], years: None, level: Some(level.into()), ..Default::default() },
    )
    .map_err(anyhow::Error::msg)?;
    let ind = res.catalogue.get(indicator).cloned().expect("exists");
    let years: Vec<i32> = res.years.iter().copied().filter(|y| from.is_none_or(|f| *y >= f) && to.is_none_or(|t| *y <= t)).collect();
    if years.len() < 2 {
        bail!("für eine Veränderung braucht es mindestens zwei Jahre mit Daten (vorhanden: {:?})", res.years);
    }
    let (first, last) = (years[0], years[years.len() - 1]);
    let base = base_year.unwrap_or(first);
    if !res.years.contains(&base) {
        bail!("Basisjahr {base} hat keine Daten (vorhanden: {:?})", res.years);
    }
    let mut by_area: BTreeMap<String, (String, HashMap<i32, f64>)> = BTreeMap::new();
    for r in &res.rows {
        let e = by_area.entry(r.area_id.clone()).or_insert_with(|| (r.name.clone(), HashMap::new()));
        if let (Some(v), true) = (r.value, r.status.has_value()) {
            e.1.insert(r.year, v);
        }
    }
    let keys: Vec<&String> = by_area.keys().collect();
    let change_of = |k: &str| -> Option<f64> { Some(by_area[k].1.get(&last)? - by_area[k].1.get(&first)?) };
    let changes: Vec<Option<f64>> = keys.iter().map(|k| change_of(k)).collect();
    let dyn_classes = stats::dynamics(&changes, ind.direction == Direction::HigherIsWorse, threshold);
    #[derive(serde::Serialize)]
    struct Row {
        area_id: String,
        name: String,
        from: i32,
        to: i32,
        value_from: Option<f64>,
        value_to: Option<f64>,
        change_abs: Option<f64>,
        change_rel: Option<f64>,
        previous_year: Option<i32>,
        change_prev_abs: Option<f64>,
        change_prev_rel: Option<f64>,
        base_year: i32,
        change_base_abs: Option<f64>,
        change_base_rel: Option<f64>,
        trend_slope: Option<f64>,
        change_z: Option<f64>,
        dynamics: Option<stats::Dynamics>,
    }
    let rel = |a: Option<f64>, b: Option<f64>| -> Option<f64> {
        let (a, b) = (a?, b?);
        (a != 0.0).then(|| (b - a) / a * 100.0)
    };
    let prev_year = years.iter().rev().nth(1).copied();
    let out: Vec<Row> = keys
        .iter()
        .zip(&dyn_classes)
        .map(|(k, d)| {
            let vals = &by_area[*k].1;
            let vf = vals.get(&first).copied();
            let vt = vals.get(&last).copied();
            let vp = prev_year.and_then(|y| vals.get(&y).copied());
            let vb = vals.get(&base).copied();
            let pts: Vec<(i32, f64)> = years.iter().filter_map(|y| vals.get(y).map(|v| (*y, *v))).collect();
            Row {
                area_id: k.to_string(),
                name: by_area[*k].0.clone(),
                from: first,
                to: last,
                value_from: vf,
                value_to: vt,
                change_abs: vf.zip(vt).map(|(a, b)| b - a),
                change_rel: rel(vf, vt),
                previous_year: prev_year,
                change_prev_abs: vp.zip(vt).map(|(a, b)| b - a),
                change_prev_rel: rel(vp, vt),
                base_year: base,
                change_base_abs: vb.zip(vt).map(|(a, b)| b - a),
                change_base_rel: rel(vb, vt),
                trend_slope: stats::trend_slope(&pts),
                change_z: d.map(|x| x.0),
                dynamics: d.map(|x| x.1),
            }
        })
        .collect();
    let table: Vec<Vec<String>> = out
        .iter()
        .map(|r| {
            vec![
                r.area_id.clone(),
                r.name.clone(),
                num(r.value_from),
                num(r.value_to),
                num(r.change_abs),
                num(r.change_rel),
                num(r.change_prev_abs),
                num(r.change_base_abs),
                num(r.trend_slope),
                r.dynamics.map(|d| d.label_de().to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    output::emit(
        format,
        &[
            "area_id",
            "name",
            "value_from",
            "value_to",
            "change_abs",
            "change_rel",
            "change_prev_abs",
            "change_base_abs",
            "trend_slope",
            "dynamics",
        ],
        table,
        &out,
    )
}

pub fn classify_cmd(db: &Path, a: ClassifyArgs) -> Result<()> {
    if a.quantile_type != 7 && a.quantile_type != 9 {
        bail!("--quantile-type kennt 7 (mapclassify, Standard) und 9 (R type 9)");
    }
    let (_, rows, reference) = level_year(db, &a.indicator, a.year, &a.level)?;
    let values: Vec<f64> = rows.iter().filter_map(|r| r.value).collect();
    let mut store = open(db)?;
    let (method_name, classification) = if a.frozen {
        let Some((m, bins)) = store.frozen_breaks(&a.indicator, &a.level)? else {
            bail!("für „{}“ auf Ebene „{}“ sind keine Grenzen eingefroren (erst mit --freeze berechnen)", a.indicator, a.level);
        };
        // Frozen breaks keep their classes; values beyond the last break join the last class.
        let yb: Vec<usize> = values.iter().map(|v| classify::class_of(&bins, *v)).collect();
        let mut counts = vec![0; bins.len()];
        yb.iter().for_each(|c| counts[*c] += 1);
        (m, classify::Classification { k: bins.len(), bins, yb, counts })
    } else {
        let distinct = {
            let mut s = values.clone();
            s.sort_by(f64::total_cmp);
            s.dedup();
            s.len()
        };
        let with_k = matches!(
            a.method,
            MethodArg::Quantiles | MethodArg::EqualInterval | MethodArg::FisherJenks | MethodArg::JenksCaspall | MethodArg::MaxBreaks
        );
        if with_k && a.k > distinct {
            bail!("k = {} ist größer als die Zahl verschiedener Werte ({distinct}): weniger Klassen wählen", a.k);
        }
        if a.method == MethodArg::User && a.breaks.is_empty() {
            bail!("--method user braucht --breaks, z. B. --breaks 0,10,20");
        }
        let center = match a.center {
            None => None,
            Some(CenterArg::Zero) => Some(0.0),
            Some(CenterArg::Reference) => {
                Some(reference.ok_or_else(|| anyhow::anyhow!("kein Gesamtwert für {} {} vorhanden", a.indicator, a.year))?)
            }
        };
        let method = match a.method {
            MethodArg::Quantiles => Method::Quantiles { k: a.k, type9: a.quantile_type == 9 },
            MethodArg::EqualInterval => Method::EqualInterval { k: a.k },
            MethodArg::StdMean => Method::StdMean { multiples: vec![-2.0, -1.0, 1.0, 2.0], center },
            MethodArg::FisherJenks => Method::FisherJenks { k: a.k },
            MethodArg::JenksCaspall => Method::JenksCaspall { k: a.k },
            MethodArg::BoxPlot => Method::BoxPlot { hinge: a.hinge },
            MethodArg::Headtail => Method::HeadTail,
            MethodArg::MaxBreaks => Method::MaxBreaks { k: a.k },
            MethodArg::User => Method::User { breaks: a.breaks.clone() },
        };
        let c = classify::classify(&values, &method).map_err(|e: ClassifyError| anyhow::anyhow!("{e}"))?;
        if a.freeze {
            store.freeze_breaks(&a.indicator, &a.level, method.name(), &c.bins)?;
            eprintln!("Grenzen für „{}“ auf Ebene „{}“ eingefroren.", a.indicator, a.level);
        }
        (method.name().to_string(), c)
    };
    let classes: BTreeMap<&str, usize> = rows.iter().zip(&classification.yb).map(|(r, c)| (r.area_id.as_str(), *c)).collect();
    let json = serde_json::json!({
        "method": method_name,
        "k": classification.k,
        "bins": classification.bins,
        "counts": classification.counts,
        "classes": classes,
    });
    match a.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&json)?),
        f => {
            let table = rows.iter().zip(&classification.yb).map(|(r, c)| vec![r.area_id.clone(), num(r.value), c.to_string()]).collect();
            output::emit(f, &["area_id", "value", "class"], table, &json)?;
        }
    }
    Ok(())
}
