//! `quartier aggregate`: geocoded individual records counted per area, streamed; records
//! are never stored, only counts.

use crate::open;
use crate::output::{n, spinner};
use anyhow::{Context, Result, bail};
use clap::Args;
use quartier_app::spatial::level_geometries;
use quartier_app::store::{DataBatch, Store, VariableMeta};
use quartier_core::Cell;
use quartier_core::disclosure;
use quartier_core::validate::{DataRow, Location, VariableKind};
use quartier_geom::crs::{Crs, Transformer};
use quartier_geom::locate::PointIndex;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Args)]
#[command(after_help = "Beispiel:
  quartier aggregate personen.csv --x x --y y --crs EPSG:25832 --level Sozialraum --by sgb2 \\
      --age-col alter --age-groups 0-2,3-5,6-14,15-17,18-64,65-79,80- --year 2024 --out zaehlung.csv

Punkte auf einer gemeinsamen Grenze zählen zum Gebiet mit dem kleinsten Schlüssel; Punkte auf dem
Außenrand zum angrenzenden Gebiet; Punkte außerhalb aller Gebiete werden gemeldet.
Einzeldatensätze werden nie gespeichert, nur Zählungen.")]
pub struct AggregateArgs {
    /// CSV-Datei mit einem Datensatz je Person/Fall
    file: PathBuf,
    /// Spalte mit der x-Koordinate (Rechtswert/Länge)
    #[arg(long)]
    x: String,
    /// Spalte mit der y-Koordinate (Hochwert/Breite)
    #[arg(long)]
    y: String,
    /// Koordinatensystem der Punkte, z. B. EPSG:25832
    #[arg(long)]
    crs: String,
    /// Ebene der Gebiete
    #[arg(long)]
    level: String,
    /// Zusätzlich nach den Werten dieser Spalte zählen (mehrfach möglich)
    #[arg(long)]
    by: Vec<String>,
    /// Spalte mit dem Alter in Jahren
    #[arg(long)]
    age_col: Option<String>,
    /// Altersgruppen, z. B. 0-2,3-5,6-14,15-17,18-64,65-79,80-
    #[arg(long, requires = "age_col")]
    age_groups: Option<String>,
    /// Jahr der Zählung (nötig mit --store)
    #[arg(long)]
    year: Option<i32>,
    /// Zählungen als Merkmale in der Datenbank speichern
    #[arg(long, requires = "year", conflicts_with = "out")]
    store: bool,
    /// Zählungen als CSV schreiben (eine Zeile je Gebiet)
    #[arg(long)]
    out: Option<PathBuf>,
    /// Auch die übergeordneten Gebiete schreiben (Summen, mit Spalte level)
    #[arg(long, requires = "out")]
    with_parents: bool,
    /// Für die Veröffentlichung: Geheimhaltung anwenden — Anzahlen unter der Schwelle und Zellen,
    /// aus denen sie sich zurückrechnen ließen, werden zu * (die Datenbank behält die echten Werte)
    #[arg(long, requires = "out")]
    public: bool,
    /// Schwelle der Geheimhaltung: Anzahlen 1 bis Schwelle−1 werden gesperrt
    #[arg(long, default_value_t = crate::cmd_disclosure::DEFAULT_THRESHOLD)]
    disclosure_threshold: f64,
}

/// Parsed age groups: (label, from, to inclusive).
fn age_groups(spec: &str) -> Result<Vec<(String, u32, u32)>> {
    spec.split(',')
        .map(|g| {
            let g = g.trim();
            let (a, b) = g.split_once('-').ok_or_else(|| anyhow::anyhow!("Altersgruppe „{g}“: erwartet von-bis, z. B. 6-14 oder 80-"))?;
            let from: u32 = a.parse().map_err(|_| anyhow::anyhow!("Altersgruppe „{g}“: „{a}“ ist keine Zahl"))?;
            let to: u32 = if b.is_empty() {
                u32::MAX
            } else {
                b.parse().map_err(|_| anyhow::anyhow!("Altersgruppe „{g}“: „{b}“ ist keine Zahl"))?
            };
            if to < from {
                bail!("Altersgruppe „{g}“: Ende vor Anfang");
            }
            Ok((g.to_string(), from, to))
        })
        .collect()
}

