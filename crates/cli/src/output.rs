//! Machine-readable and human output: aligned tables, CSV, JSON.

use anyhow::Result;
use serde::Serialize;
use std::io::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
}

/// Writes rows as a table or CSV (from `headers`/`rows`) or JSON (from `records`).
pub fn emit<T: Serialize + ?Sized>(format: Format, headers: &[&str], rows: Vec<Vec<String>>, records: &T) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, records)?;
            writeln!(out)?;
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(headers)?;
            for r in rows {
                w.write_record(&r)?;
            }
            w.flush()?;
        }
        Format::Table => {
            let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
            for r in &rows {
                for (i, c) in r.iter().enumerate() {
                    widths[i] = widths[i].max(c.chars().count());
                }
            }
            let line = |cells: Vec<&str>| {
                cells
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
                    .collect::<Vec<_>>()
                    .join("  ")
                    .trim_end()
                    .to_string()
            };
            writeln!(out, "{}", line(headers.to_vec()))?;
            writeln!(out, "{}", widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  "))?;
            for r in &rows {
                writeln!(out, "{}", line(r.iter().map(String::as_str).collect()))?;
            }
        }
    }
    Ok(())
}

/// A spinner on stderr for work that may take more than a second (hidden when stderr is
/// not a terminal, so scripts and tests see clean output).
pub fn spinner(msg: impl Into<String>) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_style(indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("valid template"));
    pb.set_message(msg.into());
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    pb
}

/// German thousands separators for counts in messages.
pub fn n(v: usize) -> String {
    quartier_core::cell::format_de(v as f64, 0)
}

/// Square metres as km² with a German decimal comma.
pub fn km2(m2: f64) -> String {
    format!("{:.2}", m2 / 1e6).replace('.', ",")
}

/// With `QUARTIER_TIMING` set, prints `timing <phase>_s=<seconds>` to stderr (read by the
/// benchmarks in `bench/`).
pub fn timing(phase: &str, since: std::time::Instant) {
    if std::env::var_os("QUARTIER_TIMING").is_some() {
        eprintln!("timing {phase}_s={:.6}", since.elapsed().as_secs_f64());
    }
}
