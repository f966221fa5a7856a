//! The simulator's HTTP front: protocol detection, SigV4 presence, fault injection, request log.

use super::accounts::Caller;
use super::ops::{self, ApiError, Call};
use super::wire::{rfc3339, Doc, Protocol};
use super::{limits, RequestRecord, Simulator};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::collections::BTreeMap;
use std::future::Future;
use tokio::net::TcpListener;
use tokio::time::Instant;

const CBOR_PREFIX: &str = "/service/GameLift/operation/";
const MAX_BODY: usize = 1 << 20;

/// A request body the simulator can read: hyper's over TCP, or a buffer handed over in-process
/// (see [`super::transport`]).
pub(super) trait RequestBody:
    hyper::body::Body<Data = Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>> + Send
{
}

impl<B> RequestBody for B where
    B: hyper::body::Body<Data = Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>> + Send
{
}

/// Serves GameLift on `listener` until `shutdown` completes.
pub async fn serve(simulator: Simulator, listener: TcpListener, shutdown: impl Future<Output = ()>) {
    if let Ok(address) = listener.local_addr() {
        // The base of the SQS queue URLs handed out when a request does not say its Host.
        simulator.set_listen_url(format!("http://{address}"));
    }
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else { continue };
        let simulator = simulator.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let simulator = simulator.clone();
                async move { simulator.handle(request).await }
            });
            // Errors here are dropped connections (injected or by the client): nothing to report.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The faults drawn for one request.
struct Rolled {
    latency: std::time::Duration,
    drop: bool,
    throttle: bool,
    fail: bool,
    malformed: bool,
}

/// Returned from the service to make hyper close the connection without an answer.
#[derive(Debug)]
pub(super) struct DropConnection;
impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("injected dropped connection")
    }
}
impl std::error::Error for DropConnection {}

pub(super) type Answer = Result<Response<Full<Bytes>>, DropConnection>;

fn plain(status: StatusCode, text: String) -> Answer {
    Ok(Response::builder()
        .status(status)
        .header("content-type", "text/plain; charset=utf-8")
        .body(Full::new(Bytes::from(text)))
        .expect("static response parts are valid"))
}

fn json(value: serde_json::Value) -> Answer {
    Ok(Response::builder()
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(value.to_string())))
        .expect("static response parts are valid"))
}

fn encoded(protocol: Protocol, status: u16, body: Vec<u8>) -> Answer {
    let mut response = Response::builder()
        .status(status)
        .header("content-type", protocol.content_type())
        .header("x-amzn-requestid", "00000000-0000-4000-8000-000000000000");
    if protocol == Protocol::RpcV2Cbor {
        response = response.header("smithy-protocol", "rpc-v2-cbor");
    }
    Ok(response
        .body(Full::new(Bytes::from(body)))
        .expect("static response parts are valid"))
}

fn api_error(protocol: Protocol, error: &ApiError) -> Answer {
    let mut answer = encoded(protocol, error.status, protocol.encode(&error.to_doc()))?;
    answer.headers_mut().insert(
        "x-amzn-errortype",
        error.code.parse().expect("error codes are valid header values"),
    );
    Ok(answer)
}

/// The Region from a SigV4 `Authorization` header's credential scope, if it has one.
fn signing_region(authorization: &str) -> Option<String> {
    let scope = authorization.split("Credential=").nth(1)?;
    let scope = scope.split([',', ' ']).next()?;
    let parts: Vec<&str> = scope.split('/').collect();
    (parts.len() == 5).then(|| parts[2].to_string())
}

