//! The published state: an immutable [`Snapshot`] per sweep, swapped in atomically and rendered
//! by a collector, so a scrape sees one complete sweep or the previous one, never a mix.

use crate::aggregate::{HistoryTotals, LiveTotals, STATUSES};
use crate::discovery::Fleet;
use bytes::Bytes;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{Encoder, GaugeVec, IntCounterVec, Opts, TextEncoder};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Everything published about one fleet.
#[derive(Debug, Clone)]
pub struct FleetView {
    pub fleet: Fleet,
    pub up: bool,
    /// End of its last complete sweep, Unix seconds.
    pub last_success_seconds: Option<f64>,
    /// Latest complete live totals and full-pass history per location; `None` until the fleet's
    /// first complete full pass, and again once its data is older than `sweep.stale_after`.
    pub sessions: Option<BTreeMap<String, (LiveTotals, HistoryTotals)>>,
    /// Interruptions counted since the exporter started, per location.
    pub interruptions: BTreeMap<String, u64>,
}

/// One sweep's worth of metrics.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub fleets: Vec<FleetView>,
    pub sweep_duration_seconds: Option<f64>,
}

fn gauge(name: &str, help: &str, labels: &[&str]) -> GaugeVec {
    GaugeVec::new(Opts::new(name, help), labels).expect("metric definitions are valid")
}

impl Snapshot {
    /// Renders the snapshot as metric families (done once per sweep, not per scrape).
    pub fn families(&self) -> Vec<MetricFamily> {
        let fresh = "as of the latest complete sweep of the fleet";
        let sessions = gauge(
            "gamelift_game_sessions",
            "Game sessions by status and status reason, as of the latest complete sweep of the fleet: the statuses in sweep.live_statuses (default ACTIVE) every sweep.interval, the others (ACTIVATING and TERMINATING last seconds; TERMINATED and ERROR stay visible for 30 days) every sweep.history_interval.",
            &["fleet_id", "location", "status", "status_reason"],
        );
        let players = gauge(
            "gamelift_game_session_players",
            &format!("Players in ACTIVE game sessions (sum of CurrentPlayerSessionCount), {fresh}."),
            &["fleet_id", "location"],
        );
        let slots = gauge(
            "gamelift_game_session_player_slots",
            &format!("Player slots of ACTIVE game sessions (sum of MaximumPlayerSessionCount), {fresh}."),
            &["fleet_id", "location"],
        );
        let open = gauge(
            "gamelift_game_session_open_slots",
            &format!("Free player slots in ACTIVE game sessions that accept new players (policy ACCEPT_ALL), {fresh}."),
            &["fleet_id", "location"],
        );
        let occupancy = gauge(
            "gamelift_game_sessions_by_occupancy",
            &format!("ACTIVE game sessions that are empty (0 players), partial, or full (current >= maximum), {fresh}."),
            &["fleet_id", "location", "occupancy"],
        );
        let interruptions = IntCounterVec::new(
            Opts::new(
                "gamelift_game_session_interruptions_total",
                "Distinct game sessions terminated with StatusReason INTERRUPTED (spot capacity reclaimed) that ended after the exporter started; updated by every full sweep (sweep.history_interval).",
            ),
            &["fleet_id", "location"],
        )
        .expect("metric definitions are valid");
        let last_interruption = gauge(
            "gamelift_game_session_last_interruption_timestamp_seconds",
            "TerminationTime of the newest INTERRUPTED game session still visible (Unix seconds), as of the latest full sweep.",
            &["fleet_id", "location"],
        );
        let info = gauge(
            "gamelift_fleet_info",
            "Fleet metadata; always 1. fleet_type is SPOT or ON_DEMAND. Refreshed by fleet discovery.",
            &[
                "fleet_id",
                "fleet_name",
                "fleet_type",
                "compute_type",
                "home_region",
            ],
        );
        let up = gauge(
            "gamelift_exporter_fleet_up",
            "1 if the latest sweep of the fleet completed, 0 if it failed (its other series then keep their last good values).",
            &["fleet_id"],
        );
        let last_success = gauge(
            "gamelift_exporter_fleet_last_success_timestamp_seconds",
            "End time of the fleet's latest complete sweep (Unix seconds).",
            &["fleet_id"],
        );
        let duration = gauge(
            "gamelift_exporter_sweep_duration_seconds",
            "Wall-clock duration of the latest sweep of all fleets, in seconds.",
            &[],
        );

        for view in &self.fleets {
            let f = &view.fleet;
            let id = f.fleet_id.as_str();
            info.with_label_values(&[id, &f.name, &f.fleet_type, &f.compute_type, &f.home_region])
                .set(1.0);
            up.with_label_values(&[id]).set(if view.up { 1.0 } else { 0.0 });
            if let Some(seconds) = view.last_success_seconds {
                last_success.with_label_values(&[id]).set(seconds);
            }
            for (location, count) in &view.interruptions {
                interruptions.with_label_values(&[id, location]).inc_by(*count);
            }
            let Some(locations) = &view.sessions else { continue };
            for (location, (live, history)) in locations {
                let loc = location.as_str();
                for status in STATUSES {
                    sessions.with_label_values(&[id, loc, status, ""]).set(0.0);
                }
                for ((status, reason), count) in live.sessions.iter().chain(history.sessions.iter()) {
                    sessions
                        .with_label_values(&[id, loc, status, reason])
                        .set(*count as f64);
                }
                players.with_label_values(&[id, loc]).set(live.players as f64);
                slots.with_label_values(&[id, loc]).set(live.player_slots as f64);
                open.with_label_values(&[id, loc]).set(live.open_slots as f64);
                for (name, value) in [
                    ("empty", live.empty),
                    ("partial", live.partial),
                    ("full", live.full),
                ] {
                    occupancy.with_label_values(&[id, loc, name]).set(value as f64);
                }
                if let Some(ms) = history.last_interruption_ms {
                    last_interruption
                        .with_label_values(&[id, loc])
                        .set(ms as f64 / 1000.0);
                }
            }
        }
        if let Some(seconds) = self.sweep_duration_seconds {
            duration.with_label_values::<&str>(&[]).set(seconds);
        }
        let collectors: [&dyn Collector; 11] = [
            &sessions,
            &players,
            &slots,
            &open,
            &occupancy,
            &interruptions,
            &last_interruption,
            &info,
            &up,
            &last_success,
            &duration,
        ];
        collectors
            .iter()
            .flat_map(|c| c.collect())
            .filter(|f| !f.get_metric().is_empty())
            .collect()
    }
}

