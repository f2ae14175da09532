//! Reads and writes both backends share, written once against [`Sql`]: each backend opens
//! the transaction, calls these, and commits (or rolls back a dry run) itself.

use crate::CellTable;
use crate::common::{self, CHANGES_LISTED, OldValue, cell_from_sql, cell_text, cell_to_sql};
use crate::model::*;
use crate::sql::{NewValue, Sql, Val, vals};
use crate::{Result, StoreError};
use quartier_core::hierarchy::AreaNode;
use quartier_core::validate::{self, Problem, VariableKind};
use std::collections::{BTreeSet, HashMap, HashSet};

/// The `Store` methods both backends answer through this module alone, expanded inside each
/// `impl Store` (which provides `sql` for reading and `write` for a transaction).
macro_rules! store_methods {
    () => {
        fn frozen_breaks(&self, indicator: &str, level: &str) -> Result<Option<(String, Vec<f64>)>> {
            self.sql(|tx| shared::frozen_breaks(tx, indicator, level))
        }

        fn freeze_breaks(&mut self, indicator: &str, level: &str, method: &str, bins: &[f64]) -> Result<()> {
            self.write(false, |tx, actor| shared::freeze_breaks(tx, actor, indicator, level, method, bins))
        }

        fn index_definitions(&self) -> Result<Vec<(String, String)>> {
            self.sql(shared::index_definitions)
        }

        fn save_index_definition(&mut self, id: &str, toml: &str) -> Result<()> {
            self.write(false, |tx, actor| shared::save_index_definition(tx, actor, id, toml))
        }

        fn imports(&self) -> Result<Vec<ImportRecord>> {
            self.sql(shared::imports)
        }

        fn save_offers(&mut self, batch: &crate::offers::Offers, dry_run: bool) -> Result<crate::offers::OfferReport> {
            self.write(dry_run, |tx, actor| shared::save_offers(tx, actor, batch, dry_run))
        }

        fn offers(&self) -> Result<crate::offers::Offers> {
            self.sql(shared::offers)
        }

        fn save_conference(&mut self, c: &crate::action::Conference) -> Result<crate::action::Conference> {
            self.write(false, |tx, actor| shared::save_conference(tx, actor, c))
        }

        fn conferences(&self, area: Option<(&str, &str)>) -> Result<Vec<crate::action::Conference>> {
            self.sql(|tx| shared::conferences(tx, area))
        }

        fn save_measure(&mut self, m: &crate::action::Measure) -> Result<crate::action::Measure> {
            self.write(false, |tx, actor| shared::save_measure(tx, actor, m))
        }

        fn measures(&self) -> Result<Vec<crate::action::Measure>> {
            self.sql(shared::measures)
        }

        fn add_user(
            &mut self,
            name: &str,
            role: crate::accounts::Role,
            organization: Option<&str>,
            password: &str,
        ) -> Result<crate::accounts::User> {
            self.write(false, |tx, actor| shared::add_user(tx, actor, name, role, organization, Some(password)))
        }

        fn invite_user(
            &mut self,
            name: &str,
            role: crate::accounts::Role,
            organization: Option<&str>,
            valid_seconds: i64,
        ) -> Result<(crate::accounts::User, String)> {
            self.write(false, |tx, actor| {
                let user = shared::add_user(tx, actor, name, role, organization, None)?;
                let token = shared::invite(tx, actor, &user.name, valid_seconds)?;
                Ok((user, token))
            })
        }

        fn renew_invitation(&mut self, name: &str, valid_seconds: i64) -> Result<String> {
            self.write(false, |tx, actor| shared::invite(tx, actor, name, valid_seconds))
        }

        fn invitation(&self, token: &str) -> Result<Option<(String, i64)>> {
            self.sql(|tx| shared::invitation(tx, token))
        }

        fn accept_invitation(&mut self, token: &str, password: &str) -> Result<String> {
            self.write(false, |tx, _| shared::accept_invitation(tx, token, password))
        }

        fn set_user_disabled(&mut self, name: &str, disabled: bool) -> Result<()> {
            self.write(false, |tx, actor| shared::set_user_disabled(tx, actor, name, disabled))
        }

        fn users(&self) -> Result<Vec<crate::accounts::User>> {
            self.sql(shared::users)
        }

        fn set_password(&mut self, name: &str, old: Option<&str>, new: &str) -> Result<()> {
            self.write(false, |tx, actor| shared::set_password(tx, actor, name, old, new))
        }

        fn set_user_scope(&mut self, name: &str, scope: Option<&crate::accounts::Scope>) -> Result<()> {
            self.write(false, |tx, actor| shared::set_user_scope(tx, actor, name, scope))
        }

        fn set_user_internal(&mut self, name: &str, internal: bool) -> Result<()> {
            self.write(false, |tx, actor| shared::set_user_internal(tx, actor, name, internal))
        }

        fn remove_user(&mut self, name: &str) -> Result<()> {
            self.write(false, |tx, actor| shared::remove_user(tx, actor, name))
        }

        fn login(&mut self, name: &str, password: &str, address: &str) -> Result<Option<(String, crate::accounts::Session)>> {
            let found = self.sql(|tx| shared::login_lookup(tx, name, address))?;
            let ok = found.verify(password);
            self.write(false, |tx, _| shared::login_record(tx, found, ok, name, address))
        }

        fn logout(&mut self, token: &str, everywhere: bool) -> Result<()> {
            self.write(false, |tx, _| shared::logout(tx, token, everywhere))
        }

        fn audit(&mut self, action: &str, object: &str, old: Option<&str>, new: Option<&str>) -> Result<()> {
            self.write(false, |tx, actor| shared::audit_tx(tx, actor, action, object, old, new))
        }

        fn levels(&self) -> Result<Vec<Level>> {
            let at = self.boundary_date();
            self.sql(|tx| shared::levels_at(tx, at.as_deref()))
        }

        fn define_levels(&mut self, names: &[String]) -> Result<Vec<Level>> {
            self.write(false, |tx, actor| shared::define_levels(tx, actor, names))
        }

        fn areas(&self, level: Option<&str>) -> Result<Vec<AreaRecord>> {
            let at = self.boundary_date();
            self.sql(|tx| shared::areas(tx, level, at.as_deref()))
        }

        fn geometries(&self, level: &str) -> Result<Vec<(String, Vec<u8>)>> {
            let at = self.boundary_date();
            self.sql(|tx| shared::geometries(tx, level, at.as_deref()))
        }

        fn source_geometries(&self, level: &str) -> Result<Vec<crate::SourceGeometry>> {
            let at = self.boundary_date();
            self.sql(|tx| shared::source_geometries(tx, level, at.as_deref()))
        }

        fn apply_areas(&mut self, batch: &AreaBatch, dry_run: bool) -> Result<AreaReport> {
            self.apply_area_batches(std::slice::from_ref(batch), dry_run).map(|mut r| r.remove(0))
        }

        fn apply_area_batches(&mut self, batches: &[AreaBatch], dry_run: bool) -> Result<Vec<AreaReport>> {
            self.write(dry_run, |tx, actor| shared::apply_area_batches(tx, actor, batches, dry_run))
        }

        fn hierarchy(&self) -> Result<Vec<AreaNode>> {
            let at = self.boundary_date();
            self.sql(|tx| Ok(shared::hierarchy_nodes(tx, at.as_deref())?.0))
        }

        fn variables(&self) -> Result<Vec<VariableRecord>> {
            self.sql(shared::variables)
        }

        fn variable_kinds(&self) -> Result<Vec<(String, quartier_core::validate::VariableKind)>> {
            self.sql(shared::variable_kinds)
        }

        fn values(&self, f: &ValueFilter) -> Result<Vec<ValueRecord>> {
            let at = self.boundary_date();
            self.sql(|tx| shared::values(tx, f, at.as_deref()))
        }

        fn catalogue(&self) -> Result<Catalogue> {
            self.sql(shared::catalogue)
        }

        fn cells(&self, variables: &[String]) -> Result<CellTable> {
            let at = self.boundary_date();
            self.sql(|tx| shared::cells(tx, variables, at.as_deref()))
        }

        fn value_years(&self, variables: &[String]) -> Result<Vec<i32>> {
            self.sql(|tx| shared::value_years(tx, variables))
        }

        fn area_versions(&self, level: Option<&str>) -> Result<Vec<AreaVersion>> {
            self.sql(|tx| shared::area_versions(tx, level))
        }

        fn version_dates(&self) -> Result<Vec<String>> {
            self.sql(shared::version_dates)
        }

        fn set_boundary_date(&self, date: Option<String>) {
            *self.boundary.borrow_mut() = date;
        }

        fn boundary_date(&self) -> Option<String> {
            self.boundary.borrow().clone()
        }

        fn estimated_cells(&self, variables: &[String]) -> Result<quartier_core::indicator::eval::Estimated> {
            let at = self.boundary_date();
            self.sql(|tx| shared::estimated_cells(tx, variables, at.as_deref()))
        }

        fn version_areas(&self, level: &str, at: Option<&str>) -> Result<Vec<VersionArea>> {
            self.sql(|tx| shared::version_areas(tx, level, at))
        }

        fn version_values(&self, level: &str, at: Option<&str>, variables: &[String]) -> Result<Vec<VersionValue>> {
            self.sql(|tx| shared::version_values(tx, level, at, variables))
        }

        fn save_crosswalk(&mut self, c: &CrosswalkRecord, dry_run: bool) -> Result<()> {
            self.write(dry_run, |tx, actor| shared::save_crosswalk(tx, actor, c))
        }

        fn crosswalks(&self, name: Option<&str>) -> Result<Vec<CrosswalkRecord>> {
            self.sql(|tx| shared::crosswalks(tx, name))
        }

        fn remove_crosswalk(&mut self, name: &str) -> Result<()> {
            self.write(false, |tx, actor| shared::remove_crosswalk(tx, actor, name))
        }

        fn store_carried(&mut self, level: &str, c: &CarriedValues, dry_run: bool) -> Result<CarryReport> {
            self.write(dry_run, |tx, actor| shared::store_carried(tx, actor, level, c, dry_run))
        }

        fn undo_import(&mut self, id: i64) -> Result<UndoReport> {
            self.write(false, |tx, actor| shared::undo_import(tx, actor, id))
        }

        fn audit_log(&self) -> Result<Vec<crate::accounts::AuditEntry>> {
            self.sql(shared::audit_log)
        }

        fn settings_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>> {
            self.sql(|tx| shared::settings_with_prefix(tx, prefix))
        }

        fn setting(&self, key: &str) -> Result<Option<String>> {
            self.sql(|tx| shared::setting(tx, key))
        }

        fn set_setting(&mut self, key: &str, value: &str) -> Result<()> {
            self.write(false, |tx, actor| shared::set_setting(tx, actor, key, value))
        }

        fn remove_setting(&mut self, key: &str) -> Result<bool> {
            self.write(false, |tx, actor| shared::remove_setting(tx, actor, key))
        }

        fn save_catalogue(&mut self, cat: &Catalogue, dry_run: bool) -> Result<CatalogueReport> {
            self.write(dry_run, |tx, actor| shared::save_catalogue(tx, actor, cat, dry_run))
        }

        fn session(&self, token: &str) -> Result<Option<crate::accounts::Session>> {
            self.sql(|tx| shared::session(tx, token))
        }

        fn create_api_token(
            &mut self,
            user: &str,
            name: &str,
            scope: crate::accounts::TokenScope,
            valid_seconds: i64,
        ) -> Result<(String, crate::accounts::ApiToken)> {
            self.write(false, |tx, actor| shared::create_api_token(tx, actor, user, name, scope, valid_seconds))
        }

        fn api_tokens(&self, user: Option<&str>) -> Result<Vec<crate::accounts::ApiToken>> {
            self.sql(|tx| shared::api_tokens(tx, user, None))
        }

        fn revoke_api_token(&mut self, user: Option<&str>, id: i64) -> Result<()> {
            self.write(false, |tx, actor| shared::revoke_api_token(tx, actor, user, id))
        }

        fn api_token(&self, secret: &str) -> Result<Option<(crate::accounts::User, crate::accounts::ApiToken)>> {
            self.sql(|tx| shared::api_token(tx, secret))
        }

        fn touch_api_token(&mut self, id: i64) -> Result<()> {
            self.write(false, |tx, _| shared::touch_api_token(tx, id))
        }
    };
}
pub(crate) use store_methods;

/// One entry in the audit log, inside the change's transaction.
pub(crate) fn audit_tx(tx: &mut dyn Sql, who: &str, action: &str, object: &str, old: Option<&str>, new: Option<&str>) -> Result<()> {
    tx.exec("INSERT INTO audit (who, action, object, old, new) VALUES (?1, ?2, ?3, ?4, ?5)", vals![who, action, object, old, new])?;
    Ok(())
}

