//! The JSON API under `/api/v1` (API.md). Routes are declared with their
//! OpenAPI description next to the handler, so `/api/v1/openapi.json` is
//! generated from the code and cannot drift from it.

// By business area, as in the service layer; `platform` is sign-in, users,
// the audit trail, webhooks and jobs.
pub mod aftersales;
pub mod approvals;
pub mod cases;
pub mod changes;
pub mod compensation;
pub mod cost;
pub mod customers;
pub mod finance;
pub mod handover;
pub mod inventory;
pub mod notices;
pub mod platform;
pub mod processes;
pub mod questionnaires;
pub mod reception;
pub mod sales;
pub mod workbench;

use serde::Serialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Loupan API", description = "Sales, finance, customer service and cost control for real-estate developers."),
    modifiers(&SecuritySchemes),
    security(("bearer" = []), ("session" = [])),
    components(schemas(Problem, FieldProblem)),
    tags(
        (name = "auth", description = "Signing in and out"),
        (name = "admin", description = "Users, roles and the audit trail"),
        (name = "inventory", description = "Projects, buildings and units (S1)"),
        (name = "customers", description = "Customers, duplicates, follow-ups and transfers (C1-C3, S2-S7)"),
        (name = "sales", description = "Payment methods, subscriptions, contracts and payment plans (S1, F2)"),
        (name = "finance", description = "Receipts and reports (F1-F7)"),
        (name = "workbench", description = "The user's to-dos and alerts (PM1)"),
        (name = "approvals", description = "Approval requests, flows, delegation and notifications (PM2)"),
        (name = "integrations", description = "Webhooks and the background job queue"),
        (name = "aftersales", description = "Area compensation, deed tax and other after-sales settlements (A1-A4)"),
        (name = "cost", description = "Cost items, target cost, contract planning, cost contracts, changes and visas, dynamic cost (PM3-PM7)"),
        (name = "notices", description = "Letter templates, batches and what each customer was sent (S5, F7, M1)"),
        (name = "service", description = "Customer-service cases with deadlines in working time, the working calendar, categories and assignment rules (C4)"),
        (name = "questionnaires", description = "Questionnaires: design, answers on the tablet or by a personal link, analysis per question and cross analysis with the chi-square test (S8, M1)"),
        (name = "reception", description = "Reception at the sales office: returning visitors found by phone or name, visits, the day's rotation of agents on duty (S4)"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::middleware::SESSION_COOKIE))),
        );
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(platform::auth::router())
        .merge(platform::admin::router())
        .merge(inventory::router())
        .merge(customers::exceptions::router())
        .merge(customers::saved_filters::router())
        .merge(customers::router())
        .merge(sales::router())
        .merge(finance::router())
        .merge(finance::reports::router())
        .merge(finance::queries::router())
        .merge(workbench::router())
        .merge(sales::pricing::router())
        .merge(changes::router())
        .merge(approvals::router())
        .merge(platform::integrations::router())
        .merge(aftersales::router())
        .merge(compensation::router())
        .merge(processes::router())
        .merge(handover::router())
        .merge(cost::router())
        .merge(notices::router())
        .merge(cases::router())
        .merge(questionnaires::router())
        .merge(reception::router())
}

/// Where a heavy report read its data (`source` on every report that may
/// read the replica).
pub use loupan_service::platform::replica::DataSource as DataSourceDto;

/// RFC 9457 problem details, in the language of `Accept-Language`.
#[derive(Serialize, ToSchema)]
pub struct Problem {
    /// `urn:loupan:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable snake_case error code.
    pub code: String,
    pub errors: Vec<FieldProblem>,
}

/// One offending input field.
#[derive(Serialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub code: String,
    pub message: String,
}

