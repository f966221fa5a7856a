//! The instance side of a fleet: how many instances it has per location and state, and how its
//! game-server processes are used, read every `sweep.capacity_interval`.
//!
//! - Home Regions come from the batched operations (`DescribeFleetCapacity`,
//!   `DescribeFleetUtilization`): one call per batch of fleet ids. The batch starts as large as
//!   the Region's fleet list; when the service answers that a batch is too large ("the error
//!   message includes the maximum allowed"), the maximum is read from the message, remembered for
//!   the Region, and the rest is sent in batches of that size. A refusal that names no number
//!   halves the batch for this cycle only.
//! - Remote locations have no batch form: one `DescribeFleetLocationCapacity` and one
//!   `DescribeFleetLocationUtilization` per fleet and remote location.
//! - Anywhere fleets are skipped: the capacity operations do not apply to them.
//! - A fleet's instance counts are published only when every one of its capacity calls
//!   succeeded, and likewise its utilization, so a fleet never shows two cycles at once; a
//!   failed call keeps the fleet's previous numbers (until they are stale).

use crate::aws::{FailureReason, RegionClient};
use crate::budget::Lane;
use crate::discovery::Fleet;
use aws_sdk_gamelift::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_gamelift::types::{FleetCapacity, FleetUtilization};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

/// `state` label values of `gamelift_fleet_instances`, in the API's `EC2InstanceCounts` terms.
pub const INSTANCE_STATES: [&str; 7] = [
    "DESIRED",
    "MINIMUM",
    "MAXIMUM",
    "PENDING",
    "ACTIVE",
    "IDLE",
    "TERMINATING",
];

/// `state` label values of `gamelift_fleet_game_server_container_groups`.
pub const CONTAINER_GROUP_STATES: [&str; 4] = ["PENDING", "ACTIVE", "IDLE", "TERMINATING"];

/// One location's instance counts, in [`INSTANCE_STATES`] order, and for container fleets its
/// game server container groups in [`CONTAINER_GROUP_STATES`] order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocationCapacity {
    pub instances: [i64; 7],
    pub container_groups: Option<[i64; 4]>,
}

/// One location's utilization.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocationUtilization {
    pub active_server_processes: i64,
    pub active_game_sessions: i64,
    pub current_player_sessions: i64,
    pub maximum_player_sessions: i64,
}

/// What one capacity cycle of a Region found: the fleets whose calls all succeeded, by kind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CapacityOutcome {
    pub capacity: BTreeMap<String, BTreeMap<String, LocationCapacity>>,
    pub utilization: BTreeMap<String, BTreeMap<String, LocationUtilization>>,
    /// Fleets the service says do not exist (omitted from a batched answer, or
    /// `NotFoundException`): the caller rediscovers.
    pub missing: BTreeSet<String>,
    /// Calls that failed (after the exporter's retries), for the log.
    pub failed_calls: u64,
    /// Calls made, by operation, for the log and the benchmark.
    pub calls: BTreeMap<&'static str, u64>,
}

/// Batch sizes learned from the service, per batched operation; kept by the Region's worker.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchLimits {
    pub capacity: Option<usize>,
    pub utilization: Option<usize>,
}

/// The maximum a "too many fleet ids" message states: the largest number in it below the batch
/// size that was refused, ignoring quoted parts (AWS's validation messages quote the refused
/// value, and fleet ids contain digits).
pub fn stated_limit(message: &str, refused: usize) -> Option<usize> {
    let mut unquoted = String::with_capacity(message.len());
    let mut quoted = false;
    for c in message.chars() {
        match c {
            '\'' => quoted = !quoted,
            c if !quoted => unquoted.push(c),
            _ => {}
        }
    }
    unquoted
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse::<usize>().ok())
        .filter(|n| (1..refused).contains(n))
        .max()
}

/// Sends `ids` in batches as large as the service allows; returns each batch with its items or
/// the reason it failed.
async fn batched<T, E, F, Fut>(
    client: &RegionClient,
    ids: &[String],
    operation: &'static str,
    learned: &mut Option<usize>,
    calls: &mut u64,
    mut send: F,
) -> Vec<(Vec<String>, Result<Vec<T>, FailureReason>)>
where
    E: ProvideErrorMetadata,
    F: FnMut(Vec<String>) -> Fut,
    Fut: Future<Output = Result<Vec<T>, SdkError<E, HttpResponse>>>,
{
    let mut out = Vec::new();
    let mut cap = learned.unwrap_or(usize::MAX);
    let mut rest = ids;
    while !rest.is_empty() {
        let size = cap.min(rest.len()).max(1);
        let batch = rest[..size].to_vec();
        *calls += 1;
        match client.call(Lane::Live, operation, || send(batch.clone())).await {
            Ok(items) => {
                out.push((batch, Ok(items)));
                rest = &rest[size..];
            }
            Err(error) => {
                let reason = FailureReason::of(&error);
                if reason == FailureReason::InvalidRequest && size > 1 {
                    match stated_limit(error.message().unwrap_or_default(), size) {
                        Some(limit) => {
                            tracing::info!(
                                limit,
                                refused = size,
                                "learned the service's batch limit for fleet ids"
                            );
                            cap = limit;
                            *learned = Some(limit);
                        }
                        None => cap = size / 2,
                    }
                    continue;
                }
                out.push((batch, Err(reason)));
                rest = &rest[size..];
            }
        }
    }
    out
}

