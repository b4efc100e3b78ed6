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
