//! The GameLift operations the simulator answers, with the validation and errors of the real API.

use super::scenario::EventsOrder;
use super::state::{Event, Fleet, Session, Status, World};
use super::wire::{map, Doc, Input};
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

/// A modeled GameLift error: its `__type`, HTTP status and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: &'static str,
    pub status: u16,
    pub message: String,
}

impl ApiError {
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError {
            code: "InvalidRequestException",
            status: 400,
            message: message.into(),
        }
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError {
            code: "NotFoundException",
            status: 400,
            message: message.into(),
        }
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError {
            code: "UnauthorizedException",
            status: 400,
            message: message.into(),
        }
    }
    pub fn throttled() -> Self {
        ApiError {
            code: "ThrottlingException",
            status: 400,
            message: "Rate exceeded".into(),
        }
    }
    pub fn internal(message: impl Into<String>) -> Self {
        ApiError {
            code: "InternalServiceException",
            status: 500,
            message: message.into(),
        }
    }
    /// What IAM answers when no policy allows the operation (HTTP 400, as AWS sends it).
    pub fn access_denied(operation: &str, account_id: &str) -> Self {
        ApiError {
            code: "AccessDeniedException",
            status: 400,
            message: format!(
                "User: arn:aws:iam::{account_id}:user/gamelift-exporter is not authorized to perform: gamelift:{operation} because no identity-based policy allows the gamelift:{operation} action"
            ),
        }
    }
    /// The injected failure `code` (one of the scenario's FAILURE_CODES) for `operation`.
    pub fn injected(code: &str, operation: &str, account_id: &str) -> Self {
        match code {
            "ThrottlingException" => ApiError::throttled(),
            "AccessDeniedException" => ApiError::access_denied(operation, account_id),
            "NotFoundException" => ApiError::not_found(format!(
                "{operation}: the requested resource was not found (injected)."
            )),
            "UnauthorizedException" => ApiError::unauthorized(format!(
                "{operation}: the client is not authorized to perform this request (injected)."
            )),
            _ => ApiError::internal(format!(
                "{operation}: an internal service error occurred (injected)."
            )),
        }
    }
    pub fn unknown_operation(operation: &str) -> Self {
        ApiError {
            code: "UnknownOperationException",
            status: 404,
            message: format!("operation {operation:?} is not supported by the GameLift simulator"),
        }
    }

    pub fn to_doc(&self) -> Doc {
        map([
            ("__type", Doc::Str(self.code.to_string())),
            ("message", Doc::Str(self.message.clone())),
        ])
    }
}

/// How long a NextToken stays valid, in simulated time.
const TOKEN_LIFETIME_MS: i64 = 15 * 60 * 1000;

/// Context one request runs in.
pub struct Call<'a> {
    pub world: &'a World,
    /// Region from the SigV4 credential scope; fleets are listed per home Region.
    pub region: Option<&'a str>,
    /// The account the request is attributed to: it sees only its own fleets.
    pub account: &'a str,
    pub max_page_size: u32,
    /// Most fleet ids DescribeFleetCapacity and DescribeFleetUtilization take in one request.
    pub max_fleet_ids: u32,
    /// Most fleet ids DescribeFleetAttributes takes in one request, if limited.
    pub attributes_max_fleet_ids: Option<u32>,
    pub failing_fleets: &'a [String],
}

/// The operations [`dispatch`] knows.
pub const OPERATION_NAMES: [&str; 10] = super::scenario::OPERATIONS;

