//! The store: what is known about every fleet, changed one fleet at a time in one short critical
//! section (never across a network call), and rendered to exposition text after each change.
//!
//! - A live pass replaces its fleet's live view and adds its counts in one step, so a scrape
//!   never sees half of a pass and a fleet's numbers never mix two passes.
//! - Each fleet counts from the moment the exporter started watching it (its first sighting, or
//!   its return after it left the watch), kept in the state file so that a restart counts its
//!   downtime; what happened before is history and never an increment.
//! - Counters are monotonic and every series is served at 0 in a `/metrics` response before it
//!   first counts (see [`Counters`]), so that Prometheus' `increase()` sees the first step.
//! - The interruption ledger lives here, not in the passes: the live path (lookups) and the
//!   history path (full passes) both count through it, so each interrupted session counts once
//!   whichever sees it first, and a failing or panicking pass cannot lose it.
//! - The store is the one source of the state file.

use crate::aggregate::{HistoryTotals, LiveTotals};
use crate::aws::scope_key;
use crate::capacity::{CapacityOutcome, LocationCapacity, LocationUtilization};
use crate::clock::SharedClock;
use crate::discovery::Fleet;
use crate::events::{EventCounts, Rejected, SeenIds};
use crate::statefile::{PackedKeys, SavedFleet, SavedState};
use crate::tracking::{EventCursor, WATCHED_EVENT_CODES};
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, RwLock};
use tokio::sync::Notify;

/// How long an interrupted session is remembered after it ended: past AWS's 30-day retention it
/// cannot be seen again, so it cannot be counted twice.
pub const LEDGER_RETENTION_MS: i64 = 31 * 86_400_000;

/// One counter series: its published value, counts waiting for the series' 0 to have been
/// served, and the render that first showed it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counter {
    pub value: u64,
    pending: u64,
    /// The version of the first rendered text that held this series (at 0).
    born: Option<u64>,
}

/// Counter series of one fleet by one label (location or event code).
///
/// A series that first reaches Prometheus with a value N makes `increase()` miss those N (there
/// is no earlier sample to compare with). So a new series is created at 0, and what it counts
/// before a `/metrics` response has served that 0 waits, and is added by the first render after.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters(BTreeMap<String, Counter>);

impl Counters {
    /// Makes the series exist (at 0 if new).
    pub fn ensure(&mut self, key: &str) {
        if !self.0.contains_key(key) {
            self.0.insert(key.to_string(), Counter::default());
        }
    }

    /// Counts `count` on `key`, at once if its 0 was served (as of `served`), else later.
    pub fn add(&mut self, key: &str, count: u64, served: u64) -> bool {
        self.ensure(key);
        let counter = self.0.get_mut(key).expect("just ensured");
        if counter.born.is_some_and(|born| born <= served) {
            counter.value += count;
            false
        } else {
            counter.pending += count;
            count > 0
        }
    }

    /// Adds the waiting counts of series whose 0 has been served; returns whether any still wait.
    fn flush(&mut self, served: u64) -> bool {
        let mut waiting = false;
        for counter in self.0.values_mut() {
            if counter.born.is_some_and(|born| born <= served) {
                counter.value += std::mem::take(&mut counter.pending);
            } else if counter.pending > 0 {
                waiting = true;
            }
        }
        waiting
    }

    fn mark_rendered(&mut self, version: u64) {
        for counter in self.0.values_mut() {
            counter.born.get_or_insert(version);
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.0.iter().map(|(k, c)| (k.as_str(), c.value))
    }

    pub fn get(&self, key: &str) -> Option<u64> {
        self.0.get(key).map(|c| c.value)
    }

    /// Counts that wait for their series' 0 to be served.
    pub fn pending(&self) -> u64 {
        self.0.values().map(|c| c.pending).sum()
    }
}

/// The latest complete live pass of a fleet.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveView {
    /// The statuses it listed (`sweep.live_statuses` at the time).
    pub statuses: Vec<String>,
    pub locations: BTreeMap<String, LiveTotals>,
}

/// The latest complete full pass of a fleet.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryView {
    pub locations: BTreeMap<String, HistoryTotals>,
}

/// An INTERRUPTED session a pass saw; the ledger decides whether it counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interruption {
    pub key: u64,
    pub location: String,
    /// Its TerminationTime (epoch ms), when it has one.
    pub termination_ms: Option<i64>,
}

/// What a complete live pass publishes, in one step.
#[derive(Debug, Clone, Default)]
pub struct LiveOutcome {
    pub view: LiveView,
    /// Sessions that left ACTIVE since the previous pass, per location.
    pub ended: BTreeMap<String, u64>,
    /// The events poll, if it completed: new fleet events (event code, Count or 1) at or after
    /// the fleet's counting start, and where polling stands now. `None`: it failed, and the
    /// fleet's cursor stays where it was.
    pub events: Option<(Vec<(String, u64)>, EventCursor)>,
    /// Interrupted sessions found by lookups.
    pub interruptions: Vec<Interruption>,
    /// The sessions ACTIVE as of this pass, per location (for the state file).
    pub active: Option<BTreeMap<String, Vec<u64>>>,
    pub duration_seconds: f64,
}

/// What a complete full pass publishes, in one step.
#[derive(Debug, Clone, Default)]
pub struct HistoryOutcome {
    pub view: HistoryView,
    pub interruptions: Vec<Interruption>,
    /// When the pass started (epoch ms): newer last-interruption times set by live passes meanwhile
    /// are kept.
    pub started_ms: i64,
    pub duration_seconds: f64,
}

/// What counting a batch of event messages did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EventsApplied {
    pub counted: usize,
    pub duplicates: usize,
    pub rejected: usize,
    /// Ids of deleted messages forgotten before their dedup window passed (memory bound).
    pub forgotten: usize,
}

/// Numbers of one kind from the fleet's latest capacity cycle that read them all, and when.
#[derive(Debug, Clone, PartialEq)]
pub struct Timed<T> {
    pub at_ms: i64,
    pub locations: BTreeMap<String, T>,
}