/// Why an update by version failed (see [`common::conflict_error`]).
pub(crate) fn conflict(tx: &mut dyn Sql, table: &str, id: i64, what: &str) -> StoreError {
    // `table` is one of the code's own table names, never input.
    let current =
        tx.row(&format!("SELECT version, who FROM {table} WHERE id = ?1"), vals![id]).ok().flatten().map(|r| (r[0].int(), r[1].text()));
    common::conflict_error(current, id, what)
}

/// The stored level names in order, for messages ("keine" without levels).
pub(crate) fn level_names(tx: &mut dyn Sql) -> Result<String> {
    let names: Vec<String> = tx.rows("SELECT name FROM level ORDER BY rank", vals![])?.iter().map(|r| r[0].text()).collect();
    Ok(if names.is_empty() { "keine".into() } else { names.join(" → ") })
}

/// A level's id and rank; an unknown name is an error listing the stored levels.
pub(crate) fn level_id(tx: &mut dyn Sql, name: &str) -> Result<(i64, usize)> {
    match tx.row("SELECT id, rank FROM level WHERE name = ?1", vals![name])? {
        Some(r) => Ok((r[0].int(), r[1].int() as usize)),
        None => Err(StoreError::UnknownLevel(name.to_string(), level_names(tx).unwrap_or_default())),
    }
}

/// A new entry in the import log (its summary follows when the import is done).
pub(crate) fn new_import(tx: &mut dyn Sql, kind: &str, file: &str, who: &str) -> Result<i64> {
    // Data imports keep what they replace (value_replaced), so they can be undone.
    tx.insert("INSERT INTO import (kind, file, summary, who, undoable) VALUES (?1, ?2, '', ?3, ?4)", vals![kind, file, who, kind == "data"])
}

/// Writes the summaries of the imports of one transaction and names each in the audit log
/// with what it changed (the values it replaced are kept in `value_replaced`).
pub(crate) fn record_imports(tx: &mut dyn Sql, imports: &[(i64, String)]) -> Result<()> {
    for (import_id, summary) in imports {
        tx.exec("UPDATE import SET summary = ?1 WHERE id = ?2", vals![summary, *import_id])?;
        let Some(r) = tx.row("SELECT kind, file, who FROM import WHERE id = ?1", vals![*import_id])? else { continue };
        let action = if r[0].text() == "data" { "Daten importiert" } else { "Gebiete importiert" };
        audit_tx(tx, &r[2].text(), action, &format!("Import {import_id} ({})", r[1].text()), None, Some(summary))?;
    }
    Ok(())
}

/// Node key → (level name, area key).
pub(crate) type NodeNames = HashMap<String, (String, String)>;

/// All areas as hierarchy nodes (keys from [`node_key`]), and each node's (level name, area key).
/// `at`: the boundary set valid at that date (None: the current one).
pub(crate) fn hierarchy_nodes(tx: &mut dyn Sql, at: Option<&str>) -> Result<(Vec<AreaNode>, NodeNames)> {
    let mut nodes = Vec::new();
    let mut levels = HashMap::new();
    tx.each(
        &format!(
            "SELECT a.key, l.rank, p.key, l.name FROM area a JOIN level l ON l.id = a.level_id LEFT JOIN area p ON p.id = a.parent_id
             WHERE {}",
            valid_at(1)
        ),
        vals![at],
        &mut |r| {
            let (key, rank, parent, level) = (r[0].text(), r[1].int() as usize, r[2].opt_text(), r[3].text());
            let node = node_key(rank, &key);
            levels.insert(node.clone(), (level, key));
            // Parents live on the level directly above (checked on import).
            nodes.push(AreaNode { key: node, level_rank: rank, parent: parent.map(|p| node_key(rank.saturating_sub(1), &p)) });
            Ok(())
        },
    )?;
    Ok((nodes, levels))
}

/// A data delivery inside the caller's transaction: checks it against the stored areas and
/// variables, writes new values, replaces changed ones (keeping the old for undo) and
/// compares delivered totals with sums. Returns the report, the import's id and its summary.
pub(crate) fn apply_data(tx: &mut dyn Sql, actor: &str, batch: &DataBatch, dry_run: bool) -> Result<(DataReport, i64, String)> {
    let level_filter = match &batch.level {
        Some(l) => Some(level_id(tx, l)?.0),
        None => None,
    };
    // Area keys → their versions (id, level, valid from, valid to); a key on several levels
    // needs --level.
    let mut key_ids: HashMap<String, Vec<AreaSpan>> = HashMap::new();
    tx.each(
        "SELECT a.key, a.id, l.name, a.valid_from, a.valid_to FROM area a JOIN level l ON l.id = a.level_id
         WHERE CAST(?1 AS BIGINT) IS NULL OR a.level_id = ?1",
        vals![level_filter],
        &mut |r| {
            let (k, level) = (r[0].text(), r[2].text());
            if batch.area_levels.get(&k).is_none_or(|l| *l == level) {
                key_ids.entry(k).or_default().push(AreaSpan { id: r[1].int(), level, from: r[3].opt_text(), to: r[4].opt_text() });
            }
            Ok(())
        },
    )?;
    let known: HashSet<String> = key_ids.keys().cloned().collect();
    // Kinds: from the batch, else stored, else count.
    let mut kinds: HashMap<String, VariableKind> = tx
        .rows("SELECT key, kind FROM variable", vals![])?
        .iter()
        .map(|r| (r[0].text(), if r[1].text() == "rate" { VariableKind::Rate } else { VariableKind::Count }))
        .collect();
    for v in &batch.variables {
        if let Some(k) = v.kind {
            kinds.insert(v.key.clone(), k);
        }
    }
    let mut problems = validate::check_rows(&batch.rows, &kinds, &known);
    if !problems.is_empty() {
        problems.truncate(10_000);
        return Err(StoreError::Invalid(problems));
    }
    let ambiguous: BTreeSet<&str> = batch
        .rows
        .iter()
        .filter(|r| key_ids.get(&*r.area).is_some_and(|v| v.iter().any(|s| s.level != v[0].level)))
        .map(|r| &*r.area)
        .collect();
    if !ambiguous.is_empty() {
        return Err(StoreError::InvalidAreas(
            ambiguous
                .iter()
                .take(10)
                .map(|k| format!("Gebietsschlüssel „{k}“ gibt es auf mehreren Ebenen: bitte --level angeben"))
                .collect(),
        ));
    }
    // Each row's area: the version valid at its reference date (the end of its year when
    // the delivery gives none).
    let area_of = rows_on_versions(batch, &key_ids)?;
    let import_id = new_import(tx, "data", &batch.file, actor)?;
    // Variables: insert new, update metadata given with the delivery.
    let mut report = DataReport { rows: batch.rows.len(), dry_run, ..Default::default() };
    let mut var_ids: HashMap<String, i64> =
        tx.rows("SELECT key, id FROM variable", vals![])?.iter().map(|r| (r[0].text(), r[1].int())).collect();
    let mut metas: HashMap<&str, &VariableMeta> = batch.variables.iter().map(|v| (v.key.as_str(), v)).collect();
    let used: BTreeSet<&str> = batch.rows.iter().map(|r| &*r.variable).collect();
    for key in &used {
        if !var_ids.contains_key(*key) {
            var_ids.insert(key.to_string(), tx.insert("INSERT INTO variable (key) VALUES (?1)", vals![*key])?);
            report.variables_new.push(key.to_string());
        }
        let m = metas.remove(key).cloned().unwrap_or_else(|| VariableMeta { key: key.to_string(), ..Default::default() });
        tx.exec(
            "UPDATE variable SET label = coalesce(?2, label), unit = coalesce(?3, unit), kind = coalesce(?4, kind),
             source = coalesce(?5, source), reference_date = coalesce(?6, reference_date), description = coalesce(?7, description)
             WHERE key = ?1",
            vals![*key, m.label, m.unit, m.kind.map(|k| k.as_str()), m.source, m.reference_date, m.description],
        )?;
    }
    // Existing values of the delivered variables, fetched once instead of per row, with the
    // import that wrote each (kept for undoing this one).
    let mut old: HashMap<(i64, i32, i64), OldValue, foldhash::fast::RandomState> = HashMap::default();
    for key in &used {
        let vid = var_ids[*key];
        tx.each("SELECT year, area_id, value, symbol, import_id, meta_id FROM value WHERE variable_id = ?1", vals![vid], &mut |r| {
            let cell = cell_from_sql(r[2].opt_real(), r[3].opt_text());
            old.insert((vid, r[0].int() as i32, r[1].int()), (cell, r[4].int(), r[5].opt_int()));
            Ok(())
        })?;
    }
    let stored = tx.row("SELECT count(*) FROM value", vals![])?.map_or(0, |r| r[0].int());
    let rebuild_index = tx.bulk_start(batch.rows.len(), stored)?;
    // Write in primary-key order: B-tree appends instead of random page splits.
    let mut order: Vec<(i64, i32, i64, usize)> =
        batch.rows.iter().enumerate().map(|(i, r)| (var_ids[&*r.variable], r.year, area_of[i], i)).collect();
    order.sort_unstable();
    let meta_ids = {
        let mut known: HashMap<(Option<String>, Option<String>), i64> = tx
            .rows("SELECT id, ref_date, quality FROM value_meta", vals![])?
            .iter()
            .map(|r| ((r[1].opt_text(), r[2].opt_text()), r[0].int()))
            .collect();
        common::meta_ids(&batch.rows, |rd, q| {
            let k = (rd.map(str::to_string), q.map(str::to_string));
            if let Some(id) = known.get(&k) {
                return Ok(*id);
            }
            let id = tx.insert("INSERT INTO value_meta (ref_date, quality) VALUES (?1, ?2)", vals![rd, q])?;
            known.insert(k, id);
            Ok(id)
        })?
    };
    let mut inserts: Vec<NewValue> = Vec::new();
    let mut years = BTreeSet::new();
    for (vid, year, aid, i) in order {
        let r = &batch.rows[i];
        years.insert(year);
        let (v, s) = cell_to_sql(r.cell);
        let meta = meta_ids[i];
        match old.get(&(vid, year, aid)) {
            None => {
                report.inserted += 1;
                inserts.push((vid, year, aid, v, s, meta));
            }
            Some((oc, _, old_meta)) if *oc == r.cell => {
                report.unchanged += 1;
                if *old_meta != meta {
                    tx.exec(
                        "UPDATE value SET meta_id = ?4 WHERE variable_id = ?1 AND year = ?2 AND area_id = ?3",
                        vals![vid, year, aid, meta],
                    )?;
                }
            }
            Some((oc, by, old_meta)) => {
                report.changed += 1;
                if report.changes.len() < CHANGES_LISTED {
                    report.changes.push(ValueChange {
                        area: r.area.to_string(),
                        year,
                        variable: r.variable.to_string(),
                        old: cell_text(*oc),
                        new: cell_text(r.cell),
                    });
                }
                let (ov, os) = cell_to_sql(*oc);
                tx.exec(
                    "INSERT INTO value_replaced (import_id, variable_id, year, area_id, value, symbol, prev_import_id, meta_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    vals![import_id, vid, year, aid, ov, os, *by, *old_meta],
                )?;
                tx.exec(
                    "UPDATE value SET value = ?4, symbol = ?5, import_id = ?6, meta_id = ?7 WHERE variable_id = ?1 AND year = ?2 AND area_id = ?3",
                    vals![vid, year, aid, v, s, import_id, meta],
                )?;
            }
        }
    }
    tx.insert_values(&inserts, import_id)?;
    if rebuild_index {
        tx.bulk_written()?;
    }
    report.years = years.into_iter().collect();
    let counts = common::count_variables(&used, &kinds, &var_ids);
    if !counts.is_empty() {
        let (nodes, levels) = hierarchy_nodes(tx, None)?;
        if nodes.iter().any(|n| n.parent.is_some()) {
            let node_of: HashMap<i64, String> = tx
                .rows("SELECT a.id, l.rank, a.key FROM area a JOIN level l ON l.id = a.level_id WHERE a.valid_to IS NULL", vals![])?
                .iter()
                .map(|r| (r[0].int(), node_key(r[1].int() as usize, &r[2].text())))
                .collect();
            let new = batch.rows.iter().zip(&area_of).map(|(r, a)| (var_ids[&*r.variable], r.year, *a, r.cell));
            report.total_mismatches = common::mismatches_in_memory(&nodes, &levels, &node_of, &counts, &report.years, &old, new);
        }
    }
    let summary = format!(
        "{} Zeilen: {} neu, {} geändert, {} unverändert; Jahre {:?}; {} Abweichungen von Summen",
        report.rows,
        report.inserted,
        report.changed,
        report.unchanged,
        report.years,
        report.total_mismatches.len()
    );
    Ok((report, import_id, summary))
}

/// One stored version of an area key.
struct AreaSpan {
    id: i64,
    level: String,
    from: Option<String>,
    to: Option<String>,
}

impl AreaSpan {
    fn valid_at(&self, date: &str) -> bool {
        self.from.as_deref().is_none_or(|f| f <= date) && self.to.as_deref().is_none_or(|t| date < t)
    }

