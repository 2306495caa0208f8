//! Customer pages: search, registration with a live duplicate warning, the
//! customer's page (profile, timeline, follow-ups) and the managers' duplicate list.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use loupan_domain::Permission;
use loupan_domain::ids::{CustomerId, ProjectId};
use loupan_domain::platform::JobStatus;
use loupan_service::{Actor, ServiceError, customers, inventory};
use minijinja::{Value, context};
use serde::Deserialize;

use crate::extract::{Authed, FormData};
use crate::i18n::Lang;
use crate::pages::{base_context, field_messages, render};
use crate::{AppError, AppState};

fn customer_view(c: &customers::Customer) -> Value {
    context! {
        id => c.id.clone(), name => c.name.clone(), phone => c.phone.clone(), owner_name => c.owner_name.clone(),
        kind => c.kind.clone(), grade => c.grade.clone(), source => c.source.clone(), notes => c.notes.clone(),
        id_type => c.id_type.clone(), id_number_masked => c.id_number_masked.clone(),
        last_contact_at => c.last_contact_at.map(|t| t.to_rfc3339()), created_at => c.created_at.to_rfc3339(),
        categories => c.categories.clone(), tags => c.tags.clone(), birthday => c.birthday.map(|d| d.to_string()),
        birthday_lunar => c.birthday_lunar,
        email => c.email.clone(), wechat => c.wechat.clone(), address => c.address.clone(),
        contact_person => c.contact_person.clone(), grade_manual => c.grade_manual, version => c.version,
        marketing_opt_out => c.marketing_opt_out,
        other_phones => c.other_phones.iter().flatten().map(|p| p.phone.clone()).collect::<Vec<_>>(),
        budget => c.needs.budget.map(|m| m.to_string()), layout => c.needs.layout.clone(),
        area_min => c.needs.area_min.map(|a| a.to_string()), area_max => c.needs.area_max.map(|a| a.to_string()),
        purpose => c.needs.purpose.clone(), homes_owned => c.needs.homes_owned,
    }
}

/// The choices the profile form offers.
fn choices() -> Value {
    context! {
        purposes => loupan_domain::customers::PURPOSES.to_vec(),
        categories => loupan_domain::customers::CATEGORIES.to_vec(),
    }
}

use customers::CONDITIONS;

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(flatten)]
    conditions: std::collections::BTreeMap<String, String>,
}

impl SearchQuery {
    fn get(&self, name: &str) -> Option<String> {
        self.conditions.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()).map(str::to_owned)
    }

    fn query(&self) -> customers::CustomerQuery {
        customers::CustomerQuery {
            q: self.get("q"),
            project_id: self.get("project_id"),
            owner_id: self.get("owner_id"),
            grade: self.get("grade"),
            source: self.get("source"),
            kind: self.get("kind"),
            category: self.get("category"),
            tag: self.get("tag"),
            purpose: self.get("purpose"),
            min_budget: self.get("min_budget"),
            max_budget: self.get("max_budget"),
            layout: self.get("layout"),
            contacted_since: self.get("contacted_since"),
            contacted_before: self.get("contacted_before"),
        }
    }

    /// The conditions as a query string (for "more", the export and saved filters).
    fn conditions(&self) -> String {
        let mut out = Vec::new();
        for k in CONDITIONS {
            if let Some(v) = self.get(k) {
                out.push(format!("{k}={}", form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()));
            }
        }
        out.join("&")
    }

    fn typed(&self) -> Value {
        Value::from_iter(CONDITIONS.iter().map(|k| (k.to_string(), Value::from(self.get(k)))))
    }
}

async fn list(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<SearchQuery>,
) -> Result<Response, AppError> {
    list_page(&state, &actor, lang, &q, Value::UNDEFINED, StatusCode::OK).await
}

