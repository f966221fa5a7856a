//! The Alertmanager inhibitions (`config/alertmanager/`, rendered from the mixin): `amtool
//! check-config` accepts the example configuration, `amtool config routes test` routes each
//! severity to its receiver, and a real Alertmanager (Debian's `prometheus-alertmanager`, on
//! loopback, clustering off) given the alerts that fire together marks exactly the explained ones
//! inhibited.

use super::{describe, read, repo_path, run, tool};
use crate::support::{self, Process};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::process::Command;
use std::time::{Duration, Instant};

const CONFIG: &str = "config/alertmanager/alertmanager.yml";
const INHIBIT_RULES: &str = "config/alertmanager/inhibit-rules.yml";

#[test]
fn shipped_alertmanager_config_passes_amtool_and_routes_by_severity() {
    let Some(amtool) = tool("amtool", &["/usr/bin/amtool"]) else {
        return;
    };
    let out = run(Command::new(&amtool).arg("check-config").arg(repo_path(CONFIG)));
    assert!(out.status.success(), "{}", describe("amtool check-config", &out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("SUCCESS") && text.contains(" - 5 inhibit rules"),
        "{text}"
    );
    // The fragment is the example's inhibit_rules.
    let example: Value = yaml_serde::from_str(&read(CONFIG)).unwrap();
    let fragment: Value = yaml_serde::from_str(&read(INHIBIT_RULES)).unwrap();
    assert_eq!(example["inhibit_rules"], fragment["inhibit_rules"]);
    for (severity, receiver) in [("critical", "pager"), ("warning", "tickets"), ("info", "notices")] {
        let out = run(Command::new(&amtool)
            .args(["config", "routes", "test", "--config.file"])
            .arg(repo_path(CONFIG))
            .args([&format!("severity={severity}"), "alertname=GameLiftFleetError"]));
        assert!(
            out.status.success(),
            "{}",
            describe("amtool config routes test", &out)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            receiver,
            "severity {severity}"
        );
    }
}

/// One HTTP/1.1 request with a JSON body; returns (status, body).
fn request(address: &str, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    let mut stream = std::net::TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw)?;
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    // Go answers small bodies with Content-Length, larger ones chunked: take the JSON out.
    let body = match (body.find(['[', '{']), body.rfind([']', '}'])) {
        (Some(a), Some(b)) if b >= a => body[a..=b].to_string(),
        _ => body,
    };
    Ok((status, body))
}

/// An alert as Prometheus sends it, firing for the next hour.
fn alert(name: &str, severity: &str, labels: &[(&str, &str)]) -> Value {
    let mut all: BTreeMap<&str, &str> = labels.iter().copied().collect();
    all.insert("alertname", name);
    all.insert("severity", severity);
    all.insert("job", "gamelift-exporter");
    json!({ "labels": all, "generatorURL": "http://127.0.0.1/graph" })
}

/// The alerts that fire together in the situations the inhibitions are for, and whether each is
/// to be inhibited.
fn situation() -> Vec<(Value, bool)> {
    let down = ("instance", "down:10319");
    let up = ("instance", "up:10319");
    vec![
        // An exporter that cannot be scraped explains the alerts about what it watches, not
        // those of another exporter.
        (alert("GameLiftExporterDown", "critical", &[down]), false),
        (
            alert(
                "GameLiftExporterFleetDown",
                "warning",
                &[down, ("fleet_id", "fleet-1")],
            ),
            true,
        ),
        (
            alert("GameLiftFleetError", "warning", &[down, ("fleet_id", "fleet-2")]),
            true,
        ),
        (
            alert("GameLiftFleetError", "warning", &[up, ("fleet_id", "fleet-2")]),
            false,
        ),
        (
            alert(
                "GameLiftExporterFleetEventsDown",
                "warning",
                &[down, ("fleet_id", "fleet-4")],
            ),
            true,
        ),
        // A fleet that cannot be read explains its staleness, not another fleet's, nor one in
        // another namespace.
        (
            alert(
                "GameLiftExporterFleetDown",
                "warning",
                &[up, ("fleet_id", "fleet-1")],
            ),
            false,
        ),
        (
            alert(
                "GameLiftExporterFleetStale",
                "warning",
                &[up, ("fleet_id", "fleet-1")],
            ),
            true,
        ),
        (
            alert(
                "GameLiftExporterCapacityStale",
                "warning",
                &[up, ("fleet_id", "fleet-1"), ("kind", "instances")],
            ),
            true,
        ),
        (
            alert(
                "GameLiftExporterFleetStale",
                "warning",
                &[up, ("fleet_id", "fleet-3")],
            ),
            false,
        ),
        // It explains the fleet's events-poll alert too (that gauge keeps the value of the last
        // complete live pass), not another fleet's.
        (
            alert(
                "GameLiftExporterFleetEventsDown",
                "warning",
                &[up, ("fleet_id", "fleet-1")],
            ),
            true,
        ),
        (
            alert(
                "GameLiftExporterFleetEventsDown",
                "warning",
                &[up, ("fleet_id", "fleet-3")],
            ),
            false,
        ),
        (
            alert(
                "GameLiftExporterFleetStale",
                "warning",
                &[up, ("fleet_id", "fleet-1"), ("namespace", "games")],
            ),
            false,
        ),
        // At maximum capacity explains no open slots in the same location only.
        (
            alert(
                "GameLiftFleetAtMaximumCapacity",
                "critical",
                &[up, ("fleet_id", "fleet-1"), ("location", "us-east-1")],
            ),
            false,
        ),
        (
            alert(
                "GameLiftFleetOutOfOpenSlots",
                "warning",
                &[up, ("fleet_id", "fleet-1"), ("location", "us-east-1")],
            ),
            true,
        ),
        (
            alert(
                "GameLiftFleetOutOfOpenSlots",
                "warning",
                &[up, ("fleet_id", "fleet-1"), ("location", "eu-west-1")],
            ),
            false,
        ),
        // The Spot alerts of a fleet: the strongest notifies.
        (
            alert(
                "GameLiftSpotInterruptionsMassive",
                "critical",
                &[up, ("fleet_id", "fleet-spot"), ("location", "us-east-1")],
            ),
            false,
        ),
        (
            alert(
                "GameLiftSpotInterruptionBurst",
                "warning",
                &[up, ("fleet_id", "fleet-spot")],
            ),
            true,
        ),
        (
            alert(
                "GameLiftSpotInterruptions",
                "info",
                &[up, ("fleet_id", "fleet-spot"), ("location", "us-west-2")],
            ),
            true,
        ),
        (
            alert(
                "GameLiftSpotInstanceInterrupted",
                "info",
                &[up, ("fleet_id", "fleet-spot")],
            ),
            true,
        ),
        (
            alert(
                "GameLiftSpotInterruptionBurst",
                "warning",
                &[up, ("fleet_id", "fleet-spot2")],
            ),
            false,
        ),
        (
            alert(
                "GameLiftSpotInterruptions",
                "info",
                &[up, ("fleet_id", "fleet-spot2"), ("location", "us-east-1")],
            ),
            true,
        ),
        (
            alert(
                "GameLiftSpotInstanceInterrupted",
                "info",
                &[up, ("fleet_id", "fleet-spot2")],
            ),
            true,
        ),
        (
            alert(
                "GameLiftSpotInterruptions",
                "info",
                &[up, ("fleet_id", "fleet-calm"), ("location", "us-east-1")],
            ),
            false,
        ),
    ]
}