fn count(value: Option<i32>) -> i64 {
    i64::from(value.unwrap_or(0))
}

fn location_capacity(capacity: &FleetCapacity) -> LocationCapacity {
    let mut instances = [0; 7];
    if let Some(c) = capacity.instance_counts() {
        instances = [
            c.desired(),
            c.minimum(),
            c.maximum(),
            c.pending(),
            c.active(),
            c.idle(),
            c.terminating(),
        ]
        .map(count);
    }
    let container_groups = capacity
        .game_server_container_group_counts()
        .map(|g| [g.pending(), g.active(), g.idle(), g.terminating()].map(count));
    LocationCapacity {
        instances,
        container_groups,
    }
}

fn location_utilization(utilization: &FleetUtilization) -> LocationUtilization {
    LocationUtilization {
        active_server_processes: count(utilization.active_server_process_count()),
        active_game_sessions: count(utilization.active_game_session_count()),
        current_player_sessions: count(utilization.current_player_session_count()),
        maximum_player_sessions: count(utilization.maximum_player_session_count()),
    }
}

/// One fleet's numbers being gathered: `None` once any of its calls failed.
type Gathering<T> = BTreeMap<String, Option<BTreeMap<String, T>>>;

/// Files a batched answer: each listed fleet's home-Region numbers; fleets the answer omits
/// are missing; a failed batch fails all its fleets.
fn file_batch<T, I>(
    gathering: &mut Gathering<T>,
    home: &BTreeMap<String, String>,
    batch: &[String],
    result: Result<Vec<I>, FailureReason>,
    outcome: &mut CapacityOutcome,
    convert: impl Fn(&I) -> Option<(String, Option<String>, T)>,
) {
    match result {
        Ok(items) => {
            let mut answered = BTreeSet::new();
            for item in &items {
                let Some((fleet_id, location, value)) = convert(item) else {
                    continue;
                };
                let Some(home_region) = home.get(&fleet_id) else {
                    continue;
                };
                let location = location.unwrap_or_else(|| home_region.clone());
                if let Some(Some(locations)) = gathering.get_mut(&fleet_id) {
                    locations.insert(location, value);
                }
                answered.insert(fleet_id);
            }
            for fleet_id in batch {
                if !answered.contains(fleet_id) {
                    gathering.insert(fleet_id.clone(), None);
                    outcome.missing.insert(fleet_id.clone());
                }
            }
        }
        Err(_) => {
            outcome.failed_calls += 1;
            for fleet_id in batch {
                gathering.insert(fleet_id.clone(), None);
            }
        }
    }
}

/// What a per-location call returned.
enum LocationAnswer {
    Capacity(String, String, Result<Option<LocationCapacity>, FailureReason>),
    Utilization(String, String, Result<Option<LocationUtilization>, FailureReason>),
}

