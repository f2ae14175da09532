//! Konten in the browser (administrators only): list, create with role, organisation, tenant
//! scope and internal grant — with a one-time initial password shown once, or a time-limited
//! invitation link the invitee opens to set the password (`invitation`); reset a password
//! (again a one-time password, every session of the account ends); disable and enable (a
//! disabled account keeps its history but cannot sign in); remove. A consistent
//! backup of an SQLite database to download. The same store methods as `quartier user …`,
//! so the same rules (password, last administrator) and audit entries.

use crate::admin::{Actor, authorize_as, csrf_field, session, tabs, with_store_mut};
use crate::pages::layout_nav;
use crate::{AppError, AppState, with_store};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use quartier_app::store::accounts::{Role, Scope};
use serde::Deserialize;

fn is_admin(u: &quartier_app::store::accounts::User) -> bool {
    u.role == Role::Admin
}

/// The administrator on this request (local mode without accounts: the server's user); also
/// the check of the audit log.
pub(crate) async fn admin(st: &AppState, headers: &HeaderMap) -> Result<Actor, AppError> {
    if st.public.is_some() {
        return Err(AppError::Forbidden("In der öffentlichen Ansicht gibt es keine Kontenverwaltung.".into()));
    }
    let h = headers.clone();
    with_store(st, move |store, st| {
        if store.users()?.is_empty() {
            return st
                .edit
                .as_deref()
                .filter(|e| e.local)
                .map(|e| Actor { name: e.actor.clone(), csrf: e.csrf.clone() })
                .ok_or_else(|| AppError::Forbidden("Konten legt hier die Administration an (quartier user add --admin).".into()));
        }
        match session(store, &h)? {
            Some(s) if is_admin(&s.user) => Ok(Actor { name: s.user.name, csrf: s.csrf }),
            _ => Err(AppError::Forbidden("Konten verwaltet nur die Administration.".into())),
        }
    })
    .await
}

/// A one-time password: four groups of four letters and digits (about 80 bits), easy to read
/// out; drawn again in the unlikely case the password rules refuse it.
fn one_time_password(name: &str) -> Result<String, AppError> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    loop {
        let mut b = [0u8; 16];
        getrandom::fill(&mut b).map_err(|e| AppError::Internal(e.to_string()))?;
        let chars: Vec<char> = b.iter().map(|x| ALPHABET[*x as usize % ALPHABET.len()] as char).collect();
        let p = chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-");
        if quartier_app::store::accounts::check_password(name, &p).is_ok() {
            return Ok(p);
        }
    }
}

/// Every account's API tokens: who, what for, right, validity, last use; valid ones can be
/// revoked here (a leaked token ends at once).
fn tokens_table(tokens: &[quartier_app::store::accounts::ApiToken], actor: &Actor) -> Markup {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let date = |t: i64| quartier_core::date::iso_from_days(t.div_euclid(86_400));
    html! {
        h2 { "API-Schlüssel" }
        @if tokens.is_empty() {
            p { "Noch keine API-Schlüssel. Konten legen sie unter „Mein Konto“ an, die Administration mit " code { "quartier user token create" } "." }
        } @else {
            div.scroll role="region" aria-label="API-Schlüssel aller Konten" tabindex="0" {
                table {
                    caption { "API-Schlüssel aller Konten" }
                    thead { tr { th scope="col" { "Konto" } th scope="col" { "Name" } th scope="col" { "Recht" } th scope="col" { "Gültig bis" } th scope="col" { "Zuletzt genutzt" } th scope="col" { "Stand" } th scope="col" { "Aktion" } } }
                    tbody { @for t in tokens {
                        tr {
                            th scope="row" { (t.user) }
                            td { (t.name) }
                            td { @if t.scope == quartier_app::store::accounts::TokenScope::Read { "lesen" } @else { "lesen und schreiben" } }
                            td { (date(t.expires)) }
                            td { @match t.last_used { Some(u) => (date(u)), None => "nie" } }
                            td { @if t.revoked { "widerrufen" } @else if t.valid_at(now) { "gültig" } @else { "abgelaufen" } }
                            td { @if !t.revoked && t.valid_at(now) {
                                form.inline method="post" action="/verwaltung/konten/schluessel" {
                                    (csrf_field(actor)) input type="hidden" name="id" value=(t.id);
                                    button type="submit" { "Widerrufen" span.visually-hidden { ": " (t.name) " von " (t.user) } }
                                }
                            } }
                        }
                    } }
                }
            }
        }
    }
}

