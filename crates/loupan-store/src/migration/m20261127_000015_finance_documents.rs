//! Finance documents: receipt books (票据) whose numbers are issued to receipts
//! or voided with a reason; the payer of a receipt; reversing entries that
//! correct audited money without editing it; deposit transfers (定金转房款) as
//! a pair of receipts audited together; refunds paid and audited.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261127_000015_finance_documents"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        for column in ["payer", "book_id", "number", "reverses", "reversed_by", "pair_id", "note"] {
            m.alter_table(Table::alter().table(a("receipts")).add_column(text_null(a(column))).to_owned()).await?;
        }
        m.create_index(
            Index::create()
                .name("ux_receipts_book_number")
                .table(a("receipts"))
                .col(a("book_id"))
                .col(a("number"))
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_receipts_project_received")
                .table(a("receipts"))
                .col(a("project_id"))
                .col(a("received_on"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(a("receipt_books"))
                .col(text(a("id")).primary_key())
                .col(text(a("project_id")))
                .col(text(a("prefix")))
                .col(big_integer(a("first_number")))
                .col(big_integer(a("last_number")))
                .col(big_integer(a("next_number")))
                .col(text(a("registered_by")))
                .col(timestamp_with_time_zone(a("created_at")))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_receipt_books_project").table(a("receipt_books")).col(a("project_id")).to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(a("receipt_number_voids"))
                .col(text(a("id")).primary_key())
                .col(text(a("book_id")))
                .col(big_integer(a("number")))
                .col(text(a("reason")))
                .col(text_null(a("receipt_id")))
                .col(text(a("voided_by")))
                .col(timestamp_with_time_zone(a("voided_at")))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_receipt_number_voids")
                .table(a("receipt_number_voids"))
                .col(a("book_id"))
                .col(a("number"))
                .unique()
                .to_owned(),
        )
        .await?;
        for column in ["channel", "paid_by", "audited_by", "note"] {
            m.alter_table(Table::alter().table(a("refunds")).add_column(text_null(a(column))).to_owned()).await?;
        }
        m.alter_table(Table::alter().table(a("refunds")).add_column(date_null(a("paid_on"))).to_owned()).await?;
        m.alter_table(
            Table::alter().table(a("refunds")).add_column(timestamp_with_time_zone_null(a("audited_at"))).to_owned(),
        )
        .await?;
        Ok(())
    }
}