    fn span_de(&self) -> String {
        match (&self.from, &self.to) {
            (None, None) => "immer".into(),
            (Some(f), None) => format!("ab {f}"),
            (None, Some(t)) => format!("bis vor {t}"),
            (Some(f), Some(t)) => format!("ab {f} bis vor {t}"),
        }
    }
}

/// The area id of every row: the version of its key valid at the row's reference date (the
/// end of its year without one). Values of a year in which the key was not valid are refused,
/// naming the line — unless the delivery is on the current boundaries
/// (`DataBatch::current_boundaries`, e.g. a series the statistics office recalculated).
fn rows_on_versions(batch: &DataBatch, key_ids: &HashMap<String, Vec<AreaSpan>>) -> Result<Vec<i64>> {
    let mut out = Vec::with_capacity(batch.rows.len());
    let mut problems = Vec::new();
    for r in &batch.rows {
        let spans = &key_ids[&*r.area];
        if let [only] = spans.as_slice()
            && only.from.is_none()
            && only.to.is_none()
        {
            out.push(only.id);
            continue;
        }
        if batch.current_boundaries {
            match spans.iter().find(|s| s.to.is_none()) {
                Some(s) => out.push(s.id),
                None => problems.push(Problem::AreaNotValid {
                    area: r.area.clone(),
                    at: r.at.clone(),
                    date: None,
                    spans: spans.iter().map(AreaSpan::span_de).collect::<Vec<_>>().join(", "),
                }),
            }
            continue;
        }
        let date = match r.reference_date.as_deref() {
            Some(d) if d.len() == 10 => d.to_string(),
            Some(d) if d.len() == 7 => format!("{d}-28"),
            _ => format!("{:04}-12-31", r.year),
        };
        match spans.iter().find(|s| s.valid_at(&date)) {
            Some(s) => out.push(s.id),
            None => problems.push(Problem::AreaNotValid {
                area: r.area.clone(),
                at: r.at.clone(),
                date: Some(date),
                spans: spans.iter().map(AreaSpan::span_de).collect::<Vec<_>>().join(", "),
            }),
        }
        if problems.len() >= 10_000 {
            break;
        }
    }
    if problems.is_empty() { Ok(out) } else { Err(StoreError::Invalid(problems)) }
}

/// The areas of one batch, inside the caller's transaction: (report, import id, summary).
/// Only areas still valid are compared and changed; a batch with a [`BoundaryVersion`]
/// retires what it changes instead of overwriting it.
pub(crate) fn areas_in(tx: &mut dyn Sql, actor: &str, batch: &AreaBatch, dry_run: bool) -> Result<(AreaReport, i64, String)> {
    let (lid, rank) = level_id(tx, &batch.level)?;
    // Parents must exist on the level directly above.
    let above = rank as i64 - 1;
    let parent_ids: HashMap<String, i64> = tx
        .rows("SELECT a.key, a.id FROM area a JOIN level l ON l.id = a.level_id WHERE l.rank = ?1 AND a.valid_to IS NULL", vals![above])?
        .iter()
        .map(|r| (r[0].text(), r[1].int()))
        .collect();
    let parent_level: Option<String> = tx.row("SELECT name FROM level WHERE rank = ?1", vals![above])?.map(|r| r[0].text());
    let problems = common::area_batch_problems(batch, &parent_ids, parent_level.as_deref());
    if !problems.is_empty() {
        return Err(StoreError::InvalidAreas(problems));
    }
    if let Some(v) = &batch.version {
        version_problems(tx, lid, &batch.level, v)?;
    }
    let import_id = new_import(tx, "areas", &batch.file, actor)?;
    // A stored area as compared with the import: id, name, parent id, geometry.
    type Stored = (i64, String, Option<i64>, Option<Vec<u8>>);
    let mut existing: HashMap<String, Stored> = tx
        .rows("SELECT key, id, name, parent_id, geom FROM area WHERE level_id = ?1 AND valid_to IS NULL", vals![lid])?
        .iter()
        .map(|r| (r[0].text(), (r[1].int(), r[2].text(), r[3].opt_int(), r[4].opt_blob())))
        .collect();
    let mut report = AreaReport { level: batch.level.clone(), dry_run, ..Default::default() };
    let valid_from = batch.version.as_ref().map(|v| v.valid_from.as_str());
    let insert = |tx: &mut dyn Sql, a: &crate::NewArea, pid: Option<i64>| -> Result<()> {
        tx.exec(
            "INSERT INTO area (key, name, level_id, parent_id, geom, area_m2, source_crs, import_id, geom_source, valid_from)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            vals![
                &a.key,
                &a.name,
                lid,
                pid,
                a.geometry.as_ref(),
                a.area_m2,
                batch.source_crs,
                import_id,
                a.source_geometry.as_ref(),
                valid_from
            ],
        )?;
        Ok(())
    };
    let mut retired = Vec::new();
    for a in &batch.areas {
        let pid = a.parent.as_ref().map(|p| parent_ids[p]);
        match existing.remove(&a.key) {
            None => {
                insert(tx, a, pid)?;
                report.inserted += 1;
            }
            Some((id, name, old_pid, geom)) => {
                // A table import without parent information keeps the stored parent.
                let pid = pid.or(if a.parent.is_none() { old_pid } else { None });
                let same_geometry = a.geometry.is_none() || a.geometry == geom;
                let continues = match &batch.version {
                    Some(v) => same_geometry || v.same_territory.contains(&a.key),
                    None => true,
                };
                if !continues {
                    // Another territory under the same key: the old area keeps its values.
                    tx.exec("UPDATE area SET valid_to = ?2 WHERE id = ?1", vals![id, valid_from])?;
                    retired.push(a.key.clone());
                    insert(tx, a, pid)?;
                    report.inserted += 1;
                } else if name == a.name && old_pid == pid && same_geometry {
                    report.unchanged += 1;
                } else {
                    tx.exec(
                        "UPDATE area SET name = ?2, parent_id = ?3, geom = coalesce(?4, geom), area_m2 = coalesce(?5, area_m2),
                         source_crs = coalesce(?6, source_crs), import_id = ?7,
                         geom_source = CASE WHEN ?4 IS NULL THEN geom_source ELSE ?8 END WHERE id = ?1",
                        vals![id, &a.name, pid, a.geometry.as_ref(), a.area_m2, batch.source_crs, import_id, a.source_geometry.as_ref()],
                    )?;
                    report.updated += 1;
                }
            }
        }
    }
    let mut rest: Vec<String> = existing.keys().cloned().collect();
    rest.sort();
    if batch.version.is_some() {
        for (id, ..) in existing.values() {
            tx.exec("UPDATE area SET valid_to = ?2 WHERE id = ?1", vals![*id, valid_from])?;
        }
        retired.extend(rest.iter().cloned());
        retired.sort();
        reparent_children(tx, lid, rank)?;
        report.retired = retired;
    } else {
        report.not_in_file = rest;
    }
    let summary = common::areas_summary(&report);
    Ok((report, import_id, summary))
}

/// A new boundary set must be valid after every set the level already has.
fn version_problems(tx: &mut dyn Sql, lid: i64, level: &str, v: &crate::BoundaryVersion) -> Result<()> {
    if quartier_core::date::days_from_iso(&v.valid_from).map(quartier_core::date::iso_from_days).as_deref() != Some(v.valid_from.as_str()) {
        return Err(StoreError::InvalidAreas(vec![format!("Gültig ab „{}“ ist kein Datum der Form JJJJ-MM-TT", v.valid_from)]));
    }
    let latest = tx
        .row("SELECT max(valid_from), max(valid_to) FROM area WHERE level_id = ?1", vals![lid])?
        .map(|r| [r[0].opt_text(), r[1].opt_text()].into_iter().flatten().max())
        .unwrap_or_default();
    if let Some(latest) = latest.filter(|l| *l >= v.valid_from) {
        return Err(StoreError::InvalidAreas(vec![format!(
            "Die Ebene {level} hat schon einen Gebietsstand ab {latest}: ein neuer muss später gelten als {}",
            v.valid_from
        )]));
    }
    Ok(())
}

