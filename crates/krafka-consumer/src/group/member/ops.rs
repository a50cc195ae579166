//! The application's commits and committed-offset lookups as the member queues them for the
//! coordinator: their attempts and retry times, the ownership filter a commit passes before it
//! goes, and what each answer means for them. No I/O; the member applies the [`Step`]s.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use krafka_net::NetError;
use krafka_protocol::ErrorCode;

use super::outcome::{CommitVerdict, commit_verdict};
use crate::error::ConsumeError;
use crate::group::Offsets;
use crate::record::TopicPartition;

/// Commits are tried this many times (three tries ride out a coordinator move).
const COMMIT_ATTEMPTS: u32 = 3;
/// Committed-offset lookups are tried this many times.
const LOOKUP_ATTEMPTS: u32 = 5;

/// Committed offsets by partition (`None` where nothing is committed).
pub(crate) type Committed = HashMap<TopicPartition, Option<i64>>;

/// Whose commit it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// The application's (`None`: auto-commit, which nobody waits for).
    App(Option<u64>),
    /// The answer to revocation `id`.
    Revocation(u64),
    /// The close's.
    Close,
}

/// One operation waiting for the coordinator.
#[derive(Debug)]
pub(crate) enum Op {
    Commit {
        offsets: Offsets,
        purpose: Purpose,
        attempts: u32,
        not_before: Option<Instant>,
        /// Set once the offsets were filtered by ownership (at the first send): the refusal
        /// of a partition that was not owned, if any.
        refused: Option<Option<ConsumeError>>,
    },
    Lookup {
        partitions: Vec<TopicPartition>,
        token: u64,
        attempts: u32,
        not_before: Option<Instant>,
    },
}

impl Op {
    /// The same operation with one more attempt spent, or the operation out of attempts.
    fn spend_attempt(self) -> Spent {
        match self {
            Op::Commit {
                offsets,
                purpose,
                attempts,
                not_before,
                refused,
            } if attempts + 1 < COMMIT_ATTEMPTS => Spent::Again(Op::Commit {
                offsets,
                purpose,
                attempts: attempts + 1,
                not_before,
                refused,
            }),
            Op::Lookup {
                partitions,
                token,
                attempts,
                not_before,
            } if attempts + 1 < LOOKUP_ATTEMPTS => Spent::Again(Op::Lookup {
                partitions,
                token,
                attempts: attempts + 1,
                not_before,
            }),
            op => Spent::Out(op),
        }
    }

    /// Waits until `at` before it may go again.
    fn delayed(mut self, at: Instant) -> Op {
        let (Op::Commit { not_before, .. } | Op::Lookup { not_before, .. }) = &mut self;
        *not_before = Some(at);
        self
    }

    fn ready(&self, now: Instant) -> bool {
        self.not_before().is_none_or(|at| now >= at)
    }

    fn not_before(&self) -> Option<Instant> {
        match self {
            Op::Commit { not_before, .. } | Op::Lookup { not_before, .. } => *not_before,
        }
    }
}

/// An operation after a failed attempt.
enum Spent {
    /// It may go again.
    Again(Op),
    /// It has no attempts left.
    Out(Op),
}

/// An operation that is over.
#[derive(Debug)]
pub(crate) enum Done {
    Commit {
        purpose: Purpose,
        result: Result<(), ConsumeError>,
    },
    Lookup {
        token: u64,
        result: Result<Committed, ConsumeError>,
    },
}

/// What an answer means beyond the operation itself.
#[derive(Debug, Default)]
pub(crate) struct Step {
    /// The coordinator is gone: find it again.
    pub lose_coordinator: bool,
    /// The member was fenced out of its generation: rejoin.
    pub rejoin: bool,
    /// How many offsets were committed.
    pub committed: Option<u64>,
    pub done: Option<Done>,
}

/// The queue.
#[derive(Debug)]
pub(crate) struct Ops {
    queue: VecDeque<Op>,
    /// What auto-commit last committed, so unchanged offsets are not sent again.
    last_auto_commit: HashMap<TopicPartition, i64>,
    retry_backoff: Duration,
}

impl Ops {
    pub(crate) fn new(retry_backoff: Duration) -> Self {
        Self {
            queue: VecDeque::new(),
            last_auto_commit: HashMap::new(),
            retry_backoff,
        }
    }

