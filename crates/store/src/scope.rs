//! Tenants: one installation serves a Kreis and its municipalities. An account limited to an
//! area (its [`Scope`], e.g. one Kommune) sees every area on that area's level and above — the
//! shared Kreis view, where the municipalities compare — and below it only what lies inside
//! its area. It changes only data inside its area, and no shared definitions.
//!
//! Computations always run on the whole data (a Kreis total is the sum of all its
//! municipalities, an index standardises over every rated area); the scope filters what is
//! shown ([`Visibility`]) and what may be written ([`ScopedStore`]).

use crate::accounts::Scope;
use crate::model::node_key;
use crate::{Result, Store, StoreError};
use std::collections::{HashMap, HashSet};

/// What a scoped account may see and change.
#[derive(Debug, Clone)]
pub struct Visibility {
    scope: Scope,
    /// Rank of the scope's level.
    rank: usize,
    /// Level name → rank.
    ranks: HashMap<String, usize>,
    /// Node keys (`rank/key`) of the scope's area and everything below it.
    inside: HashSet<String>,
}

impl Visibility {
    pub fn new(store: &dyn Store, scope: &Scope) -> Result<Visibility> {
        let ranks: HashMap<String, usize> = store.levels()?.into_iter().map(|l| (l.name, l.rank)).collect();
        let rank = *ranks
            .get(&scope.level)
            .ok_or_else(|| StoreError::Account(format!("Gebietsbeschränkung {scope}: Ebene „{}“ gibt es nicht mehr", scope.level)))?;
        // The areas of every boundary set: an area retired by a boundary change stays inside
        // the scope it lay in (keys are nodes by level and key, so a successor under the same
        // key is the same node).
        let mut nodes = store.hierarchy()?;
        let dates = store.version_dates()?;
        if !dates.is_empty() {
            let shown = store.boundary_date();
            for d in std::iter::once("0001-01-01".to_string()).chain(dates) {
                store.set_boundary_date(Some(d));
                nodes.extend(store.hierarchy()?);
            }
            store.set_boundary_date(shown);
        }
        let root = node_key(rank, &scope.area);
        if !nodes.iter().any(|n| n.key == root) {
            return Err(StoreError::Account(format!("Gebietsbeschränkung {scope}: das Gebiet gibt es nicht mehr")));
        }
        let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
        for n in &nodes {
            if let Some(p) = &n.parent {
                children.entry(p.as_str()).or_default().push(n.key.as_str());
            }
        }
        let mut inside = HashSet::new();
        let mut stack = vec![root.as_str()];
        while let Some(k) = stack.pop() {
            if inside.insert(k.to_string()) {
                stack.extend(children.get(k).into_iter().flatten().copied());
            }
        }
        Ok(Visibility { scope: scope.clone(), rank, ranks, inside })
    }

    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// Whether the area is shown: every area on the scope's level and above, below it only
    /// those inside. Unknown levels are not shown.
    pub fn visible(&self, level: &str, key: &str) -> bool {
        self.ranks.get(level).is_some_and(|&r| self.visible_rank(r, key))
    }

    pub fn visible_rank(&self, rank: usize, key: &str) -> bool {
        rank <= self.rank || self.inside.contains(&node_key(rank, key))
    }

    /// Whether the area is the scope's area or lies inside it (may be changed).
    pub fn inside(&self, level: &str, key: &str) -> bool {
        self.ranks.get(level).is_some_and(|&r| self.inside.contains(&node_key(r, key)))
    }

    /// Whether `key` is inside on any level (a delivery without a level).
    pub fn inside_any_level(&self, key: &str) -> bool {
        self.ranks.values().any(|&r| self.inside.contains(&node_key(r, key)))
    }
}

fn shared(scope: &Scope) -> StoreError {
    StoreError::Account(format!(
        "Dieses Konto ist auf {scope} beschränkt: Ebenen, Gebiete, Katalog, Indizes, Einstellungen, Importe anderer und Konten ändert die Sozialplanung des Kreises"
    ))
}

/// A store for a scoped account's changes: reads pass through whole (changes are checked
/// against all data), writes are checked against the scope.
pub struct ScopedStore<S: Store> {
    inner: S,
    view: Visibility,
}

impl<S: Store> ScopedStore<S> {
    pub fn new(inner: S, view: Visibility) -> ScopedStore<S> {
        ScopedStore { inner, view }
    }

    fn outside(&self, what: &str) -> StoreError {
        StoreError::Account(format!("{what} liegt außerhalb von {} (die Gebietsbeschränkung dieses Kontos)", self.view.scope))
    }
}

