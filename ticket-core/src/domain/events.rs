//! Reading the event log: a ticket's history, and the stream followers resume from.

use super::records::EventRecord;
use super::tickets::load_visible;
use super::{Actor, CoreError, Role, TicketCore};
use crate::store::events;

/// Roles that may follow the whole log: it holds every organisation's records.
const FOLLOWER_ROLES: &[Role] = &[Role::Service, Role::Admin, Role::Dispatcher];

impl TicketCore {
    pub fn require_follower(&self, actor: &Actor) -> Result<(), CoreError> {
        actor.require(FOLLOWER_ROLES, "follow the whole event log")
    }

    /// Events after `after_seq`; of one ticket when given (anyone who may see the ticket).
    pub async fn list_events(
        &self,
        actor: &Actor,
        after_seq: i64,
        ticket_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<EventRecord>, CoreError> {
        let limit = if limit <= 0 { 500 } else { limit.min(5000) };
        if ticket_id.is_none() {
            self.require_follower(actor)?;
        }
        let actor = actor.clone();
        self.db
            .read(move |conn| {
                if let Some(ticket_id) = ticket_id {
                    load_visible(conn, &actor, ticket_id)?;
                }
                events::list(conn, after_seq, ticket_id, limit)
            })
            .await
    }
}
