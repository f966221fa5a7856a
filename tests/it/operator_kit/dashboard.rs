//! The Grafana dashboard (`grafana/gamelift-exporter.json`): valid JSON on the `${datasource}`
//! variable only, unique panel ids on the grid, the label_values variables, only known metrics
//! and variables in its expressions, and panels for what the exporter publishes.

use super::promql::{metric_names, parse_label_values, parse_query_result, substitute, SUBSTITUTIONS};
use super::rules::{kit_rules, Rule};
use super::{read, CAPACITY_METRICS, DASHBOARD, EVENT_METRICS, EXPORTER_METRICS, RULES};
use serde_json::Value;
use std::collections::BTreeSet;

/// The row repeated per location with the fleets' capacity, utilization and status.
const CAPACITY_ROW: &str = "Capacity: $location";
/// The row of the placement and matchmaking events (read from SQS).
const EVENTS_ROW: &str = "Placements and matchmaking";

pub fn load_dashboard() -> Value {
    serde_json::from_str(&read(DASHBOARD)).unwrap_or_else(|e| panic!("{DASHBOARD}: invalid JSON: {e}"))
}

/// All panels, rows included, with the panels nested in collapsed rows.
pub fn all_panels(dashboard: &Value) -> Vec<&Value> {
    fn walk<'a>(panels: &'a Value, out: &mut Vec<&'a Value>) {
        for p in panels.as_array().into_iter().flatten() {
            out.push(p);
            if let Some(nested) = p.get("panels") {
                walk(nested, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

/// The panels of the row titled `title`: nested in it when collapsed, else the panels that follow
/// it up to the next row. `None` without such a row.
pub fn row_panels<'a>(dashboard: &'a Value, title: &str) -> Option<(&'a Value, Vec<&'a Value>)> {
    let top = dashboard["panels"].as_array()?;
    let at = top
        .iter()
        .position(|p| p["type"] == "row" && p["title"] == title)?;
    let row = &top[at];
    let panels = if row["collapsed"] == true {
        row["panels"].as_array().into_iter().flatten().collect()
    } else {
        top[at + 1..].iter().take_while(|p| p["type"] != "row").collect()
    };
    Some((row, panels))
}

pub fn variable_query(var: &Value) -> String {
    match &var["query"] {
        Value::String(s) => s.clone(),
        Value::Object(o) => o.get("query").and_then(Value::as_str).unwrap_or("").to_string(),
        _ => String::new(),
    }
}

/// (where it comes from, PromQL expression)
pub type Located = Vec<(String, String)>;

/// Every panel target and every annotation of the dashboard.
pub fn dashboard_exprs(dashboard: &Value) -> (Located, Located) {
    let mut targets = Vec::new();
    for p in all_panels(dashboard) {
        for t in p["targets"].as_array().into_iter().flatten() {
            let expr = t["expr"].as_str().unwrap_or("").to_string();
            targets.push((
                format!(
                    "panel {} {:?} target {}",
                    p["id"],
                    p["title"].as_str().unwrap_or(""),
                    t["refId"]
                ),
                expr,
            ));
        }
    }
    let mut annotations = Vec::new();
    for a in dashboard["annotations"]["list"].as_array().into_iter().flatten() {
        if let Some(expr) = a["expr"].as_str() {
            annotations.push((
                format!("annotation {:?}", a["name"].as_str().unwrap_or("")),
                expr.to_string(),
            ));
        }
    }
    (targets, annotations)
}

#[test]
fn dashboard_is_structurally_sound() {
    let d = load_dashboard();
    let mut problems: Vec<String> = Vec::new();
    let rules = kit_rules();
    let recorded: BTreeSet<&str> = rules.iter().filter_map(|r| r.record.as_deref()).collect();
    let known_metric = |m: &str| {
        EXPORTER_METRICS.contains(&m)
            || CAPACITY_METRICS.contains(&m)
            || EVENT_METRICS.contains(&m)
            || recorded.contains(m)
    };

    let schema = d["schemaVersion"].as_i64().unwrap_or(0);
    if schema < 36 {
        problems.push(format!("schemaVersion {schema} < 36"));
    }

    // Datasource variable, no hard-coded datasource anywhere.
    let vars = d["templating"]["list"].as_array().cloned().unwrap_or_default();
    let var = |name: &str| vars.iter().find(|v| v["name"] == name).cloned();
    match var("datasource") {
        Some(v) if v["type"] == "datasource" && v["query"] == "prometheus" => {}
        other => problems.push(format!(
            "variable `datasource` must be type datasource, query prometheus: {other:?}"
        )),
    }
    fn check_uids(v: &Value, path: &str, problems: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    let p = format!("{path}/{k}");
                    // The dashboard's own uid (a stable URL) is the one allowed exception.
                    if k == "uid" && path.is_empty() {
                        continue;
                    }
                    if k == "uid" && child != "${datasource}" {
                        problems.push(format!("{p}: uid {child} (only \"${{datasource}}\" allowed)"));
                    }
                    if k == "datasource" {
                        let ok = match child {
                            Value::Object(ds) => {
                                ds.get("uid") == Some(&Value::from("${datasource}"))
                                    && ds.get("type") == Some(&Value::from("prometheus"))
                            }
                            Value::String(s) => s == "${datasource}",
                            _ => false,
                        };
                        if !ok {
                            problems.push(format!("{p}: datasource {child} is not ${{datasource}}"));
                        }
                    }
                    check_uids(child, &p, problems);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    check_uids(child, &format!("{path}/{i}"), problems);
                }
            }
            Value::String(s) if s.contains("${DS_") || s.contains("__inputs") => {
                problems.push(format!("{path}: import-time datasource placeholder {s:?}"));
            }
            _ => {}
        }
    }
    check_uids(&d, "", &mut problems);
    if d.get("__inputs").is_some() {
        problems.push("dashboard has __inputs; use the ${datasource} variable instead".into());
    }

    // Template variables fed by label_values, in this order (each filters the next).
    let names: Vec<&str> = vars.iter().filter_map(|v| v["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "datasource",
            "job",
            "account",
            "home_region",
            "fleet",
            "location",
            "queue",
            "configuration"
        ],
        "the dashboard's variables"
    );
    // The Fleet variable shows names and selects ids: query_result of gamelift_fleet_info and a
    // regex whose named groups take the value from fleet_id and the text from fleet_name
    // (Prometheus sorts labels, and no label sorts between these two).
    match var("fleet") {
        Some(v) => {
            let q = variable_query(&v);
            if parse_query_result(&q).is_none_or(|e| {
                !e.starts_with("gamelift_fleet_info{")
                    || ![
                        "job=~\"$job\"",
                        "account=~\"$account\"",
                        "home_region=~\"$home_region\"",
                    ]
                    .iter()
                    .all(|m| e.contains(m))
            }) {
                problems.push(format!("variable `fleet`: query {q:?}"));
            }
            if v["regex"] != r#"/fleet_id="(?<value>[^"]+)",fleet_name="(?<text>[^"]*)"/"# {
                problems.push(format!("variable `fleet`: regex {}", v["regex"]));
            }
            if v["multi"] != true || v["includeAll"] != true || v["allValue"] != ".*" {
                problems
                    .push("variable `fleet` must be multi-value with includeAll and allValue \".*\"".into());
            }
        }
        None => problems.push("variable `fleet` missing".into()),
    }
    let expected_vars = [
        ("job", "up", "job"),
        ("account", "gamelift_fleet_info", "account"),
        ("home_region", "gamelift_fleet_info", "home_region"),
        ("location", "gamelift_game_sessions", "location"),
        ("queue", "gamelift_placements_total", "queue"),
        (
            "configuration",
            "gamelift_matchmaking_events_total",
            "configuration",
        ),
    ];
    for (name, metric, label) in expected_vars {
        let Some(v) = var(name) else {
            problems.push(format!("variable `{name}` missing"));
            continue;
        };
        let q = variable_query(&v);
        match parse_label_values(&q) {
            Some((sel, l)) if sel.starts_with(metric) && l == label => {}
            _ => problems.push(format!(
                "variable `{name}`: query {q:?} is not label_values({metric}..., {label})"
            )),
        }
        if v["type"] != "query" || v["multi"] != true || v["includeAll"] != true || v["allValue"] != ".*" {
            problems.push(format!(
                "variable `{name}` must be a multi-value query variable with includeAll and allValue \".*\""
            ));
        }
        if v["datasource"]["uid"] != "${datasource}" {
            problems.push(format!("variable `{name}` does not use ${{datasource}}"));
        }
    }

    // Panels: unique ids, datasource, targets, grid.
    let panels = all_panels(&d);
    let mut ids = BTreeSet::new();
    let mut rows = 0;
    for p in &panels {
        let title = p["title"].as_str().unwrap_or("").to_string();
        match p["id"].as_i64() {
            Some(id) if ids.insert(id) => {}
            Some(id) => problems.push(format!("duplicate panel id {id} ({title})")),
            None => problems.push(format!("panel {title:?} has no numeric id")),
        }
        let g = &p["gridPos"];
        let (x, w) = (g["x"].as_i64().unwrap_or(-1), g["w"].as_i64().unwrap_or(-1));
        if x < 0 || w <= 0 || x + w > 24 || g["h"].as_i64().unwrap_or(0) <= 0 || g["y"].as_i64().is_none() {
            problems.push(format!("panel {title:?}: bad gridPos {g}"));
        }
        if p["type"] == "row" {
            rows += 1;
            continue;
        }
        if p["datasource"]["uid"] != "${datasource}" || p["datasource"]["type"] != "prometheus" {
            problems.push(format!(
                "panel {title:?}: datasource must be {{type: prometheus, uid: ${{datasource}}}}"
            ));
        }
        let targets = p["targets"].as_array().cloned().unwrap_or_default();
        if targets.is_empty() {
            problems.push(format!("panel {title:?}: no targets"));
        }
        for t in &targets {
            if t["expr"].as_str().is_none_or(|e| e.trim().is_empty()) {
                problems.push(format!("panel {title:?}: target {} has no expr", t["refId"]));
            }
        }
        if p["fieldConfig"]["defaults"]["unit"].is_null()
            && !["table", "state-timeline"].contains(&p["type"].as_str().unwrap_or(""))
        {
            problems.push(format!("panel {title:?}: no unit"));
        }
    }
    let row_titles: Vec<&str> = panels
        .iter()
        .filter(|p| p["type"] == "row")
        .filter_map(|p| p["title"].as_str())
        .collect();
    for wanted in [
        "Overview",
        "Sessions",
        "Occupancy",
        "Interruptions",
        "Fleet events",
        EVENTS_ROW,
        "Fleets",
        "Exporter health",
    ] {
        if !row_titles.contains(&wanted) {
            problems.push(format!("row {wanted:?} missing (rows: {row_titles:?})"));
        }
    }

    // Expressions: only known variables, only known metrics.
    let (targets, annotations) = dashboard_exprs(&d);
    if annotations.is_empty() {
        problems.push("no annotation for interruptions".into());
    }
    let mut all = targets.clone();
    all.extend(annotations.iter().cloned());
    for v in &vars {
        if v["type"] == "query" {
            all.push((format!("variable {}", v["name"]), variable_query(v)));
        }
    }
    let allowed_vars = SUBSTITUTIONS.iter().map(|(v, _)| *v).collect::<Vec<_>>();
    for (origin, expr) in &all {
        let substituted = substitute(expr);
        if substituted.contains('$') {
            problems.push(format!(
                "{origin}: unknown variable in {expr:?} (known: {allowed_vars:?})"
            ));
        }
        for m in metric_names(expr) {
            if !known_metric(&m) {
                problems.push(format!("{origin}: unknown metric {m} in {expr:?}"));
            }
        }
    }
    for expr in rules.iter().map(|r| &r.expr) {
        for m in metric_names(expr) {
            if !known_metric(&m) {
                problems.push(format!("{RULES}: unknown metric {m} in {expr:?}"));
            }
        }
    }
    // Every target selects the Job variable, and the series with an account label the Account
    // variable.
    for (origin, expr) in targets.iter().chain(annotations.iter()) {
        for m in metric_names(expr) {
            if !expr.contains(&format!("{m}{{job=~\"$job\"")) {
                problems.push(format!("{origin}: {m} does not select job=~\"$job\": {expr:?}"));
            }
        }
    }
    // Links: the runbooks, from the dashboard and from every panel that names an alert.
    if !d["links"].as_array().is_some_and(|l| {
        l.iter()
            .any(|l| l["title"] == "Runbooks" && l["url"] == super::RUNBOOK_BASE_URL)
    }) {
        problems.push(format!("no dashboard link to the runbooks: {}", d["links"]));
    }
    for p in &panels {
        let description = p["description"].as_str().unwrap_or("");
        for alert in rules.iter().filter_map(|r| r.alert.as_deref()) {
            let url = format!("{}#{}", super::RUNBOOK_BASE_URL, alert.to_lowercase());
            let mentioned = description
                .split(|c: char| !c.is_alphanumeric())
                .any(|w| w == alert);
            if mentioned
                && !p["links"]
                    .as_array()
                    .is_some_and(|l| l.iter().any(|l| l["url"] == url))
            {
                problems.push(format!(
                    "panel {:?} names {alert} without a link to its runbook",
                    p["title"]
                ));
            }
        }
    }
    // The minimum Grafana version is stated.
    if d["__requires"][0]
        != serde_json::json!({"type": "grafana", "id": "grafana", "name": "Grafana", "version": "10.4.0"})
    {
        problems.push(format!("__requires: {}", d["__requires"]));
    }
    // The budget panel tells the budgets apart: per account, Region and operation.
    match panels.iter().find(|p| p["title"] == "Request budget in force") {
        Some(p) => {
            for t in p["targets"].as_array().into_iter().flatten() {
                let legend = t["legendFormat"].as_str().unwrap_or("");
                if !["{{account}}", "{{region}}", "{{operation}}"]
                    .iter()
                    .all(|l| legend.contains(l))
                {
                    problems.push(format!("budget panel legend {legend:?}"));
                }
            }
            if !p["description"]
                .as_str()
                .unwrap_or("")
                .contains("aws.quota_share")
            {
                problems.push("budget panel description predates per-operation budgets".into());
            }
        }
        None => problems.push("no panel \"Request budget in force\"".into()),
    }
    // Ratios come from the recording rules.
    for rule in [
        "fleet_location:gamelift_game_session_occupancy:ratio",
        "fleet_location:gamelift_game_session_interrupted:ratio10m",
        "fleet_location:gamelift_fleet_player_sessions:ratio",
        "fleet_location:gamelift_fleet_server_processes_in_use:ratio",
    ] {
        if !targets.iter().any(|(_, e)| e.contains(rule)) {
            problems.push(format!("no panel uses recording rule {rule}"));
        }
    }
    // What the live and full passes publish has panels: fleet events by code, sessions ended,
    // the age of the last full pass, the request budget in force, pass durations.
    for metric in [
        "gamelift_fleet_events_total",
        "gamelift_game_sessions_ended_total",
        "gamelift_exporter_fleet_last_full_pass_timestamp_seconds",
        "gamelift_exporter_request_budget_per_second",
        "gamelift_exporter_fleet_pass_duration_seconds",
        "gamelift_exporter_state_write_failures_total",
        "gamelift_exporter_config_last_reload_successful",
    ] {
        if !targets.iter().any(|(_, e)| metric_names(e).contains(metric)) {
            problems.push(format!("no panel shows {metric}"));
        }
    }
    if !targets
        .iter()
        .any(|(_, e)| e.contains("gamelift_fleet_events_total") && e.contains("by (event_code)"))
    {
        problems.push("no panel shows fleet events by event_code".into());
    }
    if !annotations
        .iter()
        .any(|(_, e)| e.contains("event_code=\"INSTANCE_INTERRUPTED\""))
    {
        problems.push("no annotation for the spot two-minute notice".into());
    }

    capacity_row_problems(&d, &rules, &mut problems);
    events_row_problems(&d, &rules, &mut problems);

    assert!(problems.is_empty(), "{DASHBOARD}:\n{}", problems.join("\n"));
    println!(
        "{DASHBOARD}: {} panels in {rows} rows, {} targets, ids unique",
        panels.len() - rows,
        targets.len()
    );
}

