//! Finance's pages: the contract ledger (合同台帐), arrears (欠款), the
//! reconciliation of the three departments (核帐) and the 财控图 of a building.
//! Each has the same figures as its API route and an xlsx download.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use loupan_domain::Permission;
use loupan_domain::ids::{BuildingId, ProjectId};
use loupan_service::ServiceError;
use loupan_service::finance::reports::{self as reports, Basis, MoneyState};
use loupan_service::finance::{queries, settings};
use loupan_service::inventory;
use minijinja::{Value, context};
use serde::Deserialize;

use crate::api::finance::reports::{LedgerParams, ledger_args, period};
use crate::extract::{Authed, FormData};
use crate::i18n::Lang;
use crate::pages::{base_context, field_messages, render};
use crate::{AppError, AppState};

/// Every finance page is under the one "财务" entry of the navigation.
const NAV: &str = "/finance/ledger";

async fn projects(state: &AppState, actor: &loupan_service::Actor) -> Result<Vec<Value>, AppError> {
    Ok(inventory::list_projects(&state.services, actor)
        .await?
        .into_iter()
        .map(|p| context! { id => p.id, name => p.name })
        .collect())
}

fn line(l: &reports::LedgerLine) -> Value {
    context! {
        id => l.contract_id, number => l.number, unit_id => l.unit_id, unit => l.unit_number,
        customer_id => l.customer_id, customer => l.customer_name, phone => l.customer_phone,
        agent => l.agent_name, signed_on => l.signed_on.to_string(), total => l.total.to_string(),
        plan => l.plan.to_string(), paid => l.paid.to_string(), unpaid => l.unpaid.to_string(),
        due => l.due.to_string(), overdue => l.overdue.to_string(), is_overdue => l.overdue.is_positive(),
        days_overdue => l.days_overdue,
    }
}

async fn ledger(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<LedgerParams>,
) -> Result<Html<String>, AppError> {
    let (as_of, basis) = ledger_args(&q, state.services.clock.today())?;
    let project_id = ProjectId::given(q.project_id.as_deref());
    let project_id = project_id.as_ref();
    let l = reports::ledger(&state.services, &actor, project_id, as_of, basis).await?;
    let t = &l.totals;
    render(
        &state,
        "finance_ledger.html",
        context! {
            as_of => as_of.to_string(), basis => basis.name(), bases => Basis::ALL.map(Basis::name),
            project_id => project_id, projects => projects(&state, &actor).await?,
            lines => l.lines.iter().map(line).collect::<Vec<_>>(),
            totals => context! { contracts => t.contracts, total => t.total.to_string(), plan => t.plan.to_string(),
                paid => t.paid.to_string(), unpaid => t.unpaid.to_string(), due => t.due.to_string(), overdue => t.overdue.to_string() },
            export => format!("/api/v1/finance/reports/ledger/export?as_of={as_of}&basis={}&project_id={}", basis.name(), project_id.map(ProjectId::as_str).unwrap_or_default()),
            source => crate::views::data_source(l.source),
            ..base_context(&actor, lang, NAV)
        },
    )
}

#[derive(Deserialize)]
struct ArrearsQuery {
    as_of: Option<String>,
    project_id: Option<String>,
}

async fn arrears(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<ArrearsQuery>,
) -> Result<Html<String>, AppError> {
    let (as_of, _) = ledger_args(
        &LedgerParams { as_of: q.as_of.clone(), project_id: None, basis: None },
        state.services.clock.today(),
    )?;
    let project_id = ProjectId::given(q.project_id.as_deref());
    let project_id = project_id.as_ref();
    let a = reports::arrears(&state.services, &actor, project_id, as_of).await?;
    render(
        &state,
        "finance_arrears.html",
        context! {
            as_of => as_of.to_string(), project_id => project_id, projects => projects(&state, &actor).await?,
            lines => a.lines.iter().map(|x| context! { bucket => x.bucket, ..line(&x.ledger) }).collect::<Vec<_>>(),
            by_agent => a.by_agent.iter().map(|g| context! { agent => g.agent_name, contracts => g.contracts, overdue => g.overdue.to_string() }).collect::<Vec<_>>(),
            total => a.total.to_string(),
            export => format!("/api/v1/finance/reports/arrears/export?as_of={as_of}&project_id={}", project_id.map(ProjectId::as_str).unwrap_or_default()),
            source => crate::views::data_source(a.source),
            ..base_context(&actor, lang, NAV)
        },
    )
}

