//! Satisfaction surveys (满意度调查, C5). After a case is closed (and, sent by
//! the desk, after a contract or a handover) the customer gets a personal
//! link: no login, one answer, valid `VALID_DAYS`. The answer is a
//! satisfaction score (CSAT, 1–5), a recommendation (NPS, 0–10) and a
//! comment; a low score (`loupan_domain::cases::is_low_score`) opens a
//! complaint case for the desk in the same transaction. Scores are reported
//! by project, agent, handler and month.
//!
//! The link is `/survey/<token>`; only the token's SHA-256 is stored. It is
//! handed to the customer by the desk (on the case page) and to
//! integrations by the `survey.created` webhook (an SMS or WeChat gateway).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use loupan_domain::cases::{SurveyEvent, is_low_score, net_promoter_score};
use loupan_domain::ids::{CaseId, ContractId, CustomerId, NoticeBatchId, ProjectId, SurveyId, UserId};
use loupan_domain::validation::optional_text;
use loupan_domain::{Invalid, Permission};
use loupan_store::Connection;
use loupan_store::surveys::{self as store, SurveyFilter, SurveyRow};
use serde::Serialize;

use super::NewCase;
use crate::platform::audit::{self, Change};
use crate::{Actor, ServiceError, ServiceResult, Services};

/// How long a link may be answered.
pub const VALID_DAYS: i64 = loupan_domain::cases::SURVEY_VALID_DAYS;

/// A survey as the desk sees it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Survey {
    pub id: SurveyId,
    pub project_id: ProjectId,
    pub customer_id: CustomerId,
    pub customer_name: String,
    /// `case_closed`, `contract_signed` or `handover`.
    #[cfg_attr(feature = "utoipa", schema(value_type = String))]
    pub event: SurveyEvent,
    /// The case or contract asked about.
    pub subject_id: String,
    pub agent_id: Option<UserId>,
    pub handler_id: Option<UserId>,
    pub sent_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub answered_at: Option<DateTime<Utc>>,
    pub csat: Option<i32>,
    pub nps: Option<i32>,
    pub comment: Option<String>,
    /// The complaint case a low score opened.
    pub case_id: Option<CaseId>,
    /// `/survey/<token>` while it may be answered, for those who work cases.
    pub link: Option<String>,
    /// The notice (a batch of one) that took the link to the customer by the
    /// desk's survey template; none: the desk hands it over.
    #[cfg_attr(feature = "utoipa", schema(value_type = Option<String>))]
    pub notice_batch_id: Option<NoticeBatchId>,
}

/// A survey just sent, with its personal link (shown this once).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct SentSurvey {
    pub survey: Survey,
    /// `/survey/<token>`, to put after the company's address.
    pub link: String,
}

fn view(row: SurveyRow, customer_name: String) -> Survey {
    Survey {
        link: None,
        id: row.id,
        project_id: row.project_id,
        customer_id: row.customer_id,
        customer_name,
        event: row.event,
        subject_id: row.subject_id,
        agent_id: row.agent_id,
        handler_id: row.handler_id,
        sent_at: row.sent_at,
        expires_at: row.expires_at,
        answered_at: row.answered_at,
        csat: row.csat,
        nps: row.nps,
        comment: row.comment,
        case_id: row.case_id,
        notice_batch_id: row.notice_batch_id,
    }
}

/// The survey's place: the customer, who worked with them, what it asks about.
pub(crate) struct Subject {
    pub project_id: ProjectId,
    pub customer_id: CustomerId,
    pub event: SurveyEvent,
    pub subject_id: String,
    pub handler_id: Option<UserId>,
}

