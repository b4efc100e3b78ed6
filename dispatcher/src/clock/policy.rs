//! The deadline policy: how long each step may take, and when to remind, urge and escalate.
//!
//! The defaults are those of the domain brief (`DOMAIN.md`, "Lifecycle"); a province sets
//! its own in the `[deadlines]` section of a TOML file (see `deploy/deadlines.example.toml`).
//! Every key is optional and falls back to the default; an unknown key or a bad value is
//! refused with an error naming the key, so a misspelt override is never silently ignored.

use std::fmt;

use chrono::NaiveTime;
use thiserror::Error;

/// What a ticket asks for (the glossary's `kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Request,
    Complaint,
    LegalAid,
    Hardship,
    Suggestion,
    Consultation,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Request,
        Kind::Complaint,
        Kind::LegalAid,
        Kind::Hardship,
        Kind::Suggestion,
        Kind::Consultation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Request => "request",
            Kind::Complaint => "complaint",
            Kind::LegalAid => "legal_aid",
            Kind::Hardship => "hardship",
            Kind::Suggestion => "suggestion",
            Kind::Consultation => "consultation",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How pressing a work order is. A collective matter (≥ 5 workers) gets shorter limits, an
/// urgent one (threats of self-harm or "extreme ways") the shortest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Priority {
    Normal,
    Collective,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 3] = [Priority::Normal, Priority::Collective, Priority::Urgent];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Normal => "normal",
            Priority::Collective => "collective",
            Priority::Urgent => "urgent",
        }
    }

    pub fn parse(text: &str) -> Option<Priority> {
        Priority::ALL
            .into_iter()
            .find(|priority| priority.as_str() == text)
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How long a step may take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// Until the end (23:59:59) of the n-th working day after the start date.
    WorkingDays(u32),
    /// Calendar hours from the start instant, nights and holidays included: for urgent
    /// matters, where waiting for the next working day is not acceptable.
    Hours(u32),
}

impl Limit {
    /// Whether the limit runs on calendar hours rather than working days.
    pub fn is_hour_based(self) -> bool {
        matches!(self, Limit::Hours(_))
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::WorkingDays(1) => f.write_str("1 working day"),
            Limit::WorkingDays(n) => write!(f, "{n} working days"),
            Limit::Hours(1) => f.write_str("1 hour"),
            Limit::Hours(n) => write!(f, "{n} hours"),
        }
    }
}

/// One limit for each priority.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct LimitsByPriority([Limit; 3]);

impl LimitsByPriority {
    fn get(&self, priority: Priority) -> Limit {
        self.0[priority.index()]
    }
}

/// When reminders, urge notices and escalations are due, around each deadline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Urging {
    /// First reminder when this share of the (working) time is gone.
    pub reminder_at_percent: u8,
    /// Second reminder this many working days before the deadline day; 0 sends none.
    pub reminder_working_days_before: u8,
    /// Urge notice on this working day after the deadline day.
    pub urge_working_days_after: u8,
    /// Escalation to the supervisor on this working day after the deadline day.
    pub escalation_working_days_after: u8,
    /// For hour-based limits (an urgent sign-for), a notice on the next working day would
    /// come far too late: urge this many hours after the deadline instead.
    pub urge_hours_after_hour_limit: u8,
    /// For hour-based limits, escalate this many hours after the deadline.
    pub escalation_hours_after_hour_limit: u8,
    /// Time of day (China Standard Time) at which day-based notices go out, so that unions
    /// and supervisors receive them in office hours rather than at midnight.
    pub notice_time: NaiveTime,
}

/// The deadline policy of one province.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    sign_for: [LimitsByPriority; 6],
    reply: [LimitsByPriority; 6],
    review: Limit,
    callback: Limit,
    extension_cap_calendar_days: u32,
    urging: Urging,
}

