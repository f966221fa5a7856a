//! Which fleets exist, what they are, and where they run.
//!
//! `ListFleets` pages through fleet ids, `DescribeFleetAttributes` describes them in batches, and
//! `DescribeFleetLocationAttributes` lists each fleet's locations. Discovery runs on its own,
//! slower cadence (fleets change far less often than sessions), and at once when a fleet's pass
//! finds the fleet gone.

use crate::aws::{FailureReason, RegionClient};
use crate::budget::Lane;
use crate::config::FleetFilter;
use aws_sdk_gamelift::error::ProvideErrorMetadata;
use std::collections::BTreeMap;

/// The operations the exporter calls (label values of `gamelift_exporter_api_requests_total`,
/// which exist at 0 from the start).
pub const OPERATIONS: [&str; 12] = [
    "ListFleets",
    "DescribeFleetAttributes",
    "DescribeFleetLocationAttributes",
    "DescribeGameSessions",
    "DescribeFleetEvents",
    "DescribeGameSessionDetails",
    "DescribeFleetCapacity",
    "DescribeFleetLocationCapacity",
    "DescribeFleetUtilization",
    "DescribeFleetLocationUtilization",
    "DescribeGameSessionQueues",
    "DescribeMatchmakingConfigurations",
];

/// Fleet ids per DescribeFleetAttributes call (fewer when the service says so).
const ATTRIBUTE_BATCH: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fleet {
    pub fleet_id: String,
    pub name: String,
    /// SPOT or ON_DEMAND; UNKNOWN when the API does not say.
    pub fleet_type: String,
    /// EC2, ANYWHERE or CONTAINER; UNKNOWN when the API does not say.
    pub compute_type: String,
    pub home_region: String,
    /// The name of the account it was discovered in (the `account` label).
    pub account: String,
    /// The AWS account id, from its ARN ("" when the API gives no ARN).
    pub account_id: String,
    /// Home Region first, then remote locations.
    pub locations: Vec<String>,
    /// The fleet's `Status` (ACTIVE, ERROR, ...); UNKNOWN when the API does not say.
    pub status: String,
    /// Each location's `LocationState.Status`; the home Region's is the fleet's own status
    /// unless the location listing reports it.
    pub location_status: BTreeMap<String, String>,
}

impl Fleet {
    /// Whether the capacity operations (`DescribeFleetCapacity`, `DescribeFleetUtilization` and
    /// their location forms) apply: EC2 and container fleets, not Anywhere fleets. A fleet whose
    /// compute type the API does not say predates the field, so it is EC2.
    pub fn has_managed_capacity(&self) -> bool {
        self.compute_type != "ANYWHERE"
    }

    /// Whether this is a container fleet (game server container group counts).
    pub fn is_container(&self) -> bool {
        self.compute_type == "CONTAINER"
    }
}

/// A failed discovery call.
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed ({reason}): {message}")]
pub struct DiscoveryError {
    pub operation: &'static str,
    pub reason: FailureReason,
    pub message: String,
}

fn failure<E: ProvideErrorMetadata + std::error::Error + 'static>(
    operation: &'static str,
    error: aws_sdk_gamelift::error::SdkError<E>,
) -> DiscoveryError {
    DiscoveryError {
        operation,
        reason: FailureReason::of(&error),
        message: crate::aws::describe(&error),
    }
}

/// Discovers the fleets of one Region that pass `filter`, with their locations.
///
/// A failure to list or describe fleets fails discovery as a whole (the caller keeps the
/// previous fleet list); a failure to list one fleet's locations falls back to its home Region.
/// Whether a fleet passes every filter (`[fleets]`, then its account's).
pub fn accepted(filters: &[FleetFilter], fleet: &Fleet) -> bool {
    filters.iter().all(|f| f.accepts(&fleet.fleet_id, &fleet.name))
}