pub fn dispatch(call: &Call, operation: &str, input: &BTreeMap<String, Doc>) -> Result<Doc, ApiError> {
    let input = Input(input);
    match operation {
        "ListFleets" => list_fleets(call, &input),
        "DescribeFleetAttributes" => describe_fleet_attributes(call, &input),
        "DescribeFleetLocationAttributes" => describe_fleet_location_attributes(call, &input),
        "DescribeGameSessions" => describe_game_sessions(call, &input),
        "DescribeGameSessionDetails" => describe_game_session_details(call, &input),
        "DescribeFleetEvents" => describe_fleet_events(call, &input),
        "DescribeFleetCapacity" => describe_fleets(call, &input, &CAPACITY),
        "DescribeFleetUtilization" => describe_fleets(call, &input, &UTILIZATION),
        "DescribeFleetLocationCapacity" => describe_fleet_location(call, &input, &CAPACITY),
        "DescribeFleetLocationUtilization" => describe_fleet_location(call, &input, &UTILIZATION),
        other => super::placements::dispatch(call, other, &input)
            .unwrap_or_else(|| Err(ApiError::unknown_operation(other))),
    }
}

fn invalid(message: String) -> ApiError {
    ApiError::invalid(message)
}

impl Call<'_> {
    fn fleets_in_region(&self) -> impl Iterator<Item = &Fleet> {
        self.world
            .fleets
            .iter()
            .filter(move |f| self.region.is_none_or(|r| r == f.spec.home_region))
            .filter(move |f| super::accounts::fleet_account(self.world, f) == self.account)
    }

    fn find_fleet(&self, id_or_arn: &str) -> Result<&Fleet, ApiError> {
        let id = id_or_arn.rsplit('/').next().unwrap_or(id_or_arn);
        self.fleets_in_region()
            .find(|f| f.spec.id == id)
            .ok_or_else(|| ApiError::not_found(format!("Fleet {id} not found.")))
    }

    pub(super) fn page_limit(&self, input: &Input) -> Result<usize, ApiError> {
        match input.int("Limit").map_err(invalid)? {
            None => Ok(self.max_page_size as usize),
            Some(limit) if limit < 1 => Err(ApiError::invalid(format!(
                "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
            ))),
            Some(limit) => Ok((limit as u64).min(u64::from(self.max_page_size)) as usize),
        }
    }

    /// Opaque page token: the last position returned, when it was issued, and a MAC binding it
    /// to the query, so forged, altered, reused-for-another-query and expired tokens are refused.
    pub(super) fn token(&self, query: &str, position: u64) -> String {
        let issued = self.world.now_ms();
        format!(
            "{position:x}.{issued:x}.{:016x}",
            self.mac(query, position, issued)
        )
    }

    fn mac(&self, query: &str, position: u64, issued: i64) -> u64 {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (
            self.world.seed,
            "gamelift-simulator-token",
            query,
            position,
            issued,
        )
            .hash(&mut hasher);
        hasher.finish()
    }

    /// Where to resume: `None` for the first page.
    pub(super) fn resume(&self, input: &Input, query: &str) -> Result<Option<u64>, ApiError> {
        let Some(token) = input.string("NextToken").map_err(invalid)? else {
            return Ok(None);
        };
        let bad = || {
            ApiError::invalid("Invalid NextToken: the token is malformed or was not issued for this request.")
        };
        let mut parts = token.split('.');
        let (Some(position), Some(issued), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let position = u64::from_str_radix(position, 16).map_err(|_| bad())?;
        let issued = i64::from_str_radix(issued, 16).map_err(|_| bad())?;
        let mac = u64::from_str_radix(mac, 16).map_err(|_| bad())?;
        if mac != self.mac(query, position, issued) {
            return Err(bad());
        }
        if self.world.now_ms() - issued > TOKEN_LIFETIME_MS {
            return Err(ApiError::invalid("Invalid NextToken: the token has expired."));
        }
        Ok(Some(position))
    }
}

fn list_fleets(call: &Call, input: &Input) -> Result<Doc, ApiError> {
    let limit = call.page_limit(input)?;
    let query = "ListFleets";
    let start = call.resume(input, query)?.unwrap_or(0) as usize;
    let fleets: Vec<&Fleet> = call.fleets_in_region().collect();
    let page: Vec<Doc> = fleets
        .iter()
        .skip(start)
        .take(limit)
        .map(|f| Doc::Str(f.spec.id.clone()))
        .collect();
    let end = start + page.len();
    let next = (end < fleets.len()).then(|| Doc::Str(call.token(query, end as u64)));
    Ok(map([
        ("FleetIds", Doc::List(page)),
        ("NextToken", next.unwrap_or(Doc::Null)),
    ]))
}