/// After a level got a new boundary set, areas of the level below whose parent was retired
/// move to the successor with the same key; without one they are named as a problem (their
/// level needs a new boundary set too, imported together).
fn reparent_children(tx: &mut dyn Sql, lid: i64, rank: usize) -> Result<()> {
    let orphans = tx.rows(
        "SELECT c.id, c.key, p.key, n.id FROM area c JOIN level l ON l.id = c.level_id
         JOIN area p ON p.id = c.parent_id
         LEFT JOIN area n ON n.level_id = p.level_id AND n.key = p.key AND n.valid_to IS NULL
         WHERE l.rank = ?1 AND c.valid_to IS NULL AND p.valid_to IS NOT NULL AND p.level_id = ?2",
        vals![rank as i64 + 1, lid],
    )?;
    let mut problems = Vec::new();
    for r in &orphans {
        match r[3].opt_int() {
            Some(successor) => {
                tx.exec("UPDATE area SET parent_id = ?2 WHERE id = ?1", vals![r[0].int(), successor])?;
            }
            None => problems.push(format!(
                "Gebiet „{}“ der Ebene darunter liegt in „{}“, das es im neuen Gebietsstand nicht mehr gibt: \
                 die Ebene darunter mit neuem Gebietsstand im selben Import mitliefern",
                r[1].text(),
                r[2].text()
            )),
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(StoreError::InvalidAreas(problems)) }
}

/// Replaces the indicator catalogue (in its order), auditing each added, changed and removed
/// definition.
pub(crate) fn save_catalogue(
    tx: &mut dyn Sql,
    actor: &str,
    cat: &quartier_core::indicator::Catalogue,
    dry_run: bool,
) -> Result<CatalogueReport> {
    let old: HashMap<String, String> =
        tx.rows("SELECT id, definition FROM indicator", vals![])?.iter().map(|r| (r[0].text(), r[1].text())).collect();
    let mut report = CatalogueReport { dry_run, ..Default::default() };
    let ids: HashSet<&str> = cat.indicators.iter().map(|i| i.id.as_str()).collect();
    for id in old.keys().filter(|k| !ids.contains(k.as_str())) {
        tx.exec("DELETE FROM indicator WHERE id = ?1", vals![id])?;
        report.removed.push(id.clone());
    }
    report.removed.sort();
    for (pos, ind) in cat.indicators.iter().enumerate() {
        let def = serde_json::to_string(ind).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        match old.get(&ind.id) {
            None => report.inserted.push(ind.id.clone()),
            Some(d) if *d == def => report.unchanged.push(ind.id.clone()),
            Some(_) => report.updated.push(ind.id.clone()),
        }
        tx.exec(
            "INSERT INTO indicator (id, position, definition) VALUES (?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET position = excluded.position, definition = excluded.definition",
            vals![&ind.id, pos as i64, &def],
        )?;
        if old.get(&ind.id) != Some(&def) {
            let object = format!("Indikator {}", ind.id);
            audit_tx(tx, actor, "Indikator gespeichert", &object, old.get(&ind.id).map(String::as_str), Some(&def))?;
        }
    }
    for id in &report.removed {
        audit_tx(tx, actor, "Indikator entfernt", &format!("Indikator {id}"), old.get(id).map(String::as_str), None)?;
    }
    Ok(report)
}

/// Settings and definitions: text by key, audited when changed.
fn upsert_audited(tx: &mut dyn Sql, actor: &str, table: &str, key: (&str, &str), value: (&str, &str), what: (&str, String)) -> Result<()> {
    // Table and column names are the code's own, never input.
    let (kc, k) = key;
    let (vc, v) = value;
    let old = tx.row(&format!("SELECT {vc} FROM {table} WHERE {kc} = ?1"), vals![k])?.map(|r| r[0].text());
    tx.exec(
        &format!("INSERT INTO {table} ({kc}, {vc}) VALUES (?1, ?2) ON CONFLICT ({kc}) DO UPDATE SET {vc} = excluded.{vc}"),
        vals![k, v],
    )?;
    if old.as_deref() != Some(v) {
        audit_tx(tx, actor, what.0, &what.1, old.as_deref(), Some(v))?;
    }
    Ok(())
}

pub(crate) fn set_setting(tx: &mut dyn Sql, actor: &str, key: &str, value: &str) -> Result<()> {
    upsert_audited(tx, actor, "setting", ("key", key), ("value", value), ("Einstellung gespeichert", format!("Einstellung {key}")))
}

pub(crate) fn remove_setting(tx: &mut dyn Sql, actor: &str, key: &str) -> Result<bool> {
    let Some(old) = setting(tx, key)? else { return Ok(false) };
    tx.exec("DELETE FROM setting WHERE key = ?1", vals![key])?;
    audit_tx(tx, actor, "Einstellung entfernt", &format!("Einstellung {key}"), Some(&old), None)?;
    Ok(true)
}

pub(crate) fn save_index_definition(tx: &mut dyn Sql, actor: &str, id: &str, toml: &str) -> Result<()> {
    upsert_audited(tx, actor, "index_definition", ("id", id), ("definition", toml), ("Indexdefinition gespeichert", format!("Index {id}")))
}

pub(crate) fn setting(tx: &mut dyn Sql, key: &str) -> Result<Option<String>> {
    Ok(tx.row("SELECT value FROM setting WHERE key = ?1", vals![key])?.map(|r| r[0].text()))
}

pub(crate) fn settings_with_prefix(tx: &mut dyn Sql, prefix: &str) -> Result<Vec<(String, String)>> {
    // substr instead of LIKE: the prefix is data, and `_`/`%` in it must not match.
    let sql = format!("SELECT key, value FROM setting WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key {}", tx.dialect().collate_bytes());
    Ok(tx.rows(&sql, vals![prefix])?.iter().map(|r| (r[0].text(), r[1].text())).collect())
}

pub(crate) fn index_definitions(tx: &mut dyn Sql) -> Result<Vec<(String, String)>> {
    Ok(tx.rows("SELECT id, definition FROM index_definition ORDER BY id", vals![])?.iter().map(|r| (r[0].text(), r[1].text())).collect())
}

pub(crate) fn frozen_breaks(tx: &mut dyn Sql, indicator: &str, level: &str) -> Result<Option<(String, Vec<f64>)>> {
    let row = tx.row("SELECT method, bins FROM frozen_breaks WHERE indicator = ?1 AND level = ?2", vals![indicator, level])?;
    row.map(|r| Ok((r[0].text(), serde_json::from_str(&r[1].text()).map_err(|e| StoreError::Corrupt(e.to_string()))?))).transpose()
}

pub(crate) fn freeze_breaks(tx: &mut dyn Sql, actor: &str, indicator: &str, level: &str, method: &str, bins: &[f64]) -> Result<()> {
    level_id(tx, level)?;
    let bins = serde_json::to_string(bins).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let old = tx
        .row("SELECT method || ' ' || bins FROM frozen_breaks WHERE indicator = ?1 AND level = ?2", vals![indicator, level])?
        .map(|r| r[0].text());
    tx.exec(
        "INSERT INTO frozen_breaks (indicator, level, method, bins) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (indicator, level) DO UPDATE SET method = excluded.method, bins = excluded.bins",
        vals![indicator, level, method, &bins],
    )?;
    let new = format!("{method} {bins}");
    audit_tx(tx, actor, "Klassengrenzen eingefroren", &format!("Indikator {indicator}, Ebene {level}"), old.as_deref(), Some(&new))
}

pub(crate) fn imports(tx: &mut dyn Sql) -> Result<Vec<ImportRecord>> {
    Ok(tx
        .rows("SELECT id, kind, file, at, summary, who, undoable, undone_at, undone_by FROM import ORDER BY id DESC", vals![])?
        .iter()
        .map(|r| ImportRecord {
            id: r[0].int(),
            kind: r[1].text(),
            file: r[2].text(),
            at: r[3].text(),
            summary: r[4].text(),
            who: r[5].text(),
            undoable: r[6].int() != 0,
            undone_at: r[7].opt_text(),
            undone_by: r[8].opt_text(),
        })
        .collect())
}

pub(crate) fn audit_log(tx: &mut dyn Sql) -> Result<Vec<crate::accounts::AuditEntry>> {
    Ok(tx
        .rows("SELECT id, at, who, action, object, old, new FROM audit ORDER BY id DESC", vals![])?
        .iter()
        .map(|r| crate::accounts::AuditEntry {
            id: r[0].int(),
            at: r[1].text(),
            who: r[2].text(),
            action: r[3].text(),
            object: r[4].text(),
            old: r[5].opt_text(),
            new: r[6].opt_text(),
        })
        .collect())
}

/// Adds or replaces organisations, services, locations and their links (HSDS ids).
pub(crate) fn save_offers(
    tx: &mut dyn Sql,
    actor: &str,
    batch: &crate::offers::Offers,
    dry_run: bool,
) -> Result<crate::offers::OfferReport> {
    let mut stored = |sql: &str| -> Result<HashSet<String>> { Ok(tx.rows(sql, vals![])?.iter().map(|r| r[0].text()).collect()) };
    let problems = common::offer_problems(
        batch,
        stored("SELECT id FROM offer_organization")?,
        stored("SELECT id FROM offer_service")?,
        stored("SELECT id FROM offer_location")?,
    );
    if !problems.is_empty() {
        return Err(StoreError::InvalidOffers(problems));
    }
    for o in &batch.organizations {
        tx.exec(
            "INSERT INTO offer_organization (id, data) VALUES (?1, ?2) ON CONFLICT (id) DO UPDATE SET data = excluded.data",
            vals![&o.id, common::to_json(o)],
        )?;
    }
    for s in &batch.services {
        tx.exec(
            "INSERT INTO offer_service (id, organization_id, data) VALUES (?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET organization_id = excluded.organization_id, data = excluded.data",
            vals![&s.id, &s.organization_id, common::to_json(s)],
        )?;
    }
    for l in &batch.locations {
        tx.exec(
            "INSERT INTO offer_location (id, latitude, longitude, data) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (id) DO UPDATE SET latitude = excluded.latitude, longitude = excluded.longitude, data = excluded.data",
            vals![&l.id, l.latitude, l.longitude, common::to_json(l)],
        )?;
    }
    for k in &batch.service_at_location {
        tx.exec(
            "INSERT INTO offer_link (id, service_id, location_id) VALUES (?1, ?2, ?3)
             ON CONFLICT (id) DO UPDATE SET service_id = excluded.service_id, location_id = excluded.location_id",
            vals![&k.id, &k.service_id, &k.location_id],
        )?;
    }
    audit_tx(tx, actor, "Angebote importiert", "Angebotsverzeichnis", None, Some(&common::offers_summary(batch)))?;
    Ok(crate::offers::OfferReport {
        organizations: batch.organizations.len(),
        services: batch.services.len(),
        locations: batch.locations.len(),
        links: batch.service_at_location.len(),
        dry_run,
    })
}

/// The whole offers directory, each part ordered by id (bytes).
pub(crate) fn offers(tx: &mut dyn Sql) -> Result<crate::offers::Offers> {
    let c = tx.dialect().collate_bytes();
    let mut all = |table: &str| -> Result<Vec<String>> {
        Ok(tx.rows(&format!("SELECT data FROM {table} ORDER BY id {c}"), vals![])?.iter().map(|r| r[0].text()).collect())
    };
    let organizations = common::from_json(&all("offer_organization")?)?;
    let services = common::from_json(&all("offer_service")?)?;
    let locations = common::from_json(&all("offer_location")?)?;
    let service_at_location = tx
        .rows(&format!("SELECT id, service_id, location_id FROM offer_link ORDER BY id {c}"), vals![])?
        .iter()
        .map(|r| crate::offers::ServiceAtLocation { id: r[0].text(), service_id: r[1].text(), location_id: r[2].text() })
        .collect();
    Ok(crate::offers::Offers { organizations, services, locations, service_at_location })
}

/// Whether a query of the form `SELECT EXISTS (…)` finds something.
fn exists(tx: &mut dyn Sql, sql: &str, params: &[Val]) -> Result<bool> {
    Ok(tx.row(sql, params)?.is_some_and(|r| r[0].int() != 0))
}

/// Whether `level` has an area `key`.
fn area_exists(tx: &mut dyn Sql, level: &str, key: &str) -> Result<bool> {
    exists(
        tx,
        "SELECT EXISTS (SELECT 1 FROM area a JOIN level l ON l.id = a.level_id WHERE l.name = ?1 AND a.key = ?2 AND a.valid_to IS NULL)",
        vals![level, key],
    )
}

/// Stores a versioned record's JSON once its row is written, auditing old and new.
fn record_data(tx: &mut dyn Sql, actor: &str, table: &str, id: i64, new: &str, what: (&str, &str)) -> Result<()> {
    // `table` is the code's own table name, never input.
    let old = tx.row(&format!("SELECT data FROM {table} WHERE id = ?1"), vals![id])?.map(|r| r[0].text()).filter(|d| !d.is_empty());
    tx.exec(&format!("UPDATE {table} SET data = ?2 WHERE id = ?1"), vals![id, new])?;
    audit_tx(tx, actor, what.0, &format!("{} {id}", what.1), old.as_deref(), Some(new))
}

/// A new conference (id 0) or a change of a stored one at its version (optimistic locking).
pub(crate) fn save_conference(tx: &mut dyn Sql, actor: &str, c: &crate::action::Conference) -> Result<crate::action::Conference> {
    c.check().map_err(StoreError::InvalidRecord)?;
    if !area_exists(tx, &c.level, &c.area)? {
        return Err(StoreError::InvalidRecord(format!("Gebiet „{}“ gibt es auf Ebene „{}“ nicht", c.area, c.level)));
    }
    for s in &c.existing_offers {
        if !exists(tx, "SELECT EXISTS (SELECT 1 FROM offer_service WHERE id = ?1)", vals![s])? {
            return Err(StoreError::InvalidRecord(format!("Angebot „{s}“ steht nicht im Angebotsverzeichnis")));
        }
    }
    let mut saved = c.clone();
    saved.version = c.version + 1;
    if c.id == 0 {
        saved.version = 1;
        saved.id = tx.insert(
            "INSERT INTO conference (level, area, date, data, version, who) VALUES (?1, ?2, ?3, '', 1, ?4)",
            vals![&c.level, &c.area, &c.date, actor],
        )?;
    } else {
        let n = tx.exec(
            "UPDATE conference SET level = ?2, area = ?3, date = ?4, version = version + 1, who = ?5 WHERE id = ?1 AND version = ?6",
            vals![c.id, &c.level, &c.area, &c.date, actor, c.version],
        )?;
        if n == 0 {
            return Err(conflict(tx, "conference", c.id, "Die Konferenz"));
        }
    }
    record_data(tx, actor, "conference", saved.id, &common::to_json(&saved), ("Konferenz gespeichert", "Konferenz"))?;
    Ok(saved)
}

/// Conferences, newest first; of one area (level, key) if given.
pub(crate) fn conferences(tx: &mut dyn Sql, area: Option<(&str, &str)>) -> Result<Vec<crate::action::Conference>> {
    let rows = match area {
        Some((l, a)) => tx.rows("SELECT data FROM conference WHERE level = ?1 AND area = ?2 ORDER BY date DESC, id DESC", vals![l, a])?,
        None => tx.rows("SELECT data FROM conference ORDER BY date DESC, id DESC", vals![])?,
    };
    common::from_json(&rows.iter().map(|r| r[0].text()).collect::<Vec<_>>())
}

/// A new measure (id 0) or a change of a stored one at its version (optimistic locking).
pub(crate) fn save_measure(tx: &mut dyn Sql, actor: &str, m: &crate::action::Measure) -> Result<crate::action::Measure> {
    m.check().map_err(StoreError::InvalidRecord)?;
    for a in &m.areas {
        if !area_exists(tx, &m.level, a)? {
            return Err(StoreError::InvalidRecord(format!("Gebiet „{a}“ gibt es auf Ebene „{}“ nicht", m.level)));
        }
    }
    for i in &m.indicators {
        if !exists(tx, "SELECT EXISTS (SELECT 1 FROM indicator WHERE id = ?1)", vals![i])? {
            return Err(StoreError::InvalidRecord(format!("Indikator „{i}“ steht nicht im Katalog")));
        }
    }
    if let Some(c) = m.conference
        && !exists(tx, "SELECT EXISTS (SELECT 1 FROM conference WHERE id = ?1)", vals![c])?
    {
        return Err(StoreError::InvalidRecord(format!("Konferenz {c} gibt es nicht")));
    }
    let mut saved = m.clone();
    if m.id == 0 {
        saved.version = 1;
        saved.id = tx.insert("INSERT INTO measure (data, version, who) VALUES ('', 1, ?1)", vals![actor])?;
    } else {
        saved.version = m.version + 1;
        let n =
            tx.exec("UPDATE measure SET version = version + 1, who = ?2 WHERE id = ?1 AND version = ?3", vals![m.id, actor, m.version])?;
        if n == 0 {
            return Err(conflict(tx, "measure", m.id, "Die Maßnahme"));
        }
    }
    record_data(tx, actor, "measure", saved.id, &common::to_json(&saved), ("Maßnahme gespeichert", "Maßnahme"))?;
    Ok(saved)
}

pub(crate) fn measures(tx: &mut dyn Sql) -> Result<Vec<crate::action::Measure>> {
    common::from_json(&tx.rows("SELECT data FROM measure ORDER BY id", vals![])?.iter().map(|r| r[0].text()).collect::<Vec<_>>())
}

// ---- Accounts ----

/// The columns of an account as [`user_from`] reads them (table alias `a`).
const USER_COLUMNS: &str = "a.id, a.name, a.role, a.organization, a.scope_level, a.scope_area, a.reads_internal, a.disabled, \
     CASE WHEN a.password_hash = '!' THEN 1 ELSE 0 END";

/// A new account (checked name, role and password; no password: invited), audited.
pub(crate) fn add_user(
    tx: &mut dyn Sql,
    actor: &str,
    name: &str,
    role: crate::accounts::Role,
    organization: Option<&str>,
    password: Option<&str>,
) -> Result<crate::accounts::User> {
    let (name, hash) = common::new_account(name, role, organization, password)?;
    if exists(tx, "SELECT EXISTS (SELECT 1 FROM account WHERE name = ?1)", vals![&name])? {
        return Err(StoreError::Account(format!("Benutzer „{name}“ gibt es schon")));
    }
    let id = tx.insert(
        "INSERT INTO account (name, role, organization, password_hash) VALUES (?1, ?2, ?3, ?4)",
        vals![&name, role.as_str(), organization, &hash],
    )?;
    let what = if password.is_some() { "Konto angelegt" } else { "Konto angelegt (Einladung)" };
    audit_tx(tx, actor, what, &format!("Konto {name}"), None, Some(role.as_str()))?;
    Ok(crate::accounts::User {
        id,
        name,
        role,
        organization: organization.map(String::from),
        scope: None,
        reads_internal: false,
        disabled: false,
        invited: password.is_none(),
    })
}

/// An account from its [`USER_COLUMNS`].
fn user_from(r: &[Val]) -> crate::accounts::User {
    crate::accounts::User {
        id: r[0].int(),
        name: r[1].text(),
        role: crate::accounts::Role::parse(&r[2].text()).unwrap_or(crate::accounts::Role::Reader),
        organization: r[3].opt_text(),
        scope: crate::accounts::Scope::from_columns(r[4].opt_text(), r[5].opt_text()),
        reads_internal: r[6].int() != 0,
        disabled: r[7].int() != 0,
        invited: r[8].int() != 0,
    }
}

pub(crate) fn users(tx: &mut dyn Sql) -> Result<Vec<crate::accounts::User>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM account a ORDER BY a.name {}", tx.dialect().collate_bytes());
    Ok(tx.rows(&sql, vals![])?.iter().map(|r| user_from(r)).collect())
}

