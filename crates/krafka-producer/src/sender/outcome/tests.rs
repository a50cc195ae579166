//! The verdict for every error a Produce answer can carry, as a table, and the facts that
//! change a verdict.

use super::*;

/// A stamped batch of ten records, never written, its partition otherwise resolved.
const FRESH: BatchFacts = BatchFacts {
    record_count: 10,
    written: Written::No,
    stamped: true,
    earlier_batch_unresolved: false,
};

const fn retry(written: Written, metadata: MetadataHint) -> Verdict {
    Verdict::Retry {
        written,
        not_in_log: false,
        bump_epoch: false,
        metadata,
    }
}

const RESEND_NEW_EPOCH: Verdict = Verdict::Retry {
    written: Written::No,
    not_in_log: true,
    bump_epoch: true,
    metadata: MetadataHint::None,
};

const FAIL: Verdict = Verdict::Fail {
    kind: FailKind::Broker,
    bump_epoch: true,
};

fn report(code: ErrorCode) -> Verdict {
    retry(Written::No, MetadataHint::Report(code))
}

/// Every error code Kafka's produce path returns (ProduceResponse's documented errors, and
/// what the Java client's Sender handles), with the verdict for [`FRESH`].
fn produce_errors() -> Vec<(ErrorCode, Verdict)> {
    use ErrorCode as E;
    vec![
        (E::NONE, Verdict::Acknowledge { with_offset: true }),
        (
            E::DUPLICATE_SEQUENCE_NUMBER,
            Verdict::Acknowledge { with_offset: false },
        ),
        (E::MESSAGE_TOO_LARGE, Verdict::Split),
        (E::RECORD_LIST_TOO_LARGE, Verdict::Split),
        (E::OUT_OF_ORDER_SEQUENCE_NUMBER, RESEND_NEW_EPOCH),
        (E::UNKNOWN_PRODUCER_ID, RESEND_NEW_EPOCH),
        (E::INVALID_PRODUCER_EPOCH, Verdict::Fatal),
        (E::PRODUCER_FENCED, Verdict::Fatal),
        (E::CLUSTER_AUTHORIZATION_FAILED, Verdict::Fatal),
        (E::TRANSACTIONAL_ID_AUTHORIZATION_FAILED, Verdict::Fatal),
        (
            E::NOT_ENOUGH_REPLICAS_AFTER_APPEND,
            retry(Written::Maybe, MetadataHint::None),
        ),
        (
            E::REQUEST_TIMED_OUT,
            retry(Written::Maybe, MetadataHint::None),
        ),
        (E::CORRUPT_MESSAGE, report(E::CORRUPT_MESSAGE)),
        (
            E::UNKNOWN_TOPIC_OR_PARTITION,
            report(E::UNKNOWN_TOPIC_OR_PARTITION),
        ),
        (E::LEADER_NOT_AVAILABLE, report(E::LEADER_NOT_AVAILABLE)),
        (E::NOT_LEADER_OR_FOLLOWER, report(E::NOT_LEADER_OR_FOLLOWER)),
        (E::NETWORK_EXCEPTION, report(E::NETWORK_EXCEPTION)),
        (E::NOT_ENOUGH_REPLICAS, report(E::NOT_ENOUGH_REPLICAS)),
        (E::KAFKA_STORAGE_ERROR, report(E::KAFKA_STORAGE_ERROR)),
        (E::UNKNOWN_TOPIC_ID, report(E::UNKNOWN_TOPIC_ID)),
        (E::INCONSISTENT_TOPIC_ID, report(E::INCONSISTENT_TOPIC_ID)),
        (E::FENCED_LEADER_EPOCH, report(E::FENCED_LEADER_EPOCH)),
        (
            E::THROTTLING_QUOTA_EXCEEDED,
            report(E::THROTTLING_QUOTA_EXCEEDED),
        ),
        (
            E::CONCURRENT_TRANSACTIONS,
            report(E::CONCURRENT_TRANSACTIONS),
        ),
        (E::UNKNOWN_SERVER_ERROR, FAIL),
        (E::INVALID_TOPIC_EXCEPTION, FAIL),
        (E::INVALID_REQUIRED_ACKS, FAIL),
        (E::TOPIC_AUTHORIZATION_FAILED, FAIL),
        (E::INVALID_TIMESTAMP, FAIL),
        (E::UNSUPPORTED_FOR_MESSAGE_FORMAT, FAIL),
        (E::UNSUPPORTED_COMPRESSION_TYPE, FAIL),
        (E::UNSUPPORTED_VERSION, FAIL),
        (E::POLICY_VIOLATION, FAIL),
        (E::INVALID_RECORD, FAIL),
        (E::INVALID_TXN_STATE, FAIL),
        (E::INVALID_PRODUCER_ID_MAPPING, FAIL),
        (E::TRANSACTION_COORDINATOR_FENCED, FAIL),
        (E::INVALID_REQUEST, FAIL),
        (E::BROKER_NOT_AVAILABLE, FAIL),
    ]
}