fn page(
    st_users: &[quartier_app::store::accounts::User],
    tokens: &[quartier_app::store::accounts::ApiToken],
    actor: &Actor,
    message: Option<Markup>,
    sqlite: bool,
) -> Markup {
    let body = html! {
        (tabs("konten"))
        h1 { "Konten" }
        @if let Some(m) = message { div.ok role="status" { (m) } }
        table {
            caption { "Konten dieser Installation" }
            thead { tr { th scope="col" { "Name" } th scope="col" { "Rolle" } th scope="col" { "Organisation" } th scope="col" { "Gebiet" } th scope="col" { "Interne Ergebnisse" } th scope="col" { "Status" } th scope="col" { "Aktionen" } } }
            tbody {
                @for u in st_users {
                    tr {
                        th scope="row" { (u.name) }
                        td { (u.role.label_de()) }
                        td { (u.organization.clone().unwrap_or_default()) }
                        td { (u.scope.as_ref().map(|s| s.to_string()).unwrap_or_else(|| "alles".into())) }
                        td { @if u.sees_internal() { "ja" } @else { "nein" } }
                        td { @if u.disabled { "gesperrt" } @else if u.invited { "eingeladen" } @else { "aktiv" } }
                        td {
                            @if u.invited && !u.disabled {
                                form.inline method="post" action="/verwaltung/konten/einladung" {
                                    (csrf_field(actor)) input type="hidden" name="name" value=(u.name);
                                    button type="submit" { "Neuer Einladungslink" span.visually-hidden { ": " (u.name) } }
                                }
                            }
                            form.inline method="post" action="/verwaltung/konten/sperren" {
                                (csrf_field(actor)) input type="hidden" name="name" value=(u.name);
                                input type="hidden" name="sperren" value=(if u.disabled { "0" } else { "1" });
                                button type="submit" { @if u.disabled { "Freigeben" } @else { "Sperren" } span.visually-hidden { ": " (u.name) } }
                            }
                            form.inline method="post" action="/verwaltung/konten/passwort" {
                                (csrf_field(actor)) input type="hidden" name="name" value=(u.name);
                                button type="submit" { "Passwort zurücksetzen" span.visually-hidden { ": " (u.name) } }
                            }
                            form.inline method="post" action="/verwaltung/konten/entfernen" {
                                (csrf_field(actor)) input type="hidden" name="name" value=(u.name);
                                button type="submit" { "Entfernen" span.visually-hidden { ": " (u.name) } }
                            }
                        }
                    }
                }
            }
        }
        (tokens_table(tokens, actor))
        h2 { "Neues Konto" }
        form.report-form method="post" action="/verwaltung/konten" {
            (csrf_field(actor))
            label for="k-name" { "Benutzername" } input #k-name type="text" name="name" required autocomplete="off";
            label for="k-rolle" { "Rolle" }
            select #k-rolle name="rolle" {
                @for r in [Role::Reader, Role::Department, Role::Traeger, Role::Planner, Role::Admin] { option value=(r.as_str()) { (r.label_de()) } }
            }
            label for="k-org" { "Organisation (für Träger: Kennung im Angebotsverzeichnis)" } input #k-org type="text" name="organisation";
            label for="k-gebiet" { "Auf ein Gebiet beschränken (Ebene=Schlüssel, z. B. Gemeinde=05158004; leer: alles)" } input #k-gebiet type="text" name="gebiet";
            label.check { input type="checkbox" name="intern" value="1"; " Interne Ergebnisse sehen (für Träger-Konten)" }
            fieldset {
                legend { "Erster Zugang" }
                label.check { input type="radio" name="zugang" value="passwort" checked; " Einmalpasswort (wird einmal angezeigt; bitte sicher weitergeben und beim ersten Anmelden unter „Konto“ ändern)" }
                label.check { input type="radio" name="zugang" value="einladung"; " Einladungslink: die Person setzt ihr Passwort selbst" }
                label for="k-tage" { "Der Einladungslink gilt (Tage, 1 bis 90)" } input #k-tage type="text" name="tage" value="7" inputmode="numeric" size="4";
            }
            button type="submit" { "Konto anlegen" }
        }
        h2 { "Sicherung" }
        @if sqlite {
            p { a href="/verwaltung/sicherung" download { "Sicherung herunterladen" } " – eine konsistente Kopie der Datenbank (auch während gearbeitet wird). Zurückspielen: " code { "quartier restore" } "." }
        } @else {
            p { "Die Datenbank liegt auf einem PostgreSQL-Server: Sicherungen macht " code { "quartier backup" } " auf dem Server." }
        }
    };
    layout_nav("Konten", "werkstatt", body, None)
}

