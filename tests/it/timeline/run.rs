//! Runs a timeline: the simulator on a manual clock, the exporter in-process on a paused tokio
//! clock (its SDK clients answered in-process by the simulator), each step applied, and after
//! every step the invariants checked against the simulator's ground truth.

use super::plan::{Fault, Step, Timeline, CREATED, FLEETS};
use crate::support::{self, expected_session_metrics, only, parse_metrics, series, SESSION_METRICS};
use gamelift_exporter::config::{Config, EventsConfig, FleetFilter, Glob};
use gamelift_exporter::exporter::{Exporter, Options};
use gamelift_exporter::simulator::{Clock, Faults, RequestRecord, Simulator, IN_PROCESS_URL};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

/// The world advances in steps of this size, the exporter's timers between them.
const CHUNK: Duration = Duration::from_secs(10);
const QUEUE: &str = "gamelift-events";

/// The exporter's wall time: the simulator's clock, exactly.
#[derive(Clone)]
struct WorldClock(Simulator);

impl std::fmt::Debug for WorldClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WorldClock")
    }
}

impl gamelift_exporter::clock::Clock for WorldClock {
    fn now_ms(&self) -> i64 {
        self.0.now_ms()
    }
}

fn fleet_toml(index: usize) -> String {
    let super::plan::FleetPlan {
        id,
        name,
        kind,
        region,
        remote: locations,
        active,
    } = FLEETS[index];
    let locations: Vec<String> = locations.iter().map(|l| format!("\"{l}\"")).collect();
    // Sessions come and go; crashes happen now and then on one fleet; spot reclaims only when
    // a step says so (so that every one of them is a step a person can read).
    let events = if index == 1 {
        "\n[fleet.churn.events]\nSERVER_PROCESS_CRASHED = 0.004\n"
    } else {
        ""
    };
    format!(
        "\n[[fleet]]\nid = \"{id}\"\nname = \"{name}\"\ntype = \"{kind}\"\nhome_region = \"{region}\"\nlocations = [{}]\nsessions_per_instance = 3\n[fleet.sessions]\nactive = {active}\nterminated = 4\ninterrupted = 2\n[fleet.churn]\nnew_sessions_per_tick = 0.2\nactivation_probability = 0.5\nend_probability = 0.01\n{events}",
        locations.join(", ")
    )
}

fn scenario(timeline: &Timeline) -> String {
    let mut toml = format!(
        "seed = {}\nstart_time = 1800000000\ntick = \"10s\"\nevents_order = \"{}\"\nevents_queue = \"{QUEUE}\"\n[faults]\nrate_limits = {{}}\n",
        timeline.seed, timeline.events_order
    );
    for index in 0..CREATED {
        toml.push_str(&fleet_toml(index));
    }
    toml
}

/// What an exporter process contributed to a watch before it stopped.
#[derive(Debug, Clone, Default)]
struct Counted {
    interruptions: BTreeMap<String, f64>,
    events: BTreeMap<String, f64>,
    ended: BTreeMap<String, f64>,
}

/// A fleet being watched: since when, what earlier processes counted in this watch (with the
/// state file), and its ACTIVE sessions at the last settle.
#[derive(Debug, Clone)]
struct Watch {
    /// When the fleet became watchable (world time): the counting start cannot be earlier.
    eligible_ms: i64,
    start_ms: Option<i64>,
    before: Counted,
    active_at_settle: Option<BTreeSet<String>>,
}

/// The exporter, running.
struct Running {
    exporter: Arc<Exporter>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    /// The previous scrape, for monotonicity and first-appearance checks.
    last: BTreeMap<String, f64>,
}

pub struct Driver {
    timeline: Timeline,
    sim: Simulator,
    dir: std::path::PathBuf,
    config: Config,
    running: Option<Running>,
    /// Per fleet: its watch, if it is watched (or about to be, at the next discovery).
    watches: [Option<Watch>; 5],
    exists: [bool; 5],
    excluded: [bool; 5],
    region_in: bool,
    /// Placement events sent (distinct ids), and counted by earlier processes.
    placements_sent: BTreeSet<String>,
    placements_before: f64,
    /// Request log positions where a budget's configuration changed (reloads, restarts).
    epochs: Vec<(usize, f64, f64)>,
    step: usize,
}

type Failure = String;

