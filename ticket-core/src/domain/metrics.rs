//! The figures supervisors watch, computed straight from the system of record. The
//! definitions are in `ticket-core/METRICS.md`; keep the two in step.

use std::collections::HashMap;

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};

use super::{Actor, CoreError, Role, TicketCore};
use crate::store::{orgs, storage};

#[derive(Clone, Debug, Default)]
pub struct Rate {
    pub numerator: i64,
    pub denominator: i64,
}

impl Rate {
    pub fn value(&self) -> f64 {
        if self.denominator == 0 {
            0.0
        } else {
            self.numerator as f64 / self.denominator as f64
        }
    }
}

#[derive(Clone, Debug)]
pub struct Count {
    pub key: String,
    pub label: String,
    pub count: i64,
}

#[derive(Clone, Debug, Default)]
pub struct UnionFigures {
    pub org_code: String,
    pub org_name: String,
    pub dispatched: i64,
    pub on_time_closure: Rate,
    pub timely_sign_for: Rate,
    pub returns: Rate,
    pub overdue: i64,
    pub urges: i64,
}

#[derive(Clone, Debug, Default)]
pub struct Summary {
    pub tickets: i64,
    pub work_orders_dispatched: i64,
    pub on_time_closure: Rate,
    pub timely_sign_for: Rate,
    pub returns: Rate,
    pub satisfaction: Rate,
    pub first_contact_resolution: Rate,
    pub overdue: i64,
    pub urges: i64,
    pub amount_recovered_fen: i64,
    pub workers_helped: i64,
    pub by_channel: Vec<Count>,
    pub by_kind: Vec<Count>,
    pub by_topic: Vec<Count>,
    pub by_region: Vec<Count>,
    pub by_industry: Vec<Count>,
    pub by_employer: Vec<Count>,
    pub by_union: Vec<UnionFigures>,
    pub calls_offered: i64,
    pub calls_answered: Rate,
    pub calls_abandoned: i64,
    pub average_wait_ms: i64,
}

#[derive(Clone, Debug)]
pub struct Overdue {
    pub work_order_id: i64,
    pub ticket_number: String,
    pub org_code: String,
    pub org_name: String,
    pub state: String,
    pub stage: &'static str,
    pub due_at: i64,
    pub urge_count: i64,
}

pub struct Period {
    pub from: i64,
    pub to: i64,
    pub org_code: String,
    pub top: i64,
}

/// Work orders of unions under `prefix` (a tree path), as SQL over `w` joined to `o`.
const SCOPED_WORK_ORDERS: &str =
    "work_orders w JOIN organisations o ON o.id = w.org_id WHERE o.path LIKE ?1";

/// Work-order figures of one period, per union: [org, dispatched, returned, signed on time,
/// sign decided, urges, callbacks satisfied, callbacks reached, amount, workers].
const DISPATCH_FIGURES: &str = "SELECT o.code, o.name, COUNT(*),
        SUM(w.state = 'returned'),
        SUM(w.signed_at IS NOT NULL AND w.signed_at <= w.sign_due_at),
        SUM(w.signed_at IS NOT NULL OR (w.state <> 'returned' AND w.sign_due_at < ?4)),
        SUM(w.urge_count),
        SUM(w.callback_result IN ('satisfied', 'basically_satisfied')),
        SUM(w.callback_result IN ('satisfied', 'basically_satisfied', 'unsatisfied')),
        SUM(CASE WHEN w.replied_at IS NOT NULL THEN w.amount_recovered_fen ELSE 0 END),
        SUM(CASE WHEN w.replied_at IS NOT NULL THEN w.workers_helped ELSE 0 END)
   FROM work_orders w JOIN organisations o ON o.id = w.org_id
  WHERE o.path LIKE ?1 AND w.dispatched_at >= ?2 AND w.dispatched_at < ?3
  GROUP BY o.id ORDER BY o.path";

/// Reply deadlines falling in the period that have been met or missed, per union:
/// [org, replied by the deadline, due (replied, or deadline passed)].
const DUE_FIGURES: &str =
    "SELECT o.code, SUM(w.replied_at IS NOT NULL AND w.replied_at <= w.reply_due_at),
        SUM(w.replied_at IS NOT NULL OR w.reply_due_at < ?4)
   FROM work_orders w JOIN organisations o ON o.id = w.org_id
  WHERE o.path LIKE ?1 AND w.state <> 'returned' AND w.reply_due_at >= ?2 AND w.reply_due_at < ?3
  GROUP BY o.id";

