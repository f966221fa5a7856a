//! What a sweep computes from game sessions, one session at a time: memory grows with the number
//! of (location, status, reason) series, never with the number of sessions.

use std::collections::BTreeMap;

/// Statuses every known fleet location exports, with 0 when there are none.
pub const STATUSES: [&str; 5] = ["ACTIVE", "ACTIVATING", "TERMINATING", "TERMINATED", "ERROR"];
/// The statuses a live pass filters on; everything else is history.
pub const LIVE_STATUSES: [&str; 3] = ["ACTIVE", "ACTIVATING", "TERMINATING"];

/// The facts of one session the aggregation needs (no ids are kept).
#[derive(Debug, Clone, Copy)]
pub struct SessionFacts<'a> {
    pub location: &'a str,
    pub status: &'a str,
    /// `""` when the session has no StatusReason.
    pub status_reason: &'a str,
    pub current_players: i64,
    pub max_players: i64,
    pub accept_all: bool,
    pub termination_ms: Option<i64>,
}

/// Totals of the live statuses at one location.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveTotals {
    /// (status, status_reason) -> sessions.
    pub sessions: BTreeMap<(String, String), u64>,
    /// Sum of CurrentPlayerSessionCount over ACTIVE sessions.
    pub players: u64,
    /// Sum of MaximumPlayerSessionCount over ACTIVE sessions.
    pub player_slots: u64,
    /// Sum of (maximum - current) over ACTIVE sessions that accept players.
    pub open_slots: u64,
    /// ACTIVE sessions with no players, some players, or full.
    pub empty: u64,
    pub partial: u64,
    pub full: u64,
}

/// Totals of ended sessions (TERMINATED, ERROR) still visible at one location.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HistoryTotals {
    pub sessions: BTreeMap<(String, String), u64>,
    /// TerminationTime of the newest INTERRUPTED session, epoch ms.
    pub last_interruption_ms: Option<i64>,
}

pub fn is_live(status: &str) -> bool {
    LIVE_STATUSES.contains(&status)
}

impl LiveTotals {
    pub fn add(&mut self, s: &SessionFacts) {
        *self
            .sessions
            .entry((s.status.to_string(), s.status_reason.to_string()))
            .or_default() += 1;
        if s.status != "ACTIVE" {
            return;
        }
        let current = s.current_players.max(0) as u64;
        let maximum = s.max_players.max(0) as u64;
        self.players += current;
        self.player_slots += maximum;
        if s.accept_all {
            self.open_slots += maximum.saturating_sub(current);
        }
        if current == 0 {
            self.empty += 1;
        } else if current >= maximum {
            self.full += 1;
        } else {
            self.partial += 1;
        }
    }
}

impl HistoryTotals {
    pub fn add(&mut self, s: &SessionFacts) {
        *self
            .sessions
            .entry((s.status.to_string(), s.status_reason.to_string()))
            .or_default() += 1;
        if s.status_reason == "INTERRUPTED" {
            if let Some(ended) = s.termination_ms {
                self.last_interruption_ms = Some(self.last_interruption_ms.map_or(ended, |m| m.max(ended)));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn active(current: i64, max: i64, accept_all: bool) -> SessionFacts<'static> {
        SessionFacts {
            location: "us-west-2",
            status: "ACTIVE",
            status_reason: "",
            current_players: current,
            max_players: max,
            accept_all,
            termination_ms: None,
        }
    }

    #[test]
    fn occupancy_and_slots() {
        let mut totals = LiveTotals::default();
        for s in [
            active(0, 10, true),
            active(4, 10, true),
            active(10, 10, true),
            active(3, 10, false),
        ] {
            totals.add(&s);
        }
        assert_eq!(
            (totals.players, totals.player_slots, totals.open_slots),
            (17, 40, 16)
        );
        assert_eq!((totals.empty, totals.partial, totals.full), (1, 2, 1));
        assert_eq!(totals.sessions[&("ACTIVE".to_string(), String::new())], 4);
    }

    #[test]
    fn history_tracks_newest_interruption() {
        let mut totals = HistoryTotals::default();
        for ended in [5_000, 9_000, 7_000] {
            totals.add(&SessionFacts {
                status: "TERMINATED",
                status_reason: "INTERRUPTED",
                termination_ms: Some(ended),
                ..active(0, 10, true)
            });
        }
        assert_eq!(totals.last_interruption_ms, Some(9_000));
        assert_eq!(
            totals.sessions[&("TERMINATED".to_string(), "INTERRUPTED".to_string())],
            3
        );
    }
}
