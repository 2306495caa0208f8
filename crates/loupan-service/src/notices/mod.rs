//! Notices and letters (S5, F7, M1): templates per kind and channel, kept as
//! versions; batches to a chosen group of customers, run by the job queue and
//! sending each recipient exactly once; what was sent, on the customer's timeline.
//!
//! Built so far: printed letters (one merged PDF per batch), e-mail through
//! the company's SMTP server, marketing opt-outs. SMS and scheduled greetings
//! come with the rest of issue #16.

pub mod care;
pub mod letterhead;
pub mod mail;
pub mod printed;
pub mod sms;
pub mod templates;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::NaiveDate;
use loupan_domain::cases::SurveyEvent;
use loupan_domain::customers::{CustomerEventKind, PhoneNumber};
use loupan_domain::ids::{
    BuildingId, ContractId, CustomerId, NoticeBatchId, NoticeRecipientId, NoticeTemplateId, ProjectId, QuestionnaireId,
    SurveyId, UnitId,
};
use loupan_domain::notices::{BatchStatus, NoticeChannel, NoticeKind, RecipientStatus, Subject, UNSUBSCRIBE};
use loupan_domain::validation::{optional_text, required_text};
use loupan_domain::{Invalid, Permission};
use loupan_store::Connection;
use loupan_store::customers as store_customers;
use loupan_store::inventory as store_inventory;
use loupan_store::notices::{self as store, BatchRow, RecipientRow, TemplateRow};
use loupan_store::settings::COMPANY;
use serde::{Deserialize, Serialize};

use crate::finance::reports::{LedgerLine, ledger};
use crate::platform::audit::{self, Change};
use crate::platform::jobs::{self, JobKind, NewJob, Progress};
use crate::{Actor, Say, ServiceError, ServiceResult, Services};

use templates::Facts;

/// Why an e-mail or a text message did not go.
#[derive(Debug)]
pub(crate) enum SendFailure {
    /// The server or gateway refused it for good (an SMTP 5xx, a gateway's
    /// error code), or the address cannot be used: recorded on the recipient
    /// with the answer.
    Refused(String),
    /// It could not be reached or asked to try later (an SMTP 4xx, an HTTP
    /// 5xx or 429, throttling): the batch stops and the job queue tries again.
    Later(String),
}

impl std::fmt::Display for SendFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendFailure::Refused(answer) | SendFailure::Later(answer) => f.write_str(answer),
        }
    }
}

/// What became of a test message: the server's own answer either way.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct TestOutcome {
    pub delivered: bool,
    pub answer: String,
}

/// A sending setting of the company (the SMTP server, the SMS gateway) as stored.
async fn setting<T: serde::de::DeserializeOwned>(services: &Services, key: &str) -> ServiceResult<Option<T>> {
    let Some(row) = loupan_store::settings::find_setting(services.store.conn(), COMPANY, key).await? else {
        return Ok(None);
    };
    // A stored value that no longer reads is a fault to see, not "not configured".
    serde_json::from_str(&row.value).map(Some).map_err(ServiceError::internal)
}

/// Saves a sending setting; the audit trail gets what an administrator sees
/// (`before`, `after`), never the sealed secret.
async fn save_setting<T: Serialize>(
    services: &Services,
    actor: &Actor,
    key: &str,
    stored: &T,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> ServiceResult<()> {
    let tx = services.store.begin_write().await?;
    let row = loupan_store::settings::SettingRow {
        scope: COMPANY.to_owned(),
        key: key.to_owned(),
        value: serde_json::to_string(stored).map_err(ServiceError::internal)?,
        updated_by: actor.audit_id().unwrap_or_default(),
        updated_at: services.clock.now(),
    };
    loupan_store::settings::put_setting(&tx, &row).await?;
    let action = format!("settings.{key}");
    audit::record(&tx, actor, Change { action: &action, record_type: "settings", record_id: COMPANY, before, after })
        .await?;
    tx.commit().await.map_err(ServiceError::internal)
}

/// A template version as users see it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Template {
    pub id: NoticeTemplateId,
    /// The first version's id: every version of the template shares it.
    pub family_id: NoticeTemplateId,
    pub version: i32,
    /// None: company-wide.
    pub project_id: Option<ProjectId>,
    pub kind: NoticeKind,
    pub channel: NoticeChannel,
    pub name: String,
    /// An e-mail's subject.
    pub subject: Option<String>,
    pub body: String,
    /// An e-mail that also carries its text as a printed letter (PDF).
    pub attach_pdf: bool,
    /// A text message's approved template at the provider (Alibaba Cloud: `SMS_123456789`).
    pub sms_template_code: Option<String>,
    /// The provider template's parameters, each a text in the template language.
    pub sms_params: Option<BTreeMap<String, String>>,
    pub created_by: String,
    pub created_by_name: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Set when a newer version replaced this one.
    pub superseded_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl From<TemplateRow> for Template {
    fn from(r: TemplateRow) -> Self {
        Template {
            id: r.id,
            family_id: r.family_id,
            version: r.version,
            project_id: r.project_id,
            kind: r.kind,
            channel: r.channel,
            name: r.name,
            subject: r.subject,
            body: r.body,
            attach_pdf: r.attach_pdf,
            sms_template_code: r.sms_template_code,
            // Written by Loupan as a JSON object of texts; anything else reads as none.
            sms_params: r.sms_params.as_deref().and_then(|p| serde_json::from_str(p).ok()),
            created_by: r.created_by,
            created_by_name: r.created_by_name,
            created_at: r.created_at,
            superseded_at: r.superseded_at,
        }
    }
}

/// A template as typed in the editor or sent by a program.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct NewTemplate {
    /// One of the notice kinds (`payment_reminder`, …); a new version keeps its template's.
    #[cfg_attr(feature = "utoipa", schema(required = true, nullable = false, value_type = Option<NoticeKind>))]
    pub kind: Option<String>,
    /// `letter` (printed; also when blank), `email` (which needs a subject)
    /// or `sms` (a text message).
    #[cfg_attr(feature = "utoipa", schema(pattern = "^(letter|email|sms)?$"))]
    pub channel: Option<String>,
    #[cfg_attr(
        feature = "utoipa",
        schema(required = true, nullable = false, min_length = 1, max_length = 100, pattern = "\\S")
    )]
    pub name: Option<String>,
    /// Blank: company-wide.
    pub project_id: Option<String>,
    /// An e-mail's subject, in the template language.
    #[cfg_attr(feature = "utoipa", schema(max_length = 200))]
    pub subject: Option<String>,
    /// An e-mail only: attach the text as a printed letter (PDF) as well.
    #[serde(default)]
    pub attach_pdf: bool,
    /// A text message only: the provider's approved template (Alibaba Cloud).
    #[cfg_attr(feature = "utoipa", schema(max_length = 50))]
    pub sms_template_code: Option<String>,
    /// A text message only: the provider template's parameters, each a text
    /// in the template language (`{"name": "{{ customer.name }}"}`).
    pub sms_params: Option<BTreeMap<String, String>>,
    /// The text in the template language (MiniJinja: `{{ customer.name }}`).
    #[cfg_attr(
        feature = "utoipa",
        schema(required = true, nullable = false, min_length = 1, max_length = 20000, pattern = "\\S")
    )]
    pub body: Option<String>,
}

struct ValidTemplate {
    kind: NoticeKind,
    channel: NoticeChannel,
    name: String,
    project_id: Option<ProjectId>,
    subject: Option<String>,
    body: String,
    attach_pdf: bool,
    sms_template_code: Option<String>,
    sms_params: Option<String>,
    /// Pictures the letter shows, with the line that names each.
    pictures: Vec<(usize, String)>,
}

fn valid_template(actor: &Actor, form: &NewTemplate) -> ServiceResult<ValidTemplate> {
    let mut errors = Invalid::default();
    let kind = match form.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        None => {
            errors.push("kind", "required");
            None
        }
        Some(k) => NoticeKind::parse(k).or_else(|| {
            errors.push("kind", "unknown_kind");
            None
        }),
    };
    let channel = match form.channel.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => NoticeChannel::Letter,
        Some(c) if NoticeChannel::parse(c).is_some() => NoticeChannel::parse(c).unwrap_or(NoticeChannel::Letter),
        Some(_) => {
            errors.push("channel", "unknown_kind");
            NoticeChannel::Letter
        }
    };
    let name = required_text(&mut errors, "name", form.name.as_deref(), 100);
    let project_id = ProjectId::given(form.project_id.as_deref());
    if let Some(p) = &project_id
        && !actor.sees_project(p)
    {
        errors.push("project_id", "unknown_project");
    }
    let subject = optional_text(&mut errors, "subject", form.subject.as_deref(), 200);
    if channel == NoticeChannel::Email && subject.is_none() && !errors.0.iter().any(|e| e.field == "subject") {
        errors.push("subject", "required");
    }
    let body = required_text(&mut errors, "body", form.body.as_deref(), 20_000);
    if let Some(kind) = kind {
        if !body.is_empty() {
            templates::check(&mut errors, "body", kind, &body);
        }
        if let Some(s) = &subject {
            templates::check(&mut errors, "subject", kind, s);
        }
    }
    let is_sms = channel == NoticeChannel::Sms;
    let sms_template_code =
        optional_text(&mut errors, "sms_template_code", form.sms_template_code.as_deref(), 50).filter(|_| is_sms);
    let sms_params = match form.sms_params.as_ref().filter(|p| is_sms && !p.is_empty()) {
        None => None,
        Some(params) => {
            for (name, text) in params {
                let field = format!("sms_params.{name}");
                if name.is_empty() || name.len() > 50 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    errors.push(field.clone(), "invalid_parameter_name");
                }
                if let Some(kind) = kind {
                    templates::check(&mut errors, &field, kind, text);
                }
            }
            Some(serde_json::to_string(params).map_err(ServiceError::internal)?)
        }
    };
    // Only an e-mail carries a letter along; a printed letter is one.
    let attach_pdf = form.attach_pdf && channel == NoticeChannel::Email;
    let mut pictures = Vec::new();
    if let Some(kind) = kind
        && (channel == NoticeChannel::Letter || attach_pdf)
        && !errors.0.iter().any(|e| e.field == "body")
    {
        // The marks of a printed letter are read from a sample letter, as a real one would be.
        let filled = templates::render(&body, &templates::sample(kind)).unwrap_or_default();
        let (markup, marks) = printed::parse(&filled);
        let source_line = |filled_line: usize| {
            let first =
                filled.lines().nth(filled_line - 1).and_then(|l| l.split_whitespace().next()).unwrap_or_default();
            body.lines().position(|l| l.trim_start().starts_with(first)).map_or(filled_line, |i| i + 1)
        };
        if let Some(mark) = marks.first() {
            let line = source_line(mark.line).to_string();
            errors.push_with("body", "letter_markup", vec![("line", line), ("detail", mark.detail.clone())]);
        }
        for name in markup.pictures() {
            let line = body.lines().position(|l| l.contains(name)).map_or(1, |i| i + 1);
            pictures.push((line, name.to_owned()));
        }
    }
    errors.into_result()?;
    let kind = kind.ok_or_else(|| ServiceError::internal("kind checked above"))?;
    let subject = subject.filter(|_| !is_sms);
    Ok(ValidTemplate {
        kind,
        channel,
        name,
        project_id,
        subject,
        body,
        attach_pdf,
        sms_template_code,
        sms_params,
        pictures,
    })
}

