//! The scheduler: discovery on its cadence, one sweep of every fleet per interval (never
//! overlapping, bounded concurrency), results folded into per-fleet state, and one snapshot
//! published per sweep.

use crate::aggregate::{HistoryTotals, LiveTotals};
use crate::aws::{self, ApiMetrics, FailureReason, RegionClient};
use crate::config::{Config, Overrides};
use crate::discovery::{self, Fleet, OPERATIONS};
use crate::metrics::{FleetView, Published, Snapshot};
use crate::sweep::{self, InterruptionLedger, Pass, PassResult, SweepError};
use crate::web::WebConfig;
use aws_sdk_gamelift::config::Credentials;
use prometheus::{GaugeVec, Opts, Registry};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{Mutex, Semaphore};

/// How long an interrupted session is remembered after it ended: past AWS's 30-day retention it
/// cannot be seen again, so it cannot be counted twice.
const LEDGER_RETENTION_MS: i64 = 31 * 86_400_000;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[derive(Debug, Default)]
struct FleetState {
    fleet: Option<Fleet>,
    up: bool,
    last_success_ms: Option<i64>,
    /// Live totals of the latest pass, and the statuses that pass listed.
    live: Option<BTreeMap<String, LiveTotals>>,
    live_covers: Vec<String>,
    /// Live totals of the latest full pass: the source of statuses live passes do not list.
    full_live: Option<BTreeMap<String, LiveTotals>>,
    history: Option<BTreeMap<String, HistoryTotals>>,
    last_full: Option<Instant>,
    /// Interrupted sessions already counted: session key -> when it ended (epoch ms).
    counted: HashMap<u64, i64>,
    interruptions: BTreeMap<String, u64>,
}

struct RegionState {
    client: RegionClient,
    last_discovery: Option<Instant>,
    swept: bool,
}

struct State {
    regions: Vec<RegionState>,
    /// Fleets by id, across Regions.
    fleets: BTreeMap<String, FleetState>,
    last_duration: Option<f64>,
}

/// What one sweep did, for logs and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub fleets_ok: usize,
    pub fleets_failed: usize,
    /// HTTP requests sent during the sweep, by operation (SDK retries included).
    pub requests: BTreeMap<String, u64>,
    /// DescribeGameSessions calls by the sweep itself (no retries), live and full passes.
    pub live_calls: u64,
    pub full_calls: u64,
}

impl SweepReport {
    pub fn total_requests(&self) -> u64 {
        self.requests.values().sum()
    }
}

/// The running exporter: shared by the scheduler and the HTTP server.
pub struct Exporter {
    /// Replaced as a whole by [`Exporter::reload`]; readers take a cheap `Arc` copy.
    config: std::sync::RwLock<Arc<Config>>,
    web: std::sync::RwLock<Arc<WebConfig>>,
    options: Options,
    started_ms: i64,
    registry: Registry,
    api: ApiMetrics,
    published: Published,
    ready: AtomicBool,
    reloads: ReloadMetrics,
    state: Mutex<State>,
}

/// Where the exporter's AWS calls go, with which credentials, and what outranks the config file.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Fixed credentials (demo and tests); `None` uses the standard AWS chain.
    pub credentials: Option<Credentials>,
    /// Command-line settings (and `--demo`'s simulator) re-applied on every reload.
    pub overrides: Overrides,
}

impl Exporter {
    pub async fn new(config: Config, options: Options) -> anyhow::Result<Arc<Exporter>> {
        let registry = Registry::new();
        let api = ApiMetrics::new(&registry)?;
        for operation in OPERATIONS {
            api.requests.with_label_values(&[operation]);
        }
        let published = Published::new();
        let build_info = GaugeVec::new(
            Opts::new(
                "gamelift_exporter_build_info",
                "Build of the running exporter; always 1.",
            ),
            &["version", "revision", "rustversion"],
        )?;
        build_info
            .with_label_values(&[
                env!("CARGO_PKG_VERSION"),
                env!("GAMELIFT_EXPORTER_REVISION"),
                env!("GAMELIFT_EXPORTER_RUSTC_VERSION"),
            ])
            .set(1.0);
        registry.register(Box::new(build_info))?;
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;

        let reloads = ReloadMetrics::new(&registry)?;
        let config = options.overrides.apply(config);
        let web = load_web(&config)?;
        let regions = aws::resolve_regions(&config.aws).await?;
        let clients = aws::clients(&config.aws, &regions, &api, options.credentials.clone()).await;
        let state = State {
            regions: clients
                .into_iter()
                .map(|client| RegionState {
                    client,
                    last_discovery: None,
                    swept: false,
                })
                .collect(),
            fleets: BTreeMap::new(),
            last_duration: None,
        };
        Ok(Arc::new(Exporter {
            config: std::sync::RwLock::new(Arc::new(config)),
            web: std::sync::RwLock::new(Arc::new(web)),
            options,
            started_ms: now_ms(),
            registry,
            api,
            published,
            ready: AtomicBool::new(false),
            reloads,
            state: Mutex::new(state),
        }))
    }

