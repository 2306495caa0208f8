//! Customers' identifying data: phone numbers normalised at parse time, ID
//! documents checked (the 18-digit resident ID's ISO 7064 MOD 11-2 check
//! character and birth date), masking for display, and pinyin for search.

use serde::{Deserialize, Serialize};

use crate::names::named_enum;

/// A phone number in E.164 form (`+8613800138000`). Mainland numbers may be
/// typed with `+86`/`0086`, spaces, dashes, dots, brackets or full-width digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

/// A mainland mobile number without the country code: 1[3-9] and nine digits.
fn is_mobile(national: &str) -> bool {
    national.len() == 11 && national.starts_with('1') && matches!(national.as_bytes()[1], b'3'..=b'9')
}

impl PhoneNumber {
    pub fn parse(text: &str) -> Result<PhoneNumber, &'static str> {
        let mut cleaned = String::new();
        for c in text.trim().chars() {
            let c = match c {
                '０'..='９' => char::from_u32(u32::from(c) - 0xFF10 + u32::from('0')).unwrap_or(c),
                '＋' => '+',
                _ => c,
            };
            match c {
                '0'..='9' | '+' => cleaned.push(c),
                ' ' | '-' | '.' | '(' | ')' | '（' | '）' | '\u{3000}' => {}
                _ => return Err("invalid_phone"),
            }
        }
        if cleaned.len() > 20 || cleaned[1.min(cleaned.len())..].contains('+') {
            return Err("invalid_phone");
        }
        let national = if let Some(rest) = cleaned.strip_prefix("+86").or_else(|| cleaned.strip_prefix("0086")) {
            rest.to_owned()
        } else if cleaned.starts_with('+') {
            // Another country: keep as typed when it has a plausible length.
            let digits = cleaned.len() - 1;
            return if (8..=15).contains(&digits) { Ok(PhoneNumber(cleaned)) } else { Err("invalid_phone") };
        } else if cleaned.len() == 13 && cleaned.starts_with("861") {
            cleaned[2..].to_owned()
        } else {
            cleaned
        };
        let is_mobile = is_mobile(&national);
        // Landlines: a trunk 0, an area code of 2-3 digits and 7-8 digits.
        let is_landline = national.starts_with('0') && (10..=12).contains(&national.len());
        if is_mobile {
            Ok(PhoneNumber(format!("+86{national}")))
        } else if is_landline {
            Ok(PhoneNumber(format!("+86{}", &national[1..])))
        } else {
            Err("invalid_phone")
        }
    }

    /// Trusts a value that was normalised before it was stored.
    pub fn from_stored(e164: String) -> PhoneNumber {
        PhoneNumber(e164)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number as people in China write it: `13800138000` for mainland numbers.
    pub fn display(&self) -> String {
        match self.0.strip_prefix("+86") {
            // A landline is written with its trunk 0 again (`057188886666`),
            // so that what is shown reads back as the same number.
            Some(mobile) if is_mobile(mobile) => mobile.to_owned(),
            Some(national) => format!("0{national}"),
            None => self.0.clone(),
        }
    }

    /// `138****8000`: the first three and last four digits.
    pub fn masked(&self) -> String {
        let shown = self.display();
        let chars: Vec<char> = shown.chars().collect();
        if chars.len() <= 7 {
            return "*".repeat(chars.len());
        }
        let head: String = chars[..3].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
    }
}

named_enum! {
    /// Whether a customer is a person or a company (企业客户 carry a business licence number).
    pub enum CustomerKind("customer kind") {
        Individual = "individual",
        Enterprise = "enterprise",
    }
}

impl Default for CustomerKind {
    /// Most buyers are people; a form that names no kind registers one.
    fn default() -> Self {
        CustomerKind::Individual
    }
}

named_enum! {
    /// What a suspected duplicate has in common with the customer it collides with.
    pub enum MatchKind("duplicate match") {
        /// The same name and the same phone.
        Both = "both",
        Phone = "phone",
        Name = "name",
        /// The same identity document.
        IdNumber = "id_number",
    }
}

named_enum! {
    /// What happened to a customer, as the timeline shows it (`timeline.<name>`
    /// in the locale files, with the entry's facts filled in).
    pub enum CustomerEventKind("customer event kind") {
        Registered = "registered",
        Updated = "updated",
        FollowUp = "follow_up",
        /// Handed to another agent (撞单 ruled, or a manager's transfer).
        Transfer = "transfer",
        DuplicateRuling = "duplicate_ruling",
        Merge = "merge",
        Subscription = "subscription",
        Contract = "contract",
        Cancellation = "cancellation",
        Swap = "swap",
        /// Became or stopped being a buyer (权益人) of a deal.
        Rename = "rename",
        /// A letter, e-mail or SMS was sent (its text is kept with the batch).
        Notice = "notice",
        /// Refused marketing, or accepted it again.
        Consent = "consent",
        /// A customer-service case about the customer was registered or closed.
        Case = "case",
        /// Money of the customer's deal was received, or a receipt reversed.
        Receipt = "receipt",
        /// Answered a questionnaire (on the tablet or through a link).
        Questionnaire = "questionnaire",
    }
}

