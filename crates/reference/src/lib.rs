//! Reference tables shipped with the project.
//!
//! - GB/T 2260 administrative region codes, province / city / county levels, used to
//!   route work orders to the union of a place and to roll figures up by region.
//! - GB/T 4754-2017 industry sections (A–T) and divisions (01–97), used to route work
//!   orders to industry unions and to report by industry.
//!
//! The tables live as TSV files under `data/` (see `data/README.md` for their origin)
//! and are compiled into the binary, so every process agrees on them without a
//! database migration. They are parsed once, on first use.

use std::sync::OnceLock;

const REGIONS_TSV: &str = include_str!("../data/regions.tsv");
const INDUSTRIES_TSV: &str = include_str!("../data/industries.tsv");

/// Level of a GB/T 2260 region in this table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RegionLevel {
    /// Province, autonomous region, municipality or special administrative region.
    Province,
    /// Prefecture-level city, autonomous prefecture, league or prefecture.
    City,
    /// District, county, county-level city or banner.
    County,
}

impl RegionLevel {
    /// The lower-case name used in `regions.tsv`.
    pub fn as_str(self) -> &'static str {
        match self {
            RegionLevel::Province => "province",
            RegionLevel::City => "city",
            RegionLevel::County => "county",
        }
    }
}

/// One row of the region table.
///
/// `parent` is `None` only for provinces. A county's parent is usually a city, but it
/// is the province for the districts of the four municipalities and for county-level
/// units administered directly by a province (e.g. 419001 济源市).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub code: &'static str,
    pub name: &'static str,
    pub level: RegionLevel,
    pub parent: Option<&'static str>,
}

/// Level of a GB/T 4754-2017 entry in this table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IndustryLevel {
    /// 门类, a letter A–T.
    Section,
    /// 大类, two digits 01–97.
    Division,
}

impl IndustryLevel {
    /// The lower-case name used in `industries.tsv`.
    pub fn as_str(self) -> &'static str {
        match self {
            IndustryLevel::Section => "section",
            IndustryLevel::Division => "division",
        }
    }
}

/// One section or division of GB/T 4754-2017.
///
/// `section` is the letter of the section the entry belongs to; for a section it is
/// its own code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Industry {
    pub code: &'static str,
    pub name: &'static str,
    pub level: IndustryLevel,
    pub section: &'static str,
}

/// Splits a TSV table into its data rows, skipping the header line and blank lines.
/// Missing trailing columns read as empty, because editors strip the trailing tab of
/// a province row (whose parent is empty). A malformed embedded table is a build
/// defect, so it panics with the line number; the unit tests parse both tables, so
/// such a panic never reaches a running service.
fn tsv_rows(
    table: &'static str,
    file: &str,
    columns: usize,
) -> impl Iterator<Item = (usize, Vec<&'static str>)> {
    table
        .lines()
        .enumerate()
        .skip(1)
        .filter(|(_, line)| !line.trim().is_empty())
        .map(move |(index, line)| {
            let mut fields: Vec<&'static str> = line.split('\t').collect();
            assert!(
                fields.len() <= columns,
                "{file} line {}: expected {columns} columns, found {}",
                index + 1,
                fields.len()
            );
            fields.resize(columns, "");
            (index + 1, fields)
        })
}

fn region_table() -> &'static [Region] {
    static REGIONS: OnceLock<Vec<Region>> = OnceLock::new();
    REGIONS.get_or_init(|| {
        let mut regions: Vec<Region> = tsv_rows(REGIONS_TSV, "regions.tsv", 4)
            .map(|(line, fields)| {
                let level = match fields[2] {
                    "province" => RegionLevel::Province,
                    "city" => RegionLevel::City,
                    "county" => RegionLevel::County,
                    other => panic!("regions.tsv line {line}: unknown level {other:?}"),
                };
                Region {
                    code: fields[0],
                    name: fields[1],
                    level,
                    parent: Some(fields[3]).filter(|parent| !parent.is_empty()),
                }
            })
            .collect();
        // Lookups binary-search by code; sorting here keeps that correct even if the
        // file is edited by hand out of order.
        regions.sort_by_key(|region| region.code);
        regions
    })
}

fn industry_table() -> &'static [Industry] {
    static INDUSTRIES: OnceLock<Vec<Industry>> = OnceLock::new();
    INDUSTRIES.get_or_init(|| {
        tsv_rows(INDUSTRIES_TSV, "industries.tsv", 4)
            .map(|(line, fields)| {
                let level = match fields[2] {
                    "section" => IndustryLevel::Section,
                    "division" => IndustryLevel::Division,
                    other => panic!("industries.tsv line {line}: unknown level {other:?}"),
                };
                Industry {
                    code: fields[0],
                    name: fields[1],
                    level,
                    section: fields[3],
                }
            })
            .collect()
    })
}

