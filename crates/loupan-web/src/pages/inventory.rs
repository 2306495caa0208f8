//! Projects, buildings and the sales control chart (销控图).

use axum::Router;
use loupan_domain::ids::{BuildingId, ProjectId, UnitId};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;

use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use loupan_domain::Permission;
use loupan_domain::inventory::UnitStatus;
use loupan_service::{Actor, ServiceError, inventory, inventory::import};
use minijinja::{Value, context};

use crate::extract::{Authed, FormData};
use crate::i18n::Lang;
use crate::pages::{base_context, field_messages, render};
use crate::{AppError, AppState};

async fn projects_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    errors: Value,
    status: StatusCode,
) -> Result<Response, AppError> {
    let summaries = inventory::project_summaries(&state.services, actor).await?;
    let mut projects = Vec::new();
    for s in summaries {
        let buildings = inventory::list_buildings(&state.services, actor, &s.project.id).await?;
        projects.push(context! {
            id => s.project.id, name => s.project.name, city => s.project.city, total => s.total_units,
            buildings => buildings.into_iter().map(|b| context! { id => b.id, name => b.name, phase => b.phase }).collect::<Vec<_>>(),
        });
    }
    let html = render(
        state,
        "projects.html",
        context! { projects => projects, can_create => actor.can(Permission::ManageProjects),
                   can_price => actor.can(Permission::ManagePricing),
        can_manage => actor.can(Permission::ManageInventory), errors => errors,
        ..base_context(actor, lang, "/projects") },
    )?;
    Ok((status, html).into_response())
}

async fn list_projects(State(state): State<AppState>, Authed(actor): Authed, lang: Lang) -> Result<Response, AppError> {
    projects_page(&state, &actor, lang, Value::UNDEFINED, StatusCode::OK).await
}

async fn create_project(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    form: FormData,
) -> Result<Response, AppError> {
    let new = inventory::NewProject { name: form.text("name"), city: form.text("city") };
    form_post!(lang, inventory::create_project(&state.services, &actor, new).await, |_| "/projects", |errors| {
        projects_page(&state, &actor, lang, errors, StatusCode::UNPROCESSABLE_ENTITY).await
    })
}