#[derive(Deserialize)]
struct ReconciliationQuery {
    from: Option<String>,
    to: Option<String>,
    project_id: Option<String>,
}

async fn reconciliation(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<ReconciliationQuery>,
) -> Result<Html<String>, AppError> {
    let (from, to) = period(q.from.as_deref(), q.to.as_deref(), state.services.clock.today())?;
    let project_id = ProjectId::given(q.project_id.as_deref());
    let project_id = project_id.as_ref();
    let r = reports::reconciliation(&state.services, &actor, project_id, from, to).await?;
    let total = |b: &str| r.totals.get(b).map(ToString::to_string).unwrap_or_default();
    let refunded = |b: &str| r.refunds.get(b).map(ToString::to_string).unwrap_or_default();
    let net = |b: &str| r.net.get(b).map(ToString::to_string).unwrap_or_default();
    let refund_differences: Vec<Value> = r
        .refund_differences
        .iter()
        .map(|d| {
            context! {
                between => d.between, status => d.status, amount => d.amount.to_string(),
                refunds => d.refunds.iter().map(|l| context! {
                    contract_id => l.contract_id, number => l.contract_number, amount => l.amount.to_string(),
                    paid_on => l.paid_on.map(|d| d.to_string()),
                }).collect::<Vec<_>>(),
            }
        })
        .collect();
    let channels: Vec<Value> = r
        .by_channel
        .iter()
        .map(|(channel, amounts)| {
            let of = |b: &str| amounts.get(b).map(ToString::to_string).unwrap_or_else(|| "0.00".into());
            context! { channel => channel, sales => of("sales"), cashier => of("cashier"), finance => of("finance") }
        })
        .collect();
    let differences: Vec<Value> = r
        .differences
        .iter()
        .map(|d| {
            context! {
                between => d.between, status => d.status, amount => d.amount.to_string(),
                receipts => d.receipts.iter().map(|l| context! {
                    id => l.id, contract_id => l.contract_id, number => l.contract_number, amount => l.amount.to_string(),
                    received_on => l.received_on.to_string(), channel => l.channel,
                }).collect::<Vec<_>>(),
            }
        })
        .collect();
    render(
        &state,
        "finance_reconciliation.html",
        context! {
            from => from.to_string(), to => to.to_string(), project_id => project_id, projects => projects(&state, &actor).await?,
            signed_contracts => r.signed_contracts, signed_amount => r.signed_amount.to_string(),
            sales => total("sales"), cashier => total("cashier"), finance => total("finance"),
            channels => channels, differences => differences, refund_differences => refund_differences,
            refunds => context! { sales => refunded("sales"), cashier => refunded("cashier"), finance => refunded("finance") },
            net => context! { sales => net("sales"), cashier => net("cashier"), finance => net("finance") },
            export => format!("/api/v1/finance/reports/reconciliation/export?from={from}&to={to}&project_id={}", project_id.map(ProjectId::as_str).unwrap_or_default()),
            source => crate::views::data_source(r.source),
            ..base_context(&actor, lang, NAV)
        },
    )
}

