//! One fleet's sweep: paging `DescribeGameSessions` to the end and aggregating page by page.
//!
//! # Why two kinds of pass
//! Terminated sessions stay visible for 30 days, so an unfiltered listing of a busy fleet is
//! mostly history, and re-reading it every minute would cost our users' API quota in proportion
//! to a month of traffic. So:
//! - a **live pass** (every `sweep.interval`) lists only `StatusFilter` = each of
//!   `sweep.live_statuses` (default ACTIVE alone): its cost follows the live sessions, whatever
//!   the history. ACTIVATING and TERMINATING are, in AWS's words, "transitory and used for only
//!   very brief periods of time"; listing each costs at least one more call per fleet per sweep,
//!   so by default they are counted by full passes only;
//! - a **full pass** (every `sweep.history_interval`, and first) lists without a filter and so
//!   sees every status, TERMINATED and ERROR included (ERROR cannot be filtered on), which feed
//!   the terminated counts, the interruption counter and the last-interruption timestamp.
//!
//! A pass that fails part-way returns an error and nothing else: partial totals never leave it.

use crate::aggregate::{is_live, HistoryTotals, LiveTotals, SessionFacts};
use crate::aws::{FailureReason, RegionClient};
use aws_sdk_gamelift::types::{GameSession, GameSessionStatus, PlayerSessionCreationPolicy};
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    Live,
    Full,
}

impl Pass {
    pub fn as_str(self) -> &'static str {
        match self {
            Pass::Live => "live",
            Pass::Full => "full",
        }
    }
}

/// An INTERRUPTED session not counted before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interruption {
    pub session_key: u64,
    pub location: String,
    /// TerminationTime, or the time it was first seen when it has none (epoch ms).
    pub ended_ms: i64,
}

/// What a completed pass found.
#[derive(Debug, Clone, Default)]
pub struct PassResult {
    pub live: BTreeMap<String, LiveTotals>,
    /// Only for full passes.
    pub history: Option<BTreeMap<String, HistoryTotals>>,
    pub interruptions: Vec<Interruption>,
    /// DescribeGameSessions calls made (SDK retries not included).
    pub calls: u64,
    pub sessions_seen: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("DescribeGameSessions failed after {calls} calls ({reason}): {message}")]
pub struct SweepError {
    pub reason: FailureReason,
    pub message: String,
    pub calls: u64,
}

/// What the interruption counter already knows about a fleet.
pub struct InterruptionLedger<'a> {
    /// Sessions counted so far (keyed by a hash of the session ARN).
    pub counted: &'a HashMap<u64, i64>,
    /// Only sessions that ended after this instant (the exporter's start, epoch ms) count.
    pub since_ms: i64,
    /// The first full pass of a fleet only sets the baseline for sessions without TerminationTime.
    pub baseline: bool,
    pub now_ms: i64,
}

/// A stable key for a session id, so the ledger does not keep ARNs.
pub fn session_key(game_session_id: &str) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    game_session_id.hash(&mut hasher);
    hasher.finish()
}

/// Runs one pass over a fleet.
pub async fn sweep_fleet(
    client: &RegionClient,
    fleet_id: &str,
    home_region: &str,
    pass: Pass,
    page_size: u32,
    live_statuses: &[String],
    ledger: &InterruptionLedger<'_>,
) -> Result<PassResult, SweepError> {
    let filters: Vec<Option<&str>> = match pass {
        Pass::Live => live_statuses.iter().map(|s| Some(s.as_str())).collect(),
        Pass::Full => vec![None],
    };
    let mut result = PassResult::default();
    let mut history: BTreeMap<String, HistoryTotals> = BTreeMap::new();
    for filter in filters {
        let mut token: Option<String> = None;
        loop {
            client.budget.acquire().await;
            result.calls += 1;
            let page = client
                .client
                .describe_game_sessions()
                .fleet_id(fleet_id)
                .set_status_filter(filter.map(str::to_string))
                .limit(page_size as i32)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|error| SweepError {
                    reason: FailureReason::of(&error),
                    message: crate::aws::describe(&error),
                    calls: result.calls,
                })?;
            for session in page.game_sessions() {
                result.sessions_seen += 1;
                let status = session.status().map_or("UNKNOWN", GameSessionStatus::as_str);
                let reason = session.status_reason().map_or("", |r| r.as_str());
                let location = session.location().unwrap_or(home_region);
                let facts = SessionFacts {
                    location,
                    status,
                    status_reason: reason,
                    current_players: i64::from(session.current_player_session_count().unwrap_or(0)),
                    max_players: i64::from(session.maximum_player_session_count().unwrap_or(0)),
                    accept_all: session.player_session_creation_policy()
                        == Some(&PlayerSessionCreationPolicy::AcceptAll),
                    termination_ms: session.termination_time().and_then(|t| t.to_millis().ok()),
                };
                if is_live(status) {
                    result.live.entry(location.to_string()).or_default().add(&facts);
                } else if pass == Pass::Full {
                    history.entry(location.to_string()).or_default().add(&facts);
                    if reason == "INTERRUPTED" {
                        note_interruption(&mut result, session, location, &facts, ledger);
                    }
                }
            }
            let next = page.next_token().map(str::to_string);
            if next.is_some() && next == token {
                return Err(SweepError {
                    reason: FailureReason::Other,
                    message: "the API returned the same NextToken twice; stopping to avoid a loop".into(),
                    calls: result.calls,
                });
            }
            token = next;
            if token.is_none() {
                break;
            }
        }
    }
    if pass == Pass::Full {
        result.history = Some(history);
    }
    Ok(result)
}

fn note_interruption(
    result: &mut PassResult,
    session: &GameSession,
    location: &str,
    facts: &SessionFacts,
    ledger: &InterruptionLedger,
) {
    let Some(id) = session.game_session_id() else {
        return;
    };
    let key = session_key(id);
    if ledger.counted.contains_key(&key) {
        return;
    }
    let ended_ms = match facts.termination_ms {
        Some(ended) if ended > ledger.since_ms => ended,
        Some(_) => return,
        // No TerminationTime: first sighting is the time, except in the baseline pass, which
        // would otherwise count a month of history on every restart.
        None if ledger.baseline => return,
        None => ledger.now_ms,
    };
    result.interruptions.push(Interruption {
        session_key: key,
        location: location.to_string(),
        ended_ms,
    });
}
