//! The platform's API: signing in and out, users and the audit trail,
//! webhooks and the job queue.

pub mod admin;
pub mod auth;
pub mod integrations;