impl Simulator {
    pub(super) async fn handle<B: RequestBody>(&self, request: Request<B>) -> Answer {
        let arrived = Instant::now();
        let path = request.uri().path().to_string();
        if path.starts_with("/_simulator/") {
            return self.control(request).await;
        }
        if request.method() != Method::POST {
            return plain(
                StatusCode::NOT_FOUND,
                "GameLift simulator: POST API requests only\n".into(),
            );
        }
        let target = request
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let form = request
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if path == "/" && target.is_none() && form {
            return self.sts(request, arrived).await;
        }
        if let Some(operation) = target.as_deref().and_then(|t| t.strip_prefix("AmazonSQS.")) {
            let operation = operation.to_string();
            return Ok(self.sqs(request, arrived, &operation).await);
        }
        let (protocol, operation) = if let Some(operation) = path.strip_prefix(CBOR_PREFIX) {
            (Protocol::RpcV2Cbor, operation.to_string())
        } else if path == "/" && target.is_some() {
            let target = target.unwrap_or_default();
            match target.strip_prefix("GameLift.") {
                Some(operation) => (Protocol::AwsJson11, operation.to_string()),
                None => return api_error(Protocol::AwsJson11, &ApiError::unknown_operation(&target)),
            }
        } else if path.starts_with("/service/") {
            return api_error(Protocol::RpcV2Cbor, &ApiError::unknown_operation(&path));
        } else {
            return plain(
                StatusCode::NOT_FOUND,
                format!("GameLift simulator: no API at {path}\n"),
            );
        };
        let authorization = request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let session_token = request
            .headers()
            .get("x-amz-security-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let caller = self.attribute(authorization.as_deref(), session_token.as_deref());
        let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
            Ok(body) => body.to_bytes(),
            Err(_) => return plain(StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n".into()),
        };
        let decoded = protocol.decode(&body);
        let params = match &decoded {
            Ok(Doc::Map(members)) => describe_params(members),
            _ => String::new(),
        };
        let rolled = self.roll_faults();
        let latency = rolled.latency;
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let outcome = self.answer(
            protocol,
            &operation,
            authorization.as_deref(),
            &caller,
            decoded,
            rolled,
        );
        let label = match &outcome {
            Err(DropConnection) => "dropped".to_string(),
            Ok((label, _)) => label.clone(),
        };
        self.record(RequestRecord {
            world_ms: 0,
            operation,
            protocol: protocol.name(),
            params,
            outcome: label,
            at: arrived.into_std(),
            account: caller.account,
            region: caller.region,
        });
        outcome.map(|(_, response)| response)
    }

    /// STS over the Query protocol (see [`super::sts`]): the injected latency applies, the other
    /// faults are GameLift's.
    async fn sts<B: RequestBody>(&self, request: Request<B>, arrived: Instant) -> Answer {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let caller = self.attribute(
            header("authorization").as_deref(),
            header("x-amz-security-token").as_deref(),
        );
        let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
            Ok(body) => body.to_bytes(),
            Err(_) => return plain(StatusCode::PAYLOAD_TOO_LARGE, "request body too large\n".into()),
        };
        let latency = self.lock().faults.latency;
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let answer = self.sts_answer(&caller, &body);
        self.record(RequestRecord {
            world_ms: 0,
            operation: "AssumeRole".into(),
            protocol: "aws-query",
            params: answer.params,
            outcome: answer.outcome,
            at: arrived.into_std(),
            account: caller.account,
            region: caller.region,
        });
        Ok(Response::builder()
            .status(answer.status)
            .header("content-type", "text/xml")
            .header("x-amzn-requestid", answer.request_id)
            .body(Full::new(Bytes::from(answer.body)))
            .expect("static response parts are valid"))
    }

    /// Draws this request's faults, in request order, from the seeded fault stream.
    fn roll_faults(&self) -> Rolled {
        let mut inner = self.lock();
        let faults = inner.faults.clone();
        let rng = &mut inner.fault_rng;
        Rolled {
            latency: faults.latency,
            drop: rng.chance(faults.drop_connection_ratio),
            throttle: rng.chance(faults.throttle_ratio),
            fail: rng.chance(faults.server_error_ratio),
            malformed: rng.chance(faults.malformed_body_ratio),
        }
    }

