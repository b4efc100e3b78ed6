//! Validation and normalisation of the fields a hotline agent or a web form enters.
//!
//! Each function takes the field name (echoed back in the violation so a client can
//! highlight the right input) and the raw text, and returns the normalised value or a
//! [`FieldViolation`] whose `rule` tells a client developer what is accepted.
//!
//! Agents type with Chinese input methods, so full-width ASCII forms ("１３８", "－",
//! "（", the ideographic space) are folded to their ASCII equivalents before checking
//! phone numbers, ID numbers, credit codes and email addresses.

use std::fmt;

/// A field that failed validation: which field, and the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    /// A short English sentence saying what the field must look like.
    pub rule: String,
}

impl FieldViolation {
    pub fn new(field: &str, rule: impl Into<String>) -> Self {
        FieldViolation {
            field: field.to_owned(),
            rule: rule.into(),
        }
    }
}

impl fmt::Display for FieldViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.rule)
    }
}

impl std::error::Error for FieldViolation {}

pub const PHONE_RULE: &str = "must be a mainland mobile number (11 digits starting 13–19) \
     or a landline with area code (e.g. 020-87654321 or 0755-7654321), optionally \
     prefixed +86; '-', spaces and brackets may separate groups, and an extension may \
     follow after '-' or '转'";
pub const RESIDENT_ID_FORMAT_RULE: &str =
    "must be an 18-character resident ID number: 17 digits followed by a digit or X";
pub const RESIDENT_ID_BIRTH_DATE_RULE: &str = "characters 7–14 of the resident ID number \
     must be a real birth date (YYYYMMDD) between 1900-01-01 and today";
pub const RESIDENT_ID_CHECK_RULE: &str = "the last character of the resident ID number does \
     not match its check character (GB 11643, ISO 7064 MOD 11-2); a digit was probably \
     mistyped";
pub const USCC_LENGTH_RULE: &str =
    "must be an 18-character unified social credit code (统一社会信用代码)";
pub const USCC_CHARACTERS_RULE: &str = "a unified social credit code may only contain \
     digits and the capital letters A–H, J–N, P–R, T, U, W–Y (never I, O, Z, S or V)";
pub const USCC_CHECK_RULE: &str = "the last character of the unified social credit code \
     does not match its check character (GB 32100); a character was probably mistyped";
pub const EMAIL_RULE: &str = "must be an email address such as name@example.com: ASCII \
     only, no spaces, at most 254 characters, a domain with at least one dot";
pub const NON_EMPTY_RULE: &str = "must not be empty";
pub const CONTROL_CHARACTER_RULE: &str =
    "must not contain control characters other than line breaks and tabs";

/// Longest phone input looked at; anything longer is not a phone number and is
/// rejected before parsing.
const PHONE_MAX_INPUT_CHARS: usize = 40;
const EXTENSION_MAX_DIGITS: usize = 6;

/// Folds full-width ASCII (U+FF01–U+FF5E) and the ideographic space to ASCII.
fn to_half_width(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

fn half_width_trimmed(input: &str) -> String {
    input
        .chars()
        .map(to_half_width)
        .collect::<String>()
        .trim()
        .to_owned()
}

fn all_ascii_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_mobile(digits: &str) -> bool {
    let bytes = digits.as_bytes();
    bytes.len() == 11 && all_ascii_digits(digits) && bytes[0] == b'1' && bytes[1] >= b'3'
}

/// A local landline number: 7 or 8 digits; 0 is the trunk prefix and 1 starts
/// special-service numbers, so neither begins a subscriber number.
fn is_local_number(digits: &str) -> bool {
    (7..=8).contains(&digits.len()) && all_ascii_digits(digits) && digits.as_bytes()[0] >= b'2'
}

fn is_extension(digits: &str) -> bool {
    digits.len() <= EXTENSION_MAX_DIGITS && all_ascii_digits(digits)
}

/// A run of digits in a phone number, and whether a '-' stood before it (only '-'
/// introduces an extension).
type DigitGroup<'a> = (&'a str, bool);

