//! The indicator form: name, formula (with a picker for the stored variables and a check
//! while typing), unit, decimals, direction, domain, target groups, minimum denominator,
//! source and note; the draft as TOML beside it. Checked exactly as `quartier indicators load`
//! checks a catalogue, previewed on the stored data (map, distribution) before it is saved.

use crate::admin::{Actor, actor_of, authorize, csrf_field, tabs, with_store_mut};
use crate::forms::{FieldError, described_by, error_after, field_id, form_number, form_text, problems_summary, text_field};
use crate::pages::{fmt_de, layout_nav, url};
use crate::{AppError, AppState, with_store};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use quartier_app::store::Store;
use quartier_app::views::{IndicatorQuery, compute_with_catalogue};
use quartier_core::indicator::catalogue::Direction;
use quartier_core::indicator::{Catalogue, Indicator};
use quartier_report::library::fingerprint;
use serde::Deserialize;
use std::collections::{BTreeSet, HashSet};

#[derive(Debug, Default, Clone, Deserialize)]
pub struct DraftQuery {
    /// Start from this stored indicator.
    pub von: Option<String>,
    pub id: Option<String>,
    pub name: Option<String>,
    pub formel: Option<String>,
    pub einheit: Option<String>,
    pub dezimalen: Option<String>,
    pub richtung: Option<String>,
    pub bereich: Option<String>,
    /// Target groups, separated by commas.
    pub zielgruppen: Option<String>,
    pub quelle: Option<String>,
    /// The note (description) shown with the indicator.
    pub beschreibung: Option<String>,
    pub mindestnenner: Option<String>,
    pub ebene: Option<String>,
    pub jahr: Option<String>,
    /// The draft as TOML (`[[indicator]]`): fills the form.
    pub toml: Option<String>,
    /// The stored indicator's fingerprint when the draft was made (optimistic locking).
    pub stand: Option<String>,
    /// Only in the form that saves.
    pub csrf: Option<String>,
}

/// `/werkstatt/indikator`: the draft form, its check and its preview.
pub async fn indicator_draft(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<DraftQuery>) -> Result<Response, AppError> {
    let page = with_store(&st, move |store, st| {
        let actor = actor_of(st, store, &headers)?;
        // A draft with problems is a bad request (the page names each at its field).
        let bad = !checked_draft(store, st, &q)?.1.is_empty();
        Ok((if bad { StatusCode::BAD_REQUEST } else { StatusCode::OK }, render(store, st, q, actor.as_ref())?))
    })
    .await?;
    Ok(page.into_response())
}

