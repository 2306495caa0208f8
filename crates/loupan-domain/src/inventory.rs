//! Units and their sales status (DOMAIN.md "Unit status").

use crate::names::named_enum;

named_enum! {
    /// Where a unit stands in the sales cycle.
    pub enum UnitStatus("unit status") {
        NotForSale = "not_for_sale",
        Available = "available",
        Held = "held",
        Reserved = "reserved",
        Subscribed = "subscribed",
        Contracted = "contracted",
        HandedOver = "handed_over",
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
