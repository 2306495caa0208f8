//! Notices and letters (S5, F7, M1): templates and their versions, the merge
//! fields a kind may use, previews on a real customer, batches and their
//! merged letters, and what a customer was sent. The service's views and
//! forms are the API's bodies as they are.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use loupan_domain::ids::{NoticeBatchId, NoticeRecipientId, NoticeTemplateId};
use loupan_domain::notices::NoticeKind;
use loupan_service::notices::TestOutcome;
use loupan_service::notices::care::{self, CareForm, CareOccasion};
use loupan_service::notices::letterhead::{self, Letterhead, LetterheadForm};
use loupan_service::notices::mail::{self, SmtpForm, SmtpSettings};
use loupan_service::notices::sms::{self, SmsForm, SmsSettings};
use loupan_service::notices::{
    self, Batch, BatchPreview, Letter, MergeField, NewBatch, NewTemplate, PreviewOf, Recipient, Sending, Template,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::Problem;
use crate::extract::{ApiJson, ApiPath, ApiQuery, Authed};
use crate::i18n::Lang;
use crate::{AppError, AppState};

type Created<T> = Result<(StatusCode, Json<T>), AppError>;

/// The current version of every template the caller may use.
#[utoipa::path(get, path = "/api/v1/notices/templates", tag = "notices",
    responses((status = 200, body = Vec<Template>), (status = 403, body = Problem)))]
async fn list_templates(State(state): State<AppState>, Authed(actor): Authed) -> Result<Json<Vec<Template>>, AppError> {
    Ok(Json(notices::list_templates(&state.services, &actor).await?))
}

/// A new template (version 1). A syntax error or a field the kind does not
/// have is refused with 422, the message naming the line and the field.
#[utoipa::path(post, path = "/api/v1/notices/templates", tag = "notices", request_body = NewTemplate,
    responses((status = 201, body = Template), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_template(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(form): ApiJson<NewTemplate>,
) -> Created<Template> {
    Ok((StatusCode::CREATED, Json(notices::create_template(&state.services, &actor, form).await?)))
}

#[utoipa::path(get, path = "/api/v1/notices/templates/{id}", tag = "notices", params(("id" = String, Path)),
    responses((status = 200, body = Template), (status = 404, body = Problem)))]
async fn get_template(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<NoticeTemplateId>,
) -> Result<Json<Template>, AppError> {
    Ok(Json(notices::get_template(&state.services, &actor, &id).await?))
}

/// Saves a new version of the current one (409 `stale_version` when it was replaced meanwhile).
#[utoipa::path(put, path = "/api/v1/notices/templates/{id}", tag = "notices", params(("id" = String, Path)),
    request_body = NewTemplate,
    responses((status = 200, body = Template), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn update_template(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<NoticeTemplateId>,
    ApiJson(form): ApiJson<NewTemplate>,
) -> Result<Json<Template>, AppError> {
    Ok(Json(notices::update_template(&state.services, &actor, &id, form).await?))
}

/// Every version of the template, newest first.
#[utoipa::path(get, path = "/api/v1/notices/templates/{id}/versions", tag = "notices", params(("id" = String, Path)),
    responses((status = 200, body = Vec<Template>), (status = 404, body = Problem)))]