/// The draft: pasted TOML, or the stored indicator to start from (`von`) overridden by the
/// form's fields; with the problems of fields that do not read.
fn draft_from(q: &DraftQuery, catalogue: &Catalogue) -> Result<(Indicator, Vec<FieldError>), AppError> {
    let mut problems = Vec::new();
    if let Some(text) = q.toml.as_deref().filter(|t| !t.trim().is_empty()) {
        let parsed = Catalogue::from_toml(text).map_err(|e| e.0.join("; ")).and_then(|c| match <[Indicator; 1]>::try_from(c.indicators) {
            Ok([one]) => Ok(one),
            Err(v) => Err(format!("Das TOML muss genau einen Indikator ([[indicator]]) enthalten, nicht {}.", v.len())),
        });
        return match parsed {
            Ok(ind) => Ok((ind, problems)),
            Err(e) => {
                problems.push(FieldError { field: "toml".into(), message: e });
                Ok((Indicator { direction: Direction::HigherIsWorse, decimals: 1, ..blank() }, problems))
            }
        };
    }
    let base = match q.von.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => Some(catalogue.get(v).cloned().ok_or_else(|| AppError::NotFound(format!("Indikator „{v}“ gibt es nicht")))?),
        None => None,
    };
    let field = |f: &Option<String>, from: Option<String>| f.clone().map(|v| v.trim().to_string()).or(from).unwrap_or_default();
    let b = base.as_ref();
    let min_denominator = match q.mindestnenner.as_deref().map(str::trim) {
        Some("") => None,
        Some(m) => match form_number(m) {
            Some(v) if v >= 0.0 => Some(v),
            _ => {
                problems.push(FieldError { field: "mindestnenner".into(), message: format!("Mindestnenner „{m}“: eine Zahl ab 0.") });
                None
            }
        },
        None => b.and_then(|b| b.min_denominator),
    };
    let decimals = match q.dezimalen.as_deref().map(str::trim) {
        Some("") | None => b.map(|b| b.decimals).unwrap_or(1),
        Some(d) => match d.parse::<u8>() {
            Ok(d) if d <= 6 => d,
            _ => {
                problems.push(FieldError { field: "dezimalen".into(), message: format!("Nachkommastellen „{d}“: 0 bis 6.") });
                1
            }
        },
    };
    let draft = Indicator {
        id: field(&q.id, b.map(|b| b.id.clone())),
        name: field(&q.name, b.map(|b| b.name.clone())),
        description: field(&q.beschreibung, b.map(|b| b.description.clone())),
        formula: field(&q.formel, b.map(|b| b.formula.clone())),
        unit: field(&q.einheit, b.map(|b| b.unit.clone())),
        decimals,
        direction: match q.richtung.as_deref() {
            Some("higher_is_better") => Direction::HigherIsBetter,
            Some(_) => Direction::HigherIsWorse,
            None => b.map(|b| b.direction).unwrap_or(Direction::HigherIsWorse),
        },
        domain: field(&q.bereich, b.map(|b| b.domain.clone())),
        target_groups: match &q.zielgruppen {
            Some(t) => t.split([',', ';']).map(str::trim).filter(|g| !g.is_empty()).map(String::from).collect(),
            None => b.map(|b| b.target_groups.clone()).unwrap_or_default(),
        },
        source: field(&q.quelle, b.map(|b| b.source.clone())),
        min_denominator,
    };
    Ok((draft, problems))
}

fn blank() -> Indicator {
    Indicator {
        id: String::new(),
        name: String::new(),
        description: String::new(),
        formula: String::new(),
        unit: String::new(),
        decimals: 1,
        direction: Direction::HigherIsWorse,
        domain: String::new(),
        target_groups: Vec::new(),
        source: String::new(),
        min_denominator: None,
    }
}

/// The catalogue with `draft` in place of the stored indicator of its id (or added), checked
/// as `quartier indicators load` checks it; problems at the field they concern.
fn with_draft(catalogue: &Catalogue, draft: &Indicator, known: &HashSet<String>) -> Result<Catalogue, Vec<FieldError>> {
    let mut indicators = catalogue.indicators.clone();
    match indicators.iter_mut().find(|i| i.id == draft.id) {
        Some(slot) => *slot = draft.clone(),
        None => indicators.push(draft.clone()),
    }
    Catalogue { indicators }.checked(known).map_err(|e| {
        e.0.into_iter()
            .map(|message| {
                let field = if message.contains(": id muss") || message.contains("heißt wie ein Merkmal") {
                    "id"
                } else if message.contains("min_denominator") {
                    "mindestnenner"
                } else {
                    "formel"
                };
                FieldError { field: field.into(), message }
            })
            .collect()
    })
}

/// The fingerprint of the stored indicator `id` (none stored: a fingerprint of nothing).
fn stand_of(catalogue: &Catalogue, id: &str) -> String {
    fingerprint(catalogue.get(id).map(|i| Catalogue { indicators: vec![i.clone()] }.to_toml()).as_deref())
}

