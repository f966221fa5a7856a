//! End to end: the exporter (`--demo`) scraped by a real Prometheus with the rules loaded; every
//! dashboard target, variable and annotation, every recording rule and both sides of every
//! alert's threshold must evaluate, with data; and the capacity series must hold what the rules
//! and panels take for granted (one status at 1 per state set, the join keys of the alerts).

use super::dashboard::{dashboard_exprs, load_dashboard, variable_query};
use super::promql::{comparison_operands, metric_names, parse_label_values, parse_query_result, substitute};
use super::rules::kit_rules;
use super::{
    repo_path, tool, JOB, MATCHMAKING_BUCKETS, MATCHMAKING_OUTCOMES, OPT_IN_RULES, PLACEMENT_BUCKETS,
    PLACEMENT_OUTCOMES, RULES,
};
use crate::support::{self, Process};
use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

/// `GET` on loopback: (status, body), or why there is no answer (yet).
fn get(port: u16, path: &str) -> Result<(u16, String), String> {
    support::try_http("GET", &format!("127.0.0.1:{port}"), path)
        .map(|(status, _, body)| (status, body))
        .map_err(|e| e.to_string())
}

/// Waits until `process` answers 200 on `/-/ready`.
fn wait_ready(port: u16, process: &mut Process, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let mut last = String::from("no answer");
    while Instant::now() < deadline {
        if let Some(status) = process.exited() {
            panic!(
                "{} exited early ({status}) before /-/ready\n{}",
                process.name,
                process.log_tail(40)
            );
        }
        match get(port, "/-/ready") {
            Ok((200, _)) => return,
            Ok((code, body)) => last = format!("HTTP {code}: {}", body.trim()),
            Err(e) => last = e,
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!(
        "{} not ready on 127.0.0.1:{port} after {timeout:?} (last: {last})\n{}",
        process.name,
        process.log_tail(40)
    );
}

#[derive(Debug, Clone, PartialEq)]
enum Expect {
    /// status success and a non-empty result
    NonEmpty,
    /// status success; an empty result is legitimate
    Success,
    /// status success and an empty result (absent() while the exporter is up)
    Empty,
    /// non-empty, and some series carries this label
    HasLabel(String),
    /// non-empty, and in every series' sorted label names the second follows the first (what a
    /// Grafana regex over `query_result` text relies on)
    Adjacent(String, String),
}

#[derive(Debug, Clone)]
struct Check {
    origin: String,
    query: String,
    expect: Expect,
}

/// Builds the queries: every dashboard target, variable and annotation, and
/// every recording rule and alert of the rules file.
fn build_checks() -> Vec<Check> {
    let d = load_dashboard();
    let mut checks = Vec::new();
    let (targets, annotations) = dashboard_exprs(&d);
    for (origin, expr) in targets {
        // The failure counter has no series until the first failed request, so
        // an expression on it may be empty in a healthy demo unless it has an
        // `or` fallback (the dashboard's has one, so this is a safety net). The
        // rejected-events counter, likewise, until the first rejected message.
        let may_be_empty = [
            "gamelift_exporter_api_request_failures_total",
            "gamelift_exporter_events_rejected_total",
        ]
        .iter()
        .any(|m| metric_names(&expr).contains(*m));
        let expect = if may_be_empty && !expr.contains(" or ") {
            Expect::Success
        } else {
            Expect::NonEmpty
        };
        checks.push(Check {
            origin,
            query: substitute(&expr),
            expect,
        });
    }
    // Annotations end in a threshold (`> 0`): they are legitimately empty when
    // nothing happened, so check the full query succeeds and each operand has data.
    for (origin, expr) in annotations {
        push_thresholded(&mut checks, &origin, &substitute(&expr));
    }
    for v in d["templating"]["list"].as_array().into_iter().flatten() {
        if v["type"] != "query" {
            continue;
        }
        let q = variable_query(v);
        if let Some(expr) = parse_query_result(&q) {
            // The Fleet variable: every series has fleet_id and fleet_name, adjacent in the sorted
            // label set its regex reads.
            for label in ["fleet_id", "fleet_name"] {
                checks.push(Check {
                    origin: format!("variable {} ({q})", v["name"]),
                    query: substitute(&expr),
                    expect: Expect::HasLabel(label.to_string()),
                });
            }
            checks.push(Check {
                origin: format!("variable {}: the regex's labels, adjacent", v["name"]),
                query: substitute(&expr),
                expect: Expect::Adjacent("fleet_id".into(), "fleet_name".into()),
            });
            continue;
        }
        let (selector, label) = parse_label_values(&q)
            .unwrap_or_else(|| panic!("variable {}: unsupported query {q:?}", v["name"]));
        checks.push(Check {
            origin: format!("variable {} ({q})", v["name"]),
            query: substitute(&selector),
            expect: Expect::HasLabel(label),
        });
    }
    for rule in kit_rules() {
        let origin = format!("{} {}", rule.kind(), rule.name());
        if let Some(record) = &rule.record {
            checks.push(Check {
                origin: origin.clone(),
                query: rule.expr.clone(),
                expect: Expect::NonEmpty,
            });
            // Prometheus loaded and evaluated the rule.
            checks.push(Check {
                origin: format!("{origin} (recorded series)"),
                query: record.clone(),
                expect: Expect::NonEmpty,
            });
        } else if let Some(inner) = rule
            .expr
            .trim()
            .strip_prefix("absent(")
            .and_then(|r| r.strip_suffix(')'))
        {
            // absent(...) is empty while the exporter is scraped; its argument
            // without the comparison must have data.
            checks.push(Check {
                origin: origin.clone(),
                query: rule.expr.clone(),
                expect: Expect::Empty,
            });
            for operand in comparison_operands(inner) {
                checks.push(Check {
                    origin: format!("{origin} operand"),
                    query: operand,
                    expect: Expect::NonEmpty,
                });
            }
        } else {
            push_thresholded(&mut checks, &origin, &rule.expr);
        }
    }
    checks.extend(contract_checks());
    checks.extend(event_checks());
    checks
}

/// A regex of the `le` values of a histogram with these finite buckets: `5` or `5.0`, and `+Inf`.
fn le_regex(buckets: &[f64]) -> String {
    let finite: Vec<String> = buckets
        .iter()
        .map(|b| format!("{b}").replace('.', "\\\\."))
        .collect();
    format!("({})(\\\\.0)?|\\\\+Inf", finite.join("|"))
}

/// What the placement row and alerts take for granted in the demo (the simulator places sessions
/// through a queue, with FlexMatch, and serves the SQS operations the reader uses): non-zero
/// placements, placement durations, placed player sessions, matchmaking tickets and events read
/// within the test's two minutes (NonEmpty), and the series shapes of the metric contract: every
/// queue with its four outcomes, every histogram with its buckets (Empty).
fn event_checks() -> Vec<Check> {
    let non_zero = [
        (
            "the demo counts fulfilled placements",
            "sum by (job, instance, queue) (gamelift_placements_total{outcome=\"fulfilled\"}) > 0".to_string(),
        ),
        (
            "the demo observes placement durations",
            "sum by (job, instance, queue) (gamelift_placement_duration_seconds_count{outcome=\"fulfilled\"}) > 0".to_string(),
        ),
        (
            "the demo counts placed player sessions",
            "sum by (job, instance, queue, region) (gamelift_placed_player_sessions_total) > 0".to_string(),
        ),
        (
            "the demo counts succeeded matchmaking tickets",
            "sum by (job, instance, configuration) (gamelift_matchmaking_duration_seconds_count{outcome=\"succeeded\"}) > 0".to_string(),
        ),
        (
            "the demo counts MatchmakingSucceeded events",
            "sum by (job, instance, configuration) (gamelift_matchmaking_events_total{type=\"MatchmakingSucceeded\"}) > 0".to_string(),
        ),
        (
            "the demo receives queue placement events",
            "gamelift_exporter_events_received_total{detail_type=\"GameLift Queue Placement Event\"} > 0".to_string(),
        ),
        (
            "the demo receives matchmaking events",
            "gamelift_exporter_events_received_total{detail_type=\"GameLift Matchmaking Event\"} > 0".to_string(),
        ),
        (
            "the demo publishes the event age",
            "gamelift_exporter_event_age_seconds >= 0".to_string(),
        ),
    ];
    let outcomes = |list: &[&str]| list.join("|");
    let empty = [
        (
            "every queue has its four placement outcomes",
            format!(
                "count by (job, instance, queue) (gamelift_placements_total{{outcome=~\"{}\"}}) != {}",
                outcomes(PLACEMENT_OUTCOMES),
                PLACEMENT_OUTCOMES.len()
            ),
        ),
        (
            "no other placement outcome",
            format!("gamelift_placements_total{{outcome!~\"{}\"}}", outcomes(PLACEMENT_OUTCOMES)),
        ),
        (
            "every queue has a duration histogram per outcome",
            format!(
                "count by (job, instance, queue) (gamelift_placement_duration_seconds_count{{outcome=~\"{}\"}}) != {}",
                outcomes(PLACEMENT_OUTCOMES),
                PLACEMENT_OUTCOMES.len()
            ),
        ),
        (
            "the placement histograms have the contract's buckets",
            format!(
                "count by (job, instance, queue, outcome) (gamelift_placement_duration_seconds_bucket{{le=~\"{}\"}}) != {}",
                le_regex(PLACEMENT_BUCKETS),
                PLACEMENT_BUCKETS.len() + 1
            ),
        ),
        (
            "no other placement bucket",
            format!(
                "gamelift_placement_duration_seconds_bucket{{le!~\"{}\"}}",
                le_regex(PLACEMENT_BUCKETS)
            ),
        ),
        (
            "every configuration has a duration histogram per outcome",
            format!(
                "count by (job, instance, configuration) (gamelift_matchmaking_duration_seconds_count{{outcome=~\"{}\"}}) != {}",
                outcomes(MATCHMAKING_OUTCOMES),
                MATCHMAKING_OUTCOMES.len()
            ),
        ),
        (
            "the matchmaking histograms have the contract's buckets",
            format!(
                "count by (job, instance, configuration, outcome) (gamelift_matchmaking_duration_seconds_bucket{{le=~\"{}\"}}) != {}",
                le_regex(MATCHMAKING_BUCKETS),
                MATCHMAKING_BUCKETS.len() + 1
            ),
        ),
        (
            "no other matchmaking bucket",
            format!(
                "gamelift_matchmaking_duration_seconds_bucket{{le!~\"{}\"}}",
                le_regex(MATCHMAKING_BUCKETS)
            ),
        ),
        // GameLiftEventsStalled joins the placements with the sessions per exporter.
        (
            "every exporter that counts placements has session series",
            "group by (job, instance) (gamelift_placements_total) unless on (job, instance) gamelift_game_sessions{status=\"ACTIVE\"}".to_string(),
        ),
    ];
    non_zero
        .into_iter()
        .map(|(what, query)| (what, query, Expect::NonEmpty))
        .chain(
            empty
                .into_iter()
                .map(|(what, query)| (what, query, Expect::Empty)),
        )
        .map(|(what, query, expect)| Check {
            origin: format!("events: {what}"),
            query,
            expect,
        })
        .collect()
}

/// What the capacity alerts and panels take for granted in the exporter's capacity series: empty
/// results, each query listing what breaks the assumption.
fn contract_checks() -> Vec<Check> {
    [
        // The status panel shows the one series at 1 of each state set.
        (
            "every fleet has exactly one status at 1",
            "count by (job, instance, fleet_id) (gamelift_fleet_status) unless on (job, instance, fleet_id) (count by (job, instance, fleet_id) (gamelift_fleet_status == 1) == 1)",
        ),
        (
            "every fleet location has exactly one status at 1",
            "count by (job, instance, fleet_id, location) (gamelift_fleet_location_status) unless on (job, instance, fleet_id, location) (count by (job, instance, fleet_id, location) (gamelift_fleet_location_status == 1) == 1)",
        ),
        // GameLiftCapacityNotRecovering joins the instance counts with the fleet's
        // INSTANCE_INTERRUPTED events on fleet_id.
        (
            "every fleet with instance counts has an INSTANCE_INTERRUPTED series",
            "group by (job, instance, fleet_id) (gamelift_fleet_instances) unless on (job, instance, fleet_id) gamelift_fleet_events_total{event_code=\"INSTANCE_INTERRUPTED\"}",
        ),
        // GameLiftFleetAtMaximumCapacity joins them with the open slots on (fleet_id, location),
        // and the dashboard's $location comes from gamelift_game_sessions.
        (
            "every location with instance counts has open slots and sessions series",
            "group by (job, instance, fleet_id, location) (gamelift_fleet_instances) unless on (job, instance, fleet_id, location) (gamelift_game_session_open_slots and on (job, instance, fleet_id, location) gamelift_game_sessions)",
        ),
        (
            "every location with instance counts has all seven states",
            "count by (job, instance, fleet_id, location) (gamelift_fleet_instances{state=~\"DESIRED|MINIMUM|MAXIMUM|PENDING|ACTIVE|IDLE|TERMINATING\"}) != 7",
        ),
        (
            "no other instance state",
            "gamelift_fleet_instances{state!~\"DESIRED|MINIMUM|MAXIMUM|PENDING|ACTIVE|IDLE|TERMINATING\"}",
        ),
        (
            "IDLE instances are a subset of ACTIVE ones",
            "gamelift_fleet_instances{state=\"IDLE\"} > ignoring (state) gamelift_fleet_instances{state=\"ACTIVE\"}",
        ),
        (
            "no other container group state",
            "gamelift_fleet_game_server_container_groups{state!~\"PENDING|ACTIVE|IDLE|TERMINATING\"}",
        ),
    ]
    .into_iter()
    .map(|(what, query)| Check {
        origin: format!("contract: {what}"),
        query: query.to_string(),
        expect: Expect::Empty,
    })
    .collect()
}

fn push_thresholded(checks: &mut Vec<Check>, origin: &str, expr: &str) {
    checks.push(Check {
        origin: origin.to_string(),
        query: expr.to_string(),
        expect: Expect::Success,
    });
    let operands = comparison_operands(expr);
    assert!(
        operands.len() >= 2,
        "{origin}: expected a threshold comparison in {expr:?}"
    );
    for operand in operands {
        checks.push(Check {
            origin: format!("{origin} operand"),
            query: operand,
            expect: Expect::NonEmpty,
        });
    }
}

/// Runs one check: Ok(number of result series) or Err(why it does not hold yet).
fn evaluate(port: u16, check: &Check) -> Result<usize, String> {
    let path = support::query_path("/api/v1/query", &[("query", &check.query)]);
    let (code, body) = get(port, &path).map_err(|e| format!("request failed: {e}"))?;
    let v: Value = serde_json::from_str(&body).map_err(|e| format!("HTTP {code}, not JSON ({e}): {body}"))?;
    if code != 200 || v["status"] != "success" {
        return Err(format!("HTTP {code}: {body}"));
    }
    let result = &v["data"]["result"];
    // A scalar result is a [time, value] pair; a vector a list of series.
    let count = match v["data"]["resultType"].as_str() {
        Some("scalar") | Some("string") => 1,
        _ => result.as_array().map_or(0, Vec::len),
    };
    match &check.expect {
        Expect::NonEmpty if count == 0 => Err(format!("empty result: {body}")),
        Expect::Empty if count != 0 => Err(format!("expected an empty result: {body}")),
        Expect::Adjacent(first, second) => {
            let series = result.as_array().cloned().unwrap_or_default();
            let bad: Vec<&Value> = series
                .iter()
                .filter(|s| {
                    let mut names: Vec<&String> = s["metric"]
                        .as_object()
                        .map(|m| m.keys().collect())
                        .unwrap_or_default();
                    names.sort();
                    !names.windows(2).any(|w| w[0] == first && w[1] == second)
                })
                .collect();
            if series.is_empty() || !bad.is_empty() {
                Err(format!(
                    "{second} does not follow {first} in {bad:?} ({} series)",
                    series.len()
                ))
            } else {
                Ok(count)
            }
        }
        Expect::HasLabel(label) => {
            let has = result.as_array().into_iter().flatten().any(|s| {
                s["metric"][label.as_str()]
                    .as_str()
                    .is_some_and(|l| !l.is_empty())
            });
            if has {
                Ok(count)
            } else {
                Err(format!("no series with label {label}: {body}"))
            }
        }
        _ => Ok(count),
    }
}

#[test]
fn real_prometheus_evaluates_every_dashboard_and_rule_expression() {
    let Some(prometheus) = tool("prometheus", &["/usr/bin/prometheus"]) else {
        return;
    };
    let checks = build_checks();
    let tmp = support::temp_dir("e2e");

    let exporter_port = support::free_port();
    let exporter_config = tmp.join("gamelift-exporter.toml");
    fs::write(
        &exporter_config,
        format!("[server]\nlisten = \"127.0.0.1:{exporter_port}\"\n[sweep]\ninterval = \"1s\"\nhistory_interval = \"2s\"\ncapacity_interval = \"2s\"\n"),
    )
    .unwrap();
    // The state file too, as the systemd units run it.
    let mut exporter = Process::spawn(
        "gamelift-exporter",
        Command::new(env!("CARGO_BIN_EXE_gamelift-exporter"))
            .arg("--demo")
            .arg("--config")
            .arg(&exporter_config)
            .arg("--state.path")
            .arg(tmp.join("state.json"))
            .env("RUST_LOG", "info"),
    );
    wait_ready(exporter_port, &mut exporter, Duration::from_secs(60));

    let prometheus_port = support::free_port();
    let prometheus_config = tmp.join("prometheus.yml");
    fs::write(
        &prometheus_config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {rules:?}\n  - {opt_in:?}\n\
             scrape_configs:\n  - job_name: {JOB}\n    static_configs:\n      - targets: ['127.0.0.1:{exporter_port}']\n",
            rules = repo_path(RULES).display().to_string(),
            opt_in = repo_path(OPT_IN_RULES).display().to_string()
        ),
    )
    .unwrap();
    let started = Instant::now();
    let mut prom = Process::spawn(
        "prometheus",
        Command::new(&prometheus)
            .arg(format!("--config.file={}", prometheus_config.display()))
            .arg(format!("--storage.tsdb.path={}", tmp.join("tsdb").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{prometheus_port}"))
            .arg("--log.level=warn"),
    );
    wait_ready(prometheus_port, &mut prom, Duration::from_secs(60));

    // A few scrapes and rule evaluations first; then retry what does not hold
    // yet (e.g. the demo's first interruption) until the deadline.
    std::thread::sleep(Duration::from_secs(12).saturating_sub(started.elapsed()));
    let deadline = started + Duration::from_secs(120);
    let mut failures: Vec<(Check, String)>;
    let mut counts: Vec<usize>;
    loop {
        failures = Vec::new();
        counts = Vec::new();
        for c in &checks {
            match evaluate(prometheus_port, c) {
                Ok(n) => counts.push(n),
                Err(e) => failures.push((c.clone(), e)),
            }
        }
        if failures.is_empty() || Instant::now() >= deadline {
            break;
        }
        for process in [&mut exporter, &mut prom] {
            if let Some(status) = process.exited() {
                panic!(
                    "{} exited ({status}) during the test\n{}",
                    process.name,
                    process.log_tail(40)
                );
            }
        }
        std::thread::sleep(Duration::from_secs(2));
    }

    // Prometheus loaded every rule and evaluates them without error.
    let (code, body) = get(prometheus_port, "/api/v1/rules").expect("GET /api/v1/rules");
    let rules: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let loaded: Vec<&Value> = rules["data"]["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_array().into_iter().flatten())
        .collect();
    let expected = kit_rules().len();
    let mut rule_problems = Vec::new();
    if code != 200 || loaded.len() != expected {
        rule_problems.push(format!(
            "HTTP {code}: {} of {expected} rules loaded: {body}",
            loaded.len()
        ));
    }
    for r in &loaded {
        if r["health"] != "ok" {
            rule_problems.push(format!(
                "rule {} health {} error {}",
                r["name"], r["health"], r["lastError"]
            ));
        }
    }

    if !failures.is_empty() || !rule_problems.is_empty() {
        let (_, targets) = get(prometheus_port, "/api/v1/targets").unwrap_or((0, String::new()));
        let metrics = get(exporter_port, "/metrics").map(|(_, b)| b).unwrap_or_default();
        let families: BTreeSet<&str> = metrics
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| l.split(['{', ' ']).next())
            .collect();
        let mut msg = String::new();
        for (c, e) in &failures {
            msg += &format!(
                "\n* {} [{:?}]\n  query: {}\n  {}\n",
                c.origin,
                c.expect,
                c.query,
                e.chars().take(600).collect::<String>()
            );
        }
        for p in &rule_problems {
            msg += &format!("\n* {p}");
        }
        panic!(
            "{} of {} checks failed after {:?}:{msg}\n\nexporter metric names: {families:?}\n\nprometheus targets: {targets}\n{}\n{}",
            failures.len(),
            checks.len(),
            started.elapsed(),
            exporter.log_tail(40),
            prom.log_tail(40)
        );
    }
    for (c, n) in checks.iter().zip(&counts) {
        println!(
            "ok {:>3} series  {} [{:?}]: {}",
            n,
            c.origin,
            c.expect,
            c.query.replace('\n', " ")
        );
    }
    println!(
        "{} checks passed against Prometheus on 127.0.0.1:{prometheus_port} scraping the demo exporter on 127.0.0.1:{exporter_port} ({} rules healthy) after {:?}",
        checks.len(),
        loaded.len(),
        started.elapsed()
    );
    drop((exporter, prom));
    let _ = fs::remove_dir_all(&tmp);
}
