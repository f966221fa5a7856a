//! Game session queues, placements, matchmaking and their events in the simulator, and the SQS
//! endpoint they are delivered through: the SDK (CBOR) for the Describe operations, raw AWS JSON
//! 1.0 for the exact SQS wire, boto3 and the AWS CLI as independent clients.

use crate::python_clients::{python_has_boto3, run_client};
use crate::support::{self, scenario, sdk_client};
use gamelift_exporter::simulator::{Clock, Simulator};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::process::Command;
use std::time::{Duration, Instant};

const WORLD: &str = r#"
seed = 11
start_time = 1793491200
tick = "10s"
events_queue = "gamelift-events"
[faults]
rate_limits = {}

[[fleet]]
id = "fleet-aaaa"
name = "arena"
type = "SPOT"
home_region = "us-west-2"
locations = ["us-east-1"]
max_players = 8

[[fleet]]
id = "fleet-bbbb"
name = "arena-backup"
type = "ON_DEMAND"
home_region = "us-west-2"
max_players = 8

[[fleet]]
id = "fleet-eu"
name = "eu"
type = "ON_DEMAND"
home_region = "eu-west-1"

[[queue]]
name = "arena-queue"
destinations = ["fleet-aaaa", "fleet-bbbb"]
timeout = "60s"
placements_per_tick = 3
players_per_placement = 4
failure_probability = 0.1
timeout_probability = 0.1
cancel_probability = 0.1
latency_min = "300ms"
latency_max = "20s"

[[queue]]
name = "arena-quiet"
destinations = ["fleet-bbbb"]

[[queue]]
name = "eu-queue"
destinations = ["fleet-eu"]

[[matchmaking]]
name = "arena-match"
queue = "arena-queue"
tickets_per_tick = 1
players_per_ticket = 2
acceptance_required = true
timeout_probability = 0.1
cancel_probability = 0.1
failure_probability = 0.1
search_min = "1s"
search_max = "30s"

[[matchmaking]]
name = "eu-match"
queue = "eu-queue"
rule_set = "eu-rules"
"#;

const ACCOUNT: &str = "123456789012";
const QUEUE_ARN: &str = "arn:aws:gamelift:us-west-2:123456789012:gamesessionqueue/arena-queue";
const CONFIG_ARN: &str = "arn:aws:gamelift:us-west-2:123456789012:matchmakingconfiguration/arena-match";

/// Epoch milliseconds of an RFC 3339 UTC time as the events write it.
fn millis(text: &str) -> i64 {
    let (date, time) = text.trim_end_matches('Z').split_once('T').unwrap();
    let d: Vec<i64> = date.split('-').map(|p| p.parse().unwrap()).collect();
    let (hms, ms) = time.split_once('.').unwrap_or((time, "0"));
    let t: Vec<i64> = hms.split(':').map(|p| p.parse().unwrap()).collect();
    // Days from civil (Howard Hinnant), the inverse of the simulator's rfc3339.
    let (y, m) = if d[1] <= 2 {
        (d[0] - 1, d[1] + 9)
    } else {
        (d[0], d[1] - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * m + 2) / 5 + d[2] - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    ((days * 86_400 + t[0] * 3600 + t[1] * 60 + t[2]) * 1000) + ms.parse::<i64>().unwrap()
}

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["detail"]["type"] == kind).collect()
}