    /// The config in force.
    pub fn config(&self) -> Arc<Config> {
        self.config.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// TLS and basic-auth settings in force.
    pub fn web(&self) -> Arc<WebConfig> {
        self.web.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Re-reads the config file the exporter was started with and applies it, with the
    /// command-line overrides re-applied (SIGHUP and `POST /-/reload` both come here).
    pub async fn reload_from_file(&self) -> Result<(), String> {
        let result = match self.config().source.clone() {
            None => Err("no --config file was given, so there is nothing to reload".to_string()),
            Some(path) => match Config::layered(Some(&path), &self.options.overrides) {
                Ok(config) => self.reload(config).await,
                Err(error) => Err(error.to_string()),
            },
        };
        self.reloads.record(result.is_ok());
        result
    }

    /// Applies a new, already validated config (the overrides are applied again, so no caller
    /// can drop them). Fleet state, counters and the published snapshot carry over; Regions are
    /// re-created only when `[aws]` changed. On error the running config stays in force.
    pub async fn reload(&self, new: Config) -> Result<(), String> {
        let mut new = self.options.overrides.apply(new);
        let web = load_web(&new).map_err(|e| e.to_string())?;
        let old = self.config();
        for setting in keep_restart_only_settings(&old, &mut new) {
            tracing::warn!(
                setting,
                "{setting} changed in the config file but only takes effect after a restart; the running value stays"
            );
        }
        let mut state = self.state.lock().await;
        if new.aws != old.aws {
            let regions = aws::resolve_regions(&new.aws)
                .await
                .map_err(|e| format!("{e:#}"))?;
            let clients = aws::clients(&new.aws, &regions, &self.api, self.options.credentials.clone()).await;
            let previous: HashMap<String, bool> = state
                .regions
                .iter()
                .map(|r| (r.client.region.clone(), r.swept))
                .collect();
            state.regions = clients
                .into_iter()
                .map(|client| {
                    let swept = previous.get(&client.region).copied().unwrap_or(false);
                    RegionState {
                        client,
                        last_discovery: None,
                        swept,
                    }
                })
                .collect();
            state
                .fleets
                .retain(|_, s| s.fleet.as_ref().is_none_or(|f| regions.contains(&f.home_region)));
        } else if new.fleets != old.fleets {
            for region in state.regions.iter_mut() {
                region.last_discovery = None;
            }
        }
        let ready = state.regions.iter().all(|r| r.swept);
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(new);
        *self.web.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(web);
        self.ready.store(ready, Ordering::Release);
        self.published.publish(&self.snapshot(&state));
        tracing::info!("configuration reloaded");
        Ok(())
    }

    /// The `/metrics` body: the published sweep snapshot (rendered once per sweep) followed by
    /// the live families (API counters, build info, process metrics).
    pub fn render_metrics(&self) -> prometheus::Result<Vec<u8>> {
        let snapshot = self.published.text();
        let mut body = Vec::with_capacity(snapshot.len() + 4096);
        body.extend_from_slice(&snapshot);
        prometheus::Encoder::encode(
            &prometheus::TextEncoder::new(),
            &self.registry.gather(),
            &mut body,
        )?;
        Ok(body)
    }

    /// True once every configured Region has completed a first sweep.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    fn requests_by_operation(&self) -> BTreeMap<String, u64> {
        OPERATIONS
            .iter()
            .map(|op| (op.to_string(), self.api.requests.with_label_values(&[*op]).get()))
            .collect()
    }

    /// Runs one sweep: discovery where due, then every fleet once, then publishes.
    pub async fn sweep_once(&self) -> SweepReport {
        let started = Instant::now();
        let config = self.config();
        let before = self.requests_by_operation();
        let mut state = self.state.lock().await;
        self.discover_due(&config, &mut state).await;

        let semaphore = Arc::new(Semaphore::new(config.sweep.concurrency));
        let mut tasks = tokio::task::JoinSet::new();
        let now = Instant::now();
        let history_interval = config.sweep.history_interval;
        let clients: HashMap<String, RegionClient> = state
            .regions
            .iter()
            .map(|r| (r.client.region.clone(), r.client.clone()))
            .collect();
        for (fleet_id, fleet_state) in state.fleets.iter_mut() {
            let Some(fleet) = fleet_state.fleet.clone() else {
                continue;
            };
            let Some(client) = clients.get(&fleet.home_region).cloned() else {
                continue;
            };
            let pass = match fleet_state.last_full {
                Some(last) if now.duration_since(last) < history_interval => Pass::Live,
                _ => Pass::Full,
            };
            let counted = std::mem::take(&mut fleet_state.counted);
            let baseline = fleet_state.last_full.is_none();
            let semaphore = semaphore.clone();
            let fleet_id = fleet_id.clone();
            let page_size = config.sweep.page_size;
            let live_statuses = config.sweep.live_statuses.clone();
            let timeout = config.sweep.timeout;
            let since_ms = self.started_ms;
            tasks.spawn(async move {
                let _permit = semaphore
                    .acquire_owned()
                    .await
                    .expect("semaphore is never closed");
                let ledger = InterruptionLedger {
                    counted: &counted,
                    since_ms,
                    baseline,
                    now_ms: now_ms(),
                };
                let work = sweep::sweep_fleet(
                    &client,
                    &fleet.fleet_id,
                    &fleet.home_region,
                    pass,
                    page_size,
                    &live_statuses,
                    &ledger,
                );
                let result = match tokio::time::timeout(timeout, work).await {
                    Ok(result) => result,
                    Err(_) => Err(SweepError {
                        reason: FailureReason::Timeout,
                        message: format!("sweep did not finish within sweep.timeout ({timeout:?})"),
                        calls: 0,
                    }),
                };
                (fleet_id, pass, counted, result)
            });
        }

        let mut report = SweepReport::default();
        while let Some(joined) = tasks.join_next().await {
            let (fleet_id, pass, counted, result) = match joined {
                Ok(done) => done,
                Err(error) => {
                    tracing::error!(%error, "fleet sweep task panicked");
                    report.fleets_failed += 1;
                    continue;
                }
            };
            let Some(fleet_state) = state.fleets.get_mut(&fleet_id) else {
                continue;
            };
            fleet_state.counted = counted;
            match result {
                Ok(found) => {
                    match pass {
                        Pass::Live => report.live_calls += found.calls,
                        Pass::Full => report.full_calls += found.calls,
                    }
                    report.fleets_ok += 1;
                    tracing::debug!(%fleet_id, pass = pass.as_str(), calls = found.calls, sessions = found.sessions_seen, "fleet swept");
                    apply(fleet_state, pass, &config.sweep.live_statuses, found, now);
                }
                Err(error) => {
                    report.fleets_failed += 1;
                    fleet_state.up = false;
                    tracing::warn!(%fleet_id, pass = pass.as_str(), reason = %error.reason, error = %error.message, "fleet sweep failed; keeping its last complete numbers");
                }
            }
        }
        for region in state.regions.iter_mut() {
            if region.last_discovery.is_some() {
                region.swept = true;
            }
        }
        let duration = started.elapsed().as_secs_f64();
        state.last_duration = Some(duration);
        self.published.publish(&self.snapshot(&state));
        if state.regions.iter().all(|r| r.swept) {
            self.ready.store(true, Ordering::Release);
        }
        drop(state);

        let after = self.requests_by_operation();
        report.requests = after
            .iter()
            .map(|(op, n)| (op.clone(), n - before.get(op).copied().unwrap_or(0)))
            .filter(|(_, n)| *n > 0)
            .collect();
        tracing::info!(
            fleets_ok = report.fleets_ok,
            fleets_failed = report.fleets_failed,
            calls = report.total_requests(),
            live_pass_calls = report.live_calls,
            full_pass_calls = report.full_calls,
            calls_by_operation = ?report.requests,
            duration_seconds = format!("{duration:.3}"),
            "sweep complete"
        );
        report
    }

    async fn discover_due(&self, config: &Config, state: &mut State) {
        let interval = config.sweep.discovery_interval;
        let page_size = config.sweep.page_size;
        let mut discovered: Vec<(String, Vec<Fleet>)> = Vec::new();
        for region in state.regions.iter_mut() {
            if region
                .last_discovery
                .is_some_and(|last| last.elapsed() < interval)
            {
                continue;
            }
            match discovery::discover(&region.client, &config.fleets, page_size).await {
                Ok(fleets) => {
                    tracing::info!(region = %region.client.region, fleets = fleets.len(), "fleets discovered");
                    region.last_discovery = Some(Instant::now());
                    discovered.push((region.client.region.clone(), fleets));
                }
                Err(error) => {
                    tracing::warn!(region = %region.client.region, reason = %error.reason, %error, "fleet discovery failed; keeping the previous fleet list");
                }
            }
        }
        for (region, fleets) in discovered {
            let ids: Vec<&str> = fleets.iter().map(|f| f.fleet_id.as_str()).collect();
            // Fleets that vanished from this Region lose all their series.
            state.fleets.retain(|id, s| {
                s.fleet.as_ref().is_none_or(|f| f.home_region != region) || ids.contains(&id.as_str())
            });
            for fleet in fleets {
                let entry = state.fleets.entry(fleet.fleet_id.clone()).or_default();
                for location in &fleet.locations {
                    entry.interruptions.entry(location.clone()).or_insert(0);
                }
                entry.fleet = Some(fleet);
            }
        }
    }

    fn snapshot(&self, state: &State) -> Snapshot {
        let stale_before = now_ms() - self.config().sweep.stale_after.as_millis() as i64;
        let fleets = state
            .fleets
            .values()
            .filter_map(|s| {
                let fleet = s.fleet.clone()?;
                let fresh = s.last_success_ms.is_some_and(|t| t >= stale_before);
                let sessions = match (&s.live, &s.full_live, &s.history, fresh) {
                    (Some(live), Some(full_live), Some(history), true) => {
                        let mut merged = BTreeMap::new();
                        let known = fleet
                            .locations
                            .iter()
                            .chain(live.keys())
                            .chain(full_live.keys())
                            .chain(history.keys());
                        for location in known {
                            merged.entry(location.clone()).or_insert_with(|| {
                                let mut totals = live.get(location).cloned().unwrap_or_default();
                                // Statuses the latest pass did not list come from the latest full pass.
                                if let Some(full) = full_live.get(location) {
                                    for (key, count) in &full.sessions {
                                        if !s.live_covers.contains(&key.0) {
                                            totals.sessions.insert(key.clone(), *count);
                                        }
                                    }
                                }
                                (totals, history.get(location).cloned().unwrap_or_default())
                            });
                        }
                        Some(merged)
                    }
                    _ => None,
                };
                Some(FleetView {
                    fleet,
                    up: s.up,
                    last_success_seconds: s.last_success_ms.map(|ms| ms as f64 / 1000.0),
                    sessions,
                    interruptions: s.interruptions.clone(),
                })
            })
            .collect();
        Snapshot {
            fleets,
            sweep_duration_seconds: state.last_duration,
        }
    }

    /// Sweeps every `sweep.interval` until `shutdown` resolves. Sweeps never overlap: a sweep
    /// that runs long delays the next one.
    pub async fn run_schedule(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            // Read every time: a reload may have changed it.
            let next = tokio::time::Instant::now() + self.config().sweep.interval;
            tokio::select! {
                _ = self.sweep_once() => {}
                _ = shutdown.wait_for(|stop| *stop) => return,
            }
            tokio::select! {
                _ = tokio::time::sleep_until(next) => {}
                _ = shutdown.wait_for(|stop| *stop) => return,
            }
        }
    }
}