async fn render(st: &AppState, actor: Actor, message: Option<Markup>, status: StatusCode) -> Result<Response, AppError> {
    let sqlite = matches!(&*st.db, quartier_app::store::Location::Sqlite(_));
    let (users, tokens) = with_store(st, |store, _| Ok((store.users()?, store.api_tokens(None)?))).await?;
    Ok((status, page(&users, &tokens, &actor, message, sqlite)).into_response())
}

/// `GET /verwaltung/konten`.
pub async fn accounts_page(State(st): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    let actor = admin(&st, &headers).await?;
    render(&st, actor, None, StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
pub struct NewAccount {
    pub csrf: String,
    pub name: String,
    pub rolle: String,
    #[serde(default)]
    pub organisation: String,
    #[serde(default)]
    pub gebiet: String,
    #[serde(default)]
    pub intern: Option<String>,
    /// `passwort` (a one-time password, the default) or `einladung` (an invitation link).
    #[serde(default)]
    pub zugang: String,
    #[serde(default)]
    pub tage: String,
}

fn problem(text: String) -> Markup {
    html! { p.field-error role="alert" { (text) } }
}

/// `POST /verwaltung/konten`: a new account with a one-time password.
pub async fn create(State(st): State<AppState>, headers: HeaderMap, axum::Form(f): axum::Form<NewAccount>) -> Result<Response, AppError> {
    let (actor, _) = authorize_as(&st, &headers, &f.csrf, is_admin, "Konten der Administration").await?;
    let Some(role) = Role::parse(&f.rolle) else { return Err(AppError::BadRequest(format!("Rolle „{}“ gibt es nicht", f.rolle))) };
    let scope = match f.gebiet.trim() {
        "" => None,
        s => match Scope::parse(s) {
            Some(s) => Some(s),
            None => {
                return render(
                    &st,
                    actor,
                    Some(problem(format!("Gebiet „{s}“: Ebene=Schlüssel angeben"))),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
        },
    };
    let name = f.name.trim().to_string();
    let invite = f.zugang == "einladung";
    let days = match f.tage.trim() {
        "" => 7,
        t => match t.parse::<i64>() {
            Ok(d) if (1..=90).contains(&d) => d,
            _ => {
                let m = problem(format!("Gültigkeit „{t}“: 1 bis 90 Tage"));
                return render(&st, actor, Some(m), StatusCode::UNPROCESSABLE_ENTITY).await;
            }
        },
    };
    let password = one_time_password(&name)?;
    let (n, p, org) = (name.clone(), password.clone(), Some(f.organisation.trim().to_string()).filter(|o| !o.is_empty()));
    let internal = f.intern.is_some();
    let result = with_store_mut(&st, actor.name.clone(), move |store| {
        let made = if invite {
            store.invite_user(&n, role, org.as_deref(), days * 86_400).map(|(_, token)| Some(token))
        } else {
            store.add_user(&n, role, org.as_deref(), &p).map(|_| None)
        };
        let token = match made {
            Ok(t) => t,
            Err(quartier_app::store::StoreError::Account(m)) => return Ok(Err(m)),
            Err(e) => return Err(e.into()),
        };
        let rest = (|| {
            if let Some(s) = &scope {
                store.set_user_scope(&n, Some(s))?;
            }
            if internal {
                store.set_user_internal(&n, true)?;
            }
            Ok::<_, quartier_app::store::StoreError>(())
        })();
        match rest {
            Ok(()) => Ok(Ok(token)),
            // E.g. a scope area that does not exist: the new account is removed again (its
            // creation stays in the audit log), so nothing half-made remains.
            Err(e) => {
                let _ = store.remove_user(&n);
                match e {
                    quartier_app::store::StoreError::Account(m) => Ok(Err(m)),
                    other => Err(other.into()),
                }
            }
        }
    })
    .await?;
    match result {
        Ok(None) => {
            let msg =
                html! { p { "Konto „" (name) "“ angelegt. Anfangspasswort (wird nur jetzt angezeigt): " code.secret { (password) } } };
            render(&st, actor, Some(msg), StatusCode::OK).await
        }
        Ok(Some(token)) => render(&st, actor, Some(invitation_message(&headers, &name, &token, days)), StatusCode::OK).await,
        Err(e) => render(&st, actor, Some(problem(e)), StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}

/// The invitation link as the invitee will open it (this request's host and scheme).
fn invitation_message(headers: &HeaderMap, name: &str, token: &str, days: i64) -> Markup {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("");
    let scheme = if headers.get("x-forwarded-proto").and_then(|v| v.to_str().ok()) == Some("https") { "https" } else { "http" };
    let link = if host.is_empty() { format!("/einladung/{token}") } else { format!("{scheme}://{host}/einladung/{token}") };
    html! { p { "Einladungslink für „" (name) "“ (" (days) " Tage gültig, nur einmal, wird nur jetzt angezeigt): " code.secret.invitation { (link) } } }
}

#[derive(Debug, Deserialize)]
pub struct DisableForm {
    pub csrf: String,
    pub name: String,
    /// `1`: disable, `0`: enable.
    pub sperren: String,
}

/// `POST /verwaltung/konten/sperren`: disables (sessions end) or enables an account.
pub async fn disable(State(st): State<AppState>, headers: HeaderMap, axum::Form(f): axum::Form<DisableForm>) -> Result<Response, AppError> {
    let (actor, _) = authorize_as(&st, &headers, &f.csrf, is_admin, "Konten der Administration").await?;
    let disabled = f.sperren == "1";
    let n = f.name.clone();
    let result = account_change(&st, &actor, move |store| store.set_user_disabled(&n, disabled)).await?;
    match result {
        Ok(()) => {
            let msg = if disabled {
                html! { p { "Konto „" (f.name) "“ gesperrt; seine Sitzungen sind beendet." } }
            } else {
                html! { p { "Konto „" (f.name) "“ wieder freigegeben." } }
            };
            render(&st, actor, Some(msg), StatusCode::OK).await
        }
        Err(e) => render(&st, actor, Some(problem(e)), StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}

/// `POST /verwaltung/konten/einladung`: a new invitation link (7 days) for an invited account;
/// the earlier link ends.
pub async fn renew_invitation(
    State(st): State<AppState>,
    headers: HeaderMap,
    axum::Form(f): axum::Form<NamedForm>,
) -> Result<Response, AppError> {
    let (actor, _) = authorize_as(&st, &headers, &f.csrf, is_admin, "Konten der Administration").await?;
    let n = f.name.clone();
    let days = quartier_app::store::accounts::INVITATION_SECONDS / 86_400;
    let result = account_change(&st, &actor, move |store| store.renew_invitation(&n, days * 86_400)).await?;
    match result {
        Ok(token) => render(&st, actor, Some(invitation_message(&headers, &f.name, &token, days)), StatusCode::OK).await,
        Err(e) => render(&st, actor, Some(problem(e)), StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}

/// An account change by the administrator: a refusal of the store's rules (the last
/// administrator, a taken name, a weak password) comes back as a message for the page, any
/// other failure as an error.
async fn account_change<T: Send + 'static>(
    st: &AppState,
    actor: &Actor,
    f: impl FnOnce(&mut dyn quartier_app::store::Store) -> quartier_app::store::Result<T> + Send + 'static,
) -> Result<Result<T, String>, AppError> {
    with_store_mut(st, actor.name.clone(), move |store| match f(store) {
        Ok(v) => Ok(Ok(v)),
        Err(quartier_app::store::StoreError::Account(m)) => Ok(Err(m)),
        Err(e) => Err(e.into()),
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct NamedForm {
    pub csrf: String,
    pub name: String,
}

/// `POST /verwaltung/konten/passwort`: a new one-time password; the account's sessions end.
pub async fn reset_password(
    State(st): State<AppState>,
    headers: HeaderMap,
    axum::Form(f): axum::Form<NamedForm>,
) -> Result<Response, AppError> {
    let (actor, _) = authorize_as(&st, &headers, &f.csrf, is_admin, "Konten der Administration").await?;
    let password = one_time_password(&f.name)?;
    let (n, p) = (f.name.clone(), password.clone());
    let result = account_change(&st, &actor, move |store| store.set_password(&n, None, &p)).await?;
    match result {
        Ok(()) => {
            let msg = html! { p { "Neues Passwort für „" (f.name) "“ (wird nur jetzt angezeigt): " code.secret { (password) } " – alle Sitzungen des Kontos sind beendet." } };
            render(&st, actor, Some(msg), StatusCode::OK).await
        }
        Err(e) => render(&st, actor, Some(problem(e)), StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}

/// `POST /verwaltung/konten/entfernen` (the last administrator stays).
pub async fn remove(State(st): State<AppState>, headers: HeaderMap, axum::Form(f): axum::Form<NamedForm>) -> Result<Response, AppError> {
    let (actor, _) = authorize_as(&st, &headers, &f.csrf, is_admin, "Konten der Administration").await?;
    let n = f.name.clone();
    let result = account_change(&st, &actor, move |store| store.remove_user(&n)).await?;
    match result {
        Ok(()) => render(&st, actor, Some(html! { p { "Konto „" (f.name) "“ entfernt." } }), StatusCode::OK).await,
        Err(e) => render(&st, actor, Some(problem(e)), StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}

/// `GET /verwaltung/sicherung`: a consistent copy of the SQLite database (as `quartier backup`).
pub async fn backup(State(st): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    let actor = admin(&st, &headers).await?;
    let quartier_app::store::Location::Sqlite(path) = &*st.db else {
        return Err(AppError::BadRequest("Die Datenbank liegt auf einem PostgreSQL-Server: quartier backup auf dem Server.".into()));
    };
    let path = path.clone();
    let bytes = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, AppError> {
        let dir = std::env::temp_dir()
            .join(format!("quartier-sicherung-{}", crate::admin::random_hex(8).map_err(|e| AppError::Internal(e.to_string()))?));
        std::fs::create_dir_all(&dir).map_err(|e| AppError::Internal(e.to_string()))?;
        let out = dir.join("sicherung.db");
        let r = quartier_app::store::sqlite::backup(&path, &out)
            .map_err(|e| AppError::Internal(e.to_string()))
            .and_then(|_| std::fs::read(&out).map_err(|e| AppError::Internal(e.to_string())));
        let _ = std::fs::remove_dir_all(&dir);
        r
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))??;
    // A GET changes nothing, not even the audit log; the server's log names who took it.
    eprintln!("Sicherung heruntergeladen von {}", actor.name);
    let mut res = Response::new(axum::body::Body::from(bytes));
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/vnd.sqlite3"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"quartier-sicherung.db\""));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

#[derive(Debug, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub id: String,
}

/// `POST /verwaltung/konten/schluessel`: revokes any account's API token (administrators).
pub async fn revoke_token(
    State(st): State<AppState>,
    headers: HeaderMap,
    axum::Form(f): axum::Form<TokenForm>,
) -> Result<Response, AppError> {
    let (actor, _) = authorize_as(&st, &headers, &f.csrf, is_admin, "Konten der Administration").await?;
    let id = f.id.trim().parse::<i64>().map_err(|_| AppError::BadRequest(format!("„{}“ ist keine Nummer", f.id)))?;
    let result = account_change(&st, &actor, move |store| store.revoke_api_token(None, id)).await?;
    match result {
        Ok(()) => {
            render(&st, actor, Some(html! { p { "API-Schlüssel " (id) " widerrufen: er gilt ab sofort nicht mehr." } }), StatusCode::OK)
                .await
        }
        Err(e) => render(&st, actor, Some(problem(e)), StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}