pub async fn discover(
    client: &RegionClient,
    filter: &[FleetFilter],
    page_size: u32,
    calls: &mut Calls,
) -> Result<Vec<Fleet>, DiscoveryError> {
    let mut ids = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .call(Lane::Live, "ListFleets", || {
                client
                    .client
                    .list_fleets()
                    .limit(page_size as i32)
                    .set_next_token(token.clone())
                    .send()
            })
            .await
            .map_err(|e| failure("ListFleets", e))?;
        *calls.entry("ListFleets").or_default() += 1;
        ids.extend(page.fleet_ids().iter().cloned());
        token = follow(&token, page.next_token(), "ListFleets")?;
        if token.is_none() {
            break;
        }
    }
    let mut fleets = Vec::new();
    // Batches of ATTRIBUTE_BATCH ids; if the service says that is too many ("the error message
    // includes the maximum allowed"), the rest goes in batches of what it allows.
    let mut batch_size = ATTRIBUTE_BATCH;
    let mut rest: &[String] = &ids;
    while !rest.is_empty() {
        let batch = &rest[..batch_size.min(rest.len())];
        let result = client
            .call(Lane::Live, "DescribeFleetAttributes", || {
                client
                    .client
                    .describe_fleet_attributes()
                    .set_fleet_ids(Some(batch.to_vec()))
                    .send()
            })
            .await;
        *calls.entry("DescribeFleetAttributes").or_default() += 1;
        let described = match result {
            Ok(described) => described,
            Err(error) if FailureReason::of(&error) == FailureReason::InvalidRequest && batch.len() > 1 => {
                let limit = crate::capacity::stated_limit(error.message().unwrap_or_default(), batch.len());
                batch_size = limit.unwrap_or(batch.len() / 2);
                continue;
            }
            Err(error) => return Err(failure("DescribeFleetAttributes", error)),
        };
        rest = &rest[batch.len()..];
        for attributes in described.fleet_attributes() {
            match fleet_of(attributes, &client.region) {
                Some(mut fleet) if accepted(filter, &fleet) => {
                    fleet.account = client.account.clone();
                    fleets.push(fleet)
                }
                _ => {}
            }
        }
    }
    for fleet in &mut fleets {
        match locations(client, &fleet.fleet_id, page_size, calls).await {
            Ok(found) => {
                for (location, status) in found {
                    if !fleet.locations.contains(&location) {
                        fleet.locations.push(location.clone());
                    }
                    if let Some(status) = status {
                        fleet.location_status.insert(location, status);
                    }
                }
            }
            Err(error) => {
                tracing::warn!(fleet_id = %fleet.fleet_id, error = %error, "cannot list fleet locations; using its home Region only");
            }
        }
    }
    fleets.sort_by(|a, b| a.fleet_id.cmp(&b.fleet_id));
    Ok(fleets)
}

/// Game session queues (each with the Regions its game sessions can be placed in) and the
/// names of matchmaking configurations.
pub type EventSources = (Vec<(String, Vec<String>)>, Vec<String>);

/// Calls made, by operation (for pacing and logs).
pub type Calls = BTreeMap<&'static str, u64>;

/// A page token, unless the service handed out the same one twice (an endless loop).
fn follow(
    previous: &Option<String>,
    next: Option<&str>,
    operation: &'static str,
) -> Result<Option<String>, DiscoveryError> {
    crate::aws::next_page(previous, next).map_err(|repeated| DiscoveryError {
        operation,
        reason: FailureReason::Other,
        message: repeated.to_string(),
    })
}

/// Where a queue places game sessions: each destination's Region (from its ARN), and every
/// location of a destination fleet discovery knows.
fn placement_regions(queue: &aws_sdk_gamelift::types::GameSessionQueue, fleets: &[Fleet]) -> Vec<String> {
    let mut regions = std::collections::BTreeSet::new();
    for destination in queue.destinations() {
        let Some(arn) = destination.destination_arn() else {
            continue;
        };
        // arn:aws:gamelift:<region>:<account>:fleet/<id> (or alias/<id>)
        if let Some(region) = arn.split(':').nth(3).filter(|r| !r.is_empty()) {
            regions.insert(region.to_string());
        }
        let id = arn.rsplit('/').next().unwrap_or(arn);
        if let Some(fleet) = fleets.iter().find(|f| f.fleet_id == id) {
            regions.extend(fleet.locations.iter().cloned());
        }
    }
    regions.into_iter().collect()
}

/// The names of the Region's game session queues and matchmaking configurations (for
/// `[events]`: their series exist at 0 before their first event).
pub async fn event_sources(
    client: &RegionClient,
    fleets: &[Fleet],
    page_size: u32,
    calls: &mut Calls,
) -> Result<EventSources, DiscoveryError> {
    // Both operations cap Limit lower than the session listings do.
    let limit = page_size.min(10) as i32;
    let mut queues = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .call(Lane::Live, "DescribeGameSessionQueues", || {
                client
                    .client
                    .describe_game_session_queues()
                    .limit(limit)
                    .set_next_token(token.clone())
                    .send()
            })
            .await
            .map_err(|e| failure("DescribeGameSessionQueues", e))?;
        *calls.entry("DescribeGameSessionQueues").or_default() += 1;
        for queue in page.game_session_queues() {
            let Some(name) = queue.name() else { continue };
            queues.push((name.to_string(), placement_regions(queue, fleets)));
        }
        token = follow(&token, page.next_token(), "DescribeGameSessionQueues")?;
        if token.is_none() {
            break;
        }
    }
    let mut configurations = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .call(Lane::Live, "DescribeMatchmakingConfigurations", || {
                client
                    .client
                    .describe_matchmaking_configurations()
                    .limit(limit)
                    .set_next_token(token.clone())
                    .send()
            })
            .await
            .map_err(|e| failure("DescribeMatchmakingConfigurations", e))?;
        *calls.entry("DescribeMatchmakingConfigurations").or_default() += 1;
        configurations.extend(
            page.configurations()
                .iter()
                .filter_map(|c| c.name().map(str::to_string)),
        );
        token = follow(&token, page.next_token(), "DescribeMatchmakingConfigurations")?;
        if token.is_none() {
            break;
        }
    }
    Ok((queues, configurations))
}

