//! Notices and letters (S5, F7, M1): what a template is for, how it reaches
//! the customer, the fields it may merge, and where a batch and each of its
//! recipients stand.

use crate::names::named_enum;

named_enum! {
    /// What a template is for; it decides the merge fields and whether a
    /// marketing opt-out blocks it.
    pub enum NoticeKind("notice kind") {
        /// 开盘通知
        OpeningNotice = "opening_notice",
        /// 催款书
        PaymentReminder = "payment_reminder",
        /// 交房通知书 / 入伙通知书
        HandoverNotice = "handover_notice",
        /// 收据
        Receipt = "receipt",
        /// 办证通知
        TitleCertificateNotice = "title_certificate_notice",
        /// 面积补差通知
        AreaCompensationNotice = "area_compensation_notice",
        /// 节日与生日问候
        Greeting = "greeting",
        /// 自由文本
        Free = "free",
        /// 问卷邀请 (M1): a brand survey or care campaign, each customer's
        /// personal questionnaire link merged in.
        Questionnaire = "questionnaire",
        /// 满意度调查 (C5): one customer's satisfaction survey after a case,
        /// a signing or a handover, with their personal link; sent by the
        /// desk's surveys, never as a batch of one's own.
        Survey = "survey",
    }
}

/// What a letter of a kind is about: a customer alone, or one of their contracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Customer,
    Contract,
}

impl NoticeKind {
    /// Marketing goes only to customers who have not opted out (PIPL);
    /// transactional notices are owed to the buyer whatever they chose.
    pub const fn is_marketing(self) -> bool {
        matches!(self, NoticeKind::OpeningNotice | NoticeKind::Greeting | NoticeKind::Questionnaire)
    }

    pub const fn subject(self) -> Subject {
        match self {
            NoticeKind::OpeningNotice
            | NoticeKind::Greeting
            | NoticeKind::Free
            | NoticeKind::Questionnaire
            | NoticeKind::Survey => Subject::Customer,
            NoticeKind::PaymentReminder
            | NoticeKind::HandoverNotice
            | NoticeKind::Receipt
            | NoticeKind::TitleCertificateNotice
            | NoticeKind::AreaCompensationNotice => Subject::Contract,
        }
    }

    /// What the sender states once for a whole batch of this kind, asked
    /// when the batch is made: a handover notice's dates and place.
    pub const fn batch_fields(self) -> &'static [&'static str] {
        match self {
            NoticeKind::HandoverNotice => &HANDOVER_FIELDS,
            NoticeKind::Questionnaire => &QUESTIONNAIRE_BATCH_FIELDS,
            _ => &[],
        }
    }

    /// The merge fields a template of this kind may name.
    pub fn fields(self) -> Vec<&'static str> {
        let mut fields: Vec<&'static str> = CUSTOMER_FIELDS.to_vec();
        fields.extend(self.batch_fields());
        if self.subject() == Subject::Contract {
            fields.extend(CONTRACT_FIELDS);
        }
        if self == NoticeKind::PaymentReminder {
            fields.extend(ARREARS_FIELDS);
        }
        if self == NoticeKind::HandoverNotice {
            fields.extend(HANDOVER_LINK_FIELDS);
        }
        if self == NoticeKind::AreaCompensationNotice {
            fields.extend(COMPENSATION_FIELDS);
        }
        if self == NoticeKind::Questionnaire {
            fields.extend(QUESTIONNAIRE_FIELDS);
        }
        if self == NoticeKind::Survey {
            fields.extend(SURVEY_FIELDS);
        }
        fields
    }
}

/// Fields every letter has: who it is to, who sends it (the company's
/// letterhead, the project, the agent), and when.
pub const CUSTOMER_FIELDS: [&str; 8] = [
    "customer.name",
    "customer.phone",
    "project.name",
    "agent.name",
    "company.name",
    "company.address",
    "company.phone",
    "today",
];

/// Fields of a letter about a contract; `plan.instalments` is a list (see [`LIST_FIELDS`]).
pub const CONTRACT_FIELDS: [&str; 10] = [
    "building.name",
    "unit.number",
    "unit.gross_area",
    "contract.number",
    "contract.signed_on",
    "contract.total_price",
    "contract.unpaid",
    "contract.buyers",
    "plan.name",
    "plan.instalments",
];

/// The merge fields that are lists, and the fields of each of their rows:
/// a template loops over them (`{% for i in plan.instalments %}`), usually
/// as the rows of a table.
pub const LIST_FIELDS: [(&str, &[&str]); 1] =
    [("plan.instalments", &["seq", "name", "due_on", "amount", "paid", "unpaid"])];

