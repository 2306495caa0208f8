//! Reservations (预留): a unit kept for a customer for a few days, no money.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261127_000009_reservations"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let t = |n: &str| text(Alias::new(n));
        m.create_table(
            Table::create()
                .table(Alias::new("reservations"))
                .col(t("id").primary_key())
                .col(t("project_id"))
                .col(t("unit_id"))
                .col(t("customer_id"))
                .col(t("agent_id"))
                .col(t("status"))
                .col(timestamp_with_time_zone(Alias::new("expires_at")))
                .col(timestamp_with_time_zone(Alias::new("created_at")))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_reservations_status_expiry")
                .table(Alias::new("reservations"))
                .col(Alias::new("status"))
                .col(Alias::new("expires_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_reservations_unit")
                .table(Alias::new("reservations"))
                .col(Alias::new("unit_id"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
