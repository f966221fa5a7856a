//! The running exporter: the config in force and its reloads, the store the passes publish
//! into, the Region workers (as background tasks, or driven one round at a time), the state
//! file, and what `/metrics` serves.

use crate::aws::{self, ApiMetrics};
use crate::config::{Config, Overrides};
use crate::discovery::OPERATIONS;
use crate::scheduler::{scope_key, Context, RegionWorker, RoundReport};
use crate::statefile;
use crate::store::Store;
use crate::web::WebConfig;
use aws_sdk_gamelift::config::Credentials;
use prometheus::{GaugeVec, IntCounter, Opts, Registry};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A change is rendered after this pause, so that fleets finishing together render once.
const RENDER_DEBOUNCE: Duration = Duration::from_millis(20);
/// First and largest wait after a failed read of the events queue.
const EVENTS_BACKOFF: Duration = Duration::from_secs(1);
const EVENTS_BACKOFF_MAX: Duration = Duration::from_secs(60);
/// How often the state file is written when something changed.
const STATE_WRITE_INTERVAL: Duration = Duration::from_secs(2);

/// Where the exporter's AWS calls go, with which credentials, and what outranks the config file.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Fixed credentials (demo and tests); `None` uses the standard AWS chain.
    pub credentials: Option<Credentials>,
    /// Command-line settings (and `--demo`'s simulator) re-applied on every reload.
    pub overrides: Overrides,
}

/// What one [`Exporter::sweep_once`] did, for tests and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub fleets_ok: usize,
    pub fleets_failed: usize,
    /// HTTP requests sent, by operation (every attempt, retries included).
    pub requests: BTreeMap<String, u64>,
    /// Logical calls of live passes by operation (pages, events polls, lookups).
    pub live_calls: BTreeMap<&'static str, u64>,
    pub full_passes: usize,
    /// Pages read by the full passes that completed.
    pub full_pass_pages: u64,
    /// Capacity cycles that ran (one per Region when due), and their calls by operation.
    pub capacity_cycles: usize,
    pub capacity_calls: BTreeMap<&'static str, u64>,
}

impl SweepReport {
    pub fn total_requests(&self) -> u64 {
        self.requests.values().sum()
    }
}

/// What the workers' clients are built from: a change rebuilds them.
type ClientInputs = (crate::config::AwsConfig, Vec<crate::config::AccountConfig>, f64);

fn client_inputs(config: &Config) -> ClientInputs {
    (
        config.aws.clone(),
        config.effective_accounts(),
        config.sweep.history_budget_share,
    )
}

/// The account-Region workers (keyed `account/region`) and the settings their clients were
/// built from.
struct Engine {
    built_from: Option<ClientInputs>,
    workers: BTreeMap<String, RegionWorker>,
}

/// The running exporter: shared by the workers, the HTTP server and the signal handler.
pub struct Exporter {
    /// Replaced as a whole by [`Exporter::reload`]; readers take a cheap `Arc` copy.
    config: RwLock<Arc<Config>>,
    /// Tells the running workers about a new config.
    config_changes: tokio::sync::watch::Sender<Arc<Config>>,
    web: RwLock<Arc<WebConfig>>,
    options: Options,
    registry: Registry,
    api: ApiMetrics,
    health: Arc<aws::AccountHealth>,
    store: Arc<Store>,
    reloads: ReloadMetrics,
    state_write_failures: IntCounter,
    /// The last state-file error logged, so that a lasting problem is logged once.
    state_error: std::sync::Mutex<Option<String>>,
    engine: tokio::sync::Mutex<Engine>,
    /// The `[events]` queue's client, built on first use and when `[events]` changes.
    events_reader: tokio::sync::Mutex<Option<crate::sqs::EventReader>>,
}

