//! Game session queues, their placements, FlexMatch matchmaking, and the events both emit.
//!
//! A `[[queue]]` starts placements every tick; each ends fulfilled, failed, timed out or
//! cancelled, on the simulated clock, with the times drawn from the seeded stream. A fulfilled
//! placement creates an ACTIVE session on one of the queue's destination fleets through the
//! session machinery of [`super::state`], so the `gameSessionArn` of its event is a session
//! DescribeGameSessions returns. A `[[matchmaking]]` configuration starts tickets; a matched ticket
//! is placed through its queue and succeeds or fails with that placement.
//!
//! Every step emits the events AWS documents (GameLift developer guide, "Game session placement
//! events" and "FlexMatch matchmaking events"), in the EventBridge shape, into an outbox the SQS
//! side ([`super::sqs`]) delivers to the scenario's `events_queue`. Events leave in time order:
//! pending actions are kept ordered by (time, creation order) and run when the world reaches them.
//!
//! Also here: `DescribeGameSessionQueues` and `DescribeMatchmakingConfigurations`.

use super::ops::{ApiError, Call};
use super::rng::Rng;
use super::scenario::{non_negative, positive_u32, ratio, Scenario};
use super::state::World;
use super::wire::{map, rfc3339, Doc, Input};
use crate::duration;
use crate::tomlfile::FileError;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Duration;

/// The GameLift operations answered here; also valid keys of `[faults] rate_limits`.
pub const OPERATIONS: [&str; 2] = ["DescribeGameSessionQueues", "DescribeMatchmakingConfigurations"];

/// The SNS topic the events go through with `events_delivery = "sns"`: every queue's and
/// configuration's `NotificationTarget`.
pub const TOPIC_NAME: &str = "gamelift-events";

/// `[[queue]]`: a game session queue and the placements it processes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSpec {
    #[serde(deserialize_with = "queue_name")]
    pub name: String,
    /// The Region the queue lives in (its ARN, its events' `region`); the home Region of the
    /// first destination when absent.
    #[serde(default, deserialize_with = "optional_location")]
    pub region: Option<String>,
    /// The account that owns the queue (`account_id` when absent); its destinations must be
    /// fleets of that account.
    #[serde(default)]
    pub account: Option<String>,
    /// Fleet ids, in priority order; a fulfilled placement lands on one of them.
    pub destinations: Vec<String>,
    /// `TimeoutInSeconds`: a placement still pending after it times out.
    #[serde(default = "default_queue_timeout", with = "duration::serde_text")]
    pub timeout: Duration,
    /// Mean number of placements started per tick.
    #[serde(default, deserialize_with = "non_negative")]
    pub placements_per_tick: f64,
    /// Players in each placement (one player session each), at most the fleet's max_players.
    #[serde(default = "one", deserialize_with = "positive_u32")]
    pub players_per_placement: u32,
    /// Share of placements that fail (PlacementFailed), after a latency drawn like a fulfilled one.
    #[serde(default, deserialize_with = "ratio")]
    pub failure_probability: f64,
    /// Share of placements that time out (PlacementTimedOut, exactly `timeout` after the start).
    #[serde(default, deserialize_with = "ratio")]
    pub timeout_probability: f64,
    /// Share of placements cancelled (PlacementCancelled) at a uniform time within the timeout.
    #[serde(default, deserialize_with = "ratio")]
    pub cancel_probability: f64,
    /// Time to fulfil a placement: log-uniform from `latency_min` to `latency_max`, so that most
    /// are quick and a few are slow, as placements are. One that would reach `timeout` times out.
    #[serde(default = "default_latency_min", with = "duration::serde_text")]
    pub latency_min: Duration,
    #[serde(default = "default_latency_max", with = "duration::serde_text")]
    pub latency_max: Duration,
}

/// `[[matchmaking]]`: a FlexMatch configuration (WITH_QUEUE mode) and the tickets it processes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchmakingSpec {
    #[serde(deserialize_with = "configuration_name")]
    pub name: String,
    /// The `[[queue]]` that places its matches (the configuration's account and Region are the
    /// queue's).
    pub queue: String,
    /// `RuleSetName`; `<name>-rules` when absent.
    #[serde(default, deserialize_with = "optional_configuration_name")]
    pub rule_set: Option<String>,
    /// `RequestTimeoutSeconds`: a ticket not matched by then times out.
    #[serde(default = "default_request_timeout", with = "duration::serde_text")]
    pub request_timeout: Duration,
    /// Whether players must accept a match (PotentialMatchCreated, AcceptMatch and
    /// AcceptMatchCompleted come between the match and its placement).
    #[serde(default)]
    pub acceptance_required: bool,
    #[serde(default = "default_acceptance_timeout", with = "duration::serde_text")]
    pub acceptance_timeout: Duration,
    /// Mean number of tickets started per tick.
    #[serde(default, deserialize_with = "non_negative")]
    pub tickets_per_tick: f64,
    #[serde(default = "one", deserialize_with = "positive_u32")]
    pub players_per_ticket: u32,
    /// Share of tickets that fail (MatchmakingFailed) while searching.
    #[serde(default, deserialize_with = "ratio")]
    pub failure_probability: f64,
    /// Share of tickets never matched (MatchmakingTimedOut at `request_timeout`).
    #[serde(default, deserialize_with = "ratio")]
    pub timeout_probability: f64,
    /// Share of tickets cancelled (MatchmakingCancelled) at a uniform time within the timeout.
    #[serde(default, deserialize_with = "ratio")]
    pub cancel_probability: f64,
    /// Time to find a match: log-uniform from `search_min` to `search_max`.
    #[serde(default = "default_search_min", with = "duration::serde_text")]
    pub search_min: Duration,
    #[serde(default = "default_search_max", with = "duration::serde_text")]
    pub search_max: Duration,
}