async fn list_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    q: &SearchQuery,
    extra: Value,
    status: StatusCode,
) -> Result<Response, AppError> {
    const PAGE: u64 = 50;
    let found = customers::search(&state.services, actor, q.query(), q.get("after"), PAGE + 1).await;
    let (mut rows, filter_errors) = match found {
        Ok(rows) => (rows, Value::UNDEFINED),
        Err(e @ ServiceError::Invalid(_)) => (Vec::new(), field_messages(lang, &e)),
        Err(e) => return Err(e.into()),
    };
    let next = if rows.len() as u64 > PAGE {
        rows.truncate(PAGE as usize);
        rows.last().map(|c| c.id.clone())
    } else {
        None
    };
    let projects: Vec<Value> = inventory::list_projects(&state.services, actor)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|p| context! { id => p.id, name => p.name })
        .collect();
    let can_manage = actor.can(Permission::ManageCustomers);
    let colleagues: Vec<Value> = if can_manage {
        loupan_service::platform::users::colleagues(&state.services, actor)
            .await?
            .into_iter()
            .map(|u| context! { id => u.id, name => u.display_name })
            .collect()
    } else {
        Vec::new()
    };
    let html = render(
        state,
        "customers.html",
        minijinja::value::merge_maps([
            context! {
                customers => rows.iter().map(customer_view).collect::<Vec<_>>(), next => next, projects => projects,
                f => q.typed(), project_id => q.get("project_id"), conditions => q.conditions(),
                filter_errors => filter_errors, colleagues => colleagues,
                saved => loupan_service::customers::saved_filters::list(&state.services, actor).await?.into_iter()
                    .map(|f| context! { id => f.id, name => f.name, query => f.query }).collect::<Vec<_>>(),
                can_register => actor.can(Permission::WriteCustomers), can_rule => can_manage,
                can_export => actor.can(Permission::ExportCustomers),
            },
            extra,
            choices(),
            base_context(actor, lang, "/customers"),
        ]),
    )?;
    Ok((status, html).into_response())
}

