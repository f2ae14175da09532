//! Behaviour of the stores: migrations, levels, atomic imports, change summaries. Every test
//! of behaviour runs on SQLite and, when `QUARTIER_TEST_POSTGRES` names a server (as in
//! `.ci/run`), on PostgreSQL too.

use quartier_core::validate::{DataRow, VariableKind};
use quartier_core::{Cell, Symbol};
use quartier_store::testing::{area, batch, berlins, delivered_totals, row};
use quartier_store::*;

fn count(s: &dyn Store) -> usize {
    s.values(&ValueFilter::default()).unwrap().len()
}

#[test]
fn file_database_uses_wal_and_migrates_once() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("q.db");
    let s = SqliteStore::open(&p).unwrap();
    assert_eq!(s.journal_mode().unwrap(), "wal");
    assert_eq!(s.schema_version().unwrap(), 13);
    drop(s);
    assert_eq!(SqliteStore::open(&p).unwrap().schema_version().unwrap(), 13);
}

#[test]
fn levels_keep_their_order() {
    for (backend, mut s) in berlins() {
        eprintln!("backend {backend}");
        let l = s.define_levels(&["Stadt".into(), "Bezirk".into()]).unwrap();
        let names: Vec<&str> = l.iter().map(|l| l.name.as_str()).collect();
        assert_eq!(names, ["Stadt", "Bezirk", "Bezirksregion", "Planungsraum"]);
        // Level definitions are audited with the order before and after.
        let audit = s.audit_log().unwrap();
        let e = audit
            .iter()
            .find(|e| e.action == "Ebenen festgelegt" && e.new.as_deref() == Some("Stadt → Bezirk → Bezirksregion → Planungsraum"));
        assert!(e.is_some_and(|e| e.old.as_deref() == Some("Bezirk → Bezirksregion → Planungsraum")), "{audit:?}");
        assert!(s.define_levels(&["Planungsraum".into(), "Bezirk".into()]).is_err());
        assert!(s.define_levels(&["A".into(), "A".into()]).is_err());
    }
}

#[test]
fn bad_parent_changes_nothing() {
    for (backend, mut s) in berlins() {
        eprintln!("backend {backend}");
        let before = s.areas(None).unwrap();
        let err = s
            .apply_areas(
                &AreaBatch {
                    file: "p.csv".into(),
                    level: "Planungsraum".into(),
                    areas: vec![area("01011103", "Neu", Some("999999"))],
                    source_crs: None,
                    version: None,
                },
                false,
            )
            .unwrap_err();
        assert!(err.to_string().contains("„999999“"), "{err}");
        assert_eq!(s.areas(None).unwrap(), before);
        assert!(
            s.apply_areas(&AreaBatch { file: "x".into(), level: "Ortsteil".into(), areas: vec![], source_crs: None, version: None }, false)
                .is_err()
        );
    }
}

#[test]
fn data_import_is_atomic_and_summarises_changes() {
    for (backend, mut s) in berlins() {
        eprintln!("backend {backend}");
        let r = s
            .apply_data(
                &batch(vec![
                    row("01011101", 2019, "pop", Cell::Number(3384.0), 2),
                    row("01011102", 2019, "pop", Cell::Symbol(Symbol::Zero), 3),
                ]),
                false,
            )
            .unwrap();
        assert_eq!((r.inserted, r.changed), (2, 0));
        let log = s.audit_log().unwrap();
        assert!(log.iter().any(|e| e.action == "Daten importiert" && e.new.as_deref().is_some_and(|n| n.contains("2 neu"))), "{log:?}");
        // Unknown key with lost zero: error, nothing written.
        let err = s
            .apply_data(
                &batch(vec![row("01011101", 2019, "pop", Cell::Number(1.0), 2), row("1011102", 2019, "pop", Cell::Number(1.0), 3)]),
                false,
            )
            .unwrap_err();
        assert!(err.to_string().contains("„01011102“"), "{err}");
        assert_eq!(s.values(&ValueFilter::default()).unwrap()[0].cell, Cell::Number(3384.0));
        // Dry run reports but does not write.
        let r = s.apply_data(&batch(vec![row("01011101", 2019, "pop", Cell::Number(3400.0), 2)]), true).unwrap();
        assert_eq!(r.changed, 1);
        assert_eq!(r.changes[0].old, "3384");
        assert_eq!(s.values(&ValueFilter::default()).unwrap()[0].cell, Cell::Number(3384.0));
        // Corrected delivery replaces.
        let r = s
            .apply_data(
                &batch(vec![
                    row("01011101", 2019, "pop", Cell::Number(3400.0), 2),
                    row("01011102", 2019, "pop", Cell::Symbol(Symbol::Zero), 3),
                ]),
                false,
            )
            .unwrap();
        assert_eq!((r.changed, r.unchanged), (1, 1));
        assert_eq!(count(&s), 2);
        assert_eq!(s.imports().unwrap().len(), 3 + 2);
    }
}

