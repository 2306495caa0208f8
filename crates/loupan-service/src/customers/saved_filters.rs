//! Saved filters (C1 search): a user keeps the conditions of the customer list
//! under a name and comes back to them in one click. They are the user's own;
//! nobody else sees or deletes them.

use chrono::{DateTime, Utc};
use loupan_domain::ids::{CustomerId, ProjectId, UserId};
use loupan_domain::{Invalid, Permission};
use loupan_store::customers::{self as store, SavedFilterRow};
use serde::Serialize;

use crate::{Actor, ServiceError, ServiceResult, Services};

/// The lists that can be filtered, and the conditions each understands.
const LISTS: [(&str, &[&str]); 1] = [("customers", &crate::customers::CONDITIONS)];

#[derive(Debug, Clone, Serialize)]
pub struct SavedFilter {
    pub id: String,
    pub list: String,
    pub name: String,
    /// The conditions as a query string, e.g. `grade=A&source=网络`.
    pub query: String,
    pub created_at: DateTime<Utc>,
}

impl From<SavedFilterRow> for SavedFilter {
    fn from(r: SavedFilterRow) -> Self {
        SavedFilter { id: r.id, list: r.list, name: r.name, query: r.query, created_at: r.created_at }
    }
}

fn user_of(actor: &Actor) -> ServiceResult<UserId> {
    actor.require(Permission::ReadCustomers)?;
    actor.user_id.clone().ok_or(ServiceError::Forbidden)
}

pub async fn list(services: &Services, actor: &Actor) -> ServiceResult<Vec<SavedFilter>> {
    let user = user_of(actor)?;
    Ok(store::saved_filters_of(services.store.conn(), &user, "customers").await?.into_iter().map(Into::into).collect())
}

/// Saves the conditions under `name` (a filter of the same name is replaced).
/// Only conditions the list understands are kept, each once, in a fixed order.
pub async fn save(
    services: &Services,
    actor: &Actor,
    name: Option<&str>,
    query: Option<&str>,
) -> ServiceResult<SavedFilter> {
    let user = user_of(actor)?;
    let mut errors = Invalid::default();
    let name = loupan_domain::validation::required_text(&mut errors, "name", name, 40);
    let query = query.unwrap_or_default().trim_start_matches('?');
    if query.len() > 1000 {
        errors.push("query", "too_long");
    }
    let (list, known) = LISTS[0];
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(query.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    if let Some((unknown, _)) = pairs.iter().find(|(k, _)| !known.contains(&k.as_str())) {
        tracing::debug!(condition = %unknown, "unknown condition in a saved filter");
        errors.push("query", "unknown_condition");
    }
    // (The serializer does not cross an await: it is not Send.)
    let query = {
        let mut kept = form_urlencoded::Serializer::new(String::new());
        for key in known {
            if let Some((_, v)) = pairs.iter().find(|(k, v)| k == key && !v.trim().is_empty()) {
                kept.append_pair(key, v.trim());
            }
        }
        kept.finish()
    };
    if query.is_empty() && !errors.0.iter().any(|f| f.field == "query") {
        errors.push("query", if pairs.is_empty() { "required" } else { "no_condition" });
    }
    errors.into_result()?;
    let row = SavedFilterRow {
        id: loupan_store::new_id(),
        user_id: user,
        list: list.to_owned(),
        name,
        query,
        created_at: services.clock.now(),
    };
    let tx = services.store.begin_write().await?;
    let saved = store::save_filter(&tx, &row).await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(saved.into())
}

/// Every customer one of the actor's saved filters finds today inside
/// `project`, as far as the actor may see them, in the list's order. A
/// filter is kept as conditions, not as a list, so it finds tomorrow's
/// customers too.
pub(crate) async fn customers_found(
    services: &Services,
    actor: &Actor,
    filter_id: &str,
    project: &ProjectId,
) -> ServiceResult<Vec<CustomerId>> {
    let user = user_of(actor)?;
    let conn = services.store.conn();
    let saved = store::saved_filter(conn, &user, filter_id)
        .await?
        .ok_or_else(|| loupan_domain::Invalid::one("audience.filter_id", "unknown_filter"))?;
    let mut query = crate::customers::CustomerQuery::from_query_string(&saved.query);
    // The batch's project decides, whatever project the filter was saved with.
    query.project_id = Some(project.as_str().to_owned());
    let scope = crate::customers::scope_of(actor)?;
    // A condition that no longer reads (a category since renamed) is the filter's fault, not the batch's.
    let mut filter = crate::customers::filter_of(services, &query)
        .map_err(|_| loupan_domain::Invalid::one("audience.filter_id", "filter_unreadable"))?;
    let mut found = Vec::new();
    loop {
        let page = store::search_customer_ids(conn, &scope, &filter, 1000).await?;
        let Some(last) = page.last() else { break };
        filter.after_id = Some(last.as_str().to_owned());
        let full = page.len() == 1000;
        found.extend(page);
        if !full {
            break;
        }
    }
    Ok(found)
}

pub async fn delete(services: &Services, actor: &Actor, id: &str) -> ServiceResult<()> {
    let user = user_of(actor)?;
    let tx = services.store.begin_write().await?;
    if !store::delete_filter(&tx, &user, id).await? {
        return Err(ServiceError::NotFound("saved_filter"));
    }
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(())
}
