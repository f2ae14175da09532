//! From data to action in the browser: recording an area conference (the five questions),
//! a measure, and editing an offer. Who may: conferences any account except readers (Träger
//! contribute), measures social planning, administration and departments, an offer social
//! planning, administration and the Träger it belongs to — checked on the server for the
//! object, not by hiding buttons. Records are versioned: a stale form gets a conflict.

use crate::admin::{authorize_as, csrf_field, form_actor, with_store_mut};
use crate::pages::{layout_nav, url};
use crate::{AppError, AppState, with_store};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use quartier_app::store::accounts::{Role, User};
use quartier_app::store::action::{Agreement, Conference, Contribution, Measure};
use serde::Deserialize;

fn list(s: &str) -> Vec<String> {
    s.split([',', ';', '\n']).map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect()
}

#[derive(Debug, Default, Deserialize)]
pub struct NewQuery {
    pub ebene: Option<String>,
    pub gebiet: Option<String>,
    pub konferenz: Option<i64>,
}

fn login_needed() -> AppError {
    AppError::Forbidden("Bitte anmelden, um Konferenzen, Maßnahmen oder Angebote zu bearbeiten.".into())
}

/// `GET /konferenz/neu?ebene=…&gebiet=…`.
pub async fn conference_form(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<NewQuery>) -> Result<Response, AppError> {
    with_store(&st, move |store, st| {
        let (actor, _) = form_actor(st, store, &headers)?.ok_or_else(login_needed)?;
        let (level, area) = (q.ebene.clone().unwrap_or_default(), q.gebiet.clone().unwrap_or_default());
        let name = store
            .areas(Some(&level))
            .map_err(|_| AppError::NotFound(format!("Ebene „{level}“ gibt es nicht")))?
            .into_iter()
            .find(|a| a.key == area)
            .map(|a| a.name)
            .ok_or_else(|| AppError::NotFound(format!("Gebiet „{area}“ gibt es nicht")))?;
        let offers = store.offers()?;
        let body = html! {
            h1 { "Sozialraumkonferenz festhalten: " (name) }
            p.lead { "Die fünf Fragen der Konferenz – was vor Ort gesehen wird, ergänzt die Daten." }
            form.draft method="post" action="/konferenz" {
                (csrf_field(&actor))
                input type="hidden" name="ebene" value=(level);
                input type="hidden" name="gebiet" value=(area);
                div.controls {
                    label { "Datum" input type="date" name="datum" required; }
                    label { "Art" select name="art" { option { "Sozialraumkonferenz" } option { "Fachplanungskonferenz" } } }
                }
                fieldset {
                    legend { "1. Passt die Analyse zur Wahrnehmung vor Ort?" }
                    @for (v, l) in [("agree", "ja"), ("partly", "teilweise"), ("no", "nein")] {
                        label.check { input type="radio" name="passt" value=(v) required; " " (l) }
                    }
                    label.block for="passt_notiz" { "Anmerkung" }
                    textarea #passt_notiz name="passt_notiz" rows="2" cols="80" {}
                }
                label.block for="zielgruppen" { "2. Welche Zielgruppen? (durch Komma getrennt)" }
                input #zielgruppen type="text" name="zielgruppen" size="80";
                fieldset {
                    legend { "3. Was gibt es? (Angebote aus dem Verzeichnis)" }
                    @if offers.services.is_empty() { p.note { "Das Angebotsverzeichnis ist leer." } }
                    @for s in &offers.services { label.check { input type="checkbox" name="angebot" value=(s.id); " " (s.name) } }
                }
                label.block for="fehlt" { "4. Was fehlt?" }
                textarea #fehlt name="fehlt" rows="3" cols="80" {}
                label.block for="beitraege" { "5. Wer kann was beitragen? (je Zeile „Organisation: Beitrag“)" }
                textarea #beitraege name="beitraege" rows="3" cols="80" {}
                label.block for="teilnehmende" { "Teilnehmende (durch Komma getrennt)" }
                input #teilnehmende type="text" name="teilnehmende" size="80";
                label.block for="potenziale" { "Potenziale des Gebiets" }
                textarea #potenziale name="potenziale" rows="2" cols="80" {}
                div.controls { button type="submit" { "Konferenz speichern" } }
            }
        };
        Ok(layout_nav("Konferenz festhalten", "gebiete", body, None).into_response())
    })
    .await
}

