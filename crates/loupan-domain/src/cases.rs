//! Customer-service cases (报事, C4): what an owner reports, how a case moves
//! from registration to the callback, and the company's working calendar that
//! its deadlines (SLA) are counted in.
//!
//! A deadline of "4 working hours" is counted only inside the working periods
//! of working days: Monday to Friday unless the calendar says otherwise — a
//! statutory holiday (法定节假日) is off even on a weekday, a make-up working
//! day (调休上班) is on even on a Saturday. The calendar is data that the
//! company edits each year when the State Council publishes the holidays.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Weekday};

use crate::names::named_enum;

named_enum! {
    /// 报事类型.
    pub enum CaseKind("case kind") {
        /// 投诉.
        Complaint = "complaint",
        /// 报修.
        Repair = "repair",
        /// 咨询.
        Enquiry = "enquiry",
        /// 建议.
        Suggestion = "suggestion",
    }
}

named_enum! {
    /// What a satisfaction survey (C5) asks about.
    pub enum SurveyEvent("survey event") {
        /// A customer-service case was closed.
        CaseClosed = "case_closed",
        /// A contract was signed.
        ContractSigned = "contract_signed",
        /// The home was handed over (交房).
        Handover = "handover",
    }
}

/// Days a satisfaction survey's link may be answered.
pub const SURVEY_VALID_DAYS: i64 = 14;

/// A score that opens a complaint case: satisfaction of 2 or less out of 5,
/// or a recommendation of 4 or less out of 10.
pub fn is_low_score(csat: i32, nps: i32) -> bool {
    csat <= 2 || nps <= 4
}

/// The net promoter score of answers on the 0–10 scale: the percentage of
/// promoters (9–10) less that of detractors (0–6), one decimal, rounded half
/// away from zero; None without answers.
pub fn net_promoter_score(answers: &[i32]) -> Option<f64> {
    if answers.is_empty() {
        return None;
    }
    let n = answers.len() as i64;
    let promoters = answers.iter().filter(|a| **a >= 9).count() as i64;
    let detractors = answers.iter().filter(|a| **a <= 6).count() as i64;
    // In tenths of a percent, exactly: 1000 × (p − d) / n.
    let tenths = 1000 * (promoters - detractors);
    let rounded = (2 * tenths + n * tenths.signum()) / (2 * n);
    Some(rounded as f64 / 10.0)
}

named_enum! {
    /// How urgent a case is; with its kind it decides the deadlines.
    pub enum CasePriority("case priority") {
        Urgent = "urgent",
        High = "high",
        Normal = "normal",
        Low = "low",
    }
}

named_enum! {
    /// Where the case came from.
    pub enum CaseChannel("case channel") {
        Phone = "phone",
        Visit = "visit",
        Email = "email",
        Wechat = "wechat",
        /// The owners' form of a project, without login.
        WebForm = "web_form",
    }
}

named_enum! {
    /// 报事状态: registered → assigned → in progress → replied → confirmed → closed.
    pub enum CaseStatus("case status") {
        Registered = "registered",
        Assigned = "assigned",
        InProgress = "in_progress",
        Replied = "replied",
        /// The customer confirmed the reply solved it.
        Confirmed = "confirmed",
        /// Closed after the callback (回访) with a satisfaction score.
        Closed = "closed",
        /// Merged into another case about the same event.
        Merged = "merged",
    }
}

named_enum! {
    /// What a user does to a case.
    pub enum CaseAction("case action") {
        /// Give it to a handler (again).
        Assign = "assign",
        /// The handler takes it up: the first response.
        Start = "start",
        /// The handler answers the customer: the resolution.
        Reply = "reply",
        /// The customer says the reply solved it.
        Confirm = "confirm",
        /// The customer says it did not: back to the handler.
        Reject = "reject",
        /// The callback (回访) with a satisfaction score closes the case.
        Close = "close",
        /// A closed case comes back within the reopening period.
        Reopen = "reopen",
        /// Another open case is about the same event: this one ends there and
        /// the other carries on (the customer is answered once).
        Merge = "merge",
    }
}

