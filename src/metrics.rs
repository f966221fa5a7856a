//! Rendering the store to Prometheus exposition text: one family per metric, series sorted by
//! their labels (the same state always reads the same), staleness judged at render time from
//! each fleet's own last successful live pass.

use crate::aggregate::STATUSES;
use crate::capacity::{CONTAINER_GROUP_STATES, INSTANCE_STATES};
use crate::store::FleetRecord;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// One metric family being built: label names, and samples keyed by their label values (so
/// they come out sorted).
struct Family {
    name: &'static str,
    help: String,
    kind: &'static str,
    labels: &'static [&'static str],
    samples: BTreeMap<Vec<String>, f64>,
}

impl Family {
    fn new(
        name: &'static str,
        kind: &'static str,
        labels: &'static [&'static str],
        help: impl Into<String>,
    ) -> Self {
        Family {
            name,
            help: help.into(),
            kind,
            labels,
            samples: BTreeMap::new(),
        }
    }

    fn set(&mut self, values: &[&str], value: f64) {
        debug_assert_eq!(values.len(), self.labels.len(), "{}", self.name);
        self.samples
            .insert(values.iter().map(|v| v.to_string()).collect(), value);
    }

    fn add(&mut self, values: &[&str], value: f64) {
        *self
            .samples
            .entry(values.iter().map(|v| v.to_string()).collect())
            .or_insert(0.0) += value;
    }

    fn write(&self, out: &mut String) {
        if self.samples.is_empty() {
            return;
        }
        let help = self.help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(out, "# HELP {} {help}", self.name);
        let _ = writeln!(out, "# TYPE {} {}", self.name, self.kind);
        for (values, value) in &self.samples {
            out.push_str(self.name);
            if !values.is_empty() {
                out.push('{');
                for (i, (label, v)) in self.labels.iter().zip(values).enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let escaped = v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
                    let _ = write!(out, "{label}=\"{escaped}\"");
                }
                out.push('}');
            }
            let _ = writeln!(out, " {}", number(*value));
        }
    }
}

/// A sample value as the exposition format writes it.
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        value.to_string()
    }
}

const FLEET: &[&str] = &["fleet_id"];
const FLEET_LOCATION: &[&str] = &["fleet_id", "location"];

/// Sets a state set: 1 for `current`, 0 for every other status GameLift defines (a status the
/// SDK does not know yet, or UNKNOWN when the API did not say, is shown as it is).
fn set_state(family: &mut Family, labels: &[&str], current: &str) {
    let mut values: Vec<&str> = labels.to_vec();
    for status in aws_sdk_gamelift::types::FleetStatus::values() {
        values.push(status);
        family.set(&values, if *status == current { 1.0 } else { 0.0 });
        values.pop();
    }
    values.push(current);
    family.set(&values, 1.0);
}

