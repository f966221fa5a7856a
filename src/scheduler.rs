//! Who runs what when: one worker per Region, owning its fleets' schedules.
//!
//! - Each Region discovers its fleets every `sweep.discovery_interval`, and at once when a pass
//!   finds a fleet gone (`NotFoundException`).
//! - Each fleet has its own live schedule (every `sweep.interval`) and its own full-pass schedule
//!   (every `sweep.history_interval`, resumable); neither waits for the other, nor for any other
//!   fleet. At most `sweep.concurrency` live passes, and as many full passes, run per Region.
//! - Each Region reads its fleets' instance counts and utilization every
//!   `sweep.capacity_interval` in one capacity cycle (batched calls; see [`crate::capacity`]).
//! - A pass owns its fleet's state while it runs (moved in, handed back when it ends), so no
//!   lock is held across a network call; results reach the [`Store`] in one step per pass.
//!
//! The same worker runs in two ways: [`RegionWorker::run`] as a background task with timers
//! (the daemon), and [`RegionWorker::round`], which runs every fleet once and returns (tests
//! and benchmarks that need each pass to happen at a known moment).

use crate::aws::{scope_key, FailureReason, RegionClient};
use crate::budget::{Demand, Plan};
use crate::capacity::{self, BatchLimits, CapacityOutcome};
use crate::config::{Config, FleetFilter};
use crate::discovery::{self, DiscoveryError, Fleet};
use crate::store::Store;
use crate::sweep::{self, HistoryProgress, LiveReport, PassError};
use crate::tracking::LiveTracker;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::{AbortHandle, Id, JoinSet};
use tokio::time::Instant;

/// A failed discovery is tried again after this (or the discovery interval, if shorter).
const DISCOVERY_RETRY: Duration = Duration::from_secs(30);
/// A failed full pass resumes after this, doubling per failure up to [`HISTORY_RETRY_MAX`]
/// (and never later than a regular full pass would start): soon enough that its page tokens
/// are still valid, late enough not to hammer a failing service.
const HISTORY_RETRY: Duration = Duration::from_secs(30);
const HISTORY_RETRY_MAX: Duration = Duration::from_secs(300);

/// One fleet's schedule and the state its passes carry.
#[derive(Debug)]
struct FleetSlot {
    fleet: Fleet,
    /// `None` while a live pass has it.
    tracker: Option<LiveTracker>,
    /// A full pass that stopped part-way, to be resumed; `None` between passes and while running.
    progress: Option<HistoryProgress>,
    live_running: bool,
    history_running: bool,
    next_live: Instant,
    next_history: Instant,
    history_failures: u32,
    /// Calls of its latest complete live pass, by operation: what the pacing plans with.
    last_calls: BTreeMap<&'static str, u64>,
}

impl FleetSlot {
    fn new(fleet: Fleet, now: Instant, tracker: LiveTracker) -> FleetSlot {
        FleetSlot {
            fleet,
            tracker: Some(tracker),
            progress: None,
            live_running: false,
            history_running: false,
            next_live: now,
            next_history: now,
            history_failures: 0,
            last_calls: BTreeMap::new(),
        }
    }
}

/// What a finished task hands back.
#[derive(Debug)]
pub enum Done {
    Discovery(
        Result<Vec<Fleet>, DiscoveryError>,
        /// Queues and matchmaking configurations, when `[events]` is on.
        Option<Result<discovery::EventSources, DiscoveryError>>,
        /// Calls made, by operation.
        discovery::Calls,
    ),
    Live {
        fleet_id: String,
        tracker: LiveTracker,
        result: Result<LiveReport, PassError>,
        started: Instant,
    },
    History {
        fleet_id: String,
        progress: HistoryProgress,
        result: Result<u64, PassError>,
    },
    Capacity {
        limits: BatchLimits,
        outcome: CapacityOutcome,
        started: Instant,
    },
}

