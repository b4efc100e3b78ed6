//! Handing tickets to the dispatcher, and the manual queue for what routing cannot place.

use hotline_workflow::ticket::{self as lifecycle, TicketAction};

use super::records::TicketView;
use super::tickets::{load_visible, log_ticket_change};
use super::{Actor, CoreError, Role, TicketCore};
use crate::store::{tickets, work_orders};

impl TicketCore {
    /// An agent hands a ticket over for routing; the dispatcher follows `ticket.submitted`.
    pub async fn submit_for_dispatch(
        &self,
        actor: &Actor,
        id: i64,
        note: String,
    ) -> Result<TicketView, CoreError> {
        actor.require(
            &[
                Role::Agent,
                Role::Lawyer,
                Role::Dispatcher,
                Role::Admin,
                Role::Service,
            ],
            "submit tickets for dispatch",
        )?;
        self.change_queue(actor, id, "ticket.submitted", note, |ticket, now| {
            ticket.submitted_at = Some(now);
            ticket.manual_dispatch_reason.clear();
        })
        .await
    }

    /// Routing could not decide (unknown place, returned twice…): a person must choose.
    pub async fn request_manual_dispatch(
        &self,
        actor: &Actor,
        id: i64,
        reason: String,
    ) -> Result<TicketView, CoreError> {
        actor.require(
            &[Role::Dispatcher, Role::Admin, Role::Service],
            "queue tickets for manual dispatch",
        )?;
        if reason.trim().is_empty() {
            return Err(CoreError::invalid(
                "reason",
                "is required: why routing could not decide",
            ));
        }
        let stored = reason.trim().to_owned();
        self.change_queue(
            actor,
            id,
            "ticket.manual_dispatch_requested",
            reason,
            move |ticket, _| {
                ticket.manual_dispatch_reason = stored;
            },
        )
        .await
    }

    async fn change_queue(
        &self,
        actor: &Actor,
        id: i64,
        event: &'static str,
        reason: String,
        change: impl FnOnce(&mut super::records::TicketRecord, i64) + Send + 'static,
    ) -> Result<TicketView, CoreError> {
        let now = self.now();
        let actor = actor.clone();
        self.db
            .write(move |conn| {
                let before = load_visible(conn, &actor, id)?.ticket;
                // Only a ticket that could be dispatched now can wait for dispatch.
                lifecycle::apply(
                    before.state,
                    TicketAction::Dispatch,
                    work_orders::has_open(conn, id)?,
                )?;
                let mut after = before.clone();
                change(&mut after, now);
                after.updated_at = now;
                after.version += 1;
                tickets::update(conn, &after)?;
                log_ticket_change(conn, &actor, now, event, &reason, &before, &after)?;
                load_visible(conn, &actor, id)
            })
            .await
    }
}