/// The fields of each row of the list field `field`, if it is one.
pub fn row_fields(field: &str) -> Option<&'static [&'static str]> {
    LIST_FIELDS.iter().find(|(name, _)| *name == field).map(|(_, rows)| *rows)
}

/// Fields of a handover notice, the same for its whole batch: from which
/// day to which the buyers come to take their homes, and where.
pub const HANDOVER_FIELDS: [&str; 3] = ["handover.starts_on", "handover.ends_on", "handover.place"];

/// Fields of each handover notice: the buyer's own link to book their
/// appointment (empty until the building is declared ready).
pub const HANDOVER_LINK_FIELDS: [&str; 1] = ["handover.link"];

/// Fields of an area-compensation notice: the contract's applied
/// compensation — both areas before and after the survey, the error, the
/// amount (without its sign), whether the buyer pays (`补缴`) or is refunded
/// (`退还`), the day it is due and whether the buyer may rescind.
pub const COMPENSATION_FIELDS: [&str; 9] = [
    "compensation.contract_gross_area",
    "compensation.measured_gross_area",
    "compensation.contract_inner_area",
    "compensation.measured_inner_area",
    "compensation.error_percent",
    "compensation.amount",
    "compensation.direction",
    "compensation.due_on",
    "compensation.rescission",
];

/// What a questionnaire invitation's batch states: which questionnaire.
pub const QUESTIONNAIRE_BATCH_FIELDS: [&str; 1] = ["questionnaire.id"];

/// Fields of a questionnaire invitation: its title and the customer's own
/// link (made for each recipient when the batch is confirmed).
pub const QUESTIONNAIRE_FIELDS: [&str; 2] = ["questionnaire.title", "questionnaire.link"];

/// Fields of a satisfaction survey: the customer's own link, the last day it
/// may be answered, and what it asks about (a case, a signing, a handover).
pub const SURVEY_FIELDS: [&str; 3] = ["survey.link", "survey.expires_on", "survey.about"];

/// Fields of a payment reminder: what is overdue as of the batch's date.
pub const ARREARS_FIELDS: [&str; 4] =
    ["arrears.as_of", "arrears.overdue", "arrears.overdue_since", "arrears.days_overdue"];

named_enum! {
    /// How a notice reaches the customer.
    pub enum NoticeChannel("notice channel") {
        /// A printed letter (PDF).
        Letter = "letter",
        Email = "email",
        Sms = "sms",
    }
}

named_enum! {
    /// How Loupan talks to the SMTP server.
    pub enum SmtpSecurity("smtp security") {
        /// Plain connection upgraded with STARTTLS, required (port 587 or 25).
        StartTls = "starttls",
        /// TLS from the first byte (port 465).
        Tls = "tls",
        /// Unencrypted: only for a relay inside the company network.
        None = "none",
    }
}

named_enum! {
    /// What a scheduled greeting celebrates.
    pub enum Occasion("occasion") {
        /// The customer's birthday (the solar date they gave).
        Birthday = "birthday",
        /// 春节: the first day of the first lunar month.
        SpringFestival = "spring_festival",
        /// 端午节: the fifth day of the fifth lunar month.
        DragonBoat = "dragon_boat",
        /// 中秋节: the fifteenth day of the eighth lunar month.
        MidAutumn = "mid_autumn",
        /// 国庆节: 1 October.
        NationalDay = "national_day",
    }
}

impl Occasion {
    /// Whether `date` is this holiday; a birthday is each customer's own ([`is_birthday`]).
    pub fn falls_on(self, date: chrono::NaiveDate) -> bool {
        use chrono::Datelike;
        let lunar = |month: u8, day: u8| {
            chinese_lunisolar_calendar::LunisolarDate::from_date(date).is_ok_and(|l| {
                let m = l.to_lunar_month();
                !m.is_leap_month() && m.to_u8() == month && l.to_lunar_day().to_u8() == day
            })
        };
        match self {
            Occasion::Birthday => false,
            Occasion::SpringFestival => lunar(1, 1),
            Occasion::DragonBoat => lunar(5, 5),
            Occasion::MidAutumn => lunar(8, 15),
            Occasion::NationalDay => date.month() == 10 && date.day() == 1,
        }
    }

    /// The holiday's next date on or after `from` (within the calendar's range to 2100).
    pub fn next_on_or_after(self, from: chrono::NaiveDate) -> Option<chrono::NaiveDate> {
        from.iter_days().take(400).find(|d| self.falls_on(*d))
    }
}