/// Which task a JoinSet id belongs to, so that a panicking pass still frees its fleet.
#[derive(Debug, Clone)]
enum TaskKind {
    Discovery,
    Live(String),
    History(String),
    Capacity,
}

/// What passes did since the last summary, for the log and for tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundReport {
    pub fleets_ok: usize,
    pub fleets_failed: usize,
    /// Logical calls by operation (pages, events polls, lookups); HTTP attempts with retries are
    /// in the API counters.
    pub calls: BTreeMap<&'static str, u64>,
    pub full_passes: usize,
    pub full_pass_pages: u64,
    pub capacity_cycles: usize,
    /// Calls of the capacity cycles by operation (batches and per-location calls).
    pub capacity_calls: BTreeMap<&'static str, u64>,
}

/// The shared pieces a Region's tasks need.
#[derive(Clone)]
pub struct Context {
    pub store: Arc<Store>,
    pub health: Arc<crate::aws::AccountHealth>,
    pub api: crate::aws::ApiMetrics,
}

/// One Region: its client, its fleets, their schedules.
pub struct RegionWorker {
    pub client: RegionClient,
    fleets: BTreeMap<String, FleetSlot>,
    /// The filters the fleet list was built with (`[fleets]`, then the account's).
    filter: Option<Vec<FleetFilter>>,
    next_discovery: Instant,
    discovering: bool,
    discovered_once: bool,
    next_capacity: Instant,
    /// What the budgets pay for (see [`RegionWorker::pace`]): live and capacity intervals are
    /// stretched by its factor when the configured ones cost more than the budgets allow.
    plan: Option<Plan>,
    /// Calls of the latest capacity cycle and of the latest discovery, by operation.
    capacity_calls: BTreeMap<&'static str, u64>,
    discovery_calls: discovery::Calls,
    /// The interval last warned about, so that the warning is logged once per change.
    warned_interval: Option<Duration>,
    /// `None` while a capacity cycle has them.
    batch_limits: Option<BatchLimits>,
    tasks: JoinSet<Done>,
    kinds: HashMap<Id, (TaskKind, AbortHandle)>,
    report: RoundReport,
}

impl RegionWorker {
    pub fn new(client: RegionClient) -> RegionWorker {
        RegionWorker {
            client,
            fleets: BTreeMap::new(),
            filter: None,
            next_discovery: Instant::now(),
            discovering: false,
            discovered_once: false,
            next_capacity: Instant::now(),
            plan: None,
            capacity_calls: BTreeMap::new(),
            discovery_calls: BTreeMap::new(),
            warned_interval: None,
            batch_limits: Some(BatchLimits::default()),
            tasks: JoinSet::new(),
            kinds: HashMap::new(),
            report: RoundReport::default(),
        }
    }

    pub fn region(&self) -> &str {
        &self.client.region
    }

    /// The account and Region it sweeps, as `account/region` (the workers' key).
    pub fn key(&self) -> String {
        scope_key(&self.client.account, &self.client.region)
    }

    /// The fleet filters in force for this worker's account: `[fleets]`, then the account's own.
    fn filters(&self, config: &Config) -> Vec<FleetFilter> {
        let mut filters = vec![config.fleets.clone()];
        if let Some(account) = config.accounts.iter().find(|a| a.name == self.client.account) {
            filters.push(account.fleets.clone());
        }
        filters
    }

    /// Applies a config change that needs no new client: shorter intervals shorten the waits
    /// already scheduled, and a changed fleet filter drops the fleets it now excludes at once
    /// and rediscovers at once for those it now includes.
    pub fn reconfigure(&mut self, config: &Config, ctx: &Context) {
        let now = Instant::now();
        self.pace(config, ctx);
        let live_interval = self.live_interval(config);
        for slot in self.fleets.values_mut() {
            slot.next_live = slot.next_live.min(now + live_interval);
            slot.next_history = slot.next_history.min(now + config.sweep.history_interval);
        }
        self.next_discovery = self.next_discovery.min(now + config.sweep.discovery_interval);
        self.next_capacity = self.next_capacity.min(now + self.capacity_interval(config));
        let filters = self.filters(config);
        if self.filter.as_ref().is_some_and(|f| *f != filters) {
            let excluded: Vec<String> = self
                .fleets
                .values()
                .filter(|s| !discovery::accepted(&filters, &s.fleet))
                .map(|s| s.fleet.fleet_id.clone())
                .collect();
            for id in excluded {
                self.drop_fleet(&id, ctx);
            }
            self.next_discovery = Instant::now();
        }
    }

