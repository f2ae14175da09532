//! Who makes an API request: a personal API token (`Authorization: Bearer qrt_…`) stands
//! for its account — the same role, tenant scope and visibility as the account's pages —
//! limited to reading unless the token is read-write. Requests are counted per token (a token
//! bucket); over the rate they get 429 with `Retry-After`. Cookies never authorise API
//! writes, so CSRF does not apply to them; without a token the API answers only what a
//! visitor of the pages would see.

use crate::{AppError, AppState};
use axum::http::{HeaderMap, header};
use quartier_app::store::accounts::{ApiToken, TokenScope, User};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The account and token of a request made with an API token.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub token: ApiToken,
}

impl Principal {
    /// Who changes, as the audit log and import log show it: the account and the token.
    pub fn actor(&self) -> String {
        format!("{} (API-Schlüssel „{}“)", self.user.name, self.token.name)
    }
}

tokio::task_local! {
    /// The token's account for the request, set by `require_login`.
    pub(crate) static PRINCIPAL: Option<Arc<Principal>>;
}

/// This request's token account (none without a token).
pub(crate) fn principal() -> Option<Arc<Principal>> {
    PRINCIPAL.try_with(|p| p.clone()).ok().flatten()
}

/// Requests per minute and token unless `serve --api-rate` says otherwise.
pub const DEFAULT_RATE: u32 = 600;

/// Rate limits per token and when each token's last use was written down.
pub struct Limits {
    per_minute: u32,
    buckets: Mutex<HashMap<i64, (f64, Instant)>>,
    noted: Mutex<HashMap<i64, Instant>>,
}

impl Limits {
    pub fn new(per_minute: u32) -> Limits {
        Limits { per_minute: per_minute.max(1), buckets: Mutex::default(), noted: Mutex::default() }
    }

    /// Whether this request notes the token's use: once an hour per token and server, so a
    /// crowd of a token's first requests writes once.
    fn note(&self, token: i64) -> bool {
        let mut n = self.noted.lock().unwrap_or_else(|e| e.into_inner());
        let due = n.get(&token).is_none_or(|at| at.elapsed().as_secs() >= 3600);
        if due {
            n.insert(token, Instant::now());
        }
        due
    }

    /// Takes one request from the token's bucket (it holds a quarter minute's requests, at
    /// least ten, and refills at the rate); Err: seconds until the next one is allowed.
    pub fn take(&self, token: i64) -> Result<(), u64> {
        let rate = self.per_minute as f64 / 60.0;
        let burst = (self.per_minute as f64 / 4.0).max(10.0);
        let now = Instant::now();
        let mut b = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let (level, at) = b.entry(token).or_insert((burst, now));
        *level = (*level + now.duration_since(*at).as_secs_f64() * rate).min(burst);
        *at = now;
        if *level >= 1.0 {
            *level -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *level) / rate).ceil().max(1.0) as u64)
        }
    }
}

/// The secret of an `Authorization: Bearer …` header, if the request has one.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, secret) = v.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| secret.trim().to_string())
}

/// Paths a token is good for: the JSON API and the OGC API.
pub(crate) fn token_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/") || path == "/ogc" || path.starts_with("/ogc/")
}

/// Checks a presented token: known, not revoked, not expired (401 each, saying which), within
/// its rate (429), allowed to write when the request writes (403). Its last use is written
/// down once an hour at most: every write is a new data version, which would empty the
/// caches of results.
pub(crate) async fn check(st: &AppState, secret: String, writes: bool) -> Result<Arc<Principal>, AppError> {
    let well_formed = secret
        .strip_prefix(quartier_app::store::accounts::API_TOKEN_PREFIX)
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()));
    if !well_formed {
        return Err(AppError::Unauthorized("Unbekannter API-Schlüssel (erwartet: Authorization: Bearer qrt_…)".into()));
    }
    let db = st.db.clone();
    let found = tokio::task::spawn_blocking(move || db.open_read_only()?.api_token(&secret))
        .await
        .map_err(|e| AppError::Internal(e.to_string()))??;
    let Some((user, token)) = found else {
        return Err(AppError::Unauthorized("Unbekannter API-Schlüssel, oder sein Konto ist gesperrt".into()));
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    if token.revoked {
        return Err(AppError::Unauthorized(format!("Der API-Schlüssel „{}“ wurde widerrufen", token.name)));
    }
    if now >= token.expires {
        return Err(AppError::Unauthorized(format!("Der API-Schlüssel „{}“ ist abgelaufen", token.name)));
    }
    st.api_limits.take(token.id).map_err(AppError::RateLimited)?;
    if writes && token.scope == TokenScope::Read {
        return Err(AppError::Forbidden(format!("Der API-Schlüssel „{}“ darf nur lesen", token.name)));
    }
    if token.last_used.is_none_or(|t| now - t >= 3600) && st.api_limits.note(token.id) {
        // Awaited, so the list shows the use as soon as the answer arrives; a failure to note
        // it does not fail the request.
        let (db, id) = (st.db.clone(), token.id);
        let noted = tokio::task::spawn_blocking(move || db.open().and_then(|mut s| s.touch_api_token(id))).await;
        if let Ok(Err(e)) = noted {
            eprintln!("Fehler: letzte Nutzung des API-Schlüssels {id} nicht gespeichert: {e}");
        }
    }
    Ok(Arc::new(Principal { user, token }))
}

/// The token account of an API request that changes something, if its role allows (`who`
/// names the allowed roles in the refusal). Without a token: 401, since cookies do not
/// authorise API writes; on a public or read-only server: 403.
pub(crate) fn writer(st: &AppState, allow: fn(&User) -> bool, who: &str) -> Result<Arc<Principal>, AppError> {
    if st.public.is_some() {
        return Err(AppError::Forbidden("In der öffentlichen Ansicht kann nichts geändert werden.".into()));
    }
    let p = principal().ok_or_else(|| {
        AppError::Unauthorized("Änderungen über die API brauchen einen API-Schlüssel mit Schreibrecht (Authorization: Bearer …)".into())
    })?;
    if !allow(&p.user) {
        return Err(AppError::Forbidden(format!("Das dürfen nur {who}.")));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_says_when_to_retry() {
        let l = Limits::new(60);
        for _ in 0..15 {
            assert!(l.take(1).is_ok());
        }
        assert_eq!(l.take(1), Err(1));
        // Another token has its own bucket.
        assert!(l.take(2).is_ok());
    }

    #[test]
    fn bearer_secrets_are_read_case_insensitively() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "bearer  qrt_abc ".parse().unwrap());
        assert_eq!(bearer(&h).as_deref(), Some("qrt_abc"));
        h.insert(header::AUTHORIZATION, "Basic eDp5".parse().unwrap());
        assert_eq!(bearer(&h), None);
    }
}