/// The conference form, as sent (repeated fields collected by hand: the form crate keeps
/// the last of a name).
pub async fn conference_save(State(st): State<AppState>, headers: HeaderMap, body: String) -> Result<Response, AppError> {
    let pairs: Vec<(String, String)> = form_pairs(&body);
    let one = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let (actor, _) =
        authorize_as(&st, &headers, &one("csrf"), |u| u.role != Role::Reader, "Konten mit Schreibrecht (nicht „lesend“)").await?;
    let matches = match one("passt").as_str() {
        "agree" => Agreement::Agree,
        "partly" => Agreement::Partly,
        "no" => Agreement::No,
        other => return Err(AppError::BadRequest(format!("„Passt die Analyse?“: ja, teilweise oder nein, nicht „{other}“"))),
    };
    let contributions = one("beitraege")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| match l.split_once(':') {
            Some((o, c)) => Contribution { organization: o.trim().into(), commitment: c.trim().into() },
            None => Contribution { organization: l.trim().into(), commitment: String::new() },
        })
        .collect();
    let c = Conference {
        id: 0,
        version: 0,
        level: one("ebene"),
        area: one("gebiet"),
        date: one("datum"),
        kind: one("art"),
        matches,
        matches_note: one("passt_notiz"),
        target_groups: list(&one("zielgruppen")),
        existing_offers: pairs.iter().filter(|(k, _)| k == "angebot").map(|(_, v)| v.clone()).collect(),
        missing: one("fehlt"),
        contributions,
        participants: list(&one("teilnehmende")),
        potentials: one("potenziale"),
    };
    let (level, area) = (c.level.clone(), c.area.clone());
    with_store_mut(&st, actor.name, move |store| store.save_conference(&c).map_err(record_error)).await?;
    Ok(Redirect::to(&format!("/gebiet/{}?ebene={}#konferenzen", url(&area), url(&level))).into_response())
}

fn record_error(e: quartier_app::store::StoreError) -> AppError {
    match e {
        quartier_app::store::StoreError::InvalidRecord(m) => AppError::BadRequest(m),
        quartier_app::store::StoreError::Conflict(m) => AppError::Conflict(m),
        other => other.into(),
    }
}

/// `application/x-www-form-urlencoded` into pairs, keeping repeated names.
fn form_pairs(body: &str) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let bytes = s.replace('+', " ").into_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%'
                && i + 2 < bytes.len()
                && let Ok(b) = u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16)
            {
                out.push(b);
                i += 3;
                continue;
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').map_or((decode(p), String::new()), |(k, v)| (decode(k), decode(v))))
        .collect()
}