impl<S: Store> Store for ScopedStore<S> {
    fn levels(&self) -> Result<Vec<crate::Level>> {
        self.inner.levels()
    }
    fn define_levels(&mut self, _: &[String]) -> Result<Vec<crate::Level>> {
        Err(shared(&self.view.scope))
    }
    fn areas(&self, level: Option<&str>) -> Result<Vec<crate::AreaRecord>> {
        self.inner.areas(level)
    }
    fn area_versions(&self, level: Option<&str>) -> Result<Vec<crate::AreaVersion>> {
        self.inner.area_versions(level)
    }
    fn estimated_cells(&self, variables: &[String]) -> Result<quartier_core::indicator::eval::Estimated> {
        self.inner.estimated_cells(variables)
    }
    fn version_dates(&self) -> Result<Vec<String>> {
        self.inner.version_dates()
    }
    fn set_boundary_date(&self, date: Option<String>) {
        self.inner.set_boundary_date(date)
    }
    fn boundary_date(&self) -> Option<String> {
        self.inner.boundary_date()
    }
    fn version_areas(&self, level: &str, at: Option<&str>) -> Result<Vec<crate::VersionArea>> {
        self.inner.version_areas(level, at)
    }
    /// Only values of areas the scope shows.
    fn version_values(&self, level: &str, at: Option<&str>, variables: &[String]) -> Result<Vec<crate::VersionValue>> {
        Ok(self.inner.version_values(level, at, variables)?.into_iter().filter(|v| self.view.visible(level, &v.0)).collect())
    }
    fn save_crosswalk(&mut self, _: &crate::CrosswalkRecord, _: bool) -> Result<()> {
        Err(shared(&self.view.scope))
    }
    fn crosswalks(&self, name: Option<&str>) -> Result<Vec<crate::CrosswalkRecord>> {
        self.inner.crosswalks(name)
    }
    fn remove_crosswalk(&mut self, _: &str) -> Result<()> {
        Err(shared(&self.view.scope))
    }
    fn store_carried(&mut self, _: &str, _: &crate::CarriedValues, _: bool) -> Result<crate::CarryReport> {
        Err(shared(&self.view.scope))
    }
    fn geometries(&self, level: &str) -> Result<Vec<(String, Vec<u8>)>> {
        self.inner.geometries(level)
    }
    fn source_geometries(&self, level: &str) -> Result<Vec<crate::SourceGeometry>> {
        self.inner.source_geometries(level)
    }
    fn apply_areas(&mut self, _: &crate::AreaBatch, _: bool) -> Result<crate::AreaReport> {
        Err(shared(&self.view.scope))
    }
    fn apply_area_batches(&mut self, _: &[crate::AreaBatch], _: bool) -> Result<Vec<crate::AreaReport>> {
        Err(shared(&self.view.scope))
    }
    /// Only rows of areas inside the scope (the whole delivery is refused otherwise, naming
    /// the lines).
    fn apply_data(&mut self, batch: &crate::DataBatch, dry_run: bool) -> Result<crate::DataReport> {
        let outside: Vec<String> = batch
            .rows
            .iter()
            .filter(|r| match &batch.level {
                Some(l) => !self.view.inside(l, &r.area),
                None => !self.view.inside_any_level(&r.area),
            })
            .take(20)
            .map(|r| format!("Zeile {}: Gebiet „{}“ liegt außerhalb von {}", r.at.line, r.area, self.view.scope))
            .collect();
        if !outside.is_empty() {
            return Err(StoreError::InvalidAreas(outside));
        }
        self.inner.apply_data(batch, dry_run)
    }
    fn variables(&self) -> Result<Vec<crate::VariableRecord>> {
        self.inner.variables()
    }
    fn variable_kinds(&self) -> Result<Vec<(String, quartier_core::validate::VariableKind)>> {
        self.inner.variable_kinds()
    }
    fn values(&self, filter: &crate::ValueFilter) -> Result<Vec<crate::ValueRecord>> {
        self.inner.values(filter)
    }
    fn hierarchy(&self) -> Result<Vec<quartier_core::hierarchy::AreaNode>> {
        self.inner.hierarchy()
    }
    fn catalogue(&self) -> Result<quartier_core::indicator::Catalogue> {
        self.inner.catalogue()
    }
    fn save_catalogue(&mut self, _: &quartier_core::indicator::Catalogue, _: bool) -> Result<crate::CatalogueReport> {
        Err(shared(&self.view.scope))
    }
    fn cells(&self, variables: &[String]) -> Result<crate::CellTable> {
        self.inner.cells(variables)
    }
    fn value_years(&self, variables: &[String]) -> Result<Vec<i32>> {
        self.inner.value_years(variables)
    }
    fn frozen_breaks(&self, indicator: &str, level: &str) -> Result<Option<(String, Vec<f64>)>> {
        self.inner.frozen_breaks(indicator, level)
    }
    fn freeze_breaks(&mut self, _: &str, _: &str, _: &str, _: &[f64]) -> Result<()> {
        Err(shared(&self.view.scope))
    }
    fn index_definitions(&self) -> Result<Vec<(String, String)>> {
        self.inner.index_definitions()
    }
    fn save_index_definition(&mut self, _: &str, _: &str) -> Result<()> {
        Err(shared(&self.view.scope))
    }
    fn imports(&self) -> Result<Vec<crate::ImportRecord>> {
        self.inner.imports()
    }
    fn undo_import(&mut self, _: i64) -> Result<crate::UndoReport> {
        Err(shared(&self.view.scope))
    }
    fn setting(&self, key: &str) -> Result<Option<String>> {
        self.inner.setting(key)
    }
    fn set_setting(&mut self, _: &str, _: &str) -> Result<()> {
        Err(shared(&self.view.scope))
    }
    fn remove_setting(&mut self, _: &str) -> Result<bool> {
        Err(shared(&self.view.scope))
    }
    fn save_offers(&mut self, batch: &crate::offers::Offers, dry_run: bool) -> Result<crate::offers::OfferReport> {
        self.inner.save_offers(batch, dry_run)
    }
    fn offers(&self) -> Result<crate::offers::Offers> {
        self.inner.offers()
    }
    fn save_conference(&mut self, c: &crate::action::Conference) -> Result<crate::action::Conference> {
        if !self.view.inside(&c.level, &c.area) {
            return Err(self.outside(&format!("Gebiet „{}“", c.area)));
        }
        self.inner.save_conference(c)
    }
    fn conferences(&self, area: Option<(&str, &str)>) -> Result<Vec<crate::action::Conference>> {
        self.inner.conferences(area)
    }
    fn save_measure(&mut self, m: &crate::action::Measure) -> Result<crate::action::Measure> {
        if let Some(a) = m.areas.iter().find(|a| !self.view.inside(&m.level, a)) {
            return Err(self.outside(&format!("Gebiet „{a}“")));
        }
        self.inner.save_measure(m)
    }
    fn measures(&self) -> Result<Vec<crate::action::Measure>> {
        self.inner.measures()
    }
    fn add_user(&mut self, _: &str, _: crate::accounts::Role, _: Option<&str>, _: &str) -> Result<crate::accounts::User> {
        Err(shared(&self.view.scope))
    }
    fn users(&self) -> Result<Vec<crate::accounts::User>> {
        self.inner.users()
    }
    fn invite_user(&mut self, _: &str, _: crate::accounts::Role, _: Option<&str>, _: i64) -> Result<(crate::accounts::User, String)> {
        Err(shared(&self.view.scope))
    }
    fn renew_invitation(&mut self, _: &str, _: i64) -> Result<String> {
        Err(shared(&self.view.scope))
    }
    fn invitation(&self, token: &str) -> Result<Option<(String, i64)>> {
        self.inner.invitation(token)
    }
    fn accept_invitation(&mut self, _: &str, _: &str) -> Result<String> {
        Err(shared(&self.view.scope))
    }
    fn set_user_disabled(&mut self, _: &str, _: bool) -> Result<()> {
        Err(shared(&self.view.scope))
    }
    /// Only one's own change (with the current password), never a reset.
    fn set_password(&mut self, name: &str, old: Option<&str>, new: &str) -> Result<()> {
        match old {
            Some(_) => self.inner.set_password(name, old, new),
            None => Err(shared(&self.view.scope)),
        }
    }
    fn remove_user(&mut self, _: &str) -> Result<()> {
        Err(shared(&self.view.scope))
    }
    fn set_user_scope(&mut self, _: &str, _: Option<&Scope>) -> Result<()> {
        Err(shared(&self.view.scope))
    }
    fn set_user_internal(&mut self, _: &str, _: bool) -> Result<()> {
        Err(shared(&self.view.scope))
    }
    fn login(&mut self, name: &str, password: &str, address: &str) -> Result<Option<(String, crate::accounts::Session)>> {
        self.inner.login(name, password, address)
    }
    fn session(&self, token: &str) -> Result<Option<crate::accounts::Session>> {
        self.inner.session(token)
    }
    fn logout(&mut self, token: &str, everywhere: bool) -> Result<()> {
        self.inner.logout(token, everywhere)
    }
    fn create_api_token(
        &mut self,
        user: &str,
        name: &str,
        scope: crate::accounts::TokenScope,
        valid_seconds: i64,
    ) -> Result<(String, crate::accounts::ApiToken)> {
        self.inner.create_api_token(user, name, scope, valid_seconds)
    }
    fn api_tokens(&self, user: Option<&str>) -> Result<Vec<crate::accounts::ApiToken>> {
        self.inner.api_tokens(user)
    }
    fn revoke_api_token(&mut self, user: Option<&str>, id: i64) -> Result<()> {
        self.inner.revoke_api_token(user, id)
    }
    fn api_token(&self, secret: &str) -> Result<Option<(crate::accounts::User, crate::accounts::ApiToken)>> {
        self.inner.api_token(secret)
    }
    fn touch_api_token(&mut self, id: i64) -> Result<()> {
        self.inner.touch_api_token(id)
    }
    fn audit(&mut self, action: &str, object: &str, old: Option<&str>, new: Option<&str>) -> Result<()> {
        self.inner.audit(action, object, old, new)
    }
    fn audit_log(&self) -> Result<Vec<crate::accounts::AuditEntry>> {
        self.inner.audit_log()
    }
    fn settings_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        self.inner.settings_with_prefix(prefix)
    }
    fn set_actor(&mut self, actor: &str) {
        self.inner.set_actor(actor)
    }
    fn data_version(&self) -> Result<String> {
        self.inner.data_version()
    }
}