fn fleet_attributes(fleet: &Fleet) -> Doc {
    let spec = &fleet.spec;
    map([
        ("FleetId", Doc::Str(spec.id.clone())),
        ("FleetArn", Doc::Str(fleet.arn.clone())),
        ("FleetType", Doc::Str(spec.fleet_type.as_str().into())),
        ("InstanceType", Doc::Str("c5.large".into())),
        ("Description", Doc::Str(format!("Simulated fleet {}", spec.name))),
        ("Name", Doc::Str(spec.name.clone())),
        ("CreationTime", Doc::Timestamp(fleet.creation_ms)),
        ("Status", Doc::Str(fleet.status.into())),
        (
            "BuildId",
            Doc::Str(format!("build-{}", &spec.id["fleet-".len()..])),
        ),
        ("ServerLaunchPath", Doc::Str("/local/game/server".into())),
        ("NewGameSessionProtectionPolicy", Doc::Str("NoProtection".into())),
        ("OperatingSystem", Doc::Str("AMAZON_LINUX_2023".into())),
        ("MetricGroups", Doc::List(vec![Doc::Str("default".into())])),
        ("ComputeType", Doc::Str(spec.compute_type.as_str().into())),
    ])
}

fn describe_fleet_attributes(call: &Call, input: &Input) -> Result<Doc, ApiError> {
    if let Some(ids) = input.strings("FleetIds").map_err(invalid)? {
        if ids.is_empty() {
            return Err(ApiError::invalid("FleetIds must contain at least one fleet id."));
        }
        if let Some(max) = call
            .attributes_max_fleet_ids
            .filter(|max| ids.len() > *max as usize)
        {
            return Err(ApiError::invalid(format!(
                "1 validation error detected: Value '[{}]' at 'fleetIds' failed to satisfy constraint: Member must have length less than or equal to {max}",
                ids.join(", ")
            )));
        }
        // As on AWS, requested fleets that do not exist are simply left out.
        let found: Vec<Doc> = ids
            .iter()
            .filter_map(|id| call.find_fleet(id).ok())
            .map(fleet_attributes)
            .collect();
        return Ok(map([("FleetAttributes", Doc::List(found))]));
    }
    let limit = call.page_limit(input)?;
    let query = "DescribeFleetAttributes";
    let start = call.resume(input, query)?.unwrap_or(0) as usize;
    let fleets: Vec<&Fleet> = call.fleets_in_region().collect();
    let page: Vec<Doc> = fleets
        .iter()
        .skip(start)
        .take(limit)
        .map(|f| fleet_attributes(f))
        .collect();
    let end = start + page.len();
    let next = (end < fleets.len()).then(|| Doc::Str(call.token(query, end as u64)));
    Ok(map([
        ("FleetAttributes", Doc::List(page)),
        ("NextToken", next.unwrap_or(Doc::Null)),
    ]))
}

fn describe_fleet_location_attributes(call: &Call, input: &Input) -> Result<Doc, ApiError> {
    let fleet_id = input
        .string("FleetId")
        .map_err(invalid)?
        .ok_or_else(|| ApiError::invalid("1 validation error detected: Value null at 'fleetId' failed to satisfy constraint: Member must not be null"))?;
    let fleet = call.find_fleet(&fleet_id)?;
    let wanted = input.strings("Locations").map_err(invalid)?;
    let limit = call.page_limit(input)?;
    let query = format!("DescribeFleetLocationAttributes/{}/{wanted:?}", fleet.spec.id);
    let start = call.resume(input, &query)?.unwrap_or(0) as usize;
    let locations: Vec<&String> = fleet
        .locations
        .iter()
        .filter(|l| wanted.as_ref().is_none_or(|w| w.contains(l)))
        .collect();
    let page: Vec<Doc> = locations
        .iter()
        .skip(start)
        .take(limit)
        .map(|location| {
            let index = fleet
                .location_index(location)
                .expect("one of the fleet's locations");
            map([
                (
                    "LocationState",
                    map([
                        ("Location", Doc::Str((*location).clone())),
                        ("Status", Doc::Str(fleet.capacity[index as usize].status.into())),
                    ]),
                ),
                ("StoppedActions", Doc::List(Vec::new())),
            ])
        })
        .collect();
    let end = start + page.len();
    let next = (end < locations.len()).then(|| Doc::Str(call.token(&query, end as u64)));
    Ok(map([
        ("FleetId", Doc::Str(fleet.spec.id.clone())),
        ("FleetArn", Doc::Str(fleet.arn.clone())),
        ("LocationAttributes", Doc::List(page)),
        ("NextToken", next.unwrap_or(Doc::Null)),
    ]))
}

