//! One year's table, read from the TOML transcription of a State Council holiday notice.
//!
//! The format is described in `data/README.md`. Parsing checks everything that can be checked
//! within one file; conflicts between years are checked when the table joins a [`Calendar`].
//!
//! [`Calendar`]: crate::Calendar

use std::collections::BTreeMap;
use std::fmt;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;

use crate::error::CalendarError;

/// The notice a year's table was transcribed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// e.g. 国务院办公厅关于2026年部分节假日安排的通知
    pub title: String,
    /// e.g. 国办发明电〔2025〕7号
    pub document_number: String,
    /// The date the notice was issued.
    pub issued: NaiveDate,
    /// Where the notice is published, if recorded.
    pub url: Option<String>,
}

/// A holiday's name in Chinese and English; displayed as `National Day (国庆节)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HolidayName {
    pub chinese: String,
    pub english: String,
}

impl fmt::Display for HolidayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.english, self.chinese)
    }
}

/// One holiday of a notice: a run of consecutive days off and the weekend days worked for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    pub name: HolidayName,
    /// First day off, inclusive.
    pub first_day_off: NaiveDate,
    /// Last day off, inclusive.
    pub last_day_off: NaiveDate,
    /// Weekend days that are working days because of this holiday (调休补班).
    pub make_up_workdays: Vec<NaiveDate>,
}

impl Holiday {
    /// Every day off of this holiday, in order.
    pub fn days_off(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.first_day_off
            .iter_days()
            .take_while(move |day| *day <= self.last_day_off)
    }
}

/// A validated year: its notice and holidays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearTable {
    pub year: i32,
    pub notice: Notice,
    pub holidays: Vec<Holiday>,
}

/// What a listed date means, as indexed by the calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SpecialDay {
    Off(HolidayName),
    MakeUpWorkday(HolidayName),
}

impl SpecialDay {
    pub(crate) fn describe(&self) -> String {
        match self {
            SpecialDay::Off(name) => format!("a day off for {name}"),
            SpecialDay::MakeUpWorkday(name) => format!("a make-up working day for {name}"),
        }
    }
}

