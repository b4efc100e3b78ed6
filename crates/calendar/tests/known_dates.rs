//! Facts stated by each year's State Council notice, checked against the built-in tables.

use chrono::NaiveDate;
use hotline_calendar::{Calendar, CalendarError, DayKind};

fn date(text: &str) -> NaiveDate {
    text.parse().expect("test dates are valid")
}

fn assert_off(calendar: &Calendar, first: &str, last: &str, chinese_name: &str) {
    for day in date(first).iter_days().take_while(|day| *day <= date(last)) {
        match calendar.day_kind(day).unwrap() {
            DayKind::Holiday { name } => assert_eq!(name.chinese, chinese_name, "{day}"),
            other => panic!("{day} should be off for {chinese_name}, is {other:?}"),
        }
        assert!(!calendar.is_working_day(day).unwrap(), "{day}");
    }
}

fn assert_make_up(calendar: &Calendar, day: &str, chinese_name: &str) {
    match calendar.day_kind(date(day)).unwrap() {
        DayKind::MakeUpWorkday { for_holiday } => {
            assert_eq!(for_holiday.chinese, chinese_name, "{day}")
        }
        other => panic!("{day} should be a make-up day for {chinese_name}, is {other:?}"),
    }
    assert!(calendar.is_working_day(date(day)).unwrap(), "{day}");
}

#[test]
fn builtin_covers_2024_to_2026() {
    assert_eq!(Calendar::builtin().covered_years(), vec![2024, 2025, 2026]);
}

#[test]
fn notices_are_recorded() {
    let calendar = Calendar::builtin();
    let numbers: Vec<_> = [2024, 2025, 2026]
        .iter()
        .map(|year| calendar.notice(*year).unwrap().document_number.as_str())
        .collect();
    assert_eq!(
        numbers,
        [
            "国办发明电〔2023〕7号",
            "国办发明电〔2024〕12号",
            "国办发明电〔2025〕7号"
        ]
    );
    assert_eq!(calendar.notice(2026).unwrap().issued, date("2025-11-04"));
    assert_eq!(calendar.holidays(2026).unwrap().len(), 7);
    assert_eq!(calendar.holidays(2025).unwrap().len(), 6);
}

#[test]
fn notice_2024() {
    let calendar = Calendar::builtin();
    assert_off(&calendar, "2024-01-01", "2024-01-01", "元旦");
    assert_off(&calendar, "2024-02-10", "2024-02-17", "春节");
    assert_make_up(&calendar, "2024-02-04", "春节");
    assert_make_up(&calendar, "2024-02-18", "春节");
    assert_off(&calendar, "2024-04-04", "2024-04-06", "清明节");
    assert_make_up(&calendar, "2024-04-07", "清明节");
    assert_off(&calendar, "2024-05-01", "2024-05-05", "劳动节");
    assert_make_up(&calendar, "2024-04-28", "劳动节");
    assert_make_up(&calendar, "2024-05-11", "劳动节");
    assert_off(&calendar, "2024-06-10", "2024-06-10", "端午节");
    assert_off(&calendar, "2024-09-15", "2024-09-17", "中秋节");
    assert_make_up(&calendar, "2024-09-14", "中秋节");
    assert_off(&calendar, "2024-10-01", "2024-10-07", "国庆节");
    assert_make_up(&calendar, "2024-09-29", "国庆节");
    assert_make_up(&calendar, "2024-10-12", "国庆节");
    // Before 2025 the eve was only "encouraged" as a day off: officially a working day.
    assert_eq!(
        calendar.day_kind(date("2024-02-09")).unwrap(),
        DayKind::Working
    );
    // 端午 2024 was a Monday joined to an ordinary weekend.
    assert_eq!(
        calendar.day_kind(date("2024-06-08")).unwrap(),
        DayKind::Weekend
    );
}

