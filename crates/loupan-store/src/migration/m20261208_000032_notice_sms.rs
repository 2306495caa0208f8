//! A text-message template names the provider's approved template and fills
//! its parameters (Alibaba Cloud SMS and the like).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261208_000032_notice_sms"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        for column in ["sms_template_code", "sms_params"] {
            m.alter_table(Table::alter().table(a("notice_templates")).add_column(text_null(a(column))).to_owned())
                .await?;
        }
        Ok(())
    }
}