/// The ARN of a session: `arn:aws:gamelift:<region>::gamesession/<fleet id>/<id>`.
pub fn session_arn(fleet: &Fleet, session: &Session) -> String {
    format!(
        "arn:aws:gamelift:{}::gamesession/{}/gsess-{:012x}",
        fleet.locations[session.location as usize], fleet.spec.id, session.seq
    )
}

pub fn session_doc(fleet: &Fleet, session: &Session) -> Doc {
    let location = &fleet.locations[session.location as usize];
    let seq = session.seq;
    let ip = format!("10.{}.{}.{}", (seq >> 16) & 0xff, (seq >> 8) & 0xff, seq & 0xff);
    let live = matches!(session.status, Status::Active | Status::Activating);
    map([
        ("GameSessionId", Doc::Str(session_arn(fleet, session))),
        ("Name", Doc::Str(format!("match-{seq}"))),
        ("FleetId", Doc::Str(fleet.spec.id.clone())),
        ("FleetArn", Doc::Str(fleet.arn.clone())),
        ("CreationTime", Doc::Timestamp(session.creation_ms)),
        (
            "TerminationTime",
            session.termination_ms.map_or(Doc::Null, Doc::Timestamp),
        ),
        (
            "CurrentPlayerSessionCount",
            Doc::Int(i64::from(session.current_players)),
        ),
        (
            "MaximumPlayerSessionCount",
            Doc::Int(i64::from(session.max_players)),
        ),
        ("Status", Doc::Str(session.status.as_str().into())),
        (
            "StatusReason",
            if session.interrupted {
                Doc::Str("INTERRUPTED".into())
            } else {
                Doc::Null
            },
        ),
        (
            "GameProperties",
            Doc::List(vec![map([
                ("Key", Doc::Str("mode".into())),
                ("Value", Doc::Str(["ranked", "casual"][(seq % 2) as usize].into())),
            ])]),
        ),
        ("IpAddress", if live { Doc::Str(ip.clone()) } else { Doc::Null }),
        (
            "DnsName",
            if live {
                Doc::Str(format!(
                    "ec2-{}.{location}.compute.amazonaws.com",
                    ip.replace('.', "-")
                ))
            } else {
                Doc::Null
            },
        ),
        ("Port", Doc::Int(7777 + (seq % 100) as i64)),
        (
            "PlayerSessionCreationPolicy",
            Doc::Str(
                if session.accept_all {
                    "ACCEPT_ALL"
                } else {
                    "DENY_ALL"
                }
                .into(),
            ),
        ),
        ("CreatorId", Doc::Str(format!("player-{}", seq % 9973))),
        ("GameSessionData", Doc::Str("{}".into())),
        ("Location", Doc::Str(location.clone())),
        ("ComputeName", Doc::Str(fleet.instance_id(session.instance))),
    ])
}

/// The parts of a session ARN (`arn:aws:gamelift:<location>::gamesession/<fleet id>/gsess-<hex>`)
/// that locate it: fleet id and sequence number. `None` when it is not such an ARN.
fn parse_session_arn(arn: &str) -> Option<(&str, u64)> {
    let rest = arn.strip_prefix("arn:aws:gamelift:")?;
    let (_, path) = rest.split_once("::gamesession/")?;
    let (fleet_id, id) = path.split_once('/')?;
    let hex = id.strip_prefix("gsess-")?;
    if hex.len() != 12 {
        return None;
    }
    Some((fleet_id, u64::from_str_radix(hex, 16).ok()?))
}

