//! Project cost (PM3-PM7): the cost item tree (a group template and each
//! project's copy), target cost versions, contract planning, suppliers, cost
//! contracts and their lines, design changes and site visas, and the cost
//! ledger every one of them posts to in the same transaction.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

/// Code, name, unit of measure, responsible department, control mode.
const TEMPLATE: &[(&str, &str, Option<&str>, &str, &str)] = &[
    ("01", "土地费用", None, "投资发展部", "strong"),
    ("01.01", "土地出让金", Some("m2"), "投资发展部", "strong"),
    ("01.02", "土地契税及交易费", None, "财务部", "strong"),
    ("02", "前期工程费", None, "设计部", "weak"),
    ("02.01", "勘察设计费", None, "设计部", "weak"),
    ("02.02", "报批报建费", None, "开发报建部", "weak"),
    ("03", "建筑安装工程费", None, "工程部", "strong"),
    ("03.01", "土建工程", Some("m2"), "工程部", "strong"),
    ("03.02", "安装工程", Some("m2"), "工程部", "strong"),
    ("03.03", "装饰装修工程", Some("m2"), "工程部", "weak"),
    ("04", "基础设施费", None, "工程部", "weak"),
    ("04.01", "室外管网及道路", None, "工程部", "weak"),
    ("04.02", "园林景观", Some("m2"), "设计部", "weak"),
    ("05", "公共配套设施费", None, "工程部", "weak"),
    ("06", "开发间接费", None, "成本管理部", "weak"),
    ("06.01", "工程管理费", None, "成本管理部", "weak"),
    ("06.02", "营销费用", None, "营销部", "weak"),
];

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000022_project_cost"
    }
}

