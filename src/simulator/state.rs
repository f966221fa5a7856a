//! The simulated world: fleets, their sessions, the EC2 instances hosting them, fleet events,
//! and how they evolve tick by tick.
//!
//! Sessions are kept per fleet in a `BTreeMap` keyed by a global creation sequence number, so a
//! page token only needs "the last sequence number returned" and paging never returns a session
//! twice, even while sessions are created and removed between pages. Session details that are
//! pure functions of the sequence number (ARN, IP, DNS name...) are derived, not stored, and a
//! session names its instance by a 4-byte index: a million sessions (with their instances) take
//! about 140 MB.
//!
//! Events are a per-fleet log in emission order, which is also time order (simulated time never
//! goes back), so DescribeFleetEvents pages newest first from "below the last event returned".

use super::rng::Rng;
use super::scenario::{is_instance_event, ComputeType, FleetSpec, FleetType, Scenario};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

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
    /// Index into the fleet's instances: the instance that hosts (or hosted) the session.
    pub instance: u32,
    pub creation_ms: i64,
    pub termination_ms: Option<i64>,
    pub current_players: u32,
    pub max_players: u32,
    pub status: Status,
    pub interrupted: bool,
    pub accept_all: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceState {
    /// Launched to bring a location back up to DESIRED, not ready yet: hosts nothing.
    Pending,
    /// Hosts sessions and takes new ones while it has a free slot.
    Running,
    /// Spot capacity reclaimed, notice running: takes no new session, and its sessions end only
    /// with it, all INTERRUPTED.
    Reclaiming,
    /// Reclaimed, or the host of sessions that ended before the simulation started.
    Gone,
}

#[derive(Debug, Clone)]
pub struct Instance {
    /// World-wide creation number; the EC2-style id is derived from it and the seed.
    pub number: u64,
    pub location: u16,
    pub state: InstanceState,
    /// Sequence numbers of the live sessions it hosts, oldest first.
    pub hosted: Vec<u64>,
}

/// A fleet's EC2 instances and where the free game-server slots are.
#[derive(Debug)]
pub struct Hosts {
    pub instances: Vec<Instance>,
    /// Per location, the running instances with a free slot; placement takes the lowest index.
    free: Vec<BTreeSet<u32>>,
    /// Per location, the instances that are not gone (pending, running or reclaiming): what
    /// DESIRED and MAXIMUM are held against, kept as a count so no tick has to scan.
    alive: Vec<u32>,
    slots_per_instance: usize,
}

impl Hosts {
    fn new(locations: usize, slots_per_instance: u32) -> Hosts {
        Hosts {
            instances: Vec::new(),
            free: vec![BTreeSet::new(); locations],
            alive: vec![0; locations],
            slots_per_instance: slots_per_instance.max(1) as usize,
        }
    }

    pub fn slots_per_instance(&self) -> u32 {
        self.slots_per_instance as u32
    }

    fn launch(&mut self, ids: &mut Ids, location: u16, state: InstanceState) -> u32 {
        let index = u32::try_from(self.instances.len()).expect("fewer than 2^32 instances per fleet");
        self.instances.push(Instance {
            number: ids.take_instance(),
            location,
            state,
            hosted: Vec::new(),
        });
        match state {
            InstanceState::Gone => {}
            InstanceState::Running => {
                self.alive[location as usize] += 1;
                self.free[location as usize].insert(index);
            }
            InstanceState::Pending | InstanceState::Reclaiming => self.alive[location as usize] += 1,
        }
        index
    }

    /// The lowest-numbered running instance of a location with a free slot.
    fn free_slot(&self, location: u16) -> Option<u32> {
        self.free[location as usize].first().copied()
    }

    /// Puts a live session on an instance that has a free slot.
    fn occupy(&mut self, index: u32, seq: u64) {
        let instance = &mut self.instances[index as usize];
        instance.hosted.push(seq);
        if instance.hosted.len() >= self.slots_per_instance {
            self.free[instance.location as usize].remove(&index);
        }
    }

    /// A pending instance is ready: every slot free.
    fn activate(&mut self, index: u32) {
        let instance = &mut self.instances[index as usize];
        debug_assert_eq!(instance.state, InstanceState::Pending);
        instance.state = InstanceState::Running;
        self.free[instance.location as usize].insert(index);
    }