/// Settings that a running server cannot change: the running values are kept in `new`, and
/// the names of those that differed are returned, so that every one of them can be warned about.
fn keep_restart_only_settings(old: &Config, new: &mut Config) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if new.server.listen != old.server.listen {
        changed.push("server.listen");
        new.server.listen = old.server.listen;
    }
    if new.server.max_connections != old.server.max_connections {
        changed.push("server.max_connections");
        new.server.max_connections = old.server.max_connections;
    }
    if new.server.header_read_timeout != old.server.header_read_timeout {
        changed.push("server.header_read_timeout");
        new.server.header_read_timeout = old.server.header_read_timeout;
    }
    changed
}

/// `gamelift_exporter_config_last_reload_successful` and its timestamp, as Prometheus and
/// Alertmanager publish them; the start-up load counts as a successful one.
struct ReloadMetrics {
    successful: prometheus::IntGauge,
    success_timestamp: prometheus::Gauge,
}

impl ReloadMetrics {
    fn new(registry: &Registry) -> prometheus::Result<ReloadMetrics> {
        let successful = prometheus::IntGauge::new(
            "gamelift_exporter_config_last_reload_successful",
            "1 if the last configuration reload (SIGHUP or POST /-/reload) succeeded, 0 if it failed and the previous configuration is still running.",
        )?;
        let success_timestamp = prometheus::Gauge::new(
            "gamelift_exporter_config_last_reload_success_timestamp_seconds",
            "Time of the last successful configuration load (start-up or reload), Unix seconds.",
        )?;
        registry.register(Box::new(successful.clone()))?;
        registry.register(Box::new(success_timestamp.clone()))?;
        let metrics = ReloadMetrics {
            successful,
            success_timestamp,
        };
        metrics.record(true);
        Ok(metrics)
    }