/// Renders every fleet; returns the text and when it must be rendered again at the latest (the
/// moment the next fleet turns stale), in epoch ms.
pub fn render(fleets: &BTreeMap<String, FleetRecord>, now_ms: i64) -> (String, Option<i64>) {
    let live_fresh = "as of the fleet's latest complete live pass (every sweep.interval)";
    let mut sessions = Family::new(
        "gamelift_game_sessions",
        "gauge",
        &["fleet_id", "location", "status", "status_reason"],
        format!("Game sessions by status and status reason. The statuses in sweep.live_statuses (default ACTIVE, ACTIVATING, TERMINATING) are {live_fresh}; TERMINATED and ERROR (visible for 30 days) are as of the fleet's latest complete full pass, at most sweep.history_interval plus that pass's duration old: see gamelift_exporter_fleet_last_full_pass_timestamp_seconds."),
    );
    let mut players = Family::new(
        "gamelift_game_session_players",
        "gauge",
        FLEET_LOCATION,
        format!("Players in ACTIVE game sessions (sum of CurrentPlayerSessionCount), {live_fresh}."),
    );
    let mut slots = Family::new(
        "gamelift_game_session_player_slots",
        "gauge",
        FLEET_LOCATION,
        format!("Player slots of ACTIVE game sessions (sum of MaximumPlayerSessionCount), {live_fresh}."),
    );
    let mut open = Family::new(
        "gamelift_game_session_open_slots",
        "gauge",
        FLEET_LOCATION,
        format!("Free player slots in ACTIVE game sessions that accept new players (policy ACCEPT_ALL), {live_fresh}."),
    );
    let mut occupancy = Family::new(
        "gamelift_game_sessions_by_occupancy",
        "gauge",
        &["fleet_id", "location", "occupancy"],
        format!("ACTIVE game sessions that are empty (0 players), partial, or full (current >= maximum), {live_fresh}."),
    );
    let mut last_interruption = Family::new(
        "gamelift_game_session_last_interruption_timestamp_seconds",
        "gauge",
        FLEET_LOCATION,
        "TerminationTime of the newest INTERRUPTED game session (Unix seconds): set by the live pass that finds it, and by every full pass from the sessions still visible.",
    );
    let mut interruptions = Family::new(
        "gamelift_game_session_interruptions_total",
        "counter",
        FLEET_LOCATION,
        "Distinct game sessions ended with StatusReason INTERRUPTED (spot capacity reclaimed) whose TerminationTime is after the exporter started watching the fleet (its first sighting, kept in state.path across restarts, so a downtime is counted after it); counted by the live pass after the INSTANCE_INTERRUPTED event, else by the next full pass; never twice.",
    );
    let mut ended = Family::new(
        "gamelift_game_sessions_ended_total",
        "counter",
        FLEET_LOCATION,
        "Game sessions that were ACTIVE in one complete live pass of the fleet and not in the next (with state.path, the last pass before a restart and the first after it are consecutive), since the exporter started watching the fleet.",
    );
    let mut events = Family::new(
        "gamelift_fleet_events_total",
        "counter",
        &["fleet_id", "event_code"],
        "Fleet events (DescribeFleetEvents) whose EventTime is at or after the exporter started watching the fleet (kept in state.path across restarts), by event code; each event adds its Count (1 when absent). Read by every live pass; see gamelift_exporter_fleet_events_up.",
    );
    let mut info = Family::new(
        "gamelift_fleet_info",
        "gauge",
        &[
            "fleet_id",
            "fleet_name",
            "fleet_type",
            "compute_type",
            "home_region",
            "account",
            "account_id",
        ],
        "Fleet metadata; always 1. fleet_type is SPOT, ON_DEMAND or UNKNOWN; account is the name of the configured account it was discovered in, account_id the AWS account id from its ARN. Refreshed by fleet discovery.",
    );
    let mut up = Family::new(
        "gamelift_exporter_fleet_up",
        "gauge",
        FLEET,
        "1 if the fleet's latest live pass completed and is younger than sweep.stale_after (or twice the live interval its account-Region keeps, if longer); 0 if it failed (its series then keep their last complete values) or is stale (its session series are then dropped).",
    );
    let mut events_up = Family::new(
        "gamelift_exporter_fleet_events_up",
        "gauge",
        FLEET,
        "1 if the fleet's latest events poll (DescribeFleetEvents, in its live pass) completed; 0 if it failed: its session series still publish, but fleet events and the interruption lookups they trigger wait until a poll completes (the next one reads the same window again; interrupted sessions are still counted by the full pass).",
    );
    let mut last_success = Family::new(
        "gamelift_exporter_fleet_last_success_timestamp_seconds",
        "gauge",
        FLEET,
        "End time of the fleet's latest complete live pass (Unix seconds).",
    );
    let mut last_full = Family::new(
        "gamelift_exporter_fleet_last_full_pass_timestamp_seconds",
        "gauge",
        FLEET,
        "End time of the fleet's latest complete full pass over its terminated history (Unix seconds): the age of its TERMINATED and ERROR counts.",
    );
    let mut pass_duration = Family::new(
        "gamelift_exporter_fleet_pass_duration_seconds",
        "gauge",
        &["fleet_id", "pass"],
        "Wall-clock duration of the fleet's latest complete pass, live or full, in seconds.",
    );
    let mut sweep_duration = Family::new(
        "gamelift_exporter_sweep_duration_seconds",
        "gauge",
        &[],
        "Duration of the slowest of the fleets' latest complete live passes, in seconds; it should stay well below sweep.interval.",
    );

    let capacity_fresh = "as of the fleet's latest capacity cycle (every sweep.capacity_interval) that read all its locations; dropped after sweep.stale_after without one (see gamelift_exporter_fleet_capacity_last_success_timestamp_seconds)";
    let mut instances = Family::new(
        "gamelift_fleet_instances",
        "gauge",
        &["fleet_id", "location", "state"],
        format!("EC2 instances of the fleet location by state, from DescribeFleetCapacity / DescribeFleetLocationCapacity: DESIRED, MINIMUM and MAXIMUM are the scaling settings; PENDING, ACTIVE, IDLE (active instances hosting no game session, a subset of ACTIVE) and TERMINATING are instances. EC2 and container fleets, {capacity_fresh}."),
    );
    let mut container_groups = Family::new(
        "gamelift_fleet_game_server_container_groups",
        "gauge",
        &["fleet_id", "location", "state"],
        format!("Game server container groups of a container fleet location by state (PENDING, ACTIVE, IDLE, TERMINATING), {capacity_fresh}."),
    );
    let mut server_processes = Family::new(
        "gamelift_fleet_active_server_processes",
        "gauge",
        FLEET_LOCATION,
        format!("Server processes running in the fleet location (ActiveServerProcessCount of DescribeFleetUtilization / DescribeFleetLocationUtilization), {capacity_fresh}."),
    );
    let mut active_sessions = Family::new(
        "gamelift_fleet_active_game_sessions",
        "gauge",
        FLEET_LOCATION,
        format!("Game sessions ACTIVE or ACTIVATING in the fleet location as GameLift's utilization reports them (ActiveGameSessionCount), {capacity_fresh}."),
    );
    let mut current_players = Family::new(
        "gamelift_fleet_current_player_sessions",
        "gauge",
        FLEET_LOCATION,
        format!("Player sessions ACTIVE or RESERVED in the fleet location (CurrentPlayerSessionCount), {capacity_fresh}."),
    );
    let mut maximum_players = Family::new(
        "gamelift_fleet_maximum_player_sessions",
        "gauge",
        FLEET_LOCATION,
        format!("Players the game sessions being hosted in the fleet location allow in all (MaximumPlayerSessionCount), {capacity_fresh}."),
    );
    let mut capacity_success = Family::new(
        "gamelift_exporter_fleet_capacity_last_success_timestamp_seconds",
        "gauge",
        &["fleet_id", "kind"],
        "End time of the fleet's latest capacity cycle that read all its locations (Unix seconds), by kind: instances (gamelift_fleet_instances, gamelift_fleet_game_server_container_groups) or utilization (the other gamelift_fleet_* utilization gauges).",
    );
    let mut fleet_status = Family::new(
        "gamelift_fleet_status",
        "gauge",
        &["fleet_id", "status"],
        "The fleet's status (DescribeFleetAttributes): 1 for the current one, 0 for the other statuses GameLift defines. As of the latest fleet discovery (every sweep.discovery_interval).",
    );
    let mut location_status = Family::new(
        "gamelift_fleet_location_status",
        "gauge",
        &["fleet_id", "location", "status"],
        "Each fleet location's status (LocationState of DescribeFleetLocationAttributes; the fleet's own status for the home Region): 1 for the current one, 0 for the others. As of the latest fleet discovery (every sweep.discovery_interval).",
    );

    let mut valid_until: Option<i64> = None;
    let mut slowest: Option<f64> = None;
    for record in fleets.values() {
        let stale_after_ms = record.stale_after_ms;
        let f = &record.fleet;
        let id = f.fleet_id.as_str();
        info.set(
            &[
                id,
                &f.name,
                &f.fleet_type,
                &f.compute_type,
                &f.home_region,
                &f.account,
                &f.account_id,
            ],
            1.0,
        );
        set_state(&mut fleet_status, &[id], &f.status);
        for location in &f.locations {
            let status = f.location_status.get(location).map_or(
                if *location == f.home_region {
                    f.status.as_str()
                } else {
                    "UNKNOWN"
                },
                String::as_str,
            );
            set_state(&mut location_status, &[id, location], status);
        }
        if let Some(capacity) = record
            .capacity
            .as_ref()
            .filter(|c| c.at_ms + stale_after_ms > now_ms)
        {
            valid_until = Some(valid_until.map_or(capacity.at_ms + stale_after_ms, |v| {
                v.min(capacity.at_ms + stale_after_ms)
            }));
            capacity_success.set(&[id, "instances"], capacity.at_ms as f64 / 1000.0);
            for (location, counts) in &capacity.locations {
                for (state, value) in INSTANCE_STATES.iter().zip(counts.instances) {
                    instances.set(&[id, location, state], value as f64);
                }
                if let Some(groups) = counts.container_groups {
                    for (state, value) in CONTAINER_GROUP_STATES.iter().zip(groups) {
                        container_groups.set(&[id, location, state], value as f64);
                    }
                }
            }
        }
        if let Some(utilization) = record
            .utilization
            .as_ref()
            .filter(|u| u.at_ms + stale_after_ms > now_ms)
        {
            valid_until = Some(valid_until.map_or(utilization.at_ms + stale_after_ms, |v| {
                v.min(utilization.at_ms + stale_after_ms)
            }));
            capacity_success.set(&[id, "utilization"], utilization.at_ms as f64 / 1000.0);
            for (location, u) in &utilization.locations {
                server_processes.set(&[id, location], u.active_server_processes as f64);
                active_sessions.set(&[id, location], u.active_game_sessions as f64);
                current_players.set(&[id, location], u.current_player_sessions as f64);
                maximum_players.set(&[id, location], u.maximum_player_sessions as f64);
            }
        }
        let fresh_until = record.last_success_ms.map(|t| t + stale_after_ms);
        if let Some(events_ok) = record.events_up {
            events_up.set(&[id], if events_ok { 1.0 } else { 0.0 });
        }
        let fresh = fresh_until.is_some_and(|t| t > now_ms);
        if fresh {
            valid_until =
                Some(valid_until.map_or(fresh_until.unwrap_or(0), |v| v.min(fresh_until.unwrap_or(v))));
        }
        up.set(&[id], if record.up && fresh { 1.0 } else { 0.0 });
        if let Some(ms) = record.last_success_ms {
            last_success.set(&[id], ms as f64 / 1000.0);
        }
        if let Some(ms) = record.last_full_pass_ms {
            last_full.set(&[id], ms as f64 / 1000.0);
        }
        if let Some(seconds) = record.live_duration_seconds {
            pass_duration.set(&[id, "live"], seconds);
            slowest = Some(slowest.map_or(seconds, |s: f64| s.max(seconds)));
        }
        if let Some(seconds) = record.full_duration_seconds {
            pass_duration.set(&[id, "full"], seconds);
        }
        for (location, value) in record.interruptions.iter() {
            interruptions.set(&[id, location], value as f64);
        }
        for (location, value) in record.ended.iter() {
            ended.set(&[id, location], value as f64);
        }
        for (code, value) in record.events.iter() {
            events.set(&[id, code], value as f64);
        }
        let (true, Some(live)) = (fresh, &record.live) else {
            continue;
        };
        for (location, ms) in &record.last_interruption_ms {
            last_interruption.set(&[id, location], *ms as f64 / 1000.0);
        }
        let history = record.history.as_ref();
        let mut statuses: Vec<&str> = live.statuses.iter().map(String::as_str).collect();
        if history.is_some() {
            statuses.extend(STATUSES.iter().filter(|s| !crate::aggregate::is_live(s)));
        }
        let locations: BTreeSet<&str> = f
            .locations
            .iter()
            .map(String::as_str)
            .chain(live.locations.keys().map(String::as_str))
            .chain(
                history
                    .iter()
                    .flat_map(|h| h.locations.keys().map(String::as_str)),
            )
            .collect();
        for location in locations {
            for status in &statuses {
                sessions.set(&[id, location, status, ""], 0.0);
            }
            let totals = live.locations.get(location).cloned().unwrap_or_default();
            for ((status, reason), count) in &totals.sessions {
                sessions.set(&[id, location, status, reason], *count as f64);
            }
            if let Some(past) = history.and_then(|h| h.locations.get(location)) {
                for ((status, reason), count) in &past.sessions {
                    sessions.add(&[id, location, status, reason], *count as f64);
                }
            }
            players.set(&[id, location], totals.players as f64);
            slots.set(&[id, location], totals.player_slots as f64);
            open.set(&[id, location], totals.open_slots as f64);
            for (name, value) in [
                ("empty", totals.empty),
                ("partial", totals.partial),
                ("full", totals.full),
            ] {
                occupancy.set(&[id, location, name], value as f64);
            }
        }
    }
    if let Some(seconds) = slowest {
        sweep_duration.set(&[], seconds);
    }
    let mut families = [
        info,
        events,
        sessions,
        last_interruption,
        interruptions,
        open,
        slots,
        players,
        ended,
        occupancy,
        last_full,
        last_success,
        pass_duration,
        up,
        events_up,
        sweep_duration,
        instances,
        container_groups,
        server_processes,
        active_sessions,
        current_players,
        maximum_players,
        capacity_success,
        fleet_status,
        location_status,
    ];
    families.sort_by_key(|f| f.name);
    let mut out = String::new();
    for family in &families {
        family.write(&mut out);
    }
    (out, valid_until)
}

