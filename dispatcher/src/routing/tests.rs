//! Unit tests for each rule kind, the territorial fallback chain, exclusions, returns,
//! overrides and configuration errors, against the shipped example rules file.

use std::collections::BTreeSet;

use super::*;

const EXAMPLE_RULES: &str = include_str!("../../../deploy/routing.example.toml");

const PROVINCE: OrgId = OrgId(10);
const GUANGZHOU: OrgId = OrgId(20);
const LIWAN: OrgId = OrgId(21);
const TIANHE: OrgId = OrgId(22);
const NANSHAN: OrgId = OrgId(30);
const FINANCE: OrgId = OrgId(41);
const RAILWAY: OrgId = OrgId(42);
const POST: OrgId = OrgId(43);
const TRANSPORT: OrgId = OrgId(45);
const NATIONAL: OrgId = OrgId(1);

const RAILWAY_USCC: &str = "91440000MA5R00001L";

fn org(id: OrgId, code: &str, kind: OrgKind, region: Option<&str>) -> Org {
    Org {
        id,
        code: code.to_owned(),
        name: format!("{code} union"),
        kind,
        region_code: region.map(str::to_owned),
    }
}

fn orgs() -> Vec<Org> {
    use OrgKind::*;
    vec![
        org(NATIONAL, "ACFTU", National, None),
        org(PROVINCE, "GD", Province, Some("440000")),
        org(GUANGZHOU, "GZ", City, Some("440100")),
        org(LIWAN, "GZ-LW", County, Some("440103")),
        org(TIANHE, "GZ-TH", County, Some("440106")),
        org(NANSHAN, "SZ-NS", County, Some("440305")),
        org(OrgId(40), "GD-AVIATION", Industry, None),
        org(FINANCE, "GD-FINANCE", Industry, None),
        org(RAILWAY, "GD-RAIL", Industry, Some("440000")),
        org(POST, "GD-POST", Industry, None),
        org(OrgId(44), "GD-EDU-HEALTH", Industry, None),
        org(TRANSPORT, "GD-TRANSPORT", Industry, None),
    ]
}

fn table() -> RoutingTable {
    RoutingTable::build(&orgs(), EXAMPLE_RULES).expect("the example rules file is valid")
}

fn facts(
    region: Option<&str>,
    industry: Option<&str>,
    uscc: Option<&str>,
    name: Option<&str>,
) -> RoutingInput {
    RoutingInput {
        facts: TicketFacts {
            region_code: region.map(str::to_owned),
            industry_code: industry.map(str::to_owned),
            employer_uscc: uscc.map(str::to_owned),
            employer_name: name.map(str::to_owned),
        },
        excluded: BTreeSet::new(),
        returns_so_far: 0,
    }
}

fn at(region: &str) -> RoutingInput {
    facts(Some(region), None, None, None)
}

fn excluding(mut input: RoutingInput, excluded: &[OrgId]) -> RoutingInput {
    input.excluded = excluded.iter().copied().collect();
    input.returns_so_far = 1;
    input
}

fn queued(decision: &Decision) -> QueueCause {
    assert_eq!(decision.target, Target::ManualQueue, "{decision:?}");
    assert!(!decision.reason.is_empty());
    match decision.rule {
        RuleRef::Queue(cause) => cause,
        ref other => panic!("queued without a cause: {other:?}"),
    }
}

fn region(code: &str) -> RegionCode {
    RegionCode::parse(code).unwrap()
}

#[test]
fn territorial_county_union() {
    let decision = table().route(&at("440106"));
    assert_eq!(decision.target, Target::Union(TIANHE));
    assert_eq!(decision.reason, "territorial 440106");
    assert_eq!(
        decision.rule,
        RuleRef::Territorial {
            level: RegionLevel::County,
            region: region("440106")
        }
    );
}

#[test]
fn county_without_union_falls_back_to_city() {
    let decision = table().route(&at("440183"));
    assert_eq!(decision.target, Target::Union(GUANGZHOU));
    assert_eq!(
        decision.reason,
        "territorial 440100 (place 440183; county 440183: no union)"
    );
}

#[test]
fn county_and_city_without_union_fall_back_to_province() {
    let decision = table().route(&at("440304"));
    assert_eq!(decision.target, Target::Union(PROVINCE));
    assert_eq!(
        decision.rule,
        RuleRef::Territorial {
            level: RegionLevel::Province,
            region: region("440000")
        }
    );
    assert!(
        decision.reason.contains("city 440300: no union"),
        "{}",
        decision.reason
    );
}