/// `GET /massnahme/neu?ebene=…&gebiet=…[&konferenz=…]`.
pub async fn measure_form(State(st): State<AppState>, headers: HeaderMap, Query(q): Query<NewQuery>) -> Result<Response, AppError> {
    with_store(&st, move |store, st| {
        let (actor, _) = form_actor(st, store, &headers)?.ok_or_else(login_needed)?;
        let catalogue = store.catalogue()?;
        let (level, area) = (q.ebene.clone().unwrap_or_default(), q.gebiet.clone().unwrap_or_default());
        let body = html! {
            h1 { "Maßnahme anlegen" }
            form.draft method="post" action="/massnahme" {
                (csrf_field(&actor))
                input type="hidden" name="ebene" value=(level);
                @if let Some(k) = q.konferenz { input type="hidden" name="konferenz" value=(k); }
                div.controls {
                    label.wide { "Titel" input type="text" name="titel" required; }
                    label { "Gebiete (Schlüssel, durch Komma)" input type="text" name="gebiete" value=(area) required; }
                    label { "Federführung" input type="text" name="federfuehrung"; }
                    label { "Budget (€)" input type="text" name="budget" inputmode="numeric"; }
                    label { "Förderprogramm" input type="text" name="programm"; }
                    label { "Start (Jahr)" input type="text" name="start" inputmode="numeric" required; }
                    label { "Ende (Jahr)" input type="text" name="ende" inputmode="numeric"; }
                    label { "Stand" select name="status" { option { "geplant" } option { "laufend" } option { "abgeschlossen" } } }
                }
                label.block for="ziel" { "Ziel" }
                textarea #ziel name="ziel" rows="2" cols="80" {}
                label.block for="zg" { "Zielgruppen (durch Komma)" }
                input #zg type="text" name="zielgruppen" size="80";
                label.block for="partner" { "Partner (durch Komma)" }
                input #partner type="text" name="partner" size="80";
                fieldset {
                    legend { "Beobachtete Indikatoren (vor und nach dem Start)" }
                    @for i in &catalogue.indicators { label.check { input type="checkbox" name="indikator" value=(i.id); " " (i.name) } }
                }
                div.controls { button type="submit" { "Maßnahme speichern" } }
            }
        };
        Ok(layout_nav("Maßnahme anlegen", "gebiete", body, None).into_response())
    })
    .await
}

pub async fn measure_save(State(st): State<AppState>, headers: HeaderMap, body: String) -> Result<Response, AppError> {
    let pairs = form_pairs(&body);
    let one = |k: &str| field(&pairs, k);
    let allowed = |u: &User| matches!(u.role, Role::Planner | Role::Admin | Role::Department);
    let (actor, _) =
        authorize_as(&st, &headers, &one("csrf"), allowed, "Konten der Sozialplanung, der Fachbereiche und der Administration").await?;
    let year = |k: &str, what: &str| -> Result<Option<i32>, AppError> {
        let v = one(k);
        if v.is_empty() {
            Ok(None)
        } else {
            v.parse().map(Some).map_err(|_| AppError::BadRequest(format!("{what} „{v}“ ist kein Jahr")))
        }
    };
    let budget = match one("budget").replace('.', "").replace(',', ".") {
        b if b.is_empty() => None,
        b => Some(b.parse::<f64>().map_err(|_| AppError::BadRequest(format!("Budget „{b}“ ist keine Zahl")))?),
    };
    let m = Measure {
        id: 0,
        version: 0,
        title: one("titel"),
        goal: one("ziel"),
        target_groups: list(&one("zielgruppen")),
        level: one("ebene"),
        areas: list(&one("gebiete")),
        lead: one("federfuehrung"),
        partners: list(&one("partner")),
        budget,
        programme: one("programm"),
        start: year("start", "Start")?.ok_or_else(|| AppError::BadRequest("Start (Jahr) fehlt".into()))?,
        end: year("ende", "Ende")?,
        status: one("status"),
        indicators: pairs.iter().filter(|(k, _)| k == "indikator").map(|(_, v)| v.clone()).collect(),
        conference: one("konferenz").parse().ok(),
    };
    let (level, area) = (m.level.clone(), m.areas.first().cloned().unwrap_or_default());
    with_store_mut(&st, actor.name, move |store| store.save_measure(&m).map_err(record_error)).await?;
    Ok(Redirect::to(&format!("/gebiet/{}?ebene={}#massnahmen", url(&area), url(&level))).into_response())
}

/// A stable fingerprint of an offer's stored state, for optimistic locking of its form.
fn fingerprint(s: &quartier_app::store::offers::Service) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(s).unwrap_or_default().hash(&mut h);
    format!("{:016x}", h.finish())
}

