//! Statuses and kinds: enums stored and sent by a fixed lowercase name.
//!
//! `named_enum!` gives each one its names, parsing, `Display`/`FromStr`,
//! serde by name and (with the `sea-orm` feature) the column mapping, so a
//! row holds the enum and a name this version does not know fails the read
//! instead of falling through a string comparison.

/// A name that is not one of an enum's names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{name}'")]
pub struct UnknownName {
    /// What was being named, e.g. `contract status`.
    pub what: &'static str,
    pub name: String,
}

/// `named_enum! { /// doc  pub enum ContractStatus("contract status") { Active = "active", … } }`
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[cfg_attr(feature = "sea-orm", derive(sea_orm::DeriveValueType))]
        #[cfg_attr(feature = "sea-orm", sea_orm(value_type = "String"))]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        /// Names are never database sequences (a name can still be part of a key).
        #[cfg(feature = "sea-orm")]
        impl sea_orm::TryFromU64 for $name {
            fn try_from_u64(_: u64) -> Result<Self, sea_orm::DbErr> {
                Err(sea_orm::DbErr::ConvertFromU64(stringify!($name)))
            }
        }

        impl $name {
            /// Every value, in the order they are declared.
            pub const ALL: [$name; [$(stringify!($variant)),+].len()] = [$($name::$variant),+];

            /// The stored and wire name.
            pub const fn name(self) -> &'static str {
                match self {
                    $( $name::$variant => $text ),+
                }
            }

            pub fn parse(name: &str) -> Option<$name> {
                $name::ALL.into_iter().find(|v| v.name() == name)
            }

            /// Every name, for lists of choices and documentation.
            pub fn names() -> [&'static str; [$(stringify!($variant)),+].len()] {
                $name::ALL.map($name::name)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::names::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::parse(s).ok_or_else(|| $crate::names::UnknownName { what: $what, name: s.to_owned() })
            }
        }

        /// A string with exactly these names in the OpenAPI document.
        #[cfg(feature = "utoipa")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some($name::names()))
                    .into()
            }
        }

        #[cfg(feature = "utoipa")]
        impl utoipa::ToSchema for $name {}

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                name.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use named_enum;

/// Checks that every name round-trips and an unknown one is refused.
#[cfg(test)]
pub(crate) fn assert_names_round_trip<T>(all: &[T], name: fn(&T) -> &'static str)
where
    T: std::str::FromStr + PartialEq + std::fmt::Debug,
{
    let mut seen = std::collections::BTreeSet::new();
    for v in all {
        assert!(seen.insert(name(v)), "{} named twice", name(v));
        assert_eq!(name(v).parse::<T>().ok().as_ref(), Some(v));
    }
    assert!("no_such_name".parse::<T>().is_err());
}
