//! Who may do what. Roles are the built-in names of API.md; each grants a set of
//! permissions, and business areas add their permissions to this one table so that
//! the service layer has a single place to ask.

use serde::{Deserialize, Serialize};

/// Built-in roles (API.md). Stored by their snake_case name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Executive,
    SalesManager,
    SalesAgent,
    Cashier,
    Finance,
    Service,
    Aftersales,
    Marketing,
    CostEngineer,
    ProjectManager,
}

impl Role {
    pub const ALL: [Role; 11] = [
        Role::Admin,
        Role::Executive,
        Role::SalesManager,
        Role::SalesAgent,
        Role::Cashier,
        Role::Finance,
        Role::Service,
        Role::Aftersales,
        Role::Marketing,
        Role::CostEngineer,
        Role::ProjectManager,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Executive => "executive",
            Role::SalesManager => "sales_manager",
            Role::SalesAgent => "sales_agent",
            Role::Cashier => "cashier",
            Role::Finance => "finance",
            Role::Service => "service",
            Role::Aftersales => "aftersales",
            Role::Marketing => "marketing",
            Role::CostEngineer => "cost_engineer",
            Role::ProjectManager => "project_manager",
        }
    }

    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == name)
    }

    /// Admins and executives see every project; everyone else only their own.
    pub fn sees_all_projects(self) -> bool {
        matches!(self, Role::Admin | Role::Executive)
    }

    /// The permissions this role grants: the table later modules extend.
    pub fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::Admin => &[
                ManageUsers,
                ReadAudit,
                ReadProjects,
                ManageProjects,
                ReadInventory,
                ManageInventory,
                ReadCustomers,
                WriteCustomers,
                RevealPersonalData,
                ExportCustomers,
                ManageCustomers,
                ManagePricing,
                Sell,
                ReadDeals,
                RecordReceipts,
                AuditReceipts,
                ReadFinance,
                ManageApprovalFlows,
                ManageIntegrations,
                ReadAftersales,
                ReadCost,
                ManageCost,
                RecordVariations,
                SendNotices,
                ReadCases,
                WorkCases,
                ManageCases,
                Receive,
                ManageReception,
                ReadQuestionnaires,
                ManageQuestionnaires,
                AnswerQuestionnaires,
                ManageAftersales,
                RectifyDefects,
            ],
            Role::Executive => &[
                ReadAudit,
                ReadProjects,
                ReadInventory,
                ReadCustomers,
                ExportCustomers,
                ReadDeals,
                ReadFinance,
                ReadAftersales,
                ReadCost,
                ReadCases,
                ReadQuestionnaires,
            ],
            Role::SalesManager => &[
                ReadProjects,
                ReadInventory,
                ManageInventory,
                ReadCustomers,
                WriteCustomers,
                RevealPersonalData,
                ExportCustomers,
                ManageCustomers,
                ManagePricing,
                Sell,
                ReadDeals,
                ReadFinance,
                ReadAftersales,
                SendNotices,
                ReadCases,
                Receive,
                ManageReception,
                ReadQuestionnaires,
                ManageQuestionnaires,
                AnswerQuestionnaires,
            ],
            // Agents take turns at the door of a small sales office.
            // and fill in questionnaires with their visitors on the tablet.
            Role::SalesAgent => &[
                ReadProjects,
                ReadInventory,
                ReadCustomers,
                WriteCustomers,
                Sell,
                ReadDeals,
                Receive,
                AnswerQuestionnaires,
            ],
            Role::Cashier => {
                &[ReadProjects, ReadInventory, ReadCustomers, ReadDeals, RecordReceipts, ReadFinance, ReadAftersales]
            }
            Role::Finance => &[
                ReadProjects,
                ReadInventory,
                ReadCustomers,
                ReadDeals,
                RecordReceipts,
                AuditReceipts,
                ReadFinance,
                ReadAftersales,
                SendNotices,
            ],
            // The customer-service desk hears, assigns and works the cases of its projects.
            // It also runs the questionnaires (satisfaction, care campaigns).
            Role::Service => &[
                ReadProjects,
                ReadInventory,
                ReadCustomers,
                WriteCustomers,
                SendNotices,
                ReadCases,
                WorkCases,
                ReadQuestionnaires,
                ManageQuestionnaires,
                AnswerQuestionnaires,
            ],
            // Campaigns are planned on exported lists and questionnaires' cross analysis.
            Role::Marketing => &[
                ReadProjects,
                ReadInventory,
                ReadCustomers,
                WriteCustomers,
                ExportCustomers,
                SendNotices,
                ReadQuestionnaires,
                ManageQuestionnaires,
                AnswerQuestionnaires,
            ],
            // Repairs after handover are after-sales work.
            // After-sales staff enter the surveyed areas and prepare the compensation batches.
            Role::Aftersales => &[
                ReadProjects,
                ReadInventory,
                ReadCustomers,
                ReadAftersales,
                ManageAftersales,
                RectifyDefects,
                ReadCases,
                WorkCases,
            ],
            Role::CostEngineer => &[ReadProjects, ReadInventory, ReadCost, ManageCost, RecordVariations],
            // Site staff submit and confirm changes and visas; the cost engineer keeps the rest.
            // They approve a building's area compensation, so they read its batches.
            Role::ProjectManager => {
                &[ReadProjects, ReadInventory, ReadCost, RecordVariations, ReadAftersales, RectifyDefects]
            }
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A right to perform a kind of operation. The data scope of the records it applies
/// to is decided separately (`DataScope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Create, disable and edit users and their roles.
    ManageUsers,
    /// Browse the audit trail.
    ReadAudit,
    /// See the projects one is a member of.
    ReadProjects,
    /// Create and edit projects.
    ManageProjects,
    /// See buildings and units (the 销控图).
    ReadInventory,
    /// Create and edit buildings and units, release and hold them.
    ManageInventory,
    /// See customers within one's data scope (`customer_scope`).
    ReadCustomers,
    /// Register customers and record follow-ups within one's data scope.
    WriteCustomers,
    /// See full phone and ID numbers (each reveal is logged with a reason).
    RevealPersonalData,
    /// Export customer lists to Excel (each export is logged). Agents cannot:
    /// a leaving agent must not walk out with the customer list.
    ExportCustomers,
    /// Rule on duplicate records and transfer customers between agents.
    ManageCustomers,
    /// Define payment methods, price lists and discounts.
    ManagePricing,
    /// Subscribe and contract units for customers.
    Sell,
    /// See subscriptions, contracts and payment plans (agents: their own deals).
    ReadDeals,
    /// Record money received and mark it arrived (cashiers).
    RecordReceipts,
    /// Audit receipts so that they count against the plan (finance).
    AuditReceipts,
    /// Finance reports: ledger, ageing.
    ReadFinance,
    /// Define approval flows: steps, approvers, conditions, deadlines.
    ManageApprovalFlows,
    /// Webhooks and the background job queue.
    ManageIntegrations,
    /// After-sales settlements: area compensation, deed tax and other fees.
    ReadAftersales,
    /// Project cost: the cost item tree, targets, plans, contracts and the dynamic cost.
    ReadCost,
    /// Keep the cost item tree, target versions, contract planning, suppliers,
    /// cost contracts and expected costs (cost engineers).
    ManageCost,
    /// Submit design changes and site visas and confirm them at completion.
    RecordVariations,
    /// Design notice templates and send letters to a project's customers (what
    /// each customer was sent is seen by whoever may see the customer).
    SendNotices,
    /// See the customer-service cases (complaints, repairs) of one's projects.
    ReadCases,
    /// Register, assign, answer and close cases.
    WorkCases,
    /// Keep the case categories, assignment rules, deadlines and the working calendar.
    ManageCases,
    /// Receive visitors at the sales office's door (案场接待): find a returning
    /// customer by phone or name whoever owns them, register visits, and hand a
    /// new visitor to the next agent on duty.
    Receive,
    /// Set the day's duty queue of agents (轮岗/排号) and its order.
    ManageReception,
    /// See questionnaires' answers, their analysis and cross analysis.
    ReadQuestionnaires,
    /// Design questionnaires and send them to customers (links, audiences).
    ManageQuestionnaires,
    /// Fill in a questionnaire with a customer (the tablet at the sales office).
    AnswerQuestionnaires,
    /// Enter surveyed areas, set a project's settlement rules, and prepare and
    /// submit area-compensation batches (after-sales staff).
    ManageAftersales,
    /// Record that a defect found at a handover's inspection is rectified
    /// (engineering: project managers and after-sales staff).
    RectifyDefects,
}