/// The draft and everything wrong with it.
fn checked_draft(store: &dyn Store, st: &AppState, q: &DraftQuery) -> Result<(Indicator, Vec<FieldError>, Option<Catalogue>), AppError> {
    let catalogue = store.catalogue()?;
    let variables = st.cache.variables(&st.db, store)?;
    let (draft, mut problems) = draft_from(q, &catalogue)?;
    if draft.formula.trim().is_empty() {
        return Ok((draft, problems, None));
    }
    if draft.id.is_empty() {
        problems.push(FieldError { field: "id".into(), message: "Die Kennung fehlt.".into() });
    }
    if draft.name.trim().is_empty() {
        problems.push(FieldError { field: "name".into(), message: "Der Name fehlt.".into() });
    }
    let known: HashSet<String> = variables.iter().map(|v| v.key.clone()).collect();
    let checked = match with_draft(&catalogue, &draft, &known) {
        Ok(c) => Some(c),
        Err(p) => {
            problems.extend(p);
            None
        }
    };
    let checked = checked.filter(|_| problems.is_empty());
    Ok((draft, problems, checked))
}

fn render(store: &dyn Store, st: &AppState, q: DraftQuery, actor: Option<&Actor>) -> Result<maud::Markup, AppError> {
    let catalogue = store.catalogue()?;
    let variables = st.cache.variables(&st.db, store)?;
    let levels: Vec<_> = store.levels()?.into_iter().filter(|l| l.areas > 0).collect();
    let (draft, errors, checked) = checked_draft(store, st, &q)?;
    let errors = &errors;
    let submitted = !draft.formula.trim().is_empty() || !errors.is_empty();
    let exists = catalogue.get(&draft.id).is_some();
    let stand = q.stand.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| stand_of(&catalogue, &draft.id));
    let toml = if q.toml.as_deref().is_some_and(|t| !t.trim().is_empty()) && errors.iter().any(|e| e.field == "toml") {
        q.toml.clone().unwrap_or_default()
    } else {
        Catalogue { indicators: vec![draft.clone()] }.to_toml()
    };
    let level = q.ebene.clone().filter(|l| levels.iter().any(|x| &x.name == l)).or_else(|| levels.last().map(|l| l.name.clone()));
    let preview = match (&checked, &level) {
        (Some(cat), Some(level)) => {
            let res = compute_with_catalogue(
                store,
                cat.clone(),
                &IndicatorQuery { indicators: vec![draft.id.clone()], years: None, level: Some(level.clone()), public: st.public },
            )
            .map_err(AppError::BadRequest)?;
            let mut years: Vec<i32> = res.rows.iter().filter(|r| r.status.has_value()).map(|r| r.year).collect();
            years.sort_unstable();
            years.dedup();
            let year = q.jahr.as_deref().and_then(|y| y.parse().ok()).filter(|y| years.contains(y)).or(years.last().copied());
            Some((res, years, year, level.clone()))
        }
        _ => None,
    };
    let shapes = match &level {
        Some(l) if preview.is_some() => Some(st.cache.map_paths(&st.db, store, &store.levels()?, l)?),
        _ => None,
    };
    let mut vars: Vec<(&str, &str, &str)> = variables.iter().map(|v| (v.key.as_str(), v.label.as_str(), v.unit.as_str())).collect();
    vars.sort_unstable();
    let groups: BTreeSet<&str> = catalogue.indicators.iter().flat_map(|i| i.target_groups.iter().map(String::as_str)).collect();
    let domains: BTreeSet<&str> = catalogue.indicators.iter().map(|i| i.domain.as_str()).filter(|d| !d.is_empty()).collect();
    let invalid = |f: &str| described_by(errors, f).map(|_| "true");
    let body = html! {
        (tabs("indikator"))
        h1 { "Werkstatt: Indikator entwerfen" }
        p.lead { "Formel prüfen und auf den gespeicherten Daten ansehen, bevor etwas gespeichert wird. Gespeichert wird hier (wo der Server Änderungen zulässt) oder mit "
            code { "quartier indicators load KATALOG.toml" } ". Das TOML daneben zeigt den Entwurf; eingefügtes TOML füllt das Formular." }
        @if !catalogue.indicators.is_empty() {
            details {
                summary { "Einen gespeicherten Indikator als Vorlage öffnen" }
                ul.columns { @for i in &catalogue.indicators { li { a href=(format!("/werkstatt/indikator?von={}", url(&i.id))) { (i.id) " – " (i.name) } } } }
            }
        }
        (problems_summary(errors, if submitted { "Noch nicht gültig" } else { "Nicht gelesen" }))
        div.workbench-split {
            form.draft.indicator-form method="get" action="/werkstatt/indikator" {
                input type="hidden" name="stand" value=(stand);
                fieldset {
                    legend { "Indikator" }
                    label for=(field_id("id")) { "Kennung (Kleinbuchstaben, Ziffern und _)" " (Pflicht)" }
                    input id=(field_id("id")) type="text" name="id" value=(draft.id) required pattern="[a-z_][a-z0-9_]*" aria-invalid=[invalid("id")] aria-describedby=[described_by(errors, "id")];
                    (error_after(errors, "id"))
                    (text_field("Name", "name", "name", &draft.name, errors, true))
                    label.wide for="formel" { "Formel" }
                    input #formel type="text" name="formel" value=(draft.formula) placeholder="100 * kinder_sgb2 / kinder_u15" list="merkmale" spellcheck="false" autocomplete="off"
                        aria-invalid=[invalid("formel")] aria-describedby=(format!("formelpruefung{}", described_by(errors, "formel").map(|d| format!(" {d}")).unwrap_or_default()));
                    output #formelpruefung.note aria-live="polite" for="formel" {}
                    (error_after(errors, "formel"))
                    // Kept with this id so the error list's link finds the formula.
                    span id=(field_id("formel")) {}
                    datalist #merkmale { @for (k, l, _) in &vars { option value=(k) { (l) } } }
                    div.picker hidden {
                        label for="merkmal-waehler" { "Merkmal für die Formel" }
                        select #merkmal-waehler {
                            @for (k, l, u) in &vars { option value=(k) { (k) " – " (l) @if !u.is_empty() { " (" (u) ")" } } }
                            @for i in catalogue.indicators.iter().filter(|i| i.id != draft.id) { option value=(i.id) { (i.id) " – Indikator " (i.name) } }
                        }
                        button type="button" #merkmal-einfuegen { "An der Schreibmarke einfügen" }
                    }
                    (text_field("Einheit (z. B. %, je 1.000 EW)", "einheit", "einheit", &draft.unit, errors, false))
                    (text_field("Nachkommastellen", "dezimalen", "dezimalen", &draft.decimals.to_string(), errors, false))
                    label for="f-richtung" { "Richtung" }
                    select #f-richtung name="richtung" {
                        option value="higher_is_worse" selected[draft.direction == Direction::HigherIsWorse] { "höher = mehr Bedarf" }
                        option value="higher_is_better" selected[draft.direction == Direction::HigherIsBetter] { "höher = besser" }
                    }
                    label for="f-bereich" { "Lebensbereich" }
                    input #f-bereich type="text" name="bereich" value=(draft.domain) list="bereiche";
                    datalist #bereiche { @for d in &domains { option value=(d) {} } }
                    label for="f-zielgruppen" { "Zielgruppen (mit Komma getrennt)" }
                    input #f-zielgruppen type="text" name="zielgruppen" value=(draft.target_groups.join(", ")) aria-describedby="f-zielgruppen-hinweis";
                    p.note #f-zielgruppen-hinweis { @if groups.is_empty() { "Zum Beispiel: Kinder, Alleinerziehende, Ältere." } @else { "Im Katalog: " (groups.iter().copied().collect::<Vec<_>>().join(", ")) } }
                    (text_field("Mindestnenner (darunter unsicher, öffentlich verborgen)", "mindestnenner", "mindestnenner", &draft.min_denominator.map(form_text).unwrap_or_default(), errors, false))
                    (text_field("Quelle", "quelle", "quelle", &draft.source, errors, false))
                    label for="f-beschreibung" { "Hinweis zur Deutung" }
                    textarea #f-beschreibung name="beschreibung" rows="3" { (draft.description) }
                }
                div.controls-row {
                    label for="f-ebene" { "Ebene der Karte" }
                    select #f-ebene name="ebene" { @for l in &levels { option value=(l.name) selected[Some(&l.name) == level.as_ref()] { (l.name) } } }
                    button type="submit" { "Prüfen und ansehen" }
                }
            }
            form.toml-form method="get" action="/werkstatt/indikator" {
                label for=(field_id("toml")) { "Entwurf als TOML" }
                textarea id=(field_id("toml")) name="toml" rows="16" cols="60" spellcheck="false" aria-invalid=[invalid("toml")] aria-describedby=[described_by(errors, "toml")] { (toml) }
                (error_after(errors, "toml"))
                input type="hidden" name="ebene" value=(level.clone().unwrap_or_default());
                input type="hidden" name="stand" value=(stand);
                button type="submit" { "TOML ins Formular übernehmen" }
            }
        }
        @if !submitted { p.note { "Merkmale: " (vars.iter().map(|v| v.0).collect::<Vec<_>>().join(", ")) } }
        @if checked.is_some() {
            p.ok role="status" { "Geprüft: die Formel ist gültig und passt zum Katalog." }
            @if let Some(e) = actor {
                form.controls method="post" action="/werkstatt/indikator/speichern" {
                    (csrf_field(e))
                    input type="hidden" name="toml" value=(toml);
                    input type="hidden" name="stand" value=(stand);
                    input type="hidden" name="ebene" value=(level.clone().unwrap_or_default());
                    button type="submit" { @if exists { "Änderung im Katalog speichern" } @else { "In den Katalog aufnehmen" } }
                }
            }
        }
        @if let (Some((res, years, Some(year), level)), Some(shapes)) = (&preview, &shapes) {
            @let rows: Vec<_> = res.rows.iter().filter(|r| r.year == *year && st.visible(level, &r.area_id)).collect();
            @let values: Vec<f64> = rows.iter().filter(|r| r.status.has_value()).filter_map(|r| r.value).collect();
            @let classes = quartier_core::classify::quantiles(&values, 5);
            @let colors = crate::map::palette(5);
            @let reference = res.references.iter().find(|r| r.year == *year && r.status.has_value()).and_then(|r| r.value);
            @let dec = draft.decimals as usize;
            h2 { "Vorschau " (year) " – " (level) }
            nav.years aria-label="Jahre" {
                @for y in years {
                    @if y == year { strong aria-current="true" { (y) } } @else {
                        a href=(format!("/werkstatt/indikator?toml={}&ebene={}&jahr={y}", url(&toml), url(level))) { (y) }
                    }
                }
            }
            p { (values.len()) " von " (rows.len()) " Gebieten mit Wert"
                @if let Some(r) = reference { " · Gesamt " strong { (fmt_de(r, dec)) } }
                @if !values.is_empty() {
                    @let s = { let mut s = values.clone(); s.sort_by(f64::total_cmp); s };
                    " · Median " (fmt_de(crate::charts::quartile(&s, 0.5), dec)) " · Spanne " (fmt_de(s[0], dec)) " bis " (fmt_de(s[s.len() - 1], dec))
                }
            }
            div.mapview {
                figure.map {
                    svg xmlns="http://www.w3.org/2000/svg" viewBox=(shapes.view_box) role="img" aria-label=(format!("Vorschaukarte des Entwurfs {} {year}, Quantile; die Werte stehen auch im Indikator-Export", draft.name)) {
                        g.areas {
                            @for r in &rows {
                                @if let Some(p) = shapes.paths.get(&r.area_id) {
                                    @let fill = r.value.filter(|_| r.status.has_value()).and_then(|v| classes.as_ref().map(|c| colors[quartier_core::classify::class_of(&c.bins, v)])).unwrap_or("#f2f2f2");
                                    path d=(p) fill=(fill) {}
                                }
                            }
                        }
                    }
                }
                div {
                    (crate::charts::strip_plot(&values, reference, None, dec, &format!("Verteilung des Entwurfs {year}")))
                }
            }
        }
    };
    Ok(layout_nav("Werkstatt", "werkstatt", body, None))
}

