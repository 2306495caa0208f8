//! The working minutes each step of a case took (registration → first
//! response, registration → reply), kept on the case when the step comes, by
//! the company calendar in force then (like its deadlines). The SLA report
//! sums them with `GROUP BY` instead of reading every case of the period to
//! count them again. Cases answered before this migration are counted when
//! Loupan next opens the database (`loupan_service::cases::count_step_minutes`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261218_000044_case_step_minutes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        for column in ["response_minutes", "resolution_minutes"] {
            m.alter_table(Table::alter().table(a("service_cases")).add_column(big_integer_null(a(column))).to_owned())
                .await?;
        }
        Ok(())
    }
}
