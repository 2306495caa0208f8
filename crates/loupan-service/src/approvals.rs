//! The approval engine (审批). A module submits a request inside its own
//! transaction (`submit`): the engine pins the kind's current flow version,
//! routes the request step by step to people, and when it is decided calls the
//! module back (`on_decided`) in the deciding transaction. Nothing the request
//! would change happens before that call, and a rejection changes nothing.

use loupan_domain::ids::{ProjectId, UserId};
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use loupan_domain::Permission;
use loupan_domain::approvals::{self as rules, ApprovalStatus, Approvers, Mode, RequestKind, Step, TaskStatus};
use loupan_domain::platform::NotificationKind;
use loupan_domain::sentence::Sentence;
use loupan_domain::validation::optional_text;
use loupan_domain::{Invalid, Role};
use loupan_store::approvals::{self as store, EventRow, FlowRow, RequestRow, TaskRow};
use loupan_store::{Connection, Transaction};
use serde::Serialize;
use serde_json::Value;

use crate::platform::audit::{self, Change};
use crate::platform::live::{self, UnitChange};
use crate::platform::notifications::{self, Notice};
use crate::{Actor, ServiceError, ServiceResult, Services, platform::webhooks};

/// How a request ended, as the module hears it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Approved,
    Rejected,
    Withdrawn,
}