const OVERDUE_CONDITION: &str = "((w.state = 'dispatched' AND w.sign_due_at < ?2)
        OR (w.state IN ('dispatched', 'signed') AND w.reply_due_at < ?2))";

fn rate(numerator: i64, denominator: i64) -> Rate {
    Rate {
        numerator,
        denominator,
    }
}

impl TicketCore {
    /// The subtree to report on: `org_code` if the actor reaches it, else the actor's own.
    fn report_scope(
        conn: &Connection,
        actor: &Actor,
        org_code: &str,
    ) -> Result<(String, bool), CoreError> {
        let path = if org_code.is_empty() {
            match actor.role {
                Role::Admin | Role::Service => "/".to_owned(),
                _ => actor.org_path.clone(),
            }
        } else {
            orgs::by_code(conn, org_code)?
                .filter(|o| actor.reaches(&o.path))
                .ok_or_else(|| CoreError::NotFound(format!("organisation {org_code} not found")))?
                .path
        };
        // Tickets and calls belong to the centre, which works for the whole tree: report them
        // only when the scope is the whole tree; a subtree sees tickets through its work orders.
        let root: String = conn
            .query_row(
                "SELECT path FROM organisations WHERE parent_id IS NULL ORDER BY id LIMIT 1",
                [],
                |r| r.get(0),
            )
            .map_err(storage)?;
        let whole_tree = path == "/" || path == root;
        Ok((path, whole_tree))
    }