/// Holds the current snapshot, rendered once per sweep to exposition text; scrapes copy a
/// reference to it instead of rebuilding and re-encoding every series.
#[derive(Clone, Default)]
pub struct Published {
    text: Arc<RwLock<Bytes>>,
}

impl Published {
    pub fn new() -> Published {
        Published::default()
    }

    /// Makes `snapshot` the one scrapes see, in one step.
    pub fn publish(&self, snapshot: &Snapshot) {
        let mut text = Vec::new();
        TextEncoder::new()
            .encode(&snapshot.families(), &mut text)
            .expect("encoding well-formed metric families cannot fail");
        *self.text.write().unwrap_or_else(|p| p.into_inner()) = Bytes::from(text);
    }

    /// The current snapshot's exposition text.
    pub fn text(&self) -> Bytes {
        self.text.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Serves another collector's results for up to `max_age`: process metrics read several
/// `/proc` files, which would otherwise dominate the cost of a scrape under many scrapers.
pub struct Cached<C> {
    inner: C,
    max_age: Duration,
    cache: Mutex<Option<(Instant, Vec<MetricFamily>)>>,
}

impl<C: Collector> Cached<C> {
    pub fn new(inner: C, max_age: Duration) -> Self {
        Cached {
            inner,
            max_age,
            cache: Mutex::new(None),
        }
    }
}

impl<C: Collector> Collector for Cached<C> {
    fn desc(&self) -> Vec<&Desc> {
        self.inner.desc()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        match &*cache {
            Some((at, families)) if at.elapsed() < self.max_age => families.clone(),
            _ => {
                let families = self.inner.collect();
                *cache = Some((Instant::now(), families.clone()));
                families
            }
        }
    }
}
