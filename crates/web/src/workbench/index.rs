//! Werkstatt: an index drafted in a form — the method and the fields that method needs — or
//! as TOML. Both stay in sync: the form's definition is shown as TOML beside it, and pasted
//! TOML fills the form. The draft is checked field by field (`app::indexing::check_definition`
//! for what it names of the stored data) and computed on the stored data, exactly as
//! `quartier index compute` computes it, before it can be saved.

use crate::admin::{Actor, actor_of, authorize, csrf_field, tabs, with_store_mut};
use crate::forms::{FieldError, described_by, error_after, field_id, form_number, form_text, problems_summary, text_field};
use crate::pages::{layout_nav, url};
use crate::{AppError, AppState, with_store};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use quartier_app::indexing::{DefinitionField, Table, check_definition, compute_index};
use quartier_app::store::Store;
use quartier_core::index::definition::{ClassScheme, Dimension, Exclusion, MissingPolicy, Normalisation, Theme, Weighted};
use quartier_core::index::{IndexDefinition, IndexMethod};
use quartier_report::library::fingerprint;
use std::collections::BTreeMap;

/// The methods a planner can choose, with what they are called in the form.
const METHODS: [(&str, &str); 5] = [
    ("mss", "MSS – Monitoring Soziale Stadtentwicklung (Status und Dynamik)"),
    ("svi", "SVI – Social Vulnerability Index (Themen)"),
    ("imd", "IMD – Index of Multiple Deprivation (gewichtete Bereiche)"),
    ("gisd", "GISD – German Index of Socioeconomic Deprivation (Dimensionen)"),
    ("weighted", "Gewichteter Index (eigene Gewichte, Teilindizes)"),
];

const CLASS_METHODS: [(&str, &str); 10] = [
    ("", "keine Klassen"),
    ("quantiles", "Quantile"),
    ("equal-interval", "gleiche Abstände"),
    ("std-mean", "Mittelwert ± Standardabweichungen"),
    ("fisher-jenks", "Fisher-Jenks (natürliche Brüche)"),
    ("jenks-caspall", "Jenks-Caspall"),
    ("box-plot", "Box-Plot"),
    ("headtail", "Head/Tail"),
    ("max-breaks", "größte Lücken"),
    ("user", "eigene Grenzen"),
];

/// Empty rows offered below the filled ones (more with "Prüfen" or, with JavaScript, a button).
const SPARE_ROWS: usize = 2;

/// One indicator of the composition (IMD and weighted: a domain; SVI: a theme's indicator;
/// GISD: a dimension's indicator).
#[derive(Debug, Default, Clone)]
struct Row {
    indicator: String,
    weight: String,
    group: String,
    anchor: bool,
}

#[derive(Debug, Default, Clone)]
struct ExclusionRow {
    area: String,
    reason: String,
    years: String,
}

/// The form as submitted, or filled from a definition.
#[derive(Debug, Default, Clone)]
struct IndexForm {
    id: String,
    name: String,
    description: String,
    method: String,
    level: String,
    population: String,
    min_population: String,
    missing: String,
    normalisation: String,
    classes: String,
    k: String,
    breaks: String,
    weights_sum: String,
    status: Vec<String>,
    dynamics: Vec<String>,
    rows: Vec<Row>,
    exclusions: Vec<ExclusionRow>,
    year: String,
    /// The stored definition's fingerprint when the form was opened (optimistic locking).
    stand: Option<String>,
    csrf: String,
}

/// A form's problems as they are found.
#[derive(Default)]
struct Problems(Vec<FieldError>);

impl Problems {
    fn err(&mut self, field: &str, message: String) {
        self.0.push(FieldError { field: field.into(), message });
    }

    /// A number field: empty is `None`; a text that is no number (or not positive where it
    /// must be) is a problem at the field.
    fn number(&mut self, field: &str, text: &str, what: &str, positive: bool) -> Option<f64> {
        let t = text.trim();
        if t.is_empty() {
            return None;
        }
        match form_number(t) {
            Some(v) if !positive || v > 0.0 => Some(v),
            Some(_) => {
                self.err(field, format!("{what} „{t}“ muss größer als 0 sein."));
                None
            }
            None => {
                self.err(field, format!("{what} „{t}“ ist keine Zahl."));
                None
            }
        }
    }
}

/// `z3_gewicht` → (3, "gewicht").
fn indexed(key: &str, prefix: char) -> Option<(usize, &str)> {
    let (n, field) = key.strip_prefix(prefix)?.split_once('_')?;
    Some((n.parse().ok()?, field))
}

/// How the page was asked for.
enum Request {
    /// Nothing yet (or a saved index as template, `von`).
    Empty,
    Form(Box<IndexForm>),
    /// Pasted TOML: it fills the form.
    Toml(String),
}

