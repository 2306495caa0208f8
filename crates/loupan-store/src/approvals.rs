//! Approval flows, requests, tasks, their trail and attachments, delegations.
//! State changes are conditional (`WHERE status = ...`) so that two approvers
//! acting at once cannot both move a request.

use chrono::{DateTime, Utc};
use loupan_domain::ids::{ProjectId, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect};

use loupan_domain::approvals::{ApprovalStatus, RequestKind, TaskStatus};

use crate::StoreResult;
use crate::entities::{
    approval_attachments, approval_events, approval_flows, approval_requests, approval_tasks, delegations,
    user_projects, user_roles, users,
};

pub use approval_attachments::Model as AttachmentRow;
pub use approval_events::Model as EventRow;
pub use approval_flows::Model as FlowRow;
pub use approval_requests::Model as RequestRow;
pub use approval_tasks::Model as TaskRow;
pub use delegations::Model as DelegationRow;

pub async fn latest_flow<C: ConnectionTrait>(c: &C, kind: RequestKind) -> StoreResult<Option<FlowRow>> {
    Ok(approval_flows::Entity::find()
        .filter(approval_flows::Column::Kind.eq(kind))
        .order_by_desc(approval_flows::Column::Version)
        .one(c)
        .await?)
}

pub async fn flow_versions<C: ConnectionTrait>(c: &C, kind: RequestKind) -> StoreResult<Vec<FlowRow>> {
    Ok(approval_flows::Entity::find()
        .filter(approval_flows::Column::Kind.eq(kind))
        .order_by_desc(approval_flows::Column::Version)
        .all(c)
        .await?)
}

pub async fn find_flow<C: ConnectionTrait>(c: &C, id: &str) -> StoreResult<Option<FlowRow>> {
    Ok(approval_flows::Entity::find_by_id(id.to_owned()).one(c).await?)
}

