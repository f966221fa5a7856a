//! The simulator answers a second, independent client: boto3 and the AWS CLI (AWS JSON 1.1).

use crate::support;

use crate::support::scenario;
use gamelift_exporter::simulator::{Clock, EventRecord, SessionRecord, Simulator};
use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

const SCENARIO: &str = r#"
start_time = 1793491200
[faults]
rate_limits = {}
[[fleet]]
id = "fleet-aaaa"
name = "arena-spot"
type = "SPOT"
home_region = "us-west-2"
locations = ["us-east-1"]
[fleet.sessions]
active = 11
activating = 2
terminated = 9
interrupted = 3
[[fleet]]
id = "fleet-bbbb"
name = "lobby"
type = "ON_DEMAND"
home_region = "us-west-2"
[fleet.sessions]
active = 4
"#;

pub(crate) fn python_has_boto3() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import boto3"])
        .status()
        .is_ok_and(|s| s.success());
    support::required(ok, "python3 with boto3 (pip install boto3 awscli)")
}

/// Runs one of the Python clients in `tests/clients/` with `args`; its JSON output.
pub(crate) async fn run_client(script: &'static str, args: Vec<String>) -> serde_json::Value {
    let path = format!("{}/tests/clients/{script}", env!("CARGO_MANIFEST_DIR"));
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(&path)
            .args(&args)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{script} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
async fn boto3_lists_fleets_and_pages_sessions() {
    if !python_has_boto3() {
        return;
    }
    let sim = Simulator::start(&scenario(SCENARIO), Clock::Manual)
        .await
        .unwrap();
    let result = run_client("boto3_client.py", vec![sim.url.clone(), "us-west-2".into()]).await;

    assert_eq!(result["fleets"], serde_json::json!(["fleet-aaaa", "fleet-bbbb"]));
    assert_eq!(result["types"]["fleet-aaaa"], "SPOT");
    assert_eq!(
        result["locations"]["fleet-aaaa"],
        serde_json::json!(["us-west-2", "us-east-1"])
    );
    let truth = sim.sessions();
    for fleet in ["fleet-aaaa", "fleet-bbbb"] {
        let mut expected: Vec<&str> = truth
            .iter()
            .filter(|s| s.fleet_id == fleet)
            .map(|s| s.game_session_id.as_str())
            .collect();
        let mut seen: Vec<&str> = result["sessions"][fleet]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        expected.sort();
        seen.sort();
        assert_eq!(
            seen, expected,
            "{fleet}: every session exactly once through boto3's paginator"
        );
        let active = truth
            .iter()
            .filter(|s| s.fleet_id == fleet && s.status == "ACTIVE")
            .count();
        assert_eq!(result["active"][fleet], active as u64);
    }
    let creation: BTreeMap<String, i64> = serde_json::from_value(result["creation_times"].clone()).unwrap();
    for s in &truth {
        assert_eq!(
            creation[&s.game_session_id], s.creation_time_ms,
            "CreationTime of {}",
            s.game_session_id
        );
    }
    assert_eq!(
        result["errors"]["not_found"],
        "Fleet fleet-doesnotexist not found."
    );
    assert_eq!(
        result["errors"]["invalid_request"],
        "Invalid StatusFilter 'BOGUS': expected one of ACTIVE, ACTIVATING, TERMINATING, TERMINATED."
    );
    assert!(result["errors"]["forged_token"]
        .as_str()
        .unwrap()
        .starts_with("Invalid NextToken"));
    let protocols: Vec<&str> = sim.requests().iter().map(|r| r.protocol).collect();
    assert!(
        protocols.iter().all(|p| *p == "awsJson1_1"),
        "boto3 speaks AWS JSON 1.1: {protocols:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_lists_fleets_and_describes_sessions() {
    if !support::require_tool("aws") {
        return;
    }
    let sim = Simulator::start(&scenario(SCENARIO), Clock::Manual)
        .await
        .unwrap();
    let run = |args: Vec<String>| {
        let output = Command::new("aws")
            .args(&args)
            .env("AWS_ACCESS_KEY_ID", "AKIDCLI")
            .env("AWS_SECRET_ACCESS_KEY", "cli-secret")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).to_string(),
            String::from_utf8_lossy(&output.stderr).to_string(),
        )
    };
    let base = |cmd: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = vec!["gamelift".into()];
        args.extend(cmd.iter().map(|s| s.to_string()));
        args.extend([
            "--endpoint-url".into(),
            sim.url.clone(),
            "--region".into(),
            "us-west-2".into(),
            "--output".into(),
            "json".into(),
        ]);
        args
    };
    let (code, stdout, stderr) = tokio::task::block_in_place(|| run(base(&["list-fleets"])));
    assert_eq!(code, Some(0), "{stderr}");
    let fleets: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        fleets["FleetIds"],
        serde_json::json!(["fleet-aaaa", "fleet-bbbb"])
    );

    // The CLI follows NextToken itself; --page-size 4 forces several pages.
    let (code, stdout, stderr) = tokio::task::block_in_place(|| {
        run(base(&[
            "describe-game-sessions",
            "--fleet-id",
            "fleet-aaaa",
            "--page-size",
            "4",
        ]))
    });
    assert_eq!(code, Some(0), "{stderr}");
    let sessions: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let expected = sim
        .sessions()
        .iter()
        .filter(|s| s.fleet_id == "fleet-aaaa")
        .count();
    assert_eq!(sessions["GameSessions"].as_array().unwrap().len(), expected);
    let pages = sim
        .requests()
        .iter()
        .filter(|r| r.operation == "DescribeGameSessions")
        .count();
    assert_eq!(pages, expected.div_ceil(4));

    let (code, _, stderr) =
        tokio::task::block_in_place(|| run(base(&["describe-game-sessions", "--fleet-id", "fleet-nope"])));
    assert_ne!(code, Some(0));
    assert!(
        stderr.contains("NotFoundException") && stderr.contains("Fleet fleet-nope not found."),
        "{stderr}"
    );
}