async fn template_versions(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<NoticeTemplateId>,
) -> Result<Json<Vec<Template>>, AppError> {
    Ok(Json(notices::template_versions(&state.services, &actor, &id).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FieldParams {
    #[param(required = true, value_type = Option<NoticeKind>)]
    #[serde(default, deserialize_with = "crate::extract::named_param")]
    pub kind: Option<String>,
}

/// A merge field with its label in the caller's language.
#[derive(Serialize, ToSchema)]
pub struct FieldDto {
    /// As written in a template: `{{ customer.name }}`.
    pub name: String,
    pub label: String,
    /// For a list (`plan.instalments`): the fields of each row, and the
    /// lines that print it as a table with a header in the caller's language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<Vec<RowFieldDto>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
}

/// A field of each row of a list field: `{{ row.due_on }}` inside its loop.
#[derive(Serialize, ToSchema)]
pub struct RowFieldDto {
    pub name: String,
    pub label: String,
}

/// The merge fields a template of `kind` may name, for the editor's picker.
#[utoipa::path(get, path = "/api/v1/notices/fields", tag = "notices", params(FieldParams),
    responses((status = 200, body = Vec<FieldDto>), (status = 422, body = Problem)))]
async fn fields(
    Authed(_actor): Authed,
    lang: Lang,
    ApiQuery(q): ApiQuery<FieldParams>,
) -> Result<Json<Vec<FieldDto>>, AppError> {
    let kind =
        q.kind.as_deref().and_then(NoticeKind::parse).ok_or_else(|| {
            AppError::field(StatusCode::UNPROCESSABLE_ENTITY, "invalid_query", "kind", "unknown_kind")
        })?;
    Ok(Json(field_dtos(lang, notices::fields_of(kind))))
}

pub(crate) fn field_dtos(lang: Lang, fields: Vec<MergeField>) -> Vec<FieldDto> {
    let label = |name: &str| crate::i18n::t(lang, &format!("notice_field.{name}"));
    fields
        .into_iter()
        .map(|f| {
            let rows = loupan_domain::notices::row_fields(f.name).map(|columns| {
                columns
                    .iter()
                    .map(|c| RowFieldDto { name: (*c).to_owned(), label: label(&format!("{}.{c}", f.name)) })
                    .collect::<Vec<_>>()
            });
            let snippet = rows.as_ref().map(|rows| table_snippet(f.name, rows));
            FieldDto { label: label(f.name), name: f.name.to_owned(), rows, snippet }
        })
        .collect()
}

/// The lines of a printed table over a list field: a header of the rows'
/// labels, then one line per row, dates in Chinese and amounts grouped and
/// set right.
fn table_snippet(list: &str, rows: &[RowFieldDto]) -> String {
    let header: Vec<&str> = rows.iter().map(|r| r.label.as_str()).collect();
    let rule: Vec<&str> = rows
        .iter()
        .map(|r| if ["amount", "paid", "unpaid"].contains(&r.name.as_str()) { "---:" } else { "---" })
        .collect();
    let cells: Vec<String> = rows
        .iter()
        .map(|r| match r.name.as_str() {
            n if n.ends_with("_on") => format!("{{{{ row.{n}|cn_date }}}}"),
            n @ ("amount" | "paid" | "unpaid") => format!("{{{{ row.{n}|money }}}}"),
            n => format!("{{{{ row.{n} }}}}"),
        })
        .collect();
    format!(
        "| {} |\n|{}|\n{{% for row in {list} %}}| {} |\n{{% endfor %}}",
        header.join(" | "),
        rule.join("|"),
        cells.join(" | ")
    )
}

/// The template rendered for a customer the caller may see.
#[utoipa::path(post, path = "/api/v1/notices/templates/{id}/preview", tag = "notices", params(("id" = String, Path)),
    request_body = PreviewOf,
    responses((status = 200, body = Letter), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn preview(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<NoticeTemplateId>,
    ApiJson(req): ApiJson<PreviewOf>,
) -> Result<Json<Letter>, AppError> {
    Ok(Json(notices::preview(&state.services, &actor, &id, &req).await?))
}

/// The template printed for a customer the caller may see, as PDF; a letter
/// on a pre-printed form (`@form`) shows the scanned form under the fields.
#[utoipa::path(post, path = "/api/v1/notices/templates/{id}/preview.pdf", tag = "notices", params(("id" = String, Path)),
    request_body = PreviewOf,
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem)))]
async fn preview_pdf(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<NoticeTemplateId>,
    ApiJson(req): ApiJson<PreviewOf>,
) -> Result<Response, AppError> {
    let pdf = notices::preview_pdf(&state.services, &actor, &id, &req).await?;
    Ok(inline_pdf(pdf, "preview.pdf"))
}

/// The calibration page for printing on pre-printed forms (套打): a millimetre
/// grid numbered from the sheet's top-left corner, and a 100 mm bar to check
/// that the printer does not scale.
#[utoipa::path(get, path = "/api/v1/notices/calibration.pdf", tag = "notices",
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 403, body = Problem),
        (status = 503, body = Problem)))]
async fn calibration_page(Authed(actor): Authed) -> Result<Response, AppError> {
    Ok(inline_pdf(notices::calibration_page(&actor)?, "calibration.pdf"))
}

