//! The template language of letters, e-mails and SMS: MiniJinja without a
//! loader (no `include`, no files, no network), strict about undefined
//! values, and with the filters every letter needs. A template is checked
//! when it is saved: a syntax error or a field its kind does not have is
//! refused with the line it is on.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use loupan_domain::notices::NoticeKind;
use loupan_domain::{Invalid, Money};
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior, Value};

/// The values a letter merges: `customer.name` is `{"customer": {"name": …}}`.
pub type Facts = BTreeMap<&'static str, BTreeMap<&'static str, Fact>>;

/// One merged value: a text, or the rows of a list field (`plan.instalments`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Fact {
    Text(String),
    Rows(Vec<BTreeMap<&'static str, String>>),
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    // Letters are plain text; HTML escaping would garble `&` and `<`.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env.add_filter("money", |v: String| -> Result<String, Error> { Ok(money(&v)?.grouped()) });
    env.add_filter("capital", |v: String| -> Result<String, Error> { Ok(money(&v)?.in_chinese_words()) });
    env.add_filter("cn_date", |v: String| -> Result<String, Error> {
        let d = NaiveDate::parse_from_str(&v, "%Y-%m-%d")
            .map_err(|_| Error::new(ErrorKind::InvalidOperation, format!("not a date: {v}")))?;
        Ok(d.format("%Y年%-m月%-d日").to_string())
    });
    env.add_filter("mask", |v: String| -> String { mask(&v) });
    env
}

fn money(text: &str) -> Result<Money, Error> {
    Money::parse(text).map_err(|_| Error::new(ErrorKind::InvalidOperation, format!("not an amount: {text}")))
}

/// Keeps the first three and the last four characters (`138****8000`, `110***********1234`).
fn mask(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= 7 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

/// The line of `body` that first names `field`, counting from 1.
fn line_of(body: &str, field: &str) -> usize {
    body.lines().position(|l| l.contains(field)).map_or(1, |i| i + 1)
}

/// Checks a template of `kind` (`field` names the part: `body` or `subject`):
/// it parses, names only the kind's fields, and renders with sample values.
pub fn check(errors: &mut Invalid, field: &str, kind: NoticeKind, text: &str) {
    let env = environment();
    let template = match env.template_from_str(text) {
        Ok(t) => t,
        Err(e) => {
            let line = e.line().unwrap_or(1).to_string();
            let detail = e.detail().unwrap_or_default().to_owned();
            errors.push_with(field, "template_syntax", vec![("line", line), ("detail", detail)]);
            return;
        }
    };
    let known = kind.fields();
    let mut unknown: Vec<String> =
        template.undeclared_variables(true).into_iter().filter(|name| !known.contains(&name.as_str())).collect();
    unknown.sort();
    if let Some(name) = unknown.first() {
        let line = line_of(text, name).to_string();
        errors.push_with(field, "unknown_merge_field", vec![("line", line), ("name", name.clone())]);
        return;
    }
    // A filter that does not exist, or one given a value it cannot take, shows on a sample letter.
    if let Err(e) = template.render(value_of(&sample(kind))) {
        let line = e.line().unwrap_or(1).to_string();
        let detail = e.detail().map_or_else(|| e.kind().to_string(), str::to_owned);
        errors.push_with(field, "template_error", vec![("line", line), ("detail", detail)]);
    }
}

/// Renders a checked template with a recipient's facts.
pub fn render(text: &str, facts: &Facts) -> Result<String, String> {
    let env = environment();
    let template = env.template_from_str(text).map_err(|e| e.to_string())?;
    template.render(value_of(facts)).map_err(|e| e.to_string())
}

/// A value of the right shape for a field named `field`.
fn sample_value(field: &str) -> &'static str {
    if field.ends_with("_on") || field.ends_with(".as_of") || field.ends_with("_since") || field == "today" {
        "2026-01-01"
    } else if ["price", "unpaid", "overdue", "amount", "paid"].iter().any(|end| field.ends_with(end)) {
        "1.00"
    } else if field.ends_with("area") || field.ends_with("days_overdue") || field.ends_with("seq") {
        "1"
    } else {
        "—"
    }
}

/// Values of the right shape for every field of `kind`; a list has one row.
pub fn sample(kind: NoticeKind) -> Facts {
    let mut facts = Facts::new();
    for field in kind.fields() {
        match loupan_domain::notices::row_fields(field) {
            Some(columns) => {
                let row = columns.iter().map(|c| (*c, sample_value(c).to_owned())).collect();
                set_rows(&mut facts, field, vec![row]);
            }
            None => set(&mut facts, field, sample_value(field).to_owned()),
        }
    }
    facts
}

/// Puts `value` under a dotted field name (`customer.name`, or `today` alone).
pub fn set(facts: &mut Facts, field: &'static str, value: String) {
    put(facts, field, Fact::Text(value));
}

