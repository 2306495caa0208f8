//! Questionnaires (问卷, S8/M1). A project's marketing, sales or
//! customer-service staff design a questionnaire for a stage of the
//! customer's journey (first visit, subscription, contract, handover) or as
//! a brand survey; an agent fills it in with a visitor on the sales office's
//! tablet, or the customer answers through a personal link. The answers are
//! counted per question and crossed with the customers' attributes
//! (`analysis`).
//!
//! A questionnaire is versioned once answered: an edit of the questions after
//! the first answer makes a new version, so an answer is always read with
//! the questions it answered; before that, the edit replaces the draft.
//! Option keys stay stable, so the analysis counts every version's answers.

pub mod analysis;
pub mod responses;

use chrono::{DateTime, Utc};
use loupan_domain::ids::{ProjectId, QuestionnaireId};
use loupan_domain::questionnaires::{Question, Stage, check_questions};
use loupan_domain::validation::{optional_text, required_text};
use loupan_domain::{Invalid, Permission};
use loupan_store::Connection;
use loupan_store::questionnaires::{self as store, QuestionnaireRow, VersionRow};
use serde::Serialize;

use crate::platform::audit::{self, Change};
use crate::{Actor, ServiceError, ServiceResult, Services};

/// A questionnaire with the questions of its current version.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Questionnaire {
    pub id: QuestionnaireId,
    pub project_id: ProjectId,
    pub stage: Stage,
    pub title: String,
    pub intro: Option<String>,
    /// The version answered from now on (1, 2, …).
    pub version: i32,
    /// Send it back with an edit; a stale one is refused (409 `questionnaire_changed`).
    pub revision: i32,
    /// Whether it takes answers.
    pub open: bool,
    pub questions: Vec<Question>,
    /// Whether the current version has answers (an edit of the questions then
    /// makes a new version).
    pub answered: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A questionnaire as a list shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct QuestionnaireLine {
    pub id: QuestionnaireId,
    pub project_id: ProjectId,
    pub stage: Stage,
    pub title: String,
    pub version: i32,
    pub open: bool,
    pub updated_at: DateTime<Utc>,
}

/// A new questionnaire, or the parts of one that change (absent: unchanged).
#[derive(Debug, Clone, Default)]
pub struct QuestionnaireForm {
    pub project_id: Option<String>,
    pub stage: Option<String>,
    pub title: Option<String>,
    pub intro: Option<String>,
    pub questions: Option<Vec<Question>>,
    pub open: Option<bool>,
    /// Required for an edit: the revision the editor read.
    pub revision: Option<i32>,
}

fn may_read(actor: &Actor) -> ServiceResult<()> {
    if [Permission::ReadQuestionnaires, Permission::ManageQuestionnaires, Permission::AnswerQuestionnaires]
        .iter()
        .any(|p| actor.can(*p))
    {
        Ok(())
    } else {
        Err(ServiceError::Forbidden)
    }
}

/// A questionnaire of a project the actor sees; 404 otherwise.
pub(crate) async fn visible<C: Connection>(
    conn: &C,
    actor: &Actor,
    id: &QuestionnaireId,
) -> ServiceResult<QuestionnaireRow> {
    match store::find_questionnaire(conn, id).await? {
        Some(row) if actor.sees_project(&row.project_id) => Ok(row),
        _ => Err(ServiceError::NotFound("questionnaire")),
    }
}

/// The questions of one version, as saved.
pub(crate) fn questions_of(version: &VersionRow) -> ServiceResult<Vec<Question>> {
    serde_json::from_str(&version.questions).map_err(ServiceError::internal)
}

pub(crate) async fn current_questions<C: Connection>(conn: &C, row: &QuestionnaireRow) -> ServiceResult<Vec<Question>> {
    let version =
        store::find_version(conn, &row.id, row.version).await?.ok_or(ServiceError::NotFound("questionnaire"))?;
    questions_of(&version)
}

