//! Routing latency on a province-sized tree (21 cities, 126 counties, the example rules).
//!
//! Run with `cargo bench -p dispatcher --bench routing`. Prints nanoseconds per decision
//! for each kind of ticket, and the ratio to a reference measured in the same run
//! (formatting a short reason string, the one allocation routing makes), so figures
//! from a noisy shared machine stay comparable.

use std::hint::black_box;
use std::time::Instant;

use dispatcher::routing::{Org, OrgId, OrgKind, RoutingInput, RoutingTable, TicketFacts};

const EXAMPLE_RULES: &str = include_str!("../../deploy/routing.example.toml");
const ITERATIONS: u32 = 200_000;

fn province_tree() -> Vec<Org> {
    let union = |id: i64, code: String, kind: OrgKind, region: Option<String>| Org {
        id: OrgId(id),
        name: format!("{code} union"),
        code,
        kind,
        region_code: region,
    };
    let mut orgs = vec![union(
        1,
        "GD".into(),
        OrgKind::Province,
        Some("440000".into()),
    )];
    let mut next_id = 100;
    for city in 1..=21 {
        next_id += 1;
        let code = format!("44{city:02}00");
        orgs.push(union(
            next_id,
            format!("C{code}"),
            OrgKind::City,
            Some(code),
        ));
        // County 440106 has no union yet, so one case exercises the fallback.
        for county in (1..=6).filter(|county| !(city == 1 && *county == 6)) {
            next_id += 1;
            let code = format!("44{city:02}{county:02}");
            orgs.push(union(
                next_id,
                format!("K{code}"),
                OrgKind::County,
                Some(code),
            ));
        }
    }
    for (id, code) in [
        (10, "GD-AVIATION"),
        (11, "GD-FINANCE"),
        (12, "GD-RAIL"),
        (13, "GD-POST"),
        (14, "GD-EDU-HEALTH"),
    ] {
        orgs.push(union(id, code.into(), OrgKind::Industry, None));
    }
    orgs
}

fn ticket(
    region: Option<&str>,
    industry: Option<&str>,
    uscc: Option<&str>,
    name: Option<&str>,
) -> RoutingInput {
    RoutingInput {
        facts: TicketFacts {
            region_code: region.map(Into::into),
            industry_code: industry.map(Into::into),
            employer_uscc: uscc.map(Into::into),
            employer_name: name.map(Into::into),
        },
        ..RoutingInput::default()
    }
}

fn nanos_per_call(mut call: impl FnMut()) -> f64 {
    for _ in 0..ITERATIONS / 10 {
        call();
    }
    let start = Instant::now();
    for _ in 0..ITERATIONS {
        call();
    }
    start.elapsed().as_nanos() as f64 / f64::from(ITERATIONS)
}

fn main() {
    let mut table = RoutingTable::build(&province_tree(), EXAMPLE_RULES).expect("valid rules");
    table
        .add_regions_without_union(["440106"])
        .expect("valid region");
    let cases = [
        (
            "territorial county",
            ticket(Some("440105"), Some("C13"), None, Some("某某电子厂")),
        ),
        (
            "county -> city fallback",
            ticket(Some("440106"), None, None, None),
        ),
        (
            "industry by USCC",
            ticket(Some("440105"), None, Some("91440000MA5R00001L"), None),
        ),
        (
            "industry by division",
            ticket(Some("440105"), Some("G53"), None, None),
        ),
        (
            "industry by name",
            ticket(Some("440105"), None, None, Some("广州铁路局机务段")),
        ),
        ("unknown region", ticket(Some("449901"), None, None, None)),
    ];
    let reference = nanos_per_call(|| {
        black_box(format!("territorial {}", black_box("440105")));
    });
    println!("reference (format a reason): {reference:.0} ns");
    for (label, input) in &cases {
        let nanos = nanos_per_call(|| {
            black_box(table.route(black_box(input)));
        });
        println!(
            "{label:<24} {nanos:>6.0} ns/route  ({:.1}x reference)",
            nanos / reference
        );
    }
}