/// Whether `date` is the birthday of someone born on `born` (29 February: the
/// 28th in a common year).
pub fn is_birthday(born: chrono::NaiveDate, date: chrono::NaiveDate) -> bool {
    use chrono::Datelike;
    if (born.month(), born.day()) == (2, 29) && !date.leap_year() {
        return (date.month(), date.day()) == (2, 28);
    }
    (born.month(), born.day()) == (date.month(), date.day())
}

/// Whether `date` is the lunar birthday (农历生日) of someone born on `born`:
/// the day of the same lunar month and day. Born in a leap month, it is kept
/// in the month of that name; born on the 30th, in a year whose month has
/// only 29 days, on the 29th. Outside the calendar's range (1901-2100), never.
pub fn is_lunar_birthday(born: chrono::NaiveDate, date: chrono::NaiveDate) -> bool {
    use chinese_lunisolar_calendar::LunisolarDate;
    let (Ok(b), Ok(d)) = (LunisolarDate::from_date(born), LunisolarDate::from_date(date)) else { return false };
    let month = d.to_lunar_month();
    if month.is_leap_month() || month.to_u8() != b.to_lunar_month().to_u8() {
        return false;
    }
    let (born_day, day) = (b.to_lunar_day().to_u8(), d.to_lunar_day().to_u8());
    if born_day == day {
        return true;
    }
    // The month ends on the 29th this year: the next day is the 1st of another month.
    born_day == 30
        && day == 29
        && date.succ_opt().and_then(|n| LunisolarDate::from_date(n).ok()).is_some_and(|n| n.to_lunar_day().to_u8() == 1)
}

named_enum! {
    /// Which gateway text messages go through.
    pub enum SmsProvider("sms provider") {
        /// Any gateway that takes an HTTP request: URL, method, body template
        /// and what a success looks like are configured.
        Http = "http",
        /// Alibaba Cloud SMS (`SendSms`, RPC signature v1 with HMAC-SHA1).
        Aliyun = "aliyun",
    }
}

/// What marketing text messages end with, so that the receiver can opt out (PIPL).
pub const UNSUBSCRIBE: &str = "回T退订";

/// How long a text message is and how many messages the operator bills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmsLength {
    /// Characters as the operator counts them (UTF-16 units for Chinese text).
    pub chars: usize,
    pub segments: usize,
    /// Chinese (or any character outside GSM 7-bit) makes the whole message UCS-2.
    pub unicode: bool,
}

/// The operators' rule: GSM 7-bit text is 160 characters in one message and
/// 153 per part when longer; any other character makes it UCS-2, 70 in one
/// and 67 per part.
pub fn sms_length(text: &str) -> SmsLength {
    const GSM: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
    const GSM_EXTENDED: &str = "^{}\\[~]|€";
    let unicode = text.chars().any(|c| !GSM.contains(c) && !GSM_EXTENDED.contains(c));
    let (chars, single, part) = if unicode {
        (text.encode_utf16().count(), 70, 67)
    } else {
        (text.chars().map(|c| if GSM_EXTENDED.contains(c) { 2 } else { 1 }).sum(), 160, 153)
    };
    let segments = match chars {
        0 => 0,
        n if n <= single => 1,
        n => n.div_ceil(part),
    };
    SmsLength { chars, segments, unicode }
}

named_enum! {
    /// Where a batch stands.
    pub enum BatchStatus("batch status") {
        /// Waiting for the job queue.
        Queued = "queued",
        Running = "running",
        /// Every recipient was handled; the output is ready.
        Done = "done",
    }
}