/// Every picture a letter names was uploaded (`unknown_picture` with its line).
async fn check_pictures(services: &Services, v: &ValidTemplate) -> ServiceResult<()> {
    for (line, name) in &v.pictures {
        if !printed::picture_exists(services, name).await? {
            let mut errors = Invalid::default();
            errors.push_with("body", "unknown_picture", vec![("line", line.to_string()), ("name", name.clone())]);
            return Err(errors.into());
        }
    }
    Ok(())
}

/// The templates the actor may use: their projects' and the company's, current versions.
pub async fn list_templates(services: &Services, actor: &Actor) -> ServiceResult<Vec<Template>> {
    actor.require(Permission::SendNotices)?;
    let rows = store::current_templates(services.store.conn(), actor.visible_projects()).await?;
    Ok(rows.into_iter().map(Template::from).collect())
}

async fn visible_template<C: Connection>(conn: &C, actor: &Actor, id: &NoticeTemplateId) -> ServiceResult<TemplateRow> {
    actor.require(Permission::SendNotices)?;
    match store::find_template(conn, id).await? {
        Some(t) if t.project_id.as_ref().is_none_or(|p| actor.sees_project(p)) => Ok(t),
        _ => Err(ServiceError::NotFound("notice_template")),
    }
}

pub async fn get_template(services: &Services, actor: &Actor, id: &NoticeTemplateId) -> ServiceResult<Template> {
    Ok(visible_template(services.store.conn(), actor, id).await?.into())
}

/// Every version of the template, newest first.
pub async fn template_versions(
    services: &Services,
    actor: &Actor,
    id: &NoticeTemplateId,
) -> ServiceResult<Vec<Template>> {
    let row = visible_template(services.store.conn(), actor, id).await?;
    let rows = store::template_versions(services.store.conn(), &row.family_id).await?;
    Ok(rows.into_iter().map(Template::from).collect())
}

pub async fn create_template(services: &Services, actor: &Actor, form: NewTemplate) -> ServiceResult<Template> {
    actor.require(Permission::SendNotices)?;
    let v = valid_template(actor, &form)?;
    check_pictures(services, &v).await?;
    let id = NoticeTemplateId::from(loupan_store::new_id());
    let row = TemplateRow {
        id: id.clone(),
        family_id: id,
        version: 1,
        project_id: v.project_id,
        kind: v.kind,
        channel: v.channel,
        name: v.name,
        subject: v.subject,
        body: v.body,
        attach_pdf: v.attach_pdf,
        sms_template_code: v.sms_template_code,
        sms_params: v.sms_params,
        created_by: actor.by(),
        created_by_name: actor.display_name.clone(),
        created_at: services.clock.now(),
        superseded_at: None,
    };
    let tx = services.store.begin_write().await?;
    store::insert_template(&tx, &row).await?;
    let template = Template::from(row);
    record(&tx, actor, "notice_template.create", template.id.as_str(), None, &template).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(template)
}

/// Saves a new version; batches made with the old one keep it. Only the
/// current version may be edited (else `stale_version`).
pub async fn update_template(
    services: &Services,
    actor: &Actor,
    id: &NoticeTemplateId,
    form: NewTemplate,
) -> ServiceResult<Template> {
    let conn = services.store.conn();
    let current = visible_template(conn, actor, id).await?;
    let v = valid_template(actor, &form)?;
    check_pictures(services, &v).await?;
    if v.kind != current.kind {
        return Err(Invalid::one("kind", "kind_cannot_change").into());
    }
    let now = services.clock.now();
    let tx = services.store.begin_write().await?;
    if !store::supersede_template(&tx, id, now).await? {
        return Err(ServiceError::Conflict("stale_version"));
    }
    let row = TemplateRow {
        id: NoticeTemplateId::from(loupan_store::new_id()),
        family_id: current.family_id.clone(),
        version: current.version + 1,
        project_id: v.project_id,
        kind: v.kind,
        channel: v.channel,
        name: v.name,
        subject: v.subject,
        body: v.body,
        attach_pdf: v.attach_pdf,
        sms_template_code: v.sms_template_code,
        sms_params: v.sms_params,
        created_by: actor.by(),
        created_by_name: actor.display_name.clone(),
        created_at: now,
        superseded_at: None,
    };
    store::insert_template(&tx, &row).await?;
    let before = Template::from(current);
    let template = Template::from(row);
    record(&tx, actor, "notice_template.update", template.id.as_str(), Some(&before), &template).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(template)
}

async fn record<T: Serialize, C: Connection>(
    tx: &C,
    actor: &Actor,
    action: &'static str,
    id: &str,
    before: Option<&T>,
    after: &T,
) -> ServiceResult<()> {
    let before = match before {
        Some(b) => audit::snapshot(b)?,
        None => None,
    };
    audit::record(
        tx,
        actor,
        Change { action, record_type: "notice", record_id: id, before, after: audit::snapshot(after)? },
    )
    .await
}

/// A merge field and the kinds that have it, for the editor's picker.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct MergeField {
    /// As written in a template: `{{ customer.name }}`.
    pub name: &'static str,
}

/// The fields a template of `kind` may name.
pub fn fields_of(kind: NoticeKind) -> Vec<MergeField> {
    kind.fields().into_iter().map(|name| MergeField { name }).collect()
}

/// Who a batch goes to, as the user chose them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Audience {
    /// 欠款: every contract of the project overdue at least `min_days` days on the batch's date.
    Arrears {
        #[cfg_attr(feature = "utoipa", schema(minimum = 0, maximum = 65535))]
        min_days: u16,
    },
    /// The buyers of a building's units, by their active contracts.
    Building { building_id: BuildingId },
    /// Chosen customers (with their active contracts, for letters about one).
    Customers {
        #[cfg_attr(feature = "utoipa", schema(min_items = 1))]
        customer_ids: Vec<CustomerId>,
    },
    /// Everyone one of the user's saved customer filters finds in the project
    /// when the batch is confirmed (with their active contracts, for letters about one).
    SavedFilter { filter_id: String },
    /// Every owner of the project: the buyers of its active contracts.
    Owners,
}

/// A batch as the user confirms it.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct NewBatch {
    pub template_id: NoticeTemplateId,
    pub project_id: ProjectId,
    pub audience: Audience,
    /// The date amounts are taken at (arrears); today when absent or blank.
    #[serde(default, deserialize_with = "loupan_domain::validation::optional_date")]
    pub as_of: Option<NaiveDate>,
    /// What the whole batch states, by merge field: a handover notice's
    /// `handover.starts_on`, `handover.ends_on` (dates) and `handover.place`.
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(value_type = BatchDetails))]
    pub details: BTreeMap<String, String>,
}

/// The fields a batch may state, as the API document describes them; which
/// of them a batch needs depends on its template's kind.
#[cfg(feature = "utoipa")]
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct BatchDetails {
    #[serde(rename = "handover.starts_on")]
    #[schema(nullable = false)]
    handover_starts_on: Option<NaiveDate>,
    #[serde(rename = "handover.ends_on")]
    #[schema(nullable = false)]
    handover_ends_on: Option<NaiveDate>,
    #[serde(rename = "handover.place")]
    #[schema(nullable = false, max_length = 200)]
    handover_place: Option<String>,
    /// A questionnaire invitation's questionnaire (of the batch's project).
    #[serde(rename = "questionnaire.id")]
    #[schema(nullable = false, max_length = 200)]
    questionnaire_id: Option<String>,
}

/// The letter one customer would get, for the editor's preview.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct PreviewOf {
    pub customer_id: CustomerId,
    /// For letters about a contract: which one (else the customer's first).
    pub contract_id: Option<ContractId>,
    /// Amounts as of this date; today when absent or blank.
    #[serde(default, deserialize_with = "loupan_domain::validation::optional_date")]
    pub as_of: Option<NaiveDate>,
    /// What a batch would state (see `NewBatch::details`).
    #[serde(default)]
    #[cfg_attr(feature = "utoipa", schema(value_type = BatchDetails))]
    pub details: BTreeMap<String, String>,
}

/// The values a batch of `kind` states for all its letters, checked: each of
/// the kind's batch fields given (dates as dates, the last not before the
/// first), nothing else.
fn batch_details(
    kind: NoticeKind,
    given: &BTreeMap<String, String>,
) -> Result<BTreeMap<&'static str, String>, Invalid> {
    let mut errors = Invalid::default();
    let wanted = kind.batch_fields();
    for name in given.keys().filter(|k| !wanted.contains(&k.as_str())) {
        errors.push(format!("details.{name}"), "unknown_merge_field_name");
    }
    let mut details = BTreeMap::new();
    for field in wanted {
        let at = format!("details.{field}");
        let value = given.get(*field).map(|v| v.trim()).unwrap_or_default();
        if value.is_empty() {
            // Which details a batch needs depends on its template's kind.
            errors.push(&at, "needed_for_this_kind");
        } else if value.chars().count() > 200 {
            errors.push(&at, "too_long");
        } else if field.ends_with("_on") && NaiveDate::parse_from_str(value, "%Y-%m-%d").is_err() {
            errors.push(&at, "invalid_date");
        } else {
            details.insert(*field, value.to_owned());
        }
    }
    if let (Some(from), Some(to)) = (details.get("handover.starts_on"), details.get("handover.ends_on"))
        && to < from
    {
        errors.push("details.handover.ends_on", "before_start");
    }
    errors.into_result()?;
    Ok(details)
}

