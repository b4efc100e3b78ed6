use super::*;

const EXAMPLE: &str = include_str!("../../../deploy/deadlines.example.toml");

/// Parses keys of the `[deadlines]` section; sub-tables are written `[reply]` for short.
fn parse(deadlines_section: &str) -> Result<Policy, PolicyError> {
    let section = format!("\n{deadlines_section}").replace("\n[", "\n[deadlines.");
    Policy::from_toml_str(&format!("[deadlines]{section}"))
}

fn key_of(error: PolicyError) -> String {
    match error {
        PolicyError::UnknownKey { key } | PolicyError::Invalid { key, .. } => key,
        other => panic!("expected an error naming a key, got {other}"),
    }
}

#[test]
fn defaults_follow_the_domain_brief() {
    let policy = Policy::default();
    for kind in Kind::ALL {
        assert_eq!(
            policy.sign_for(kind, Priority::Normal),
            Limit::WorkingDays(1)
        );
        assert_eq!(policy.sign_for(kind, Priority::Urgent), Limit::Hours(2));
        assert_eq!(policy.reply(kind, Priority::Normal), Limit::WorkingDays(15));
        assert_eq!(
            policy.reply(kind, Priority::Collective),
            Limit::WorkingDays(5)
        );
        assert_eq!(policy.reply(kind, Priority::Urgent), Limit::WorkingDays(1));
    }
    assert_eq!(policy.review(), Limit::WorkingDays(2));
    assert_eq!(policy.callback(), Limit::WorkingDays(3));
    assert_eq!(policy.extension_cap_calendar_days(), 30);
    let urging = policy.urging();
    assert_eq!(urging.reminder_at_percent, 75);
    assert_eq!(urging.reminder_working_days_before, 1);
    assert_eq!(urging.urge_working_days_after, 1);
    assert_eq!(urging.escalation_working_days_after, 3);
    assert_eq!(urging.notice_time.to_string(), "09:00:00");
}

#[test]
fn the_example_file_spells_out_the_defaults() {
    assert_eq!(Policy::from_toml_str(EXAMPLE).unwrap(), Policy::default());
}

#[test]
fn an_empty_section_means_the_defaults_and_other_sections_are_ignored() {
    let policy = Policy::from_toml_str("[smtp]\nhost = \"x\"\n[deadlines]\n").unwrap();
    assert_eq!(policy, Policy::default());
}

#[test]
fn a_kind_table_overrides_only_that_kind_whatever_the_order() {
    // TOML allows a super-table after its sub-table; the override must still win.
    let policy = parse(
        "[reply.legal_aid]\nnormal = \"20 working days\"\n[reply]\nnormal = \"10 working days\"\n",
    )
    .unwrap();
    assert_eq!(
        policy.reply(Kind::LegalAid, Priority::Normal),
        Limit::WorkingDays(20)
    );
    assert_eq!(
        policy.reply(Kind::Request, Priority::Normal),
        Limit::WorkingDays(10)
    );
    assert_eq!(
        policy.reply(Kind::LegalAid, Priority::Collective),
        Limit::WorkingDays(5)
    );
}

#[test]
fn singular_units_and_extra_spaces_are_accepted() {
    let policy = parse("[sign_for]\nnormal = \" 1  working  day \"\nurgent = \"1 hour\"").unwrap();
    assert_eq!(
        policy.sign_for(Kind::Complaint, Priority::Normal),
        Limit::WorkingDays(1)
    );
    assert_eq!(
        policy.sign_for(Kind::Complaint, Priority::Urgent),
        Limit::Hours(1)
    );
}

#[test]
fn the_missing_section_is_refused() {
    assert_eq!(
        Policy::from_toml_str("[routing]\n"),
        Err(PolicyError::MissingSection)
    );
}

#[test]
fn broken_toml_is_refused() {
    assert!(matches!(
        Policy::from_toml_str("[deadlines\n"),
        Err(PolicyError::Syntax(_))
    ));
}

#[test]
fn unknown_keys_are_named() {
    for (text, key) in [
        ("revew = \"2 working days\"", "deadlines.revew"),
        (
            "[reply]\nnromal = \"1 working day\"",
            "deadlines.reply.nromal",
        ),
        (
            "[reply.legal_aid]\nsoon = \"1 working day\"",
            "deadlines.reply.legal_aid.soon",
        ),
        ("[urging]\nremind = 1", "deadlines.urging.remind"),
    ] {
        assert_eq!(key_of(parse(text).unwrap_err()), key, "{text}");
    }
}

#[test]
fn bad_values_are_refused_naming_the_key() {
    for (text, key) in [
        ("review = \"2 days\"", "deadlines.review"),
        ("review = 2", "deadlines.review"),
        ("callback = \"0 working days\"", "deadlines.callback"),
        (
            "[reply]\nnormal = \"61 working days\"",
            "deadlines.reply.normal",
        ),
        (
            "[sign_for]\nurgent = \"73 hours\"",
            "deadlines.sign_for.urgent",
        ),
        (
            "[sign_for]\nurgent = \"-2 hours\"",
            "deadlines.sign_for.urgent",
        ),
        (
            "extension_cap = \"31 calendar days\"",
            "deadlines.extension_cap",
        ),
        (
            "extension_cap = \"30 working days\"",
            "deadlines.extension_cap",
        ),
        (
            "[urging]\nreminder_at_percent = 100",
            "deadlines.urging.reminder_at_percent",
        ),
        (
            "[urging]\nreminder_at_percent = \"75\"",
            "deadlines.urging.reminder_at_percent",
        ),
        (
            "[urging]\nnotice_time = \"9 am\"",
            "deadlines.urging.notice_time",
        ),
        (
            "[urging]\nurge_working_days_after = 4",
            "deadlines.urging.escalation_working_days_after",
        ),
        (
            "[urging]\nescalation_hours_after_hour_limit = 0\nurge_hours_after_hour_limit = 1",
            "deadlines.urging.escalation_hours_after_hour_limit",
        ),
        ("sign_for = \"1 working day\"", "deadlines.sign_for"),
        (
            "[reply.legal_aid]\nnormal = 20",
            "deadlines.reply.legal_aid.normal",
        ),
    ] {
        assert_eq!(key_of(parse(text).unwrap_err()), key, "{text}");
    }
}

#[test]
fn sign_for_may_not_outlast_the_reply() {
    let error = parse("[sign_for]\ncollective = \"6 working days\"").unwrap_err();
    assert_eq!(
        key_of(error.clone()),
        "deadlines.sign_for.request.collective"
    );
    assert!(error.to_string().contains("5 working days"), "{error}");
    let error = parse("[sign_for]\nurgent = \"25 hours\"").unwrap_err();
    assert_eq!(key_of(error), "deadlines.sign_for.request.urgent");
    let error = parse("[reply]\nurgent = \"1 hour\"").unwrap_err();
    assert_eq!(key_of(error), "deadlines.sign_for.request.urgent");
    parse("[reply]\nurgent = \"8 hours\"").unwrap();
}

#[test]
fn kinds_and_priorities_round_trip_their_names() {
    for kind in Kind::ALL {
        assert_eq!(Kind::parse(kind.as_str()), Some(kind));
    }
    for priority in Priority::ALL {
        assert_eq!(Priority::parse(priority.as_str()), Some(priority));
    }
    assert_eq!(Kind::parse("Request"), None);
}