/// What a module asks to have approved.
pub struct Submission {
    pub kind: RequestKind,
    pub project_id: Option<ProjectId>,
    /// The record the request is about, of the kind's `subject_type`.
    pub subject_id: String,
    /// What the request is, as each reader will see it (`approval_summary.<kind>`).
    pub summary: Sentence,
    /// Facts the flow's conditions read (`discount_percent`, `amount`, ...).
    pub facts: BTreeMap<String, String>,
    /// What the module needs back when the request is approved.
    pub payload: Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct Request {
    pub id: String,
    pub kind: RequestKind,
    pub project_id: Option<ProjectId>,
    pub subject_type: String,
    pub subject_id: String,
    /// What the request is: `summary_said` in the reader's language, or, on
    /// requests of earlier versions, the text they were written with.
    pub summary: String,
    pub summary_said: Option<Sentence>,
    pub facts: BTreeMap<String, String>,
    pub status: ApprovalStatus,
    /// Index of the step waiting for a decision (meaningful while pending).
    pub current_step: i32,
    pub flow_version: i32,
    pub submitted_by: String,
    pub submitter_name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
}

fn request_of(r: RequestRow, flow_version: i32) -> ServiceResult<Request> {
    Ok(Request {
        id: r.id,
        kind: r.kind,
        project_id: r.project_id,
        subject_type: r.subject_type,
        subject_id: r.subject_id,
        summary: r.summary,
        summary_said: notifications::said_of(r.summary_said.as_deref())?,
        facts: serde_json::from_str(&r.facts).map_err(ServiceError::internal)?,
        status: r.status,
        current_step: r.current_step,
        flow_version,
        submitted_by: r.submitted_by,
        submitter_name: r.submitter_name,
        created_at: r.created_at,
        updated_at: r.updated_at,
        decided_at: r.decided_at,
    })
}

async fn to_request<C: Connection>(conn: &C, r: RequestRow) -> ServiceResult<Request> {
    let version = store::find_flow(conn, &r.flow_id).await?.map_or(0, |f| f.version);
    request_of(r, version)
}

fn steps_of(flow: &FlowRow) -> ServiceResult<Vec<Step>> {
    serde_json::from_str(&flow.steps).map_err(|e| ServiceError::internal(format!("flow {}: {e}", flow.id)))
}

/// The kind's current flow; the built-in default is saved as version 1 the
/// first time it is needed, so every request points at a stored version.
async fn current_flow<C: Connection>(conn: &C, kind: RequestKind, now: DateTime<Utc>) -> ServiceResult<FlowRow> {
    if let Some(flow) = store::latest_flow(conn, kind).await? {
        return Ok(flow);
    }
    let row = FlowRow {
        id: loupan_store::new_id(),
        kind,
        version: 1,
        steps: serde_json::to_string(&rules::default_steps(kind)).map_err(ServiceError::internal)?,
        created_by: "system".into(),
        created_at: now,
    };
    store::insert_flow(conn, &row).await?;
    Ok(row)
}

async fn event<C: Connection>(
    conn: &C,
    request_id: &str,
    action: &str,
    (actor, now): (&Actor, DateTime<Utc>),
    body: &str,
) -> ServiceResult<()> {
    store::insert_event(
        conn,
        &EventRow {
            id: loupan_store::new_id(),
            request_id: request_id.to_owned(),
            action: action.to_owned(),
            actor_id: actor.audit_id(),
            actor_name: actor.display_name.clone(),
            body: body.to_owned(),
            created_at: now,
        },
    )
    .await?;
    Ok(())
}

fn link_of(request_id: &str) -> String {
    format!("/approvals/{request_id}")
}

/// The people a rule names for this request, never including the submitter
/// (nobody approves their own request).
async fn resolve<C: Connection>(conn: &C, rule: &Approvers, req: &RequestRow) -> ServiceResult<Vec<UserId>> {
    let mut ids = match rule {
        Approvers::Role { role } => {
            store::users_with_role(conn, role.name(), req.project_id.as_ref(), role.sees_all_projects()).await?
        }
        Approvers::User { user_id } => {
            match loupan_store::users::find_user(conn, &UserId::from(user_id.as_str())).await? {
                Some(u) if !u.disabled => vec![u.id],
                _ => Vec::new(),
            }
        }
        Approvers::Manager => {
            match loupan_store::users::find_user(conn, &UserId::from(req.submitted_by.as_str())).await? {
                Some(u) => match u.manager_id {
                    Some(m) => match loupan_store::users::find_user(conn, &m).await? {
                        Some(manager) if !manager.disabled => vec![manager.id],
                        _ => Vec::new(),
                    },
                    None => Vec::new(),
                },
                None => Vec::new(),
            }
        }
    };
    ids.retain(|id| id.as_str() != req.submitted_by);
    Ok(ids)
}

/// Work to do once the deciding transaction has committed.
#[derive(Default)]
pub struct AfterCommit {
    pub unit_changes: Vec<UnitChange>,
}

impl AfterCommit {
    pub fn run(self, services: &Services) {
        for change in self.unit_changes {
            live::announce_after_commit(services, change);
        }
    }
}

/// Sends the request to the first applicable step at or after `from`, or
/// approves it when none is left.
async fn route(
    services: &Services,
    tx: &Transaction,
    actor: &Actor,
    req: &RequestRow,
    steps: &[Step],
    from: usize,
    after: &mut AfterCommit,
) -> ServiceResult<()> {
    let facts: BTreeMap<String, String> = serde_json::from_str(&req.facts).map_err(ServiceError::internal)?;
    let now = services.clock.now();
    let Some(i) = rules::next_step(steps, from, &facts) else {
        return finish(services, tx, actor, req, Outcome::Approved, after).await;
    };
    let step = &steps[i];
    let mut approvers = resolve(tx, &step.approvers, req).await?;
    if approvers.is_empty() {
        // Nobody holds the role here (or the manager is not set): admins decide
        // rather than the request waiting for no one.
        approvers = store::users_with_role(tx, Role::Admin.name(), None, true).await?;
        approvers.retain(|id| id.as_str() != req.submitted_by);
        event(tx, &req.id, "no_approver", (&Actor::system("approvals"), now), &step.name).await?;
    }
    if approvers.is_empty() {
        return Err(ServiceError::Conflict("no_approver"));
    }
    let step_index = i32::try_from(i).map_err(ServiceError::internal)?;
    if !store::move_request(tx, &req.id, req.status, ApprovalStatus::Pending, step_index, now).await? {
        return Err(ServiceError::Conflict("request_not_pending"));
    }
    let due_at = step.deadline_hours.map(|h| now + Duration::hours(i64::from(h)));
    for approver in &approvers {
        store::insert_task(
            tx,
            &TaskRow {
                id: loupan_store::new_id(),
                request_id: req.id.clone(),
                step: step_index,
                approver_id: approver.clone(),
                status: TaskStatus::Pending,
                acted_by_id: None,
                acted_by_name: None,
                comment: None,
                due_at,
                reminded_at: None,
                escalated_at: None,
                created_at: now,
                acted_at: None,
            },
        )
        .await?;
    }
    let link = link_of(&req.id);
    notifications::notify(
        tx,
        &approvers,
        &Notice {
            kind: NotificationKind::ApprovalWaiting,
            title: &req.summary,
            title_said: notifications::said_of(req.summary_said.as_deref())?.as_ref(),
            body: &step.name,
            link: &link,
        },
    )
    .await?;
    Ok(())
}

/// Ends the request and lets its module act on the outcome.
async fn finish(
    services: &Services,
    tx: &Transaction,
    actor: &Actor,
    req: &RequestRow,
    outcome: Outcome,
    after: &mut AfterCommit,
) -> ServiceResult<()> {
    let status = match outcome {
        Outcome::Approved => ApprovalStatus::Approved,
        Outcome::Rejected => ApprovalStatus::Rejected,
        Outcome::Withdrawn => ApprovalStatus::Withdrawn,
    };
    let now = services.clock.now();
    let current = store::find_request(tx, &req.id).await?.ok_or(ServiceError::NotFound("approval"))?;
    if !store::move_request(tx, &req.id, current.status, status, current.current_step, now).await? {
        return Err(ServiceError::Conflict("request_not_pending"));
    }
    store::close_pending_tasks(tx, &req.id).await?;
    let mut changes = on_decided(services, tx, actor, req, outcome).await?;
    after.unit_changes.append(&mut changes);
    // Nobody is told of their own decision: a request that passes as it is
    // submitted (no step applies) says so in the submitter's own answer.
    if outcome != Outcome::Withdrawn && req.submitted_by != actor.by() {
        let kind = if outcome == Outcome::Approved {
            NotificationKind::ApprovalApproved
        } else {
            NotificationKind::ApprovalRejected
        };
        let link = link_of(&req.id);
        notifications::notify(
            tx,
            &[UserId::from(req.submitted_by.as_str())],
            &Notice {
                kind,
                title: &req.summary,
                title_said: notifications::said_of(req.summary_said.as_deref())?.as_ref(),
                body: "",
                link: &link,
            },
        )
        .await?;
    }
    webhooks::publish(
        tx,
        "approval.decided",
        serde_json::json!({
            "id": req.id, "kind": req.kind, "subject_type": req.subject_type,
            "subject_id": req.subject_id, "project_id": req.project_id, "status": status,
        }),
    )
    .await?;
    Ok(())
}

/// What deciding a request does in its module, given by the top of the crate
/// (`crate::handlers`), so that the engine never imports the modules using it.
pub(crate) type DecidedFn = for<'a> fn(
    &'a Services,
    &'a Transaction,
    &'a Actor,
    &'a RequestRow,
    Outcome,
) -> crate::BoxFuture<'a, ServiceResult<Vec<UnitChange>>>;