/// Creates a survey and its link in the caller's transaction; the webhook
/// `survey.created` carries the link to integrations that deliver it.
pub(crate) async fn create_in<C: Connection>(
    services: &Services,
    conn: &C,
    actor: &Actor,
    subject: Subject,
) -> ServiceResult<SentSurvey> {
    let customer = loupan_store::customers::find_customer(conn, &subject.customer_id)
        .await?
        .ok_or(ServiceError::NotFound("customer"))?;
    let token = crate::random_hex(16)?;
    let now = services.clock.now();
    let row = SurveyRow {
        id: SurveyId::from(loupan_store::new_id()),
        project_id: subject.project_id,
        customer_id: subject.customer_id,
        event: subject.event,
        subject_id: subject.subject_id,
        agent_id: Some(customer.owner_id.clone()),
        handler_id: subject.handler_id,
        token_hash: crate::sha256_hex(token.as_bytes()),
        token_cipher: services.secrets.encrypt(&token)?,
        sent_by: actor.by(),
        sent_at: now,
        expires_at: now + Duration::days(VALID_DAYS),
        answered_at: None,
        csat: None,
        nps: None,
        comment: None,
        case_id: None,
        notice_batch_id: None,
    };
    store::insert_survey(conn, &row).await?;
    let link = format!("/survey/{token}");
    let mut survey = view(row, customer.name);
    survey.link = Some(link.clone());
    let sent = SentSurvey { survey, link };
    audit::record(
        conn,
        actor,
        Change {
            action: "survey.sent",
            record_type: "survey",
            record_id: sent.survey.id.as_str(),
            before: None,
            after: audit::snapshot(&sent.survey)?,
        },
    )
    .await?;
    let payload = serde_json::json!({
        "survey_id": sent.survey.id, "project_id": sent.survey.project_id, "customer_id": sent.survey.customer_id,
        "event": sent.survey.event, "link": sent.link, "expires_at": sent.survey.expires_at,
    });
    crate::platform::webhooks::publish(conn, "survey.created", payload).await?;
    if let Some(template_id) = super::settings::desk_settings(conn).await?.survey_template_id {
        // The link goes out by the desk's template, queued with the survey.
        crate::platform::jobs::enqueue(
            conn,
            crate::platform::jobs::NewJob {
                kind: crate::platform::jobs::JobKind::SurveyNotice,
                payload: serde_json::json!({"survey_id": sent.survey.id, "template_id": template_id}),
                run_at: Some(now),
                unique_key: Some(format!("survey_notice:{}", sent.survey.id)),
                max_attempts: 5,
                created_by: Some(actor.by()),
            },
        )
        .await?;
    }
    Ok(sent)
}

/// The survey a signing sends when the desk asked for one
/// (`survey_on_contract`), in the signing's transaction.
pub(crate) async fn after_signing<C: Connection>(
    services: &Services,
    conn: &C,
    actor: &Actor,
    project_id: &ProjectId,
    customer_id: &CustomerId,
    contract_id: &ContractId,
) -> ServiceResult<()> {
    if !super::settings::desk_settings(conn).await?.survey_on_contract {
        return Ok(());
    }
    let subject = Subject {
        project_id: project_id.clone(),
        customer_id: customer_id.clone(),
        event: SurveyEvent::ContractSigned,
        subject_id: contract_id.to_string(),
        handler_id: None,
    };
    create_in(services, conn, actor, subject).await.map(drop)
}

/// What the desk sends a survey about: a closed case or a contract (for a
/// contract, `event` says whether the signing or the handover).
#[derive(Debug, Clone, Default)]
pub struct NewSurvey {
    pub case_id: Option<String>,
    pub contract_id: Option<String>,
    /// `contract_signed` (default with a contract) or `handover`.
    pub event: Option<String>,
}

/// Sends a survey by hand (the desk): a new link, whatever links went before.
pub async fn send(services: &Services, actor: &Actor, form: NewSurvey) -> ServiceResult<SentSurvey> {
    actor.require(Permission::WorkCases)?;
    let tx = services.store.begin_write().await?;
    let subject = match (super::given(&form.case_id), super::given(&form.contract_id)) {
        (Some(case), None) => {
            let row = match loupan_store::cases::find_case(&tx, &CaseId::from(case)).await? {
                Some(r) if actor.sees_project(&r.project_id) => r,
                _ => return Err(Invalid::one("case_id", "unknown_case").into()),
            };
            let Some(customer_id) = row.customer_id.clone() else {
                return Err(Invalid::one("case_id", "case_without_customer").into());
            };
            if super::given(&form.event).is_some_and(|e| e != SurveyEvent::CaseClosed.name()) {
                return Err(Invalid::one("event", "event_of_a_contract").into());
            }
            Subject {
                project_id: row.project_id,
                customer_id,
                event: SurveyEvent::CaseClosed,
                subject_id: row.id.to_string(),
                handler_id: row.assignee_id,
            }
        }
        (None, Some(contract)) => {
            let row = match loupan_store::sales::find_contract(&tx, &ContractId::from(contract)).await? {
                Some(k) if actor.sees_project(&k.project_id) => k,
                _ => return Err(Invalid::one("contract_id", "unknown_contract").into()),
            };
            let event = match super::given(&form.event) {
                None => SurveyEvent::ContractSigned,
                Some(e) => match SurveyEvent::parse(e) {
                    Some(ev @ (SurveyEvent::ContractSigned | SurveyEvent::Handover)) => ev,
                    Some(SurveyEvent::CaseClosed) => return Err(Invalid::one("event", "event_of_a_case").into()),
                    None => return Err(Invalid::one("event", "unknown_value").into()),
                },
            };
            Subject {
                project_id: row.project_id,
                customer_id: row.customer_id,
                event,
                subject_id: row.id.to_string(),
                handler_id: None,
            }
        }
        _ => return Err(Invalid::one("case_id", "case_or_contract_needed").into()),
    };
    let sent = create_in(services, &tx, actor, subject).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(sent)
}

