//! Organisations and users as seen through the API.

use super::records::{OrgRecord, UserRecord};
use super::{Actor, CoreError, Role, TicketCore};
use crate::store::orgs;

impl TicketCore {
    pub async fn who_am_i(&self, actor: &Actor) -> Result<UserRecord, CoreError> {
        let name = actor.name.clone();
        self.db
            .read(move |conn| orgs::user_by_name(conn, &name))
            .await?
            .ok_or_else(|| CoreError::NotFound("user not found".into()))
    }

    /// Organisations under `under_code` (default: the whole tree). Everyone may read the
    /// tree: agents and dispatchers need to name unions; it holds no personal data.
    pub async fn list_organisations(
        &self,
        under_code: String,
    ) -> Result<Vec<OrgRecord>, CoreError> {
        self.db
            .read(move |conn| {
                let prefix = if under_code.is_empty() {
                    "/".to_owned()
                } else {
                    orgs::by_code(conn, &under_code)?
                        .ok_or_else(|| {
                            CoreError::NotFound(format!("organisation {under_code} not found"))
                        })?
                        .path
                };
                orgs::subtree(conn, &prefix)
            })
            .await
    }

    pub async fn get_organisation(&self, code: String) -> Result<OrgRecord, CoreError> {
        self.db
            .read(move |conn| {
                orgs::by_code(conn, &code)?
                    .ok_or_else(|| CoreError::NotFound(format!("organisation {code} not found")))
            })
            .await
    }

    /// Users within the actor's reach (a supervisor sees their subtree's staff).
    pub async fn list_users(
        &self,
        actor: &Actor,
        org_code: String,
    ) -> Result<Vec<UserRecord>, CoreError> {
        actor.require(
            &[Role::Supervisor, Role::Admin, Role::Dispatcher],
            "list users",
        )?;
        let actor = actor.clone();
        self.db
            .read(move |conn| {
                let prefix = if org_code.is_empty() {
                    actor.org_path.clone()
                } else {
                    let org = orgs::by_code(conn, &org_code)?
                        .filter(|o| actor.reaches(&o.path))
                        .ok_or_else(|| {
                            CoreError::NotFound(format!("organisation {org_code} not found"))
                        })?;
                    org.path
                };
                let prefix = if matches!(actor.role, Role::Admin) && org_code.is_empty() {
                    "/".into()
                } else {
                    prefix
                };
                orgs::users_under(conn, &prefix)
            })
            .await
    }
}