/// The details a batch stated, under the kind's own field names.
/// One value of a batch's stored details that is not a merge field (a
/// survey's id).
fn detail_of(batch: &BatchRow, name: &str) -> ServiceResult<Option<String>> {
    let Some(json) = batch.details.as_deref() else { return Ok(None) };
    let given: BTreeMap<String, String> = serde_json::from_str(json).map_err(ServiceError::internal)?;
    Ok(given.get(name).cloned())
}

fn stored_details(batch: &BatchRow) -> ServiceResult<BTreeMap<&'static str, String>> {
    let Some(json) = batch.details.as_deref() else { return Ok(BTreeMap::new()) };
    let given: BTreeMap<String, String> = serde_json::from_str(json).map_err(ServiceError::internal)?;
    Ok(batch.kind.batch_fields().iter().filter_map(|field| given.get(*field).map(|v| (*field, v.clone()))).collect())
}

/// One letter a batch would send or sent: to whom, about what.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Letter {
    pub customer_id: CustomerId,
    pub customer_name: String,
    pub contract_id: Option<ContractId>,
    pub unit_number: Option<String>,
    /// An e-mail's subject.
    pub subject: Option<String>,
    pub text: String,
    /// A text message: how the operator counts it.
    pub sms: Option<SmsCount>,
}

/// A text message's length as the operator counts it (70 Chinese characters
/// in one message, 67 per part beyond).
#[derive(Debug, Clone, Copy, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SmsCount {
    pub chars: usize,
    pub segments: usize,
}

fn sms_count(channel: NoticeChannel, text: &str) -> Option<SmsCount> {
    (channel == NoticeChannel::Sms).then(|| {
        let l = loupan_domain::notices::sms_length(text);
        SmsCount { chars: l.chars, segments: l.segments }
    })
}

/// What confirming would send: how many letters, and the first few.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct BatchPreview {
    pub count: usize,
    /// Recipients left out: customers who refused marketing, for marketing kinds.
    pub skipped_opted_out: usize,
    /// Recipients left out: no e-mail address for an e-mail, no usable phone for a text message.
    pub skipped_no_address: usize,
    pub first: Vec<Letter>,
}

/// Who of `to` a notice of `kind` on `channel` may not reach, and why:
/// marketing skips those who refused it (`opted_out`), an e-mail those
/// without an address (`no_email`).
async fn skips<C: Connection>(
    conn: &C,
    kind: NoticeKind,
    channel: NoticeChannel,
    to: &[Addressee],
) -> ServiceResult<HashMap<CustomerId, &'static str>> {
    let mut out = HashMap::new();
    if !kind.is_marketing() && channel == NoticeChannel::Letter {
        return Ok(out);
    }
    let mut ids: Vec<CustomerId> = to.iter().map(|a| a.customer_id.clone()).collect();
    ids.sort();
    ids.dedup();
    for chunk in ids.chunks(500) {
        for c in store_customers::customers_by_ids(conn, chunk).await? {
            if let Some(reason) = skip_reason(kind, channel, &c) {
                out.insert(c.id, reason);
            }
        }
    }
    Ok(out)
}

