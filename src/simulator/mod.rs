//! A wire-faithful Amazon GameLift simulator: the stand-in for AWS in tests, demo and benchmarks.
//!
//! It answers the operations the exporter uses, DescribeGameSessionDetails, DescribeFleetEvents
//! and the fleet capacity and utilization operations, over both protocols real clients speak (Smithy RPC v2 CBOR for
//! `aws-sdk-gamelift`, AWS JSON 1.1 for boto3 and the AWS CLI), evolves a seeded world of fleets,
//! instances (with their capacity limits and replacements), sessions and fleet events on a
//! controllable clock, injects faults, and records
//! every request so tests can count API calls and compute expected metrics on their own.
//!
//! Layout: [`scenario`] (the TOML input), [`state`] (sessions and evolution), [`ops`] (operations
//! and errors), [`wire`] (CBOR/JSON), [`server`] (HTTP, auth, faults, request log), [`accounts`]
//! (several AWS accounts, who signed a request), `sts` (AssumeRole, Query protocol, XML),
//! `limits` (AWS's rate table per account, Region and operation; per-fleet throttling),
//! [`placements`] (game session queues, placements, FlexMatch, their EventBridge events, and
//! DescribeGameSessionQueues / DescribeMatchmakingConfigurations), `sqs` (the SQS endpoint, AWS
//! JSON 1.0, the events are delivered to), `md5` (SQS's message digests).

pub mod accounts;
mod limits;
mod md5;
pub mod ops;
pub mod placements;
pub mod rng;
pub mod scenario;
mod server;
mod sqs;
pub mod state;
mod sts;
mod transport;
pub mod wire;

pub use accounts::{AccountSpec, RoleSpec};
pub use limits::AWS_RATE_LIMITS;
pub use placements::{EventsDelivery, MatchmakingSpec, QueueSpec};
pub use scenario::{CapacitySpec, EventsOrder, Faults, FleetSpec, Scenario};
pub use server::serve;
pub use transport::{InProcess, IN_PROCESS_URL};

use rng::Rng;
use state::World;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
// tokio's clock (the system's, unless a test runtime paused it), so that a paused test runtime
// moves the simulator's wall-clock mode, rate limits and SQS timeouts with its own timers.
use tokio::net::TcpListener;
use tokio::time::Instant;

/// How simulated time moves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Clock {
    /// Only [`Simulator::advance`] moves time: for tests that need exact control.
    Manual,
    /// Simulated time follows the wall clock, `speed` simulated seconds per real second.
    Wall { speed: f64 },
}

/// One request as the simulator saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRecord {
    pub operation: String,
    pub protocol: &'static str,
    /// The request members as compact JSON: NextToken as `"<token:XXXXXXXX>"` (8 hex digits of a
    /// stable hash of the token, so pages can be told apart), timestamps as RFC 3339 text.
    pub params: String,
    /// `ok`, an error code such as `ThrottlingException`, `dropped` or `malformed`.
    pub outcome: String,
    /// When the request arrived (before any injected latency), on tokio's clock.
    pub at: std::time::Instant,
    /// The simulated time when it was answered (Unix epoch ms).
    pub world_ms: i64,
    /// The 12-digit account the request was attributed to by its access key ("" if unsigned).
    pub account: String,
    /// The signing Region of its SigV4 credential scope ("" if none).
    pub region: String,
}

/// One session as stored, for tests to compute expectations without the exporter's code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub fleet_id: String,
    pub location: String,
    pub game_session_id: String,
    pub status: &'static str,
    pub status_reason: Option<&'static str>,
    pub current_players: u32,
    pub max_players: u32,
    pub accept_all: bool,
    pub creation_time_ms: i64,
    pub termination_time_ms: Option<i64>,
    /// The EC2 instance id that hosts (or hosted) the session.
    pub compute_name: String,
}

/// One fleet event as stored, as DescribeFleetEvents returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub fleet_id: String,
    pub event_id: String,
    /// An instance id for instance and server-process events, else the fleet id.
    pub resource_id: String,
    pub event_code: &'static str,
    pub message: String,
    pub event_time_ms: i64,
    pub count: Option<i64>,
}

