//! The rest of a customer's profile (C1): overlapping categories, contacts
//! (more phones, e-mail, WeChat, address), birthday, needs, tags, the
//! enterprise contact person; grade rules (C3) and whether a grade was set by
//! hand (then rules leave it alone).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261127_000017_customer_profiles"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        // One column per statement: SQLite adds columns one at a time.
        let columns = [
            text(a("categories")).default("").to_owned(),
            text(a("tags")).default("").to_owned(),
            date_null(a("birthday")),
            text_null(a("email")),
            text_null(a("wechat")),
            text_null(a("address")),
            text_null(a("contact_person")),
            big_integer_null(a("budget")),
            text_null(a("wanted_layout")),
            big_integer_null(a("wanted_area_min")),
            big_integer_null(a("wanted_area_max")),
            text_null(a("purpose")),
            integer_null(a("homes_owned")),
            boolean(a("grade_manual")).default(false).to_owned(),
        ];
        for mut column in columns {
            m.alter_table(Table::alter().table(a("customers")).add_column(&mut column).to_owned()).await?;
        }
        // Every other phone of a customer, E.164, found by the duplicate check and phone search.
        m.create_table(
            Table::create()
                .table(a("customer_phones"))
                .col(text(a("id")).primary_key())
                .col(text(a("customer_id")))
                .col(text(a("phone")))
                .col(text_null(a("label")))
                .foreign_key(
                    ForeignKey::create().from(a("customer_phones"), a("customer_id")).to(a("customers"), a("id")),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_customer_phones_phone").table(a("customer_phones")).col(a("phone")).to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_customer_phones_customer")
                .table(a("customer_phones"))
                .col(a("customer_id"))
                .to_owned(),
        )
        .await?;
        // Managers' grade rules per project, tried in order; the first that holds gives the grade.
        m.create_table(
            Table::create()
                .table(a("grade_rules"))
                .col(text(a("id")).primary_key())
                .col(text(a("project_id")))
                .col(integer(a("position")))
                .col(text(a("grade")))
                .col(text(a("conditions")))
                .col(text(a("updated_by")))
                .col(timestamp_with_time_zone(a("updated_at")))
                .foreign_key(ForeignKey::create().from(a("grade_rules"), a("project_id")).to(a("projects"), a("id")))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_grade_rules_project")
                .table(a("grade_rules"))
                .col(a("project_id"))
                .col(a("position"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