async fn finance_chart(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<BuildingId>,
) -> Result<Html<String>, AppError> {
    let today = state.services.clock.today();
    let (building, tiles) = reports::finance_chart(&state.services, &actor, &id, today).await?;
    let project = inventory::get_project(&state.services, &actor, &building.project_id).await?;
    let mut counts: Vec<(MoneyState, usize)> = MoneyState::ALL.iter().map(|s| (*s, 0)).collect();
    let mut floors: Vec<(i32, Vec<Value>)> = Vec::new();
    for t in tiles {
        if let Some(c) = counts.iter_mut().find(|(s, _)| *s == t.state) {
            c.1 += 1;
        }
        let cell = context! {
            id => t.unit.id, number => t.unit.number, state => t.state.name(), contract_id => t.contract_id,
            contract => t.contract_number, plan => t.plan.map(|m| m.to_string()), paid => t.paid.map(|m| m.to_string()),
        };
        match floors.last_mut() {
            Some((floor, cells)) if *floor == t.unit.floor => cells.push(cell),
            _ => floors.push((t.unit.floor, vec![cell])),
        }
    }
    render(
        &state,
        "finance_chart.html",
        context! {
            building => context! { id => building.id, name => building.name }, project => context! { id => project.id, name => project.name },
            floors => floors.into_iter().map(|(floor, units)| context! { floor => floor, units => units }).collect::<Vec<_>>(),
            counts => counts.into_iter().map(|(s, n)| context! { state => s.name(), count => n }).collect::<Vec<_>>(),
            ..base_context(&actor, lang, NAV)
        },
    )
}

#[derive(Deserialize)]
struct StatusQuery {
    status: Option<String>,
}

async fn refunds(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<StatusQuery>,
) -> Result<Html<String>, AppError> {
    let status = q.status.filter(|s| !s.is_empty());
    let items: Vec<Value> = loupan_service::changes::refunds(&state.services, &actor, status.as_deref())
        .await?
        .into_iter()
        .map(|r| context! { id => r.id, contract_id => r.contract_id, customer_id => r.customer_id, amount => r.amount.to_string(),
            status => r.status, created => r.created_at.format("%Y-%m-%d").to_string() })
        .collect();
    render(
        &state,
        "finance_refunds.html",
        context! {
            refunds => items, status => status, channels => loupan_domain::finance::ReceiptChannel::TYPED.map(loupan_domain::finance::ReceiptChannel::name),
            today => state.services.clock.today().to_string(),
            can_record => actor.can(loupan_domain::Permission::RecordReceipts), can_audit => actor.can(loupan_domain::Permission::AuditReceipts),
            ..base_context(&actor, lang, NAV)
        },
    )
}

async fn refund_step(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path((id, step)): Path<(String, String)>,
    form: crate::extract::FormData,
) -> Result<axum::response::Response, AppError> {
    use axum::response::IntoResponse;
    match step.as_str() {
        "pay" => {
            loupan_service::finance::pay_refund(
                &state.services,
                &actor,
                &id,
                form.text("paid_on").as_deref(),
                form.text("channel").as_deref(),
                form.text("note").as_deref(),
            )
            .await?;
        }
        "audit" => {
            loupan_service::finance::audit_refund(&state.services, &actor, &id).await?;
        }
        _ => return Err(AppError::new(axum::http::StatusCode::NOT_FOUND, "route_not_found")),
    }
    Ok(axum::response::Redirect::to("/finance/refunds").into_response())
}

async fn receipt_books(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
) -> Result<Html<String>, AppError> {
    let books: Vec<Value> = loupan_service::finance::receipt_books::list(&state.services, &actor, None)
        .await?
        .into_iter()
        .map(|b| {
            context! { id => b.id, project_id => b.project_id, range => b.range, issued => b.issued, left => b.left }
        })
        .collect();
    render(
        &state,
        "finance_books.html",
        context! {
            books => books, projects => projects(&state, &actor).await?, project_id => Value::UNDEFINED,
            can_record => actor.can(loupan_domain::Permission::RecordReceipts),
            ..base_context(&actor, lang, NAV)
        },
    )
}