fn number(s: &str) -> Option<f64> {
    let t = s.trim();
    t.parse::<f64>().ok().or_else(|| t.replace(',', ".").parse::<f64>().ok()).filter(|v| v.is_finite())
}

pub fn run(db: &std::path::Path, a: AggregateArgs) -> Result<()> {
    if !a.store && a.out.is_none() {
        bail!("bitte --out DATEI.csv oder --store (mit --year) angeben");
    }
    let mut store = open(db)?;
    let crs = quartier_import::areas::crs_arg(&a.crs).map_err(|e| anyhow::anyhow!("--crs: {e}"))?;
    let geoms = level_geometries(&store, &a.level).map_err(anyhow::Error::msg)?;
    if geoms.is_empty() {
        bail!("Ebene „{}“ hat keine Geometrien", a.level);
    }
    let keys: Vec<String> = geoms.iter().map(|(k, _)| k.clone()).collect();
    // Exact: the geometries as delivered, when they are in the points' CRS; else the WGS84
    // copies projected into it once (instead of every point into WGS84).
    let source = store.source_geometries(&a.level)?;
    let native: Option<Vec<quartier_geom::MultiPolygon>> = source
        .iter()
        .map(|(_, epsg, wkb)| match (epsg, wkb) {
            (Some(e), Some(b)) if *e == crs.epsg => match quartier_geom::wkb::decode(b) {
                Ok(quartier_geom::wkb::Decoded::Areal(mp)) => Some(mp),
                _ => None,
            },
            _ => None,
        })
        .collect();
    let shapes = match native.filter(|n| n.len() == keys.len()) {
        Some(n) => n,
        None => {
            let to_points = Transformer::new(Crs::wgs84(), crs);
            let mut shapes = Vec::with_capacity(geoms.len());
            for (_, g) in geoms {
                let mut m = g;
                to_points.multipolygon(&mut m)?;
                shapes.push(m);
            }
            shapes
        }
    };
    let index = PointIndex::new(shapes);
    let file = a.file.display().to_string();
    let len = std::fs::metadata(&a.file).with_context(|| format!("{file} kann nicht gelesen werden"))?.len();
    let mut head = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(std::fs::File::open(&a.file).with_context(|| format!("{file} kann nicht gelesen werden"))?),
        &mut head,
    )?;
    let delim = [b';', b',', b'\t'].into_iter().max_by_key(|d| head.bytes().filter(|b| b == d).count()).unwrap_or(b',');
    let headers: Vec<String> = csv::ReaderBuilder::new()
        .delimiter(delim)
        .from_reader(head.as_bytes())
        .headers()
        .with_context(|| format!("{file}: keine Kopfzeile"))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| anyhow::anyhow!("{file}: Spalte „{name}“ fehlt; vorhanden: {}", headers.join(", ")))
    };
    let job = Job {
        index: &index,
        xc: col(&a.x)?,
        yc: col(&a.y)?,
        by_cols: a.by.iter().map(|b| col(b)).collect::<Result<_>>()?,
        age_c: a.age_col.as_deref().map(col).transpose()?,
        groups: a.age_groups.as_deref().map(age_groups).transpose()?,
        delim,
        nareas: keys.len(),
    };
    let pb = spinner(format!("Zähle {file}"));
    let done = std::sync::atomic::AtomicU64::new(0);
    // Byte ranges at line ends, one per core; a file with quotes (fields that might hold
    // line breaks) is read in one piece.
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(8);
    let ranges =
        if threads > 1 && len > 1 << 20 && !has_quotes(&a.file)? { split_at_lines(&a.file, len, threads)? } else { vec![(0, len)] };
    let parts: Vec<Result<Partial>> = std::thread::scope(|s| {
        let handles: Vec<_> = ranges
            .iter()
            .map(|&(from, to)| {
                let (job, file, path, pb, done) = (&job, &file, &a.file, &pb, &done);
                s.spawn(move || job.count(path, file, from, to, pb, done))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("counting thread")).collect()
    });
    let mut it = parts.into_iter();
    let mut p = it.next().expect("one range")?;
    for q in it {
        p.merge(q?);
    }
    let Partial { counts, by_counts, age_counts, total, outside, unusable, bad_age, outside_lines, unusable_lines, swapped_inside, .. } = p;
    let groups = job.groups.clone();
    pb.finish_and_clear();
    if total == 0 {
        bail!("{file}: keine Datensätze");
    }
    let usable = total - unusable;
    if usable > 0 && outside == usable {
        let hint = if swapped_inside * 2 > outside.min(1000) {
            " Mit vertauschten Spalten lägen die Punkte in den Gebieten: sind --x und --y vertauscht?"
        } else {
            " Stimmt --crs?"
        };
        bail!(
            "{file}: alle {} verwertbaren Punkte liegen außerhalb der Gebiete der Ebene „{}“ (in {}).{hint}",
            n(usable as usize),
            a.level,
            a.crs
        );
    }
    println!(
        "{file}: {} Datensätze, {} Gebieten zugeordnet, {} außerhalb aller Gebiete{}, {} ohne verwertbare Koordinaten{}",
        n(total as usize),
        n((usable - outside) as usize),
        n(outside as usize),
        if outside_lines.is_empty() { String::new() } else { format!(" (z. B. Zeilen {:?})", outside_lines) },
        n(unusable as usize),
        if unusable_lines.is_empty() { String::new() } else { format!(" (z. B. Zeilen {:?})", unusable_lines) }
    );
    if bad_age > 0 {
        println!("Hinweis: {} Datensätze ohne verwertbares Alter (nicht in den Altersgruppen)", n(bad_age as usize));
    }
    // Columns: n, <by>_<value>, age_<group>.
    let mut columns: Vec<(String, Vec<u64>)> = vec![("n".into(), counts)];
    for (b, name) in a.by.iter().enumerate() {
        let mut values: Vec<(String, &Vec<u64>)> =
            by_counts[b].iter().map(|(v, c)| (String::from_utf8_lossy(v).trim().to_string(), c)).collect();
        values.sort_by(|x, y| x.0.cmp(&y.0));
        for (v, c) in values {
            columns.push((format!("{name}_{v}"), c.clone()));
        }
    }
    if let Some(g) = &groups {
        for (gi, (label, _, _)) in g.iter().enumerate() {
            columns.push((format!("age_{label}"), age_counts[gi].clone()));
        }
    }
    if let Some(out) = &a.out {
        write_counts(&store, out, &a, &keys, &columns)?;
    }
    if a.store {
        let year = a.year.expect("clap requires --year");
        let at = Location { sheet: None, line: 0, column: Arc::from("aggregate") };
        let mut rows = Vec::new();
        let mut metas = Vec::new();
        for (c, vals) in &columns {
            let var: Arc<str> = Arc::from(quartier_import::identifier(c).as_str());
            metas.push(VariableMeta {
                key: var.to_string(),
                label: Some(c.clone()),
                kind: Some(VariableKind::Count),
                source: Some(format!("Zählung aus {file}")),
                ..Default::default()
            });
            for (k, v) in keys.iter().zip(vals) {
                rows.push(DataRow {
                    area: Arc::from(k.as_str()),
                    year,
                    variable: Arc::clone(&var),
                    cell: Cell::Number(*v as f64),
                    at: at.clone(),
                    reference_date: None,
                    quality: None,
                });
            }
        }
        let r = store.apply_data(
            &DataBatch {
                file: file.clone(),
                level: Some(a.level.clone()),
                rows,
                variables: metas,
                area_levels: Default::default(),
                current_boundaries: false,
            },
            false,
        )?;
        println!("{} Werte gespeichert ({} neu, {} geändert); höhere Ebenen werden summiert.", n(r.rows), n(r.inserted), n(r.changed));
    }
    Ok(())
}

