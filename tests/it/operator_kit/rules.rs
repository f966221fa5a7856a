//! The Prometheus rules (`config/prometheus/gamelift-exporter.rules.yml`) and their promtool unit
//! tests: promtool accepts them and the tests pass; every alert is tested firing and silent, with
//! its annotations; every alert on a counter stays silent across an exporter restart.

use super::{
    describe, read, repo_path, run, tool, OPT_IN_RULES, PLACEMENT_BUCKETS, PROMETHEUS_EXAMPLE, RULES,
    RULE_TESTS, RUNBOOK_BASE_URL,
};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// A Prometheus rule file, as far as these tests read it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    pub groups: Vec<RuleGroup>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleGroup {
    pub name: String,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub record: Option<String>,
    pub alert: Option<String>,
    pub expr: String,
    #[serde(rename = "for")]
    pub for_: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
}

impl Rule {
    /// "record" or "alert".
    pub fn kind(&self) -> &'static str {
        if self.alert.is_some() {
            "alert"
        } else {
            "record"
        }
    }

    pub fn name(&self) -> &str {
        self.alert
            .as_deref()
            .or(self.record.as_deref())
            .expect("a rule is a record or an alert")
    }
}

/// Every rule of a rule file's text, in order.
pub fn parse_rules(text: &str) -> Vec<Rule> {
    let file: RuleFile = yaml_serde::from_str(text).unwrap_or_else(|e| panic!("rule file: {e}"));
    let mut groups = BTreeSet::new();
    for group in &file.groups {
        assert!(groups.insert(group.name.as_str()), "group {:?} twice", group.name);
    }
    let rules: Vec<Rule> = file.groups.into_iter().flat_map(|g| g.rules).collect();
    for rule in &rules {
        assert!(
            rule.record.is_some() != rule.alert.is_some(),
            "a rule must have exactly one of record/alert: {rule:?}"
        );
        assert!(
            !rule.expr.trim().is_empty(),
            "{} {}: empty expr",
            rule.kind(),
            rule.name()
        );
    }
    rules
}

/// The kit's rules: those on by default and the opt-in alerts.
pub fn kit_rules() -> Vec<Rule> {
    let mut rules = parse_rules(&read(RULES));
    rules.extend(parse_rules(&read(OPT_IN_RULES)));
    rules
}

/// A promtool unit-test file, as far as these tests read it.
#[derive(Debug, Deserialize)]
struct RuleTestFile {
    tests: Vec<RuleTest>,
}

#[derive(Debug, Deserialize)]
struct RuleTest {
    name: String,
    #[serde(default)]
    alert_rule_test: Vec<AlertTest>,
}

#[derive(Debug, Deserialize)]
struct AlertTest {
    eval_time: String,
    alertname: String,
    /// `None` when the key is missing: an implicit "no alert" is not accepted.
    exp_alerts: Option<Vec<ExpectedAlert>>,
}

#[derive(Debug, Deserialize)]
struct ExpectedAlert {
    #[serde(default)]
    exp_labels: BTreeMap<String, String>,
    #[serde(default)]
    exp_annotations: BTreeMap<String, String>,
}

#[test]
fn rules_pass_promtool_check_and_unit_tests() {
    let Some(promtool) = tool("promtool", &["/usr/bin/promtool"]) else {
        return;
    };
    for (sub, file) in [
        ("check rules", RULES),
        ("check rules", OPT_IN_RULES),
        ("test rules", RULE_TESTS),
        ("check config", PROMETHEUS_EXAMPLE),
    ] {
        let out = run(Command::new(&promtool)
            .args(sub.split(' '))
            .arg(repo_path(file))
            .current_dir(env!("CARGO_MANIFEST_DIR")));
        assert!(
            out.status.success(),
            "{}",
            describe(&format!("promtool {sub} {file}"), &out)
        );
        println!(
            "promtool {sub} {file}: {}",
            String::from_utf8_lossy(&out.stdout).trim()
        );
    }
}

