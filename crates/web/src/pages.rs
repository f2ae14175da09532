//! Page handlers and their templates. All user-visible text is German and lives here.

use crate::map;
use crate::{AppError, AppState};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use maud::{DOCTYPE, Markup, html};
use quartier_app::store::{Level, Store, VariableRecord};
use quartier_app::views::{self, AreaValue, Origin};
use quartier_core::classify;
use serde::Deserialize;
use std::collections::HashMap;

fn layout(title: &str, body: Markup, attribution: Option<&str>) -> Markup {
    layout_nav(title, "karte", body, attribution)
}

/// The page frame: header with navigation (`current` marks the section) and area search,
/// main content, footer.
pub(crate) fn layout_nav(title: &str, current: &str, body: Markup, attribution: Option<&str>) -> Markup {
    const NAV: [(&str, &str, &str); 9] = [
        ("uebersicht", "/", "Übersicht"),
        ("karte", "/karte", "Karte"),
        ("indikatoren", "/indikatoren", "Indikatoren"),
        ("gebiete", "/gebiete", "Gebiete"),
        ("vergleich", "/vergleich", "Vergleich"),
        ("daten", "/daten", "Daten"),
        ("angebote", "/angebote", "Angebote"),
        ("werkstatt", "/werkstatt/indikator", "Werkstatt"),
        ("berichte", "/berichte", "Berichte"),
    ];
    html! {
        (DOCTYPE)
        html lang="de" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " – Quartier" }
                link rel="stylesheet" href="/static/style.css";
                link rel="icon" href="/static/icon.svg" type="image/svg+xml";
                script src="/static/app.js" defer {}
            }
            body {
                a.skip href="#inhalt" { "Zum Inhalt springen" }
                header.top {
                    a.brand href="/" { "Quartier" }
                    span.tagline { "Integrierte Sozialplanung – Von Daten zu Taten" }
                    nav aria-label="Hauptnavigation" {
                        ul {
                            @for (id, href, label) in NAV {
                                li { a href=(href) aria-current=[(id == current).then_some("page")] { (label) } }
                            }
                        }
                    }
                    form.search role="search" action="/gebiete" method="get" {
                        label for="suche" { "Gebiet suchen" }
                        input #suche type="search" name="q" placeholder="Name oder Schlüssel" autocomplete="off";
                        button type="submit" { "Suchen" }
                    }
                }
                main #inhalt { (body) }
                footer {
                    @if let Some(a) = attribution { p { (a) } }
                    p { "Quartier – Kartengrundlage aus den gespeicherten Gebietsgeometrien, ohne externe Kartendienste." }
                }
            }
        }
    }
}

/// Percent-encodes a URL component (everything but unreserved characters).
pub(crate) fn url(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub fn error_page(status: StatusCode, msg: &str) -> Markup {
    layout(
        "Fehler",
        html! {
            h1 { "Fehler " (status.as_u16()) }
            p role="alert" { (msg) }
            p { a href="/" { "Zur Startseite" } }
        },
        None,
    )
}

/// Query of the map page.
#[derive(Debug, Default, Deserialize)]
pub struct MapQuery {
    /// `indicator:ID` or `variable:KEY` (the form's select).
    pub subject: Option<String>,
    pub indicator: Option<String>,
    pub variable: Option<String>,
    pub year: Option<String>,
    pub level: Option<String>,
    pub k: Option<String>,
    /// Classification method (mapclassify names as in `quartier classify`).
    pub method: Option<String>,
    /// `tabelle`: the table instead of the map (the map's text alternative; maps of many
    /// areas link to it instead of carrying it inline).
    pub ansicht: Option<String>,
    /// `divergierend`: colours diverging around the reference value (default sequential).
    pub farben: Option<String>,
    /// `csv` or `xlsx`: the table as a download.
    pub format: Option<String>,
    /// `1`: significant LISA clusters of the indicator outlined on its map.
    pub lisa: Option<String>,
    /// `1`: the page as the public sees it (disclosure control), on an internal server.
    pub oeffentlich: Option<String>,
}

/// Up to this many areas the table is part of the map page; beyond, the page links to it.
const INLINE_TABLE_MAX: usize = 1500;

/// Beyond this many areas the interactive map's page leaves its SVG out (megabytes of paths):
/// without JavaScript it shows the SVG as an image (`format=svg`).
const INLINE_SVG_MAX: usize = 5000;

/// The map as an SVG document of its own (presentation attributes, no stylesheet): what a
/// browser without JavaScript shows for a level too large to carry inline.
fn standalone_svg(d: &MapData, shapes: &crate::cache::MapPaths, p: &Presented) -> Option<String> {
    if shapes.paths.is_empty() {
        return None;
    }
    let var = d.variable.as_ref()?;
    let label = if var.label.is_empty() { &var.key } else { &var.label };
    let title = format!("Karte: {label} {} – {}", d.year.unwrap_or_default(), d.level);
    let doc = html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox=(shapes.view_box) role="img" aria-label=(title) {
            title { (title) }
            g stroke="#6b6b70" stroke-width="0.4" {
                @for v in &d.values {
                    @if let Some(path) = shapes.paths.get(&v.area) {
                        path d=(path) fill=(v.value.and_then(|x| p.class_of(x)).map(|c| p.colors[c]).unwrap_or("#f2f2f2")) {}
                    }
                }
            }
            @if !shapes.parents.is_empty() {
                g fill="none" stroke="#222" stroke-width="1.4" { @for path in &shapes.parents { path d=(path) {} } }
            }
        }
    };
    Some(doc.into_string())
}

/// What the map page shows.
struct View {
    map: bool,
    table: bool,
    diverging: bool,
    /// On an internal server: whether the public view is being previewed (the switch is
    /// shown); `None` on a public server (no switch).
    public_switch: Option<bool>,
    /// The page's own query without `ansicht`, for the links between the views.
    query: String,
    /// The interactive map over the SVG (None: no geometries; the SVG alone).
    interactive: Option<Interactive>,
}

/// What the interactive map needs from the page: where to look, the level above for its
/// outlines, the optional base map.
struct Interactive {
    bounds: [f64; 4],
    parent: Option<String>,
    basemap: Option<std::sync::Arc<crate::Basemap>>,
}