/// One capacity cycle over a Region's fleets. At most `concurrency` per-location calls are in
/// flight at once; every call waits for the Region's budget.
pub async fn capacity_cycle(
    client: &RegionClient,
    fleets: &[Fleet],
    limits: &mut BatchLimits,
    concurrency: usize,
) -> CapacityOutcome {
    let mut outcome = CapacityOutcome::default();
    let eligible: Vec<&Fleet> = fleets.iter().filter(|f| f.has_managed_capacity()).collect();
    if eligible.is_empty() {
        return outcome;
    }
    let ids: Vec<String> = eligible.iter().map(|f| f.fleet_id.clone()).collect();
    let home: BTreeMap<String, String> = eligible
        .iter()
        .map(|f| (f.fleet_id.clone(), f.home_region.clone()))
        .collect();
    let mut capacity: Gathering<LocationCapacity> =
        ids.iter().map(|id| (id.clone(), Some(BTreeMap::new()))).collect();
    let mut utilization: Gathering<LocationUtilization> =
        ids.iter().map(|id| (id.clone(), Some(BTreeMap::new()))).collect();

    let mut calls = 0;
    let answers = batched(
        client,
        &ids,
        "DescribeFleetCapacity",
        &mut limits.capacity,
        &mut calls,
        |batch| {
            let request = client.client.describe_fleet_capacity().set_fleet_ids(Some(batch));
            async move { request.send().await.map(|o| o.fleet_capacity.unwrap_or_default()) }
        },
    )
    .await;
    outcome.calls.insert("DescribeFleetCapacity", calls);
    for (batch, result) in answers {
        file_batch(&mut capacity, &home, &batch, result, &mut outcome, |c| {
            Some((
                c.fleet_id()?.to_string(),
                c.location().map(str::to_string),
                location_capacity(c),
            ))
        });
    }

    let mut calls = 0;
    let answers = batched(
        client,
        &ids,
        "DescribeFleetUtilization",
        &mut limits.utilization,
        &mut calls,
        |batch| {
            let request = client
                .client
                .describe_fleet_utilization()
                .set_fleet_ids(Some(batch));
            async move {
                request
                    .send()
                    .await
                    .map(|o| o.fleet_utilization.unwrap_or_default())
            }
        },
    )
    .await;
    outcome.calls.insert("DescribeFleetUtilization", calls);
    for (batch, result) in answers {
        file_batch(&mut utilization, &home, &batch, result, &mut outcome, |u| {
            Some((
                u.fleet_id()?.to_string(),
                u.location().map(str::to_string),
                location_utilization(u),
            ))
        });
    }

    // Remote locations, one call each, a few at a time.
    let mut remote: Vec<(bool, String, String)> = Vec::new();
    for fleet in &eligible {
        for location in fleet.locations.iter().filter(|l| **l != fleet.home_region) {
            for is_capacity in [true, false] {
                remote.push((is_capacity, fleet.fleet_id.clone(), location.clone()));
            }
        }
    }
    let mut tasks = tokio::task::JoinSet::new();
    let mut queue = remote.into_iter();
    loop {
        while tasks.len() < concurrency.max(1) {
            let Some((is_capacity, fleet_id, location)) = queue.next() else {
                break;
            };
            let client = client.clone();
            *outcome
                .calls
                .entry(if is_capacity {
                    "DescribeFleetLocationCapacity"
                } else {
                    "DescribeFleetLocationUtilization"
                })
                .or_default() += 1;
            tasks.spawn(async move {
                if is_capacity {
                    let result = client
                        .call(Lane::Live, "DescribeFleetLocationCapacity", || {
                            client
                                .client
                                .describe_fleet_location_capacity()
                                .fleet_id(&fleet_id)
                                .location(&location)
                                .send()
                        })
                        .await
                        .map(|o| o.fleet_capacity().map(location_capacity))
                        .map_err(|e| FailureReason::of(&e));
                    LocationAnswer::Capacity(fleet_id, location, result)
                } else {
                    let result = client
                        .call(Lane::Live, "DescribeFleetLocationUtilization", || {
                            client
                                .client
                                .describe_fleet_location_utilization()
                                .fleet_id(&fleet_id)
                                .location(&location)
                                .send()
                        })
                        .await
                        .map(|o| o.fleet_utilization().map(location_utilization))
                        .map_err(|e| FailureReason::of(&e));
                    LocationAnswer::Utilization(fleet_id, location, result)
                }
            });
        }
        let Some(joined) = tasks.join_next().await else {
            break;
        };
        let answer = match joined {
            Ok(answer) => answer,
            Err(error) => {
                // A panicking call cannot be attributed; count it and let its fleet keep its
                // previous numbers by failing nothing else.
                tracing::error!(%error, "a capacity call panicked");
                outcome.failed_calls += 1;
                continue;
            }
        };
        match answer {
            LocationAnswer::Capacity(fleet_id, location, result) => {
                file_location(&mut capacity, &mut outcome, fleet_id, location, result)
            }
            LocationAnswer::Utilization(fleet_id, location, result) => {
                file_location(&mut utilization, &mut outcome, fleet_id, location, result)
            }
        }
    }

    outcome.capacity = capacity
        .into_iter()
        .filter_map(|(id, locations)| Some((id, locations?)))
        .collect();
    outcome.utilization = utilization
        .into_iter()
        .filter_map(|(id, locations)| Some((id, locations?)))
        .collect();
    outcome
}

/// Files a per-location answer: an answer without data, or a failure, fails the fleet's numbers
/// of that kind for this cycle.
fn file_location<T>(
    gathering: &mut Gathering<T>,
    outcome: &mut CapacityOutcome,
    fleet_id: String,
    location: String,
    result: Result<Option<T>, FailureReason>,
) {
    match result {
        Ok(Some(value)) => {
            if let Some(Some(locations)) = gathering.get_mut(&fleet_id) {
                locations.insert(location, value);
            }
        }
        Ok(None) => {
            gathering.insert(fleet_id, None);
        }
        Err(reason) => {
            outcome.failed_calls += 1;
            if reason == FailureReason::NotFound {
                outcome.missing.insert(fleet_id.clone());
            }
            gathering.insert(fleet_id, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stated_limit_is_read_from_the_message_not_from_the_refused_ids() {
        let aws = "1 validation error detected: Value '[fleet-1, fleet-22, fleet-333]' at 'fleetIds' failed to satisfy constraint: Member must have length less than or equal to 2";
        assert_eq!(stated_limit(aws, 3), Some(2));
        assert_eq!(
            stated_limit("Too many fleet IDs (50); the maximum allowed is 10.", 50),
            Some(10)
        );
        assert_eq!(
            stated_limit("Request exceeds the maximum of 100 fleet ids.", 50),
            None,
            "a number that is not below the refused size is not a limit"
        );
        assert_eq!(stated_limit("Invalid fleet id.", 5), None);
    }
}
