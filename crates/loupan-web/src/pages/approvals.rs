//! Approval pages: the inbox and one's own requests, a request with its trail
//! and the forms to decide, comment and attach; delegation while away; the
//! notifications under the bell; and, for admins, flow definitions, webhooks
//! and the job queue.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use loupan_domain::Role;
use loupan_domain::approvals::{ApprovalStatus, ApproverKind, Approvers, Op, RequestKind};
use loupan_domain::ids::UserId;
use loupan_service::approvals::{self, Decision, Request};
use loupan_service::{
    Actor, ServiceError, platform::jobs, platform::notifications, platform::users, platform::webhooks,
};
use minijinja::{Value, context};
use serde::Deserialize;

use crate::api::approvals::{ApproversDto, ConditionDto, StepDto, parse_steps};
use crate::extract::{Authed, FormData};
use crate::i18n::{self, Lang};
use crate::pages::{base_context, field_messages, render};
use crate::{AppError, AppState};

fn request_view(r: &Request, lang: Lang) -> Value {
    context! {
        id => r.id.clone(), kind => r.kind.clone(), summary => crate::views::said_or(lang, r.summary_said.as_ref(), &r.summary), status => r.status.clone(),
        submitter => r.submitter_name.clone(), at => r.created_at.to_rfc3339(), flow_version => r.flow_version,
        decided_at => r.decided_at.map(|d| d.to_rfc3339()), facts => r.facts.clone(),
    }
}

#[derive(Deserialize)]
struct BoxQuery {
    #[serde(rename = "box")]
    which: Option<String>,
}

async fn list_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<BoxQuery>,
) -> Result<Html<String>, AppError> {
    let s = &state.services;
    let which = q.which.unwrap_or_else(|| "pending".into());
    let rows: Vec<Value> = match which.as_str() {
        "mine" => approvals::submitted(s, &actor, false).await?.iter().map(|r| request_view(r, lang)).collect(),
        "all" => approvals::all(s, &actor, None).await?.iter().map(|r| request_view(r, lang)).collect(),
        _ => approvals::inbox(s, &actor)
            .await?
            .into_iter()
            .map(|i| {
                context! { step => i.step_name, due_at => i.due_at.map(|d| d.to_rfc3339()),
                on_behalf_of => i.on_behalf_of, ..request_view(&i.request, lang) }
            })
            .collect(),
    };
    let can_all = actor.can(loupan_domain::Permission::ReadAudit);
    render(
        &state,
        "approvals.html",
        context! { rows => rows, which => which, can_all => can_all, ..base_context(&actor, lang, "/approvals") },
    )
}

async fn detail_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    id: &str,
    errors: Value,
    status: StatusCode,
) -> Result<Response, AppError> {
    let d = approvals::detail(&state.services, actor, id).await?;
    let steps: Vec<Value> = d
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let tasks: Vec<Value> = d
                .tasks
                .iter()
                .filter(|t| usize::try_from(t.step).ok() == Some(i))
                .map(|t| {
                    context! { approver => t.approver_name.clone(), status => t.status.clone(), by => t.acted_by_name.clone(),
                    comment => t.comment.clone(), due_at => t.due_at.map(|x| x.to_rfc3339()),
                    acted_at => t.acted_at.map(|x| x.to_rfc3339()), escalated => t.escalated }
                })
                .collect();
            context! { name => s.name.clone(), tasks => tasks, rule => approver_text(lang, &s.approvers),
            condition => s.condition.as_ref().map(|c| format!("{} {} {}", i18n::t(lang, &format!("fact.{}", c.fact)), c.op.symbol(), c.value)),
            current => d.request.status == ApprovalStatus::Pending && usize::try_from(d.request.current_step).ok() == Some(i),
            skipped => tasks_empty_and_passed(&d, i) }
        })
        .collect();
    let events: Vec<Value> = d
        .events
        .iter()
        .map(|e| context! { action => e.action.clone(), actor => e.actor_name.clone(), body => e.body.clone(), at => e.created_at.to_rfc3339() })
        .collect();
    let attachments: Vec<Value> = d
        .attachments
        .iter()
        .map(|a| context! { id => a.id.clone(), name => a.file_name.clone(), size => a.size, by => a.uploaded_by.clone(), at => a.created_at.to_rfc3339() })
        .collect();
    let html = render(
        state,
        "approval.html",
        context! {
            r => request_view(&d.request, lang), steps => steps, events => events, attachments => attachments,
            subject_link => subject_link(&d.request), can_decide => d.can_decide, can_resubmit => d.can_resubmit,
            can_withdraw => d.can_withdraw, errors => errors,
            ..base_context(actor, lang, "/approvals")
        },
    )?;
    Ok((status, html).into_response())
}