#[test]
fn notice_2025_with_the_two_added_statutory_days() {
    let calendar = Calendar::builtin();
    assert_off(&calendar, "2025-01-01", "2025-01-01", "元旦");
    // 春节 starts on the eve (除夕, 2025-01-28) from 2025 on.
    assert_off(&calendar, "2025-01-28", "2025-02-04", "春节");
    assert_make_up(&calendar, "2025-01-26", "春节");
    assert_make_up(&calendar, "2025-02-08", "春节");
    assert_off(&calendar, "2025-04-04", "2025-04-06", "清明节");
    assert_off(&calendar, "2025-05-01", "2025-05-05", "劳动节");
    assert_make_up(&calendar, "2025-04-27", "劳动节");
    assert_off(&calendar, "2025-05-31", "2025-06-02", "端午节");
    assert_off(&calendar, "2025-10-01", "2025-10-08", "国庆节、中秋节");
    assert_make_up(&calendar, "2025-09-28", "国庆节、中秋节");
    assert_make_up(&calendar, "2025-10-11", "国庆节、中秋节");
    // No make-up day for 元旦 in 2025 ("不调休"): the surrounding weekend is ordinary.
    assert_eq!(
        calendar.day_kind(date("2025-01-04")).unwrap(),
        DayKind::Weekend
    );
    // 2025-05-10 is an ordinary Saturday: Labour Day 2025 has a single make-up day.
    assert_eq!(
        calendar.day_kind(date("2025-05-10")).unwrap(),
        DayKind::Weekend
    );
}

#[test]
fn notice_2026() {
    let calendar = Calendar::builtin();
    assert_off(&calendar, "2026-01-01", "2026-01-03", "元旦");
    assert_make_up(&calendar, "2026-01-04", "元旦");
    assert_off(&calendar, "2026-02-15", "2026-02-23", "春节");
    assert_make_up(&calendar, "2026-02-14", "春节");
    assert_make_up(&calendar, "2026-02-28", "春节");
    assert_off(&calendar, "2026-04-04", "2026-04-06", "清明节");
    assert_off(&calendar, "2026-05-01", "2026-05-05", "劳动节");
    assert_make_up(&calendar, "2026-05-09", "劳动节");
    assert_off(&calendar, "2026-06-19", "2026-06-21", "端午节");
    assert_off(&calendar, "2026-09-25", "2026-09-27", "中秋节");
    assert_off(&calendar, "2026-10-01", "2026-10-07", "国庆节");
    assert_make_up(&calendar, "2026-09-20", "国庆节");
    assert_make_up(&calendar, "2026-10-10", "国庆节");
    assert_eq!(
        calendar.day_kind(date("2026-10-08")).unwrap(),
        DayKind::Working
    );
    assert_eq!(
        calendar.day_kind(date("2026-10-11")).unwrap(),
        DayKind::Weekend
    );
}

#[test]
fn off_and_make_up_day_counts_per_year() {
    let calendar = Calendar::builtin();
    for (year, days_off, make_up_days) in [(2024, 28, 8), (2025, 28, 5), (2026, 33, 6)] {
        let mut off = 0;
        let mut make_up = 0;
        let first = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
        for day in first
            .iter_days()
            .take_while(|day| day.format("%Y").to_string() == year.to_string())
        {
            match calendar.day_kind(day).unwrap() {
                DayKind::Holiday { .. } => off += 1,
                DayKind::MakeUpWorkday { .. } => make_up += 1,
                DayKind::Working | DayKind::Weekend => {}
            }
        }
        assert_eq!((off, make_up), (days_off, make_up_days), "{year}");
    }
}

#[test]
fn uncovered_years_are_refused() {
    let calendar = Calendar::builtin();
    for (day, year) in [
        ("2023-12-31", 2023),
        ("2027-01-04", 2027),
        ("2023-06-01", 2023),
    ] {
        assert_eq!(
            calendar.day_kind(date(day)),
            Err(CalendarError::YearNotCovered { year })
        );
        assert_eq!(
            calendar.is_working_day(date(day)),
            Err(CalendarError::YearNotCovered { year })
        );
    }
}
