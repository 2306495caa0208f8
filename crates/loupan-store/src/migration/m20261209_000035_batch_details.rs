//! A batch states some things once for all its letters: a handover notice's
//! dates and place.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261209_000035_batch_details"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        m.alter_table(Table::alter().table(a("notice_batches")).add_column(text_null(a("details"))).to_owned()).await
    }
}