    fn spawn(&mut self, kind: TaskKind, task: impl std::future::Future<Output = Done> + Send + 'static) {
        let handle = self.tasks.spawn(task);
        self.kinds.insert(handle.id(), (kind, handle));
    }

    /// Drops a fleet: its passes in flight are stopped, its series leave the store.
    fn drop_fleet(&mut self, fleet_id: &str, ctx: &Context) {
        self.fleets.remove(fleet_id);
        for (kind, handle) in self.kinds.values() {
            if matches!(kind, TaskKind::Live(id) | TaskKind::History(id) if id == fleet_id) {
                handle.abort();
            }
        }
        ctx.store.remove_fleet(fleet_id);
    }

    fn spawn_discovery(&mut self, config: &Config) {
        self.discovering = true;
        let client = self.client.clone();
        let filter = self.filters(config);
        let page_size = config.sweep.page_size;
        self.filter = Some(filter.clone());
        let with_events = config.events.is_some();
        self.spawn(TaskKind::Discovery, async move {
            let mut calls = discovery::Calls::new();
            let fleets = discovery::discover(&client, &filter, page_size, &mut calls).await;
            let sources = if with_events {
                let known = fleets.as_deref().unwrap_or_default();
                Some(discovery::event_sources(&client, known, page_size, &mut calls).await)
            } else {
                None
            };
            Done::Discovery(fleets, sources, calls)
        });
    }

    fn spawn_live(&mut self, fleet_id: &str, config: &Arc<Config>, ctx: &Context) {
        let Some(slot) = self.fleets.get_mut(fleet_id) else {
            return;
        };
        let Some(mut tracker) = slot.tracker.take() else {
            return;
        };
        slot.live_running = true;
        let client = self.client.clone();
        let store = ctx.store.clone();
        let interval = self.live_interval(config);
        let config = config.clone();
        let fleet = self.fleets[fleet_id].fleet.clone();
        self.spawn(TaskKind::Live(fleet_id.to_string()), async move {
            let started = Instant::now();
            let deadline = started + config.sweep.timeout;
            let result =
                sweep::live_pass(&client, &store, &config, &fleet, &mut tracker, interval, deadline).await;
            Done::Live {
                fleet_id: fleet.fleet_id,
                tracker,
                result,
                started,
            }
        });
    }

    fn spawn_history(&mut self, fleet_id: &str, config: &Arc<Config>, ctx: &Context) {
        let Some(slot) = self.fleets.get_mut(fleet_id) else {
            return;
        };
        slot.history_running = true;
        let mut progress = slot.progress.take().unwrap_or_default();
        let client = self.client.clone();
        let store = ctx.store.clone();
        let config = config.clone();
        let fleet = slot.fleet.clone();
        self.spawn(TaskKind::History(fleet_id.to_string()), async move {
            let result = sweep::full_pass(&client, &store, &config, &fleet, &mut progress).await;
            Done::History {
                fleet_id: fleet.fleet_id,
                progress,
                result,
            }
        });
    }

    /// The live interval in force: `sweep.interval`, stretched to what the budgets pay for.
    fn live_interval(&self, config: &Config) -> Duration {
        self.plan
            .as_ref()
            .map_or(config.sweep.interval, |p| p.live_interval(config.sweep.interval))
    }

