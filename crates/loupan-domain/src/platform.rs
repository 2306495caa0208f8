//! States of the platform's own records: background jobs, webhook deliveries,
//! and where a report read its data.

use crate::names::named_enum;

named_enum! {
    /// What a notification under the bell is about.
    pub enum NotificationKind("notification kind") {
        /// A request waits for the reader's decision.
        ApprovalWaiting = "approval_waiting",
        ApprovalApproved = "approval_approved",
        ApprovalRejected = "approval_rejected",
        /// The reader's request came back for changes.
        ApprovalReturned = "approval_returned",
        ApprovalOverdue = "approval_overdue",
        ApprovalEscalated = "approval_escalated",
        ApprovalComment = "approval_comment",
        /// A customer's planned follow-up is due today.
        FollowUpDue = "follow_up_due",
        /// A customer-service case was given to the reader.
        CaseAssigned = "case_assigned",
        /// A case of the reader's nears its deadline.
        CaseDueSoon = "case_due_soon",
        /// A case passed its deadline and comes to the reader as the next level.
        CaseEscalated = "case_escalated",
        /// A customer complained again, reaching the desk's number of complaints in its period.
        RepeatedComplaints = "repeated_complaints",
        /// A step of a service process that is the reader's to do nears its deadline.
        ProcessStepDueSoon = "process_step_due_soon",
        /// A step of a service process passed its deadline and comes to the reader as the next level.
        ProcessStepOverdue = "process_step_overdue",
        /// A defect found at a handover (or found again at re-inspection) is engineering's to rectify.
        DefectToRectify = "defect_to_rectify",
        /// A defect the reader found is rectified and awaits their re-inspection.
        DefectRectified = "defect_rectified",
        /// A defect is past its deadline, still not rectified.
        DefectOverdue = "defect_overdue",
    }
}

named_enum! {
    /// Where a background job stands.
    pub enum JobStatus("job status") {
        Queued = "queued",
        Running = "running",
        Done = "done",
        /// Gave up after its last attempt; an admin may requeue it.
        Dead = "dead",
    }
}

impl JobStatus {
    /// Still to finish, one way or another.
    pub const fn is_open(self) -> bool {
        matches!(self, JobStatus::Queued | JobStatus::Running)
    }
}

named_enum! {
    /// Where one webhook delivery stands.
    pub enum DeliveryStatus("delivery status") {
        /// Not yet delivered; retried with backoff.
        Pending = "pending",
        Delivered = "delivered",
        /// Given up on (attempts exhausted or the subscription switched off).
        Failed = "failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::assert_names_round_trip;

    #[test]
    fn names_round_trip() {
        assert_names_round_trip(&JobStatus::ALL, |s| s.name());
        assert_names_round_trip(&DeliveryStatus::ALL, |s| s.name());
    }
}

named_enum! {
    /// The database a heavy report read: the primary, or a streaming replica.
    pub enum ReportDatabase("report database") {
        Primary = "primary",
        Replica = "replica",
    }
}

named_enum! {
    /// Why a report read the primary although a replica is configured.
    pub enum ReplicaFallback("replica fallback") {
        /// The replica did not answer.
        ReplicaUnreachable = "replica_unreachable",
        /// The replica answered, further behind than allowed.
        ReplicaBehind = "replica_behind",
    }
}
