//! Name, pinyin and initials searches are prefix matches (`LIKE 'zs%'`). On
//! PostgreSQL an index serves them only with `text_pattern_ops` (its default
//! collation is not byte order); SQLite uses a plain index because Loupan
//! turns on `case_sensitive_like`. The indexes keep one name on both.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261127_000010_prefix_search"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let postgres = db.get_database_backend() == DbBackend::Postgres;
        for (old, new, column) in [
            ("ix_customers_name", "ix_customers_name_prefix", "name"),
            ("ix_customers_pinyin", "ix_customers_pinyin_prefix", "name_pinyin"),
            ("ix_customers_initials", "ix_customers_initials_prefix", "name_initials"),
        ] {
            db.execute_unprepared(&format!("DROP INDEX {old}")).await?;
            let opclass = if postgres { " text_pattern_ops" } else { "" };
            db.execute_unprepared(&format!("CREATE INDEX {new} ON customers ({column}{opclass})")).await?;
        }
        Ok(())
    }
}
