//! Questionnaires (问卷, S8/M1): the questions a sales office or the
//! customer-service desk asks, the rules an answer must follow, and what the
//! answers of many customers say (distributions, mean and median, words).
//!
//! A question is shown when it has no condition, or when the earlier
//! question it names is shown and was answered with one of the listed
//! values (`show_if`). Answers to questions that are not shown are dropped:
//! a form filled without scripts may send them, and they mean nothing.
//!
//! Every answer is kept as text values: the chosen options' keys (several for
//! a multiple choice), a scale's number, a number in its canonical decimal
//! form, a date as `YYYY-MM-DD`, or the text. Option keys stay the same
//! across versions of a questionnaire, so answers to an earlier version are
//! analysed with the later one's labels.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::Invalid;
use crate::names::named_enum;

named_enum! {
    /// When in the customer's journey a questionnaire is asked.
    pub enum Stage("questionnaire stage") {
        /// 首次到访.
        FirstVisit = "first_visit",
        /// 认购.
        Subscription = "subscription",
        /// 签约.
        Contract = "contract",
        /// 交房.
        Handover = "handover",
        /// 品牌调查 / 关怀活动 (M1): to an audience, not after an event.
        Brand = "brand",
    }
}

named_enum! {
    /// How a response was given.
    pub enum ResponseChannel("response channel") {
        /// Filled in with the customer on the sales office's tablet.
        Tablet = "tablet",
        /// By the customer through a personal link.
        Link = "link",
    }
}

named_enum! {
    pub enum QuestionKind("question kind") {
        /// One option.
        Single = "single",
        /// Any number of options.
        Multiple = "multiple",
        /// 1 to 5.
        Scale5 = "scale5",
        /// 0 to 10 (the recommendation question).
        Scale10 = "scale10",
        /// A decimal number, at most two decimals.
        Number = "number",
        Date = "date",
        Text = "text",
    }
}

/// One option of a choice question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Choice {
    /// Stable within the questionnaire: `[a-z0-9_]`, at most 32.
    #[cfg_attr(feature = "utoipa", schema(pattern = "^[a-z0-9_]{1,32}$"))]
    pub key: String,
    #[cfg_attr(feature = "utoipa", schema(max_length = 200, pattern = "\\S"))]
    pub label: String,
}

/// Show a question only when an earlier one was answered with one of `any_of`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ShowIf {
    /// The earlier question's key (a choice or a scale).
    #[cfg_attr(feature = "utoipa", schema(pattern = "^[a-z0-9_]{1,32}$"))]
    pub question: String,
    /// Option keys, or scale numbers as text.
    #[cfg_attr(feature = "utoipa", schema(min_items = 1))]
    pub any_of: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Question {
    /// Stable within the questionnaire: `[a-z0-9_]`, at most 32.
    #[cfg_attr(feature = "utoipa", schema(pattern = "^[a-z0-9_]{1,32}$"))]
    pub key: String,
    #[cfg_attr(feature = "utoipa", schema(max_length = 500, pattern = "\\S"))]
    pub text: String,
    pub kind: QuestionKind,
    #[serde(default)]
    pub required: bool,
    /// The options of a single or multiple choice (2 to 50).
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(max_items = 50))]
    pub options: Vec<Choice>,
    #[serde(default)]
    pub show_if: Option<ShowIf>,
}

/// At most this many questions in one questionnaire.
pub const MAX_QUESTIONS: usize = 100;
const MAX_OPTIONS: usize = 50;
const MAX_TEXT_ANSWER: usize = 1000;
/// Numbers are kept to two decimals and below a trillion.
const MAX_NUMBER_HUNDREDTHS: i128 = 100_000_000_000_000;