async fn create_building(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(project_id): Path<ProjectId>,
    form: FormData,
) -> Result<Response, AppError> {
    match inventory::create_building(
        &state.services,
        &actor,
        &project_id,
        inventory::NewBuilding {
            name: form.text("name"),
            phase: form.text("phase"),
            gross_floor_area: form.text("gross_floor_area"),
        },
    )
    .await
    {
        Ok(b) => Ok(Redirect::to(&format!("/buildings/{}", b.id)).into_response()),
        Err(e @ ServiceError::Invalid(_)) => {
            projects_page(&state, &actor, lang, field_messages(lang, &e), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(serde::Deserialize, Default)]
struct ChartView {
    /// `customer`: the chart for a screen facing buyers, without prices or
    /// anything only staff use.
    screen: Option<String>,
}

/// The 销控图 of one building: floors top-down, units across, coloured by status.
async fn building_chart(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<BuildingId>,
    Query(view): Query<ChartView>,
) -> Result<Response, AppError> {
    let customer_screen = view.screen.as_deref() == Some("customer");
    chart_page(&state, &actor, lang, &id, Value::UNDEFINED, StatusCode::OK, customer_screen).await
}

async fn chart_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    id: &BuildingId,
    errors: Value,
    status: StatusCode,
    customer_screen: bool,
) -> Result<Response, AppError> {
    let (building, units) = inventory::building_chart(&state.services, actor, id).await?;
    let units_for_totals = units.clone();
    let project = inventory::get_project(&state.services, actor, &building.project_id).await?;
    let mut floors: Vec<(i32, Vec<Value>)> = Vec::new();
    for u in units {
        let cell = context! {
            id => u.id, number => u.number, layout => u.layout, status => u.status.name(),
            gross_area => u.gross_area.to_string(), list_price => u.list_price.to_string(),
            unit_price => u.list_price.per_m2(u.gross_area).map(|p| p.to_string()),
        };
        match floors.last_mut() {
            Some((floor, cells)) if *floor == u.floor => cells.push(cell),
            _ => floors.push((u.floor, vec![cell])),
        }
    }
    let floors: Vec<Value> =
        floors.into_iter().map(|(floor, cells)| context! { floor => floor, units => cells }).collect();
    let legend: Vec<&str> = UnitStatus::ALL.iter().map(|s| s.name()).collect();
    let totals = inventory::chart_totals(&units_for_totals);
    let totals = context! {
        by_status => totals.by_status.iter().map(|(s, n, amount)| context! { status => s.name(), count => n, amount => amount.to_string() }).collect::<Vec<_>>(),
        by_layout => totals.available_by_layout.iter().map(|(l, n)| context! { layout => l, count => n }).collect::<Vec<_>>(),
    };
    let html = render(
        state,
        "building.html",
        context! { building => context! { id => building.id, name => building.name },
        project => context! { id => project.id, name => project.name },
        floors => floors, legend => legend, errors => errors, can_manage => actor.can(Permission::ManageInventory) && !customer_screen,
        can_read_finance => actor.can(Permission::ReadFinance) && !customer_screen,
        customer_screen => customer_screen,
        totals => totals,
        ..base_context(actor, lang, "/projects") },
    )?;
    Ok((status, html).into_response())
}

/// Bulk creation from the chart page: one stack per line, `layout, gross, inner, unit price`.
async fn generate(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<BuildingId>,
    form: FormData,
) -> Result<Response, AppError> {
    let stacks = form
        .get("stacks")
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let mut parts = line.split([',', '，']).map(|p| Some(p.trim().to_owned()).filter(|p| !p.is_empty()));
            inventory::StackSpec {
                layout: parts.next().flatten(),
                gross_area: parts.next().flatten(),
                inner_area: parts.next().flatten(),
                unit_price: parts.next().flatten(),
            }
        })
        .collect();
    let request = inventory::GenerateUnits {
        from_floor: form.get("from_floor").and_then(|v| v.trim().parse().ok()),
        to_floor: form.get("to_floor").and_then(|v| v.trim().parse().ok()),
        stacks,
        status: form.text("status"),
        stacks_per_entrance: form.get("stacks_per_entrance").and_then(|v| v.trim().parse().ok()),
    };
    form_post!(
        lang,
        inventory::generate_units(&state.services, &actor, &id, request).await,
        |_| format!("/buildings/{id}"),
        |errors| { chart_page(&state, &actor, lang, &id, errors, StatusCode::UNPROCESSABLE_ENTITY, false).await }
    )
}