/// Everything known about one fleet.
#[derive(Debug, Clone)]
pub struct FleetRecord {
    pub fleet: Fleet,
    pub live: Option<LiveView>,
    pub history: Option<HistoryView>,
    /// Whether its latest live pass completed.
    pub up: bool,
    /// Whether its latest events poll completed (`None` before its first live pass).
    pub events_up: Option<bool>,
    /// Whether a first live pass has finished (successfully or not): readiness.
    pub first_pass_done: bool,
    pub last_success_ms: Option<i64>,
    pub last_full_pass_ms: Option<i64>,
    pub live_duration_seconds: Option<f64>,
    pub full_duration_seconds: Option<f64>,
    /// Instance (and container group) counts per location, from the capacity cycle.
    pub capacity: Option<Timed<LocationCapacity>>,
    /// Utilization per location, from the capacity cycle.
    pub utilization: Option<Timed<LocationUtilization>>,
    pub interruptions: Counters,
    pub ended: Counters,
    pub events: Counters,
    /// TerminationTime of the newest INTERRUPTED session per location.
    pub last_interruption_ms: BTreeMap<String, i64>,
    /// When the exporter started watching this fleet (epoch ms): it counts from here.
    pub watch_since_ms: i64,
    /// How long its session series stay without a complete live pass before they are dropped:
    /// `sweep.stale_after`, or twice the interval its account-Region keeps if that is longer.
    pub stale_after_ms: i64,
    ledger: HashMap<u64, i64>,
    baseline_done: bool,
    cursor: EventCursor,
    /// The sessions ACTIVE as of its latest complete live pass (for the state file), and those
    /// restored from it, until a tracker takes them.
    active: BTreeMap<String, Vec<u64>>,
    restored_active: Option<BTreeMap<String, Vec<u64>>>,
}

impl FleetRecord {
    /// A fleet the exporter starts watching now, or one restored from the state file.
    fn new(fleet: Fleet, saved: Option<SavedFleet>, now_ms: i64, stale_after_ms: i64) -> FleetRecord {
        let watch_since_ms = saved.as_ref().and_then(|s| s.watch_since_ms).unwrap_or(now_ms);
        let saved = saved.unwrap_or_default();
        let active: BTreeMap<String, Vec<u64>> = saved
            .active
            .into_iter()
            .map(|(location, keys)| (location, keys.0))
            .collect();
        let mut record = FleetRecord {
            fleet,
            live: None,
            history: None,
            up: false,
            events_up: None,
            first_pass_done: false,
            last_success_ms: None,
            last_full_pass_ms: None,
            live_duration_seconds: None,
            full_duration_seconds: None,
            capacity: None,
            utilization: None,
            interruptions: Counters::default(),
            ended: Counters::default(),
            events: Counters::default(),
            last_interruption_ms: BTreeMap::new(),
            watch_since_ms,
            stale_after_ms,
            ledger: saved.ledger.into_iter().collect(),
            baseline_done: saved.baseline_done,
            cursor: saved
                .events
                .unwrap_or_else(|| EventCursor::starting_at(watch_since_ms)),
            restored_active: (!active.is_empty()).then(|| active.clone()),
            active,
        };
        record.ensure_series();
        record
    }

    /// The counter series every fleet has from its discovery on.
    fn ensure_series(&mut self) {
        for location in &self.fleet.locations {
            self.interruptions.ensure(location);
            self.ended.ensure(location);
        }
        for code in WATCHED_EVENT_CODES {
            self.events.ensure(code);
        }
    }

    fn saved(&self) -> SavedFleet {
        let mut ledger: Vec<(u64, i64)> = self.ledger.iter().map(|(k, v)| (*k, *v)).collect();
        ledger.sort_unstable();
        SavedFleet {
            ledger,
            events: Some(self.cursor.clone()),
            baseline_done: self.baseline_done,
            watch_since_ms: Some(self.watch_since_ms),
            account: Some(self.fleet.account.clone()),
            region: Some(self.fleet.home_region.clone()),
            active: self
                .active
                .iter()
                .map(|(location, keys)| (location.clone(), PackedKeys(keys.clone())))
                .collect(),
        }
    }

    /// Adds the counts that waited for their series' 0 to be served; whether any still wait.
    fn flush(&mut self, served: u64) -> bool {
        let a = self.interruptions.flush(served);
        let b = self.ended.flush(served);
        let c = self.events.flush(served);
        a || b || c
    }

    fn mark_rendered(&mut self, version: u64) {
        self.interruptions.mark_rendered(version);
        self.ended.mark_rendered(version);
        self.events.mark_rendered(version);
    }

    /// Counts one interrupted session unless the ledger has it; returns whether it counted (or
    /// waits for its series to be served).
    fn count_interruption(&mut self, now_ms: i64, seen: &Interruption, baseline: bool, served: u64) -> bool {
        if self.ledger.contains_key(&seen.key) {
            return false;
        }
        let ended_ms = match seen.termination_ms {
            Some(ended) if ended > self.watch_since_ms => ended,
            // Ended before the fleet was watched: history, never counted (and never seen as new).
            Some(_) => return false,
            // No TerminationTime: the first sighting is the time. A fleet's first full pass only
            // records them, or every restart would count a month of history.
            None if baseline => {
                self.ledger.insert(seen.key, now_ms);
                return false;
            }
            None => now_ms,
        };
        self.ledger.insert(seen.key, ended_ms);
        self.interruptions.add(&seen.location, 1, served);
        let last = self
            .last_interruption_ms
            .entry(seen.location.clone())
            .or_insert(ended_ms);
        *last = (*last).max(ended_ms);
        true
    }
}

/// Where an account-Region stands, for readiness and staleness.
#[derive(Debug, Default)]
struct RegionStatus {
    /// A discovery finished: with fleets, or with a failure whose reason is published
    /// (`gamelift_exporter_account_up` 0 and the API failure counters).
    settled: bool,
    /// The live interval it keeps (ms), when it stretched `sweep.interval`.
    interval_ms: Option<i64>,
}