/// A step with no tasks that the request has moved past: its condition did not hold.
fn tasks_empty_and_passed(d: &approvals::Detail, step: usize) -> bool {
    !d.tasks.iter().any(|t| usize::try_from(t.step).ok() == Some(step))
        && (d.request.status != ApprovalStatus::Pending
            || usize::try_from(d.request.current_step).is_ok_and(|c| c > step))
}

fn subject_link(r: &Request) -> Option<String> {
    Some(match r.kind {
        RequestKind::SpecialDiscount | RequestKind::NonStandardContract => format!("/units/{}", r.subject_id),
        RequestKind::PriceAdjustment => format!("/price-adjustments/{}", r.subject_id),
        RequestKind::DealChange => "/sales/changes".into(),
        RequestKind::CostContract => format!("/cost/contracts/{}", r.subject_id),
        RequestKind::CostVariation => format!("/cost/variations/{}", r.subject_id),
        RequestKind::PlanAdjustment => match &r.project_id {
            Some(p) => format!("/cost/projects/{p}#plan"),
            None => return None,
        },
        RequestKind::RefundPayment => "/finance/refunds".into(),
        RequestKind::DepositTransfer => format!("/contracts/{}", r.subject_id),
        RequestKind::AreaCompensation => format!("/aftersales/batches/{}", r.subject_id),
    })
}

fn approver_text(lang: Lang, a: &Approvers) -> String {
    match a {
        Approvers::Role { role } => i18n::t(lang, &format!("role.{}", role.name())),
        Approvers::User { user_id } => format!("{} {user_id}", i18n::t(lang, "flows.approver_user")),
        Approvers::Manager => i18n::t(lang, "flows.approver_manager"),
    }
}

async fn show(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    detail_page(&state, &actor, lang, &id, Value::UNDEFINED, StatusCode::OK).await
}

async fn act(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path((id, action)): Path<(String, String)>,
    form: FormData,
) -> Result<Response, AppError> {
    let s = &state.services;
    let comment = form.get("comment");
    let result = match action.as_str() {
        "approve" => approvals::decide(s, &actor, &id, Decision::Approve, comment).await.map(|_| ()),
        "reject" => approvals::decide(s, &actor, &id, Decision::Reject, comment).await.map(|_| ()),
        "return" => approvals::decide(s, &actor, &id, Decision::Return, comment).await.map(|_| ()),
        "resubmit" => approvals::resubmit(s, &actor, &id, comment).await.map(|_| ()),
        "withdraw" => approvals::withdraw(s, &actor, &id, comment).await.map(|_| ()),
        "comment" => approvals::comment(s, &actor, &id, comment).await,
        _ => return Err(AppError::new(StatusCode::NOT_FOUND, "route_not_found")),
    };
    form_post!(lang, result, |()| format!("/approvals/{id}"), |errors| detail_page(
        &state,
        &actor,
        lang,
        &id,
        errors,
        StatusCode::UNPROCESSABLE_ENTITY
    )
    .await)
}

