//! Customers: registration with the duplicate check (防撞单), data scope (agents
//! see their own customers, managers their projects'), personal data encrypted
//! and masked, follow-ups, the timeline, duplicate rulings and transfers.

pub mod cross;
pub mod exceptions;
pub mod grades;
pub mod import;
pub mod saved_filters;

use loupan_domain::ids::{CustomerId, ProjectId, UserId};
use std::collections::HashMap;

use chrono::NaiveDate;
use loupan_domain::access::DataScope;
use loupan_domain::customers::{
    CustomerEventKind, CustomerKind, DuplicateStatus, FollowUpKind, IdType, MatchKind, PURPOSES, PhoneNumber,
    mask_id_number, name_pinyin, parse_categories, parse_email, parse_id_number, parse_tags,
};
use loupan_domain::validation::{optional_text, required_text};
use loupan_domain::{Area, Invalid, Money, Permission, Role};
use loupan_store::Connection;
use loupan_store::customers::{
    self as store, CustomerFilter, CustomerRow, CustomerScope, DuplicateRow, EventRow, FollowUpRow,
};
use loupan_store::{inventory as store_inventory, users as store_users};
use serde::Serialize;

use crate::platform::audit::{self, Change};
use crate::{Actor, ServiceError, ServiceResult, Services};

/// A customer as the acting user may see them: the phone in full only for the
/// owning agent, the ID number always masked (see `reveal`).
#[derive(Debug, Clone, Serialize)]
pub struct Customer {
    pub id: CustomerId,
    pub project_id: ProjectId,
    pub owner_id: UserId,
    pub owner_name: String,
    pub kind: CustomerKind,
    pub name: String,
    pub phone: String,
    pub phone_masked: bool,
    pub id_type: Option<String>,
    pub id_number_masked: Option<String>,
    pub source: Option<String>,
    pub grade: Option<String>,
    pub notes: Option<String>,
    pub last_contact_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The customer this one was merged into (it is then hidden from lists).
    pub merged_into: Option<CustomerId>,
    /// Overlapping categories (`potential`, `buyer`, …), see `CATEGORIES`.
    pub categories: Vec<String>,
    pub tags: Vec<String>,
    pub birthday: Option<NaiveDate>,
    /// The birthday is kept by the lunar calendar (农历生日): greetings come on its lunar date.
    pub birthday_lunar: bool,
    pub email: Option<String>,
    pub wechat: Option<String>,
    pub address: Option<String>,
    pub contact_person: Option<String>,
    pub needs: Needs,
    /// The grade was set by hand; grade rules leave it alone.
    pub grade_manual: bool,
    /// The customer's other phones, masked like the main one; only on a single customer.
    pub other_phones: Option<Vec<OtherPhone>>,
    /// Refused marketing (PIPL): opening notices and greetings skip them.
    pub marketing_opt_out: bool,
    pub version: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// What the customer is looking for.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Needs {
    pub budget: Option<Money>,
    /// `3室2厅`.
    pub layout: Option<String>,
    pub area_min: Option<Area>,
    pub area_max: Option<Area>,
    /// See `PURPOSES`.
    pub purpose: Option<String>,
    pub homes_owned: Option<i32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OtherPhone {
    pub phone: String,
    pub label: Option<String>,
}

/// Another customer that a registration collides with.
#[derive(Debug, Clone, Serialize)]
pub struct DuplicateMatch {
    pub customer_id: CustomerId,
    #[serde(rename = "match")]
    pub match_kind: MatchKind,
    pub owner_agent: String,
    pub owner_id: UserId,
}

#[derive(Debug, Clone, Default)]
pub struct NewCustomer {
    pub project_id: Option<String>,
    pub name: Option<String>,
    pub phone: Option<String>,
    pub kind: Option<String>,
    pub id_type: Option<String>,
    pub id_number: Option<String>,
    pub source: Option<String>,
    pub grade: Option<String>,
    pub notes: Option<String>,
    /// Another agent to own the customer (managers only); default the caller.
    pub owner_id: Option<String>,
    /// Comma-separated categories and tags.
    pub categories: Option<String>,
    pub tags: Option<String>,
    /// `YYYY-MM-DD`.
    pub birthday: Option<String>,
    /// The birthday is kept by the lunar calendar (农历生日); the date above is the solar date of birth.
    pub birthday_lunar: Option<bool>,
    pub email: Option<String>,
    pub wechat: Option<String>,
    pub address: Option<String>,
    pub contact_person: Option<String>,
    /// Yuan as a decimal string.
    pub budget: Option<String>,
    pub wanted_layout: Option<String>,
    /// Square metres as decimal strings.
    pub wanted_area_min: Option<String>,
    pub wanted_area_max: Option<String>,
    pub purpose: Option<String>,
    pub homes_owned: Option<String>,
    /// Other phones, any format, each with an optional label (`办公`).
    pub other_phones: Option<Vec<(String, Option<String>)>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Registered {
    pub customer: Customer,
    pub duplicates: Vec<DuplicateMatch>,
}

/// Resolves owner names once per call instead of once per row.
pub(crate) struct OwnerNames(HashMap<UserId, String>);

impl OwnerNames {
    pub(crate) fn new() -> Self {
        OwnerNames(HashMap::new())
    }

    /// The owner's name read with a customer's row (`store::NamedCustomer`).
    pub(crate) fn know(&mut self, found: &store::NamedCustomer) {
        let name = found.owner_name.clone().unwrap_or_else(|| found.row.owner_id.to_string());
        self.0.insert(found.row.owner_id.clone(), name);
    }

