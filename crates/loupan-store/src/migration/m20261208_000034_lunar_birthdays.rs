//! A customer may keep their birthday by the lunar calendar (农历生日).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261208_000034_lunar_birthdays"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        m.alter_table(
            Table::alter().table(a("customers")).add_column(boolean(a("birthday_lunar")).default(false)).to_owned(),
        )
        .await
    }
}
