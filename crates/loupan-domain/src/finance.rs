//! Finance states. A receipt moves `in_transit` → `arrived` (the bank has it,
//! the cashier says) → `audited` (finance counts it against the plan), or is
//! `void` before the audit. Stored by name; a row with any other name is an
//! error when it is read, never a silent fallthrough.

use crate::names::named_enum;

named_enum! {
    /// Where a receipt stands.
    pub enum ReceiptStatus("receipt status") {
        /// 在途: recorded by sales or the cashier, not yet seen at the bank.
        InTransit = "in_transit",
        /// 到帐: the money is in the bank.
        Arrived = "arrived",
        /// 已审核: finance counts it against the contract's plan.
        Audited = "audited",
        /// 作废: withdrawn before the audit, with a reason.
        Void = "void",
    }
}

impl ReceiptStatus {
    /// Not yet audited: it may still be voided rather than reversed.
    pub const fn is_open(self) -> bool {
        matches!(self, ReceiptStatus::InTransit | ReceiptStatus::Arrived)
    }
}

named_enum! {
    /// Where a refund (退款) stands: finance pays it, then audits the payment.
    pub enum RefundStatus("refund status") {
        /// 待付: owed to the buyer after a cancellation or a swap.
        Due = "due",
        /// 已付: paid out, awaiting the audit.
        Paid = "paid",
        /// 已审核.
        Audited = "audited",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        crate::names::assert_names_round_trip(&ReceiptStatus::ALL, |s| s.name());
        crate::names::assert_names_round_trip(&RefundStatus::ALL, |s| s.name());
        assert!("paid".parse::<ReceiptStatus>().is_err());
    }
}