/// Appends the placement and matchmaking event families.
pub fn render_events(events: &crate::events::EventCounts, out: &mut String) {
    use crate::events::{MATCHMAKING_BUCKETS, PLACEMENT_BUCKETS};
    let split = |key: &str| -> Vec<String> { key.split('\u{1f}').map(str::to_string).collect() };
    let counter = |name: &'static str,
                   labels: &'static [&'static str],
                   help: &str,
                   map: &BTreeMap<String, crate::events::Series<u64>>|
     -> Family {
        let mut family = Family::new(name, "counter", labels, help);
        for (key, series) in map {
            let values = split(key);
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            family.set(&values, series.value as f64);
        }
        family
    };
    let read = "since the exporter started, from the events read off the SQS queue ([events]); each event counts once (ids remembered for events.dedup_window, across restarts with state.path)";
    let mut families = vec![
        counter(
            "gamelift_placements_total",
            &["queue", "outcome"],
            &format!("Game session placements that ended, by queue and outcome (fulfilled, failed, timed_out, cancelled), {read}. Queues found by discovery (DescribeGameSessionQueues) exist at 0."),
            &events.placements,
        ),
        counter(
            "gamelift_placed_player_sessions_total",
            &["queue", "region"],
            &format!("Player sessions placed by fulfilled placements, by queue and game session Region, {read}."),
            &events.placed_players,
        ),
        counter(
            "gamelift_matchmaking_events_total",
            &["configuration", "type"],
            &format!("FlexMatch events by matchmaking configuration and event type, {read}. Configurations found by discovery (DescribeMatchmakingConfigurations) exist at 0."),
            &events.matchmaking,
        ),
        counter(
            "gamelift_exporter_events_received_total",
            &["detail_type"],
            &format!("Events counted, by EventBridge detail-type, {read}."),
            &events.received,
        ),
        counter(
            "gamelift_exporter_events_rejected_total",
            &["reason"],
            "Messages read off the SQS queue and not counted, by reason: malformed, unknown_detail_type, unknown_type, duplicate (an event already counted, redelivered). Each is deleted from the queue, never retried forever.",
            &events.rejected,
        ),
    ];
    let mut age = Family::new(
        "gamelift_exporter_event_age_seconds",
        "gauge",
        &[],
        "Age of the newest event read so far when it was read (its EventBridge time to the read), in seconds: how far behind the queue delivers.",
    );
    if let Some(seconds) = events.newest_age_seconds {
        age.set(&[], seconds);
    }
    families.push(age);
    for family in &families {
        family.write(out);
    }
    write_histogram(
        out,
        "gamelift_placement_duration_seconds",
        &["queue", "outcome"],
        &format!("Placement time (endTime - startTime) by queue and outcome, {read}."),
        &PLACEMENT_BUCKETS,
        &events.placement_seconds,
    );
    write_histogram(
        out,
        "gamelift_matchmaking_duration_seconds",
        &["configuration", "outcome"],
        &format!("Matchmaking time per ticket (from its startTime to the event that ended it: succeeded, timed_out, cancelled, failed), by configuration, {read}."),
        &MATCHMAKING_BUCKETS,
        &events.matchmaking_seconds,
    );
}

