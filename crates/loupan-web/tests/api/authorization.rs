//! The authorisation matrix: every operation of the OpenAPI document, called by
//! a user of every built-in role on three kinds of record — one the caller owns
//! (the sales agent's own customer, deal or request; the caller's own
//! delegation or notification), one of another agent in the same project, and
//! one in a project the caller is not a member of — and the answer compared
//! with what the rules say: allowed, 403 (no right) or 404 (not visible).
//!
//! The expected answers come from `rule` below: which permission an operation
//! needs and what kind of record it acts on. The permission table itself
//! (`loupan_domain::access`) is the policy; this test checks that every route
//! applies it, and applies it in the same way. An operation without an entry in
//! `rule` fails the test, so a new route cannot skip the matrix.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::support::*;
use axum::http::StatusCode;
use loupan_domain::access::{self, DataScope};
use loupan_domain::{Permission, Role};
use serde_json::{Value, json};

/// Whose record the call is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    /// The sales agent's own record (for other roles: an agent's record in their project);
    /// for personal things (delegations, notifications) the caller's own.
    Own,
    /// Another agent's record in the caller's project; another user's personal thing.
    Peer,
    /// A record in a project the caller is not a member of.
    Far,
}

const CASES: [Case; 3] = [Case::Own, Case::Peer, Case::Far];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Allowed,
    Forbidden,
    NotFound,
    /// A list filtered on a project the caller does not see: answered, with nothing in it.
    Empty,
    /// A project the caller does not see, named in a body or query: refused as unknown (422).
    Unknown,
}

/// What an operation acts on, which decides how visibility limits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum On {
    /// Nothing in a project (the caller's session, the whole company).
    Nothing,
    /// A record in a project (project, building, unit, price plan, file, …):
    /// outside the caller's projects it is not found.
    Project,
    /// A customer or a deal: in addition, an agent sees only their own.
    Owned,
    /// Something personal (a delegation, a notification): only its user sees it.
    Personal,
    /// A list filtered by a project in the query: another project's filter finds nothing.
    Filter,
    /// A project named in the body or query of a new record: another project is unknown.
    Field,
    /// Records named in the body (the unit and customer of a sale, the contract of a receipt):
    /// those the caller does not see are unknown, field by field (422).
    Refers,
}

enum Rule {
    /// Needs the permission (403 without), then visibility by `On`.
    Needs(Permission, On),
    /// Any signed-in user, visibility by `On`.
    Anyone(On),
    /// Rules of their own (approvals, jobs).
    Custom(fn(Role, Case) -> Expect),
}

fn can(role: Role, p: Permission) -> bool {
    access::grants(&[role], p)
}

/// What a caller holding the right gets, by what the operation acts on.
fn visible(role: Role, case: Case, on: On) -> Expect {
    let all = role.sees_all_projects();
    match (on, case) {
        (On::Project | On::Owned, Case::Far) if !all => Expect::NotFound,
        (On::Filter, Case::Far) if !all => Expect::Empty,
        (On::Field | On::Refers, Case::Far) if !all => Expect::Unknown,
        (On::Refers, Case::Peer) if access::customer_scope(&[role]) == Some(DataScope::Own) => Expect::Unknown,
        (On::Owned, Case::Peer) if access::customer_scope(&[role]) == Some(DataScope::Own) => Expect::NotFound,
        (On::Personal, Case::Peer | Case::Far) => Expect::NotFound,
        _ => Expect::Allowed,
    }
}

/// Approval requests: the submitter (the agent's own request), the approvers of
/// the first step (the project's sales manager) and auditors (admins,
/// executives) see them; only current approvers decide; only the submitter
/// resubmits or withdraws.
fn sees_request(role: Role, case: Case) -> bool {
    matches!(role, Role::Admin | Role::Executive)
        || (role == Role::SalesAgent && case == Case::Own)
        || (role == Role::SalesManager && case != Case::Far)
}

/// A building's gross floor area: kept by whoever keeps the inventory and by
/// cost engineers (their per-m² figures need it).
fn enter_gross_floor_area(role: Role, case: Case) -> Expect {
    if can(role, Permission::ManageInventory) || can(role, Permission::ManageCost) {
        visible(role, case, On::Project)
    } else {
        Expect::Forbidden
    }
}

/// Questionnaires are read by whoever reads, designs or fills them in.
fn read_questionnaire(role: Role, case: Case, on: On) -> Expect {
    let rights = [Permission::ReadQuestionnaires, Permission::ManageQuestionnaires, Permission::AnswerQuestionnaires];
    if rights.iter().any(|p| can(role, *p)) { visible(role, case, on) } else { Expect::Forbidden }
}

fn list_questionnaires(role: Role, case: Case) -> Expect {
    read_questionnaire(role, case, On::Filter)
}

fn get_questionnaire(role: Role, case: Case) -> Expect {
    read_questionnaire(role, case, On::Project)
}

/// The questionnaire is in the case's project (not found elsewhere), the
/// customer is the case's (an agent's peer's customer is unknown).
fn answer_questionnaire(role: Role, case: Case) -> Expect {
    if !can(role, Permission::AnswerQuestionnaires) {
        return Expect::Forbidden;
    }
    match visible(role, case, On::Project) {
        Expect::Allowed => visible(role, case, On::Refers),
        other => other,
    }
}

fn read_request(role: Role, case: Case) -> Expect {
    if sees_request(role, case) { Expect::Allowed } else { Expect::NotFound }
}

fn decide_request(role: Role, case: Case) -> Expect {
    match sees_request(role, case) {
        false => Expect::NotFound,
        true if role == Role::SalesManager => Expect::Allowed,
        true => Expect::Forbidden,
    }
}

fn submitter_acts(role: Role, case: Case) -> Expect {
    match sees_request(role, case) {
        false => Expect::NotFound,
        true if role == Role::SalesAgent => Expect::Allowed,
        true => Expect::Forbidden,
    }
}

/// The job queue is for integrators; a user also follows the jobs they started
/// (the agent's own import).
/// Service-process cases are read by after-sales and by whoever deals with
/// contracts (an agent only on their own deals).
fn read_process_case(role: Role, case: Case) -> Expect {
    if can(role, Permission::ReadAftersales) || can(role, Permission::ReadDeals) {
        visible(role, case, On::Owned)
    } else {
        Expect::Forbidden
    }
}

fn list_process_cases(role: Role, case: Case) -> Expect {
    if can(role, Permission::ReadAftersales) || can(role, Permission::ReadDeals) {
        visible(role, case, On::Filter)
    } else {
        Expect::Forbidden
    }
}

/// The step of the matrix's case is after-sales work: those who read the
/// case may see it, only after-sales managers do it.
fn work_process_step(role: Role, case: Case) -> Expect {
    match read_process_case(role, case) {
        Expect::Allowed if can(role, Permission::ManageAftersales) => Expect::Allowed,
        Expect::Allowed => Expect::Forbidden,
        other => other,
    }
}

/// A loan's disbursement is a receipt: recorded by those who record receipts
/// and read the case.
fn record_disbursement(role: Role, case: Case) -> Expect {
    if !can(role, Permission::RecordReceipts) {
        return Expect::Forbidden;
    }
    read_process_case(role, case)
}

/// The company's definitions are changed only by after-sales managers who see every project.
fn edit_company_process(role: Role, _case: Case) -> Expect {
    if can(role, Permission::ManageAftersales) && role.sees_all_projects() {
        Expect::Allowed
    } else {
        Expect::Forbidden
    }
}

fn read_job(role: Role, case: Case) -> Expect {
    if can(role, Permission::ManageIntegrations) || (role == Role::SalesAgent && case == Case::Own) {
        Expect::Allowed
    } else {
        Expect::NotFound
    }
}