/// `?limit=&cursor=` of every list.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1-500 (a value outside is brought inside), default 50.
    #[param(minimum = 0, maximum = 65535)]
    pub limit: Option<u16>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    pub fn limit(&self) -> u64 {
        u64::from(self.limit.unwrap_or(50).clamp(1, 500))
    }

    /// The decoded cursor (cursors are hex so they stay opaque and URL-safe).
    pub fn after(&self) -> Result<Option<String>, crate::AppError> {
        match self.cursor.as_deref().filter(|c| !c.is_empty()) {
            None => Ok(None),
            Some(c) => hex::decode(c).ok().and_then(|b| String::from_utf8(b).ok()).map(Some).ok_or_else(|| {
                crate::AppError::field(axum::http::StatusCode::BAD_REQUEST, "invalid_query", "cursor", "invalid_cursor")
            }),
        }
    }
}

/// An action that waits for the approval a flow asks for (answered with 202):
/// it is done when the request is approved.
#[derive(Serialize, utoipa::ToSchema)]
pub struct WaitingForApproval {
    pub approval_id: String,
}

/// Amounts and areas with their sign, in the document (`loupan-domain`).
pub use loupan_domain::quantity::amounts::{NonNegative, NonZero, Positive};

/// An e-mail address as Loupan takes it (`loupan_domain::customers::parse_email`).
pub use loupan_domain::customers::Email;

/// A mainland mobile number as the document promises to take it (`13800138000`,
/// `+86 13800138000`); the server also reads dashes, spaces and full-width digits.
pub struct MobilePhone;

impl utoipa::PartialSchema for MobilePhone {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(r"^(\+86 ?)?1[3-9][0-9]{9}$"))
            .examples(["13800138000"])
            .into()
    }
}

impl utoipa::ToSchema for MobilePhone {}