    /// The capacity interval in force: `sweep.capacity_interval`, stretched by the same plan.
    fn capacity_interval(&self, config: &Config) -> Duration {
        self.plan.as_ref().map_or(config.sweep.capacity_interval, |p| {
            p.capacity_interval(config.sweep.capacity_interval)
        })
    }

    /// Plans this account-Region's work against its budgets, with every worker that shares
    /// them: live rounds (each fleet's latest live pass, lookups included), capacity cycles and
    /// discovery, at their configured intervals, beside the share full passes may take. When
    /// that costs more than a budget allows, live and capacity intervals stretch by the same
    /// factor (and it is said so, once), so that the interval published is the one kept: never
    /// run late or over budget silently.
    fn pace(&mut self, config: &Config, ctx: &Context) {
        let mut live_round: BTreeMap<&'static str, u64> = BTreeMap::new();
        for slot in self.fleets.values() {
            for (operation, n) in &slot.last_calls {
                *live_round.entry(operation).or_default() += n;
            }
        }
        let demand = Demand {
            live_round: live_round.clone(),
            capacity_cycle: self.capacity_calls.clone(),
            discovery: self.discovery_calls.clone(),
            live_interval: config.sweep.interval,
            capacity_interval: config.sweep.capacity_interval,
            discovery_interval: config.sweep.discovery_interval,
        };
        let plan = self.client.budgets.plan(&self.key(), demand);
        let effective = plan.live_interval(config.sweep.interval);
        // Published once what a live round costs is known (a fleet has finished a live pass),
        // or there is no fleet: before that, it would be a guess.
        let known = self.fleets.is_empty() || self.fleets.values().any(|s| !s.last_calls.is_empty());
        if known {
            ctx.api
                .effective_interval
                .with_label_values(&[&self.client.account, &self.client.region])
                .set(effective.as_secs_f64());
        }
        ctx.store.set_interval(
            &self.client.account,
            &self.client.region,
            effective.as_millis() as i64,
        );
        if effective > config.sweep.interval {
            let changed = self.warned_interval.is_none_or(|w| {
                let (a, b) = (w.as_secs_f64(), effective.as_secs_f64());
                (a - b).abs() > 0.1 * a
            });
            if changed {
                tracing::warn!(
                    account = %self.client.account,
                    region = %self.client.region,
                    configured = %crate::duration::format(config.sweep.interval),
                    holds = %crate::duration::format(effective),
                    capacity_every = %crate::duration::format(plan.capacity_interval(config.sweep.capacity_interval)),
                    live_calls_per_round = ?live_round,
                    capacity_calls_per_cycle = ?self.capacity_calls,
                    discovery_calls = ?self.discovery_calls,
                    binding = %plan.binding,
                    "the request budgets cannot pay for sweep.interval: live passes run every {} instead (raise aws.quota_share or aws.max_requests_per_second, lengthen sweep.capacity_interval, or list fewer live statuses)",
                    crate::duration::format(effective)
                );
                self.warned_interval = Some(effective);
            }
        } else if self.warned_interval.take().is_some() {
            tracing::info!(account = %self.client.account, region = %self.client.region, "the request budgets pay for sweep.interval again");
        }
        let capacity_every = plan.capacity_interval(config.sweep.capacity_interval);
        let was = self
            .plan
            .as_ref()
            .map(|p| p.capacity_interval(config.sweep.capacity_interval));
        let moved = was.is_none_or(|w| {
            let (a, b) = (w.as_secs_f64(), capacity_every.as_secs_f64());
            (a - b).abs() > 0.1 * a
        });
        if capacity_every > config.sweep.capacity_interval && moved {
            tracing::warn!(
                account = %self.client.account,
                region = %self.client.region,
                configured = %crate::duration::format(config.sweep.capacity_interval),
                holds = %crate::duration::format(capacity_every),
                capacity_calls_per_cycle = ?self.capacity_calls,
                "the request budgets cannot pay for sweep.capacity_interval: capacity cycles run every {} instead",
                crate::duration::format(capacity_every)
            );
        }
        self.plan = Some(plan);
    }

