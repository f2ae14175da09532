//! The `quartier` command: parses flags and wires importers, store and web app together.

mod cmd_action;
mod cmd_aggregate;
mod cmd_allocate;
mod cmd_areas;
mod cmd_backup;
mod cmd_crosswalk;
mod cmd_data;
mod cmd_disclosure;
mod cmd_export;
mod cmd_index;
mod cmd_indicators;
mod cmd_offers;
mod cmd_report;
mod cmd_segregation;
mod cmd_spatial;
mod cmd_user;
mod demo;
mod output;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use output::Format;
use quartier_app::store::{Location, Store};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Quartier – integrierte strategische Sozialplanung für Kommunen und Kreise.
///
/// Gebiete und Daten importieren, prüfen und als Karte zeigen. Alle Importe sind
/// Transaktionen: bei einem Fehler bleibt die Datenbank unverändert.
#[derive(Parser)]
#[command(name = "quartier", version, propagate_version = true, max_term_width = 110)]
struct Cli {
    /// SQLite-Datenbankdatei
    #[arg(long, global = true, env = "QUARTIER_DB", default_value = "quartier.db")]
    db: PathBuf,
    /// Statt der Datei ein PostgreSQL-Server: postgres://NUTZER:PASSWORT@HOST/DATENBANK
    #[arg(long, global = true, env = "QUARTIER_DATABASE", value_name = "URL")]
    database: Option<String>,
    /// Gebiete und Werte des Gebietsstands, der an diesem Tag galt (JJJJ-MM-TT), statt des
    /// heutigen: z. B. ein Jahr vor einer Gebietsreform auf den Gebieten von damals
    #[arg(long, global = true, value_name = "DATUM", value_parser = iso_date)]
    boundaries_at: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Startet die Web-Oberfläche mit den eingebauten Berliner Demodaten (MSS 2013–2019)
    Demo {
        /// Adresse des Webservers
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Demodatenbank hier anlegen und behalten (Standard: temporär, wird beim Beenden gelöscht)
        #[arg(long)]
        keep: Option<PathBuf>,
        /// Nur die Datenbank anlegen (mit --keep), keinen Webserver starten
        #[arg(long, requires = "keep")]
        no_serve: bool,
        /// Öffentliche Ansicht mit Geheimhaltung (Schwelle 3)
        #[arg(long)]
        public: bool,
        /// Keine Änderungen über die Verwaltung zulassen
        #[arg(long)]
        read_only: bool,
    },
    /// Startet die Web-Oberfläche auf der Datenbank (--db)
    Serve {
        /// Adresse des Webservers
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Öffentliche Ansicht: Geheimhaltung auf alle gezeigten Anzahlen und Quoten anwenden
        #[arg(long)]
        public: bool,
        /// Schwelle der Geheimhaltung (mit --public)
        #[arg(long, default_value_t = cmd_disclosure::DEFAULT_THRESHOLD)]
        disclosure_threshold: f64,
        /// Änderungen (Importe, Indikatoren, Indizes) über die Verwaltung auch zulassen, wenn der
        /// Server nicht nur lokal lauscht – bis es Konten gibt, nur im geschützten Netz
        #[arg(long, conflicts_with_all = ["public", "read_only"])]
        edit: bool,
        /// Keine Änderungen über die Verwaltung zulassen (Standard, wenn nicht lokal)
        #[arg(long)]
        read_only: bool,
        /// Mit Konten: Besucherinnen ohne Anmeldung sehen die veröffentlichten Seiten (Übersicht,
        /// Karte, Gebiete, Indikatoren, Index, Angebote) mit Geheimhaltung statt der Anmeldeseite
        #[arg(long, conflicts_with = "public")]
        public_view: bool,
        /// Adressen vorgeschalteter Reverse-Proxys (z. B. 127.0.0.1): nur von ihnen gilt
        /// X-Forwarded-For als Adresse der Besucherin (für die Anmeldesperre); sonst wird der
        /// Kopf ignoriert
        #[arg(long, env = "QUARTIER_TRUSTED_PROXY", value_delimiter = ',', value_name = "ADRESSE[,ADRESSE…]")]
        trusted_proxy: Vec<std::net::IpAddr>,
        /// Grundkarte unter der interaktiven Karte: eine XYZ/WMTS-Rasteradresse mit {z}/{x}/{y}
        /// oder die Adresse eines MapLibre-Stils (z. B. basemap.de). Ohne: keine Grundkarte,
        /// Quartier bleibt ganz offline; die Sicherheitsrichtlinie erlaubt genau diesen Server.
        #[arg(long, value_name = "URL")]
        basemap: Option<String>,
        /// Quellenangabe der Grundkarte (z. B. "© GeoBasis-DE / BKG (2026) CC BY 4.0")
        #[arg(long, value_name = "TEXT", requires = "basemap", default_value = "")]
        basemap_attribution: String,
        /// Anfragen je Minute und API-Schlüssel an /api und /ogc (darüber: 429 mit Retry-After)
        #[arg(long, value_name = "N", default_value_t = quartier_web::DEFAULT_API_RATE, value_parser = clap::value_parser!(u32).range(1..))]
        api_rate: u32,
    },
    /// Gebietsebenen definieren und anzeigen (z. B. Bezirk → Bezirksregion → Planungsraum)
    #[command(subcommand)]
    Levels(LevelsCmd),
    /// Gebiete oder statistische Daten importieren
    #[command(subcommand)]
    Import(Box<cmd_areas::ImportCmd>),
    /// Gebiete auflisten und bearbeiten; Gebietsstände (areas versions)
    #[command(subcommand)]
    Areas(cmd_areas::AreasCmd),
    /// Umstiege zwischen Gebietsständen: Schlüsseltabelle, Verschneidung, Bevölkerungsgewichte;
    /// frühere Jahre auf die neuen Gebiete übertragen
    #[command(subcommand)]
    Crosswalk(cmd_crosswalk::CrosswalkCmd),
    /// Gespeicherte Merkmale und Werte anzeigen
    #[command(subcommand)]
    Data(cmd_data::DataCmd),
    /// Indikatoren: Katalog laden, berechnen, Statistik, Veränderung
    #[command(subcommand)]
    Indicators(cmd_indicators::IndicatorsCmd),
    /// Sozialindex berechnen (Berliner MSS: Status, Dynamik, Klassen)
    #[command(subcommand)]
    Index(cmd_index::IndexCmd),
    /// Georeferenzierte Einzeldatensätze je Gebiet zählen (Einzeldaten werden nicht gespeichert)
    Aggregate(cmd_aggregate::AggregateArgs),
    /// Räumliche Autokorrelation: Moran's I und LISA-Cluster
    #[command(subcommand)]
    Spatial(cmd_spatial::SpatialCmd),
    /// Geheimhaltung: Tabellen vor der Veröffentlichung prüfen
    #[command(subcommand)]
    Disclosure(cmd_disclosure::DisclosureCmd),
    /// Sozialbericht aus einer Berichtsdefinition erzeugen (HTML, PDF, XLSX)
    Report(cmd_report::ReportArgs),
    /// Berichtsdefinitionen in der Datenbank: auflisten, zeigen, speichern, entfernen
    #[command(subcommand)]
    Reports(cmd_report::ReportsCmd),
    /// Angebotsverzeichnis (Träger, Angebote, Standorte; HSDS)
    #[command(subcommand)]
    Offers(cmd_offers::OffersCmd),
    /// Versorgung je Gebiet und Zielgruppe: Angebote, Kapazität je 1.000, Erreichbarkeit
    Supply(cmd_offers::SupplyArgs),
    /// Lücken: hoher Bedarf bei geringer Versorgung
    Gaps(cmd_offers::GapsArgs),
    /// Sozialraum- und Fachplanungskonferenzen festhalten
    #[command(subcommand)]
    Conference(cmd_action::ConferenceCmd),
    /// Maßnahmen festhalten und ihre Wirkung beobachten
    #[command(subcommand)]
    Measure(cmd_action::MeasureCmd),
    /// Ein Budget nach Bedarf verteilen (neben der Gießkanne)
    Allocate(cmd_allocate::AllocateArgs),
    /// Datenblatt „Ausgangslage“ eines Gebiets für Förderanträge (HTML oder PDF)
    FundingSheet(cmd_report::FundingArgs),
    /// Gebietsprofile (Steckbriefe) für ein Gebiet oder alle, als HTML oder PDF
    Profiles(cmd_report::ProfilesArgs),
    /// Die ganze Datenbank in eine neue, leere kopieren: SQLite-Datei → PostgreSQL oder zurück
    #[command(after_help = "Beispiele:
  quartier --db quartier.db copy --to postgres://quartier:PASSWORT@db.kreis.de/sozialplanung?sslmode=verify-full&sslrootcert=ca.pem
  quartier --database postgres://quartier@127.0.0.1/sozialplanung copy --to laptop.db

Kopiert werden Ebenen, Gebiete mit Geometrien, Daten mit Zeichen, Stichtagen, Kennzeichen und
ersetzten Werten, Importprotokoll, Katalog, eingefrorene Klassengrenzen, Indizes, Berichts-
und andere Einstellungen, Angebote, Konferenzen, Maßnahmen, Konten und das Auditprotokoll
(keine Sitzungen). Eine Transaktion; jede Tabelle wird vor dem Abschluss mit Zeilenzahl und
Prüfsumme verglichen.")]
    Copy {
        /// Ziel: postgres://… oder eine neue SQLite-Datei
        #[arg(long)]
        to: String,
        #[arg(long, value_enum, default_value_t = output::Format::Table)]
        format: output::Format,
    },
    /// Daten veröffentlichen (offene Daten mit Geheimhaltung)
    #[command(subcommand)]
    Export(cmd_export::ExportCmd),
    /// Segregation über die Jahre: Dissimilarität, Segregation, Isolation, Kontakt
    Segregation(cmd_segregation::SegregationArgs),
    /// Klassen für Karten bilden (Methoden wie mapclassify)
    Classify(cmd_indicators::ClassifyArgs),
    /// Konten der Web-Oberfläche und das Änderungsprotokoll
    #[command(subcommand)]
    User(cmd_user::UserCmd),
    /// Die Datenbank sichern (auch während der Server läuft; PostgreSQL über pg_dump)
    Backup {
        /// Zieldatei (darf noch nicht existieren)
        out: PathBuf,
    },
    /// Eine Sicherung zurückspielen (SQLite: Server vorher anhalten, die bisherige Datei bleibt
    /// daneben; PostgreSQL: pg_restore in einer Transaktion)
    Restore {
        /// Sicherungsdatei
        from: PathBuf,
    },
    /// Protokoll der Importe
    Log {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Subcommand)]
