//! Customers (C1-C3, S2-S7): registration with the duplicate check, search,
//! follow-ups, the timeline, duplicate rulings, transfers, and revealing
//! personal data (logged).

pub mod exceptions;
pub mod saved_filters;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use loupan_domain::customers::{CustomerKind, DuplicateStatus, FollowUpKind, MatchKind};
use loupan_domain::ids::{CustomerId, ProjectId, UserId};
use loupan_service::customers::{self, Customer, DuplicateMatch};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::{Page, PageParams, Problem};
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use crate::{AppError, AppState};

#[derive(Serialize, ToSchema)]
pub struct CustomerDto {
    pub id: CustomerId,
    pub project_id: ProjectId,
    pub owner_id: UserId,
    pub owner_name: String,
    /// `individual` or `enterprise`.
    pub kind: CustomerKind,
    pub name: String,
    /// In full for the owning agent, else masked (`138****8000`).
    pub phone: String,
    pub phone_masked: bool,
    pub id_type: Option<String>,
    /// Always masked (`110105********002X`); see `/reveal`.
    pub id_number_masked: Option<String>,
    pub source: Option<String>,
    pub grade: Option<String>,
    pub notes: Option<String>,
    pub last_contact_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Set when this customer was merged into another.
    pub merged_into: Option<CustomerId>,
    /// Overlapping categories: `potential`, `actual`, `loyal`, `buyer`, `tenant`, `member`.
    pub categories: Vec<String>,
    pub tags: Vec<String>,
    pub birthday: Option<chrono::NaiveDate>,
    /// The birthday is kept by the lunar calendar (农历生日): greetings come on its lunar date each year.
    pub birthday_lunar: bool,
    pub email: Option<String>,
    pub wechat: Option<String>,
    pub address: Option<String>,
    /// Enterprise customers: who speaks for the company.
    pub contact_person: Option<String>,
    pub needs: NeedsDto,
    /// The grade was set by hand; grade rules leave it alone.
    pub grade_manual: bool,
    /// Other phones, masked like the main one; on `GET /api/v1/customers/{id}` and updates only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other_phones: Option<Vec<OtherPhoneDto>>,
    /// Refused marketing (PIPL): opening notices and greetings skip them.
    pub marketing_opt_out: bool,
    pub version: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct NeedsDto {
    /// Yuan, two decimals.
    pub budget: Option<String>,
    /// `3室2厅`.
    pub layout: Option<String>,
    /// Square metres, two decimals.
    pub area_min: Option<String>,
    pub area_max: Option<String>,
    /// `own_use`, `upgrade`, `investment`, `education`, `retirement` or `office`.
    pub purpose: Option<String>,
    pub homes_owned: Option<i32>,
}

/// Another phone of a customer, as sent.
#[derive(Deserialize, ToSchema)]
pub struct OtherPhoneRequest {
    #[schema(value_type = crate::api::MobilePhone)]
    pub phone: String,
    /// `办公`, `家庭`, …
    pub label: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct OtherPhoneDto {
    /// Masked like the main phone (`138****8000`) for whoever sees that masked.
    pub phone: String,
    /// `办公`, `家庭`, …
    pub label: Option<String>,
}

impl From<Customer> for CustomerDto {
    fn from(c: Customer) -> Self {
        CustomerDto {
            id: c.id,
            project_id: c.project_id,
            owner_id: c.owner_id,
            owner_name: c.owner_name,
            kind: c.kind,
            name: c.name,
            phone: c.phone,
            phone_masked: c.phone_masked,
            id_type: c.id_type,
            id_number_masked: c.id_number_masked,
            source: c.source,
            grade: c.grade,
            notes: c.notes,
            last_contact_at: c.last_contact_at,
            merged_into: c.merged_into,
            categories: c.categories,
            tags: c.tags,
            birthday: c.birthday,
            birthday_lunar: c.birthday_lunar,
            email: c.email,
            wechat: c.wechat,
            address: c.address,
            contact_person: c.contact_person,
            needs: NeedsDto {
                budget: c.needs.budget.map(|m| m.to_string()),
                layout: c.needs.layout,
                area_min: c.needs.area_min.map(|a| a.to_string()),
                area_max: c.needs.area_max.map(|a| a.to_string()),
                purpose: c.needs.purpose,
                homes_owned: c.needs.homes_owned,
            },
            grade_manual: c.grade_manual,
            marketing_opt_out: c.marketing_opt_out,
            other_phones: c
                .other_phones
                .map(|p| p.into_iter().map(|p| OtherPhoneDto { phone: p.phone, label: p.label }).collect()),
            version: c.version,
            created_at: c.created_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DuplicateDto {
    pub customer_id: CustomerId,
    #[serde(rename = "match")]
    pub match_kind: MatchKind,
    /// Display name of the agent who owns the other customer.
    pub owner_agent: String,
    pub owner_id: UserId,
}

impl From<DuplicateMatch> for DuplicateDto {
    fn from(d: DuplicateMatch) -> Self {
        DuplicateDto {
            customer_id: d.customer_id,
            match_kind: d.match_kind,
            owner_agent: d.owner_agent,
            owner_id: d.owner_id,
        }
    }
}

/// The registered customer and the customers it collides with.
#[derive(Serialize, ToSchema)]
pub struct RegisteredDto {
    #[serde(flatten)]
    pub customer: CustomerDto,
    /// Non-empty: a duplicate record was opened for managers.
    pub duplicates: Vec<DuplicateDto>,
}

#[derive(Serialize, ToSchema)]
pub struct CustomerPage {
    pub items: Vec<CustomerDto>,
    pub next_cursor: Option<String>,
}

/// The profile fields a registration and an update share; in an update an
/// absent field stays as it is and an empty string clears it.
#[derive(Deserialize, ToSchema, Default)]
pub struct ProfileFields {
    /// Comma-separated: `potential`, `actual`, `loyal`, `buyer`, `tenant`, `member`.
    pub categories: Option<String>,
    /// Comma-separated free tags, each at most 20 characters, at most 20 of them.
    #[schema(pattern = "^[^,，]{0,20}([,，][^,，]{0,20}){0,19}$")]
    pub tags: Option<String>,
    /// `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub birthday: Option<String>,
    /// The birthday above is kept by the lunar calendar (农历生日).
    pub birthday_lunar: Option<bool>,
    /// At most 120 characters.
    #[schema(schema_with = crate::api::or_blank::<crate::api::Email>)]
    pub email: Option<String>,
    pub wechat: Option<String>,
    pub address: Option<String>,
    pub contact_person: Option<String>,
    /// Yuan (`"3000000.00"`).
    #[schema(schema_with = crate::api::or_blank::<crate::api::NonNegative>)]
    pub budget: Option<String>,
    pub wanted_layout: Option<String>,
    /// Square metres (`"89.50"`).
    #[schema(schema_with = crate::api::or_blank::<crate::api::Positive>)]
    pub wanted_area_min: Option<String>,
    #[schema(schema_with = crate::api::or_blank::<crate::api::Positive>)]
    pub wanted_area_max: Option<String>,
    /// `own_use`, `upgrade`, `investment`, `education`, `retirement` or `office`.
    #[schema(schema_with = crate::api::or_blank::<crate::api::PurposeName>)]
    pub purpose: Option<String>,
    #[schema(maximum = 99)]
    pub homes_owned: Option<u16>,
    /// At most five; each is checked for duplicates like the main phone.
    #[schema(max_items = 5)]
    pub other_phones: Option<Vec<OtherPhoneRequest>>,
}

impl ProfileFields {
    fn into_form(self, form: customers::NewCustomer) -> customers::NewCustomer {
        customers::NewCustomer {
            categories: self.categories,
            tags: self.tags,
            birthday: self.birthday,
            birthday_lunar: self.birthday_lunar,
            email: self.email,
            wechat: self.wechat,
            address: self.address,
            contact_person: self.contact_person,
            budget: self.budget,
            wanted_layout: self.wanted_layout,
            wanted_area_min: self.wanted_area_min,
            wanted_area_max: self.wanted_area_max,
            purpose: self.purpose,
            homes_owned: self.homes_owned.map(|n| n.to_string()),
            other_phones: self.other_phones.map(|p| p.into_iter().map(|p| (p.phone, p.label)).collect()),
            ..form
        }
    }
}

#[derive(Deserialize, ToSchema)]
pub struct NewCustomerRequest {
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub project_id: Option<String>,
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub name: Option<String>,
    /// Any format: `+86 138-0013-8000`, `13800138000`, full-width digits.
    #[schema(required = true, nullable = false, value_type = crate::api::MobilePhone)]
    pub phone: Option<String>,
    #[schema(value_type = Option<CustomerKind>)]
    /// `individual` (default) or `enterprise`.
    pub kind: Option<String>,
    /// `resident_id` (the default when a number is given), `passport`, `hk_macau_permit`, `taiwan_permit`, `business_license`.
    #[schema(schema_with = crate::api::or_blank::<loupan_domain::customers::IdType>)]
    pub id_type: Option<String>,
    pub id_number: Option<String>,
    pub source: Option<String>,
    pub grade: Option<String>,
    pub notes: Option<String>,
    /// Register for another agent (managers).
    pub owner_id: Option<String>,
    #[serde(flatten)]
    pub profile: ProfileFields,
}

/// Registers a customer; duplicates by name, phone or ID number are listed and
/// open a duplicate record for managers.
#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", request_body = NewCustomerRequest,
    responses((status = 201, body = RegisteredDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn register(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<NewCustomerRequest>,
) -> Result<(StatusCode, Json<RegisteredDto>), AppError> {
    let form = customers::NewCustomer {
        project_id: req.project_id,
        name: req.name,
        phone: req.phone,
        kind: req.kind,
        id_type: req.id_type,
        id_number: req.id_number,
        source: req.source,
        grade: req.grade,
        notes: req.notes,
        owner_id: req.owner_id,
        ..Default::default()
    };
    let done = customers::register(&state.services, &actor, req.profile.into_form(form)).await?;
    Ok((
        StatusCode::CREATED,
        Json(RegisteredDto {
            customer: done.customer.into(),
            duplicates: done.duplicates.into_iter().map(Into::into).collect(),
        }),
    ))
}

/// Customers within the caller's data scope.
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", params(CustomerConditions, PageParams),
    responses((status = 200, body = CustomerPage), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn search(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<CustomerConditions>,
    ApiQuery(page): ApiQuery<PageParams>,
) -> Result<Json<Page<CustomerDto>>, AppError> {
    let limit = page.limit();
    let rows = customers::search(&state.services, &actor, q.into(), page.after()?, limit + 1).await?;
    Ok(Json(Page::from_rows(rows, limit, |c| c.id.to_string(), CustomerDto::from)))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers",
    responses((status = 200, body = CustomerDto), (status = 404, body = Problem)))]
async fn get_customer(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<CustomerId>,
) -> Result<Json<CustomerDto>, AppError> {
    Ok(Json(customers::get(&state.services, &actor, &id).await?.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct UpdateCustomerRequest {
    /// The version that was edited; a stale one is refused with 409.
    #[schema(required = true, nullable = false)]
    pub version: Option<i64>,
    pub name: Option<String>,
    pub phone: Option<String>,
    #[schema(value_type = Option<CustomerKind>)]
    pub kind: Option<String>,
    /// Send both to change the ID document; absent keeps the stored one.
    pub id_type: Option<String>,
    pub id_number: Option<String>,
    pub source: Option<String>,
    /// A grade typed here is kept over grade rules; `""` hands the grade back to the rules.
    pub grade: Option<String>,
    pub notes: Option<String>,
    #[serde(flatten)]
    pub profile: ProfileFields,
}

/// Changes a customer's profile; a new phone, name or ID number is checked for
/// duplicates like a registration (and opens duplicate records).
#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "customers", request_body = UpdateCustomerRequest,
    responses((status = 200, body = RegisteredDto), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn update_customer(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<CustomerId>,
    ApiJson(req): ApiJson<UpdateCustomerRequest>,
) -> Result<Json<RegisteredDto>, AppError> {
    let fields = customers::NewCustomer {
        name: req.name,
        phone: req.phone,
        kind: req.kind,
        id_type: req.id_type,
        id_number: req.id_number,
        source: req.source,
        grade: req.grade,
        notes: req.notes,
        ..Default::default()
    };
    let change = customers::CustomerUpdate { version: req.version, fields: req.profile.into_form(fields) };
    let done = customers::update(&state.services, &actor, &id, change).await?;
    Ok(Json(RegisteredDto {
        customer: done.customer.into(),
        duplicates: done.duplicates.into_iter().map(Into::into).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct RevealRequest {
    /// Why the full numbers are needed (kept in the audit trail).
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RevealedDto {
    pub phone: String,
    pub id_type: Option<String>,
    pub id_number: Option<String>,
}

#[derive(Deserialize, ToSchema)]
pub struct ConsentRequest {
    /// True: the customer refuses marketing; false: accepts it again.
    pub opted_out: bool,
}

/// Records the customer's choice about marketing (PIPL); on the timeline and audited.
#[utoipa::path(post, path = "/api/v1/customers/{id}/marketing-consent", tag = "customers", request_body = ConsentRequest,
    params(("id" = String, Path)),
    responses((status = 200, body = CustomerDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn marketing_consent(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<CustomerId>,
    ApiJson(req): ApiJson<ConsentRequest>,
) -> Result<Json<CustomerDto>, AppError> {
    Ok(Json(customers::set_marketing_consent(&state.services, &actor, &id, req.opted_out).await?.into()))
}

/// Full phone and ID number, for users with the reveal right; logged with the reason.
#[utoipa::path(post, path = "/api/v1/customers/{id}/reveal", tag = "customers", request_body = RevealRequest,
    responses((status = 200, body = RevealedDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn reveal(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<CustomerId>,
    ApiJson(req): ApiJson<RevealRequest>,
) -> Result<Json<RevealedDto>, AppError> {
    let r = customers::reveal(&state.services, &actor, &id, req.reason.as_deref()).await?;
    Ok(Json(RevealedDto { phone: r.phone, id_type: r.id_type, id_number: r.id_number }))
}

#[derive(Deserialize, ToSchema)]
pub struct NewFollowUpRequest {
    /// `visit` (来访), `call` (来电) or `follow_up` (跟进, default).
    #[schema(value_type = Option<FollowUpKind>)]
    pub kind: Option<String>,
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub outcome: Option<String>,
    /// `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub next_contact_on: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FollowUpDto {
    pub id: String,
    pub kind: FollowUpKind,
    pub outcome: String,
    pub next_contact_on: Option<chrono::NaiveDate>,
    pub author_id: UserId,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
}

impl From<customers::FollowUp> for FollowUpDto {
    fn from(f: customers::FollowUp) -> Self {
        FollowUpDto {
            id: f.id,
            kind: f.kind,
            outcome: f.outcome,
            next_contact_on: f.next_contact_on,
            author_id: f.author_id,
            occurred_at: f.occurred_at,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct FollowUpList {
    pub items: Vec<FollowUpDto>,
    pub next_cursor: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/follow-ups", tag = "customers", request_body = NewFollowUpRequest,
    responses((status = 201, body = FollowUpDto), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn add_follow_up(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<CustomerId>,
    ApiJson(req): ApiJson<NewFollowUpRequest>,
) -> Result<(StatusCode, Json<FollowUpDto>), AppError> {
    let form = customers::NewFollowUp { kind: req.kind, outcome: req.outcome, next_contact_on: req.next_contact_on };
    let f = customers::add_follow_up(&state.services, &actor, &id, form).await?;
    Ok((StatusCode::CREATED, Json(f.into())))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/follow-ups", tag = "customers",
    responses((status = 200, body = FollowUpList), (status = 404, body = Problem)))]
async fn list_follow_ups(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<CustomerId>,
) -> Result<Json<Page<FollowUpDto>>, AppError> {
    let items = customers::follow_ups(&state.services, &actor, &id).await?;
    Ok(Json(Page { items: items.into_iter().map(Into::into).collect(), next_cursor: None }))
}

/// The customer's money (资金): every contract's plan, receipts and refunds
/// and every subscription's, with totals on each department's basis
/// (`sales`, `cashier`, `finance`) counted as the ledger counts them as of
/// today. Needs `read_deals` besides seeing the customer.
#[utoipa::path(get, path = "/api/v1/customers/{id}/money", tag = "customers",
    responses((status = 200, body = loupan_service::finance::customer_money::CustomerMoney),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn money(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<CustomerId>,
) -> Result<Json<loupan_service::finance::customer_money::CustomerMoney>, AppError> {
    Ok(Json(loupan_service::finance::customer_money::customer_money(&state.services, &actor, &id).await?))
}

#[derive(Serialize, ToSchema)]
pub struct TimelineEntryDto {
    /// `registered`, `follow_up`, `transfer`, `duplicate_ruling`, `subscription`, … (later: payments, complaints, notices).
    pub kind: String,
    /// What happened, in the caller's language (`Accept-Language`).
    pub summary: String,
    /// The facts the sentence names (`{"unit": "1203", "total": "1,280,000.00"}`); empty on entries of earlier versions.
    pub facts: std::collections::BTreeMap<String, String>,
    pub actor_name: String,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct Timeline {
    pub items: Vec<TimelineEntryDto>,
    pub next_cursor: Option<String>,
}

/// Everything that touched the customer, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/timeline", tag = "customers",
    responses((status = 200, body = Timeline), (status = 404, body = Problem)))]
async fn timeline(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: crate::i18n::Lang,
    ApiPath(id): ApiPath<CustomerId>,
) -> Result<Json<Page<TimelineEntryDto>>, AppError> {
    let items = customers::timeline(&state.services, &actor, &id).await?;
    Ok(Json(Page {
        items: items
            .into_iter()
            .map(|e| TimelineEntryDto {
                summary: crate::views::timeline_sentence(lang, &e),
                kind: e.kind,
                facts: e.facts,
                actor_name: e.actor_name,
                occurred_at: e.occurred_at,
            })
            .collect(),
        next_cursor: None,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DuplicateCheckParams {
    pub project_id: ProjectId,
    pub phone: Option<String>,
    pub name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DuplicateList {
    pub items: Vec<DuplicateDto>,
    pub next_cursor: Option<String>,
}

/// The duplicate warning while typing, without saving anything.
#[utoipa::path(get, path = "/api/v1/customers/duplicate-check", tag = "customers", params(DuplicateCheckParams),
    responses((status = 200, body = DuplicateList)))]
async fn duplicate_check(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<DuplicateCheckParams>,
) -> Result<Json<Page<DuplicateDto>>, AppError> {
    let found =
        customers::check_duplicates(&state.services, &actor, &q.project_id, q.phone.as_deref(), q.name.as_deref())
            .await?;
    Ok(Json(Page { items: found.into_iter().map(Into::into).collect(), next_cursor: None }))
}

#[derive(Serialize, ToSchema)]
pub struct DuplicateRecordDto {
    pub id: String,
    pub project_id: ProjectId,
    #[serde(rename = "match")]
    pub match_kind: MatchKind,
    /// `open`, `kept_both` or `assigned`.
    pub status: DuplicateStatus,
    pub customer: CustomerDto,
    pub matched: CustomerDto,
    pub ruling_note: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct DuplicateRecordList {
    pub items: Vec<DuplicateRecordDto>,
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DuplicateRecordParams {
    /// Only records in this status; all when absent.
    #[param(value_type = Option<DuplicateStatus>)]
    #[serde(default, deserialize_with = "crate::extract::named_param")]
    pub status: Option<String>,
    /// 1-500 (a value outside is brought inside), default 100.
    #[param(minimum = 0, maximum = 65535)]
    pub limit: Option<u16>,
}

/// Duplicate records of the manager's projects.
#[utoipa::path(get, path = "/api/v1/customers/duplicate-records", tag = "customers", params(DuplicateRecordParams),
    responses((status = 200, body = DuplicateRecordList), (status = 403, body = Problem)))]
async fn duplicate_records(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<DuplicateRecordParams>,
) -> Result<Json<Page<DuplicateRecordDto>>, AppError> {
    let limit = u64::from(q.limit.unwrap_or(100).clamp(1, 500));
    let rows = customers::duplicate_records(&state.services, &actor, q.status.as_deref(), limit).await?;
    Ok(Json(Page {
        items: rows
            .into_iter()
            .map(|r| DuplicateRecordDto {
                id: r.id,
                project_id: r.project_id,
                match_kind: r.match_kind,
                status: r.status,
                customer: r.customer.into(),
                matched: r.matched.into(),
                ruling_note: r.ruling_note,
                created_at: r.created_at,
            })
            .collect(),
        next_cursor: None,
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct RulingRequest {
    /// `keep_both`, `assign_to_first` (the later registration goes to the first agent) or
    /// `merge` (the later registration is merged into the first; undoable).
    #[schema(pattern = "^(keep_both|assign_to_first|merge)$")]
    pub ruling: String,
    pub note: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/customers/duplicate-records/{id}/rule", tag = "customers", request_body = RulingRequest,
    responses((status = 204), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn rule(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<RulingRequest>,
) -> Result<StatusCode, AppError> {
    customers::rule_duplicate(&state.services, &actor, &id, &req.ruling, req.note.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
pub struct TransferRequest {
    #[serde(default)]
    pub customer_ids: Vec<CustomerId>,
    /// Instead of ids: every customer of this agent (user id).
    pub from_agent: Option<String>,
    /// The receiving agent (user id).
    #[schema(required = true, nullable = false, min_length = 1, pattern = "\\S")]
    pub to_agent: Option<String>,
    /// Instead of ids: every customer this search finds (at most 5,000), e.g.
    /// `{"project_id": "…", "grade": "C"}` to hand a filtered group to another project (S7).
    pub matching: Option<CustomerConditions>,
    /// Also move the customers to this project (S7).
    pub to_project: Option<String>,
}

/// The conditions of the customer list: query parameters of `GET
/// /api/v1/customers` and its export, an object in a transfer.
#[derive(Deserialize, ToSchema, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct CustomerConditions {
    /// A phone in any format, a resident ID number, or the start of a name,
    /// its pinyin (`zhangsan`) or initials (`zs`).
    pub q: Option<String>,
    pub project_id: Option<String>,
    pub owner_id: Option<String>,
    pub grade: Option<String>,
    pub source: Option<String>,
    /// `individual` or `enterprise`.
    #[param(value_type = Option<CustomerKind>)]
    #[schema(value_type = Option<CustomerKind>)]
    #[serde(default, deserialize_with = "crate::extract::named_param")]
    pub kind: Option<String>,
    /// One of the categories (`buyer`, …).
    #[param(schema_with = crate::api::or_blank::<crate::api::CategoryName>)]
    #[schema(value_type = Option<crate::api::CategoryName>)]
    pub category: Option<String>,
    pub tag: Option<String>,
    #[param(schema_with = crate::api::or_blank::<crate::api::PurposeName>)]
    #[schema(value_type = Option<crate::api::PurposeName>)]
    pub purpose: Option<String>,
    /// Budget range in yuan.
    #[param(schema_with = crate::api::or_blank::<crate::api::NonNegative>)]
    #[schema(value_type = Option<crate::api::NonNegative>)]
    pub min_budget: Option<String>,
    #[param(schema_with = crate::api::or_blank::<crate::api::NonNegative>)]
    #[schema(value_type = Option<crate::api::NonNegative>)]
    pub max_budget: Option<String>,
    /// Start of the wanted layout (`3室`).
    pub layout: Option<String>,
    /// Last contact on or after this day (`YYYY-MM-DD`, Beijing time).
    #[param(format = Date)]
    pub contacted_since: Option<String>,
    /// Last contact before this day, or never contacted.
    #[param(format = Date)]
    pub contacted_before: Option<String>,
}

impl From<CustomerConditions> for customers::CustomerQuery {
    fn from(c: CustomerConditions) -> Self {
        customers::CustomerQuery {
            q: c.q,
            project_id: c.project_id,
            owner_id: c.owner_id,
            grade: c.grade,
            source: c.source,
            kind: c.kind,
            category: c.category,
            tag: c.tag,
            purpose: c.purpose,
            min_budget: c.min_budget,
            max_budget: c.max_budget,
            layout: c.layout,
            contacted_since: c.contacted_since,
            contacted_before: c.contacted_before,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct TransferResult {
    pub transferred: usize,
}

/// Hands customers to another agent (S6), optionally to another project (S7).
#[utoipa::path(post, path = "/api/v1/customers/transfer", tag = "customers", request_body = TransferRequest,
    responses((status = 200, body = TransferResult), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn transfer(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<TransferRequest>,
) -> Result<Json<TransferResult>, AppError> {
    let form = customers::Transfer {
        customer_ids: req.customer_ids,
        from_agent: req.from_agent,
        to_agent: req.to_agent,
        matching: req.matching.map(Into::into),
        to_project: req.to_project,
    };
    Ok(Json(TransferResult { transferred: customers::transfer(&state.services, &actor, form).await? }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomerImportParams {
    pub project_id: ProjectId,
    /// `check` (default: report invalid rows and duplicates, write nothing) or `import`.
    #[param(pattern = "^(check|import)$")]
    pub mode: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ImportRowError {
    pub row: usize,
    pub column: String,
    pub code: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub struct ImportRowDuplicates {
    pub row: usize,
    pub name: String,
    pub duplicates: Vec<DuplicateDto>,
}

#[derive(Serialize, ToSchema)]
pub struct CustomerImportReportDto {
    pub rows: usize,
    pub valid_rows: usize,
    pub errors: Vec<ImportRowError>,
    pub duplicates: Vec<ImportRowDuplicates>,
    pub created: usize,
    pub written: bool,
}

impl ImportRowError {
    /// A file's problems, each with its message in the reader's language.
    pub fn all_of(errors: Vec<loupan_service::platform::import::RowError>, lang: crate::i18n::Lang) -> Vec<Self> {
        errors
            .into_iter()
            .map(|e| ImportRowError {
                row: e.row,
                column: e.column,
                code: e.code.to_owned(),
                message: crate::i18n::t(lang, &format!("field_error.{}", e.code)),
            })
            .collect()
    }
}

pub fn import_report_dto(
    r: loupan_service::customers::import::CustomerImportReport,
    lang: crate::i18n::Lang,
) -> CustomerImportReportDto {
    CustomerImportReportDto {
        rows: r.rows,
        valid_rows: r.valid_rows,
        errors: ImportRowError::all_of(r.errors, lang),
        duplicates: r
            .duplicates
            .into_iter()
            .map(|d| ImportRowDuplicates {
                row: d.row,
                name: d.name,
                duplicates: d.duplicates.into_iter().map(Into::into).collect(),
            })
            .collect(),
        created: r.created,
        written: r.written,
    }
}

/// Imports customers from an xlsx (the body) with the form's rules and duplicate check.
#[utoipa::path(post, path = "/api/v1/customers/import", tag = "customers", params(CustomerImportParams),
    request_body(content = Vec<u8>, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    responses((status = 200, body = CustomerImportReportDto), (status = 422, body = Problem)))]
async fn import(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: crate::i18n::Lang,
    ApiQuery(q): ApiQuery<CustomerImportParams>,
    body: axum::body::Bytes,
) -> Result<Json<CustomerImportReportDto>, AppError> {
    let write = match q.mode.as_deref().unwrap_or("check") {
        "check" => false,
        "import" => true,
        _ => return Err(AppError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", "mode", "unknown_mode")),
    };
    let report =
        loupan_service::customers::import::import_customers(&state.services, &actor, &q.project_id, &body, write)
            .await?;
    Ok(Json(import_report_dto(report, lang)))
}

/// The customers of a search as xlsx, masked as on screen (the export is audited).
#[utoipa::path(get, path = "/api/v1/customers/export", tag = "customers", params(CustomerConditions),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>)))]
async fn export(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<CustomerConditions>,
) -> Result<axum::response::Response, AppError> {
    let bytes = loupan_service::customers::import::export_customers(&state.services, &actor, q.into()).await?;
    Ok(crate::api::xlsx_download(bytes, "customers.xlsx"))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportJobParams {
    pub project_id: ProjectId,
}

/// Starts an import of the xlsx (the body) as a background job, for large files:
/// follow it at `GET /api/v1/jobs/{id}` (progress, then the report as `result`).
#[utoipa::path(post, path = "/api/v1/customers/import/jobs", tag = "customers", params(ImportJobParams),
    request_body(content = Vec<u8>, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    responses((status = 202, body = crate::api::platform::integrations::JobDto), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn import_job(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiQuery(q): ApiQuery<ImportJobParams>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<crate::api::platform::integrations::JobDto>), AppError> {
    let job =
        loupan_service::customers::import::start_import_job(&state.services, &actor, &q.project_id, &body).await?;
    Ok((StatusCode::ACCEPTED, Json(job.into())))
}

#[derive(Deserialize, ToSchema)]
pub struct MergeRequest {
    /// The customer merged into this one (it is then hidden from lists).
    pub merged_id: CustomerId,
}

#[derive(Serialize, ToSchema)]
pub struct MergeDto {
    pub id: String,
    pub kept_id: CustomerId,
    pub merged_id: CustomerId,
    /// Rows moved, per `table.column`.
    pub moved: std::collections::BTreeMap<String, usize>,
    pub merged_by: String,
    pub merged_at: chrono::DateTime<chrono::Utc>,
    pub undone: bool,
}

impl From<customers::Merge> for MergeDto {
    fn from(m: customers::Merge) -> Self {
        MergeDto {
            id: m.id,
            kept_id: m.kept_id,
            merged_id: m.merged_id,
            moved: m.moved,
            merged_by: m.merged_by,
            merged_at: m.merged_at,
            undone: m.undone,
        }
    }
}

/// Merges another customer of the project into this one: follow-ups, deals and
/// history move here; the merge can be undone.
#[utoipa::path(post, path = "/api/v1/customers/{id}/merge", tag = "customers", request_body = MergeRequest,
    responses((status = 201, body = MergeDto), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn merge(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<CustomerId>,
    ApiJson(req): ApiJson<MergeRequest>,
) -> Result<(StatusCode, Json<MergeDto>), AppError> {
    let m = customers::merge_customers(&state.services, &actor, &id, &req.merged_id).await?;
    Ok((StatusCode::CREATED, Json(m.into())))
}

/// Undoes a merge: every row it moved goes back to the merged customer.
#[utoipa::path(post, path = "/api/v1/customer-merges/{id}/undo", tag = "customers",
    responses((status = 200, body = MergeDto), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn undo_merge(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<MergeDto>, AppError> {
    Ok(Json(customers::undo_merge(&state.services, &actor, &id).await?.into()))
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct GradeConditionsDto {
    /// At least this many visits (来访).
    #[schema(maximum = 1000)]
    pub min_visits: Option<u32>,
    /// A budget of at least this many yuan.
    #[schema(value_type = Option<crate::api::NonNegative>)]
    pub min_budget: Option<String>,
    /// An active subscription or contract (true) or none (false).
    pub has_deal: Option<bool>,
    /// The purpose is one of these.
    #[serde(default)]
    #[schema(schema_with = purposes_schema)]
    pub purposes: Vec<String>,
    /// Last contact within this many days.
    #[schema(minimum = 1, maximum = 3650)]
    pub contacted_within_days: Option<u32>,
}

/// Purposes of purchase by name.
fn purposes_schema() -> utoipa::openapi::schema::Array {
    use utoipa::PartialSchema;
    utoipa::openapi::schema::ArrayBuilder::new().items(crate::api::PurposeName::schema()).build()
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct GradeRuleDto {
    #[schema(required = true, nullable = false, min_length = 1, max_length = 20, pattern = "\\S")]
    pub grade: Option<String>,
    /// All must hold; an absent condition always holds (a rule without conditions catches everyone left).
    pub conditions: Option<GradeConditionsDto>,
}

#[derive(Serialize, ToSchema)]
pub struct GradeRuleList {
    /// Tried in order; the first whose conditions hold gives the grade.
    pub items: Vec<GradeRuleDto>,
}

#[derive(Deserialize, ToSchema)]
pub struct GradeRulesRequest {
    #[schema(max_items = 20)]
    pub rules: Vec<GradeRuleDto>,
}

fn rule_dto(r: loupan_service::customers::grades::GradeRule) -> GradeRuleDto {
    let c = r.conditions;
    GradeRuleDto {
        grade: Some(r.grade),
        conditions: Some(GradeConditionsDto {
            min_visits: c.min_visits,
            min_budget: c.min_budget.map(|m| m.to_string()),
            has_deal: c.has_deal,
            purposes: c.purposes,
            contacted_within_days: c.contacted_within_days,
        }),
    }
}

/// A project's grade rules (C3).
#[utoipa::path(get, path = "/api/v1/projects/{id}/grade-rules", tag = "customers",
    responses((status = 200, body = GradeRuleList), (status = 404, body = Problem)))]
async fn grade_rules(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
) -> Result<Json<GradeRuleList>, AppError> {
    let rules = loupan_service::customers::grades::rules(&state.services, &actor, &id).await?;
    Ok(Json(GradeRuleList { items: rules.into_iter().map(rule_dto).collect() }))
}

/// Replaces a project's grade rules (managers). Apply them to existing customers with `…/apply`.
#[utoipa::path(put, path = "/api/v1/projects/{id}/grade-rules", tag = "customers", request_body = GradeRulesRequest,
    responses((status = 200, body = GradeRuleList), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
async fn set_grade_rules(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
    ApiJson(req): ApiJson<GradeRulesRequest>,
) -> Result<Json<GradeRuleList>, AppError> {
    use loupan_service::customers::grades::{GradeConditions, GradeRuleInput};
    let mut errors = loupan_domain::Invalid::default();
    let input: Vec<GradeRuleInput> = req
        .rules
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let c = r.conditions.unwrap_or(GradeConditionsDto {
                min_visits: None,
                min_budget: None,
                has_deal: None,
                purposes: Vec::new(),
                contacted_within_days: None,
            });
            let min_budget = c.min_budget.as_deref().and_then(|m| {
                loupan_domain::Money::parse(m)
                    .map_err(|e| errors.push(format!("rules[{i}].conditions.min_budget"), e.code()))
                    .ok()
            });
            GradeRuleInput {
                grade: r.grade,
                conditions: GradeConditions {
                    min_visits: c.min_visits,
                    min_budget,
                    has_deal: c.has_deal,
                    purposes: c.purposes,
                    contacted_within_days: c.contacted_within_days,
                },
            }
        })
        .collect();
    errors.into_result().map_err(loupan_service::ServiceError::from)?;
    let rules = loupan_service::customers::grades::set_rules(&state.services, &actor, &id, input).await?;
    Ok(Json(GradeRuleList { items: rules.into_iter().map(rule_dto).collect() }))
}

#[derive(Serialize, ToSchema)]
pub struct AppliedDto {
    pub checked: u64,
    pub changed: u64,
}

/// Grades the project's customers again by its rules (hand-set grades stay).
#[utoipa::path(post, path = "/api/v1/projects/{id}/grade-rules/apply", tag = "customers",
    responses((status = 200, body = AppliedDto), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn apply_grade_rules(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<ProjectId>,
) -> Result<Json<AppliedDto>, AppError> {
    let a = loupan_service::customers::grades::apply(&state.services, &actor, &id).await?;
    Ok(Json(AppliedDto { checked: a.checked, changed: a.changed }))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search, register))
        .routes(routes!(duplicate_check))
        .routes(routes!(import))
        .routes(routes!(import_job))
        .routes(routes!(merge))
        .routes(routes!(undo_merge))
        .routes(routes!(export))
        .routes(routes!(duplicate_records))
        .routes(routes!(rule))
        .routes(routes!(transfer))
        .routes(routes!(get_customer, update_customer))
        .routes(routes!(reveal))
        .routes(routes!(marketing_consent))
        .routes(routes!(list_follow_ups, add_follow_up))
        .routes(routes!(timeline))
        .routes(routes!(money))
        .routes(routes!(grade_rules, set_grade_rules))
        .routes(routes!(apply_grade_rules))
}

/// A transfer names its customers by ids, by their agent or by a search; an
/// identity document's type needs its number.
pub(crate) fn alternatives(openapi: &mut utoipa::openapi::OpenApi) {
    use crate::api::{given_needs, requires_one_of, text_schema};
    given_needs(openapi, "NewCustomerRequest", "id_type", ("id_number", text_schema()));
    use utoipa::openapi::schema::ArrayBuilder;
    use utoipa::openapi::{Ref, RefOr};
    let ids = ArrayBuilder::new().items(text_schema()).min_items(Some(1)).build();
    requires_one_of(
        openapi,
        "TransferRequest",
        vec![
            vec![("customer_ids", RefOr::T(utoipa::openapi::schema::Schema::Array(ids)))],
            vec![("from_agent", text_schema())],
            vec![("matching", RefOr::Ref(Ref::from_schema_name("CustomerConditions")))],
        ],
    );
}