pub(crate) struct MapData {
    pub(crate) variables: Vec<VariableRecord>,
    pub(crate) indicators: Vec<(String, String)>,
    /// Saved indices (id, name) and the shown one.
    pub(crate) indices: Vec<(String, String)>,
    pub(crate) index: Option<String>,
    /// Fixed classes 1..=n with these labels (MSS status classes) instead of quantiles.
    pub(crate) class_labels: Option<Vec<String>>,
    /// Per area the text of the last table column (index maps).
    pub(crate) notes: HashMap<String, String>,
    /// Classes are types without order (area types): qualitative colours.
    pub(crate) categorical: bool,
    /// Colours per class (LISA clusters), overriding the schemes.
    pub(crate) custom_colors: Option<Vec<&'static str>>,
    /// The indicator whose LISA clusters are shown.
    pub(crate) lisa: Option<String>,
    /// The shown area types' index id.
    pub(crate) types: Option<String>,
    /// The shown indicator's id, if an indicator (not a variable) is shown.
    pub(crate) indicator: Option<String>,
    pub(crate) reference: Option<f64>,
    pub(crate) levels: Vec<Level>,
    pub(crate) variable: Option<VariableRecord>,
    pub(crate) year: Option<i32>,
    pub(crate) level: String,
    pub(crate) k: usize,
    pub(crate) values: Vec<AreaValue>,
    /// The level's outlines as SVG paths (cached per level; set by `map_page`).
    pub(crate) shapes: Option<std::sync::Arc<crate::cache::MapPaths>>,
    /// Significant LISA clusters (area, HH/LH/LL/HL) outlined over an indicator map.
    pub(crate) overlay: Option<Vec<(String, &'static str)>>,
    pub(crate) attribution: Option<String>,
    /// The boundary set shown: valid at this date (None: today's).
    pub(crate) boundary: Option<String>,
}

impl MapData {
    /// The selection lists every map page shows, with empty content.
    fn new(
        variables: Vec<VariableRecord>,
        indicators: Vec<(String, String)>,
        indices: Vec<(String, String)>,
        levels: Vec<Level>,
        level: String,
        k: usize,
        attribution: Option<String>,
    ) -> MapData {
        MapData {
            variables,
            indicators,
            indices,
            index: None,
            class_labels: None,
            notes: HashMap::new(),
            categorical: false,
            custom_colors: None,
            lisa: None,
            types: None,
            indicator: None,
            reference: None,
            levels,
            variable: None,
            year: None,
            level,
            k,
            values: vec![],
            shapes: None,
            overlay: None,
            attribution,
            boundary: None,
        }
    }
}

fn load(
    store: &dyn Store,
    q: &MapQuery,
    public: Option<f64>,
    cache: &crate::cache::Cache,
    db: &quartier_app::store::Location,
) -> Result<MapData, AppError> {
    let variables: Vec<VariableRecord> = cache.variables(db, store)?.as_ref().clone();
    let levels = store.levels()?;
    let mut attribution = store.setting("attribution")?;
    if let Some(t) = public {
        let notice = format!(
            "Öffentliche Ansicht: Anzahlen unter {} und Werte, aus denen sie sich zurückrechnen ließen, sind gesperrt (*).",
            fmt_de(t, 0)
        );
        attribution = Some(match attribution {
            Some(a) => format!("{a} {notice}"),
            None => notice,
        });
    }
    let default_level = levels.iter().rev().find(|l| l.areas > 0).map(|l| l.name.clone()).unwrap_or_default();
    let level = q.level.clone().filter(|l| !l.is_empty()).unwrap_or(default_level);
    if !level.is_empty() && !levels.iter().any(|l| l.name == level) {
        return Err(AppError::NotFound(format!("Ebene „{level}“ gibt es nicht")));
    }
    let catalogue = store.catalogue()?;
    let indicators: Vec<(String, String)> = catalogue.indicators.iter().map(|i| (i.id.clone(), i.name.clone())).collect();
    let saved = store.index_definitions()?;
    let indices: Vec<(String, String)> = saved
        .iter()
        .filter_map(|(id, t)| {
            quartier_core::index::IndexDefinition::from_toml(t)
                .ok()
                .map(|d| (id.clone(), if d.name.is_empty() { id.clone() } else { d.name }))
        })
        .collect();
    let (mut want_indicator, mut want_variable) =
        (q.indicator.clone().filter(|v| !v.is_empty()), q.variable.clone().filter(|v| !v.is_empty()));
    if let Some(subject) = q.subject.as_deref() {
        match subject.split_once(':') {
            Some(("indicator", id)) => want_indicator = Some(id.to_string()),
            Some(("variable", key)) => want_variable = Some(key.to_string()),
            Some(("lisa", id)) => {
                let base = MapData {
                    categorical: true,
                    lisa: Some(id.to_string()),
                    ..MapData::new(variables, indicators, indices, levels, level, 5, attribution)
                };
                return load_lisa(store, &catalogue, id, q, base);
            }
            Some((kind @ ("index" | "types"), id)) => {
                let text = saved
                    .iter()
                    .find(|(i, _)| i == id)
                    .map(|(_, t)| t.clone())
                    .ok_or_else(|| AppError::NotFound(format!("Index „{id}“ gibt es nicht")))?;
                let base = MapData {
                    index: Some(id.to_string()),
                    ..MapData::new(variables, indicators, indices, levels, level, parse_k(q)?, attribution)
                };
                return if kind == "index" { load_index(store, &text, q, base) } else { load_types(store, &text, q, base) };
            }
            _ => return Err(AppError::BadRequest(format!("unbekannte Auswahl „{subject}“"))),
        }
    }
    if want_indicator.is_none() && want_variable.is_none() {
        want_indicator = store.setting("default_indicator")?;
        if want_indicator.is_none() {
            want_variable = store.setting("default_variable")?;
        }
    }
    if let Some(id) = &want_indicator {
        let computed = cache.indicator(db, store, public, id).map_err(crate::indicators_error)?;
        let mut d = load_indicator(store, &catalogue, id, q, &computed, variables, indicators, levels, level, attribution)?;
        d.indices = indices;
        return Ok(d);
    }
    let wanted = want_variable;
    let variable = match &wanted {
        Some(v) => Some(
            variables.iter().find(|x| &x.key == v).cloned().ok_or_else(|| AppError::NotFound(format!("Merkmal „{v}“ gibt es nicht")))?,
        ),
        None => variables.first().cloned(),
    };
    let year = match q.year.as_deref().filter(|y| !y.is_empty()) {
        Some(y) => Some(y.parse::<i32>().map_err(|_| AppError::BadRequest(format!("„{y}“ ist kein Jahr")))?),
        None => variable.as_ref().and_then(|v| v.years.last().copied()),
    };
    let k = match q.k.as_deref().filter(|k| !k.is_empty()) {
        Some(k) => k
            .parse::<usize>()
            .ok()
            .filter(|k| (2..=7).contains(k))
            .ok_or_else(|| AppError::BadRequest("Klassenzahl muss zwischen 2 und 7 liegen".into()))?,
        None => 5,
    };
    let values = match (&variable, year, level.is_empty()) {
        (Some(v), Some(y), false) => match public {
            Some(t) => views::public_level_values(store, &v.key, v.kind, y, &level, t)?,
            None => views::level_values(store, &v.key, v.kind, y, &level)?,
        },
        _ => vec![],
    };
    Ok(MapData { variable, year, values, ..MapData::new(variables, indicators, indices, levels, level, k, attribution) })
}

fn parse_k(q: &MapQuery) -> Result<usize, AppError> {
    match q.k.as_deref().filter(|k| !k.is_empty()) {
        Some(k) => k
            .parse::<usize>()
            .ok()
            .filter(|k| (2..=7).contains(k))
            .ok_or_else(|| AppError::BadRequest("Klassenzahl muss zwischen 2 und 7 liegen".into())),
        None => Ok(5),
    }
}

/// Completes a map page for `year` (the common tail of every map kind; the outlines are
/// added from the cache by `map_page`).
fn for_year(mut d: MapData, year: i32) -> Result<MapData, AppError> {
    d.year = Some(year);
    Ok(d)
}

/// The map of a saved index: MSS-style indices in their four status classes (with dynamics
/// and attention in the table), other methods by their score in quantile classes.
fn load_index(store: &dyn Store, text: &str, q: &MapQuery, mut d: MapData) -> Result<MapData, AppError> {
    use quartier_core::index::{IndexDefinition, IndexMethod};
    let def = IndexDefinition::from_toml(text).map_err(AppError::Internal)?;
    // The index's own level, unless another level was chosen explicitly.
    if let Some(l) = &def.level
        && q.level.as_deref().is_none_or(str::is_empty)
    {
        d.level = l.clone();
    }
    // Years: those of the variables behind the index's indicators, where it can be computed.
    let cat = store.catalogue()?;
    let vars = &d.variables;
    let mut years: Vec<i32> = Vec::new();
    for ind in def.indicators() {
        if let Some(i) = cat.get(&ind) {
            for v in i.expr().variables() {
                if let Some(rec) = vars.iter().find(|x| x.key == v) {
                    years.extend(&rec.years);
                }
            }
        }
    }
    years.sort_unstable();
    years.dedup();
    let want = match q.year.as_deref().filter(|y| !y.is_empty()) {
        Some(y) => vec![y.parse::<i32>().map_err(|_| AppError::BadRequest(format!("„{y}“ ist kein Jahr")))?],
        None => years.iter().rev().copied().collect(),
    };
    let mut at_level = def.clone();
    at_level.level = Some(d.level.clone());
    let mut result = None;
    for y in &want {
        if let Ok(t) = quartier_app::indexing::compute_index(store, &at_level, &def.id, Some(*y)) {
            result = Some((*y, t));
            break;
        }
    }
    let (year, table) = result
        .ok_or_else(|| AppError::NotFound(format!("Index „{}“ ist auf Ebene „{}“ für {:?} nicht berechenbar", def.id, d.level, want)))?;
    let areas: HashMap<String, quartier_app::store::AreaRecord> =
        store.areas(Some(&d.level))?.into_iter().map(|a| (a.key.clone(), a)).collect();
    let main = match def.method {
        IndexMethod::Mss => "status_class",
        IndexMethod::Svi => "RPL_THEMES",
        IndexMethod::Imd => "imd_score",
        IndexMethod::Gisd => "score",
        IndexMethod::Weighted => "index",
    };
    for row in &table.json {
        let key = row["area_id"].as_str().unwrap_or_default().to_string();
        let Some(a) = areas.get(&key) else { continue };
        let rated = row["rated"].as_bool().unwrap_or(false);
        let note = if !rated {
            format!("nicht bewertet: {}", row["reason_not_rated"].as_str().unwrap_or(""))
        } else if def.method == IndexMethod::Mss {
            let mut t = format!("{} / {}", row["status_label"].as_str().unwrap_or("–"), row["dynamics_label"].as_str().unwrap_or("–"));
            if let Some(r) = row["attention_reason"].as_str() {
                t.push_str(&format!("; Aufmerksamkeit: {r}"));
            }
            t
        } else {
            String::new()
        };
        d.notes.insert(key.clone(), note);
        d.values.push(AreaValue {
            area: key,
            name: a.name.clone(),
            level: a.level.clone(),
            parent: a.parent.clone(),
            value: row[main].as_f64(),
            symbol: (!rated).then_some("nicht bewertet"),
            origin: Origin::Delivered,
        });
    }
    if def.method == IndexMethod::Mss {
        d.class_labels =
            Some(quartier_core::index::mss::STATUS_LABELS.iter().enumerate().map(|(i, l)| format!("{} – Status {l}", i + 1)).collect());
    }
    d.variable = Some(VariableRecord {
        key: def.id.clone(),
        label: if def.name.is_empty() { def.id.clone() } else { def.name.clone() },
        unit: String::new(),
        kind: quartier_core::validate::VariableKind::Rate,
        source: String::new(),
        reference_date: String::new(),
        description: if def.method == IndexMethod::Mss {
            "Statusindex nach der Methode des Berliner Monitorings Soziale Stadtentwicklung: 1 = hoch (beste Lage) bis 4 = sehr niedrig; in der Tabelle Status, Dynamik und besonderer Aufmerksamkeitsbedarf.".into()
        } else {
            def.description.clone()
        },
        years,
        values: d.values.len(),
        symbols: 0,
    });
    for_year(d, year)
}

/// LISA clusters of an indicator (queen contiguity, row-standardised, 999 permutations,
/// 5 % significance) with the global Moran's I in the description.
fn load_lisa(
    store: &dyn Store,
    catalogue: &quartier_core::indicator::Catalogue,
    id: &str,
    q: &MapQuery,
    mut d: MapData,
) -> Result<MapData, AppError> {
    let ind = catalogue.get(id).ok_or_else(|| AppError::NotFound(format!("Indikator „{id}“ gibt es nicht")))?;
    let all = quartier_app::views::compute_indicators(
        store,
        &quartier_app::views::IndicatorQuery {
            indicators: vec![id.into()],
            years: None,
            level: Some(d.level.clone()),
            ..Default::default()
        },
    )
    .map_err(AppError::NotFound)?;
    let mut years: Vec<i32> = all.rows.iter().filter(|r| r.status.has_value()).map(|r| r.year).collect();
    years.sort_unstable();
    years.dedup();
    let year = match q.year.as_deref().filter(|y| !y.is_empty()) {
        Some(y) => y.parse::<i32>().map_err(|_| AppError::BadRequest(format!("„{y}“ ist kein Jahr")))?,
        None => *years.last().ok_or_else(|| AppError::NotFound(format!("„{id}“ hat keine Werte")))?,
    };
    let spots = quartier_app::spatial::hot_spots(store, id, year, &d.level).map_err(AppError::NotFound)?;
    let global = &spots.global;
    let areas: HashMap<String, quartier_app::store::AreaRecord> =
        store.areas(Some(&d.level))?.into_iter().map(|a| (a.key.clone(), a)).collect();
    let by_key: HashMap<&str, usize> = spots.keys.iter().enumerate().map(|(i, k)| (k.as_str(), i)).collect();
    for (key, a) in &areas {
        let (value, note) = match by_key.get(key.as_str()) {
            Some(&i) => {
                let p = spots.local[i].p_sim.unwrap_or(1.0);
                let (class, label) = match spots.cluster(i) {
                    Some(c) => (spots.local[i].q as usize, c),
                    None => (5, "nicht signifikant"),
                };
                (Some(class as f64), format!("{label} (p = {})", fmt_de(p, 3)))
            }
            None => (None, "ohne Wert".to_string()),
        };
        d.notes.insert(key.clone(), note);
        d.values.push(AreaValue {
            area: key.clone(),
            name: a.name.clone(),
            level: a.level.clone(),
            parent: a.parent.clone(),
            value,
            symbol: value.is_none().then_some("ohne Wert"),
            origin: Origin::Delivered,
        });
    }
    d.values.sort_by(|a, b| a.area.cmp(&b.area));
    d.class_labels = Some(vec![
        "HH: hoch, Nachbarn hoch (Hot Spot)".into(),
        "LH: niedrig, Nachbarn hoch".into(),
        "LL: niedrig, Nachbarn niedrig (Cold Spot)".into(),
        "HL: hoch, Nachbarn niedrig".into(),
        "nicht signifikant".into(),
    ]);
    // GeoDa's LISA colours.
    d.custom_colors = Some(vec!["#d7191c", "#abd9e9", "#2c7bb6", "#fdae61", "#eeeeee"]);
    d.variable = Some(VariableRecord {
        key: ind.id.clone(),
        label: format!("{}: räumliche Cluster (LISA)", ind.name),
        unit: String::new(),
        kind: quartier_core::validate::VariableKind::Rate,
        source: ind.source.clone(),
        reference_date: String::new(),
        description: format!(
            "Globales Moran's I = {} (z = {}, Pseudo-p = {} bei 999 Permutationen): {}. Lokale Cluster (LISA) mit Queen-Nachbarschaft, zeilenstandardisiert, Signifikanz 5 %.",
            fmt_de(global.I, 3),
            fmt_de(global.z_norm, 2),
            fmt_de(global.p_sim.unwrap_or(1.0), 3),
            if global.I > 0.0 && global.p_sim.unwrap_or(1.0) <= 0.05 {
                "ähnliche Werte liegen räumlich beieinander"
            } else {
                "kein deutliches räumliches Muster"
            }
        ),
        years,
        values: d.values.len(),
        symbols: 0,
    });
    for_year(d, year)
}

/// Area types (Ward clusters) on a saved index's status indicators, k from the class selector.
fn load_types(store: &dyn Store, text: &str, q: &MapQuery, mut d: MapData) -> Result<MapData, AppError> {
    use quartier_core::index::IndexDefinition;
    let def = IndexDefinition::from_toml(text).map_err(AppError::Internal)?;
    if let Some(l) = &def.level
        && q.level.as_deref().is_none_or(str::is_empty)
    {
        d.level = l.clone();
    }
    let indicators: Vec<String> = if def.status.is_empty() { def.indicators() } else { def.status.clone() };
    let res = quartier_app::views::compute_indicators(
        store,
        &quartier_app::views::IndicatorQuery {
            indicators: indicators.clone(),
            years: None,
            level: Some(d.level.clone()),
            ..Default::default()
        },
    )
    .map_err(AppError::NotFound)?;
    let years: Vec<i32> = res
        .years
        .iter()
        .copied()
        .filter(|y| indicators.iter().all(|i| res.rows.iter().any(|r| r.year == *y && &r.indicator == i && r.status.has_value())))
        .collect();
    let year = match q.year.as_deref().filter(|y| !y.is_empty()) {
        Some(y) => y.parse::<i32>().map_err(|_| AppError::BadRequest(format!("„{y}“ ist kein Jahr")))?,
        None => *years.last().ok_or_else(|| AppError::NotFound("keine Jahre mit allen Indikatoren".into()))?,
    };
    let k = match q.k.as_deref().filter(|k| !k.is_empty()) {
        Some(_) => d.k,
        None => 4,
    };
    d.k = k;
    let t = quartier_app::indexing::area_types(store, &indicators, year, &d.level, k, true, 1, 1).map_err(AppError::NotFound)?;
    let areas: HashMap<String, quartier_app::store::AreaRecord> =
        store.areas(Some(&d.level))?.into_iter().map(|a| (a.key.clone(), a)).collect();
    let label_of: HashMap<&str, usize> = t.areas.iter().map(String::as_str).zip(t.labels.iter().copied()).collect();
    for (key, a) in &areas {
        let l = label_of.get(key.as_str()).copied();
        d.notes.insert(key.clone(), l.map(|l| t.types[l].1.clone()).unwrap_or_else(|| "ohne alle Werte".into()));
        d.values.push(AreaValue {
            area: key.clone(),
            name: a.name.clone(),
            level: a.level.clone(),
            parent: a.parent.clone(),
            value: l.map(|l| (l + 1) as f64),
            symbol: l.is_none().then_some("ohne alle Werte"),
            origin: Origin::Delivered,
        });
    }
    d.values.sort_by(|a, b| a.area.cmp(&b.area));
    d.class_labels = Some(t.types.iter().enumerate().map(|(i, (_, profile, _, _))| format!("Typ {}: {profile}", i + 1)).collect());
    d.categorical = true;
    d.types = d.index.take();
    let mean_sil = t.silhouettes.iter().sum::<f64>() / t.silhouettes.len().max(1) as f64;
    d.variable = Some(VariableRecord {
        key: def.id.clone(),
        label: format!("Gebietstypen ({})", if def.name.is_empty() { &def.id } else { &def.name }),
        unit: String::new(),
        kind: quartier_core::validate::VariableKind::Rate,
        source: String::new(),
        reference_date: String::new(),
        description: format!(
            "Ward-Clusteranalyse der Gebiete auf den standardisierten Indikatoren {} ({} Typen, mittlere Silhouette {}). Die Typen haben keine Rangfolge.",
            indicators.join(", "),
            k,
            fmt_de(mean_sil, 2)
        ),
        years,
        values: d.values.len(),
        symbols: 0,
    });
    for_year(d, year)
}

/// The map of an indicator: computed from the stored data, with its reference value.
#[allow(clippy::too_many_arguments)]
fn load_indicator(
    store: &dyn Store,
    catalogue: &quartier_core::indicator::Catalogue,
    id: &str,
    q: &MapQuery,
    computed: &quartier_app::views::IndicatorResults,
    variables: Vec<VariableRecord>,
    indicators: Vec<(String, String)>,
    levels: Vec<Level>,
    level: String,
    attribution: Option<String>,
) -> Result<MapData, AppError> {
    let ind = catalogue.get(id).ok_or_else(|| AppError::NotFound(format!("Indikator „{id}“ gibt es nicht")))?;
    // This indicator's rows on this level, from the values computed once for all pages.
    let all = computed.only(id, &level);
    // Years in which the indicator has at least one value.
    let mut years: Vec<i32> = all.rows.iter().filter(|r| r.status.has_value()).map(|r| r.year).collect();
    years.sort_unstable();
    years.dedup();
    let year = match q.year.as_deref().filter(|y| !y.is_empty()) {
        Some(y) => Some(y.parse::<i32>().map_err(|_| AppError::BadRequest(format!("„{y}“ ist kein Jahr")))?),
        None => years.last().copied(),
    };
    let k = parse_k(q)?;
    let parents: HashMap<String, Option<String>> = store.areas(Some(&level))?.into_iter().map(|a| (a.key, a.parent)).collect();
    let values: Vec<AreaValue> = all
        .rows
        .iter()
        .filter(|r| Some(r.year) == year)
        .map(|r| {
            let note = row_note(r);
            AreaValue {
                area: r.area_id.clone(),
                name: r.name.clone(),
                level: r.level.clone(),
                parent: parents.get(&r.area_id).cloned().flatten(),
                value: if r.status.has_value() { r.value } else { None },
                symbol: note,
                origin: Origin::Delivered,
            }
        })
        .collect();
    let reference = all.references.iter().find(|r| Some(r.year) == year && r.status.has_value()).and_then(|r| r.value);
    let subject = VariableRecord {
        key: ind.id.clone(),
        label: ind.name.clone(),
        unit: ind.unit.clone(),
        kind: quartier_core::validate::VariableKind::Rate,
        source: ind.source.clone(),
        reference_date: String::new(),
        description: ind.description.clone(),
        years,
        values: values.len(),
        symbols: 0,
    };
    Ok(MapData {
        indicator: Some(ind.id.clone()),
        reference,
        variable: Some(subject),
        year,
        values,
        ..MapData::new(variables, indicators, vec![], levels, level, k, attribution)
    })
}

pub async fn map_page(
    State(st): State<AppState>,
    Query(q): Query<MapQuery>,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Result<axum::response::Response, AppError> {
    use axum::response::IntoResponse;
    let svg = q.format.as_deref() == Some("svg");
    let download = if svg { None } else { crate::download::kind(q.format.as_deref())? };
    // A public server is always public; an internal one shows the public view on request.
    let preview = q.oeffentlich.as_deref() == Some("1");
    let public = st.public.or(preview.then_some(quartier_core::disclosure::DEFAULT_THRESHOLD));
    let table_only = match q.ansicht.as_deref() {
        None | Some("") | Some("karte") => false,
        Some("tabelle") => true,
        Some(a) => return Err(AppError::BadRequest(format!("unbekannte Ansicht „{a}“ (karte oder tabelle)"))),
    };
    let diverging = match q.farben.as_deref() {
        None | Some("") | Some("sequenziell") => false,
        Some("divergierend") => true,
        Some(f) => return Err(AppError::BadRequest(format!("unbekannte Farbgebung „{f}“ (sequenziell oder divergierend)"))),
    };
    let query = raw
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("ansicht=") && !p.starts_with("format="))
        .collect::<Vec<_>>()
        .join("&");
    let method = match q.method.as_deref().filter(|m| !m.is_empty()) {
        Some(m) if METHODS.iter().any(|(x, _)| *x == m) => m.to_string(),
        Some(m) => return Err(AppError::BadRequest(format!("unbekannte Klassenbildung „{m}“"))),
        None => "quantiles".to_string(),
    };
    // The level's tile set (for the interactive map's bounds) is built while the values are
    // computed: both take a while on the first visit after a change.
    let early_bounds = match q.level.clone().filter(|l| !l.is_empty() && !table_only && download.is_none() && !svg) {
        Some(level) => {
            let st2 = st.clone();
            // The task carries the request's visibility (a tenant's tile set is its own) and
            // boundary set.
            let (view, boundary) = (crate::current_view(), crate::current_boundary());
            Some(tokio::spawn(crate::VIEW.scope(
                view,
                crate::BOUNDARY.scope(boundary, async move {
                    crate::with_store(&st2, move |store, st| Ok(crate::interactive::tile_set(store, st, &level)?.bounds())).await
                }),
            )))
        }
        None => None,
    };
    let data = map_data(&st, q, public).await?;
    if let Some(kind) = download {
        return map_table(&data, kind);
    }
    if svg {
        let p = Presented::new(&data, &method, diverging);
        let shapes = match &data.shapes {
            Some(s) => s.clone(),
            None => {
                let (levels, level) = (data.levels.clone(), data.level.clone());
                crate::with_store(&st, move |store, st| Ok(st.cache.map_paths(&st.db, store, &levels, &level)?)).await?
            }
        };
        let doc = standalone_svg(&data, &shapes, &p)
            .ok_or_else(|| AppError::NotFound("Für diese Ebene sind keine Geometrien gespeichert".into()))?;
        return Ok(([(axum::http::header::CONTENT_TYPE, "image/svg+xml; charset=utf-8")], doc).into_response());
    }
    let has_shapes = data.shapes.as_ref().is_some_and(|s| !s.paths.is_empty()) || data.values.len() > INLINE_SVG_MAX;
    let interactive = if !table_only && has_shapes {
        let level = data.level.clone();
        let bounds = match early_bounds {
            Some(job) => job.await.map_err(|e| AppError::Internal(e.to_string()))??,
            None => crate::with_store(&st, move |store, st| Ok(crate::interactive::tile_set(store, st, &level)?.bounds())).await?,
        };
        let rank = data.levels.iter().find(|l| l.name == data.level).map(|l| l.rank);
        let parent = data.levels.iter().find(|l| rank.is_some_and(|r| r > 0 && l.rank == r - 1) && l.areas > 0).map(|l| l.name.clone());
        bounds.map(|bounds| Interactive { bounds, parent, basemap: st.basemap.clone() })
    } else {
        None
    };
    let view = View {
        map: !table_only,
        table: table_only || data.values.len() <= INLINE_TABLE_MAX,
        diverging,
        public_switch: st.public.is_none().then_some(preview),
        query,
        interactive,
    };
    let mut res = render_map(&data, &method, &view).into_response();
    // The configured base map's server, and nothing else, joins the policy.
    if let Some(origin) = st.basemap.as_ref().and_then(|b| b.origin()) {
        let csp = format!(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: {origin}; connect-src 'self' {origin}; worker-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        );
        if let Ok(v) = axum::http::HeaderValue::from_str(&csp) {
            res.headers_mut().insert(axum::http::header::CONTENT_SECURITY_POLICY, v);
        }
    }
    Ok(res)
}

/// The model of a map (what is shown, its values for this request's visibility and public
/// view), kept per data version: the map page, its table and the interactive map's values
/// share it.
pub(crate) async fn map_data(st: &AppState, q: MapQuery, public: Option<f64>) -> Result<std::sync::Arc<MapData>, AppError> {
    let (db, cache) = (st.db.clone(), st.cache.clone());
    let view = crate::current_view();
    let boundary = crate::current_boundary();
    tokio::task::spawn_blocking(move || -> Result<std::sync::Arc<MapData>, AppError> {
        let store = db.open_read_only()?;
        let store = &*store;
        let at = boundary.resolve(store, &cache, &db)?;
        store.set_boundary_date(at.clone());
        // The page model depends on what is shown (and to whom: a tenant's areas), not on how
        // it is classified or viewed.
        let key = format!(
            "karte|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{}|{:?}",
            q.subject,
            q.indicator,
            q.variable,
            q.year,
            q.level,
            q.k,
            public.map(f64::to_bits),
            view.as_ref().map(|v| v.scope().to_string()).unwrap_or_default(),
            at
        );
        cache.memo(&db, key, || {
            let mut d = load(store, &q, public, &cache, &db)?;
            d.boundary = at.clone();
            // A level too large to carry its SVG inline gets its outlines only when asked for
            // as an SVG document (`format=svg`): the interactive map draws from tiles.
            if !d.level.is_empty() && d.values.len() <= INLINE_SVG_MAX {
                d.shapes = Some(cache.map_paths(&db, store, &d.levels, &d.level)?);
            }
            if q.lisa.as_deref() == Some("1")
                && let (Some(id), Some(year)) = (d.indicator.clone(), d.year)
            {
                d.overlay = Some(lisa_clusters(store, &id, year, &d.level)?);
            }
            if let Some(v) = &view {
                let level = d.level.clone();
                d.values.retain(|a| v.visible(&a.level, &a.area));
                d.notes.retain(|k, _| v.visible(&level, k));
                if let Some(o) = &mut d.overlay {
                    o.retain(|(k, _)| v.visible(&level, k));
                }
            }
            Ok::<_, AppError>(d)
        })
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))?
}

/// The note of a computed indicator value: its status's, or „geschätzt“ for a value computed
/// from estimates (carried across a boundary change, or estimated by the statistics office).
pub(crate) fn row_note(r: &quartier_app::views::IndicatorRow) -> Option<&'static str> {
    if r.estimated && r.status == quartier_core::indicator::Status::Ok { Some("geschätzt") } else { status_note(&r.status) }
}