    /// Whether a capacity cycle is due: capacity is on, fleets are known, none is running.
    fn capacity_due(&self, config: &Config, now: Instant) -> bool {
        !config.sweep.capacity_interval.is_zero()
            && self.discovered_once
            && self.batch_limits.is_some()
            && now >= self.next_capacity
    }

    fn spawn_capacity(&mut self, config: &Config) {
        let Some(mut limits) = self.batch_limits.take() else {
            return;
        };
        let client = self.client.clone();
        let fleets: Vec<Fleet> = self.fleets.values().map(|s| s.fleet.clone()).collect();
        let concurrency = config.sweep.concurrency;
        self.spawn(TaskKind::Capacity, async move {
            let started = Instant::now();
            let outcome = capacity::capacity_cycle(&client, &fleets, &mut limits, concurrency).await;
            Done::Capacity {
                limits,
                outcome,
                started,
            }
        });
    }

    fn running(&self, live: bool) -> usize {
        self.fleets
            .values()
            .filter(|s| if live { s.live_running } else { s.history_running })
            .count()
    }

    /// Starts whatever is due and allowed to run now.
    fn start_due(&mut self, config: &Arc<Config>, ctx: &Context) {
        let now = Instant::now();
        if !self.discovering && now >= self.next_discovery {
            self.spawn_discovery(config);
        }
        if self.capacity_due(config, now) {
            self.spawn_capacity(config);
        }
        for live in [true, false] {
            let mut free = config.sweep.concurrency.saturating_sub(self.running(live));
            let mut due: Vec<(Instant, String)> = self
                .fleets
                .iter()
                .filter(|(_, s)| {
                    if live {
                        !s.live_running && s.next_live <= now
                    } else {
                        !s.history_running && s.next_history <= now
                    }
                })
                .map(|(id, s)| (if live { s.next_live } else { s.next_history }, id.clone()))
                .collect();
            // The most overdue first.
            due.sort();
            for (_, id) in due {
                if free == 0 {
                    break;
                }
                free -= 1;
                if live {
                    self.spawn_live(&id, config, ctx);
                } else {
                    self.spawn_history(&id, config, ctx);
                }
            }
        }
    }

    /// When something becomes due next.
    /// When something becomes due next that [`RegionWorker::start_due`] could start then: work
    /// that waits for a running task (a free concurrency slot, the first discovery) is started
    /// when that task ends, which wakes the loop anyway. (Counting it here would make the loop
    /// spin until then.)
    fn next_wake(&self, config: &Config) -> Instant {
        let mut next = if self.discovering {
            Instant::now() + Duration::from_secs(3600)
        } else {
            self.next_discovery
        };
        if self.discovered_once && self.batch_limits.is_some() && !config.sweep.capacity_interval.is_zero() {
            next = next.min(self.next_capacity);
        }
        let live_free = self.running(true) < config.sweep.concurrency;
        let history_free = self.running(false) < config.sweep.concurrency;
        for slot in self.fleets.values() {
            if live_free && !slot.live_running {
                next = next.min(slot.next_live);
            }
            if history_free && !slot.history_running {
                next = next.min(slot.next_history);
            }
        }
        next
    }