/// `GET /angebot/{id}`: the offer's form.
pub async fn offer_form(State(st): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Result<Response, AppError> {
    with_store(&st, move |store, st| {
        let (actor, user) = form_actor(st, store, &headers)?.ok_or_else(login_needed)?;
        let offers = store.offers()?;
        let s = offers.services.iter().find(|s| s.id == id).ok_or_else(|| AppError::NotFound(format!("Angebot „{id}“ gibt es nicht")))?;
        if let Some(u) = &user
            && !may_edit_offer(u, &s.organization_id)
        {
            return Err(AppError::Forbidden("Dieses Angebot pflegt ein anderer Träger.".into()));
        }
        let body = html! {
            h1 { "Angebot bearbeiten: " (s.name) }
            form.draft method="post" action=(format!("/angebot/{}", url(&s.id))) {
                (csrf_field(&actor))
                input type="hidden" name="stand" value=(fingerprint(s));
                div.controls {
                    label.wide { "Name" input type="text" name="name" value=(s.name) required; }
                    label { "Kapazität" input type="text" name="kapazitaet" inputmode="decimal" value=(s.capacity.map(|c| c.to_string()).unwrap_or_default()); }
                    label { "gültig ab" input type="date" name="gueltig_ab" value=(s.valid_from); }
                    label { "gültig bis" input type="date" name="gueltig_bis" value=(s.valid_to); }
                }
                label.block for="zgr" { "Zielgruppen (durch Komma)" }
                input #zgr type="text" name="zielgruppen" size="80" value=(s.target_groups.join(", "));
                label.block for="besch" { "Beschreibung" }
                textarea #besch name="beschreibung" rows="3" cols="80" { (s.description) }
                label.block for="zeiten" { "Zeiten" }
                input #zeiten type="text" name="zeiten" size="80" value=(s.schedule);
                label.block for="kontakt" { "Kontakt" }
                input #kontakt type="text" name="kontakt" size="80" value=(s.contact);
                label.check { input type="checkbox" name="bestaetigt" value="1" checked; " heute als aktuell bestätigen" }
                div.controls { button type="submit" { "Angebot speichern" } }
            }
        };
        Ok(layout_nav("Angebot bearbeiten", "angebote", body, None).into_response())
    })
    .await
}

fn may_edit_offer(u: &User, organization: &str) -> bool {
    matches!(u.role, Role::Planner | Role::Admin) || (u.role == Role::Traeger && u.organization.as_deref() == Some(organization))
}

pub async fn offer_save(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> Result<Response, AppError> {
    let pairs = form_pairs(&body);
    let one = |k: &str| field(&pairs, k);
    let (actor, user) = authorize_as(
        &st,
        &headers,
        &one("csrf"),
        |u| matches!(u.role, Role::Planner | Role::Admin | Role::Traeger),
        "Konten der Sozialplanung, der Administration und des zuständigen Trägers",
    )
    .await?;
    let capacity = match one("kapazitaet").replace(',', ".") {
        c if c.is_empty() => None,
        c => Some(c.parse::<f64>().map_err(|_| AppError::BadRequest(format!("Kapazität „{c}“ ist keine Zahl")))?),
    };
    let change = OfferChange {
        version: Some(one("stand")),
        name: one("name"),
        capacity,
        valid_from: one("gueltig_ab"),
        valid_to: one("gueltig_bis"),
        target_groups: list(&one("zielgruppen")),
        description: one("beschreibung"),
        schedule: one("zeiten"),
        contact: one("kontakt"),
        confirmed: one("bestaetigt") == "1",
    };
    with_store_mut(&st, actor.name, move |store| update_offer(store, user.as_ref(), &id, change)).await?;
    Ok(Redirect::to("/angebote").into_response())
}

/// What a form or an API request changes in an offer (all of these fields are set).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct OfferChange {
    /// The state the change was made on ([`offer_version`]); a different stored state is a
    /// conflict. None (API only): no check.
    #[serde(default)]
    pub version: Option<String>,
    pub name: String,
    #[serde(default)]
    pub capacity: Option<f64>,
    #[serde(default)]
    pub valid_from: String,
    #[serde(default)]
    pub valid_to: String,
    #[serde(default)]
    pub target_groups: Vec<String>,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub schedule: String,
    #[serde(default)]
    pub contact: String,
    /// Confirms the offer as current today.
    #[serde(default)]
    pub confirmed: bool,
}

/// The stored state of an offer as a short text (the form's `stand`, the API's `version`).
pub(crate) fn offer_version(s: &quartier_app::store::offers::Service) -> String {
    fingerprint(s)
}

/// Changes an offer: the object decides who may (a Träger only its own organisation's), the
/// same checks for the form and the API; saved (and audited) by the store.
pub(crate) fn update_offer(
    store: &mut dyn quartier_app::store::Store,
    user: Option<&User>,
    id: &str,
    c: OfferChange,
) -> Result<(), AppError> {
    let offers = store.offers()?;
    let current = offers.services.iter().find(|s| s.id == id).ok_or_else(|| AppError::NotFound(format!("Angebot „{id}“ gibt es nicht")))?;
    if let Some(u) = user
        && !may_edit_offer(u, &current.organization_id)
    {
        return Err(AppError::Forbidden("Dieses Angebot pflegt ein anderer Träger.".into()));
    }
    if c.version.as_deref().is_some_and(|v| v != fingerprint(current)) {
        return Err(AppError::Conflict("Das Angebot wurde inzwischen geändert: bitte neu laden und die Änderung erneut eintragen.".into()));
    }
    let mut s = current.clone();
    s.name = c.name.trim().to_string();
    if s.name.is_empty() {
        return Err(AppError::BadRequest("Der Name fehlt.".into()));
    }
    check_offer_fields(c.capacity, &c.valid_from, &c.valid_to)?;
    s.capacity = c.capacity;
    s.valid_from = c.valid_from;
    s.valid_to = c.valid_to;
    s.target_groups = c.target_groups;
    s.description = c.description;
    s.schedule = c.schedule;
    s.contact = c.contact;
    if c.confirmed {
        s.last_confirmed = today();
    }
    let batch = quartier_app::store::offers::Offers { services: vec![s], ..Default::default() };
    store.save_offers(&batch, false).map_err(record_error)?;
    Ok(())
}

/// Capacity not negative, validity dates in order.
fn check_offer_fields(capacity: Option<f64>, from: &str, to: &str) -> Result<(), AppError> {
    if capacity.is_some_and(|c| c < 0.0 || !c.is_finite()) {
        return Err(AppError::BadRequest("Die Kapazität kann nicht negativ sein.".into()));
    }
    if !from.is_empty() && !to.is_empty() && to < from {
        return Err(AppError::BadRequest(format!("gültig bis {to} liegt vor gültig ab {from}")));
    }
    Ok(())
}

/// A new id from a name, unique among `taken`: lower-case ASCII, umlauts transliterated.
fn new_id<'a>(prefix: &str, name: &str, taken: impl Iterator<Item = &'a str>) -> String {
    let mut slug = String::new();
    for c in name.to_lowercase().chars() {
        match c {
            'ä' => slug.push_str("ae"),
            'ö' => slug.push_str("oe"),
            'ü' => slug.push_str("ue"),
            'ß' => slug.push_str("ss"),
            'é' | 'è' | 'ê' => slug.push('e'),
            'á' | 'à' | 'â' => slug.push('a'),
            c if c.is_ascii_alphanumeric() => slug.push(c),
            _ if !slug.ends_with('-') && !slug.is_empty() => slug.push('-'),
            _ => {}
        }
    }
    let slug: String = slug.trim_end_matches('-').chars().take(40).collect();
    let base = format!("{prefix}-{}", if slug.is_empty() { "neu" } else { &slug });
    let taken: std::collections::HashSet<&str> = taken.collect();
    (1..).map(|n| if n == 1 { base.clone() } else { format!("{base}-{n}") }).find(|id| !taken.contains(id.as_str())).unwrap_or(base)
}