/// A PDF made for this request, shown in the browser.
pub(crate) fn inline_pdf(pdf: Vec<u8>, file_name: &str) -> Response {
    use axum::http::{HeaderValue, header};
    let mut res = pdf.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    if let Ok(v) = HeaderValue::from_str(&format!("inline; filename=\"{file_name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A picture uploaded for letters, and the line that shows it.
#[derive(Serialize, ToSchema)]
pub struct UploadedPicture {
    /// The picture's name (32 hex digits of the SHA-256 of its bytes): the same picture uploaded twice has the same name.
    pub name: String,
    pub width: u32,
    pub height: u32,
    /// The line a template writes to print it (`@image <name> 40`).
    pub image_line: String,
    /// The line a template writes to lay its fields over it as a pre-printed form (`@form <name>`).
    pub form_line: String,
}

/// Uploads a picture for letters (the body: a PNG or JPEG of at most 1 MiB):
/// a logo to print with `@image`, or the scan of a pre-printed form for `@form`.
#[utoipa::path(post, path = "/api/v1/notices/pictures", tag = "notices",
    request_body(content = Vec<u8>, content_type = "image/png"),
    responses((status = 201, body = UploadedPicture), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn upload_picture(
    State(state): State<AppState>,
    Authed(actor): Authed,
    body: axum::body::Bytes,
) -> Created<UploadedPicture> {
    let (name, width, height) = notices::printed::upload_picture(&state.services, &actor, body.to_vec()).await?;
    let image_line = format!("@image {name} 40");
    let form_line = format!("@form {name}");
    Ok((StatusCode::CREATED, Json(UploadedPicture { name, width, height, image_line, form_line })))
}

/// What the provider is answered when it pushes replies (Alibaba's SmsUp
/// expects `{"code": 0, "msg": "成功"}`).
#[derive(Serialize, ToSchema)]
pub struct RepliesTaken {
    pub code: u8,
    pub msg: String,
    /// Customers whose refusal of marketing was recorded by these replies.
    pub opted_out: usize,
}

/// Customers' replies to text messages, pushed by the SMS provider (上行短信)
/// to the path the SMS settings show (no sign-in: the path's last part is
/// the secret): Alibaba's SmsUp batch `[{"phone_number", "content", …}]` or
/// `{"phone", "text"}`, one or a list. A reply of T, TD, N or 退订 records the
/// refusal of marketing on every customer reached at that number.
#[utoipa::path(post, path = "/api/v1/notices/sms/replies/{token}", tag = "notices",
    params(("token" = String, Path, description = "the secret part of the reply path")),
    request_body = Object,
    responses((status = 200, body = RepliesTaken), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn sms_replies(
    State(state): State<AppState>,
    axum::extract::Path(token): axum::extract::Path<String>,
    ApiJson(body): ApiJson<serde_json::Value>,
) -> Result<Json<RepliesTaken>, AppError> {
    let opted_out = sms::receive_replies(&state.services, &token, &body).await?;
    Ok(Json(RepliesTaken { code: 0, msg: "成功".into(), opted_out }))
}

/// How many letters a batch would send and the first three, without sending anything.
#[utoipa::path(post, path = "/api/v1/notices/batches/preview", tag = "notices", request_body = NewBatch,
    responses((status = 200, body = BatchPreview), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn preview_batch(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(form): ApiJson<NewBatch>,
) -> Result<Json<BatchPreview>, AppError> {
    Ok(Json(notices::preview_batch(&state.services, &actor, &form).await?))
}

/// Confirms a batch: recipients are fixed now, in building and unit order,
/// and the job queue sends each exactly once (202; follow its status).
#[utoipa::path(post, path = "/api/v1/notices/batches", tag = "notices", request_body = NewBatch,
    responses((status = 202, body = Batch), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn create_batch(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(form): ApiJson<NewBatch>,
) -> Created<Batch> {
    Ok((StatusCode::ACCEPTED, Json(notices::create_batch(&state.services, &actor, form).await?)))
}

/// The latest batches of the caller's projects.
#[utoipa::path(get, path = "/api/v1/notices/batches", tag = "notices",
    responses((status = 200, body = Vec<Batch>), (status = 403, body = Problem)))]
async fn list_batches(State(state): State<AppState>, Authed(actor): Authed) -> Result<Json<Vec<Batch>>, AppError> {
    Ok(Json(notices::list_batches(&state.services, &actor).await?))
}

#[utoipa::path(get, path = "/api/v1/notices/batches/{id}", tag = "notices", params(("id" = String, Path)),
    responses((status = 200, body = Batch), (status = 404, body = Problem)))]
async fn get_batch(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<NoticeBatchId>,
) -> Result<Json<Batch>, AppError> {
    Ok(Json(notices::get_batch(&state.services, &actor, &id).await?))
}

/// The batch's sending log: every recipient in print order, with what became of them.
#[utoipa::path(get, path = "/api/v1/notices/batches/{id}/recipients", tag = "notices", params(("id" = String, Path)),
    responses((status = 200, body = Vec<Recipient>), (status = 404, body = Problem)))]
async fn batch_recipients(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<NoticeBatchId>,
) -> Result<Json<Vec<Recipient>>, AppError> {
    Ok(Json(notices::batch_recipients(&state.services, &actor, &id).await?))
}

/// The sending log as xlsx, in the caller's language.
#[utoipa::path(get, path = "/api/v1/notices/batches/{id}/recipients/export", tag = "notices", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>),
        (status = 404, body = Problem)))]