named_enum! {
    /// How an agent was in touch with a customer.
    pub enum FollowUpKind("follow-up kind") {
        /// 来访: the customer came to the sales office.
        Visit = "visit",
        /// 来电
        Call = "call",
        /// 跟进: the agent followed up.
        FollowUp = "follow_up",
    }
}

named_enum! {
    /// Who came to the sales office's door (案场接待).
    pub enum VisitKind("visit kind") {
        /// A registered customer came back (老客户到访): their own agent receives them.
        Returning = "returning",
        /// A first visit (新客户): registered and handed to the next agent on duty.
        New = "new",
    }
}

named_enum! {
    /// Where a suspected duplicate (疑似重复客户) stands.
    pub enum DuplicateStatus("duplicate status") {
        /// Waiting for a manager's ruling.
        Open = "open",
        /// Two different people after all.
        KeptBoth = "kept_both",
        /// One customer given to one agent (撞单 ruled).
        Assigned = "assigned",
        /// The two records became one.
        Merged = "merged",
    }
}

named_enum! {
    /// The kinds of identity document Loupan records.
    pub enum IdType("identity document type") {
        /// 居民身份证
        ResidentId = "resident_id",
        Passport = "passport",
        /// 港澳居民来往内地通行证
        HkMacauPermit = "hk_macau_permit",
        /// 台湾居民来往大陆通行证
        TaiwanPermit = "taiwan_permit",
        /// 统一社会信用代码 (enterprise customers)
        BusinessLicense = "business_license",
    }
}

/// Checks and normalises an ID number of `kind` (upper case, no spaces).
pub fn parse_id_number(kind: IdType, text: &str) -> Result<String, &'static str> {
    let number: String = text.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    let ok = match kind {
        IdType::ResidentId => resident_id_is_valid(&number),
        IdType::Passport => (5..=20).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_alphanumeric()),
        IdType::HkMacauPermit | IdType::TaiwanPermit => {
            (8..=12).contains(&number.len()) && number.bytes().all(|b| b.is_ascii_alphanumeric())
        }
        IdType::BusinessLicense => credit_code_is_valid(&number),
    };
    if ok { Ok(number) } else { Err("invalid_id_number") }
}

/// GB 11643-1999: 17 digits, a valid birth date, and the check character.
fn resident_id_is_valid(number: &str) -> bool {
    let bytes = number.as_bytes();
    if bytes.len() != 18 || !bytes[..17].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let birth = &number[6..14];
    if chrono::NaiveDate::parse_from_str(birth, "%Y%m%d").is_err() {
        return false;
    }
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let sum: u32 = bytes[..17].iter().zip(WEIGHTS).map(|(b, w)| u32::from(b - b'0') * w).sum();
    CHECK[(sum % 11) as usize] == bytes[17]
}

/// GB 32100-2015 unified social credit code (统一社会信用代码): 18 characters
/// from 31 (no I, O, Z, S, V) with a weighted check character.
fn credit_code_is_valid(code: &str) -> bool {
    const CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const WEIGHTS: [usize; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
    let value = |b: &u8| CHARS.iter().position(|c| c == b);
    let bytes = code.as_bytes();
    if bytes.len() != 18 {
        return false;
    }
    let Some(values) = bytes.iter().map(value).collect::<Option<Vec<usize>>>() else { return false };
    let sum: usize = values[..17].iter().zip(WEIGHTS).map(|(v, w)| v * w).sum();
    (31 - sum % 31) % 31 == values[17]
}

/// Categories a customer may be in at once (潜在/现实/忠诚客户, 业主, 租户, 会员).
pub const CATEGORIES: [&str; 6] = ["potential", "actual", "loyal", "buyer", "tenant", "member"];

/// What the customer buys for (自住, 改善, 投资, 学区, 养老, 办公).
pub const PURPOSES: [&str; 6] = ["own_use", "upgrade", "investment", "education", "retirement", "office"];

/// A comma- or space-separated list of known names, deduplicated in the known order.
pub fn parse_categories(text: &str) -> Result<Vec<&'static str>, &'static str> {
    let mut picked = Vec::new();
    for word in text.split([',', ' ', '，']).map(str::trim).filter(|w| !w.is_empty()) {
        let Some(known) = CATEGORIES.iter().find(|c| **c == word) else { return Err("unknown_category") };
        picked.push(*known);
    }
    Ok(CATEGORIES.into_iter().filter(|c| picked.contains(c)).collect())
}

/// Free tags: comma-separated (either comma), trimmed, deduplicated, each ≤ 20 characters, at most 20.
pub fn parse_tags(text: &str) -> Result<Vec<String>, &'static str> {
    let mut tags: Vec<String> = Vec::new();
    for tag in text.split([',', '，']).map(str::trim).filter(|t| !t.is_empty()) {
        if tag.chars().count() > 20 {
            return Err("tag_too_long");
        }
        if !tags.iter().any(|t| t == tag) {
            tags.push(tag.to_owned());
        }
    }
    if tags.len() > 20 { Err("too_many_tags") } else { Ok(tags) }
}