    async fn name<C: Connection>(&mut self, conn: &C, user_id: &UserId) -> ServiceResult<String> {
        if let Some(n) = self.0.get(user_id) {
            return Ok(n.clone());
        }
        let name = store_users::find_user(conn, user_id).await?.map_or_else(|| user_id.to_string(), |u| u.display_name);
        self.0.insert(user_id.clone(), name.clone());
        Ok(name)
    }
}

pub(crate) fn may_see(actor: &Actor, row: &CustomerRow) -> bool {
    match actor.customer_scope() {
        None => false,
        Some(DataScope::All) => true,
        Some(DataScope::Project) => actor.sees_project(&row.project_id),
        Some(DataScope::Own) => actor.user_id.as_ref().map(UserId::as_str) == Some(row.owner_id.as_str()),
    }
}

async fn view<C: Connection>(
    conn: &C,
    actor: &Actor,
    row: CustomerRow,
    names: &mut OwnerNames,
) -> ServiceResult<Customer> {
    let phone = PhoneNumber::from_stored(row.phone);
    let owner = actor.user_id.as_ref().map(UserId::as_str) == Some(row.owner_id.as_str());
    Ok(Customer {
        owner_name: names.name(conn, &row.owner_id).await?,
        id: row.id,
        project_id: row.project_id,
        owner_id: row.owner_id,
        kind: row.kind,
        name: row.name,
        phone: if owner { phone.display() } else { phone.masked() },
        phone_masked: !owner,
        id_type: row.id_type,
        id_number_masked: row.id_number_masked,
        source: row.source,
        grade: row.grade,
        notes: row.notes,
        last_contact_at: row.last_contact_at,
        merged_into: row.merged_into,
        categories: split_list(&row.categories),
        tags: split_list(&row.tags),
        birthday: row.birthday,
        birthday_lunar: row.birthday_lunar,
        email: row.email,
        wechat: row.wechat,
        address: row.address,
        contact_person: row.contact_person,
        needs: Needs {
            budget: row.budget,
            layout: row.wanted_layout,
            area_min: row.wanted_area_min,
            area_max: row.wanted_area_max,
            purpose: row.purpose,
            homes_owned: row.homes_owned,
        },
        grade_manual: row.grade_manual,
        marketing_opt_out: row.marketing_opt_out_at.is_some(),
        other_phones: None,
        version: row.version,
        created_at: row.created_at,
    })
}

fn split_list(text: &str) -> Vec<String> {
    text.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// The other phones on a single customer's view, masked as the main phone is.
async fn with_other_phones<C: Connection>(conn: &C, customer: Customer) -> ServiceResult<Customer> {
    let rows = store::phones_of(conn, std::slice::from_ref(&customer.id)).await?;
    let phones = rows.into_iter().map(|r| store::OtherPhone { phone: r.phone, label: r.label }).collect();
    Ok(with_phones(customer, phones))
}

/// The other phones on the customer, masked as its main phone is.
fn with_phones(mut customer: Customer, phones: Vec<store::OtherPhone>) -> Customer {
    customer.other_phones = Some(
        phones
            .into_iter()
            .map(|r| {
                let phone = PhoneNumber::from_stored(r.phone);
                OtherPhone {
                    phone: if customer.phone_masked { phone.masked() } else { phone.display() },
                    label: r.label,
                }
            })
            .collect(),
    );
    customer
}

/// A customer the actor may see; 404 otherwise, so existence is not revealed.
pub(crate) async fn visible<C: Connection>(conn: &C, actor: &Actor, id: &CustomerId) -> ServiceResult<CustomerRow> {
    actor.require(Permission::ReadCustomers)?;
    match store::find_customer(conn, id).await? {
        Some(row) if may_see(actor, &row) => Ok(row),
        _ => Err(ServiceError::NotFound("customer")),
    }
}

fn classify(row: &store::DuplicateCandidate, same_phone: bool, name: &str, id_index: Option<&str>) -> MatchKind {
    let same_name = row.name == name;
    match (same_phone, same_name) {
        (true, true) => MatchKind::Both,
        (true, false) => MatchKind::Phone,
        (false, true) => MatchKind::Name,
        _ if id_index.is_some() && row.id_number_index.as_deref() == id_index => MatchKind::IdNumber,
        _ => MatchKind::Name,
    }
}

/// Who a customer with these phones (main first), name and ID index collides
/// with, leaving out `itself` (a changed customer).
async fn matches<C: Connection>(
    conn: &C,
    project_id: &ProjectId,
    phones: &[String],
    name: &str,
    id_index: Option<&str>,
    itself: Option<&CustomerId>,
    names: &mut OwnerNames,
) -> ServiceResult<Vec<DuplicateMatch>> {
    let (rows, by_other_phone) = store::find_possible_duplicates(conn, project_id, phones, name, id_index).await?;
    let mut found = Vec::new();
    for row in rows.into_iter().filter(|r| Some(&r.id) != itself) {
        let same_phone = phones.contains(&row.phone) || by_other_phone.contains(&row.id);
        found.push(DuplicateMatch {
            match_kind: classify(&row, same_phone, name, id_index),
            owner_agent: names.name(conn, &row.owner_id).await?,
            owner_id: row.owner_id,
            customer_id: row.id,
        });
    }
    Ok(found)
}

/// The ID document as typed: both fields or neither.
fn parse_id(errors: &mut Invalid, id_type: Option<&str>, id_number: Option<&str>) -> Option<(IdType, String)> {
    let id_type = id_type.map(str::trim).filter(|s| !s.is_empty());
    let id_number = id_number.map(str::trim).filter(|s| !s.is_empty());
    match (id_type, id_number) {
        (None, None) => None,
        (kind, Some(number)) => {
            let Some(kind) = IdType::parse(kind.unwrap_or("resident_id")) else {
                errors.push("id_type", "unknown_id_type");
                return None;
            };
            match parse_id_number(kind, number) {
                Ok(n) => Some((kind, n)),
                Err(code) => {
                    errors.push("id_number", code);
                    None
                }
            }
        }
        (Some(_), None) => {
            errors.push("id_number", "required");
            None
        }
    }
}

/// A registration that passed every field check.
struct ValidCustomer {
    project_id: ProjectId,
    name: String,
    phone: PhoneNumber,
    kind: CustomerKind,
    id: Option<(IdType, String)>,
    source: Option<String>,
    grade: Option<String>,
    notes: Option<String>,
    profile: ValidProfile,
}

/// The profile beyond name, phone and ID: contacts, needs, categories and tags.
#[derive(Default)]
struct ValidProfile {
    categories: String,
    tags: String,
    birthday: Option<NaiveDate>,
    birthday_lunar: bool,
    email: Option<String>,
    wechat: Option<String>,
    address: Option<String>,
    contact_person: Option<String>,
    budget: Option<Money>,
    wanted_layout: Option<String>,
    wanted_area_min: Option<Area>,
    wanted_area_max: Option<Area>,
    purpose: Option<String>,
    homes_owned: Option<i32>,
    other_phones: Vec<(PhoneNumber, Option<String>)>,
}

impl ValidProfile {
    /// Writes the profile onto the customer's row; the other phones are stored apart.
    fn write_into(self, row: &mut CustomerRow) -> Vec<(PhoneNumber, Option<String>)> {
        row.categories = self.categories;
        row.tags = self.tags;
        row.birthday = self.birthday;
        row.birthday_lunar = self.birthday_lunar;
        row.email = self.email;
        row.wechat = self.wechat;
        row.address = self.address;
        row.contact_person = self.contact_person;
        row.budget = self.budget;
        row.wanted_layout = self.wanted_layout;
        row.wanted_area_min = self.wanted_area_min;
        row.wanted_area_max = self.wanted_area_max;
        row.purpose = self.purpose;
        row.homes_owned = self.homes_owned;
        self.other_phones
    }
}

fn decimal<T>(
    errors: &mut Invalid,
    field: &str,
    text: Option<&str>,
    parse: fn(&str) -> Result<T, loupan_domain::quantity::DecimalError>,
) -> Option<T> {
    let text = text.map(str::trim).filter(|t| !t.is_empty())?;
    parse(text).map_err(|e| errors.push(field, e.code())).ok()
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|t| !t.is_empty())
}

fn validate_profile(
    errors: &mut Invalid,
    form: &NewCustomer,
    main_phone: Option<&PhoneNumber>,
    today: NaiveDate,
) -> ValidProfile {
    let text = present;
    let categories = match parse_categories(text(&form.categories).unwrap_or_default()) {
        Ok(c) => c.join(","),
        Err(code) => {
            errors.push("categories", code);
            String::new()
        }
    };
    let tags = match parse_tags(text(&form.tags).unwrap_or_default()) {
        Ok(t) => t.join(","),
        Err(code) => {
            errors.push("tags", code);
            String::new()
        }
    };
    let birthday = text(&form.birthday).and_then(|d| {
        match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
            Ok(day) if day > today => errors.push("birthday", "in_the_future"),
            Ok(day) if day < NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or(day) => {
                errors.push("birthday", "out_of_range")
            }
            Ok(day) => return Some(day),
            Err(_) => errors.push("birthday", "invalid_date"),
        }
        None
    });
    let email = text(&form.email).and_then(|e| parse_email(e).map_err(|code| errors.push("email", code)).ok());
    let budget = decimal(errors, "budget", text(&form.budget), Money::parse);
    if budget.is_some_and(Money::is_negative) {
        errors.push("budget", "must_not_be_negative");
    }
    let area = |errors: &mut Invalid, field: &str, v: &Option<String>| {
        let a = decimal(errors, field, text(v), Area::parse);
        if a.is_some_and(|a| !a.is_positive()) {
            errors.push(field, "must_be_positive");
        }
        a
    };
    let wanted_area_min = area(errors, "wanted_area_min", &form.wanted_area_min);
    let wanted_area_max = area(errors, "wanted_area_max", &form.wanted_area_max);
    if let (Some(lo), Some(hi)) = (wanted_area_min, wanted_area_max)
        && lo > hi
    {
        errors.push("wanted_area_max", "below_minimum");
    }
    let purpose = text(&form.purpose).and_then(|p| match PURPOSES.iter().find(|k| **k == p) {
        Some(k) => Some((*k).to_owned()),
        None => {
            errors.push("purpose", "unknown_purpose");
            None
        }
    });
    let homes_owned = text(&form.homes_owned).and_then(|n| match n.parse::<i32>() {
        Ok(n) if (0..=99).contains(&n) => Some(n),
        _ => {
            errors.push("homes_owned", "out_of_range");
            None
        }
    });
    let mut other_phones: Vec<(PhoneNumber, Option<String>)> = Vec::new();
    let typed = form.other_phones.as_deref().unwrap_or_default();
    if typed.len() > 5 {
        errors.push("other_phones", "too_many");
    }
    for (i, (phone, label)) in typed.iter().enumerate().take(5) {
        let field = format!("other_phones[{i}]");
        let label = optional_text(errors, &field, label.as_deref(), 20);
        match PhoneNumber::parse(phone) {
            Ok(p) if main_phone == Some(&p) || other_phones.iter().any(|(o, _)| *o == p) => {}
            Ok(p) => other_phones.push((p, label)),
            Err(code) => errors.push(field, code),
        }
    }
    ValidProfile {
        categories,
        tags,
        birthday_lunar: birthday.is_some() && form.birthday_lunar.unwrap_or(false),
        birthday,
        email,
        wechat: optional_text(errors, "wechat", form.wechat.as_deref(), 60),
        address: optional_text(errors, "address", form.address.as_deref(), 200),
        contact_person: optional_text(errors, "contact_person", form.contact_person.as_deref(), 60),
        budget,
        wanted_layout: optional_text(errors, "wanted_layout", form.wanted_layout.as_deref(), 20),
        wanted_area_min,
        wanted_area_max,
        purpose,
        homes_owned,
        other_phones,
    }
}

/// The field rules of a registration, shared by the form, the API and Excel imports.
/// `today`: the company's date, after which no birthday can be.
fn validate(form: &NewCustomer, today: NaiveDate) -> Result<ValidCustomer, Invalid> {
    let mut errors = Invalid::default();
    let project_id = required_text(&mut errors, "project_id", form.project_id.as_deref(), 64);
    let name = required_text(&mut errors, "name", form.name.as_deref(), 60);
    let phone = match form.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => {
            errors.push("phone", "required");
            None
        }
        Some(p) => PhoneNumber::parse(p).map_err(|code| errors.push("phone", code)).ok(),
    };
    let kind = match form.kind.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        None => CustomerKind::Individual,
        Some(k) => CustomerKind::parse(k).unwrap_or_else(|| {
            errors.push("kind", "unknown_kind");
            CustomerKind::Individual
        }),
    };
    let id = parse_id(&mut errors, form.id_type.as_deref(), form.id_number.as_deref());
    if kind == CustomerKind::Enterprise && id.as_ref().is_some_and(|(t, _)| *t != IdType::BusinessLicense) {
        errors.push("id_type", "enterprise_needs_credit_code");
    }
    let source = optional_text(&mut errors, "source", form.source.as_deref(), 60);
    let grade = optional_text(&mut errors, "grade", form.grade.as_deref(), 20);
    let notes = optional_text(&mut errors, "notes", form.notes.as_deref(), 2000);
    let profile = validate_profile(&mut errors, form, phone.as_ref(), today);
    match phone {
        Some(phone) if errors.is_empty() => Ok(ValidCustomer {
            project_id: ProjectId::from(project_id),
            name,
            phone,
            kind,
            id,
            source,
            grade,
            notes,
            profile,
        }),
        _ => Err(errors),
    }
}