/// A fleet as DescribeFleetAttributes describes it, home Region as its only location so far.
fn fleet_of(attributes: &aws_sdk_gamelift::types::FleetAttributes, region: &str) -> Option<Fleet> {
    let status = attributes.status().map_or("UNKNOWN", |s| s.as_str()).to_string();
    Some(Fleet {
        fleet_id: attributes.fleet_id()?.to_string(),
        name: attributes.name().unwrap_or_default().to_string(),
        // Not guessed: a missing type is shown as such, never as ON_DEMAND or EC2.
        fleet_type: attributes
            .fleet_type()
            .map_or("UNKNOWN", |t| t.as_str())
            .to_string(),
        compute_type: attributes
            .compute_type()
            .map_or("UNKNOWN", |t| t.as_str())
            .to_string(),
        home_region: region.to_string(),
        account: String::new(),
        // arn:aws:gamelift:<region>:<account id>:fleet/<fleet id>
        account_id: attributes
            .fleet_arn()
            .and_then(|arn| arn.split(':').nth(4))
            .unwrap_or_default()
            .to_string(),
        locations: vec![region.to_string()],
        status: status.clone(),
        location_status: BTreeMap::from([(region.to_string(), status)]),
    })
}

/// The fleet's locations with their status, as `DescribeFleetLocationAttributes` lists them.
async fn locations(
    client: &RegionClient,
    fleet_id: &str,
    page_size: u32,
    calls: &mut Calls,
) -> Result<Vec<(String, Option<String>)>, DiscoveryError> {
    let mut out = Vec::new();
    let mut token = None;
    loop {
        let result = client
            .call(Lane::Live, "DescribeFleetLocationAttributes", || {
                client
                    .client
                    .describe_fleet_location_attributes()
                    .fleet_id(fleet_id)
                    .limit(page_size as i32)
                    .set_next_token(token.clone())
                    .send()
            })
            .await;
        *calls.entry("DescribeFleetLocationAttributes").or_default() += 1;
        let page = match result {
            Ok(page) => page,
            // Regions without multi-location support have only the home Region.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_unsupported_region_exception()) =>
            {
                return Ok(out)
            }
            Err(e) => return Err(failure("DescribeFleetLocationAttributes", e)),
        };
        for attributes in page.location_attributes() {
            if let Some(state) = attributes.location_state() {
                if let Some(location) = state.location() {
                    let status = state.status().map(|s| s.as_str().to_string());
                    out.push((location.to_string(), status));
                }
            }
        }
        token = follow(&token, page.next_token(), "DescribeFleetLocationAttributes")?;
        if token.is_none() {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_gamelift::types::{ComputeType, FleetAttributes, FleetType};

    #[test]
    fn missing_types_are_unknown_not_guessed() {
        let bare = FleetAttributes::builder().fleet_id("fleet-a").name("a").build();
        let fleet = fleet_of(&bare, "us-west-2").unwrap();
        assert_eq!(
            (fleet.fleet_type.as_str(), fleet.compute_type.as_str()),
            ("UNKNOWN", "UNKNOWN")
        );
        let full = FleetAttributes::builder()
            .fleet_id("fleet-b")
            .fleet_type(FleetType::Spot)
            .compute_type(ComputeType::Anywhere)
            .build();
        let fleet = fleet_of(&full, "eu-west-1").unwrap();
        assert_eq!(
            (fleet.fleet_type.as_str(), fleet.compute_type.as_str()),
            ("SPOT", "ANYWHERE")
        );
        assert_eq!(fleet.locations, ["eu-west-1"]);
        assert_eq!(fleet.status, "UNKNOWN", "a missing status is not guessed either");
        let active = FleetAttributes::builder()
            .fleet_id("fleet-c")
            .status(aws_sdk_gamelift::types::FleetStatus::Error)
            .build();
        let fleet = fleet_of(&active, "eu-west-1").unwrap();
        assert_eq!(fleet.status, "ERROR");
        assert_eq!(
            fleet.location_status,
            BTreeMap::from([("eu-west-1".to_string(), "ERROR".to_string())]),
            "the home Region's status is the fleet's own until the location listing says otherwise"
        );
        assert!(fleet_of(&FleetAttributes::builder().build(), "us-west-2").is_none());
    }
}