#[test]
fn city_level_place_goes_to_city_union() {
    let decision = table().route(&at("440100"));
    assert_eq!(decision.target, Target::Union(GUANGZHOU));
    assert_eq!(decision.reason, "territorial 440100");
}

#[test]
fn unplaceable_tickets_go_to_the_manual_queue() {
    let table = table();
    let cases = [
        ("440000", QueueCause::ProvinceLevelOnly),
        ("440199", QueueCause::UnknownRegion),
        ("440500", QueueCause::UnknownRegion),
        ("350102", QueueCause::OutsideProvince),
        ("4401", QueueCause::MalformedRegion),
        ("440006", QueueCause::MalformedRegion),
    ];
    for (place, cause) in cases {
        assert_eq!(queued(&table.route(&at(place))), cause, "{place}");
    }
    assert_eq!(
        queued(&table.route(&facts(None, None, None, None))),
        QueueCause::NoPlaceNorEmployer
    );
    assert_eq!(
        queued(&table.route(&facts(Some("  "), Some(""), None, Some(" ")))),
        QueueCause::NoPlaceNorEmployer,
        "blank facts count as absent"
    );
    assert_eq!(
        queued(&table.route(&facts(None, Some("C13"), None, Some("某某电子厂")))),
        QueueCause::NoPlace
    );
}

#[test]
fn malformed_employer_facts_go_to_the_manual_queue() {
    let table = table();
    let bad_industry = facts(Some("440106"), Some("Z9"), None, None);
    assert_eq!(
        queued(&table.route(&bad_industry)),
        QueueCause::MalformedIndustry
    );
    let bad_uscc = facts(Some("440106"), None, Some("91440000MA5R00001X"), None);
    let decision = table.route(&bad_uscc);
    assert_eq!(queued(&decision), QueueCause::MalformedUscc);
    assert!(
        decision.reason.contains("check character"),
        "{}",
        decision.reason
    );
}

#[test]
fn industry_by_explicit_employer() {
    let input = facts(Some("440106"), Some("J66"), Some(RAILWAY_USCC), None);
    let decision = table().route(&input);
    assert_eq!(decision.target, Target::Union(RAILWAY));
    assert_eq!(
        decision.reason,
        format!("industry: railway (rule 3: employer {RAILWAY_USCC})")
    );
    assert_eq!(
        decision.rule,
        RuleRef::Industry {
            rule: 3,
            matched: IndustryMatch::Employer(Uscc::parse(RAILWAY_USCC).unwrap())
        }
    );
}

#[test]
fn industry_by_division_and_section() {
    let table = table();
    let railway = table.route(&facts(Some("440106"), Some("53"), None, None));
    assert_eq!(railway.target, Target::Union(RAILWAY));
    assert_eq!(railway.reason, "industry: railway (rule 3: scope G53)");

    let bank = table.route(&facts(None, Some("J66"), None, None));
    assert_eq!(bank.target, Target::Union(FINANCE));
    assert_eq!(bank.reason, "industry: finance (rule 2: scope J)");

    // Road transport has no rule: territorial.
    let road = table.route(&facts(Some("440103"), Some("G54"), None, None));
    assert_eq!(road.target, Target::Union(LIWAN));
    // A ticket that only knows "transport" is not assumed to be railway.
    let transport = table.route(&facts(Some("440103"), Some("G"), None, None));
    assert_eq!(transport.target, Target::Union(LIWAN));
}

#[test]
fn division_rule_wins_over_section_rule() {
    let rules = r#"
        [[industry]]
        rule = 1
        name = "transport"
        union = "GD-TRANSPORT"
        industries = ["G"]

        [[industry]]
        rule = 3
        name = "railway"
        union = "GD-RAIL"
        industries = ["53"]
    "#;
    let table = RoutingTable::build(&orgs(), rules).unwrap();
    let route = |code| {
        table
            .route(&facts(Some("440106"), Some(code), None, None))
            .target
    };
    assert_eq!(route("G53"), Target::Union(RAILWAY));
    assert_eq!(route("G54"), Target::Union(TRANSPORT));
    assert_eq!(route("G"), Target::Union(TRANSPORT));
    // When the railway union returns it, the section rule still applies.
    let input = excluding(facts(Some("440106"), Some("53"), None, None), &[RAILWAY]);
    assert_eq!(table.route(&input).target, Target::Union(TRANSPORT));
}