/// How events reach the events queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventsDelivery {
    /// An EventBridge rule targets the queue: the body is the event. (SNS raw message delivery
    /// gives the same body.)
    #[default]
    Eventbridge,
    /// The queue subscribes to the SNS topic that is the queues' NotificationTarget: the body is
    /// SNS's JSON envelope, whose `Message` is the event as a string.
    Sns,
}

fn one() -> u32 {
    1
}
fn default_queue_timeout() -> Duration {
    Duration::from_secs(600)
}
fn default_latency_min() -> Duration {
    Duration::from_millis(500)
}
fn default_latency_max() -> Duration {
    Duration::from_secs(10)
}
fn default_request_timeout() -> Duration {
    Duration::from_secs(120)
}
fn default_acceptance_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_search_min() -> Duration {
    Duration::from_secs(2)
}
fn default_search_max() -> Duration {
    Duration::from_secs(60)
}

/// GameSessionQueueName: `[a-zA-Z0-9-]+`, 1 to 128 characters.
fn is_queue_name(text: &str) -> bool {
    (1..=128).contains(&text.len()) && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// MatchmakingIdStringModel: `[a-zA-Z0-9-\.]*`, 1 to 128 characters here (a name is required).
fn is_configuration_name(text: &str) -> bool {
    (1..=128).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

/// An SQS queue name: 1 to 80 letters, digits, hyphens and underscores (standard queues only).
pub fn is_sqs_queue_name(text: &str) -> bool {
    (1..=80).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn queue_name<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let value = String::deserialize(deserializer)?;
    if is_queue_name(&value) {
        Ok(value)
    } else {
        Err(serde::de::Error::custom(format!(
            "invalid queue name {value:?}: expected 1 to 128 letters, digits and hyphens"
        )))
    }
}

fn configuration_name<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let value = String::deserialize(deserializer)?;
    if is_configuration_name(&value) {
        Ok(value)
    } else {
        Err(serde::de::Error::custom(format!(
            "invalid name {value:?}: expected 1 to 128 letters, digits, hyphens and periods"
        )))
    }
}

fn optional_configuration_name<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    configuration_name(deserializer).map(Some)
}

fn optional_location<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let value = String::deserialize(deserializer)?;
    if super::scenario::is_valid_location(&value) {
        Ok(Some(value))
    } else {
        Err(serde::de::Error::custom(format!(
            "invalid location {value:?}: expected an AWS Region code such as \"us-west-2\""
        )))
    }
}

pub(super) fn events_queue<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let value = String::deserialize(deserializer)?;
    if is_sqs_queue_name(&value) {
        Ok(Some(value))
    } else {
        Err(serde::de::Error::custom(format!(
            "invalid SQS queue name {value:?}: expected 1 to 80 letters, digits, hyphens and underscores"
        )))
    }
}

/// Checks across `[[queue]]`, `[[matchmaking]]` and `[[fleet]]`, after serde checked each field.
pub(super) fn validate(scenario: &Scenario, path: &Path, text: &str) -> Result<(), FileError> {
    // Point at the `nth` occurrence of `needle` (a key or a quoted value) when it is found.
    let locate = |field: String, needle: &str, nth: usize, message: String| {
        let mut from = 0;
        let mut found = None;
        for _ in 0..=nth {
            match text[from..].find(needle) {
                Some(at) => {
                    found = Some(from + at);
                    from += at + needle.len();
                }
                None => {
                    found = None;
                    break;
                }
            }
        }
        match found {
            Some(start) => FileError::at_span(path, text, start..start + needle.len(), &field, message),
            None => FileError::whole_file(path, Some(&field), message),
        }
    };
    let mut names = HashSet::new();
    for (index, queue) in scenario.queues.iter().enumerate() {
        let quoted = format!("\"{}\"", queue.name);
        if !names.insert(queue.name.as_str()) {
            return Err(locate(
                format!("queue[{index}].name"),
                &quoted,
                1,
                format!("duplicate queue {:?}", queue.name),
            ));
        }
        let account = queue.account.as_deref().unwrap_or(&scenario.account_id);
        let known_account =
            account == scenario.account_id || scenario.accounts.iter().any(|a| a.id == account);
        if !known_account {
            return Err(locate(
                format!("queue[{index}].account"),
                &format!("\"{account}\""),
                0,
                format!("unknown account {account:?}: expected account_id or the id of an [[account]]"),
            ));
        }
        if queue.destinations.is_empty() {
            return Err(locate(
                format!("queue[{index}].destinations"),
                "destinations",
                index,
                "a queue needs at least one destination fleet id".to_string(),
            ));
        }
        for (d, destination) in queue.destinations.iter().enumerate() {
            let field = format!("queue[{index}].destinations[{d}]");
            let needle = format!("\"{destination}\"");
            let Some(fleet) = scenario.fleets.iter().find(|f| &f.id == destination) else {
                return Err(locate(
                    field,
                    &needle,
                    0,
                    format!("unknown fleet {destination:?}: expected the id of a [[fleet]]"),
                ));
            };
            let owner = fleet.account.as_deref().unwrap_or(&scenario.account_id);
            if owner != account {
                return Err(locate(
                    field,
                    &needle,
                    0,
                    format!("fleet {destination:?} belongs to account {owner}, not to the queue's account {account}"),
                ));
            }
        }
        outcomes_fit([
            queue.failure_probability,
            queue.timeout_probability,
            queue.cancel_probability,
        ])
        .map_err(|message| locate(format!("queue[{index}]"), &quoted, 0, message))?;
        if queue.latency_min.is_zero() || queue.latency_min > queue.latency_max {
            return Err(locate(
                format!("queue[{index}].latency_min"),
                &quoted,
                0,
                format!(
                    "latency_min {} must be above 0 and at most latency_max {}",
                    duration::format(queue.latency_min),
                    duration::format(queue.latency_max)
                ),
            ));
        }
        if queue.timeout.as_secs() == 0 {
            return Err(locate(
                format!("queue[{index}].timeout"),
                &quoted,
                0,
                "timeout must be at least 1s (TimeoutInSeconds is whole seconds)".to_string(),
            ));
        }
    }
    let mut configurations = HashSet::new();
    for (index, config) in scenario.matchmaking.iter().enumerate() {
        let quoted = format!("\"{}\"", config.name);
        if !configurations.insert(config.name.as_str()) {
            return Err(locate(
                format!("matchmaking[{index}].name"),
                &quoted,
                1,
                format!("duplicate matchmaking configuration {:?}", config.name),
            ));
        }
        if !scenario.queues.iter().any(|q| q.name == config.queue) {
            return Err(locate(
                format!("matchmaking[{index}].queue"),
                &format!("\"{}\"", config.queue),
                0,
                format!(
                    "unknown queue {:?}: expected the name of a [[queue]]",
                    config.queue
                ),
            ));
        }
        outcomes_fit([
            config.failure_probability,
            config.timeout_probability,
            config.cancel_probability,
        ])
        .map_err(|message| locate(format!("matchmaking[{index}]"), &quoted, 0, message))?;
        if config.search_min.is_zero() || config.search_min > config.search_max {
            return Err(locate(
                format!("matchmaking[{index}].search_min"),
                &quoted,
                0,
                format!(
                    "search_min {} must be above 0 and at most search_max {}",
                    duration::format(config.search_min),
                    duration::format(config.search_max)
                ),
            ));
        }
    }
    if scenario.events_queue.is_none() && scenario.events_delivery != EventsDelivery::default() {
        return Err(locate(
            "events_delivery".to_string(),
            "events_delivery",
            0,
            "events_delivery needs events_queue: name the SQS queue the events go to".to_string(),
        ));
    }
    Ok(())
}

