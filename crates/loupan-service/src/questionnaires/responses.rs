//! Answering questionnaires: on the sales office's tablet by an agent for a
//! customer of the project, or by the customer through a personal link
//! (`/questionnaire/<token>`, no login, one answer, `LINK_DAYS`). The token
//! is kept only as its SHA-256 and encrypted (to show the link again), as for
//! satisfaction surveys. An answer goes onto the customer's timeline.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use loupan_domain::customers::CustomerEventKind;
use loupan_domain::ids::{CustomerId, ProjectId, QuestionnaireId, ResponseId, UserId};
use loupan_domain::questionnaires::{Question, ResponseChannel, check_answers};
use loupan_domain::{Invalid, Permission};
use loupan_store::Connection;
use loupan_store::questionnaires::{self as store, AnswerRow, QuestionnaireRow, ResponseFilter, ResponseRow};
use serde::Serialize;

use crate::{Actor, ServiceError, ServiceResult, Services};

/// How long a personal link may be answered.
pub const LINK_DAYS: i64 = 30;

/// A response with its answers (values per question key).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Response {
    pub id: ResponseId,
    pub questionnaire_id: QuestionnaireId,
    /// The version answered (or to be answered, for a link not answered yet).
    pub version: i32,
    pub project_id: ProjectId,
    pub customer_id: CustomerId,
    pub customer_name: String,
    pub channel: ResponseChannel,
    /// Who filled it in on the tablet.
    pub answered_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub answered_at: Option<DateTime<Utc>>,
    pub answers: BTreeMap<String, Vec<String>>,
    /// `/questionnaire/<token>` while the link may be answered, for those who manage questionnaires.
    pub link: Option<String>,
}

/// What a tablet sends: the customer and the answers (values per question key).
#[derive(Debug, Clone, Default)]
pub struct ResponseForm {
    pub customer_id: Option<String>,
    pub answers: BTreeMap<String, Vec<String>>,
}

fn view(row: ResponseRow, customer_name: String, answers: BTreeMap<String, Vec<String>>) -> Response {
    Response {
        id: row.id,
        questionnaire_id: row.questionnaire_id,
        version: row.version,
        project_id: row.project_id,
        customer_id: row.customer_id,
        customer_name,
        channel: row.channel,
        answered_by: row.answered_by,
        created_at: row.created_at,
        expires_at: row.expires_at,
        answered_at: row.answered_at,
        answers,
        link: None,
    }
}

fn answer_rows(row: &ResponseRow, kept: &BTreeMap<String, Vec<String>>) -> Vec<AnswerRow> {
    kept.iter()
        .flat_map(|(key, values)| {
            values.iter().enumerate().map(move |(i, v)| AnswerRow {
                response_id: row.id.clone(),
                question_key: key.clone(),
                position: i as i32,
                questionnaire_id: row.questionnaire_id.clone(),
                value: v.clone(),
            })
        })
        .collect()
}

/// A customer of the questionnaire's project whom the actor may see.
async fn customer_of<C: Connection>(
    conn: &C,
    actor: &Actor,
    questionnaire: &QuestionnaireRow,
    customer_id: Option<&str>,
) -> ServiceResult<loupan_store::customers::CustomerRow> {
    let Some(id) = CustomerId::given(customer_id) else {
        return Err(Invalid::one("customer_id", "required").into());
    };
    let customer = match crate::customers::visible(conn, actor, &id).await {
        Ok(c) => c,
        Err(ServiceError::NotFound(_)) => return Err(Invalid::one("customer_id", "unknown_customer").into()),
        Err(e) => return Err(e),
    };
    if customer.project_id != questionnaire.project_id {
        return Err(Invalid::one("customer_id", "customer_of_another_project").into());
    }
    Ok(customer)
}