/// The short German note for an indicator value's status, as tables show it.
pub(crate) fn status_note(status: &quartier_core::indicator::Status) -> Option<&'static str> {
    use quartier_core::indicator::Status;
    match status {
        Status::Ok => None,
        Status::Unreliable => Some("unsicher"),
        Status::Suppressed(_) | Status::Confidential => Some("geheim"),
        Status::Missing(_) => Some("fehlt"),
        Status::DivisionByZero => Some("÷0"),
        Status::Invalid => Some("ungültig"),
    }
}

/// A value for client-side sorting: nine significant digits are plenty and keep pages short.
pub(crate) fn sort_key(v: f64) -> String {
    format!("{}", format!("{v:.9e}").parse::<f64>().unwrap_or(v))
}

/// Significant local Moran clusters (queen, row-standardised, 999 permutations, 5 %) of an
/// indicator, as on the LISA map.
fn lisa_clusters(store: &dyn Store, id: &str, year: i32, level: &str) -> Result<Vec<(String, &'static str)>, AppError> {
    quartier_app::spatial::lisa_clusters(store, id, year, level).map_err(AppError::NotFound)
}

/// The map's table as CSV or XLSX: rank, key, name, value, note.
fn map_table(d: &MapData, kind: crate::download::Kind) -> Result<axum::response::Response, AppError> {
    use crate::download::Cell;
    let Some(var) = &d.variable else { return Err(AppError::NotFound("keine Werte für diese Auswahl".into())) };
    let numbers: Vec<f64> = d.values.iter().filter_map(|v| v.value).collect();
    let dec = decimals(&numbers);
    let mut ranked: Vec<&AreaValue> = d.values.iter().collect();
    ranked.sort_by(|a, b| b.value.unwrap_or(f64::NEG_INFINITY).total_cmp(&a.value.unwrap_or(f64::NEG_INFINITY)).then(a.area.cmp(&b.area)));
    let rows: Vec<Vec<Cell>> = ranked
        .iter()
        .enumerate()
        .map(|(i, v)| {
            vec![
                Cell::Num(v.value.map(|_| (i + 1) as f64), 0),
                Cell::text(v.area.clone()),
                Cell::text(v.name.clone()),
                Cell::Num(v.value, dec),
                Cell::text(d.notes.get(&v.area).cloned().or_else(|| v.symbol.map(String::from)).unwrap_or_default()),
            ]
        })
        .collect();
    let label = if var.label.is_empty() { var.key.clone() } else { var.label.clone() };
    let year = d.year.map(|y| y.to_string()).unwrap_or_default();
    let unit = if var.unit.is_empty() { String::new() } else { format!(" ({})", var.unit) };
    crate::download::table(
        kind,
        &format!("{}-{}-{year}", var.key, d.level),
        &label,
        &["Rang", "Schlüssel", "Gebiet", &format!("Wert{unit}"), "Hinweis"],
        &rows,
    )
}

