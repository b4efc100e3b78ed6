//! The rules file as written by an administrator, and what can be wrong with it.
//!
//! Unknown keys are errors, so a misspelt `industires` fails loudly instead of leaving
//! a rule silently without scope.

use serde::Deserialize;

use super::{
    IndustryCodeError, NamePatternError, OrgId, OrgKind, RegionCodeError, RegionLevel, UsccError,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RulesFile {
    #[serde(default)]
    pub territory: TerritorySection,
    #[serde(default)]
    pub industry: Vec<IndustryRuleEntry>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TerritorySection {
    /// Regions that exist but have no union of their own; without this list a ticket
    /// placed there would be "unknown region" rather than passed up to the city.
    #[serde(default)]
    pub regions_without_union: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct IndustryRuleEntry {
    pub rule: u32,
    pub name: String,
    pub union: String,
    #[serde(default)]
    pub industries: Vec<String>,
    #[serde(default)]
    pub employers: Vec<String>,
    #[serde(default)]
    pub employer_names: Vec<String>,
}

/// The organisation tree or the rules file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("routing rules are not valid: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("organisation {id} ({code}), field `{field}`: {problem}")]
    Org {
        id: OrgId,
        code: String,
        field: &'static str,
        problem: OrgProblem,
    },
    #[error("the organisation tree has no province union")]
    NoProvince,
    #[error("the organisation tree has two province unions: {first} and {second}")]
    SeveralProvinces { first: String, second: String },
    #[error("[territory] regions_without_union: {value:?}: {problem}")]
    RegionWithoutUnion { value: String, problem: String },
    #[error("rule {rule} ({name}), field `{field}`: {problem}")]
    Rule {
        rule: u32,
        name: String,
        field: &'static str,
        problem: RuleProblem,
    },
}

/// What is wrong with one organisation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgProblem {
    #[error("id is used twice")]
    DuplicateId,
    #[error("code is empty")]
    EmptyCode,
    #[error("code is used twice")]
    DuplicateCode,
    #[error("a territorial union needs its region code")]
    MissingRegion,
    #[error("{value:?} is not a region code: {why}")]
    MalformedRegion { value: String, why: RegionCodeError },
    #[error("a {kind:?} union cannot cover {value}, which is a {level} code")]
    LevelMismatch {
        kind: OrgKind,
        value: String,
        level: RegionLevel,
    },
    #[error("region {value} is outside province {province}")]
    OutsideProvince { value: String, province: String },
    #[error("region {value} already has union {other}")]
    SecondUnionForRegion { value: String, other: String },
}

/// What is wrong with one industry rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleProblem {
    #[error("number {0} is already used by rule {1:?}")]
    DuplicateNumber(u32, String),
    #[error("the name is empty")]
    EmptyName,
    #[error("name {0:?} is already used by rule {1}")]
    DuplicateName(String, u32),
    #[error("no organisation has code {0:?}")]
    UnknownUnion(String),
    #[error("{code:?} is a {kind:?} union, not an industry union")]
    NotIndustryUnion { code: String, kind: OrgKind },
    #[error("{value:?} is not a GB/T 4754 industry code: {why}")]
    MalformedIndustryCode {
        value: String,
        why: IndustryCodeError,
    },
    #[error("{value:?} is not a unified social credit code: {why}")]
    MalformedUscc { value: String, why: UsccError },
    #[error("{value:?} is not a usable name pattern: {why}")]
    MalformedNamePattern {
        value: String,
        why: NamePatternError,
    },
    #[error("the rule has no scope: give industries, employers or employer_names")]
    EmptyScope,
    #[error("{value} is also in the scope of rule {other_rule} ({other_name})")]
    Overlap {
        value: String,
        other_rule: u32,
        other_name: String,
    },
}
