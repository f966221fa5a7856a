//! The simulator's fleet capacity side through the real `aws-sdk-gamelift` client: instance
//! counts, container groups and utilization from the same instances and sessions that
//! DescribeGameSessions serves, spot reclaims and their replacements, limits, statuses, the
//! fleet-id batch limit and injected per-operation failures.

use crate::support::{scenario, sdk_client};
use aws_sdk_gamelift::error::ProvideErrorMetadata;
use aws_sdk_gamelift::types::{FleetCapacity, FleetUtilization};
use gamelift_exporter::simulator::{
    CapacityRecord, Clock, ContainerGroupCounts, Faults, SessionRecord, Simulator, UtilizationRecord,
};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Four fleets in us-west-2 (EC2 SPOT with a remote location and explicit limits, EC2 ON_DEMAND
/// with none, CONTAINER, ANYWHERE) and one in eu-west-1.
///
/// Per location: fleet-spot's 9 live sessions fill 3 instances of 3 slots, DESIRED 4 adds one
/// idle; fleet-ondemand's 2 sessions take 1 instance of 4 slots; fleet-container's 3 sessions
/// take 2 instances of 2 slots, DESIRED 3 adds one idle.
pub const CAPACITY: &str = r#"
seed = 11
start_time = 1793491200
[faults]
rate_limits = {}

[[fleet]]
id = "fleet-spot"
name = "spot"
type = "SPOT"
home_region = "us-west-2"
locations = ["us-east-1"]
sessions_per_instance = 3
max_players = 8
[fleet.sessions]
active = 7
activating = 1
terminating = 1
terminated = 5
[fleet.capacity]
minimum = 1
maximum = 5
desired = 4
pending_time = "1m"

[[fleet]]
id = "fleet-ondemand"
name = "ondemand"
type = "ON_DEMAND"
home_region = "us-west-2"
status = "ACTIVATING"
[fleet.sessions]
active = 2

[[fleet]]
id = "fleet-container"
name = "container"
type = "ON_DEMAND"
compute_type = "CONTAINER"
home_region = "us-west-2"
locations = ["eu-west-1"]
location_status = { eu-west-1 = "ERROR" }
sessions_per_instance = 2
max_players = 16
[fleet.sessions]
active = 3
[fleet.capacity]
desired = 3

[[fleet]]
id = "fleet-anywhere"
name = "anywhere"
type = "ON_DEMAND"
compute_type = "ANYWHERE"
home_region = "us-west-2"
[fleet.sessions]
active = 2

[[fleet]]
id = "fleet-eu"
name = "eu"
type = "ON_DEMAND"
home_region = "eu-west-1"
[fleet.sessions]
active = 1
"#;

/// The scenario's numbers per fleet: (minimum, maximum, desired at start, slots per instance).
/// A fleet without limits has MINIMUM 0 and MAXIMUM = DESIRED.
fn limits(fleet: &str) -> (u32, u32, u32, u32) {
    match fleet {
        "fleet-spot" => (1, 5, 4, 3),
        "fleet-ondemand" => (0, 1, 1, 4),
        "fleet-container" => (0, 3, 3, 2),
        "fleet-eu" => (0, 1, 1, 4),
        other => panic!("no limits for {other}"),
    }
}

fn is_live(session: &SessionRecord) -> bool {
    matches!(session.status, "ACTIVE" | "ACTIVATING" | "TERMINATING")
}

/// Instances hosting live sessions per (fleet, location), counted from the sessions alone.
fn busy_instances(sessions: &[SessionRecord]) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut out: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for s in sessions.iter().filter(|s| is_live(s)) {
        out.entry((s.fleet_id.clone(), s.location.clone()))
            .or_default()
            .insert(s.compute_name.clone());
    }
    out
}

/// What the capacity operations must answer while no instance is pending or reclaimed and
/// every instance runs: ACTIVE = DESIRED, IDLE = those hosting nothing.
fn steady_capacity(sim: &Simulator) -> Vec<CapacityRecord> {
    let sessions = sim.sessions();
    let busy = busy_instances(&sessions);
    let mut out = Vec::new();
    for (fleet, locations) in sim.fleets() {
        if fleet == "fleet-anywhere" {
            continue;
        }
        let (minimum, maximum, desired, slots) = limits(&fleet);
        for location in locations {
            let busy_here = busy
                .get(&(fleet.clone(), location.clone()))
                .map_or(0, |b| b.len() as u32);
            let live = sessions
                .iter()
                .filter(|s| s.fleet_id == fleet && s.location == location && is_live(s))
                .count() as u32;
            out.push(CapacityRecord {
                fleet_id: fleet.clone(),
                location,
                desired,
                minimum,
                maximum,
                pending: 0,
                active: desired,
                idle: desired - busy_here,
                terminating: 0,
                container_groups: (fleet == "fleet-container").then(|| ContainerGroupCounts {
                    pending: 0,
                    active: live,
                    idle: desired * slots - live,
                    terminating: 0,
                }),
            });
        }
    }
    out.sort_by(|a, b| (&a.fleet_id, &a.location).cmp(&(&b.fleet_id, &b.location)));
    out
}

