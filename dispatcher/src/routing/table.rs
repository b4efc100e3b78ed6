//! The validated, indexed routing table and the routing function itself.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;

use super::config::{IndustryRuleEntry, RulesFile};
use super::{
    ConfigError, Decision, IndustryCode, IndustryMatch, ManualOverride, NamePattern, Org, OrgId,
    OrgKind, OrgProblem, QueueCause, RegionCode, RegionLevel, RoutingInput, RuleProblem, RuleRef,
    Target, TicketFacts, Uscc,
};

/// GB/T 4754 divisions are 01-97; index 0 stays unused so a division is its own index.
const DIVISION_SLOTS: usize = 98;
const SECTION_SLOTS: usize = 20;

/// The organisation tree and routing rules, validated and indexed for [`Self::route`].
#[derive(Debug, Clone)]
pub struct RoutingTable {
    province: RegionCode,
    orgs: HashMap<OrgId, Org>,
    /// Province, city and county unions by the region they cover.
    territorial: HashMap<RegionCode, OrgId>,
    /// Every region a ticket may be placed in: those with a union, those listed as
    /// without one, and all their ancestors.
    known_regions: HashSet<RegionCode>,
    /// Industry rules in ascending rule number.
    rules: Vec<IndustryRule>,
    by_employer: HashMap<Uscc, usize>,
    by_division: [Option<usize>; DIVISION_SLOTS],
    by_section: [Option<usize>; SECTION_SLOTS],
    /// Every rule's name patterns, in ascending rule number.
    name_patterns: Vec<NameEntry>,
}

#[derive(Debug, Clone)]
struct NameEntry {
    pattern: NamePattern,
    /// Index into `rules`.
    rule: usize,
    /// Index within the rule's `employer_names`, as reported in [`IndustryMatch`].
    position: usize,
}

#[derive(Debug, Clone)]
struct IndustryRule {
    number: u32,
    name: String,
    union: OrgId,
}

/// Why a dispatcher's override was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    #[error("an override must say who made it")]
    MissingBy,
    #[error("an override must give its reason")]
    MissingReason,
    #[error("no organisation has id {0}")]
    UnknownTarget(OrgId),
    #[error("organisation {0} is the national federation, which does not handle work orders")]
    NotAHandlingUnion(OrgId),
    #[error("organisation {0} has returned this ticket as not its jurisdiction")]
    Excluded(OrgId),
}

/// A ticket's facts, parsed; blank strings already dropped.
struct Facts<'a> {
    region: Option<RegionCode>,
    industry: Option<IndustryCode>,
    uscc: Option<Uscc>,
    name: Option<&'a str>,
}

impl RoutingTable {
    /// Validates the organisation tree and the rules file and indexes them.
    ///
    /// The tree must hold exactly one province union; every province, city and county
    /// union needs a region code at its own level inside that province, at most one union
    /// per region. Every rule must name an existing industry union, have some scope, and
    /// share no USCC, industry code or name pattern with another rule.
    pub fn build(orgs: &[Org], rules_toml: &str) -> Result<RoutingTable, ConfigError> {
        let (province, orgs, territorial) = index_orgs(orgs)?;
        let file: RulesFile = toml::from_str(rules_toml)?;
        let mut table = RoutingTable {
            province,
            known_regions: HashSet::new(),
            territorial,
            orgs,
            rules: Vec::new(),
            by_employer: HashMap::new(),
            by_division: [None; DIVISION_SLOTS],
            by_section: [None; SECTION_SLOTS],
            name_patterns: Vec::new(),
        };
        let regions_with_union: Vec<RegionCode> = table.territorial.keys().copied().collect();
        for region in regions_with_union {
            table.add_known_region(region);
        }
        table.add_regions_without_union(
            file.territory
                .regions_without_union
                .iter()
                .map(String::as_str),
        )?;
        let mut entries = file.industry;
        entries.sort_by_key(|entry| entry.rule);
        for entry in &entries {
            table.add_industry_rule(entry)?;
        }
        Ok(table)
    }

