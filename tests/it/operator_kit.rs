//! Checks of the operator kit (issue 4): Prometheus rules and their unit
//! tests, the Grafana dashboard, the systemd units, and an end-to-end run of a
//! real Prometheus scraping the exporter in demo mode that evaluates every
//! dashboard and rule expression.
//!
//! External tools: `promtool` and `prometheus` (Debian package `prometheus`),
//! `systemd-analyze` (package `systemd`). When one is missing the test prints
//! `SKIPPED: <reason>` and passes, unless the environment variable `CI` is set:
//! CI must never skip, so there a missing tool is a failure.
//!
//! Only std and serde_json are used: the rules file is scanned line by line
//! (it is written in a plain style: `- record:`/`- alert:` items whose `expr:`
//! is either on one line or a `|` block), and HTTP is spoken by hand.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const RULES: &str = "config/prometheus/gamelift-exporter.rules.yml";
const RULE_TESTS: &str = "config/prometheus/gamelift-exporter.rules.test.yml";
const PROMETHEUS_EXAMPLE: &str = "config/prometheus/prometheus.yml";
const DASHBOARD: &str = "grafana/gamelift-exporter.json";
const UNITS: [&str; 2] = [
    "systemd/gamelift-exporter.service",
    "systemd/gamelift-exporter@.service",
];
/// Highest acceptable `systemd-analyze security` exposure level.
const MAX_EXPOSURE: f64 = 2.0;
/// Scrape job name the rules (GameLiftExporterAbsent) and docs rely on.
const JOB: &str = "gamelift-exporter";

/// Metric names of the exporter's contract. Every metric the dashboard and the
/// rules use must be one of these or a recording rule of the rules file.
const EXPORTER_METRICS: &[&str] = &[
    "gamelift_game_sessions",
    "gamelift_game_session_players",
    "gamelift_game_session_player_slots",
    "gamelift_game_session_open_slots",
    "gamelift_game_sessions_by_occupancy",
    "gamelift_game_session_interruptions_total",
    "gamelift_game_session_last_interruption_timestamp_seconds",
    "gamelift_fleet_info",
    "gamelift_exporter_fleet_up",
    "gamelift_exporter_fleet_last_success_timestamp_seconds",
    "gamelift_exporter_sweep_duration_seconds",
    "gamelift_exporter_api_requests_total",
    "gamelift_exporter_api_request_failures_total",
    "gamelift_exporter_build_info",
];

/// Dashboard variables and what the end-to-end test substitutes for them.
const SUBSTITUTIONS: &[(&str, &str)] = &[
    ("$__rate_interval", "10s"),
    ("$__interval", "2s"),
    ("$__range", "1m"),
    ("$home_region", ".*"),
    ("$fleet", ".*"),
    ("$location", ".*"),
];

// ---------------------------------------------------------------------------
// helpers: files, tools, skipping

fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn read(rel: &str) -> String {
    let p = repo_path(rel);
    fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// Finds an executable on PATH (or at one of `fallbacks`). When it is missing,
/// prints `SKIPPED` and returns None outside CI, and panics in CI.
fn require_tool(name: &str, fallbacks: &[&str], test: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(name))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let found = on_path
        .into_iter()
        .chain(fallbacks.iter().map(PathBuf::from))
        .find(|p| is_executable(p));
    if found.is_none() {
        let reason = format!("{test}: `{name}` not found (apt-get install -y prometheus systemd)");
        if in_ci() {
            panic!("{reason}; CI is set, so this test must not be skipped");
        }
        eprintln!("SKIPPED: {reason}");
    }
    found
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

fn describe(cmd: &str, out: &Output) -> String {
    format!(
        "`{cmd}` exited with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir =
            std::env::temp_dir().join(format!("gamelift-exporter-{tag}-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        TempDir(dir)
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------------------
// helpers: the rules file, scanned line by line

#[derive(Debug, Clone)]
struct Rule {
    /// "record" or "alert"
    kind: &'static str,
    name: String,
    expr: String,
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

fn strip_comment(line: &str) -> &str {
    // Good enough for this file: `#` only starts comments at the start of a line.
    if line.trim_start().starts_with('#') {
        ""
    } else {
        line
    }
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    if v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') {
        v[1..v.len() - 1].replace("''", "'")
    } else if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        v[1..v.len() - 1].replace("\\\"", "\"").replace("\\\\", "\\")
    } else {
        v.to_string()
    }
}

fn parse_rules(text: &str) -> Vec<Rule> {
    let lines: Vec<&str> = text.lines().collect();
    let mut rules = Vec::new();
    let mut current: Option<(&'static str, String, usize)> = None; // kind, name, item indent
    let mut i = 0;
    while i < lines.len() {
        let line = strip_comment(lines[i]);
        let t = line.trim();
        if let Some(name) = t.strip_prefix("- record:") {
            current = Some(("record", unquote(name), indent_of(line)));
        } else if let Some(name) = t.strip_prefix("- alert:") {
            current = Some(("alert", unquote(name), indent_of(line)));
        } else if let (Some(v), Some((kind, name, item_indent))) = (t.strip_prefix("expr:"), current.as_ref())
        {
            let key_indent = indent_of(line);
            assert!(
                key_indent > *item_indent,
                "unexpected `expr:` layout at line {}",
                i + 1
            );
            let v = v.trim();
            let expr = if v.starts_with('|') || v.starts_with('>') {
                let mut block = Vec::new();
                while i + 1 < lines.len()
                    && (lines[i + 1].trim().is_empty() || indent_of(lines[i + 1]) > key_indent)
                {
                    i += 1;
                    block.push(lines[i]);
                }
                let sep = if v.starts_with('>') { " " } else { "\n" };
                block
                    .iter()
                    .map(|l| l.trim())
                    .collect::<Vec<_>>()
                    .join(sep)
                    .trim()
                    .to_string()
            } else {
                unquote(v)
            };
            assert!(!expr.is_empty(), "{kind} {name}: empty expr");
            rules.push(Rule {
                kind,
                name: name.clone(),
                expr,
            });
            current = None;
        }
        i += 1;
    }
    rules
}

// ---------------------------------------------------------------------------
// helpers: PromQL text

/// Splits an expression at its top-level comparison (`== != > < >= <=`) and
/// set (`and or unless`) operators and returns the operands, with binary
/// operator modifiers (`bool`, `on(..)`, `ignoring(..)`, `group_left(..)`,
/// `group_right(..)`) removed. `a > 0` gives `["a", "0"]`; an expression
/// without such operators gives itself.
fn comparison_operands(expr: &str) -> Vec<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut depth = 0i32;
    let mut cuts: Vec<(usize, usize)> = Vec::new(); // operator [start, end)
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' | '`' => {
                i = after_quoted(&chars, i);
                continue;
            }
            '(' | '{' | '[' => depth += 1,
            ')' | '}' | ']' => depth -= 1,
            _ if depth == 0 => {
                let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
                if ["==", "!=", ">=", "<="].contains(&two.as_str()) {
                    cuts.push((i, i + 2));
                    i += 2;
                    continue;
                }
                if c == '>' || c == '<' {
                    cuts.push((i, i + 1));
                    i += 1;
                    continue;
                }
                let starts_word = i == 0 || !is_word_char(chars[i - 1]);
                let set_op = ["and", "or", "unless"].into_iter().find(|w| {
                    let end = i + w.len();
                    starts_word
                        && end <= chars.len()
                        && chars[i..end].iter().copied().eq(w.chars())
                        && chars.get(end).is_none_or(|c| !is_word_char(*c))
                });
                if let Some(word) = set_op {
                    cuts.push((i, i + word.len()));
                    i += word.len();
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    let mut parts = Vec::new();
    let mut start = 0;
    for (s, e) in cuts
        .iter()
        .copied()
        .chain(std::iter::once((chars.len(), chars.len())))
    {
        let part: String = chars[start..s].iter().collect();
        parts.push(strip_modifiers(part.trim()).to_string());
        start = e;
    }
    parts.into_iter().filter(|p| !p.is_empty()).collect()
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

fn strip_modifiers(mut s: &str) -> &str {
    loop {
        let before = s;
        for word in ["bool", "on", "ignoring", "group_left", "group_right"] {
            if let Some(rest) = s.strip_prefix(word) {
                if rest.starts_with(|c: char| !is_word_char(c)) || rest.is_empty() {
                    let rest = rest.trim_start();
                    s = if rest.starts_with('(') {
                        match rest.find(')') {
                            Some(end) => rest[end + 1..].trim_start(),
                            None => rest,
                        }
                    } else {
                        rest
                    };
                }
            }
        }
        if s == before {
            return s;
        }
    }
}

/// The index just past the string literal that opens at `start` (PromQL's `"`, `'` or `` ` ``,
/// with backslash escapes).
fn after_quoted(chars: &[char], start: usize) -> usize {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// Identifiers in a PromQL expression that look like metric names: outside
/// strings, label matchers, grouping clauses and function calls.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    let mut brace = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' | '`' => {
                i = after_quoted(&chars, i);
                continue;
            }
            '{' => brace += 1,
            '}' => brace -= 1,
            _ if brace == 0 && (c.is_ascii_alphabetic() || c == '_') => {
                let start = i;
                while i < chars.len() && is_word_char(chars[i]) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let next = chars[i..].iter().find(|c| !c.is_whitespace());
                if (word.starts_with("gamelift_") || word.contains(':')) && next != Some(&'(') {
                    names.insert(word);
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    names
}

fn substitute(expr: &str) -> String {
    let mut out = expr.to_string();
    for (var, value) in SUBSTITUTIONS {
        out = out.replace(var, value);
    }
    out
}

// ---------------------------------------------------------------------------
// helpers: the dashboard

fn load_dashboard() -> Value {
    serde_json::from_str(&read(DASHBOARD)).unwrap_or_else(|e| panic!("{DASHBOARD}: invalid JSON: {e}"))
}

/// All panels, rows included, with the panels nested in collapsed rows.
fn all_panels(dashboard: &Value) -> Vec<&Value> {
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

fn variable_query(var: &Value) -> String {
    match &var["query"] {
        Value::String(s) => s.clone(),
        Value::Object(o) => o.get("query").and_then(Value::as_str).unwrap_or("").to_string(),
        _ => String::new(),
    }
}

/// `label_values(metric_selector, label)` -> (metric_selector, label)
fn parse_label_values(q: &str) -> Option<(String, String)> {
    let inner = q.trim().strip_prefix("label_values(")?.strip_suffix(')')?;
    let comma = inner.rfind(',')?;
    let (sel, label) = (inner[..comma].trim(), inner[comma + 1..].trim());
    (!sel.is_empty() && !label.is_empty()).then(|| (sel.to_string(), label.to_string()))
}

/// (where it comes from, PromQL expression)
type Located = Vec<(String, String)>;

/// Every panel target and every annotation of the dashboard.
fn dashboard_exprs(dashboard: &Value) -> (Located, Located) {
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

// ---------------------------------------------------------------------------
// (a) promtool

#[test]
fn rules_pass_promtool_check_and_unit_tests() {
    let Some(promtool) = require_tool(
        "promtool",
        &["/usr/bin/promtool"],
        "rules_pass_promtool_check_and_unit_tests",
    ) else {
        return;
    };
    let checks: [(&str, &str); 3] = [
        ("check rules", RULES),
        ("test rules", RULE_TESTS),
        ("check config", PROMETHEUS_EXAMPLE),
    ];
    for (sub, file) in checks {
        let mut args: Vec<&str> = sub.split(' ').collect();
        let path = repo_path(file);
        let path_s = path.to_str().unwrap().to_string();
        args.push(&path_s);
        let out = run(Command::new(&promtool)
            .args(&args)
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

// ---------------------------------------------------------------------------
// (b) alert unit-test coverage

#[test]
fn every_alert_has_unit_tests_that_fire_and_stay_silent() {
    let alerts: Vec<String> = parse_rules(&read(RULES))
        .into_iter()
        .filter(|r| r.kind == "alert")
        .map(|r| r.name)
        .collect();
    assert!(alerts.len() >= 7, "expected at least 7 alerts, found {alerts:?}");

    // alert_rule_test items: find each `alertname:` key, the list item it
    // belongs to (the closest `- ` line above at a lower indentation), and
    // that item's `exp_alerts:`.
    let tests = read(RULE_TESTS);
    let lines: Vec<&str> = tests.lines().map(strip_comment).collect();
    let mut firing: BTreeMap<String, usize> = BTreeMap::new();
    let mut silent: BTreeMap<String, usize> = BTreeMap::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim().trim_start_matches("- ");
        let Some(name) = t.strip_prefix("alertname:") else {
            continue;
        };
        let name = unquote(name);
        let key_indent = indent_of(line) + if line.trim_start().starts_with("- ") { 2 } else { 0 };
        let item_start = (0..=i)
            .rev()
            .find(|&j| lines[j].trim_start().starts_with("- ") && indent_of(lines[j]) + 2 == key_indent)
            .unwrap_or_else(|| panic!("{RULE_TESTS}:{}: alertname outside a list item", i + 1));
        let item_end = (i + 1..lines.len())
            .find(|&j| !lines[j].trim().is_empty() && indent_of(lines[j]) < key_indent)
            .unwrap_or(lines.len());
        let exp = (item_start..item_end)
            .find(|&j| {
                indent_of(lines[j])
                    + if lines[j].trim_start().starts_with("- ") {
                        2
                    } else {
                        0
                    }
                    == key_indent
                    && lines[j]
                        .trim()
                        .trim_start_matches("- ")
                        .starts_with("exp_alerts:")
            })
            .unwrap_or_else(|| panic!("{RULE_TESTS}:{}: {name} has no explicit exp_alerts", i + 1));
        let value = lines[exp]
            .trim()
            .trim_start_matches("- ")
            .trim_start_matches("exp_alerts:")
            .trim();
        if value == "[]" {
            *silent.entry(name).or_default() += 1;
        } else {
            assert!(
                value.is_empty(),
                "{RULE_TESTS}:{}: unexpected exp_alerts value {value:?}",
                exp + 1
            );
            let has_alert = (exp + 1..item_end).any(|j| lines[j].trim().starts_with("- exp_labels:"));
            assert!(
                has_alert,
                "{RULE_TESTS}:{}: exp_alerts of {name} lists no alert",
                exp + 1
            );
            *firing.entry(name).or_default() += 1;
        }
    }
    let mut missing = Vec::new();
    for alert in &alerts {
        if !firing.contains_key(alert) {
            missing.push(format!("{alert}: no case where it fires"));
        }
        if !silent.contains_key(alert) {
            missing.push(format!("{alert}: no case where it stays silent (exp_alerts: [])"));
        }
    }
    for name in firing.keys().chain(silent.keys()) {
        if !alerts.contains(name) {
            missing.push(format!("{name}: tested but not defined in {RULES}"));
        }
    }
    assert!(
        missing.is_empty(),
        "alert unit-test coverage:\n{}",
        missing.join("\n")
    );

    // The restart case of the interruption alert must stay covered.
    assert!(
        tests.contains("exporter restart does not fire interruption alerts"),
        "the exporter-restart test case of GameLiftSpotInterruptions is gone"
    );
    println!("alerts covered (fire/silent): {firing:?} / {silent:?}");
}

// ---------------------------------------------------------------------------
// (c) dashboard structure

#[test]
fn dashboard_is_structurally_sound() {
    let d = load_dashboard();
    let mut problems: Vec<String> = Vec::new();
    let recorded: BTreeSet<String> = parse_rules(&read(RULES))
        .into_iter()
        .filter(|r| r.kind == "record")
        .map(|r| r.name)
        .collect();
    let known_metric = |m: &str| EXPORTER_METRICS.contains(&m) || recorded.contains(m);

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

    // Template variables fed by label_values.
    let expected_vars = [
        ("home_region", "gamelift_fleet_info", "home_region"),
        ("fleet", "gamelift_fleet_info", "fleet_id"),
        ("location", "gamelift_game_sessions", "location"),
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
    all.extend(annotations);
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
    for (_, expr) in parse_rules(&read(RULES))
        .iter()
        .map(|r| (r.name.clone(), r.expr.clone()))
    {
        for m in metric_names(&expr) {
            if !known_metric(&m) {
                problems.push(format!("{RULES}: unknown metric {m} in {expr:?}"));
            }
        }
    }
    // Ratios come from the recording rules.
    for rule in [
        "fleet_location:gamelift_game_session_occupancy:ratio",
        "fleet_location:gamelift_game_session_interrupted:ratio15m",
    ] {
        if !targets.iter().any(|(_, e)| e.contains(rule)) {
            problems.push(format!("no panel uses recording rule {rule}"));
        }
    }

    assert!(problems.is_empty(), "{DASHBOARD}:\n{}", problems.join("\n"));
    println!(
        "{DASHBOARD}: {} panels in {rows} rows, {} targets, ids unique",
        panels.len() - rows,
        targets.len()
    );
}

// ---------------------------------------------------------------------------
// (d) systemd units

/// Copies a directory tree; symlinks are copied as symlinks.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap_or_else(|e| panic!("read_dir {}: {e}", from.display())) {
        let entry = entry.unwrap();
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let ty = entry.file_type().unwrap();
        if ty.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&src).unwrap(), &dst).unwrap();
        } else if ty.is_dir() {
            copy_tree(&src, &dst);
        } else {
            fs::copy(&src, &dst).unwrap();
        }
    }
}

fn write_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, "#!/bin/sh\nexit 0\n").unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// Absolute paths of the executables a unit's Exec*= lines run.
fn unit_executables(unit: &str) -> Vec<String> {
    unit.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && l.starts_with("Exec"))
        .filter_map(|l| l.split_once('=').map(|(_, v)| v.trim()))
        .filter_map(|v| {
            v.trim_start_matches(['-', '@', ':', '+', '!'])
                .split_whitespace()
                .next()
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn systemd_units_are_hardened_and_verify() {
    let Some(analyze) = require_tool(
        "systemd-analyze",
        &["/usr/bin/systemd-analyze", "/bin/systemd-analyze"],
        "systemd_units_are_hardened_and_verify",
    ) else {
        return;
    };

    // `verify` runs on a scratch root (--root): the unit's binaries are
    // stand-ins there, so it passes before the exporter is installed, and the
    // distribution's units (sysinit.target, ...) are copied in for the default
    // dependencies. Real problems (unknown keys, bad values, missing
    // executables) are printed as warnings, so the output must be empty.
    let root = TempDir::new("systemd-root");
    let system_units = ["/usr/lib/systemd/system", "/lib/systemd/system"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.join("sysinit.target").exists())
        .expect("no /usr/lib/systemd/system/sysinit.target: is the systemd package installed?");
    copy_tree(
        system_units,
        &root.path().join(system_units.strip_prefix("/").unwrap()),
    );
    let etc = root.path().join("etc/systemd/system");
    fs::create_dir_all(&etc).unwrap();

    let mut report = Vec::new();
    for rel in UNITS {
        let text = read(rel);
        let name = Path::new(rel).file_name().unwrap().to_str().unwrap();

        // The contract of the units.
        let config = if name.contains('@') {
            "/etc/gamelift-exporter/%i.toml"
        } else {
            "/etc/gamelift-exporter/gamelift-exporter.toml"
        };
        for line in [
            format!("ExecStart=/usr/local/bin/gamelift-exporter --config {config}"),
            "ExecReload=/bin/kill -HUP $MAINPID".to_string(),
            "Restart=on-failure".to_string(),
            "DynamicUser=yes".to_string(),
            "CapabilityBoundingSet=".to_string(),
            "ProtectSystem=strict".to_string(),
            "SystemCallFilter=@system-service".to_string(),
            "UMask=0077".to_string(),
        ] {
            assert!(text.lines().any(|l| l.trim() == line), "{rel}: missing `{line}`");
        }
        assert!(
            text.contains("LoadCredential=aws-credentials:")
                && text.contains("AWS_SHARED_CREDENTIALS_FILE=%d/aws-credentials"),
            "{rel}: the credentials how-to (LoadCredential/AWS_SHARED_CREDENTIALS_FILE) is missing"
        );

        // Exposure.
        let unit_path = repo_path(rel);
        let out = run(Command::new(&analyze)
            .arg("security")
            .arg("--offline=yes")
            .arg(&unit_path));
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{}",
            describe(&format!("systemd-analyze security --offline=yes {rel}"), &out)
        );
        let line = stdout
            .lines()
            .find(|l| l.contains("Overall exposure level"))
            .unwrap_or_else(|| panic!("no exposure level in:\n{stdout}"));
        let level: f64 = line
            .rsplit_once(':')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("cannot parse exposure from {line:?}"));
        assert!(
            level <= MAX_EXPOSURE,
            "{rel}: exposure {level} > {MAX_EXPOSURE}\n{stdout}"
        );

        // Verify.
        fs::write(etc.join(name), &text).unwrap();
        for exe in unit_executables(&text) {
            assert!(
                exe.starts_with('/'),
                "{rel}: Exec command {exe} is not an absolute path"
            );
            write_executable(&root.path().join(exe.trim_start_matches('/')));
        }
        let mut names = vec![name.to_string()];
        if name.contains('@') {
            names.push(name.replace("@.", "@prod-eu-west-1."));
        }
        for unit in names {
            let out = run(Command::new(&analyze)
                .arg("verify")
                .arg(format!("--root={}", root.path().display()))
                .arg(&unit));
            let noise = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                out.status.success() && noise.trim().is_empty(),
                "{}",
                describe(&format!("systemd-analyze verify --root=... {unit}"), &out)
            );
        }
        report.push(format!("{rel}: exposure {level}, verify clean"));
    }
    println!("{}", report.join("\n"));
}

// ---------------------------------------------------------------------------
// (e) end to end: exporter (demo) -> Prometheus -> every expression

/// A child process killed (and reaped) on drop, whose output goes to a file.
struct ChildGuard {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl ChildGuard {
    fn spawn(name: &'static str, cmd: &mut Command, log: PathBuf) -> ChildGuard {
        let out = fs::File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({cmd:?}): {e}"));
        ChildGuard { name, child, log }
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(40)..].join("\n");
        format!(
            "--- last lines of {} output ({}) ---\n{tail}",
            self.name,
            self.log.display()
        )
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Minimal HTTP/1.1 GET: (status, body). Handles chunked responses.
fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    s.set_write_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[split + 4..].to_vec();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status"))?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if chunked {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let eol = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or_else(|| bad("bad chunk"))?;
            let size_text = String::from_utf8_lossy(&rest[..eol]).to_string();
            let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
                .map_err(|_| bad("bad chunk size"))?;
            rest = &rest[eol + 2..];
            if size == 0 {
                break;
            }
            if rest.len() < size {
                return Err(bad("short chunk"));
            }
            out.extend_from_slice(&rest[..size]);
            rest = rest.get(size + 2..).unwrap_or(&[]);
        }
        body = out;
    }
    Ok((status, String::from_utf8_lossy(&body).to_string()))
}

/// Percent-encodes everything but ASCII letters and digits.
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn wait_ready(port: u16, guard: &mut ChildGuard, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let mut last = String::from("no answer");
    while Instant::now() < deadline {
        if let Some(status) = guard.exited() {
            panic!(
                "{} exited early ({status}) before /-/ready\n{}",
                guard.name,
                guard.log_tail()
            );
        }
        match http_get(port, "/-/ready") {
            Ok((200, _)) => return,
            Ok((code, body)) => last = format!("HTTP {code}: {}", body.trim()),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!(
        "{} not ready on 127.0.0.1:{port} after {timeout:?} (last: {last})\n{}",
        guard.name,
        guard.log_tail()
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
        // `or` fallback (the dashboard's has one, so this is a safety net).
        let expect =
            if expr.contains("gamelift_exporter_api_request_failures_total") && !expr.contains(" or ") {
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
        let (selector, label) = parse_label_values(&q)
            .unwrap_or_else(|| panic!("variable {}: unsupported query {q:?}", v["name"]));
        checks.push(Check {
            origin: format!("variable {} ({q})", v["name"]),
            query: substitute(&selector),
            expect: Expect::HasLabel(label),
        });
    }
    for rule in parse_rules(&read(RULES)) {
        let origin = format!("{} {}", rule.kind, rule.name);
        if rule.kind == "record" {
            checks.push(Check {
                origin: origin.clone(),
                query: rule.expr.clone(),
                expect: Expect::NonEmpty,
            });
            // Prometheus loaded and evaluated the rule.
            checks.push(Check {
                origin: format!("{origin} (recorded series)"),
                query: rule.name.clone(),
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
    checks
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
    let path = format!("/api/v1/query?query={}", url_encode(&check.query));
    let (code, body) = http_get(port, &path).map_err(|e| format!("request failed: {e}"))?;
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
    const TEST: &str = "real_prometheus_evaluates_every_dashboard_and_rule_expression";
    let Some(prometheus) = require_tool("prometheus", &["/usr/bin/prometheus"], TEST) else {
        return;
    };
    let checks = build_checks();

    // Declared first, dropped last: the processes are killed before their
    // directory goes away.
    let tmp = TempDir::new("e2e");

    let exporter_port = support::free_port();
    let exporter_config = tmp.path().join("gamelift-exporter.toml");
    fs::write(
        &exporter_config,
        format!("[server]\nlisten = \"127.0.0.1:{exporter_port}\"\n[sweep]\ninterval = \"1s\"\nhistory_interval = \"2s\"\n"),
    )
    .unwrap();
    let mut exporter = ChildGuard::spawn(
        "gamelift-exporter",
        Command::new(env!("CARGO_BIN_EXE_gamelift-exporter"))
            .arg("--demo")
            .arg("--config")
            .arg(&exporter_config)
            .env("RUST_LOG", "info"),
        tmp.path().join("exporter.log"),
    );
    wait_ready(exporter_port, &mut exporter, Duration::from_secs(60));

    let prometheus_port = support::free_port();
    let prometheus_config = tmp.path().join("prometheus.yml");
    fs::write(
        &prometheus_config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {rules:?}\n\
             scrape_configs:\n  - job_name: {JOB}\n    static_configs:\n      - targets: ['127.0.0.1:{exporter_port}']\n",
            rules = repo_path(RULES).display().to_string()
        ),
    )
    .unwrap();
    let started = Instant::now();
    let mut prom = ChildGuard::spawn(
        "prometheus",
        Command::new(&prometheus)
            .arg(format!("--config.file={}", prometheus_config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                tmp.path().join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prometheus_port}"))
            .arg("--log.level=warn"),
        tmp.path().join("prometheus.log"),
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
        for guard in [&mut exporter, &mut prom] {
            if let Some(status) = guard.exited() {
                panic!(
                    "{} exited ({status}) during the test\n{}",
                    guard.name,
                    guard.log_tail()
                );
            }
        }
        std::thread::sleep(Duration::from_secs(2));
    }

    // Prometheus loaded every rule and evaluates them without error.
    let (code, body) = http_get(prometheus_port, "/api/v1/rules").expect("GET /api/v1/rules");
    let rules: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let loaded: Vec<&Value> = rules["data"]["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["rules"].as_array().into_iter().flatten())
        .collect();
    let expected = parse_rules(&read(RULES)).len();
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
        let (_, targets) = http_get(prometheus_port, "/api/v1/targets").unwrap_or((0, String::new()));
        let metrics = http_get(exporter_port, "/metrics")
            .map(|(_, b)| b)
            .unwrap_or_default();
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
            exporter.log_tail(),
            prom.log_tail()
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
}

// ---------------------------------------------------------------------------
// self-tests of the small parsers above

#[test]
fn promql_helpers_split_thresholds() {
    assert_eq!(
        comparison_operands("increase(x[15m]) > 0"),
        ["increase(x[15m])", "0"]
    );
    assert_eq!(
        comparison_operands("time() - x{a=\"b>c\"} > 5 * 60"),
        ["time() - x{a=\"b>c\"}", "5 * 60"]
    );
    assert_eq!(
        comparison_operands("sum by (a) (x) == 0\n  and on (a, b)\nsum by (a) (y{s=\"ACTIVE\"}) > 0"),
        ["sum by (a) (x)", "0", "sum by (a) (y{s=\"ACTIVE\"})", "0"]
    );
    assert_eq!(
        comparison_operands("(a or b) / (c > 0) >= 0.25"),
        ["(a or b) / (c > 0)", "0.25"]
    );
    assert_eq!(comparison_operands("x > bool 1"), ["x", "1"]);
    assert_eq!(
        comparison_operands("up{job=\"gamelift-exporter\"} == 1"),
        ["up{job=\"gamelift-exporter\"}", "1"]
    );
    assert_eq!(comparison_operands("sum(orders_total)"), ["sum(orders_total)"]);
    assert_eq!(
        metric_names(
            "sum by (fleet_id) (rate(gamelift_x_total{a=~\"$f\"}[5m])) / on(fleet_id) fleet:gamelift_y:ratio"
        ),
        BTreeSet::from([
            "gamelift_x_total".to_string(),
            "fleet:gamelift_y:ratio".to_string()
        ])
    );
    assert_eq!(
        parse_label_values("label_values(m{a=~\"$b\"}, c)"),
        Some(("m{a=~\"$b\"}".into(), "c".into()))
    );
    assert_eq!(url_encode("a b{c=\"d\"}"), "a%20b%7Bc%3D%22d%22%7D");
    let rules = parse_rules("groups:\n  - name: g\n    rules:\n      - record: a:b:c\n        expr: sum(x)\n      - alert: A\n        expr: |\n          x\n            > 0\n        for: 5m\n");
    assert_eq!(rules.len(), 2);
    assert_eq!(
        (rules[0].kind, rules[0].name.as_str(), rules[0].expr.as_str()),
        ("record", "a:b:c", "sum(x)")
    );
    assert_eq!(
        (rules[1].kind, rules[1].name.as_str(), rules[1].expr.as_str()),
        ("alert", "A", "x\n> 0")
    );
}