/// A page of sessions with the fleet each belongs to, and the token of the next page.
type SessionPage<'a> = (Vec<(&'a Fleet, &'a Session)>, Doc);

/// DescribeGameSessions and DescribeGameSessionDetails: the same inputs, validation, lookup and
/// paging; `operation` keeps their tokens apart.
fn list_game_sessions<'a>(
    call: &'a Call<'a>,
    input: &Input,
    operation: &str,
) -> Result<SessionPage<'a>, ApiError> {
    let fleet_id = input.string("FleetId").map_err(invalid)?;
    let alias_id = input.string("AliasId").map_err(invalid)?;
    let session_id = input.string("GameSessionId").map_err(invalid)?;
    let location = input.string("Location").map_err(invalid)?;
    let status = input.string("StatusFilter").map_err(invalid)?;
    let limit = call.page_limit(input)?;

    if let Some(location) = &location {
        if !super::scenario::is_valid_location(location) {
            return Err(ApiError::invalid(format!(
                "1 validation error detected: Value '{location}' at 'location' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[A-Za-z0-9\\-]+$"
            )));
        }
    }
    let status = match status {
        None => None,
        Some(text) => Some(Status::from_filter(&text).ok_or_else(|| {
            ApiError::invalid(format!(
                "Invalid StatusFilter '{text}': expected one of ACTIVE, ACTIVATING, TERMINATING, TERMINATED."
            ))
        })?),
    };

    let fleet = match (&fleet_id, &alias_id, &session_id) {
        (Some(id), _, _) => call.find_fleet(id)?,
        (None, Some(alias), _) => {
            let alias = alias.rsplit('/').next().unwrap_or(alias);
            call.fleets_in_region()
                .find(|f| f.spec.alias_id.as_deref() == Some(alias))
                .ok_or_else(|| ApiError::not_found(format!("Alias {alias} not found.")))?
        }
        // A single session, looked up across every fleet of the Region.
        (None, None, Some(session_id)) => parse_session_arn(session_id)
            .and_then(|(fleet_id, _)| call.fleets_in_region().find(|f| f.spec.id == fleet_id))
            .ok_or_else(|| ApiError::not_found(format!("Game session {session_id} not found.")))?,
        (None, None, None) => {
            return Err(ApiError::invalid(
                "Either FleetId, AliasId or GameSessionId must be specified.",
            ))
        }
    };
    if operation == "DescribeGameSessions"
        && (fleet_id.is_some() || alias_id.is_some())
        && call.failing_fleets.contains(&fleet.spec.id)
    {
        return Err(ApiError::internal(format!(
            "Internal failure describing game sessions of {}.",
            fleet.spec.id
        )));
    }
    let location_index = match &location {
        None => None,
        Some(name) => Some(fleet.location_index(name).ok_or_else(|| {
            ApiError::invalid(format!(
                "Location {name} is not a location of fleet {}.",
                fleet.spec.id
            ))
        })?),
    };
    let query = format!(
        "{operation}/{}/{:?}/{:?}/{:?}",
        fleet.spec.id, location_index, status, session_id
    );
    let resume = call.resume(input, &query)?;
    let matches = |session: &Session| {
        status.is_none_or(|s| s == session.status) && location_index.is_none_or(|l| l == session.location)
    };

    if let Some(session_id) = &session_id {
        // The sequence number in the ARN finds the session in O(log n): no scan, however large
        // the fleet. A session of another fleet, or none at all, is not found.
        let session = parse_session_arn(session_id)
            .filter(|(arn_fleet, _)| *arn_fleet == fleet.spec.id)
            .and_then(|(_, seq)| fleet.sessions.get(&seq))
            .filter(|session| session_arn(fleet, session) == *session_id)
            .ok_or_else(|| ApiError::not_found(format!("Game session {session_id} not found.")))?;
        let page = if matches(session) && resume.is_none_or(|last| session.seq > last) {
            vec![(fleet, session)]
        } else {
            Vec::new()
        };
        return Ok((page, Doc::Null));
    }

    let range = match resume {
        None => fleet.sessions.range(..),
        Some(last) => fleet.sessions.range(last + 1..),
    };
    let mut page = Vec::with_capacity(limit);
    let mut more = false;
    for session in range.map(|(_, s)| s) {
        if !matches(session) {
            continue;
        }
        if page.len() == limit {
            more = true;
            break;
        }
        page.push((fleet, session));
    }
    let next = match (more, page.last()) {
        (true, Some((_, last))) => Doc::Str(call.token(&query, last.seq)),
        _ => Doc::Null,
    };
    Ok((page, next))
}

