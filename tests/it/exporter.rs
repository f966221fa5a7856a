//! The exporter end to end: the real SDK against the simulator over HTTP, `/metrics` scraped over
//! HTTP, every number compared with what the test computes itself from the simulator's sessions.

use crate::support;

use crate::support::{assert_metrics_eq, http, only, secs, series, Harness};
use gamelift_exporter::simulator::Faults;
use std::collections::BTreeMap;
use std::time::Duration;

const SPOT1: &str = "fleet-5b0a0000-0000-4000-8000-000000000001";
const ONDEMAND: &str = "fleet-0d0a0000-0000-4000-8000-000000000002";
const SPOT2: &str = "fleet-5b0a0000-0000-4000-8000-000000000003";

fn world(history_factor: u32) -> String {
    format!(
        r#"
seed = 11
[faults]
rate_limits = {{}}

[[fleet]]
id = "{SPOT1}"
name = "arena-spot"
type = "SPOT"
home_region = "us-west-2"
locations = ["us-east-1", "sa-east-1"]
max_players = 10
[fleet.sessions]
active = 30
activating = 2
terminating = 1
error = 1
terminated = {t1}
interrupted = 5

[[fleet]]
id = "{ONDEMAND}"
name = "arena-ondemand"
type = "ON_DEMAND"
home_region = "us-west-2"
max_players = 16
[fleet.sessions]
active = 45
terminated = {t2}
[fleet.occupancy]
empty = 0.3
full = 0.3
deny_all = 0.2

[[fleet]]
id = "{SPOT2}"
name = "royale-spot"
type = "SPOT"
compute_type = "ANYWHERE"
home_region = "eu-west-1"
locations = ["eu-central-1"]
max_players = 50
[fleet.sessions]
active = 12
interrupted = 3
"#,
        t1 = 20 * history_factor,
        t2 = 30 * history_factor
    )
}

use crate::support::SESSION_METRICS;