async fn export_recipients(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    ApiPath(id): ApiPath<NoticeBatchId>,
) -> Result<Response, AppError> {
    let batch = notices::get_batch(&state.services, &actor, &id).await?;
    let recipients = notices::batch_recipients(&state.services, &actor, &id).await?;
    let bytes = notices::recipients_xlsx(&batch, &recipients, &|key| crate::i18n::t(lang, key))?;
    Ok(crate::api::xlsx_download(bytes, "sending-log.xlsx"))
}

/// The batch's letters as one PDF in print order (409 `batch_not_done` until it is done).
#[utoipa::path(get, path = "/api/v1/notices/batches/{id}/letters.pdf", tag = "notices", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/pdf", body = Vec<u8>), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
async fn batch_letters(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<NoticeBatchId>,
) -> Result<Response, AppError> {
    let body = notices::batch_letters(&state.services, &actor, &id).await?;
    Ok(pdf_response(body, &format!("letters-{id}.pdf")))
}

/// The batch's letters as a zip, one PDF per customer in print order
/// (`0001-李雷.pdf`; 409 `batch_not_done` before).
#[utoipa::path(get, path = "/api/v1/notices/batches/{id}/letters.zip", tag = "notices", params(("id" = String, Path)),
    responses((status = 200, content_type = "application/zip", body = Vec<u8>), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
async fn batch_letters_zip(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<NoticeBatchId>,
) -> Result<Response, AppError> {
    let bytes = notices::batch_letters_zip(&state.services, &actor, &id).await?;
    Ok(zip_response(bytes, &format!("letters-{id}.zip")))
}

/// A zip as a download.
pub(crate) fn zip_response(bytes: Vec<u8>, file_name: &str) -> Response {
    use axum::http::{HeaderValue, header};
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    res
}

/// A stored PDF streamed as a download.
pub(crate) fn pdf_response(body: loupan_service::platform::files::FileBody, file_name: &str) -> Response {
    use axum::http::{HeaderValue, header};
    let mut res = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(body.reader)).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len));
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    res
}

/// What a customer was sent, for whoever may see the customer.
#[utoipa::path(get, path = "/api/v1/notices/sendings/{id}", tag = "notices", params(("id" = String, Path)),
    responses((status = 200, body = Sending), (status = 404, body = Problem)))]
async fn sending(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiPath(id): ApiPath<NoticeRecipientId>,
) -> Result<Json<Sending>, AppError> {
    Ok(Json(notices::sending(&state.services, &actor, &id).await?))
}

/// The company's letterhead: the name, address and phone letters merge as
/// `company.*`, and the logo `@logo` prints (blank until an administrator sets it).
#[utoipa::path(get, path = "/api/v1/notices/letterhead", tag = "notices",
    responses((status = 200, body = Letterhead), (status = 403, body = Problem)))]
async fn get_letterhead(State(state): State<AppState>, Authed(actor): Authed) -> Result<Json<Letterhead>, AppError> {
    Ok(Json(letterhead::letterhead(&state.services, &actor).await?))
}

