//! `quartier user`: accounts for the web app (the first administrator with `--admin`).

use crate::output::{self, Format};
use anyhow::{Result, bail};
use clap::Subcommand;
use quartier_app::store::Store;
use quartier_app::store::accounts::Role;
use std::io::Read;
use std::path::Path;

#[derive(Subcommand)]
pub enum UserCmd {
    /// Ein Konto anlegen; das Passwort kommt von der Standardeingabe (nie als Argument)
    #[command(after_help = "Beispiele:
  quartier user add admin --admin < passwort.txt
  echo \"$PASSWORT\" | quartier user add awo-mueller --role traeger --organization awo

Rollen: admin, planner (Sozialplanung), department (Fachbereich), traeger (mit --organization),
reader (lesend). Passwörter: mindestens 12 Zeichen, nicht der Benutzername, keine bekannten
Passwörter oder Muster; gespeichert als Argon2id-Hash.")]
    Add {
        name: String,
        /// Das erste Administrationskonto (= --role admin)
        #[arg(long)]
        admin: bool,
        #[command(flatten)]
        account: AccountArgs,
    },
    /// Ein Konto per Einladung anlegen: ein zeitlich begrenzter Link, mit dem die eingeladene
    /// Person ihr Passwort selbst setzt (einmal gültig, gespeichert nur als Hash)
    #[command(after_help = "Beispiele:
  quartier user invite awo-mueller --role traeger --organization awo --base-url https://quartier.kreis.de
  quartier user invite planung-2 --role planner --days 3

Der Link wird nur jetzt angezeigt. Ohne --base-url steht nur der Pfad /einladung/… da.
Abgelaufen? quartier user invite NAME --renew stellt einen neuen Link aus.")]
    Invite {
        name: String,
        #[command(flatten)]
        account: AccountArgs,
        /// Gültigkeit des Links in Tagen (1 bis 90)
        #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(i64).range(1..=90))]
        days: i64,
        /// Adresse des Servers, wie die eingeladene Person ihn erreicht (für den vollständigen Link)
        #[arg(long, value_name = "URL")]
        base_url: Option<String>,
        /// Einem schon eingeladenen Konto einen neuen Link ausstellen (der alte endet)
        #[arg(long, conflicts_with_all = ["organization", "scope", "internal"])]
        renew: bool,
    },
    /// Ein Konto sperren: es bleibt mit seiner Geschichte, kann sich aber nicht anmelden; seine
    /// Sitzungen enden (das letzte aktive Administrationskonto bleibt aktiv)
    Disable { name: String },
    /// Ein gesperrtes Konto wieder freigeben
    Enable { name: String },
    /// Was ein Träger-Konto liest: interne Ergebnisse (--internal) oder die veröffentlichten (--published)
    Access {
        name: String,
        #[arg(long, conflicts_with = "published", required_unless_present = "published")]
        internal: bool,
        #[arg(long)]
        published: bool,
    },
    /// Die Gebietsbeschränkung (Mandant) eines Kontos setzen oder aufheben
    #[command(after_help = "Beispiele:
  quartier user scope planung-bochum --scope Kommune=05911000
  quartier user scope planung-bochum --none")]
    Scope {
        name: String,
        #[arg(long, value_name = "EBENE=SCHLÜSSEL", required_unless_present = "none")]
        scope: Option<String>,
        /// Die Beschränkung aufheben (das Konto sieht wieder alles)
        #[arg(long, conflicts_with = "scope")]
        none: bool,
    },
    /// Ein Passwort neu setzen (Administration; das neue Passwort über die Standardeingabe).
    /// Alle Sitzungen des Kontos enden.
    Password { name: String },
    /// Ein Konto entfernen (das letzte Administrationskonto bleibt)
    Remove { name: String },
    /// Konten
    List {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Persönliche API-Schlüssel für Skripte (JSON-API unter /api/v1, OGC API unter /ogc)
    #[command(subcommand)]
    Token(TokenCmd),
    /// Das Änderungsprotokoll (wer, wann, was, alter und neuer Wert)
    Audit {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Subcommand)]
pub enum TokenCmd {
    /// Einen API-Schlüssel für ein Konto ausstellen: er wird nur jetzt angezeigt und nur als
    /// Hash gespeichert; er hat die Rolle, das Gebiet und die Sicht des Kontos
    #[command(after_help = "Beispiele:
  quartier user token create planung-1 --name \"R-Auswertung\"
  quartier user token create planung-1 --name \"Import Jobcenter\" --write --days 30

Verwenden: curl -H \"Authorization: Bearer qrt_…\" http://SERVER/api/v1/levels")]
    Create {
        /// Das Konto
        user: String,
        /// Wofür der Schlüssel ist (in der Liste und im Änderungsprotokoll)
        #[arg(long)]
        name: String,
        /// Auch schreiben (Angebote, Importe), soweit die Rolle des Kontos es darf; ohne: nur lesen
        #[arg(long)]
        write: bool,
        /// Gültigkeit in Tagen (1 bis 366)
        #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(i64).range(1..=366))]
        days: i64,
    },
    /// API-Schlüssel auflisten (alle oder die eines Kontos), mit Ablauf und letzter Nutzung
    List {
        /// Nur die dieses Kontos
        user: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Einen API-Schlüssel widerrufen (Nummer aus der Liste); er gilt sofort nicht mehr
    Revoke { id: i64 },
}