/// A plausible e-mail address: one `@`, something before it, a dot after it.
pub fn parse_email(text: &str) -> Result<String, &'static str> {
    let email = text.trim();
    match email.split_once('@') {
        Some((user, host))
            if !user.is_empty()
                && host.contains('.')
                && !host.starts_with('.')
                && !host.ends_with('.')
                && email.bytes().all(|b| b.is_ascii_graphic())
                && email.len() <= 120 =>
        {
            Ok(email.to_owned())
        }
        _ => Err("invalid_email"),
    }
}

/// `parse_email`'s rule as a pattern (after trimming): printable ASCII, a
/// name without `@`, and a host with a dot that neither starts nor ends it.
pub const EMAIL_PATTERN: &str = r"^[!-?A-~]+@[!-\-/-~][!-~]*\.[!-~]*[!-\-/-~]$";

/// An e-mail address as Loupan takes it ([`parse_email`]), for the OpenAPI document.
#[cfg(feature = "utoipa")]
pub struct Email;

#[cfg(feature = "utoipa")]
impl utoipa::PartialSchema for Email {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .max_length(Some(120))
            .pattern(Some(EMAIL_PATTERN))
            .into()
    }
}

#[cfg(feature = "utoipa")]
impl utoipa::ToSchema for Email {}

/// `110105********002X`: the region and the last four characters.
pub fn mask_id_number(number: &str) -> String {
    let chars: Vec<char> = number.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let keep_head = if chars.len() >= 15 { 6 } else { 2 };
    let head: String = chars[..keep_head].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - keep_head - 4))
}

/// Compound surnames (复姓), each syllable as read in the surname.
const COMPOUND_SURNAMES: &[(&str, [&str; 2])] = &[
    ("欧阳", ["ou", "yang"]),
    ("司马", ["si", "ma"]),
    ("诸葛", ["zhu", "ge"]),
    ("上官", ["shang", "guan"]),
    ("东方", ["dong", "fang"]),
    ("皇甫", ["huang", "fu"]),
    ("令狐", ["ling", "hu"]),
    ("慕容", ["mu", "rong"]),
    ("尉迟", ["yu", "chi"]),
    ("万俟", ["mo", "qi"]),
    ("长孙", ["zhang", "sun"]),
    ("夏侯", ["xia", "hou"]),
    ("宇文", ["yu", "wen"]),
    ("公孙", ["gong", "sun"]),
    ("澹台", ["tan", "tai"]),
    ("单于", ["chan", "yu"]),
    ("轩辕", ["xuan", "yuan"]),
    ("端木", ["duan", "mu"]),
    ("申屠", ["shen", "tu"]),
    ("司徒", ["si", "tu"]),
    ("司空", ["si", "kong"]),
    ("太史", ["tai", "shi"]),
    ("闻人", ["wen", "ren"]),
    ("呼延", ["hu", "yan"]),
    ("拓跋", ["tuo", "ba"]),
    ("百里", ["bai", "li"]),
    ("东郭", ["dong", "guo"]),
    ("南宫", ["nan", "gong"]),
    ("西门", ["xi", "men"]),
    ("独孤", ["du", "gu"]),
    ("赫连", ["he", "lian"]),
    ("钟离", ["zhong", "li"]),
    ("宗政", ["zong", "zheng"]),
    ("濮阳", ["pu", "yang"]),
    ("淳于", ["chun", "yu"]),
    ("公冶", ["gong", "ye"]),
    ("仲孙", ["zhong", "sun"]),
    ("羊舌", ["yang", "she"]),
    ("左丘", ["zuo", "qiu"]),
    ("第五", ["di", "wu"]),
];

