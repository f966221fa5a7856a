//! One fleet's passes: what they ask GameLift, and what they publish.
//!
//! # Live pass (every `sweep.interval`)
//! 1. `DescribeGameSessions` with `StatusFilter` = each of `sweep.live_statuses` (default ACTIVE,
//!    ACTIVATING, TERMINATING), paged to the end: the live numbers, and the fleet's ACTIVE
//!    session ids (hashed) with their location and `ComputeName`. Its cost follows the live
//!    sessions, never the 30-day history.
//! 2. `DescribeFleetEvents` over a window fixed when the poll starts (see
//!    [`crate::tracking::EventCursor`]), read to its last page in whatever order it comes: new
//!    events after the fleet's counting start, `INSTANCE_INTERRUPTED` among them, on their own
//!    API quota.
//! 3. The sessions that left ACTIVE since the previous pass are counted; those that sat on an
//!    instance spot reclaimed are looked up with `DescribeGameSessionDetails` (at most
//!    `sweep.max_session_lookups`), and the INTERRUPTED ones counted at once.
//!
//! A live pass that fails in step 1 publishes nothing (the fleet goes down and keeps its last
//! complete numbers). A failed events poll leaves the fleet's event position where it was (the
//! next pass reads the same window) and the sessions publish; a failed lookup only leaves its
//! session for the next pass.
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
use crate::tracking::{session_key, EventCursor, LiveTracker, Lookup, INSTANCE_INTERRUPTED};
use aws_sdk_gamelift::types::{GameSession, GameSessionStatus, PlayerSessionCreationPolicy};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// A call that failed after its retries, and so the pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
    /// The events poll failed: the sessions were published, the events part is read again from
    /// the same mark by the next pass.
    pub events_error: Option<PassError>,
}

/// How long interrupted instances and ended sessions are kept in mind: long enough for the
/// two-minute spot notice, an event recorded late, and a couple of live passes at the interval
/// the account-Region actually keeps (`interval`, stretched when the budgets cannot pay for
/// `sweep.interval`).
pub fn interruption_window(interval: Duration) -> Duration {
    (interval * 3).max(Duration::from_secs(600))
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

/// The next page's token, guarded against a service that hands out the same one twice.
fn next_token(
    previous: &Option<String>,
    next: Option<&str>,
    operation: &'static str,
) -> Result<Option<String>, PassError> {
    aws::next_page(previous, next).map_err(|repeated| PassError {
        operation,
        reason: FailureReason::Other,
        message: repeated.to_string(),
    })
}

fn timed_out(config: &Config) -> PassError {
    PassError {
        operation: "live pass",
        reason: FailureReason::Timeout,
        message: format!(
            "did not finish within sweep.timeout ({})",
            crate::duration::format(config.sweep.timeout)
        ),
    }
}

/// What a complete events poll read.
struct EventsRead {
    cursor: EventCursor,
    /// New events at or after the fleet's counting start: (event code, Count or 1).
    counted: Vec<(String, u64)>,
    /// ResourceId of every new INSTANCE_INTERRUPTED event (counted or not: an event from just
    /// before the counting start still tells which instance was reclaimed).
    reclaimed: Vec<String>,
}

/// Runs one live pass and publishes it. The session listings must finish by `deadline`
/// (`sweep.timeout`); if they fail nothing is published and `tracker` keeps only marks that the
/// next complete pass overwrites (the caller marks the fleet down). A failing events poll does
/// not fail the pass: the sessions publish, the fleet's events signal goes down, and the next
/// pass reads the same window again. Lookups run only while the deadline allows.
pub async fn live_pass(
    client: &RegionClient,
    store: &Store,
    config: &Config,
    fleet: &Fleet,
    tracker: &mut LiveTracker,
    interval: Duration,
    deadline: tokio::time::Instant,
) -> Result<LiveReport, PassError> {
    let started = Instant::now();
    let mut report = LiveReport::default();
    let view = tokio::time::timeout_at(deadline, list_live(client, config, fleet, tracker, &mut report))
        .await
        .map_err(|_| timed_out(config))??;
    let polled =
        match tokio::time::timeout_at(deadline, poll_events(client, store, config, fleet, &mut report)).await
        {
            Ok(result) => result,
            Err(_) => Err(timed_out(config)),
        };

    // Everything the pass must read has been read: from here on it only adds.
    let now = store.now_ms();
    let window = interruption_window(interval).as_millis() as i64;
    let ended = tracker.commit(now, window);
    let events = match polled {
        Ok(read) => {
            tracker.note_interruptions(read.reclaimed.iter().map(String::as_str), now, window);
            Some((read.counted, read.cursor))
        }
        Err(error) => {
            tracing::warn!(fleet_id = %fleet.fleet_id, reason = %error.reason, %error, "events poll failed; the sessions are published, the events are read again from the same mark next pass");
            report.events_error = Some(error);
            None
        }
    };
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
            active: Some(tracker.active_keys()),
            duration_seconds: started.elapsed().as_secs_f64(),
        },
    );
    Ok(report)
}

/// The listings of the live statuses: the live numbers, and every live session to the tracker.
async fn list_live(
    client: &RegionClient,
    config: &Config,
    fleet: &Fleet,
    tracker: &mut LiveTracker,
    report: &mut LiveReport,
) -> Result<LiveView, PassError> {
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
    Ok(view)
}

/// One events poll: the window fixed at its start, read to its last page whatever order the
/// service pages in. Nothing is kept unless it completes.
async fn poll_events(
    client: &RegionClient,
    store: &Store,
    config: &Config,
    fleet: &Fleet,
    report: &mut LiveReport,
) -> Result<EventsRead, PassError> {
    let page_size = config.sweep.page_size as i32;
    let (watch_since, mut cursor) = store.event_position(&fleet.fleet_id);
    let mut poll = cursor.begin(store.now_ms());
    let mut counted: Vec<(String, u64)> = Vec::new();
    let mut reclaimed: Vec<String> = Vec::new();
    let mut token: Option<String> = None;
    let from = aws_sdk_gamelift::primitives::DateTime::from_millis(poll.from_ms);
    let to = aws_sdk_gamelift::primitives::DateTime::from_millis(poll.to_ms);
    loop {
        let page = client
            .call(Lane::Live, "DescribeFleetEvents", || {
                client
                    .client
                    .describe_fleet_events()
                    .fleet_id(&fleet.fleet_id)
                    .start_time(from)
                    .end_time(to)
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
            if !poll.accept(&cursor, &id, at) {
                continue;
            }
            if at >= watch_since {
                report.new_events += 1;
                counted.push((
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
    poll.complete(&mut cursor);
    Ok(EventsRead {
        cursor,
        counted,
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
            started_ms: 0,
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
        if progress.pages == 0 {
            progress.started_ms = store.now_ms();
        }
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
