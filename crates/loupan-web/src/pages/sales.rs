//! The agent's flow on a tablet: from a unit tile of the 销控图 to a
//! subscription or contract in a few steps; the contract page with its plan
//! and receipts; the ageing report for finance.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use loupan_domain::Permission;
use loupan_domain::ids::{ContractId, CustomerId, SubscriptionId, UnitId};
use loupan_domain::inventory::UnitStatus;
use loupan_domain::sales::ContractStatus;
use loupan_service::{Actor, ServiceError, customers, finance, inventory, sales};
use minijinja::{Value, context};

use crate::extract::{Authed, FormData};
use crate::i18n::Lang;
use crate::pages::{base_context, field_messages, render};
use crate::{AppError, AppState};

/// The unit's page again with a form's field messages (answered 422).
pub(crate) async fn unit_page_with_errors(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    id: &UnitId,
    errors: Value,
) -> Result<Response, AppError> {
    unit_page(state, actor, lang, id, (errors, Value::UNDEFINED), StatusCode::UNPROCESSABLE_ENTITY).await
}

async fn unit_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    id: &UnitId,
    (errors, typed): (Value, Value),
    status: StatusCode,
) -> Result<Response, AppError> {
    let unit = inventory::get_unit(&state.services, actor, id).await?;
    let building = inventory::get_building(&state.services, actor, &unit.building_id).await?;
    let deals = sales::deals_of_unit(&state.services, actor, id).await?;
    let history: Vec<Value> = sales::unit_history(&state.services, actor, id)
        .await?
        .into_iter()
        .map(|e| context! { kind => e.kind, from => e.from_status, to => e.to_status, reference => e.reference, actor => e.actor_name, at => e.occurred_at.to_rfc3339() })
        .collect();
    let prices: Vec<Value> = loupan_service::sales::pricing::price_history(&state.services, actor, id)
        .await?
        .into_iter()
        .map(|p| context! { old => p.old_price.to_string(), new => p.new_price.to_string(), actor => p.actor_name, at => p.changed_at.to_rfc3339() })
        .collect();
    let can_sell = actor.can(Permission::Sell);
    let compensations: Vec<Value> = if actor.can(Permission::ReadAftersales) {
        loupan_service::aftersales::compensation::compensations_of_unit(&state.services, actor, id)
            .await?
            .into_iter()
            .map(
                |l| context! { amount => l.amount.to_string(), applied => l.applied, rescission => l.rescission_right },
            )
            .collect()
    } else {
        Vec::new()
    };
    // The warranty from the handover day, for after-sales and repair cases.
    let warranty = if actor.can(Permission::ReadAftersales) && unit.status == UnitStatus::HandedOver {
        loupan_service::aftersales::handover::warranty(&state.services, actor, id).await?
    } else {
        Vec::new()
    };
    let files: Vec<Value> = loupan_service::inventory::files::files_of(&state.services, actor, loupan_domain::inventory::FileOwner::Unit, id.as_str())
        .await?
        .into_iter()
        .map(|f| context! { id => f.id, name => f.file_name, purpose => f.purpose, is_image => f.content_type.starts_with("image/") })
        .collect();
    // For a change to the subscription: the units it may move to and its buyers.
    let free_units: Vec<Value> = if can_sell && deals.subscription.is_some() {
        let query = inventory::UnitQuery {
            project_id: Some(unit.project_id.to_string()),
            status: Some("available".into()),
            ..Default::default()
        };
        inventory::search_units(&state.services, actor, query, None, 300)
            .await?
            .into_iter()
            .map(|u| context! { id => u.id, number => u.number, price => u.list_price.to_string() })
            .collect()
    } else {
        Vec::new()
    };
    let buyers: Vec<Value> = match &deals.subscription {
        Some(s) => loupan_service::changes::buyers(&state.services, actor, s.id.as_str())
            .await?
            .into_iter()
            .map(|b| context! { customer_id => b.customer_id, share => b.share })
            .collect(),
        None => Vec::new(),
    };
    let (customer_options, methods) = if can_sell {
        let query = customers::CustomerQuery { project_id: Some(unit.project_id.to_string()), ..Default::default() };
        let list = customers::search(&state.services, actor, query, None, 500).await?;
        let mut methods = Vec::new();
        for m in sales::list_payment_methods(&state.services, actor, &unit.project_id).await? {
            let limits = sales::limits_for(&state.services, actor, id, &m.id).await?;
            methods.push(context! { id => m.id, name => m.name, minimum => limits.minimum.to_string(), non_standard => m.non_standard });
        }
        let mut options: Vec<Value> =
            list.iter().map(|c| context! { id => c.id, name => c.name, phone => c.phone }).collect();
        // A customer just registered from this page comes back chosen, even beyond the list's length.
        if let Some(chosen) = typed.get_attr("customer_id").ok().and_then(|v| v.as_str().map(CustomerId::from))
            && !list.iter().any(|c| c.id == chosen)
            && let Ok(c) = customers::get(&state.services, actor, &chosen).await
        {
            options.insert(0, context! { id => c.id, name => c.name, phone => c.phone });
        }
        (options, methods)
    } else {
        (Vec::new(), Vec::new())
    };
    let html = render(
        state,
        "unit.html",
        context! {
            u => context! { id => unit.id, project_id => unit.project_id.clone(), number => unit.number, floor => unit.floor, layout => unit.layout,
                            gross_area => unit.gross_area.to_string(), inner_area => unit.inner_area.to_string(),
                            list_price => unit.list_price.to_string(), status => unit.status.name(),
                            property_type => unit.property_type.name(), orientation => unit.orientation.clone(),
                            decoration => unit.decoration.map(|d| d.name()),
                            // 底价 is for those who set prices.
                            floor_price => unit.floor_price.filter(|_| actor.can(Permission::ManagePricing)).map(|m| m.to_string()) },
            building => context! { id => building.id, name => building.name },
            subscription => deals.subscription.map(|s| context! { id => s.id, number => s.number, total => s.total_price.to_string(), deposit => s.deposit.to_string(), method => s.payment_method_id }),
            contract => deals.contract.map(|c| context! { id => c.id, number => c.number }),
            measured => context! { gross => unit.measured_gross_area.map(|a| a.to_string()),
                inner => unit.measured_inner_area.map(|a| a.to_string()), version => unit.version },
            may_survey => actor.can(Permission::ManageAftersales), compensations => compensations, warranty => warranty,
            history => history, prices => prices, customers => customer_options.clone(), people => customer_options,
            methods => methods, today => state.services.clock.today().to_string(), free_units => free_units, buyers => buyers, files => files,
            can_sell => can_sell && unit.status == UnitStatus::Available,
            can_sign => can_sell, can_control => actor.can(Permission::ManageInventory),
            errors => errors, typed => typed,
            ..base_context(actor, lang, "/projects")
        },
    )?;
    Ok((status, html).into_response())
}