#[tokio::test]
async fn fulfilled_placements_create_the_sessions_their_events_name() {
    let sim = Simulator::start(&scenario(WORLD), Clock::Manual).await.unwrap();
    let before: BTreeSet<String> = sim.sessions().into_iter().map(|s| s.game_session_id).collect();
    sim.advance(Duration::from_secs(600));
    let events = sim.events_sent();
    let placements: Vec<&Value> = events
        .iter()
        .filter(|e| e["detail-type"] == "GameLift Queue Placement Event")
        .collect();
    assert!(placements.len() > 150, "{} placement events", placements.len());

    // Same seed, same world: the events are a pure function of the scenario and the clock.
    let twin = Simulator::new(&scenario(WORLD), Clock::Manual);
    twin.advance(Duration::from_secs(600));
    assert_eq!(twin.events_sent(), events);

    let sessions: BTreeMap<String, _> = sim
        .sessions()
        .into_iter()
        .map(|s| (s.game_session_id.clone(), s))
        .collect();
    let client = sdk_client(&sim.url, "us-west-2", 1);
    let mut kinds = BTreeMap::new();
    let mut ids = BTreeSet::new();
    let mut last_time = 0;
    for event in &placements {
        let detail = &event["detail"];
        let kind = detail["type"].as_str().unwrap();
        *kinds.entry(kind).or_insert(0) += 1;
        assert_eq!(event["version"], "0");
        assert_eq!(event["source"], "aws.gamelift");
        assert_eq!(event["account"], ACCOUNT);
        assert_eq!(event["region"], "us-west-2");
        assert_eq!(event["resources"], json!([QUEUE_ARN]));
        assert!(
            ids.insert(detail["placementId"].as_str().unwrap().to_string()),
            "one event per placement"
        );
        let (start, end) = (
            millis(detail["startTime"].as_str().unwrap()),
            millis(detail["endTime"].as_str().unwrap()),
        );
        // `time` is the end, in whole seconds; events leave in time order.
        let time = event["time"].as_str().unwrap();
        assert!(time.len() == 20 && time.ends_with('Z'), "{time}");
        assert_eq!(millis(time), end.div_euclid(1000) * 1000);
        assert!(end >= last_time, "events in time order");
        last_time = end;
        match kind {
            "PlacementFulfilled" => {
                assert!((300..=20_000).contains(&(end - start)), "latency {}", end - start);
                let arn = detail["gameSessionArn"].as_str().unwrap();
                let session = &sessions[arn];
                assert!(!before.contains(arn), "a new session");
                assert_eq!(session.creation_time_ms, end);
                assert!(["fleet-aaaa", "fleet-bbbb"].contains(&session.fleet_id.as_str()));
                assert_eq!(detail["gameSessionRegion"], session.location.as_str());
                let players = detail["placedPlayerSessions"].as_array().unwrap();
                // 4 players a placement, 2 a match (players_per_ticket).
                assert!([2, 4].contains(&players.len()), "{}", players.len());
                for player in players {
                    assert!(player["playerId"].as_str().unwrap().starts_with("player-"));
                    assert!(player["playerSessionId"].as_str().unwrap().starts_with("psess-"));
                }
                // The SDK finds the session by the event's ARN, at the event's address.
                let found = client
                    .describe_game_sessions()
                    .game_session_id(arn)
                    .send()
                    .await
                    .unwrap();
                let found = &found.game_sessions()[0];
                assert_eq!(detail["ipAddress"].as_str(), found.ip_address().or(Some("")));
                assert_eq!(detail["dnsName"].as_str(), found.dns_name().or(Some("")));
                // The documented example writes the port as a string.
                assert_eq!(detail["port"], json!(found.port().unwrap().to_string()));
            }
            "PlacementTimedOut" => {
                assert_eq!(end - start, 60_000);
                assert!(detail.get("gameSessionArn").is_none());
            }
            "PlacementFailed" | "PlacementCancelled" => {
                assert!(end > start && end - start <= 60_000);
                assert_eq!(
                    detail.as_object().unwrap().len(),
                    4,
                    "type, placementId, startTime, endTime"
                );
            }
            other => panic!("unexpected placement event {other}"),
        }
    }
    assert_eq!(
        kinds.keys().copied().collect::<Vec<_>>(),
        [
            "PlacementCancelled",
            "PlacementFailed",
            "PlacementFulfilled",
            "PlacementTimedOut"
        ]
    );
    assert!(kinds["PlacementFulfilled"] * 2 > placements.len(), "{kinds:?}");
    // No churn in this world: every new session is a fulfilled placement's (matches included).
    let new_sessions = sessions.keys().filter(|arn| !before.contains(*arn)).count();
    assert_eq!(new_sessions, kinds["PlacementFulfilled"]);
}