/// Builds a history of five events on fleet-aaaa, 10 s apart from 30 s after the start: an
/// instance interrupted at once, a crash with a Count, a scaling event, an instance interrupted
/// with a 15 s notice (its sessions end 20 s later, at the next tick), an activation timeout.
/// Returns an ARN of a session the first interruption ended.
fn world_with_events(sim: &Simulator) -> String {
    let start = sim.now_ms();
    sim.advance(Duration::from_secs(30));
    let ended = sim.interrupt_instances("fleet-aaaa", "us-east-1", 1).unwrap();
    let instance = |location: &str| {
        sim.sessions()
            .into_iter()
            .find(|s| s.location == location && s.status == "ACTIVE" && s.fleet_id == "fleet-aaaa")
            .unwrap()
            .compute_name
    };
    sim.advance(Duration::from_secs(10));
    sim.emit_event(
        "fleet-aaaa",
        "SERVER_PROCESS_CRASHED",
        Some(&instance("us-east-1")),
        Some(2),
    )
    .unwrap();
    sim.advance(Duration::from_secs(10));
    sim.emit_event("fleet-aaaa", "FLEET_SCALING_EVENT", None, None)
        .unwrap();
    sim.advance(Duration::from_secs(10));
    let noticed = instance("us-west-2");
    let will_end = sim
        .interrupt_instance("fleet-aaaa", &noticed, Duration::from_secs(15))
        .unwrap();
    sim.advance(Duration::from_secs(20));
    sim.emit_event(
        "fleet-aaaa",
        "GAME_SESSION_ACTIVATION_TIMEOUT",
        Some(&noticed),
        Some(1),
    )
    .unwrap();
    let events = sim.events("fleet-aaaa");
    let times: Vec<i64> = events.iter().map(|e| e.event_time_ms - start).collect();
    assert_eq!(times, [30_000, 40_000, 50_000, 60_000, 80_000]);
    for id in &will_end {
        let s = sim
            .sessions()
            .into_iter()
            .find(|s| &s.game_session_id == id)
            .unwrap();
        assert_eq!(s.termination_time_ms, Some(start + 80_000));
    }
    ended[0].clone()
}

fn event_json(e: &EventRecord) -> serde_json::Value {
    serde_json::json!({
        "EventId": e.event_id, "ResourceId": e.resource_id, "EventCode": e.event_code,
        "Message": e.message, "EventTimeMs": e.event_time_ms, "Count": e.count,
    })
}

fn detail_json(s: &SessionRecord) -> serde_json::Value {
    serde_json::json!({
        "GameSessionId": s.game_session_id, "Status": s.status, "StatusReason": s.status_reason,
        "ComputeName": s.compute_name, "TerminationTimeMs": s.termination_time_ms,
        "ProtectionPolicy": "NoProtection",
    })
}

