//! What a questionnaire's answers say: per question the distribution of the
//! answers (counts and percentages), mean and median of scales and numbers,
//! the words of texts; and the cross analysis (交叉分析) of any two variables
//! among the answers to choice and scale questions and the customers'
//! attributes, with the chi-square test. Both are counted by the database.

use std::collections::BTreeMap;

use chrono::{Months, NaiveDate};
use loupan_documents::xlsx::{self, Cell};
use loupan_domain::ids::QuestionnaireId;
use loupan_domain::questionnaires::{Question, QuestionKind, QuestionSummary, summarise};
use loupan_domain::{Invalid, Permission};
use loupan_store::questionnaires::{self as store, CrossVariable, ResponseFilter};
use serde::Serialize;

use super::Questionnaire;
use crate::customers::cross::{CrossTable, VARIABLES, contingency, name_ids};
use crate::{Actor, Say, ServiceError, ServiceResult, Services};

/// The period of the answers analysed (days the responses were answered).
#[derive(Debug, Clone, Default)]
pub struct Period {
    /// `YYYY-MM-DD`.
    pub from: Option<String>,
    pub to: Option<String>,
}

fn filter_of(services: &Services, period: &Period) -> ServiceResult<ResponseFilter> {
    let mut errors = Invalid::default();
    let mut day = |field: &str, text: &Option<String>| {
        text.as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| errors.push(field, "invalid_date")).ok())
    };
    let (from, to) = (day("from", &period.from), day("to", &period.to));
    errors.into_result()?;
    Ok(ResponseFilter {
        answered_only: true,
        answered_from: from.map(|d| services.clock.start_of_day(d)),
        answered_to: to.and_then(|d| d.succ_opt()).map(|d| services.clock.start_of_day(d)),
        customer: None,
    })
}

/// The questions of every version, the latest wording of each key first:
/// answers to an earlier version count under their key.
async fn all_questions<C: loupan_store::Connection>(conn: &C, id: &QuestionnaireId) -> ServiceResult<Vec<Question>> {
    let mut out: Vec<Question> = Vec::new();
    for version in store::versions(conn, id).await?.iter().rev() {
        for q in super::questions_of(version)? {
            if !out.iter().any(|o| o.key == q.key) {
                out.push(q);
            }
        }
    }
    Ok(out)
}

/// A questionnaire's answers, question by question.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Analysis {
    pub questionnaire: Questionnaire,
    /// Answered responses in the period.
    pub responses: u64,
    /// The current version's questions in order, then those only earlier versions asked.
    pub questions: Vec<QuestionSummary>,
    /// The variables the cross analysis takes: the customer's attributes and
    /// `q.<key>` for each choice or scale question.
    pub variables: Vec<String>,
    /// The replica or the primary (`LOUPAN_REPLICA_URL`).
    pub source: crate::platform::replica::DataSource,
}

fn answer_variables(questions: &[Question]) -> Vec<String> {
    questions.iter().filter(|q| q.categories().is_some()).map(|q| format!("q.{}", q.key)).collect()
}

/// Counts the answers per question.
pub async fn analyse(
    services: &Services,
    actor: &Actor,
    id: &QuestionnaireId,
    period: &Period,
) -> ServiceResult<Analysis> {
    actor.require(Permission::ReadQuestionnaires)?;
    let filter = filter_of(services, period)?;
    let questionnaire = super::get(services, actor, id).await?;
    let reader = services.store.for_reports().await;
    let conn = reader.conn;
    let mut questions = questionnaire.questions.clone();
    for q in all_questions(conn, id).await? {
        if !questions.iter().any(|c| c.key == q.key) {
            questions.push(q);
        }
    }
    let counted = store::distribution(conn, id, &filter).await?;
    let mut values: BTreeMap<&str, Vec<(String, u64)>> = BTreeMap::new();
    for (key, value, n) in &counted.values {
        values.entry(key.as_str()).or_default().push((value.clone(), *n));
    }
    let answered: BTreeMap<&str, u64> = counted.answered.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    let summaries = questions
        .iter()
        .map(|q| {
            let given = values.get(q.key.as_str()).map(Vec::as_slice).unwrap_or(&[]);
            summarise(q, answered.get(q.key.as_str()).copied().unwrap_or(0), given)
        })
        .collect();
    let mut variables: Vec<String> = VARIABLES.iter().map(|v| (*v).to_owned()).collect();
    variables.extend(answer_variables(&questions));
    Ok(Analysis {
        questionnaire,
        responses: counted.responses,
        questions: summaries,
        variables,
        source: reader.from.into(),
    })
}