/// Excel import from the projects page: the file and the mode come as multipart.
async fn import(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ProjectId>,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, AppError> {
    let upload = crate::pages::Upload::read(multipart).await?;
    let file = upload.file.as_slice();
    let mode = import::ImportMode::parse(upload.field("mode").unwrap_or("all")).unwrap_or(import::ImportMode::Validate);
    let project = inventory::get_project(&state.services, &actor, &id).await?;
    let (report, errors) = match import::import_units(&state.services, &actor, &id, file, mode).await {
        Ok(report) => (Some(crate::api::inventory::report_dto(report, lang)), Value::UNDEFINED),
        Err(e @ ServiceError::Invalid(_)) => (None, field_messages(lang, &e)),
        Err(e) => return Err(e.into()),
    };
    let html = render(
        &state,
        "import_result.html",
        context! { project => context! { id => project.id, name => project.name }, report => report, errors => errors,
        ..base_context(&actor, lang, "/projects") },
    )?;
    Ok(html.into_response())
}

/// Drafts a price adjustment from the projects page and shows its preview.
async fn draft_adjustment(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(project_id): Path<ProjectId>,
    form: FormData,
) -> Result<Response, AppError> {
    let new = loupan_service::sales::pricing::NewAdjustment {
        name: form.text("name"),
        building_id: form.text("building_id"),
        layout: form.text("layout"),
        min_floor: form.get("min_floor").and_then(|v| v.trim().parse().ok()),
        max_floor: form.get("max_floor").and_then(|v| v.trim().parse().ok()),
        method: form.text("method"),
        value: form.text("value"),
    };
    form_post!(
        lang,
        loupan_service::sales::pricing::create_adjustment(&state.services, &actor, &project_id, new).await,
        |(adjustment, _)| format!("/price-adjustments/{}", adjustment.id),
        |errors| projects_page(&state, &actor, lang, errors, StatusCode::UNPROCESSABLE_ENTITY).await
    )
}

async fn show_adjustment(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let conn_rows = loupan_service::sales::pricing::preview(&state.services, &actor, &id).await?;
    let adjustment = loupan_service::sales::pricing::get_adjustment(&state.services, &actor, &id).await?;
    let changes: Vec<Value> = conn_rows
        .into_iter()
        .map(|c| context! { number => c.number, floor => c.floor, old => c.old_price.to_string(), new => c.new_price.to_string() })
        .collect();
    let may_see_approval = match &adjustment.approval_id {
        Some(request) => loupan_service::approvals::may_open(&state.services, &actor, request.as_str()).await?,
        None => false,
    };
    let html = render(
        &state,
        "price_adjustment.html",
        context! { a => context! { id => adjustment.id, name => adjustment.name, method => adjustment.method, value => adjustment.value,
                        status => adjustment.status, units_changed => adjustment.units_changed, project_id => adjustment.project_id, approval_id => adjustment.approval_id },
        changes => changes, can_submit => actor.can(loupan_domain::Permission::ManagePricing),
        may_see_approval => may_see_approval,
        ..base_context(&actor, lang, "/projects") },
    )?;
    Ok(html.into_response())
}

async fn submit_adjustment(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    loupan_service::sales::pricing::submit_adjustment(&state.services, &actor, &id).await?;
    Ok(Redirect::to(&format!("/price-adjustments/{id}")).into_response())
}

#[derive(serde::Deserialize, Default)]
struct SearchQuery {
    project_id: Option<String>,
    building_id: Option<String>,
    status: Option<String>,
    layout: Option<String>,
    min_area: Option<String>,
    max_area: Option<String>,
    min_floor: Option<String>,
    max_floor: Option<String>,
    min_total_price: Option<String>,
    max_total_price: Option<String>,
    orientation: Option<String>,
    property_type: Option<String>,
    sort: Option<String>,
    cursor: Option<String>,
    notice: Option<String>,
}

/// Unit search (the same filters as `GET /api/v1/units`), with a bulk edit of the selection.
async fn units_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    axum::extract::RawQuery(raw): axum::extract::RawQuery,
) -> Result<Response, AppError> {
    let q: SearchQuery = serde_urlencoded_lite(raw.as_deref().unwrap_or_default());
    search_page(&state, &actor, lang, q, raw.unwrap_or_default(), Value::UNDEFINED, StatusCode::OK).await
}

/// Query strings as the search form sends them (every field optional; junk ignored).
fn serde_urlencoded_lite(raw: &str) -> SearchQuery {
    let mut q = SearchQuery::default();
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        let v = Some(v.into_owned()).filter(|v| !v.trim().is_empty());
        match k.as_ref() {
            "project_id" => q.project_id = v,
            "building_id" => q.building_id = v,
            "status" => q.status = v,
            "layout" => q.layout = v,
            "min_area" => q.min_area = v,
            "max_area" => q.max_area = v,
            "min_floor" => q.min_floor = v,
            "max_floor" => q.max_floor = v,
            "min_total_price" => q.min_total_price = v,
            "max_total_price" => q.max_total_price = v,
            "orientation" => q.orientation = v,
            "property_type" => q.property_type = v,
            "sort" => q.sort = v,
            "cursor" => q.cursor = v,
            "notice" => q.notice = v,
            _ => {}
        }
    }
    q
}

