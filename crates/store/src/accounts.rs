//! Accounts, sessions and the audit log. Passwords are stored as Argon2id hashes (PHC
//! strings); session tokens only as BLAKE2b hashes, so a copy of the database opens no
//! session. Failed logins are counted per account and per address for throttling.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::Serialize;

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads internal results.
    Reader,
    /// A welfare organisation's user: its own offers, conferences.
    Traeger,
    /// A department: reads everything internal, its own notes and measures.
    Department,
    /// Social planning: imports, indicators, indices, reports.
    Planner,
    /// Everything, including accounts.
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "reader" | "lesend" => Role::Reader,
            "traeger" | "träger" => Role::Traeger,
            "department" | "fachbereich" => Role::Department,
            "planner" | "sozialplanung" => Role::Planner,
            "admin" => Role::Admin,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Traeger => "traeger",
            Role::Department => "department",
            Role::Planner => "planner",
            Role::Admin => "admin",
        }
    }

    pub fn label_de(self) -> &'static str {
        match self {
            Role::Reader => "Lesend",
            Role::Traeger => "Träger",
            Role::Department => "Fachbereich",
            Role::Planner => "Sozialplanung",
            Role::Admin => "Administration",
        }
    }

    /// Imports, indicators, indices, levels: social planning and administration.
    pub fn may_change_data(self) -> bool {
        matches!(self, Role::Planner | Role::Admin)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// The organisation (offer directory id) of a Träger user.
    pub organization: Option<String>,
    /// A tenant's area (e.g. one municipality of the Kreis): the account sees the levels at and
    /// above its level whole, below it only what lies inside; None: everything.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// A Träger account reads internal results only when granted; otherwise it sees what the
    /// public sees (disclosure-controlled) and its working pages. Other roles always do.
    pub reads_internal: bool,
    /// Disabled by an administrator: kept with its history, but no sign-in and no session.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub disabled: bool,
    /// Invited and not yet accepted: no password set.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub invited: bool,
}

impl User {
    /// Whether this account sees internal (not disclosure-controlled) results.
    pub fn sees_internal(&self) -> bool {
        self.role != Role::Traeger || self.reads_internal
    }
}

/// An area an account is limited to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Scope {
    pub level: String,
    pub area: String,
}

impl Scope {
    /// From the stored columns (both or neither).
    pub fn from_columns(level: Option<String>, area: Option<String>) -> Option<Scope> {
        Some(Scope { level: level?, area: area? })
    }

    /// `LEVEL=KEY`, as the command line takes it.
    pub fn parse(s: &str) -> Option<Scope> {
        let (level, area) = s.split_once('=')?;
        let (level, area) = (level.trim(), area.trim());
        (!level.is_empty() && !area.is_empty()).then(|| Scope { level: level.to_string(), area: area.to_string() })
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}={}", self.level, self.area)
    }
}

/// An open session: its user and the CSRF token of its forms.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub user: User,
    pub csrf: String,
    /// Seconds until the session expires (12 hours after sign-in).
    pub seconds_left: i64,
}

/// What a personal API token allows: reading, or reading and writing (within the account's
/// role; a token never allows more than its account).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum TokenScope {
    #[serde(rename = "read")]
    Read,
    #[serde(rename = "read-write")]
    ReadWrite,
}

impl TokenScope {
    pub fn parse(s: &str) -> Option<TokenScope> {
        match s {
            "read" | "lesen" => Some(TokenScope::Read),
            "read-write" | "write" | "schreiben" => Some(TokenScope::ReadWrite),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::ReadWrite => "read-write",
        }
    }
}

/// A personal API token as listed (the secret itself is shown once, at creation).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApiToken {
    pub id: i64,
    /// The account it acts for.
    pub user: String,
    pub name: String,
    pub scope: TokenScope,
    /// Unix seconds.
    pub created: i64,
    pub expires: i64,
    pub last_used: Option<i64>,
    pub revoked: bool,
}

