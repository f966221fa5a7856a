//! Placement and matchmaking events (issue 14) read off a real, independent SQS implementation:
//! moto's server on loopback. The documented event shapes, delivered directly, wrapped by SNS
//! and raw, plus malformed ones; exact counters and histogram buckets; every event counted
//! once; no message left behind; and a redelivery after a restart not counted twice.

use crate::support::{self, assert_metrics_eq, only, series, temp_path, Harness, Process};
use gamelift_exporter::config::EventsConfig;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const ACCOUNT: &str = "123456789012";

/// moto's server on a free loopback port, killed when dropped.
struct Moto {
    _process: Process,
    url: String,
}

fn moto() -> Option<Moto> {
    let has_moto = std::process::Command::new("python3")
        .args(["-c", "import moto.server"])
        .status()
        .is_ok_and(|s| s.success());
    if !support::required(has_moto, "moto's server (pip install 'moto[server]')") {
        return None;
    }
    let port = support::free_port();
    let process = Process::spawn(
        "moto",
        std::process::Command::new("python3").args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ]),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto did not start:\n{}",
            process.log_tail(20)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(Moto {
        _process: process,
        url: format!("http://127.0.0.1:{port}"),
    })
}

/// An SQS client of our own for moto (the test's side: creating, filling, inspecting).
async fn sqs(url: &str) -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::config::Builder::new()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new("us-west-2"))
        .endpoint_url(url)
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "AKIDTEST", "secret", None, None, "test",
        ))
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

async fn create_queue(client: &aws_sdk_sqs::Client, name: &str) -> String {
    client
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("CreateQueue")
        .queue_url()
        .expect("a queue URL")
        .to_string()
}

async fn send(client: &aws_sdk_sqs::Client, queue: &str, body: &str) {
    client
        .send_message()
        .queue_url(queue)
        .message_body(body)
        .send()
        .await
        .expect("SendMessage");
}

/// Visible and in-flight messages.
async fn left(client: &aws_sdk_sqs::Client, queue: &str) -> (i64, i64) {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let attributes = client
        .get_queue_attributes()
        .queue_url(queue)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("GetQueueAttributes")
        .attributes
        .unwrap_or_default();
    let n = |a: A| attributes.get(&a).and_then(|v| v.parse().ok()).unwrap_or(-1);
    (
        n(A::ApproximateNumberOfMessages),
        n(A::ApproximateNumberOfMessagesNotVisible),
    )
}