/// What the customer sees before answering: nothing about them, only what
/// the survey is about and until when it may be answered.
#[derive(Debug, Clone, Serialize)]
pub struct Questionnaire {
    pub project_name: String,
    pub event: SurveyEvent,
    pub expires_at: DateTime<Utc>,
}

async fn by_token<C: Connection>(services: &Services, conn: &C, token: &str) -> ServiceResult<SurveyRow> {
    // Tokens are 32 hex digits; anything else is no survey, without a lookup.
    if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ServiceError::NotFound("survey"));
    }
    let row = store::find_by_token_hash(conn, &crate::sha256_hex(token.as_bytes()))
        .await?
        .ok_or(ServiceError::NotFound("survey"))?;
    if row.answered_at.is_some() {
        return Err(ServiceError::Conflict("survey_answered"));
    }
    if row.expires_at <= services.clock.now() {
        return Err(ServiceError::Conflict("survey_expired"));
    }
    Ok(row)
}

/// The survey behind a link: 404 unknown, 409 `survey_answered` or `survey_expired`.
pub async fn open(services: &Services, token: &str) -> ServiceResult<Questionnaire> {
    let conn = services.store.conn();
    let row = by_token(services, conn, token).await?;
    let project = loupan_store::inventory::find_project(conn, &row.project_id).await?;
    Ok(Questionnaire {
        project_name: project.map(|p| p.name).unwrap_or_default(),
        event: row.event,
        expires_at: row.expires_at,
    })
}

/// The customer's answer as typed.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    pub csat: Option<String>,
    pub nps: Option<String>,
    pub comment: Option<String>,
}

fn score(errors: &mut Invalid, field: &str, text: &Option<String>, range: std::ops::RangeInclusive<i32>) -> i32 {
    match super::given(text).map(str::parse::<i32>) {
        None => errors.push(field, "required"),
        Some(Ok(v)) if range.contains(&v) => return v,
        Some(_) => errors.push(field, "out_of_range"),
    }
    0
}

/// Records the customer's answer, once; a low score opens a complaint case
/// linked to the customer. Returns whether a case was opened.
pub async fn answer(services: &Services, token: &str, form: Answer) -> ServiceResult<bool> {
    let mut errors = Invalid::default();
    let csat = score(&mut errors, "csat", &form.csat, 1..=5);
    let nps = score(&mut errors, "nps", &form.nps, 0..=10);
    let comment = optional_text(&mut errors, "comment", form.comment.as_deref(), 1000);
    let tx = services.store.begin_write().await?;
    let row = by_token(services, &tx, token).await?;
    errors.into_result()?;
    let now = services.clock.now();
    if !store::answer(&tx, &row.id, now, csat, nps, comment.as_deref()).await? {
        return Err(ServiceError::Conflict("survey_answered"));
    }
    let mut survey_actor = Actor::system("survey");
    survey_actor.display_name = "满意度调查".into();
    let low = is_low_score(csat, nps);
    if low {
        let mut description = format!("满意度调查低分：满意度 {csat}/5，推荐意愿 {nps}/10");
        if let Some(c) = &comment {
            description.push_str("。客户意见：");
            description.push_str(c);
        }
        let description: String = description.chars().take(2000).collect();
        let case = NewCase {
            project_id: Some(row.project_id.to_string()),
            kind: Some("complaint".into()),
            priority: Some("high".into()),
            channel: Some("web_form".into()),
            customer_id: Some(row.customer_id.to_string()),
            description: Some(description),
            ..NewCase::default()
        };
        let opened = super::register_in(services, &tx, &survey_actor, case).await?;
        store::set_case(&tx, &row.id, &opened.case.id).await?;
    }
    let score_text = format!("{csat}/5 · {nps}/10");
    crate::customers::add_event(
        &tx,
        (&survey_actor, now),
        &row.customer_id,
        loupan_domain::customers::CustomerEventKind::Case,
        &[("variant", "survey"), ("score", &score_text), ("survey_event", row.event.name())],
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(low)
}

/// Which surveys a list or report covers.
#[derive(Debug, Clone, Default)]
pub struct SurveyQuery {
    pub project_id: Option<String>,
    /// A case or contract: its surveys.
    pub subject_id: Option<String>,
    pub customer_id: Option<String>,
    /// `YYYY-MM-DD`, the days the surveys were sent.
    pub from: Option<String>,
    pub to: Option<String>,
}

fn filter_of(services: &Services, actor: &Actor, q: &SurveyQuery) -> ServiceResult<SurveyFilter> {
    actor.require(Permission::ReadCases)?;
    let mut errors = Invalid::default();
    let mut day = |field: &str, text: &Option<String>| {
        super::given(text)
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| errors.push(field, "invalid_date")).ok())
    };
    let (from, to) = (day("from", &q.from), day("to", &q.to));
    errors.into_result()?;
    let project = ProjectId::given(q.project_id.as_deref());
    Ok(SurveyFilter {
        projects: actor.visible_projects().map(<[ProjectId]>::to_vec),
        project,
        subject_id: super::given(&q.subject_id).map(str::to_owned),
        customer_id: CustomerId::given(q.customer_id.as_deref()),
        sent_from: from.map(|d| services.clock.start_of_day(d)),
        sent_to: to.and_then(|d| d.succ_opt()).map(|d| services.clock.start_of_day(d)),
        answered_only: false,
        answered_from: None,
        low_only: false,
    })
}