#[test]
fn delivered_totals_are_compared_with_sums() {
    for (backend, mut s) in berlins() {
        eprintln!("backend {backend}");
        let r = s.apply_data(&delivered_totals(), false).unwrap();
        assert_eq!(r.total_mismatches.len(), 1);
        let m = &r.total_mismatches[0];
        assert_eq!((m.area.as_str(), m.level.as_str(), m.delivered, m.summed), ("010111", "Bezirksregion", 111.0, 110.0));
    }
}

#[test]
fn negative_counts_rejected_rates_allowed() {
    for (backend, mut s) in berlins() {
        eprintln!("backend {backend}");
        assert!(s.apply_data(&batch(vec![row("01011101", 2019, "pop", Cell::Number(-1.0), 2)]), false).is_err());
        assert_eq!(count(&s), 0);
        let mut b = batch(vec![row("01011101", 2019, "d1", Cell::Number(-1.0), 2)]);
        b.variables.push(VariableMeta { key: "d1".into(), kind: Some(VariableKind::Rate), ..Default::default() });
        s.apply_data(&b, false).unwrap();
        assert_eq!(s.variables().unwrap()[0].kind, VariableKind::Rate);
    }
}

#[test]
fn bulk_delivery_is_written() {
    for (backend, mut s) in berlins() {
        eprintln!("backend {backend}");
        let rows: Vec<DataRow> = (0..60_000)
            .map(|i| row(if i % 2 == 0 { "01011101" } else { "01011102" }, 1000 + i / 2, "pop", Cell::Number(i as f64), i as usize + 2))
            .collect();
        let r = s.apply_data(&batch(rows), false).unwrap();
        assert_eq!(r.inserted, 60_000);
        assert_eq!(count(&s), 60_000);
        // A failing bulk delivery also leaves them on and writes nothing.
        let mut bad: Vec<DataRow> = (0..60_000).map(|i| row("01011101", 5000 + i, "pop", Cell::Number(1.0), i as usize + 2)).collect();
        bad.push(row("99999999", 1, "pop", Cell::Number(1.0), 70_000));
        assert!(s.apply_data(&batch(bad), false).is_err());
        assert_eq!(count(&s), 60_000);
    }
}

/// A commit is a new version also when no connection stays open: closing the last one
/// checkpoints the log into the file and removes log and index, and the index the next
/// connection builds looks the same every time.
#[test]
fn sqlite_version_follows_commits_across_closed_connections() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("q.db");
    drop(SqliteStore::open(&p).unwrap());
    let location = quartier_store::Location::Sqlite(p.clone());
    let reader = location.open_read_only().unwrap();
    let before = reader.data_version().unwrap();
    drop(reader);
    let mut w = location.open().unwrap();
    w.define_levels(&["Bezirk".into()]).unwrap();
    drop(w);
    // Time stamps of files may be coarse: the next commit must show however fast it comes.
    let reader = location.open_read_only().unwrap();
    assert_ne!(reader.data_version().unwrap(), before, "a commit after the last connection closed");
    assert_ne!(location.data_version().unwrap(), before);
}