/// Sets the letterhead; the logo is a picture uploaded before (`POST /api/v1/notices/pictures`).
#[utoipa::path(put, path = "/api/v1/notices/letterhead", tag = "notices", request_body = LetterheadForm,
    responses((status = 200, body = Letterhead), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn put_letterhead(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(form): ApiJson<LetterheadForm>,
) -> Result<Json<Letterhead>, AppError> {
    Ok(Json(letterhead::set_letterhead(&state.services, &actor, form).await?))
}

/// The company's SMTP server for e-mail notices (404 until someone sets it;
/// the password is never shown).
#[utoipa::path(get, path = "/api/v1/notices/smtp", tag = "notices",
    responses((status = 200, body = SmtpSettings), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_smtp(State(state): State<AppState>, Authed(actor): Authed) -> Result<Json<SmtpSettings>, AppError> {
    let settings = mail::smtp_settings(&state.services, &actor).await?;
    Ok(Json(settings.ok_or(loupan_service::ServiceError::NotFound("smtp_settings"))?))
}

/// Sets the SMTP server; the password is stored encrypted (absent: the kept one stays).
#[utoipa::path(put, path = "/api/v1/notices/smtp", tag = "notices", request_body = SmtpForm,
    responses((status = 200, body = SmtpSettings), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn put_smtp(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(form): ApiJson<SmtpForm>,
) -> Result<Json<SmtpSettings>, AppError> {
    Ok(Json(mail::set_smtp(&state.services, &actor, form).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SmtpTest {
    /// Where the test message goes.
    #[schema(value_type = crate::api::Email)]
    pub to: String,
}

/// Sends a test message with the settings as they are; the server's answer
/// either way (`delivered` false with the refusal). 409 `smtp_not_configured` before any.
#[utoipa::path(post, path = "/api/v1/notices/smtp/test", tag = "notices", request_body = SmtpTest,
    responses((status = 200, body = TestOutcome), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn test_smtp(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<SmtpTest>,
) -> Result<Json<TestOutcome>, AppError> {
    Ok(Json(mail::send_test(&state.services, &actor, &req.to).await?))
}

/// The company's SMS gateway (404 until someone sets it; the secret is never shown).
#[utoipa::path(get, path = "/api/v1/notices/sms", tag = "notices",
    responses((status = 200, body = SmsSettings), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn get_sms(State(state): State<AppState>, Authed(actor): Authed) -> Result<Json<SmsSettings>, AppError> {
    let settings = sms::sms_settings(&state.services, &actor).await?;
    Ok(Json(settings.ok_or(loupan_service::ServiceError::NotFound("sms_settings"))?))
}

/// Sets the SMS gateway: a configurable HTTP gateway or Alibaba Cloud SMS;
/// the AccessKey secret is stored encrypted (absent: the kept one stays).
#[utoipa::path(put, path = "/api/v1/notices/sms", tag = "notices", request_body = SmsForm,
    responses((status = 200, body = SmsSettings), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn put_sms(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(form): ApiJson<SmsForm>,
) -> Result<Json<SmsSettings>, AppError> {
    Ok(Json(sms::set_sms(&state.services, &actor, form).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SmsTest {
    /// Where the test message goes.
    #[schema(value_type = crate::api::MobilePhone)]
    pub phone: String,
}

/// Sends a test text message with the settings as they are; the gateway's
/// answer either way. 409 `sms_not_configured` before any.
#[utoipa::path(post, path = "/api/v1/notices/sms/test", tag = "notices", request_body = SmsTest,
    responses((status = 200, body = TestOutcome), (status = 403, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn test_sms(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(req): ApiJson<SmsTest>,
) -> Result<Json<TestOutcome>, AppError> {
    Ok(Json(sms::send_test(&state.services, &actor, &req.phone).await?))
}

/// The scheduled greetings: each occasion with its template and next date.
#[utoipa::path(get, path = "/api/v1/notices/care", tag = "notices",
    responses((status = 200, body = Vec<CareOccasion>), (status = 403, body = Problem)))]
async fn get_care(State(state): State<AppState>, Authed(actor): Authed) -> Result<Json<Vec<CareOccasion>>, AppError> {
    Ok(Json(care::care(&state.services, &actor).await?))
}

/// Chooses the greeting template of each occasion (`{"templates": {"birthday": id, "spring_festival": null}}`);
/// the company's, so 403 for someone limited to some projects. Every morning at
/// 08:00 the occasions of the day are sent, once each.
#[utoipa::path(put, path = "/api/v1/notices/care", tag = "notices", request_body = CareForm,
    responses((status = 200, body = Vec<CareOccasion>), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn put_care(
    State(state): State<AppState>,
    Authed(actor): Authed,
    ApiJson(form): ApiJson<CareForm>,
) -> Result<Json<Vec<CareOccasion>>, AppError> {
    Ok(Json(care::set_care(&state.services, &actor, form).await?))
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_templates, create_template))
        .routes(routes!(get_template, update_template))
        .routes(routes!(template_versions))
        .routes(routes!(fields))
        .routes(routes!(preview))
        .routes(routes!(preview_pdf))
        .routes(routes!(calibration_page))
        .routes(routes!(upload_picture))
        .routes(routes!(preview_batch))
        .routes(routes!(list_batches, create_batch))
        .routes(routes!(get_batch))
        .routes(routes!(batch_recipients))
        .routes(routes!(export_recipients))
        .routes(routes!(batch_letters))
        .routes(routes!(batch_letters_zip))
        .routes(routes!(sending))
        .routes(routes!(get_letterhead, put_letterhead))
        .routes(routes!(get_smtp, put_smtp))
        .routes(routes!(test_smtp))
        .routes(routes!(get_sms, put_sms))
        .routes(routes!(test_sms))
        .routes(routes!(sms_replies))
        .routes(routes!(get_care, put_care))
}
