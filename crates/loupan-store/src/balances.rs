//! Open balances (#23): what each active contract still owes per due date
//! (`open_balances`) and the same per project and due date
//! (`project_open_balances`), kept in the transaction of every write that
//! changes an instalment's amount or paid part or a contract's status, so the
//! ageing report reads only money that is owed, and its totals from one row
//! per project and day. `differences` recomputes both from the records.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use loupan_domain::Money;
use loupan_domain::ids::{ContractId, CustomerId, ProjectId};
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Statement, Value};

use crate::StoreResult;
use crate::raw::placeholders;

fn statement(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    Statement::from_sql_and_values(backend, placeholders(backend, sql), values)
}

/// What the records say a contract owes per due date (nothing once cancelled).
const OWED_BY_CONTRACT: &str = "SELECT i.contract_id, i.due_date, c.project_id, CAST(SUM(i.amount - i.paid) AS BIGINT) \
     FROM instalments i JOIN contracts c ON c.id = i.contract_id \
     WHERE c.status = 'active' AND i.paid < i.amount";

/// Rewrites one contract's open balances from its instalments and moves the
/// difference into its project's days. Called by every store function that
/// changes what a contract owes, inside the caller's transaction; on
/// PostgreSQL the rows it rewrites are locked until that transaction ends.
pub async fn keep<C: ConnectionTrait>(c: &C, contract_id: &ContractId) -> StoreResult<()> {
    let backend = c.get_database_backend();
    let id = || vec![Value::from(contract_id.as_str().to_owned())];
    let before = c
        .query_all_raw(statement(
            backend,
            "DELETE FROM open_balances WHERE contract_id = $1 RETURNING project_id, due_date, amount",
            id(),
        ))
        .await?;
    let after = c
        .query_all_raw(statement(
            backend,
            &format!(
                "INSERT INTO open_balances (contract_id, due_date, project_id, amount) {OWED_BY_CONTRACT} \
                 AND i.contract_id = $1 GROUP BY i.contract_id, i.due_date, c.project_id \
                 RETURNING project_id, due_date, amount"
            ),
            id(),
        ))
        .await?;
    let mut moved: BTreeMap<(String, NaiveDate), i64> = BTreeMap::new();
    for (row, sign) in before.iter().map(|r| (r, -1)).chain(after.iter().map(|r| (r, 1))) {
        let (project, due, amount) = balance_of(row)?;
        *moved.entry((project, due)).or_default() += sign * amount;
    }
    moved.retain(|_, amount| *amount != 0);
    if moved.is_empty() {
        return Ok(());
    }
    let mut sql = String::from("INSERT INTO project_open_balances (project_id, due_date, amount) VALUES ");
    let mut values = Vec::with_capacity(moved.len() * 3);
    for (i, ((project, due), amount)) in moved.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3));
        values.extend([Value::from(project.clone()), Value::from(*due), Value::from(*amount)]);
    }
    sql.push_str(
        " ON CONFLICT (project_id, due_date) DO UPDATE SET amount = project_open_balances.amount + excluded.amount",
    );
    c.execute_raw(statement(backend, &sql, values)).await?;
    // A day paid off leaves no row behind.
    let mut sql = String::from("DELETE FROM project_open_balances WHERE amount = 0 AND (");
    let mut values = Vec::with_capacity(moved.len() * 2);
    for (i, (project, due)) in moved.keys().enumerate() {
        if i > 0 {
            sql.push_str(" OR ");
        }
        sql.push_str(&format!("(project_id = ${} AND due_date = ${})", 2 * i + 1, 2 * i + 2));
        values.extend([Value::from(project.clone()), Value::from(*due)]);
    }
    sql.push(')');
    c.execute_raw(statement(backend, &sql, values)).await?;
    Ok(())
}

fn balance_of(row: &QueryResult) -> StoreResult<(String, NaiveDate, i64)> {
    Ok((row.try_get("", "project_id")?, row.try_get("", "due_date")?, row.try_get("", "amount")?))
}

/// Builds one project's balances again from the records (after a bulk load
/// that bypassed the store's writes, such as the benchmark's).
pub async fn rebuild_project<C: ConnectionTrait>(c: &C, project: &ProjectId) -> StoreResult<()> {
    let backend = c.get_database_backend();
    let id = || vec![Value::from(project.as_str().to_owned())];
    for sql in [
        "DELETE FROM open_balances WHERE project_id = $1".to_owned(),
        "DELETE FROM project_open_balances WHERE project_id = $1".to_owned(),
        format!(
            "INSERT INTO open_balances (contract_id, due_date, project_id, amount) {OWED_BY_CONTRACT} \
             AND c.project_id = $1 GROUP BY i.contract_id, i.due_date, c.project_id"
        ),
        "INSERT INTO project_open_balances (project_id, due_date, amount) SELECT project_id, due_date, \
         CAST(SUM(amount) AS BIGINT) FROM open_balances WHERE project_id = $1 GROUP BY project_id, due_date"
            .to_owned(),
    ] {
        c.execute_raw(statement(backend, &sql, id())).await?;
    }
    Ok(())
}

