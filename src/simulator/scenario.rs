//! Scenario files: the fleets, sessions, churn and faults a simulator starts with.
//!
//! A scenario is TOML; see `config/scenarios/*.toml` for commented examples. Every field is
//! checked while parsing, so a mistake is reported with file, line and field.

use crate::duration;
use crate::tomlfile::{self, FileError};
use serde::{Deserialize, Deserializer};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Duration;

/// Operations the simulator answers; also the valid keys of `[faults.rate_limits]` and
/// `[faults.failing_operations]`.
pub const OPERATIONS: [&str; 10] = [
    "ListFleets",
    "DescribeFleetAttributes",
    "DescribeFleetLocationAttributes",
    "DescribeGameSessions",
    "DescribeGameSessionDetails",
    "DescribeFleetEvents",
    "DescribeFleetCapacity",
    "DescribeFleetLocationCapacity",
    "DescribeFleetUtilization",
    "DescribeFleetLocationUtilization",
];

/// Every `FleetStatus` of the GameLift API model, sorted: the values of a fleet's `Status` and
/// of a location's `LocationState.Status`.
pub const FLEET_STATUSES: [&str; 11] = [
    "ACTIVATING",
    "ACTIVE",
    "BUILDING",
    "DELETING",
    "DOWNLOADING",
    "ERROR",
    "EXPIRED",
    "NEW",
    "NOT_FOUND",
    "TERMINATED",
    "VALIDATING",
];

/// The interned form of a valid `FleetStatus`.
pub fn fleet_status(text: &str) -> Option<&'static str> {
    FLEET_STATUSES
        .binary_search(&text)
        .ok()
        .map(|i| FLEET_STATUSES[i])
}

/// Errors `[faults.failing_operations]` can inject: GameLift's own, and the one IAM answers
/// when a policy does not allow the operation.
pub const FAILURE_CODES: [&str; 5] = [
    "ThrottlingException",
    "AccessDeniedException",
    "NotFoundException",
    "InternalServiceException",
    "UnauthorizedException",
];

/// Every `EventCode` of the GameLift API model (aws-sdk-gamelift's `EventCode`), sorted.
pub const EVENT_CODES: [&str; 57] = [
    "COMPUTE_LOG_UPLOAD_FAILED",
    "FLEET_ACTIVATION_FAILED",
    "FLEET_ACTIVATION_FAILED_NO_INSTANCES",
    "FLEET_BINARY_DOWNLOAD_FAILED",
    "FLEET_CREATED",
    "FLEET_CREATION_COMPLETED_INSTALLER",
    "FLEET_CREATION_EXTRACTING_BUILD",
    "FLEET_CREATION_FAILED_INSTALLER",
    "FLEET_CREATION_RUNNING_INSTALLER",
    "FLEET_CREATION_VALIDATING_RUNTIME_CONFIG",
    "FLEET_DELETED",
    "FLEET_EXPIRED",
    "FLEET_INITIALIZATION_FAILED",
    "FLEET_NEW_GAME_SESSION_PROTECTION_POLICY_UPDATED",
    "FLEET_SCALING_EVENT",
    "FLEET_STATE_ACTIVATING",
    "FLEET_STATE_ACTIVE",
    "FLEET_STATE_BUILDING",
    "FLEET_STATE_CREATED",
    "FLEET_STATE_CREATING",
    "FLEET_STATE_DOWNLOADING",
    "FLEET_STATE_ERROR",
    "FLEET_STATE_PENDING",
    "FLEET_STATE_UPDATING",
    "FLEET_STATE_VALIDATING",
    "FLEET_VALIDATION_EXECUTABLE_RUNTIME_FAILURE",
    "FLEET_VALIDATION_LAUNCH_PATH_NOT_FOUND",
    "FLEET_VALIDATION_TIMED_OUT",
    "FLEET_VPC_PEERING_DELETED",
    "FLEET_VPC_PEERING_FAILED",
    "FLEET_VPC_PEERING_SUCCEEDED",
    "GAME_SERVER_CONTAINER_GROUP_CRASHED",
    "GAME_SERVER_CONTAINER_GROUP_REPLACED_UNHEALTHY",
    "GAME_SESSION_ACTIVATION_TIMEOUT",
    "GENERIC_EVENT",
    "INSTANCE_INTERRUPTED",
    "INSTANCE_RECYCLED",
    "INSTANCE_REPLACED_UNHEALTHY",
    "LOCATION_STATE_ACTIVATING",
    "LOCATION_STATE_ACTIVE",
    "LOCATION_STATE_CREATED",
    "LOCATION_STATE_CREATING",
    "LOCATION_STATE_DELETED",
    "LOCATION_STATE_DELETING",
    "LOCATION_STATE_ERROR",
    "LOCATION_STATE_PENDING",
    "LOCATION_STATE_UPDATING",
    "PER_INSTANCE_CONTAINER_GROUP_CRASHED",
    "SERVER_PROCESS_CRASHED",
    "SERVER_PROCESS_FORCE_TERMINATED",
    "SERVER_PROCESS_INVALID_PATH",
    "SERVER_PROCESS_MISCONFIGURED_CONTAINER_PORT",
    "SERVER_PROCESS_PROCESS_EXIT_TIMEOUT",
    "SERVER_PROCESS_PROCESS_READY_TIMEOUT",
    "SERVER_PROCESS_SDK_INITIALIZATION_FAILED",
    "SERVER_PROCESS_SDK_INITIALIZATION_TIMEOUT",
    "SERVER_PROCESS_TERMINATED_UNHEALTHY",
];

