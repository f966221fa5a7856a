//! The simulated world: fleets, their sessions, and how they evolve tick by tick.
//!
//! Sessions are kept per fleet in a `BTreeMap` keyed by a global creation sequence number, so a
//! page token only needs "the last sequence number returned" and paging never returns a session
//! twice, even while sessions are created and removed between pages. Session details that are
//! pure functions of the sequence number (ARN, IP, DNS name...) are derived, not stored, which
//! keeps a million sessions in about 50 MB.

use super::rng::Rng;
use super::scenario::{FleetSpec, FleetType, Scenario};
use std::collections::{BTreeMap, VecDeque};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Activating,
    Active,
    Terminating,
    Terminated,
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Activating => "ACTIVATING",
            Status::Active => "ACTIVE",
            Status::Terminating => "TERMINATING",
            Status::Terminated => "TERMINATED",
            Status::Error => "ERROR",
        }
    }

    /// The values DescribeGameSessions accepts in StatusFilter (ERROR cannot be filtered on).
    pub fn from_filter(text: &str) -> Option<Status> {
        match text {
            "ACTIVE" => Some(Status::Active),
            "ACTIVATING" => Some(Status::Activating),
            "TERMINATING" => Some(Status::Terminating),
            "TERMINATED" => Some(Status::Terminated),
            _ => None,
        }
    }

    fn is_live(self) -> bool {
        matches!(self, Status::Activating | Status::Active | Status::Terminating)
    }
}

#[derive(Debug, Clone)]
pub struct Session {
    pub seq: u64,
    /// Index into the fleet's `locations` (0 is the home Region).
    pub location: u16,
    pub creation_ms: i64,
    pub termination_ms: Option<i64>,
    pub current_players: u32,
    pub max_players: u32,
    pub status: Status,
    pub interrupted: bool,
    pub accept_all: bool,
}

#[derive(Debug)]
pub struct Fleet {
    pub spec: FleetSpec,
    pub arn: String,
    /// Home Region first, then the remote locations.
    pub locations: Vec<String>,
    pub creation_ms: i64,
    pub sessions: BTreeMap<u64, Session>,
    /// Ended sessions in the order they will expire: (end time ms, seq).
    expiry: VecDeque<(i64, u64)>,
}

impl Fleet {
    pub fn location_index(&self, location: &str) -> Option<u16> {
        self.locations
            .iter()
            .position(|l| l == location)
            .map(|i| i as u16)
    }
}

/// Everything the simulator knows, guarded by one mutex in [`super::Simulator`].
#[derive(Debug)]
pub struct World {
    pub seed: u64,
    pub account_id: String,
    pub retention_ms: i64,
    pub tick_ms: i64,
    pub start_ms: i64,
    /// Evolution steps applied so far; the world is at `start_ms + ticks * tick_ms`.
    pub ticks: u64,
    pub fleets: Vec<Fleet>,
    next_seq: u64,
}

