//! An agent searches their own book. With no index leading with the owner,
//! PostgreSQL had two plans for an agent's surname: read every customer of
//! the company with that surname from the name index and keep the agent's
//! (5 ms warm, 9 ms cold for 陈 among a million customers: 25,000 entries
//! for 281 of them), or walk the primary key in id order until twenty of the
//! agent's turn up, quick only while the agent owns a large share of the
//! table. Which one it takes changes with the statistics as a book grows.
//! An index per searched column that leads with the owner seeks straight to
//! the agent's prefix (0.7 ms for the same search), as migration 000019's do
//! for a manager's project.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261227_000055_owner_search"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let opclass = if db.get_database_backend() == DbBackend::Postgres { " text_pattern_ops" } else { "" };
        for (name, column) in [
            ("ix_customers_owner_name_search", "name"),
            ("ix_customers_owner_pinyin_search", "name_pinyin"),
            ("ix_customers_owner_initials_search", "name_initials"),
        ] {
            db.execute_unprepared(&format!(
                "CREATE INDEX {name} ON customers (owner_id, {column}{opclass}, merged_into, id)"
            ))
            .await?;
        }
        Ok(())
    }
}