#[tokio::test]
async fn boto3_pages_fleet_events_and_session_details() {
    if !python_has_boto3() {
        return;
    }
    let sim = Simulator::start(&scenario(SCENARIO), Clock::Manual)
        .await
        .unwrap();
    let interrupted = world_with_events(&sim);
    let start = 1_793_491_200 + 40;
    let end = 1_793_491_200 + 60;
    let result = run_client(
        "boto3_events.py",
        vec![
            sim.url.clone(),
            "us-west-2".into(),
            "fleet-aaaa".into(),
            start.to_string(),
            end.to_string(),
            interrupted.clone(),
        ],
    )
    .await;

    // Newest first, each once, every member as stored.
    let events = sim.events("fleet-aaaa");
    let expected: Vec<serde_json::Value> = events.iter().rev().map(event_json).collect();
    assert_eq!(result["events"], serde_json::Value::Array(expected));
    assert_eq!(result["event_pages"], 3, "5 events in pages of 2");
    let window: Vec<&str> = events
        .iter()
        .rev()
        .filter(|e| (start * 1000..=end * 1000).contains(&e.event_time_ms))
        .map(|e| e.event_id.as_str())
        .collect();
    assert_eq!(window.len(), 3, "both ends of the window are included");
    assert_eq!(result["window"], serde_json::json!(window));

    let truth: Vec<SessionRecord> = sim
        .sessions()
        .into_iter()
        .filter(|s| s.fleet_id == "fleet-aaaa")
        .collect();
    let expected: Vec<serde_json::Value> = truth.iter().map(detail_json).collect();
    assert_eq!(result["details"], serde_json::Value::Array(expected));
    let one = truth.iter().find(|s| s.game_session_id == interrupted).unwrap();
    assert_eq!(one.status_reason, Some("INTERRUPTED"));
    assert_eq!(result["by_id"], serde_json::json!([detail_json(one)]));

    assert_eq!(
        result["errors"]["events_not_found"],
        "Fleet fleet-doesnotexist not found."
    );
    assert_eq!(
        result["errors"]["events_forged_token"],
        "Invalid NextToken: the token is malformed or was not issued for this request."
    );
    let missing = format!("{}/gsess-0000000fffff", interrupted.rsplit_once('/').unwrap().0);
    assert_eq!(
        result["errors"]["details_not_found"],
        format!("Game session {missing} not found.")
    );
    let requests = sim.requests();
    assert!(requests.iter().all(|r| r.protocol == "awsJson1_1"));
    let count = |operation: &str| requests.iter().filter(|r| r.operation == operation).count();
    assert_eq!(count("DescribeFleetEvents"), 3 + 2 + 2);
    assert_eq!(count("DescribeGameSessionDetails"), truth.len().div_ceil(3) + 2);
}

