//! Helpers shared by the integration tests: SDK clients for the simulator, a tiny HTTP client,
//! an exposition-format parser, and expectations computed straight from the simulator's sessions.
#![allow(dead_code)]

use gamelift_exporter::aws::simulator_credentials;
use gamelift_exporter::config::Config;
use gamelift_exporter::exporter::{Exporter, Options};
use gamelift_exporter::simulator::{Clock, RunningSimulator, Scenario, SessionRecord, Simulator};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

/// A real `aws-sdk-gamelift` client pointed at the simulator, with dummy credentials.
pub fn sdk_client(url: &str, region: &str, max_attempts: u32) -> aws_sdk_gamelift::Client {
    let config = aws_sdk_gamelift::Config::builder()
        .behavior_version(aws_sdk_gamelift::config::BehaviorVersion::latest())
        .region(aws_sdk_gamelift::config::Region::new(region.to_string()))
        .endpoint_url(url)
        .credentials_provider(gamelift_exporter::aws::simulator_credentials())
        .retry_config(
            aws_sdk_gamelift::config::retry::RetryConfig::standard().with_max_attempts(max_attempts),
        )
        .build();
    aws_sdk_gamelift::Client::from_conf(config)
}

pub fn scenario(text: &str) -> Scenario {
    Scenario::parse(Path::new("test-scenario.toml"), text).expect("test scenario is valid")
}

/// `GET` (or another method) over plain HTTP/1.1; returns (status, head, body).
pub fn http(method: &str, address: &str, path: &str) -> (u16, String, String) {
    http_with(method, address, path, &[])
}

/// The one HTTP client of the tests: a request with extra header lines over plain HTTP/1.1,
/// `Connection: close`; returns (status, head, body). Panics when nobody answers.
pub fn http_with(method: &str, address: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    try_http_with(method, address, path, headers).expect("HTTP request")
}

/// [`http`], or the I/O error when nobody answers (yet).
pub fn try_http(method: &str, address: &str, path: &str) -> std::io::Result<(u16, String, String)> {
    try_http_with(method, address, path, &[])
}

/// [`http_with`], or the I/O error when nobody answers (yet).
pub fn try_http_with(
    method: &str,
    address: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<(u16, String, String)> {
    let (status, head, body) = try_http_raw(method, address, path, headers)?;
    Ok((status, head, String::from_utf8_lossy(&body).into_owned()))
}

/// [`http_with`], the body as bytes (compressed bodies).
pub fn http_raw(method: &str, address: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String, Vec<u8>) {
    try_http_raw(method, address, path, headers).expect("HTTP request")
}

/// The request itself. A chunked body (Prometheus' API) is returned decoded.
pub fn try_http_raw(
    method: &str,
    address: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<(u16, String, Vec<u8>)> {
    let mut stream = std::net::TcpStream::connect(address)?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let (head, body) = match raw.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(at) => (&raw[..at], &raw[at + 4..]),
        None => (&raw[..], &raw[raw.len()..]),
    };
    let head = String::from_utf8_lossy(head).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        dechunk(body)
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "bad chunked body"))?
    } else {
        body.to_vec()
    };
    Ok((status, head, body))
}

/// Decodes a `Transfer-Encoding: chunked` body.
fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        let after = &rest[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(after.get(..size)?);
        rest = after.get(size..)?.strip_prefix(b"\r\n")?;
    }
}

/// Percent-encodes everything but ASCII letters and digits (a query-string value).
pub fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `path?name=value&...` with the values encoded.
pub fn query_path(path: &str, params: &[(&str, &str)]) -> String {
    let query: Vec<String> = params
        .iter()
        .map(|(name, value)| format!("{name}={}", url_encode(value)))
        .collect();
    format!("{path}?{}", query.join("&"))
}

/// A keep-alive HTTP/1.1 connection, for load generators that must not pay a connection per
/// request. `GET` only; the response must carry `Content-Length` (the exporter's and the
/// simulator's always do).
pub struct KeepAlive {
    address: String,
    reader: std::io::BufReader<std::net::TcpStream>,
}

impl KeepAlive {
    pub fn connect(address: &str) -> std::io::Result<KeepAlive> {
        let stream = std::net::TcpStream::connect(address)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
        Ok(KeepAlive {
            address: address.to_string(),
            reader: std::io::BufReader::new(stream),
        })
    }