fn is_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= 32 && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Question {
    fn is_choice(&self) -> bool {
        matches!(self.kind, QuestionKind::Single | QuestionKind::Multiple)
    }

    /// The values a condition on this question may name: option keys or the scale's numbers.
    fn condition_values(&self) -> Option<Vec<String>> {
        match self.kind {
            QuestionKind::Single | QuestionKind::Multiple => Some(self.options.iter().map(|o| o.key.clone()).collect()),
            QuestionKind::Scale5 => Some((1..=5).map(|n| n.to_string()).collect()),
            QuestionKind::Scale10 => Some((0..=10).map(|n| n.to_string()).collect()),
            _ => None,
        }
    }

    /// The answer values a distribution counts, in order, with labels; None for
    /// numbers, dates and texts.
    pub fn categories(&self) -> Option<Vec<(String, String)>> {
        match self.kind {
            QuestionKind::Single | QuestionKind::Multiple => {
                Some(self.options.iter().map(|o| (o.key.clone(), o.label.clone())).collect())
            }
            QuestionKind::Scale5 | QuestionKind::Scale10 => {
                self.condition_values().map(|v| v.into_iter().map(|n| (n.clone(), n)).collect())
            }
            _ => None,
        }
    }
}

/// Checks a questionnaire's questions; errors name `questions[i].<part>`.
pub fn check_questions(questions: &[Question]) -> Result<(), Invalid> {
    let mut errors = Invalid::default();
    if questions.is_empty() {
        errors.push("questions", "required");
    }
    if questions.len() > MAX_QUESTIONS {
        errors.push("questions", "too_many");
    }
    let mut earlier: HashMap<&str, &Question> = HashMap::new();
    for (i, q) in questions.iter().enumerate() {
        let field = |part: &str| format!("questions[{i}].{part}");
        if !is_key(&q.key) {
            errors.push(field("key"), "invalid_key");
        } else if earlier.contains_key(q.key.as_str()) {
            errors.push(field("key"), "duplicate");
        }
        let text = q.text.trim();
        if text.is_empty() {
            errors.push(field("text"), "required");
        } else if text.chars().count() > 500 {
            errors.push(field("text"), "too_long");
        }
        if q.is_choice() {
            if q.options.len() < 2 {
                errors.push(field("options"), "too_few_options");
            } else if q.options.len() > MAX_OPTIONS {
                errors.push(field("options"), "too_many");
            }
            let mut keys = BTreeSet::new();
            for (j, o) in q.options.iter().enumerate() {
                if !is_key(&o.key) {
                    errors.push(format!("questions[{i}].options[{j}].key"), "invalid_key");
                } else if !keys.insert(o.key.as_str()) {
                    errors.push(format!("questions[{i}].options[{j}].key"), "duplicate");
                }
                let label = o.label.trim();
                if label.is_empty() {
                    errors.push(format!("questions[{i}].options[{j}].label"), "required");
                } else if label.chars().count() > 200 {
                    errors.push(format!("questions[{i}].options[{j}].label"), "too_long");
                }
            }
        } else if !q.options.is_empty() {
            errors.push(field("options"), "options_not_allowed");
        }
        if let Some(cond) = &q.show_if {
            match earlier.get(cond.question.as_str()).and_then(|e| e.condition_values()) {
                None if !earlier.contains_key(cond.question.as_str()) => {
                    errors.push(field("show_if.question"), "not_an_earlier_question")
                }
                None => errors.push(field("show_if.question"), "not_a_choice"),
                Some(values) => {
                    if cond.any_of.is_empty() {
                        errors.push(field("show_if.any_of"), "required");
                    }
                    if cond.any_of.iter().any(|v| !values.contains(v)) {
                        errors.push(field("show_if.any_of"), "unknown_condition_value");
                    }
                }
            }
        }
        earlier.insert(q.key.as_str(), q);
    }
    errors.into_result()
}

/// The questions shown for these answers, in order (keys).
pub fn shown<'q>(questions: &'q [Question], answers: &BTreeMap<String, Vec<String>>) -> Vec<&'q Question> {
    let mut shown: Vec<&Question> = Vec::new();
    for q in questions {
        let visible = match &q.show_if {
            None => true,
            Some(cond) => {
                shown.iter().any(|s| s.key == cond.question)
                    && answers.get(&cond.question).is_some_and(|vs| vs.iter().any(|v| cond.any_of.contains(v)))
            }
        };
        if visible {
            shown.push(q);
        }
    }
    shown
}

