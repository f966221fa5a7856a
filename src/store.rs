//! The store: what is known about every fleet, changed one fleet at a time in one short critical
//! section (never across a network call), and rendered to exposition text after each change.
//!
//! - A live pass replaces its fleet's live view and adds its counts in one step, so a scrape
//!   never sees half of a pass and a fleet's numbers never mix two passes.
//! - Counters are monotonic and every series is published at 0 before it first counts (see
//!   [`Counters`]), so that Prometheus' `increase()` sees the first step.
//! - The interruption ledger lives here, not in the passes: the live path (lookups) and the
//!   history path (full passes) both count through it, so each interrupted session counts once
//!   whichever sees it first, and a failing or panicking pass cannot lose it.
//! - The store is the one writer of the state file.

use crate::aggregate::{HistoryTotals, LiveTotals};
use crate::capacity::{CapacityOutcome, LocationCapacity, LocationUtilization};
use crate::discovery::Fleet;
use crate::events::{EventCounts, Rejected, SeenIds};
use crate::scheduler::scope_key;
use crate::statefile::{SavedFleet, SavedState};
use crate::tracking::{EventCursor, WATCHED_EVENT_CODES};
use bytes::Bytes;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, RwLock};
use tokio::sync::Notify;

/// How long an interrupted session is remembered after it ended: past AWS's 30-day retention it
/// cannot be seen again, so it cannot be counted twice.
pub const LEDGER_RETENTION_MS: i64 = 31 * 86_400_000;

/// One counter series: its published value, and counts waiting for the series to have been
/// published at 0 once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counter {
    pub value: u64,
    pending: u64,
    rendered: bool,
}

/// Counter series of one fleet by one label (location or event code).
///
/// A series that appears with a value N makes `increase()` miss those N (Prometheus has no
/// earlier sample to compare with). So a new series is created at 0, and what it counts before
/// a snapshot with that 0 has been rendered waits and is added by the fleet's next update.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters(BTreeMap<String, Counter>);

impl Counters {
    /// Makes the series exist (at 0 if new).
    pub fn ensure(&mut self, key: &str) {
        if !self.0.contains_key(key) {
            self.0.insert(key.to_string(), Counter::default());
        }
    }

    pub fn add(&mut self, key: &str, count: u64) {
        self.ensure(key);
        let counter = self.0.get_mut(key).expect("just ensured");
        if counter.rendered {
            counter.value += count;
        } else {
            counter.pending += count;
        }
    }

    /// Adds the waiting counts of series whose 0 has been rendered.
    fn flush(&mut self) {
        for counter in self.0.values_mut() {
            if counter.rendered {
                counter.value += std::mem::take(&mut counter.pending);
            }
        }
    }