/// Writes the counts (and with `--with-parents` the summed higher levels), with `--public`
/// after primary and secondary suppression over column sums and the hierarchy.
fn write_counts(store: &dyn Store, out: &Path, a: &AggregateArgs, keys: &[String], columns: &[(String, Vec<u64>)]) -> Result<()> {
    // Rows: the level's areas, then (with --with-parents) their ancestors, summed.
    let mut rows: Vec<(String, String, usize)> = Vec::new();
    let mut parent: Vec<Option<usize>> = vec![None; keys.len()];
    if a.with_parents {
        let areas = store.areas(None)?;
        let by_node: HashMap<(usize, &str), &quartier_app::store::AreaRecord> =
            areas.iter().map(|r| ((r.level_rank, r.key.as_str()), r)).collect();
        let rank = areas.iter().find(|r| r.level == a.level).map(|r| r.level_rank).unwrap_or(0);
        rows.extend(keys.iter().map(|k| (k.clone(), a.level.clone(), rank)));
        let mut row_of: HashMap<(usize, String), usize> = HashMap::new();
        let mut r = 0;
        while r < rows.len() {
            let rec_rank = rows[r].2;
            if let Some(p) = by_node.get(&(rec_rank, rows[r].0.as_str())).and_then(|rec| rec.parent.clone())
                && rec_rank > 0
            {
                let pr = *row_of.entry((rec_rank - 1, p.clone())).or_insert_with(|| {
                    let level = by_node.get(&(rec_rank - 1, p.as_str())).map(|x| x.level.clone()).unwrap_or_default();
                    rows.push((p.clone(), level, rec_rank - 1));
                    parent.push(None);
                    rows.len() - 1
                });
                parent[r] = Some(pr);
            }
            r += 1;
        }
    } else {
        rows.extend(keys.iter().map(|k| (k.clone(), a.level.clone(), 0)));
    }
    let cols = columns.len();
    let mut values = vec![0.0f64; rows.len() * cols];
    for (i, _) in keys.iter().enumerate() {
        for (j, (_, c)) in columns.iter().enumerate() {
            values[i * cols + j] = c[i] as f64;
        }
    }
    // Rows are added after their children, so one pass in order sums every level.
    for r in 0..rows.len() {
        if let Some(p) = parent[r] {
            for j in 0..cols {
                values[p * cols + j] += values[r * cols + j];
            }
        }
    }
    let marks = if a.public {
        // n = Σ values of each --by column, n = Σ age groups (where every record has an age).
        let mut groups: Vec<(usize, Vec<usize>)> = Vec::new();
        for b in &a.by {
            let prefix = format!("{b}_");
            groups.push((0, (1..cols).filter(|&j| columns[j].0.starts_with(&prefix)).collect()));
        }
        let ages: Vec<usize> = (1..cols).filter(|&j| columns[j].0.starts_with("age_")).collect();
        if !ages.is_empty() {
            groups.push((0, ages));
        }
        let known: Vec<Option<f64>> = values.iter().map(|&v| Some(v)).collect();
        let relations = disclosure::holding(&known, disclosure::wide_relations(rows.len(), cols, &parent, &groups));
        disclosure::protect(&values, &relations, a.disclosure_threshold)
    } else {
        vec![disclosure::Mark::Published; values.len()]
    };
    let mut w = csv::Writer::from_path(out).with_context(|| format!("{} kann nicht geschrieben werden", out.display()))?;
    let mut h = vec!["area_id".to_string()];
    if a.with_parents {
        h.push("level".into());
    }
    h.extend(columns.iter().map(|(c, _)| c.clone()));
    w.write_record(&h)?;
    for (r, (k, level, _)) in rows.iter().enumerate() {
        let mut row = vec![k.clone()];
        if a.with_parents {
            row.push(level.clone());
        }
        row.extend(
            (0..cols).map(
                |j| {
                    if marks[r * cols + j].is_suppressed() { "*".to_string() } else { (values[r * cols + j] as u64).to_string() }
                },
            ),
        );
        w.write_record(&row)?;
    }
    w.flush()?;
    println!("Zählung geschrieben: {} ({} Gebiete, {} Spalten)", out.display(), rows.len(), cols);
    if a.public {
        let primary = marks.iter().filter(|m| **m == disclosure::Mark::Primary).count();
        let secondary = marks.iter().filter(|m| **m == disclosure::Mark::Secondary).count();
        println!(
            "Geheimhaltung (Schwelle {}): {} Zellen gesperrt ({} unter der Schwelle, {} zum Schutz vor Rückrechnung)",
            a.disclosure_threshold,
            n(primary + secondary),
            n(primary),
            n(secondary)
        );
    }
    Ok(())
}

