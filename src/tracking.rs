//! What a fleet's live passes remember from one pass to the next, and the pure logic over it:
//! which sessions left ACTIVE, which new fleet events arrived, and which ended sessions sat on
//! an instance that spot reclaimed (so they are worth one `DescribeGameSessionDetails` each).
//!
//! No I/O and no clock here: every function takes the time it needs, so the unit tests below
//! drive it step by step.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

/// A stable 64-bit key for a game session id (FNV-1a). Stable across processes and Rust
/// versions, because the interruption ledger keyed by it is written to the state file; a
/// collision needs billions of sessions to become likely, and would cost one uncounted session.
pub fn session_key(game_session_id: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in game_session_id.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Fleet event codes whose counter series exist (at 0) from a fleet's discovery: the ones
/// alerts are written against. Any other code gets its series at its first event.
pub const WATCHED_EVENT_CODES: [&str; 7] = [
    "INSTANCE_INTERRUPTED",
    "INSTANCE_RECYCLED",
    "INSTANCE_REPLACED_UNHEALTHY",
    "SERVER_PROCESS_CRASHED",
    "SERVER_PROCESS_TERMINATED_UNHEALTHY",
    "SERVER_PROCESS_FORCE_TERMINATED",
    "GAME_SESSION_ACTIVATION_TIMEOUT",
];

/// The event code of a spot interruption.
pub const INSTANCE_INTERRUPTED: &str = "INSTANCE_INTERRUPTED";

/// Each events poll starts this far before the end of the last complete poll, so that an event
/// GameLift records late (or stamps by a clock a little behind ours) is still read; events read
/// twice are dropped by EventId.
pub const EVENT_OVERLAP_MS: i64 = 5 * 60 * 1000;

/// The longest span one poll reads. A catch-up after a long downtime (or a state file days old)
/// reads its backlog in windows of this length, one per live pass, oldest first: never skipping,
/// never one giant poll that a failure would make start over.
pub const MAX_POLL_SPAN_MS: i64 = 6 * 3_600_000;

/// Where a fleet's event polling stands: every event up to `high_water_ms` (less the overlap) was
/// read by a complete poll, and the ids of those inside the overlap (the only ones a later poll
/// can return again) are remembered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventCursor {
    pub high_water_ms: i64,
    pub seen: BTreeMap<String, i64>,
}

impl EventCursor {
    /// A cursor for a fleet watched from `watch_since_ms` on.
    pub fn starting_at(watch_since_ms: i64) -> EventCursor {
        EventCursor {
            high_water_ms: watch_since_ms,
            seen: BTreeMap::new(),
        }
    }

    /// Starts a poll at `now_ms`: its window is fixed here, `[high water - overlap, now +
    /// overlap]` (an event GameLift stamps a little ahead of our clock is read too), or a
    /// [`MAX_POLL_SPAN_MS`] part of it when the backlog is longer.
    pub fn begin(&self, now_ms: i64) -> EventPoll {
        let end = now_ms
            .min(self.high_water_ms + MAX_POLL_SPAN_MS)
            .max(self.high_water_ms);
        EventPoll {
            from_ms: self.high_water_ms - EVENT_OVERLAP_MS,
            to_ms: end + EVENT_OVERLAP_MS,
            end_ms: end,
            fresh: BTreeMap::new(),
        }
    }
}

/// One events poll under way: its window, and the new events it read. It changes the cursor only
/// when it completes ([`EventPoll::complete`]); a poll that fails part-way changes nothing, and
/// the next one reads the same window again. Whatever order the service pages in, a complete
/// poll has seen every event of its window exactly once as new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPoll {
    /// The window asked for (`StartTime`, `EndTime`).
    pub from_ms: i64,
    pub to_ms: i64,
    /// Where the mark moves when the poll completes: every event up to here has been read.
    end_ms: i64,
    fresh: BTreeMap<String, i64>,
}