// The serde shapes mirror the file; `deny_unknown_fields` catches misspelt keys, which would
// otherwise silently drop a make-up day.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFileRecord {
    year: i32,
    notice: NoticeRecord,
    #[serde(rename = "holiday", default)]
    holidays: Vec<HolidayRecord>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoticeRecord {
    title: String,
    document_number: String,
    issued: toml::value::Datetime,
    url: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HolidayRecord {
    name_zh: String,
    name_en: String,
    off_from: toml::value::Datetime,
    off_to: toml::value::Datetime,
    #[serde(default)]
    make_up_workdays: Vec<toml::value::Datetime>,
}

impl YearTable {
    /// Parses and validates one year file.
    pub fn parse(text: &str) -> Result<YearTable, CalendarError> {
        let record: YearFileRecord =
            toml::from_str(text).map_err(|error| CalendarError::MalformedYearFile {
                year: declared_year(text),
                reason: error.to_string(),
            })?;
        let year = record.year;
        let malformed = |reason: String| CalendarError::MalformedYearFile {
            year: Some(year),
            reason,
        };
        if !(1949..=9999).contains(&year) {
            return Err(malformed(format!("year {year} is out of range")));
        }
        if record.notice.title.trim().is_empty() || record.notice.document_number.trim().is_empty()
        {
            return Err(malformed(
                "the notice needs a title and a document number".to_owned(),
            ));
        }
        if record.holidays.is_empty() {
            return Err(malformed("no [[holiday]] entries".to_owned()));
        }
        let notice = Notice {
            title: record.notice.title,
            document_number: record.notice.document_number,
            issued: local_date(&record.notice.issued, "notice.issued").map_err(malformed)?,
            url: record.notice.url,
        };
        let mut holidays = Vec::with_capacity(record.holidays.len());
        for holiday in record.holidays {
            if holiday.name_zh.trim().is_empty() || holiday.name_en.trim().is_empty() {
                return Err(malformed(
                    "every holiday needs name_zh and name_en".to_owned(),
                ));
            }
            let field = |name: &str| format!("{} {name}", holiday.name_en);
            let make_up_workdays = holiday
                .make_up_workdays
                .iter()
                .map(|day| local_date(day, &field("make_up_workdays")))
                .collect::<Result<Vec<_>, _>>()
                .map_err(malformed)?;
            holidays.push(Holiday {
                first_day_off: local_date(&holiday.off_from, &field("off_from"))
                    .map_err(malformed)?,
                last_day_off: local_date(&holiday.off_to, &field("off_to")).map_err(malformed)?,
                make_up_workdays,
                name: HolidayName {
                    chinese: holiday.name_zh,
                    english: holiday.name_en,
                },
            });
        }
        let table = YearTable {
            year,
            notice,
            holidays,
        };
        table.special_days()?;
        Ok(table)
    }

    /// Indexes every listed date, refusing any date listed twice or out of place.
    pub(crate) fn special_days(&self) -> Result<BTreeMap<NaiveDate, SpecialDay>, CalendarError> {
        let inconsistent = |date: NaiveDate, problem: String| CalendarError::InconsistentYearFile {
            year: self.year,
            date,
            problem,
        };
        let mut days = BTreeMap::new();
        for holiday in &self.holidays {
            if holiday.last_day_off < holiday.first_day_off {
                return Err(inconsistent(
                    holiday.last_day_off,
                    format!(
                        "{} ends (off_to) before it starts (off_from {})",
                        holiday.name, holiday.first_day_off
                    ),
                ));
            }
            let listed = holiday
                .days_off()
                .map(|day| (day, SpecialDay::Off(holiday.name.clone())))
                .chain(
                    holiday
                        .make_up_workdays
                        .iter()
                        .map(|day| (*day, SpecialDay::MakeUpWorkday(holiday.name.clone()))),
                );
            for (date, kind) in listed {
                if !self.may_list(date) {
                    return Err(inconsistent(
                        date,
                        format!(
                            "{} lies outside {} (only {} and the December before it may be \
                             listed)",
                            kind.describe(),
                            self.year,
                            self.year
                        ),
                    ));
                }
                if let SpecialDay::MakeUpWorkday(_) = kind
                    && !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
                {
                    return Err(inconsistent(
                        date,
                        format!(
                            "{} falls on a {}; make-up working days replace weekend days",
                            kind.describe(),
                            crate::weekday_name(date.weekday())
                        ),
                    ));
                }
                if let Some(earlier) = days.get(&date) {
                    return Err(inconsistent(
                        date,
                        format!(
                            "listed twice: as {} and as {}",
                            SpecialDay::describe(earlier),
                            kind.describe()
                        ),
                    ));
                }
                days.insert(date, kind);
            }
        }
        Ok(days)
    }

    /// A notice arranges its own year, and sometimes the New Year break reaching back into the
    /// last days of the year before (the 2019 notice gave 2018-12-29 to 2018-12-31).
    fn may_list(&self, date: NaiveDate) -> bool {
        date.year() == self.year || (date.year() == self.year - 1 && date.month() == 12)
    }
}

/// Finds `year = N` in a file too broken for the TOML parser, so the error can still name it.
fn declared_year(text: &str) -> Option<i32> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        if key.trim() != "year" {
            return None;
        }
        value.split('#').next()?.trim().parse().ok()
    })
}

fn local_date(value: &toml::value::Datetime, field: &str) -> Result<NaiveDate, String> {
    let date = match (value.date, value.time, value.offset) {
        (Some(date), None, None) => date,
        _ => {
            return Err(format!(
                "{field} = {value}: expected a plain date such as 2026-10-01"
            ));
        }
    };
    NaiveDate::from_ymd_opt(
        i32::from(date.year),
        u32::from(date.month),
        u32::from(date.day),
    )
    .ok_or_else(|| format!("{field} = {value}: no such date"))
}
