//! Customers, their duplicate records, follow-ups and timeline.

use chrono::{DateTime, Utc};
use loupan_domain::Money;
use loupan_domain::customers::DuplicateStatus;
use loupan_domain::ids::{CustomerId, ProjectId, UserId};
use loupan_domain::sales::{ContractStatus, SubscriptionStatus};
use sea_orm::sea_query::{Condition, Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};

use crate::StoreResult;
use crate::entities::{
    customer_duplicates, customer_events, customer_phones, customers, follow_ups, grade_rules, users,
};

pub use customer_duplicates::Model as DuplicateRow;
pub use customer_events::Model as EventRow;
pub use customer_phones::Model as PhoneRow;
pub use customers::Model as CustomerRow;
pub use follow_ups::Model as FollowUpRow;
pub use grade_rules::Model as GradeRuleRow;

/// What the duplicate check compares of a customer: read instead of the whole
/// row, since an import's check reads hundreds of candidates per chunk.
#[derive(Debug, Clone, PartialEq, Eq, sea_orm::FromQueryResult)]
pub struct DuplicateCandidate {
    pub id: CustomerId,
    pub project_id: ProjectId,
    pub owner_id: UserId,
    pub name: String,
    pub phone: String,
    pub id_number_index: Option<String>,
    pub merged_into: Option<CustomerId>,
}

impl From<&CustomerRow> for DuplicateCandidate {
    fn from(row: &CustomerRow) -> Self {
        DuplicateCandidate {
            id: row.id.clone(),
            project_id: row.project_id.clone(),
            owner_id: row.owner_id.clone(),
            name: row.name.clone(),
            phone: row.phone.clone(),
            id_number_index: row.id_number_index.clone(),
            merged_into: row.merged_into.clone(),
        }
    }
}

/// The columns of a [`DuplicateCandidate`] (filter, then `into_model`).
fn candidates() -> sea_orm::Select<customers::Entity> {
    use customers::Column as K;
    customers::Entity::find().select_only().columns([
        K::Id,
        K::ProjectId,
        K::OwnerId,
        K::Name,
        K::Phone,
        K::IdNumberIndex,
        K::MergedInto,
    ])
}

/// Candidates by id (the customers having one of a batch's phones as another phone).
pub async fn candidates_by_ids<C: ConnectionTrait>(c: &C, ids: &[CustomerId]) -> StoreResult<Vec<DuplicateCandidate>> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(BATCH) {
        found.extend(
            candidates()
                .filter(customers::Column::Id.is_in(chunk.iter().cloned()))
                .into_model::<DuplicateCandidate>()
                .all(c)
                .await?,
        );
    }
    Ok(found)
}

pub async fn insert_customer<C: ConnectionTrait>(c: &C, row: &CustomerRow) -> StoreResult<()> {
    customers::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn find_customer<C: ConnectionTrait>(c: &C, id: &CustomerId) -> StoreResult<Option<CustomerRow>> {
    Ok(customers::Entity::find_by_id(id.to_owned()).one(c).await?)
}

/// A customer's row with its owner's display name, read in the same
/// statement: a page of customers shows who owns each, and a second look-up
/// for the names was a round trip on every search and read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedCustomer {
    pub row: CustomerRow,
    /// None when the owner's user no longer exists.
    pub owner_name: Option<String>,
}

impl sea_orm::FromQueryResult for NamedCustomer {
    fn from_query_result(res: &sea_orm::QueryResult, pre: &str) -> Result<Self, sea_orm::DbErr> {
        Ok(NamedCustomer {
            row: CustomerRow::from_query_result(res, pre)?,
            owner_name: res.try_get(pre, "owner_name")?,
        })
    }
}

/// `select` with the owner's display name as `owner_name` (a `NamedCustomer`).
/// A join, not a subquery per row: PostgreSQL answered the subquery with a
/// scan of the (small) users table for each of a page's fifty rows, 0.7 ms
/// of a 1.7 ms page; the join looks each owner up by the primary key.
fn with_owner_name(select: sea_orm::Select<customers::Entity>) -> sea_orm::Select<customers::Entity> {
    use sea_orm::{EntityTrait, JoinType, QuerySelect};
    let owner: sea_orm::RelationDef =
        customers::Entity::belongs_to(users::Entity).from(customers::Column::OwnerId).to(users::Column::Id).into();
    select.join(JoinType::LeftJoin, owner).expr_as(Expr::col((users::Entity, users::Column::DisplayName)), "owner_name")
}

/// A customer as its page shows it: the row, the owner's display name and the
/// other phones, read in one statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerCard {
    pub named: NamedCustomer,
    /// In the order they were added.
    pub other_phones: Vec<OtherPhone>,
}

/// One of a customer's other phones, as stored (E.164).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct OtherPhone {
    pub phone: String,
    pub label: Option<String>,
}

impl sea_orm::FromQueryResult for CustomerCard {
    fn from_query_result(res: &sea_orm::QueryResult, pre: &str) -> Result<Self, sea_orm::DbErr> {
        let phones: String = res.try_get(pre, "other_phones")?;
        Ok(CustomerCard {
            named: NamedCustomer::from_query_result(res, pre)?,
            other_phones: serde_json::from_str(&phones)
                .map_err(|e| sea_orm::DbErr::Type(format!("other_phones of a customer: {e}")))?,
        })
    }
}

/// `find_customer` with the owner's display name and the other phones as a
/// JSON array (`CustomerCard`): a customer's page was three round trips.
pub async fn find_customer_card<C: ConnectionTrait>(c: &C, id: &CustomerId) -> StoreResult<Option<CustomerCard>> {
    let phones = match c.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            "(SELECT coalesce(json_agg(json_build_object('phone', p.phone, 'label', p.label) ORDER BY p.id), '[]')::text \
             FROM customer_phones p WHERE p.customer_id = customers.id)"
        }
        _ => {
            "(SELECT json_group_array(json_object('phone', p.phone, 'label', p.label) ORDER BY p.id) \
             FROM customer_phones p WHERE p.customer_id = customers.id)"
        }
    };
    Ok(with_owner_name(customers::Entity::find_by_id(id.to_owned()))
        .expr_as(Expr::cust(phones), "other_phones")
        .into_model()
        .one(c)
        .await?)
}

/// Customers of `project_id` with one of the phones (as main or other phone),
/// the same name, or the same ID number (by blind index): the candidates of a
/// duplicate check, and which customers have one of the phones as another phone.
pub async fn find_possible_duplicates<C: ConnectionTrait>(
    c: &C,
    project_id: &ProjectId,
    phones: &[String],
    name: &str,
    id_index: Option<&str>,
) -> StoreResult<(Vec<DuplicateCandidate>, Vec<CustomerId>)> {
    // Index seeks one by one instead of one OR, which a planner may answer by
    // scanning the whole project.
    let mut found: Vec<DuplicateCandidate> = Vec::new();
    let mut lookups = vec![customers::Column::Name.eq(name)];
    for phone in phones {
        lookups.push(customers::Column::Phone.eq(phone.as_str()));
    }
    let owners_of_other_phones = owners_of_phones(c, phones).await?;
    if !owners_of_other_phones.is_empty() {
        lookups.push(customers::Column::Id.is_in(owners_of_other_phones.iter().cloned()));
    }
    if let Some(idx) = id_index {
        lookups.push(customers::Column::IdNumberIndex.eq(idx));
    }
    for lookup in lookups {
        let rows = candidates()
            .filter(customers::Column::ProjectId.eq(project_id))
            .filter(lookup)
            .filter(customers::Column::MergedInto.is_null())
            .order_by_asc(customers::Column::Id)
            .limit(50)
            .into_model::<DuplicateCandidate>()
            .all(c)
            .await?;
        for row in rows {
            if !found.iter().any(|f| f.id == row.id) {
                found.push(row);
            }
        }
    }
    found.sort_by(|a, b| a.id.cmp(&b.id));
    found.truncate(50);
    Ok((found, owners_of_other_phones))
}

