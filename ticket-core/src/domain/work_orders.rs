//! Work orders: dispatch to a handling union and every later step of the lifecycle.

use hotline_workflow::ticket::{self as ticket_lifecycle, TicketAction};
use hotline_workflow::work_order::{self as lifecycle, Action, WorkOrder, WorkOrderState};
use rusqlite::types::Value;

use super::records::WorkOrderRecord;
use super::tickets::{load_visible, log_ticket_change, to_json};
use super::{Actor, CoreError, Role, TicketCore, Violations};
use crate::store::events::{self, NewEvent};
use crate::store::{orgs, tickets, work_orders};

/// Organisation kinds that handle work orders (the hotline centre itself does not).
const HANDLING_KINDS: &[&str] = &["province", "city", "county", "industry"];

pub struct Dispatch {
    pub ticket_id: i64,
    pub org_code: String,
    pub rule: String,
    pub reason: String,
    pub sign_due_at: Option<i64>,
    pub reply_due_at: Option<i64>,
}

#[derive(Clone, Debug, Default)]
pub struct WorkOrderFilter {
    pub org_code: String,
    pub state: String,
    pub overdue_only: bool,
    pub limit: i64,
    pub before_id: Option<i64>,
}

/// Who may take each step: the handling union acts on what it was sent; the province
/// reviews, calls back and closes; supervisors urge and decide extensions.
fn roles_for(action: &Action) -> &'static [Role] {
    match action {
        Action::Sign | Action::Reply(_) | Action::Return | Action::RequestExtension { .. } => {
            &[Role::UnionHandler, Role::Admin]
        }
        Action::DecideExtension { .. } | Action::Reopen { .. } => {
            &[Role::Dispatcher, Role::Supervisor, Role::Admin]
        }
        Action::Review { .. } => &[Role::Dispatcher, Role::Admin],
        Action::Callback { .. } => &[Role::Agent, Role::Dispatcher, Role::Admin],
        Action::Close => &[Role::Dispatcher, Role::Admin, Role::Service],
        Action::Urge { .. } => &[
            Role::Dispatcher,
            Role::Supervisor,
            Role::Admin,
            Role::Service,
        ],
    }
}

impl TicketCore {
    pub async fn dispatch(
        &self,
        actor: &Actor,
        request: Dispatch,
    ) -> Result<WorkOrderRecord, CoreError> {
        actor.require(
            &[Role::Dispatcher, Role::Admin, Role::Service],
            "dispatch work orders",
        )?;
        let mut v = Violations::default();
        if request.org_code.trim().is_empty() {
            v.push("org_code", "is required: the handling union's code");
        }
        if request.rule.trim().is_empty() {
            v.push(
                "rule",
                "is required: the routing rule or manual decision that chose the union",
            );
        }
        v.into_result()?;
        let now = self.now();
        let lifecycle = WorkOrder::dispatched(now, request.sign_due_at, request.reply_due_at)?;
        let actor = actor.clone();
        self.db
            .write(move |conn| {
                let ticket = load_visible(conn, &actor, request.ticket_id)?.ticket;
                let org = orgs::by_code(conn, &request.org_code)?.ok_or_else(|| {
                    CoreError::invalid(
                        "org_code",
                        format!("organisation {} does not exist", request.org_code),
                    )
                })?;
                if !HANDLING_KINDS.contains(&org.kind.as_str()) {
                    return Err(CoreError::invalid(
                        "org_code",
                        format!(
                            "{} is a {}, which does not handle work orders",
                            org.code, org.kind
                        ),
                    ));
                }
                let open = work_orders::has_open(conn, ticket.id)?;
                let mut after = ticket.clone();
                after.state = ticket_lifecycle::apply(ticket.state, TicketAction::Dispatch, open)?;
                // Placed now, by the dispatcher or by a person: off the manual queue.
                after.manual_dispatch_reason.clear();
                let id = work_orders::insert(
                    conn,
                    ticket.id,
                    org.id,
                    &request.rule,
                    &request.reason,
                    &lifecycle,
                )?;
                let record = work_orders::get(conn, id)?.expect("just inserted").record;
                events::append(
                    conn,
                    &NewEvent {
                        at: now,
                        actor: &actor.name,
                        entity: "work_order",
                        entity_id: id,
                        action: "work_order.dispatched",
                        reason: &format!("{}: {}", request.rule, request.reason),
                        before_json: String::new(),
                        after_json: to_json(&record),
                        ticket_id: ticket.id,
                    },
                )?;
                if after != ticket {
                    after.updated_at = now;
                    after.version += 1;
                    tickets::update(conn, &after)?;
                    log_ticket_change(
                        conn,
                        &actor,
                        now,
                        "ticket.dispatched",
                        &request.reason,
                        &ticket,
                        &after,
                    )?;
                }
                Ok(record)
            })
            .await
    }

