//! What both backends share: the checks and decisions that do not depend on SQL, so SQLite
//! and PostgreSQL accept and refuse exactly the same batches.

use crate::model::{AreaBatch, Level};
use crate::{Result, StoreError};
use quartier_core::{Cell, Symbol};
use std::collections::{BTreeSet, HashMap, HashSet};

/// How many individual changes a data report lists.
pub(crate) const CHANGES_LISTED: usize = 20;

/// The system user, as the default actor of a command-line session.
pub(crate) fn system_user() -> String {
    std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "Kommandozeile".into())
}

pub(crate) fn cell_to_sql(c: Cell) -> (Option<f64>, Option<&'static str>) {
    match c {
        Cell::Number(v) => (Some(v), None),
        Cell::Symbol(s) => (s.numeric(), Some(s.code())),
    }
}

pub(crate) fn cell_from_sql(value: Option<f64>, symbol: Option<String>) -> Cell {
    match symbol.as_deref().and_then(Symbol::from_code) {
        Some(s) => Cell::Symbol(s),
        None => Cell::Number(value.unwrap_or(f64::NAN)),
    }
}

pub(crate) fn cell_text(c: Cell) -> String {
    match c {
        Cell::Number(v) => format!("{v}"),
        Cell::Symbol(s) => s.as_str().to_string(),
    }
}

/// The new order of all levels, top to bottom, for `define_levels`: names must be distinct
/// and non-empty, existing levels keep their relative order, and levels not mentioned keep
/// their place after their predecessor.
pub(crate) fn level_order(existing: &[Level], names: &[String]) -> Result<Vec<String>> {
    let mut seen = HashSet::new();
    for n in names {
        if n.trim().is_empty() {
            return Err(StoreError::Levels("leerer Ebenenname".into()));
        }
        if !seen.insert(n) {
            return Err(StoreError::Levels(format!("Ebene „{n}“ doppelt angegeben")));
        }
    }
    let positions: Vec<usize> = existing.iter().filter_map(|l| names.iter().position(|n| *n == l.name)).collect();
    if positions.windows(2).any(|w| w[0] > w[1]) {
        return Err(StoreError::Levels(format!(
            "die Reihenfolge der vorhandenen Ebenen ({}) kann nicht geändert werden",
            existing.iter().map(|l| l.name.as_str()).collect::<Vec<_>>().join(" → ")
        )));
    }
    let mut order: Vec<String> = names.to_vec();
    for (pos, l) in existing.iter().enumerate() {
        if !order.contains(&l.name) {
            let after = existing[..pos].iter().rev().find_map(|p| order.iter().position(|n| *n == p.name)).map(|i| i + 1).unwrap_or(0);
            order.insert(after, l.name.clone());
        }
    }
    Ok(order)
}

/// The level order before and after a definition, as text for the audit log.
pub(crate) fn level_change(existing: &[Level], order: &[String]) -> (String, String) {
    (existing.iter().map(|l| l.name.as_str()).collect::<Vec<_>>().join(" → "), order.join(" → "))
}

/// Problems of an area batch against the parents on the level above (`parent_level`: its
/// name, None for the top level): empty or duplicate keys, unknown parents.
pub(crate) fn area_batch_problems(batch: &AreaBatch, parent_ids: &HashMap<String, i64>, parent_level: Option<&str>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen: HashMap<&str, &str> = HashMap::new();
    for a in &batch.areas {
        if a.key.trim().is_empty() {
            problems.push(format!("{}: leerer Gebietsschlüssel", a.origin));
        } else if let Some(first) = seen.insert(a.key.as_str(), a.origin.as_str()) {
            problems.push(format!("{}: Gebietsschlüssel „{}“ doppelt (schon bei {first})", a.origin, a.key));
        }
    }
    for a in &batch.areas {
        if let Some(p) = &a.parent
            && !parent_ids.contains_key(p)
        {
            match parent_level {
                Some(pl) => problems.push(format!("{}: übergeordnetes Gebiet „{p}“ gibt es auf Ebene „{pl}“ nicht", a.origin)),
                None => problems.push(format!(
                    "{}: Ebene „{}“ ist die oberste, kann also kein übergeordnetes Gebiet „{p}“ haben",
                    a.origin, batch.level
                )),
            }
        }
    }
    problems
}

