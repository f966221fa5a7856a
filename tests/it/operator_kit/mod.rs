//! Checks of the operator kit: the monitoring mixin renders exactly the committed files
//! ([`mixin`]), the Prometheus rules and their unit tests ([`rules`]), the runbook of every alert
//! ([`runbooks`]), the Alertmanager inhibitions against a real Alertmanager ([`alertmanager`]),
//! the Grafana dashboard ([`dashboard`]), the systemd units ([`systemd`]), the README's setup of
//! the placement and matchmaking events ([`readme_events`]), and an end-to-end run of a real
//! Prometheus scraping the exporter in demo mode that evaluates every dashboard and rule
//! expression ([`prometheus`]). [`promql`] holds the few PromQL text helpers they share.
//!
//! External tools: `promtool` and `prometheus` (Debian package `prometheus`), `amtool` and
//! `prometheus-alertmanager` (package `prometheus-alertmanager`), `jsonnet` (package `jsonnet`),
//! `systemd-analyze` (package `systemd`), found through [`support::require_tool_at`]: without
//! them a test prints `SKIPPED: ...` and passes, except in CI.

mod alertmanager;
mod dashboard;
mod mixin;
mod prometheus;
mod promql;
mod readme_events;
mod rules;
mod runbooks;
mod systemd;

use crate::support;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const RULES: &str = "config/prometheus/gamelift-exporter.rules.yml";
/// The opt-in alert groups (off by default), rendered apart.
const OPT_IN_RULES: &str = "config/prometheus/gamelift-exporter.opt-in.rules.yml";
/// Where the runbooks are, and the URL every alert's runbook_url starts with (the mixin's default
/// `runbookBaseUrl`).
const RUNBOOKS: &str = "docs/runbooks.md";
const RUNBOOK_BASE_URL: &str = "https://gamelift-exporter.example/docs/runbooks.md";
const RULE_TESTS: &str = "config/prometheus/gamelift-exporter.rules.test.yml";
const PROMETHEUS_EXAMPLE: &str = "config/prometheus/prometheus.yml";
const DASHBOARD: &str = "grafana/gamelift-exporter.json";
/// Scrape job name of the mixin's default job selector.
const JOB: &str = "gamelift-exporter";

/// Metric names of the exporter's contract. Every metric the dashboard and the rules use must be
/// one of these, one of [`CAPACITY_METRICS`] or [`EVENT_METRICS`], or a recording rule of the rules
/// file.
const EXPORTER_METRICS: &[&str] = &[
    "gamelift_game_sessions",
    "gamelift_game_session_players",
    "gamelift_game_session_player_slots",
    "gamelift_game_session_open_slots",
    "gamelift_game_sessions_by_occupancy",
    "gamelift_game_session_interruptions_total",
    "gamelift_game_session_last_interruption_timestamp_seconds",
    "gamelift_game_sessions_ended_total",
    "gamelift_fleet_events_total",
    "gamelift_fleet_info",
    "gamelift_exporter_fleet_up",
    "gamelift_exporter_fleet_events_up",
    "gamelift_exporter_fleet_last_success_timestamp_seconds",
    "gamelift_exporter_fleet_last_full_pass_timestamp_seconds",
    "gamelift_exporter_fleet_pass_duration_seconds",
    "gamelift_exporter_sweep_duration_seconds",
    "gamelift_exporter_api_requests_total",
    "gamelift_exporter_api_request_failures_total",
    "gamelift_exporter_request_budget_per_second",
    "gamelift_exporter_request_budget_configured_per_second",
    "gamelift_exporter_effective_interval_seconds",
    "gamelift_exporter_account_up",
    "gamelift_exporter_fleet_capacity_last_success_timestamp_seconds",
    "gamelift_exporter_state_write_failures_total",
    "gamelift_exporter_config_last_reload_successful",
    "gamelift_exporter_config_last_reload_success_timestamp_seconds",
    "gamelift_exporter_build_info",
];

/// The rest of the contract: the capacity series, per fleet and location (instance and game server
/// container group counts, utilization, and the fleet and location status state sets), refreshed
/// every `sweep.capacity_interval`. The dashboard's capacity row shows each of them, directly or
/// through a recording rule.
const CAPACITY_METRICS: &[&str] = &[
    "gamelift_fleet_instances",
    "gamelift_fleet_game_server_container_groups",
    "gamelift_fleet_active_server_processes",
    "gamelift_fleet_active_game_sessions",
    "gamelift_fleet_current_player_sessions",
    "gamelift_fleet_maximum_player_sessions",
    "gamelift_fleet_status",
    "gamelift_fleet_location_status",
];

/// The metrics of the placement and matchmaking events the exporter reads from SQS (issue 14): the
/// dashboard's row "Placements and matchmaking" and the placement alerts use them. The `queue` and
/// `configuration` series exist at 0 from discovery, every outcome of a queue included. The
/// reader's own series (issue 18: messages counted but not deleted, by reason, both at 0 from
/// the start; the event ids remembered against redeliveries, and those forgotten early) are shown
/// in that row too.
const EVENT_METRICS: &[&str] = &[
    "gamelift_placements_total",
    "gamelift_placement_duration_seconds_bucket",
    "gamelift_placement_duration_seconds_sum",
    "gamelift_placement_duration_seconds_count",
    "gamelift_placed_player_sessions_total",
    "gamelift_matchmaking_events_total",
    "gamelift_matchmaking_duration_seconds_bucket",
    "gamelift_matchmaking_duration_seconds_sum",
    "gamelift_matchmaking_duration_seconds_count",
    "gamelift_exporter_events_received_total",
    "gamelift_exporter_events_rejected_total",
    "gamelift_exporter_event_age_seconds",
    "gamelift_exporter_events_delete_failures_total",
    "gamelift_exporter_events_remembered_ids",
    "gamelift_exporter_events_forgotten_ids_total",
];

/// `gamelift_placements_total{outcome}` and `gamelift_placement_duration_seconds{outcome}`.
const PLACEMENT_OUTCOMES: &[&str] = &["fulfilled", "failed", "timed_out", "cancelled"];
/// The finite buckets (`le`) of `gamelift_placement_duration_seconds`, in seconds.
const PLACEMENT_BUCKETS: &[f64] = &[0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0];
/// `gamelift_matchmaking_duration_seconds{outcome}`.
const MATCHMAKING_OUTCOMES: &[&str] = &["succeeded", "timed_out", "cancelled", "failed"];
/// The finite buckets of `gamelift_matchmaking_duration_seconds`, in seconds.
const MATCHMAKING_BUCKETS: &[f64] = &[1.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0];

fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn read(rel: &str) -> String {
    let p = repo_path(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// Runs a command to completion with stdin closed.
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

/// The tool, or `None` after `SKIPPED` (outside CI); `fallbacks` are where Debian installs it.
fn tool(name: &str, fallbacks: &[&str]) -> Option<PathBuf> {
    support::require_tool_at(name, fallbacks)
}
