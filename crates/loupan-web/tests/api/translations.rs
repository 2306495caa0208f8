//! Every text key and error code used anywhere has both a zh-CN and an English
//! text. The code is scanned, so a new code without a translation fails here.

use std::path::{Path, PathBuf};

use loupan_domain::Role;
use loupan_domain::inventory::UnitStatus;
use loupan_web::i18n::{Lang, has_key};

fn files_under(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, ext, out);
        } else if path.extension().is_some_and(|e| e == ext) {
            out.push(path);
        }
    }
}

fn workspace_sources() -> Vec<(PathBuf, String)> {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut files = Vec::new();
    for krate in std::fs::read_dir(crates).unwrap().flatten() {
        let src = krate.path().join("src");
        if src.is_dir() {
            files_under(&src, "rs", &mut files);
        }
    }
    files.into_iter().map(|p| (p.clone(), std::fs::read_to_string(&p).unwrap())).collect()
}

/// The string literals inside the parentheses that follow each `needle`.
fn literals_after<'a>(text: &'a str, needle: &str) -> Vec<Vec<&'a str>> {
    let mut calls = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(needle) {
        rest = &rest[at + needle.len()..];
        let mut depth = 1;
        let mut end = rest.len();
        let mut in_string = false;
        for (i, c) in rest.char_indices() {
            match c {
                '"' => in_string = !in_string,
                '(' if !in_string => depth += 1,
                ')' if !in_string => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let args = &rest[..end];
        let literals: Vec<&str> = args.split('"').skip(1).step_by(2).collect();
        // `push(field, code)` whose code is computed: only the field is a literal.
        if args.trim_end().ends_with('"')
            || needle.starts_with("Unauthenticated")
            || needle.starts_with("Conflict")
            || needle.starts_with("AppError")
        {
            calls.push(literals);
        }
    }
    calls
}

fn is_code(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

fn check(keys: impl IntoIterator<Item = String>, missing: &mut Vec<String>) {
    for key in keys {
        for lang in [Lang::ZhCn, Lang::En] {
            if !has_key(lang, &key) {
                missing.push(format!("{key} ({})", lang.code()));
            }
        }
    }
}

#[test]
fn every_error_code_in_the_code_is_translated() {
    let mut missing = Vec::new();
    let mut seen = 0;
    for (path, text) in workspace_sources() {
        let mut errors = Vec::new();
        let mut fields = Vec::new();
        for needle in ["Unauthenticated(", "Conflict(", "AppError::new(", "auth_error("] {
            errors.extend(literals_after(&text, needle).into_iter().filter_map(|l| l.first().copied()));
        }
        for call in literals_after(&text, "AppError::field(") {
            errors.extend(call.first().copied());
            fields.extend(call.last().copied());
        }
        for needle in [".push(", "Invalid::one(", "FieldError::new(", "Err("] {
            fields.extend(literals_after(&text, needle).into_iter().filter_map(|l| l.last().copied()));
        }
        let errors: Vec<String> = errors.into_iter().filter(|c| is_code(c)).map(|c| format!("error.{c}")).collect();
        let fields: Vec<String> =
            fields.into_iter().filter(|c| is_code(c)).map(|c| format!("field_error.{c}")).collect();
        seen += errors.len() + fields.len();
        let before = missing.len();
        check(errors.into_iter().chain(fields), &mut missing);
        for m in &mut missing[before..] {
            m.push_str(&format!(" used in {}", path.display()));
        }
    }
    assert!(seen > 30, "the scanner found only {seen} codes; is it still reading the sources?");
    // Codes produced outside literal calls.
    let fixed = [
        "forbidden",
        "not_found",
        "invalid_input",
        "too_many_attempts",
        "internal",
        "route_not_found",
        "method_not_allowed",
        "payload_too_large",
        "unsupported_media_type",
        "service_unavailable",
    ];
    check(fixed.iter().map(|c| format!("error.{c}")), &mut missing);
    // Codes returned by domain parsers (`Err("invalid_phone")`) and extractors.
    let decimal = [
        "not_a_number",
        "too_precise",
        "out_of_range",
        "invalid_type",
        "invalid_cursor",
        "invalid_phone",
        "invalid_id_number",
    ];
    check(decimal.iter().map(|c| format!("field_error.{c}")), &mut missing);
    assert!(missing.is_empty(), "missing translations:\n{}", missing.join("\n"));
}

#[test]
fn every_text_key_of_templates_and_code_is_translated() {
    let mut keys: Vec<String> = Vec::new();
    let mut templates = Vec::new();
    files_under(&Path::new(env!("CARGO_MANIFEST_DIR")).join("templates"), "html", &mut templates);
    for path in templates {
        let text = std::fs::read_to_string(&path).unwrap();
        for call in literals_after(&text, "t(") {
            if let Some(key) = call.first().filter(|k| k.contains('.') && !k.ends_with('.')) {
                keys.push((*key).to_owned());
            }
        }
    }
    for (_, text) in workspace_sources() {
        for literal in text.split('"').skip(1).step_by(2) {
            let prefixes =
                ["nav.", "users.", "audit.", "workbench.", "projects.", "building.", "login.", "common.", "flows."];
            if !literal.ends_with(".html")
                && prefixes.iter().any(|p| literal.starts_with(p))
                && literal[literal.find('.').unwrap() + 1..].bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
            {
                keys.push(literal.to_owned());
            }
        }
    }
    // Keys built at run time.
    keys.extend(UnitStatus::ALL.iter().map(|s| format!("status.{}", s.name())));
    keys.extend(Role::ALL.iter().map(|r| format!("role.{}", r.name())));
    keys.extend(loupan_domain::sales::TermKind::ALL.iter().map(|k| format!("term.{}", k.name())));
    keys.extend(["bucket.not_due", "bucket.range", "bucket.beyond"].map(str::to_owned));
    keys.extend(["default", "company", "project"].iter().map(|s| format!("ageing.source.{s}")));
    keys.extend(["deals.subscribed_on", "deals.signed_on"].map(str::to_owned));
    keys.extend(
        loupan_service::sales::deals::EXPORT_COLUMNS.iter().filter(|c| **c != "date").map(|c| format!("deals.{c}")),
    );
    keys.extend(["active", "converted", "cancelled"].iter().map(|s| format!("deals.status.{s}")));
    keys.extend(loupan_domain::finance::ReceiptChannel::names().iter().map(|c| format!("channel.{c}")));
    keys.extend(["in_transit", "arrived", "audited"].iter().map(|s| format!("receipt.{s}")));
    keys.extend(loupan_domain::inventory::PropertyType::names().iter().map(|p| format!("property_type.{p}")));
    keys.extend(loupan_domain::inventory::Decoration::names().iter().map(|d| format!("decoration.{d}")));
    // Every approval's summary, and the reconciliation export's totals.
    keys.extend(loupan_domain::approvals::RequestKind::names().iter().map(|k| format!("approval_summary.{k}")));
    for basis in ["sales", "cashier", "finance"] {
        keys.extend(["receipts", "refunds", "net"].iter().map(|t| format!("reconciliation.{basis}.{t}")));
    }
    keys.extend(
        ["percent", "per_m2", "per_unit", "status_draft", "status_applied"].iter().map(|k| format!("pricing.{k}")),
    );
    keys.extend(loupan_service::changes::KINDS.iter().map(|k| format!("change_kind.{k}")));
    keys.extend(loupan_service::cost::report_sheet_headers().into_iter().map(str::to_owned));
    keys.extend(loupan_domain::cost::AreaBasis::names().iter().map(|b| format!("cost.basis.{b}")));
    keys.extend(["requested", "executed", "rejected"].iter().map(|k| format!("change_status.{k}")));
    keys.extend(loupan_domain::Permission::ALL.iter().map(|p| format!("permission.{}", p.name())));
    // The customer's timeline labels each kind of event; a case's history each step.
    keys.extend(loupan_domain::customers::CustomerEventKind::names().iter().map(|k| format!("event.{k}")));
    keys.extend(loupan_domain::cases::CaseAction::names().iter().map(|a| format!("case_action.{a}")));
    keys.extend(loupan_domain::cases::CaseStatus::names().iter().map(|s| format!("case_status.{s}")));
    keys.extend(loupan_service::workbench::ALERT_KINDS.iter().map(|a| format!("alert.{a}")));
    keys.push("pricing.status_pending".into());
    let approvals = loupan_domain::approvals::REQUEST_KINDS;
    keys.extend(approvals.iter().map(|k| format!("approval_kind.{}", k.name())));
    keys.extend(approvals.iter().flat_map(|k| k.facts().iter().map(|f| format!("fact.{f}"))));
    let statuses = ["pending", "returned", "approved", "rejected", "withdrawn"];
    keys.extend(statuses.iter().map(|s| format!("approval_status.{s}")));
    keys.extend(["pending", "approved", "rejected", "returned", "closed"].iter().map(|s| format!("task_status.{s}")));
    let events = ["submitted", "approved", "rejected", "returned", "resubmitted", "withdrawn", "comment"];
    keys.extend(
        events
            .iter()
            .chain(&["attachment", "reminded", "escalated", "no_approver"])
            .map(|e| format!("approval_event.{e}")),
    );
    keys.extend(loupan_service::platform::notifications::KINDS.iter().map(|k| format!("notification.{k}")));
    keys.extend(loupan_service::platform::webhooks::EVENT_TYPES.iter().map(|e| format!("event.{e}")));
    keys.extend(["pending", "delivered", "failed"].iter().map(|s| format!("delivery_status.{s}")));
    keys.extend(loupan_service::platform::jobs::KINDS.iter().map(|k| format!("job_kind.{k}")));
    keys.extend(["queued", "running", "done", "dead"].iter().map(|s| format!("job_status.{s}")));
    assert!(keys.len() > 60, "found only {} keys", keys.len());
    let mut missing = Vec::new();
    check(keys, &mut missing);
    assert!(missing.is_empty(), "missing translations:\n{}", missing.join("\n"));
}