impl EventPoll {
    /// Whether an event this poll read is new: not read by a complete poll before, nor earlier in
    /// this one. An event older than the window was settled by an earlier poll.
    pub fn accept(&mut self, cursor: &EventCursor, event_id: &str, event_ms: i64) -> bool {
        if event_ms < self.from_ms || cursor.seen.contains_key(event_id) || self.fresh.contains_key(event_id)
        {
            return false;
        }
        self.fresh.insert(event_id.to_string(), event_ms);
        true
    }

    /// The poll read its window to the last page: the mark moves to the poll's `now` (or the
    /// end of its part of a backlog), and only the ids a later poll can return again are kept.
    pub fn complete(self, cursor: &mut EventCursor) {
        cursor.seen.extend(self.fresh);
        cursor.high_water_ms = cursor.high_water_ms.max(self.end_ms);
        let from = cursor.high_water_ms - EVENT_OVERLAP_MS;
        cursor.seen.retain(|_, at| *at >= from);
    }

    /// Whether the window reaches `now_ms` (not a part of a longer backlog).
    pub fn is_caught_up(&self, now_ms: i64) -> bool {
        self.end_ms >= now_ms
    }
}

/// One live session as the live passes saw it.
#[derive(Debug, Clone)]
struct Live {
    location: Arc<str>,
    compute: Option<Arc<str>>,
    /// The id, kept only where a lookup may need it (fleets whose capacity spot can reclaim),
    /// as its shared prefix (`arn:...:gamesession/<fleet>/`) and its own last segment, so that
    /// a fleet's sessions share the long part. The diff itself works on the hashed key.
    id: Option<(Arc<str>, Box<str>)>,
    /// ACTIVE (as opposed to ACTIVATING or TERMINATING) as of the last complete pass, and as
    /// the pass under way sees it.
    active: bool,
    active_now: bool,
    /// The pass that saw it last.
    seen: u64,
}

impl Live {
    fn id(&self) -> Option<Box<str>> {
        self.id
            .as_ref()
            .map(|(prefix, last)| format!("{prefix}{last}").into_boxed_str())
    }
}

/// A fleet's live sessions (the statuses the passes list), keyed by [`session_key`], kept in
/// one map that each pass updates in place (a pass that fails part-way leaves only marks that
/// the next complete pass overwrites). Names are shared between sessions.
#[derive(Debug, Default)]
struct LiveSet {
    sessions: HashMap<u64, Live>,
    names: HashMap<Box<str>, Arc<str>>,
}

impl LiveSet {
    fn name(&mut self, text: &str) -> Arc<str> {
        if let Some(name) = self.names.get(text) {
            return name.clone();
        }
        let name: Arc<str> = Arc::from(text);
        self.names.insert(Box::from(text), name.clone());
        name
    }

    fn hosts(&self, compute: &str) -> bool {
        self.sessions
            .values()
            .any(|s| s.compute.as_deref() == Some(compute))
    }
}

/// A session that is no longer live (in none of the listed statuses), remembered for a while in
/// case an interruption event names its instance (the event may come before, with, or after the
/// session's end).
#[derive(Debug, Clone)]
pub struct Ended {
    pub key: u64,
    pub location: Arc<str>,
    pub compute: Option<Arc<str>>,
    pub id: Option<Box<str>>,
    /// When, and in which pass, a live pass noticed it was no longer live.
    pub noticed_ms: i64,
    pub noticed_pass: u64,
}

/// What a lookup of an ended session found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// TERMINATED (or any status) with StatusReason INTERRUPTED.
    Interrupted {
        location: String,
        termination_ms: Option<i64>,
    },
    /// Ended for another reason, or gone: nothing to count.
    NotInterrupted,
    /// Not ended yet (TERMINATING without a reason): look again next pass.
    StillEnding,
}