/// A queue as the world runs it.
#[derive(Debug, Clone)]
pub struct Queue {
    pub spec: QueueSpec,
    pub arn: String,
    pub account: String,
    pub region: String,
    /// The destinations' fleet ARNs, in the order listed.
    pub destination_arns: Vec<String>,
}

/// A matchmaking configuration as the world runs it.
#[derive(Debug, Clone)]
pub struct Configuration {
    pub spec: MatchmakingSpec,
    pub arn: String,
    /// Index into the queues.
    pub queue: usize,
    pub rule_set: String,
    pub creation_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Fulfilled,
    Failed,
    TimedOut,
    Cancelled,
}

/// A player of a placement or ticket.
#[derive(Debug, Clone)]
struct Player {
    id: String,
    /// Set once the placement has created the player's session.
    session: Option<String>,
}

#[derive(Debug, Clone)]
struct Ticket {
    id: String,
    start_ms: i64,
    players: Vec<Player>,
}

/// Something that happens at a given simulated time.
#[derive(Debug, Clone)]
enum Action {
    /// A placement ends with `outcome`; `ticket` is the match it places, if any.
    EndPlacement {
        queue: usize,
        placement_id: String,
        start_ms: i64,
        outcome: Outcome,
        players: Vec<Player>,
        ticket: Option<(usize, Ticket, String)>,
    },
    /// A ticket was matched: PotentialMatchCreated, then acceptance or straight to placement.
    Matched { config: usize, ticket: Ticket },
    /// Players accepted: AcceptMatch and AcceptMatchCompleted, then the placement starts.
    Accepted {
        config: usize,
        ticket: Ticket,
        match_id: String,
    },
    /// The ticket ends without a match: MatchmakingTimedOut, MatchmakingCancelled or
    /// MatchmakingFailed.
    EndTicket {
        config: usize,
        ticket: Ticket,
        outcome: Outcome,
    },
}

/// Queues, configurations, pending placements and tickets, and the events not yet delivered.
#[derive(Debug, Default)]
pub struct Placements {
    pub queues: Vec<Queue>,
    pub configurations: Vec<Configuration>,
    /// Ordered by (time, creation order): the order actions run in.
    pending: BTreeMap<(i64, u64), Action>,
    next_order: u64,
    /// Ids (placements, tickets, matches, events, player sessions) drawn so far.
    next_id: u64,
    next_player: u64,
    seed: u64,
    pub delivery: EventsDelivery,
    /// Events emitted and not yet handed to SQS, oldest first.
    pub outbox: Vec<Value>,
}

impl Placements {
    pub fn new(scenario: &Scenario, world: &World) -> Placements {
        let mut placements = Placements {
            seed: scenario.seed,
            delivery: scenario.events_delivery,
            ..Placements::default()
        };
        for spec in &scenario.queues {
            let account = spec
                .account
                .clone()
                .unwrap_or_else(|| scenario.account_id.clone());
            let destination_arns: Vec<String> = spec
                .destinations
                .iter()
                .map(|id| world.fleet(id).map_or_else(String::new, |f| f.arn.clone()))
                .collect();
            let region = spec.region.clone().unwrap_or_else(|| {
                world
                    .fleet(&spec.destinations[0])
                    .map_or_else(|| "us-east-1".to_string(), |f| f.spec.home_region.clone())
            });
            placements.queues.push(Queue {
                arn: format!(
                    "arn:aws:gamelift:{region}:{account}:gamesessionqueue/{}",
                    spec.name
                ),
                account,
                region,
                destination_arns,
                spec: spec.clone(),
            });
        }
        for spec in &scenario.matchmaking {
            let queue = placements
                .queues
                .iter()
                .position(|q| q.spec.name == spec.queue)
                .expect("validated: the configuration's queue exists");
            let (region, account) = (
                &placements.queues[queue].region,
                &placements.queues[queue].account,
            );
            placements.configurations.push(Configuration {
                arn: format!(
                    "arn:aws:gamelift:{region}:{account}:matchmakingconfiguration/{}",
                    spec.name
                ),
                rule_set: spec
                    .rule_set
                    .clone()
                    .unwrap_or_else(|| format!("{}-rules", spec.name)),
                creation_ms: world.now_ms() - 30 * 86_400_000,
                queue,
                spec: spec.clone(),
            });
        }
        placements
    }