    fn mark_rendered(&mut self) {
        for counter in self.0.values_mut() {
            counter.rendered = true;
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.0.iter().map(|(k, c)| (k.as_str(), c.value))
    }

    pub fn get(&self, key: &str) -> Option<u64> {
        self.0.get(key).map(|c| c.value)
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
    /// New fleet events: (event code, Count or 1).
    pub events: Vec<(String, u64)>,
    /// Interrupted sessions found by lookups.
    pub interruptions: Vec<Interruption>,
    pub cursor: Option<EventCursor>,
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
    ledger: HashMap<u64, i64>,
    baseline_done: bool,
    cursor: Option<EventCursor>,
}

impl FleetRecord {
    fn new(fleet: Fleet, saved: SavedFleet) -> FleetRecord {
        let mut record = FleetRecord {
            fleet,
            live: None,
            history: None,
            up: false,
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
            ledger: saved.ledger.into_iter().collect(),
            baseline_done: saved.baseline_done,
            cursor: saved.events,
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
            events: self.cursor.clone(),
            baseline_done: self.baseline_done,
        }
    }

    /// The start of every update: counts that waited for their series' 0 to be rendered are
    /// added, and the locations a pass saw get their counter series.
    fn begin_update<'a>(&mut self, locations: impl Iterator<Item = &'a String>) {
        self.interruptions.flush();
        self.ended.flush();
        self.events.flush();
        for location in locations {
            self.interruptions.ensure(location);
            self.ended.ensure(location);
        }
    }

    /// Counts one interrupted session unless the ledger has it; returns whether it counted.
    fn count_interruption(
        &mut self,
        since_ms: i64,
        now_ms: i64,
        seen: &Interruption,
        baseline: bool,
    ) -> bool {
        if self.ledger.contains_key(&seen.key) {
            return false;
        }
        let ended_ms = match seen.termination_ms {
            Some(ended) if ended > since_ms => ended,
            // Ended before counting started: history, never counted (and never seen as new).
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
        self.interruptions.add(&seen.location, 1);
        let last = self
            .last_interruption_ms
            .entry(seen.location.clone())
            .or_insert(ended_ms);
        *last = (*last).max(ended_ms);
        true
    }
}

/// Where Regions stand, for readiness.
#[derive(Debug, Default)]
struct RegionStatus {
    discovered: bool,
}

#[derive(Debug)]
struct Inner {
    /// Interruptions and events count from here (epoch ms).
    since_ms: i64,
    fleets: BTreeMap<String, FleetRecord>,
    /// State of fleets not (or no longer) discovered: restored from the state file, or kept from
    /// a fleet that left discovery, in case it comes back.
    dormant: HashMap<String, SavedFleet>,
    regions: BTreeMap<String, RegionStatus>,
    /// Placement and matchmaking events, when `[events]` is configured.
    events: Option<EventCounts>,
    /// Event ids already counted (kept whether or not `[events]` is on now, for the state file).
    seen: SeenIds,
    /// Bumped by every change; the renderer and the state writer compare it with what they did.
    version: u64,
    state_version: u64,
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
    inner: Mutex<Inner>,
    rendered: RwLock<Rendered>,
    /// Woken on every change.
    pub changed: Notify,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Store {
    /// A store counting from `since_ms`, with the fleets a state file restored.
    pub fn new(since_ms: i64, restored: BTreeMap<String, SavedFleet>) -> Store {
        Store {
            inner: Mutex::new(Inner {
                since_ms,
                fleets: BTreeMap::new(),
                dormant: restored.into_iter().collect(),
                regions: BTreeMap::new(),
                events: None,
                seen: SeenIds::default(),
                version: 1,
                state_version: 0,
            }),
            rendered: RwLock::new(Rendered::default()),
            changed: Notify::new(),
        }
    }

    /// Restores a store from a state file's contents.
    pub fn restore(saved: SavedState) -> Store {
        let store = Store::new(saved.counting_since_ms, saved.fleets);
        store.lock().seen = SeenIds::from_saved(saved.events_seen);
        store
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

    /// Queues and matchmaking configurations found by discovery: their series exist at 0.
    pub fn ensure_event_sources(&self, queues: &[String], configurations: &[String]) {
        let mut inner = self.lock();
        let Some(events) = inner.events.as_mut() else {
            return;
        };
        let before = events.clone();
        for queue in queues {
            events.ensure_queue(queue);
        }
        for configuration in configurations {
            events.ensure_configuration(configuration);
        }
        if *events != before {
            self.touched(inner);
        }
    }

    /// Counts a batch of read messages in one step: each event whose id was not seen within
    /// `window_ms`, each rejected message by its reason. Returns (counted, duplicates,
    /// rejected). Nothing is counted when `[events]` is off.
    pub fn apply_events(
        &self,
        batch: &[Result<crate::events::Event, Rejected>],
        window_ms: i64,
    ) -> (usize, usize, usize) {
        let now = now_ms();
        let mut inner = self.lock();
        let Inner { events, seen, .. } = &mut *inner;
        let Some(events) = events.as_mut() else {
            return (0, 0, 0);
        };
        seen.expire(now - window_ms);
        let (mut counted, mut duplicates, mut rejected) = (0, 0, 0);
        for message in batch {
            match message {
                Ok(event) if seen.contains(&event.id) => {
                    events.ensure_source(event);
                    events.reject("duplicate");
                    duplicates += 1;
                }
                Ok(event) => {
                    events.count(event, now);
                    seen.insert(event.id.clone(), now);
                    counted += 1;
                }
                Err(reason) => {
                    events.reject(reason.reason);
                    rejected += 1;
                }
            }
        }
        self.touched(inner);
        (counted, duplicates, rejected)
    }

    /// Whether the latest render shows every event counted so far (none waits for its
    /// series' first 0 to be published).
    pub fn events_published(&self) -> bool {
        let inner = self.lock();
        let rendered = self.rendered.read().unwrap_or_else(|p| p.into_inner()).version;
        rendered == inner.version && inner.events.as_ref().is_none_or(|e| !e.has_pending())
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

    /// Interruptions and events count from this instant.
    pub fn since_ms(&self) -> i64 {
        self.lock().since_ms
    }

    /// Registers the accounts and Regions being swept (as `account/region` keys); fleets of
    /// others are dropped.
    pub fn set_regions(&self, regions: &[String]) {
        let mut inner = self.lock();
        inner.regions.retain(|r, _| regions.contains(r));
        for region in regions {
            inner.regions.entry(region.clone()).or_default();
        }
        let gone: Vec<String> = inner
            .fleets
            .iter()
            .filter(|(_, r)| !regions.contains(&scope_key(&r.fleet.account, &r.fleet.home_region)))
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            retire(&mut inner, &id);
        }
        self.touched(inner);
    }

    /// A Region's discovery (after the fleet filter): new fleets get records (their counters at
    /// 0), known ones get fresh metadata, and fleets of that Region not listed lose all their
    /// series.
    pub fn set_fleets(&self, account: &str, region: &str, fleets: &[Fleet]) {
        let mut inner = self.lock();
        let gone: Vec<String> = inner
            .fleets
            .iter()
            .filter(|(id, r)| {
                r.fleet.account == account
                    && r.fleet.home_region == region
                    && !fleets.iter().any(|f| &f.fleet_id == *id)
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            retire(&mut inner, &id);
        }
        for fleet in fleets {
            match inner.fleets.get_mut(&fleet.fleet_id) {
                Some(record) => {
                    record.fleet = fleet.clone();
                    record.ensure_series();
                }
                None => {
                    let saved = inner.dormant.remove(&fleet.fleet_id).unwrap_or_default();
                    inner
                        .fleets
                        .insert(fleet.fleet_id.clone(), FleetRecord::new(fleet.clone(), saved));
                }
            }
        }
        inner
            .regions
            .entry(scope_key(account, region))
            .or_default()
            .discovered = true;
        self.touched(inner);
    }

    /// Drops one fleet (it left the filter); its ledger is kept in case it comes back.
    pub fn remove_fleet(&self, fleet_id: &str) {
        let mut inner = self.lock();
        if retire(&mut inner, fleet_id) {
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

    /// Where the fleet's event polling stands (a fresh cursor for a fleet without one).
    pub fn event_cursor(&self, fleet_id: &str) -> EventCursor {
        let inner = self.lock();
        inner
            .fleets
            .get(fleet_id)
            .and_then(|r| r.cursor.clone())
            .unwrap_or_else(|| EventCursor::starting_at(inner.since_ms))
    }

    /// Publishes a complete live pass. Returns false if the fleet is no longer known.
    pub fn apply_live(&self, fleet_id: &str, outcome: LiveOutcome) -> bool {
        let now = now_ms();
        let mut inner = self.lock();
        let since = inner.since_ms;
        let Some(record) = inner.fleets.get_mut(fleet_id) else {
            return false;
        };
        record.begin_update(outcome.view.locations.keys());
        for (location, count) in &outcome.ended {
            record.ended.add(location, *count);
        }
        for (code, count) in &outcome.events {
            record.events.add(code, *count);
        }
        for seen in &outcome.interruptions {
            record.count_interruption(since, now, seen, false);
        }
        record.live = Some(outcome.view);
        if let Some(cursor) = outcome.cursor {
            record.cursor = Some(cursor);
        }
        record.up = true;
        record.first_pass_done = true;
        record.last_success_ms = Some(now);
        record.live_duration_seconds = Some(outcome.duration_seconds);
        self.touched(inner);
        true
    }

    /// Publishes a complete full pass. Returns false if the fleet is no longer known.
    pub fn apply_history(&self, fleet_id: &str, outcome: HistoryOutcome) -> bool {
        let now = now_ms();
        let mut inner = self.lock();
        let since = inner.since_ms;
        let Some(record) = inner.fleets.get_mut(fleet_id) else {
            return false;
        };
        record.begin_update(outcome.view.locations.keys());
        let baseline = !record.baseline_done;
        for seen in &outcome.interruptions {
            record.count_interruption(since, now, seen, baseline);
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
        self.touched(inner);
        true
    }

    /// Publishes a Region's capacity cycle: each fleet whose calls of a kind all succeeded gets
    /// its new numbers of that kind in one step; the others keep theirs (until stale).
    pub fn apply_capacity(&self, outcome: CapacityOutcome) {
        let now = now_ms();
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

    /// True when every Region has a successful discovery and every fleet has finished a first
    /// live pass, successfully or not.
    pub fn is_ready(&self) -> bool {
        let inner = self.lock();
        !inner.regions.is_empty()
            && inner.regions.values().all(|r| r.discovered)
            && inner.fleets.values().all(|f| f.first_pass_done)
    }

    /// Renders the fleet metrics if anything changed or a fleet turned stale since the last
    /// render; returns when the text must be rendered again at the latest (epoch ms).
    pub fn render(&self, stale_after_ms: i64) -> Option<i64> {
        let now = now_ms();
        {
            let rendered = self.rendered.read().unwrap_or_else(|p| p.into_inner());
            let version = self.lock().version;
            if rendered.version == version && rendered.valid_until_ms.is_none_or(|t| t > now) {
                return rendered.valid_until_ms;
            }
        }
        let mut inner = self.lock();
        if let Some(events) = inner.events.as_mut() {
            events.flush();
        }
        let (mut text, valid_until_ms) = crate::metrics::render(&inner.fleets, now, stale_after_ms);
        for record in inner.fleets.values_mut() {
            record.interruptions.mark_rendered();
            record.ended.mark_rendered();
            record.events.mark_rendered();
        }
        let mut rerender = false;
        if let Some(events) = inner.events.as_mut() {
            crate::metrics::render_events(events, &mut text);
            events.mark_rendered();
            rerender = events.has_pending();
        }
        let version = inner.version;
        if rerender {
            // Counts wait for the zeros just rendered: render again at once.
            inner.version += 1;
            self.changed.notify_one();
        }
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

    /// The latest rendered text.
    pub fn text(&self) -> Bytes {
        self.rendered
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .text
            .clone()
    }

    /// The latest rendered text, gzip-compressed.
    pub fn gzip(&self) -> Bytes {
        self.rendered
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .gzip
            .clone()
    }

    /// What the state file should hold now, with the change version it reflects, if anything
    /// changed since the last successful save ([`Store::saved`]).
    pub fn state_to_save(&self) -> Option<(u64, SavedState)> {
        let inner = self.lock();
        if inner.state_version == inner.version {
            return None;
        }
        let now = now_ms();
        // A fleet gone for longer than the ledger's retention has nothing left to protect.
        let mut fleets: BTreeMap<String, SavedFleet> = inner
            .dormant
            .iter()
            .filter(|(_, f)| {
                f.ledger
                    .iter()
                    .any(|(_, ended)| *ended > now - LEDGER_RETENTION_MS)
                    || f.events
                        .as_ref()
                        .is_some_and(|c| c.high_water_ms > now - LEDGER_RETENTION_MS)
            })
            .map(|(id, saved)| (id.clone(), saved.clone()))
            .collect();
        for (id, record) in &inner.fleets {
            fleets.insert(id.clone(), record.saved());
        }
        let state = SavedState {
            version: crate::statefile::VERSION,
            counting_since_ms: inner.since_ms,
            saved_at_ms: now,
            fleets,
            events_seen: inner.seen.saved(),
        };
        Some((inner.version, state))
    }

    /// The state of change `version` is on disk.
    pub fn saved(&self, version: u64) {
        let mut inner = self.lock();
        inner.state_version = inner.state_version.max(version);
    }

    /// Forces the next render (a setting that changes the text, such as `sweep.stale_after`).
    pub fn invalidate(&self) {
        let inner = self.lock();
        self.touched(inner);
    }

    /// Looks at one fleet (tests and the landing page).
    pub fn with_fleet<T>(&self, fleet_id: &str, f: impl FnOnce(&FleetRecord) -> T) -> Option<T> {
        self.lock().fleets.get(fleet_id).map(f)
    }
}

/// Moves a fleet's record out of the published set, keeping what protects against double counts.
fn retire(inner: &mut Inner, fleet_id: &str) -> bool {
    match inner.fleets.remove(fleet_id) {
        Some(record) => {
            inner.dormant.insert(fleet_id.to_string(), record.saved());
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn counts(store: &Store) -> BTreeMap<String, u64> {
        store
            .with_fleet("fleet-a", |r| {
                r.interruptions.iter().map(|(l, v)| (l.to_string(), v)).collect()
            })
            .unwrap()
    }

    /// A store counting since a minute ago with fleet-a discovered and its zeros rendered; and a
    /// termination time within that minute.
    fn rendered_store() -> (Store, i64, Option<i64>) {
        let since = now_ms() - 60_000;
        let store = Store::new(since, BTreeMap::new());
        store.set_fleets("default", "us-west-2", &[fleet("fleet-a", &["us-west-2"])]);
        store.render(60_000);
        (store, since, Some(now_ms() - 1_000))
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
        let store = Store::new(now_ms(), BTreeMap::new());
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
        let text = |stale_after_ms: i64, now: i64| {
            let inner = store.lock();
            crate::metrics::render(&inner.fleets, now, stale_after_ms)
        };
        let (fresh, valid_until) = text(60_000, now_ms());
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
        let (stale, _) = text(60_000, stamped + 60_000);
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
    fn a_new_series_is_rendered_at_zero_before_it_counts() {
        let store = Store::new(now_ms() - 60_000, BTreeMap::new());
        store.set_fleets("default", "us-west-2", &[fleet("fleet-a", &["us-west-2"])]);
        let recent = Some(now_ms() - 1_000);
        // Counted before anything was rendered, and in a location discovery did not report.
        store.apply_live(
            "fleet-a",
            LiveOutcome {
                interruptions: vec![
                    interruption(1, "us-west-2", recent),
                    interruption(2, "local-zone", recent),
                ],
                events: vec![("FLEET_SCALING_EVENT".into(), 2)],
                ..LiveOutcome::default()
            },
        );
        assert_eq!(
            counts(&store),
            BTreeMap::from([("local-zone".into(), 0), ("us-west-2".into(), 0)])
        );
        store.render(60_000);
        let text = String::from_utf8(store.text().to_vec()).unwrap();
        assert!(text.contains(
            "gamelift_game_session_interruptions_total{fleet_id=\"fleet-a\",location=\"local-zone\"} 0\n"
        ));
        assert!(text.contains(
            "gamelift_fleet_events_total{fleet_id=\"fleet-a\",event_code=\"FLEET_SCALING_EVENT\"} 0\n"
        ));
        // The next update adds what waited.
        store.apply_live("fleet-a", LiveOutcome::default());
        assert_eq!(
            counts(&store),
            BTreeMap::from([("local-zone".into(), 1), ("us-west-2".into(), 1)])
        );
        assert_eq!(
            store
                .with_fleet("fleet-a", |r| r.events.get("FLEET_SCALING_EVENT"))
                .unwrap(),
            Some(2)
        );
    }

    #[test]
    fn ready_when_every_region_discovered_and_every_fleet_finished_a_first_pass() {
        let store = Store::new(now_ms(), BTreeMap::new());
        assert!(!store.is_ready(), "no Region yet");
        store.set_regions(&["default/us-west-2".to_string(), "default/eu-west-1".to_string()]);
        store.set_fleets(
            "default",
            "us-west-2",
            &[fleet("fleet-a", &["us-west-2"]), fleet("fleet-b", &["us-west-2"])],
        );
        assert!(!store.is_ready(), "eu-west-1 has not discovered its fleets");
        store.set_fleets("default", "eu-west-1", &[]);
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
    fn the_ledger_survives_a_restart_through_the_state_file() {
        let (store, since, recent) = rendered_store();
        store.apply_live(
            "fleet-a",
            LiveOutcome {
                interruptions: vec![interruption(1, "us-west-2", recent)],
                ..LiveOutcome::default()
            },
        );
        let (version, saved) = store.state_to_save().unwrap();
        store.saved(version);
        assert!(store.state_to_save().is_none(), "nothing new to save");
        let restarted = Store::restore(saved);
        assert_eq!(restarted.since_ms(), since);
        restarted.set_fleets("default", "us-west-2", &[fleet("fleet-a", &["us-west-2"])]);
        restarted.render(60_000);
        restarted.apply_history(
            "fleet-a",
            HistoryOutcome {
                interruptions: vec![
                    interruption(1, "us-west-2", recent),
                    interruption(2, "us-west-2", recent),
                ],
                ..HistoryOutcome::default()
            },
        );
        // 1 was counted before the restart; 2 ended while the exporter was down.
        assert_eq!(counts(&restarted)["us-west-2"], 1);
    }
}