/// The one place each module hears how its requests ended.
async fn on_decided(
    services: &Services,
    tx: &Transaction,
    actor: &Actor,
    req: &RequestRow,
    outcome: Outcome,
) -> ServiceResult<Vec<UnitChange>> {
    (services.handlers.approval_decided)(services, tx, actor, req, outcome).await
}

/// Submits a request inside the module's transaction. When no step applies
/// the request is approved at once and the module called back in `tx`.
pub async fn submit(
    services: &Services,
    tx: &Transaction,
    actor: &Actor,
    submission: Submission,
) -> ServiceResult<(Request, AfterCommit)> {
    let now = services.clock.now();
    let flow = current_flow(tx, submission.kind, now).await?;
    let steps = steps_of(&flow)?;
    let row = RequestRow {
        id: loupan_store::new_id(),
        kind: submission.kind,
        flow_id: flow.id.clone(),
        project_id: submission.project_id,
        subject_type: submission.kind.subject_type().to_owned(),
        subject_id: submission.subject_id,
        summary: String::new(),
        summary_said: Some(serde_json::to_string(&submission.summary).map_err(ServiceError::internal)?),
        facts: serde_json::to_string(&submission.facts).map_err(ServiceError::internal)?,
        payload: submission.payload.to_string(),
        status: ApprovalStatus::Pending,
        current_step: 0,
        submitted_by: actor.by(),
        submitter_name: actor.display_name.clone(),
        created_at: now,
        updated_at: now,
        decided_at: None,
    };
    store::insert_request(tx, &row).await?;
    event(tx, &row.id, "submitted", (actor, now), "").await?;
    let mut after = AfterCommit::default();
    route(services, tx, actor, &row, &steps, 0, &mut after).await?;
    audit::record(
        tx,
        actor,
        Change {
            action: "approval.submit",
            record_type: "approval",
            record_id: row.id.as_str(),
            before: None,
            after: Some(
                serde_json::json!({"kind": row.kind, "subject_id": row.subject_id, "summary": submission.summary}),
            ),
        },
    )
    .await?;
    let stored = store::find_request(tx, &row.id).await?.ok_or(ServiceError::NotFound("approval"))?;
    Ok((request_of(stored, flow.version)?, after))
}

/// The caller and everyone who delegated their approvals to them now.
async fn acting_for<C: Connection>(conn: &C, actor: &Actor, now: DateTime<Utc>) -> ServiceResult<Vec<UserId>> {
    let Some(me) = actor.user_id.clone() else { return Ok(Vec::new()) };
    let mut ids = store::delegators_of(conn, &me, now).await?;
    ids.insert(0, me);
    Ok(ids)
}

/// A request the actor may read: theirs, one they approve (or approve for), or any for auditors.
async fn visible<C: Connection>(conn: &C, actor: &Actor, id: &str, now: DateTime<Utc>) -> ServiceResult<RequestRow> {
    let Some(req) = store::find_request(conn, id).await? else { return Err(ServiceError::NotFound("approval")) };
    if actor.user_id.as_ref().map(UserId::as_str) == Some(req.submitted_by.as_str()) || actor.can(Permission::ReadAudit)
    {
        return Ok(req);
    }
    let ids = acting_for(conn, actor, now).await?;
    if !ids.is_empty() && store::was_approver(conn, id, &ids).await? {
        return Ok(req);
    }
    Err(ServiceError::NotFound("approval"))
}

