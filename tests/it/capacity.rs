//! Fleet capacity, utilization and status (issue 12): every new series compared with the
//! simulator's own instance table, per location, for spot, on-demand and container fleets,
//! through an interruption and the recovery that follows; the calls a capacity cycle costs,
//! read from the simulator's request log; and failures that stay where they happen.

use crate::support::{assert_metrics_eq, only, secs, series, Harness};
use gamelift_exporter::simulator::Faults;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const SPOT: &str = "fleet-5b0a0000-0000-4000-8000-0000000000c1";
const ONDEMAND: &str = "fleet-0d0a0000-0000-4000-8000-0000000000c2";
const CONTAINER: &str = "fleet-0c0a0000-0000-4000-8000-0000000000c3";
const ANYWHERE: &str = "fleet-a0a00000-0000-4000-8000-0000000000c4";

/// A spot fleet in three locations (one remote location in ERROR), an on-demand fleet at its
/// maximum, a container fleet in two locations, and an Anywhere fleet (no capacity operations).
fn world() -> String {
    format!(
        r#"
seed = 77
[faults]
rate_limits = {{}}

[[fleet]]
id = "{SPOT}"
name = "spot"
type = "SPOT"
home_region = "us-west-2"
locations = ["us-east-1", "ap-northeast-1"]
location_status = {{ "ap-northeast-1" = "ERROR" }}
sessions_per_instance = 3
[fleet.sessions]
active = 14
activating = 2
terminated = 5
[fleet.capacity]
minimum = 2
maximum = 12
desired = 8
pending_time = "2m"

[[fleet]]
id = "{ONDEMAND}"
name = "ondemand"
type = "ON_DEMAND"
home_region = "us-west-2"
sessions_per_instance = 2
[fleet.sessions]
active = 8
[fleet.capacity]
minimum = 1
maximum = 4
desired = 4

[[fleet]]
id = "{CONTAINER}"
name = "containers"
type = "ON_DEMAND"
compute_type = "CONTAINER"
home_region = "us-west-2"
locations = ["eu-central-1"]
sessions_per_instance = 4
[fleet.sessions]
active = 9
[fleet.capacity]
desired = 5
maximum = 10

[[fleet]]
id = "{ANYWHERE}"
name = "anywhere"
type = "ON_DEMAND"
compute_type = "ANYWHERE"
home_region = "us-west-2"
[fleet.sessions]
active = 3
"#
    )
}

const CAPACITY_METRICS: [&str; 6] = [
    "gamelift_fleet_instances",
    "gamelift_fleet_game_server_container_groups",
    "gamelift_fleet_active_server_processes",
    "gamelift_fleet_active_game_sessions",
    "gamelift_fleet_current_player_sessions",
    "gamelift_fleet_maximum_player_sessions",
];

/// What the capacity series must read, from the simulator's instance table.
fn capacity_truth(h: &Harness) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for c in h.sim.capacity() {
        let labels = |state: &'static str| {
            [
                ("fleet_id", c.fleet_id.clone()),
                ("location", c.location.clone()),
                ("state", state.to_string()),
            ]
        };
        for (state, value) in [
            ("DESIRED", c.desired),
            ("MINIMUM", c.minimum),
            ("MAXIMUM", c.maximum),
            ("PENDING", c.pending),
            ("ACTIVE", c.active),
            ("IDLE", c.idle),
            ("TERMINATING", c.terminating),
        ] {
            let l = labels(state);
            let l: Vec<(&str, &str)> = l.iter().map(|(k, v)| (*k, v.as_str())).collect();
            out.insert(series("gamelift_fleet_instances", &l), f64::from(value));
        }
        if let Some(g) = &c.container_groups {
            for (state, value) in [
                ("PENDING", g.pending),
                ("ACTIVE", g.active),
                ("IDLE", g.idle),
                ("TERMINATING", g.terminating),
            ] {
                let l = labels(state);
                let l: Vec<(&str, &str)> = l.iter().map(|(k, v)| (*k, v.as_str())).collect();
                out.insert(
                    series("gamelift_fleet_game_server_container_groups", &l),
                    f64::from(value),
                );
            }
        }
    }
    // Anywhere fleets have no capacity series: the batched operations do not cover them.
    let anywhere: Vec<String> = h
        .sim
        .utilization()
        .iter()
        .filter(|u| !h.sim.capacity().iter().any(|c| c.fleet_id == u.fleet_id))
        .map(|u| u.fleet_id.clone())
        .collect();
    for u in h
        .sim
        .utilization()
        .into_iter()
        .filter(|u| !anywhere.contains(&u.fleet_id))
    {
        let l = [
            ("fleet_id", u.fleet_id.as_str()),
            ("location", u.location.as_str()),
        ];
        for (name, value) in [
            (
                "gamelift_fleet_active_server_processes",
                u.active_server_processes,
            ),
            ("gamelift_fleet_active_game_sessions", u.active_game_sessions),
            (
                "gamelift_fleet_current_player_sessions",
                u.current_player_sessions,
            ),
            (
                "gamelift_fleet_maximum_player_sessions",
                u.maximum_player_sessions,
            ),
        ] {
            out.insert(series(name, &l), f64::from(value));
        }
    }
    out
}

