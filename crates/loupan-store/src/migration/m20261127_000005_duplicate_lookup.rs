//! Indexes for the duplicate check: each of its three lookups (same phone,
//! same name, same ID number, within a project) is one index seek.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261127_000005_duplicate_lookup"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, col) in [
            ("ix_customers_project_phone", "phone"),
            ("ix_customers_project_name", "name"),
            ("ix_customers_project_id_index", "id_number_index"),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(Alias::new("customers"))
                    .col(Alias::new("project_id"))
                    .col(Alias::new(col))
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