/// The interned form of a valid event code, so stored events need no allocation for it.
pub fn event_code(text: &str) -> Option<&'static str> {
    EVENT_CODES.binary_search(&text).ok().map(|i| EVENT_CODES[i])
}

/// Codes about one instance or a server process on it: their ResourceId is an instance id.
pub fn is_instance_event(code: &str) -> bool {
    code.starts_with("INSTANCE_")
        || code.starts_with("SERVER_PROCESS_")
        || code.starts_with("PER_INSTANCE_")
        || code.starts_with("GAME_SERVER_CONTAINER_GROUP_")
        || code == "GAME_SESSION_ACTIVATION_TIMEOUT"
        || code == "COMPUTE_LOG_UPLOAD_FAILED"
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Seed for every random choice: same seed, same sessions, same evolution, same faults.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Simulated time at start, Unix epoch seconds; the real current time when absent, so that
    /// timestamps line up with the exporter's clock as they do on AWS.
    #[serde(default)]
    pub start_time: Option<i64>,
    /// Simulated time between two evolution steps.
    #[serde(default = "default_tick", with = "duration::serde_text")]
    pub tick: Duration,
    /// How long TERMINATED sessions stay visible (30 days on AWS).
    #[serde(default = "default_retention", with = "duration::serde_text")]
    pub retention: Duration,
    /// Largest page DescribeGameSessions (and the list operations) return; a larger Limit is capped.
    #[serde(default = "default_max_page_size", deserialize_with = "positive_u32")]
    pub max_page_size: u32,
    /// Most fleet ids DescribeFleetCapacity and DescribeFleetUtilization take in one request;
    /// more is an InvalidRequestException whose message states the maximum, as AWS documents.
    #[serde(default = "default_max_fleet_ids", deserialize_with = "positive_u32")]
    pub max_fleet_ids: u32,
    /// Most fleet ids DescribeFleetAttributes takes in one request; unlimited when absent (the
    /// exporter sends 16, and reads a lower maximum from the refusal).
    #[serde(default, deserialize_with = "some_positive_u32")]
    pub attributes_max_fleet_ids: Option<u32>,
    /// The default AWS account: fleets without `account` belong to it, and so does every request
    /// signed with an access key no `[[account]]` lists.
    #[serde(
        default = "default_account_id",
        deserialize_with = "super::accounts::account_id"
    )]
    pub account_id: String,
    /// More accounts, with their access keys and the roles STS AssumeRole hands out.
    #[serde(rename = "account", default)]
    pub accounts: Vec<super::accounts::AccountSpec>,
    #[serde(default)]
    pub faults: Faults,
    #[serde(rename = "fleet", default)]
    pub fleets: Vec<FleetSpec>,
    /// Game session queues and their placements (see [`super::placements`]).
    #[serde(rename = "queue", default)]
    pub queues: Vec<super::placements::QueueSpec>,
    /// FlexMatch matchmaking configurations placing through those queues.
    #[serde(rename = "matchmaking", default)]
    pub matchmaking: Vec<super::placements::MatchmakingSpec>,
    /// The SQS queue (of the default account) the placement and matchmaking events go to.
    #[serde(default, deserialize_with = "super::placements::events_queue")]
    pub events_queue: Option<String>,
    #[serde(default)]
    pub events_delivery: super::placements::EventsDelivery,
    /// The order DescribeFleetEvents pages in (AWS documents none): `newest_first` (the
    /// default), `oldest_first` or `shuffled` (a fixed pseudo-random order per query).
    #[serde(default)]
    pub events_order: EventsOrder,
}

/// The order of DescribeFleetEvents' answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventsOrder {
    #[default]
    NewestFirst,
    OldestFirst,
    Shuffled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FleetType {
    Spot,
    OnDemand,
}