/// Game server container groups of a CONTAINER fleet location, by state
/// (`GameServerContainerGroupCounts`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerGroupCounts {
    pub pending: u32,
    pub active: u32,
    pub idle: u32,
    pub terminating: u32,
}

/// One fleet location's capacity as DescribeFleetCapacity / DescribeFleetLocationCapacity
/// report it: the limits, and the instances by state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapacityRecord {
    pub fleet_id: String,
    pub location: String,
    pub desired: u32,
    pub minimum: u32,
    pub maximum: u32,
    /// Replacement instances not running yet.
    pub pending: u32,
    /// Running instances.
    pub active: u32,
    /// Running instances hosting no live session (a subset of `active`).
    pub idle: u32,
    /// Instances in their spot reclaim notice.
    pub terminating: u32,
    /// CONTAINER fleets only.
    pub container_groups: Option<ContainerGroupCounts>,
}

/// One fleet location's utilization as DescribeFleetUtilization /
/// DescribeFleetLocationUtilization report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UtilizationRecord {
    pub fleet_id: String,
    pub location: String,
    /// One game-server process per slot of each running instance.
    pub active_server_processes: u32,
    /// ACTIVE and ACTIVATING sessions.
    pub active_game_sessions: u32,
    /// Players in those sessions.
    pub current_player_sessions: u32,
    /// The sum of their player limits.
    pub maximum_player_sessions: u32,
}

fn event_record(fleet: &state::Fleet, event: &state::Event) -> EventRecord {
    EventRecord {
        fleet_id: fleet.spec.id.clone(),
        event_id: fleet.event_id(event),
        resource_id: event.resource_id.clone(),
        event_code: event.code,
        message: event.message.clone(),
        event_time_ms: event.time_ms,
        count: event.count,
    }
}

struct TokenBucket {
    rate: f64,
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    fn new(rate: f64) -> Self {
        TokenBucket {
            rate,
            tokens: rate.max(1.0),
            updated: Instant::now(),
        }
    }