/// Utilization from the sessions: ACTIVE and ACTIVATING sessions, their players and limits;
/// one server process per slot of each running instance (`running` per fleet and location).
fn expected_utilization(sim: &Simulator, running: &dyn Fn(&str, &str) -> u32) -> Vec<UtilizationRecord> {
    let sessions = sim.sessions();
    let mut out = Vec::new();
    for (fleet, locations) in sim.fleets() {
        let slots = if fleet == "fleet-anywhere" {
            4
        } else {
            limits(&fleet).3
        };
        for location in locations {
            let hosted: Vec<&SessionRecord> = sessions
                .iter()
                .filter(|s| {
                    s.fleet_id == fleet
                        && s.location == location
                        && matches!(s.status, "ACTIVE" | "ACTIVATING")
                })
                .collect();
            out.push(UtilizationRecord {
                fleet_id: fleet.clone(),
                active_server_processes: running(&fleet, &location) * slots,
                location,
                active_game_sessions: hosted.len() as u32,
                current_player_sessions: hosted.iter().map(|s| s.current_players).sum(),
                maximum_player_sessions: hosted.iter().map(|s| s.max_players).sum(),
            });
        }
    }
    out.sort_by(|a, b| (&a.fleet_id, &a.location).cmp(&(&b.fleet_id, &b.location)));
    out
}

/// A FleetCapacity from the SDK, as a record (checking the members every answer has).
fn capacity_record(c: &FleetCapacity) -> CapacityRecord {
    let fleet_id = c.fleet_id().unwrap().to_string();
    assert_eq!(
        c.fleet_arn(),
        Some(format!("arn:aws:gamelift:us-west-2:123456789012:fleet/{fleet_id}").as_str())
    );
    assert_eq!(c.instance_type().map(|t| t.as_str()), Some("c5.large"));
    let n = |v: Option<i32>| u32::try_from(v.expect("count present")).unwrap();
    let counts = c.instance_counts().expect("InstanceCounts");
    CapacityRecord {
        fleet_id,
        location: c.location().unwrap().to_string(),
        desired: n(counts.desired()),
        minimum: n(counts.minimum()),
        maximum: n(counts.maximum()),
        pending: n(counts.pending()),
        active: n(counts.active()),
        idle: n(counts.idle()),
        terminating: n(counts.terminating()),
        container_groups: c
            .game_server_container_group_counts()
            .map(|g| ContainerGroupCounts {
                pending: n(g.pending()),
                active: n(g.active()),
                idle: n(g.idle()),
                terminating: n(g.terminating()),
            }),
    }
}

fn utilization_record(u: &FleetUtilization) -> UtilizationRecord {
    let n = |v: Option<i32>| u32::try_from(v.expect("count present")).unwrap();
    let fleet_id = u.fleet_id().unwrap().to_string();
    assert!(u.fleet_arn().unwrap().ends_with(&format!(":fleet/{fleet_id}")));
    UtilizationRecord {
        fleet_id,
        location: u.location().unwrap().to_string(),
        active_server_processes: n(u.active_server_process_count()),
        active_game_sessions: n(u.active_game_session_count()),
        current_player_sessions: n(u.current_player_session_count()),
        maximum_player_sessions: n(u.maximum_player_session_count()),
    }
}

/// Every location's capacity through DescribeFleetLocationCapacity, for the given fleets.
async fn located_capacity(
    client: &aws_sdk_gamelift::Client,
    sim: &Simulator,
    fleets: &[&str],
) -> Vec<CapacityRecord> {
    let mut out = Vec::new();
    for (fleet, locations) in sim.fleets() {
        if !fleets.contains(&fleet.as_str()) {
            continue;
        }
        for location in locations {
            let answer = client
                .describe_fleet_location_capacity()
                .fleet_id(&fleet)
                .location(&location)
                .send()
                .await
                .unwrap();
            out.push(capacity_record(answer.fleet_capacity().unwrap()));
        }
    }
    out.sort_by(|a, b| (&a.fleet_id, &a.location).cmp(&(&b.fleet_id, &b.location)));
    out
}

fn record<'a>(records: &'a [CapacityRecord], fleet: &str, location: &str) -> &'a CapacityRecord {
    records
        .iter()
        .find(|r| r.fleet_id == fleet && r.location == location)
        .unwrap_or_else(|| panic!("no capacity record for {fleet} in {location}"))
}

