//! The handover (交房/入伙, A4): a contract's handover from the notice to the
//! keys, the defects the buyer's inspection (验房) finds and their
//! rectification, and the warranty periods that run from the handover day.
//!
//! Warranty periods follow the minimums of the construction quality
//! regulation (《建设工程质量管理条例》 art. 40): the structure for the
//! design life, waterproofing five years, heating and cooling two seasons,
//! electrical, plumbing and decoration two years. A project may lengthen them.

use std::collections::BTreeMap;

use chrono::{Duration, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::names::named_enum;

named_enum! {
    /// Where a contract's handover stands.
    pub enum HandoverStatus("handover status") {
        /// The building is ready; no appointment yet.
        Open = "open",
        /// An appointment is booked.
        Booked = "booked",
        /// The buyer came (签到): documents collected, the inspection is under way.
        CheckedIn = "checked_in",
        /// Keys handed over; the unit is `handed_over`.
        HandedOver = "handed_over",
    }
}

named_enum! {
    /// How urgent a defect is; each has its rectification deadline.
    pub enum DefectSeverity("defect severity") {
        /// Leaks, no power or water: fixed within a day by default.
        Urgent = "urgent",
        Normal = "normal",
        /// Cosmetic: scratches, a loose skirting.
        Minor = "minor",
    }
}

named_enum! {
    /// A defect's way from the inspection to the buyer's acceptance.
    pub enum DefectStatus("defect status") {
        /// Found (or found again at re-inspection): engineering owes the fix.
        Open = "open",
        /// Engineering says it is fixed; it awaits re-inspection (复验).
        Rectified = "rectified",
        /// Re-inspected and accepted.
        Accepted = "accepted",
    }
}

named_enum! {
    /// What a defect or a warranty period is about (保修项目).
    pub enum WarrantyItem("warranty item") {
        /// 地基基础和主体结构.
        Structure = "structure",
        /// 屋面、卫生间和外墙防水.
        Waterproofing = "waterproofing",
        /// 供热与供冷系统.
        HeatingCooling = "heating_cooling",
        /// 电气管线.
        Electrical = "electrical",
        /// 给排水管道.
        Plumbing = "plumbing",
        /// 装修工程.
        Decoration = "decoration",
    }
}

impl WarrantyItem {
    /// The regulation's minimum in months; the structure's is the design life,
    /// 50 years for a home unless the project says otherwise. Heating and
    /// cooling's two seasons are counted as two years from the handover.
    pub const fn default_months(self) -> u32 {
        match self {
            WarrantyItem::Structure => 600,
            WarrantyItem::Waterproofing => 60,
            WarrantyItem::HeatingCooling
            | WarrantyItem::Electrical
            | WarrantyItem::Plumbing
            | WarrantyItem::Decoration => 24,
        }
    }
}

impl DefectSeverity {
    /// Hours engineering has to rectify, unless the project sets its own.
    pub const fn default_hours(self) -> u32 {
        match self {
            DefectSeverity::Urgent => 24,
            DefectSeverity::Normal => 7 * 24,
            DefectSeverity::Minor => 15 * 24,
        }
    }
}

/// A project's handover rules: rectification deadlines per severity, the
/// warranty per item, and the documents a buyer brings to the handover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoverRules {
    pub deadline_hours: BTreeMap<DefectSeverity, u32>,
    pub warranty_months: BTreeMap<WarrantyItem, u32>,
    pub documents: Vec<String>,
}

impl Default for HandoverRules {
    fn default() -> Self {
        HandoverRules {
            deadline_hours: DefectSeverity::ALL.into_iter().map(|s| (s, s.default_hours())).collect(),
            warranty_months: WarrantyItem::ALL.into_iter().map(|i| (i, i.default_months())).collect(),
            documents: ["买受人身份证原件", "购房合同", "交房通知书"].map(String::from).to_vec(),
        }
    }
}

/// The most a deadline or a warranty may be: ten years of hours, a century of months.
pub const MAX_DEADLINE_HOURS: u32 = 24 * 3650;
pub const MAX_WARRANTY_MONTHS: u32 = 1200;

impl HandoverRules {
    pub fn deadline(&self, severity: DefectSeverity) -> Duration {
        let hours = self.deadline_hours.get(&severity).copied().unwrap_or(severity.default_hours());
        Duration::hours(i64::from(hours))
    }

    pub fn months(&self, item: WarrantyItem) -> u32 {
        self.warranty_months.get(&item).copied().unwrap_or(item.default_months())
    }

    /// Each item's warranty from the handover day: the last day it covers.
    pub fn warranty(&self, handed_over_on: NaiveDate) -> Vec<(WarrantyItem, u32, NaiveDate)> {
        WarrantyItem::ALL
            .into_iter()
            .map(|item| {
                let months = self.months(item);
                let end = handed_over_on
                    .checked_add_months(Months::new(months))
                    .and_then(|d| d.pred_opt())
                    .unwrap_or(NaiveDate::MAX);
                (item, months, end)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn names_round_trip() {
        crate::names::assert_names_round_trip(&HandoverStatus::ALL, |s| s.name());
        crate::names::assert_names_round_trip(&DefectSeverity::ALL, |s| s.name());
        crate::names::assert_names_round_trip(&DefectStatus::ALL, |s| s.name());
        crate::names::assert_names_round_trip(&WarrantyItem::ALL, |s| s.name());
    }

    #[test]
    fn warranties_run_from_the_handover_day_by_the_regulation() {
        let rules = HandoverRules::default();
        let ends: BTreeMap<WarrantyItem, NaiveDate> =
            rules.warranty(date(2026, 12, 6)).into_iter().map(|(i, _, end)| (i, end)).collect();
        assert_eq!(ends[&WarrantyItem::Waterproofing], date(2031, 12, 5));
        assert_eq!(ends[&WarrantyItem::Decoration], date(2028, 12, 5));
        assert_eq!(ends[&WarrantyItem::Structure], date(2076, 12, 5));
        // A month-end handover ends on the day before the same day of month, or the month's last.
        let feb = rules.warranty(date(2027, 2, 28));
        assert_eq!(feb.iter().find(|(i, ..)| *i == WarrantyItem::Plumbing).unwrap().2, date(2029, 2, 27));
    }

    #[test]
    fn deadlines_by_severity_default_to_a_day_a_week_and_a_fortnight() {
        let mut rules = HandoverRules::default();
        assert_eq!(rules.deadline(DefectSeverity::Urgent), Duration::hours(24));
        assert_eq!(rules.deadline(DefectSeverity::Normal), Duration::days(7));
        assert_eq!(rules.deadline(DefectSeverity::Minor), Duration::days(15));
        rules.deadline_hours.insert(DefectSeverity::Urgent, 4);
        assert_eq!(rules.deadline(DefectSeverity::Urgent), Duration::hours(4));
    }
}
