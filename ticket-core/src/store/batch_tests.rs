//! The statements that read many tickets' (or calls') details at once, and the duplicate
//! search in two statements, give what the one-row and one-statement forms give.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::{Connection, params};

use super::{calls, open_connection, schema, tickets};

struct Fixture {
    _dir: tempfile::TempDir,
    conn: Connection,
    user: i64,
    org: i64,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = open_connection(&dir.path().join("batch.sqlite3"), true).unwrap();
    schema::migrate(&mut conn).unwrap();
    crate::admin::seed_if_empty(&mut conn, 0).unwrap();
    let (user, org) = conn
        .query_row(
            "SELECT id, org_id FROM users ORDER BY id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    Fixture {
        _dir: dir,
        conn,
        user,
        org,
    }
}

impl Fixture {
    fn ticket(&self, number: usize, phone: &str, key: &str, topic: &str, state: &str, at: i64) {
        self.conn
            .execute(
                "INSERT INTO tickets (number, channel, kind, priority, state, topic, caller_phone,
                     employer_key, workers, description, created_at, updated_at, created_by,
                     intake_org_id)
                 VALUES (?1, 'phone', 'complaint', 'normal', ?2, ?3, ?4, ?5, 1, '...', ?6, ?6,
                         ?7, ?8)",
                params![
                    format!("GD{number:08}"),
                    state,
                    topic,
                    phone,
                    key,
                    at,
                    self.user,
                    self.org
                ],
            )
            .unwrap();
    }
}

#[test]
fn details_of_many_match_details_of_each() {
    let f = fixture();
    let c = &f.conn;
    for n in 1..=6 {
        f.ticket(n, "13800000001", "", "欠薪", "registered", n as i64);
    }
    for n in 1..=4 {
        c.execute(
            "INSERT INTO calls(call_uuid, caller_phone, state) VALUES (?1, '13800000001', 'ended')",
            [format!("call-{n}")],
        )
        .unwrap();
    }
    // Inserted out of order, with equal times, so the order each list comes in is tested.
    for (ticket, call) in [(3, 4), (3, 1), (1, 2), (5, 3), (5, 1), (2, 4), (3, 2)] {
        tickets::link_call(c, ticket, call).unwrap();
    }
    for (call, at, kind) in [
        (1, 30, "ended"),
        (1, 10, "queued"),
        (1, 30, "x"),
        (2, 5, "a"),
    ] {
        c.execute(
            "INSERT INTO call_events(event_id, call_id, kind, at) VALUES (?1, ?2, ?3, ?4)",
            params![format!("{call}-{at}-{kind}"), call, kind, at],
        )
        .unwrap();
    }
    for (ticket, at, text) in [(2, 9, "b"), (2, 3, "a"), (4, 1, "c"), (2, 9, "d")] {
        tickets::add_note(c, ticket, at, f.user, text).unwrap();
    }
    tickets::link_duplicates(c, 6, &[4, 1, 5]).unwrap();
    tickets::link_duplicates(c, 2, &[1]).unwrap();
    for (ticket, state) in [(3, "closed"), (1, "dispatched"), (3, "dispatched")] {
        c.execute(
            "INSERT INTO work_orders(ticket_id, org_id, state, rule, dispatch_reason,
                 dispatched_at, body, updated_at)
             VALUES (?1, ?2, ?3, 'region', '', 0, '{}', 0)",
            params![ticket, f.org, state],
        )
        .unwrap();
    }

    let ids = [6, 2, 9, 5, 3, 1, 4];
    let mut batched = tickets::details(c, &ids).unwrap();
    for id in ids {
        let d = batched.remove(&id).unwrap();
        assert_eq!(d.call_ids, tickets::call_ids(c, id).unwrap(), "ticket {id}");
        assert_eq!(d.duplicate_ids, tickets::duplicate_ids(c, id).unwrap());
        let notes = |n: &[crate::domain::records::Note]| -> Vec<(i64, String, String)> {
            n.iter()
                .map(|n| (n.at, n.author.clone(), n.text.clone()))
                .collect()
        };
        assert_eq!(notes(&d.notes), notes(&tickets::notes(c, id).unwrap()));
        let orders = |w: &[crate::domain::records::WorkOrderSummary]| -> Vec<(i64, String)> {
            w.iter().map(|w| (w.id, w.state.clone())).collect()
        };
        assert_eq!(
            orders(&d.work_orders),
            orders(&tickets::work_order_summaries(c, id).unwrap())
        );
    }
    assert!(batched.is_empty());
    assert!(tickets::details(c, &[]).unwrap().is_empty());

    let all = calls::by_caller(c, "13800000001", 20).unwrap();
    assert_eq!(all.len(), 4);
    let one_by_one: Vec<_> = (all.iter().cloned())
        .map(|call| calls::with_details(c, call).unwrap())
        .collect();
    let at_once = calls::with_details_all(c, all).unwrap();
    let shape = |calls: &[crate::domain::records::CallRecord]| -> Vec<String> {
        calls
            .iter()
            .map(|call| {
                let events: Vec<_> = call.events.iter().map(|e| (e.at, &e.kind)).collect();
                format!("{} {events:?} {:?}", call.id, call.ticket_ids)
            })
            .collect()
    };
    assert_eq!(shape(&at_once), shape(&one_by_one));
}

/// The duplicate search as one UNION, as it was before it became two statements.
const UNION: &str = "SELECT id FROM tickets WHERE caller_phone = ?1 AND created_at >= ?4
         AND state IN ('registered', 'dispatched')
     UNION
     SELECT id FROM tickets WHERE ?2 <> '' AND employer_key = ?2 AND topic = ?3
         AND created_at >= ?4 AND state IN ('registered', 'dispatched')
     ORDER BY id DESC LIMIT 20";

#[test]
fn duplicate_candidates_match_the_union() {
    let f = fixture();
    let mut rng = StdRng::seed_from_u64(3);
    let phones = ["13800000001", "13800000002", "13800000003"];
    let keys = ["", "k1", "k2"];
    let topics = ["欠薪", "工伤"];
    let states = ["registered", "dispatched", "closed"];
    for n in 0..400 {
        f.ticket(
            n,
            phones[rng.random_range(0..phones.len())],
            keys[rng.random_range(0..keys.len())],
            topics[rng.random_range(0..topics.len())],
            states[rng.random_range(0..states.len())],
            rng.random_range(0..1_000),
        );
    }
    for phone in phones.iter().chain(&["13900000000"]) {
        for key in keys {
            for topic in topics {
                for since in [0, 500, 990, 2_000] {
                    let union: Vec<i64> = (f.conn.prepare(UNION).unwrap())
                        .query_map(params![phone, key, topic, since], |r| r.get(0))
                        .unwrap()
                        .collect::<Result<_, _>>()
                        .unwrap();
                    let found =
                        tickets::duplicate_candidates(&f.conn, phone, key, topic, since).unwrap();
                    assert_eq!(found, union, "{phone} {key:?} {topic} {since}");
                }
            }
        }
    }
}