/// Splits on '-', spaces and brackets. `None` if anything else appears.
fn digit_groups(text: &str) -> Option<Vec<DigitGroup<'_>>> {
    let mut groups = Vec::new();
    let mut saw_dash = false;
    let mut start = None;
    // A trailing space closes the last group like any other separator.
    for (index, c) in text.char_indices().chain([(text.len(), ' ')]) {
        if c.is_ascii_digit() {
            start.get_or_insert(index);
            continue;
        }
        if let Some(begin) = start.take() {
            groups.push((&text[begin..index], saw_dash));
            saw_dash = false;
        }
        match c {
            '-' => saw_dash = true,
            ' ' | '(' | ')' => {}
            _ => return None,
        }
    }
    Some(groups)
}

/// Validates and normalises a phone number.
///
/// Accepted:
/// - mainland mobile numbers `1[3-9]` + 9 digits, optionally prefixed `+86`, `0086`,
///   or a bare `86` (only in front of a mobile, 13 digits in all);
/// - landlines: area code `010`, `02X` or `0` + 3 digits (`0755`), then a 7–8 digit
///   local number not starting with 0 or 1. After `+86`/`0086` the area code's leading
///   0 may be left out (`+86 20 87654321`);
/// - groups separated by `-`, spaces or brackets: `138 1234 5678`, `(020) 1234 5678`;
/// - an extension of up to 6 digits on a landline, after `-` (`020-87654321-123`) or
///   `转` (`020-87654321转123`).
///
/// Normalised forms: a mobile is its 11 digits (`13812345678`); a landline is
/// `0AA-NNNNNNNN`, with `-EEE` appended when an extension was given. The extension is
/// kept because a callback has to reach the worker through it; whoever matches caller
/// ID against stored numbers compares the part before a second `-`.
///
/// Not accepted, on purpose: foreign numbers, 400/800 and other service numbers, and
/// short numbers such as 12351 or 95xxx: none of them is a number on which the hotline
/// can call a worker back.
pub fn phone(field: &str, input: &str) -> Result<String, FieldViolation> {
    let violation = || FieldViolation::new(field, PHONE_RULE);
    let text = half_width_trimmed(input);
    if text.is_empty() || text.chars().count() > PHONE_MAX_INPUT_CHARS {
        return Err(violation());
    }

    let (number, spoken_extension) = match text.split_once('转') {
        Some((number, extension)) => {
            let extension = extension.trim();
            if !is_extension(extension) {
                return Err(violation());
            }
            (number, Some(extension))
        }
        None => (text.as_str(), None),
    };

    let (international, national) = if let Some(rest) = number.strip_prefix("+86") {
        (true, rest)
    } else if let Some(rest) = number.strip_prefix("0086") {
        (true, rest)
    } else {
        (false, number)
    };

    let groups = digit_groups(national).ok_or_else(violation)?;
    if groups.is_empty() {
        return Err(violation());
    }
    let all_digits: String = groups.iter().map(|(digits, _)| *digits).collect();

    if is_mobile(&all_digits) {
        return match spoken_extension {
            None => Ok(all_digits),
            Some(_) => Err(violation()),
        };
    }
    if !international
        && spoken_extension.is_none()
        && all_digits.len() == 13
        && all_digits.starts_with("86")
        && is_mobile(&all_digits[2..])
    {
        return Ok(all_digits[2..].to_owned());
    }

    landline(&groups, international, spoken_extension).ok_or_else(violation)
}

