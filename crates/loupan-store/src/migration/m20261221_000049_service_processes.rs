//! Service processes after the contract (A1, A2). A definition is versioned:
//! saving one adds a row with the next version in its lineage, and a case
//! keeps the row it started on. A case's row says where it stands now (its
//! current step, whose it is, when it is due and whether it was reminded or
//! escalated) so the workbench, the service board and the deadline job read
//! one table; each step's row keeps when it was due and done, and each
//! document received who ticked it and when. A contract has one case of a
//! kind that is not cancelled: the partial unique index makes starting it by
//! an event idempotent whatever two instances do at once.
//!
//! The built-in definitions (`loupan_domain::processes::built_in`) are
//! written here as each one's first version, so every database has them
//! before anyone signs a contract; a company edits them into new versions.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261221_000049_service_processes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        m.create_table(
            Table::create()
                .table(a("process_definitions"))
                .col(text(a("id")).primary_key())
                // The first version's id; every version of a definition shares it.
                .col(text(a("lineage_id")))
                .col(integer(a("version")))
                .col(text(a("kind")))
                .col(text(a("name")))
                .col(text(a("start_event")))
                .col(text_null(a("city")))
                .col(text_null(a("project_id")))
                .col(text_null(a("property_type")))
                // The steps as JSON (`loupan_domain::processes::StepDefinition`).
                .col(text(a("steps")))
                // Only the newest version of a lineage is current; a retired lineage applies nowhere.
                .col(boolean(a("current")))
                .col(boolean(a("retired")))
                .col(text(a("created_by")))
                .col(timestamp_with_time_zone(a("created_at")))
                .foreign_key(
                    ForeignKey::create().from(a("process_definitions"), a("project_id")).to(a("projects"), a("id")),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_process_definitions_version")
                .table(a("process_definitions"))
                .col(a("lineage_id"))
                .col(a("version"))
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(a("process_cases"))
                .col(text(a("id")).primary_key())
                .col(text(a("definition_id")))
                .col(text(a("kind")))
                .col(text(a("project_id")))
                .col(text(a("building_id")))
                .col(text(a("unit_id")))
                .col(text(a("contract_id")))
                .col(text(a("status")))
                .col(date(a("started_on")))
                // `contract_signed`, `building_ready` or the user who started it by hand.
                .col(text(a("started_by")))
                .col(timestamp_with_time_zone(a("started_at")))
                // The current step (none once completed or cancelled).
                .col(integer_null(a("current_position")))
                .col(text_null(a("current_step")))
                .col(text_null(a("current_role")))
                // The one person the step is for (the contract's agent); none: the role's staff in the project.
                .col(text_null(a("assignee_id")))
                .col(date_null(a("due_on")))
                .col(date_null(a("remind_on")))
                .col(timestamp_with_time_zone_null(a("reminded_at")))
                .col(timestamp_with_time_zone_null(a("escalated_at")))
                .col(timestamp_with_time_zone_null(a("closed_at")))
                .col(text_null(a("closed_by")))
                .col(text_null(a("cancel_reason")))
                // A loan case: the bank's disbursement (放款), recorded as a receipt on the contract.
                .col(text_null(a("disbursement_receipt_id")))
                .col(big_integer_null(a("disbursed_amount")))
                .col(date_null(a("disbursed_on")))
                .col(text_null(a("lender")))
                .col(big_integer(a("version")))
                .foreign_key(
                    ForeignKey::create()
                        .from(a("process_cases"), a("definition_id"))
                        .to(a("process_definitions"), a("id")),
                )
                .foreign_key(ForeignKey::create().from(a("process_cases"), a("project_id")).to(a("projects"), a("id")))
                .foreign_key(ForeignKey::create().from(a("process_cases"), a("unit_id")).to(a("units"), a("id")))
                .foreign_key(
                    ForeignKey::create().from(a("process_cases"), a("contract_id")).to(a("contracts"), a("id")),
                )
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        // Both databases take the same partial index; SeaQuery's builder has no `WHERE` for it.
        db.execute_unprepared(
            "CREATE UNIQUE INDEX ux_process_cases_contract_kind ON process_cases (contract_id, kind) \
             WHERE status <> 'cancelled'",
        )
        .await?;
        for (name, cols) in [
            ("ix_process_cases_building", &["building_id", "kind"][..]),
            ("ix_process_cases_project", &["project_id", "status", "current_role"][..]),
            ("ix_process_cases_remind", &["status", "remind_on"][..]),
            ("ix_process_cases_due", &["status", "due_on"][..]),
        ] {
            let mut index = Index::create();
            index.name(name).table(a("process_cases"));
            for col in cols {
                index.col(a(col));
            }
            m.create_index(index.to_owned()).await?;
        }
        m.create_table(
            Table::create()
                .table(a("process_case_steps"))
                .col(text(a("case_id")))
                .col(integer(a("position")))
                .col(text(a("name")))
                .col(text(a("role")))
                .col(date(a("due_on")))
                .col(date_null(a("done_on")))
                .col(timestamp_with_time_zone_null(a("done_at")))
                .col(text_null(a("done_by")))
                .col(text_null(a("note")))
                .col(timestamp_with_time_zone_null(a("reminded_at")))
                .col(timestamp_with_time_zone_null(a("escalated_at")))
                .primary_key(Index::create().col(a("case_id")).col(a("position")))
                .foreign_key(
                    ForeignKey::create().from(a("process_case_steps"), a("case_id")).to(a("process_cases"), a("id")),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(a("process_case_documents"))
                .col(text(a("case_id")))
                .col(integer(a("position")))
                .col(text(a("document")))
                .col(timestamp_with_time_zone(a("received_at")))
                .col(text(a("received_by")))
                .primary_key(Index::create().col(a("case_id")).col(a("position")).col(a("document")))
                .foreign_key(
                    ForeignKey::create()
                        .from(a("process_case_documents"), a("case_id"))
                        .to(a("process_cases"), a("id")),
                )
                .to_owned(),
        )
        .await?;
        // A building declared ready for handover (交付条件具备): its date starts
        // the cases whose definitions start on `building_ready`.
        m.create_table(
            Table::create()
                .table(a("building_readiness"))
                .col(text(a("building_id")).primary_key())
                .col(date(a("ready_on")))
                .col(text(a("declared_by")))
                .col(timestamp_with_time_zone(a("declared_at")))
                .foreign_key(
                    ForeignKey::create().from(a("building_readiness"), a("building_id")).to(a("buildings"), a("id")),
                )
                .to_owned(),
        )
        .await?;
        let mut insert = Query::insert();
        insert.into_table(a("process_definitions")).columns(
            [
                "id",
                "lineage_id",
                "version",
                "kind",
                "name",
                "start_event",
                "steps",
                "current",
                "retired",
                "created_by",
                "created_at",
            ]
            .map(a),
        );
        let now = chrono::Utc::now();
        for b in loupan_domain::processes::built_in() {
            let id = format!("process-{}", b.kind.name());
            let steps = serde_json::to_string(&b.steps).map_err(|e| DbErr::Custom(e.to_string()))?;
            insert.values_panic([
                id.clone().into(),
                id.into(),
                1.into(),
                b.kind.name().into(),
                b.name.into(),
                b.start.name().into(),
                steps.into(),
                true.into(),
                false.into(),
                "loupan".into(),
                now.into(),
            ]);
        }
        m.exec_stmt(insert).await?;
        Ok(())
    }
}
