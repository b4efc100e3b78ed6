//! Administration that runs outside the API: importing the organisation tree, creating
//! users and tokens, seeding the sample province. Used by `hotline admin …` and at first
//! start; each call is one transaction, so a bad file changes nothing.
//!
//! Those transactions begin IMMEDIATE: they run beside a live server, and a deferred one
//! that reads and then writes fails at once (SQLITE_BUSY) when the server committed in
//! between, while an immediate one waits its turn under the busy timeout.

use rusqlite::{Connection, TransactionBehavior};
use serde::Deserialize;

use crate::domain::actor::{new_token, token_hash};
use crate::domain::{CoreError, Role, Violations};
use crate::store::events::{self, NewEvent};
use crate::store::{orgs, storage};

/// The sample province shipped with the project.
pub const SAMPLE_PROVINCE: &str = include_str!("../../deploy/sample-province.toml");

const ORG_KINDS: &[&str] = &[
    "national", "province", "city", "county", "industry", "centre",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgFile {
    #[serde(default)]
    pub organisation: Vec<OrgEntry>,
    #[serde(default)]
    pub user: Vec<UserEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgEntry {
    pub code: String,
    pub name: String,
    pub kind: String,
    #[serde(default)]
    pub parent: String,
    #[serde(default)]
    pub region_code: String,
    #[serde(default)]
    pub industry_scope: Vec<String>,
    #[serde(default)]
    pub contact_emails: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    pub name: String,
    pub display_name: String,
    pub role: String,
    pub org: String,
    #[serde(default)]
    pub email: String,
}

pub struct IssuedToken {
    pub user: String,
    pub role: String,
    pub token: String,
}

fn admin_event(
    conn: &Connection,
    now: i64,
    entity: &str,
    id: i64,
    action: &str,
    after: String,
) -> Result<(), CoreError> {
    events::append(
        conn,
        &NewEvent {
            at: now,
            actor: "admin-cli",
            entity,
            entity_id: id,
            action,
            reason: "",
            before_json: String::new(),
            after_json: after,
            ticket_id: 0,
        },
    )?;
    Ok(())
}

/// Checks every entry of an organisation file; names the entry and field of each problem.
fn check_org_file(file: &OrgFile) -> Result<(), CoreError> {
    let mut v = Violations::default();
    for (i, org) in file.organisation.iter().enumerate() {
        let at = format!("organisation[{i}] ({})", org.code);
        if org.code.trim().is_empty() || org.code.len() > 40 {
            v.push(format!("{at}.code"), "is required, at most 40 characters");
        }
        if org.name.trim().is_empty() {
            v.push(format!("{at}.name"), "is required");
        }
        if !ORG_KINDS.contains(&org.kind.as_str()) {
            v.push(
                format!("{at}.kind"),
                format!("must be one of {}", ORG_KINDS.join(", ")),
            );
        }
        if !org.region_code.is_empty() && hotline_reference::region(&org.region_code).is_none() {
            v.push(
                format!("{at}.region_code"),
                "must be a GB/T 2260 code present in the region table",
            );
        }
        if matches!(org.kind.as_str(), "province" | "city" | "county") && org.region_code.is_empty()
        {
            v.push(
                format!("{at}.region_code"),
                "is required for a territorial union",
            );
        }
        for (j, scope) in org.industry_scope.iter().enumerate() {
            if hotline_reference::industry(scope).is_none() {
                v.push(
                    format!("{at}.industry_scope[{j}]"),
                    "must be a GB/T 4754-2017 section letter or 2-digit division",
                );
            }
        }
        for (j, email) in org.contact_emails.iter().enumerate() {
            v.check(hotline_workflow::validate::email(
                &format!("{at}.contact_emails[{j}]"),
                email,
            ));
        }
    }
    for (i, user) in file.user.iter().enumerate() {
        if Role::parse(&user.role).is_none() {
            let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
            v.push(
                format!("user[{i}] ({}).role", user.name),
                format!("must be one of {}", roles.join(", ")),
            );
        }
        if user.name.trim().is_empty() {
            v.push(format!("user[{i}].name"), "is required");
        }
    }
    v.into_result()
}

/// Imports organisations (and users, if the file has them) in one transaction.
/// Organisations already present (by code) are updated; users already present are kept.
/// Returns the tokens issued to new users.
pub fn import(conn: &mut Connection, text: &str, now: i64) -> Result<Vec<IssuedToken>, CoreError> {
    let file: OrgFile = toml::from_str(text).map_err(|e| {
        CoreError::invalid("file", format!("is not a valid organisation file: {e}"))
    })?;
    check_org_file(&file)?;
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(storage)?;
    for org in &file.organisation {
        let id = orgs::upsert(
            &tx,
            &orgs::NewOrg {
                code: &org.code,
                name: &org.name,
                kind: &org.kind,
                parent_code: Some(org.parent.as_str()).filter(|p| !p.is_empty()),
                region_code: Some(org.region_code.as_str()).filter(|r| !r.is_empty()),
                industry_scope: &org.industry_scope,
                contact_emails: &org.contact_emails,
            },
        )
        .map_err(|e| match e {
            CoreError::Invalid { .. } => CoreError::invalid(
                format!("organisation ({}).parent", org.code),
                format!(
                    "organisation {} must come earlier in the file or exist already",
                    org.parent
                ),
            ),
            other => other,
        })?;
        admin_event(
            &tx,
            now,
            "organisation",
            id,
            "organisation.imported",
            serde_json::json!({"code": org.code, "name": org.name}).to_string(),
        )?;
    }
    let mut issued = Vec::new();
    for user in &file.user {
        if orgs::user_by_name(&tx, &user.name)?.is_some() {
            continue;
        }
        let token = create_user_in(
            &tx,
            &user.name,
            &user.display_name,
            &user.role,
            &user.org,
            &user.email,
            now,
        )?;
        issued.push(IssuedToken {
            user: user.name.clone(),
            role: user.role.clone(),
            token,
        });
    }
    tx.commit().map_err(storage)?;
    Ok(issued)
}

fn create_user_in(
    conn: &Connection,
    name: &str,
    display_name: &str,
    role: &str,
    org_code: &str,
    email: &str,
    now: i64,
) -> Result<String, CoreError> {
    if Role::parse(role).is_none() {
        return Err(CoreError::invalid(
            "role",
            "must be agent, lawyer, dispatcher, union_handler, supervisor, admin or service",
        ));
    }
    let org = orgs::by_code(conn, org_code)?.ok_or_else(|| {
        CoreError::invalid("org", format!("organisation {org_code} does not exist"))
    })?;
    let email = if email.is_empty() {
        None
    } else {
        Some(hotline_workflow::validate::email("email", email)?)
    };
    let id = orgs::insert_user(
        conn,
        name,
        display_name,
        role,
        org.id,
        email.as_deref(),
        now,
    )?;
    admin_event(
        conn,
        now,
        "user",
        id,
        "user.created",
        serde_json::json!({"name": name, "role": role, "org": org_code}).to_string(),
    )?;
    let token = new_token();
    orgs::insert_token(conn, &token_hash(&token), id, "initial", now)?;
    Ok(token)
}

/// Creates a user and returns their first token.
pub fn create_user(
    conn: &mut Connection,
    name: &str,
    display_name: &str,
    role: &str,
    org_code: &str,
    email: &str,
    now: i64,
) -> Result<String, CoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(storage)?;
    let token = create_user_in(&tx, name, display_name, role, org_code, email, now)?;
    tx.commit().map_err(storage)?;
    Ok(token)
}

/// A new token for an existing user; with `revoke_others`, their older tokens stop working.
pub fn issue_token(
    conn: &mut Connection,
    user: &str,
    label: &str,
    revoke_others: bool,
    now: i64,
) -> Result<String, CoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(storage)?;
    let record = orgs::user_by_name(&tx, user)?
        .ok_or_else(|| CoreError::NotFound(format!("user {user} not found")))?;
    if revoke_others {
        orgs::revoke_tokens(&tx, record.id, now)?;
    }
    let token = new_token();
    orgs::insert_token(&tx, &token_hash(&token), record.id, label, now)?;
    admin_event(
        &tx,
        now,
        "user",
        record.id,
        "user.token_issued",
        serde_json::json!({"label": label, "revoked_others": revoke_others}).to_string(),
    )?;
    tx.commit().map_err(storage)?;
    Ok(token)
}