named_enum! {
    /// What became of one recipient of a batch.
    pub enum RecipientStatus("recipient status") {
        Pending = "pending",
        Sent = "sent",
        /// Not sent, for the reason recorded (opted out, no address).
        Skipped = "skipped",
        Failed = "failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lunar_birthday_falls_on_the_same_lunar_day_each_year() {
        use chrono::Datelike;
        let d = |y, m, day| chrono::NaiveDate::from_ymd_opt(y, m, day).unwrap();
        // Born on Spring Festival 2026 (正月初一, 2026-02-17): greeted on Spring Festival 2027, 2027-02-06.
        assert!(is_lunar_birthday(d(2026, 2, 17), d(2027, 2, 6)));
        assert!(!is_lunar_birthday(d(2026, 2, 17), d(2027, 2, 17)), "not on the solar date");
        // Born on Mid-Autumn 2026 (八月十五, 2026-09-25): greeted on every Mid-Autumn after.
        let mid_autumn_2027 = Occasion::MidAutumn.next_on_or_after(d(2027, 1, 1)).unwrap();
        assert!(is_lunar_birthday(d(2026, 9, 25), mid_autumn_2027));
        // These births come round once in 2027.
        for born in [d(1988, 6, 2), d(1990, 1, 26), d(2026, 2, 17)] {
            let days =
                d(2027, 1, 1).iter_days().take_while(|x| x.year() == 2027).filter(|x| is_lunar_birthday(born, *x));
            assert_eq!(days.count(), 1, "{born}");
        }
        assert!(!is_lunar_birthday(d(1890, 1, 1), d(2027, 1, 1)), "before the calendar");
    }

    #[test]
    fn names_round_trip() {
        crate::names::assert_names_round_trip(&NoticeKind::ALL, |s| s.name());
        crate::names::assert_names_round_trip(&NoticeChannel::ALL, |s| s.name());
        crate::names::assert_names_round_trip(&BatchStatus::ALL, |s| s.name());
        crate::names::assert_names_round_trip(&RecipientStatus::ALL, |s| s.name());
        crate::names::assert_names_round_trip(&SmtpSecurity::ALL, |s| s.name());
        crate::names::assert_names_round_trip(&SmsProvider::ALL, |s| s.name());
        crate::names::assert_names_round_trip(&Occasion::ALL, |s| s.name());
    }

    #[test]
    fn holidays_fall_on_their_published_dates() {
        let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        // As the State Council published them.
        assert!(Occasion::SpringFestival.falls_on(day("2026-02-17")));
        assert!(Occasion::SpringFestival.falls_on(day("2027-02-06")));
        assert!(Occasion::MidAutumn.falls_on(day("2026-09-25")));
        assert!(Occasion::NationalDay.falls_on(day("2026-10-01")));
        assert!(
            !Occasion::SpringFestival.falls_on(day("2026-02-16")) && !Occasion::MidAutumn.falls_on(day("2026-09-24"))
        );
        assert_eq!(Occasion::SpringFestival.next_on_or_after(day("2026-03-01")), Some(day("2027-02-06")));
        // Exactly one Dragon Boat Festival a year, in late May or June.
        let dragon = Occasion::DragonBoat.next_on_or_after(day("2026-01-01")).unwrap();
        assert!(dragon > day("2026-05-20") && dragon < day("2026-07-01"), "{dragon}");
        assert!(!Occasion::Birthday.falls_on(day("2026-02-17")));
    }

    #[test]
    fn a_birthday_on_29_february_is_kept_on_the_28th_in_common_years() {
        let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(is_birthday(day("1988-06-01"), day("2026-06-01")));
        assert!(!is_birthday(day("1988-06-01"), day("2026-06-02")));
        assert!(is_birthday(day("1996-02-29"), day("2026-02-28")));
        assert!(
            is_birthday(day("1996-02-29"), day("2028-02-29")) && !is_birthday(day("1996-02-29"), day("2028-02-28"))
        );
    }

    #[test]
    fn text_messages_count_as_the_operators_bill_them() {
        let one = |chars, unicode| SmsLength { chars, segments: 1, unicode };
        assert_eq!(sms_length(""), SmsLength { chars: 0, segments: 0, unicode: false });
        assert_eq!(sms_length(&"a".repeat(160)), one(160, false));
        assert_eq!(sms_length(&"a".repeat(161)), SmsLength { chars: 161, segments: 2, unicode: false });
        // An extended character takes two places.
        assert_eq!(sms_length(&format!("{}€", "a".repeat(158))), one(160, false));
        assert_eq!(sms_length(&"房".repeat(70)), one(70, true));
        assert_eq!(sms_length(&"房".repeat(71)), SmsLength { chars: 71, segments: 2, unicode: true });
        assert_eq!(sms_length(&"房".repeat(134)).segments, 2);
        assert_eq!(sms_length(&"房".repeat(135)).segments, 3);
        // One Chinese character makes the whole message UCS-2.
        assert_eq!(sms_length(&format!("{}房", "a".repeat(69))), one(70, true));
        assert_eq!(sms_length(UNSUBSCRIBE), one(4, true));
    }

    #[test]
    fn only_payment_reminders_merge_arrears_and_only_contract_letters_name_a_unit() {
        assert!(NoticeKind::PaymentReminder.fields().contains(&"arrears.overdue"));
        assert!(!NoticeKind::HandoverNotice.fields().contains(&"arrears.overdue"));
        assert!(NoticeKind::HandoverNotice.fields().contains(&"unit.number"));
        assert!(!NoticeKind::Greeting.fields().contains(&"unit.number"));
        assert!(NoticeKind::Greeting.is_marketing() && !NoticeKind::PaymentReminder.is_marketing());
    }
}