/// Who will own a new customer: the caller, or another agent chosen by a manager.
fn owner_of(actor: &Actor, requested: Option<String>) -> ServiceResult<UserId> {
    match UserId::given(requested.as_deref()) {
        Some(o) if actor.user_id.as_ref() != Some(&o) => {
            actor.require(Permission::ManageCustomers)?;
            Ok(o)
        }
        Some(o) => Ok(o),
        None => actor.user_id.clone().ok_or(ServiceError::Forbidden),
    }
}

/// Writes one checked registration inside the caller's transaction: the
/// duplicate check, the customer, duplicate records, timeline and audit.
async fn write_customer<C: Connection>(
    services: &Services,
    conn: &C,
    actor: &Actor,
    v: ValidCustomer,
    owner_id: UserId,
    names: &mut OwnerNames,
) -> ServiceResult<Registered> {
    let (mut row, phones) = new_row(services, v, owner_id)?;
    crate::customers::grades::Rules::of_project(conn, &row.project_id).await?.grade_new(&mut row, services.clock.now());
    let now = row.created_at;
    let all_phones: Vec<String> =
        std::iter::once(row.phone.clone()).chain(phones.iter().map(|p| p.phone.clone())).collect();
    let duplicates =
        matches(conn, &row.project_id, &all_phones, &row.name, row.id_number_index.as_deref(), None, names).await?;
    store::insert_customer(conn, &row).await?;
    store::insert_phones(conn, &phones).await?;
    for d in &duplicates {
        // One record per pair, for a manager to rule on (S3).
        store::insert_duplicate(conn, &duplicate_record(&row, d, now)).await?;
    }
    add_event(conn, (actor, services.clock.now()), &row.id, CustomerEventKind::Registered, &[("name", &row.name)])
        .await?;
    let customer = view(conn, actor, row, names).await?;
    audit::record(conn, actor, registered_change(&customer)?).await?;
    crate::platform::webhooks::publish(conn, "customer.created", shared_view(&customer)?).await?;
    Ok(Registered { customer, duplicates })
}

fn phone_rows(customer_id: &CustomerId, phones: &[(PhoneNumber, Option<String>)]) -> Vec<store::PhoneRow> {
    phones
        .iter()
        .map(|(p, label)| store::PhoneRow {
            id: loupan_store::new_id(),
            customer_id: customer_id.to_owned(),
            phone: p.as_str().to_owned(),
            label: label.clone(),
        })
        .collect()
}

/// The ID document's stored columns: type, cipher, blind index, mask.
type StoredId = (Option<String>, Option<String>, Option<String>, Option<String>);

fn stored_id(services: &Services, id: &Option<(IdType, String)>) -> ServiceResult<StoredId> {
    Ok(match id {
        Some((kind, number)) => (
            Some(kind.name().to_owned()),
            Some(services.secrets.encrypt(number)?),
            Some(services.secrets.blind_index(number)?),
            Some(mask_id_number(number)),
        ),
        None => (None, None, None, None),
    })
}

/// The stored row of a valid registration (ID number encrypted with its blind
/// index and mask, the name's pinyin) and its other phones.
fn new_row(
    services: &Services,
    v: ValidCustomer,
    owner_id: UserId,
) -> ServiceResult<(CustomerRow, Vec<store::PhoneRow>)> {
    let (id_type, cipher, index, masked) = stored_id(services, &v.id)?;
    let (pinyin, initials) = name_pinyin(&v.name);
    let now = services.clock.now();
    let id = CustomerId::from(loupan_store::new_id());
    let mut row = CustomerRow {
        id,
        project_id: v.project_id,
        owner_id,
        kind: v.kind,
        name: v.name,
        name_pinyin: pinyin,
        name_initials: initials,
        phone: v.phone.as_str().to_owned(),
        id_type,
        id_number_cipher: cipher,
        id_number_index: index,
        id_number_masked: masked,
        source: v.source,
        grade_manual: v.grade.is_some(),
        grade: v.grade,
        notes: v.notes,
        last_contact_at: None,
        merged_into: None,
        version: 1,
        created_at: now,
        updated_at: now,
        ..Default::default()
    };
    let other_phones = v.profile.write_into(&mut row);
    let phones = phone_rows(&row.id, &other_phones);
    Ok((row, phones))
}

/// The duplicate record of a new customer and one it matched (S3).
fn duplicate_record(row: &CustomerRow, d: &DuplicateMatch, now: chrono::DateTime<chrono::Utc>) -> DuplicateRow {
    DuplicateRow {
        id: loupan_store::new_id(),
        project_id: row.project_id.clone(),
        customer_id: row.id.clone(),
        matched_customer_id: d.customer_id.clone(),
        match_kind: d.match_kind,
        status: DuplicateStatus::Open,
        ruling_note: None,
        ruled_by: None,
        ruled_at: None,
        created_at: now,
    }
}

fn registered_change(customer: &Customer) -> ServiceResult<Change<'_>> {
    Ok(Change {
        action: "customer.register",
        record_type: "customer",
        record_id: customer.id.as_str(),
        before: None,
        after: crate::platform::audit::snapshot(customer)?,
    })
}

/// Integrations get the masked view, whoever registered: personal data stays inside Loupan.
fn shared_view(customer: &Customer) -> ServiceResult<serde_json::Value> {
    let masked_phone = PhoneNumber::parse(&customer.phone).map(|p| p.masked()).unwrap_or_default();
    let shared = Customer {
        phone: masked_phone,
        phone_masked: true,
        notes: None,
        email: None,
        wechat: None,
        address: None,
        birthday: None,
        birthday_lunar: false,
        other_phones: None,
        ..customer.clone()
    };
    crate::platform::audit::payload(&shared)
}

/// Registers many valid forms in the caller's transaction (an import), in
/// file order, with exactly what one registration each would write — the rows,
/// a duplicate record per match (against existing customers and earlier rows
/// of the batch), timeline events, the audit chain, webhooks — but with the
/// duplicate candidates fetched and the rows inserted a chunk at a time.
pub(crate) async fn write_batch<C: Connection>(
    services: &Services,
    conn: &C,
    actor: &Actor,
    project_id: &ProjectId,
    forms: Vec<NewCustomer>,
    owner_id: UserId,
    names: &mut OwnerNames,
) -> ServiceResult<Vec<Registered>> {
    let rules = crate::customers::grades::Rules::of_project(conn, project_id).await?;
    let mut rows = Vec::with_capacity(forms.len());
    let mut new_phones = Vec::new();
    for form in &forms {
        let valid = validate(form, services.clock.today())?;
        if &valid.project_id != project_id {
            return Err(Invalid::one("project_id", "unknown_project").into());
        }
        let (mut row, phones) = new_row(services, valid, owner_id.clone())?;
        rules.grade_new(&mut row, services.clock.now());
        rows.push(row);
        new_phones.extend(phones);
    }
    // Every phone of the batch, main and other, is looked for as anyone's main or other phone.
    let mut other_phones: HashMap<CustomerId, Vec<String>> = HashMap::new();
    for p in &new_phones {
        other_phones.entry(p.customer_id.clone()).or_default().push(p.phone.clone());
    }
    let distinct = |pick: fn(&CustomerRow) -> Option<&String>| {
        let mut v: Vec<String> = rows.iter().filter_map(|r| pick(r).cloned()).collect();
        v.sort();
        v.dedup();
        v
    };
    let (mut phones, row_names, indexes) =
        (distinct(|r| Some(&r.phone)), distinct(|r| Some(&r.name)), distinct(|r| r.id_number_index.as_ref()));
    phones.extend(new_phones.iter().map(|p| p.phone.clone()));
    phones.sort();
    phones.dedup();
    // Candidates: the project's customers sharing any key, then each row as it is added.
    let mut pool = store::possible_duplicates_of_many(conn, project_id, &phones, &row_names, &indexes).await?;
    let owners = store::owners_of_phones(conn, &phones).await?;
    if !owners.is_empty() {
        let known: std::collections::HashSet<CustomerId> = pool.iter().map(|c| c.id.clone()).collect();
        pool.extend(
            store::candidates_by_ids(conn, &owners)
                .await?
                .into_iter()
                .filter(|c| &c.project_id == project_id && c.merged_into.is_none() && !known.contains(&c.id)),
        );
        for p in store::phones_of(conn, &owners).await? {
            other_phones.entry(p.customer_id).or_default().push(p.phone);
        }
    }
    let mut by_key: HashMap<(u8, String), Vec<usize>> = HashMap::new();
    let keys = |c: &store::DuplicateCandidate| {
        let mut k = vec![(0u8, c.phone.clone()), (1u8, c.name.clone())];
        k.extend(other_phones.get(&c.id).into_iter().flatten().map(|p| (0u8, p.clone())));
        k.extend(c.id_number_index.clone().map(|i| (2u8, i)));
        k
    };
    for (i, c) in pool.iter().enumerate() {
        for k in keys(c) {
            by_key.entry(k).or_default().push(i);
        }
    }
    let mut duplicate_rows = Vec::new();
    let mut events = Vec::new();
    let mut found = Vec::with_capacity(rows.len());
    for row in &rows {
        let index = row.id_number_index.as_deref();
        let candidate = store::DuplicateCandidate::from(row);
        let row_keys = keys(&candidate);
        let mut hits: Vec<usize> = row_keys.iter().filter_map(|k| by_key.get(k)).flatten().copied().collect();
        // As the one-by-one check: at most 50, by id.
        hits.sort_by(|a, b| pool[*a].id.cmp(&pool[*b].id));
        hits.dedup();
        hits.truncate(50);
        let hits: Vec<&store::DuplicateCandidate> = hits.into_iter().map(|i| &pool[i]).collect();
        let mut duplicates = Vec::with_capacity(hits.len());
        let row_phones: Vec<&(u8, String)> = row_keys.iter().filter(|k| k.0 == 0).collect();
        for c in hits {
            let same_phone = keys(c).iter().any(|k| row_phones.contains(&k));
            duplicates.push(DuplicateMatch {
                match_kind: classify(c, same_phone, &row.name, index),
                owner_agent: names.name(conn, &c.owner_id).await?,
                owner_id: c.owner_id.clone(),
                customer_id: c.id.clone(),
            });
        }
        duplicate_rows.extend(duplicates.iter().map(|d| duplicate_record(row, d, row.created_at)));
        events.push(timeline_row(
            &row.id,
            (actor, services.clock.now()),
            CustomerEventKind::Registered,
            &[("name", &row.name)],
        )?);
        found.push(duplicates);
        for k in row_keys {
            by_key.entry(k).or_default().push(pool.len());
        }
        pool.push(candidate);
    }
    store::insert_customers(conn, &rows).await?;
    store::insert_phones(conn, &new_phones).await?;
    store::insert_duplicates(conn, &duplicate_rows).await?;
    store::insert_events(conn, &events).await?;
    let mut done = Vec::with_capacity(rows.len());
    for (row, duplicates) in rows.into_iter().zip(found) {
        done.push(Registered { customer: view(conn, actor, row, names).await?, duplicates });
    }
    audit::record_many(conn, actor, done.iter().map(|r| registered_change(&r.customer)).collect::<ServiceResult<_>>()?)
        .await?;
    crate::platform::webhooks::publish_many(conn, "customer.created", &done, |r| shared_view(&r.customer)).await?;
    Ok(done)
}

