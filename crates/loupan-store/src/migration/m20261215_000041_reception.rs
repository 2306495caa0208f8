//! Reception at the sales office (案场接待, S4): the visits registered at the
//! door, and each day's queue of agents on duty (轮岗/排号).
//!
//! An agent on duty is `busy` with the visit in `visit_id` until it ends; a
//! new visitor goes to the free agent with the lowest `position`, who moves
//! to the end. The hand-over claims the agent with `UPDATE … WHERE visit_id
//! IS NULL`, so two doors never give one agent two visitors at once.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261215_000041_reception"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        m.create_table(
            Table::create()
                .table(a("visits"))
                .col(text(a("id")).primary_key())
                .col(text(a("project_id")))
                .col(text(a("customer_id")))
                .col(text(a("agent_id")))
                // Who registered it at the door.
                .col(text(a("received_by")))
                // `returning` or `new`.
                .col(text(a("kind")))
                // Handed over by the rotation (a new visitor), not to the customer's own agent.
                .col(boolean(a("by_rotation")))
                .col(text_null(a("note")))
                .col(timestamp_with_time_zone(a("arrived_at")))
                .col(timestamp_with_time_zone_null(a("ended_at")))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_visits_project_arrived")
                .table(a("visits"))
                .col(a("project_id"))
                .col(a("arrived_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_visits_agent_ended")
                .table(a("visits"))
                .col(a("agent_id"))
                .col(a("ended_at"))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_visits_customer")
                .table(a("visits"))
                .col(a("customer_id"))
                .col(a("arrived_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(a("reception_duty"))
                .col(text(a("project_id")))
                .col(date(a("day")))
                .col(text(a("user_id")))
                .col(big_integer(a("position")))
                .col(text_null(a("visit_id")))
                .col(integer(a("visitors")))
                .primary_key(Index::create().col(a("project_id")).col(a("day")).col(a("user_id")))
                .to_owned(),
        )
        .await
    }
}