/// EventId, ResourceId, EventCode, EventTime (ms), Count.
type EventRow = (String, String, String, i64, Option<i64>);
/// GameSessionId, Status, StatusReason, ComputeName, TerminationTime (ms).
type DetailRow = (String, String, Option<String>, String, Option<i64>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_describes_fleet_events_and_session_details() {
    if !support::require_tool("aws") {
        return;
    }
    let sim = Simulator::start(&scenario(SCENARIO), Clock::Manual)
        .await
        .unwrap();
    world_with_events(&sim);
    let cli = |args: &[&str]| {
        let mut command = Command::new("aws");
        command
            .arg("gamelift")
            .args(args)
            .args([
                "--endpoint-url",
                &sim.url,
                "--region",
                "us-west-2",
                "--output",
                "json",
            ])
            .env("AWS_ACCESS_KEY_ID", "AKIDCLI")
            .env("AWS_SECRET_ACCESS_KEY", "cli-secret")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
        let output = tokio::task::block_in_place(|| command.output().unwrap());
        assert!(
            output.status.success(),
            "aws {args:?} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap()
    };
    // The CLI prints timestamps as the service sent them: epoch seconds.
    let millis = |value: &serde_json::Value| (value.as_f64().unwrap() * 1000.0).round() as i64;

    let listed = cli(&[
        "describe-fleet-events",
        "--fleet-id",
        "fleet-aaaa",
        "--page-size",
        "2",
    ]);
    let events = sim.events("fleet-aaaa");
    let got: Vec<EventRow> = listed["Events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["EventId"].as_str().unwrap().to_string(),
                e["ResourceId"].as_str().unwrap().to_string(),
                e["EventCode"].as_str().unwrap().to_string(),
                millis(&e["EventTime"]),
                e["Count"].as_i64(),
            )
        })
        .collect();
    let expected: Vec<EventRow> = events
        .iter()
        .rev()
        .map(|e| {
            (
                e.event_id.clone(),
                e.resource_id.clone(),
                e.event_code.to_string(),
                e.event_time_ms,
                e.count,
            )
        })
        .collect();
    assert_eq!(got, expected);
    let window = cli(&[
        "describe-fleet-events",
        "--fleet-id",
        "fleet-aaaa",
        "--start-time",
        "2026-11-01T00:00:40Z",
        "--end-time",
        "2026-11-01T00:01:00Z",
    ]);
    let ids: Vec<&str> = window["Events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["EventId"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            events[3].event_id.as_str(),
            events[2].event_id.as_str(),
            events[1].event_id.as_str()
        ]
    );

    let details = cli(&[
        "describe-game-session-details",
        "--fleet-id",
        "fleet-aaaa",
        "--page-size",
        "4",
    ]);
    let truth: Vec<SessionRecord> = sim
        .sessions()
        .into_iter()
        .filter(|s| s.fleet_id == "fleet-aaaa")
        .collect();
    let got: Vec<DetailRow> = details["GameSessionDetails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["ProtectionPolicy"], "NoProtection");
            let s = &d["GameSession"];
            (
                s["GameSessionId"].as_str().unwrap().to_string(),
                s["Status"].as_str().unwrap().to_string(),
                s["StatusReason"].as_str().map(str::to_string),
                s["ComputeName"].as_str().unwrap().to_string(),
                (!s["TerminationTime"].is_null()).then(|| millis(&s["TerminationTime"])),
            )
        })
        .collect();
    let expected: Vec<DetailRow> = truth
        .iter()
        .map(|s| {
            (
                s.game_session_id.clone(),
                s.status.to_string(),
                s.status_reason.map(str::to_string),
                s.compute_name.clone(),
                s.termination_time_ms,
            )
        })
        .collect();
    assert_eq!(got, expected);
    let pages = sim
        .requests()
        .iter()
        .filter(|r| r.operation == "DescribeGameSessionDetails")
        .count();
    assert_eq!(pages, truth.len().div_ceil(4), "the CLI followed NextToken");
}

// ---------------------------------------------------------------------------------------------
// Fleet capacity and utilization through AWS JSON 1.1: the same answers as through the SDK.

use gamelift_exporter::simulator::{CapacityRecord, UtilizationRecord};

/// boto3: DescribeFleetCapacity and DescribeFleetUtilization through boto3's paginators (a
/// page per fleet), the located forms for every (fleet, location) given as `FLEET/LOCATION`
/// arguments, and the errors of a batch too large and of a location the fleet does not have.
const BOTO3_CAPACITY: &str = r#"
import json, sys
import boto3
endpoint, region, pairs = sys.argv[1], sys.argv[2], sys.argv[3:]
client = boto3.client("gamelift", endpoint_url=endpoint, region_name=region,
                      aws_access_key_id="AKIDBOTO3", aws_secret_access_key="boto3-secret")
out = {"capacity": [], "utilization": [], "located_capacity": [], "located_utilization": [], "errors": {}}
for page in client.get_paginator("describe_fleet_capacity").paginate(PaginationConfig={"PageSize": 1}):
    out["capacity"].extend(page["FleetCapacity"])
for page in client.get_paginator("describe_fleet_utilization").paginate(PaginationConfig={"PageSize": 1}):
    out["utilization"].extend(page["FleetUtilization"])
for pair in pairs:
    fleet, location = pair.split("/")
    if fleet != "fleet-anywhere":
        answer = client.describe_fleet_location_capacity(FleetId=fleet, Location=location)
        out["located_capacity"].append(answer["FleetCapacity"])
    answer = client.describe_fleet_location_utilization(FleetId=fleet, Location=location)
    out["located_utilization"].append(answer["FleetUtilization"])
try:
    client.describe_fleet_capacity(FleetIds=["fleet-%02d" % i for i in range(11)])
except client.exceptions.InvalidRequestException as e:
    out["errors"]["too_many"] = e.response["Error"]["Message"]
try:
    client.describe_fleet_location_capacity(FleetId="fleet-spot", Location="ap-south-1")
except client.exceptions.InvalidRequestException as e:
    out["errors"]["no_such_location"] = e.response["Error"]["Message"]
print(json.dumps(out))
"#;