/// `GET /angebot/neu`: a new offer with its place. A Träger account enters offers of its own
/// organisation only; social planning and administration choose the organisation.
pub async fn offer_new_form(State(st): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    with_store(&st, move |store, st| {
        let (actor, user) = form_actor(st, store, &headers)?.ok_or_else(login_needed)?;
        if let Some(u) = &user
            && !matches!(u.role, Role::Planner | Role::Admin | Role::Traeger)
        {
            return Err(AppError::Forbidden("Angebote tragen die Sozialplanung, die Administration und die Träger ein.".into()));
        }
        let offers = store.offers()?;
        let own = user.as_ref().filter(|u| u.role == Role::Traeger).and_then(|u| u.organization.clone());
        let organizations: Vec<_> = offers.organizations.iter().filter(|o| own.as_ref().is_none_or(|own| &o.id == own)).collect();
        let locations: Vec<_> = offers.locations.iter().filter(|l| own.as_ref().is_none_or(|own| &l.organization_id == own)).collect();
        let body = html! {
            h1 { "Neues Angebot eintragen" }
            p.lead { "Das Angebot wird über die Koordinaten seines Standorts automatisch den Gebieten zugeordnet." }
            @if organizations.is_empty() && own.is_some() {
                p.note { "Der Träger dieses Kontos ist noch nicht im Angebotsverzeichnis: bitte die Sozialplanung, ihn anzulegen." }
            } @else {
                form.draft method="post" action="/angebot/neu" {
                    (csrf_field(&actor))
                    div.controls {
                        label { "Träger" select name="traeger" {
                            @if own.is_none() { option value="" { "(neuer Träger, Name daneben)" } }
                            @for o in &organizations { option value=(o.id) selected[own.is_some()] { (o.name) } }
                        } }
                        @if own.is_none() { label.wide { "Name eines neuen Trägers" input type="text" name="traeger_name"; } }
                        label.wide { "Name des Angebots" input type="text" name="name" required; }
                        label { "Kapazität" input type="text" name="kapazitaet" inputmode="decimal"; }
                        label { "gültig ab" input type="date" name="gueltig_ab"; }
                        label { "gültig bis" input type="date" name="gueltig_bis"; }
                    }
                    label.block for="zgr" { "Zielgruppen (durch Komma)" }
                    input #zgr type="text" name="zielgruppen" size="80";
                    label.block for="besch" { "Beschreibung" }
                    textarea #besch name="beschreibung" rows="3" cols="80" {}
                    label.block for="zeiten" { "Zeiten" }
                    input #zeiten type="text" name="zeiten" size="80";
                    label.block for="kontakt" { "Kontakt" }
                    input #kontakt type="text" name="kontakt" size="80";
                    fieldset {
                        legend { "Standort" }
                        label.block for="ort" { "vorhandener Standort" }
                        select #ort name="standort" {
                            option value="" { "(neuer Standort, unten angeben)" }
                            @for l in &locations { option value=(l.id) { (l.name) @if !l.address.is_empty() { " – " (l.address) } } }
                        }
                        div.controls {
                            label.wide { "Name des neuen Standorts" input type="text" name="standort_name"; }
                            label.wide { "Adresse" input type="text" name="adresse"; }
                            label { "Breite (WGS84)" input type="text" name="breite" inputmode="decimal" placeholder="52.5163"; }
                            label { "Länge (WGS84)" input type="text" name="laenge" inputmode="decimal" placeholder="13.3777"; }
                        }
                    }
                    div.controls { button type="submit" { "Angebot anlegen" } }
                }
            }
        };
        Ok(layout_nav("Neues Angebot", "angebote", body, None).into_response())
    })
    .await
}