/// Two admins saving the same version at once: the unique (kind, version) index refuses one.
pub async fn insert_flow<C: ConnectionTrait>(c: &C, row: &FlowRow) -> StoreResult<()> {
    approval_flows::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn insert_request<C: ConnectionTrait>(c: &C, row: &RequestRow) -> StoreResult<()> {
    approval_requests::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn find_request<C: ConnectionTrait>(c: &C, id: &str) -> StoreResult<Option<RequestRow>> {
    Ok(approval_requests::Entity::find_by_id(id.to_owned()).one(c).await?)
}

pub async fn requests_by_ids<C: ConnectionTrait>(c: &C, ids: &[String]) -> StoreResult<Vec<RequestRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(approval_requests::Entity::find()
        .filter(approval_requests::Column::Id.is_in(ids.iter().cloned()))
        .order_by_asc(approval_requests::Column::CreatedAt)
        .all(c)
        .await?)
}

pub async fn requests_submitted_by<C: ConnectionTrait>(
    c: &C,
    user_id: &UserId,
    statuses: &[ApprovalStatus],
    limit: u64,
) -> StoreResult<Vec<RequestRow>> {
    let mut q = approval_requests::Entity::find().filter(approval_requests::Column::SubmittedBy.eq(user_id));
    if !statuses.is_empty() {
        q = q.filter(approval_requests::Column::Status.is_in(statuses.iter().copied()));
    }
    Ok(q.order_by_desc(approval_requests::Column::CreatedAt).limit(limit).all(c).await?)
}

/// Every request, newest first (admins and auditors).
pub async fn all_requests<C: ConnectionTrait>(
    c: &C,
    statuses: &[ApprovalStatus],
    limit: u64,
) -> StoreResult<Vec<RequestRow>> {
    let mut q = approval_requests::Entity::find();
    if !statuses.is_empty() {
        q = q.filter(approval_requests::Column::Status.is_in(statuses.iter().copied()));
    }
    Ok(q.order_by_desc(approval_requests::Column::CreatedAt).limit(limit).all(c).await?)
}

pub async fn requests_of_subject<C: ConnectionTrait>(
    c: &C,
    subject_type: &str,
    subject_id: &str,
) -> StoreResult<Vec<RequestRow>> {
    Ok(approval_requests::Entity::find()
        .filter(approval_requests::Column::SubjectType.eq(subject_type))
        .filter(approval_requests::Column::SubjectId.eq(subject_id))
        .order_by_desc(approval_requests::Column::CreatedAt)
        .all(c)
        .await?)
}

/// Moves a request on, only if it is still in `from`. False when someone else moved it first.
pub async fn move_request<C: ConnectionTrait>(
    c: &C,
    id: &str,
    from: ApprovalStatus,
    to: ApprovalStatus,
    step: i32,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let decided = to.is_final().then_some(now);
    let res = approval_requests::Entity::update_many()
        .col_expr(approval_requests::Column::Status, Expr::value(to))
        .col_expr(approval_requests::Column::CurrentStep, Expr::value(step))
        .col_expr(approval_requests::Column::UpdatedAt, Expr::value(now))
        .col_expr(approval_requests::Column::DecidedAt, Expr::value(decided))
        .filter(approval_requests::Column::Id.eq(id))
        .filter(approval_requests::Column::Status.eq(from))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn insert_task<C: ConnectionTrait>(c: &C, row: &TaskRow) -> StoreResult<()> {
    approval_tasks::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn tasks_of<C: ConnectionTrait>(c: &C, request_id: &str) -> StoreResult<Vec<TaskRow>> {
    Ok(approval_tasks::Entity::find()
        .filter(approval_tasks::Column::RequestId.eq(request_id))
        .order_by_asc(approval_tasks::Column::Step)
        .order_by_asc(approval_tasks::Column::CreatedAt)
        .all(c)
        .await?)
}

/// Pending tasks of these approvers, oldest first.
pub async fn pending_tasks_of<C: ConnectionTrait>(c: &C, approver_ids: &[UserId]) -> StoreResult<Vec<TaskRow>> {
    if approver_ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(approval_tasks::Entity::find()
        .filter(approval_tasks::Column::ApproverId.is_in(approver_ids.iter().cloned()))
        .filter(approval_tasks::Column::Status.eq(TaskStatus::Pending))
        .order_by_asc(approval_tasks::Column::CreatedAt)
        .all(c)
        .await?)
}

/// Whether the user ever had a task on the request (they may then read it).
pub async fn was_approver<C: ConnectionTrait>(c: &C, request_id: &str, user_ids: &[UserId]) -> StoreResult<bool> {
    Ok(approval_tasks::Entity::find()
        .filter(approval_tasks::Column::RequestId.eq(request_id))
        .filter(approval_tasks::Column::ApproverId.is_in(user_ids.iter().cloned()))
        .one(c)
        .await?
        .is_some())
}

/// Records one approver's decision, only if the task is still pending.
pub async fn act_on_task<C: ConnectionTrait>(
    c: &C,
    task_id: &str,
    status: TaskStatus,
    by: (&str, &str),
    comment: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let res = approval_tasks::Entity::update_many()
        .col_expr(approval_tasks::Column::Status, Expr::value(status))
        .col_expr(approval_tasks::Column::ActedById, Expr::value(by.0.to_owned()))
        .col_expr(approval_tasks::Column::ActedByName, Expr::value(by.1.to_owned()))
        .col_expr(approval_tasks::Column::Comment, Expr::value(comment.map(str::to_owned)))
        .col_expr(approval_tasks::Column::ActedAt, Expr::value(now))
        .filter(approval_tasks::Column::Id.eq(task_id))
        .filter(approval_tasks::Column::Status.eq(TaskStatus::Pending))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

/// The step ended (decided by another, or the request left it): close what is left.
pub async fn close_pending_tasks<C: ConnectionTrait>(c: &C, request_id: &str) -> StoreResult<u64> {
    let res = approval_tasks::Entity::update_many()
        .col_expr(approval_tasks::Column::Status, Expr::value(TaskStatus::Closed))
        .filter(approval_tasks::Column::RequestId.eq(request_id))
        .filter(approval_tasks::Column::Status.eq(TaskStatus::Pending))
        .exec(c)
        .await?;
    Ok(res.rows_affected)
}

/// Pending tasks past their deadline that have not been reminded yet.
pub async fn overdue_tasks<C: ConnectionTrait>(c: &C, now: DateTime<Utc>) -> StoreResult<Vec<TaskRow>> {
    Ok(approval_tasks::Entity::find()
        .filter(approval_tasks::Column::Status.eq(TaskStatus::Pending))
        .filter(approval_tasks::Column::DueAt.lte(now))
        .filter(approval_tasks::Column::RemindedAt.is_null())
        .all(c)
        .await?)
}

pub async fn mark_reminded<C: ConnectionTrait>(c: &C, task_id: &str, now: DateTime<Utc>) -> StoreResult<bool> {
    let res = approval_tasks::Entity::update_many()
        .col_expr(approval_tasks::Column::RemindedAt, Expr::value(now))
        .filter(approval_tasks::Column::Id.eq(task_id))
        .filter(approval_tasks::Column::RemindedAt.is_null())
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn mark_escalated<C: ConnectionTrait>(c: &C, task_id: &str, now: DateTime<Utc>) -> StoreResult<()> {
    approval_tasks::Entity::update_many()
        .col_expr(approval_tasks::Column::EscalatedAt, Expr::value(now))
        .filter(approval_tasks::Column::Id.eq(task_id))
        .exec(c)
        .await?;
    Ok(())
}

pub async fn insert_event<C: ConnectionTrait>(c: &C, row: &EventRow) -> StoreResult<()> {
    approval_events::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn events_of<C: ConnectionTrait>(c: &C, request_id: &str) -> StoreResult<Vec<EventRow>> {
    Ok(approval_events::Entity::find()
        .filter(approval_events::Column::RequestId.eq(request_id))
        .order_by_asc(approval_events::Column::CreatedAt)
        .order_by_asc(approval_events::Column::Id)
        .all(c)
        .await?)
}

pub async fn insert_attachment<C: ConnectionTrait>(c: &C, row: &AttachmentRow) -> StoreResult<()> {
    approval_attachments::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

/// Attachments of a request without their content: (id, name, type, size, uploader, when).
pub async fn attachments_of<C: ConnectionTrait>(
    c: &C,
    request_id: &str,
) -> StoreResult<Vec<(String, String, String, i64, String, DateTime<Utc>)>> {
    Ok(approval_attachments::Entity::find()
        .select_only()
        .column(approval_attachments::Column::Id)
        .column(approval_attachments::Column::FileName)
        .column(approval_attachments::Column::ContentType)
        .column(approval_attachments::Column::Size)
        .column(approval_attachments::Column::UploadedBy)
        .column(approval_attachments::Column::CreatedAt)
        .filter(approval_attachments::Column::RequestId.eq(request_id))
        .order_by_asc(approval_attachments::Column::CreatedAt)
        .into_tuple()
        .all(c)
        .await?)
}

pub async fn find_attachment<C: ConnectionTrait>(c: &C, id: &str) -> StoreResult<Option<AttachmentRow>> {
    Ok(approval_attachments::Entity::find_by_id(id.to_owned()).one(c).await?)
}

pub async fn insert_delegation<C: ConnectionTrait>(c: &C, row: &DelegationRow) -> StoreResult<()> {
    delegations::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn delegations_of<C: ConnectionTrait>(c: &C, user_id: &UserId) -> StoreResult<Vec<DelegationRow>> {
    Ok(delegations::Entity::find()
        .filter(
            sea_orm::Condition::any()
                .add(delegations::Column::FromUserId.eq(user_id))
                .add(delegations::Column::ToUserId.eq(user_id)),
        )
        .order_by_desc(delegations::Column::StartsAt)
        .all(c)
        .await?)
}

/// Users who have delegated their approvals to `user_id` at `now`.
pub async fn delegators_of<C: ConnectionTrait>(
    c: &C,
    user_id: &UserId,
    now: DateTime<Utc>,
) -> StoreResult<Vec<UserId>> {
    Ok(delegations::Entity::find()
        .select_only()
        .column(delegations::Column::FromUserId)
        .filter(delegations::Column::ToUserId.eq(user_id))
        .filter(delegations::Column::StartsAt.lte(now))
        .filter(delegations::Column::EndsAt.gt(now))
        .filter(delegations::Column::RevokedAt.is_null())
        .into_tuple()
        .all(c)
        .await?)
}

/// Who stands in for `user_id` at `now`.
pub async fn delegates_of<C: ConnectionTrait>(c: &C, user_id: &UserId, now: DateTime<Utc>) -> StoreResult<Vec<UserId>> {
    Ok(delegations::Entity::find()
        .select_only()
        .column(delegations::Column::ToUserId)
        .filter(delegations::Column::FromUserId.eq(user_id))
        .filter(delegations::Column::StartsAt.lte(now))
        .filter(delegations::Column::EndsAt.gt(now))
        .filter(delegations::Column::RevokedAt.is_null())
        .into_tuple()
        .all(c)
        .await?)
}

pub async fn revoke_delegation<C: ConnectionTrait>(
    c: &C,
    id: &str,
    from_user_id: &UserId,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let res = delegations::Entity::update_many()
        .col_expr(delegations::Column::RevokedAt, Expr::value(now))
        .filter(delegations::Column::Id.eq(id))
        .filter(delegations::Column::FromUserId.eq(from_user_id))
        .filter(delegations::Column::RevokedAt.is_null())
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Enabled users holding `role`: members of `project_id`, or anywhere when the
/// role sees every project. Sorted by id so routing is deterministic.
pub async fn users_with_role<C: ConnectionTrait>(
    c: &C,
    role: &str,
    project_id: Option<&ProjectId>,
    all_projects: bool,
) -> StoreResult<Vec<UserId>> {
    let holders: Vec<UserId> = user_roles::Entity::find()
        .select_only()
        .column(user_roles::Column::UserId)
        .filter(user_roles::Column::Role.eq(role))
        .into_tuple()
        .all(c)
        .await?;
    if holders.is_empty() {
        return Ok(holders);
    }
    let mut ids: Vec<UserId> = users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .filter(users::Column::Id.is_in(holders))
        .filter(users::Column::Disabled.eq(false))
        .into_tuple()
        .all(c)
        .await?;
    if let (Some(project_id), false) = (project_id, all_projects) {
        let members: Vec<UserId> = user_projects::Entity::find()
            .select_only()
            .column(user_projects::Column::UserId)
            .filter(user_projects::Column::ProjectId.eq(project_id))
            .filter(user_projects::Column::UserId.is_in(ids.clone()))
            .into_tuple()
            .all(c)
            .await?;
        ids.retain(|id| members.contains(id));
    }
    ids.sort();
    Ok(ids)
}