impl Permission {
    pub const ALL: [Permission; 34] = [
        Permission::ManageUsers,
        Permission::ReadAudit,
        Permission::ReadProjects,
        Permission::ManageProjects,
        Permission::ReadInventory,
        Permission::ManageInventory,
        Permission::ReadCustomers,
        Permission::WriteCustomers,
        Permission::RevealPersonalData,
        Permission::ExportCustomers,
        Permission::ManageCustomers,
        Permission::ManagePricing,
        Permission::Sell,
        Permission::ReadDeals,
        Permission::RecordReceipts,
        Permission::AuditReceipts,
        Permission::ReadFinance,
        Permission::ManageApprovalFlows,
        Permission::ManageIntegrations,
        Permission::ReadAftersales,
        Permission::ReadCost,
        Permission::ManageCost,
        Permission::RecordVariations,
        Permission::SendNotices,
        Permission::ReadCases,
        Permission::WorkCases,
        Permission::ManageCases,
        Permission::Receive,
        Permission::ManageReception,
        Permission::ReadQuestionnaires,
        Permission::ManageQuestionnaires,
        Permission::AnswerQuestionnaires,
        Permission::ManageAftersales,
        Permission::RectifyDefects,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Permission::ManageUsers => "manage_users",
            Permission::ReadAudit => "read_audit",
            Permission::ReadProjects => "read_projects",
            Permission::ManageProjects => "manage_projects",
            Permission::ReadInventory => "read_inventory",
            Permission::ManageInventory => "manage_inventory",
            Permission::ReadCustomers => "read_customers",
            Permission::WriteCustomers => "write_customers",
            Permission::RevealPersonalData => "reveal_personal_data",
            Permission::ExportCustomers => "export_customers",
            Permission::ManageCustomers => "manage_customers",
            Permission::ManagePricing => "manage_pricing",
            Permission::Sell => "sell",
            Permission::ReadDeals => "read_deals",
            Permission::RecordReceipts => "record_receipts",
            Permission::AuditReceipts => "audit_receipts",
            Permission::ReadFinance => "read_finance",
            Permission::ManageApprovalFlows => "manage_approval_flows",
            Permission::ManageIntegrations => "manage_integrations",
            Permission::ReadAftersales => "read_aftersales",
            Permission::ReadCost => "read_cost",
            Permission::ManageCost => "manage_cost",
            Permission::RecordVariations => "record_variations",
            Permission::SendNotices => "send_notices",
            Permission::ReadCases => "read_cases",
            Permission::WorkCases => "work_cases",
            Permission::ManageCases => "manage_cases",
            Permission::Receive => "receive",
            Permission::ManageReception => "manage_reception",
            Permission::ReadQuestionnaires => "read_questionnaires",
            Permission::ManageQuestionnaires => "manage_questionnaires",
            Permission::AnswerQuestionnaires => "answer_questionnaires",
            Permission::ManageAftersales => "manage_aftersales",
            Permission::RectifyDefects => "rectify_defects",
        }
    }
}