fn describe_game_sessions(call: &Call, input: &Input) -> Result<Doc, ApiError> {
    let (page, next) = list_game_sessions(call, input, "DescribeGameSessions")?;
    let sessions = page
        .into_iter()
        .map(|(fleet, session)| session_doc(fleet, session))
        .collect();
    Ok(map([("GameSessions", Doc::List(sessions)), ("NextToken", next)]))
}

fn describe_game_session_details(call: &Call, input: &Input) -> Result<Doc, ApiError> {
    let (page, next) = list_game_sessions(call, input, "DescribeGameSessionDetails")?;
    let details = page
        .into_iter()
        .map(|(fleet, session)| {
            map([
                ("GameSession", session_doc(fleet, session)),
                // Simulated fleets create sessions with NoProtection (see fleet attributes).
                ("ProtectionPolicy", Doc::Str("NoProtection".into())),
            ])
        })
        .collect();
    Ok(map([
        ("GameSessionDetails", Doc::List(details)),
        ("NextToken", next),
    ]))
}

pub fn event_doc(fleet: &Fleet, event: &Event) -> Doc {
    map([
        ("EventId", Doc::Str(fleet.event_id(event))),
        ("ResourceId", Doc::Str(event.resource_id.clone())),
        ("EventCode", Doc::Str(event.code.into())),
        ("Message", Doc::Str(event.message.clone())),
        ("EventTime", Doc::Timestamp(event.time_ms)),
        ("Count", event.count.map_or(Doc::Null, Doc::Int)),
    ])
}

/// In the scenario's `events_order`: newest first by default (AWS documents no order; this one
/// breaks clients that assume chronological), oldest first, or shuffled (a fixed pseudo-random
/// order per query). A token resumes after the last event returned in that order, so events
/// appended between pages are never returned twice by one query, and none is skipped.
fn describe_fleet_events(call: &Call, input: &Input) -> Result<Doc, ApiError> {
    let fleet_id = input
        .string("FleetId")
        .map_err(invalid)?
        .ok_or_else(|| ApiError::invalid("1 validation error detected: Value null at 'fleetId' failed to satisfy constraint: Member must not be null"))?;
    let start = input.timestamp("StartTime").map_err(invalid)?;
    let end = input.timestamp("EndTime").map_err(invalid)?;
    let limit = call.page_limit(input)?;
    let fleet = call.find_fleet(&fleet_id)?;
    let query = format!("DescribeFleetEvents/{}/{start:?}/{end:?}", fleet.spec.id);
    let resume = call.resume(input, &query)?;
    let events = &fleet.events;
    // Events are stored oldest first with increasing numbers and times: the window is a range.
    let from = start.map_or(0, |start| events.partition_point(|e| e.time_ms < start));
    let upto = end.map_or(events.len(), |end| events.partition_point(|e| e.time_ms <= end));
    let window = from..upto.max(from);
    // Each order is a sort key per event; a token holds the key of the last event returned.
    let shuffle_key = {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (call.world.seed, &query).hash(&mut hasher);
        hasher.finish()
    };
    let key = |number: u64| -> u64 {
        match call.world.events_order {
            EventsOrder::NewestFirst => u64::MAX - number,
            EventsOrder::OldestFirst => number,
            EventsOrder::Shuffled => super::state::scramble(number, shuffle_key),
        }
    };
    let mut order: Vec<(u64, usize)> = window
        .map(|i| (key(events[i].number), i))
        .filter(|(k, _)| resume.is_none_or(|last| *k > last))
        .collect();
    order.sort_unstable();
    let page: Vec<Doc> = order
        .iter()
        .take(limit)
        .map(|(_, i)| event_doc(fleet, &events[*i]))
        .collect();
    let next = if order.len() > limit {
        Doc::Str(call.token(&query, order[limit - 1].0))
    } else {
        Doc::Null
    };
    Ok(map([("Events", Doc::List(page)), ("NextToken", next)]))
}

