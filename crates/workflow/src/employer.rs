//! Which employer a ticket is about, as one key: complaints about one employer are
//! grouped by it for duplicates and early warnings.

/// The USCC when known, else the name without spaces, brackets or a trailing
/// company-form suffix, so that "广州某某超市有限公司" and "广州某某超市（有限公司）" meet.
/// Empty when the ticket names no employer.
pub fn employer_key(uscc: &str, name: &str) -> String {
    if !uscc.is_empty() {
        return uscc.to_owned();
    }
    let mut key: String = name
        .chars()
        .filter(|c| !c.is_whitespace() && !"()（）【】[]·.,，".contains(*c))
        .collect::<String>()
        .to_lowercase();
    for suffix in ["股份有限公司", "有限责任公司", "有限公司", "分公司", "公司"]
    {
        if let Some(stripped) = key.strip_suffix(suffix) {
            key = stripped.to_owned();
            break;
        }
    }
    if key.is_empty() {
        String::new()
    } else {
        format!("name:{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefers_uscc_and_normalises_names() {
        assert_eq!(
            employer_key("91440101MA5D0000X0", "whatever"),
            "91440101MA5D0000X0"
        );
        assert_eq!(
            employer_key("", "广州 某某超市有限公司"),
            employer_key("", "广州某某超市（有限公司）")
        );
        assert_eq!(employer_key("", ""), "");
    }
}