async fn search_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    q: SearchQuery,
    raw: String,
    errors: Value,
    status: StatusCode,
) -> Result<Response, AppError> {
    const PAGE: u64 = 100;
    let floor = |v: &Option<String>| v.as_deref().and_then(|f| f.trim().parse().ok());
    let query = inventory::UnitQuery {
        project_id: q.project_id.clone(),
        building_id: q.building_id.clone(),
        status: q.status.clone(),
        layout: q.layout.clone(),
        min_area: q.min_area.clone(),
        max_area: q.max_area.clone(),
        min_floor: floor(&q.min_floor),
        max_floor: floor(&q.max_floor),
        max_total_price: q.max_total_price.clone(),
        min_total_price: q.min_total_price.clone(),
        orientation: q.orientation.clone(),
        property_type: q.property_type.clone(),
        sort: q.sort.clone(),
    };
    let after = q.cursor.as_deref().and_then(|c| hex::decode(c).ok()).and_then(|b| String::from_utf8(b).ok());
    let (mut rows, errors) = match inventory::search_units(&state.services, actor, query, after, PAGE + 1).await {
        Ok(rows) => (rows, errors),
        Err(e @ ServiceError::Invalid(_)) => (Vec::new(), field_messages(lang, &e)),
        Err(e) => return Err(e.into()),
    };
    let next = (rows.len() as u64 > PAGE).then(|| {
        rows.truncate(PAGE as usize);
        let cursor = rows.last().map(|u| hex::encode(inventory::cursor_of(u, q.sort.as_deref()))).unwrap_or_default();
        let kept: String = form_urlencoded::parse(raw.as_bytes())
            .filter(|(k, _)| k != "cursor" && k != "notice")
            .map(|(k, v)| format!("{}={}&", urlencode(&k), urlencode(&v)))
            .collect();
        format!("/units?{kept}cursor={cursor}")
    });
    let projects = inventory::list_projects(&state.services, actor).await?;
    let mut buildings = Vec::new();
    for p in &projects {
        for b in inventory::list_buildings(&state.services, actor, &p.id).await? {
            buildings.push(context! { id => b.id, name => format!("{} {}", p.name, b.name) });
        }
    }
    let units: Vec<Value> = rows
        .into_iter()
        .map(|u| {
            context! { id => u.id, number => u.number, floor => u.floor, layout => u.layout, status => u.status.name(),
            gross_area => u.gross_area.to_string(), inner_area => u.inner_area.to_string(),
            list_price => u.list_price.to_string(), orientation => u.orientation, property_type => u.property_type.name() }
        })
        .collect();
    let export: String = form_urlencoded::parse(raw.as_bytes())
        .filter(|(k, _)| k != "cursor" && k != "notice")
        .map(|(k, v)| format!("{}={}&", urlencode(&k), urlencode(&v)))
        .collect();
    let html = render(
        state,
        "units.html",
        context! {
            units => units, next => next, errors => errors, export => format!("/api/v1/units/export?{export}"),
            projects => projects.iter().map(|p| context! { id => p.id.clone(), name => p.name.clone() }).collect::<Vec<_>>(),
            buildings => buildings, statuses => UnitStatus::ALL.iter().map(|s| s.name()).collect::<Vec<_>>(),
            property_types => loupan_domain::inventory::PropertyType::names().to_vec(),
            sorts => [("created", "units.sort_created"), ("price", "units.sort_price"), ("-price", "units.sort_price_desc"),
                      ("area", "units.sort_area"), ("-area", "units.sort_area_desc"), ("floor", "units.sort_floor"),
                      ("-floor", "units.sort_floor_desc")].iter().map(|(v, k)| context! { value => *v, key => *k }).collect::<Vec<_>>(),
            here => format!("/units?{export}"),
            // Absent filters are empty fields (never the text "None").
            q => context! { project_id => q.project_id.unwrap_or_default(), building_id => q.building_id.unwrap_or_default(),
                status => q.status.unwrap_or_default(), layout => q.layout.unwrap_or_default(),
                min_area => q.min_area.unwrap_or_default(), max_area => q.max_area.unwrap_or_default(),
                min_floor => q.min_floor.unwrap_or_default(), max_floor => q.max_floor.unwrap_or_default(),
                min_total_price => q.min_total_price.unwrap_or_default(), max_total_price => q.max_total_price.unwrap_or_default(),
                orientation => q.orientation.unwrap_or_default(), property_type => q.property_type.unwrap_or_default(),
                sort => q.sort.unwrap_or_default() },
            notice => q.notice,
            can_manage => actor.can(Permission::ManageInventory),
            ..base_context(actor, lang, "/units")
        },
    )?;
    Ok((status, html).into_response())
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The bulk edit form of the search page.
async fn bulk_edit(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    form: FormData,
) -> Result<Response, AppError> {
    let edit = inventory::BulkEdit {
        unit_ids: form.all("unit_ids").into_iter().map(UnitId::from).collect(),
        layout: form.text("layout"),
        gross_area: form.text("gross_area"),
        inner_area: form.text("inner_area"),
        list_price: form.text("list_price"),
        floor_price: form.text("floor_price"),
        reason: form.text("reason"),
    };
    let back = form.text("back").filter(|b| b.starts_with("/units")).unwrap_or_else(|| "/units".into());
    match inventory::bulk_edit(&state.services, &actor, edit).await {
        Ok(report) => {
            let mut notice = crate::i18n::t(lang, "units.bulk_done").replace("{n}", &report.changed.to_string());
            if !report.skipped_sold.is_empty() {
                notice.push('；');
                notice.push_str(
                    &crate::i18n::t(lang, "units.bulk_skipped").replace("{list}", &report.skipped_sold.join("、")),
                );
            }
            let sep = if back.contains('?') { '&' } else { '?' };
            Ok(Redirect::to(&format!("{back}{sep}notice={}", urlencode(&notice))).into_response())
        }
        Err(e @ ServiceError::Invalid(_)) => {
            let raw = back.split_once('?').map(|(_, q)| q.to_owned()).unwrap_or_default();
            let q = serde_urlencoded_lite(&raw);
            search_page(&state, &actor, lang, q, raw, field_messages(lang, &e), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

/// 鸟瞰图: the site plan with each building a link to its 销控图; managers
/// upload the plan and mark where each building is.
async fn birdseye_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    project_id: &ProjectId,
    errors: Value,
    status: StatusCode,
) -> Result<Response, AppError> {
    let project = inventory::get_project(&state.services, actor, project_id).await?;
    let b = loupan_service::inventory::files::birdseye(&state.services, actor, project_id).await?;
    let buildings: Vec<Value> = b
        .buildings
        .into_iter()
        .map(|p| {
            context! { id => p.building.id, name => p.building.name, phase => p.building.phase,
            units => p.units, available => p.available,
            region => p.region.map(|r| context! { x => f64::from(r.x) / 10.0, y => f64::from(r.y) / 10.0,
                w => f64::from(r.w) / 10.0, h => f64::from(r.h) / 10.0, rx => r.x, ry => r.y, rw => r.w, rh => r.h }) }
        })
        .collect();
    let html = render(
        state,
        "birdseye.html",
        context! { project => context! { id => project.id, name => project.name },
        site_plan => b.site_plan.map(|f| f.id), buildings => buildings, errors => errors,
        can_manage => actor.can(Permission::ManageInventory), ..base_context(actor, lang, "/projects") },
    )?;
    Ok((status, html).into_response())
}

async fn birdseye(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ProjectId>,
) -> Result<Response, AppError> {
    birdseye_page(&state, &actor, lang, &id, Value::UNDEFINED, StatusCode::OK).await
}

/// The one file field of an upload form, with its name.
async fn uploaded_file(
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(String, Vec<u8>, Option<String>), AppError> {
    let mut multipart = multipart.map_err(|_| AppError::new(StatusCode::BAD_REQUEST, "invalid_input"))?;
    let (mut name, mut bytes, mut purpose) = (String::new(), Vec::new(), None);
    while let Some(field) =
        multipart.next_field().await.map_err(|_| AppError::new(StatusCode::BAD_REQUEST, "invalid_input"))?
    {
        match field.name() {
            Some("file") => {
                name = field.file_name().unwrap_or_default().to_owned();
                bytes = field
                    .bytes()
                    .await
                    .map_err(|_| AppError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"))?
                    .to_vec();
            }
            Some("purpose") => purpose = field.text().await.ok(),
            _ => {}
        }
    }
    Ok((name, bytes, purpose))
}

async fn upload_site_plan(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ProjectId>,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, AppError> {
    let (name, bytes, _) = uploaded_file(multipart).await?;
    match loupan_service::inventory::files::upload(
        &state.services,
        &actor,
        (loupan_domain::inventory::FileOwner::Project, id.as_str(), "site_plan"),
        &name,
        bytes,
    )
    .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/projects/{id}/birdseye")).into_response()),
        Err(e @ ServiceError::Invalid(_)) => {
            birdseye_page(&state, &actor, lang, &id, field_messages(lang, &e), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn save_region(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<BuildingId>,
    form: FormData,
) -> Result<Response, AppError> {
    let n = |k: &str| form.get(k).and_then(|v| v.trim().parse::<i32>().ok()).unwrap_or(-1);
    let building = inventory::get_building(&state.services, &actor, &id).await?;
    let region = loupan_service::inventory::files::Region { x: n("x"), y: n("y"), w: n("w"), h: n("h") };
    form_post!(
        lang,
        loupan_service::inventory::files::set_region(&state.services, &actor, &id, region).await,
        |_| format!("/projects/{}/birdseye", building.project_id),
        |errors| {
            let errors = errors;
            birdseye_page(&state, &actor, lang, &building.project_id, errors, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    )
}

/// A floor plan or photo from the unit page.
async fn upload_unit_file(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Response, AppError> {
    let (name, bytes, purpose) = uploaded_file(multipart).await?;
    let purpose = purpose.unwrap_or_else(|| "photo".into());
    loupan_service::inventory::files::upload(
        &state.services,
        &actor,
        (loupan_domain::inventory::FileOwner::Unit, &id, &purpose),
        &name,
        bytes,
    )
    .await?;
    Ok(Redirect::to(&format!("/units/{id}")).into_response())
}

/// A stored file for the pages (images shown inline).
async fn file(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let (f, body) = loupan_service::inventory::files::download(&state.services, &actor, &id).await?;
    Ok(crate::api::inventory::file_response(&f, body))
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects/{id}/birdseye", get(birdseye))
        .route("/projects/{id}/site-plan", post(upload_site_plan))
        .route("/buildings/{id}/region", post(save_region))
        .route("/units/{id}/files", post(upload_unit_file))
        .route("/files/{id}", get(file))
        .route("/units", get(units_page))
        .route("/units/bulk-edit", post(bulk_edit))
        .route("/buildings/{id}/chart.pdf", get(crate::api::inventory::chart_pdf))
        .route("/projects", get(list_projects).post(create_project))
        .route("/projects/{id}/buildings", post(create_building))
        .route("/buildings/{id}", get(building_chart))
        .route("/buildings/{id}/events", get(crate::api::inventory::building_events))
        .route("/buildings/{id}/generate", post(generate))
        .route("/projects/{id}/import", post(import))
        .route("/projects/{id}/price-adjustments", post(draft_adjustment))
        .route("/price-adjustments/{id}", get(show_adjustment))
        .route("/price-adjustments/{id}/submit", post(submit_adjustment))
}
