//! Property tests for routing: over generated organisation trees, rules and tickets,
//! every decision goes to one existing, non-excluded union whose jurisdiction holds the
//! place or whose scope holds the employer, or to the manual queue with a reason; and
//! decisions are deterministic and follow the documented order.

use std::collections::{BTreeMap, BTreeSet};

use dispatcher::routing::{
    Decision, IndustryCode, IndustryMatch, NamePattern, Org, OrgId, OrgKind, QueueCause,
    RegionCode, RegionLevel, RoutingInput, RoutingTable, RuleRef, Target, TicketFacts, Uscc,
};
use proptest::prelude::*;
use proptest::sample::subsequence;

const INDUSTRY_UNIONS: usize = 3;
const PROVINCE_ID: i64 = 1;

/// Scope entries the generated rules share out; a section and one of its divisions may
/// go to different rules, which exercises "division before section".
const CODE_POOL: [&str; 7] = ["C", "G", "J", "P", "53", "G56", "60"];
const EMPLOYER_POOL: [&str; 4] = [
    "91440000MA5R00001L",
    "91440000MA5R00002P",
    "91440101MA5A00001H",
    "91440300MA5B000010",
];
const PATTERN_POOL: [&str; 4] = ["*铁路局*", "邮政", "*银行*分行", "航空*"];

/// Ticket facts drawn from the pools above plus values no rule mentions.
const TICKET_INDUSTRIES: [&str; 9] = ["C13", "G", "53", "G54", "G56", "J66", "60", "A01", "Z1"];
const TICKET_USCCS: [&str; 4] = [
    "91440000MA5R00001L",
    "91440101MA5A00001H",
    "91440106MA5C00001Y",
    "91440106MA5C00001X",
];
const TICKET_NAMES: [&str; 6] = [
    "广州铁路局机务段",
    "中国邮政集团广州分公司",
    "中国银行广州分行",
    "航空服务公司",
    "中国邮政储蓄银行广州分行",
    "某某电子厂",
];

#[derive(Debug, Clone)]
struct Model {
    orgs: Vec<Org>,
    rules_toml: String,
    rules: Vec<ModelRule>,
    /// Territorial unions by region code.
    territorial: BTreeMap<String, OrgId>,
    /// Every county and city of the tree, with or without a union.
    places: Vec<String>,
}

#[derive(Debug, Clone)]
struct ModelRule {
    number: u32,
    union: OrgId,
    codes: Vec<String>,
    employers: Vec<String>,
    patterns: Vec<String>,
}

prop_compose! {
    /// A province (44) with 1-4 cities of 1-4 counties, each with or without a union,
    /// three industry unions, and rules dealing out the scope pools among them.
    fn model()(
        cities in prop::collection::vec((any::<bool>(), prop::collection::vec(any::<bool>(), 1..=4)), 1..=4),
        code_owners in prop::collection::vec(prop::option::of(0..INDUSTRY_UNIONS), CODE_POOL.len()),
        employer_owners in prop::collection::vec(prop::option::of(0..INDUSTRY_UNIONS), EMPLOYER_POOL.len()),
        pattern_owners in prop::collection::vec(prop::option::of(0..INDUSTRY_UNIONS), PATTERN_POOL.len()),
    ) -> Model {
        build_model(&cities, &code_owners, &employer_owners, &pattern_owners)
    }
}