    /// A fresh UUID-shaped id from the seeded stream.
    fn uuid(&mut self) -> String {
        self.next_id += 1;
        let mut rng = Rng::new(self.seed, &[0x000E_7E17, self.next_id]);
        let (a, b) = (rng.next_u64(), rng.next_u64());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 50),
            b & 0xffff_ffff_ffff
        )
    }

    fn players(&mut self, count: u32) -> Vec<Player> {
        (0..count)
            .map(|_| {
                self.next_player += 1;
                Player {
                    id: format!("player-{}", self.next_player),
                    session: None,
                }
            })
            .collect()
    }

    fn schedule(&mut self, at: i64, action: Action) {
        self.next_order += 1;
        self.pending.insert((at, self.next_order), action);
    }

    /// Starts this tick's placements and tickets (at times within the tick just ended), then runs
    /// every action due by `now`, in time order.
    pub(super) fn step(&mut self, world: &mut World, now: i64, tick: u64) {
        if self.queues.is_empty() {
            return;
        }
        let mut rng = Rng::new(self.seed, &[tick, 0x0091_ACE5]);
        let tick_ms = world.tick_ms.max(1) as u64;
        for index in 0..self.queues.len() {
            let rate = self.queues[index].spec.placements_per_tick;
            for _ in 0..draw_count(&mut rng, rate) {
                let start = now - rng.below(tick_ms) as i64;
                let players = self.players(self.queues[index].spec.players_per_placement);
                self.start_placement(&mut rng, index, start, players, None);
            }
        }
        for index in 0..self.configurations.len() {
            let rate = self.configurations[index].spec.tickets_per_tick;
            for _ in 0..draw_count(&mut rng, rate) {
                let start = now - rng.below(tick_ms) as i64;
                self.start_ticket(&mut rng, index, start);
            }
        }
        while let Some(entry) = self.pending.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let ((at, _), action) = entry.remove_entry();
            self.run(&mut rng, world, at, action);
        }
    }

    fn start_placement(
        &mut self,
        rng: &mut Rng,
        queue: usize,
        start: i64,
        players: Vec<Player>,
        ticket: Option<(usize, Ticket, String)>,
    ) {
        let spec = &self.queues[queue].spec;
        let timeout_ms = spec.timeout.as_millis() as i64;
        let draw = rng.unit();
        let latency = log_uniform(rng, spec.latency_min, spec.latency_max);
        let (outcome, end) = if draw < spec.failure_probability {
            (Outcome::Failed, start + latency.min(timeout_ms))
        } else if draw < spec.failure_probability + spec.timeout_probability {
            (Outcome::TimedOut, start + timeout_ms)
        } else if draw < spec.failure_probability + spec.timeout_probability + spec.cancel_probability {
            (
                Outcome::Cancelled,
                start + 1 + rng.below(timeout_ms.max(1) as u64) as i64,
            )
        } else if latency >= timeout_ms {
            (Outcome::TimedOut, start + timeout_ms)
        } else {
            (Outcome::Fulfilled, start + latency)
        };
        let placement_id = self.uuid();
        self.schedule(
            end,
            Action::EndPlacement {
                queue,
                placement_id,
                start_ms: start,
                outcome,
                players,
                ticket,
            },
        );
    }

    fn start_ticket(&mut self, rng: &mut Rng, config: usize, start: i64) {
        let spec = self.configurations[config].spec.clone();
        let players = self.players(spec.players_per_ticket);
        let ticket = Ticket {
            id: self.uuid(),
            start_ms: start,
            players,
        };
        self.matchmaking_event(config, start, "MatchmakingSearching", &ticket, |detail| {
            detail.insert("estimatedWaitMillis".into(), json!("NOT_AVAILABLE"));
        });
        let timeout_ms = spec.request_timeout.as_millis() as i64;
        let draw = rng.unit();
        let search = log_uniform(rng, spec.search_min, spec.search_max);
        let (at, action) = if draw < spec.failure_probability {
            let outcome = Outcome::Failed;
            (
                start + search.min(timeout_ms),
                Action::EndTicket {
                    config,
                    ticket,
                    outcome,
                },
            )
        } else if draw < spec.failure_probability + spec.timeout_probability || search >= timeout_ms {
            let outcome = Outcome::TimedOut;
            (
                start + timeout_ms,
                Action::EndTicket {
                    config,
                    ticket,
                    outcome,
                },
            )
        } else if draw < spec.failure_probability + spec.timeout_probability + spec.cancel_probability {
            let outcome = Outcome::Cancelled;
            let at = start + 1 + rng.below(timeout_ms.max(1) as u64) as i64;
            (
                at,
                Action::EndTicket {
                    config,
                    ticket,
                    outcome,
                },
            )
        } else {
            (start + search, Action::Matched { config, ticket })
        };
        self.schedule(at, action);
    }

    fn run(&mut self, rng: &mut Rng, world: &mut World, at: i64, action: Action) {
        match action {
            Action::EndPlacement {
                queue,
                placement_id,
                start_ms,
                outcome,
                mut players,
                ticket,
            } => {
                let fulfilled = if outcome == Outcome::Fulfilled {
                    match self.fulfil(rng, world, queue, at, &mut players) {
                        Placed::Session(session) => Some(session),
                        Placed::NoDestination => None,
                        // No room anywhere: the queue keeps searching until its timeout.
                        Placed::NoCapacity => {
                            let timeout = self.queues[queue].spec.timeout.as_millis() as i64;
                            let action = Action::EndPlacement {
                                queue,
                                placement_id,
                                start_ms,
                                outcome: Outcome::TimedOut,
                                players,
                                ticket,
                            };
                            self.schedule(start_ms + timeout, action);
                            return;
                        }
                    }
                } else {
                    None
                };
                let mut detail = serde_json::Map::new();
                let kind = match (outcome, &fulfilled) {
                    (Outcome::Fulfilled, Some(session)) => {
                        detail.insert("port".into(), json!(session.port.to_string()));
                        detail.insert("gameSessionArn".into(), json!(session.arn));
                        detail.insert("ipAddress".into(), json!(session.ip));
                        detail.insert("dnsName".into(), json!(session.dns));
                        detail.insert("gameSessionRegion".into(), json!(session.region));
                        detail.insert(
                            "placedPlayerSessions".into(),
                            Value::Array(
                                players
                                    .iter()
                                    .map(|p| json!({"playerId": p.id, "playerSessionId": p.session}))
                                    .collect(),
                            ),
                        );
                        "PlacementFulfilled"
                    }
                    // No destination left to place on (the fleets were deleted).
                    (Outcome::Fulfilled, None) | (Outcome::Failed, _) => "PlacementFailed",
                    (Outcome::TimedOut, _) => "PlacementTimedOut",
                    (Outcome::Cancelled, _) => "PlacementCancelled",
                };
                detail.insert("type".into(), json!(kind));
                detail.insert("placementId".into(), json!(placement_id));
                detail.insert("startTime".into(), json!(rfc3339(start_ms)));
                detail.insert("endTime".into(), json!(rfc3339(at)));
                let event_id = self.uuid();
                let q = &self.queues[queue];
                let event = json!({
                    "version": "0",
                    "id": event_id,
                    "detail-type": "GameLift Queue Placement Event",
                    "source": "aws.gamelift",
                    "account": q.account,
                    // Whole seconds, as in the documented examples ("2021-03-01T15:50:52Z").
                    "time": rfc3339(at.div_euclid(1000) * 1000).replace(".000Z", "Z"),
                    "region": q.region,
                    "resources": [q.arn],
                    "detail": Value::Object(detail),
                });
                self.outbox.push(event);
                if let Some((config, mut ticket, match_id)) = ticket {
                    ticket.players = players;
                    match fulfilled {
                        Some(session) => {
                            self.matchmaking_event(config, at, "MatchmakingSucceeded", &ticket, |detail| {
                                detail.insert("matchId".into(), json!(match_id));
                                let info = detail["gameSessionInfo"]
                                    .as_object_mut()
                                    .expect("every matchmaking event has gameSessionInfo");
                                info.insert("gameSessionArn".into(), json!(session.arn));
                                info.insert("ipAddress".into(), json!(session.ip));
                                info.insert("port".into(), json!(session.port));
                            });
                        }
                        None => {
                            self.matchmaking_event(config, at, "MatchmakingFailed", &ticket, |detail| {
                                detail.insert("matchId".into(), json!(match_id));
                                detail.insert("reason".into(), json!("UNEXPECTED_ERROR"));
                                detail.insert(
                                    "message".into(),
                                    json!(format!("The game session placement ended {}.", kind)),
                                );
                            });
                        }
                    }
                }
            }
            Action::Matched { config, ticket } => {
                let spec = self.configurations[config].spec.clone();
                let match_id = self.uuid();
                self.matchmaking_event(config, at, "PotentialMatchCreated", &ticket, |detail| {
                    detail.insert("matchId".into(), json!(match_id));
                    detail.insert("acceptanceRequired".into(), json!(spec.acceptance_required));
                    detail.insert(
                        "acceptanceTimeout".into(),
                        json!(spec.acceptance_timeout.as_secs()),
                    );
                    detail.insert("ruleEvaluationMetrics".into(), json!([]));
                });
                if spec.acceptance_required {
                    // Players accept within the first quarter of the acceptance timeout.
                    let window = (spec.acceptance_timeout.as_millis() as u64 / 4).max(1);
                    let accepted = at + 1 + rng.below(window) as i64;
                    self.schedule(
                        accepted,
                        Action::Accepted {
                            config,
                            ticket,
                            match_id,
                        },
                    );
                } else {
                    self.place_match(rng, config, at, ticket, match_id);
                }
            }
            Action::Accepted {
                config,
                ticket,
                match_id,
            } => {
                for (kind, acceptance) in [("AcceptMatch", None), ("AcceptMatchCompleted", Some("Accepted"))]
                {
                    self.matchmaking_event(config, at, kind, &ticket, |detail| {
                        detail.insert("matchId".into(), json!(match_id));
                        if let Some(acceptance) = acceptance {
                            detail.insert("acceptance".into(), json!(acceptance));
                        }
                        // Every player accepted (the documented examples mark each one).
                        for key in ["tickets", "gameSessionInfo"] {
                            let holder = match &mut detail[key] {
                                Value::Array(tickets) => &mut tickets[0],
                                other => other,
                            };
                            if let Some(players) = holder["players"].as_array_mut() {
                                for player in players {
                                    player["accepted"] = json!(true);
                                }
                            }
                        }
                    });
                }
                self.place_match(rng, config, at, ticket, match_id);
            }
            Action::EndTicket {
                config,
                ticket,
                outcome,
            } => {
                let (kind, reason, message) = match outcome {
                    Outcome::TimedOut => (
                        "MatchmakingTimedOut",
                        "TimedOut",
                        "Removed from matchmaking due to timing out.",
                    ),
                    Outcome::Cancelled => ("MatchmakingCancelled", "Cancelled", "Cancelled by request."),
                    _ => (
                        "MatchmakingFailed",
                        "UNEXPECTED_ERROR",
                        "An unexpected error was encountered during match placing.",
                    ),
                };
                self.matchmaking_event(config, at, kind, &ticket, |detail| {
                    detail.insert("reason".into(), json!(reason));
                    detail.insert("message".into(), json!(message));
                    detail.insert("ruleEvaluationMetrics".into(), json!([]));
                });
            }
        }
    }

    /// The match's placement starts now in the configuration's queue.
    fn place_match(&mut self, rng: &mut Rng, config: usize, at: i64, ticket: Ticket, match_id: String) {
        let queue = self.configurations[config].queue;
        let players = ticket.players.clone();
        self.start_placement(rng, queue, at, players, Some((config, ticket, match_id)));
    }

    /// Creates the game session of a fulfilled placement on one of the queue's destinations that
    /// still exist: a random fleet location first (as player latencies would reorder them), then
    /// every other in order, until one has room.
    fn fulfil(
        &mut self,
        rng: &mut Rng,
        world: &mut World,
        queue: usize,
        at: i64,
        players: &mut [Player],
    ) -> Placed {
        let mut candidates: Vec<(usize, u16)> = Vec::new();
        for id in &self.queues[queue].spec.destinations {
            if let Some(index) = world.fleets.iter().position(|f| &f.spec.id == id) {
                let locations = world.fleets[index].locations.len() as u16;
                candidates.extend((0..locations).map(|location| (index, location)));
            }
        }
        if candidates.is_empty() {
            return Placed::NoDestination;
        }
        let first = rng.below(candidates.len() as u64) as usize;
        candidates.rotate_left(first);
        let placed = candidates.iter().find_map(|&(fleet, location)| {
            world
                .place_session(fleet, location, at, players.len() as u32)
                .map(|seq| (fleet, seq))
        });
        let Some((fleet_index, seq)) = placed else {
            return Placed::NoCapacity;
        };
        let fleet = &world.fleets[fleet_index];
        let Doc::Map(doc) = super::ops::session_doc(fleet, &fleet.sessions[&seq]) else {
            unreachable!("a session document is a map")
        };
        let text = |key: &str| match doc.get(key) {
            Some(Doc::Str(value)) => value.clone(),
            _ => String::new(),
        };
        let arn = text("GameSessionId");
        for player in players.iter_mut() {
            let id = self.uuid();
            player.session = Some(format!("psess-{id}"));
        }
        Placed::Session(PlacedSession {
            port: match doc.get("Port") {
                Some(Doc::Int(port)) => *port,
                _ => 0,
            },
            ip: text("IpAddress"),
            dns: text("DnsName"),
            region: text("Location"),
            arn,
        })
    }

    /// Emits a matchmaking event about one ticket, with `extra` adding to its detail.
    fn matchmaking_event(
        &mut self,
        config: usize,
        at: i64,
        kind: &str,
        ticket: &Ticket,
        extra: impl FnOnce(&mut serde_json::Map<String, Value>),
    ) {
        let players: Vec<Value> = ticket
            .players
            .iter()
            .map(|p| match &p.session {
                Some(session) => json!({"playerId": p.id, "playerSessionId": session}),
                None => json!({"playerId": p.id}),
            })
            .collect();
        let mut detail = serde_json::Map::new();
        detail.insert("type".into(), json!(kind));
        detail.insert(
            "tickets".into(),
            json!([{"ticketId": ticket.id, "startTime": rfc3339(ticket.start_ms), "players": players}]),
        );
        detail.insert("gameSessionInfo".into(), json!({ "players": players }));
        extra(&mut detail);
        let configuration = &self.configurations[config];
        let queue = &self.queues[configuration.queue];
        let (account, region, arn) = (
            queue.account.clone(),
            queue.region.clone(),
            configuration.arn.clone(),
        );
        let event = json!({
            "version": "0",
            "id": self.uuid(),
            "detail-type": "GameLift Matchmaking Event",
            "source": "aws.gamelift",
            "account": account,
            "time": rfc3339(at),
            "region": region,
            "resources": [arn],
            "detail": Value::Object(detail),
        });
        self.outbox.push(event);
    }
}

