//! A project's saleable area is the sum of its units' gross areas (C1's
//! dynamic cost per m2, the cost reports). Since SQLite keeps one plan per
//! statement whatever project is bound (`SQLITE_ENABLE_QPSG`), it plans the
//! sum for the average project and reads the whole units table: 6 ms for a
//! project with no units among 51,600, where the plan chosen for that very
//! value had taken 0.03 ms. An index holding both columns answers the sum
//! from the index alone, for a project of none or of 50,000 units, on either
//! database.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261228_000056_saleable_area"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        m.create_index(
            Index::create()
                .name("ix_units_project_area")
                .table(a("units"))
                .col(a("project_id"))
                .col(a("gross_area"))
                .to_owned(),
        )
        .await
    }
}