    fn take(&mut self, now: Instant) -> bool {
        let capacity = self.rate.max(1.0);
        self.tokens =
            (self.tokens + now.duration_since(self.updated).as_secs_f64() * self.rate).min(capacity);
        self.updated = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

struct Inner {
    world: World,
    max_page_size: u32,
    max_fleet_ids: u32,
    attributes_max_fleet_ids: Option<u32>,
    clock: Clock,
    manual_offset_ms: i64,
    started: Instant,
    faults: Faults,
    buckets: HashMap<String, TokenBucket>,
    fault_rng: Rng,
    requests: Vec<RequestRecord>,
    accounts: accounts::Accounts,
    /// SQS queues and the world's events on their way to them.
    sqs: sqs::Sqs,
}

/// A handle to a simulator; cheap to clone, shared between the HTTP server and tests.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Mutex<Inner>>,
}

impl Simulator {
    pub fn new(scenario: &Scenario, clock: Clock) -> Simulator {
        let world = World::new(scenario);
        let sqs = sqs::Sqs::new(scenario, world.now_ms());
        let inner = Inner {
            world,
            max_page_size: scenario.max_page_size,
            max_fleet_ids: scenario.max_fleet_ids,
            attributes_max_fleet_ids: scenario.attributes_max_fleet_ids,
            clock,
            manual_offset_ms: 0,
            started: Instant::now(),
            faults: scenario.faults.clone(),
            buckets: HashMap::new(),
            fault_rng: Rng::new(scenario.seed, &[0xFA017]),
            requests: Vec::new(),
            accounts: accounts::Accounts::new(scenario),
            sqs,
        };
        Simulator {
            inner: Arc::new(Mutex::new(inner)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the world usable for the rest of a test run.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Locks the world after bringing it up to the current simulated time.
    fn synced(&self) -> MutexGuard<'_, Inner> {
        let mut inner = self.lock();
        let target = inner.target_ms();
        inner.world.advance_to(target);
        inner.deliver_events();
        inner
    }

    /// Current simulated time, Unix epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        self.synced().world.now_ms()
    }

    /// Moves simulated time forward (in either clock mode) and applies the evolution steps.
    pub fn advance(&self, by: Duration) {
        let mut inner = self.lock();
        inner.manual_offset_ms += by.as_millis() as i64;
        let target = inner.target_ms();
        inner.world.advance_to(target);
        inner.deliver_events();
    }

    /// Reclaims now, without notice, the first `instances` instances at a location of a SPOT
    /// fleet that host ACTIVE sessions: one INSTANCE_INTERRUPTED event per instance, and every
    /// live session on them ends TERMINATED/INTERRUPTED. Returns the ARNs of the sessions ended.
    pub fn interrupt_instances(
        &self,
        fleet_id: &str,
        location: &str,
        instances: usize,
    ) -> Result<Vec<String>, String> {
        let mut inner = self.synced();
        let seqs = inner.world.interrupt_instances(fleet_id, location, instances)?;
        Ok(inner.session_arns(fleet_id, &seqs))
    }

    /// Reclaims one instance of a SPOT fleet: its INSTANCE_INTERRUPTED event is visible at once,
    /// its sessions end at the first tick at or after now + `notice` (at once when zero). Until
    /// then they take no other end. Returns the ARNs of the sessions that end or will end.
    pub fn interrupt_instance(
        &self,
        fleet_id: &str,
        instance_id: &str,
        notice: Duration,
    ) -> Result<Vec<String>, String> {
        let mut inner = self.synced();
        let seqs = inner
            .world
            .interrupt_instance(fleet_id, instance_id, notice.as_millis() as i64)?;
        Ok(inner.session_arns(fleet_id, &seqs))
    }

    /// Appends an event to a fleet's log at the current simulated time; `resource_id` defaults to
    /// the fleet id. Any valid `EventCode` is accepted (INSTANCE_INTERRUPTED included: it only
    /// adds the event, no instance is reclaimed). Returns the EventId.
    pub fn emit_event(
        &self,
        fleet_id: &str,
        code: &str,
        resource_id: Option<&str>,
        count: Option<i64>,
    ) -> Result<String, String> {
        let mut inner = self.synced();
        let number = inner.world.emit_event(fleet_id, code, resource_id, count)?;
        let fleet = inner
            .world
            .fleet(fleet_id)
            .expect("the event was just added to it");
        let event = fleet
            .events
            .iter()
            .rev()
            .find(|e| e.number == number)
            .expect("the event was just added");
        Ok(fleet.event_id(event))
    }

    /// A fleet's events still within retention, oldest first (empty for an unknown fleet).
    pub fn events(&self, fleet_id: &str) -> Vec<EventRecord> {
        let inner = self.synced();
        inner
            .world
            .fleet(fleet_id)
            .map(|fleet| fleet.events.iter().map(|e| event_record(fleet, e)).collect())
            .unwrap_or_default()
    }

    /// Every fleet's events, fleet by fleet, each oldest first.
    pub fn all_events(&self) -> Vec<EventRecord> {
        let inner = self.synced();
        inner
            .world
            .fleets
            .iter()
            .flat_map(|fleet| fleet.events.iter().map(|e| event_record(fleet, e)))
            .collect()
    }

    pub fn delete_fleet(&self, fleet_id: &str) -> bool {
        self.synced().world.delete_fleet(fleet_id)
    }

    pub fn create_fleet(&self, spec: FleetSpec) {
        self.synced().world.create_fleet(spec);
    }

    pub fn faults(&self) -> Faults {
        self.lock().faults.clone()
    }

    /// Replaces the injected faults; rate-limit buckets (per account, Region and operation, and
    /// per fleet) start full again.
    pub fn set_faults(&self, faults: Faults) {
        let mut inner = self.lock();
        inner.faults = faults;
        inner.buckets.clear();
    }

    /// Appends to the request log, stamped with the simulated time of its arrival.
    fn record(&self, mut record: RequestRecord) {
        let mut inner = self.lock();
        record.world_ms = inner.target_ms();
        inner.requests.push(record);
    }

    pub fn requests(&self) -> Vec<RequestRecord> {
        self.lock().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.lock().requests.clear();
    }

    /// Every visible session of every fleet, in creation order per fleet.
    pub fn sessions(&self) -> Vec<SessionRecord> {
        let inner = self.synced();
        let mut out = Vec::new();
        for fleet in &inner.world.fleets {
            for session in fleet.sessions.values() {
                out.push(SessionRecord {
                    fleet_id: fleet.spec.id.clone(),
                    location: fleet.locations[session.location as usize].clone(),
                    game_session_id: ops::session_arn(fleet, session),
                    status: session.status.as_str(),
                    status_reason: session.interrupted.then_some("INTERRUPTED"),
                    current_players: session.current_players,
                    max_players: session.max_players,
                    accept_all: session.accept_all,
                    creation_time_ms: session.creation_ms,
                    termination_time_ms: session.termination_ms,
                    compute_name: fleet.instance_id(session.instance),
                });
            }
        }
        out
    }

    /// Capacity of every EC2 and CONTAINER fleet at every location, as the capacity operations
    /// report it, sorted by (fleet id, location).
    pub fn capacity(&self) -> Vec<CapacityRecord> {
        let inner = self.synced();
        let mut out = Vec::new();
        for fleet in inner.world.fleets.iter().filter(|f| f.has_managed_capacity()) {
            for (index, location) in fleet.locations.iter().enumerate() {
                let index = index as u16;
                let counts = fleet.instance_counts(index);
                let capacity = &fleet.capacity[index as usize];
                out.push(CapacityRecord {
                    fleet_id: fleet.spec.id.clone(),
                    location: location.clone(),
                    desired: capacity.desired,
                    minimum: capacity.minimum,
                    maximum: fleet.maximum(index),
                    pending: counts.pending,
                    active: counts.active,
                    idle: counts.idle,
                    terminating: counts.terminating,
                    container_groups: fleet.container_groups(index),
                });
            }
        }
        out.sort_by(|a, b| (&a.fleet_id, &a.location).cmp(&(&b.fleet_id, &b.location)));
        out
    }

    /// Utilization of every fleet at every location (DescribeFleetLocationUtilization answers
    /// for EC2, ANYWHERE and CONTAINER fleets alike), sorted by (fleet id, location).
    pub fn utilization(&self) -> Vec<UtilizationRecord> {
        let inner = self.synced();
        let mut out = Vec::new();
        for fleet in &inner.world.fleets {
            for (index, location) in fleet.locations.iter().enumerate() {
                let u = fleet.utilization(index as u16);
                out.push(UtilizationRecord {
                    fleet_id: fleet.spec.id.clone(),
                    location: location.clone(),
                    active_server_processes: u.active_server_processes,
                    active_game_sessions: u.active_game_sessions,
                    current_player_sessions: u.current_player_sessions,
                    maximum_player_sessions: u.maximum_player_sessions,
                });
            }
        }
        out.sort_by(|a, b| (&a.fleet_id, &a.location).cmp(&(&b.fleet_id, &b.location)));
        out
    }

    /// A fleet's `Status` (None for an unknown fleet).
    pub fn fleet_status(&self, fleet_id: &str) -> Option<String> {
        self.lock().world.fleet(fleet_id).map(|f| f.status.to_string())
    }

    /// Sets a fleet's `Status`. Panics on an unknown fleet or a value that is not a GameLift
    /// `FleetStatus`: a test asking for either has a bug that a silent no-op would hide.
    pub fn set_fleet_status(&self, fleet_id: &str, status: &str) {
        let status = valid_status(status);
        let mut inner = self.lock();
        let fleet = inner
            .world
            .fleet_mut(fleet_id)
            .unwrap_or_else(|| panic!("set_fleet_status: no fleet {fleet_id}"));
        fleet.status = status;
    }

    /// A location's `LocationState.Status` (None for an unknown fleet or location).
    pub fn location_status(&self, fleet_id: &str, location: &str) -> Option<String> {
        let inner = self.lock();
        let fleet = inner.world.fleet(fleet_id)?;
        let index = fleet.location_index(location)?;
        Some(fleet.capacity[index as usize].status.to_string())
    }

    /// Sets a location's `LocationState.Status`. Panics like [`Simulator::set_fleet_status`].
    pub fn set_location_status(&self, fleet_id: &str, location: &str, status: &str) {
        let status = valid_status(status);
        let mut inner = self.lock();
        let fleet = inner
            .world
            .fleet_mut(fleet_id)
            .unwrap_or_else(|| panic!("set_location_status: no fleet {fleet_id}"));
        let index = fleet
            .location_index(location)
            .unwrap_or_else(|| panic!("set_location_status: fleet {fleet_id} has no location {location}"));
        fleet.capacity[index as usize].status = status;
    }

    /// Sets a location's MINIMUM, MAXIMUM and DESIRED, as UpdateFleetCapacity would, at once:
    /// above the instances there, replacements are launched as PENDING (unless the fleet's
    /// `replace_interrupted` is false); below, pending instances are cancelled, then idle ones
    /// stopped. Panics on an unknown fleet or location, or unless minimum <= desired <= maximum.
    pub fn set_capacity(&self, fleet_id: &str, location: &str, minimum: u32, maximum: u32, desired: u32) {
        let result = self
            .synced()
            .world
            .set_capacity(fleet_id, location, minimum, maximum, desired);
        if let Err(message) = result {
            panic!("set_capacity: {message}");
        }
    }

    /// Sets how many fleet ids DescribeFleetCapacity and DescribeFleetUtilization take in one
    /// request (the scenario's `max_fleet_ids`).
    pub fn set_max_fleet_ids(&self, n: u32) {
        assert!(n > 0, "set_max_fleet_ids: at least 1");
        self.lock().max_fleet_ids = n;
    }

    /// Fleet ids with their locations (home Region first).
    pub fn fleets(&self) -> Vec<(String, Vec<String>)> {
        self.synced()
            .world
            .fleets
            .iter()
            .map(|f| (f.spec.id.clone(), f.locations.clone()))
            .collect()
    }

    /// Number of visible sessions with `status`, for quick checks.
    pub fn count(&self, status: &str) -> usize {
        let inner = self.synced();
        inner
            .world
            .fleets
            .iter()
            .flat_map(|f| f.sessions.values())
            .filter(|s| s.status.as_str() == status)
            .count()
    }

    /// Binds `127.0.0.1:0`, serves in the background, and returns the running simulator.
    pub async fn start(scenario: &Scenario, clock: Clock) -> std::io::Result<RunningSimulator> {
        let simulator = Simulator::new(scenario, clock);
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        simulator.set_listen_url(url.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = simulator.clone();
        tokio::spawn(async move {
            serve(server, listener, async {
                let _ = stopped.await;
            })
            .await;
        });
        Ok(RunningSimulator {
            simulator,
            url,
            _stop: stop,
        })
    }
}

/// The interned `FleetStatus`, or a panic naming the valid ones.
fn valid_status(status: &str) -> &'static str {
    scenario::fleet_status(status).unwrap_or_else(|| {
        panic!(
            "unknown status {status:?}: expected a GameLift FleetStatus, one of {}",
            scenario::FLEET_STATUSES.join(", ")
        )
    })
}

impl Inner {
    fn session_arns(&self, fleet_id: &str, seqs: &[u64]) -> Vec<String> {
        let fleet = self
            .world
            .fleet(fleet_id)
            .expect("fleet exists: the interruption succeeded");
        seqs.iter()
            .map(|seq| ops::session_arn(fleet, &fleet.sessions[seq]))
            .collect()
    }

    fn target_ms(&self) -> i64 {
        let wall = match self.clock {
            Clock::Manual => 0,
            Clock::Wall { speed } => (self.started.elapsed().as_secs_f64() * speed * 1000.0) as i64,
        };
        self.world.start_ms + self.manual_offset_ms + wall
    }
}

/// A simulator serving on loopback; stops serving when dropped.
pub struct RunningSimulator {
    pub simulator: Simulator,
    /// Base URL, e.g. `http://127.0.0.1:41234`: the `endpoint_url` for clients.
    pub url: String,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl std::ops::Deref for RunningSimulator {
    type Target = Simulator;
    fn deref(&self) -> &Simulator {
        &self.simulator
    }
}