async fn upload(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<String>,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, AppError> {
    let mut multipart = multipart.map_err(|_| AppError::new(StatusCode::BAD_REQUEST, "invalid_input"))?;
    let (mut name, mut content_type, mut bytes) = (String::new(), String::new(), Vec::new());
    while let Some(field) =
        multipart.next_field().await.map_err(|_| AppError::new(StatusCode::BAD_REQUEST, "invalid_input"))?
    {
        if field.name() == Some("file") {
            name = field.file_name().unwrap_or_default().to_owned();
            content_type = field.content_type().unwrap_or_default().to_owned();
            bytes = field
                .bytes()
                .await
                .map_err(|_| AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"))?
                .to_vec();
        }
    }
    form_post!(
        lang,
        approvals::attach(&state.services, &actor, &id, &name, &content_type, bytes).await,
        |_| format!("/approvals/{id}"),
        |errors| detail_page(&state, &actor, lang, &id, errors, StatusCode::UNPROCESSABLE_ENTITY).await
    )
}

async fn download(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path((id, attachment_id)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let (name, content_type, bytes) = approvals::attachment_file(&state.services, &actor, &id, &attachment_id).await?;
    Ok(crate::api::approvals::attachment_response(&name, &content_type, bytes))
}

async fn delegations_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    errors: Value,
    status: StatusCode,
) -> Result<Response, AppError> {
    let rows: Vec<Value> = approvals::delegations(&state.services, actor)
        .await?
        .into_iter()
        .map(|d| {
            context! { id => d.id, mine => Some(d.from_user_id.as_str()) == actor.user_id.as_ref().map(UserId::as_str), from => d.from_name,
            to => d.to_name, starts => d.starts_at.to_rfc3339(), ends => d.ends_at.to_rfc3339(), revoked => d.revoked }
        })
        .collect();
    let people: Vec<Value> = users::colleagues(&state.services, actor)
        .await?
        .into_iter()
        .filter(|c| Some(c.id.as_str()) != actor.user_id.as_ref().map(UserId::as_str))
        .map(|c| context! { id => c.id, name => c.display_name, username => c.username })
        .collect();
    let today = state.services.clock.today().to_string();
    let html = render(
        state,
        "delegations.html",
        context! { rows => rows, people => people, today => today, errors => errors,
        ..base_context(actor, lang, "/approvals") },
    )?;
    Ok((status, html).into_response())
}

async fn delegations(State(state): State<AppState>, Authed(actor): Authed, lang: Lang) -> Result<Response, AppError> {
    delegations_page(&state, &actor, lang, Value::UNDEFINED, StatusCode::OK).await
}

async fn delegate(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    form: FormData,
) -> Result<Response, AppError> {
    let new = approvals::NewDelegation {
        to_user_id: form.text("to_user_id"),
        starts_on: form.text("starts_on"),
        ends_on: form.text("ends_on"),
    };
    form_post!(lang, approvals::delegate(&state.services, &actor, new).await, |_| "/delegations", |errors| {
        delegations_page(&state, &actor, lang, errors, StatusCode::UNPROCESSABLE_ENTITY).await
    })
}

async fn revoke(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    approvals::revoke_delegation(&state.services, &actor, &id).await?;
    Ok(Redirect::to("/delegations").into_response())
}

async fn notifications_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
) -> Result<Html<String>, AppError> {
    let rows: Vec<Value> = notifications::list(&state.services, &actor, false)
        .await?
        .into_iter()
        .map(|n| {
            context! { title => crate::views::said_or(lang, n.title_said.as_ref(), &n.title), id => n.id, kind => n.kind, body => n.body, read => n.read,
            at => n.created_at.to_rfc3339() }
        })
        .collect();
    render(&state, "notifications.html", context! { rows => rows, ..base_context(&actor, lang, "/notifications") })
}

/// Opening a notification marks it read and goes where it points.
async fn open_notification(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let n = notifications::mark_read(&state.services, &actor, &id).await?;
    // Links are written by Loupan itself; still, only local paths are followed.
    let to = if n.link.starts_with('/') && !n.link.starts_with("//") { n.link } else { "/notifications".into() };
    Ok(Redirect::to(&to).into_response())
}

async fn read_all(State(state): State<AppState>, Authed(actor): Authed) -> Result<Response, AppError> {
    notifications::mark_all_read(&state.services, &actor).await?;
    Ok(Redirect::to("/notifications").into_response())
}

// ---- Admins: flows ----

async fn flows_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
) -> Result<Html<String>, AppError> {
    let flows: Vec<Value> = approvals::flows(&state.services, &actor)
        .await?
        .into_iter()
        .map(|f| {
            let steps: Vec<Value> = f
                .steps
                .iter()
                .map(|s| {
                    context! { name => s.name.clone(), rule => approver_text(lang, &s.approvers),
                    condition => s.condition.as_ref().map(|c| format!("{} {} {}", i18n::t(lang, &format!("fact.{}", c.fact)), c.op.symbol(), c.value)),
                    deadline => s.deadline_hours }
                })
                .collect();
            context! { kind => f.kind, version => f.version, steps => steps, by => f.created_by }
        })
        .collect();
    render(&state, "flows.html", context! { flows => flows, ..base_context(&actor, lang, "/admin/approval-flows") })
}

/// Rows of the flow form: the steps, then blank rows to add more.
const FORM_ROWS: usize = 6;