#[test]
fn sqlite_bulk_delivery_keeps_foreign_keys_on() {
    let mut s = SqliteStore::in_memory().unwrap();
    s.define_levels(&["Gebiet".into()]).unwrap();
    s.apply_areas(
        &AreaBatch { file: "g".into(), level: "Gebiet".into(), areas: vec![area("1", "Eins", None)], source_crs: None, version: None },
        false,
    )
    .unwrap();
    let rows: Vec<DataRow> = (0..60_000).map(|i| row("1", i, "pop", Cell::Number(1.0), i as usize + 2)).collect();
    s.apply_data(&batch(rows.clone()), false).unwrap();
    assert!(s.foreign_keys_enabled().unwrap());
    let mut bad = rows;
    bad.push(row("2", 1, "pop", Cell::Number(1.0), 70_000));
    assert!(s.apply_data(&batch(bad), false).is_err());
    assert!(s.foreign_keys_enabled().unwrap());
}

/// PostgreSQL: the same migrations once, a data version that follows changes, and a
/// read-only connection that writes nothing.
#[test]
fn postgres_migrates_once_versions_changes_and_reads_only() {
    let Some(url) = quartier_store::postgres::fresh_test_database() else { return };
    let location = quartier_store::Location::parse(&url);
    let mut s = location.open().unwrap();
    let before = s.data_version().unwrap();
    s.define_levels(&["Bezirk".into()]).unwrap();
    let after = s.data_version().unwrap();
    assert_ne!(before, after, "a change raises the version");
    // Logins and sessions change no computed result: the version stays.
    s.add_user("admin", accounts::Role::Admin, None, "Rathaus-Turm-Uhr-1903").unwrap();
    let with_user = s.data_version().unwrap();
    s.login("admin", "Rathaus-Turm-Uhr-1903", "127.0.0.1").unwrap().unwrap();
    assert_eq!(s.data_version().unwrap(), with_user);
    // Nor do API tokens and their use.
    let (_, t) = s.create_api_token("admin", "Skript", accounts::TokenScope::Read, 3600).unwrap();
    s.touch_api_token(t.id).unwrap();
    s.revoke_api_token(None, t.id).unwrap();
    assert_eq!(s.data_version().unwrap(), with_user);
    assert_eq!(location.data_version().unwrap(), with_user);
    drop(s);
    let pg = quartier_store::postgres::PostgresStore::open(&url).unwrap();
    assert_eq!(pg.schema_version().unwrap(), 13);
    let mut ro = location.open_read_only().unwrap();
    assert_eq!(ro.levels().unwrap().len(), 1);
    let err = ro.define_levels(&["Stadt".into(), "Bezirk".into()]).unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");
    // A server database that was never set up is refused for reading, with the way out.
    let empty = quartier_store::postgres::fresh_test_database().unwrap();
    let err = quartier_store::Location::parse(&empty).open_read_only().err().unwrap();
    assert!(err.to_string().contains("keine Quartier-Datenbank"), "{err}");
}

#[test]
fn postgres_dialect_of_the_migrations() {
    let sql = quartier_store::postgres::pg_dialect(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, v REAL, g BLOB, at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))) WITHOUT ROWID;",
    );
    assert_eq!(
        sql,
        r#"CREATE TABLE t (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, n BIGINT NOT NULL, v DOUBLE PRECISION, g BYTEA, at TEXT NOT NULL DEFAULT (to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')));"#
    );
}

#[test]
fn locations_name_files_and_servers() {
    assert_eq!(quartier_store::Location::parse("quartier.db"), quartier_store::Location::Sqlite("quartier.db".into()));
    let pg = quartier_store::Location::parse("postgres://quartier:geheim@db.kreis.local:5432/sozialplanung");
    assert!(matches!(pg, quartier_store::Location::Postgres(_)));
    assert_eq!(pg.to_string(), "postgres://quartier@db.kreis.local:5432/sozialplanung", "no password in messages");
    assert!(pg.file().is_none());
}

