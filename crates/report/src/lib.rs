//! Quartier's reports and the drawing they share with the web app.
//!
//! - [`definition`]: the report definition (TOML) kept from edition to edition; [`library`]:
//!   definitions stored in the database by name.
//! - [`model`]: everything a report shows, gathered once from the store; every format
//!   renders from it, so all formats carry the same numbers.
//! - [`html`], [`xlsx`], [`pdf`], [`docx`]: the formats ([`raster`] draws the DOCX pictures); [`text`]: generated German sentences;
//!   [`markdown`]: the planner's text blocks (raw HTML escaped).
//! - [`charts`], [`map`]: server-side SVG, used by the web pages and the reports.
//! - [`format`]: German number formatting.

pub mod charts;
pub mod definition;
pub mod docx;
pub mod format;
pub mod funding;
pub mod html;
pub mod library;
pub mod map;
pub mod markdown;
pub mod model;
pub mod pdf;
pub mod raster;
pub mod text;
pub mod xlsx;

use std::path::Path;

/// Output formats of `quartier report`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Html,
    Xlsx,
    Pdf,
    Docx,
}

/// Builds the area profiles (Steckbriefe) of `areas` (None: all of the level) with the
/// definition's indicators and writes them (HTML or PDF) atomically.
pub fn write_profiles(
    store: &dyn quartier_app::store::Store,
    def: &definition::ReportDefinition,
    areas: Option<Vec<String>>,
    format: Format,
    out: &Path,
) -> Result<u64, String> {
    let bytes = render_profiles(store, def, areas, format, &mut |_| {})?;
    write_atomic(out, &bytes)?;
    Ok(bytes.len() as u64)
}

/// The area profiles of `areas` (None: all of the level) as HTML or PDF bytes.
pub fn render_profiles(
    store: &dyn quartier_app::store::Store,
    def: &definition::ReportDefinition,
    areas: Option<Vec<String>>,
    format: Format,
    progress: &mut dyn FnMut(Stage),
) -> Result<Vec<u8>, String> {
    let mut def = def.clone();
    def.profiles = match areas {
        Some(a) => definition::Profiles::Areas(a),
        None => definition::Profiles::Keyword("all".into()),
    };
    progress(Stage::Gathering);
    let report = model::build(store, &def)?;
    progress(Stage::Rendering);
    Ok(match format {
        Format::Html => html::render_profiles(&report).into_bytes(),
        Format::Pdf => pdf::render_profiles(&report),
        other => return Err(format!("Gebietsprofile gibt es als HTML und PDF, nicht als {other:?}")),
    })
}

/// The funding application sheet for one area (HTML or PDF), written atomically.
pub fn write_funding(
    store: &dyn quartier_app::store::Store,
    def: &definition::ReportDefinition,
    area: &str,
    extras: &funding::Extras,
    format: Format,
    out: &Path,
) -> Result<u64, String> {
    let bytes = render_funding(store, def, area, extras, format)?;
    write_atomic(out, &bytes)?;
    Ok(bytes.len() as u64)
}

/// The funding application sheet for one area as HTML or PDF bytes.
pub fn render_funding(
    store: &dyn quartier_app::store::Store,
    def: &definition::ReportDefinition,
    area: &str,
    extras: &funding::Extras,
    format: Format,
) -> Result<Vec<u8>, String> {
    let mut def = def.clone();
    def.profiles = definition::Profiles::Areas(vec![area.to_string()]);
    let report = model::build(store, &def)?;
    let a = report.profiles[0];
    Ok(match format {
        Format::Html => funding::render_html(&report, a, extras).into_bytes(),
        Format::Pdf => pdf::render_funding(&report, a, extras),
        other => return Err(format!("das Datenblatt gibt es als HTML und PDF, nicht als {other:?}")),
    })
}

/// Builds the report and writes it to `out` atomically: into a temporary file beside it,
/// renamed when complete, so a failure leaves no partial file.
pub fn write(
    store: &dyn quartier_app::store::Store,
    def: &definition::ReportDefinition,
    format: Format,
    out: &Path,
) -> Result<u64, String> {
    let bytes = render(store, def, format, &mut |_| {})?;
    write_atomic(out, &bytes)?;
    Ok(bytes.len() as u64)
}

/// What [`render`] is doing, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Gathering values, indices and texts from the store.
    Gathering,
    /// Laying out the format.
    Rendering,
}

impl Stage {
    pub fn label_de(self) -> &'static str {
        match self {
            Stage::Gathering => "Werte, Index und Texte werden zusammengestellt",
            Stage::Rendering => "Das Dokument wird gesetzt",
        }
    }
}

/// The report's bytes in `format`, telling `progress` each stage as it begins.
pub fn render(
    store: &dyn quartier_app::store::Store,
    def: &definition::ReportDefinition,
    format: Format,
    progress: &mut dyn FnMut(Stage),
) -> Result<Vec<u8>, String> {
    progress(Stage::Gathering);
    let report = model::build(store, def)?;
    progress(Stage::Rendering);
    Ok(match format {
        Format::Html => html::render(&report).into_bytes(),
        Format::Xlsx => xlsx::render(&report).map_err(|e| format!("XLSX: {e}"))?,
        Format::Pdf => pdf::render(&report),
        Format::Docx => docx::render(&report),
    })
}

impl Format {
    /// The file extension, which also names the format in URLs.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Xlsx => "xlsx",
            Format::Pdf => "pdf",
            Format::Docx => "docx",
        }
    }

    pub fn from_extension(ext: &str) -> Option<Format> {
        [Format::Html, Format::Xlsx, Format::Pdf, Format::Docx].into_iter().find(|f| f.extension() == ext)
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Html => "text/html; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Pdf => "application/pdf",
            Format::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        }
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(format!("{}: das Verzeichnis {} gibt es nicht", path.display(), dir.display()));
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "bericht".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        std::fs::remove_file(&tmp).ok();
        format!("{}: kann nicht geschrieben werden ({e})", path.display())
    })
}
pub mod opendata;
