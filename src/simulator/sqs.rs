//! Amazon SQS on the simulator's listener, over the AWS JSON 1.0 protocol that `aws-sdk-sqs`,
//! boto3 and the AWS CLI speak (`POST /`, `X-Amz-Target: AmazonSQS.<Operation>`,
//! `Content-Type: application/x-amz-json-1.0`): enough for a real event reader, and the queue the
//! world's placement and matchmaking events are delivered to.
//!
//! Queues are standard queues, kept per account; a queue URL is `http://<listener>/<account
//! id>/<queue name>`, and requests find their queue by that path (queue policies are not
//! modelled: any signed caller may use any queue). Visibility timeouts and long polling run on
//! the real clock, since clients wait on them with real sleeps; the timestamps clients read
//! (`SentTimestamp`, `ApproximateFirstReceiveTimestamp`, `CreatedTimestamp`) are on the simulated
//! clock, like the event times they sit next to.
//!
//! Errors are SQS's JSON errors: `{"__type": "com.amazonaws.sqs#<Shape>", "message": ...}` with the
//! `x-amzn-query-error: <query code>;Sender` header that query-compatible clients read (SQS
//! developer guide, "Interpreting Amazon SQS JSON API responses"); shapes, query codes and HTTP
//! statuses are those of the SQS API model. No injected fault applies to SQS.

use super::accounts::{Caller, Refusal};
use super::placements::{is_sqs_queue_name, EventsDelivery, TOPIC_NAME};
use super::rng::Rng;
use super::scenario::Scenario;
use super::{md5, Inner, RequestRecord, Simulator};
use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::{Request, Response};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// The protocol name in the request log.
pub const PROTOCOL: &str = "aws-json-1.0";
const CONTENT_TYPE: &str = "application/x-amz-json-1.0";
const MAX_BODY: usize = 2 << 20;
/// SQS's limits: message size, messages per receive and per batch, visibility, long poll.
const MAX_MESSAGE_BYTES: usize = 262_144;
const MAX_BATCH: usize = 10;
const MAX_VISIBILITY_SECONDS: i64 = 43_200;
const MAX_WAIT_SECONDS: i64 = 20;
const DEFAULT_VISIBILITY_SECONDS: i64 = 30;
/// Messages older than this are dropped, as SQS's default MessageRetentionPeriod (4 days) does.
const RETENTION_MS: i64 = 345_600_000;
/// How many published events [`Simulator::events_sent`] keeps (the oldest go first).
const SENT_LOG: usize = 100_000;
/// How often a long poll looks again while nothing wakes it (world ticks on the wall clock and
/// visibility timeouts running out are not announced).
const POLL_EVERY: Duration = Duration::from_millis(50);

/// One message in a queue.
#[derive(Debug, Clone)]
struct Message {
    /// Send order in the queue: receives take the oldest visible messages first.
    order: u64,
    id: String,
    body: String,
    md5: String,
    sender: String,
    sent_ms: i64,
    receive_count: u32,
    first_receive_ms: Option<i64>,
    /// When it can be received (again): now or later for a delay or an in-flight message.
    visible_at: Instant,
}

#[derive(Debug)]
struct Queue {
    region: String,
    created_ms: i64,
    visibility_seconds: i64,
    messages: VecDeque<Message>,
    next_order: u64,
}

impl Queue {
    fn new(region: &str, created_ms: i64, visibility_seconds: i64) -> Queue {
        Queue {
            region: region.to_string(),
            created_ms,
            visibility_seconds,
            messages: VecDeque::new(),
            next_order: 1,
        }
    }

    /// (visible, in flight, delayed) at `now`.
    fn counts(&self, now: Instant) -> (usize, usize, usize) {
        let mut counts = (0, 0, 0);
        for message in &self.messages {
            if message.visible_at <= now {
                counts.0 += 1;
            } else if message.receive_count > 0 {
                counts.1 += 1;
            } else {
                counts.2 += 1;
            }
        }
        counts
    }
}

/// Every SQS queue, and the world's events on their way to the events queue.
#[derive(Debug)]
pub(super) struct Sqs {
    queues: BTreeMap<(String, String), Queue>,
    /// (account, name) of the queue the world's events go to.
    events_queue: Option<(String, String)>,
    delivery: EventsDelivery,
    sent: VecDeque<Value>,
    next_id: u64,
    seed: u64,
    pub notify: Arc<Notify>,
    /// `http://<address>` once the simulator serves: the base of the queue URLs it hands out.
    pub listen_url: Option<String>,
}

impl Sqs {
    pub fn new(scenario: &Scenario, now_ms: i64) -> Sqs {
        let mut sqs = Sqs {
            queues: BTreeMap::new(),
            events_queue: None,
            delivery: scenario.events_delivery,
            sent: VecDeque::new(),
            next_id: 0,
            seed: scenario.seed,
            notify: Arc::new(Notify::new()),
            listen_url: None,
        };
        if let Some(name) = &scenario.events_queue {
            // The Region of the first queue (where its events come from), else of the first fleet.
            let region = scenario
                .queues
                .first()
                .and_then(|q| {
                    q.region.clone().or_else(|| {
                        let first = &q.destinations[0];
                        scenario
                            .fleets
                            .iter()
                            .find(|f| &f.id == first)
                            .map(|f| f.home_region.clone())
                    })
                })
                .or_else(|| scenario.fleets.first().map(|f| f.home_region.clone()))
                .unwrap_or_else(|| "us-east-1".to_string());
            let key = (scenario.account_id.clone(), name.clone());
            sqs.queues.insert(
                key.clone(),
                Queue::new(&region, now_ms, DEFAULT_VISIBILITY_SECONDS),
            );
            sqs.events_queue = Some(key);
        }
        sqs
    }