/// Reads area code, local number and optional extension from the digit groups.
fn landline(
    groups: &[DigitGroup<'_>],
    international: bool,
    spoken_extension: Option<&str>,
) -> Option<String> {
    let first = groups[0].0;
    // "+86 20 87654321": the trunk 0 is dropped in international notation.
    let first = if international && !first.starts_with('0') {
        format!("0{first}")
    } else {
        first.to_owned()
    };
    // Area codes: 010, 02X, or 0 and three digits starting 3-9 (0755).
    let area_len = match first.as_bytes() {
        [b'0', b'1', b'0', ..] | [b'0', b'2', _, ..] => 3,
        [b'0', b'3'..=b'9', _, _, ..] => 4,
        _ => return None,
    };
    let (area, head_of_local) = first.split_at(area_len);

    // Remaining groups, with the digits that followed the area code in its group.
    let mut rest: Vec<DigitGroup<'_>> = Vec::with_capacity(groups.len());
    if !head_of_local.is_empty() {
        rest.push((head_of_local, false));
    }
    rest.extend_from_slice(&groups[1..]);

    let joined: String = rest.iter().map(|(digits, _)| *digits).collect();
    let (local, extension) = if is_local_number(&joined) {
        (joined, spoken_extension)
    } else {
        // Only a last group after '-' can be an extension, and not as well as '转'.
        let ((last, after_dash), init) = rest.split_last()?;
        let local: String = init.iter().map(|(digits, _)| *digits).collect();
        let dash_extension = *after_dash && is_local_number(&local) && is_extension(last);
        if spoken_extension.is_some() || !dash_extension {
            return None;
        }
        (local, Some(*last))
    };

    Some(match extension {
        Some(extension) => format!("{area}-{local}-{extension}"),
        None => format!("{area}-{local}"),
    })
}

/// ISO 7064 MOD 11-2 weights for the 17 body digits: 2^(17-i) mod 11.
const RESIDENT_ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for each value of the weighted sum mod 11.
const RESIDENT_ID_CHECK_CHARS: &[u8; 11] = b"10X98765432";

/// The GB 11643 check character for the first 17 characters of `body`, or `None` if
/// they are not 17 ASCII digits.
pub fn resident_id_check_char(body: &str) -> Option<char> {
    let digits = body.as_bytes().get(..17)?;
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = digits
        .iter()
        .zip(RESIDENT_ID_WEIGHTS)
        .map(|(digit, weight)| u32::from(digit - b'0') * weight)
        .sum();
    Some(char::from(RESIDENT_ID_CHECK_CHARS[(sum % 11) as usize]))
}

fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Validates a GB 11643-1999 citizen identity number and returns it upper-cased.
///
/// Checks, in this order, each with its own rule text: 18 characters (17 digits and a
/// digit or `X`, lower-case `x` accepted); a real birth date in characters 7–14 between
/// 1900-01-01 and `today` (year, month, day; passed in because this crate never reads
/// the clock); the check character.
///
/// The first six digits are the region of first registration and are not looked up:
/// regions merged or renamed since keep their old codes on valid cards. Fifteen-digit
/// first-generation numbers expired in 2013 and are refused.
pub fn resident_id(
    field: &str,
    input: &str,
    today: (i32, u32, u32),
) -> Result<String, FieldViolation> {
    let id = half_width_trimmed(input).to_ascii_uppercase();
    let bytes = id.as_bytes();
    let well_formed = bytes.len() == 18
        && bytes[..17].iter().all(u8::is_ascii_digit)
        && (bytes[17].is_ascii_digit() || bytes[17] == b'X');
    if !well_formed {
        return Err(FieldViolation::new(field, RESIDENT_ID_FORMAT_RULE));
    }

    let number = |range: std::ops::Range<usize>| -> u32 {
        id[range].parse().expect("checked to be ASCII digits")
    };
    let (year, month, day) = (number(6..10) as i32, number(10..12), number(12..14));
    let real_date = (1..=12).contains(&month) && (1..=days_in_month(year, month)).contains(&day);
    if !real_date || year < 1900 || (year, month, day) > today {
        return Err(FieldViolation::new(field, RESIDENT_ID_BIRTH_DATE_RULE));
    }

    if Some(char::from(bytes[17])) != resident_id_check_char(&id) {
        return Err(FieldViolation::new(field, RESIDENT_ID_CHECK_RULE));
    }
    Ok(id)
}

/// GB 32100-2015 code characters; a character's value is its index.
pub const USCC_ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

fn uscc_value(c: u8) -> Option<u32> {
    USCC_ALPHABET
        .bytes()
        .position(|allowed| allowed == c)
        .map(|index| index as u32)
}

/// The GB 32100 check character for the first 17 characters of `body`, or `None` if
/// one of them is not in [`USCC_ALPHABET`] or there are fewer than 17.
pub fn uscc_check_char(body: &str) -> Option<char> {
    let bytes = body.as_bytes();
    if bytes.len() < 17 {
        return None;
    }
    let mut sum = 0;
    for (&c, weight) in bytes[..17].iter().zip(USCC_WEIGHTS) {
        sum += uscc_value(c)? * weight;
    }
    let check = (31 - sum % 31) % 31;
    USCC_ALPHABET.chars().nth(check as usize)
}

/// Validates a GB 32100-2015 unified social credit code and returns it upper-cased.
///
/// Checks, each with its own rule text: 18 characters; every character from
/// [`USCC_ALPHABET`] (I, O, Z, S and V are never used); the check character.
/// The structure inside (registration authority, category, region, organisation
/// code) is not checked: the check character already catches typing mistakes, and
/// refusing a code that was really issued would block the worker's matter.
pub fn uscc(field: &str, input: &str) -> Result<String, FieldViolation> {
    let code = half_width_trimmed(input).to_ascii_uppercase();
    if code.chars().count() != 18 {
        return Err(FieldViolation::new(field, USCC_LENGTH_RULE));
    }
    if !code.bytes().all(|c| uscc_value(c).is_some()) {
        return Err(FieldViolation::new(field, USCC_CHARACTERS_RULE));
    }
    if code.chars().last() != uscc_check_char(&code) {
        return Err(FieldViolation::new(field, USCC_CHECK_RULE));
    }
    Ok(code)
}

/// Validates an email address and returns it trimmed, with the domain lower-cased
/// (domains are case-insensitive; the local part is left as given).
///
/// Deliberately practical rather than full RFC 5322: one `@`; a local part of 1–64
/// characters from letters, digits and ``!#$%&'*+/=?^_`{|}~.-`` without leading,
/// trailing or doubled dots; a domain of at least two dot-separated labels of letters,
/// digits and inner hyphens. Quoted local parts and IP-literal domains are refused,
/// and internationalised domains must be given in their `xn--` form.
pub fn email(field: &str, input: &str) -> Result<String, FieldViolation> {
    let violation = || FieldViolation::new(field, EMAIL_RULE);
    let address = half_width_trimmed(input);
    if address.len() > 254 || !address.is_ascii() {
        return Err(violation());
    }
    let (local, domain) = address.split_once('@').ok_or_else(violation)?;

    let local_ok = (1..=64).contains(&local.len())
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
        // A top-level domain is never all digits; this refuses "user@1.2.3.4".
        && !labels.last().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()));
    if !local_ok || !domain_ok {
        return Err(violation());
    }
    Ok(format!("{local}@{}", domain.to_ascii_lowercase()))
}