#[tokio::test]
async fn capacity_and_utilization_count_the_instances_and_sessions_of_every_location() {
    let sim = Simulator::start(&scenario(CAPACITY), Clock::Manual)
        .await
        .unwrap();
    let client = sdk_client(&sim.url, "us-west-2", 1);
    let expected = steady_capacity(&sim);
    assert_eq!(sim.capacity(), expected, "the simulator's truth");
    // Spelled out once, so the independent count is itself checked.
    assert_eq!(
        record(&expected, "fleet-spot", "us-east-1"),
        &CapacityRecord {
            fleet_id: "fleet-spot".into(),
            location: "us-east-1".into(),
            desired: 4,
            minimum: 1,
            maximum: 5,
            pending: 0,
            active: 4,
            idle: 1,
            terminating: 0,
            container_groups: None,
        }
    );
    assert_eq!(
        record(&expected, "fleet-container", "eu-west-1").container_groups,
        Some(ContainerGroupCounts {
            pending: 0,
            active: 3,
            idle: 3,
            terminating: 0
        })
    );

    // The whole Region, a page at a time: EC2 and CONTAINER fleets only, home Region only.
    let mut listed = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = client
            .describe_fleet_capacity()
            .limit(1)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        pages += 1;
        listed.extend(page.fleet_capacity().iter().map(capacity_record));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    let home: Vec<CapacityRecord> = ["fleet-container", "fleet-ondemand", "fleet-spot"]
        .iter()
        .map(|f| record(&expected, f, "us-west-2").clone())
        .collect();
    listed.sort_by(|a, b| a.fleet_id.cmp(&b.fleet_id));
    assert_eq!(listed, home);

    // By id or ARN, in the order asked; unknown, ANYWHERE and other-Region fleets left out.
    let by_id = client
        .describe_fleet_capacity()
        .fleet_ids("fleet-spot")
        .fleet_ids("fleet-missing")
        .fleet_ids("fleet-anywhere")
        .fleet_ids("fleet-eu")
        .fleet_ids("arn:aws:gamelift:us-west-2:123456789012:fleet/fleet-container")
        .limit(1)
        .send()
        .await
        .unwrap();
    let got: Vec<CapacityRecord> = by_id.fleet_capacity().iter().map(capacity_record).collect();
    assert_eq!(
        got,
        [
            record(&expected, "fleet-spot", "us-west-2").clone(),
            record(&expected, "fleet-container", "us-west-2").clone()
        ]
    );
    assert_eq!(by_id.next_token(), None);

    // Every location, home Region included, one call each.
    let located = located_capacity(
        &client,
        &sim,
        &["fleet-spot", "fleet-ondemand", "fleet-container"],
    )
    .await;
    let in_region: Vec<CapacityRecord> = expected
        .iter()
        .filter(|r| r.fleet_id != "fleet-eu")
        .cloned()
        .collect();
    assert_eq!(located, in_region);

    // Utilization: every instance runs.
    let running = |fleet: &str, _: &str| match fleet {
        "fleet-anywhere" => 1,
        other => limits(other).2,
    };
    let utilization = expected_utilization(&sim, &running);
    assert_eq!(sim.utilization(), utilization, "the simulator's truth");
    let spot_east = utilization
        .iter()
        .find(|u| u.fleet_id == "fleet-spot" && u.location == "us-east-1")
        .unwrap();
    assert_eq!(
        (
            spot_east.active_server_processes,
            spot_east.active_game_sessions,
            spot_east.maximum_player_sessions
        ),
        (12, 8, 64),
        "4 instances of 3 slots; 7 ACTIVE and 1 ACTIVATING sessions of 8 players"
    );
    let listed = client.describe_fleet_utilization().send().await.unwrap();
    let mut got: Vec<UtilizationRecord> = listed
        .fleet_utilization()
        .iter()
        .map(utilization_record)
        .collect();
    got.sort_by(|a, b| a.fleet_id.cmp(&b.fleet_id));
    let home: Vec<UtilizationRecord> = utilization
        .iter()
        .filter(|u| u.location == "us-west-2" && u.fleet_id != "fleet-anywhere")
        .cloned()
        .collect();
    assert_eq!(got, home);
    let mut located = Vec::new();
    for (fleet, locations) in sim.fleets() {
        if fleet == "fleet-eu" {
            continue;
        }
        for location in locations {
            let answer = client
                .describe_fleet_location_utilization()
                .fleet_id(&fleet)
                .location(&location)
                .send()
                .await
                .unwrap();
            located.push(utilization_record(answer.fleet_utilization().unwrap()));
        }
    }
    located.sort_by(|a, b| (&a.fleet_id, &a.location).cmp(&(&b.fleet_id, &b.location)));
    let in_region: Vec<UtilizationRecord> = utilization
        .iter()
        .filter(|u| u.fleet_id != "fleet-eu")
        .cloned()
        .collect();
    assert_eq!(located, in_region, "ANYWHERE fleets included");

    // The other Region sees its own fleet.
    let eu = sdk_client(&sim.url, "eu-west-1", 1);
    let eu_capacity = eu.describe_fleet_capacity().send().await.unwrap();
    assert_eq!(
        eu_capacity.fleet_capacity()[0].fleet_id(),
        Some("fleet-eu"),
        "{eu_capacity:?}"
    );
    assert_eq!(eu_capacity.fleet_capacity().len(), 1);
}