/// What became of a placement that was to be fulfilled.
enum Placed {
    Session(PlacedSession),
    /// Every destination fleet was deleted: the placement fails.
    NoDestination,
    /// No destination location has a free slot (at MAXIMUM): it times out.
    NoCapacity,
}

/// Where a fulfilled placement put its game session.
struct PlacedSession {
    arn: String,
    ip: String,
    dns: String,
    port: i64,
    region: String,
}

/// How many arrivals this tick for a mean of `rate`: its whole part, plus one with the chance of
/// its fraction.
fn draw_count(rng: &mut Rng, rate: f64) -> u64 {
    if rate <= 0.0 {
        return 0;
    }
    rate.floor() as u64 + u64::from(rng.chance(rate.fract()))
}

/// Milliseconds, log-uniform between two durations (at least 1 ms).
fn log_uniform(rng: &mut Rng, min: Duration, max: Duration) -> i64 {
    let (low, high) = (
        (min.as_millis() as f64).max(1.0),
        (max.as_millis() as f64).max(1.0),
    );
    let draw = rng.unit();
    (low * (high / low).powf(draw)).round().max(1.0) as i64
}

/// The name in a name-or-ARN member: what follows `<kind>/` in an ARN, else the text itself.
fn name_of<'a>(value: &'a str, kind: &str) -> &'a str {
    match value.split_once(&format!(":{kind}/")) {
        Some((_, name)) if value.starts_with("arn:") => name,
        _ => value,
    }
}