/// A number's canonical text (`"120.5"`, `"-3"`), at most two decimals.
pub fn canonical_number(raw: &str) -> Option<String> {
    let s = raw.trim().replace([',', '，'], "");
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(&s)),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    if whole.is_empty() && fraction.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !fraction.bytes().all(|b| b.is_ascii_digit())
        || fraction.len() > 2
        || whole.len() > 15
    {
        return None;
    }
    let whole_value: i128 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let frac_value: i128 = format!("{fraction:0<2}").parse().ok()?;
    let hundredths = whole_value * 100 + frac_value;
    if hundredths >= MAX_NUMBER_HUNDREDTHS {
        return None;
    }
    let sign = if negative && hundredths != 0 { "-" } else { "" };
    let (w, f) = (hundredths / 100, hundredths % 100);
    Some(match f {
        0 => format!("{sign}{w}"),
        f if f % 10 == 0 => format!("{sign}{w}.{}", f / 10),
        f => format!("{sign}{w}.{f:02}"),
    })
}

/// Checks one response: the values given per question key (a choice's keys,
/// a scale's number, a number, a date, a text) become the kept answers, for
/// the questions shown only; errors name `answers.<key>`.
pub fn check_answers(
    questions: &[Question],
    given: &BTreeMap<String, Vec<String>>,
) -> Result<BTreeMap<String, Vec<String>>, Invalid> {
    let mut errors = Invalid::default();
    for key in given.keys() {
        if !questions.iter().any(|q| &q.key == key) {
            errors.push(format!("answers.{key}"), "unknown_question");
        }
    }
    // Conditions read the answers as given (trimmed) so that a shown question
    // follows what the form shows.
    let trimmed: BTreeMap<String, Vec<String>> = given
        .iter()
        .map(|(k, vs)| (k.clone(), vs.iter().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()).collect()))
        .collect();
    let mut kept = BTreeMap::new();
    for q in shown(questions, &trimmed) {
        let field = format!("answers.{}", q.key);
        let values = trimmed.get(&q.key).cloned().unwrap_or_default();
        if values.is_empty() {
            if q.required {
                errors.push(field, "answer_required");
            }
            continue;
        }
        let one = |errors: &mut Invalid| {
            if values.len() > 1 {
                errors.push(field.clone(), "one_value");
                None
            } else {
                Some(values[0].clone())
            }
        };
        let value: Option<Vec<String>> = match q.kind {
            QuestionKind::Single => one(&mut errors).and_then(|v| {
                if q.options.iter().any(|o| o.key == v) {
                    Some(vec![v])
                } else {
                    errors.push(field.clone(), "unknown_option");
                    None
                }
            }),
            QuestionKind::Multiple => {
                let chosen: BTreeSet<&String> = values.iter().collect();
                if chosen.iter().any(|v| !q.options.iter().any(|o| &o.key == *v)) {
                    errors.push(field.clone(), "unknown_option");
                    None
                } else {
                    // In the questionnaire's order, each once.
                    Some(q.options.iter().filter(|o| chosen.contains(&o.key)).map(|o| o.key.clone()).collect())
                }
            }
            QuestionKind::Scale5 | QuestionKind::Scale10 => one(&mut errors).and_then(|v| {
                let range = if q.kind == QuestionKind::Scale5 { 1..=5 } else { 0..=10 };
                match v.parse::<i32>() {
                    Ok(n) if range.contains(&n) => Some(vec![n.to_string()]),
                    _ => {
                        errors.push(field.clone(), "answer_not_on_the_scale");
                        None
                    }
                }
            }),
            QuestionKind::Number => one(&mut errors).and_then(|v| match canonical_number(&v) {
                Some(n) => Some(vec![n]),
                None => {
                    errors.push(field.clone(), "answer_not_a_number");
                    None
                }
            }),
            QuestionKind::Date => one(&mut errors).and_then(|v| match NaiveDate::parse_from_str(&v, "%Y-%m-%d") {
                Ok(d) => Some(vec![d.format("%Y-%m-%d").to_string()]),
                Err(_) => {
                    errors.push(field.clone(), "answer_not_a_date");
                    None
                }
            }),
            QuestionKind::Text => {
                let text = values.join("\n");
                if text.chars().count() > MAX_TEXT_ANSWER {
                    errors.push(field.clone(), "answer_too_long");
                    None
                } else {
                    Some(vec![text])
                }
            }
        };
        if let Some(v) = value {
            kept.insert(q.key.clone(), v);
        }
    }
    errors.into_result()?;
    Ok(kept)
}

