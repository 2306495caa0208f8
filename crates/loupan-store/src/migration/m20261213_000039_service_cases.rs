//! Customer-service cases (报事, C4): the cases and their history, the
//! category tree, who gets which cases (rules per project, kind and
//! category), the deadlines per kind and priority in working minutes, and
//! the company's working calendar (holidays and make-up working days).
//!
//! A case keeps its deadlines and the instants its reminders and escalations
//! happened: the deadline job claims each one with an `UPDATE … WHERE … IS
//! NULL`, so with several instances each happens once.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261213_000039_service_cases"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        m.create_table(
            Table::create()
                .table(a("case_categories"))
                .col(text(a("id")).primary_key())
                .col(text_null(a("parent_id")))
                .col(text(a("name")))
                .col(timestamp_with_time_zone(a("created_at")))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(a("sla_targets"))
                .col(text(a("kind")))
                .col(text(a("priority")))
                .col(big_integer(a("response_minutes")))
                .col(big_integer(a("resolution_minutes")))
                .primary_key(Index::create().col(a("kind")).col(a("priority")))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(a("calendar_days"))
                .col(date(a("day")).primary_key())
                // True: a make-up working day (调休上班); false: a holiday.
                .col(boolean(a("working")))
                .col(text(a("name")))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(a("case_rules"))
                .col(text(a("id")).primary_key())
                .col(text(a("project_id")))
                .col(text_null(a("kind")))
                .col(text_null(a("category_id")))
                // JSON array of user ids taking turns (round robin).
                .col(text(a("handler_ids")))
                .col(text_null(a("supervisor_id")))
                .col(big_integer(a("turns")))
                .col(timestamp_with_time_zone(a("created_at")))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create().name("ix_case_rules_project").table(a("case_rules")).col(a("project_id")).to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(a("service_cases"))
                .col(text(a("id")).primary_key())
                .col(text(a("number")))
                .col(text(a("project_id")))
                .col(text(a("kind")))
                .col(text_null(a("category_id")))
                .col(text(a("priority")))
                .col(text(a("channel")))
                .col(text(a("status")))
                .col(text_null(a("customer_id")))
                .col(text_null(a("unit_id")))
                .col(text_null(a("contract_id")))
                .col(text(a("caller_name")))
                .col(text_null(a("caller_phone")))
                .col(text(a("description")))
                .col(text_null(a("assignee_id")))
                .col(text_null(a("supervisor_id")))
                .col(text_null(a("registered_by")))
                .col(timestamp_with_time_zone(a("registered_at")))
                .col(timestamp_with_time_zone(a("response_remind_at")))
                .col(timestamp_with_time_zone(a("response_due_at")))
                .col(timestamp_with_time_zone(a("resolution_remind_at")))
                .col(timestamp_with_time_zone(a("resolution_due_at")))
                .col(timestamp_with_time_zone_null(a("first_response_at")))
                .col(timestamp_with_time_zone_null(a("replied_at")))
                .col(text_null(a("reply")))
                .col(timestamp_with_time_zone_null(a("confirmed_at")))
                .col(timestamp_with_time_zone_null(a("closed_at")))
                .col(integer_null(a("satisfaction")))
                .col(text_null(a("callback_note")))
                .col(text_null(a("merged_into")))
                .col(timestamp_with_time_zone_null(a("response_reminded_at")))
                .col(timestamp_with_time_zone_null(a("response_escalated_at")))
                .col(timestamp_with_time_zone_null(a("resolution_reminded_at")))
                .col(timestamp_with_time_zone_null(a("resolution_escalated_at")))
                .col(big_integer(a("version")))
                .to_owned(),
        )
        .await?;
        // Numbered per project, like contracts.
        m.create_index(
            Index::create()
                .name("ux_service_cases_number")
                .table(a("service_cases"))
                .col(a("project_id"))
                .col(a("number"))
                .unique()
                .to_owned(),
        )
        .await?;
        for (name, cols) in [
            ("ix_service_cases_project", &["project_id", "registered_at"][..]),
            ("ix_service_cases_registered", &["registered_at"][..]),
            ("ix_service_cases_customer", &["customer_id", "registered_at"][..]),
            ("ix_service_cases_assignee", &["assignee_id", "status"][..]),
            ("ix_service_cases_response_remind", &["response_remind_at"][..]),
            ("ix_service_cases_resolution_remind", &["resolution_remind_at"][..]),
        ] {
            let mut index = Index::create();
            index.name(name).table(a("service_cases"));
            for c in cols {
                index.col(a(c));
            }
            m.create_index(index.to_owned()).await?;
        }
        m.create_table(
            Table::create()
                .table(a("case_events"))
                .col(text(a("id")).primary_key())
                .col(text(a("case_id")))
                .col(timestamp_with_time_zone(a("at")))
                .col(text_null(a("actor_id")))
                .col(text(a("actor_name")))
                .col(text(a("action")))
                .col(text(a("status")))
                .col(text_null(a("note")))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_case_events_case")
                .table(a("case_events"))
                .col(a("case_id"))
                .col(a("at"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
