//! Year files given at run time: adding, overriding, and refusing bad ones.

use chrono::NaiveDate;
use hotline_calendar::{Calendar, CalendarError, DayKind, YearTable};

fn date(text: &str) -> NaiveDate {
    text.parse().expect("test dates are valid")
}

/// A made-up 2027 table, only for exercising the loader; it is not a real notice.
const SAMPLE_2027: &str = r#"
year = 2027

[notice]
title = "Sample table for tests"
document_number = "TEST-2027"
issued = 2026-11-01

[[holiday]]
name_zh = "元旦"
name_en = "New Year's Day"
off_from = 2027-01-01
off_to = 2027-01-03

[[holiday]]
name_zh = "国庆节"
name_en = "National Day"
off_from = 2027-10-01
off_to = 2027-10-07
make_up_workdays = [2027-09-26, 2027-10-09]
"#;

fn inconsistent_date(error: CalendarError) -> (i32, NaiveDate, String) {
    match error {
        CalendarError::InconsistentYearFile {
            year,
            date,
            problem,
        } => (year, date, problem),
        other => panic!("expected an inconsistent year file, got {other:?}"),
    }
}

#[test]
fn shipped_files_parse_on_their_own() {
    for text in [
        include_str!("../data/2024.toml"),
        include_str!("../data/2025.toml"),
        include_str!("../data/2026.toml"),
    ] {
        YearTable::parse(text).unwrap();
    }
}

#[test]
fn a_new_year_can_be_added_at_run_time() {
    let calendar = Calendar::builtin().with_year_file(SAMPLE_2027).unwrap();
    assert_eq!(calendar.covered_years(), vec![2024, 2025, 2026, 2027]);
    assert!(matches!(
        calendar.day_kind(date("2027-09-26")).unwrap(),
        DayKind::MakeUpWorkday { .. }
    ));
    // Deadlines may now run into 2027.
    let due = calendar
        .add_working_days(date("2026-12-31").and_hms_opt(9, 0, 0).unwrap(), 1)
        .unwrap();
    assert_eq!(due.at.date(), date("2027-01-04"));
    assert_eq!(due.explain().to_string(), "+3 days: New Year's Day (元旦)");
}

#[test]
fn a_year_given_twice_takes_the_later_file() {
    let amended = include_str!("../data/2026.toml").replace(
        "make_up_workdays = [2026-05-09]",
        "make_up_workdays = [2026-04-26]",
    );
    let calendar = Calendar::builtin().with_year_file(&amended).unwrap();
    assert_eq!(
        calendar.day_kind(date("2026-05-09")).unwrap(),
        DayKind::Weekend
    );
    assert!(calendar.is_working_day(date("2026-04-26")).unwrap());
    assert_eq!(calendar.covered_years(), vec![2024, 2025, 2026]);
    // The other years are untouched.
    assert!(calendar.is_working_day(date("2025-04-27")).unwrap());
}

#[test]
fn a_day_both_off_and_make_up_is_refused_naming_year_and_date() {
    let contradictory = SAMPLE_2027.replace("[2027-09-26, 2027-10-09]", "[2027-10-02]");
    let error = Calendar::builtin()
        .with_year_file(&contradictory)
        .unwrap_err();
    let message = error.to_string();
    let (year, day, _) = inconsistent_date(error);
    assert_eq!((year, day), (2027, date("2027-10-02")));
    assert!(
        message.contains("2027") && message.contains("2027-10-02"),
        "{message}"
    );
    assert!(message.contains("listed twice"), "{message}");
}

#[test]
fn a_make_up_day_on_a_weekday_is_refused() {
    let wrong = SAMPLE_2027.replace("2027-10-09]", "2027-10-11]");
    let (year, day, problem) = inconsistent_date(YearTable::parse(&wrong).unwrap_err());
    assert_eq!((year, day), (2027, date("2027-10-11")));
    assert!(problem.contains("Monday"), "{problem}");
}