fn rfc3339(ms: i64) -> String {
    aws_smithy_types::DateTime::from_millis(ms)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// A placement event as EventBridge sends it: `seconds` from start to end, ending `ago_ms` ago.
fn placement(
    id: &str,
    queue: &str,
    kind: &str,
    seconds: f64,
    ago_ms: i64,
    placed: Option<(&str, usize)>,
) -> Value {
    let end = now_ms() - ago_ms;
    let start = end - (seconds * 1000.0) as i64;
    let mut detail = json!({
        "type": kind,
        "placementId": format!("placement-{id}"),
        "startTime": rfc3339(start),
        "endTime": rfc3339(end),
    });
    if let Some((region, players)) = placed {
        detail["port"] = json!("7777");
        detail["gameSessionArn"] = json!(format!(
            "arn:aws:gamelift:{region}::gamesession/fleet-1/gsess-{id}"
        ));
        detail["ipAddress"] = json!("10.0.0.1");
        detail["dnsName"] = json!("ec2-10-0-0-1.compute.amazonaws.com");
        detail["gameSessionRegion"] = json!(region);
        detail["placedPlayerSessions"] = json!((0..players)
            .map(|p| json!({"playerId": format!("player-{p}"), "playerSessionId": format!("psess-{id}-{p}")}))
            .collect::<Vec<_>>());
    }
    json!({
        "version": "0",
        "id": id,
        "detail-type": "GameLift Queue Placement Event",
        "source": "aws.gamelift",
        "account": ACCOUNT,
        "time": rfc3339(end),
        "region": "us-west-2",
        "resources": [format!("arn:aws:gamelift:us-west-2:{ACCOUNT}:gamesessionqueue/{queue}")],
        "detail": detail,
    })
}

/// A FlexMatch event whose tickets started `ticket_ages` seconds before it.
fn matchmaking(id: &str, kind: &str, ticket_ages: &[i64], ago_ms: i64) -> Value {
    let time = now_ms() - ago_ms;
    json!({
        "version": "0",
        "id": id,
        "detail-type": "GameLift Matchmaking Event",
        "source": "aws.gamelift",
        "account": ACCOUNT,
        "time": rfc3339(time),
        "region": "us-west-2",
        "resources": [format!("arn:aws:gamelift:us-west-2:{ACCOUNT}:matchmakingconfiguration/ranked")],
        "detail": {
            "type": kind,
            "tickets": ticket_ages.iter().enumerate().map(|(i, age)| json!({
                "ticketId": format!("ticket-{id}-{i}"),
                "startTime": rfc3339(time - age * 1000),
                "players": [{"playerId": format!("p{i}"), "team": "red"}],
            })).collect::<Vec<_>>(),
            "estimatedWaitMillis": "NOT_AVAILABLE",
        },
    })
}

/// SNS's envelope around an event (subscription without raw delivery).
fn sns(event: &Value) -> String {
    json!({
        "Type": "Notification",
        "MessageId": "5a7b0b4e-0000-0000-0000-000000000000",
        "TopicArn": format!("arn:aws:sns:us-west-2:{ACCOUNT}:gamelift-placements"),
        "Message": event.to_string(),
        "Timestamp": rfc3339(now_ms()),
        "SignatureVersion": "1",
    })
    .to_string()
}

/// Expected histogram series from raw observations (cumulative buckets, sum, count).
fn histogram(name: &str, labels: &[(&str, &str)], bounds: &[f64], values: &[f64]) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for bound in bounds.iter().map(|b| b.to_string()).chain(["+Inf".to_string()]) {
        let limit: f64 = if bound == "+Inf" {
            f64::INFINITY
        } else {
            bound.parse().unwrap()
        };
        let mut pairs = labels.to_vec();
        pairs.push(("le", &bound));
        out.insert(
            series(&format!("{name}_bucket"), &pairs),
            values.iter().filter(|v| **v <= limit).count() as f64,
        );
    }
    out.insert(series(&format!("{name}_sum"), labels), values.iter().sum());
    out.insert(series(&format!("{name}_count"), labels), values.len() as f64);
    out
}

const PLACEMENT_BUCKETS: [f64; 11] = [0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0];
const MATCHMAKING_BUCKETS: [f64; 10] = [1.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0];

const EVENT_METRICS: [&str; 6] = [
    "gamelift_placements_total",
    "gamelift_placed_player_sessions_total",
    "gamelift_matchmaking_events_total",
    "gamelift_exporter_events_received_total",
    "gamelift_exporter_events_rejected_total",
    "gamelift_placement_duration_seconds_bucket",
];

fn events_config<'a>(
    queue_url: &'a str,
    state: Option<&'a std::path::Path>,
) -> impl FnOnce(&mut gamelift_exporter::config::Config) + 'a {
    move |c| {
        c.events = Some(EventsConfig {
            sqs_queue_url: queue_url.to_string(),
            region: Some("us-west-2".into()),
            account: None,
            endpoint_url: None,
            wait_time: Duration::from_secs(1),
            dedup_window: Duration::from_secs(3600),
        });
        c.state.path = state.map(|p| p.to_path_buf());
    }
}

/// Reads until the queue is empty (or a minute passes).
async fn drain(h: &Harness, client: &aws_sdk_sqs::Client, queue: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let report = h
            .exporter
            .read_events_once(Duration::from_secs(1))
            .await
            .expect("a read");
        if report.messages == 0 && left(client, queue).await == (0, 0) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the queue never emptied: {:?}",
            left(client, queue).await
        );
    }
}

