//! Satisfaction surveys (C5): the links sent and their answers.

use chrono::{DateTime, Utc};
use loupan_domain::ids::{CaseId, NoticeBatchId, ProjectId, SurveyId};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect};

use crate::StoreResult;
use crate::entities::surveys;

pub use surveys::Model as SurveyRow;

pub async fn insert_survey<C: ConnectionTrait>(c: &C, row: &SurveyRow) -> StoreResult<()> {
    surveys::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn find_survey<C: ConnectionTrait>(c: &C, id: &SurveyId) -> StoreResult<Option<SurveyRow>> {
    Ok(surveys::Entity::find_by_id(id.clone()).one(c).await?)
}

pub async fn find_by_token_hash<C: ConnectionTrait>(c: &C, hash: &str) -> StoreResult<Option<SurveyRow>> {
    Ok(surveys::Entity::find().filter(surveys::Column::TokenHash.eq(hash)).one(c).await?)
}

/// Writes the answer if none was written; false when one was.
pub async fn answer<C: ConnectionTrait>(
    c: &C,
    id: &SurveyId,
    at: DateTime<Utc>,
    csat: i32,
    nps: i32,
    comment: Option<&str>,
) -> StoreResult<bool> {
    let done = surveys::Entity::update_many()
        .col_expr(surveys::Column::AnsweredAt, Expr::value(at))
        .col_expr(surveys::Column::Csat, Expr::value(csat))
        .col_expr(surveys::Column::Nps, Expr::value(nps))
        .col_expr(surveys::Column::Comment, Expr::value(comment.map(str::to_owned)))
        .filter(surveys::Column::Id.eq(id))
        .filter(surveys::Column::AnsweredAt.is_null())
        .exec(c)
        .await?;
    Ok(done.rows_affected == 1)
}

pub async fn set_case<C: ConnectionTrait>(c: &C, id: &SurveyId, case_id: &CaseId) -> StoreResult<()> {
    surveys::Entity::update_many()
        .col_expr(surveys::Column::CaseId, Expr::value(case_id.as_str()))
        .filter(surveys::Column::Id.eq(id))
        .exec(c)
        .await?;
    Ok(())
}

/// Names the notice batch that took the survey's link to its customer.
pub async fn set_notice_batch<C: ConnectionTrait>(c: &C, id: &SurveyId, batch: &NoticeBatchId) -> StoreResult<()> {
    surveys::Entity::update_many()
        .col_expr(surveys::Column::NoticeBatchId, Expr::value(batch.as_str()))
        .filter(surveys::Column::Id.eq(id))
        .exec(c)
        .await?;
    Ok(())
}

/// What a list of surveys is limited to.
#[derive(Debug, Clone, Default)]
pub struct SurveyFilter {
    /// None: every project (the caller sees all).
    pub projects: Option<Vec<ProjectId>>,
    pub project: Option<ProjectId>,
    pub subject_id: Option<String>,
    pub customer_id: Option<loupan_domain::ids::CustomerId>,
    pub sent_from: Option<DateTime<Utc>>,
    pub sent_to: Option<DateTime<Utc>>,
    pub answered_only: bool,
    /// Only answers given at or after this instant.
    pub answered_from: Option<DateTime<Utc>>,
    /// Only answers that opened a case (low scores).
    pub low_only: bool,
}

/// Surveys newest first, at most `limit`.
pub async fn list<C: ConnectionTrait>(c: &C, f: &SurveyFilter, limit: u64) -> StoreResult<Vec<SurveyRow>> {
    use surveys::Column as Col;
    let mut q = surveys::Entity::find().order_by_desc(Col::SentAt).order_by_desc(Col::Id).limit(limit);
    if let Some(ids) = &f.projects {
        q = q.filter(Col::ProjectId.is_in(ids.iter().cloned()));
    }
    if let Some(p) = &f.project {
        q = q.filter(Col::ProjectId.eq(p));
    }
    if let Some(s) = &f.subject_id {
        q = q.filter(Col::SubjectId.eq(s.as_str()));
    }
    if let Some(cu) = &f.customer_id {
        q = q.filter(Col::CustomerId.eq(cu));
    }
    if let Some(from) = f.sent_from {
        q = q.filter(Col::SentAt.gte(from));
    }
    if let Some(to) = f.sent_to {
        q = q.filter(Col::SentAt.lt(to));
    }
    if f.answered_only {
        q = q.filter(Col::AnsweredAt.is_not_null());
    }
    if let Some(from) = f.answered_from {
        q = q.filter(Col::AnsweredAt.gte(from));
    }
    if f.low_only {
        q = q.filter(Col::CaseId.is_not_null());
    }
    Ok(q.all(c).await?)
}
