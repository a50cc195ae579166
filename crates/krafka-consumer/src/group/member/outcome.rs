//! What a group error code means for the member, as Java's `AbstractCoordinator` and
//! `ConsumerCoordinator` read them. Pure functions of the code: the member applies the verdict.
//!
//! - NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS, a failed or
//!   timed-out request: find the coordinator again; membership is kept (the broker still has
//!   it until the session expires).
//! - REBALANCE_IN_PROGRESS: rejoin (the callers handle it: what to do depends on the request).
//! - UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION: the member was removed; its partitions are lost
//!   (no commit can be made for them) and it rejoins (UNKNOWN_MEMBER_ID with a fresh id).
//! - FENCED_INSTANCE_ID, GROUP_AUTHORIZATION_FAILED, INCONSISTENT_GROUP_PROTOCOL,
//!   INVALID_SESSION_TIMEOUT, GROUP_MAX_SIZE_REACHED, …: fatal; reported to the application,
//!   which stops getting records from the group.
//! - Anything else: reported to the application, and the step is tried again after a backoff.

use krafka_protocol::ErrorCode;

/// The verdict on a group request's error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Nothing wrong.
    Fine,
    /// The coordinator is unknown or unreachable: find it again.
    CoordinatorLost,
    /// The member is no longer in the group (the code says why): its partitions are lost.
    MemberLost(ErrorCode),
    /// The group refused the member for good.
    Fatal(ErrorCode),
    /// Neither about the coordinator nor the membership (TOPIC_AUTHORIZATION_FAILED on an
    /// offset lookup, …): reported, then retried after a backoff.
    Refused(ErrorCode),
}

/// Group errors that end membership for good.
pub(crate) fn is_fatal(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::FENCED_INSTANCE_ID
            | ErrorCode::GROUP_AUTHORIZATION_FAILED
            | ErrorCode::INCONSISTENT_GROUP_PROTOCOL
            | ErrorCode::INVALID_SESSION_TIMEOUT
            | ErrorCode::GROUP_MAX_SIZE_REACHED
            | ErrorCode::GROUP_ID_NOT_FOUND
            | ErrorCode::UNSUPPORTED_VERSION
            | ErrorCode::INVALID_GROUP_ID
    )
}

/// The verdict on `code` from a JoinGroup, SyncGroup, Heartbeat or OffsetFetch (NONE and
/// REBALANCE_IN_PROGRESS are the callers' to read first).
pub(crate) fn classify(code: ErrorCode) -> Verdict {
    match code {
        ErrorCode::NONE => Verdict::Fine,
        ErrorCode::NOT_COORDINATOR
        | ErrorCode::COORDINATOR_NOT_AVAILABLE
        | ErrorCode::COORDINATOR_LOAD_IN_PROGRESS
        | ErrorCode::REQUEST_TIMED_OUT
        | ErrorCode::NETWORK_EXCEPTION => Verdict::CoordinatorLost,
        ErrorCode::UNKNOWN_MEMBER_ID | ErrorCode::ILLEGAL_GENERATION => Verdict::MemberLost(code),
        code if is_fatal(code) => Verdict::Fatal(code),
        code => Verdict::Refused(code),
    }
}

/// What a failed commit does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CommitVerdict {
    /// Try again after `retry_backoff` (up to the attempt limit); `find` asks to find the
    /// coordinator first.
    Retry { code: ErrorCode, find: bool },
    /// Give up with this code; `rejoin` when the member must rejoin (it was fenced out of
    /// its generation: the next heartbeat finds out).
    Final { code: ErrorCode, rejoin: bool },
}

/// The verdict on an OffsetCommit partition error (never NONE).
pub(crate) fn commit_verdict(code: ErrorCode) -> CommitVerdict {
    match code {
        ErrorCode::NOT_COORDINATOR | ErrorCode::COORDINATOR_NOT_AVAILABLE => {
            CommitVerdict::Retry { code, find: true }
        }
        ErrorCode::COORDINATOR_LOAD_IN_PROGRESS | ErrorCode::REQUEST_TIMED_OUT => {
            CommitVerdict::Retry { code, find: false }
        }
        ErrorCode::UNKNOWN_MEMBER_ID | ErrorCode::ILLEGAL_GENERATION => {
            CommitVerdict::Final { code, rejoin: true }
        }
        code => CommitVerdict::Final {
            code,
            rejoin: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_group_error_has_the_verdict_java_gives_it() {
        let table = [
            (ErrorCode::NONE, Verdict::Fine),
            (ErrorCode::NOT_COORDINATOR, Verdict::CoordinatorLost),
            (
                ErrorCode::COORDINATOR_NOT_AVAILABLE,
                Verdict::CoordinatorLost,
            ),
            (
                ErrorCode::COORDINATOR_LOAD_IN_PROGRESS,
                Verdict::CoordinatorLost,
            ),
            (ErrorCode::REQUEST_TIMED_OUT, Verdict::CoordinatorLost),
            (
                ErrorCode::UNKNOWN_MEMBER_ID,
                Verdict::MemberLost(ErrorCode::UNKNOWN_MEMBER_ID),
            ),
            (
                ErrorCode::ILLEGAL_GENERATION,
                Verdict::MemberLost(ErrorCode::ILLEGAL_GENERATION),
            ),
            (
                ErrorCode::FENCED_INSTANCE_ID,
                Verdict::Fatal(ErrorCode::FENCED_INSTANCE_ID),
            ),
            (
                ErrorCode::GROUP_AUTHORIZATION_FAILED,
                Verdict::Fatal(ErrorCode::GROUP_AUTHORIZATION_FAILED),
            ),
            (
                ErrorCode::INCONSISTENT_GROUP_PROTOCOL,
                Verdict::Fatal(ErrorCode::INCONSISTENT_GROUP_PROTOCOL),
            ),
            (
                ErrorCode::GROUP_MAX_SIZE_REACHED,
                Verdict::Fatal(ErrorCode::GROUP_MAX_SIZE_REACHED),
            ),
            (
                ErrorCode::TOPIC_AUTHORIZATION_FAILED,
                Verdict::Refused(ErrorCode::TOPIC_AUTHORIZATION_FAILED),
            ),
        ];
        for (code, verdict) in table {
            assert_eq!(classify(code), verdict, "{code}");
        }
    }

    #[test]
    fn commit_errors_retry_only_where_a_retry_can_succeed() {
        assert_eq!(
            commit_verdict(ErrorCode::NOT_COORDINATOR),
            CommitVerdict::Retry {
                code: ErrorCode::NOT_COORDINATOR,
                find: true
            }
        );
        assert_eq!(
            commit_verdict(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS),
            CommitVerdict::Retry {
                code: ErrorCode::COORDINATOR_LOAD_IN_PROGRESS,
                find: false
            }
        );
        assert_eq!(
            commit_verdict(ErrorCode::ILLEGAL_GENERATION),
            CommitVerdict::Final {
                code: ErrorCode::ILLEGAL_GENERATION,
                rejoin: true
            }
        );
        assert_eq!(
            commit_verdict(ErrorCode::OFFSET_METADATA_TOO_LARGE),
            CommitVerdict::Final {
                code: ErrorCode::OFFSET_METADATA_TOO_LARGE,
                rejoin: false
            }
        );
    }
}
