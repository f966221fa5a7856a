//! The sweep benchmark: the real exporter (its own process) against the simulator (its own
//! process) on loopback, compared with a naive sweep (a third process).
//!
//! `cargo bench --bench sweep` runs 10,000 and 100,000 sessions (`-- --with-1m` adds 1,000,000),
//! each with a terminated history of 10x the live sessions, and prints one table. Run by
//! `cargo test --all-targets` (without `--bench`), it is a smoke test on tiny worlds that asserts
//! only the deterministic call counts.

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const EXPORTER: &str = env!("CARGO_BIN_EXE_gamelift-exporter");
const PAGE: usize = 100;

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

/// One generated world and the numbers the exporter's cost is judged against.
struct World {
    toml: String,
    total: usize,
    live: usize,
    /// Σ over fleets of ⌈live / page⌉: the fewest calls any exact sweep of live sessions needs.
    live_minimum: usize,
    /// Σ over fleets of max(1, ⌈ACTIVE / page⌉): what the exporter's live sweep must cost.
    expected_steady_calls: usize,
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
            "\n[[fleet]]\nid = \"fleet-be0c0000-0000-4000-8000-{index:012}\"\nname = \"bench-{index}\"\ntype = \"{}\"\nhome_region = \"us-west-2\"\nlocations = [{}]\n[fleet.sessions]\nactive = {active}\nactivating = {activating}\nterminating = {terminating}\nterminated = {terminated}\ninterrupted = {interrupted}\n",
            if *spot { "SPOT" } else { "ON_DEMAND" },
            remote.join(", ")
        ));
        let fleet_live = per_location * locations;
        live += fleet_live;
        total += (per_location + history) * locations;
        live_minimum += fleet_live.div_ceil(PAGE);
        expected += (active * locations).div_ceil(PAGE).max(1);
    }
    World {
        toml,
        total,
        live,
        live_minimum,
        expected_steady_calls: expected,
    }
}