/// Writes the answers of a response and puts them on the customer's timeline.
async fn write_answers<C: Connection>(
    services: &Services,
    conn: &C,
    by: &Actor,
    questionnaire: &QuestionnaireRow,
    row: &ResponseRow,
    kept: &BTreeMap<String, Vec<String>>,
) -> ServiceResult<()> {
    store::insert_answers(conn, &answer_rows(row, kept)).await?;
    crate::customers::add_event(
        conn,
        (by, services.clock.now()),
        &row.customer_id,
        CustomerEventKind::Questionnaire,
        &[("title", &questionnaire.title), ("channel", row.channel.name())],
    )
    .await
}

/// An agent fills the questionnaire in with a customer (the tablet).
pub async fn answer(
    services: &Services,
    actor: &Actor,
    id: &QuestionnaireId,
    form: ResponseForm,
) -> ServiceResult<Response> {
    actor.require(Permission::AnswerQuestionnaires)?;
    let tx = services.store.begin_write().await?;
    let questionnaire = super::visible(&tx, actor, id).await?;
    if !questionnaire.open {
        return Err(ServiceError::Conflict("questionnaire_closed"));
    }
    let customer = customer_of(&tx, actor, &questionnaire, form.customer_id.as_deref()).await?;
    let questions = super::current_questions(&tx, &questionnaire).await?;
    let kept = check_answers(&questions, &form.answers)?;
    let now = services.clock.now();
    let row = ResponseRow {
        id: ResponseId::from(loupan_store::new_id()),
        questionnaire_id: questionnaire.id.clone(),
        version: questionnaire.version,
        project_id: questionnaire.project_id.clone(),
        customer_id: customer.id.clone(),
        channel: ResponseChannel::Tablet,
        answered_by: actor.user_id.clone(),
        token_hash: None,
        token_cipher: None,
        notice_recipient_id: None,
        created_by: actor.by(),
        created_at: now,
        expires_at: None,
        answered_at: Some(now),
    };
    store::insert_response(&tx, &row).await?;
    write_answers(services, &tx, actor, &questionnaire, &row, &kept).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(view(row, customer.name, kept))
}

/// A link just made, with its address (shown to the desk, carried by the
/// `questionnaire.sent` webhook to an SMS or WeChat gateway).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SentLink {
    pub response: Response,
    /// `/questionnaire/<token>`, to put after the company's address.
    pub link: String,
}

/// Makes a personal link for a customer of the project to answer.
pub async fn send_link(
    services: &Services,
    actor: &Actor,
    id: &QuestionnaireId,
    customer_id: Option<&str>,
) -> ServiceResult<SentLink> {
    actor.require(Permission::ManageQuestionnaires)?;
    let tx = services.store.begin_write().await?;
    let questionnaire = super::visible(&tx, actor, id).await?;
    if !questionnaire.open {
        return Err(ServiceError::Conflict("questionnaire_closed"));
    }
    let customer = customer_of(&tx, actor, &questionnaire, customer_id).await?;
    let token = crate::random_hex(16)?;
    let now = services.clock.now();
    let row = ResponseRow {
        id: ResponseId::from(loupan_store::new_id()),
        questionnaire_id: questionnaire.id.clone(),
        version: questionnaire.version,
        project_id: questionnaire.project_id.clone(),
        customer_id: customer.id.clone(),
        channel: ResponseChannel::Link,
        answered_by: None,
        token_hash: Some(crate::sha256_hex(token.as_bytes())),
        token_cipher: Some(services.secrets.encrypt(&token)?),
        notice_recipient_id: None,
        created_by: actor.by(),
        created_at: now,
        expires_at: Some(now + Duration::days(LINK_DAYS)),
        answered_at: None,
    };
    store::insert_response(&tx, &row).await?;
    let link = link_of(services, &token);
    let payload = serde_json::json!({
        "response_id": row.id, "questionnaire_id": row.questionnaire_id, "project_id": row.project_id,
        "customer_id": row.customer_id, "title": questionnaire.title, "link": link, "expires_at": row.expires_at,
    });
    crate::platform::webhooks::publish(&tx, "questionnaire.sent", payload).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    let mut response = view(row, customer.name, BTreeMap::new());
    response.link = Some(link.clone());
    Ok(SentLink { response, link })
}