/// References of an offer batch that exist neither in the batch nor among the stored ids.
pub(crate) fn offer_problems(
    batch: &crate::offers::Offers,
    mut orgs: HashSet<String>,
    mut services: HashSet<String>,
    mut locations: HashSet<String>,
) -> Vec<String> {
    orgs.extend(batch.organizations.iter().map(|o| o.id.clone()));
    services.extend(batch.services.iter().map(|o| o.id.clone()));
    locations.extend(batch.locations.iter().map(|o| o.id.clone()));
    let mut problems = Vec::new();
    for s in &batch.services {
        if !orgs.contains(&s.organization_id) {
            problems.push(format!("Angebot „{}“: Träger „{}“ gibt es nicht", s.id, s.organization_id));
        }
    }
    for l in &batch.locations {
        if !l.organization_id.is_empty() && !orgs.contains(&l.organization_id) {
            problems.push(format!("Standort „{}“: Träger „{}“ gibt es nicht", l.id, l.organization_id));
        }
    }
    for k in &batch.service_at_location {
        if !services.contains(&k.service_id) {
            problems.push(format!("Verknüpfung „{}“: Angebot „{}“ gibt es nicht", k.id, k.service_id));
        }
        if !locations.contains(&k.location_id) {
            problems.push(format!("Verknüpfung „{}“: Standort „{}“ gibt es nicht", k.id, k.location_id));
        }
    }
    problems
}

/// The import-log line of one level's area import (the same in both stores).
pub(crate) fn areas_summary(r: &crate::model::AreaReport) -> String {
    let mut s = format!(
        "Ebene {}: {} neu, {} geändert, {} unverändert, {} nicht in der Datei",
        r.level,
        r.inserted,
        r.updated,
        r.unchanged,
        r.not_in_file.len()
    );
    if !r.retired.is_empty() {
        s.push_str(&format!(", {} nicht mehr gültig (mit ihren Werten aufbewahrt)", r.retired.len()));
    }
    s
}

/// The audit line of an offer import.
pub(crate) fn offers_summary(batch: &crate::offers::Offers) -> String {
    format!("{} Träger, {} Angebote, {} Standorte", batch.organizations.len(), batch.services.len(), batch.locations.len())
}

/// Checks a new account's name, role and password; returns the trimmed name and the
/// Argon2id hash.
/// A new account's checked name and its password hash (`None`: invited, [`crate::accounts::INVITED_HASH`]).
pub(crate) fn new_account(
    name: &str,
    role: crate::accounts::Role,
    organization: Option<&str>,
    password: Option<&str>,
) -> Result<(String, String)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(StoreError::Account("Benutzername: 1 bis 64 Zeichen ohne Leerzeichen".into()));
    }
    if let Some(password) = password {
        crate::accounts::check_password(name, password).map_err(StoreError::Account)?;
    }
    if role == crate::accounts::Role::Traeger && organization.is_none() {
        return Err(StoreError::Account("ein Träger-Konto gehört zu einer Organisation (--organization)".into()));
    }
    let hash = match password {
        Some(p) => crate::accounts::hash_password(p).map_err(StoreError::Account)?,
        None => crate::accounts::INVITED_HASH.to_string(),
    };
    Ok((name.to_string(), hash))
}

/// Whether a password change may go ahead: the account exists and, for a user's own change,
/// `old` is its current password; the new one follows the rules. Returns the new hash.
pub(crate) fn password_change(name: &str, stored_hash: Option<&str>, old: Option<&str>, new: &str) -> Result<String> {
    let Some(hash) = stored_hash else { return Err(StoreError::Account(format!("Benutzer „{name}“ gibt es nicht"))) };
    if let Some(old) = old
        && !crate::accounts::verify_password(hash, old)
    {
        return Err(StoreError::Account("Das bisherige Passwort stimmt nicht.".into()));
    }
    crate::accounts::check_password(name, new).map_err(StoreError::Account)?;
    crate::accounts::hash_password(new).map_err(StoreError::Account)
}

/// Login throttling within a 15-minute window:
/// - one address guessing (20 failures, any accounts): that address waits for the window;
/// - one account from one address (from 5 failures on): a growing delay, 2, 4, 8 … seconds,
///   up to the window;
/// - one account from every address together (from 5 failures on): a growing delay of at
///   most [`ACCOUNT_DELAY_MAX_S`] — so an attacker without the password keeps a real user,
///   who signs in from another address, out for at most half a minute, never locks the
///   account.
pub(crate) const FAILURES_PER_ACCOUNT: i64 = 5;
pub(crate) const FAILURES_PER_ADDRESS: i64 = 20;
pub(crate) const FAILURE_WINDOW_S: i64 = 15 * 60;
pub const ACCOUNT_DELAY_MAX_S: i64 = 30;