    /// Takes a finished task's result back into the worker.
    fn finish(&mut self, done: Done, config: &Config, ctx: &Context) {
        let now = Instant::now();
        match done {
            Done::Discovery(result, sources, calls) => {
                self.discovering = false;
                self.discovery_calls = calls;
                match sources {
                    Some(Ok((queues, configurations))) => {
                        ctx.store.ensure_event_sources(&queues, &configurations)
                    }
                    Some(Err(error)) => {
                        tracing::warn!(account = %self.client.account, region = %self.client.region, reason = %error.reason, %error, "cannot list game session queues or matchmaking configurations; their event series appear with their first event");
                    }
                    None => {}
                }
                match result {
                    Ok(fleets) => {
                        ctx.health
                            .discovered(&ctx.api, &self.client.account, &self.client.region, true);
                        tracing::info!(account = %self.client.account, region = %self.client.region, fleets = fleets.len(), "fleets discovered");
                        let gone: Vec<String> = self
                            .fleets
                            .keys()
                            .filter(|id| !fleets.iter().any(|f| &f.fleet_id == *id))
                            .cloned()
                            .collect();
                        for id in gone {
                            self.drop_fleet(&id, ctx);
                        }
                        ctx.store
                            .set_fleets(&self.client.account, &self.client.region, &fleets);
                        for fleet in fleets {
                            match self.fleets.get_mut(&fleet.fleet_id) {
                                Some(slot) => slot.fleet = fleet,
                                None => {
                                    // A fleet restored from the state file starts from the
                                    // ACTIVE sessions of its last pass before the restart.
                                    let tracker = ctx
                                        .store
                                        .take_restored_active(&fleet.fleet_id)
                                        .map_or_else(LiveTracker::default, |active| {
                                            LiveTracker::restore(&active)
                                        });
                                    self.fleets
                                        .insert(fleet.fleet_id.clone(), FleetSlot::new(fleet, now, tracker));
                                }
                            }
                        }
                        self.discovered_once = true;
                        self.next_discovery = now + config.sweep.discovery_interval;
                        self.pace(config, ctx);
                    }
                    Err(error) => {
                        ctx.health
                            .discovered(&ctx.api, &self.client.account, &self.client.region, false);
                        ctx.store
                            .discovery_failed(&self.client.account, &self.client.region);
                        tracing::warn!(account = %self.client.account, region = %self.client.region, reason = %error.reason, %error, "fleet discovery failed; keeping the previous fleet list");
                        self.next_discovery = now + config.sweep.discovery_interval.min(DISCOVERY_RETRY);
                    }
                }
            }
            Done::Live {
                fleet_id,
                tracker,
                result,
                started,
            } => {
                let live_interval = self.live_interval(config);
                let Some(slot) = self.fleets.get_mut(&fleet_id) else {
                    return;
                };
                slot.tracker = Some(tracker);
                slot.live_running = false;
                // A steady cadence from each pass's start; never a burst to catch up.
                slot.next_live = (started + live_interval).max(now);
                match result {
                    Ok(report) => {
                        slot.last_calls = report.calls.clone();
                        self.report.fleets_ok += 1;
                        for (operation, calls) in report.calls {
                            *self.report.calls.entry(operation).or_default() += calls;
                        }
                        self.pace(config, ctx);
                    }
                    Err(error) => {
                        self.report.fleets_failed += 1;
                        ctx.store.fail_live(&fleet_id);
                        tracing::warn!(%fleet_id, reason = %error.reason, %error, "live pass failed; keeping the fleet's last complete numbers");
                        if error.reason == FailureReason::NotFound {
                            // Deleted: rediscover now, so its series go within this interval.
                            self.next_discovery = now;
                        }
                    }
                }
            }
            Done::Capacity {
                limits,
                outcome,
                started,
            } => {
                self.batch_limits = Some(limits);
                self.capacity_calls = outcome.calls.clone();
                self.pace(config, ctx);
                self.next_capacity = (started + self.capacity_interval(config)).max(now);
                self.report.capacity_cycles += 1;
                for (operation, calls) in &outcome.calls {
                    *self.report.capacity_calls.entry(operation).or_default() += calls;
                }
                if outcome.failed_calls > 0 {
                    tracing::warn!(region = %self.client.region, failed_calls = outcome.failed_calls, "capacity calls failed; the fleets concerned keep their previous capacity numbers");
                }
                if !outcome.missing.is_empty() {
                    tracing::info!(region = %self.client.region, fleets = ?outcome.missing, "capacity calls found fleets gone; rediscovering");
                    self.next_discovery = now;
                }
                ctx.store.apply_capacity(outcome);
            }
            Done::History {
                fleet_id,
                progress,
                result,
            } => {
                let Some(slot) = self.fleets.get_mut(&fleet_id) else {
                    return;
                };
                slot.history_running = false;
                match result {
                    Ok(pages) => {
                        self.report.full_passes += 1;
                        self.report.full_pass_pages += pages;
                        slot.history_failures = 0;
                        slot.progress = None;
                        tracing::info!(%fleet_id, pages, "full pass complete");
                        slot.next_history = (now + config.sweep.history_interval).max(now);
                    }
                    Err(error) => {
                        slot.history_failures += 1;
                        let retry = (HISTORY_RETRY * 2u32.saturating_pow(slot.history_failures.min(8) - 1))
                            .min(HISTORY_RETRY_MAX)
                            .min(config.sweep.history_interval.max(config.sweep.interval));
                        tracing::warn!(%fleet_id, reason = %error.reason, %error, pages = progress.pages, retry_in = ?retry, "full pass stopped; it resumes from the last page read");
                        slot.progress = Some(progress);
                        slot.next_history = now + retry;
                        if error.reason == FailureReason::NotFound {
                            self.next_discovery = now;
                        }
                    }
                }
            }
        }
    }