/// What one of the capacity or utilization operations reports, and for which fleets.
struct FleetReport {
    /// The batched operation (home Region, a list of fleets)...
    batched: &'static str,
    /// ...and its one-location form.
    located: &'static str,
    /// Member of both answers: a list in the batched one, a single object in the located one.
    member: &'static str,
    /// The fleet types the batched operation answers for, as the API reference lists them.
    batched_applies: fn(&Fleet) -> bool,
    /// The fleet types the one-location form answers for.
    located_applies: fn(&Fleet) -> bool,
    /// Those types, for the message refusing others.
    located_types: &'static str,
    doc: fn(&Fleet, u16) -> Doc,
}

/// DescribeFleetCapacity and DescribeFleetLocationCapacity: EC2 and CONTAINER fleets.
const CAPACITY: FleetReport = FleetReport {
    batched: "DescribeFleetCapacity",
    located: "DescribeFleetLocationCapacity",
    member: "FleetCapacity",
    batched_applies: Fleet::has_managed_capacity,
    located_applies: Fleet::has_managed_capacity,
    located_types: "EC2 and CONTAINER",
    doc: capacity_doc,
};

/// DescribeFleetUtilization (EC2 and CONTAINER) and DescribeFleetLocationUtilization (EC2,
/// ANYWHERE and CONTAINER), as the current API reference (botocore's model) lists them.
const UTILIZATION: FleetReport = FleetReport {
    batched: "DescribeFleetUtilization",
    located: "DescribeFleetLocationUtilization",
    member: "FleetUtilization",
    batched_applies: Fleet::has_managed_capacity,
    located_applies: |_| true,
    located_types: "EC2, ANYWHERE and CONTAINER",
    doc: utilization_doc,
};

fn count(value: u32) -> Doc {
    Doc::Int(i64::from(value))
}

pub fn capacity_doc(fleet: &Fleet, location: u16) -> Doc {
    let counts = fleet.instance_counts(location);
    let capacity = &fleet.capacity[location as usize];
    let groups = fleet.container_groups(location).map_or(Doc::Null, |groups| {
        map([
            ("PENDING", count(groups.pending)),
            ("ACTIVE", count(groups.active)),
            ("IDLE", count(groups.idle)),
            ("TERMINATING", count(groups.terminating)),
        ])
    });
    map([
        ("FleetId", Doc::Str(fleet.spec.id.clone())),
        ("FleetArn", Doc::Str(fleet.arn.clone())),
        ("InstanceType", Doc::Str("c5.large".into())),
        (
            "InstanceCounts",
            map([
                ("DESIRED", count(capacity.desired)),
                ("MINIMUM", count(capacity.minimum)),
                ("MAXIMUM", count(fleet.maximum(location))),
                ("PENDING", count(counts.pending)),
                ("ACTIVE", count(counts.active)),
                ("IDLE", count(counts.idle)),
                ("TERMINATING", count(counts.terminating)),
            ]),
        ),
        ("Location", Doc::Str(fleet.locations[location as usize].clone())),
        ("GameServerContainerGroupCounts", groups),
    ])
}

