//! `--demo`: the exporter on a built-in simulated world, so anyone can try it without AWS.

use crate::config::DemoTarget;
use crate::simulator::{Clock, RunningSimulator, Scenario, Simulator};
use std::path::Path;

/// The built-in scenario: SPOT, ON_DEMAND and container fleets in two home Regions with remote
/// locations, churn, spot interruptions every few minutes and the capacity that comes back, and
/// game session queues and FlexMatch whose events reach the simulator's own SQS queue.
pub const SCENARIO: &str = include_str!("../config/scenarios/demo.toml");

pub fn scenario() -> Scenario {
    Scenario::parse(Path::new("config/scenarios/demo.toml"), SCENARIO)
        .expect("the built-in demo scenario is valid")
}

/// The demo scenario's home Regions, sorted.
pub fn regions() -> Vec<String> {
    let mut regions: Vec<String> = scenario().fleets.iter().map(|f| f.home_region.clone()).collect();
    regions.sort();
    regions.dedup();
    regions
}

/// Starts the simulator on loopback; the returned target points the exporter at it.
pub async fn start() -> anyhow::Result<(RunningSimulator, DemoTarget)> {
    let simulator = Simulator::start(&scenario(), Clock::Wall { speed: 1.0 }).await?;
    let events_queue_url = scenario()
        .events_queue
        .and_then(|queue| simulator.queue_url(&queue));
    let target = DemoTarget {
        regions: regions(),
        endpoint_url: Some(simulator.url.clone()),
        events_queue_url,
    };
    Ok((simulator, target))
}
