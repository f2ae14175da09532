//! Accepting an invitation: `/einladung/{token}` lets the invited person set the password of
//! the account an administrator created for them (`quartier user invite` or the Konten page).
//! The link is single-use and time-limited; the store keeps only its hash. Nobody is signed in
//! here, so the form is protected like the sign-in form: a double-submit token (a random
//! cookie, `SameSite=Strict`, limited to `/einladung`, repeated in the form).

use crate::account::secure;
use crate::admin::{cookie, with_store_mut};
use crate::pages::layout_nav;
use crate::{AppError, AppState, with_store};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

const FORM_COOKIE: &str = "quartier_einladung";

fn refuse_public(st: &AppState) -> Result<(), AppError> {
    match st.public {
        Some(_) => Err(AppError::Forbidden("In der öffentlichen Ansicht gibt es keine Konten.".into())),
        None => Ok(()),
    }
}

fn gone() -> Response {
    let body = html! {
        h1 { "Einladung" }
        div.problem role="alert" { p { "Diese Einladung gilt nicht (mehr): sie ist abgelaufen, schon benutzt oder das Konto ist gesperrt. Bitte die Administration um einen neuen Link bitten." } }
    };
    (StatusCode::GONE, layout_nav("Einladung", "werkstatt", body, None)).into_response()
}

fn form(token: &str, form_token: &str, name: &str, days_left: i64, problem: Option<&str>) -> Markup {
    let body = html! {
        h1 { "Einladung annehmen" }
        p { "Für Sie ist das Konto " strong { (name) } " angelegt. Bitte ein Passwort wählen; danach melden Sie sich damit an. "
            "Der Link gilt noch " (if days_left <= 1 { "höchstens einen Tag".to_string() } else { format!("{days_left} Tage") }) " und nur einmal." }
        @if let Some(p) = problem { div.problem role="alert" id="fehler" { p { (p) } } }
        form.report-form method="post" action=(format!("/einladung/{token}")) {
            input type="hidden" name="formular" value=(form_token);
            input type="text" name="name" value=(name) autocomplete="username" hidden readonly;
            label for="e-passwort" { "Neues Passwort" }
            input #e-passwort type="password" name="passwort" autocomplete="new-password" required minlength="12" aria-describedby="e-regeln";
            p.note #e-regeln { "Mindestens 12 Zeichen, nicht der Benutzername, keine bekannten Passwörter oder Muster (z. B. 123456, Sommer, Wiederholungen)." }
            label for="e-wiederholung" { "Passwort wiederholen" }
            input #e-wiederholung type="password" name="wiederholung" autocomplete="new-password" required;
            button type="submit" { "Passwort setzen" }
        }
    };
    layout_nav("Einladung annehmen", "werkstatt", body, None)
}

/// The form with a fresh double-submit token in its cookie.
fn form_response(
    headers: &HeaderMap,
    token: &str,
    name: &str,
    seconds_left: i64,
    problem: Option<&str>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let form_token = quartier_app::store::accounts::token().map_err(AppError::Internal)?;
    let days_left = (seconds_left + 86_399) / 86_400;
    let mut res = (status, form(token, &form_token, name, days_left, problem)).into_response();
    let c = format!("{FORM_COOKIE}={form_token}; HttpOnly; SameSite=Strict; Path=/einladung; Max-Age=3600{}", secure(headers));
    res.headers_mut().append(header::SET_COOKIE, HeaderValue::from_str(&c).map_err(|e| AppError::Internal(e.to_string()))?);
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// `GET /einladung/{token}`.
pub async fn page(State(st): State<AppState>, headers: HeaderMap, Path(token): Path<String>) -> Result<Response, AppError> {
    refuse_public(&st)?;
    let t = token.clone();
    match with_store(&st, move |store, _| Ok(store.invitation(&t)?)).await? {
        Some((name, left)) => form_response(&headers, &token, &name, left, None, StatusCode::OK),
        None => Ok(gone()),
    }
}

#[derive(Debug, Deserialize)]
pub struct AcceptForm {
    #[serde(default)]
    pub formular: String,
    pub passwort: String,
    pub wiederholung: String,
}

/// `POST /einladung/{token}`: sets the password; the link ends.
pub async fn accept(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(token): Path<String>,
    axum::Form(f): axum::Form<AcceptForm>,
) -> Result<Response, AppError> {
    refuse_public(&st)?;
    let expected = cookie(&headers, FORM_COOKIE).unwrap_or_default();
    if expected.len() != 64 || expected != f.formular {
        return Err(AppError::Forbidden("Abgelehnt (CSRF-Schutz): bitte den Einladungslink neu öffnen.".into()));
    }
    let t = token.clone();
    let Some((name, left)) = with_store(&st, move |store, _| Ok(store.invitation(&t)?)).await? else { return Ok(gone()) };
    if f.passwort != f.wiederholung {
        return form_response(
            &headers,
            &token,
            &name,
            left,
            Some("Die beiden Passwörter stimmen nicht überein."),
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let t = token.clone();
    let result = with_store_mut(&st, name.clone(), move |store| match store.accept_invitation(&t, &f.passwort) {
        Ok(n) => Ok(Ok(n)),
        Err(quartier_app::store::StoreError::Account(m)) => Ok(Err(m)),
        Err(e) => Err(e.into()),
    })
    .await?;
    match result {
        Ok(name) => {
            let body = html! {
                h1 { "Passwort gesetzt" }
                p.ok role="status" { "Das Konto „" (name) "“ ist bereit. " a href="/anmelden" { "Jetzt anmelden" } }
            };
            let mut res = layout_nav("Passwort gesetzt", "werkstatt", body, None).into_response();
            res.headers_mut().append(header::SET_COOKIE, HeaderValue::from_static("quartier_einladung=; Max-Age=0; Path=/einladung"));
            Ok(res)
        }
        Err(m) => form_response(&headers, &token, &name, left, Some(&m), StatusCode::UNPROCESSABLE_ENTITY),
    }
}