/// Failed sign-ins within the window: (count, time of the last) for the account from every
/// address, for the account from this address, and the count from this address.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Failures {
    pub account: (i64, i64),
    pub pair: (i64, i64),
    pub address: i64,
}

/// Seconds to wait before the next attempt, if any.
pub(crate) fn login_wait(f: &Failures, now: i64) -> Option<i64> {
    let delay = |n: i64, cap: i64| (1i64 << (n - FAILURES_PER_ACCOUNT + 1).clamp(0, 20)).min(cap);
    let until = |(n, last): (i64, i64), cap: i64| (n >= FAILURES_PER_ACCOUNT).then(|| last + delay(n, cap) - now).filter(|w| *w > 0);
    if f.address >= FAILURES_PER_ADDRESS {
        return Some(FAILURE_WINDOW_S);
    }
    until(f.pair, FAILURE_WINDOW_S).or_else(|| until(f.account, ACCOUNT_DELAY_MAX_S))
}

/// The keys failures are counted under.
pub(crate) fn failure_keys(name: &str, address: &str) -> [String; 3] {
    [format!("account:{name}"), format!("pair:{address} {name}"), format!("address:{address}")]
}

pub(crate) fn throttled(wait_s: i64) -> StoreError {
    let wait = if wait_s >= 120 { format!("{} Minuten", (wait_s + 59) / 60) } else { format!("{wait_s} Sekunden") };
    StoreError::Account(format!("Zu viele fehlgeschlagene Anmeldungen: bitte {wait} warten."))
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// A hash to verify against for unknown names, so timing does not tell which names exist.
pub(crate) fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| crate::accounts::hash_password("unbekannt-kein-Konto-0815").unwrap_or_default())
}

/// Why an update by version failed: the record is gone (`current` None), or someone changed
/// it meanwhile (its current version and author).
pub(crate) fn conflict_error(current: Option<(i64, String)>, id: i64, what: &str) -> StoreError {
    match current {
        None => StoreError::InvalidRecord(format!("{what} {id} gibt es nicht")),
        Some((v, who)) => StoreError::Conflict(format!(
            "{what} {id} wurde inzwischen geändert (Version {v}{}): bitte neu laden und die Änderung erneut eintragen",
            if who.is_empty() { String::new() } else { format!(", von {who}") }
        )),
    }
}

/// Serialising the offer records without naming each type.
pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("records serialise")
}

/// Records stored as JSON, read back.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(rows: &[String]) -> Result<Vec<T>> {
    rows.iter().map(|j| serde_json::from_str(j).map_err(|e| StoreError::Corrupt(e.to_string()))).collect()
}

/// A stored value as a delivery compares it: the cell, the import that wrote it, its
/// `value_meta` id (reference date and quality flag).
pub(crate) type OldValue = (Cell, i64, Option<i64>);

/// The `value_meta` id of each row of a delivery. Rows share their date and flag strings
/// (one `Arc` per distinct text from the reader), so pairs are looked up by address and
/// `id_of` (look up or insert by text) runs once per distinct pair.
pub(crate) fn meta_ids(
    rows: &[quartier_core::validate::DataRow],
    mut id_of: impl FnMut(Option<&str>, Option<&str>) -> Result<i64>,
) -> Result<Vec<Option<i64>>> {
    let addr = |a: &Option<std::sync::Arc<str>>| a.as_ref().map(|s| std::sync::Arc::as_ptr(s) as *const u8 as usize).unwrap_or(0);
    let mut by_addr: HashMap<(usize, usize), i64, foldhash::fast::RandomState> = HashMap::default();
    let mut by_text: HashMap<(Option<String>, Option<String>), i64> = HashMap::new();
    rows.iter()
        .map(|r| {
            if r.reference_date.is_none() && r.quality.is_none() {
                return Ok(None);
            }
            let k = (addr(&r.reference_date), addr(&r.quality));
            if let Some(id) = by_addr.get(&k) {
                return Ok(Some(*id));
            }
            let text = (r.reference_date.as_deref().map(str::to_string), r.quality.as_deref().map(str::to_string));
            let id = match by_text.get(&text) {
                Some(id) => *id,
                None => {
                    let id = id_of(text.0.as_deref(), text.1.as_deref())?;
                    by_text.insert(text, id);
                    id
                }
            };
            by_addr.insert(k, id);
            Ok(Some(id))
        })
        .collect()
}

