//! The sweep engine (issue 10): spot interruptions counted within one live pass, fresh live
//! statuses, per-fleet schedules with history in the background, every attempt on the budget,
//! and what survives a restart. Every number is compared with the simulator's own records.

use crate::support;

use crate::support::{assert_metrics_eq, only, secs, series, ExporterProcess, Harness, Scheduled};
use gamelift_exporter::config::{Config, Glob};
use gamelift_exporter::simulator::{Faults, SessionRecord};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const SPOT: &str = "fleet-5b0a0000-0000-4000-8000-0000000000e1";
const ONDEMAND: &str = "fleet-0d0a0000-0000-4000-8000-0000000000e2";
const TICK: Duration = Duration::from_secs(10);

/// A SPOT fleet in two locations whose capacity is reclaimed now and then, and an ON_DEMAND
/// fleet; sessions come and go every tick.
fn churning_world(interruption_probability: f64) -> String {
    format!(
        r#"
seed = 4242
[faults]
rate_limits = {{}}

[[fleet]]
id = "{SPOT}"
name = "spot"
type = "SPOT"
home_region = "us-west-2"
locations = ["us-east-1"]
sessions_per_instance = 3
[fleet.sessions]
active = 18
activating = 2
terminating = 1
terminated = 40
interrupted = 6
[fleet.churn]
new_sessions_per_tick = 0.8
activation_probability = 0.6
end_probability = 0.03
player_change = 2
interruption_probability = {interruption_probability}
interruption_fraction = 0.2

[[fleet]]
id = "{ONDEMAND}"
name = "ondemand"
type = "ON_DEMAND"
home_region = "us-west-2"
[fleet.sessions]
active = 25
terminated = 30
[fleet.churn]
new_sessions_per_tick = 0.6
end_probability = 0.03
player_change = 2
"#
    )
}

const LIVE_METRICS: [&str; 5] = [
    "gamelift_game_session_players",
    "gamelift_game_session_player_slots",
    "gamelift_game_session_open_slots",
    "gamelift_game_sessions_by_occupancy",
    "gamelift_game_sessions",
];

/// The truth for the live statuses only (what a live pass must get exactly right).
fn live_truth(h: &Harness) -> BTreeMap<String, f64> {
    only(&h.truth(), &LIVE_METRICS)
        .into_iter()
        .filter(|(k, _)| !k.contains("status=\"TERMINATED\"") && !k.contains("status=\"ERROR\""))
        .collect()
}

fn live_published(metrics: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    only(metrics, &LIVE_METRICS)
        .into_iter()
        .filter(|(k, _)| !k.contains("status=\"TERMINATED\"") && !k.contains("status=\"ERROR\""))
        .collect()
}

/// Sessions that ended INTERRUPTED after `since_ms`, per counter series, with every fleet
/// location at 0 first.
fn interruptions_truth(h: &Harness, since_ms: i64) -> BTreeMap<String, f64> {
    let mut out: BTreeMap<String, f64> = h.zero_per_location("gamelift_game_session_interruptions_total");
    for s in h.sim.sessions() {
        if s.status_reason == Some("INTERRUPTED") && s.termination_time_ms > Some(since_ms) {
            *out.entry(series(
                "gamelift_game_session_interruptions_total",
                &[("fleet_id", &s.fleet_id), ("location", &s.location)],
            ))
            .or_default() += 1.0;
        }
    }
    out
}

fn active_ids(sessions: &[SessionRecord]) -> BTreeMap<String, (String, String)> {
    sessions
        .iter()
        .filter(|s| s.status == "ACTIVE")
        .map(|s| {
            (
                s.game_session_id.clone(),
                (s.fleet_id.clone(), s.location.clone()),
            )
        })
        .collect()
}

fn reclaimed_instances(h: &Harness, fleet: &str) -> BTreeSet<String> {
    h.sim
        .events(fleet)
        .into_iter()
        .filter(|e| e.event_code == "INSTANCE_INTERRUPTED")
        .map(|e| e.resource_id)
        .collect()
}

