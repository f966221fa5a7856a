//! `--demo`: the exporter on a built-in simulated world, so anyone can try it without AWS.

use crate::config::Config;
use crate::simulator::{Clock, RunningSimulator, Scenario, Simulator};
use std::path::Path;

/// The built-in scenario: SPOT and ON_DEMAND fleets in two home Regions with remote locations,
/// churn, and spot interruptions every few minutes.
pub const SCENARIO: &str = include_str!("../config/scenarios/demo.toml");

pub fn scenario() -> Scenario {
    Scenario::parse(Path::new("config/scenarios/demo.toml"), SCENARIO)
        .expect("the built-in demo scenario is valid")
}

/// Starts the simulator on loopback and points `config` at it.
pub async fn start(config: &mut Config) -> anyhow::Result<RunningSimulator> {
    let scenario = scenario();
    let simulator = Simulator::start(&scenario, Clock::Wall { speed: 1.0 }).await?;
    let mut regions: Vec<String> = scenario.fleets.iter().map(|f| f.home_region.clone()).collect();
    regions.sort();
    regions.dedup();
    config.aws.regions = regions;
    config.aws.endpoint_url = Some(simulator.url.clone());
    config.aws.profile = None;
    Ok(simulator)
}
