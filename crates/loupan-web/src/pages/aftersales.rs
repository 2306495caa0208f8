//! 售后结算计算器: area compensation of one unit and the default deed tax,
//! for after-sales and finance staff checking a figure. Both forms are GET:
//! nothing is stored, so the result can be bookmarked or sent on.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use loupan_service::aftersales;
use minijinja::context;
use serde::Deserialize;

use crate::extract::Authed;
use crate::i18n::Lang;
use crate::pages::{base_context, field_messages, render};
use crate::{AppError, AppState};

#[derive(Debug, Default, Deserialize)]
struct CalculatorQuery {
    /// Which form was sent: `compensation` or `deed_tax`.
    form: Option<String>,
    rule: Option<String>,
    contract_total: Option<String>,
    contract_area: Option<String>,
    measured_area: Option<String>,
    contract_gross_area: Option<String>,
    measured_gross_area: Option<String>,
    contract_inner_area: Option<String>,
    measured_inner_area: Option<String>,
    price: Option<String>,
    gross_area: Option<String>,
    homes_owned_before: Option<String>,
}

async fn calculator(
    State(state): State<AppState>,
    Authed(actor): Authed,
    lang: Lang,
    Query(q): Query<CalculatorQuery>,
) -> Result<Html<String>, AppError> {
    actor.require(loupan_domain::Permission::ReadAftersales)?;
    let mut compensation = minijinja::Value::UNDEFINED;
    let mut deed_tax = minijinja::Value::UNDEFINED;
    let mut errors = minijinja::Value::UNDEFINED;
    match q.form.as_deref() {
        Some("compensation") => {
            let input = aftersales::CompensationInput {
                rule: q.rule.clone(),
                contract_total: q.contract_total.clone(),
                contract_area: q.contract_area.clone(),
                measured_area: q.measured_area.clone(),
                contract_gross_area: q.contract_gross_area.clone(),
                measured_gross_area: q.measured_gross_area.clone(),
                contract_inner_area: q.contract_inner_area.clone(),
                measured_inner_area: q.measured_inner_area.clone(),
            };
            match aftersales::area_compensation(&actor, &input) {
                Ok(c) => {
                    compensation = context! {
                        amount => c.amount.to_string(), refund => c.amount.is_negative(),
                        rescission_right => c.rescission_right, rescission_days => c.rescission_days,
                        unit_price => c.unit_price.to_string(), error_ratio => c.error_ratio,
                        inner_error_ratio => c.inner_error_ratio,
                    }
                }
                Err(e @ loupan_service::ServiceError::Invalid(_)) => errors = field_messages(lang, &e),
                Err(e) => return Err(e.into()),
            }
        }
        Some("deed_tax") => {
            // A count typed into a form: anything but a whole number is the field's
            // error, reported together with whatever else is wrong.
            let homes = q.homes_owned_before.as_deref().map(str::trim).filter(|h| !h.is_empty()).map(str::parse::<u32>);
            let result = match homes {
                Some(Err(_)) => {
                    let mut invalid = match aftersales::deed_tax(&actor, &q.price, &q.gross_area, Some(0)) {
                        Err(loupan_service::ServiceError::Invalid(invalid)) => invalid,
                        Err(e) => return Err(e.into()),
                        Ok(_) => loupan_domain::Invalid::default(),
                    };
                    invalid.push("homes_owned_before", "not_a_number");
                    Err(invalid.into())
                }
                Some(Ok(n)) => aftersales::deed_tax(&actor, &q.price, &q.gross_area, Some(n)),
                None => aftersales::deed_tax(&actor, &q.price, &q.gross_area, None),
            };
            match result {
                Ok(t) => deed_tax = context! { rate => t.rate, amount => t.amount.to_string() },
                Err(e @ loupan_service::ServiceError::Invalid(_)) => errors = field_messages(lang, &e),
                Err(e) => return Err(e.into()),
            }
        }
        _ => {}
    }
    let form = context! {
        rule => q.rule.clone().unwrap_or_else(|| "2001".into()), contract_total => q.contract_total,
        contract_area => q.contract_area, measured_area => q.measured_area,
        contract_gross_area => q.contract_gross_area, measured_gross_area => q.measured_gross_area,
        contract_inner_area => q.contract_inner_area, measured_inner_area => q.measured_inner_area,
        price => q.price, gross_area => q.gross_area, homes_owned_before => q.homes_owned_before,
        sent => q.form,
    };
    render(
        &state,
        "aftersales_calculator.html",
        context! { form => form, compensation => compensation, deed_tax => deed_tax, errors => errors,
        ..base_context(&actor, lang, "/aftersales") },
    )
}

pub fn router() -> Router<AppState> {
    Router::new().route("/aftersales/calculator", get(calculator))
}