/// A new invitation link for an account that has no password yet (earlier links of it end):
/// the token, shown once; stored as its hash with its expiry.
pub(crate) fn invite(tx: &mut dyn Sql, actor: &str, name: &str, valid_seconds: i64) -> Result<String> {
    let Some(r) = tx.row("SELECT id, password_hash, disabled FROM account WHERE name = ?1", vals![name])? else {
        return Err(StoreError::Account(format!("Benutzer „{name}“ gibt es nicht")));
    };
    if r[1].text() != crate::accounts::INVITED_HASH {
        return Err(StoreError::Account(format!("„{name}“ hat schon ein Passwort: zurücksetzen statt einladen")));
    }
    if r[2].int() != 0 {
        return Err(StoreError::Account(format!("„{name}“ ist gesperrt")));
    }
    if !(60..=90 * 86_400).contains(&valid_seconds) {
        return Err(StoreError::Account("Eine Einladung gilt zwischen einer Minute und 90 Tagen".into()));
    }
    let token = crate::accounts::token().map_err(StoreError::Account)?;
    tx.exec("DELETE FROM invitation WHERE account_id = ?1", vals![r[0].int()])?;
    tx.exec(
        "INSERT INTO invitation (token_hash, account_id, expires) VALUES (?1, ?2, ?3)",
        vals![crate::accounts::token_hash(&token), r[0].int(), common::unix_now() + valid_seconds],
    )?;
    audit_tx(tx, actor, "Einladung ausgestellt", &format!("Konto {name}"), None, Some(&format!("{} Tage gültig", valid_seconds / 86_400)))?;
    Ok(token)
}

/// The account an invitation token is for and the seconds it stays valid; `None` when the
/// token is unknown, expired, used or its account disabled.
pub(crate) fn invitation(tx: &mut dyn Sql, token: &str) -> Result<Option<(String, i64)>> {
    let r = tx.row(
        "SELECT a.name, i.expires FROM invitation i JOIN account a ON a.id = i.account_id WHERE i.token_hash = ?1 AND a.disabled = 0",
        vals![crate::accounts::token_hash(token)],
    )?;
    let now = common::unix_now();
    Ok(r.map(|r| (r[0].text(), r[1].int() - now)).filter(|(_, left)| *left > 0))
}

/// Accepts an invitation: the password (checked against the rules) is set, the link ends.
pub(crate) fn accept_invitation(tx: &mut dyn Sql, token: &str, password: &str) -> Result<String> {
    let Some((name, _)) = invitation(tx, token)? else {
        return Err(StoreError::Account("Diese Einladung gilt nicht (mehr): bitte die Administration um eine neue bitten.".into()));
    };
    crate::accounts::check_password(&name, password).map_err(StoreError::Account)?;
    let hash = crate::accounts::hash_password(password).map_err(StoreError::Account)?;
    tx.exec("UPDATE account SET password_hash = ?2 WHERE name = ?1", vals![&name, &hash])?;
    tx.exec("DELETE FROM invitation WHERE account_id = (SELECT id FROM account WHERE name = ?1)", vals![&name])?;
    audit_tx(tx, &name, "Einladung angenommen", &format!("Konto {name}"), None, None)?;
    Ok(name)
}

const TOKEN_COLUMNS: &str = "t.id, a.name, t.name, t.scope, t.created, t.expires, t.last_used, t.revoked";

fn token_from(r: &[Val]) -> crate::accounts::ApiToken {
    crate::accounts::ApiToken {
        id: r[0].int(),
        user: r[1].text(),
        name: r[2].text(),
        scope: crate::accounts::TokenScope::parse(&r[3].text()).unwrap_or(crate::accounts::TokenScope::Read),
        created: r[4].int(),
        expires: r[5].int(),
        last_used: r[6].opt_int(),
        revoked: r[7].int() != 0,
    }
}

/// A personal API token for an active account with a password (checked name and validity).
pub(crate) fn create_api_token(
    tx: &mut dyn Sql,
    actor: &str,
    user: &str,
    name: &str,
    scope: crate::accounts::TokenScope,
    valid_seconds: i64,
) -> Result<(String, crate::accounts::ApiToken)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
        return Err(StoreError::Account("Der Name des API-Schlüssels: 1 bis 80 Zeichen, ohne Steuerzeichen".into()));
    }
    if !(60..=crate::accounts::API_TOKEN_MAX_SECONDS).contains(&valid_seconds) {
        return Err(StoreError::Account("Ein API-Schlüssel gilt zwischen einer Minute und 366 Tagen".into()));
    }
    let Some(r) = tx.row("SELECT id, disabled, password_hash FROM account WHERE name = ?1", vals![user])? else {
        return Err(StoreError::Account(format!("Benutzer „{user}“ gibt es nicht")));
    };
    if r[1].int() != 0 || r[2].text() == crate::accounts::INVITED_HASH {
        return Err(StoreError::Account(format!("„{user}“ ist gesperrt oder hat die Einladung noch nicht angenommen")));
    }
    let secret = format!("{}{}", crate::accounts::API_TOKEN_PREFIX, crate::accounts::token().map_err(StoreError::Account)?);
    let now = common::unix_now();
    let id = tx.insert(
        "INSERT INTO api_token (account_id, name, token_hash, scope, created, expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        vals![r[0].int(), name, crate::accounts::token_hash(&secret), scope.as_str(), now, now + valid_seconds],
    )?;
    let days = valid_seconds / 86_400;
    audit_tx(
        tx,
        actor,
        "API-Schlüssel ausgestellt",
        &format!("Konto {user}: {name}"),
        None,
        Some(&format!("{}, {days} Tage gültig", scope.as_str())),
    )?;
    let token = api_tokens(tx, None, Some(id))?.pop().ok_or_else(|| StoreError::Corrupt("API-Schlüssel nicht gespeichert".into()))?;
    Ok((secret, token))
}

pub(crate) fn api_tokens(tx: &mut dyn Sql, user: Option<&str>, id: Option<i64>) -> Result<Vec<crate::accounts::ApiToken>> {
    // Only the given filters go into the statement (bound, never spliced).
    let mut sql = format!("SELECT {TOKEN_COLUMNS} FROM api_token t JOIN account a ON a.id = t.account_id WHERE 1 = 1");
    let mut params = Vec::new();
    if let Some(u) = user {
        params.push(Val::from(u));
        sql.push_str(&format!(" AND a.name = ?{}", params.len()));
    }
    if let Some(id) = id {
        params.push(Val::from(id));
        sql.push_str(&format!(" AND t.id = ?{}", params.len()));
    }
    sql.push_str(" ORDER BY t.id DESC");
    Ok(tx.rows(&sql, &params)?.iter().map(|r| token_from(r)).collect())
}

pub(crate) fn revoke_api_token(tx: &mut dyn Sql, actor: &str, user: Option<&str>, id: i64) -> Result<()> {
    let Some(t) = api_tokens(tx, user, Some(id))?.pop() else {
        return Err(StoreError::Account(format!(
            "API-Schlüssel {id} gibt es nicht{}",
            user.map(|u| format!(" für „{u}“")).unwrap_or_default()
        )));
    };
    if !t.revoked {
        tx.exec("UPDATE api_token SET revoked = 1 WHERE id = ?1", vals![id])?;
        audit_tx(tx, actor, "API-Schlüssel widerrufen", &format!("Konto {}: {} ({id})", t.user, t.name), None, None)?;
    }
    Ok(())
}

pub(crate) fn touch_api_token(tx: &mut dyn Sql, id: i64) -> Result<()> {
    tx.exec("UPDATE api_token SET last_used = ?2 WHERE id = ?1", vals![id, common::unix_now()])?;
    Ok(())
}

pub(crate) fn api_token(tx: &mut dyn Sql, secret: &str) -> Result<Option<(crate::accounts::User, crate::accounts::ApiToken)>> {
    let sql = format!(
        "SELECT {USER_COLUMNS}, {TOKEN_COLUMNS} FROM api_token t JOIN account a ON a.id = t.account_id
         WHERE t.token_hash = ?1 AND a.disabled = 0"
    );
    Ok(tx.row(&sql, vals![crate::accounts::token_hash(secret)])?.map(|r| (user_from(&r), token_from(&r[9..]))))
}

/// Disables an account (its sessions end; the last active administrator stays) or enables it.
pub(crate) fn set_user_disabled(tx: &mut dyn Sql, actor: &str, name: &str, disabled: bool) -> Result<()> {
    let Some(r) = tx.row("SELECT id, role FROM account WHERE name = ?1", vals![name])? else {
        return Err(StoreError::Account(format!("Benutzer „{name}“ gibt es nicht")));
    };
    let active_admins = tx.row("SELECT count(*) FROM account WHERE role = 'admin' AND disabled = 0", vals![])?.map_or(0, |r| r[0].int());
    if disabled && r[1].text() == "admin" && active_admins <= 1 {
        return Err(StoreError::Account(format!("„{name}“ ist das letzte aktive Administrationskonto und bleibt aktiv")));
    }
    tx.exec("UPDATE account SET disabled = ?2 WHERE id = ?1", vals![r[0].int(), disabled])?;
    if disabled {
        tx.exec("DELETE FROM session WHERE account_id = ?1", vals![r[0].int()])?;
    }
    let what = if disabled { "Konto gesperrt" } else { "Konto entsperrt" };
    audit_tx(tx, actor, what, &format!("Konto {name}"), None, None)
}

/// A new password (checked against the old one when given); ends the account's sessions.
pub(crate) fn set_password(tx: &mut dyn Sql, actor: &str, name: &str, old: Option<&str>, new: &str) -> Result<()> {
    let row = tx.row("SELECT id, password_hash FROM account WHERE name = ?1", vals![name])?;
    let hash = common::password_change(name, row.as_ref().map(|r| r[1].text()).as_deref(), old, new)?;
    let id = row.expect("checked")[0].int();
    tx.exec("UPDATE account SET password_hash = ?2 WHERE id = ?1", vals![id, &hash])?;
    tx.exec("DELETE FROM session WHERE account_id = ?1", vals![id])?;
    tx.exec("DELETE FROM invitation WHERE account_id = ?1", vals![id])?;
    let what = if old.is_some() { "Passwort geändert" } else { "Passwort zurückgesetzt" };
    audit_tx(tx, actor, what, &format!("Konto {name}"), None, None)
}