/// The delivered variables that are counts (only they are summed and compared), with their ids.
pub(crate) fn count_variables<'a>(
    used: &BTreeSet<&'a str>,
    kinds: &HashMap<String, quartier_core::validate::VariableKind>,
    ids: &HashMap<String, i64>,
) -> Vec<(i64, &'a str)> {
    use quartier_core::validate::VariableKind;
    used.iter().filter(|v| kinds.get(**v).copied().unwrap_or(VariableKind::Count) == VariableKind::Count).map(|v| (ids[*v], *v)).collect()
}

/// Delivered totals compared with the sums of their children for the count variables
/// `vars` (id, key) and `years` of a delivery, from memory: the stored values of those
/// variables (`old`, read for the change summary) with the delivery's values (`new`: variable
/// id, year, area id, cell) over them — the table is not read a second time. `node_of` gives
/// each area id its hierarchy node key; sums run over the tree by index, built once.
pub(crate) fn mismatches_in_memory<S: std::hash::BuildHasher>(
    nodes: &[quartier_core::hierarchy::AreaNode],
    names: &HashMap<String, (String, String)>,
    node_of: &HashMap<i64, String>,
    vars: &[(i64, &str)],
    years: &[i32],
    old: &HashMap<(i64, i32, i64), OldValue, S>,
    new: impl Iterator<Item = (i64, i32, i64, Cell)>,
) -> Vec<crate::model::TotalMismatchRecord> {
    let tree = quartier_core::hierarchy::Tree::new(nodes);
    let index_of: HashMap<i64, usize> = node_of.iter().filter_map(|(a, k)| tree.index(k).map(|i| (*a, i))).collect();
    let group: HashMap<(i64, i32), usize> =
        vars.iter().flat_map(|(v, _)| years.iter().map(move |y| (*v, *y))).enumerate().map(|(g, k)| (k, g)).collect();
    // One column of cells per (variable, year): stored values first, the delivery's over them.
    let mut cells: Vec<Vec<Option<Cell>>> = vec![Vec::new(); group.len()];
    let mut put = |v: i64, y: i32, a: i64, c: Cell| {
        if let (Some(&g), Some(&i)) = (group.get(&(v, y)), index_of.get(&a)) {
            let col = &mut cells[g];
            if col.is_empty() {
                col.resize(tree.len(), None);
            }
            col[i] = Some(c);
        }
    };
    for (&(v, y, a), (c, _, _)) in old {
        put(v, y, a, *c);
    }
    for (v, y, a, c) in new {
        put(v, y, a, c);
    }
    let mut out = Vec::new();
    for (vid, key) in vars {
        for &year in years {
            let col = &cells[group[&(*vid, year)]];
            if col.is_empty() {
                continue;
            }
            let sums = tree.sum_up(col);
            // Counts are whole numbers; allow rounding in published totals below 0.5.
            for m in tree.compare_totals(col, &sums, 0.5) {
                let (level, area) = names.get(&m.area).cloned().unwrap_or_default();
                out.push(crate::model::TotalMismatchRecord {
                    level,
                    area,
                    variable: key.to_string(),
                    year,
                    delivered: m.delivered,
                    summed: m.summed,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod throttle_tests {
    use super::*;

    #[test]
    fn delays_grow_and_others_wait_half_a_minute_at_most() {
        let now = 1_000_000;
        let f = |account: (i64, i64), pair: (i64, i64), address: i64| Failures { account, pair, address };
        assert_eq!(login_wait(&f((4, now), (4, now), 4), now), None);
        assert_eq!(login_wait(&f((5, now), (5, now), 5), now), Some(2));
        assert_eq!(login_wait(&f((8, now), (8, now), 8), now), Some(16));
        // The same account from another address: the account-wide delay, capped.
        assert_eq!(login_wait(&f((19, now), (0, 0), 0), now), Some(ACCOUNT_DELAY_MAX_S));
        assert_eq!(login_wait(&f((19, now - ACCOUNT_DELAY_MAX_S), (0, 0), 0), now), None);
        // The guessing address waits the window.
        assert_eq!(login_wait(&f((0, 0), (0, 0), 20), now), Some(FAILURE_WINDOW_S));
    }
}