    fn uuid(&mut self) -> String {
        self.next_id += 1;
        let mut rng = Rng::new(self.seed, &[0x5_0500, self.next_id]);
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

    /// Appends a message; returns its id and body digest.
    fn send(
        &mut self,
        key: &(String, String),
        body: &str,
        delay: i64,
        sender: &str,
        now_ms: i64,
    ) -> (String, String) {
        let id = self.uuid();
        let digest = md5::hex(body.as_bytes());
        let queue = self.queues.get_mut(key).expect("the caller found the queue");
        let order = queue.next_order;
        queue.next_order += 1;
        queue.messages.push_back(Message {
            order,
            id: id.clone(),
            body: body.to_string(),
            md5: digest.clone(),
            sender: sender.to_string(),
            sent_ms: now_ms,
            receive_count: 0,
            first_receive_ms: None,
            visible_at: Instant::now() + Duration::from_secs(delay as u64),
        });
        self.notify.notify_waiters();
        (id, digest)
    }

    fn key_of(&self, name: &str) -> Option<(String, String)> {
        self.queues.keys().find(|(_, n)| n == name).cloned()
    }

    fn url(&self, base: &str, key: &(String, String)) -> String {
        format!("{base}/{}/{}", key.0, key.1)
    }

    /// A receipt handle: which message, which receive, and a MAC so that forged or altered
    /// handles are refused.
    fn receipt(&self, key: &(String, String), order: u64, count: u32) -> String {
        let text = format!("{}:{}:{order}:{count}", key.0, key.1);
        let mac = fnv1a64(&format!("{}/{text}", self.seed));
        base64::engine::general_purpose::STANDARD.encode(format!("sim1:{text}:{mac:016x}"))
    }

    /// (account, queue name, message order, receive count) of a handle this simulator issued.
    fn parse_receipt(&self, handle: &str) -> Option<(String, String, u64, u32)> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(handle).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let rest = text.strip_prefix("sim1:")?;
        let (body, mac) = rest.rsplit_once(':')?;
        if u64::from_str_radix(mac, 16).ok()? != fnv1a64(&format!("{}/{body}", self.seed)) {
            return None;
        }
        let parts: Vec<&str> = body.split(':').collect();
        let [account, name, order, count] = parts[..] else {
            return None;
        };
        Some((
            account.into(),
            name.into(),
            order.parse().ok()?,
            count.parse().ok()?,
        ))
    }
}

/// 64-bit FNV-1a: stable across runs, for receipt-handle MACs.
fn fnv1a64(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

impl Inner {
    /// Hands the events the world emitted since the last call to the events queue, in the
    /// scenario's delivery shape, and wakes long polls.
    pub(super) fn deliver_events(&mut self) {
        if self.world.placements.outbox.is_empty() {
            return;
        }
        let now_ms = self.world.now_ms();
        let events = std::mem::take(&mut self.world.placements.outbox);
        let sqs = &mut self.sqs;
        for event in events {
            if let Some(key) = sqs.events_queue.clone() {
                let body = match sqs.delivery {
                    EventsDelivery::Eventbridge => event.to_string(),
                    EventsDelivery::Sns => {
                        let region = event["region"].as_str().unwrap_or_default().to_string();
                        let account = event["account"].as_str().unwrap_or_default().to_string();
                        let topic = format!("arn:aws:sns:{region}:{account}:{TOPIC_NAME}");
                        let id = sqs.uuid();
                        let subscription = sqs.uuid();
                        json!({
                            "Type": "Notification",
                            "MessageId": id,
                            "TopicArn": topic,
                            "Message": event.to_string(),
                            "Timestamp": super::wire::rfc3339(now_ms),
                            "SignatureVersion": "1",
                            "Signature": base64::engine::general_purpose::STANDARD.encode(fnv1a64(&id).to_be_bytes()),
                            "SigningCertURL": format!("https://sns.{region}.amazonaws.com/SimpleNotificationService-simulator.pem"),
                            "UnsubscribeURL": format!("https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic}:{subscription}"),
                        })
                        .to_string()
                    }
                };
                sqs.send(&key, &body, 0, "AIDASIMULATEDGAMELIFT", now_ms);
            }
            if sqs.sent.len() == SENT_LOG {
                sqs.sent.pop_front();
            }
            sqs.sent.push_back(event);
        }
        // Retention: what no one received and deleted in four days is gone.
        for queue in sqs.queues.values_mut() {
            while queue
                .messages
                .front()
                .is_some_and(|m| m.sent_ms + RETENTION_MS < now_ms)
            {
                queue.messages.pop_front();
            }
        }
    }
}

/// An SQS error as the JSON protocol carries it.
#[derive(Debug, Clone, PartialEq)]
struct SqsError {
    /// The error shape (`__type` is `com.amazonaws.sqs#<shape>`).
    shape: &'static str,
    /// The Query protocol's code, in `x-amzn-query-error`.
    query_code: &'static str,
    status: u16,
    message: String,
}

impl SqsError {
    fn new(shape: &'static str, query_code: &'static str, status: u16, message: impl Into<String>) -> Self {
        SqsError {
            shape,
            query_code,
            status,
            message: message.into(),
        }
    }
    fn no_queue() -> Self {
        SqsError::new(
            "QueueDoesNotExist",
            "AWS.SimpleQueueService.NonExistentQueue",
            400,
            "The specified queue does not exist.",
        )
    }
    fn invalid_parameter(message: impl Into<String>) -> Self {
        SqsError::new(
            "InvalidParameterValueException",
            "InvalidParameterValue",
            400,
            message,
        )
    }
    fn missing(member: &str) -> Self {
        SqsError::new(
            "MissingRequiredParameterException",
            "MissingParameter",
            400,
            format!("The request must contain the parameter {member}."),
        )
    }
    fn out_of_range(member: &str, value: i64, reason: &str) -> Self {
        SqsError::invalid_parameter(format!(
            "Value {value} for parameter {member} is invalid. Reason: {reason}"
        ))
    }
    fn invalid_receipt(handle: &str) -> Self {
        SqsError::new(
            "ReceiptHandleIsInvalid",
            "ReceiptHandleIsInvalid",
            404,
            format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
        )
    }
}

/// Typed access to the request members.
struct Members<'a>(&'a Map<String, Value>);