fn parse_request(pairs: Vec<(String, String)>) -> (Request, Option<String>, String) {
    let mut f = IndexForm::default();
    let (mut toml, mut from, mut submitted) = (None, None, false);
    let mut rows: BTreeMap<usize, Row> = BTreeMap::new();
    let mut exclusions: BTreeMap<usize, ExclusionRow> = BTreeMap::new();
    for (k, v) in pairs {
        match k.as_str() {
            "formular" => submitted = true,
            "definition" => toml = Some(v),
            "von" => from = Some(v),
            "id" => f.id = v.trim().to_string(),
            "name" => f.name = v,
            "beschreibung" => f.description = v,
            "methode" => f.method = v,
            "ebene" => f.level = v,
            "einwohner" => f.population = v,
            "mindesteinwohner" => f.min_population = v,
            "fehlend" => f.missing = v,
            "normierung" => f.normalisation = v,
            "klassen" => f.classes = v,
            "k" => f.k = v,
            "grenzen" => f.breaks = v,
            "gewichtsumme" => f.weights_sum = v,
            "jahr" => f.year = v,
            "stand" => f.stand = Some(v),
            "csrf" => f.csrf = v,
            "status" if !v.is_empty() => f.status.push(v),
            "dynamik" if !v.is_empty() => f.dynamics.push(v),
            _ => {
                if let Some((n, field)) = indexed(&k, 'z') {
                    let r = rows.entry(n).or_default();
                    match field {
                        "indikator" => r.indicator = v,
                        "gewicht" => r.weight = v,
                        "gruppe" => r.group = v,
                        "anker" => r.anchor = !v.is_empty(),
                        _ => {}
                    }
                } else if let Some((n, field)) = indexed(&k, 'a') {
                    let r = exclusions.entry(n).or_default();
                    match field {
                        "gebiet" => r.area = v,
                        "grund" => r.reason = v,
                        "jahre" => r.years = v,
                        _ => {}
                    }
                }
            }
        }
    }
    // Rows left empty are spare rows, not entries.
    f.rows = rows
        .into_values()
        .filter(|r| !(r.indicator.trim().is_empty() && r.weight.trim().is_empty() && r.group.trim().is_empty()))
        .collect();
    f.exclusions = exclusions
        .into_values()
        .filter(|e| !(e.area.trim().is_empty() && e.reason.trim().is_empty() && e.years.trim().is_empty()))
        .collect();
    let year = f.year.clone();
    let request = match toml {
        Some(t) if !t.trim().is_empty() && !submitted => Request::Toml(t),
        _ if submitted => Request::Form(Box::new(f)),
        _ => Request::Empty,
    };
    (request, from, year)
}

impl IndexForm {
    fn from_definition(d: &IndexDefinition) -> IndexForm {
        let weight = |w: Option<f64>| w.map(form_text).unwrap_or_default();
        let mut rows = Vec::new();
        match d.method {
            IndexMethod::Mss => {}
            IndexMethod::Imd | IndexMethod::Weighted => {
                rows = d
                    .domains
                    .iter()
                    .map(|w| Row {
                        indicator: w.indicator.clone(),
                        weight: form_text(w.weight),
                        group: w.dimension.clone().unwrap_or_default(),
                        anchor: false,
                    })
                    .collect()
            }
            IndexMethod::Svi => {
                for t in &d.themes {
                    rows.extend(t.indicators.iter().map(|i| Row {
                        indicator: i.clone(),
                        weight: weight(t.weight),
                        group: t.name.clone(),
                        anchor: false,
                    }));
                }
            }
            IndexMethod::Gisd => {
                for dim in &d.dimensions {
                    rows.extend(dim.indicators.iter().map(|i| Row {
                        indicator: i.clone(),
                        weight: weight(dim.weight),
                        group: dim.name.clone(),
                        anchor: *i == dim.anchor,
                    }));
                }
            }
        }
        let class = d.classification.as_ref();
        IndexForm {
            id: d.id.clone(),
            name: d.name.clone(),
            description: d.description.clone(),
            method: method_key(d.method).into(),
            level: d.level.clone().unwrap_or_default(),
            population: d.population.clone().unwrap_or_default(),
            min_population: d.min_population.map(form_text).unwrap_or_default(),
            missing: if d.missing == MissingPolicy::Exclude { "exclude".into() } else { "error".into() },
            normalisation: match d.normalisation {
                Normalisation::Z => "z",
                Normalisation::Minmax => "minmax",
                Normalisation::Rank => "rank",
            }
            .into(),
            classes: class.map(|c| c.method.clone()).unwrap_or_default(),
            k: class.and_then(|c| c.k).map(|k| k.to_string()).unwrap_or_default(),
            breaks: class.map(|c| c.breaks.iter().map(|b| form_text(*b)).collect::<Vec<_>>().join("; ")).unwrap_or_default(),
            weights_sum: d.weights_sum.map(form_text).unwrap_or_default(),
            status: d.status.clone(),
            dynamics: d.dynamics.clone(),
            rows,
            exclusions: d
                .exclude
                .iter()
                .map(|e| ExclusionRow {
                    area: e.area.clone(),
                    reason: e.reason.clone(),
                    years: e.years.iter().map(|y| y.to_string()).collect::<Vec<_>>().join(", "),
                })
                .collect(),
            year: String::new(),
            stand: None,
            csrf: String::new(),
        }
    }