impl FleetType {
    pub fn as_str(self) -> &'static str {
        match self {
            FleetType::Spot => "SPOT",
            FleetType::OnDemand => "ON_DEMAND",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ComputeType {
    #[default]
    Ec2,
    Anywhere,
    Container,
}

impl ComputeType {
    pub fn as_str(self) -> &'static str {
        match self {
            ComputeType::Ec2 => "EC2",
            ComputeType::Anywhere => "ANYWHERE",
            ComputeType::Container => "CONTAINER",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetSpec {
    #[serde(deserialize_with = "fleet_id")]
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub fleet_type: FleetType,
    #[serde(default)]
    pub compute_type: ComputeType,
    #[serde(deserialize_with = "location")]
    pub home_region: String,
    /// Remote locations (the home Region is always a location too).
    #[serde(default, deserialize_with = "locations")]
    pub locations: Vec<String>,
    /// Alias that resolves to this fleet in DescribeGameSessions(AliasId).
    #[serde(default)]
    pub alias_id: Option<String>,
    /// The account that owns the fleet (`account_id` when absent): only requests attributed to
    /// it see the fleet, and its ARN carries this id.
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default = "default_max_players", deserialize_with = "positive_u32")]
    pub max_players: u32,
    /// Game-server slots per EC2 instance: how many live sessions one instance hosts.
    #[serde(default = "default_sessions_per_instance", deserialize_with = "positive_u32")]
    pub sessions_per_instance: u32,
    /// Sessions created at start, per location.
    #[serde(default)]
    pub sessions: SessionCounts,
    #[serde(default)]
    pub occupancy: Occupancy,
    #[serde(default)]
    pub churn: Churn,
    /// The fleet's `Status`.
    #[serde(default)]
    pub status: StatusName,
    /// `LocationState.Status` per location (home Region included); unlisted locations are ACTIVE.
    #[serde(default)]
    pub location_status: BTreeMap<String, StatusName>,
    /// Instance counts and how lost instances come back (EC2 and CONTAINER fleets).
    #[serde(default)]
    pub capacity: CapacitySpec,
}

/// `[fleet.capacity]`: instance limits per location, and replacement of interrupted instances.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CapacitySpec {
    /// MINIMUM at each location.
    #[serde(default, deserialize_with = "count")]
    pub minimum: u32,
    /// MAXIMUM at each location: no instance is launched beyond it. None: no limit, and
    /// MAXIMUM reports DESIRED.
    #[serde(default, deserialize_with = "optional_count")]
    pub maximum: Option<u32>,
    /// DESIRED at each location. None: the instances the initial live sessions need (at least
    /// `minimum`), so a scenario without this table runs as before.
    #[serde(default, deserialize_with = "optional_count")]
    pub desired: Option<u32>,
    /// How long a replacement instance stays PENDING before it is ACTIVE.
    #[serde(default = "default_pending_time", with = "duration::serde_text")]
    pub pending_time: Duration,
    /// Whether GameLift launches instances (PENDING, then ACTIVE) to bring a location back up to
    /// DESIRED after spot reclaims took some. false: ACTIVE stays below DESIRED.
    #[serde(default = "default_true")]
    pub replace_interrupted: bool,
}

impl Default for CapacitySpec {
    fn default() -> Self {
        CapacitySpec {
            minimum: 0,
            maximum: None,
            desired: None,
            pending_time: default_pending_time(),
            replace_interrupted: true,
        }
    }
}

/// Initial sessions per location, by status (and, for TERMINATED, by reason).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionCounts {
    #[serde(default, deserialize_with = "count")]
    pub active: u32,
    #[serde(default, deserialize_with = "count")]
    pub activating: u32,
    #[serde(default, deserialize_with = "count")]
    pub terminating: u32,
    #[serde(default, deserialize_with = "count")]
    pub error: u32,
    /// TERMINATED without a status reason, termination times spread over the retention window.
    #[serde(default, deserialize_with = "count")]
    pub terminated: u32,
    /// TERMINATED with StatusReason INTERRUPTED (spot reclaimed), spread over the retention window.
    #[serde(default, deserialize_with = "count")]
    pub interrupted: u32,
}

/// How full ACTIVE sessions are: fractions of sessions that are empty, full, or refuse players.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Occupancy {
    #[serde(default = "default_empty", deserialize_with = "ratio")]
    pub empty: f64,
    #[serde(default = "default_full", deserialize_with = "ratio")]
    pub full: f64,
    /// Fraction of sessions with PlayerSessionCreationPolicy DENY_ALL.
    #[serde(default = "default_deny_all", deserialize_with = "ratio")]
    pub deny_all: f64,
}

impl Default for Occupancy {
    fn default() -> Self {
        Occupancy {
            empty: default_empty(),
            full: default_full(),
            deny_all: default_deny_all(),
        }
    }
}

/// Per-tick evolution, per location.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Churn {
    /// Mean number of new (ACTIVATING) sessions per tick.
    #[serde(default, deserialize_with = "non_negative")]
    pub new_sessions_per_tick: f64,
    /// Chance an ACTIVATING session becomes ACTIVE in a tick.
    #[serde(default = "default_activation", deserialize_with = "ratio")]
    pub activation_probability: f64,
    /// Chance an ACTIVE session ends normally in a tick (ACTIVE -> TERMINATING -> TERMINATED).
    #[serde(default, deserialize_with = "ratio")]
    pub end_probability: f64,
    /// Largest change of players in one session per tick.
    #[serde(default)]
    pub player_change: u32,
    /// SPOT only: chance per tick that spot capacity at a location is reclaimed.
    #[serde(default, deserialize_with = "ratio")]
    pub interruption_probability: f64,
    /// Share of the location's instances hosting live sessions that one reclaim takes (at least
    /// one instance); every live session on a reclaimed instance ends INTERRUPTED.
    #[serde(default = "default_interruption_fraction", deserialize_with = "ratio")]
    pub interruption_fraction: f64,
    /// Time between the INSTANCE_INTERRUPTED event and the end of the instance's sessions (AWS
    /// gives two minutes); they end at the first tick at or after it.
    #[serde(default, with = "duration::serde_text")]
    pub interruption_notice: Duration,
    /// Fleet events drawn per tick and location: EventCode -> probability.
    #[serde(default)]
    pub events: BTreeMap<EventCodeKey, Probability>,
}

/// A key of `[fleet.churn] events`: a valid `EventCode` other than INSTANCE_INTERRUPTED.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct EventCodeKey(pub &'static str);

impl<'de> Deserialize<'de> for EventCodeKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        match event_code(&text) {
            Some("INSTANCE_INTERRUPTED") => Err(serde::de::Error::custom(
                "INSTANCE_INTERRUPTED is not drawn at random: spot reclaims emit it (set interruption_probability)",
            )),
            Some(code) => Ok(EventCodeKey(code)),
            None => Err(serde::de::Error::custom(format!(
                "unknown event code {text:?}: expected a GameLift EventCode such as SERVER_PROCESS_CRASHED (all are listed in config/scenarios/README.md)"
            ))),
        }
    }
}

/// A valid `FleetStatus`, interned: a fleet's or a location's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusName(pub &'static str);

impl Default for StatusName {
    fn default() -> Self {
        StatusName("ACTIVE")
    }
}

