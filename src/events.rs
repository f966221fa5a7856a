//! Placement and matchmaking events (GameLift Queue Placement Event, GameLift Matchmaking
//! Event), as EventBridge delivers them to an SQS queue directly or through SNS: what a message
//! says ([`parse`]), what the exporter counts ([`EventCounts`]), and the ids it remembers so that
//! SQS's at-least-once delivery counts each event once ([`SeenIds`]).
//!
//! A message body is one of three shapes, all handled by [`parse`]: the EventBridge event
//! itself (EventBridge -> SQS, or SNS with raw delivery), or an SNS notification envelope whose
//! `Message` is the event as a string.

use aws_smithy_types::date_time::{DateTime, Format};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, VecDeque};

pub const PLACEMENT_EVENT: &str = "GameLift Queue Placement Event";
pub const MATCHMAKING_EVENT: &str = "GameLift Matchmaking Event";

/// `outcome` label values of the placement series, and the detail types they come from.
pub const PLACEMENT_OUTCOMES: [(&str, &str); 4] = [
    ("PlacementFulfilled", "fulfilled"),
    ("PlacementFailed", "failed"),
    ("PlacementTimedOut", "timed_out"),
    ("PlacementCancelled", "cancelled"),
];

/// FlexMatch event types (`gamelift_matchmaking_events_total{type}`); the last four end a
/// ticket (`gamelift_matchmaking_duration_seconds{outcome}`).
pub const MATCHMAKING_TYPES: [&str; 8] = [
    "MatchmakingSearching",
    "PotentialMatchCreated",
    "AcceptMatch",
    "AcceptMatchCompleted",
    "MatchmakingSucceeded",
    "MatchmakingTimedOut",
    "MatchmakingCancelled",
    "MatchmakingFailed",
];
pub const MATCHMAKING_OUTCOMES: [(&str, &str); 4] = [
    ("MatchmakingSucceeded", "succeeded"),
    ("MatchmakingTimedOut", "timed_out"),
    ("MatchmakingCancelled", "cancelled"),
    ("MatchmakingFailed", "failed"),
];

/// Why a message was not counted (`gamelift_exporter_events_rejected_total{reason}`).
pub const REJECT_REASONS: [&str; 4] = ["malformed", "unknown_detail_type", "unknown_type", "duplicate"];

/// Placement latency buckets: sub-second to the 10-minute maximum queue timeout.
pub const PLACEMENT_BUCKETS: [f64; 11] = [0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0];
/// Matchmaking time buckets: a second to FlexMatch's 20-minute maximum request timeout.
pub const MATCHMAKING_BUCKETS: [f64; 10] = [1.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0];

/// One event, as counted.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: String,
    pub detail_type: &'static str,
    /// The event's `time`, epoch ms.
    pub time_ms: i64,
    pub what: What,
}

#[derive(Debug, Clone, PartialEq)]
pub enum What {
    Placement {
        queue: String,
        outcome: &'static str,
        /// endTime - startTime.
        seconds: Option<f64>,
        /// gameSessionRegion and the number of placedPlayerSessions (fulfilled placements).
        placed: Option<(String, u64)>,
    },
    Matchmaking {
        configuration: String,
        event_type: &'static str,
        /// For the events that end tickets: the outcome and each ticket's time (event time -
        /// ticket startTime).
        ended: Option<(&'static str, Vec<f64>)>,
    },
}

/// A message that cannot be counted, and why (one of [`REJECT_REASONS`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub reason: &'static str,
    pub detail: String,
}

fn malformed(detail: impl Into<String>) -> Rejected {
    Rejected {
        reason: "malformed",
        detail: detail.into(),
    }
}

fn timestamp_ms(value: &Value, field: &str) -> Result<i64, Rejected> {
    let text = value
        .as_str()
        .ok_or_else(|| malformed(format!("{field} is not a timestamp string")))?;
    let time = DateTime::from_str(text, Format::DateTime)
        .map_err(|e| malformed(format!("{field} {text:?} is not an RFC 3339 time: {e}")))?;
    time.to_millis()
        .map_err(|e| malformed(format!("{field} {text:?} is out of range: {e}")))
}

/// The resource name at the end of an ARN of the given type (`.../gamesessionqueue/<name>`).
fn arn_name(arn: &str, kind: &str) -> Option<String> {
    let (_, rest) = arn.split_once(&format!(":{kind}/"))?;
    (!rest.is_empty()).then(|| rest.to_string())
}