    fn record(&self, ok: bool) {
        self.successful.set(i64::from(ok));
        if ok {
            self.success_timestamp.set(now_ms() as f64 / 1000.0);
        }
    }
}

fn load_web(config: &Config) -> Result<WebConfig, crate::tomlfile::FileError> {
    match &config.server.web_config_file {
        Some(path) => WebConfig::load(path),
        None => Ok(WebConfig::open()),
    }
}

fn apply(state: &mut FleetState, pass: Pass, live_statuses: &[String], found: PassResult, now: Instant) {
    state.up = true;
    let now_ms = now_ms();
    state.last_success_ms = Some(now_ms);
    state.live_covers = match pass {
        Pass::Full => crate::aggregate::LIVE_STATUSES
            .iter()
            .map(|s| s.to_string())
            .collect(),
        Pass::Live => live_statuses.to_vec(),
    };
    if pass == Pass::Full {
        state.full_live = Some(found.live.clone());
    }
    state.live = Some(found.live);
    if let Some(history) = found.history {
        state.history = Some(history);
    }
    if pass == Pass::Full {
        state.last_full = Some(now);
    }
    for interruption in found.interruptions {
        let Some(count) = state.interruptions.get_mut(&interruption.location) else {
            // A location discovery did not report: publish its counter at 0 first and count
            // these sessions on the next full pass (they are not in the ledger yet), so that
            // `increase()` sees the step instead of a series that is born at N.
            state.interruptions.insert(interruption.location, 0);
            continue;
        };
        if state
            .counted
            .insert(interruption.session_key, interruption.ended_ms)
            .is_none()
        {
            *count += 1;
        }
    }
    state
        .counted
        .retain(|_, ended| *ended > now_ms - LEDGER_RETENTION_MS);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::Interruption;

    fn interrupted(key: u64, location: &str) -> Interruption {
        Interruption {
            session_key: key,
            location: location.to_string(),
            ended_ms: now_ms(),
        }
    }

    #[test]
    fn counters_count_each_session_once_and_new_locations_start_at_zero() {
        let mut state = FleetState::default();
        state.interruptions.insert("us-west-2".into(), 0);
        let mut full_pass = |sessions: &[(u64, &str)]| {
            let interruptions = sessions
                .iter()
                .map(|(key, location)| interrupted(*key, location))
                .collect();
            let found = PassResult {
                history: Some(BTreeMap::new()),
                interruptions,
                ..PassResult::default()
            };
            apply(&mut state, Pass::Full, &[], found, Instant::now());
            state.interruptions.clone()
        };
        assert_eq!(full_pass(&[(1, "us-west-2"), (2, "us-west-2")])["us-west-2"], 2);
        // Seen again: not counted again.
        assert_eq!(full_pass(&[(1, "us-west-2"), (3, "us-west-2")])["us-west-2"], 3);
        // A location discovery never reported: 0 first, counted on the next pass.
        assert_eq!(full_pass(&[(4, "local-zone-1")])["local-zone-1"], 0);
        assert_eq!(full_pass(&[(4, "local-zone-1")])["local-zone-1"], 1);
    }
}
