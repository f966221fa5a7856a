//! A bounded soak: the real exporter binary sweeps a churning, faulty simulated world every
//! second for a few minutes (SOAK_SECONDS, default 150). Its memory must stay flat and its
//! interruption counter must end equal to the interruptions that happened. Figures are printed.

use crate::support;

use crate::support::{assert_metrics_eq, http, only, parse_metrics, scenario, temp_path, SESSION_METRICS};
use gamelift_exporter::simulator::{Clock, Faults, Simulator};
use std::io::Write as _;
use std::time::{Duration, Instant};

const WORLD: &str = r#"
seed = 2024
[faults]
rate_limits = {}

[[fleet]]
id = "fleet-50a50000-0000-4000-8000-000000000001"
name = "soak-spot"
type = "SPOT"
home_region = "us-west-2"
locations = ["us-east-1", "eu-west-1"]
[fleet.sessions]
active = 150
activating = 5
terminated = 500
interrupted = 20
[fleet.churn]
new_sessions_per_tick = 3
end_probability = 0.02
player_change = 3
interruption_probability = 0.05
interruption_fraction = 0.1

[[fleet]]
id = "fleet-50a50000-0000-4000-8000-000000000002"
name = "soak-ondemand"
type = "ON_DEMAND"
home_region = "us-west-2"
[fleet.sessions]
active = 300
terminated = 1000
[fleet.churn]
new_sessions_per_tick = 6
end_probability = 0.02
player_change = 2
"#;

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_keeps_memory_flat_and_loses_no_interruption() {
    let seconds: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(150);
    let sim = Simulator::start(&scenario(WORLD), Clock::Manual).await.unwrap();
    let sim_start_ms = sim.now_ms();
    let port = support::free_port();
    let address = format!("127.0.0.1:{port}");
    let config = temp_path("soak.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"{address}\"\n[aws]\nregion = \"us-west-2\"\nendpoint_url = \"{}\"\nmax_requests_per_second = 200\nquota_share = 10\nmax_attempts = 3\nrequest_timeout = \"2s\"\n[sweep]\ninterval = \"1s\"\nhistory_interval = \"3s\"\ndiscovery_interval = \"30s\"\npage_size = 50\n",
            sim.url
        ),
    )
    .unwrap();
    let exporter = support::ExporterProcess::start(
        &["--config", config.to_str().unwrap(), "--log-level", "warn"],
        &address,
    );
    let pid = exporter.child.id();
    let get = |path: &'static str| {
        let address = address.clone();
        tokio::task::spawn_blocking(move || {
            std::net::TcpStream::connect(&address)
                .map(|_| http("GET", &address, path))
                .unwrap_or((0, String::new(), String::new()))
        })
    };
    let ready_by = Instant::now() + Duration::from_secs(30);
    while get("/-/ready").await.unwrap().0 != 200 {
        assert!(
            Instant::now() < ready_by,
            "exporter never became ready:\n{}",
            exporter.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mixed = Faults {
        throttle_ratio: 0.1,
        server_error_ratio: 0.05,
        drop_connection_ratio: 0.03,
        malformed_body_ratio: 0.03,
        latency: Duration::from_millis(5),
        ..Faults::none()
    };
    let started = Instant::now();
    let mut samples: Vec<(f64, u64)> = Vec::new();
    let mut last_counter = 0.0;
    let mut scrapes = 0;
    let mut step = 0u64;
    while started.elapsed() < Duration::from_secs(seconds) {
        step += 1;
        sim.advance(Duration::from_secs(10));
        sim.set_faults(if (step / 10) % 2 == 1 {
            mixed.clone()
        } else {
            Faults::none()
        });
        let (status, _, body) = get("/metrics").await.unwrap();
        assert_eq!(status, 200, "scrape {scrapes} answered");
        scrapes += 1;
        let metrics = parse_metrics(&body, "gamelift_game_session_interruptions_total");
        let counter: f64 = metrics.values().sum();
        assert!(
            counter >= last_counter,
            "the interruption counter went down ({last_counter} -> {counter})"
        );
        last_counter = counter;
        samples.push((started.elapsed().as_secs_f64(), rss_kib(pid)));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    // Quiet world, no faults: wait for full passes to catch up, then check every number.
    sim.set_faults(Faults::none());
    let settle = Instant::now();
    let truth = support::expected_session_metrics(&sim.sessions(), &sim.fleets());
    let interrupted = sim
        .sessions()
        .iter()
        .filter(|s| s.status_reason == Some("INTERRUPTED") && s.termination_time_ms > Some(sim_start_ms))
        .count() as f64;
    let (counter, session_metrics) = loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (_, _, body) = get("/metrics").await.unwrap();
        let metrics = parse_metrics(&body, "gamelift_");
        let counter: f64 = only(&metrics, &["gamelift_game_session_interruptions_total"])
            .values()
            .sum();
        let sessions = only(&metrics, &SESSION_METRICS);
        if (counter == interrupted && sessions == truth) || settle.elapsed() > Duration::from_secs(20) {
            break (counter, sessions);
        }
    };
    drop(exporter);

    let warm: Vec<u64> = samples
        .iter()
        .filter(|(t, _)| *t >= seconds as f64 * 0.2 && *t < seconds as f64 * 0.4)
        .map(|s| s.1)
        .collect();
    let late: Vec<u64> = samples
        .iter()
        .filter(|(t, _)| *t >= seconds as f64 * 0.75)
        .map(|s| s.1)
        .collect();
    let warm_max = warm.iter().copied().max().unwrap_or(0);
    let late_max = late.iter().copied().max().unwrap_or(0);
    let peak = samples.iter().map(|s| s.1).max().unwrap_or(0);
    let sessions_now = sim.sessions().len();
    // Written to stderr directly (not eprintln!), so the figures show even when the test harness
    // captures the output of passing tests.
    let _ = writeln!(
        std::io::stderr(),
        "soak: {seconds}s, {step} world steps (10 simulated seconds each), {scrapes} scrapes, {sessions_now} sessions visible at the end\n\
         soak: exporter RSS after warm-up {:.1} MiB, in the last quarter {:.1} MiB, peak {:.1} MiB\n\
         soak: interruptions counted {counter}, happened {interrupted}",
        warm_max as f64 / 1024.0,
        late_max as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    assert_eq!(counter, interrupted, "no lost or double-counted interruption");
    assert_metrics_eq(&session_metrics, &truth, "after the soak");
    assert!(interrupted > 0.0, "the soak had interruptions");
    assert!(
        late_max <= warm_max + warm_max / 10 + 2048,
        "memory grew from {warm_max} KiB to {late_max} KiB"
    );
}
