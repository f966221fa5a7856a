//! The running exporter: the config in force and its reloads, the store the passes publish
//! into, the Region workers (as background tasks, or driven one round at a time), the state
//! file, and what `/metrics` serves.

use crate::aws::scope_key;
use crate::aws::RegionClient;
use crate::aws::{self, ApiMetrics};
use crate::config::{Config, Overrides};
use crate::discovery::OPERATIONS;
use crate::scheduler::{Context, RegionWorker, RoundReport};
use crate::statefile;
use crate::store::Store;
use crate::web::WebConfig;
use prometheus::{GaugeVec, IntCounter, Opts, Registry};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::sync::Notify;

/// A change is rendered after this pause, so that fleets finishing together render once.
const RENDER_DEBOUNCE: Duration = Duration::from_millis(20);
/// First and largest wait after a failed read of the events queue.
const EVENTS_BACKOFF: Duration = Duration::from_secs(1);
const EVENTS_BACKOFF_MAX: Duration = Duration::from_secs(60);
/// How often the state file is written when something changed, at most: saves coalesce.
const STATE_WRITE_INTERVAL: Duration = Duration::from_secs(2);
/// A save someone waits for (the events reader, before it deletes messages) starts after at
/// most this pause, so that a burst of batches shares one write.
const STATE_WRITE_COALESCE: Duration = Duration::from_millis(200);
/// Batches of event messages counted and waiting for their delete, at most.
const EVENTS_IN_FLIGHT: usize = 32;

/// Where the exporter's AWS calls go, with which credentials and clock, and what outranks the
/// config file.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Credentials, HTTP client and clock of the SDK clients (and the exporter's wall time).
    pub connection: aws::Connection,
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

/// The account-Region workers (keyed `account/region`) while they are not running, and the
/// settings their clients were built from.
struct Engine {
    built_from: Option<ClientInputs>,
    workers: BTreeMap<String, RegionWorker>,
}

/// A worker running in the background, and how to reach it.
struct Running {
    client: tokio::sync::watch::Sender<RegionClient>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<RegionWorker>,
}

/// The `[events]` reader's own series: what it could not delete, and the ids it remembers.
struct EventsMetrics {
    delete_failures: prometheus::IntCounterVec,
    remembered: prometheus::IntGaugeVec,
    forgotten: IntCounter,
}

impl EventsMetrics {
    fn new(registry: &Registry) -> prometheus::Result<EventsMetrics> {
        let delete_failures = prometheus::IntCounterVec::new(
            Opts::new(
                "gamelift_exporter_events_delete_failures_total",
                "Event messages counted but not deleted from the queue since the exporter started, by reason: request (DeleteMessageBatch failed) or entry (the batch refused that entry). Each comes back after its visibility timeout and counts as a duplicate, never twice.",
            ),
            &["reason"],
        )?;
        let remembered = prometheus::IntGaugeVec::new(
            Opts::new(
                "gamelift_exporter_events_remembered_ids",
                "Ids of counted events remembered against redeliveries, by whether their message is known deleted (remembered for events.dedup_window) or not (remembered until it is, or the queue's retention has passed). At most 200000; past that, ids of deleted messages are forgotten early (counted in gamelift_exporter_events_forgotten_ids_total), and reading pauses while undeleted ones fill it.",
            ),
            &["message"],
        )?;
        let forgotten = IntCounter::new(
            "gamelift_exporter_events_forgotten_ids_total",
            "Ids of deleted event messages forgotten before events.dedup_window had passed, to stay within 200000 remembered ids: a duplicate of one of them (rare: EventBridge delivers at least once) would count again.",
        )?;
        registry.register(Box::new(delete_failures.clone()))?;
        registry.register(Box::new(remembered.clone()))?;
        registry.register(Box::new(forgotten.clone()))?;
        for reason in ["request", "entry"] {
            delete_failures.with_label_values(&[reason]);
        }
        Ok(EventsMetrics {
            delete_failures,
            remembered,
            forgotten,
        })
    }
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
    /// Every account-Region's budgets, reconfigured in place by reloads.
    budgets: aws::BudgetRegistry,
    store: Arc<Store>,
    reloads: ReloadMetrics,
    state_write_failures: IntCounter,
    events_metrics: EventsMetrics,
    /// The last state-file error logged, so that a lasting problem is logged once; held while
    /// the file is written, so that two writes never interleave.
    state_error: std::sync::Mutex<Option<String>>,
    /// Asks the state writer for a save soon; it answers with the store version it attempted.
    save_requests: Notify,
    saves: tokio::sync::watch::Sender<u64>,
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
        let reloads = ReloadMetrics::new(&registry, options.connection.clock.clone())?;
        let state_write_failures = IntCounter::new(
            "gamelift_exporter_state_write_failures_total",
            "Failed writes of the state file (state.path) since the exporter started; while they fail, a restart would lose the interruption ledger and event positions since the last good write.",
        )?;
        registry.register(Box::new(state_write_failures.clone()))?;
        let events_metrics = EventsMetrics::new(&registry)?;

