//! Questionnaires (S8/M1): their versions, responses and answers, the
//! distributions of answers and the cross analysis, both grouped in SQL so
//! that a questionnaire with a hundred thousand answers is counted by the
//! database and only the table comes back.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use loupan_domain::ids::{CustomerId, ProjectId, QuestionnaireId, ResponseId};
use loupan_domain::questionnaires::Stage;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Statement, Value,
};

use crate::StoreResult;
use crate::entities::{questionnaire_answers, questionnaire_responses, questionnaire_versions, questionnaires};
use crate::raw::placeholders;

pub use questionnaire_answers::Model as AnswerRow;
pub use questionnaire_responses::Model as ResponseRow;
pub use questionnaire_versions::Model as VersionRow;
pub use questionnaires::Model as QuestionnaireRow;

pub async fn insert_questionnaire<C: ConnectionTrait>(c: &C, row: &QuestionnaireRow) -> StoreResult<()> {
    questionnaires::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn find_questionnaire<C: ConnectionTrait>(
    c: &C,
    id: &QuestionnaireId,
) -> StoreResult<Option<QuestionnaireRow>> {
    Ok(questionnaires::Entity::find_by_id(id.clone()).one(c).await?)
}

/// Questionnaires of these projects (None: all), of one stage if named, newest first.
pub async fn list_questionnaires<C: ConnectionTrait>(
    c: &C,
    projects: Option<&[ProjectId]>,
    project: Option<&ProjectId>,
    stage: Option<Stage>,
) -> StoreResult<Vec<QuestionnaireRow>> {
    use questionnaires::Column as Q;
    let mut q = questionnaires::Entity::find().order_by_desc(Q::CreatedAt).order_by_desc(Q::Id).limit(500);
    if let Some(ids) = projects {
        q = q.filter(Q::ProjectId.is_in(ids.iter().cloned()));
    }
    if let Some(p) = project {
        q = q.filter(Q::ProjectId.eq(p));
    }
    if let Some(s) = stage {
        q = q.filter(Q::Stage.eq(s));
    }
    Ok(q.all(c).await?)
}

/// Writes a new state of the questionnaire if its revision is still
/// `revision`; false when someone else changed it meanwhile.
pub async fn update_questionnaire<C: ConnectionTrait>(
    c: &C,
    row: &QuestionnaireRow,
    revision: i32,
) -> StoreResult<bool> {
    use questionnaires::Column as Q;
    let done = questionnaires::Entity::update_many()
        .col_expr(Q::Title, Expr::value(row.title.clone()))
        .col_expr(Q::Intro, Expr::value(row.intro.clone()))
        .col_expr(Q::Stage, Expr::value(row.stage.name()))
        .col_expr(Q::Version, Expr::value(row.version))
        .col_expr(Q::Open, Expr::value(row.open))
        .col_expr(Q::UpdatedAt, Expr::value(row.updated_at))
        .col_expr(Q::Revision, Expr::value(revision + 1))
        .filter(Q::Id.eq(row.id.clone()))
        .filter(Q::Revision.eq(revision))
        .exec(c)
        .await?;
    Ok(done.rows_affected == 1)
}

pub async fn insert_version<C: ConnectionTrait>(c: &C, row: &VersionRow) -> StoreResult<()> {
    questionnaire_versions::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

/// Replaces the questions of a version nobody answered yet.
pub async fn replace_questions<C: ConnectionTrait>(
    c: &C,
    id: &QuestionnaireId,
    version: i32,
    questions: &str,
) -> StoreResult<()> {
    use questionnaire_versions::Column as V;
    questionnaire_versions::Entity::update_many()
        .col_expr(V::Questions, Expr::value(questions.to_owned()))
        .filter(V::QuestionnaireId.eq(id.clone()))
        .filter(V::Version.eq(version))
        .exec(c)
        .await?;
    Ok(())
}

/// Every version of a questionnaire, oldest first.
pub async fn versions<C: ConnectionTrait>(c: &C, id: &QuestionnaireId) -> StoreResult<Vec<VersionRow>> {
    use questionnaire_versions::Column as V;
    Ok(questionnaire_versions::Entity::find()
        .filter(V::QuestionnaireId.eq(id.clone()))
        .order_by_asc(V::Version)
        .all(c)
        .await?)
}

pub async fn find_version<C: ConnectionTrait>(
    c: &C,
    id: &QuestionnaireId,
    version: i32,
) -> StoreResult<Option<VersionRow>> {
    Ok(questionnaire_versions::Entity::find_by_id((id.clone(), version)).one(c).await?)
}

/// Whether anyone answered this version (then it is kept as it is).
pub async fn version_answered<C: ConnectionTrait>(c: &C, id: &QuestionnaireId, version: i32) -> StoreResult<bool> {
    use questionnaire_responses::Column as R;
    Ok(questionnaire_responses::Entity::find()
        .filter(R::QuestionnaireId.eq(id.clone()))
        .filter(R::Version.eq(version))
        .filter(R::AnsweredAt.is_not_null())
        .count(c)
        .await?
        > 0)
}

pub async fn insert_response<C: ConnectionTrait>(c: &C, row: &ResponseRow) -> StoreResult<()> {
    questionnaire_responses::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn find_response<C: ConnectionTrait>(c: &C, id: &ResponseId) -> StoreResult<Option<ResponseRow>> {
    Ok(questionnaire_responses::Entity::find_by_id(id.clone()).one(c).await?)
}

pub async fn find_response_by_token_hash<C: ConnectionTrait>(c: &C, hash: &str) -> StoreResult<Option<ResponseRow>> {
    use questionnaire_responses::Column as R;
    Ok(questionnaire_responses::Entity::find().filter(R::TokenHash.eq(hash)).one(c).await?)
}

/// The links made for notices: (recipient, the token's cipher).
pub async fn links_of_recipients<C: ConnectionTrait>(
    c: &C,
    recipients: &[loupan_domain::ids::NoticeRecipientId],
) -> StoreResult<Vec<(loupan_domain::ids::NoticeRecipientId, String)>> {
    use questionnaire_responses::Column as R;
    if recipients.is_empty() {
        return Ok(Vec::new());
    }
    let rows = questionnaire_responses::Entity::find()
        .filter(R::NoticeRecipientId.is_in(recipients.iter().cloned()))
        .all(c)
        .await?;
    Ok(rows.into_iter().filter_map(|r| Some((r.notice_recipient_id?, r.token_cipher?))).collect())
}

/// Marks a response answered (with the version answered) if it was not;
/// false when it was: a link answers once, whoever comes second.
pub async fn mark_answered<C: ConnectionTrait>(
    c: &C,
    id: &ResponseId,
    version: i32,
    at: DateTime<Utc>,
) -> StoreResult<bool> {
    use questionnaire_responses::Column as R;
    let done = questionnaire_responses::Entity::update_many()
        .col_expr(R::AnsweredAt, Expr::value(at))
        .col_expr(R::Version, Expr::value(version))
        .filter(R::Id.eq(id.clone()))
        .filter(R::AnsweredAt.is_null())
        .exec(c)
        .await?;
    Ok(done.rows_affected == 1)
}

pub async fn insert_answers<C: ConnectionTrait>(c: &C, rows: &[AnswerRow]) -> StoreResult<()> {
    // SQLite allows 32 766 bound values; five per row.
    for chunk in rows.chunks(1000) {
        questionnaire_answers::Entity::insert_many(chunk.iter().cloned().map(IntoActiveModel::into_active_model))
            .exec_without_returning(c)
            .await?;
    }
    Ok(())
}

/// The answers of some responses, in order.
pub async fn answers_of<C: ConnectionTrait>(c: &C, responses: &[ResponseId]) -> StoreResult<Vec<AnswerRow>> {
    use questionnaire_answers::Column as A;
    if responses.is_empty() {
        return Ok(Vec::new());
    }
    Ok(questionnaire_answers::Entity::find()
        .filter(A::ResponseId.is_in(responses.iter().cloned()))
        .order_by_asc(A::ResponseId)
        .order_by_asc(A::QuestionKey)
        .order_by_asc(A::Position)
        .all(c)
        .await?)
}

/// Which responses a list or an analysis reads.
#[derive(Debug, Clone, Default)]
pub struct ResponseFilter {
    pub customer: Option<CustomerId>,
    pub answered_from: Option<DateTime<Utc>>,
    pub answered_to: Option<DateTime<Utc>>,
    /// Only those answered (links not answered yet are left out).
    pub answered_only: bool,
}

/// A questionnaire's responses, latest first, at most `limit` from `offset`.
pub async fn list_responses<C: ConnectionTrait>(
    c: &C,
    id: &QuestionnaireId,
    f: &ResponseFilter,
    limit: u64,
    offset: u64,
) -> StoreResult<Vec<ResponseRow>> {
    use questionnaire_responses::Column as R;
    let mut q = questionnaire_responses::Entity::find()
        .filter(R::QuestionnaireId.eq(id.clone()))
        .order_by_desc(R::CreatedAt)
        .order_by_desc(R::Id)
        .limit(limit)
        .offset(offset);
    if let Some(cu) = &f.customer {
        q = q.filter(R::CustomerId.eq(cu.clone()));
    }
    if f.answered_only {
        q = q.filter(R::AnsweredAt.is_not_null());
    }
    if let Some(from) = f.answered_from {
        q = q.filter(R::AnsweredAt.gte(from));
    }
    if let Some(to) = f.answered_to {
        q = q.filter(R::AnsweredAt.lt(to));
    }
    Ok(q.all(c).await?)
}

/// The responses a customer gave (any questionnaire), latest first.
pub async fn responses_of_customer<C: ConnectionTrait>(c: &C, customer: &CustomerId) -> StoreResult<Vec<ResponseRow>> {
    use questionnaire_responses::Column as R;
    Ok(questionnaire_responses::Entity::find()
        .filter(R::CustomerId.eq(customer.clone()))
        .filter(R::AnsweredAt.is_not_null())
        .order_by_desc(R::AnsweredAt)
        .limit(200)
        .all(c)
        .await?)
}

fn answered_where(f: &ResponseFilter, values: &mut Vec<Value>, sql: &mut String) {
    sql.push_str(" AND r.answered_at IS NOT NULL");
    if let Some(from) = f.answered_from {
        values.push(Value::from(from));
        sql.push_str(&format!(" AND r.answered_at >= ${}", values.len()));
    }
    if let Some(to) = f.answered_to {
        values.push(Value::from(to));
        sql.push_str(&format!(" AND r.answered_at < ${}", values.len()));
    }
}

/// How many values each question got and how many responses answered it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Distribution {
    /// (question, value, count).
    pub values: Vec<(String, String, u64)>,
    /// (question, responses that answered it).
    pub answered: Vec<(String, u64)>,
    /// Responses in the filter.
    pub responses: u64,
}

/// Counts the answered responses' values per question, in SQL.
pub async fn distribution<C: ConnectionTrait>(
    c: &C,
    id: &QuestionnaireId,
    f: &ResponseFilter,
) -> StoreResult<Distribution> {
    let backend = c.get_database_backend();
    let run = |sql: String, values: Vec<Value>| {
        let statement = Statement::from_sql_and_values(backend, placeholders(backend, &sql), values);
        async move { c.query_all_raw(statement).await }
    };
    let mut values = vec![Value::from(id.as_str().to_owned())];
    // Answers are written only with their response's answer, so without a
    // period the answers alone are counted, in the order of their index
    // (questionnaire, question, value, position): no join, no sort.
    let from = if f.answered_from.is_none() && f.answered_to.is_none() {
        "FROM questionnaire_answers a WHERE a.questionnaire_id = $1".to_owned()
    } else {
        let mut filter = String::new();
        answered_where(f, &mut values, &mut filter);
        format!(
            "FROM questionnaire_answers a JOIN questionnaire_responses r ON r.id = a.response_id \
             WHERE a.questionnaire_id = $1{filter}"
        )
    };
    let mut out = Distribution::default();
    let mut answered: BTreeMap<String, u64> = BTreeMap::new();
    // A response's first value of a question (position 0) counts it as answering the question.
    for row in run(
        format!(
            "SELECT a.question_key, a.value, CAST(COUNT(*) AS BIGINT) AS n, \
             CAST(SUM(CASE WHEN a.position = 0 THEN 1 ELSE 0 END) AS BIGINT) AS firsts {from} \
             GROUP BY a.question_key, a.value"
        ),
        values,
    )
    .await?
    {
        let (n, firsts): (i64, i64) = (row.try_get_by_index(2)?, row.try_get_by_index(3)?);
        let key: String = row.try_get_by_index(0)?;
        *answered.entry(key.clone()).or_default() += firsts as u64;
        out.values.push((key, row.try_get_by_index(1)?, n as u64));
    }
    out.answered = answered.into_iter().collect();
    let mut filter = String::new();
    let mut values = vec![Value::from(id.as_str().to_owned())];
    answered_where(f, &mut values, &mut filter);
    if let Some(row) = run(
        format!("SELECT CAST(COUNT(*) AS BIGINT) FROM questionnaire_responses r WHERE r.questionnaire_id = $1{filter}"),
        values,
    )
    .await?
    .first()
    {
        let n: i64 = row.try_get_by_index(0)?;
        out.responses = n as u64;
    }
    Ok(out)
}

/// One side of a cross analysis of a questionnaire's responses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrossVariable {
    /// The answer to a question (a multiple choice counts each option chosen).
    Answer(String),
    Grade,
    Source,
    Kind,
    Purpose,
    Layout,
    /// Age bands by birthday: the dates on which one turns 25, 35, 45 and 55
    /// if born on them (birthdays after the first are under 25, …).
    Age([NaiveDate; 4]),
    Budget,
    Project,
    Agent,
}

impl CrossVariable {
    fn uses_customer(&self) -> bool {
        !matches!(self, CrossVariable::Answer(_) | CrossVariable::Project)
    }

    /// The SQL expression of the variable's value (`alias` names the answers'
    /// join), pushing its bound values.
    fn expression(&self, alias: &str, values: &mut Vec<Value>) -> String {
        let mut bind = |v: Value| {
            values.push(v);
            format!("${}", values.len())
        };
        match self {
            CrossVariable::Answer(_) => format!("{alias}.value"),
            CrossVariable::Grade => "COALESCE(c.grade, '')".into(),
            CrossVariable::Source => "COALESCE(c.source, '')".into(),
            CrossVariable::Kind => "c.kind".into(),
            CrossVariable::Purpose => "COALESCE(c.purpose, '')".into(),
            CrossVariable::Layout => "COALESCE(c.wanted_layout, '')".into(),
            CrossVariable::Project => "r.project_id".into(),
            CrossVariable::Agent => "c.owner_id".into(),
            CrossVariable::Budget => {
                // Hundredths of a yuan: 1万 is 1,000,000.
                "CASE WHEN c.budget IS NULL THEN '' WHEN c.budget < 100000000 THEN '<100万' \
                 WHEN c.budget < 200000000 THEN '100-200万' WHEN c.budget < 300000000 THEN '200-300万' \
                 WHEN c.budget < 500000000 THEN '300-500万' ELSE '500万+' END"
                    .into()
            }
            CrossVariable::Age(turns) => {
                let [d25, d35, d45, d55] = turns.map(|d| bind(Value::from(d)));
                format!(
                    "CASE WHEN c.birthday IS NULL THEN '' WHEN c.birthday > {d25} THEN '<25' \
                     WHEN c.birthday > {d35} THEN '25-34' WHEN c.birthday > {d45} THEN '35-44' \
                     WHEN c.birthday > {d55} THEN '45-54' ELSE '55+' END"
                )
            }
        }
    }
}

/// Counts the answered responses by two variables, in SQL: `(x, y, count)`.
/// A response counts when it has a value for both (an answer to each
/// question crossed).
pub async fn cross<C: ConnectionTrait>(
    c: &C,
    id: &QuestionnaireId,
    rows: &CrossVariable,
    columns: &CrossVariable,
    f: &ResponseFilter,
) -> StoreResult<Vec<(String, String, u64)>> {
    let backend = c.get_database_backend();
    let mut values: Vec<Value> = Vec::new();
    let x = rows.expression("ax", &mut values);
    let y = columns.expression("ay", &mut values);
    let mut sql = format!("SELECT {x} AS x, {y} AS y, CAST(COUNT(*) AS BIGINT) AS n FROM questionnaire_responses r");
    if rows.uses_customer() || columns.uses_customer() {
        sql.push_str(" JOIN customers c ON c.id = r.customer_id");
    }
    for (alias, variable) in [("ax", rows), ("ay", columns)] {
        if let CrossVariable::Answer(key) = variable {
            values.push(Value::from(key.clone()));
            sql.push_str(&format!(
                " JOIN questionnaire_answers {alias} ON {alias}.response_id = r.id AND {alias}.question_key = ${}",
                values.len()
            ));
        }
    }
    values.push(Value::from(id.as_str().to_owned()));
    sql.push_str(&format!(" WHERE r.questionnaire_id = ${}", values.len()));
    answered_where(f, &mut values, &mut sql);
    sql.push_str(" GROUP BY 1, 2");
    let statement = Statement::from_sql_and_values(backend, placeholders(backend, &sql), values);
    let mut out = Vec::new();
    for row in c.query_all_raw(statement).await? {
        let n: i64 = row.try_get_by_index(2)?;
        out.push((row.try_get_by_index(0)?, row.try_get_by_index(1)?, n as u64));
    }
    Ok(out)
}
