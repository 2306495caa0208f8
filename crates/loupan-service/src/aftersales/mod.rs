//! After-sales (A1-A4): the settlement calculators that integrators and the
//! after-sales and finance staff use to check a figure (area compensation
//! under the statutory rules, the default deed tax), a project's settlement
//! rules, surveyed areas, and the area compensation of a building.

pub mod compensation;
pub mod handover;
pub mod measured;
pub mod processes;
pub mod settlement;

use loupan_domain::aftersales::{self as rules, AreaPair, CompensationError, CompensationRule};
use loupan_domain::{Area, Invalid, Money, Permission};
use serde::Serialize;

use crate::{Actor, ServiceResult};

/// An area compensation to compute, as typed (decimal strings).
#[derive(Debug, Clone, Default)]
pub struct CompensationInput {
    /// `2001` (the statutory rule, one area basis) or `2014_gross`.
    pub rule: Option<String>,
    pub contract_total: Option<String>,
    /// `2001`: the contracted and measured area of the basis the contract priced on.
    pub contract_area: Option<String>,
    pub measured_area: Option<String>,
    /// `2014_gross`: both areas, contracted and measured.
    pub contract_gross_area: Option<String>,
    pub measured_gross_area: Option<String>,
    pub contract_inner_area: Option<String>,
    pub measured_inner_area: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CompensationResult {
    pub rule: &'static str,
    /// Positive: the buyer pays; negative: the developer refunds.
    pub amount: Money,
    /// The error is beyond 3 %: the buyer may rescind instead.
    pub rescission_right: bool,
    /// Days the buyer has to rescind after the notice.
    pub rescission_days: u32,
    pub unit_price: Money,
    pub error_ratio: String,
    pub inner_error_ratio: Option<String>,
}

fn required<T>(
    errors: &mut Invalid,
    field: &'static str,
    text: &Option<String>,
    parse: fn(&str) -> Result<T, loupan_domain::quantity::DecimalError>,
) -> Option<T> {
    match text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => {
            errors.push(field, "required");
            None
        }
        Some(t) => parse(t).map_err(|e| errors.push(field, e.code())).ok(),
    }
}

/// 面积补差 of one unit by the statutory rule named in `input`.
pub fn area_compensation(actor: &Actor, input: &CompensationInput) -> ServiceResult<CompensationResult> {
    actor.require(Permission::ReadAftersales)?;
    let mut errors = Invalid::default();
    let rule = match input.rule.as_deref().map(str::trim) {
        None | Some("") => {
            errors.push("rule", "required");
            None
        }
        Some(r) => CompensationRule::parse(r).or_else(|| {
            errors.push("rule", "unknown_rule");
            None
        }),
    };
    let total = required(&mut errors, "contract_total", &input.contract_total, Money::parse);
    let (priced, inner) = match rule {
        Some(CompensationRule::ModelContract2014Gross) => {
            let cg = required(&mut errors, "contract_gross_area", &input.contract_gross_area, Area::parse);
            let mg = required(&mut errors, "measured_gross_area", &input.measured_gross_area, Area::parse);
            let ci = required(&mut errors, "contract_inner_area", &input.contract_inner_area, Area::parse);
            let mi = required(&mut errors, "measured_inner_area", &input.measured_inner_area, Area::parse);
            (
                cg.zip(mg).map(|(contracted, measured)| AreaPair { contracted, measured }),
                ci.zip(mi).map(|(contracted, measured)| AreaPair { contracted, measured }),
            )
        }
        _ => {
            let c = required(&mut errors, "contract_area", &input.contract_area, Area::parse);
            let m = required(&mut errors, "measured_area", &input.measured_area, Area::parse);
            (c.zip(m).map(|(contracted, measured)| AreaPair { contracted, measured }), None)
        }
    };
    errors.into_result()?;
    let (Some(rule), Some(total), Some(priced)) = (rule, total, priced) else {
        return Err(Invalid::one("rule", "required").into());
    };
    let c = rules::area_compensation(rule, total, priced, inner).map_err(|e| match e {
        CompensationError::AreaNotPositive(field) => Invalid::one(field, "must_be_positive"),
        CompensationError::TotalNegative => Invalid::one("contract_total", "must_not_be_negative"),
    })?;
    Ok(CompensationResult {
        rule: rule.name(),
        amount: c.amount,
        rescission_right: c.rescission_right,
        rescission_days: rule.rescission_days(),
        unit_price: c.unit_price,
        error_ratio: c.error_ratio,
        inner_error_ratio: c.inner_error_ratio,
    })
}

#[derive(Debug, Clone, Serialize)]
pub struct DeedTax {
    /// The rate as a decimal string (`"0.015"`).
    pub rate: String,
    pub amount: Money,
}

/// 契税 by the default tiers (a first home is `homes_owned_before` 0).
pub fn deed_tax(
    actor: &Actor,
    price: &Option<String>,
    gross_area: &Option<String>,
    homes_owned_before: Option<u32>,
) -> ServiceResult<DeedTax> {
    actor.require(Permission::ReadAftersales)?;
    let mut errors = Invalid::default();
    let price = required(&mut errors, "price", price, Money::parse);
    let area = required(&mut errors, "gross_area", gross_area, Area::parse);
    if price.is_some_and(Money::is_negative) {
        errors.push("price", "must_not_be_negative");
    }
    if area.is_some_and(|a| !a.is_positive()) {
        errors.push("gross_area", "must_be_positive");
    }
    match homes_owned_before {
        None => errors.push("homes_owned_before", "required"),
        // A family's homes are counted in ones; beyond a hundred it is a typing slip.
        Some(n) if n > 100 => errors.push("homes_owned_before", "out_of_range"),
        Some(_) => {}
    }
    errors.into_result()?;
    let (Some(price), Some(area), Some(homes)) = (price, area, homes_owned_before) else {
        return Err(Invalid::one("price", "required").into());
    };
    let (rate, amount) = rules::deed_tax(price, area, homes);
    Ok(DeedTax { rate: rules::rate_text(rate), amount })
}

/// Saves a project's after-sales setting (`key`) and audits the change as
/// `action` with what it was and what it is, in one transaction.
pub(crate) async fn save_project_setting<T: Serialize>(
    services: &crate::Services,
    actor: &Actor,
    project_id: &loupan_domain::ids::ProjectId,
    (key, action): (&str, &'static str),
    (before, after): (&T, &T),
) -> ServiceResult<()> {
    use loupan_store::settings::{SettingRow, project_scope, put_setting};
    let tx = services.store.begin_write().await?;
    let scope = project_scope(project_id);
    let row = SettingRow {
        scope: scope.clone(),
        key: key.to_owned(),
        value: serde_json::to_string(after).map_err(crate::ServiceError::internal)?,
        updated_by: actor.audit_id().unwrap_or_default(),
        updated_at: services.clock.now(),
    };
    put_setting(&tx, &row).await?;
    let change = crate::platform::audit::Change {
        action,
        record_type: "settings",
        record_id: &scope,
        before: serde_json::to_value(before).ok(),
        after: serde_json::to_value(after).ok(),
    };
    crate::platform::audit::record(&tx, actor, change).await?;
    tx.commit().await.map_err(crate::ServiceError::internal)?;
    Ok(())
}
