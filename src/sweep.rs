//! One fleet's passes: what they ask GameLift, and what they publish.
//!
//! # Live pass (every `sweep.interval`)
//! 1. `DescribeGameSessions` with `StatusFilter` = each of `sweep.live_statuses` (default ACTIVE,
//!    ACTIVATING, TERMINATING), paged to the end: the live numbers, and the fleet's ACTIVE
//!    session ids (hashed) with their location and `ComputeName`. Its cost follows the live
//!    sessions, never the 30-day history.
//! 2. `DescribeFleetEvents` from the fleet's high-water mark (minus an overlap, deduplicated by
//!    `EventId`): new events, `INSTANCE_INTERRUPTED` among them, on their own API quota.
//! 3. The sessions that left ACTIVE since the previous pass are counted; those that sat on an
//!    instance spot reclaimed are looked up with `DescribeGameSessionDetails` (at most
//!    `sweep.max_session_lookups`), and the INTERRUPTED ones counted at once.
//!
//! A live pass that fails in steps 1 or 2 publishes nothing (the fleet goes down and keeps its
//! last complete numbers); a failed lookup only leaves its session for the next pass.
//!
//! # Full pass (every `sweep.history_interval`, in the background)
//! One unfiltered listing (ERROR cannot be filtered on), which is mostly the terminated
//! history: TERMINATED and ERROR counts, the newest interruption per location, and every
//! interrupted session the live path missed. It is paced by its own share of the budget, is
//! applied only when complete, and after a failed page resumes from the last good `NextToken`.

use crate::aggregate::{is_live, HistoryTotals, SessionFacts};
use crate::aws::{self, FailureReason, RegionClient};
use crate::budget::Lane;
use crate::config::Config;
use crate::discovery::Fleet;
use crate::store::{HistoryOutcome, HistoryView, Interruption, LiveOutcome, LiveView, Store};
use crate::tracking::{session_key, LiveTracker, Lookup, INSTANCE_INTERRUPTED};
use aws_sdk_gamelift::types::{GameSession, GameSessionStatus, PlayerSessionCreationPolicy};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A call that failed after its retries, and so the pass.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation} failed ({reason}): {message}")]
pub struct PassError {
    pub operation: &'static str,
    pub reason: FailureReason,
    pub message: String,
}

impl PassError {
    fn of<E>(operation: &'static str, error: &aws_sdk_gamelift::error::SdkError<E>) -> PassError
    where
        E: aws_sdk_gamelift::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        PassError {
            operation,
            reason: FailureReason::of(error),
            message: aws::describe(error),
        }
    }
}

/// What a live pass did, for logs and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveReport {
    /// Logical calls (pages) by operation; retries are in the API counters.
    pub calls: BTreeMap<&'static str, u64>,
    pub sessions_seen: u64,
    pub new_events: u64,
    pub interruptions_found: u64,
}

