//! A full deadline scan over 1,000,000 open work orders (target: under 200 ms).
//!
//! Run with `cargo bench -p dispatcher --bench deadline_scan`. Builds one million work
//! orders spread over March to October 2026 (all open states, every kind, 80 % normal,
//! 15 % collective, 5 % urgent), precomputes each one's [`DeadlinePlan`] as the service does
//! when a work order changes, marks what was due before the scan as already sent (the
//! steady state of a service that scans every few minutes), then times:
//!
//! - **full scan**: `DeadlinePlan::poll` on every work order at one `now`;
//! - **wake-up scan**: the same, skipping work orders whose stored next wake-up is later
//!   than `now`, as a service that remembers `next_wake_ms` does;
//! - **reference**: a plain pass over the same plans reading one deadline each, measured in
//!   the same run, so figures from a noisy shared machine can be compared as ratios.
//!
//! Each figure is the best of several runs, with the median beside it.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use dispatcher::clock::china_time::ms_from_china_time;
use dispatcher::clock::{
    DeadlinePlan, Due, Kind, Policy, Priority, SentNotifications, WorkOrderSnapshot,
    WorkOrderState, deadlines_at_dispatch,
};
use hotline_calendar::Calendar;

const WORK_ORDERS: usize = 1_000_000;
const RUNS: usize = 7;
const HOUR_MS: i64 = 3_600_000;
/// Share of work orders (in thousandths) for which something new falls due at the scan:
/// those get notifications built, the rest only comparisons.
const NEWLY_DUE_PER_MILLE: u64 = 10;

struct OpenWorkOrder {
    plan: DeadlinePlan,
    sent: SentNotifications,
    next_wake_ms: i64,
}

fn main() {
    let policy = Policy::default();
    let calendar = Calendar::builtin();
    let china = |y, m, d, h| {
        ms_from_china_time(
            NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_hms_opt(h, 0, 0)
                .unwrap(),
        )
    };
    let first_dispatch = china(2026, 3, 1, 0);
    let last_dispatch = china(2026, 10, 31, 0);
    let now = china(2026, 10, 15, 10);

    let started = Instant::now();
    let mut random = SplitMix64(0x12351);
    let mut orders = Vec::with_capacity(WORK_ORDERS);
    while orders.len() < WORK_ORDERS {
        let dispatched_at_ms =
            first_dispatch + (random.next() % (last_dispatch - first_dispatch) as u64) as i64;
        if dispatched_at_ms > now {
            continue;
        }
        let kind = Kind::ALL[(random.next() % 6) as usize];
        let priority = match random.next() % 100 {
            0..80 => Priority::Normal,
            80..95 => Priority::Collective,
            _ => Priority::Urgent,
        };
        let state = match random.next() % 100 {
            0..40 => WorkOrderState::Dispatched,
            40..75 => WorkOrderState::Signed,
            75..90 => WorkOrderState::Replied,
            _ => WorkOrderState::Approved,
        };
        let deadlines =
            deadlines_at_dispatch(&policy, &calendar, kind, priority, dispatched_at_ms).unwrap();
        let replied_at_ms =
            (dispatched_at_ms + (random.next() % 300) as i64 * HOUR_MS + HOUR_MS).min(now);
        let approved_at_ms =
            (replied_at_ms + (random.next() % 60) as i64 * HOUR_MS + HOUR_MS).min(now);
        let snapshot = WorkOrderSnapshot {
            state,
            kind,
            priority,
            dispatched_at_ms,
            sign_due_at_ms: Some(deadlines.sign_due_at_ms),
            reply_clock_started_at_ms: None,
            reply_due_at_ms: Some(deadlines.reply_due_at_ms),
            replied_at_ms: Some(replied_at_ms),
            approved_at_ms: Some(approved_at_ms),
        };
        let plan = DeadlinePlan::new(&policy, &calendar, &snapshot).unwrap();
        // Steady state: what fell due before the scan was sent, except for a few work
        // orders whose latest notification falls due now.
        let newly_due = random.next() % 1000 < NEWLY_DUE_PER_MILLE;
        let mut past: Vec<_> = plan.moments().filter(|(_, at)| *at <= now).collect();
        if newly_due {
            past.pop();
        }
        let sent: SentNotifications = past.into_iter().map(|(key, _)| key).collect();
        let mut scratch = Vec::new();
        let next_wake_ms = plan
            .poll(&sent, now - 1, &mut scratch)
            .unwrap_or(i64::MAX)
            .min(if newly_due { now } else { i64::MAX });
        orders.push(OpenWorkOrder {
            plan,
            sent,
            next_wake_ms,
        });
    }
    let build = started.elapsed();
    println!(
        "built {WORK_ORDERS} work orders with their plans in {:.1} s ({:.2} µs per plan)",
        build.as_secs_f64(),
        build.as_secs_f64() * 1e6 / WORK_ORDERS as f64
    );

    let mut due: Vec<Due> = Vec::new();
    let mut due_count = 0;
    let full = measure(|| {
        due.clear();
        for order in &orders {
            black_box(order.plan.poll(&order.sent, black_box(now), &mut due));
        }
        due_count = due.len();
    });
    let mut woken = 0;
    let wake_up = measure(|| {
        due.clear();
        woken = 0;
        for order in &orders {
            if order.next_wake_ms <= black_box(now) {
                woken += 1;
                black_box(order.plan.poll(&order.sent, now, &mut due));
            }
        }
    });
    let reference = measure(|| {
        let mut sum = 0_i64;
        for order in &orders {
            sum = sum.wrapping_add(order.plan.deadlines().next().map_or(0, |(_, at)| at));
        }
        black_box(sum);
    });

    println!("notifications due at the scan: {due_count}; work orders woken: {woken}");
    report("full scan", full, reference);
    report("wake-up scan", wake_up, reference);
    report("reference (read one deadline each)", reference, reference);
    let target = Duration::from_millis(200);
    println!(
        "target: full scan of {WORK_ORDERS} under {} ms: {}",
        target.as_millis(),
        if full.best < target { "met" } else { "MISSED" }
    );
}

#[derive(Clone, Copy)]
struct Timing {
    best: Duration,
    median: Duration,
}

fn measure(mut run: impl FnMut()) -> Timing {
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let started = Instant::now();
            run();
            started.elapsed()
        })
        .collect();
    times.sort();
    Timing {
        best: times[0],
        median: times[RUNS / 2],
    }
}

fn report(name: &str, timing: Timing, reference: Timing) {
    println!(
        "{name:<36} best {:>8.2} ms, median {:>8.2} ms, {:>5.1} ns per work order, {:>5.1}× reference",
        timing.best.as_secs_f64() * 1e3,
        timing.median.as_secs_f64() * 1e3,
        timing.best.as_secs_f64() * 1e9 / WORK_ORDERS as f64,
        timing.best.as_secs_f64() / reference.best.as_secs_f64()
    );
}

/// A small deterministic generator, so every run scans the same work orders.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
