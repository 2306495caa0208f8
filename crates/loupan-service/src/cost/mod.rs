//! Project cost (PM3-PM7): the cost item tree, target cost versions, contract
//! planning, suppliers and cost contracts, design changes and site visas, and
//! the dynamic cost they make up. Every document posts to the cost ledger in
//! its own transaction, so the dynamic cost is live, answerable at any past
//! date, and every figure drills down to the entries and documents behind it.

mod contracts;
mod group;
mod ledger;
mod reports;
mod sheets;
mod tree;

pub use contracts::*;
pub use group::*;
pub use ledger::*;
pub use reports::*;
pub use sheets::*;
pub use tree::*;

use chrono::NaiveDate;
use loupan_domain::Invalid;
use loupan_domain::Money;
use loupan_domain::ids::ProjectId;
use loupan_store::Connection;
use loupan_store::inventory as store_inventory;

use crate::{Actor, ServiceError, ServiceResult};

/// The project named in a path: one the actor sees, or not found.
async fn visible_project<C: Connection>(conn: &C, actor: &Actor, project: &ProjectId) -> ServiceResult<ProjectId> {
    if !actor.sees_project(project) || store_inventory::find_project(conn, project).await?.is_none() {
        return Err(ServiceError::NotFound("project"));
    }
    Ok(project.clone())
}

/// Who did it, as the documents record it.
fn by(actor: &Actor) -> String {
    actor.by()
}

fn money(errors: &mut Invalid, field: &str, text: Option<&str>) -> Money {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => {
            errors.push(field, "required");
            Money::ZERO
        }
        Some(t) => Money::parse(t).map_err(|e| errors.push(field, e.code())).unwrap_or(Money::ZERO),
    }
}

fn positive_money(errors: &mut Invalid, field: &str, text: Option<&str>) -> Money {
    let m = money(errors, field, text);
    if text.is_some_and(|t| Money::parse(t.trim()).is_ok()) && !m.is_positive() {
        errors.push(field, "must_be_positive");
    }
    m
}

/// A document's date: today when absent, never after today.
fn document_date(errors: &mut Invalid, field: &str, text: Option<&str>, today: NaiveDate) -> NaiveDate {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => today,
        Some(t) => match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
            Err(_) => {
                errors.push(field, "invalid_date");
                today
            }
            Ok(d) if d > today => {
                errors.push(field, "in_the_future");
                today
            }
            Ok(d) => d,
        },
    }
}

/// A required id field, trimmed.
fn required_id(errors: &mut Invalid, field: &str, text: Option<&str>) -> String {
    match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => {
            errors.push(field, "required");
            String::new()
        }
        Some(t) => t.to_owned(),
    }
}