/// What the customer sees behind a link: the questionnaire, nothing about them.
#[derive(Debug, Clone, Serialize)]
pub struct LinkQuestionnaire {
    pub project_name: String,
    pub title: String,
    pub intro: Option<String>,
    pub questions: Vec<Question>,
    pub expires_at: Option<DateTime<Utc>>,
}

async fn by_token<C: Connection>(
    services: &Services,
    conn: &C,
    token: &str,
) -> ServiceResult<(ResponseRow, QuestionnaireRow)> {
    // Tokens are 32 hex digits; anything else is no questionnaire, without a lookup.
    if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ServiceError::NotFound("questionnaire"));
    }
    let row = store::find_response_by_token_hash(conn, &crate::sha256_hex(token.as_bytes()))
        .await?
        .ok_or(ServiceError::NotFound("questionnaire"))?;
    if row.answered_at.is_some() {
        return Err(ServiceError::Conflict("questionnaire_answered"));
    }
    if row.expires_at.is_some_and(|e| e <= services.clock.now()) {
        return Err(ServiceError::Conflict("questionnaire_expired"));
    }
    let questionnaire =
        store::find_questionnaire(conn, &row.questionnaire_id).await?.ok_or(ServiceError::NotFound("questionnaire"))?;
    if !questionnaire.open {
        return Err(ServiceError::Conflict("questionnaire_closed"));
    }
    Ok((row, questionnaire))
}

/// The questionnaire behind a link (its current version): 404 unknown, 409
/// `questionnaire_answered`, `questionnaire_expired` or `questionnaire_closed`.
pub async fn open(services: &Services, token: &str) -> ServiceResult<LinkQuestionnaire> {
    let conn = services.store.conn();
    let (row, questionnaire) = by_token(services, conn, token).await?;
    let project = loupan_store::inventory::find_project(conn, &questionnaire.project_id).await?;
    Ok(LinkQuestionnaire {
        project_name: project.map(|p| p.name).unwrap_or_default(),
        questions: super::current_questions(conn, &questionnaire).await?,
        title: questionnaire.title,
        intro: questionnaire.intro,
        expires_at: row.expires_at,
    })
}

/// The customer's answers through the link, once.
pub async fn answer_link(
    services: &Services,
    token: &str,
    answers: BTreeMap<String, Vec<String>>,
) -> ServiceResult<()> {
    let tx = services.store.begin_write().await?;
    let (row, questionnaire) = by_token(services, &tx, token).await?;
    let questions = super::current_questions(&tx, &questionnaire).await?;
    let kept = check_answers(&questions, &answers)?;
    let now = services.clock.now();
    if !store::mark_answered(&tx, &row.id, questionnaire.version, now).await? {
        return Err(ServiceError::Conflict("questionnaire_answered"));
    }
    let mut by = Actor::system("questionnaire");
    by.display_name = "问卷".into();
    let row = ResponseRow { version: questionnaire.version, answered_at: Some(now), ..row };
    write_answers(services, &tx, &by, &questionnaire, &row, &kept).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(())
}

/// A questionnaire's responses (at most `limit`, latest first) with their
/// answers: for those who read questionnaires.
pub async fn list(
    services: &Services,
    actor: &Actor,
    id: &QuestionnaireId,
    customer: Option<CustomerId>,
    limit: u64,
) -> ServiceResult<Vec<Response>> {
    let filter = ResponseFilter { customer, ..ResponseFilter::default() };
    actor.require(Permission::ReadQuestionnaires)?;
    let conn = services.store.conn();
    super::visible(conn, actor, id).await?;
    let rows = store::list_responses(conn, id, &filter, limit.min(500), 0).await?;
    let ids: Vec<ResponseId> = rows.iter().map(|r| r.id.clone()).collect();
    let mut answers: BTreeMap<ResponseId, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for a in store::answers_of(conn, &ids).await? {
        answers.entry(a.response_id).or_default().entry(a.question_key).or_default().push(a.value);
    }
    let customer_ids: Vec<CustomerId> = rows.iter().map(|r| r.customer_id.clone()).collect();
    let names: BTreeMap<CustomerId, String> = loupan_store::customers::customers_by_ids(conn, &customer_ids)
        .await?
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect();
    let now = services.clock.now();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let link = match (&r.token_cipher, r.answered_at, r.expires_at) {
            (Some(cipher), None, Some(expires)) if expires > now && actor.can(Permission::ManageQuestionnaires) => {
                Some(format!("/questionnaire/{}", services.secrets.decrypt(cipher)?))
            }
            _ => None,
        };
        let name = names.get(&r.customer_id).cloned().unwrap_or_default();
        let given = answers.remove(&r.id).unwrap_or_default();
        out.push(Response { link, ..view(r, name, given) });
    }
    Ok(out)
}