pub fn utilization_doc(fleet: &Fleet, location: u16) -> Doc {
    let u = fleet.utilization(location);
    map([
        ("FleetId", Doc::Str(fleet.spec.id.clone())),
        ("FleetArn", Doc::Str(fleet.arn.clone())),
        ("ActiveServerProcessCount", count(u.active_server_processes)),
        ("ActiveGameSessionCount", count(u.active_game_sessions)),
        ("CurrentPlayerSessionCount", count(u.current_player_sessions)),
        ("MaximumPlayerSessionCount", count(u.maximum_player_sessions)),
        ("Location", Doc::Str(fleet.locations[location as usize].clone())),
    ])
}

/// DescribeFleetCapacity and DescribeFleetUtilization: the home Region of listed fleets (those
/// that exist and that the operation applies to; Limit and NextToken are then ignored), or of
/// every such fleet of the Region, paged. More fleet ids than the limit fail, the message
/// stating the maximum, as the API reference says.
fn describe_fleets(call: &Call, input: &Input, report: &FleetReport) -> Result<Doc, ApiError> {
    if let Some(ids) = input.strings("FleetIds").map_err(invalid)? {
        if ids.is_empty() {
            return Err(ApiError::invalid(
                "1 validation error detected: Value '[]' at 'fleetIds' failed to satisfy constraint: Member must have length greater than or equal to 1",
            ));
        }
        if ids.len() > call.max_fleet_ids as usize {
            return Err(ApiError::invalid(format!(
                "1 validation error detected: Value '[{}]' at 'fleetIds' failed to satisfy constraint: Member must have length less than or equal to {}",
                ids.join(", "),
                call.max_fleet_ids
            )));
        }
        let found: Vec<Doc> = ids
            .iter()
            .filter_map(|id| call.find_fleet(id).ok())
            .filter(|fleet| (report.batched_applies)(fleet))
            .map(|fleet| (report.doc)(fleet, 0))
            .collect();
        return Ok(map([(report.member, Doc::List(found))]));
    }
    let limit = call.page_limit(input)?;
    let query = report.batched;
    let start = call.resume(input, query)?.unwrap_or(0) as usize;
    let fleets: Vec<&Fleet> = call
        .fleets_in_region()
        .filter(|fleet| (report.batched_applies)(fleet))
        .collect();
    let page: Vec<Doc> = fleets
        .iter()
        .skip(start)
        .take(limit)
        .map(|fleet| (report.doc)(fleet, 0))
        .collect();
    let end = start + page.len();
    let next = (end < fleets.len()).then(|| Doc::Str(call.token(query, end as u64)));
    Ok(map([
        (report.member, Doc::List(page)),
        ("NextToken", next.unwrap_or(Doc::Null)),
    ]))
}

/// DescribeFleetLocationCapacity and DescribeFleetLocationUtilization: one location of one
/// fleet, the home Region included.
fn describe_fleet_location(call: &Call, input: &Input, report: &FleetReport) -> Result<Doc, ApiError> {
    let fleet_id = input
        .string("FleetId")
        .map_err(invalid)?
        .ok_or_else(|| ApiError::invalid("1 validation error detected: Value null at 'fleetId' failed to satisfy constraint: Member must not be null"))?;
    let location = input
        .string("Location")
        .map_err(invalid)?
        .ok_or_else(|| ApiError::invalid("1 validation error detected: Value null at 'location' failed to satisfy constraint: Member must not be null"))?;
    if !super::scenario::is_valid_location(&location) {
        return Err(ApiError::invalid(format!(
            "1 validation error detected: Value '{location}' at 'location' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[A-Za-z0-9\\-]+"
        )));
    }
    let fleet = call.find_fleet(&fleet_id)?;
    if !(report.located_applies)(fleet) {
        return Err(ApiError::invalid(format!(
            "Fleet {} has compute type {}: {} supports {} fleets.",
            fleet.spec.id,
            fleet.spec.compute_type.as_str(),
            report.located,
            report.located_types
        )));
    }
    let index = fleet.location_index(&location).ok_or_else(|| {
        ApiError::invalid(format!(
            "Location {location} is not a location of fleet {}.",
            fleet.spec.id
        ))
    })?;
    Ok(map([(report.member, (report.doc)(fleet, index))]))
}
