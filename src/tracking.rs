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

/// Each events poll starts this far before the newest event seen, so that an event GameLift
/// records late is still read; duplicates are dropped by EventId.
pub const EVENT_OVERLAP_MS: i64 = 5 * 60 * 1000;

/// Where a fleet's event polling stands: the newest EventTime read, and the ids of the events
/// inside the overlap window (the only ones a later poll can return again).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventCursor {
    pub high_water_ms: i64,
    pub seen: BTreeMap<String, i64>,
}

impl EventCursor {
    /// A cursor that counts events from `counting_from_ms` on (the exporter's start).
    pub fn starting_at(counting_from_ms: i64) -> EventCursor {
        EventCursor {
            high_water_ms: counting_from_ms,
            seen: BTreeMap::new(),
        }
    }

    /// The `StartTime` of the next poll.
    pub fn poll_from_ms(&self) -> i64 {
        self.high_water_ms - EVENT_OVERLAP_MS
    }

    /// Records an event read by a poll: `None` when it was read before, else whether it happened
    /// at or after `counting_from_ms` and so counts. (A new event from before that moment still
    /// tells which instance was reclaimed; the sessions' own end times decide whether they count.)
    pub fn accept(&mut self, event_id: &str, event_ms: i64, counting_from_ms: i64) -> Option<bool> {
        if self.seen.contains_key(event_id) || event_ms < self.poll_from_ms() {
            return None;
        }
        self.seen.insert(event_id.to_string(), event_ms);
        self.high_water_ms = self.high_water_ms.max(event_ms);
        Some(event_ms >= counting_from_ms)
    }

    /// Forgets ids that no later poll can return.
    pub fn prune(&mut self) {
        let from = self.poll_from_ms();
        self.seen.retain(|_, at| *at >= from);
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
    /// Interruption events whose instance hosted none of the sessions seen: every session that
    /// ended around them is looked up.
    unmatched: Vec<Suspicion>,
}

/// An interruption event kept in mind.
#[derive(Debug, Clone, Copy)]
struct Suspicion {
    noted_pass: u64,
    until_ms: i64,
}

impl Suspicion {
    /// Whether `ended` may have ended because of it: it was noticed at most one pass before
    /// the event was read (an event can be recorded a little late, never a whole pass early),
    /// or any time after while the event is kept in mind (the two-minute notice). Passes, not
    /// clocks, so that GameLift's clock and ours need not agree.
    fn covers(&self, ended: &Ended) -> bool {
        ended.noticed_pass + 1 >= self.noted_pass
    }
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
        if let Some(session) = self.live.sessions.get_mut(&key) {
            session.active_now = active;
            session.seen = pass;
            return;
        }
        let location = self.live.name(location);
        let compute = compute.map(|c| self.live.name(c));
        let id = self.keep_ids.then(|| {
            let cut = id.rfind('/').map_or(0, |i| i + 1);
            (self.live.name(&id[..cut]), Box::from(&id[cut..]))
        });
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

    /// Takes note of new INSTANCE_INTERRUPTED events (their ResourceId), after [`commit`].
    ///
    /// [`commit`]: LiveTracker::commit
    pub fn note_interruptions<'a>(
        &mut self,
        instances: impl IntoIterator<Item = &'a str>,
        now_ms: i64,
        window_ms: i64,
    ) {
        let suspicion = Suspicion {
            noted_pass: self.pass,
            until_ms: now_ms + window_ms,
        };
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
        on_reclaimed_instance || self.unmatched.iter().any(|s| s.covers(ended))
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
        // "old" ends normally; two passes later the instance is reclaimed with "a" on it.
        pass(&mut tracker, &[("a", "l", Some("i-1"))], 60_000);
        pass(&mut tracker, &[("a", "l", Some("i-1"))], 120_000);
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

    #[test]
    fn the_event_cursor_counts_each_event_once_and_nothing_before_the_start() {
        let mut cursor = EventCursor::starting_at(1_000_000);
        assert_eq!(cursor.poll_from_ms(), 1_000_000 - EVENT_OVERLAP_MS);
        assert_eq!(
            cursor.accept("old", 999_000, 1_000_000),
            Some(false),
            "new, but before the start"
        );
        assert_eq!(cursor.accept("e1", 1_100_000, 1_000_000), Some(true));
        assert_eq!(
            cursor.accept("e1", 1_100_000, 1_000_000),
            None,
            "read again in the overlap"
        );
        assert_eq!(
            cursor.accept("late", 1_050_000, 1_000_000),
            Some(true),
            "late, inside the overlap"
        );
        assert_eq!(cursor.high_water_ms, 1_100_000);
        cursor.accept("e2", 1_100_000 + EVENT_OVERLAP_MS + 1, 1_000_000);
        cursor.prune();
        assert!(!cursor.seen.contains_key("e1") && cursor.seen.contains_key("e2"));
    }
}