    fn answer(
        &self,
        protocol: Protocol,
        operation: &str,
        authorization: Option<&str>,
        caller: &Caller,
        decoded: Result<Doc, String>,
        rolled: Rolled,
    ) -> Result<(String, Response<Full<Bytes>>), DropConnection> {
        let Rolled {
            drop: drop_connection,
            throttle,
            fail,
            malformed,
            ..
        } = rolled;
        let error = |e: ApiError| api_error(protocol, &e).map(|r| (e.code.to_string(), r));
        if !ops::OPERATION_NAMES.contains(&operation) && !super::placements::OPERATIONS.contains(&operation) {
            return error(ApiError::unknown_operation(operation));
        }
        let Some(authorization) = authorization.filter(|a| a.starts_with("AWS4-HMAC-SHA256")) else {
            return error(ApiError::unauthorized(
                "Missing Authentication Token: requests must be signed with AWS Signature Version 4.",
            ));
        };
        if self.lock().faults.reject_credentials {
            return error(ApiError::unauthorized(
                "The security token included in the request is expired (injected).",
            ));
        }
        if let Some(refusal) = caller.refusal {
            return error(refusal.gamelift_error());
        }
        let region = signing_region(authorization);
        let members = match decoded {
            Ok(Doc::Map(members)) => members,
            Ok(_) => return error(ApiError::invalid("The request body must be a map.")),
            Err(message) => return error(ApiError::invalid(message)),
        };
        if drop_connection {
            return Err(DropConnection);
        }
        let mut inner = self.synced();
        if let Some(code) = inner.faults.failing_operations.get(operation) {
            let failure = ApiError::injected(code, operation, &inner.world.account_id);
            drop(inner);
            return error(failure);
        }
        let now = Instant::now();
        if !limits::admit(
            &mut inner,
            &caller.account,
            &caller.region,
            operation,
            &members,
            now,
        ) {
            drop(inner);
            return error(ApiError::throttled());
        }
        if throttle {
            drop(inner);
            return error(ApiError::throttled());
        }
        if fail {
            drop(inner);
            return error(ApiError::internal(
                "An internal service error occurred (injected).",
            ));
        }
        let call = Call {
            world: &inner.world,
            region: region.as_deref(),
            account: &caller.account,
            max_page_size: inner.max_page_size,
            max_fleet_ids: inner.max_fleet_ids,
            attributes_max_fleet_ids: inner.attributes_max_fleet_ids,
            failing_fleets: &inner.faults.failing_fleets,
        };
        let result = ops::dispatch(&call, operation, &members);
        drop(inner);
        match result {
            Err(e) => error(e),
            Ok(_) if malformed => {
                let garbage = match protocol {
                    Protocol::RpcV2Cbor => vec![0xbf, 0x6c, b'G', b'a', b'm', 0xff, 0x00],
                    Protocol::AwsJson11 => b"{\"GameSessions\": [{\"Status\": ".to_vec(),
                };
                encoded(protocol, 200, garbage).map(|r| ("malformed".to_string(), r))
            }
            Ok(doc) => encoded(protocol, 200, protocol.encode(&doc)).map(|r| ("ok".to_string(), r)),
        }
    }