/// Every customer (in any project, not merged away) reached at `phone`, as
/// their main phone or another one.
pub async fn ids_with_phone<C: ConnectionTrait>(c: &C, phone: &str) -> StoreResult<Vec<CustomerId>> {
    let mut ids: Vec<CustomerId> = customers::Entity::find()
        .select_only()
        .column(customers::Column::Id)
        .filter(customers::Column::Phone.eq(phone))
        .filter(customers::Column::MergedInto.is_null())
        .into_tuple()
        .all(c)
        .await?;
    let others = owners_of_phones(c, &[phone.to_owned()]).await?;
    if !others.is_empty() {
        let kept: Vec<CustomerId> = customers::Entity::find()
            .select_only()
            .column(customers::Column::Id)
            .filter(customers::Column::Id.is_in(others))
            .filter(customers::Column::MergedInto.is_null())
            .into_tuple()
            .all(c)
            .await?;
        ids.extend(kept);
    }
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// The customers having one of `phones` as another phone (not their main one).
pub async fn owners_of_phones<C: ConnectionTrait>(c: &C, phones: &[String]) -> StoreResult<Vec<CustomerId>> {
    if phones.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids: Vec<CustomerId> = Vec::new();
    for chunk in phones.chunks(BATCH) {
        let found: Vec<CustomerId> = customer_phones::Entity::find()
            .select_only()
            .column(customer_phones::Column::CustomerId)
            .filter(customer_phones::Column::Phone.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(c)
            .await?;
        ids.extend(found);
    }
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// The other phones of some customers, in the order they were given.
pub async fn phones_of<C: ConnectionTrait>(c: &C, customer_ids: &[CustomerId]) -> StoreResult<Vec<PhoneRow>> {
    let mut out = Vec::new();
    for chunk in customer_ids.chunks(BATCH) {
        out.extend(
            customer_phones::Entity::find()
                .filter(customer_phones::Column::CustomerId.is_in(chunk.iter().cloned()))
                .order_by_asc(customer_phones::Column::Id)
                .all(c)
                .await?,
        );
    }
    Ok(out)
}

/// Replaces a customer's other phones.
pub async fn set_phones<C: ConnectionTrait>(c: &C, customer_id: &CustomerId, rows: &[PhoneRow]) -> StoreResult<()> {
    customer_phones::Entity::delete_many().filter(customer_phones::Column::CustomerId.eq(customer_id)).exec(c).await?;
    insert_phones(c, rows).await
}

pub async fn insert_phones<C: ConnectionTrait>(c: &C, rows: &[PhoneRow]) -> StoreResult<()> {
    for chunk in rows.chunks(BATCH) {
        customer_phones::Entity::insert_many(chunk.iter().cloned().map(IntoActiveModel::into_active_model))
            .exec_without_returning(c)
            .await?;
    }
    Ok(())
}

/// Writes a changed customer if it is still at `expected_version` (the row
/// carries the next version); false when someone else changed it first.
/// Records that the customer refused marketing (`Some(when)`) or accepts it again (`None`).
pub async fn set_marketing_opt_out<C: ConnectionTrait>(
    c: &C,
    id: &CustomerId,
    at: Option<chrono::DateTime<chrono::Utc>>,
) -> StoreResult<bool> {
    let res = customers::Entity::update_many()
        .col_expr(customers::Column::MarketingOptOutAt, sea_orm::sea_query::Expr::value(at))
        .filter(customers::Column::Id.eq(id.as_str()))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn update_customer<C: ConnectionTrait>(c: &C, row: &CustomerRow, expected_version: i64) -> StoreResult<bool> {
    use sea_orm::ActiveModelTrait;
    let mut active = row.clone().into_active_model().reset_all();
    active.id = sea_orm::ActiveValue::Unchanged(row.id.clone());
    let res = customers::Entity::update_many()
        .set(active)
        .filter(customers::Column::Id.eq(row.id.as_str()))
        .filter(customers::Column::Version.eq(expected_version))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Sets grades found by rules, leaving hand-set grades alone; how many changed.
pub async fn set_rule_grades<C: ConnectionTrait>(c: &C, grades: &[(CustomerId, Option<String>)]) -> StoreResult<u64> {
    let mut changed = 0;
    for (id, grade) in grades {
        let res = customers::Entity::update_many()
            .col_expr(customers::Column::Grade, Expr::value(grade.clone()))
            .col_expr(customers::Column::Version, Expr::col(customers::Column::Version).add(1))
            .filter(customers::Column::Id.eq(id))
            .filter(customers::Column::GradeManual.eq(false))
            .exec(c)
            .await?;
        changed += res.rows_affected;
    }
    Ok(changed)
}

/// What grade rules look at, per customer: visits (来访) and whether a deal is active.
pub async fn grading_facts<C: ConnectionTrait>(
    c: &C,
    customer_ids: &[CustomerId],
) -> StoreResult<std::collections::HashMap<CustomerId, (u32, bool)>> {
    use crate::entities::{contracts, subscriptions};
    let mut facts: std::collections::HashMap<CustomerId, (u32, bool)> =
        customer_ids.iter().map(|id| (id.clone(), (0, false))).collect();
    for chunk in customer_ids.chunks(BATCH) {
        let visits: Vec<(CustomerId, i64)> = follow_ups::Entity::find()
            .select_only()
            .column(follow_ups::Column::CustomerId)
            .column_as(follow_ups::Column::Id.count(), "visits")
            .filter(follow_ups::Column::CustomerId.is_in(chunk.iter().cloned()))
            .filter(follow_ups::Column::Kind.eq(loupan_domain::customers::FollowUpKind::Visit))
            .group_by(follow_ups::Column::CustomerId)
            .into_tuple()
            .all(c)
            .await?;
        for (id, n) in visits {
            if let Some(f) = facts.get_mut(&id) {
                f.0 = u32::try_from(n).unwrap_or(u32::MAX);
            }
        }
        let mut with_deals: Vec<CustomerId> = subscriptions::Entity::find()
            .select_only()
            .column(subscriptions::Column::CustomerId)
            .filter(subscriptions::Column::CustomerId.is_in(chunk.iter().cloned()))
            .filter(subscriptions::Column::Status.eq(SubscriptionStatus::Active))
            .into_tuple()
            .all(c)
            .await?;
        with_deals.extend(
            contracts::Entity::find()
                .select_only()
                .column(contracts::Column::CustomerId)
                .filter(contracts::Column::CustomerId.is_in(chunk.iter().cloned()))
                .filter(contracts::Column::Status.eq(ContractStatus::Active))
                .into_tuple::<CustomerId>()
                .all(c)
                .await?,
        );
        for id in with_deals {
            if let Some(f) = facts.get_mut(&id) {
                f.1 = true;
            }
        }
    }
    Ok(facts)
}

pub async fn grade_rules_of<C: ConnectionTrait>(c: &C, project_id: &ProjectId) -> StoreResult<Vec<GradeRuleRow>> {
    Ok(grade_rules::Entity::find()
        .filter(grade_rules::Column::ProjectId.eq(project_id))
        .order_by_asc(grade_rules::Column::Position)
        .all(c)
        .await?)
}

/// Replaces a project's grade rules.
pub async fn set_grade_rules<C: ConnectionTrait>(
    c: &C,
    project_id: &ProjectId,
    rows: &[GradeRuleRow],
) -> StoreResult<()> {
    grade_rules::Entity::delete_many().filter(grade_rules::Column::ProjectId.eq(project_id)).exec(c).await?;
    for chunk in rows.chunks(BATCH) {
        grade_rules::Entity::insert_many(chunk.iter().cloned().map(IntoActiveModel::into_active_model))
            .exec_without_returning(c)
            .await?;
    }
    Ok(())
}

/// The ids of a project's customers (not merged away), a page at a time.
/// The birthdays of a project's customers (those who gave one, not merged
/// away), and whether each keeps it by the lunar calendar.
pub async fn birthdays_of_project<C: ConnectionTrait>(
    c: &C,
    project_id: &ProjectId,
) -> StoreResult<Vec<(CustomerId, chrono::NaiveDate, bool)>> {
    Ok(customers::Entity::find()
        .select_only()
        .column(customers::Column::Id)
        .column(customers::Column::Birthday)
        .column(customers::Column::BirthdayLunar)
        .filter(customers::Column::ProjectId.eq(project_id))
        .filter(customers::Column::MergedInto.is_null())
        .filter(customers::Column::Birthday.is_not_null())
        .order_by_asc(customers::Column::Id)
        .into_tuple()
        .all(c)
        .await?)
}

pub async fn customer_ids_of_project<C: ConnectionTrait>(
    c: &C,
    project_id: &ProjectId,
    after_id: Option<&CustomerId>,
    limit: u64,
) -> StoreResult<Vec<CustomerId>> {
    let mut q = customers::Entity::find()
        .select_only()
        .column(customers::Column::Id)
        .filter(customers::Column::ProjectId.eq(project_id))
        .filter(customers::Column::MergedInto.is_null())
        .order_by_asc(customers::Column::Id)
        .limit(limit);
    if let Some(after) = after_id {
        q = q.filter(customers::Column::Id.gt(after));
    }
    Ok(q.into_tuple().all(c).await?)
}

/// Who may be listed: everything, some projects, or one owner's customers.
#[derive(Debug, Clone)]
pub enum CustomerScope {
    All,
    Projects(Vec<ProjectId>),
    Owner(UserId),
}

#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    /// Exact E.164 phone.
    pub phone: Option<String>,
    /// Prefix of the name, its full pinyin or its initials.
    pub text: Option<String>,
    /// Exact ID number by blind index.
    pub id_index: Option<String>,
    pub project_id: Option<ProjectId>,
    pub owner_id: Option<UserId>,
    pub grade: Option<String>,
    pub source: Option<String>,
    /// `individual` or `enterprise`.
    pub kind: Option<loupan_domain::customers::CustomerKind>,
    /// One of the overlapping categories.
    pub category: Option<String>,
    pub tag: Option<String>,
    pub purpose: Option<String>,
    /// Budget range (inclusive).
    pub min_budget: Option<Money>,
    pub max_budget: Option<Money>,
    /// Prefix of the wanted layout (`3室`).
    pub layout: Option<String>,
    /// Last contact at or after / before these instants; `never_contacted` for none yet.
    pub contacted_since: Option<DateTime<Utc>>,
    pub contacted_before: Option<DateTime<Utc>>,
    pub after_id: Option<String>,
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

pub async fn search_customers<C: ConnectionTrait>(
    c: &C,
    scope: &CustomerScope,
    f: &CustomerFilter,
    limit: u64,
) -> StoreResult<Vec<CustomerRow>> {
    let backend = c.get_database_backend();
    let page = page_statement(page_select(backend, scope, f, limit), backend, limit);
    Ok(customers::Entity::find().from_raw_sql(page).all(c).await?)
}

/// `search_customers` with each owner's display name, in the same statement.
pub async fn search_named_customers<C: ConnectionTrait>(
    c: &C,
    scope: &CustomerScope,
    f: &CustomerFilter,
    limit: u64,
) -> StoreResult<Vec<NamedCustomer>> {
    let backend = c.get_database_backend();
    let page = page_statement(with_owner_name(page_select(backend, scope, f, limit)), backend, limit);
    Ok(<NamedCustomer as sea_orm::FromQueryResult>::find_by_statement(page).all(c).await?)
}

/// A page of customers: their ids first, from the covering indexes, then only
/// those rows (sorting tens of thousands of whole rows, a surname among a
/// million customers, to keep fifty cost 100 ms where sorting their ids costs
/// 10). One statement: both databases run a subquery with a `LIMIT` on its
/// own before the outer `IN`, which then reads fifty rows by primary key.
/// On SQLite by rowid: the search indexes carry it, and a row is then one
/// descent of the table instead of two (the id's index, then the table).
/// On PostgreSQL a search whose index hands out its matches in id order (a
/// first initial, a name's first characters) reads the rows straight from
/// it: its index is on an expression, so the subquery read each row from
/// the table already, and the outer look-up by key read it again (361
/// buffers for a page of fifty against 75, at a million customers).
fn page_select(
    backend: DbBackend,
    scope: &CustomerScope,
    f: &CustomerFilter,
    limit: u64,
) -> sea_orm::Select<customers::Entity> {
    use sea_orm::QueryTrait;
    let page = match backend {
        // Qualified: the page may be joined to its owners.
        DbBackend::Sqlite => Expr::cust("customers.rowid")
            .in_subquery(search_select(backend, scope, f, limit).select_only().expr(Expr::cust("rowid")).into_query()),
        _ if in_id_order(scope, f) => return search_select(backend, scope, f, limit),
        _ => customers::Column::Id.in_subquery(search_ids(backend, scope, f, limit).into_query()),
    };
    customers::Entity::find().filter(page).order_by_asc(customers::Column::Id)
}

/// A page's statement with its `LIMIT` written into it rather than bound.
/// PostgreSQL plans a prepared statement once for every value only if that
/// plan is estimated no dearer than planning for each value; with the limit a
/// parameter it assumes a tenth of the matches, so it planned every page
/// anew: 0.6 ms of a name search's 1.4 ms at a million customers. The limit
/// is the statement's last parameter (the page's `ORDER BY` binds none), so
/// nothing else is renumbered; a statement of another shape is kept as built.
fn page_statement(select: sea_orm::Select<customers::Entity>, backend: DbBackend, limit: u64) -> sea_orm::Statement {
    use sea_orm::QueryTrait;
    use sea_orm::sea_query::Value;
    let mut page = select.build(backend);
    let Some(values) = page.values.as_mut() else { return page };
    let placeholder = match backend {
        DbBackend::Postgres => format!(" LIMIT ${}", values.0.len()),
        _ => " LIMIT ?".to_owned(),
    };
    let Some(at) = page.sql.rfind(&placeholder) else { return page };
    let last_in_sql = !page.sql[at + placeholder.len()..].contains(['$', '?']);
    if last_in_sql && values.0.last() == Some(&Value::BigUnsigned(Some(limit))) {
        values.0.pop();
        page.sql.replace_range(at..at + placeholder.len(), &format!(" LIMIT {limit}"));
    }
    page
}

/// The ids `search_customers` would return, without reading the rows: for
/// whole lists (a notice batch to everyone a saved filter finds), a page at a time.
pub async fn search_customer_ids<C: ConnectionTrait>(
    c: &C,
    scope: &CustomerScope,
    f: &CustomerFilter,
    limit: u64,
) -> StoreResult<Vec<CustomerId>> {
    Ok(search_ids(c.get_database_backend(), scope, f, limit).into_tuple().all(c).await?)
}

fn search_ids(
    backend: DbBackend,
    scope: &CustomerScope,
    f: &CustomerFilter,
    limit: u64,
) -> sea_orm::Select<customers::Entity> {
    search_select(backend, scope, f, limit).select_only().column(customers::Column::Id)
}

/// The statement `search_named_customers` reads a page with, for a benchmark
/// to replay as raw SQL.
pub fn search_statement(
    backend: DbBackend,
    scope: &CustomerScope,
    f: &CustomerFilter,
    limit: u64,
) -> sea_orm::Statement {
    page_statement(with_owner_name(page_select(backend, scope, f, limit)), backend, limit)
}

/// The first initial as the index `ix_customers_initial_search` is written.
const FIRST_INITIAL: &str = "substr(name_initials, 1, 1)";

/// A search by one lower-case letter or digit among everyone's customers is
/// a search by first initial: a name, its pinyin and its initials all begin
/// with it, or none does. Scoped searches keep their project-leading indexes.
fn first_initial_only(scope: &CustomerScope, text: &str) -> Option<String> {
    let mut chars = text.chars();
    match (scope, chars.next(), chars.next()) {
        (CustomerScope::All, Some(c), None) if c.is_ascii_lowercase() || c.is_ascii_digit() => Some(c.to_string()),
        _ => None,
    }
}

/// Whether a search is an equality on an index that goes on with the id, so
/// that the index hands out its matches in id order, a page's order.
fn in_id_order(scope: &CustomerScope, f: &CustomerFilter) -> bool {
    f.text.as_deref().is_some_and(|t| first_initial_only(scope, t).is_some() || short_name_start(scope, f, t).is_some())
}

/// The longest name start that has an index of its own
/// (`ix_customers_name1_search`, `ix_customers_name2_search`).
const NAME_START_INDEXED: usize = 2;

/// A search by the first one or two characters of a name among everyone's
/// customers is an equality on the name's first characters, answered in id
/// order by their index (a surname is tens of thousands among a million:
/// the name index's range had them all sorted). Returns the expression as
/// the index is written. Only a name can hold a character that is not ASCII.
/// A search scoped to projects or an owner, by the caller's scope or a
/// filter, keeps the indexes that lead with them.
fn short_name_start(scope: &CustomerScope, f: &CustomerFilter, text: &str) -> Option<String> {
    let chars = text.chars().count();
    let short = (1..=NAME_START_INDEXED).contains(&chars) && !text.is_ascii();
    let everyone = matches!(scope, CustomerScope::All) && f.project_id.is_none() && f.owner_id.is_none();
    (everyone && short).then(|| format!("substr(name, 1, {chars})"))
}

/// `column LIKE 'prefix%'`, written as the range of strings that begin with
/// `prefix` in byte order (both databases compare and index these columns
/// bytewise: PostgreSQL through `text_pattern_ops`, SQLite with
/// `case_sensitive_like`). A pattern costs PostgreSQL's planner a millisecond
/// on every search, estimated against each of the table's indexes; a range
/// it plans in a third of that.
fn starts_with(backend: DbBackend, column: customers::Column, prefix: &str) -> Condition {
    use sea_orm::sea_query::BinOper;
    let (from, before) = match backend {
        DbBackend::Postgres => (BinOper::Custom("~>=~"), BinOper::Custom("~<~")),
        _ => (BinOper::GreaterThanOrEqual, BinOper::SmallerThan),
    };
    let range = Condition::all().add(Expr::col(column).binary(from, prefix));
    match after_prefix(prefix) {
        Some(end) => range.add(Expr::col(column).binary(before, end)),
        None => range,
    }
}

/// The first string after all those that begin with `prefix`: its last
/// character that has a successor, moved on by one, and what follows it
/// dropped. `None` when every string from `prefix` on begins with it.
fn after_prefix(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        // The surrogates are not characters: after U+D7FF comes U+E000.
        let next = if last == '\u{D7FF}' { Some('\u{E000}') } else { char::from_u32(u32::from(last) + 1) };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

fn search_select(
    backend: DbBackend,
    scope: &CustomerScope,
    f: &CustomerFilter,
    limit: u64,
) -> sea_orm::Select<customers::Entity> {
    use customers::Column as K;
    // A merged customer lives on in the one it was merged into.
    let mut q = customers::Entity::find().filter(K::MergedInto.is_null()).order_by_asc(K::Id).limit(limit);
    q = match scope {
        CustomerScope::All => q,
        CustomerScope::Projects(ids) => q.filter(K::ProjectId.is_in(ids.iter().cloned())),
        CustomerScope::Owner(owner) => q.filter(K::OwnerId.eq(owner)),
    };
    if let Some(p) = &f.phone {
        // The main phone or another one, as one list of ids. PostgreSQL's
        // planner answers `phone = $1 OR id IN (subquery)` with a scan of
        // every customer; this union it answers with two index look-ups, and
        // keeps that plan for every phone.
        use sea_orm::sea_query::{Query, UnionType};
        let with_phone = Query::select()
            .column(K::Id)
            .from(customers::Entity)
            .and_where(K::Phone.eq(p.as_str()))
            .union(
                UnionType::All,
                Query::select()
                    .column(customer_phones::Column::CustomerId)
                    .from(customer_phones::Entity)
                    .and_where(customer_phones::Column::Phone.eq(p.as_str()))
                    .to_owned(),
            )
            .to_owned();
        q = q.filter(K::Id.in_subquery(with_phone));
    }
    if let Some(idx) = &f.id_index {
        q = q.filter(K::IdNumberIndex.eq(idx.as_str()));
    }
    if let Some(t) = &f.text {
        let begins = |col: K| starts_with(backend, col, t);
        // Pinyin and initials are ASCII: a query with Chinese characters can only be a name.
        q = if let Some(letter) = first_initial_only(scope, t) {
            // Everything a letter finds starts with it as the first initial
            // (`name_pinyin`); the index on it is in id order (m20261204_000026).
            q.filter(Expr::expr(Expr::cust(FIRST_INITIAL)).eq(letter))
        } else if let Some(start) = short_name_start(scope, f, t) {
            q.filter(Expr::expr(Expr::cust(start)).eq(t.as_str()))
        } else if t.is_ascii() {
            q.filter(Condition::any().add(begins(K::Name)).add(begins(K::NamePinyin)).add(begins(K::NameInitials)))
        } else {
            q.filter(begins(K::Name))
        };
    }
    if let Some(v) = &f.project_id {
        q = q.filter(K::ProjectId.eq(v.as_str()));
    }
    if let Some(v) = &f.owner_id {
        q = q.filter(K::OwnerId.eq(v.as_str()));
    }
    if let Some(v) = &f.grade {
        q = q.filter(K::Grade.eq(v.as_str()));
    }
    if let Some(v) = &f.source {
        q = q.filter(K::Source.eq(v.as_str()));
    }
    if let Some(v) = &f.kind {
        q = q.filter(K::Kind.eq(*v));
    }
    // Lists are stored comma-separated: a member is the whole list, or first, last or between commas.
    for (col, v) in [(K::Categories, &f.category), (K::Tags, &f.tag)] {
        if let Some(v) = v {
            let e = escape_like(v);
            let like = |p: String| Expr::col(col).like(sea_orm::sea_query::LikeExpr::new(p).escape('\\'));
            q = q.filter(
                Condition::any()
                    .add(Expr::col(col).eq(v.as_str()))
                    .add(like(format!("{e},%")))
                    .add(like(format!("%,{e}")))
                    .add(like(format!("%,{e},%"))),
            );
        }
    }
    if let Some(v) = &f.purpose {
        q = q.filter(K::Purpose.eq(v.as_str()));
    }
    if let Some(v) = f.min_budget {
        q = q.filter(K::Budget.gte(v));
    }
    if let Some(v) = f.max_budget {
        q = q.filter(K::Budget.lte(v));
    }
    if let Some(v) = &f.layout {
        q = q.filter(
            Expr::col(K::WantedLayout)
                .like(sea_orm::sea_query::LikeExpr::new(format!("{}%", escape_like(v))).escape('\\')),
        );
    }
    if let Some(v) = f.contacted_since {
        q = q.filter(K::LastContactAt.gte(v));
    }
    if let Some(v) = f.contacted_before {
        // Never contacted counts as "not since": the customers a manager is looking for.
        q = q.filter(Condition::any().add(K::LastContactAt.lt(v)).add(K::LastContactAt.is_null()));
    }
    if let Some(v) = &f.after_id {
        q = q.filter(K::Id.gt(v.as_str()));
    }
    q
}

pub async fn customers_by_ids<C: ConnectionTrait>(c: &C, ids: &[CustomerId]) -> StoreResult<Vec<CustomerRow>> {
    Ok(customers::Entity::find().filter(customers::Column::Id.is_in(ids.iter().cloned())).all(c).await?)
}

pub async fn customers_of_owner<C: ConnectionTrait>(c: &C, owner_id: &UserId) -> StoreResult<Vec<CustomerRow>> {
    Ok(customers::Entity::find()
        .filter(customers::Column::OwnerId.eq(owner_id))
        .order_by_asc(customers::Column::Id)
        .all(c)
        .await?)
}

/// Moves a customer to another owner (and project) if still at `expected_version`.
pub async fn set_owner<C: ConnectionTrait>(
    c: &C,
    id: &CustomerId,
    expected_version: i64,
    owner_id: &UserId,
    project_id: &ProjectId,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let res = customers::Entity::update_many()
        .col_expr(customers::Column::OwnerId, Expr::value(owner_id.to_owned()))
        .col_expr(customers::Column::ProjectId, Expr::value(project_id.to_owned()))
        .col_expr(customers::Column::Version, Expr::col(customers::Column::Version).add(1))
        .col_expr(customers::Column::UpdatedAt, Expr::value(now))
        .filter(customers::Column::Id.eq(id))
        .filter(customers::Column::Version.eq(expected_version))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn touch_last_contact<C: ConnectionTrait>(c: &C, id: &CustomerId, at: DateTime<Utc>) -> StoreResult<()> {
    customers::Entity::update_many()
        .col_expr(customers::Column::LastContactAt, Expr::value(at))
        .filter(customers::Column::Id.eq(id))
        .exec(c)
        .await?;
    Ok(())
}

pub async fn insert_duplicate<C: ConnectionTrait>(c: &C, row: &DuplicateRow) -> StoreResult<()> {
    customer_duplicates::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn find_duplicate<C: ConnectionTrait>(c: &C, id: &str) -> StoreResult<Option<DuplicateRow>> {
    Ok(customer_duplicates::Entity::find_by_id(id.to_owned()).one(c).await?)
}

/// Duplicate records of some projects (None: all), open ones first, newest first.
pub async fn list_duplicates<C: ConnectionTrait>(
    c: &C,
    projects: Option<&[ProjectId]>,
    status: Option<DuplicateStatus>,
    limit: u64,
) -> StoreResult<Vec<DuplicateRow>> {
    let mut q = customer_duplicates::Entity::find().order_by_desc(customer_duplicates::Column::CreatedAt).limit(limit);
    if let Some(ids) = projects {
        q = q.filter(customer_duplicates::Column::ProjectId.is_in(ids.iter().cloned()));
    }
    if let Some(s) = status {
        q = q.filter(customer_duplicates::Column::Status.eq(s));
    }
    Ok(q.all(c).await?)
}

/// Records a ruling on an open duplicate record; false when it was already ruled on.
pub async fn rule_duplicate<C: ConnectionTrait>(
    c: &C,
    id: &str,
    status: DuplicateStatus,
    note: Option<&str>,
    ruled_by: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let res = customer_duplicates::Entity::update_many()
        .col_expr(customer_duplicates::Column::Status, Expr::value(status))
        .col_expr(customer_duplicates::Column::RulingNote, Expr::value(note.map(str::to_owned)))
        .col_expr(customer_duplicates::Column::RuledBy, Expr::value(ruled_by.to_owned()))
        .col_expr(customer_duplicates::Column::RuledAt, Expr::value(now))
        .filter(customer_duplicates::Column::Id.eq(id))
        .filter(customer_duplicates::Column::Status.eq(DuplicateStatus::Open))
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn insert_follow_up<C: ConnectionTrait>(c: &C, row: &FollowUpRow) -> StoreResult<()> {
    follow_ups::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn follow_ups_of<C: ConnectionTrait>(c: &C, customer_id: &CustomerId) -> StoreResult<Vec<FollowUpRow>> {
    Ok(follow_ups::Entity::find()
        .filter(follow_ups::Column::CustomerId.eq(customer_id))
        .order_by_desc(follow_ups::Column::OccurredAt)
        .all(c)
        .await?)
}

pub async fn insert_event<C: ConnectionTrait>(c: &C, row: &EventRow) -> StoreResult<()> {
    customer_events::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

/// The customer's timeline, newest first.
pub async fn events_of<C: ConnectionTrait>(c: &C, customer_id: &CustomerId, limit: u64) -> StoreResult<Vec<EventRow>> {
    Ok(customer_events::Entity::find()
        .filter(customer_events::Column::CustomerId.eq(customer_id))
        .order_by_desc(customer_events::Column::OccurredAt)
        .limit(limit)
        .all(c)
        .await?)
}

/// Customers in scope not contacted since `before` (never contacted and
/// registered before it, or last contacted before it).
pub async fn count_stale_customers<C: ConnectionTrait>(
    c: &C,
    scope: &CustomerScope,
    before: DateTime<Utc>,
) -> StoreResult<u64> {
    use customers::Column as K;
    let count: Option<i64> = in_scope(customers::Entity::find(), scope)
        .select_only()
        .expr(Expr::cust("COUNT(*)"))
        .filter(K::MergedInto.is_null())
        .filter(silent_since().lt(before))
        .into_tuple()
        .one(c)
        .await?;
    Ok(count.and_then(|n| u64::try_from(n).ok()).unwrap_or_default())
}

/// Since when a customer has been silent: their last contact or, never
/// contacted, their registration. Migration 000052 indexes this expression
/// (per owner, per project and alone), so it must stay written the same.
fn silent_since() -> Expr {
    use customers::Column as K;
    Expr::expr(sea_orm::sea_query::Func::coalesce([
        Expr::col((customers::Entity, K::LastContactAt)),
        Expr::col((customers::Entity, K::CreatedAt)),
    ]))
}

/// Customers with a follow-up whose next contact falls on `day`: (id, owner, name).
pub async fn contacts_due_on<C: ConnectionTrait>(
    c: &C,
    day: chrono::NaiveDate,
) -> StoreResult<Vec<(CustomerId, UserId, String)>> {
    let mut ids: Vec<CustomerId> = follow_ups::Entity::find()
        .select_only()
        .column(follow_ups::Column::CustomerId)
        .filter(follow_ups::Column::NextContactOn.eq(day))
        .into_tuple()
        .all(c)
        .await?;
    ids.sort();
    ids.dedup();
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(CustomerId, UserId, String)> = customers::Entity::find()
            .select_only()
            .column(customers::Column::Id)
            .column(customers::Column::OwnerId)
            .column(customers::Column::Name)
            .filter(customers::Column::Id.is_in(chunk.iter().cloned()))
            .into_tuple()
            .all(c)
            .await?;
        out.extend(rows);
    }
    Ok(out)
}

/// Customers in `scope` with a follow-up whose next contact falls on `day`.
pub async fn count_contacts_due<C: ConnectionTrait>(
    c: &C,
    scope: &CustomerScope,
    day: chrono::NaiveDate,
) -> StoreResult<u64> {
    use customers::Column as K;
    use sea_orm::PaginatorTrait;
    let mut ids: Vec<String> = follow_ups::Entity::find()
        .select_only()
        .column(follow_ups::Column::CustomerId)
        .filter(follow_ups::Column::NextContactOn.eq(day))
        .into_tuple()
        .all(c)
        .await?;
    ids.sort();
    ids.dedup();
    let mut count = 0;
    for chunk in ids.chunks(500) {
        let mut q = customers::Entity::find().filter(K::Id.is_in(chunk.iter().cloned()));
        q = match scope {
            CustomerScope::All => q,
            CustomerScope::Projects(p) => q.filter(K::ProjectId.is_in(p.iter().cloned())),
            CustomerScope::Owner(owner) => q.filter(K::OwnerId.eq(owner)),
        };
        count += q.count(c).await?;
    }
    Ok(count)
}

pub use crate::entities::customer_merges::Model as MergeRow;

/// The rows of each table that name a customer, as a merge moves them.
pub const CUSTOMER_REFERENCES: [(&str, &str); 9] = [
    ("follow_ups", "customer_id"),
    ("customer_phones", "customer_id"),
    ("customer_events", "customer_id"),
    ("subscriptions", "customer_id"),
    ("contracts", "customer_id"),
    ("reservations", "customer_id"),
    ("refunds", "customer_id"),
    ("deal_buyers", "customer_id"),
    ("customer_duplicates", "matched_customer_id"),
];

/// Moves every row of `table.column` naming `from` to `to`; returns their ids.
/// Table and column come from `CUSTOMER_REFERENCES`, never from input.
pub async fn move_references<C: ConnectionTrait>(
    c: &C,
    (table, column): (&str, &str),
    from: &CustomerId,
    to: &CustomerId,
) -> StoreResult<Vec<String>> {
    use sea_orm::{DbBackend, Statement};
    let backend = c.get_database_backend();
    let p = |n: usize| if backend == DbBackend::Postgres { format!("${n}") } else { "?".to_owned() };
    let rows = c
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            format!("SELECT id FROM {table} WHERE {column} = {}", p(1)),
            [from.into()],
        ))
        .await?;
    // A moved row whose id does not read would be lost from the undo record: fail instead.
    let ids: Vec<String> = rows.iter().map(|r| r.try_get_by_index::<String>(0)).collect::<Result<_, _>>()?;
    c.execute_raw(Statement::from_sql_and_values(
        backend,
        format!("UPDATE {table} SET {column} = {} WHERE {column} = {}", p(1), p(2)),
        [to.into(), from.into()],
    ))
    .await?;
    Ok(ids)
}

/// Puts back the rows a merge moved (by id): they name `to` again.
pub async fn restore_references<C: ConnectionTrait>(
    c: &C,
    (table, column): (&str, &str),
    ids: &[String],
    to: &CustomerId,
) -> StoreResult<()> {
    use sea_orm::{DbBackend, Statement};
    let backend = c.get_database_backend();
    for id in ids {
        let sql = if backend == DbBackend::Postgres {
            format!("UPDATE {table} SET {column} = $1 WHERE id = $2")
        } else {
            format!("UPDATE {table} SET {column} = ? WHERE id = ?")
        };
        c.execute_raw(Statement::from_sql_and_values(backend, sql, [to.into(), id.as_str().into()])).await?;
    }
    Ok(())
}

pub async fn set_merged_into<C: ConnectionTrait>(c: &C, id: &CustomerId, into: Option<&CustomerId>) -> StoreResult<()> {
    customers::Entity::update_many()
        .col_expr(customers::Column::MergedInto, Expr::value(into.map(CustomerId::to_string)))
        .filter(customers::Column::Id.eq(id))
        .exec(c)
        .await?;
    Ok(())
}

pub async fn insert_merge<C: ConnectionTrait>(c: &C, row: &MergeRow) -> StoreResult<()> {
    use sea_orm::IntoActiveModel;
    crate::entities::customer_merges::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(())
}

pub async fn find_merge<C: ConnectionTrait>(c: &C, id: &str) -> StoreResult<Option<MergeRow>> {
    Ok(crate::entities::customer_merges::Entity::find_by_id(id.to_owned()).one(c).await?)
}

/// Merges into this customer, newest first.
pub async fn merges_into<C: ConnectionTrait>(c: &C, kept_id: &CustomerId) -> StoreResult<Vec<MergeRow>> {
    use crate::entities::customer_merges as cm;
    Ok(cm::Entity::find().filter(cm::Column::KeptId.eq(kept_id)).order_by_desc(cm::Column::MergedAt).all(c).await?)
}

pub async fn mark_merge_undone<C: ConnectionTrait>(c: &C, id: &str, by: &str, at: DateTime<Utc>) -> StoreResult<bool> {
    use crate::entities::customer_merges as cm;
    let res = cm::Entity::update_many()
        .col_expr(cm::Column::UndoneBy, Expr::value(by.to_owned()))
        .col_expr(cm::Column::UndoneAt, Expr::value(at))
        .filter(cm::Column::Id.eq(id))
        .filter(cm::Column::UndoneAt.is_null())
        .exec(c)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Rows per multi-row INSERT: well under SQLite's and PostgreSQL's parameter limits.
const BATCH: usize = 400;

/// Many new customers at once (imports), in chunks.
pub async fn insert_customers<C: ConnectionTrait>(c: &C, rows: &[CustomerRow]) -> StoreResult<()> {
    for chunk in rows.chunks(BATCH) {
        customers::Entity::insert_many(chunk.iter().cloned().map(IntoActiveModel::into_active_model))
            .exec_without_returning(c)
            .await?;
    }
    Ok(())
}

pub async fn insert_duplicates<C: ConnectionTrait>(c: &C, rows: &[DuplicateRow]) -> StoreResult<()> {
    for chunk in rows.chunks(BATCH) {
        customer_duplicates::Entity::insert_many(chunk.iter().cloned().map(IntoActiveModel::into_active_model))
            .exec_without_returning(c)
            .await?;
    }
    Ok(())
}

pub async fn insert_events<C: ConnectionTrait>(c: &C, rows: &[EventRow]) -> StoreResult<()> {
    for chunk in rows.chunks(BATCH) {
        customer_events::Entity::insert_many(chunk.iter().cloned().map(IntoActiveModel::into_active_model))
            .exec_without_returning(c)
            .await?;
    }
    Ok(())
}

/// The customers of a project (not merged away) sharing a phone, a name or an
/// ID index with any of the given ones: the candidates of a batch's duplicate
/// check, in a few queries instead of three per row.
pub async fn possible_duplicates_of_many<C: ConnectionTrait>(
    c: &C,
    project_id: &ProjectId,
    phones: &[String],
    names: &[String],
    id_indexes: &[String],
) -> StoreResult<Vec<DuplicateCandidate>> {
    let mut found: std::collections::BTreeMap<CustomerId, DuplicateCandidate> = std::collections::BTreeMap::new();
    let lookups: [(customers::Column, &[String]); 3] = [
        (customers::Column::Phone, phones),
        (customers::Column::Name, names),
        (customers::Column::IdNumberIndex, id_indexes),
    ];
    for (column, values) in lookups {
        for chunk in values.chunks(BATCH) {
            let rows = candidates()
                .filter(customers::Column::ProjectId.eq(project_id))
                .filter(column.is_in(chunk.iter().cloned()))
                .filter(customers::Column::MergedInto.is_null())
                .into_model::<DuplicateCandidate>()
                .all(c)
                .await?;
            for row in rows {
                found.entry(row.id.clone()).or_insert(row);
            }
        }
    }
    Ok(found.into_values().collect())
}

fn in_scope(q: sea_orm::Select<customers::Entity>, scope: &CustomerScope) -> sea_orm::Select<customers::Entity> {
    use customers::Column as K;
    match scope {
        CustomerScope::All => q,
        CustomerScope::Projects(ids) => q.filter(K::ProjectId.is_in(ids.iter().cloned())),
        CustomerScope::Owner(owner) => q.filter(K::OwnerId.eq(owner)),
    }
}

/// Customers in scope not contacted since `before`, longest silent first (at most `limit`).
pub async fn stale_customers<C: ConnectionTrait>(
    c: &C,
    scope: &CustomerScope,
    project_id: Option<&ProjectId>,
    before: DateTime<Utc>,
    limit: u64,
) -> StoreResult<Vec<CustomerRow>> {
    use customers::Column as K;
    let mut q =
        in_scope(customers::Entity::find(), scope).filter(K::MergedInto.is_null()).filter(silent_since().lt(before));
    if let Some(p) = project_id {
        q = q.filter(K::ProjectId.eq(p));
    }
    Ok(q.order_by(silent_since(), sea_orm::Order::Asc).order_by_asc(K::Id).limit(limit).all(c).await?)
}

/// The customers of active contracts with money overdue on `today` (audited
/// basis): (customer id, overdue fen, earliest unpaid due date), most first.
pub async fn customers_with_overdue_money<C: ConnectionTrait>(
    c: &C,
    projects: Option<&[ProjectId]>,
    project_id: Option<&ProjectId>,
    today: chrono::NaiveDate,
) -> StoreResult<Vec<(CustomerId, Money, chrono::NaiveDate)>> {
    use crate::entities::{contracts, instalments};
    use sea_orm::JoinType;
    use sea_orm::sea_query::{Alias, Func};
    let relation: sea_orm::RelationDef = instalments::Entity::belongs_to(contracts::Entity)
        .from(instalments::Column::ContractId)
        .to(contracts::Column::Id)
        .into();
    let open = Expr::col((instalments::Entity, instalments::Column::Amount))
        .sub(Expr::col((instalments::Entity, instalments::Column::Paid)));
    let mut q = instalments::Entity::find()
        .select_only()
        .column(contracts::Column::CustomerId)
        .column_as(
            sea_orm::sea_query::SimpleExpr::from(Func::cast_as(Func::sum(open), Alias::new("BIGINT"))),
            "overdue",
        )
        .column_as(Expr::col((instalments::Entity, instalments::Column::DueDate)).min(), "since")
        .join(JoinType::InnerJoin, relation)
        .filter(contracts::Column::Status.eq(ContractStatus::Active))
        .filter(instalments::Column::DueDate.lt(today))
        .filter(
            Expr::col((instalments::Entity, instalments::Column::Paid))
                .lt(Expr::col((instalments::Entity, instalments::Column::Amount))),
        );
    if let Some(ids) = projects {
        q = q.filter(contracts::Column::ProjectId.is_in(ids.iter().cloned()));
    }
    if let Some(p) = project_id {
        q = q.filter(contracts::Column::ProjectId.eq(p));
    }
    let mut rows: Vec<(CustomerId, Option<Money>, chrono::NaiveDate)> =
        q.group_by(contracts::Column::CustomerId).into_tuple().all(c).await?;
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(rows.into_iter().map(|(id, overdue, since)| (id, overdue.unwrap_or_default(), since)).collect())
}

pub use crate::entities::saved_filters::Model as SavedFilterRow;

pub async fn saved_filters_of<C: ConnectionTrait>(
    c: &C,
    user_id: &UserId,
    list: &str,
) -> StoreResult<Vec<SavedFilterRow>> {
    use crate::entities::saved_filters as sf;
    Ok(sf::Entity::find()
        .filter(sf::Column::UserId.eq(user_id))
        .filter(sf::Column::List.eq(list))
        .order_by_asc(sf::Column::Name)
        .all(c)
        .await?)
}

/// One of the user's saved filters.
pub async fn saved_filter<C: ConnectionTrait>(
    c: &C,
    user_id: &UserId,
    id: &str,
) -> StoreResult<Option<SavedFilterRow>> {
    use crate::entities::saved_filters as sf;
    Ok(sf::Entity::find().filter(sf::Column::Id.eq(id)).filter(sf::Column::UserId.eq(user_id)).one(c).await?)
}

/// Saves a filter under its name, replacing the user's filter of that name.
pub async fn save_filter<C: ConnectionTrait>(c: &C, row: &SavedFilterRow) -> StoreResult<SavedFilterRow> {
    use crate::entities::saved_filters as sf;
    sf::Entity::delete_many()
        .filter(sf::Column::UserId.eq(row.user_id.as_str()))
        .filter(sf::Column::List.eq(row.list.as_str()))
        .filter(sf::Column::Name.eq(row.name.as_str()))
        .exec(c)
        .await?;
    sf::Entity::insert(row.clone().into_active_model()).exec_without_returning(c).await?;
    Ok(row.clone())
}

/// Deletes one of the user's filters; false when they have none of that id.
pub async fn delete_filter<C: ConnectionTrait>(c: &C, user_id: &UserId, id: &str) -> StoreResult<bool> {
    use crate::entities::saved_filters as sf;
    let done =
        sf::Entity::delete_many().filter(sf::Column::Id.eq(id)).filter(sf::Column::UserId.eq(user_id)).exec(c).await?;
    Ok(done.rows_affected > 0)
}

/// Encrypted ID numbers a page at a time (key rotation): (customer id, ciphertext).
pub async fn id_ciphers_after<C: ConnectionTrait>(
    c: &C,
    after_id: Option<&CustomerId>,
    limit: u64,
) -> StoreResult<Vec<(CustomerId, String)>> {
    let mut q = customers::Entity::find()
        .select_only()
        .column(customers::Column::Id)
        .column(customers::Column::IdNumberCipher)
        .filter(customers::Column::IdNumberCipher.is_not_null())
        .order_by_asc(customers::Column::Id)
        .limit(limit);
    if let Some(after) = after_id {
        q = q.filter(customers::Column::Id.gt(after));
    }
    Ok(q.into_tuple().all(c).await?)
}

/// Stores an ID number encrypted and indexed under another key.
pub async fn set_id_cipher<C: ConnectionTrait>(c: &C, id: &CustomerId, cipher: &str, index: &str) -> StoreResult<()> {
    customers::Entity::update_many()
        .col_expr(customers::Column::IdNumberCipher, Expr::value(cipher.to_owned()))
        .col_expr(customers::Column::IdNumberIndex, Expr::value(index.to_owned()))
        .filter(customers::Column::Id.eq(id))
        .exec(c)
        .await?;
    Ok(())
}

/// Computes every customer's search pinyin again (`name_pinyin`), a page of
/// 5,000 at a time, and writes those that changed: after the reading rules
/// improve (surnames read as surnames). Returns how many changed.
pub async fn refresh_name_pinyin<C: ConnectionTrait>(c: &C) -> StoreResult<u64> {
    const PAGE: u64 = 5000;
    let mut after = String::new();
    let mut changed = 0;
    loop {
        let page: Vec<(String, String, String, String)> = customers::Entity::find()
            .select_only()
            .columns([
                customers::Column::Id,
                customers::Column::Name,
                customers::Column::NamePinyin,
                customers::Column::NameInitials,
            ])
            .filter(customers::Column::Id.gt(after.as_str()))
            .order_by_asc(customers::Column::Id)
            .limit(PAGE)
            .into_tuple()
            .all(c)
            .await?;
        for (id, name, pinyin, initials) in &page {
            let (new_pinyin, new_initials) = loupan_domain::customers::name_pinyin(name);
            if (&new_pinyin, &new_initials) != (pinyin, initials) {
                customers::Entity::update_many()
                    .col_expr(customers::Column::NamePinyin, Expr::value(new_pinyin))
                    .col_expr(customers::Column::NameInitials, Expr::value(new_initials))
                    .filter(customers::Column::Id.eq(id.as_str()))
                    .exec(c)
                    .await?;
                changed += 1;
            }
        }
        match page.last() {
            Some((id, ..)) if page.len() as u64 == PAGE => after = id.clone(),
            _ => return Ok(changed),
        }
    }
}

/// What cross analysis reads of a customer: the attributes it crosses.
#[derive(Debug, Clone, PartialEq, Eq, sea_orm::FromQueryResult)]
pub struct CrossRow {
    pub project_id: ProjectId,
    pub owner_id: UserId,
    pub kind: loupan_domain::customers::CustomerKind,
    pub grade: Option<String>,
    pub source: Option<String>,
    pub purpose: Option<String>,
    pub wanted_layout: Option<String>,
    pub budget: Option<Money>,
    pub birthday: Option<chrono::NaiveDate>,
}

/// The attributes of the customers in scope (not merged away), at most `limit`.
pub async fn cross_rows<C: ConnectionTrait>(
    c: &C,
    scope: &CustomerScope,
    project_id: Option<&ProjectId>,
    limit: u64,
) -> StoreResult<Vec<CrossRow>> {
    use customers::Column as K;
    let mut q = customers::Entity::find()
        .select_only()
        .columns([
            K::ProjectId,
            K::OwnerId,
            K::Kind,
            K::Grade,
            K::Source,
            K::Purpose,
            K::WantedLayout,
            K::Budget,
            K::Birthday,
        ])
        .filter(K::MergedInto.is_null())
        .limit(limit);
    q = match scope {
        CustomerScope::All => q,
        CustomerScope::Projects(ids) => q.filter(K::ProjectId.is_in(ids.iter().cloned())),
        CustomerScope::Owner(owner) => q.filter(K::OwnerId.eq(owner)),
    };
    if let Some(p) = project_id {
        q = q.filter(K::ProjectId.eq(p));
    }
    Ok(q.into_model::<CrossRow>().all(c).await?)
}

#[cfg(test)]
mod tests {
    use super::{CustomerFilter, CustomerScope, after_prefix, search_statement};
    use loupan_domain::ids::ProjectId;
    use sea_orm::DbBackend;
    use sea_orm::sea_query::Value;

    fn searches() -> Vec<(CustomerScope, CustomerFilter)> {
        let text = |t: &str| CustomerFilter { text: Some(t.to_owned()), ..CustomerFilter::default() };
        let project = CustomerScope::Projects(vec![ProjectId::from("p1".to_owned()), ProjectId::from("p2".to_owned())]);
        vec![
            (CustomerScope::All, text("王伟")),
            (CustomerScope::All, text("z")),
            (CustomerScope::All, text("zw")),
            (project.clone(), text("王")),
            (
                project,
                CustomerFilter {
                    phone: Some("+8613800000000".into()),
                    grade: Some("a".into()),
                    after_id: Some("x".into()),
                    ..CustomerFilter::default()
                },
            ),
        ]
    }

    #[test]
    fn a_page_has_its_limit_written_into_the_statement_and_every_other_value_bound() {
        for backend in [DbBackend::Postgres, DbBackend::Sqlite] {
            for (scope, filter) in searches() {
                let page = search_statement(backend, &scope, &filter, 51);
                let values = page.values.as_ref().map(|v| v.0.clone()).unwrap_or_default();
                assert!(page.sql.contains(" LIMIT 51"), "{backend:?} {filter:?}: {}", page.sql);
                assert!(!values.contains(&Value::BigUnsigned(Some(51))), "{backend:?} {filter:?}: {values:?}");
                let placeholders = match backend {
                    DbBackend::Postgres => {
                        (1..=values.len() + 1).filter(|n| page.sql.contains(&format!("${n}"))).count()
                    }
                    _ => page.sql.matches('?').count(),
                };
                assert_eq!(placeholders, values.len(), "{backend:?} {filter:?}: {}", page.sql);
            }
        }
    }

    #[test]
    fn on_postgresql_a_search_in_an_indexes_id_order_reads_its_rows_straight_from_the_index() {
        let reads_ids_first = |scope: &CustomerScope, t: &str| {
            let filter = CustomerFilter { text: Some(t.to_owned()), ..CustomerFilter::default() };
            search_statement(DbBackend::Postgres, scope, &filter, 51).sql.contains(" IN (SELECT")
        };
        let project = CustomerScope::Projects(vec![ProjectId::from("p1".to_owned())]);
        assert!(!reads_ids_first(&CustomerScope::All, "王伟"));
        assert!(!reads_ids_first(&CustomerScope::All, "z"));
        // A range, and a scope whose index leads with the project: matches out of id order.
        assert!(reads_ids_first(&CustomerScope::All, "zw"));
        assert!(reads_ids_first(&CustomerScope::All, "王伟明"));
        assert!(reads_ids_first(&project, "王"));
    }

    #[test]
    fn the_range_of_a_prefix_ends_at_the_next_string_that_does_not_begin_with_it() {
        assert_eq!(after_prefix("zs").as_deref(), Some("zt"));
        assert_eq!(after_prefix("王伟").as_deref(), Some("王传"));
        // The last character with a successor moves on; what follows it goes.
        assert_eq!(after_prefix("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(after_prefix("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(after_prefix("\u{10FFFF}\u{10FFFF}"), None);
        assert_eq!(after_prefix(""), None);
        // Every string that begins with the prefix sorts before the end, in byte order.
        for prefix in ["a", "王", "王伟", "zs", "1\u{10FFFF}"] {
            let end = after_prefix(prefix).unwrap_or_default();
            for tail in ["", "\u{0}", "z", "\u{10FFFF}\u{10FFFF}"] {
                let name = format!("{prefix}{tail}");
                assert!(name.as_bytes() >= prefix.as_bytes() && name.as_bytes() < end.as_bytes(), "{name:?}");
            }
        }
    }
}