/// The field rules alone (Excel imports report them per row).
pub(crate) fn validate_form(form: &NewCustomer, today: NaiveDate) -> Result<(), Invalid> {
    validate(form, today).map(|_| ())
}

/// The project exists and the actor may register customers in it.
pub(crate) async fn check_project<C: Connection>(conn: &C, actor: &Actor, project_id: &ProjectId) -> ServiceResult<()> {
    if !actor.sees_project(project_id) || store_inventory::find_project(conn, project_id).await?.is_none() {
        return Err(Invalid::one("project_id", "unknown_project").into());
    }
    Ok(())
}

/// Who a valid form would collide with, without writing anything.
pub(crate) async fn matches_for<C: Connection>(
    services: &Services,
    conn: &C,
    project_id: &ProjectId,
    form: &NewCustomer,
    names: &mut OwnerNames,
) -> ServiceResult<Vec<DuplicateMatch>> {
    let v = validate(form, services.clock.today())?;
    let index = v.id.as_ref().map(|(_, number)| services.secrets.blind_index(number)).transpose()?;
    let phones: Vec<String> = std::iter::once(v.phone.as_str().to_owned())
        .chain(v.profile.other_phones.iter().map(|(p, _)| p.as_str().to_owned()))
        .collect();
    matches(conn, project_id, &phones, &v.name, index.as_deref(), None, names).await
}

async fn check_project_and_owner<C: Connection>(
    conn: &C,
    actor: &Actor,
    project_id: &ProjectId,
    owner_id: &UserId,
) -> ServiceResult<()> {
    if !actor.sees_project(project_id) || store_inventory::find_project(conn, project_id).await?.is_none() {
        return Err(Invalid::one("project_id", "unknown_project").into());
    }
    if store_users::find_user(conn, owner_id).await?.is_none() {
        return Err(Invalid::one("owner_id", "unknown_user").into());
    }
    Ok(())
}

pub async fn register(services: &Services, actor: &Actor, form: NewCustomer) -> ServiceResult<Registered> {
    actor.require(Permission::WriteCustomers)?;
    let owner_id = owner_of(actor, form.owner_id.clone())?;
    let valid = validate(&form, services.clock.today())?;
    let tx = services.store.begin_write().await?;
    check_project_and_owner(&tx, actor, &valid.project_id, &owner_id).await?;
    let done = write_customer(services, &tx, actor, valid, owner_id, &mut OwnerNames::new()).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(done)
}

/// Registers a customer for `owner_id` in the caller's transaction, whoever
/// the actor is (reception hands a new visitor to the agent on duty; the
/// caller decided who may). The form's fields are checked as `register` does.
pub(crate) async fn register_for<C: Connection>(
    services: &Services,
    conn: &C,
    actor: &Actor,
    form: &NewCustomer,
    owner_id: UserId,
) -> ServiceResult<Registered> {
    let valid = validate(form, services.clock.today())?;
    write_customer(services, conn, actor, valid, owner_id, &mut OwnerNames::new()).await
}

/// The duplicate warning shown while an agent types (phone first), without saving.
pub async fn check_duplicates(
    services: &Services,
    actor: &Actor,
    project_id: &ProjectId,
    phone: Option<&str>,
    name: Option<&str>,
) -> ServiceResult<Vec<DuplicateMatch>> {
    actor.require(Permission::WriteCustomers)?;
    if !actor.sees_project(project_id) {
        return Err(ServiceError::NotFound("project"));
    }
    let phone = phone.and_then(|p| PhoneNumber::parse(p).ok()).map(|p| p.as_str().to_owned()).unwrap_or_default();
    let name = name.map(str::trim).unwrap_or_default();
    if phone.is_empty() && name.is_empty() {
        return Ok(Vec::new());
    }
    let mut names = OwnerNames::new();
    let phones = if phone.is_empty() { Vec::new() } else { vec![phone.clone()] };
    let found = matches(services.store.conn(), project_id, &phones, name, None, None, &mut names).await?;
    Ok(found.into_iter().filter(|m| !(phone.is_empty() && m.match_kind == MatchKind::Phone)).collect())
}

pub async fn get(services: &Services, actor: &Actor, id: &CustomerId) -> ServiceResult<Customer> {
    actor.require(Permission::ReadCustomers)?;
    let conn = services.store.conn();
    // As `visible`, with the owner's name and the other phones in the same statement.
    let card = match store::find_customer_card(conn, id).await? {
        Some(card) if may_see(actor, &card.named.row) => card,
        _ => return Err(ServiceError::NotFound("customer")),
    };
    let mut names = OwnerNames::new();
    names.know(&card.named);
    let customer = view(conn, actor, card.named.row, &mut names).await?;
    Ok(with_phones(customer, card.other_phones))
}

/// A change to a customer's profile: absent fields stay as they are, an empty
/// text clears an optional field. Owner and project change by transfer only.
#[derive(Debug, Clone, Default)]
pub struct CustomerUpdate {
    /// The version the user edited (no lost updates).
    pub version: Option<i64>,
    pub fields: NewCustomer,
}