/// A FleetCapacity as AWS JSON carries it.
fn capacity_json(r: &CapacityRecord) -> serde_json::Value {
    let mut value = serde_json::json!({
        "FleetId": r.fleet_id,
        "FleetArn": format!("arn:aws:gamelift:us-west-2:123456789012:fleet/{}", r.fleet_id),
        "InstanceType": "c5.large",
        "Location": r.location,
        "InstanceCounts": {
            "DESIRED": r.desired, "MINIMUM": r.minimum, "MAXIMUM": r.maximum, "PENDING": r.pending,
            "ACTIVE": r.active, "IDLE": r.idle, "TERMINATING": r.terminating,
        },
    });
    if let Some(g) = &r.container_groups {
        value["GameServerContainerGroupCounts"] = serde_json::json!({
            "PENDING": g.pending, "ACTIVE": g.active, "IDLE": g.idle, "TERMINATING": g.terminating,
        });
    }
    value
}

fn utilization_json(u: &UtilizationRecord) -> serde_json::Value {
    serde_json::json!({
        "FleetId": u.fleet_id,
        "FleetArn": format!("arn:aws:gamelift:us-west-2:123456789012:fleet/{}", u.fleet_id),
        "Location": u.location,
        "ActiveServerProcessCount": u.active_server_processes,
        "ActiveGameSessionCount": u.active_game_sessions,
        "CurrentPlayerSessionCount": u.current_player_sessions,
        "MaximumPlayerSessionCount": u.maximum_player_sessions,
    })
}

/// The capacity world after a reclaim in us-east-1 (its replacement PENDING) and with the
/// home Region's DESIRED raised (two more PENDING), so that every count is non-trivial. Returns
/// the expected (home capacity, every located capacity, home utilization, every located
/// utilization) of the us-west-2 fleets, from the simulator's truth: the SDK tests check that
/// truth against counts of their own.
fn capacity_world(sim: &Simulator) -> [Vec<serde_json::Value>; 4] {
    let east = sim
        .sessions()
        .into_iter()
        .find(|s| s.fleet_id == "fleet-spot" && s.location == "us-east-1" && s.status == "ACTIVE")
        .unwrap()
        .compute_name;
    sim.interrupt_instance("fleet-spot", &east, Duration::ZERO)
        .unwrap();
    sim.set_capacity("fleet-spot", "us-west-2", 1, 5, 5);
    let in_region = |fleet: &str| fleet != "fleet-eu";
    let capacity = sim.capacity();
    assert!(capacity
        .iter()
        .any(|r| r.pending > 0 && r.location == "us-east-1"));
    let utilization = sim.utilization();
    let home = |location: &str| location == "us-west-2";
    [
        capacity
            .iter()
            .filter(|r| in_region(&r.fleet_id) && home(&r.location))
            .map(capacity_json)
            .collect(),
        capacity
            .iter()
            .filter(|r| in_region(&r.fleet_id))
            .map(capacity_json)
            .collect(),
        utilization
            .iter()
            .filter(|u| in_region(&u.fleet_id) && home(&u.location) && u.fleet_id != "fleet-anywhere")
            .map(utilization_json)
            .collect(),
        utilization
            .iter()
            .filter(|u| in_region(&u.fleet_id))
            .map(utilization_json)
            .collect(),
    ]
}

fn fleet_locations(sim: &Simulator) -> Vec<String> {
    let mut pairs: Vec<String> = sim
        .fleets()
        .into_iter()
        .filter(|(fleet, _)| fleet != "fleet-eu")
        .flat_map(|(fleet, locations)| locations.into_iter().map(move |l| format!("{fleet}/{l}")))
        .collect();
    pairs.sort();
    pairs
}

fn sorted(mut values: Vec<serde_json::Value>) -> Vec<serde_json::Value> {
    values.sort_by_key(|v| (v["FleetId"].to_string(), v["Location"].to_string()));
    values
}