#[test]
fn industry_by_employer_name_checked_last() {
    let table = table();
    let decision = table.route(&facts(Some("440106"), None, None, Some("广州铁路局机务段")));
    assert_eq!(decision.target, Target::Union(RAILWAY));
    assert_eq!(
        decision.reason,
        "industry: railway (rule 3: employer name matches \"*铁路局*\")"
    );
    assert_eq!(
        decision.rule,
        RuleRef::Industry {
            rule: 3,
            matched: IndustryMatch::EmployerName(0)
        }
    );
    // The industry code is stronger evidence than the name.
    let by_code = table.route(&facts(
        Some("440106"),
        Some("60"),
        None,
        Some("广州铁路局机务段"),
    ));
    assert_eq!(by_code.target, Target::Union(POST));
}

#[test]
fn employer_name_matching_two_unions_is_ambiguous() {
    let table = table();
    let name = Some("中国邮政储蓄银行广州分行");
    let decision = table.route(&facts(Some("440106"), None, None, name));
    assert_eq!(queued(&decision), QueueCause::AmbiguousEmployerName);
    assert!(
        decision.reason.contains("rule 2 (finance)"),
        "{}",
        decision.reason
    );
    assert!(
        decision.reason.contains("rule 4 (post)"),
        "{}",
        decision.reason
    );
    // With one of them excluded, the other is no longer ambiguous.
    let input = excluding(facts(Some("440106"), None, None, name), &[POST]);
    assert_eq!(table.route(&input).target, Target::Union(FINANCE));
}

#[test]
fn excluded_industry_union_falls_back_to_territory() {
    let input = excluding(
        facts(Some("440106"), Some("53"), Some(RAILWAY_USCC), None),
        &[RAILWAY],
    );
    let decision = table().route(&input);
    assert_eq!(decision.target, Target::Union(TIANHE));
    let no_place = excluding(
        facts(None, Some("53"), Some(RAILWAY_USCC), None),
        &[RAILWAY],
    );
    assert_eq!(queued(&table().route(&no_place)), QueueCause::NoPlace);
}

#[test]
fn excluded_territorial_unions_pass_the_case_up() {
    let table = table();
    let city = table.route(&excluding(at("440106"), &[TIANHE]));
    assert_eq!(city.target, Target::Union(GUANGZHOU));
    assert_eq!(
        city.reason,
        "territorial 440100 (place 440106; county 440106: union returned it)"
    );
    let province = table.route(&excluding(at("440106"), &[TIANHE, GUANGZHOU]));
    assert_eq!(province.target, Target::Union(PROVINCE));
    let nobody = table.route(&excluding(at("440106"), &[TIANHE, GUANGZHOU, PROVINCE]));
    assert_eq!(queued(&nobody), QueueCause::AllUnionsExcluded);
}

#[test]
fn returned_twice_goes_to_a_person() {
    let table = table();
    let mut input = at("440106");
    input.returns_so_far = 1;
    assert_eq!(table.route(&input).target, Target::Union(TIANHE));
    input.returns_so_far = 2;
    let decision = table.route(&input);
    assert_eq!(queued(&decision), QueueCause::ReturnedTwice);
    assert!(decision.reason.starts_with("returned twice"));
}

#[test]
fn override_is_validated() {
    let table = table();
    let input = excluding(at("440106"), &[TIANHE]);
    let request = |target, by: &str, reason: &str| ManualOverride {
        by: by.to_owned(),
        target,
        reason: reason.to_owned(),
    };
    let decision = table
        .route_override(
            &input,
            &request(NANSHAN, "派单员王", "职工实际在南山区工作"),
        )
        .unwrap();
    assert_eq!(decision.target, Target::Union(NANSHAN));
    assert_eq!(
        decision.rule,
        RuleRef::Manual {
            by: "派单员王".to_owned()
        }
    );
    assert_eq!(decision.reason, "manual by 派单员王: 职工实际在南山区工作");

    let refused = |target, by, reason| table.route_override(&input, &request(target, by, reason));
    assert_eq!(
        refused(TIANHE, "王", "x"),
        Err(OverrideError::Excluded(TIANHE))
    );
    assert_eq!(
        refused(OrgId(999), "王", "x"),
        Err(OverrideError::UnknownTarget(OrgId(999)))
    );
    assert_eq!(
        refused(NATIONAL, "王", "x"),
        Err(OverrideError::NotAHandlingUnion(NATIONAL))
    );
    assert_eq!(
        refused(NANSHAN, "王", " "),
        Err(OverrideError::MissingReason)
    );
    assert_eq!(refused(NANSHAN, "", "x"), Err(OverrideError::MissingBy));
}