#[tokio::test]
async fn spot_interruptions_are_counted_by_the_first_live_pass_after_them() {
    let h = Harness::start(&churning_world(0.08), |c| {
        c.sweep.history_interval = secs(3600);
        c.sweep.max_session_lookups = 1000;
    })
    .await;
    let started_ms = h.sim.now_ms();
    let first = h.exporter.sweep_once().await;
    assert_eq!(
        first.full_passes, 2,
        "the first round reads each fleet's history once"
    );
    let (_, metrics) = h.scrape_settled().await;
    assert_metrics_eq(
        &only(&metrics, &support::SESSION_METRICS),
        &h.truth(),
        "first round",
    );

    let mut ended: BTreeMap<String, f64> = h.zero_per_location("gamelift_game_sessions_ended_total");
    let mut before = active_ids(&h.sim.sessions());
    h.sim.clear_requests();
    for step in 0..30 {
        // One tick per pass: every session is live in at least one pass, so the live path can
        // see every interruption (one that begins and ends between two passes is left to the
        // full pass, and would make this comparison inexact).
        h.sim.advance(TICK);
        if step % 9 == 4 {
            assert!(!h
                .sim
                .interrupt_instances(SPOT, "us-east-1", 1)
                .unwrap()
                .is_empty());
        }
        let report = h.exporter.sweep_once().await;
        assert_eq!(
            (report.fleets_failed, report.full_passes),
            (0, 0),
            "step {step}: live passes only"
        );
        let sessions = h.sim.sessions();
        let now = active_ids(&sessions);
        for (id, (fleet, location)) in &before {
            if !now.contains_key(id) {
                *ended
                    .get_mut(&series(
                        "gamelift_game_sessions_ended_total",
                        &[("fleet_id", fleet), ("location", location)],
                    ))
                    .unwrap() += 1.0;
            }
        }
        before = now;
        let (_, metrics) = h.scrape_settled().await;
        let what = format!("after step {step}");
        assert_metrics_eq(
            &only(&metrics, &["gamelift_game_session_interruptions_total"]),
            &interruptions_truth(&h, started_ms),
            &what,
        );
        assert_metrics_eq(
            &only(
                &metrics,
                &["gamelift_game_session_last_interruption_timestamp_seconds"],
            ),
            &only(
                &h.truth(),
                &["gamelift_game_session_last_interruption_timestamp_seconds"],
            ),
            &what,
        );
        assert_metrics_eq(&live_published(&metrics), &live_truth(&h), &what);
        assert_metrics_eq(
            &only(&metrics, &["gamelift_game_sessions_ended_total"]),
            &ended,
            &what,
        );
        let reclaims = reclaimed_instances(&h, SPOT).len() as f64;
        assert_eq!(
            metrics[&series(
                "gamelift_fleet_events_total",
                &[("fleet_id", SPOT), ("event_code", "INSTANCE_INTERRUPTED")]
            )],
            reclaims,
            "{what}"
        );
    }
    let counted: f64 = interruptions_truth(&h, started_ms).values().sum();
    let reclaims = reclaimed_instances(&h, SPOT);
    assert!(
        counted >= 10.0 && reclaims.len() >= 4,
        "a run with several interruptions ({counted} sessions, {} instances)",
        reclaims.len()
    );

    // Lookups went only to sessions on reclaimed instances.
    let sessions: BTreeMap<String, String> = h
        .sim
        .sessions()
        .into_iter()
        .map(|s| (s.game_session_id, s.compute_name))
        .collect();
    let lookups: Vec<_> = h
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.operation == "DescribeGameSessionDetails")
        .collect();
    assert!(lookups.len() as f64 >= counted);
    for lookup in &lookups {
        let instance = sessions
            .iter()
            .find(|(id, _)| lookup.params.contains(id.as_str()))
            .map(|(_, compute)| compute)
            .unwrap_or_else(|| panic!("lookup of an unknown session: {}", lookup.params));
        assert!(
            reclaims.contains(instance),
            "lookup of a session on {instance}, never reclaimed"
        );
    }
    assert!(
        !h.sim
            .requests()
            .iter()
            .any(|r| r.operation == "DescribeGameSessionDetails" && r.params.contains(ONDEMAND)),
        "ON_DEMAND capacity is never reclaimed, so never looked up"
    );

    // The full pass then sees the same sessions: nothing is counted twice.
    let (_, before_full) = h.scrape_settled().await;
    h.write_config(|c| c.sweep.history_interval = secs(0));
    h.exporter.reload_from_file().await.unwrap();
    let report = h.exporter.sweep_once().await;
    assert_eq!(report.full_passes, 2);
    let (_, after_full) = h.scrape_settled().await;
    assert_metrics_eq(
        &only(&after_full, &["gamelift_game_session_interruptions_total"]),
        &only(&before_full, &["gamelift_game_session_interruptions_total"]),
        "after a full pass over the same sessions",
    );
    assert_metrics_eq(
        &only(&after_full, &support::SESSION_METRICS),
        &h.truth(),
        "after the full pass",
    );
}

