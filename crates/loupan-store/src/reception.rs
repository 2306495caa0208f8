//! Reception at the sales office (S4): visits and the day's duty queue.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use loupan_domain::ids::{CustomerId, ProjectId, UserId, VisitId};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect};

use crate::StoreResult;
use crate::entities::{follow_ups, reception_duty, visits};

pub use reception_duty::Model as DutyRow;
pub use visits::Model as VisitRow;

pub async fn insert_visit<C: ConnectionTrait>(c: &C, row: &VisitRow) -> StoreResult<()> {
    visits::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn find_visit<C: ConnectionTrait>(c: &C, id: &VisitId) -> StoreResult<Option<VisitRow>> {
    Ok(visits::Entity::find_by_id(id.clone()).one(c).await?)
}

/// Ends the visit if it has not ended; false when it had.
pub async fn end_visit<C: ConnectionTrait>(c: &C, id: &VisitId, at: DateTime<Utc>) -> StoreResult<bool> {
    let done = visits::Entity::update_many()
        .col_expr(visits::Column::EndedAt, Expr::value(at))
        .filter(visits::Column::Id.eq(id))
        .filter(visits::Column::EndedAt.is_null())
        .exec(c)
        .await?;
    Ok(done.rows_affected == 1)
}

/// The visitors an agent is with now, earliest first.
pub async fn open_visits_of_agent<C: ConnectionTrait>(c: &C, agent_id: &UserId) -> StoreResult<Vec<VisitRow>> {
    Ok(visits::Entity::find()
        .filter(visits::Column::AgentId.eq(agent_id))
        .filter(visits::Column::EndedAt.is_null())
        .order_by_asc(visits::Column::ArrivedAt)
        .limit(50)
        .all(c)
        .await?)
}

/// A project's visits that arrived in `[from, to)`, latest first.
pub async fn visits_between<C: ConnectionTrait>(
    c: &C,
    project_id: &ProjectId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: u64,
) -> StoreResult<Vec<VisitRow>> {
    Ok(visits::Entity::find()
        .filter(visits::Column::ProjectId.eq(project_id))
        .filter(visits::Column::ArrivedAt.gte(from))
        .filter(visits::Column::ArrivedAt.lt(to))
        .order_by_desc(visits::Column::ArrivedAt)
        .order_by_desc(visits::Column::Id)
        .limit(limit)
        .all(c)
        .await?)
}

/// The day's queue in its order.
pub async fn duty_of<C: ConnectionTrait>(c: &C, project_id: &ProjectId, day: NaiveDate) -> StoreResult<Vec<DutyRow>> {
    Ok(reception_duty::Entity::find()
        .filter(reception_duty::Column::ProjectId.eq(project_id))
        .filter(reception_duty::Column::Day.eq(day))
        .order_by_asc(reception_duty::Column::Position)
        .all(c)
        .await?)
}

/// Replaces the day's queue with `rows`.
pub async fn replace_duty<C: ConnectionTrait>(
    c: &C,
    project_id: &ProjectId,
    day: NaiveDate,
    rows: &[DutyRow],
) -> StoreResult<()> {
    reception_duty::Entity::delete_many()
        .filter(reception_duty::Column::ProjectId.eq(project_id))
        .filter(reception_duty::Column::Day.eq(day))
        .exec(c)
        .await?;
    if !rows.is_empty() {
        reception_duty::Entity::insert_many(rows.iter().cloned().map(IntoActiveModel::into_active_model))
            .exec_without_returning(c)
            .await?;
    }
    Ok(())
}

/// Gives the agent on duty a visitor if they are free: moved to `position`
/// (the end of the queue) when given by the rotation, left in place when it
/// is their own customer. False when they were not free (another door was faster).
pub async fn claim_agent<C: ConnectionTrait>(
    c: &C,
    project_id: &ProjectId,
    day: NaiveDate,
    user_id: &UserId,
    visit_id: &VisitId,
    position: Option<i64>,
) -> StoreResult<bool> {
    let mut q = reception_duty::Entity::update_many()
        .col_expr(reception_duty::Column::VisitId, Expr::value(visit_id.as_str()))
        .col_expr(reception_duty::Column::Visitors, Expr::col(reception_duty::Column::Visitors).add(1));
    if let Some(p) = position {
        q = q.col_expr(reception_duty::Column::Position, Expr::value(p));
    }
    let done = q
        .filter(reception_duty::Column::ProjectId.eq(project_id))
        .filter(reception_duty::Column::Day.eq(day))
        .filter(reception_duty::Column::UserId.eq(user_id))
        .filter(reception_duty::Column::VisitId.is_null())
        .exec(c)
        .await?;
    Ok(done.rows_affected == 1)
}

/// The agent who was with this visitor is free again.
pub async fn free_agent<C: ConnectionTrait>(c: &C, visit_id: &VisitId) -> StoreResult<()> {
    reception_duty::Entity::update_many()
        .col_expr(reception_duty::Column::VisitId, Expr::value(Option::<String>::None))
        .filter(reception_duty::Column::VisitId.eq(visit_id))
        .exec(c)
        .await?;
    Ok(())
}

/// Each customer's latest visit (a follow-up of kind `visit`, registered at the
/// door or by their agent).
pub async fn last_visits<C: ConnectionTrait>(
    c: &C,
    customer_ids: &[CustomerId],
) -> StoreResult<HashMap<CustomerId, DateTime<Utc>>> {
    if customer_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(CustomerId, Option<DateTime<Utc>>)> = follow_ups::Entity::find()
        .select_only()
        .column(follow_ups::Column::CustomerId)
        .column_as(follow_ups::Column::OccurredAt.max(), "last")
        .filter(follow_ups::Column::CustomerId.is_in(customer_ids.iter().cloned()))
        .filter(follow_ups::Column::Kind.eq(loupan_domain::customers::FollowUpKind::Visit))
        .group_by(follow_ups::Column::CustomerId)
        .into_tuple()
        .all(c)
        .await?;
    Ok(rows.into_iter().filter_map(|(id, at)| at.map(|at| (id, at))).collect())
}

/// How many active subscriptions and contracts each customer has.
pub async fn open_deals<C: ConnectionTrait>(
    c: &C,
    customer_ids: &[CustomerId],
) -> StoreResult<HashMap<CustomerId, u32>> {
    use crate::entities::{contracts, subscriptions};
    use loupan_domain::sales::{ContractStatus, SubscriptionStatus};
    let mut counts = HashMap::new();
    if customer_ids.is_empty() {
        return Ok(counts);
    }
    let subs: Vec<CustomerId> = subscriptions::Entity::find()
        .select_only()
        .column(subscriptions::Column::CustomerId)
        .filter(subscriptions::Column::CustomerId.is_in(customer_ids.iter().cloned()))
        .filter(subscriptions::Column::Status.eq(SubscriptionStatus::Active))
        .into_tuple()
        .all(c)
        .await?;
    let contracts: Vec<CustomerId> = contracts::Entity::find()
        .select_only()
        .column(contracts::Column::CustomerId)
        .filter(contracts::Column::CustomerId.is_in(customer_ids.iter().cloned()))
        .filter(contracts::Column::Status.eq(ContractStatus::Active))
        .into_tuple()
        .all(c)
        .await?;
    for id in subs.into_iter().chain(contracts) {
        *counts.entry(id).or_insert(0) += 1;
    }
    Ok(counts)
}
