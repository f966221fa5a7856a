//! Rate limits as AWS applies them: one token bucket per account, signing Region and operation
//! (AWS's quotas are per account and Region), plus resource-level throttling of
//! `DescribeGameSessions` per fleet.
//!
//! The default table is AWS's "API limits reference" for Amazon GameLift Servers
//! (docs.aws.amazon.com/gameliftservers/latest/developerguide/api-limits-common.html): for every
//! operation the simulator answers, burst equals rate, so one bucket of `rate` tokens refilled at
//! `rate` per second models both columns.

use super::wire::Doc;
use super::{Inner, TokenBucket};
use std::collections::BTreeMap;
use tokio::time::Instant;

/// AWS's default requests per second (burst the same) per account and Region, for every
/// operation the simulator answers or will answer; `[faults] rate_limits` replaces it.
pub const AWS_RATE_LIMITS: [(&str, f64); 10] = [
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
];

/// Operations AWS throttles per resource as well, among those the simulator answers: the valid
/// keys of `[faults] per_fleet_rate_limits`. (AWS also lists DescribeGameSessionPlacement,
/// DescribeMatchmaking and DescribePlayerSessions, which the simulator does not answer.)
pub const PER_FLEET_OPERATIONS: [&str; 1] = ["DescribeGameSessions"];

/// The fleet a request is about, for resource-level throttling: the fleet id (from an id or an
/// ARN), the fleet an alias resolves to in the caller's account and Region, or the fleet named in
/// a game session ARN. `None` when the request names none (it then fails validation anyway).
fn resource(inner: &Inner, account: &str, region: &str, members: &BTreeMap<String, Doc>) -> Option<String> {
    let text = |name: &str| match members.get(name) {
        Some(Doc::Str(value)) => Some(value.as_str()),
        _ => None,
    };
    if let Some(fleet) = text("FleetId") {
        return Some(fleet.rsplit('/').next().unwrap_or(fleet).to_string());
    }
    if let Some(alias) = text("AliasId") {
        let alias = alias.rsplit('/').next().unwrap_or(alias);
        let world = &inner.world;
        let fleet = world.fleets.iter().find(|f| {
            f.spec.alias_id.as_deref() == Some(alias)
                && f.spec.home_region == region
                && super::accounts::fleet_account(world, f) == account
        });
        // An alias that resolves to nothing still costs its own key, as a hot key would.
        return Some(fleet.map_or_else(|| format!("alias/{alias}"), |f| f.spec.id.clone()));
    }
    let session = text("GameSessionId")?;
    let (_, path) = session.split_once("::gamesession/")?;
    Some(path.split('/').next()?.to_string())
}

/// Takes one token from each bucket the request draws on: its account-Region-operation bucket,
/// then (for `DescribeGameSessions` when configured) its fleet's. `false`: throttled. A request
/// refused by the fleet's bucket has already spent its account-wide token, as a throttled call
/// still counts against the account's quota.
pub(super) fn admit(
    inner: &mut Inner,
    account: &str,
    region: &str,
    operation: &str,
    members: &BTreeMap<String, Doc>,
    now: Instant,
) -> bool {
    if let Some(rate) = inner.faults.rate_limits.get(operation).copied() {
        let key = format!("{account}/{region}/{operation}");
        let bucket = inner.buckets.entry(key).or_insert_with(|| TokenBucket::new(rate));
        if !bucket.take(now) {
            return false;
        }
    }
    if let Some(rate) = inner.faults.per_fleet_rate_limits.get(operation).copied() {
        let Some(fleet) = resource(inner, account, region, members) else {
            return true;
        };
        let key = format!("{account}/{region}/{operation}/{fleet}");
        let bucket = inner.buckets.entry(key).or_insert_with(|| TokenBucket::new(rate));
        if !bucket.take(now) {
            return false;
        }
    }
    true
}