#[tokio::test]
async fn a_two_minute_notice_is_kept_in_mind_until_the_sessions_end() {
    let h = Harness::start(&churning_world(0.0), |c| c.sweep.history_interval = secs(3600)).await;
    let started_ms = h.sim.now_ms();
    h.exporter.sweep_once().await;
    let instance = h
        .sim
        .sessions()
        .into_iter()
        .find(|s| s.fleet_id == SPOT && s.status == "ACTIVE")
        .unwrap()
        .compute_name;
    h.sim.advance(TICK);
    let doomed = h
        .sim
        .interrupt_instance(SPOT, &instance, Duration::from_secs(120))
        .unwrap();
    assert!(!doomed.is_empty());
    let key = |location: &str| {
        series(
            "gamelift_game_session_interruptions_total",
            &[("fleet_id", SPOT), ("location", location)],
        )
    };
    let total = |m: &BTreeMap<String, f64>| m[&key("us-west-2")] + m[&key("us-east-1")];
    // The notice arrives while its sessions are still ACTIVE: counted as an event, not yet as
    // interruptions.
    h.exporter.sweep_once().await;
    let (_, metrics) = h.scrape_settled().await;
    assert_eq!(total(&metrics), 0.0);
    let events = series(
        "gamelift_fleet_events_total",
        &[("fleet_id", SPOT), ("event_code", "INSTANCE_INTERRUPTED")],
    );
    assert_eq!(metrics[&events], 1.0);
    for _ in 0..12 {
        h.sim.advance(TICK);
        h.exporter.sweep_once().await;
    }
    let (_, metrics) = h.scrape_settled().await;
    assert_eq!(
        total(&metrics),
        doomed.len() as f64,
        "counted by the pass in which they ended"
    );
    assert_metrics_eq(
        &only(&metrics, &["gamelift_game_session_interruptions_total"]),
        &interruptions_truth(&h, started_ms),
        "after the notice",
    );
}

#[tokio::test]
async fn lookups_are_capped_per_pass_and_the_rest_follows() {
    let h = Harness::start(&churning_world(0.0), |c| {
        c.sweep.history_interval = secs(3600);
        c.sweep.max_session_lookups = 2;
    })
    .await;
    h.exporter.sweep_once().await;
    // An instance with three ACTIVE sessions (sessions_per_instance = 3).
    let by_instance = h
        .sim
        .sessions()
        .into_iter()
        .filter(|s| s.fleet_id == SPOT && s.status == "ACTIVE")
        .fold(BTreeMap::<String, usize>::new(), |mut m, s| {
            *m.entry(s.compute_name).or_default() += 1;
            m
        });
    let (instance, _) = by_instance
        .into_iter()
        .find(|(_, n)| *n == 3)
        .expect("a full instance");
    h.sim.advance(TICK);
    let ended = h.sim.interrupt_instance(SPOT, &instance, Duration::ZERO).unwrap();
    assert_eq!(ended.len(), 3);
    h.sim.clear_requests();
    h.exporter.sweep_once().await;
    assert_eq!(h.calls("DescribeGameSessionDetails"), 2, "the cap");
    let counted = |m: &BTreeMap<String, f64>| -> f64 {
        only(m, &["gamelift_game_session_interruptions_total"])
            .values()
            .sum()
    };
    assert_eq!(counted(&h.scrape_settled().await.1), 2.0);
    h.exporter.sweep_once().await;
    assert_eq!(
        h.calls("DescribeGameSessionDetails"),
        3,
        "the rest, one pass later"
    );
    assert_eq!(counted(&h.scrape_settled().await.1), 3.0);
}

#[tokio::test]
async fn fleet_events_count_by_code_and_new_codes_start_at_zero() {
    let h = Harness::start(&churning_world(0.0), |c| c.sweep.history_interval = secs(3600)).await;
    h.exporter.sweep_once().await;
    let (_, metrics) = h.scrape_settled().await;
    let watched = [
        "INSTANCE_INTERRUPTED",
        "INSTANCE_RECYCLED",
        "INSTANCE_REPLACED_UNHEALTHY",
        "SERVER_PROCESS_CRASHED",
        "SERVER_PROCESS_TERMINATED_UNHEALTHY",
        "SERVER_PROCESS_FORCE_TERMINATED",
        "GAME_SESSION_ACTIVATION_TIMEOUT",
    ];
    let expected: BTreeMap<String, f64> = [SPOT, ONDEMAND]
        .iter()
        .flat_map(|f| {
            watched.iter().map(move |c| {
                (
                    series(
                        "gamelift_fleet_events_total",
                        &[("fleet_id", f), ("event_code", c)],
                    ),
                    0.0,
                )
            })
        })
        .collect();
    assert_metrics_eq(
        &only(&metrics, &["gamelift_fleet_events_total"]),
        &expected,
        "from discovery, at 0",
    );

    h.sim.advance(TICK);
    h.sim
        .emit_event(
            ONDEMAND,
            "SERVER_PROCESS_CRASHED",
            Some("i-0000000000000abcd"),
            Some(3),
        )
        .unwrap();
    h.sim
        .emit_event(ONDEMAND, "SERVER_PROCESS_CRASHED", None, None)
        .unwrap();
    h.sim
        .emit_event(ONDEMAND, "FLEET_SCALING_EVENT", None, None)
        .unwrap();
    h.exporter.sweep_once().await;
    // One scrape, as Prometheus makes it: the new code's series is served at 0 first.
    let (_, metrics) = h.scrape().await;
    let code = |c: &str| {
        series(
            "gamelift_fleet_events_total",
            &[("fleet_id", ONDEMAND), ("event_code", c)],
        )
    };
    assert_eq!(
        metrics[&code("SERVER_PROCESS_CRASHED")],
        4.0,
        "Count 3, and 1 when absent"
    );
    assert_eq!(
        metrics[&code("FLEET_SCALING_EVENT")],
        0.0,
        "a new series is published at 0 first"
    );
    // Read again by the overlapping poll: not counted twice; the new code's count follows in
    // the next response.
    h.sim.advance(TICK);
    h.exporter.sweep_once().await;
    let (_, metrics) = h.scrape().await;
    assert_eq!(metrics[&code("SERVER_PROCESS_CRASHED")], 4.0);
    assert_eq!(metrics[&code("FLEET_SCALING_EVENT")], 1.0);
    // One events poll per fleet and pass.
    h.sim.clear_requests();
    h.exporter.sweep_once().await;
    assert_eq!(h.calls("DescribeFleetEvents"), 2);
}