enum LevelsCmd {
    /// Legt die Ebenen von oben nach unten fest; vorhandene behalten ihre Reihenfolge
    Define {
        /// Ebenennamen, oberste zuerst
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Zeigt die Ebenen mit der Zahl ihrer Gebiete
    List {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

/// Opens the database: the SQLite file `db`, or the server when `db` is a `postgres://` URL
/// (what `--database` sets).
pub fn open(db: &Path) -> Result<Box<dyn Store + Send>> {
    let location = Location::from_path(db);
    let store = location.open().with_context(|| format!("Datenbank {location} kann nicht geöffnet werden"))?;
    store.set_boundary_date(BOUNDARIES_AT.get().cloned());
    Ok(store)
}

/// `--boundaries-at`: the boundary set every store opened by this command reads.
static BOUNDARIES_AT: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn iso_date(s: &str) -> std::result::Result<String, String> {
    match quartier_core::date::days_from_iso(s).map(quartier_core::date::iso_from_days) {
        Some(d) if d == s => Ok(d),
        _ => Err(format!("„{s}“ ist kein Datum der Form JJJJ-MM-TT")),
    }
}

/// Whether `db` names an SQLite file that does not exist (a server URL is never missing).
pub fn missing(db: &Path) -> bool {
    Location::from_path(db).file().is_some_and(|f| !f.exists())
}

/// Opens an existing database for reading.
pub fn open_read_only(db: &Path) -> Result<Box<dyn Store + Send>> {
    let location = Location::from_path(db);
    let store = location.open_read_only().with_context(|| format!("Datenbank {location} kann nicht gelesen werden"))?;
    store.set_boundary_date(BOUNDARIES_AT.get().cloned());
    Ok(store)
}

/// glibc hands freed memory back to the kernel as soon as a few hundred KB are free and maps
/// every block over 128 KB fresh, so each analysis of a few MB (an index, a map page) faults
/// its pages in again: measured 3.2× the page faults and about 40 % more time for the IMD
/// benchmark (bench/README.md). Blocks under 32 MB now come from the heap and up to 64 MB of
/// free memory stay for reuse.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called first in `main`, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 64 << 20);
    }
}

fn main() {
    keep_freed_memory();
    // `quartier … | head`: printing into a closed pipe ends the program quietly, as Unix
    // tools do, instead of panicking in `println!`.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload.downcast_ref::<String>().map(String::as_str).or_else(|| payload.downcast_ref::<&str>().copied()).unwrap_or("");
        if msg.contains("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default_hook(info);
    }));
    let mut cli = Cli::parse();
    if let Some(url) = cli.database.take().filter(|u| !u.is_empty()) {
        cli.db = PathBuf::from(url);
    }
    if let Some(d) = cli.boundaries_at.take() {
        let _ = BOUNDARIES_AT.set(d);
    }
    if let Err(e) = run(cli) {
        // A closed pipe (`quartier … | head`) is not an error worth reporting.
        let broken_pipe = |c: &(dyn std::error::Error + 'static)| {
            c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
                || c.downcast_ref::<csv::Error>()
                    .is_some_and(|ce| matches!(ce.kind(), csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::BrokenPipe))
                || c.downcast_ref::<serde_json::Error>().is_some_and(|je| je.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe))
        };
        if e.chain().any(broken_pipe) {
            std::process::exit(0);
        }
        eprintln!("Fehler: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Demo { addr, keep, no_serve, public, read_only } => {
            let public = public.then_some(cmd_disclosure::DEFAULT_THRESHOLD);
            demo::run(
                addr,
                keep,
                no_serve,
                ServeMode {
                    public,
                    edit: edits_allowed(addr, public, false, read_only),
                    public_view: None,
                    trusted_proxies: vec![],
                    basemap: None,
                    api_rate: quartier_web::DEFAULT_API_RATE,
                },
            )
        }
        Command::Serve {
            addr,
            public,
            disclosure_threshold,
            edit,
            read_only,
            public_view,
            trusted_proxy,
            basemap,
            basemap_attribution,
            api_rate,
        } => {
            let basemap = basemap.map(|u| quartier_web::Basemap::new(&u, &basemap_attribution)).transpose().map_err(anyhow::Error::msg)?;
            open(&cli.db)?;
            if (public || public_view) && (disclosure_threshold.is_nan() || disclosure_threshold < 1.0) {
                anyhow::bail!("--disclosure-threshold muss mindestens 1 sein");
            }
            let public = public.then_some(disclosure_threshold);
            let public_view = public_view.then_some(disclosure_threshold);
            serve(
                cli.db,
                addr,
                ServeMode {
                    public,
                    edit: edits_allowed(addr, public, edit, read_only),
                    public_view,
                    trusted_proxies: trusted_proxy,
                    basemap,
                    api_rate,
                },
            )
        }
        Command::Levels(LevelsCmd::Define { names }) => {
            let mut s = open(&cli.db)?;
            let levels = s.define_levels(&names)?;
            println!("Ebenen: {}", levels.iter().map(|l| l.name.as_str()).collect::<Vec<_>>().join(" → "));
            Ok(())
        }
        Command::Levels(LevelsCmd::List { format }) => {
            let s = open(&cli.db)?;
            let levels = s.levels()?;
            let rows = levels.iter().map(|l| vec![l.rank.to_string(), l.name.clone(), l.areas.to_string()]).collect();
            output::emit(format, &["rank", "level", "areas"], rows, &levels)
        }
        Command::Import(c) => cmd_areas::import(&cli.db, *c),
        Command::Areas(c) => cmd_areas::areas(&cli.db, c),
        Command::Crosswalk(c) => cmd_crosswalk::run(&cli.db, c),
        Command::Data(c) => cmd_data::run(&cli.db, c),
        Command::Indicators(c) => cmd_indicators::run(&cli.db, c),
        Command::Classify(a) => cmd_indicators::classify_cmd(&cli.db, a),
        Command::Index(c) => cmd_index::run(&cli.db, c),
        Command::Segregation(a) => cmd_segregation::run(&cli.db, a),
        Command::Spatial(c) => cmd_spatial::run(&cli.db, c),
        Command::Aggregate(a) => cmd_aggregate::run(&cli.db, a),
        Command::Disclosure(c) => cmd_disclosure::run(&cli.db, c),
        Command::Report(a) => cmd_report::run(&cli.db, a),
        Command::Reports(c) => cmd_report::reports(&cli.db, c),
        Command::Export(c) => cmd_export::run(&cli.db, c),
        Command::Copy { to, format } => {
            let from = Location::from_path(&cli.db);
            let target = Location::parse(&to);
            if from == target {
                anyhow::bail!("Quelle und Ziel sind dieselbe Datenbank");
            }
            let pb = output::spinner(format!("Kopiere nach {target}"));
            let report = quartier_app::store::copy::copy_database(&from, &target, |t, n| pb.set_message(format!("{t}: {n} Zeilen")))?;
            pb.finish_and_clear();
            let rows: Vec<Vec<String>> = report.tables.iter().map(|(t, n, c)| vec![t.clone(), n.to_string(), c.clone()]).collect();
            output::emit(format, &["table", "rows", "checksum"], rows, &report.tables)?;
            if format == output::Format::Table {
                println!(
                    "Kopiert und geprüft: {} Tabellen, {} Zeilen.",
                    report.tables.len(),
                    report.tables.iter().map(|t| t.1).sum::<usize>()
                );
            }
            Ok(())
        }
        Command::Profiles(a) => cmd_report::profiles(&cli.db, a),
        Command::FundingSheet(a) => cmd_report::funding(&cli.db, a),
        Command::Allocate(a) => cmd_allocate::run(&cli.db, a),
        Command::Offers(c) => cmd_offers::run(&cli.db, c),
        Command::Backup { out } => cmd_backup::backup(&cli.db, &out),
        Command::User(c) => cmd_user::run(&cli.db, c),
        Command::Restore { from } => cmd_backup::restore(&cli.db, &from),
        Command::Conference(c) => cmd_action::conference(&cli.db, c),
        Command::Measure(c) => cmd_action::measure(&cli.db, c),
        Command::Supply(a) => cmd_offers::supply(&cli.db, a),
        Command::Gaps(a) => cmd_offers::gaps(&cli.db, a),
        Command::Log { format } => {
            let s = open(&cli.db)?;
            let log = s.imports()?;
            let rows = log
                .iter()
                .map(|i| {
                    let undone =
                        i.undone_at.as_ref().map(|at| format!("{at} ({})", i.undone_by.as_deref().unwrap_or(""))).unwrap_or_default();
                    vec![i.id.to_string(), i.at.clone(), i.kind.clone(), i.file.clone(), i.summary.clone(), i.who.clone(), undone]
                })
                .collect();
            output::emit(format, &["id", "at", "kind", "file", "summary", "who", "undone"], rows, &log)
        }
    }
}