#[test]
fn every_produce_error_has_its_verdict() {
    for (code, want) in produce_errors() {
        assert_eq!(answered(code, FRESH), want, "{code}");
    }
}

#[test]
fn every_other_known_code_retries_when_retriable_and_fails_otherwise() {
    let listed: Vec<ErrorCode> = produce_errors().into_iter().map(|(c, _)| c).collect();
    for &code in ErrorCode::KNOWN.iter().filter(|c| !listed.contains(c)) {
        let want = if code.is_retriable() {
            report(code)
        } else {
            FAIL
        };
        assert_eq!(answered(code, FRESH), want, "{code}");
    }
    // A code no Kafka version defines is not retried.
    assert_eq!(answered(ErrorCode(-2), FRESH), FAIL);
    assert_eq!(answered(ErrorCode(9999), FRESH), FAIL);
}

#[test]
fn out_of_order_behind_an_unresolved_batch_is_an_echo() {
    let behind = BatchFacts {
        earlier_batch_unresolved: true,
        ..FRESH
    };
    let echo = Verdict::Retry {
        written: Written::No,
        not_in_log: true,
        bump_epoch: false,
        metadata: MetadataHint::None,
    };
    assert_eq!(
        answered(ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER, behind),
        echo
    );
    // UNKNOWN_PRODUCER_ID is never an echo: the broker lost the producer's state.
    assert_eq!(
        answered(ErrorCode::UNKNOWN_PRODUCER_ID, behind),
        RESEND_NEW_EPOCH
    );
}

#[test]
fn too_large_splits_only_what_can_be_split() {
    let too_large = Verdict::Fail {
        kind: FailKind::TooLarge,
        bump_epoch: true,
    };
    for code in [
        ErrorCode::MESSAGE_TOO_LARGE,
        ErrorCode::RECORD_LIST_TOO_LARGE,
    ] {
        let single = BatchFacts {
            record_count: 1,
            ..FRESH
        };
        assert_eq!(answered(code, single), too_large, "{code}: one record");
        // A batch an attempt may have written keeps its sequence range whole.
        let maybe = BatchFacts {
            written: Written::Maybe,
            ..FRESH
        };
        assert_eq!(answered(code, maybe), too_large, "{code}: maybe written");
    }
}

#[test]
fn an_unstamped_batch_needs_no_new_epoch_when_it_fails() {
    let plain = BatchFacts {
        stamped: false,
        ..FRESH
    };
    assert_eq!(
        answered(ErrorCode::INVALID_RECORD, plain),
        Verdict::Fail {
            kind: FailKind::Broker,
            bump_epoch: false
        }
    );
    assert_eq!(
        connection_failed(false, true, plain),
        Verdict::Fail {
            kind: FailKind::Network,
            bump_epoch: false
        }
    );
}

#[test]
fn connection_failures_retry_when_retriable_knowing_whether_bytes_left() {
    assert_eq!(
        connection_failed(true, false, FRESH),
        retry(Written::No, MetadataHint::Refresh)
    );
    assert_eq!(
        connection_failed(true, true, FRESH),
        retry(Written::Maybe, MetadataHint::Refresh)
    );
    assert_eq!(
        connection_failed(false, false, FRESH),
        Verdict::Fail {
            kind: FailKind::Network,
            bump_epoch: true
        }
    );
    assert_eq!(left_out(), retry(Written::Maybe, MetadataHint::None));
}