impl<'a> Members<'a> {
    fn string(&self, name: &str) -> Result<Option<&'a str>, SqsError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(_) => Err(SqsError::invalid_parameter(format!("{name} must be a string."))),
        }
    }
    fn required(&self, name: &str) -> Result<&'a str, SqsError> {
        self.string(name)?.ok_or_else(|| SqsError::missing(name))
    }
    fn int(&self, name: &str) -> Result<Option<i64>, SqsError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => value
                .as_i64()
                .map(Some)
                .ok_or_else(|| SqsError::invalid_parameter(format!("{name} must be an integer."))),
        }
    }
    fn strings(&self, name: &str) -> Result<Vec<String>, SqsError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str().map(str::to_string).ok_or_else(|| {
                        SqsError::invalid_parameter(format!("{name} must be a list of strings."))
                    })
                })
                .collect(),
            Some(_) => Err(SqsError::invalid_parameter(format!(
                "{name} must be a list of strings."
            ))),
        }
    }
    /// Batch entries, checked as SQS checks them: 1 to 10, distinct ids of `[A-Za-z0-9_-]{1,80}`.
    fn entries(&self, kind: &str) -> Result<Vec<Map<String, Value>>, SqsError> {
        let entries: Vec<Map<String, Value>> = match self.0.get("Entries") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_object()
                        .cloned()
                        .ok_or_else(|| SqsError::invalid_parameter("Entries must be a list of structures."))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => {
                return Err(SqsError::invalid_parameter(
                    "Entries must be a list of structures.",
                ))
            }
        };
        if entries.is_empty() {
            return Err(SqsError::new(
                "EmptyBatchRequest",
                "AWS.SimpleQueueService.EmptyBatchRequest",
                400,
                format!("There should be at least one {kind}RequestEntry in the request."),
            ));
        }
        if entries.len() > MAX_BATCH {
            return Err(SqsError::new(
                "TooManyEntriesInBatchRequest",
                "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
                400,
                format!(
                    "Maximum number of entries per request are {MAX_BATCH}. You have sent {}.",
                    entries.len()
                ),
            ));
        }
        let mut seen = Vec::new();
        for entry in &entries {
            let id = Members(entry).required("Id")?;
            let valid = (1..=80).contains(&id.len())
                && id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !valid {
                return Err(SqsError::new(
                    "InvalidBatchEntryId",
                    "AWS.SimpleQueueService.InvalidBatchEntryId",
                    400,
                    "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.",
                ));
            }
            if seen.contains(&id) {
                return Err(SqsError::new(
                    "BatchEntryIdsNotDistinct",
                    "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
                    400,
                    format!("Id {id} repeated."),
                ));
            }
            seen.push(id);
        }
        Ok(entries)
    }
}

/// The (account, name) a queue URL names: `<scheme>://<host>/<12-digit account>/<name>`.
fn parse_queue_url(url: &str) -> Result<(String, String), SqsError> {
    let path = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(_, path)| path.trim_end_matches('/'));
    match path.and_then(|p| p.split_once('/')) {
        Some((account, name)) if super::accounts::is_account_id(account) && is_sqs_queue_name(name) => {
            Ok((account.to_string(), name.to_string()))
        }
        _ => Err(SqsError::new(
            "InvalidAddress",
            "InvalidAddress",
            404,
            format!("The address {url} is not valid for this endpoint."),
        )),
    }
}

/// The request members as compact JSON for the request log, long strings (bodies, receipt
/// handles) shortened to their length.
fn describe(value: &Value) -> Value {
    match value {
        Value::String(text) if text.len() > 64 => Value::String(format!("<{} chars>", text.len())),
        Value::Array(items) => Value::Array(items.iter().map(describe).collect()),
        Value::Object(members) => {
            Value::Object(members.iter().map(|(k, v)| (k.clone(), describe(v))).collect())
        }
        other => other.clone(),
    }
}