/// A string that is one of a fixed list of names, in the document only
/// (requests carry it as text and the service names a wrong one).
macro_rules! names_schema {
    ($(#[$meta:meta])* $name:ident, $names:expr) => {
        $(#[$meta])*
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some($names))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

names_schema!(
    /// One of the built-in role names (API.md).
    RoleName,
    loupan_domain::Role::ALL.iter().map(|r| r.name())
);
names_schema!(
    /// Whether one approver decides a step (`any`) or every one of them (`all`).
    ModeName,
    ["any", "all"]
);
names_schema!(
    /// A comparison in an approval step's condition.
    OperatorName,
    loupan_domain::approvals::Op::ALL.iter().map(|o| o.name())
);
names_schema!(
    /// What a unit's file is for.
    UnitFilePurpose,
    loupan_domain::inventory::FilePurpose::ALL
        .into_iter()
        .filter(|p| p.fits(loupan_domain::inventory::FileOwner::Unit))
        .map(loupan_domain::inventory::FilePurpose::name)
);
names_schema!(
    /// How money was received (`cash`, `transfer`, …).
    ChannelName,
    loupan_domain::finance::ReceiptChannel::TYPED.map(loupan_domain::finance::ReceiptChannel::name)
);
names_schema!(
    /// A customer category (`buyer`, …).
    CategoryName,
    loupan_domain::customers::CATEGORIES
);
names_schema!(
    /// A purpose of purchase (`own_use`, `upgrade`, …).
    PurposeName,
    loupan_domain::customers::PURPOSES
);

/// A page of a list: `items` and the cursor of the next page (null at the end).
#[derive(Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// `rows` were fetched with `limit + 1`; the extra row only says there is more.
    pub fn from_rows<R>(mut rows: Vec<R>, limit: u64, key: impl Fn(&R) -> String, map: impl Fn(R) -> T) -> Page<T> {
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more { rows.last().map(|r| hex::encode(key(r))) } else { None };
        Page { items: rows.into_iter().map(map).collect(), next_cursor }
    }
}

/// An xlsx file as a download.
pub fn xlsx_download(bytes: Vec<u8>, filename: &'static str) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    use axum::response::IntoResponse;
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// What the route macros leave implicit, made explicit in the document that
/// clients and the fuzzer read: every `{name}` of a path is a string path
/// parameter; every operation may answer with a problem+json error (a
/// `default` response: 400, 401, 403, 404, 409, 413, 415, 422, 429, 503 …);
/// bodies that are files are binary strings.
pub fn complete(openapi: &mut utoipa::openapi::OpenApi) {
    sales::alternatives(openapi);
    aftersales::alternatives(openapi);
    approvals::alternatives(openapi);
    customers::alternatives(openapi);
    cost::alternatives(openapi);
    finance::alternatives(openapi);
    use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn};
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
    use utoipa::openapi::{ContentBuilder, Ref, Required, ResponseBuilder};
    for (path, item) in openapi.paths.paths.iter_mut() {
        let names: Vec<String> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_owned)
            .collect();
        let operations: [&mut Option<Operation>; 5] =
            [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete];
        for op in operations.into_iter().flatten() {
            let params = op.parameters.get_or_insert_with(Vec::new);
            for name in &names {
                if !params.iter().any(|p| &p.name == name && p.parameter_in == ParameterIn::Path) {
                    params.push(
                        ParameterBuilder::new()
                            .name(name)
                            .parameter_in(ParameterIn::Path)
                            .required(Required::True)
                            .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                            .build(),
                    );
                }
            }
            // What the idempotency layer takes as a key (1-200 characters).
            for p in params.iter_mut().filter(|p| p.parameter_in == ParameterIn::Header && p.name == "Idempotency-Key")
            {
                p.schema = Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .min_length(Some(1))
                        .max_length(Some(200))
                        .pattern(Some("^[!-~]+$"))
                        .into(),
                );
            }
            // An optional date in a query may be sent empty (a filter form left
            // blank) and means "not given": the document says so.
            for p in params.iter_mut().filter(|p| p.parameter_in == ParameterIn::Query && p.required != Required::True)
            {
                if let Some(utoipa::openapi::RefOr::T(utoipa::openapi::schema::Schema::Object(date))) = &p.schema
                    && date.format == Some(SchemaFormat::KnownFormat(KnownFormat::Date))
                {
                    let empty = ObjectBuilder::new().schema_type(Type::String).max_length(Some(0));
                    let either = utoipa::openapi::schema::AnyOfBuilder::new().item(date.clone()).item(empty);
                    p.schema = Some(either.into());
                }
            }
            // Errors are problem+json, whatever the route macro wrote.
            for response in op.responses.responses.values_mut() {
                if let utoipa::openapi::RefOr::T(r) = response
                    && let Some(json) = r.content.get("application/json")
                    && matches!(&json.schema, Some(utoipa::openapi::RefOr::Ref(reference)) if reference.ref_location.ends_with("/Problem"))
                    && let Some(content) = r.content.shift_remove("application/json")
                {
                    r.content.insert("application/problem+json".into(), content);
                }
            }
            if !op.responses.responses.contains_key("default") {
                let problem = ResponseBuilder::new()
                    .description("An error, described as problem+json")
                    .content(
                        "application/problem+json",
                        ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build(),
                    )
                    .build();
                op.responses.responses.insert("default".into(), problem.into());
            }
            if let Some(body) = op.request_body.as_mut() {
                // Never empty: an empty file is refused (`empty_file`).
                let binary = || {
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
                        .min_length(Some(1))
                };
                // A file body is read as bytes whatever its declared type: say so.
                let structured = |t: &str| {
                    t.ends_with("json")
                        || t.starts_with("application/x-www-form-urlencoded")
                        || t.starts_with("multipart/")
                };
                let files = body.content.keys().any(|t| !structured(t));
                if files {
                    body.content.retain(|t, _| structured(t));
                    body.content.insert(
                        "application/octet-stream".into(),
                        ContentBuilder::new().schema(Some(binary())).build(),
                    );
                }
            }
        }
    }
}