impl Default for Policy {
    /// The defaults of the domain brief.
    fn default() -> Self {
        let sign_for = LimitsByPriority([
            Limit::WorkingDays(1),
            Limit::WorkingDays(1),
            Limit::Hours(2),
        ]);
        let reply = LimitsByPriority([
            Limit::WorkingDays(15),
            Limit::WorkingDays(5),
            Limit::WorkingDays(1),
        ]);
        Policy {
            sign_for: [sign_for; 6],
            reply: [reply; 6],
            review: Limit::WorkingDays(2),
            callback: Limit::WorkingDays(3),
            extension_cap_calendar_days: 30,
            urging: Urging {
                reminder_at_percent: 75,
                reminder_working_days_before: 1,
                urge_working_days_after: 1,
                escalation_working_days_after: 3,
                urge_hours_after_hour_limit: 0,
                escalation_hours_after_hour_limit: 2,
                notice_time: NaiveTime::from_hms_opt(9, 0, 0).expect("09:00 is a valid time"),
            },
        }
    }
}

impl Policy {
    /// Time allowed to sign for a work order, from dispatch.
    pub fn sign_for(&self, kind: Kind, priority: Priority) -> Limit {
        self.sign_for[kind.index()].get(priority)
    }

    /// Time allowed to reply, from dispatch (or from a rework or reopen).
    pub fn reply(&self, kind: Kind, priority: Priority) -> Limit {
        self.reply[kind.index()].get(priority)
    }

    /// Time the province has to review a reply, from the reply.
    pub fn review(&self) -> Limit {
        self.review
    }

    /// Time the hotline has to call the worker back, from the approval.
    pub fn callback(&self) -> Limit {
        self.callback
    }

    /// Total extension allowed beyond the original reply deadline, in calendar days.
    pub fn extension_cap_calendar_days(&self) -> u32 {
        self.extension_cap_calendar_days
    }

    /// Reminder, urge and escalation moments.
    pub fn urging(&self) -> &Urging {
        &self.urging
    }

    /// Reads the `[deadlines]` section of a TOML file; other top-level sections are left to
    /// their own readers, so the section can share a file with the rest of the configuration.
    pub fn from_toml_str(text: &str) -> Result<Policy, PolicyError> {
        let document: toml::Table =
            toml::from_str(text).map_err(|error| PolicyError::Syntax(error.to_string()))?;
        match document.get("deadlines") {
            Some(toml::Value::Table(section)) => Policy::from_section(section),
            Some(_) => Err(invalid("deadlines", "must be a table ([deadlines])")),
            None => Err(PolicyError::MissingSection),
        }
    }

    /// Reads an already parsed `[deadlines]` table.
    pub fn from_section(section: &toml::Table) -> Result<Policy, PolicyError> {
        let mut policy = Policy::default();
        for (key, value) in section {
            let path = format!("deadlines.{key}");
            match key.as_str() {
                "sign_for" => read_limits_by_kind(&path, value, &mut policy.sign_for)?,
                "reply" => read_limits_by_kind(&path, value, &mut policy.reply)?,
                "review" => policy.review = read_limit(&path, value)?,
                "callback" => policy.callback = read_limit(&path, value)?,
                "extension_cap" => {
                    policy.extension_cap_calendar_days = read_calendar_days(&path, value)?
                }
                "urging" => read_urging(&path, value, &mut policy.urging)?,
                _ => return Err(PolicyError::UnknownKey { key: path }),
            }
        }
        policy.check_sign_for_within_reply()?;
        Ok(policy)
    }

