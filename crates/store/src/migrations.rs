//! Versioned schema migrations, applied in order on open. `PRAGMA user_version` holds the
//! number of applied migrations. Never edit a released migration; append a new one.
//!
//! SQLite runs migrations with foreign-key enforcement off (a table rebuild would otherwise
//! cascade into the rows referring to it) and checks every key before committing. Where the
//! two databases need different statements, a migration holds the SQLite text, the line
//! [`POSTGRES_PART`] and the PostgreSQL text (see [`for_sqlite`], [`for_postgres`]).

/// The crosswalk tables of migration 13, the same text for both databases (the PostgreSQL
/// part is translated by `pg_dialect`).
macro_rules! crosswalk_tables {
    () => {
        r#"
    CREATE TABLE crosswalk (
        id        INTEGER PRIMARY KEY,
        name      TEXT NOT NULL UNIQUE,
        level_id  INTEGER NOT NULL REFERENCES level(id),
        from_date TEXT,
        to_date   TEXT NOT NULL,
        method    TEXT NOT NULL,
        source    TEXT NOT NULL DEFAULT '',
        created   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
        who       TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE crosswalk_link (
        crosswalk_id INTEGER NOT NULL REFERENCES crosswalk(id) ON DELETE CASCADE,
        old_area_id  INTEGER NOT NULL REFERENCES area(id),
        new_area_id  INTEGER NOT NULL REFERENCES area(id),
        weight       REAL NOT NULL CHECK (weight > 0),
        PRIMARY KEY (crosswalk_id, old_area_id, new_area_id)
    ) WITHOUT ROWID;
    ALTER TABLE value_meta ADD COLUMN method TEXT;
"#
    };
}

/// Separates a migration's SQLite statements from its PostgreSQL ones.
pub const POSTGRES_PART: &str = "-- postgresql:";

/// The statements SQLite runs for a migration.
pub fn for_sqlite(sql: &str) -> &str {
    sql.split(POSTGRES_PART).next().unwrap_or(sql)
}

/// The statements PostgreSQL runs for a migration (before translation by `pg_dialect`).
pub fn for_postgres(sql: &str) -> &str {
    sql.split(POSTGRES_PART).nth(1).unwrap_or(sql)
}

pub const MIGRATIONS: &[&str] = &[
    // 1: areas, levels, variables, values, import log, settings.
    r#"
    CREATE TABLE level (
        id    INTEGER PRIMARY KEY,
        name  TEXT NOT NULL UNIQUE,
        rank  INTEGER NOT NULL UNIQUE
    );
    CREATE TABLE import (
        id      INTEGER PRIMARY KEY,
        kind    TEXT NOT NULL CHECK (kind IN ('areas', 'data')),
        file    TEXT NOT NULL,
        at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
        summary TEXT NOT NULL
    );
    CREATE TABLE area (
        id         INTEGER PRIMARY KEY,
        key        TEXT NOT NULL,
        name       TEXT NOT NULL,
        level_id   INTEGER NOT NULL REFERENCES level(id),
        parent_id  INTEGER REFERENCES area(id),
        geom       BLOB,
        area_m2    REAL CHECK (area_m2 IS NULL OR area_m2 >= 0),
        source_crs INTEGER,
        import_id  INTEGER REFERENCES import(id),
        UNIQUE (level_id, key)
    );
    CREATE INDEX area_key ON area(key);
    CREATE INDEX area_parent ON area(parent_id);
    CREATE TABLE variable (
        id             INTEGER PRIMARY KEY,
        key            TEXT NOT NULL UNIQUE,
        label          TEXT NOT NULL DEFAULT '',
        unit           TEXT NOT NULL DEFAULT '',
        kind           TEXT NOT NULL DEFAULT 'count' CHECK (kind IN ('count', 'rate')),
        source         TEXT NOT NULL DEFAULT '',
        reference_date TEXT NOT NULL DEFAULT '',
        description    TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE value (
        area_id     INTEGER NOT NULL REFERENCES area(id) ON DELETE CASCADE,
        variable_id INTEGER NOT NULL REFERENCES variable(id) ON DELETE CASCADE,
        year        INTEGER NOT NULL,
        value       REAL,
        symbol      TEXT,
        import_id   INTEGER NOT NULL REFERENCES import(id),
        PRIMARY KEY (variable_id, year, area_id),
        CHECK (value IS NOT NULL OR symbol IS NOT NULL)
    ) WITHOUT ROWID;
    CREATE INDEX value_area ON value(area_id);
    CREATE TABLE setting (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    "#,
    // 2: indicator catalogue (definitions as JSON, in dependency order) and frozen class breaks.
    r#"
    CREATE TABLE indicator (
        id         TEXT PRIMARY KEY,
        position   INTEGER NOT NULL,
        definition TEXT NOT NULL
    );
    CREATE TABLE frozen_breaks (
        indicator TEXT NOT NULL REFERENCES indicator(id) ON DELETE CASCADE,
        level     TEXT NOT NULL,
        method    TEXT NOT NULL,
        bins      TEXT NOT NULL,
        PRIMARY KEY (indicator, level)
    );
    "#,
    // 3: saved index definitions (TOML as written by the planner).
    r#"
    CREATE TABLE index_definition (
        id         TEXT PRIMARY KEY,
        definition TEXT NOT NULL
    );
    "#,
    // 4: the geometry as delivered (source CRS), next to the WGS84 copy.
    r#"
    ALTER TABLE area ADD COLUMN geom_source BLOB;
    "#,
    // 5: who made an import, undoing data imports: the values an import replaced.
    r#"
    ALTER TABLE import ADD COLUMN who TEXT NOT NULL DEFAULT '';
    ALTER TABLE import ADD COLUMN undoable INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE import ADD COLUMN undone_at TEXT;
    ALTER TABLE import ADD COLUMN undone_by TEXT;
    CREATE TABLE value_replaced (
        import_id      INTEGER NOT NULL REFERENCES import(id),
        variable_id    INTEGER NOT NULL REFERENCES variable(id) ON DELETE CASCADE,
        year           INTEGER NOT NULL,
        area_id        INTEGER NOT NULL REFERENCES area(id) ON DELETE CASCADE,
        value          REAL,
        symbol         TEXT,
        prev_import_id INTEGER NOT NULL REFERENCES import(id),
        PRIMARY KEY (import_id, variable_id, year, area_id)
    ) WITHOUT ROWID;
    CREATE INDEX value_replaced_prev ON value_replaced(prev_import_id);
    "#,
    // 6: offers (HSDS-style): organisations, services, locations, their links. The entries as
    // JSON (the schema grows with HSDS), ids and references as columns.
    r#"
    CREATE TABLE offer_organization (
        id   TEXT PRIMARY KEY,
        data TEXT NOT NULL
    );
    CREATE TABLE offer_service (
        id              TEXT PRIMARY KEY,
        organization_id TEXT NOT NULL REFERENCES offer_organization(id),
        data            TEXT NOT NULL
    );
    CREATE TABLE offer_location (
        id        TEXT PRIMARY KEY,
        latitude  REAL NOT NULL CHECK (latitude BETWEEN -90 AND 90),
        longitude REAL NOT NULL CHECK (longitude BETWEEN -180 AND 180),
        data      TEXT NOT NULL
    );
    CREATE TABLE offer_link (
        id          TEXT PRIMARY KEY,
        service_id  TEXT NOT NULL REFERENCES offer_service(id) ON DELETE CASCADE,
        location_id TEXT NOT NULL REFERENCES offer_location(id) ON DELETE CASCADE
    );
    "#,
    // 7: area conferences and measures (records as JSON, version for optimistic locking).
    r#"
    CREATE TABLE conference (
        id      INTEGER PRIMARY KEY,
        level   TEXT NOT NULL,
        area    TEXT NOT NULL,
        date    TEXT NOT NULL,
        data    TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 1,
        who     TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX conference_area ON conference(level, area);
    CREATE TABLE measure (
        id      INTEGER PRIMARY KEY,
        data    TEXT NOT NULL,
        version INTEGER NOT NULL DEFAULT 1,
        who     TEXT NOT NULL DEFAULT ''
    );
    "#,
    // 8: accounts, sessions (token hashes), failed logins, the audit log.
    r#"
    CREATE TABLE account (
        id            INTEGER PRIMARY KEY,
        name          TEXT NOT NULL UNIQUE,
        role          TEXT NOT NULL CHECK (role IN ('reader', 'traeger', 'department', 'planner', 'admin')),
        organization  TEXT,
        password_hash TEXT NOT NULL,
        created       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );
    CREATE TABLE session (
        token_hash TEXT PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        csrf       TEXT NOT NULL,
        created    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
        last_seen  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    );
    CREATE TABLE failed_login (
        key TEXT NOT NULL,
        at  INTEGER NOT NULL
    );
    CREATE INDEX failed_login_key ON failed_login(key, at);
    CREATE TABLE audit (
        id     INTEGER PRIMARY KEY,
        at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
        who    TEXT NOT NULL,
        action TEXT NOT NULL,
        object TEXT NOT NULL,
        old    TEXT,
        new    TEXT
    );
    "#,
    // 9: tenants: an account may be limited to one area (a municipality of the Kreis) and what
    // lies below it; levels at and above that area's level stay visible (the shared view).
    // Träger accounts read internal results only when granted.
    r#"
    ALTER TABLE account ADD COLUMN scope_level TEXT;
    ALTER TABLE account ADD COLUMN scope_area TEXT;
    ALTER TABLE account ADD COLUMN reads_internal INTEGER NOT NULL DEFAULT 0;
    "#,
    // 10: the exact reference date of a value (Stichtag, when the delivery gives one) and the
    // statistics office's quality flag (GENESIS `_q`), dictionary-encoded: a delivery has a
    // handful of (date, flag) pairs for a million values. Kept with replaced values for undo.
    r#"
    CREATE TABLE value_meta (
        id       INTEGER PRIMARY KEY,
        ref_date TEXT,
        quality  TEXT
    );
    ALTER TABLE value ADD COLUMN meta_id INTEGER REFERENCES value_meta(id);
    ALTER TABLE value_replaced ADD COLUMN meta_id INTEGER;
    "#,
    // 11: accounts can be disabled (kept, with their history, but unable to sign in), and
    // created by a time-limited invitation: the invitee sets the password. An invited account
    // has the password hash '!' (no password verifies against it) until then.
    r#"
    ALTER TABLE account ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE invitation (
        token_hash TEXT PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        expires    INTEGER NOT NULL
    );
    "#,
    // 12: personal API tokens for scripts: stored as their hash, with a scope (read or
    // read-write), an expiry and the last use (Unix seconds); revoked tokens stay listed.
    r#"
    CREATE TABLE api_token (
        id         INTEGER PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        name       TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        scope      TEXT NOT NULL CHECK (scope IN ('read', 'read-write')),
        created    INTEGER NOT NULL,
        expires    INTEGER NOT NULL,
        last_used  INTEGER,
        revoked    INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX api_token_account ON api_token(account_id);
    "#,
    // 13: boundary changes. An area is valid from a date (NULL: from the start) until the
    // date a later boundary set replaced it (NULL: still valid); a retired area keeps its
    // values and may share its key with its successor, so the key is unique only among the
    // areas still valid. Crosswalks (weights old area → new area, with their method) are
    // stored; values carried across a change name the crosswalk's method in their metadata.
    concat!(
        r#"
    CREATE TABLE area_versioned (
        id          INTEGER PRIMARY KEY,
        key         TEXT NOT NULL,
        name        TEXT NOT NULL,
        level_id    INTEGER NOT NULL REFERENCES level(id),
        parent_id   INTEGER REFERENCES area(id),
        geom        BLOB,
        area_m2     REAL CHECK (area_m2 IS NULL OR area_m2 >= 0),
        source_crs  INTEGER,
        import_id   INTEGER REFERENCES import(id),
        geom_source BLOB,
        valid_from  TEXT,
        valid_to    TEXT
    );
    INSERT INTO area_versioned (id, key, name, level_id, parent_id, geom, area_m2, source_crs, import_id, geom_source)
        SELECT id, key, name, level_id, parent_id, geom, area_m2, source_crs, import_id, geom_source FROM area;
    DROP TABLE area;
    ALTER TABLE area_versioned RENAME TO area;
    CREATE INDEX area_key ON area(key);
    CREATE INDEX area_parent ON area(parent_id);
    CREATE INDEX area_level ON area(level_id, key);
    CREATE UNIQUE INDEX area_current ON area(level_id, key) WHERE valid_to IS NULL;
"#,
        crosswalk_tables!(),
        "    -- postgresql:\n",
        r#"
    ALTER TABLE area ADD COLUMN valid_from TEXT;
    ALTER TABLE area ADD COLUMN valid_to TEXT;
    ALTER TABLE area DROP CONSTRAINT IF EXISTS area_level_id_key_key;
    CREATE INDEX area_level ON area(level_id, key);
    CREATE UNIQUE INDEX area_current ON area(level_id, key) WHERE valid_to IS NULL;
"#,
        crosswalk_tables!()
    ),
];