async fn flow_form(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    kind: &str,
    typed: Option<Vec<StepDto>>,
    errors: Value,
    status: StatusCode,
) -> Result<Response, AppError> {
    let history = approvals::flow_history(&state.services, actor, kind).await?;
    let current = history.first().cloned();
    let steps = typed.unwrap_or_else(|| {
        current.as_ref().map(|f| f.steps.iter().map(crate::api::approvals::step_dto).collect()).unwrap_or_default()
    });
    let mut rows: Vec<Value> = steps.iter().map(Value::from_serialize).collect();
    while rows.len() < FORM_ROWS.max(steps.len() + 2) {
        rows.push(Value::from_serialize(serde_json::json!({"name": "", "approvers": {"type": ""}})));
    }
    let people: Vec<Value> = users::colleagues(&state.services, actor)
        .await?
        .into_iter()
        .map(|c| context! { id => c.id, name => c.display_name })
        .collect();
    let facts = current.as_ref().map(|f| f.facts.clone()).unwrap_or_default();
    let versions: Vec<Value> = history
        .iter()
        .filter(|f| f.version > 0)
        .map(|f| context! { version => f.version, by => f.created_by.clone(), at => f.created_at.map(|t| t.to_rfc3339()), steps => f.steps.len() })
        .collect();
    let html = render(
        state,
        "flow_edit.html",
        context! {
            kind => kind, version => current.map(|f| f.version).unwrap_or(0), rows => rows, people => people,
            roles => Role::ALL.iter().map(|r| r.name()).collect::<Vec<_>>(), facts => facts,
            ops => Op::ALL.iter().map(|o| context! { name => o.name(), symbol => o.symbol() }).collect::<Vec<_>>(),
            versions => versions, errors => errors,
            ..base_context(actor, lang, "/admin/approval-flows")
        },
    )?;
    Ok((status, html).into_response())
}

async fn edit_flow(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(kind): Path<String>,
) -> Result<Response, AppError> {
    flow_form(&state, &actor, lang, &kind, None, Value::UNDEFINED, StatusCode::OK).await
}

/// The form's rows (`name_0`, `approver_type_0`, …) into steps; blank rows are dropped.
fn steps_from_form(form: &FormData) -> Vec<StepDto> {
    let mut steps = Vec::new();
    for i in 0..20 {
        let get = |f: &str| form.get(&format!("{f}_{i}")).map(str::trim).unwrap_or_default().to_owned();
        let name = get("name");
        let kind = get("approver_type");
        if name.is_empty() && kind.is_empty() {
            continue;
        }
        let approvers = |kind: String, role: String, user: String| ApproversDto {
            role: (ApproverKind::parse(&kind) == Some(ApproverKind::Role)).then_some(role),
            user_id: (ApproverKind::parse(&kind) == Some(ApproverKind::User)).then_some(user),
            kind,
        };
        let fact = get("fact");
        let escalate = get("escalate_type");
        steps.push(StepDto {
            name,
            approvers: approvers(kind, get("role"), get("user_id")),
            mode: Some(get("mode")).filter(|m| !m.is_empty()),
            condition: (!fact.is_empty()).then(|| ConditionDto { fact, op: get("op"), value: get("value") }),
            deadline_hours: get("deadline_hours").parse().ok(),
            escalate_to: (!escalate.is_empty())
                .then(|| approvers(escalate, get("escalate_role"), get("escalate_user_id"))),
        });
    }
    steps
}