    /// `GET path` on this connection; returns (status, body).
    pub fn get(&mut self, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
        use std::io::BufRead;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", self.address);
        self.reader.get_mut().write_all(request.as_bytes())?;
        let (mut status, mut length) = (0u16, None::<usize>);
        let mut line = String::new();
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let text = line.trim_end();
            if text.is_empty() {
                break;
            }
            if status == 0 {
                status = text
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
            } else if let Some((name, value)) = text.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().ok();
                }
            }
        }
        let length = length.ok_or_else(|| std::io::Error::other("response without Content-Length"))?;
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        Ok((status, body))
    }
}

/// A child process with its stdout and stderr in a log file the test reads, killed (and reaped)
/// when dropped.
pub struct Process {
    pub name: String,
    pub child: std::process::Child,
    pub log: std::path::PathBuf,
}

impl Process {
    /// Starts `command` with stdin closed and stdout and stderr in a fresh log file.
    pub fn spawn(name: &str, command: &mut std::process::Command) -> Process {
        let log = temp_path(&format!("{}.log", name.replace('/', "_")));
        let out = std::fs::File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let child = command
            .stdin(std::process::Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({command:?}): {e}"));
        Process {
            name: name.to_string(),
            child,
            log,
        }
    }

    /// Everything it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Its last `lines` log lines, titled, for a failure message.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = self.log();
        let all: Vec<&str> = text.lines().collect();
        format!(
            "--- last lines of {} output ({}) ---\n{}",
            self.name,
            self.log.display(),
            all[all.len().saturating_sub(lines)..].join("\n")
        )
    }