#[test]
fn override_rescues_a_twice_returned_ticket() {
    let mut input = excluding(at("440106"), &[TIANHE, GUANGZHOU]);
    input.returns_so_far = 2;
    let request = ManualOverride {
        by: "reviewer".to_owned(),
        target: LIWAN,
        reason: "the shop moved to Liwan".to_owned(),
    };
    let decision = table().route_override(&input, &request).unwrap();
    assert_eq!(decision.target, Target::Union(LIWAN));
}

fn rule_error(rules: &str) -> (u32, &'static str, RuleProblem) {
    match RoutingTable::build(&orgs(), rules) {
        Err(ConfigError::Rule {
            rule,
            field,
            problem,
            ..
        }) => (rule, field, problem),
        other => panic!("expected a rule error, got {other:?}"),
    }
}

fn industry(rule: u32, name: &str, union: &str, scope: &str) -> String {
    format!("[[industry]]\nrule = {rule}\nname = \"{name}\"\nunion = \"{union}\"\n{scope}\n")
}

#[test]
fn config_errors_name_rule_and_field() {
    let (rule, field, problem) =
        rule_error(&industry(7, "ports", "GD-PORTS", "industries = [\"55\"]"));
    assert_eq!((rule, field), (7, "union"));
    assert_eq!(problem, RuleProblem::UnknownUnion("GD-PORTS".to_owned()));

    let (_, field, problem) = rule_error(&industry(7, "city", "GZ", "industries = [\"55\"]"));
    assert_eq!(field, "union");
    assert!(matches!(
        problem,
        RuleProblem::NotIndustryUnion {
            kind: OrgKind::City,
            ..
        }
    ));

    let (_, field, problem) = rule_error(&industry(7, "rail", "GD-RAIL", "industries = [\"G13\"]"));
    assert_eq!(field, "industries");
    assert!(matches!(problem, RuleProblem::MalformedIndustryCode { .. }));

    let (_, field, problem) = rule_error(&industry(
        7,
        "rail",
        "GD-RAIL",
        "employers = [\"91440000MA5R00001X\"]",
    ));
    assert_eq!(field, "employers");
    assert!(matches!(problem, RuleProblem::MalformedUscc { .. }));

    let (_, field, problem) =
        rule_error(&industry(7, "rail", "GD-RAIL", "employer_names = [\"*\"]"));
    assert_eq!(field, "employer_names");
    assert!(matches!(problem, RuleProblem::MalformedNamePattern { .. }));

    let (_, field, problem) = rule_error(&industry(7, "rail", "GD-RAIL", ""));
    assert_eq!((field, problem), ("industries", RuleProblem::EmptyScope));

    let (_, field, problem) = rule_error(&industry(7, " ", "GD-RAIL", "industries = [\"53\"]"));
    assert_eq!((field, problem), ("name", RuleProblem::EmptyName));
}

#[test]
fn overlapping_scopes_are_refused() {
    let rail = industry(
        3,
        "railway",
        "GD-RAIL",
        &format!(
            "industries = [\"G53\"]\nemployers = [\"{RAILWAY_USCC}\"]\nemployer_names = [\"*铁路局*\"]"
        ),
    );
    let cases = [
        (
            format!("employers = [\"{}\"]", RAILWAY_USCC.to_lowercase()),
            "employers",
        ),
        ("industries = [\"53\"]".to_owned(), "industries"),
        (
            "employer_names = [\" *铁路局* \"]".to_owned(),
            "employer_names",
        ),
    ];
    for (scope, expected_field) in cases {
        let rules = format!("{rail}\n{}", industry(9, "post", "GD-POST", &scope));
        let (rule, field, problem) = rule_error(&rules);
        assert_eq!((rule, field), (9, expected_field));
        assert!(
            matches!(problem, RuleProblem::Overlap { other_rule: 3, .. }),
            "{problem:?}"
        );
    }
    // A section and a division of it are not an overlap: the division is more specific.
    let nested = format!(
        "{rail}\n{}",
        industry(9, "transport", "GD-TRANSPORT", "industries = [\"G\"]")
    );
    assert!(RoutingTable::build(&orgs(), &nested).is_ok());
}