#[tokio::test]
async fn boto3_describes_capacity_and_utilization() {
    if !python_has_boto3() {
        return;
    }
    let sim = Simulator::start(&scenario(crate::simulator_capacity::CAPACITY), Clock::Manual)
        .await
        .unwrap();
    let [capacity, located_capacity, utilization, located_utilization] = capacity_world(&sim);
    let pairs = fleet_locations(&sim);
    let mut args = vec![
        "-c".to_string(),
        BOTO3_CAPACITY.to_string(),
        sim.url.clone(),
        "us-west-2".into(),
    ];
    args.extend(pairs.iter().cloned());
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .args(&args)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let list = |key: &str| result[key].as_array().unwrap().clone();
    assert_eq!(sorted(list("capacity")), sorted(capacity));
    assert_eq!(sorted(list("located_capacity")), sorted(located_capacity));
    assert_eq!(sorted(list("utilization")), sorted(utilization));
    assert_eq!(sorted(list("located_utilization")), sorted(located_utilization));
    assert_eq!(
        result["errors"]["too_many"],
        "1 validation error detected: Value '[fleet-00, fleet-01, fleet-02, fleet-03, fleet-04, fleet-05, fleet-06, fleet-07, fleet-08, fleet-09, fleet-10]' at 'fleetIds' failed to satisfy constraint: Member must have length less than or equal to 10"
    );
    assert_eq!(
        result["errors"]["no_such_location"],
        "Location ap-south-1 is not a location of fleet fleet-spot."
    );
    let requests = sim.requests();
    assert!(requests.iter().all(|r| r.protocol == "awsJson1_1"));
    let count = |operation: &str| requests.iter().filter(|r| r.operation == operation).count();
    // Pages of one: 3 EC2 and CONTAINER fleets in us-west-2, plus the refused batch.
    assert_eq!(count("DescribeFleetCapacity"), 3 + 1);
    assert_eq!(count("DescribeFleetUtilization"), 3);
    assert_eq!(count("DescribeFleetLocationUtilization"), pairs.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_describes_capacity_and_utilization() {
    if !support::require_tool("aws") {
        return;
    }
    let sim = Simulator::start(&scenario(crate::simulator_capacity::CAPACITY), Clock::Manual)
        .await
        .unwrap();
    let [capacity, located_capacity, utilization, located_utilization] = capacity_world(&sim);
    let cli = |args: &[&str]| {
        let mut command = Command::new("aws");
        command
            .arg("gamelift")
            .args(args)
            .args([
                "--endpoint-url",
                &sim.url,
                "--region",
                "us-west-2",
                "--output",
                "json",
            ])
            .env("AWS_ACCESS_KEY_ID", "AKIDCLI")
            .env("AWS_SECRET_ACCESS_KEY", "cli-secret")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
        let output = tokio::task::block_in_place(|| command.output().unwrap());
        (
            output.status.success(),
            serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap_or_default(),
            String::from_utf8_lossy(&output.stderr).to_string(),
        )
    };
    let ok = |args: &[&str]| {
        let (success, json, stderr) = cli(args);
        assert!(success, "aws {args:?} failed:\n{stderr}");
        json
    };
    let list = |value: &serde_json::Value, key: &str| value[key].as_array().unwrap().clone();
    // The CLI follows NextToken itself: --page-size 1 makes it page.
    let listed = ok(&["describe-fleet-capacity", "--page-size", "1"]);
    assert_eq!(sorted(list(&listed, "FleetCapacity")), sorted(capacity));
    let listed = ok(&["describe-fleet-utilization", "--page-size", "1"]);
    assert_eq!(sorted(list(&listed, "FleetUtilization")), sorted(utilization));
    let mut got_capacity = Vec::new();
    let mut got_utilization = Vec::new();
    for pair in fleet_locations(&sim) {
        let (fleet, location) = pair.split_once('/').unwrap();
        let args = ["--fleet-id", fleet, "--location", location];
        if fleet != "fleet-anywhere" {
            let one = ok(&[&["describe-fleet-location-capacity"], &args[..]].concat());
            got_capacity.push(one["FleetCapacity"].clone());
        }
        let one = ok(&[&["describe-fleet-location-utilization"], &args[..]].concat());
        got_utilization.push(one["FleetUtilization"].clone());
    }
    assert_eq!(sorted(got_capacity), sorted(located_capacity));
    assert_eq!(sorted(got_utilization), sorted(located_utilization));
    let pages = sim
        .requests()
        .iter()
        .filter(|r| r.operation == "DescribeFleetCapacity")
        .count();
    assert_eq!(pages, 3, "the CLI followed NextToken over 3 fleets");

    let many: Vec<String> = (0..11).map(|i| format!("fleet-{i:02}")).collect();
    let mut args = vec!["describe-fleet-utilization", "--fleet-ids"];
    args.extend(many.iter().map(String::as_str));
    let (success, _, stderr) = cli(&args);
    assert!(!success);
    assert!(
        stderr.contains("InvalidRequestException")
            && stderr.contains("Member must have length less than or equal to 10"),
        "{stderr}"
    );
}
