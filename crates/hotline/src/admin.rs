//! `hotline admin …`: work on a data directory directly, with or without the server running
//! (SQLite's WAL lets both write; each command is one transaction).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use ticket_core::admin;
use ticket_core::app::DATABASE_FILE;
use ticket_core::store;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// Bring the database schema up to date.
    Migrate {
        #[arg(long, env = "HOTLINE_DATA_DIR", default_value = "./hotline-data")]
        data_dir: PathBuf,
    },
    /// Import or update organisations (and users) from a TOML file; all or nothing.
    ImportOrgs {
        file: PathBuf,
        #[arg(long, env = "HOTLINE_DATA_DIR", default_value = "./hotline-data")]
        data_dir: PathBuf,
    },
    /// Create a user and print their first token.
    CreateUser {
        #[arg(long)]
        name: String,
        #[arg(long)]
        display_name: String,
        /// agent, lawyer, dispatcher, union_handler, supervisor, admin or service
        #[arg(long)]
        role: String,
        /// The organisation's code, e.g. 440106
        #[arg(long)]
        org: String,
        #[arg(long, default_value = "")]
        email: String,
        #[arg(long, env = "HOTLINE_DATA_DIR", default_value = "./hotline-data")]
        data_dir: PathBuf,
    },
    /// Issue a new token for a user and print it.
    IssueToken {
        #[arg(long)]
        user: String,
        #[arg(long, default_value = "issued")]
        label: String,
        /// Revoke the user's other tokens.
        #[arg(long)]
        revoke_others: bool,
        #[arg(long, env = "HOTLINE_DATA_DIR", default_value = "./hotline-data")]
        data_dir: PathBuf,
    },
    /// Set the SIP password a user's softphone registers with (only its HA1 is
    /// stored). The password is read from the environment, never from the command
    /// line, so it stays out of shell history and `ps`.
    SetSipPassword {
        /// The user name, the same as in the directory, e.g. agent01
        #[arg(long)]
        user: String,
        /// agent or lawyer
        #[arg(long)]
        role: String,
        /// Realm of the gateway's registrar (`[gateway] realm`).
        #[arg(long, default_value = "12351.hotline")]
        realm: String,
        #[arg(long, env = "HOTLINE_SIP_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long, env = "HOTLINE_DATA_DIR", default_value = "./hotline-data")]
        data_dir: PathBuf,
    },
}

fn open(data_dir: &Path) -> anyhow::Result<store::Connection> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create {}", data_dir.display()))?;
    let mut conn = store::open_connection(&data_dir.join(DATABASE_FILE), true)?;
    store::schema::migrate(&mut conn)?;
    Ok(conn)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub fn run(command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::SetSipPassword {
            user,
            role,
            realm,
            password,
            data_dir,
        } => {
            let role = sip_gateway::registrar::SipRole::parse(&role)
                .with_context(|| format!("role: {role:?} must be agent or lawyer"))?;
            let dir = data_dir.join("gateway");
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let store = sip_gateway::registrar::CredentialStore::open(
                dir.join(sip_gateway::registrar::GATEWAY_DATABASE_FILE),
            )?;
            store.set_password(&user, &realm, &password, role)?;
            println!(
                "SIP password set for {user} ({role}) in realm {realm}; \
                 a running gateway picks it up within 5 s"
            );
        }
        AdminCommand::Migrate { data_dir } => {
            std::fs::create_dir_all(&data_dir)
                .with_context(|| format!("cannot create {}", data_dir.display()))?;
            let mut conn = store::open_connection(&data_dir.join(DATABASE_FILE), true)?;
            let applied = store::schema::migrate(&mut conn)?;
            if applied.is_empty() {
                println!("schema is up to date (version {})", store::schema::LATEST);
            } else {
                println!("applied migrations {applied:?}");
            }
        }
        AdminCommand::ImportOrgs { file, data_dir } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let mut conn = open(&data_dir)?;
            let issued = admin::import(&mut conn, &text, now_ms())?;
            println!("imported {}", file.display());
            for t in issued {
                println!("  new user {:<20} {:<14} {}", t.user, t.role, t.token);
            }
        }
        AdminCommand::CreateUser {
            name,
            display_name,
            role,
            org,
            email,
            data_dir,
        } => {
            let mut conn = open(&data_dir)?;
            let token = admin::create_user(
                &mut conn,
                &name,
                &display_name,
                &role,
                &org,
                &email,
                now_ms(),
            )?;
            println!("{token}");
        }
        AdminCommand::IssueToken {
            user,
            label,
            revoke_others,
            data_dir,
        } => {
            let mut conn = open(&data_dir)?;
            let token = admin::issue_token(&mut conn, &user, &label, revoke_others, now_ms())?;
            println!("{token}");
        }
    }
    Ok(())
}