/// `GET /werkstatt/indikator/pruefen?id=…&formel=…`: the formula check alone, as JSON
/// (`{"ok": true}` or `{"ok": false, "message": …}`), for checking while typing.
pub async fn check_formula(State(st): State<AppState>, Query(mut q): Query<DraftQuery>) -> Result<Response, AppError> {
    let result = with_store(&st, move |store, st| {
        // While typing, the formula is what is checked; a missing id or name is the save's concern.
        q.toml = None;
        if q.id.as_deref().is_none_or(|i| i.trim().is_empty()) {
            q.id = Some("entwurf".into());
        }
        q.name.get_or_insert_with(|| "Entwurf".into());
        if q.formel.as_deref().is_none_or(|f| f.trim().is_empty()) {
            return Ok(serde_json::json!({"ok": false, "message": "Formel fehlt"}));
        }
        let (_, problems, _) = checked_draft(store, st, &q)?;
        let formula: Vec<String> = problems.into_iter().filter(|p| p.field == "formel").map(|p| p.message).collect();
        Ok(if formula.is_empty() {
            serde_json::json!({"ok": true, "message": "Formel gültig"})
        } else {
            serde_json::json!({"ok": false, "message": formula.join("\n")})
        })
    })
    .await?;
    use axum::http::header;
    // `<` as \u003c: the echoed formula can never read as markup, whoever renders the JSON.
    let body = result.to_string().replace('<', "\\u003c");
    Ok(([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], body).into_response())
}