/// `POST /angebot/neu`.
pub async fn offer_create(State(st): State<AppState>, headers: HeaderMap, body: String) -> Result<Response, AppError> {
    let pairs = form_pairs(&body);
    let one = |k: &str| field(&pairs, k);
    let (actor, user) = authorize_as(
        &st,
        &headers,
        &one("csrf"),
        |u| matches!(u.role, Role::Planner | Role::Admin | Role::Traeger),
        "Konten der Sozialplanung, der Administration und der Träger",
    )
    .await?;
    let number = |k: &str, what: &str| -> Result<Option<f64>, AppError> {
        match one(k).replace(',', ".") {
            c if c.is_empty() => Ok(None),
            c => c
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .map(Some)
                .ok_or_else(|| AppError::BadRequest(format!("{what} „{c}“ ist keine Zahl"))),
        }
    };
    let offer = NewOffer {
        organization: one("traeger"),
        organization_name: one("traeger_name"),
        name: one("name"),
        description: one("beschreibung"),
        target_groups: list(&one("zielgruppen")),
        capacity: number("kapazitaet", "Kapazität")?,
        schedule: one("zeiten"),
        contact: one("kontakt"),
        valid_from: one("gueltig_ab"),
        valid_to: one("gueltig_bis"),
        location: one("standort"),
        location_name: one("standort_name"),
        address: one("adresse"),
        latitude: number("breite", "Breite")?,
        longitude: number("laenge", "Länge")?,
    };
    let who = actor.name.clone();
    let id = with_store_mut(&st, actor.name, move |store| create_offer(store, user.as_ref(), &who, offer)).await?;
    Ok(Redirect::to(&format!("/angebot/{}", url(&id))).into_response())
}