async fn view<C: Connection>(conn: &C, row: QuestionnaireRow) -> ServiceResult<Questionnaire> {
    let questions = current_questions(conn, &row).await?;
    let answered = store::version_answered(conn, &row.id, row.version).await?;
    Ok(Questionnaire {
        id: row.id,
        project_id: row.project_id,
        stage: row.stage,
        title: row.title,
        intro: row.intro,
        version: row.version,
        revision: row.revision,
        open: row.open,
        questions,
        answered,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// Trims the texts of questions and options (what the analysis shows).
fn tidy(mut questions: Vec<Question>) -> Vec<Question> {
    for q in &mut questions {
        q.key = q.key.trim().to_owned();
        q.text = q.text.trim().to_owned();
        for o in &mut q.options {
            o.key = o.key.trim().to_owned();
            o.label = o.label.trim().to_owned();
        }
    }
    questions
}

fn stage_of(errors: &mut Invalid, text: Option<&str>) -> Option<Stage> {
    match text.map(str::trim).filter(|s| !s.is_empty()) {
        None => {
            errors.push("stage", "required");
            None
        }
        Some(s) => Stage::parse(s).or_else(|| {
            errors.push("stage", "unknown_value");
            None
        }),
    }
}

fn collect(errors: &mut Invalid, result: Result<(), Invalid>) {
    if let Err(e) = result {
        errors.0.extend(e.0);
    }
}

/// Designs a questionnaire (its version 1).
pub async fn create(services: &Services, actor: &Actor, form: QuestionnaireForm) -> ServiceResult<Questionnaire> {
    actor.require(Permission::ManageQuestionnaires)?;
    let mut errors = Invalid::default();
    let project_id = match ProjectId::given(form.project_id.as_deref()) {
        None => {
            errors.push("project_id", "required");
            None
        }
        Some(p) if actor.sees_project(&p) => Some(p),
        Some(_) => {
            errors.push("project_id", "unknown_project");
            None
        }
    };
    let stage = stage_of(&mut errors, form.stage.as_deref());
    let title = required_text(&mut errors, "title", form.title.as_deref(), 200);
    let intro = optional_text(&mut errors, "intro", form.intro.as_deref(), 2000);
    let questions = tidy(form.questions.unwrap_or_default());
    collect(&mut errors, check_questions(&questions));
    errors.into_result()?;
    // Both are present once no error was pushed.
    let (Some(project_id), Some(stage)) = (project_id, stage) else {
        return Err(Invalid::one("project_id", "required").into());
    };
    let tx = services.store.begin_write().await?;
    if loupan_store::inventory::find_project(&tx, &project_id).await?.is_none() {
        return Err(Invalid::one("project_id", "unknown_project").into());
    }
    let now = services.clock.now();
    let row = QuestionnaireRow {
        id: QuestionnaireId::from(loupan_store::new_id()),
        project_id,
        stage,
        title,
        intro,
        version: 1,
        revision: 1,
        open: form.open.unwrap_or(true),
        created_by: actor.by(),
        created_at: now,
        updated_at: now,
    };
    store::insert_questionnaire(&tx, &row).await?;
    let version = VersionRow {
        questionnaire_id: row.id.clone(),
        version: 1,
        questions: serde_json::to_string(&questions).map_err(ServiceError::internal)?,
        created_by: actor.by(),
        created_at: now,
    };
    store::insert_version(&tx, &version).await?;
    let created = view(&tx, row).await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "questionnaire.created",
            record_type: "questionnaire",
            record_id: created.id.as_str(),
            before: None,
            after: audit::snapshot(&created)?,
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(created)
}

/// Changes a questionnaire: its title, introduction, stage, whether it is
/// open, and its questions (a new version when the current one has answers).
pub async fn update(
    services: &Services,
    actor: &Actor,
    id: &QuestionnaireId,
    form: QuestionnaireForm,
) -> ServiceResult<Questionnaire> {
    actor.require(Permission::ManageQuestionnaires)?;
    let tx = services.store.begin_write().await?;
    let before = view(&tx, visible(&tx, actor, id).await?).await?;
    let mut errors = Invalid::default();
    let Some(revision) = form.revision else {
        return Err(Invalid::one("revision", "required").into());
    };
    if form.project_id.as_deref().is_some_and(|p| !p.trim().is_empty() && p.trim() != before.project_id.as_str()) {
        errors.push("project_id", "cannot_change");
    }
    let stage = match form.stage.as_deref() {
        None => Some(before.stage),
        s => stage_of(&mut errors, s),
    };
    let title = match form.title.as_deref() {
        None => before.title.clone(),
        t => required_text(&mut errors, "title", t, 200),
    };
    let intro = match form.intro.as_deref() {
        None => before.intro.clone(),
        i => optional_text(&mut errors, "intro", i, 2000),
    };
    let questions = form.questions.map(tidy);
    if let Some(q) = &questions {
        collect(&mut errors, check_questions(q));
    }
    errors.into_result()?;
    if revision != before.revision {
        return Err(ServiceError::Conflict("questionnaire_changed"));
    }
    let now = services.clock.now();
    let mut version = before.version;
    if let Some(questions) = questions.filter(|q| *q != before.questions) {
        let json = serde_json::to_string(&questions).map_err(ServiceError::internal)?;
        if before.answered {
            version += 1;
            store::insert_version(
                &tx,
                &VersionRow {
                    questionnaire_id: id.clone(),
                    version,
                    questions: json,
                    created_by: actor.by(),
                    created_at: now,
                },
            )
            .await?;
        } else {
            store::replace_questions(&tx, id, version, &json).await?;
        }
    }
    let row = QuestionnaireRow {
        id: id.clone(),
        project_id: before.project_id.clone(),
        stage: stage.unwrap_or(before.stage),
        title,
        intro,
        version,
        revision,
        open: form.open.unwrap_or(before.open),
        created_by: String::new(),
        created_at: before.created_at,
        updated_at: now,
    };
    if !store::update_questionnaire(&tx, &row, revision).await? {
        return Err(ServiceError::Conflict("questionnaire_changed"));
    }
    let after = view(&tx, visible(&tx, actor, id).await?).await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "questionnaire.updated",
            record_type: "questionnaire",
            record_id: id.as_str(),
            before: audit::snapshot(&before)?,
            after: audit::snapshot(&after)?,
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(after)
}

/// A questionnaire with its current questions.
pub async fn get(services: &Services, actor: &Actor, id: &QuestionnaireId) -> ServiceResult<Questionnaire> {
    may_read(actor)?;
    let conn = services.store.conn();
    view(conn, visible(conn, actor, id).await?).await
}

/// The questionnaires of the actor's projects (of one project or stage), newest first.
pub async fn list(
    services: &Services,
    actor: &Actor,
    project_id: Option<&str>,
    stage: Option<&str>,
) -> ServiceResult<Vec<QuestionnaireLine>> {
    may_read(actor)?;
    let mut errors = Invalid::default();
    let project = ProjectId::given(project_id);
    let stage = match stage.map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        s => stage_of(&mut errors, s),
    };
    errors.into_result()?;
    // Another project's questionnaires: none that the actor may see.
    if project.as_ref().is_some_and(|p| !actor.sees_project(p)) {
        return Ok(Vec::new());
    }
    let rows =
        store::list_questionnaires(services.store.conn(), actor.visible_projects(), project.as_ref(), stage).await?;
    Ok(rows
        .into_iter()
        .map(|r| QuestionnaireLine {
            id: r.id,
            project_id: r.project_id,
            stage: r.stage,
            title: r.title,
            version: r.version,
            open: r.open,
            updated_at: r.updated_at,
        })
        .collect())
}