fn for_fleet(metrics: &BTreeMap<String, f64>, fleet: &str) -> BTreeMap<String, f64> {
    let needle = format!("fleet_id=\"{fleet}\"");
    metrics
        .iter()
        .filter(|(k, _)| k.contains(&needle))
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

fn without_fleet(metrics: &BTreeMap<String, f64>, fleet: &str) -> BTreeMap<String, f64> {
    let needle = format!("fleet_id=\"{fleet}\"");
    metrics
        .iter()
        .filter(|(k, _)| !k.contains(&needle))
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

fn interruptions(metrics: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    only(metrics, &["gamelift_game_session_interruptions_total"])
}

#[tokio::test]
async fn every_metric_matches_the_ground_truth() {
    let h = Harness::start(&world(1), |c| c.sweep.history_interval = secs(0)).await;
    let (status, _, _) = h.get("/-/ready").await;
    assert_eq!(status, 503, "not ready before the first sweep");
    let (_, before) = h.scrape_settled().await;
    assert!(
        only(&before, &SESSION_METRICS).is_empty(),
        "no session numbers before a complete sweep"
    );

    // The exporter's clock in the harness is the simulator's (plus the real time elapsed).
    let started = h.sim.now_ms() as f64 / 1000.0;
    let report = h.exporter.sweep_once().await;
    assert_eq!((report.fleets_ok, report.fleets_failed), (3, 0));
    let (text, metrics) = h.scrape_settled().await;
    assert_metrics_eq(
        &only(&metrics, &SESSION_METRICS),
        &h.truth(),
        "after the first sweep",
    );

    let info = only(&metrics, &["gamelift_fleet_info"]);
    let expected_info: BTreeMap<String, f64> = [
        (SPOT1, "arena-spot", "SPOT", "EC2", "us-west-2"),
        (ONDEMAND, "arena-ondemand", "ON_DEMAND", "EC2", "us-west-2"),
        (SPOT2, "royale-spot", "SPOT", "ANYWHERE", "eu-west-1"),
    ]
    .iter()
    .map(|(id, name, kind, compute, region)| {
        let key = series(
            "gamelift_fleet_info",
            &[
                ("fleet_id", id),
                ("fleet_name", name),
                ("fleet_type", kind),
                ("compute_type", compute),
                ("home_region", region),
                // One account, `[aws]`'s: named "default"; its id is the simulator's.
                ("account", "default"),
                ("account_id", "123456789012"),
            ],
        );
        (key, 1.0)
    })
    .collect();
    assert_metrics_eq(&info, &expected_info, "fleet info");
    for fleet in [SPOT1, ONDEMAND, SPOT2] {
        assert_eq!(
            metrics[&series("gamelift_exporter_fleet_up", &[("fleet_id", fleet)])],
            1.0
        );
        let success = metrics[&series(
            "gamelift_exporter_fleet_last_success_timestamp_seconds",
            &[("fleet_id", fleet)],
        )];
        assert!(
            success >= started && success <= started + 60.0,
            "{fleet} last success {success}, started {started}"
        );
    }
    assert!(metrics["gamelift_exporter_sweep_duration_seconds"] > 0.0);
    // Interruption counters start at 0 for every known fleet location: history is not counted.
    let zero: BTreeMap<String, f64> = h.zero_per_location("gamelift_game_session_interruptions_total");
    assert_metrics_eq(
        &interruptions(&metrics),
        &zero,
        "interruptions after the first sweep",
    );
    for operation in [
        "ListFleets",
        "DescribeFleetAttributes",
        "DescribeFleetLocationAttributes",
        "DescribeGameSessions",
    ] {
        assert_eq!(
            metrics[&series(
                "gamelift_exporter_api_requests_total",
                &[
                    ("account", "default"),
                    ("operation", operation),
                    ("region", "us-west-2")
                ]
            )] + metrics[&series(
                "gamelift_exporter_api_requests_total",
                &[
                    ("account", "default"),
                    ("operation", operation),
                    ("region", "eu-west-1")
                ]
            )],
            h.calls(operation) as f64,
            "{operation} requests counted"
        );
    }
    assert!(metrics
        .keys()
        .any(|k| k.starts_with("gamelift_exporter_build_info{")));
    assert!(metrics.contains_key("process_resident_memory_bytes"));
    assert!(!text.contains("gsess-"), "no session ids in labels");
    assert_eq!(h.get("/-/ready").await.0, 200);

    // A spot interruption between two sweeps raises the counter by exactly its sessions.
    h.sim.advance(Duration::from_secs(60));
    let ended = h.sim.interrupt_instances(SPOT1, "us-east-1", 1).unwrap();
    assert_eq!(ended.len(), 4);
    h.exporter.sweep_once().await;
    let (_, metrics) = h.scrape_settled().await;
    assert_metrics_eq(
        &only(&metrics, &SESSION_METRICS),
        &h.truth(),
        "after the interruption",
    );
    let mut expected = zero.clone();
    expected.insert(
        series(
            "gamelift_game_session_interruptions_total",
            &[("fleet_id", SPOT1), ("location", "us-east-1")],
        ),
        ended.len() as f64,
    );
    assert_metrics_eq(
        &interruptions(&metrics),
        &expected,
        "interruptions after one event",
    );
    let last = series(
        "gamelift_game_session_last_interruption_timestamp_seconds",
        &[("fleet_id", SPOT1), ("location", "us-east-1")],
    );
    assert_eq!(metrics[&last], h.sim.now_ms() as f64 / 1000.0);

    // Seen again, never counted twice; a second event adds only its own sessions.
    h.exporter.sweep_once().await;
    let (_, metrics) = h.scrape_settled().await;
    assert_metrics_eq(
        &interruptions(&metrics),
        &expected,
        "the same sessions seen again",
    );
    h.sim.advance(Duration::from_secs(30));
    let ended = h.sim.interrupt_instances(SPOT2, "eu-central-1", 1).unwrap();
    h.exporter.sweep_once().await;
    let (text, metrics) = h.scrape_settled().await;
    expected.insert(
        series(
            "gamelift_game_session_interruptions_total",
            &[("fleet_id", SPOT2), ("location", "eu-central-1")],
        ),
        ended.len() as f64,
    );
    assert_metrics_eq(&interruptions(&metrics), &expected, "a second event");
    assert_metrics_eq(
        &only(&metrics, &SESSION_METRICS),
        &h.truth(),
        "after the second event",
    );

    if support::require_tool("promtool") {
        let mut child = std::process::Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "promtool check metrics:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[tokio::test]
async fn calls_per_sweep_follow_live_sessions_not_history() {
    let page = 7;
    let mut live_calls = Vec::new();
    let all = ["ACTIVE", "ACTIVATING", "TERMINATING"];
    for (history_factor, statuses) in [(1, &all[..]), (10, &all[..]), (1, &all[..1])] {
        let h = Harness::start(&world(history_factor), |c| {
            c.sweep.history_interval = secs(3600);
            c.sweep.live_statuses = statuses.iter().map(|s| s.to_string()).collect();
        })
        .await;
        let first = h.exporter.sweep_once().await;
        // The first round discovers (one ListFleets and one DescribeFleetAttributes per Region,
        // one DescribeFleetLocationAttributes per fleet), runs a live pass of every fleet, and
        // one full pass that reads every session once.
        assert_eq!(h.calls("ListFleets"), 2);
        assert_eq!(h.calls("DescribeFleetAttributes"), 2);
        assert_eq!(h.calls("DescribeFleetLocationAttributes"), 3);
        let sessions = h.sim.sessions();
        let per_fleet = |filter: &dyn Fn(&gamelift_exporter::simulator::SessionRecord) -> bool| -> usize {
            [SPOT1, ONDEMAND, SPOT2]
                .iter()
                .map(|f| {
                    sessions
                        .iter()
                        .filter(|s| s.fleet_id == *f && filter(s))
                        .count()
                        .div_ceil(page)
                        .max(1)
                })
                .sum()
        };
        let full = per_fleet(&|_| true);
        let live: usize = statuses.iter().map(|st| per_fleet(&|s| s.status == *st)).sum();
        assert_eq!(first.full_passes, 3);
        assert_eq!(
            first.full_pass_pages as usize, full,
            "the full pass reads every session once"
        );
        assert_eq!(h.calls("DescribeGameSessions"), live + full);

        // Steady state: one paginated listing per fleet and live status, one events poll per
        // fleet; the history is not read again before history_interval.
        h.sim.clear_requests();
        let report = h.exporter.sweep_once().await;
        let requests = h.sim.requests();
        assert_eq!(
            h.calls("DescribeGameSessions"),
            live,
            "once per page of a live status"
        );
        assert_eq!(h.calls("DescribeFleetEvents"), 3, "once per fleet");
        assert_eq!(requests.len(), live + 3, "nothing else");
        assert!(requests
            .iter()
            .all(|r| r.operation != "DescribeGameSessions" || r.params.contains("StatusFilter")));
        assert_eq!(report.live_calls["DescribeGameSessions"] as usize, live);
        assert_eq!(report.total_requests() as usize, live + 3);
        let published = only(&h.scrape_settled().await.1, &SESSION_METRICS);
        let truth: BTreeMap<String, f64> = h
            .truth()
            .into_iter()
            // Statuses a live pass does not list are not published.
            .filter(|(k, _)| {
                !all.iter()
                    .any(|st| !statuses.contains(st) && k.contains(&format!("status=\"{st}\"")))
            })
            .collect();
        assert_metrics_eq(&published, &truth, "live pass numbers");
        live_calls.push(live);
    }
    assert_eq!(
        live_calls[0], live_calls[1],
        "ten times the history, same calls per steady-state live pass"
    );
}

#[tokio::test]
async fn failed_fleets_keep_their_numbers_and_deleted_fleets_vanish() {
    let h = Harness::start(&world(1), |c| {
        c.sweep.history_interval = secs(0);
        c.sweep.discovery_interval = secs(0);
    })
    .await;
    h.exporter.sweep_once().await;
    let (_, first) = h.scrape_settled().await;

    // One fleet fails; the others change and update.
    h.sim.set_faults(Faults {
        failing_fleets: vec![ONDEMAND.into()],
        ..Faults::none()
    });
    h.sim.advance(Duration::from_secs(60));
    h.sim.interrupt_instances(SPOT1, "sa-east-1", 1).unwrap();
    let report = h.exporter.sweep_once().await;
    assert_eq!((report.fleets_ok, report.fleets_failed), (2, 1));
    let (_, second) = h.scrape_settled().await;
    let up =
        |m: &BTreeMap<String, f64>, f: &str| m[&series("gamelift_exporter_fleet_up", &[("fleet_id", f)])];
    assert_eq!(
        (up(&second, ONDEMAND), up(&second, SPOT1), up(&second, SPOT2)),
        (0.0, 1.0, 1.0)
    );
    let kept = |m: &BTreeMap<String, f64>| {
        let mut fleet = for_fleet(&only(m, &SESSION_METRICS), ONDEMAND);
        let key = series(
            "gamelift_exporter_fleet_last_success_timestamp_seconds",
            &[("fleet_id", ONDEMAND)],
        );
        fleet.insert(key.clone(), m[&key]);
        fleet
    };
    assert_metrics_eq(
        &kept(&second),
        &kept(&first),
        "the failing fleet keeps its last complete numbers",
    );
    assert_metrics_eq(
        &without_fleet(&only(&second, &SESSION_METRICS), ONDEMAND),
        &without_fleet(&h.truth(), ONDEMAND),
        "the other fleets are current",
    );
    let failures = series(
        "gamelift_exporter_api_request_failures_total",
        &[
            ("account", "default"),
            ("operation", "DescribeGameSessions"),
            ("reason", "server_error"),
            ("region", "us-west-2"),
        ],
    );
    // Its live pass, and its full pass (history_interval 0s), each failed once.
    assert_eq!(second[&failures], 2.0);

    // A fleet deleted between sweeps disappears completely; the failing one recovers.
    assert!(h.sim.delete_fleet(SPOT2));
    h.sim.set_faults(Faults::none());
    h.exporter.sweep_once().await;
    let (text, third) = h.scrape_settled().await;
    assert!(!text.contains(SPOT2), "no series of the deleted fleet remain");
    assert_eq!(up(&third, ONDEMAND), 1.0);
    assert_metrics_eq(
        &only(&third, &SESSION_METRICS),
        &h.truth(),
        "after recovery and deletion",
    );
}

#[tokio::test]
async fn a_sweep_that_fails_part_way_publishes_nothing_from_it() {
    let h = Harness::start(&world(1), |c| {
        c.sweep.history_interval = secs(0);
        c.sweep.concurrency = 1;
    })
    .await;
    h.exporter.sweep_once().await;
    let (_, first) = h.scrape_settled().await;
    let first_truth = h.truth();
    assert_metrics_eq(&only(&first, &SESSION_METRICS), &first_truth, "first sweep");

    // Change every fleet, then allow only a few calls: fleets run out of budget mid-listing.
    h.sim.advance(Duration::from_secs(60));
    h.sim.interrupt_instances(SPOT1, "us-west-2", 2).unwrap();
    h.sim.interrupt_instances(SPOT2, "eu-west-1", 2).unwrap();
    let mut faults = Faults::none();
    faults.rate_limits.insert("DescribeGameSessions".into(), 4.0);
    h.sim.set_faults(faults);
    let report = h.exporter.sweep_once().await;
    assert!(report.fleets_failed >= 1, "{report:?}");
    let (_, second) = h.scrape_settled().await;
    let truth = h.truth();
    for fleet in [SPOT1, ONDEMAND, SPOT2] {
        let published = for_fleet(&only(&second, &SESSION_METRICS), fleet);
        let up = second[&series("gamelift_exporter_fleet_up", &[("fleet_id", fleet)])];
        if up == 1.0 {
            assert_metrics_eq(
                &published,
                &for_fleet(&truth, fleet),
                &format!("{fleet} (complete)"),
            );
        } else {
            assert_metrics_eq(
                &published,
                &for_fleet(&first_truth, fleet),
                &format!("{fleet} (failed: previous numbers)"),
            );
        }
    }
    let throttled = crate::support::total(
        &second,
        "gamelift_exporter_api_request_failures_total",
        &[("operation", "DescribeGameSessions"), ("reason", "throttled")],
    );
    assert!(throttled >= 1.0);
}

#[tokio::test]
async fn http_endpoints() {
    let h = Harness::start(&world(1), |_| {}).await;
    let (status, head, body) = h.get("/").await;
    assert_eq!(status, 200);
    assert!(head.contains("text/html") && body.contains("href=\"/metrics\""));
    assert_eq!(h.get("/-/healthy").await.0, 200);
    assert_eq!(h.get("/nope").await.0, 404);
    let address = h.address.clone();
    let (status, head, _) = tokio::task::spawn_blocking(move || http("POST", &address, "/metrics"))
        .await
        .unwrap();
    assert_eq!(status, 405);
    assert!(head.to_lowercase().contains("allow: get, head"));
    // gzip when asked for (as Prometheus does): two members, the fleets' part compressed once
    // per render; the same series as the plain body.
    h.exporter.sweep_once().await;
    let address = h.address.clone();
    let (status, head, compressed) = tokio::task::spawn_blocking(move || {
        support::http_raw("GET", &address, "/metrics", &[("Accept-Encoding", "gzip")])
    })
    .await
    .unwrap();
    assert_eq!(status, 200);
    let head = head.to_lowercase();
    assert!(
        head.contains("content-encoding: gzip") && head.contains("vary: accept-encoding"),
        "{head}"
    );
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::MultiGzDecoder::new(&compressed[..]), &mut text)
        .unwrap();
    let (plain, _) = h.scrape_settled().await;
    assert_eq!(
        support::parse_metrics(&text, "gamelift_game"),
        support::parse_metrics(&plain, "gamelift_game")
    );
    let address = h.address.clone();
    let (_, head, _) = tokio::task::spawn_blocking(move || {
        support::http_with(
            "GET",
            &address,
            "/metrics",
            &[("Accept-Encoding", "gzip;q=0, identity")],
        )
    })
    .await
    .unwrap();
    assert!(
        !head.to_lowercase().contains("content-encoding"),
        "gzip;q=0 is a refusal:\n{head}"
    );

    // The same state reads the same from scrape to scrape, each family's series sorted by
    // their labels.
    let fleet_lines = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with("gamelift_") && !l.starts_with("gamelift_exporter_api"))
            .map(str::to_string)
            .collect()
    };
    let (first, _) = h.scrape_settled().await;
    let (second, _) = h.scrape_settled().await;
    assert_eq!(fleet_lines(&first), fleet_lines(&second));
    let lines = fleet_lines(&first);
    for pair in lines.windows(2) {
        let family = |l: &str| l.split(['{', ' ']).next().unwrap().to_string();
        if family(&pair[0]) == family(&pair[1]) {
            assert!(pair[0] < pair[1], "not sorted:\n{}\n{}", pair[0], pair[1]);
        }
    }

    // HEAD: the head only, with the Content-Length the GET body has.
    let content_length = |head: &str| -> usize {
        head.lines()
            .find_map(|l| {
                l.to_lowercase()
                    .strip_prefix("content-length:")
                    .map(|v| v.trim().parse().unwrap())
            })
            .expect("a Content-Length header")
    };
    let (_, _, landing) = h.get("/").await;
    for path in ["/", "/metrics"] {
        let address = h.address.clone();
        let (status, head, body) = tokio::task::spawn_blocking(move || http("HEAD", &address, path))
            .await
            .unwrap();
        assert_eq!((status, body.as_str()), (200, ""), "{path}");
        if path == "/" {
            assert_eq!(content_length(&head), landing.len());
        } else {
            assert!(
                content_length(&head) > 1000,
                "the length of the metrics, not 0:\n{head}"
            );
        }
    }
}