/// A new offer as the form and the API give it: at an existing place (`location`) or a new
/// one (name, address, WGS84 coordinates), of an existing organisation or (social planning
/// and administration only) a new one (`organization_name`).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct NewOffer {
    #[serde(default)]
    pub organization: String,
    #[serde(default)]
    pub organization_name: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub target_groups: Vec<String>,
    #[serde(default)]
    pub capacity: Option<f64>,
    #[serde(default)]
    pub schedule: String,
    #[serde(default)]
    pub contact: String,
    #[serde(default)]
    pub valid_from: String,
    #[serde(default)]
    pub valid_to: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub location_name: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub latitude: Option<f64>,
    #[serde(default)]
    pub longitude: Option<f64>,
}

/// Enters a new offer with the checks of the form (who may, organisation and place exist or
/// are new and plausible, no likely duplicate place); its id.
pub(crate) fn create_offer(
    store: &mut dyn quartier_app::store::Store,
    user: Option<&User>,
    who: &str,
    o: NewOffer,
) -> Result<String, AppError> {
    let NewOffer {
        mut organization,
        organization_name: new_organization,
        name,
        description,
        target_groups: groups,
        capacity,
        schedule,
        contact,
        valid_from: from,
        valid_to: to,
        location: place,
        location_name: place_name,
        address,
        latitude: lat,
        longitude: lon,
    } = o;
    let name = name.trim().to_string();
    let today = today();
    if name.is_empty() {
        return Err(AppError::BadRequest("Der Name des Angebots fehlt.".into()));
    }
    check_offer_fields(capacity, &from, &to)?;
    if let Some(u) = user
        && !may_edit_offer(u, &organization)
    {
        return Err(AppError::Forbidden("Träger-Konten tragen nur Angebote ihres eigenen Trägers ein.".into()));
    }
    let offers = store.offers()?;
    let mut batch = quartier_app::store::offers::Offers::default();
    if organization.is_empty() && !new_organization.is_empty() {
        // Only social planning and administration enter new organisations.
        if user.is_some_and(|u| u.role == Role::Traeger) {
            return Err(AppError::Forbidden("Träger-Konten tragen nur Angebote ihres eigenen Trägers ein.".into()));
        }
        // The same name, or nearly ("Träger 1 e. V." beside "Träger 1 e.V."), is most
        // likely the same organisation.
        if let Some(o) = offers.organizations.iter().find(|o| quartier_app::offers::similar_name(&o.name, &new_organization)) {
            return Err(AppError::BadRequest(format!(
                "Den Träger „{}“ (Kennung {}) gibt es schon oder unter sehr ähnlichem Namen: bitte in der Liste wählen",
                o.name, o.id
            )));
        }
        organization = new_id("traeger", &new_organization, offers.organizations.iter().map(|o| o.id.as_str()));
        batch.organizations.push(quartier_app::store::offers::Organization {
            id: organization.clone(),
            name: new_organization,
            maintainer: who.to_string(),
            last_confirmed: today.clone(),
            ..Default::default()
        });
    } else if !offers.organizations.iter().any(|o| o.id == organization) {
        return Err(AppError::BadRequest(format!("Träger „{organization}“ gibt es nicht")));
    }
    let location_id = if place.is_empty() {
        let (Some(lat), Some(lon)) = (lat, lon) else {
            return Err(AppError::BadRequest("Für einen neuen Standort fehlen Breite und Länge (WGS84).".into()));
        };
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
            return Err(AppError::BadRequest(format!("Koordinaten {lat}, {lon} liegen außerhalb von WGS84 (Breite ±90, Länge ±180)")));
        }
        let loc_name = if place_name.is_empty() { name.clone() } else { place_name };
        let id = new_id("ort", &loc_name, offers.locations.iter().map(|l| l.id.as_str()));
        let location = quartier_app::store::offers::Location {
            id: id.clone(),
            organization_id: organization.clone(),
            name: loc_name,
            address,
            latitude: lat,
            longitude: lon,
        };
        if !quartier_app::spatial::locations_outside(&*store, std::slice::from_ref(&location)).map_err(AppError::Internal)?.is_empty() {
            return Err(AppError::BadRequest(format!(
                "Der Standort ({lat}, {lon}) liegt außerhalb aller Gebiete: bitte Breite und Länge (WGS84) prüfen"
            )));
        }
        let candidate = quartier_app::store::offers::Offers { locations: vec![location.clone()], ..Default::default() };
        if let Some(hint) = quartier_app::offers::likely_duplicates(&candidate, &offers).first() {
            return Err(AppError::BadRequest(format!("{hint}: bitte diesen Standort in der Liste wählen")));
        }
        batch.locations.push(location);
        id
    } else {
        let l = offers
            .locations
            .iter()
            .find(|l| l.id == place)
            .ok_or_else(|| AppError::BadRequest(format!("Standort „{place}“ gibt es nicht")))?;
        if user.is_some_and(|u| u.role == Role::Traeger) && l.organization_id != organization {
            return Err(AppError::Forbidden("Dieser Standort gehört einem anderen Träger.".into()));
        }
        l.id.clone()
    };
    let id = new_id("angebot", &name, offers.services.iter().map(|s| s.id.as_str()));
    batch.services.push(quartier_app::store::offers::Service {
        id: id.clone(),
        organization_id: organization,
        name,
        description,
        target_groups: groups,
        capacity,
        schedule,
        contact,
        valid_from: from,
        valid_to: to,
        maintainer: who.to_string(),
        last_confirmed: today,
        ..Default::default()
    });
    let link = new_id("sal", &id, offers.service_at_location.iter().map(|l| l.id.as_str()));
    batch.service_at_location.push(quartier_app::store::offers::ServiceAtLocation { id: link, service_id: id.clone(), location_id });
    store.save_offers(&batch, false).map_err(record_error)?;
    Ok(id)
}