#[test]
fn every_alert_has_unit_tests_that_fire_and_stay_silent() {
    let rules = kit_rules();
    let alerts: Vec<&Rule> = rules.iter().filter(|r| r.alert.is_some()).collect();
    assert!(
        alerts.len() >= 27,
        "expected at least 27 alerts, found {}",
        alerts.len()
    );
    let tests: RuleTestFile =
        yaml_serde::from_str(&read(RULE_TESTS)).unwrap_or_else(|e| panic!("{RULE_TESTS}: {e}"));

    let mut firing: BTreeMap<&str, usize> = BTreeMap::new();
    let mut silent: BTreeMap<&str, usize> = BTreeMap::new();
    // Alerts shown silent in a test case about an exporter restart.
    let mut silent_on_restart: BTreeSet<&str> = BTreeSet::new();
    let mut problems = Vec::new();
    for test in &tests.tests {
        for case in &test.alert_rule_test {
            let name = case.alertname.as_str();
            let at = format!("{RULE_TESTS}: test {:?}, {name} at {}", test.name, case.eval_time);
            let Some(expected) = &case.exp_alerts else {
                problems.push(format!("{at}: no explicit exp_alerts"));
                continue;
            };
            if expected.is_empty() {
                *silent.entry(name).or_default() += 1;
                if test.name.contains("exporter restart") {
                    silent_on_restart.insert(name);
                }
                continue;
            }
            *firing.entry(name).or_default() += 1;
            let Some(rule) = alerts.iter().find(|r| r.name() == name) else {
                continue;
            };
            for alert in expected {
                for (label, value) in &rule.labels {
                    if alert.exp_labels.get(label) != Some(value) {
                        problems.push(format!("{at}: exp_labels lack {label}: {value}"));
                    }
                }
                for key in ["summary", "description", "runbook_url"] {
                    if alert.exp_annotations.get(key).is_none_or(|v| v.trim().is_empty()) {
                        problems.push(format!("{at}: exp_annotations lack {key}"));
                    }
                }
            }
        }
    }
    for alert in &alerts {
        let name = alert.name();
        if !firing.contains_key(name) {
            problems.push(format!("{name}: no case where it fires"));
        }
        if !silent.contains_key(name) {
            problems.push(format!("{name}: no case where it stays silent (exp_alerts: [])"));
        }
        for key in ["summary", "description", "runbook_url"] {
            if alert.annotations.get(key).is_none_or(|v| v.trim().is_empty()) {
                problems.push(format!("{name}: no {key} annotation"));
            }
        }
        let runbook = format!("{RUNBOOK_BASE_URL}#{}", name.to_lowercase());
        if alert.annotations.get("runbook_url") != Some(&runbook) {
            problems.push(format!(
                "{name}: runbook_url {:?}, expected {runbook:?}",
                alert.annotations.get("runbook_url")
            ));
        }
        if !alert.labels.contains_key("severity") {
            problems.push(format!("{name}: no severity label"));
        }
        // Alerts on counters, on timestamps that a restart can leave absent, and on the
        // exporter's own health (which a restart resets) must be shown silent across an exporter
        // restart.
        let on_counter = alert.expr.contains("_total");
        let on_full_pass = alert.expr.contains("last_full_pass_timestamp_seconds");
        let on_exporter = alert.expr.starts_with("up{")
            || alert.expr.contains("(up{")
            || [
                "gamelift_exporter_fleet_up",
                "gamelift_exporter_fleet_events_up",
                "gamelift_exporter_account_up",
                "gamelift_exporter_config_last_reload_successful",
                "gamelift_exporter_effective_interval_seconds",
                "gamelift_exporter_fleet_capacity_last_success_timestamp_seconds",
            ]
            .iter()
            .any(|m| alert.expr.contains(m));
        if (on_counter || on_full_pass || on_exporter) && !silent_on_restart.contains(name) {
            problems.push(format!(
                "{name}: no \"exporter restart\" test case where it stays silent"
            ));
        }
    }
    for name in firing.keys().chain(silent.keys()) {
        if !alerts.iter().any(|a| a.name() == *name) {
            problems.push(format!("{name}: tested but not defined in {RULES}"));
        }
    }
    assert!(
        problems.is_empty(),
        "alert unit-test coverage:\n{}",
        problems.join("\n")
    );
    assert!(
        tests
            .tests
            .iter()
            .any(|t| t.name == "exporter restart does not fire interruption alerts"),
        "the exporter-restart test case of GameLiftSpotInterruptions is gone"
    );
    println!(
        "alerts covered (fire/silent): {firing:?} / {silent:?}; silent on restart: {silent_on_restart:?}"
    );
}