#[tokio::test]
async fn location_operations_refuse_what_they_do_not_cover() {
    let sim = Simulator::start(&scenario(CAPACITY), Clock::Manual)
        .await
        .unwrap();
    let client = sdk_client(&sim.url, "us-west-2", 1);
    let err = client
        .describe_fleet_location_capacity()
        .fleet_id("fleet-nope")
        .location("us-west-2")
        .send()
        .await
        .unwrap_err();
    let service = err.as_service_error().unwrap();
    assert!(service.is_not_found_exception(), "{service:?}");
    assert_eq!(service.message(), Some("Fleet fleet-nope not found."));
    let err = client
        .describe_fleet_location_utilization()
        .fleet_id("fleet-spot")
        .location("ap-south-1")
        .send()
        .await
        .unwrap_err();
    let service = err.as_service_error().unwrap();
    assert!(service.is_invalid_request_exception(), "{service:?}");
    assert_eq!(
        service.message(),
        Some("Location ap-south-1 is not a location of fleet fleet-spot.")
    );
    let err = client
        .describe_fleet_location_capacity()
        .fleet_id("fleet-anywhere")
        .location("us-west-2")
        .send()
        .await
        .unwrap_err();
    let service = err.as_service_error().unwrap();
    assert!(service.is_invalid_request_exception(), "{service:?}");
    assert_eq!(
        service.message(),
        Some("Fleet fleet-anywhere has compute type ANYWHERE: DescribeFleetLocationCapacity supports EC2 and CONTAINER fleets.")
    );
    let err = client
        .describe_fleet_location_capacity()
        .fleet_id("fleet-spot")
        .location("us_west_2")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.as_service_error().unwrap().message(),
        Some("1 validation error detected: Value 'us_west_2' at 'location' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[A-Za-z0-9\\-]+")
    );
    // A fleet of another Region is not found from this one.
    let err = client
        .describe_fleet_location_utilization()
        .fleet_id("fleet-eu")
        .location("eu-west-1")
        .send()
        .await
        .unwrap_err();
    assert!(err.as_service_error().unwrap().is_not_found_exception());
}

#[tokio::test]
async fn a_reclaimed_instance_is_terminating_then_replaced_pending_then_active() {
    let sim = Simulator::start(&scenario(CAPACITY), Clock::Manual)
        .await
        .unwrap();
    let client = sdk_client(&sim.url, "us-west-2", 1);
    let start = steady_capacity(&sim);
    let east = || async {
        located_capacity(&client, &sim, &["fleet-spot"])
            .await
            .into_iter()
            .find(|r| r.location == "us-east-1")
            .unwrap()
    };
    let with = |pending, active, idle, terminating| CapacityRecord {
        pending,
        active,
        idle,
        terminating,
        ..record(&start, "fleet-spot", "us-east-1").clone()
    };
    assert_eq!(east().await, with(0, 4, 1, 0));
    let busy = busy_instances(&sim.sessions());
    let reclaimed = busy[&("fleet-spot".to_string(), "us-east-1".to_string())]
        .iter()
        .next()
        .unwrap()
        .clone();
    let ended = sim
        .interrupt_instance("fleet-spot", &reclaimed, Duration::from_secs(30))
        .unwrap();
    assert_eq!(ended.len(), 3, "a full instance of 3 slots");

    // The notice: TERMINATING, no longer ACTIVE; nothing launched yet (it still exists).
    assert_eq!(east().await, with(0, 3, 1, 1));
    sim.advance(Duration::from_secs(20));
    assert_eq!(east().await, with(0, 3, 1, 1));
    // Gone: its sessions ended, and a replacement is PENDING at once.
    sim.advance(Duration::from_secs(10));
    assert!(sim
        .sessions()
        .iter()
        .filter(|s| ended.contains(&s.game_session_id))
        .all(|s| s.status == "TERMINATED" && s.status_reason == Some("INTERRUPTED")));
    assert_eq!(east().await, with(1, 3, 1, 0));
    assert_eq!(sim.capacity(), {
        let mut truth = start.clone();
        let east = truth
            .iter_mut()
            .find(|r| r.fleet_id == "fleet-spot" && r.location == "us-east-1")
            .unwrap();
        *east = with(1, 3, 1, 0);
        truth
    });
    // Utilization counts only running instances' processes, and the sessions still live.
    let running = |fleet: &str, location: &str| match (fleet, location) {
        ("fleet-spot", "us-east-1") => 3,
        ("fleet-anywhere", _) => 1,
        (other, _) => limits(other).2,
    };
    assert_eq!(sim.utilization(), expected_utilization(&sim, &running));
    // Pending for pending_time (1m), then ACTIVE and idle: a new instance, not the old one.
    sim.advance(Duration::from_secs(50));
    assert_eq!(east().await, with(1, 3, 1, 0));
    sim.advance(Duration::from_secs(10));
    assert_eq!(east().await, with(0, 4, 2, 0));
    assert_eq!(
        sim.capacity(),
        start
            .iter()
            .map(|r| if r.fleet_id == "fleet-spot" && r.location == "us-east-1" {
                with(0, 4, 2, 0)
            } else {
                r.clone()
            })
            .collect::<Vec<_>>()
    );
    let utilization = expected_utilization(&sim, &|fleet, _| match fleet {
        "fleet-anywhere" => 1,
        other => limits(other).2,
    });
    assert_eq!(sim.utilization(), utilization);
    // The home Region was never touched.
    assert_eq!(
        record(&sim.capacity(), "fleet-spot", "us-west-2"),
        record(&start, "fleet-spot", "us-west-2")
    );
}

