//! Reliability and security: injected faults never make the exporter publish a partial or wrong
//! number, the client budget holds, reloads are safe, and hostile HTTP clients cannot starve a
//! scrape.

use crate::support;

use crate::support::{
    assert_metrics_eq, http, only, parse_metrics, secs, series, temp_path, Harness, SESSION_METRICS,
};
use gamelift_exporter::config::{Config, Glob};
use gamelift_exporter::simulator::Faults;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SPOT: &str = "fleet-5b0a0000-0000-4000-8000-0000000000a1";
const ONDEMAND: &str = "fleet-0d0a0000-0000-4000-8000-0000000000a2";

fn churning_world(scale: u32) -> String {
    format!(
        r#"
seed = 99
[faults]
rate_limits = {{}}

[[fleet]]
id = "{SPOT}"
name = "spot"
type = "SPOT"
home_region = "us-west-2"
locations = ["us-east-1"]
[fleet.sessions]
active = {a}
activating = 1
terminating = 1
terminated = {t}
interrupted = 3
[fleet.churn]
new_sessions_per_tick = 0.8
end_probability = 0.03
player_change = 3
interruption_probability = 0.2
interruption_fraction = 0.3

[[fleet]]
id = "{ONDEMAND}"
name = "ondemand"
type = "ON_DEMAND"
home_region = "us-west-2"
[fleet.sessions]
active = {b}
terminated = {t}
[fleet.churn]
new_sessions_per_tick = 0.5
end_probability = 0.03
player_change = 2
"#,
        a = 15 * scale,
        b = 20 * scale,
        t = 5 * scale
    )
}

/// One Region, pages of 5, a full pass every round.
fn config(url: &str) -> Config {
    let mut c = support::test_config(url);
    c.aws.regions = vec!["us-west-2".into()];
    c.sweep.page_size = 5;
    c.sweep.history_interval = secs(0);
    c
}

fn fleet_series(metrics: &BTreeMap<String, f64>, fleet: &str) -> BTreeMap<String, f64> {
    let needle = format!("fleet_id=\"{fleet}\"");
    only(metrics, &SESSION_METRICS)
        .into_iter()
        .filter(|(k, _)| k.contains(&needle))
        .collect()
}

/// What a fleet's live passes publish (live statuses, players, slots, occupancy).
fn live_series(metrics: &BTreeMap<String, f64>, fleet: &str) -> BTreeMap<String, f64> {
    fleet_series(metrics, fleet)
        .into_iter()
        .filter(|(k, _)| !is_history(k))
        .collect()
}

/// What a fleet's full passes publish: TERMINATED and ERROR counts (and the newest
/// interruption, which either kind of pass may move).
fn history_series(metrics: &BTreeMap<String, f64>, fleet: &str) -> BTreeMap<String, f64> {
    fleet_series(metrics, fleet)
        .into_iter()
        .filter(|(k, _)| is_history(k) && !k.starts_with("gamelift_game_session_last_interruption"))
        .collect()
}

fn is_history(key: &str) -> bool {
    key.contains("status=\"TERMINATED\"")
        || key.contains("status=\"ERROR\"")
        || key.starts_with("gamelift_game_session_last_interruption")
}

fn interruptions_total(metrics: &BTreeMap<String, f64>) -> f64 {
    only(metrics, &["gamelift_game_session_interruptions_total"])
        .values()
        .sum()
}

/// How a state differs from the nearest allowed one (empty when it is one of them).
fn closest(allowed: &[BTreeMap<String, f64>], state: &BTreeMap<String, f64>) -> String {
    let diff = |a: &BTreeMap<String, f64>| -> Vec<String> {
        let keys: BTreeSet<&String> = a.keys().chain(state.keys()).collect();
        keys.into_iter()
            .filter(|k| a.get(*k) != state.get(*k))
            .map(|k| format!("{k}: {:?} (nearest allowed {:?})", state.get(k), a.get(k)))
            .collect()
    };
    allowed
        .iter()
        .map(diff)
        .min_by_key(|d| d.len())
        .map_or_else(|| "no allowed state".to_string(), |d| d.join("; "))
}