/// Why a notice may not reach this customer, if it may not.
fn skip_reason(kind: NoticeKind, channel: NoticeChannel, c: &store_customers::CustomerRow) -> Option<&'static str> {
    if kind.is_marketing() && c.marketing_opt_out_at.is_some() {
        Some("opted_out")
    } else if channel == NoticeChannel::Email && c.email.as_deref().is_none_or(|e| e.trim().is_empty()) {
        Some("no_email")
    } else if channel == NoticeChannel::Sms && PhoneNumber::parse(&c.phone).is_err() {
        Some("no_phone")
    } else {
        None
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Batch {
    pub id: NoticeBatchId,
    pub project_id: ProjectId,
    pub template_id: NoticeTemplateId,
    pub kind: NoticeKind,
    pub channel: NoticeChannel,
    #[cfg_attr(feature = "utoipa", schema(value_type = Object))]
    pub audience: serde_json::Value,
    pub as_of: NaiveDate,
    /// What the batch states for all its letters (see `NewBatch::details`).
    pub details: BTreeMap<String, String>,
    pub status: BatchStatus,
    pub total: i32,
    pub sent: i32,
    pub skipped: i32,
    pub failed: i32,
    /// The merged letters can be downloaded.
    pub has_letters: bool,
    pub created_by_name: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub finished_at: Option<chrono::DateTime<chrono::Utc>>,
}

fn batch_of(r: BatchRow) -> ServiceResult<Batch> {
    let details = stored_details(&r)?.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    Ok(Batch {
        details,
        audience: serde_json::from_str(&r.audience).map_err(ServiceError::internal)?,
        has_letters: r.output_file_id.is_some(),
        id: r.id,
        project_id: r.project_id,
        template_id: r.template_id,
        kind: r.kind,
        channel: r.channel,
        as_of: r.as_of,
        status: r.status,
        total: r.total,
        sent: r.sent,
        skipped: r.skipped,
        failed: r.failed,
        created_by_name: r.created_by_name,
        created_at: r.created_at,
        finished_at: r.finished_at,
    })
}

/// One recipient to be: a customer and, for letters about a contract, the contract.
struct Addressee {
    customer_id: CustomerId,
    contract_id: Option<ContractId>,
}

/// Where a unit prints: building name, floor, unit number.
type PrintOrder = (String, i32, String);

/// The recipients of `audience`, in building and unit order (customers
/// without a unit last, by name), each once.
async fn addressees(
    services: &Services,
    actor: &Actor,
    kind: NoticeKind,
    project: &ProjectId,
    audience: &Audience,
    lines: &[LedgerLine],
) -> ServiceResult<Vec<Addressee>> {
    let conn = services.store.conn();
    // Customers chosen by name rather than by contract, in the order given.
    let mut customers: Option<Vec<CustomerId>> = None;
    let chosen: Vec<&LedgerLine> = match audience {
        Audience::Arrears { min_days } => {
            lines.iter().filter(|l| l.overdue.is_positive() && l.days_overdue >= i64::from(*min_days)).collect()
        }
        Audience::Building { building_id } => {
            match store_inventory::find_building(conn, building_id).await? {
                Some(b) if &b.project_id == project => {}
                _ => return Err(Invalid::one("audience.building_id", "unknown_building").into()),
            }
            let units: HashSet<UnitId> =
                store_inventory::units_of_building(conn, building_id).await?.into_iter().map(|u| u.id).collect();
            lines.iter().filter(|l| units.contains(&l.unit_id)).collect()
        }
        Audience::Customers { customer_ids } => {
            if customer_ids.is_empty() {
                return Err(Invalid::one("audience.customer_ids", "required").into());
            }
            for id in customer_ids {
                let row = crate::customers::visible(conn, actor, id)
                    .await
                    .map_err(|e| e.when_absent(|| Invalid::one("audience.customer_ids", "unknown_customer").into()))?;
                if &row.project_id != project {
                    return Err(Invalid::one("audience.customer_ids", "unknown_customer").into());
                }
            }
            customers = Some(customer_ids.clone());
            let ids: HashSet<&CustomerId> = customer_ids.iter().collect();
            lines.iter().filter(|l| ids.contains(&l.customer_id)).collect()
        }
        Audience::Owners => lines.iter().collect(),
        Audience::SavedFilter { filter_id } => {
            let found = crate::customers::saved_filters::customers_found(services, actor, filter_id, project).await?;
            let ids: HashSet<&CustomerId> = found.iter().collect();
            let chosen = lines.iter().filter(|l| ids.contains(&l.customer_id)).collect();
            customers = Some(found);
            chosen
        }
    };
    let building_names: HashMap<BuildingId, String> =
        store_inventory::list_buildings_of_project(conn, project).await?.into_iter().map(|b| (b.id, b.name)).collect();
    let mut units = Vec::new();
    for chunk in chosen.iter().map(|l| l.unit_id.clone()).collect::<Vec<_>>().chunks(500) {
        units.extend(store_inventory::units_by_ids(conn, chunk).await?);
    }
    let order: HashMap<&UnitId, PrintOrder> = units
        .iter()
        .map(|u| (&u.id, (building_names.get(&u.building_id).cloned().unwrap_or_default(), u.floor, u.number.clone())))
        .collect();
    let mut sorted = chosen;
    sorted.sort_by(|a, b| order.get(&a.unit_id).cmp(&order.get(&b.unit_id)).then(a.number.cmp(&b.number)));
    Ok(match kind.subject() {
        Subject::Contract => sorted
            .into_iter()
            .map(|l| Addressee { customer_id: l.customer_id.clone(), contract_id: Some(l.contract_id.clone()) })
            .collect(),
        Subject::Customer => {
            // Buyers in the order of their units, then the chosen customers who have bought nothing.
            let mut seen = HashSet::new();
            let mut ordered = Vec::new();
            let with_units = sorted.into_iter().map(|l| &l.customer_id);
            for id in with_units.chain(customers.iter().flatten()) {
                if seen.insert(id.clone()) {
                    ordered.push(Addressee { customer_id: id.clone(), contract_id: None });
                }
            }
            ordered
        }
    })
}

/// Everything a project's letters merge, loaded once per batch run.
struct Merge {
    project_name: String,
    /// What the batch states for every letter (a handover's dates and place).
    details: BTreeMap<&'static str, String>,
    letterhead: letterhead::Letterhead,
    /// Payment methods by id: a contract's plan is named after its method.
    plan_names: HashMap<String, String>,
    as_of: NaiveDate,
    today: NaiveDate,
    lines: HashMap<ContractId, LedgerLine>,
    building_of_unit: HashMap<UnitId, (String, String)>,
    /// A questionnaire invitation's title and the link shown until each
    /// recipient's own is merged in (the preview shows this one).
    questionnaire: Option<(String, String)>,
    /// To open the buyers' handover links, and the company's address before them.
    secrets: std::sync::Arc<crate::platform::secrets::Secrets>,
    public_url: String,
}

impl Merge {
    /// The project's facts; its ledger (the contracts' money) only `with_ledger`,
    /// for letters about contracts and for audiences of buyers.
    async fn load(
        services: &Services,
        project: &ProjectId,
        as_of: NaiveDate,
        with_ledger: bool,
    ) -> ServiceResult<(Merge, Vec<LedgerLine>)> {
        let conn = services.store.conn();
        let project_name = store_inventory::find_project(conn, project)
            .await?
            .map(|p| p.name)
            .ok_or(ServiceError::NotFound("project"))?;
        // The whole project's ledger on the finance basis, as the arrears report shows it.
        let system = Actor::system("notices");
        let lines = if with_ledger {
            ledger(services, &system, Some(project), as_of, crate::finance::reports::Basis::Finance).await?.lines
        } else {
            Vec::new()
        };
        let buildings: HashMap<BuildingId, String> = store_inventory::list_buildings_of_project(conn, project)
            .await?
            .into_iter()
            .map(|b| (b.id, b.name))
            .collect();
        let unit_ids: Vec<UnitId> = lines.iter().map(|l| l.unit_id.clone()).collect();
        let mut building_of_unit = HashMap::new();
        for chunk in unit_ids.chunks(500) {
            for u in store_inventory::units_by_ids(conn, chunk).await? {
                let building = buildings.get(&u.building_id).cloned().unwrap_or_default();
                building_of_unit.insert(u.id.clone(), (building, u.gross_area.to_string()));
            }
        }
        let plan_names =
            loupan_store::sales::payment_methods_of(conn, project).await?.into_iter().map(|m| (m.id, m.name)).collect();
        let merge = Merge {
            project_name,
            details: BTreeMap::new(),
            letterhead: letterhead::stored(services).await?,
            plan_names,
            as_of,
            today: services.clock.today(),
            lines: lines.iter().map(|l| (l.contract_id.clone(), l.clone())).collect(),
            building_of_unit,
            questionnaire: None,
            secrets: services.secrets.clone(),
            public_url: services.config.public_url.as_deref().unwrap_or_default().trim_end_matches('/').to_owned(),
        };
        Ok((merge, lines))
    }

    /// The facts of one letter; None when it no longer applies (the customer
    /// was merged away or the contract ended since the batch was confirmed).
    fn facts(&self, people: &People, kind: NoticeKind, to: &Addressee) -> Option<Facts> {
        let mut f = Facts::new();
        let customer = people.customers.get(&to.customer_id)?;
        let phone = PhoneNumber::parse(&customer.phone).map(|p| p.masked()).unwrap_or_default();
        let agent = people.agents.get(&customer.owner_id).cloned();
        templates::set(&mut f, "customer.name", customer.name.clone());
        templates::set(&mut f, "customer.phone", phone);
        templates::set(&mut f, "project.name", self.project_name.clone());
        templates::set(&mut f, "agent.name", agent.unwrap_or_default());
        templates::set(&mut f, "today", self.today.to_string());
        templates::set(&mut f, "company.name", self.letterhead.name.clone());
        templates::set(&mut f, "company.address", self.letterhead.address.clone());
        templates::set(&mut f, "company.phone", self.letterhead.phone.clone());
        for (field, value) in &self.details {
            templates::set(&mut f, field, value.clone());
        }
        if let Some((title, link)) = &self.questionnaire {
            templates::set(&mut f, "questionnaire.title", title.clone());
            templates::set(&mut f, "questionnaire.link", link.clone());
        }
        if kind.subject() == Subject::Contract {
            let contract_id = to.contract_id.as_ref()?;
            let line = self.lines.get(contract_id)?;
            let contract = people.contracts.get(contract_id)?;
            let buyers: Vec<&str> = people
                .buyers
                .get(contract_id)
                .into_iter()
                .flatten()
                .filter_map(|id| people.customers.get(id).map(|c| c.name.as_str()))
                .collect();
            let buyers = if buyers.is_empty() { customer.name.clone() } else { buyers.join("、") };
            templates::set(&mut f, "contract.buyers", buyers);
            let plan = self.plan_names.get(&contract.payment_method_id).cloned().unwrap_or_default();
            templates::set(&mut f, "plan.name", plan);
            let rows = people
                .instalments
                .get(contract_id)
                .into_iter()
                .flatten()
                .map(|i| {
                    BTreeMap::from([
                        ("seq", i.seq.to_string()),
                        ("name", i.kind.printed_name().to_owned()),
                        ("due_on", i.due_date.to_string()),
                        ("amount", i.amount.to_string()),
                        ("paid", i.paid.to_string()),
                        ("unpaid", (i.amount - i.paid).to_string()),
                    ])
                })
                .collect();
            templates::set_rows(&mut f, "plan.instalments", rows);
            let (building, area) = self.building_of_unit.get(&line.unit_id).cloned().unwrap_or_default();
            // The agent who signed the contract speaks for it.
            templates::set(&mut f, "agent.name", line.agent_name.clone());
            templates::set(&mut f, "building.name", building);
            templates::set(&mut f, "unit.number", line.unit_number.clone());
            templates::set(&mut f, "unit.gross_area", area);
            templates::set(&mut f, "contract.number", line.number.clone());
            templates::set(&mut f, "contract.signed_on", line.signed_on.to_string());
            templates::set(&mut f, "contract.total_price", line.total.to_string());
            templates::set(&mut f, "contract.unpaid", line.unpaid.to_string());
            if kind == NoticeKind::HandoverNotice {
                // The buyer's own booking link, once the building is ready and the handover open.
                let link = people
                    .handover_tokens
                    .get(contract_id)
                    .and_then(|sealed| self.secrets.decrypt(sealed).ok())
                    .map(|token| format!("{}/handover/{token}", self.public_url))
                    .unwrap_or_default();
                templates::set(&mut f, "handover.link", link);
            }
            if kind == NoticeKind::AreaCompensationNotice {
                compensation_facts(&mut f, people, contract_id);
            }
            if kind == NoticeKind::PaymentReminder {
                templates::set(&mut f, "arrears.as_of", self.as_of.to_string());
                templates::set(&mut f, "arrears.overdue", line.overdue.to_string());
                templates::set(
                    &mut f,
                    "arrears.overdue_since",
                    line.overdue_since.map(|d| d.to_string()).unwrap_or_default(),
                );
                templates::set(&mut f, "arrears.days_overdue", line.days_overdue.to_string());
            }
        }
        Some(f)
    }
}

/// A compensation notice's facts: empty until the contract's compensation is applied.
fn compensation_facts(f: &mut Facts, people: &People, contract_id: &ContractId) {
    let line = people.compensations.get(contract_id);
    let text = |get: fn(&loupan_store::aftersales::CompensationRow) -> String| line.map(get).unwrap_or_default();
    templates::set(f, "compensation.contract_gross_area", text(|l| l.contract_gross_area.to_string()));
    templates::set(f, "compensation.measured_gross_area", text(|l| l.measured_gross_area.to_string()));
    templates::set(f, "compensation.contract_inner_area", text(|l| l.contract_inner_area.to_string()));
    templates::set(f, "compensation.measured_inner_area", text(|l| l.measured_inner_area.to_string()));
    // The ratio is kept with four places (`-0.0500`): a letter says `-5.00%`.
    let percent = line.and_then(|l| ratio_as_percent(&l.error_ratio)).unwrap_or_default();
    templates::set(f, "compensation.error_percent", percent);
    templates::set(f, "compensation.amount", text(|l| l.amount.abs().to_string()));
    let direction = match line.map(|l| l.amount) {
        Some(a) if a.is_negative() => "退还",
        Some(a) if a.is_positive() => "补缴",
        _ => "",
    };
    templates::set(f, "compensation.direction", direction.to_owned());
    let due = people
        .instalments
        .get(contract_id)
        .into_iter()
        .flatten()
        .filter(|i| i.kind == loupan_domain::sales::TermKind::Compensation)
        .map(|i| i.due_date)
        .max();
    templates::set(f, "compensation.due_on", due.map(|d| d.to_string()).unwrap_or_default());
    templates::set(f, "compensation.rescission", text(|l| if l.rescission_right { "是" } else { "否" }.to_owned()));
}

/// `-0.0500` (a ratio with four places) as `-5.00%`.
fn ratio_as_percent(ratio: &str) -> Option<String> {
    let (negative, digits) = ratio.strip_prefix('-').map_or((false, ratio), |d| (true, d));
    let (whole, frac) = digits.split_once('.')?;
    if frac.len() != 4 || !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Ten-thousandths of one are hundredths of a percent.
    let value: i64 = format!("{whole}{frac}").parse().ok()?;
    Some(format!("{}%", loupan_domain::Money::from_hundredths(if negative { -value } else { value })))
}

/// What a run of letters merges beyond the project: the customers (and
/// co-buyers) and their agents' names, and the contracts with their buyers
/// and instalments, loaded in one go.
struct People {
    customers: HashMap<CustomerId, store_customers::CustomerRow>,
    agents: HashMap<loupan_domain::ids::UserId, String>,
    contracts: HashMap<ContractId, loupan_store::sales::ContractRow>,
    /// Each contract's buyers, main buyer first.
    buyers: HashMap<ContractId, Vec<CustomerId>>,
    instalments: HashMap<ContractId, Vec<loupan_store::sales::InstalmentRow>>,
    /// Each contract's handover booking token, sealed, once the handover is open.
    handover_tokens: HashMap<ContractId, String>,
    /// Each contract's area compensation once applied to its plan.
    compensations: HashMap<ContractId, loupan_store::aftersales::CompensationRow>,
}

impl People {
    async fn load<C: Connection>(conn: &C, to: &[&Addressee]) -> ServiceResult<People> {
        let contract_ids: Vec<ContractId> = to.iter().filter_map(|a| a.contract_id.clone()).collect();
        let mut contracts = HashMap::new();
        let mut buyers: HashMap<ContractId, Vec<CustomerId>> = HashMap::new();
        let mut instalments: HashMap<ContractId, Vec<_>> = HashMap::new();
        let mut handover_tokens = HashMap::new();
        let mut compensations = HashMap::new();
        if !contract_ids.is_empty() {
            contracts = loupan_store::finance::contracts_by_ids(conn, &contract_ids)
                .await?
                .into_iter()
                .map(|c| (c.id.clone(), c))
                .collect();
            let deal_ids: Vec<&str> = contract_ids.iter().map(ContractId::as_str).collect();
            for b in loupan_store::sales::buyers_of_deals(conn, &deal_ids).await? {
                buyers.entry(ContractId::from(b.deal_id)).or_default().push(b.customer_id);
            }
            for i in loupan_store::finance::instalments_of_contracts(conn, &contract_ids).await? {
                instalments.entry(i.contract_id.clone()).or_default().push(i);
            }
            for chunk in contract_ids.chunks(500) {
                for h in loupan_store::handovers::handovers_of_contracts(conn, chunk).await? {
                    handover_tokens.insert(h.contract_id, h.token_cipher);
                }
            }
            for line in loupan_store::aftersales::lines_of_contracts(conn, &contract_ids).await? {
                if line.applied_contract_id.is_some() {
                    compensations.insert(line.contract_id.clone(), line);
                }
            }
        }
        let mut ids: Vec<CustomerId> = to.iter().map(|a| a.customer_id.clone()).collect();
        ids.extend(buyers.values().flatten().cloned());
        ids.sort();
        ids.dedup();
        let mut customers = HashMap::new();
        for chunk in ids.chunks(500) {
            customers
                .extend(store_customers::customers_by_ids(conn, chunk).await?.into_iter().map(|c| (c.id.clone(), c)));
        }
        let mut owners: Vec<_> = customers.values().map(|c| c.owner_id.clone()).collect();
        owners.sort();
        owners.dedup();
        let agents = loupan_store::users::display_names(conn, &owners).await?.into_iter().collect();
        Ok(People { customers, agents, contracts, buyers, instalments, handover_tokens, compensations })
    }
}

/// Renders a template for `to`; a template that fails here was checked when saved, so it is Loupan's fault.
fn render(template: &TemplateRow, facts: &Facts) -> ServiceResult<String> {
    let text = templates::render(&template.body, facts).map_err(ServiceError::internal)?;
    // Marketing by text message says how to refuse it (PIPL).
    if template.channel == NoticeChannel::Sms && template.kind.is_marketing() && !text.trim_end().ends_with(UNSUBSCRIBE)
    {
        return Ok(format!("{}{UNSUBSCRIBE}", text.trim_end()));
    }
    Ok(text)
}

/// A text message's provider parameters rendered for one recipient.
fn render_params(template: &TemplateRow, facts: &Facts) -> ServiceResult<BTreeMap<String, String>> {
    let Some(params) = template.sms_params.as_deref() else { return Ok(BTreeMap::new()) };
    let params: BTreeMap<String, String> = serde_json::from_str(params).map_err(ServiceError::internal)?;
    params
        .into_iter()
        .map(|(name, text)| Ok((name, templates::render(&text, facts).map_err(ServiceError::internal)?)))
        .collect()
}

/// An e-mail's subject rendered like its body.
fn render_subject(template: &TemplateRow, facts: &Facts) -> ServiceResult<Option<String>> {
    template.subject.as_deref().map(|s| templates::render(s, facts).map_err(ServiceError::internal)).transpose()
}

/// The template rendered for one customer (and contract, for letters about one), as of a date.
pub async fn preview(
    services: &Services,
    actor: &Actor,
    id: &NoticeTemplateId,
    of: &PreviewOf,
) -> ServiceResult<Letter> {
    let (customer_id, contract_id, as_of) = (&of.customer_id, of.contract_id.as_ref(), of.as_of);
    let conn = services.store.conn();
    let template = visible_template(conn, actor, id).await?;
    let details = batch_details(template.kind, &of.details)?;
    let customer = crate::customers::visible(conn, actor, customer_id)
        .await
        .map_err(|e| e.when_absent(|| Invalid::one("customer_id", "unknown_customer").into()))?;
    let as_of = as_of.unwrap_or_else(|| services.clock.today());
    let (mut merge, _) = Merge::load(services, &customer.project_id, as_of, true).await?;
    merge.questionnaire = invitation(services, actor, template.kind, &details, &customer.project_id).await?;
    merge.details = details;
    if template.kind == NoticeKind::Survey {
        merge.details.extend(sample_survey_fields(services));
    }
    let contract_id = match template.kind.subject() {
        Subject::Customer => None,
        Subject::Contract => {
            let chosen = match contract_id {
                Some(c) => Some(c.clone()),
                None => merge.lines.values().find(|l| l.customer_id == *customer_id).map(|l| l.contract_id.clone()),
            };
            match chosen {
                Some(c) if merge.lines.get(&c).is_some_and(|l| l.customer_id == *customer_id) => Some(c),
                _ => return Err(Invalid::one("contract_id", "unknown_contract").into()),
            }
        }
    };
    let to = Addressee { customer_id: customer_id.clone(), contract_id };
    let people = People::load(conn, &[&to]).await?;
    let facts = merge.facts(&people, template.kind, &to).ok_or(ServiceError::NotFound("customer"))?;
    let unit_number = to.contract_id.as_ref().and_then(|c| merge.lines.get(c)).map(|l| l.unit_number.clone());
    let text = render(&template, &facts)?;
    Ok(Letter {
        subject: render_subject(&template, &facts)?,
        sms: sms_count(template.channel, &text),
        text,
        customer_name: templates::text(&facts, "customer", "name").unwrap_or_default().to_owned(),
        customer_id: to.customer_id,
        contract_id: to.contract_id,
        unit_number,
    })
}

/// The template printed for one customer, as `preview` reads it; a letter on
/// a pre-printed form shows the scanned form under the fields.
pub async fn preview_pdf(
    services: &Services,
    actor: &Actor,
    id: &NoticeTemplateId,
    of: &PreviewOf,
) -> ServiceResult<Vec<u8>> {
    let letter = preview(services, actor, id, of).await?;
    printed::print_apart(services, vec![letter.text], true).await
}

/// The calibration page for printing on pre-printed forms: a millimetre grid
/// to read the places of `@at` from, and a bar to check the printer's scale.
pub fn calibration_page(actor: &Actor) -> ServiceResult<Vec<u8>> {
    actor.require(Permission::SendNotices)?;
    Ok(loupan_documents::pdf::calibration_page()?)
}

/// A questionnaire invitation's title, and the link a preview shows in the
/// place of each customer's own; None for other kinds.
async fn invitation(
    services: &Services,
    actor: &Actor,
    kind: NoticeKind,
    details: &BTreeMap<&'static str, String>,
    project: &ProjectId,
) -> ServiceResult<Option<(String, String)>> {
    if kind != NoticeKind::Questionnaire {
        return Ok(None);
    }
    let id = details.get("questionnaire.id").map(String::as_str).unwrap_or_default();
    let conn = services.store.conn();
    let q = crate::questionnaires::responses::for_invitations(conn, actor, id, project).await?;
    Ok(Some((q.title, crate::questionnaires::responses::link_of(services, "…"))))
}

/// Checks a batch and finds its recipients, without sending anything.
async fn plan(
    services: &Services,
    actor: &Actor,
    form: &NewBatch,
) -> ServiceResult<(TemplateRow, Merge, Vec<Addressee>, NaiveDate)> {
    actor.require(Permission::SendNotices)?;
    let conn = services.store.conn();
    let template = visible_template(conn, actor, &form.template_id)
        .await
        .map_err(|e| e.when_absent(|| Invalid::one("template_id", "unknown_template").into()))?;
    if template.superseded_at.is_some() {
        return Err(Invalid::one("template_id", "template_superseded").into());
    }
    if template.kind == NoticeKind::Survey {
        // Each survey is one customer's, sent when its event comes.
        return Err(Invalid::one("template_id", "sent_with_surveys").into());
    }
    if !actor.sees_project(&form.project_id) || store_inventory::find_project(conn, &form.project_id).await?.is_none() {
        return Err(Invalid::one("project_id", "unknown_project").into());
    }
    if template.project_id.as_ref().is_some_and(|p| p != &form.project_id) {
        return Err(Invalid::one("template_id", "template_of_another_project").into());
    }
    if template.kind == NoticeKind::PaymentReminder {
        // Who owes what is finance's to tell.
        actor.require(Permission::ReadFinance)?;
    }
    let details = batch_details(template.kind, &form.details)?;
    let as_of = form.as_of.unwrap_or_else(|| services.clock.today());
    let (mut merge, lines) = Merge::load(services, &form.project_id, as_of, true).await?;
    merge.questionnaire = invitation(services, actor, template.kind, &details, &form.project_id).await?;
    merge.details = details;
    let to = addressees(services, actor, template.kind, &form.project_id, &form.audience, &lines).await?;
    Ok((template, merge, to, as_of))
}

/// How many letters the batch would send, and the first three as they would read.
pub async fn preview_batch(services: &Services, actor: &Actor, form: &NewBatch) -> ServiceResult<BatchPreview> {
    let (template, merge, to, _) = plan(services, actor, form).await?;
    let conn = services.store.conn();
    let skipped = skips(conn, template.kind, template.channel, &to).await?;
    let mut first = Vec::new();
    let shown: Vec<&Addressee> = to.iter().filter(|a| !skipped.contains_key(&a.customer_id)).take(3).collect();
    let people = People::load(conn, &shown).await?;
    for a in shown {
        let Some(facts) = merge.facts(&people, template.kind, a) else { continue };
        first.push(Letter {
            subject: render_subject(&template, &facts)?,
            sms: sms_count(template.channel, &render(&template, &facts)?),
            text: render(&template, &facts)?,
            customer_name: templates::text(&facts, "customer", "name").unwrap_or_default().to_owned(),
            customer_id: a.customer_id.clone(),
            contract_id: a.contract_id.clone(),
            unit_number: a.contract_id.as_ref().and_then(|c| merge.lines.get(c)).map(|l| l.unit_number.clone()),
        });
    }
    let left_out = to.iter().filter(|a| skipped.contains_key(&a.customer_id)).count();
    let why = |reason: &str| to.iter().filter(|a| skipped.get(&a.customer_id) == Some(&reason)).count();
    Ok(BatchPreview {
        count: to.len() - left_out,
        skipped_opted_out: why("opted_out"),
        skipped_no_address: why("no_email") + why("no_phone"),
        first,
    })
}

/// Confirms a batch: its recipients are fixed now, in print order, and the
/// job queue sends them. Nobody to send to is refused (`no_recipients`).
pub async fn create_batch(services: &Services, actor: &Actor, form: NewBatch) -> ServiceResult<Batch> {
    let (template, merge, to, as_of) = plan(services, actor, &form).await?;
    let skipped = skips(services.store.conn(), template.kind, template.channel, &to).await?;
    if to.iter().all(|a| skipped.contains_key(&a.customer_id)) {
        return Err(ServiceError::Conflict("no_recipients"));
    }
    // Refused now rather than failing in the queue.
    Sender::load(services, template.channel).await?;
    let audience = serde_json::to_value(&form.audience).map_err(ServiceError::internal)?;
    let batch = Queued {
        template: &template,
        project_id: &form.project_id,
        audience,
        as_of,
        details: merge.details,
        occasion: None,
    };
    queue_batch(services, actor, batch, to, &skipped)
        .await?
        .ok_or_else(|| ServiceError::internal("a batch without an occasion cannot be a repeat"))
}

/// A batch about to be queued.
pub(crate) struct Queued<'a> {
    template: &'a TemplateRow,
    project_id: &'a ProjectId,
    audience: serde_json::Value,
    as_of: NaiveDate,
    details: BTreeMap<&'static str, String>,
    /// A greeting's occasion key: a second batch with the same key is not made.
    occasion: Option<String>,
}