/// Limits an account to an area (tenant) or lifts the limit.
pub(crate) fn set_user_scope(tx: &mut dyn Sql, actor: &str, name: &str, scope: Option<&crate::accounts::Scope>) -> Result<()> {
    let Some(old) = tx.row("SELECT scope_level, scope_area FROM account WHERE name = ?1", vals![name])? else {
        return Err(StoreError::Account(format!("Benutzer „{name}“ gibt es nicht")));
    };
    if let Some(s) = scope {
        let (lid, _) = level_id(tx, &s.level)?;
        if !exists(tx, "SELECT EXISTS (SELECT 1 FROM area WHERE level_id = ?1 AND key = ?2 AND valid_to IS NULL)", vals![lid, &s.area])? {
            return Err(StoreError::Account(format!("Gebiet „{}“ gibt es auf Ebene „{}“ nicht", s.area, s.level)));
        }
    }
    tx.exec(
        "UPDATE account SET scope_level = ?2, scope_area = ?3 WHERE name = ?1",
        vals![name, scope.map(|s| &s.level), scope.map(|s| &s.area)],
    )?;
    let old = crate::accounts::Scope::from_columns(old[0].opt_text(), old[1].opt_text()).map(|s| s.to_string());
    let new = scope.map(|s| s.to_string());
    audit_tx(tx, actor, "Gebietsbeschränkung", &format!("Konto {name}"), old.as_deref(), new.as_deref())
}

pub(crate) fn set_user_internal(tx: &mut dyn Sql, actor: &str, name: &str, internal: bool) -> Result<()> {
    if tx.exec("UPDATE account SET reads_internal = ?2 WHERE name = ?1", vals![name, internal])? == 0 {
        return Err(StoreError::Account(format!("Benutzer „{name}“ gibt es nicht")));
    }
    let what = if internal { "interne Ergebnisse" } else { "veröffentlichte Ergebnisse" };
    audit_tx(tx, actor, "Lesezugriff", &format!("Konto {name}"), None, Some(what))
}

/// Removes an account and its sessions; the last administrator stays.
pub(crate) fn remove_user(tx: &mut dyn Sql, actor: &str, name: &str) -> Result<()> {
    let Some(role) = tx.row("SELECT role FROM account WHERE name = ?1", vals![name])?.map(|r| r[0].text()) else {
        return Err(StoreError::Account(format!("Benutzer „{name}“ gibt es nicht")));
    };
    let admins = tx.row("SELECT count(*) FROM account WHERE role = 'admin'", vals![])?.map_or(0, |r| r[0].int());
    if role == "admin" && admins <= 1 {
        return Err(StoreError::Account(format!("„{name}“ ist das letzte Administrationskonto und bleibt")));
    }
    tx.exec("DELETE FROM session WHERE account_id = (SELECT id FROM account WHERE name = ?1)", vals![name])?;
    tx.exec("DELETE FROM account WHERE name = ?1", vals![name])?;
    audit_tx(tx, actor, "Konto entfernt", &format!("Konto {name}"), Some(&role), None)
}

/// What a sign-in found before the password is checked: the account row, if the name exists
/// ([`USER_COLUMNS`] and the password hash; a disabled account's hash as an invited one's).
pub(crate) struct LoginLookup {
    account: Option<(Vec<Val>, String)>,
    keys: [String; 3],
    now: i64,
}

/// The first half of a sign-in, outside any transaction: refuses while throttled (see
/// [`common::login_wait`]), else looks the account up.
pub(crate) fn login_lookup(tx: &mut dyn Sql, name: &str, address: &str) -> Result<LoginLookup> {
    let now = common::unix_now();
    let window = now - common::FAILURE_WINDOW_S;
    let keys = common::failure_keys(name, address);
    let mut failures = |key: &str| -> Result<(i64, i64)> {
        let r = tx.row("SELECT count(*), coalesce(max(at), 0) FROM failed_login WHERE key = ?1 AND at > ?2", vals![key, window])?;
        Ok(r.map_or((0, 0), |r| (r[0].int(), r[1].int())))
    };
    let [account_key, pair_key, address_key] = &keys;
    let f = common::Failures { account: failures(account_key)?, pair: failures(pair_key)?, address: failures(address_key)?.0 };
    if let Some(wait) = common::login_wait(&f, now) {
        return Err(common::throttled(wait));
    }
    let account = tx.row(&format!("SELECT {USER_COLUMNS}, a.password_hash FROM account a WHERE a.name = ?1"), vals![name])?.map(|r| {
        // A disabled account signs in with no password at all.
        let hash = if r[7].int() != 0 { crate::accounts::INVITED_HASH.to_string() } else { r[9].text() };
        (r, hash)
    });
    Ok(LoginLookup { account, keys, now })
}

impl LoginLookup {
    /// Checks the password — for unknown names too (against a hash made once), so timing
    /// tells nothing. Slow by design (Argon2id): run it outside any transaction.
    pub fn verify(&self, password: &str) -> bool {
        crate::accounts::verify_password(self.account.as_ref().map_or(common::dummy_hash(), |a| a.1.as_str()), password)
            && self.account.is_some()
    }
}

/// The second half of a sign-in, in a transaction: a failure is counted; a success opens a
/// session (token and CSRF token), clears the failures and is audited.
pub(crate) fn login_record(
    tx: &mut dyn Sql,
    found: LoginLookup,
    ok: bool,
    name: &str,
    address: &str,
) -> Result<Option<(String, crate::accounts::Session)>> {
    let [account_key, pair_key, address_key] = &found.keys;
    let now = found.now;
    if !ok {
        tx.exec("INSERT INTO failed_login (key, at) VALUES (?1, ?2), (?3, ?2), (?4, ?2)", vals![account_key, now, address_key, pair_key])?;
        tx.exec("DELETE FROM failed_login WHERE at < ?1", vals![now - common::FAILURE_WINDOW_S - 86_400])?;
        return Ok(None);
    }
    let Some((row, _)) = found.account else { return Ok(None) };
    let user = user_from(&row);
    let token = crate::accounts::token().map_err(StoreError::Account)?;
    let csrf = crate::accounts::token().map_err(StoreError::Account)?;
    tx.exec(
        "INSERT INTO session (token_hash, account_id, csrf) VALUES (?1, ?2, ?3)",
        vals![crate::accounts::token_hash(&token), user.id, &csrf],
    )?;
    tx.exec("DELETE FROM failed_login WHERE key = ?1 OR key = ?2", vals![account_key, pair_key])?;
    tx.exec("INSERT INTO audit (who, action, object) VALUES (?1, 'Anmeldung', ?2)", vals![name, format!("Adresse {address}")])?;
    Ok(Some((token, crate::accounts::Session { user, csrf, seconds_left: crate::accounts::SESSION_SECONDS })))
}

/// The open session of a token: its account and CSRF token, while younger than
/// [`crate::accounts::SESSION_SECONDS`].
pub(crate) fn session(tx: &mut dyn Sql, token: &str) -> Result<Option<crate::accounts::Session>> {
    let age = tx.dialect().seconds_since("s.created");
    let sql = format!(
        "SELECT {USER_COLUMNS}, s.csrf, {age}
         FROM session s JOIN account a ON a.id = s.account_id WHERE s.token_hash = ?1 AND a.disabled = 0"
    );
    let Some(r) = tx.row(&sql, vals![crate::accounts::token_hash(token)])? else { return Ok(None) };
    let left = crate::accounts::SESSION_SECONDS - r[10].int();
    Ok((left > 0).then(|| crate::accounts::Session { user: user_from(&r), csrf: r[9].text(), seconds_left: left }))
}

/// Ends a session, or every session of its account.
pub(crate) fn logout(tx: &mut dyn Sql, token: &str, everywhere: bool) -> Result<()> {
    let hash = crate::accounts::token_hash(token);
    if everywhere {
        tx.exec("DELETE FROM session WHERE account_id = (SELECT account_id FROM session WHERE token_hash = ?1)", vals![hash])?;
    } else {
        tx.exec("DELETE FROM session WHERE token_hash = ?1", vals![hash])?;
    }
    Ok(())
}

/// Undoes a data import: removes the values it wrote and puts back those it replaced —
/// refused for area imports, for imports already undone, and while a later import replaced
/// its values (those first).
pub(crate) fn undo_import(tx: &mut dyn Sql, actor: &str, id: i64) -> Result<UndoReport> {
    let Some(r) = tx.row("SELECT kind, file, undoable, undone_at FROM import WHERE id = ?1", vals![id])? else {
        return Err(StoreError::Undo(format!("Import {id} gibt es nicht")));
    };
    let (kind, file, undoable, undone_at) = (r[0].text(), r[1].text(), r[2].int() != 0, r[3].opt_text());
    if let Some(at) = undone_at {
        return Err(StoreError::Undo(format!("Import {id} ({file}) wurde schon am {at} rückgängig gemacht")));
    }
    if kind != "data" {
        return Err(StoreError::Undo(format!(
            "Import {id} ({file}) ist ein Gebietsimport: Gebiete werden durch einen neuen Import der richtigen Datei korrigiert, nicht rückgängig gemacht"
        )));
    }
    if !undoable {
        return Err(StoreError::Undo(format!(
            "Import {id} ({file}) stammt aus einer älteren Quartier-Version, die ersetzte Werte nicht aufbewahrte: die frühere Lieferung erneut importieren"
        )));
    }
    // Later imports that replaced values of this one must be undone first.
    let later: Vec<String> = tx
        .rows(
            "SELECT DISTINCT i.id, i.file FROM value_replaced r JOIN import i ON i.id = r.import_id
             WHERE r.prev_import_id = ?1 AND i.undone_at IS NULL ORDER BY i.id DESC",
            vals![id],
        )?
        .iter()
        .map(|r| format!("{} ({})", r[0].int(), r[1].text()))
        .collect();
    if !later.is_empty() {
        return Err(StoreError::Undo(format!(
            "Import {id} ({file}): spätere Importe haben seine Werte ersetzt; zuerst diese rückgängig machen: {}",
            later.join(", ")
        )));
    }
    let removed = tx.exec("DELETE FROM value WHERE import_id = ?1", vals![id])? as usize;
    let restored = tx.exec(
        "INSERT INTO value (variable_id, year, area_id, value, symbol, import_id, meta_id)
         SELECT variable_id, year, area_id, value, symbol, prev_import_id, meta_id FROM value_replaced WHERE import_id = ?1",
        vals![id],
    )? as usize;
    let now = tx.dialect().now();
    tx.exec(&format!("UPDATE import SET undone_at = {now}, undone_by = ?2 WHERE id = ?1"), vals![id, actor])?;
    audit_tx(
        tx,
        actor,
        "Import rückgängig gemacht",
        &format!("Import {id} ({file})"),
        Some(&format!("{removed} Werte")),
        Some(&format!("{restored} frühere Werte wiederhergestellt")),
    )?;
    Ok(UndoReport { id, file, removed: removed - restored, restored })
}

// ---- Levels, areas, values ----

pub(crate) fn levels(tx: &mut dyn Sql) -> Result<Vec<Level>> {
    levels_at(tx, None)
}

/// The levels with the number of their areas valid at `at` (None: now).
pub(crate) fn levels_at(tx: &mut dyn Sql, at: Option<&str>) -> Result<Vec<Level>> {
    let sql = format!(
        "SELECT l.name, l.rank, (SELECT count(*) FROM area a WHERE a.level_id = l.id AND {}) FROM level l ORDER BY l.rank",
        valid_at(1)
    );
    Ok(tx
        .rows(&sql, vals![at])?
        .iter()
        .map(|r| Level { name: r[0].text(), rank: r[1].int() as usize, areas: r[2].int() as usize })
        .collect())
}

/// Sets the level order (new names are added; stored ones keep their areas), audited.
pub(crate) fn define_levels(tx: &mut dyn Sql, actor: &str, names: &[String]) -> Result<Vec<Level>> {
    let existing = levels(tx)?;
    let order = common::level_order(&existing, names)?;
    // Two passes through negative ranks keep the UNIQUE(rank) constraint satisfied.
    tx.exec("UPDATE level SET rank = -rank - 1", vals![])?;
    for (rank, name) in order.iter().enumerate() {
        if tx.exec("UPDATE level SET rank = ?1 WHERE name = ?2", vals![rank as i64, name])? == 0 {
            tx.exec("INSERT INTO level (name, rank) VALUES (?1, ?2)", vals![name, rank as i64])?;
        }
    }
    let (old, new) = common::level_change(&existing, &order);
    if old != new {
        audit_tx(tx, actor, "Ebenen festgelegt", "Gebietsebenen", Some(&old), Some(&new))?;
    }
    levels(tx)
}

/// The areas of one level, or of all levels (by rank), ordered by key.
pub(crate) fn areas(tx: &mut dyn Sql, level: Option<&str>, at: Option<&str>) -> Result<Vec<AreaRecord>> {
    if let Some(l) = level {
        level_id(tx, l)?;
    }
    let sql = format!(
        "SELECT a.key, a.name, l.name, l.rank, p.key, a.area_m2, CASE WHEN a.geom IS NULL THEN 0 ELSE 1 END
         FROM area a JOIN level l ON l.id = a.level_id LEFT JOIN area p ON p.id = a.parent_id
         WHERE {} AND (CAST(?1 AS TEXT) IS NULL OR l.name = ?1) ORDER BY l.rank, a.key {}",
        valid_at(2),
        tx.dialect().collate_bytes()
    );
    Ok(tx
        .rows(&sql, vals![level, at])?
        .iter()
        .map(|r| AreaRecord {
            key: r[0].text(),
            name: r[1].text(),
            level: r[2].text(),
            level_rank: r[3].int() as usize,
            parent: r[4].opt_text(),
            area_m2: r[5].opt_real(),
            has_geometry: r[6].int() != 0,
        })
        .collect())
}