/// How long interrupted instances and ended sessions are kept in mind: long enough for the
/// two-minute spot notice, an event recorded late, and a couple of live passes.
pub fn interruption_window(config: &Config) -> Duration {
    (config.sweep.interval * 3).max(Duration::from_secs(600))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn facts<'a>(session: &'a GameSession, home_region: &'a str) -> SessionFacts<'a> {
    SessionFacts {
        location: session.location().unwrap_or(home_region),
        status: session.status().map_or("UNKNOWN", GameSessionStatus::as_str),
        status_reason: session.status_reason().map_or("", |r| r.as_str()),
        current_players: i64::from(session.current_player_session_count().unwrap_or(0)),
        max_players: i64::from(session.maximum_player_session_count().unwrap_or(0)),
        accept_all: session.player_session_creation_policy() == Some(&PlayerSessionCreationPolicy::AcceptAll),
        termination_ms: session.termination_time().and_then(|t| t.to_millis().ok()),
    }
}

/// Guards against a service that hands out the same NextToken twice (an endless loop).
fn next_token(
    previous: &Option<String>,
    next: Option<&str>,
    operation: &'static str,
) -> Result<Option<String>, PassError> {
    let next = next.map(str::to_string);
    if next.is_some() && next == *previous {
        return Err(PassError {
            operation,
            reason: FailureReason::Other,
            message: "the API returned the same NextToken twice; stopping to avoid a loop".into(),
        });
    }
    Ok(next)
}

/// What the reading part of a live pass found, before anything is changed.
struct LiveRead {
    view: LiveView,
    cursor: crate::tracking::EventCursor,
    events: Vec<(String, u64)>,
    reclaimed: Vec<String>,
}

/// Runs one live pass and publishes it. The reading part must finish by `deadline`
/// (`sweep.timeout`); on error nothing is published and `tracker` keeps only marks that the next
/// complete pass overwrites (the caller marks the fleet down). Lookups run only while the
/// deadline allows.
pub async fn live_pass(
    client: &RegionClient,
    store: &Store,
    config: &Config,
    fleet: &Fleet,
    tracker: &mut LiveTracker,
    deadline: tokio::time::Instant,
) -> Result<LiveReport, PassError> {
    let started = Instant::now();
    let mut report = LiveReport::default();
    let read = tokio::time::timeout_at(
        deadline,
        read_live(client, store, config, fleet, tracker, &mut report),
    )
    .await
    .map_err(|_| PassError {
        operation: "live pass",
        reason: FailureReason::Timeout,
        message: format!(
            "did not finish within sweep.timeout ({})",
            crate::duration::format(config.sweep.timeout)
        ),
    })??;
    let LiveRead {
        view,
        cursor,
        events,
        reclaimed,
    } = read;

    // Everything the pass must read has been read: from here on it only adds.
    let now = now_ms();
    let window = interruption_window(config).as_millis() as i64;
    let ended = tracker.commit(now, window);
    tracker.note_interruptions(reclaimed.iter().map(String::as_str), now, window);
    let candidates = tracker.candidates(config.sweep.max_session_lookups as usize, |key| {
        store.is_counted(&fleet.fleet_id, key)
    });
    let mut interruptions = Vec::new();
    for (key, id) in candidates {
        if tokio::time::Instant::now() >= deadline {
            break;
        }
        let found = client
            .call(Lane::Live, "DescribeGameSessionDetails", || {
                client
                    .client
                    .describe_game_session_details()
                    .fleet_id(&fleet.fleet_id)
                    .game_session_id(&id)
                    .send()
            })
            .await;
        *report.calls.entry("DescribeGameSessionDetails").or_default() += 1;
        let lookup = match found {
            Ok(output) => match output
                .game_session_details()
                .first()
                .and_then(|d| d.game_session())
            {
                Some(session) => lookup_outcome(session, &fleet.home_region),
                None => Lookup::NotInterrupted,
            },
            Err(error) if FailureReason::of(&error) == FailureReason::NotFound => Lookup::NotInterrupted,
            Err(error) => {
                // The session stays a candidate; the next pass, or the full pass, counts it.
                tracing::warn!(fleet_id = %fleet.fleet_id, error = %aws::describe(&error), "session lookup failed; trying again next pass");
                break;
            }
        };
        tracker.settle(key, &lookup);
        if let Lookup::Interrupted {
            location,
            termination_ms,
        } = lookup
        {
            report.interruptions_found += 1;
            interruptions.push(Interruption {
                key,
                location,
                termination_ms,
            });
        }
    }
    store.apply_live(
        &fleet.fleet_id,
        LiveOutcome {
            view,
            ended,
            events,
            interruptions,
            cursor: Some(cursor),
            duration_seconds: started.elapsed().as_secs_f64(),
        },
    );
    Ok(report)
}

/// The reading part of a live pass: the listings of the live statuses, then the new events.
async fn read_live(
    client: &RegionClient,
    store: &Store,
    config: &Config,
    fleet: &Fleet,
    tracker: &mut LiveTracker,
    report: &mut LiveReport,
) -> Result<LiveRead, PassError> {
    let page_size = config.sweep.page_size as i32;
    let mut view = LiveView {
        statuses: config.sweep.live_statuses.clone(),
        locations: BTreeMap::new(),
    };
    // Only capacity that spot can reclaim needs the ids for lookups.
    tracker.begin_pass(fleet.fleet_type != "ON_DEMAND");

    for status in &config.sweep.live_statuses {
        let mut token: Option<String> = None;
        loop {
            let page = client
                .call(Lane::Live, "DescribeGameSessions", || {
                    client
                        .client
                        .describe_game_sessions()
                        .fleet_id(&fleet.fleet_id)
                        .status_filter(status)
                        .limit(page_size)
                        .set_next_token(token.clone())
                        .send()
                })
                .await
                .map_err(|e| PassError::of("DescribeGameSessions", &e))?;
            *report.calls.entry("DescribeGameSessions").or_default() += 1;
            for session in page.game_sessions() {
                report.sessions_seen += 1;
                let facts = facts(session, &fleet.home_region);
                // A filtered listing returns only that status; anything else is a session that
                // changed between pages and belongs to the listing of its new status.
                if facts.status != status {
                    continue;
                }
                view.locations
                    .entry(facts.location.to_string())
                    .or_default()
                    .add(&facts);
                if let Some(id) = session.game_session_id() {
                    tracker.see(
                        id,
                        facts.location,
                        session.compute_name(),
                        facts.status == "ACTIVE",
                    );
                }
            }
            token = next_token(&token, page.next_token(), "DescribeGameSessions")?;
            if token.is_none() {
                break;
            }
        }
    }

    let since = store.since_ms();
    let mut cursor = store.event_cursor(&fleet.fleet_id);
    let mut events: Vec<(String, u64)> = Vec::new();
    let mut reclaimed: Vec<String> = Vec::new();
    let mut token: Option<String> = None;
    let from = aws_sdk_gamelift::primitives::DateTime::from_millis(cursor.poll_from_ms());
    loop {
        let page = client
            .call(Lane::Live, "DescribeFleetEvents", || {
                client
                    .client
                    .describe_fleet_events()
                    .fleet_id(&fleet.fleet_id)
                    .start_time(from)
                    .limit(page_size)
                    .set_next_token(token.clone())
                    .send()
            })
            .await
            .map_err(|e| PassError::of("DescribeFleetEvents", &e))?;
        *report.calls.entry("DescribeFleetEvents").or_default() += 1;
        for event in page.events() {
            let (Some(code), Some(at)) = (
                event.event_code(),
                event.event_time().and_then(|t| t.to_millis().ok()),
            ) else {
                continue;
            };
            // An event without an id cannot be deduplicated; its contents stand in for one.
            let id = event.event_id().map_or_else(
                || {
                    format!(
                        "{}/{}/{at}",
                        code.as_str(),
                        event.resource_id().unwrap_or_default()
                    )
                },
                str::to_string,
            );
            let Some(counts) = cursor.accept(&id, at, since) else {
                continue;
            };
            if counts {
                report.new_events += 1;
                events.push((
                    code.as_str().to_string(),
                    event.count().map_or(1, |c| c.max(0) as u64),
                ));
            }
            if code.as_str() == INSTANCE_INTERRUPTED {
                if let Some(instance) = event.resource_id() {
                    reclaimed.push(instance.to_string());
                }
            }
        }
        token = next_token(&token, page.next_token(), "DescribeFleetEvents")?;
        if token.is_none() {
            break;
        }
    }
    cursor.prune();
    Ok(LiveRead {
        view,
        cursor,
        events,
        reclaimed,
    })
}

fn lookup_outcome(session: &GameSession, home_region: &str) -> Lookup {
    let facts = facts(session, home_region);
    if facts.status_reason == "INTERRUPTED" {
        Lookup::Interrupted {
            location: facts.location.to_string(),
            termination_ms: facts.termination_ms,
        }
    } else if is_live(facts.status) {
        Lookup::StillEnding
    } else {
        Lookup::NotInterrupted
    }
}

/// A full pass in progress: what it has read so far and where to go on.
#[derive(Debug, Clone)]
pub struct HistoryProgress {
    token: Option<String>,
    totals: BTreeMap<String, HistoryTotals>,
    interruptions: Vec<Interruption>,
    started_ms: i64,
    started: Instant,
    pub pages: u64,
}

impl HistoryProgress {
    pub fn new() -> HistoryProgress {
        HistoryProgress {
            token: None,
            totals: BTreeMap::new(),
            interruptions: Vec::new(),
            started_ms: now_ms(),
            started: Instant::now(),
            pages: 0,
        }
    }
}

impl Default for HistoryProgress {
    fn default() -> Self {
        HistoryProgress::new()
    }
}

/// Reads the fleet's whole listing from where `progress` stands and publishes it when complete.
/// On error `progress` keeps the last good position, so that calling again resumes there; a
/// token the service no longer accepts restarts the pass from the beginning.
pub async fn full_pass(
    client: &RegionClient,
    store: &Store,
    config: &Config,
    fleet: &Fleet,
    progress: &mut HistoryProgress,
) -> Result<u64, PassError> {
    let page_size = config.sweep.page_size as i32;
    loop {
        let token = progress.token.clone();
        let result = client
            .call(Lane::History, "DescribeGameSessions", || {
                client
                    .client
                    .describe_game_sessions()
                    .fleet_id(&fleet.fleet_id)
                    .limit(page_size)
                    .set_next_token(token.clone())
                    .send()
            })
            .await;
        let page = match result {
            Ok(page) => page,
            Err(error) if token.is_some() && FailureReason::of(&error) == FailureReason::InvalidRequest => {
                tracing::warn!(fleet_id = %fleet.fleet_id, pages = progress.pages, error = %aws::describe(&error), "the full pass's NextToken is no longer accepted; starting the pass over");
                *progress = HistoryProgress::new();
                continue;
            }
            Err(error) => return Err(PassError::of("DescribeGameSessions", &error)),
        };
        progress.pages += 1;
        for session in page.game_sessions() {
            let facts = facts(session, &fleet.home_region);
            // Live statuses belong to live passes; a month of history is the rest.
            if is_live(facts.status) {
                continue;
            }
            progress
                .totals
                .entry(facts.location.to_string())
                .or_default()
                .add(&facts);
            if facts.status_reason == "INTERRUPTED" {
                if let Some(id) = session.game_session_id() {
                    progress.interruptions.push(Interruption {
                        key: session_key(id),
                        location: facts.location.to_string(),
                        termination_ms: facts.termination_ms,
                    });
                }
            }
        }
        progress.token = next_token(&token, page.next_token(), "DescribeGameSessions")?;
        if progress.token.is_none() {
            break;
        }
    }
    let done = std::mem::take(progress);
    store.apply_history(
        &fleet.fleet_id,
        HistoryOutcome {
            view: HistoryView {
                locations: done.totals,
            },
            interruptions: done.interruptions,
            started_ms: done.started_ms,
            duration_seconds: done.started.elapsed().as_secs_f64(),
        },
    );
    Ok(done.pages)
}