/// Scrapes `/metrics` in a loop until stopped, keeping every scrape's session series per fleet.
fn start_scraper(
    address: String,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<(u16, BTreeMap<String, f64>)>> {
    std::thread::spawn(move || {
        let mut scrapes = Vec::new();
        while !stop.load(Ordering::Relaxed) && scrapes.len() < 5000 {
            let (status, _, body) = http("GET", &address, "/metrics");
            scrapes.push((status, parse_metrics(&body, "gamelift_")));
            std::thread::sleep(Duration::from_millis(15));
        }
        scrapes
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_alone_and_mixed_never_publish_partial_counts() {
    let h = Harness::with_config(&churning_world(1), |url| {
        let mut c = config(url);
        c.aws.max_attempts = 3;
        c.aws.request_timeout = secs(2);
        c.sweep.timeout = secs(30);
        c
    })
    .await;
    let sim_start_ms = h.sim.now_ms();
    // Every complete state the world has been in, per fleet and kind of pass: a scrape may show
    // only these. Live and full passes publish independently, so each part is checked alone.
    let mut allowed_live = BTreeMap::new();
    let mut allowed_history = BTreeMap::new();
    type Allowed = BTreeMap<&'static str, Vec<BTreeMap<String, f64>>>;
    fn record(live: &mut Allowed, history: &mut Allowed, truth: &BTreeMap<String, f64>) {
        for fleet in [SPOT, ONDEMAND] {
            live.entry(fleet).or_default().push(live_series(truth, fleet));
            history
                .entry(fleet)
                .or_default()
                .push(history_series(truth, fleet));
        }
    }
    h.exporter.sweep_once().await;
    let truth = h.truth();
    record(&mut allowed_live, &mut allowed_history, &truth);
    let mut last_good: BTreeMap<&str, BTreeMap<String, f64>> = [SPOT, ONDEMAND]
        .iter()
        .map(|f| (*f, live_series(&truth, f)))
        .collect();

    let stop = Arc::new(AtomicBool::new(false));
    let scraper = start_scraper(h.address.clone(), stop.clone());
    let fault_sets = [
        (
            "throttling 50%",
            Faults {
                throttle_ratio: 0.5,
                ..Faults::none()
            },
        ),
        (
            "server errors 40%",
            Faults {
                server_error_ratio: 0.4,
                ..Faults::none()
            },
        ),
        (
            "latency 100ms",
            Faults {
                latency: Duration::from_millis(100),
                ..Faults::none()
            },
        ),
        (
            "dropped connections 30%",
            Faults {
                drop_connection_ratio: 0.3,
                ..Faults::none()
            },
        ),
        (
            "malformed bodies 30%",
            Faults {
                malformed_body_ratio: 0.3,
                ..Faults::none()
            },
        ),
        (
            "all mixed",
            Faults {
                throttle_ratio: 0.2,
                server_error_ratio: 0.1,
                drop_connection_ratio: 0.1,
                malformed_body_ratio: 0.1,
                latency: Duration::from_millis(20),
                ..Faults::none()
            },
        ),
    ];
    let mut last_total = 0.0;
    let mut failed_sweeps = 0;
    for (name, faults) in fault_sets {
        for _ in 0..3 {
            h.sim.advance(Duration::from_secs(30));
            let truth = h.truth();
            record(&mut allowed_live, &mut allowed_history, &truth);
            h.sim.set_faults(faults.clone());
            let report = h.exporter.sweep_once().await;
            failed_sweeps += report.fleets_failed;
            h.sim.set_faults(Faults::none());
            let (_, metrics) = h.scrape_settled().await;
            for fleet in [SPOT, ONDEMAND] {
                let up = metrics[&series("gamelift_exporter_fleet_up", &[("fleet_id", fleet)])];
                let published = live_series(&metrics, fleet);
                if up == 1.0 {
                    assert_metrics_eq(
                        &published,
                        &live_series(&truth, fleet),
                        &format!("{name}: {fleet} complete"),
                    );
                    last_good.insert(fleet, published);
                } else {
                    assert_metrics_eq(
                        &published,
                        &last_good[fleet],
                        &format!("{name}: {fleet} failed, previous numbers"),
                    );
                }
                // A full pass is published whole or not at all; one resumed after a failure reads
                // the pages before and after the failure at different moments, so its counts are
                // not one instant's truth, and are checked against what each sweep published.
                allowed_history
                    .entry(fleet)
                    .or_default()
                    .push(history_series(&metrics, fleet));
            }
            let total = interruptions_total(&metrics);
            assert!(total >= last_total, "{name}: the interruption counter went down");
            last_total = total;
        }
    }
    assert!(failed_sweeps > 0, "the faults made some fleet sweeps fail");

    // Faults over: everything is exact again, and no interruption was lost or double-counted.
    // (The first clean round may finish a resumed full pass; the second reads a fresh one.)
    h.sim.advance(Duration::from_secs(30));
    let report = h.exporter.sweep_once().await;
    assert_eq!(report.fleets_failed, 0);
    // That round may have finished a full pass resumed from the faults: what it published is
    // one whole pass, read at two moments (as in the rounds above).
    let (_, metrics) = h.scrape_settled().await;
    for fleet in [SPOT, ONDEMAND] {
        allowed_history
            .entry(fleet)
            .or_default()
            .push(history_series(&metrics, fleet));
    }
    h.exporter.sweep_once().await;
    stop.store(true, Ordering::Relaxed);
    let (_, metrics) = h.scrape_settled().await;
    let truth = h.truth();
    record(&mut allowed_live, &mut allowed_history, &truth);
    assert_metrics_eq(&only(&metrics, &SESSION_METRICS), &truth, "after the faults");
    let interrupted_since_start = h
        .sim
        .sessions()
        .iter()
        .filter(|s| s.status_reason == Some("INTERRUPTED") && s.termination_time_ms > Some(sim_start_ms))
        .count();
    assert!(interrupted_since_start > 0, "the world had interruptions");
    assert_eq!(interruptions_total(&metrics), interrupted_since_start as f64);

    let scrapes = scraper.join().unwrap();
    assert!(
        scrapes.len() > 20,
        "the scraper kept scraping ({} scrapes)",
        scrapes.len()
    );
    for (index, (status, metrics)) in scrapes.iter().enumerate() {
        assert_eq!(*status, 200, "scrape {index} was answered");
        for fleet in [SPOT, ONDEMAND] {
            assert!(
                allowed_live[fleet].contains(&live_series(metrics, fleet))
                    && allowed_history[fleet].contains(&history_series(metrics, fleet)),
                "scrape {index} showed {fleet} in a state that was never complete: live {}, history {}",
                closest(&allowed_live[fleet], &live_series(metrics, fleet)),
                closest(&allowed_history[fleet], &history_series(metrics, fleet))
            );
        }
    }
    eprintln!(
        "{} scrapes during faults, every one a complete sweep; {failed_sweeps} fleet sweeps failed",
        scrapes.len()
    );
}

#[tokio::test]
async fn the_client_budget_holds_over_every_one_second_window() {
    let budget = 20;
    let h = Harness::with_config(&churning_world(8), |url| {
        let mut c = config(url);
        c.aws.max_requests_per_second = budget as f64;
        c
    })
    .await;
    let mut faults = Faults::none();
    faults
        .rate_limits
        .insert("DescribeGameSessions".into(), budget as f64);
    h.sim.set_faults(faults);
    h.exporter.sweep_once().await;
    h.exporter.sweep_once().await;
    let requests = h.sim.requests();
    assert!(
        requests.len() > 3 * budget,
        "a sweep long enough to matter ({} calls)",
        requests.len()
    );
    let times: Vec<Instant> = requests.iter().map(|r| r.at).collect();
    let mut worst = 0;
    for (i, start) in times.iter().enumerate() {
        let in_window = times[i..]
            .iter()
            .take_while(|t| t.duration_since(*start) < Duration::from_secs(1))
            .count();
        worst = worst.max(in_window);
    }
    let _ = writeln!(
        std::io::stderr(),
        "budget: {} calls, at most {worst} in any one-second window (budget {budget}/s)",
        times.len()
    );
    assert!(
        worst <= budget,
        "{worst} calls in one second exceed the budget of {budget}"
    );
    assert!(
        requests.iter().all(|r| r.outcome == "ok"),
        "nothing was throttled"
    );
}

#[tokio::test]
async fn reloads_apply_good_configs_and_keep_running_on_bad_ones() {
    let h = Harness::with_config(&churning_world(1), config).await;
    h.exporter.sweep_once().await;
    h.sim.advance(Duration::from_secs(60));
    h.sim.interrupt_instances(SPOT, "us-east-1", 1).unwrap();
    h.exporter.sweep_once().await;
    let key = series(
        "gamelift_game_session_interruptions_total",
        &[("fleet_id", SPOT), ("location", "us-east-1")],
    );
    let before = h.scrape_settled().await.1[&key];
    assert!(before >= 2.0);

    // A broken file is refused with the exact reason; the running config stays. (Bad input is
    // text: the running config's own file with one value broken.)
    let bad = h
        .exporter
        .config()
        .to_toml()
        .replace("\ninterval = \"1m\"", "\ninterval = \"fast\"");
    std::fs::write(&h.config_path, &bad).unwrap();
    let line = bad[..bad.find("interval = \"fast\"").unwrap()]
        .matches('\n')
        .count()
        + 1;
    let error = h.exporter.reload_from_file().await.unwrap_err();
    assert_eq!(
        error,
        format!(
            "{}:{line}:12: field `sweep.interval`: invalid duration \"fast\": expected a duration such as \"500ms\", \"60s\", \"5m\", \"1h30m\" or \"30d\"",
            h.config_path.display()
        )
    );
    assert_eq!(h.exporter.config().sweep.page_size, 5);
    assert_eq!(h.get("/metrics").await.0, 200);
    let address = h.address.clone();
    let (status, _, body) = tokio::task::spawn_blocking(move || http("POST", &address, "/-/reload"))
        .await
        .unwrap();
    assert_eq!(status, 403, "{body}");

    // A good file applies: a new page size, a fleet excluded, the HTTP reload switched on.
    let good = h
        .write_config(|c| {
            c.sweep.page_size = 9;
            c.fleets.exclude = vec![Glob::parse(ONDEMAND).unwrap()];
            c.server.enable_reload = true;
        })
        .to_toml();
    h.exporter.reload_from_file().await.unwrap();
    assert_eq!(h.exporter.config().sweep.page_size, 9);
    h.exporter.sweep_once().await;
    let (text, metrics) = h.scrape_settled().await;
    assert!(!text.contains(ONDEMAND), "the excluded fleet is gone");
    assert_eq!(metrics[&key], before, "counters survive a reload");

    // Over HTTP now: a bad file gets 400 and changes nothing.
    std::fs::write(&h.config_path, good.replace("page_size = 9", "page_size = 0")).unwrap();
    let address = h.address.clone();
    let (status, _, body) = tokio::task::spawn_blocking(move || http("POST", &address, "/-/reload"))
        .await
        .unwrap();
    assert_eq!(status, 400);
    assert!(
        body.contains("field `sweep.page_size`: invalid page size 0: expected 1 to 1000"),
        "{body}"
    );
    assert_eq!(h.exporter.config().sweep.page_size, 9);
    std::fs::write(&h.config_path, good.replace("page_size = 9", "page_size = 11")).unwrap();
    let address = h.address.clone();
    let (status, _, _) = tokio::task::spawn_blocking(move || http("POST", &address, "/-/reload"))
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(h.exporter.config().sweep.page_size, 11);
}

#[test]
fn sighup_reloads_and_sigterm_stops_the_binary() {
    let port = support::free_port();
    let path = temp_path("sighup.toml");
    let good = format!("[server]\nlisten = \"127.0.0.1:{port}\"\n[sweep]\ninterval = \"1s\"\n");
    std::fs::write(&path, &good).unwrap();
    let binary = support::ExporterProcess::start(&["--demo", "--config", path.to_str().unwrap()], "");
    binary.wait_for_log("sweep complete");
    let address = format!("127.0.0.1:{port}");

    std::fs::write(&path, "[sweep]\ninterval = 60\n").unwrap();
    binary.signal("HUP");
    binary.wait_for_log("reload failed; keeping the running configuration");
    assert!(
        binary
            .log()
            .contains("field `sweep.interval`: invalid type: integer `60`, expected a string"),
        "{}",
        binary.log()
    );
    let (status, _, body) = http("GET", &address, "/metrics");
    assert_eq!(status, 200, "still serving after a bad reload");
    let metrics = parse_metrics(&body, "gamelift_exporter_config_");
    assert_eq!(metrics["gamelift_exporter_config_last_reload_successful"], 0.0);
    let loaded_at = metrics["gamelift_exporter_config_last_reload_success_timestamp_seconds"];

    // Settings that need a restart are each named in a warning; the rest applies.
    std::fs::write(
        &path,
        good.replace("\"1s\"", "\"2s\"").replace(
            "[sweep]",
            "max_connections = 7\nheader_read_timeout = \"3s\"\n[sweep]",
        ),
    )
    .unwrap();
    binary.signal("HUP");
    binary.wait_for_log("configuration reloaded");
    for setting in ["server.max_connections", "server.header_read_timeout"] {
        assert!(
            binary.log().contains(&format!(
                "{setting} changed in the config file but only takes effect after a restart"
            )),
            "no warning names {setting}:\n{}",
            binary.log()
        );
    }
    assert!(
        !binary.log().contains("server.listen changed"),
        "listen did not change"
    );
    let metrics = parse_metrics(&http("GET", &address, "/metrics").2, "gamelift_exporter_config_");
    assert_eq!(metrics["gamelift_exporter_config_last_reload_successful"], 1.0);
    assert!(metrics["gamelift_exporter_config_last_reload_success_timestamp_seconds"] > loaded_at);
    assert_eq!(http("GET", &address, "/-/healthy").0, 200);

    let log = binary.log.clone();
    assert_eq!(binary.stop(), Some(0), "graceful shutdown exits 0");
    let log = std::fs::read_to_string(log).unwrap();
    assert!(log.contains("shutting down"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_flooding_clients_do_not_starve_a_scrape() {
    let h = Harness::with_config(&churning_world(1), |url| {
        let mut c = config(url);
        c.server.max_connections = 4;
        c.server.header_read_timeout = secs(1);
        c
    })
    .await;
    h.exporter.sweep_once().await;
    let address = h.address.clone();
    let started = Instant::now();
    let mut attackers = Vec::new();
    // Slowloris: a header byte every 200ms, for at most 3 seconds each.
    for _ in 0..12 {
        let address = address.clone();
        attackers.push(std::thread::spawn(move || {
            let Ok(mut stream) = std::net::TcpStream::connect(&address) else {
                return;
            };
            let _ = stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n");
            for _ in 0..15 {
                if stream.write_all(b"X").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }));
    }
    // Flood: idle connections that never send anything, held for at most 3 seconds.
    for _ in 0..24 {
        let address = address.clone();
        attackers.push(std::thread::spawn(move || {
            if let Ok(mut stream) = std::net::TcpStream::connect(&address) {
                stream.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
                let mut buffer = [0u8; 16];
                let _ = stream.read(&mut buffer);
            }
        }));
    }
    std::thread::sleep(Duration::from_millis(100));
    let scrape_started = Instant::now();
    let (status, _, body) = tokio::task::spawn_blocking(move || http("GET", &address, "/metrics"))
        .await
        .unwrap();
    let waited = scrape_started.elapsed();
    assert_eq!(status, 200);
    assert!(body.contains("gamelift_game_sessions{"));
    eprintln!("a normal scrape under 12 slowloris and 24 idle connections (4 slots) took {waited:.2?}");
    assert!(
        waited < Duration::from_secs(15),
        "bounded by the header timeout, not by the attackers"
    );
    for attacker in attackers {
        attacker.join().unwrap();
    }
    assert!(started.elapsed() < Duration::from_secs(20));

    // Oversized request heads are refused.
    let address = h.address.clone();
    let status = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        let big = "a".repeat(20_000);
        let _ = write!(stream, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n");
        let mut raw = String::new();
        let _ = stream.read_to_string(&mut raw);
        raw.split_whitespace().nth(1).map(str::to_string)
    })
    .await
    .unwrap();
    assert_ne!(status.as_deref(), Some("200"));
}

fn web_config(users: &str, tls: Option<(&std::path::Path, &std::path::Path)>) -> std::path::PathBuf {
    let path = temp_path("web.yml");
    let mut text = String::new();
    if let Some((cert, key)) = tls {
        text.push_str(&format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
            cert.display(),
            key.display()
        ));
    }
    text.push_str(users);
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_refuses_wrong_credentials() {
    let hash = bcrypt::hash("correct horse", 4).unwrap();
    let web = web_config(&format!("basic_auth_users:\n  prometheus: {hash}\n"), None);
    let h = Harness::with_config(&churning_world(1), |url| {
        let mut c = config(url);
        c.server.web_config_file = Some(web.clone());
        c
    })
    .await;
    let get = |auth: Option<&str>| {
        let address = h.address.clone();
        let auth = auth.map(|a| format!("Basic {a}"));
        move || {
            let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
            let (_, head, body) = support::http_with("GET", &address, "/metrics", &headers);
            format!("{head}\r\n\r\n{body}")
        }
    };
    use base64::Engine as _;
    let encode = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let none = tokio::task::spawn_blocking(get(None)).await.unwrap();
    assert!(none.starts_with("HTTP/1.1 401"), "{none}");
    assert!(none
        .to_lowercase()
        .contains("www-authenticate: basic realm=\"gamelift-exporter\""));
    let wrong = tokio::task::spawn_blocking(get(Some(&encode("prometheus:wrong"))))
        .await
        .unwrap();
    assert!(wrong.starts_with("HTTP/1.1 401"), "{wrong}");
    let unknown = tokio::task::spawn_blocking(get(Some(&encode("mallory:correct horse"))))
        .await
        .unwrap();
    assert!(unknown.starts_with("HTTP/1.1 401"));
    let right = tokio::task::spawn_blocking(get(Some(&encode("prometheus:correct horse"))))
        .await
        .unwrap();
    assert!(right.starts_with("HTTP/1.1 200"), "{right}");
    assert!(right.contains("gamelift_exporter_build_info"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_serves_metrics_with_a_generated_certificate() {
    if !support::require_tool("openssl") || !support::require_tool("curl") {
        return;
    }
    let (cert, key) = generate_certificate();
    let hash = bcrypt::hash("pw", 4).unwrap();
    let web = web_config(
        &format!("basic_auth_users:\n  scraper: {hash}\n"),
        Some((&cert, &key)),
    );
    let h = Harness::with_config(&churning_world(1), |url| {
        let mut c = config(url);
        c.server.web_config_file = Some(web.clone());
        c
    })
    .await;
    h.exporter.sweep_once().await;
    let url = format!("https://{}/metrics", h.address);
    let ok = tokio::task::block_in_place(|| curl("GET", &url, Some(&cert), Some("scraper:pw")));
    assert!(ok.ends_with("\n200"), "{ok}");
    assert!(ok.contains("gamelift_game_sessions{"));
    let denied = tokio::task::block_in_place(|| curl("GET", &url, Some(&cert), Some("scraper:nope")));
    assert!(denied.ends_with("\n401"), "{denied}");
    // Plain HTTP to the TLS port gets no metrics.
    let address = h.address.clone();
    let plain = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let _ = write!(stream, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw);
        String::from_utf8_lossy(&raw).into_owned()
    })
    .await
    .unwrap();
    assert!(!plain.contains("gamelift_game_sessions"));
}

#[test]
fn bad_web_configs_name_file_and_field() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/web");
    let cases = [
        ("unknown_key.yml", "2:1: field `basic_auth_user`: unknown field `basic_auth_user`, expected one of `tls_server_config`, `basic_auth_users`, `http_server_config`"),
        ("not_bcrypt.yml", " field `basic_auth_users.prometheus`: not a bcrypt hash: expected \"$2y$...\" (htpasswd -nBC 10)"),
        ("missing_key.yml", " field `tls_server_config`: cert_file and key_file are both required"),
        ("wrong_type.yml", "2:3: field `basic_auth_users`: invalid type: sequence, expected a map"),
        ("syntax_error.yml", "3:2: did not find expected key"),
        ("client_certs.yml", " field `tls_server_config.client_ca_file`: required with client_auth_type RequireAndVerifyClientCert: the CA that signs the client certificates"),
        ("client_ca_without_auth.yml", " field `tls_server_config.client_ca_file`: set, but client_auth_type is NoClientCert: no client certificate is asked for (set client_auth_type: RequireAndVerifyClientCert)"),
        ("unknown_client_auth.yml", " field `tls_server_config.client_auth_type`: unknown value \"RequireCert\": expected NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert"),
    ];
    for (name, message) in cases {
        let file = format!("{dir}/{name}");
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_gamelift-exporter"))
            .args(["--web.config.file", &file, "--check-config"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{name}");
        assert_eq!(
            String::from_utf8_lossy(&output.stderr).trim_end(),
            format!("gamelift-exporter: invalid web config: {file}:{message}"),
            "{name}"
        );
    }
    let missing = std::process::Command::new(env!("CARGO_BIN_EXE_gamelift-exporter"))
        .args(["--web.config.file", "/nonexistent/web.yml", "--check-config"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&missing.stderr).trim_end(),
        "gamelift-exporter: invalid web config: /nonexistent/web.yml: cannot read web config: No such file or directory (os error 2)"
    );
}

#[tokio::test]
async fn expired_credentials_mark_fleets_down_and_recover() {
    let h = Harness::with_config(&churning_world(1), config).await;
    h.exporter.sweep_once().await;
    let (_, before) = h.scrape_settled().await;
    h.sim.set_faults(Faults {
        reject_credentials: true,
        ..Faults::none()
    });
    let report = h.exporter.sweep_once().await;
    assert_eq!((report.fleets_ok, report.fleets_failed), (0, 2));
    let (_, during) = h.scrape_settled().await;
    for fleet in [SPOT, ONDEMAND] {
        assert_eq!(
            during[&series("gamelift_exporter_fleet_up", &[("fleet_id", fleet)])],
            0.0
        );
        assert_metrics_eq(
            &fleet_series(&during, fleet),
            &fleet_series(&before, fleet),
            "numbers kept while unauthorized",
        );
    }
    let unauthorized = crate::support::total(
        &during,
        "gamelift_exporter_api_request_failures_total",
        &[("operation", "DescribeGameSessions"), ("reason", "unauthorized")],
    );
    // Each fleet's live pass and full pass (history_interval 0s) were refused once.
    assert_eq!(unauthorized, 4.0);
    h.sim.set_faults(Faults::none());
    h.sim.advance(Duration::from_secs(30));
    let report = h.exporter.sweep_once().await;
    assert_eq!(report.fleets_failed, 0);
    let (_, after) = h.scrape_settled().await;
    assert_eq!(
        after[&series("gamelift_exporter_fleet_up", &[("fleet_id", SPOT)])],
        1.0
    );
    assert_metrics_eq(&only(&after, &SESSION_METRICS), &h.truth(), "recovered by itself");
}

/// A self-signed certificate for 127.0.0.1 and its key, made by openssl.
fn generate_certificate() -> (std::path::PathBuf, std::path::PathBuf) {
    let cert = temp_path("cert.pem");
    let key = temp_path("key.pem");
    let output = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (cert, key)
}

/// `curl` one request; returns the body followed by "\n<status code>".
fn curl(method: &str, url: &str, cacert: Option<&std::path::Path>, user: Option<&str>) -> String {
    let mut command = std::process::Command::new("curl");
    command.args([
        "-sS",
        "--max-time",
        "10",
        "-o",
        "-",
        "-w",
        "\n%{http_code}",
        "-X",
        method,
    ]);
    if let Some(cacert) = cacert {
        command.arg("--cacert").arg(cacert);
    }
    if let Some(user) = user {
        command.args(["-u", user]);
    }
    let output = command.arg(url).output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Issue 11: `POST /-/reload` used to drop TLS and basic auth that came from --web.config.file.
#[test]
fn a_reload_keeps_tls_and_basic_auth_from_the_command_line() {
    if !support::require_tool("curl") || !support::require_tool("openssl") {
        return;
    }
    let (cert, key) = generate_certificate();
    let hash = bcrypt::hash("pw", 4).unwrap();
    for tls in [false, true] {
        let web = web_config(
            &format!("basic_auth_users:\n  scraper: {hash}\n"),
            tls.then_some((cert.as_path(), key.as_path())),
        );
        let port = support::free_port();
        let config = temp_path("reload-auth.toml");
        std::fs::write(
            &config,
            format!("[server]\nlisten = \"127.0.0.1:{port}\"\nenable_reload = true\n"),
        )
        .unwrap();
        let binary = support::ExporterProcess::start(
            &[
                "--demo",
                "--config",
                config.to_str().unwrap(),
                "--web.config.file",
                web.to_str().unwrap(),
            ],
            "",
        );
        binary.wait_for_log("serving /metrics");
        let scheme = if tls { "https" } else { "http" };
        let url = |path: &str| format!("{scheme}://127.0.0.1:{port}{path}");
        let cacert = tls.then_some(cert.as_path());
        let case = if tls { "TLS and basic auth" } else { "basic auth" };
        assert!(
            curl("GET", &url("/metrics"), cacert, None).ends_with("\n401"),
            "{case}: before"
        );
        assert!(curl("GET", &url("/metrics"), cacert, Some("scraper:pw")).ends_with("\n200"));
        let reload = curl("POST", &url("/-/reload"), cacert, Some("scraper:pw"));
        assert!(reload.ends_with("\n200"), "{case}: reload answered {reload}");
        binary.wait_for_log("configuration reloaded");
        assert!(
            curl("GET", &url("/metrics"), cacert, None).ends_with("\n401"),
            "{case}: a reload must not switch basic auth off"
        );
        assert!(curl("GET", &url("/metrics"), cacert, Some("scraper:pw")).ends_with("\n200"));
        if tls {
            let plain = curl(
                "GET",
                &format!("http://127.0.0.1:{port}/metrics"),
                None,
                Some("scraper:pw"),
            );
            assert!(
                !plain.ends_with("\n200"),
                "plain HTTP is refused after a reload: {plain}"
            );
        }
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

/// Issue 11: an unknown user used to be refused at once while a known one cost a bcrypt, and
/// every wrong password cost an unthrottled bcrypt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_take_as_long_for_any_user_and_a_flood_is_capped() {
    use base64::Engine as _;
    let basic = |credentials: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        )
    };
    // Cost 8: about 20 ms per check here, long enough for a difference to show.
    let hash = bcrypt::hash("right", 8).unwrap();
    let web = web_config(&format!("basic_auth_users:\n  scraper: {hash}\n"), None);
    let port = support::free_port();
    let address = format!("127.0.0.1:{port}");
    let config = temp_path("auth-timing.toml");
    std::fs::write(&config, format!("[server]\nlisten = \"{address}\"\n")).unwrap();
    let exporter = support::ExporterProcess::start(
        &[
            "--demo",
            "--config",
            config.to_str().unwrap(),
            "--web.config.file",
            web.to_str().unwrap(),
        ],
        &address,
    );
    exporter.wait_for_log("serving /metrics");
    let get = |credentials: &str| {
        let (address, header) = (address.clone(), basic(credentials));
        move || {
            let started = Instant::now();
            let (status, _, _) =
                support::http_with("GET", &address, "/metrics", &[("Authorization", &header)]);
            (status, started.elapsed())
        }
    };
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..25 {
        let (status, took) = tokio::task::spawn_blocking(get("scraper:wrong")).await.unwrap();
        assert_eq!(status, 401);
        known.push(took);
        let (status, took) = tokio::task::spawn_blocking(get("mallory:wrong")).await.unwrap();
        assert_eq!(status, 401);
        unknown.push(took);
    }
    let (known, unknown) = (median(known), median(unknown));
    eprintln!("wrong password, median of 25: known user {known:?}, unknown user {unknown:?}");
    assert!(
        unknown > Duration::from_millis(2),
        "an unknown user costs a bcrypt too ({unknown:?})"
    );
    let gap = known.abs_diff(unknown);
    assert!(
        gap < known / 3,
        "known {known:?} and unknown {unknown:?} users differ by {gap:?}"
    );

    // The right credentials are verified once, then cached.
    assert_eq!(
        tokio::task::spawn_blocking(get("scraper:right")).await.unwrap().0,
        200
    );
    // A flood of wrong passwords from 8 connections for 3 s: at most MAX_PASSWORD_CHECKS cores
    // of bcrypt, the rest refused with 429; the scraper with good credentials is still served.
    let stop = Arc::new(AtomicBool::new(false));
    let flood: Vec<_> = (0..8)
        .map(|_| {
            let (stop, request) = (stop.clone(), get("scraper:guess"));
            std::thread::spawn(move || {
                let mut statuses = BTreeMap::new();
                while !stop.load(Ordering::Relaxed) {
                    *statuses.entry(request().0).or_insert(0) += 1;
                }
                statuses
            })
        })
        .collect();
    let pid = exporter.child.id();
    let cpu_before = support::cpu_seconds(pid);
    let started = Instant::now();
    let mut good = Vec::new();
    while started.elapsed() < Duration::from_secs(3) {
        good.push(tokio::task::spawn_blocking(get("scraper:right")).await.unwrap());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let cores = (support::cpu_seconds(pid) - cpu_before) / started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    for thread in flood {
        for (status, n) in thread.join().unwrap() {
            *statuses.entry(status).or_default() += n;
        }
    }
    eprintln!(
        "flood: {statuses:?}, the exporter used {cores:.2} cores, good scrapes {:?}",
        good.iter().map(|g| g.0).collect::<Vec<_>>()
    );
    assert!(
        good.iter().all(|(status, _)| *status == 200),
        "good credentials keep being served"
    );
    assert!(
        statuses.get(&429).is_some_and(|n| *n > 0),
        "excess checks are refused: {statuses:?}"
    );
    let cap = gamelift_exporter::web::MAX_PASSWORD_CHECKS as f64;
    assert!(cores <= cap + 0.5, "the flood took {cores:.2} cores (cap {cap})");
}

/// Runs openssl; panics with its output when it fails.
fn openssl(args: &[&str]) {
    let output = std::process::Command::new("openssl").args(args).output().unwrap();
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A CA certificate and its key: (cert, key).
fn certificate_authority(dir: &std::path::Path, name: &str) -> (String, String) {
    let (cert, key) = (
        dir.join(format!("{name}.pem")).display().to_string(),
        dir.join(format!("{name}.key")).display().to_string(),
    );
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        &format!("/CN={name}"),
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-keyout",
        &key,
        "-out",
        &cert,
    ]);
    (cert, key)
}

/// A certificate signed by `ca` with the given extensions: (cert, key).
fn issue(dir: &std::path::Path, name: &str, ca: &(String, String), extensions: &str) -> (String, String) {
    let path = |ext: &str| dir.join(format!("{name}.{ext}")).display().to_string();
    let (cert, key, csr, ext) = (path("pem"), path("key"), path("csr"), path("ext"));
    std::fs::write(&ext, extensions).unwrap();
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        &format!("/CN={name}"),
        "-keyout",
        &key,
        "-out",
        &csr,
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        &csr,
        "-CA",
        &ca.0,
        "-CAkey",
        &ca.1,
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        &ext,
        "-out",
        &cert,
    ]);
    (cert, key)
}

/// `curl` over TLS with the server's CA, optionally a client certificate; returns the body followed
/// by "\n<status code>" (`000` when the handshake or the request failed).
fn curl_tls(method: &str, url: &str, cacert: &str, client: Option<&(String, String)>) -> String {
    let mut command = std::process::Command::new("curl");
    command.args([
        "-sS",
        "--max-time",
        "10",
        "-o",
        "-",
        "-w",
        "\n%{http_code}",
        "-X",
        method,
        "--cacert",
        cacert,
    ]);
    if let Some((cert, key)) = client {
        command.args(["--cert", cert, "--key", key]);
    }
    let output = command.arg(url).output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The certificates of the client-certificate tests: a CA for the server, one that signs the
/// trusted clients and one nobody trusts.
struct Pki {
    server_ca: String,
    server: (String, String),
    clients_ca: (String, String),
    client: (String, String),
    stranger: (String, String),
    dir: std::path::PathBuf,
}

fn pki() -> Pki {
    let dir = support::temp_dir("pki");
    let server_ca = certificate_authority(&dir, "server-ca");
    let server = issue(
        &dir,
        "server",
        &server_ca,
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    );
    let clients_ca = certificate_authority(&dir, "clients-ca");
    let client = issue(&dir, "scraper", &clients_ca, "extendedKeyUsage=clientAuth\n");
    let other_ca = certificate_authority(&dir, "other-ca");
    let stranger = issue(&dir, "stranger", &other_ca, "extendedKeyUsage=clientAuth\n");
    Pki {
        server_ca: server_ca.0,
        server,
        clients_ca,
        client,
        stranger,
        dir,
    }
}

/// Starts the exporter (`--demo`) with a web config asking for client certificates.
fn exporter_with_client_auth(
    pki: &Pki,
    client_auth: &str,
    client_ca: Option<&str>,
) -> (support::ExporterProcess, u16) {
    let web = pki.dir.join(format!("web-{client_auth}.yml"));
    let mut text = format!(
        "tls_server_config:\n  cert_file: {}\n  key_file: {}\n  client_auth_type: {client_auth}\n",
        pki.server.0, pki.server.1
    );
    if let Some(ca) = client_ca {
        text.push_str(&format!("  client_ca_file: {ca}\n"));
    }
    std::fs::write(&web, text).unwrap();
    let port = support::free_port();
    let config = pki.dir.join(format!("exporter-{client_auth}.toml"));
    std::fs::write(
        &config,
        format!("[server]\nlisten = \"127.0.0.1:{port}\"\nenable_reload = true\n"),
    )
    .unwrap();
    let exporter = support::ExporterProcess::start(
        &[
            "--demo",
            "--config",
            config.to_str().unwrap(),
            "--web.config.file",
            web.to_str().unwrap(),
        ],
        "",
    );
    exporter.wait_for_log("serving /metrics");
    (exporter, port)
}

/// exporter-toolkit's four client_auth_type values besides NoClientCert, as Go's crypto/tls
/// applies them: who is served without a certificate, with one from client_ca_file, and with
/// one from a CA nobody configured.
#[test]
fn client_certificates_are_asked_for_and_verified_as_client_auth_type_says() {
    if !support::require_tool("openssl") || !support::require_tool("curl") {
        return;
    }
    let pki = pki();
    // (client_auth_type, with client_ca_file, served: without a certificate, with the trusted
    // client's, with the stranger's)
    let cases = [
        ("RequireAndVerifyClientCert", true, [false, true, false]),
        ("VerifyClientCertIfGiven", true, [true, true, false]),
        ("RequireAnyClientCert", false, [false, true, true]),
        ("RequestClientCert", false, [true, true, true]),
    ];
    for (client_auth, with_ca, served) in cases {
        let (exporter, port) =
            exporter_with_client_auth(&pki, client_auth, with_ca.then_some(pki.clients_ca.0.as_str()));
        let url = format!("https://localhost:{port}/metrics");
        for (client, expected) in [None, Some(&pki.client), Some(&pki.stranger)]
            .into_iter()
            .zip(served)
        {
            let answer = curl_tls("GET", &url, &pki.server_ca, client);
            let who = client.map_or("no certificate", |c| c.0.as_str());
            if expected {
                assert!(answer.ends_with("\n200"), "{client_auth}, {who}: {answer}");
                assert!(
                    answer.contains("gamelift_exporter_build_info"),
                    "{client_auth}, {who}"
                );
            } else {
                assert!(
                    answer.ends_with("\n000"),
                    "{client_auth}, {who}: refused in the handshake, got {answer}"
                );
            }
        }
        drop(exporter);
    }
}

/// A reload re-reads the web config, client_auth_type and client_ca_file included: the
/// certificate requirement stays, and a client CA replaced on disk takes effect.
#[test]
fn a_reload_keeps_client_certificates_required_and_reads_the_client_ca_again() {
    if !support::require_tool("openssl") || !support::require_tool("curl") {
        return;
    }
    let pki = pki();
    let ca_file = pki.dir.join("trusted-clients.pem");
    std::fs::copy(&pki.clients_ca.0, &ca_file).unwrap();
    let (exporter, port) = exporter_with_client_auth(
        &pki,
        "RequireAndVerifyClientCert",
        Some(ca_file.to_str().unwrap()),
    );
    let url = |path: &str| format!("https://localhost:{port}{path}");
    assert!(curl_tls("GET", &url("/metrics"), &pki.server_ca, None).ends_with("\n000"));
    assert!(curl_tls("GET", &url("/metrics"), &pki.server_ca, Some(&pki.client)).ends_with("\n200"));

    let reload = curl_tls("POST", &url("/-/reload"), &pki.server_ca, Some(&pki.client));
    assert!(reload.ends_with("\n200"), "{reload}");
    exporter.wait_for_log("configuration reloaded");
    assert!(
        curl_tls("GET", &url("/metrics"), &pki.server_ca, None).ends_with("\n000"),
        "a reload must not stop asking for a certificate"
    );
    assert!(curl_tls("GET", &url("/metrics"), &pki.server_ca, Some(&pki.client)).ends_with("\n200"));
    assert!(curl_tls("GET", &url("/metrics"), &pki.server_ca, Some(&pki.stranger)).ends_with("\n000"));

    // The stranger's CA in the file, then a reload: now it is the trusted one.
    std::fs::copy(pki.dir.join("other-ca.pem"), &ca_file).unwrap();
    let reload = curl_tls("POST", &url("/-/reload"), &pki.server_ca, Some(&pki.client));
    assert!(reload.ends_with("\n200"), "{reload}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !curl_tls("GET", &url("/metrics"), &pki.server_ca, Some(&pki.stranger)).ends_with("\n200") {
        assert!(
            Instant::now() < deadline,
            "the new client CA was not read\n{}",
            exporter.log_tail(20)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(curl_tls("GET", &url("/metrics"), &pki.server_ca, Some(&pki.client)).ends_with("\n000"));
}