/// The rule of every documented operation; None fails the test.
fn rule(op: &str) -> Option<Rule> {
    use On::*;
    use Permission::*;
    use Rule::{Anyone, Custom, Needs};
    Some(match op {
        "POST /api/v1/auth/login" | "POST /api/v1/auth/logout" | "GET /api/v1/auth/me" => Anyone(Nothing),
        "GET /api/v1/workbench" | "GET /api/v1/workbench/counts" => Anyone(Nothing),
        "GET /api/v1/notifications" | "POST /api/v1/notifications/read-all" => Anyone(Nothing),
        "POST /api/v1/notifications/{id}/read" => Anyone(Personal),
        "GET /api/v1/delegations" | "POST /api/v1/delegations" => Anyone(Nothing),
        "DELETE /api/v1/delegations/{id}" => Anyone(Personal),

        "GET /api/v1/admin/audit" | "GET /api/v1/admin/audit/verify" => Needs(ReadAudit, Nothing),
        "GET /api/v1/admin/users"
        | "POST /api/v1/admin/users"
        | "GET /api/v1/admin/users/{id}"
        | "PATCH /api/v1/admin/users/{id}"
        | "POST /api/v1/admin/users/{id}/disable"
        | "POST /api/v1/admin/users/{id}/enable"
        | "POST /api/v1/admin/users/{id}/password" => Needs(ManageUsers, Nothing),

        "GET /api/v1/approval-flows" | "GET /api/v1/approval-flows/{kind}" | "PUT /api/v1/approval-flows/{kind}" => {
            Needs(ManageApprovalFlows, Nothing)
        }
        "GET /api/v1/approvals" => Anyone(Nothing),
        "GET /api/v1/approvals/{id}"
        | "POST /api/v1/approvals/{id}/comments"
        | "POST /api/v1/approvals/{id}/attachments"
        | "GET /api/v1/approvals/{id}/attachments/{attachment_id}" => Custom(read_request),
        "POST /api/v1/approvals/{id}/approve"
        | "POST /api/v1/approvals/{id}/reject"
        | "POST /api/v1/approvals/{id}/return" => Custom(decide_request),
        "POST /api/v1/approvals/{id}/resubmit" | "POST /api/v1/approvals/{id}/withdraw" => Custom(submitter_acts),

        "GET /api/v1/projects" => Needs(ReadProjects, Nothing),
        "POST /api/v1/projects" => Needs(ManageProjects, Nothing),
        "GET /api/v1/projects/{id}" | "GET /api/v1/projects/{id}/birdseye" | "GET /api/v1/projects/{id}/buildings" => {
            Needs(ReadInventory, Project)
        }
        "POST /api/v1/projects/{id}/buildings"
        | "POST /api/v1/projects/{id}/site-plan"
        | "POST /api/v1/projects/{id}/units/import"
        | "PUT /api/v1/buildings/{id}/region"
        | "POST /api/v1/buildings/{id}/units"
        | "POST /api/v1/buildings/{id}/units/generate"
        | "POST /api/v1/units/{id}/files"
        | "POST /api/v1/units/{id}/hold"
        | "POST /api/v1/units/{id}/release"
        | "DELETE /api/v1/files/{id}" => Needs(ManageInventory, Project),
        "GET /api/v1/units" | "GET /api/v1/units/export" => Needs(ReadInventory, Filter),
        "POST /api/v1/units/bulk-edit" => Needs(ManageInventory, Refers),
        "GET /api/v1/units/{id}"
        | "GET /api/v1/units/{id}/files"
        | "GET /api/v1/units/{id}/history"
        | "GET /api/v1/units/{id}/price-history"
        | "GET /api/v1/buildings/{id}/chart"
        | "GET /api/v1/buildings/{id}/chart.pdf"
        | "GET /api/v1/buildings/{id}"
        | "GET /api/v1/files/{id}" => Needs(ReadInventory, Project),
        "PATCH /api/v1/buildings/{id}" => Custom(enter_gross_floor_area),
        "GET /api/v1/units/{id}/price-limits" => Needs(Sell, Project),
        "PUT /api/v1/projects/{id}/discount-limit"
        | "POST /api/v1/projects/{id}/payment-methods"
        | "GET /api/v1/projects/{id}/price-adjustments"
        | "POST /api/v1/projects/{id}/price-adjustments"
        | "GET /api/v1/price-adjustments/{id}"
        | "GET /api/v1/price-adjustments/{id}/preview"
        | "POST /api/v1/price-adjustments/{id}/submit" => Needs(ManagePricing, Project),
        "GET /api/v1/projects/{id}/payment-methods" | "GET /api/v1/payment-methods/{id}" => {
            Needs(ReadInventory, Project)
        }
        "PUT /api/v1/payment-methods/{id}" | "POST /api/v1/payment-methods/{id}/retire" => {
            Needs(ManagePricing, Project)
        }

        "GET /api/v1/customers" => Needs(ReadCustomers, Filter),
        "GET /api/v1/customers/export" => Needs(ExportCustomers, Filter),
        "GET /api/v1/customers/duplicate-check" => Needs(WriteCustomers, Project),
        // Each caller's own view: agents their customers, managers their projects'.
        "GET /api/v1/customers/exceptions" | "GET /api/v1/customers/cross-analysis" => Needs(ReadCustomers, Nothing),
        "GET /api/v1/customers/saved-filters" | "POST /api/v1/customers/saved-filters" => Needs(ReadCustomers, Nothing),
        "DELETE /api/v1/customers/saved-filters/{id}" => Needs(ReadCustomers, Personal),
        "POST /api/v1/customers" | "POST /api/v1/customers/import" | "POST /api/v1/customers/import/jobs" => {
            Needs(WriteCustomers, Field)
        }
        "GET /api/v1/customers/{id}"
        | "GET /api/v1/customers/{id}/follow-ups"
        | "GET /api/v1/customers/{id}/timeline" => Needs(ReadCustomers, Owned),
        "GET /api/v1/customers/{id}/money" => Needs(ReadDeals, Owned),
        "POST /api/v1/customers/{id}/follow-ups"
        | "PATCH /api/v1/customers/{id}"
        | "POST /api/v1/customers/{id}/marketing-consent" => Needs(WriteCustomers, Owned),
        "GET /api/v1/projects/{id}/grade-rules" => Needs(ReadCustomers, Project),
        "PUT /api/v1/projects/{id}/grade-rules" | "POST /api/v1/projects/{id}/grade-rules/apply" => {
            Needs(ManageCustomers, Project)
        }
        "POST /api/v1/customers/{id}/reveal" => Needs(RevealPersonalData, Owned),
        "GET /api/v1/customers/duplicate-records" => Needs(ManageCustomers, Nothing),
        "POST /api/v1/customers/duplicate-records/{id}/rule"
        | "POST /api/v1/customers/transfer"
        | "POST /api/v1/customers/{id}/merge"
        | "POST /api/v1/customer-merges/{id}/undo" => Needs(ManageCustomers, Project),

        "POST /api/v1/sales/reservations"
        | "POST /api/v1/sales/subscriptions"
        | "POST /api/v1/sales/subscriptions/special-discount"
        | "POST /api/v1/sales/contracts"
        | "POST /api/v1/sales/changes" => Needs(Sell, Refers),
        "GET /api/v1/sales/subscriptions/{id}"
        | "GET /api/v1/sales/subscriptions/{id}/letter.pdf"
        | "GET /api/v1/sales/contracts/{id}"
        | "GET /api/v1/sales/contracts/{id}/payment-plan"
        | "GET /api/v1/sales/deals/{id}/buyers" => Needs(ReadDeals, Owned),
        "GET /api/v1/sales/changes" => Needs(ReadDeals, Nothing),
        "GET /api/v1/sales/subscriptions"
        | "GET /api/v1/sales/subscriptions/export"
        | "GET /api/v1/sales/contracts"
        | "GET /api/v1/sales/contracts/export" => Needs(ReadDeals, Filter),

        // The receipts of a deal are part of it (agents follow their customers' payments).
        "GET /api/v1/finance/receipts" => Needs(ReadDeals, Owned),
        "GET /api/v1/finance/receipts/{id}" => Needs(ReadFinance, Project),
        "POST /api/v1/finance/receipts" => Needs(RecordReceipts, Refers),
        "POST /api/v1/finance/receipts/{id}/arrive" => Needs(RecordReceipts, Project),
        "POST /api/v1/finance/receipts/{id}/audit" => Needs(AuditReceipts, Project),
        "GET /api/v1/finance/refunds" => Needs(ReadFinance, Nothing),
        // The fixture receipt is not yet audited: the cashier voids it (reversing audited
        // money needs the audit right too, checked in tests/finance.rs).
        "POST /api/v1/finance/receipts/{id}/reverse" | "POST /api/v1/finance/refunds/{id}/pay" => {
            Needs(RecordReceipts, Project)
        }
        "POST /api/v1/finance/refunds/{id}/audit" => Needs(AuditReceipts, Project),
        "POST /api/v1/finance/deposit-transfers" => Needs(RecordReceipts, Refers),
        "GET /api/v1/finance/receipt-books"
        | "GET /api/v1/finance/queries/receipts"
        | "GET /api/v1/finance/queries/receipts/export"
        | "GET /api/v1/finance/queries/instalments"
        | "GET /api/v1/finance/queries/instalments/export" => Needs(ReadFinance, Filter),
        "GET /api/v1/finance/receipt-books/{id}" => Needs(ReadFinance, Project),
        "POST /api/v1/finance/receipt-books" => Needs(RecordReceipts, Field),
        "POST /api/v1/finance/receipt-books/{id}/void" => Needs(RecordReceipts, Project),
        "GET /api/v1/finance/reports/ageing"
        | "GET /api/v1/finance/reports/ageing/export"
        | "GET /api/v1/finance/reports/ledger"
        | "GET /api/v1/finance/reports/ledger/export"
        | "GET /api/v1/finance/reports/arrears"
        | "GET /api/v1/finance/reports/arrears/export"
        | "GET /api/v1/finance/reports/reconciliation"
        | "GET /api/v1/finance/reports/reconciliation/export"
        | "GET /api/v1/buildings/{id}/finance-chart"
        | "GET /api/v1/finance/settings/ageing-buckets" => Needs(ReadFinance, Project),
        "PUT /api/v1/finance/settings/ageing-buckets" => Needs(AuditReceipts, Project),

        "GET /api/v1/jobs" | "POST /api/v1/jobs/{id}/retry" => Needs(ManageIntegrations, Nothing),
        "GET /api/v1/jobs/{id}" => Custom(read_job),
        "GET /api/v1/webhooks"
        | "POST /api/v1/webhooks"
        | "POST /api/v1/webhooks/{id}/activate"
        | "POST /api/v1/webhooks/{id}/deactivate"
        | "GET /api/v1/webhooks/{id}/deliveries" => Needs(ManageIntegrations, Nothing),
        "POST /api/v1/aftersales/area-compensation/calculate" | "POST /api/v1/aftersales/deed-tax/calculate" => {
            Needs(ReadAftersales, Nothing)
        }
        "GET /api/v1/projects/{id}/settlement"
        | "GET /api/v1/projects/{id}/compensation-batches"
        | "GET /api/v1/compensation-batches/{id}"
        | "GET /api/v1/compensation-batches/{id}/export"
        | "GET /api/v1/units/{id}/compensations" => Needs(ReadAftersales, Project),
        "GET /api/v1/aftersales/processes" | "GET /api/v1/aftersales/processes/{id}" => Needs(ReadAftersales, Nothing),
        "POST /api/v1/aftersales/processes" => Needs(ManageAftersales, Field),
        "PUT /api/v1/aftersales/processes/{id}" => Custom(edit_company_process),
        "GET /api/v1/aftersales/service-cases" => Custom(list_process_cases),
        "POST /api/v1/aftersales/service-cases" => Needs(ManageAftersales, Refers),
        "GET /api/v1/aftersales/service-cases/{id}" | "GET /api/v1/contracts/{id}/service-cases" => {
            Custom(read_process_case)
        }
        "POST /api/v1/aftersales/service-cases/{id}/complete"
        | "POST /api/v1/aftersales/service-cases/{id}/documents" => Custom(work_process_step),
        "POST /api/v1/aftersales/service-cases/{id}/cancel" => Needs(ManageAftersales, Owned),
        "POST /api/v1/aftersales/service-cases/{id}/disbursement" => Custom(record_disbursement),
        "GET /api/v1/buildings/{id}/service-board" => Needs(ReadAftersales, Project),
        "POST /api/v1/buildings/{id}/handover-readiness" => Needs(ManageAftersales, Project),
        "GET /api/v1/contracts/{id}/handover/check"
        | "GET /api/v1/contracts/{id}/handover"
        | "GET /api/v1/buildings/{id}/handovers"
        | "GET /api/v1/buildings/{id}/handover-slots"
        | "GET /api/v1/aftersales/handovers/{id}"
        | "GET /api/v1/aftersales/handovers/{id}/record.pdf"
        | "GET /api/v1/aftersales/defects/{id}"
        | "GET /api/v1/projects/{id}/handover-rules" => Needs(ReadAftersales, Project),
        "GET /api/v1/aftersales/defects" => Needs(ReadAftersales, Filter),
        "POST /api/v1/contracts/{id}/handover"
        | "POST /api/v1/buildings/{id}/handover-slots"
        | "POST /api/v1/aftersales/handovers/{id}/appointment"
        | "POST /api/v1/aftersales/handovers/{id}/check-in"
        | "POST /api/v1/aftersales/handovers/{id}/defects"
        | "POST /api/v1/aftersales/handovers/{id}/complete"
        | "POST /api/v1/aftersales/defects/{id}/reinspect"
        | "POST /api/v1/aftersales/defects/{id}/photos"
        | "PUT /api/v1/projects/{id}/handover-rules" => Needs(ManageAftersales, Project),
        "POST /api/v1/aftersales/defects/{id}/rectify" => Needs(RectifyDefects, Project),
        "GET /api/v1/units/{id}/warranty" => Needs(ReadInventory, Project),
        // The buyer's link: its token is its key, whoever calls.
        "GET /api/v1/handover-bookings/{token}" | "POST /api/v1/handover-bookings/{token}" => Anyone(Nothing),
        "PUT /api/v1/projects/{id}/settlement"
        | "PUT /api/v1/units/{id}/measured-areas"
        | "POST /api/v1/buildings/{id}/measured-areas/import"
        | "POST /api/v1/buildings/{id}/compensation-batches"
        | "POST /api/v1/compensation-batches/{id}/recompute"
        | "POST /api/v1/compensation-batches/{id}/submit"
        | "PATCH /api/v1/compensation-batches/{id}/lines/{line_id}" => Needs(ManageAftersales, Project),

        "POST /api/v1/service/cases" => Needs(WorkCases, Field),
        "GET /api/v1/service/cases"
        | "GET /api/v1/service/reports/sla"
        | "GET /api/v1/service/reports/sla/export"
        | "GET /api/v1/service/surveys"
        | "GET /api/v1/service/surveys/report" => Needs(ReadCases, Filter),
        "POST /api/v1/service/surveys" => Needs(WorkCases, Refers),
        "GET /api/v1/service/cases/{id}"
        | "GET /api/v1/service/cases/{id}/files"
        | "GET /api/v1/projects/{id}/case-rules" => Needs(ReadCases, Project),
        "POST /api/v1/service/cases/{id}/actions"
        | "POST /api/v1/service/cases/{id}/link"
        | "POST /api/v1/service/cases/{id}/files" => Needs(WorkCases, Project),
        "GET /api/v1/service/settings" | "GET /api/v1/service/calendar/{year}" | "GET /api/v1/service/categories" => {
            Needs(ReadCases, Nothing)
        }
        "PUT /api/v1/service/settings" | "PUT /api/v1/service/calendar/{year}" | "POST /api/v1/service/categories" => {
            Needs(ManageCases, Nothing)
        }
        "POST /api/v1/projects/{id}/case-rules" | "DELETE /api/v1/case-rules/{id}" => Needs(ManageCases, Project),

        "GET /api/v1/projects/{id}/reception/lookup"
        | "GET /api/v1/projects/{id}/reception"
        | "POST /api/v1/reception/visits/{id}/end" => Needs(Receive, Project),
        "POST /api/v1/reception/visits" => Needs(Receive, Field),
        "PUT /api/v1/projects/{id}/reception/queue" => Needs(ManageReception, Project),

        "GET /api/v1/questionnaires" => Custom(list_questionnaires),
        "GET /api/v1/questionnaires/{id}" => Custom(get_questionnaire),
        "POST /api/v1/questionnaires" => Needs(ManageQuestionnaires, Field),
        "PATCH /api/v1/questionnaires/{id}" | "POST /api/v1/questionnaires/{id}/links" => {
            Needs(ManageQuestionnaires, Project)
        }
        "POST /api/v1/questionnaires/{id}/responses" => Custom(answer_questionnaire),
        "GET /api/v1/questionnaires/{id}/responses"
        | "GET /api/v1/questionnaires/{id}/analysis"
        | "GET /api/v1/questionnaires/{id}/cross-analysis"
        | "GET /api/v1/questionnaires/{id}/cross-analysis/export" => Needs(ReadQuestionnaires, Project),

        "GET /api/v1/cost/template/items"
        | "GET /api/v1/cost/template/items/export"
        | "GET /api/v1/cost/suppliers"
        | "GET /api/v1/cost/suppliers/{id}" => Needs(ReadCost, Nothing),
        "POST /api/v1/cost/template/items"
        | "POST /api/v1/cost/template/items/import"
        | "POST /api/v1/cost/suppliers"
        | "POST /api/v1/cost/suppliers/{id}/blacklist"
        | "POST /api/v1/cost/suppliers/{id}/unblacklist" => Needs(ManageCost, Nothing),
        "GET /api/v1/cost/projects/{id}/items"
        | "GET /api/v1/cost/projects/{id}/dynamic-cost"
        | "GET /api/v1/cost/projects/{id}/dynamic-cost/export"
        | "GET /api/v1/cost/projects/{id}/targets"
        | "GET /api/v1/cost/projects/{id}/plan-lines"
        | "GET /api/v1/cost/projects/{id}/contracts"
        | "GET /api/v1/cost/projects/{id}/variations"
        | "GET /api/v1/cost/items/{id}/postings"
        | "GET /api/v1/cost/targets/{id}"
        | "GET /api/v1/cost/targets/compare"
        | "GET /api/v1/cost/contracts/{id}"
        | "GET /api/v1/cost/contracts/{id}/impact"
        | "POST /api/v1/cost/projects/{id}/trial-calculation"
        | "GET /api/v1/cost/projects/{id}/reports"
        | "GET /api/v1/cost/projects/{id}/items/export"
        | "GET /api/v1/cost/projects/{id}/plan-lines/export"
        | "GET /api/v1/cost/projects/{id}/contracts/export"
        | "GET /api/v1/cost/projects/{id}/variations/export"
        | "GET /api/v1/cost/projects/{id}/reports/draft"
        | "GET /api/v1/cost/projects/{id}/reports/{month}"
        | "GET /api/v1/cost/projects/{id}/reports/{month}/export"
        | "GET /api/v1/cost/contracts/{id}/files"
        | "GET /api/v1/cost/variations/{id}/files"
        | "GET /api/v1/cost/variations/{id}" => Needs(ReadCost, Project),
        "POST /api/v1/cost/contracts/{id}/files" => Needs(ManageCost, Project),
        "POST /api/v1/cost/variations/{id}/files" => Needs(RecordVariations, Project),
        // Over every project the caller sees, however many.
        "GET /api/v1/cost/group/dynamic-cost"
        | "GET /api/v1/cost/group/dynamic-cost/export"
        | "GET /api/v1/cost/responsibility"
        | "GET /api/v1/cost/responsibility/export" => Needs(ReadCost, Nothing),
        "POST /api/v1/cost/projects/{id}/items"
        | "POST /api/v1/cost/projects/{id}/items/from-template"
        | "PATCH /api/v1/cost/items/{id}"
        | "POST /api/v1/cost/projects/{id}/targets"
        | "POST /api/v1/cost/targets/{id}/adopt"
        | "POST /api/v1/cost/projects/{id}/plan-lines"
        | "POST /api/v1/cost/projects/{id}/contracts"
        | "POST /api/v1/cost/projects/{id}/expected"
        | "POST /api/v1/cost/projects/{id}/reports"
        | "POST /api/v1/cost/projects/{id}/items/import"
        | "POST /api/v1/cost/plan-lines/{id}/adjustments" => Needs(ManageCost, Project),
        "POST /api/v1/cost/projects/{id}/variations" | "POST /api/v1/cost/variations/{id}/confirm" => {
            Needs(RecordVariations, Project)
        }

        "GET /api/v1/notices/templates" | "POST /api/v1/notices/templates" | "GET /api/v1/notices/batches" => {
            Needs(SendNotices, Nothing)
        }
        "GET /api/v1/notices/fields" => Anyone(Nothing),
        "GET /api/v1/notices/care" => Needs(SendNotices, Nothing),
        // Pictures and the calibration page belong to letter design.
        "POST /api/v1/notices/pictures" | "GET /api/v1/notices/calibration.pdf" => Needs(SendNotices, Nothing),
        // The company's greetings: only for those who see every project.
        "PUT /api/v1/notices/care" => {
            Custom(
                |role, _| {
                    if can(role, SendNotices) && role.sees_all_projects() { Expect::Allowed } else { Expect::Forbidden }
                },
            )
        }
        "GET /api/v1/notices/templates/{id}"
        | "PUT /api/v1/notices/templates/{id}"
        | "GET /api/v1/notices/templates/{id}/versions"
        | "POST /api/v1/notices/templates/{id}/preview"
        | "POST /api/v1/notices/templates/{id}/preview.pdf"
        | "GET /api/v1/notices/batches/{id}"
        | "GET /api/v1/notices/batches/{id}/recipients"
        | "GET /api/v1/notices/batches/{id}/recipients/export"
        | "GET /api/v1/notices/batches/{id}/letters.pdf"
        | "GET /api/v1/notices/batches/{id}/letters.zip" => Needs(SendNotices, Project),
        "POST /api/v1/notices/batches" | "POST /api/v1/notices/batches/preview" => Needs(SendNotices, Field),
        // What a customer was sent is part of the customer.
        "GET /api/v1/notices/sendings/{id}" => Needs(ReadCustomers, Owned),
        // The company's SMTP server is an integration like webhooks.
        "GET /api/v1/notices/smtp"
        | "PUT /api/v1/notices/smtp"
        | "POST /api/v1/notices/smtp/test"
        | "GET /api/v1/notices/sms"
        | "PUT /api/v1/notices/sms"
        | "POST /api/v1/notices/sms/test" => Needs(ManageIntegrations, Nothing),
        // The letterhead: set by whoever manages integrations, read by them and by letter writers.
        "PUT /api/v1/notices/letterhead" => Needs(ManageIntegrations, Nothing),
        "GET /api/v1/notices/letterhead" => Custom(|role, _| {
            if can(role, ManageIntegrations) || can(role, SendNotices) { Expect::Allowed } else { Expect::Forbidden }
        }),
        // The provider's push: no role at all, the path's secret is the key.
        "POST /api/v1/notices/sms/replies/{token}" => Anyone(Nothing),
        _ => return None,
    })
}

