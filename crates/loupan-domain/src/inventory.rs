//! Units and their sales status (DOMAIN.md "Unit status").

use crate::names::named_enum;

named_enum! {
    /// Why a unit's status changed, as its history shows it (`unit_event.<name>`).
    pub enum UnitEventKind("unit event kind") {
        /// 销控: taken off sale by the sales manager.
        Held = "held",
        /// Back on sale from 销控.
        Released = "released",
        /// 预留 for a customer.
        Reserved = "reserved",
        /// The reservation ran out.
        ReservationExpired = "reservation_expired",
        Subscribed = "subscribed",
        Contracted = "contracted",
        /// A deal on it was cancelled (退房/退订).
        Cancelled = "cancelled",
        /// Its deal moved to another unit (换房).
        SwappedOut = "swapped_out",
        /// A deal moved onto it from another unit.
        SwappedIn = "swapped_in",
        /// Its measured areas (实测面积) were entered or corrected.
        Surveyed = "surveyed",
        /// An area compensation landed on its contract's plan.
        Compensated = "compensated",
        /// 交房: the keys were handed to the buyer.
        HandedOver = "handed_over",
    }
}

named_enum! {
    /// What a stored file belongs to.
    pub enum FileOwner("file owner") {
        Unit = "unit",
        Project = "project",
        /// A cost contract (成本合同): the signed scan, bills of quantities.
        CostContract = "cost_contract",
        /// A design change or site visa: drawings, photos, the visa form.
        CostVariation = "cost_variation",
        /// A customer-service case (报事): photos of the damage, the owner's letter.
        ServiceCase = "service_case",
        /// A defect found at the handover's inspection: its photos.
        HandoverDefect = "handover_defect",
    }
}

impl FileOwner {
    /// Who may see the files of such an owner, and who may add or remove them.
    pub const fn permissions(self) -> (crate::Permission, crate::Permission) {
        use crate::Permission::*;
        match self {
            FileOwner::Unit | FileOwner::Project => (ReadInventory, ManageInventory),
            FileOwner::CostContract => (ReadCost, ManageCost),
            FileOwner::CostVariation => (ReadCost, RecordVariations),
            FileOwner::ServiceCase => (ReadCases, WorkCases),
            FileOwner::HandoverDefect => (ReadAftersales, ManageAftersales),
        }
    }
}

named_enum! {
    /// What a stored file is for.
    pub enum FilePurpose("file purpose") {
        /// 户型图: an image or a PDF.
        FloorPlan = "floor_plan",
        Photo = "photo",
        /// 总平面图 under the bird's-eye view; a project has one.
        SitePlan = "site_plan",
        /// A document kept with a cost contract or a change/visa (附件).
        Attachment = "attachment",
    }
}

impl FilePurpose {
    /// Whether a file for this purpose may belong to `owner`.
    pub const fn fits(self, owner: FileOwner) -> bool {
        matches!(
            (self, owner),
            (FilePurpose::FloorPlan | FilePurpose::Photo, FileOwner::Unit)
                | (FilePurpose::Photo, FileOwner::HandoverDefect)
                | (FilePurpose::SitePlan, FileOwner::Project)
                | (
                    FilePurpose::Attachment,
                    FileOwner::CostContract | FileOwner::CostVariation | FileOwner::ServiceCase
                )
        )
    }

    /// Whether a file of this (sniffed) type may serve the purpose: pictures
    /// everywhere, PDFs as floor plans and attachments, office documents,
    /// archives and drawings only as attachments.
    pub fn accepts(self, content_type: &str) -> bool {
        match self {
            FilePurpose::Photo | FilePurpose::SitePlan => content_type.starts_with("image/"),
            FilePurpose::FloorPlan => content_type.starts_with("image/") || content_type == "application/pdf",
            FilePurpose::Attachment => true,
        }
    }
}

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

named_enum! {
    /// What a unit is used for (业态); parking spaces and storage rooms are units too.
    pub enum PropertyType("property type") {
        /// 住宅
        Residential = "residential",
        /// 商业
        Commercial = "commercial",
        /// 车位
        Parking = "parking",
        /// 储藏室
        Storage = "storage",
    }
}

named_enum! {
    /// Decoration standards (装修标准).
    pub enum Decoration("decoration") {
        /// 毛坯
        Shell = "shell",
        /// 精装
        Furnished = "furnished",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in UnitStatus::ALL {
            assert_eq!(UnitStatus::parse(s.name()), Some(s));
        }
        assert_eq!(UnitStatus::parse("sold"), None);
        crate::names::assert_names_round_trip(&PropertyType::ALL, |s| s.name());
        crate::names::assert_names_round_trip(&Decoration::ALL, |s| s.name());
        crate::names::assert_names_round_trip(&FileOwner::ALL, |s| s.name());
        crate::names::assert_names_round_trip(&UnitEventKind::ALL, |s| s.name());
        crate::names::assert_names_round_trip(&FilePurpose::ALL, |s| s.name());
    }
}