    /// Out-of-band control for clients in other processes (scripts, benchmarks).
    async fn control<B: RequestBody>(&self, request: Request<B>) -> Answer {
        let path = request.uri().path().to_string();
        let query = request.uri().query().unwrap_or("").to_string();
        match (request.method().clone(), path.as_str()) {
            (Method::GET, "/_simulator/sessions") => json(serde_json::Value::Array(
                self.sessions()
                    .into_iter()
                    .map(|s| {
                        serde_json::json!({
                            "FleetId": s.fleet_id, "Location": s.location, "GameSessionId": s.game_session_id,
                            "Status": s.status, "StatusReason": s.status_reason,
                            "CurrentPlayerSessionCount": s.current_players,
                            "MaximumPlayerSessionCount": s.max_players,
                            "PlayerSessionCreationPolicy": if s.accept_all { "ACCEPT_ALL" } else { "DENY_ALL" },
                            "CreationTimeMs": s.creation_time_ms, "TerminationTimeMs": s.termination_time_ms,
                            "ComputeName": s.compute_name,
                        })
                    })
                    .collect(),
            )),
            (Method::GET, "/_simulator/requests") => json(serde_json::Value::Array(
                self.requests()
                    .into_iter()
                    .map(|r| serde_json::json!({"Operation": r.operation, "Protocol": r.protocol, "Params": r.params, "Outcome": r.outcome, "Account": r.account, "Region": r.region}))
                    .collect(),
            )),
            (Method::GET, "/_simulator/events") => json(serde_json::Value::Array(
                self.all_events()
                    .into_iter()
                    .map(|e| {
                        serde_json::json!({
                            "FleetId": e.fleet_id, "EventId": e.event_id, "ResourceId": e.resource_id,
                            "EventCode": e.event_code, "Message": e.message,
                            "EventTimeMs": e.event_time_ms, "Count": e.count,
                        })
                    })
                    .collect(),
            )),
            (Method::GET, "/_simulator/capacity") => json(serde_json::Value::Array(
                self.capacity()
                    .into_iter()
                    .map(|c| {
                        serde_json::json!({
                            "FleetId": c.fleet_id, "Location": c.location,
                            "InstanceCounts": {
                                "DESIRED": c.desired, "MINIMUM": c.minimum, "MAXIMUM": c.maximum,
                                "PENDING": c.pending, "ACTIVE": c.active, "IDLE": c.idle,
                                "TERMINATING": c.terminating,
                            },
                            "GameServerContainerGroupCounts": c.container_groups.map(|g| serde_json::json!({
                                "PENDING": g.pending, "ACTIVE": g.active, "IDLE": g.idle,
                                "TERMINATING": g.terminating,
                            })),
                        })
                    })
                    .collect(),
            )),
            (Method::GET, "/_simulator/utilization") => json(serde_json::Value::Array(
                self.utilization()
                    .into_iter()
                    .map(|u| {
                        serde_json::json!({
                            "FleetId": u.fleet_id, "Location": u.location,
                            "ActiveServerProcessCount": u.active_server_processes,
                            "ActiveGameSessionCount": u.active_game_sessions,
                            "CurrentPlayerSessionCount": u.current_player_sessions,
                            "MaximumPlayerSessionCount": u.maximum_player_sessions,
                        })
                    })
                    .collect(),
            )),
            (Method::POST, "/_simulator/interrupt") => {
                const USAGE: &str = "expected /_simulator/interrupt?fleet=ID&location=LOC&instances=N";
                let result = QueryParams::parse(&query, USAGE).and_then(|params| {
                    let instances = params.required("instances")?;
                    let instances = instances.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
                        format!("invalid instances {instances:?}: expected a whole number of instances above 0")
                    })?;
                    self.interrupt_instances(params.required("fleet")?, params.required("location")?, instances)
                });
                match result {
                    Ok(ended) => json(serde_json::json!({ "Ended": ended })),
                    Err(message) => plain(StatusCode::BAD_REQUEST, format!("{message}\n")),
                }
            }
            (Method::POST, "/_simulator/event") => {
                const USAGE: &str = "expected /_simulator/event?fleet=ID&code=CODE[&resource=ID][&count=N]";
                let result = QueryParams::parse(&query, USAGE).and_then(|params| {
                    let count = match params.optional("count") {
                        None => None,
                        Some(text) => Some(text.parse::<i64>().map_err(|_| {
                            format!("invalid count {text:?}: expected a whole number")
                        })?),
                    };
                    self.emit_event(
                        params.required("fleet")?,
                        params.required("code")?,
                        params.optional("resource"),
                        count,
                    )
                });
                match result {
                    Ok(event_id) => json(serde_json::json!({ "EventId": event_id })),
                    Err(message) => plain(StatusCode::BAD_REQUEST, format!("{message}\n")),
                }
            }
            (Method::POST, "/_simulator/advance") => {
                let seconds = query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("seconds="))
                    .and_then(|v| v.parse::<u64>().ok());
                match seconds {
                    Some(seconds) => {
                        self.advance(std::time::Duration::from_secs(seconds));
                        json(serde_json::json!({"NowMs": self.now_ms()}))
                    }
                    None => plain(StatusCode::BAD_REQUEST, "expected ?seconds=<integer>\n".into()),
                }
            }
            _ => plain(StatusCode::NOT_FOUND, format!("no simulator control endpoint {path}\n")),
        }
    }
}

/// A control endpoint's query string, percent-decoded.
struct QueryParams {
    values: BTreeMap<String, String>,
    usage: &'static str,
}

