//! The company's letterhead: the name, address and telephone every letter
//! may merge (`{{ company.name }}`) and the logo a printed letter shows with
//! `@logo`. Kept once for the company, so a change of address reaches every
//! template without editing one.

use loupan_domain::validation::required_text;
use loupan_domain::{Invalid, Permission};
use serde::{Deserialize, Serialize};

use super::printed;
use crate::{Actor, ServiceResult, Services};

const LETTERHEAD: &str = "letterhead";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct Letterhead {
    /// 开发商名称, as letters sign.
    pub name: String,
    pub address: String,
    pub phone: String,
    /// The logo: an uploaded picture's name (`POST /api/v1/notices/pictures`), if any.
    pub logo: Option<String>,
}

/// The letterhead as saved (or blank until someone saves one).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "utoipa", derive(utoipa::ToSchema))]
pub struct LetterheadForm {
    #[cfg_attr(
        feature = "utoipa",
        schema(required = true, nullable = false, min_length = 1, max_length = 100, pattern = "\\S")
    )]
    pub name: Option<String>,
    #[cfg_attr(feature = "utoipa", schema(max_length = 200))]
    pub address: Option<String>,
    #[cfg_attr(feature = "utoipa", schema(max_length = 40))]
    pub phone: Option<String>,
    /// An uploaded picture's name (32 hex digits); blank or absent for no logo.
    #[cfg_attr(feature = "utoipa", schema(pattern = "^([0-9a-f]{32})?$"))]
    pub logo: Option<String>,
}

/// Loupan's own reading of the letterhead: no permission asked, for letters being merged.
pub(crate) async fn stored(services: &Services) -> ServiceResult<Letterhead> {
    Ok(super::setting(services, LETTERHEAD).await?.unwrap_or_default())
}

/// The letterhead, for whoever writes or sends letters.
pub async fn letterhead(services: &Services, actor: &Actor) -> ServiceResult<Letterhead> {
    if !actor.can(Permission::ManageIntegrations) {
        actor.require(Permission::SendNotices)?;
    }
    stored(services).await
}

/// Sets the letterhead (an administrator's, recorded in the audit trail).
pub async fn set_letterhead(services: &Services, actor: &Actor, form: LetterheadForm) -> ServiceResult<Letterhead> {
    actor.require(Permission::ManageIntegrations)?;
    let mut errors = Invalid::default();
    let name = required_text(&mut errors, "name", form.name.as_deref(), 100);
    let optional = |errors: &mut Invalid, field: &str, value: Option<&str>, max: usize| {
        let value = value.map(str::trim).unwrap_or_default().to_owned();
        if value.chars().count() > max {
            errors.push(field, "too_long");
        }
        value
    };
    let address = optional(&mut errors, "address", form.address.as_deref(), 200);
    let phone = optional(&mut errors, "phone", form.phone.as_deref(), 40);
    let logo = form.logo.as_deref().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned);
    if let Some(name) = &logo
        && (!printed::is_picture_name(name) || !printed::picture_exists(services, name).await?)
    {
        errors.push("logo", "no_such_picture");
    }
    errors.into_result()?;
    let new = Letterhead { name, address, phone, logo };
    let before = super::setting::<Letterhead>(services, LETTERHEAD).await?;
    let shown = |l: &Letterhead| serde_json::to_value(l).ok();
    super::save_setting(services, actor, LETTERHEAD, &new, before.as_ref().and_then(shown), shown(&new)).await?;
    Ok(new)
}