/// An index on `columns` of `table` (later migrations make theirs with it too).
pub(super) fn index(name: &str, table: &str, columns: &[&str], unique: bool) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(Alias::new(table));
    for c in columns {
        i.col(Alias::new(*c));
    }
    if unique {
        i.unique();
    }
    i.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let a = Alias::new;
        m.create_table(
            Table::create()
                .table(a("cost_items"))
                .col(text(a("id")).primary_key())
                // None: the group template a project's tree is copied from.
                .col(text_null(a("project_id")))
                .col(text_null(a("parent_id")))
                .col(text(a("code")))
                .col(text(a("name")))
                .col(text_null(a("unit_of_measure")))
                .col(text_null(a("department")))
                .col(text(a("control_mode")))
                .col(timestamp_with_time_zone(a("created_at")))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_cost_items_project_code", "cost_items", &["project_id", "code"], false)).await?;
        m.create_table(
            Table::create()
                .table(a("cost_target_versions"))
                .col(text(a("id")).primary_key())
                .col(text(a("project_id")))
                .col(integer(a("number")))
                .col(text(a("stage")))
                .col(text(a("status")))
                .col(text_null(a("note")))
                .col(text(a("created_by")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(text_null(a("adopted_by")))
                .col(timestamp_with_time_zone_null(a("adopted_at")))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ux_cost_target_versions", "cost_target_versions", &["project_id", "number"], true))
            .await?;
        m.create_table(
            Table::create()
                .table(a("cost_targets"))
                .col(text(a("id")).primary_key())
                .col(text(a("version_id")))
                .col(text(a("cost_item_id")))
                .col(big_integer(a("amount")))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ux_cost_targets", "cost_targets", &["version_id", "cost_item_id"], true)).await?;
        m.create_table(
            Table::create()
                .table(a("cost_plan_lines"))
                .col(text(a("id")).primary_key())
                .col(text(a("project_id")))
                .col(text(a("cost_item_id")))
                .col(text(a("name")))
                .col(big_integer(a("planned_amount")))
                // The sum of the contract lines signed against it, kept with them.
                .col(big_integer(a("contracted")))
                .col(text_null(a("tender_mode")))
                .col(text_null(a("planned_month")))
                .col(text(a("created_by")))
                .col(timestamp_with_time_zone(a("created_at")))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_cost_plan_lines_project", "cost_plan_lines", &["project_id"], false)).await?;
        m.create_table(
            Table::create()
                .table(a("suppliers"))
                .col(text(a("id")).primary_key())
                .col(text(a("name")))
                .col(text(a("credit_code")))
                .col(text_null(a("qualifications")))
                .col(text_null(a("contact_name")))
                .col(text_null(a("contact_phone")))
                .col(boolean(a("blacklisted")))
                .col(text(a("created_by")))
                .col(timestamp_with_time_zone(a("created_at")))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ux_suppliers_credit_code", "suppliers", &["credit_code"], true)).await?;
        m.create_table(
            Table::create()
                .table(a("cost_contracts"))
                .col(text(a("id")).primary_key())
                .col(text(a("project_id")))
                .col(text(a("code")))
                .col(text(a("name")))
                .col(text(a("supplier_id")))
                .col(text(a("kind")))
                .col(big_integer(a("amount")))
                // 质保金 in hundredths of a percent (500 = 5 %).
                .col(integer(a("retention_bp")))
                .col(text_null(a("payment_terms")))
                .col(date(a("signed_on")))
                // Set on a supplementary agreement (补充协议): the contract it amends.
                .col(text_null(a("amends_id")))
                .col(text_null(a("over_plan_reason")))
                // `pending` while its approval runs, then `signed` (or `rejected`, `withdrawn`).
                .col(text(a("status")))
                .col(text_null(a("approval_id")))
                .col(text(a("created_by")))
                .col(timestamp_with_time_zone(a("created_at")))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ux_cost_contracts_code", "cost_contracts", &["project_id", "code"], true)).await?;
        m.create_table(
            Table::create()
                .table(a("cost_contract_lines"))
                .col(text(a("id")).primary_key())
                .col(text(a("contract_id")))
                .col(text(a("plan_line_id")))
                .col(text(a("cost_item_id")))
                .col(big_integer(a("amount")))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ix_cost_contract_lines", "cost_contract_lines", &["contract_id"], false)).await?;
        m.create_table(
            Table::create()
                .table(a("cost_variations"))
                .col(text(a("id")).primary_key())
                .col(text(a("project_id")))
                .col(text(a("kind")))
                .col(text(a("code")))
                .col(text_null(a("contract_id")))
                .col(text(a("cost_item_id")))
                .col(text(a("reason")))
                .col(big_integer(a("estimated_amount")))
                .col(big_integer_null(a("confirmed_amount")))
                .col(text(a("status")))
                .col(date(a("submitted_on")))
                .col(date_null(a("confirmed_on")))
                .col(text(a("created_by")))
                .col(timestamp_with_time_zone(a("created_at")))
                .col(text_null(a("confirmed_by")))
                .to_owned(),
        )
        .await?;
        m.create_index(index("ux_cost_variations_code", "cost_variations", &["project_id", "code"], true)).await?;
        m.create_table(
            Table::create()
                .table(a("cost_postings"))
                .col(text(a("id")).primary_key())
                .col(text(a("project_id")))
                .col(text(a("cost_item_id")))
                .col(text(a("bucket")))
                .col(big_integer(a("amount")))
                .col(date(a("posted_on")))
                // What posted it: target_version, plan_line, contract, variation, expected.
                .col(text(a("document_type")))
                .col(text(a("document_id")))
                .col(text_null(a("note")))
                .col(text(a("posted_by")))
                .col(timestamp_with_time_zone(a("created_at")))
                .to_owned(),
        )
        .await?;
        // The dynamic cost of a project at a date sums its postings up to that date.
        m.create_index(index(
            "ix_cost_postings_project",
            "cost_postings",
            &["project_id", "posted_on", "cost_item_id", "bucket", "amount"],
            false,
        ))
        .await?;
        m.create_index(index("ix_cost_postings_item", "cost_postings", &["cost_item_id", "posted_on"], false)).await?;
        m.create_index(index("ix_cost_postings_document", "cost_postings", &["document_id"], false)).await?;
        // The group template as shipped: the six first-level items of a
        // developer's cost and a second level where every project has one.
        // The group edits it; projects copy it.
        let mut insert = Query::insert();
        insert.into_table(a("cost_items")).columns(
            [
                "id",
                "project_id",
                "parent_id",
                "code",
                "name",
                "unit_of_measure",
                "department",
                "control_mode",
                "created_at",
            ]
            .map(a),
        );
        let now = chrono::Utc::now();
        for (code, name, unit, department, mode) in TEMPLATE {
            let parent = code.rsplit_once('.').map(|(p, _)| format!("tpl-{p}"));
            insert.values_panic([
                format!("tpl-{code}").into(),
                Option::<String>::None.into(),
                parent.into(),
                (*code).into(),
                (*name).into(),
                unit.map(str::to_owned).into(),
                (*department).into(),
                (*mode).into(),
                now.into(),
            ]);
        }
        m.exec_stmt(insert).await?;
        Ok(())
    }
}
