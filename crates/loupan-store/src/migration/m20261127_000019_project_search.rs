//! A sales manager searches their own project's customers; an admin searches
//! all of them. Measured on a million customers with planner statistics
//! (bundled SQLite 3.51 with STAT4, which plans with the searched value):
//!
//! - an admin's surname search took a skip-scan of the duplicate check's
//!   narrow `(project_id, name)` index for one surname in three and read each
//!   of ~25,000 matches from the table: 100 ms where the covering name index
//!   takes 8;
//! - a manager's pinyin search walked the whole project through
//!   `(project_id, id_number_index)` and read its 10,000 rows: 46 ms.
//!
//! So the indexes that lead with the project now carry what the search filters
//! and orders on, one per searched column: whichever the planner takes, the
//! page is cut inside an index, and a manager's search seeks straight to the
//! project and the prefix. The duplicate check's lookups by phone and by ID
//! number within a project are served as well by the single-column indexes
//! (a phone or an ID number has a handful of rows in the whole table), so their
//! project-leading copies go; the number of indexes to maintain stays the same.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261127_000019_project_search"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let opclass = if db.get_database_backend() == DbBackend::Postgres { " text_pattern_ops" } else { "" };
        for old in ["ix_customers_project_name", "ix_customers_project_phone", "ix_customers_project_id_index"] {
            db.execute_unprepared(&format!("DROP INDEX {old}")).await?;
        }
        for (name, column) in [
            ("ix_customers_project_name_search", "name"),
            ("ix_customers_project_pinyin_search", "name_pinyin"),
            ("ix_customers_project_initials_search", "name_initials"),
        ] {
            db.execute_unprepared(&format!(
                "CREATE INDEX {name} ON customers (project_id, {column}{opclass}, merged_into, owner_id, id)"
            ))
            .await?;
        }
        Ok(())
    }
}