/// Reads one SQS message body.
pub fn parse(body: &str) -> Result<Event, Rejected> {
    let value: Value = serde_json::from_str(body).map_err(|e| malformed(format!("not JSON: {e}")))?;
    // An SNS notification carries the event as a string in `Message`.
    let event = if value.get("Type").and_then(Value::as_str) == Some("Notification") {
        let message = value
            .get("Message")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed("SNS notification without a Message string"))?;
        serde_json::from_str(message).map_err(|e| malformed(format!("SNS Message is not JSON: {e}")))?
    } else {
        value
    };
    let id = event
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| malformed("no event id"))?
        .to_string();
    let detail_type = match event.get("detail-type").and_then(Value::as_str) {
        Some(PLACEMENT_EVENT) => PLACEMENT_EVENT,
        Some(MATCHMAKING_EVENT) => MATCHMAKING_EVENT,
        Some(other) => {
            return Err(Rejected {
                reason: "unknown_detail_type",
                detail: format!("detail-type {other:?}"),
            })
        }
        None => return Err(malformed("no detail-type")),
    };
    let time_ms = timestamp_ms(event.get("time").unwrap_or(&Value::Null), "time")?;
    let detail = event
        .get("detail")
        .filter(|d| d.is_object())
        .ok_or_else(|| malformed("no detail object"))?;
    let detail_kind = detail
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("no detail.type"))?;
    let resource = event
        .get("resources")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .and_then(Value::as_str)
        .unwrap_or_default();
    let unknown_type = || Rejected {
        reason: "unknown_type",
        detail: format!("{detail_type} of type {detail_kind:?}"),
    };
    let what = if detail_type == PLACEMENT_EVENT {
        let outcome = PLACEMENT_OUTCOMES
            .iter()
            .find(|(t, _)| *t == detail_kind)
            .map(|(_, o)| *o)
            .ok_or_else(unknown_type)?;
        let queue = arn_name(resource, "gamesessionqueue").ok_or_else(|| {
            malformed(format!(
                "resources[0] {resource:?} is not a game session queue ARN"
            ))
        })?;
        let seconds = match (detail.get("startTime"), detail.get("endTime")) {
            (Some(start), Some(end)) => {
                let elapsed = timestamp_ms(end, "detail.endTime")? - timestamp_ms(start, "detail.startTime")?;
                Some(elapsed.max(0) as f64 / 1000.0)
            }
            _ => None,
        };
        let placed = (outcome == "fulfilled")
            .then(|| {
                let region = detail
                    .get("gameSessionRegion")
                    .and_then(Value::as_str)?
                    .to_string();
                let players = detail
                    .get("placedPlayerSessions")
                    .and_then(Value::as_array)
                    .map_or(0, |p| p.len() as u64);
                Some((region, players))
            })
            .flatten();
        What::Placement {
            queue,
            outcome,
            seconds,
            placed,
        }
    } else {
        let event_type = MATCHMAKING_TYPES
            .iter()
            .find(|t| **t == detail_kind)
            .copied()
            .ok_or_else(unknown_type)?;
        let configuration = arn_name(resource, "matchmakingconfiguration").ok_or_else(|| {
            malformed(format!(
                "resources[0] {resource:?} is not a matchmaking configuration ARN"
            ))
        })?;
        let ended = match MATCHMAKING_OUTCOMES.iter().find(|(t, _)| *t == event_type) {
            Some((_, outcome)) => {
                let mut times = Vec::new();
                for ticket in detail
                    .get("tickets")
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                {
                    let start = timestamp_ms(
                        ticket.get("startTime").unwrap_or(&Value::Null),
                        "tickets[].startTime",
                    )?;
                    times.push((time_ms - start).max(0) as f64 / 1000.0);
                }
                Some((*outcome, times))
            }
            None => None,
        };
        What::Matchmaking {
            configuration,
            event_type,
            ended,
        }
    };
    Ok(Event {
        id,
        detail_type,
        time_ms,
        what,
    })
}

/// A histogram's counts: one per bucket (not cumulative), the sum and the count.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    pub buckets: Vec<u64>,
    pub sum: f64,
    pub count: u64,
}

impl Histogram {
    fn observe(&mut self, bounds: &[f64], value: f64) {
        if self.buckets.len() != bounds.len() {
            self.buckets = vec![0; bounds.len()];
        }
        if let Some(i) = bounds.iter().position(|b| value <= *b) {
            self.buckets[i] += 1;
        }
        self.sum += value;
        self.count += 1;
    }