fn instances(metrics: &BTreeMap<String, f64>, fleet: &str, location: &str, state: &str) -> f64 {
    let key = series(
        "gamelift_fleet_instances",
        &[("fleet_id", fleet), ("location", location), ("state", state)],
    );
    *metrics
        .get(&key)
        .unwrap_or_else(|| panic!("{key} is not published"))
}

/// A capacity cycle in every round.
fn every_round(config: &mut gamelift_exporter::config::Config) {
    config.sweep.capacity_interval = Duration::from_millis(1);
}

/// One round, then the capacity series compared with the simulator's instance table; returns
/// the whole scrape.
async fn sweep_and_compare(h: &Harness, what: &str) -> BTreeMap<String, f64> {
    h.exporter.sweep_once().await;
    let (_, metrics) = h.scrape_settled().await;
    assert_metrics_eq(&only(&metrics, &CAPACITY_METRICS), &capacity_truth(h), what);
    metrics
}

#[tokio::test]
async fn capacity_and_utilization_follow_an_interruption_and_the_recovery() {
    let h = Harness::start(&world(), every_round).await;
    h.exporter.sweep_once().await;
    let (_, metrics) = h.scrape_settled().await;
    let truth = capacity_truth(&h);
    assert_metrics_eq(
        &only(&metrics, &CAPACITY_METRICS),
        &truth,
        "after the first cycle",
    );
    // The truth covers what the issue asks for, so the comparison above means something.
    assert_eq!(
        truth
            .keys()
            .filter(|k| k.starts_with("gamelift_fleet_instances{"))
            .count(),
        7 * 6,
        "spot in 3 locations, on-demand in 1, container in 2: 7 states each"
    );
    assert_eq!(
        truth
            .keys()
            .filter(|k| k.starts_with("gamelift_fleet_game_server_container_groups{"))
            .count(),
        4 * 2,
        "container groups only for the container fleet, in both its locations"
    );
    assert!(
        !metrics
            .keys()
            .any(|k| k.contains(ANYWHERE) && k.starts_with("gamelift_fleet_instances")),
        "an Anywhere fleet has no instance counts"
    );
    assert_eq!(instances(&metrics, SPOT, "us-west-2", "DESIRED"), 8.0);
    assert_eq!(instances(&metrics, SPOT, "us-west-2", "MAXIMUM"), 12.0);
    assert_eq!(instances(&metrics, ONDEMAND, "us-west-2", "ACTIVE"), 4.0);

    // Status state sets: 1 for the current status, 0 for the others.
    let status = |fleet: &str, location: Option<&str>, value: &str| {
        let key = match location {
            None => series("gamelift_fleet_status", &[("fleet_id", fleet), ("status", value)]),
            Some(l) => series(
                "gamelift_fleet_location_status",
                &[("fleet_id", fleet), ("location", l), ("status", value)],
            ),
        };
        metrics.get(&key).copied()
    };
    assert_eq!(status(SPOT, None, "ACTIVE"), Some(1.0));
    assert_eq!(status(SPOT, None, "ERROR"), Some(0.0));
    assert_eq!(status(SPOT, Some("ap-northeast-1"), "ERROR"), Some(1.0));
    assert_eq!(status(SPOT, Some("ap-northeast-1"), "ACTIVE"), Some(0.0));
    assert_eq!(status(SPOT, Some("us-east-1"), "ACTIVE"), Some(1.0));
    assert_eq!(status(SPOT, Some("us-west-2"), "ACTIVE"), Some(1.0));
    for fleet in [SPOT, ONDEMAND, CONTAINER, ANYWHERE] {
        let ones: f64 = metrics
            .iter()
            .filter(|(k, _)| k.starts_with("gamelift_fleet_status{") && k.contains(fleet))
            .map(|(_, v)| v)
            .sum();
        assert_eq!(ones, 1.0, "exactly one current status for {fleet}");
    }

    // Spot reclaims an instance with a two-minute notice: TERMINATING while it lasts.
    let active_before = instances(&metrics, SPOT, "us-east-1", "ACTIVE");
    let instance = h
        .sim
        .sessions()
        .into_iter()
        .find(|s| s.fleet_id == SPOT && s.location == "us-east-1" && s.status == "ACTIVE")
        .unwrap()
        .compute_name;
    h.sim.advance(secs(10));
    h.sim.interrupt_instance(SPOT, &instance, secs(120)).unwrap();
    let metrics = sweep_and_compare(&h, "during the notice").await;
    assert_eq!(instances(&metrics, SPOT, "us-east-1", "TERMINATING"), 1.0);

    // The instance is gone; its replacement is PENDING, then ACTIVE.
    h.sim.advance(secs(130));
    let metrics = sweep_and_compare(&h, "after the reclaim").await;
    assert_eq!(instances(&metrics, SPOT, "us-east-1", "TERMINATING"), 0.0);
    assert_eq!(instances(&metrics, SPOT, "us-east-1", "PENDING"), 1.0);
    assert_eq!(
        instances(&metrics, SPOT, "us-east-1", "ACTIVE"),
        active_before - 1.0
    );

    h.sim.advance(secs(130));
    let metrics = sweep_and_compare(&h, "after the recovery").await;
    assert_eq!(instances(&metrics, SPOT, "us-east-1", "PENDING"), 0.0);
    assert_eq!(instances(&metrics, SPOT, "us-east-1", "ACTIVE"), active_before);
}