/// The capacity row: repeated per location, every target on its `$location`, and panels for each
/// capacity series: desired, active and idle instances against the maximum, both utilization
/// ratios, the status whose state-set value is 1, and the container groups.
fn capacity_row_problems(d: &Value, rules: &[Rule], problems: &mut Vec<String>) {
    let Some((row, panels)) = row_panels(d, CAPACITY_ROW) else {
        problems.push(format!("row {CAPACITY_ROW:?} missing"));
        return;
    };
    if row["repeat"] != "location" {
        problems.push(format!(
            "row {CAPACITY_ROW:?}: repeat {} (one row per location: \"location\")",
            row["repeat"]
        ));
    }
    let exprs: Vec<(String, &str)> = panels
        .iter()
        .flat_map(|p| {
            p["targets"].as_array().into_iter().flatten().map(move |t| {
                (
                    format!(
                        "panel {:?} target {}",
                        p["title"].as_str().unwrap_or(""),
                        t["refId"]
                    ),
                    t["expr"].as_str().unwrap_or(""),
                )
            })
        })
        .collect();
    if exprs.is_empty() {
        problems.push(format!("row {CAPACITY_ROW:?} has no panel"));
    }
    for (origin, expr) in &exprs {
        if !expr.contains("location=~\"$location\"") {
            problems.push(format!(
                "{CAPACITY_ROW}: {origin} does not select location=~\"$location\": {expr:?}"
            ));
        }
    }
    // A metric counts as shown when a target uses it, or a recording rule the target uses does.
    let shows = |metric: &str, expr: &str| {
        let used = metric_names(expr);
        used.contains(metric)
            || rules.iter().any(|r| {
                r.record.as_deref().is_some_and(|rec| used.contains(rec))
                    && metric_names(&r.expr).contains(metric)
            })
    };
    for metric in CAPACITY_METRICS {
        if !exprs.iter().any(|(_, e)| shows(metric, e)) {
            problems.push(format!("{CAPACITY_ROW}: no panel shows {metric}"));
        }
    }
    for state in ["DESIRED", "ACTIVE", "IDLE", "MAXIMUM"] {
        if !exprs
            .iter()
            .any(|(_, e)| metric_names(e).contains("gamelift_fleet_instances") && e.contains(state))
        {
            problems.push(format!("{CAPACITY_ROW}: no panel shows {state} instances"));
        }
    }
    // State sets: the panel shows the one status whose value is 1.
    for metric in ["gamelift_fleet_status", "gamelift_fleet_location_status"] {
        if !exprs
            .iter()
            .any(|(_, e)| metric_names(e).contains(metric) && e.contains("== 1"))
        {
            problems.push(format!(
                "{CAPACITY_ROW}: no panel selects the {metric} series at 1 (`== 1`)"
            ));
        }
    }
}