/// An SMTP server nobody listens on: a test message gets the refusal as its answer.
fn smtp_settings() -> Value {
    json!({"host": "127.0.0.1", "port": 9, "security": "none", "sender_name": "翠湖名苑 客户服务中心",
           "sender_address": "service@example.cn"})
}

/// An SMS gateway nobody listens on: a test message gets the failure as its answer.
fn sms_settings() -> Value {
    json!({"provider": "http", "url": "http://127.0.0.1:9/send", "body_template": "{\"text\": \"{{text}}\"}"})
}

/// Without the right the answer is 403 whatever the record (which reveals nothing about
/// it); with it, a record outside the caller's projects or data scope is not found.
fn expected(rule: &Rule, role: Role, case: Case) -> Expect {
    match rule {
        Rule::Needs(p, _) if !can(role, *p) => Expect::Forbidden,
        Rule::Needs(_, on) | Rule::Anyone(on) => visible(role, case, *on),
        Rule::Custom(f) => f(role, case),
    }
}

fn cases_of(rule: &Rule) -> &'static [Case] {
    match rule {
        Rule::Needs(_, On::Nothing) | Rule::Anyone(On::Nothing) => &[Case::Own],
        _ => &CASES,
    }
}

/// Everyone in the test: one user per role, all members of the home project.
struct World {
    app: TestApp,
    admin: String,
    home: String,
    far: String,
    home_building: String,
    far_building: String,
    home_method: String,
    far_method: String,
    /// (role, user id, token) for every built-in role, members of `home`.
    callers: Vec<(Role, String, String)>,
    /// The second agent in the home project and an agent of the far project.
    peer_agent: (String, String),
    far_agent: (String, String),
    /// The far project's sales manager's token (approves its requests).
    far_manager: String,
    next: AtomicU32,
    /// Per case, a surveyed building with a draft batch (building, unit,
    /// batch, line), made once for the calls that only read it or are refused.
    compensations: std::sync::Mutex<Vec<(Case, [String; 4])>>,
    handovers: std::sync::Mutex<Vec<(Case, [String; 6])>>,
}

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
const PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52, 0x00, 0x00, 0x00,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0A, 0x49,
    0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0x00, 0x01, 0x00, 0x00, 0x05, 0x00, 0x01, 0x0D, 0x0A, 0x2D, 0xB4, 0x00, 0x00,
    0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

fn id_of(r: &Reply) -> String {
    assert!(r.status.is_success(), "{}: {}", r.status, r.text);
    r.json()["id"].as_str().unwrap_or_else(|| panic!("no id in {}", r.text)).to_owned()
}

impl World {
    async fn new() -> World {
        let app = TestApp::new().await;
        let admin = app.admin().await;
        let home = app.project(&admin, "翠湖名苑").await;
        let far = app.project(&admin, "滨江壹号").await;
        let mut callers = Vec::new();
        for role in Role::ALL {
            let (id, token) = app.user(&admin, &format!("u_{}", role.name()), &[role.name()], &[&home]).await;
            callers.push((role, id, token));
        }
        let peer_agent = app.user(&admin, "peer_agent", &["sales_agent"], &[&home]).await;
        let far_agent = app.user(&admin, "far_agent", &["sales_agent"], &[&far]).await;
        // The far project's manager approves its requests, so they never fall to admins.
        let (_, far_manager) = app.user(&admin, "far_manager", &["sales_manager"], &[&far]).await;
        let mut w = World {
            app,
            admin,
            home,
            far,
            home_building: String::new(),
            far_building: String::new(),
            home_method: String::new(),
            far_method: String::new(),
            callers,
            peer_agent,
            far_agent,
            far_manager,
            next: AtomicU32::new(1),
            compensations: std::sync::Mutex::new(Vec::new()),
            handovers: std::sync::Mutex::new(Vec::new()),
        };
        for (project, far) in [(w.home.clone(), false), (w.far.clone(), true)] {
            let b = id_of(
                &w.send(post(&format!("/api/v1/projects/{project}/buildings"), json!({"name": "1号楼"})), &w.admin)
                    .await,
            );
            let m = id_of(
                &w.send(
                    post(
                        &format!("/api/v1/projects/{project}/payment-methods"),
                        json!({"name": "一次性付款", "kind": "one_off", "discount": "0",
                               "terms": [{"kind": "down_payment", "ratio": "1", "days_after_signing": 0}]}),
                    ),
                    &w.admin,
                )
                .await,
            );
            if far {
                (w.far_building, w.far_method) = (b, m);
            } else {
                (w.home_building, w.home_method) = (b, m);
            }
        }
        w
    }

    async fn send(&self, call: Call, token: &str) -> Reply {
        self.app.send(call.token(token)).await
    }

    fn n(&self) -> u32 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    fn token_of(&self, role: Role) -> &str {
        &self.callers.iter().find(|(r, _, _)| *r == role).unwrap().2
    }

    fn user_id_of(&self, role: Role) -> &str {
        &self.callers.iter().find(|(r, _, _)| *r == role).unwrap().1
    }

    fn project(&self, case: Case) -> &str {
        if case == Case::Far { &self.far } else { &self.home }
    }

    fn building(&self, case: Case) -> &str {
        if case == Case::Far { &self.far_building } else { &self.home_building }
    }

    /// A payment method of its own for a call that changes or retires it.
    async fn fresh_method(&self, case: Case) -> String {
        let n = self.n();
        id_of(
            &self
                .send(
                    post(
                        &format!("/api/v1/projects/{}/payment-methods", self.project(case)),
                        json!({"name": format!("方式{n}"), "kind": "one_off", "terms": [{"kind": "down_payment", "ratio": "1"}]}),
                    ),
                    &self.admin,
                )
                .await,
        )
    }

    fn method(&self, case: Case) -> &str {
        if case == Case::Far { &self.far_method } else { &self.home_method }
    }

    /// The agent whose record the case is about.
    fn agent(&self, case: Case) -> &str {
        match case {
            Case::Own => self.token_of(Role::SalesAgent),
            Case::Peer => &self.peer_agent.1,
            Case::Far => &self.far_agent.1,
        }
    }

    async fn unit(&self, case: Case) -> String {
        let n = self.n();
        id_of(
            &self
                .send(
                    post(
                        &format!("/api/v1/buildings/{}/units", self.building(case)),
                        json!({"floor": 1 + n % 30, "number": format!("{}", 90000 + n), "layout": "3室2厅",
                               "gross_area": "89.37", "inner_area": "77.37", "list_price": "1000000.00",
                               "floor_price": "900000.00"}),
                    ),
                    &self.admin,
                )
                .await,
        )
    }

    async fn customer(&self, case: Case) -> String {
        let n = self.n();
        id_of(
            &self
                .send(
                    post(
                        "/api/v1/customers",
                        json!({"name": format!("客户{n}"), "phone": format!("139{n:08}"), "project_id": self.project(case)}),
                    ),
                    self.agent(case),
                )
                .await,
        )
    }

    fn deal_body(&self, case: Case, unit: &str, customer: &str) -> Value {
        json!({"unit_id": unit, "customer_id": customer, "payment_method_id": self.method(case),
               "total_price": "1000000.00", "deposit": "20000.00", "subscribed_on": "2026-11-27",
               "signed_on": "2026-11-27"})
    }

    async fn subscription(&self, case: Case) -> String {
        let (unit, customer) = (self.unit(case).await, self.customer(case).await);
        id_of(
            &self
                .send(post("/api/v1/sales/subscriptions", self.deal_body(case, &unit, &customer)), self.agent(case))
                .await,
        )
    }

    async fn contract(&self, case: Case) -> String {
        let (unit, customer) = (self.unit(case).await, self.customer(case).await);
        id_of(
            &self.send(post("/api/v1/sales/contracts", self.deal_body(case, &unit, &customer)), self.agent(case)).await,
        )
    }

    async fn receipt(&self, case: Case) -> String {
        let contract = self.contract(case).await;
        id_of(
            &self
                .send(
                    post(
                        "/api/v1/finance/receipts",
                        json!({"contract_id": contract, "amount": "1000.00", "channel": "transfer",
                               "received_on": "2026-11-27"}),
                    ),
                    &self.admin,
                )
                .await,
        )
    }

    /// Audits a receipt as admin (recorded → arrived → audited).
    async fn audit(&self, receipt: &str) {
        for step in ["arrive", "audit"] {
            let r =
                self.send(post(&format!("/api/v1/finance/receipts/{receipt}/{step}"), json!({})), &self.admin).await;
            assert!(r.status.is_success(), "{}", r.text);
        }
    }

    /// A contract signed from a subscription whose deposit finance has audited.
    async fn contract_with_deposit(&self, case: Case) -> String {
        let subscription = self.subscription(case).await;
        let receipt = json!({"subscription_id": subscription, "amount": "20000.00", "channel": "pos",
                             "received_on": "2026-11-27"});
        let deposit = id_of(&self.send(post("/api/v1/finance/receipts", receipt), &self.admin).await);
        self.audit(&deposit).await;
        let body = json!({"subscription_id": subscription, "payment_method_id": self.method(case),
                          "total_price": "1000000.00", "signed_on": "2026-11-27"});
        id_of(&self.send(post("/api/v1/sales/contracts", body), self.agent(case)).await)
    }