impl World {
    pub fn new(scenario: &Scenario) -> World {
        let start_ms = match scenario.start_time {
            Some(seconds) => seconds * 1000,
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64 * 1000),
        };
        let mut world = World {
            seed: scenario.seed,
            account_id: scenario.account_id.clone(),
            retention_ms: scenario.retention.as_millis() as i64,
            tick_ms: (scenario.tick.as_millis() as i64).max(1),
            start_ms,
            ticks: 0,
            fleets: Vec::new(),
            next_seq: 1,
        };
        for (index, spec) in scenario.fleets.iter().enumerate() {
            world.add_fleet(index, spec.clone());
        }
        world
    }

    pub fn now_ms(&self) -> i64 {
        self.start_ms + self.ticks as i64 * self.tick_ms
    }

    fn add_fleet(&mut self, index: usize, spec: FleetSpec) {
        let mut rng = Rng::new(self.seed, &[0xF1EE7, index as u64]);
        let mut locations = vec![spec.home_region.clone()];
        locations.extend(spec.locations.iter().cloned());
        let arn = format!(
            "arn:aws:gamelift:{}:{}:fleet/{}",
            spec.home_region, self.account_id, spec.id
        );
        let now = self.now_ms();
        let mut fleet = Fleet {
            arn,
            locations,
            creation_ms: now - 90 * 86_400_000,
            sessions: BTreeMap::new(),
            expiry: VecDeque::new(),
            spec,
        };
        let counts = fleet.spec.sessions.clone();
        let mut history = Vec::new();
        for location in 0..fleet.locations.len() as u16 {
            // History first, oldest first, so sequence numbers follow creation time.
            for (count, interrupted) in [(counts.terminated, false), (counts.interrupted, true)] {
                for _ in 0..count {
                    let ended = now - 1 - rng.below(self.retention_ms.max(2) as u64 - 1) as i64;
                    history.push((ended, location, interrupted, false));
                }
            }
            for _ in 0..counts.error {
                let ended = now - 1 - rng.below(86_400_000) as i64;
                history.push((ended, location, false, true));
            }
        }
        history.sort_by_key(|h| h.0);
        for (ended, location, interrupted, error) in history {
            let lifetime = 300_000 + rng.below(3_300_000) as i64;
            let seq = self.take_seq();
            let session = Session {
                seq,
                location,
                creation_ms: ended - lifetime,
                termination_ms: Some(ended),
                current_players: 0,
                max_players: fleet.spec.max_players,
                status: if error { Status::Error } else { Status::Terminated },
                interrupted,
                accept_all: true,
            };
            fleet.expiry.push_back((ended, seq));
            fleet.sessions.insert(seq, session);
        }
        for location in 0..fleet.locations.len() as u16 {
            for (count, status) in [
                (counts.active, Status::Active),
                (counts.activating, Status::Activating),
                (counts.terminating, Status::Terminating),
            ] {
                for _ in 0..count {
                    let seq = self.take_seq();
                    let created = now - rng.below(3_600_000) as i64;
                    let session = new_session(&fleet.spec, &mut rng, seq, location, created, status);
                    fleet.sessions.insert(seq, session);
                }
            }
        }
        self.fleets.push(fleet);
    }

    fn take_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    pub fn fleet(&self, id: &str) -> Option<&Fleet> {
        self.fleets.iter().find(|f| f.spec.id == id)
    }

    pub fn fleet_mut(&mut self, id: &str) -> Option<&mut Fleet> {
        self.fleets.iter_mut().find(|f| f.spec.id == id)
    }

    /// Applies evolution steps until the world reaches `target_ms`.
    pub fn advance_to(&mut self, target_ms: i64) {
        while self.now_ms() + self.tick_ms <= target_ms {
            self.ticks += 1;
            self.step();
        }
    }

    /// One evolution step. Each fleet draws from its own stream seeded by (seed, tick, fleet), so
    /// the outcome does not depend on when, or how often, clients ask.
    fn step(&mut self) {
        let now = self.now_ms();
        let tick = self.ticks;
        let retention = self.retention_ms;
        let mut next_seq = self.next_seq;
        for (index, fleet) in self.fleets.iter_mut().enumerate() {
            let mut rng = Rng::new(self.seed, &[tick, index as u64]);
            // Expire ended sessions past retention.
            while let Some(&(ended, seq)) = fleet.expiry.front() {
                if ended + retention > now {
                    break;
                }
                fleet.expiry.pop_front();
                fleet.sessions.remove(&seq);
            }
            let churn = fleet.spec.churn.clone();
            let spot = fleet.spec.fleet_type == FleetType::Spot;
            let mut interrupted_at = vec![false; fleet.locations.len()];
            if spot && churn.interruption_probability > 0.0 {
                for flag in interrupted_at.iter_mut() {
                    *flag = rng.chance(churn.interruption_probability);
                }
            }
            for session in fleet.sessions.values_mut() {
                if !session.status.is_live() {
                    continue;
                }
                match session.status {
                    Status::Terminating => {
                        end_session(session, now, false);
                        fleet.expiry.push_back((now, session.seq));
                    }
                    Status::Activating => {
                        if rng.chance(churn.activation_probability) {
                            session.status = Status::Active;
                        }
                    }
                    Status::Active => {
                        if interrupted_at[session.location as usize]
                            && rng.chance(churn.interruption_fraction)
                        {
                            end_session(session, now, true);
                            fleet.expiry.push_back((now, session.seq));
                        } else if rng.chance(churn.end_probability) {
                            session.status = Status::Terminating;
                            session.current_players = 0;
                        } else if churn.player_change > 0 {
                            let change = rng.below(2 * churn.player_change as u64 + 1) as i64
                                - churn.player_change as i64;
                            let players = (session.current_players as i64 + change)
                                .clamp(0, session.max_players as i64);
                            session.current_players = players as u32;
                        }
                    }
                    Status::Terminated | Status::Error => {}
                }
            }
            if churn.new_sessions_per_tick > 0.0 {
                for location in 0..fleet.locations.len() as u16 {
                    let whole = churn.new_sessions_per_tick.floor() as u64;
                    let extra = u64::from(rng.chance(churn.new_sessions_per_tick.fract()));
                    for _ in 0..whole + extra {
                        let seq = next_seq;
                        next_seq += 1;
                        let session =
                            new_session(&fleet.spec, &mut rng, seq, location, now, Status::Activating);
                        fleet.sessions.insert(seq, session);
                    }
                }
            }
        }
        self.next_seq = next_seq;
    }

    /// Reclaims spot capacity now: the first `count` ACTIVE sessions at `location` end INTERRUPTED.
    /// Returns the sequence numbers of the sessions it ended.
    pub fn interrupt(&mut self, fleet_id: &str, location: &str, count: usize) -> Result<Vec<u64>, String> {
        let now = self.now_ms();
        let fleet = self
            .fleet_mut(fleet_id)
            .ok_or_else(|| format!("no fleet {fleet_id}"))?;
        let location = fleet
            .location_index(location)
            .ok_or_else(|| format!("fleet {fleet_id} has no location {location}"))?;
        let mut ended = Vec::new();
        for session in fleet.sessions.values_mut() {
            if ended.len() == count {
                break;
            }
            if session.location == location && session.status == Status::Active {
                end_session(session, now, true);
                ended.push(session.seq);
            }
        }
        for seq in &ended {
            fleet.expiry.push_back((now, *seq));
        }
        Ok(ended)
    }

    /// Removes a fleet and its sessions, as DeleteFleet would.
    pub fn delete_fleet(&mut self, fleet_id: &str) -> bool {
        let before = self.fleets.len();
        self.fleets.retain(|f| f.spec.id != fleet_id);
        self.fleets.len() != before
    }

    /// Adds a fleet while running (discovery tests).
    pub fn create_fleet(&mut self, spec: FleetSpec) {
        let index = self.fleets.len() + 1000;
        self.add_fleet(index, spec);
    }
}

fn end_session(session: &mut Session, now: i64, interrupted: bool) {
    session.status = Status::Terminated;
    session.termination_ms = Some(now);
    session.current_players = 0;
    session.interrupted = interrupted;
}

fn new_session(
    spec: &FleetSpec,
    rng: &mut Rng,
    seq: u64,
    location: u16,
    created: i64,
    status: Status,
) -> Session {
    let max = spec.max_players;
    let occupancy = &spec.occupancy;
    let players = if status != Status::Active {
        0
    } else {
        let draw = rng.unit();
        if draw < occupancy.empty {
            0
        } else if draw < occupancy.empty + occupancy.full {
            max
        } else if max > 1 {
            1 + rng.below(u64::from(max - 1)) as u32
        } else {
            max
        }
    };
    Session {
        seq,
        location,
        creation_ms: created,
        termination_ms: None,
        current_players: players,
        max_players: max,
        status,
        interrupted: false,
        accept_all: !rng.chance(occupancy.deny_all),
    }
}