/// What every counting thread needs.
struct Job<'a> {
    index: &'a PointIndex,
    xc: usize,
    yc: usize,
    by_cols: Vec<usize>,
    age_c: Option<usize>,
    groups: Option<Vec<(String, u32, u32)>>,
    delim: u8,
    nareas: usize,
}

/// Counts of one byte range of the file.
struct Partial {
    counts: Vec<u64>,
    /// Per `--by` column: (value as in the file, counts per area).
    by_counts: Vec<Vec<(Vec<u8>, Vec<u64>)>>,
    age_counts: Vec<Vec<u64>>,
    total: u64,
    outside: u64,
    unusable: u64,
    bad_age: u64,
    /// Sample lines (file-wide line numbers once merged).
    outside_lines: Vec<u64>,
    unusable_lines: Vec<u64>,
    swapped_inside: u64,
    /// Lines the range spans (to number the next range's lines).
    lines: u64,
}

impl Partial {
    fn merge(&mut self, q: Partial) {
        let add = |a: &mut Vec<u64>, b: &[u64]| a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        add(&mut self.counts, &q.counts);
        for (mine, theirs) in self.by_counts.iter_mut().zip(q.by_counts) {
            for (v, c) in theirs {
                match mine.iter_mut().find(|(w, _)| *w == v) {
                    Some((_, m)) => add(m, &c),
                    None => mine.push((v, c)),
                }
            }
        }
        for (m, t) in self.age_counts.iter_mut().zip(&q.age_counts) {
            add(m, t);
        }
        let offset = self.lines;
        for (mine, theirs) in [(&mut self.outside_lines, q.outside_lines), (&mut self.unusable_lines, q.unusable_lines)] {
            mine.extend(theirs.into_iter().map(|l| l + offset));
            mine.truncate(10);
        }
        self.total += q.total;
        self.outside += q.outside;
        self.unusable += q.unusable;
        self.bad_age += q.bad_age;
        self.swapped_inside += q.swapped_inside;
        self.lines += q.lines;
    }
}