/// Changes a customer (the owning agent or a manager of the project). A new
/// phone, name or ID number is checked for duplicates like a registration.
pub async fn update(
    services: &Services,
    actor: &Actor,
    id: &CustomerId,
    change: CustomerUpdate,
) -> ServiceResult<Registered> {
    actor.require(Permission::WriteCustomers)?;
    let Some(version) = change.version else { return Err(Invalid::one("version", "required").into()) };
    let tx = services.store.begin_write().await?;
    let before = visible(&tx, actor, id).await?;
    if before.merged_into.is_some() {
        return Err(ServiceError::Conflict("already_merged"));
    }
    if before.version != version {
        return Err(ServiceError::Conflict("stale_version"));
    }
    let old_phones = store::phones_of(&tx, std::slice::from_ref(&before.id)).await?;
    let f = change.fields;
    let keep = |new: Option<String>, old: Option<String>| new.or(old);
    let money = |v: Option<Money>| v.map(|v| v.to_string());
    let area = |v: Option<Area>| v.map(|v| v.to_string());
    let id_changed = f.id_number.is_some() || f.id_type.is_some();
    let merged = NewCustomer {
        project_id: Some(before.project_id.to_string()),
        name: keep(f.name, Some(before.name.clone())),
        phone: keep(f.phone, Some(PhoneNumber::from_stored(before.phone.clone()).display())),
        kind: keep(f.kind, Some(before.kind.name().to_owned())),
        id_type: if id_changed { f.id_type } else { None },
        id_number: if id_changed { f.id_number } else { None },
        source: keep(f.source, before.source.clone()),
        grade: keep(f.grade.clone(), before.grade.clone()),
        notes: keep(f.notes, before.notes.clone()),
        owner_id: None,
        categories: keep(f.categories, Some(before.categories.clone())),
        tags: keep(f.tags, Some(before.tags.clone())),
        birthday: keep(f.birthday, before.birthday.map(|d| d.to_string())),
        birthday_lunar: f.birthday_lunar.or(Some(before.birthday_lunar)),
        email: keep(f.email, before.email.clone()),
        wechat: keep(f.wechat, before.wechat.clone()),
        address: keep(f.address, before.address.clone()),
        contact_person: keep(f.contact_person, before.contact_person.clone()),
        budget: keep(f.budget, money(before.budget)),
        wanted_layout: keep(f.wanted_layout, before.wanted_layout.clone()),
        wanted_area_min: keep(f.wanted_area_min, area(before.wanted_area_min)),
        wanted_area_max: keep(f.wanted_area_max, area(before.wanted_area_max)),
        purpose: keep(f.purpose, before.purpose.clone()),
        homes_owned: keep(f.homes_owned, before.homes_owned.map(|n| n.to_string())),
        other_phones: f.other_phones.clone().or_else(|| {
            Some(
                old_phones
                    .iter()
                    .map(|p| (PhoneNumber::from_stored(p.phone.clone()).display(), p.label.clone()))
                    .collect(),
            )
        }),
    };
    let mut valid = validate(&merged, services.clock.today())?;
    // The stored ID stays unless a new one was typed; an enterprise keeps needing a credit code.
    let (id_type, cipher, index, masked) = if id_changed {
        stored_id(services, &valid.id)?
    } else {
        if valid.kind == CustomerKind::Enterprise
            && before.id_type.as_deref().and_then(IdType::parse).is_some_and(|t| t != IdType::BusinessLicense)
        {
            return Err(Invalid::one("id_type", "enterprise_needs_credit_code").into());
        }
        (
            before.id_type.clone(),
            before.id_number_cipher.clone(),
            before.id_number_index.clone(),
            before.id_number_masked.clone(),
        )
    };
    let (pinyin, initials) = name_pinyin(&valid.name);
    let p = std::mem::take(&mut valid.profile);
    // A grade typed by hand sticks; clearing it hands the grade back to the rules.
    let grade_manual = match f.grade.as_deref().map(str::trim) {
        Some("") => false,
        Some(_) => true,
        None => before.grade_manual,
    };
    let mut after = CustomerRow {
        kind: valid.kind,
        name_pinyin: pinyin,
        name_initials: initials,
        name: valid.name,
        phone: valid.phone.as_str().to_owned(),
        id_type,
        id_number_cipher: cipher,
        id_number_index: index,
        id_number_masked: masked,
        source: valid.source,
        grade: valid.grade,
        grade_manual,
        notes: valid.notes,
        version: before.version + 1,
        updated_at: services.clock.now(),
        ..before.clone()
    };
    let other_phones = p.write_into(&mut after);
    let new_phones = phone_rows(&after.id, &other_phones);
    if !store::update_customer(&tx, &after, version).await? {
        return Err(ServiceError::Conflict("stale_version"));
    }
    let phones_changed = new_phones.iter().map(|p| &p.phone).ne(old_phones.iter().map(|p| &p.phone))
        || new_phones.iter().map(|p| &p.label).ne(old_phones.iter().map(|p| &p.label));
    if phones_changed {
        store::set_phones(&tx, &after.id, &new_phones).await?;
    }
    // Only what changed is checked again: a duplicate already ruled on stays ruled on.
    let mut duplicates = Vec::new();
    let new_phone_list: Vec<String> = std::iter::once(after.phone.clone())
        .chain(new_phones.iter().map(|p| p.phone.clone()))
        .filter(|p| *p != before.phone && !old_phones.iter().any(|o| o.phone == *p))
        .collect();
    let name_changed = after.name != before.name;
    let index_changed = after.id_number_index != before.id_number_index;
    if !new_phone_list.is_empty() || name_changed || index_changed {
        let mut names = OwnerNames::new();
        let name = if name_changed { after.name.as_str() } else { "" };
        let index = if index_changed { after.id_number_index.as_deref() } else { None };
        duplicates = matches(&tx, &after.project_id, &new_phone_list, name, index, Some(&after.id), &mut names).await?;
        let now = services.clock.now();
        for d in &duplicates {
            store::insert_duplicate(&tx, &duplicate_record(&after, d, now)).await?;
        }
    }
    add_event(&tx, (actor, services.clock.now()), &after.id, CustomerEventKind::Updated, &[("name", &after.name)])
        .await?;
    crate::customers::grades::regrade(&tx, std::slice::from_ref(&after.id), services.clock.now()).await?;
    let row = store::find_customer(&tx, &after.id).await?.ok_or(ServiceError::NotFound("customer"))?;
    let mut names = OwnerNames::new();
    let before_view = view(&tx, actor, before, &mut names).await?;
    let customer = with_other_phones(&tx, view(&tx, actor, row, &mut names).await?).await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "customer.update",
            record_type: "customer",
            record_id: customer.id.as_str(),
            before: crate::platform::audit::snapshot(&before_view)?,
            after: crate::platform::audit::snapshot(&customer)?,
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(Registered { customer, duplicates })
}

/// Full phone and ID number, for a user with the reveal right; logged with the reason.
#[derive(Debug, Clone, Serialize)]
pub struct Revealed {
    pub phone: String,
    pub id_type: Option<String>,
    pub id_number: Option<String>,
}

pub async fn reveal(
    services: &Services,
    actor: &Actor,
    id: &CustomerId,
    reason: Option<&str>,
) -> ServiceResult<Revealed> {
    actor.require(Permission::RevealPersonalData)?;
    let mut errors = Invalid::default();
    let reason = required_text(&mut errors, "reason", reason, 200);
    errors.into_result()?;
    let tx = services.store.begin_write().await?;
    let row = visible(&tx, actor, id).await?;
    let id_number = row.id_number_cipher.as_deref().map(|c| services.secrets.decrypt(c)).transpose()?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "customer.reveal_personal_data",
            record_type: "customer",
            record_id: id.as_str(),
            before: None,
            after: Some(serde_json::json!({"reason": reason})),
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(Revealed { phone: PhoneNumber::from_stored(row.phone).display(), id_type: row.id_type, id_number })
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CustomerQuery {
    /// A phone in any format, an ID number, or the start of a name or its pinyin.
    pub q: Option<String>,
    pub project_id: Option<String>,
    pub owner_id: Option<String>,
    pub grade: Option<String>,
    pub source: Option<String>,
    /// `individual` or `enterprise`.
    pub kind: Option<String>,
    pub category: Option<String>,
    pub tag: Option<String>,
    pub purpose: Option<String>,
    /// Budget range in yuan (decimal strings).
    pub min_budget: Option<String>,
    pub max_budget: Option<String>,
    /// Start of the wanted layout (`3室`).
    pub layout: Option<String>,
    /// Last contact on or after / before these days (Beijing time, `YYYY-MM-DD`);
    /// "before" includes customers never contacted.
    pub contacted_since: Option<String>,
    pub contacted_before: Option<String>,
}

/// The conditions of the customer list by their names in query strings
/// (the page, the API, saved filters).
pub const CONDITIONS: [&str; 14] = [
    "q",
    "project_id",
    "owner_id",
    "grade",
    "source",
    "kind",
    "category",
    "tag",
    "purpose",
    "min_budget",
    "max_budget",
    "layout",
    "contacted_since",
    "contacted_before",
];

impl CustomerQuery {
    /// The conditions of a query string (`grade=A&source=网络`), as a saved
    /// filter keeps them; names the list does not know are ignored.
    pub fn from_query_string(query: &str) -> CustomerQuery {
        let mut q = CustomerQuery::default();
        for (key, value) in form_urlencoded::parse(query.trim_start_matches('?').as_bytes()) {
            let value = Some(value.into_owned());
            match key.as_ref() {
                "q" => q.q = value,
                "project_id" => q.project_id = value,
                "owner_id" => q.owner_id = value,
                "grade" => q.grade = value,
                "source" => q.source = value,
                "kind" => q.kind = value,
                "category" => q.category = value,
                "tag" => q.tag = value,
                "purpose" => q.purpose = value,
                "min_budget" => q.min_budget = value,
                "max_budget" => q.max_budget = value,
                "layout" => q.layout = value,
                "contacted_since" => q.contacted_since = value,
                "contacted_before" => q.contacted_before = value,
                _ => {}
            }
        }
        q
    }

    /// The conditions as the store filters on them; every bad one is reported.
    /// Contact dates are the company's days (`clock`'s zone).
    fn filter(&self, clock: &crate::Clock) -> Result<CustomerFilter, Invalid> {
        let mut errors = Invalid::default();
        let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        let kind = text(&self.kind).and_then(|k| {
            let parsed = CustomerKind::parse(&k);
            if parsed.is_none() {
                errors.push("kind", "unknown_kind");
            }
            parsed
        });
        let category = text(&self.category);
        if category.as_deref().is_some_and(|c| !loupan_domain::customers::CATEGORIES.contains(&c)) {
            errors.push("category", "unknown_category");
        }
        let purpose = text(&self.purpose);
        if purpose.as_deref().is_some_and(|p| !PURPOSES.contains(&p)) {
            errors.push("purpose", "unknown_purpose");
        }
        let min_budget = decimal(&mut errors, "min_budget", text(&self.min_budget).as_deref(), Money::parse);
        let max_budget = decimal(&mut errors, "max_budget", text(&self.max_budget).as_deref(), Money::parse);
        let mut day = |field: &str, v: &Option<String>| {
            text(v).and_then(|d| {
                NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|_| errors.push(field, "invalid_date")).ok()
            })
        };
        let contacted_since = day("contacted_since", &self.contacted_since).map(|d| clock.start_of_day(d));
        let contacted_before = day("contacted_before", &self.contacted_before).map(|d| clock.start_of_day(d));
        let layout = text(&self.layout);
        if layout.as_deref().is_some_and(|l| l.chars().count() > 20) {
            errors.push("layout", "too_long");
        }
        errors.into_result()?;
        Ok(CustomerFilter {
            project_id: text(&self.project_id).map(ProjectId::from),
            owner_id: text(&self.owner_id).map(UserId::from),
            grade: text(&self.grade),
            source: text(&self.source),
            kind,
            category,
            tag: text(&self.tag),
            purpose,
            min_budget,
            max_budget,
            layout,
            contacted_since,
            contacted_before,
            ..Default::default()
        })
    }
}