/// Single surnames read otherwise than the character's everyday reading.
const SURNAME_READINGS: &[(char, &str)] = &[
    ('曾', "zeng"),
    ('单', "shan"),
    ('解', "xie"),
    ('仇', "qiu"),
    ('朴', "piao"),
    ('区', "ou"),
    ('查', "zha"),
    ('盖', "ge"),
    ('乐', "yue"),
    ('覃', "qin"),
    ('缪', "miao"),
    ('尉', "wei"),
    ('万', "wan"),
    ('种', "chong"),
    ('繁', "po"),
    ('员', "yun"),
    ('句', "gou"),
    ('阚', "kan"),
    ('秘', "bi"),
    ('黑', "he"),
    ('召', "shao"),
    ('宿', "su"),
    ('折', "she"),
    ('华', "hua"),
    ('任', "ren"),
    ('沈', "shen"),
    ('柏', "bai"),
    ('薄', "bo"),
    ('重', "chong"),
    ('翟', "zhai"),
    ('纪', "ji"),
    ('隗', "wei"),
    ('眭', "sui"),
    ('莘', "shen"),
    ('谌', "chen"),
    ('冼', "xian"),
    ('贲', "ben"),
    ('蔺', "lin"),
    ('褚', "chu"),
    ('臧', "zang"),
    ('朝', "chao"),
    ('强', "qiang"),
    ('长', "chang"),
    ('都', "du"),
    ('能', "nai"),
    ('过', "guo"),
    ('卜', "bu"),
    ('石', "shi"),
    ('殷', "yin"),
];

/// The syllables of the surname at the start of a name, read as a surname,
/// and how many characters it takes: a compound surname when the name is
/// longer than it (`欧阳` alone is a given name), else a single one.
fn surname_syllables(name: &str) -> Option<(usize, Vec<&'static str>)> {
    let compound = COMPOUND_SURNAMES
        .iter()
        .find(|(surname, _)| name.starts_with(surname) && name.chars().count() > 2)
        .map(|(_, syllables)| (2, syllables.to_vec()));
    compound.or_else(|| {
        let first = name.chars().next()?;
        SURNAME_READINGS.iter().find(|(c, _)| *c == first).map(|(_, reading)| (1, vec![*reading]))
    })
}

