//! The national codes routing works on, parsed once into small `Copy` values so that
//! the hot path compares bytes instead of strings: GB/T 2260 region codes, GB/T 4754-2017
//! industry codes, GB 32100 unified social credit codes (USCC), and the employer-name
//! patterns administrators write in the rules file.

use std::fmt;

/// A 6-digit GB/T 2260 administrative region code, e.g. `440106` (Tianhe district).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionCode([u8; 6]);

/// The level of the administrative hierarchy a region code names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RegionLevel {
    /// `xx0000`: province, autonomous region or municipality.
    Province,
    /// `xxyy00`: prefecture-level city (or the municipal districts of a municipality).
    City,
    /// `xxyyzz`: county, county-level city or district.
    County,
}

impl fmt::Display for RegionLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RegionLevel::Province => "province",
            RegionLevel::City => "city",
            RegionLevel::County => "county",
        })
    }
}

/// Why a text is not a region code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionCodeError {
    #[error("a region code has exactly 6 digits")]
    NotSixDigits,
    #[error("province digits 00 do not exist")]
    ZeroProvince,
    #[error("a county code needs a city part: digits 3-4 are 00 but 5-6 are not")]
    CountyWithoutCity,
}

impl RegionCode {
    /// Parses a 6-digit code; surrounding whitespace is ignored.
    pub fn parse(text: &str) -> Result<RegionCode, RegionCodeError> {
        let bytes: [u8; 6] = text
            .trim()
            .as_bytes()
            .try_into()
            .map_err(|_| RegionCodeError::NotSixDigits)?;
        if !bytes.iter().all(u8::is_ascii_digit) {
            return Err(RegionCodeError::NotSixDigits);
        }
        if &bytes[0..2] == b"00" {
            return Err(RegionCodeError::ZeroProvince);
        }
        if &bytes[2..4] == b"00" && &bytes[4..6] != b"00" {
            return Err(RegionCodeError::CountyWithoutCity);
        }
        Ok(RegionCode(bytes))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("??????")
    }

    pub fn level(&self) -> RegionLevel {
        if &self.0[2..6] == b"0000" {
            RegionLevel::Province
        } else if &self.0[4..6] == b"00" {
            RegionLevel::City
        } else {
            RegionLevel::County
        }
    }

    /// The city this code belongs to (itself for a city; the province for a province).
    pub fn city(&self) -> RegionCode {
        match self.level() {
            RegionLevel::Province => *self,
            _ => self.truncated(4),
        }
    }

    /// The province this code belongs to.
    pub fn province(&self) -> RegionCode {
        self.truncated(2)
    }

    /// Whether `place` lies inside this region by the prefix hierarchy
    /// (a region contains itself).
    pub fn contains(&self, place: RegionCode) -> bool {
        let significant = match self.level() {
            RegionLevel::Province => 2,
            RegionLevel::City => 4,
            RegionLevel::County => 6,
        };
        self.0[..significant] == place.0[..significant]
    }

    fn truncated(&self, keep: usize) -> RegionCode {
        let mut bytes = [b'0'; 6];
        bytes[..keep].copy_from_slice(&self.0[..keep]);
        RegionCode(bytes)
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The GB/T 4754-2017 sections and the first and last 2-digit division of each.
/// Divisions are numbered 01-97 without gaps, so a division alone names its section.
const SECTIONS: [(u8, u8, u8); 20] = [
    (b'A', 1, 5),
    (b'B', 6, 12),
    (b'C', 13, 43),
    (b'D', 44, 46),
    (b'E', 47, 50),
    (b'F', 51, 52),
    (b'G', 53, 60),
    (b'H', 61, 62),
    (b'I', 63, 65),
    (b'J', 66, 69),
    (b'K', 70, 70),
    (b'L', 71, 72),
    (b'M', 73, 75),
    (b'N', 76, 79),
    (b'O', 80, 82),
    (b'P', 83, 83),
    (b'Q', 84, 85),
    (b'R', 86, 90),
    (b'S', 91, 96),
    (b'T', 97, 97),
];

/// A GB/T 4754-2017 industry: a section (`G`, transport) or a 2-digit division within it
/// (`G53`, railway transport). Written `"G"`, `"53"` or `"G53"`; shown as `G` or `G53`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IndustryCode {
    section: u8,
    division: Option<u8>,
}

/// Why a text is not an industry code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndustryCodeError {
    #[error("expected a section letter A-T, a 2-digit division 01-97, or both (\"G53\")")]
    Shape,
    #[error("no section {0}: sections run from A to T")]
    UnknownSection(char),
    #[error("no division {0:02}: divisions run from 01 to 97")]
    UnknownDivision(u8),
    #[error("division {division:02} belongs to section {actual}, not {given}")]
    SectionMismatch {
        division: u8,
        given: char,
        actual: char,
    },
}