    /// Declares regions that exist but have no union, e.g. from the GB/T 2260 list,
    /// so tickets placed there pass up to the city or province instead of going to the
    /// manual queue as unknown.
    pub fn add_regions_without_union<'a>(
        &mut self,
        codes: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), ConfigError> {
        // All or nothing: a table that failed to take a list stays as it was.
        let mut regions = Vec::new();
        for value in codes {
            let problem = |problem: String| ConfigError::RegionWithoutUnion {
                value: value.to_owned(),
                problem,
            };
            let region = RegionCode::parse(value).map_err(|why| problem(why.to_string()))?;
            if !self.province.contains(region) {
                return Err(problem(format!("outside province {}", self.province)));
            }
            regions.push(region);
        }
        for region in regions {
            self.add_known_region(region);
        }
        Ok(())
    }

    /// The province this table routes for.
    pub fn province(&self) -> RegionCode {
        self.province
    }

    /// An organisation of the tree, e.g. to show a decision's target by name.
    pub fn org(&self, id: OrgId) -> Option<&Org> {
        self.orgs.get(&id)
    }

    /// Decides where a work order goes; see the module documentation for the order.
    pub fn route(&self, input: &RoutingInput) -> Decision {
        if input.returns_so_far >= 2 {
            let reason = match input.returns_so_far {
                2 => "returned twice: a person decides".to_owned(),
                returns => format!("returned {returns} times: a person decides"),
            };
            return queue(QueueCause::ReturnedTwice, reason);
        }
        let facts = match read_facts(&input.facts) {
            Ok(facts) => facts,
            Err(decision) => return decision,
        };
        if let Some(place) = facts.region {
            if !self.province.contains(place) {
                return queue(
                    QueueCause::OutsideProvince,
                    format!("region {place} is outside province {}", self.province),
                );
            }
            if !self.known_regions.contains(&place) {
                return queue(QueueCause::UnknownRegion, format!("unknown region {place}"));
            }
        }
        if let Some(decision) = self.route_by_industry(&facts, &input.excluded) {
            return decision;
        }
        match facts.region {
            Some(place) => self.route_by_territory(place, &input.excluded),
            None if facts.industry.is_none() && facts.uscc.is_none() && facts.name.is_none() => {
                queue(
                    QueueCause::NoPlaceNorEmployer,
                    "neither place nor employer given".to_owned(),
                )
            }
            None => queue(
                QueueCause::NoPlace,
                "no place given, and no industry union (that has not returned it) takes the employer".to_owned(),
            ),
        }
    }

    /// Applies a dispatcher's choice after checking it: the union must exist, handle
    /// work orders, and not have returned this ticket.
    pub fn route_override(
        &self,
        input: &RoutingInput,
        request: &ManualOverride,
    ) -> Result<Decision, OverrideError> {
        let by = request.by.trim();
        let reason = request.reason.trim();
        if by.is_empty() {
            return Err(OverrideError::MissingBy);
        }
        if reason.is_empty() {
            return Err(OverrideError::MissingReason);
        }
        let org = self
            .orgs
            .get(&request.target)
            .ok_or(OverrideError::UnknownTarget(request.target))?;
        if org.kind == OrgKind::National {
            return Err(OverrideError::NotAHandlingUnion(org.id));
        }
        if input.excluded.contains(&org.id) {
            return Err(OverrideError::Excluded(org.id));
        }
        Ok(Decision {
            target: Target::Union(org.id),
            rule: RuleRef::Manual { by: by.to_owned() },
            reason: format!("manual by {by}: {reason}"),
        })
    }

    fn route_by_industry(&self, facts: &Facts<'_>, excluded: &BTreeSet<OrgId>) -> Option<Decision> {
        let usable = |index: usize| !excluded.contains(&self.rules[index].union);
        if let Some(uscc) = facts.uscc
            && let Some(&index) = self.by_employer.get(&uscc)
            && usable(index)
        {
            let scope = format!("employer {uscc}");
            return Some(self.industry_decision(index, IndustryMatch::Employer(uscc), &scope));
        }
        if let Some(code) = facts.industry {
            // The division first: a railway union (G53) is more specific than a
            // transport union (G).
            let division_rule = code
                .division()
                .and_then(|division| self.by_division[usize::from(division)]);
            let section_rule = self.by_section[code.section_index()];
            for (rule, scope_code) in [(division_rule, code), (section_rule, code.section_only())] {
                if let Some(index) = rule
                    && usable(index)
                {
                    let scope = format!("scope {scope_code}");
                    return Some(self.industry_decision(
                        index,
                        IndustryMatch::Industry(scope_code),
                        &scope,
                    ));
                }
            }
        }
        let name = facts.name?;
        let mut first: Option<&NameEntry> = None;
        for entry in &self.name_patterns {
            if !usable(entry.rule) || !entry.pattern.matches(name) {
                continue;
            }
            match first {
                None => first = Some(entry),
                Some(earlier) if self.rules[earlier.rule].union != self.rules[entry.rule].union => {
                    let (a, b) = (&self.rules[earlier.rule], &self.rules[entry.rule]);
                    return Some(queue(
                        QueueCause::AmbiguousEmployerName,
                        format!(
                            "employer name {name:?} matches rule {} ({}) and rule {} ({})",
                            a.number, a.name, b.number, b.name
                        ),
                    ));
                }
                // Several patterns of one union agree; the first one is quoted.
                Some(_) => {}
            }
        }
        let entry = first?;
        let scope = format!("employer name matches {:?}", entry.pattern.as_str());
        Some(self.industry_decision(
            entry.rule,
            IndustryMatch::EmployerName(entry.position),
            &scope,
        ))
    }

    fn industry_decision(&self, index: usize, matched: IndustryMatch, scope: &str) -> Decision {
        let rule = &self.rules[index];
        Decision {
            target: Target::Union(rule.union),
            rule: RuleRef::Industry {
                rule: rule.number,
                matched,
            },
            reason: format!("industry: {} (rule {}: {scope})", rule.name, rule.number),
        }
    }

    fn route_by_territory(&self, place: RegionCode, excluded: &BTreeSet<OrgId>) -> Decision {
        if place.level() == RegionLevel::Province {
            return queue(
                QueueCause::ProvinceLevelOnly,
                format!("place {place} is known only at province level"),
            );
        }
        let chain = [place, place.city(), place.province()];
        let mut passed_over = String::new();
        let mut previous: Option<RegionCode> = None;
        for region in chain {
            // A city-level place yields the city twice.
            if previous == Some(region) {
                continue;
            }
            previous = Some(region);
            match self.territorial.get(&region) {
                Some(&union) if !excluded.contains(&union) => {
                    let reason = if passed_over.is_empty() {
                        format!("territorial {region}")
                    } else {
                        format!("territorial {region} (place {place}; {passed_over})")
                    };
                    return Decision {
                        target: Target::Union(union),
                        rule: RuleRef::Territorial {
                            level: region.level(),
                            region,
                        },
                        reason,
                    };
                }
                found => {
                    if !passed_over.is_empty() {
                        passed_over.push_str("; ");
                    }
                    let why = if found.is_some() {
                        "union returned it"
                    } else {
                        "no union"
                    };
                    let _ = write!(passed_over, "{} {region}: {why}", region.level());
                }
            }
        }
        queue(
            QueueCause::AllUnionsExcluded,
            format!(
                "territorial {place}: every union up to the province returned it ({passed_over})"
            ),
        )
    }

    fn add_known_region(&mut self, region: RegionCode) {
        self.known_regions.insert(region);
        self.known_regions.insert(region.city());
        self.known_regions.insert(region.province());
    }

    fn add_industry_rule(&mut self, entry: &IndustryRuleEntry) -> Result<(), ConfigError> {
        let fail = |field: &'static str, problem: RuleProblem| ConfigError::Rule {
            rule: entry.rule,
            name: entry.name.clone(),
            field,
            problem,
        };
        let name = entry.name.trim();
        if name.is_empty() {
            return Err(fail("name", RuleProblem::EmptyName));
        }
        for other in &self.rules {
            if other.number == entry.rule {
                return Err(fail(
                    "rule",
                    RuleProblem::DuplicateNumber(entry.rule, other.name.clone()),
                ));
            }
            if other.name == name {
                return Err(fail(
                    "name",
                    RuleProblem::DuplicateName(name.to_owned(), other.number),
                ));
            }
        }
        let union = self
            .orgs
            .values()
            .find(|org| org.code == entry.union.trim())
            .ok_or_else(|| fail("union", RuleProblem::UnknownUnion(entry.union.clone())))?;
        if union.kind != OrgKind::Industry {
            return Err(fail(
                "union",
                RuleProblem::NotIndustryUnion {
                    code: union.code.clone(),
                    kind: union.kind,
                },
            ));
        }
        if entry.industries.is_empty()
            && entry.employers.is_empty()
            && entry.employer_names.is_empty()
        {
            return Err(fail("industries", RuleProblem::EmptyScope));
        }
        let index = self.rules.len();
        let overlap = |field, value: String, other: usize, rules: &[IndustryRule]| {
            fail(
                field,
                RuleProblem::Overlap {
                    value,
                    other_rule: rules[other].number,
                    other_name: rules[other].name.clone(),
                },
            )
        };
        for value in &entry.industries {
            let code = IndustryCode::parse(value).map_err(|why| {
                fail(
                    "industries",
                    RuleProblem::MalformedIndustryCode {
                        value: value.clone(),
                        why,
                    },
                )
            })?;
            let slot = match code.division() {
                Some(division) => &mut self.by_division[usize::from(division)],
                None => &mut self.by_section[code.section_index()],
            };
            match *slot {
                Some(other) if other != index => {
                    return Err(overlap("industries", code.to_string(), other, &self.rules));
                }
                _ => *slot = Some(index),
            }
        }
        for value in &entry.employers {
            let uscc = Uscc::parse(value).map_err(|why| {
                fail(
                    "employers",
                    RuleProblem::MalformedUscc {
                        value: value.clone(),
                        why,
                    },
                )
            })?;
            match self.by_employer.get(&uscc) {
                Some(&other) if other != index => {
                    return Err(overlap("employers", uscc.to_string(), other, &self.rules));
                }
                _ => {
                    self.by_employer.insert(uscc, index);
                }
            }
        }
        for (position, value) in entry.employer_names.iter().enumerate() {
            let pattern = NamePattern::parse(value).map_err(|why| {
                fail(
                    "employer_names",
                    RuleProblem::MalformedNamePattern {
                        value: value.clone(),
                        why,
                    },
                )
            })?;
            if let Some(other) = self.name_patterns.iter().find(|existing| {
                existing.rule != index && existing.pattern.as_str() == pattern.as_str()
            }) {
                let value = format!("{:?}", pattern.as_str());
                return Err(overlap("employer_names", value, other.rule, &self.rules));
            }
            self.name_patterns.push(NameEntry {
                pattern,
                rule: index,
                position,
            });
        }
        self.rules.push(IndustryRule {
            number: entry.rule,
            name: name.to_owned(),
            union: union.id,
        });
        Ok(())
    }
}