    pub async fn act(
        &self,
        actor: &Actor,
        id: i64,
        action: Action,
        reason: String,
        expected_version: Option<i64>,
    ) -> Result<WorkOrderRecord, CoreError> {
        let now = self.now();
        let policy = self.config.work_order_policy();
        let actor = actor.clone();
        self.db
            .write(move |conn| {
                let scoped = work_orders::get(conn, id)?
                    .filter(|w| actor.reaches(&w.org_path))
                    .ok_or_else(|| CoreError::NotFound(format!("work order {id} not found")))?;
                actor.require(
                    roles_for(&action),
                    &format!("{} work orders", action.event_name()),
                )?;
                let before = scoped.record;
                if let Some(expected) = expected_version
                    && expected != before.version
                {
                    return Err(CoreError::Conflict(format!(
                        "work order {id} is at version {}, not {expected}",
                        before.version
                    )));
                }
                let next = lifecycle::apply(&before.lifecycle, &action, &reason, now, &policy)?;
                let version = work_orders::update(conn, id, before.version, &next, now)?;
                let after = WorkOrderRecord {
                    lifecycle: next,
                    version,
                    updated_at: now,
                    ..before.clone()
                };
                events::append(
                    conn,
                    &NewEvent {
                        at: now,
                        actor: &actor.name,
                        entity: "work_order",
                        entity_id: id,
                        action: action.event_name(),
                        reason: &reason,
                        before_json: to_json(&before),
                        after_json: to_json(&after),
                        ticket_id: before.ticket_id,
                    },
                )?;
                follow_on_ticket(conn, &actor, now, &before, &after)?;
                Ok(after)
            })
            .await
    }

    pub async fn get_work_order(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<WorkOrderRecord, CoreError> {
        let actor = actor.clone();
        self.db
            .read(move |conn| {
                work_orders::get(conn, id)?
                    .filter(|w| actor.reaches(&w.org_path))
                    .map(|w| w.record)
                    .ok_or_else(|| CoreError::NotFound(format!("work order {id} not found")))
            })
            .await
    }

    pub async fn list_work_orders(
        &self,
        actor: &Actor,
        filter: WorkOrderFilter,
    ) -> Result<(Vec<WorkOrderRecord>, Option<i64>), CoreError> {
        let limit = match filter.limit {
            0 => 100,
            n if (1..=1000).contains(&n) => n,
            _ => return Err(CoreError::invalid("limit", "must be between 1 and 1000")),
        };
        let mut params: Vec<Value> = Vec::new();
        let scope = actor.scope_sql("o.path", &mut params);
        let mut sql = format!("{} WHERE {scope}", work_orders::WORK_ORDER_SELECT);
        if !filter.org_code.is_empty() {
            sql.push_str(" AND o.code = ?");
            params.push(filter.org_code.clone().into());
        }
        if !filter.state.is_empty() {
            let state = WorkOrderState::parse(&filter.state).ok_or_else(|| {
                CoreError::invalid(
                    "state",
                    "must be a work-order state such as dispatched or signed",
                )
            })?;
            sql.push_str(" AND w.state = ?");
            params.push(state.as_str().to_owned().into());
        }
        if filter.overdue_only {
            sql.push_str(
                " AND ((w.state = 'dispatched' AND w.sign_due_at < ?)
                   OR (w.state IN ('dispatched', 'signed') AND w.reply_due_at < ?))",
            );
            let now = self.now();
            params.push(now.into());
            params.push(now.into());
        }
        if let Some(before) = filter.before_id {
            sql.push_str(" AND w.id < ?");
            params.push(before.into());
        }
        sql.push_str(" ORDER BY w.id DESC LIMIT ?");
        params.push((limit + 1).into());
        self.db
            .read(move |conn| {
                let mut found: Vec<WorkOrderRecord> = work_orders::query(conn, &sql, params)?
                    .into_iter()
                    .map(|w| w.record)
                    .collect();
                let next = if found.len() as i64 > limit {
                    found.truncate(limit as usize);
                    found.last().map(|w| w.id)
                } else {
                    None
                };
                Ok((found, next))
            })
            .await
    }
}

/// Keeps the ticket in step with its work order: closed together, reopened together.
fn follow_on_ticket(
    conn: &rusqlite::Connection,
    actor: &Actor,
    now: i64,
    before: &WorkOrderRecord,
    after: &WorkOrderRecord,
) -> Result<(), CoreError> {
    let (from, to) = (before.lifecycle.state, after.lifecycle.state);
    let action = match (from, to) {
        (f, WorkOrderState::Closed) if f != WorkOrderState::Closed => TicketAction::WorkOrderClosed,
        (WorkOrderState::Closed, t) if t != WorkOrderState::Closed => {
            TicketAction::WorkOrderReopened
        }
        _ => return Ok(()),
    };
    let ticket = tickets::get(conn, before.ticket_id)?.ok_or_else(|| {
        CoreError::Storage(format!(
            "ticket {} of work order {} is missing",
            before.ticket_id, before.id
        ))
    })?;
    let mut updated = ticket.clone();
    updated.state = ticket_lifecycle::apply(ticket.state, action, to.is_open())?;
    updated.closed_at = match action {
        TicketAction::WorkOrderClosed => Some(now),
        _ => None,
    };
    updated.updated_at = now;
    updated.version += 1;
    tickets::update(conn, &updated)?;
    let event = if action == TicketAction::WorkOrderClosed {
        "ticket.closed"
    } else {
        "ticket.reopened"
    };
    log_ticket_change(
        conn,
        actor,
        now,
        event,
        &format!("work order {}", after.id),
        &ticket,
        &updated,
    )
}
