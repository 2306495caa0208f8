//! A payment method may be marked non-standard (非标付款方式): a contract on
//! it waits for the approval flow of `non_standard_contract` before it is
//! signed. Existing methods stay standard.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000025_non_standard_methods"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        m.alter_table(
            Table::alter()
                .table(a("payment_methods"))
                .add_column(boolean(a("non_standard")).default(false).to_owned())
                .to_owned(),
        )
        .await
    }
}
