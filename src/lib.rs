//! gamelift-exporter: Amazon GameLift game sessions as Prometheus metrics.
//!
//! On a low-frequency schedule the exporter discovers fleets and their locations, pages through
//! `DescribeGameSessions` for each fleet, aggregates sessions page by page, and publishes each
//! completed sweep as one immutable snapshot served at `/metrics`.
//!
//! # Layout
//! - [`cli`]: command-line arguments (`clap`), turned into a validated [`config::Config`].
//! - [`config`]: the TOML config file, its defaults and validation.
//! - [`aws`]: SDK clients per Region, the API-call counters (an SDK interceptor), error reasons.
//! - [`discovery`]: fleets (`ListFleets` + `DescribeFleetAttributes`) and their locations.
//! - [`sweep`]: paging `DescribeGameSessions` for one fleet into an aggregate; the sweep plan.
//! - [`aggregate`]: what a sweep computes from sessions (counts, players, occupancy).
//! - [`metrics`]: the published snapshot and the collector that renders it.
//! - [`exporter`]: the scheduler that ties discovery, sweeps and publishing together.
//! - [`http`]: `/metrics`, `/`, `/-/healthy`, `/-/ready`, `/-/reload` on hyper.
//! - [`web`]: TLS and basic auth from an exporter-toolkit web-config file.
//! - [`simulator`]: a wire-faithful GameLift stand-in for tests, demo and benchmarks.
//! - [`demo`]: `--demo`, the exporter on a built-in simulated world.
#![forbid(unsafe_code)]

pub mod aggregate;
pub mod aws;
pub mod cli;
pub mod config;
pub mod demo;
pub mod discovery;
pub mod duration;
pub mod exporter;
pub mod http;
pub mod metrics;
pub mod simulator;
pub mod sweep;
pub mod tomlfile;
pub mod web;