/// The `survey_notice` job: sends one satisfaction survey's link to its
/// customer with the desk's template (kind `survey`), a notice batch of one
/// named on the survey in the batch's own transaction (so a repeated job
/// finds it and sends nothing twice). Nothing is sent (the desk hands the
/// link over) when the template is gone or another project's, or its channel
/// is not set up: a survey never fails for its notice.
pub(crate) async fn run_survey_job(
    services: &Services,
    job: &loupan_store::jobs::JobRow,
) -> ServiceResult<Option<String>> {
    let payload: serde_json::Value = serde_json::from_str(&job.payload).map_err(ServiceError::internal)?;
    let text = |key: &str| payload.get(key).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    let conn = services.store.conn();
    let Some(survey) = loupan_store::surveys::find_survey(conn, &SurveyId::from(text("survey_id"))).await? else {
        return Ok(None);
    };
    if let Some(batch) = &survey.notice_batch_id {
        return Ok(Some(batch.to_string()));
    }
    let Some(template) = store::current_version(conn, &NoticeTemplateId::from(text("template_id"))).await? else {
        return Ok(None);
    };
    if template.kind != NoticeKind::Survey || template.project_id.as_ref().is_some_and(|p| p != &survey.project_id) {
        return Ok(None);
    }
    if let Err(e) = Sender::load(services, template.channel).await {
        tracing::warn!(survey = %survey.id, channel = %template.channel, error = %e, "survey link not sent: channel not set up");
        return Ok(None);
    }
    let to = vec![Addressee { customer_id: survey.customer_id.clone(), contract_id: None }];
    let skipped = skips(conn, template.kind, template.channel, &to).await?;
    let queued = Queued {
        template: &template,
        project_id: &survey.project_id,
        audience: serde_json::json!({"source": "survey", "survey_id": survey.id}),
        as_of: services.clock.today(),
        details: BTreeMap::from([("survey.id", survey.id.to_string())]),
        // One batch per survey, whichever instance runs the job.
        occasion: Some(format!("survey:{}", survey.id)),
    };
    let mut system = Actor::system("surveys");
    system.display_name = "满意度调查".into();
    let tx = services.store.begin_write().await?;
    let Some(batch) = queue_in(services, &tx, &system, queued, to, &skipped).await? else { return Ok(None) };
    loupan_store::surveys::set_notice_batch(&tx, &survey.id, &batch.id).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(Some(batch.id.to_string()))
}