pub use quartier_report::format::fmt_de;

fn decimals(values: &[f64]) -> usize {
    if values.iter().all(|v| v.fract() == 0.0) { 0 } else { 2 }
}

/// Classification methods offered on the map: (form value, German label).
pub(crate) const METHODS: &[(&str, &str)] = &[
    ("quantiles", "Quantile (gleich viele Gebiete je Klasse)"),
    ("equal-interval", "gleiche Intervalle"),
    ("fisher-jenks", "natürliche Brüche (Fisher–Jenks)"),
    ("jenks-caspall", "Jenks–Caspall"),
    ("std-mean", "Standardabweichung um den Mittelwert"),
    ("box-plot", "Boxplot (Ausreißer getrennt)"),
    ("headtail", "Head/Tail-Brüche"),
    ("max-breaks", "größte Lücken"),
];

fn map_method(name: &str, k: usize) -> classify::Method {
    use classify::Method;
    match name {
        "equal-interval" => Method::EqualInterval { k },
        "fisher-jenks" => Method::FisherJenks { k },
        "jenks-caspall" => Method::JenksCaspall { k },
        "std-mean" => Method::StdMean { multiples: vec![-2.0, -1.0, 1.0, 2.0], center: None },
        "box-plot" => Method::BoxPlot { hinge: 1.5 },
        "headtail" => Method::HeadTail,
        "max-breaks" => Method::MaxBreaks { k },
        _ => Method::Quantiles { k, type9: false },
    }
}

