//! Approvals (API.md): the caller's inbox, deciding, the trail with comments
//! and attachments; flow definitions for admins; delegation while away; the
//! notifications under the bell.

use loupan_domain::ids::{ProjectId, UserId};
use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use loupan_domain::Invalid;
use loupan_domain::Role;
use loupan_domain::approvals::{
    ApprovalStatus, ApproverKind, Approvers, Condition, Mode, Op, RequestKind, Step, TaskStatus,
};
use loupan_service::ServiceError;
use loupan_service::approvals::{self, Decision, Detail, InboxItem, Request};
use loupan_service::platform::notifications::{self, Notification};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::{Problem, RoleName};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use crate::i18n::Lang;
use crate::{AppError, AppState};

/// An approval request. The inbox fields are set only in `state=pending` lists.
#[derive(Serialize, ToSchema)]
pub struct ApprovalDto {
    pub id: String,
    /// `special_discount`, `deal_change`, `price_adjustment`, `cost_contract`, `cost_variation`, …
    pub kind: RequestKind,
    pub project_id: Option<ProjectId>,
    pub subject_type: String,
    pub subject_id: String,
    /// What the request is, in the caller's language (`Accept-Language`).
    pub summary: String,
    /// The facts the flow's conditions read, as decimals.
    pub facts: BTreeMap<String, String>,
    /// `pending`, `returned`, `approved`, `rejected` or `withdrawn`.
    pub status: ApprovalStatus,
    pub current_step: i32,
    /// The version of the flow the request runs on.
    pub flow_version: i32,
    pub submitted_by: String,
    pub submitter_name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    pub step_name: Option<String>,
    pub waiting_since: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    /// Set when the caller decides for someone who delegated to them.
    pub on_behalf_of: Option<String>,
}

impl ApprovalDto {
    pub fn of(r: Request, lang: Lang) -> Self {
        ApprovalDto {
            summary: crate::views::said_or(lang, r.summary_said.as_ref(), &r.summary),
            id: r.id,
            kind: r.kind,
            project_id: r.project_id,
            subject_type: r.subject_type,
            subject_id: r.subject_id,
            facts: r.facts,
            status: r.status,
            current_step: r.current_step,
            flow_version: r.flow_version,
            submitted_by: r.submitted_by,
            submitter_name: r.submitter_name,
            created_at: r.created_at,
            updated_at: r.updated_at,
            decided_at: r.decided_at,
            step_name: None,
            waiting_since: None,
            due_at: None,
            on_behalf_of: None,
        }
    }

