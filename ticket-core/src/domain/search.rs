//! Finding tickets: by fields and Chinese full text, and the caller's history when a
//! call rings.

use hotline_workflow::ticket::TicketState;
use hotline_workflow::validate;
use rusqlite::types::Value;

use super::records::{CallRecord, TicketKind, TicketView};
use super::tickets::{views_of, visibility_sql};
use super::{Actor, CoreError, Role, TicketCore, text};
use crate::store::{calls, tickets};

const HISTORY_ROLES: &[Role] = &[
    Role::Agent,
    Role::Lawyer,
    Role::Dispatcher,
    Role::Supervisor,
    Role::Admin,
    Role::Service,
];

#[derive(Clone, Debug, Default)]
pub struct SearchQuery {
    pub text: String,
    pub caller_phone: String,
    pub employer_uscc: String,
    pub employer_name: String,
    pub region_code: String,
    pub industry_code: String,
    pub kind: Option<TicketKind>,
    pub state: String,
    pub topic: String,
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
    pub limit: i64,
    pub before_id: Option<i64>,
    pub awaiting_manual_dispatch: bool,
}

pub struct CallerHistory {
    pub phone: String,
    pub tickets: Vec<TicketView>,
    pub calls: Vec<CallRecord>,
    pub open_tickets: i32,
}

impl TicketCore {
    pub async fn search(
        &self,
        actor: &Actor,
        query: SearchQuery,
    ) -> Result<(Vec<TicketView>, Option<i64>), CoreError> {
        actor.require(
            &[
                Role::Agent,
                Role::Lawyer,
                Role::Dispatcher,
                Role::Supervisor,
                Role::Admin,
                Role::UnionHandler,
            ],
            "search tickets",
        )?;
        let limit = match query.limit {
            0 => 50,
            n if (1..=500).contains(&n) => n,
            _ => return Err(CoreError::invalid("limit", "must be between 1 and 500")),
        };
        let mut sql = format!("{} WHERE 1", tickets::TICKET_SELECT);
        let mut params: Vec<Value> = Vec::new();
        if !query.text.trim().is_empty() {
            let expression = text::match_expression(&query.text)
                .ok_or_else(|| CoreError::invalid("text", "must contain at least one word"))?;
            sql.push_str(" AND t.id IN (SELECT rowid FROM ticket_text WHERE ticket_text MATCH ?)");
            params.push(expression.into());
        }
        if !query.caller_phone.is_empty() {
            let phone = validate::phone("caller_phone", &query.caller_phone)?;
            sql.push_str(" AND t.caller_phone = ?");
            params.push(phone.into());
        }
        if !query.employer_uscc.is_empty() {
            let uscc = validate::uscc("employer_uscc", &query.employer_uscc)?;
            sql.push_str(" AND t.employer_uscc = ?");
            params.push(uscc.into());
        }
        if !query.employer_name.is_empty() {
            sql.push_str(" AND t.employer_name LIKE ? ESCAPE '\\'");
            params.push(format!("%{}%", like_escape(&query.employer_name)).into());
        }
        if !query.region_code.is_empty() {
            let region = hotline_reference::region(&query.region_code).ok_or_else(|| {
                CoreError::invalid(
                    "region_code",
                    "must be a GB/T 2260 region code present in the region table",
                )
            })?;
            // Province "440000" covers "44....", city "440100" covers "4401..".
            let prefix = region.code.trim_end_matches("00").to_owned();
            sql.push_str(" AND (t.employer_region LIKE ? OR t.place_region LIKE ?)");
            params.push(format!("{prefix}%").into());
            params.push(format!("{prefix}%").into());
        }
        if !query.industry_code.is_empty() {
            let code = query.industry_code.to_uppercase();
            let industry = hotline_reference::industry(&code).ok_or_else(|| {
                CoreError::invalid(
                    "industry_code",
                    "must be a GB/T 4754-2017 section or division",
                )
            })?;
            if industry.code == industry.section {
                let divisions: Vec<&str> = hotline_reference::industries()
                    .iter()
                    .filter(|i| i.section == industry.code)
                    .map(|i| i.code)
                    .collect();
                sql.push_str(&format!(
                    " AND t.employer_industry IN ({})",
                    vec!["?"; divisions.len()].join(",")
                ));
                params.extend(divisions.into_iter().map(|d| Value::from(d.to_owned())));
            } else {
                sql.push_str(" AND t.employer_industry = ?");
                params.push(industry.code.to_owned().into());
            }
        }
        if let Some(kind) = query.kind {
            sql.push_str(" AND t.kind = ?");
            params.push(kind.as_str().to_owned().into());
        }
        if !query.state.is_empty() {
            let state = TicketState::parse(&query.state).ok_or_else(|| {
                CoreError::invalid(
                    "state",
                    "must be a ticket state such as registered or dispatched",
                )
            })?;
            sql.push_str(" AND t.state = ?");
            params.push(state.as_str().to_owned().into());
        }
        if !query.topic.is_empty() {
            sql.push_str(" AND t.topic = ?");
            params.push(query.topic.clone().into());
        }
        if let Some(from) = query.created_from {
            sql.push_str(" AND t.created_at >= ?");
            params.push(from.into());
        }
        if let Some(to) = query.created_to {
            sql.push_str(" AND t.created_at < ?");
            params.push(to.into());
        }
        if query.awaiting_manual_dispatch {
            sql.push_str(
                " AND t.manual_dispatch_reason <> '' AND t.state IN ('registered', 'dispatched')",
            );
        }
        if let Some(before) = query.before_id {
            sql.push_str(" AND t.id < ?");
            params.push(before.into());
        }
        sql.push_str(&format!(" AND {}", visibility_sql(actor, &mut params)));
        sql.push_str(" ORDER BY t.id DESC LIMIT ?");
        params.push((limit + 1).into());
        let actor = actor.clone();
        self.db
            .read(move |conn| {
                let mut records = tickets::query(conn, &sql, params)?;
                let next = if records.len() as i64 > limit {
                    records.truncate(limit as usize);
                    records.last().map(|r| r.id)
                } else {
                    None
                };
                let views = views_of(conn, records)?;
                let _ = actor;
                Ok((views, next))
            })
            .await
    }

    pub async fn lookup_caller(
        &self,
        actor: &Actor,
        phone: &str,
        limit: i64,
    ) -> Result<CallerHistory, CoreError> {
        actor.require(HISTORY_ROLES, "look up callers")?;
        let phone = validate::phone("phone", phone)?;
        let limit = if limit <= 0 { 20 } else { limit.min(200) };
        let mut params: Vec<Value> = vec![phone.clone().into()];
        let scope = visibility_sql(actor, &mut params);
        params.push(limit.into());
        let sql = format!(
            "{} WHERE t.caller_phone = ? AND {scope} ORDER BY t.id DESC LIMIT ?",
            tickets::TICKET_SELECT
        );
        self.db
            .read(move |conn| {
                let records = tickets::query(conn, &sql, params)?;
                let open_tickets = records.iter().filter(|r| r.state.is_open()).count() as i32;
                let tickets = views_of(conn, records)?;
                let calls = calls::with_details_all(conn, calls::by_caller(conn, &phone, limit)?)?;
                Ok(CallerHistory {
                    phone,
                    tickets,
                    calls,
                    open_tickets,
                })
            })
            .await
    }
}

fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
