//! Loupan's domain: pure types and rules, no I/O.
//!
//! Everything here can be tested with a table of cases. Money and area are integers
//! (fen, hundredths of m2) wrapped in newtypes that can only hold valid values.

pub mod access;
pub mod aftersales;
pub mod approvals;
pub mod cases;
pub mod cost;
pub mod customers;
pub mod finance;
pub mod formula;
pub mod handover;
pub mod ids;
pub mod inventory;
pub mod names;
pub mod notices;
pub mod platform;
pub mod processes;
pub mod quantity;
pub mod questionnaires;
pub mod sales;
pub mod sentence;
pub mod statistics;
pub mod validation;

pub use access::{DataScope, Permission, Role};
pub use quantity::{Area, Money};
pub use validation::{FieldError, Invalid};