    pub fn of_inbox(i: InboxItem, lang: Lang) -> Self {
        ApprovalDto {
            step_name: Some(i.step_name),
            waiting_since: Some(i.waiting_since),
            due_at: i.due_at,
            on_behalf_of: i.on_behalf_of,
            ..ApprovalDto::of(i.request, lang)
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ApprovalList {
    pub items: Vec<ApprovalDto>,
    pub next_cursor: Option<String>,
}

/// Who decides a step.
#[derive(Serialize, Deserialize, ToSchema, Clone)]
pub struct ApproversDto {
    /// `role` (in the request's project), `user` or `manager` (the submitter's).
    #[serde(rename = "type")]
    #[schema(value_type = ApproverKind)]
    pub kind: String,
    /// For `role`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<RoleName>)]
    pub role: Option<String>,
    /// For `user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

#[derive(Serialize, Deserialize, ToSchema, Clone)]
pub struct ConditionDto {
    /// One of the kind's facts (`discount_percent`, `amount`, ...).
    pub fact: String,
    /// `gt`, `ge`, `lt`, `le` or `eq`.
    #[schema(value_type = crate::api::OperatorName)]
    pub op: String,
    /// A decimal with at most two places.
    pub value: String,
}

#[derive(Serialize, Deserialize, ToSchema, Clone)]
pub struct StepDto {
    pub name: String,
    pub approvers: ApproversDto,
    /// `any` (one approver decides, the default) or `all`.
    #[serde(default)]
    #[schema(schema_with = crate::api::or_blank::<crate::api::ModeName>)]
    pub mode: Option<String>,
    #[serde(default)]
    pub condition: Option<ConditionDto>,
    #[serde(default)]
    pub deadline_hours: Option<u32>,
    #[serde(default)]
    pub escalate_to: Option<ApproversDto>,
}

fn approvers_dto(a: &Approvers) -> ApproversDto {
    match a {
        Approvers::Role { role } => {
            ApproversDto { kind: ApproverKind::Role.name().into(), role: Some(role.name().into()), user_id: None }
        }
        Approvers::User { user_id } => {
            ApproversDto { kind: ApproverKind::User.name().into(), role: None, user_id: Some(user_id.to_string()) }
        }
        Approvers::Manager => ApproversDto { kind: ApproverKind::Manager.name().into(), role: None, user_id: None },
    }
}

pub fn step_dto(s: &Step) -> StepDto {
    StepDto {
        name: s.name.clone(),
        approvers: approvers_dto(&s.approvers),
        mode: Some(if s.mode == Mode::All { "all" } else { "any" }.into()),
        condition: s.condition.as_ref().map(|c| ConditionDto {
            fact: c.fact.clone(),
            op: c.op.name().into(),
            value: c.value.clone(),
        }),
        deadline_hours: s.deadline_hours,
        escalate_to: s.escalate_to.as_ref().map(approvers_dto),
    }
}

fn parse_approvers(a: &ApproversDto, field: String) -> Result<Approvers, Invalid> {
    let bad = |code| Invalid::one(field.clone(), code);
    match ApproverKind::parse(&a.kind).ok_or_else(|| bad("unknown_approver_type"))? {
        ApproverKind::Role => {
            a.role.as_deref().and_then(Role::parse).map(|role| Approvers::Role { role }).ok_or(bad("unknown_role"))
        }
        ApproverKind::User => Ok(Approvers::User { user_id: a.user_id.clone().unwrap_or_default().into() }),
        ApproverKind::Manager => Ok(Approvers::Manager),
    }
}

/// A flow as typed (here or in the page's form) into the domain's steps.
pub fn parse_steps(steps: &[StepDto]) -> Result<Vec<Step>, Invalid> {
    let mut out = Vec::with_capacity(steps.len());
    for (i, s) in steps.iter().enumerate() {
        let field = |f: &str| format!("steps[{i}].{f}");
        let bad = |f: &str, code| Invalid::one(field(f), code);
        let mode = match s.mode.as_deref().unwrap_or("any") {
            "any" | "" => Mode::Any,
            "all" => Mode::All,
            _ => return Err(bad("mode", "unknown_mode")),
        };
        let condition = match &s.condition {
            Some(c) if !c.fact.is_empty() => Some(Condition {
                fact: c.fact.clone(),
                op: Op::parse(&c.op).ok_or_else(|| bad("condition", "unknown_operator"))?,
                value: c.value.trim().to_owned(),
            }),
            _ => None,
        };
        out.push(Step {
            name: s.name.clone(),
            approvers: parse_approvers(&s.approvers, field("approvers"))?,
            mode,
            condition,
            deadline_hours: s.deadline_hours,
            escalate_to: s.escalate_to.as_ref().map(|e| parse_approvers(e, field("escalate_to"))).transpose()?,
        });
    }
    Ok(out)
}

#[derive(Serialize, ToSchema)]
pub struct TaskDto {
    pub step: i32,
    pub approver_id: UserId,
    pub approver_name: String,
    /// `pending`, `approved`, `rejected`, `returned` or `closed`.
    pub status: TaskStatus,
    pub acted_by_name: Option<String>,
    pub comment: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub acted_at: Option<DateTime<Utc>>,
    pub escalated: bool,
}

#[derive(Serialize, ToSchema)]
pub struct EventDto {
    /// `submitted`, `approved`, `rejected`, `returned`, `resubmitted`, `withdrawn`,
    /// `comment`, `attachment`, `reminded`, `escalated`, `no_approver`.
    pub action: String,
    pub actor_name: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct AttachmentDto {
    pub id: String,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub uploaded_by: String,
    pub created_at: DateTime<Utc>,
}

impl From<approvals::Attachment> for AttachmentDto {
    fn from(a: approvals::Attachment) -> Self {
        AttachmentDto {
            id: a.id,
            file_name: a.file_name,
            content_type: a.content_type,
            size: a.size,
            uploaded_by: a.uploaded_by,
            created_at: a.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ApprovalDetailDto {
    pub request: ApprovalDto,
    /// The steps of the flow version the request runs on.
    pub steps: Vec<StepDto>,
    pub tasks: Vec<TaskDto>,
    pub events: Vec<EventDto>,
    pub attachments: Vec<AttachmentDto>,
    pub can_decide: bool,
    pub can_resubmit: bool,
    pub can_withdraw: bool,
}

impl ApprovalDetailDto {
    pub fn of(d: Detail, lang: Lang) -> Self {
        ApprovalDetailDto {
            request: ApprovalDto::of(d.request, lang),
            steps: d.steps.iter().map(step_dto).collect(),
            tasks: d
                .tasks
                .into_iter()
                .map(|t| TaskDto {
                    step: t.step,
                    approver_id: t.approver_id,
                    approver_name: t.approver_name,
                    status: t.status,
                    acted_by_name: t.acted_by_name,
                    comment: t.comment,
                    due_at: t.due_at,
                    acted_at: t.acted_at,
                    escalated: t.escalated,
                })
                .collect(),
            events: d
                .events
                .into_iter()
                .map(|e| EventDto {
                    action: e.action,
                    actor_name: e.actor_name,
                    body: e.body,
                    created_at: e.created_at,
                })
                .collect(),
            attachments: d.attachments.into_iter().map(Into::into).collect(),
            can_decide: d.can_decide,
            can_resubmit: d.can_resubmit,
            can_withdraw: d.can_withdraw,
        }
    }
}

/// Which requests a list shows (documentation of `state`).
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum ApprovalListState {
    /// Waiting for the caller's decision (the default).
    Pending,
    /// Submitted by the caller.
    Mine,
    /// The caller's requests still pending or returned.
    Open,
    /// Every request (auditors).
    All,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ApprovalParams {
    /// `pending` (the default) when absent.
    #[param(value_type = Option<ApprovalListState>)]
    #[serde(default, deserialize_with = "crate::extract::named_param")]
    pub state: Option<String>,
    /// With `state=all`: only requests in this status.
    #[param(value_type = Option<ApprovalStatus>)]
    #[serde(default, deserialize_with = "crate::extract::named_param")]
    pub status: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/approvals", tag = "approvals", params(ApprovalParams),
    responses((status = 200, body = ApprovalList), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn list(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    ApiQuery(q): ApiQuery<ApprovalParams>,
) -> Result<Json<ApprovalList>, AppError> {
    let s = &state.services;
    // A status names requests only with `state=all`, but a wrong one is wrong with any state.
    let _: Option<ApprovalStatus> = loupan_service::error::status_filter("status", q.status.as_deref())?;
    let items: Vec<ApprovalDto> = match q.state.as_deref().unwrap_or("pending") {
        "pending" => approvals::inbox(s, &actor).await?.into_iter().map(|i| ApprovalDto::of_inbox(i, lang)).collect(),
        "mine" => approvals::submitted(s, &actor, false).await?.into_iter().map(|r| ApprovalDto::of(r, lang)).collect(),
        "open" => approvals::submitted(s, &actor, true).await?.into_iter().map(|r| ApprovalDto::of(r, lang)).collect(),
        "all" => approvals::all(s, &actor, q.status.as_deref())
            .await?
            .into_iter()
            .map(|r| ApprovalDto::of(r, lang))
            .collect(),
        _ => return Err(AppError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid_query", "state", "unknown_state")),
    };
    Ok(Json(ApprovalList { items, next_cursor: None }))
}

#[utoipa::path(get, path = "/api/v1/approvals/{id}", tag = "approvals",
    responses((status = 200, body = ApprovalDetailDto), (status = 404, body = Problem)))]
async fn detail(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ApprovalDetailDto>, AppError> {
    Ok(Json(ApprovalDetailDto::of(approvals::detail(&state.services, &actor, &id).await?, lang)))
}

#[derive(Deserialize, ToSchema, Default)]
pub struct CommentRequest {
    /// Optional to approve, resubmit and withdraw.
    pub comment: Option<String>,
}

/// A comment that must be given: to reject, to return, to comment.
#[derive(Deserialize, ToSchema, Default)]
pub struct RequiredCommentRequest {
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub comment: Option<String>,
}

impl From<RequiredCommentRequest> for CommentRequest {
    fn from(r: RequiredCommentRequest) -> Self {
        CommentRequest { comment: r.comment }
    }
}

async fn decide(
    state: &AppState,
    actor: &loupan_service::Actor,
    lang: Lang,
    id: &str,
    d: Decision,
    c: CommentRequest,
) -> Result<Json<ApprovalDto>, AppError> {
    Ok(Json(ApprovalDto::of(approvals::decide(&state.services, actor, id, d, c.comment.as_deref()).await?, lang)))
}

/// Approves the caller's step (or the step of someone who delegated to them).
#[utoipa::path(post, path = "/api/v1/approvals/{id}/approve", tag = "approvals", request_body = CommentRequest,
    responses((status = 200, body = ApprovalDto), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn approve(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<CommentRequest>,
) -> Result<Json<ApprovalDto>, AppError> {
    decide(&state, &actor, lang, &id, Decision::Approve, req).await
}

/// Rejects the request (a reason is required); nothing it asked for changes.
#[utoipa::path(post, path = "/api/v1/approvals/{id}/reject", tag = "approvals", request_body = RequiredCommentRequest,
    responses((status = 200, body = ApprovalDto), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn reject(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<RequiredCommentRequest>,
) -> Result<Json<ApprovalDto>, AppError> {
    decide(&state, &actor, lang, &id, Decision::Reject, req.into()).await
}

/// Returns the request to its submitter for changes (a note is required).
#[utoipa::path(post, path = "/api/v1/approvals/{id}/return", tag = "approvals", request_body = RequiredCommentRequest,
    responses((status = 200, body = ApprovalDto), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn return_to_submitter(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<RequiredCommentRequest>,
) -> Result<Json<ApprovalDto>, AppError> {
    decide(&state, &actor, lang, &id, Decision::Return, req.into()).await
}

/// The submitter sends a returned request through its flow again.
#[utoipa::path(post, path = "/api/v1/approvals/{id}/resubmit", tag = "approvals", request_body = CommentRequest,
    responses((status = 200, body = ApprovalDto), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn resubmit(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<CommentRequest>,
) -> Result<Json<ApprovalDto>, AppError> {
    Ok(Json(ApprovalDto::of(approvals::resubmit(&state.services, &actor, &id, req.comment.as_deref()).await?, lang)))
}

/// The submitter takes the request back; nothing it asked for changes.
#[utoipa::path(post, path = "/api/v1/approvals/{id}/withdraw", tag = "approvals", request_body = CommentRequest,
    responses((status = 200, body = ApprovalDto), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn withdraw(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<CommentRequest>,
) -> Result<Json<ApprovalDto>, AppError> {
    Ok(Json(ApprovalDto::of(approvals::withdraw(&state.services, &actor, &id, req.comment.as_deref()).await?, lang)))
}

#[utoipa::path(post, path = "/api/v1/approvals/{id}/comments", tag = "approvals", request_body = RequiredCommentRequest,
    responses((status = 201, body = ApprovalDetailDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn comment(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<RequiredCommentRequest>,
) -> Result<(StatusCode, Json<ApprovalDetailDto>), AppError> {
    approvals::comment(&state.services, &actor, &id, req.comment.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(ApprovalDetailDto::of(approvals::detail(&state.services, &actor, &id).await?, lang))))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AttachmentParams {
    /// The file's name as the user should see it.
    #[param(required = true, min_length = 1, pattern = "[^/\\\\\\s]\\s*$")]
    pub file_name: Option<String>,
}

/// Attaches the body as a file (its `Content-Type` is kept).
#[utoipa::path(post, path = "/api/v1/approvals/{id}/attachments", tag = "approvals", params(AttachmentParams),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = AttachmentDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn attach(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<AttachmentParams>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<AttachmentDto>), AppError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let name = q.file_name.unwrap_or_default();
    let a = approvals::attach(&state.services, &actor, &id, &name, content_type, body.to_vec()).await?;
    Ok((StatusCode::CREATED, Json(a.into())))
}

/// Sends an attachment as a download, whatever its type (never rendered inline).
pub fn attachment_response(name: &str, content_type: &str, bytes: Vec<u8>) -> Response {
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    if let Ok(v) = header::HeaderValue::from_str(content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    let ascii: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '_' }).collect();
    let encoded: String = name.bytes().map(|b| format!("%{b:02X}")).collect();
    if let Ok(v) =
        header::HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

#[utoipa::path(get, path = "/api/v1/approvals/{id}/attachments/{attachment_id}", tag = "approvals",
    responses((status = 200, content_type = "*/*", body = Vec<u8>, description = "The file as the type it was attached with"), (status = 404, body = Problem)))]
async fn download(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath((id, attachment_id)): ApiPath<(String, String)>,
) -> Result<Response, AppError> {
    let (name, content_type, bytes) = approvals::attachment_file(&state.services, &actor, &id, &attachment_id).await?;
    Ok(attachment_response(&name, &content_type, bytes))
}

#[derive(Serialize, ToSchema)]
pub struct FlowDto {
    pub kind: RequestKind,
    /// The facts this kind's conditions may use.
    pub facts: Vec<String>,
    /// 0 for the built-in default that has not been used or changed yet.
    pub version: i32,
    pub steps: Vec<StepDto>,
    pub created_by: String,
    pub created_at: Option<DateTime<Utc>>,
}

impl From<approvals::Flow> for FlowDto {
    fn from(f: approvals::Flow) -> Self {
        FlowDto {
            kind: f.kind,
            facts: f.facts.into_iter().map(str::to_owned).collect(),
            version: f.version,
            steps: f.steps.iter().map(step_dto).collect(),
            created_by: f.created_by,
            created_at: f.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct FlowList {
    pub items: Vec<FlowDto>,
    pub next_cursor: Option<String>,
}

/// The current flow of every kind of request.
#[utoipa::path(get, path = "/api/v1/approval-flows", tag = "approvals",
    responses((status = 200, body = FlowList), (status = 403, body = Problem)))]
async fn flows(State(state): State<AppState>, Authed(actor): Authed) -> Result<Json<FlowList>, AppError> {
    let items = approvals::flows(&state.services, &actor).await?.into_iter().map(Into::into).collect();
    Ok(Json(FlowList { items, next_cursor: None }))
}

/// Every version of a kind's flow, newest first.
#[utoipa::path(get, path = "/api/v1/approval-flows/{kind}", tag = "approvals",
    responses((status = 200, body = FlowList), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn flow_history(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(kind): ApiPath<String>,
) -> Result<Json<FlowList>, AppError> {
    let items = approvals::flow_history(&state.services, &actor, &kind).await?.into_iter().map(Into::into).collect();
    Ok(Json(FlowList { items, next_cursor: None }))
}

#[derive(Deserialize, ToSchema)]
pub struct SaveFlowRequest {
    pub steps: Vec<StepDto>,
}

/// Saves a new version of the kind's flow; requests already running keep theirs.
#[utoipa::path(put, path = "/api/v1/approval-flows/{kind}", tag = "approvals", request_body = SaveFlowRequest,
    responses((status = 200, body = FlowDto), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn save_flow(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(kind): ApiPath<String>,
    ApiJson(req): ApiJson<SaveFlowRequest>,
) -> Result<Json<FlowDto>, AppError> {
    let steps = parse_steps(&req.steps).map_err(ServiceError::from)?;
    Ok(Json(approvals::save_flow(&state.services, &actor, &kind, steps).await?.into()))
}

#[derive(Serialize, ToSchema)]
pub struct DelegationDto {
    pub id: String,
    pub from_user_id: UserId,
    pub from_name: String,
    pub to_user_id: UserId,
    pub to_name: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub revoked: bool,
}

impl From<approvals::Delegation> for DelegationDto {
    fn from(d: approvals::Delegation) -> Self {
        DelegationDto {
            id: d.id,
            from_user_id: d.from_user_id,
            from_name: d.from_name,
            to_user_id: d.to_user_id,
            to_name: d.to_name,
            starts_at: d.starts_at,
            ends_at: d.ends_at,
            revoked: d.revoked,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DelegationList {
    pub items: Vec<DelegationDto>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct NewDelegationRequest {
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub to_user_id: Option<String>,
    /// `YYYY-MM-DD`; whole days, Beijing time.
    #[schema(format = Date, required = true, nullable = false)]
    pub starts_on: Option<String>,
    #[schema(format = Date, required = true, nullable = false)]
    pub ends_on: Option<String>,
}

/// Delegations from and to the caller.
#[utoipa::path(get, path = "/api/v1/delegations", tag = "approvals", responses((status = 200, body = DelegationList)))]
async fn delegations(State(state): State<AppState>, Authed(actor): Authed) -> Result<Json<DelegationList>, AppError> {
    let items = approvals::delegations(&state.services, &actor).await?.into_iter().map(Into::into).collect();
    Ok(Json(DelegationList { items, next_cursor: None }))
}

/// While away, the caller's approvals may also be decided by another user.
#[utoipa::path(post, path = "/api/v1/delegations", tag = "approvals", request_body = NewDelegationRequest,
    responses((status = 201, body = DelegationDto), (status = 422, body = Problem)))]
async fn delegate(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<NewDelegationRequest>,
) -> Result<(StatusCode, Json<DelegationDto>), AppError> {
    let form = approvals::NewDelegation { to_user_id: req.to_user_id, starts_on: req.starts_on, ends_on: req.ends_on };
    Ok((StatusCode::CREATED, Json(approvals::delegate(&state.services, &actor, form).await?.into())))
}

#[utoipa::path(delete, path = "/api/v1/delegations/{id}", tag = "approvals",
    responses((status = 204), (status = 404, body = Problem)))]
async fn revoke(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, AppError> {
    approvals::revoke_delegation(&state.services, &actor, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct NotificationDto {
    pub id: String,
    pub kind: loupan_domain::platform::NotificationKind,
    /// In the caller's language (`Accept-Language`).
    pub title: String,
    pub body: String,
    pub link: String,
    pub created_at: DateTime<Utc>,
    pub read: bool,
}

impl NotificationDto {
    pub fn of(n: Notification, lang: Lang) -> Self {
        NotificationDto {
            title: crate::views::said_or(lang, n.title_said.as_ref(), &n.title),
            id: n.id,
            kind: n.kind,
            body: n.body,
            link: n.link,
            created_at: n.created_at,
            read: n.read,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct NotificationList {
    pub items: Vec<NotificationDto>,
    pub unread: u64,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationParams {
    /// Only unread ones.
    pub unread: Option<bool>,
}

/// The caller's notifications, newest first (the last hundred).
#[utoipa::path(get, path = "/api/v1/notifications", tag = "approvals", params(NotificationParams),
    responses((status = 200, body = NotificationList)))]
async fn list_notifications(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    ApiQuery(q): ApiQuery<NotificationParams>,
) -> Result<Json<NotificationList>, AppError> {
    let s = &state.services;
    let items = notifications::list(s, &actor, q.unread.unwrap_or(false))
        .await?
        .into_iter()
        .map(|n| NotificationDto::of(n, lang))
        .collect();
    Ok(Json(NotificationList { items, unread: notifications::unread_count(s, &actor).await?, next_cursor: None }))
}

#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "approvals",
    responses((status = 200, body = NotificationDto), (status = 404, body = Problem)))]
async fn read_notification(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<NotificationDto>, AppError> {
    Ok(Json(NotificationDto::of(notifications::mark_read(&state.services, &actor, &id).await?, lang)))
}

#[derive(Serialize, ToSchema)]
pub struct MarkedRead {
    pub marked: u64,
}

#[utoipa::path(post, path = "/api/v1/notifications/read-all", tag = "approvals", responses((status = 200, body = MarkedRead)))]
async fn read_all(State(state): State<AppState>, Authed(actor): Authed) -> Result<Json<MarkedRead>, AppError> {
    Ok(Json(MarkedRead { marked: notifications::mark_all_read(&state.services, &actor).await? }))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(detail))
        .routes(routes!(approve))
        .routes(routes!(reject))
        .routes(routes!(return_to_submitter))
        .routes(routes!(resubmit))
        .routes(routes!(withdraw))
        .routes(routes!(comment))
        .routes(routes!(attach))
        .routes(routes!(download))
        .routes(routes!(flows))
        .routes(routes!(flow_history, save_flow))
        .routes(routes!(delegations, delegate))
        .routes(routes!(revoke))
        .routes(routes!(list_notifications))
        .routes(routes!(read_notification))
        .routes(routes!(read_all))
}

/// A role step names its role, a user step its user.
pub(crate) fn alternatives(openapi: &mut utoipa::openapi::OpenApi) {
    use crate::api::{one_name, requires_one_of, text_schema};
    use utoipa::PartialSchema;
    requires_one_of(
        openapi,
        "ApproversDto",
        vec![
            vec![("type", one_name(ApproverKind::Role.name())), ("role", RoleName::schema())],
            vec![("type", one_name(ApproverKind::User.name())), ("user_id", text_schema())],
            vec![("type", one_name(ApproverKind::Manager.name()))],
        ],
    );
}
