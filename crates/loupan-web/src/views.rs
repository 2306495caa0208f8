//! How pages look: the template environment, what every page's layout needs,
//! rendering, the error page and translated field errors. Shared by the pages
//! and the middleware that renders failures, so neither imports the other.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, FixedOffset};
use loupan_domain::Permission;
use loupan_service::Actor;
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, State, context};

use crate::AppState;
use crate::error::{AppError, Failure};
use crate::i18n::{self, Lang};

#[derive(rust_embed::RustEmbed)]
#[folder = "templates/"]
struct Templates;

/// The navigation: label key, address, and the permission it needs (None: all).
/// Business areas add their entry here.
const NAV: [(&str, &str, Option<Permission>); 18] = [
    ("nav.workbench", "/", None),
    ("nav.approvals", "/approvals", None),
    ("nav.projects", "/projects", Some(Permission::ReadProjects)),
    ("nav.units", "/units", Some(Permission::ReadInventory)),
    ("nav.customers", "/customers", Some(Permission::ReadCustomers)),
    ("nav.reception", "/reception", Some(Permission::Receive)),
    ("nav.questionnaires", "/questionnaires", Some(Permission::AnswerQuestionnaires)),
    ("nav.finance", "/finance/ledger", Some(Permission::ReadFinance)),
    ("nav.cases", "/service/cases", Some(Permission::ReadCases)),
    ("nav.aftersales", "/aftersales", Some(Permission::ReadAftersales)),
    ("nav.cost", "/cost", Some(Permission::ReadCost)),
    ("nav.notices", "/notices", Some(Permission::SendNotices)),
    ("nav.users", "/admin/users", Some(Permission::ManageUsers)),
    ("nav.audit", "/admin/audit", Some(Permission::ReadAudit)),
    ("nav.flows", "/admin/approval-flows", Some(Permission::ManageApprovalFlows)),
    ("nav.webhooks", "/admin/webhooks", Some(Permission::ManageIntegrations)),
    ("nav.jobs", "/admin/jobs", Some(Permission::ManageIntegrations)),
    ("nav.sending", "/admin/sending", Some(Permission::ManageIntegrations)),
];

/// An instant as the company's wall-clock time (`zone`: the clock's).
fn local_time(instant: &str, zone: FixedOffset) -> String {
    DateTime::parse_from_rfc3339(instant)
        .map(|t| t.with_timezone(&zone).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|_| instant.to_owned())
}

