//! Signing in and out. The login form is protected by a double-submit token (a random
//! cookie repeated in the form); a successful login opens a new session (a new token: the
//! session is rotated, an earlier one of the same browser is closed), set as an `HttpOnly`,
//! `SameSite=Lax` cookie, `Secure` when the request came over TLS (the reverse proxy says
//! so with `X-Forwarded-Proto: https`).

use crate::admin::{SESSION_COOKIE, authorize_as, cookie, with_store_mut};
use crate::pages::layout_nav;
use crate::{AppError, AppState};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;

const LOGIN_COOKIE: &str = "quartier_login";

pub(crate) fn secure(headers: &HeaderMap) -> &'static str {
    if headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https") { "; Secure" } else { "" }
}

/// `GET /anmelden`.
pub async fn login_page(State(st): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    if st.public.is_some() {
        return Err(AppError::Forbidden("In der öffentlichen Ansicht gibt es keine Anmeldung.".into()));
    }
    let token = quartier_app::store::accounts::token().map_err(AppError::Internal)?;
    let page = form(&token, None);
    let mut res = page.into_response();
    let c = format!("{LOGIN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/anmelden; Max-Age=1800{}", secure(&headers));
    res.headers_mut().append(header::SET_COOKIE, HeaderValue::from_str(&c).map_err(|e| AppError::Internal(e.to_string()))?);
    Ok(res)
}

fn form(token: &str, problem: Option<&str>) -> maud::Markup {
    let body = html! {
        h1 { "Anmelden" }
        @if let Some(p) = problem { div.problem role="alert" { p { (p) } } }
        form.controls.draft method="post" action="/anmelden" {
            input type="hidden" name="login" value=(token);
            label { "Benutzername" input type="text" name="name" autocomplete="username" required; }
            label { "Passwort" input type="password" name="passwort" autocomplete="current-password" required; }
            button type="submit" { "Anmelden" }
        }
        p.note { "Konten legt die Administration an (" code { "quartier user add" } ")." }
    };
    layout_nav("Anmelden", "werkstatt", body, None)
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub login: String,
    pub name: String,
    pub passwort: String,
}

/// The connection's peer address, when the server runs on a socket (tests without one have
/// none).
pub struct Peer(pub Option<std::net::SocketAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0)))
    }
}

/// The client's address for throttling: the peer, or — only when the peer is a trusted
/// proxy — the last address in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_address(peer: Option<std::net::IpAddr>, headers: &HeaderMap, trusted: &[std::net::IpAddr]) -> String {
    let Some(peer) = peer else { return "ohne Verbindung".into() };
    if !trusted.contains(&peer) {
        return peer.to_string();
    }
    let forwarded: Vec<std::net::IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    forwarded.iter().rev().find(|a| !trusted.contains(a)).copied().unwrap_or(peer).to_string()
}

/// `POST /anmelden`.
pub async fn login(
    State(st): State<AppState>,
    Peer(peer): Peer,
    headers: HeaderMap,
    axum::Form(f): axum::Form<LoginForm>,
) -> Result<Response, AppError> {
    if st.public.is_some() {
        return Err(AppError::Forbidden("In der öffentlichen Ansicht gibt es keine Anmeldung.".into()));
    }
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.len() != 64 || expected != f.login {
        return Err(AppError::Forbidden("Anmeldung abgelehnt (CSRF-Schutz): bitte die Anmeldeseite neu laden.".into()));
    }
    // The peer's address; behind a trusted reverse proxy the client it names.
    let address = client_address(peer.map(|p| p.ip()), &headers, &st.trusted_proxies);
    let previous = cookie(&headers, SESSION_COOKIE);
    let name = f.name.trim().to_string();
    let result = with_store_mut(&st, name.clone(), move |store| {
        if let Some(old) = previous {
            store.logout(&old, false)?;
        }
        store.login(&name, &f.passwort, &address).map_err(|e| match e {
            quartier_app::store::StoreError::Account(m) => AppError::TooMany(m),
            other => other.into(),
        })
    })
    .await?;
    let Some((token, _)) = result else {
        let fresh = quartier_app::store::accounts::token().map_err(AppError::Internal)?;
        let mut res =
            (axum::http::StatusCode::UNAUTHORIZED, form(&fresh, Some("Benutzername oder Passwort stimmen nicht."))).into_response();
        let c = format!("{LOGIN_COOKIE}={fresh}; HttpOnly; SameSite=Strict; Path=/anmelden; Max-Age=1800{}", secure(&headers));
        res.headers_mut().append(header::SET_COOKIE, HeaderValue::from_str(&c).map_err(|e| AppError::Internal(e.to_string()))?);
        return Ok(res);
    };
    let mut res = Redirect::to("/verwaltung").into_response();
    let c = format!("{SESSION_COOKIE}={token}; HttpOnly; SameSite=Lax; Path=/; Max-Age=43200{}", secure(&headers));
    res.headers_mut().append(header::SET_COOKIE, HeaderValue::from_str(&c).map_err(|e| AppError::Internal(e.to_string()))?);
    res.headers_mut().append(header::SET_COOKIE, HeaderValue::from_static("quartier_login=; Max-Age=0; Path=/anmelden"));
    Ok(res)
}