    /// Frees the slot of a session that ended.
    fn release(&mut self, index: u32, seq: u64) {
        let instance = &mut self.instances[index as usize];
        if let Some(position) = instance.hosted.iter().position(|s| *s == seq) {
            instance.hosted.remove(position);
        }
        if instance.state == InstanceState::Running {
            self.free[instance.location as usize].insert(index);
        }
    }

    /// Stops placing sessions on an instance whose capacity is being reclaimed.
    fn begin_reclaim(&mut self, index: u32) {
        let instance = &mut self.instances[index as usize];
        instance.state = InstanceState::Reclaiming;
        self.free[instance.location as usize].remove(&index);
    }

    /// The instance is gone; returns the sessions it still hosted.
    fn retire(&mut self, index: u32) -> Vec<u64> {
        let instance = &mut self.instances[index as usize];
        if instance.state != InstanceState::Gone {
            self.alive[instance.location as usize] -= 1;
        }
        instance.state = InstanceState::Gone;
        self.free[instance.location as usize].remove(&index);
        std::mem::take(&mut instance.hosted)
    }

    /// Running or reclaiming instances at a location, lowest index first (pending ones are not
    /// up yet: nothing runs on them for an event to be about).
    fn existing_at(&self, location: u16) -> impl Iterator<Item = (u32, &Instance)> {
        self.instances
            .iter()
            .enumerate()
            .filter(move |(_, i)| {
                i.location == location
                    && matches!(i.state, InstanceState::Running | InstanceState::Reclaiming)
            })
            .map(|(index, i)| (index as u32, i))
    }
}

/// Instance limits and status of one fleet location.
#[derive(Debug, Clone)]
pub struct LocationCapacity {
    pub minimum: u32,
    /// None: no limit (MAXIMUM then reports DESIRED).
    pub maximum: Option<u32>,
    pub desired: u32,
    /// `LocationState.Status` (a `FleetStatus`).
    pub status: &'static str,
}

/// FleetUtilization numbers of one fleet location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Utilization {
    pub active_server_processes: u32,
    pub active_game_sessions: u32,
    pub current_player_sessions: u32,
    pub maximum_player_sessions: u32,
}

/// Instance counts of one fleet location, by state, as DescribeFleetCapacity reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InstanceCounts {
    pub pending: u32,
    pub active: u32,
    pub idle: u32,
    pub terminating: u32,
    /// Live sessions hosted on running instances: busy game-server slots.
    pub busy_slots: u32,
}

/// One entry of a fleet's event log (DescribeFleetEvents).
#[derive(Debug, Clone)]
pub struct Event {
    /// World-wide emission order: the EventId derives from it, and pages resume below it.
    pub number: u64,
    pub resource_id: String,
    pub code: &'static str,
    pub message: String,
    pub time_ms: i64,
    pub count: Option<i64>,
}

#[derive(Debug)]
pub struct Fleet {
    pub spec: FleetSpec,
    pub arn: String,
    /// Home Region first, then the remote locations.
    pub locations: Vec<String>,
    pub creation_ms: i64,
    pub sessions: BTreeMap<u64, Session>,
    pub hosts: Hosts,
    /// Oldest first; emission order is also time order, since simulated time never goes back.
    pub events: VecDeque<Event>,
    /// Keys that turn creation numbers into instance and event ids (from the seed).
    id_keys: IdKeys,
    /// Ended sessions in the order they will expire: (end time ms, seq).
    expiry: VecDeque<(i64, u64)>,
    /// Instances under a reclaim notice: (time their sessions end, instance index).
    reclaims: Vec<(i64, u32)>,
    /// Pending instances: (time they become ACTIVE, instance index).
    pending: Vec<(i64, u32)>,
    /// Per location (same order as `locations`).
    pub capacity: Vec<LocationCapacity>,
    /// The fleet's `Status` (a `FleetStatus`).
    pub status: &'static str,
}

impl Fleet {
    pub fn location_index(&self, location: &str) -> Option<u16> {
        self.locations
            .iter()
            .position(|l| l == location)
            .map(|i| i as u16)
    }

    /// EC2-style id of an instance: `i-` and 17 hex digits, unique in the world.
    pub fn instance_id(&self, index: u32) -> String {
        let number = self.hosts.instances[index as usize].number;
        format!("i-0{:016x}", scramble(number, self.id_keys.instance))
    }