    /// The definition the form describes, and every problem at its field (the definition is
    /// usable only without problems; it is still built, so that the stored data can be checked
    /// against it at the same time).
    fn to_definition(&self) -> (IndexDefinition, Vec<FieldError>) {
        let mut p = Problems::default();
        let valid_id = !self.id.is_empty()
            && self.id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
            && !self.id.starts_with(|c: char| c.is_ascii_digit());
        if self.id.is_empty() {
            p.err("id", "Die Kennung fehlt.".into());
        } else if !valid_id {
            p.err("id", format!("„{}“: Kleinbuchstaben, Ziffern, - und _, am Anfang ein Buchstabe.", self.id));
        }
        let method = match METHODS.iter().position(|(k, _)| *k == self.method) {
            Some(i) => [IndexMethod::Mss, IndexMethod::Svi, IndexMethod::Imd, IndexMethod::Gisd, IndexMethod::Weighted][i],
            None => {
                p.err("methode", "Bitte ein Verfahren wählen.".into());
                IndexMethod::Weighted
            }
        };
        let opt = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let min_population = p.number("mindesteinwohner", &self.min_population, "Die Mindesteinwohnerzahl", false);
        if min_population.is_some_and(|m| m < 0.0) {
            p.err("mindesteinwohner", "Die Mindesteinwohnerzahl kann nicht negativ sein.".into());
        }
        if min_population.is_some() && opt(&self.population).is_none() {
            p.err("einwohner", "Für eine Mindesteinwohnerzahl bitte das Merkmal mit der Einwohnerzahl wählen.".into());
        }
        let weights_sum = p.number("gewichtsumme", &self.weights_sum, "Die Summe der Gewichte", true);
        // The composition, read per method.
        let mut weights: Vec<Option<f64>> = Vec::new();
        for (i, r) in self.rows.iter().enumerate() {
            if r.indicator.trim().is_empty() {
                p.err(&format!("z{i}_indikator"), format!("Zeile {}: Bitte einen Indikator wählen.", i + 1));
            }
            weights.push(p.number(&format!("z{i}_gewicht"), &r.weight, &format!("Zeile {}: Das Gewicht", i + 1), true));
        }
        let (mut status, mut dynamics, mut domains, mut themes, mut dimensions) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
        match method {
            IndexMethod::Mss => {
                status = self.status.clone();
                dynamics = self.dynamics.clone();
                if status.is_empty() {
                    p.err("status", "Das MSS braucht mindestens einen Status-Indikator.".into());
                }
            }
            IndexMethod::Imd | IndexMethod::Weighted => {
                if self.rows.is_empty() {
                    p.err("zeilen", "Bitte mindestens einen Indikator mit Gewicht eintragen.".into());
                }
                for (i, r) in self.rows.iter().enumerate() {
                    match weights[i] {
                        Some(w) => domains.push(Weighted { indicator: r.indicator.trim().into(), weight: w, dimension: opt(&r.group) }),
                        None if r.weight.trim().is_empty() => {
                            p.err(&format!("z{i}_gewicht"), format!("Zeile {}: Das Gewicht fehlt.", i + 1));
                        }
                        None => {}
                    }
                }
                let sum: f64 = weights.iter().flatten().sum();
                if let Some(want) = weights_sum
                    && weights.iter().all(Option::is_some)
                    && (sum - want).abs() > 1e-9 * want.abs().max(1.0)
                {
                    p.err("gewichtsumme", format!("Die Gewichte ergeben {}, verlangt ist {}.", form_text(sum), form_text(want)));
                }
            }
            IndexMethod::Svi | IndexMethod::Gisd => {
                let what = if method == IndexMethod::Svi { "Thema" } else { "Dimension" };
                if self.rows.is_empty() {
                    p.err("zeilen", format!("Bitte mindestens einen Indikator mit {what} eintragen."));
                }
                // Groups in the order they first appear: (name, rows).
                let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
                for (i, r) in self.rows.iter().enumerate() {
                    let g = r.group.trim();
                    if g.is_empty() {
                        p.err(&format!("z{i}_gruppe"), format!("Zeile {}: {what} fehlt.", i + 1));
                        continue;
                    }
                    match groups.iter_mut().find(|(n, _)| n == g) {
                        Some((_, rows)) => rows.push(i),
                        None => groups.push((g.to_string(), vec![i])),
                    }
                }
                for (name, rows) in &groups {
                    let given: Vec<f64> = rows.iter().filter_map(|&i| weights[i]).collect();
                    if given.windows(2).any(|w| w[0] != w[1]) {
                        p.err(
                            &format!("z{}_gewicht", rows[0]),
                            format!("{what} „{name}“: alle Zeilen brauchen dasselbe Gewicht (es gilt für das ganze {what})."),
                        );
                    }
                    let indicators: Vec<String> = rows.iter().map(|&i| self.rows[i].indicator.trim().to_string()).collect();
                    let weight = given.first().copied();
                    if method == IndexMethod::Svi {
                        themes.push(Theme { name: name.clone(), indicators, weight });
                    } else {
                        let anchors: Vec<usize> = rows.iter().copied().filter(|&i| self.rows[i].anchor).collect();
                        if anchors.len() > 1 {
                            p.err(
                                &format!("z{}_anker", anchors[1]),
                                format!("Dimension „{name}“: nur ein Indikator kann die Richtung festlegen."),
                            );
                        }
                        let anchor = anchors.first().map(|&i| indicators[rows.iter().position(|&r| r == i).unwrap()].clone());
                        dimensions.push(Dimension {
                            name: name.clone(),
                            anchor: anchor.unwrap_or_else(|| indicators[0].clone()),
                            indicators,
                            weight,
                        });
                    }
                }
            }
        }
        let mut exclude = Vec::new();
        for (i, e) in self.exclusions.iter().enumerate() {
            let area = e.area.trim();
            if area.is_empty() {
                p.err(&format!("a{i}_gebiet"), format!("Ausschluss {}: Das Gebiet fehlt.", i + 1));
            }
            if e.reason.trim().is_empty() {
                p.err(&format!("a{i}_grund"), format!("Ausschluss {}: Der Grund fehlt.", i + 1));
            }
            let mut years = Vec::new();
            for y in e.years.split([',', ';', ' ']).map(str::trim).filter(|y| !y.is_empty()) {
                match y.parse::<i32>() {
                    Ok(y) if (1900..=2200).contains(&y) => years.push(y),
                    _ => p.err(&format!("a{i}_jahre"), format!("Ausschluss {}: „{y}“ ist keine Jahreszahl.", i + 1)),
                }
            }
            exclude.push(Exclusion { area: area.to_string(), reason: e.reason.trim().to_string(), years });
        }
        let classification = match self.classes.trim() {
            "" => None,
            m if !CLASS_METHODS.iter().any(|(k, _)| *k == m) => {
                p.err("klassen", format!("„{m}“ ist kein Klassifikationsverfahren."));
                None
            }
            m => {
                let k = match self.k.trim() {
                    "" => None,
                    t => match t.parse::<usize>() {
                        Ok(k) if (2..=12).contains(&k) => Some(k),
                        _ => {
                            p.err("k", format!("„{t}“: 2 bis 12 Klassen."));
                            None
                        }
                    },
                };
                let mut breaks = Vec::new();
                for b in self.breaks.split([';', ' ']).map(str::trim).filter(|b| !b.is_empty()) {
                    match form_number(b) {
                        Some(v) => breaks.push(v),
                        None => p.err("grenzen", format!("„{b}“ ist keine Zahl.")),
                    }
                }
                if m == "user" && breaks.is_empty() {
                    p.err("grenzen", "Eigene Klassen brauchen Grenzen (Obergrenzen, aufsteigend, mit ; getrennt).".into());
                }
                if breaks.windows(2).any(|w| w[0] >= w[1]) {
                    p.err("grenzen", "Die Grenzen müssen aufsteigen.".into());
                }
                Some(ClassScheme { method: m.to_string(), k, breaks })
            }
        };
        if method != IndexMethod::Weighted && classification.is_some() {
            p.err(
                "klassen",
                "Eigene Klassen gibt es nur beim gewichteten Index; die anderen Verfahren haben ihre veröffentlichten Klassen.".into(),
            );
        }
        let def = IndexDefinition {
            id: self.id.clone(),
            name: self.name.trim().to_string(),
            description: self.description.trim().to_string(),
            method,
            level: opt(&self.level),
            population: opt(&self.population),
            min_population,
            exclude,
            status,
            dynamics,
            domains,
            dimensions,
            themes,
            normalisation: match self.normalisation.as_str() {
                "minmax" => Normalisation::Minmax,
                "rank" => Normalisation::Rank,
                _ => Normalisation::Z,
            },
            classification,
            missing: if self.missing == "exclude" { MissingPolicy::Exclude } else { MissingPolicy::Error },
            weights_sum,
        };
        (def, p.0)
    }