/// How often one value was given.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ValueCount {
    pub value: String,
    pub label: String,
    pub count: u64,
    /// Percent of those who answered the question, one decimal (a multiple
    /// choice's add up to more than 100).
    pub percent: f64,
}

/// What the answers to one question say.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct QuestionSummary {
    pub key: String,
    pub text: String,
    pub kind: QuestionKind,
    /// Responses that answered it.
    pub answered: u64,
    /// Choices and scales: every option with its count; dates: by month.
    pub values: Vec<ValueCount>,
    /// Scales and numbers.
    pub mean: Option<f64>,
    pub median: Option<f64>,
    pub min: Option<String>,
    pub max: Option<String>,
    /// Texts: the most frequent words (at most 30).
    pub words: Vec<ValueCount>,
}

/// Percent with one decimal, rounded half up, from integers.
pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    ((2000 * part + whole) / (2 * whole)) as f64 / 10.0
}

/// Mean and median of numbers given with how often each was given.
fn mean_and_median(counted: &[(f64, u64)]) -> (Option<f64>, Option<f64>) {
    let n: u64 = counted.iter().map(|(_, c)| c).sum();
    if n == 0 {
        return (None, None);
    }
    let mut sorted = counted.to_vec();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mean = sorted.iter().map(|(x, c)| x * *c as f64).sum::<f64>() / n as f64;
    // The k-th value in order (0-based).
    let nth = |k: u64| {
        let mut seen = 0;
        for (x, c) in &sorted {
            seen += c;
            if k < seen {
                return *x;
            }
        }
        sorted[sorted.len() - 1].0
    };
    let median = if n % 2 == 1 { nth(n / 2) } else { (nth(n / 2 - 1) + nth(n / 2)) / 2.0 };
    let round = |x: f64| (x * 100.0).round() / 100.0;
    (Some(round(mean)), Some(round(median)))
}

/// Words of a text answer: split at spaces and punctuation (Chinese too),
/// lower case; a run of Chinese without punctuation stays one word.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| {
        c.is_whitespace() || c.is_ascii_punctuation() || "，。、！？；：“”‘’（）《》【】…—·".contains(c)
    })
    .filter(|w| !w.is_empty())
    .map(str::to_lowercase)
}