async fn register_book(
    State(state): State<AppState>,
    Authed(actor): Authed,
    form: crate::extract::FormData,
) -> Result<axum::response::Response, AppError> {
    use axum::response::IntoResponse;
    let number = |field: &str| form.text(field).and_then(|t| t.trim().parse::<i64>().ok());
    let book = loupan_service::finance::receipt_books::register(
        &state.services,
        &actor,
        loupan_service::finance::receipt_books::NewBook {
            project_id: form.text("project_id"),
            prefix: form.text("prefix"),
            first_number: number("first_number"),
            last_number: number("last_number"),
        },
    )
    .await?;
    Ok(axum::response::Redirect::to(&format!("/finance/receipt-books/{}", book.id)).into_response())
}

async fn receipt_book(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<String>,
) -> Result<Html<String>, AppError> {
    let r = loupan_service::finance::receipt_books::report(&state.services, &actor, &id).await?;
    render(
        &state,
        "finance_book.html",
        context! {
            book => context! { id => r.book.id, range => r.book.range, issued => r.book.issued, left => r.book.left },
            receipts => r.receipts.iter().map(|i| context! { number => i.number, id => i.receipt_id, amount => i.amount.to_string(), status => i.status }).collect::<Vec<_>>(),
            gaps => r.gaps.iter().map(|g| context! { number => g.number, kind => g.kind, reason => g.reason, by => g.voided_by }).collect::<Vec<_>>(),
            can_record => actor.can(loupan_domain::Permission::RecordReceipts),
            ..base_context(&actor, lang, NAV)
        },
    )
}

async fn void_number(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    form: crate::extract::FormData,
) -> Result<axum::response::Response, AppError> {
    use axum::response::IntoResponse;
    loupan_service::finance::receipt_books::void(
        &state.services,
        &actor,
        &id,
        form.text("receipt_id").as_deref(),
        form.text("reason").as_deref(),
    )
    .await?;
    Ok(axum::response::Redirect::to(&format!("/finance/receipt-books/{id}")).into_response())
}

/// The query string of a page, for its xlsx link (the same conditions).
fn query_string(pairs: &[(&str, &Option<String>)]) -> String {
    let mut out = Vec::new();
    for (k, v) in pairs {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            let encoded: String = form_urlencoded::byte_serialize(v.as_bytes()).collect();
            out.push(format!("{k}={encoded}"));
        }
    }
    out.join("&")
}

/// The link to the page after this one, with the same conditions.
fn next_page(path: &str, conditions: &str, cursor: &Option<String>) -> Option<String> {
    let cursor = query_string(&[("cursor", cursor)]);
    cursor.strip_prefix("cursor=").map(|_| {
        if conditions.is_empty() { format!("{path}?{cursor}") } else { format!("{path}?{conditions}&{cursor}") }
    })
}

/// The buildings of the chosen project, for the building condition.
async fn buildings(
    state: &AppState,
    actor: &loupan_service::Actor,
    project_id: Option<&ProjectId>,
) -> Result<Vec<Value>, AppError> {
    let Some(p) = project_id else { return Ok(Vec::new()) };
    Ok(inventory::list_buildings(&state.services, actor, p)
        .await?
        .into_iter()
        .map(|b| context! { id => b.id, name => b.name })
        .collect())
}