/// A form field's value, trimmed ("" when absent).
fn field(pairs: &[(String, String)], name: &str) -> String {
    pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.trim().to_string()).unwrap_or_default()
}

/// Today's ISO date (UTC), for "last confirmed".
fn today() -> String {
    quartier_core::date::iso_from_days(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() / 86_400).unwrap_or(0) as i64,
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn form_pairs_keep_repeats_and_decode() {
        let p = super::form_pairs("a=1&angebot=kita&angebot=fz&t=Gr%C3%BC%C3%9Fe+und%2C+mehr");
        assert_eq!(p.iter().filter(|(k, _)| k == "angebot").count(), 2);
        assert_eq!(p[3].1, "Grüße und, mehr");
    }

    #[test]
    fn new_ids_are_readable_and_unique() {
        let taken = ["angebot-familiencafe-suedstern", "angebot-familiencafe-suedstern-2"];
        assert_eq!(super::new_id("angebot", "Familiencafé Südstern", taken.iter().copied()), "angebot-familiencafe-suedstern-3");
        assert_eq!(super::new_id("angebot", "Lern-Hilfe (Klasse 5–7)", taken.iter().copied()), "angebot-lern-hilfe-klasse-5-7");
        assert_eq!(super::new_id("ort", "!!", std::iter::empty()), "ort-neu");
    }
}
