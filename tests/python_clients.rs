//! The simulator answers a second, independent client: boto3 and the AWS CLI (AWS JSON 1.1).

mod common;

use common::scenario;
use gamelift_exporter::simulator::{Clock, Simulator};
use std::collections::BTreeMap;
use std::process::Command;

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

fn python_has_boto3() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import boto3"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("boto3 is required in CI (pip install boto3 awscli)");
        }
        eprintln!("SKIPPED: python3 with boto3 not available (pip install boto3 awscli)");
    }
    ok
}

#[tokio::test]
async fn boto3_lists_fleets_and_pages_sessions() {
    if !python_has_boto3() {
        return;
    }
    let sim = Simulator::start(&scenario(SCENARIO), Clock::Manual)
        .await
        .unwrap();
    let url = sim.url.clone();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/boto3_client.py");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .args([script, &url, "us-west-2"])
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "boto3 script failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();

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
    if !common::require_tool("aws") {
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
