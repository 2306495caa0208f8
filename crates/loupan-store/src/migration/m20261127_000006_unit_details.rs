//! What a sales office records about a unit beyond layout and area: property
//! type, orientation, decoration, the floor price (底价), and the measured
//! (实测) areas that arrive after completion.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261127_000006_unit_details"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            text(Alias::new("property_type")).default("residential").to_owned(),
            text_null(Alias::new("orientation")),
            text_null(Alias::new("decoration")),
            big_integer_null(Alias::new("floor_price")),
            big_integer_null(Alias::new("measured_gross_area")),
            big_integer_null(Alias::new("measured_inner_area")),
        ];
        // One column per statement: SQLite adds columns one at a time.
        for column in columns {
            m.alter_table(Table::alter().table(Alias::new("units")).add_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