#[tokio::test]
async fn live_statuses_are_current_after_one_pass_and_deleted_fleets_go() {
    let h = Harness::start(&churning_world(0.05), |c| c.sweep.history_interval = secs(3600)).await;
    h.exporter.sweep_once().await;
    for _ in 0..5 {
        h.sim.advance(Duration::from_secs(60));
        h.exporter.sweep_once().await;
        let (_, metrics) = h.scrape_settled().await;
        assert_metrics_eq(
            &live_published(&metrics),
            &live_truth(&h),
            "one live pass after churn",
        );
    }
    // A fleet deleted in the simulator loses every series one live pass later.
    assert!(h.sim.delete_fleet(SPOT));
    let report = h.exporter.sweep_once().await;
    assert_eq!(report.fleets_failed, 1, "its pass found it gone");
    let (text, _) = h.scrape_settled().await;
    assert!(
        !text.contains(SPOT),
        "no series of the deleted fleet remain:\n{text}"
    );
    assert!(text.contains(ONDEMAND));

    // Statuses left out of sweep.live_statuses are not published as current.
    h.write_config(|c| c.sweep.live_statuses = vec!["ACTIVE".into()]);
    h.exporter.reload_from_file().await.unwrap();
    h.sim.clear_requests();
    h.exporter.sweep_once().await;
    let (_, metrics) = h.scrape_settled().await;
    let published = only(&metrics, &["gamelift_game_sessions"]);
    let statuses: BTreeSet<&str> = published
        .keys()
        .filter_map(|k| k.split("status=\"").nth(1).and_then(|r| r.split('"').next()))
        .collect();
    assert_eq!(statuses, BTreeSet::from(["ACTIVE", "ERROR", "TERMINATED"]));
    assert!(h
        .sim
        .requests()
        .iter()
        .all(|r| r.operation != "DescribeGameSessions" || r.params.contains("\"StatusFilter\":\"ACTIVE\"")));
}

#[tokio::test]
async fn calls_per_live_pass_by_operation() {
    let page = 7;
    let h = Harness::start(&churning_world(0.0), |c| c.sweep.history_interval = secs(3600)).await;
    h.exporter.sweep_once().await;
    h.sim.clear_requests();
    let report = h.exporter.sweep_once().await;
    let sessions = h.sim.sessions();
    let expected: usize = [SPOT, ONDEMAND]
        .iter()
        .flat_map(|f| ["ACTIVE", "ACTIVATING", "TERMINATING"].map(move |st| (*f, st)))
        .map(|(f, st)| {
            sessions
                .iter()
                .filter(|s| s.fleet_id == f && s.status == st)
                .count()
                .div_ceil(page)
                .max(1)
        })
        .sum();
    assert_eq!(h.calls("DescribeGameSessions"), expected);
    assert_eq!(h.calls("DescribeFleetEvents"), 2);
    assert_eq!(
        h.calls("DescribeGameSessionDetails"),
        0,
        "no interruption, no lookup"
    );
    assert_eq!(h.sim.requests().len(), expected + 2, "nothing else");
    assert_eq!(report.live_calls["DescribeGameSessions"] as usize, expected);
    assert_eq!(report.total_requests() as usize, expected + 2);
    // The history is not read again until history_interval has passed.
    assert!(h
        .sim
        .requests()
        .iter()
        .all(|r| r.params.contains("StatusFilter") || r.operation != "DescribeGameSessions"));
}

fn up(metrics: &BTreeMap<String, f64>, fleet: &str) -> Option<f64> {
    metrics
        .get(&series("gamelift_exporter_fleet_up", &[("fleet_id", fleet)]))
        .copied()
}