        let config = options.overrides.apply(config);
        let web = load_web(&config)?;
        let store = Arc::new(open_store(&config, options.connection.clock.clone()));
        store.set_stale_after(config.sweep.stale_after.as_millis() as i64);
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
            budgets: Default::default(),
            store,
            reloads,
            state_write_failures,
            events_metrics,
            state_error: std::sync::Mutex::new(None),
            save_requests: Notify::new(),
            saves: tokio::sync::watch::channel(0).0,
            engine: tokio::sync::Mutex::new(Engine {
                built_from: None,
                workers: BTreeMap::new(),
            }),
            events_reader: tokio::sync::Mutex::new(None),
        });
        exporter.store.set_events(config.events.is_some());
        exporter.zero_events_series(&config);
        {
            let mut engine = exporter.engine.lock().await;
            if let Some(clients) = exporter.build_clients(&mut engine, &config).await? {
                for client in clients {
                    engine.workers.insert(
                        scope_key(&client.account, &client.region),
                        RegionWorker::new(client),
                    );
                }
            }
        }
        Ok(exporter)
    }

    /// Builds the workers' clients when `[aws]`, the accounts or the history share changed
    /// (`None`: nothing changed), and registers their account-Regions (fleets of account-Regions
    /// no longer swept leave the watch).
    async fn build_clients(
        &self,
        engine: &mut Engine,
        config: &Config,
    ) -> anyhow::Result<Option<Vec<RegionClient>>> {
        let wanted = client_inputs(config);
        if engine.built_from.as_ref() == Some(&wanted) {
            return Ok(None);
        }
        let accounts = aws::resolve_accounts(&config.aws, &wanted.1).await?;
        let settings = aws::ClientSettings {
            aws: &config.aws,
            history_share: config.sweep.history_budget_share,
            metrics: &self.api,
            health: &self.health,
            connection: self.options.connection.clone(),
            budgets: Some(&self.budgets),
        };
        let clients = aws::clients(&settings, &accounts).await;
        let scopes: Vec<(String, String)> = clients
            .iter()
            .map(|c| (c.account.clone(), c.region.clone()))
            .collect();
        let keys: Vec<String> = scopes.iter().map(|(a, r)| scope_key(a, r)).collect();
        self.health.set_scopes(&self.api, &scopes);
        self.store.set_regions(&keys);
        engine.built_from = Some(wanted);
        Ok(Some(clients))
    }

    /// The `[events]` reader's request and failure series exist at 0 as soon as `[events]` is
    /// configured, before the reader's first call.
    fn zero_events_series(&self, config: &Config) {
        if let Some((account, region)) = crate::sqs::labels(config) {
            self.api.zero(&account, &region, &crate::sqs::OPERATIONS);
        }
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
    /// can drop them). It never waits for a pass: running workers pick the new config (and new
    /// clients) up at once, passes in flight finish with the old one. Every fleet that stays
    /// watched keeps its counters, tracker, event position and pending lookups. On error the
    /// running config stays in force.
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
        self.zero_events_series(&new);
        self.store
            .set_stale_after(new.sweep.stale_after.as_millis() as i64);
        self.config_changes.send_replace(new);
        self.store.invalidate();
        tracing::info!("configuration reloaded");
        Ok(())
    }

    /// The `/metrics` body: the fleets' rendered metrics (rendered again only when something
    /// changed or a fleet turned stale) followed by the live families (API counters, budgets,
    /// build info, process metrics). With `gzip`, two gzip members: the fleets' part compressed
    /// once per render, the small live part per scrape (gzip readers, Prometheus' among them,
    /// read concatenated members as one stream). The store learns which render was served: a
    /// new counter series counts only once a response has carried its 0.
    pub fn render_metrics(&self, gzip: bool) -> prometheus::Result<Vec<u8>> {
        self.store.render();
        let (fleets, version) = self.store.rendered(gzip);
        let mut live = Vec::with_capacity(4096);
        prometheus::Encoder::encode(
            &prometheus::TextEncoder::new(),
            &self.registry.gather(),
            &mut live,
        )?;
        let mut body = Vec::with_capacity(fleets.len() + live.len());
        body.extend_from_slice(&fleets);
        if gzip {
            body.extend_from_slice(&crate::store::gzip(&live));
        } else {
            body.extend_from_slice(&live);
        }
        self.store.served(version);
        Ok(body)
    }

    /// True once every account-Region has discovered its fleets (or failed to, with its reason
    /// published) and every discovered fleet has finished a first live pass, whether it
    /// succeeded or failed.
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
        match self.build_clients(&mut engine, &config).await {
            Ok(Some(clients)) => {
                let keys: Vec<String> = clients.iter().map(|c| scope_key(&c.account, &c.region)).collect();
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
            }
            Ok(None) => {}
            Err(error) => {
                tracing::error!(error = %format!("{error:#}"), "cannot apply the [aws] settings; keeping the previous ones")
            }
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
        self.store.render();
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

    /// Starts a worker in the background.
    fn start_worker(&self, worker: RegionWorker) -> Running {
        let (client, clients) = tokio::sync::watch::channel(worker.client.clone());
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let task =
            tokio::spawn(worker.run(self.context(), self.config_changes.subscribe(), clients, stopped));
        Running { client, stop, task }
    }

    /// Runs every account-Region's worker in the background until `shutdown` resolves, each
    /// fleet on its own schedule; renders after changes and writes the state file. A reload that
    /// changes `[aws]` or the accounts hands the workers that stay their new clients (they keep
    /// every fleet's state), starts workers for new account-Regions and stops the others.
    pub async fn run_schedule(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut engine = self.engine.lock().await;
        let renderer = tokio::spawn(self.clone().render_on_change(shutdown.clone()));
        let writer = tokio::spawn(self.clone().write_state(shutdown.clone()));
        let events = tokio::spawn(self.clone().run_events(shutdown.clone()));
        let mut changes = self.config_changes.subscribe();
        let mut running: BTreeMap<String, Running> = std::mem::take(&mut engine.workers)
            .into_iter()
            .map(|(key, worker)| (key, self.start_worker(worker)))
            .collect();
        // A reload that came before this loop subscribed is applied first.
        let mut first = true;
        loop {
            if !std::mem::take(&mut first) {
                let changed = tokio::select! {
                    _ = shutdown.wait_for(|s| *s) => false,
                    changed = changes.changed() => changed.is_ok(),
                };
                if !changed {
                    break;
                }
            }
            let config = changes.borrow_and_update().clone();
            let clients = match self.build_clients(&mut engine, &config).await {
                Ok(Some(clients)) => clients,
                Ok(None) => continue,
                Err(error) => {
                    tracing::error!(error = %format!("{error:#}"), "cannot apply the new [aws] settings; keeping the previous ones");
                    continue;
                }
            };
            let keys: Vec<String> = clients.iter().map(|c| scope_key(&c.account, &c.region)).collect();
            let gone: Vec<String> = running.keys().filter(|k| !keys.contains(k)).cloned().collect();
            for key in gone {
                // Its fleets left the watch (the store dropped them with the Region).
                let stopped = running.remove(&key).expect("listed above");
                let _ = stopped.stop.send(true);
                if let Ok(worker) = stopped.task.await {
                    worker.client.budgets.forget(&key);
                }
            }
            for client in clients {
                let key = scope_key(&client.account, &client.region);
                match running.get(&key) {
                    Some(worker) => {
                        worker.client.send_replace(client);
                    }
                    None => {
                        running.insert(key, self.start_worker(RegionWorker::new(client)));
                    }
                }
            }
        }
        for worker in running.values() {
            let _ = worker.stop.send(true);
        }
        for (key, worker) in running {
            match worker.task.await {
                Ok(worker) => {
                    engine.workers.insert(key, worker);
                }
                Err(error) => tracing::error!(%error, "a Region worker panicked"),
            }
        }
        let _ = renderer.await;
        let _ = writer.await;
        let _ = events.await;
        self.save_state();
    }

    /// The `[events]` reader, built on first use and again when `[events]` changed.
    async fn events_reader(&self, config: &Config) -> Result<crate::sqs::EventReader, String> {
        let Some(events) = config.events.clone() else {
            return Err("no [events] section in the config".to_string());
        };
        let mut built = self.events_reader.lock().await;
        if built.as_ref().is_none_or(|r| r.built_from != events) {
            let reader = crate::sqs::EventReader::new(
                config,
                &self.api,
                &self.health,
                self.options.connection.clone(),
            )
            .await
            .map_err(|e| format!("{e:#}"))?;
            *built = Some(reader);
        }
        Ok(built.clone().expect("just built"))
    }

    /// Counts a batch of messages read from the events queue in one step; returns the counts
    /// and the store version that holds them.
    fn count_events(
        &self,
        config: &Config,
        reader: &crate::sqs::EventReader,
        received: &crate::sqs::Received,
    ) -> (crate::store::EventsApplied, u64) {
        let events = config
            .events
            .as_ref()
            .expect("the reader exists only with [events]");
        let applied = self.store.apply_events(
            &received.batch,
            events.dedup_window.as_millis() as i64,
            reader.retention.as_millis() as i64,
        );
        if applied.forgotten > 0 {
            self.events_metrics.forgotten.inc_by(applied.forgotten as u64);
            tracing::warn!(
                forgotten = applied.forgotten,
                "more event ids than can be remembered ({}): ids of deleted messages younger than events.dedup_window were forgotten; a rare duplicate of one would count again",
                crate::events::SEEN_CAPACITY
            );
        }
        self.show_remembered();
        (applied, self.store.version())
    }

    /// Deletes a counted batch and remembers which messages are gone.
    async fn delete_events(
        &self,
        reader: &crate::sqs::EventReader,
        handles: &[(String, Option<String>)],
    ) -> usize {
        let deleted = reader.delete(handles).await;
        self.store.events_deleted(deleted.ids.iter().map(String::as_str));
        let failures = &self.events_metrics.delete_failures;
        failures
            .with_label_values(&["request"])
            .inc_by(deleted.failed_request as u64);
        failures
            .with_label_values(&["entry"])
            .inc_by(deleted.failed_entries as u64);
        self.show_remembered();
        deleted.deleted
    }

    fn show_remembered(&self) {
        let (all, undeleted) = self.store.events_remembered();
        let remembered = &self.events_metrics.remembered;
        remembered
            .with_label_values(&["deleted"])
            .set((all - undeleted) as i64);
        remembered.with_label_values(&["undeleted"]).set(undeleted as i64);
    }

    /// Reads the `[events]` queue once (one long poll of up to `wait`), in order: counts the
    /// messages, publishes the counts, writes the state file, deletes them. Tests call it to
    /// read at a known moment; the daemon runs [`Exporter::run_events`], which overlaps the next
    /// poll with the save and the delete.
    pub async fn read_events_once(&self, wait: Duration) -> Result<crate::sqs::ReadReport, String> {
        let config = self.config();
        let reader = self.events_reader(&config).await?;
        let received = reader.receive(wait).await?;
        if received.handles.is_empty() {
            return Ok(crate::sqs::ReadReport::default());
        }
        let (applied, _) = self.count_events(&config, &reader, &received);
        self.store.render();
        self.save_state();
        let deleted = self.delete_events(&reader, &received.handles).await;
        Ok(crate::sqs::ReadReport {
            messages: received.handles.len(),
            counted: applied.counted,
            duplicates: applied.duplicates,
            rejected: applied.rejected,
            deleted,
        })
    }

    /// Reads the `[events]` queue until `shutdown`, whenever `[events]` is configured: each
    /// batch is counted at once; its delete waits for a state file save that holds its ids
    /// (saves coalesce across batches) while the next long poll goes on. A failed read is
    /// logged and retried after a backoff (1 s doubling to a minute); the sweeps go on. While
    /// the ids of undeleted messages fill the remembered ids, reading pauses (with a warning)
    /// rather than forget one and count its message twice.
    pub async fn run_events(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut changes = self.config_changes.subscribe();
        let mut backoff = EVENTS_BACKOFF;
        let in_flight = Arc::new(tokio::sync::Semaphore::new(EVENTS_IN_FLIGHT));
        let mut deletes = tokio::task::JoinSet::new();
        let mut full_warned = false;
        loop {
            while deletes.try_join_next().is_some() {}
            let config = self.config();
            if config.events.is_none() {
                tokio::select! {
                    _ = shutdown.wait_for(|s| *s) => break,
                    changed = changes.changed() => if changed.is_err() { break },
                }
                continue;
            }
            let (_, undeleted) = self.store.events_remembered();
            if undeleted >= crate::events::SEEN_CAPACITY {
                if !full_warned {
                    tracing::warn!(undeleted, "the ids of event messages not yet deleted fill the remembered ids ({}): reading pauses until deletes catch up (a message is never counted twice)", crate::events::SEEN_CAPACITY);
                    full_warned = true;
                }
                tokio::select! {
                    _ = shutdown.wait_for(|s| *s) => break,
                    _ = tokio::time::sleep(EVENTS_BACKOFF) => {}
                }
                continue;
            }
            full_warned = false;
            let permit = tokio::select! {
                _ = shutdown.wait_for(|s| *s) => break,
                permit = in_flight.clone().acquire_owned() => permit.expect("never closed"),
            };
            let result = async {
                let reader = self.events_reader(&config).await?;
                let received = tokio::select! {
                    _ = shutdown.wait_for(|s| *s) => return Ok(None),
                    received = reader.receive(config.events.as_ref().expect("checked").wait_time) => received?,
                };
                Ok::<_, String>(Some((reader, received)))
            }
            .await;
            match result {
                Ok(None) => break,
                Ok(Some((reader, received))) => {
                    backoff = EVENTS_BACKOFF;
                    if received.handles.is_empty() {
                        continue;
                    }
                    let (counts, version) = self.count_events(&config, &reader, &received);
                    tracing::debug!(messages = received.handles.len(), ?counts, "events read");
                    self.save_requests.notify_one();
                    let exporter = self.clone();
                    deletes.spawn(async move {
                        let _permit = permit;
                        exporter.saved_at_least(version).await;
                        exporter.delete_events(&reader, &received.handles).await;
                    });
                }
                Err(error) => {
                    tracing::warn!(%error, retry_in = ?backoff, "cannot read the events queue; sweeps go on");
                    tokio::select! {
                        _ = shutdown.wait_for(|s| *s) => break,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(EVENTS_BACKOFF_MAX);
                }
            }
        }
        // Batches still waiting for their save are not deleted: their ids are in the final save
        // (at shutdown), and the messages come back after their visibility timeout to count as
        // duplicates.
        deletes.abort_all();
        while deletes.join_next().await.is_some() {}
    }

    /// Waits until a save attempt covered store version `version` (at once without a state file).
    async fn saved_at_least(&self, version: u64) {
        if self.config().state.path.is_none() {
            return;
        }
        let mut saves = self.saves.subscribe();
        let _ = saves.wait_for(|attempted| *attempted >= version).await;
    }

    /// Renders the fleet metrics shortly after every change and when a fleet turns stale, so
    /// that scrapes only copy bytes.
    async fn render_on_change(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            let valid_until = self.store.render();
            let wait = valid_until.map_or(Duration::from_secs(3600), |t| {
                Duration::from_millis((t - self.store.now_ms()).max(0) as u64 + 1)
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

    /// Writes the state file off the runtime that runs the passes (on tokio's blocking pool):
    /// every [`STATE_WRITE_INTERVAL`] when something changed, and soon after a request (the
    /// events reader waits for its ids to be saved); requests during a write share the next one.
    async fn write_state(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            let requested = tokio::select! {
                _ = shutdown.wait_for(|s| *s) => return,
                _ = self.save_requests.notified() => true,
                _ = tokio::time::sleep(STATE_WRITE_INTERVAL) => false,
            };
            if requested {
                tokio::time::sleep(STATE_WRITE_COALESCE).await;
            }
            let version = self.store.version();
            let exporter = self.clone();
            let _ = tokio::task::spawn_blocking(move || exporter.save_state()).await;
            self.saves.send_if_modified(|attempted| {
                let newer = version > *attempted;
                *attempted = (*attempted).max(version);
                newer
            });
        }
    }

    /// Writes the state file if one is configured and something changed. A failure is logged
    /// (once while it lasts) and counted; the exporter keeps running.
    pub fn save_state(&self) {
        let Some(path) = self.config().state.path.clone() else {
            return;
        };
        // Held during the write: two writes never interleave on the temporary file.
        let mut last_error = self.state_error.lock().unwrap_or_else(|p| p.into_inner());
        let Some((version, state)) = self.store.state_to_save() else {
            return;
        };
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
fn open_store(config: &Config, clock: crate::clock::SharedClock) -> Store {
    let Some(path) = &config.state.path else {
        return Store::new(clock);
    };
    match statefile::load(path) {
        Ok(None) => {
            tracing::info!(path = %path.display(), "no state file yet; each fleet counts from its first sighting");
            Store::new(clock)
        }
        Ok(Some(saved)) => {
            tracing::info!(path = %path.display(), fleets = saved.fleets.len(), counting_since_ms = saved.counting_since_ms, "state restored: what happened to its fleets while the exporter was down is counted");
            Store::restore(clock, saved)
        }
        Err(reason) => {
            match statefile::set_aside(path, clock.now_ms()) {
                Ok(aside) => {
                    tracing::error!(path = %path.display(), %reason, set_aside_as = %aside.display(), "the state file cannot be used; it was set aside and counting starts fresh")
                }
                Err(error) => {
                    tracing::error!(path = %path.display(), %reason, %error, "the state file cannot be used, nor set aside; counting starts fresh and it will be overwritten")
                }
            }
            Store::new(clock)
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
    clock: crate::clock::SharedClock,
}

impl ReloadMetrics {
    fn new(registry: &Registry, clock: crate::clock::SharedClock) -> prometheus::Result<ReloadMetrics> {
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
            clock,
        };
        metrics.record(true);
        Ok(metrics)
    }

    fn record(&self, ok: bool) {
        self.successful.set(i64::from(ok));
        if ok {
            self.success_timestamp.set(self.clock.now_ms() as f64 / 1000.0);
        }
    }
}

fn load_web(config: &Config) -> Result<WebConfig, crate::tomlfile::FileError> {
    match &config.server.web_config_file {
        Some(path) => WebConfig::load(path),
        None => Ok(WebConfig::open()),
    }
}