fn queue(cause: QueueCause, reason: String) -> Decision {
    Decision {
        target: Target::ManualQueue,
        rule: RuleRef::Queue(cause),
        reason,
    }
}

fn present(text: &Option<String>) -> Option<&str> {
    text.as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty())
}

/// Parses the facts; a malformed one sends the ticket to the manual queue, since
/// ignoring it could route by the remaining facts to the wrong union.
fn read_facts(facts: &TicketFacts) -> Result<Facts<'_>, Decision> {
    fn parse<T, E: std::fmt::Display>(
        text: Option<&str>,
        parse: impl Fn(&str) -> Result<T, E>,
        cause: QueueCause,
        what: &str,
    ) -> Result<Option<T>, Decision> {
        text.map(|text| {
            parse(text).map_err(|why| queue(cause, format!("malformed {what} {text:?}: {why}")))
        })
        .transpose()
    }
    Ok(Facts {
        region: parse(
            present(&facts.region_code),
            RegionCode::parse,
            QueueCause::MalformedRegion,
            "region code",
        )?,
        industry: parse(
            present(&facts.industry_code),
            IndustryCode::parse,
            QueueCause::MalformedIndustry,
            "industry code",
        )?,
        uscc: parse(
            present(&facts.employer_uscc),
            Uscc::parse,
            QueueCause::MalformedUscc,
            "employer USCC",
        )?,
        name: present(&facts.employer_name),
    })
}

