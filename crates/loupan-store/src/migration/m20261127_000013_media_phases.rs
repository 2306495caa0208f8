//! Phases (分期) on buildings and entrances (单元) on units; files (floor plans,
//! photos, site plans) with their owner; and the clickable region of each
//! building on its project's site plan (鸟瞰图); an index for project-wide
//! unit searches in price order.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261127_000013_media_phases"
    }
}

fn a(n: &str) -> Alias {
    Alias::new(n)
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(a("buildings")).add_column(text_null(a("phase"))).to_owned()).await?;
        m.alter_table(Table::alter().table(a("units")).add_column(text_null(a("entrance"))).to_owned()).await?;
        // Project-wide unit search by status in price order (the sales office's
        // "what is left under three million" across a large project).
        m.create_index(
            Index::create()
                .name("ix_units_project_status_price")
                .table(a("units"))
                .col(a("project_id"))
                .col(a("status"))
                .col(a("list_price"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(a("files"))
                .col(text(a("id")).primary_key())
                .col(text(a("owner_type")))
                .col(text(a("owner_id")))
                .col(text(a("purpose")))
                .col(text(a("file_name")))
                .col(text(a("content_type")))
                .col(big_integer(a("size")))
                .col(text(a("storage_key")))
                .col(text(a("uploaded_by")))
                .col(timestamp_with_time_zone(a("created_at")))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_files_owner").table(a("files")).col(a("owner_type")).col(a("owner_id")).to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(a("building_regions"))
                .col(text(a("building_id")).primary_key())
                .col(text(a("project_id")))
                .col(integer(a("x")))
                .col(integer(a("y")))
                .col(integer(a("w")))
                .col(integer(a("h")))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_building_regions_project")
                .table(a("building_regions"))
                .col(a("project_id"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
