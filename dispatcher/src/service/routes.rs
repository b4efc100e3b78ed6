//! The routing table as the dispatcher service builds it: ticket-core's organisation tree
//! plus the administrator's rules file, with every GB/T 2260 region of the province known.

use std::collections::{BTreeSet, HashMap};

use hotline_api::ticket::v1 as pb;

use crate::routing::{
    ConfigError, Decision, Org, OrgId, OrgKind, RoutingInput, RoutingTable, TicketFacts,
};

pub struct Routes {
    table: RoutingTable,
    id_of: HashMap<String, OrgId>,
}

fn kind_of(kind: &str) -> Option<OrgKind> {
    match kind {
        "province" => Some(OrgKind::Province),
        "city" => Some(OrgKind::City),
        "county" => Some(OrgKind::County),
        "industry" => Some(OrgKind::Industry),
        "national" => Some(OrgKind::National),
        // The hotline centre takes calls; it is not a union that handles work orders.
        _ => None,
    }
}

fn non_empty(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

impl Routes {
    pub fn build(
        organisations: &[pb::Organisation],
        rules_toml: &str,
    ) -> Result<Self, ConfigError> {
        let orgs: Vec<Org> = organisations
            .iter()
            .filter_map(|o| {
                Some(Org {
                    id: OrgId(o.id),
                    code: o.code.clone(),
                    name: o.name.clone(),
                    kind: kind_of(&o.kind)?,
                    region_code: non_empty(&o.region_code),
                })
            })
            .collect();
        let mut table = RoutingTable::build(&orgs, rules_toml)?;
        let province = table.province();
        let in_province: Vec<&str> = hotline_reference::regions()
            .iter()
            .map(|r| r.code)
            .filter(|code| {
                crate::routing::RegionCode::parse(code).is_ok_and(|r| province.contains(r))
            })
            .collect();
        table.add_regions_without_union(in_province)?;
        let id_of = orgs.iter().map(|o| (o.code.clone(), o.id)).collect();
        Ok(Self { table, id_of })
    }

    /// Where the ticket goes, given the unions (by code) that returned it before.
    pub fn route(&self, ticket: &pb::Ticket, returned_by: &[String]) -> Decision {
        let employer = ticket.employer.clone().unwrap_or_default();
        let facts = TicketFacts {
            // The employer's place first; where it happened when the employer's is unknown.
            region_code: non_empty(&employer.region_code)
                .or_else(|| non_empty(&ticket.place_region_code)),
            industry_code: non_empty(&employer.industry_code),
            employer_uscc: non_empty(&employer.uscc),
            employer_name: non_empty(&employer.name),
        };
        let excluded: BTreeSet<OrgId> = returned_by
            .iter()
            .filter_map(|code| self.id_of.get(code).copied())
            .collect();
        self.table.route(&RoutingInput {
            facts,
            excluded,
            returns_so_far: returned_by.len() as u32,
        })
    }

    pub fn code_of(&self, id: OrgId) -> Option<&str> {
        self.table.org(id).map(|o| o.code.as_str())
    }
}