#[tokio::test]
async fn without_replacements_active_stays_below_desired() {
    let text = CAPACITY.replace(
        "pending_time = \"1m\"",
        "pending_time = \"1m\"\nreplace_interrupted = false",
    );
    let sim = Simulator::new(&scenario(&text), Clock::Manual);
    let ended = sim.interrupt_instances("fleet-spot", "us-west-2", 2).unwrap();
    assert_eq!(
        ended.len(),
        6,
        "the first two instances, full with ACTIVE sessions"
    );
    sim.advance(Duration::from_secs(3600));
    let home = record(&sim.capacity(), "fleet-spot", "us-west-2").clone();
    assert_eq!(
        (home.desired, home.pending, home.active, home.terminating),
        (4, 0, 2, 0),
        "{home:?}"
    );
}

/// An ON_DEMAND fleet taking one new session per tick, 2 slots per instance, MAXIMUM 3.
const GROWING: &str = r#"
seed = 5
start_time = 1793491200
[faults]
rate_limits = {}
[[fleet]]
id = "fleet-grow"
name = "grow"
type = "ON_DEMAND"
home_region = "us-west-2"
sessions_per_instance = 2
[fleet.sessions]
active = 2
[fleet.churn]
new_sessions_per_tick = 1
activation_probability = 1
[fleet.capacity]
maximum = 3
pending_time = "30s"
"#;

fn live_count(sim: &Simulator) -> usize {
    sim.sessions().iter().filter(|s| is_live(s)).count()
}

#[tokio::test]
async fn new_sessions_launch_instances_up_to_the_maximum_and_then_wait() {
    let sim = Simulator::new(&scenario(GROWING), Clock::Manual);
    let at = |sim: &Simulator| {
        let r = record(&sim.capacity(), "fleet-grow", "us-west-2").clone();
        (r.minimum, r.maximum, r.desired, r.pending, r.active, r.idle)
    };
    assert_eq!(at(&sim), (0, 3, 1, 0, 1, 0));
    // Tick 1: a third session needs a second instance; DESIRED follows.
    sim.advance(Duration::from_secs(10));
    assert_eq!((live_count(&sim), at(&sim)), (3, (0, 3, 2, 0, 2, 0)));
    // Ticks 2-4 fill 3 instances with 6 sessions; then every slot is taken at MAXIMUM.
    sim.advance(Duration::from_secs(30));
    assert_eq!((live_count(&sim), at(&sim)), (6, (0, 3, 3, 0, 3, 0)));
    sim.advance(Duration::from_secs(300));
    assert_eq!(
        (live_count(&sim), at(&sim)),
        (6, (0, 3, 3, 0, 3, 0)),
        "no session placed at MAXIMUM"
    );
    let utilization = sim.utilization();
    assert_eq!(
        (
            utilization[0].active_server_processes,
            utilization[0].active_game_sessions
        ),
        (6, 6)
    );

    // Room for two more instances: they are PENDING for 30 s, hosting nothing meanwhile.
    sim.set_capacity("fleet-grow", "us-west-2", 1, 5, 5);
    assert_eq!(at(&sim), (1, 5, 5, 2, 3, 0));
    sim.advance(Duration::from_secs(20));
    assert_eq!((live_count(&sim), at(&sim)), (6, (1, 5, 5, 2, 3, 0)));
    sim.advance(Duration::from_secs(10));
    // Ready at 30 s: they take that tick's session (their slots were free before placement).
    assert_eq!((live_count(&sim), at(&sim)), (7, (1, 5, 5, 0, 5, 1)));
    sim.advance(Duration::from_secs(30));
    assert_eq!((live_count(&sim), at(&sim)), (10, (1, 5, 5, 0, 5, 0)));

    // Lower DESIRED: only idle instances stop, so with every slot taken nothing changes but
    // DESIRED; with pending ones, those go first.
    sim.set_capacity("fleet-grow", "us-west-2", 0, 5, 2);
    assert_eq!(at(&sim), (0, 5, 2, 0, 5, 0));
}