    /// A refund owed after the cancellation of a contract with audited money on it.
    async fn refund(&self, case: Case) -> String {
        let contract = self.contract(case).await;
        let receipt = json!({"contract_id": contract, "amount": "1000.00", "channel": "transfer",
                             "received_on": "2026-11-27"});
        let paid = id_of(&self.send(post("/api/v1/finance/receipts", receipt), &self.admin).await);
        self.audit(&paid).await;
        let change = json!({"kind": "cancel_contract", "subject_id": contract, "reason": "客户资金问题"});
        let r = self.send(post("/api/v1/sales/changes", change), self.agent(case)).await;
        assert!(r.status.is_success(), "{}", r.text);
        let approval = r.json()["approval_id"].as_str().unwrap().to_owned();
        let manager = if case == Case::Far { &self.far_manager } else { self.token_of(Role::SalesManager) };
        let r = self
            .send(post(&format!("/api/v1/approvals/{approval}/approve"), json!({"comment": "同意"})), manager)
            .await;
        assert!(r.status.is_success(), "{}", r.text);
        let list = self.send(get("/api/v1/finance/refunds?status=due"), &self.admin).await.json();
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["contract_id"].as_str() == Some(contract.as_str()))
            .unwrap_or_else(|| panic!("no refund for {contract} in {list}"))["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn receipt_book(&self, case: Case) -> String {
        let n = self.n();
        let body = json!({"project_id": self.project(case), "prefix": format!("B{n}-"), "first_number": 1,
                          "last_number": 50});
        id_of(&self.send(post("/api/v1/finance/receipt-books", body), &self.admin).await)
    }

    /// A special-discount request of the case's agent, waiting for the sales manager.
    async fn approval(&self, case: Case) -> String {
        let (unit, customer) = (self.unit(case).await, self.customer(case).await);
        let mut body = self.deal_body(case, &unit, &customer);
        body["total_price"] = json!("950000.00");
        body["reason"] = json!("老客户介绍");
        id_of(&self.send(post("/api/v1/sales/subscriptions/special-discount", body), self.agent(case)).await)
    }

    async fn attachment(&self, case: Case) -> (String, String) {
        let approval = self.approval(case).await;
        let r = self
            .send(
                post_bytes(
                    &format!("/api/v1/approvals/{approval}/attachments?file_name=a.png"),
                    PNG.to_vec(),
                    "image/png",
                ),
                self.agent(case),
            )
            .await;
        (approval, id_of(&r))
    }

    /// A building of its own with one sold and surveyed unit, so that each
    /// call computes its own batch: (building, unit).
    async fn surveyed_building(&self, case: Case) -> (String, String) {
        let n = self.n();
        let building = id_of(
            &self
                .send(
                    post(
                        &format!("/api/v1/projects/{}/buildings", self.project(case)),
                        json!({"name": format!("{n}号楼")}),
                    ),
                    &self.admin,
                )
                .await,
        );
        let unit = id_of(
            &self
                .send(
                    post(
                        &format!("/api/v1/buildings/{building}/units"),
                        json!({"floor": 2, "number": "201", "layout": "3室2厅", "gross_area": "89.37",
                               "inner_area": "77.37", "list_price": "1000000.00"}),
                    ),
                    &self.admin,
                )
                .await,
        );
        let customer = self.customer(case).await;
        id_of(
            &self.send(post("/api/v1/sales/contracts", self.deal_body(case, &unit, &customer)), self.agent(case)).await,
        );
        let areas = json!({"measured_gross_area": "90.37", "measured_inner_area": "78.00"});
        let r = self.send(put(&format!("/api/v1/units/{unit}/measured-areas"), areas), &self.admin).await;
        assert!(r.status.is_success(), "{}", r.text);
        (building, unit)
    }

    /// A contract's title case started by the admin, with the first step's
    /// documents received: (case, version).
    async fn title_case(&self, case: Case) -> (String, i64) {
        let contract = self.contract(case).await;
        let r = self
            .send(
                post("/api/v1/aftersales/service-cases", json!({"contract_id": contract, "kind": "title"})),
                &self.admin,
            )
            .await;
        let id = id_of(&r);
        let mut version = r.json()["version"].as_i64().unwrap();
        for d in r.json()["steps"][0]["documents"].as_array().unwrap() {
            let body = json!({"position": 0, "document": d["name"]});
            let r =
                self.send(post(&format!("/api/v1/aftersales/service-cases/{id}/documents"), body), &self.admin).await;
            assert!(r.status.is_success(), "{}", r.text);
            version = r.json()["version"].as_i64().unwrap();
        }
        (id, version)
    }

    /// A mortgage case started by hand by the admin on a fresh contract: (case, version).
    async fn mortgage_case(&self, case: Case) -> (String, i64) {
        let contract = self.contract(case).await;
        let body = json!({"contract_id": contract, "kind": "mortgage"});
        let r = self.send(post("/api/v1/aftersales/service-cases", body), &self.admin).await;
        (id_of(&r), r.json()["version"].as_i64().unwrap())
    }

    /// A draft compensation batch and its line: a fresh one for those who may
    /// change it, the shared one for the others.
    async fn compensation_batch(&self, case: Case, role: Role) -> (String, String) {
        if can(role, Permission::ManageAftersales) {
            let (building, _) = self.surveyed_building(case).await;
            self.batch_of(&building).await
        } else {
            let [_, _, batch, line] = self.shared_compensation(case).await;
            (batch, line)
        }
    }

    /// The case's shared compensation fixture (see `compensations`).
    async fn shared_compensation(&self, case: Case) -> [String; 4] {
        let made = self.compensations.lock().unwrap().iter().find(|(c, _)| *c == case).map(|(_, f)| f.clone());
        if let Some(fixture) = made {
            return fixture;
        }
        let (building, unit) = self.surveyed_building(case).await;
        let (batch, line) = self.batch_of(&building).await;
        let fixture = [building, unit, batch, line];
        self.compensations.lock().unwrap().push((case, fixture.clone()));
        fixture
    }

    /// A ready building of its own with one paid contract and its open
    /// handover: [building, contract, handover, booking token].
    async fn open_handover(&self, case: Case) -> [String; 4] {
        let n = self.n();
        let project = self.project(case).to_owned();
        let building = id_of(
            &self
                .send(
                    post(&format!("/api/v1/projects/{project}/buildings"), json!({"name": format!("交房{n}号楼")})),
                    &self.admin,
                )
                .await,
        );
        let contract = self.contract_in(case, &building).await;
        let r = self
            .send(
                post(&format!("/api/v1/buildings/{building}/handover-readiness"), json!({"ready_on": "2026-11-27"})),
                &self.admin,
            )
            .await;
        assert!(r.status.is_success(), "{}", r.text);
        let h = self.send(get(&format!("/api/v1/contracts/{contract}/handover")), &self.admin).await.json();
        let token = h["link"].as_str().unwrap().trim_start_matches("/handover/").to_owned();
        [building, contract, h["id"].as_str().unwrap().to_owned(), token]
    }

    /// A contract on a new unit of `building`, paid in full and audited.
    async fn contract_in(&self, case: Case, building: &str) -> String {
        let n = self.n();
        let unit = id_of(
            &self
                .send(
                    post(
                        &format!("/api/v1/buildings/{building}/units"),
                        json!({"floor": 1, "number": format!("{}", 100 + n), "layout": "3室2厅", "gross_area": "89.37",
                               "inner_area": "77.37", "list_price": "1000000.00"}),
                    ),
                    &self.admin,
                )
                .await,
        );
        let customer = self.customer(case).await;
        let contract = id_of(
            &self.send(post("/api/v1/sales/contracts", self.deal_body(case, &unit, &customer)), self.agent(case)).await,
        );
        let receipt = id_of(
            &self
                .send(
                    post(
                        "/api/v1/finance/receipts",
                        json!({"contract_id": contract, "amount": "1000000.00", "channel": "transfer",
                               "received_on": "2026-11-27"}),
                    ),
                    &self.admin,
                )
                .await,
        );
        self.audit(&receipt).await;
        contract
    }

    /// A paid contract in a ready building whose handover is not opened yet (signed after the declaration).
    async fn unopened_contract(&self, case: Case) -> String {
        let building = self.open_handover(case).await[0].clone();
        self.contract_in(case, &building).await
    }

    async fn slot_in(&self, building: &str) -> String {
        let day = self.app.services.clock.today() + chrono::Duration::days(3);
        let body = json!({"day": day, "period": format!("时段{}", self.n()), "capacity": 5});
        id_of(&self.send(post(&format!("/api/v1/buildings/{building}/handover-slots"), body), &self.admin).await)
    }

    /// An open handover whose buyer checked in with every document: the handover.
    async fn checked_in(&self, case: Case) -> String {
        let handover = self.open_handover(case).await[2].clone();
        let documents = json!({"documents": ["买受人身份证原件", "购房合同", "交房通知书"]});
        let r =
            self.send(post(&format!("/api/v1/aftersales/handovers/{handover}/check-in"), documents), &self.admin).await;
        assert!(r.status.is_success(), "{}", r.text);
        handover
    }

    /// A defect of a checked-in handover, open or already `rectified`.
    async fn defect(&self, case: Case, rectified: bool) -> String {
        let handover = self.checked_in(case).await;
        let body = json!({"room": "厨房", "item": "plumbing", "severity": "normal", "description": "水槽下渗水"});
        let defect = id_of(
            &self.send(post(&format!("/api/v1/aftersales/handovers/{handover}/defects"), body), &self.admin).await,
        );
        if rectified {
            let r =
                self.send(post(&format!("/api/v1/aftersales/defects/{defect}/rectify"), json!({})), &self.admin).await;
            assert!(r.status.is_success(), "{}", r.text);
        }
        defect
    }

    /// The case's handover done once and shared by the reading calls:
    /// [building, contract, handover, accepted defect, unit, booking token].
    async fn handed_over(&self, case: Case) -> [String; 6] {
        let made = self.handovers.lock().unwrap().iter().find(|(c, _)| *c == case).map(|(_, f)| f.clone());
        if let Some(fixture) = made {
            return fixture;
        }
        let [building, contract, handover, token] = self.open_handover(case).await;
        let documents = json!({"documents": ["买受人身份证原件", "购房合同", "交房通知书"]});
        let r =
            self.send(post(&format!("/api/v1/aftersales/handovers/{handover}/check-in"), documents), &self.admin).await;
        assert!(r.status.is_success(), "{}", r.text);
        let body = json!({"room": "主卧", "item": "decoration", "severity": "minor", "description": "踢脚线松动"});
        let defect = id_of(
            &self.send(post(&format!("/api/v1/aftersales/handovers/{handover}/defects"), body), &self.admin).await,
        );
        for (step, body) in [("rectify", json!({})), ("reinspect", json!({"accepted": true}))] {
            let r = self.send(post(&format!("/api/v1/aftersales/defects/{defect}/{step}"), body), &self.admin).await;
            assert!(r.status.is_success(), "{}", r.text);
        }
        let keys = json!({"keys": [{"name": "入户门钥匙", "count": 2}]});
        let r = self.send(post(&format!("/api/v1/aftersales/handovers/{handover}/complete"), keys), &self.admin).await;
        assert!(r.status.is_success(), "{}", r.text);
        let unit = r.json()["unit_id"].as_str().unwrap().to_owned();
        let fixture = [building, contract, handover, defect, unit, token];
        self.handovers.lock().unwrap().push((case, fixture.clone()));
        fixture
    }

    async fn batch_of(&self, building: &str) -> (String, String) {
        let r = self
            .send(post(&format!("/api/v1/buildings/{building}/compensation-batches"), json!({})), &self.admin)
            .await;
        (id_of(&r), r.json()["lines"][0]["id"].as_str().unwrap().to_owned())
    }

    async fn price_adjustment(&self, case: Case) -> String {
        let r = self
            .send(
                post(
                    &format!("/api/v1/projects/{}/price-adjustments", self.project(case)),
                    json!({"name": "上调1%", "building_id": self.building(case), "method": "percent", "value": "0.01"}),
                ),
                &self.admin,
            )
            .await;
        assert!(r.status.is_success(), "{}", r.text);
        r.json()["adjustment"]["id"].as_str().unwrap().to_owned()
    }

    async fn unit_file(&self, case: Case) -> String {
        let unit = self.unit(case).await;
        id_of(
            &self
                .send(
                    post_bytes(
                        &format!("/api/v1/units/{unit}/files?purpose=photo&file_name=p.png"),
                        PNG.to_vec(),
                        XLSX,
                    ),
                    &self.admin,
                )
                .await,
        )
    }

    /// Two registrations of one phone by the case's agent: the open duplicate record.
    async fn duplicate_record(&self, case: Case) -> String {
        let n = self.n();
        let phone = format!("137{n:08}");
        let mut ids = Vec::new();
        for name in ["甲", "乙"] {
            let body = json!({"name": format!("{name}{n}"), "phone": phone, "project_id": self.project(case)});
            ids.push(id_of(&self.send(post("/api/v1/customers", body), self.agent(case)).await));
        }
        let list = self.send(get("/api/v1/customers/duplicate-records?limit=500"), &self.admin).await.json();
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| ids.contains(&r["customer"]["id"].as_str().unwrap_or_default().to_owned()))
            .unwrap_or_else(|| panic!("no duplicate record in {list}"))["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn merge(&self, case: Case) -> String {
        let (kept, merged) = (self.customer(case).await, self.customer(case).await);
        id_of(
            &self
                .send(post(&format!("/api/v1/customers/{kept}/merge"), json!({"merged_id": merged})), &self.admin)
                .await,
        )
    }