    /// Queues a commit; a revocation's goes first (the application waits on it).
    pub(crate) fn commit(&mut self, offsets: Offsets, purpose: Purpose) {
        let op = Op::Commit {
            offsets,
            purpose,
            attempts: 0,
            not_before: None,
            refused: None,
        };
        if matches!(purpose, Purpose::Revocation(_)) {
            self.queue.push_front(op);
        } else {
            self.queue.push_back(op);
        }
    }

    pub(crate) fn lookup(&mut self, partitions: Vec<TopicPartition>, token: u64) {
        self.queue.push_back(Op::Lookup {
            partitions,
            token,
            attempts: 0,
            not_before: None,
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Whether an operation may go now.
    pub(crate) fn any_ready(&self, now: Instant) -> bool {
        self.queue.iter().any(|op| op.ready(now))
    }

    /// When the earliest operation waiting out its retry backoff may go.
    pub(crate) fn next_retry(&self) -> Option<Instant> {
        self.queue.iter().filter_map(Op::not_before).min()
    }

    /// Ends the retry backoffs that are over at `now`.
    pub(crate) fn backoffs_over(&mut self, now: Instant) {
        for op in &mut self.queue {
            let (Op::Commit { not_before, .. } | Op::Lookup { not_before, .. }) = op;
            not_before.take_if(|at| now >= *at);
        }
    }

    /// The first operation that may go now, filtered for sending: only owned partitions are
    /// committed when `by_ownership` (a partition revoked meanwhile belongs to another member
    /// now; an application's commit then fails with [`ConsumeError::NotAssigned`] after
    /// committing the owned ones, as Java's fails with `CommitFailedException`), and
    /// auto-commits skip unchanged offsets. A commit left with nothing to send is done at once.
    pub(crate) fn next(
        &mut self,
        now: Instant,
        owned: &BTreeSet<TopicPartition>,
        by_ownership: bool,
    ) -> Option<Result<Op, Done>> {
        let i = self.queue.iter().position(|op| op.ready(now))?;
        let mut op = self.queue.remove(i)?;
        if let Op::Commit {
            offsets,
            purpose,
            refused,
            ..
        } = &mut op
            && refused.is_none()
        {
            let auto = *purpose == Purpose::App(None);
            let mut not_owned = None;
            if by_ownership {
                offsets.retain(|(tp, _)| {
                    let owned = owned.contains(tp);
                    if !owned && not_owned.is_none() {
                        not_owned = Some(tp.clone());
                    }
                    owned
                });
            }
            if auto {
                offsets.retain(|(tp, o)| self.last_auto_commit.get(tp) != Some(o));
                not_owned = None;
            }
            let refusal = not_owned.map(ConsumeError::NotAssigned);
            if offsets.is_empty() {
                return Some(Err(Done::Commit {
                    purpose: *purpose,
                    result: refusal.map_or(Ok(()), Err),
                }));
            }
            *refused = Some(refusal);
        }
        Some(Ok(op))
    }

    /// A commit's answer: each partition's code, or the request's failure.
    pub(crate) fn commit_answered(
        &mut self,
        now: Instant,
        op: Op,
        codes: Result<Vec<(TopicPartition, ErrorCode)>, NetError>,
    ) -> Step {
        let code = match codes {
            Ok(codes) => codes
                .iter()
                .map(|(_, c)| *c)
                .find(|c| *c != ErrorCode::NONE),
            Err(e) if e.is_retriable() => {
                return self.retry(now, op, ErrorCode::NETWORK_EXCEPTION, true);
            }
            Err(e) => return finished(op, Err(ConsumeError::Network(e))),
        };
        let Some(code) = code else {
            let mut committed = None;
            if let Op::Commit { offsets, .. } = &op {
                for (tp, o) in offsets {
                    self.last_auto_commit.insert(tp.clone(), *o);
                }
                committed = Some(offsets.len() as u64);
            }
            return Step {
                committed,
                ..finished(op, Ok(None))
            };
        };
        match commit_verdict(code) {
            CommitVerdict::Retry { code, find } => self.retry(now, op, code, find),
            CommitVerdict::Final { code, rejoin } => Step {
                rejoin,
                ..finished(op, Err(ConsumeError::Group(code)))
            },
        }
    }

    /// A lookup's answer.
    pub(crate) fn lookup_answered(
        &mut self,
        now: Instant,
        op: Op,
        found: Result<Result<Committed, ErrorCode>, NetError>,
    ) -> Step {
        let (code, lost) = match found {
            Ok(Ok(found)) => return finished(op, Ok(Some(found))),
            Ok(Err(code)) => (
                code,
                matches!(
                    code,
                    ErrorCode::NOT_COORDINATOR | ErrorCode::COORDINATOR_NOT_AVAILABLE
                ),
            ),
            Err(e) if !e.is_retriable() => return finished(op, Err(ConsumeError::Network(e))),
            Err(_) => (ErrorCode::NETWORK_EXCEPTION, true),
        };
        if code.is_retriable() || code == ErrorCode::NETWORK_EXCEPTION {
            self.retry(now, op, code, lost)
        } else {
            Step {
                lose_coordinator: lost,
                ..finished(op, Err(ConsumeError::Group(code)))
            }
        }
    }

    /// No answer within the request timeout.
    pub(crate) fn timed_out(&mut self, now: Instant, op: Op) -> Step {
        self.retry(now, op, ErrorCode::REQUEST_TIMED_OUT, true)
    }

    /// Queues `op` again after `retry_backoff`, or fails it with `code` once out of attempts.
    fn retry(&mut self, now: Instant, op: Op, code: ErrorCode, lose_coordinator: bool) -> Step {
        match op.spend_attempt() {
            Spent::Again(op) => {
                tracing::debug!(%code, "request failed; retrying");
                self.queue.push_front(op.delayed(now + self.retry_backoff));
                Step {
                    lose_coordinator,
                    ..Step::default()
                }
            }
            Spent::Out(op) => Step {
                lose_coordinator,
                ..finished(op, Err(ConsumeError::Group(code)))
            },
        }
    }

    /// The coordinator could not be found: every waiting operation loses one attempt, and
    /// those out of attempts fail (a commit, the close's too, waits for at most a few
    /// searches, so that a close with the coordinator unreachable still ends).
    pub(crate) fn coordinator_not_found(&mut self) -> Vec<Done> {
        let mut done = Vec::new();
        for op in std::mem::take(&mut self.queue) {
            match op.spend_attempt() {
                Spent::Again(op) => self.queue.push_back(op),
                Spent::Out(op) => done.extend(
                    finished(
                        op,
                        Err(ConsumeError::Group(ErrorCode::COORDINATOR_NOT_AVAILABLE)),
                    )
                    .done,
                ),
            }
        }
        done
    }

    /// Ends every waiting operation with `error`.
    pub(crate) fn fail_all(&mut self, error: impl Fn() -> ConsumeError) -> Vec<Done> {
        std::mem::take(&mut self.queue)
            .into_iter()
            .filter_map(|op| finished(op, Err(error())).done)
            .collect()
    }

    /// Forgets revocation commits (their partitions were lost) and what auto-commit knew.
    pub(crate) fn members_partitions_lost(&mut self) {
        self.queue.retain(|op| {
            !matches!(
                op,
                Op::Commit {
                    purpose: Purpose::Revocation(_),
                    ..
                }
            )
        });
        self.last_auto_commit.clear();
    }

    /// `partition` went to another member.
    pub(crate) fn forget(&mut self, partition: &TopicPartition) {
        self.last_auto_commit.remove(partition);
    }
}

/// `op` is over with `result` (a lookup's committed offsets; `None` for a commit).
fn finished(op: Op, result: Result<Option<Committed>, ConsumeError>) -> Step {
    let done = match op {
        Op::Commit {
            purpose, refused, ..
        } => Done::Commit {
            purpose,
            // The owned partitions are committed; one that was not is still refused.
            result: result.and_then(|_| refused.flatten().map_or(Ok(()), Err)),
        },
        Op::Lookup { token, .. } => Done::Lookup {
            token,
            result: result.map(Option::unwrap_or_default),
        },
    };
    Step {
        done: Some(done),
        ..Step::default()
    }
}