impl IndustryCode {
    pub fn parse(text: &str) -> Result<IndustryCode, IndustryCodeError> {
        let text = text.trim().as_bytes();
        let (letter, digits) = match text {
            [letter] if letter.is_ascii_alphabetic() => (Some(letter.to_ascii_uppercase()), None),
            [d1, d2] if d1.is_ascii_digit() && d2.is_ascii_digit() => (None, Some([*d1, *d2])),
            [letter, d1, d2]
                if letter.is_ascii_alphabetic() && d1.is_ascii_digit() && d2.is_ascii_digit() =>
            {
                (Some(letter.to_ascii_uppercase()), Some([*d1, *d2]))
            }
            _ => return Err(IndustryCodeError::Shape),
        };
        let Some([d1, d2]) = digits else {
            let letter = letter.unwrap_or_default();
            return match SECTIONS.iter().any(|(section, _, _)| *section == letter) {
                true => Ok(IndustryCode {
                    section: letter,
                    division: None,
                }),
                false => Err(IndustryCodeError::UnknownSection(char::from(letter))),
            };
        };
        let division = (d1 - b'0') * 10 + (d2 - b'0');
        let section = SECTIONS
            .iter()
            .find(|(_, first, last)| (*first..=*last).contains(&division))
            .map(|(section, _, _)| *section)
            .ok_or(IndustryCodeError::UnknownDivision(division))?;
        if let Some(given) = letter
            && given != section
        {
            return Err(IndustryCodeError::SectionMismatch {
                division,
                given: char::from(given),
                actual: char::from(section),
            });
        }
        Ok(IndustryCode {
            section,
            division: Some(division),
        })
    }

    /// The section letter, `'A'..='T'`.
    pub fn section(&self) -> char {
        char::from(self.section)
    }

    /// The 2-digit division, if the code is that precise.
    pub fn division(&self) -> Option<u8> {
        self.division
    }

    /// The section this code belongs to (itself if it is a section).
    pub fn section_only(&self) -> IndustryCode {
        IndustryCode {
            section: self.section,
            division: None,
        }
    }

    /// Index of the section in `0..20`, for table lookups.
    pub(crate) fn section_index(&self) -> usize {
        usize::from(self.section - b'A')
    }

    /// Whether a scope written as this code holds an employer of industry `code`.
    /// A section holds all its divisions; a division does not hold a bare section,
    /// since a ticket that only knows "transport" may not be railway.
    pub fn covers(&self, code: IndustryCode) -> bool {
        self.section == code.section
            && match self.division {
                None => true,
                Some(division) => code.division == Some(division),
            }
    }
}

impl fmt::Display for IndustryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.division {
            Some(division) => write!(f, "{}{division:02}", self.section()),
            None => write!(f, "{}", self.section()),
        }
    }
}

/// The GB 32100-2015 character set: digits and capitals without I, O, S, V, Z.
const USCC_CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// An employer's 18-character unified social credit code with a valid check character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uscc([u8; 18]);

/// Why a text is not a USCC.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    #[error("a USCC has exactly 18 characters")]
    Length,
    #[error("character {0:?} is not used in USCCs (digits and capitals except I, O, S, V, Z)")]
    Character(char),
    #[error("check character should be {expected}, found {found}")]
    CheckCharacter { expected: char, found: char },
}