/// Which records of a kind a user may see: their own, their projects', or all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DataScope {
    Own,
    Project,
    All,
}

/// True when any of `roles` grants `permission`.
pub fn grants(roles: &[Role], permission: Permission) -> bool {
    roles.iter().any(|r| r.permissions().contains(&permission))
}

/// The widest customer scope among `roles` (API.md: agents see their own
/// customers, managers their projects', admins and executives all).
pub fn customer_scope(roles: &[Role]) -> Option<DataScope> {
    roles
        .iter()
        .filter_map(|r| match r {
            Role::Admin | Role::Executive => Some(DataScope::All),
            Role::SalesManager | Role::Service | Role::Finance | Role::Cashier | Role::Marketing | Role::Aftersales => {
                Some(DataScope::Project)
            }
            Role::SalesAgent => Some(DataScope::Own),
            _ => None,
        })
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.name()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn every_permission_is_listed_once_and_admins_hold_them_all() {
        for p in Permission::ALL {
            assert_eq!(Permission::ALL.iter().filter(|q| **q == p).count(), 1);
            assert!(grants(&[Role::Admin], p), "{}", p.name());
        }
    }

    #[test]
    fn only_admins_manage_users() {
        for r in Role::ALL {
            assert_eq!(grants(&[r], Permission::ManageUsers), r == Role::Admin, "{r}");
        }
    }

    #[test]
    fn widest_scope_wins() {
        assert_eq!(customer_scope(&[Role::SalesAgent]), Some(DataScope::Own));
        assert_eq!(customer_scope(&[Role::SalesAgent, Role::SalesManager]), Some(DataScope::Project));
        assert_eq!(customer_scope(&[Role::Executive, Role::SalesAgent]), Some(DataScope::All));
        assert_eq!(customer_scope(&[Role::CostEngineer]), None);
    }
}