impl CaseAction {
    /// The status the action leads to from `from`, or None when it does not apply.
    pub fn next(self, from: CaseStatus) -> Option<CaseStatus> {
        use CaseStatus::*;
        match (self, from) {
            (CaseAction::Assign, Registered | Assigned | InProgress) => Some(Assigned),
            (CaseAction::Start, Assigned) => Some(InProgress),
            (CaseAction::Reply, InProgress) => Some(Replied),
            (CaseAction::Confirm, Replied) => Some(Confirmed),
            (CaseAction::Reject, Replied) => Some(InProgress),
            (CaseAction::Close, Confirmed) => Some(Closed),
            (CaseAction::Reopen, Closed) => Some(InProgress),
            (CaseAction::Merge, Registered | Assigned | InProgress | Replied) => Some(Merged),
            _ => None,
        }
    }
}

impl CaseStatus {
    /// Still waiting on the company: counted in the backlog.
    pub fn is_open(self) -> bool {
        !matches!(self, CaseStatus::Closed | CaseStatus::Merged | CaseStatus::Confirmed)
    }
}

/// The deadlines of one kind and priority, in working minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaTarget {
    pub response_minutes: i64,
    pub resolution_minutes: i64,
}

impl SlaTarget {
    /// The built-in targets, which the company changes on its settings page:
    /// urgent 1 h / 1 day, high 2 h / 2 days, normal 4 h / 3 days, low 8 h / 5 days
    /// (a working day is 8 working hours).
    pub fn default_for(priority: CasePriority) -> SlaTarget {
        let (response_hours, resolution_hours) = match priority {
            CasePriority::Urgent => (1, 8),
            CasePriority::High => (2, 16),
            CasePriority::Normal => (4, 24),
            CasePriority::Low => (8, 40),
        };
        SlaTarget { response_minutes: response_hours * 60, resolution_minutes: resolution_hours * 60 }
    }

    /// When to remind before a deadline: with a quarter of the time left.
    pub fn remind_after(minutes: i64) -> i64 {
        minutes - minutes / 4
    }
}

/// A working period of a day, start before end (09:00–12:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkPeriod {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// Why working hours were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkHoursError {
    #[error("write working hours as 09:00-12:00,13:00-18:00")]
    Unreadable,
    #[error("working periods must be in order, each ending after it starts, without overlap")]
    OutOfOrder,
    #[error("at least one working period is needed")]
    Empty,
}

impl WorkHoursError {
    pub fn code(&self) -> &'static str {
        match self {
            WorkHoursError::Unreadable => "invalid_work_hours",
            WorkHoursError::OutOfOrder => "work_hours_out_of_order",
            WorkHoursError::Empty => "required",
        }
    }
}

/// The working periods of every working day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkHours(Vec<WorkPeriod>);

impl Default for WorkHours {
    /// 09:00–12:00 and 13:00–18:00: eight working hours.
    fn default() -> Self {
        let t = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap_or_default();
        WorkHours(vec![WorkPeriod { start: t(9), end: t(12) }, WorkPeriod { start: t(13), end: t(18) }])
    }
}