/// Unix seconds as the lists show them (UTC, to the minute).
fn when(t: i64) -> String {
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    format!("{} {:02}:{:02}", quartier_core::date::iso_from_days(days), secs / 3600, secs % 3600 / 60)
}

fn token(cmd: TokenCmd, db: &Path) -> Result<()> {
    use quartier_app::store::accounts::TokenScope;
    match cmd {
        TokenCmd::Create { user, name, write, days } => {
            let scope = if write { TokenScope::ReadWrite } else { TokenScope::Read };
            let (secret, t) = crate::open(db)?.create_api_token(&user, &name, scope, days * 86_400)?;
            println!(
                "API-Schlüssel {} „{}“ für „{user}“ ({}, gültig bis {} UTC), wird nur jetzt angezeigt:",
                t.id,
                t.name,
                t.scope.as_str(),
                when(t.expires)
            );
            println!("{secret}");
            Ok(())
        }
        TokenCmd::List { user, format } => {
            let tokens = crate::open(db)?.api_tokens(user.as_deref())?;
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
            let rows = tokens
                .iter()
                .map(|t| {
                    let state = if t.revoked {
                        "widerrufen"
                    } else if t.valid_at(now) {
                        "gültig"
                    } else {
                        "abgelaufen"
                    };
                    vec![
                        t.id.to_string(),
                        t.user.clone(),
                        t.name.clone(),
                        t.scope.as_str().into(),
                        when(t.created),
                        when(t.expires),
                        t.last_used.map(when).unwrap_or_default(),
                        state.into(),
                    ]
                })
                .collect::<Vec<_>>();
            output::emit(format, &["id", "user", "name", "scope", "created", "expires", "last_used", "state"], rows, &tokens)
        }
        TokenCmd::Revoke { id } => {
            crate::open(db)?.revoke_api_token(None, id)?;
            println!("API-Schlüssel {id} widerrufen");
            Ok(())
        }
    }
}

/// What `add` and `invite` ask of a new account.
#[derive(clap::Args)]
pub struct AccountArgs {
    /// Rolle (Standard: reader)
    #[arg(long, default_value = "reader")]
    role: String,
    /// Organisation eines Träger-Kontos (Kennung aus dem Angebotsverzeichnis)
    #[arg(long)]
    organization: Option<String>,
    /// Mandant: das Konto sieht die Ebene dieses Gebiets und alle darüber ganz, darunter nur
    /// das eigene Gebiet, und ändert nur dort (z. B. Kommune=05911000)
    #[arg(long, value_name = "EBENE=SCHLÜSSEL")]
    scope: Option<String>,
    /// Ein Träger-Konto liest auch interne Ergebnisse (ohne: was die Öffentlichkeit sieht)
    #[arg(long)]
    internal: bool,
}

fn parse_scope(s: &str) -> Result<quartier_app::store::accounts::Scope> {
    quartier_app::store::accounts::Scope::parse(s)
        .ok_or_else(|| anyhow::anyhow!("--scope {s}: EBENE=SCHLÜSSEL erwartet, z. B. Kommune=05911000"))
}

/// A password from standard input (never an argument: it would show in the process list).
fn password_from_stdin() -> Result<String> {
    let mut password = String::new();
    std::io::stdin().read_to_string(&mut password)?;
    let password = password.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        bail!("kein Passwort: bitte über die Standardeingabe übergeben");
    }
    Ok(password)
}

/// What `add` and `invite` share: the role and the checked scope of a new account.
struct AccountSpec {
    role: Role,
    scope: Option<quartier_app::store::accounts::Scope>,
}

impl AccountSpec {
    fn parse(role: &str, scope: Option<&str>, admin: bool) -> Result<AccountSpec> {
        let scope = scope.map(parse_scope).transpose()?;
        let role = Role::parse(role).ok_or_else(|| anyhow::anyhow!("--role {role}: admin, planner, department, traeger oder reader"))?;
        if (admin || role == Role::Admin) && scope.is_some() {
            bail!("Administrationskonten sind nicht auf ein Gebiet beschränkt: für einen Mandanten --role planner wählen");
        }
        Ok(AccountSpec { role, scope })
    }