    fn merge(&mut self, other: &Histogram) {
        if self.buckets.len() < other.buckets.len() {
            self.buckets.resize(other.buckets.len(), 0);
        }
        for (a, b) in self.buckets.iter_mut().zip(&other.buckets) {
            *a += b;
        }
        self.sum += other.sum;
        self.count += other.count;
    }
}

/// One series: its published value, and what it counted before its 0 was published (as the
/// store's counters: a series that appears with N makes `increase()` miss those N).
/// One series: its published value, what waits for its 0 to be served (as the fleet counters
/// do, see [`crate::store::Counters`]), and the render that first showed it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series<T> {
    pub value: T,
    pending: Option<T>,
    born: Option<u64>,
}

impl<T> Series<T> {
    fn shown(&self, served: u64) -> bool {
        self.born.is_some_and(|born| born <= served)
    }
}

/// Counters and histograms of the events, by their labels joined with `\u{1f}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EventCounts {
    pub placements: BTreeMap<String, Series<u64>>,
    pub placement_seconds: BTreeMap<String, Series<Histogram>>,
    pub placed_players: BTreeMap<String, Series<u64>>,
    pub matchmaking: BTreeMap<String, Series<u64>>,
    pub matchmaking_seconds: BTreeMap<String, Series<Histogram>>,
    pub received: BTreeMap<String, Series<u64>>,
    pub rejected: BTreeMap<String, Series<u64>>,
    /// Age of the newest event when it was read, in seconds.
    pub newest_age_seconds: Option<f64>,
    newest_time_ms: Option<i64>,
}

pub fn key(labels: &[&str]) -> String {
    labels.join("\u{1f}")
}

/// Counts `n`; returns whether it waits for the series' 0 to be served.
fn count(map: &mut BTreeMap<String, Series<u64>>, key: String, n: u64, served: u64) -> bool {
    let series = map.entry(key).or_default();
    if series.shown(served) {
        series.value += n;
        false
    } else {
        *series.pending.get_or_insert(0) += n;
        true
    }
}

/// Observes `value`; returns whether it waits for the series' 0 to be served.
fn observe(
    map: &mut BTreeMap<String, Series<Histogram>>,
    key: String,
    bounds: &[f64],
    value: f64,
    served: u64,
) -> bool {
    let series = map.entry(key).or_default();
    if series.value.buckets.is_empty() {
        series.value.buckets = vec![0; bounds.len()];
    }
    if series.shown(served) {
        series.value.observe(bounds, value);
        false
    } else {
        series
            .pending
            .get_or_insert_with(|| Histogram {
                buckets: vec![0; bounds.len()],
                ..Histogram::default()
            })
            .observe(bounds, value);
        true
    }
}

fn ensure<T: Default>(map: &mut BTreeMap<String, Series<T>>, key: String) {
    map.entry(key).or_default();
}

impl EventCounts {
    /// The series every exporter with `[events]` has from the start.
    pub fn new() -> EventCounts {
        let mut counts = EventCounts::default();
        for detail_type in [PLACEMENT_EVENT, MATCHMAKING_EVENT] {
            ensure(&mut counts.received, detail_type.to_string());
        }
        for reason in REJECT_REASONS {
            ensure(&mut counts.rejected, reason.to_string());
        }
        counts
    }

    /// A queue found by discovery: its series exist at 0 from now on.
    pub fn ensure_queue(&mut self, queue: &str) {
        for (_, outcome) in PLACEMENT_OUTCOMES {
            ensure(&mut self.placements, key(&[queue, outcome]));
            let series = self.placement_seconds.entry(key(&[queue, outcome])).or_default();
            if series.value.buckets.is_empty() {
                series.value.buckets = vec![0; PLACEMENT_BUCKETS.len()];
            }
        }
    }

    /// A matchmaking configuration found by discovery.
    pub fn ensure_configuration(&mut self, configuration: &str) {
        for event_type in MATCHMAKING_TYPES {
            ensure(&mut self.matchmaking, key(&[configuration, event_type]));
        }
        for (_, outcome) in MATCHMAKING_OUTCOMES {
            let series = self
                .matchmaking_seconds
                .entry(key(&[configuration, outcome]))
                .or_default();
            if series.value.buckets.is_empty() {
                series.value.buckets = vec![0; MATCHMAKING_BUCKETS.len()];
            }
        }
    }