#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub ueberall: String,
}

/// `POST /abmelden` (with `ueberall=1`: every session of the account).
pub async fn logout(State(st): State<AppState>, headers: HeaderMap, axum::Form(f): axum::Form<LogoutForm>) -> Result<Response, AppError> {
    let Some(token) = cookie(&headers, SESSION_COOKIE) else { return Ok(Redirect::to("/anmelden").into_response()) };
    let h = headers.clone();
    let session = crate::with_store(&st, move |store, _| crate::admin::session(store, &h)).await?;
    let Some(s) = session else { return Ok(Redirect::to("/anmelden").into_response()) };
    if s.csrf != f.csrf {
        return Err(AppError::Forbidden("Abmeldung abgelehnt (CSRF-Schutz): bitte die Seite neu laden.".into()));
    }
    let everywhere = f.ueberall == "1";
    with_store_mut(&st, s.user.name.clone(), move |store| Ok(store.logout(&token, everywhere)?)).await?;
    let mut res = Redirect::to("/anmelden").into_response();
    res.headers_mut().append(header::SET_COOKIE, HeaderValue::from_static("quartier_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"));
    Ok(res)
}

/// `GET /konto`: the signed-in account, and changing its password.
pub async fn account_page(State(st): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    let h = headers.clone();
    let page = crate::with_store(&st, move |store, _| {
        let Some(s) = crate::admin::session(store, &h)? else { return Ok(None) };
        let work = traeger_work(store, &s.user)?;
        let tokens = store.api_tokens(Some(&s.user.name))?;
        Ok(Some(account_form(&s, None, work, &Tokens { list: tokens, new: None, problem: None })))
    })
    .await?;
    Ok(match page {
        Some(p) => p.into_response(),
        None => Redirect::to("/anmelden").into_response(),
    })
}

/// A Träger account's working list: its organisation's offers to edit, a new one, and where to
/// record a conference.
fn traeger_work(
    store: &dyn quartier_app::store::Store,
    user: &quartier_app::store::accounts::User,
) -> Result<Option<maud::Markup>, AppError> {
    if user.role != quartier_app::store::accounts::Role::Traeger {
        return Ok(None);
    }
    let own = user.organization.clone().unwrap_or_default();
    let offers = store.offers()?;
    let levels = store.levels()?;
    Ok(Some(html! {
        h2 { "Angebote Ihres Trägers" }
        @let mine: Vec<_> = offers.services.iter().filter(|s| s.organization_id == own).collect();
        @if mine.is_empty() { p { "Noch keine Angebote." } } @else {
            ul { @for s in &mine { li { a href=(format!("/angebot/{}", crate::pages::url(&s.id))) { (s.name) } " – bestätigt " (s.last_confirmed) } } }
        }
        p { a href="/angebot/neu" { "Neues Angebot eintragen" } }
        h2 { "Zu einer Sozialraumkonferenz beitragen" }
        form.controls method="get" action="/konferenz/neu" {
            label { "Ebene" select name="ebene" { @for l in &levels { option value=(l.name) { (l.name) } } } }
            label { "Gebietsschlüssel" input type="text" name="gebiet" required; }
            button type="submit" { "Konferenz festhalten" }
        }
        @if !user.reads_internal {
            p.note { "Ergebnisse sehen Sie wie die Öffentlichkeit (mit Geheimhaltung kleiner Zahlen); interne Auswertungen gibt die Administration frei." }
        }
    }))
}

/// The account's API tokens, a token just made (shown once) and a problem making one.
struct Tokens {
    list: Vec<quartier_app::store::accounts::ApiToken>,
    new: Option<String>,
    problem: Option<String>,
}

/// Unix seconds as a German date (UTC).
fn date_de(t: i64) -> String {
    let iso = quartier_core::date::iso_from_days(t.div_euclid(86_400));
    let p: Vec<&str> = iso.split('-').collect();
    format!("{}.{}.{}", p[2], p[1], p[0])
}