async fn customer_names<C: Connection>(conn: &C, rows: &[SurveyRow]) -> ServiceResult<BTreeMap<CustomerId, String>> {
    let mut ids: Vec<CustomerId> = rows.iter().map(|r| r.customer_id.clone()).collect();
    ids.sort();
    ids.dedup();
    let mut names = BTreeMap::new();
    for chunk in ids.chunks(500) {
        for c in loupan_store::customers::customers_by_ids(conn, chunk).await? {
            names.insert(c.id, c.name);
        }
    }
    Ok(names)
}

/// The latest surveys (at most 500), newest first.
pub async fn list(services: &Services, actor: &Actor, q: &SurveyQuery) -> ServiceResult<Vec<Survey>> {
    let filter = filter_of(services, actor, q)?;
    let conn = services.store.conn();
    let rows = store::list(conn, &filter, 500).await?;
    let names = customer_names(conn, &rows).await?;
    let now = services.clock.now();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let open = r.answered_at.is_none() && r.expires_at > now;
        let link = match open && actor.can(Permission::WorkCases) {
            true => Some(format!("/survey/{}", services.secrets.decrypt(&r.token_cipher)?)),
            false => None,
        };
        let name = names.get(&r.customer_id).cloned().unwrap_or_default();
        out.push(Survey { link, ..view(r, name) });
    }
    Ok(out)
}

/// Scores of one group.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ScoreLine {
    pub key: String,
    pub label: String,
    pub sent: u64,
    pub answered: u64,
    /// Mean satisfaction (1–5), two decimals; none without answers.
    pub csat: Option<f64>,
    /// Net promoter score (−100…100), one decimal.
    pub nps: Option<f64>,
    /// Answers that opened a case.
    pub low_scores: u64,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct ScoreReport {
    /// `project`, `agent`, `handler`, `event` or `month` (of sending).
    pub by: String,
    pub items: Vec<ScoreLine>,
    pub total: ScoreLine,
    /// The replica or the primary (`LOUPAN_REPLICA_URL`).
    pub source: crate::platform::replica::DataSource,
}

fn line(key: String, label: String, rows: &[&SurveyRow]) -> ScoreLine {
    let answered: Vec<&&SurveyRow> = rows.iter().filter(|r| r.answered_at.is_some()).collect();
    let csats: Vec<i32> = answered.iter().filter_map(|r| r.csat).collect();
    let npss: Vec<i32> = answered.iter().filter_map(|r| r.nps).collect();
    // Hundredths, rounded half up: exact on integers.
    let csat = (!csats.is_empty()).then(|| {
        let n = csats.len() as i64;
        let sum: i64 = csats.iter().map(|c| i64::from(*c)).sum();
        ((200 * sum + n) / (2 * n)) as f64 / 100.0
    });
    ScoreLine {
        key,
        label,
        sent: rows.len() as u64,
        answered: answered.len() as u64,
        csat,
        nps: net_promoter_score(&npss),
        low_scores: answered.iter().filter(|r| r.case_id.is_some()).count() as u64,
    }
}