#[derive(serde::Deserialize, Default)]
struct UnitQuery {
    /// The customer to choose in the deal forms (back from registering one).
    customer_id: Option<String>,
    /// Possible duplicates found when that customer was registered.
    duplicates: Option<usize>,
}

async fn show_unit(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<UnitId>,
    axum::extract::Query(q): axum::extract::Query<UnitQuery>,
) -> Result<Response, AppError> {
    let typed = match q.customer_id.filter(|c| !c.is_empty()) {
        Some(c) => context! { customer_id => c, duplicates => q.duplicates.unwrap_or(0) },
        None => Value::UNDEFINED,
    };
    unit_page(&state, &actor, lang, &id, (Value::UNDEFINED, typed), StatusCode::OK).await
}

/// Renders the unit page again with the form as typed and its errors, or passes other errors on.
async fn retry(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    id: &UnitId,
    form: &FormData,
    err: ServiceError,
) -> Result<Response, AppError> {
    match err {
        e @ ServiceError::Invalid(_) => {
            let typed: std::collections::BTreeMap<&str, &str> =
                form.0.iter().filter(|(k, _)| k != "csrf_token").map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let page = (field_messages(lang, &e), Value::from_serialize(&typed));
            unit_page(state, actor, lang, id, page, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        e => Err(e.into()),
    }
}

async fn subscribe(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<UnitId>,
    form: FormData,
) -> Result<Response, AppError> {
    let new = sales::NewSubscription {
        buyers: Vec::new(),
        unit_id: Some(id.to_string()),
        customer_id: form.text("customer_id"),
        total_price: form.text("total_price"),
        deposit: form.text("deposit"),
        payment_method_id: form.text("payment_method_id"),
        subscribed_on: form.text("date"),
    };
    let reason = form.text("special_reason").filter(|r| !r.trim().is_empty());
    match sales::subscribe(&state.services, &actor, new.clone()).await {
        Ok(_) => Ok(Redirect::to(&format!("/units/{id}")).into_response()),
        // Below what the agent may agree alone, with a reason: ask for a special discount.
        Err(ServiceError::Invalid(invalid))
            if reason.is_some() && invalid.0.iter().any(|e| e.code == "needs_special_approval") =>
        {
            match sales::request_special_discount(&state.services, &actor, new, reason.as_deref()).await {
                Ok(request) => Ok(Redirect::to(&format!("/approvals/{}", request.id)).into_response()),
                Err(e) => retry(&state, &actor, lang, &id, &form, e).await,
            }
        }
        Err(e) => retry(&state, &actor, lang, &id, &form, e).await,
    }
}

async fn sign(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<UnitId>,
    form: FormData,
) -> Result<Response, AppError> {
    let subscription_id = form.text("subscription_id").filter(|s| !s.is_empty());
    let new = sales::NewContract {
        unit_id: subscription_id.is_none().then(|| id.to_string()),
        customer_id: form.text("customer_id"),
        subscription_id,
        payment_method_id: form.text("payment_method_id"),
        total_price: form.text("total_price"),
        signed_on: form.text("date"),
    };
    match sales::sign_contract(&state.services, &actor, new).await {
        Ok(sales::Signing::Signed(contract)) => {
            Ok(Redirect::to(&format!("/contracts/{}", contract.id)).into_response())
        }
        // A non-standard payment method: the request shows where the contract waits.
        Ok(sales::Signing::Waiting { approval_id }) => {
            Ok(Redirect::to(&format!("/approvals/{approval_id}")).into_response())
        }
        Err(e) => retry(&state, &actor, lang, &id, &form, e).await,
    }
}

async fn reserve(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<UnitId>,
    form: FormData,
) -> Result<Response, AppError> {
    let new = sales::NewReservation {
        unit_id: Some(id.to_string()),
        customer_id: form.text("customer_id"),
        days: form.get("days").and_then(|d| d.trim().parse().ok()),
    };
    match sales::reserve(&state.services, &actor, new).await {
        Ok(_) => Ok(Redirect::to(&format!("/units/{id}")).into_response()),
        Err(e) => retry(&state, &actor, lang, &id, &form, e).await,
    }
}

async fn hold(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<UnitId>,
) -> Result<Response, AppError> {
    sales::set_sales_control(&state.services, &actor, &id, true).await?;
    Ok(Redirect::to(&format!("/units/{id}")).into_response())
}

async fn release(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<UnitId>,
) -> Result<Response, AppError> {
    sales::set_sales_control(&state.services, &actor, &id, false).await?;
    Ok(Redirect::to(&format!("/units/{id}")).into_response())
}

async fn contract_page(
    state: &AppState,
    actor: &Actor,
    lang: Lang,
    id: &ContractId,
    errors: Value,
    status: StatusCode,
) -> Result<Response, AppError> {
    let contract = sales::get_contract(&state.services, actor, id).await?;
    let contract_active = contract.status == ContractStatus::Active;
    let unit = inventory::get_unit(&state.services, actor, &contract.unit_id).await?;
    let customer = customers::get(&state.services, actor, &contract.customer_id).await.ok();
    // For change requests: the units one may swap to, the methods, the customers.
    let (free_units, methods, people) = if actor.can(Permission::Sell) && contract_active {
        let query = inventory::UnitQuery {
            project_id: Some(contract.project_id.to_string()),
            status: Some("available".into()),
            ..Default::default()
        };
        let units: Vec<Value> = inventory::search_units(&state.services, actor, query, None, 300)
            .await?
            .into_iter()
            .map(|u| context! { id => u.id, number => u.number, price => u.list_price.to_string() })
            .collect();
        let methods: Vec<Value> = sales::list_payment_methods(&state.services, actor, &contract.project_id)
            .await?
            .into_iter()
            .map(|m| context! { id => m.id, name => m.name })
            .collect();
        let query =
            customers::CustomerQuery { project_id: Some(contract.project_id.to_string()), ..Default::default() };
        let people: Vec<Value> = customers::search(&state.services, actor, query, None, 500)
            .await?
            .into_iter()
            .map(|c| context! { id => c.id, name => c.name })
            .collect();
        (units, methods, people)
    } else {
        (Vec::new(), Vec::new(), Vec::new())
    };
    let buyers: Vec<Value> = loupan_service::changes::buyers(&state.services, actor, id.as_str())
        .await?
        .into_iter()
        .map(|b| context! { customer_id => b.customer_id, share => b.share })
        .collect();
    let plan: Vec<Value> = sales::payment_plan_of(&state.services, actor, id)
        .await?
        .into_iter()
        .map(|i| context! { seq => i.seq, kind => i.kind, due => i.due_date.to_string(), amount => i.amount.to_string(), paid => i.paid.to_string(), outstanding => i.outstanding.to_string() })
        .collect();
    let receipts: Vec<Value> = if actor.can(Permission::ReadFinance) {
        finance::receipts_of_contract(&state.services, actor, id)
            .await?
            .into_iter()
            .map(|r| context! { id => r.id, amount => r.amount.to_string(), on => r.received_on.to_string(), channel => r.channel,
                status => r.status, number => r.number, payer => r.payer, note => r.note, reversed => r.reversed_by.is_some(),
                reversal => r.reverses.is_some(), paired => r.pair_id.is_some(), positive => r.amount.is_positive() })
            .collect()
    } else {
        Vec::new()
    };
    let books: Vec<Value> = if actor.can(Permission::RecordReceipts) {
        loupan_service::finance::receipt_books::list(&state.services, actor, Some(&contract.project_id))
            .await?
            .into_iter()
            .filter(|b| b.left > 0)
            .map(|b| context! { id => b.id, prefix => b.prefix, next => b.next_number, left => b.left })
            .collect()
    } else {
        Vec::new()
    };
    let service_cases = match loupan_service::aftersales::processes::cases_of_contract(&state.services, actor, id).await
    {
        Ok(cases) => cases,
        // Not everyone who reads a contract reads its service cases.
        Err(ServiceError::Forbidden | ServiceError::NotFound(_)) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let handover = match loupan_service::aftersales::handover::handover_of_contract(&state.services, actor, id).await {
        Ok(h) => Some(context! { id => h.id, status => h.status, handed_over_on => h.handed_over_on }),
        Err(ServiceError::Forbidden | ServiceError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let html = render(
        state,
        "contract.html",
        context! {
            service_cases => Value::from_serialize(&service_cases),
            handover => handover,
            may_start_cases => actor.can(Permission::ManageAftersales) && contract_active,
            process_kinds => loupan_domain::processes::ProcessKind::names(),
            k => context! { id => contract.id, number => contract.number, total => contract.total_price.to_string(), signed_on => contract.signed_on.to_string() },
            unit => context! { id => unit.id, number => unit.number },
            customer => customer.map(|c| context! { id => c.id, name => c.name }),
            plan => plan, receipts => receipts, today => state.services.clock.today().to_string(), channels => loupan_domain::finance::ReceiptChannel::TYPED.map(loupan_domain::finance::ReceiptChannel::name), books => books,
            from_subscription => contract.subscription_id.is_some() && contract_active,
            can_record => actor.can(Permission::RecordReceipts), can_audit => actor.can(Permission::AuditReceipts),
            can_request => actor.can(Permission::Sell) && contract_active,
            free_units => free_units, methods => methods, people => people, buyers => buyers,
            method_id => contract.payment_method_id.clone(),
            errors => errors,
            ..base_context(actor, lang, "/projects")
        },
    )?;
    Ok((status, html).into_response())
}

async fn show_contract(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ContractId>,
) -> Result<Response, AppError> {
    contract_page(&state, &actor, lang, &id, Value::UNDEFINED, StatusCode::OK).await
}

async fn record_receipt(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ContractId>,
    form: FormData,
) -> Result<Response, AppError> {
    let new = finance::NewReceipt {
        contract_id: Some(id.to_string()),
        subscription_id: None,
        amount: form.text("amount"),
        received_on: form.text("received_on"),
        channel: form.text("channel"),
        payer: form.text("payer"),
        book_id: form.text("book_id"),
        post_dated_reason: form.text("post_dated_reason"),
    };
    form_post!(
        lang,
        finance::record_receipt(&state.services, &actor, new).await,
        |_| format!("/contracts/{id}"),
        |errors| contract_page(&state, &actor, lang, &id, errors, StatusCode::UNPROCESSABLE_ENTITY).await
    )
}

/// 定金转房款 from the contract page.
async fn deposit_transfer(
    State(state): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<ContractId>,
) -> Result<Response, AppError> {
    finance::transfer_deposit(&state.services, &actor, &id).await?;
    Ok(Redirect::to(&format!("/contracts/{id}")).into_response())
}

async fn receipt_step(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path((id, step)): Path<(String, String)>,
    form: FormData,
) -> Result<Response, AppError> {
    let receipt = match step.as_str() {
        "arrive" => finance::mark_arrived(&state.services, &actor, &id).await?,
        "audit" => finance::audit_receipt(&state.services, &actor, &id).await?,
        "reverse" => match finance::reverse_receipt(&state.services, &actor, &id, form.text("reason").as_deref()).await
        {
            Ok(r) => r,
            Err(e @ ServiceError::Invalid(_)) => {
                let contract =
                    finance::get_receipt(&state.services, &actor, &id).await?.contract_id.unwrap_or_default();
                return contract_page(
                    &state,
                    &actor,
                    lang,
                    &contract,
                    field_messages(lang, &e),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
            Err(e) => return Err(e.into()),
        },
        _ => return Err(AppError::new(StatusCode::NOT_FOUND, "route_not_found")),
    };
    let back = receipt.contract_id.map_or_else(|| "/".to_owned(), |c| format!("/contracts/{c}"));
    Ok(Redirect::to(&back).into_response())
}

/// An agent asks to cancel a contract (退房) from its page.
async fn request_cancel(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<ContractId>,
    form: FormData,
) -> Result<Response, AppError> {
    let new = change_from_form(&form, id.as_str(), "cancel_contract");
    form_post!(
        lang,
        loupan_service::changes::request_change(&state.services, &actor, new).await,
        |_| format!("/contracts/{id}"),
        |errors| contract_page(&state, &actor, lang, &id, errors, StatusCode::UNPROCESSABLE_ENTITY).await
    )
}

/// A change request as the change form sends it.
fn change_from_form(form: &FormData, subject_id: &str, default_kind: &str) -> loupan_service::changes::NewChange {
    let buyers = (0..5)
        .filter_map(|i| {
            let customer = form.text(&format!("buyer_{i}")).filter(|c| !c.is_empty())?;
            Some(loupan_service::changes::NewBuyer {
                customer_id: Some(customer),
                share: form.text(&format!("share_{i}")),
            })
        })
        .collect();
    loupan_service::changes::NewChange {
        kind: Some(form.text("kind").filter(|k| !k.is_empty()).unwrap_or_else(|| default_kind.into())),
        subject_id: Some(subject_id.to_owned()),
        reason: form.text("reason"),
        new_unit_id: form.text("new_unit_id"),
        new_total_price: form.text("new_total_price"),
        payment_method_id: form.text("payment_method_id"),
        buyers,
    }
}

/// A change to a subscription, from the unit page.
async fn request_subscription_change(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Path(id): Path<SubscriptionId>,
    form: FormData,
) -> Result<Response, AppError> {
    let subscription = sales::get_subscription(&state.services, &actor, &id).await?;
    let new = change_from_form(&form, id.as_str(), "cancel_subscription");
    match loupan_service::changes::request_change(&state.services, &actor, new).await {
        Ok(change) => match change.approval_id {
            Some(a) => Ok(Redirect::to(&format!("/approvals/{a}")).into_response()),
            None => Ok(Redirect::to(&format!("/units/{}", subscription.unit_id)).into_response()),
        },
        Err(e) => retry(&state, &actor, lang, &subscription.unit_id, &form, e).await,
    }
}

async fn changes_page(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
) -> Result<Html<String>, AppError> {
    let rows: Vec<Value> = loupan_service::changes::list_changes(&state.services, &actor, None)
        .await?
        .into_iter()
        .map(|c| {
            context! { id => c.id, kind => c.kind, subject_id => c.subject_id, reason => c.reason, status => c.status,
            requested_by => c.requested_by, decided_by => c.decided_by, at => c.created_at.to_rfc3339(),
            approval_id => c.approval_id }
        })
        .collect();
    render(&state, "changes.html", context! { changes => rows, ..base_context(&actor, lang, "/") })
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/units/{id}", get(show_unit))
        .route("/units/{id}/subscribe", post(subscribe))
        .route("/units/{id}/contract", post(sign))
        .route("/units/{id}/hold", post(hold))
        .route("/units/{id}/reserve", post(reserve))
        .route("/units/{id}/release", post(release))
        .route("/contracts/{id}", get(show_contract))
        .route("/contracts/{id}/receipts", post(record_receipt))
        .route("/contracts/{id}/deposit-transfer", post(deposit_transfer))
        .route("/contracts/{id}/cancel-request", post(request_cancel))
        .route("/subscriptions/{id}/change-request", post(request_subscription_change))
        .route("/sales/changes", get(changes_page))
        .route("/receipts/{id}/{step}", post(receipt_step))
}
