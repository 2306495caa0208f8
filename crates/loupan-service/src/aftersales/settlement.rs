//! A project's settlement rules (A3): which rule settles area differences (the
//! 2001 statutory rule, the 2014 model contract, or the project's own
//! formula), how many days after the notice a buyer pays, the deed-tax tiers
//! and the maintenance-fund rate per property type. Kept as one setting of the
//! project, falling back to the company's.

use std::collections::BTreeMap;

use loupan_domain::aftersales::{DeedTaxTiers, FORMULA_VARIABLES, FundRate, SettlementRule};
use loupan_domain::formula::Formula;
use loupan_domain::ids::ProjectId;
use loupan_domain::inventory::PropertyType;
use loupan_domain::sales::Ratio;
use loupan_domain::{Area, Invalid, Money, Permission};
use loupan_store::Connection;
use loupan_store::settings::{self as store_settings, COMPANY, project_scope};
use serde::{Deserialize, Serialize};

use crate::inventory;
use crate::{Actor, ServiceError, ServiceResult, Services};

const KEY: &str = "aftersales.settlement";

/// Days a buyer has to pay a compensation after the notice, unless set.
pub const DEFAULT_DUE_DAYS: u32 = 30;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    pub rule: SettlementRule,
    /// The formula's text when `rule` is `formula`.
    pub formula: Option<String>,
    pub due_days: u32,
    pub deed_tax: DeedTaxTiers,
    /// Per property type; a type without a rate has no fund to recompute.
    pub funds: BTreeMap<PropertyType, FundRate>,
}

/// The deed tax and the maintenance fund of one contract, on its contract
/// total and forecast area and again on the settled price and surveyed area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fees {
    pub deed_tax_before: Money,
    pub deed_tax_after: Money,
    pub fund_before: Money,
    pub fund_after: Money,
}

impl Settlement {
    /// What the buyer owes in deed tax and fund before and after the survey:
    /// `total` over `contracted` m2 before, `settled` over `measured` after.
    pub(crate) fn fees(
        &self,
        property_type: PropertyType,
        homes_owned_before: u32,
        (total, contracted): (Money, Area),
        (settled, measured): (Money, Area),
    ) -> Fees {
        let fund = self.funds.get(&property_type);
        Fees {
            deed_tax_before: self.deed_tax.tax(total, contracted, homes_owned_before).1,
            deed_tax_after: self.deed_tax.tax(settled, measured, homes_owned_before).1,
            fund_before: fund.map_or(Money::ZERO, |f| f.fund(total, contracted)),
            fund_after: fund.map_or(Money::ZERO, |f| f.fund(settled, measured)),
        }
    }
}

impl Default for Settlement {
    fn default() -> Self {
        Settlement {
            rule: SettlementRule::Statutory2001,
            formula: None,
            due_days: DEFAULT_DUE_DAYS,
            deed_tax: DeedTaxTiers::default(),
            funds: BTreeMap::new(),
        }
    }
}

impl Settlement {
    /// The formula, parsed; stored formulas were checked when saved.
    pub fn parsed_formula(&self) -> ServiceResult<Option<Formula>> {
        match (&self.rule, &self.formula) {
            (SettlementRule::Formula, Some(text)) => {
                Formula::parse(text, FORMULA_VARIABLES).map(Some).map_err(|e| ServiceError::internal(e.code()))
            }
            (SettlementRule::Formula, None) => Err(ServiceError::internal("formula rule without a formula")),
            _ => Ok(None),
        }
    }
}

/// The settlement rules of a project as stored (the company's, or the defaults).
pub(crate) async fn settlement_of<C: Connection>(conn: &C, project_id: &ProjectId) -> ServiceResult<Settlement> {
    let scopes = [project_scope(project_id), COMPANY.to_owned()];
    match store_settings::first_setting(conn, &scopes, KEY).await? {
        Some(row) => serde_json::from_str(&row.value).map_err(ServiceError::internal),
        None => Ok(Settlement::default()),
    }
}

pub async fn settlement(services: &Services, actor: &Actor, project_id: &ProjectId) -> ServiceResult<Settlement> {
    actor.require(Permission::ReadAftersales)?;
    inventory::get_project(services, actor, project_id).await?;
    settlement_of(services.store.conn(), project_id).await
}

/// Deed-tax tiers as typed: rates as decimal fractions (`"0.015"`), the threshold in m2.
#[derive(Debug, Clone, Default)]
pub struct TiersForm {
    pub threshold: Option<String>,
    pub first_small: Option<String>,
    pub first_large: Option<String>,
    pub second_small: Option<String>,
    pub second_large: Option<String>,
    pub further: Option<String>,
}

#[derive(Debug, Clone)]
pub struct FundForm {
    pub property_type: String,
    /// `per_m2` (yuan per m2 of gross area) or `percent_of_price` (a fraction, `"0.02"`).
    pub method: String,
    pub value: String,
}

/// What a change of the settlement rules carries; a field left out keeps its value.
#[derive(Debug, Clone, Default)]
pub struct SettlementForm {
    pub rule: Option<String>,
    pub formula: Option<String>,
    pub due_days: Option<i64>,
    pub deed_tax: Option<TiersForm>,
    /// When given, the whole list of rates (an empty list removes them all).
    pub funds: Option<Vec<FundForm>>,
}