/// Everything a fleet's live passes carry from one pass to the next.
#[derive(Debug, Default)]
pub struct LiveTracker {
    /// Live sessions of the last complete pass, marked by the pass under way.
    live: LiveSet,
    /// The pass under way (or the last one), counting failed ones.
    pass: u64,
    /// Whether the ids of the pass under way are kept.
    keep_ids: bool,
    /// Sessions that stopped being live within the window, oldest first.
    ended: VecDeque<Ended>,
    /// Reclaimed instances (ResourceId of INSTANCE_INTERRUPTED) -> the pass that read the event,
    /// and until when (ms) it is kept in mind.
    interrupted: HashMap<String, Suspicion>,
    /// Interruption events whose instance hosted none of the sessions seen: only sessions whose
    /// host is unknown (no ComputeName, or one that is not an EC2 instance id) are looked up for
    /// them, never a session known to have run on another instance.
    unmatched: Vec<Suspicion>,
    /// The pass of the last complete events poll: a new poll's events may explain any session
    /// that ended since then (events are read late when polls fail or catch up).
    last_poll_pass: u64,
}

/// An interruption event kept in mind.
#[derive(Debug, Clone, Copy)]
struct Suspicion {
    /// The pass of the complete events poll before the one that read the event.
    from_pass: u64,
    until_ms: i64,
}

impl Suspicion {
    /// Whether `ended` may have ended because of it: it was noticed no earlier than the pass of
    /// the previous complete events poll (the event may have been recorded a little late, or
    /// read late because polls failed), or any time after while the event is kept in mind (the
    /// two-minute notice). Passes, not clocks, so that GameLift's clock and ours need not agree.
    fn covers(&self, ended: &Ended) -> bool {
        ended.noticed_pass >= self.from_pass
    }
}