#[tokio::test]
async fn every_documented_shape_counts_once_and_nothing_is_left_in_the_queue() {
    let Some(moto) = moto() else { return };
    let client = sqs(&moto.url).await;
    let queue = create_queue(&client, "gamelift-events").await;
    let h = Harness::start("seed = 1\n", events_config(&queue, None)).await;

    let e1 = placement(
        "e1",
        "arena",
        "PlacementFulfilled",
        2.5,
        9_000,
        Some(("us-east-1", 2)),
    );
    let e2 = placement(
        "e2",
        "arena",
        "PlacementFulfilled",
        0.4,
        8_000,
        Some(("us-west-2", 1)),
    );
    let e3 = placement("e3", "arena", "PlacementFailed", 12.0, 7_000, None);
    let e4 = placement("e4", "arena", "PlacementTimedOut", 600.0, 6_000, None);
    let e5 = placement("e5", "arena", "PlacementCancelled", 45.0, 5_000, None);
    let e6 = placement(
        "e6",
        "ranked-queue",
        "PlacementFulfilled",
        7.0,
        4_000,
        Some(("eu-west-1", 4)),
    );
    let m1 = matchmaking("m1", "MatchmakingSearching", &[3], 3_500);
    let m2 = matchmaking("m2", "MatchmakingSucceeded", &[30, 90], 3_000);
    let m3 = matchmaking("m3", "MatchmakingTimedOut", &[120], 2_000);
    let bodies = vec![
        e1.to_string(),  // EventBridge -> SQS
        sns(&e2),        // SNS -> SQS
        e3.to_string(),  // SNS raw delivery: the event itself
        sns(&e4),
        e5.to_string(),
        e6.to_string(),
        m1.to_string(),
        sns(&m2),
        m3.to_string(),
        e1.to_string(), // delivered twice
        sns(&e1),       // and once more, by the other path
        "this is not JSON".to_string(),
        placement("x1", "arena", "PlacementFulfilled", 1.0, 0, None).to_string().replace("GameLift Queue Placement Event", "EC2 Instance State-change Notification"),
        placement("x2", "arena", "PlacementStarted", 1.0, 0, None).to_string(),
        json!({"id": "x3", "detail-type": "GameLift Queue Placement Event", "time": rfc3339(now_ms()), "detail": {"type": "PlacementFailed"}}).to_string(),
    ];
    for body in &bodies {
        send(&client, &queue, body).await;
    }
    drain(&h, &client, &queue).await;
    assert_eq!(
        left(&client, &queue).await,
        (0, 0),
        "no message left in the queue"
    );

    let (text, metrics) = h.scrape_settled().await;
    let mut expected = BTreeMap::new();
    let mut put = |name: &str, labels: &[(&str, &str)], value: f64| {
        expected.insert(series(name, labels), value);
    };
    for (queue, outcome, n) in [
        ("arena", "fulfilled", 2.0),
        ("arena", "failed", 1.0),
        ("arena", "timed_out", 1.0),
        ("arena", "cancelled", 1.0),
        ("ranked-queue", "fulfilled", 1.0),
        ("ranked-queue", "failed", 0.0),
        ("ranked-queue", "timed_out", 0.0),
        ("ranked-queue", "cancelled", 0.0),
    ] {
        put(
            "gamelift_placements_total",
            &[("queue", queue), ("outcome", outcome)],
            n,
        );
    }
    for (queue, region, n) in [
        ("arena", "us-east-1", 2.0),
        ("arena", "us-west-2", 1.0),
        ("ranked-queue", "eu-west-1", 4.0),
    ] {
        put(
            "gamelift_placed_player_sessions_total",
            &[("queue", queue), ("region", region)],
            n,
        );
    }
    for (kind, n) in [
        ("MatchmakingSearching", 1.0),
        ("PotentialMatchCreated", 0.0),
        ("AcceptMatch", 0.0),
        ("AcceptMatchCompleted", 0.0),
        ("MatchmakingSucceeded", 1.0),
        ("MatchmakingTimedOut", 1.0),
        ("MatchmakingCancelled", 0.0),
        ("MatchmakingFailed", 0.0),
    ] {
        put(
            "gamelift_matchmaking_events_total",
            &[("configuration", "ranked"), ("type", kind)],
            n,
        );
    }
    put(
        "gamelift_exporter_events_received_total",
        &[("detail_type", "GameLift Queue Placement Event")],
        6.0,
    );
    put(
        "gamelift_exporter_events_received_total",
        &[("detail_type", "GameLift Matchmaking Event")],
        3.0,
    );
    for (reason, n) in [
        ("duplicate", 2.0),
        ("malformed", 2.0),
        ("unknown_detail_type", 1.0),
        ("unknown_type", 1.0),
    ] {
        put(
            "gamelift_exporter_events_rejected_total",
            &[("reason", reason)],
            n,
        );
    }
    let placement_hist = "gamelift_placement_duration_seconds";
    for (queue, outcome, values) in [
        ("arena", "fulfilled", vec![2.5, 0.4]),
        ("arena", "failed", vec![12.0]),
        ("arena", "timed_out", vec![600.0]),
        ("arena", "cancelled", vec![45.0]),
        ("ranked-queue", "fulfilled", vec![7.0]),
        ("ranked-queue", "failed", vec![]),
        ("ranked-queue", "timed_out", vec![]),
        ("ranked-queue", "cancelled", vec![]),
    ] {
        expected.extend(histogram(
            placement_hist,
            &[("queue", queue), ("outcome", outcome)],
            &PLACEMENT_BUCKETS,
            &values,
        ));
    }
    let matchmaking_hist = "gamelift_matchmaking_duration_seconds";
    for (outcome, values) in [
        ("succeeded", vec![30.0, 90.0]),
        ("timed_out", vec![120.0]),
        ("cancelled", vec![]),
        ("failed", vec![]),
    ] {
        expected.extend(histogram(
            matchmaking_hist,
            &[("configuration", "ranked"), ("outcome", outcome)],
            &MATCHMAKING_BUCKETS,
            &values,
        ));
    }
    let names: Vec<String> = EVENT_METRICS
        .iter()
        .map(|n| n.to_string())
        .chain(
            ["_bucket", "_sum", "_count"]
                .iter()
                .flat_map(|s| [format!("{placement_hist}{s}"), format!("{matchmaking_hist}{s}")]),
        )
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    // Sums are floating point: compare them rounded to the millisecond.
    let round = |m: BTreeMap<String, f64>| -> BTreeMap<String, f64> {
        m.into_iter()
            .map(|(k, v)| (k, (v * 1000.0).round() / 1000.0))
            .collect()
    };
    assert_metrics_eq(
        &round(only(&metrics, &names)),
        &round(expected),
        "event counters and histograms",
    );
    // The newest event is m3; its age is taken on the exporter's clock (the simulator's here,
    // plus the real time since the harness started) when it was read.
    let m3_ms = aws_smithy_types::DateTime::from_str(
        m3["time"].as_str().unwrap(),
        aws_smithy_types::date_time::Format::DateTime,
    )
    .unwrap()
    .to_millis()
    .unwrap();
    let age = metrics["gamelift_exporter_event_age_seconds"];
    let at_start = (h.sim.now_ms() - m3_ms) as f64 / 1000.0;
    assert!(
        age >= at_start && age < at_start + 30.0,
        "event age {age}, {at_start} at the harness's start"
    );
    assert!(text.contains("# TYPE gamelift_placement_duration_seconds histogram"));
    // The exporter's own SQS calls are counted like its GameLift calls.
    assert!(
        support::total(
            &metrics,
            "gamelift_exporter_api_requests_total",
            &[("operation", "DeleteMessageBatch")]
        ) >= 1.0
    );
}

