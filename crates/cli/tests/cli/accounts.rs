//! `quartier user`: the first administrator, roles, password rules; signing in to the served app.

use crate::support::*;
use std::io::Write;
use std::process::{Command, Stdio};

/// `quartier ARGS…` with `input` on standard input: (success, stdout + stderr).
pub fn with_stdin(env: &Env, args: &[&str], input: &str) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_quartier"))
        .env("QUARTIER_DB", env.db())
        .env("QUARTIER_DATABASE", env.database.as_deref().unwrap_or_default())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

/// `quartier user add …` with the password on standard input.
pub fn add(env: &Env, args: &[&str], password: &str) -> (bool, String) {
    let args: Vec<&str> = ["user", "add"].into_iter().chain(args.iter().copied()).collect();
    with_stdin(env, &args, &format!("{password}\n"))
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

/// `user password` sets a new password (stdin) and ends the account's sessions; `user remove`
/// keeps the last administrator.
#[test]
fn password_reset_and_removal() {
    let env = Env::new();
    env.musterstadt();
    assert!(add(&env, &["chefin", "--admin"], "Rathaus-Turm-Uhr-1903").0);
    assert!(add(&env, &["leser", "--role", "reader"], "Ahornweg-Brunnen-7").0);
    let with_stdin = |args: &[&str], input: &str| with_stdin(&env, args, input);
    let (ok, out) = with_stdin(&["user", "password", "leser"], "leser1234567\n");
    assert!(!ok && out.contains("Benutzername"), "the rules apply: {out}");
    let (ok, out) = with_stdin(&["user", "password", "niemand"], "Lindenallee-Turm-42\n");
    assert!(!ok && out.contains("„niemand“ gibt es nicht"), "{out}");
    let (ok, out) = with_stdin(&["user", "password", "leser"], "Lindenallee-Turm-42\n");
    assert!(ok && out.contains("Sitzungen"), "{out}");
    let mut store = env.location().open().unwrap();
    assert!(store.login("leser", "Ahornweg-Brunnen-7", "t").unwrap().is_none());
    assert!(store.login("leser", "Lindenallee-Turm-42", "t").unwrap().is_some());
    drop(store);
    let err = env.run(&["user", "remove", "chefin"]).fails();
    assert!(err.contains("letzte Administrationskonto"), "{err}");
    assert!(env.run(&["user", "remove", "leser"]).ok().contains("entfernt"));
    let users = json(&env.run(&["user", "list", "--format", "json"]).ok());
    assert_eq!(users.as_array().unwrap().len(), 1);
    let audit = env.run(&["user", "audit", "--format", "csv"]).ok();
    assert!(audit.contains("Passwort zurückgesetzt") && audit.contains("Konto entfernt"), "{audit}");
}

/// Tenants: an account limited to one Stadtteil; a scope that names no area creates no
/// account; the limit can be lifted.
#[test]
fn accounts_limited_to_an_area() {
    let env = Env::new();
    env.musterstadt();
    let (ok, out) = add(&env, &["planung-altstadt", "--role", "planner", "--scope", "Stadtteil=01"], "Kastanie-Flur-Bank-8");
    assert!(ok && out.contains("beschränkt auf Stadtteil=01"), "{out}");
    let (ok, out) = add(&env, &["planung-x", "--role", "planner", "--scope", "Stadtteil=99"], "Kastanie-Flur-Bank-8");
    assert!(!ok && out.contains("„99“"), "{out}");
    let (ok, out) = add(&env, &["chef", "--admin", "--scope", "Stadtteil=01"], "Rathaus-Turm-Uhr-1903");
    assert!(!ok && out.contains("nicht auf ein Gebiet beschränkt"), "{out}");
    let (ok, out) = add(&env, &["planung-y", "--role", "planner", "--scope", "Stadtteil"], "Kastanie-Flur-Bank-8");
    assert!(!ok && out.contains("EBENE=SCHLÜSSEL"), "{out}");
    let users = json(&env.run(&["user", "list", "--format", "json"]).ok());
    assert_eq!(users.as_array().unwrap().len(), 1, "refused accounts were not created: {users}");
    assert_eq!(users[0]["scope"]["area"], "01");
    assert!(env.run(&["user", "scope", "planung-altstadt", "--none"]).ok().contains("nicht mehr beschränkt"));
    let users = json(&env.run(&["user", "list", "--format", "json"]).ok());
    assert!(users[0].get("scope").is_none(), "{users}");
    let audit = env.run(&["user", "audit", "--format", "csv"]).ok();
    assert!(audit.contains("Gebietsbeschränkung"), "{audit}");
}

/// An unreachable database server and an unknown account: clear messages, no password shown.
#[test]
fn unreachable_server_and_unknown_accounts_are_named() {
    let env = Env::new();
    env.musterstadt();
    let err = env.run(&["--database", "postgres://quartier:geheim@127.0.0.1:1/kreis", "levels", "list"]).fails();
    assert!(err.contains("postgres://quartier@127.0.0.1:1/kreis kann nicht geöffnet werden") && !err.contains("geheim"), "{err}");
    let err = env.run(&["user", "access", "niemand", "--internal"]).fails();
    assert!(err.contains("„niemand“ gibt es nicht"), "{err}");
    let err = env.run(&["user", "scope", "niemand", "--scope", "Stadtteil=01"]).fails();
    assert!(err.contains("„niemand“ gibt es nicht"), "{err}");
}

/// `user invite` prints a single-use link once; the invitee sets the password in the served app;
/// `user disable` keeps the account but refuses it, `user enable` lets it in again.
#[test]
fn invitations_and_disabled_accounts_from_the_command_line() {
    let env = Env::new();
    env.musterstadt();
    assert!(add(&env, &["chefin", "--admin"], "Rathaus-Turm-Uhr-1903").0);
    let out =
        env.run(&["user", "invite", "planerin", "--role", "planner", "--days", "2", "--base-url", "https://quartier.kreis.example/"]).ok();
    assert!(out.contains("2 Tage gültig"), "{out}");
    let link = out.lines().find(|l| l.starts_with("https://quartier.kreis.example/einladung/")).unwrap_or_else(|| panic!("{out}"));
    let path = link.trim_start_matches("https://quartier.kreis.example").to_string();
    let users = json(&env.run(&["user", "list", "--format", "json"]).ok());
    assert_eq!(users[1]["name"], "planerin");
    assert_eq!(users[1]["invited"], true);
    assert!(env.run(&["user", "list"]).ok().contains("eingeladen"));
    // Bad input: an unknown role, a validity out of range, a renewal for an account with a password.
    assert!(env.run(&["user", "invite", "x", "--role", "chef"]).fails().contains("--role chef"));
    let usage = env.run(&["user", "invite", "x", "--days", "91"]);
    assert!(usage.out.status.code() == Some(2) && usage.stderr().contains("1..=90"), "{}", usage.stderr());
    assert!(env.run(&["user", "invite", "chefin", "--renew"]).fails().contains("schon ein Passwort"));
    // The invitation page answers without an account (a 200 with the form, no redirect to sign-in).
    let server = crate::demo::serve_with(&env, &[]);
    let (head, page) = crate::demo::get(&server.addr, &path);
    assert!(head.starts_with("HTTP/1.1 200") && page.contains("planerin") && head.contains("quartier_einladung="), "{head}");
    drop(server);
    // A renewed link ends the first.
    let out = env.run(&["user", "invite", "planerin", "--renew"]).ok();
    assert!(out.contains("/einladung/") && !out.contains(&path), "{out}");
    let server = crate::demo::serve_with(&env, &[]);
    assert!(crate::demo::get(&server.addr, &path).0.starts_with("HTTP/1.1 410"));
    drop(server);
    // Disable and enable.
    assert!(env.run(&["user", "disable", "chefin"]).fails().contains("letzte aktive"));
    let out = env.run(&["user", "disable", "planerin"]).ok();
    assert!(out.contains("gesperrt"), "{out}");
    assert!(env.run(&["user", "list"]).ok().contains("gesperrt"));
    assert!(env.run(&["user", "enable", "planerin"]).ok().contains("freigegeben"));
    assert!(env.run(&["user", "disable", "gibtsnicht"]).fails().contains("gibtsnicht"));
}

/// A GET with an API token over HTTP: (head, body).
fn get_with_token(addr: &str, path: &str, token: &str) -> (String, String) {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n").unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    let (head, body) = buf.split_once("\r\n\r\n").unwrap();
    (head.to_string(), body.to_string())
}

/// `user token create` prints a token once; the served API takes it with the account's rights;
/// `user token list` shows it with its last use, `user token revoke` ends it at once;
/// `serve --api-rate` sets each token's rate.
#[test]
fn api_tokens_from_the_command_line() {
    let env = Env::new();
    env.musterstadt();
    assert!(add(&env, &["chefin", "--admin"], "Rathaus-Turm-Uhr-1903").0);
    let out = env.run(&["user", "token", "create", "chefin", "--name", "R-Auswertung", "--days", "30"]).ok();
    assert!(out.contains("read") && out.contains("wird nur jetzt angezeigt"), "{out}");
    let secret = out.lines().last().unwrap().trim().to_string();
    assert!(secret.starts_with("qrt_") && secret.len() == 68, "{out}");
    let server = crate::demo::serve_with(&env, &["--api-rate", "600"]);
    let (head, body) = get_with_token(&server.addr, "/api/v1/levels", &secret);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}\n{body}");
    assert_eq!(json(&body)["levels"][0]["name"], "Stadtteil", "{body}");
    // Without the token the API says what it needs.
    let (head, body) = crate::demo::get(&server.addr, "/api/v1/levels");
    assert!(head.starts_with("HTTP/1.1 401") && head.to_lowercase().contains("content-type: application/problem+json"), "{head}");
    assert!(body.contains("API-Schlüssel"), "{body}");
    let list = json(&env.run(&["user", "token", "list", "chefin", "--format", "json"]).ok());
    assert_eq!((list[0]["name"].as_str(), list[0]["scope"].as_str()), (Some("R-Auswertung"), Some("read")), "{list}");
    assert!(list[0]["last_used"].is_number(), "{list}");
    let id = list[0]["id"].to_string();
    assert!(env.run(&["user", "token", "revoke", &id]).ok().contains("widerrufen"));
    let (head, body) = get_with_token(&server.addr, "/api/v1/levels", &secret);
    assert!(head.starts_with("HTTP/1.1 401") && body.contains("widerrufen"), "{head}\n{body}");
    assert!(env.run(&["user", "token", "list"]).ok().contains("widerrufen"));
    drop(server);
    // Bad input: an unknown account, a validity out of range, an unknown token, a zero rate.
    assert!(env.run(&["user", "token", "create", "gibtsnicht", "--name", "x"]).fails().contains("gibtsnicht"));
    let usage = env.run(&["user", "token", "create", "chefin", "--name", "x", "--days", "400"]);
    assert!(usage.out.status.code() == Some(2) && usage.stderr().contains("1..=366"), "{}", usage.stderr());
    assert!(env.run(&["user", "token", "revoke", "999"]).fails().contains("999"));
    assert_eq!(env.run(&["serve", "--api-rate", "0"]).out.status.code(), Some(2));
}
