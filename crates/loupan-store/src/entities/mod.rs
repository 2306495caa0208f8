//! SeaORM entities, one module per table. Column types mirror the migration:
//! money and area are `i64` hundredths, instants `DateTime<Utc>`.

pub mod audit_log;
pub mod buildings;
pub mod contracts;
pub mod customer_duplicates;
pub mod customer_events;
pub mod customers;
pub mod deal_changes;
pub mod follow_ups;
pub mod idempotency_keys;
pub mod instalments;
pub mod login_failures;
pub mod number_sequences;
pub mod payment_methods;
pub mod price_adjustments;
pub mod projects;
pub mod receipt_allocations;
pub mod receipts;
pub mod refunds;
pub mod reservations;
pub mod sessions;
pub mod subscriptions;
pub mod unit_events;
pub mod unit_prices;
pub mod units;
pub mod user_projects;
pub mod user_roles;
pub mod users;