    /// Creates the account with `make`, then scopes it and grants internal results; an
    /// account whose scope cannot be set is removed again (it must never exist unscoped).
    fn create(
        &self,
        store: &mut dyn Store,
        internal: bool,
        make: impl FnOnce(&mut dyn Store) -> Result<quartier_app::store::accounts::User>,
    ) -> Result<()> {
        if let Some(s) = &self.scope
            && !store.areas(Some(&s.level))?.iter().any(|a| a.key == s.area)
        {
            bail!("--scope {s}: Gebiet „{}“ gibt es auf Ebene „{}“ nicht", s.area, s.level);
        }
        let u = make(store)?;
        if let Some(s) = &self.scope
            && let Err(e) = store.set_user_scope(&u.name, Some(s))
        {
            store.remove_user(&u.name)?;
            return Err(e.into());
        }
        if internal {
            if self.role != Role::Traeger {
                println!("Hinweis: --internal gilt für Träger-Konten; die Rolle {} liest interne Ergebnisse ohnehin", self.role.label_de());
            } else {
                store.set_user_internal(&u.name, true)?;
            }
        }
        match &self.scope {
            Some(s) => println!("Konto „{}“ ({}) angelegt, beschränkt auf {s}", u.name, u.role.label_de()),
            None => println!("Konto „{}“ ({}) angelegt", u.name, u.role.label_de()),
        }
        Ok(())
    }
}

/// An account's state as the list shows it.
fn status(u: &quartier_app::store::accounts::User) -> &'static str {
    if u.disabled {
        "gesperrt"
    } else if u.invited {
        "eingeladen"
    } else {
        "aktiv"
    }
}

pub fn run(db: &Path, cmd: UserCmd) -> Result<()> {
    match cmd {
        UserCmd::Add { name, admin, account: AccountArgs { role, organization, scope, internal } } => {
            let role = if admin { "admin".to_string() } else { role };
            let spec = AccountSpec::parse(&role, scope.as_deref(), admin)?;
            let password = password_from_stdin()?;
            let mut store = crate::open(db)?;
            spec.create(&mut *store, internal, |store| Ok(store.add_user(&name, spec.role, organization.as_deref(), &password)?))?;
            Ok(())
        }
        UserCmd::Invite { name, account: AccountArgs { role, organization, scope, internal }, days, base_url, renew } => {
            let mut store = crate::open(db)?;
            let token = if renew {
                store.renew_invitation(&name, days * 86_400)?
            } else {
                let spec = AccountSpec::parse(&role, scope.as_deref(), false)?;
                let mut token = String::new();
                spec.create(&mut *store, internal, |store| {
                    let (u, t) = store.invite_user(&name, spec.role, organization.as_deref(), days * 86_400)?;
                    token = t;
                    Ok(u)
                })?;
                token
            };
            let base = base_url.as_deref().map(|b| b.trim_end_matches('/')).unwrap_or("");
            println!("Einladungslink für „{name}“ ({days} Tage gültig, wird nur jetzt angezeigt):");
            println!("{base}/einladung/{token}");
            Ok(())
        }
        UserCmd::Disable { name } => {
            crate::open(db)?.set_user_disabled(&name, true)?;
            println!("Konto „{name}“ gesperrt; seine Sitzungen sind beendet");
            Ok(())
        }
        UserCmd::Enable { name } => {
            crate::open(db)?.set_user_disabled(&name, false)?;
            println!("Konto „{name}“ wieder freigegeben");
            Ok(())
        }
        UserCmd::Password { name } => {
            let password = password_from_stdin()?;
            crate::open(db)?.set_password(&name, None, &password)?;
            println!("Neues Passwort für „{name}“ gesetzt; alle Sitzungen des Kontos sind beendet");
            Ok(())
        }
        UserCmd::Scope { name, scope, none } => {
            let scope = if none { None } else { scope.as_deref().map(parse_scope).transpose()? };
            crate::open(db)?.set_user_scope(&name, scope.as_ref())?;
            match scope {
                Some(s) => println!("Konto „{name}“ ist auf {s} beschränkt"),
                None => println!("Konto „{name}“ ist nicht mehr beschränkt"),
            }
            Ok(())
        }
        UserCmd::Access { name, internal, published: _ } => {
            crate::open(db)?.set_user_internal(&name, internal)?;
            println!("Konto „{name}“ liest {}", if internal { "interne Ergebnisse" } else { "die veröffentlichten Ergebnisse" });
            Ok(())
        }
        UserCmd::Token(cmd) => token(cmd, db),
        UserCmd::Remove { name } => {
            crate::open(db)?.remove_user(&name)?;
            println!("Konto „{name}“ entfernt");
            Ok(())
        }
        UserCmd::List { format } => {
            let users = crate::open(db)?.users()?;
            let rows = users
                .iter()
                .map(|u| {
                    vec![
                        u.name.clone(),
                        u.role.as_str().into(),
                        u.organization.clone().unwrap_or_default(),
                        u.scope.as_ref().map(|s| s.to_string()).unwrap_or_default(),
                        status(u).into(),
                    ]
                })
                .collect();
            output::emit(format, &["name", "role", "organization", "scope", "status"], rows, &users)
        }
        UserCmd::Audit { format } => {
            let log = crate::open(db)?.audit_log()?;
            let rows = log
                .iter()
                .map(|e| {
                    vec![
                        e.at.clone(),
                        e.who.clone(),
                        e.action.clone(),
                        e.object.clone(),
                        e.old.clone().unwrap_or_default(),
                        e.new.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            output::emit(format, &["at", "who", "action", "object", "old", "new"], rows, &log)
        }
    }
}
