//! The top of the service crate: what each approval kind does when it is
//! decided, and what each kind of job runs. The engines (`approvals`, `jobs`)
//! call these through `Services::handlers`, so they never import the business
//! modules that use them, and each `match` is exhaustive over its kind enum.

use chrono::{DateTime, Utc};
use loupan_domain::approvals::RequestKind;
use loupan_store::Transaction;
use loupan_store::approvals::RequestRow;
use loupan_store::jobs::JobRow;

use crate::approvals::Outcome;
use crate::platform::jobs::{JobKind, Progress};
use crate::platform::live::UnitChange;
use crate::{Actor, BoxFuture, ServiceResult, Services};

/// The callbacks the engines are given when `Services` is made.
#[derive(Clone, Copy, Debug)]
pub struct Handlers {
    pub(crate) approval_decided: crate::approvals::DecidedFn,
    pub(crate) run_job: crate::platform::jobs::RunFn,
    pub(crate) job_gave_up: crate::platform::jobs::GaveUpFn,
    pub(crate) contract_signed: crate::sales::SignedFn,
}

impl Default for Handlers {
    fn default() -> Self {
        Handlers { approval_decided, run_job, job_gave_up, contract_signed }
    }
}

/// A contract was signed: the service processes it starts, in the signing's transaction.
fn contract_signed<'a>(
    _services: &'a Services,
    tx: &'a Transaction,
    (contract, unit): (&'a loupan_store::sales::ContractRow, &'a loupan_store::inventory::UnitRow),
    method: loupan_domain::sales::PaymentMethodKind,
    now: DateTime<Utc>,
) -> BoxFuture<'a, ServiceResult<()>> {
    Box::pin(async move {
        crate::aftersales::processes::start_on_signing(tx, contract, unit, method, now).await.map(|_| ())
    })
}

/// A request was decided: its module acts in the deciding transaction (a
/// failure rolls the decision back) and names the units it changed.
fn approval_decided<'a>(
    services: &'a Services,
    tx: &'a Transaction,
    actor: &'a Actor,
    request: &'a RequestRow,
    outcome: Outcome,
) -> BoxFuture<'a, ServiceResult<Vec<UnitChange>>> {
    Box::pin(async move {
        match request.kind {
            RequestKind::SpecialDiscount => {
                crate::sales::on_special_discount_decided(services, tx, actor, request, outcome).await
            }
            RequestKind::DealChange => crate::changes::on_change_decided(services, tx, actor, request, outcome).await,
            RequestKind::PriceAdjustment => {
                crate::sales::pricing::on_adjustment_decided(services, tx, actor, request, outcome)
                    .await
                    .map(|()| Vec::new())
            }
            RequestKind::CostContract => {
                crate::cost::on_contract_decided(services, tx, actor, request, outcome).await.map(|()| Vec::new())
            }
            RequestKind::CostVariation => {
                crate::cost::on_variation_decided(services, tx, actor, request, outcome).await.map(|()| Vec::new())
            }
            RequestKind::PlanAdjustment => {
                crate::cost::on_plan_adjustment_decided(services, tx, actor, request, outcome)
                    .await
                    .map(|()| Vec::new())
            }
            RequestKind::RefundPayment => {
                crate::finance::on_refund_payment_decided(tx, actor, request, outcome).await.map(|()| Vec::new())
            }
            RequestKind::NonStandardContract => {
                crate::sales::on_non_standard_contract_decided(services, tx, actor, request, outcome).await
            }
            RequestKind::AreaCompensation => {
                crate::aftersales::compensation::on_batch_decided(services, tx, actor, request, outcome)
                    .await
                    .map(|()| Vec::new())
            }
            RequestKind::DepositTransfer => {
                crate::finance::on_deposit_transfer_decided(services, tx, actor, request, outcome)
                    .await
                    .map(|()| Vec::new())
            }
        }
    })
}

/// Runs one job: `Ok(result)` finishes it, `Err(reason)` retries it later.
fn run_job<'a>(
    services: &'a Services,
    job: &'a JobRow,
    kind: JobKind,
    now: DateTime<Utc>,
) -> BoxFuture<'a, Result<Option<String>, String>> {
    Box::pin(async move {
        let count = |r: ServiceResult<usize>| r.map(|n| Some(n.to_string())).map_err(|e| e.chain());
        match kind {
            JobKind::ExpireReservations => count(crate::sales::expire_reservations(services, now).await),
            JobKind::ApprovalDeadlines => count(crate::approvals::check_deadlines(services, now).await),
            JobKind::FollowUpReminders => count(crate::platform::jobs::remind_follow_ups(services, now).await),
            JobKind::WebhookDelivery => {
                let id = delivery_of(job).ok_or("payload without delivery_id")?;
                crate::platform::webhooks::deliver(services, &id).await.map(|()| None)
            }
            JobKind::CustomerImport => {
                let progress = Progress { services, job_id: job.id.clone() };
                crate::customers::import::run_import_job(services, job, &progress).await
            }
            JobKind::NoticeBatch => {
                let progress = Progress { services, job_id: job.id.clone() };
                crate::notices::run_batch(services, job, &progress).await
            }
            JobKind::Greetings => count(crate::notices::care::send_greetings(services, now).await),
            JobKind::CaseDeadlines => count(crate::cases::check_deadlines(services, now).await),
            JobKind::ProcessDeadlines => count(crate::aftersales::processes::check_deadlines(services, now).await),
            JobKind::DefectDeadlines => count(crate::aftersales::handover::check_defect_deadlines(services, now).await),
            JobKind::SurveyNotice => crate::notices::run_survey_job(services, job).await.map_err(|e| e.chain()),
            JobKind::Housekeeping => crate::platform::housekeeping::tidy(services, now)
                .await
                .map(|tidied| serde_json::to_string(&tidied).ok())
                .map_err(|e| e.chain()),
        }
    })
}

/// A job failed for the last time: what its module records about it.
fn job_gave_up<'a>(services: &'a Services, job: &'a JobRow, kind: JobKind) -> BoxFuture<'a, ServiceResult<()>> {
    Box::pin(async move {
        match kind {
            JobKind::WebhookDelivery => {
                crate::platform::webhooks::give_up(services, &delivery_of(job).unwrap_or_default()).await
            }
            // Nothing waits on these: the next run (or the user) starts again.
            JobKind::ExpireReservations
            | JobKind::ApprovalDeadlines
            | JobKind::FollowUpReminders
            | JobKind::Greetings
            | JobKind::CaseDeadlines
            | JobKind::ProcessDeadlines
            | JobKind::DefectDeadlines
            | JobKind::Housekeeping
            | JobKind::CustomerImport => Ok(()),
            // The survey keeps its link for the desk to hand over.
            JobKind::SurveyNotice => Ok(()),
            // The batch keeps its pending recipients; it can be run again from its page.
            JobKind::NoticeBatch => Ok(()),
        }
    })
}

fn delivery_of(job: &JobRow) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(&job.payload).ok()?.get("delivery_id")?.as_str().map(str::to_owned)
}