    /// The queue or configuration an event names gets its series (even when the event itself
    /// is a duplicate and does not count).
    pub fn ensure_source(&mut self, event: &Event) {
        match &event.what {
            What::Placement { queue, .. } => self.ensure_queue(queue),
            What::Matchmaking { configuration, .. } => self.ensure_configuration(configuration),
        }
    }

    /// A Region where a queue's game sessions can be placed (a destination's): its
    /// `gamelift_placed_player_sessions_total` series exists at 0.
    pub fn ensure_placed(&mut self, queue: &str, region: &str) {
        ensure(&mut self.placed_players, key(&[queue, region]));
    }

    /// Counts a message not counted, by reason; returns whether it waits for its series' 0.
    pub fn reject(&mut self, reason: &'static str, served: u64) -> bool {
        count(&mut self.rejected, reason.to_string(), 1, served)
    }

    /// Counts one event (already known not to be a duplicate); `now_ms` dates its age. Returns
    /// whether some of it waits for a series' 0 to be served.
    pub fn count(&mut self, event: &Event, now_ms: i64, served: u64) -> bool {
        let mut waits = count(&mut self.received, event.detail_type.to_string(), 1, served);
        if self.newest_time_ms.is_none_or(|t| event.time_ms >= t) {
            self.newest_time_ms = Some(event.time_ms);
            self.newest_age_seconds = Some((now_ms - event.time_ms).max(0) as f64 / 1000.0);
        }
        match &event.what {
            What::Placement {
                queue,
                outcome,
                seconds,
                placed,
            } => {
                self.ensure_queue(queue);
                waits |= count(&mut self.placements, key(&[queue, outcome]), 1, served);
                if let Some(seconds) = seconds {
                    waits |= observe(
                        &mut self.placement_seconds,
                        key(&[queue, outcome]),
                        &PLACEMENT_BUCKETS,
                        *seconds,
                        served,
                    );
                }
                if let Some((region, players)) = placed {
                    waits |= count(&mut self.placed_players, key(&[queue, region]), *players, served);
                }
            }
            What::Matchmaking {
                configuration,
                event_type,
                ended,
            } => {
                self.ensure_configuration(configuration);
                waits |= count(
                    &mut self.matchmaking,
                    key(&[configuration, event_type]),
                    1,
                    served,
                );
                if let Some((outcome, times)) = ended {
                    for seconds in times {
                        waits |= observe(
                            &mut self.matchmaking_seconds,
                            key(&[configuration, outcome]),
                            &MATCHMAKING_BUCKETS,
                            *seconds,
                            served,
                        );
                    }
                }
            }
        }
        waits
    }

    /// Adds the counts of series whose 0 has been served (as of `served`); returns whether some
    /// still wait.
    pub fn flush(&mut self, served: u64) -> bool {
        fn flush_counts(map: &mut BTreeMap<String, Series<u64>>, served: u64) -> bool {
            let mut waiting = false;
            for series in map.values_mut() {
                if series.shown(served) {
                    series.value += series.pending.take().unwrap_or(0);
                } else {
                    waiting |= series.pending.is_some();
                }
            }
            waiting
        }
        fn flush_histograms(map: &mut BTreeMap<String, Series<Histogram>>, served: u64) -> bool {
            let mut waiting = false;
            for series in map.values_mut() {
                if series.shown(served) {
                    if let Some(pending) = series.pending.take() {
                        series.value.merge(&pending);
                    }
                } else {
                    waiting |= series.pending.is_some();
                }
            }
            waiting
        }
        let mut waiting = flush_counts(&mut self.placements, served);
        waiting |= flush_counts(&mut self.placed_players, served);
        waiting |= flush_counts(&mut self.matchmaking, served);
        waiting |= flush_counts(&mut self.received, served);
        waiting |= flush_counts(&mut self.rejected, served);
        waiting |= flush_histograms(&mut self.placement_seconds, served);
        waiting |= flush_histograms(&mut self.matchmaking_seconds, served);
        waiting
    }

    /// After the render of `version`: every series in it has its first text.
    pub fn mark_rendered(&mut self, version: u64) {
        fn mark<T>(map: &mut BTreeMap<String, Series<T>>, version: u64) {
            for series in map.values_mut() {
                series.born.get_or_insert(version);
            }
        }
        mark(&mut self.placements, version);
        mark(&mut self.placement_seconds, version);
        mark(&mut self.placed_players, version);
        mark(&mut self.matchmaking, version);
        mark(&mut self.matchmaking_seconds, version);
        mark(&mut self.received, version);
        mark(&mut self.rejected, version);
    }
}