    /// The problems `check_definition` found, at the form's fields.
    fn place(&self, problems: Vec<quartier_app::indexing::DefinitionProblem>) -> Vec<FieldError> {
        let mut out = Vec::new();
        for pr in problems {
            if pr.field == DefinitionField::Indicator(String::new()) {
                continue; // an empty row: already "Bitte einen Indikator wählen"
            }
            let fields: Vec<String> = match &pr.field {
                DefinitionField::Method => vec!["methode".into()],
                DefinitionField::Level => vec!["ebene".into()],
                DefinitionField::Population => vec!["einwohner".into()],
                DefinitionField::Exclusion(n) => vec![format!("a{n}_gebiet")],
                DefinitionField::Indicator(id) => {
                    let mut f: Vec<String> = self
                        .rows
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| r.indicator.trim() == id)
                        .map(|(i, _)| format!("z{i}_indikator"))
                        .collect();
                    if self.status.contains(id) {
                        f.push("status".into());
                    }
                    if self.dynamics.contains(id) {
                        f.push("dynamik".into());
                    }
                    if f.is_empty() { vec!["methode".into()] } else { f }
                }
            };
            out.extend(fields.into_iter().map(|field| FieldError { field, message: pr.message.clone() }));
        }
        out
    }
}

fn method_key(m: IndexMethod) -> &'static str {
    match m {
        IndexMethod::Mss => "mss",
        IndexMethod::Svi => "svi",
        IndexMethod::Imd => "imd",
        IndexMethod::Gisd => "gisd",
        IndexMethod::Weighted => "weighted",
    }
}

/// The fingerprint of the stored definition of `id` (none stored: a fingerprint of nothing).
fn stand_of(store: &dyn Store, id: &str) -> Result<String, AppError> {
    let stored = store.index_definitions()?.into_iter().find(|(i, _)| i == id).map(|(_, t)| t);
    Ok(fingerprint(stored.as_deref()))
}

/// What the page shows: the form, its problems, the definition as TOML and the result.
struct Draft {
    form: IndexForm,
    problems: Vec<FieldError>,
    toml: String,
    result: Option<Result<(IndexDefinition, Table), String>>,
}

fn year_of(text: &str) -> Result<Option<i32>, FieldError> {
    match text.trim() {
        "" => Ok(None),
        y => y.parse::<i32>().map(Some).map_err(|_| FieldError { field: "jahr".into(), message: format!("„{y}“ ist kein Jahr.") }),
    }
}