/// Full pinyin and initials of a name for search: `张三` -> (`zhangsan`, `zs`).
/// The surname is read as a surname (`曾` zeng, `单` shan, `欧阳` ouyang);
/// Latin letters and digits are kept as they are; other characters dropped.
pub fn name_pinyin(name: &str) -> (String, String) {
    use pinyin::ToPinyin;
    let name = name.trim();
    let mut full = String::new();
    let mut initials = String::new();
    let (skip, surname) = surname_syllables(name).unwrap_or((0, Vec::new()));
    for syllable in surname {
        full.push_str(syllable);
        initials.push_str(&syllable[..1]);
    }
    let rest: String = name.chars().skip(skip).collect();
    for (c, p) in rest.chars().zip(rest.as_str().to_pinyin()) {
        match p {
            Some(p) => {
                full.push_str(p.plain());
                initials.push_str(p.first_letter());
            }
            None if c.is_ascii_alphanumeric() => {
                let lower = c.to_ascii_lowercase();
                full.push(lower);
                initials.push(lower);
            }
            None => {}
        }
    }
    (full, initials)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_status_names_round_trip() {
        crate::names::assert_names_round_trip(&DuplicateStatus::ALL, |s| s.name());
        crate::names::assert_names_round_trip(&CustomerKind::ALL, |s| s.name());
    }

    #[test]
    fn credit_codes_need_their_check_character() {
        for good in ["91350100M000100Y43", "911100007109288314", "9144030071526726xg"] {
            assert!(parse_id_number(IdType::BusinessLicense, good).is_ok(), "{good}");
        }
        for bad in ["91350100M000100Y44", "91350100M000100Y4", "9135010OM000100Y43", "91350100I000100Y43"] {
            assert_eq!(parse_id_number(IdType::BusinessLicense, bad), Err("invalid_id_number"), "{bad}");
        }
    }

    #[test]
    fn categories_overlap_in_a_fixed_order_and_unknown_ones_are_refused() {
        assert_eq!(parse_categories("buyer, potential，buyer"), Ok(vec!["potential", "buyer"]));
        assert_eq!(parse_categories(""), Ok(vec![]));
        assert_eq!(parse_categories("vip"), Err("unknown_category"));
        assert_eq!(parse_tags("学区, 学区，全款").unwrap(), vec!["学区".to_owned(), "全款".to_owned()]);
        assert_eq!(parse_email(" a@b.cn "), Ok("a@b.cn".into()));
        assert_eq!(parse_email("a@b"), Err("invalid_email"));
        assert_eq!(parse_email("张@b.cn"), Err("invalid_email"), "addresses are ASCII");
        assert_eq!(parse_email("a@@b.cn"), Ok("a@@b.cn".into()), "as the pattern says");
    }

    #[test]
    fn phones_in_any_format_normalise_to_one_number() {
        for typed in [
            "13800138000",
            "+86 138-0013-8000",
            "138 0013 8000",
            "0086 13800138000",
            "８６１３８００１３８０００",
            "＋８６ １３８００１３８０００",
            "(+86) 138.0013.8000",
            "8613800138000",
        ] {
            assert_eq!(
                PhoneNumber::parse(typed).map(|p| p.as_str().to_owned()),
                Ok("+8613800138000".into()),
                "{typed}"
            );
        }
        assert_eq!(PhoneNumber::parse("0512-6888 8888").unwrap().as_str(), "+8651268888888");
        assert_eq!(PhoneNumber::parse("+852 9123 4567").unwrap().as_str(), "+85291234567");
        for bad in ["call me", "12345", "1380013800", "23800138000", "+86+13800138000", "", "138001380001234567890"] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn phones_are_masked_for_display() {
        let p = PhoneNumber::parse("13800138000").unwrap();
        assert_eq!(p.display(), "13800138000");
        assert_eq!(p.masked(), "138****8000");
    }

    #[test]
    fn what_is_shown_reads_back_as_the_same_number() {
        for typed in ["13800138000", "0512-6888 8888", "010 8888 6666", "+852 9123 4567"] {
            let p = PhoneNumber::parse(typed).unwrap();
            assert_eq!(PhoneNumber::parse(&p.display()), Ok(p.clone()), "{typed} shown as {}", p.display());
        }
        assert_eq!(PhoneNumber::parse("0512-6888 8888").unwrap().display(), "051268888888");
    }

    #[test]
    fn resident_ids_are_checked() {
        assert_eq!(parse_id_number(IdType::ResidentId, "11010519491231002x"), Ok("11010519491231002X".into()));
        assert!(parse_id_number(IdType::ResidentId, "110105194912310021").is_err(), "wrong check character");
        assert!(parse_id_number(IdType::ResidentId, "110105194902300023").is_err(), "30 February");
        assert!(parse_id_number(IdType::ResidentId, "1101051949123100").is_err(), "too short");
        assert_eq!(mask_id_number("11010519491231002X"), "110105********002X");
        assert_eq!(parse_id_number(IdType::Passport, "e 1234 5678"), Ok("E12345678".into()));
    }

    #[test]
    fn names_have_pinyin_for_search() {
        assert_eq!(name_pinyin("张三"), ("zhangsan".into(), "zs".into()));
        assert_eq!(name_pinyin("李四A"), ("lisia".into(), "lsa".into()));
        assert_eq!(name_pinyin("王 五"), ("wangwu".into(), "ww".into()));
    }

    #[test]
    fn surnames_are_read_as_surnames() {
        for (name, full, initials) in [
            ("曾志伟", "zengzhiwei", "zzw"),
            ("单田芳", "shantianfang", "stf"),
            ("解晓东", "xiexiaodong", "xxd"),
            ("仇英", "qiuying", "qy"),
            ("朴树", "piaoshu", "ps"),
            ("区志明", "ouzhiming", "ozm"),
            ("查良镛", "zhaliangyong", "zly"),
            ("盖丽丽", "gelili", "gll"),
            ("乐嘉", "yuejia", "yj"),
            ("覃海洋", "qinhaiyang", "qhy"),
            ("缪杰", "miaojie", "mj"),
            ("尉迟恭", "yuchigong", "ycg"),
            ("万俟卨", "moqixie", "mqx"),
            ("欧阳娜娜", "ouyangnana", "oynn"),
            ("司马光", "simaguang", "smg"),
            ("诸葛亮", "zhugeliang", "zgl"),
            ("上官婉儿", "shangguanwaner", "sgwe"),
            ("东方明", "dongfangming", "dfm"),
            ("皇甫嵩", "huangfusong", "hfs"),
            ("令狐冲", "linghuchong", "lhc"),
            ("慕容复", "murongfu", "mrf"),
        ] {
            assert_eq!(name_pinyin(name), (full.to_owned(), initials.to_owned()), "{name}");
        }
        // Two characters that could be a compound surname are a surname and a given name.
        assert_eq!(name_pinyin("欧阳").0, "ouyang");
        assert_eq!(name_pinyin("司马").1, "sm");
    }
}
