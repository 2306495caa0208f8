//! Server-rendered pages for people. Every text comes from the locale files
//! through `t(...)`; navigation shows only the modules the user may use.

mod admin;
mod aftersales;
mod approvals;
mod cost;
mod customers;
mod finance;
mod inventory;
mod login;
mod pricing;
mod sales;
mod workbench;

use axum::Router;

use crate::AppState;
pub use crate::views::{base_context, field_messages, render};

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(login::router())
        .merge(workbench::router())
        .merge(admin::router())
        .merge(approvals::router())
        .merge(inventory::router())
        .merge(customers::router())
        .merge(sales::router())
        .merge(pricing::router())
        .merge(finance::router())
        .merge(aftersales::router())
        .merge(cost::router())
}