    /// A work order must be due to be signed for no later than it is due to be answered.
    fn check_sign_for_within_reply(&self) -> Result<(), PolicyError> {
        for kind in Kind::ALL {
            for priority in Priority::ALL {
                let sign_for = self.sign_for(kind, priority);
                let reply = self.reply(kind, priority);
                let fits = match (sign_for, reply) {
                    (Limit::WorkingDays(sign), Limit::WorkingDays(reply)) => sign <= reply,
                    (Limit::Hours(sign), Limit::Hours(reply)) => sign <= reply,
                    // One working day ends at least 24 hours after any start.
                    (Limit::Hours(sign), Limit::WorkingDays(_)) => sign <= 24,
                    (Limit::WorkingDays(_), Limit::Hours(_)) => false,
                };
                if !fits {
                    return Err(invalid(
                        format!("deadlines.sign_for.{kind}.{priority}"),
                        format!(
                            "signing for may take {sign_for} but the reply is due within \
                             {reply} (deadlines.reply.{kind}.{priority}); the sign-for limit \
                             must not end after the reply limit"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Why a deadline policy was refused. Each error names the offending key, as written in the
/// file (`deadlines.reply.legal_aid.normal`).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PolicyError {
    #[error("deadline policy is not valid TOML: {0}")]
    Syntax(String),
    #[error("the deadline policy needs a [deadlines] section")]
    MissingSection,
    #[error("{key}: unknown key")]
    UnknownKey { key: String },
    #[error("{key}: {problem}")]
    Invalid { key: String, problem: String },
}

fn invalid(key: impl Into<String>, problem: impl Into<String>) -> PolicyError {
    PolicyError::Invalid {
        key: key.into(),
        problem: problem.into(),
    }
}

/// Longest working-day limit accepted. The statutory limit is 60 calendar days from
/// acceptance (《信访工作条例》 art. 34), and 60 working days are always longer than that.
const MAX_WORKING_DAYS: u32 = 60;
/// Longest hour-based limit accepted: hour limits are for urgent matters.
const MAX_HOURS: u32 = 72;
/// Statutory cap on extensions (《信访工作条例》 art. 34): 30 days.
const MAX_EXTENSION_CALENDAR_DAYS: u32 = 30;

/// `sign_for` and `reply` tables: priority keys apply to every kind; a kind's sub-table
/// overrides them for that kind only, whatever their order in the file.
fn read_limits_by_kind(
    path: &str,
    value: &toml::Value,
    limits: &mut [LimitsByPriority; 6],
) -> Result<(), PolicyError> {
    let table = as_table(path, value)?;
    for (key, value) in table {
        if let Some(priority) = Priority::parse(key) {
            let limit = read_limit(&format!("{path}.{key}"), value)?;
            for by_kind in limits.iter_mut() {
                by_kind.0[priority.index()] = limit;
            }
        } else if Kind::parse(key).is_none() {
            return Err(PolicyError::UnknownKey {
                key: format!("{path}.{key}"),
            });
        }
    }
    for (key, value) in table {
        let Some(kind) = Kind::parse(key) else {
            continue;
        };
        let kind_path = format!("{path}.{key}");
        for (priority_key, value) in as_table(&kind_path, value)? {
            let priority_path = format!("{kind_path}.{priority_key}");
            let priority =
                Priority::parse(priority_key).ok_or_else(|| PolicyError::UnknownKey {
                    key: priority_path.clone(),
                })?;
            limits[kind.index()].0[priority.index()] = read_limit(&priority_path, value)?;
        }
    }
    Ok(())
}

fn read_urging(path: &str, value: &toml::Value, urging: &mut Urging) -> Result<(), PolicyError> {
    for (key, value) in as_table(path, value)? {
        let key_path = format!("{path}.{key}");
        match key.as_str() {
            "reminder_at_percent" => {
                urging.reminder_at_percent = read_integer(&key_path, value, 1, 99)?
            }
            "reminder_working_days_before" => {
                urging.reminder_working_days_before = read_integer(&key_path, value, 0, 10)?
            }
            "urge_working_days_after" => {
                urging.urge_working_days_after = read_integer(&key_path, value, 1, 10)?
            }
            "escalation_working_days_after" => {
                urging.escalation_working_days_after = read_integer(&key_path, value, 1, 20)?
            }
            "urge_hours_after_hour_limit" => {
                urging.urge_hours_after_hour_limit = read_integer(&key_path, value, 0, 24)?
            }
            "escalation_hours_after_hour_limit" => {
                urging.escalation_hours_after_hour_limit = read_integer(&key_path, value, 0, 72)?
            }
            "notice_time" => urging.notice_time = read_time_of_day(&key_path, value)?,
            _ => return Err(PolicyError::UnknownKey { key: key_path }),
        }
    }
    // An escalation is the step after an urge; sending it first would skip the union.
    if urging.escalation_working_days_after < urging.urge_working_days_after {
        return Err(invalid(
            format!("{path}.escalation_working_days_after"),
            format!(
                "{} comes before the urge notice (urge_working_days_after = {})",
                urging.escalation_working_days_after, urging.urge_working_days_after
            ),
        ));
    }
    if urging.escalation_hours_after_hour_limit < urging.urge_hours_after_hour_limit {
        return Err(invalid(
            format!("{path}.escalation_hours_after_hour_limit"),
            format!(
                "{} comes before the urge notice (urge_hours_after_hour_limit = {})",
                urging.escalation_hours_after_hour_limit, urging.urge_hours_after_hour_limit
            ),
        ));
    }
    Ok(())
}

fn as_table<'a>(path: &str, value: &'a toml::Value) -> Result<&'a toml::Table, PolicyError> {
    value.as_table().ok_or_else(|| {
        invalid(
            path,
            format!("expected a table, found {}", value.type_str()),
        )
    })
}

fn as_str<'a>(path: &str, value: &'a toml::Value, example: &str) -> Result<&'a str, PolicyError> {
    value.as_str().ok_or_else(|| {
        invalid(
            path,
            format!("expected a string such as \"{example}\", found {value}"),
        )
    })
}

/// `"15 working days"`, `"1 working day"`, `"2 hours"`.
fn read_limit(path: &str, value: &toml::Value) -> Result<Limit, PolicyError> {
    let text = as_str(path, value, "15 working days")?;
    let malformed = || {
        invalid(
            path,
            format!("\"{text}\": expected \"<n> working days\" or \"<n> hours\""),
        )
    };
    let (count, unit) = split_count(text).ok_or_else(malformed)?;
    match unit {
        "working day" | "working days" => {
            if !(1..=MAX_WORKING_DAYS).contains(&count) {
                return Err(invalid(
                    path,
                    format!(
                        "\"{text}\": must be between 1 and {MAX_WORKING_DAYS} working days (the \
                         statutory limit is 60 calendar days)"
                    ),
                ));
            }
            Ok(Limit::WorkingDays(count))
        }
        "hour" | "hours" => {
            if !(1..=MAX_HOURS).contains(&count) {
                return Err(invalid(
                    path,
                    format!("\"{text}\": must be between 1 and {MAX_HOURS} hours"),
                ));
            }
            Ok(Limit::Hours(count))
        }
        _ => Err(malformed()),
    }
}

/// `"30 calendar days"`.
fn read_calendar_days(path: &str, value: &toml::Value) -> Result<u32, PolicyError> {
    let text = as_str(path, value, "30 calendar days")?;
    let days = match split_count(text) {
        Some((count, "calendar day" | "calendar days")) => count,
        _ => {
            return Err(invalid(
                path,
                format!("\"{text}\": expected \"<n> calendar days\""),
            ));
        }
    };
    if days > MAX_EXTENSION_CALENDAR_DAYS {
        return Err(invalid(
            path,
            format!(
                "\"{text}\": the statutory cap on extensions is {MAX_EXTENSION_CALENDAR_DAYS} \
                 days (《信访工作条例》 art. 34)"
            ),
        ));
    }
    Ok(days)
}

/// Splits `"15 working days"` into `(15, "working days")`, tolerating extra spaces; `None`
/// if the count is not a whole number or the unit is not one of those the policy knows.
fn split_count(text: &str) -> Option<(u32, &str)> {
    let text = text.trim();
    let (count, unit) = text.split_once(char::is_whitespace)?;
    let count = count.parse().ok()?;
    let unit = unit.trim();
    // Match word by word so that "working  days" with two spaces is still understood.
    let words: Vec<&str> = unit.split_whitespace().collect();
    let unit = match words.as_slice() {
        [one] => *one,
        ["working", "day"] => "working day",
        ["working", "days"] => "working days",
        ["calendar", "day"] => "calendar day",
        ["calendar", "days"] => "calendar days",
        _ => return None,
    };
    Some((count, unit))
}

fn read_integer(path: &str, value: &toml::Value, min: u8, max: u8) -> Result<u8, PolicyError> {
    let number = value.as_integer().ok_or_else(|| {
        invalid(
            path,
            format!("expected a whole number, found {}", value.type_str()),
        )
    })?;
    if !(i64::from(min)..=i64::from(max)).contains(&number) {
        return Err(invalid(
            path,
            format!("{number}: must be between {min} and {max}"),
        ));
    }
    // In range 0..=255 after the check above.
    Ok(number as u8)
}

/// `"09:00"`, China Standard Time.
fn read_time_of_day(path: &str, value: &toml::Value) -> Result<NaiveTime, PolicyError> {
    let text = as_str(path, value, "09:00")?;
    NaiveTime::parse_from_str(text.trim(), "%H:%M").map_err(|_| {
        invalid(
            path,
            format!("\"{text}\": expected a time of day such as \"09:00\""),
        )
    })
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