pub(crate) fn geometries(tx: &mut dyn Sql, level: &str, at: Option<&str>) -> Result<Vec<(String, Vec<u8>)>> {
    let (lid, _) = level_id(tx, level)?;
    let sql = format!(
        "SELECT a.key, a.geom FROM area a WHERE a.level_id = ?1 AND a.geom IS NOT NULL AND {} ORDER BY a.key {}",
        valid_at(2),
        tx.dialect().collate_bytes()
    );
    Ok(tx.rows(&sql, vals![lid, at])?.iter().map(|r| (r[0].text(), r[1].opt_blob().unwrap_or_default())).collect())
}

pub(crate) fn source_geometries(tx: &mut dyn Sql, level: &str, at: Option<&str>) -> Result<Vec<crate::SourceGeometry>> {
    let (lid, _) = level_id(tx, level)?;
    let sql = format!(
        "SELECT a.key, a.source_crs, a.geom_source FROM area a WHERE a.level_id = ?1 AND a.geom IS NOT NULL AND {} ORDER BY a.key {}",
        valid_at(2),
        tx.dialect().collate_bytes()
    );
    Ok(tx.rows(&sql, vals![lid, at])?.iter().map(|r| (r[0].text(), r[1].opt_int().map(|e| e as u32), r[2].opt_blob())).collect())
}

/// Several area imports in one transaction (levels from the top), each in the import log.
pub(crate) fn apply_area_batches(tx: &mut dyn Sql, actor: &str, batches: &[AreaBatch], dry_run: bool) -> Result<Vec<AreaReport>> {
    let mut reports = Vec::with_capacity(batches.len());
    let mut done = Vec::with_capacity(batches.len());
    for b in batches {
        let (report, id, summary) = areas_in(tx, actor, b, dry_run)?;
        reports.push(report);
        done.push((id, summary));
    }
    record_imports(tx, &done)?;
    Ok(reports)
}

/// A data delivery ([`apply_data`]) with its entry in the import log.
pub(crate) fn import_data(tx: &mut dyn Sql, actor: &str, batch: &DataBatch, dry_run: bool) -> Result<DataReport> {
    let (report, import_id, summary) = apply_data(tx, actor, batch, dry_run)?;
    record_imports(tx, &[(import_id, summary)])?;
    Ok(report)
}

/// The variables with their years and counts of values and symbols (one pass over the values).
pub(crate) fn variable_kinds(tx: &mut dyn Sql) -> Result<Vec<(String, VariableKind)>> {
    let rows = tx.rows("SELECT key, kind FROM variable", vals![])?;
    Ok(rows.iter().map(|r| (r[0].text(), if r[1].text() == "rate" { VariableKind::Rate } else { VariableKind::Count })).collect())
}

pub(crate) fn variables(tx: &mut dyn Sql) -> Result<Vec<VariableRecord>> {
    let mut per: HashMap<i64, (Vec<i32>, usize, usize)> = HashMap::new();
    tx.each(
        "SELECT variable_id, year, count(*), count(symbol) FROM value GROUP BY variable_id, year ORDER BY variable_id, year",
        vals![],
        &mut |r| {
            let e = per.entry(r[0].int()).or_default();
            e.0.push(r[1].int() as i32);
            e.1 += r[2].int() as usize;
            e.2 += r[3].int() as usize;
            Ok(())
        },
    )?;
    let sql = format!(
        "SELECT id, key, label, unit, kind, source, reference_date, description FROM variable ORDER BY key {}",
        tx.dialect().collate_bytes()
    );
    Ok(tx
        .rows(&sql, vals![])?
        .iter()
        .map(|r| {
            let (years, values, symbols) = per.remove(&r[0].int()).unwrap_or_default();
            VariableRecord {
                key: r[1].text(),
                label: r[2].text(),
                unit: r[3].text(),
                kind: if r[4].text() == "rate" { VariableKind::Rate } else { VariableKind::Count },
                source: r[5].text(),
                reference_date: r[6].text(),
                description: r[7].text(),
                years,
                values,
                symbols,
            }
        })
        .collect())
}

/// Stored values, filtered, ordered by variable, year, level and area.
pub(crate) fn values(tx: &mut dyn Sql, f: &ValueFilter, at: Option<&str>) -> Result<Vec<ValueRecord>> {
    if let Some(l) = &f.level {
        level_id(tx, l)?;
    }
    // Only the given filters go into the statement (each bound, never spliced): with
    // "?1 IS NULL OR …" SQLite cannot use the primary key (variable, year) and scans all values.
    let mut sql = String::from(
        "SELECT a.key, l.name, x.year, v.key, x.value, x.symbol, m.ref_date, m.quality, m.method
         FROM value x JOIN variable v ON v.id = x.variable_id JOIN area a ON a.id = x.area_id JOIN level l ON l.id = a.level_id
         LEFT JOIN value_meta m ON m.id = x.meta_id
         WHERE ",
    );
    sql.push_str(&valid_at(5));
    for (present, clause, ty) in [
        (f.variable.is_some(), " AND v.key = ?1", "TEXT"),
        (f.year.is_some(), " AND x.year = ?2", "BIGINT"),
        (f.level.is_some(), " AND l.name = ?3", "TEXT"),
        (f.area.is_some(), " AND a.key = ?4", "TEXT"),
    ] {
        if present {
            sql.push_str(clause);
        } else {
            // Keep every parameter referenced (typed), so the numbered binding stays valid.
            sql.push_str(&format!(" AND CAST({} AS {ty}) IS NULL", &clause[clause.len() - 2..]));
        }
    }
    let c = tx.dialect().collate_bytes();
    sql.push_str(&format!(" ORDER BY v.key {c}, x.year, l.rank, a.key {c}"));
    let mut out = Vec::new();
    tx.each(&sql, vals![f.variable.as_ref(), f.year, f.level.as_ref(), f.area.as_ref(), at], &mut |r| {
        out.push(ValueRecord {
            area: r[0].text(),
            level: r[1].text(),
            year: r[2].int() as i32,
            variable: r[3].text(),
            cell: cell_from_sql(r[4].opt_real(), r[5].opt_text()),
            reference_date: r[6].opt_text(),
            quality: r[7].opt_text(),
            method: r[8].opt_text(),
        });
        Ok(())
    })?;
    Ok(out)
}

/// The indicator catalogue in its stored order.
pub(crate) fn catalogue(tx: &mut dyn Sql) -> Result<quartier_core::indicator::Catalogue> {
    let mut indicators = Vec::new();
    for r in tx.rows("SELECT id, definition FROM indicator ORDER BY position", vals![])? {
        indicators.push(serde_json::from_str(&r[1].text()).map_err(|e| StoreError::Corrupt(format!("Indikator {}: {e}", r[0].text())))?);
    }
    Ok(quartier_core::indicator::Catalogue { indicators })
}

/// The estimated cells of the given variables: (variable, year, hierarchy node).
pub(crate) fn estimated_cells(
    tx: &mut dyn Sql,
    variables: &[String],
    at: Option<&str>,
) -> Result<quartier_core::indicator::eval::Estimated> {
    let mut out = quartier_core::indicator::eval::Estimated::new();
    let sql = format!(
        "SELECT l.rank, a.key, x.year FROM value x JOIN variable v ON v.id = x.variable_id JOIN value_meta m ON m.id = x.meta_id
         JOIN area a ON a.id = x.area_id JOIN level l ON l.id = a.level_id WHERE v.key = ?1 AND m.quality = 's' AND {}",
        valid_at(2)
    );
    for var in variables {
        tx.each(&sql, vals![var, at], &mut |r| {
            out.insert((var.clone(), r[2].int() as i32, node_key(r[0].int() as usize, &r[1].text())));
            Ok(())
        })?;
    }
    Ok(out)
}

/// The cells of the given variables per (variable, year), keyed by hierarchy node.
pub(crate) fn cells(tx: &mut dyn Sql, variables: &[String], at: Option<&str>) -> Result<CellTable> {
    let mut out: CellTable = HashMap::new();
    let sql = format!(
        "SELECT l.rank, a.key, x.year, x.value, x.symbol FROM value x JOIN variable v ON v.id = x.variable_id
         JOIN area a ON a.id = x.area_id JOIN level l ON l.id = a.level_id WHERE v.key = ?1 AND {}",
        valid_at(2)
    );
    for var in variables {
        tx.each(&sql, vals![var, at], &mut |r| {
            let cell = cell_from_sql(r[3].opt_real(), r[4].opt_text());
            out.entry((var.clone(), r[2].int() as i32)).or_default().insert(node_key(r[0].int() as usize, &r[1].text()), cell);
            Ok(())
        })?;
    }
    Ok(out)
}

/// The years that have values of any of the variables.
pub(crate) fn value_years(tx: &mut dyn Sql, variables: &[String]) -> Result<Vec<i32>> {
    if variables.is_empty() {
        return Ok(Vec::new());
    }
    // One query for all variables (placeholders only; the keys are bound, never spliced). A
    // loose index scan: per variable, the next year is one seek in the primary key
    // (variable, year, area), so ten years of a million values cost ten seeks, not a scan.
    let marks: Vec<String> = (1..=variables.len()).map(|i| format!("?{i}")).collect();
    let sql = format!(
        "WITH RECURSIVE y(variable_id, year) AS (
             SELECT v.id, (SELECT min(x.year) FROM value x WHERE x.variable_id = v.id) FROM variable v WHERE v.key IN ({})
             UNION ALL
             SELECT y.variable_id, (SELECT min(x.year) FROM value x WHERE x.variable_id = y.variable_id AND x.year > y.year)
             FROM y WHERE y.year IS NOT NULL
         )
         SELECT DISTINCT year FROM y WHERE year IS NOT NULL ORDER BY year",
        marks.join(",")
    );
    let params: Vec<Val> = variables.iter().map(Val::from).collect();
    Ok(tx.rows(&sql, &params)?.iter().map(|r| r[0].int() as i32).collect())
}

/// The dates from which later boundary sets are valid (every level), oldest first.
pub(crate) fn version_dates(tx: &mut dyn Sql) -> Result<Vec<String>> {
    Ok(tx
        .rows("SELECT DISTINCT valid_from FROM area WHERE valid_from IS NOT NULL ORDER BY valid_from", vals![])?
        .iter()
        .map(|r| r[0].text())
        .collect())
}

/// The boundary sets of each level (or one): the dates at which areas began or ceased to be
/// valid cut a level's history into sets; per set its areas, those new in it, those it
/// retired, and the values stored on its areas.
pub(crate) fn area_versions(tx: &mut dyn Sql, level: Option<&str>) -> Result<Vec<AreaVersion>> {
    if let Some(l) = level {
        level_id(tx, l)?;
    }
    // Per area: level, valid from, valid to, values.
    let rows = tx.rows(
        "SELECT l.name, l.rank, a.valid_from, a.valid_to, (SELECT count(*) FROM value x WHERE x.area_id = a.id)
         FROM area a JOIN level l ON l.id = a.level_id WHERE CAST(?1 AS TEXT) IS NULL OR l.name = ?1 ORDER BY l.rank",
        vals![level],
    )?;
    let mut out = Vec::new();
    let mut i = 0;
    while i < rows.len() {
        let name = rows[i][0].text();
        let j = rows[i..].iter().position(|r| r[0].text() != name).map_or(rows.len(), |p| i + p);
        let spans: Vec<(Option<String>, Option<String>, usize)> =
            rows[i..j].iter().map(|r| (r[2].opt_text(), r[3].opt_text(), r[4].int() as usize)).collect();
        let mut starts: BTreeSet<Option<String>> = spans.iter().map(|s| s.0.clone()).collect();
        starts.extend(spans.iter().filter_map(|s| s.1.clone()).map(Some));
        let starts: Vec<Option<String>> = starts.into_iter().collect();
        for (k, from) in starts.iter().enumerate() {
            let to = starts.get(k + 1).cloned().flatten();
            let at = |s: &(Option<String>, Option<String>, usize), d: &Option<String>| {
                // No date: the start, before every date.
                s.0.as_deref().is_none_or(|f| d.as_deref().is_some_and(|d| f <= d))
                    && s.1.as_deref().is_none_or(|t| d.as_deref().is_none_or(|d| d < t))
            };
            let members: Vec<_> = spans.iter().filter(|s| at(s, from)).collect();
            out.push(AreaVersion {
                level: name.clone(),
                valid_from: from.clone(),
                valid_to: to,
                areas: members.len(),
                new: if k == 0 { members.len() } else { members.iter().filter(|s| s.0 == *from).count() },
                retired: if k == 0 { 0 } else { spans.iter().filter(|s| s.1 == *from).count() },
                values: members.iter().map(|s| s.2).sum(),
            });
        }
        i = j;
    }
    Ok(out)
}