impl<'de> Deserialize<'de> for StatusName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        fleet_status(&text).map(StatusName).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown status {text:?}: expected a GameLift FleetStatus, one of {}",
                FLEET_STATUSES.join(", ")
            ))
        })
    }
}

/// A chance per tick, between 0 and 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Probability(pub f64);

impl<'de> Deserialize<'de> for Probability {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        ratio(deserializer).map(Probability)
    }
}

impl Default for Churn {
    fn default() -> Self {
        Churn {
            new_sessions_per_tick: 0.0,
            activation_probability: default_activation(),
            end_probability: 0.0,
            player_change: 0,
            interruption_probability: 0.0,
            interruption_fraction: default_interruption_fraction(),
            interruption_notice: Duration::ZERO,
            events: BTreeMap::new(),
        }
    }
}

/// Injected faults. All switchable at run time through [`super::Simulator::set_faults`].
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Requests per second allowed per account, signing Region and operation (token bucket,
    /// burst = one second's worth), AWS's table by default. Operations not listed are unlimited.
    #[serde(default = "default_rate_limits", deserialize_with = "rate_limits")]
    pub rate_limits: BTreeMap<String, f64>,
    /// Resource-level throttling: requests per second per account, Region, operation and fleet
    /// (only `DescribeGameSessions`). Off by default: AWS says it throttles DescribeGameSessions
    /// per resource but publishes no rate for it.
    #[serde(default, deserialize_with = "per_fleet_rate_limits")]
    pub per_fleet_rate_limits: BTreeMap<String, f64>,
    /// Fraction of requests answered ThrottlingException, whatever the rate.
    #[serde(default, deserialize_with = "ratio")]
    pub throttle_ratio: f64,
    /// Fraction of requests answered with a 500 InternalServiceException.
    #[serde(default, deserialize_with = "ratio")]
    pub server_error_ratio: f64,
    /// Fraction of requests whose connection is closed without an answer.
    #[serde(default, deserialize_with = "ratio")]
    pub drop_connection_ratio: f64,
    /// Fraction of requests answered 200 with a body that is not valid CBOR/JSON.
    #[serde(default, deserialize_with = "ratio")]
    pub malformed_body_ratio: f64,
    /// Added latency before every answer.
    #[serde(default, with = "duration::serde_text")]
    pub latency: Duration,
    /// Refuse every request's credentials (as when they expired): UnauthorizedException.
    #[serde(default)]
    pub reject_credentials: bool,
    /// Fleets whose DescribeGameSessions always fails with InternalServiceException (only that
    /// operation: the exporter's sweeps read it, the other operations keep answering).
    #[serde(default)]
    pub failing_fleets: Vec<String>,
    /// Operations that always fail, with the error code to answer: operation -> one of
    /// [`FAILURE_CODES`]. The other operations keep answering.
    #[serde(default, deserialize_with = "failing_operations")]
    pub failing_operations: BTreeMap<String, String>,
    /// Fraction of SQS DeleteMessageBatch entries refused (in `Failed`, code InternalError):
    /// their messages stay in flight and come back after their visibility timeout.
    #[serde(default, deserialize_with = "ratio")]
    pub sqs_delete_failure_ratio: f64,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            rate_limits: default_rate_limits(),
            per_fleet_rate_limits: BTreeMap::new(),
            throttle_ratio: 0.0,
            server_error_ratio: 0.0,
            drop_connection_ratio: 0.0,
            malformed_body_ratio: 0.0,
            latency: Duration::ZERO,
            reject_credentials: false,
            failing_fleets: Vec::new(),
            failing_operations: BTreeMap::new(),
            sqs_delete_failure_ratio: 0.0,
        }
    }
}

impl Faults {
    /// No faults and no rate limits at all.
    pub fn none() -> Self {
        Faults {
            rate_limits: BTreeMap::new(),
            ..Faults::default()
        }
    }
}

fn default_seed() -> u64 {
    1
}
fn default_tick() -> Duration {
    Duration::from_secs(10)
}
fn default_retention() -> Duration {
    Duration::from_secs(30 * 86_400)
}
fn default_max_page_size() -> u32 {
    100
}
fn some_positive_u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    positive_u32(deserializer).map(Some)
}

fn default_max_fleet_ids() -> u32 {
    10
}
fn default_pending_time() -> Duration {
    Duration::from_secs(120)
}
fn default_true() -> bool {
    true
}
fn default_account_id() -> String {
    "123456789012".to_string()
}
fn default_max_players() -> u32 {
    10
}
fn default_empty() -> f64 {
    0.2
}
fn default_full() -> f64 {
    0.2
}
fn default_deny_all() -> f64 {
    0.05
}
fn default_activation() -> f64 {
    0.5
}
fn default_interruption_fraction() -> f64 {
    0.5
}
fn default_sessions_per_instance() -> u32 {
    4
}
fn default_rate_limits() -> BTreeMap<String, f64> {
    super::limits::AWS_RATE_LIMITS
        .iter()
        .map(|(operation, rate)| (operation.to_string(), *rate))
        .collect()
}

pub(super) fn ratio<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    let value = f64::deserialize(deserializer)?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(serde::de::Error::custom(format!(
            "invalid value {value}: expected a fraction between 0 and 1"
        )))
    }
}

pub(super) fn non_negative<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    let value = f64::deserialize(deserializer)?;
    if value >= 0.0 && value.is_finite() {
        Ok(value)
    } else {
        Err(serde::de::Error::custom(format!(
            "invalid value {value}: expected a non-negative number"
        )))
    }
}

