//! The one place where UTC milliseconds (ticket-core's timestamps) become China Standard
//! Time wall-clock values (the calendar's) and back.
//!
//! China Standard Time is UTC+8 all year: China has had no daylight saving time since 1991,
//! so a fixed offset is exact for every date the calendar can hold.

use chrono::{DateTime, NaiveDateTime, TimeDelta};

use super::error::ClockError;

/// Hours China Standard Time is ahead of UTC.
const CHINA_UTC_OFFSET_HOURS: i64 = 8;

/// China Standard Time wall clock of a Unix-millisecond timestamp. `field` names the value
/// in the error if it is out of range.
pub fn china_time_from_ms(ms: i64, field: &'static str) -> Result<NaiveDateTime, ClockError> {
    DateTime::from_timestamp_millis(ms)
        .and_then(|utc| {
            utc.naive_utc()
                .checked_add_signed(TimeDelta::hours(CHINA_UTC_OFFSET_HOURS))
        })
        .ok_or(ClockError::TimeOutOfRange { field, ms })
}

/// Unix milliseconds of a China Standard Time wall-clock value.
pub fn ms_from_china_time(china_time: NaiveDateTime) -> i64 {
    (china_time - TimeDelta::hours(CHINA_UTC_OFFSET_HOURS))
        .and_utc()
        .timestamp_millis()
}

/// A timestamp for messages: `2026-10-08 23:59:59 CST`, or the raw milliseconds if the value
/// is out of range (messages never fail).
pub fn describe_ms(ms: i64) -> String {
    match china_time_from_ms(ms, "") {
        Ok(time) => format!("{} CST", time.format("%Y-%m-%d %H:%M:%S")),
        Err(_) => format!("{ms} ms"),
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    #[test]
    fn midnight_in_beijing_is_four_pm_utc_the_day_before() {
        let china = NaiveDate::from_ymd_opt(2026, 10, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        let ms = ms_from_china_time(china);
        let utc = DateTime::from_timestamp_millis(ms).unwrap();
        assert_eq!(utc.to_rfc3339(), "2026-09-30T16:00:00+00:00");
        assert_eq!(china_time_from_ms(ms, "t").unwrap(), china);
    }

    #[test]
    fn round_trips_keep_milliseconds() {
        for ms in [0, 1, 1_789_000_123_456, -86_400_001] {
            let china = china_time_from_ms(ms, "t").unwrap();
            assert_eq!(ms_from_china_time(china), ms);
        }
    }

    #[test]
    fn out_of_range_names_the_field() {
        assert_eq!(
            china_time_from_ms(i64::MAX, "reply_due_at_ms"),
            Err(ClockError::TimeOutOfRange {
                field: "reply_due_at_ms",
                ms: i64::MAX
            })
        );
    }
}