/// Event ids already counted, so that SQS's redeliveries (and EventBridge's rare duplicates)
/// count once. An id is remembered for `events.dedup_window` after it was counted, and beyond
/// that for as long as its message may still come back: until the message is known deleted, or
/// the queue's retention has passed. At most [`SEEN_CAPACITY`] ids: past it the oldest ids of
/// deleted messages are forgotten first (with a warning); ids of undeleted messages never are
/// (the reader stops reading until deletes catch up).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeenIds {
    /// Id -> (when counted, whether its message is known deleted).
    at: HashMap<String, (i64, bool)>,
    /// Ids in the order they were counted.
    order: VecDeque<(i64, String)>,
    undeleted: usize,
}

/// At most this many ids are remembered (about 100 bytes each: 20 MB).
pub const SEEN_CAPACITY: usize = 200_000;

impl SeenIds {
    /// From the state file: ids with when they were counted, and those not known deleted.
    pub fn from_saved(saved: Vec<(String, i64)>, undeleted: &[String]) -> SeenIds {
        let undeleted: std::collections::HashSet<&str> = undeleted.iter().map(String::as_str).collect();
        let mut seen = SeenIds::default();
        for (id, ms) in saved {
            let deleted = !undeleted.contains(id.as_str());
            seen.insert(id.clone(), ms);
            if deleted {
                seen.deleted(&id);
            }
        }
        seen
    }

    pub fn contains(&self, id: &str) -> bool {
        self.at.contains_key(id)
    }

    /// Remembers `id`, counted at `ms`; its message is not deleted yet.
    pub fn insert(&mut self, id: String, ms: i64) {
        if self.at.insert(id.clone(), (ms, false)).is_none() {
            self.order.push_back((ms, id));
            self.undeleted += 1;
        }
    }

    /// The message of `id` was deleted; returns whether that was news.
    pub fn deleted(&mut self, id: &str) -> bool {
        match self.at.get_mut(id) {
            Some((_, deleted)) if !*deleted => {
                *deleted = true;
                self.undeleted -= 1;
                true
            }
            _ => false,
        }
    }

    /// Forgets what no redelivery can bring back: ids of deleted messages counted more than
    /// `window_ms` ago, and any id counted more than `max(window, retention)` ago. Returns how
    /// many ids of deleted messages younger than the window were forgotten to stay within
    /// [`SEEN_CAPACITY`].
    pub fn expire(&mut self, now_ms: i64, window_ms: i64, retention_ms: i64) -> usize {
        let window_cutoff = now_ms - window_ms;
        let retention_cutoff = now_ms - window_ms.max(retention_ms);
        let at = &mut self.at;
        let mut undeleted = self.undeleted;
        let mut forced = 0;
        let mut over = self.order.len().saturating_sub(SEEN_CAPACITY);
        self.order.retain(|(ms, id)| {
            let (_, deleted) = at[id];
            let expired = (deleted && *ms < window_cutoff) || *ms < retention_cutoff;
            let evicted = !expired && deleted && over > 0;
            if expired || evicted {
                if evicted {
                    forced += 1;
                }
                over = over.saturating_sub(1);
                if !deleted {
                    undeleted -= 1;
                }
                at.remove(id);
                false
            } else {
                true
            }
        });
        self.undeleted = undeleted;
        forced
    }

