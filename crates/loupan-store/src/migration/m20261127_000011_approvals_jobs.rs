//! The approval engine (flows, requests, tasks, their trail and attachments,
//! delegations), notifications, the durable job queue and its schedules, and
//! webhook subscriptions with their deliveries. Users gain a manager (an
//! approval step may go to the submitter's manager) and projects a limit on
//! the extra discount an agent may give without a special approval.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261127_000011_approvals_jobs"
    }
}

fn a(n: &str) -> Alias {
    Alias::new(n)
}
fn t(n: &str) -> ColumnDef {
    text(a(n))
}
fn t_null(n: &str) -> ColumnDef {
    text_null(a(n))
}
fn ts(n: &str) -> ColumnDef {
    timestamp_with_time_zone(a(n))
}
fn ts_null(n: &str) -> ColumnDef {
    timestamp_with_time_zone_null(a(n))
}

async fn index(m: &SchemaManager<'_>, name: &str, table: &str, cols: &[&str], unique: bool) -> Result<(), DbErr> {
    let mut ix = Index::create();
    ix.name(name).table(a(table));
    for c in cols {
        ix.col(a(c));
    }
    if unique {
        ix.unique();
    }
    m.create_index(ix.to_owned()).await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(Table::alter().table(a("users")).add_column(t_null("manager_id")).to_owned()).await?;
        m.alter_table(
            Table::alter()
                .table(a("projects"))
                .add_column(big_integer(a("agent_discount_limit_millionths")).default(0))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(a("approval_flows"))
                .col(t("id").primary_key())
                .col(t("kind"))
                .col(integer(a("version")))
                .col(t("steps"))
                .col(t("created_by"))
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;
        index(m, "ux_approval_flows_kind_version", "approval_flows", &["kind", "version"], true).await?;

        m.create_table(
            Table::create()
                .table(a("approval_requests"))
                .col(t("id").primary_key())
                .col(t("kind"))
                .col(t("flow_id"))
                .col(t_null("project_id"))
                .col(t("subject_type"))
                .col(t("subject_id"))
                .col(t("summary"))
                .col(t("facts"))
                .col(t("payload"))
                .col(t("status"))
                .col(integer(a("current_step")))
                .col(t("submitted_by"))
                .col(t("submitter_name"))
                .col(ts("created_at"))
                .col(ts("updated_at"))
                .col(ts_null("decided_at"))
                .to_owned(),
        )
        .await?;
        index(m, "ix_approval_requests_submitter", "approval_requests", &["submitted_by", "status"], false).await?;
        index(m, "ix_approval_requests_subject", "approval_requests", &["subject_type", "subject_id"], false).await?;
        index(m, "ix_approval_requests_status", "approval_requests", &["status", "created_at"], false).await?;

        m.create_table(
            Table::create()
                .table(a("approval_tasks"))
                .col(t("id").primary_key())
                .col(t("request_id"))
                .col(integer(a("step")))
                .col(t("approver_id"))
                .col(t("status"))
                .col(t_null("acted_by_id"))
                .col(t_null("acted_by_name"))
                .col(t_null("comment"))
                .col(ts_null("due_at"))
                .col(ts_null("reminded_at"))
                .col(ts_null("escalated_at"))
                .col(ts("created_at"))
                .col(ts_null("acted_at"))
                .to_owned(),
        )
        .await?;
        index(m, "ix_approval_tasks_approver", "approval_tasks", &["approver_id", "status"], false).await?;
        index(m, "ix_approval_tasks_request", "approval_tasks", &["request_id", "step"], false).await?;
        index(m, "ix_approval_tasks_due", "approval_tasks", &["status", "due_at"], false).await?;

        m.create_table(
            Table::create()
                .table(a("approval_events"))
                .col(t("id").primary_key())
                .col(t("request_id"))
                .col(t("action"))
                .col(t_null("actor_id"))
                .col(t("actor_name"))
                .col(t("body"))
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;
        index(m, "ix_approval_events_request", "approval_events", &["request_id", "created_at"], false).await?;

        m.create_table(
            Table::create()
                .table(a("approval_attachments"))
                .col(t("id").primary_key())
                .col(t("request_id"))
                .col(t("file_name"))
                .col(t("content_type"))
                .col(big_integer(a("size")))
                .col(blob(a("content")))
                .col(t("uploaded_by"))
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;
        index(m, "ix_approval_attachments_request", "approval_attachments", &["request_id"], false).await?;

        m.create_table(
            Table::create()
                .table(a("delegations"))
                .col(t("id").primary_key())
                .col(t("from_user_id"))
                .col(t("to_user_id"))
                .col(ts("starts_at"))
                .col(ts("ends_at"))
                .col(ts("created_at"))
                .col(ts_null("revoked_at"))
                .to_owned(),
        )
        .await?;
        index(m, "ix_delegations_from", "delegations", &["from_user_id"], false).await?;

        m.create_table(
            Table::create()
                .table(a("notifications"))
                .col(t("id").primary_key())
                .col(t("user_id"))
                .col(t("kind"))
                .col(t("title"))
                .col(t("body"))
                .col(t("link"))
                .col(ts("created_at"))
                .col(ts_null("read_at"))
                .to_owned(),
        )
        .await?;
        index(m, "ix_notifications_user", "notifications", &["user_id", "created_at"], false).await?;

        m.create_table(
            Table::create()
                .table(a("jobs"))
                .col(t("id").primary_key())
                .col(t("kind"))
                .col(t("payload"))
                .col(t("status"))
                .col(integer(a("attempts")))
                .col(integer(a("max_attempts")))
                .col(ts("run_at"))
                .col(t_null("locked_by"))
                .col(ts_null("locked_until"))
                .col(t_null("last_error"))
                .col(big_integer(a("progress_done")))
                .col(big_integer(a("progress_total")))
                .col(t_null("result"))
                .col(t_null("unique_key"))
                .col(t_null("created_by"))
                .col(ts("created_at"))
                .col(ts_null("finished_at"))
                .to_owned(),
        )
        .await?;
        index(m, "ix_jobs_status_run_at", "jobs", &["status", "run_at"], false).await?;
        index(m, "ux_jobs_unique_key", "jobs", &["unique_key"], true).await?;

        m.create_table(
            Table::create()
                .table(a("job_schedules"))
                .col(t("name").primary_key())
                .col(t("kind"))
                .col(big_integer(a("interval_seconds")))
                .col(ts("next_run_at"))
                .col(ts_null("last_run_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(a("webhook_subscriptions"))
                .col(t("id").primary_key())
                .col(t("url"))
                .col(t("secret_encrypted"))
                .col(t("event_types"))
                .col(t("description"))
                .col(boolean(a("active")))
                .col(t("created_by"))
                .col(ts("created_at"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(a("webhook_deliveries"))
                .col(t("id").primary_key())
                .col(t("subscription_id"))
                .col(t("event_id"))
                .col(t("event_type"))
                .col(t("body"))
                .col(t("status"))
                .col(integer(a("attempts")))
                .col(integer_null(a("last_status_code")))
                .col(t_null("last_error"))
                .col(ts("created_at"))
                .col(ts_null("delivered_at"))
                .to_owned(),
        )
        .await?;
        index(m, "ix_webhook_deliveries_subscription", "webhook_deliveries", &["subscription_id", "created_at"], false)
            .await?;
        Ok(())
    }
}
