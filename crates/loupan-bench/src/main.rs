//! `loupan-bench`: fills a database with a believable group company at a chosen
//! scale (deterministic, seeded) and times the workloads of issue 8 three ways:
//! through the web router, through the service layer, and as the raw SQL they
//! amount to. Results go to `bench/results/` as JSON and Markdown.
//!
//! Timing lives here and never in the test suite.

/// The allocator `loupan serve` runs with, since the server runs in this process.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cases;
mod compensation;
mod cost;
mod data;
mod handover;
mod letters;
mod network;
mod processes;
mod questionnaires;
mod workloads;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use loupan_service::platform::secrets::Secrets;
use loupan_service::{ServiceConfig, Services};
use loupan_store::Store;

#[derive(Parser)]
#[command(name = "loupan-bench", about = "Loupan's benchmark suite (run with --release)")]
struct Cli {
    /// Database to fill and measure; default: a fresh SQLite file under bench/work/.
    #[arg(long, env = "LOUPAN_BENCH_DATABASE_URL")]
    database_url: Option<String>,
    #[arg(long, value_enum, default_value = "small")]
    scale: Scale,
    /// Comma-separated workloads (W1,W2,W3,W4,W5,W6,W7,C1,S4,S8,C4,A3,A1,A4).
    #[arg(long, default_value = "W1,W2,W3,W4,W5,W6,W7,C1,S4,S8,C4,A3,A1,A4")]
    workloads: String,
    /// Where results are written.
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
    /// C1: contracts in the measured project (ten times as many changes and
    /// visas); by default 500, 2,000 or 5,000 with the scale.
    #[arg(long)]
    cost_contracts: Option<usize>,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Scale {
    /// 2 projects, 1,600 units, 20,000 customers: minutes.
    Small,
    /// 10 projects, 10,000 units, 200,000 customers.
    Medium,
    /// 100 projects, 1,000 buildings, 50,000 units, 1,000,000 customers, 45,000 contracts.
    Full,
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let url = match &cli.database_url {
        Some(u) => u.clone(),
        None => {
            let dir = PathBuf::from("bench/work");
            std::fs::create_dir_all(&dir)?;
            let path = std::fs::canonicalize(&dir)?.join(format!("bench-{:?}.db", cli.scale).to_lowercase());
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
            format!("sqlite://{}", path.display())
        }
    };
    let store = Store::connect(&url).await.context("opening the benchmark database")?;
    store.migrate().await?;
    let secrets = Secrets::from_master(&[7u8; 32]).map_err(|e| anyhow::anyhow!("{e}"))?;
    let services = Services::new(store, ServiceConfig::default(), secrets);
    let started = std::time::Instant::now();
    let seeded = data::seed(&services, cli.scale).await?;
    println!("seeded {} in {:.1}s", seeded.summary(), started.elapsed().as_secs_f64());
    // A database in use has planner statistics; right after a bulk load it has
    // none, and PostgreSQL then plans the first queries blind (W1's raw side
    // once walked the primary key for 300 ms until autovacuum caught up).
    loupan_store::raw::query_count(services.store.conn(), "ANALYZE", Vec::new()).await?;
    // And a running SQLite database has its write-ahead log checkpointed every
    // 1,000 pages; the bulk load leaves a log of hundreds of megabytes behind,
    // through which every page read would look first.
    if services.store.backend() == loupan_store::DbBackend::Sqlite {
        loupan_store::raw::query_count(services.store.conn(), "PRAGMA wal_checkpoint(TRUNCATE)", Vec::new()).await?;
    }
    // From here on the log is copied into the database file beside the
    // workloads, as `loupan serve` does.
    services.store.spawn_wal_checkpoints();
    let wanted: Vec<String> = cli.workloads.split(',').map(|w| w.trim().to_uppercase()).collect();
    let results = workloads::run(&services, &url, &seeded, cli.scale, &wanted, cli.cost_contracts).await?;
    let backend = format!("{:?}", services.store.backend()).to_lowercase();
    workloads::write_results(&cli.out, &backend, cli.scale, &seeded, &results)?;
    Ok(())
}
