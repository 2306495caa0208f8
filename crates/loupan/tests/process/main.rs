//! The `loupan` program from the outside, as a process: its commands, the
//! browser stories and the crawl against a server with demo data, and servers
//! killed under write traffic (SIGKILL, power cuts), and three servers behind
//! a load balancer. One test binary, so that
//! the long ones run side by side instead of one after another.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod browser;
mod cli;
mod crash;
mod group;

/// A line for the summary CI prints at the end of its log.
fn ci_summary(line: &str) {
    use std::io::Write;
    if let Ok(path) = std::env::var("LOUPAN_CI_SUMMARY") {
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
        writeln!(f, "{line}").unwrap();
    }
}