pub(crate) fn scope_of(actor: &Actor) -> ServiceResult<CustomerScope> {
    actor.require(Permission::ReadCustomers)?;
    match actor.customer_scope() {
        Some(DataScope::All) => Ok(CustomerScope::All),
        Some(DataScope::Project) => Ok(match actor.visible_projects() {
            None => CustomerScope::All,
            Some(ids) => CustomerScope::Projects(ids.to_vec()),
        }),
        Some(DataScope::Own) => Ok(CustomerScope::Owner(actor.user_id.clone().ok_or(ServiceError::Forbidden)?)),
        None => Err(ServiceError::Forbidden),
    }
}

/// The store's filter for a query: `q` read as a phone, an ID number or the start of a name.
pub(crate) fn filter_of(services: &Services, query: &CustomerQuery) -> ServiceResult<CustomerFilter> {
    let mut filter = query.filter(&services.clock)?;
    if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        if q.chars().count() > 60 {
            return Err(Invalid::one("q", "too_long").into());
        }
        if let Ok(phone) = PhoneNumber::parse(q) {
            filter.phone = Some(phone.as_str().to_owned());
        } else if let Ok(number) = parse_id_number(IdType::ResidentId, q) {
            filter.id_index = Some(services.secrets.blind_index(&number)?);
        } else {
            filter.text = Some(q.to_lowercase());
        }
    }
    Ok(filter)
}

/// The statement `search` reads its page with (the rows and their owners'
/// names), for the benchmark to replay as raw SQL.
pub fn search_statement(
    services: &Services,
    actor: &Actor,
    query: &CustomerQuery,
    limit: u64,
) -> ServiceResult<loupan_store::sea_orm_reexport::Statement> {
    let filter = filter_of(services, query)?;
    Ok(store::search_statement(services.store.backend(), &scope_of(actor)?, &filter, limit))
}

pub async fn search(
    services: &Services,
    actor: &Actor,
    query: CustomerQuery,
    after_id: Option<String>,
    limit: u64,
) -> ServiceResult<Vec<Customer>> {
    let scope = scope_of(actor)?;
    let filter = CustomerFilter { after_id, ..filter_of(services, &query)? };
    let conn = services.store.conn();
    let found = store::search_named_customers(conn, &scope, &filter, limit).await?;
    let mut names = OwnerNames::new();
    let mut out = Vec::with_capacity(found.len());
    for f in found {
        names.know(&f);
        out.push(view(conn, actor, f.row, &mut names).await?);
    }
    Ok(out)
}

/// A line of a customer's timeline: its kind and the facts its sentence
/// names (`timeline.<kind>`, or `timeline.<kind>.<variant>` when a fact is
/// the variant, in the locale files), at `now` by the company's clock. The
/// service writes no sentence: each reader sees it in their own language.
pub(crate) fn timeline_row(
    customer_id: &CustomerId,
    (actor, now): (&Actor, chrono::DateTime<chrono::Utc>),
    kind: CustomerEventKind,
    facts: &[(&str, &str)],
) -> ServiceResult<EventRow> {
    let facts: std::collections::BTreeMap<&str, &str> = facts.iter().copied().collect();
    Ok(EventRow {
        id: loupan_store::new_id(),
        customer_id: customer_id.to_owned(),
        kind: kind.name().to_owned(),
        summary: String::new(),
        params: Some(serde_json::to_string(&facts).map_err(ServiceError::internal)?),
        actor_name: actor.display_name.clone(),
        occurred_at: now,
    })
}

pub(crate) async fn add_event<C: Connection>(
    conn: &C,
    by: (&Actor, chrono::DateTime<chrono::Utc>),
    customer_id: &CustomerId,
    kind: CustomerEventKind,
    facts: &[(&str, &str)],
) -> ServiceResult<()> {
    store::insert_event(conn, &timeline_row(customer_id, by, kind, facts)?).await?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct NewFollowUp {
    /// `visit` (来访), `call` (来电) or `follow_up` (跟进).
    pub kind: Option<String>,
    pub outcome: Option<String>,
    /// `YYYY-MM-DD`.
    pub next_contact_on: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FollowUp {
    pub id: String,
    pub kind: FollowUpKind,
    pub outcome: String,
    pub next_contact_on: Option<NaiveDate>,
    pub author_id: UserId,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
}

impl From<FollowUpRow> for FollowUp {
    fn from(r: FollowUpRow) -> Self {
        FollowUp {
            id: r.id,
            kind: r.kind,
            outcome: r.outcome,
            next_contact_on: r.next_contact_on,
            author_id: r.author_id,
            occurred_at: r.occurred_at,
        }
    }
}

pub async fn add_follow_up(
    services: &Services,
    actor: &Actor,
    customer_id: &CustomerId,
    form: NewFollowUp,
) -> ServiceResult<FollowUp> {
    actor.require(Permission::WriteCustomers)?;
    let mut errors = Invalid::default();
    let kind = match form.kind.as_deref() {
        None => FollowUpKind::FollowUp,
        Some(name) => FollowUpKind::parse(name).unwrap_or_else(|| {
            errors.push("kind", "unknown_kind");
            FollowUpKind::FollowUp
        }),
    };
    let outcome = required_text(&mut errors, "outcome", form.outcome.as_deref(), 2000);
    let next = match form.next_contact_on.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(d) => {
            NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| errors.push("next_contact_on", "invalid_date")).ok()
        }
    };
    errors.into_result()?;
    let tx = services.store.begin_write().await?;
    visible(&tx, actor, customer_id).await?;
    let author = actor.user_id.clone().unwrap_or_else(|| UserId::from(actor.username.as_str()));
    let follow_up = write_follow_up(services, &tx, actor, customer_id, author, kind, outcome, next).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(follow_up)
}

/// Records a follow-up in the caller's transaction: the customer's last
/// contact, grade, timeline and audit follow. `author` is the agent it counts for
/// (reception registers visits for the customer's agent).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn write_follow_up<C: Connection>(
    services: &Services,
    tx: &C,
    actor: &Actor,
    customer_id: &CustomerId,
    author: UserId,
    kind: FollowUpKind,
    outcome: String,
    next: Option<NaiveDate>,
) -> ServiceResult<FollowUp> {
    let now = services.clock.now();
    let row = FollowUpRow {
        id: loupan_store::new_id(),
        customer_id: customer_id.to_owned(),
        author_id: author,
        kind,
        outcome,
        next_contact_on: next,
        occurred_at: now,
    };
    store::insert_follow_up(tx, &row).await?;
    store::touch_last_contact(tx, customer_id, now).await?;
    crate::customers::grades::regrade(tx, &[customer_id.to_owned()], now).await?;
    let outcome: String = row.outcome.chars().take(80).collect();
    let facts = [("follow_up", row.kind.name()), ("outcome", outcome.as_str())];
    add_event(tx, (actor, now), customer_id, CustomerEventKind::FollowUp, &facts).await?;
    let follow_up = FollowUp::from(row);
    audit::record(
        tx,
        actor,
        Change {
            action: "customer.follow_up",
            record_type: "customer",
            record_id: customer_id.as_str(),
            before: None,
            after: crate::platform::audit::snapshot(&follow_up)?,
        },
    )
    .await?;
    Ok(follow_up)
}

pub async fn follow_ups(services: &Services, actor: &Actor, customer_id: &CustomerId) -> ServiceResult<Vec<FollowUp>> {
    let conn = services.store.conn();
    visible(conn, actor, customer_id).await?;
    Ok(store::follow_ups_of(conn, customer_id).await?.into_iter().map(FollowUp::from).collect())
}

#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    /// A `CustomerEventKind` by name (entries of earlier versions may carry others).
    pub kind: String,
    /// The facts of the entry's sentence; empty on entries of earlier versions.
    pub facts: std::collections::BTreeMap<String, String>,
    /// The sentence as earlier versions wrote it (Chinese); empty where `facts` say it.
    pub summary: String,
    pub actor_name: String,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
}