/// Puts the rows of a list field (`plan.instalments`).
pub fn set_rows(facts: &mut Facts, field: &'static str, rows: Vec<BTreeMap<&'static str, String>>) {
    put(facts, field, Fact::Rows(rows));
}

fn put(facts: &mut Facts, field: &'static str, value: Fact) {
    match field.split_once('.') {
        Some((group, name)) => {
            facts.entry(group).or_default().insert(name, value);
        }
        // A top-level value is a group of one, read as `{{ today }}` through its `""` key.
        None => {
            facts.entry(field).or_default().insert("", value);
        }
    }
}

/// The text merged for `group.name`, if any.
pub fn text<'a>(facts: &'a Facts, group: &str, name: &str) -> Option<&'a str> {
    match facts.get(group)?.get(name)? {
        Fact::Text(t) => Some(t),
        Fact::Rows(_) => None,
    }
}

/// The facts as the template sees them: groups as maps, top-level values as text.
pub fn value_of(facts: &Facts) -> Value {
    let mut map: BTreeMap<&str, Value> = BTreeMap::new();
    for (group, values) in facts {
        match values.get("") {
            Some(Fact::Text(v)) if values.len() == 1 => map.insert(group, Value::from(v.clone())),
            _ => map.insert(group, Value::from_serialize(values)),
        };
    }
    Value::from(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of(kind: NoticeKind, text: &str) -> Vec<loupan_domain::FieldError> {
        let mut e = Invalid::default();
        check(&mut e, "body", kind, text);
        e.0
    }

    #[test]
    fn a_template_names_only_its_kinds_fields_and_parses() {
        assert!(
            errors_of(NoticeKind::PaymentReminder, "尊敬的{{ customer.name }}：\n逾期 {{ arrears.overdue|money }} 元")
                .is_empty()
        );
        let e = errors_of(NoticeKind::Greeting, "尊敬的{{ customer.name }}：\n{{ arrears.overdue }}");
        assert_eq!(e[0].code, "unknown_merge_field");
        assert_eq!(e[0].facts, vec![("line", "2".to_owned()), ("name", "arrears.overdue".to_owned())]);
        let e = errors_of(NoticeKind::Free, "第一行\n{{ customer.name ");
        assert_eq!((e[0].code, e[0].facts[0].clone()), ("template_syntax", ("line", "2".to_owned())));
        let e = errors_of(NoticeKind::Free, "{{ customer.name|shout }}");
        assert_eq!(e[0].code, "template_error");
    }

    #[test]
    fn letters_say_money_in_capitals_dates_in_chinese_and_mask_numbers() {
        let mut facts = Facts::new();
        set(&mut facts, "contract.total_price", "1280000.00".into());
        set(&mut facts, "today", "2026-12-04".into());
        set(&mut facts, "customer.phone", "13800138000".into());
        let text = "{{ contract.total_price|money }} {{ contract.total_price|capital }} {{ today|cn_date }} {{ customer.phone|mask }}";
        let env = environment();
        let out = env.template_from_str(text).unwrap().render(value_of(&facts)).unwrap();
        assert_eq!(out, "1,280,000.00 壹佰贰拾捌万元整 2026年12月4日 138****8000");
    }

    #[test]
    fn an_instalment_table_loops_over_the_plan_and_a_row_field_it_lacks_is_refused() {
        let table = "| 期次 | 到期日 | 金额 |\n{% for i in plan.instalments %}| {{ i.seq }} | {{ i.due_on|cn_date }} | {{ i.amount|money }} |\n{% endfor %}";
        assert!(
            errors_of(NoticeKind::PaymentReminder, table).is_empty(),
            "{:?}",
            errors_of(NoticeKind::PaymentReminder, table)
        );
        let e = errors_of(NoticeKind::PaymentReminder, "{% for i in plan.instalments %}{{ i.colour }}{% endfor %}");
        assert_eq!(e[0].code, "template_error");
        // A greeting is about nobody's contract.
        assert_eq!(
            errors_of(NoticeKind::Greeting, "{% for i in plan.instalments %}{% endfor %}")[0].code,
            "unknown_merge_field"
        );
        let mut facts = Facts::new();
        let row = |seq: &str, due: &str, amount: &str| {
            [("seq", seq), ("due_on", due), ("amount", amount)].into_iter().map(|(k, v)| (k, v.to_owned())).collect()
        };
        set_rows(
            &mut facts,
            "plan.instalments",
            vec![row("1", "2026-01-05", "300000.00"), row("2", "2026-04-05", "700000.00")],
        );
        let out = render(table, &facts).unwrap();
        assert_eq!(
            out,
            "| 期次 | 到期日 | 金额 |\n| 1 | 2026年1月5日 | 300,000.00 |\n| 2 | 2026年4月5日 | 700,000.00 |\n"
        );
    }

    #[test]
    fn templates_cannot_reach_files() {
        let e = errors_of(NoticeKind::Free, "{% include '/etc/passwd' %}");
        assert!(!e.is_empty());
    }
}