/// Checks a form against the stored data and computes it when it checks.
fn check_and_compute(store: &dyn Store, form: IndexForm, toml: Option<String>) -> Result<Draft, AppError> {
    let (def, mut problems) = form.to_definition();
    let mut stored = check_definition(store, &def).map_err(AppError::Internal)?;
    // The method's parts were already checked field by field when the form has problems.
    if !problems.is_empty() {
        stored.retain(|p| p.field != DefinitionField::Method);
    }
    problems.extend(form.place(stored));
    if let Err(e) = year_of(&form.year) {
        problems.push(e);
    }
    let year = year_of(&form.year).ok().flatten();
    let text = toml.unwrap_or_else(|| def.to_toml());
    let result = problems.is_empty().then(|| compute_index(store, &def, "Entwurf", year).map(|t| (def, t)));
    Ok(Draft { form, problems, toml: text, result })
}

/// `/werkstatt/index`: the index form (or TOML), checked and computed on the stored data
/// (classes, status × dynamics for MSS, reasons for areas not rated) before it is saved.
pub async fn index_draft(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let page = with_store(&st, move |store, st| {
        let actor = actor_of(st, store, &headers)?;
        let (request, from, year) = parse_request(pairs);
        let draft = match request {
            Request::Form(form) => {
                let mut form = *form;
                if form.stand.is_none() {
                    form.stand = Some(stand_of(store, &form.id)?);
                }
                check_and_compute(store, form, None)?
            }
            Request::Toml(text) => match IndexDefinition::from_toml(&text) {
                Ok(def) => {
                    let mut form = IndexForm::from_definition(&def);
                    form.year = year;
                    form.stand = Some(stand_of(store, &def.id)?);
                    check_and_compute(store, form, Some(text))?
                }
                Err(e) => Draft {
                    form: IndexForm { year, ..Default::default() },
                    problems: vec![FieldError { field: "definition".into(), message: e }],
                    toml: text,
                    result: None,
                },
            },
            Request::Empty => match from.filter(|v| !v.is_empty()) {
                Some(v) => {
                    let text = store
                        .index_definitions()?
                        .into_iter()
                        .find(|(id, _)| *id == v)
                        .map(|(_, t)| t)
                        .ok_or_else(|| AppError::NotFound(format!("Index „{v}“ gibt es nicht")))?;
                    let def = IndexDefinition::from_toml(&text).map_err(AppError::Internal)?;
                    let mut form = IndexForm::from_definition(&def);
                    form.year = year;
                    form.stand = Some(fingerprint(Some(&text)));
                    check_and_compute(store, form, Some(text))?
                }
                None => Draft {
                    form: IndexForm { method: "weighted".into(), missing: "error".into(), ..Default::default() },
                    problems: Vec::new(),
                    toml: String::new(),
                    result: None,
                },
            },
        };
        // A draft with problems is a bad request (the page names each at its field).
        let status = if draft.problems.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
        Ok((status, render(store, &draft, actor.as_ref())?))
    })
    .await?;
    Ok(page.into_response())
}

/// What the form's choices offer: levels with areas, variables, catalogue indicators, saved
/// indices.
struct Choices {
    levels: Vec<String>,
    variables: Vec<(String, String)>,
    indicators: Vec<(String, String)>,
    saved: Vec<String>,
    /// Area keys and names of the rated level (for the exclusions' list).
    areas: Vec<(String, String)>,
}

fn choices(store: &dyn Store, level: &str) -> Result<Choices, AppError> {
    let levels: Vec<String> = store.levels()?.into_iter().filter(|l| l.areas > 0).map(|l| l.name).collect();
    let rated = if levels.iter().any(|l| l == level) { Some(level.to_string()) } else { levels.last().cloned() };
    let areas = match &rated {
        Some(l) => store.areas(Some(l))?.into_iter().map(|a| (a.key, a.name)).collect(),
        None => Vec::new(),
    };
    Ok(Choices {
        levels,
        variables: store.variables()?.into_iter().map(|v| (v.key, v.label)).collect(),
        indicators: store.catalogue()?.indicators.into_iter().map(|i| (i.id, i.name)).collect(),
        saved: store.index_definitions()?.into_iter().map(|(id, _)| id).collect(),
        areas,
    })
}

/// A select over `options` (value, text) with the current value kept even when unknown.
fn select(
    field: &str,
    name: &str,
    current: &str,
    options: &[(String, String)],
    empty: Option<&str>,
    errors: &[FieldError],
    label: &str,
) -> Markup {
    let id = field_id(field);
    let unknown = !current.is_empty() && !options.iter().any(|(k, _)| k == current);
    html! {
        select id=(id) name=(name) aria-label=(label) aria-invalid=[described_by(errors, field).map(|_| "true")] aria-describedby=[described_by(errors, field)] {
            @if let Some(e) = empty { option value="" selected[current.is_empty()] { (e) } }
            @if unknown { option value=(current) selected { (current) " (unbekannt)" } }
            @for (k, t) in options { option value=(k) selected[k == current] { (k) " – " (t) } }
        }
    }
}

