//! The durable job queue. A job is claimed by one worker with a lease: on
//! PostgreSQL the candidates are locked `FOR UPDATE SKIP LOCKED`, so several
//! Loupan instances never claim the same job; on SQLite the claim runs inside
//! the single writer (`BEGIN IMMEDIATE`). A worker renews the leases of the
//! jobs it holds while it runs them; one that dies leaves its leases to run
//! out, and the jobs are claimed again.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect,
};

use loupan_domain::platform::JobStatus;

use crate::StoreResult;
use crate::entities::{job_schedules, jobs};

pub use job_schedules::Model as ScheduleRow;
pub use jobs::Model as JobRow;

/// Inserts a job; with a `unique_key` already taken nothing is inserted and false returned.
pub async fn insert_job<C: ConnectionTrait>(c: &C, row: &JobRow) -> StoreResult<bool> {
    if let Some(key) = &row.unique_key
        && jobs::Entity::find().filter(jobs::Column::UniqueKey.eq(key.as_str())).one(c).await?.is_some()
    {
        return Ok(false);
    }
    jobs::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(true)
}

pub async fn find_job<C: ConnectionTrait>(c: &C, id: &str) -> StoreResult<Option<JobRow>> {
    Ok(jobs::Entity::find_by_id(id.to_owned()).one(c).await?)
}

pub async fn list_jobs<C: ConnectionTrait>(
    c: &C,
    status: Option<JobStatus>,
    kind: Option<&str>,
    limit: u64,
) -> StoreResult<Vec<JobRow>> {
    let mut q = jobs::Entity::find();
    if let Some(s) = status {
        q = q.filter(jobs::Column::Status.eq(s));
    }
    if let Some(k) = kind {
        q = q.filter(jobs::Column::Kind.eq(k));
    }
    Ok(q.order_by_desc(jobs::Column::CreatedAt).limit(limit).all(c).await?)
}

/// Counts per status, for the CLI and the admin page.
pub async fn count_by_status<C: ConnectionTrait>(c: &C) -> StoreResult<Vec<(JobStatus, i64)>> {
    Ok(jobs::Entity::find()
        .select_only()
        .column(jobs::Column::Status)
        .column_as(Expr::col(jobs::Column::Id).count(), "n")
        .group_by(jobs::Column::Status)
        .into_tuple()
        .all(c)
        .await?)
}

/// When the longest-waiting job that is due was due: how far the workers lag.
pub async fn oldest_due<C: ConnectionTrait>(c: &C, now: DateTime<Utc>) -> StoreResult<Option<DateTime<Utc>>> {
    let oldest: Option<Option<DateTime<Utc>>> = jobs::Entity::find()
        .select_only()
        .column_as(Expr::col(jobs::Column::RunAt).min(), "oldest")
        .filter(jobs::Column::Status.eq(JobStatus::Queued))
        .filter(jobs::Column::RunAt.lte(now))
        .into_tuple()
        .one(c)
        .await?;
    Ok(oldest.flatten())
}

fn claimable(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(Condition::all().add(jobs::Column::Status.eq(JobStatus::Queued)).add(jobs::Column::RunAt.lte(now)))
        .add(Condition::all().add(jobs::Column::Status.eq(JobStatus::Running)).add(jobs::Column::LockedUntil.lt(now)))
}