impl Job<'_> {
    /// Counts the records in bytes `from..to` (the first range holds the header).
    fn count(
        &self,
        path: &Path,
        file: &str,
        from: u64,
        to: u64,
        pb: &indicatif::ProgressBar,
        done: &std::sync::atomic::AtomicU64,
    ) -> Result<Partial> {
        use std::io::{Read, Seek};
        let mut f = std::fs::File::open(path).with_context(|| format!("{file} kann nicht gelesen werden"))?;
        f.seek(std::io::SeekFrom::Start(from))?;
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(self.delim)
            .has_headers(from == 0)
            .from_reader(std::io::BufReader::with_capacity(1 << 20, f.take(to - from)));
        let n = self.nareas;
        let mut p = Partial {
            counts: vec![0; n],
            by_counts: vec![Vec::new(); self.by_cols.len()],
            age_counts: self.groups.as_ref().map(|g| vec![vec![0; n]; g.len()]).unwrap_or_default(),
            total: 0,
            outside: 0,
            unusable: 0,
            bad_age: 0,
            outside_lines: Vec::new(),
            unusable_lines: Vec::new(),
            swapped_inside: 0,
            lines: 0,
        };
        let mut rec = csv::ByteRecord::new();
        while rdr.read_byte_record(&mut rec).with_context(|| format!("{file}: CSV nicht lesbar"))? {
            p.total += 1;
            let line = rec.position().map(|p| p.line()).unwrap_or(0);
            let field = |i: usize| std::str::from_utf8(rec.get(i).unwrap_or(b"")).unwrap_or("");
            let (Some(x), Some(y)) = (number(field(self.xc)), number(field(self.yc))) else {
                p.unusable += 1;
                if p.unusable_lines.len() < 10 {
                    p.unusable_lines.push(line);
                }
                continue;
            };
            let Some(area) = self.index.locate(x, y) else {
                p.outside += 1;
                if p.outside_lines.len() < 10 {
                    p.outside_lines.push(line);
                }
                if p.outside <= 1000 && self.index.locate(y, x).is_some() {
                    p.swapped_inside += 1;
                }
                continue;
            };
            p.counts[area] += 1;
            for (b, &c) in self.by_cols.iter().enumerate() {
                let v = rec.get(c).unwrap_or(b"");
                // Few distinct values: a linear search beats hashing and allocates nothing.
                let slot = match p.by_counts[b].iter().position(|(w, _)| w.as_slice() == v) {
                    Some(i) => i,
                    None => {
                        p.by_counts[b].push((v.to_vec(), vec![0; n]));
                        p.by_counts[b].len() - 1
                    }
                };
                p.by_counts[b][slot].1[area] += 1;
            }
            if let (Some(ac), Some(g)) = (self.age_c, &self.groups) {
                match field(ac).trim().parse::<f64>().ok().filter(|v| *v >= 0.0 && v.fract() == 0.0) {
                    Some(age) => {
                        if let Some(gi) = g.iter().position(|(_, lo, hi)| (*lo as f64) <= age && age <= (*hi as f64)) {
                            p.age_counts[gi][area] += 1;
                        }
                    }
                    None => p.bad_age += 1,
                }
            }
            if p.total.is_multiple_of(1_000_000) {
                let all = done.fetch_add(1_000_000, std::sync::atomic::Ordering::Relaxed) + 1_000_000;
                pb.set_message(format!("Zähle {file}: {} Datensätze", n_fmt(all)));
            }
        }
        p.lines = rdr.position().line() - 1;
        Ok(p)
    }
}

