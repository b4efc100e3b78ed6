//! SIP credentials of agents and lawyers, kept in the gateway's own SQLite file.
//!
//! Only the two HA1 values (`H(username:realm:password)` for MD5 and SHA-256) are
//! stored, never the password: an HA1 is all digest verification needs, and a leaked
//! file then gives an attacker credentials for this realm only, not a password that
//! may be reused elsewhere. Changing the realm therefore means setting every password
//! again.
//!
//! Every method blocks on SQLite. Async code calls them through
//! `tokio::task::spawn_blocking`; the registrar itself never touches the store (it gets
//! a lookup closure, see [`super::Registrar::handle_register`]).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use rusqlite::{Connection, OptionalExtension, params};
use sip_proto::digest::{DigestAlgorithm, compute_ha1};

/// The file name the gateway uses under its data directory.
pub const GATEWAY_DATABASE_FILE: &str = "gateway.sqlite3";

const USERNAME_MAX_CHARS: usize = 32;
const PASSWORD_MIN_CHARS: usize = 8;
const REALM_MAX_CHARS: usize = 128;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sip_credentials (
    username   TEXT    PRIMARY KEY,
    realm      TEXT    NOT NULL,
    ha1_md5    TEXT    NOT NULL,
    ha1_sha256 TEXT    NOT NULL,
    role       TEXT    NOT NULL CHECK (role IN ('agent', 'lawyer')),
    updated_at INTEGER NOT NULL            -- Unix milliseconds, UTC
);
";

/// Who a SIP account belongs to: the queues route agents' and lawyers' calls apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SipRole {
    Agent,
    Lawyer,
}

impl SipRole {
    pub fn as_str(self) -> &'static str {
        match self {
            SipRole::Agent => "agent",
            SipRole::Lawyer => "lawyer",
        }
    }

    pub fn parse(text: &str) -> Option<SipRole> {
        match text {
            "agent" => Some(SipRole::Agent),
            "lawyer" => Some(SipRole::Lawyer),
            _ => None,
        }
    }
}

impl fmt::Display for SipRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One stored account.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub username: String,
    pub realm: String,
    pub ha1_md5: String,
    pub ha1_sha256: String,
    pub role: SipRole,
    /// When the password was last set, in Unix milliseconds.
    pub updated_at_ms: i64,
}

impl Credential {
    /// The HA1 to verify a response computed with `algorithm` (the `-sess` variants
    /// start from the same HA1).
    pub fn ha1(&self, algorithm: DigestAlgorithm) -> &str {
        match algorithm {
            DigestAlgorithm::Md5 | DigestAlgorithm::Md5Sess => &self.ha1_md5,
            DigestAlgorithm::Sha256 | DigestAlgorithm::Sha256Sess => &self.ha1_sha256,
        }
    }
}

impl fmt::Debug for Credential {
    /// HA1 values are password equivalents for this realm: keep them out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("username", &self.username)
            .field("realm", &self.realm)
            .field("role", &self.role)
            .field("updated_at_ms", &self.updated_at_ms)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("{field}: {rule}")]
    Invalid {
        field: &'static str,
        rule: &'static str,
    },
    #[error("credential store {path}: {source}")]
    Database {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "credential store {path}: row {username:?} has role {role:?}, expected agent or lawyer"
    )]
    CorruptRow {
        path: PathBuf,
        username: String,
        role: String,
    },
}

/// Checks a SIP user name: 1 to 32 characters of `a-z`, `0-9`, `_`, `.`, `-`. The
/// narrow alphabet keeps names safe in URIs, digest headers, logs and file names.
pub fn validate_username(username: &str) -> Result<(), CredentialError> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c);
    if username.is_empty()
        || username.chars().count() > USERNAME_MAX_CHARS
        || !username.chars().all(allowed)
    {
        return Err(CredentialError::Invalid {
            field: "username",
            rule: "must be 1 to 32 characters of a-z, 0-9, '_', '.' or '-'",
        });
    }
    Ok(())
}

fn validate_password(password: &str) -> Result<(), CredentialError> {
    if password.chars().count() < PASSWORD_MIN_CHARS {
        return Err(CredentialError::Invalid {
            field: "password",
            rule: "must be at least 8 characters",
        });
    }
    Ok(())
}

