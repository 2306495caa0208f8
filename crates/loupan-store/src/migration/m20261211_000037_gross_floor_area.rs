//! A building's gross floor area (总建筑面积, hundredths of m²): what is built,
//! basements and shared spaces included, not only what is sold. Cost per m²
//! is read against it as well as against the saleable area.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261211_000037_gross_floor_area"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        // Unknown (null) until someone enters it; a project's figure needs all its buildings'.
        m.alter_table(
            Table::alter().table(a("buildings")).add_column(big_integer_null(a("gross_floor_area"))).to_owned(),
        )
        .await
    }
}