#[test]
fn duplicate_rule_numbers_and_names_are_refused() {
    let a = industry(3, "railway", "GD-RAIL", "industries = [\"53\"]");
    let same_number = format!(
        "{a}\n{}",
        industry(3, "post", "GD-POST", "industries = [\"60\"]")
    );
    let (_, field, problem) = rule_error(&same_number);
    assert_eq!(field, "rule");
    assert!(matches!(problem, RuleProblem::DuplicateNumber(3, _)));
    let same_name = format!(
        "{a}\n{}",
        industry(4, "railway", "GD-POST", "industries = [\"60\"]")
    );
    let (rule, field, problem) = rule_error(&same_name);
    assert_eq!((rule, field), (4, "name"));
    assert_eq!(problem, RuleProblem::DuplicateName("railway".to_owned(), 3));
}

#[test]
fn misspelt_keys_and_bad_regions_are_refused() {
    let misspelt =
        "[[industry]]\nrule = 1\nname = \"x\"\nunion = \"GD-RAIL\"\nindustires = [\"53\"]\n";
    let error = RoutingTable::build(&orgs(), misspelt).unwrap_err();
    assert!(matches!(error, ConfigError::Toml(_)));
    assert!(error.to_string().contains("industires"), "{error}");

    for value in ["350102", "44010"] {
        let rules = format!("[territory]\nregions_without_union = [\"{value}\"]\n");
        let error = RoutingTable::build(&orgs(), &rules).unwrap_err();
        assert!(
            matches!(error, ConfigError::RegionWithoutUnion { .. }),
            "{error}"
        );
    }
}

fn org_error(orgs: &[Org]) -> ConfigError {
    RoutingTable::build(orgs, "").unwrap_err()
}

type ProblemCheck = fn(&OrgProblem) -> bool;

#[test]
fn organisation_tree_errors() {
    use OrgKind::*;
    let mut tree = orgs();
    tree.retain(|org| org.kind != Province);
    assert!(matches!(org_error(&tree), ConfigError::NoProvince));

    let mut tree = orgs();
    tree.push(org(OrgId(99), "FJ", Province, Some("350000")));
    assert!(matches!(
        org_error(&tree),
        ConfigError::SeveralProvinces { .. }
    ));

    let cases: [(Org, &str, ProblemCheck); 7] = [
        (org(TIANHE, "X", County, Some("440111")), "id", |p| {
            *p == OrgProblem::DuplicateId
        }),
        (org(OrgId(99), "GZ", County, Some("440111")), "code", |p| {
            *p == OrgProblem::DuplicateCode
        }),
        (org(OrgId(99), "", County, Some("440111")), "code", |p| {
            *p == OrgProblem::EmptyCode
        }),
        (org(OrgId(99), "X", County, None), "region_code", |p| {
            *p == OrgProblem::MissingRegion
        }),
        (
            org(OrgId(99), "X", County, Some("440200")),
            "region_code",
            |p| {
                matches!(
                    p,
                    OrgProblem::LevelMismatch {
                        level: RegionLevel::City,
                        ..
                    }
                )
            },
        ),
        (
            org(OrgId(99), "X", County, Some("350102")),
            "region_code",
            |p| matches!(p, OrgProblem::OutsideProvince { .. }),
        ),
        (
            org(OrgId(99), "X", County, Some("440106")),
            "region_code",
            |p| matches!(p, OrgProblem::SecondUnionForRegion { .. }),
        ),
    ];
    for (extra, expected_field, check) in cases {
        let mut tree = orgs();
        tree.push(extra.clone());
        match org_error(&tree) {
            ConfigError::Org { field, problem, .. } => {
                assert_eq!(field, expected_field, "{extra:?}");
                assert!(check(&problem), "{extra:?}: {problem:?}");
            }
            other => panic!("{extra:?}: expected an organisation error, got {other:?}"),
        }
    }
}

#[test]
fn regions_can_be_added_later() {
    let mut table = table();
    assert_eq!(
        queued(&table.route(&at("440111"))),
        QueueCause::UnknownRegion
    );
    table.add_regions_without_union(["440111"]).unwrap();
    assert_eq!(table.route(&at("440111")).target, Target::Union(GUANGZHOU));
    assert_eq!(table.province().as_str(), "440000");
    assert_eq!(
        table.org(TIANHE).map(|org| org.code.as_str()),
        Some("GZ-TH")
    );
}