/// A query parameter that a filter form may send empty for "any": `T` or "".
/// (In a JSON body, null as well: the field is optional.)
pub(crate) fn or_blank<T: utoipa::PartialSchema>() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{SchemaType, Type};
    let blank = utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .max_length(Some(0));
    utoipa::openapi::schema::Schema::AnyOf(
        utoipa::openapi::schema::AnyOfBuilder::new().item(T::schema()).item(blank).build(),
    )
}

/// A field of an alternative in `requires_one_of`: its name and its schema there.
pub(crate) type AltField = (&'static str, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>);

/// Fields a request needs together, one set or another (a contract signed from
/// a subscription, or for a unit and a customer): the component becomes
/// `allOf: [its fields, anyOf: [set, …]]`, each set an object that requires
/// its fields with the schemas given (a `rule` or `type` with one value picks a
/// set). The server reads the flat struct and names a missing field; the
/// document now says which fields go together.
pub(crate) fn requires_one_of(openapi: &mut utoipa::openapi::OpenApi, component: &str, sets: Vec<Vec<AltField>>) {
    let mut any = utoipa::openapi::schema::AnyOfBuilder::new();
    for set in sets {
        let mut alternative = utoipa::openapi::schema::ObjectBuilder::new();
        for (name, schema) in set {
            alternative = alternative.property(name, schema).required(name);
        }
        any = any.item(alternative);
    }
    also_any_of(openapi, component, any);
}

/// A field that, when given (not blank), needs another: `anyOf: [the field
/// blank or absent, the other required with its schema]`.
pub(crate) fn given_needs(
    openapi: &mut utoipa::openapi::OpenApi,
    component: &str,
    given: &'static str,
    needs: AltField,
) {
    use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, SchemaType, Type};
    let blank = ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null])).max_length(Some(0));
    let any = AnyOfBuilder::new()
        .item(ObjectBuilder::new().property(given, blank))
        .item(ObjectBuilder::new().property(needs.0, needs.1).required(needs.0));
    also_any_of(openapi, component, any);
}

/// The component becomes `allOf: [its fields, any]`. A name that is not a
/// component is a mistake in the code, found by every test that builds the router.
fn also_any_of(openapi: &mut utoipa::openapi::OpenApi, component: &str, any: utoipa::openapi::schema::AnyOfBuilder) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{AllOfBuilder, Schema};
    let Some(components) = openapi.components.as_mut() else { return };
    let Some(RefOr::T(fields)) = components.schemas.get(component).cloned() else {
        panic!("no component {component} in the OpenAPI document");
    };
    let both = AllOfBuilder::new().item(fields).item(any);
    components.schemas.insert(component.to_owned(), RefOr::T(Schema::AllOf(both.build())));
}

/// A string in the document: non-blank text, one fixed name, or a pattern.
pub(crate) fn text_schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .min_length(Some(1))
        .pattern(Some(r"\S"))
        .into()
}

pub(crate) fn one_name(name: &str) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some([name]))
        .into()
}

/// An offset page as a list's query gives it: `cursor` is the `next_cursor`
/// of the page before (an offset), `limit` 1 to 500 (50 when absent).
pub(crate) fn offset_page(cursor: &Option<String>, limit: Option<u64>) -> Result<(u64, u64), crate::AppError> {
    use axum::http::StatusCode;
    let offset = match cursor.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => 0,
        Some(c) => c.parse::<u64>().map_err(|_| {
            crate::AppError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", "cursor", "invalid_cursor")
        })?,
    };
    let limit = match limit {
        None => 50,
        Some(n @ 1..=500) => n,
        Some(_) => {
            return Err(crate::AppError::field(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_input",
                "limit",
                "out_of_range",
            ));
        }
    };
    Ok((offset, limit))
}

/// The `next_cursor` after a page of `count` items at `offset` out of `total`.
pub(crate) fn next_offset(offset: u64, count: usize, total: u64) -> Option<String> {
    let next = offset + count as u64;
    (count > 0 && next < total).then(|| next.to_string())
}