#[tokio::test]
async fn lowering_desired_stops_idle_instances_and_cancels_pending_ones() {
    let sim = Simulator::new(&scenario(CAPACITY), Clock::Manual);
    let at = |location: &str| {
        let r = record(&sim.capacity(), "fleet-spot", location).clone();
        (r.desired, r.pending, r.active, r.idle)
    };
    assert_eq!(at("us-west-2"), (4, 0, 4, 1));
    sim.set_capacity("fleet-spot", "us-west-2", 1, 5, 3);
    assert_eq!(at("us-west-2"), (3, 0, 3, 0), "the idle instance stopped");
    sim.set_capacity("fleet-spot", "us-west-2", 1, 5, 5);
    assert_eq!(at("us-west-2"), (5, 2, 3, 0));
    sim.set_capacity("fleet-spot", "us-west-2", 1, 5, 4);
    assert_eq!(at("us-west-2"), (4, 1, 3, 0), "a pending instance cancelled");
    assert_eq!(at("us-east-1"), (4, 0, 4, 1), "other locations untouched");
}

#[test]
#[should_panic(
    expected = "set_capacity: invalid capacity for fleet-spot in us-west-2: expected minimum 2 <= desired 1 <= maximum 5"
)]
fn set_capacity_refuses_inconsistent_limits() {
    let sim = Simulator::new(&scenario(CAPACITY), Clock::Manual);
    sim.set_capacity("fleet-spot", "us-west-2", 2, 5, 1);
}

#[tokio::test]
async fn fleet_and_location_statuses_come_from_the_scenario_and_can_change() {
    let sim = Simulator::start(&scenario(CAPACITY), Clock::Manual)
        .await
        .unwrap();
    let client = sdk_client(&sim.url, "us-west-2", 1);
    let statuses = || async {
        let attributes = client.describe_fleet_attributes().send().await.unwrap();
        let mut out: BTreeMap<String, String> = attributes
            .fleet_attributes()
            .iter()
            .map(|a| {
                (
                    a.fleet_id().unwrap().to_string(),
                    a.status().unwrap().as_str().to_string(),
                )
            })
            .collect();
        for fleet in ["fleet-spot", "fleet-container"] {
            let locations = client
                .describe_fleet_location_attributes()
                .fleet_id(fleet)
                .send()
                .await
                .unwrap();
            for l in locations.location_attributes() {
                let state = l.location_state().unwrap();
                out.insert(
                    format!("{fleet}/{}", state.location().unwrap()),
                    state.status().unwrap().as_str().to_string(),
                );
            }
        }
        out
    };
    let expected = |changes: &[(&str, &str)]| {
        let mut out: BTreeMap<String, String> = [
            ("fleet-spot", "ACTIVE"),
            ("fleet-ondemand", "ACTIVATING"),
            ("fleet-container", "ACTIVE"),
            ("fleet-anywhere", "ACTIVE"),
            ("fleet-spot/us-west-2", "ACTIVE"),
            ("fleet-spot/us-east-1", "ACTIVE"),
            ("fleet-container/us-west-2", "ACTIVE"),
            ("fleet-container/eu-west-1", "ERROR"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in changes {
            out.insert(k.to_string(), v.to_string());
        }
        out
    };
    assert_eq!(statuses().await, expected(&[]));
    assert_eq!(sim.fleet_status("fleet-ondemand").as_deref(), Some("ACTIVATING"));
    assert_eq!(
        sim.location_status("fleet-container", "eu-west-1").as_deref(),
        Some("ERROR")
    );
    assert_eq!(sim.fleet_status("fleet-nope"), None);
    assert_eq!(sim.location_status("fleet-spot", "eu-west-1"), None);

    sim.set_fleet_status("fleet-spot", "ERROR");
    sim.set_location_status("fleet-spot", "us-east-1", "DELETING");
    sim.set_location_status("fleet-container", "eu-west-1", "ACTIVE");
    assert_eq!(
        statuses().await,
        expected(&[
            ("fleet-spot", "ERROR"),
            ("fleet-spot/us-east-1", "DELETING"),
            ("fleet-container/eu-west-1", "ACTIVE")
        ])
    );
    assert_eq!(sim.fleet_status("fleet-spot").as_deref(), Some("ERROR"));
}

#[test]
#[should_panic(expected = "unknown status \"BROKEN\": expected a GameLift FleetStatus")]
fn set_fleet_status_refuses_unknown_statuses() {
    Simulator::new(&scenario(CAPACITY), Clock::Manual).set_fleet_status("fleet-spot", "BROKEN");
}

/// `n` fleet ids: the scenario's, then made-up ones.
fn ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("fleet-{i:02}")).collect()
}

