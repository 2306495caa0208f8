//! Surnames read as surnames: `曾` is searched as zeng, `单` as shan, `欧阳` as
//! ouyang (`loupan_domain::customers::name_pinyin`). Customers registered
//! before get their pinyin and initials again; the rest are left as they are.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000021_surname_pinyin"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        crate::customers::refresh_name_pinyin(m.get_connection())
            .await
            .map(|_| ())
            .map_err(|e| DbErr::Migration(e.to_string()))
    }
}