    /// Its exit status, once it has exited.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits (20 s at most) until the log says `text`.
    pub fn wait_for_log(&self, text: &str) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !self.log().contains(text) {
            assert!(
                std::time::Instant::now() < deadline,
                "{} never logged {text:?}:\n{}",
                self.name,
                self.log()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The exporter binary in a process of its own (dummy AWS credentials, no instance metadata),
/// its output in a log file the test reads; killed when dropped. A [`Process`] (its `child`,
/// `log`, `log()`, `signal()`, `wait_for_log()`) that knows where it serves.
pub struct ExporterProcess {
    process: Process,
    /// Where it serves, when the test knows.
    pub address: String,
}

impl std::ops::Deref for ExporterProcess {
    type Target = Process;
    fn deref(&self) -> &Process {
        &self.process
    }
}

impl std::ops::DerefMut for ExporterProcess {
    fn deref_mut(&mut self) -> &mut Process {
        &mut self.process
    }
}

impl ExporterProcess {
    pub fn start(args: &[&str], address: &str) -> ExporterProcess {
        let process = Process::spawn(
            "gamelift-exporter",
            std::process::Command::new(env!("CARGO_BIN_EXE_gamelift-exporter"))
                .args(args)
                .env("AWS_ACCESS_KEY_ID", "AKIDTEST")
                .env("AWS_SECRET_ACCESS_KEY", "test-secret")
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .env("AWS_CONFIG_FILE", "/dev/null")
                .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
        );
        ExporterProcess {
            process,
            address: address.to_string(),
        }
    }

    /// Its `/metrics`, parsed; empty while it does not answer.
    pub async fn metrics(&self) -> BTreeMap<String, f64> {
        let address = self.address.clone();
        tokio::task::spawn_blocking(move || match std::net::TcpStream::connect(&address) {
            Ok(_) => parse_metrics(&http("GET", &address, "/metrics").2, ""),
            Err(_) => BTreeMap::new(),
        })
        .await
        .unwrap()
    }

    /// Polls `/metrics` until `done` holds (20 s at most).
    pub async fn wait_for(
        &self,
        what: &str,
        done: impl Fn(&BTreeMap<String, f64>) -> bool,
    ) -> BTreeMap<String, f64> {
        let started = std::time::Instant::now();
        loop {
            let metrics = self.metrics().await;
            if done(&metrics) {
                return metrics;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(20),
                "never saw {what}:\n{}",
                self.log()
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM; returns the exit code (10 s at most).
    pub fn stop(mut self) -> Option<i32> {
        self.signal("TERM");
        let started = std::time::Instant::now();
        loop {
            if let Some(status) = self.exited() {
                return status.code();
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "SIGTERM did not stop the exporter"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

/// Parses exposition text into `name{sorted labels}` -> value, for `prefix`ed metrics only.
pub fn parse_metrics(text: &str, prefix: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with('#') || !line.starts_with(prefix) {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("sample line has a value");
        let value: f64 = value.parse().expect("numeric sample");
        let key = match series.split_once('{') {
            None => series.to_string(),
            Some((name, labels)) => {
                let labels = labels.trim_end_matches('}');
                let mut pairs: Vec<&str> = split_labels(labels);
                pairs.sort();
                format!("{name}{{{}}}", pairs.join(","))
            }
        };
        out.insert(key, value);
    }
    out
}

fn split_labels(labels: &str) -> Vec<&str> {
    // Label values here never contain `",`; split on the separator between pairs.
    let mut parts = Vec::new();
    let mut start = 0;
    let bytes = labels.as_bytes();
    for i in 0..bytes.len() {
        if bytes[i] == b',' && i > 0 && bytes[i - 1] == b'"' {
            parts.push(&labels[start..i]);
            start = i + 1;
        }
    }
    if start < labels.len() {
        parts.push(&labels[start..]);
    }
    parts
}

/// A series key in the same form as [`parse_metrics`] produces.
pub fn series(name: &str, labels: &[(&str, &str)]) -> String {
    let mut pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    pairs.sort();
    if pairs.is_empty() {
        name.to_string()
    } else {
        format!("{name}{{{}}}", pairs.join(","))
    }
}

/// The session metrics an exact exporter must publish, computed from raw sessions only.
pub fn expected_session_metrics(
    sessions: &[SessionRecord],
    locations: &[(String, Vec<String>)],
) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for (fleet, fleet_locations) in locations {
        for location in fleet_locations {
            let l = [("fleet_id", fleet.as_str()), ("location", location.as_str())];
            for status in ["ACTIVE", "ACTIVATING", "TERMINATING", "TERMINATED", "ERROR"] {
                out.insert(
                    series(
                        "gamelift_game_sessions",
                        &[l[0], l[1], ("status", status), ("status_reason", "")],
                    ),
                    0.0,
                );
            }
            for name in [
                "gamelift_game_session_players",
                "gamelift_game_session_player_slots",
                "gamelift_game_session_open_slots",
            ] {
                out.insert(series(name, &l), 0.0);
            }
            for occupancy in ["empty", "partial", "full"] {
                out.insert(
                    series(
                        "gamelift_game_sessions_by_occupancy",
                        &[l[0], l[1], ("occupancy", occupancy)],
                    ),
                    0.0,
                );
            }
        }
    }
    let mut last_interruption: BTreeMap<String, i64> = BTreeMap::new();
    for s in sessions {
        let l = [
            ("fleet_id", s.fleet_id.as_str()),
            ("location", s.location.as_str()),
        ];
        let reason = s.status_reason.unwrap_or("");
        *out.entry(series(
            "gamelift_game_sessions",
            &[l[0], l[1], ("status", s.status), ("status_reason", reason)],
        ))
        .or_default() += 1.0;
        if s.status == "ACTIVE" {
            *out.entry(series("gamelift_game_session_players", &l))
                .or_default() += s.current_players as f64;
            *out.entry(series("gamelift_game_session_player_slots", &l))
                .or_default() += s.max_players as f64;
            if s.accept_all {
                *out.entry(series("gamelift_game_session_open_slots", &l))
                    .or_default() += (s.max_players - s.current_players.min(s.max_players)) as f64;
            }
            let occupancy = if s.current_players == 0 {
                "empty"
            } else if s.current_players >= s.max_players {
                "full"
            } else {
                "partial"
            };
            *out.entry(series(
                "gamelift_game_sessions_by_occupancy",
                &[l[0], l[1], ("occupancy", occupancy)],
            ))
            .or_default() += 1.0;
        }
        if reason == "INTERRUPTED" {
            if let Some(ended) = s.termination_time_ms {
                let key = series("gamelift_game_session_last_interruption_timestamp_seconds", &l);
                let entry = last_interruption.entry(key).or_insert(ended);
                *entry = (*entry).max(ended);
            }
        }
    }
    for (key, ms) in last_interruption {
        out.insert(key, ms as f64 / 1000.0);
    }
    out
}

/// Keeps only the series of the given metric names.
pub fn only(metrics: &BTreeMap<String, f64>, names: &[&str]) -> BTreeMap<String, f64> {
    metrics
        .iter()
        .filter(|(k, _)| names.iter().any(|n| k.split('{').next() == Some(n)))
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

/// Asserts two metric maps are equal, printing only the differences.
#[track_caller]
pub fn assert_metrics_eq(actual: &BTreeMap<String, f64>, expected: &BTreeMap<String, f64>, what: &str) {
    let mut diff = Vec::new();
    for (key, want) in expected {
        match actual.get(key) {
            None => diff.push(format!("  missing  {key} (expected {want})")),
            Some(got) if (got - want).abs() > 1e-6 => {
                diff.push(format!("  wrong    {key}: got {got}, expected {want}"))
            }
            _ => {}
        }
    }
    for (key, got) in actual {
        if !expected.contains_key(key) {
            diff.push(format!("  extra    {key} = {got}"));
        }
    }
    assert!(
        diff.is_empty(),
        "{what}: {} differences\n{}",
        diff.len(),
        diff.join("\n")
    );
}

/// Whether an external tool is on PATH; when it is not, prints `SKIPPED: ...` (the caller then
/// skips), except in CI, where it panics: CI never skips.
pub fn require_tool(tool: &str) -> bool {
    require_tool_at(tool, &[]).is_some()
}

/// [`require_tool`] that also looks at `fallbacks` (absolute paths, for tools outside PATH) and
/// returns where the tool is.
pub fn require_tool_at(tool: &str, fallbacks: &[&str]) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let on_path: Vec<std::path::PathBuf> = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).map(|d| d.join(tool)).collect())
        .unwrap_or_default();
    let found = on_path
        .into_iter()
        .chain(fallbacks.iter().map(std::path::PathBuf::from))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0));
    required(found.is_some(), &format!("{tool} (on PATH or at {fallbacks:?})"));
    found
}

/// The one rule for what a test needs from outside: without it the test is skipped with a
/// `SKIPPED: ...` line, except in CI, which must never skip. Returns `available`.
pub fn required(available: bool, what: &str) -> bool {
    if !available {
        if std::env::var_os("CI").is_some() {
            panic!("{what} is required in CI but was not found");
        }
        eprintln!("SKIPPED: {what} not found (install it; CI never skips)");
    }
    available
}

/// CPU time of every thread of a process, from the scheduler's nanosecond accounting.
pub fn cpu_seconds(pid: u32) -> f64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0.0;
    };
    tasks
        .filter_map(|t| t.ok())
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()))
        .sum::<u64>() as f64
        / 1e9
}

/// The sum of every series of `name` whose labels include `labels` (others, such as account
/// and region, summed over).
pub fn total(metrics: &BTreeMap<String, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    metrics
        .iter()
        .filter(|(key, _)| {
            key.split('{').next() == Some(name)
                && labels.iter().all(|(k, v)| key.contains(&format!("{k}=\"{v}\"")))
        })
        .map(|(_, value)| value)
        .sum()
}

/// The metrics that describe sessions (as opposed to the exporter or fleets).
pub const SESSION_METRICS: [&str; 6] = [
    "gamelift_game_sessions",
    "gamelift_game_session_players",
    "gamelift_game_session_player_slots",
    "gamelift_game_session_open_slots",
    "gamelift_game_sessions_by_occupancy",
    "gamelift_game_session_last_interruption_timestamp_seconds",
];

/// The exporter's wall time in the harness: the simulator's clock (which only the test moves)
/// plus the real time since the harness started, so that a test that moves simulated time moves
/// the exporter's too, and a test that runs the daemon's schedule in real time sees timestamps
/// and staleness move as they would.
#[derive(Clone)]
pub struct SimClock {
    pub sim: gamelift_exporter::simulator::Simulator,
    pub started: std::time::Instant,
}

impl std::fmt::Debug for SimClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SimClock")
    }
}