impl QueryParams {
    fn parse(query: &str, usage: &'static str) -> Result<QueryParams, String> {
        let mut values = BTreeMap::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key =
                percent_decode(key).ok_or_else(|| format!("invalid percent-encoding in {key:?}: {usage}"))?;
            let value = percent_decode(value)
                .ok_or_else(|| format!("invalid percent-encoding in {value:?}: {usage}"))?;
            if values.insert(key.clone(), value).is_some() {
                return Err(format!("parameter {key} given twice: {usage}"));
            }
        }
        Ok(QueryParams { values, usage })
    }

    fn required(&self, name: &str) -> Result<&str, String> {
        self.optional(name)
            .ok_or_else(|| format!("missing parameter {name}: {}", self.usage))
    }

    fn optional(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// `%XX` escapes and `+` (a space in query strings) decoded; `None` for a broken escape.
pub(super) fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn describe_params(members: &BTreeMap<String, Doc>) -> String {
    let mut parts = Vec::new();
    for (key, value) in members {
        let text = match (key.as_str(), value) {
            ("NextToken", Doc::Str(token)) => format!("\"<token:{:08x}>\"", fnv1a32(token)),
            ("NextToken", _) => "\"<token:not a string>\"".to_string(),
            (_, Doc::Timestamp(ms)) => format!("\"{}\"", rfc3339(*ms)),
            // AWS JSON sends timestamps as epoch seconds: show them as the time they mean.
            ("StartTime" | "EndTime", Doc::Int(seconds)) => match seconds.checked_mul(1000) {
                Some(ms) => format!("\"{}\"", rfc3339(ms)),
                None => seconds.to_string(),
            },
            ("StartTime" | "EndTime", Doc::Float(seconds)) if seconds.is_finite() && seconds.abs() < 1e15 => {
                format!("\"{}\"", rfc3339((seconds * 1000.0).round() as i64))
            }
            (_, Doc::Str(s)) => format!("{s:?}"),
            (_, Doc::Int(i)) => i.to_string(),
            // Lists of strings (FleetIds of the batched operations) as they were sent, so that
            // tests can check which ids each batch carried; other lists by their length.
            (_, Doc::List(items)) if items.iter().all(|i| matches!(i, Doc::Str(_))) => {
                let ids: Vec<String> = items
                    .iter()
                    .map(|i| match i {
                        Doc::Str(s) => format!("{s:?}"),
                        _ => unreachable!("all strings"),
                    })
                    .collect();
                format!("[{}]", ids.join(","))
            }
            (_, Doc::List(items)) => format!("[{} items]", items.len()),
            (_, other) => format!("{other:?}"),
        };
        parts.push(format!("\"{key}\":{text}"));
    }
    format!("{{{}}}", parts.join(","))
}

/// 32-bit FNV-1a: stable across runs and platforms, unlike the std hasher's seeds.
fn fnv1a32(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_region_from_sigv4_scope() {
        let header = "AWS4-HMAC-SHA256 Credential=AKID/20261125/eu-west-1/gamelift/aws4_request, SignedHeaders=host, Signature=abc";
        assert_eq!(signing_region(header).as_deref(), Some("eu-west-1"));
        assert_eq!(signing_region("AWS4-HMAC-SHA256 nothing"), None);
    }

    #[test]
    fn logs_tokens_by_hash_and_timestamps_as_text() {
        let members = BTreeMap::from([
            ("FleetId".to_string(), Doc::Str("fleet-a".into())),
            ("NextToken".to_string(), Doc::Str("1.2.3".into())),
            ("StartTime".to_string(), Doc::Timestamp(1_793_491_200_500)),
            ("EndTime".to_string(), Doc::Int(1_793_491_260)),
        ]);
        assert_eq!(
            describe_params(&members),
            format!(
                "{{\"EndTime\":\"2026-11-01T00:01:00.000Z\",\"FleetId\":\"fleet-a\",\"NextToken\":\"<token:{:08x}>\",\"StartTime\":\"2026-11-01T00:00:00.500Z\"}}",
                fnv1a32("1.2.3")
            )
        );
        // FNV-1a's published test vectors: the hash is stable across runs and builds.
        assert_eq!(fnv1a32(""), 0x811c_9dc5);
        assert_eq!(fnv1a32("a"), 0xe40c_292c);
    }

    #[test]
    fn decodes_control_query_strings() {
        let params = QueryParams::parse("fleet=fleet-a&resource=arn%3Aaws%2Fx&code=A+B", "usage").unwrap();
        assert_eq!(params.required("fleet"), Ok("fleet-a"));
        assert_eq!(params.optional("resource"), Some("arn:aws/x"));
        assert_eq!(params.optional("code"), Some("A B"));
        assert_eq!(
            params.required("count"),
            Err("missing parameter count: usage".to_string())
        );
        assert_eq!(
            QueryParams::parse("fleet=%zz", "usage").err(),
            Some("invalid percent-encoding in \"%zz\": usage".to_string())
        );
    }
}