/// Hands the selected customers, or every customer the list's conditions find,
/// to another agent and optionally another project (S6, S7).
async fn transfer(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    form: FormData,
) -> Result<Response, AppError> {
    let conditions: std::collections::BTreeMap<String, String> =
        form_urlencoded::parse(form.get("conditions").unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    let q = SearchQuery { conditions };
    let selected = form.all("customer_ids");
    let everyone_found = form.get("scope") == Some("matching");
    let request = customers::Transfer {
        customer_ids: if everyone_found { Vec::new() } else { selected.into_iter().map(CustomerId::from).collect() },
        from_agent: None,
        to_agent: form.text("to_agent"),
        matching: everyone_found.then(|| q.query()),
        to_project: form.text("to_project"),
    };
    match customers::transfer(&state.services, &actor, request).await {
        Ok(n) => {
            let done = crate::i18n::t(lang, "customers.transferred").replace("{n}", &n.to_string());
            list_page(&state, &actor, lang, &q, context! { transfer_done => done }, StatusCode::OK).await
        }
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Conflict(_) | ServiceError::NotFound(_))) => {
            let message = match &e {
                ServiceError::Invalid(_) => {
                    let fields = field_messages(lang, &e);
                    let mut text = crate::i18n::t(lang, "error.invalid_input");
                    if let Ok(items) = fields.try_iter() {
                        for k in items {
                            text.push_str(&format!(" {}", fields.get_item(&k).unwrap_or_default()));
                        }
                    }
                    text
                }
                ServiceError::Conflict(code) => crate::i18n::t(lang, &format!("error.{code}")),
                _ => crate::i18n::t(lang, "error.not_found"),
            };
            list_page(
                &state,
                &actor,
                lang,
                &q,
                context! { transfer_error => message },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn new_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    typed: Value,
    errors: Value,
    status: StatusCode,
) -> Result<Response, AppError> {
    let projects: Vec<Value> = inventory::list_projects(&state.services, actor)
        .await?
        .into_iter()
        .map(|p| context! { id => p.id, name => p.name })
        .collect();
    let html = render(
        state,
        "customer_new.html",
        minijinja::value::merge_maps([
            context! { projects => projects, form => typed, errors => errors },
            choices(),
            base_context(actor, lang, "/customers"),
        ]),
    )?;
    Ok((status, html).into_response())
}

/// The profile fields of a customer form (registration or editing).
fn fields_of(form: &FormData) -> customers::NewCustomer {
    let other_phones: Vec<(String, Option<String>)> = form
        .get("other_phones")
        .unwrap_or_default()
        .split([',', '，', ';', '；'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| (p.to_owned(), None))
        .collect();
    customers::NewCustomer {
        name: form.text("name"),
        phone: form.text("phone"),
        kind: form.text("kind"),
        id_type: form.text("id_type"),
        id_number: form.text("id_number"),
        source: form.text("source"),
        grade: form.text("grade"),
        notes: form.text("notes"),
        categories: Some(form.all("categories").join(",")),
        tags: form.text("tags"),
        birthday: form.text("birthday"),
        birthday_lunar: Some(form.text("birthday_lunar").is_some()),
        email: form.text("email"),
        wechat: form.text("wechat"),
        address: form.text("address"),
        contact_person: form.text("contact_person"),
        budget: form.text("budget"),
        wanted_layout: form.text("wanted_layout"),
        wanted_area_min: form.text("wanted_area_min"),
        wanted_area_max: form.text("wanted_area_max"),
        purpose: form.text("purpose"),
        homes_owned: form.text("homes_owned"),
        other_phones: Some(other_phones),
        ..Default::default()
    }
}

/// What the user typed, to fill the form again after an error (never the ID number).
fn typed(form: &FormData) -> Value {
    let mut map: std::collections::BTreeMap<String, Value> = form
        .0
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "csrf_token" | "id_number" | "categories"))
        .map(|(k, v)| (k.clone(), Value::from(v.clone())))
        .collect();
    map.insert("categories".into(), Value::from(form.all("categories")));
    Value::from(map)
}

/// The customer's stored profile as form values, for the edit form.
fn form_of(c: &customers::Customer) -> Value {
    let phones: Vec<String> = c.other_phones.iter().flatten().map(|p| p.phone.clone()).collect();
    context! {
        name => c.name.clone(), phone => c.phone.clone(), kind => c.kind.clone(), source => c.source.clone(),
        grade => if c.grade_manual { c.grade.clone() } else { None }, notes => c.notes.clone(),
        categories => c.categories.clone(), tags => c.tags.join(", "), birthday => c.birthday.map(|d| d.to_string()),
        birthday_lunar => c.birthday_lunar,
        email => c.email.clone(), wechat => c.wechat.clone(), address => c.address.clone(),
        contact_person => c.contact_person.clone(), budget => c.needs.budget.map(|m| m.to_string()),
        wanted_layout => c.needs.layout.clone(), wanted_area_min => c.needs.area_min.map(|a| a.to_string()),
        wanted_area_max => c.needs.area_max.map(|a| a.to_string()), purpose => c.needs.purpose.clone(),
        homes_owned => c.needs.homes_owned, other_phones => phones.join(", "),
    }
}

#[derive(Deserialize, Default)]
struct NewQuery {
    project_id: Option<String>,
    /// A page of Loupan to go back to with the new customer chosen (a deal form).
    return_to: Option<String>,
}

/// Only a path of this site: never another host (`//x`, `https://x`) or a script.
fn local_path(path: Option<&str>) -> Option<&str> {
    path.filter(|p| p.starts_with('/') && !p.starts_with("//") && !p.contains(['\\', ':', '\r', '\n']))
}

async fn show_new(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<NewQuery>,
) -> Result<Response, AppError> {
    actor.require(Permission::WriteCustomers)?;
    let typed = context! { project_id => q.project_id, return_to => local_path(q.return_to.as_deref()) };
    new_page(&state, &actor, lang, typed, Value::UNDEFINED, StatusCode::OK).await
}

async fn create(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    form: FormData,
) -> Result<Response, AppError> {
    let new = customers::NewCustomer { project_id: form.text("project_id"), ..fields_of(&form) };
    match customers::register(&state.services, &actor, new).await {
        Ok(done) => {
            let (id, duplicates) = (&done.customer.id, done.duplicates.len());
            let next = match local_path(form.get("return_to")) {
                // Back to the deal form with the customer chosen; the duplicates warning rides along.
                Some(back) => {
                    let joiner = if back.contains('?') { '&' } else { '?' };
                    format!("{back}{joiner}customer_id={id}&duplicates={duplicates}")
                }
                None => format!("/customers/{id}?duplicates={duplicates}"),
            };
            Ok(Redirect::to(&next).into_response())
        }
        Err(e @ ServiceError::Invalid(_)) => {
            new_page(&state, &actor, lang, typed(&form), field_messages(lang, &e), StatusCode::UNPROCESSABLE_ENTITY)
                .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct ShowQuery {
    duplicates: Option<usize>,
}

async fn detail_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    id: &CustomerId,
    extra: Value,
    status: StatusCode,
) -> Result<Response, AppError> {
    let customer = customers::get(&state.services, actor, id).await?;
    let edit_form = form_of(&customer);
    let timeline: Vec<Value> = customers::timeline(&state.services, actor, id)
        .await?
        .into_iter()
        .map(|e| {
            let summary = crate::views::timeline_sentence(lang, &e);
            // A letter sent links to exactly what was sent; money and cases to
            // their record, for those who may open it.
            let sending = e.facts.get("sending").cloned();
            let may_open = match e.kind.as_str() {
                "receipt" => actor.can(Permission::ReadFinance),
                "case" => actor.can(Permission::ReadCases),
                _ => false,
            };
            let link = e.facts.get("link").filter(|l| may_open && !l.is_empty()).cloned();
            context! { kind => e.kind, summary => summary, actor => e.actor_name, at => e.occurred_at.to_rfc3339(),
            sending => sending, link => link }
        })
        .collect();
    let merges: Vec<Value> = customers::merges_of(&state.services, actor, id)
        .await?
        .into_iter()
        .map(|m| context! { id => m.id, merged_id => m.merged_id, by => m.merged_by, at => m.merged_at.to_rfc3339(), undone => m.undone })
        .collect();
    // The money tab for those who read deals (a customer-service desk does not).
    let money = if actor.can(Permission::ReadDeals) {
        let m = loupan_service::finance::customer_money::customer_money(&state.services, actor, id).await?;
        Some(Value::from_serialize(&m))
    } else {
        None
    };
    let html = render(
        state,
        "customer.html",
        minijinja::value::merge_maps([
            context! {
                money => money, may_open_contracts => actor.can(Permission::ReadDeals),
                c => customer_view(&customer), timeline => timeline, merges => merges, form => edit_form,
                merged_into => customer.merged_into.clone(),
                can_merge => actor.can(Permission::ManageCustomers),
                can_reveal => actor.can(Permission::RevealPersonalData), can_write => actor.can(Permission::WriteCustomers),
            },
            extra,
            choices(),
            base_context(actor, lang, "/customers"),
        ]),
    )?;
    Ok((status, html).into_response())
}

async fn show(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<CustomerId>,
    Query(q): Query<ShowQuery>,
) -> Result<Response, AppError> {
    detail_page(&state, &actor, lang, &id, context! { duplicates => q.duplicates.unwrap_or(0) }, StatusCode::OK).await
}

async fn add_follow_up(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<CustomerId>,
    form: FormData,
) -> Result<Response, AppError> {
    let new = customers::NewFollowUp {
        kind: form.text("kind"),
        outcome: form.text("outcome"),
        next_contact_on: form.text("next_contact_on"),
    };
    form_post!(
        lang,
        customers::add_follow_up(&state.services, &actor, &id, new).await,
        |_| format!("/customers/{id}"),
        |errors| {
            detail_page(&state, &actor, lang, &id, context! { errors => errors }, StatusCode::UNPROCESSABLE_ENTITY)
                .await
        }
    )
}

#[derive(Deserialize)]
struct ProjectQuery {
    project_id: Option<String>,
}

async fn grade_rules_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    project_id: Option<ProjectId>,
    extra: Value,
    status: StatusCode,
) -> Result<Response, AppError> {
    use loupan_service::customers::grades;
    actor.require(Permission::ManageCustomers)?;
    let projects = inventory::list_projects(&state.services, actor).await?;
    let project_id = project_id.or_else(|| projects.first().map(|p| p.id.clone()));
    let rules = match &project_id {
        Some(p) => grades::rules(&state.services, actor, p).await?,
        None => Vec::new(),
    };
    // The saved rules and three empty rows to add more.
    let mut rows: Vec<Value> = rules
        .iter()
        .map(|r| {
            let c = &r.conditions;
            context! {
                grade => r.grade.clone(), min_visits => c.min_visits, min_budget => c.min_budget.map(|m| m.to_string()),
                has_deal => c.has_deal.map(|d| if d { "yes" } else { "no" }), purposes => c.purposes.clone(),
                contacted_within_days => c.contacted_within_days,
            }
        })
        .collect();
    rows.extend((0..3).map(|_| context! { purposes => Vec::<String>::new() }));
    let html = render(
        state,
        "grade_rules.html",
        minijinja::value::merge_maps([
            context! {
                projects => projects.into_iter().map(|p| context! { id => p.id, name => p.name }).collect::<Vec<_>>(),
                project_id => project_id, rules => rows,
            },
            extra,
            choices(),
            base_context(actor, lang, "/customers"),
        ]),
    )?;
    Ok((status, html).into_response())
}

async fn show_grade_rules(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<ProjectQuery>,
) -> Result<Response, AppError> {
    grade_rules_page(&state, &actor, lang, ProjectId::given(q.project_id.as_deref()), Value::UNDEFINED, StatusCode::OK)
        .await
}

/// Saves the rules typed in the table (rows without a grade are left out), then
/// grades the project's customers by them if asked.
async fn save_grade_rules(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    form: FormData,
) -> Result<Response, AppError> {
    use loupan_service::customers::grades::{self, GradeConditions, GradeRuleInput};
    let project_id = ProjectId::from(form.text("project_id").unwrap_or_default());
    let column = |name: &str| form.all(name);
    let (grades, visits, budgets, deals, days) = (
        column("grade"),
        column("min_visits"),
        column("min_budget"),
        column("has_deal"),
        column("contacted_within_days"),
    );
    let mut errors = loupan_domain::Invalid::default();
    let mut input = Vec::new();
    for (i, grade) in grades.iter().enumerate() {
        if grade.trim().is_empty() {
            continue;
        }
        let at = |v: &Vec<String>| v.get(i).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let number = |field: &str, v: &Vec<String>, errors: &mut loupan_domain::Invalid| {
            at(v).and_then(|n| {
                n.parse::<u32>().map_err(|_| errors.push(format!("rules[{i}].{field}"), "not_a_number")).ok()
            })
        };
        let min_budget = at(&budgets).and_then(|m| {
            loupan_domain::Money::parse(&m).map_err(|e| errors.push(format!("rules[{i}].min_budget"), e.code())).ok()
        });
        input.push(GradeRuleInput {
            grade: Some(grade.clone()),
            conditions: GradeConditions {
                min_visits: number("min_visits", &visits, &mut errors),
                min_budget,
                has_deal: match at(&deals).as_deref() {
                    Some("yes") => Some(true),
                    Some("no") => Some(false),
                    _ => None,
                },
                purposes: form.all(&format!("purposes_{i}")),
                contacted_within_days: number("contacted_within_days", &days, &mut errors),
            },
        });
    }
    let saved = match errors.into_result() {
        Err(invalid) => Err(ServiceError::from(invalid)),
        Ok(()) => grades::set_rules(&state.services, &actor, &project_id, input).await.map(|_| ()),
    };
    match saved {
        Ok(()) => {
            let mut notice = crate::i18n::t(lang, "customers.grade_rules_saved");
            if form.get("apply") == Some("1") {
                let a = grades::apply(&state.services, &actor, &project_id).await?;
                notice = crate::i18n::t(lang, "customers.grade_rules_applied")
                    .replace("{checked}", &a.checked.to_string())
                    .replace("{changed}", &a.changed.to_string());
            }
            grade_rules_page(&state, &actor, lang, Some(project_id), context! { notice => notice }, StatusCode::OK)
                .await
        }
        Err(e @ ServiceError::Invalid(_)) => {
            let extra = context! { errors => field_messages(lang, &e) };
            grade_rules_page(&state, &actor, lang, Some(project_id), extra, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn edit(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<CustomerId>,
    form: FormData,
) -> Result<Response, AppError> {
    let mut fields = fields_of(&form);
    // The form shows the ID masked: a typed number replaces it, an empty field keeps it.
    if fields.id_number.as_deref().is_none_or(|n| n.trim().is_empty()) {
        fields.id_type = None;
        fields.id_number = None;
    }
    // An empty grade hands the grade back to the rules.
    fields.grade = Some(fields.grade.unwrap_or_default());
    let version = form.get("version").and_then(|v| v.parse().ok());
    match customers::update(&state.services, &actor, &id, customers::CustomerUpdate { version, fields }).await {
        Ok(done) => Ok(Redirect::to(&format!("/customers/{id}?duplicates={}", done.duplicates.len())).into_response()),
        Err(e @ (ServiceError::Invalid(_) | ServiceError::Conflict(_))) => {
            let message = match &e {
                ServiceError::Conflict(code) => crate::i18n::t(lang, &format!("error.{code}")),
                _ => crate::i18n::t(lang, "error.invalid_input"),
            };
            detail_page(
                &state,
                &actor,
                lang,
                &id,
                context! { edit_errors => field_messages(lang, &e), edit_message => message, form => typed(&form), editing => true },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

/// The customer refuses marketing, or accepts it again.
async fn marketing_consent(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<CustomerId>,
    form: FormData,
) -> Result<Response, AppError> {
    let opted_out = form.get("opted_out") == Some("1");
    customers::set_marketing_consent(&state.services, &actor, &id, opted_out).await?;
    Ok(axum::response::Redirect::to(&format!("/customers/{id}")).into_response())
}

async fn reveal(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<CustomerId>,
    form: FormData,
) -> Result<Response, AppError> {
    match customers::reveal(&state.services, &actor, &id, form.get("reason")).await {
        Ok(r) => {
            let revealed = context! { phone => r.phone, id_number => r.id_number };
            detail_page(&state, &actor, lang, &id, context! { revealed => revealed }, StatusCode::OK).await
        }
        Err(e @ ServiceError::Invalid(_)) => {
            detail_page(
                &state,
                &actor,
                lang,
                &id,
                context! { errors => field_messages(lang, &e) },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn duplicates(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
) -> Result<Html<String>, AppError> {
    let records: Vec<Value> = customers::duplicate_records(&state.services, &actor, None, 200)
        .await?
        .into_iter()
        .map(|r| {
            context! { id => r.id, kind => r.match_kind, status => r.status, customer => customer_view(&r.customer),
            matched => customer_view(&r.matched), note => r.ruling_note, at => r.created_at.to_rfc3339() }
        })
        .collect();
    render(
        &state,
        "customer_duplicates.html",
        context! { records => records, ..base_context(&actor, lang, "/customers") },
    )
}

async fn rule(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    form: FormData,
) -> Result<Response, AppError> {
    let ruling = form.text("ruling").unwrap_or_default();
    customers::rule_duplicate(&state.services, &actor, &id, &ruling, form.get("note").filter(|n| !n.is_empty()))
        .await?;
    Ok(Redirect::to("/customers/duplicates").into_response())
}

/// Excel import from the customers page (multipart: project, mode, file).
async fn import(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, AppError> {
    let upload = crate::pages::Upload::read(multipart).await?;
    let (file, mode, project) =
        (upload.file.as_slice(), upload.field("mode").unwrap_or("check"), upload.field("project_id").unwrap_or(""));
    // Writing runs as a background job with its progress on a page of its own.
    if mode == "import" {
        return match loupan_service::customers::import::start_import_job(
            &state.services,
            &actor,
            &ProjectId::from(project),
            file,
        )
        .await
        {
            Ok(job) => Ok(Redirect::to(&format!("/customers/import/{}", job.id)).into_response()),
            Err(e @ ServiceError::Invalid(_)) => {
                let html = render(
                    &state,
                    "customer_import.html",
                    context! { errors => field_messages(lang, &e), ..base_context(&actor, lang, "/customers") },
                )?;
                Ok(html.into_response())
            }
            Err(e) => Err(e.into()),
        };
    }
    let (report, errors) = match loupan_service::customers::import::import_customers(
        &state.services,
        &actor,
        &ProjectId::from(project),
        file,
        false,
    )
    .await
    {
        Ok(r) => (Some(crate::api::customers::import_report_dto(r, lang)), Value::UNDEFINED),
        Err(e @ ServiceError::Invalid(_)) => (None, field_messages(lang, &e)),
        Err(e) => return Err(e.into()),
    };
    let html = render(
        &state,
        "customer_import.html",
        context! { report => report, errors => errors, ..base_context(&actor, lang, "/customers") },
    )?;
    Ok(html.into_response())
}

/// A background import: its progress while it runs, then its report.
async fn import_job(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let job = loupan_service::platform::jobs::get(&state.services, &actor, &id).await?;
    if loupan_service::platform::jobs::JobKind::parse(&job.kind)
        != Some(loupan_service::platform::jobs::JobKind::CustomerImport)
    {
        return Err(AppError::new(StatusCode::NOT_FOUND, "not_found"));
    }
    let report = job.result.as_deref().and_then(|r| serde_json::from_str::<serde_json::Value>(r).ok()).map(|mut r| {
        // Row errors carry codes; the page shows them in the reader's language.
        if let Some(errors) = r["errors"].as_array_mut() {
            for e in errors {
                let code = e["code"].as_str().unwrap_or_default().to_owned();
                e["message"] = serde_json::Value::from(crate::i18n::t(lang, &format!("field_error.{code}")));
            }
        }
        Value::from_serialize(&r)
    });
    let errors = if job.status == JobStatus::Dead {
        Value::from_serialize(std::collections::BTreeMap::from([("file", crate::i18n::t(lang, "error.import_failed"))]))
    } else {
        Value::UNDEFINED
    };
    let running = job.status.is_open();
    let html = render(
        &state,
        "customer_import.html",
        context! { report => report, errors => errors, running => running,
        job => context! { id => job.id, done => job.progress_done, total => job.progress_total, status => job.status },
        ..base_context(&actor, lang, "/customers") },
    )?;
    Ok(html.into_response())
}

async fn undo_merge(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path((id, merge)): Path<(String, String)>,
) -> Result<Response, AppError> {
    customers::undo_merge(&state.services, &actor, &merge).await?;
    Ok(Redirect::to(&format!("/customers/{id}")).into_response())
}

#[derive(serde::Deserialize)]
struct ExceptionQuery {
    project_id: Option<String>,
    days: Option<String>,
}

/// 异常客户: who has gone silent, owes money overdue, cancelled lately, or complains again and again.
async fn exceptions(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    axum::extract::Query(q): axum::extract::Query<ExceptionQuery>,
) -> Result<Html<String>, AppError> {
    let days = match q.days.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => None,
        Some(d) => Some(d.parse::<i64>().map_err(|_| {
            AppError::field(axum::http::StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", "days", "out_of_range")
        })?),
    };
    let project = ProjectId::given(q.project_id.as_deref());
    let e = loupan_service::customers::exceptions::list(&state.services, &actor, project.as_ref(), days).await?;
    let repeats = loupan_service::cases::repeats::repeat_complainers(&state.services, &actor, project.as_ref()).await?;
    let low = loupan_service::cases::surveys::low_scorers(&state.services, &actor, project.as_ref()).await?;
    let person = |c: &loupan_service::customers::exceptions::ExceptionCustomer| {
        context! { id => c.id, name => c.name, phone => c.phone, owner => c.owner_name }
    };
    let projects: Vec<Value> = loupan_service::inventory::list_projects(&state.services, &actor)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|p| context! { id => p.id, name => p.name })
        .collect();
    render(
        &state,
        "customer_exceptions.html",
        context! {
            days => e.silent_days, project_id => q.project_id, projects => projects,
            silent => e.silent.iter().map(|s| context! { c => person(&s.customer), days => s.days_silent,
                last => s.last_contact_at.map(|d| d.to_rfc3339()) }).collect::<Vec<_>>(),
            overdue => e.overdue.iter().map(|o| context! { c => person(&o.customer), amount => o.overdue.to_string(),
                since => o.overdue_since.to_string(), days => o.days_overdue }).collect::<Vec<_>>(),
            cancelled => e.cancelled.iter().map(|x| context! { c => person(&x.customer), kind => x.kind,
                deal_id => x.deal_id, reason => x.reason, at => x.cancelled_at.to_rfc3339() }).collect::<Vec<_>>(),
            repeats => context! { complaints => repeats.complaints, days => repeats.days,
                customers => repeats.customers.iter().map(|r| context! { c => person(&r.customer), complaints => r.complaints }).collect::<Vec<_>>() },
            low => low.iter().map(|l| context! { c => person(&l.customer), csat => l.csat, nps => l.nps,
                at => l.answered_at.to_rfc3339(), case_id => l.case_id.as_ref().map(ToString::to_string) }).collect::<Vec<_>>(),
            may_read_cases => actor.can(loupan_domain::Permission::ReadCases),
            ..base_context(&actor, lang, "/customers")
        },
    )
}

#[derive(Deserialize)]
struct CrossQuery {
    rows: Option<String>,
    columns: Option<String>,
    project_id: Option<String>,
}

/// 交叉分析: two attributes crossed, counts with row and column percentages,
/// the chi-square test and a bar per row beside the table.
async fn cross_analysis(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<CrossQuery>,
) -> Result<Response, AppError> {
    use loupan_service::customers::cross;
    let rows = q.rows.clone().unwrap_or_else(|| "grade".into());
    let columns = q.columns.clone().unwrap_or_else(|| "source".into());
    let project = ProjectId::given(q.project_id.as_deref());
    let (table, errors, status) =
        match cross::cross(&state.services, &actor, Some(&rows), Some(&columns), project.as_ref()).await {
            Ok(t) => (Value::from_serialize(&t), Value::UNDEFINED, StatusCode::OK),
            Err(e @ loupan_service::ServiceError::Invalid(_)) => {
                (Value::UNDEFINED, crate::views::field_messages(lang, &e), StatusCode::UNPROCESSABLE_ENTITY)
            }
            Err(e) => return Err(e.into()),
        };
    let projects: Vec<Value> = loupan_service::inventory::list_projects(&state.services, &actor)
        .await?
        .into_iter()
        .map(|p| context! { id => p.id, name => p.name })
        .collect();
    let html = render(
        &state,
        "customer_cross.html",
        context! {
            table => table, errors => errors, projects => projects, variables => cross::VARIABLES.to_vec(),
            q => context! { rows => rows, columns => columns, project_id => q.project_id },
            ..base_context(&actor, lang, "/customers")
        },
    )?;
    Ok((status, html).into_response())
}

async fn save_filter(
    State(state): State<AppState>,
    Authed(actor): Authed,
    form: FormData,
) -> Result<Response, AppError> {
    let query = form.text("query").unwrap_or_default();
    let saved =
        loupan_service::customers::saved_filters::save(&state.services, &actor, form.get("name"), Some(&query)).await?;
    Ok(Redirect::to(&format!("/customers?{}", saved.query)).into_response())
}

async fn delete_filter(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    loupan_service::customers::saved_filters::delete(&state.services, &actor, &id).await?;
    Ok(Redirect::to("/customers").into_response())
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/customers/{id}/merges/{merge}/undo", post(undo_merge))
        .route("/customers", get(list))
        .route("/customers/transfer", post(transfer))
        .route("/customers/grade-rules", get(show_grade_rules).post(save_grade_rules))
        .route("/customers/import/{job_id}", get(import_job))
        .route("/customers/new", get(show_new).post(create))
        .route("/customers/duplicates", get(duplicates))
        .route("/customers/exceptions", get(exceptions))
        .route("/customers/cross-analysis", get(cross_analysis))
        .route("/customers/saved-filters", post(save_filter))
        .route("/customers/saved-filters/{id}/delete", post(delete_filter))
        .route("/customers/import", post(import))
        .route("/customers/duplicates/{id}/rule", post(rule))
        .route("/customers/{id}", get(show))
        .route("/customers/{id}/follow-ups", post(add_follow_up))
        .route("/customers/{id}/reveal", post(reveal))
        .route("/customers/{id}/marketing-consent", post(marketing_consent))
        .route("/customers/{id}/edit", post(edit))
}