/// What a survey's notice merges: the customer's link (after the company's
/// address, `LOUPAN_PUBLIC_URL`), its last day and what it asks about.
async fn survey_fields<C: Connection>(
    services: &Services,
    conn: &C,
    id: &str,
) -> ServiceResult<Vec<(&'static str, String)>> {
    let row =
        loupan_store::surveys::find_survey(conn, &SurveyId::from(id)).await?.ok_or(ServiceError::NotFound("survey"))?;
    let token = services.secrets.decrypt(&row.token_cipher)?;
    Ok(survey_facts(services, &token, services.clock.date_of(row.expires_at), row.event))
}

/// `survey_fields` as a template's preview shows them.
fn sample_survey_fields(services: &Services) -> Vec<(&'static str, String)> {
    let last_day = services.clock.today() + chrono::Duration::days(loupan_domain::cases::SURVEY_VALID_DAYS);
    survey_facts(services, "…", last_day, SurveyEvent::CaseClosed)
}

fn survey_facts(
    services: &Services,
    token: &str,
    last_day: NaiveDate,
    event: SurveyEvent,
) -> Vec<(&'static str, String)> {
    let base = services.config.public_url.as_deref().unwrap_or_default().trim_end_matches('/');
    // The words of the company's letters, which are Chinese.
    let about = match event {
        SurveyEvent::CaseClosed => "报事处理",
        SurveyEvent::ContractSigned => "签约服务",
        SurveyEvent::Handover => "交房服务",
    };
    vec![
        ("survey.link", format!("{base}/survey/{token}")),
        ("survey.expires_on", last_day.to_string()),
        ("survey.about", about.to_owned()),
    ]
}

/// Stores a batch with its recipients fixed in the order given (those in
/// `skipped` kept with their reason) and queues its job, in one transaction.
/// None when a batch with the same occasion exists already.
async fn queue_batch(
    services: &Services,
    actor: &Actor,
    q: Queued<'_>,
    to: Vec<Addressee>,
    skipped: &HashMap<CustomerId, &'static str>,
) -> ServiceResult<Option<Batch>> {
    let tx = services.store.begin_write().await?;
    let Some(batch) = queue_in(services, &tx, actor, q, to, skipped).await? else { return Ok(None) };
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(Some(batch))
}

/// `queue_batch` in the caller's transaction (a survey sent as its case closes).
async fn queue_in<C: Connection>(
    services: &Services,
    tx: &C,
    actor: &Actor,
    q: Queued<'_>,
    to: Vec<Addressee>,
    skipped: &HashMap<CustomerId, &'static str>,
) -> ServiceResult<Option<Batch>> {
    let now = services.clock.now();
    let id = NoticeBatchId::from(loupan_store::new_id());
    let row = BatchRow {
        id: id.clone(),
        project_id: q.project_id.clone(),
        template_id: q.template.id.clone(),
        kind: q.template.kind,
        channel: q.template.channel,
        audience: q.audience.to_string(),
        as_of: q.as_of,
        details: if q.details.is_empty() {
            None
        } else {
            Some(serde_json::to_string(&q.details).map_err(ServiceError::internal)?)
        },
        status: BatchStatus::Queued,
        total: i32::try_from(to.len()).map_err(ServiceError::internal)?,
        sent: 0,
        skipped: 0,
        failed: 0,
        output_file_id: None,
        created_by: actor.by(),
        created_by_name: actor.display_name.clone(),
        created_at: now,
        finished_at: None,
        occasion: q.occasion,
    };
    let recipients: Vec<RecipientRow> = to
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            // Who may not be reached is counted, with the reason, not sent to.
            let reason = skipped.get(&a.customer_id).copied();
            Ok(RecipientRow {
                id: NoticeRecipientId::from(loupan_store::new_id()),
                batch_id: id.clone(),
                position: i32::try_from(i).map_err(ServiceError::internal)?,
                customer_id: a.customer_id,
                contract_id: a.contract_id,
                status: if reason.is_some() { RecipientStatus::Skipped } else { RecipientStatus::Pending },
                skip_reason: reason.map(str::to_owned),
                subject: None,
                text: None,
                error: None,
                sent_at: None,
            })
        })
        .collect::<ServiceResult<_>>()?;
    match store::insert_batch(tx, &row).await {
        Ok(()) => {}
        // Another instance (or an earlier run) made this occasion's batch.
        Err(loupan_store::StoreError::Unique(_)) if row.occasion.is_some() => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    store::insert_recipients(tx, &recipients).await?;
    if q.template.kind == NoticeKind::Questionnaire {
        // Each customer's own link, made with the batch.
        let id = q.details.get("questionnaire.id").cloned().unwrap_or_default();
        let questionnaire = crate::questionnaires::responses::for_invitations(tx, actor, &id, q.project_id).await?;
        let pending: Vec<(NoticeRecipientId, CustomerId)> = recipients
            .iter()
            .filter(|r| r.status == RecipientStatus::Pending)
            .map(|r| (r.id.clone(), r.customer_id.clone()))
            .collect();
        crate::questionnaires::responses::links_for_notices(services, tx, actor, &questionnaire, &pending).await?;
    }
    jobs::enqueue(
        tx,
        NewJob {
            kind: JobKind::NoticeBatch,
            payload: serde_json::json!({"batch_id": id}),
            // As soon as the company's clock says (a test's clock too).
            run_at: Some(now),
            unique_key: Some(format!("notice_batch:{id}")),
            max_attempts: 5,
            created_by: Some(actor.by()),
        },
    )
    .await?;
    let batch = batch_of(row)?;
    record(tx, actor, "notice_batch.create", id.as_str(), None, &batch).await?;
    Ok(Some(batch))
}

async fn visible_batch<C: Connection>(conn: &C, actor: &Actor, id: &NoticeBatchId) -> ServiceResult<BatchRow> {
    actor.require(Permission::SendNotices)?;
    match store::find_batch(conn, id).await? {
        Some(b) if actor.sees_project(&b.project_id) => Ok(b),
        _ => Err(ServiceError::NotFound("notice_batch")),
    }
}

pub async fn get_batch(services: &Services, actor: &Actor, id: &NoticeBatchId) -> ServiceResult<Batch> {
    batch_of(visible_batch(services.store.conn(), actor, id).await?)
}

/// The latest hundred batches of the actor's projects.
pub async fn list_batches(services: &Services, actor: &Actor) -> ServiceResult<Vec<Batch>> {
    actor.require(Permission::SendNotices)?;
    store::batches(services.store.conn(), actor.visible_projects(), 100).await?.into_iter().map(batch_of).collect()
}

/// The merged letters of a finished batch, as a PDF.
pub async fn batch_letters(
    services: &Services,
    actor: &Actor,
    id: &NoticeBatchId,
) -> ServiceResult<crate::platform::files::FileBody> {
    let batch = visible_batch(services.store.conn(), actor, id).await?;
    let key = batch.output_file_id.ok_or(ServiceError::Conflict("batch_not_done"))?;
    services
        .files
        .get(&key)
        .await
        .map_err(|e| ServiceError::internal(format!("the letters of batch {id} at {key}: {e}")))
}