impl Exporter {
    pub async fn new(config: Config, options: Options) -> anyhow::Result<Arc<Exporter>> {
        let registry = Registry::new();
        let api = ApiMetrics::new(&registry)?;
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
        let state_write_failures = IntCounter::new(
            "gamelift_exporter_state_write_failures_total",
            "Failed writes of the state file (state.path) since the exporter started; while they fail, a restart would lose the interruption ledger and event positions since the last good write.",
        )?;
        registry.register(Box::new(state_write_failures.clone()))?;

        let config = options.overrides.apply(config);
        let web = load_web(&config)?;
        let store = Arc::new(open_store(&config));
        let config = Arc::new(config);
        let (config_changes, _) = tokio::sync::watch::channel(config.clone());
        let exporter = Arc::new(Exporter {
            config: RwLock::new(config.clone()),
            config_changes,
            web: RwLock::new(Arc::new(web)),
            options,
            registry,
            api,
            health: Arc::new(aws::AccountHealth::default()),
            store,
            reloads,
            state_write_failures,
            state_error: std::sync::Mutex::new(None),
            engine: tokio::sync::Mutex::new(Engine {
                built_from: None,
                workers: BTreeMap::new(),
            }),
            events_reader: tokio::sync::Mutex::new(None),
        });
        exporter.store.set_events(config.events.is_some());
        {
            let mut engine = exporter.engine.lock().await;
            exporter.build_workers(&mut engine, &config).await?;
        }
        Ok(exporter)
    }

    /// (Re)builds the workers' clients when `[aws]`, the accounts or the history share
    /// changed; fleet state of account-Regions that stay is kept.
    async fn build_workers(&self, engine: &mut Engine, config: &Config) -> anyhow::Result<()> {
        let wanted = client_inputs(config);
        if engine.built_from.as_ref() == Some(&wanted) {
            return Ok(());
        }
        let accounts = aws::resolve_accounts(&config.aws, &wanted.1).await?;
        let settings = aws::ClientSettings {
            aws: &config.aws,
            history_share: config.sweep.history_budget_share,
            metrics: &self.api,
            health: &self.health,
            credentials: self.options.credentials.clone(),
        };
        let clients = aws::clients(&settings, &accounts).await;
        let scopes: Vec<(String, String)> = clients
            .iter()
            .map(|c| (c.account.clone(), c.region.clone()))
            .collect();
        let keys: Vec<String> = scopes.iter().map(|(a, r)| scope_key(a, r)).collect();
        engine.workers.retain(|key, _| keys.contains(key));
        for client in clients {
            let key = scope_key(&client.account, &client.region);
            match engine.workers.get_mut(&key) {
                Some(worker) => worker.client = client,
                None => {
                    engine.workers.insert(key, RegionWorker::new(client));
                }
            }
        }
        self.health.set_scopes(&self.api, &scopes);
        self.store.set_regions(&keys);
        engine.built_from = Some(wanted);
        Ok(())
    }

