//! A building has one open compensation batch (draft or at approval) at a
//! time: the service checks, and this partial unique index makes it so when
//! two instances compute the same building at once.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261220_000048_one_open_batch"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Both databases take the same partial index; SeaQuery's builder has no `WHERE` for it.
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_compensation_batches_open ON compensation_batches (building_id) \
                 WHERE status <> 'applied'",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop().name("ux_compensation_batches_open").table(Alias::new("compensation_batches")).to_owned(),
        )
        .await
    }
}