/// Whether the actor may read a request: its submitter, its approvers (and
/// their delegates) and auditors. Modules let them read the request's subject.
pub(crate) async fn may_see<C: Connection>(
    conn: &C,
    actor: &Actor,
    request_id: &str,
    now: DateTime<Utc>,
) -> ServiceResult<bool> {
    match visible(conn, actor, request_id, now).await {
        Ok(_) => Ok(true),
        Err(e) if e.is_absence() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether the actor may open a request (its submitter, its approvers and their
/// delegates, auditors): the pages of its subject link it only for them.
pub async fn may_open(services: &Services, actor: &Actor, request_id: &str) -> ServiceResult<bool> {
    may_see(services.store.conn(), actor, request_id, services.clock.now()).await
}

/// What an approver decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
    Return,
}

impl Decision {
    fn task_status(self) -> TaskStatus {
        match self {
            Decision::Approve => TaskStatus::Approved,
            Decision::Reject => TaskStatus::Rejected,
            Decision::Return => TaskStatus::Returned,
        }
    }
}

fn comment_of(errors: &mut Invalid, comment: Option<&str>, required: bool) -> Option<String> {
    let text = optional_text(errors, "comment", comment, 1000);
    if required && text.is_none() && errors.is_empty() {
        errors.push("comment", "required");
    }
    text
}

/// Approve, reject (a reason is required) or return to the submitter (a note is required).
pub async fn decide(
    services: &Services,
    actor: &Actor,
    id: &str,
    decision: Decision,
    comment: Option<&str>,
) -> ServiceResult<Request> {
    let now = services.clock.now();
    let mut errors = Invalid::default();
    let comment = comment_of(&mut errors, comment, decision != Decision::Approve);
    errors.into_result()?;
    let tx = services.store.begin_write().await?;
    let req = visible(&tx, actor, id, now).await?;
    if req.status != ApprovalStatus::Pending {
        return Err(ServiceError::Conflict("request_not_pending"));
    }
    let ids = acting_for(&tx, actor, now).await?;
    let tasks = store::tasks_of(&tx, id).await?;
    let mine: Vec<&TaskRow> = tasks
        .iter()
        .filter(|t| t.step == req.current_step && t.status == TaskStatus::Pending && ids.contains(&t.approver_id))
        .collect();
    if mine.is_empty() {
        return Err(ServiceError::Forbidden);
    }
    let by = (actor.by(), actor.display_name.clone());
    for task in &mine {
        if !store::act_on_task(&tx, &task.id, decision.task_status(), (&by.0, &by.1), comment.as_deref(), now).await? {
            return Err(ServiceError::Conflict("request_not_pending"));
        }
    }
    event(&tx, id, decision.task_status().name(), (actor, now), comment.as_deref().unwrap_or("")).await?;
    let flow = store::find_flow(&tx, &req.flow_id).await?.ok_or(ServiceError::NotFound("approval_flow"))?;
    let steps = steps_of(&flow)?;
    let step_index = usize::try_from(req.current_step).map_err(ServiceError::internal)?;
    let mut after = AfterCommit::default();
    match decision {
        Decision::Approve => {
            let mode = steps.get(step_index).map_or(Mode::Any, |s| s.mode);
            let others_pending = tasks.iter().any(|t| {
                t.step == req.current_step && t.status == TaskStatus::Pending && !mine.iter().any(|m| m.id == t.id)
            });
            if mode == Mode::Any || !others_pending {
                store::close_pending_tasks(&tx, id).await?;
                route(services, &tx, actor, &req, &steps, step_index + 1, &mut after).await?;
            }
        }
        Decision::Reject => finish(services, &tx, actor, &req, Outcome::Rejected, &mut after).await?,
        Decision::Return => {
            if !store::move_request(&tx, id, ApprovalStatus::Pending, ApprovalStatus::Returned, req.current_step, now)
                .await?
            {
                return Err(ServiceError::Conflict("request_not_pending"));
            }
            store::close_pending_tasks(&tx, id).await?;
            let link = link_of(id);
            notifications::notify(
                &tx,
                &[UserId::from(req.submitted_by.as_str())],
                &Notice {
                    kind: NotificationKind::ApprovalReturned,
                    title: &req.summary,
                    title_said: notifications::said_of(req.summary_said.as_deref())?.as_ref(),
                    body: comment.as_deref().unwrap_or(""),
                    link: &link,
                },
            )
            .await?;
        }
    }
    audit::record(
        &tx,
        actor,
        Change {
            action: match decision {
                Decision::Approve => "approval.approve",
                Decision::Reject => "approval.reject",
                Decision::Return => "approval.return",
            },
            record_type: "approval",
            record_id: id,
            before: Some(serde_json::json!({"status": req.status, "step": req.current_step})),
            after: Some(serde_json::json!({"comment": comment})),
        },
    )
    .await?;
    let out = to_request(&tx, store::find_request(&tx, id).await?.ok_or(ServiceError::NotFound("approval"))?).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    after.run(services);
    Ok(out)
}

/// The submitter sends a returned request through its flow again from the first step.
pub async fn resubmit(services: &Services, actor: &Actor, id: &str, comment: Option<&str>) -> ServiceResult<Request> {
    let now = services.clock.now();
    let mut errors = Invalid::default();
    let comment = comment_of(&mut errors, comment, false);
    errors.into_result()?;
    let tx = services.store.begin_write().await?;
    let req = visible(&tx, actor, id, now).await?;
    if actor.user_id.as_ref().map(UserId::as_str) != Some(req.submitted_by.as_str()) {
        return Err(ServiceError::Forbidden);
    }
    if req.status != ApprovalStatus::Returned {
        return Err(ServiceError::Conflict("request_not_returned"));
    }
    event(&tx, id, "resubmitted", (actor, now), comment.as_deref().unwrap_or("")).await?;
    let flow = store::find_flow(&tx, &req.flow_id).await?.ok_or(ServiceError::NotFound("approval_flow"))?;
    let mut after = AfterCommit::default();
    route(services, &tx, actor, &req, &steps_of(&flow)?, 0, &mut after).await?;
    audit::record(
        &tx,
        actor,
        Change { action: "approval.resubmit", record_type: "approval", record_id: id, before: None, after: None },
    )
    .await?;
    let out = to_request(&tx, store::find_request(&tx, id).await?.ok_or(ServiceError::NotFound("approval"))?).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    after.run(services);
    Ok(out)
}

/// The submitter takes back a pending or returned request; the module treats it as not approved.
pub async fn withdraw(services: &Services, actor: &Actor, id: &str, comment: Option<&str>) -> ServiceResult<Request> {
    let now = services.clock.now();
    let mut errors = Invalid::default();
    let comment = comment_of(&mut errors, comment, false);
    errors.into_result()?;
    let tx = services.store.begin_write().await?;
    let req = visible(&tx, actor, id, now).await?;
    if actor.user_id.as_ref().map(UserId::as_str) != Some(req.submitted_by.as_str()) {
        return Err(ServiceError::Forbidden);
    }
    if !req.status.is_open() {
        return Err(ServiceError::Conflict("request_not_pending"));
    }
    event(&tx, id, "withdrawn", (actor, now), comment.as_deref().unwrap_or("")).await?;
    let mut after = AfterCommit::default();
    finish(services, &tx, actor, &req, Outcome::Withdrawn, &mut after).await?;
    audit::record(
        &tx,
        actor,
        Change { action: "approval.withdraw", record_type: "approval", record_id: id, before: None, after: None },
    )
    .await?;
    let out = to_request(&tx, store::find_request(&tx, id).await?.ok_or(ServiceError::NotFound("approval"))?).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    after.run(services);
    Ok(out)
}

/// A comment on the request's trail; the submitter and the current approvers hear of it.
pub async fn comment(services: &Services, actor: &Actor, id: &str, body: Option<&str>) -> ServiceResult<()> {
    let now = services.clock.now();
    let mut errors = Invalid::default();
    let body = comment_of(&mut errors, body, true).unwrap_or_default();
    errors.into_result()?;
    let tx = services.store.begin_write().await?;
    let req = visible(&tx, actor, id, now).await?;
    event(&tx, id, "comment", (actor, now), &body).await?;
    let mut to: Vec<UserId> = store::tasks_of(&tx, id)
        .await?
        .into_iter()
        .filter(|t| t.status == TaskStatus::Pending)
        .map(|t| t.approver_id)
        .collect();
    to.push(UserId::from(req.submitted_by.as_str()));
    to.retain(|u| Some(u) != actor.user_id.as_ref());
    let link = link_of(id);
    notifications::notify(
        &tx,
        &to,
        &Notice {
            kind: NotificationKind::ApprovalComment,
            title: &req.summary,
            title_said: notifications::said_of(req.summary_said.as_deref())?.as_ref(),
            body: &body,
            link: &link,
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(())
}

/// Largest attachment accepted (contracts, photos of signed paper).
pub const MAX_ATTACHMENT_BYTES: usize = 10 * 1024 * 1024;

#[derive(Debug, Clone, Serialize)]
pub struct Attachment {
    pub id: String,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub uploaded_by: String,
    pub created_at: DateTime<Utc>,
}

pub async fn attach(
    services: &Services,
    actor: &Actor,
    id: &str,
    file_name: &str,
    content_type: &str,
    content: Vec<u8>,
) -> ServiceResult<Attachment> {
    let now = services.clock.now();
    let mut errors = Invalid::default();
    let name: String = file_name.trim().rsplit(['/', '\\']).next().unwrap_or_default().chars().take(200).collect();
    if name.is_empty() {
        errors.push("file", "required");
    }
    if content.is_empty() {
        errors.push("file", "empty_file");
    } else if content.len() > MAX_ATTACHMENT_BYTES {
        errors.push("file", "file_too_large");
    }
    errors.into_result()?;
    let tx = services.store.begin_write().await?;
    visible(&tx, actor, id, now).await?;
    let row = loupan_store::approvals::AttachmentRow {
        id: loupan_store::new_id(),
        request_id: id.to_owned(),
        file_name: name,
        content_type: if content_type.is_empty() { "application/octet-stream".into() } else { content_type.into() },
        size: i64::try_from(content.len()).map_err(ServiceError::internal)?,
        content,
        uploaded_by: actor.display_name.clone(),
        created_at: services.clock.now(),
    };
    store::insert_attachment(&tx, &row).await?;
    event(&tx, id, "attachment", (actor, now), &row.file_name).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(Attachment {
        id: row.id,
        file_name: row.file_name,
        content_type: row.content_type,
        size: row.size,
        uploaded_by: row.uploaded_by,
        created_at: row.created_at,
    })
}

/// An attachment's file, for a user who may read its request.
pub async fn attachment_file(
    services: &Services,
    actor: &Actor,
    id: &str,
    attachment_id: &str,
) -> ServiceResult<(String, String, Vec<u8>)> {
    let now = services.clock.now();
    let conn = services.store.conn();
    visible(conn, actor, id, now).await?;
    match store::find_attachment(conn, attachment_id).await? {
        Some(a) if a.request_id == id => Ok((a.file_name, a.content_type, a.content)),
        _ => Err(ServiceError::NotFound("attachment")),
    }
}

/// One request waiting in someone's inbox.
#[derive(Debug, Clone, Serialize)]
pub struct InboxItem {
    #[serde(flatten)]
    pub request: Request,
    pub step_name: String,
    pub waiting_since: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    /// Set when the caller decides for someone who delegated to them.
    pub on_behalf_of: Option<String>,
}

/// Requests waiting for the caller's decision (their own and delegated ones).
pub async fn inbox(services: &Services, actor: &Actor) -> ServiceResult<Vec<InboxItem>> {
    let now = services.clock.now();
    let conn = services.store.conn();
    let ids = acting_for(conn, actor, now).await?;
    let tasks = store::pending_tasks_of(conn, &ids).await?;
    let mut request_ids: Vec<String> = tasks.iter().map(|t| t.request_id.clone()).collect();
    request_ids.dedup();
    let requests = store::requests_by_ids(conn, &request_ids).await?;
    let mut out: Vec<InboxItem> = Vec::new();
    for req in requests {
        if req.status != ApprovalStatus::Pending || out.iter().any(|i| i.request.id == req.id) {
            continue;
        }
        let Some(task) = tasks
            .iter()
            .filter(|t| t.request_id == req.id && t.step == req.current_step)
            .min_by_key(|t| (Some(t.approver_id.as_str()) != actor.user_id.as_ref().map(UserId::as_str), t.created_at))
        else {
            continue;
        };
        let flow = store::find_flow(conn, &req.flow_id).await?;
        let steps = flow.as_ref().map(steps_of).transpose()?.unwrap_or_default();
        let step_name = usize::try_from(req.current_step).ok().and_then(|i| steps.get(i)).map(|s| s.name.clone());
        let on_behalf_of = if Some(task.approver_id.as_str()) == actor.user_id.as_ref().map(UserId::as_str) {
            None
        } else {
            loupan_store::users::find_user(conn, &task.approver_id).await?.map(|u| u.display_name)
        };
        out.push(InboxItem {
            step_name: step_name.unwrap_or_default(),
            waiting_since: task.created_at,
            due_at: task.due_at,
            on_behalf_of,
            request: request_of(req, flow.map_or(0, |f| f.version))?,
        });
    }
    Ok(out)
}

/// Requests the caller submitted; `open_only` keeps those still pending or returned.
pub async fn submitted(services: &Services, actor: &Actor, open_only: bool) -> ServiceResult<Vec<Request>> {
    let Some(me) = actor.user_id.as_ref() else { return Ok(Vec::new()) };
    let conn = services.store.conn();
    let statuses: &[ApprovalStatus] =
        if open_only { &[ApprovalStatus::Pending, ApprovalStatus::Returned] } else { &[] };
    let mut out = Vec::new();
    for r in store::requests_submitted_by(conn, me, statuses, 200).await? {
        out.push(to_request(conn, r).await?);
    }
    Ok(out)
}

/// Every request (auditors and admins).
pub async fn all(services: &Services, actor: &Actor, status: Option<&str>) -> ServiceResult<Vec<Request>> {
    actor.require(Permission::ReadAudit)?;
    let status: Option<ApprovalStatus> = crate::error::status_filter("status", status)?;
    let conn = services.store.conn();
    let statuses: Vec<ApprovalStatus> = status.into_iter().collect();
    let mut out = Vec::new();
    for r in store::all_requests(conn, &statuses, 200).await? {
        out.push(to_request(conn, r).await?);
    }
    Ok(out)
}

#[derive(Debug, Clone, Serialize)]
pub struct TaskView {
    pub step: i32,
    pub approver_id: UserId,
    pub approver_name: String,
    pub status: TaskStatus,
    pub acted_by_name: Option<String>,
    pub comment: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub acted_at: Option<DateTime<Utc>>,
    pub escalated: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    pub action: String,
    pub actor_name: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Detail {
    pub request: Request,
    pub steps: Vec<Step>,
    pub tasks: Vec<TaskView>,
    pub events: Vec<EventView>,
    pub attachments: Vec<Attachment>,
    /// The caller may approve, reject or return it now.
    pub can_decide: bool,
    /// The caller submitted it and may resubmit (returned) or withdraw it.
    pub can_resubmit: bool,
    pub can_withdraw: bool,
}

pub async fn detail(services: &Services, actor: &Actor, id: &str) -> ServiceResult<Detail> {
    let now = services.clock.now();
    let conn = services.store.conn();
    let req = visible(conn, actor, id, now).await?;
    let flow = store::find_flow(conn, &req.flow_id).await?.ok_or(ServiceError::NotFound("approval_flow"))?;
    let ids = acting_for(conn, actor, now).await?;
    let mut names: BTreeMap<UserId, String> = BTreeMap::new();
    let mut tasks = Vec::new();
    let mut can_decide = false;
    for t in store::tasks_of(conn, id).await? {
        if !names.contains_key(&t.approver_id) {
            let name = loupan_store::users::find_user(conn, &t.approver_id).await?.map(|u| u.display_name);
            names.insert(t.approver_id.clone(), name.unwrap_or_else(|| t.approver_id.to_string()));
        }
        can_decide |= req.status == ApprovalStatus::Pending
            && t.status == TaskStatus::Pending
            && t.step == req.current_step
            && ids.contains(&t.approver_id);
        tasks.push(TaskView {
            step: t.step,
            approver_name: names.get(&t.approver_id).cloned().unwrap_or_default(),
            approver_id: t.approver_id,
            status: t.status,
            acted_by_name: t.acted_by_name,
            comment: t.comment,
            due_at: t.due_at,
            acted_at: t.acted_at,
            escalated: t.escalated_at.is_some(),
        });
    }
    let events = store::events_of(conn, id)
        .await?
        .into_iter()
        .map(|e| EventView { action: e.action, actor_name: e.actor_name, body: e.body, created_at: e.created_at })
        .collect();
    let attachments = store::attachments_of(conn, id)
        .await?
        .into_iter()
        .map(|(id, file_name, content_type, size, uploaded_by, created_at)| Attachment {
            id,
            file_name,
            content_type,
            size,
            uploaded_by,
            created_at,
        })
        .collect();
    let mine = actor.user_id.as_ref().map(UserId::as_str) == Some(req.submitted_by.as_str());
    Ok(Detail {
        can_resubmit: mine && req.status == ApprovalStatus::Returned,
        can_withdraw: mine && req.status.is_open(),
        can_decide,
        steps: steps_of(&flow)?,
        tasks,
        events,
        attachments,
        request: request_of(req, flow.version)?,
    })
}

/// The latest request about a record, for the module's own pages.
pub async fn latest_for_subject<C: Connection>(
    conn: &C,
    kind: RequestKind,
    subject_id: &str,
) -> ServiceResult<Option<Request>> {
    match store::requests_of_subject(conn, kind.subject_type(), subject_id).await?.into_iter().next() {
        Some(r) => Ok(Some(to_request(conn, r).await?)),
        None => Ok(None),
    }
}

/// Reminds the approvers of every step past its deadline and escalates where the
/// flow says so. Run by the scheduled `approval_deadlines` job; returns the tasks handled.
pub async fn check_deadlines(services: &Services, now: DateTime<Utc>) -> ServiceResult<usize> {
    let overdue = store::overdue_tasks(services.store.conn(), now).await?;
    let system = Actor::system("approvals");
    let mut handled = 0;
    for task in overdue {
        let tx = services.store.begin_write().await?;
        if !store::mark_reminded(&tx, &task.id, now).await? {
            continue;
        }
        let Some(req) = store::find_request(&tx, &task.request_id).await? else { continue };
        if req.status != ApprovalStatus::Pending || req.current_step != task.step {
            tx.commit().await.map_err(ServiceError::internal)?;
            continue;
        }
        let link = link_of(&req.id);
        let mut remind = vec![task.approver_id.clone()];
        remind.extend(store::delegates_of(&tx, &task.approver_id, now).await?);
        notifications::notify(
            &tx,
            &remind,
            &Notice {
                kind: NotificationKind::ApprovalOverdue,
                title: &req.summary,
                title_said: notifications::said_of(req.summary_said.as_deref())?.as_ref(),
                body: "",
                link: &link,
            },
        )
        .await?;
        event(&tx, &req.id, "reminded", (&system, now), task.approver_id.as_str()).await?;
        let flow = store::find_flow(&tx, &req.flow_id).await?.ok_or(ServiceError::NotFound("approval_flow"))?;
        let steps = steps_of(&flow)?;
        let step = usize::try_from(task.step).ok().and_then(|i| steps.get(i));
        if let Some(rule) = step.and_then(|s| s.escalate_to.as_ref())
            && task.escalated_at.is_none()
        {
            let existing: Vec<UserId> = store::tasks_of(&tx, &req.id)
                .await?
                .into_iter()
                .filter(|t| t.step == task.step)
                .map(|t| t.approver_id)
                .collect();
            let added: Vec<UserId> =
                resolve(&tx, rule, &req).await?.into_iter().filter(|u| !existing.contains(u)).collect();
            for approver in &added {
                store::insert_task(
                    &tx,
                    &TaskRow {
                        id: loupan_store::new_id(),
                        request_id: req.id.clone(),
                        step: task.step,
                        approver_id: approver.clone(),
                        status: TaskStatus::Pending,
                        acted_by_id: None,
                        acted_by_name: None,
                        comment: None,
                        due_at: None,
                        reminded_at: None,
                        escalated_at: None,
                        created_at: now,
                        acted_at: None,
                    },
                )
                .await?;
            }
            store::mark_escalated(&tx, &task.id, now).await?;
            notifications::notify(
                &tx,
                &added,
                &Notice {
                    kind: NotificationKind::ApprovalEscalated,
                    title: &req.summary,
                    title_said: notifications::said_of(req.summary_said.as_deref())?.as_ref(),
                    body: "",
                    link: &link,
                },
            )
            .await?;
            event(
                &tx,
                &req.id,
                "escalated",
                (&system, now),
                &added.iter().map(UserId::as_str).collect::<Vec<_>>().join(","),
            )
            .await?;
        }
        tx.commit().await.map_err(ServiceError::internal)?;
        handled += 1;
    }
    Ok(handled)
}

// ---- Flow definitions (admins) ----

#[derive(Debug, Clone, Serialize)]
pub struct Flow {
    pub kind: RequestKind,
    /// The kind's facts conditions may use.
    pub facts: Vec<&'static str>,
    /// 0 while the built-in default has never been used or changed.
    pub version: i32,
    pub steps: Vec<Step>,
    pub created_by: String,
    pub created_at: Option<DateTime<Utc>>,
}

fn flow_of(kind: RequestKind, row: Option<FlowRow>) -> ServiceResult<Flow> {
    Ok(match row {
        Some(r) => Flow {
            kind,
            facts: kind.facts().to_vec(),
            version: r.version,
            steps: steps_of(&r)?,
            created_by: r.created_by,
            created_at: Some(r.created_at),
        },
        None => Flow {
            kind,
            facts: kind.facts().to_vec(),
            version: 0,
            steps: rules::default_steps(kind),
            created_by: "system".into(),
            created_at: None,
        },
    })
}

fn kind_named(kind: &str) -> ServiceResult<RequestKind> {
    rules::request_kind(kind).ok_or(ServiceError::NotFound("approval_flow"))
}

pub async fn flows(services: &Services, actor: &Actor) -> ServiceResult<Vec<Flow>> {
    actor.require(Permission::ManageApprovalFlows)?;
    let mut out = Vec::new();
    for kind in rules::REQUEST_KINDS {
        out.push(flow_of(kind, store::latest_flow(services.store.conn(), kind).await?)?);
    }
    Ok(out)
}

/// The current flow of a kind and every earlier version, newest first.
pub async fn flow_history(services: &Services, actor: &Actor, kind: &str) -> ServiceResult<Vec<Flow>> {
    actor.require(Permission::ManageApprovalFlows)?;
    let kind = kind_named(kind)?;
    let rows = store::flow_versions(services.store.conn(), kind).await?;
    if rows.is_empty() {
        return Ok(vec![flow_of(kind, None)?]);
    }
    rows.into_iter().map(|r| flow_of(kind, Some(r))).collect()
}

/// Saves a new version of a kind's flow; running requests keep theirs.
pub async fn save_flow(services: &Services, actor: &Actor, kind: &str, steps: Vec<Step>) -> ServiceResult<Flow> {
    actor.require(Permission::ManageApprovalFlows)?;
    let kind = kind_named(kind)?;
    let steps: Vec<Step> = steps.into_iter().map(|s| Step { name: s.name.trim().to_owned(), ..s }).collect();
    rules::validate_steps(kind, &steps)?;
    let tx = services.store.begin_write().await?;
    let mut errors = Invalid::default();
    for (i, s) in steps.iter().enumerate() {
        for rule in [Some(&s.approvers), s.escalate_to.as_ref()].into_iter().flatten() {
            if let Approvers::User { user_id } = rule
                && loupan_store::users::find_user(&tx, user_id).await?.is_none_or(|u| u.disabled)
            {
                errors.push(format!("steps[{i}].approvers"), "unknown_user");
            }
        }
    }
    errors.into_result()?;
    let latest = store::latest_flow(&tx, kind).await?;
    let row = FlowRow {
        id: loupan_store::new_id(),
        kind,
        version: latest.as_ref().map_or(1, |f| f.version + 1),
        steps: serde_json::to_string(&steps).map_err(ServiceError::internal)?,
        created_by: actor.display_name.clone(),
        created_at: services.clock.now(),
    };
    store::insert_flow(&tx, &row).await.map_err(|e| match e {
        loupan_store::StoreError::Unique(_) => ServiceError::Conflict("stale_version"),
        e => e.into(),
    })?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "approval_flow.save",
            record_type: "approval_flow",
            record_id: row.id.as_str(),
            before: latest.map(|f| serde_json::json!({"version": f.version, "steps": f.steps})),
            after: Some(serde_json::json!({"version": row.version, "steps": row.steps})),
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    flow_of(kind, Some(row))
}

// ---- Delegation while away ----

#[derive(Debug, Clone, Serialize)]
pub struct Delegation {
    pub id: String,
    pub from_user_id: UserId,
    pub from_name: String,
    pub to_user_id: UserId,
    pub to_name: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub revoked: bool,
}

#[derive(Debug, Clone, Default)]
pub struct NewDelegation {
    pub to_user_id: Option<String>,
    /// `YYYY-MM-DD`, Beijing time; the delegation covers whole days.
    pub starts_on: Option<String>,
    pub ends_on: Option<String>,
}

pub async fn delegations(services: &Services, actor: &Actor) -> ServiceResult<Vec<Delegation>> {
    let Some(me) = actor.user_id.as_ref() else { return Ok(Vec::new()) };
    let conn = services.store.conn();
    let mut out = Vec::new();
    for d in store::delegations_of(conn, me).await? {
        let name = |id: UserId| async move {
            loupan_store::users::find_user(conn, &id)
                .await
                .map(|u| u.map_or_else(|| id.to_string(), |u| u.display_name))
        };
        out.push(Delegation {
            from_name: name(d.from_user_id.clone()).await?,
            to_name: name(d.to_user_id.clone()).await?,
            id: d.id,
            from_user_id: d.from_user_id,
            to_user_id: d.to_user_id,
            starts_at: d.starts_at,
            ends_at: d.ends_at,
            revoked: d.revoked_at.is_some(),
        });
    }
    Ok(out)
}

/// While away, the caller's approvals may also be decided by another enabled user.
pub async fn delegate(services: &Services, actor: &Actor, form: NewDelegation) -> ServiceResult<Delegation> {
    let me = actor.user_id.clone().ok_or(ServiceError::Forbidden)?;
    let mut errors = Invalid::default();
    let parse = |errors: &mut Invalid, field: &str, v: Option<&str>| match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => {
            errors.push(field, "required");
            None
        }
        Some(t) => {
            chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").map_err(|_| errors.push(field, "invalid_date")).ok()
        }
    };
    let starts = parse(&mut errors, "starts_on", form.starts_on.as_deref());
    let ends = parse(&mut errors, "ends_on", form.ends_on.as_deref());
    if let (Some(s), Some(e)) = (starts, ends)
        && e < s
    {
        errors.push("ends_on", "before_start");
    }
    let to = UserId::from(form.to_user_id.unwrap_or_default().trim());
    if to.as_str().is_empty() {
        errors.push("to_user_id", "required");
    } else if to == me {
        errors.push("to_user_id", "not_yourself");
    }
    errors.into_result()?;
    let (Some(starts), Some(ends)) = (starts, ends) else { return Err(Invalid::one("starts_on", "required").into()) };
    let tx = services.store.begin_write().await?;
    let target = match loupan_store::users::find_user(&tx, &to).await? {
        Some(u) if !u.disabled => u,
        _ => return Err(Invalid::one("to_user_id", "unknown_user").into()),
    };
    let row = loupan_store::approvals::DelegationRow {
        id: loupan_store::new_id(),
        from_user_id: me.clone(),
        to_user_id: target.id.clone(),
        starts_at: services.clock.start_of_day(starts),
        ends_at: services.clock.start_of_day(ends + Duration::days(1)),
        created_at: services.clock.now(),
        revoked_at: None,
    };
    store::insert_delegation(&tx, &row).await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "delegation.create",
            record_type: "delegation",
            record_id: row.id.as_str(),
            before: None,
            after: Some(serde_json::json!({"to": target.username, "starts_on": starts, "ends_on": ends})),
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(Delegation {
        id: row.id,
        from_user_id: me,
        from_name: actor.display_name.clone(),
        to_user_id: target.id,
        to_name: target.display_name,
        starts_at: row.starts_at,
        ends_at: row.ends_at,
        revoked: false,
    })
}

pub async fn revoke_delegation(services: &Services, actor: &Actor, id: &str) -> ServiceResult<()> {
    let me = actor.user_id.clone().ok_or(ServiceError::Forbidden)?;
    let tx = services.store.begin_write().await?;
    if !store::revoke_delegation(&tx, id, &me, services.clock.now()).await? {
        return Err(ServiceError::NotFound("delegation"));
    }
    audit::record(
        &tx,
        actor,
        Change { action: "delegation.revoke", record_type: "delegation", record_id: id, before: None, after: None },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(())
}