fn render(store: &dyn Store, d: &Draft, actor: Option<&Actor>) -> Result<Markup, AppError> {
    let f = &d.form;
    let c = choices(store, &f.level)?;
    let errors = &d.problems;
    let rows: Vec<Row> = f.rows.iter().cloned().chain(std::iter::repeat_n(Row::default(), SPARE_ROWS)).collect();
    let exclusions: Vec<ExclusionRow> =
        f.exclusions.iter().cloned().chain(std::iter::repeat_n(ExclusionRow::default(), SPARE_ROWS)).collect();
    let weights: Vec<f64> = f.rows.iter().filter_map(|r| form_number(&r.weight)).collect();
    let levels: Vec<(String, String)> = c.levels.iter().map(|l| (l.clone(), l.clone())).collect();
    let methods: Vec<(String, String)> = METHODS.iter().map(|(k, t)| (k.to_string(), t.to_string())).collect();
    let classes: Vec<(String, String)> = CLASS_METHODS.iter().skip(1).map(|(k, t)| (k.to_string(), t.to_string())).collect();
    let checkboxes = |field: &str, name: &str, legend: &str, chosen: &[String]| {
        html! {
            fieldset.indicators id=(field_id(field)) aria-invalid=[described_by(errors, field).map(|_| "true")] aria-describedby=[described_by(errors, field)] {
                legend { (legend) }
                @for (k, t) in &c.indicators {
                    label.check { input type="checkbox" name=(name) value=(k) checked[chosen.contains(k)]; " " (k) " – " (t) }
                }
                @for k in chosen.iter().filter(|k| !c.indicators.iter().any(|(i, _)| i == *k)) {
                    label.check { input type="checkbox" name=(name) value=(k) checked; " " (k) " (nicht im Katalog)" }
                }
                (error_after(errors, field))
            }
        }
    };
    let body = html! {
        (tabs("index"))
        h1 { "Werkstatt: Index entwerfen" }
        p.lead { "Verfahren wählen, Indikatoren aus dem Katalog zuordnen, auf den gespeicherten Daten berechnen — und erst dann speichern. "
            "Die Definition steht daneben als TOML (wie für " code { "quartier index compute" } "); eingefügtes TOML füllt das Formular." }
        @if !c.saved.is_empty() {
            p { "Gespeicherte Indizes als Vorlage: " @for id in &c.saved { a href=(format!("/werkstatt/index?von={}", url(id))) { (id) } " " } }
        }
        (problems_summary(errors, "Nicht berechnet"))
        div.workbench-split {
            form #index-formular.index-form method="get" action="/werkstatt/index" {
                input type="hidden" name="formular" value="1";
                @if let Some(s) = &f.stand { input type="hidden" name="stand" value=(s); }
                fieldset {
                    legend { "Index" }
                    (text_field("Kennung (Kleinbuchstaben, Ziffern, - und _)", "id", "id", &f.id, errors, true))
                    (text_field("Name", "name", "name", &f.name, errors, false))
                    (text_field("Beschreibung", "beschreibung", "beschreibung", &f.description, errors, false))
                    label for=(field_id("methode")) { "Verfahren" }
                    (select("methode", "methode", &f.method, &methods, None, errors, "Verfahren"))
                    (error_after(errors, "methode"))
                    label for=(field_id("ebene")) { "Bewertete Ebene" }
                    (select("ebene", "ebene", &f.level, &levels, Some("die unterste mit Gebieten"), errors, "Bewertete Ebene"))
                    (error_after(errors, "ebene"))
                }
                fieldset {
                    legend { "Bewertete Gebiete" }
                    label for=(field_id("einwohner")) { "Merkmal mit der Einwohnerzahl" }
                    (select("einwohner", "einwohner", &f.population, &c.variables, Some("keines"), errors, "Merkmal mit der Einwohnerzahl"))
                    (error_after(errors, "einwohner"))
                    (text_field("Mindesteinwohnerzahl (kleinere Gebiete werden nicht bewertet)", "mindesteinwohner", "mindesteinwohner", &f.min_population, errors, false))
                    label for="f-fehlend" { "Gebiete ohne Wert" }
                    select #f-fehlend name="fehlend" {
                        option value="error" selected[f.missing != "exclude"] { "als Fehler melden" }
                        option value="exclude" selected[f.missing == "exclude"] { "nicht bewerten (mit Grund)" }
                    }
                }
                div data-methoden="mss" {
                    (checkboxes("status", "status", "Status-Indikatoren (nur MSS)", &f.status))
                    (checkboxes("dynamik", "dynamik", "Dynamik-Indikatoren (nur MSS)", &f.dynamics))
                }
                fieldset data-methoden="imd weighted svi gisd" {
                    legend { "Indikatoren und Gewichte (IMD, gewichtet, SVI, GISD)" }
                    p.note #zeilen-hinweis { "IMD und gewichteter Index: je Zeile ein Indikator mit Gewicht, Gruppe = Lebensbereich für Teilindizes (freiwillig). "
                        "SVI: Gruppe = Thema. GISD: Gruppe = Dimension, „Richtung“ markiert den Indikator, der die Richtung der Hauptkomponente festlegt. "
                        "Bei SVI und GISD gilt das Gewicht für die ganze Gruppe (leer = 1)." }
                    (error_after(errors, "zeilen"))
                    table.rows #f-zeilen {
                        caption { "Zusammensetzung" }
                        thead { tr { th scope="col" { "Nr." } th scope="col" { "Indikator" } th scope="col" { "Gewicht" } th scope="col" { "Gruppe" } th scope="col" { "Richtung" } } }
                        tbody data-template="zeile" {
                            @for (i, r) in rows.iter().enumerate() {
                                tr {
                                    td { (i + 1) }
                                    td {
                                        (select(&format!("z{i}_indikator"), &format!("z{i}_indikator"), &r.indicator, &c.indicators, Some("—"), errors, &format!("Indikator, Zeile {}", i + 1)))
                                        (error_after(errors, &format!("z{i}_indikator")))
                                    }
                                    td {
                                        @let field = format!("z{i}_gewicht");
                                        input.weight id=(field_id(&field)) type="text" inputmode="decimal" size="6" name=(field) value=(r.weight) aria-label=(format!("Gewicht, Zeile {}", i + 1)) aria-invalid=[described_by(errors, &field).map(|_| "true")] aria-describedby=[described_by(errors, &field)];
                                        (error_after(errors, &field))
                                    }
                                    td {
                                        @let field = format!("z{i}_gruppe");
                                        input id=(field_id(&field)) type="text" size="14" name=(field) value=(r.group) aria-label=(format!("Gruppe, Zeile {}", i + 1)) aria-invalid=[described_by(errors, &field).map(|_| "true")] aria-describedby=[described_by(errors, &field)];
                                        (error_after(errors, &field))
                                    }
                                    td {
                                        @let field = format!("z{i}_anker");
                                        input id=(field_id(&field)) type="checkbox" name=(field) value="1" checked[r.anchor] aria-label=(format!("Richtung, Zeile {} (nur GISD)", i + 1));
                                        (error_after(errors, &field))
                                    }
                                }
                            }
                        }
                    }
                    button type="button" .add-row data-table="f-zeilen" hidden { "Zeile hinzufügen" }
                    p #gewichte-summe aria-live="polite" { "Summe der Gewichte: " output { (form_text(weights.iter().sum::<f64>())) } }
                    (text_field("Die Gewichte müssen ergeben (leer: keine Prüfung; IMD: 100)", "gewichtsumme", "gewichtsumme", &f.weights_sum, errors, false))
                }
                fieldset data-methoden="weighted" {
                    legend { "Normierung und Klassen (nur gewichteter Index)" }
                    label for="f-normierung" { "Normierung" }
                    select #f-normierung name="normierung" {
                        option value="z" selected[f.normalisation != "minmax" && f.normalisation != "rank"] { "z-Werte" }
                        option value="minmax" selected[f.normalisation == "minmax"] { "Min-Max" }
                        option value="rank" selected[f.normalisation == "rank"] { "Perzentilränge" }
                    }
                    label for=(field_id("klassen")) { "Klassen" }
                    (select("klassen", "klassen", &f.classes, &classes, Some("keine Klassen"), errors, "Klassen"))
                    (error_after(errors, "klassen"))
                    (text_field("Anzahl der Klassen (leer: 5)", "k", "k", &f.k, errors, false))
                    (text_field("Eigene Grenzen (Obergrenzen, mit ; getrennt)", "grenzen", "grenzen", &f.breaks, errors, false))
                }
                fieldset {
                    legend { "Ausgeschlossene Gebiete" }
                    p.note { "Gebiete, die nicht bewertet werden (z. B. Parkanlagen, Gewerbegebiete), mit Grund; Jahre leer = in allen Jahren." }
                    datalist #gebiete { @for (k, n) in &c.areas { option value=(k) { (n) } } }
                    table.rows #f-ausschluesse {
                        caption { "Ausschlüsse" }
                        thead { tr { th scope="col" { "Nr." } th scope="col" { "Gebiet (Schlüssel)" } th scope="col" { "Grund" } th scope="col" { "Jahre" } } }
                        tbody {
                            @for (i, e) in exclusions.iter().enumerate() {
                                tr {
                                    td { (i + 1) }
                                    @for (suffix, value, label, list) in [("gebiet", &e.area, "Gebiet", true), ("grund", &e.reason, "Grund", false), ("jahre", &e.years, "Jahre", false)] {
                                        td {
                                            @let field = format!("a{i}_{suffix}");
                                            input id=(field_id(&field)) type="text" name=(field) value=(value) list=[list.then_some("gebiete")] aria-label=(format!("{label}, Ausschluss {}", i + 1)) aria-invalid=[described_by(errors, &field).map(|_| "true")] aria-describedby=[described_by(errors, &field)];
                                            (error_after(errors, &field))
                                        }
                                    }
                                }
                            }
                        }
                    }
                    button type="button" .add-row data-table="f-ausschluesse" hidden { "Ausschluss hinzufügen" }
                }
                div.controls-row {
                    label for=(field_id("jahr")) { "Jahr (leer: das neueste mit allen Werten)" }
                    input id=(field_id("jahr")) type="text" name="jahr" inputmode="numeric" size="6" value=(f.year) aria-invalid=[described_by(errors, "jahr").map(|_| "true")] aria-describedby=[described_by(errors, "jahr")];
                    (error_after(errors, "jahr"))
                    button type="submit" { "Prüfen und berechnen" }
                }
            }
            form.toml-form method="get" action="/werkstatt/index" {
                label for=(field_id("definition")) { "Definition als TOML" }
                textarea id=(field_id("definition")) name="definition" rows="22" cols="60" spellcheck="false" aria-invalid=[described_by(errors, "definition").map(|_| "true")] aria-describedby=[described_by(errors, "definition")] { (d.toml) }
                (error_after(errors, "definition"))
                input type="hidden" name="jahr" value=(f.year);
                button type="submit" { "TOML ins Formular übernehmen" }
            }
        }
        @match &d.result {
            None => {},
            Some(Err(e)) => div.problem role="alert" { h2 { "Die Berechnung geht so nicht" } pre { (e) } },
            Some(Ok((def, table))) => (result(def, table, &d.toml, f.stand.as_deref().unwrap_or(""), &c.saved, actor)),
        }
    };
    Ok(layout_nav("Werkstatt: Index", "werkstatt", body, None))
}