/// The batch's letters as a zip with one PDF per customer (a customer with
/// two contracts gets both letters in one file), named in print order:
/// `0001-李雷.pdf`. 409 `batch_not_done` until the letters are printed.
pub async fn batch_letters_zip(services: &Services, actor: &Actor, id: &NoticeBatchId) -> ServiceResult<Vec<u8>> {
    let conn = services.store.conn();
    let batch = visible_batch(conn, actor, id).await?;
    if batch.output_file_id.is_none() {
        return Err(ServiceError::Conflict("batch_not_done"));
    }
    let letters: Vec<Recipient> = batch_recipients(services, actor, id)
        .await?
        .into_iter()
        .filter(|r| r.status == RecipientStatus::Sent)
        .collect();
    let rows: HashMap<NoticeRecipientId, String> =
        store::recipients(conn, id).await?.into_iter().filter_map(|r| Some((r.id, r.text?))).collect();
    // Customers in the order their first letter prints.
    let mut order: Vec<(&CustomerId, &str)> = Vec::new();
    for r in &letters {
        if !order.iter().any(|(c, _)| *c == &r.customer_id) {
            order.push((&r.customer_id, &r.customer_name));
        }
    }
    // Each customer's letters, and the file they go into.
    let mut groups: Vec<(String, Vec<String>)> = Vec::with_capacity(order.len());
    for (i, (customer, name)) in order.into_iter().enumerate() {
        let texts = letters.iter().filter(|r| &r.customer_id == customer).filter_map(|r| rows.get(&r.id)).cloned();
        // A name is a file name here: nothing that could climb out of the archive's folder.
        let safe: String = name.chars().map(|c| if c.is_alphanumeric() || c == '·' { c } else { '_' }).collect();
        groups.push((format!("{:04}-{safe}.pdf", i + 1), texts.collect()));
    }
    let mut all: Vec<&str> = Vec::new();
    for (_, texts) in &groups {
        all.extend(texts.iter().map(String::as_str));
    }
    let pictures = printed::Pictures::of(services, all).await?;
    let files = tokio::task::spawn_blocking(move || {
        groups
            .into_iter()
            .map(|(file, texts)| Ok((file, printed::print(&texts, &pictures, false)?)))
            .collect::<ServiceResult<Vec<_>>>()
    })
    .await
    .map_err(ServiceError::internal)??;
    loupan_documents::zip::write(&files).map_err(ServiceError::internal)
}

/// One recipient of a batch, as its sending log lists them.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Recipient {
    /// The sending (`GET /api/v1/notices/sendings/{id}`).
    pub id: NoticeRecipientId,
    pub customer_id: CustomerId,
    pub customer_name: String,
    pub contract_id: Option<ContractId>,
    pub status: RecipientStatus,
    /// Why it was not sent (`opted_out`, `no_email`, `no_longer_applies`).
    pub skip_reason: Option<String>,
    /// A failed e-mail: the server's answer.
    pub error: Option<String>,
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The batch's sending log, in print order.
pub async fn batch_recipients(services: &Services, actor: &Actor, id: &NoticeBatchId) -> ServiceResult<Vec<Recipient>> {
    let conn = services.store.conn();
    visible_batch(conn, actor, id).await?;
    let rows = store::recipients(conn, id).await?;
    let mut ids: Vec<CustomerId> = rows.iter().map(|r| r.customer_id.clone()).collect();
    ids.sort();
    ids.dedup();
    let mut names: HashMap<CustomerId, String> = HashMap::new();
    for chunk in ids.chunks(500) {
        for c in store_customers::customers_by_ids(conn, chunk).await? {
            names.insert(c.id, c.name);
        }
    }
    Ok(rows
        .into_iter()
        .map(|r| Recipient {
            customer_name: names.get(&r.customer_id).cloned().unwrap_or_default(),
            id: r.id,
            customer_id: r.customer_id,
            contract_id: r.contract_id,
            status: r.status,
            skip_reason: r.skip_reason,
            error: r.error,
            sent_at: r.sent_at,
        })
        .collect())
}

/// The sending log as a spreadsheet: each recipient in print order, what
/// became of them and why, with the counts below.
pub fn recipients_xlsx(batch: &Batch, recipients: &[Recipient], say: Say<'_>) -> ServiceResult<Vec<u8>> {
    use loupan_documents::xlsx::{Cell, write_table};
    let headers: Vec<String> =
        ["notices.customer", "notices.status", "notices.reason", "notices.sent_at"].iter().map(|k| say(k)).collect();
    let mut rows: Vec<Vec<Cell>> = recipients
        .iter()
        .map(|r| {
            vec![
                Cell::Text(r.customer_name.clone()),
                Cell::Text(say(&format!("recipient_status.{}", r.status.name()))),
                r.skip_reason.as_ref().map_or(Cell::Empty, |why| Cell::Text(say(&format!("skip_reason.{why}")))),
                r.sent_at.map_or(Cell::Empty, |t| Cell::Text(t.to_rfc3339())),
            ]
        })
        .collect();
    for (key, n) in [("notices.sent", batch.sent), ("notices.skipped", batch.skipped), ("notices.total", batch.total)] {
        rows.push(vec![Cell::Text(say(key)), Cell::Number(f64::from(n)), Cell::Empty, Cell::Empty]);
    }
    write_table(&say("notices.log"), &headers, &rows).map_err(ServiceError::internal)
}

/// One thing sent to a customer, as their timeline links to it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Sending {
    pub id: NoticeRecipientId,
    pub batch_id: NoticeBatchId,
    pub customer_id: CustomerId,
    pub contract_id: Option<ContractId>,
    pub kind: NoticeKind,
    pub channel: NoticeChannel,
    pub template_name: String,
    pub template_version: i32,
    pub status: RecipientStatus,
    /// An e-mail's subject as sent.
    pub subject: Option<String>,
    /// Exactly what was sent.
    pub text: Option<String>,
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// What was sent to a customer, for whoever may see the customer.
pub async fn sending(services: &Services, actor: &Actor, id: &NoticeRecipientId) -> ServiceResult<Sending> {
    actor.require(Permission::ReadCustomers)?;
    let conn = services.store.conn();
    let r = store::find_recipient(conn, id).await?.ok_or(ServiceError::NotFound("sending"))?;
    crate::customers::visible(conn, actor, &r.customer_id)
        .await
        .map_err(|e| e.when_absent(|| ServiceError::NotFound("sending")))?;
    let batch = store::find_batch(conn, &r.batch_id).await?.ok_or(ServiceError::NotFound("sending"))?;
    let template = store::find_template(conn, &batch.template_id).await?.ok_or(ServiceError::NotFound("sending"))?;
    Ok(Sending {
        id: r.id,
        batch_id: r.batch_id,
        customer_id: r.customer_id,
        contract_id: r.contract_id,
        kind: batch.kind,
        channel: batch.channel,
        template_name: template.name,
        template_version: template.version,
        status: r.status,
        subject: r.subject,
        text: r.text,
        sent_at: r.sent_at,
    })
}

/// Recipients handled per transaction: small enough that a crash repeats none
/// (each is settled with its timeline entry), large enough to be quick.
const CHUNK: u64 = 50;

/// Runs a batch (the `notice_batch` job): every pending recipient is rendered
/// and settled with its timeline entry in one transaction, so a run resumed
/// after a crash picks up exactly where the last one stopped; then the
/// letters are merged into one PDF in print order.
pub(crate) async fn run_batch(
    services: &Services,
    job: &loupan_store::jobs::JobRow,
    progress: &Progress<'_>,
) -> Result<Option<String>, String> {
    let id: NoticeBatchId = serde_json::from_str::<serde_json::Value>(&job.payload)
        .ok()
        .and_then(|p| p.get("batch_id").and_then(|b| b.as_str()).map(NoticeBatchId::from))
        .ok_or("payload without batch_id")?;
    run(services, &id, progress).await.map_err(|e| e.chain())
}