    /// UUID-shaped EventId, unique in the world (the creation number is embedded bijectively).
    pub fn event_id(&self, event: &Event) -> String {
        let v = scramble(event.number, self.id_keys.event);
        let h = scramble(v, self.id_keys.instance);
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            v >> 32,
            (v >> 16) & 0xffff,
            h & 0xfff,
            0x8000 | ((h >> 12) & 0x3fff),
            ((v & 0xffff) << 32) | (h >> 32)
        )
    }

    fn find_instance(&self, instance_id: &str) -> Option<u32> {
        (0..self.hosts.instances.len() as u32).find(|&index| self.instance_id(index) == instance_id)
    }

    fn emit(
        &mut self,
        ids: &mut Ids,
        now: i64,
        code: &'static str,
        resource_id: String,
        count: Option<i64>,
    ) -> u64 {
        let number = ids.take_event();
        let message = event_message(code, &resource_id, &self.spec.id);
        self.events.push_back(Event {
            number,
            resource_id,
            code,
            message,
            time_ms: now,
            count,
        });
        number
    }

    fn end(&mut self, seq: u64, now: i64, interrupted: bool) {
        let session = self.sessions.get_mut(&seq).expect("hosted sessions exist");
        end_session(session, now, interrupted);
        self.expiry.push_back((now, seq));
    }

    /// Reclaims an instance's spot capacity: INSTANCE_INTERRUPTED now, and every live session on
    /// it ends INTERRUPTED now (`notice_ms` 0) or at the first tick at or after now + notice.
    /// Returns the sessions that end or will end, in creation order.
    fn reclaim(&mut self, ids: &mut Ids, index: u32, now: i64, notice_ms: i64) -> Vec<u64> {
        let instance_id = self.instance_id(index);
        self.emit(ids, now, "INSTANCE_INTERRUPTED", instance_id, None);
        if notice_ms <= 0 {
            return self.finish_reclaim(ids, index, now);
        }
        self.hosts.begin_reclaim(index);
        self.reclaims.push((now + notice_ms, index));
        let mut hosted = self.hosts.instances[index as usize].hosted.clone();
        hosted.sort_unstable();
        hosted
    }

    fn finish_reclaim(&mut self, ids: &mut Ids, index: u32, now: i64) -> Vec<u64> {
        let location = self.hosts.instances[index as usize].location;
        let mut hosted = self.hosts.retire(index);
        hosted.sort_unstable();
        for &seq in &hosted {
            self.end(seq, now, true);
        }
        self.replace(ids, location, now);
        hosted
    }

    /// GameLift keeps a location at DESIRED: launches instances, PENDING for `pending_time`,
    /// while fewer exist (unless the scenario says lost instances are not replaced).
    fn replace(&mut self, ids: &mut Ids, location: u16, now: i64) {
        if !self.spec.capacity.replace_interrupted {
            return;
        }
        let pending_ms = self.spec.capacity.pending_time.as_millis() as i64;
        while self.hosts.alive[location as usize] < self.capacity[location as usize].desired {
            if pending_ms == 0 {
                self.hosts.launch(ids, location, InstanceState::Running);
            } else {
                let index = self.hosts.launch(ids, location, InstanceState::Pending);
                self.pending.push((now + pending_ms, index));
            }
        }
    }

    /// An instance with a free slot for a new session at `location`: the lowest-numbered running
    /// one, else a newly launched one (running at once, and DESIRED follows, as autoscaling
    /// would) while the location is below MAXIMUM. None with every slot taken at MAXIMUM, or
    /// while an instance is pending there: the capacity on its way is what the session would
    /// get, and launching another one beside it would leave DESIRED higher after every reclaim.
    fn slot_for_new_session(&mut self, ids: &mut Ids, location: u16) -> Option<u32> {
        if let Some(index) = self.hosts.free_slot(location) {
            return Some(index);
        }
        let instances = &self.hosts.instances;
        if self
            .pending
            .iter()
            .any(|&(_, index)| instances[index as usize].location == location)
        {
            return None;
        }
        let alive = self.hosts.alive[location as usize];
        let capacity = &mut self.capacity[location as usize];
        if capacity.maximum.is_some_and(|maximum| alive >= maximum) {
            return None;
        }
        let index = self.hosts.launch(ids, location, InstanceState::Running);
        capacity.desired = capacity.desired.max(alive + 1);
        Some(index)
    }

    /// Instance counts at a location, by state.
    pub fn instance_counts(&self, location: u16) -> InstanceCounts {
        let mut counts = InstanceCounts::default();
        for instance in self.hosts.instances.iter().filter(|i| i.location == location) {
            match instance.state {
                InstanceState::Pending => counts.pending += 1,
                InstanceState::Running => {
                    counts.active += 1;
                    counts.idle += u32::from(instance.hosted.is_empty());
                    counts.busy_slots += instance.hosted.len() as u32;
                }
                InstanceState::Reclaiming => counts.terminating += 1,
                InstanceState::Gone => {}
            }
        }
        counts
    }

    /// Game server container groups at a location of a CONTAINER fleet (None for other fleets):
    /// one per game-server slot. PENDING: on pending instances, starting up; ACTIVE: hosting a
    /// game session; IDLE: on a running instance, hosting none; TERMINATING: on an instance
    /// whose capacity is being reclaimed.
    pub fn container_groups(&self, location: u16) -> Option<super::ContainerGroupCounts> {
        if self.spec.compute_type != ComputeType::Container {
            return None;
        }
        let counts = self.instance_counts(location);
        let slots = self.hosts.slots_per_instance();
        Some(super::ContainerGroupCounts {
            pending: counts.pending * slots,
            active: counts.busy_slots,
            idle: counts.active * slots - counts.busy_slots,
            terminating: counts.terminating * slots,
        })
    }

    /// FleetUtilization at a location: server processes on running instances (one per slot),
    /// and the ACTIVE and ACTIVATING game sessions with their players and player limits.
    pub fn utilization(&self, location: u16) -> Utilization {
        let mut out = Utilization::default();
        let slots = self.hosts.slots_per_instance();
        for instance in self.hosts.instances.iter().filter(|i| i.location == location) {
            if instance.state == InstanceState::Running {
                out.active_server_processes += slots;
            }
            for seq in &instance.hosted {
                let session = &self.sessions[seq];
                if matches!(session.status, Status::Active | Status::Activating) {
                    out.active_game_sessions += 1;
                    out.current_player_sessions += session.current_players;
                    out.maximum_player_sessions += session.max_players;
                }
            }
        }
        out
    }

    /// MAXIMUM as reported: the limit, or DESIRED when there is none.
    pub fn maximum(&self, location: u16) -> u32 {
        let capacity = &self.capacity[location as usize];
        capacity.maximum.unwrap_or(capacity.desired)
    }

    /// Whether DescribeFleetCapacity and the instance counts apply: EC2 and CONTAINER fleets.
    pub fn has_managed_capacity(&self) -> bool {
        self.spec.compute_type != ComputeType::Anywhere
    }

    /// Sets a location's limits and DESIRED (test control, as UpdateFleetCapacity would). Above
    /// the instances there, replacements are launched (if the fleet replaces at all); below,
    /// pending instances are cancelled, then idle running ones stopped, newest first: an
    /// instance hosting sessions is never stopped.
    pub fn set_capacity(
        &mut self,
        ids: &mut Ids,
        location: u16,
        minimum: u32,
        maximum: u32,
        desired: u32,
        now: i64,
    ) {
        self.capacity[location as usize] = LocationCapacity {
            minimum,
            maximum: Some(maximum),
            desired,
            status: self.capacity[location as usize].status,
        };
        let excess = |hosts: &Hosts| hosts.alive[location as usize] > desired;
        while excess(&self.hosts) {
            let Some(position) = self
                .pending
                .iter()
                .rposition(|&(_, index)| self.hosts.instances[index as usize].location == location)
            else {
                break;
            };
            let (_, index) = self.pending.remove(position);
            self.hosts.retire(index);
        }
        while excess(&self.hosts) {
            let idle = (0..self.hosts.instances.len() as u32).rev().find(|&index| {
                let instance = &self.hosts.instances[index as usize];
                instance.location == location
                    && instance.state == InstanceState::Running
                    && instance.hosted.is_empty()
            });
            let Some(index) = idle else { break };
            self.hosts.retire(index);
        }
        self.replace(ids, location, now);
    }
}

