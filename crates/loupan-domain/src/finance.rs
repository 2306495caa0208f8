//! Finance states. A receipt moves `in_transit` → `arrived` (the bank has it,
//! the cashier says) → `audited` (finance counts it against the plan), or is
//! `void` before the audit. Stored by name; a row with any other name is an
//! error when it is read, never a silent fallthrough.

/// Where a receipt stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "sea-orm", derive(sea_orm::DeriveValueType))]
#[cfg_attr(feature = "sea-orm", sea_orm(value_type = "String"))]
pub enum ReceiptStatus {
    /// 在途: recorded by sales or the cashier, not yet seen at the bank.
    InTransit,
    /// 到帐: the money is in the bank.
    Arrived,
    /// 已审核: finance counts it against the contract's plan.
    Audited,
    /// 作废: withdrawn before the audit, with a reason.
    Void,
}

/// A status name this version of Loupan does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown receipt status '{0}'")]
pub struct UnknownReceiptStatus(pub String);

impl ReceiptStatus {
    pub const ALL: [ReceiptStatus; 4] =
        [ReceiptStatus::InTransit, ReceiptStatus::Arrived, ReceiptStatus::Audited, ReceiptStatus::Void];

    pub const fn name(self) -> &'static str {
        match self {
            ReceiptStatus::InTransit => "in_transit",
            ReceiptStatus::Arrived => "arrived",
            ReceiptStatus::Audited => "audited",
            ReceiptStatus::Void => "void",
        }
    }

    pub fn parse(name: &str) -> Option<ReceiptStatus> {
        ReceiptStatus::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Not yet audited: it may still be voided rather than reversed.
    pub const fn is_open(self) -> bool {
        matches!(self, ReceiptStatus::InTransit | ReceiptStatus::Arrived)
    }
}

impl std::fmt::Display for ReceiptStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ReceiptStatus {
    type Err = UnknownReceiptStatus;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReceiptStatus::parse(s).ok_or_else(|| UnknownReceiptStatus(s.to_owned()))
    }
}

impl serde::Serialize for ReceiptStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for s in ReceiptStatus::ALL {
            assert_eq!(s.name().parse::<ReceiptStatus>(), Ok(s));
        }
        assert!("paid".parse::<ReceiptStatus>().is_err());
    }
}
