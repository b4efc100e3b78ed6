//! Lexical helpers shared by the header, URI, digest and SDP parsers (RFC 3261 §25.1).

/// `token` characters: alphanumerics and `-.!%*_+`'~`.
pub(crate) fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '-' | '.' | '!' | '%' | '*' | '_' | '+' | '`' | '\'' | '~'
        )
}

pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_token_char)
}

/// `word` characters (used by Call-ID): token characters plus `()<>:\"/[]?{}`.
pub(crate) fn is_word_char(c: char) -> bool {
    is_token_char(c)
        || matches!(
            c,
            '(' | ')' | '<' | '>' | ':' | '\\' | '"' | '/' | '[' | ']' | '?' | '{' | '}'
        )
}

/// Linear white space after unfolding is just spaces and tabs.
pub(crate) fn is_lws(c: char) -> bool {
    c == ' ' || c == '\t'
}

pub(crate) fn trim_lws(s: &str) -> &str {
    s.trim_matches(is_lws)
}

/// Splits `input` on `separator` where it is not inside a quoted string or inside
/// angle brackets. Quoted strings honour backslash escapes. Returns an error if a
/// quoted string is not closed, because every caller would otherwise mis-split.
pub(crate) fn split_top_level(input: &str, separator: char) -> Result<Vec<&str>, &'static str> {
    let mut parts = Vec::new();
    let mut in_quotes = false;
    let mut escaped = false;
    let mut angle_depth = 0usize;
    let mut start = 0;
    for (index, c) in input.char_indices() {
        if in_quotes {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_quotes = false;
            }
            continue;
        }
        match c {
            '"' => in_quotes = true,
            '<' => angle_depth += 1,
            '>' => angle_depth = angle_depth.saturating_sub(1),
            _ if c == separator && angle_depth == 0 => {
                parts.push(&input[start..index]);
                start = index + c.len_utf8();
            }
            _ => {}
        }
    }
    if in_quotes {
        return Err("unterminated quoted string");
    }
    parts.push(&input[start..]);
    Ok(parts)
}

/// Parses a quoted string starting at the beginning of `input` (which must start with
/// `"`). Returns the unescaped content and the rest of the input after the closing quote.
pub(crate) fn take_quoted_string(input: &str) -> Result<(String, &str), &'static str> {
    let mut chars = input.char_indices();
    match chars.next() {
        Some((_, '"')) => {}
        _ => return Err("expected a quoted string"),
    }
    let mut content = String::new();
    while let Some((index, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, escaped)) => content.push(escaped),
                None => return Err("unterminated quoted string"),
            },
            '"' => return Ok((content, &input[index + 1..])),
            '\r' | '\n' => return Err("line break inside quoted string"),
            _ => content.push(c),
        }
    }
    Err("unterminated quoted string")
}

/// Writes `value` as a quoted string, escaping `"` and `\`.
pub(crate) fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// If `value` is a quoted string, returns its unescaped content; otherwise the value itself.
pub(crate) fn unquote(value: &str) -> String {
    if value.starts_with('"')
        && let Ok((content, rest)) = take_quoted_string(value)
        && rest.is_empty()
    {
        return content;
    }
    value.to_owned()
}

/// Checks that every `%` in `s` starts a valid `%HH` escape.
pub(crate) fn escapes_are_valid(s: &str) -> bool {
    let bytes = s.as_bytes();
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let valid = bytes.len() > index + 2
                && bytes[index + 1].is_ascii_hexdigit()
                && bytes[index + 2].is_ascii_hexdigit();
            if !valid {
                return false;
            }
            index += 3;
        } else {
            index += 1;
        }
    }
    true
}

/// Decodes `%HH` escapes into bytes (RFC 3261 §19.1.2). Invalid escapes are kept as is.
pub fn percent_decode(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%'
            && index + 2 < bytes.len()
            && let (Some(high), Some(low)) =
                (hex_value(bytes[index + 1]), hex_value(bytes[index + 2]))
        {
            out.push(high << 4 | low);
            index += 3;
            continue;
        }
        out.push(bytes[index]);
        index += 1;
    }
    out
}

fn hex_value(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|digit| digit as u8)
}

/// Parses an unsigned decimal made only of ASCII digits (leading zeros allowed).
pub(crate) fn parse_decimal<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_ignores_separators_in_quotes_and_brackets() {
        let parts = split_top_level(r#""a, b" <sip:x;y=1,2>, <sip:z>"#, ',').unwrap();
        assert_eq!(parts, vec![r#""a, b" <sip:x;y=1,2>"#, " <sip:z>"]);
    }

    #[test]
    fn split_reports_unterminated_quote() {
        assert!(split_top_level(r#""abc, d"#, ',').is_err());
    }

    #[test]
    fn quoted_string_round_trip() {
        let (content, rest) = take_quoted_string(r#""J \"R\" \\" tail"#).unwrap();
        assert_eq!(content, r#"J "R" \"#);
        assert_eq!(rest, " tail");
        assert_eq!(quote(&content), r#""J \"R\" \\""#);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b%zz%4"), b"a b%zz%4");
        assert!(escapes_are_valid("a%20b"));
        assert!(!escapes_are_valid("a%2"));
        assert!(!escapes_are_valid("%Z1"));
    }
}
