//! Loupan through its real router: every business area's API and pages, each
//! test on a fresh database (SQLite, or PostgreSQL when
//! `LOUPAN_TEST_DATABASE_URL` is set). One test binary rather than one per
//! area: the suite links once, and the runner spreads all the tests over the
//! cores instead of running the areas one after another.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod aftersales;
mod approvals;
mod authorization;
mod cases;
mod compensation;
mod cost;
mod customers;
mod every_route;
mod finance;
mod foundation;
mod handover;
mod inventory;
mod jobs;
mod notices;
mod outage;
mod processes;
mod questionnaires;
mod reception;
mod round_trips;
mod sales;
mod security;
mod translations;
