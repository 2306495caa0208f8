//! The workbench counts the customers nobody has contacted for a month (the
//! agent's own, a manager's projects', or everyone's) on every visit. That
//! count filtered the whole book row by row, so an agent with 30,000
//! customers waited 9 ms for it on PostgreSQL, longer each week. A customer
//! has been silent since their last contact or, never contacted, since they
//! were registered: one expression, indexed per scope, so the count reads
//! only the silent ones. Merged records are left out, as the list does.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261224_000052_silent_customers"
    }
}

/// Written as `store::customers` queries it, so both databases match the expression.
const INDEXES: [(&str, &str); 3] = [
    ("ix_customers_silent_by_owner", "owner_id, "),
    ("ix_customers_silent_by_project", "project_id, "),
    ("ix_customers_silent", ""),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (name, leading) in INDEXES {
            m.get_connection()
                .execute_unprepared(&format!(
                    "CREATE INDEX {name} ON customers ({leading}(COALESCE(last_contact_at, created_at))) \
                     WHERE merged_into IS NULL"
                ))
                .await?;
        }
        Ok(())
    }
}