    async fn user(&self, case: Case) -> String {
        let n = self.n();
        let r = self
            .send(
                post(
                    "/api/v1/admin/users",
                    json!({"username": format!("target{n}"), "password": format!("Pw-target-{n}-0123456789"),
                           "display_name": "目标", "roles": ["sales_agent"], "project_ids": [self.project(case)]}),
                ),
                &self.admin,
            )
            .await;
        id_of(&r)
    }

    /// A delegation by the caller (Own) or by another agent.
    async fn delegation(&self, case: Case, caller: &str) -> String {
        let (by, to) = match case {
            Case::Own => (caller, self.peer_agent.0.as_str()),
            Case::Peer => (self.peer_agent.1.as_str(), self.user_id_of(Role::SalesManager)),
            Case::Far => (self.far_agent.1.as_str(), self.user_id_of(Role::SalesManager)),
        };
        id_of(
            &self
                .send(
                    post(
                        "/api/v1/delegations",
                        json!({"to_user_id": to, "starts_on": "2026-01-01", "ends_on": "2099-01-01"}),
                    ),
                    by,
                )
                .await,
        )
    }

    /// A notification under the caller's bell (Own) or another user's.
    async fn notification(&self, case: Case, caller_id: &str) -> String {
        use loupan_service::platform::notifications::{Notice, notify};
        let user = match case {
            Case::Own => caller_id,
            Case::Peer => self.peer_agent.0.as_str(),
            Case::Far => self.far_agent.0.as_str(),
        };
        let before = self.notification_ids_of(user).await;
        let notice = Notice {
            kind: loupan_domain::platform::NotificationKind::ApprovalComment,
            title: "矩阵",
            title_said: None,
            body: "测试",
            link: "/approvals",
        };
        notify(self.app.services.store.conn(), &[user.into()], &notice).await.unwrap();
        self.notification_ids_of(user).await.into_iter().find(|id| !before.contains(id)).expect("a new notification")
    }

    async fn notification_ids_of(&self, user_id: &str) -> Vec<String> {
        let token = if user_id == self.peer_agent.0 {
            self.peer_agent.1.clone()
        } else if user_id == self.far_agent.0 {
            self.far_agent.1.clone()
        } else {
            self.callers.iter().find(|(_, id, _)| id == user_id).unwrap().2.clone()
        };
        let r = self.send(get("/api/v1/notifications"), &token).await;
        r.json()["items"].as_array().unwrap().iter().map(|n| n["id"].as_str().unwrap().to_owned()).collect()
    }

    async fn job(&self, case: Case) -> String {
        let sheet = {
            use loupan_documents::xlsx::{Cell, write_table};
            let headers: Vec<String> = ["姓名", "电话"].iter().map(|h| (*h).to_owned()).collect();
            let n = self.n();
            write_table("客户", &headers, &[vec![Cell::Text(format!("导入{n}")), Cell::Text(format!("136{n:08}"))]])
                .unwrap()
        };
        let path = format!("/api/v1/customers/import/jobs?project_id={}", self.project(case));
        id_of(&self.send(post_bytes(&path, sheet, XLSX), self.agent(case)).await)
    }

    /// A fresh top-level (leaf) cost item in the case's project.
    async fn cost_leaf(&self, case: Case) -> String {
        let n = self.n();
        let path = format!("/api/v1/cost/projects/{}/items", self.project(case));
        id_of(&self.send(post(&path, json!({"code": format!("X{n}"), "name": format!("科目{n}")})), &self.admin).await)
    }

    async fn supplier(&self) -> String {
        let n = self.n();
        let body = json!({"name": format!("供应商{n}"), "credit_code": credit_code(n)});
        id_of(&self.send(post("/api/v1/cost/suppliers", body), &self.admin).await)
    }

    async fn plan_line(&self, case: Case) -> String {
        let leaf = self.cost_leaf(case).await;
        let path = format!("/api/v1/cost/projects/{}/plan-lines", self.project(case));
        let body = json!({"cost_item_id": leaf, "name": "合约", "planned_amount": "100.00"});
        id_of(&self.send(post(&path, body), &self.admin).await)
    }

    fn contract_body(&self, line: &str, supplier: &str) -> Value {
        let n = self.n();
        json!({"code": format!("HT{n}"), "name": "合同", "supplier_id": supplier,
               "lines": [{"plan_line_id": line, "amount": "1.00"}]})
    }

    async fn cost_contract(&self, case: Case) -> String {
        let body = self.contract_body(&self.plan_line(case).await, &self.supplier().await);
        let path = format!("/api/v1/cost/projects/{}/contracts", self.project(case));
        id_of(&self.send(post(&path, body), &self.admin).await)
    }

    async fn target_version(&self, case: Case) -> String {
        let leaf = self.cost_leaf(case).await;
        let path = format!("/api/v1/cost/projects/{}/targets", self.project(case));
        let body = json!({"stage": "scheme", "lines": [{"cost_item_id": leaf, "amount": "10.00"}]});
        let r = self.send(post(&path, body), &self.admin).await;
        assert!(r.status.is_success(), "{}", r.text);
        r.json()["version"]["id"].as_str().unwrap().to_owned()
    }

    async fn variation(&self, case: Case) -> String {
        let leaf = self.cost_leaf(case).await;
        let path = format!("/api/v1/cost/projects/{}/variations", self.project(case));
        let body = json!({"kind": "visa", "cost_item_id": leaf, "reason": "签证", "estimated_amount": "5.00"});
        id_of(&self.send(post(&path, body), &self.admin).await)
    }

    /// A greeting template of the case's project.
    async fn notice_template(&self, case: Case) -> String {
        let body = json!({"kind": "greeting", "name": format!("问候{}", self.n()), "project_id": self.project(case),
                          "body": "尊敬的 {{ customer.name }}：节日快乐！"});
        id_of(&self.send(post("/api/v1/notices/templates", body), &self.admin).await)
    }

    /// A finished batch of greetings to one customer of the case's project, and that customer.
    async fn notice_batch(&self, case: Case) -> (String, String) {
        let (template, customer) = (self.notice_template(case).await, self.customer(case).await);
        let body = json!({"template_id": template, "project_id": self.project(case),
                          "audience": {"source": "customers", "customer_ids": [customer]}});
        let batch = id_of(&self.send(post("/api/v1/notices/batches", body), &self.admin).await);
        // Run until the batch is done: other routes queue webhook deliveries
        // before it (every contract signed for the matrix is one).
        for _ in 0..1000 {
            let ran = loupan_service::platform::jobs::run_due(&self.app.services, "matrix", chrono::Utc::now()).await;
            let status = self.send(get(&format!("/api/v1/notices/batches/{batch}")), &self.admin).await.json();
            if ran.unwrap() == 0 || status["status"] == "done" {
                break;
            }
        }
        (batch, customer)
    }

    /// What the case's agent's customer was sent.
    async fn notice_sending(&self, case: Case) -> String {
        let (_, customer) = self.notice_batch(case).await;
        let timeline = self.send(get(&format!("/api/v1/customers/{customer}/timeline")), &self.admin).await.json();
        timeline["items"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|e| e["facts"]["sending"].as_str())
            .unwrap_or_else(|| panic!("no sending on {timeline}"))
            .to_owned()
    }

    /// A registered case in the project of `case`.
    async fn service_case(&self, case: Case) -> String {
        let n = self.n();
        let body = json!({"project_id": self.project(case), "kind": "repair", "caller_name": "业主",
                          "description": format!("漏水 {n}")});
        id_of(&self.send(post("/api/v1/service/cases", body), &self.admin).await)
    }

    async fn questionnaire(&self, case: Case) -> String {
        let n = self.n();
        let body = json!({"project_id": self.project(case), "stage": "first_visit", "title": format!("问卷{n}"),
            "questions": [{"key": "heard", "text": "从哪里得知？", "kind": "single", "required": true,
                "options": [{"key": "ad", "label": "广告"}, {"key": "friend", "label": "朋友"}]}]});
        id_of(&self.send(post("/api/v1/questionnaires", body), &self.admin).await)
    }

    async fn case_category(&self) -> String {
        let n = self.n();
        id_of(&self.send(post("/api/v1/service/categories", json!({"name": format!("类别{n}")})), &self.admin).await)
    }

    async fn webhook(&self) -> String {
        let r = self
            .send(
                post(
                    "/api/v1/webhooks",
                    json!({"url": "https://hooks.example.com/loupan", "event_types": ["customer.created"]}),
                ),
                &self.admin,
            )
            .await;
        assert!(r.status.is_success(), "{}", r.text);
        r.json()["webhook"]["id"].as_str().unwrap().to_owned()
    }

    fn sheet(&self, headers: &[&str], row: Vec<String>) -> Vec<u8> {
        use loupan_documents::xlsx::{Cell, write_table};
        let headers: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
        write_table("表", &headers, &[row.into_iter().map(Cell::Text).collect()]).unwrap()
    }