/// CPU time of every thread of a process, from the scheduler's nanosecond accounting.
fn cpu_seconds(pid: &str) -> f64 {
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

fn status_kib(pid: &str, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

struct Process(Child);
impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gamelift-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn start_simulator(world: &World) -> (Process, String) {
    let path = temp("scenario.toml");
    std::fs::write(&path, &world.toml).unwrap();
    let mut child = Command::new(EXPORTER)
        .args(["simulate", "--scenario"])
        .arg(&path)
        .args(["--listen", "127.0.0.1:0", "--speed", "0", "--log-level", "warn"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("simulator listening on ")
        .expect("simulator prints its address")
        .to_string();
    (Process(child), url)
}

fn http_get(address: &str, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    raw.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default()
}

/// Waits for the `n`th "sweep complete" line of the exporter's JSON log and returns its fields.
fn wait_for_sweep(log: &Path, n: usize, timeout: Duration) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let sweeps: Vec<Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["fields"]["message"] == "sweep complete")
            .collect();
        if sweeps.len() >= n {
            return sweeps[n - 1]["fields"].clone();
        }
        assert!(
            Instant::now() < deadline,
            "no sweep {n} within {timeout:?}; log:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// 50 (or `scrapers`) keep-alive scrapers for `seconds`; returns sorted latencies.
fn scrape_latencies(address: &str, scrapers: usize, seconds: f64) -> Vec<Duration> {
    let stop = Instant::now() + Duration::from_secs_f64(seconds);
    let threads: Vec<_> = (0..scrapers)
        .map(|_| {
            let address = address.to_string();
            std::thread::spawn(move || {
                let mut latencies = Vec::new();
                let mut stream = std::net::TcpStream::connect(&address).unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                while Instant::now() < stop {
                    let started = Instant::now();
                    write!(stream, "GET /metrics HTTP/1.1\r\nHost: bench\r\n\r\n").unwrap();
                    let mut length = 0;
                    loop {
                        let mut line = String::new();
                        reader.read_line(&mut line).unwrap();
                        if line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    latencies.push(started.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut all: Vec<Duration> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    all.sort();
    all
}

/// The same load from `wrk` (Debian package), an efficient load generator in its own process,
/// so that the scrapers do not eat the CPU the exporter is measured on. Returns (p50, p99,
/// requests), or `None` when wrk is not installed.
fn wrk_latencies(address: &str, connections: usize, seconds: f64) -> Option<(Duration, Duration, usize)> {
    let output = Command::new("wrk")
        .args([
            "--latency",
            "-t",
            "2",
            "-c",
            &connections.to_string(),
            "-d",
            &format!("{seconds}s"),
        ])
        .arg(format!("http://{address}/metrics"))
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let parse = |value: &str| -> Option<Duration> {
        let (number, unit) = value.split_at(value.find(|c: char| c.is_ascii_alphabetic())?);
        let number: f64 = number.parse().ok()?;
        Some(Duration::from_secs_f64(match unit {
            "us" => number / 1e6,
            "ms" => number / 1e3,
            "s" => number,
            _ => return None,
        }))
    };
    let mut p50 = None;
    let mut p99 = None;
    let mut requests = None;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", value] => p50 = parse(value),
            ["99%", value] => p99 = parse(value),
            [count, "requests", "in", ..] => requests = count.parse().ok(),
            _ => {}
        }
    }
    Some((p50?, p99?, requests?))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

struct Row {
    label: String,
    total: usize,
    live: usize,
    live_minimum: usize,
    steady_calls: BTreeMap<String, usize>,
    steady_dgs: usize,
    expected_steady: usize,
    sweep_seconds: f64,
    cpu_per_sweep: f64,
    peak_rss_mib: f64,
    p50_ms: f64,
    p99_ms: f64,
    scrapes: usize,
    /// What generated the scrape load: `wrk`, or threads in this process.
    load: &'static str,
    sim_pages_per_second: f64,
    naive: Option<Value>,
}

fn run(world: &World, label: &str, scrapers: usize, scrape_seconds: f64, naive: bool) -> Row {
    let (_simulator, url) = start_simulator(world);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let config = temp("exporter.toml");
    // No client budget and no retries: the benchmark measures the exporter, not the quota.
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"{address}\"\n[aws]\nregion = \"us-west-2\"\nendpoint_url = \"{url}\"\nmax_requests_per_second = 100000\nmax_attempts = 1\nrequest_timeout = \"60s\"\n[sweep]\ninterval = \"4s\"\nhistory_interval = \"1h\"\ndiscovery_interval = \"1h\"\npage_size = {PAGE}\ntimeout = \"30m\"\n"
        ),
    )
    .unwrap();
    let log = temp(&format!("exporter-{label}.log"));
    let exporter = Process(
        Command::new(EXPORTER)
            .args([
                "--config",
                config.to_str().unwrap(),
                "--log-format",
                "json",
                "--log-level",
                "info",
            ])
            .env("AWS_ACCESS_KEY_ID", "AKIDBENCH")
            .env("AWS_SECRET_ACCESS_KEY", "bench")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let pid = exporter.0.id().to_string();

    // Warm-up: discovery and the first, full sweep (every session once). The simulator's pace
    // shows here: pages served per second of that sweep.
    let full = wait_for_sweep(&log, 1, Duration::from_secs(1800));
    let cpu_after_full = cpu_seconds(&pid);
    let full_seconds: f64 = full["duration_seconds"].as_str().unwrap().parse().unwrap();
    let full_pages = full["full_pass_calls"].as_u64().unwrap() as f64;

    // The steady-state sweep: exporter CPU between the end of one sweep and the end of the next.
    let steady = wait_for_sweep(&log, 2, Duration::from_secs(600));
    let cpu_after_steady = cpu_seconds(&pid);
    let requests: Value = serde_json::from_str(&http_get(
        url.trim_start_matches("http://"),
        "/_simulator/requests",
    ))
    .unwrap();
    let mut steady_calls = BTreeMap::new();
    for request in requests.as_array().unwrap() {
        // Only live passes filter by status; discovery and the full pass never do.
        if request["Params"].as_str().unwrap().contains("StatusFilter") {
            *steady_calls
                .entry(request["Operation"].as_str().unwrap().to_string())
                .or_insert(0) += 1;
        }
    }
    let steady_dgs = steady_calls.get("DescribeGameSessions").copied().unwrap_or(0);
    assert_eq!(
        steady["live_pass_calls"].as_u64().unwrap() as usize,
        steady_dgs,
        "exporter log and simulator log agree"
    );
    // Two more steady sweeps, to average out a noisy shared machine.
    let mut cpu_samples = vec![cpu_after_steady - cpu_after_full];
    let mut previous = cpu_after_steady;
    for n in 3..=4 {
        wait_for_sweep(&log, n, Duration::from_secs(600));
        let cpu = cpu_seconds(&pid);
        cpu_samples.push(cpu - previous);
        previous = cpu;
    }

    let (p50, p99, scrapes, load) =
        match wrk_latencies(&address, scrapers, scrape_seconds).filter(|_| scrapers >= 50) {
            Some((p50, p99, requests)) => (p50, p99, requests, "wrk"),
            None => {
                let latencies = scrape_latencies(&address, scrapers, scrape_seconds);
                (
                    percentile(&latencies, 0.5),
                    percentile(&latencies, 0.99),
                    latencies.len(),
                    "threads",
                )
            }
        };
    let peak_rss_mib = status_kib(&pid, "VmHWM:") as f64 / 1024.0;
    drop(exporter);

    let naive = naive.then(|| {
        let output = Command::new(std::env::current_exe().unwrap())
            .args(["--naive-sweep", &url])
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
        live_minimum: world.live_minimum,
        steady_calls,
        steady_dgs,
        expected_steady: world.expected_steady_calls,
        sweep_seconds: steady["duration_seconds"].as_str().unwrap().parse().unwrap(),
        cpu_per_sweep: cpu_samples.iter().sum::<f64>() / cpu_samples.len() as f64,
        peak_rss_mib,
        p50_ms: p50.as_secs_f64() * 1000.0,
        p99_ms: p99.as_secs_f64() * 1000.0,
        scrapes,
        load,
        sim_pages_per_second: full_pages / full_seconds,
        naive,
    }
}

/// What a typical script does: list every fleet's sessions with no filter, keep every page in
/// memory, then aggregate everything. Runs in its own process and reports its own CPU and peak
/// memory for the sweep.
fn naive_sweep(url: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pid = std::process::id().to_string();
    let result = runtime.block_on(async {
        let config = aws_sdk_gamelift::Config::builder()
            .behavior_version(aws_sdk_gamelift::config::BehaviorVersion::latest())
            .region(aws_sdk_gamelift::config::Region::new("us-west-2"))
            .endpoint_url(url)
            .credentials_provider(gamelift_exporter::aws::simulator_credentials())
            .build();
        let client = aws_sdk_gamelift::Client::from_conf(config);
        let mut cpu = Vec::new();
        let mut wall = Vec::new();
        let (mut calls, mut sessions_seen, mut series) = (0, 0, 0);
        for _ in 0..3 {
            let cpu_before = cpu_seconds(&pid);
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
            cpu.push(cpu_seconds(&pid) - cpu_before);
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
            "peak_rss_mib": status_kib(&pid, "VmHWM:") as f64 / 1024.0,
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
    let (scrapers, scrape_seconds) = if full { (50, 10.0) } else { (5, 1.0) };

    eprintln!("machine: {}", machine());
    let mut rows = Vec::new();
    for (label, live) in &sizes {
        eprintln!("running {label} sessions (history 10x)...");
        rows.push(run(&world(*live, 10), label, scrapers, scrape_seconds, true));
    }
    // The ratio must not grow with history: the smallest world again with 0x and 30x history.
    let mut history_ratios = Vec::new();
    for factor in [0, 10, 30] {
        let live = sizes[0].1;
        let w = world(live, factor);
        let row = if factor == 10 {
            None
        } else {
            eprintln!("running history {factor}x of {live} live sessions...");
            Some(run(&w, &format!("history {factor}x"), 2, 0.2, false))
        };
        let calls = row.as_ref().map_or(rows[0].steady_dgs, |r| r.steady_dgs);
        history_ratios.push((factor, calls, w.live_minimum));
    }

    println!("\nmachine: {}\n", machine());
    print!("| figure |");
    for row in &rows {
        print!(" {} sessions |", row.label);
    }
    println!("\n|---|{}", "---|".repeat(rows.len()));
    let line = |name: &str, f: &dyn Fn(&Row) -> String| {
        print!("| {name} |");
        for row in &rows {
            print!(" {} |", f(row));
        }
        println!();
    };
    line("live / total sessions", &|r| format!("{} / {}", r.live, r.total));
    line("API calls per steady-state sweep, by operation", &|r| {
        r.steady_calls
            .iter()
            .map(|(op, n)| format!("{op} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    });
    line("live minimum Σ⌈live/page⌉ (page 100)", &|r| {
        r.live_minimum.to_string()
    });
    line("ratio calls / live minimum", &|r| {
        format!("{:.3}", r.steady_dgs as f64 / r.live_minimum as f64)
    });
    line("steady-state sweep wall time", &|r| {
        format!("{:.3} s", r.sweep_seconds)
    });
    line("exporter CPU per steady-state sweep (mean of 3)", &|r| {
        format!("{:.4} s", r.cpu_per_sweep)
    });
    line("exporter peak RSS (VmHWM)", &|r| {
        format!("{:.1} MiB", r.peak_rss_mib)
    });
    line(
        &format!("/metrics p50 / p99 ({scrapers} scrapers, {scrape_seconds} s)"),
        &|r| {
            format!(
                "{:.2} / {:.2} ms ({} scrapes, {})",
                r.p50_ms, r.p99_ms, r.scrapes, r.load
            )
        },
    );
    line("simulator throughput (full sweep)", &|r| {
        format!("{:.0} pages/s", r.sim_pages_per_second)
    });
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
    line("naive / exporter: calls, CPU", &|r| {
        r.naive.as_ref().map_or("-".into(), |n| {
            format!(
                "{:.1}x, {:.1}x",
                n["calls"].as_f64().unwrap() / r.steady_dgs as f64,
                n["cpu_seconds"].as_f64().unwrap() / r.cpu_per_sweep
            )
        })
    });
    print!(
        "\ncalls / live minimum by history size ({} live sessions):",
        sizes[0].1
    );
    for (factor, calls, minimum) in &history_ratios {
        print!(
            " {factor}x: {calls}/{minimum} = {:.3};",
            *calls as f64 / *minimum as f64
        );
    }
    println!();

    // Deterministic checks, in smoke and full runs alike.
    for row in &rows {
        assert_eq!(
            row.steady_dgs, row.expected_steady,
            "{}: calls per steady-state sweep",
            row.label
        );
    }
    let first = history_ratios[0].1;
    assert!(
        history_ratios.iter().all(|(_, calls, _)| *calls == first),
        "calls per sweep grew with history"
    );

    if full {
        println!("\ntargets:");
        let verdict = |ok: bool| if ok { "PASS" } else { "FAIL" };
        let worst_ratio = rows
            .iter()
            .map(|r| r.steady_dgs as f64 / r.live_minimum as f64)
            .fold(0.0, f64::max);
        println!("- calls per steady-state sweep <= 1.1 x live minimum, independent of history: {} (worst {worst_ratio:.3})", verdict(worst_ratio <= 1.1));
        if let Some(row) = rows.iter().find(|r| r.label == "1,000,000") {
            println!(
                "- peak RSS <= 40 MiB at 1,000,000 sessions: {} ({:.1} MiB)",
                verdict(row.peak_rss_mib <= 40.0),
                row.peak_rss_mib
            );
        } else {
            println!("- peak RSS <= 40 MiB at 1,000,000 sessions: not run (add -- --with-1m)");
        }
        let worst_p99 = rows.iter().map(|r| r.p99_ms).fold(0.0, f64::max);
        println!(
            "- /metrics p99 <= 5 ms under 50 scrapers: {} (worst {worst_p99:.2} ms)",
            verdict(worst_p99 <= 5.0)
        );
        if let Some(row) = rows.iter().find(|r| r.label == "100,000") {
            let ratio = row.naive.as_ref().unwrap()["cpu_seconds"].as_f64().unwrap() / row.cpu_per_sweep;
            println!(
                "- exporter CPU per sweep >= 10x below the naive sweep at 100,000: {} ({ratio:.1}x)",
                verdict(ratio >= 10.0)
            );
        }
    }
    let _ = std::fs::remove_dir_all(temp("x").parent().unwrap());
    // The deterministic checks above passed: one per world, plus history independence.
    println!("\nbenchmark: {} passed, 0 failed", rows.len() + 1);
}