/// Whether a ComputeName is an EC2 instance id (`i-` and 8 or 17 hex digits): the host an
/// INSTANCE_INTERRUPTED event names by its ResourceId.
pub fn is_instance_id(compute: &str) -> bool {
    compute
        .strip_prefix("i-")
        .is_some_and(|hex| matches!(hex.len(), 8 | 17) && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// At most this many ended sessions are remembered per fleet, whatever the churn.
const MAX_REMEMBERED_ENDED: usize = 100_000;

impl LiveTracker {
    /// Starts a pass. `keep_ids`: whether the ids are kept for lookups (SPOT fleets; ON_DEMAND
    /// capacity is never reclaimed, so its sessions are never looked up).
    pub fn begin_pass(&mut self, keep_ids: bool) {
        self.pass += 1;
        self.keep_ids = keep_ids;
    }

    /// A live session the pass under way listed.
    pub fn see(&mut self, id: &str, location: &str, compute: Option<&str>, active: bool) {
        let key = session_key(id);
        let pass = self.pass;
        if let Some(session) = self.live.sessions.get(&key) {
            // A session restored from the state file has neither its id nor its instance yet.
            let fill_id = self.keep_ids && session.id.is_none();
            let fill_compute = session.compute.is_none() && compute.is_some();
            let id = fill_id.then(|| self.split_id(id));
            let compute = compute.filter(|_| fill_compute).map(|c| self.live.name(c));
            let session = self.live.sessions.get_mut(&key).expect("found above");
            session.active_now = active;
            session.seen = pass;
            if id.is_some() {
                session.id = id;
            }
            if compute.is_some() {
                session.compute = compute;
            }
            return;
        }
        let location = self.live.name(location);
        let compute = compute.map(|c| self.live.name(c));
        let id = self.keep_ids.then(|| self.split_id(id));
        self.live.sessions.insert(
            key,
            Live {
                location,
                compute,
                id,
                // Not ACTIVE as of any complete pass yet: leaving ACTIVE is counted only for
                // sessions a complete pass saw ACTIVE.
                active: false,
                active_now: active,
                seen: pass,
            },
        );
    }

    /// A session id as kept: its shared prefix and its own last segment.
    fn split_id(&mut self, id: &str) -> (Arc<str>, Box<str>) {
        let cut = id.rfind('/').map_or(0, |i| i + 1);
        (self.live.name(&id[..cut]), Box::from(&id[cut..]))
    }

    /// A tracker for a fleet whose ACTIVE sessions of its last complete pass before a restart
    /// were saved (keys per location): the first pass after the restart counts those that left
    /// ACTIVE while the exporter was down.
    pub fn restore(active: &BTreeMap<String, Vec<u64>>) -> LiveTracker {
        let mut tracker = LiveTracker::default();
        for (location, keys) in active {
            let location = tracker.live.name(location);
            for key in keys {
                tracker.live.sessions.insert(
                    *key,
                    Live {
                        location: location.clone(),
                        compute: None,
                        id: None,
                        active: true,
                        active_now: false,
                        seen: 0,
                    },
                );
            }
        }
        tracker
    }

    /// The sessions ACTIVE as of the last complete pass, keys sorted per location: what a restart
    /// needs to count the sessions that leave ACTIVE while the exporter is down.
    pub fn active_keys(&self) -> BTreeMap<String, Vec<u64>> {
        let mut out: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for (key, session) in &self.live.sessions {
            if session.active {
                out.entry(session.location.to_string()).or_default().push(*key);
            }
        }
        for keys in out.values_mut() {
            keys.sort_unstable();
        }
        out
    }

    /// Completes the pass under way: returns the number of sessions that left ACTIVE since the
    /// previous complete pass, per location (none after the first: there is nothing to compare
    /// with). Sessions that are no longer live at all are kept in mind for lookups: an
    /// interruption also ends sessions still ACTIVATING.
    pub fn commit(&mut self, now_ms: i64, window_ms: i64) -> BTreeMap<String, u64> {
        let pass = self.pass;
        let mut left = BTreeMap::new();
        let mut gone = Vec::new();
        for (key, session) in self.live.sessions.iter_mut() {
            let still = session.seen == pass;
            if session.active && !(still && session.active_now) {
                *left.entry(session.location.to_string()).or_insert(0) += 1;
            }
            if still {
                session.active = session.active_now;
            } else {
                gone.push(*key);
            }
        }
        for key in gone {
            let session = self.live.sessions.remove(&key).expect("listed above");
            if session.id.is_some() {
                self.ended.push_back(Ended {
                    key,
                    id: session.id(),
                    location: session.location,
                    compute: session.compute,
                    noticed_ms: now_ms,
                    noticed_pass: pass,
                });
            }
        }
        // Names nobody uses any more (instances that are gone) are dropped.
        self.live.names.retain(|_, name| Arc::strong_count(name) > 1);
        self.forget_before(now_ms, window_ms);
        left
    }

    /// Takes note of a complete events poll and its INSTANCE_INTERRUPTED events (their
    /// ResourceId), after [`commit`].
    ///
    /// [`commit`]: LiveTracker::commit
    pub fn note_interruptions<'a>(
        &mut self,
        instances: impl IntoIterator<Item = &'a str>,
        now_ms: i64,
        window_ms: i64,
    ) {
        let suspicion = Suspicion {
            from_pass: self.last_poll_pass,
            until_ms: now_ms + window_ms,
        };
        self.last_poll_pass = self.pass;
        for instance in instances {
            let known = self.live.hosts(instance)
                || self.ended.iter().any(|e| e.compute.as_deref() == Some(instance));
            if known {
                self.interrupted.insert(instance.to_string(), suspicion);
            } else {
                self.unmatched.push(suspicion);
            }
        }
    }

    /// Ended sessions worth a lookup now, oldest first, at most `cap`, skipping those
    /// `already_counted` says the ledger has.
    pub fn candidates(&self, cap: usize, already_counted: impl Fn(u64) -> bool) -> Vec<(u64, String)> {
        self.ended
            .iter()
            .filter(|e| e.id.is_some() && self.suspect(e) && !already_counted(e.key))
            .take(cap)
            .map(|e| (e.key, e.id.as_deref().unwrap_or_default().to_string()))
            .collect()
    }

    fn suspect(&self, ended: &Ended) -> bool {
        let on_reclaimed_instance = match &ended.compute {
            Some(compute) => self
                .interrupted
                .get(compute.as_ref())
                .is_some_and(|s| s.covers(ended)),
            // Without a ComputeName any interruption in the fleet may have been this one.
            None => self.interrupted.values().any(|s| s.covers(ended)),
        };
        // An event naming an instance no seen session ran on can only explain sessions whose
        // host is unknown: never one known to have run on an instance (bounded, see README).
        let host_unknown = ended.compute.as_deref().is_none_or(|c| !is_instance_id(c));
        on_reclaimed_instance || (host_unknown && self.unmatched.iter().any(|s| s.covers(ended)))
    }

    /// Records what a lookup found; a settled session is not looked up again.
    pub fn settle(&mut self, key: u64, lookup: &Lookup) {
        if *lookup != Lookup::StillEnding {
            self.ended.retain(|e| e.key != key);
        }
    }

    /// The live sessions known (of the last complete pass, and any the pass under way added).
    pub fn live_count(&self) -> usize {
        self.live.sessions.len()
    }

    fn forget_before(&mut self, now_ms: i64, window_ms: i64) {
        let horizon = now_ms - window_ms;
        while self
            .ended
            .front()
            .is_some_and(|e| e.noticed_ms < horizon || self.ended.len() > MAX_REMEMBERED_ENDED)
        {
            self.ended.pop_front();
        }
        self.interrupted.retain(|_, s| s.until_ms >= now_ms);
        self.unmatched.retain(|s| s.until_ms >= now_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: i64 = 600_000;

    /// One complete pass that lists `sessions` (all ACTIVE), ids kept.
    fn pass(
        tracker: &mut LiveTracker,
        sessions: &[(&str, &str, Option<&str>)],
        now_ms: i64,
    ) -> BTreeMap<String, u64> {
        tracker.begin_pass(true);
        for (id, location, compute) in sessions {
            tracker.see(id, location, *compute, true);
        }
        tracker.commit(now_ms, WINDOW)
    }

    #[test]
    fn session_keys_are_stable_across_processes() {
        // FNV-1a test vectors: the state file depends on these never changing.
        assert_eq!(session_key(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(session_key("a"), 0xaf63_dc4c_8601_ec8c);
        assert_ne!(session_key("gsess-1"), session_key("gsess-2"));
    }

    #[test]
    fn sessions_that_left_active_are_counted_per_location_from_the_second_pass() {
        let mut tracker = LiveTracker::default();
        let first = pass(
            &mut tracker,
            &[
                ("a", "us-west-2", Some("i-1")),
                ("b", "us-east-1", Some("i-2")),
                ("c", "us-east-1", None),
            ],
            1_000,
        );
        assert!(first.is_empty(), "nothing to compare the first pass with");
        // A pass that fails part-way (it saw c TERMINATING and a new e) leaves marks only.
        tracker.begin_pass(true);
        tracker.see("c", "us-east-1", None, false);
        tracker.see("e", "us-east-1", None, true);
        // c moves on to TERMINATING: it left ACTIVE, but is still live; e came and went
        // between two complete passes and never counts as having left ACTIVE.
        tracker.begin_pass(true);
        for (id, active) in [("b", true), ("d", true), ("c", false)] {
            tracker.see(
                id,
                if id == "d" { "us-west-2" } else { "us-east-1" },
                None,
                active,
            );
        }
        let second = tracker.commit(2_000, WINDOW);
        assert_eq!(
            second,
            BTreeMap::from([("us-east-1".to_string(), 1), ("us-west-2".to_string(), 1)])
        );
        assert_eq!(tracker.live_count(), 3);
        assert_eq!(tracker.ended.len(), 2, "a and e are no longer live");
        let third = pass(&mut tracker, &[("b", "us-east-1", None)], 3_000);
        assert_eq!(
            third,
            BTreeMap::from([("us-west-2".to_string(), 1)]),
            "d left; c was not ACTIVE"
        );
    }

    #[test]
    fn an_interruption_of_sessions_never_seen_active_is_still_looked_up() {
        let mut tracker = LiveTracker::default();
        tracker.begin_pass(true);
        tracker.see("starting", "l", Some("i-1"), false);
        tracker.commit(0, WINDOW);
        let ended = pass(&mut tracker, &[], 60_000);
        assert!(ended.is_empty(), "it never was ACTIVE");
        tracker.note_interruptions(["i-1"], 60_000, WINDOW);
        assert_eq!(tracker.candidates(100, |_| false).len(), 1);
    }

    #[test]
    fn an_interrupted_instance_selects_only_its_own_ended_sessions() {
        let mut tracker = LiveTracker::default();
        pass(
            &mut tracker,
            &[
                ("a", "l", Some("i-1")),
                ("b", "l", Some("i-1")),
                ("c", "l", Some("i-2")),
                ("d", "l", Some("i-3")),
            ],
            0,
        );
        // a, b (instance i-1) and c (i-2) end; only i-1 was reclaimed.
        pass(&mut tracker, &[("d", "l", Some("i-3"))], 60_000);
        tracker.note_interruptions(["i-1"], 60_000, WINDOW);
        let mut found: Vec<String> = tracker
            .candidates(100, |_| false)
            .into_iter()
            .map(|c| c.1)
            .collect();
        found.sort();
        assert_eq!(found, ["a", "b"]);
        // The ledger already has a; the cap bounds the rest.
        assert_eq!(tracker.candidates(100, |k| k == session_key("a")).len(), 1);
        assert_eq!(tracker.candidates(1, |_| false).len(), 1);
    }

    #[test]
    fn a_notice_before_the_end_is_kept_in_mind_until_the_sessions_leave() {
        let mut tracker = LiveTracker::default();
        pass(
            &mut tracker,
            &[("a", "l", Some("i-1")), ("b", "l", Some("i-2"))],
            0,
        );
        // The two-minute notice arrives while a is still ACTIVE.
        pass(
            &mut tracker,
            &[("a", "l", Some("i-1")), ("b", "l", Some("i-2"))],
            60_000,
        );
        tracker.note_interruptions(["i-1"], 60_000, WINDOW);
        assert!(tracker.candidates(100, |_| false).is_empty());
        let ended = pass(&mut tracker, &[("b", "l", Some("i-2"))], 180_000);
        assert_eq!(ended["l"], 1);
        assert_eq!(
            tracker.candidates(100, |_| false),
            vec![(session_key("a"), "a".to_string())]
        );
        // Settled: never looked up again. Still ending: looked up again next time.
        tracker.settle(session_key("a"), &Lookup::StillEnding);
        assert_eq!(tracker.candidates(100, |_| false).len(), 1);
        tracker.settle(session_key("a"), &Lookup::NotInterrupted);
        assert!(tracker.candidates(100, |_| false).is_empty());
    }

    #[test]
    fn sessions_that_ended_passes_before_the_event_are_not_suspects() {
        let mut tracker = LiveTracker::default();
        pass(
            &mut tracker,
            &[("old", "l", Some("i-1")), ("a", "l", Some("i-1"))],
            0,
        );
        tracker.note_interruptions([], 0, WINDOW);
        // "old" ends normally; two passes later the instance is reclaimed with "a" on it. Every
        // pass's events poll completes.
        pass(&mut tracker, &[("a", "l", Some("i-1"))], 60_000);
        tracker.note_interruptions([], 60_000, WINDOW);
        pass(&mut tracker, &[("a", "l", Some("i-1"))], 120_000);
        tracker.note_interruptions([], 120_000, WINDOW);
        pass(&mut tracker, &[], 180_000);
        tracker.note_interruptions(["i-1"], 180_000, WINDOW);
        assert_eq!(
            tracker.candidates(100, |_| false),
            vec![(session_key("a"), "a".to_string())]
        );
    }

    #[test]
    fn an_event_naming_no_known_instance_looks_up_every_session_that_ended_around_it() {
        let mut tracker = LiveTracker::default();
        pass(
            &mut tracker,
            &[
                ("a", "l", Some("host-a")),
                ("b", "l", None),
                ("c", "l", Some("host-c")),
            ],
            0,
        );
        pass(&mut tracker, &[("c", "l", Some("host-c"))], 60_000);
        tracker.note_interruptions(["i-0123456789abcdef0"], 60_000, WINDOW);
        assert_eq!(tracker.candidates(100, |_| false).len(), 2);
        // Outside the window, forgotten (the next full pass counts them).
        pass(&mut tracker, &[("c", "l", Some("host-c"))], 60_000 + WINDOW + 1);
        assert!(tracker.candidates(100, |_| false).is_empty());
    }

    #[test]
    fn on_demand_fleets_keep_no_ids_and_look_nothing_up() {
        let mut tracker = LiveTracker::default();
        tracker.begin_pass(false);
        tracker.see("a", "l", Some("i-1"), true);
        tracker.commit(0, WINDOW);
        tracker.begin_pass(false);
        let ended = tracker.commit(60_000, WINDOW);
        assert_eq!(ended["l"], 1);
        tracker.note_interruptions(["i-1"], 60_000, WINDOW);
        assert!(tracker.candidates(100, |_| false).is_empty());
    }

    /// Runs one complete poll over `events` (id, time), as the service pages them.
    fn poll(cursor: &mut EventCursor, now_ms: i64, events: &[(&str, i64)]) -> (i64, i64, Vec<String>) {
        let mut poll = cursor.begin(now_ms);
        let window = (poll.from_ms, poll.to_ms);
        let new = events
            .iter()
            .filter(|(id, at)| poll.accept(cursor, id, *at))
            .map(|(id, _)| id.to_string())
            .collect();
        poll.complete(cursor);
        (window.0, window.1, new)
    }

    #[test]
    fn a_poll_reads_a_window_fixed_at_its_start_whatever_the_page_order() {
        const MIN: i64 = 60_000;
        let start = 1_000 * MIN;
        // Seven minutes down, two interruptions seven minutes apart: newest first, oldest first
        // or shuffled, one poll finds both (the bug was a mark raised mid-poll by the newest).
        let both = [("late", start + 7 * MIN), ("early", start)];
        for order in [both, [both[1], both[0]]] {
            let mut cursor = EventCursor::starting_at(start);
            let (from, to, new) = poll(&mut cursor, start + 8 * MIN, &order);
            assert_eq!(
                (from, to),
                (start - EVENT_OVERLAP_MS, start + 8 * MIN + EVENT_OVERLAP_MS)
            );
            assert_eq!(new.len(), 2, "{order:?}");
            assert_eq!(
                cursor.high_water_ms,
                start + 8 * MIN,
                "the window's end, once complete"
            );
            // The next poll overlaps the last five minutes: "late" comes back and is not new.
            let (from, _, new) = poll(&mut cursor, start + 9 * MIN, &[("late", start + 7 * MIN)]);
            assert_eq!(from, start + 3 * MIN);
            assert!(new.is_empty());
            assert!(
                !cursor.seen.contains_key("early"),
                "out of every later window: forgotten"
            );
        }
    }

    #[test]
    fn a_failed_poll_moves_nothing_and_the_next_one_reads_the_same_window() {
        let mut cursor = EventCursor::starting_at(0);
        let before = cursor.clone();
        let mut failed = cursor.begin(600_000);
        assert!(failed.accept(&cursor, "e1", 100_000));
        drop(failed); // a page failed: the poll is dropped, incomplete
        assert_eq!(cursor, before);
        let (_, _, new) = poll(&mut cursor, 660_000, &[("e1", 100_000), ("e2", 650_000)]);
        assert_eq!(new, ["e1", "e2"], "read again, each once");
    }

    #[test]
    fn a_long_backlog_is_read_in_windows_oldest_first_never_skipping() {
        let hour = 3_600_000;
        let mut cursor = EventCursor::starting_at(0);
        let events: Vec<(String, i64)> = (0..20).map(|h| (format!("e{h}"), h * hour + 1)).collect();
        let refs: Vec<(&str, i64)> = events.iter().map(|(id, at)| (id.as_str(), *at)).collect();
        let now = 20 * hour;
        let mut found = Vec::new();
        let mut polls = 0;
        loop {
            polls += 1;
            let caught_up = cursor.begin(now).is_caught_up(now);
            let (_, to, new) = poll(&mut cursor, now, &refs);
            assert_eq!(to, cursor.high_water_ms + EVENT_OVERLAP_MS);
            assert!(cursor.high_water_ms <= now);
            found.extend(new);
            if caught_up {
                break;
            }
        }
        assert_eq!(polls, 4, "20 hours in windows of at most 6");
        found.sort_by_key(|id| id[1..].parse::<u32>().unwrap());
        assert_eq!(found.len(), 20);
        assert_eq!(found, events.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>());
    }

    #[test]
    fn a_notice_outlives_three_stretched_intervals() {
        // Budgets stretched the live interval to 20 minutes: the window follows it (an hour),
        // so the notice read while the sessions were ACTIVE still selects them 20 minutes later
        // (a window from the configured 60 s, ten minutes, forgot it).
        let window =
            crate::sweep::interruption_window(std::time::Duration::from_secs(1200)).as_millis() as i64;
        assert_eq!(window, 3_600_000);
        let mut tracker = LiveTracker::default();
        tracker.begin_pass(true);
        tracker.see("a", "l", Some("i-0000000000000000a"), true);
        tracker.commit(0, window);
        tracker.note_interruptions([], 0, window);
        tracker.begin_pass(true);
        tracker.see("a", "l", Some("i-0000000000000000a"), true);
        tracker.commit(1_200_000, window);
        tracker.note_interruptions(["i-0000000000000000a"], 1_200_000, window);
        tracker.begin_pass(true);
        tracker.commit(2_400_000, window);
        assert_eq!(tracker.candidates(100, |_| false).len(), 1);
    }

    #[test]
    fn instance_ids_are_told_from_other_compute_names() {
        assert!(is_instance_id("i-0123456789abcdef0"));
        assert!(is_instance_id("i-12345678"));
        assert!(!is_instance_id("host-a"));
        assert!(!is_instance_id("i-xyz"));
    }

    #[test]
    fn an_idle_instance_reclaimed_looks_up_no_session_known_to_run_elsewhere() {
        let mut tracker = LiveTracker::default();
        pass(
            &mut tracker,
            &[
                ("a", "l", Some("i-0000000000000000a")),
                ("b", "l", Some("i-0000000000000000b")),
                ("c", "l", None),
            ],
            0,
        );
        pass(&mut tracker, &[], 60_000);
        // i-...f hosted no session seen: only c (no ComputeName) may have been on it.
        tracker.note_interruptions(["i-0000000000000000f"], 60_000, WINDOW);
        assert_eq!(
            tracker.candidates(100, |_| false),
            vec![(session_key("c"), "c".to_string())]
        );
    }

    #[test]
    fn a_late_events_poll_still_explains_sessions_that_ended_since_the_last_complete_one() {
        let mut tracker = LiveTracker::default();
        pass(&mut tracker, &[("a", "l", Some("i-0000000000000000a"))], 0);
        tracker.note_interruptions([], 0, WINDOW);
        // a ends; then two passes whose events polls fail; the third reads the event.
        pass(&mut tracker, &[], 60_000);
        pass(&mut tracker, &[], 120_000);
        pass(&mut tracker, &[], 180_000);
        tracker.note_interruptions(["i-0000000000000000a"], 180_000, WINDOW);
        assert_eq!(tracker.candidates(100, |_| false).len(), 1);
    }

    #[test]
    fn a_restored_tracker_counts_what_left_active_during_the_downtime() {
        let active = BTreeMap::from([("l".to_string(), vec![session_key("a"), session_key("b")])]);
        let mut tracker = LiveTracker::restore(&active);
        let ended = pass(
            &mut tracker,
            &[("b", "l", Some("i-0000000000000000b")), ("c", "l", None)],
            0,
        );
        assert_eq!(ended, BTreeMap::from([("l".to_string(), 1)]), "a left while down");
        assert_eq!(
            tracker.active_keys(),
            BTreeMap::from([("l".to_string(), {
                let mut keys = vec![session_key("b"), session_key("c")];
                keys.sort();
                keys
            })])
        );
    }
}
