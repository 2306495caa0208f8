//! Receipt books (票据) through the API: register, list, account for every
//! number issued, void a spoiled or cancelled number.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use loupan_domain::finance::ReceiptStatus;
use loupan_domain::ids::ProjectId;
use loupan_service::finance::receipt_books::{self as books, Book, BookReport, Gap};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::{Page, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use crate::{AppError, AppState};

#[derive(Deserialize, ToSchema)]
pub struct NewBookRequest {
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub project_id: Option<String>,
    /// Printed before the number, e.g. `SJ2026-`: letters, digits and dashes.
    #[schema(required = true, nullable = false, min_length = 1, max_length = 20, pattern = "^[A-Za-z0-9-]+$")]
    pub prefix: Option<String>,
    #[schema(required = true, nullable = false, minimum = 1)]
    pub first_number: Option<i64>,
    #[schema(required = true, nullable = false, minimum = 1)]
    pub last_number: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct BookDto {
    pub id: String,
    pub project_id: ProjectId,
    pub prefix: String,
    pub first_number: i64,
    pub last_number: i64,
    pub next_number: i64,
    pub issued: i64,
    pub left: i64,
    /// The first and last numbers as printed.
    pub range: String,
    pub registered_by: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<Book> for BookDto {
    fn from(b: Book) -> Self {
        BookDto {
            id: b.id,
            project_id: b.project_id,
            prefix: b.prefix,
            first_number: b.first_number,
            last_number: b.last_number,
            next_number: b.next_number,
            issued: b.issued,
            left: b.left,
            range: b.range,
            registered_by: b.registered_by,
            created_at: b.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct BookList {
    pub items: Vec<BookDto>,
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct GapDto {
    pub number: String,
    /// `voided` (with the reason) or `missing` (unaccounted for).
    pub kind: String,
    pub reason: Option<String>,
    pub receipt_id: Option<String>,
    pub voided_by: Option<String>,
    pub voided_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<Gap> for GapDto {
    fn from(g: Gap) -> Self {
        GapDto {
            number: g.number,
            kind: g.kind.to_owned(),
            reason: g.reason,
            receipt_id: g.receipt_id,
            voided_by: g.voided_by,
            voided_at: g.voided_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct IssuedDto {
    pub number: String,
    pub receipt_id: String,
    pub amount: String,
    pub status: ReceiptStatus,
}

/// A book and every number issued from it: receipts, and the gaps explained.
#[derive(Serialize, ToSchema)]
pub struct BookReportDto {
    pub book: BookDto,
    pub receipts: Vec<IssuedDto>,
    pub gaps: Vec<GapDto>,
}

impl From<BookReport> for BookReportDto {
    fn from(r: BookReport) -> Self {
        BookReportDto {
            book: r.book.into(),
            receipts: r
                .receipts
                .into_iter()
                .map(|i| IssuedDto {
                    number: i.number,
                    receipt_id: i.receipt_id,
                    amount: i.amount.to_string(),
                    status: i.status,
                })
                .collect(),
            gaps: r.gaps.into_iter().map(GapDto::from).collect(),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BookParams {
    pub project_id: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/finance/receipt-books", tag = "finance", params(BookParams),
    responses((status = 200, body = BookList), (status = 403, body = Problem)))]
async fn list(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<BookParams>,
) -> Result<Json<Page<BookDto>>, AppError> {
    let project = ProjectId::given(q.project_id.as_deref());
    let items = books::list(&state.services, &actor, project.as_ref()).await?;
    Ok(Json(Page { items: items.into_iter().map(Into::into).collect(), next_cursor: None }))
}

/// Registers a receipt book for a project; its numbers may not overlap another book's.
#[utoipa::path(post, path = "/api/v1/finance/receipt-books", tag = "finance", request_body = NewBookRequest,
    responses((status = 201, body = BookDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn register(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<NewBookRequest>,
) -> Result<(StatusCode, Json<BookDto>), AppError> {
    let form = books::NewBook {
        project_id: req.project_id,
        prefix: req.prefix,
        first_number: req.first_number,
        last_number: req.last_number,
    };
    Ok((StatusCode::CREATED, Json(books::register(&state.services, &actor, form).await?.into())))
}

#[utoipa::path(get, path = "/api/v1/finance/receipt-books/{id}", tag = "finance",
    responses((status = 200, body = BookReportDto), (status = 404, body = Problem)))]
async fn report(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<BookReportDto>, AppError> {
    Ok(Json(books::report(&state.services, &actor, &id).await?.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct VoidRequest {
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub reason: Option<String>,
    /// The voided or reversed receipt whose number is voided; the next unused number when omitted.
    pub receipt_id: Option<String>,
}

/// Voids a number of the book: the next unused one (a spoiled form) or that of a voided or reversed receipt.
#[utoipa::path(post, path = "/api/v1/finance/receipt-books/{id}/void", tag = "finance", request_body = VoidRequest,
    responses((status = 201, body = GapDto), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn void(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<VoidRequest>,
) -> Result<(StatusCode, Json<GapDto>), AppError> {
    let gap = books::void(&state.services, &actor, &id, req.receipt_id.as_deref(), req.reason.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(gap.into())))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, register)).routes(routes!(report)).routes(routes!(void))
}
