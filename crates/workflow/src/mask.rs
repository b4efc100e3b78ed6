//! Masking of personal numbers for screens that need only a hint and for logs that
//! must never hold a full phone or ID number.
//!
//! Masked digits become `*`, one per digit, so the shape of the number stays visible.

use crate::validate;

const MASK: char = '*';

/// Masks a phone number: a mobile keeps its first 3 and last 4 digits
/// (`13812345678` → `138****5678`); a landline keeps its area code, the last 4 digits
/// of the local number and any extension (`020-87654321` → `020-****4321`).
///
/// Input in any form [`validate::phone`] accepts is normalised first. Anything else
/// falls back to [`free_text`], so no run of 7 or more digits survives either way.
pub fn phone(s: &str) -> String {
    let Ok(normalised) = validate::phone("phone", s) else {
        return free_text(s);
    };
    let mut parts = normalised.splitn(3, '-');
    let first = parts.next().unwrap_or_default();
    match parts.next() {
        None => keep_ends(first, 3, 4),
        Some(local) => {
            let mut masked = format!("{first}-{}", keep_ends(local, 0, 4));
            if let Some(extension) = parts.next() {
                masked.push('-');
                masked.push_str(extension);
            }
            masked
        }
    }
}

/// Masks a resident ID number, keeping the region (first 6) and the last 4 characters:
/// `11010519491231002X` → `110105********002X`. The birth date is always hidden.
/// Inputs too short to be an ID keep at most their last 2 characters.
pub fn resident_id(s: &str) -> String {
    let s = s.trim();
    let length = s.chars().count();
    if length >= 15 {
        keep_ends(s, 6, 4)
    } else if length >= 7 {
        keep_ends(s, 0, 2)
    } else {
        MASK.to_string().repeat(length)
    }
}

/// Keeps `front` leading and `back` trailing characters of `s` and masks the rest.
fn keep_ends(s: &str, front: usize, back: usize) -> String {
    let length = s.chars().count();
    s.chars()
        .enumerate()
        .map(|(index, c)| {
            if index < front || index + back >= length {
                c
            } else {
                MASK
            }
        })
        .collect()
}

/// ASCII digits and the full-width digits Chinese input methods produce.
fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || ('\u{FF10}'..='\u{FF19}').contains(&c)
}

fn is_check_x(c: char) -> bool {
    matches!(c, 'X' | 'x' | '\u{FF38}' | '\u{FF58}')
}

/// Separators people put inside phone and ID numbers ("138 1234 5678", "020-12345678").
fn is_group_separator(c: char) -> bool {
    matches!(c, '-' | ' ')
}

/// Digits needed after a separator to keep a number going. Phone and ID groups have
/// at least 3; requiring that keeps dates ("2026-11-22") and times apart.
const MIN_DIGITS_AFTER_SEPARATOR: usize = 3;
/// Runs with fewer digits are left alone: they cannot be a phone or ID number.
const MIN_DIGITS_TO_MASK: usize = 7;

/// Masks every number of 7 or more digits inside `s`, whatever surrounds it.
///
/// A number is a run of digits (ASCII or full-width), possibly split into groups by
/// single `-` or spaces where each later group has at least 3 digits, with an optional
/// trailing `X` (the ID check character). What stays visible depends on the length:
/// 15 or more digits (ID and bank card numbers) keep the first 6 and last 4; 11 to 14
/// keep the first 3 and last 4 (a mobile reads `138****5678`); 7 to 10 keep the last 2.
///
/// This errs on the side of masking: long amounts, digits inside hashes or UUIDs, and
/// order numbers are masked too, which is the right trade for logs.
pub fn free_text(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut index = 0;
    while index < chars.len() {
        if !is_digit(chars[index]) {
            out.push(chars[index]);
            index += 1;
            continue;
        }
        let end = number_end(&chars, index);
        let number = &chars[index..end];
        let significant = number.iter().filter(|&&c| !is_group_separator(c)).count();
        if significant < MIN_DIGITS_TO_MASK {
            out.extend(number);
        } else {
            let (front, back) = match significant {
                15.. => (6, 4),
                11..=14 => (3, 4),
                _ => (0, 2),
            };
            let mut position = 0;
            for &c in number {
                if is_group_separator(c) {
                    out.push(c);
                    continue;
                }
                let visible = position < front || position + back >= significant;
                out.push(if visible { c } else { MASK });
                position += 1;
            }
        }
        index = end;
    }
    out
}