impl Driver {
    pub async fn new(timeline: Timeline) -> Driver {
        let scenario = support::scenario(&scenario(&timeline));
        let sim = Simulator::new(&scenario, Clock::Manual);
        let _ = sim.in_process_client();
        // The state file on a memory file system where there is one: each save syncs it, and a
        // simulated hour holds hundreds of saves.
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            // Unique per driver: hand-written cases run side by side with the same seeds.
            static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let dir = shm.join(format!(
                "gamelift-exporter-timeline-{}-{}-{n}",
                std::process::id(),
                timeline.seed
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            dir
        } else {
            support::temp_dir(&format!("timeline-{}", timeline.seed))
        };
        let mut config = Config::default();
        config.aws.regions = vec!["us-west-2".into(), "eu-west-1".into()];
        config.aws.endpoint_url = Some(IN_PROCESS_URL.to_string());
        config.aws.max_attempts = 2;
        config.sweep.history_interval = Duration::from_secs(600);
        config.sweep.discovery_interval = Duration::from_secs(300);
        config.state.path = Some(dir.join("state.json"));
        if timeline.with_sqs {
            config.events = Some(EventsConfig {
                sqs_queue_url: sim.queue_url(QUEUE).expect("the scenario names the queue"),
                region: Some("us-west-2".into()),
                account: None,
                endpoint_url: None,
                wait_time: Duration::from_secs(20),
                dedup_window: Duration::from_secs(6 * 3600),
            });
        }
        Driver {
            timeline,
            sim,
            dir,
            config,
            running: None,
            watches: Default::default(),
            exists: [true, true, true, true, false],
            excluded: [false; 5],
            region_in: true,
            placements_sent: BTreeSet::new(),
            placements_before: 0.0,
            epochs: Vec::new(),
            step: 0,
        }
    }

    fn watchable(&self, fleet: usize) -> bool {
        self.exists[fleet] && !self.excluded[fleet] && (self.region_in || FLEETS[fleet].region != "eu-west-1")
    }

    /// Fleets that became watchable start a watch at their next discovery; the others end theirs.
    fn update_watches(&mut self) {
        let now = self.sim.now_ms();
        for fleet in 0..FLEETS.len() {
            match (self.watchable(fleet), self.watches[fleet].is_some()) {
                (true, false) => {
                    self.watches[fleet] = Some(Watch {
                        eligible_ms: now,
                        start_ms: None,
                        before: Counted::default(),
                        active_at_settle: None,
                    })
                }
                (false, true) => self.watches[fleet] = None,
                _ => {}
            }
        }
    }

    async fn start(&mut self) {
        let options = Options {
            connection: gamelift_exporter::aws::Connection {
                credentials: Some(gamelift_exporter::aws::simulator_credentials()),
                http_client: Some(self.sim.in_process_client()),
                clock: Arc::new(WorldClock(self.sim.clone())),
            },
            overrides: Default::default(),
        };
        let exporter = Exporter::new(self.config.clone(), options)
            .await
            .expect("the exporter starts");
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let task = tokio::spawn(exporter.clone().run_schedule(stopped));
        self.epoch();
        self.running = Some(Running {
            exporter,
            stop,
            task,
            last: BTreeMap::new(),
        });
        // Prometheus finds the target up at once: its own counters are served at 0 before any
        // call is made.
        self.scrape().expect("a fresh exporter's first scrape");
        self.update_watches();
    }

    /// Stops the exporter; with `keep_state` the watches go on (the state file carries them),
    /// else they end and the state file goes.
    async fn stop(&mut self, keep_state: bool) -> Result<(), Failure> {
        let running = self.running.as_mut().expect("running");
        let _ = running.stop.send(true);
        let task = std::mem::replace(&mut running.task, tokio::spawn(async {}));
        task.await.map_err(|e| format!("the schedule panicked: {e}"))?;
        // What it counted to the very end (a pass may have published after the last scrape).
        let last = self.scrape_settled()?;
        self.running = None;
        for fleet in 0..FLEETS.len() {
            let Some(watch) = self.watches[fleet].as_mut() else {
                continue;
            };
            if keep_state && watch.start_ms.is_some() {
                let counted = counted(&last, fleet);
                for (into, from) in [
                    (&mut watch.before.interruptions, counted.interruptions),
                    (&mut watch.before.events, counted.events),
                    (&mut watch.before.ended, counted.ended),
                ] {
                    for (key, value) in from {
                        *into.entry(key).or_default() += value;
                    }
                }
            } else {
                self.watches[fleet] = None;
            }
        }
        self.placements_before += placements(&last);
        if !keep_state {
            let _ = std::fs::remove_file(self.dir.join("state.json"));
        }
        Ok(())
    }

    fn epoch(&mut self) {
        let share = self.config.aws.quota_share;
        let cap = self.config.aws.max_requests_per_second;
        self.epochs.push((self.sim.requests().len(), share, cap));
    }

    async fn reload(&mut self) -> Result<(), Failure> {
        let mut excluded: Vec<Glob> = Vec::new();
        for (i, out) in self.excluded.iter().enumerate() {
            if *out {
                excluded.push(Glob::parse(FLEETS[i].id).unwrap());
            }
        }
        self.config.fleets = FleetFilter {
            include: Vec::new(),
            exclude: excluded,
        };
        self.config.aws.regions = if self.region_in {
            vec!["us-west-2".into(), "eu-west-1".into()]
        } else {
            vec!["us-west-2".into()]
        };
        if let Some(running) = &self.running {
            running
                .exporter
                .reload(self.config.clone())
                .await
                .map_err(|e| format!("reload refused: {e}"))?;
        }
        self.epoch();
        self.update_watches();
        Ok(())
    }

    /// One scrape of `/metrics` as Prometheus makes it, checked: counters never go down within a
    /// process and every series first appears at 0.
    fn scrape(&mut self) -> Result<BTreeMap<String, f64>, Failure> {
        let running = self.running.as_mut().expect("running");
        let body = running.exporter.render_metrics(false).expect("renders");
        let metrics = parse_metrics(&String::from_utf8(body).expect("UTF-8"), "gamelift_");
        let first = running.last.is_empty();
        for (key, value) in &metrics {
            if !is_counter(key) {
                continue;
            }
            match running.last.get(key) {
                Some(before) if value < before => {
                    return Err(format!("{key} went down from {before} to {value}"));
                }
                // The exporter's own request counters exist at 0 from the moment their
                // account-Region (or queue) is configured: at 0 in a first scrape, though a
                // reload's new ones may count before the next scrape.
                None if *value != 0.0 && (first || !is_own_request_counter(key)) => {
                    return Err(format!("{key} first appeared at {value}, not 0"));
                }
                _ => {}
            }
        }
        running.last = metrics.clone();
        Ok(metrics)
    }

    /// Scrapes until nothing counted waits for its series' first 0 to be served.
    fn scrape_settled(&mut self) -> Result<BTreeMap<String, f64>, Failure> {
        let mut metrics = self.scrape()?;
        for _ in 0..3 {
            let waiting = self
                .running
                .as_ref()
                .expect("running")
                .exporter
                .store()
                .has_waiting_counts();
            if !waiting {
                break;
            }
            metrics = self.scrape()?;
        }
        Ok(metrics)
    }

    /// Lets `by` pass: the world in steps of [`CHUNK`], the exporter's timers between them,
    /// a scrape after each.
    async fn run_for(&mut self, by: Duration) -> Result<(), Failure> {
        let mut left = by;
        while !left.is_zero() {
            let chunk = left.min(CHUNK);
            self.sim.advance(chunk);
            tokio::time::sleep(chunk).await;
            left -= chunk;
            // Prometheus scrapes every minute or so.
            if self.running.is_some() && (by - left).as_secs().is_multiple_of(60) {
                self.scrape()?;
            }
            if self.running.is_some() {
                self.note_watch_starts()?;
            }
        }
        Ok(())
    }

    /// A watch waiting for its fleet's discovery takes the exporter's counting start, which must
    /// be the moment of that discovery (the first `DescribeFleetAttributes` naming the fleet
    /// since it became watchable, or later within one step of the world).
    fn note_watch_starts(&mut self) -> Result<(), Failure> {
        let running = self.running.as_ref().expect("running");
        for (fleet, plan) in FLEETS.iter().enumerate() {
            let Some(watch) = self.watches[fleet].as_mut() else {
                continue;
            };
            let id = plan.id;
            let Some(since) = running.exporter.store().with_fleet(id, |r| r.watch_since_ms) else {
                continue;
            };
            match watch.start_ms {
                None if since < watch.eligible_ms => {
                    return Err(format!(
                        "{}: counts from {since}, before it became watchable at {}",
                        plan.name, watch.eligible_ms
                    ))
                }
                None => watch.start_ms = Some(since),
                Some(start) if start != since => {
                    return Err(format!(
                        "{}: counting start moved from {start} to {since} within one watch",
                        plan.name
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }

    async fn apply(&mut self, step: &Step) -> Result<(), Failure> {
        match step {
            Step::Run(by) => self.run_for(*by).await?,
            Step::Interrupt {
                fleet,
                location,
                instances,
            } => {
                if self.exists[*fleet] {
                    let locations = self
                        .sim
                        .fleets()
                        .into_iter()
                        .find(|(id, _)| id == FLEETS[*fleet].id)
                        .map(|(_, l)| l)
                        .unwrap_or_default();
                    if let Some(location) = locations.get(*location) {
                        let _ = self
                            .sim
                            .interrupt_instances(FLEETS[*fleet].id, location, *instances);
                    }
                }
            }
            Step::Notice { fleet } => {
                let host = self
                    .sim
                    .sessions()
                    .into_iter()
                    .find(|s| s.fleet_id == FLEETS[*fleet].id && s.status == "ACTIVE")
                    .map(|s| s.compute_name);
                if let Some(host) = host {
                    let _ = self
                        .sim
                        .interrupt_instance(FLEETS[*fleet].id, &host, Duration::from_secs(120));
                }
            }
            Step::Crash { fleet, count } => {
                if self.exists[*fleet] {
                    self.sim
                        .emit_event(FLEETS[*fleet].id, "SERVER_PROCESS_CRASHED", None, *count)
                        .expect("emit");
                }
            }
            Step::Faults(fault) => {
                let mut faults = Faults::none();
                match fault {
                    Fault::Throttling => faults.throttle_ratio = 0.3,
                    Fault::ServerErrors => faults.server_error_ratio = 0.2,
                    Fault::EventsDenied => {
                        faults
                            .failing_operations
                            .insert("DescribeFleetEvents".into(), "AccessDeniedException".into());
                    }
                    Fault::LookupsDenied => {
                        faults.failing_operations.insert(
                            "DescribeGameSessionDetails".into(),
                            "AccessDeniedException".into(),
                        );
                    }
                    Fault::FailingDeletes => faults.sqs_delete_failure_ratio = 0.5,
                    Fault::AllDeletesFail => faults.sqs_delete_failure_ratio = 1.0,
                }
                self.sim.set_faults(faults);
            }
            Step::ClearFaults => self.sim.set_faults(Faults::none()),
            Step::Restart { keep_state, down } => {
                if self.running.is_some() {
                    self.stop(*keep_state).await?;
                }
                self.sim.advance(*down);
                tokio::time::sleep(*down).await;
                // Watches end with the fleets that left during the downtime (deleted).
                self.update_watches();
                self.start().await;
            }
            Step::Stop { keep_state } => {
                if self.running.is_some() {
                    self.stop(*keep_state).await?;
                }
            }
            Step::Start => {
                if self.running.is_none() {
                    self.update_watches();
                    self.start().await;
                }
            }
            Step::Exclude(fleet) => {
                self.excluded[*fleet] = true;
                self.reload().await?;
            }
            Step::Include(fleet) => {
                self.excluded[*fleet] = false;
                self.reload().await?;
            }
            Step::RegionOut => {
                self.region_in = false;
                self.reload().await?;
            }
            Step::RegionIn => {
                self.region_in = true;
                self.reload().await?;
            }
            Step::Stretch(on) => {
                self.config.aws.quota_share = if *on { 0.005 } else { 0.25 };
                self.reload().await?;
            }
            Step::CreateFleet => {
                let text = format!("seed = 1\n{}", fleet_toml(CREATED));
                let spec = support::scenario(&text).fleets.remove(0);
                self.sim.create_fleet(spec);
                self.exists[CREATED] = true;
                self.update_watches();
            }
            Step::DeleteFleet(fleet) => {
                self.sim.delete_fleet(FLEETS[*fleet].id);
                self.exists[*fleet] = false;
                self.update_watches();
            }
            Step::Placements { fresh, again } => {
                let now = self.sim.now_ms();
                for i in 0..*fresh {
                    let id = format!("{}-{}-{i}", self.timeline.seed, self.step);
                    let body = placement(&id, now, i % 5 == 0);
                    self.sim.send_message(QUEUE, &body);
                    if i < *again {
                        self.sim.send_message(QUEUE, &body);
                    }
                    self.placements_sent.insert(id);
                }
            }
            Step::Settle => self.settle().await?,
        }
        Ok(())
    }

    /// Faults off; the world holds still while a full pass and three live intervals run; then
    /// every number is exact.
    async fn settle(&mut self) -> Result<(), Failure> {
        self.sim.set_faults(Faults::none());
        if self.running.is_none() {
            return Ok(());
        }
        let metrics = self.scrape()?;
        let effective = metrics
            .iter()
            .filter(|(k, _)| k.starts_with("gamelift_exporter_effective_interval_seconds"))
            .map(|(_, v)| *v)
            .fold(60.0_f64, f64::max);
        let hold = self.config.sweep.history_interval
            + Duration::from_secs_f64(3.0 * effective)
            + Duration::from_secs(60);
        // The world holds still (its clock, and so the exporter's, does not move); the
        // exporter's timers run.
        let mut left = hold;
        while !left.is_zero() {
            let chunk = left.min(CHUNK);
            tokio::time::sleep(chunk).await;
            left -= chunk;
            self.scrape()?;
            self.note_watch_starts()?;
        }
        let metrics = self.scrape_settled()?;
        self.check_exact(&metrics)
    }

    fn check_exact(&mut self, metrics: &BTreeMap<String, f64>) -> Result<(), Failure> {
        let running = self.running.as_ref().expect("running");
        if !running.exporter.is_ready() {
            return Err("not ready after a settle".into());
        }
        let sessions = self.sim.sessions();
        let now = self.sim.now_ms();
        let events = self.sim.all_events();
        let fleets = self.sim.fleets();
        for (fleet, plan) in FLEETS.iter().enumerate() {
            let (id, name) = (plan.id, plan.name);
            let Some(watch) = self.watches[fleet].clone() else {
                // Not watched: no series at all.
                if let Some(key) = metrics.keys().find(|k| k.contains(&format!("fleet_id=\"{id}\""))) {
                    return Err(format!("{name} is not watched but {key} is published"));
                }
                continue;
            };
            let start = watch
                .start_ms
                .ok_or_else(|| format!("{name} was never discovered"))?;
            // Gauges: exact, two live passes after the world stopped.
            let locations: Vec<(String, Vec<String>)> =
                fleets.iter().filter(|(f, _)| f == id).cloned().collect();
            let mine: Vec<_> = sessions.iter().filter(|s| s.fleet_id == id).cloned().collect();
            let expected = expected_session_metrics(&mine, &locations);
            let published: BTreeMap<String, f64> = only(metrics, &SESSION_METRICS)
                .into_iter()
                .filter(|(k, _)| k.contains(&format!("fleet_id=\"{id}\"")))
                .collect();
            if published != expected {
                return Err(format!("{name}: session gauges {}", diff(&published, &expected)));
            }
            for gauge in ["gamelift_exporter_fleet_up", "gamelift_exporter_fleet_events_up"] {
                let key = series(gauge, &[("fleet_id", id)]);
                if metrics.get(&key) != Some(&1.0) {
                    return Err(format!("{name}: {key} is {:?}", metrics.get(&key)));
                }
            }
            // Counters: everything that happened in the watch (its downtime included), nothing
            // before it.
            let counted = counted(metrics, fleet);
            let mut truth_interruptions: BTreeMap<String, f64> = BTreeMap::new();
            for location in &locations[0].1 {
                truth_interruptions.insert(location.clone(), 0.0);
            }
            for s in mine.iter().filter(|s| s.status_reason == Some("INTERRUPTED")) {
                if s.termination_time_ms.is_some_and(|t| t > start && t <= now) {
                    *truth_interruptions.entry(s.location.clone()).or_default() += 1.0;
                }
            }
            let total_interruptions = add(&counted.interruptions, &watch.before.interruptions);
            if total_interruptions != truth_interruptions {
                return Err(format!(
                    "{name}: interruptions since {start} {}",
                    diff(&total_interruptions, &truth_interruptions)
                ));
            }
            let mut truth_events: BTreeMap<String, f64> = BTreeMap::new();
            for e in events.iter().filter(|e| e.fleet_id == id) {
                if e.event_time_ms > start && e.event_time_ms <= now {
                    *truth_events.entry(e.event_code.to_string()).or_default() +=
                        e.count.unwrap_or(1).max(0) as f64;
                }
            }
            let total_events: BTreeMap<String, f64> = add(&counted.events, &watch.before.events)
                .into_iter()
                .filter(|(_, v)| *v != 0.0)
                .collect();
            if total_events != truth_events {
                return Err(format!(
                    "{name}: fleet events since {start} {}",
                    diff(&total_events, &truth_events)
                ));
            }
            // Sessions that left ACTIVE: at least those ACTIVE at the previous settle of this
            // watch and no longer; at most those that left it in the watch.
            let ended: f64 = add(&counted.ended, &watch.before.ended).values().sum();
            let active_now: BTreeSet<String> = mine
                .iter()
                .filter(|s| s.status == "ACTIVE")
                .map(|s| s.game_session_id.clone())
                .collect();
            let most = mine
                .iter()
                .filter(|s| s.status != "ACTIVE" && s.status != "ACTIVATING")
                .filter(|s| s.termination_time_ms.is_none_or(|t| t > start))
                .count() as f64;
            let least = watch
                .active_at_settle
                .as_ref()
                .map_or(0, |before| before.difference(&active_now).count()) as f64;
            if !(least <= ended && ended <= most) {
                let statuses: BTreeMap<&str, usize> = mine.iter().fold(BTreeMap::new(), |mut m, s| {
                    *m.entry(s.status).or_default() += 1;
                    m
                });
                return Err(format!(
                    "{name}: {ended} sessions counted as having left ACTIVE ({:?}), expected between {least} and {most}; sessions by status now {statuses:?}",
                    add(&counted.ended, &watch.before.ended)
                ));
            }
            if let Some(watch) = self.watches[fleet].as_mut() {
                watch.active_at_settle = Some(active_now);
            }
        }
        if self.timeline.with_sqs {
            let counted = self.placements_before + placements(metrics);
            if counted != self.placements_sent.len() as f64 {
                return Err(format!(
                    "placements counted {counted}, sent {} distinct",
                    self.placements_sent.len()
                ));
            }
        }
        self.check_budgets()?;
        let _ = now;
        Ok(())
    }

    /// No budget asked for more than its rate in any one-second window of the request log
    /// (each stretch of one configuration on its own).
    fn check_budgets(&self) -> Result<(), Failure> {
        let log = self.sim.requests();
        for (i, (from, share, cap)) in self.epochs.iter().enumerate() {
            let to = self.epochs.get(i + 1).map_or(log.len(), |e| e.0);
            let requests: Vec<&RequestRecord> = log[*from..to]
                .iter()
                .filter(|r| {
                    gamelift_exporter::budget::AWS_RATES
                        .iter()
                        .any(|(op, _)| *op == r.operation)
                })
                .collect();
            let mut groups: BTreeMap<String, (f64, Vec<std::time::Instant>)> = BTreeMap::new();
            for r in &requests {
                let rate = (gamelift_exporter::budget::aws_rate(&r.operation) * share).min(*cap);
                groups
                    .entry(format!("{} {} {}", r.account, r.region, r.operation))
                    .or_insert((rate, Vec::new()))
                    .1
                    .push(r.at);
                groups
                    .entry(format!("{} {} all", r.account, r.region))
                    .or_insert((*cap, Vec::new()))
                    .1
                    .push(r.at);
            }
            for (budget, (rate, times)) in groups {
                let allowed = (rate / 1.05).floor() as usize + 1;
                for (j, start) in times.iter().enumerate() {
                    let within = times[j..]
                        .iter()
                        .take_while(|t| t.duration_since(*start) < Duration::from_secs(1))
                        .count();
                    if within > allowed {
                        return Err(format!(
                            "budget {budget} ({rate}/s): {within} requests in one second, at most {allowed}"
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Runs the whole timeline; the first broken invariant ends it, with the step it broke at.
    pub async fn run(mut self) -> Result<(), (usize, Failure)> {
        self.start().await;
        let steps = self.timeline.steps.clone();
        let verbose = std::env::var("TIMELINE_SEED").is_ok();
        let started = std::time::Instant::now();
        for (i, step) in steps.iter().enumerate() {
            self.step = i;
            if verbose {
                eprintln!(
                    "[{:>7.3}s real, {} requests] step {i}: {step}",
                    started.elapsed().as_secs_f64(),
                    self.sim.requests().len()
                );
            }
            // The first step happens before the exporter watches anything: history.
            self.apply(step).await.map_err(|e| (i, e))?;
            if self.running.is_some() {
                self.scrape().map_err(|e| (i, e))?;
            }
        }
        if self.running.is_some() {
            self.stop(true).await.map_err(|e| (steps.len(), e))?;
        }
        if verbose {
            let mut by_operation: BTreeMap<String, usize> = BTreeMap::new();
            for r in self.sim.requests() {
                *by_operation.entry(r.operation).or_default() += 1;
            }
            eprintln!(
                "[{:>7.3}s real] done; requests by operation: {by_operation:?}",
                started.elapsed().as_secs_f64()
            );
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        Ok(())
    }
}

/// The exporter's own per-call counters (the `prometheus` crate's, not the store's).
fn is_own_request_counter(key: &str) -> bool {
    key.starts_with("gamelift_exporter_api_request")
        || key.starts_with("gamelift_exporter_request_budget_wait")
}

/// Counter series: `_total`, and the buckets, sums and counts of histograms.
fn is_counter(key: &str) -> bool {
    let name = key.split('{').next().unwrap_or(key);
    name.ends_with("_total")
        || name.ends_with("_bucket")
        || name.ends_with("_count")
        || name.ends_with("_sum")
}

/// A fleet's counters in a scrape, by their label (location or event code).
fn counted(metrics: &BTreeMap<String, f64>, fleet: usize) -> Counted {
    let needle = format!("fleet_id=\"{}\"", FLEETS[fleet].id);
    let pick = |name: &str, label: &str| -> BTreeMap<String, f64> {
        metrics
            .iter()
            .filter(|(k, _)| k.starts_with(&format!("{name}{{")) && k.contains(&needle))
            .filter_map(|(k, v)| {
                let value = k.split(&format!("{label}=\"")).nth(1)?.split('"').next()?;
                Some((value.to_string(), *v))
            })
            .collect()
    };
    Counted {
        interruptions: pick("gamelift_game_session_interruptions_total", "location"),
        events: pick("gamelift_fleet_events_total", "event_code"),
        ended: pick("gamelift_game_sessions_ended_total", "location"),
    }
}

fn placements(metrics: &BTreeMap<String, f64>) -> f64 {
    metrics
        .iter()
        .filter(|(k, _)| k.starts_with("gamelift_placements_total{"))
        .map(|(_, v)| *v)
        .sum()
}

fn add(a: &BTreeMap<String, f64>, b: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    let mut out = a.clone();
    for (k, v) in b {
        *out.entry(k.clone()).or_default() += v;
    }
    out
}

fn diff(got: &BTreeMap<String, f64>, expected: &BTreeMap<String, f64>) -> String {
    let keys: BTreeSet<&String> = got.keys().chain(expected.keys()).collect();
    let mut out = Vec::new();
    for key in keys {
        let (g, e) = (got.get(key), expected.get(key));
        if g != e {
            out.push(format!("{key}: got {g:?}, expected {e:?}"));
        }
    }
    out.join("; ")
}

/// A placement event as EventBridge delivers it to the queue.
fn placement(id: &str, now_ms: i64, failed: bool) -> String {
    let time = aws_smithy_types::DateTime::from_millis(now_ms)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap();
    serde_json::json!({
        "version": "0", "id": id, "detail-type": "GameLift Queue Placement Event",
        "source": "aws.gamelift", "account": "123456789012", "time": time, "region": "us-west-2",
        "resources": ["arn:aws:gamelift:us-west-2:123456789012:gamesessionqueue/arena"],
        "detail": {"type": if failed { "PlacementFailed" } else { "PlacementFulfilled" },
            "placementId": id, "startTime": time, "endTime": time,
            "gameSessionRegion": "us-west-2", "placedPlayerSessions": []},
    })
    .to_string()
}
