//! The platform every business area stands on: users, sessions and sign-in,
//! the audit trail, background jobs, notifications, webhooks, live updates,
//! idempotency keys, personal-data secrets, file storage, Excel import
//! helpers and the instance's graceful way out. Nothing here knows a business area.

pub mod actors;
pub mod audit;
pub mod auth;
pub mod files;
pub mod housekeeping;
pub mod idempotency;
pub mod import;
pub mod jobs;
pub mod lifecycle;
pub mod live;
pub mod notifications;
pub mod outbound;
pub mod rate_limit;
pub mod replica;
pub mod request;
pub mod s3;
pub mod secrets;
pub mod users;
pub mod webhooks;