/// `POST /werkstatt/indikator/speichern`: the checked draft into the stored catalogue. A draft
/// with problems comes back as the form with each problem at its field (400); a stored
/// indicator changed since the draft was made is a conflict (409).
pub async fn save_indicator(
    State(st): State<AppState>,
    headers: HeaderMap,
    axum::Form(q): axum::Form<DraftQuery>,
) -> Result<Response, AppError> {
    let e = authorize(&st, &headers, q.csrf.as_deref().unwrap_or("")).await?;
    super::may_save_shared()?;
    let level = q.ebene.clone().unwrap_or_default();
    let st2 = st.clone();
    let form = q.clone();
    let saved = with_store_mut(&st, e.name.clone(), move |store| {
        let (draft, problems, checked) = checked_draft(store, &st2, &q)?;
        if draft.formula.trim().is_empty() {
            return Ok(Err(vec![FieldError { field: "formel".into(), message: "Die Formel fehlt.".into() }]));
        }
        let Some(checked) = checked else { return Ok(Err(problems)) };
        if let Some(stand) = q.stand.as_deref().filter(|s| !s.is_empty())
            && stand_of(&store.catalogue()?, &draft.id) != stand
        {
            return Err(AppError::Conflict(format!(
                "Der Indikator „{}“ wurde inzwischen von jemand anderem gespeichert. Bitte den Entwurf neu öffnen (/werkstatt/indikator?von={}) und die Änderung dort wiederholen.",
                draft.id,
                url(&draft.id)
            )));
        }
        store.save_catalogue(&checked, false)?;
        Ok(Ok(draft.id))
    })
    .await?;
    match saved {
        Ok(id) => Ok(Redirect::to(&format!("/indikator/{}?ebene={}", url(&id), url(&level))).into_response()),
        Err(_) => {
            let page = with_store(&st, move |store, st| {
                let actor = actor_of(st, store, &headers)?;
                render(store, st, form, actor.as_ref())
            })
            .await?;
            Ok((StatusCode::BAD_REQUEST, page).into_response())
        }
    }
}