    /// (every id with when it was counted, oldest first; the ids not known deleted).
    pub fn saved(&self) -> (Vec<(String, i64)>, Vec<String>) {
        let all = self.order.iter().map(|(ms, id)| (id.clone(), *ms)).collect();
        let undeleted = self
            .order
            .iter()
            .filter(|(_, id)| !self.at[id].1)
            .map(|(_, id)| id.clone())
            .collect();
        (all, undeleted)
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Ids whose message is not known deleted.
    pub fn undeleted(&self) -> usize {
        self.undeleted
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULFILLED: &str = r#"{"version":"0","id":"1111-aaaa","detail-type":"GameLift Queue Placement Event","source":"aws.gamelift","account":"123456789012","time":"2026-11-30T12:00:10Z","region":"us-west-2","resources":["arn:aws:gamelift:us-west-2:123456789012:gamesessionqueue/arena"],"detail":{"type":"PlacementFulfilled","placementId":"p-1","port":"7777","gameSessionArn":"arn:aws:gamelift:us-west-2::gamesession/fleet-1/gs-1","ipAddress":"10.0.0.1","dnsName":"x","startTime":"2026-11-30T12:00:07.500Z","endTime":"2026-11-30T12:00:10.000Z","gameSessionRegion":"us-east-1","placedPlayerSessions":[{"playerId":"a","playerSessionId":"psess-1"},{"playerId":"b","playerSessionId":"psess-2"}]}}"#;

    #[test]
    fn the_three_shapes_read_the_same() {
        let direct = parse(FULFILLED).unwrap();
        let sns = serde_json::json!({
            "Type": "Notification",
            "MessageId": "m-1",
            "TopicArn": "arn:aws:sns:us-west-2:123456789012:gamelift",
            "Message": FULFILLED,
            "Timestamp": "2026-11-30T12:00:11.000Z"
        })
        .to_string();
        assert_eq!(parse(&sns).unwrap(), direct);
        assert_eq!(
            direct,
            Event {
                id: "1111-aaaa".into(),
                detail_type: PLACEMENT_EVENT,
                time_ms: 1_796_040_010_000,
                what: What::Placement {
                    queue: "arena".into(),
                    outcome: "fulfilled",
                    seconds: Some(2.5),
                    placed: Some(("us-east-1".into(), 2)),
                },
            }
        );
    }

    #[test]
    fn bad_messages_are_rejected_with_a_bounded_reason() {
        let reason = |body: &str| parse(body).unwrap_err().reason;
        assert_eq!(reason("not json"), "malformed");
        assert_eq!(reason("{}"), "malformed");
        assert_eq!(
            reason(&FULFILLED.replace(
                "GameLift Queue Placement Event",
                "EC2 Instance State-change Notification"
            )),
            "unknown_detail_type"
        );
        assert_eq!(
            reason(&FULFILLED.replace("PlacementFulfilled", "PlacementStarted")),
            "unknown_type"
        );
        assert_eq!(
            reason(&FULFILLED.replace("2026-11-30T12:00:10Z", "yesterday")),
            "malformed"
        );
        assert_eq!(
            reason(&FULFILLED.replace("gamesessionqueue/arena", "fleet/fleet-1")),
            "malformed"
        );
        assert_eq!(
            reason(r#"{"Type":"Notification","Message":"{not json"}"#),
            "malformed"
        );
    }

    #[test]
    fn tickets_are_timed_from_their_start_to_the_event() {
        let event = r#"{"id":"mm-1","detail-type":"GameLift Matchmaking Event","time":"2026-11-30T12:01:00Z","resources":["arn:aws:gamelift:us-west-2:123456789012:matchmakingconfiguration/ranked"],"detail":{"type":"MatchmakingTimedOut","tickets":[{"ticketId":"t1","startTime":"2026-11-30T12:00:00.000Z","players":[]},{"ticketId":"t2","startTime":"2026-11-30T12:00:30.000Z","players":[]}]}}"#;
        let parsed = parse(event).unwrap();
        assert_eq!(
            parsed.what,
            What::Matchmaking {
                configuration: "ranked".into(),
                event_type: "MatchmakingTimedOut",
                ended: Some(("timed_out", vec![60.0, 30.0])),
            }
        );
    }

    #[test]
    fn ids_are_remembered_for_the_window_and_until_their_message_is_deleted() {
        let mut seen = SeenIds::default();
        seen.insert("a".into(), 100);
        seen.insert("b".into(), 200);
        seen.insert("c".into(), 300);
        seen.insert("a".into(), 400);
        assert_eq!((seen.len(), seen.undeleted()), (3, 3));
        assert!(seen.deleted("a") && seen.deleted("c"));
        assert!(!seen.deleted("a"), "already known deleted");
        // At 1,250 with a window of 1,000: a (deleted, counted at 100) goes; b is not deleted, so
        // it stays until the retention (5,000) has passed; c is within the window.
        assert_eq!(seen.expire(1_250, 1_000, 5_000), 0);
        assert!(!seen.contains("a") && seen.contains("b") && seen.contains("c"));
        let (all, undeleted) = seen.saved();
        assert_eq!(undeleted, ["b"]);
        assert_eq!(SeenIds::from_saved(all, &undeleted), seen);
        // Past the retention nothing can come back, deleted or not.
        seen.expire(5_250, 1_000, 5_000);
        assert!(seen.is_empty() && seen.undeleted() == 0);
    }
}