    /// A task that panicked: free what it held, and report it like a failed pass.
    fn lost(&mut self, id: Id, error: &tokio::task::JoinError, ctx: &Context) {
        let Some((kind, _)) = self.kinds.remove(&id) else {
            return;
        };
        if error.is_cancelled() {
            // Stopped on purpose (its fleet was dropped, or the worker stops).
            return;
        }
        tracing::error!(%error, task = ?kind, "a pass panicked; its fleet starts over");
        match kind {
            TaskKind::Discovery => self.discovering = false,
            TaskKind::Capacity => self.batch_limits = Some(BatchLimits::default()),
            TaskKind::Live(fleet_id) => {
                if let Some(slot) = self.fleets.get_mut(&fleet_id) {
                    slot.live_running = false;
                    slot.tracker = Some(LiveTracker::default());
                    ctx.store.fail_live(&fleet_id);
                }
            }
            TaskKind::History(fleet_id) => {
                if let Some(slot) = self.fleets.get_mut(&fleet_id) {
                    slot.history_running = false;
                }
            }
        }
    }

    async fn join_one(&mut self, config: &Config, ctx: &Context) -> bool {
        match self.tasks.join_next_with_id().await {
            None => false,
            Some(Ok((id, done))) => {
                self.kinds.remove(&id);
                self.finish(done, config, ctx);
                true
            }
            Some(Err(error)) => {
                self.lost(error.id(), &error, ctx);
                true
            }
        }
    }

    /// Takes the report of what happened since the last call.
    pub fn take_report(&mut self) -> RoundReport {
        std::mem::take(&mut self.report)
    }