    /// The config in force.
    pub fn config(&self) -> Arc<Config> {
        self.config.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// TLS and basic-auth settings in force.
    pub fn web(&self) -> Arc<WebConfig> {
        self.web.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The fleets' state (tests and benchmarks look inside).
    pub fn store(&self) -> &Arc<Store> {
        &self.store
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
    /// can drop them). It never waits for a pass: running workers pick the new config up at
    /// once, passes in flight finish with the old one. Fleet state and counters carry over. On
    /// error the running config stays in force.
    pub async fn reload(&self, new: Config) -> Result<(), String> {
        let mut new = self.options.overrides.apply(new);
        let web = load_web(&new).map_err(|e| e.to_string())?;
        if client_inputs(&new) != client_inputs(&self.config()) {
            // Refuse a config whose Regions cannot be known, before anything changes.
            aws::resolve_accounts(&new.aws, &new.effective_accounts())
                .await
                .map_err(|e| format!("{e:#}"))?;
        }
        let old = self.config();
        for setting in keep_restart_only_settings(&old, &mut new) {
            tracing::warn!(
                setting,
                "{setting} changed in the config file but only takes effect after a restart; the running value stays"
            );
        }
        let new = Arc::new(new);
        *self.config.write().unwrap_or_else(|p| p.into_inner()) = new.clone();
        *self.web.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(web);
        self.store.set_events(new.events.is_some());
        self.config_changes.send_replace(new);
        self.store.invalidate();
        tracing::info!("configuration reloaded");
        Ok(())
    }

    /// The `/metrics` body: the fleets' rendered metrics (rendered again only when something
    /// changed or a fleet turned stale) followed by the live families (API counters, budgets,
    /// build info, process metrics). With `gzip`, two gzip members: the fleets' part compressed
    /// once per render, the small live part per scrape (gzip readers, Prometheus' among them,
    /// read concatenated members as one stream).
    pub fn render_metrics(&self, gzip: bool) -> prometheus::Result<Vec<u8>> {
        self.store
            .render(self.config().sweep.stale_after.as_millis() as i64);
        let mut live = Vec::with_capacity(4096);
        prometheus::Encoder::encode(
            &prometheus::TextEncoder::new(),
            &self.registry.gather(),
            &mut live,
        )?;
        let fleets = if gzip {
            self.store.gzip()
        } else {
            self.store.text()
        };
        let mut body = Vec::with_capacity(fleets.len() + live.len());
        body.extend_from_slice(&fleets);
        if gzip {
            body.extend_from_slice(&crate::store::gzip(&live));
        } else {
            body.extend_from_slice(&live);
        }
        Ok(body)
    }

    /// True once every Region has discovered its fleets and every fleet has finished a first
    /// live pass, whether it succeeded or failed.
    pub fn is_ready(&self) -> bool {
        self.store.is_ready()
    }

    /// Requests sent so far by operation, over every account and Region.
    fn requests_by_operation(&self) -> BTreeMap<String, u64> {
        use prometheus::core::Collector;
        let mut out: BTreeMap<String, u64> = OPERATIONS.iter().map(|op| (op.to_string(), 0)).collect();
        for family in self.api.requests.collect() {
            for metric in family.get_metric() {
                let operation = metric
                    .get_label()
                    .iter()
                    .find(|l| l.name() == "operation")
                    .map(|l| l.value().to_string())
                    .unwrap_or_default();
                *out.entry(operation).or_default() += metric.get_counter().get_value() as u64;
            }
        }
        out
    }

    fn context(&self) -> Context {
        Context {
            store: self.store.clone(),
            health: self.health.clone(),
            api: self.api.clone(),
        }
    }

    /// Runs one round, now, to completion: discovery where due, one live pass of every fleet,
    /// then the full passes that are due. For tests and benchmarks, which need each pass to
    /// happen at a known moment; the daemon uses [`Exporter::run_schedule`] instead (the two
    /// must not run at the same time).
    pub async fn sweep_once(&self) -> SweepReport {
        let config = self.config();
        let before = self.requests_by_operation();
        let mut engine = self.engine.lock().await;
        if let Err(error) = self.build_workers(&mut engine, &config).await {
            tracing::error!(error = %format!("{error:#}"), "cannot apply the [aws] settings; keeping the previous ones");
        }
        let ctx = self.context();
        let mut total = RoundReport::default();
        for worker in engine.workers.values_mut() {
            worker.round(&config, &ctx).await;
            let report = worker.take_report();
            total.fleets_ok += report.fleets_ok;
            total.fleets_failed += report.fleets_failed;
            total.full_passes += report.full_passes;
            total.full_pass_pages += report.full_pass_pages;
            for (operation, calls) in report.calls {
                *total.calls.entry(operation).or_default() += calls;
            }
            total.capacity_cycles += report.capacity_cycles;
            for (operation, calls) in report.capacity_calls {
                *total.capacity_calls.entry(operation).or_default() += calls;
            }
        }
        drop(engine);
        self.store.render(config.sweep.stale_after.as_millis() as i64);
        self.save_state();
        let after = self.requests_by_operation();
        let report = SweepReport {
            fleets_ok: total.fleets_ok,
            fleets_failed: total.fleets_failed,
            requests: after
                .iter()
                .map(|(op, n)| (op.clone(), n - before.get(op).copied().unwrap_or(0)))
                .filter(|(_, n)| *n > 0)
                .collect(),
            live_calls: total.calls,
            full_passes: total.full_passes,
            full_pass_pages: total.full_pass_pages,
            capacity_cycles: total.capacity_cycles,
            capacity_calls: total.capacity_calls,
        };
        tracing::info!(
            fleets_ok = report.fleets_ok,
            fleets_failed = report.fleets_failed,
            calls = report.total_requests(),
            calls_by_operation = ?report.requests,
            full_passes = report.full_passes,
            "sweep complete"
        );
        report
    }

    /// Runs every Region's worker in the background until `shutdown` resolves, each fleet on
    /// its own schedule; renders after changes and writes the state file. A reload that
    /// changes `[aws]` restarts the workers with new clients (their fleet state carries over).
    pub async fn run_schedule(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut engine = self.engine.lock().await;
        let renderer = tokio::spawn(self.clone().render_on_change(shutdown.clone()));
        let writer = tokio::spawn(self.clone().write_state_periodically(shutdown.clone()));
        let events = tokio::spawn(self.clone().run_events(shutdown.clone()));
        let mut changes = self.config_changes.subscribe();
        loop {
            let (stop, stopped) = tokio::sync::watch::channel(false);
            let running: Vec<_> = std::mem::take(&mut engine.workers)
                .into_values()
                .map(|worker| {
                    tokio::spawn(worker.run(self.context(), self.config_changes.subscribe(), stopped.clone()))
                })
                .collect();
            let rebuild = loop {
                tokio::select! {
                    _ = shutdown.wait_for(|s| *s) => break false,
                    changed = changes.changed() => {
                        if changed.is_err() {
                            break false;
                        }
                        let config = changes.borrow_and_update().clone();
                        if engine.built_from.as_ref() != Some(&client_inputs(&config)) {
                            break true;
                        }
                    }
                }
            };
            let _ = stop.send(true);
            for handle in running {
                match handle.await {
                    Ok(worker) => {
                        engine.workers.insert(worker.key(), worker);
                    }
                    Err(error) => tracing::error!(%error, "a Region worker panicked"),
                }
            }
            if !rebuild {
                break;
            }
            let config = self.config();
            if let Err(error) = self.build_workers(&mut engine, &config).await {
                tracing::error!(error = %format!("{error:#}"), "cannot apply the new [aws] settings; keeping the previous ones");
            }
        }
        let _ = renderer.await;
        let _ = writer.await;
        let _ = events.await;
        self.save_state();
    }

    /// Reads the `[events]` queue once (one long poll of up to `wait`): counts the messages,
    /// publishes the counts, writes the state file, then deletes them. The daemon calls it in
    /// a loop ([`Exporter::run_events`]); tests call it to read at a known moment.
    pub async fn read_events_once(&self, wait: Duration) -> Result<crate::sqs::ReadReport, String> {
        let config = self.config();
        let Some(events) = config.events.clone() else {
            return Err("no [events] section in the config".to_string());
        };
        let reader = {
            let mut built = self.events_reader.lock().await;
            if built.as_ref().is_none_or(|r| r.built_from != events) {
                let reader = crate::sqs::EventReader::new(
                    &config,
                    &self.api,
                    &self.health,
                    self.options.credentials.clone(),
                )
                .await
                .map_err(|e| format!("{e:#}"))?;
                *built = Some(reader);
            }
            built.clone().expect("just built")
        };
        let window_ms = events.dedup_window.as_millis() as i64;
        let stale_after = config.sweep.stale_after.as_millis() as i64;
        reader
            .read_once(wait, async |batch| {
                let counts = self.store.apply_events(batch, window_ms);
                // Published: rendered (a second time when new series had to show their 0
                // first), then the counted ids written to the state file.
                for _ in 0..100 {
                    self.store.render(stale_after);
                    if self.store.events_published() {
                        break;
                    }
                    tokio::time::sleep(RENDER_DEBOUNCE).await;
                }
                self.save_state();
                counts
            })
            .await
    }

    /// Reads the `[events]` queue until `shutdown`, whenever `[events]` is configured. A failed
    /// read is logged and retried after a backoff (1 s doubling to a minute); the sweeps go on.
    pub async fn run_events(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut changes = self.config_changes.subscribe();
        let mut backoff = EVENTS_BACKOFF;
        loop {
            let Some(events) = self.config().events.clone() else {
                tokio::select! {
                    _ = shutdown.wait_for(|s| *s) => return,
                    changed = changes.changed() => if changed.is_err() { return },
                }
                continue;
            };
            let result = tokio::select! {
                _ = shutdown.wait_for(|s| *s) => return,
                result = self.read_events_once(events.wait_time) => result,
            };
            match result {
                Ok(report) => {
                    backoff = EVENTS_BACKOFF;
                    if report.messages > 0 {
                        tracing::debug!(?report, "events read");
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, retry_in = ?backoff, "cannot read the events queue; sweeps go on");
                    tokio::select! {
                        _ = shutdown.wait_for(|s| *s) => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(EVENTS_BACKOFF_MAX);
                }
            }
        }
    }

    /// Renders the fleet metrics shortly after every change and when a fleet turns stale, so
    /// that scrapes only copy bytes.
    async fn render_on_change(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            let stale_after = self.config().sweep.stale_after.as_millis() as i64;
            let valid_until = self.store.render(stale_after);
            let wait = valid_until.map_or(Duration::from_secs(3600), |t| {
                Duration::from_millis((t - now_ms()).max(0) as u64 + 1)
            });
            let changed = tokio::select! {
                _ = shutdown.wait_for(|s| *s) => return,
                _ = self.store.changed.notified() => true,
                _ = tokio::time::sleep(wait) => false,
            };
            if changed {
                tokio::time::sleep(RENDER_DEBOUNCE).await;
            }
        }
    }

    async fn write_state_periodically(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = shutdown.wait_for(|s| *s) => return,
                _ = tokio::time::sleep(STATE_WRITE_INTERVAL) => self.save_state(),
            }
        }
    }

    /// Writes the state file if one is configured and something changed. A failure is logged
    /// (once while it lasts) and counted; the exporter keeps running.
    pub fn save_state(&self) {
        let Some(path) = self.config().state.path.clone() else {
            return;
        };
        let Some((version, state)) = self.store.state_to_save() else {
            return;
        };
        let mut last_error = self.state_error.lock().unwrap_or_else(|p| p.into_inner());
        match statefile::save(&path, &state) {
            Ok(()) => {
                self.store.saved(version);
                if last_error.take().is_some() {
                    tracing::info!(path = %path.display(), "state file written again");
                }
            }
            Err(error) => {
                self.state_write_failures.inc();
                let message = error.to_string();
                if last_error.as_deref() != Some(message.as_str()) {
                    tracing::error!(path = %path.display(), %error, "cannot write the state file; counting goes on, but a restart now would recount or miss what changed since the last good write");
                    *last_error = Some(message);
                }
            }
        }
    }
}

/// The store, restored from `state.path` when there is a usable one. A file that cannot be
/// used is set aside (renamed, never deleted) with the reason in the log, and counting starts
/// fresh.
fn open_store(config: &Config) -> Store {
    let fresh = || Store::new(now_ms(), BTreeMap::new());
    let Some(path) = &config.state.path else {
        return fresh();
    };
    match statefile::load(path) {
        Ok(None) => {
            tracing::info!(path = %path.display(), "no state file yet; counting starts now");
            fresh()
        }
        Ok(Some(saved)) => {
            tracing::info!(path = %path.display(), fleets = saved.fleets.len(), counting_since_ms = saved.counting_since_ms, "state restored: what happened while the exporter was down is counted");
            Store::restore(saved)
        }
        Err(reason) => {
            match statefile::set_aside(path, now_ms()) {
                Ok(aside) => {
                    tracing::error!(path = %path.display(), %reason, set_aside_as = %aside.display(), "the state file cannot be used; it was set aside and counting starts fresh")
                }
                Err(error) => {
                    tracing::error!(path = %path.display(), %reason, %error, "the state file cannot be used, nor set aside; counting starts fresh and it will be overwritten")
                }
            }
            fresh()
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