/// Each target of `panels` as (where, expr).
fn panel_exprs<'a>(panels: &[&'a Value]) -> Vec<(String, &'a str)> {
    panels
        .iter()
        .flat_map(|p| {
            p["targets"].as_array().into_iter().flatten().map(move |t| {
                (
                    format!(
                        "panel {:?} target {}",
                        p["title"].as_str().unwrap_or(""),
                        t["refId"]
                    ),
                    t["expr"].as_str().unwrap_or(""),
                )
            })
        })
        .collect()
}

/// Whether `expr` shows `metric`: uses it, or uses a recording rule that does.
fn shows(rules: &[Rule], metric: &str, expr: &str) -> bool {
    let used = metric_names(expr);
    used.contains(metric)
        || rules.iter().any(|r| {
            r.record.as_deref().is_some_and(|rec| used.contains(rec))
                && metric_names(&r.expr).contains(metric)
        })
}

/// The placement and matchmaking row: a panel for every event metric (the histograms by their
/// buckets), placement rate per queue and outcome, the failure ratio from the recording rule the
/// alert mirrors, placement p50/p95/p99 and matchmaking p50/p95 from the histograms' buckets,
/// the event age; queue and configuration series filtered by their variables.
fn events_row_problems(d: &Value, rules: &[Rule], problems: &mut Vec<String>) {
    let Some((_, panels)) = row_panels(d, EVENTS_ROW) else {
        problems.push(format!("row {EVENTS_ROW:?} missing"));
        return;
    };
    let exprs = panel_exprs(&panels);
    // The histograms are shown by their buckets; their counts are the placements and tickets the
    // rate panels show already.
    for metric in EVENT_METRICS
        .iter()
        .filter(|m| !m.ends_with("_sum") && !m.ends_with("_count"))
    {
        if !exprs.iter().any(|(_, e)| shows(rules, metric, e)) {
            problems.push(format!("{EVENTS_ROW}: no panel shows {metric}"));
        }
    }
    let wanted: &[(&str, &[&str])] = &[
        (
            "placements per queue and outcome",
            &["gamelift_placements_total", "by (queue, outcome)"],
        ),
        (
            "the failed or timed-out share per queue",
            &["queue:gamelift_placements_failed_or_timed_out:ratio15m"],
        ),
        (
            "placement p50",
            &[
                "histogram_quantile(0.5,",
                "gamelift_placement_duration_seconds_bucket",
                "by (queue, le)",
            ],
        ),
        (
            "placement p95",
            &[
                "histogram_quantile(0.95,",
                "gamelift_placement_duration_seconds_bucket",
                "by (queue, le)",
            ],
        ),
        (
            "placement p99",
            &[
                "histogram_quantile(0.99,",
                "gamelift_placement_duration_seconds_bucket",
                "by (queue, le)",
            ],
        ),
        (
            "matchmaking p50",
            &[
                "histogram_quantile(0.5,",
                "gamelift_matchmaking_duration_seconds_bucket",
                "by (configuration, le)",
            ],
        ),
        (
            "matchmaking p95",
            &[
                "histogram_quantile(0.95,",
                "gamelift_matchmaking_duration_seconds_bucket",
                "by (configuration, le)",
            ],
        ),
        ("the event age", &["gamelift_exporter_event_age_seconds"]),
        (
            "sessions started against placements (GameLiftEventsStalled)",
            &["instance:gamelift_game_sessions_started:increase15m"],
        ),
    ];
    for (what, parts) in wanted {
        if !exprs.iter().any(|(_, e)| parts.iter().all(|p| e.contains(p))) {
            problems.push(format!("{EVENTS_ROW}: no panel shows {what} ({parts:?})"));
        }
    }
    // The latency panels show the fulfilled placements and succeeded tickets: a timed-out
    // placement lasts the queue's timeout and would make the quantiles a constant.
    for (origin, e) in &exprs {
        if e.contains("histogram_quantile(")
            && !(e.contains("outcome=\"fulfilled\"") || e.contains("outcome=\"succeeded\""))
        {
            problems.push(format!(
                "{EVENTS_ROW}: {origin} mixes outcomes in a quantile: {e:?}"
            ));
        }
        let by_queue = [
            "gamelift_placements_total",
            "gamelift_placement_duration_seconds_bucket",
        ]
        .iter()
        .any(|m| metric_names(e).contains(*m))
            && !e.contains("by (instance)");
        if by_queue && !e.contains("queue=~\"$queue\"") {
            problems.push(format!(
                "{EVENTS_ROW}: {origin} does not select queue=~\"$queue\": {e:?}"
            ));
        }
        let by_configuration = metric_names(e)
            .iter()
            .any(|m| m.starts_with("gamelift_matchmaking_"));
        if by_configuration && !e.contains("configuration=~\"$configuration\"") {
            problems.push(format!(
                "{EVENTS_ROW}: {origin} does not select configuration=~\"$configuration\": {e:?}"
            ));
        }
    }
    // The ratio panel's dashed line is the alert's threshold.
    let ratio = panels.iter().find(|p| {
        p["targets"].as_array().into_iter().flatten().any(|t| {
            t["expr"]
                .as_str()
                .is_some_and(|e| e.contains("queue:gamelift_placements_failed_or_timed_out:ratio15m"))
        })
    });
    let steps = ratio.map(|p| p["fieldConfig"]["defaults"]["thresholds"]["steps"].clone());
    if !steps
        .as_ref()
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|s| s["value"] == 0.1))
    {
        problems.push(format!(
            "{EVENTS_ROW}: the ratio panel has no threshold at 0.1 (GameLiftPlacementFailureRatioHigh): {steps:?}"
        ));
    }
}