async fn save_flow(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(kind): Path<String>,
    form: FormData,
) -> Result<Response, AppError> {
    let typed = steps_from_form(&form);
    let steps = match parse_steps(&typed) {
        Ok(steps) => steps,
        Err(invalid) => {
            let errors = field_messages(lang, &ServiceError::Invalid(invalid));
            return flow_form(&state, &actor, lang, &kind, Some(typed), errors, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    form_post!(
        lang,
        approvals::save_flow(&state.services, &actor, &kind, steps).await,
        |_| "/admin/approval-flows",
        |errors| {
            let errors = errors;
            flow_form(&state, &actor, lang, &kind, Some(typed), errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    )
}

// ---- Admins: webhooks and jobs ----

async fn webhooks_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    created: Option<webhooks::CreatedSubscription>,
    errors: Value,
    status: StatusCode,
) -> Result<Response, AppError> {
    let mut rows = Vec::new();
    for s in webhooks::subscriptions(&state.services, actor).await? {
        let deliveries: Vec<Value> = webhooks::deliveries(&state.services, actor, &s.id)
            .await?
            .into_iter()
            .take(10)
            .map(|d| {
                context! { event_type => d.event_type, status => d.status, attempts => d.attempts,
                code => d.last_status_code, error => d.last_error, at => d.created_at.to_rfc3339() }
            })
            .collect();
        rows.push(context! { id => s.id, url => s.url, types => s.event_types, description => s.description,
        active => s.active, deliveries => deliveries });
    }
    let html = render(
        state,
        "webhooks.html",
        context! {
            rows => rows, event_types => webhooks::EVENT_TYPES.to_vec(), errors => errors,
            created => created.map(|c| context! { url => c.subscription.url, secret => c.secret }),
            ..base_context(actor, lang, "/admin/webhooks")
        },
    )?;
    Ok((status, html).into_response())
}

async fn webhooks_list(State(state): State<AppState>, Authed(actor): Authed, lang: Lang) -> Result<Response, AppError> {
    webhooks_page(&state, &actor, lang, None, Value::UNDEFINED, StatusCode::OK).await
}

async fn create_webhook(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    form: FormData,
) -> Result<Response, AppError> {
    let new = webhooks::NewSubscription {
        url: form.text("url"),
        event_types: form.all("event_types"),
        description: form.text("description"),
    };
    match webhooks::create_subscription(&state.services, &actor, new).await {
        // The secret is shown on this response only, never again.
        Ok(created) => webhooks_page(&state, &actor, lang, Some(created), Value::UNDEFINED, StatusCode::CREATED).await,
        Err(e @ ServiceError::Invalid(_)) => {
            webhooks_page(&state, &actor, lang, None, field_messages(lang, &e), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn toggle_webhook(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path((id, action)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let active = match action.as_str() {
        "activate" => true,
        "deactivate" => false,
        _ => return Err(AppError::new(StatusCode::NOT_FOUND, "route_not_found")),
    };
    webhooks::set_active(&state.services, &actor, &id, active).await?;
    Ok(Redirect::to("/admin/webhooks").into_response())
}

#[derive(Deserialize)]
struct JobQuery {
    status: Option<String>,
    kind: Option<String>,
}

async fn jobs_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<JobQuery>,
) -> Result<Html<String>, AppError> {
    let o = jobs::overview(&state.services, &actor, q.status.as_deref(), q.kind.as_deref()).await?;
    let rows: Vec<Value> = o
        .jobs
        .into_iter()
        .map(|j| {
            context! { id => j.id, kind => j.kind, status => j.status, attempts => j.attempts, max => j.max_attempts,
            run_at => j.run_at.to_rfc3339(), error => j.last_error, done => j.progress_done, total => j.progress_total,
            result => j.result, at => j.created_at.to_rfc3339() }
        })
        .collect();
    let schedules: Vec<Value> = o
        .schedules
        .into_iter()
        .map(|s| context! { name => s.name, kind => s.kind, every => s.interval_seconds, next => s.next_run_at.to_rfc3339(), last => s.last_run_at.map(|t| t.to_rfc3339()) })
        .collect();
    let counts: Vec<Value> = o.counts.into_iter().map(|(status, n)| context! { status => status, n => n }).collect();
    render(
        &state,
        "jobs.html",
        context! { rows => rows, schedules => schedules, counts => counts, status => q.status, kind => q.kind,
        kinds => jobs::KINDS.to_vec(), ..base_context(&actor, lang, "/admin/jobs") },
    )
}

async fn retry_job(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    jobs::retry(&state.services, &actor, &id).await?;
    Ok(Redirect::to("/admin/jobs").into_response())
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/approvals", get(list_page))
        .route("/approvals/{id}", get(show))
        .route("/approvals/{id}/attachments", post(upload))
        .route("/approvals/{id}/attachments/{attachment_id}", get(download))
        .route("/approvals/{id}/do/{action}", post(act))
        .route("/delegations", get(delegations).post(delegate))
        .route("/delegations/{id}/revoke", post(revoke))
        .route("/notifications", get(notifications_page))
        .route("/notifications/read-all", post(read_all))
        .route("/notifications/{id}/open", post(open_notification))
        .route("/admin/approval-flows", get(flows_page))
        .route("/admin/approval-flows/{kind}", get(edit_flow).post(save_flow))
        .route("/admin/webhooks", get(webhooks_list).post(create_webhook))
        .route("/admin/webhooks/{id}/{action}", post(toggle_webhook))
        .route("/admin/jobs", get(jobs_page))
        .route("/admin/jobs/{id}/retry", post(retry_job))
}
