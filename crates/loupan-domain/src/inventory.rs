//! Units and their sales status (DOMAIN.md "Unit status").

use serde::{Deserialize, Serialize};

/// Where a unit stands in the sales cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitStatus {
    NotForSale,
    Available,
    Held,
    Reserved,
    Subscribed,
    Contracted,
    HandedOver,
}

impl UnitStatus {
    pub const ALL: [UnitStatus; 7] = [
        UnitStatus::NotForSale,
        UnitStatus::Available,
        UnitStatus::Held,
        UnitStatus::Reserved,
        UnitStatus::Subscribed,
        UnitStatus::Contracted,
        UnitStatus::HandedOver,
    ];

    pub fn name(self) -> &'static str {
        match self {
            UnitStatus::NotForSale => "not_for_sale",
            UnitStatus::Available => "available",
            UnitStatus::Held => "held",
            UnitStatus::Reserved => "reserved",
            UnitStatus::Subscribed => "subscribed",
            UnitStatus::Contracted => "contracted",
            UnitStatus::HandedOver => "handed_over",
        }
    }

    pub fn parse(name: &str) -> Option<UnitStatus> {
        UnitStatus::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// What a unit is used for (业态); parking spaces and storage rooms are units too.
pub const PROPERTY_TYPES: [&str; 4] = ["residential", "commercial", "parking", "storage"];

/// Decoration standards (装修标准).
pub const DECORATIONS: [&str; 2] = ["shell", "furnished"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in UnitStatus::ALL {
            assert_eq!(UnitStatus::parse(s.name()), Some(s));
        }
        assert_eq!(UnitStatus::parse("sold"), None);
    }
}
