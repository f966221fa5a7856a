//! gamelift-exporter: Amazon GameLift game sessions as Prometheus metrics.
//!
//! Each fleet runs its own live pass every `sweep.interval` (the live statuses, the fleet's new
//! events, lookups of sessions on reclaimed spot instances) and, in the background, a full pass
//! over its terminated history every `sweep.history_interval`. Each pass publishes into the
//! store in one step as it completes; `/metrics` serves the store rendered to text.
//!
//! # Layout
//! - [`cli`]: command-line arguments (`clap`), turned into a validated [`config::Config`].
//! - [`clock`]: wall time, the one seam through which a test hands the exporter a clock.
//! - [`config`]: the TOML config file, its defaults and validation, command-line overrides.
//! - [`aws`]: SDK clients per Region, the exporter's retries, API-call counters, error reasons.
//! - [`budget`]: each account-Region's request budgets, one per operation under an overall cap:
//!   every attempt paced, slower when throttled.
//! - [`quota`]: the quota arithmetic `--check-config` prints.
//! - [`discovery`]: fleets (`ListFleets` + `DescribeFleetAttributes`) and their locations.
//! - [`scheduler`]: one worker per Region, one schedule per fleet (live and full passes), one
//!   capacity cycle per Region.
//! - [`sweep`]: what a live pass and a full pass ask GameLift, and what they publish.
//! - [`capacity`]: instance counts and utilization per location (`DescribeFleetCapacity`,
//!   `DescribeFleetUtilization`, batched, and their per-location forms).
//! - [`tracking`]: what live passes remember between passes (ACTIVE sets, events, suspects).
//! - [`aggregate`]: what a pass computes from sessions (counts, players, occupancy).
//! - [`store`]: every fleet's published state, counters and interruption ledger.
//! - [`metrics`]: the store rendered to exposition text.
//! - [`events`]: placement and matchmaking events read off SQS: parsing, counting, dedup.
//! - [`sqs`]: the `[events]` reader: long polls, counts, publishes, saves, then deletes.
//! - [`statefile`]: `state.path`, what survives a restart.
//! - [`exporter`]: the config in force, reloads, and the workers tied together.
//! - [`http`]: `/metrics`, `/`, `/-/healthy`, `/-/ready`, `/-/reload` on hyper.
//! - [`web`]: TLS (and client certificates) and basic auth from an exporter-toolkit web-config
//!   file.
//! - [`logging`]: the flat JSON lines of `--log.format=json`.
//! - [`simulator`]: a wire-faithful GameLift stand-in for tests, demo and benchmarks.
//! - [`demo`]: `--demo`, the exporter on a built-in simulated world.
#![forbid(unsafe_code)]

pub mod aggregate;
pub mod aws;
pub mod budget;
pub mod capacity;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod discovery;
pub mod duration;
pub mod events;
pub mod exporter;
pub mod http;
pub mod logging;
pub mod metrics;
pub mod quota;
pub mod scheduler;
pub mod simulator;
pub mod sqs;
pub mod statefile;
pub mod store;
pub mod sweep;
pub mod tomlfile;
pub mod tracking;
pub mod web;