/// A kept balance that is not what the records say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BalanceDifference {
    /// `contract <id> <due date>` or `project <id> <due date>`.
    pub key: String,
    pub kept: Money,
    pub recomputed: Money,
}

/// Recomputes every open balance from the instalments and contracts and
/// returns where the kept ones differ (none when they are right).
pub async fn differences<C: ConnectionTrait>(c: &C) -> StoreResult<Vec<BalanceDifference>> {
    let backend = c.get_database_backend();
    let read = |sql: String| async move {
        let mut out: BTreeMap<String, i64> = BTreeMap::new();
        for row in c.query_all_raw(statement(backend, &sql, Vec::new())).await? {
            let key: String = row.try_get("", "k")?;
            let due: NaiveDate = row.try_get("", "due_date")?;
            *out.entry(format!("{key} {due}")).or_default() += row.try_get::<i64>("", "amount")?;
        }
        Ok::<_, crate::StoreError>(out)
    };
    let owed = "SELECT i.contract_id AS k, i.due_date, c.project_id, CAST(SUM(i.amount - i.paid) AS BIGINT) AS amount \
         FROM instalments i JOIN contracts c ON c.id = i.contract_id \
         WHERE c.status = 'active' AND i.paid < i.amount GROUP BY i.contract_id, i.due_date, c.project_id";
    let mut out = Vec::new();
    for (what, kept, recomputed) in [
        (
            "contract",
            read("SELECT contract_id AS k, due_date, amount FROM open_balances".into()).await?,
            read(owed.to_owned()).await?,
        ),
        (
            "project",
            read("SELECT project_id AS k, due_date, amount FROM project_open_balances".into()).await?,
            read(format!("SELECT o.project_id AS k, o.due_date, o.amount FROM ({owed}) o")).await?,
        ),
    ] {
        let keys: std::collections::BTreeSet<&String> = kept.keys().chain(recomputed.keys()).collect();
        for key in keys {
            let (k, r) = (kept.get(key).copied().unwrap_or(0), recomputed.get(key).copied().unwrap_or(0));
            if k != r {
                out.push(BalanceDifference {
                    key: format!("{what} {key}"),
                    kept: Money::from_hundredths(k),
                    recomputed: Money::from_hundredths(r),
                });
            }
        }
    }
    Ok(out)
}

/// One active contract's unpaid fen per ageing bucket, in the order of the ranges given.
#[derive(Debug, Clone)]
pub struct ContractAgeingRow {
    pub contract_id: ContractId,
    pub number: String,
    pub customer_id: CustomerId,
    pub amounts: Vec<Money>,
}

/// `WHERE` over a balance table's `project_id` for the projects asked about;
/// None when that is no project at all.
fn project_condition(
    column: &str,
    projects: Option<&[ProjectId]>,
    project_id: Option<&ProjectId>,
    values: &mut Vec<Value>,
) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(ids) = projects {
        if ids.is_empty() {
            return None;
        }
        let start = values.len();
        values.extend(ids.iter().map(|p| Value::from(p.as_str().to_owned())));
        let list: Vec<String> = (start..values.len()).map(|i| format!("${}", i + 1)).collect();
        parts.push(format!("{column} IN ({})", list.join(", ")));
    }
    if let Some(p) = project_id {
        values.push(Value::from(p.as_str().to_owned()));
        parts.push(format!("{column} = ${}", values.len()));
    }
    Some(if parts.is_empty() { "1 = 1".to_owned() } else { parts.join(" AND ") })
}

/// `SUM(CASE …)` per due-date range (`[from, until)`, None unbounded), named b0, b1, ….
fn bucket_sums(ranges: &[(Option<NaiveDate>, Option<NaiveDate>)], due: &str, values: &mut Vec<Value>) -> String {
    let mut columns = Vec::with_capacity(ranges.len());
    for (i, (from, until)) in ranges.iter().enumerate() {
        let mut within = vec!["1 = 1".to_owned()];
        if let Some(f) = from {
            values.push(Value::from(*f));
            within.push(format!("{due} >= ${}", values.len()));
        }
        if let Some(u) = until {
            values.push(Value::from(*u));
            within.push(format!("{due} < ${}", values.len()));
        }
        columns.push(format!("CAST(SUM(CASE WHEN {} THEN amount ELSE 0 END) AS BIGINT) AS b{i}", within.join(" AND ")));
    }
    columns.join(", ")
}

