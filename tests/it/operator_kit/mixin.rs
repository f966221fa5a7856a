//! The monitoring mixin (`mixin/`) is the one source of the rules, the opt-in rules, the
//! Kubernetes PrometheusRule, the Grafana dashboard and the Alertmanager inhibitions: rendered
//! with `mixin/generate.sh`, they equal the committed files; its knobs change what is rendered;
//! every knob is documented in the README.

use super::{read, repo_path, run, tool, OPT_IN_RULES, RULES};
use crate::support;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What mixin/generate.sh writes, in its order.
const GENERATED: [&str; 6] = [
    "config/alertmanager/alertmanager.yml",
    "config/alertmanager/inhibit-rules.yml",
    "config/prometheus/gamelift-exporter.opt-in.rules.yml",
    "config/prometheus/gamelift-exporter.rules.yml",
    "deploy/kubernetes/components/prometheusrule/prometheusrule.yaml",
    "grafana/gamelift-exporter.json",
];

/// `PATH` with the directory of `jsonnet` first (it may have been found at a fallback path).
fn path_with(jsonnet: &Path) -> String {
    format!(
        "{}:{}",
        jsonnet.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn jsonnet() -> Option<PathBuf> {
    tool("jsonnet", &["/usr/bin/jsonnet"])
}

/// The mixin with these `_config` overrides (jsonnet object body), as JSON.
fn render(jsonnet: &Path, overrides: &str) -> Value {
    let program = format!(
        "local m = (import 'mixin.libsonnet') + {{ _config+:: {{ {overrides} }} }};\n\
         {{ rules: m.prometheusRules, alerts: m.prometheusAlerts, \
         dashboard: m.grafanaDashboards['gamelift-exporter.json'], inhibit: m.alertmanagerInhibitRules }}"
    );
    let out = run(Command::new(jsonnet)
        .args(["-J", "mixin", "-e", &program])
        .current_dir(repo_path("")));
    assert!(out.status.success(), "{}", super::describe("jsonnet", &out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn alerts(rendered: &Value) -> Vec<&Value> {
    rendered["alerts"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .collect()
}

#[test]
fn generated_files_match_the_mixin() {
    let Some(jsonnet) = jsonnet() else {
        return;
    };
    let out = support::temp_dir("mixin-out");
    let result = run(Command::new(repo_path("mixin/generate.sh"))
        .arg("--out")
        .arg(&out)
        .env("PATH", path_with(&jsonnet)));
    assert!(
        result.status.success(),
        "{}",
        super::describe("mixin/generate.sh --out", &result)
    );
    let listed: Vec<String> = String::from_utf8_lossy(&result.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(listed, GENERATED, "the files mixin/generate.sh writes");
    let mut stale = Vec::new();
    for file in GENERATED {
        let rendered = std::fs::read_to_string(out.join(file)).unwrap();
        if rendered != read(file) {
            stale.push(file);
        }
    }
    assert!(
        stale.is_empty(),
        "out of date with mixin/: {stale:?}; run mixin/generate.sh and commit the result"
    );
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn the_knobs_change_what_is_rendered() {
    let Some(jsonnet) = jsonnet() else {
        return;
    };
    let defaults = render(&jsonnet, "");
    let names = |r: &Value| -> Vec<String> {
        alerts(r)
            .iter()
            .map(|a| a["alert"].as_str().unwrap().to_string())
            .collect()
    };
    // Opt-in: the open-slots alert is not among the defaults, and only it is in the opt-in file.
    assert!(!names(&defaults).contains(&"GameLiftFleetOutOfOpenSlots".to_string()));
    assert!(!read(RULES).contains("GameLiftFleetOutOfOpenSlots"));
    assert!(read(OPT_IN_RULES).contains("alert: \"GameLiftFleetOutOfOpenSlots\""));

    let tuned = render(
        &jsonnet,
        "jobSelector: 'job=\"gamelift\"', \
         runbookBaseUrl: 'https://wiki.example.org/rb', \
         groups+: { openSlots: true, placements: false }, \
         openSlotsSelector: 'fleet_id=~\"fleet-a.*\"', \
         spotMassiveRatio: 0.5, \
         exporterDownFor: '2m'",
    );
    let tuned_alerts = alerts(&tuned);
    let tuned_names = names(&tuned);
    assert!(tuned_names.contains(&"GameLiftFleetOutOfOpenSlots".to_string()));
    for gone in [
        "GameLiftPlacementFailureRatioHigh",
        "GameLiftPlacementLatencyHigh",
        "GameLiftEventsStalled",
    ] {
        assert!(
            !tuned_names.contains(&gone.to_string()),
            "{gone} with placements off"
        );
    }
    assert_eq!(tuned_names.len(), names(&defaults).len() + 1 - 3);
    for alert in &tuned_alerts {
        let (name, expr) = (alert["alert"].as_str().unwrap(), alert["expr"].as_str().unwrap());
        assert!(
            expr.contains("job=\"gamelift\"") && !expr.contains("gamelift-exporter"),
            "{name}: {expr}"
        );
        assert_eq!(
            alert["annotations"]["runbook_url"],
            format!("https://wiki.example.org/rb#{}", name.to_lowercase())
        );
    }
    let find = |name: &str| *tuned_alerts.iter().find(|a| a["alert"] == name).unwrap();
    assert!(find("GameLiftFleetOutOfOpenSlots")["expr"]
        .as_str()
        .unwrap()
        .contains("gamelift_game_session_open_slots{job=\"gamelift\",fleet_id=~\"fleet-a.*\"}"));
    assert!(find("GameLiftSpotInterruptionsMassive")["expr"]
        .as_str()
        .unwrap()
        .trim_end()
        .ends_with(">= 0.5"));
    assert_eq!(find("GameLiftExporterDown")["for"], "2m");
    assert_eq!(find("GameLiftExporterDown")["expr"], "up{job=\"gamelift\"} == 0");
    for group in tuned["rules"]["groups"].as_array().unwrap() {
        for rule in group["rules"].as_array().unwrap() {
            assert!(
                rule["expr"].as_str().unwrap().contains("job=\"gamelift\""),
                "{rule}"
            );
        }
    }
    // The dashboard follows: the Job variable, the mass-interruption line, the runbook links.
    let d = &tuned["dashboard"];
    let job = d["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "job")
        .unwrap();
    assert_eq!(job["definition"], "label_values(up{job=\"gamelift\"}, job)");
    assert_eq!(d["links"][0]["url"], "https://wiki.example.org/rb");
    let share = super::dashboard::all_panels(d)
        .into_iter()
        .find(|p| p["title"] == "Interrupted share of sessions (10m)")
        .unwrap()
        .clone();
    assert_eq!(
        share["fieldConfig"]["defaults"]["thresholds"]["steps"][2]["value"],
        0.5
    );
    assert!(share["description"].as_str().unwrap().ends_with("pages at 50%."));
    assert_eq!(
        share["links"][0]["url"],
        "https://wiki.example.org/rb#gameliftspotinterruptionsmassive"
    );
}

/// The README documents every knob of mixin/config.libsonnet, in its table.
#[test]
fn every_knob_is_documented_in_the_readme() {
    let Some(jsonnet) = jsonnet() else {
        return;
    };
    let out = run(Command::new(&jsonnet)
        .args([
            "-J",
            "mixin",
            "-e",
            "std.objectFieldsAll((import 'config.libsonnet')._config)",
        ])
        .current_dir(repo_path("")));
    assert!(out.status.success(), "{}", super::describe("jsonnet", &out));
    let knobs: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(knobs.len() >= 20, "{knobs:?}");
    let readme = read("README.md");
    let missing: Vec<&String> = knobs
        .iter()
        .filter(|k| !readme.lines().any(|l| l.starts_with(&format!("| `{k}` |"))))
        .collect();
    assert!(
        missing.is_empty(),
        "knobs missing from the README's table: {missing:?}"
    );
}

/// The mixin's sources are as jsonnetfmt (Debian's jsonnet package) formats them.
#[test]
fn mixin_sources_are_formatted() {
    let Some(jsonnetfmt) = tool("jsonnetfmt", &["/usr/bin/jsonnetfmt"]) else {
        return;
    };
    let mut files = Vec::new();
    let mut dirs = vec![repo_path("mixin")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e == "libsonnet" || e == "jsonnet")
            {
                files.push(path);
            }
        }
    }
    assert!(files.len() >= 8, "{files:?}");
    for file in files {
        let out = run(Command::new(&jsonnetfmt).arg("--test").arg(&file));
        assert!(
            out.status.success(),
            "{} is not formatted: jsonnetfmt -i {}",
            file.display(),
            file.display()
        );
    }
}