fn last_success(metrics: &BTreeMap<String, f64>, fleet: &str) -> Option<f64> {
    metrics
        .get(&series(
            "gamelift_exporter_fleet_last_success_timestamp_seconds",
            &[("fleet_id", fleet)],
        ))
        .copied()
}

/// A big history, read slowly: its full pass takes far longer than stale_after.
fn slow_history_world() -> String {
    churning_world(0.0).replace("terminated = 40", "terminated = 1500")
}

/// Live passes every 300 ms, stale after 2 s, and full passes at 5% of a 200/s budget: long.
fn scheduled(url: &str) -> Config {
    let mut c = support::test_config(url);
    c.aws.regions = vec!["us-west-2".into()];
    c.aws.max_requests_per_second = 200.0;
    c.sweep.interval = Duration::from_millis(300);
    c.sweep.stale_after = secs(2);
    c.sweep.history_interval = secs(3600);
    c.sweep.history_budget_share = 0.05;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_pass_longer_than_stale_after_delays_no_live_pass() {
    let h = Harness::with_config(&slow_history_world(), scheduled).await;
    let _running = Scheduled::start(&h);
    // 3,000 terminated sessions in pages of 7 at 5% of 200/s: about 40 s of full pass.
    let started = std::time::Instant::now();
    while h.get("/-/ready").await.0 != 200 {
        assert!(started.elapsed() < Duration::from_secs(10), "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut successes: BTreeMap<&str, BTreeSet<u64>> = BTreeMap::new();
    let watch = std::time::Instant::now();
    while watch.elapsed() < Duration::from_secs(6) {
        let (_, metrics) = h.scrape_settled().await;
        for fleet in [SPOT, ONDEMAND] {
            assert_eq!(
                up(&metrics, fleet),
                Some(1.0),
                "{fleet} stays up while its history is read"
            );
            assert!(
                metrics.contains_key(&series(
                    "gamelift_game_session_players",
                    &[("fleet_id", fleet), ("location", "us-west-2")]
                )),
                "{fleet} keeps its series"
            );
            successes
                .entry(fleet)
                .or_default()
                .insert((last_success(&metrics, fleet).unwrap() * 1000.0) as u64);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, metrics) = h.scrape_settled().await;
    for fleet in [SPOT, ONDEMAND] {
        // About 20 live passes in 6 s at 300 ms; at least half of them, whatever the machine.
        assert!(
            successes[fleet].len() >= 10,
            "{fleet}: only {} live passes",
            successes[fleet].len()
        );
    }
    assert!(
        !metrics.contains_key(&series(
            "gamelift_exporter_fleet_last_full_pass_timestamp_seconds",
            &[("fleet_id", SPOT)]
        )),
        "the full pass is still running (the premise of this test)"
    );
    let full_pass_pages = h
        .sim
        .requests()
        .iter()
        .filter(|r| r.operation == "DescribeGameSessions" && !r.params.contains("StatusFilter"))
        .count();
    assert!(
        full_pass_pages > 5,
        "the full passes are under way ({full_pass_pages} pages)"
    );
}

fn unfiltered_pages(h: &Harness, fleet: &str) -> Vec<(String, String)> {
    h.sim
        .requests()
        .into_iter()
        .filter(|r| {
            r.operation == "DescribeGameSessions"
                && !r.params.contains("StatusFilter")
                && r.params.contains(fleet)
        })
        .map(|r| {
            let token = r
                .params
                .split("\"NextToken\":\"")
                .nth(1)
                .map_or("first page".to_string(), |t| {
                    t.split('"').next().unwrap().to_string()
                });
            (token, r.outcome)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_full_pass_resumes_at_the_page_that_failed() {
    let h = Harness::with_config(&slow_history_world(), |url| {
        let mut c = support::test_config(url);
        c.aws.regions = vec!["us-west-2".into()];
        c.aws.max_requests_per_second = 400.0;
        c.aws.max_attempts = 2;
        c.sweep.history_interval = secs(0);
        c.fleets.include = vec![Glob::parse(SPOT).unwrap()];
        c
    })
    .await;
    let exporter = h.exporter.clone();
    let first = tokio::spawn(async move { exporter.sweep_once().await });
    // Let the full pass read some pages, then fail every request for a while.
    let started = std::time::Instant::now();
    while unfiltered_pages(&h, SPOT).len() < 40 {
        assert!(started.elapsed() < Duration::from_secs(20));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    h.sim.set_faults(Faults {
        server_error_ratio: 1.0,
        ..Faults::none()
    });
    let report = first.await.unwrap();
    assert_eq!(report.full_passes, 0, "the full pass failed part-way");
    let read_before = unfiltered_pages(&h, SPOT)
        .iter()
        .filter(|(_, o)| o == "ok")
        .count();
    assert!(read_before >= 40);
    h.sim.set_faults(Faults::none());
    let report = h.exporter.sweep_once().await;
    assert_eq!(report.full_passes, 1, "resumed and completed");
    let pages = unfiltered_pages(&h, SPOT);
    let ok: Vec<&String> = pages.iter().filter(|(_, o)| o == "ok").map(|(t, _)| t).collect();
    let distinct: BTreeSet<&String> = ok.iter().copied().collect();
    assert_eq!(distinct.len(), ok.len(), "no page was read twice");
    let expected_pages = h
        .sim
        .sessions()
        .iter()
        .filter(|s| s.fleet_id == SPOT)
        .count()
        .div_ceil(7);
    assert_eq!(
        ok.len(),
        expected_pages,
        "every page read exactly once over both attempts"
    );
    let (_, metrics) = h.scrape_settled().await;
    assert_metrics_eq(
        &only(&metrics, &support::SESSION_METRICS),
        &only(&h.truth(), &support::SESSION_METRICS)
            .into_iter()
            .filter(|(k, _)| k.contains(SPOT))
            .collect(),
        "the resumed pass is exact",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_never_pushes_attempts_above_the_budget() {
    let budget: f64 = 20.0;
    let h = Harness::with_config(
        &churning_world(0.0).replace("active = 25", "active = 300"),
        |url| {
            let mut c = support::test_config(url);
            c.aws.regions = vec!["us-west-2".into()];
            c.aws.max_requests_per_second = budget;
            // Every operation's own budget above the cap: the cap is what is tested here.
            c.aws.quota_share = 2.0;
            c.aws.max_attempts = 4;
            c.sweep.interval = Duration::from_millis(500);
            c.sweep.history_interval = secs(3600);
            c
        },
    )
    .await;
    let _running = Scheduled::start(&h);
    let started = std::time::Instant::now();
    while h.get("/-/ready").await.0 != 200 {
        assert!(started.elapsed() < Duration::from_secs(20), "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    h.sim.set_faults(Faults {
        throttle_ratio: 0.5,
        ..Faults::none()
    });
    let mut lowest = budget;
    let watch = std::time::Instant::now();
    while watch.elapsed() < Duration::from_secs(8) {
        let (_, metrics) = h.scrape_settled().await;
        // Throttling slows the throttled operation's own budget.
        if let Some(rate) = metrics.get(&series(
            "gamelift_exporter_request_budget_per_second",
            &[
                ("account", "default"),
                ("operation", "DescribeGameSessions"),
                ("region", "us-west-2"),
            ],
        )) {
            lowest = lowest.min(*rate);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let requests = h.sim.requests();
    let throttled = requests
        .iter()
        .filter(|r| r.outcome == "ThrottlingException")
        .count();
    assert!(
        requests.len() > 40 && throttled > 10,
        "{} requests, {throttled} throttled",
        requests.len()
    );
    let times: Vec<std::time::Instant> = requests.iter().map(|r| r.at).collect();
    let worst = times
        .iter()
        .enumerate()
        .map(|(i, start)| {
            times[i..]
                .iter()
                .take_while(|t| t.duration_since(*start) < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap();
    eprintln!("throttling: {} attempts, {throttled} throttled, at most {worst} in any second, budget down to {lowest:.2}/s", requests.len());
    assert!(
        worst <= budget as usize + 1,
        "{worst} attempts in one second, budget {budget}/s"
    );
    assert!(lowest < budget, "throttling slowed the budget down ({lowest})");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_during_a_long_full_pass_applies_within_a_second() {
    let h = Harness::with_config(&slow_history_world(), |url| {
        let mut c = scheduled(url);
        c.server.enable_reload = true;
        c
    })
    .await;
    let _running = Scheduled::start(&h);
    let started = std::time::Instant::now();
    while h.get("/-/ready").await.0 != 200 {
        assert!(started.elapsed() < Duration::from_secs(10), "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    h.write_config(|c| c.fleets.exclude = vec![Glob::parse("ondemand").unwrap()]);
    let address = h.address.clone();
    let posted = std::time::Instant::now();
    let (status, _, body) = tokio::task::spawn_blocking(move || support::http("POST", &address, "/-/reload"))
        .await
        .unwrap();
    let took = posted.elapsed();
    assert_eq!(status, 200, "{body}");
    assert!(took < Duration::from_secs(1), "the reload took {took:?}");
    // The filter applies from the next pass: the excluded fleet's series go at once and its
    // passes stop (one already in flight may finish).
    tokio::time::sleep(Duration::from_millis(700)).await;
    let cutoff = std::time::Instant::now();
    let (text, metrics) = h.scrape_settled().await;
    assert!(!text.contains(ONDEMAND), "the excluded fleet is gone:\n{text}");
    assert_eq!(up(&metrics, SPOT), Some(1.0));
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let late = h
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.at > cutoff && r.params.contains(ONDEMAND))
        .count();
    assert_eq!(late, 0, "no call for the excluded fleet after the reload");
    assert!(
        !metrics.contains_key(&series(
            "gamelift_exporter_fleet_last_full_pass_timestamp_seconds",
            &[("fleet_id", SPOT)]
        )),
        "all of this happened during the full pass"
    );
}

fn counter_sum(metrics: &BTreeMap<String, f64>, name: &str) -> f64 {
    only(metrics, &[name]).values().sum()
}

fn event_count(metrics: &BTreeMap<String, f64>, fleet: &str, code: &str) -> Option<f64> {
    metrics
        .get(&series(
            "gamelift_fleet_events_total",
            &[("fleet_id", fleet), ("event_code", code)],
        ))
        .copied()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_file_carries_interruptions_and_events_across_a_restart() {
    use gamelift_exporter::simulator::{Clock, Simulator};
    let sim = Simulator::start(&support::scenario(&churning_world(0.0)), Clock::Manual)
        .await
        .unwrap();
    let dir = support::temp_path("state-dir");
    std::fs::create_dir_all(&dir).unwrap();
    let port = support::free_port();
    let config = dir.join("exporter.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\n[aws]\nregion = \"us-west-2\"\nendpoint_url = \"{}\"\nmax_requests_per_second = 1000\n[sweep]\ninterval = \"300ms\"\nhistory_interval = \"1h\"\n[state]\npath = \"state.json\"\n",
            sim.url
        ),
    )
    .unwrap();
    let first = ExporterProcess::start(
        &["--config", config.to_str().unwrap()],
        &format!("127.0.0.1:{port}"),
    );
    first
        .wait_for("a first live pass", |m| up(m, SPOT) == Some(1.0))
        .await;
    sim.advance(TICK);
    let counted_before = sim.interrupt_instances(SPOT, "us-west-2", 1).unwrap().len() as f64;
    first
        .wait_for("the interruption counted", |m| {
            counter_sum(m, "gamelift_game_session_interruptions_total") == counted_before
        })
        .await;
    assert!(
        first
            .log()
            .contains("no state file yet; each fleet counts from its first sighting"),
        "{}",
        first.log()
    );
    assert!(
        !first.log().contains('\u{1b}'),
        "no colour escapes in a log file:\n{}",
        first.log()
    );
    assert_eq!(first.stop(), Some(0));
    assert!(dir.join("state.json").exists());

    // While the exporter is down: another spot interruption and a crash.
    sim.advance(TICK);
    let during_downtime = sim.interrupt_instances(SPOT, "us-east-1", 1).unwrap().len() as f64;
    sim.emit_event(SPOT, "SERVER_PROCESS_CRASHED", None, Some(2))
        .unwrap();
    sim.advance(TICK);

    let second = ExporterProcess::start(
        &["--config", config.to_str().unwrap()],
        &format!("127.0.0.1:{port}"),
    );
    let metrics = second
        .wait_for("the downtime counted after the restart", |m| {
            counter_sum(m, "gamelift_game_session_interruptions_total") == during_downtime
                && event_count(m, SPOT, "INSTANCE_INTERRUPTED") == Some(1.0)
                && event_count(m, SPOT, "SERVER_PROCESS_CRASHED") == Some(2.0)
        })
        .await;
    assert!(second.log().contains("state restored"), "{}", second.log());
    // Stays so: nothing counted twice by later passes.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let later = second.metrics().await;
    assert_eq!(
        only(
            &later,
            &[
                "gamelift_game_session_interruptions_total",
                "gamelift_fleet_events_total"
            ]
        ),
        only(
            &metrics,
            &[
                "gamelift_game_session_interruptions_total",
                "gamelift_fleet_events_total"
            ]
        )
    );
    assert_eq!(second.stop(), Some(0));

    // A corrupt file: set aside with the reason, a fresh start, and counting works.
    std::fs::write(dir.join("state.json"), "{\"version\": 1, \"counting").unwrap();
    let third = ExporterProcess::start(
        &["--config", config.to_str().unwrap()],
        &format!("127.0.0.1:{port}"),
    );
    third
        .wait_for("a first live pass and full pass", |m| {
            up(m, SPOT) == Some(1.0)
                && m.contains_key(&series(
                    "gamelift_exporter_fleet_last_full_pass_timestamp_seconds",
                    &[("fleet_id", SPOT)],
                ))
        })
        .await;
    // The simulated clock runs ahead of the wall clock here, so the fresh start may count the
    // earlier interruptions as new (a real fresh start would not): count from what it shows.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let baseline = counter_sum(
        &third.metrics().await,
        "gamelift_game_session_interruptions_total",
    );
    let log = third.log();
    assert!(
        log.contains("the state file cannot be used; it was set aside and counting starts fresh")
            && log.contains("not a valid state file: EOF while parsing"),
        "{log}"
    );
    let aside: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("state.json.corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1, "the corrupt file is kept aside");
    sim.advance(TICK);
    let fresh = sim.interrupt_instances(SPOT, "us-west-2", 1).unwrap().len() as f64;
    third
        .wait_for("an interruption counted after the fresh start", |m| {
            counter_sum(m, "gamelift_game_session_interruptions_total") == baseline + fresh
        })
        .await;
    assert_eq!(third.stop(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unwritable_state_file_is_reported_and_counting_goes_on() {
    use gamelift_exporter::simulator::{Clock, Simulator};
    let sim = Simulator::start(&support::scenario(&churning_world(0.0)), Clock::Manual)
        .await
        .unwrap();
    // The state file's directory is a regular file: nothing can be written there.
    let blocker = support::temp_path("not-a-directory");
    std::fs::write(&blocker, "").unwrap();
    let port = support::free_port();
    let config = support::temp_path("unwritable.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\n[aws]\nregion = \"us-west-2\"\nendpoint_url = \"{}\"\nmax_requests_per_second = 1000\n[sweep]\ninterval = \"300ms\"\nhistory_interval = \"1h\"\n[state]\npath = \"{}/state.json\"\n",
            sim.url,
            blocker.display()
        ),
    )
    .unwrap();
    let exporter = ExporterProcess::start(
        &["--config", config.to_str().unwrap()],
        &format!("127.0.0.1:{port}"),
    );
    exporter
        .wait_for("a first live pass", |m| up(m, SPOT) == Some(1.0))
        .await;
    sim.advance(TICK);
    let ended = sim.interrupt_instances(SPOT, "us-west-2", 1).unwrap().len() as f64;
    let metrics = exporter
        .wait_for("the interruption counted, and the write failure", |m| {
            counter_sum(m, "gamelift_game_session_interruptions_total") == ended
                && m.get("gamelift_exporter_state_write_failures_total")
                    .is_some_and(|v| *v >= 1.0)
        })
        .await;
    assert_eq!(up(&metrics, SPOT), Some(1.0));
    let log = exporter.log();
    assert_eq!(
        log.matches("cannot write the state file").count(),
        1,
        "one clear line while the problem lasts:\n{log}"
    );
    assert!(log.contains("Not a directory"), "{log}");
    assert_eq!(exporter.stop(), Some(0));
}

#[tokio::test]
async fn a_failing_events_poll_fails_no_live_pass_and_its_window_is_read_again() {
    let h = Harness::start(&churning_world(0.0), |c| c.sweep.history_interval = secs(3600)).await;
    h.exporter.sweep_once().await;
    h.scrape_settled().await;
    // One IAM action missing: DescribeFleetEvents is refused, everything else answers.
    let mut faults = Faults::none();
    faults
        .failing_operations
        .insert("DescribeFleetEvents".into(), "AccessDeniedException".into());
    h.sim.set_faults(faults);
    h.sim.advance(TICK);
    h.sim
        .emit_event(SPOT, "SERVER_PROCESS_CRASHED", None, Some(2))
        .unwrap();
    let report = h.exporter.sweep_once().await;
    assert_eq!(report.fleets_failed, 0, "the session listings succeeded");
    let (_, metrics) = h.scrape_settled().await;
    // The live numbers (TERMINATED and ERROR are the full pass's, hourly here).
    let live = |m: &BTreeMap<String, f64>| -> BTreeMap<String, f64> {
        only(m, &support::SESSION_METRICS)
            .into_iter()
            .filter(|(k, _)| {
                !k.contains("status=\"TERMINATED\"")
                    && !k.contains("status=\"ERROR\"")
                    && !k.contains("last_interruption")
            })
            .collect()
    };
    assert_metrics_eq(
        &live(&metrics),
        &live(&h.truth()),
        "sessions published while the events poll fails",
    );
    let events_up = |m: &BTreeMap<String, f64>, fleet: &str| {
        m.get(&series(
            "gamelift_exporter_fleet_events_up",
            &[("fleet_id", fleet)],
        ))
        .copied()
    };
    for fleet in [SPOT, ONDEMAND] {
        assert_eq!(up(&metrics, fleet), Some(1.0), "{fleet} stays up");
        assert_eq!(
            events_up(&metrics, fleet),
            Some(0.0),
            "{fleet}'s events are failing"
        );
    }
    assert_eq!(event_count(&metrics, SPOT, "SERVER_PROCESS_CRASHED"), Some(0.0));
    // Allowed again: the next poll reads the same window, and the crash counts once.
    h.sim.set_faults(Faults::none());
    h.sim.advance(TICK);
    h.exporter.sweep_once().await;
    h.exporter.sweep_once().await;
    let (_, metrics) = h.scrape_settled().await;
    assert_eq!(events_up(&metrics, SPOT), Some(1.0));
    assert_eq!(event_count(&metrics, SPOT, "SERVER_PROCESS_CRASHED"), Some(2.0));
}
