//! Scheduled care (M1): birthday and holiday greetings. The company chooses a
//! greeting template per occasion; every morning at 08:00 (the `greetings`
//! schedule, one run whatever the number of instances) each project whose
//! customers have an occasion today gets one batch, keyed by the occasion so
//! that a run repeated the same day (or the same holiday year) makes none:
//! each customer is greeted at most once per occasion. Greetings are
//! marketing: who refused it is skipped and counted, as in any batch.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use loupan_domain::ids::{CustomerId, NoticeTemplateId, ProjectId};
use loupan_domain::notices::{NoticeKind, Occasion, is_birthday, is_lunar_birthday};
use loupan_domain::{Invalid, Permission};
use serde::{Deserialize, Serialize};

use super::{Addressee, setting, skips};
use crate::{Actor, ServiceError, ServiceResult, Services};

const CARE: &str = "care";

/// One occasion as the care page shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CareOccasion {
    pub occasion: Occasion,
    /// The greeting template sent on it; None: nothing is sent.
    pub template_id: Option<NoticeTemplateId>,
    /// A holiday's next date (a birthday is each customer's own).
    pub next_date: Option<NaiveDate>,
}

/// The templates per occasion as typed: an occasion's name → a template id
/// (blank or absent: nothing is sent on it).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct CareForm {
    #[cfg_attr(feature = "utoipa", schema(value_type = CareTemplates))]
    pub templates: BTreeMap<String, Option<String>>,
}

/// The occasions a form may name, for the OpenAPI document.
#[cfg(feature = "utoipa")]
#[derive(utoipa::ToSchema, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct CareTemplates {
    birthday: Option<String>,
    spring_festival: Option<String>,
    dragon_boat: Option<String>,
    mid_autumn: Option<String>,
    national_day: Option<String>,
}

type Stored = BTreeMap<Occasion, NoticeTemplateId>;

/// The occasions with their templates and next dates.
pub async fn care(services: &Services, actor: &Actor) -> ServiceResult<Vec<CareOccasion>> {
    actor.require(Permission::SendNotices)?;
    let stored: Stored = setting(services, CARE).await?.unwrap_or_default();
    let today = services.clock.today();
    Ok(Occasion::ALL
        .into_iter()
        .map(|occasion| CareOccasion {
            occasion,
            template_id: stored.get(&occasion).cloned(),
            next_date: (occasion != Occasion::Birthday).then(|| occasion.next_on_or_after(today)).flatten(),
        })
        .collect())
}

/// Chooses the template of each occasion: the company's greetings, so only
/// someone who sees every project may (else 403). A template must be a
/// current greeting the company may use.
pub async fn set_care(services: &Services, actor: &Actor, form: CareForm) -> ServiceResult<Vec<CareOccasion>> {
    actor.require(Permission::SendNotices)?;
    if actor.visible_projects().is_some() {
        return Err(ServiceError::Forbidden);
    }
    let conn = services.store.conn();
    let mut errors = Invalid::default();
    let mut stored = Stored::new();
    for (name, id) in &form.templates {
        let field = format!("templates.{name}");
        let Some(occasion) = Occasion::parse(name) else {
            errors.push(field, "unknown_kind");
            continue;
        };
        let Some(id) = NoticeTemplateId::given(id.as_deref()) else { continue };
        match super::store::find_template(conn, &id).await? {
            Some(t) if t.kind == NoticeKind::Greeting && t.superseded_at.is_none() => {
                stored.insert(occasion, id);
            }
            Some(t) if t.kind != NoticeKind::Greeting => errors.push(field, "not_a_greeting"),
            Some(_) => errors.push(field, "template_superseded"),
            None => errors.push(field, "unknown_template"),
        }
    }
    errors.into_result()?;
    let before: Option<Stored> = setting(services, CARE).await?;
    let shown = |s: &Stored| serde_json::to_value(s).ok();
    super::save_setting(services, actor, CARE, &stored, before.as_ref().and_then(shown), shown(&stored)).await?;
    care(services, actor).await
}

/// The morning's greetings (the `greetings` job): one batch per project and
/// occasion of `now`'s day with someone to greet; how many batches were made.
pub(crate) async fn send_greetings(services: &Services, now: DateTime<Utc>) -> ServiceResult<usize> {
    let Some(stored) = setting::<Stored>(services, CARE).await? else { return Ok(0) };
    let today = services.clock.date_of(now);
    let conn = services.store.conn();
    let system = Actor::system("greetings");
    let mut made = 0;
    for (occasion, template_id) in &stored {
        if *occasion != Occasion::Birthday && !occasion.falls_on(today) {
            continue;
        }
        // The greeting as last edited.
        let Some(template) = super::store::current_version(conn, template_id).await? else { continue };
        for project in loupan_store::inventory::list_projects(conn, None).await? {
            if template.project_id.as_ref().is_some_and(|p| p != &project.id) {
                continue;
            }
            let customers = match occasion {
                Occasion::Birthday => loupan_store::customers::birthdays_of_project(conn, &project.id)
                    .await?
                    .into_iter()
                    .filter(
                        |(_, born, lunar)| {
                            if *lunar { is_lunar_birthday(*born, today) } else { is_birthday(*born, today) }
                        },
                    )
                    .map(|(id, _, _)| id)
                    .collect(),
                _ => all_customers(services, &project.id).await?,
            };
            if customers.is_empty() {
                continue;
            }
            // A holiday once a year, a birthday once on its day.
            let key = match occasion {
                Occasion::Birthday => format!("birthday:{today}:{}", project.id),
                _ => format!("{occasion}:{}:{}", today.year(), project.id),
            };
            let to: Vec<Addressee> =
                customers.into_iter().map(|customer_id| Addressee { customer_id, contract_id: None }).collect();
            let skipped = skips(conn, template.kind, template.channel, &to).await?;
            let audience = serde_json::json!({"source": "occasion", "occasion": occasion});
            let queued = super::queue_batch(
                services,
                &system,
                super::Queued {
                    details: BTreeMap::new(),
                    template: &template,
                    project_id: &project.id,
                    audience,
                    as_of: today,
                    occasion: Some(key),
                },
                to,
                &skipped,
            )
            .await?;
            made += usize::from(queued.is_some());
        }
    }
    Ok(made)
}

/// Every customer of a project (not merged away), a page at a time.
async fn all_customers(services: &Services, project: &ProjectId) -> ServiceResult<Vec<CustomerId>> {
    let mut all = Vec::new();
    loop {
        let page =
            loupan_store::customers::customer_ids_of_project(services.store.conn(), project, all.last(), 5000).await?;
        if page.is_empty() {
            return Ok(all);
        }
        all.extend(page);
    }
}