fn validate_realm(realm: &str) -> Result<(), CredentialError> {
    // The realm is written inside a quoted string of every challenge; quotes,
    // backslashes and control characters would break the header or need escaping
    // that some phones get wrong.
    let allowed = |c: char| !c.is_control() && c != '"' && c != '\\';
    if realm.is_empty() || realm.chars().count() > REALM_MAX_CHARS || !realm.chars().all(allowed) {
        return Err(CredentialError::Invalid {
            field: "realm",
            rule: "must be 1 to 128 characters without quotes, backslashes or control characters",
        });
    }
    Ok(())
}

/// The `sip_credentials` table of `gateway.sqlite3`. `Sync`: share it as an `Arc`.
pub struct CredentialStore {
    path: PathBuf,
    connection: Mutex<Connection>,
}

impl fmt::Debug for CredentialStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl CredentialStore {
    /// Opens (creating if needed) the file and the table. Blocks.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CredentialError> {
        let path = path.as_ref().to_owned();
        let database = |source| CredentialError::Database {
            path: path.clone(),
            source,
        };
        let connection = Connection::open(&path).map_err(database)?;
        // WAL lets the admin command change a password while the gateway reads.
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(database)?;
        connection
            .busy_timeout(Duration::from_secs(5))
            .map_err(database)?;
        connection.execute_batch(SCHEMA).map_err(database)?;
        Ok(CredentialStore {
            path,
            connection: Mutex::new(connection),
        })
    }

    fn database_error(&self, source: rusqlite::Error) -> CredentialError {
        CredentialError::Database {
            path: self.path.clone(),
            source,
        }
    }

    /// Creates or replaces the account, storing both HA1 values. This is what
    /// `hotline admin set-sip-password USER` calls. Blocks.
    pub fn set_password(
        &self,
        username: &str,
        realm: &str,
        password: &str,
        role: SipRole,
    ) -> Result<Credential, CredentialError> {
        validate_username(username)?;
        validate_realm(realm)?;
        validate_password(password)?;
        let credential = Credential {
            username: username.to_owned(),
            realm: realm.to_owned(),
            ha1_md5: compute_ha1(DigestAlgorithm::Md5, username, realm, password),
            ha1_sha256: compute_ha1(DigestAlgorithm::Sha256, username, realm, password),
            role,
            updated_at_ms: unix_millis_now(),
        };
        self.connection
            .lock()
            .execute(
                "INSERT INTO sip_credentials (username, realm, ha1_md5, ha1_sha256, role, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (username) DO UPDATE SET realm = excluded.realm,
                     ha1_md5 = excluded.ha1_md5, ha1_sha256 = excluded.ha1_sha256,
                     role = excluded.role, updated_at = excluded.updated_at",
                params![
                    credential.username,
                    credential.realm,
                    credential.ha1_md5,
                    credential.ha1_sha256,
                    credential.role.as_str(),
                    credential.updated_at_ms,
                ],
            )
            .map_err(|source| self.database_error(source))?;
        Ok(credential)
    }

    /// The account, if any. Blocks.
    pub fn get(&self, username: &str) -> Result<Option<Credential>, CredentialError> {
        let connection = self.connection.lock();
        let row = connection
            .prepare_cached(
                "SELECT username, realm, ha1_md5, ha1_sha256, role, updated_at
                 FROM sip_credentials WHERE username = ?1",
            )
            .and_then(|mut statement| {
                statement
                    .query_row(params![username], RawRow::read)
                    .optional()
            })
            .map_err(|source| self.database_error(source))?;
        row.map(|row| row.into_credential(&self.path)).transpose()
    }

    /// Deletes the account; `false` if there was none. Registered phones keep their
    /// bindings until they expire unless the caller also calls
    /// [`super::Registrar::remove_user`]. Blocks.
    pub fn remove(&self, username: &str) -> Result<bool, CredentialError> {
        let deleted = self
            .connection
            .lock()
            .execute(
                "DELETE FROM sip_credentials WHERE username = ?1",
                params![username],
            )
            .map_err(|source| self.database_error(source))?;
        Ok(deleted > 0)
    }

    /// Every account, by user name. Blocks.
    pub fn list(&self) -> Result<Vec<Credential>, CredentialError> {
        let connection = self.connection.lock();
        let rows = connection
            .prepare_cached(
                "SELECT username, realm, ha1_md5, ha1_sha256, role, updated_at
                 FROM sip_credentials ORDER BY username",
            )
            .and_then(|mut statement| {
                statement
                    .query_map([], RawRow::read)?
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(|source| self.database_error(source))?;
        rows.into_iter()
            .map(|row| row.into_credential(&self.path))
            .collect()
    }
}

/// A row before its role is checked.
struct RawRow {
    username: String,
    realm: String,
    ha1_md5: String,
    ha1_sha256: String,
    role: String,
    updated_at_ms: i64,
}

impl RawRow {
    fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
        Ok(RawRow {
            username: row.get(0)?,
            realm: row.get(1)?,
            ha1_md5: row.get(2)?,
            ha1_sha256: row.get(3)?,
            role: row.get(4)?,
            updated_at_ms: row.get(5)?,
        })
    }

    fn into_credential(self, path: &Path) -> Result<Credential, CredentialError> {
        let Some(role) = SipRole::parse(&self.role) else {
            return Err(CredentialError::CorruptRow {
                path: path.to_owned(),
                username: self.username,
                role: self.role,
            });
        };
        Ok(Credential {
            username: self.username,
            realm: self.realm,
            ha1_md5: self.ha1_md5,
            ha1_sha256: self.ha1_sha256,
            role,
            updated_at_ms: self.updated_at_ms,
        })
    }
}