#[test]
fn postgres_over_tls() {
    // .ci/postgres.sh starts the test server with TLS and a self-signed CA.
    let Ok(ca) = std::env::var("QUARTIER_TEST_POSTGRES_CA") else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but QUARTIER_TEST_POSTGRES_CA is not set");
        return;
    };
    let Some(plain) = quartier_store::postgres::fresh_test_database() else { return };
    let full = format!("{}?sslmode=verify-full&sslrootcert={ca}", plain.replace("127.0.0.1", "localhost"));
    let mut s = quartier_store::Location::parse(&full).open().unwrap();
    s.define_levels(&["Kreis".into()]).unwrap();
    assert_eq!(s.levels().unwrap()[0].name, "Kreis");
    assert!(quartier_store::postgres::connection_is_encrypted(&full).unwrap(), "verify-full is encrypted");
    assert!(quartier_store::postgres::connection_is_encrypted(&format!("{plain}?sslmode=require")).unwrap());
    assert!(!quartier_store::postgres::connection_is_encrypted(&plain).unwrap(), "without sslmode as before: plain");
    // A root that did not sign the server's certificate: refused.
    let wrong = std::path::Path::new(&ca).with_file_name("server.crt");
    let err = quartier_store::postgres::connection_is_encrypted(&format!("{plain}?sslmode=verify-ca&sslrootcert={}", wrong.display()))
        .unwrap_err();
    assert!(err.to_string().to_lowercase().contains("certificate") || err.to_string().contains("TLS"), "{err}");
    let err = quartier_store::Location::parse(&format!("{plain}?sslmode=verify-full")).open().err().unwrap();
    assert!(err.to_string().contains("sslrootcert"), "{err}");
}