fn result(def: &IndexDefinition, table: &Table, toml: &str, stand: &str, saved: &[String], actor: Option<&Actor>) -> Markup {
    let rated = table.json.iter().filter(|r| r["rated"] == true).count();
    let reasons: Vec<(String, String)> = table
        .json
        .iter()
        .filter(|r| r["rated"] == false)
        .map(|r| (r["area_id"].as_str().unwrap_or("").to_string(), r["reason_not_rated"].as_str().unwrap_or("").to_string()))
        .collect();
    html! {
        section aria-labelledby="ergebnis" {
            h2 #ergebnis { "Ergebnis auf den gespeicherten Daten" }
            p.ok role="status" { "Geprüft und berechnet: " (rated) " von " (table.json.len()) " Gebieten bewertet"
                @if let Some(y) = table.json.first().and_then(|r| r["year"].as_i64()) { ", Jahr " (y) } "." }
            @if let Some(e) = actor {
                form.controls method="post" action="/werkstatt/index/speichern" {
                    (csrf_field(e))
                    input type="hidden" name="definition" value=(toml);
                    input type="hidden" name="stand" value=(stand);
                    button type="submit" { "Als Index „" (def.id) "“ speichern" }
                    @if saved.contains(&def.id) { span.note { "ersetzt den gespeicherten Index gleicher Kennung" } }
                }
            }
            @for n in &table.notes { p.note { (n) } }
            @if def.method == IndexMethod::Mss {
                (crate::overview::matrix_table(&crate::overview::matrix(table), "Gebiete nach Status und Dynamik im Entwurf"))
            } @else {
                @let column = match def.method { IndexMethod::Imd => "imd_decile", IndexMethod::Gisd => "quintile", IndexMethod::Svi => "svi_class", _ => "class" };
                @let counts = class_counts(table, column);
                @if counts.is_empty() {
                    p.note { "Ohne Klassen: die Werte stehen in der Tabelle des Index nach dem Speichern." }
                } @else {
                    table {
                        caption { "Gebiete je Klasse (" (column) ")" }
                        thead { tr { th scope="col" { "Klasse" } th scope="col" .num { "Gebiete" } } }
                        tbody { @for (c, n) in &counts { tr { td { (c) } td.num { (n) } } } }
                    }
                }
            }
            @if !reasons.is_empty() {
                details {
                    summary { (reasons.len()) " nicht bewertete Gebiete mit Grund" }
                    ul { @for (k, r) in reasons.iter().take(200) { li { (k) ": " (r) } } }
                }
            }
        }
    }
}

