//! When a customer said they want no marketing (PIPL): opening notices,
//! greetings and campaigns skip them; transactional notices still go.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261206_000030_marketing_consent"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        m.alter_table(
            Table::alter()
                .table(a("customers"))
                .add_column(timestamp_with_time_zone_null(a("marketing_opt_out_at")))
                .to_owned(),
        )
        .await
    }
}