fn unix_millis_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open() -> (tempfile::TempDir, CredentialStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = CredentialStore::open(dir.path().join(GATEWAY_DATABASE_FILE)).expect("open");
        (dir, store)
    }

    #[test]
    fn stores_both_ha1_and_never_the_password() {
        let (dir, store) = open();
        let password = "correct horse 12351";
        store
            .set_password("agent07", "12351.example.cn", password, SipRole::Agent)
            .expect("set");
        let credential = store.get("agent07").expect("get").expect("present");
        assert_eq!(
            credential.ha1_md5,
            compute_ha1(
                DigestAlgorithm::Md5,
                "agent07",
                "12351.example.cn",
                password
            )
        );
        assert_eq!(credential.ha1_sha256.len(), 64);
        assert_eq!(credential.role, SipRole::Agent);
        assert!(credential.updated_at_ms > 0);
        assert!(!format!("{credential:?}").contains(&credential.ha1_md5));
        drop(store);
        let bytes = std::fs::read(dir.path().join(GATEWAY_DATABASE_FILE)).expect("read file");
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(password));
    }

    #[test]
    fn set_password_replaces_remove_and_list() {
        let (_dir, store) = open();
        store
            .set_password("lawyer.li", "r", "first password", SipRole::Lawyer)
            .expect("set");
        let first = store.get("lawyer.li").expect("get").expect("present");
        store
            .set_password("lawyer.li", "r", "second password", SipRole::Lawyer)
            .expect("set again");
        store
            .set_password("agent_01", "r", "password-01", SipRole::Agent)
            .expect("set");
        let second = store.get("lawyer.li").expect("get").expect("present");
        assert_ne!(first.ha1_sha256, second.ha1_sha256);
        let names: Vec<String> = store
            .list()
            .expect("list")
            .into_iter()
            .map(|c| c.username)
            .collect();
        assert_eq!(names, ["agent_01", "lawyer.li"]);
        assert!(store.remove("lawyer.li").expect("remove"));
        assert!(!store.remove("lawyer.li").expect("remove again"));
        assert!(store.get("lawyer.li").expect("get").is_none());
    }

    #[test]
    fn errors_name_the_field_and_the_rule() {
        let (_dir, store) = open();
        for bad in ["", "Agent7", "agent 7", "座席7", &"a".repeat(33)] {
            let error = store
                .set_password(bad, "r", "long enough", SipRole::Agent)
                .expect_err(bad);
            assert!(
                matches!(
                    error,
                    CredentialError::Invalid {
                        field: "username",
                        ..
                    }
                ),
                "{bad}"
            );
        }
        assert!(
            store
                .set_password(&"a".repeat(32), "r", "long enough", SipRole::Agent)
                .is_ok()
        );
        let error = store
            .set_password("agent7", "r", "short", SipRole::Agent)
            .expect_err("short password");
        assert_eq!(error.to_string(), "password: must be at least 8 characters");
        let error = store
            .set_password("agent7", "r\"", "long enough", SipRole::Agent)
            .expect_err("quote in realm");
        assert!(error.to_string().starts_with("realm: "));
    }
}