/// The spot alerts must not wait for the history pass: no `for:`, and windows far below the
/// default history_interval (1h) yet longer than several live intervals.
#[test]
fn interruption_alerts_follow_the_live_pass() {
    let rules = kit_rules();
    // Quiet defaults: single interruptions and notices are info notices, a burst of reclaims
    // warns, a large share of a location's sessions pages.
    for (name, severity) in [
        ("GameLiftSpotInstanceInterrupted", "info"),
        ("GameLiftSpotInterruptions", "info"),
        ("GameLiftSpotInterruptionBurst", "warning"),
        ("GameLiftSpotInterruptionsMassive", "critical"),
    ] {
        let rule = rules
            .iter()
            .find(|r| r.alert.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!(rule.labels["severity"], severity, "{name}");
    }
    for name in [
        "GameLiftSpotInterruptions",
        "GameLiftSpotInstanceInterrupted",
        "GameLiftSpotInterruptionBurst",
        "GameLiftSpotInterruptionsMassive",
    ] {
        let rule = rules
            .iter()
            .find(|r| r.alert.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing"));
        assert!(rule.for_.is_none(), "{name}: `for:` delays the alert: {rule:?}");
        assert!(
            rule.expr.contains("[10m]"),
            "{name}: expected a 10m window: {}",
            rule.expr
        );
    }
    let notice = rules
        .iter()
        .find(|r| r.alert.as_deref() == Some("GameLiftSpotInstanceInterrupted"))
        .unwrap();
    assert!(
        notice.expr.contains(
            "gamelift_fleet_events_total{job=\"gamelift-exporter\",event_code=\"INSTANCE_INTERRUPTED\"}"
        ),
        "{}",
        notice.expr
    );
}

/// A `for:` duration in minutes (`15m`, `3h`, `90s` rounded down); 0 without one.
fn for_minutes(rule: &Rule) -> u64 {
    let Some(d) = rule.for_.as_deref() else {
        return 0;
    };
    let (n, unit) = d.split_at(d.len() - 1);
    let n: u64 = n
        .parse()
        .unwrap_or_else(|e| panic!("{}: for: {d}: {e}", rule.name()));
    match unit {
        "s" => n / 60,
        "m" => n,
        "h" => n * 60,
        _ => panic!("{}: for: {d}: unexpected unit", rule.name()),
    }
}

/// The capacity alerts fit the capacity series: those are refreshed every
/// `sweep.capacity_interval` (60 s), so the instance-count alerts wait several refreshes; the
/// ERROR statuses are final and fire at once, a fleet in ERROR once (not once per location);
/// fleet events have no location, so the interruption is joined on fleet_id alone.
#[test]
fn capacity_alerts_fit_the_capacity_series() {
    let rules = kit_rules();
    let alert = |name: &str| {
        rules
            .iter()
            .find(|r| r.alert.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing"))
    };

    let at_max = alert("GameLiftFleetAtMaximumCapacity");
    assert!(
        for_minutes(at_max) >= 3,
        "GameLiftFleetAtMaximumCapacity: `for:` below 3 capacity refreshes: {at_max:?}"
    );
    for part in [
        "gamelift_fleet_instances{job=\"gamelift-exporter\",state=\"ACTIVE\"}",
        "gamelift_fleet_instances{job=\"gamelift-exporter\",state=\"MAXIMUM\"}) > 0",
        "gamelift_game_session_open_slots{job=\"gamelift-exporter\"}) == 0",
    ] {
        assert!(
            at_max.expr.contains(part),
            "GameLiftFleetAtMaximumCapacity lacks {part}: {}",
            at_max.expr
        );
    }

    let not_recovering = alert("GameLiftCapacityNotRecovering");
    assert!(
        for_minutes(not_recovering) >= 10,
        "GameLiftCapacityNotRecovering: `for:` shorter than an instance replacement: {not_recovering:?}"
    );
    for part in [
        "gamelift_fleet_instances{job=\"gamelift-exporter\",state=\"DESIRED\"}",
        "gamelift_fleet_instances{job=\"gamelift-exporter\",state=\"ACTIVE\"}",
        "and on (namespace, job, instance, fleet_id)\n",
        "gamelift_fleet_events_total{job=\"gamelift-exporter\",event_code=\"INSTANCE_INTERRUPTED\"}",
    ] {
        assert!(
            not_recovering.expr.contains(part),
            "GameLiftCapacityNotRecovering lacks {part:?}: {}",
            not_recovering.expr
        );
    }

    let location = alert("GameLiftFleetLocationError");
    let fleet = alert("GameLiftFleetError");
    for rule in [location, fleet] {
        assert!(rule.for_.is_none(), "{}: ERROR is final, no `for:`", rule.name());
    }
    assert!(
        location
            .expr
            .contains("gamelift_fleet_location_status{job=\"gamelift-exporter\",status=\"ERROR\"}")
            && location
                .expr
                .contains("unless on (namespace, job, instance, fleet_id)"),
        "GameLiftFleetLocationError: {}",
        location.expr
    );
    assert!(
        fleet
            .expr
            .contains("gamelift_fleet_status{job=\"gamelift-exporter\",status=\"ERROR\"}"),
        "GameLiftFleetError: {}",
        fleet.expr
    );
}

/// Whitespace-insensitive form of an expression, to find a recording rule's expression inside an
/// alert's.
fn squash(expr: &str) -> String {
    expr.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The placement alerts match the metric contract and their recording rules: the failure ratio is
/// (failed + timed_out) / all over the same window as its minimum volume; the latency alert reads
/// the fulfilled placements only and its threshold is a bucket boundary of the histogram (so
/// "p95 > threshold" means exactly "more than 5% took longer"), with a minimum volume too; the
/// stall alert compares the placements counted with the sessions started (ACTIVE change + ended,
/// not ended alone), per exporter. The recording rules the dashboard shows are the alerts' own
/// terms, so a panel shows what the alert sees.
#[test]
fn placement_alerts_fit_the_event_metrics() {
    let rules = kit_rules();
    let get = |name: &str| {
        rules
            .iter()
            .find(|r| r.name() == name)
            .unwrap_or_else(|| panic!("{name} missing from {RULES}"))
    };
    let contains_rule = |alert: &Rule, record: &str| {
        let inner = squash(&get(record).expr);
        assert!(
            squash(&alert.expr).contains(&inner),
            "{}: does not contain the expression of {record} ({inner}): {}",
            alert.name(),
            alert.expr
        );
    };
    let operands = |alert: &Rule| super::promql::comparison_operands(&alert.expr);
    let number = |alert: &Rule, at: usize| -> f64 {
        let ops = operands(alert);
        ops.get(at)
            .and_then(|o| o.parse().ok())
            .unwrap_or_else(|| panic!("{}: operand {at} of {ops:?} is not a number", alert.name()))
    };

    let ratio = get("GameLiftPlacementFailureRatioHigh");
    contains_rule(ratio, "queue:gamelift_placements_failed_or_timed_out:ratio15m");
    contains_rule(ratio, "queue:gamelift_placements:increase15m");
    assert!(
        ratio.expr.contains("outcome=~\"failed|timed_out\"")
            && ratio.expr.contains("by (namespace, job, instance, queue)"),
        "{}",
        ratio.expr
    );
    let (threshold, volume) = (number(ratio, 1), number(ratio, 3));
    assert!((0.0..0.5).contains(&threshold), "ratio threshold {threshold}");
    assert!(
        volume * threshold >= 2.0,
        "GameLiftPlacementFailureRatioHigh: {volume} placements x {threshold} lets a single failure page"
    );
    assert!(
        for_minutes(ratio) >= 1,
        "GameLiftPlacementFailureRatioHigh: no `for:`"
    );

    let latency = get("GameLiftPlacementLatencyHigh");
    let expr = squash(&latency.expr);
    for part in [
        "histogram_quantile(0.95,",
        "rate(gamelift_placement_duration_seconds_bucket{job=\"gamelift-exporter\",outcome=\"fulfilled\"}[15m])",
        "by (namespace, job, instance, queue, le)",
        "increase(gamelift_placement_duration_seconds_count{job=\"gamelift-exporter\",outcome=\"fulfilled\"}[15m])",
    ] {
        assert!(
            expr.contains(part),
            "GameLiftPlacementLatencyHigh lacks {part}: {expr}"
        );
    }
    let seconds = number(latency, 1);
    assert!(
        PLACEMENT_BUCKETS.contains(&seconds),
        "GameLiftPlacementLatencyHigh: threshold {seconds}s is not a bucket boundary of {PLACEMENT_BUCKETS:?}"
    );
    assert!(
        number(latency, 3) >= 20.0,
        "GameLiftPlacementLatencyHigh: volume below 20"
    );
    assert!(
        for_minutes(latency) >= 1,
        "GameLiftPlacementLatencyHigh: no `for:`"
    );
    let p95 = squash(&get("queue_outcome:gamelift_placement_duration_seconds:p95_15m").expr);
    assert!(
        p95.contains("histogram_quantile(0.95,")
            && p95.contains("gamelift_placement_duration_seconds_bucket{job=\"gamelift-exporter\"}[15m]"),
        "{p95}"
    );

    let stalled = get("GameLiftEventsStalled");
    contains_rule(stalled, "instance:gamelift_game_sessions_started:increase15m");
    let started = squash(&get("instance:gamelift_game_sessions_started:increase15m").expr);
    for part in [
        "delta(gamelift_game_sessions{job=\"gamelift-exporter\",status=\"ACTIVE\"}[15m])",
        "increase(gamelift_game_sessions_ended_total{job=\"gamelift-exporter\"}[15m])",
        "by (namespace, job, instance)",
    ] {
        assert!(started.contains(part), "sessions started lacks {part}: {started}");
    }
    assert!(
        squash(&stalled.expr)
            .contains("sum by (namespace, job, instance) (increase(gamelift_placements_total{job=\"gamelift-exporter\"}[15m])) == 0"),
        "{}",
        stalled.expr
    );
    assert!(
        number(stalled, 1) >= 5.0,
        "GameLiftEventsStalled: fewer than 5 sessions"
    );
    assert!(for_minutes(stalled) >= 1, "GameLiftEventsStalled: no `for:`");
}

#[test]
fn rule_files_are_read_with_yaml() {
    let rules = parse_rules(
        "groups:\n  - name: g\n    rules:\n      - record: a:b:c\n        expr: sum(x)\n      - alert: A\n        expr: |\n          x\n            > 0\n        for: 5m\n        labels:\n          severity: info\n        annotations:\n          summary: >-\n            one\n            line\n",
    );
    assert_eq!(rules.len(), 2);
    assert_eq!(
        (rules[0].kind(), rules[0].name(), rules[0].expr.as_str()),
        ("record", "a:b:c", "sum(x)")
    );
    assert_eq!(
        (rules[1].kind(), rules[1].name(), rules[1].expr.as_str()),
        ("alert", "A", "x\n  > 0\n")
    );
    assert_eq!(rules[1].for_.as_deref(), Some("5m"));
    assert_eq!(rules[1].annotations["summary"], "one line");
}