/// Claims up to `limit` due jobs for `worker` until `lease_until`, counting an
/// attempt on each. Run it in its own short transaction.
pub async fn claim_jobs<C: ConnectionTrait>(
    c: &C,
    worker: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: u64,
) -> StoreResult<Vec<JobRow>> {
    let mut q = jobs::Entity::find()
        .select_only()
        .column(jobs::Column::Id)
        .filter(claimable(now))
        .order_by_asc(jobs::Column::RunAt)
        .limit(limit);
    if c.get_database_backend() == DbBackend::Postgres {
        q = q.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let ids: Vec<String> = q.into_tuple().all(c).await?;
    let mut claimed = Vec::with_capacity(ids.len());
    for id in ids {
        let res = jobs::Entity::update_many()
            .col_expr(jobs::Column::Status, Expr::value(JobStatus::Running))
            .col_expr(jobs::Column::LockedBy, Expr::value(worker.to_owned()))
            .col_expr(jobs::Column::LockedUntil, Expr::value(lease_until))
            .col_expr(jobs::Column::Attempts, Expr::col(jobs::Column::Attempts).add(1))
            .filter(jobs::Column::Id.eq(id.as_str()))
            .filter(claimable(now))
            .exec(c)
            .await?;
        if res.rows_affected == 1
            && let Some(job) = find_job(c, &id).await?
        {
            claimed.push(job);
        }
    }
    Ok(claimed)
}

/// Extends the leases of every job `worker` is running to `until`; how many.
pub async fn renew_leases<C: ConnectionTrait>(c: &C, worker: &str, until: DateTime<Utc>) -> StoreResult<u64> {
    let r = jobs::Entity::update_many()
        .col_expr(jobs::Column::LockedUntil, Expr::value(until))
        .filter(jobs::Column::LockedBy.eq(worker))
        .filter(jobs::Column::Status.eq(JobStatus::Running))
        .exec(c)
        .await?;
    Ok(r.rows_affected)
}

/// Gives back a job the worker claimed and did not start (its instance is
/// stopping): queued again at once for another worker, the attempt uncounted.
pub async fn release_job<C: ConnectionTrait>(c: &C, id: &str, worker: &str) -> StoreResult<bool> {
    let r = jobs::Entity::update_many()
        .col_expr(jobs::Column::Status, Expr::value(JobStatus::Queued))
        .col_expr(jobs::Column::LockedBy, Expr::value(Option::<String>::None))
        .col_expr(jobs::Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .col_expr(jobs::Column::Attempts, Expr::col(jobs::Column::Attempts).sub(1))
        .filter(jobs::Column::Id.eq(id))
        .filter(jobs::Column::LockedBy.eq(worker))
        .filter(jobs::Column::Status.eq(JobStatus::Running))
        .exec(c)
        .await?;
    Ok(r.rows_affected == 1)
}

/// Finishes a job the worker still holds. False when its lease was lost.
pub async fn finish_job<C: ConnectionTrait>(
    c: &C,
    id: &str,
    worker: &str,
    result: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let res = jobs::Entity::update_many()
        .col_expr(jobs::Column::Status, Expr::value(JobStatus::Done))
        .col_expr(jobs::Column::Result, Expr::value(result.map(str::to_owned)))
        .col_expr(jobs::Column::FinishedAt, Expr::value(now))
        .col_expr(jobs::Column::LockedBy, Expr::value(Option::<String>::None))
        .col_expr(jobs::Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(jobs::Column::Id.eq(id))
        .filter(jobs::Column::LockedBy.eq(worker))
        .filter(jobs::Column::Status.eq(JobStatus::Running))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Deletes at most `limit` jobs of `kinds` that ended with `status` before
/// `before`; returns how many went (fewer than `limit`: none are left).
pub async fn delete_ended<C: ConnectionTrait>(
    c: &C,
    kinds: &[&str],
    status: JobStatus,
    before: DateTime<Utc>,
    limit: u64,
) -> StoreResult<u64> {
    let ids: Vec<String> = jobs::Entity::find()
        .select_only()
        .column(jobs::Column::Id)
        .filter(jobs::Column::Status.eq(status))
        .filter(jobs::Column::Kind.is_in(kinds.iter().copied()))
        .filter(jobs::Column::FinishedAt.lt(before))
        .limit(limit)
        .into_tuple()
        .all(c)
        .await?;
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(jobs::Entity::delete_many().filter(jobs::Column::Id.is_in(ids)).exec(c).await?.rows_affected)
}

/// A failed attempt: back to `queued` at `retry_at`, or `dead` when `retry_at` is None.
pub async fn fail_job<C: ConnectionTrait>(
    c: &C,
    id: &str,
    worker: &str,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let mut q = jobs::Entity::update_many()
        .col_expr(jobs::Column::LastError, Expr::value(error.to_owned()))
        .col_expr(jobs::Column::LockedBy, Expr::value(Option::<String>::None))
        .col_expr(jobs::Column::LockedUntil, Expr::value(Option::<DateTime<Utc>>::None));
    q = match retry_at {
        Some(at) => q
            .col_expr(jobs::Column::Status, Expr::value(JobStatus::Queued))
            .col_expr(jobs::Column::RunAt, Expr::value(at)),
        None => q
            .col_expr(jobs::Column::Status, Expr::value(JobStatus::Dead))
            .col_expr(jobs::Column::FinishedAt, Expr::value(now)),
    };
    let res = q
        .filter(jobs::Column::Id.eq(id))
        .filter(jobs::Column::LockedBy.eq(worker))
        .filter(jobs::Column::Status.eq(JobStatus::Running))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn set_progress<C: ConnectionTrait>(c: &C, id: &str, done: i64, total: i64) -> StoreResult<()> {
    jobs::Entity::update_many()
        .col_expr(jobs::Column::ProgressDone, Expr::value(done))
        .col_expr(jobs::Column::ProgressTotal, Expr::value(total))
        .filter(jobs::Column::Id.eq(id))
        .exec(c)
        .await?;
    Ok(())
}

/// A dead job queued again by an operator, with a fresh set of attempts.
pub async fn requeue_dead_job<C: ConnectionTrait>(c: &C, id: &str, now: DateTime<Utc>) -> StoreResult<bool> {
    let res = jobs::Entity::update_many()
        .col_expr(jobs::Column::Status, Expr::value(JobStatus::Queued))
        .col_expr(jobs::Column::Attempts, Expr::value(0))
        .col_expr(jobs::Column::RunAt, Expr::value(now))
        .col_expr(jobs::Column::FinishedAt, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(jobs::Column::Id.eq(id))
        .filter(jobs::Column::Status.eq(JobStatus::Dead))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Adds a schedule unless one of that name exists (its timing is then kept).
pub async fn ensure_schedule<C: ConnectionTrait>(c: &C, row: &ScheduleRow) -> StoreResult<()> {
    if job_schedules::Entity::find_by_id(row.name.clone()).one(c).await?.is_none() {
        job_schedules::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    }
    Ok(())
}

pub async fn schedules<C: ConnectionTrait>(c: &C) -> StoreResult<Vec<ScheduleRow>> {
    Ok(job_schedules::Entity::find().order_by_asc(job_schedules::Column::Name).all(c).await?)
}

/// Moves a schedule from `expected` to `next`; only one instance succeeds per run.
pub async fn advance_schedule<C: ConnectionTrait>(
    c: &C,
    name: &str,
    expected: DateTime<Utc>,
    next: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let res = job_schedules::Entity::update_many()
        .col_expr(job_schedules::Column::NextRunAt, Expr::value(next))
        .col_expr(job_schedules::Column::LastRunAt, Expr::value(now))
        .filter(job_schedules::Column::Name.eq(name))
        .filter(job_schedules::Column::NextRunAt.eq(expected))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}