#[tokio::test]
async fn a_redelivery_after_a_restart_is_not_counted_twice() {
    let Some(moto) = moto() else { return };
    let client = sqs(&moto.url).await;
    let queue = create_queue(&client, "gamelift-events").await;
    let state = temp_path("events-state.json");
    let sent: Vec<Value> = (0..12)
        .map(|i| {
            placement(
                &format!("r{i}"),
                "arena",
                if i % 4 == 0 {
                    "PlacementFailed"
                } else {
                    "PlacementFulfilled"
                },
                1.5,
                1_000,
                (i % 4 != 0).then_some(("us-west-2", 1)),
            )
        })
        .collect();
    let placements = |metrics: &BTreeMap<String, f64>, outcome: &str| {
        metrics
            .get(&series(
                "gamelift_placements_total",
                &[("queue", "arena"), ("outcome", outcome)],
            ))
            .copied()
            .unwrap_or(-1.0)
    };
    {
        let h = Harness::start("seed = 1\n", events_config(&queue, Some(&state))).await;
        for event in &sent {
            send(&client, &queue, &event.to_string()).await;
        }
        drain(&h, &client, &queue).await;
        let (_, metrics) = h.scrape_settled().await;
        assert_eq!(
            (placements(&metrics, "fulfilled"), placements(&metrics, "failed")),
            (9.0, 3.0)
        );
        // The ids are on disk before the messages are deleted.
        let saved: Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
        assert_eq!(saved["events_seen"].as_array().unwrap().len(), 12);
    }
    // The exporter was stopped after counting; SQS delivers the same events again (as it does
    // for messages whose delete never happened), and a new exporter starts on the same state.
    for event in &sent {
        send(&client, &queue, &event.to_string()).await;
    }
    let h = Harness::start("seed = 1\n", events_config(&queue, Some(&state))).await;
    drain(&h, &client, &queue).await;
    let (_, metrics) = h.scrape_settled().await;
    assert_eq!(
        (placements(&metrics, "fulfilled"), placements(&metrics, "failed")),
        (0.0, 0.0),
        "nothing counted twice"
    );
    assert_eq!(
        metrics[&series(
            "gamelift_exporter_events_rejected_total",
            &[("reason", "duplicate")]
        )],
        12.0
    );
    assert_eq!(
        left(&client, &queue).await,
        (0, 0),
        "the redelivered messages were deleted"
    );
}