impl Uscc {
    /// Parses a USCC, accepting lower case and surrounding whitespace.
    pub fn parse(text: &str) -> Result<Uscc, UsccError> {
        let text = text.trim();
        if text.chars().count() != 18 {
            return Err(UsccError::Length);
        }
        let mut bytes = [0u8; 18];
        for (slot, character) in bytes.iter_mut().zip(text.chars()) {
            let upper = character.to_ascii_uppercase();
            if !upper.is_ascii() || !USCC_CHARSET.contains(&(upper as u8)) {
                return Err(UsccError::Character(character));
            }
            *slot = upper as u8;
        }
        let first_17 = std::str::from_utf8(&bytes[..17]).map_err(|_| UsccError::Length)?;
        let expected = Uscc::check_character(first_17)?;
        let found = char::from(bytes[17]);
        if expected != found {
            return Err(UsccError::CheckCharacter { expected, found });
        }
        Ok(Uscc(bytes))
    }

    /// The check character GB 32100 appends to the first 17 characters.
    pub fn check_character(first_17: &str) -> Result<char, UsccError> {
        if first_17.len() != 17 {
            return Err(UsccError::Length);
        }
        let mut sum = 0u32;
        for (character, weight) in first_17.chars().zip(USCC_WEIGHTS) {
            let value = USCC_CHARSET
                .iter()
                .position(|&c| char::from(c) == character.to_ascii_uppercase())
                .ok_or(UsccError::Character(character))?;
            sum += value as u32 * weight;
        }
        let check = (31 - sum % 31) % 31;
        Ok(char::from(USCC_CHARSET[check as usize]))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII from the charset is ever stored.
        std::str::from_utf8(&self.0).unwrap_or("??????????????????")
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An employer-name pattern. Without `*` it matches anywhere in the name (substring);
/// with `*` it is a glob over the whole name, `*` standing for any run of characters.
/// Only `*` is special, so names with `?` or brackets need no escaping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamePattern {
    text: String,
    pieces: Vec<String>,
    anchored_start: bool,
    anchored_end: bool,
}

/// Why a text is not a usable name pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NamePatternError {
    #[error("the pattern has no literal text and would match every employer")]
    MatchesEverything,
}

