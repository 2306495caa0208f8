//! Notices and letters: template versions, batches and their recipients.

use chrono::{DateTime, Utc};
use loupan_domain::ids::{CustomerId, NoticeBatchId, NoticeRecipientId, NoticeTemplateId, ProjectId};
use loupan_domain::notices::{BatchStatus, RecipientStatus};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect,
};

use crate::StoreResult;
use crate::entities::{notice_batches, notice_recipients, notice_templates};

pub use notice_batches::Model as BatchRow;
pub use notice_recipients::Model as RecipientRow;
pub use notice_templates::Model as TemplateRow;

pub async fn insert_template<C: ConnectionTrait>(c: &C, row: &TemplateRow) -> StoreResult<()> {
    row.clone().into_active_model().insert(c).await?;
    Ok(())
}

pub async fn find_template<C: ConnectionTrait>(c: &C, id: &NoticeTemplateId) -> StoreResult<Option<TemplateRow>> {
    Ok(notice_templates::Entity::find_by_id(id.clone()).one(c).await?)
}

/// The current version of every template the projects may use (theirs and
/// the company-wide ones), by name; `None`: every project's.
pub async fn current_templates<C: ConnectionTrait>(
    c: &C,
    projects: Option<&[ProjectId]>,
) -> StoreResult<Vec<TemplateRow>> {
    use notice_templates::Column;
    let mut q = notice_templates::Entity::find().filter(Column::SupersededAt.is_null());
    if let Some(projects) = projects {
        q = q.filter(
            sea_orm::Condition::any()
                .add(Column::ProjectId.is_null())
                .add(Column::ProjectId.is_in(projects.iter().cloned())),
        );
    }
    Ok(q.order_by_asc(Column::Name).order_by_asc(Column::Id).all(c).await?)
}

/// The version of template `id`'s family in force (`id` itself unless it was
/// edited since).
pub async fn current_version<C: ConnectionTrait>(c: &C, id: &NoticeTemplateId) -> StoreResult<Option<TemplateRow>> {
    use notice_templates::Column;
    let Some(row) = find_template(c, id).await? else { return Ok(None) };
    if row.superseded_at.is_none() {
        return Ok(Some(row));
    }
    Ok(notice_templates::Entity::find()
        .filter(Column::FamilyId.eq(row.family_id))
        .filter(Column::SupersededAt.is_null())
        .one(c)
        .await?)
}

/// Every version of a template, newest first.
pub async fn template_versions<C: ConnectionTrait>(c: &C, family: &NoticeTemplateId) -> StoreResult<Vec<TemplateRow>> {
    Ok(notice_templates::Entity::find()
        .filter(notice_templates::Column::FamilyId.eq(family.clone()))
        .order_by_desc(notice_templates::Column::Version)
        .all(c)
        .await?)
}

/// Marks a version replaced; false when another edit replaced it first.
pub async fn supersede_template<C: ConnectionTrait>(
    c: &C,
    id: &NoticeTemplateId,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    use notice_templates::Column;
    let r = notice_templates::Entity::update_many()
        .col_expr(Column::SupersededAt, Expr::value(at))
        .filter(Column::Id.eq(id.clone()))
        .filter(Column::SupersededAt.is_null())
        .exec(c)
        .await?;
    Ok(r.rows_affected == 1)
}

pub async fn insert_batch<C: ConnectionTrait>(c: &C, row: &BatchRow) -> StoreResult<()> {
    row.clone().into_active_model().insert(c).await?;
    Ok(())
}

pub async fn find_batch<C: ConnectionTrait>(c: &C, id: &NoticeBatchId) -> StoreResult<Option<BatchRow>> {
    Ok(notice_batches::Entity::find_by_id(id.clone()).one(c).await?)
}

/// The latest batches of the projects (`None`: all), newest first.
pub async fn batches<C: ConnectionTrait>(
    c: &C,
    projects: Option<&[ProjectId]>,
    limit: u64,
) -> StoreResult<Vec<BatchRow>> {
    use notice_batches::Column;
    let mut q = notice_batches::Entity::find();
    if let Some(projects) = projects {
        q = q.filter(Column::ProjectId.is_in(projects.iter().cloned()));
    }
    Ok(q.order_by_desc(Column::CreatedAt).order_by_desc(Column::Id).limit(limit).all(c).await?)
}

pub async fn set_batch_status<C: ConnectionTrait>(c: &C, id: &NoticeBatchId, status: BatchStatus) -> StoreResult<()> {
    notice_batches::Entity::update_many()
        .col_expr(notice_batches::Column::Status, Expr::value(status))
        .filter(notice_batches::Column::Id.eq(id.clone()))
        .exec(c)
        .await?;
    Ok(())
}