fn count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let value = i64::deserialize(deserializer)?;
    u32::try_from(value).map_err(|_| {
        serde::de::Error::custom(format!(
            "invalid count {value}: expected a whole number from 0 to {}",
            u32::MAX
        ))
    })
}

fn optional_count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    count(deserializer).map(Some)
}

fn failing_operations<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let values = BTreeMap::<String, String>::deserialize(deserializer)?;
    for (operation, code) in &values {
        if !OPERATIONS.contains(&operation.as_str()) {
            return Err(serde::de::Error::custom(format!(
                "unknown operation {operation:?}: expected one of {}",
                OPERATIONS.join(", ")
            )));
        }
        if !FAILURE_CODES.contains(&code.as_str()) {
            return Err(serde::de::Error::custom(format!(
                "unknown error {code:?} for {operation}: expected one of {}",
                FAILURE_CODES.join(", ")
            )));
        }
    }
    Ok(values)
}

pub(super) fn positive_u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u32, D::Error> {
    let value = u32::deserialize(deserializer)?;
    if value == 0 {
        return Err(serde::de::Error::custom("invalid value 0: expected at least 1"));
    }
    Ok(value)
}

fn fleet_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let value = String::deserialize(deserializer)?;
    let valid = value.starts_with("fleet-")
        && value.len() > "fleet-".len()
        && value.len() <= 128
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if valid {
        Ok(value)
    } else {
        Err(serde::de::Error::custom(format!(
            "invalid fleet id {value:?}: expected \"fleet-\" followed by letters, digits and dashes"
        )))
    }
}

/// The DescribeGameSessions Location pattern: `^[A-Za-z0-9\-]+$`, 1 to 64 characters.
pub fn is_valid_location(value: &str) -> bool {
    (1..=64).contains(&value.len()) && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn location<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let value = String::deserialize(deserializer)?;
    if is_valid_location(&value) {
        Ok(value)
    } else {
        Err(serde::de::Error::custom(format!(
            "invalid location {value:?}: expected an AWS Region code such as \"us-west-2\""
        )))
    }
}

fn locations<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let values = Vec::<String>::deserialize(deserializer)?;
    for value in &values {
        if !is_valid_location(value) {
            return Err(serde::de::Error::custom(format!(
                "invalid location {value:?}: expected an AWS Region code such as \"us-west-2\""
            )));
        }
    }
    Ok(values)
}

fn rate_limits<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BTreeMap<String, f64>, D::Error> {
    let values = BTreeMap::<String, f64>::deserialize(deserializer)?;
    for (operation, rate) in &values {
        let queue_operations = super::placements::OPERATIONS;
        if !OPERATIONS.contains(&operation.as_str()) && !queue_operations.contains(&operation.as_str()) {
            return Err(serde::de::Error::custom(format!(
                "unknown operation {operation:?}: expected one of {}, {}",
                OPERATIONS.join(", "),
                queue_operations.join(", ")
            )));
        }
        if !(*rate > 0.0 && rate.is_finite()) {
            return Err(serde::de::Error::custom(format!(
                "invalid rate {rate} for {operation}: expected requests per second above 0"
            )));
        }
    }
    Ok(values)
}

fn per_fleet_rate_limits<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, f64>, D::Error> {
    let values = BTreeMap::<String, f64>::deserialize(deserializer)?;
    let operations = super::limits::PER_FLEET_OPERATIONS;
    for (operation, rate) in &values {
        if !operations.contains(&operation.as_str()) {
            return Err(serde::de::Error::custom(format!(
                "operation {operation:?} is not throttled per fleet: expected {}",
                operations.join(", ")
            )));
        }
        if !(*rate > 0.0 && rate.is_finite()) {
            return Err(serde::de::Error::custom(format!(
                "invalid rate {rate} for {operation}: expected requests per second above 0"
            )));
        }
    }
    Ok(values)
}