fn build_model(
    cities: &[(bool, Vec<bool>)],
    code_owners: &[Option<usize>],
    employer_owners: &[Option<usize>],
    pattern_owners: &[Option<usize>],
) -> Model {
    let mut orgs = vec![territorial_org(PROVINCE_ID, OrgKind::Province, "440000")];
    let mut territorial = BTreeMap::from([("440000".to_owned(), OrgId(PROVINCE_ID))]);
    let mut places = Vec::new();
    let mut without_union = Vec::new();
    let mut next_id = 10;
    let mut place = |code: String, has_union: bool, kind: OrgKind, orgs: &mut Vec<Org>| {
        if has_union {
            next_id += 1;
            orgs.push(territorial_org(next_id, kind, &code));
            territorial.insert(code.clone(), OrgId(next_id));
        } else {
            without_union.push(format!("{code:?}"));
        }
        places.push(code);
    };
    for (city_number, (city_has_union, counties)) in (1..).zip(cities) {
        place(
            format!("44{city_number:02}00"),
            *city_has_union,
            OrgKind::City,
            &mut orgs,
        );
        for (county_number, county_has_union) in (1..).zip(counties) {
            let code = format!("44{city_number:02}{county_number:02}");
            place(code, *county_has_union, OrgKind::County, &mut orgs);
        }
    }
    let mut rules: Vec<ModelRule> = (0..INDUSTRY_UNIONS)
        .map(|index| {
            let id = 100 + index as i64;
            orgs.push(Org {
                id: OrgId(id),
                code: format!("IND-{index}"),
                name: format!("industry union {index}"),
                kind: OrgKind::Industry,
                region_code: None,
            });
            ModelRule {
                number: index as u32 + 1,
                union: OrgId(id),
                codes: Vec::new(),
                employers: Vec::new(),
                patterns: Vec::new(),
            }
        })
        .collect();
    orgs.push(Org {
        id: OrgId(500),
        code: "ACFTU".to_owned(),
        name: "national".to_owned(),
        kind: OrgKind::National,
        region_code: None,
    });
    let deal = |owners: &[Option<usize>],
                pool: &[&str],
                rules: &mut Vec<ModelRule>,
                pick: fn(&mut ModelRule) -> &mut Vec<String>| {
        for (owner, value) in owners.iter().zip(pool) {
            if let Some(owner) = owner {
                pick(&mut rules[*owner]).push((*value).to_owned());
            }
        }
    };
    deal(code_owners, &CODE_POOL, &mut rules, |rule| &mut rule.codes);
    deal(employer_owners, &EMPLOYER_POOL, &mut rules, |rule| {
        &mut rule.employers
    });
    deal(pattern_owners, &PATTERN_POOL, &mut rules, |rule| {
        &mut rule.patterns
    });
    rules.retain(|rule| {
        !(rule.codes.is_empty() && rule.employers.is_empty() && rule.patterns.is_empty())
    });

    let mut rules_toml = format!(
        "[territory]\nregions_without_union = [{}]\n",
        without_union.join(", ")
    );
    for rule in &rules {
        let list = |values: &[String]| {
            values
                .iter()
                .map(|v| format!("{v:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        rules_toml.push_str(&format!(
            "\n[[industry]]\nrule = {}\nname = \"rule {}\"\nunion = \"IND-{}\"\nindustries = [{}]\nemployers = [{}]\nemployer_names = [{}]\n",
            rule.number,
            rule.number,
            rule.number - 1,
            list(&rule.codes),
            list(&rule.employers),
            list(&rule.patterns),
        ));
    }
    Model {
        orgs,
        rules_toml,
        rules,
        territorial,
        places,
    }
}

fn territorial_org(id: i64, kind: OrgKind, region: &str) -> Org {
    Org {
        id: OrgId(id),
        code: format!("U-{region}"),
        name: format!("union of {region}"),
        kind,
        region_code: Some(region.to_owned()),
    }
}

#[derive(Debug, Clone)]
enum Place {
    Absent,
    /// Index into the model's places (taken modulo their number).
    Known(usize),
    ProvinceOnly,
    Unknown,
    OutsideProvince,
    Malformed,
}

impl Place {
    fn code(&self, model: &Model) -> Option<String> {
        match self {
            Place::Absent => None,
            Place::Known(index) => Some(model.places[index % model.places.len()].clone()),
            Place::ProvinceOnly => Some("440000".to_owned()),
            Place::Unknown => Some("449901".to_owned()),
            Place::OutsideProvince => Some("350102".to_owned()),
            Place::Malformed => Some("44A1".to_owned()),
        }
    }
}

fn place() -> impl Strategy<Value = Place> {
    prop_oneof![
        1 => Just(Place::Absent),
        6 => any::<usize>().prop_map(Place::Known),
        1 => Just(Place::ProvinceOnly),
        1 => Just(Place::Unknown),
        1 => Just(Place::OutsideProvince),
        1 => Just(Place::Malformed),
    ]
}

fn one_of(values: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop::sample::select(values).prop_map(str::to_owned))
}