/// The API tokens section of the account page: the list (with last use and state), revoking,
/// making a new one.
fn tokens_section(s: &quartier_app::store::accounts::Session, t: &Tokens) -> maud::Markup {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    html! {
        h2 id="api-schluessel" { "API-Schlüssel für Skripte" }
        p { "Mit einem API-Schlüssel lesen Skripte und andere Programme die Ergebnisse über die "
            a href="/api/v1/openapi.json" { "JSON-API" } " und die " a href="/ogc" { "OGC API – Features" }
            " (z. B. QGIS), mit Ihren Rechten. Angabe im Kopf jeder Anfrage: " code { "Authorization: Bearer qrt_…" } "." }
        @if let Some(secret) = &t.new {
            div.ok role="status" {
                p { strong { "Neuer API-Schlüssel – er wird nur jetzt angezeigt:" } }
                p { code.secret tabindex="0" { (secret) } }
                p { "Bitte jetzt sicher ablegen (z. B. in einer Umgebungsvariablen des Skripts). Gespeichert wird nur ein Hash." }
            }
        }
        @if let Some(p) = &t.problem { div.problem role="alert" { p { (p) } } }
        @if t.list.is_empty() { p { "Noch keine API-Schlüssel." } } @else {
            div.scroll role="region" aria-label="API-Schlüssel" tabindex="0" {
                table {
                    caption { "Ihre API-Schlüssel" }
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Recht" } th scope="col" { "Angelegt" } th scope="col" { "Gültig bis" } th scope="col" { "Zuletzt genutzt" } th scope="col" { "Stand" } th scope="col" { span.visually-hidden { "Aktion" } } } }
                    tbody { @for k in &t.list {
                        tr {
                            th scope="row" { (k.name) }
                            td { @if k.scope == quartier_app::store::accounts::TokenScope::Read { "lesen" } @else { "lesen und schreiben" } }
                            td { (date_de(k.created)) }
                            td { (date_de(k.expires)) }
                            td { @match k.last_used { Some(u) => (date_de(u)), None => "nie" } }
                            td { @if k.revoked { "widerrufen" } @else if k.valid_at(now) { "gültig" } @else { "abgelaufen" } }
                            td { @if !k.revoked && k.valid_at(now) {
                                form method="post" action="/konto/schluessel/widerrufen" {
                                    input type="hidden" name="csrf" value=(s.csrf);
                                    input type="hidden" name="id" value=(k.id);
                                    button type="submit" aria-label=(format!("API-Schlüssel „{}“ widerrufen", k.name)) { "Widerrufen" }
                                }
                            } }
                        }
                    } }
                }
            }
        }
        form.draft method="post" action="/konto/schluessel" {
            input type="hidden" name="csrf" value=(s.csrf);
            div.controls {
                label { "Name (wofür)" input type="text" name="name" maxlength="80" required placeholder="z. B. R-Auswertung"; }
                label { "Recht" select name="recht" {
                    option value="read" { "lesen" }
                    option value="read-write" { "lesen und schreiben (soweit die Rolle es darf)" }
                } }
                label { "Gültig (Tage)" input type="number" name="tage" min="1" max="366" value="90" required; }
                button type="submit" { "API-Schlüssel anlegen" }
            }
        }
    }
}

fn account_form(
    s: &quartier_app::store::accounts::Session,
    problem: Option<&str>,
    work: Option<maud::Markup>,
    tokens: &Tokens,
) -> maud::Markup {
    let body = html! {
        h1 { "Mein Konto" }
        p { "Angemeldet als " strong { (s.user.name) } " (" (s.user.role.label_de()) ")"
            @if let Some(o) = &s.user.organization { ", Träger " (o) } "." }
        form.controls method="post" action="/abmelden" {
            input type="hidden" name="csrf" value=(s.csrf);
            button type="submit" name="ueberall" value="" { "Abmelden" }
            button type="submit" name="ueberall" value="1" { "Überall abmelden" }
        }
        @if let Some(w) = work { (w) }
        h2 { "Passwort ändern" }
        @if let Some(p) = problem { div.problem role="alert" { p { (p) } } }
        form.draft method="post" action="/konto" {
            input type="hidden" name="csrf" value=(s.csrf);
            div.controls {
                label { "Bisheriges Passwort" input type="password" name="alt" autocomplete="current-password" required; }
                label { "Neues Passwort" input type="password" name="neu" autocomplete="new-password" minlength="12" required; }
                label { "Neues Passwort wiederholen" input type="password" name="neu2" autocomplete="new-password" minlength="12" required; }
            }
            p.note { "Mindestens 12 Zeichen, nicht der Benutzername, keine bekannten Passwörter oder Muster. Danach enden alle Sitzungen dieses Kontos; bitte neu anmelden." }
            div.controls { button type="submit" { "Passwort ändern" } }
        }
        (tokens_section(s, tokens))
    };
    layout_nav("Mein Konto", "werkstatt", body, None)
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub alt: String,
    #[serde(default)]
    pub neu: String,
    #[serde(default)]
    pub neu2: String,
}

