//! The request that queued a job (its `X-Request-Id`), so that the job's log
//! lines and the webhook it delivers can be traced back to the click that
//! caused them, whichever instance runs it. Added as a nullable column: an
//! instance of the previous release keeps inserting jobs without it while the
//! new one serves beside it (expand; nothing to contract).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261223_000051_job_request_ids"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        m.alter_table(Table::alter().table(a("jobs")).add_column(text_null(a("request_id"))).to_owned()).await
    }
}