    /// Runs in the background until `shutdown`: every fleet on its own schedule. A new client
    /// (a reload changed `[aws]` or the accounts) is taken over at once, passes in flight finish
    /// with the old one, and every fleet keeps its tracker, event position and pending lookups.
    /// Returns the worker (fleet state intact).
    pub async fn run(
        mut self,
        ctx: Context,
        mut config: tokio::sync::watch::Receiver<Arc<Config>>,
        mut clients: tokio::sync::watch::Receiver<RegionClient>,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> RegionWorker {
        let mut next_summary = Instant::now() + config.borrow().sweep.interval;
        let mut clients_open = true;
        // A new config is applied at the top of the loop, whichever branch woke it: one that
        // arrives while another branch runs is seen there (and never swallowed).
        let mut config_changed = false;
        loop {
            config_changed |= config.has_changed().unwrap_or(false);
            let current = config.borrow_and_update().clone();
            if std::mem::take(&mut config_changed) {
                self.reconfigure(&current, &ctx);
            }
            self.start_due(&current, &ctx);
            let wake = self.next_wake(&current).min(next_summary);
            tokio::select! {
                _ = shutdown.wait_for(|stop| *stop) => break,
                changed = config.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    config_changed = true;
                }
                changed = clients.changed(), if clients_open => match changed {
                    Ok(()) => {
                        self.client.budgets.forget(&self.key());
                        self.client = clients.borrow_and_update().clone();
                        self.pace(&current, &ctx);
                    }
                    Err(_) => clients_open = false,
                },
                joined = self.tasks.join_next_with_id(), if !self.tasks.is_empty() => match joined {
                    Some(Ok((id, done))) => {
                        self.kinds.remove(&id);
                        self.finish(done, &current, &ctx);
                    }
                    Some(Err(error)) => self.lost(error.id(), &error, &ctx),
                    None => {}
                },
                _ = tokio::time::sleep_until(wake) => {}
            }
            if Instant::now() >= next_summary {
                next_summary = Instant::now() + config.borrow().sweep.interval;
                let report = self.take_report();
                if report.fleets_ok + report.fleets_failed > 0 {
                    tracing::info!(
                        region = %self.client.region,
                        fleets_ok = report.fleets_ok,
                        fleets_failed = report.fleets_failed,
                        calls_by_operation = ?report.calls,
                        full_passes = report.full_passes,
                        capacity_calls = ?report.capacity_calls,
                        "sweep complete"
                    );
                }
            }
        }
        self.tasks.abort_all();
        while self.tasks.join_next().await.is_some() {}
        // Passes that were cut short start over with a fresh state.
        for slot in self.fleets.values_mut() {
            slot.live_running = false;
            slot.history_running = false;
            slot.tracker.get_or_insert_with(LiveTracker::default);
        }
        self.batch_limits.get_or_insert_with(BatchLimits::default);
        self.kinds.clear();
        self
    }

    /// Runs every fleet once, now: discovery when due, a live pass of every fleet, the capacity
    /// cycle when due (and a rediscovery at once if either finds a fleet gone), then the full
    /// passes that are due,
    /// each to completion or failure. A full pass that failed resumes in the next round.
    pub async fn round(&mut self, config: &Arc<Config>, ctx: &Context) {
        self.reconfigure(config, ctx);
        if !self.discovered_once || Instant::now() >= self.next_discovery {
            self.discover_now(config, ctx).await;
        }
        let all: Vec<String> = self.fleets.keys().cloned().collect();
        self.run_all(all, true, config, ctx).await;
        if self.capacity_due(config, Instant::now()) {
            self.spawn_capacity(config);
            while self.join_one(config, ctx).await {}
        }
        if Instant::now() >= self.next_discovery {
            // A live pass or the capacity cycle found a fleet gone.
            self.discover_now(config, ctx).await;
        }
        let now = Instant::now();
        let due: Vec<String> = self
            .fleets
            .iter()
            .filter(|(_, s)| s.progress.is_some() || s.next_history <= now)
            .map(|(id, _)| id.clone())
            .collect();
        self.run_all(due, false, config, ctx).await;
    }

    async fn discover_now(&mut self, config: &Arc<Config>, ctx: &Context) {
        self.spawn_discovery(config);
        while self.join_one(config, ctx).await {}
    }

    /// Runs one live (or full) pass of each of `fleets`, at most `sweep.concurrency` at once.
    async fn run_all(&mut self, fleets: Vec<String>, live: bool, config: &Arc<Config>, ctx: &Context) {
        let mut waiting = std::collections::VecDeque::from(fleets);
        loop {
            while self.running(live) < config.sweep.concurrency {
                let Some(id) = waiting.pop_front() else { break };
                if live {
                    self.spawn_live(&id, config, ctx);
                } else {
                    self.spawn_history(&id, config, ctx);
                }
            }
            if !self.join_one(config, ctx).await {
                break;
            }
        }
    }
}