/// What turns creation numbers into ids.
#[derive(Debug, Clone, Copy)]
struct IdKeys {
    instance: u64,
    event: u64,
}

/// World-wide counters: every session, instance and event gets the next number of its kind.
#[derive(Debug)]
pub struct Ids {
    next_seq: u64,
    next_instance: u64,
    next_event: u64,
}

impl Ids {
    fn take_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq - 1
    }
    fn take_instance(&mut self) -> u64 {
        self.next_instance += 1;
        self.next_instance - 1
    }
    fn take_event(&mut self) -> u64 {
        self.next_event += 1;
        self.next_event - 1
    }
}

/// A bijection of u64 (xor with a key, then SplitMix64's finalizer): distinct numbers always
/// give distinct ids, which still look random.
pub(super) fn scramble(value: u64, key: u64) -> u64 {
    let mut z = value ^ key;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A short human text, in the manner of the messages GameLift puts on its events.
fn event_message(code: &str, resource: &str, fleet_id: &str) -> String {
    match code {
        "INSTANCE_INTERRUPTED" => format!(
            "Spot instance {resource} of fleet {fleet_id} was interrupted: EC2 reclaimed its capacity."
        ),
        "INSTANCE_RECYCLED" => format!(
            "Spot instance {resource} of fleet {fleet_id} was recycled to reduce the risk of interruption."
        ),
        "INSTANCE_REPLACED_UNHEALTHY" => {
            format!("Instance {resource} of fleet {fleet_id} was unhealthy and has been replaced.")
        }
        "SERVER_PROCESS_CRASHED" => {
            format!("A server process on instance {resource} exited without calling ProcessEnding().")
        }
        "SERVER_PROCESS_TERMINATED_UNHEALTHY" => {
            format!("A server process on instance {resource} stopped reporting health and was terminated.")
        }
        "GAME_SESSION_ACTIVATION_TIMEOUT" => {
            format!("A game session on instance {resource} did not call ActivateGameSession() in time.")
        }
        _ => {
            let words = code.replace('_', " ").to_lowercase();
            let mut chars = words.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase()).unwrap_or(' ');
            format!("{first}{}: {resource}.", chars.as_str())
        }
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
    /// Game session queues, matchmaking, and their pending placements and tickets.
    pub placements: super::placements::Placements,
    pub ids: Ids,
    id_keys: IdKeys,
    /// How DescribeFleetEvents orders its pages.
    pub events_order: super::scenario::EventsOrder,
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
            placements: Default::default(),
            events_order: scenario.events_order,
            ids: Ids {
                next_seq: 1,
                next_instance: 1,
                next_event: 1,
            },
            id_keys: IdKeys {
                instance: Rng::new(scenario.seed, &[0x1D5]).next_u64(),
                event: Rng::new(scenario.seed, &[0xE7E]).next_u64(),
            },
        };
        for (index, spec) in scenario.fleets.iter().enumerate() {
            world.add_fleet(index, spec.clone());
        }
        world.placements = super::placements::Placements::new(scenario, &world);
        world
    }

    pub fn now_ms(&self) -> i64 {
        self.start_ms + self.ticks as i64 * self.tick_ms
    }

    fn add_fleet(&mut self, index: usize, spec: FleetSpec) {
        let mut rng = Rng::new(self.seed, &[0xF1EE7, index as u64]);
        let mut locations = vec![spec.home_region.clone()];
        locations.extend(spec.locations.iter().cloned());
        let account = spec.account.as_deref().unwrap_or(&self.account_id);
        let arn = format!(
            "arn:aws:gamelift:{}:{account}:fleet/{}",
            spec.home_region, spec.id
        );
        let now = self.now_ms();
        let slots = spec.sessions_per_instance.max(1);
        let mut fleet = Fleet {
            arn,
            creation_ms: now - 90 * 86_400_000,
            sessions: BTreeMap::new(),
            hosts: Hosts::new(locations.len(), slots),
            events: VecDeque::new(),
            id_keys: self.id_keys,
            expiry: VecDeque::new(),
            reclaims: Vec::new(),
            pending: Vec::new(),
            // No limit while the initial sessions are placed; the scenario's numbers follow.
            capacity: locations
                .iter()
                .map(|location| LocationCapacity {
                    minimum: 0,
                    maximum: None,
                    desired: 0,
                    status: spec.location_status.get(location).copied().unwrap_or_default().0,
                })
                .collect(),
            status: spec.status.0,
            locations,
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
        // Ended sessions were hosted by instances that are gone by now, a full one per
        // `sessions_per_instance` of them at each location.
        let mut ghost: Vec<Option<(u32, u32)>> = vec![None; fleet.locations.len()];
        for (ended, location, interrupted, error) in history {
            let lifetime = 300_000 + rng.below(3_300_000) as i64;
            let seq = self.ids.take_seq();
            let instance = match ghost[location as usize] {
                Some((index, used)) if used < slots => {
                    ghost[location as usize] = Some((index, used + 1));
                    index
                }
                _ => {
                    let index = fleet.hosts.launch(&mut self.ids, location, InstanceState::Gone);
                    ghost[location as usize] = Some((index, 1));
                    index
                }
            };
            let session = Session {
                seq,
                location,
                instance,
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
                    let seq = self.ids.take_seq();
                    let created = now - rng.below(3_600_000) as i64;
                    let instance = fleet
                        .slot_for_new_session(&mut self.ids, location)
                        .expect("no limit while the initial sessions are placed");
                    fleet.hosts.occupy(instance, seq);
                    let session =
                        new_session(&fleet.spec, &mut rng, seq, location, instance, created, status);
                    fleet.sessions.insert(seq, session);
                }
            }
            // The scenario's limits; DESIRED by default is what the initial sessions need. Extra
            // desired instances start running and idle.
            let spec = fleet.spec.capacity.clone();
            let alive = fleet.hosts.alive[location as usize];
            let desired = spec.desired.unwrap_or(alive.max(spec.minimum)).max(alive);
            let capacity = &mut fleet.capacity[location as usize];
            capacity.minimum = spec.minimum;
            capacity.maximum = spec.maximum.map(|maximum| maximum.max(desired));
            capacity.desired = desired;
            for _ in alive..desired {
                fleet
                    .hosts
                    .launch(&mut self.ids, location, InstanceState::Running);
            }
        }
        self.fleets.push(fleet);
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

    /// One evolution step. Each fleet draws from its own streams seeded by (seed, tick, fleet), so
    /// the outcome does not depend on when, or how often, clients ask; spot reclaims and random
    /// events have streams of their own, so turning them on leaves session evolution unchanged.
    fn step(&mut self) {
        let now = self.now_ms();
        let tick = self.ticks;
        // Placements first: the sessions they create date from within the tick just ended, so
        // they come before this tick's churn in both creation time and sequence number.
        let mut placements = std::mem::take(&mut self.placements);
        placements.step(self, now, tick);
        self.placements = placements;
        let retention = self.retention_ms;
        let ids = &mut self.ids;
        for (index, fleet) in self.fleets.iter_mut().enumerate() {
            let mut rng = Rng::new(self.seed, &[tick, index as u64]);
            let mut spot_rng = Rng::new(self.seed, &[tick, index as u64, 0x5B07]);
            let mut event_rng = Rng::new(self.seed, &[tick, index as u64, 0xE7E]);
            // Expire ended sessions and events past retention.
            while let Some(&(ended, seq)) = fleet.expiry.front() {
                if ended + retention > now {
                    break;
                }
                fleet.expiry.pop_front();
                fleet.sessions.remove(&seq);
            }
            while fleet.events.front().is_some_and(|e| e.time_ms + retention <= now) {
                fleet.events.pop_front();
            }
            // Pending instances whose time has come are ready to host.
            let mut ready = Vec::new();
            fleet.pending.retain(|&(at, instance)| {
                let is_due = at <= now;
                if is_due {
                    ready.push(instance);
                }
                !is_due
            });
            for instance in ready {
                fleet.hosts.activate(instance);
            }
            // Reclaims whose notice has run out take their sessions with them.
            let mut due = Vec::new();
            fleet.reclaims.retain(|&(at, instance)| {
                let is_due = at <= now;
                if is_due {
                    due.push(instance);
                }
                !is_due
            });
            for instance in due {
                fleet.finish_reclaim(ids, instance, now);
            }
            let churn = fleet.spec.churn.clone();
            if fleet.spec.fleet_type == FleetType::Spot && churn.interruption_probability > 0.0 {
                let notice_ms = churn.interruption_notice.as_millis() as i64;
                for location in 0..fleet.locations.len() as u16 {
                    if !spot_rng.chance(churn.interruption_probability) {
                        continue;
                    }
                    let mut candidates: Vec<u32> = fleet
                        .hosts
                        .existing_at(location)
                        .filter(|(_, i)| i.state == InstanceState::Running && !i.hosted.is_empty())
                        .map(|(index, _)| index)
                        .collect();
                    let wanted = ((churn.interruption_fraction * candidates.len() as f64).round() as usize)
                        .max(1)
                        .min(candidates.len());
                    // A partial Fisher-Yates shuffle: `wanted` distinct instances, seeded.
                    for i in 0..wanted {
                        let j = i + spot_rng.below((candidates.len() - i) as u64) as usize;
                        candidates.swap(i, j);
                    }
                    for &instance in &candidates[..wanted] {
                        fleet.reclaim(ids, instance, now, notice_ms);
                    }
                }
            }
            let Fleet {
                sessions,
                hosts,
                expiry,
                ..
            } = &mut *fleet;
            for session in sessions.values_mut() {
                if !session.status.is_live() {
                    continue;
                }
                // Under a reclaim notice a session ends only with its instance.
                let reclaiming =
                    hosts.instances[session.instance as usize].state == InstanceState::Reclaiming;
                match session.status {
                    Status::Terminating => {
                        if !reclaiming {
                            end_session(session, now, false);
                            expiry.push_back((now, session.seq));
                            hosts.release(session.instance, session.seq);
                        }
                    }
                    Status::Activating => {
                        if rng.chance(churn.activation_probability) {
                            session.status = Status::Active;
                        }
                    }
                    Status::Active => {
                        if rng.chance(churn.end_probability) && !reclaiming {
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
                        // At MAXIMUM with every slot taken, the session is not placed.
                        let Some(instance) = fleet.slot_for_new_session(ids, location) else {
                            continue;
                        };
                        let seq = ids.take_seq();
                        fleet.hosts.occupy(instance, seq);
                        let session = new_session(
                            &fleet.spec,
                            &mut rng,
                            seq,
                            location,
                            instance,
                            now,
                            Status::Activating,
                        );
                        fleet.sessions.insert(seq, session);
                    }
                }
            }
            for location in 0..fleet.locations.len() as u16 {
                for (code, probability) in &churn.events {
                    if !event_rng.chance(probability.0) {
                        continue;
                    }
                    let resource = if is_instance_event(code.0) {
                        let existing: Vec<u32> = fleet
                            .hosts
                            .existing_at(location)
                            .map(|(index, _)| index)
                            .collect();
                        if existing.is_empty() {
                            // Nothing runs there for the event to be about.
                            continue;
                        }
                        let pick = existing[event_rng.below(existing.len() as u64) as usize];
                        fleet.instance_id(pick)
                    } else {
                        fleet.spec.id.clone()
                    };
                    fleet.emit(ids, now, code.0, resource, None);
                }
            }
        }
    }

    /// Reclaims now, without notice, the first `count` instances at `location` that host ACTIVE
    /// sessions. Returns the sequence numbers of every session that ended.
    pub fn interrupt_instances(
        &mut self,
        fleet_id: &str,
        location: &str,
        count: usize,
    ) -> Result<Vec<u64>, String> {
        let now = self.now_ms();
        let ids = &mut self.ids;
        let fleet = spot_fleet(&mut self.fleets, fleet_id)?;
        let location_index = fleet
            .location_index(location)
            .ok_or_else(|| format!("fleet {fleet_id} has no location {location}"))?;
        let chosen: Vec<u32> = fleet
            .hosts
            .existing_at(location_index)
            .filter(|(_, instance)| {
                instance.state == InstanceState::Running
                    && instance
                        .hosted
                        .iter()
                        .any(|seq| fleet.sessions[seq].status == Status::Active)
            })
            .map(|(index, _)| index)
            .take(count)
            .collect();
        let mut ended = Vec::new();
        for index in chosen {
            ended.extend(fleet.reclaim(ids, index, now, 0));
        }
        Ok(ended)
    }

    /// Reclaims one instance with `notice_ms` of notice. Returns the sequence numbers of the
    /// sessions that ended (no notice) or will end when the notice runs out.
    pub fn interrupt_instance(
        &mut self,
        fleet_id: &str,
        instance_id: &str,
        notice_ms: i64,
    ) -> Result<Vec<u64>, String> {
        let now = self.now_ms();
        let ids = &mut self.ids;
        let fleet = spot_fleet(&mut self.fleets, fleet_id)?;
        let index = fleet
            .find_instance(instance_id)
            .ok_or_else(|| format!("fleet {fleet_id} has no instance {instance_id}"))?;
        match fleet.hosts.instances[index as usize].state {
            InstanceState::Running => Ok(fleet.reclaim(ids, index, now, notice_ms)),
            InstanceState::Reclaiming => Err(format!(
                "instance {instance_id} of fleet {fleet_id} is already being reclaimed"
            )),
            InstanceState::Pending => Err(format!(
                "instance {instance_id} of fleet {fleet_id} is still pending"
            )),
            InstanceState::Gone => Err(format!(
                "instance {instance_id} of fleet {fleet_id} no longer exists"
            )),
        }
    }

    /// Appends an event to a fleet's log now; the resource defaults to the fleet. Returns its
    /// number.
    pub fn emit_event(
        &mut self,
        fleet_id: &str,
        code: &str,
        resource_id: Option<&str>,
        count: Option<i64>,
    ) -> Result<u64, String> {
        let now = self.now_ms();
        let ids = &mut self.ids;
        let fleet = self
            .fleets
            .iter_mut()
            .find(|f| f.spec.id == fleet_id)
            .ok_or_else(|| format!("no fleet {fleet_id}"))?;
        let code = super::scenario::event_code(code)
            .ok_or_else(|| format!("unknown event code {code:?}: expected a GameLift EventCode"))?;
        let resource = resource_id.map_or_else(|| fleet.spec.id.clone(), str::to_string);
        Ok(fleet.emit(ids, now, code, resource, count))
    }

    /// A new ACTIVE session for a fulfilled queue placement: `players` players (at most the
    /// fleet's max) on a fleet's location, created at `created_ms`. Returns its sequence number;
    /// `None` when the location has no slot for it (every one taken at MAXIMUM, or capacity
    /// pending), as for any new session.
    pub(super) fn place_session(
        &mut self,
        fleet: usize,
        location: u16,
        created_ms: i64,
        players: u32,
    ) -> Option<u64> {
        let fleet = &mut self.fleets[fleet];
        let instance = fleet.slot_for_new_session(&mut self.ids, location)?;
        let seq = self.ids.take_seq();
        fleet.hosts.occupy(instance, seq);
        let max_players = fleet.spec.max_players;
        fleet.sessions.insert(
            seq,
            Session {
                seq,
                location,
                instance,
                creation_ms: created_ms,
                termination_ms: None,
                current_players: players.min(max_players),
                max_players,
                status: Status::Active,
                interrupted: false,
                accept_all: true,
            },
        );
        Some(seq)
    }

    /// Sets the limits and DESIRED of a fleet location (see [`Fleet::set_capacity`]).
    pub fn set_capacity(
        &mut self,
        fleet_id: &str,
        location: &str,
        minimum: u32,
        maximum: u32,
        desired: u32,
    ) -> Result<(), String> {
        if !(minimum <= desired && desired <= maximum) {
            return Err(format!(
                "invalid capacity for {fleet_id} in {location}: expected minimum {minimum} <= desired {desired} <= maximum {maximum}"
            ));
        }
        let now = self.now_ms();
        let ids = &mut self.ids;
        let fleet = self
            .fleets
            .iter_mut()
            .find(|f| f.spec.id == fleet_id)
            .ok_or_else(|| format!("no fleet {fleet_id}"))?;
        let index = fleet
            .location_index(location)
            .ok_or_else(|| format!("fleet {fleet_id} has no location {location}"))?;
        fleet.set_capacity(ids, index, minimum, maximum, desired, now);
        Ok(())
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

/// A SPOT fleet by id, for the operations that interrupt instances.
fn spot_fleet<'a>(fleets: &'a mut [Fleet], fleet_id: &str) -> Result<&'a mut Fleet, String> {
    let fleet = fleets
        .iter_mut()
        .find(|f| f.spec.id == fleet_id)
        .ok_or_else(|| format!("no fleet {fleet_id}"))?;
    if fleet.spec.fleet_type != FleetType::Spot {
        return Err(format!(
            "fleet {fleet_id} is ON_DEMAND: only SPOT instances are interrupted"
        ));
    }
    Ok(fleet)
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
    instance: u32,
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
        instance,
        creation_ms: created,
        termination_ms: None,
        current_players: players,
        max_players: max,
        status,
        interrupted: false,
        accept_all: !rng.chance(occupancy.deny_all),
    }
}