/// End (exclusive) of the number starting at `start`, which holds a digit.
fn number_end(chars: &[char], start: usize) -> usize {
    let digits_from = |from: usize| chars[from..].iter().take_while(|&&c| is_digit(c)).count();
    let mut end = start + digits_from(start);
    while end + 1 < chars.len() && is_group_separator(chars[end]) {
        let group = digits_from(end + 1);
        if group < MIN_DIGITS_AFTER_SEPARATOR {
            break;
        }
        end += 1 + group;
    }
    // A trailing X belongs to the number only if it does not start a word ("123X" yes,
    // "1234567Xiaoming" no).
    if end < chars.len()
        && is_check_x(chars[end])
        && !chars
            .get(end + 1)
            .is_some_and(|c| c.is_ascii_alphanumeric())
    {
        end += 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn phones() {
        assert_eq!(phone("13812345678"), "138****5678");
        assert_eq!(phone("+86 138 1234 5678"), "138****5678");
        assert_eq!(phone("020-87654321"), "020-****4321");
        assert_eq!(phone("0755 7654321"), "0755-***4321");
        assert_eq!(phone("020-87654321转123"), "020-****4321-123");
        // Not a phone number we accept: still no 7-digit run survives.
        assert_eq!(phone("+852 9123 4567"), "+852 **** 4567");
        assert_eq!(phone("12351"), "12351");
        assert_eq!(phone(""), "");
    }

    #[test]
    fn resident_ids() {
        assert_eq!(resident_id("11010519491231123X"), "110105********123X");
        assert_eq!(resident_id("110105491231002"), "110105*****1002");
        assert_eq!(resident_id("1101051"), "*****51");
        assert_eq!(resident_id("12345"), "*****");
    }

    #[test]
    fn free_text_masks_numbers_and_keeps_the_rest() {
        assert_eq!(
            free_text("工人张三，电话13812345678，身份证11010519491231002X，欠薪3个月"),
            "工人张三，电话138****5678，身份证110105********002X，欠薪3个月"
        );
        assert_eq!(
            free_text("call 138 1234 5678 or 020-87654321"),
            "call 138 **** 5678 or 020-****4321"
        );
        assert_eq!(free_text("座机 8765432"), "座机 *****32");
        assert_eq!(free_text("１３８１２３４５６７８"), "１３８****５６７８");
        assert_eq!(
            free_text("id 11010519491231002x."),
            "id 110105********002x."
        );
        assert_eq!(free_text("1234567Xiaoming"), "*****67Xiaoming");
    }

    #[test]
    fn free_text_leaves_short_numbers_dates_and_times() {
        for text in [
            "2026-11-22 10:30 工单 A-123456 已签收",
            "追回工资 12,000 元，涉及 35 人",
            "转分机 8001",
            "",
        ] {
            assert_eq!(free_text(text), text);
        }
    }

    fn masked_away(original: &str, masked: &str) -> bool {
        let digits =
            |s: &str| -> String { s.chars().filter(|c| !matches!(c, ' ' | '-')).collect() };
        !digits(masked).contains(&digits(original))
    }

    proptest! {
        #[test]
        fn no_mobile_survives_free_text(
            before in "\\PC{0,12}",
            number in "1[3-9][0-9]{9}",
            after in "\\PC{0,12}",
        ) {
            let masked = free_text(&format!("{before}{number}{after}"));
            prop_assert!(!masked.contains(&number), "{}", masked);
        }

        #[test]
        fn no_grouped_number_survives_free_text(
            groups in prop::collection::vec("[0-9]{3,5}", 2..5),
            separator in prop::sample::select(vec![" ", "-"]),
            before in "[a-z\u{4e00}-\u{4e20}，：]{0,6}",
        ) {
            let number = groups.join(separator);
            prop_assume!(groups.concat().len() >= MIN_DIGITS_TO_MASK);
            let masked = free_text(&format!("{before}{number}"));
            prop_assert!(masked_away(&number, &masked), "{}", masked);
        }

        #[test]
        fn no_id_survives_free_text(
            body in "[0-9]{17}",
            check in "[0-9Xx]",
            after in "[^a-zA-Z0-9]{0,4}",
        ) {
            let id = format!("{body}{check}");
            let masked = free_text(&format!("身份证号{id}{after}"));
            prop_assert!(!masked.contains(&id[..14]), "{}", masked);
            prop_assert_eq!(masked.chars().count(), 4 + 18 + after.chars().count());
        }

        #[test]
        fn masks_keep_the_length(text in "\\PC{0,40}") {
            prop_assert_eq!(free_text(&text).chars().count(), text.chars().count());
        }
    }
}
