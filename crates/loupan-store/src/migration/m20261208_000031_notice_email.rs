//! An e-mail template may attach its text as a printed letter (PDF).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261208_000031_notice_email"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        m.alter_table(
            Table::alter().table(a("notice_templates")).add_column(boolean(a("attach_pdf")).default(false)).to_owned(),
        )
        .await
    }
}