    pub async fn metrics_summary(
        &self,
        actor: &Actor,
        period: Period,
    ) -> Result<Summary, CoreError> {
        actor.require(
            &[
                Role::Supervisor,
                Role::Dispatcher,
                Role::Admin,
                Role::Service,
                Role::UnionHandler,
            ],
            "read figures",
        )?;
        if period.to <= period.from {
            return Err(CoreError::invalid("to_ms", "must be after from_ms"));
        }
        let now = self.now();
        let actor = actor.clone();
        self.db
            .read(move |conn| {
                let (path, whole_tree) = Self::report_scope(conn, &actor, &period.org_code)?;
                let like = format!("{path}%");
                let top = if period.top <= 0 { 10 } else { period.top.min(100) };
                let mut s = Summary::default();
                let mut unions: Vec<UnionFigures> = Vec::new();
                let mut stmt = conn.prepare_cached(DISPATCH_FIGURES).map_err(storage)?;
                let mut rows = stmt
                    .query(rusqlite::params![like, period.from, period.to, now])
                    .map_err(storage)?;
                let (mut sat, mut reached) = (0, 0);
                while let Some(r) = rows.next().map_err(storage)? {
                    let get = |i: usize| -> Result<i64, CoreError> { r.get::<_, Option<i64>>(i).map(|v| v.unwrap_or(0)).map_err(storage) };
                    let u = UnionFigures {
                        org_code: r.get(0).map_err(storage)?,
                        org_name: r.get(1).map_err(storage)?,
                        dispatched: get(2)?,
                        returns: rate(get(3)?, get(2)?),
                        timely_sign_for: rate(get(4)?, get(5)?),
                        urges: get(6)?,
                        ..Default::default()
                    };
                    sat += get(7)?;
                    reached += get(8)?;
                    s.amount_recovered_fen += get(9)?;
                    s.workers_helped += get(10)?;
                    unions.push(u);
                }
                drop(rows);
                let mut stmt = conn.prepare_cached(DUE_FIGURES).map_err(storage)?;
                let due: Vec<(String, i64, i64)> = stmt
                    .query_map(rusqlite::params![like, period.from, period.to, now], |r| {
                        Ok((r.get(0)?, r.get::<_, Option<i64>>(1)?.unwrap_or(0), r.get::<_, Option<i64>>(2)?.unwrap_or(0)))
                    })
                    .map_err(storage)?
                    .collect::<Result<_, _>>()
                    .map_err(storage)?;
                for (code, on_time, total) in due {
                    match unions.iter_mut().find(|u| u.org_code == code) {
                        Some(u) => u.on_time_closure = rate(on_time, total),
                        None => unions.push(UnionFigures {
                            org_name: orgs::by_code(conn, &code)?.map(|o| o.name).unwrap_or_default(),
                            org_code: code,
                            on_time_closure: rate(on_time, total),
                            ..Default::default()
                        }),
                    }
                }
                let overdue: Vec<(String, i64)> = conn
                    .prepare_cached(&format!(
                        "SELECT o.code, COUNT(*) FROM {SCOPED_WORK_ORDERS} AND {OVERDUE_CONDITION} GROUP BY o.id"
                    ))
                    .map_err(storage)?
                    .query_map(rusqlite::params![like, now], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(storage)?
                    .collect::<Result<_, _>>()
                    .map_err(storage)?;
                for (code, count) in overdue {
                    if let Some(u) = unions.iter_mut().find(|u| u.org_code == code) {
                        u.overdue = count;
                    } else {
                        unions.push(UnionFigures {
                            org_name: orgs::by_code(conn, &code)?.map(|o| o.name).unwrap_or_default(),
                            org_code: code,
                            overdue: count,
                            ..Default::default()
                        });
                    }
                }
                for u in &unions {
                    s.work_orders_dispatched += u.dispatched;
                    s.returns.numerator += u.returns.numerator;
                    s.returns.denominator += u.returns.denominator;
                    s.timely_sign_for.numerator += u.timely_sign_for.numerator;
                    s.timely_sign_for.denominator += u.timely_sign_for.denominator;
                    s.on_time_closure.numerator += u.on_time_closure.numerator;
                    s.on_time_closure.denominator += u.on_time_closure.denominator;
                    s.overdue += u.overdue;
                    s.urges += u.urges;
                }
                s.satisfaction = rate(sat, reached);
                s.by_union = unions;
                ticket_figures(conn, &mut s, &like, whole_tree, &period, top)?;
                if whole_tree {
                    call_figures(conn, &mut s, &period)?;
                }
                Ok(s)
            })
            .await
    }

    pub async fn overdue_work_orders(
        &self,
        actor: &Actor,
        org_code: String,
    ) -> Result<Vec<Overdue>, CoreError> {
        actor.require(
            &[
                Role::Supervisor,
                Role::Dispatcher,
                Role::Admin,
                Role::Service,
                Role::UnionHandler,
            ],
            "read figures",
        )?;
        let now = self.now();
        let actor = actor.clone();
        self.db
            .read(move |conn| {
                let (path, _) = Self::report_scope(conn, &actor, &org_code)?;
                let sql = format!(
                    "SELECT w.id, t.number, o.code, o.name, w.state, w.sign_due_at, w.reply_due_at, w.urge_count
                       FROM {SCOPED_WORK_ORDERS} AND {OVERDUE_CONDITION}
                       ORDER BY COALESCE(w.reply_due_at, w.sign_due_at) LIMIT 1000"
                )
                .replace("work_orders w JOIN", "work_orders w JOIN tickets t ON t.id = w.ticket_id JOIN");
                conn.prepare_cached(&sql)
                    .map_err(storage)?
                    .query_map(rusqlite::params![format!("{path}%"), now], |r| {
                        let state: String = r.get(4)?;
                        let sign_due: Option<i64> = r.get(5)?;
                        let reply_due: Option<i64> = r.get(6)?;
                        let sign_late = state == "dispatched" && sign_due.is_some_and(|d| d < now);
                        let (stage, due) = if sign_late { ("sign_for", sign_due) } else { ("reply", reply_due) };
                        Ok(Overdue {
                            work_order_id: r.get(0)?,
                            ticket_number: r.get(1)?,
                            org_code: r.get(2)?,
                            org_name: r.get(3)?,
                            state,
                            stage,
                            due_at: due.unwrap_or(0),
                            urge_count: r.get(7)?,
                        })
                    })
                    .map_err(storage)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(storage)
            })
            .await
    }
}

/// Tickets created in the period: within the whole tree, all of them; within a subtree,
/// those with a work order sent into it.
fn ticket_figures(
    conn: &Connection,
    s: &mut Summary,
    like: &str,
    whole_tree: bool,
    period: &Period,
    top: i64,
) -> Result<(), CoreError> {
    let scope = if whole_tree {
        "1"
    } else {
        "EXISTS (SELECT 1 FROM work_orders w JOIN organisations o ON o.id = w.org_id WHERE w.ticket_id = t.id AND o.path LIKE ?3)"
    };
    let base = format!("FROM tickets t WHERE t.created_at >= ?1 AND t.created_at < ?2 AND {scope}");
    let args = |extra: Option<i64>| -> Vec<Value> {
        let mut v: Vec<Value> = vec![period.from.into(), period.to.into()];
        if !whole_tree {
            v.push(like.to_owned().into());
        }
        if let Some(extra) = extra {
            v.push(extra.into());
        }
        v
    };
    let (tickets, first_contact): (i64, i64) = conn
        .prepare_cached(&format!(
            "SELECT COUNT(*), COALESCE(SUM(EXISTS (SELECT 1 FROM events e
                 WHERE e.ticket_id = t.id AND e.action = 'ticket.resolved_on_call')), 0) {base}"
        ))
        .map_err(storage)?
        .query_row(params_from_iter(args(None)), |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(storage)?;
    s.tickets = tickets;
    s.first_contact_resolution = rate(first_contact, tickets);
    // One range scan (covered by the tickets_created_figures index) counted here, rather
    // than six GROUP BY statements each scanning the period again.
    let mut tallies: [HashMap<String, (String, i64)>; 6] = Default::default();
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT t.channel, t.kind, t.topic, COALESCE(NULLIF(t.employer_region, ''), t.place_region),
                    t.employer_industry, t.employer_key, t.employer_name {base}"
        ))
        .map_err(storage)?;
    let mut rows = stmt.query(params_from_iter(args(None))).map_err(storage)?;
    while let Some(row) = rows.next().map_err(storage)? {
        for (column, tally) in tallies.iter_mut().enumerate() {
            let key: String = row.get(column).map_err(storage)?;
            if key.is_empty() {
                continue;
            }
            let entry = tally.entry(key).or_insert_with(|| (String::new(), 0));
            entry.1 += 1;
            if column == 5 && entry.0.is_empty() {
                entry.0 = row.get(6).map_err(storage)?;
            }
        }
    }
    let top = |tally: HashMap<String, (String, i64)>| -> Vec<Count> {
        let mut counts: Vec<Count> = tally
            .into_iter()
            .map(|(key, (label, count))| Count { key, label, count })
            .collect();
        counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        counts.truncate(top as usize);
        counts
    };
    let [channel, kind, topic, region, industry, employer] = tallies;
    s.by_channel = top(channel);
    s.by_kind = top(kind);
    s.by_topic = top(topic);
    s.by_region = top(region);
    s.by_industry = top(industry);
    s.by_employer = top(employer);
    for c in s
        .by_channel
        .iter_mut()
        .chain(s.by_kind.iter_mut())
        .chain(s.by_topic.iter_mut())
    {
        c.label = c.key.clone();
    }
    for c in s.by_region.iter_mut() {
        c.label = hotline_reference::region_full_name(&c.key).unwrap_or_default();
    }
    for c in s.by_industry.iter_mut() {
        c.label = hotline_reference::industry(&c.key)
            .map(|i| i.name.to_owned())
            .unwrap_or_default();
    }
    Ok(())
}

fn call_figures(conn: &Connection, s: &mut Summary, period: &Period) -> Result<(), CoreError> {
    let (offered, answered, abandoned, wait): (i64, i64, i64, Option<f64>) = conn
        .query_row(
            "SELECT COUNT(*), COALESCE(SUM(answered_at IS NOT NULL), 0), COALESCE(SUM(state = 'abandoned'), 0),
                    AVG(CASE WHEN answered_at IS NOT NULL THEN answered_at - offered_at END)
               FROM calls WHERE offered_at >= ?1 AND offered_at < ?2",
            rusqlite::params![period.from, period.to],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .map_err(storage)?;
    s.calls_offered = offered;
    s.calls_answered = rate(answered, offered);
    s.calls_abandoned = abandoned;
    s.average_wait_ms = wait.unwrap_or(0.0).round() as i64;
    Ok(())
}