/// Every state-changing method of the `Store` trait leaves an audit entry — the CLI and the web
/// app change the database only through them (a new method must be added here).
#[test]
fn every_change_is_audited() {
    use quartier_store::accounts::{Role, Scope};
    for (backend, mut s) in berlins() {
        eprintln!("backend {backend}");
        let mut seen = s.audit_log().unwrap().len();
        let mut expect = |s: &mut Box<dyn Store + Send>, action: &str| {
            let log = s.audit_log().unwrap();
            assert!(log.len() > seen, "{backend}: no audit entry for {action}");
            assert!(
                log.iter().any(|e| e.action == action),
                "{backend}: {action} not in {:?}",
                log.iter().map(|e| &e.action).collect::<Vec<_>>()
            );
            seen = log.len();
        };
        s.set_actor("Prüferin");
        s.define_levels(&["Land".into(), "Bezirk".into()]).unwrap();
        expect(&mut s, "Ebenen festgelegt");
        s.apply_areas(
            &AreaBatch {
                file: "l.csv".into(),
                level: "Land".into(),
                areas: vec![area("11", "Berlin", None)],
                source_crs: None,
                version: None,
            },
            false,
        )
        .unwrap();
        expect(&mut s, "Gebiete importiert");
        s.apply_data(&batch(vec![row("01011101", 2020, "kinder", Cell::Number(5.0), 2)]), false).unwrap();
        expect(&mut s, "Daten importiert");
        s.apply_data(&batch(vec![row("01011101", 2020, "kinder", Cell::Number(6.0), 2)]), false).unwrap();
        expect(&mut s, "Daten importiert");
        let last = s.imports().unwrap().into_iter().map(|i| i.id).max().unwrap();
        s.undo_import(last).unwrap();
        expect(&mut s, "Import rückgängig gemacht");
        let cat = quartier_core::indicator::Catalogue::from_toml(
            "[[indicator]]\nid = \"k\"\nname = \"Kinder\"\nformula = \"kinder\"\nunit = \"Personen\"\ndirection = \"higher_is_worse\"\n",
        )
        .unwrap();
        let known = s.variables().unwrap().into_iter().map(|v| v.key).collect();
        s.save_catalogue(&cat.checked(&known).unwrap(), false).unwrap();
        expect(&mut s, "Indikator gespeichert");
        s.freeze_breaks("k", "Planungsraum", "quantiles", &[1.0, 2.0]).unwrap();
        expect(&mut s, "Klassengrenzen eingefroren");
        s.save_index_definition("mss", "[index]\nid = \"mss\"\n").unwrap();
        expect(&mut s, "Indexdefinition gespeichert");
        s.set_setting("report:sozialbericht", "title = \"Sozialbericht\"").unwrap();
        expect(&mut s, "Einstellung gespeichert");
        assert!(s.remove_setting("report:sozialbericht").unwrap());
        expect(&mut s, "Einstellung entfernt");
        assert!(!s.remove_setting("report:sozialbericht").unwrap());
        let offers = quartier_store::offers::Offers {
            organizations: vec![quartier_store::offers::Organization { id: "awo".into(), name: "AWO".into(), ..Default::default() }],
            ..Default::default()
        };
        s.save_offers(&offers, false).unwrap();
        expect(&mut s, "Angebote importiert");
        let conference: quartier_store::action::Conference =
            serde_json::from_str(r#"{"level":"Planungsraum","area":"01011101","date":"2026-03-01","matches":"partly"}"#).unwrap();
        s.save_conference(&conference).unwrap();
        expect(&mut s, "Konferenz gespeichert");
        let measure: quartier_store::action::Measure = serde_json::from_str(
            r#"{"title":"Elterncafé","goal":"Eltern erreichen","level":"Planungsraum","areas":["01011101"],"lead":"awo","start":2026,"status":"geplant"}"#,
        )
        .unwrap();
        s.save_measure(&measure).unwrap();
        expect(&mut s, "Maßnahme gespeichert");
        s.add_user("pruefung", Role::Planner, None, "Lindenblatt-Kiez-42").unwrap();
        expect(&mut s, "Konto angelegt");
        s.set_password("pruefung", None, "Ahornweg-Brunnen-77").unwrap();
        expect(&mut s, "Passwort zurückgesetzt");
        s.set_user_scope("pruefung", Some(&Scope { level: "Bezirk".into(), area: "01".into() })).unwrap();
        expect(&mut s, "Gebietsbeschränkung");
        s.set_user_internal("pruefung", true).unwrap();
        expect(&mut s, "Lesezugriff");
        assert!(s.login("pruefung", "Ahornweg-Brunnen-77", "192.0.2.1").unwrap().is_some());
        expect(&mut s, "Anmeldung");
        s.remove_user("pruefung").unwrap();
        expect(&mut s, "Konto entfernt");
        s.audit("Sicherung zurückgespielt", "Sicherung q.dump", None, None).unwrap();
        expect(&mut s, "Sicherung zurückgespielt");
        // Who did it is recorded with each.
        assert!(s.audit_log().unwrap().iter().filter(|e| e.action == "Klassengrenzen eingefroren").all(|e| e.who == "Prüferin"));
    }
}

#[test]
fn disabled_accounts_cannot_sign_in_and_lose_their_sessions() {
    use quartier_store::accounts::Role;
    for (backend, mut s) in berlins() {
        eprintln!("backend {backend}");
        s.add_user("chefin", Role::Admin, None, "Rathaus-Turm-Uhr-1903").unwrap();
        s.add_user("planung", Role::Planner, None, "Lindenblatt-Kiez-42").unwrap();
        let (token, _) = s.login("planung", "Lindenblatt-Kiez-42", "192.0.2.1").unwrap().unwrap();
        assert!(s.session(&token).unwrap().is_some());
        s.set_user_disabled("planung", true).unwrap();
        assert!(s.session(&token).unwrap().is_none(), "{backend}: the session ended");
        assert!(s.login("planung", "Lindenblatt-Kiez-42", "192.0.2.1").unwrap().is_none(), "{backend}: no sign-in while disabled");
        let u = s.users().unwrap().into_iter().find(|u| u.name == "planung").unwrap();
        assert!(u.disabled && !u.invited);
        // The last active administrator stays active.
        let e = s.set_user_disabled("chefin", true).unwrap_err().to_string();
        assert!(e.contains("letzte aktive Administrationskonto"), "{e}");
        assert!(s.set_user_disabled("gibtsnicht", true).is_err());
        s.set_user_disabled("planung", false).unwrap();
        assert!(s.login("planung", "Lindenblatt-Kiez-42", "192.0.2.1").unwrap().is_some(), "{backend}: enabled again");
        let log = s.audit_log().unwrap();
        assert!(log.iter().any(|e| e.action == "Konto gesperrt") && log.iter().any(|e| e.action == "Konto entsperrt"));
    }
}

#[test]
fn an_invitation_sets_the_password_once_and_expires() {
    use quartier_store::accounts::Role;
    for (backend, mut s) in berlins() {
        eprintln!("backend {backend}");
        let (user, token) = s.invite_user("traeger1", Role::Traeger, Some("awo"), 3600).unwrap();
        assert!(user.invited && user.organization.as_deref() == Some("awo"));
        // No password signs in before the invitation is accepted, not even the placeholder.
        assert!(s.login("traeger1", "!", "192.0.2.1").unwrap().is_none());
        let (name, left) = s.invitation(&token).unwrap().unwrap();
        assert!(name == "traeger1" && (3590..=3600).contains(&left), "{backend}: {left}");
        assert!(s.invitation("gibtsnicht").unwrap().is_none());
        // The password rules hold; a refused password leaves the link valid.
        assert!(s.accept_invitation(&token, "kurz").unwrap_err().to_string().contains("12"));
        assert_eq!(s.accept_invitation(&token, "Weidenweg-Laterne-58").unwrap(), "traeger1");
        assert!(
            s.login("traeger1", "Weidenweg-Laterne-58", "192.0.2.1").unwrap().is_some(),
            "{backend}: signs in with the chosen password"
        );
        // Used once only; a renewal is refused once a password is set.
        assert!(s.invitation(&token).unwrap().is_none());
        assert!(s.accept_invitation(&token, "Andere-Laterne-59x").is_err());
        assert!(s.renew_invitation("traeger1", 3600).unwrap_err().to_string().contains("schon ein Passwort"));
        // Renewing ends the earlier link; an expired link is no link; a disabled account's
        // link does not work.
        let (_, first) = s.invite_user("ref", Role::Reader, None, 3600).unwrap();
        let second = s.renew_invitation("ref", 3600).unwrap();
        assert!(s.invitation(&first).unwrap().is_none() && s.invitation(&second).unwrap().is_some());
        assert!(s.renew_invitation("ref", 10).is_err(), "at least a minute");
        s.set_user_disabled("ref", true).unwrap();
        assert!(s.invitation(&second).unwrap().is_none(), "{backend}: disabled");
        s.set_user_disabled("ref", false).unwrap();
        // A Träger without organisation is refused as for a password account.
        assert!(s.invite_user("t2", Role::Traeger, None, 3600).is_err());
        let log = s.audit_log().unwrap();
        for action in ["Konto angelegt (Einladung)", "Einladung ausgestellt", "Einladung angenommen"] {
            assert!(log.iter().any(|e| e.action == action), "{backend}: {action}");
        }
    }
}

/// A new boundary set (2021): one Planungsraum continues, the other is split in two. The old
/// area keeps its values, values go to the version valid at their date, a crosswalk carries
/// the old counts onto the new areas as estimates.
#[test]
fn a_new_boundary_set_retires_areas_and_keeps_their_values() {
    use quartier_store::{BoundaryVersion, CarriedValues, CrosswalkRecord};
    for (backend, mut s) in berlins() {
        eprintln!("backend {backend}");
        let n = |v: f64| Cell::Number(v);
        s.apply_data(&batch(vec![row("01011101", 2019, "ew", n(100.0), 2), row("01011102", 2019, "ew", n(10.0), 3)]), false).unwrap();
        let version = |from: &str| BoundaryVersion { valid_from: from.into(), same_territory: ["01011101".to_string()].into() };
        let new_set = |from: &str| AreaBatch {
            file: "plr2021.csv".into(),
            level: "Planungsraum".into(),
            areas: vec![
                area("01011101", "Stülerstraße", Some("010111")),
                area("01011103", "Tiergarten Nord", Some("010111")),
                area("01011104", "Tiergarten Süd", Some("010111")),
            ],
            source_crs: None,
            version: Some(version(from)),
        };
        let r = s.apply_areas(&new_set("2021-01-01"), false).unwrap();
        assert_eq!((r.inserted, r.unchanged, r.retired.clone()), (2, 1, vec!["01011102".to_string()]), "{r:?}");
        // The current set only; the retired area's value is kept but not shown.
        let keys: Vec<String> = s.areas(Some("Planungsraum")).unwrap().into_iter().map(|a| a.key).collect();
        assert_eq!(keys, ["01011101", "01011103", "01011104"]);
        assert_eq!(count(&*s), 1);
        let versions = s.area_versions(Some("Planungsraum")).unwrap();
        let shape: Vec<_> =
            versions.iter().map(|v| (v.valid_from.clone(), v.valid_to.clone(), v.areas, v.new, v.retired, v.values)).collect();
        assert_eq!(shape, [(None, Some("2021-01-01".into()), 2, 2, 0, 2), (Some("2021-01-01".into()), None, 3, 2, 1, 1)]);
        let old = s.version_values("Planungsraum", Some("2020-12-31"), &["ew".into()]).unwrap();
        assert_eq!(old.len(), 2);
        // A set must be later than the last; a date must be a date.
        assert!(s.apply_areas(&new_set("2020-06-30"), false).unwrap_err().to_string().contains("2021-01-01"));
        assert!(s.apply_areas(&new_set("2021-13-01"), false).is_err());
        // Values go to the version valid at their date: 2019 on a new area is refused (naming
        // the line), unless the delivery is on the current boundaries; 2022 on the retired one too.
        let err = s.apply_data(&batch(vec![row("01011103", 2019, "ew", n(7.0), 5)]), false).unwrap_err().to_string();
        assert!(err.contains("Zeile 5") && err.contains("01011103") && err.contains("2019-12-31"), "{err}");
        let err = s.apply_data(&batch(vec![row("01011102", 2022, "ew", n(7.0), 6)]), false).unwrap_err().to_string();
        assert!(err.contains("Zeile 6") && err.contains("bis vor 2021-01-01"), "{err}");
        let mut recalculated = batch(vec![row("01011103", 2018, "ew", n(7.0), 7)]);
        recalculated.current_boundaries = true;
        s.apply_data(&recalculated, false).unwrap();
        // A correction of 2019 on the retired area reaches it.
        s.apply_data(&batch(vec![row("01011102", 2019, "ew", n(20.0), 8)]), false).unwrap();
        let old = s.version_values("Planungsraum", Some("2020-12-31"), &["ew".into()]).unwrap();
        assert!(old.iter().any(|v| v.0 == "01011102" && v.3 == n(20.0)), "{old:?}");
        // A crosswalk: keys must belong to the two sets.
        let mut c = CrosswalkRecord {
            name: "plr2021".into(),
            level: "Planungsraum".into(),
            from: None,
            to: "2021-01-01".into(),
            method: "key-table".into(),
            source: "umsteiger.csv".into(),
            created: String::new(),
            who: String::new(),
            links: vec![
                ("01011101".into(), "01011101".into(), 1.0),
                ("01011102".into(), "01011103".into(), 0.7),
                ("01011102".into(), "01011199".into(), 0.3),
            ],
        };
        assert!(s.save_crosswalk(&c, false).unwrap_err().to_string().contains("01011199"));
        c.links[2].1 = "01011104".into();
        s.save_crosswalk(&c, false).unwrap();
        let stored = s.crosswalks(Some("plr2021")).unwrap();
        assert_eq!(stored[0].links, c.links);
        assert_eq!(stored[0].from, None);
        // Carried values: estimates with the method, delivered values never replaced.
        let carried = CarriedValues {
            crosswalk: "plr2021".into(),
            method: "Umsteigeschlüssel (umsteiger.csv)".into(),
            values: vec![
                ("01011101".into(), "ew".into(), 2019, 100.0),
                ("01011103".into(), "ew".into(), 2019, 14.0),
                ("01011104".into(), "ew".into(), 2019, 6.0),
            ],
            replace: false,
        };
        let r = s.store_carried("Planungsraum", &carried, false).unwrap();
        assert_eq!((r.inserted, r.kept_delivered, r.replaced), (2, 1, 0));
        let now = s.values(&ValueFilter { year: Some(2019), ..Default::default() }).unwrap();
        let estimated: Vec<(&str, Option<&str>)> = now.iter().map(|v| (v.area.as_str(), v.quality.as_deref())).collect();
        assert_eq!(estimated, [("01011101", None), ("01011103", Some("s")), ("01011104", Some("s"))]);
        // Carrying again replaces only with `replace`; undoing the import removes the estimates.
        let again = s.store_carried("Planungsraum", &CarriedValues { replace: true, ..carried.clone() }, false).unwrap();
        assert_eq!(again.replaced, 2);
        s.undo_import(again.import_id).unwrap();
        s.undo_import(r.import_id).unwrap();
        assert_eq!(s.values(&ValueFilter { year: Some(2019), ..Default::default() }).unwrap().len(), 1);
        s.remove_crosswalk("plr2021").unwrap();
        assert!(s.crosswalks(None).unwrap().is_empty());
    }
}