async fn receipt_query(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<queries::ReceiptQuery>,
) -> Result<Html<String>, AppError> {
    let conditions = query_string(&[
        ("project_id", &q.project_id),
        ("building_id", &q.building_id),
        ("status", &q.status),
        ("channel", &q.channel),
        ("from", &q.from),
        ("to", &q.to),
        ("min_amount", &q.min_amount),
        ("max_amount", &q.max_amount),
        ("payer", &q.payer),
        ("number", &q.number),
    ]);
    let export = format!("/api/v1/finance/queries/receipts/export?{conditions}");
    let form = context! {
        project_id => q.project_id, building_id => q.building_id, status => q.status, channel => q.channel,
        from => q.from, to => q.to, min_amount => q.min_amount, max_amount => q.max_amount,
        payer => q.payer, number => q.number,
    };
    let project_id = ProjectId::given(q.project_id.as_deref());
    let found = queries::receipts(&state.services, &actor, &q).await?;
    let channels = loupan_domain::finance::ReceiptChannel::names();
    render(
        &state,
        "finance_receipt_query.html",
        context! {
            q => form, project_id => project_id.clone(), projects => projects(&state, &actor).await?,
            buildings => buildings(&state, &actor, project_id.as_ref()).await?,
            statuses => loupan_domain::finance::ReceiptStatus::names(), channels => channels,
            items => found.items.iter().map(|r| context! {
                id => r.id, number => r.number, received_on => r.received_on.to_string(), contract_id => r.contract_id,
                subscription_id => r.subscription_id, deal => r.deal_number, unit => r.unit_number,
                customer => r.customer_name, payer => r.payer, channel => r.channel, status => r.status,
                amount => r.amount.to_string(), reversed => r.reversed_by.is_some() || r.reverses.is_some(),
            }).collect::<Vec<_>>(),
            count => found.count, total => found.total.to_string(), truncated => found.truncated,
            max_rows => queries::MAX_ROWS, export => export,
            next => next_page("/finance/receipts", &conditions, &found.next_cursor),
            ..base_context(&actor, lang, NAV)
        },
    )
}

async fn instalment_query(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<queries::InstalmentQuery>,
) -> Result<Html<String>, AppError> {
    let conditions = query_string(&[
        ("project_id", &q.project_id),
        ("building_id", &q.building_id),
        ("kind", &q.kind),
        ("due_from", &q.due_from),
        ("due_to", &q.due_to),
        ("state", &q.state),
        ("as_of", &q.as_of),
    ]);
    let export = format!("/api/v1/finance/queries/instalments/export?{conditions}");
    let form = context! {
        project_id => q.project_id, building_id => q.building_id, kind => q.kind, due_from => q.due_from,
        due_to => q.due_to, state => q.state,
    };
    let project_id = ProjectId::given(q.project_id.as_deref());
    let found = queries::instalments(&state.services, &actor, &q).await?;
    render(
        &state,
        "finance_instalment_query.html",
        context! {
            q => form, as_of => found.as_of.to_string(), project_id => project_id.clone(),
            projects => projects(&state, &actor).await?,
            buildings => buildings(&state, &actor, project_id.as_ref()).await?,
            kinds => loupan_domain::sales::TermKind::ALL.map(|k| k.name()), states => loupan_domain::finance::InstalmentState::names(),
            items => found.items.iter().map(|i| context! {
                contract_id => i.contract_id, contract => i.contract_number, unit => i.unit_number,
                customer => i.customer_name, phone => i.customer_phone, agent => i.agent_name, seq => i.seq,
                kind => i.kind, due_date => i.due_date.to_string(), amount => i.amount.to_string(),
                paid => i.paid.to_string(), unpaid => i.unpaid.to_string(), days_overdue => i.days_overdue,
            }).collect::<Vec<_>>(),
            count => found.count, amount => found.amount.to_string(), paid => found.paid.to_string(),
            unpaid => found.unpaid.to_string(), truncated => found.truncated, max_rows => queries::MAX_ROWS,
            export => export, next => next_page("/finance/plans", &conditions, &found.next_cursor),
            ..base_context(&actor, lang, NAV)
        },
    )
}

#[derive(Deserialize, Default)]
struct AgeingQuery {
    as_of: Option<String>,
    project_id: Option<String>,
}

/// 帐龄 in the buckets of the chosen project (the company's over all), with
/// the form that sets them for those who may.
async fn ageing(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<AgeingQuery>,
) -> Result<Response, AppError> {
    ageing_page(&state, &actor, lang, q, None, Value::UNDEFINED, StatusCode::OK).await
}

