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
    /// How money came in or went out (收款方式).
    pub enum ReceiptChannel("receipt channel") {
        Cash = "cash",
        /// Bank transfer (转账).
        Transfer = "transfer",
        /// Card terminal (POS 刷卡).
        Pos = "pos",
        Cheque = "cheque",
        /// The buyer's mortgage loan, paid by the bank (按揭放款).
        MortgageBank = "mortgage_bank",
        /// A provident-fund loan (公积金贷款).
        ProvidentFund = "provident_fund",
        /// Moved from one deal to another by a swap (换房); Loupan writes it, nobody types it.
        DealTransfer = "deal_transfer",
        /// A subscription's deposit carried to its contract (定金转房款); Loupan writes it.
        DepositTransfer = "deposit_transfer",
    }
}

impl ReceiptChannel {
    /// The channels a cashier records money through; the others are Loupan's own moves.
    pub const TYPED: [ReceiptChannel; 6] = [
        ReceiptChannel::Cash,
        ReceiptChannel::Transfer,
        ReceiptChannel::Pos,
        ReceiptChannel::Cheque,
        ReceiptChannel::MortgageBank,
        ReceiptChannel::ProvidentFund,
    ];

    pub const fn is_typed(self) -> bool {
        !matches!(self, ReceiptChannel::DealTransfer | ReceiptChannel::DepositTransfer)
    }

    /// A channel a cashier may type.
    pub fn typed(name: &str) -> Option<ReceiptChannel> {
        ReceiptChannel::parse(name).filter(|c| c.is_typed())
    }
}

named_enum! {
    /// Where an instalment of a payment plan stands on a day, as the instalment
    /// query filters by it (computed from the amounts and the due date, not stored).
    pub enum InstalmentState("instalment state") {
        /// Due before the day and not fully paid.
        Overdue = "overdue",
        /// Due on or after the day and not fully paid.
        NotDue = "not_due",
        /// Nothing paid yet.
        Unpaid = "unpaid",
        PartlyPaid = "partly_paid",
        Paid = "paid",
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
        crate::names::assert_names_round_trip(&ReceiptChannel::ALL, |s| s.name());
        crate::names::assert_names_round_trip(&InstalmentState::ALL, |s| s.name());
        assert_eq!(ReceiptChannel::typed("pos"), Some(ReceiptChannel::Pos));
        assert_eq!(ReceiptChannel::typed("deal_transfer"), None);
        assert!("paid".parse::<ReceiptStatus>().is_err());
    }
}
