//! Price adjustment plans (调价方案) and every unit's price history.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261127_000007_price_adjustments"
    }
}

fn t(n: &str) -> ColumnDef {
    text(Alias::new(n))
}
fn t_null(n: &str) -> ColumnDef {
    text_null(Alias::new(n))
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Alias::new("price_adjustments"))
                .col(t("id").primary_key())
                .col(t("project_id"))
                .col(t("name"))
                .col(t_null("building_id"))
                .col(t_null("layout"))
                .col(integer_null(Alias::new("min_floor")))
                .col(integer_null(Alias::new("max_floor")))
                .col(t("method"))
                .col(big_integer(Alias::new("value")))
                .col(t("status"))
                .col(t("created_by"))
                .col(t_null("applied_by"))
                .col(big_integer(Alias::new("units_changed")))
                .col(timestamp_with_time_zone(Alias::new("created_at")))
                .col(timestamp_with_time_zone_null(Alias::new("applied_at")))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_price_adjustments_project")
                .table(Alias::new("price_adjustments"))
                .col(Alias::new("project_id"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Alias::new("unit_prices"))
                .col(t("id").primary_key())
                .col(t("unit_id"))
                .col(big_integer(Alias::new("old_price")))
                .col(big_integer(Alias::new("new_price")))
                .col(t_null("adjustment_id"))
                .col(t("actor_name"))
                .col(timestamp_with_time_zone(Alias::new("changed_at")))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_unit_prices_unit")
                .table(Alias::new("unit_prices"))
                .col(Alias::new("unit_id"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