/// Validates free text (a name, a description): trimmed, not empty, at most
/// `max_chars` characters (Unicode scalar values, so a Chinese character counts as
/// one), and no control characters except line breaks and tabs, which pasted text
/// legitimately contains. Returns the trimmed text.
pub fn non_empty(field: &str, input: &str, max_chars: usize) -> Result<String, FieldViolation> {
    let text = input.trim();
    if text.is_empty() {
        return Err(FieldViolation::new(field, NON_EMPTY_RULE));
    }
    if text.chars().count() > max_chars {
        return Err(FieldViolation::new(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(FieldViolation::new(field, CONTROL_CHARACTER_RULE));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TODAY: (i32, u32, u32) = (2026, 11, 22);

    fn rule_of<T: fmt::Debug>(result: Result<T, FieldViolation>) -> String {
        result.expect_err("expected a violation").rule
    }

    #[test]
    fn violation_names_the_field() {
        let violation = phone("contact_phone", "12345").unwrap_err();
        assert_eq!(violation.field, "contact_phone");
        assert_eq!(
            violation.to_string(),
            format!("contact_phone: {PHONE_RULE}")
        );
    }

    #[test]
    fn mobiles_in_every_accepted_spelling() {
        for input in [
            "13812345678",
            " 138 1234 5678 ",
            "+8613812345678",
            "+86 138 1234 5678",
            "008613812345678",
            "8613812345678",
            "１３８１２３４５６７８",
        ] {
            assert_eq!(phone("p", input).as_deref(), Ok("13812345678"), "{input}");
        }
        assert_eq!(phone("p", "19912345678").as_deref(), Ok("19912345678"));
    }

    #[test]
    fn landlines_in_every_accepted_spelling() {
        let cases = [
            ("020-87654321", "020-87654321"),
            ("020 8765 4321", "020-87654321"),
            ("(020) 8765 4321", "020-87654321"),
            ("（020）87654321", "020-87654321"),
            ("010-6512345", "010-6512345"),
            ("0755-86013388", "0755-86013388"),
            ("0571 8888 1234", "0571-88881234"),
            ("+86 20 87654321", "020-87654321"),
            ("+86-755-8601-3388", "0755-86013388"),
            ("0086 10 65123456", "010-65123456"),
            ("+86 020 87654321", "020-87654321"),
            ("020-87654321-123", "020-87654321-123"),
            ("020-87654321 - 8001", "020-87654321-8001"),
            ("020-87654321转123", "020-87654321-123"),
            ("0755-7654321-89", "0755-7654321-89"),
            ("０２０－８７６５４３２１", "020-87654321"),
        ];
        for (input, expected) in cases {
            assert_eq!(phone("p", input).as_deref(), Ok(expected), "{input}");
        }
    }

    #[test]
    fn phones_refused() {
        for input in [
            "",
            "   ",
            "12345678901",  // mobile must start 13-19
            "1381234567",   // 10 digits
            "138123456789", // 12 digits
            "86138123456",  // bare 86 needs a full mobile after it
            "+85297654321", // Hong Kong
            "+1 415 555 0100",
            "12351",        // the hotline itself
            "95588",        // service number
            "400-800-8888", // service number
            "87654321",     // local number without area code
            "011-87654321", // 01X other than 010
            "000-87654321",
            "020-8765432190",
            "020-02345678",     // local numbers do not start with 0
            "020-12345678",     // ... nor with 1 (special services)
            "020-87654321 123", // extension only after '-' or '转'
            "020-87654321-7654321",
            "020-87654321转",
            "13812345678转123",
            "13812345678-123",
            "138.1234.5678",
            "tel:13812345678",
            "020-8765-4321-9999-1",
            "1381234567８9999999999999999999999999999999",
        ] {
            assert_eq!(rule_of(phone("p", input)), PHONE_RULE, "{input}");
        }
    }

    #[test]
    fn every_rule_text_is_distinct() {
        let rules = [
            PHONE_RULE,
            RESIDENT_ID_FORMAT_RULE,
            RESIDENT_ID_BIRTH_DATE_RULE,
            RESIDENT_ID_CHECK_RULE,
            USCC_LENGTH_RULE,
            USCC_CHARACTERS_RULE,
            USCC_CHECK_RULE,
            EMAIL_RULE,
            NON_EMPTY_RULE,
            CONTROL_CHARACTER_RULE,
        ];
        let distinct: std::collections::HashSet<_> = rules.iter().collect();
        assert_eq!(distinct.len(), rules.len());
    }

    fn id_with_check(body: &str) -> String {
        format!("{body}{}", resident_id_check_char(body).unwrap())
    }

    #[test]
    fn resident_id_published_samples() {
        // The example of GB 11643-1999. By hand: digits 1 1 0 1 0 5 1 9 4 9 1 2 3 1 0 0 2
        // times weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 sum to 167; 167 mod 11 = 2;
        // position 2 of "10X98765432" is X.
        assert_eq!(
            resident_id("id", "11010519491231002X", TODAY).as_deref(),
            Ok("11010519491231002X")
        );
        assert_eq!(
            resident_id("id", " 11010519491231002x ", TODAY).as_deref(),
            Ok("11010519491231002X")
        );
        assert_eq!(resident_id_check_char("11010519491231002"), Some('X'));
        assert_eq!(resident_id_check_char("1101051949123100"), None);
        assert_eq!(resident_id_check_char("1101051949123100A"), None);
        // A widely quoted sample whose check character is right but whose holder was
        // born in 1880: refused for the date, not the check.
        assert_eq!(resident_id_check_char("44052418800101001"), Some('4'));
        assert_eq!(
            rule_of(resident_id("id", "440524188001010014", TODAY)),
            RESIDENT_ID_BIRTH_DATE_RULE
        );
    }

    #[test]
    fn resident_id_rule_per_failure() {
        for input in [
            "",
            "110105194912310", // 15-digit first generation
            "11010519491231002",
            "11010519491231002XX",
            "1101051949123100X2",
            "11010519491231002Y",
            "１１０１０５１９４９１２３１００２Ｘ１",
        ] {
            assert_eq!(
                rule_of(resident_id("id", input, TODAY)),
                RESIDENT_ID_FORMAT_RULE,
                "{input}"
            );
        }
        for body in [
            "11010519491331002", // month 13
            "11010520230229002", // 2023 is not a leap year
            "11010519000230002", // 1900 was not a leap year either
            "11010518991231002", // before 1900
            "11010520261123002", // tomorrow
            "11010520300101002",
        ] {
            assert_eq!(
                rule_of(resident_id("id", &id_with_check(body), TODAY)),
                RESIDENT_ID_BIRTH_DATE_RULE,
                "{body}"
            );
        }
        for body in [
            "11010520000229002",
            "11010519000101002",
            "11010520261122002",
        ] {
            let id = id_with_check(body);
            assert_eq!(resident_id("id", &id, TODAY).as_deref(), Ok(&*id));
        }
        assert_eq!(
            rule_of(resident_id("id", "110105194912310021", TODAY)),
            RESIDENT_ID_CHECK_RULE
        );
    }

    #[test]
    fn uscc_published_samples() {
        // The example in GB 32100-2015. By hand: values 9 1 3 5 0 1 0 0 21(M) 0 0 0 1 0 0
        // 30(Y) 4 times weights 1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28 sum to
        // 1640; 1640 mod 31 = 28; 31 - 28 = 3.
        assert_eq!(uscc_check_char("91350100M000100Y4"), Some('3'));
        assert_eq!(
            uscc("uscc", "91350100M000100Y43").as_deref(),
            Ok("91350100M000100Y43")
        );
        // Codes printed on the business licences of large employers.
        for code in [
            "914403001922038216", // 华为技术有限公司
            "9144030071526726XG", // 深圳市腾讯计算机系统有限公司
        ] {
            assert_eq!(uscc("uscc", code).as_deref(), Ok(code));
        }
        assert_eq!(
            uscc("uscc", " 9144030071526726xg ").as_deref(),
            Ok("9144030071526726XG")
        );
    }

    #[test]
    fn uscc_rule_per_failure() {
        for input in ["", "91350100M000100Y4", "91350100M000100Y433"] {
            assert_eq!(rule_of(uscc("u", input)), USCC_LENGTH_RULE, "{input}");
        }
        for letter in ['I', 'O', 'Z', 'S', 'V', '-', '统'] {
            let input = format!("91350100M000100{letter}43");
            assert_eq!(rule_of(uscc("u", &input)), USCC_CHARACTERS_RULE, "{input}");
        }
        assert_eq!(rule_of(uscc("u", "91350100M000100Y44")), USCC_CHECK_RULE);
    }

    #[test]
    fn emails() {
        for (input, expected) in [
            ("worker@example.com", "worker@example.com"),
            (
                " Li.Wei+ticket@Mail.Example.CN ",
                "Li.Wei+ticket@mail.example.cn",
            ),
            ("zhang_san@xn--fiqs8s.cn", "zhang_san@xn--fiqs8s.cn"),
            ("a@b.co", "a@b.co"),
            ("name＠example.com", "name@example.com"),
        ] {
            assert_eq!(email("e", input).as_deref(), Ok(expected), "{input}");
        }
        for input in [
            "",
            "worker",
            "worker@",
            "@example.com",
            "worker@example",
            "worker@@example.com",
            "wor ker@example.com",
            ".worker@example.com",
            "worker.@example.com",
            "wo..rker@example.com",
            "worker@-example.com",
            "worker@example..com",
            "worker@1.2.3.4",
            "张三@example.com",
            "worker@例子.中国",
        ] {
            assert_eq!(rule_of(email("e", input)), EMAIL_RULE, "{input}");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert_eq!(rule_of(email("e", &long_local)), EMAIL_RULE);
    }

    #[test]
    fn free_text_fields() {
        assert_eq!(non_empty("n", "  张三  ", 4).as_deref(), Ok("张三"));
        assert_eq!(
            non_empty("n", "欠薪\n三个月", 6).as_deref(),
            Ok("欠薪\n三个月")
        );
        assert_eq!(rule_of(non_empty("n", " \t\n", 10)), NON_EMPTY_RULE);
        assert_eq!(
            rule_of(non_empty("n", "张三李四王", 4)),
            "must be at most 4 characters"
        );
        assert_eq!(
            rule_of(non_empty("n", "a\u{0}b", 10)),
            CONTROL_CHARACTER_RULE
        );
    }

    fn date() -> impl Strategy<Value = (i32, u32, u32)> {
        (1900..=2026i32, 1..=12u32)
            .prop_flat_map(|(year, month)| {
                let last = if (year, month) == (TODAY.0, TODAY.1) {
                    TODAY.2
                } else {
                    days_in_month(year, month)
                };
                (Just(year), Just(month), 1..=last)
            })
            .prop_filter("not after today", |date| *date <= TODAY)
    }

    fn valid_resident_id() -> impl Strategy<Value = String> {
        ("[0-9]{6}", date(), "[0-9]{3}").prop_map(|(region, (y, m, d), sequence)| {
            id_with_check(&format!("{region}{y:04}{m:02}{d:02}{sequence}"))
        })
    }

    fn valid_uscc() -> impl Strategy<Value = String> {
        "[0-9A-HJ-NP-RTUW-Y]{17}".prop_map(|body| {
            let check = uscc_check_char(&body).expect("body drawn from the alphabet");
            format!("{body}{check}")
        })
    }

    /// Replaces the character at `index` with `alphabet[pick]`, or with the next
    /// character of the alphabet if that would change nothing.
    fn substitute(code: &str, index: usize, alphabet: &str, pick: usize) -> String {
        let alphabet: Vec<char> = alphabet.chars().collect();
        let mut chars: Vec<char> = code.chars().collect();
        let mut replacement = alphabet[pick % alphabet.len()];
        if replacement == chars[index] {
            replacement = alphabet[(pick + 1) % alphabet.len()];
        }
        chars[index] = replacement;
        chars.into_iter().collect()
    }

    proptest! {
        #[test]
        fn generated_resident_ids_pass(id in valid_resident_id()) {
            prop_assert_eq!(resident_id("id", &id, TODAY), Ok(id.clone()));
            prop_assert_eq!(resident_id("id", &id.to_ascii_lowercase(), TODAY), Ok(id));
        }

        #[test]
        fn one_changed_character_fails_an_id(
            id in valid_resident_id(),
            index in 0..18usize,
            pick in 0..11usize,
        ) {
            let changed = substitute(&id, index, "0123456789X", pick);
            prop_assert!(resident_id("id", &changed, TODAY).is_err(), "{} accepted", changed);
        }

        #[test]
        fn generated_usccs_pass(code in valid_uscc()) {
            prop_assert_eq!(uscc("u", &code), Ok(code.clone()));
            prop_assert_eq!(uscc("u", &code.to_ascii_lowercase()), Ok(code));
        }

        #[test]
        fn one_changed_character_fails_a_uscc(
            code in valid_uscc(),
            index in 0..18usize,
            pick in 0..31usize,
        ) {
            let changed = substitute(&code, index, USCC_ALPHABET, pick);
            prop_assert_eq!(rule_of(uscc("u", &changed)), USCC_CHECK_RULE);
        }

        #[test]
        fn mobiles_normalise_however_grouped(
            number in "1[3-9][0-9]{9}",
            prefix in prop::sample::select(vec!["", "+86", "+86 ", "0086", "86", "86-"]),
            separator in prop::sample::select(vec!["", " ", "-"]),
        ) {
            let grouped = format!(
                "{prefix}{}{separator}{}{separator}{}",
                &number[..3], &number[3..7], &number[7..]
            );
            prop_assert_eq!(phone("p", &grouped), Ok(number));
        }

        #[test]
        fn landlines_normalise_to_area_dash_local(
            area in prop::sample::select(vec!["010", "020", "025", "0755", "0571", "0991"]),
            local in "[2-9][0-9]{6,7}",
            separator in prop::sample::select(vec!["", " ", "-"]),
        ) {
            let input = format!("{area}{separator}{local}");
            prop_assert_eq!(phone("p", &input), Ok(format!("{area}-{local}")));
        }

        #[test]
        fn phone_never_panics(input in "\\PC{0,30}") {
            let _ = phone("p", &input);
            let _ = email("e", &input);
            let _ = uscc("u", &input);
            let _ = resident_id("id", &input, TODAY);
        }
    }
}