/// The region with this exact 6-digit code, if the table has it.
pub fn region(code: &str) -> Option<&'static Region> {
    let table = region_table();
    table
        .binary_search_by(|region| region.code.cmp(code))
        .ok()
        .map(|index| &table[index])
}

/// All regions, sorted by code.
pub fn regions() -> &'static [Region] {
    region_table()
}

/// The region itself first, then its parent, and so on up to its province (last).
/// Empty if the code is unknown.
pub fn region_ancestors(code: &str) -> Vec<&'static Region> {
    let mut chain = Vec::with_capacity(3);
    let mut next = region(code);
    while let Some(current) = next {
        chain.push(current);
        next = current.parent.and_then(region);
    }
    chain
}

/// True if `code` is `ancestor` or lies inside it (e.g. 440106 within 440100 and
/// within 440000). False if `code` is not in the table.
pub fn region_within(code: &str, ancestor: &str) -> bool {
    region_ancestors(code)
        .iter()
        .any(|region| region.code == ancestor)
}

/// The names from province down to the region, joined without separators as written
/// on Chinese addresses: "广东省广州市海珠区". `None` if the code is unknown.
pub fn region_full_name(code: &str) -> Option<String> {
    let chain = region_ancestors(code);
    if chain.is_empty() {
        return None;
    }
    Some(chain.iter().rev().map(|region| region.name).collect())
}

/// The section (a letter "A"–"T") or division (two digits "01"–"97") with exactly this
/// code. Groups and classes (3 or 4 digits) are not accepted: callers that hold one
/// decide themselves whether its first two digits are what they mean.
pub fn industry(code: &str) -> Option<&'static Industry> {
    industry_table()
        .iter()
        .find(|industry| industry.code == code)
}

/// All sections and divisions in the standard's order: each section followed by its
/// divisions.
pub fn industries() -> &'static [Industry] {
    industry_table()
}