    /// The request for one operation, with the records it needs made fresh for the case.
    async fn request(&self, op: &str, role: Role, case: Case, caller: (&str, &str)) -> Call {
        let (caller_id, token) = caller;
        let (method, path) = op.split_once(' ').unwrap();
        let p = self.project(case).to_owned();
        let n = self.n();
        let with = |id: &str| path.replace("{id}", id);
        let body = |path: String, body: Value| match method {
            "GET" => get(&path),
            "PUT" => put(&path, body),
            "PATCH" => patch(&path, body),
            "DELETE" => delete(&path),
            _ => post(&path, body),
        };
        match path {
            "/api/v1/auth/login" => post(
                path,
                json!({"username": format!("u_{}", role.name()), "password": format!("Pw-u_{}-0123456789", role.name())}),
            ),
            "/api/v1/auth/logout" => {
                // A session of its own, so the caller's token stays valid for the rest of the matrix.
                let fresh =
                    self.app.login(&format!("u_{}", role.name()), &format!("Pw-u_{}-0123456789", role.name())).await;
                post(path, json!({})).token(&fresh)
            }
            "/api/v1/notifications/{id}/read" => post(&with(&self.notification(case, caller_id).await), json!({})),
            "/api/v1/units/{id}/measured-areas" => put(
                &with(&self.unit(case).await),
                json!({"measured_gross_area": "90.00", "measured_inner_area": "78.00"}),
            ),
            "/api/v1/units/{id}/compensations" => get(&with(&self.shared_compensation(case).await[1])),
            "/api/v1/buildings/{id}/measured-areas/import" => {
                let headers = ["房号", "实测建筑面积", "实测套内面积"].map(str::to_owned);
                let bytes = loupan_documents::xlsx::write_table("实测面积", &headers, &[]).unwrap();
                post_bytes(&format!("{}?mode=validate", with(self.building(case))), bytes, XLSX)
            }
            "/api/v1/projects/{id}/settlement" => body(with(&p), json!({"due_days": 30})),
            "/api/v1/projects/{id}/compensation-batches" => get(&with(&p)),
            "/api/v1/aftersales/processes" if method == "POST" => post(
                path,
                json!({"kind": "registration", "name": format!("网签{n}"), "project_id": p,
                       "steps": [{"name": "网签", "role": "sales_agent", "due_days": 3}]}),
            ),
            "/api/v1/aftersales/processes/{id}" if method == "PUT" => {
                let r = self.send(get(&with("process-title")), &self.admin).await;
                let version = r.json()["versions"][0]["version"].clone();
                put(
                    &with("process-title"),
                    json!({"name": format!("办证{n}"), "start_event": "building_ready", "version": version,
                           "steps": [{"name": "领证", "role": "aftersales", "due_days": 30}]}),
                )
            }
            "/api/v1/aftersales/processes/{id}" => get(&with("process-handover")),
            "/api/v1/aftersales/service-cases" if method == "GET" => get(&format!("{path}?project_id={p}")),
            "/api/v1/aftersales/service-cases" => {
                post(path, json!({"contract_id": self.contract(case).await, "kind": "title"}))
            }
            "/api/v1/aftersales/service-cases/{id}" => get(&with(&self.title_case(case).await.0)),
            "/api/v1/contracts/{id}/service-cases" => get(&with(&self.contract(case).await)),
            "/api/v1/aftersales/service-cases/{id}/complete" => {
                let (id, version) = self.title_case(case).await;
                post(&with(&id), json!({"position": 0, "version": version}))
            }
            "/api/v1/aftersales/service-cases/{id}/documents" => {
                let (id, _) = self.title_case(case).await;
                post(&with(&id), json!({"position": 1, "document": "契税完税凭证"}))
            }
            "/api/v1/buildings/{id}/handover-readiness" => {
                post(&with(self.building(case)), json!({"ready_on": "2026-11-27"}))
            }
            "/api/v1/contracts/{id}/handover/check" => get(&with(&self.contract(case).await)),
            "/api/v1/contracts/{id}/handover" if method == "GET" => get(&with(&self.handed_over(case).await[1])),
            "/api/v1/contracts/{id}/handover" => post(&with(&self.unopened_contract(case).await), json!({})),
            "/api/v1/buildings/{id}/handovers" => get(&with(&self.handed_over(case).await[0])),
            "/api/v1/buildings/{id}/handover-slots" if method == "GET" => get(&with(&self.handed_over(case).await[0])),
            "/api/v1/buildings/{id}/handover-slots" => {
                let day = self.app.services.clock.today() + chrono::Duration::days(3);
                post(
                    &with(&self.handed_over(case).await[0]),
                    json!({"day": day, "period": format!("时段{n}"), "capacity": 5}),
                )
            }
            "/api/v1/aftersales/handovers/{id}" | "/api/v1/aftersales/handovers/{id}/record.pdf" => {
                get(&with(&self.handed_over(case).await[2]))
            }
            "/api/v1/aftersales/defects/{id}" => get(&with(&self.handed_over(case).await[3])),
            "/api/v1/units/{id}/warranty" => get(&with(&self.handed_over(case).await[4])),
            "/api/v1/aftersales/defects" => get(&format!("{path}?project_id={p}")),
            "/api/v1/projects/{id}/handover-rules" => body(with(&p), json!({"deadline_hours": {"urgent": 24}})),
            "/api/v1/aftersales/handovers/{id}/appointment" => {
                let [building, _, handover, _] = self.open_handover(case).await;
                let slot = self.slot_in(&building).await;
                post(&with(&handover), json!({"slot_id": slot}))
            }
            "/api/v1/aftersales/handovers/{id}/check-in" => {
                post(&with(&self.open_handover(case).await[2]), json!({"documents": ["购房合同"]}))
            }
            "/api/v1/aftersales/handovers/{id}/defects" => post(
                &with(&self.checked_in(case).await),
                json!({"room": "客厅", "item": "decoration", "severity": "minor", "description": "墙面污渍"}),
            ),
            "/api/v1/aftersales/handovers/{id}/complete" => post(
                &with(&self.checked_in(case).await),
                json!({"keys": [{"name": "入户门钥匙", "count": 2}], "meters": [{"meter": "水表", "reading": "1.5"}]}),
            ),
            "/api/v1/aftersales/defects/{id}/rectify" => {
                post(&with(&self.defect(case, false).await), json!({"note": "已修补"}))
            }
            "/api/v1/aftersales/defects/{id}/reinspect" => {
                post(&with(&self.defect(case, true).await), json!({"accepted": true}))
            }
            "/api/v1/aftersales/defects/{id}/photos" => post_bytes(
                &format!("{}?file_name=d.png", with(&self.defect(case, false).await)),
                PNG.to_vec(),
                "image/png",
            ),
            "/api/v1/handover-bookings/{token}" if method == "GET" => {
                get(&path.replace("{token}", &self.handed_over(case).await[5]))
            }
            "/api/v1/handover-bookings/{token}" => {
                let [building, _, _, token] = self.open_handover(case).await;
                let slot = self.slot_in(&building).await;
                post(&path.replace("{token}", &token), json!({"slot_id": slot}))
            }
            "/api/v1/aftersales/service-cases/{id}/disbursement" => {
                let (id, version) = self.mortgage_case(case).await;
                post(
                    &with(&id),
                    json!({"lender": "建设银行", "received_on": "2026-11-27", "amount": "1000.00", "version": version}),
                )
            }
            "/api/v1/aftersales/service-cases/{id}/cancel" => {
                let (id, version) = self.title_case(case).await;
                post(&with(&id), json!({"reason": "客户自办", "version": version}))
            }
            "/api/v1/buildings/{id}/compensation-batches" => {
                let building = if can(role, Permission::ManageAftersales) {
                    self.surveyed_building(case).await.0
                } else {
                    self.shared_compensation(case).await[0].clone()
                };
                post(&with(&building), json!({}))
            }
            "/api/v1/compensation-batches/{id}/lines/{line_id}" => {
                let (batch, line) = self.compensation_batch(case, role).await;
                patch(&with(&batch).replace("{line_id}", &line), json!({"homes_owned_before": 1}))
            }
            "/api/v1/compensation-batches/{id}" | "/api/v1/compensation-batches/{id}/export" => {
                get(&with(&self.shared_compensation(case).await[2]))
            }
            p2 if p2.starts_with("/api/v1/compensation-batches/{id}") => {
                body(with(&self.compensation_batch(case, role).await.0), json!({}))
            }
            "/api/v1/notices/templates" if method == "GET" => get(path),
            "/api/v1/notices/templates" => {
                post(path, json!({"kind": "free", "name": format!("函件{n}"), "body": "尊敬的 {{ customer.name }}："}))
            }
            "/api/v1/notices/fields" => get(&format!("{path}?kind=payment_reminder")),
            "/api/v1/notices/care" if method == "PUT" => put(path, json!({"templates": {"birthday": null}})),
            "/api/v1/notices/care" => get(path),
            "/api/v1/notices/templates/{id}" if method == "PUT" => put(
                &with(&self.notice_template(case).await),
                json!({"kind": "greeting", "name": "问候", "body": "{{ customer.name }}，新年好！"}),
            ),
            "/api/v1/notices/pictures" => post_bytes(path, PNG.to_vec(), "image/png"),
            "/api/v1/notices/templates/{id}/preview" | "/api/v1/notices/templates/{id}/preview.pdf" => {
                let (template, customer) = (self.notice_template(case).await, self.customer(case).await);
                post(&with(&template), json!({"customer_id": customer}))
            }
            p2 if p2.starts_with("/api/v1/notices/templates/{id}") => get(&with(&self.notice_template(case).await)),
            "/api/v1/notices/batches" if method == "GET" => get(path),
            "/api/v1/notices/batches" | "/api/v1/notices/batches/preview" => {
                let template = self.notice_template(Case::Own).await;
                // A company-wide template: only the project and the customer differ by case.
                let r = self
                    .send(
                        put(
                            &format!("/api/v1/notices/templates/{template}"),
                            json!({"kind": "greeting", "name": "全公司问候", "body": "{{ customer.name }}，您好！"}),
                        ),
                        &self.admin,
                    )
                    .await;
                let template = id_of(&r);
                let customer = self.customer(case).await;
                post(
                    path,
                    json!({"template_id": template, "project_id": p,
                           "audience": {"source": "customers", "customer_ids": [customer]}}),
                )
            }
            p2 if p2.starts_with("/api/v1/notices/batches/{id}") => get(&with(&self.notice_batch(case).await.0)),
            "/api/v1/notices/sendings/{id}" => get(&with(&self.notice_sending(case).await)),
            "/api/v1/notices/smtp" if method == "PUT" => put(path, smtp_settings()),
            "/api/v1/notices/letterhead" if method == "PUT" => put(path, json!({"name": "翠湖置业有限公司"})),
            "/api/v1/notices/smtp" | "/api/v1/notices/smtp/test" => {
                // Set up first, so that only the caller's right decides.
                let r = self.send(put("/api/v1/notices/smtp", smtp_settings()), &self.admin).await;
                assert!(r.status.is_success(), "{}", r.text);
                if method == "GET" { get(path) } else { post(path, json!({"to": "test@example.cn"})) }
            }
            "/api/v1/notices/sms/replies/{token}" => {
                let r = self.send(put("/api/v1/notices/sms", sms_settings()), &self.admin).await;
                assert!(r.status.is_success(), "{}", r.text);
                let reply = r.json()["reply_path"].as_str().unwrap().to_owned();
                post(&reply, json!([{"phone_number": "13900000000", "content": "你好"}]))
            }
            "/api/v1/notices/sms" if method == "PUT" => put(path, sms_settings()),
            "/api/v1/notices/sms" | "/api/v1/notices/sms/test" => {
                let r = self.send(put("/api/v1/notices/sms", sms_settings()), &self.admin).await;
                assert!(r.status.is_success(), "{}", r.text);
                if method == "GET" { get(path) } else { post(path, json!({"phone": "13800138000"})) }
            }
            "/api/v1/service/cases" if method == "GET" => get(&format!("{path}?project_id={p}")),
            "/api/v1/service/surveys" if method == "POST" => {
                post(path, json!({"contract_id": self.contract(case).await}))
            }
            "/api/v1/service/surveys" | "/api/v1/service/surveys/report" => get(&format!("{path}?project_id={p}")),
            "/api/v1/service/reports/sla" | "/api/v1/service/reports/sla/export" => {
                get(&format!("{path}?project_id={p}"))
            }
            "/api/v1/service/cases" => post(
                path,
                json!({"project_id": p, "kind": "complaint", "caller_name": "业主", "description": format!("噪音 {n}")}),
            ),
            "/api/v1/service/cases/{id}" => get(&with(&self.service_case(case).await)),
            "/api/v1/service/cases/{id}/files" if method == "POST" => post_bytes(
                &format!("{}?file_name=leak.png", with(&self.service_case(case).await)),
                PNG.to_vec(),
                "image/png",
            ),
            "/api/v1/service/cases/{id}/files" => get(&with(&self.service_case(case).await)),
            "/api/v1/service/cases/{id}/actions" => post(
                &with(&self.service_case(case).await),
                json!({"action": "assign", "assignee_id": self.user_id_of(Role::Admin)}),
            ),
            "/api/v1/service/cases/{id}/link" => {
                let (service_case, customer) = (self.service_case(case).await, self.customer(case).await);
                post(&with(&service_case), json!({"customer_id": customer}))
            }
            "/api/v1/projects/{id}/reception/lookup" => get(&format!("{}?q=13800138000", with(&p))),
            "/api/v1/projects/{id}/reception" => get(&with(&p)),
            "/api/v1/projects/{id}/reception/queue" => put(&with(&p), json!({"agent_ids": []})),
            "/api/v1/reception/visits" => post(
                path,
                json!({"project_id": p, "customer_id": self.customer(case).await, "note": format!("到访 {n}")}),
            ),
            "/api/v1/reception/visits/{id}/end" => {
                let body = json!({"project_id": p, "customer_id": self.customer(case).await});
                let visit = self.send(post("/api/v1/reception/visits", body), &self.admin).await;
                post(&with(&id_of(&visit)), json!({}))
            }
            "/api/v1/customers/cross-analysis" => get(&format!("{path}?rows=grade&columns=source")),
            "/api/v1/questionnaires" if method == "GET" => get(&format!("{path}?project_id={p}")),
            "/api/v1/questionnaires" => post(
                path,
                json!({"project_id": p, "stage": "brand", "title": format!("品牌调查{n}"),
                    "questions": [{"key": "score", "text": "评分", "kind": "scale5"}]}),
            ),
            "/api/v1/questionnaires/{id}" if method == "PATCH" => {
                let id = self.questionnaire(case).await;
                patch(&with(&id), json!({"revision": 1, "title": format!("改名{n}")}))
            }
            "/api/v1/questionnaires/{id}/responses" if method == "POST" => {
                let (id, customer) = (self.questionnaire(case).await, self.customer(case).await);
                post(&with(&id), json!({"customer_id": customer, "answers": {"heard": "ad"}}))
            }
            "/api/v1/questionnaires/{id}/links" => {
                let (id, customer) = (self.questionnaire(case).await, self.customer(case).await);
                post(&with(&id), json!({"customer_id": customer}))
            }
            "/api/v1/questionnaires/{id}/cross-analysis" | "/api/v1/questionnaires/{id}/cross-analysis/export" => {
                get(&format!("{}?rows=grade&columns=q.heard", with(&self.questionnaire(case).await)))
            }
            p2 if p2.starts_with("/api/v1/questionnaires/{id}") => get(&with(&self.questionnaire(case).await)),
            "/api/v1/service/settings" if method == "PUT" => put(path, json!({"reopen_days": 15})),
            "/api/v1/service/calendar/{year}" if method == "PUT" => put(
                &path.replace("{year}", "2026"),
                json!([{"date": "2026-10-01", "working": false, "name": "国庆节"}]),
            ),
            "/api/v1/service/calendar/{year}" => get(&path.replace("{year}", "2026")),
            "/api/v1/service/categories" if method == "POST" => post(path, json!({"name": format!("类别{n}")})),
            "/api/v1/projects/{id}/case-rules" if method == "POST" => {
                let category = self.case_category().await;
                post(&with(&p), json!({"category_id": category, "handler_ids": [self.user_id_of(Role::Admin)]}))
            }
            "/api/v1/projects/{id}/case-rules" => get(&with(&p)),
            "/api/v1/case-rules/{id}" => {
                let category = self.case_category().await;
                let r = self
                    .send(
                        post(
                            &format!("/api/v1/projects/{p}/case-rules"),
                            json!({"category_id": category, "handler_ids": [self.user_id_of(Role::Admin)]}),
                        ),
                        &self.admin,
                    )
                    .await;
                delete(&with(&id_of(&r)))
            }
            "/api/v1/aftersales/area-compensation/calculate" => post(
                path,
                json!({"rule": "2001", "contract_total": "2000000.00", "contract_area": "100.00", "measured_area": "95.00"}),
            ),
            "/api/v1/aftersales/deed-tax/calculate" => {
                post(path, json!({"price": "3000000.00", "gross_area": "144.00", "homes_owned_before": 0}))
            }
            "/api/v1/delegations" if method == "POST" => {
                post(path, json!({"to_user_id": self.peer_agent.0, "starts_on": "2026-01-01", "ends_on": "2026-12-31"}))
            }
            "/api/v1/delegations/{id}" => delete(&with(&self.delegation(case, token).await)),
            "/api/v1/customers/saved-filters" if method == "POST" => {
                post(path, json!({"name": format!("A级{n}"), "query": "grade=A&source=网络"}))
            }
            "/api/v1/customers/saved-filters/{id}" => {
                // The caller's own filter (one of the peer's when the caller may not keep any).
                let owner = match case {
                    Case::Own if can(role, Permission::ReadCustomers) => token,
                    Case::Own | Case::Peer => self.peer_agent.1.as_str(),
                    Case::Far => self.far_agent.1.as_str(),
                };
                let body = json!({"name": format!("筛选{n}"), "query": "grade=A"});
                delete(&with(&id_of(&self.send(post("/api/v1/customers/saved-filters", body), owner).await)))
            }
            "/api/v1/admin/audit" | "/api/v1/admin/audit/verify" | "/api/v1/admin/users" if method == "GET" => {
                get(path)
            }
            "/api/v1/admin/users" => post(
                path,
                json!({"username": format!("new{n}"), "password": format!("Pw-new-{n}-0123456789"),
                       "display_name": "新人", "roles": ["sales_agent"], "project_ids": [p]}),
            ),
            "/api/v1/admin/users/{id}" if method == "PATCH" => {
                let id = self.user(case).await;
                let user = self.send(get(&format!("/api/v1/admin/users/{id}")), &self.admin).await.json();
                patch(
                    &with(&id),
                    json!({"version": user["version"], "display_name": "目标", "roles": ["sales_agent", "marketing"]}),
                )
            }
            "/api/v1/admin/users/{id}/password" => {
                post(&with(&self.user(case).await), json!({"password": "A-new-password-0123456789"}))
            }
            "/api/v1/admin/users/{id}" | "/api/v1/admin/users/{id}/disable" | "/api/v1/admin/users/{id}/enable" => {
                body(with(&self.user(case).await), json!({}))
            }
            "/api/v1/approval-flows" => get(path),
            "/api/v1/approval-flows/{kind}" if method == "GET" => get(&path.replace("{kind}", "special_discount")),
            "/api/v1/approval-flows/{kind}" => put(
                &path.replace("{kind}", "special_discount"),
                json!({"steps": [{"name": "销售经理审批", "approvers": {"type": "role", "role": "sales_manager"}}]}),
            ),
            "/api/v1/approvals" => get(path),
            "/api/v1/approvals/{id}/attachments/{attachment_id}" => {
                let (approval, attachment) = self.attachment(case).await;
                get(&with(&approval).replace("{attachment_id}", &attachment))
            }
            "/api/v1/approvals/{id}/attachments" => {
                post_bytes(&format!("{}?file_name=b.png", with(&self.approval(case).await)), PNG.to_vec(), "image/png")
            }
            "/api/v1/approvals/{id}/resubmit" => {
                // Returned by the manager first, so that resubmitting is possible.
                let id = self.approval(case).await;
                let manager = if case == Case::Far {
                    self.app.login("far_manager", "Pw-far_manager-0123456789").await
                } else {
                    self.token_of(Role::SalesManager).to_owned()
                };
                let r = self
                    .send(post(&format!("/api/v1/approvals/{id}/return"), json!({"comment": "补充材料"})), &manager)
                    .await;
                assert_eq!(r.status, StatusCode::OK, "{}", r.text);
                post(&with(&id), json!({"comment": "已补充"}))
            }
            p if p.starts_with("/api/v1/approvals/{id}") => {
                body(with(&self.approval(case).await), json!({"comment": "意见"}))
            }
            "/api/v1/projects" if method == "GET" => get(path),
            "/api/v1/projects" => post(path, json!({"name": format!("新项目{n}"), "city": "苏州"})),
            "/api/v1/projects/{id}/buildings" => body(with(&p), json!({"name": format!("{n}号楼")})),
            "/api/v1/projects/{id}/site-plan" => {
                post_bytes(&format!("{}?file_name=plan.png", with(&p)), PNG.to_vec(), "image/png")
            }
            "/api/v1/projects/{id}/units/import" => {
                let sheet = self.sheet(
                    &["楼栋", "单元号", "房号", "楼层", "户型", "建筑面积", "套内面积", "表价"],
                    vec![
                        "1号楼".into(),
                        "1".into(),
                        format!("{}", 5000 + n),
                        "5".into(),
                        "3室2厅".into(),
                        "89.37".into(),
                        "77.37".into(),
                        "1000000.00".into(),
                    ],
                );
                post_bytes(&format!("{}?mode=validate", with(&p)), sheet, XLSX)
            }
            "/api/v1/projects/{id}/discount-limit" => put(&with(&p), json!({"agent_discount_limit": "0.01"})),
            "/api/v1/projects/{id}/grade-rules" if method == "PUT" => {
                put(&with(&p), json!({"rules": [{"grade": "A", "conditions": {"min_visits": 2}}, {"grade": "C"}]}))
            }
            "/api/v1/projects/{id}/grade-rules/apply" => post(&with(&p), json!({})),
            "/api/v1/projects/{id}/payment-methods" if method == "POST" => post(
                &with(&p),
                json!({"name": format!("方式{n}"), "kind": "one_off", "discount": "0.01",
                       "terms": [{"kind": "down_payment", "ratio": "1", "days_after_signing": 0}]}),
            ),
            "/api/v1/projects/{id}/price-adjustments" if method == "POST" => post(
                &with(&p),
                json!({"name": "上调1%", "building_id": self.building(case), "method": "percent", "value": "0.01"}),
            ),
            p2 if p2.starts_with("/api/v1/projects/{id}") => get(&with(&p)),
            "/api/v1/buildings/{id}" if method == "PATCH" => {
                patch(&with(self.building(case)), json!({"gross_floor_area": format!("{}.00", 10_000 + n)}))
            }
            "/api/v1/buildings/{id}" => get(&with(self.building(case))),
            "/api/v1/buildings/{id}/region" => {
                put(&with(self.building(case)), json!({"x": 100, "y": 100, "w": 100, "h": 100}))
            }
            "/api/v1/buildings/{id}/units" => post(
                &with(self.building(case)),
                json!({"floor": 2, "number": format!("{}", 2000 + n), "layout": "2室", "gross_area": "70.00",
                       "inner_area": "60.00", "list_price": "800000.00"}),
            ),
            "/api/v1/buildings/{id}/units/generate" => {
                // A building of its own for each call, so generated numbers never collide.
                let b = id_of(
                    &self
                        .send(
                            post(&format!("/api/v1/projects/{p}/buildings"), json!({"name": format!("G{n}")})),
                            &self.admin,
                        )
                        .await,
                );
                post(
                    &with(&b),
                    json!({"from_floor": 1, "to_floor": 2, "stacks": [{"layout": "3室", "gross_area": "90.00", "inner_area": "80.00", "unit_price": "15000"}]}),
                )
            }
            "/api/v1/units" | "/api/v1/units/export" => get(&format!("{path}?project_id={p}")),
            "/api/v1/units/bulk-edit" => post(path, json!({"unit_ids": [self.unit(case).await], "layout": "4室"})),
            "/api/v1/units/{id}/files" if method == "POST" => post_bytes(
                &format!("{}?purpose=photo&file_name=x.png", with(&self.unit(case).await)),
                PNG.to_vec(),
                "image/png",
            ),
            "/api/v1/units/{id}/price-limits" => {
                get(&format!("{}?payment_method_id={}", with(&self.unit(case).await), self.method(case)))
            }
            "/api/v1/units/{id}/hold" | "/api/v1/units/{id}/release" => {
                let unit = self.unit(case).await;
                if path.ends_with("release") {
                    let r = self
                        .send(post(&format!("/api/v1/units/{unit}/hold"), json!({"reason": "保留"})), &self.admin)
                        .await;
                    assert!(r.status.is_success(), "{}", r.text);
                }
                post(&with(&unit), json!({"reason": "销控"}))
            }
            p2 if p2.starts_with("/api/v1/units/{id}") => get(&with(&self.unit(case).await)),
            "/api/v1/files/{id}" => body(with(&self.unit_file(case).await), json!({})),
            "/api/v1/price-adjustments/{id}/submit" => post(&with(&self.price_adjustment(case).await), json!({})),
            p2 if p2.starts_with("/api/v1/price-adjustments/{id}") => get(&with(&self.price_adjustment(case).await)),

            "/api/v1/customers" if method == "GET" => get(&format!("{path}?project_id={p}")),
            "/api/v1/customers/export" => get(&format!("{path}?project_id={p}")),
            "/api/v1/customers" => {
                post(path, json!({"name": format!("新客{n}"), "phone": format!("135{n:08}"), "project_id": p}))
            }
            "/api/v1/customers/duplicate-check" => get(&format!("{path}?project_id={p}&phone=13800138000")),
            "/api/v1/customers/import" => post_bytes(
                &format!("{path}?project_id={p}&mode=check"),
                self.sheet(&["姓名", "电话"], vec![format!("表客{n}"), format!("134{n:08}")]),
                XLSX,
            ),
            "/api/v1/customers/import/jobs" => post_bytes(
                &format!("{path}?project_id={p}"),
                self.sheet(&["姓名", "电话"], vec![format!("表客{n}"), format!("133{n:08}")]),
                XLSX,
            ),
            "/api/v1/customers/duplicate-records" => get(path),
            "/api/v1/customers/duplicate-records/{id}/rule" => {
                post(&with(&self.duplicate_record(case).await), json!({"ruling": "keep_both", "note": "不同人"}))
            }
            "/api/v1/customers/transfer" => {
                let c = self.customer(case).await;
                let to = if case == Case::Far { self.far_agent.0.clone() } else { self.peer_agent.0.clone() };
                post(path, json!({"customer_ids": [c], "to_agent": to}))
            }
            "/api/v1/customers/{id}/merge" => {
                let (kept, merged) = (self.customer(case).await, self.customer(case).await);
                post(&with(&kept), json!({"merged_id": merged}))
            }
            "/api/v1/customer-merges/{id}/undo" => post(&with(&self.merge(case).await), json!({})),
            "/api/v1/customers/{id}/follow-ups" if method == "POST" => post(
                &with(&self.customer(case).await),
                json!({"kind": "visit", "outcome": "看样板间", "next_contact_on": "2026-12-01"}),
            ),
            "/api/v1/customers/{id}/reveal" => post(&with(&self.customer(case).await), json!({"reason": "核对身份"})),
            "/api/v1/customers/{id}/marketing-consent" => {
                post(&with(&self.customer(case).await), json!({"opted_out": true}))
            }
            "/api/v1/customers/{id}" if method == "PATCH" => patch(
                &with(&self.customer(case).await),
                json!({"version": 1, "notes": "改约周六", "budget": "3000000"}),
            ),
            p2 if p2.starts_with("/api/v1/customers/{id}") => get(&with(&self.customer(case).await)),

            "/api/v1/sales/reservations" => {
                let (unit, customer) = (self.unit(case).await, self.customer(case).await);
                post(path, json!({"unit_id": unit, "customer_id": customer, "days": 3}))
            }
            "/api/v1/sales/subscriptions"
            | "/api/v1/sales/contracts"
            | "/api/v1/sales/subscriptions/special-discount"
                if method == "POST" =>
            {
                let (unit, customer) = (self.unit(case).await, self.customer(case).await);
                let mut b = self.deal_body(case, &unit, &customer);
                if path.ends_with("special-discount") {
                    b["total_price"] = json!("950000.00");
                    b["reason"] = json!("团购");
                }
                post(path, b)
            }
            "/api/v1/sales/subscriptions"
            | "/api/v1/sales/subscriptions/export"
            | "/api/v1/sales/contracts"
            | "/api/v1/sales/contracts/export" => {
                // A deal in the case's project, so that the list finds something.
                self.contract(case).await;
                get(&format!("{path}?project_id={p}"))
            }
            "/api/v1/sales/subscriptions/{id}" | "/api/v1/sales/subscriptions/{id}/letter.pdf" => {
                get(&with(&self.subscription(case).await))
            }
            "/api/v1/sales/contracts/{id}"
            | "/api/v1/sales/contracts/{id}/payment-plan"
            | "/api/v1/sales/deals/{id}/buyers" => get(&with(&self.contract(case).await)),
            "/api/v1/sales/changes" if method == "GET" => get(path),
            "/api/v1/sales/changes" => post(
                path,
                json!({"kind": "cancel_contract", "subject_id": self.contract(case).await, "reason": "客户资金问题"}),
            ),

            "/api/v1/finance/receipts" if method == "GET" => {
                get(&format!("{path}?contract_id={}", self.contract(case).await))
            }
            "/api/v1/finance/receipts" => post(
                path,
                json!({"contract_id": self.contract(case).await, "amount": "500.00", "channel": "cash",
                       "received_on": "2026-11-27"}),
            ),
            "/api/v1/finance/receipts/{id}/audit" => {
                let id = self.receipt(case).await;
                let r = self.send(post(&format!("/api/v1/finance/receipts/{id}/arrive"), json!({})), &self.admin).await;
                assert!(r.status.is_success(), "{}", r.text);
                post(&with(&id), json!({}))
            }
            "/api/v1/finance/receipts/{id}/arrive" => post(&with(&self.receipt(case).await), json!({})),
            "/api/v1/finance/receipts/{id}" => get(&with(&self.receipt(case).await)),
            "/api/v1/finance/refunds" => get(path),
            "/api/v1/finance/receipts/{id}/reverse" => {
                post(&with(&self.receipt(case).await), json!({"reason": "录入错误"}))
            }
            "/api/v1/finance/deposit-transfers" => {
                post(path, json!({"contract_id": self.contract_with_deposit(case).await}))
            }
            "/api/v1/finance/refunds/{id}/pay" => {
                post(&with(&self.refund(case).await), json!({"paid_on": "2026-11-27", "channel": "transfer"}))
            }
            "/api/v1/finance/refunds/{id}/audit" => {
                let id = self.refund(case).await;
                let pay = json!({"paid_on": "2026-11-27", "channel": "transfer"});
                let r = self.send(post(&format!("/api/v1/finance/refunds/{id}/pay"), pay), &self.admin).await;
                assert!(r.status.is_success(), "{}", r.text);
                post(&with(&id), json!({}))
            }
            "/api/v1/finance/receipt-books" if method == "GET" => get(&format!("{path}?project_id={p}")),
            p2 if p2.starts_with("/api/v1/finance/queries/") => {
                // A receipt and a plan in the case's project, so that the search finds something.
                self.receipt(case).await;
                get(&format!("{path}?project_id={p}"))
            }
            "/api/v1/finance/receipt-books" => {
                let n = self.n();
                post(path, json!({"project_id": p, "prefix": format!("M{n}-"), "first_number": 1, "last_number": 50}))
            }
            "/api/v1/finance/receipt-books/{id}" => get(&with(&self.receipt_book(case).await)),
            "/api/v1/finance/receipt-books/{id}/void" => {
                post(&with(&self.receipt_book(case).await), json!({"reason": "填错作废"}))
            }
            p2 if p2.starts_with("/api/v1/finance/reports/") => get(&format!("{path}?as_of=2026-11-27&project_id={p}")),
            "/api/v1/payment-methods/{id}" if method == "GET" => get(&with(self.method(case))),
            "/api/v1/payment-methods/{id}" => {
                let n = self.n();
                put(
                    &with(&self.fresh_method(case).await),
                    json!({"version": 1, "name": format!("改{n}"), "kind": "one_off", "terms": [{"kind": "down_payment", "ratio": "1"}]}),
                )
            }
            "/api/v1/payment-methods/{id}/retire" => post(&with(&self.fresh_method(case).await), json!({"version": 1})),
            "/api/v1/finance/settings/ageing-buckets" if method == "GET" => get(&format!("{path}?project_id={p}")),
            "/api/v1/finance/settings/ageing-buckets" => {
                put(&format!("{path}?project_id={p}"), json!({"limits": [30, 60, 90]}))
            }
            "/api/v1/buildings/{id}/finance-chart"
            | "/api/v1/buildings/{id}/chart"
            | "/api/v1/buildings/{id}/service-board"
            | "/api/v1/buildings/{id}/chart.pdf" => get(&with(self.building(case))),

            "/api/v1/cost/template/items" if method == "POST" => {
                post(path, json!({"code": format!("T{n}"), "name": format!("模板科目{n}")}))
            }
            "/api/v1/cost/suppliers" if method == "POST" => {
                post(path, json!({"name": format!("供应商{n}"), "credit_code": credit_code(n)}))
            }
            "/api/v1/cost/suppliers/{id}"
            | "/api/v1/cost/suppliers/{id}/blacklist"
            | "/api/v1/cost/suppliers/{id}/unblacklist" => body(with(&self.supplier().await), json!({})),
            "/api/v1/cost/projects/{id}/items" if method == "POST" => {
                post(&with(&p), json!({"code": format!("Y{n}"), "name": format!("新科目{n}")}))
            }
            "/api/v1/cost/items/{id}" => patch(&with(&self.cost_leaf(case).await), json!({"name": "改名"})),
            "/api/v1/cost/items/{id}/postings" => get(&with(&self.cost_leaf(case).await)),
            "/api/v1/cost/projects/{id}/targets" if method == "POST" => {
                let leaf = self.cost_leaf(case).await;
                post(&with(&p), json!({"stage": "scheme", "lines": [{"cost_item_id": leaf, "amount": "1.00"}]}))
            }
            "/api/v1/cost/targets/{id}" | "/api/v1/cost/targets/{id}/adopt" => {
                body(with(&self.target_version(case).await), json!({}))
            }
            "/api/v1/cost/targets/compare" => {
                let (a, b) = (self.target_version(case).await, self.target_version(case).await);
                get(&format!("{path}?from={a}&to={b}"))
            }
            "/api/v1/cost/projects/{id}/plan-lines" if method == "POST" => {
                let leaf = self.cost_leaf(case).await;
                post(&with(&p), json!({"cost_item_id": leaf, "name": "合约", "planned_amount": "10.00"}))
            }
            "/api/v1/cost/projects/{id}/contracts" if method == "POST" => {
                post(&with(&p), self.contract_body(&self.plan_line(case).await, &self.supplier().await))
            }
            "/api/v1/cost/contracts/{id}" | "/api/v1/cost/contracts/{id}/impact" => {
                get(&with(&self.cost_contract(case).await))
            }
            "/api/v1/cost/projects/{id}/variations" if method == "POST" => {
                let leaf = self.cost_leaf(case).await;
                post(
                    &with(&p),
                    json!({"kind": "change", "cost_item_id": leaf, "reason": "变更", "estimated_amount": "1.00"}),
                )
            }
            "/api/v1/cost/contracts/{id}/files" if method == "POST" => post_bytes(
                &format!("{}?file_name=scan.pdf", with(&self.cost_contract(case).await)),
                b"%PDF-1.4\n".to_vec(),
                "application/pdf",
            ),
            "/api/v1/cost/variations/{id}/files" if method == "POST" => post_bytes(
                &format!("{}?file_name=site.png", with(&self.variation(case).await)),
                PNG.to_vec(),
                "image/png",
            ),
            "/api/v1/cost/contracts/{id}/files" => get(&with(&self.cost_contract(case).await)),
            "/api/v1/cost/variations/{id}/files" => get(&with(&self.variation(case).await)),
            "/api/v1/cost/variations/{id}" => get(&with(&self.variation(case).await)),
            "/api/v1/cost/variations/{id}/confirm" => {
                post(&with(&self.variation(case).await), json!({"confirmed_amount": "4.00"}))
            }
            "/api/v1/cost/projects/{id}/expected" => {
                let leaf = self.cost_leaf(case).await;
                post(&with(&p), json!({"cost_item_id": leaf, "amount": "1.00", "reason": "预估"}))
            }
            "/api/v1/cost/projects/{id}/trial-calculation" => {
                // From the other project the caller sees (a far caller sees neither).
                let other = if case == Case::Far { self.home.clone() } else { self.far.clone() };
                post(&with(&p), json!({"source_project_ids": [other]}))
            }
            // A month of its own per call (a month is reported once), long past and without postings.
            "/api/v1/cost/projects/{id}/reports" if method == "POST" => {
                post(&with(&p), json!({"month": format!("{:04}-{:02}", 1000 + n / 12, n % 12 + 1)}))
            }
            "/api/v1/cost/projects/{id}/items/import" | "/api/v1/cost/template/items/import" => {
                let sheet = self.sheet(&["科目编码", "科目名称"], vec![format!("Z{n}"), "导入科目".to_owned()]);
                post_bytes(&with(&p), sheet, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            }
            "/api/v1/cost/plan-lines/{id}/adjustments" => {
                post(&with(&self.plan_line(case).await), json!({"planned_amount": "250.00", "reason": "规划调整"}))
            }
            "/api/v1/cost/projects/{id}/reports/draft" => get(&format!("{}?month=2020-01", with(&p))),
            "/api/v1/cost/projects/{id}/reports/{month}" => {
                let month = format!("{:04}-{:02}", 1000 + n / 12, n % 12 + 1);
                let r = self.send(post(&with(&p).replace("/{month}", ""), json!({"month": month})), &self.admin).await;
                assert!(r.status.is_success(), "{}", r.text);
                get(&with(&p).replace("{month}", &month))
            }
            "/api/v1/cost/projects/{id}/reports/{month}/export" => {
                let month = format!("{:04}-{:02}", 1000 + n / 12, n % 12 + 1);
                let issue = with(&p).replace("/{month}/export", "");
                let r = self.send(post(&issue, json!({"month": month})), &self.admin).await;
                assert!(r.status.is_success(), "{}", r.text);
                get(&with(&p).replace("{month}", &month))
            }
            cost if cost.starts_with("/api/v1/cost/projects/{id}/") => body(with(&p), json!({})),

            "/api/v1/jobs" => get(path),
            "/api/v1/jobs/{id}" => get(&with(&self.job(case).await)),
            "/api/v1/jobs/{id}/retry" => post(&with(&self.job(case).await), json!({})),
            "/api/v1/webhooks" if method == "GET" => get(path),
            "/api/v1/webhooks" => {
                post(path, json!({"url": "https://hooks.example.com/x", "event_types": ["contract.signed"]}))
            }
            p2 if p2.starts_with("/api/v1/webhooks/{id}") => body(with(&self.webhook().await), json!({})),
            // Routes about the caller alone (me, workbench, notifications, delegations list).
            plain if !plain.contains('{') => body(plain.to_owned(), json!({})),
            other => panic!("no request for {method} {other}: add one to World::request"),
        }
    }
}

/// Whether the answer is the one expected. Allowed calls must succeed outright (the requests
/// are valid), so that a 422 or 409 never passes for an authorisation decision.
fn answers(want: Expect, op: &str, r: &Reply) -> bool {
    let s = r.status;
    match want {
        // A machine without a Chinese font says so instead of printing a letter (tests/sales.rs).
        Expect::Allowed if op.ends_with(".pdf") && !loupan_documents::pdf::available() => {
            s == StatusCode::SERVICE_UNAVAILABLE && r.json()["code"] == "pdf_font_missing"
        }
        Expect::Allowed if op.starts_with("GET ") => s.is_success(),
        // Retrying a job that has not failed is a state conflict, answered once the right is checked.
        Expect::Allowed if op == "POST /api/v1/jobs/{id}/retry" => s == StatusCode::CONFLICT,
        // A trial calculation needs a finished project the caller sees besides
        // this one, and units here; a member of one project has neither, so
        // past the right and the path's project the answer is the field error.
        Expect::Allowed if op == "POST /api/v1/cost/projects/{id}/trial-calculation" => {
            s.is_success() || s == StatusCode::UNPROCESSABLE_ENTITY
        }
        // A project's tree is copied once; later copies are a state conflict.
        Expect::Allowed if op == "POST /api/v1/cost/projects/{id}/items/from-template" => {
            s.is_success() || s == StatusCode::CONFLICT
        }
        Expect::Allowed => s.is_success(),
        Expect::Forbidden => s == StatusCode::FORBIDDEN,
        Expect::NotFound => s == StatusCode::NOT_FOUND,
        Expect::Empty => {
            s == StatusCode::OK
                && (r.content_type() != "application/json" || r.json()["items"].as_array().is_some_and(Vec::is_empty))
        }
        Expect::Unknown => s == StatusCode::UNPROCESSABLE_ENTITY || s == StatusCode::BAD_REQUEST,
    }
}

/// The matrix runs as four tests over every fourth operation, each in a world of
/// its own, so that the test harness spreads it over the cores instead of one
/// test running alone at the end of the suite.
const SHARDS: usize = 4;

#[tokio::test]
async fn every_route_answers_every_role_as_the_rules_say_first_quarter() {
    matrix_shard(0).await;
}

#[tokio::test]
async fn every_route_answers_every_role_as_the_rules_say_second_quarter() {
    matrix_shard(1).await;
}

#[tokio::test]
async fn every_route_answers_every_role_as_the_rules_say_third_quarter() {
    matrix_shard(2).await;
}

#[tokio::test]
async fn every_route_answers_every_role_as_the_rules_say_fourth_quarter() {
    matrix_shard(3).await;
}

async fn matrix_shard(shard: usize) {
    let w = World::new().await;
    let doc = w.send(get("/api/v1/openapi.json"), &w.admin).await.json();
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            ops.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    let unlisted: Vec<&String> = ops.iter().filter(|op| rule(op).is_none()).collect();
    assert!(unlisted.is_empty(), "operations without an entry in the authorisation matrix: {unlisted:#?}");

    let mut wrong = Vec::new();
    let mut checked = 0;
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    let mine: Vec<&String> = ops.iter().skip(shard).step_by(SHARDS).collect();
    for op in &mine {
        let rule = rule(op).unwrap();
        for (role, id, token) in &w.callers {
            for &case in cases_of(&rule) {
                let want = expected(&rule, *role, case);
                let call = w.request(op, *role, case, (id, token)).await;
                let call = if op.starts_with("POST /api/v1/auth/") { call } else { call.token(token) };
                let r = w.app.send(call).await;
                checked += 1;
                *tally.entry(format!("{want:?}")).or_default() += 1;
                if !answers(want, op, &r) {
                    wrong.push(format!(
                        "{op} as {role} on {case:?}: expected {want:?}, got {} {}",
                        r.status,
                        r.text.chars().take(120).collect::<String>().replace('\n', " ")
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{} of {checked} calls answered against the rules:\n{}", wrong.len(), wrong.join("\n"));
    ci_summary(&format!(
        "authorisation matrix ({}), part {} of {SHARDS}: {} of {} operations × {} roles × own/peer/far = {checked} calls as the rules say ({tally:?})",
        database_name(),
        shard + 1,
        mine.len(),
        ops.len(),
        Role::ALL.len()
    ));
}