/// A variable named by the caller: an attribute, or `q.<key>` of a question
/// with categories (the question returned for its options' labels).
fn variable_of(
    errors: &mut Invalid,
    field: &str,
    name: Option<&str>,
    questions: &[Question],
    today: NaiveDate,
) -> Option<(String, CrossVariable, Option<Question>)> {
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
        errors.push(field, "required");
        return None;
    };
    if let Some(key) = name.strip_prefix("q.") {
        return match questions.iter().find(|q| q.key == key) {
            None => {
                errors.push(field, "unknown_question");
                None
            }
            Some(q) if q.categories().is_none() => {
                errors.push(field, "not_a_category");
                None
            }
            Some(q) => Some((name.to_owned(), CrossVariable::Answer(key.to_owned()), Some(q.clone()))),
        };
    }
    let turning = |years: u32| today.checked_sub_months(Months::new(12 * years)).unwrap_or(today);
    let variable = match name {
        "grade" => CrossVariable::Grade,
        "source" => CrossVariable::Source,
        "kind" => CrossVariable::Kind,
        "purpose" => CrossVariable::Purpose,
        "layout" => CrossVariable::Layout,
        "age" => CrossVariable::Age([turning(25), turning(35), turning(45), turning(55)]),
        "budget" => CrossVariable::Budget,
        "project" => CrossVariable::Project,
        "agent" => CrossVariable::Agent,
        _ => {
            errors.push(field, "unknown_value");
            return None;
        }
    };
    Some((name.to_owned(), variable, None))
}

/// Crosses two variables over the questionnaire's answered responses.
pub async fn cross(
    services: &Services,
    actor: &Actor,
    id: &QuestionnaireId,
    rows: Option<&str>,
    columns: Option<&str>,
    period: &Period,
) -> ServiceResult<CrossTable> {
    actor.require(Permission::ReadQuestionnaires)?;
    super::visible(services.store.conn(), actor, id).await?;
    let reader = services.store.for_reports().await;
    let conn = reader.conn;
    let questions = all_questions(conn, id).await?;
    let today = services.clock.today();
    let mut errors = Invalid::default();
    let x = variable_of(&mut errors, "rows", rows, &questions, today);
    let y = variable_of(&mut errors, "columns", columns, &questions, today);
    let filter = filter_of(services, period);
    errors.into_result()?;
    let filter = filter?;
    let (Some((x_name, x, x_question)), Some((y_name, y, y_question))) = (x, y) else {
        return Err(Invalid::one("rows", "required").into());
    };
    let counted = store::cross(conn, id, &x, &y, &filter).await?;
    let cells: BTreeMap<(String, String), u64> = counted.into_iter().map(|(r, c, n)| ((r, c), n)).collect();
    let multiple =
        [&x_question, &y_question].iter().any(|q| q.as_ref().is_some_and(|q| q.kind == QuestionKind::Multiple));
    let order = |q: &Option<Question>| q.as_ref().and_then(Question::categories);
    let (row_order, column_order) = (order(&x_question), order(&y_question));
    let mut table = contingency(x_name, y_name, &cells, row_order.as_deref(), column_order.as_deref(), multiple);
    name_ids(conn, &mut table).await?;
    table.source = reader.from.into();
    Ok(table)
}

/// The cross table as xlsx: counts with row and column totals, then the
/// row percentages, then the test.
pub fn cross_xlsx(table: &CrossTable, say: Say<'_>) -> ServiceResult<Vec<u8>> {
    let mut headers = vec![format!("{} \\ {}", table.rows_by, table.columns_by)];
    headers.extend(table.column_labels.iter().cloned());
    headers.push(say("cross.total"));
    let number = |n: f64| Cell::Number(n);
    let mut rows: Vec<Vec<Cell>> = Vec::new();
    for (i, label) in table.row_labels.iter().enumerate() {
        let mut line = vec![Cell::Text(label.clone())];
        line.extend(table.counts[i].iter().map(|n| number(*n as f64)));
        line.push(number(table.row_totals[i] as f64));
        rows.push(line);
    }
    let mut totals = vec![Cell::Text(say("cross.total"))];
    totals.extend(table.column_totals.iter().map(|n| number(*n as f64)));
    totals.push(number(table.total as f64));
    rows.push(totals);
    rows.push(Vec::new());
    rows.push(vec![Cell::Text(say("cross.row_percent"))]);
    for (i, label) in table.row_labels.iter().enumerate() {
        let mut line = vec![Cell::Text(label.clone())];
        line.extend(table.row_percent[i].iter().map(|p| number(*p)));
        rows.push(line);
    }
    rows.push(Vec::new());
    rows.push(vec![Cell::Text(say("cross.column_percent"))]);
    for (i, label) in table.row_labels.iter().enumerate() {
        let mut line = vec![Cell::Text(label.clone())];
        line.extend(table.column_percent[i].iter().map(|p| number(*p)));
        rows.push(line);
    }
    rows.push(Vec::new());
    rows.push(vec![Cell::Text(say("cross.chi_square")), number(table.chi_square)]);
    rows.push(vec![Cell::Text(say("cross.degrees_of_freedom")), number(f64::from(table.degrees_of_freedom))]);
    rows.push(vec![Cell::Text(say("cross.p_value")), table.p_value.map_or(Cell::Empty, number)]);
    xlsx::write_table(&say("cross.sheet"), &headers, &rows).map_err(ServiceError::internal)
}