/// Summarises a question's answers: `answered` responses gave them, and
/// `counts` says how often each value was given.
pub fn summarise(question: &Question, answered: u64, counts: &[(String, u64)]) -> QuestionSummary {
    let mut summary = QuestionSummary {
        key: question.key.clone(),
        text: question.text.clone(),
        kind: question.kind,
        answered,
        values: Vec::new(),
        mean: None,
        median: None,
        min: None,
        max: None,
        words: Vec::new(),
    };
    let count_of = |value: String, label: String, count: u64| ValueCount {
        value,
        label,
        count,
        percent: percent(count, answered),
    };
    let given: BTreeMap<&str, u64> = counts.iter().map(|(v, n)| (v.as_str(), *n)).collect();
    if let Some(categories) = question.categories() {
        summary.values = categories
            .into_iter()
            .map(|(value, label)| {
                let n = given.get(value.as_str()).copied().unwrap_or(0);
                count_of(value, label, n)
            })
            .collect();
        // Options removed in a later version still count, under their key.
        for (value, n) in &given {
            if !summary.values.iter().any(|v| v.value == *value) {
                summary.values.push(count_of((*value).to_owned(), (*value).to_owned(), *n));
            }
        }
    }
    match question.kind {
        QuestionKind::Scale5 | QuestionKind::Scale10 | QuestionKind::Number => {
            let numbers: Vec<(f64, u64)> =
                given.iter().filter_map(|(v, n)| v.parse::<f64>().ok().map(|x| (x, *n))).collect();
            let (mean, median) = mean_and_median(&numbers);
            summary.mean = mean;
            summary.median = median;
            let shown = |x: f64| canonical_number(&format!("{x:.2}")).unwrap_or_default();
            summary.min = numbers.iter().map(|(x, _)| *x).min_by(f64::total_cmp).map(shown);
            summary.max = numbers.iter().map(|(x, _)| *x).max_by(f64::total_cmp).map(shown);
        }
        QuestionKind::Date => {
            summary.min = given.keys().next().map(|d| (*d).to_owned());
            summary.max = given.keys().next_back().map(|d| (*d).to_owned());
            let mut months: BTreeMap<String, u64> = BTreeMap::new();
            for (d, n) in &given {
                *months.entry(d.chars().take(7).collect()).or_default() += n;
            }
            summary.values = months.into_iter().map(|(m, n)| count_of(m.clone(), m, n)).collect();
        }
        QuestionKind::Text => {
            let mut words_counted: HashMap<String, u64> = HashMap::new();
            for (text, n) in &given {
                // A word counts once per answer.
                let once: BTreeSet<String> = words(text).collect();
                for w in once {
                    *words_counted.entry(w).or_default() += n;
                }
            }
            let mut list: Vec<(String, u64)> = words_counted.into_iter().collect();
            list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            summary.words = list.into_iter().take(30).map(|(w, n)| count_of(w.clone(), w, n)).collect();
        }
        _ => {}
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choice(key: &str, kind: QuestionKind, options: &[&str]) -> Question {
        Question {
            key: key.into(),
            text: format!("{key}?"),
            kind,
            required: true,
            options: options.iter().map(|o| Choice { key: (*o).into(), label: o.to_uppercase() }).collect(),
            show_if: None,
        }
    }

    fn answers(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs.iter().map(|(k, vs)| ((*k).to_owned(), vs.iter().map(|v| (*v).to_owned()).collect())).collect()
    }

    fn form() -> Vec<Question> {
        let mut why = choice("why", QuestionKind::Multiple, &["school", "metro", "view"]);
        why.show_if = Some(ShowIf { question: "buy".into(), any_of: vec!["yes".into()] });
        let mut score = choice("score", QuestionKind::Scale5, &[]);
        score.required = false;
        vec![choice("buy", QuestionKind::Single, &["yes", "no"]), why, score]
    }

    #[test]
    fn a_questionnaire_is_checked_question_by_question() {
        assert_eq!(check_questions(&form()), Ok(()));
        let mut bad = form();
        bad[0].options.truncate(1);
        bad[1].show_if = Some(ShowIf { question: "score".into(), any_of: vec!["9".into()] });
        bad[2].key = "buy".into();
        bad[2].options = vec![Choice { key: "x".into(), label: "X".into() }];
        let errors = check_questions(&bad).unwrap_err().0;
        let got: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            got,
            [
                ("questions[0].options", "too_few_options"),
                ("questions[1].show_if.question", "not_an_earlier_question"),
                ("questions[2].key", "duplicate"),
                ("questions[2].options", "options_not_allowed"),
            ]
        );
        let mut cond_on_scale = form();
        cond_on_scale.swap(1, 2);
        cond_on_scale[2].show_if = Some(ShowIf { question: "score".into(), any_of: vec!["6".into()] });
        let errors = check_questions(&cond_on_scale).unwrap_err().0;
        assert_eq!(
            (errors[0].field.as_str(), errors[0].code),
            ("questions[2].show_if.any_of", "unknown_condition_value")
        );
    }

    #[test]
    fn show_if_hides_a_question_and_its_answer_is_dropped() {
        let q = form();
        let kept = check_answers(&q, &answers(&[("buy", &["no"]), ("why", &["metro"])])).unwrap();
        assert_eq!(kept, answers(&[("buy", &["no"])]));
        // Shown and required: must be answered.
        let errors = check_answers(&q, &answers(&[("buy", &["yes"])])).unwrap_err().0;
        assert_eq!((errors[0].field.as_str(), errors[0].code), ("answers.why", "answer_required"));
        let kept = check_answers(&q, &answers(&[("buy", &["yes"]), ("why", &["view", "school", "view"])])).unwrap();
        assert_eq!(kept["why"], ["school", "view"], "in the questionnaire's order, once each");
    }

    #[test]
    fn answers_are_checked_against_their_kind() {
        let mut q = form();
        q.push(Question {
            key: "area".into(),
            kind: QuestionKind::Number,
            ..choice("area", QuestionKind::Number, &[])
        });
        q.push(Question { key: "move".into(), kind: QuestionKind::Date, ..choice("move", QuestionKind::Date, &[]) });
        let given = answers(&[
            ("buy", &["maybe"]),
            ("score", &["6"]),
            ("area", &["12.345"]),
            ("move", &["2026-02-30"]),
            ("ghost", &["1"]),
        ]);
        let errors = check_answers(&q, &given).unwrap_err().0;
        let got: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            got,
            [
                ("answers.ghost", "unknown_question"),
                ("answers.buy", "unknown_option"),
                ("answers.score", "answer_not_on_the_scale"),
                ("answers.area", "answer_not_a_number"),
                ("answers.move", "answer_not_a_date"),
            ]
        );
        let fine = answers(&[("buy", &["no"]), ("area", &[" 1,120.50 "]), ("move", &["2027-01-05"])]);
        let kept = check_answers(&q, &fine).unwrap();
        assert_eq!(kept["area"], ["1120.5"]);
    }

    #[test]
    fn numbers_have_one_canonical_text() {
        for (raw, canonical) in [
            ("0", Some("0")),
            ("-0.00", Some("0")),
            ("+7.10", Some("7.1")),
            (".5", Some("0.5")),
            ("3.05", Some("3.05")),
        ] {
            assert_eq!(canonical_number(raw).as_deref(), canonical, "{raw}");
        }
        for raw in ["", ".", "1e3", "1.234", "--1", "1 2", "1000000000000"] {
            assert_eq!(canonical_number(raw), None, "{raw}");
        }
    }

    #[test]
    fn summaries_count_choices_scales_numbers_and_words() {
        let q = form();
        let counted = |pairs: &[(&str, u64)]| pairs.iter().map(|(v, n)| ((*v).to_owned(), *n)).collect::<Vec<_>>();
        // Two responses: school and view, view alone.
        let s = summarise(&q[1], 2, &counted(&[("school", 1), ("view", 2)]));
        assert_eq!(s.answered, 2);
        let got: Vec<(&str, u64, f64)> = s.values.iter().map(|v| (v.value.as_str(), v.count, v.percent)).collect();
        assert_eq!(got, [("school", 1, 50.0), ("metro", 0, 0.0), ("view", 2, 100.0)]);

        let s = summarise(&q[2], 4, &counted(&[("1", 1), ("4", 1), ("5", 2)]));
        assert_eq!((s.mean, s.median), (Some(3.75), Some(4.5)));
        assert_eq!(s.values.iter().map(|v| v.count).collect::<Vec<_>>(), [1, 0, 0, 1, 2]);

        let text = Question { kind: QuestionKind::Text, options: vec![], ..q[0].clone() };
        let s = summarise(&text, 3, &counted(&[("Good view, good school", 1), ("学校好，交通方便", 1), ("good", 1)]));
        assert_eq!((s.words[0].value.as_str(), s.words[0].count), ("good", 2));
        assert!(s.words.iter().any(|w| w.value == "交通方便"));
    }
}