/// The customer refuses marketing (`opted_out`) or accepts it again: opening
/// notices, greetings and campaigns skip those who refused; notices owed to a
/// buyer (payment reminders, handover) still go. On the timeline and audited.
pub async fn set_marketing_consent(
    services: &Services,
    actor: &Actor,
    id: &CustomerId,
    opted_out: bool,
) -> ServiceResult<Customer> {
    actor.require(Permission::WriteCustomers)?;
    let now = services.clock.now();
    let tx = services.store.begin_write().await?;
    let before = visible(&tx, actor, id).await?;
    if before.marketing_opt_out_at.is_some() != opted_out {
        store::set_marketing_opt_out(&tx, id, opted_out.then_some(now)).await?;
        let variant = if opted_out { "opted_out" } else { "opted_in" };
        add_event(&tx, (actor, now), id, CustomerEventKind::Consent, &[("variant", variant)]).await?;
        audit::record(
            &tx,
            actor,
            Change {
                action: "customer.marketing_consent",
                record_type: "customer",
                record_id: id.as_str(),
                before: Some(serde_json::json!({"marketing_opt_out": before.marketing_opt_out_at.is_some()})),
                after: Some(serde_json::json!({"marketing_opt_out": opted_out})),
            },
        )
        .await?;
    }
    tx.commit().await.map_err(ServiceError::internal)?;
    get(services, actor, id).await
}

/// The secret part of a customer's unsubscribe link: a keyed hash of the id,
/// so the link needs no table and cannot be guessed for another customer.
fn unsubscribe_purpose(id: &CustomerId) -> String {
    format!("unsubscribe:{}", id.as_str())
}

/// The link in a marketing e-mail that records the customer's refusal, when
/// Loupan knows its public address.
pub fn unsubscribe_link(services: &Services, id: &CustomerId) -> ServiceResult<Option<String>> {
    let Some(base) = &services.config.public_url else { return Ok(None) };
    Ok(Some(format!("{base}/unsubscribe/{}/{}", id.as_str(), services.secrets.token(&unsubscribe_purpose(id))?)))
}

/// Whether the customer already refused marketing, if `token` is theirs (without signing in).
pub async fn unsubscriber(services: &Services, id: &CustomerId, token: &str) -> ServiceResult<bool> {
    let same = services.secrets.token_matches(&unsubscribe_purpose(id), token)?;
    let customer = match store::find_customer(services.store.conn(), id).await? {
        Some(c) if same => c,
        _ => return Err(ServiceError::NotFound("customer")),
    };
    Ok(customer.marketing_opt_out_at.is_some())
}

/// The customer followed the link in a marketing e-mail and confirmed: recorded
/// as a refusal like one taken at the sales office (timeline, audit).
pub async fn unsubscribe(services: &Services, id: &CustomerId, token: &str) -> ServiceResult<()> {
    unsubscriber(services, id, token).await?;
    set_marketing_consent(services, &Actor::system("unsubscribe link"), id, true).await.map(drop)
}

