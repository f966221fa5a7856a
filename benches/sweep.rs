//! The sweep benchmark: the real exporter (its own process) against the simulator (its own
//! process, `--speed 0`: the world holds still) on loopback, compared with a naive sweep (a third
//! process).
//!
//! `cargo bench --bench sweep` runs 10,000 and 100,000 sessions (`-- --with-1m` adds 1,000,000),
//! each with a terminated history of 10x the live sessions, and prints one table. Run by
//! `cargo test --all-targets` (without `--bench`), it is a smoke test on tiny worlds that asserts
//! only the deterministic figures: calls per live round, history independence, and the
//! interruption detected by the first live pass after it.
//!
//! Every figure comes from outside the exporter: calls from the simulator's request log, pass
//! durations and counters from `/metrics`, CPU and memory from `/proc`.

#[path = "../tests/it/support.rs"]
mod support;

use serde_json::Value;
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use support::{cpu_seconds, free_port, http, parse_metrics, temp_path, ExporterProcess, KeepAlive};

const PAGE: usize = 100;
const DGS: &str = "DescribeGameSessions";
const DFE: &str = "DescribeFleetEvents";
const DGSD: &str = "DescribeGameSessionDetails";
const INTERRUPTIONS: &str = "gamelift_game_session_interruptions_total";

/// Fleets of the benchmark world: (weight of live sessions, locations, SPOT?).
const FLEETS: [(f64, usize, bool); 6] = [
    (0.30, 3, true),
    (0.20, 2, false),
    (0.20, 1, true),
    (0.15, 2, false),
    (0.10, 1, true),
    (0.05, 1, false),
];
const REGIONS: [&str; 3] = ["us-west-2", "us-east-1", "eu-west-1"];

fn fleet_id(index: usize) -> String {
    format!("fleet-be0c0000-0000-4000-8000-{index:012}")
}

/// One generated world and the numbers the exporter's cost is judged against.
struct World {
    toml: String,
    total: usize,
    live: usize,
    fleets: Vec<String>,
    /// Σ over fleets of ⌈live / page⌉: the fewest calls any exact listing of live sessions needs.
    live_minimum: usize,
    /// Σ over fleets and listed statuses of max(1, ⌈sessions of that status / page⌉): what a
    /// live round's DescribeGameSessions must cost, exactly.
    expected_dgs: usize,
}

fn world(live_target: usize, history_factor: usize) -> World {
    let mut toml = String::from("seed = 7\nmax_page_size = 100\n[faults]\nrate_limits = {}\n");
    let (mut total, mut live, mut live_minimum, mut expected) = (0, 0, 0, 0);
    for (index, (weight, locations, spot)) in FLEETS.iter().enumerate() {
        let per_location = ((live_target as f64 * weight) / *locations as f64)
            .round()
            .max(1.0) as usize;
        let activating = per_location / 50;
        let terminating = per_location / 50;
        let active = per_location - activating - terminating;
        let history = per_location * history_factor;
        let interrupted = if *spot { history / 10 } else { 0 };
        let terminated = history - interrupted;
        let remote: Vec<String> = REGIONS[1..*locations]
            .iter()
            .map(|r| format!("\"{r}\""))
            .collect();
        toml.push_str(&format!(
            "\n[[fleet]]\nid = \"{}\"\nname = \"bench-{index}\"\ntype = \"{}\"\nhome_region = \"us-west-2\"\nlocations = [{}]\n[fleet.sessions]\nactive = {active}\nactivating = {activating}\nterminating = {terminating}\nterminated = {terminated}\ninterrupted = {interrupted}\n",
            fleet_id(index),
            if *spot { "SPOT" } else { "ON_DEMAND" },
            remote.join(", ")
        ));
        let fleet_live = per_location * locations;
        live += fleet_live;
        total += (per_location + history) * locations;
        live_minimum += fleet_live.div_ceil(PAGE);
        expected += [active, activating, terminating]
            .iter()
            .map(|n| (n * locations).div_ceil(PAGE).max(1))
            .sum::<usize>();
    }
    World {
        toml,
        total,
        live,
        fleets: (0..FLEETS.len()).map(fleet_id).collect(),
        live_minimum,
        expected_dgs: expected,
    }
}

fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The simulator (`simulate --speed 0`) in a process of its own, and its address.
struct Sim {
    /// Killed when dropped.
    _process: ExporterProcess,
    address: String,
    /// Wall-clock ms just before it was started: its world's clock starts at or after this
    /// (rounded down to the second).
    started_ms: i64,
}