fn validation(member: &str, value: &str, pattern: &str) -> ApiError {
    ApiError::invalid(format!(
        "1 validation error detected: Value '[{value}]' at '{member}' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 256, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: {pattern}]"
    ))
}

/// Answers the operations of [`OPERATIONS`]; `None` for any other.
pub(super) fn dispatch(call: &Call, operation: &str, input: &Input) -> Option<Result<Doc, ApiError>> {
    match operation {
        "DescribeGameSessionQueues" => Some(describe_game_session_queues(call, input)),
        "DescribeMatchmakingConfigurations" => Some(describe_matchmaking_configurations(call, input)),
        _ => None,
    }
}

fn invalid(message: String) -> ApiError {
    ApiError::invalid(message)
}

/// The account's queues in the signing Region, in scenario order.
fn queues<'a>(call: &'a Call) -> impl Iterator<Item = &'a Queue> {
    call.world
        .placements
        .queues
        .iter()
        .filter(move |q| q.account == call.account && call.region.is_none_or(|r| r == q.region))
}

fn notification_target(call: &Call, account: &str, region: &str) -> Doc {
    if call.world.placements.delivery == EventsDelivery::Sns {
        Doc::Str(format!("arn:aws:sns:{region}:{account}:{TOPIC_NAME}"))
    } else {
        Doc::Null
    }
}