type IndexedOrgs = (RegionCode, HashMap<OrgId, Org>, HashMap<RegionCode, OrgId>);

fn index_orgs(orgs: &[Org]) -> Result<IndexedOrgs, ConfigError> {
    let fail = |org: &Org, field: &'static str, problem: OrgProblem| ConfigError::Org {
        id: org.id,
        code: org.code.clone(),
        field,
        problem,
    };
    let mut by_id: HashMap<OrgId, Org> = HashMap::with_capacity(orgs.len());
    let mut codes: HashSet<&str> = HashSet::with_capacity(orgs.len());
    let mut regions: Vec<(&Org, RegionCode)> = Vec::new();
    let mut province: Option<(&Org, RegionCode)> = None;
    for org in orgs {
        if by_id.contains_key(&org.id) {
            return Err(fail(org, "id", OrgProblem::DuplicateId));
        }
        let code = org.code.trim();
        if code.is_empty() {
            return Err(fail(org, "code", OrgProblem::EmptyCode));
        }
        if !codes.insert(code) {
            return Err(fail(org, "code", OrgProblem::DuplicateCode));
        }
        let region = present(&org.region_code)
            .map(|value| {
                RegionCode::parse(value).map_err(|why| {
                    fail(
                        org,
                        "region_code",
                        OrgProblem::MalformedRegion {
                            value: value.to_owned(),
                            why,
                        },
                    )
                })
            })
            .transpose()?;
        let expected_level = match org.kind {
            OrgKind::Province => Some(RegionLevel::Province),
            OrgKind::City => Some(RegionLevel::City),
            OrgKind::County => Some(RegionLevel::County),
            OrgKind::Industry | OrgKind::National => None,
        };
        if let Some(expected) = expected_level {
            let region =
                region.ok_or_else(|| fail(org, "region_code", OrgProblem::MissingRegion))?;
            if region.level() != expected {
                return Err(fail(
                    org,
                    "region_code",
                    OrgProblem::LevelMismatch {
                        kind: org.kind,
                        value: region.to_string(),
                        level: region.level(),
                    },
                ));
            }
            if expected == RegionLevel::Province {
                if let Some((first, _)) = province {
                    return Err(ConfigError::SeveralProvinces {
                        first: first.code.clone(),
                        second: org.code.clone(),
                    });
                }
                province = Some((org, region));
            }
            regions.push((org, region));
        }
        let mut stored = org.clone();
        stored.code = code.to_owned();
        by_id.insert(org.id, stored);
    }
    let (_, province) = province.ok_or(ConfigError::NoProvince)?;
    let mut territorial: HashMap<RegionCode, OrgId> = HashMap::with_capacity(regions.len());
    for (org, region) in regions {
        if !province.contains(region) {
            return Err(fail(
                org,
                "region_code",
                OrgProblem::OutsideProvince {
                    value: region.to_string(),
                    province: province.to_string(),
                },
            ));
        }
        if let Some(other) = territorial.insert(region, org.id) {
            let other = by_id
                .get(&other)
                .map(|o| o.code.clone())
                .unwrap_or_default();
            return Err(fail(
                org,
                "region_code",
                OrgProblem::SecondUnionForRegion {
                    value: region.to_string(),
                    other,
                },
            ));
        }
    }
    Ok((province, by_id, territorial))
}
