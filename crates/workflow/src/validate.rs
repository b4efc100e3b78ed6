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
#[path = "validate_tests.rs"]
mod tests;