/// A stable name of an alert: its labels.
fn key(labels: &Value) -> String {
    let map: BTreeMap<String, String> = labels
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect();
    format!("{map:?}")
}

#[test]
fn a_real_alertmanager_inhibits_the_explained_alerts() {
    let Some(alertmanager) = tool("prometheus-alertmanager", &["/usr/bin/prometheus-alertmanager"]) else {
        return;
    };
    let storage = support::temp_dir("alertmanager");
    let port = support::free_port();
    let address = format!("127.0.0.1:{port}");
    let mut process = Process::spawn(
        "alertmanager",
        Command::new(&alertmanager)
            .arg(format!("--config.file={}", repo_path(CONFIG).display()))
            .arg(format!("--storage.path={}", storage.display()))
            .arg(format!("--web.listen-address={address}"))
            // No cluster: no gossip port, no peers.
            .arg("--cluster.listen-address="),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = process.exited() {
            panic!("alertmanager exited with {status}\n{}", process.log_tail(30));
        }
        if let Ok((200, _)) = request(&address, "GET", "/-/ready", "") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "alertmanager not ready\n{}",
            process.log_tail(30)
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let situation = situation();
    let alerts: Vec<&Value> = situation.iter().map(|(a, _)| a).collect();
    let (status, body) = request(
        &address,
        "POST",
        "/api/v2/alerts",
        &serde_json::to_string(&alerts).unwrap(),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let expected: BTreeMap<String, bool> = situation.iter().map(|(a, i)| (key(&a["labels"]), *i)).collect();

    // The inhibitor sees the sources as they arrive; the API reports each alert's state.
    let deadline = Instant::now() + Duration::from_secs(30);
    let got = loop {
        let (status, body) = request(&address, "GET", "/api/v2/alerts", "").unwrap();
        assert_eq!(status, 200, "{body}");
        let listed: Vec<Value> = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        let got: BTreeMap<String, (bool, Value)> = listed
            .iter()
            .map(|a| {
                let state = &a["status"];
                (
                    key(&a["labels"]),
                    (state["state"] == "suppressed", state["inhibitedBy"].clone()),
                )
            })
            .collect();
        let now: BTreeMap<String, bool> = got.iter().map(|(k, (i, _))| (k.clone(), *i)).collect();
        if now == expected || Instant::now() > deadline {
            break got;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let mut problems = Vec::new();
    for (alert, inhibited) in &expected {
        match got.get(alert) {
            None => problems.push(format!("not listed: {alert}")),
            Some((is, by)) if is != inhibited => {
                problems.push(format!("{alert}: inhibited {is} (by {by}), expected {inhibited}"))
            }
            Some((true, by)) if by.as_array().is_none_or(Vec::is_empty) => {
                problems.push(format!("{alert}: suppressed, but not by an inhibition: {by}"))
            }
            _ => {}
        }
    }
    assert!(
        problems.is_empty(),
        "{}\n{}",
        problems.join("\n"),
        process.log_tail(20)
    );
    let inhibited = expected.values().filter(|i| **i).count();
    println!(
        "alertmanager: {} alerts posted, {inhibited} inhibited, {} notify",
        expected.len(),
        expected.len() - inhibited
    );
    drop(process);
    let _ = std::fs::remove_dir_all(&storage);
}