fn n_fmt(v: u64) -> String {
    n(v as usize)
}

/// Whether the file contains a quote character anywhere (then a field might span lines).
fn has_quotes(path: &Path) -> Result<bool> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            return Ok(false);
        }
        if memchr::memchr(b'"', &buf[..k]).is_some() {
            return Ok(true);
        }
    }
}

/// `parts` byte ranges of about equal size, each ending after a line break.
fn split_at_lines(path: &Path, len: u64, parts: usize) -> Result<Vec<(u64, u64)>> {
    use std::io::{Read, Seek};
    let mut f = std::fs::File::open(path)?;
    let mut cuts = vec![0u64];
    let mut buf = vec![0u8; 1 << 16];
    for k in 1..parts {
        let mut pos = (len * k as u64 / parts as u64).max(*cuts.last().expect("non-empty"));
        f.seek(std::io::SeekFrom::Start(pos))?;
        let cut = loop {
            let got = f.read(&mut buf)?;
            if got == 0 {
                break len;
            }
            if let Some(i) = memchr::memchr(b'\n', &buf[..got]) {
                break pos + i as u64 + 1;
            }
            pos += got as u64;
        };
        cuts.push(cut);
    }
    cuts.push(len);
    cuts.dedup();
    Ok(cuts.windows(2).map(|w| (w[0], w[1])).filter(|(a, b)| b > a).collect())
}