fn describe_game_session_queues(call: &Call, input: &Input) -> Result<Doc, ApiError> {
    let names = input.strings("Names").map_err(invalid)?;
    for name in names.iter().flatten() {
        let bare = name_of(name, "gamesessionqueue");
        if name.len() > 256 || !is_queue_name(bare) {
            return Err(validation(
                "names",
                name,
                "[a-zA-Z0-9-]+|^arn:.*:gamesessionqueue\\/[a-zA-Z0-9-]+",
            ));
        }
    }
    // "You can request up to 50 results."
    let limit = call.page_limit(input)?.min(50);
    let query = format!("DescribeGameSessionQueues/{names:?}");
    let start = call.resume(input, &query)?.unwrap_or(0) as usize;
    let wanted: Vec<&Queue> = queues(call)
        .filter(|q| {
            names.as_ref().is_none_or(|names| {
                names
                    .iter()
                    .any(|n| name_of(n, "gamesessionqueue") == q.spec.name)
            })
        })
        .collect();
    let page: Vec<Doc> = wanted
        .iter()
        .skip(start)
        .take(limit)
        .map(|q| {
            map([
                ("Name", Doc::Str(q.spec.name.clone())),
                ("GameSessionQueueArn", Doc::Str(q.arn.clone())),
                ("TimeoutInSeconds", Doc::Int(q.spec.timeout.as_secs() as i64)),
                ("PlayerLatencyPolicies", Doc::List(Vec::new())),
                (
                    "Destinations",
                    Doc::List(
                        q.destination_arns
                            .iter()
                            .map(|arn| map([("DestinationArn", Doc::Str(arn.clone()))]))
                            .collect(),
                    ),
                ),
                (
                    "NotificationTarget",
                    notification_target(call, &q.account, &q.region),
                ),
            ])
        })
        .collect();
    let end = start + page.len();
    let next = (end < wanted.len()).then(|| Doc::Str(call.token(&query, end as u64)));
    Ok(map([
        ("GameSessionQueues", Doc::List(page)),
        ("NextToken", next.unwrap_or(Doc::Null)),
    ]))
}

fn describe_matchmaking_configurations(call: &Call, input: &Input) -> Result<Doc, ApiError> {
    let names = input.strings("Names").map_err(invalid)?;
    for name in names.iter().flatten() {
        let bare = name_of(name, "matchmakingconfiguration");
        if name.len() > 256 || !is_configuration_name(bare) {
            return Err(validation(
                "names",
                name,
                "[a-zA-Z0-9-\\.]*|^arn:.*:matchmakingconfiguration\\/[a-zA-Z0-9-\\.]*",
            ));
        }
    }
    let rule_set = input.string("RuleSetName").map_err(invalid)?;
    // "This parameter is limited to 10."
    let limit = call.page_limit(input)?.min(10);
    let query = format!("DescribeMatchmakingConfigurations/{names:?}/{rule_set:?}");
    let start = call.resume(input, &query)?.unwrap_or(0) as usize;
    let placements = &call.world.placements;
    let wanted: Vec<&Configuration> = placements
        .configurations
        .iter()
        .filter(|c| {
            let queue = &placements.queues[c.queue];
            queue.account == call.account && call.region.is_none_or(|r| r == queue.region)
        })
        .filter(|c| {
            names.as_ref().is_none_or(|names| {
                names
                    .iter()
                    .any(|n| name_of(n, "matchmakingconfiguration") == c.spec.name)
            })
        })
        .filter(|c| {
            rule_set
                .as_deref()
                .is_none_or(|r| name_of(r, "matchmakingruleset") == c.rule_set)
        })
        .collect();
    let page: Vec<Doc> = wanted
        .iter()
        .skip(start)
        .take(limit)
        .map(|c| {
            let queue = &placements.queues[c.queue];
            let (region, account) = (&queue.region, &queue.account);
            map([
                ("Name", Doc::Str(c.spec.name.clone())),
                ("ConfigurationArn", Doc::Str(c.arn.clone())),
                (
                    "Description",
                    Doc::Str(format!("Simulated matchmaker placing into {}", queue.spec.name)),
                ),
                (
                    "GameSessionQueueArns",
                    Doc::List(vec![Doc::Str(queue.arn.clone())]),
                ),
                (
                    "RequestTimeoutSeconds",
                    Doc::Int(c.spec.request_timeout.as_secs() as i64),
                ),
                (
                    "AcceptanceTimeoutSeconds",
                    Doc::Int(c.spec.acceptance_timeout.as_secs() as i64),
                ),
                ("AcceptanceRequired", Doc::Bool(c.spec.acceptance_required)),
                ("RuleSetName", Doc::Str(c.rule_set.clone())),
                (
                    "RuleSetArn",
                    Doc::Str(format!(
                        "arn:aws:gamelift:{region}:{account}:matchmakingruleset/{}",
                        c.rule_set
                    )),
                ),
                ("NotificationTarget", notification_target(call, account, region)),
                ("AdditionalPlayerCount", Doc::Int(0)),
                ("CreationTime", Doc::Timestamp(c.creation_ms)),
                ("GameProperties", Doc::List(Vec::new())),
                ("GameSessionData", Doc::Str(String::new())),
                ("BackfillMode", Doc::Str("MANUAL".into())),
                ("FlexMatchMode", Doc::Str("WITH_QUEUE".into())),
            ])
        })
        .collect();
    let end = start + page.len();
    let next = (end < wanted.len()).then(|| Doc::Str(call.token(&query, end as u64)));
    Ok(map([
        ("Configurations", Doc::List(page)),
        ("NextToken", next.unwrap_or(Doc::Null)),
    ]))
}