/// A rate as a fraction with at most four places (`"0.015"`), in ten-thousandths.
fn rate(text: &str, most: u32) -> Result<u32, &'static str> {
    let r = Ratio::parse(text)?;
    if r.millionths() % 100 != 0 {
        return Err("rate_too_precise");
    }
    let v = u32::try_from(r.millionths() / 100).map_err(|_| "out_of_range")?;
    if v > most { Err("out_of_range") } else { Ok(v) }
}

fn tiers(before: DeedTaxTiers, form: &TiersForm, errors: &mut Invalid) -> DeedTaxTiers {
    let mut out = before;
    // Absent keeps a value; present, it must be one (a form sends every tier).
    if let Some(t) = form.threshold.as_deref().map(str::trim) {
        match Area::parse(t) {
            Ok(a) if a.is_positive() => out.threshold = a,
            Ok(_) => errors.push("deed_tax.threshold", "must_be_positive"),
            Err(e) => errors.push("deed_tax.threshold", e.code()),
        }
    }
    let fields: [(&'static str, &Option<String>, &mut u32); 5] = [
        ("deed_tax.first_small", &form.first_small, &mut out.first_small),
        ("deed_tax.first_large", &form.first_large, &mut out.first_large),
        ("deed_tax.second_small", &form.second_small, &mut out.second_small),
        ("deed_tax.second_large", &form.second_large, &mut out.second_large),
        ("deed_tax.further", &form.further, &mut out.further),
    ];
    for (field, text, slot) in fields {
        if let Some(t) = text.as_deref().map(str::trim) {
            match rate(t, DeedTaxTiers::MAX_RATE) {
                Ok(v) => *slot = v,
                Err(code) => errors.push(field, code),
            }
        }
    }
    out
}

/// Each rate's errors name it by its place in the list: `funds[1].value`.
fn funds(forms: &[FundForm], errors: &mut Invalid) -> BTreeMap<PropertyType, FundRate> {
    let mut out = BTreeMap::new();
    for (i, f) in forms.iter().enumerate() {
        let at = |field: &str| format!("funds[{i}].{field}");
        let Some(kind) = PropertyType::parse(f.property_type.trim()) else {
            errors.push(at("property_type"), "unknown_property_type");
            continue;
        };
        let value = f.value.trim();
        // What the value may be depends on the method: yuan per m2 with two
        // places, or a share of the price of at most a tenth with four.
        let fund = match f.method.trim() {
            "per_m2" => Money::parse(value).ok().filter(|m| m.is_positive()).map(|per_m2| FundRate::PerM2 { per_m2 }),
            "percent_of_price" => rate(value, 1_000)
                .ok()
                .filter(|v| *v > 0)
                .map(|ten_thousandths| FundRate::PercentOfPrice { ten_thousandths }),
            _ => {
                errors.push(at("method"), "unknown_method");
                continue;
            }
        };
        match fund {
            None => errors.push(at("value"), "value_for_method"),
            Some(fund) => {
                if out.insert(kind, fund).is_some() {
                    errors.push(at("property_type"), "duplicate");
                }
            }
        }
    }
    out
}

/// Sets a project's settlement rules. A formula is parsed and checked here,
/// naming an unknown variable, so a batch never meets a bad one.
pub async fn set_settlement(
    services: &Services,
    actor: &Actor,
    project_id: &ProjectId,
    form: SettlementForm,
) -> ServiceResult<Settlement> {
    actor.require(Permission::ManageAftersales)?;
    inventory::get_project(services, actor, project_id).await?;
    let before = settlement_of(services.store.conn(), project_id).await?;
    let mut errors = Invalid::default();
    let rule = match form.rule.as_deref().map(str::trim) {
        None | Some("") => before.rule,
        Some(r) => SettlementRule::parse(r).unwrap_or_else(|| {
            errors.push("rule", "unknown_rule");
            before.rule
        }),
    };
    let mut formula_refused = false;
    let formula = match form.formula.as_deref().map(str::trim) {
        None => before.formula.clone(),
        Some("") => None,
        Some(text) => match Formula::parse(text, FORMULA_VARIABLES) {
            Ok(f) => Some(f.text().to_owned()),
            Err(e) => {
                formula_refused = true;
                errors.push_with("formula", e.code(), vec![("name", e.detail())]);
                None
            }
        },
    };
    if rule == SettlementRule::Formula && formula.is_none() && !formula_refused {
        errors.push("formula", "needed_for_formula_rule");
    }
    let due_days = match form.due_days {
        None => before.due_days,
        Some(d) => u32::try_from(d).ok().filter(|d| (1..=365).contains(d)).unwrap_or_else(|| {
            errors.push("due_days", "out_of_range");
            before.due_days
        }),
    };
    let deed_tax = form.deed_tax.as_ref().map_or(before.deed_tax, |t| tiers(before.deed_tax, t, &mut errors));
    let funds = form.funds.as_deref().map_or_else(|| before.funds.clone(), |f| funds(f, &mut errors));
    errors.into_result()?;
    let after = Settlement {
        formula: if rule == SettlementRule::Formula { formula } else { None },
        rule,
        due_days,
        deed_tax,
        funds,
    };
    super::save_project_setting(services, actor, project_id, (KEY, "settings.settlement"), (&before, &after)).await?;
    Ok(after)
}