/// Areas per class value in a result table's column.
fn class_counts(table: &Table, column: &str) -> BTreeMap<i64, usize> {
    let mut counts = BTreeMap::new();
    for r in &table.json {
        if let Some(c) = r[column].as_i64().or_else(|| r[column].as_f64().map(|x| x as i64)) {
            *counts.entry(c).or_default() += 1;
        }
    }
    counts
}

#[derive(Debug, serde::Deserialize)]
pub struct SaveIndexForm {
    #[serde(default)]
    pub csrf: String,
    pub definition: String,
    /// The stored definition's fingerprint when the draft was made; absent: no check.
    #[serde(default)]
    pub stand: Option<String>,
}

/// `POST /werkstatt/index/speichern`: a definition that checks and computes, saved under its
/// id — refused with a conflict when the stored one changed since the draft was made.
pub async fn save_index(
    State(st): State<AppState>,
    headers: HeaderMap,
    axum::Form(f): axum::Form<SaveIndexForm>,
) -> Result<Response, AppError> {
    let e = authorize(&st, &headers, &f.csrf).await?;
    super::may_save_shared()?;
    let id = with_store_mut(&st, e.name.clone(), move |store| {
        let def = IndexDefinition::from_toml(&f.definition).map_err(AppError::BadRequest)?;
        if let Some(stand) = f.stand.as_deref().filter(|s| !s.is_empty())
            && stand_of(store, &def.id)? != stand
        {
            return Err(AppError::Conflict(format!(
                "Der Index „{}“ wurde inzwischen von jemand anderem gespeichert. Bitte die Werkstatt neu öffnen (/werkstatt/index?von={}) und die Änderung dort wiederholen.",
                def.id,
                url(&def.id)
            )));
        }
        let problems = check_definition(store, &def).map_err(AppError::Internal)?;
        if !problems.is_empty() {
            return Err(AppError::BadRequest(problems.into_iter().map(|p| p.message).collect::<Vec<_>>().join(" ")));
        }
        compute_index(store, &def, "Entwurf", None).map_err(AppError::BadRequest)?;
        store.save_index_definition(&def.id, &f.definition)?;
        Ok(def.id)
    })
    .await?;
    Ok(Redirect::to(&format!("/index/{}", url(&id))).into_response())
}