#[tokio::test]
async fn every_queue_series_exists_at_zero_from_discovery() {
    // A queue whose one destination fleet runs in two locations, and no placement yet.
    let world = r#"
seed = 7
events_queue = "gamelift-events"
[[fleet]]
id = "fleet-9e000000-0000-4000-8000-000000000001"
name = "arena"
type = "SPOT"
home_region = "us-west-2"
locations = ["us-east-1"]
[fleet.sessions]
active = 3
[[queue]]
name = "arena-queue"
destinations = ["fleet-9e000000-0000-4000-8000-000000000001"]
placements_per_tick = 0.0
"#;
    let h = Harness::start(world, |c| {
        c.aws.regions = vec!["us-west-2".into()];
    })
    .await;
    let url = h.sim.queue_url("gamelift-events").unwrap();
    h.write_config(events_config(&url, None));
    h.exporter.reload_from_file().await.unwrap();
    h.exporter.sweep_once().await;
    let (_, metrics) = h.scrape().await;
    let placed: BTreeMap<String, f64> = only(&metrics, &["gamelift_placed_player_sessions_total"]);
    let expected: BTreeMap<String, f64> = ["us-east-1", "us-west-2"]
        .iter()
        .map(|region| {
            (
                series(
                    "gamelift_placed_player_sessions_total",
                    &[("queue", "arena-queue"), ("region", region)],
                ),
                0.0,
            )
        })
        .collect();
    assert_metrics_eq(&placed, &expected, "placed player sessions, from discovery");
    for outcome in ["fulfilled", "failed", "timed_out", "cancelled"] {
        assert_eq!(
            metrics.get(&series(
                "gamelift_placements_total",
                &[("outcome", outcome), ("queue", "arena-queue")]
            )),
            Some(&0.0),
            "{outcome}"
        );
    }
}