impl WorkHours {
    /// Reads `09:00-12:00,13:00-18:00`: two-digit hours and minutes, periods
    /// separated by commas (the form the API documents, nothing looser).
    pub fn parse(text: &str) -> Result<WorkHours, WorkHoursError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(WorkHoursError::Empty);
        }
        let time = |s: &str| {
            let well_formed =
                s.len() == 5 && s.as_bytes()[2] == b':' && s.bytes().filter(u8::is_ascii_digit).count() == 4;
            if !well_formed {
                return Err(WorkHoursError::Unreadable);
            }
            NaiveTime::parse_from_str(s, "%H:%M").map_err(|_| WorkHoursError::Unreadable)
        };
        let mut periods = Vec::new();
        for part in text.split(',') {
            let (a, b) = part.split_once('-').ok_or(WorkHoursError::Unreadable)?;
            periods.push(WorkPeriod { start: time(a)?, end: time(b)? });
        }
        WorkHours::new(periods)
    }

    pub fn new(periods: Vec<WorkPeriod>) -> Result<WorkHours, WorkHoursError> {
        if periods.is_empty() {
            return Err(WorkHoursError::Empty);
        }
        let mut last_end: Option<NaiveTime> = None;
        for p in &periods {
            if p.end <= p.start || last_end.is_some_and(|e| p.start < e) {
                return Err(WorkHoursError::OutOfOrder);
            }
            last_end = Some(p.end);
        }
        Ok(WorkHours(periods))
    }

    pub fn periods(&self) -> &[WorkPeriod] {
        &self.0
    }

    /// Working minutes of a working day.
    pub fn minutes_per_day(&self) -> i64 {
        self.0.iter().map(|p| (p.end - p.start).num_minutes()).sum()
    }
}

impl std::fmt::Display for WorkHours {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}-{}", p.start.format("%H:%M"), p.end.format("%H:%M"))?;
        }
        Ok(())
    }
}

/// A day the calendar sets apart from the weekly rhythm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarDay {
    pub date: NaiveDate,
    /// True: a make-up working day (调休上班); false: a holiday (放假).
    pub working: bool,
    /// The holiday it belongs to (春节, 国庆节).
    pub name: String,
}

/// How far a deadline is searched for: a calendar without working days in
/// two years is a mistake, not a deadline.
const SEARCH_DAYS: i64 = 731;

/// The company's working calendar: working hours and the days set apart.
#[derive(Debug, Clone, Default)]
pub struct WorkCalendar {
    hours: WorkHours,
    days: BTreeMap<NaiveDate, bool>,
}

impl WorkCalendar {
    pub fn new(hours: WorkHours, days: impl IntoIterator<Item = CalendarDay>) -> WorkCalendar {
        WorkCalendar { hours, days: days.into_iter().map(|d| (d.date, d.working)).collect() }
    }

    pub fn hours(&self) -> &WorkHours {
        &self.hours
    }

    /// Monday to Friday, unless the calendar names the day.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.days.get(&date).copied().unwrap_or(!matches!(date.weekday(), Weekday::Sat | Weekday::Sun))
    }

    /// The instant `minutes` working minutes after `start` (local time). A
    /// start outside working hours counts from the next working period; a
    /// deadline that falls on a period's end stays there (18:00, not 09:00 of
    /// the next day). None when the calendar has no working time for two years.
    pub fn add_working_minutes(&self, start: NaiveDateTime, minutes: i64) -> Option<NaiveDateTime> {
        let mut left = minutes.max(0);
        let mut day = start.date();
        for _ in 0..SEARCH_DAYS {
            if self.is_working_day(day) {
                for p in self.hours.periods() {
                    let from = day.and_time(p.start).max(start);
                    let to = day.and_time(p.end);
                    if from >= to {
                        continue;
                    }
                    let available = (to - from).num_minutes();
                    if left <= available {
                        return Some(from + Duration::minutes(left));
                    }
                    left -= available;
                }
            }
            day = day.succ_opt()?;
        }
        None
    }

    /// Working minutes from `from` to `to` (0 when `to` is not later).
    pub fn working_minutes_between(&self, from: NaiveDateTime, to: NaiveDateTime) -> i64 {
        if to <= from {
            return 0;
        }
        let mut total = 0;
        let mut day = from.date();
        while day <= to.date() {
            if self.is_working_day(day) {
                for p in self.hours.periods() {
                    let a = day.and_time(p.start).max(from);
                    let b = day.and_time(p.end).min(to);
                    if b > a {
                        total += (b - a).num_minutes();
                    }
                }
            }
            let Some(next) = day.succ_opt() else { break };
            day = next;
        }
        total
    }
}