#[derive(Debug)]
struct Inner {
    fleets: BTreeMap<String, FleetRecord>,
    /// Fleets restored from the state file that no discovery has listed yet in this process.
    /// They keep their counting start until their account-Region's discovery lists them (their
    /// downtime is then counted) or shows that they left the watch (they are then forgotten).
    restored: HashMap<String, SavedFleet>,
    regions: BTreeMap<String, RegionStatus>,
    /// `sweep.stale_after` (ms).
    stale_after_ms: i64,
    /// Placement and matchmaking events, when `[events]` is configured.
    events: Option<EventCounts>,
    /// Event ids already counted (kept whether or not `[events]` is on now, for the state file).
    seen: SeenIds,
    /// Bumped by every change; the renderer and the state writer compare it with what they did.
    version: u64,
    state_version: u64,
    /// The newest rendered text a `/metrics` response has carried.
    served_version: u64,
    /// Whether some count waits for its series' 0 to be served.
    waiting: bool,
}

impl Inner {
    /// A fleet's staleness limit: `sweep.stale_after`, or twice its account-Region's interval.
    fn stale_after_for(&self, fleet: &Fleet) -> i64 {
        let interval = self
            .regions
            .get(&scope_key(&fleet.account, &fleet.home_region))
            .and_then(|r| r.interval_ms)
            .unwrap_or(0);
        self.stale_after_ms.max(2 * interval)
    }
}

/// The rendered exposition text of the fleet metrics (plain and gzip-compressed, both made once
/// per render), and when it stops being valid (the next time a fleet turns stale).
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    pub text: Bytes,
    pub gzip: Bytes,
    pub version: u64,
    pub valid_until_ms: Option<i64>,
}

/// One gzip member holding `data`.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).expect("writing to a Vec cannot fail");
    encoder.finish().expect("writing to a Vec cannot fail")
}

/// Shared by the passes, the renderer, the HTTP server and the state writer.
#[derive(Debug)]
pub struct Store {
    clock: SharedClock,
    inner: Mutex<Inner>,
    rendered: RwLock<Rendered>,
    /// Woken on every change.
    pub changed: Notify,
}

impl Store {
    /// An empty store: every fleet counts from its first sighting.
    pub fn new(clock: SharedClock) -> Store {
        Store {
            clock,
            inner: Mutex::new(Inner {
                fleets: BTreeMap::new(),
                restored: HashMap::new(),
                regions: BTreeMap::new(),
                stale_after_ms: 15 * 60_000,
                events: None,
                seen: SeenIds::default(),
                version: 1,
                state_version: 0,
                served_version: 0,
                waiting: false,
            }),
            rendered: RwLock::new(Rendered::default()),
            changed: Notify::new(),
        }
    }

    /// A store with what a state file kept: each fleet's counting start, ledger, event position
    /// and ACTIVE sessions, waiting for discovery to list the fleet again; and the event ids.
    pub fn restore(clock: SharedClock, saved: SavedState) -> Store {
        let store = Store::new(clock);
        {
            let mut inner = store.lock();
            inner.restored = saved.fleets.into_iter().collect();
            inner.seen = SeenIds::from_saved(saved.events_seen, &saved.events_undeleted);
        }
        store
    }