/// How a map presents its values: classes (as mapclassify), colours, the texts of values
/// and tooltips. The server-side SVG map, its table and the interactive map's values all
/// come from here, so they never disagree.
pub(crate) struct Presented<'a> {
    pub d: &'a MapData,
    pub classes: Option<classify::Classification>,
    pub colors: Vec<&'static str>,
    pub dec: usize,
    /// The unit with a leading space, or empty.
    pub unit: String,
    pub min: f64,
    /// Highest value first; missing last.
    pub ranked: Vec<&'a AreaValue>,
    rank_of: HashMap<&'a str, usize>,
    with_value: usize,
}

impl<'a> Presented<'a> {
    pub fn new(d: &'a MapData, method: &str, diverging: bool) -> Presented<'a> {
        let unit = d.variable.as_ref().filter(|v| !v.unit.is_empty()).map(|v| format!(" {}", v.unit)).unwrap_or_default();
        let numbers: Vec<f64> = d.values.iter().filter_map(|v| v.value).collect();
        let dec = decimals(&numbers);
        let classes = match &d.class_labels {
            Some(l) => classify::classify(&numbers, &classify::Method::User { breaks: (1..=l.len()).map(|x| x as f64).collect() }).ok(),
            None => classify::classify(&numbers, &map_method(method, d.k)).ok().or_else(|| classify::quantiles(&numbers, d.k)),
        };
        let colors = classes
            .as_ref()
            .map(|c| match (&d.custom_colors, d.reference) {
                (Some(cc), _) => cc.clone(),
                _ if d.categorical => map::qualitative(c.k),
                (None, Some(r)) if diverging && d.class_labels.is_none() => map::diverging(&c.bins, r),
                _ => map::palette(c.k),
            })
            .unwrap_or_default();
        let min = numbers.iter().copied().fold(f64::INFINITY, f64::min);
        let mut ranked: Vec<&AreaValue> = d.values.iter().collect();
        ranked.sort_by(|a, b| {
            b.value.unwrap_or(f64::NEG_INFINITY).total_cmp(&a.value.unwrap_or(f64::NEG_INFINITY)).then(a.area.cmp(&b.area))
        });
        let with_value = ranked.iter().filter(|v| v.value.is_some()).count();
        let rank_of = ranked.iter().filter(|v| v.value.is_some()).enumerate().map(|(i, v)| (v.area.as_str(), i + 1)).collect();
        Presented { d, classes, colors, dec, unit, min, ranked, rank_of, with_value }
    }

    /// The rank of an area (1 = highest value), among `with_value` areas with a value.
    pub fn rank(&self, area: &str) -> Option<usize> {
        self.rank_of.get(area).copied()
    }

    /// Areas with a value.
    pub fn with_value(&self) -> usize {
        self.with_value
    }

    /// The class (0-based) of a value.
    pub fn class_of(&self, v: f64) -> Option<usize> {
        self.classes.as_ref().map(|c| classify::class_of(&c.bins, v))
    }

    pub fn value_text(&self, v: &AreaValue) -> String {
        match (v.value, v.symbol) {
            (Some(x), Some(s @ ("unsicher" | "geschätzt"))) => format!("{} ({s})", fmt_de(x, self.dec)),
            (_, Some(s)) if s != "-" => s.to_string(),
            (Some(x), _) => fmt_de(x, self.dec),
            (None, _) => "–".to_string(),
        }
    }

    /// Name, value with unit, class, rank and the reference value: the label of an area on
    /// the map (the class in words too: no information by colour alone).
    pub fn tooltip(&self, v: &AreaValue) -> String {
        let mut t = format!("{}: {}{}", v.name, self.value_text(v), self.unit);
        if let Some(c) = v.value.and_then(|x| self.class_of(x)) {
            t.push_str(&format!(" · Klasse {}", c + 1));
        }
        if let Some(r) = self.rank_of.get(v.area.as_str()) {
            t.push_str(&format!(" · Rang {r} von {}", self.with_value));
        }
        if let (Some(r), Some(_)) = (self.d.reference, v.value) {
            t.push_str(&format!(" · Gesamt {}{}", fmt_de(r, self.dec), self.unit));
        }
        t
    }

    /// The legend: per class its label, colour and number of areas.
    pub fn legend(&self) -> Vec<(String, &'static str, usize)> {
        let Some(c) = &self.classes else { return Vec::new() };
        (0..c.k)
            .map(|i| {
                let label = match self.d.class_labels.as_ref().and_then(|l| l.get(i)) {
                    Some(l) => l.clone(),
                    None => format!("{} bis {}{}", fmt_de(c.lower(i, self.min), self.dec), fmt_de(c.bins[i], self.dec), self.unit),
                };
                (label, self.colors[i], c.counts[i])
            })
            .collect()
    }
}

fn render_map(d: &MapData, method: &str, view: &View) -> Markup {
    let Some(var) = &d.variable else {
        return layout(
            "Karte",
            html! {
                h1 { "Noch keine Daten" }
                p { "Importieren Sie Gebiete und Daten, z. B. mit " code { "quartier import areas" } " und " code { "quartier import data" } ", oder starten Sie die Demo mit " code { "cargo run --release -- demo" } "." }
            },
            d.attribution.as_deref(),
        );
    };
    let year = d.year.unwrap_or_default();
    let label = if var.label.is_empty() { var.key.clone() } else { var.label.clone() };
    let p = Presented::new(d, method, view.diverging);
    let (unit, dec, classes, colors) = (&p.unit, p.dec, &p.classes, &p.colors);
    let missing = d.values.iter().filter(|v| v.value.is_none()).count();
    let class_of = |v: f64| p.class_of(v);
    let ranked = &p.ranked;
    let title = format!("{label} {year} – {}", d.level);
    let origin_text = |o: Origin| match o {
        Origin::Delivered => "geliefert",
        Origin::Summed => "Summe",
        Origin::Missing => "fehlt",
    };
    let value_text = |v: &AreaValue| p.value_text(v);
    let tooltip = |v: &AreaValue| p.tooltip(v);
    let body = html! {
        h1 { (label) " " (year) }
        p.lead { "Ebene " strong { (d.level) } " · " (d.values.len()) " Gebiete · " (missing) " ohne Wert"
            @if !var.source.is_empty() { " · Quelle: " (var.source) }
            @if !var.reference_date.is_empty() { " · Stichtag: " (var.reference_date) }
            @if let Some(r) = d.reference { " · Gesamtwert: " strong { (fmt_de(r, dec)) (unit) } }
            @if let Some(b) = &d.boundary {
                " · Gebietsstand vom " (b) " (die Gebiete dieses Jahres) – "
                a href=(format!("/karte?{}&gebietsstand=aktuell", view.query)) { "auf den heutigen Gebieten zeigen" }
            } }
        @if !var.description.is_empty() { p.desc { (var.description) } }
        form.controls method="get" action="/karte" {
            label { "Indikator oder Merkmal " select name="subject" {
                @if !d.indices.is_empty() {
                    optgroup label="Sozialindex" {
                        @for (id, name) in &d.indices { option value=(format!("index:{id}")) selected[d.index.as_deref() == Some(id.as_str())] { (name) } }
                    }
                    optgroup label="Gebietstypen" {
                        @for (id, name) in &d.indices { option value=(format!("types:{id}")) selected[d.types.as_deref() == Some(id.as_str())] { "Gebietstypen: " (name) } }
                    }
                }
                @if !d.indicators.is_empty() {
                    optgroup label="Indikatoren" {
                        @for (id, name) in &d.indicators { option value=(format!("indicator:{id}")) selected[d.index.is_none() && d.types.is_none() && d.lisa.is_none() && d.indicator.as_deref() == Some(id.as_str())] { (name) } }
                    }
                    optgroup label="Räumliche Cluster (LISA)" {
                        @for (id, name) in &d.indicators { option value=(format!("lisa:{id}")) selected[d.lisa.as_deref() == Some(id.as_str())] { "Cluster: " (name) } }
                    }
                }
                optgroup label="Merkmale (wie geliefert)" {
                    @for v in &d.variables { option value=(format!("variable:{}", v.key)) selected[d.index.is_none() && d.types.is_none() && d.lisa.is_none() && d.indicator.is_none() && v.key == var.key] { (if v.label.is_empty() { &v.key } else { &v.label }) } }
                }
            } }
            label { "Jahr " select name="year" {
                @for y in &var.years { option value=(y) selected[*y == year] { (y) } }
            } }
            label { "Ebene " select name="level" {
                @for l in &d.levels { option value=(l.name) selected[l.name == d.level] { (l.name) " (" (l.areas) ")" } }
            } }
            label { "Klassen " select name="k" {
                @for k in 2..=7usize { option value=(k) selected[k == d.k] { (k) } }
            } }
            label { "Klassenbildung " select name="method" {
                @for (m, l) in METHODS { option value=(m) selected[*m == method] { (l) } }
            } }
            @if d.reference.is_some() && d.class_labels.is_none() && !d.categorical {
                label { "Farben " select name="farben" {
                    option value="sequenziell" selected[!view.diverging] { "aufsteigend" }
                    option value="divergierend" selected[view.diverging] { "um den Gesamtwert" }
                } }
            }
            @if d.indicator.is_some() {
                label.check { input type="checkbox" name="lisa" value="1" checked[d.overlay.is_some()]; " Hot Spots (LISA) umranden" }
            }
            @if let Some(on) = view.public_switch {
                label.check { input type="checkbox" name="oeffentlich" value="1" checked[on]; " wie öffentlich (Geheimhaltung)" }
            }
            button type="submit" { "Anzeigen" }
        }
        @if let Some(o) = &d.overlay {
            p.note {
                "Umrandet: signifikante räumliche Cluster (LISA, 5 %, 999 Permutationen) – "
                span.hh { "rot: Hot Spot (hoch, Nachbarn hoch, " (o.iter().filter(|x| x.1 == "HH").count()) ")" } ", "
                span.ll { "blau: Cold Spot (niedrig, Nachbarn niedrig, " (o.iter().filter(|x| x.1 == "LL").count()) ")" } ", "
                "gestrichelt: Ausreißer (" (o.iter().filter(|x| x.1 == "HL" || x.1 == "LH").count()) ")."
            }
        }
        @let pos = var.years.iter().position(|y| *y == year);
        @let without_year = view.query.split('&').filter(|p| !p.starts_with("year=")).collect::<Vec<_>>().join("&");
        @let step = |y: i32| format!("/karte?{}{}year={y}", without_year, if without_year.is_empty() { "" } else { "&" });
        @if var.years.len() > 1 {
            nav.years aria-label="Jahre" {
                @if let Some(p) = pos.and_then(|p| p.checked_sub(1)) { a href=(step(var.years[p])) rel="prev" { "◀ " (var.years[p]) } }
                @for y in &var.years {
                    @if *y == year { strong aria-current="true" { (y) } } @else { a href=(step(*y)) { (y) } }
                }
                @if let Some(n) = pos.map(|p| p + 1).filter(|n| *n < var.years.len()) { a href=(step(var.years[n])) rel="next" { (var.years[n]) " ▶" } }
            }
        }
        @if view.interactive.is_some() {
            div.karte-werkzeuge {
                @if var.years.len() > 1 { button #karte-abspielen type="button" hidden { "▶ Jahre abspielen" } }
                form.karte-suche role="search" hidden {
                    label for="karte-suche" { "Gebiet auf der Karte zeigen" }
                    input #karte-suche type="search" list="karte-gebiete" autocomplete="off" placeholder="Name oder Schlüssel";
                    datalist #karte-gebiete {}
                    button type="submit" { "Zeigen" }
                }
                label.check hidden { input #karte-angebote type="checkbox"; " Angebote zeigen" }
                p #karte-vergleich hidden { a href="/vergleich" { "Vergleichen" } }
            }
        }
        @let sep = if view.query.is_empty() { "" } else { "&" };
        @if !view.table {
            p.note { "Die Werte der " (d.values.len()) " Gebiete stehen in der " a href=(format!("/karte?{}{sep}ansicht=tabelle", view.query)) { "Tabellenansicht" } " (bei so vielen Gebieten nicht auf der Kartenseite)." }
        }
        @if !view.map {
            p { a href=(format!("/karte?{}", view.query)) { "Zur Karte" } }
        }
        div.mapview {
            @if view.map {
            figure.map {
                @if let Some(i) = &view.interactive {
                    link rel="stylesheet" href="/static/maplibre-gl.css";
                    div #karte-interaktiv .karte-interaktiv hidden
                        data-ebene=(d.level) data-oben=[i.parent.as_deref()] data-gebietsstand=[d.boundary.as_deref()]
                        data-werte=(format!("/karte/werte?{}", view.query))
                        data-grenzen=(format!("[[{},{}],[{},{}]]", i.bounds[0], i.bounds[1], i.bounds[2], i.bounds[3]))
                        data-grundkarte=[i.basemap.as_ref().map(|b| b.url.as_str())]
                        data-grundkarte-quelle=[i.basemap.as_ref().map(|b| b.attribution.as_str())] {
                        div.karte-flaeche {}
                        p #karte-hilfe .note { "Tastatur: in die Karte wechseln (Tab), Pfeiltasten verschieben, + und − zoomen, N und P wählen das nächste oder vorige Gebiet im Ausschnitt (Name, Wert, Klasse und Rang werden angesagt), Eingabe öffnet sein Profil, V nimmt es in den Vergleich. Maus: Umschalt und Klick nimmt ein Gebiet in den Vergleich. Dieselben Werte stehen in der Tabelle." }
                    }
                    div #karte-tooltip .tooltip hidden aria-hidden="true" {}
                    p #karte-ansage .visually-hidden aria-live="polite" {}
                    script type="module" src="/static/karte.js" {}
                }
                @if view.interactive.is_some() && d.values.len() > INLINE_SVG_MAX {
                    noscript {
                        img.karte-svg-bild src=(format!("/karte?{}{}format=svg", view.query, if view.query.is_empty() { "" } else { "&" }))
                            alt=(format!("Karte: {title}; die Werte stehen in der Tabellenansicht")) width="800";
                    }
                } @else if let Some(shapes) = d.shapes.as_ref().filter(|s| !s.paths.is_empty()) {
                    svg.karte-svg xmlns="http://www.w3.org/2000/svg" viewBox=(shapes.view_box) role="group" aria-labelledby="map-title map-desc" {
                        title #map-title { "Karte: " (title) }
                        desc #map-desc { "Choroplethenkarte in " (classes.as_ref().map(|c| c.k).unwrap_or(0)) " Quantilklassen; die Werte stehen auch in der Tabelle." }
                        g.areas {
                            @for v in &d.values {
                                @if let Some(path) = shapes.paths.get(&v.area) {
                                    @let fill = v.value.and_then(class_of).map(|c| colors[c]).unwrap_or("url(#nodata)");
                                    // A link per area: keyboard reachable, a click opens its profile; its
                                    // label (value, rank, reference) is also the hover tooltip.
                                    a href=(format!("/gebiet/{}?ebene={}", url(&v.area), url(&d.level))) aria-label=(tooltip(v)) {
                                        path d=(path) fill=(fill) data-area=(v.area) {}
                                    }
                                }
                            }
                        }
                        @if let Some(o) = &d.overlay {
                            g.lisa aria-hidden="true" {
                                @for (k, c) in o { @if let Some(p) = shapes.paths.get(k) { path d=(p) class=(c) {} } }
                            }
                        }
                        @if !shapes.parents.is_empty() {
                            g.parents aria-hidden="true" { @for p in &shapes.parents { path d=(p) {} } }
                        }
                        defs { pattern #nodata width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)" {
                            rect width="6" height="6" fill="#f2f2f2" {} line x1="0" y1="0" x2="0" y2="6" stroke="#9a9a9a" stroke-width="2" {}
                        } }
                    }
                } @else {
                    p { "Für diese Ebene sind keine Geometrien gespeichert. Die Werte stehen in der Tabelle." }
                }
                figcaption {
                    h2 { "Legende" }
                    @if classes.is_some() {
                        ul.legend {
                            @for (i, (label, color, count)) in p.legend().into_iter().enumerate() {
                                li data-klasse=(i + 1) { svg.sw width="18" height="14" aria-hidden="true" { rect width="18" height="14" fill=(color) stroke="#555" {} }
                                    "Klasse " (i + 1) ": " (label) " (" (count) " Gebiete)" }
                            }
                            @if missing > 0 {
                                li { svg.sw width="18" height="14" aria-hidden="true" { rect width="18" height="14" fill="#ddd" stroke="#555" {} } "keine Angabe (" (missing) " Gebiete)" }
                            }
                        }
                        @if d.class_labels.is_none() { p.note { (METHODS.iter().find(|(m, _)| *m == method).map(|(_, l)| *l).unwrap_or("Quantile")) " (Klassengrenzen wie mapclassify)." } }
                    } @else {
                        p { "Keine Werte für diese Auswahl." }
                    }
                }
            }
            }
            @if view.table {
            section.tablebox aria-labelledby="tab-title" {
                h2 #tab-title { "Werte nach Gebiet" }
                p.note { "Tabelle als " a href=(format!("/karte?{}{sep}format=csv", view.query)) download { "CSV" } " oder " a href=(format!("/karte?{}{sep}format=xlsx", view.query)) download { "Excel (XLSX)" } }
                table.sortable #werte {
                    caption { (title) ", sortierbar: Spaltenkopf anklicken" }
                    thead { tr {
                        th scope="col" aria-sort="none" { button type="button" data-sort="num" { "Rang" } }
                        th scope="col" aria-sort="none" { button type="button" data-sort="text" { "Schlüssel" } }
                        th scope="col" aria-sort="none" { button type="button" data-sort="text" { "Gebiet" } }
                        th scope="col" aria-sort="descending" { button type="button" data-sort="num" { "Wert" (unit) } }
                        @if classes.is_some() { th scope="col" aria-sort="none" { button type="button" data-sort="num" { "Klasse" } } }
                        th scope="col" { (if d.lisa.is_some() { "Cluster" } else if d.types.is_some() { "Profil" } else if d.index.is_some() { "Status / Dynamik" } else if d.indicator.is_some() { "Status" } else { "Herkunft" }) }
                    } }
                    tbody {
                        @for (i, v) in ranked.iter().enumerate() {
                            tr data-area=(v.area) {
                                td.num data-v=(i + 1) { (if v.value.is_some() { (i + 1).to_string() } else { String::new() }) }
                                td { (v.area) }
                                td { a href=(format!("/gebiet/{}?ebene={}", url(&v.area), url(&d.level))) { (v.name) } }
                                td.num data-v=(v.value.map(sort_key).unwrap_or_default()) { (value_text(v)) }
                                @if classes.is_some() {
                                    @let c = v.value.and_then(class_of).map(|c| c + 1);
                                    td.num data-v=(c.map(|c| c.to_string()).unwrap_or_default()) { (c.map(|c| c.to_string()).unwrap_or_default()) }
                                }
                                td { (if d.index.is_some() || d.types.is_some() || d.lisa.is_some() { d.notes.get(&v.area).map(String::as_str).unwrap_or("") } else if d.indicator.is_some() { v.symbol.map(|s| if s == "unsicher" { "unsicher (kleiner Nenner)" } else { s }).unwrap_or("") } else { origin_text(v.origin) }) }
                            }
                        }
                    }
                }
            }
            }
        }
    };
    layout(&title, body, d.attribution.as_deref())
}

#[cfg(test)]
mod tests {
    use super::fmt_de;

    #[test]
    fn german_numbers() {
        assert_eq!(fmt_de(1234567.891, 2), "1.234.567,89");
        assert_eq!(fmt_de(-3.5, 1), "−3,5");
        assert_eq!(fmt_de(0.0, 0), "0");
        assert_eq!(fmt_de(999.0, 0), "999");
        assert_eq!(fmt_de(-0.001, 2), "0,00");
    }
}
