//! A one-letter search by everyone's customers (an admin typing `z`) matched
//! a tenth of a million customers in the name, pinyin and initials indexes
//! and sorted them all by id to keep fifty: 80-150 ms on SQLite. A name's
//! first initial, its pinyin's first letter and (for a Latin name) its own
//! first letter are the same letter, so one letter is an equality on the
//! first initial, and this index hands out its matches already in id order.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000026_initial_search"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Written as `store::customers` queries it, so both databases match the expression.
        m.get_connection()
            .execute_unprepared(
                "CREATE INDEX ix_customers_initial_search ON customers ((substr(name_initials, 1, 1)), merged_into, id)",
            )
            .await
            .map(|_| ())
    }
}