/// Whether a closed case may still be reopened `days_since_close` days after closing.
pub fn may_reopen(days_since_close: i64, reopen_days: i64) -> bool {
    (0..=reopen_days).contains(&days_since_close)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_net_promoter_score_is_promoters_less_detractors() {
        use super::net_promoter_score as nps;
        assert_eq!(nps(&[]), None);
        assert_eq!(nps(&[10, 9, 8, 7, 6]), Some(20.0));
        assert_eq!(nps(&[0, 6, 10]), Some(-33.3));
        assert_eq!(nps(&[9, 9, 6]), Some(33.3));
        assert_eq!(nps(&[10, 0, 0]), Some(-33.3));
        assert_eq!(nps(&[7, 8]), Some(0.0));
        // 2/3 = 66.67 % rounds up.
        assert_eq!(nps(&[9, 10, 8]), Some(66.7));
        assert!(super::is_low_score(2, 10) && super::is_low_score(5, 4) && !super::is_low_score(3, 5));
    }

    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d).and_then(|d| d.and_hms_opt(h, min, 0)).unwrap_or_default()
    }

    fn day(y: i32, m: u32, d: u32, working: bool) -> CalendarDay {
        CalendarDay { date: NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default(), working, name: String::new() }
    }

    /// National Day 2026: 1–7 October off, Saturday 10 October worked.
    fn national_day() -> WorkCalendar {
        let mut days: Vec<CalendarDay> = (1..=7).map(|d| day(2026, 10, d, false)).collect();
        days.push(day(2026, 9, 20, true));
        days.push(day(2026, 10, 10, true));
        WorkCalendar::new(WorkHours::default(), days)
    }

    #[test]
    fn four_hours_from_the_afternoon_before_a_holiday_end_on_the_next_working_day() {
        let cal = national_day();
        // Wednesday 30 September 17:00: one hour that day, then 1–7 October off;
        // Thursday 8 October 09:00–12:00 holds the other three.
        assert_eq!(cal.add_working_minutes(at(2026, 9, 30, 17, 0), 240), Some(at(2026, 10, 8, 12, 0)));
        // A Friday before an ordinary weekend runs on into Monday.
        assert_eq!(cal.add_working_minutes(at(2026, 9, 25, 17, 0), 240), Some(at(2026, 9, 28, 12, 0)));
    }

    #[test]
    fn make_up_days_are_worked_even_on_saturday() {
        let cal = national_day();
        // Friday 9 October 17:30: half an hour, then Saturday 10 October is a working day.
        assert_eq!(cal.add_working_minutes(at(2026, 10, 9, 17, 30), 120), Some(at(2026, 10, 10, 10, 30)));
        assert!(cal.is_working_day(NaiveDate::from_ymd_opt(2026, 9, 20).unwrap_or_default()));
        assert!(!cal.is_working_day(NaiveDate::from_ymd_opt(2026, 10, 5).unwrap_or_default()));
    }

    #[test]
    fn time_outside_working_hours_counts_from_the_next_period() {
        let cal = WorkCalendar::default();
        // 12:30 (lunch) → counting starts 13:00.
        assert_eq!(cal.add_working_minutes(at(2026, 12, 2, 12, 30), 60), Some(at(2026, 12, 2, 14, 0)));
        // 20:00 → next morning.
        assert_eq!(cal.add_working_minutes(at(2026, 12, 2, 20, 0), 30), Some(at(2026, 12, 3, 9, 30)));
        // Exactly the rest of a period ends at its end, not at the next start.
        assert_eq!(cal.add_working_minutes(at(2026, 12, 2, 11, 0), 60), Some(at(2026, 12, 2, 12, 0)));
        assert_eq!(cal.add_working_minutes(at(2026, 12, 2, 17, 0), 60), Some(at(2026, 12, 2, 18, 0)));
        // Zero minutes inside hours is now; outside, the next period's start.
        assert_eq!(cal.add_working_minutes(at(2026, 12, 2, 10, 0), 0), Some(at(2026, 12, 2, 10, 0)));
        assert_eq!(cal.add_working_minutes(at(2026, 12, 5, 10, 0), 0), Some(at(2026, 12, 7, 9, 0)));
    }

    #[test]
    fn minutes_between_agree_with_adding() {
        let cal = national_day();
        let starts = [at(2026, 9, 30, 17, 0), at(2026, 10, 9, 12, 15), at(2026, 9, 19, 8, 0), at(2026, 10, 2, 10, 0)];
        for start in starts {
            for minutes in [1, 59, 60, 179, 180, 240, 480, 481, 2400, 4321] {
                let due = cal.add_working_minutes(start, minutes).unwrap_or_default();
                assert_eq!(cal.working_minutes_between(start, due), minutes, "{start} + {minutes}");
            }
        }
    }

    #[test]
    fn a_calendar_without_working_days_has_no_deadline() {
        let days = (0..800).filter_map(|i| {
            NaiveDate::from_ymd_opt(2026, 1, 1)
                .and_then(|d| d.checked_add_signed(Duration::days(i)))
                .map(|date| CalendarDay { date, working: false, name: String::new() })
        });
        let cal = WorkCalendar::new(WorkHours::default(), days);
        assert_eq!(cal.add_working_minutes(at(2026, 1, 1, 9, 0), 60), None);
    }

    #[test]
    fn working_hours_are_read_and_checked() {
        assert_eq!(WorkHours::parse(" 09:00-12:00,13:00-18:00 "), Ok(WorkHours::default()));
        assert_eq!(WorkHours::parse("09:00-12:00, 13:00-18:00"), Err(WorkHoursError::Unreadable));
        assert_eq!(WorkHours::parse("9:00-12:00"), Err(WorkHoursError::Unreadable));
        assert_eq!(WorkHours::parse("09:00-12:00,"), Err(WorkHoursError::Unreadable));
        assert_eq!(WorkHours::default().to_string(), "09:00-12:00,13:00-18:00");
        assert_eq!(WorkHours::default().minutes_per_day(), 480);
        assert_eq!(WorkHours::parse("9-12"), Err(WorkHoursError::Unreadable));
        assert_eq!(WorkHours::parse("13:00-12:00"), Err(WorkHoursError::OutOfOrder));
        assert_eq!(WorkHours::parse("09:00-12:00,11:00-18:00"), Err(WorkHoursError::OutOfOrder));
        assert_eq!(WorkHours::parse(" "), Err(WorkHoursError::Empty));
    }

    #[test]
    fn a_case_moves_only_along_its_process() {
        use CaseAction::*;
        use CaseStatus::*;
        assert_eq!(Start.next(Registered), None);
        assert_eq!(Assign.next(Registered), Some(Assigned));
        assert_eq!(Start.next(Assigned), Some(InProgress));
        assert_eq!(Reply.next(InProgress), Some(Replied));
        assert_eq!(Reject.next(Replied), Some(InProgress));
        assert_eq!(Confirm.next(Replied), Some(Confirmed));
        assert_eq!(Close.next(Confirmed), Some(Closed));
        assert_eq!(Close.next(Replied), None);
        assert_eq!(Reopen.next(Closed), Some(InProgress));
        for action in CaseAction::ALL {
            assert_eq!(action.next(Merged), None, "{action} on a merged case");
        }
        // Only a case still being worked merges; an answered or closed one stays as it ended.
        for from in CaseStatus::ALL {
            assert_eq!(Merge.next(from).is_some(), from.is_open(), "merge from {from}");
        }
        assert!(may_reopen(15, 15) && !may_reopen(16, 15));
    }
}