/// How the web server runs: public (disclosure threshold) or internal, with or without changes.
pub struct ServeMode {
    pub public: Option<f64>,
    pub edit: bool,
    /// With accounts, the public view for anonymous visitors at this threshold.
    pub public_view: Option<f64>,
    /// Reverse proxies trusted to name the client in X-Forwarded-For.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// A base map under the interactive map.
    pub basemap: Option<quartier_web::Basemap>,
    /// Requests per minute and API token.
    pub api_rate: u32,
}

/// Until there are accounts, changes through the browser are allowed on a server that only
/// this machine reaches (loopback) or when asked for explicitly; never in the public view.
fn edits_allowed(addr: SocketAddr, public: Option<f64>, edit: bool, read_only: bool) -> bool {
    public.is_none() && !read_only && (edit || addr.ip().is_loopback())
}

/// Runs the web server until Ctrl-C.
pub fn serve(db: PathBuf, addr: SocketAddr, mode: ServeMode) -> Result<()> {
    // Every internal server can take changes once someone signs in with an account; without
    // accounts only in local mode (`mode.edit`).
    let edit = if mode.public.is_none() {
        let user = std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "lokal".into());
        Some(std::sync::Arc::new(quartier_web::Editing::new(&format!("{user} (Browser)"), mode.edit).context("Upload-Verzeichnis")?))
    } else {
        None
    };
    // More workers than cores: a worker busy rendering a large page (thousands of areas) must
    // not hold up the cached pages waiting behind it on the same worker.
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2) * 4;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build()?;
    let options = quartier_web::Options {
        public: mode.public,
        edit: edit.clone(),
        public_view: mode.public_view,
        trusted_proxies: mode.trusted_proxies.clone(),
        basemap: mode.basemap.clone(),
        api_rate: Some(mode.api_rate),
    };
    rt.block_on(quartier_web::serve(Location::from_path(&db), addr, options, |a| {
        println!("Quartier läuft auf http://{a}/  (Beenden mit Strg+C)");
        if edit.as_ref().is_some_and(|e| e.local) {
            println!("Änderungen über die Verwaltung: http://{a}/verwaltung");
        }
    }))
    .with_context(|| format!("Webserver auf {addr} konnte nicht starten (Adresse belegt? andere mit --addr wählen)"))?;
    println!("Beendet.");
    Ok(())
}