#[tokio::test]
async fn matchmaking_tickets_go_through_the_documented_events() {
    let sim = Simulator::new(&scenario(WORLD), Clock::Manual);
    sim.advance(Duration::from_secs(900));
    let events = sim.events_sent();
    let matchmaking: Vec<&Value> = events
        .iter()
        .filter(|e| e["detail-type"] == "GameLift Matchmaking Event")
        .collect();
    let mut by_ticket: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for event in &matchmaking {
        assert_eq!(event["resources"], json!([CONFIG_ARN]));
        assert_eq!(event["region"], "us-west-2");
        let time = event["time"].as_str().unwrap();
        assert_eq!(
            time.len(),
            24,
            "milliseconds, as in the documented examples: {time}"
        );
        let tickets = event["detail"]["tickets"].as_array().unwrap();
        assert_eq!(tickets.len(), 1);
        assert_eq!(tickets[0]["players"].as_array().unwrap().len(), 2);
        by_ticket
            .entry(tickets[0]["ticketId"].as_str().unwrap().to_string())
            .or_default()
            .push(event);
    }
    let placements: BTreeMap<&str, &Value> = of_type(&events, "PlacementFulfilled")
        .into_iter()
        .map(|e| (e["detail"]["gameSessionArn"].as_str().unwrap(), e))
        .collect();
    let mut endings = BTreeMap::new();
    for (ticket, events) in &by_ticket {
        let kinds: Vec<&str> = events
            .iter()
            .map(|e| e["detail"]["type"].as_str().unwrap())
            .collect();
        let start = events[0]["detail"]["tickets"][0]["startTime"].as_str().unwrap();
        assert_eq!(kinds[0], "MatchmakingSearching", "{ticket}: {kinds:?}");
        assert_eq!(events[0]["time"].as_str().unwrap(), start);
        assert_eq!(events[0]["detail"]["estimatedWaitMillis"], "NOT_AVAILABLE");
        let last = kinds.last().unwrap();
        if [
            "MatchmakingSearching",
            "PotentialMatchCreated",
            "AcceptMatchCompleted",
        ]
        .contains(last)
        {
            continue; // still searching, or the match still being placed
        }
        *endings.entry(*last).or_insert(0) += 1;
        match *last {
            "MatchmakingSucceeded" => {
                assert_eq!(
                    kinds,
                    [
                        "MatchmakingSearching",
                        "PotentialMatchCreated",
                        "AcceptMatch",
                        "AcceptMatchCompleted",
                        "MatchmakingSucceeded"
                    ]
                );
                let detail = &events[4]["detail"];
                assert_eq!(events[3]["detail"]["acceptance"], "Accepted");
                assert_eq!(events[1]["detail"]["acceptanceRequired"], true);
                let match_id = &events[1]["detail"]["matchId"];
                assert!(events[1..].iter().all(|e| &e["detail"]["matchId"] == match_id));
                let info = &detail["gameSessionInfo"];
                let placed = placements[info["gameSessionArn"].as_str().unwrap()];
                assert_eq!(
                    placed["time"].as_str().unwrap()[..19],
                    events[4]["time"].as_str().unwrap()[..19]
                );
                let placed_players: Vec<&Value> = placed["detail"]["placedPlayerSessions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .collect();
                let players = info["players"].as_array().unwrap();
                assert_eq!(players.len(), placed_players.len());
                for (player, placed) in players.iter().zip(placed_players) {
                    assert_eq!(player["playerId"], placed["playerId"]);
                    assert_eq!(player["playerSessionId"], placed["playerSessionId"]);
                }
                assert_eq!(
                    info["port"],
                    json!(placed["detail"]["port"].as_str().unwrap().parse::<i64>().unwrap())
                );
            }
            "MatchmakingTimedOut" => {
                assert_eq!(kinds.len(), 2);
                let end = millis(events[1]["time"].as_str().unwrap());
                assert_eq!(end - millis(start), 120_000, "RequestTimeoutSeconds");
                assert_eq!(events[1]["detail"]["reason"], "TimedOut");
            }
            "MatchmakingCancelled" => {
                assert_eq!(kinds.len(), 2);
                assert_eq!(events[1]["detail"]["reason"], "Cancelled");
            }
            "MatchmakingFailed" => assert_eq!(events.last().unwrap()["detail"]["reason"], "UNEXPECTED_ERROR"),
            other => panic!("{ticket} ends with {other}: {kinds:?}"),
        }
    }
    assert!(
        endings.len() == 4 && endings["MatchmakingSucceeded"] > 20,
        "{endings:?}"
    );
}

#[tokio::test]
async fn describe_queues_and_configurations_over_cbor() {
    let sim = Simulator::start(&scenario(WORLD), Clock::Manual).await.unwrap();
    let client = sdk_client(&sim.url, "us-west-2", 1);
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = client
            .describe_game_session_queues()
            .limit(1)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        names.extend(
            page.game_session_queues()
                .iter()
                .map(|q| q.name().unwrap().to_string()),
        );
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(
        names,
        ["arena-queue", "arena-quiet"],
        "the signing Region's queues only"
    );
    let by_arn = client
        .describe_game_session_queues()
        .names(QUEUE_ARN)
        .names("nonexistent")
        .send()
        .await
        .unwrap();
    let queue = &by_arn.game_session_queues()[0];
    assert_eq!(by_arn.game_session_queues().len(), 1);
    assert_eq!(queue.game_session_queue_arn(), Some(QUEUE_ARN));
    assert_eq!(queue.timeout_in_seconds(), Some(60));
    let destinations: Vec<&str> = queue
        .destinations()
        .iter()
        .filter_map(|d| d.destination_arn())
        .collect();
    assert_eq!(
        destinations,
        [
            "arn:aws:gamelift:us-west-2:123456789012:fleet/fleet-aaaa",
            "arn:aws:gamelift:us-west-2:123456789012:fleet/fleet-bbbb"
        ]
    );
    assert_eq!(
        queue.notification_target(),
        None,
        "EventBridge delivery: no SNS topic"
    );

    let configurations = client.describe_matchmaking_configurations().send().await.unwrap();
    let config = &configurations.configurations()[0];
    assert_eq!(configurations.configurations().len(), 1);
    assert_eq!(config.name(), Some("arena-match"));
    assert_eq!(config.configuration_arn(), Some(CONFIG_ARN));
    assert_eq!(config.game_session_queue_arns(), [QUEUE_ARN]);
    assert_eq!(config.request_timeout_seconds(), Some(120));
    assert_eq!(config.acceptance_required(), Some(true));
    assert_eq!(config.rule_set_name(), Some("arena-match-rules"));
    let eu = sdk_client(&sim.url, "eu-west-1", 1);
    let by_rule_set = eu
        .describe_matchmaking_configurations()
        .rule_set_name("arn:aws:gamelift:eu-west-1:123456789012:matchmakingruleset/eu-rules")
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = by_rule_set
        .configurations()
        .iter()
        .filter_map(|c| c.name())
        .collect();
    assert_eq!(names, ["eu-match"]);
    let bad = client
        .describe_game_session_queues()
        .names("bad name")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_gamelift::error::ProvideErrorMetadata::message(&bad),
        Some("1 validation error detected: Value '[bad name]' at 'names' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 256, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [a-zA-Z0-9-]+|^arn:.*:gamesessionqueue\\/[a-zA-Z0-9-]+]")
    );
    let protocols: BTreeSet<(String, &str)> = sim
        .requests()
        .into_iter()
        .map(|r| (r.operation, r.protocol))
        .collect();
    assert!(protocols.contains(&("DescribeMatchmakingConfigurations".to_string(), "rpc-v2-cbor")));
}