impl gamelift_exporter::clock::Clock for SimClock {
    fn now_ms(&self) -> i64 {
        self.sim.now_ms() + self.started.elapsed().as_millis() as i64
    }
}

/// A simulator with an exporter in front of it, serving HTTP on loopback.
pub struct Harness {
    pub sim: RunningSimulator,
    pub exporter: Arc<Exporter>,
    pub address: String,
    /// The exporter's config file (rewrite it and reload to test reloads).
    pub config_path: std::path::PathBuf,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// The harness's exporter config, as a typed [`Config`]: the simulator's endpoint, Regions
/// us-west-2 and eu-west-1, budgets too large to matter, no retries, page size 7.
pub fn test_config(url: &str) -> Config {
    let mut config = Config::default();
    config.aws.regions = vec!["us-west-2".into(), "eu-west-1".into()];
    config.aws.endpoint_url = Some(url.to_string());
    config.aws.max_requests_per_second = 1000.0;
    // Per-operation budgets too large to matter (AWS's rates x 1000, capped at 1000/s).
    config.aws.quota_share = 1000.0;
    config.aws.max_attempts = 1;
    config.sweep.page_size = 7;
    config
}

/// Whole seconds, for test configs.
pub fn secs(n: u64) -> std::time::Duration {
    std::time::Duration::from_secs(n)
}

impl Harness {
    /// A simulator on `world` and an exporter on [`test_config`], changed by `adjust`.
    pub async fn start(world: &str, adjust: impl FnOnce(&mut Config)) -> Harness {
        Harness::with_config(world, |url| {
            let mut config = test_config(url);
            adjust(&mut config);
            config
        })
        .await
    }