fn write_histogram(
    out: &mut String,
    name: &str,
    labels: &[&str],
    help: &str,
    bounds: &[f64],
    map: &BTreeMap<String, crate::events::Series<crate::events::Histogram>>,
) {
    if map.is_empty() {
        return;
    }
    let escape = |v: &str| v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} histogram");
    for (key, series) in map {
        let pairs: Vec<String> = labels
            .iter()
            .zip(key.split('\u{1f}'))
            .map(|(l, v)| format!("{l}=\"{}\"", escape(v)))
            .collect();
        let pairs = pairs.join(",");
        let mut cumulative = 0;
        for (i, bound) in bounds.iter().enumerate() {
            cumulative += series.value.buckets.get(i).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "{name}_bucket{{{pairs},le=\"{}\"}} {cumulative}",
                number(*bound)
            );
        }
        let _ = writeln!(out, "{name}_bucket{{{pairs},le=\"+Inf\"}} {}", series.value.count);
        let _ = writeln!(out, "{name}_sum{{{pairs}}} {}", number(series.value.sum));
        let _ = writeln!(out, "{name}_count{{{pairs}}} {}", series.value.count);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_written_with_sorted_escaped_labels() {
        let mut family = Family::new("x_total", "counter", &["a", "b"], "Help with \\ and\nnewline.");
        family.set(&["z", "1"], 2.0);
        family.set(&["a", "q\"uote\\"], 1.5);
        let mut out = String::new();
        family.write(&mut out);
        assert_eq!(
            out,
            "# HELP x_total Help with \\\\ and\\nnewline.\n# TYPE x_total counter\nx_total{a=\"a\",b=\"q\\\"uote\\\\\"} 1.5\nx_total{a=\"z\",b=\"1\"} 2\n"
        );
        assert_eq!(number(f64::INFINITY), "+Inf");
        assert_eq!(number(1_764_590_000.125), "1764590000.125");
    }
}