/// Everything that touched the customer, newest first; later modules add kinds.
pub async fn timeline(
    services: &Services,
    actor: &Actor,
    customer_id: &CustomerId,
) -> ServiceResult<Vec<TimelineEntry>> {
    let conn = services.store.conn();
    visible(conn, actor, customer_id).await?;
    store::events_of(conn, customer_id, 200)
        .await?
        .into_iter()
        .map(|e| {
            let facts = match &e.params {
                Some(json) => serde_json::from_str(json).map_err(ServiceError::internal)?,
                None => Default::default(),
            };
            Ok(TimelineEntry {
                kind: e.kind,
                facts,
                summary: e.summary,
                actor_name: e.actor_name,
                occurred_at: e.occurred_at,
            })
        })
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct DuplicateRecord {
    pub id: String,
    pub project_id: ProjectId,
    #[serde(rename = "match")]
    pub match_kind: MatchKind,
    pub status: DuplicateStatus,
    pub customer: Customer,
    pub matched: Customer,
    pub ruling_note: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Duplicate records of the manager's projects (S3), open first.
pub async fn duplicate_records(
    services: &Services,
    actor: &Actor,
    status: Option<&str>,
    limit: u64,
) -> ServiceResult<Vec<DuplicateRecord>> {
    actor.require(Permission::ManageCustomers)?;
    let status = crate::error::status_filter("status", status)?;
    let conn = services.store.conn();
    let rows = store::list_duplicates(conn, actor.visible_projects(), status, limit).await?;
    let mut names = OwnerNames::new();
    let mut out = Vec::new();
    for r in rows {
        let (Some(a), Some(b)) = (
            store::find_customer(conn, &r.customer_id).await?,
            store::find_customer(conn, &r.matched_customer_id).await?,
        ) else {
            continue;
        };
        out.push(DuplicateRecord {
            id: r.id,
            project_id: r.project_id,
            match_kind: r.match_kind,
            status: r.status,
            customer: view(conn, actor, a, &mut names).await?,
            matched: view(conn, actor, b, &mut names).await?,
            ruling_note: r.ruling_note,
            created_at: r.created_at,
        });
    }
    Ok(out)
}

/// A manager's ruling: keep both customers, or give the later registration to
/// the first agent (the usual ruling when the same buyer was registered twice).
pub async fn rule_duplicate(
    services: &Services,
    actor: &Actor,
    record_id: &str,
    ruling: &str,
    note: Option<&str>,
) -> ServiceResult<()> {
    actor.require(Permission::ManageCustomers)?;
    let status = match ruling {
        "keep_both" => DuplicateStatus::KeptBoth,
        "assign_to_first" => DuplicateStatus::Assigned,
        "merge" => DuplicateStatus::Merged,
        _ => return Err(Invalid::one("ruling", "unknown_ruling").into()),
    };
    let tx = services.store.begin_write().await?;
    let record = store::find_duplicate(&tx, record_id).await?.ok_or(ServiceError::NotFound("duplicate_record"))?;
    if !actor.sees_project(&record.project_id) {
        return Err(ServiceError::NotFound("duplicate_record"));
    }
    let ruler = actor.by();
    if !store::rule_duplicate(&tx, record_id, status, note, &ruler, services.clock.now()).await? {
        return Err(ServiceError::Conflict("already_ruled"));
    }
    if status == DuplicateStatus::Assigned {
        let later = store::find_customer(&tx, &record.customer_id).await?.ok_or(ServiceError::NotFound("customer"))?;
        let first =
            store::find_customer(&tx, &record.matched_customer_id).await?.ok_or(ServiceError::NotFound("customer"))?;
        if !store::set_owner(&tx, &later.id, later.version, &first.owner_id, &later.project_id, services.clock.now())
            .await?
        {
            return Err(ServiceError::Conflict("stale_version"));
        }
        add_event(
            &tx,
            (actor, services.clock.now()),
            &later.id,
            CustomerEventKind::Transfer,
            &[("variant", "by_ruling")],
        )
        .await?;
    }
    if status == DuplicateStatus::Merged {
        // The later registration goes into the first; undoable from the first's page.
        merge(&tx, actor, &record.matched_customer_id, &record.customer_id, services.clock.now()).await?;
    }
    add_event(
        &tx,
        (actor, services.clock.now()),
        &record.customer_id,
        CustomerEventKind::DuplicateRuling,
        &[("duplicate_status", status.name())],
    )
    .await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "customer.rule_duplicate",
            record_type: "customer_duplicate",
            record_id,
            before: Some(serde_json::json!({"status": record.status})),
            after: Some(serde_json::json!({"status": status, "note": note})),
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct Transfer {
    /// Either these customers…
    pub customer_ids: Vec<CustomerId>,
    /// …or every customer of this agent (one who leaves).
    pub from_agent: Option<String>,
    pub to_agent: Option<String>,
    /// …or every customer a search finds (a filtered group, S7).
    pub matching: Option<CustomerQuery>,
    /// Move them to this project too (S7).
    pub to_project: Option<String>,
}

/// The most customers one transfer moves (a larger group is narrowed or split).
const TRANSFER_LIMIT: u64 = 5000;

/// Hands customers to another agent (S6) and optionally another project (S7);
/// each move is on the customer's timeline and in the audit trail.
pub async fn transfer(services: &Services, actor: &Actor, form: Transfer) -> ServiceResult<usize> {
    actor.require(Permission::ManageCustomers)?;
    let mut errors = Invalid::default();
    let to_agent = UserId::from(required_text(&mut errors, "to_agent", form.to_agent.as_deref(), 64));
    let from_agent = UserId::given(form.from_agent.as_deref());
    if form.customer_ids.is_empty() && from_agent.is_none() && form.matching.is_none() {
        errors.push("customer_ids", "required");
    }
    errors.into_result()?;
    let matching = form.matching.as_ref().map(|q| filter_of(services, q)).transpose()?;
    let tx = services.store.begin_write().await?;
    let target = store_users::find_user(&tx, &to_agent)
        .await?
        .ok_or_else(|| ServiceError::from(Invalid::one("to_agent", "unknown_user")))?;
    if target.disabled {
        return Err(Invalid::one("to_agent", "user_disabled").into());
    }
    let target_projects = store_users::project_ids_of(&tx, &target.id).await?;
    let to_project = form.to_project.as_deref().filter(|p| !p.is_empty()).map(ProjectId::from);
    if let Some(p) = &to_project
        && (!actor.sees_project(p) || store_inventory::find_project(&tx, p).await?.is_none())
    {
        return Err(Invalid::one("to_project", "unknown_project").into());
    }
    let rows = match (&from_agent, matching) {
        (Some(agent), _) => store::customers_of_owner(&tx, agent).await?,
        (None, Some(filter)) => {
            let found = store::search_customers(&tx, &scope_of(actor)?, &filter, TRANSFER_LIMIT + 1).await?;
            if found.len() as u64 > TRANSFER_LIMIT {
                return Err(Invalid::one("matching", "too_many").into());
            }
            found
        }
        (None, None) => store::customers_by_ids(&tx, &form.customer_ids).await?,
    };
    if from_agent.is_none() && form.matching.is_none() && rows.len() != form.customer_ids.len() {
        return Err(ServiceError::NotFound("customer"));
    }
    let now = services.clock.now();
    // A group may be thousands: one role lookup, then events and audit rows written together.
    let target_sees_all = store_users::roles_of(&tx, &target.id)
        .await?
        .iter()
        .any(|r| Role::parse(r).is_some_and(Role::sees_all_projects));
    let mut events = Vec::with_capacity(rows.len());
    let mut moves: Vec<(CustomerId, serde_json::Value, serde_json::Value)> = Vec::with_capacity(rows.len());
    for row in rows {
        if !may_see(actor, &row) {
            return Err(ServiceError::NotFound("customer"));
        }
        let project = to_project.clone().unwrap_or_else(|| row.project_id.clone());
        if !target_projects.contains(&project) && !target_sees_all {
            return Err(Invalid::one("to_agent", "not_project_member").into());
        }
        if !store::set_owner(&tx, &row.id, row.version, &target.id, &project, now).await? {
            return Err(ServiceError::Conflict("stale_version"));
        }
        let facts = [("variant", "to_agent"), ("agent", target.display_name.as_str())];
        events.push(timeline_row(&row.id, (actor, now), CustomerEventKind::Transfer, &facts)?);
        moves.push((
            row.id,
            serde_json::json!({"owner_id": row.owner_id, "project_id": row.project_id}),
            serde_json::json!({"owner_id": target.id, "project_id": project}),
        ));
    }
    store::insert_events(&tx, &events).await?;
    let changes = moves
        .iter()
        .map(|(id, before, after)| Change {
            action: "customer.transfer",
            record_type: "customer",
            record_id: id.as_str(),
            before: Some(before.clone()),
            after: Some(after.clone()),
        })
        .collect();
    audit::record_many(&tx, actor, changes).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(moves.len())
}

#[derive(Debug, Clone, Serialize)]
pub struct Merge {
    pub id: String,
    pub kept_id: CustomerId,
    pub merged_id: CustomerId,
    /// How many rows moved, per table.
    pub moved: std::collections::BTreeMap<String, usize>,
    pub merged_by: String,
    pub merged_at: chrono::DateTime<chrono::Utc>,
    pub undone: bool,
}

fn merge_view(row: &store::MergeRow) -> ServiceResult<Merge> {
    let moved: std::collections::BTreeMap<String, Vec<String>> =
        serde_json::from_str(&row.moved).map_err(ServiceError::internal)?;
    Ok(Merge {
        id: row.id.clone(),
        kept_id: row.kept_id.clone(),
        merged_id: row.merged_id.clone(),
        moved: moved.into_iter().map(|(t, ids)| (t, ids.len())).collect(),
        merged_by: row.merged_by.clone(),
        merged_at: row.merged_at,
        undone: row.undone_at.is_some(),
    })
}

/// Merges `merged_id` into `kept_id` (same project): every follow-up, event,
/// deal, reservation, refund, buyer share and duplicate record of the one moves
/// to the other; the merged record stays, hidden from lists, pointing at the
/// kept one; which rows moved is kept, so `undo_merge` puts back exactly them.
/// (`now` by the company's clock.)
pub async fn merge<C: Connection>(
    conn: &C,
    actor: &Actor,
    kept_id: &CustomerId,
    merged_id: &CustomerId,
    now: chrono::DateTime<chrono::Utc>,
) -> ServiceResult<Merge> {
    actor.require(Permission::ManageCustomers)?;
    if kept_id == merged_id {
        return Err(Invalid::one("merged_id", "not_yourself").into());
    }
    let kept = store::find_customer(conn, kept_id).await?;
    let merged = store::find_customer(conn, merged_id).await?;
    let (Some(kept), Some(merged)) = (kept, merged) else { return Err(ServiceError::NotFound("customer")) };
    if !actor.sees_project(&kept.project_id) || kept.project_id != merged.project_id {
        return Err(ServiceError::NotFound("customer"));
    }
    if kept.merged_into.is_some() || merged.merged_into.is_some() {
        return Err(ServiceError::Conflict("already_merged"));
    }
    let mut moved: std::collections::BTreeMap<String, Vec<String>> = std::collections::BTreeMap::new();
    for reference in store::CUSTOMER_REFERENCES {
        let ids = store::move_references(conn, reference, merged_id, kept_id).await?;
        moved.insert(format!("{}.{}", reference.0, reference.1), ids);
    }
    // The duplicate records naming the merged customer first are about it: they go with it.
    store::set_merged_into(conn, merged_id, Some(kept_id)).await?;
    let row = store::MergeRow {
        id: loupan_store::new_id(),
        project_id: kept.project_id.clone(),
        kept_id: kept_id.to_owned(),
        merged_id: merged_id.to_owned(),
        moved: serde_json::to_string(&moved).map_err(ServiceError::internal)?,
        merged_by: actor.display_name.clone(),
        merged_at: now,
        undone_by: None,
        undone_at: None,
    };
    store::insert_merge(conn, &row).await?;
    add_event(
        conn,
        (actor, now),
        kept_id,
        CustomerEventKind::Merge,
        &[("name", &merged.name), ("id", merged.id.as_str())],
    )
    .await?;
    let merge = merge_view(&row)?;
    audit::record(
        conn,
        actor,
        Change {
            action: "customer.merge",
            record_type: "customer",
            record_id: kept_id.as_str(),
            before: None,
            after: crate::platform::audit::snapshot(&merge)?,
        },
    )
    .await?;
    Ok(merge)
}

pub async fn merge_customers(
    services: &Services,
    actor: &Actor,
    kept_id: &CustomerId,
    merged_id: &CustomerId,
) -> ServiceResult<Merge> {
    let tx = services.store.begin_write().await?;
    let merge = merge(&tx, actor, kept_id, merged_id, services.clock.now()).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(merge)
}

/// Undoes a merge: every row it moved names the merged customer again, who
/// shows in lists again. Rows added to the kept customer since stay there.
pub async fn undo_merge(services: &Services, actor: &Actor, merge_id: &str) -> ServiceResult<Merge> {
    actor.require(Permission::ManageCustomers)?;
    let tx = services.store.begin_write().await?;
    let row = store::find_merge(&tx, merge_id).await?.ok_or(ServiceError::NotFound("merge"))?;
    if !actor.sees_project(&row.project_id) {
        return Err(ServiceError::NotFound("merge"));
    }
    if !store::mark_merge_undone(&tx, merge_id, &actor.display_name, services.clock.now()).await? {
        return Err(ServiceError::Conflict("merge_undone"));
    }
    let moved: std::collections::BTreeMap<String, Vec<String>> =
        serde_json::from_str(&row.moved).map_err(ServiceError::internal)?;
    for reference in store::CUSTOMER_REFERENCES {
        if let Some(ids) = moved.get(&format!("{}.{}", reference.0, reference.1)) {
            store::restore_references(&tx, reference, ids, &row.merged_id).await?;
        }
    }
    store::set_merged_into(&tx, &row.merged_id, None).await?;
    audit::record(
        &tx,
        actor,
        Change {
            action: "customer.unmerge",
            record_type: "customer",
            record_id: row.kept_id.as_str(),
            before: None,
            after: Some(serde_json::json!({"merge": merge_id, "merged_id": row.merged_id})),
        },
    )
    .await?;
    let row = store::find_merge(&tx, merge_id).await?.ok_or(ServiceError::NotFound("merge"))?;
    tx.commit().await.map_err(ServiceError::internal)?;
    merge_view(&row)
}

/// Merges into a customer, for its page.
pub async fn merges_of(services: &Services, actor: &Actor, customer_id: &CustomerId) -> ServiceResult<Vec<Merge>> {
    get(services, actor, customer_id).await?;
    store::merges_into(services.store.conn(), customer_id).await?.iter().map(merge_view).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_saved_query_string_gives_back_every_condition_the_list_knows() {
        for name in CONDITIONS {
            let query = CustomerQuery::from_query_string(&format!("?{name}=%E7%BD%91%E7%BB%9C&unknown=1"));
            let read = serde_json::to_value(&query).unwrap();
            assert_eq!(read[name], "网络", "{name}");
            let set = read.as_object().unwrap().values().filter(|v| !v.is_null()).count();
            assert_eq!(set, 1, "{name}: {read}");
        }
    }
}
