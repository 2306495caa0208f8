//! The company's clock: the instant now, and today's date where the company
//! works. Every "today" (a receipt's default date, an ageing report's `as_of`,
//! overdue follow-ups, SLA deadlines) comes from here, so a test can set the
//! time and a company in another zone changes one setting.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, SubsecRound, Utc};

/// Zone names the clock accepts besides fixed offsets (`+08:00`): zones without
/// daylight saving time, so a fixed offset is exact for them at every date.
const ZONES: &[(&str, i32)] = &[
    ("Asia/Shanghai", 8 * 3600),
    ("Asia/Chongqing", 8 * 3600),
    ("Asia/Harbin", 8 * 3600),
    ("Asia/Hong_Kong", 8 * 3600),
    ("Asia/Macau", 8 * 3600),
    ("Asia/Taipei", 8 * 3600),
    ("Asia/Singapore", 8 * 3600),
    ("Asia/Kuala_Lumpur", 8 * 3600),
    ("Asia/Urumqi", 6 * 3600),
    ("Asia/Tokyo", 9 * 3600),
    ("UTC", 0),
];

/// Why a time zone setting was refused.
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown time zone '{0}': use an offset such as +08:00 or one of Asia/Shanghai, Asia/Hong_Kong, Asia/Taipei, UTC"
)]
pub struct UnknownTimeZone(pub String);

/// Now and today in the company's time zone. Cloning shares a set time.
#[derive(Clone, Debug)]
pub struct Clock {
    zone: FixedOffset,
    /// Set by tests (and demos of a date): the instant the clock shows.
    set_to: Option<Arc<Mutex<DateTime<Utc>>>>,
}

impl Default for Clock {
    /// The system clock in China Standard Time (Asia/Shanghai).
    fn default() -> Self {
        Self { zone: beijing(), set_to: None }
    }
}

/// China Standard Time, UTC+8 all year.
const fn beijing() -> FixedOffset {
    match FixedOffset::east_opt(8 * 3600) {
        Some(zone) => zone,
        None => unreachable!(),
    }
}

impl Clock {
    /// The system clock in `zone`.
    pub fn system(zone: FixedOffset) -> Self {
        Self { zone, set_to: None }
    }

    /// A clock that shows `at` until it is set again (tests).
    pub fn set_at(zone: FixedOffset, at: DateTime<Utc>) -> Self {
        Self { zone, set_to: Some(Arc::new(Mutex::new(at.trunc_subsecs(6)))) }
    }

    /// Parses a zone setting: a name from the list above or an offset
    /// (`+08:00`, `-05:30`, `+8`).
    pub fn parse_zone(text: &str) -> Result<FixedOffset, UnknownTimeZone> {
        let text = text.trim();
        if let Some((_, secs)) = ZONES.iter().find(|(name, _)| name.eq_ignore_ascii_case(text)) {
            return FixedOffset::east_opt(*secs).ok_or_else(|| UnknownTimeZone(text.to_owned()));
        }
        let unknown = || UnknownTimeZone(text.to_owned());
        let (sign, rest) = match text.as_bytes().first() {
            Some(b'+') => (1, &text[1..]),
            Some(b'-') => (-1, &text[1..]),
            _ => return Err(unknown()),
        };
        let (hours, minutes) = rest.split_once(':').unwrap_or((rest, "0"));
        let hours: i32 = hours.parse().map_err(|_| unknown())?;
        let minutes: i32 = minutes.parse().map_err(|_| unknown())?;
        if !(0..=14).contains(&hours) || !(0..60).contains(&minutes) {
            return Err(unknown());
        }
        FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60)).ok_or_else(unknown)
    }

    /// The company's zone.
    pub fn zone(&self) -> FixedOffset {
        self.zone
    }

    /// Moves a set clock to `at` (tests). A system clock is left alone.
    pub fn set(&self, at: DateTime<Utc>) {
        if let Some(set_to) = &self.set_to {
            *set_to.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = at.trunc_subsecs(6);
        }
    }

    /// The instant now, in microseconds (what both databases keep).
    pub fn now(&self) -> DateTime<Utc> {
        match &self.set_to {
            Some(set_to) => *set_to.lock().unwrap_or_else(|poisoned| poisoned.into_inner()),
            None => Utc::now().trunc_subsecs(6),
        }
    }

    /// Today's date where the company works.
    pub fn today(&self) -> NaiveDate {
        self.date_of(self.now())
    }

    /// The company's date at `instant`.
    pub fn date_of(&self, instant: DateTime<Utc>) -> NaiveDate {
        self.local(instant).date()
    }

    /// The company's wall-clock time at `instant`, for screens and exports.
    pub fn local(&self, instant: DateTime<Utc>) -> NaiveDateTime {
        instant.with_timezone(&self.zone).naive_local()
    }

    /// The instant a wall-clock time of the company happens.
    pub fn instant_of(&self, local: NaiveDateTime) -> DateTime<Utc> {
        DateTime::<Utc>::from_naive_utc_and_offset(
            local - chrono::Duration::seconds(self.zone.local_minus_utc().into()),
            Utc,
        )
    }

    /// The instant the company's day `date` begins.
    pub fn start_of_day(&self, date: NaiveDate) -> DateTime<Utc> {
        self.instant_of(date.and_time(chrono::NaiveTime::MIN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn today_is_the_company_date_not_the_utc_date() {
        let clock = Clock::set_at(beijing(), at("2026-12-03T16:30:00Z"));
        assert_eq!(clock.today().to_string(), "2026-12-04", "00:30 in Beijing is already the next day");
        clock.set(at("2026-12-03T15:59:59Z"));
        assert_eq!(clock.today().to_string(), "2026-12-03");
        let utc = Clock::set_at(FixedOffset::east_opt(0).unwrap(), at("2026-12-03T16:30:00Z"));
        assert_eq!(utc.today().to_string(), "2026-12-03");
    }

    #[test]
    fn a_day_begins_at_local_midnight() {
        let clock = Clock::default();
        let day = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        assert_eq!(clock.start_of_day(day), at("2026-12-03T16:00:00Z"));
        assert_eq!(clock.date_of(clock.start_of_day(day)), day);
    }

    #[test]
    fn zones_parse_by_name_and_offset() {
        assert_eq!(Clock::parse_zone("Asia/Shanghai").map(|z| z.local_minus_utc()).ok(), Some(8 * 3600));
        assert_eq!(Clock::parse_zone("+05:30").map(|z| z.local_minus_utc()).ok(), Some(5 * 3600 + 1800));
        assert_eq!(Clock::parse_zone("-3").map(|z| z.local_minus_utc()).ok(), Some(-3 * 3600));
        assert!(Clock::parse_zone("Mars/Olympus").is_err());
        assert!(Clock::parse_zone("+15:00").is_err());
    }
}