/// One raw AWS JSON 1.0 SQS request, signed or not; (status, lower-cased headers, body).
fn sqs_call(
    url: &str,
    operation: &str,
    body: &Value,
    signed: bool,
) -> (u16, BTreeMap<String, String>, Value) {
    let address = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let auth = if signed {
        "Authorization: AWS4-HMAC-SHA256 Credential=AKIDRAW/20261101/us-west-2/sqs/aws4_request, SignedHeaders=host, Signature=00\r\n"
    } else {
        ""
    };
    let body = body.to_string();
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: {address}\r\nX-Amz-Target: AmazonSQS.{operation}\r\nContent-Type: application/x-amz-json-1.0\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_lowercase(), v.to_string()))
        .collect();
    (status, headers, serde_json::from_str(body).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_answers_and_refuses_as_the_json_protocol_does() {
    let sim = Simulator::start(&scenario(WORLD), Clock::Manual).await.unwrap();
    let url = sim.url.clone();
    let queue_url = sim.queue_url("gamelift-events").unwrap();
    assert_eq!(queue_url, format!("{url}/123456789012/gamelift-events"));
    let call = |op: &str, body: Value| {
        let url = url.clone();
        let op = op.to_string();
        tokio::task::block_in_place(move || sqs_call(&url, &op, &body, true))
    };
    let (status, headers, body) = call("GetQueueUrl", json!({"QueueName": "gamelift-events"}));
    assert_eq!((status, body), (200, json!({ "QueueUrl": queue_url })));
    assert_eq!(headers["content-type"], "application/x-amz-json-1.0");

    let (status, headers, body) = call("GetQueueUrl", json!({"QueueName": "missing"}));
    assert_eq!(
        (status, body),
        (
            400,
            json!({"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": "The specified queue does not exist."})
        )
    );
    assert_eq!(
        headers["x-amzn-query-error"],
        "AWS.SimpleQueueService.NonExistentQueue;Sender"
    );

    let (status, headers, body) = call(
        "ReceiveMessage",
        json!({"QueueUrl": queue_url, "MaxNumberOfMessages": 11}),
    );
    assert_eq!(
        (status, body["__type"].as_str(), body["message"].as_str()),
        (
            400,
            Some("com.amazonaws.sqs#InvalidParameterValueException"),
            Some("Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.")
        )
    );
    assert_eq!(headers["x-amzn-query-error"], "InvalidParameterValue;Sender");
    let (status, _, body) = call(
        "ReceiveMessage",
        json!({"QueueUrl": queue_url, "WaitTimeSeconds": 21}),
    );
    assert_eq!(
        (status, body["message"].as_str()),
        (400, Some("Value 21 for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided."))
    );

    let entries: Vec<Value> = (0..11)
        .map(|i| json!({"Id": format!("m{i}"), "MessageBody": "x"}))
        .collect();
    let (status, headers, body) = call(
        "SendMessageBatch",
        json!({"QueueUrl": queue_url, "Entries": entries}),
    );
    assert_eq!(
        (status, body),
        (
            400,
            json!({"__type": "com.amazonaws.sqs#TooManyEntriesInBatchRequest", "message": "Maximum number of entries per request are 10. You have sent 11."})
        )
    );
    assert_eq!(
        headers["x-amzn-query-error"],
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest;Sender"
    );

    let (status, _, body) = call(
        "DeleteMessage",
        json!({"QueueUrl": queue_url, "ReceiptHandle": "forged"}),
    );
    assert_eq!(
        (status, body),
        (
            404,
            json!({"__type": "com.amazonaws.sqs#ReceiptHandleIsInvalid", "message": "The input receipt handle \"forged\" is not a valid receipt handle."})
        )
    );
    let (status, _, body) = tokio::task::block_in_place(|| {
        sqs_call(
            &url,
            "GetQueueUrl",
            &json!({"QueueName": "gamelift-events"}),
            false,
        )
    });
    assert_eq!(
        (status, body["__type"].as_str()),
        (403, Some("com.amazonaws.sqs#MissingAuthenticationTokenException"))
    );
    let (status, _, body) = call("TagQueue", json!({"QueueUrl": queue_url}));
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("com.amazonaws.sqs#UnsupportedOperation"))
    );

    // Sent, received with every system attribute, deleted in a batch (one handle forged).
    let (status, _, sent) = call(
        "SendMessage",
        json!({"QueueUrl": queue_url, "MessageBody": "hello"}),
    );
    assert_eq!(status, 200);
    assert_eq!(sent["MD5OfMessageBody"], "5d41402abc4b2a76b9719d911017c592");
    let (_, _, received) = call(
        "ReceiveMessage",
        json!({"QueueUrl": queue_url, "MaxNumberOfMessages": 10, "MessageSystemAttributeNames": ["All"]}),
    );
    let message = &received["Messages"][0];
    assert_eq!(received["Messages"].as_array().unwrap().len(), 1);
    assert_eq!(message["MessageId"], sent["MessageId"]);
    assert_eq!(message["Body"], "hello");
    assert_eq!(message["MD5OfBody"], "5d41402abc4b2a76b9719d911017c592");
    assert_eq!(message["Attributes"]["ApproximateReceiveCount"], "1");
    assert_eq!(
        message["Attributes"]["SentTimestamp"], "1793491200000",
        "the simulated clock"
    );
    assert_eq!(sim.queue_messages("gamelift-events"), (0, 1));
    let (status, _, body) = call(
        "DeleteMessageBatch",
        json!({"QueueUrl": queue_url, "Entries": [
            {"Id": "good", "ReceiptHandle": message["ReceiptHandle"]},
            {"Id": "bad", "ReceiptHandle": "forged"},
        ]}),
    );
    assert_eq!(
        (status, body),
        (
            200,
            json!({"Successful": [{"Id": "good"}], "Failed": [{"Id": "bad", "SenderFault": true, "Code": "ReceiptHandleIsInvalid", "Message": "The input receipt handle \"forged\" is not a valid receipt handle."}]})
        )
    );
    assert_eq!(sim.queue_messages("gamelift-events"), (0, 0));
    let (_, _, attributes) = call(
        "GetQueueAttributes",
        json!({"QueueUrl": queue_url, "AttributeNames": ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]}),
    );
    assert_eq!(
        attributes,
        json!({"Attributes": {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}})
    );
    let log: Vec<(String, &str, String)> = sim
        .requests()
        .into_iter()
        .map(|r| (r.operation, r.protocol, r.outcome))
        .collect();
    assert_eq!(
        log[0],
        ("GetQueueUrl".to_string(), "aws-json-1.0", "ok".to_string())
    );
    assert_eq!(
        log[1],
        (
            "GetQueueUrl".to_string(),
            "aws-json-1.0",
            "QueueDoesNotExist".to_string()
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unacknowledged_messages_come_back_after_the_visibility_timeout() {
    let sim = Simulator::start(&scenario(WORLD), Clock::Manual).await.unwrap();
    let url = sim.url.clone();
    let queue_url = sim.queue_url("gamelift-events").unwrap();
    let call = |op: &str, body: Value| tokio::task::block_in_place(|| sqs_call(&url, op, &body, true).2);
    sim.send_message("gamelift-events", "{\"not\": \"an event\"}");
    let receive =
        json!({"QueueUrl": queue_url, "VisibilityTimeout": 1, "AttributeNames": ["ApproximateReceiveCount"]});
    let first = call("ReceiveMessage", receive.clone());
    assert_eq!(first["Messages"][0]["Attributes"]["ApproximateReceiveCount"], "1");
    assert_eq!(
        call("ReceiveMessage", receive.clone()),
        json!({}),
        "in flight: not visible"
    );
    assert_eq!(sim.queue_messages("gamelift-events"), (0, 1));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(sim.queue_messages("gamelift-events"), (1, 0));
    let second = call("ReceiveMessage", receive.clone());
    let message = &second["Messages"][0];
    assert_eq!(message["MessageId"], first["Messages"][0]["MessageId"]);
    assert_eq!(message["Attributes"]["ApproximateReceiveCount"], "2");
    assert_ne!(message["ReceiptHandle"], first["Messages"][0]["ReceiptHandle"]);
    // The first receive's handle is stale: SQS answers success and deletes nothing.
    let stale = json!({"QueueUrl": queue_url, "ReceiptHandle": first["Messages"][0]["ReceiptHandle"]});
    assert_eq!(call("DeleteMessage", stale), json!({}));
    assert_eq!(sim.queue_messages("gamelift-events"), (0, 1));
    let fresh = json!({"QueueUrl": queue_url, "ReceiptHandle": message["ReceiptHandle"]});
    assert_eq!(call("DeleteMessage", fresh), json!({}));
    assert_eq!(sim.queue_messages("gamelift-events"), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_polls_answer_as_soon_as_events_arrive() {
    let sim = Simulator::start(&scenario(WORLD), Clock::Manual).await.unwrap();
    let url = sim.url.clone();
    let queue_url = sim.queue_url("gamelift-events").unwrap();
    let poll = {
        let (url, queue_url) = (url.clone(), queue_url.clone());
        std::thread::spawn(move || {
            let started = Instant::now();
            let body = json!({"QueueUrl": queue_url, "WaitTimeSeconds": 10, "MaxNumberOfMessages": 10});
            (sqs_call(&url, "ReceiveMessage", &body, true).2, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The world moves one tick: its events are delivered and wake the poll.
    sim.advance(Duration::from_secs(10));
    let (received, waited) = tokio::task::block_in_place(|| poll.join().unwrap());
    let messages = received["Messages"].as_array().unwrap();
    assert!(!messages.is_empty() && messages.len() <= 10);
    assert!(waited < Duration::from_secs(3), "answered after {waited:?}");
    let first: Value = serde_json::from_str(messages[0]["Body"].as_str().unwrap()).unwrap();
    assert_eq!(first, sim.events_sent()[0], "the body is the EventBridge event");

    // Nothing to receive: the poll lasts its WaitTimeSeconds, then answers empty.
    let started = Instant::now();
    let body = json!({"QueueUrl": queue_url, "WaitTimeSeconds": 1});
    let empty = sim.create_queue("empty");
    assert!(empty.ends_with("/123456789012/empty"));
    let body = json!({"QueueUrl": empty, "WaitTimeSeconds": body["WaitTimeSeconds"]});
    let answer = tokio::task::block_in_place(|| sqs_call(&url, "ReceiveMessage", &body, true).2);
    assert_eq!(answer, json!({}));
    assert!(started.elapsed() >= Duration::from_millis(1000) && started.elapsed() < Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sns_delivery_wraps_each_event_in_the_sns_envelope() {
    let world = WORLD.replace(
        "events_queue = \"gamelift-events\"",
        "events_queue = \"gamelift-events\"\nevents_delivery = \"sns\"",
    );
    let sim = Simulator::start(&scenario(&world), Clock::Manual).await.unwrap();
    sim.advance(Duration::from_secs(30));
    let url = sim.url.clone();
    let queue_url = sim.queue_url("gamelift-events").unwrap();
    let received = tokio::task::block_in_place(|| {
        sqs_call(
            &url,
            "ReceiveMessage",
            &json!({"QueueUrl": queue_url, "MaxNumberOfMessages": 10}),
            true,
        )
        .2
    });
    let events = sim.events_sent();
    for (message, event) in received["Messages"].as_array().unwrap().iter().zip(&events) {
        let envelope: Value = serde_json::from_str(message["Body"].as_str().unwrap()).unwrap();
        assert_eq!(envelope["Type"], "Notification");
        assert_eq!(
            envelope["TopicArn"],
            "arn:aws:sns:us-west-2:123456789012:gamelift-events"
        );
        assert_eq!(envelope["Timestamp"].as_str().unwrap().len(), 24);
        assert_eq!(envelope["SignatureVersion"], "1");
        let inner: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
        assert_eq!(&inner, event);
    }
    let client = sdk_client(&sim.url, "us-west-2", 1);
    let queues = client.describe_game_session_queues().send().await.unwrap();
    assert_eq!(
        queues.game_session_queues()[0].notification_target(),
        Some("arn:aws:sns:us-west-2:123456789012:gamelift-events")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_reads_the_events_queue_and_describes_queues() {
    if !python_has_boto3() {
        return;
    }
    let sim = Simulator::start(&scenario(WORLD), Clock::Manual).await.unwrap();
    sim.advance(Duration::from_secs(20));
    let events = sim.events_sent();
    let result = run_client("boto3_sqs.py", vec![sim.url.clone(), "us-west-2".into()]).await;
    // Every event, once, received in batches of up to 10 and deleted with DeleteMessageBatch.
    let bodies: Vec<Value> = result["bodies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| serde_json::from_str(b.as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(bodies, events);
    assert_eq!(result["deleted"], json!(events.len()));
    assert_eq!(result["failed"], json!(["bad"]));
    assert_eq!(
        result["attributes_after"],
        json!({"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"})
    );
    assert_eq!(
        result["missing_queue"],
        json!({"Code": "AWS.SimpleQueueService.NonExistentQueue", "QueryErrorCode": "QueueDoesNotExist", "modeled": true})
    );
    assert_eq!(
        result["created"],
        json!(format!("{}/123456789012/boto3-queue", sim.url))
    );
    assert_eq!(result["batch_sent"], json!(["a", "b"]));
    assert_eq!(result["round_trip"], json!(["first", "second"]));
    assert_eq!(result["queues"], json!(["arena-queue", "arena-quiet"]));
    assert_eq!(result["configurations"], json!([["arena-match", CONFIG_ARN]]));
    // What the installed boto3 sends: AWS JSON 1.0 for SQS, JSON 1.1 for GameLift.
    let protocols: BTreeSet<(String, &str)> = sim
        .requests()
        .into_iter()
        .map(|r| (r.operation, r.protocol))
        .collect();
    for operation in [
        "GetQueueUrl",
        "ReceiveMessage",
        "DeleteMessageBatch",
        "SendMessageBatch",
        "CreateQueue",
    ] {
        assert!(
            protocols.contains(&(operation.to_string(), "aws-json-1.0")),
            "{operation}: {protocols:?}"
        );
    }
    assert!(protocols.contains(&("DescribeGameSessionQueues".to_string(), "awsJson1_1")));
    assert!(protocols.contains(&("DescribeMatchmakingConfigurations".to_string(), "awsJson1_1")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_receives_events_and_describes_queues() {
    if !support::require_tool("aws") {
        return;
    }
    let sim = Simulator::start(&scenario(WORLD), Clock::Manual).await.unwrap();
    sim.advance(Duration::from_secs(10));
    let run = |args: &[&str]| {
        let output = Command::new("aws")
            .args(args)
            .args([
                "--endpoint-url",
                &sim.url,
                "--region",
                "us-west-2",
                "--output",
                "json",
            ])
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env("AWS_ACCESS_KEY_ID", "AKIDCLI")
            .env("AWS_SECRET_ACCESS_KEY", "cli-secret")
            .env_remove("AWS_SESSION_TOKEN")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "aws {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice::<Value>(&output.stdout).unwrap()
    };
    let queue_url = sim.queue_url("gamelift-events").unwrap();
    let received = tokio::task::block_in_place(|| {
        run(&[
            "sqs",
            "receive-message",
            "--queue-url",
            &queue_url,
            "--max-number-of-messages",
            "10",
            "--wait-time-seconds",
            "1",
            "--message-system-attribute-names",
            "SentTimestamp",
        ])
    });
    let messages = received["Messages"].as_array().unwrap();
    let events = sim.events_sent();
    assert_eq!(messages.len(), events.len().min(10));
    for (message, event) in messages.iter().zip(&events) {
        assert_eq!(
            &serde_json::from_str::<Value>(message["Body"].as_str().unwrap()).unwrap(),
            event
        );
        assert_eq!(message["Attributes"]["SentTimestamp"], "1793491210000");
    }
    let attributes = tokio::task::block_in_place(|| {
        run(&[
            "sqs",
            "get-queue-attributes",
            "--queue-url",
            &queue_url,
            "--attribute-names",
            "All",
        ])
    });
    assert_eq!(
        attributes["Attributes"]["ApproximateNumberOfMessagesNotVisible"],
        json!(messages.len().to_string())
    );
    let queues = tokio::task::block_in_place(|| {
        run(&[
            "gamelift",
            "describe-game-session-queues",
            "--names",
            "arena-queue",
        ])
    });
    assert_eq!(queues["GameSessionQueues"][0]["GameSessionQueueArn"], QUEUE_ARN);
    let configurations =
        tokio::task::block_in_place(|| run(&["gamelift", "describe-matchmaking-configurations"]));
    assert_eq!(
        configurations["Configurations"][0]["ConfigurationArn"],
        CONFIG_ARN
    );
}

/// `--demo` shows placements within a minute: its world delivers placement and matchmaking
/// events to `gamelift-events` from the first tick, and every outcome within ten minutes.
#[tokio::test]
async fn the_demo_world_delivers_placement_events_within_a_minute() {
    let sim = Simulator::start(&gamelift_exporter::demo::scenario(), Clock::Manual)
        .await
        .unwrap();
    assert_eq!(
        sim.queue_url("gamelift-events"),
        Some(format!("{}/123456789012/gamelift-events", sim.url))
    );
    sim.advance(Duration::from_secs(60));
    let events = sim.events_sent();
    assert_eq!(sim.queue_messages("gamelift-events"), (events.len(), 0));
    let fulfilled = of_type(&events, "PlacementFulfilled");
    let queues: BTreeSet<&str> = fulfilled
        .iter()
        .map(|e| e["resources"][0].as_str().unwrap().rsplit('/').next().unwrap())
        .collect();
    assert_eq!(queues, BTreeSet::from(["arena-queue", "battle-royale-queue"]));
    assert!(!of_type(&events, "MatchmakingSucceeded").is_empty());
    sim.advance(Duration::from_secs(540));
    let events = sim.events_sent();
    let mut kinds = BTreeMap::new();
    for event in &events {
        *kinds
            .entry(event["detail"]["type"].as_str().unwrap())
            .or_insert(0) += 1;
    }
    eprintln!("demo events in 10 minutes: {kinds:?}");
    for kind in [
        "PlacementFulfilled",
        "PlacementFailed",
        "PlacementTimedOut",
        "PlacementCancelled",
        "MatchmakingSearching",
        "PotentialMatchCreated",
        "AcceptMatch",
        "AcceptMatchCompleted",
        "MatchmakingSucceeded",
        "MatchmakingTimedOut",
        "MatchmakingCancelled",
    ] {
        assert!(kinds.contains_key(kind), "{kind} missing: {kinds:?}");
    }
    // Mostly fulfilled.
    let placements: usize = kinds
        .iter()
        .filter(|(k, _)| k.starts_with("Placement"))
        .map(|(_, n)| n)
        .sum();
    assert!(kinds["PlacementFulfilled"] * 10 > placements * 8, "{kinds:?}");
}