/// A personal link as the customer follows it: after the company's public
/// address when one is configured (`LOUPAN_PUBLIC_URL`), else from the root.
pub fn link_of(services: &Services, token: &str) -> String {
    let base = services.config.public_url.as_deref().unwrap_or_default().trim_end_matches('/');
    format!("{base}/questionnaire/{token}")
}

/// The questionnaire a batch of invitations carries (`details.questionnaire.id`):
/// one of the batch's project that the actor manages and that takes answers.
pub(crate) async fn for_invitations<C: Connection>(
    conn: &C,
    actor: &Actor,
    id: &str,
    project: &ProjectId,
) -> ServiceResult<QuestionnaireRow> {
    const FIELD: &str = "details.questionnaire.id";
    if !actor.can(Permission::ManageQuestionnaires) {
        return Err(Invalid::one(FIELD, "unknown_questionnaire").into());
    }
    let row = match store::find_questionnaire(conn, &QuestionnaireId::from(id)).await? {
        Some(q) if &q.project_id == project && actor.sees_project(project) => q,
        _ => return Err(Invalid::one(FIELD, "unknown_questionnaire").into()),
    };
    if !row.open {
        return Err(Invalid::one(FIELD, "questionnaire_not_open").into());
    }
    Ok(row)
}

/// Makes each recipient's personal link in the batch's own transaction, so
/// a batch is never queued without its links nor links left without a batch.
pub(crate) async fn links_for_notices<C: Connection>(
    services: &Services,
    conn: &C,
    actor: &Actor,
    questionnaire: &QuestionnaireRow,
    recipients: &[(loupan_domain::ids::NoticeRecipientId, CustomerId)],
) -> ServiceResult<()> {
    let now = services.clock.now();
    let mut rows = Vec::with_capacity(recipients.len());
    for (recipient, customer) in recipients {
        let token = crate::random_hex(16)?;
        rows.push(ResponseRow {
            id: ResponseId::from(loupan_store::new_id()),
            questionnaire_id: questionnaire.id.clone(),
            version: questionnaire.version,
            project_id: questionnaire.project_id.clone(),
            customer_id: customer.clone(),
            channel: ResponseChannel::Link,
            answered_by: None,
            token_hash: Some(crate::sha256_hex(token.as_bytes())),
            token_cipher: Some(services.secrets.encrypt(&token)?),
            notice_recipient_id: Some(recipient.clone()),
            created_by: actor.by(),
            created_at: now,
            expires_at: Some(now + Duration::days(LINK_DAYS)),
            answered_at: None,
        });
    }
    loupan_store::bulk::insert_questionnaire_responses(conn, &rows).await?;
    Ok(())
}

/// Each recipient's link, for merging into what the notice says.
pub(crate) async fn links_of_recipients<C: Connection>(
    services: &Services,
    conn: &C,
    recipients: &[loupan_domain::ids::NoticeRecipientId],
) -> ServiceResult<std::collections::HashMap<loupan_domain::ids::NoticeRecipientId, String>> {
    let mut out = std::collections::HashMap::new();
    for (recipient, cipher) in store::links_of_recipients(conn, recipients).await? {
        out.insert(recipient, link_of(services, &services.secrets.decrypt(&cipher)?));
    }
    Ok(out)
}