fn case() -> impl Strategy<Value = (Model, RoutingInput)> {
    model().prop_flat_map(|model| {
        let ids: Vec<OrgId> = model.orgs.iter().map(|org| org.id).collect();
        (
            Just(model),
            place(),
            one_of(&TICKET_INDUSTRIES),
            one_of(&TICKET_USCCS),
            one_of(&TICKET_NAMES),
            subsequence(ids.clone(), 0..=3.min(ids.len())),
            0u32..=2,
        )
            .prop_map(|(model, place, industry, uscc, name, excluded, returns)| {
                let input = RoutingInput {
                    facts: TicketFacts {
                        region_code: place.code(&model),
                        industry_code: industry,
                        employer_uscc: uscc,
                        employer_name: name,
                    },
                    excluded: excluded.into_iter().collect(),
                    returns_so_far: returns,
                };
                (model, input)
            })
    })
}

/// The documented order, written directly over the model's plain lists.
fn expected_target(model: &Model, input: &RoutingInput) -> Target {
    let facts = &input.facts;
    let excluded = &input.excluded;
    if input.returns_so_far >= 2 {
        return Target::ManualQueue;
    }
    let place = match facts.region_code.as_deref().map(RegionCode::parse) {
        Some(Err(_)) => return Target::ManualQueue,
        Some(Ok(place)) => {
            if !place.as_str().starts_with("44")
                || !(place.as_str() == "440000"
                    || model.places.iter().any(|known| known == place.as_str()))
            {
                return Target::ManualQueue;
            }
            Some(place)
        }
        None => None,
    };
    let industry = match facts.industry_code.as_deref().map(IndustryCode::parse) {
        Some(Err(_)) => return Target::ManualQueue,
        Some(Ok(code)) => Some(code),
        None => None,
    };
    let uscc = match facts.employer_uscc.as_deref().map(Uscc::parse) {
        Some(Err(_)) => return Target::ManualQueue,
        Some(Ok(uscc)) => Some(uscc),
        None => None,
    };
    let usable = |rule: &&ModelRule| !excluded.contains(&rule.union);
    if let Some(uscc) = uscc
        && let Some(rule) = model
            .rules
            .iter()
            .filter(usable)
            .find(|rule| rule.employers.iter().any(|e| e == uscc.as_str()))
    {
        return Target::Union(rule.union);
    }
    if let Some(code) = industry {
        let holds = |exact: IndustryCode| {
            model.rules.iter().filter(usable).find(|rule| {
                rule.codes
                    .iter()
                    .any(|c| IndustryCode::parse(c).unwrap() == exact)
            })
        };
        if code.division().is_some()
            && let Some(rule) = holds(code)
        {
            return Target::Union(rule.union);
        }
        if let Some(rule) = holds(code.section_only()) {
            return Target::Union(rule.union);
        }
    }
    if let Some(name) = &facts.employer_name {
        let unions: BTreeSet<OrgId> = model
            .rules
            .iter()
            .filter(usable)
            .filter(|rule| {
                rule.patterns
                    .iter()
                    .any(|p| NamePattern::parse(p).unwrap().matches(name))
            })
            .map(|rule| rule.union)
            .collect();
        match unions.len() {
            0 => {}
            1 => return Target::Union(*unions.first().unwrap()),
            _ => return Target::ManualQueue,
        }
    }
    let Some(place) = place else {
        return Target::ManualQueue;
    };
    if place.level() == RegionLevel::Province {
        return Target::ManualQueue;
    }
    [place, place.city(), place.province()]
        .iter()
        .filter_map(|region| model.territorial.get(region.as_str()))
        .find(|union| !excluded.contains(union))
        .map_or(Target::ManualQueue, |union| Target::Union(*union))
}