fn amounts_of(row: &QueryResult, buckets: usize) -> StoreResult<Vec<Money>> {
    (0..buckets).map(|i| Ok(row.try_get::<Option<Money>>("", &format!("b{i}"))?.unwrap_or_default())).collect()
}

/// The ageing totals per due-date range, from the projects' days.
pub async fn ageing_totals<C: ConnectionTrait>(
    c: &C,
    projects: Option<&[ProjectId]>,
    project_id: Option<&ProjectId>,
    ranges: &[(Option<NaiveDate>, Option<NaiveDate>)],
) -> StoreResult<Vec<Money>> {
    let mut values = Vec::new();
    let sums = bucket_sums(ranges, "due_date", &mut values);
    let Some(condition) = project_condition("project_id", projects, project_id, &mut values) else {
        return Ok(vec![Money::ZERO; ranges.len()]);
    };
    let sql = format!("SELECT {sums} FROM project_open_balances WHERE {condition}");
    let backend = c.get_database_backend();
    match c.query_one_raw(statement(backend, &sql, values)).await? {
        Some(row) => amounts_of(&row, ranges.len()),
        None => Ok(vec![Money::ZERO; ranges.len()]),
    }
}

/// The longest page whose contracts are found by walking the due-date index.
const INDEX_WALK_MAX: u64 = 1_000;

/// Contracts that owe money, most overdue first (their oldest owed due date,
/// then their id), with what they owe per due-date range; the first `limit`
/// of them (all when None). A limited page walks the due-date index and reads
/// only the rows of the contracts it shows.
pub async fn ageing_by_contract<C: ConnectionTrait>(
    c: &C,
    projects: Option<&[ProjectId]>,
    project_id: Option<&ProjectId>,
    ranges: &[(Option<NaiveDate>, Option<NaiveDate>)],
    limit: Option<u64>,
) -> StoreResult<Vec<ContractAgeingRow>> {
    let backend = c.get_database_backend();
    let mut chosen: Option<Vec<String>> = None;
    // A long page names its contracts by the grouped query below instead: a
    // list of ids that long would pass the databases' limits on bound values.
    if let Some(limit) = limit.filter(|&n| n <= INDEX_WALK_MAX) {
        // Rows in due-date order: each contract first appears on its oldest
        // owed day. A contract has a few due dates, so a few times `limit`
        // rows usually name enough of them; read more when they do not.
        let wanted = usize::try_from(limit).unwrap_or(usize::MAX);
        let mut rows = limit.saturating_mul(4).max(16);
        loop {
            let mut values = Vec::new();
            let Some(condition) = project_condition("project_id", projects, project_id, &mut values) else {
                return Ok(Vec::new());
            };
            let sql = format!(
                "SELECT contract_id FROM open_balances WHERE {condition} ORDER BY due_date, contract_id LIMIT {rows}"
            );
            let found = c.query_all_raw(statement(backend, &sql, values)).await?;
            let (mut ids, mut seen) = (Vec::new(), std::collections::HashSet::new());
            for row in &found {
                let id: String = row.try_get("", "contract_id")?;
                if seen.insert(id.clone()) {
                    ids.push(id);
                }
            }
            let exhausted = (found.len() as u64) < rows;
            if ids.len() >= wanted || exhausted {
                ids.truncate(wanted);
                chosen = Some(ids);
                break;
            }
            rows = rows.saturating_mul(4);
        }
    }
    let mut values = Vec::new();
    let sums = bucket_sums(ranges, "o.due_date", &mut values);
    let condition = match &chosen {
        Some(ids) if ids.is_empty() => return Ok(Vec::new()),
        Some(ids) => {
            let start = values.len();
            values.extend(ids.iter().map(|id| Value::from(id.clone())));
            let list: Vec<String> = (start..values.len()).map(|i| format!("${}", i + 1)).collect();
            format!("o.contract_id IN ({})", list.join(", "))
        }
        None => match project_condition("o.project_id", projects, project_id, &mut values) {
            Some(condition) => condition,
            None => return Ok(Vec::new()),
        },
    };
    let mut sql = format!(
        "SELECT o.contract_id, k.number, k.customer_id, {sums} FROM open_balances o \
         JOIN contracts k ON k.id = o.contract_id WHERE {condition} \
         GROUP BY o.contract_id, k.number, k.customer_id ORDER BY MIN(o.due_date), o.contract_id"
    );
    if let (None, Some(n)) = (&chosen, limit) {
        sql.push_str(&format!(" LIMIT {n}"));
    }
    let mut out = Vec::new();
    for row in c.query_all_raw(statement(backend, &sql, values)).await? {
        out.push(ContractAgeingRow {
            contract_id: row.try_get("", "contract_id")?,
            number: row.try_get("", "number")?,
            customer_id: row.try_get("", "customer_id")?,
            amounts: amounts_of(&row, ranges.len())?,
        });
    }
    Ok(out)
}