/// The three outcome probabilities of a queue or a matchmaking configuration: the rest of the
/// time the placement or ticket succeeds, so together they may not exceed 1.
fn outcomes_fit([failure, timeout, cancel]: [f64; 3]) -> Result<(), String> {
    let outcomes = failure + timeout + cancel;
    if outcomes > 1.0 {
        return Err(format!(
            "failure_probability + timeout_probability + cancel_probability is {outcomes}: must not exceed 1"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_names_or_arns() {
        assert_eq!(
            name_of(
                "arn:aws:gamelift:us-west-2:1:gamesessionqueue/arena",
                "gamesessionqueue"
            ),
            "arena"
        );
        assert_eq!(name_of("arena", "gamesessionqueue"), "arena");
        assert!(is_sqs_queue_name("gamelift-events_1"));
        assert!(!is_sqs_queue_name("events.fifo"));
    }

    fn parse(text: &str) -> Result<Scenario, String> {
        Scenario::parse(Path::new("s.toml"), text).map_err(|e| e.to_string())
    }

    const FLEET: &str =
        "[[fleet]]\nid = \"fleet-a\"\nname = \"a\"\ntype = \"SPOT\"\nhome_region = \"us-west-2\"\n";

    #[test]
    fn reads_queues_and_configurations_with_defaults() {
        let scenario = parse(&format!(
            "events_queue = \"events\"\n{FLEET}[[queue]]\nname = \"q\"\ndestinations = [\"fleet-a\"]\n[[matchmaking]]\nname = \"m.1\"\nqueue = \"q\"\n"
        ))
        .unwrap();
        let queue = &scenario.queues[0];
        assert_eq!(queue.timeout, Duration::from_secs(600));
        assert_eq!(
            (queue.latency_min, queue.latency_max),
            (Duration::from_millis(500), Duration::from_secs(10))
        );
        assert_eq!((queue.placements_per_tick, queue.players_per_placement), (0.0, 1));
        assert_eq!(scenario.matchmaking[0].request_timeout, Duration::from_secs(120));
        assert_eq!(scenario.events_queue.as_deref(), Some("events"));
        assert_eq!(scenario.events_delivery, EventsDelivery::Eventbridge);
    }

    #[test]
    fn refuses_bad_queues_with_exact_messages() {
        let queue =
            |extra: &str| format!("{FLEET}[[queue]]\nname = \"q\"\ndestinations = [\"fleet-a\"]\n{extra}");
        let cases = [
            (
                format!("{FLEET}[[queue]]\nname = \"q\"\ndestinations = [\"fleet-b\"]\n"),
                "s.toml:8:17: field `queue[0].destinations[0]`: unknown fleet \"fleet-b\": expected the id of a [[fleet]]",
            ),
            (
                format!("{FLEET}[[queue]]\nname = \"q\"\ndestinations = []\n"),
                "s.toml:8:1: field `queue[0].destinations`: a queue needs at least one destination fleet id",
            ),
            (
                format!("{FLEET}[[queue]]\nname = \"q w\"\ndestinations = [\"fleet-a\"]\n"),
                "s.toml:7:8: field `queue[0].name`: invalid queue name \"q w\": expected 1 to 128 letters, digits and hyphens",
            ),
            (
                format!("{}[[queue]]\nname = \"q\"\ndestinations = [\"fleet-a\"]\n", queue("")),
                "s.toml:10:8: field `queue[1].name`: duplicate queue \"q\"",
            ),
            (
                queue("failure_probability = 0.5\ntimeout_probability = 0.4\ncancel_probability = 0.2\n"),
                "s.toml:7:8: field `queue[0]`: failure_probability + timeout_probability + cancel_probability is 1.1: must not exceed 1",
            ),
            (
                queue("latency_min = \"20s\"\nlatency_max = \"1s\"\n"),
                "s.toml:7:8: field `queue[0].latency_min`: latency_min 20s must be above 0 and at most latency_max 1s",
            ),
            (
                queue("placements = 3\n"),
                "s.toml:9:1: field `queue[0].placements`: unknown field `placements`, expected one of `name`, `region`, `account`, `destinations`, `timeout`, `placements_per_tick`, `players_per_placement`, `failure_probability`, `timeout_probability`, `cancel_probability`, `latency_min`, `latency_max`",
            ),
            (
                queue("account = \"111111111111\"\n"),
                "s.toml:9:11: field `queue[0].account`: unknown account \"111111111111\": expected account_id or the id of an [[account]]",
            ),
            (
                queue("[[matchmaking]]\nname = \"m\"\nqueue = \"nope\"\n"),
                "s.toml:11:9: field `matchmaking[0].queue`: unknown queue \"nope\": expected the name of a [[queue]]",
            ),
            (
                queue("[[matchmaking]]\nname = \"m\"\nqueue = \"q\"\nsearch_min = \"0s\"\n"),
                "s.toml:10:8: field `matchmaking[0].search_min`: search_min 0s must be above 0 and at most search_max 1m",
            ),
            (
                "events_queue = \"events.fifo\"\n".to_string(),
                "s.toml:1:16: field `events_queue`: invalid SQS queue name \"events.fifo\": expected 1 to 80 letters, digits, hyphens and underscores",
            ),
            (
                "events_delivery = \"sqs\"\n".to_string(),
                "s.toml:1:19: field `events_delivery`: unknown variant `sqs`, expected `eventbridge` or `sns`",
            ),
            (
                "events_delivery = \"sns\"\n".to_string(),
                "s.toml:1:1: field `events_delivery`: events_delivery needs events_queue: name the SQS queue the events go to",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(&text).unwrap_err(), expected, "{text}");
        }
    }

    #[test]
    fn log_uniform_stays_within_bounds() {
        let mut rng = Rng::new(1, &[2]);
        for _ in 0..1000 {
            let ms = log_uniform(&mut rng, Duration::from_millis(200), Duration::from_secs(20));
            assert!((200..=20_000).contains(&ms), "{ms}");
        }
    }
}