impl ApiToken {
    /// Usable now: not revoked, not expired.
    pub fn valid_at(&self, now: i64) -> bool {
        !self.revoked && now < self.expires
    }
}

/// Every API token starts with this, so secret scanners and people recognise one.
pub const API_TOKEN_PREFIX: &str = "qrt_";

/// How long an API token is valid unless said otherwise (90 days), and at most (a year).
pub const API_TOKEN_SECONDS: i64 = 90 * 86_400;
pub const API_TOKEN_MAX_SECONDS: i64 = 366 * 86_400;

/// How long an invitation link stays valid unless said otherwise (7 days).
pub const INVITATION_SECONDS: i64 = 7 * 86_400;

/// The password hash of an invited account: no password verifies against it.
pub const INVITED_HASH: &str = "!";

/// How long a session lasts after sign-in.
pub const SESSION_SECONDS: i64 = 12 * 3600;

/// One change in the audit log.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub who: String,
    pub action: String,
    pub object: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// Common passwords and patterns a password must not contain (lower case).
const BREACHED: &[&str] = &[
    "passwort",
    "password",
    "123456",
    "12345678",
    "qwertz",
    "qwerty",
    "asdf",
    "hallo",
    "sommer",
    "winter",
    "fruehling",
    "frühling",
    "herbst",
    "geheim",
    "willkommen",
    "welcome",
    "letmein",
    "admin",
    "quartier",
    "berlin",
    "iloveyou",
    "abc123",
    "111111",
    "000000",
];

/// Password rules: at least 12 characters, not the name, none of the well-known passwords or
/// patterns, not one character repeated, not a run of consecutive characters.
pub fn check_password(name: &str, password: &str) -> Result<(), String> {
    let p = password.to_lowercase();
    if password.chars().count() < 12 {
        return Err("Das Passwort braucht mindestens 12 Zeichen.".into());
    }
    if !name.is_empty() && p.contains(&name.to_lowercase()) {
        return Err("Das Passwort darf den Benutzernamen nicht enthalten.".into());
    }
    if let Some(b) = BREACHED.iter().find(|b| p.contains(*b)) {
        return Err(format!("Das Passwort enthält „{b}“, das in Listen geknackter Passwörter steht."));
    }
    let chars: Vec<char> = p.chars().collect();
    if chars.iter().all(|c| *c == chars[0]) {
        return Err("Das Passwort besteht aus einem einzigen Zeichen.".into());
    }
    if chars.windows(2).all(|w| w[1] as u32 == w[0] as u32 + 1) {
        return Err("Das Passwort ist eine Zeichenfolge wie „abcdef…“.".into());
    }
    Ok(())
}

/// Argon2id (the crate's defaults: m = 19 MiB, t = 2, p = 1, OWASP's recommendation) with
/// a random salt.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| e.to_string())?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    argon2::Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
}

pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A random token (hex).
pub fn token() -> Result<String, String> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| e.to_string())?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// What the store keeps of a session token.
pub fn token_hash(token: &str) -> String {
    use blake2::Digest;
    let d = blake2::Blake2b512::digest(token.as_bytes());
    d.iter().take(32).map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_rules_and_hashes() {
        assert!(check_password("anna", "kurz").unwrap_err().contains("12 Zeichen"));
        assert!(check_password("anna", "anna-im-rathaus-2025").unwrap_err().contains("Benutzernamen"));
        assert!(check_password("bert", "MeinPasswort2025!").unwrap_err().contains("passwort"));
        assert!(check_password("bert", "aaaaaaaaaaaaaa").is_err());
        assert!(check_password("bert", "abcdefghijklmn").is_err());
        assert!(check_password("bert", "Kiez-Linde-Teich-7").is_ok());
        let h = hash_password("Kiez-Linde-Teich-7").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password(&h, "Kiez-Linde-Teich-7") && !verify_password(&h, "Kiez-Linde-Teich-8"));
        assert_ne!(hash_password("Kiez-Linde-Teich-7").unwrap(), h, "salted");
        assert_eq!(token_hash("x").len(), 64);
    }
}
