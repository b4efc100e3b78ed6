//! A month on an injected clock: work orders are dispatched, signed, replied, reviewed and
//! called back on a script, `now` steps through the month in 15-minute steps, and every
//! notification that falls due is collected with the step it appeared at.

use chrono::NaiveDateTime;
use hotline_calendar::Calendar;

use super::china_time::{china_time_from_ms, ms_from_china_time};
use super::*;

const STEP_MS: i64 = 15 * 60 * 1000;

fn ms(china_time: &str) -> i64 {
    let time = NaiveDateTime::parse_from_str(china_time, "%Y-%m-%d %H:%M").unwrap();
    ms_from_china_time(time)
}

fn minutes(ms: i64) -> String {
    china_time_from_ms(ms, "t")
        .unwrap()
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

#[derive(Clone, Copy, Debug)]
enum Step {
    Sign,
    Reply,
    Rework,
    Approve,
    CallBack,
    Close,
}

struct SimulatedOrder {
    name: &'static str,
    snapshot: WorkOrderSnapshot,
    sent: SentNotifications,
    script: Vec<(i64, Step)>,
    /// `(step at which it was seen, what fell due)`.
    fired: Vec<(i64, Due)>,
    /// The plan a long-running service would cache, rebuilt on every change.
    plan: DeadlinePlan,
    /// When the cached plan said to look again.
    next_wake_ms: Option<i64>,
}

struct Simulation {
    policy: Policy,
    calendar: Calendar,
    orders: Vec<SimulatedOrder>,
}

impl Simulation {
    fn new() -> Simulation {
        Simulation {
            policy: Policy::default(),
            calendar: Calendar::builtin(),
            orders: Vec::new(),
        }
    }

    fn dispatch(
        &mut self,
        name: &'static str,
        kind: Kind,
        priority: Priority,
        at: &str,
        script: &[(&str, Step)],
    ) {
        let dispatched_at_ms = ms(at);
        let deadlines = deadlines_at_dispatch(
            &self.policy,
            &self.calendar,
            kind,
            priority,
            dispatched_at_ms,
        )
        .unwrap();
        let snapshot = WorkOrderSnapshot {
            state: WorkOrderState::Dispatched,
            kind,
            priority,
            dispatched_at_ms,
            sign_due_at_ms: Some(deadlines.sign_due_at_ms),
            reply_clock_started_at_ms: None,
            reply_due_at_ms: Some(deadlines.reply_due_at_ms),
            replied_at_ms: None,
            approved_at_ms: None,
        };
        let plan = DeadlinePlan::new(&self.policy, &self.calendar, &snapshot).unwrap();
        self.orders.push(SimulatedOrder {
            name,
            snapshot,
            sent: SentNotifications::new(),
            script: script.iter().map(|(at, step)| (ms(at), *step)).collect(),
            fired: Vec::new(),
            plan,
            next_wake_ms: None,
        });
    }

    fn run(&mut self, from: &str, until: &str) {
        let mut now = ms(from);
        while now <= ms(until) {
            for index in 0..self.orders.len() {
                self.step_order(index, now);
            }
            now += STEP_MS;
        }
    }

    fn step_order(&mut self, index: usize, now: i64) {
        let (policy, calendar) = (&self.policy, &self.calendar);
        let order = &mut self.orders[index];
        let mut changed = false;
        while let Some(&(at, step)) = order.script.first() {
            if at > now {
                break;
            }
            order.script.remove(0);
            apply(policy, calendar, &mut order.snapshot, step, at);
            changed = true;
        }
        if changed {
            order.plan = DeadlinePlan::new(policy, calendar, &order.snapshot).unwrap();
            order.sent.retain_current(&order.plan);
            order.next_wake_ms = None;
        }
        let result = schedule(policy, calendar, &order.snapshot, &order.sent, now).unwrap();
        assert_eq!(result.calendar_gap, None);
        // The cached plan answers exactly like the one-shot call.
        let mut polled = Vec::new();
        let polled_wake = order.plan.poll(&order.sent, now, &mut polled);
        assert_eq!(polled, result.due, "{}", order.name);
        assert_eq!(polled_wake, result.next_wake_ms, "{}", order.name);
        // Sleeping until the announced wake-up would have missed nothing.
        if let Some(wake) = order.next_wake_ms {
            assert!(
                result.due.is_empty() || now >= wake,
                "{}: due at {} before the announced wake-up {}",
                order.name,
                minutes(now),
                minutes(wake)
            );
        }
        if !result.due.is_empty() || order.next_wake_ms.is_none_or(|wake| now >= wake) {
            order.next_wake_ms = result.next_wake_ms;
        }
        for due in result.due {
            assert!(
                order.sent.insert(due.key()),
                "{}: {:?} twice",
                order.name,
                due
            );
            assert!(due.due_at_ms <= now && now - due.due_at_ms < STEP_MS);
            order.fired.push((now, due));
        }
    }

    fn fired(&self, name: &str) -> Vec<(Stage, Level, String)> {
        let order = self.orders.iter().find(|order| order.name == name).unwrap();
        order
            .fired
            .iter()
            .map(|(_, due)| (due.stage, due.level, minutes(due.due_at_ms)))
            .collect()
    }
}

fn apply(
    policy: &Policy,
    calendar: &Calendar,
    snapshot: &mut WorkOrderSnapshot,
    step: Step,
    at: i64,
) {
    use WorkOrderState as S;
    match step {
        Step::Sign => snapshot.state = S::Signed,
        Step::Reply => {
            snapshot.state = S::Replied;
            snapshot.replied_at_ms = Some(at);
        }
        Step::Rework => {
            let deadline =
                reply_deadline_after_rework(policy, calendar, snapshot.kind, snapshot.priority, at)
                    .unwrap();
            snapshot.state = S::Signed;
            snapshot.replied_at_ms = None;
            snapshot.reply_clock_started_at_ms = Some(at);
            snapshot.reply_due_at_ms = Some(deadline.due_at_ms);
        }
        Step::Approve => {
            snapshot.state = S::Approved;
            snapshot.approved_at_ms = Some(at);
        }
        Step::CallBack => snapshot.state = S::CalledBack,
        Step::Close => snapshot.state = S::Closed,
    }
}

fn expected(rows: &[(Stage, Level, &str)]) -> Vec<(Stage, Level, String)> {
    rows.iter()
        .map(|(stage, level, at)| (*stage, *level, (*at).to_owned()))
        .collect()
}

#[test]
fn a_month_around_national_day_2026() {
    use Level::*;
    use Stage::*;
    let mut simulation = Simulation::new();
    simulation.dispatch(
        "normal, never replied",
        Kind::Request,
        Priority::Normal,
        "2026-09-28 10:00",
        &[("2026-09-29 09:30", Step::Sign)],
    );
    simulation.dispatch(
        "collective on a Friday, never signed",
        Kind::Complaint,
        Priority::Collective,
        "2026-10-16 16:00",
        &[],
    );
    simulation.dispatch(
        "urgent the afternoon before National Day, replied late",
        Kind::Hardship,
        Priority::Urgent,
        "2026-09-30 15:00",
        &[
            ("2026-09-30 16:45", Step::Sign),
            ("2026-10-09 11:00", Step::Reply),
            ("2026-10-10 10:00", Step::Approve),
            ("2026-10-13 15:00", Step::CallBack),
            ("2026-10-14 10:00", Step::Close),
        ],
    );
    simulation.dispatch(
        "normal the afternoon before National Day, signed late, never reviewed",
        Kind::Complaint,
        Priority::Normal,
        "2026-09-30 15:00",
        &[
            ("2026-10-09 10:00", Step::Sign),
            ("2026-10-21 14:00", Step::Reply),
        ],
    );
    simulation.dispatch(
        "collective sent back for rework",
        Kind::Request,
        Priority::Collective,
        "2026-10-12 10:00",
        &[
            ("2026-10-12 11:00", Step::Sign),
            ("2026-10-16 10:00", Step::Reply),
            ("2026-10-19 10:00", Step::Rework),
            ("2026-10-27 10:00", Step::Reply),
            ("2026-10-28 08:00", Step::Approve),
            ("2026-10-29 11:00", Step::CallBack),
            ("2026-10-30 09:30", Step::Close),
        ],
    );
    simulation.run("2026-09-25 00:00", "2026-11-06 00:00");

    assert_eq!(
        simulation.fired("normal, never replied"),
        expected(&[
            // 75 % of 14 h + 15 × 24 h of working time; National Day and Mid-Autumn use none.
            (Reply, Reminder75, "2026-10-20 02:30"),
            (Reply, ReminderDayBefore, "2026-10-22 09:00"),
            // Due Friday 23 October: urged on Monday, escalated on the third working day.
            (Reply, Urge, "2026-10-26 09:00"),
            (Reply, Escalation, "2026-10-28 09:00"),
        ])
    );
    assert_eq!(
        simulation.fired("collective on a Friday, never signed"),
        expected(&[
            (SignFor, Reminder75, "2026-10-19 16:00"),
            (SignFor, Urge, "2026-10-20 09:00"),
            // Both fall due at the same step; sign-for comes first.
            (SignFor, Escalation, "2026-10-22 09:00"),
            (Reply, ReminderDayBefore, "2026-10-22 09:00"),
            (Reply, Reminder75, "2026-10-22 16:00"),
            (Reply, Urge, "2026-10-26 09:00"),
            (Reply, Escalation, "2026-10-28 09:00"),
        ])
    );
    assert_eq!(
        simulation.fired("urgent the afternoon before National Day, replied late"),
        expected(&[
            // 75 % of two calendar hours.
            (SignFor, Reminder75, "2026-09-30 16:30"),
            // 1 working day: due 8 October; 75 % of 9 h + 24 h.
            (Reply, Reminder75, "2026-10-08 15:45"),
            (Reply, Urge, "2026-10-09 09:00"),
            // Replied 9 October 11:00: no escalation on 12 October. Review due Monday 12
            // October; the working day before it is make-up Saturday 10 October.
            (Review, ReminderDayBefore, "2026-10-10 09:00"),
            // Approved 10 October 10:00; callback due 14 October; called back 13 October.
            (Callback, ReminderDayBefore, "2026-10-13 09:00"),
        ])
    );
    assert_eq!(
        simulation.fired("normal the afternoon before National Day, signed late, never reviewed"),
        expected(&[
            (SignFor, Reminder75, "2026-10-08 15:45"),
            // Due 8 October, urged the next working day, not during the holiday; signed
            // at 10:00, so no escalation on 12 October.
            (SignFor, Urge, "2026-10-09 09:00"),
            (Review, ReminderDayBefore, "2026-10-22 09:00"),
            (Review, Reminder75, "2026-10-23 09:30"),
            (Review, Urge, "2026-10-26 09:00"),
            (Review, Escalation, "2026-10-28 09:00"),
        ])
    );
    assert_eq!(
        simulation.fired("collective sent back for rework"),
        expected(&[
            // First reply due Monday 19 October; replied on the Friday at 10:00, an hour
            // after the day-before reminder.
            (Reply, ReminderDayBefore, "2026-10-16 09:00"),
            (Review, ReminderDayBefore, "2026-10-19 09:00"),
            // The rework on 19 October 10:00 restarts 5 working days: due 26 October.
            (Reply, ReminderDayBefore, "2026-10-23 09:00"),
            (Reply, Reminder75, "2026-10-23 14:30"),
            (Reply, Urge, "2026-10-27 09:00"),
        ])
    );

    for order in &simulation.orders {
        // Day-based notices go out on working days only.
        for (_, due) in &order.fired {
            let hour_based =
                order.snapshot.priority == Priority::Urgent && due.stage == Stage::SignFor;
            if !hour_based && due.level != Level::Reminder75 {
                let day = china_time_from_ms(due.due_at_ms, "t").unwrap().date();
                assert!(simulation.calendar.is_working_day(day).unwrap(), "{due:?}");
            }
        }
        // Nothing about signing or replying after the last reply, nothing after closing.
        let last_reply = order
            .snapshot
            .replied_at_ms
            .filter(|_| order.snapshot.state != WorkOrderState::Signed);
        if let Some(replied) = last_reply {
            assert!(
                order.fired.iter().all(|(seen, due)| *seen < replied
                    || matches!(due.stage, Stage::Review | Stage::Callback)),
                "{}",
                order.name
            );
        }
    }
}

#[test]
fn a_month_around_the_spring_festival_2026() {
    use Level::*;
    use Stage::*;
    let mut simulation = Simulation::new();
    simulation.dispatch(
        "normal on the Friday before the Spring Festival",
        Kind::Request,
        Priority::Normal,
        "2026-02-13 15:00",
        &[
            ("2026-02-24 10:00", Step::Sign),
            ("2026-03-16 15:00", Step::Reply),
            ("2026-03-17 10:00", Step::Approve),
            ("2026-03-18 11:00", Step::CallBack),
            ("2026-03-19 09:00", Step::Close),
        ],
    );
    simulation.run("2026-02-10 00:00", "2026-03-25 00:00");
    assert_eq!(
        simulation.fired("normal on the Friday before the Spring Festival"),
        expected(&[
            // Sign-for due on make-up Saturday 14 February.
            (SignFor, Reminder75, "2026-02-14 15:45"),
            // Urged the first working day after the nine-day holiday.
            (SignFor, Urge, "2026-02-24 09:00"),
            // Reply due 12 March: 2 days before and 13 after the holiday, incl. 28 February.
            (Reply, Reminder75, "2026-03-09 03:45"),
            (Reply, ReminderDayBefore, "2026-03-11 09:00"),
            (Reply, Urge, "2026-03-13 09:00"),
            // Replied Monday 16 March, before the escalation on Tuesday 17 March.
            (Review, ReminderDayBefore, "2026-03-17 09:00"),
        ])
    );
}
