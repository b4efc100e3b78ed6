//! Chinese word segmentation for full-text search.
//!
//! FTS5's tokenizers split on spaces and punctuation; Chinese has neither between
//! words, so a whole clause would become one token and a search for a two-character
//! word such as 欠薪 would find nothing. Tickets are therefore segmented with jieba
//! (search mode: both words and their finer parts) before indexing, and queries are
//! segmented the same way.

use std::sync::OnceLock;

use jieba_rs::Jieba;

fn jieba() -> &'static Jieba {
    static JIEBA: OnceLock<Jieba> = OnceLock::new();
    JIEBA.get_or_init(Jieba::new)
}

/// Loads the dictionary now rather than on the first request.
pub fn warm_up() {
    let _ = jieba();
}

fn is_word(token: &str) -> bool {
    token.chars().any(char::is_alphanumeric)
}

/// The words of `text`, space-separated, for the FTS index.
pub fn index_words(text: &str) -> String {
    let mut words = String::with_capacity(text.len() * 2);
    for token in jieba().cut_for_search(text, true) {
        if is_word(token) {
            if !words.is_empty() {
                words.push(' ');
            }
            words.push_str(&token.to_lowercase());
        }
    }
    words
}

/// An FTS5 MATCH expression requiring every word of `query`; `None` if it has no words.
pub fn match_expression(query: &str) -> Option<String> {
    let terms: Vec<String> = jieba()
        .cut(query, true)
        .into_iter()
        .filter(|token| is_word(token))
        // Quoted, so words like AND or NEAR and characters like * stay literal.
        .map(|token| format!("\"{}\"", token.to_lowercase().replace('"', "\"\"")))
        .collect();
    if terms.is_empty() {
        None
    } else {
        Some(terms.join(" AND "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_character_words_are_indexed_on_their_own() {
        let words = index_words("工地老板拖欠工资三个月，欠薪十二万元");
        let words: Vec<&str> = words.split(' ').collect();
        assert!(words.contains(&"欠薪"), "{words:?}");
        assert!(words.contains(&"工资"), "{words:?}");
        assert!(!words.contains(&"，"));
    }

    #[test]
    fn query_words_are_quoted_and_joined() {
        assert_eq!(
            match_expression("欠薪 工地").as_deref(),
            Some("\"欠薪\" AND \"工地\"")
        );
        assert_eq!(match_expression("，。 "), None);
        assert_eq!(match_expression("a\"b").as_deref(), Some("\"a\" AND \"b\""));
    }
}
