//! What a produce answer means for one batch, decided in plain code: acknowledged, retried (and
//! whether the attempt may have written it), split, failed, or a reason to bump the epoch or
//! stop. No I/O, no clock, no sender state: the facts the decision needs come in as
//! [`BatchFacts`], the decision goes out as a [`Verdict`], and `resolve` carries it out.
//!
//! Kafka's rules, as the Java client applies them to an idempotent producer:
//! - retriable errors retry the batch with its sequence after a backoff (the broker drops
//!   duplicates of its last five batches), refreshing metadata when the leader moved;
//! - NOT_ENOUGH_REPLICAS_AFTER_APPEND and REQUEST_TIMED_OUT retry knowing the records may be
//!   in the leader's log already;
//! - DUPLICATE_SEQUENCE_NUMBER means the batch is in the log (offset unknown);
//! - OUT_OF_ORDER_SEQUENCE_NUMBER after an earlier batch of the partition failed is just that
//!   failure's echo: retry in order. Without one, the broker lost our state, as with
//!   UNKNOWN_PRODUCER_ID: bump the epoch and resend (the batch is known not to be in the log);
//! - MESSAGE_TOO_LARGE and RECORD_LIST_TOO_LARGE split a batch of two or more records that no
//!   attempt may have written, keeping its sequence range; otherwise the batch fails as too
//!   large;
//! - fencing and authorization errors on the producer or cluster stop the producer;
//! - any other error fails the batch, and a stamped batch's spent sequence needs a new epoch.

use krafka_protocol::ErrorCode;

use crate::error::Written;

/// What the decision needs to know about a batch and its partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BatchFacts {
    /// Records in the batch.
    pub(super) record_count: i32,
    /// Whether an earlier attempt may have written the batch.
    pub(super) written: Written,
    /// Whether the batch carries an idempotent sequence.
    pub(super) stamped: bool,
    /// Whether an earlier batch of the partition failed and its retry is pending, or an
    /// earlier batch is still unresolved: an OUT_OF_ORDER_SEQUENCE_NUMBER is then its echo.
    pub(super) earlier_batch_unresolved: bool,
}

/// What metadata learns from a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum MetadataHint {
    /// Nothing.
    None,
    /// The error says where the leader is not (metadata refreshes if it is a stale-leader
    /// error).
    Report(ErrorCode),
    /// The connection failed: refresh.
    Refresh,
}

/// Why a batch fails for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FailKind {
    /// The broker's error, as it answered.
    Broker,
    /// Larger than the broker takes, and cannot be split.
    TooLarge,
    /// The request failed on the connection with an error that is not retriable.
    Network,
}

/// What to do with a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// In the log; `with_offset` when the answer's base offset and append time are the
    /// batch's (not for a duplicate).
    Acknowledge { with_offset: bool },
    /// Split in two and retry both halves.
    Split,
    /// Back into the partition's queue after a backoff.
    Retry {
        /// Whether this attempt may have written it.
        written: Written,
        /// The broker is behind this batch's sequence: it is known not to be in the log.
        not_in_log: bool,
        /// The producer id lost its state at the broker: bump the epoch first.
        bump_epoch: bool,
        /// What metadata should learn.
        metadata: MetadataHint,
    },
    /// Fail the batch and stop the producer: every later batch fails with this error.
    Fatal,
    /// Fail the batch; `bump_epoch` when its sequence is spent.
    Fail { kind: FailKind, bump_epoch: bool },
}

/// The verdict for a batch whose partition the broker answered with `code`.
pub(super) fn answered(code: ErrorCode, facts: BatchFacts) -> Verdict {
    match code {
        ErrorCode::NONE => Verdict::Acknowledge { with_offset: true },
        ErrorCode::DUPLICATE_SEQUENCE_NUMBER => Verdict::Acknowledge { with_offset: false },
        ErrorCode::MESSAGE_TOO_LARGE | ErrorCode::RECORD_LIST_TOO_LARGE
            if facts.record_count > 1 && facts.written == Written::No =>
        {
            Verdict::Split
        }
        ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER | ErrorCode::UNKNOWN_PRODUCER_ID => {
            let echo =
                code == ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER && facts.earlier_batch_unresolved;
            Verdict::Retry {
                written: Written::No,
                not_in_log: true,
                bump_epoch: !echo,
                metadata: MetadataHint::None,
            }
        }
        ErrorCode::INVALID_PRODUCER_EPOCH
        | ErrorCode::PRODUCER_FENCED
        | ErrorCode::CLUSTER_AUTHORIZATION_FAILED
        | ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED => Verdict::Fatal,
        // The records reached the leader's log although the request failed.
        ErrorCode::NOT_ENOUGH_REPLICAS_AFTER_APPEND | ErrorCode::REQUEST_TIMED_OUT => {
            Verdict::Retry {
                written: Written::Maybe,
                not_in_log: false,
                bump_epoch: false,
                metadata: MetadataHint::None,
            }
        }
        code if code.is_retriable() => Verdict::Retry {
            written: Written::No,
            not_in_log: false,
            bump_epoch: false,
            metadata: MetadataHint::Report(code),
        },
        ErrorCode::MESSAGE_TOO_LARGE | ErrorCode::RECORD_LIST_TOO_LARGE => Verdict::Fail {
            kind: FailKind::TooLarge,
            bump_epoch: facts.stamped,
        },
        _ => Verdict::Fail {
            kind: FailKind::Broker,
            bump_epoch: facts.stamped,
        },
    }
}

/// The verdict for a batch whose answer did not name its partition: the request may have
/// written it, so retry (the sequence makes a duplicate harmless).
pub(super) fn left_out() -> Verdict {
    Verdict::Retry {
        written: Written::Maybe,
        not_in_log: false,
        bump_epoch: false,
        metadata: MetadataHint::None,
    }
}

/// The verdict for a batch whose request failed on the connection: `retriable` as the
/// connection error says, `sent` when its bytes may have reached the broker.
pub(super) fn connection_failed(retriable: bool, sent: bool, facts: BatchFacts) -> Verdict {
    let written = if sent { Written::Maybe } else { Written::No };
    if retriable {
        Verdict::Retry {
            written,
            not_in_log: false,
            bump_epoch: false,
            metadata: MetadataHint::Refresh,
        }
    } else {
        Verdict::Fail {
            kind: FailKind::Network,
            bump_epoch: facts.stamped,
        }
    }
}

#[cfg(test)]
mod tests;