/// A token for a program started by `hotline serve` itself (the in-process dispatcher):
/// each start revokes the previous one with the same label, so they do not pile up, and
/// leaves the user's other tokens alone.
pub fn issue_internal_token(
    conn: &mut Connection,
    user: &str,
    label: &str,
    now: i64,
) -> Result<String, CoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(storage)?;
    let record = orgs::user_by_name(&tx, user)?
        .ok_or_else(|| CoreError::NotFound(format!("user {user} not found")))?;
    tx.execute(
        "UPDATE tokens SET revoked_at = ?3 WHERE user_id = ?1 AND label = ?2 AND revoked_at IS NULL",
        rusqlite::params![record.id, label, now],
    )
    .map_err(storage)?;
    let token = new_token();
    orgs::insert_token(&tx, &token_hash(&token), record.id, label, now)?;
    tx.commit().map_err(storage)?;
    Ok(token)
}

/// Seeds the sample province into an empty database; `None` if it has organisations already.
pub fn seed_if_empty(
    conn: &mut Connection,
    now: i64,
) -> Result<Option<Vec<IssuedToken>>, CoreError> {
    let count: i64 = conn
        .query_row("SELECT COUNT(*) FROM organisations", [], |row| row.get(0))
        .map_err(storage)?;
    if count > 0 {
        return Ok(None);
    }
    import(conn, SAMPLE_PROVINCE, now).map(Some)
}