    /// A simulator on `world` and an exporter whose whole config `config(simulator_url)` makes.
    /// The config is written to a file (as `--check-config` prints it) and loaded from there,
    /// as the daemon would, so that reloads have a file to read.
    pub async fn with_config(world: &str, config: impl FnOnce(&str) -> Config) -> Harness {
        let sim = Simulator::start(&scenario(world), Clock::Manual).await.unwrap();
        let config = config(&sim.url);
        let config_path = temp_path("exporter.toml");
        std::fs::write(&config_path, config.to_toml()).unwrap();
        let loaded = Config::load(&config_path).unwrap();
        assert_eq!(
            Config {
                source: None,
                ..loaded.clone()
            },
            Config {
                source: None,
                ..config
            },
            "a test config survives its own file"
        );
        let exporter = Exporter::new(
            loaded,
            Options {
                connection: gamelift_exporter::aws::Connection {
                    credentials: Some(simulator_credentials()),
                    http_client: None,
                    clock: Arc::new(SimClock {
                        sim: sim.simulator.clone(),
                        started: std::time::Instant::now(),
                    }),
                },
                overrides: Default::default(),
            },
        )
        .await
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(gamelift_exporter::http::serve(
            listener,
            exporter.clone(),
            async {
                let _ = stopped.await;
            },
        ));
        Harness {
            sim,
            exporter,
            address,
            config_path,
            _stop: stop,
        }
    }

    /// Writes the running config, changed by `adjust`, to the config file (then reload).
    pub fn write_config(&self, adjust: impl FnOnce(&mut Config)) -> Config {
        let mut config = Config {
            source: None,
            ..(*self.exporter.config()).clone()
        };
        adjust(&mut config);
        std::fs::write(&self.config_path, config.to_toml()).unwrap();
        config
    }

    pub async fn get(&self, path: &str) -> (u16, String, String) {
        let address = self.address.clone();
        let path = path.to_string();
        tokio::task::spawn_blocking(move || http("GET", &address, &path))
            .await
            .unwrap()
    }

    pub async fn scrape(&self) -> (String, BTreeMap<String, f64>) {
        let (status, head, body) = self.get("/metrics").await;
        assert_eq!(status, 200);
        assert!(
            head.contains("content-type: text/plain; version=0.0.4; charset=utf-8"),
            "{head}"
        );
        let metrics = parse_metrics(&body, "");
        (body, metrics)
    }

    /// Scrapes as Prometheus does, until no count waits for its series' first 0 to be served
    /// (a new series shows 0 in one response and its count in the next): what a scrape sees
    /// once everything counted so far has reached the page.
    pub async fn scrape_settled(&self) -> (String, BTreeMap<String, f64>) {
        let mut scraped = self.scrape().await;
        for _ in 0..3 {
            if !self.exporter.store().has_waiting_counts() {
                break;
            }
            scraped = self.scrape().await;
        }
        scraped
    }

    /// Ground truth for the session metrics, from the simulator's raw sessions.
    pub fn truth(&self) -> BTreeMap<String, f64> {
        expected_session_metrics(&self.sim.sessions(), &self.sim.fleets())
    }

    /// `name{fleet_id, location}` at 0 for every location of every fleet of the simulator.
    pub fn zero_per_location(&self, name: &str) -> BTreeMap<String, f64> {
        self.sim
            .fleets()
            .iter()
            .flat_map(|(fleet, locations)| {
                locations
                    .iter()
                    .map(move |l| (series(name, &[("fleet_id", fleet), ("location", l)]), 0.0))
            })
            .collect()
    }

    pub fn calls(&self, operation: &str) -> usize {
        self.sim
            .requests()
            .iter()
            .filter(|r| r.operation == operation)
            .count()
    }
}

/// A fresh path in a per-test-process temporary directory.
pub fn temp_path(name: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!("gamelift-exporter-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{}-{name}", NEXT.fetch_add(1, Ordering::Relaxed)))
}

/// A fresh, empty directory in the per-test-process temporary directory.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = temp_path(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A loopback port that was free a moment ago, for processes that must be told their address.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts the exporter's own schedule (as the daemon runs it); stops it when dropped.
pub struct Scheduled {
    stop: tokio::sync::watch::Sender<bool>,
}

impl Scheduled {
    pub fn start(h: &Harness) -> Scheduled {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(h.exporter.clone().run_schedule(stopped));
        Scheduled { stop }
    }
}

impl Drop for Scheduled {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