/// The invariants from the requirements, independent of the order of checks.
fn check_invariants(
    model: &Model,
    input: &RoutingInput,
    decision: &Decision,
) -> Result<(), TestCaseError> {
    prop_assert!(!decision.reason.trim().is_empty());
    let Target::Union(id) = decision.target else {
        prop_assert!(matches!(decision.rule, RuleRef::Queue(_)), "{:?}", decision);
        return Ok(());
    };
    prop_assert!(input.returns_so_far < 2);
    prop_assert!(!input.excluded.contains(&id), "routed to excluded {id}");
    let org = model.orgs.iter().find(|org| org.id == id);
    prop_assert!(org.is_some(), "routed to unknown {id}");
    let org = org.unwrap();
    match &decision.rule {
        RuleRef::Industry { rule, matched } => {
            prop_assert_eq!(org.kind, OrgKind::Industry);
            let rule = model.rules.iter().find(|r| r.number == *rule);
            prop_assert!(rule.is_some_and(|r| r.union == id));
            let rule = rule.unwrap();
            let facts = &input.facts;
            match matched {
                IndustryMatch::Employer(uscc) => {
                    prop_assert_eq!(facts.employer_uscc.as_deref(), Some(uscc.as_str()));
                    prop_assert!(rule.employers.iter().any(|e| e == uscc.as_str()));
                }
                IndustryMatch::Industry(scope) => {
                    let ticket =
                        IndustryCode::parse(facts.industry_code.as_deref().unwrap_or_default());
                    prop_assert!(ticket.is_ok_and(|ticket| scope.covers(ticket)));
                    prop_assert!(
                        rule.codes
                            .iter()
                            .any(|c| IndustryCode::parse(c).unwrap() == *scope)
                    );
                }
                IndustryMatch::EmployerName(position) => {
                    let pattern = NamePattern::parse(&rule.patterns[*position]).unwrap();
                    prop_assert!(
                        pattern.matches(facts.employer_name.as_deref().unwrap_or_default())
                    );
                }
            }
        }
        RuleRef::Territorial { level, region } => {
            let place = RegionCode::parse(input.facts.region_code.as_deref().unwrap_or_default());
            prop_assert!(place.is_ok());
            let place = place.unwrap();
            prop_assert!(region.contains(place), "{region} does not hold {place}");
            prop_assert_eq!(org.region_code.as_deref(), Some(region.as_str()));
            prop_assert_eq!(*level, region.level());
            // No closer union that could have taken it.
            for closer in [place, place.city()]
                .iter()
                .filter(|r| r.level() > region.level())
            {
                if let Some(union) = model.territorial.get(closer.as_str()) {
                    prop_assert!(input.excluded.contains(union), "skipped {closer}");
                }
            }
        }
        other => prop_assert!(false, "automatic routing produced {other:?}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn generated_configs_are_valid(model in model()) {
        let built = RoutingTable::build(&model.orgs, &model.rules_toml);
        prop_assert!(built.is_ok(), "{:?}\n{}", built.err(), model.rules_toml);
    }

    #[test]
    fn decisions_hold_their_invariants((model, input) in case()) {
        let table = RoutingTable::build(&model.orgs, &model.rules_toml).unwrap();
        let decision = table.route(&input);
        check_invariants(&model, &input, &decision)?;
        prop_assert_eq!(&table.route(&input.clone()), &decision, "not deterministic");
        prop_assert_eq!(decision.target, expected_target(&model, &input), "{:?}", decision);
    }

    #[test]
    fn every_known_place_is_routable_without_exclusions(model in model(), index in any::<usize>()) {
        let table = RoutingTable::build(&model.orgs, &model.rules_toml).unwrap();
        let place = model.places[index % model.places.len()].clone();
        let input = RoutingInput {
            facts: TicketFacts { region_code: Some(place), ..TicketFacts::default() },
            ..RoutingInput::default()
        };
        let decision = table.route(&input);
        prop_assert!(matches!(decision.target, Target::Union(_)), "{:?}", decision);
    }

    #[test]
    fn twice_returned_always_goes_to_a_person((model, mut input) in case()) {
        let table = RoutingTable::build(&model.orgs, &model.rules_toml).unwrap();
        input.returns_so_far = 2;
        let decision = table.route(&input);
        prop_assert_eq!(decision.rule, RuleRef::Queue(QueueCause::ReturnedTwice));
    }
}