/// Receive parameters, validated.
struct Receive {
    key: (String, String),
    max: usize,
    visibility: Option<i64>,
    wait: Duration,
    attributes: Vec<String>,
}

impl Simulator {
    /// Answers one SQS request (`operation` from `X-Amz-Target: AmazonSQS.<operation>`).
    pub(super) async fn sqs<B: super::server::RequestBody>(
        &self,
        request: Request<B>,
        arrived: Instant,
        operation: &str,
    ) -> Response<Full<Bytes>> {
        let header = |name: &str| {
            request
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let authorization = header("authorization");
        let caller = self.attribute(
            authorization.as_deref(),
            header("x-amz-security-token").as_deref(),
        );
        let base = header("host").map(|host| format!("http://{host}"));
        let body = Limited::new(request.into_body(), MAX_BODY).collect().await;
        let (params, result) = match body {
            Err(_) => (
                String::new(),
                Err(SqsError::invalid_parameter("The request body is too large.")),
            ),
            Ok(body) => {
                let body = body.to_bytes();
                let parsed: Result<Map<String, Value>, SqsError> = if body.is_empty() {
                    Ok(Map::new())
                } else {
                    serde_json::from_slice(&body).map_err(|e| {
                        SqsError::new(
                            "InvalidParameterValueException",
                            "InvalidParameterValue",
                            400,
                            format!("The request body is not a JSON object: {e}"),
                        )
                    })
                };
                let params = parsed
                    .as_ref()
                    .map(|m| describe(&Value::Object(m.clone())).to_string())
                    .unwrap_or_default();
                let result = match parsed {
                    Err(e) => Err(e),
                    Ok(members) => match self.sqs_allowed(authorization.as_deref(), &caller) {
                        Err(e) => Err(e),
                        Ok(()) => {
                            self.sqs_operation(operation, &Members(&members), &caller, base.as_deref())
                                .await
                        }
                    },
                };
                (params, result)
            }
        };
        let request_id = self.lock().sqs.uuid();
        let (status, outcome, body, query_error) = match result {
            Ok(value) => (200, "ok".to_string(), value.to_string(), None),
            Err(e) => (
                e.status,
                e.shape.to_string(),
                json!({"__type": format!("com.amazonaws.sqs#{}", e.shape), "message": e.message}).to_string(),
                Some(format!("{};Sender", e.query_code)),
            ),
        };
        self.record(RequestRecord {
            world_ms: 0,
            operation: operation.to_string(),
            protocol: PROTOCOL,
            params,
            outcome,
            at: arrived.into_std(),
            account: caller.account,
            region: caller.region,
        });
        let mut response = Response::builder()
            .status(status)
            .header("content-type", CONTENT_TYPE)
            .header("x-amzn-requestid", request_id);
        if let Some(query_error) = query_error {
            response = response.header("x-amzn-query-error", query_error);
        }
        response
            .body(Full::new(Bytes::from(body)))
            .expect("static response parts are valid")
    }

    /// SigV4-signed, with credentials that are still good.
    fn sqs_allowed(&self, authorization: Option<&str>, caller: &Caller) -> Result<(), SqsError> {
        if !authorization.is_some_and(|a| a.starts_with("AWS4-HMAC-SHA256")) {
            return Err(SqsError::new(
                "MissingAuthenticationTokenException",
                "MissingAuthenticationToken",
                403,
                "Request is missing Authentication Token",
            ));
        }
        match caller.refusal {
            Some(Refusal::Expired) => Err(SqsError::new(
                "ExpiredTokenException",
                "ExpiredToken",
                403,
                "The security token included in the request is expired",
            )),
            Some(Refusal::InvalidToken) => Err(SqsError::new(
                "InvalidClientTokenIdException",
                "InvalidClientTokenId",
                403,
                "The security token included in the request is invalid.",
            )),
            None => Ok(()),
        }
    }

    async fn sqs_operation(
        &self,
        operation: &str,
        members: &Members<'_>,
        caller: &Caller,
        base: Option<&str>,
    ) -> Result<Value, SqsError> {
        if operation == "ReceiveMessage" {
            let receive = self.sqs_receive_params(members)?;
            return self.sqs_receive(receive).await;
        }
        let mut inner = self.synced();
        let now_ms = inner.world.now_ms();
        let base = base
            .map(str::to_string)
            .or_else(|| inner.sqs.listen_url.clone())
            .unwrap_or_default();
        let delete_failure_ratio = inner.faults.sqs_delete_failure_ratio;
        let super::Inner { sqs, fault_rng, .. } = &mut *inner;
        let find = |sqs: &Sqs, url: &str| -> Result<(String, String), SqsError> {
            let key = parse_queue_url(url)?;
            if sqs.queues.contains_key(&key) {
                Ok(key)
            } else {
                Err(SqsError::no_queue())
            }
        };
        match operation {
            "GetQueueUrl" => {
                let name = members.required("QueueName")?;
                let account = members
                    .string("QueueOwnerAWSAccountId")?
                    .unwrap_or(&caller.account)
                    .to_string();
                let key = (account, name.to_string());
                if !sqs.queues.contains_key(&key) {
                    return Err(SqsError::no_queue());
                }
                Ok(json!({"QueueUrl": sqs.url(&base, &key)}))
            }
            "CreateQueue" => {
                let name = members.required("QueueName")?;
                if !is_sqs_queue_name(name) {
                    return Err(SqsError::invalid_parameter(
                        "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
                    ));
                }
                let visibility = match members.0.get("Attributes") {
                    None | Some(Value::Null) => DEFAULT_VISIBILITY_SECONDS,
                    Some(Value::Object(attributes)) => {
                        let mut visibility = DEFAULT_VISIBILITY_SECONDS;
                        for (attribute, value) in attributes {
                            match attribute.as_str() {
                                "VisibilityTimeout" => {
                                    visibility = value
                                        .as_str()
                                        .and_then(|v| v.parse::<i64>().ok())
                                        .filter(|v| (0..=MAX_VISIBILITY_SECONDS).contains(v))
                                        .ok_or_else(|| {
                                            SqsError::new(
                                                "InvalidAttributeValue",
                                                "InvalidAttributeValue",
                                                400,
                                                format!("Invalid value for the parameter VisibilityTimeout. Reason: Must be an integer from 0 to {MAX_VISIBILITY_SECONDS}."),
                                            )
                                        })?;
                                }
                                // Accepted, without effect in the simulator.
                                "DelaySeconds"
                                | "MaximumMessageSize"
                                | "MessageRetentionPeriod"
                                | "Policy"
                                | "ReceiveMessageWaitTimeSeconds"
                                | "RedrivePolicy"
                                | "SqsManagedSseEnabled"
                                | "KmsMasterKeyId"
                                | "KmsDataKeyReusePeriodSeconds"
                                | "RedriveAllowPolicy" => {}
                                other => {
                                    return Err(SqsError::new(
                                        "InvalidAttributeName",
                                        "InvalidAttributeName",
                                        400,
                                        format!("Unknown Attribute {other}."),
                                    ))
                                }
                            }
                        }
                        visibility
                    }
                    Some(_) => return Err(SqsError::invalid_parameter("Attributes must be a map.")),
                };
                let key = (caller.account.clone(), name.to_string());
                match sqs.queues.get(&key) {
                    Some(existing) if existing.visibility_seconds != visibility => Err(SqsError::new(
                        "QueueNameExists",
                        "QueueAlreadyExists",
                        400,
                        "A queue already exists with the same name and a different value for attribute VisibilityTimeout",
                    )),
                    Some(_) => Ok(json!({"QueueUrl": sqs.url(&base, &key)})),
                    None => {
                        let region = if caller.region.is_empty() { "us-east-1" } else { &caller.region };
                        sqs.queues.insert(key.clone(), Queue::new(region, now_ms, visibility));
                        Ok(json!({"QueueUrl": sqs.url(&base, &key)}))
                    }
                }
            }
            "ListQueues" => {
                let prefix = members.string("QueueNamePrefix")?.unwrap_or("");
                let urls: Vec<String> = sqs
                    .queues
                    .keys()
                    .filter(|(account, name)| *account == caller.account && name.starts_with(prefix))
                    .map(|key| sqs.url(&base, key))
                    .collect();
                Ok(json!({ "QueueUrls": urls }))
            }
            "GetQueueAttributes" => {
                let key = find(sqs, members.required("QueueUrl")?)?;
                let names = members.strings("AttributeNames")?;
                let queue = &sqs.queues[&key];
                let (visible, in_flight, delayed) = queue.counts(Instant::now());
                let seconds = (queue.created_ms / 1000).to_string();
                let all: [(&str, String); 11] = [
                    (
                        "QueueArn",
                        format!("arn:aws:sqs:{}:{}:{}", queue.region, key.0, key.1),
                    ),
                    ("ApproximateNumberOfMessages", visible.to_string()),
                    ("ApproximateNumberOfMessagesNotVisible", in_flight.to_string()),
                    ("ApproximateNumberOfMessagesDelayed", delayed.to_string()),
                    ("CreatedTimestamp", seconds.clone()),
                    ("LastModifiedTimestamp", seconds),
                    ("VisibilityTimeout", queue.visibility_seconds.to_string()),
                    ("MaximumMessageSize", MAX_MESSAGE_BYTES.to_string()),
                    ("MessageRetentionPeriod", (RETENTION_MS / 1000).to_string()),
                    ("DelaySeconds", "0".to_string()),
                    ("ReceiveMessageWaitTimeSeconds", "0".to_string()),
                ];
                let mut attributes = Map::new();
                for name in &names {
                    if name == "All" {
                        for (key, value) in &all {
                            attributes.insert(key.to_string(), json!(value));
                        }
                        attributes.insert("SqsManagedSseEnabled".into(), json!("true"));
                        continue;
                    }
                    if name == "SqsManagedSseEnabled" {
                        attributes.insert(name.clone(), json!("true"));
                        continue;
                    }
                    let (_, value) = all.iter().find(|(key, _)| key == name).ok_or_else(|| {
                        SqsError::new(
                            "InvalidAttributeName",
                            "InvalidAttributeName",
                            400,
                            format!("Unknown Attribute {name}."),
                        )
                    })?;
                    attributes.insert(name.clone(), json!(value));
                }
                // SQS leaves the member out when no attribute was asked for.
                if attributes.is_empty() {
                    Ok(json!({}))
                } else {
                    Ok(json!({ "Attributes": attributes }))
                }
            }
            "SendMessage" => {
                let key = find(sqs, members.required("QueueUrl")?)?;
                let body = members.required("MessageBody")?;
                let delay = check_message(members, body)?;
                let (id, digest) = sqs.send(&key, body, delay, &caller_id(caller), now_ms);
                Ok(json!({"MessageId": id, "MD5OfMessageBody": digest}))
            }
            "SendMessageBatch" => {
                let key = find(sqs, members.required("QueueUrl")?)?;
                let entries = members.entries("SendMessageBatch")?;
                let total: usize = entries
                    .iter()
                    .map(|e| e.get("MessageBody").and_then(Value::as_str).map_or(0, str::len))
                    .sum();
                if total > MAX_MESSAGE_BYTES {
                    return Err(SqsError::new(
                        "BatchRequestTooLong",
                        "AWS.SimpleQueueService.BatchRequestTooLong",
                        400,
                        format!("Batch requests cannot be longer than {MAX_MESSAGE_BYTES} bytes. You have sent {total} bytes."),
                    ));
                }
                let (mut successful, mut failed) = (Vec::new(), Vec::new());
                for entry in &entries {
                    let entry = Members(entry);
                    let id = entry.required("Id")?.to_string();
                    let checked = entry
                        .required("MessageBody")
                        .and_then(|body| check_message(&entry, body).map(|d| (body, d)));
                    match checked {
                        Ok((body, delay)) => {
                            let (message_id, digest) = sqs.send(&key, body, delay, &caller_id(caller), now_ms);
                            successful.push(json!({"Id": id, "MessageId": message_id, "MD5OfMessageBody": digest}));
                        }
                        Err(e) => failed.push(json!({"Id": id, "SenderFault": true, "Code": e.query_code, "Message": e.message})),
                    }
                }
                Ok(json!({"Successful": successful, "Failed": failed}))
            }
            "DeleteMessage" => {
                let key = find(sqs, members.required("QueueUrl")?)?;
                let handle = members.required("ReceiptHandle")?;
                delete(sqs, &key, handle)?;
                Ok(json!({}))
            }
            "DeleteMessageBatch" => {
                let key = find(sqs, members.required("QueueUrl")?)?;
                let entries = members.entries("DeleteMessageBatch")?;
                let (mut successful, mut failed) = (Vec::new(), Vec::new());
                for entry in &entries {
                    let entry = Members(entry);
                    let id = entry.required("Id")?.to_string();
                    // An injected failure: the entry is refused and its message stays in flight.
                    if fault_rng.chance(delete_failure_ratio) {
                        failed.push(json!({"Id": id, "SenderFault": false, "Code": "InternalError", "Message": "The entry could not be deleted (injected)."}));
                        continue;
                    }
                    match entry.required("ReceiptHandle").and_then(|h| delete(sqs, &key, h)) {
                        Ok(()) => successful.push(json!({ "Id": id })),
                        Err(e) => failed.push(json!({"Id": id, "SenderFault": true, "Code": e.query_code, "Message": e.message})),
                    }
                }
                Ok(json!({"Successful": successful, "Failed": failed}))
            }
            "ChangeMessageVisibility" => {
                let key = find(sqs, members.required("QueueUrl")?)?;
                let handle = members.required("ReceiptHandle")?;
                let timeout = members
                    .int("VisibilityTimeout")?
                    .ok_or_else(|| SqsError::missing("VisibilityTimeout"))?;
                if !(0..=MAX_VISIBILITY_SECONDS).contains(&timeout) {
                    return Err(SqsError::out_of_range(
                        "VisibilityTimeout",
                        timeout,
                        "Must be >= 0 and <= 43200, if provided.",
                    ));
                }
                let (account, name, order, count) = sqs
                    .parse_receipt(handle)
                    .ok_or_else(|| SqsError::invalid_receipt(handle))?;
                if (account, name) != key {
                    return Err(SqsError::invalid_receipt(handle));
                }
                let queue = sqs.queues.get_mut(&key).expect("found above");
                let now = Instant::now();
                match queue
                    .messages
                    .iter_mut()
                    .find(|m| m.order == order && m.receive_count == count)
                {
                    Some(message) if message.visible_at > now => {
                        message.visible_at = now + Duration::from_secs(timeout as u64);
                        Ok(json!({}))
                    }
                    _ => Err(SqsError::new(
                        "MessageNotInflight",
                        "AWS.SimpleQueueService.MessageNotInflight",
                        400,
                        "The message referred to isn't in flight.",
                    )),
                }
            }
            "PurgeQueue" => {
                let key = find(sqs, members.required("QueueUrl")?)?;
                sqs.queues.get_mut(&key).expect("found above").messages.clear();
                Ok(json!({}))
            }
            other => Err(SqsError::new(
                "UnsupportedOperation",
                "AWS.SimpleQueueService.UnsupportedOperation",
                400,
                format!("The GameLift simulator does not implement SQS operation {other}."),
            )),
        }
    }

    fn sqs_receive_params(&self, members: &Members<'_>) -> Result<Receive, SqsError> {
        let url = members.required("QueueUrl")?;
        let key = parse_queue_url(url)?;
        let max = members.int("MaxNumberOfMessages")?.unwrap_or(1);
        if !(1..=MAX_BATCH as i64).contains(&max) {
            return Err(SqsError::out_of_range(
                "MaxNumberOfMessages",
                max,
                "Must be between 1 and 10, if provided.",
            ));
        }
        let visibility = members.int("VisibilityTimeout")?;
        if let Some(v) = visibility.filter(|v| !(0..=MAX_VISIBILITY_SECONDS).contains(v)) {
            return Err(SqsError::out_of_range(
                "VisibilityTimeout",
                v,
                "Must be >= 0 and <= 43200, if provided.",
            ));
        }
        let wait = members.int("WaitTimeSeconds")?.unwrap_or(0);
        if !(0..=MAX_WAIT_SECONDS).contains(&wait) {
            return Err(SqsError::out_of_range(
                "WaitTimeSeconds",
                wait,
                "Must be >= 0 and <= 20, if provided.",
            ));
        }
        // MessageAttributeNames are accepted: the simulator's messages carry no message attributes.
        members.strings("MessageAttributeNames")?;
        let mut attributes = members.strings("AttributeNames")?;
        attributes.extend(members.strings("MessageSystemAttributeNames")?);
        Ok(Receive {
            key,
            max: max as usize,
            visibility,
            wait: Duration::from_secs(wait as u64),
            attributes,
        })
    }

    /// ReceiveMessage: answers at once when messages are visible, else waits up to the long poll
    /// for one to arrive (sent, delivered by the world, or back from a visibility timeout).
    async fn sqs_receive(&self, receive: Receive) -> Result<Value, SqsError> {
        let deadline = Instant::now() + receive.wait;
        let notify = self.lock().sqs.notify.clone();
        loop {
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let messages = self.sqs_take(&receive)?;
            let now = Instant::now();
            if !messages.is_empty() || now >= deadline {
                return Ok(if messages.is_empty() {
                    json!({})
                } else {
                    json!({ "Messages": messages })
                });
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep((deadline - now).min(POLL_EVERY)) => {}
            }
        }
    }

    /// Takes up to `max` visible messages, oldest first, making them in flight.
    fn sqs_take(&self, receive: &Receive) -> Result<Vec<Value>, SqsError> {
        let mut inner = self.synced();
        let now_ms = inner.world.now_ms();
        let sqs = &mut inner.sqs;
        let Some(queue) = sqs.queues.get(&receive.key) else {
            return Err(SqsError::no_queue());
        };
        let visibility = receive.visibility.unwrap_or(queue.visibility_seconds);
        let now = Instant::now();
        let mut taken = Vec::new();
        let queue = sqs.queues.get_mut(&receive.key).expect("checked above");
        for message in queue.messages.iter_mut() {
            if taken.len() == receive.max {
                break;
            }
            if message.visible_at > now {
                continue;
            }
            message.receive_count += 1;
            message.first_receive_ms.get_or_insert(now_ms);
            message.visible_at = now + Duration::from_secs(visibility as u64);
            taken.push(message.clone());
        }
        let wants = |name: &str| receive.attributes.iter().any(|a| a == name || a == "All");
        let out = taken
            .into_iter()
            .map(|message| {
                let mut attributes = Map::new();
                let values = [
                    ("SenderId", message.sender.clone()),
                    ("SentTimestamp", message.sent_ms.to_string()),
                    ("ApproximateReceiveCount", message.receive_count.to_string()),
                    (
                        "ApproximateFirstReceiveTimestamp",
                        message.first_receive_ms.unwrap_or(now_ms).to_string(),
                    ),
                ];
                for (name, value) in values {
                    if wants(name) {
                        attributes.insert(name.to_string(), json!(value));
                    }
                }
                let mut out = json!({
                    "MessageId": message.id,
                    "ReceiptHandle": sqs.receipt(&receive.key, message.order, message.receive_count),
                    "MD5OfBody": message.md5,
                    "Body": message.body,
                });
                if !attributes.is_empty() {
                    out["Attributes"] = Value::Object(attributes);
                }
                out
            })
            .collect();
        Ok(out)
    }

    /// Every event the world published (to the events queue, when the scenario names one), as
    /// EventBridge JSON, oldest first: the truth tests compare a reader's counts with. Keeps the
    /// most recent 100,000.
    pub fn events_sent(&self) -> Vec<Value> {
        self.synced().sqs.sent.iter().cloned().collect()
    }

    /// (visible, in flight) messages of the SQS queue named `queue` (any account; the default
    /// account's first); (0, 0) when there is none. Delayed messages count in neither.
    pub fn queue_messages(&self, queue: &str) -> (usize, usize) {
        let inner = self.synced();
        let Some(key) = inner.sqs.key_of(queue) else {
            return (0, 0);
        };
        let (visible, in_flight, _) = inner.sqs.queues[&key].counts(Instant::now());
        (visible, in_flight)
    }

    /// The URL of the SQS queue named `queue`, `http://<listener>/<account>/<queue>`; `None`
    /// when there is no such queue or the simulator is not serving yet.
    pub fn queue_url(&self, queue: &str) -> Option<String> {
        let inner = self.lock();
        let key = inner.sqs.key_of(queue)?;
        let base = inner.sqs.listen_url.as_deref()?;
        Some(inner.sqs.url(base, &key))
    }

    /// Creates an SQS queue in the default account (no-op when it exists); returns its URL, or
    /// just its path when the simulator is not serving yet. Panics on an invalid queue name.
    pub fn create_queue(&self, queue: &str) -> String {
        assert!(is_sqs_queue_name(queue), "invalid SQS queue name {queue:?}");
        let mut inner = self.synced();
        let now_ms = inner.world.now_ms();
        let key = (inner.world.account_id.clone(), queue.to_string());
        let region = inner
            .world
            .fleets
            .first()
            .map_or_else(|| "us-east-1".to_string(), |f| f.spec.home_region.clone());
        inner
            .sqs
            .queues
            .entry(key.clone())
            .or_insert_with(|| Queue::new(&region, now_ms, DEFAULT_VISIBILITY_SECONDS));
        let base = inner.sqs.listen_url.clone().unwrap_or_default();
        inner.sqs.url(&base, &key)
    }

    /// Sends a message to the SQS queue named `queue`, as SendMessage would (for tests: malformed
    /// or hand-made events). Panics when there is no such queue.
    pub fn send_message(&self, queue: &str, body: &str) {
        let mut inner = self.synced();
        let now_ms = inner.world.now_ms();
        let key = inner
            .sqs
            .key_of(queue)
            .unwrap_or_else(|| panic!("no SQS queue {queue:?}: name it in events_queue or create it first"));
        inner.sqs.send(&key, body, 0, "AIDASIMULATORTEST", now_ms);
    }

    pub(super) fn set_listen_url(&self, url: String) {
        self.lock().sqs.listen_url = Some(url);
    }
}

/// SenderId of a client's message: its access key's account, as SQS names an IAM principal.
fn caller_id(caller: &Caller) -> String {
    format!("AIDA{}", caller.account)
}

/// A message body and its DelaySeconds, checked as SQS checks them; returns the delay.
fn check_message(members: &Members<'_>, body: &str) -> Result<i64, SqsError> {
    if body.is_empty() {
        return Err(SqsError::missing("MessageBody"));
    }
    if body.len() > MAX_MESSAGE_BYTES {
        return Err(SqsError::invalid_parameter(format!(
            "One or more parameters are invalid. Reason: Message must be shorter than {MAX_MESSAGE_BYTES} bytes."
        )));
    }
    let delay = members.int("DelaySeconds")?.unwrap_or(0);
    if !(0..=900).contains(&delay) {
        return Err(SqsError::out_of_range(
            "DelaySeconds",
            delay,
            "Must be >= 0 and <= 900, if provided.",
        ));
    }
    Ok(delay)
}

/// DeleteMessage's rules: a handle not issued for this queue is invalid; the most recent handle
/// of a message deletes it; an older handle, or one of a message already deleted, succeeds and
/// deletes nothing (SQS: "the request succeeds, but the message will not be deleted").
fn delete(sqs: &mut Sqs, key: &(String, String), handle: &str) -> Result<(), SqsError> {
    let (account, name, order, count) = sqs
        .parse_receipt(handle)
        .ok_or_else(|| SqsError::invalid_receipt(handle))?;
    if (&account, &name) != (&key.0, &key.1) {
        return Err(SqsError::invalid_receipt(handle));
    }
    let queue = sqs.queues.get_mut(key).expect("the caller found the queue");
    if let Some(position) = queue
        .messages
        .iter()
        .position(|m| m.order == order && m.receive_count == count)
    {
        queue.messages.remove(position);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_queue_urls() {
        assert_eq!(
            parse_queue_url("http://127.0.0.1:4566/123456789012/gamelift-events"),
            Ok(("123456789012".to_string(), "gamelift-events".to_string()))
        );
        assert_eq!(
            parse_queue_url("https://sqs.us-west-2.amazonaws.com/123456789012/q/"),
            Ok(("123456789012".to_string(), "q".to_string()))
        );
        let bad = parse_queue_url("http://host/events").unwrap_err();
        assert_eq!(
            (bad.shape, bad.status, bad.message.as_str()),
            (
                "InvalidAddress",
                404,
                "The address http://host/events is not valid for this endpoint."
            )
        );
    }

    #[test]
    fn receipt_handles_round_trip_and_refuse_forgeries() {
        let scenario = Scenario::parse(std::path::Path::new("s.toml"), "").unwrap();
        let sqs = Sqs::new(&scenario, 0);
        let key = ("123456789012".to_string(), "q".to_string());
        let handle = sqs.receipt(&key, 7, 2);
        assert_eq!(
            sqs.parse_receipt(&handle),
            Some(("123456789012".into(), "q".into(), 7, 2))
        );
        let forged =
            base64::engine::general_purpose::STANDARD.encode("sim1:123456789012:q:7:3:0000000000000000");
        assert_eq!(sqs.parse_receipt(&forged), None);
        assert_eq!(sqs.parse_receipt("not base64!"), None);
    }
}