/// CSAT and NPS of the surveys sent in the period, by `by`.
pub async fn report(
    services: &Services,
    actor: &Actor,
    q: &SurveyQuery,
    by: Option<&str>,
) -> ServiceResult<ScoreReport> {
    let by = by.map(str::trim).filter(|b| !b.is_empty()).unwrap_or("project");
    if !["project", "agent", "handler", "event", "month"].contains(&by) {
        return Err(Invalid::one("by", "unknown_value").into());
    }
    let filter = filter_of(services, actor, q)?;
    let reader = services.store.for_reports().await;
    let conn = reader.conn;
    let rows = store::list(conn, &filter, 100_000).await?;
    let key_of = |r: &SurveyRow| -> String {
        match by {
            "project" => r.project_id.to_string(),
            "agent" => r.agent_id.as_ref().map(ToString::to_string).unwrap_or_default(),
            "handler" => r.handler_id.as_ref().map(ToString::to_string).unwrap_or_default(),
            "event" => r.event.name().to_owned(),
            _ => services.clock.date_of(r.sent_at).format("%Y-%m").to_string(),
        }
    };
    let mut groups: BTreeMap<String, Vec<&SurveyRow>> = BTreeMap::new();
    for r in &rows {
        groups.entry(key_of(r)).or_default().push(r);
    }
    let labels: BTreeMap<String, String> = match by {
        "project" => {
            let ids: Vec<ProjectId> = groups.keys().map(|k| ProjectId::from(k.as_str())).collect();
            loupan_store::inventory::list_projects(conn, Some(&ids))
                .await?
                .into_iter()
                .map(|p| (p.id.to_string(), p.name))
                .collect()
        }
        "agent" | "handler" => {
            let ids: Vec<UserId> = groups.keys().filter(|k| !k.is_empty()).map(|k| UserId::from(k.as_str())).collect();
            loupan_store::users::display_names(conn, &ids)
                .await?
                .into_iter()
                .map(|(id, n)| (id.to_string(), n))
                .collect()
        }
        _ => BTreeMap::new(),
    };
    let lines =
        groups.iter().map(|(k, rs)| line(k.clone(), labels.get(k).cloned().unwrap_or_else(|| k.clone()), rs)).collect();
    let all: Vec<&SurveyRow> = rows.iter().collect();
    Ok(ScoreReport {
        by: by.to_owned(),
        items: lines,
        total: line(String::new(), String::new(), &all),
        source: reader.from.into(),
    })
}

/// Low scores count as a customer exception for this many days.
pub const LOW_SCORE_DAYS: i64 = 90;

/// A customer whose survey answer within `LOW_SCORE_DAYS` was low (C2).
#[derive(Debug, Clone, Serialize)]
pub struct LowScorer {
    pub customer: crate::customers::exceptions::ExceptionCustomer,
    pub csat: i32,
    pub nps: i32,
    pub answered_at: DateTime<Utc>,
    /// The complaint the answer opened.
    pub case_id: Option<CaseId>,
}

/// The customer exceptions of low satisfaction, for those who see the other
/// exceptions (agents: their own customers; managers: their projects'): each
/// customer once, with their latest low answer.
pub async fn low_scorers(
    services: &Services,
    actor: &Actor,
    project_id: Option<&ProjectId>,
) -> ServiceResult<Vec<LowScorer>> {
    crate::customers::scope_of(actor)?;
    let conn = services.store.conn();
    let filter = SurveyFilter {
        projects: actor.visible_projects().map(<[ProjectId]>::to_vec),
        project: project_id.cloned(),
        answered_only: true,
        answered_from: Some(services.clock.now() - Duration::days(LOW_SCORE_DAYS)),
        low_only: true,
        ..SurveyFilter::default()
    };
    let rows = store::list(conn, &filter, 500).await?;
    let mut latest: Vec<SurveyRow> = Vec::new();
    for r in rows {
        if !latest.iter().any(|l| l.customer_id == r.customer_id) {
            latest.push(r);
        }
    }
    latest.sort_by_key(|r| std::cmp::Reverse(r.answered_at));
    let mut people = crate::customers::exceptions::visible_people(
        conn,
        actor,
        latest.iter().map(|r| r.customer_id.clone()).collect(),
    )
    .await?;
    Ok(latest
        .into_iter()
        .filter_map(|r| {
            let customer = people.remove(&r.customer_id)?;
            Some(LowScorer {
                customer,
                csat: r.csat.unwrap_or_default(),
                nps: r.nps.unwrap_or_default(),
                answered_at: r.answered_at?,
                case_id: r.case_id,
            })
        })
        .collect())
}