/// Fleet ids of one batched request, from the request log's JSON params.
fn fleet_ids(params: &str) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_str(params).unwrap();
    value["FleetIds"]
        .as_array()
        .unwrap_or_else(|| panic!("no FleetIds in {params}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// Seven EC2 fleets in us-west-2 with 0, 1 or 2 remote locations, and one Anywhere fleet.
fn many_fleets(max_fleet_ids: u32) -> (String, Vec<String>, usize) {
    let mut text = format!("seed = 5\nmax_fleet_ids = {max_fleet_ids}\n[faults]\nrate_limits = {{}}\n");
    let mut ids = Vec::new();
    let mut remote = 0;
    let remotes = [&[][..], &["us-east-1"][..], &["us-east-1", "eu-west-1"][..]];
    for i in 0..7 {
        let id = format!("fleet-000000{i:02}-0000-4000-8000-000000000000");
        let locations = remotes[i % 3];
        remote += locations.len();
        text += &format!(
            "[[fleet]]\nid = \"{id}\"\nname = \"f{i}\"\ntype = \"ON_DEMAND\"\nhome_region = \"us-west-2\"\nlocations = {locations:?}\n[fleet.sessions]\nactive = {}\n",
            i + 1
        );
        ids.push(id);
    }
    text += "[[fleet]]\nid = \"fleet-000000ff-0000-4000-8000-000000000000\"\nname = \"anywhere\"\ntype = \"ON_DEMAND\"\ncompute_type = \"ANYWHERE\"\nhome_region = \"us-west-2\"\n";
    (text, ids, remote)
}

#[tokio::test]
async fn a_capacity_cycle_costs_one_call_per_batch_and_per_remote_location() {
    let (world, ids, remote) = many_fleets(3);
    let h = Harness::start(&world, every_round).await;
    h.exporter.sweep_once().await;
    let capacity_ops = [
        "DescribeFleetCapacity",
        "DescribeFleetUtilization",
        "DescribeFleetLocationCapacity",
        "DescribeFleetLocationUtilization",
    ];
    // The first cycle learns the limit: one refused call of all seven ids per batched operation.
    for op in ["DescribeFleetCapacity", "DescribeFleetUtilization"] {
        let log: Vec<_> = h
            .sim
            .requests()
            .into_iter()
            .filter(|r| r.operation == op)
            .collect();
        assert_eq!(log.len(), 1 + 3, "{op}: one refused call, then ⌈7 / 3⌉");
        assert_eq!(log[0].outcome, "InvalidRequestException");
        assert_eq!(fleet_ids(&log[0].params).len(), 7);
    }

    // From then on, exactly ⌈fleets / batch⌉ per batched operation, one per remote location.
    h.sim.clear_requests();
    let report = h.exporter.sweep_once().await;
    let requests = h.sim.requests();
    for op in ["DescribeFleetCapacity", "DescribeFleetUtilization"] {
        let batches: Vec<Vec<String>> = requests
            .iter()
            .filter(|r| r.operation == op)
            .map(|r| {
                assert_eq!(r.outcome, "ok");
                fleet_ids(&r.params)
            })
            .collect();
        assert_eq!(batches.len(), ids.len().div_ceil(3), "{op}");
        assert!(batches.iter().all(|b| b.len() <= 3), "{op}: {batches:?}");
        let mut all: Vec<String> = batches.concat();
        all.sort();
        assert_eq!(
            all, ids,
            "{op}: every EC2 fleet exactly once, the Anywhere fleet never"
        );
    }
    for op in [
        "DescribeFleetLocationCapacity",
        "DescribeFleetLocationUtilization",
    ] {
        let calls: Vec<&str> = requests
            .iter()
            .filter(|r| r.operation == op)
            .map(|r| r.params.as_str())
            .collect();
        assert_eq!(calls.len(), remote, "{op}: one per remote location");
        assert!(
            calls.iter().all(|p| !p.contains("\"us-west-2\"")),
            "{op}: the home Region comes from the batched call: {calls:?}"
        );
    }
    let capacity_requests = requests
        .iter()
        .filter(|r| capacity_ops.contains(&r.operation.as_str()))
        .count();
    assert_eq!(capacity_requests, 2 * (ids.len().div_ceil(3) + remote));
    assert_eq!(
        report.capacity_cycles, 2,
        "one per Region (eu-west-1 has no fleets)"
    );
    assert_eq!(
        report.capacity_calls.values().sum::<u64>() as usize,
        capacity_requests
    );
    let (_, metrics) = h.scrape_settled().await;
    assert_metrics_eq(
        &only(&metrics, &CAPACITY_METRICS),
        &capacity_truth(&h),
        "many fleets",
    );

    // Without a limit from the service, one call covers them all.
    let (world, ids, remote) = many_fleets(100);
    let h = Harness::start(&world, every_round).await;
    h.exporter.sweep_once().await;
    assert_eq!(h.calls("DescribeFleetCapacity"), 1);
    assert_eq!(h.calls("DescribeFleetUtilization"), 1);
    assert_eq!(h.calls("DescribeFleetLocationCapacity"), remote);
    assert_eq!(ids.len(), 7);

    // At the default capacity_interval, a round within the minute makes no capacity call.
    let h = Harness::start(&world, |_| {}).await;
    h.exporter.sweep_once().await;
    h.sim.clear_requests();
    h.exporter.sweep_once().await;
    assert!(
        h.sim
            .requests()
            .iter()
            .all(|r| !capacity_ops.contains(&r.operation.as_str())),
        "capacity is read every sweep.capacity_interval, not every live pass"
    );
}

#[tokio::test]
async fn a_failing_capacity_call_stays_where_it_happens() {
    let h = Harness::start(&world(), every_round).await;
    h.exporter.sweep_once().await;
    let (_, first) = h.scrape_settled().await;
    let first_utilization = only(
        &first,
        &[
            "gamelift_fleet_active_server_processes",
            "gamelift_fleet_active_game_sessions",
            "gamelift_fleet_current_player_sessions",
            "gamelift_fleet_maximum_player_sessions",
        ],
    );
    let session_metrics = ["gamelift_game_sessions", "gamelift_game_session_players"];

    // Utilization is refused (access denied), remote location capacity is throttled.
    let mut faults = Faults::none();
    faults.failing_operations = BTreeMap::from([
        (
            "DescribeFleetUtilization".to_string(),
            "AccessDeniedException".to_string(),
        ),
        (
            "DescribeFleetLocationCapacity".to_string(),
            "ThrottlingException".to_string(),
        ),
    ]);
    h.sim.set_faults(faults);
    // The world moves on: spot capacity is reclaimed at home (its sessions end, its counts
    // change), and the on-demand fleet is scaled.
    h.sim.advance(secs(10));
    h.sim.interrupt_instances(SPOT, "us-west-2", 1).unwrap();
    h.sim.set_capacity(ONDEMAND, "us-west-2", 1, 6, 3);
    let report = h.exporter.sweep_once().await;
    assert_eq!(report.fleets_failed, 0, "the live passes are not affected");
    let (_, metrics) = h.scrape_settled().await;
    let truth = capacity_truth(&h);

    let utilization_names = [
        "gamelift_fleet_active_server_processes",
        "gamelift_fleet_active_game_sessions",
        "gamelift_fleet_current_player_sessions",
        "gamelift_fleet_maximum_player_sessions",
    ];
    assert_ne!(
        only(&truth, &utilization_names),
        first_utilization,
        "the interruption changed the truth, so keeping the old numbers is visible"
    );
    // Sessions: exact, as always (the live statuses; TERMINATED waits for the next full pass).
    let live = |m: BTreeMap<String, f64>| -> BTreeMap<String, f64> {
        m.into_iter()
            .filter(|(k, _)| !k.contains("status=\"TERMINATED\"") && !k.contains("status=\"ERROR\""))
            .collect()
    };
    assert_metrics_eq(
        &live(only(&metrics, &session_metrics)),
        &live(only(&h.truth(), &session_metrics)),
        "session series while capacity calls fail",
    );
    // Utilization: every fleet keeps its previous complete numbers.
    assert_metrics_eq(
        &only(
            &metrics,
            &[
                "gamelift_fleet_active_server_processes",
                "gamelift_fleet_active_game_sessions",
                "gamelift_fleet_current_player_sessions",
                "gamelift_fleet_maximum_player_sessions",
            ],
        ),
        &first_utilization,
        "utilization is kept from the last complete cycle",
    );
    // Instances: the fleet without remote locations is current; the others keep theirs.
    let fleet_instances = |m: &BTreeMap<String, f64>, fleet: &str| -> BTreeMap<String, f64> {
        m.iter()
            .filter(|(k, _)| {
                k.starts_with("gamelift_fleet_instances{") && k.contains(&format!("fleet_id=\"{fleet}\""))
            })
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    };
    assert_metrics_eq(
        &fleet_instances(&metrics, ONDEMAND),
        &fleet_instances(&truth, ONDEMAND),
        "a fleet whose calls all succeeded",
    );
    assert_ne!(
        fleet_instances(&truth, SPOT),
        fleet_instances(&first, SPOT),
        "the reclaim changed the spot fleet's instance counts"
    );
    for fleet in [SPOT, CONTAINER] {
        assert_metrics_eq(
            &fleet_instances(&metrics, fleet),
            &fleet_instances(&first, fleet),
            "a fleet with a failed location call keeps all its previous instance counts",
        );
    }
    // The failures are counted by operation and reason (no retries in the test config).
    let failures = |op: &str, reason: &str| {
        crate::support::total(
            &metrics,
            "gamelift_exporter_api_request_failures_total",
            &[
                ("account", "default"),
                ("region", "us-west-2"),
                ("operation", op),
                ("reason", reason),
            ],
        )
    };
    assert_eq!(failures("DescribeFleetUtilization", "unauthorized"), 1.0);
    assert_eq!(
        failures("DescribeFleetLocationCapacity", "throttled"),
        3.0,
        "spot has two remote locations, the container fleet one"
    );
    let stamps: BTreeSet<String> = metrics
        .keys()
        .filter(|k| k.starts_with("gamelift_exporter_fleet_capacity_last_success_timestamp_seconds"))
        .cloned()
        .collect();
    assert_eq!(
        stamps.len(),
        6,
        "instances and utilization for three fleets: {stamps:?}"
    );
    let stamp = |m: &BTreeMap<String, f64>, fleet: &str, kind: &str| {
        m[&series(
            "gamelift_exporter_fleet_capacity_last_success_timestamp_seconds",
            &[("fleet_id", fleet), ("kind", kind)],
        )]
    };
    assert_eq!(
        stamp(&metrics, SPOT, "utilization"),
        stamp(&first, SPOT, "utilization")
    );
    assert_eq!(
        stamp(&metrics, SPOT, "instances"),
        stamp(&first, SPOT, "instances")
    );

    // Once the calls answer again, everything is current.
    h.sim.set_faults(Faults::none());
    h.exporter.sweep_once().await;
    let (_, metrics) = h.scrape_settled().await;
    assert_metrics_eq(
        &only(&metrics, &CAPACITY_METRICS),
        &capacity_truth(&h),
        "after recovery",
    );
}

#[tokio::test]
async fn a_deleted_fleet_loses_its_capacity_series_and_the_others_stay_exact() {
    let h = Harness::start(&world(), every_round).await;
    h.exporter.sweep_once().await;
    assert!(h.sim.delete_fleet(ONDEMAND));
    h.exporter.sweep_once().await;
    let (_, metrics) = h.scrape_settled().await;
    assert!(
        !metrics.keys().any(|k| k.contains(ONDEMAND)),
        "every series of the deleted fleet is gone"
    );
    assert_metrics_eq(
        &only(&metrics, &CAPACITY_METRICS),
        &capacity_truth(&h),
        "the fleets that remain",
    );
    // The batched calls of this round named the deleted fleet and got nothing for it: the
    // omission, not an error, is how the service says it is gone.
    assert!(h
        .sim
        .requests()
        .iter()
        .filter(|r| r.operation == "DescribeFleetCapacity")
        .all(|r| r.outcome == "ok"));
}

#[tokio::test]
async fn discovery_reads_a_lower_fleet_id_limit_from_the_refusal() {
    let (world, ids, _) = many_fleets(10);
    let world = world.replace("seed = 5\n", "seed = 5\nattributes_max_fleet_ids = 3\n");
    let h = Harness::start(&world, |_| {}).await;
    h.exporter.sweep_once().await;
    let calls: Vec<_> = h
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.operation == "DescribeFleetAttributes")
        .collect();
    // Eight fleets: one refused batch of eight, then batches of three, three and two.
    let sizes: Vec<(usize, String)> = calls
        .iter()
        .map(|r| (fleet_ids(&r.params).len(), r.outcome.clone()))
        .collect();
    assert_eq!(
        sizes,
        [
            (8, "InvalidRequestException".to_string()),
            (3, "ok".into()),
            (3, "ok".into()),
            (2, "ok".into())
        ]
    );
    let (_, metrics) = h.scrape_settled().await;
    assert_eq!(
        only(&metrics, &["gamelift_fleet_info"]).len(),
        ids.len() + 1,
        "every fleet discovered, the Anywhere one included"
    );
}
