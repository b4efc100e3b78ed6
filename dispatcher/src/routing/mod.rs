//! Routing: which union handles a work order, and why.
//!
//! This module is pure: no I/O, no clock, no runtime. [`RoutingTable::build`] takes the
//! organisation tree and the administrator's rules file (TOML, see
//! `deploy/routing.example.toml`), validates both, and indexes them once;
//! [`RoutingTable::route`] then turns a ticket's facts into a [`Decision`] that names its
//! target, the rule that chose it, and a plain-text reason to store with the work order.
//!
//! # Order of the checks, and why
//!
//! 1. **Returned twice → manual queue.** A work order that two unions have already sent
//!    back is a sign the facts are wrong or the case is unusual; a third automatic
//!    attempt would only bounce again, so a person decides.
//! 2. **The facts must be well formed.** A malformed region code, industry code or USCC
//!    goes to the manual queue rather than being ignored: ignoring it could send an
//!    industry union's case to a county, and routing must never guess.
//! 3. **A given place must be known and inside the province.** A place outside the
//!    province belongs to another province's hotline; an unknown place is usually a
//!    transcription error. Both go to a person before any rule runs. A place is known
//!    when a union covers it, when the rules file lists it under
//!    `[territory] regions_without_union`, or when it is the city or province of either.
//! 4. **Industry rules**, because an industry union manages its employers wherever they
//!    are (railway, civil aviation, finance, post). Within them, from the most exact
//!    evidence to the least:
//!    1. the employer's USCC in a rule's explicit `employers` list (an identity);
//!    2. the industry division (`G53`) in a rule's `industries`, then the section (`G`),
//!       so that a railway union with `G53` wins over a transport union with `G`;
//!    3. the employer name against `employer_names` patterns, last because names are
//!       free text and matching them scans every pattern. If the name matches rules of
//!       two different unions the case is ambiguous and goes to the manual queue.
//! 5. **Territorial**: the union of the county, else its city, else the province
//!    (a level without a union configured, or whose union is excluded, passes the case
//!    up). A place given only at province level is too vague to dispatch and goes to the
//!    manual queue.
//! 6. **Manual queue** for everything left, always with the reason.
//!
//! A union in [`RoutingInput::excluded`] (it returned the work order as "not our
//! jurisdiction") is treated as absent at every step, so the next rule in the order
//! applies. A dispatcher's override goes through [`RoutingTable::route_override`],
//! which checks the chosen union exists, handles cases, and is not excluded.
//!
//! All lookups are hash-map or array indexed except the name patterns; the only
//! allocation in [`RoutingTable::route`] is the reason string.

mod codes;
mod config;
mod table;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::fmt;

pub use codes::{
    IndustryCode, IndustryCodeError, NamePattern, NamePatternError, RegionCode, RegionCodeError,
    RegionLevel, Uscc, UsccError,
};
pub use config::{ConfigError, OrgProblem, RuleProblem};
pub use table::{OverrideError, RoutingTable};

/// An organisation's id in ticket-core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgId(pub i64);

impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The kind of a union in the organisation tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrgKind {
    /// The provincial federation; the hotline centre's own level and the last
    /// territorial fallback.
    Province,
    City,
    County,
    /// An industry union (railway, civil aviation, finance, post, ...), routed to by the
    /// rules file rather than by place.
    Industry,
    /// The national federation: part of the tree, never a dispatch target.
    National,
}

/// One union of the organisation tree, as routing needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    pub id: OrgId,
    /// Stable code the rules file refers to, e.g. `"GD-RAIL"`.
    pub code: String,
    pub name: String,
    pub kind: OrgKind,
    /// GB/T 2260 code of the region a territorial union covers; required for province,
    /// city and county unions, and at the matching level.
    pub region_code: Option<String>,
}

/// What the ticket says about where and whom; blank strings count as absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketFacts {
    /// The employer's place, else where the matter happened (GB/T 2260, 6 digits).
    pub region_code: Option<String>,
    /// GB/T 4754 industry of the employer: `"C13"`, `"13"` or `"C"`.
    pub industry_code: Option<String>,
    pub employer_uscc: Option<String>,
    pub employer_name: Option<String>,
}

/// One routing question: the facts, and what earlier returns ruled out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutingInput {
    pub facts: TicketFacts,
    /// Unions that returned this ticket as "not our jurisdiction".
    pub excluded: BTreeSet<OrgId>,
    /// How many times a work order for this ticket has been returned.
    pub returns_so_far: u32,
}

/// A dispatcher's choice of union, replacing the automatic one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManualOverride {
    /// Who decided (user name or id), stored with the decision.
    pub by: String,
    pub target: OrgId,
    pub reason: String,
}

/// Where a work order goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    Union(OrgId),
    /// The province's manual dispatch queue: a person decides.
    ManualQueue,
}

/// A routing decision: target, the rule that made it, and the reason in plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub target: Target,
    pub rule: RuleRef,
    /// E.g. `"territorial 440106"`, `"industry: railway (rule 3: scope G53)"`.
    pub reason: String,
}

/// The rule behind a decision, in a form reports can group by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleRef {
    /// An industry rule of the rules file, by its number, and what matched.
    Industry { rule: u32, matched: IndustryMatch },
    /// Territorial routing: the level and region of the union chosen.
    Territorial {
        level: RegionLevel,
        region: RegionCode,
    },
    /// A dispatcher's override; the reason is the decision's reason.
    Manual { by: String },
    /// Nothing could place the ticket.
    Queue(QueueCause),
}

/// Which part of an industry rule's scope matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndustryMatch {
    Employer(Uscc),
    /// The scope entry that matched (a section or a division).
    Industry(IndustryCode),
    /// Index of the pattern in the rule's `employer_names`.
    EmployerName(usize),
}

/// Why a ticket went to the manual queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueCause {
    ReturnedTwice,
    NoPlaceNorEmployer,
    /// Employer facts matched no industry rule, and there is no place to route by.
    NoPlace,
    MalformedRegion,
    MalformedIndustry,
    MalformedUscc,
    UnknownRegion,
    OutsideProvince,
    /// The place is known only at province level.
    ProvinceLevelOnly,
    AmbiguousEmployerName,
    /// Every union that could take the place has returned the ticket.
    AllUnionsExcluded,
}