#[tokio::test]
async fn too_many_fleet_ids_fail_with_the_maximum_in_the_message() {
    let sim = Simulator::start(&scenario(CAPACITY), Clock::Manual)
        .await
        .unwrap();
    let client = sdk_client(&sim.url, "us-west-2", 1);
    let mut ten = ids(9);
    ten.push("fleet-spot".into());
    let ok = client
        .describe_fleet_capacity()
        .set_fleet_ids(Some(ten.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.fleet_capacity().len(), 1, "10 ids is the default maximum");
    let eleven = ids(11);
    let err = client
        .describe_fleet_capacity()
        .set_fleet_ids(Some(eleven.clone()))
        .send()
        .await
        .unwrap_err();
    let service = err.as_service_error().unwrap();
    assert!(service.is_invalid_request_exception(), "{service:?}");
    assert_eq!(
        service.message(),
        Some("1 validation error detected: Value '[fleet-00, fleet-01, fleet-02, fleet-03, fleet-04, fleet-05, fleet-06, fleet-07, fleet-08, fleet-09, fleet-10]' at 'fleetIds' failed to satisfy constraint: Member must have length less than or equal to 10")
    );
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 400);
    let err = client
        .describe_fleet_utilization()
        .set_fleet_ids(Some(eleven))
        .send()
        .await
        .unwrap_err();
    assert!(err
        .as_service_error()
        .unwrap()
        .message()
        .unwrap()
        .ends_with("Member must have length less than or equal to 10"));
    // DescribeFleetAttributes keeps taking the exporter's batches of 16.
    let attributes = client
        .describe_fleet_attributes()
        .set_fleet_ids(Some(
            ids(15).into_iter().chain(["fleet-spot".to_string()]).collect(),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(attributes.fleet_attributes().len(), 1);

    sim.set_max_fleet_ids(2);
    let err = client
        .describe_fleet_utilization()
        .fleet_ids("fleet-spot")
        .fleet_ids("fleet-ondemand")
        .fleet_ids("fleet-container")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.as_service_error().unwrap().message(),
        Some("1 validation error detected: Value '[fleet-spot, fleet-ondemand, fleet-container]' at 'fleetIds' failed to satisfy constraint: Member must have length less than or equal to 2")
    );
    let two = client
        .describe_fleet_utilization()
        .fleet_ids("fleet-spot")
        .fleet_ids("fleet-container")
        .send()
        .await
        .unwrap();
    assert_eq!(two.fleet_utilization().len(), 2);
    // The scenario key sets it from the start.
    let text = format!("max_fleet_ids = 3\n{CAPACITY}");
    let sim = Simulator::start(&scenario(&text), Clock::Manual).await.unwrap();
    let client = sdk_client(&sim.url, "us-west-2", 1);
    let err = client
        .describe_fleet_capacity()
        .set_fleet_ids(Some(ids(4)))
        .send()
        .await
        .unwrap_err();
    assert!(err
        .as_service_error()
        .unwrap()
        .message()
        .unwrap()
        .ends_with("less than or equal to 3"));
}

#[tokio::test]
async fn failing_operations_fail_one_operation_and_leave_the_others() {
    let sim = Simulator::start(&scenario(CAPACITY), Clock::Manual)
        .await
        .unwrap();
    let client = sdk_client(&sim.url, "us-west-2", 1);
    for (code, status, message) in [
        (
            "AccessDeniedException",
            400,
            "User: arn:aws:iam::123456789012:user/gamelift-exporter is not authorized to perform: gamelift:DescribeFleetUtilization because no identity-based policy allows the gamelift:DescribeFleetUtilization action",
        ),
        ("ThrottlingException", 400, "Rate exceeded"),
        (
            "NotFoundException",
            400,
            "DescribeFleetUtilization: the requested resource was not found (injected).",
        ),
        (
            "InternalServiceException",
            500,
            "DescribeFleetUtilization: an internal service error occurred (injected).",
        ),
        (
            "UnauthorizedException",
            400,
            "DescribeFleetUtilization: the client is not authorized to perform this request (injected).",
        ),
    ] {
        sim.set_faults(Faults {
            failing_operations: BTreeMap::from([("DescribeFleetUtilization".to_string(), code.to_string())]),
            ..Faults::none()
        });
        sim.clear_requests();
        let err = client.describe_fleet_utilization().send().await.unwrap_err();
        assert_eq!(err.code(), Some(code));
        assert_eq!(err.message(), Some(message), "{code}");
        assert_eq!(err.raw_response().unwrap().status().as_u16(), status, "{code}");
        // The other operations answer, the location form of the same data included.
        client.describe_fleet_capacity().send().await.unwrap();
        client
            .describe_fleet_location_utilization()
            .fleet_id("fleet-spot")
            .location("us-east-1")
            .send()
            .await
            .unwrap();
        client
            .describe_game_sessions()
            .fleet_id("fleet-spot")
            .send()
            .await
            .unwrap();
        let outcomes: Vec<(String, String)> = sim
            .requests()
            .into_iter()
            .map(|r| (r.operation, r.outcome))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("DescribeFleetUtilization", code),
                ("DescribeFleetCapacity", "ok"),
                ("DescribeFleetLocationUtilization", "ok"),
                ("DescribeGameSessions", "ok")
            ]
            .map(|(o, c)| (o.to_string(), c.to_string()))
        );
    }
    // From the scenario, too.
    let text = CAPACITY.replace(
        "rate_limits = {}",
        "rate_limits = {}\nfailing_operations = { DescribeFleetLocationCapacity = \"NotFoundException\" }",
    );
    let sim = Simulator::start(&scenario(&text), Clock::Manual).await.unwrap();
    let client = sdk_client(&sim.url, "us-west-2", 1);
    let err = client
        .describe_fleet_location_capacity()
        .fleet_id("fleet-spot")
        .location("us-east-1")
        .send()
        .await
        .unwrap_err();
    assert!(err.as_service_error().unwrap().is_not_found_exception());
    client.describe_fleet_capacity().send().await.unwrap();
}