/// `-1234.50`, `2080354.86`: a decimal with exactly two places and at least
/// four digits before the point (smaller ones read the same grouped or not).
fn looks_like_an_amount(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    match digits.split_once('.') {
        Some((whole, frac)) => {
            whole.len() >= 4 && frac.len() == 2 && whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

fn readable(text: &str) -> String {
    if looks_like_an_amount(text) { loupan_domain::quantity::group_thousands(text) } else { text.to_owned() }
}

/// `not_due` → "Not due", `31-60` → "31-60 days", `>365` → "Over 365 days".
pub fn bucket_label(lang: Lang, label: &str) -> String {
    if let Some(days) = label.strip_prefix('>') {
        return i18n::t(lang, "bucket.beyond").replace("{days}", days);
    }
    match label.split_once('-') {
        Some((from, to)) => i18n::t(lang, "bucket.range").replace("{from}", from).replace("{to}", to),
        None => i18n::t(lang, &format!("bucket.{label}")),
    }
}

/// The templates, with times shown in `zone` (the company's, from its clock).
pub fn templates(zone: FixedOffset) -> Environment<'static> {
    let mut env = Environment::new();
    // Optional form values (`form.username` before anything was typed) read as empty.
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    env.set_loader(|name| Ok(Templates::get(name).map(|f| String::from_utf8_lossy(&f.data).into_owned())));
    env.add_function("t", |state: &State, key: &str, kwargs: Kwargs| -> Result<String, minijinja::Error> {
        let lang = state.lookup("lang").and_then(|v| v.as_str().and_then(Lang::from_code)).unwrap_or_default();
        let mut text = i18n::t(lang, key);
        for name in kwargs.args() {
            let value: Value = kwargs.get(name)?;
            text = text.replace(&format!("{{{name}}}"), &readable(&value.to_string()));
        }
        Ok(text)
    });
    // Amounts as people read them (`2,080,354.86`): every value printed in a
    // page that is a plain decimal with two places and four or more digits
    // before the point is money or area, so the grouping is done once here
    // instead of at each of the hundreds of places that print one. Inputs
    // accept both forms (`loupan_domain::quantity::parse_hundredths`).
    env.set_formatter(|out, state, value| {
        if let Some(text) = value.as_str()
            && looks_like_an_amount(text)
        {
            return out.write_str(&loupan_domain::quantity::group_thousands(text)).map_err(minijinja::Error::from);
        }
        minijinja::escape_formatter(out, state, value)
    });
    // An ageing bucket's label (`not_due`, `31-60`, `>365`) in words.
    env.add_function("bucket", |state: &State, label: &str| -> String {
        let lang = state.lookup("lang").and_then(|v| v.as_str().and_then(Lang::from_code)).unwrap_or_default();
        bucket_label(lang, label)
    });
    env.add_filter("localtime", move |v: String| local_time(&v, zone));
    // A value in a query string (minijinja's own needs a feature we do not build).
    env.add_filter("urlencode", |v: String| form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>());
    env
}

/// What every page's layout needs: the user, their navigation, the language
/// and the CSRF token for forms.
pub fn base_context(actor: &Actor, lang: Lang, current: &str) -> Value {
    let nav: Vec<Value> = NAV
        .iter()
        .filter(|(_, _, p)| p.is_none_or(|p| actor.can(p)))
        .map(|(key, href, _)| {
            let active = if *href == "/" { current == "/" } else { current.starts_with(href) };
            context! { key => *key, href => *href, active => active }
        })
        .collect();
    context! {
        lang => lang.code(),
        other_lang => if lang == Lang::ZhCn { "en" } else { "zh-CN" },
        user => context! { username => actor.username.clone(), display_name => actor.display_name.clone() },
        nav => nav,
        csrf => actor.session.as_ref().map(|s| s.csrf_token.clone()).unwrap_or_default(),
        current => current,
    }
}

/// Renders a template; a template error is a 500 with the cause in the log.
pub fn render(state: &AppState, name: &str, ctx: Value) -> Result<Html<String>, AppError> {
    state.templates.get_template(name).and_then(|t| t.render(ctx)).map(Html).map_err(|e| {
        // The include chain names the template; its source names the line and the cause.
        tracing::error!(template = name, error = %loupan_service::error::chain(&e), "template failed");
        AppError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal")
    })
}

/// A page explaining a failure in the visitor's language.
pub fn error_page(state: &AppState, failure: &Failure, lang: Lang) -> Response {
    let fields: Vec<String> =
        failure.fields.iter().map(|f| format!("{}: {}", f.field, i18n::field_message(lang, f))).collect();
    let ctx = context! {
        lang => lang.code(),
        status => failure.status.as_u16(),
        message => i18n::t(lang, &format!("error.{}", failure.code)),
        fields => fields,
    };
    match render(state, "error.html", ctx) {
        Ok(html) => (failure.status, html).into_response(),
        Err(_) => (failure.status, i18n::t(lang, &format!("error.{}", failure.code))).into_response(),
    }
}

/// Field errors of a form, by field name, translated.
pub fn field_messages(lang: Lang, err: &loupan_service::ServiceError) -> Value {
    let mut map = std::collections::BTreeMap::new();
    if let loupan_service::ServiceError::Invalid(invalid) = err {
        for f in &invalid.0 {
            map.entry(f.field.clone()).or_insert_with(|| i18n::field_message(lang, f));
        }
    }
    Value::from_serialize(&map)
}

/// A customer's timeline entry as a sentence in `lang`: `timeline.<kind>` (or
/// `timeline.<kind>.<variant>`) with its facts filled in. Entries of earlier
/// versions keep the sentence they were written with.
pub fn timeline_sentence(lang: Lang, e: &loupan_service::customers::TimelineEntry) -> String {
    if e.facts.is_empty() {
        return e.summary.clone();
    }
    let key = match e.facts.get("variant") {
        Some(variant) => format!("timeline.{}.{variant}", e.kind),
        None => format!("timeline.{}", e.kind),
    };
    say(lang, &key, &e.facts)
}

/// The sentence `key` in `lang` with its facts filled in, a fact that names
/// something (`follow_up: visit`, `change_kind: swap`) translated by its own key.
pub fn say(lang: Lang, key: &str, facts: &std::collections::BTreeMap<String, String>) -> String {
    let named: Vec<(&str, String)> = facts
        .iter()
        .map(|(fact, value)| {
            let own = format!("{fact}.{value}");
            (fact.as_str(), if i18n::has_key(lang, &own) { i18n::t(lang, &own) } else { value.clone() })
        })
        .collect();
    let args: Vec<(&str, &str)> = named.iter().map(|(fact, value)| (*fact, value.as_str())).collect();
    i18n::t_with(lang, key, &args)
}

/// What Loupan said (`said`) in `lang`, or the text a record of an earlier version was written with.
pub fn said_or(lang: Lang, said: Option<&loupan_domain::sentence::Sentence>, written: &str) -> String {
    match said {
        Some(s) => say(lang, &s.key, &s.facts),
        None => written.to_owned(),
    }
}

/// Where a heavy report read its data, for `report_source.html`.
pub fn data_source(source: loupan_service::platform::replica::DataSource) -> Value {
    Value::from_serialize(source)
}
