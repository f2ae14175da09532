//! `quartier user`: the first administrator, roles, password rules; signing in to the served app.

use crate::support::*;
use std::io::Write;
use std::process::{Command, Stdio};

/// `quartier user add …` with the password on standard input.
pub fn add(env: &Env, args: &[&str], password: &str) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_quartier"))
        .env("QUARTIER_DB", env.db())
        .env("QUARTIER_DATABASE", env.database.as_deref().unwrap_or_default())
        .args(["user", "add"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

#[test]
fn first_administrator_roles_and_password_rules() {
    let env = Env::new();
    env.musterstadt();
    let (ok, out) = add(&env, &["chefin", "--admin"], "Rathaus-Turm-Uhr-1903");
    assert!(ok && out.contains("Konto „chefin“ (Administration) angelegt"), "{out}");
    let (ok, out) = add(&env, &["awo-mueller", "--role", "traeger"], "Kastanie-Flur-Bank-8");
    assert!(!ok && out.contains("Organisation"), "{out}");
    assert!(add(&env, &["awo-mueller", "--role", "traeger", "--organization", "awo"], "Kastanie-Flur-Bank-8").0);
    let (ok, out) = add(&env, &["bert", "--role", "planner"], "passwort12345");
    assert!(!ok && out.contains("„passwort“"), "{out}");
    let (ok, out) = add(&env, &["chefin", "--role", "reader"], "Noch-ein-Konto-77");
    assert!(!ok && out.contains("gibt es schon"), "{out}");
    let users = json(&env.run(&["user", "list", "--format", "json"]).ok());
    let roles: Vec<(&str, &str)> =
        users.as_array().unwrap().iter().map(|u| (u["name"].as_str().unwrap(), u["role"].as_str().unwrap())).collect();
    assert_eq!(roles, [("awo-mueller", "traeger"), ("chefin", "admin")]);
    // The hash is Argon2id; the password itself is nowhere in the database.
    let db = std::fs::read(env.db()).unwrap();
    assert!(!db.windows(b"Rathaus-Turm-Uhr-1903".len()).any(|w| w == b"Rathaus-Turm-Uhr-1903"));
    assert!(db.windows(b"$argon2id$".len()).any(|w| w == b"$argon2id$"));
    // Served: anonymous visitors see nothing internal, they are sent to the sign-in page.
    let server = crate::demo::serve_with(&env, &[]);
    for path in ["/", "/verwaltung", "/karte", "/gebiet/0101?ebene=Sozialraum"] {
        let (head, _) = crate::demo::get(&server.addr, path);
        assert!(head.starts_with("HTTP/1.1 303") && head.to_lowercase().contains("location: /anmelden"), "{path}: {head}");
    }
    let (head, page) = crate::demo::get(&server.addr, "/anmelden");
    assert!(head.contains("quartier_login=") && head.contains("HttpOnly") && page.contains("autocomplete=\"current-password\""), "{head}");
}