async fn ageing_page(
    state: &AppState,
    actor: &loupan_service::Actor,
    lang: Lang,
    q: AgeingQuery,
    typed: Option<String>,
    errors: Value,
    status: StatusCode,
) -> Result<Response, AppError> {
    let as_of_text = q.as_of.filter(|d| !d.is_empty()).unwrap_or_else(|| state.services.clock.today().to_string());
    let as_of = chrono::NaiveDate::parse_from_str(&as_of_text, "%Y-%m-%d")
        .map_err(|_| AppError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", "as_of", "invalid_date"))?;
    let project_id = ProjectId::given(q.project_id.as_deref());
    let project_id = project_id.as_ref();
    // A group owes on tens of thousands of contracts: the page lists the most
    // overdue (one more is read to know whether there are others).
    const PAGE: usize = 500;
    let mut report =
        loupan_service::finance::ageing(&state.services, actor, as_of, project_id, Some(PAGE as u64 + 1)).await?;
    let shown_all = report.contracts.len() <= PAGE;
    report.contracts.truncate(PAGE);
    let setting = settings::ageing_setting(&state.services, actor, project_id).await?;
    let row = |amounts: &std::collections::BTreeMap<String, loupan_domain::Money>| -> Vec<String> {
        report.buckets.iter().map(|b| amounts.get(b).map(ToString::to_string).unwrap_or_default()).collect()
    };
    let contracts: Vec<Value> = report
        .contracts
        .iter()
        .filter(|c| c.amounts.values().any(|m| !m.is_zero()))
        .map(|c| context! { id => c.contract_id.clone(), number => c.number.clone(), amounts => row(&c.amounts) })
        .collect();
    let limits = setting.limits.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
    // Finance sets a project's buckets; the company's need sight of every project.
    let may_set = actor.can(Permission::AuditReceipts) && (project_id.is_some() || actor.visible_projects().is_none());
    let html = render(
        state,
        "ageing.html",
        context! { as_of => as_of_text, buckets => report.buckets, totals => row(&report.totals), contracts => contracts,
        project_id => project_id, projects => projects(state, actor).await?,
        setting => context! { limits => typed.unwrap_or(limits), source => setting.source, may_set => may_set },
        errors => errors, shown_all => shown_all, page_size => PAGE,
        source => crate::views::data_source(report.source),
        ..base_context(actor, lang, NAV) },
    )?;
    Ok((status, html).into_response())
}

/// Saves the buckets typed as `30, 60, 90` for the chosen project or the
/// company; an empty field returns a project to the company's buckets.
async fn set_buckets(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    form: FormData,
) -> Result<Response, AppError> {
    let project_id = ProjectId::given(form.get("project_id"));
    let typed = form.get("limits").unwrap_or_default().trim().to_owned();
    let saved = async {
        let limits = if typed.is_empty() { None } else { Some(settings::parse_limits(&typed)?) };
        settings::set_ageing_buckets(&state.services, &actor, project_id.as_ref(), limits).await
    }
    .await;
    let q = AgeingQuery {
        as_of: form.get("as_of").map(str::to_owned),
        project_id: project_id.as_ref().map(ProjectId::to_string),
    };
    match saved {
        Ok(_) => {
            let target = match &project_id {
                Some(p) => format!("/finance/ageing?project_id={p}"),
                None => "/finance/ageing".to_owned(),
            };
            Ok(Redirect::to(&target).into_response())
        }
        Err(e @ ServiceError::Invalid(_)) => {
            ageing_page(
                &state,
                &actor,
                lang,
                q,
                Some(typed),
                field_messages(lang, &e),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/finance/refunds", get(refunds))
        .route("/finance/refunds/{id}/{step}", axum::routing::post(refund_step))
        .route("/finance/receipt-books", get(receipt_books).post(register_book))
        .route("/finance/receipt-books/{id}", get(receipt_book))
        .route("/finance/receipt-books/{id}/void", axum::routing::post(void_number))
        .route("/finance/ledger", get(ledger))
        .route("/finance/ageing", get(ageing))
        .route("/finance/ageing/buckets", axum::routing::post(set_buckets))
        .route("/finance/receipts", get(receipt_query))
        .route("/finance/plans", get(instalment_query))
        .route("/finance/arrears", get(arrears))
        .route("/finance/reconciliation", get(reconciliation))
        .route("/buildings/{id}/finance", get(finance_chart))
}
