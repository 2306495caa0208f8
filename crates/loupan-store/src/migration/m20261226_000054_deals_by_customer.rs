//! A customer's subscriptions and contracts were found by reading every one
//! of them: reception's card counts a visitor's open deals, and with 45,000
//! contracts that read took 8–10 ms on PostgreSQL, most of the lookup's
//! time (seen in its log at the S4 benchmark's full scale). The customer's
//! page and money tab ask the same, and the money tab a customer's refunds.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261226_000054_deals_by_customer"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        for (name, table) in [
            ("ix_subscriptions_customer", "subscriptions"),
            ("ix_contracts_customer", "contracts"),
            ("ix_refunds_customer", "refunds"),
        ] {
            m.create_index(Index::create().name(name).table(a(table)).col(a("customer_id")).to_owned()).await?;
        }
        Ok(())
    }
}