impl Scenario {
    /// Reads and validates a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, FileError> {
        let (scenario, text): (Scenario, String) = tomlfile::load(path)?;
        scenario.validate(path, &text)?;
        Ok(scenario)
    }

    /// Parses and validates scenario text (`path` is only used in messages).
    pub fn parse(path: &Path, text: &str) -> Result<Scenario, FileError> {
        let scenario: Scenario = tomlfile::parse(path, text)?;
        scenario.validate(path, text)?;
        Ok(scenario)
    }

    /// Checks that span several fields, after serde has checked each field on its own.
    fn validate(&self, path: &Path, text: &str) -> Result<(), FileError> {
        // Point at the offending `id = "..."` when we can find it; the file still names the field.
        let locate = |index: usize, field: &str, needle: &str, message: String| {
            let span = text.find(needle).map(|start| start..start + needle.len());
            let field = format!("fleet[{index}].{field}");
            match span {
                Some(span) => FileError::at_span(path, text, span, &field, message),
                None => FileError::whole_file(path, Some(&field), message),
            }
        };
        let mut seen = HashSet::new();
        for (index, fleet) in self.fleets.iter().enumerate() {
            if !seen.insert(fleet.id.as_str()) {
                return Err(locate(
                    index,
                    "id",
                    &fleet.id,
                    format!("duplicate fleet id {:?}", fleet.id),
                ));
            }
            if fleet.locations.contains(&fleet.home_region) {
                return Err(locate(
                    index,
                    "locations",
                    &fleet.home_region,
                    format!(
                        "{:?} is the home region; list only remote locations",
                        fleet.home_region
                    ),
                ));
            }
            if fleet.fleet_type == FleetType::OnDemand && fleet.churn.interruption_probability > 0.0 {
                return Err(locate(
                    index,
                    "churn.interruption_probability",
                    "interruption_probability",
                    "only SPOT fleets are interrupted; set type = \"SPOT\" or remove it".to_string(),
                ));
            }
            if fleet.occupancy.empty + fleet.occupancy.full > 1.0 {
                return Err(locate(
                    index,
                    "occupancy",
                    "[fleet.occupancy]",
                    "empty + full must not exceed 1".to_string(),
                ));
            }
            // The checks below point at the key within this fleet's own part of the file: the
            // search starts at its (unique) id.
            let fleet_start = text.find(&format!("\"{}\"", fleet.id)).unwrap_or(0);
            let locate_here = |field: &str, needle: &str, message: String| {
                let span = text[fleet_start..]
                    .find(needle)
                    .map(|at| fleet_start + at..fleet_start + at + needle.len());
                let field = format!("fleet[{index}].{field}");
                match span {
                    Some(span) => FileError::at_span(path, text, span, &field, message),
                    None => FileError::whole_file(path, Some(&field), message),
                }
            };
            for location in fleet.location_status.keys() {
                if *location != fleet.home_region && !fleet.locations.contains(location) {
                    return Err(locate_here(
                        &format!("location_status.{location}"),
                        location,
                        format!(
                            "{location:?} is not a location of fleet {}: expected one of {}",
                            fleet.id,
                            std::iter::once(&fleet.home_region)
                                .chain(&fleet.locations)
                                .map(String::as_str)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
            }
            let capacity = &fleet.capacity;
            if fleet.compute_type == ComputeType::Anywhere && *capacity != CapacitySpec::default() {
                return Err(locate_here(
                    "capacity",
                    "[fleet.capacity]",
                    "ANYWHERE fleets have no managed instances: remove [fleet.capacity]".to_string(),
                ));
            }
            let sessions = &fleet.sessions;
            let live = sessions.active + sessions.activating + sessions.terminating;
            let needed = live.div_ceil(fleet.sessions_per_instance.max(1));
            let desired = capacity.desired.unwrap_or(needed.max(capacity.minimum));
            if let Some(maximum) = capacity.maximum {
                if capacity.minimum > maximum {
                    return Err(locate_here(
                        "capacity.minimum",
                        "minimum",
                        format!("minimum {} is above maximum {maximum}", capacity.minimum),
                    ));
                }
                if desired > maximum {
                    let message = if capacity.desired.is_some() {
                        format!("desired {desired} is above maximum {maximum}")
                    } else {
                        format!(
                            "maximum {maximum} is below the {desired} instances each location starts with ({live} live sessions at {} per instance, minimum {})",
                            fleet.sessions_per_instance, capacity.minimum
                        )
                    };
                    return Err(locate_here("capacity.maximum", "maximum", message));
                }
            }
            if let Some(desired) = capacity.desired {
                if desired < capacity.minimum {
                    return Err(locate_here(
                        "capacity.desired",
                        "desired",
                        format!("desired {desired} is below minimum {}", capacity.minimum),
                    ));
                }
                if desired < needed {
                    return Err(locate_here(
                        "capacity.desired",
                        "desired",
                        format!(
                            "desired {desired} is below the {needed} instances the initial sessions need at each location ({live} live sessions at {} per instance)",
                            fleet.sessions_per_instance
                        ),
                    ));
                }
            }
        }
        super::accounts::validate(self, path, text)?;
        super::placements::validate(self, path, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Scenario, String> {
        Scenario::parse(Path::new("s.toml"), text).map_err(|e| e.to_string())
    }

    const FLEET: &str =
        "[[fleet]]\nid = \"fleet-a\"\nname = \"a\"\ntype = \"SPOT\"\nhome_region = \"us-west-2\"\n";

    #[test]
    fn minimal_fleet_gets_defaults() {
        let scenario = parse(FLEET).unwrap();
        assert_eq!(scenario.max_page_size, 100);
        assert_eq!(scenario.retention, Duration::from_secs(30 * 86_400));
        assert_eq!(
            scenario.faults.rate_limits.get("DescribeGameSessions"),
            Some(&20.0)
        );
        assert_eq!(scenario.fleets[0].compute_type, ComputeType::Ec2);
        assert_eq!(scenario.fleets[0].sessions_per_instance, 4);
        assert_eq!(scenario.fleets[0].churn.interruption_notice, Duration::ZERO);
        assert!(scenario.fleets[0].churn.events.is_empty());
        // AWS's API limits reference: 20/s for DescribeGameSessions, 30/s for the others.
        let expected: BTreeMap<String, f64> = [
            ("DescribeFleetAttributes", 30.0),
            ("DescribeFleetCapacity", 30.0),
            ("DescribeFleetEvents", 30.0),
            ("DescribeFleetLocationAttributes", 30.0),
            ("DescribeFleetLocationCapacity", 30.0),
            ("DescribeFleetLocationUtilization", 30.0),
            ("DescribeFleetUtilization", 30.0),
            ("DescribeGameSessionDetails", 30.0),
            ("DescribeGameSessions", 20.0),
            ("ListFleets", 30.0),
        ]
        .into_iter()
        .map(|(operation, rate)| (operation.to_string(), rate))
        .collect();
        assert_eq!(scenario.faults.rate_limits, expected);
        assert!(scenario.faults.per_fleet_rate_limits.is_empty(), "off unless set");
        for operation in OPERATIONS {
            assert!(expected.contains_key(operation), "{operation} has AWS's rate");
        }
    }

    #[test]
    fn event_codes_are_those_of_the_api_model() {
        let mut model: Vec<&str> = aws_sdk_gamelift::types::EventCode::values().to_vec();
        model.sort_unstable();
        assert_eq!(EVENT_CODES.as_slice(), model.as_slice());
        assert_eq!(
            event_code("SERVER_PROCESS_CRASHED"),
            Some("SERVER_PROCESS_CRASHED")
        );
        assert_eq!(event_code("server_process_crashed"), None);
        // Bad codes are refused with a pointer to the list in the scenario README.
        let readme = include_str!("../../config/scenarios/README.md");
        for code in EVENT_CODES.iter().filter(|c| **c != "INSTANCE_INTERRUPTED") {
            assert!(readme.contains(&format!("`{code}`")), "{code} not listed");
        }
    }

    #[test]
    fn reads_event_probabilities_and_refuses_bad_codes() {
        let scenario = parse(&format!(
            "{FLEET}[fleet.churn]\ninterruption_notice = \"2m\"\nevents = {{ SERVER_PROCESS_CRASHED = 0.05, GAME_SESSION_ACTIVATION_TIMEOUT = 0.01 }}\n"
        ))
        .unwrap();
        let churn = &scenario.fleets[0].churn;
        assert_eq!(churn.interruption_notice, Duration::from_secs(120));
        let events: Vec<(&str, f64)> = churn.events.iter().map(|(k, v)| (k.0, v.0)).collect();
        assert_eq!(
            events,
            [
                ("GAME_SESSION_ACTIVATION_TIMEOUT", 0.01),
                ("SERVER_PROCESS_CRASHED", 0.05)
            ]
        );
        assert_eq!(
            parse(&format!("{FLEET}[fleet.churn]\nevents = {{ SERVER_CRASHED = 0.1 }}\n")).unwrap_err(),
            "s.toml:7:12: field `fleet[0].churn.events.SERVER_CRASHED`: unknown event code \"SERVER_CRASHED\": expected a GameLift EventCode such as SERVER_PROCESS_CRASHED (all are listed in config/scenarios/README.md)"
        );
        assert_eq!(
            parse(&format!("{FLEET}[fleet.churn]\nevents = {{ INSTANCE_INTERRUPTED = 0.1 }}\n")).unwrap_err(),
            "s.toml:7:12: field `fleet[0].churn.events.INSTANCE_INTERRUPTED`: INSTANCE_INTERRUPTED is not drawn at random: spot reclaims emit it (set interruption_probability)"
        );
        assert_eq!(
            parse(&format!("{FLEET}[fleet.churn.events]\nSERVER_PROCESS_CRASHED = 2\n")).unwrap_err(),
            "s.toml:7:26: field `fleet[0].churn.events.SERVER_PROCESS_CRASHED`: invalid value 2: expected a fraction between 0 and 1"
        );
        assert_eq!(
            parse(&format!("{FLEET}sessions_per_instance = 0\n")).unwrap_err(),
            "s.toml:6:25: field `fleet[0].sessions_per_instance`: invalid value 0: expected at least 1"
        );
    }

    #[test]
    fn rejects_duplicates_and_home_region_as_remote() {
        assert_eq!(
            parse(&format!("{FLEET}{FLEET}")).unwrap_err(),
            "s.toml:2:7: field `fleet[1].id`: duplicate fleet id \"fleet-a\""
        );
        assert_eq!(
            parse(&format!("{FLEET}locations = [\"us-west-2\"]\n")).unwrap_err(),
            "s.toml:5:16: field `fleet[0].locations`: \"us-west-2\" is the home region; list only remote locations"
        );
    }

    #[test]
    fn fleet_statuses_are_those_of_the_api_model() {
        let mut model: Vec<&str> = aws_sdk_gamelift::types::FleetStatus::values().to_vec();
        model.sort_unstable();
        assert_eq!(FLEET_STATUSES.as_slice(), model.as_slice());
    }

    #[test]
    fn reads_capacity_statuses_and_failing_operations() {
        let scenario = parse(&format!(
            "max_fleet_ids = 4\n[faults]\nfailing_operations = {{ DescribeFleetUtilization = \"AccessDeniedException\" }}\n{FLEET}locations = [\"us-east-1\"]\nstatus = \"ERROR\"\nlocation_status = {{ us-east-1 = \"ACTIVATING\" }}\n[fleet.capacity]\nminimum = 1\nmaximum = 6\ndesired = 3\npending_time = \"30s\"\nreplace_interrupted = false\n"
        ))
        .unwrap();
        assert_eq!(scenario.max_fleet_ids, 4);
        assert_eq!(
            scenario.faults.failing_operations,
            BTreeMap::from([(
                "DescribeFleetUtilization".to_string(),
                "AccessDeniedException".to_string()
            )])
        );
        let fleet = &scenario.fleets[0];
        assert_eq!(fleet.status, StatusName("ERROR"));
        assert_eq!(
            fleet.location_status,
            BTreeMap::from([("us-east-1".to_string(), StatusName("ACTIVATING"))])
        );
        assert_eq!(
            fleet.capacity,
            CapacitySpec {
                minimum: 1,
                maximum: Some(6),
                desired: Some(3),
                pending_time: Duration::from_secs(30),
                replace_interrupted: false,
            }
        );
        // Defaults: 10 ids, ACTIVE, no limits, replacements after 2 minutes.
        let scenario = parse(FLEET).unwrap();
        assert_eq!(scenario.max_fleet_ids, 10);
        assert_eq!(scenario.fleets[0].status, StatusName("ACTIVE"));
        assert_eq!(scenario.fleets[0].capacity, CapacitySpec::default());
        assert_eq!(CapacitySpec::default().pending_time, Duration::from_secs(120));
        assert!(scenario.faults.failing_operations.is_empty());
    }

    #[test]
    fn refuses_bad_capacity_statuses_and_failing_operations() {
        // 9 live sessions at 4 per instance need 3 instances at each location.
        let sessions = "[fleet.sessions]\nactive = 9\n";
        for (extra, message) in [
            (
                format!("{sessions}[fleet.capacity]\nmaximum = 2\n"),
                "s.toml:9:1: field `fleet[0].capacity.maximum`: maximum 2 is below the 3 instances each location starts with (9 live sessions at 4 per instance, minimum 0)",
            ),
            (
                format!("{sessions}[fleet.capacity]\ndesired = 2\n"),
                "s.toml:9:1: field `fleet[0].capacity.desired`: desired 2 is below the 3 instances the initial sessions need at each location (9 live sessions at 4 per instance)",
            ),
            (
                "[fleet.capacity]\ndesired = 5\nmaximum = 4\n".to_string(),
                "s.toml:8:1: field `fleet[0].capacity.maximum`: desired 5 is above maximum 4",
            ),
            (
                "[fleet.capacity]\nminimum = 5\nmaximum = 4\n".to_string(),
                "s.toml:7:1: field `fleet[0].capacity.minimum`: minimum 5 is above maximum 4",
            ),
            (
                "[fleet.capacity]\nminimum = 2\ndesired = 1\n".to_string(),
                "s.toml:8:1: field `fleet[0].capacity.desired`: desired 1 is below minimum 2",
            ),
            (
                "[fleet.capacity]\npending_time = \"soon\"\n".to_string(),
                "s.toml:7:16: field `fleet[0].capacity.pending_time`: invalid duration \"soon\": expected a duration such as \"500ms\", \"60s\", \"5m\", \"1h30m\" or \"30d\"",
            ),
            (
                "[fleet.capacity]\nmaximun = 4\n".to_string(),
                "s.toml:7:1: field `fleet[0].capacity.maximun`: unknown field `maximun`, expected one of `minimum`, `maximum`, `desired`, `pending_time`, `replace_interrupted`",
            ),
            (
                "status = \"BROKEN\"\n".to_string(),
                "s.toml:6:10: field `fleet[0].status`: unknown status \"BROKEN\": expected a GameLift FleetStatus, one of ACTIVATING, ACTIVE, BUILDING, DELETING, DOWNLOADING, ERROR, EXPIRED, NEW, NOT_FOUND, TERMINATED, VALIDATING",
            ),
            (
                "location_status = { ap-south-1 = \"ERROR\" }\n".to_string(),
                "s.toml:6:21: field `fleet[0].location_status.ap-south-1`: \"ap-south-1\" is not a location of fleet fleet-a: expected one of us-west-2",
            ),
            (
                "compute_type = \"ANYWHERE\"\n[fleet.capacity]\ndesired = 1\n".to_string(),
                "s.toml:7:1: field `fleet[0].capacity`: ANYWHERE fleets have no managed instances: remove [fleet.capacity]",
            ),
        ] {
            assert_eq!(parse(&format!("{FLEET}{extra}")).unwrap_err(), message, "{extra}");
        }
        assert_eq!(
            parse("max_fleet_ids = 0\n").unwrap_err(),
            "s.toml:1:17: field `max_fleet_ids`: invalid value 0: expected at least 1"
        );
        assert_eq!(
            parse("[faults]\nfailing_operations = { DescribeFleetCapacity = \"Boom\" }\n").unwrap_err(),
            "s.toml:2:22: field `faults.failing_operations`: unknown error \"Boom\" for DescribeFleetCapacity: expected one of ThrottlingException, AccessDeniedException, NotFoundException, InternalServiceException, UnauthorizedException"
        );
        assert!(parse("[faults]\nfailing_operations = { DescribeFleetCapacities = \"NotFoundException\" }\n")
            .unwrap_err()
            .contains("unknown operation \"DescribeFleetCapacities\": expected one of ListFleets, DescribeFleetAttributes, DescribeFleetLocationAttributes, DescribeGameSessions, DescribeGameSessionDetails, DescribeFleetEvents, DescribeFleetCapacity, DescribeFleetLocationCapacity, DescribeFleetUtilization, DescribeFleetLocationUtilization"));
    }

    #[test]
    fn rejects_bad_fractions_and_operations() {
        assert_eq!(
            parse(&format!("{FLEET}[fleet.occupancy]\nempty = 1.5\n")).unwrap_err(),
            "s.toml:7:9: field `fleet[0].occupancy.empty`: invalid value 1.5: expected a fraction between 0 and 1"
        );
        assert!(parse("[faults.rate_limits]\nDescribeGameSession = 5\n")
            .unwrap_err()
            .contains("unknown operation \"DescribeGameSession\""));
        assert_eq!(
            parse("[faults]\nper_fleet_rate_limits = { DescribeGameSessions = 10 }\n")
                .unwrap()
                .faults
                .per_fleet_rate_limits,
            BTreeMap::from([("DescribeGameSessions".to_string(), 10.0)])
        );
        assert_eq!(
            parse("[faults]\nper_fleet_rate_limits = { ListFleets = 10 }\n").unwrap_err(),
            "s.toml:2:25: field `faults.per_fleet_rate_limits`: operation \"ListFleets\" is not throttled per fleet: expected DescribeGameSessions"
        );
    }
}