impl Sim {
    fn start(world: &World) -> Sim {
        let scenario = temp_path("scenario.toml");
        std::fs::write(&scenario, &world.toml).unwrap();
        let address = format!("127.0.0.1:{}", free_port());
        let started_ms = wall_ms();
        let process = ExporterProcess::start(
            &[
                "simulate",
                "--scenario",
                scenario.to_str().unwrap(),
                "--listen",
                &address,
                "--speed",
                "0",
                "--log-level",
                "warn",
            ],
            &address,
        );
        // It listens once its world is built.
        let deadline = Instant::now() + Duration::from_secs(300);
        while std::net::TcpStream::connect(&address).is_err() {
            assert!(
                Instant::now() < deadline,
                "the simulator did not start:\n{}",
                process.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Sim {
            _process: process,
            address,
            started_ms,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Its request log, in order.
    fn requests(&self) -> Vec<Req> {
        let (status, _, body) = http("GET", &self.address, "/_simulator/requests");
        assert_eq!(status, 200);
        let log: Value = serde_json::from_str(&body).unwrap();
        log.as_array()
            .unwrap()
            .iter()
            .map(|r| {
                let params = r["Params"].as_str().unwrap_or_default();
                Req {
                    operation: r["Operation"].as_str().unwrap_or_default().to_string(),
                    fleet: params
                        .split_once("\"FleetId\":\"")
                        .and_then(|(_, rest)| rest.split_once('"'))
                        .map(|(id, _)| id.to_string())
                        .unwrap_or_default(),
                    filtered: params.contains("\"StatusFilter\""),
                    first_active_page: params.contains("\"StatusFilter\":\"ACTIVE\"")
                        && !params.contains("\"NextToken\""),
                }
            })
            .collect()
    }

    /// Reclaims `instances` instances of a SPOT fleet at once, after moving the frozen world's
    /// clock past the exporter's start (interruptions count from then on); returns the number of
    /// sessions ended.
    fn interrupt(&self, fleet: &str, location: &str, instances: usize) -> usize {
        // The world's clock moves in whole ticks (10 s by default): one more for that.
        let behind = (wall_ms() - self.started_ms) / 1000 + 2 + 10;
        let (status, _, body) = http(
            "POST",
            &self.address,
            &format!("/_simulator/advance?seconds={behind}"),
        );
        assert_eq!(status, 200, "{body}");
        let (status, _, body) = http(
            "POST",
            &self.address,
            &format!("/_simulator/interrupt?fleet={fleet}&location={location}&instances={instances}"),
        );
        assert_eq!(status, 200, "{body}");
        let ended: Value = serde_json::from_str(&body).unwrap();
        ended["Ended"].as_array().unwrap().len()
    }
}

/// One request of the simulator's log.
#[derive(Debug, Clone)]
struct Req {
    operation: String,
    fleet: String,
    /// A DescribeGameSessions with StatusFilter: a live pass's listing.
    filtered: bool,
    /// The first request of every live pass: the first page of the ACTIVE listing.
    first_active_page: bool,
}

impl Req {
    fn live(&self) -> bool {
        (self.operation == DGS && self.filtered) || self.operation == DFE || self.operation == DGSD
    }
}

/// Each fleet's complete live passes in `log`: from the first page of one pass's ACTIVE listing
/// to the request before the next pass's (lookups included), by operation.
fn live_passes(log: &[Req], fleets: &[String]) -> BTreeMap<String, Vec<BTreeMap<String, usize>>> {
    let mut out = BTreeMap::new();
    for fleet in fleets {
        let mut passes = Vec::new();
        let mut current: Option<BTreeMap<String, usize>> = None;
        for request in log.iter().filter(|r| &r.fleet == fleet && r.live()) {
            if request.first_active_page {
                if let Some(done) = current.take() {
                    passes.push(done);
                }
                current = Some(BTreeMap::new());
            }
            if let Some(pass) = current.as_mut() {
                *pass.entry(request.operation.clone()).or_insert(0) += 1;
            }
        }
        out.insert(fleet.clone(), passes);
    }
    out
}

/// Calls of one live round (one live pass of every fleet), by operation, from complete passes
/// in `log`; panics unless every complete pass of a fleet cost the same (the world is frozen).
fn live_round(log: &[Req], fleets: &[String], label: &str) -> (BTreeMap<String, usize>, usize) {
    let mut round = BTreeMap::new();
    let mut checked = usize::MAX;
    for (fleet, passes) in live_passes(log, fleets) {
        assert!(!passes.is_empty(), "{label}: no complete live pass of {fleet}");
        assert!(
            passes.iter().all(|p| *p == passes[0]),
            "{label}: the live passes of {fleet} differ in a frozen world: {passes:?}"
        );
        checked = checked.min(passes.len());
        for (operation, calls) in &passes[0] {
            *round.entry(operation.clone()).or_insert(0) += calls;
        }
    }
    for operation in [DGS, DFE, DGSD] {
        round.entry(operation.to_string()).or_insert(0);
    }
    (round, checked)
}

/// `/metrics` of the exporter at `address`, parsed (empty while it does not answer).
fn metrics(address: &str) -> BTreeMap<String, f64> {
    match std::net::TcpStream::connect(address) {
        Ok(_) => parse_metrics(&http("GET", address, "/metrics").2, ""),
        Err(_) => BTreeMap::new(),
    }
}

/// The sum of a metric's series for one fleet (and a `pass` label, when given).
fn fleet_sum(metrics: &BTreeMap<String, f64>, name: &str, fleet: &str, pass: Option<&str>) -> Option<f64> {
    let fleet_label = format!("fleet_id=\"{fleet}\"");
    let mut found = None;
    for (key, value) in metrics {
        let Some((metric, labels)) = key.split_once('{') else {
            continue;
        };
        if metric == name
            && labels.split(',').any(|l| l.trim_end_matches('}') == fleet_label)
            && pass.is_none_or(|p| labels.contains(&format!("pass=\"{p}\"")))
        {
            *found.get_or_insert(0.0) += value;
        }
    }
    found
}

/// The longest latest live pass of `fleets`, from the exporter's own metric.
fn slowest_live_pass(address: &str, fleets: &[String]) -> f64 {
    let m = metrics(address);
    fleets
        .iter()
        .filter_map(|fleet| {
            fleet_sum(
                &m,
                "gamelift_exporter_fleet_pass_duration_seconds",
                fleet,
                Some("live"),
            )
        })
        .fold(0.0, f64::max)
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// Open-loop load: scrapes sent on a fixed schedule (`rate` per second for `seconds`) by a few
/// keep-alive connections; each latency runs from the scheduled send time, so a stall of the
/// server (or of the load generator) delays every scrape due meanwhile and is counted.
struct OpenLoop {
    /// Sorted latencies from the scheduled send time.
    latencies: Vec<Duration>,
    /// Sorted latencies from the moment each scrape was actually sent.
    service: Vec<Duration>,
    /// How late the sends themselves went out (the load generator's own scheduling delay).
    lateness_p99: Duration,
    errors: usize,
}

fn open_loop(address: &str, rate: f64, seconds: f64) -> std::thread::JoinHandle<OpenLoop> {
    const CONNECTIONS: usize = 4;
    let address = address.to_string();
    std::thread::spawn(move || {
        let total = (rate * seconds).round() as usize;
        let period = Duration::from_secs_f64(1.0 / rate);
        let next = Arc::new(AtomicUsize::new(0));
        let start = Instant::now() + Duration::from_millis(50);
        let workers: Vec<_> = (0..CONNECTIONS)
            .map(|_| {
                let (address, next) = (address.clone(), next.clone());
                std::thread::spawn(move || {
                    let (mut latencies, mut service, mut lateness, mut errors) =
                        (Vec::new(), Vec::new(), Vec::new(), 0);
                    let mut connection = KeepAlive::connect(&address).ok();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= total {
                            break;
                        }
                        let due = start + period * i as u32;
                        if let Some(wait) = due.checked_duration_since(Instant::now()) {
                            std::thread::sleep(wait);
                        }
                        let sent = Instant::now();
                        lateness.push(sent - due);
                        let ok = match connection.as_mut().map(|c| c.get("/metrics")) {
                            Some(Ok((200, _))) => true,
                            _ => {
                                connection = KeepAlive::connect(&address).ok();
                                false
                            }
                        };
                        if ok {
                            latencies.push(due.elapsed());
                            service.push(sent.elapsed());
                        } else {
                            errors += 1;
                        }
                    }
                    (latencies, service, lateness, errors)
                })
            })
            .collect();
        let (mut latencies, mut service, mut lateness, mut errors) = (Vec::new(), Vec::new(), Vec::new(), 0);
        for worker in workers {
            let (l, v, s, e) = worker.join().unwrap();
            latencies.extend(l);
            service.extend(v);
            lateness.extend(s);
            errors += e;
        }
        latencies.sort();
        service.sort();
        lateness.sort();
        OpenLoop {
            lateness_p99: percentile(&lateness, 0.99),
            latencies,
            service,
            errors,
        }
    })
}

/// Closed-loop throughput: `connections` keep-alive connections scraping back to back for
/// `seconds`, with `wrk` when installed, else threads here. Returns (scrapes/s, p50, p99, tool).
fn closed_loop(address: &str, connections: usize, seconds: f64) -> (f64, Duration, Duration, &'static str) {
    if let Some(result) = wrk(address, connections, seconds) {
        return result;
    }
    let stop = Instant::now() + Duration::from_secs_f64(seconds);
    let threads: Vec<_> = (0..connections)
        .map(|_| {
            let address = address.to_string();
            std::thread::spawn(move || {
                let mut latencies = Vec::new();
                let mut connection = KeepAlive::connect(&address).unwrap();
                while Instant::now() < stop {
                    let started = Instant::now();
                    let (status, _) = connection.get("/metrics").unwrap();
                    assert_eq!(status, 200);
                    latencies.push(started.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    latencies.sort();
    (
        latencies.len() as f64 / seconds,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        "threads",
    )
}

fn wrk(address: &str, connections: usize, seconds: f64) -> Option<(f64, Duration, Duration, &'static str)> {
    let output = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{}s", seconds.round().max(1.0)),
            "--latency",
            &format!("http://{address}/metrics"),
        ])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let latency = |label: &str| -> Option<Duration> {
        let value = text
            .lines()
            .find_map(|l| l.trim().strip_prefix(label))?
            .trim()
            .to_string();
        let (number, scale) = if let Some(v) = value.strip_suffix("us") {
            (v, 1e-6)
        } else if let Some(v) = value.strip_suffix("ms") {
            (v, 1e-3)
        } else if let Some(v) = value.strip_suffix('s') {
            (v, 1.0)
        } else {
            return None;
        };
        Some(Duration::from_secs_f64(number.parse::<f64>().ok()? * scale))
    };
    let rate: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))?
        .trim()
        .parse()
        .ok()?;
    Some((rate, latency("50%")?, latency("99%")?, "wrk"))
}

/// How hard a run pushes, by mode.
struct Load {
    interval_seconds: u64,
    open_loop_seconds: f64,
    closed_seconds: f64,
    closed_connections: usize,
}

/// The figures of one world.
struct Row {
    label: String,
    total: usize,
    live: usize,
    fleets: usize,
    live_minimum: usize,
    expected_dgs: usize,
    round: BTreeMap<String, usize>,
    passes_checked: usize,
    live_pass_seconds: f64,
    cpu_per_round: f64,
    peak_rss_mib: f64,
    /// VmHWM once the first full passes are done (and the first open loop is over).
    first_sweep_hwm_mib: f64,
    /// VmRSS at the end of the steady-state window.
    steady_rss_mib: f64,
    full_pages: usize,
    full_seconds: f64,
    interruption: Interruption,
    open: OpenLoop,
    /// The same load in steady state (live passes only).
    open_steady: OpenLoop,
    open_rate: f64,
    open_seconds: f64,
    closed: (f64, Duration, Duration, &'static str),
    closed_connections: usize,
    naive: Option<Value>,
}

impl Row {
    fn dgs(&self) -> usize {
        self.round[DGS]
    }
    fn calls(&self) -> usize {
        self.round.values().sum()
    }
}

/// What one interruption took to be counted.
struct Interruption {
    ended: usize,
    counted: f64,
    /// Live passes of the fleet from the interruption to the pass that counted it.
    passes: usize,
    lookups: usize,
}

/// The exporter in a process of its own, against `sim`, live passes every `interval_seconds`.
fn start_exporter(sim: &Sim, label: &str, interval_seconds: u64) -> (ExporterProcess, u32) {
    // Capacity once at the start only: the live rounds and CPU figures measure the sessions.
    start_exporter_with(sim, label, interval_seconds, "capacity_interval = \"1h\"\n")
}

fn start_exporter_with(sim: &Sim, label: &str, interval_seconds: u64, extra: &str) -> (ExporterProcess, u32) {
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let config = temp_path(&format!("exporter-{}.toml", label.replace([' ', ','], "")));
    // The client budget is lifted so that the figures measure the exporter, not the quota.
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"{address}\"\n[aws]\nregion = \"us-west-2\"\nendpoint_url = \"{}\"\nmax_requests_per_second = 100000\nquota_share = 1000\nmax_attempts = 1\nrequest_timeout = \"60s\"\n[sweep]\ninterval = \"{interval_seconds}s\"\nhistory_interval = \"1h\"\ndiscovery_interval = \"1h\"\npage_size = {PAGE}\ntimeout = \"30m\"\n{extra}",
            sim.url()
        ),
    )
    .unwrap();
    let exporter = ExporterProcess::start(
        &[
            "--config",
            config.to_str().unwrap(),
            "--log-format",
            "json",
            "--log-level",
            "info",
        ],
        &address,
    );
    let pid = exporter.child.id();
    (exporter, pid)
}

/// Waits until every fleet has a complete full pass; returns the metrics then.
fn wait_for_full_passes(
    exporter: &ExporterProcess,
    fleets: &[String],
    timeout: Duration,
) -> BTreeMap<String, f64> {
    let deadline = Instant::now() + timeout;
    loop {
        let m = metrics(&exporter.address);
        if fleets.iter().all(|f| {
            fleet_sum(
                &m,
                "gamelift_exporter_fleet_last_full_pass_timestamp_seconds",
                f,
                None,
            )
            .is_some()
        }) {
            return m;
        }
        assert!(
            Instant::now() < deadline,
            "no full pass of every fleet within {timeout:?}:\n{}",
            exporter.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Steady-state live rounds only: the calls of one live round on `world` (history rows).
fn history_row(world: &World, label: &str, interval_seconds: u64) -> BTreeMap<String, usize> {
    let sim = Sim::start(world);
    let (exporter, _) = start_exporter(&sim, label, interval_seconds);
    wait_for_full_passes(&exporter, &world.fleets, Duration::from_secs(600));
    let from = sim.requests().len();
    std::thread::sleep(Duration::from_secs(interval_seconds * 2) + Duration::from_millis(500));
    let log = sim.requests();
    live_round(&log[from..], &world.fleets, label).0
}

fn run(world: &World, label: &str, load: &Load, naive: bool) -> Row {
    let interval = Duration::from_secs(load.interval_seconds);
    let sim = Sim::start(world);
    let (exporter, pid) = start_exporter(&sim, label, load.interval_seconds);
    let started = Instant::now();

    // /metrics under an open-loop load while the world is swept: the first full passes (every
    // session once) and the live passes beside them.
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(&exporter.address).is_err() {
        assert!(
            Instant::now() < deadline,
            "the exporter never served:\n{}",
            exporter.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let open_rate = 100.0;
    let load_thread = open_loop(&exporter.address, open_rate, load.open_loop_seconds);

    wait_for_full_passes(&exporter, &world.fleets, Duration::from_secs(1800));
    let full_seconds = started.elapsed().as_secs_f64();
    let full_pages = sim
        .requests()
        .iter()
        .filter(|r| r.operation == DGS && !r.filtered)
        .count();
    let open = load_thread.join().unwrap();
    let first_sweep_hwm_mib = status_kib(pid, "VmHWM:") as f64 / 1024.0;

    // Steady state: every fleet on its live schedule only. CPU over exactly three intervals is
    // three live rounds' worth whatever the passes' phase (each fleet's passes are periodic).
    std::thread::sleep(interval);
    let from = sim.requests().len();
    let (cpu_before, window_start) = (cpu_seconds(pid), Instant::now());
    let mut live_pass_seconds: f64 = 0.0;
    for round in 1..=3u32 {
        let until = window_start + interval * round;
        std::thread::sleep(until.saturating_duration_since(Instant::now()));
        if round == 3 {
            break;
        }
        live_pass_seconds = live_pass_seconds.max(slowest_live_pass(&exporter.address, &world.fleets));
    }
    let cpu_per_round = (cpu_seconds(pid) - cpu_before) / 3.0;
    let steady_rss_mib = status_kib(pid, "VmRSS:") as f64 / 1024.0;
    live_pass_seconds = live_pass_seconds.max(slowest_live_pass(&exporter.address, &world.fleets));
    let log = sim.requests();
    let (round, passes_checked) = live_round(&log[from..], &world.fleets, label);

    // The same open loop again, now that only live passes run (after the CPU window: its
    // scrapes would count as sweep CPU).
    let open_steady = open_loop(&exporter.address, open_rate, load.open_loop_seconds)
        .join()
        .unwrap();

    let interruption = interrupt_and_count(&sim, &exporter, &world.fleets[0], interval);

    let closed = closed_loop(&exporter.address, load.closed_connections, load.closed_seconds);
    let peak_rss_mib = status_kib(pid, "VmHWM:") as f64 / 1024.0;
    let log_text = exporter.log();
    assert!(
        !log_text.contains("pass failed") && !log_text.contains("pass stopped"),
        "{label}: a pass failed:\n{log_text}"
    );
    drop(exporter);

    let naive = naive.then(|| {
        let output = Command::new(std::env::current_exe().unwrap())
            .args(["--naive-sweep", &sim.url()])
            .stderr(Stdio::inherit())
            .output()
            .unwrap();
        assert!(output.status.success(), "naive sweep failed");
        serde_json::from_slice::<Value>(&output.stdout).unwrap()
    });
    Row {
        label: label.to_string(),
        total: world.total,
        live: world.live,
        fleets: world.fleets.len(),
        live_minimum: world.live_minimum,
        expected_dgs: world.expected_dgs,
        round,
        passes_checked,
        live_pass_seconds,
        cpu_per_round,
        peak_rss_mib,
        first_sweep_hwm_mib,
        steady_rss_mib,
        full_pages,
        full_seconds,
        interruption,
        open,
        open_steady,
        open_rate,
        open_seconds: load.open_loop_seconds,
        closed,
        closed_connections: load.closed_connections,
        naive,
    }
}

const CAPACITY_OPERATIONS: [&str; 4] = [
    "DescribeFleetCapacity",
    "DescribeFleetUtilization",
    "DescribeFleetLocationCapacity",
    "DescribeFleetLocationUtilization",
];

/// The calls of one steady capacity cycle, by operation, with the exporter reading capacity
/// every `interval_seconds`: the requests from the start of the second cycle (its first
/// DescribeFleetCapacity) to the start of the third.
fn capacity_cycle(world: &World, interval_seconds: u64) -> BTreeMap<String, usize> {
    let sim = Sim::start(world);
    let (exporter, _) = start_exporter_with(
        &sim,
        "capacity",
        3600,
        // No live pass is wanted here (hourly); stale_after must be at least twice that.
        &format!("capacity_interval = \"{interval_seconds}s\"\nstale_after = \"2h\"\n"),
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let capacity: Vec<Req> = sim
            .requests()
            .into_iter()
            .filter(|r| CAPACITY_OPERATIONS.contains(&r.operation.as_str()))
            .collect();
        // A cycle starts with the first DescribeFleetCapacity after any other capacity call.
        let starts: Vec<usize> = (0..capacity.len())
            .filter(|&i| {
                capacity[i].operation == CAPACITY_OPERATIONS[0]
                    && (i == 0 || capacity[i - 1].operation != CAPACITY_OPERATIONS[0])
            })
            .collect();
        if starts.len() >= 3 {
            let mut calls: BTreeMap<String, usize> =
                CAPACITY_OPERATIONS.iter().map(|o| (o.to_string(), 0)).collect();
            for request in &capacity[starts[1]..starts[2]] {
                *calls.get_mut(&request.operation).unwrap() += 1;
            }
            return calls;
        }
        assert!(
            Instant::now() < deadline,
            "no three capacity cycles within two minutes:\n{}",
            exporter.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// What one account-Region's default budgets hold, computed and measured.
struct QuotaRow {
    fleets: usize,
    /// Remote locations per fleet, and whether capacity cycles run every (scaled) minute.
    remote: usize,
    capacity: bool,
    computed_seconds: f64,
    published_seconds: f64,
    measured_seconds: f64,
}

/// The default budgets, 30x faster: the arithmetic is linear, so a 2 s interval with every rate
/// 30x shows what the defaults do at 60 s (aws.max_requests_per_second 5 -> 150, aws.quota_share
/// 0.25 -> 7.5, sweep.history_budget_share 0.25 as it is).
const QUOTA_SCALE: f64 = 30.0;

/// The live interval the default budgets (scaled) pay for, worked out here from the README's
/// rules, independently of the exporter: `fleets` fleets with 3 `DescribeGameSessions` and 1
/// `DescribeFleetEvents` per live pass; capacity cycles every scaled minute (or hour) with
/// `batched` calls per batched operation and one per remote location per location operation;
/// discovery every hour. Live passes and capacity cycles are each stretched by their own
/// operations' budgets, then both by the overall cap (what full passes and discovery leave).
fn planned_interval(fleets: usize, remote: usize, capacity_every: f64, batched: usize) -> f64 {
    let cap = 5.0 * QUOTA_SCALE;
    let rate = |aws: f64| (aws * 0.25 * QUOTA_SCALE).min(cap);
    let history = 0.25 * rate(20.0);
    let interval = 60.0 / QUOTA_SCALE;
    let n = fleets as f64;
    let live_factor = ((3.0 * n / interval) / (rate(20.0) - history))
        .max((n / interval) / rate(30.0))
        .max(1.0);
    let location_calls = remote as f64 * n;
    let capacity_factor = (batched as f64 / capacity_every / rate(30.0))
        .max(location_calls / capacity_every / rate(30.0))
        .max(1.0);
    let discovery = ((n / 100.0).ceil() + (n / 16.0).ceil() + n) / 3600.0;
    let asked = 4.0 * n / interval / live_factor
        + (2.0 * batched as f64 + 2.0 * location_calls) / capacity_every / capacity_factor;
    let overall = (asked / (cap - history - discovery)).max(1.0);
    let seconds = interval * live_factor * overall;
    ((seconds * 1000.0 - 1e-6).ceil() / 1000.0).max(interval)
}

/// `fleets` small fleets (fewer than a page per live status) in one account-Region at the
/// default budgets, scaled, each in `1 + remote` locations, with capacity cycles every (scaled)
/// minute or not: the interval the arithmetic says, the one the exporter publishes, and the one
/// its live passes keep (from the simulator's request log).
fn quota_row(fleets: usize, remote: usize, capacity: bool) -> QuotaRow {
    let mut toml = String::from("seed = 3\n[faults]\nrate_limits = {}\n");
    let ids: Vec<String> = (0..fleets).map(fleet_id).collect();
    let locations = ["\"us-east-1\"", "\"eu-central-1\""][..remote].join(", ");
    for id in &ids {
        toml.push_str(&format!(
            "\n[[fleet]]\nid = \"{id}\"\nname = \"quota\"\ntype = \"ON_DEMAND\"\nhome_region = \"us-west-2\"\nlocations = [{locations}]\n[fleet.sessions]\nactive = 5\n"
        ));
    }
    let world = World {
        toml,
        total: 5 * fleets * (1 + remote),
        live: 5 * fleets * (1 + remote),
        fleets: ids.clone(),
        live_minimum: fleets,
        expected_dgs: 3 * fleets,
    };
    let sim = Sim::start(&world);
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let config = temp_path("exporter-quota.toml");
    let capacity_interval = if capacity { 60.0 / QUOTA_SCALE } else { 3600.0 };
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"{address}\"\n[aws]\nregion = \"us-west-2\"\nendpoint_url = \"{}\"\nmax_requests_per_second = {}\nquota_share = {}\nmax_attempts = 1\n[sweep]\ninterval = \"{}s\"\nhistory_interval = \"1h\"\ndiscovery_interval = \"1h\"\ncapacity_interval = \"{}s\"\n",
            sim.url(),
            5.0 * QUOTA_SCALE,
            0.25 * QUOTA_SCALE,
            60.0 / QUOTA_SCALE,
            capacity_interval
        ),
    )
    .unwrap();
    let exporter = ExporterProcess::start(
        &["--config", config.to_str().unwrap(), "--log-level", "warn"],
        &address,
    );
    // Capacity calls per batched operation in the cycles the exporter planned with: the first
    // cycle asks for every fleet in one batch, is refused, and learns the simulator's 10; an
    // hourly cycle stays that first one, a scaled-minute one is a steady cycle by the time the
    // figures are read.
    let batched = if capacity {
        fleets.div_ceil(10)
    } else {
        fleets.div_ceil(10) + 1
    };
    let computed_seconds = planned_interval(fleets, remote, capacity_interval, batched);
    std::thread::sleep(Duration::from_secs(if capacity { 10 } else { 4 }));
    let from = sim.requests().len();
    let window = Duration::from_secs(10);
    std::thread::sleep(window);
    let log = sim.requests();
    let published_seconds = metrics(&exporter.address)
        .get("gamelift_exporter_effective_interval_seconds{account=\"default\",region=\"us-west-2\"}")
        .copied()
        .unwrap_or(f64::NAN);
    // Live passes started in the window, over all fleets: each fleet keeps one per interval.
    let passes = log[from..].iter().filter(|r| r.first_active_page).count();
    let measured_seconds = window.as_secs_f64() * fleets as f64 / passes.max(1) as f64;
    drop(exporter);
    QuotaRow {
        fleets,
        remote,
        capacity,
        computed_seconds,
        published_seconds,
        measured_seconds,
    }
}

/// What one `[events]` reader sustains: `events` placement events waiting in the simulator's SQS
/// queue, read by a fresh exporter until all are counted. Returns (events per second, exporter
/// CPU milliseconds per 1,000 events, counted).
fn events_row(events: usize) -> EventsRow {
    // Six small fleets swept every second beside the burst, to see what it costs them.
    let mut toml = "seed = 4\nevents_queue = \"bench-events\"\n[faults]\nrate_limits = {}\n".to_string();
    for i in 0..6 {
        toml.push_str(&format!(
            "\n[[fleet]]\nid = \"{}\"\nname = \"burst\"\ntype = \"ON_DEMAND\"\nhome_region = \"us-west-2\"\n[fleet.sessions]\nactive = 20\n",
            fleet_id(i)
        ));
    }
    let world = World {
        toml,
        total: 120,
        live: 120,
        fleets: (0..6).map(fleet_id).collect(),
        live_minimum: 6,
        expected_dgs: 18,
    };
    let sim = Sim::start(&world);
    let queue = format!("{}/123456789012/bench-events", sim.url());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let config = aws_sdk_sqs::config::Builder::new()
            .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
            .region(aws_sdk_sqs::config::Region::new("us-west-2"))
            .endpoint_url(sim.url())
            .credentials_provider(aws_sdk_sqs::config::Credentials::new("AKIDBENCH", "secret", None, None, "bench"))
            .build();
        let client = aws_sdk_sqs::Client::from_conf(config);
        for chunk in (0..events).collect::<Vec<_>>().chunks(10) {
            let entries = chunk
                .iter()
                .map(|i| {
                    let body = serde_json::json!({
                        "version": "0", "id": format!("bench-{i}"), "detail-type": "GameLift Queue Placement Event",
                        "source": "aws.gamelift", "account": "123456789012", "time": "2026-11-30T12:00:00Z", "region": "us-west-2",
                        "resources": ["arn:aws:gamelift:us-west-2:123456789012:gamesessionqueue/bench"],
                        "detail": {"type": if i % 10 == 0 { "PlacementTimedOut" } else { "PlacementFulfilled" },
                            "placementId": format!("p-{i}"), "startTime": "2026-11-30T11:59:58.500Z", "endTime": "2026-11-30T12:00:00.000Z",
                            "gameSessionRegion": "us-west-2", "placedPlayerSessions": [{"playerId": "a", "playerSessionId": "psess-1"}]},
                    });
                    aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body.to_string())
                        .build()
                        .unwrap()
                })
                .collect();
            client
                .send_message_batch()
                .queue_url(&queue)
                .set_entries(Some(entries))
                .send()
                .await
                .expect("SendMessageBatch");
        }
    });
    let port = free_port();
    let address = format!("127.0.0.1:{port}");
    let config = temp_path("exporter-events.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"{address}\"\n[aws]\nregion = \"us-west-2\"\nendpoint_url = \"{}\"\nmax_requests_per_second = 1000\nquota_share = 10\n[sweep]\ninterval = \"1s\"\nhistory_interval = \"1h\"\ndiscovery_interval = \"1h\"\ncapacity_interval = \"1h\"\n[state]\npath = \"{}\"\n[events]\nsqs_queue_url = \"{queue}\"\nwait_time = \"1s\"\n",
            sim.url(),
            temp_path("events-state.json").display()
        ),
    )
    .unwrap();
    let exporter = ExporterProcess::start(
        &["--config", config.to_str().unwrap(), "--log-level", "warn"],
        &address,
    );
    let pid = exporter.child.id();
    let key = "gamelift_exporter_events_received_total{detail_type=\"GameLift Queue Placement Event\"}";
    let deadline = Instant::now() + Duration::from_secs(600);
    // From the first answer on /metrics (start-up done, reading under way) to the last event
    // counted; CPU over the same span.
    let mut first: Option<(Instant, f64, f64)> = None;
    // The fleets' live pass wall times, as each new pass publishes one.
    let mut burst_passes = LivePasses::default();
    let counted = loop {
        let metrics = metrics(&exporter.address);
        let counted = metrics.get(key).copied().unwrap_or(0.0);
        if first.is_none() && !metrics.is_empty() {
            first = Some((Instant::now(), cpu_seconds(pid), counted));
        }
        if counted >= events as f64 || Instant::now() > deadline {
            break counted;
        }
        burst_passes.note(&metrics);
        std::thread::sleep(Duration::from_millis(20));
    };
    let (start, cpu_start, counted_start) = first.expect("the exporter answered");
    let seconds = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds(pid) - cpu_start;
    // The same fleets once the queue is quiet, for as long (at least 3 s).
    let mut quiet_passes = LivePasses::default();
    let quiet_until = Instant::now() + Duration::from_secs_f64(seconds.max(3.0));
    while Instant::now() < quiet_until {
        quiet_passes.note(&metrics(&exporter.address));
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(exporter);
    let read = counted - counted_start;
    EventsRow {
        per_second: read / seconds,
        cpu_ms_per_1000: cpu * 1000.0 / (read / 1000.0),
        counted,
        burst_live_ms: burst_passes.mean_ms(),
        quiet_live_ms: quiet_passes.mean_ms(),
        burst_passes: burst_passes.seen.len(),
    }
}

/// What one `[events]` reader did, and the live passes beside it.
struct EventsRow {
    per_second: f64,
    cpu_ms_per_1000: f64,
    counted: f64,
    /// Mean live pass wall time of the fleets swept meanwhile, during the burst and after it.
    burst_live_ms: f64,
    quiet_live_ms: f64,
    burst_passes: usize,
}

/// Live pass wall times as scrapes see them: one per new pass (a fleet's last-success time
/// moved).
#[derive(Default)]
struct LivePasses {
    seen: BTreeMap<(String, u64), f64>,
}

impl LivePasses {
    fn note(&mut self, metrics: &BTreeMap<String, f64>) {
        for (key, value) in metrics {
            let Some(rest) =
                key.strip_prefix("gamelift_exporter_fleet_last_success_timestamp_seconds{fleet_id=\"")
            else {
                continue;
            };
            let fleet = rest.trim_end_matches("\"}");
            let duration = format!(
                "gamelift_exporter_fleet_pass_duration_seconds{{fleet_id=\"{fleet}\",pass=\"live\"}}"
            );
            if let Some(seconds) = metrics.get(&duration) {
                self.seen
                    .insert((fleet.to_string(), (value * 1000.0) as u64), *seconds);
            }
        }
    }

    fn mean_ms(&self) -> f64 {
        self.seen.values().sum::<f64>() * 1000.0 / self.seen.len().max(1) as f64
    }
}

/// Reclaims one instance of a SPOT fleet right after one of its live passes, then waits for its
/// interruption counter to move by the sessions ended, and counts the fleet's live passes from
/// the interruption to the pass that counted it (the one whose lookups came last).
fn interrupt_and_count(
    sim: &Sim,
    exporter: &ExporterProcess,
    fleet: &str,
    interval: Duration,
) -> Interruption {
    let success = |m: &BTreeMap<String, f64>| {
        fleet_sum(
            m,
            "gamelift_exporter_fleet_last_success_timestamp_seconds",
            fleet,
            None,
        )
    };
    // A pass that had already begun when the instance was reclaimed may or may not see it: such
    // an attempt (a pass start answered before the interruption's answer came back) is repeated.
    for attempt in 1..=3 {
        let before = success(&metrics(&exporter.address));
        let deadline = Instant::now() + interval * 3 + Duration::from_secs(60);
        // A live pass of the fleet has just completed: the next one starts an interval after it.
        let counted_before = loop {
            let m = metrics(&exporter.address);
            if success(&m) != before {
                break fleet_sum(&m, INTERRUPTIONS, fleet, None).unwrap_or(0.0);
            }
            assert!(Instant::now() < deadline, "no live pass of {fleet}");
            std::thread::sleep(Duration::from_millis(5));
        };
        let from = sim.requests().len();
        let ended = sim.interrupt(fleet, "us-west-2", 1);
        assert!(ended > 0, "the interruption ended no session");
        let raced = sim.requests()[from..]
            .iter()
            .any(|r| r.fleet == fleet && r.first_active_page);
        let deadline = Instant::now() + interval * 4 + Duration::from_secs(60);
        let counted = loop {
            let counted = fleet_sum(&metrics(&exporter.address), INTERRUPTIONS, fleet, None).unwrap_or(0.0);
            if counted - counted_before >= ended as f64 || Instant::now() >= deadline {
                break counted - counted_before;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        if raced && attempt < 3 {
            eprintln!("the interruption met a live pass already under way; again");
            continue;
        }
        let log = sim.requests();
        let after: Vec<&Req> = log[from..]
            .iter()
            .filter(|r| r.fleet == fleet && r.live())
            .collect();
        let last_lookup = after.iter().rposition(|r| r.operation == DGSD);
        let passes = last_lookup.map_or(0, |p| after[..=p].iter().filter(|r| r.first_active_page).count());
        return Interruption {
            ended,
            counted,
            passes,
            lookups: after.iter().filter(|r| r.operation == DGSD).count(),
        };
    }
    unreachable!("the last attempt returns")
}

/// What a typical script does: list every fleet's sessions with no filter, keep every page in
/// memory, then aggregate everything. Runs in its own process and reports its own CPU and peak
/// memory for the sweep.
fn naive_sweep(url: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pid = std::process::id();
    let result = runtime.block_on(async {
        let client = support::sdk_client(url, "us-west-2", 1);
        let mut cpu = Vec::new();
        let mut wall = Vec::new();
        let (mut calls, mut sessions_seen, mut series) = (0, 0, 0);
        for _ in 0..3 {
            let cpu_before = cpu_seconds(pid);
            let started = Instant::now();
            calls = 1;
            let fleets = client.list_fleets().send().await.unwrap().fleet_ids().to_vec();
            let mut sessions = Vec::new();
            for fleet in &fleets {
                let mut token = None;
                loop {
                    calls += 1;
                    let page = client
                        .describe_game_sessions()
                        .fleet_id(fleet)
                        .limit(PAGE as i32)
                        .set_next_token(token)
                        .send()
                        .await
                        .unwrap();
                    sessions.extend(page.game_sessions().iter().cloned());
                    token = page.next_token().map(str::to_string);
                    if token.is_none() {
                        break;
                    }
                }
            }
            let mut counts: BTreeMap<(String, String, String, String), u64> = BTreeMap::new();
            for s in &sessions {
                let key = (
                    s.fleet_id().unwrap_or_default().to_string(),
                    s.location().unwrap_or_default().to_string(),
                    s.status().map(|x| x.as_str().to_string()).unwrap_or_default(),
                    s.status_reason()
                        .map(|x| x.as_str().to_string())
                        .unwrap_or_default(),
                );
                *counts.entry(key).or_default() += 1;
            }
            cpu.push(cpu_seconds(pid) - cpu_before);
            wall.push(started.elapsed().as_secs_f64());
            sessions_seen = sessions.len();
            series = counts.len();
        }
        serde_json::json!({
            "calls": calls,
            "sessions": sessions_seen,
            "series": series,
            "seconds": wall.iter().sum::<f64>() / wall.len() as f64,
            "cpu_seconds": cpu.iter().sum::<f64>() / cpu.len() as f64,
            "peak_rss_mib": status_kib(pid, "VmHWM:") as f64 / 1024.0,
        })
    });
    println!("{result}");
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next().and_then(|k| k.parse::<f64>().ok()))
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|v| v.split(':').nth(1))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cores} cores ({cpu}), {memory:.0} GiB memory")
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn print_table(rows: &[Row]) {
    print!("| figure |");
    for row in rows {
        print!(" {} sessions |", row.label);
    }
    println!("\n|---|{}", "---|".repeat(rows.len()));
    let line = |name: &str, f: &dyn Fn(&Row) -> String| {
        print!("| {name} |");
        for row in rows {
            print!(" {} |", f(row));
        }
        println!();
    };
    line("live / total sessions (fleets)", &|r| {
        format!("{} / {} ({})", r.live, r.total, r.fleets)
    });
    line("API calls per steady-state live round, by operation", &|r| {
        r.round
            .iter()
            .map(|(op, n)| format!("{op} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    });
    line(
        "expected DescribeGameSessions Σ max(1, ⌈status/page⌉)",
        &|r| r.expected_dgs.to_string(),
    );
    line("live minimum Σ⌈live/page⌉ (page 100)", &|r| {
        r.live_minimum.to_string()
    });
    line("ratio DescribeGameSessions / live minimum", &|r| {
        format!("{:.3}", r.dgs() as f64 / r.live_minimum as f64)
    });
    line("identical live passes checked per fleet", &|r| {
        r.passes_checked.to_string()
    });
    line("live pass wall time (max over fleets)", &|r| {
        format!("{:.3} s", r.live_pass_seconds)
    });
    line("exporter CPU per live round (mean of 3)", &|r| {
        format!("{:.4} s", r.cpu_per_round)
    });
    line(
        "exporter RSS: steady VmRSS / VmHWM after first sweep / VmHWM at end",
        &|r| {
            format!(
                "{:.1} / {:.1} / {:.1} MiB",
                r.steady_rss_mib, r.first_sweep_hwm_mib, r.peak_rss_mib
            )
        },
    );
    line("first full passes: pages, wall time from start", &|r| {
        format!(
            "{} pages, {:.1} s ({:.0} pages/s)",
            r.full_pages,
            r.full_seconds,
            r.full_pages as f64 / r.full_seconds
        )
    });
    line("interruption: sessions ended / counted, lookups", &|r| {
        format!(
            "{} / {}, {} lookups",
            r.interruption.ended, r.interruption.counted, r.interruption.lookups
        )
    });
    line("interruption → counter, in live passes", &|r| {
        r.interruption.passes.to_string()
    });
    if let Some(r) = rows.first() {
        for (when, steady) in [("during the first sweep", false), ("in steady state", true)] {
            line(
                &format!(
                    "/metrics open loop {:.0}/s for {:.0} s {when}: p50 / p99 / max from the schedule",
                    r.open_rate, r.open_seconds
                ),
                &|r| {
                    let open = if steady { &r.open_steady } else { &r.open };
                    format!(
                        "{} / {} / {} ms ({} scrapes, {} errors)",
                        ms(percentile(&open.latencies, 0.5)),
                        ms(percentile(&open.latencies, 0.99)),
                        ms(open.latencies.last().copied().unwrap_or_default()),
                        open.latencies.len(),
                        open.errors,
                    )
                },
            );
            line(
                &format!("… same, p99 from the actual send; p99 send lateness ({when})"),
                &|r| {
                    let open = if steady { &r.open_steady } else { &r.open };
                    format!(
                        "{} ms; {} ms",
                        ms(percentile(&open.service, 0.99)),
                        ms(open.lateness_p99)
                    )
                },
            );
        }
        line(
            &format!(
                "/metrics closed loop, {} connections: throughput, p50 / p99",
                r.closed_connections
            ),
            &|r| {
                format!(
                    "{:.0} scrapes/s, {} / {} ms ({})",
                    r.closed.0,
                    ms(r.closed.1),
                    ms(r.closed.2),
                    r.closed.3
                )
            },
        );
    }
    line("naive sweep: calls", &|r| {
        r.naive.as_ref().map_or("-".into(), |n| n["calls"].to_string())
    });
    line("naive sweep: CPU per sweep (mean of 3)", &|r| {
        r.naive.as_ref().map_or("-".into(), |n| {
            format!("{:.4} s", n["cpu_seconds"].as_f64().unwrap())
        })
    });
    line("naive sweep: peak RSS", &|r| {
        r.naive.as_ref().map_or("-".into(), |n| {
            format!("{:.1} MiB", n["peak_rss_mib"].as_f64().unwrap())
        })
    });
    line("naive / exporter live round: calls, CPU", &|r| {
        r.naive.as_ref().map_or("-".into(), |n| {
            format!(
                "{:.1}x, {:.1}x",
                n["calls"].as_f64().unwrap() / r.calls() as f64,
                n["cpu_seconds"].as_f64().unwrap() / r.cpu_per_round
            )
        })
    });
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(position) = args.iter().position(|a| a == "--naive-sweep") {
        naive_sweep(&args[position + 1]);
        return;
    }
    let full = args.iter().any(|a| a == "--bench");
    let with_1m = args.iter().any(|a| a == "--with-1m");
    // Sizes are total sessions; live sessions are 1/11 of them (history 10x live).
    let sizes: Vec<(&str, usize)> = if !full {
        vec![("smoke 2,200", 200)]
    } else if with_1m {
        vec![("10,000", 909), ("100,000", 9_091), ("1,000,000", 90_909)]
    } else {
        vec![("10,000", 909), ("100,000", 9_091)]
    };
    let load = if full {
        Load {
            interval_seconds: 4,
            open_loop_seconds: 10.0,
            closed_seconds: 10.0,
            closed_connections: 50,
        }
    } else {
        Load {
            interval_seconds: 1,
            open_loop_seconds: 1.0,
            closed_seconds: 1.0,
            closed_connections: 4,
        }
    };

    eprintln!("machine: {}", machine());
    let mut rows = Vec::new();
    for (label, live) in &sizes {
        eprintln!("running {label} sessions (history 10x)...");
        rows.push(run(&world(*live, 10), label, &load, true));
    }
    // Calls must not grow with history: the smallest world again with 0x and 30x history.
    let mut history = Vec::new();
    for factor in [0, 10, 30] {
        let live = sizes[0].1;
        let w = world(live, factor);
        let round = if factor == 10 {
            rows[0].round.clone()
        } else {
            eprintln!("running history {factor}x of {live} live sessions...");
            history_row(&w, &format!("history {factor}x"), load.interval_seconds)
        };
        history.push((factor, round, w.expected_dgs, w.live_minimum));
    }

    eprintln!("running one account-Region at the default budgets...");
    let quota: Vec<QuotaRow> = vec![
        quota_row(56, 0, false),
        quota_row(60, 0, false),
        // The README's example: 50 fleets in 3 locations each, capacity on; at the default
        // budgets live passes and capacity cycles together ask the cap for more than it has.
        quota_row(50, 2, true),
    ];
    let event_count = if full { 50_000 } else { 2_000 };
    eprintln!("running the events reader on {event_count} events...");
    let burst = events_row(event_count);
    let (events_per_second, cpu_ms_per_1000, events_counted) =
        (burst.per_second, burst.cpu_ms_per_1000, burst.counted);
    eprintln!("running capacity cycles...");
    let capacity = capacity_cycle(&world(sizes[0].1, 0), load.interval_seconds);
    let eligible = FLEETS.len();
    let remote: usize = FLEETS.iter().map(|(_, locations, _)| locations - 1).sum();
    // The simulator's default cap on fleet ids per batched request (as AWS, it says so when
    // refused; the exporter learns it on the first cycle).
    let batch = 10;

    println!("\nmachine: {}\n", machine());
    print_table(&rows);
    println!("\none account-Region at the default budgets (5/s overall, 25% of each operation's quota, 25% of DescribeGameSessions left to full passes), small fleets (fewer than page_size sessions per live status), run 30x faster:");
    for row in &quota {
        println!(
            "- {} fleets in {} location(s), capacity {}: interval computed {:.3} s, published {:.3} s, kept {:.3} s ({:+.1}% from the published; x30: {:.1} s at the default sweep.interval of 60 s)",
            row.fleets,
            1 + row.remote,
            if row.capacity { "every minute" } else { "hourly" },
            row.computed_seconds,
            row.published_seconds,
            row.measured_seconds,
            (row.measured_seconds / row.published_seconds - 1.0) * 100.0,
            row.published_seconds * QUOTA_SCALE
        );
    }
    println!("  so the default share of one account-Region sweeps 56 such fleets every 60 s (4 calls each of the 225 the budgets leave to live passes per minute), or one fleet of up to 22,200 live sessions (222 pages of 100 + 3 calls)");
    println!(
        "\none [events] reader, {event_count} placement events waiting in the simulator's SQS queue (state.path set): {events_per_second:.0} events/s, exporter CPU {cpu_ms_per_1000:.1} ms per 1,000 events (from its first answer on /metrics to the last event counted); six fleets swept every second meanwhile: live pass wall time {:.2} ms during the burst ({} passes), {:.2} ms once quiet ({:+.0}%)",
        burst.burst_live_ms,
        burst.burst_passes,
        burst.quiet_live_ms,
        (burst.burst_live_ms / burst.quiet_live_ms - 1.0) * 100.0
    );
    println!(
        "\ncalls per capacity cycle ({eligible} fleets, {remote} remote locations, batch {batch}): {}; {} in all",
        capacity
            .iter()
            .map(|(op, n)| format!("{op} {n}"))
            .collect::<Vec<_>>()
            .join(", "),
        capacity.values().sum::<usize>()
    );
    print!(
        "\ncalls per live round / live minimum by history size ({} live sessions):",
        rows[0].live
    );
    for (factor, round, _, minimum) in &history {
        print!(
            " {factor}x: {}/{minimum} = {:.3} ({} calls in all);",
            round[DGS],
            round[DGS] as f64 / *minimum as f64,
            round.values().sum::<usize>()
        );
    }
    println!();

    // Deterministic checks, in smoke and full runs alike: printed, then asserted.
    let verdict = |ok: bool| if ok { "PASS" } else { "FAIL" };
    let mut checks: Vec<(String, bool)> = Vec::new();
    for row in &rows {
        checks.push((
            format!(
                "{}: DescribeGameSessions per live round = Σ max(1, ⌈status/page⌉) = {} (got {})",
                row.label,
                row.expected_dgs,
                row.dgs()
            ),
            row.dgs() == row.expected_dgs,
        ));
        checks.push((
            format!(
                "{}: DescribeFleetEvents one per fleet ({} for {} fleets), DescribeGameSessionDetails 0 ({}) per live round",
                row.label, row.round[DFE], row.fleets, row.round[DGSD]
            ),
            row.round[DFE] == row.fleets && row.round[DGSD] == 0,
        ));
        checks.push((
            format!(
                "{}: interruption counted exactly ({} of {} sessions) by live pass {} after it (target 1)",
                row.label, row.interruption.counted, row.interruption.ended, row.interruption.passes
            ),
            row.interruption.counted == row.interruption.ended as f64 && row.interruption.passes == 1,
        ));
    }
    // What pacing decides is deterministic and asserted; the interval live passes keep is a
    // wall-clock figure, printed (a target of the full run) and never asserted, so that the
    // smoke test passes on a machine busy with other work.
    for row in &quota {
        checks.push((
            format!(
                "{} small fleets in {} location(s), capacity {}, at the default budgets: published interval = planned {:.3} s (got {:.3} s)",
                row.fleets,
                1 + row.remote,
                if row.capacity { "every minute" } else { "hourly" },
                row.computed_seconds,
                row.published_seconds
            ),
            (row.published_seconds - row.computed_seconds).abs() < 1e-9,
        ));
    }
    checks.push((
        format!("the events reader counts every one of {event_count} events once (got {events_counted})"),
        events_counted == event_count as f64,
    ));
    let batches = eligible.div_ceil(batch);
    checks.push((
        format!(
            "calls per capacity cycle = ⌈fleets / batch⌉ = {batches} per batched operation + one per remote location ({remote}) per location operation (got {capacity:?})"
        ),
        capacity["DescribeFleetCapacity"] == batches
            && capacity["DescribeFleetUtilization"] == batches
            && capacity["DescribeFleetLocationCapacity"] == remote
            && capacity["DescribeFleetLocationUtilization"] == remote,
    ));
    let independent = history
        .iter()
        .all(|(_, round, expected, _)| round[DGS] == *expected && *round == history[0].1);
    checks.push((
        "calls per live round independent of history (0x, 10x, 30x)".to_string(),
        independent,
    ));

    println!("\ntargets:");
    for (text, ok) in &checks {
        println!("- {}: {text}", verdict(*ok));
    }
    if full {
        let off = burst.burst_live_ms / burst.quiet_live_ms - 1.0;
        println!(
            "- {}: live passes during a {event_count}-event burst within 10% of a quiet run ({:.2} ms against {:.2} ms, {:+.1}%)",
            verdict(off <= 0.10),
            burst.burst_live_ms,
            burst.quiet_live_ms,
            off * 100.0
        );
        for row in &quota {
            let off = (row.measured_seconds / row.published_seconds - 1.0).abs();
            println!(
                "- {}: {} fleets in {} location(s), capacity {}: live passes keep the published interval within 10% ({:.3} s kept, {:.3} s published, {:.1}%)",
                verdict(off <= 0.10),
                row.fleets,
                1 + row.remote,
                if row.capacity { "every minute" } else { "hourly" },
                row.measured_seconds,
                row.published_seconds,
                off * 100.0
            );
        }
        if let Some(row) = rows.iter().find(|r| r.label == "100,000") {
            let ratio = row.dgs() as f64 / row.live_minimum as f64;
            println!(
                "- {}: DescribeGameSessions per live round <= 1.1 x live minimum at 100,000 ({}/{} = {ratio:.3})",
                verdict(ratio <= 1.1),
                row.dgs(),
                row.live_minimum
            );
            let ratio = row.naive.as_ref().unwrap()["cpu_seconds"].as_f64().unwrap() / row.cpu_per_round;
            println!(
                "- {}: exporter CPU per live round >= 10x below the naive sweep at 100,000 ({ratio:.1}x)",
                verdict(ratio >= 10.0)
            );
        }
        match rows.iter().find(|r| r.label == "1,000,000") {
            Some(row) => println!(
                "- {}: peak RSS <= 40 MiB at 1,000,000 sessions ({:.1} MiB)",
                verdict(row.peak_rss_mib <= 40.0),
                row.peak_rss_mib
            ),
            None => println!("- peak RSS <= 40 MiB at 1,000,000 sessions: not run (add -- --with-1m)"),
        }
        let largest = rows.last().unwrap();
        let p99 = percentile(&largest.open.latencies, 0.99);
        println!(
            "- {}: /metrics p99 <= 1 ms at {:.0} scrapes/s open loop while the {} world is swept ({} ms)",
            verdict(p99 <= Duration::from_millis(1)),
            largest.open_rate,
            largest.label,
            ms(p99)
        );
        let p99 = percentile(&largest.open_steady.latencies, 0.99);
        println!(
            "  (same load in steady state, live passes only: {}, {} ms; from the actual send during the first sweep: {} ms)",
            verdict(p99 <= Duration::from_millis(1)),
            ms(p99),
            ms(percentile(&largest.open.service, 0.99))
        );
    }
    let _ = std::fs::remove_dir_all(temp_path("x").parent().unwrap());
    let failed = checks.iter().filter(|(_, ok)| !ok).count();
    assert_eq!(failed, 0, "deterministic checks failed (see targets above)");
    println!("\nbenchmark: {} passed, 0 failed", checks.len());
}