/// True if `code` equals `scope` or is a division of section `scope`
/// ("13" is within "13" and within "C"). False if `code` is not in the table.
pub fn industry_within(code: &str, scope: &str) -> bool {
    industry(code).is_some_and(|industry| industry.code == scope || industry.section == scope)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn count(level: RegionLevel) -> usize {
        regions().iter().filter(|r| r.level == level).count()
    }

    #[test]
    fn haizhu_chain_runs_to_guangdong() {
        // 440105 is 海珠区; 440106 is 天河区 (a common mix-up).
        let codes: Vec<_> = region_ancestors("440105").iter().map(|r| r.code).collect();
        assert_eq!(codes, ["440105", "440100", "440000"]);
        let haizhu = region("440105").unwrap();
        assert_eq!(haizhu.name, "海珠区");
        assert_eq!(haizhu.level, RegionLevel::County);
        assert_eq!(
            region_full_name("440105").as_deref(),
            Some("广东省广州市海珠区")
        );
        assert_eq!(region("440106").unwrap().name, "天河区");
        assert_eq!(
            region_full_name("440106").as_deref(),
            Some("广东省广州市天河区")
        );
    }

    #[test]
    fn municipality_district_hangs_under_the_province() {
        let codes: Vec<_> = region_ancestors("110101").iter().map(|r| r.code).collect();
        assert_eq!(codes, ["110101", "110000"]);
        assert_eq!(region_full_name("110101").as_deref(), Some("北京市东城区"));
        // The grouping code "市辖区" is not a place and is not in the table.
        assert!(region("110100").is_none());
        assert!(region("500200").is_none());
        assert_eq!(region("500101").unwrap().parent, Some("500000"));
    }

    #[test]
    fn units_directly_under_a_province() {
        let jiyuan = region("419001").unwrap();
        assert_eq!(jiyuan.name, "济源市");
        assert_eq!(jiyuan.level, RegionLevel::County);
        assert_eq!(jiyuan.parent, Some("410000"));
        assert!(region("419000").is_none());
        assert_eq!(region("469001").unwrap().parent, Some("460000"));
        assert_eq!(region("659001").unwrap().parent, Some("650000"));

        for code in ["441900", "442000", "460400", "620200"] {
            let city = region(code).unwrap();
            assert_eq!(city.level, RegionLevel::City, "{code}");
            assert_eq!(city.parent, Some(&*format!("{}0000", &code[..2])));
            assert!(!regions().iter().any(|r| r.parent == Some(code)), "{code}");
        }
        assert_eq!(region_full_name("441900").as_deref(), Some("广东省东莞市"));
    }

    #[test]
    fn every_chain_ends_at_a_province_one_level_per_step() {
        for region in regions() {
            let chain = region_ancestors(region.code);
            let top = chain.last().unwrap();
            assert_eq!(top.level, RegionLevel::Province, "{}", region.code);
            assert!(top.parent.is_none());
            assert_eq!(&top.code[..2], &region.code[..2], "{}", region.code);
            for pair in chain.windows(2) {
                assert!(pair[0].level > pair[1].level, "{}", region.code);
            }
            match region.level {
                RegionLevel::Province => assert_eq!(chain.len(), 1),
                RegionLevel::City => assert_eq!(chain.len(), 2),
                RegionLevel::County => assert!((2..=3).contains(&chain.len())),
            }
        }
    }

    #[test]
    fn table_is_sorted_unique_and_well_formed() {
        let table = regions();
        assert!(table.windows(2).all(|w| w[0].code < w[1].code));
        for region in table {
            assert_eq!(region.code.len(), 6);
            assert!(region.code.bytes().all(|b| b.is_ascii_digit()));
            assert!(!region.name.trim().is_empty());
        }
    }

    #[test]
    fn counts_are_plausible() {
        // 31 mainland provincial units plus 台湾省, 香港 and 澳门 (kept without subdivisions).
        assert_eq!(count(RegionLevel::Province), 34);
        for code in ["710000", "810000", "820000"] {
            assert!(region(code).is_some(), "{code}");
        }
        assert!((320..=345).contains(&count(RegionLevel::City)));
        assert!((2800..=2900).contains(&count(RegionLevel::County)));
    }

    #[test]
    fn within_and_unknown_codes() {
        assert!(region_within("440106", "440106"));
        assert!(region_within("440106", "440100"));
        assert!(region_within("440106", "440000"));
        assert!(!region_within("440106", "440300"));
        assert!(!region_within("440100", "440106"));
        assert!(!region_within("999999", "999999"));
        assert!(region_ancestors("999999").is_empty());
        assert!(region_full_name("44010").is_none());
        assert!(region("").is_none());
    }

    #[test]
    fn industry_sections_and_division_ranges() {
        let expected = [
            ("A", 1, 5),
            ("B", 6, 12),
            ("C", 13, 43),
            ("D", 44, 46),
            ("E", 47, 50),
            ("F", 51, 52),
            ("G", 53, 60),
            ("H", 61, 62),
            ("I", 63, 65),
            ("J", 66, 69),
            ("K", 70, 70),
            ("L", 71, 72),
            ("M", 73, 75),
            ("N", 76, 79),
            ("O", 80, 82),
            ("P", 83, 83),
            ("Q", 84, 85),
            ("R", 86, 90),
            ("S", 91, 96),
            ("T", 97, 97),
        ];
        let sections: Vec<_> = industries()
            .iter()
            .filter(|i| i.level == IndustryLevel::Section)
            .collect();
        assert_eq!(sections.len(), 20);
        for (letter, first, last) in expected {
            let section = industry(letter).unwrap();
            assert_eq!(section.level, IndustryLevel::Section);
            assert_eq!(section.section, letter);
            for number in first..=last {
                let code = format!("{number:02}");
                let division = industry(&code).unwrap_or_else(|| panic!("{code} missing"));
                assert_eq!(division.level, IndustryLevel::Division);
                assert_eq!(division.section, letter, "{code}");
            }
        }
        let divisions = industries()
            .iter()
            .filter(|i| i.level == IndustryLevel::Division)
            .count();
        assert_eq!(divisions, 97);
    }

    #[test]
    fn every_division_maps_to_an_existing_section() {
        let codes: HashSet<_> = industries().iter().map(|i| i.code).collect();
        assert_eq!(codes.len(), industries().len(), "duplicate industry code");
        for entry in industries() {
            let section = industry(entry.section).unwrap();
            assert_eq!(section.level, IndustryLevel::Section, "{}", entry.code);
        }
    }

    #[test]
    fn industry_names_and_scope() {
        assert_eq!(industry("C").unwrap().name, "制造业");
        assert_eq!(industry("13").unwrap().name, "农副食品加工业");
        assert_eq!(industry("53").unwrap().name, "铁路运输业");
        assert_eq!(industry("T").unwrap().name, "国际组织");
        assert!(industry("131").is_none());
        assert!(industry("1310").is_none());
        assert!(industry("98").is_none());
        assert!(industry("c").is_none());

        assert!(industry_within("13", "C"));
        assert!(industry_within("13", "13"));
        assert!(industry_within("C", "C"));
        assert!(!industry_within("C", "13"));
        assert!(!industry_within("13", "B"));
        assert!(!industry_within("1310", "C"));
    }
}
