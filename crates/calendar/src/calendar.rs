//! The calendar: loaded year tables and the kind of each day.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate, Weekday};

use crate::error::CalendarError;
use crate::year_file::{Holiday, HolidayName, Notice, SpecialDay, YearTable};

/// The year files shipped with the crate, one per State Council notice.
const BUILTIN_YEAR_FILES: &[(&str, &str)] = &[
    ("data/2024.toml", include_str!("../data/2024.toml")),
    ("data/2025.toml", include_str!("../data/2025.toml")),
    ("data/2026.toml", include_str!("../data/2026.toml")),
];

/// What kind of day a date is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DayKind {
    /// An ordinary Monday to Friday.
    Working,
    /// An ordinary Saturday or Sunday.
    Weekend,
    /// A day off of a public holiday, including weekend days inside the holiday's run.
    Holiday { name: HolidayName },
    /// A Saturday or Sunday worked in exchange for days off of a holiday (调休补班).
    MakeUpWorkday { for_holiday: HolidayName },
}

impl DayKind {
    /// Whether work orders' clocks run on this day.
    pub fn is_working(&self) -> bool {
        matches!(self, DayKind::Working | DayKind::MakeUpWorkday { .. })
    }
}

/// A validated year table with its listed dates indexed.
#[derive(Debug, Clone)]
struct LoadedYear {
    table: YearTable,
    days: BTreeMap<NaiveDate, SpecialDay>,
}

/// China's working-day calendar for the years it holds a State Council notice for.
#[derive(Debug, Clone)]
pub struct Calendar {
    years: BTreeMap<i32, LoadedYear>,
    /// Every listed date of every year, derived from `years`.
    special_days: HashMap<NaiveDate, SpecialDay>,
}

impl Calendar {
    /// The calendar with the years shipped in `data/`.
    pub fn builtin() -> Calendar {
        let mut calendar = Calendar::empty();
        for (path, text) in BUILTIN_YEAR_FILES {
            // The shipped files are checked by this crate's tests, so a failure here is a
            // build defect, not an operating condition.
            if let Err(error) = calendar.add_year_file(text) {
                panic!("built-in holiday table {path} is invalid: {error}");
            }
        }
        calendar
    }

    /// A calendar with no years; every question about a date is refused until years are added.
    pub fn empty() -> Calendar {
        Calendar {
            years: BTreeMap::new(),
            special_days: HashMap::new(),
        }
    }

    /// Adds a year file (same format as `data/*.toml`), replacing any earlier table for the
    /// same year. Consumes and returns the calendar so files can be chained.
    pub fn with_year_file(mut self, text: &str) -> Result<Calendar, CalendarError> {
        self.add_year_file(text)?;
        Ok(self)
    }

    /// Adds a year file, replacing any earlier table for the same year: the later file wins.
    /// On error the calendar is left unchanged.
    pub fn add_year_file(&mut self, text: &str) -> Result<(), CalendarError> {
        let table = YearTable::parse(text)?;
        let days = table.special_days()?;
        let mut special_days: HashMap<NaiveDate, SpecialDay> = self
            .years
            .iter()
            .filter(|(year, _)| **year != table.year)
            .flat_map(|(_, other)| other.days.clone())
            .collect();
        // A year's December may also be arranged by the next year's notice; the two must agree
        // on which days they list, so a date listed by both is refused.
        for (date, kind) in &days {
            if let Some(other) = special_days.get(date) {
                return Err(CalendarError::InconsistentYearFile {
                    year: table.year,
                    date: *date,
                    problem: format!(
                        "listed as {} but another year's table already lists it as {}",
                        kind.describe(),
                        other.describe()
                    ),
                });
            }
            special_days.insert(*date, kind.clone());
        }
        self.years.insert(table.year, LoadedYear { table, days });
        self.special_days = special_days;
        Ok(())
    }

    /// The years this calendar can answer for, ascending.
    pub fn covered_years(&self) -> Vec<i32> {
        self.years.keys().copied().collect()
    }

    /// The notice a year's table was transcribed from.
    pub fn notice(&self, year: i32) -> Option<&Notice> {
        self.years.get(&year).map(|loaded| &loaded.table.notice)
    }

    /// The holidays of a year's notice, in the notice's order.
    pub fn holidays(&self, year: i32) -> Option<&[Holiday]> {
        self.years
            .get(&year)
            .map(|loaded| loaded.table.holidays.as_slice())
    }

    /// Refuses a date whose year has no table.
    pub fn ensure_covered(&self, date: NaiveDate) -> Result<(), CalendarError> {
        if self.years.contains_key(&date.year()) {
            Ok(())
        } else {
            Err(CalendarError::YearNotCovered { year: date.year() })
        }
    }

    /// What kind of day `date` is.
    pub fn day_kind(&self, date: NaiveDate) -> Result<DayKind, CalendarError> {
        self.ensure_covered(date)?;
        Ok(match self.special_days.get(&date) {
            Some(SpecialDay::Off(name)) => DayKind::Holiday { name: name.clone() },
            Some(SpecialDay::MakeUpWorkday(name)) => DayKind::MakeUpWorkday {
                for_holiday: name.clone(),
            },
            None if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) => DayKind::Weekend,
            None => DayKind::Working,
        })
    }

    /// Whether `date` is a working day: an ordinary weekday or a make-up working day.
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, CalendarError> {
        self.day_kind(date).map(|kind| kind.is_working())
    }
}