impl NamePattern {
    pub fn parse(text: &str) -> Result<NamePattern, NamePatternError> {
        let text = text.trim();
        let pieces: Vec<String> = text
            .split('*')
            .filter(|piece| !piece.is_empty())
            .map(str::to_owned)
            .collect();
        if pieces.is_empty() {
            return Err(NamePatternError::MatchesEverything);
        }
        let is_glob = text.contains('*');
        Ok(NamePattern {
            text: text.to_owned(),
            pieces,
            anchored_start: is_glob && !text.starts_with('*'),
            anchored_end: is_glob && !text.ends_with('*'),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Matches without allocating: literal pieces are found left to right, which is
    /// exact for globs whose only wildcard is `*`.
    pub fn matches(&self, name: &str) -> bool {
        let mut rest = name.trim();
        let count = self.pieces.len();
        for (index, piece) in self.pieces.iter().enumerate() {
            let first = index == 0;
            let last = index + 1 == count;
            if first && self.anchored_start {
                match rest.strip_prefix(piece.as_str()) {
                    Some(after) => rest = after,
                    None => return false,
                }
                if last && self.anchored_end {
                    return rest.is_empty();
                }
            } else if last && self.anchored_end {
                return rest.ends_with(piece.as_str());
            } else {
                match rest.find(piece.as_str()) {
                    Some(at) => rest = &rest[at + piece.len()..],
                    None => return false,
                }
            }
        }
        true
    }
}

impl fmt::Display for NamePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_levels_and_ancestors() {
        let county = RegionCode::parse("440106").unwrap();
        assert_eq!(county.level(), RegionLevel::County);
        assert_eq!(county.city().as_str(), "440100");
        assert_eq!(county.province().as_str(), "440000");
        assert_eq!(county.city().level(), RegionLevel::City);
        assert_eq!(county.province().level(), RegionLevel::Province);
        assert!(county.province().contains(county));
        assert!(county.city().contains(county));
        assert!(county.contains(county));
        assert!(!county.contains(county.city()));
        assert!(!RegionCode::parse("440300").unwrap().contains(county));
    }

    #[test]
    fn region_rejects_malformed() {
        assert_eq!(
            RegionCode::parse("44010"),
            Err(RegionCodeError::NotSixDigits)
        );
        assert_eq!(
            RegionCode::parse("44010a"),
            Err(RegionCodeError::NotSixDigits)
        );
        assert_eq!(
            RegionCode::parse("４４０１０６"),
            Err(RegionCodeError::NotSixDigits)
        );
        assert_eq!(
            RegionCode::parse("000106"),
            Err(RegionCodeError::ZeroProvince)
        );
        assert_eq!(
            RegionCode::parse("440006"),
            Err(RegionCodeError::CountyWithoutCity)
        );
        assert!(RegionCode::parse(" 440106 ").is_ok());
    }

    #[test]
    fn industry_forms() {
        let railway = IndustryCode::parse("53").unwrap();
        assert_eq!(railway, IndustryCode::parse("G53").unwrap());
        assert_eq!(railway, IndustryCode::parse("g53").unwrap());
        assert_eq!(railway.to_string(), "G53");
        assert_eq!(railway.section(), 'G');
        let transport = IndustryCode::parse("G").unwrap();
        assert_eq!(transport.division(), None);
        assert!(transport.covers(railway));
        assert!(!railway.covers(transport));
        assert!(railway.covers(railway));
        assert!(!IndustryCode::parse("C").unwrap().covers(railway));
        assert_eq!(IndustryCode::parse("C13").unwrap().to_string(), "C13");
        assert_eq!(IndustryCode::parse("05").unwrap().section(), 'A');
        assert_eq!(IndustryCode::parse("97").unwrap().section(), 'T');
    }

    #[test]
    fn industry_rejects_malformed() {
        use IndustryCodeError::*;
        assert_eq!(IndustryCode::parse("U"), Err(UnknownSection('U')));
        assert_eq!(IndustryCode::parse("00"), Err(UnknownDivision(0)));
        assert_eq!(IndustryCode::parse("98"), Err(UnknownDivision(98)));
        assert!(matches!(
            IndustryCode::parse("G13"),
            Err(SectionMismatch { division: 13, .. })
        ));
        for text in ["", "5", "G5", "G530", "铁路", "5G"] {
            assert_eq!(IndustryCode::parse(text), Err(Shape), "{text:?}");
        }
    }

    #[test]
    fn uscc_check_character() {
        // A code published as a GB 32100 example.
        let code = Uscc::parse("91350100M000100Y43").unwrap();
        assert_eq!(code.as_str(), "91350100M000100Y43");
        assert_eq!(Uscc::parse("91350100m000100y43").unwrap(), code);
        assert_eq!(
            Uscc::parse("91350100M000100Y44"),
            Err(UsccError::CheckCharacter {
                expected: '3',
                found: '4'
            })
        );
        assert_eq!(Uscc::parse("91350100M000100Y4"), Err(UsccError::Length));
        assert_eq!(
            Uscc::parse("91350100I000100Y43"),
            Err(UsccError::Character('I'))
        );
    }

    #[test]
    fn name_patterns() {
        let substring = NamePattern::parse("铁路局").unwrap();
        assert!(substring.matches("广州铁路局机务段"));
        assert!(!substring.matches("广州地铁"));
        let glob = NamePattern::parse("*铁路局*").unwrap();
        assert!(glob.matches("广州铁路局机务段"));
        assert!(glob.matches("铁路局"));
        let prefix = NamePattern::parse("中国银行*").unwrap();
        assert!(prefix.matches("中国银行广州分行"));
        assert!(!prefix.matches("广州中国银行"));
        let suffix = NamePattern::parse("*邮政局").unwrap();
        assert!(suffix.matches("天河区邮政局"));
        assert!(!suffix.matches("天河区邮政局食堂"));
        let both = NamePattern::parse("中国*分行").unwrap();
        assert!(both.matches("中国工商银行广州分行"));
        assert!(both.matches("中国分行"));
        assert!(!both.matches("中国工商银行广州分行营业部"));
        let middle = NamePattern::parse("广*铁*局").unwrap();
        assert!(middle.matches("广州铁路局"));
        assert!(!middle.matches("广州地铁"));
        assert_eq!(
            NamePattern::parse("**"),
            Err(NamePatternError::MatchesEverything)
        );
        assert_eq!(
            NamePattern::parse("  "),
            Err(NamePatternError::MatchesEverything)
        );
    }
}