    /// Now, on the exporter's clock (epoch ms).
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The exporter's clock.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// `sweep.stale_after` in force (the config's, at start and after every reload).
    pub fn set_stale_after(&self, stale_after_ms: i64) {
        let mut inner = self.lock();
        if inner.stale_after_ms != stale_after_ms {
            inner.stale_after_ms = stale_after_ms;
            self.touched(inner);
        }
    }

    /// The live interval an account-Region keeps (`sweep.interval`, or longer when stretched):
    /// a fleet turns stale only after twice that, whatever `sweep.stale_after` says.
    pub fn set_interval(&self, account: &str, region: &str, interval_ms: i64) {
        let mut inner = self.lock();
        let status = inner.regions.entry(scope_key(account, region)).or_default();
        if status.interval_ms != Some(interval_ms) {
            status.interval_ms = Some(interval_ms);
            self.touched(inner);
        }
    }

    /// Turns the event series on (their zeros published from now on) or off.
    pub fn set_events(&self, enabled: bool) {
        let mut inner = self.lock();
        if enabled == inner.events.is_some() {
            return;
        }
        inner.events = enabled.then(EventCounts::new);
        self.touched(inner);
    }

    /// Queues (with the Regions their game sessions can be placed in) and matchmaking
    /// configurations found by discovery: their series exist at 0.
    pub fn ensure_event_sources(&self, queues: &[(String, Vec<String>)], configurations: &[String]) {
        let mut inner = self.lock();
        let Some(events) = inner.events.as_mut() else {
            return;
        };
        let before = events.clone();
        for (queue, regions) in queues {
            events.ensure_queue(queue);
            for region in regions {
                events.ensure_placed(queue, region);
            }
        }
        for configuration in configurations {
            events.ensure_configuration(configuration);
        }
        if *events != before {
            self.touched(inner);
        }
    }

    /// Counts a batch of read messages in one step: each event whose id is not remembered, each
    /// rejected message by its reason. Nothing is counted when `[events]` is off.
    pub fn apply_events(
        &self,
        batch: &[Result<crate::events::Event, Rejected>],
        window_ms: i64,
        retention_ms: i64,
    ) -> EventsApplied {
        let now = self.now_ms();
        let mut inner = self.lock();
        let served = inner.served_version;
        let Inner {
            events,
            seen,
            waiting,
            ..
        } = &mut *inner;
        let Some(events) = events.as_mut() else {
            return EventsApplied::default();
        };
        let forgotten = seen.expire(now, window_ms, retention_ms);
        let (mut counted, mut duplicates, mut rejected) = (0, 0, 0);
        for message in batch {
            match message {
                Ok(event) if seen.contains(&event.id) => {
                    events.ensure_source(event);
                    *waiting |= events.reject("duplicate", served);
                    duplicates += 1;
                }
                Ok(event) => {
                    *waiting |= events.count(event, now, served);
                    seen.insert(event.id.clone(), now);
                    counted += 1;
                }
                Err(reason) => {
                    *waiting |= events.reject(reason.reason, served);
                    rejected += 1;
                }
            }
        }
        self.touched(inner);
        EventsApplied {
            counted,
            duplicates,
            rejected,
            forgotten,
        }
    }

    /// The messages of these event ids were deleted from the queue: their ids need not outlive
    /// the dedup window any more.
    pub fn events_deleted<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        let mut inner = self.lock();
        let mut changed = false;
        for id in ids {
            changed |= inner.seen.deleted(id);
        }
        if changed {
            self.touched(inner);
        }
    }

    /// Event ids remembered, and how many of them wait for their message's deletion.
    pub fn events_remembered(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.seen.len(), inner.seen.undeleted())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A pass that panicked while holding the lock left the data consistent (every update is
        // applied in one step), so keep going.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn touched(&self, mut inner: MutexGuard<'_, Inner>) {
        inner.version += 1;
        drop(inner);
        self.changed.notify_one();
    }

    /// Registers the accounts and Regions being swept (as `account/region` keys); fleets of
    /// others leave the watch.
    pub fn set_regions(&self, regions: &[String]) {
        let mut inner = self.lock();
        inner.regions.retain(|r, _| regions.contains(r));
        for region in regions {
            inner.regions.entry(region.clone()).or_default();
        }
        inner
            .fleets
            .retain(|_, r| regions.contains(&scope_key(&r.fleet.account, &r.fleet.home_region)));
        inner
            .restored
            .retain(|_, saved| match (&saved.account, &saved.region) {
                (Some(account), Some(region)) => regions.contains(&scope_key(account, region)),
                // A version 1 file does not say where a fleet was: keep it until a discovery lists it.
                _ => true,
            });
        self.touched(inner);
    }

    /// A Region's discovery (after the fleet filter): new fleets get records (their counters at
    /// 0, counting from now unless the state file kept an earlier start), known ones get fresh
    /// metadata, and fleets of that Region not listed leave the watch with all their series.
    pub fn set_fleets(&self, account: &str, region: &str, fleets: &[Fleet]) {
        let now = self.now_ms();
        let mut inner = self.lock();
        inner.fleets.retain(|id, r| {
            r.fleet.account != account
                || r.fleet.home_region != region
                || fleets.iter().any(|f| &f.fleet_id == id)
        });
        for fleet in fleets {
            let stale_after = inner.stale_after_for(fleet);
            match inner.fleets.get_mut(&fleet.fleet_id) {
                Some(record) => {
                    record.fleet = fleet.clone();
                    record.ensure_series();
                }
                None => {
                    let saved = inner.restored.remove(&fleet.fleet_id);
                    inner.fleets.insert(
                        fleet.fleet_id.clone(),
                        FleetRecord::new(fleet.clone(), saved, now, stale_after),
                    );
                }
            }
        }
        // Restored fleets of this account-Region that it no longer lists have left the watch.
        inner.restored.retain(|id, saved| {
            saved.account.as_deref() != Some(account)
                || saved.region.as_deref() != Some(region)
                || fleets.iter().any(|f| &f.fleet_id == id)
        });
        inner
            .regions
            .entry(scope_key(account, region))
            .or_default()
            .settled = true;
        self.touched(inner);
    }

    /// A Region's discovery failed; its reason is published (account up 0, failure counters).
    /// It does not hold readiness: the exporter serves what it knows.
    pub fn discovery_failed(&self, account: &str, region: &str) {
        let mut inner = self.lock();
        let status = inner.regions.entry(scope_key(account, region)).or_default();
        if !status.settled {
            status.settled = true;
            self.touched(inner);
        }
    }

    /// Drops one fleet (it left the watch: excluded by the filter).
    pub fn remove_fleet(&self, fleet_id: &str) {
        let mut inner = self.lock();
        if inner.fleets.remove(fleet_id).is_some() {
            self.touched(inner);
        }
    }

    /// The fleets currently known, by id.
    pub fn fleet_ids(&self) -> Vec<String> {
        self.lock().fleets.keys().cloned().collect()
    }

    /// Whether the ledger already counted this session (so a lookup would be wasted).
    pub fn is_counted(&self, fleet_id: &str, key: u64) -> bool {
        self.lock()
            .fleets
            .get(fleet_id)
            .is_some_and(|r| r.ledger.contains_key(&key))
    }

    /// When the fleet's counting started, and where its event polling stands.
    pub fn event_position(&self, fleet_id: &str) -> (i64, EventCursor) {
        let now = self.now_ms();
        let inner = self.lock();
        match inner.fleets.get(fleet_id) {
            Some(record) => (record.watch_since_ms, record.cursor.clone()),
            None => (now, EventCursor::starting_at(now)),
        }
    }

    /// The ACTIVE sessions the state file kept for this fleet, once (its tracker starts from them).
    pub fn take_restored_active(&self, fleet_id: &str) -> Option<BTreeMap<String, Vec<u64>>> {
        self.lock()
            .fleets
            .get_mut(fleet_id)
            .and_then(|r| r.restored_active.take())
    }

    /// Publishes a complete live pass. Returns false if the fleet is no longer known.
    pub fn apply_live(&self, fleet_id: &str, outcome: LiveOutcome) -> bool {
        let now = self.now_ms();
        let mut inner = self.lock();
        let served = inner.served_version;
        let Some(record) = inner.fleets.get_mut(fleet_id) else {
            return false;
        };
        let mut waiting = record.flush(served);
        for location in outcome.view.locations.keys() {
            record.interruptions.ensure(location);
            record.ended.ensure(location);
        }
        for (location, count) in &outcome.ended {
            waiting |= record.ended.add(location, *count, served);
        }
        match outcome.events {
            Some((events, cursor)) => {
                for (code, count) in &events {
                    waiting |= record.events.add(code, *count, served);
                }
                record.cursor = cursor;
                record.events_up = Some(true);
            }
            None => record.events_up = Some(false),
        }
        for seen in &outcome.interruptions {
            waiting |= record.count_interruption(now, seen, false, served);
        }
        if let Some(active) = outcome.active {
            record.active = active;
        }
        record.live = Some(outcome.view);
        record.up = true;
        record.first_pass_done = true;
        record.last_success_ms = Some(now);
        record.live_duration_seconds = Some(outcome.duration_seconds);
        inner.waiting |= waiting;
        self.touched(inner);
        true
    }

    /// Publishes a complete full pass. Returns false if the fleet is no longer known.
    pub fn apply_history(&self, fleet_id: &str, outcome: HistoryOutcome) -> bool {
        let now = self.now_ms();
        let mut inner = self.lock();
        let served = inner.served_version;
        let Some(record) = inner.fleets.get_mut(fleet_id) else {
            return false;
        };
        let mut waiting = record.flush(served);
        for location in outcome.view.locations.keys() {
            record.interruptions.ensure(location);
            record.ended.ensure(location);
        }
        let baseline = !record.baseline_done;
        for seen in &outcome.interruptions {
            waiting |= record.count_interruption(now, seen, baseline, served);
        }
        record.baseline_done = true;
        // The newest interruption still visible, unless a live pass found a newer one while this
        // pass was running.
        let mut last: BTreeMap<String, i64> = outcome
            .view
            .locations
            .iter()
            .filter_map(|(l, h)| h.last_interruption_ms.map(|ms| (l.clone(), ms)))
            .collect();
        for (location, ms) in &record.last_interruption_ms {
            if *ms >= outcome.started_ms {
                let entry = last.entry(location.clone()).or_insert(*ms);
                *entry = (*entry).max(*ms);
            }
        }
        record.last_interruption_ms = last;
        record
            .ledger
            .retain(|_, ended| *ended > now - LEDGER_RETENTION_MS);
        record.history = Some(outcome.view);
        record.last_full_pass_ms = Some(now);
        record.full_duration_seconds = Some(outcome.duration_seconds);
        inner.waiting |= waiting;
        self.touched(inner);
        true
    }

    /// Publishes a Region's capacity cycle: each fleet whose calls of a kind all succeeded gets
    /// its new numbers of that kind in one step; the others keep theirs (until stale).
    pub fn apply_capacity(&self, outcome: CapacityOutcome) {
        let now = self.now_ms();
        let mut inner = self.lock();
        for (fleet_id, locations) in outcome.capacity {
            if let Some(record) = inner.fleets.get_mut(&fleet_id) {
                record.capacity = Some(Timed {
                    at_ms: now,
                    locations,
                });
            }
        }
        for (fleet_id, locations) in outcome.utilization {
            if let Some(record) = inner.fleets.get_mut(&fleet_id) {
                record.utilization = Some(Timed {
                    at_ms: now,
                    locations,
                });
            }
        }
        self.touched(inner);
    }

    /// A live pass failed: the fleet is down, its last complete numbers stay (until stale).
    pub fn fail_live(&self, fleet_id: &str) {
        let mut inner = self.lock();
        if let Some(record) = inner.fleets.get_mut(fleet_id) {
            record.up = false;
            record.first_pass_done = true;
            self.touched(inner);
        }
    }

    /// True when every account-Region has discovered its fleets or failed to with a published
    /// reason, and every discovered fleet has finished a first live pass, successfully or not.
    pub fn is_ready(&self) -> bool {
        let inner = self.lock();
        !inner.regions.is_empty()
            && inner.regions.values().all(|r| r.settled)
            && inner.fleets.values().all(|f| f.first_pass_done)
    }

    /// Renders the fleet metrics if anything changed or a fleet turned stale since the last
    /// render; returns when the text must be rendered again at the latest (epoch ms).
    pub fn render(&self) -> Option<i64> {
        let now = self.now_ms();
        {
            let rendered = self.rendered.read().unwrap_or_else(|p| p.into_inner());
            let version = self.lock().version;
            if rendered.version == version && rendered.valid_until_ms.is_none_or(|t| t > now) {
                return rendered.valid_until_ms;
            }
        }
        let mut inner = self.lock();
        let served = inner.served_version;
        let mut waiting = false;
        for record in inner.fleets.values_mut() {
            waiting |= record.flush(served);
        }
        if let Some(events) = inner.events.as_mut() {
            waiting |= events.flush(served);
        }
        let stale_after: HashMap<String, i64> = inner
            .fleets
            .values()
            .map(|r| (r.fleet.fleet_id.clone(), inner.stale_after_for(&r.fleet)))
            .collect();
        for record in inner.fleets.values_mut() {
            record.stale_after_ms = stale_after[&record.fleet.fleet_id];
        }
        let version = inner.version;
        let (mut text, valid_until_ms) = crate::metrics::render(&inner.fleets, now);
        for record in inner.fleets.values_mut() {
            record.mark_rendered(version);
        }
        if let Some(events) = inner.events.as_mut() {
            crate::metrics::render_events(events, &mut text);
            events.mark_rendered(version);
        }
        inner.waiting = waiting;
        drop(inner);
        let compressed = gzip(text.as_bytes());
        *self.rendered.write().unwrap_or_else(|p| p.into_inner()) = Rendered {
            text: Bytes::from(text),
            gzip: Bytes::from(compressed),
            version,
            valid_until_ms,
        };
        valid_until_ms
    }

    /// The latest rendered text (plain or gzip-compressed), with the version it shows.
    pub fn rendered(&self, gzip: bool) -> (Bytes, u64) {
        let rendered = self.rendered.read().unwrap_or_else(|p| p.into_inner());
        let bytes = if gzip {
            rendered.gzip.clone()
        } else {
            rendered.text.clone()
        };
        (bytes, rendered.version)
    }

    /// The latest rendered text.
    pub fn text(&self) -> Bytes {
        self.rendered(false).0
    }

    /// A `/metrics` response carried the text of `version`: every series it showed at 0 may
    /// count from now on (a render soon adds what waited).
    pub fn served(&self, version: u64) {
        let mut inner = self.lock();
        if version <= inner.served_version {
            return;
        }
        inner.served_version = version;
        if inner.waiting {
            self.touched(inner);
        }
    }

    /// Whether some count still waits for its series' 0 to be served.
    pub fn has_waiting_counts(&self) -> bool {
        self.lock().waiting
    }

    /// What the state file should hold now, with the change version it reflects, if anything
    /// changed since the last successful save ([`Store::saved`]).
    pub fn state_to_save(&self) -> Option<(u64, SavedState)> {
        let now = self.now_ms();
        let inner = self.lock();
        if inner.state_version == inner.version {
            return None;
        }
        // Restored fleets not discovered yet keep their state, unless nothing is left to protect.
        let mut fleets: BTreeMap<String, SavedFleet> = inner
            .restored
            .iter()
            .filter(|(_, f)| {
                f.watch_since_ms.is_some_and(|w| w > now - LEDGER_RETENTION_MS)
                    || f.ledger
                        .iter()
                        .any(|(_, ended)| *ended > now - LEDGER_RETENTION_MS)
            })
            .map(|(id, saved)| (id.clone(), saved.clone()))
            .collect();
        for (id, record) in &inner.fleets {
            fleets.insert(id.clone(), record.saved());
        }
        let counting_since_ms = fleets
            .values()
            .filter_map(|f| f.watch_since_ms)
            .min()
            .unwrap_or(now);
        let (events_seen, events_undeleted) = inner.seen.saved();
        let state = SavedState {
            version: crate::statefile::VERSION,
            counting_since_ms,
            saved_at_ms: now,
            fleets,
            events_seen,
            events_undeleted,
        };
        Some((inner.version, state))
    }

    /// The state of change `version` is on disk.
    pub fn saved(&self, version: u64) {
        let mut inner = self.lock();
        inner.state_version = inner.state_version.max(version);
    }

    /// Forces the next render (a setting that changes the text).
    pub fn invalidate(&self) {
        let inner = self.lock();
        self.touched(inner);
    }

    /// The change version (bumped by every change).
    pub fn version(&self) -> u64 {
        self.lock().version
    }

    /// Looks at one fleet (tests and the landing page).
    pub fn with_fleet<T>(&self, fleet_id: &str, f: impl FnOnce(&FleetRecord) -> T) -> Option<T> {
        self.lock().fleets.get(fleet_id).map(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::sync::Arc;

    fn fleet(id: &str, locations: &[&str]) -> Fleet {
        Fleet {
            fleet_id: id.to_string(),
            name: id.to_string(),
            fleet_type: "SPOT".into(),
            compute_type: "EC2".into(),
            home_region: "us-west-2".into(),
            account: "default".into(),
            account_id: "123456789012".into(),
            locations: locations.iter().map(|l| l.to_string()).collect(),
            status: "ACTIVE".into(),
            location_status: BTreeMap::new(),
        }
    }

    fn interruption(key: u64, location: &str, termination_ms: Option<i64>) -> Interruption {
        Interruption {
            key,
            location: location.to_string(),
            termination_ms,
        }
    }

    const T0: i64 = 1_800_000_000_000;

    /// A store on a manual clock at `T0`.
    fn store_at_t0() -> (Store, Arc<ManualClock>) {
        let clock = ManualClock::new(T0);
        (Store::new(clock.clone()), clock)
    }

    /// Renders and serves the text, as a scrape of `/metrics` does.
    fn scrape(store: &Store) -> String {
        store.render();
        let (text, version) = store.rendered(false);
        store.served(version);
        String::from_utf8(text.to_vec()).unwrap()
    }

    fn counts(store: &Store) -> BTreeMap<String, u64> {
        store
            .with_fleet("fleet-a", |r| {
                r.interruptions.iter().map(|(l, v)| (l.to_string(), v)).collect()
            })
            .unwrap()
    }

    /// A store whose fleet-a was first seen at `T0`, its zeros served a minute later; and a
    /// termination time within that minute.
    fn rendered_store() -> (Store, i64, Option<i64>) {
        let (store, clock) = store_at_t0();
        store.set_fleets("default", "us-west-2", &[fleet("fleet-a", &["us-west-2"])]);
        clock.advance(60_000);
        scrape(&store);
        (store, T0, Some(T0 + 59_000))
    }

    #[test]
    fn each_interrupted_session_counts_once_whichever_pass_sees_it_first() {
        let (store, since, recent) = rendered_store();
        // The live path finds 1 and 2, the history path then sees 1, 2 and 3.
        store.apply_live(
            "fleet-a",
            LiveOutcome {
                interruptions: vec![
                    interruption(1, "us-west-2", recent),
                    interruption(2, "us-west-2", recent),
                ],
                ..LiveOutcome::default()
            },
        );
        assert_eq!(counts(&store)["us-west-2"], 2);
        store.apply_history(
            "fleet-a",
            HistoryOutcome {
                interruptions: vec![
                    interruption(1, "us-west-2", recent),
                    interruption(2, "us-west-2", recent),
                    interruption(3, "us-west-2", recent),
                    // Ended before counting started: history.
                    interruption(4, "us-west-2", Some(since - 1)),
                    // No TerminationTime in the fleet's first full pass: recorded, not counted.
                    interruption(5, "us-west-2", None),
                ],
                ..HistoryOutcome::default()
            },
        );
        assert_eq!(counts(&store)["us-west-2"], 3);
        assert!(store.is_counted("fleet-a", 5));
        // The second full pass sees 5 again: still not counted.
        store.apply_history(
            "fleet-a",
            HistoryOutcome {
                interruptions: vec![
                    interruption(5, "us-west-2", None),
                    interruption(6, "us-west-2", None),
                ],
                ..HistoryOutcome::default()
            },
        );
        assert_eq!(
            counts(&store)["us-west-2"],
            4,
            "only 6, first seen after the baseline"
        );
    }

    #[test]
    fn capacity_is_published_per_fleet_and_kind_and_dropped_when_stale() {
        let (store, _clock) = store_at_t0();
        store.set_stale_after(60_000);
        store.set_fleets(
            "default",
            "us-west-2",
            &[
                fleet("fleet-a", &["us-west-2", "us-east-1"]),
                fleet("fleet-b", &["us-west-2"]),
            ],
        );
        let home = LocationCapacity {
            instances: [4, 1, 8, 1, 3, 1, 0],
            container_groups: None,
        };
        let used = LocationUtilization {
            active_server_processes: 9,
            active_game_sessions: 7,
            current_player_sessions: 40,
            maximum_player_sessions: 70,
        };
        // fleet-a's instances and fleet-b's utilization were read in full; the rest failed.
        store.apply_capacity(CapacityOutcome {
            capacity: BTreeMap::from([(
                "fleet-a".to_string(),
                BTreeMap::from([
                    ("us-west-2".to_string(), home.clone()),
                    ("us-east-1".to_string(), home),
                ]),
            )]),
            utilization: BTreeMap::from([(
                "fleet-b".to_string(),
                BTreeMap::from([("us-west-2".to_string(), used)]),
            )]),
            ..CapacityOutcome::default()
        });
        let text = |now: i64| {
            let inner = store.lock();
            crate::metrics::render(&inner.fleets, now)
        };
        let (fresh, valid_until) = text(T0);
        let lines = |text: &str, prefix: &str| -> Vec<String> {
            text.lines()
                .filter(|l| l.starts_with(prefix))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(
            lines(&fresh, "gamelift_fleet_instances{fleet_id=\"fleet-a\",location=\"us-east-1\""),
            [
                "gamelift_fleet_instances{fleet_id=\"fleet-a\",location=\"us-east-1\",state=\"ACTIVE\"} 3",
                "gamelift_fleet_instances{fleet_id=\"fleet-a\",location=\"us-east-1\",state=\"DESIRED\"} 4",
                "gamelift_fleet_instances{fleet_id=\"fleet-a\",location=\"us-east-1\",state=\"IDLE\"} 1",
                "gamelift_fleet_instances{fleet_id=\"fleet-a\",location=\"us-east-1\",state=\"MAXIMUM\"} 8",
                "gamelift_fleet_instances{fleet_id=\"fleet-a\",location=\"us-east-1\",state=\"MINIMUM\"} 1",
                "gamelift_fleet_instances{fleet_id=\"fleet-a\",location=\"us-east-1\",state=\"PENDING\"} 1",
                "gamelift_fleet_instances{fleet_id=\"fleet-a\",location=\"us-east-1\",state=\"TERMINATING\"} 0",
            ]
        );
        assert!(lines(&fresh, "gamelift_fleet_instances{fleet_id=\"fleet-b\"").is_empty());
        assert!(lines(
            &fresh,
            "gamelift_fleet_active_server_processes{fleet_id=\"fleet-a\""
        )
        .is_empty());
        assert_eq!(
            lines(&fresh, "gamelift_fleet_current_player_sessions"),
            ["gamelift_fleet_current_player_sessions{fleet_id=\"fleet-b\",location=\"us-west-2\"} 40"]
        );
        assert!(
            lines(&fresh, "gamelift_fleet_game_server_container_groups").is_empty(),
            "no container groups for an EC2 fleet"
        );
        // The text must be rendered again when the capacity numbers turn stale.
        let stamped = store
            .with_fleet("fleet-a", |r| r.capacity.as_ref().unwrap().at_ms)
            .unwrap();
        assert_eq!(valid_until, Some(stamped + 60_000));
        let (stale, _) = text(stamped + 60_000);
        assert!(lines(&stale, "gamelift_fleet_instances").is_empty(), "{stale}");
        assert!(lines(&stale, "gamelift_fleet_current_player_sessions").is_empty());
        assert!(lines(
            &stale,
            "gamelift_exporter_fleet_capacity_last_success_timestamp_seconds"
        )
        .is_empty());
        // Status state sets come from discovery and do not go stale.
        assert_eq!(
            lines(
                &stale,
                "gamelift_fleet_status{fleet_id=\"fleet-a\",status=\"ACTIVE\"}"
            ),
            ["gamelift_fleet_status{fleet_id=\"fleet-a\",status=\"ACTIVE\"} 1"]
        );
    }

    #[test]
    fn a_new_series_is_served_at_zero_before_it_counts() {
        let (store, clock) = store_at_t0();
        store.set_fleets("default", "us-west-2", &[fleet("fleet-a", &["us-west-2"])]);
        clock.advance(60_000);
        let recent = Some(T0 + 59_000);
        // Counted before anything was served, and in a location discovery did not report.
        let outcome = || LiveOutcome {
            interruptions: vec![
                interruption(1, "us-west-2", recent),
                interruption(2, "local-zone", recent),
            ],
            events: Some((
                vec![("FLEET_SCALING_EVENT".into(), 2)],
                EventCursor::starting_at(T0),
            )),
            ..LiveOutcome::default()
        };
        store.apply_live("fleet-a", outcome());
        assert_eq!(
            counts(&store),
            BTreeMap::from([("local-zone".into(), 0), ("us-west-2".into(), 0)])
        );
        // Rendered but not served yet (nobody scraped): the counts still wait.
        store.render();
        store.apply_live("fleet-a", LiveOutcome::default());
        assert_eq!(counts(&store)["us-west-2"], 0, "its 0 was never served");
        let text = scrape(&store);
        assert!(text.contains(
            "gamelift_game_session_interruptions_total{fleet_id=\"fleet-a\",location=\"local-zone\"} 0\n"
        ));
        assert!(text.contains(
            "gamelift_fleet_events_total{fleet_id=\"fleet-a\",event_code=\"FLEET_SCALING_EVENT\"} 0\n"
        ));
        assert!(store.has_waiting_counts());
        // The next render, with no pass in between, adds what waited.
        let text = scrape(&store);
        assert!(text.contains(
            "gamelift_game_session_interruptions_total{fleet_id=\"fleet-a\",location=\"local-zone\"} 1\n"
        ));
        assert!(text.contains(
            "gamelift_fleet_events_total{fleet_id=\"fleet-a\",event_code=\"FLEET_SCALING_EVENT\"} 2\n"
        ));
        assert!(!store.has_waiting_counts());
        assert_eq!(
            counts(&store),
            BTreeMap::from([("local-zone".into(), 1), ("us-west-2".into(), 1)])
        );
    }

    #[test]
    fn each_fleet_counts_from_its_own_first_sighting_and_again_from_its_return() {
        let (store, clock) = store_at_t0();
        store.set_regions(&["default/us-west-2".to_string()]);
        store.set_fleets("default", "us-west-2", &[fleet("fleet-a", &["us-west-2"])]);
        clock.advance(3_600_000);
        // fleet-b joins an hour later (a reload let it in): what ended before is history.
        let joined = T0 + 3_600_000;
        store.set_fleets(
            "default",
            "us-west-2",
            &[fleet("fleet-a", &["us-west-2"]), fleet("fleet-b", &["us-west-2"])],
        );
        assert_eq!(store.event_position("fleet-b").0, joined);
        assert_eq!(store.event_position("fleet-a").0, T0);
        clock.advance(60_000);
        scrape(&store);
        let before_join = interruption(7, "us-west-2", Some(joined - 1));
        let after_join = interruption(8, "us-west-2", Some(joined + 1));
        for id in ["fleet-a", "fleet-b"] {
            store.apply_history(
                id,
                HistoryOutcome {
                    interruptions: vec![before_join.clone(), after_join.clone()],
                    ..HistoryOutcome::default()
                },
            );
        }
        let interrupted = |id: &str| {
            store
                .with_fleet(id, |r| r.interruptions.get("us-west-2"))
                .unwrap()
        };
        assert_eq!(interrupted("fleet-a"), Some(2), "watched since T0: both");
        assert_eq!(interrupted("fleet-b"), Some(1), "watched since it joined: one");
        // fleet-b is excluded, then let in again: it counts from its return.
        store.remove_fleet("fleet-b");
        clock.advance(600_000);
        store.set_fleets(
            "default",
            "us-west-2",
            &[fleet("fleet-a", &["us-west-2"]), fleet("fleet-b", &["us-west-2"])],
        );
        assert_eq!(store.event_position("fleet-b").0, joined + 660_000);
        assert_eq!(interrupted("fleet-b"), Some(0), "a new watch, new series at 0");
    }

    #[test]
    fn ready_when_every_region_settled_and_every_fleet_finished_a_first_pass() {
        let (store, _clock) = store_at_t0();
        assert!(!store.is_ready(), "no Region yet");
        store.set_regions(&["default/us-west-2".to_string(), "default/eu-west-1".to_string()]);
        store.set_fleets(
            "default",
            "us-west-2",
            &[fleet("fleet-a", &["us-west-2"]), fleet("fleet-b", &["us-west-2"])],
        );
        assert!(!store.is_ready(), "eu-west-1 has not discovered its fleets");
        // A Region whose discovery fails (its reason published) does not hold readiness.
        store.discovery_failed("default", "eu-west-1");
        assert!(
            !store.is_ready(),
            "discovered, but no fleet has finished a first pass"
        );
        store.apply_live("fleet-a", LiveOutcome::default());
        assert!(!store.is_ready(), "fleet-b is still in its first pass");
        // A failed first pass is a finished one: the exporter answers, with fleet_up 0.
        store.fail_live("fleet-b");
        assert!(store.is_ready());
    }

    #[test]
    fn the_ledger_and_the_counting_start_survive_a_restart_through_the_state_file() {
        let (store, _, recent) = rendered_store();
        store.apply_live(
            "fleet-a",
            LiveOutcome {
                interruptions: vec![interruption(1, "us-west-2", recent)],
                active: Some(BTreeMap::from([("us-west-2".to_string(), vec![3, 5])])),
                ..LiveOutcome::default()
            },
        );
        let (version, saved) = store.state_to_save().unwrap();
        store.saved(version);
        assert!(store.state_to_save().is_none(), "nothing new to save");
        // Back an hour later.
        let clock = ManualClock::new(T0 + 3_600_000);
        let restarted = Store::restore(clock.clone(), saved);
        restarted.set_regions(&["default/us-west-2".to_string()]);
        restarted.set_fleets("default", "us-west-2", &[fleet("fleet-a", &["us-west-2"])]);
        assert_eq!(
            restarted.event_position("fleet-a").0,
            T0,
            "the counting start is kept"
        );
        assert_eq!(
            restarted.take_restored_active("fleet-a"),
            Some(BTreeMap::from([("us-west-2".to_string(), vec![3, 5])]))
        );
        assert_eq!(restarted.take_restored_active("fleet-a"), None, "once");
        scrape(&restarted);
        restarted.apply_history(
            "fleet-a",
            HistoryOutcome {
                interruptions: vec![
                    interruption(1, "us-west-2", recent),
                    interruption(2, "us-west-2", Some(T0 + 1_800_000)),
                ],
                ..HistoryOutcome::default()
            },
        );
        // 1 was counted before the restart; 2 ended while the exporter was down.
        assert_eq!(counts(&restarted)["us-west-2"], 1);
    }

    #[test]
    fn staleness_follows_the_interval_the_region_keeps() {
        let (store, clock) = store_at_t0();
        store.set_stale_after(3_000);
        store.set_fleets("default", "us-west-2", &[fleet("fleet-a", &["us-west-2"])]);
        store.apply_live("fleet-a", LiveOutcome::default());
        let up =
            |store: &Store| scrape(store).contains("gamelift_exporter_fleet_up{fleet_id=\"fleet-a\"} 1\n");
        // Budgets stretched the interval to 4 s: stale only after twice that, not after 3 s.
        store.set_interval("default", "us-west-2", 4_000);
        clock.advance(5_000);
        assert!(up(&store), "5 s after a pass that comes every 4 s");
        clock.advance(3_001);
        assert!(!up(&store), "two kept intervals without a pass");
    }

    #[test]
    fn restored_fleets_that_left_the_watch_are_forgotten() {
        let (store, _, _) = rendered_store();
        store.set_fleets(
            "default",
            "us-west-2",
            &[fleet("fleet-a", &["us-west-2"]), fleet("fleet-b", &["us-west-2"])],
        );
        let (_, saved) = store.state_to_save().unwrap();
        let restarted = Store::restore(ManualClock::new(T0 + 60_000), saved.clone());
        // The Region is still swept but its discovery no longer lists fleet-b (excluded).
        restarted.set_regions(&["default/us-west-2".to_string()]);
        restarted.set_fleets("default", "us-west-2", &[fleet("fleet-a", &["us-west-2"])]);
        let (_, kept) = restarted.state_to_save().unwrap();
        assert_eq!(kept.fleets.keys().collect::<Vec<_>>(), ["fleet-a"]);
        // An account-Region no longer swept: its fleets left the watch before any discovery.
        let moved = Store::restore(ManualClock::new(T0 + 60_000), saved);
        moved.set_regions(&["default/eu-west-1".to_string()]);
        let (_, kept) = moved.state_to_save().unwrap();
        assert!(kept.fleets.is_empty(), "{:?}", kept.fleets.keys());
    }
}
