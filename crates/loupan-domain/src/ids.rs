//! Typed identifiers. IDs are opaque strings on the wire (API.md); in code a
//! `UserId` cannot be passed where a `ProjectId` is expected. With the store's
//! `sea-orm` feature a row holds them directly; with `utoipa` they are strings
//! in the OpenAPI document.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($($name:ident),* $(,)?) => {$(
        #[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "sea-orm", derive(sea_orm::DeriveValueType))]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id a form or query string named, if it named one (blank is none).
            pub fn given(text: Option<&str>) -> Option<Self> {
                text.map(str::trim).filter(|t| !t.is_empty()).map(Self::from)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(s: String) -> Self {
                Self(s)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        /// So that a filter can take an id by reference: `Column::UnitId.eq(&unit_id)`.
        #[cfg(feature = "sea-orm")]
        impl From<&$name> for sea_orm::Value {
            fn from(id: &$name) -> Self {
                id.0.as_str().into()
            }
        }

        /// Ids are generated text, never database sequences.
        #[cfg(feature = "sea-orm")]
        impl sea_orm::TryFromU64 for $name {
            fn try_from_u64(_: u64) -> Result<Self, sea_orm::DbErr> {
                Err(sea_orm::DbErr::ConvertFromU64(stringify!($name)))
            }
        }

        #[cfg(feature = "utoipa")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .into()
            }
        }

        #[cfg(feature = "utoipa")]
        impl utoipa::ToSchema for $name {}
    )*};
}

id_type!(
    UserId,
    ProjectId,
    BuildingId,
    UnitId,
    CustomerId,
    SubscriptionId,
    ContractId,
    // Project cost (PM3-PM7).
    CostItemId,
    TargetVersionId,
    PlanLineId,
    SupplierId,
    CostContractId,
    VariationId,
    CostPostingId,
    CostReportId,
    // Notices and letters (S5, F7, M1).
    NoticeTemplateId,
    NoticeBatchId,
    NoticeRecipientId,
    // Customer service (C4).
    CaseId,
    CaseCategoryId,
    CaseRuleId,
    // Reception (S4).
    VisitId,
    // Satisfaction (C5).
    SurveyId,
    QuestionnaireId,
    ResponseId,
    // Service processes after the contract (A1, A2).
    ProcessDefinitionId,
    ProcessCaseId,
    // The handover (A4).
    HandoverId,
    HandoverSlotId,
    DefectId,
);