async fn run(services: &Services, id: &NoticeBatchId, progress: &Progress<'_>) -> ServiceResult<Option<String>> {
    let conn = services.store.conn();
    let batch = store::find_batch(conn, id).await?.ok_or(ServiceError::NotFound("notice_batch"))?;
    if batch.status == BatchStatus::Done {
        return Ok(Some(batch.sent.to_string()));
    }
    store::set_batch_status(conn, id, BatchStatus::Running).await?;
    let template =
        store::find_template(conn, &batch.template_id).await?.ok_or(ServiceError::NotFound("notice_template"))?;
    let with_ledger = batch.kind.subject() == Subject::Contract;
    let (mut merge, _) = Merge::load(services, &batch.project_id, batch.as_of, with_ledger).await?;
    merge.details = stored_details(&batch)?;
    if batch.kind == NoticeKind::Survey {
        // A survey's batch is one customer's: its link and dates are the batch's.
        let survey = detail_of(&batch, "survey.id")?.unwrap_or_default();
        merge.details.extend(survey_fields(services, conn, &survey).await?);
    }
    if batch.kind == NoticeKind::Questionnaire {
        let id = merge.details.get("questionnaire.id").cloned().unwrap_or_default();
        let title = loupan_store::questionnaires::find_questionnaire(conn, &QuestionnaireId::from(id.as_str()))
            .await?
            .map(|q| q.title)
            .unwrap_or_default();
        merge.questionnaire = Some((title, String::new()));
    }
    let sender = Sender::load(services, batch.channel).await?;
    let total = usize::try_from(batch.total).unwrap_or(0);
    let mut done = total.saturating_sub(store::count_pending(conn, id).await?);
    loop {
        let pending = store::pending_recipients(conn, id, CHUNK).await?;
        if pending.is_empty() {
            break;
        }
        let to: Vec<Addressee> = pending
            .iter()
            .map(|r| Addressee { customer_id: r.customer_id.clone(), contract_id: r.contract_id.clone() })
            .collect();
        let people = People::load(conn, &to.iter().collect::<Vec<_>>()).await?;
        let links = match batch.kind {
            NoticeKind::Questionnaire => {
                let ids: Vec<NoticeRecipientId> = pending.iter().map(|r| r.id.clone()).collect();
                crate::questionnaires::responses::links_of_recipients(services, conn, &ids).await?
            }
            _ => HashMap::new(),
        };
        let mut settled = Vec::with_capacity(pending.len());
        for (mut r, to) in pending.into_iter().zip(&to) {
            let now = services.clock.now();
            // Consent and addresses are read again: they may have changed since the batch was confirmed.
            let customer = people.customers.get(&r.customer_id);
            let mut facts = merge.facts(&people, template.kind, to);
            if let (Some(f), Some(link)) = (facts.as_mut(), links.get(&r.id)) {
                templates::set(f, "questionnaire.link", link.clone());
            }
            match (customer.and_then(|c| skip_reason(batch.kind, batch.channel, c)), customer.zip(facts)) {
                (Some(reason), _) => {
                    r.status = RecipientStatus::Skipped;
                    r.skip_reason = Some(reason.into());
                }
                (None, None) => {
                    r.status = RecipientStatus::Skipped;
                    r.skip_reason = Some("no_longer_applies".into());
                }
                (None, Some((customer, facts))) => {
                    r.subject = render_subject(&template, &facts)?;
                    r.text = Some(render(&template, &facts)?);
                    r.status = RecipientStatus::Sent;
                    r.sent_at = Some(now);
                    if let Some(outcome) = sender.deliver(services, &template, customer, &facts, &r, now).await? {
                        match outcome {
                            Ok(()) => {}
                            Err(SendFailure::Refused(answer)) => {
                                r.status = RecipientStatus::Failed;
                                r.error = Some(answer);
                            }
                            Err(SendFailure::Later(answer)) => {
                                // What went is kept; the job queue tries the rest again later.
                                settle(services, &batch, &template, std::mem::take(&mut settled)).await?;
                                return Err(ServiceError::internal(format!("sending {}: {answer}", batch.channel)));
                            }
                        }
                        // Recorded as soon as the server took it, so that a crash repeats at most this one.
                        settled.push(r);
                        done += settle(services, &batch, &template, std::mem::take(&mut settled)).await?;
                        continue;
                    }
                }
            }
            settled.push(r);
        }
        done += settle(services, &batch, &template, settled).await?;
        let left = store::count_pending(conn, id).await?;
        progress.set(done, total.max(done + left)).await;
    }
    let pdf = if batch.channel == NoticeChannel::Letter { printed::print_batch(services, id).await? } else { None };
    let output = match pdf {
        None => None,
        Some(pdf) => {
            let key = format!("notices/{id}.pdf");
            services
                .files
                .put(&key, Box::pin(std::io::Cursor::new(pdf)))
                .await
                .map_err(|e| ServiceError::internal(format!("storing the letters of batch {id}: {e}")))?;
            Some(key)
        }
    };
    let tx = services.store.begin_write().await?;
    store::finish_batch(&tx, id, output.as_deref(), services.clock.now()).await?;
    let done = store::find_batch(&tx, id).await?.ok_or(ServiceError::NotFound("notice_batch"))?;
    crate::platform::webhooks::publish(
        &tx,
        "notice.sent",
        serde_json::json!({"batch_id": id, "project_id": done.project_id, "kind": done.kind, "channel": done.channel,
            "sent": done.sent, "skipped": done.skipped, "failed": done.failed}),
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(Some(done.sent.to_string()))
}

/// Records what became of `rows` in one transaction, with a timeline entry
/// for each one sent; how many were still pending (a row another run already
/// settled is left as it is).
async fn settle(
    services: &Services,
    batch: &BatchRow,
    template: &TemplateRow,
    rows: Vec<RecipientRow>,
) -> ServiceResult<usize> {
    if rows.is_empty() {
        return Ok(0);
    }
    let system = Actor::system("notices");
    let tx = services.store.begin_write().await?;
    let mut settled = 0;
    for r in &rows {
        if !store::settle_recipient(&tx, r).await? {
            continue;
        }
        settled += 1;
        if r.status != RecipientStatus::Sent {
            continue;
        }
        let facts = [
            ("notice_kind", batch.kind.name()),
            ("notice_channel", batch.channel.name()),
            ("template", template.name.as_str()),
            ("version", &template.version.to_string()),
            ("sending", r.id.as_str()),
        ];
        let at = r.sent_at.unwrap_or_else(|| services.clock.now());
        let event = crate::customers::timeline_row(&r.customer_id, (&system, at), CustomerEventKind::Notice, &facts)?;
        store_customers::insert_event(&tx, &event).await?;
    }
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(settled)
}

/// How a batch's notices leave: printed (merged at the end), by e-mail, by text message.
enum Sender {
    Letters,
    Mail(Box<mail::Mailer>),
    Sms(Box<sms::Gateway>),
}

impl Sender {
    /// The channel's sender; `smtp_not_configured` / `sms_not_configured` until set up.
    async fn load(services: &Services, channel: NoticeChannel) -> ServiceResult<Sender> {
        Ok(match channel {
            NoticeChannel::Letter => Sender::Letters,
            NoticeChannel::Email => Sender::Mail(Box::new(mail::Mailer::load(services).await?)),
            NoticeChannel::Sms => Sender::Sms(Box::new(sms::Gateway::load(services).await?)),
        })
    }

    /// Sends one recipient's notice as rendered in `r`; None for a printed
    /// letter, which goes into the batch's PDF.
    async fn deliver(
        &self,
        services: &Services,
        template: &TemplateRow,
        customer: &store_customers::CustomerRow,
        facts: &Facts,
        r: &RecipientRow,
        now: chrono::DateTime<chrono::Utc>,
    ) -> ServiceResult<Option<Result<(), SendFailure>>> {
        let body = r.text.as_deref().unwrap_or_default();
        Ok(Some(match self {
            Sender::Letters => return Ok(None),
            Sender::Mail(mailer) => {
                // The letter attached as a PDF when the template asks.
                let pdf = if template.attach_pdf {
                    let bytes = printed::print_apart(services, vec![body.to_owned()], false).await?;
                    Some((format!("{}.pdf", template.name), bytes))
                } else {
                    None
                };
                // The words of the letter; marks that only mean something on paper left out.
                let text = printed::plain(body);
                let unsubscribe = if template.kind.is_marketing() {
                    crate::customers::unsubscribe_link(services, &customer.id)?
                } else {
                    None
                };
                let message = mail::Mail {
                    id: r.id.as_str(),
                    to_name: &customer.name,
                    to_address: customer.email.as_deref().unwrap_or_default().trim(),
                    subject: r.subject.as_deref().unwrap_or(&template.name),
                    body: &text,
                    pdf,
                    unsubscribe: unsubscribe.as_deref(),
                };
                mailer.send(message).await.map(drop)
            }
            Sender::Sms(gateway) => {
                let phone = PhoneNumber::parse(&customer.phone).map(|p| p.display()).unwrap_or_default();
                let params = render_params(template, facts)?;
                let message = sms::Sms {
                    phone: &phone,
                    text: body,
                    template_code: template.sms_template_code.as_deref(),
                    params: &params,
                };
                gateway.send(message, now).await.map(drop)
            }
        }))
    }
}

/// Sample templates a new installation starts with (demo data).
pub fn sample_templates() -> BTreeMap<NoticeKind, (&'static str, &'static str)> {
    BTreeMap::from([
        (
            NoticeKind::PaymentReminder,
            (
                "催款通知书",
                "@header {{ company.name }} · {{ project.name }} 营销中心\n@footer 第 {page} 页 共 {pages} 页\n@logo 25 right\n# 催款通知书\n\n尊敬的 {{ contract.buyers }} 先生/女士：\n\n您购买的{{ project.name }}{{ building.name }} {{ unit.number }} 号房（合同编号 {{ contract.number }}），截至 {{ arrears.as_of|cn_date }}，已逾期应付款人民币 {{ arrears.overdue|money }} 元（大写：{{ arrears.overdue|capital }}），最早一期自 {{ arrears.overdue_since|cn_date }} 起逾期 {{ arrears.days_overdue }} 天。您的付款方式为{{ plan.name }}，各期款项如下：\n\n| 期次 | 款项 | 应付日期 | 应付金额 | 已付金额 | 未付金额 |\n|---|---|---|---:|---:|---:|\n{% for row in plan.instalments %}| {{ row.seq }} | {{ row.name }} | {{ row.due_on|cn_date }} | {{ row.amount|money }} | {{ row.paid|money }} | {{ row.unpaid|money }} |\n{% endfor %}\n请您于收到本通知之日起七日内到售楼处财务室办理缴款；如已缴付，请忽略本通知。\n\n置业顾问：{{ agent.name }}\n\n@right {{ company.name }}\n@right {{ today|cn_date }}\n@center 地址：{{ company.address }}　电话：{{ company.phone }}",
            ),
        ),
        (
            NoticeKind::HandoverNotice,
            (
                "交房通知书",
                "@logo 25 right\n# 交房通知书\n\n尊敬的 {{ contract.buyers }} 先生/女士：\n\n您购买的{{ project.name }}{{ building.name }} {{ unit.number }} 号房（合同编号 {{ contract.number }}）已具备交付条件。请于 {{ handover.starts_on|cn_date }} 至 {{ handover.ends_on|cn_date }} 期间，携带身份证、购房合同及付款凭证，到{{ handover.place }}办理收房手续。\n\n@right {{ company.name }} {{ project.name }} 客户服务中心\n@right {{ today|cn_date }}",
            ),
        ),
        (
            NoticeKind::Questionnaire,
            (
                "问卷邀请",
                "@logo 25 right\n尊敬的 {{ customer.name }}：\n\n感谢您选择{{ project.name }}。诚邀您花两分钟填写《{{ questionnaire.title }}》，您的意见将帮助我们做得更好。请用手机打开以下专属链接（仅限本人填写一次）：\n\n{{ questionnaire.link }}\n\n@right {{ company.name }} 客户服务中心\n@right {{ today|cn_date }}",
            ),
        ),
        (
            NoticeKind::Survey,
            (
                "满意度调查",
                "@logo 25 right\n尊敬的 {{ customer.name }}：\n\n感谢您对{{ project.name }}的信任。为了解您对我们{{ survey.about }}的感受，请在 {{ survey.expires_on|cn_date }} 前用手机打开以下专属链接，为我们打分（仅限本人填写一次）：\n\n{{ survey.link }}\n\n@right {{ company.name }} 客户服务中心\n@right {{ today|cn_date }}",
            ),
        ),
    ])
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_error_ratio_reads_as_a_percent() {
        assert_eq!(super::ratio_as_percent("-0.0500").as_deref(), Some("-5.00%"));
        assert_eq!(super::ratio_as_percent("0.0233").as_deref(), Some("2.33%"));
        assert_eq!(super::ratio_as_percent("0.05"), None);
    }
}