/// The condition "area `a` is valid at ?N" (None: the current set) as SQL with the parameter
/// number `n`: bound, never spliced.
fn valid_at(n: usize) -> String {
    format!(
        "((CAST(?{n} AS TEXT) IS NULL AND a.valid_to IS NULL) OR (CAST(?{n} AS TEXT) IS NOT NULL AND (a.valid_from IS NULL OR a.valid_from <= ?{n}) AND (a.valid_to IS NULL OR a.valid_to > ?{n})))"
    )
}

/// The areas of a level's boundary set valid at `at` (None: the current one).
pub(crate) fn version_areas(tx: &mut dyn Sql, level: &str, at: Option<&str>) -> Result<Vec<VersionArea>> {
    let (lid, _) = level_id(tx, level)?;
    let sql = format!(
        "SELECT a.id, a.key, a.name, a.geom FROM area a WHERE a.level_id = ?1 AND {} ORDER BY a.key {}",
        valid_at(2),
        tx.dialect().collate_bytes()
    );
    Ok(tx
        .rows(&sql, vals![lid, at])?
        .iter()
        .map(|r| VersionArea { id: r[0].int(), key: r[1].text(), name: r[2].text(), geometry: r[3].opt_blob() })
        .collect())
}

/// Values stored on the areas of a level's boundary set valid at `at` (None: the current):
/// (area key, variable, year, cell, carried — whether it came over a crosswalk).
pub(crate) fn version_values(tx: &mut dyn Sql, level: &str, at: Option<&str>, variables: &[String]) -> Result<Vec<VersionValue>> {
    let (lid, _) = level_id(tx, level)?;
    let sql = format!(
        "SELECT a.key, x.year, x.value, x.symbol, m.method FROM value x JOIN variable v ON v.id = x.variable_id
         JOIN area a ON a.id = x.area_id LEFT JOIN value_meta m ON m.id = x.meta_id
         WHERE v.key = ?1 AND a.level_id = ?2 AND {}",
        valid_at(3)
    );
    let mut out = Vec::new();
    for var in variables {
        tx.each(&sql, vals![var, lid, at], &mut |r| {
            out.push((
                r[0].text(),
                var.clone(),
                r[1].int() as i32,
                cell_from_sql(r[2].opt_real(), r[3].opt_text()),
                r[4].opt_text().is_some(),
            ));
            Ok(())
        })?;
    }
    Ok(out)
}

/// The date from which each boundary set of the level is valid: is `date` (None: the first
/// set) the start of one?
fn check_version_date(tx: &mut dyn Sql, level: &str, date: Option<&str>) -> Result<()> {
    let versions = area_versions(tx, Some(level))?;
    if versions.iter().any(|v| v.valid_from.as_deref() == date) {
        return Ok(());
    }
    Err(StoreError::InvalidAreas(vec![format!(
        "Die Ebene {level} hat keinen Gebietsstand ab {}; vorhanden: {}",
        date.unwrap_or("Anfang"),
        versions.iter().map(|v| v.valid_from.clone().unwrap_or_else(|| "Anfang".into())).collect::<Vec<_>>().join(", ")
    )]))
}

/// Stores a crosswalk under its name (replacing one of the same name). Its keys must be areas
/// of the two boundary sets; problems name the keys.
pub(crate) fn save_crosswalk(tx: &mut dyn Sql, actor: &str, c: &CrosswalkRecord) -> Result<()> {
    let (lid, _) = level_id(tx, &c.level)?;
    check_version_date(tx, &c.level, c.from.as_deref())?;
    check_version_date(tx, &c.level, Some(&c.to))?;
    if c.from.as_deref().is_some_and(|f| f >= c.to.as_str()) {
        return Err(StoreError::InvalidAreas(vec![format!(
            "Ein Umstieg führt von einem älteren zu einem neueren Gebietsstand, nicht von {} zu {}",
            c.from.as_deref().unwrap_or("Anfang"),
            c.to
        )]));
    }
    let ids = |tx: &mut dyn Sql, at: Option<&str>| -> Result<HashMap<String, i64>> {
        Ok(version_areas(tx, &c.level, at)?.into_iter().map(|a| (a.key, a.id)).collect())
    };
    // The set valid just before `to` is the old one when `from` is the first set.
    let old_at = c.from.clone().unwrap_or_else(|| "0001-01-01".into());
    let (old, new) = (ids(tx, Some(&old_at))?, ids(tx, Some(&c.to))?);
    let mut problems = Vec::new();
    for (o, n, _) in &c.links {
        if !old.contains_key(o) {
            problems.push(format!(
                "„{o}“ ist kein Gebiet des Gebietsstands ab {} der Ebene {}",
                c.from.as_deref().unwrap_or("Anfang"),
                c.level
            ));
        }
        if !new.contains_key(n) {
            problems.push(format!("„{n}“ ist kein Gebiet des Gebietsstands ab {} der Ebene {}", c.to, c.level));
        }
        if problems.len() >= 20 {
            break;
        }
    }
    if !problems.is_empty() {
        problems.dedup();
        return Err(StoreError::InvalidAreas(problems));
    }
    let before = tx.row("SELECT id FROM crosswalk WHERE name = ?1", vals![&c.name])?.map(|r| r[0].int());
    if let Some(id) = before {
        tx.exec("DELETE FROM crosswalk_link WHERE crosswalk_id = ?1", vals![id])?;
        tx.exec("DELETE FROM crosswalk WHERE id = ?1", vals![id])?;
    }
    let id = tx.insert(
        "INSERT INTO crosswalk (name, level_id, from_date, to_date, method, source, who) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        vals![&c.name, lid, c.from.as_deref(), &c.to, &c.method, &c.source, actor],
    )?;
    for (o, n, w) in &c.links {
        tx.exec(
            "INSERT INTO crosswalk_link (crosswalk_id, old_area_id, new_area_id, weight) VALUES (?1, ?2, ?3, ?4)",
            vals![id, old[o], new[n], *w],
        )?;
    }
    let what = format!("{} Gewichte, {} ({})", c.links.len(), c.method, c.source);
    audit_tx(
        tx,
        actor,
        if before.is_some() { "Umstieg ersetzt" } else { "Umstieg gespeichert" },
        &format!("Umstieg {}", c.name),
        None,
        Some(&what),
    )
}

/// The stored crosswalks (one by name, or all), with their weights by key.
pub(crate) fn crosswalks(tx: &mut dyn Sql, name: Option<&str>) -> Result<Vec<CrosswalkRecord>> {
    let heads = tx.rows(
        "SELECT c.id, c.name, l.name, c.from_date, c.to_date, c.method, c.source, c.created, c.who
         FROM crosswalk c JOIN level l ON l.id = c.level_id WHERE CAST(?1 AS TEXT) IS NULL OR c.name = ?1 ORDER BY l.rank, c.to_date, c.name",
        vals![name],
    )?;
    let mut out = Vec::new();
    for h in heads {
        let c = tx.dialect().collate_bytes();
        let links = tx
            .rows(
                &format!(
                    "SELECT o.key, n.key, k.weight FROM crosswalk_link k JOIN area o ON o.id = k.old_area_id JOIN area n ON n.id = k.new_area_id
                     WHERE k.crosswalk_id = ?1 ORDER BY o.key {c}, n.key {c}"
                ),
                vals![h[0].int()],
            )?
            .iter()
            .map(|r| (r[0].text(), r[1].text(), r[2].opt_real().unwrap_or_default()))
            .collect();
        out.push(CrosswalkRecord {
            name: h[1].text(),
            level: h[2].text(),
            from: h[3].opt_text(),
            to: h[4].text(),
            method: h[5].text(),
            source: h[6].text(),
            created: h[7].text(),
            who: h[8].text(),
            links,
        });
    }
    Ok(out)
}

pub(crate) fn remove_crosswalk(tx: &mut dyn Sql, actor: &str, name: &str) -> Result<()> {
    let Some(id) = tx.row("SELECT id FROM crosswalk WHERE name = ?1", vals![name])?.map(|r| r[0].int()) else {
        return Err(StoreError::InvalidAreas(vec![format!("Einen Umstieg „{name}“ gibt es nicht")]));
    };
    tx.exec("DELETE FROM crosswalk_link WHERE crosswalk_id = ?1", vals![id])?;
    tx.exec("DELETE FROM crosswalk WHERE id = ?1", vals![id])?;
    audit_tx(tx, actor, "Umstieg gelöscht", &format!("Umstieg {name}"), None, None)
}

/// Values carried over a crosswalk onto the current areas of `level`, stored as one data
/// import (undoable like any other) with the quality flag `s` (estimated) and the method in
/// their metadata. A delivered value of the same area, variable and year is never replaced;
/// an earlier carried one only with `replace`.
pub(crate) fn store_carried(tx: &mut dyn Sql, actor: &str, level: &str, c: &CarriedValues, dry_run: bool) -> Result<CarryReport> {
    let (lid, _) = level_id(tx, level)?;
    let areas: HashMap<String, i64> = tx
        .rows("SELECT key, id FROM area WHERE level_id = ?1 AND valid_to IS NULL", vals![lid])?
        .iter()
        .map(|r| (r[0].text(), r[1].int()))
        .collect();
    let import_id = new_import(tx, "data", &format!("Umstieg {}", c.crosswalk), actor)?;
    let meta = match tx.row("SELECT id FROM value_meta WHERE ref_date IS NULL AND quality = 's' AND method = ?1", vals![&c.method])? {
        Some(r) => r[0].int(),
        None => tx.insert("INSERT INTO value_meta (ref_date, quality, method) VALUES (NULL, 's', ?1)", vals![&c.method])?,
    };
    let mut var_ids: HashMap<String, i64> =
        tx.rows("SELECT key, id FROM variable", vals![])?.iter().map(|r| (r[0].text(), r[1].int())).collect();
    let mut report = CarryReport { import_id, dry_run, ..Default::default() };
    let mut inserts: Vec<NewValue> = Vec::new();
    let current_ids: HashSet<i64> = areas.values().copied().collect();
    type Stored = (Option<f64>, Option<String>, i64, Option<i64>, Option<String>);
    let mut stored: HashMap<i64, HashMap<(i32, i64), Stored>> = HashMap::new();
    for (key, var, year, v) in &c.values {
        let Some(&aid) = areas.get(key) else {
            return Err(StoreError::InvalidAreas(vec![format!("„{key}“ ist kein Gebiet des heutigen Gebietsstands der Ebene {level}")]));
        };
        let vid = match var_ids.get(var) {
            Some(id) => *id,
            None => {
                let id = tx.insert("INSERT INTO variable (key) VALUES (?1)", vals![var])?;
                var_ids.insert(var.clone(), id);
                id
            }
        };
        // The stored values of the variable on the level's current areas, read once per variable.
        if let std::collections::hash_map::Entry::Vacant(slot) = stored.entry(vid) {
            let mut mine = HashMap::new();
            tx.each(
                "SELECT x.year, x.area_id, x.value, x.symbol, x.import_id, x.meta_id, m.method FROM value x
                 LEFT JOIN value_meta m ON m.id = x.meta_id WHERE x.variable_id = ?1",
                vals![vid],
                &mut |r| {
                    if current_ids.contains(&r[1].int()) {
                        mine.insert(
                            (r[0].int() as i32, r[1].int()),
                            (r[2].opt_real(), r[3].opt_text(), r[4].int(), r[5].opt_int(), r[6].opt_text()),
                        );
                    }
                    Ok(())
                },
            )?;
            slot.insert(mine);
        }
        match stored[&vid].get(&(*year, aid)) {
            None => {
                inserts.push((vid, *year, aid, Some(*v), None, Some(meta)));
                report.inserted += 1;
            }
            Some((.., method)) if method.is_none() || !c.replace => report.kept_delivered += usize::from(method.is_none()),
            Some((ov, os, by, om, _)) => {
                tx.exec(
                    "INSERT INTO value_replaced (import_id, variable_id, year, area_id, value, symbol, prev_import_id, meta_id)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    vals![import_id, vid, *year, aid, *ov, os.as_deref(), *by, *om],
                )?;
                tx.exec(
                    "UPDATE value SET value = ?4, symbol = NULL, import_id = ?5, meta_id = ?6 WHERE variable_id = ?1 AND year = ?2 AND area_id = ?3",
                    vals![vid, *year, aid, *v, import_id, meta],
                )?;
                report.replaced += 1;
            }
        }
    }
    tx.insert_values(&inserts, import_id)?;
    let summary = format!(
        "Umstieg {}: {} Werte geschätzt übernommen, {} ersetzt, {} gelieferte Werte behalten ({})",
        c.crosswalk, report.inserted, report.replaced, report.kept_delivered, c.method
    );
    record_imports(tx, &[(import_id, summary)])?;
    Ok(report)
}
