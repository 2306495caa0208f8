//! 异常客户 through the API: customers without contact, with money overdue, or
//! with a deal cancelled lately.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, NaiveDate, Utc};
use loupan_domain::ids::{CustomerId, ProjectId, UserId};
use loupan_domain::sales::ChangeKind;
use loupan_service::cases::repeats::{RepeatComplainers, repeat_complainers};
use loupan_service::cases::surveys::{LowScorer, low_scorers};
use loupan_service::customers::exceptions::{self as exceptions, ExceptionCustomer, Exceptions};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::Problem;
use crate::extract::{ApiQuery, Authed};
use crate::{AppError, AppState};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExceptionParams {
    pub project_id: Option<String>,
    /// Days without contact that count (1–3650); 14 when omitted.
    #[param(minimum = 1, maximum = 3650)]
    pub days: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ExceptionCustomerDto {
    pub id: CustomerId,
    pub name: String,
    /// Masked.
    pub phone: String,
    pub project_id: ProjectId,
    pub owner_id: UserId,
    pub owner_name: String,
}

impl From<ExceptionCustomer> for ExceptionCustomerDto {
    fn from(c: ExceptionCustomer) -> Self {
        ExceptionCustomerDto {
            id: c.id,
            name: c.name,
            phone: c.phone,
            project_id: c.project_id,
            owner_id: c.owner_id,
            owner_name: c.owner_name,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SilentDto {
    pub customer: ExceptionCustomerDto,
    pub last_contact_at: Option<DateTime<Utc>>,
    pub registered_at: DateTime<Utc>,
    pub days_silent: i64,
}

#[derive(Serialize, ToSchema)]
pub struct OverdueDto {
    pub customer: ExceptionCustomerDto,
    pub overdue: String,
    pub overdue_since: NaiveDate,
    pub days_overdue: i64,
}

#[derive(Serialize, ToSchema)]
pub struct CancelledDto {
    pub customer: ExceptionCustomerDto,
    /// `cancel_contract` or `cancel_subscription`.
    pub kind: ChangeKind,
    pub deal_id: String,
    pub reason: String,
    pub cancelled_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct RepeatComplainerDto {
    pub customer: ExceptionCustomerDto,
    /// Complaints within the period (merged cases not counted).
    pub complaints: i64,
}

/// Customers who complained the service desk's number of times or more
/// within its period (`GET /api/v1/service/settings`: `repeat_complaints`,
/// `repeat_days`).
#[derive(Serialize, ToSchema)]
pub struct RepeatComplainersDto {
    /// Complaints that make a repeat complainer; 0: the rule is off.
    pub complaints: i64,
    pub days: i64,
    pub customers: Vec<RepeatComplainerDto>,
}

/// A customer whose satisfaction survey, answered within 90 days, was low
/// (CSAT ≤ 2 or NPS ≤ 4): the latest such answer.
#[derive(Serialize, ToSchema)]
pub struct LowScoreDto {
    pub customer: ExceptionCustomerDto,
    pub csat: i32,
    pub nps: i32,
    pub answered_at: chrono::DateTime<chrono::Utc>,
    /// The complaint case the answer opened.
    pub case_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ExceptionsDto {
    pub silent_days: i64,
    pub silent: Vec<SilentDto>,
    pub overdue: Vec<OverdueDto>,
    pub cancelled: Vec<CancelledDto>,
    pub repeated_complaints: RepeatComplainersDto,
    pub low_satisfaction: Vec<LowScoreDto>,
}

impl ExceptionsDto {
    fn of(e: Exceptions, repeats: RepeatComplainers, low: Vec<LowScorer>) -> Self {
        ExceptionsDto {
            low_satisfaction: low
                .into_iter()
                .map(|l| LowScoreDto {
                    customer: l.customer.into(),
                    csat: l.csat,
                    nps: l.nps,
                    answered_at: l.answered_at,
                    case_id: l.case_id.map(|c| c.to_string()),
                })
                .collect(),
            repeated_complaints: RepeatComplainersDto {
                complaints: repeats.complaints,
                days: repeats.days,
                customers: repeats
                    .customers
                    .into_iter()
                    .map(|r| RepeatComplainerDto { customer: r.customer.into(), complaints: r.complaints })
                    .collect(),
            },
            silent_days: e.silent_days,
            silent: e
                .silent
                .into_iter()
                .map(|s| SilentDto {
                    customer: s.customer.into(),
                    last_contact_at: s.last_contact_at,
                    registered_at: s.registered_at,
                    days_silent: s.days_silent,
                })
                .collect(),
            overdue: e
                .overdue
                .into_iter()
                .map(|o| OverdueDto {
                    customer: o.customer.into(),
                    overdue: o.overdue.to_string(),
                    overdue_since: o.overdue_since,
                    days_overdue: o.days_overdue,
                })
                .collect(),
            cancelled: e
                .cancelled
                .into_iter()
                .map(|c| CancelledDto {
                    customer: c.customer.into(),
                    kind: c.kind,
                    deal_id: c.deal_id,
                    reason: c.reason,
                    cancelled_at: c.cancelled_at,
                })
                .collect(),
        }
    }
}

/// The customers to look at, each with why (agents: their own; managers:
/// their projects'): silent, money overdue, a deal cancelled, repeated
/// complaints, low satisfaction.
#[utoipa::path(get, path = "/api/v1/customers/exceptions", tag = "customers", params(ExceptionParams),
    responses((status = 200, body = ExceptionsDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn list(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<ExceptionParams>,
) -> Result<Json<ExceptionsDto>, AppError> {
    let project = ProjectId::given(q.project_id.as_deref());
    let found = exceptions::list(&state.services, &actor, project.as_ref(), q.days).await?;
    let repeats = repeat_complainers(&state.services, &actor, project.as_ref()).await?;
    let low = low_scorers(&state.services, &actor, project.as_ref()).await?;
    Ok(Json(ExceptionsDto::of(found, repeats, low)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CrossParams {
    /// The row variable: `grade`, `source`, `kind`, `purpose`, `layout`, `age`, `budget`, `project` or `agent`.
    #[param(required = true, pattern = "^(grade|source|kind|purpose|layout|age|budget|project|agent)$")]
    pub rows: Option<String>,
    /// The column variable, from the same list.
    #[param(required = true, pattern = "^(grade|source|kind|purpose|layout|age|budget|project|agent)$")]
    pub columns: Option<String>,
    pub project_id: Option<String>,
}

/// Cross analysis (交叉分析): two customer attributes crossed over the
/// customers the caller sees, with counts, row and column percentages and
/// Pearson's chi-square test of independence (statistic, degrees of freedom,
/// p-value).
#[utoipa::path(get, path = "/api/v1/customers/cross-analysis", tag = "customers", params(CrossParams),
    responses((status = 200, body = loupan_service::customers::cross::CrossTable), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
async fn cross_analysis(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<CrossParams>,
) -> Result<Json<loupan_service::customers::cross::CrossTable>, AppError> {
    let project = ProjectId::given(q.project_id.as_deref());
    Ok(Json(
        loupan_service::customers::cross::cross(
            &state.services,
            &actor,
            q.rows.as_deref(),
            q.columns.as_deref(),
            project.as_ref(),
        )
        .await?,
    ))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(cross_analysis))
}