/// The built-in demo, for an hour: spot reclaims show as TERMINATING, then their replacements
/// PENDING, then ACTIVE again; counts stay within the limits; the CONTAINER fleet counts its
/// container groups; every fleet and location is ACTIVE.
#[tokio::test]
async fn demo_world_shows_reclaims_replacements_and_limits() {
    let sim = Simulator::new(&gamelift_exporter::demo::scenario(), Clock::Manual);
    let mut previous: BTreeMap<(String, String), CapacityRecord> = BTreeMap::new();
    let (mut terminating, mut recoveries, mut container_locations) = (0, 0, BTreeSet::new());
    for _ in 0..360 {
        sim.advance(Duration::from_secs(10));
        for r in sim.capacity() {
            let key = (r.fleet_id.clone(), r.location.clone());
            assert!(r.minimum <= r.desired && r.desired <= r.maximum, "{r:?}");
            assert!(r.active + r.pending + r.terminating <= r.maximum, "{r:?}");
            assert!(r.idle <= r.active, "{r:?}");
            terminating += r.terminating;
            if let Some(before) = previous.get(&key) {
                if before.pending > r.pending && r.active > before.active {
                    recoveries += 1;
                }
            }
            if let Some(groups) = &r.container_groups {
                assert_eq!(groups.active + groups.idle, r.active * 6, "{r:?}");
                container_locations.insert(r.location.clone());
            }
            previous.insert(key, r);
        }
    }
    eprintln!("demo hour: {terminating} instance-ticks TERMINATING, {recoveries} replacements ACTIVE");
    assert!(terminating > 0, "spot reclaims show as TERMINATING");
    assert!(recoveries > 0, "replacements go from PENDING to ACTIVE");
    assert_eq!(
        container_locations,
        BTreeSet::from(["ap-northeast-1".to_string(), "us-west-2".to_string()])
    );
    for (fleet, locations) in sim.fleets() {
        assert_eq!(sim.fleet_status(&fleet).as_deref(), Some("ACTIVE"));
        for location in locations {
            assert_eq!(sim.location_status(&fleet, &location).as_deref(), Some("ACTIVE"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_endpoints_list_capacity_and_utilization() {
    let sim = Simulator::start(&scenario(CAPACITY), Clock::Manual)
        .await
        .unwrap();
    let address = sim.url.trim_start_matches("http://").to_string();
    let get = |path: &str| {
        let (status, _, body) = tokio::task::block_in_place(|| crate::support::http("GET", &address, path));
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str::<serde_json::Value>(&body).unwrap()
    };
    let capacity: Vec<serde_json::Value> = sim
        .capacity()
        .iter()
        .map(|c| {
            serde_json::json!({
                "FleetId": c.fleet_id, "Location": c.location,
                "InstanceCounts": {
                    "DESIRED": c.desired, "MINIMUM": c.minimum, "MAXIMUM": c.maximum,
                    "PENDING": c.pending, "ACTIVE": c.active, "IDLE": c.idle, "TERMINATING": c.terminating,
                },
                "GameServerContainerGroupCounts": c.container_groups.as_ref().map(|g| serde_json::json!({
                    "PENDING": g.pending, "ACTIVE": g.active, "IDLE": g.idle, "TERMINATING": g.terminating,
                })),
            })
        })
        .collect();
    assert_eq!(get("/_simulator/capacity"), serde_json::Value::Array(capacity));
    let utilization = get("/_simulator/utilization");
    let rows = utilization.as_array().unwrap();
    assert_eq!(rows.len(), sim.utilization().len());
    for (row, u) in rows.iter().zip(sim.utilization()) {
        assert_eq!(
            (
                row["FleetId"].as_str().unwrap(),
                row["Location"].as_str().unwrap(),
                row["ActiveServerProcessCount"].as_u64().unwrap() as u32,
                row["ActiveGameSessionCount"].as_u64().unwrap() as u32,
                row["CurrentPlayerSessionCount"].as_u64().unwrap() as u32,
                row["MaximumPlayerSessionCount"].as_u64().unwrap() as u32,
            ),
            (
                u.fleet_id.as_str(),
                u.location.as_str(),
                u.active_server_processes,
                u.active_game_sessions,
                u.current_player_sessions,
                u.maximum_player_sessions
            )
        );
    }
}