/// The counts as the recipients' rows say, the output, and the end.
pub async fn finish_batch<C: ConnectionTrait>(
    c: &C,
    id: &NoticeBatchId,
    output_file_id: Option<&str>,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    let count = |status: RecipientStatus| async move {
        let n = notice_recipients::Entity::find()
            .filter(notice_recipients::Column::BatchId.eq(id.clone()))
            .filter(notice_recipients::Column::Status.eq(status))
            .count(c)
            .await?;
        StoreResult::Ok(i32::try_from(n).unwrap_or(i32::MAX))
    };
    let (sent, skipped, failed) = (
        count(RecipientStatus::Sent).await?,
        count(RecipientStatus::Skipped).await?,
        count(RecipientStatus::Failed).await?,
    );
    use notice_batches::Column;
    notice_batches::Entity::update_many()
        .col_expr(Column::Status, Expr::value(BatchStatus::Done))
        .col_expr(Column::Sent, Expr::value(sent))
        .col_expr(Column::Skipped, Expr::value(skipped))
        .col_expr(Column::Failed, Expr::value(failed))
        .col_expr(Column::OutputFileId, Expr::value(output_file_id.map(str::to_owned)))
        .col_expr(Column::FinishedAt, Expr::value(at))
        .filter(Column::Id.eq(id.clone()))
        .exec(c)
        .await?;
    Ok(())
}

pub async fn insert_recipients<C: ConnectionTrait>(c: &C, rows: &[RecipientRow]) -> StoreResult<()> {
    // Bound parameters per statement stay well under SQLite's limit.
    for chunk in rows.chunks(500) {
        notice_recipients::Entity::insert_many(chunk.iter().cloned().map(IntoActiveModel::into_active_model))
            .exec_without_returning(c)
            .await?;
    }
    Ok(())
}

/// The next recipients still to be handled, in print order.
pub async fn pending_recipients<C: ConnectionTrait>(
    c: &C,
    batch: &NoticeBatchId,
    limit: u64,
) -> StoreResult<Vec<RecipientRow>> {
    use notice_recipients::Column;
    Ok(notice_recipients::Entity::find()
        .filter(Column::BatchId.eq(batch.clone()))
        .filter(Column::Status.eq(RecipientStatus::Pending))
        .order_by_asc(Column::Position)
        .limit(limit)
        .all(c)
        .await?)
}

/// How many recipients of a batch are still to be sent.
pub async fn count_pending<C: ConnectionTrait>(c: &C, batch: &NoticeBatchId) -> StoreResult<usize> {
    use notice_recipients::Column;
    let n = notice_recipients::Entity::find()
        .filter(Column::BatchId.eq(batch.clone()))
        .filter(Column::Status.eq(RecipientStatus::Pending))
        .count(c)
        .await?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// Every recipient of a batch, in print order.
pub async fn recipients<C: ConnectionTrait>(c: &C, batch: &NoticeBatchId) -> StoreResult<Vec<RecipientRow>> {
    use notice_recipients::Column;
    Ok(notice_recipients::Entity::find()
        .filter(Column::BatchId.eq(batch.clone()))
        .order_by_asc(Column::Position)
        .all(c)
        .await?)
}

/// The texts of a batch's letters that went out, in print order, `limit` at
/// a time after the position `after`: (position, text).
pub async fn sent_texts<C: ConnectionTrait>(
    c: &C,
    batch: &NoticeBatchId,
    after: i32,
    limit: u64,
) -> StoreResult<Vec<(i32, String)>> {
    use notice_recipients::Column;
    let rows: Vec<(i32, Option<String>)> = notice_recipients::Entity::find()
        .select_only()
        .column(Column::Position)
        .column(Column::Text)
        .filter(Column::BatchId.eq(batch.clone()))
        .filter(Column::Status.eq(RecipientStatus::Sent))
        .filter(Column::Position.gt(after))
        .order_by_asc(Column::Position)
        .limit(limit)
        .into_tuple()
        .all(c)
        .await?;
    Ok(rows.into_iter().filter_map(|(position, text)| Some((position, text?))).collect())
}

pub async fn find_recipient<C: ConnectionTrait>(c: &C, id: &NoticeRecipientId) -> StoreResult<Option<RecipientRow>> {
    Ok(notice_recipients::Entity::find_by_id(id.clone()).one(c).await?)
}

/// What the customer was sent, newest first.
pub async fn recipients_of_customer<C: ConnectionTrait>(
    c: &C,
    customer: &CustomerId,
) -> StoreResult<Vec<RecipientRow>> {
    use notice_recipients::Column;
    Ok(notice_recipients::Entity::find()
        .filter(Column::CustomerId.eq(customer.clone()))
        .filter(Column::Status.eq(RecipientStatus::Sent))
        .order_by_desc(Column::SentAt)
        .all(c)
        .await?)
}

/// Records what became of a pending recipient; false when it was handled already
/// (a second worker, or a run resumed after a crash, never handles it twice).
pub async fn settle_recipient<C: ConnectionTrait>(c: &C, row: &RecipientRow) -> StoreResult<bool> {
    use notice_recipients::Column;
    let r = notice_recipients::Entity::update_many()
        .col_expr(Column::Status, Expr::value(row.status))
        .col_expr(Column::SkipReason, Expr::value(row.skip_reason.clone()))
        .col_expr(Column::Subject, Expr::value(row.subject.clone()))
        .col_expr(Column::Text, Expr::value(row.text.clone()))
        .col_expr(Column::Error, Expr::value(row.error.clone()))
        .col_expr(Column::SentAt, Expr::value(row.sent_at))
        .filter(Column::Id.eq(row.id.clone()))
        .filter(Column::Status.eq(RecipientStatus::Pending))
        .exec(c)
        .await?;
    Ok(r.rows_affected == 1)
}
