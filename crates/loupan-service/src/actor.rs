//! The acting user of an operation and the one place that decides what they may do.

use loupan_domain::access::{self, DataScope};
use loupan_domain::ids::{ProjectId, UserId};
use loupan_domain::{Permission, Role};

use crate::{ServiceError, ServiceResult};

/// Who is acting: a signed-in user, or Loupan itself (CLI, jobs).
#[derive(Clone)]
pub struct Actor {
    /// None for the system actor.
    pub user_id: Option<UserId>,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    /// Projects the user is a member of.
    pub project_ids: Vec<ProjectId>,
    pub locale: Option<String>,
    /// The session the request came with, if any.
    pub session: Option<SessionInfo>,
}

/// The session behind a request: its id (a hash of the token) and its CSRF token.
#[derive(Clone)]
pub struct SessionInfo {
    pub id: String,
    pub csrf_token: String,
}

impl std::fmt::Debug for Actor {
    // No tokens in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Actor").field("username", &self.username).field("roles", &self.roles).finish()
    }
}

impl Actor {
    /// Loupan acting on the operator's behalf (`loupan user ...`, demo data, jobs).
    /// It holds every right; the audit trail names it `system:<what>`.
    pub fn system(what: &str) -> Actor {
        Actor {
            user_id: None,
            username: format!("system:{what}"),
            display_name: format!("system:{what}"),
            roles: vec![Role::Admin],
            project_ids: Vec::new(),
            locale: None,
            session: None,
        }
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn can(&self, permission: Permission) -> bool {
        access::grants(&self.roles, permission)
    }

    /// Refuses with 403 unless a role grants `permission`.
    pub fn require(&self, permission: Permission) -> ServiceResult<()> {
        if self.can(permission) { Ok(()) } else { Err(ServiceError::Forbidden) }
    }

    /// None when the actor sees every project, else the projects they belong to.
    pub fn visible_projects(&self) -> Option<&[ProjectId]> {
        if self.roles.iter().any(|r| r.sees_all_projects()) { None } else { Some(&self.project_ids) }
    }

    pub fn sees_project(&self, project_id: &ProjectId) -> bool {
        self.visible_projects().is_none_or(|ids| ids.iter().any(|id| id == project_id))
    }

    pub fn customer_scope(&self) -> Option<DataScope> {
        access::customer_scope(&self.roles)
    }

    /// The user id as the audit trail records it.
    pub fn audit_id(&self) -> Option<String> {
        self.user_id.as_ref().map(UserId::to_string)
    }

    /// Who did it, as a record's `*_by` column keeps it: the user, or Loupan's own name.
    pub fn by(&self) -> String {
        self.user_id.as_ref().map_or_else(|| self.username.clone(), UserId::to_string)
    }
}
