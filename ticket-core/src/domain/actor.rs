//! Who is calling: the user behind a bearer token, their role and their organisation.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rusqlite::{Connection, OptionalExtension};
use sha2::{Digest, Sha256};

use super::CoreError;
use crate::store::{Db, storage};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    Agent,
    Lawyer,
    Dispatcher,
    UnionHandler,
    Supervisor,
    Admin,
    /// A program rather than a person: the SIP gateway, the dispatcher service.
    Service,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Self::Agent,
        Self::Lawyer,
        Self::Dispatcher,
        Self::UnionHandler,
        Self::Supervisor,
        Self::Admin,
        Self::Service,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::Lawyer => "lawyer",
            Self::Dispatcher => "dispatcher",
            Self::UnionHandler => "union_handler",
            Self::Supervisor => "supervisor",
            Self::Admin => "admin",
            Self::Service => "service",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.as_str() == text)
    }
}

#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: i64,
    pub name: String,
    pub role: Role,
    pub org_id: i64,
    pub org_code: String,
    /// The place in the tree this actor works from, '/1/4/17/': a prefix match finds its
    /// subtree. For staff of the hotline centre, the provincial union's place.
    pub org_path: String,
    /// The GB/T 2260 region the actor's organisation covers ('' for industry unions).
    pub org_region: String,
}

impl Actor {
    /// Refuses the call unless the actor has one of `roles`.
    pub fn require(&self, roles: &[Role], what: &str) -> Result<(), CoreError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(CoreError::PermissionDenied(format!(
                "a {} may not {what}",
                self.role.as_str()
            )))
        }
    }

    /// Whether records of the organisation at `path` are within this actor's reach:
    /// a union handler acts for its own union only; everyone else for their subtree.
    pub fn reaches(&self, path: &str) -> bool {
        match self.role {
            Role::Admin | Role::Service => true,
            Role::UnionHandler => path == self.org_path,
            _ => path.starts_with(&self.org_path),
        }
    }

    /// SQL condition over an organisation-path column that matches `reaches`; pushes
    /// its parameter onto `params`.
    pub fn scope_sql(&self, column: &str, params: &mut Vec<rusqlite::types::Value>) -> String {
        match self.role {
            Role::Admin | Role::Service => "1".into(),
            Role::UnionHandler => {
                params.push(self.org_path.clone().into());
                format!("{column} = ?")
            }
            _ => {
                // Paths hold only digits and slashes, so LIKE needs no escaping here.
                params.push(format!("{}%", self.org_path).into());
                format!("{column} LIKE ?")
            }
        }
    }
}

/// SHA-256 of a token, as stored: a leaked database gives no usable token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new random token: 32 bytes of OS randomness, hex, with a prefix that makes it
/// recognisable in a secret scanner.
pub fn new_token() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("hl_{}", hex::encode(bytes))
}

pub fn actor_for_token(conn: &Connection, token: &str) -> Result<Option<Actor>, CoreError> {
    conn.query_row(
        // The hotline centre works for the whole province: its staff reach what the
        // centre's parent (the provincial union) reaches.
        "SELECT u.id, u.name, u.role, o.id, o.code,
                CASE WHEN o.kind = 'centre' THEN COALESCE(p.path, o.path) ELSE o.path END,
                COALESCE(CASE WHEN o.kind = 'centre' THEN p.region_code ELSE o.region_code END, '')
           FROM tokens t JOIN users u ON u.id = t.user_id JOIN organisations o ON o.id = u.org_id
                LEFT JOIN organisations p ON p.id = o.parent_id
          WHERE t.hash = ?1 AND t.revoked_at IS NULL AND u.active = 1",
        [token_hash(token)],
        |row| {
            let role: String = row.get(2)?;
            Ok(Actor {
                user_id: row.get(0)?,
                name: row.get(1)?,
                role: Role::parse(&role).unwrap_or(Role::Agent),
                org_id: row.get(3)?,
                org_code: row.get(4)?,
                org_path: row.get(5)?,
                org_region: row.get(6)?,
            })
        },
    )
    .optional()
    .map_err(storage)
}

/// Remembers recent token look-ups for a short while, so a busy client does not cost a
/// query per call; a revoked token stops working within `TTL`.
pub struct Authenticator {
    db: Db,
    cache: Mutex<HashMap<String, (Actor, Instant)>>,
}

const TTL: Duration = Duration::from_secs(30);
const CACHE_LIMIT: usize = 10_000;

impl Authenticator {
    pub fn new(db: Db) -> Self {
        Self {
            db,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Actor, CoreError> {
        let token = authorization
            .and_then(|value| {
                value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                CoreError::Unauthenticated(
                    "missing bearer token: send `authorization: Bearer <token>`".into(),
                )
            })?
            .to_owned();
        if let Some((actor, at)) = self.cache.lock().get(&token)
            && at.elapsed() < TTL
        {
            return Ok(actor.clone());
        }
        let lookup = token.clone();
        let actor = self
            .db
            .read(move |conn| actor_for_token(conn, &lookup))
            .await?
            .ok_or_else(|| CoreError::Unauthenticated("unknown or revoked token".into()))?;
        let mut cache = self.cache.lock();
        if cache.len() >= CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(token, (actor.clone(), Instant::now()));
        Ok(actor)
    }
}
