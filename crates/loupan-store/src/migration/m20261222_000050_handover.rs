//! The handover (A4). A contract has one handover, opened when its building
//! is declared ready (or by hand afterwards) with the buyer's booking link
//! (only the token's SHA-256 to find it and the token sealed so staff can
//! hand it over again). Appointment slots are per building and day with a
//! capacity; `booked` is counted by a conditional update, so two buyers
//! cannot take the last place at once. Each defect found at the inspection
//! is a row of its own with its deadline, for engineering to work through.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261222_000050_handover"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        m.create_table(
            Table::create()
                .table(a("handover_slots"))
                .col(text(a("id")).primary_key())
                .col(text(a("project_id")))
                .col(text(a("building_id")))
                .col(date(a("day")))
                // As shown to the buyer: `09:00-12:00`.
                .col(text(a("period")))
                .col(integer(a("capacity")))
                .col(integer(a("booked")))
                .col(text(a("created_by")))
                .col(timestamp_with_time_zone(a("created_at")))
                .foreign_key(
                    ForeignKey::create().from(a("handover_slots"), a("building_id")).to(a("buildings"), a("id")),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_handover_slots_period")
                .table(a("handover_slots"))
                .col(a("building_id"))
                .col(a("day"))
                .col(a("period"))
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(a("handovers"))
                .col(text(a("id")).primary_key())
                .col(text(a("contract_id")))
                .col(text(a("project_id")))
                .col(text(a("building_id")))
                .col(text(a("unit_id")))
                .col(text(a("status")))
                .col(text(a("token_hash")))
                .col(text(a("token_cipher")))
                .col(text(a("opened_by")))
                .col(timestamp_with_time_zone(a("opened_at")))
                .col(text_null(a("slot_id")))
                .col(text_null(a("booked_by")))
                .col(timestamp_with_time_zone_null(a("booked_at")))
                .col(text_null(a("checked_in_by")))
                .col(timestamp_with_time_zone_null(a("checked_in_at")))
                // JSON: each document received with who ticked it and when.
                .col(text(a("documents")))
                // What was handed over and read on the day (JSON), and whether
                // the buyer took the keys with defects still open (遗留问题).
                .col(text_null(a("keys")))
                .col(text_null(a("meters")))
                .col(boolean(a("open_defects_accepted")))
                .col(date_null(a("handed_over_on")))
                .col(timestamp_with_time_zone_null(a("handed_over_at")))
                .col(text_null(a("handed_over_by")))
                .col(big_integer(a("version")))
                .foreign_key(ForeignKey::create().from(a("handovers"), a("contract_id")).to(a("contracts"), a("id")))
                .foreign_key(ForeignKey::create().from(a("handovers"), a("unit_id")).to(a("units"), a("id")))
                .foreign_key(ForeignKey::create().from(a("handovers"), a("slot_id")).to(a("handover_slots"), a("id")))
                .to_owned(),
        )
        .await?;
        for (name, cols, unique) in [
            ("ux_handovers_contract", &["contract_id"][..], true),
            ("ux_handovers_token", &["token_hash"][..], true),
            ("ix_handovers_building", &["building_id", "status"][..], false),
            ("ix_handovers_slot", &["slot_id"][..], false),
        ] {
            let mut index = Index::create();
            index.name(name).table(a("handovers"));
            for col in cols {
                index.col(a(col));
            }
            if unique {
                index.unique();
            }
            m.create_index(index.to_owned()).await?;
        }
        m.create_table(
            Table::create()
                .table(a("handover_defects"))
                .col(text(a("id")).primary_key())
                .col(text(a("handover_id")))
                .col(text(a("project_id")))
                .col(text(a("unit_id")))
                // 1, 2, ... within the handover, as the record lists them.
                .col(integer(a("number")))
                .col(text(a("room")))
                .col(text(a("item")))
                .col(text(a("severity")))
                .col(text(a("description")))
                .col(text_null(a("contractor")))
                .col(text(a("status")))
                .col(text(a("found_by")))
                .col(timestamp_with_time_zone(a("found_at")))
                .col(timestamp_with_time_zone(a("due_at")))
                .col(text_null(a("rectified_by")))
                .col(timestamp_with_time_zone_null(a("rectified_at")))
                .col(text_null(a("rectify_note")))
                .col(text_null(a("accepted_by")))
                .col(timestamp_with_time_zone_null(a("accepted_at")))
                // Re-inspections that found it not fixed, and the last one's words.
                .col(integer(a("rejections")))
                .col(text_null(a("reinspect_note")))
                // When the deadline's passing was told (once per deadline).
                .col(timestamp_with_time_zone_null(a("escalated_at")))
                .col(big_integer(a("version")))
                .foreign_key(
                    ForeignKey::create().from(a("handover_defects"), a("handover_id")).to(a("handovers"), a("id")),
                )
                .to_owned(),
        )
        .await?;
        for (name, cols, unique) in [
            ("ux_handover_defects_number", &["handover_id", "number"][..], true),
            ("ix_handover_defects_project", &["project_id", "status", "due_at"][..], false),
        ] {
            let mut index = Index::create();
            index.name(name).table(a("handover_defects"));
            for col in cols {
                index.col(a(col));
            }
            if unique {
                index.unique();
            }
            m.create_index(index.to_owned()).await?;
        }
        Ok(())
    }
}