/// `POST /konto`: a new password for the signed-in account (its current one required).
pub async fn change_password(
    State(st): State<AppState>,
    headers: HeaderMap,
    axum::Form(f): axum::Form<PasswordForm>,
) -> Result<Response, AppError> {
    let (actor, user) = authorize_as(&st, &headers, &f.csrf, |_| true, "angemeldete Konten").await?;
    let Some(user) = user else { return Err(AppError::Forbidden("Ohne Konten gibt es keine Passwörter.".into())) };
    let problem = if f.neu != f.neu2 {
        Some("Die beiden neuen Passwörter stimmen nicht überein.".to_string())
    } else {
        let name = user.name.clone();
        with_store_mut(&st, actor.name.clone(), move |store| match store.set_password(&name, Some(&f.alt), &f.neu) {
            Ok(()) => Ok(None),
            Err(quartier_app::store::StoreError::Account(m)) => Ok(Some(m)),
            Err(e) => Err(e.into()),
        })
        .await?
    };
    if let Some(p) = problem {
        let name = user.name.clone();
        let list = crate::with_store(&st, move |store, _| Ok(store.api_tokens(Some(&name))?)).await?;
        let session = quartier_app::store::accounts::Session { user, csrf: actor.csrf, seconds_left: 0 };
        let tokens = Tokens { list, new: None, problem: None };
        return Ok((axum::http::StatusCode::BAD_REQUEST, account_form(&session, Some(&p), None, &tokens)).into_response());
    }
    let mut res = Redirect::to("/anmelden").into_response();
    res.headers_mut().append(header::SET_COOKIE, HeaderValue::from_static("quartier_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"));
    Ok(res)
}

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub recht: String,
    #[serde(default)]
    pub tage: String,
    #[serde(default)]
    pub id: String,
}

/// `POST /konto/schluessel`: a new API token for the signed-in account, shown once on the
/// page that answers (never kept by a cache: the answer carries `Cache-Control: no-store`).
pub async fn create_token(
    State(st): State<AppState>,
    headers: HeaderMap,
    axum::Form(f): axum::Form<TokenForm>,
) -> Result<Response, AppError> {
    token_change(st, headers, f, true).await
}

/// `POST /konto/schluessel/widerrufen`: revokes one of the account's own tokens.
pub async fn revoke_token(
    State(st): State<AppState>,
    headers: HeaderMap,
    axum::Form(f): axum::Form<TokenForm>,
) -> Result<Response, AppError> {
    token_change(st, headers, f, false).await
}

async fn token_change(st: AppState, headers: HeaderMap, f: TokenForm, create: bool) -> Result<Response, AppError> {
    let (actor, user) = authorize_as(&st, &headers, &f.csrf, |_| true, "angemeldete Konten").await?;
    let Some(user) = user else { return Err(AppError::Forbidden("Ohne Konten gibt es keine API-Schlüssel.".into())) };
    let name = user.name.clone();
    let (new, problem, list) = with_store_mut(&st, actor.name.clone(), move |store| {
        let outcome = if create {
            let scope = quartier_app::store::accounts::TokenScope::parse(&f.recht)
                .ok_or_else(|| AppError::BadRequest(format!("Recht „{}“: read oder read-write", f.recht)))?;
            match f.tage.trim().parse::<i64>() {
                Ok(days) if (1..=366).contains(&days) => {
                    store.create_api_token(&name, &f.name, scope, days * 86_400).map(|(secret, _)| Some(secret))
                }
                _ => Err(quartier_app::store::StoreError::Account("Gültigkeit: 1 bis 366 Tage".into())),
            }
        } else {
            let id = f.id.trim().parse::<i64>().map_err(|_| AppError::BadRequest(format!("„{}“ ist keine Nummer", f.id)))?;
            store.revoke_api_token(Some(&name), id).map(|()| None)
        };
        let (new, problem) = match outcome {
            Ok(n) => (n, None),
            Err(quartier_app::store::StoreError::Account(m)) => (None, Some(m)),
            Err(e) => return Err(e.into()),
        };
        Ok((new, problem, store.api_tokens(Some(&name))?))
    })
    .await?;
    let status = if problem.is_some() { axum::http::StatusCode::BAD_REQUEST } else { axum::http::StatusCode::OK };
    let session = quartier_app::store::accounts::Session { user, csrf: actor.csrf, seconds_left: 0 };
    let page = account_form(&session, None, None, &Tokens { list, new, problem });
    let mut res = (status, page).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}