#[test]
fn dates_outside_the_year_are_refused() {
    let wrong = SAMPLE_2027.replace("off_to = 2027-10-07", "off_to = 2028-10-07");
    let (year, day, _) = inconsistent_date(YearTable::parse(&wrong).unwrap_err());
    assert_eq!(year, 2027);
    assert_eq!(day, date("2028-01-01"));

    let reversed = SAMPLE_2027.replace("off_to = 2027-10-07", "off_to = 2027-09-07");
    let (_, day, problem) = inconsistent_date(YearTable::parse(&reversed).unwrap_err());
    assert_eq!(day, date("2027-09-07"));
    assert!(problem.contains("before it starts"), "{problem}");
}

#[test]
fn the_december_before_may_be_arranged_but_not_contradicted() {
    // The 2019 notice gave 2018-12-30..2019-01-01 off and 2018-12-29 as a make-up day.
    let reaching_back = SAMPLE_2027.replace("off_from = 2027-01-01", "off_from = 2026-12-31");
    let calendar = Calendar::builtin().with_year_file(&reaching_back).unwrap();
    assert!(matches!(
        calendar.day_kind(date("2026-12-31")).unwrap(),
        DayKind::Holiday { .. }
    ));

    // A later 2026 table that also lists 2026-12-31 contradicts the 2027 one already loaded.
    let clashing_2026 = format!(
        "{}\n[[holiday]]\nname_zh = \"测试\"\nname_en = \"Test\"\n\
         off_from = 2026-12-31\noff_to = 2026-12-31\n",
        include_str!("../data/2026.toml")
    );
    let error = calendar.with_year_file(&clashing_2026).unwrap_err();
    let (year, day, problem) = inconsistent_date(error);
    assert_eq!((year, day), (2026, date("2026-12-31")));
    assert!(problem.contains("another year's table"), "{problem}");
}

#[test]
fn malformed_files_are_refused_with_the_year_when_it_can_be_read() {
    let broken_syntax = SAMPLE_2027.replace("off_to = 2027-10-07", "off_to = 2027-10-");
    match Calendar::builtin().with_year_file(&broken_syntax) {
        Err(CalendarError::MalformedYearFile { year, reason }) => {
            assert_eq!(year, Some(2027));
            assert!(reason.contains("line"), "{reason}");
        }
        other => panic!("expected a malformed file error, got {other:?}"),
    }

    let misspelt = SAMPLE_2027.replace("make_up_workdays", "makeup_workdays");
    let error = YearTable::parse(&misspelt).unwrap_err();
    assert!(
        matches!(
            error,
            CalendarError::MalformedYearFile {
                year: Some(2027),
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .starts_with("holiday table for 2027: malformed"),
        "{error}"
    );

    let date_with_time = SAMPLE_2027.replace("off_to = 2027-10-07", "off_to = 2027-10-07T08:00:00");
    let error = YearTable::parse(&date_with_time).unwrap_err().to_string();
    assert!(error.contains("expected a plain date"), "{error}");

    let no_year = "[notice]\ntitle = \"x\"\n";
    assert!(matches!(
        YearTable::parse(no_year),
        Err(CalendarError::MalformedYearFile { year: None, .. })
    ));
    let no_holidays =
        "year = 2027\n[notice]\ntitle = \"t\"\ndocument_number = \"n\"\nissued = 2026-11-01\n";
    assert!(matches!(
        YearTable::parse(no_holidays),
        Err(CalendarError::MalformedYearFile {
            year: Some(2027),
            ..
        })
    ));
}

#[test]
fn a_refused_file_leaves_the_calendar_unchanged() {
    let mut calendar = Calendar::builtin();
    let contradictory = include_str!("../data/2026.toml").replace(
        "make_up_workdays = [2026-05-09]",
        "make_up_workdays = [2026-05-02]",
    );
    assert!(calendar.add_year_file(&contradictory).is_err());
    assert!(calendar.is_working_day(date("2026-05-09")).unwrap());
    assert!(!calendar.is_working_day(date("2026-05-02")).unwrap());
}

#[test]
fn an_empty_calendar_refuses_everything() {
    assert_eq!(
        Calendar::empty().is_working_day(date("2026-01-05")),
        Err(CalendarError::YearNotCovered { year: 2026 })
    );
}
