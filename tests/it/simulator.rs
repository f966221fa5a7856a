//! The simulator driven by the real `aws-sdk-gamelift` client over HTTP on loopback.

use crate::support;

use crate::support::{scenario, sdk_client};
use aws_sdk_gamelift::error::ProvideErrorMetadata;
use gamelift_exporter::simulator::wire::{Doc, Protocol};
use gamelift_exporter::simulator::{Clock, Faults, Simulator};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::time::Duration;

const SCENARIO: &str = r#"
seed = 7
start_time = 1793491200
[faults]
rate_limits = {}

[[fleet]]
id = "fleet-aaaa"
name = "arena-spot"
type = "SPOT"
home_region = "us-west-2"
locations = ["us-east-1", "eu-west-1"]
alias_id = "alias-arena"
max_players = 8
[fleet.sessions]
active = 20
activating = 3
terminating = 2
error = 1
terminated = 10
interrupted = 4

[[fleet]]
id = "fleet-bbbb"
name = "lobby"
type = "ON_DEMAND"
home_region = "us-west-2"
[fleet.sessions]
active = 3

[[fleet]]
id = "fleet-cccc"
name = "eu-only"
type = "ON_DEMAND"
compute_type = "ANYWHERE"
home_region = "eu-west-1"
[fleet.sessions]
active = 2
"#;

async fn all_sessions(
    client: &aws_sdk_gamelift::Client,
    fleet: &str,
    status: Option<&str>,
    location: Option<&str>,
    limit: i32,
) -> (Vec<aws_sdk_gamelift::types::GameSession>, usize) {
    let mut out = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = client
            .describe_game_sessions()
            .fleet_id(fleet)
            .set_status_filter(status.map(str::to_string))
            .set_location(location.map(str::to_string))
            .limit(limit)
            .set_next_token(token)
            .send()
            .await
            .expect("page");
        pages += 1;
        out.extend(page.game_sessions().iter().cloned());
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return (out, pages);
        }
    }
}

#[tokio::test]
async fn pagination_returns_every_session_exactly_once() {
    let sim = Simulator::start(&scenario(SCENARIO), Clock::Manual)
        .await
        .unwrap();
    let client = sdk_client(&sim.url, "us-west-2", 1);
    let (sessions, pages) = all_sessions(&client, "fleet-aaaa", None, None, 7).await;
    let truth: Vec<_> = sim
        .sessions()
        .into_iter()
        .filter(|s| s.fleet_id == "fleet-aaaa")
        .collect();
    assert_eq!(truth.len(), 3 * 40);
    assert_eq!(pages, 120_usize.div_ceil(7), "pages of 7 over 120 sessions");
    let ids: Vec<&str> = sessions.iter().map(|s| s.game_session_id().unwrap()).collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "no session twice");
    let expected: BTreeSet<&str> = truth.iter().map(|s| s.game_session_id.as_str()).collect();
    assert_eq!(unique, expected);

    // Every member is filled and matches the raw session.
    let by_id: BTreeMap<&str, _> = truth.iter().map(|s| (s.game_session_id.as_str(), s)).collect();
    for session in &sessions {
        let raw = by_id[session.game_session_id().unwrap()];
        assert!(session
            .game_session_id()
            .unwrap()
            .starts_with("arn:aws:gamelift:"));
        assert_eq!(session.fleet_id(), Some("fleet-aaaa"));
        assert!(session.fleet_arn().unwrap().ends_with("fleet/fleet-aaaa"));
        assert_eq!(session.location(), Some(raw.location.as_str()));
        assert_eq!(session.status().unwrap().as_str(), raw.status);
        assert_eq!(session.status_reason().map(|r| r.as_str()), raw.status_reason);
        assert_eq!(
            session.current_player_session_count(),
            Some(raw.current_players as i32)
        );
        assert_eq!(session.maximum_player_session_count(), Some(8));
        assert_eq!(
            session.creation_time().unwrap().to_millis().unwrap(),
            raw.creation_time_ms
        );
        assert_eq!(
            session.termination_time().map(|t| t.to_millis().unwrap()),
            raw.termination_time_ms
        );
        assert!(session.name().is_some() && session.creator_id().is_some() && session.port().is_some());
        assert_eq!(session.compute_name(), Some(raw.compute_name.as_str()));
        assert!(!session.game_properties().is_empty());
        if raw.status == "ACTIVE" {
            assert!(session.ip_address().is_some() && session.dns_name().is_some());
        }
    }
}

#[tokio::test]
async fn filters_locations_and_aliases() {
    let sim = Simulator::start(&scenario(SCENARIO), Clock::Manual)
        .await
        .unwrap();
    let client = sdk_client(&sim.url, "us-west-2", 1);
    for (status, per_location) in [
        ("ACTIVE", 20),
        ("ACTIVATING", 3),
        ("TERMINATING", 2),
        ("TERMINATED", 14),
    ] {
        let (sessions, _) = all_sessions(&client, "fleet-aaaa", Some(status), None, 5).await;
        assert_eq!(sessions.len(), 3 * per_location, "{status}");
        assert!(sessions.iter().all(|s| s.status().unwrap().as_str() == status));
        let (sessions, _) = all_sessions(&client, "fleet-aaaa", Some(status), Some("eu-west-1"), 5).await;
        assert_eq!(sessions.len(), per_location, "{status} in eu-west-1");
        assert!(sessions.iter().all(|s| s.location() == Some("eu-west-1")));
    }
    let (sessions, _) = all_sessions(&client, "fleet-aaaa", None, Some("us-west-2"), 100).await;
    assert_eq!(sessions.len(), 40);

    let by_alias = client
        .describe_game_sessions()
        .alias_id("alias-arena")
        .limit(1)
        .send()
        .await
        .unwrap();
    assert_eq!(by_alias.game_sessions()[0].fleet_id(), Some("fleet-aaaa"));
    let one = sessions[3].game_session_id().unwrap();
    let single = client
        .describe_game_sessions()
        .game_session_id(one)
        .send()
        .await
        .unwrap();
    assert_eq!(single.game_sessions().len(), 1);
    assert_eq!(single.game_sessions()[0].game_session_id(), Some(one));

    // Fleets are listed per home Region (the Region the request is signed for).
    let fleets = client.list_fleets().send().await.unwrap();
    assert_eq!(fleets.fleet_ids(), ["fleet-aaaa", "fleet-bbbb"]);
    let eu = sdk_client(&sim.url, "eu-west-1", 1);
    assert_eq!(eu.list_fleets().send().await.unwrap().fleet_ids(), ["fleet-cccc"]);
    let paged = client.list_fleets().limit(1).send().await.unwrap();
    assert_eq!(paged.fleet_ids(), ["fleet-aaaa"]);
    let rest = client
        .list_fleets()
        .limit(1)
        .next_token(paged.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.fleet_ids(), ["fleet-bbbb"]);
    assert_eq!(rest.next_token(), None);

    let attributes = client
        .describe_fleet_attributes()
        .fleet_ids("fleet-aaaa")
        .fleet_ids("fleet-missing")
        .send()
        .await
        .unwrap();
    let only = &attributes.fleet_attributes()[0];
    assert_eq!(attributes.fleet_attributes().len(), 1);
    assert_eq!(only.name(), Some("arena-spot"));
    assert_eq!(only.fleet_type().unwrap().as_str(), "SPOT");
    assert_eq!(only.compute_type().unwrap().as_str(), "EC2");
    let eu_attributes = eu.describe_fleet_attributes().send().await.unwrap();
    assert_eq!(
        eu_attributes.fleet_attributes()[0]
            .compute_type()
            .unwrap()
            .as_str(),
        "ANYWHERE"
    );

    let locations = client
        .describe_fleet_location_attributes()
        .fleet_id("fleet-aaaa")
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = locations
        .location_attributes()
        .iter()
        .map(|l| l.location_state().unwrap().location().unwrap())
        .collect();
    assert_eq!(names, ["us-west-2", "us-east-1", "eu-west-1"]);
}

#[tokio::test]
async fn errors_come_back_as_typed_sdk_errors() {
    let sim = Simulator::start(&scenario(SCENARIO), Clock::Manual)
        .await
        .unwrap();
    let client = sdk_client(&sim.url, "us-west-2", 1);

    let err = client
        .describe_game_sessions()
        .fleet_id("fleet-nope")
        .send()
        .await
        .unwrap_err();
    let service = err.as_service_error().expect("service error");
    assert!(service.is_not_found_exception(), "{service:?}");
    assert_eq!(service.message(), Some("Fleet fleet-nope not found."));

    let err = client
        .describe_game_sessions()
        .fleet_id("fleet-aaaa")
        .status_filter("ERROR")
        .send()
        .await
        .unwrap_err();
    assert!(err.as_service_error().unwrap().is_invalid_request_exception());
    assert_eq!(
        err.as_service_error().unwrap().message(),
        Some("Invalid StatusFilter 'ERROR': expected one of ACTIVE, ACTIVATING, TERMINATING, TERMINATED.")
    );

    let err = client
        .describe_game_sessions()
        .fleet_id("fleet-aaaa")
        .location("us_west_2")
        .send()
        .await
        .unwrap_err();
    assert!(err.as_service_error().unwrap().is_invalid_request_exception());
    let err = client
        .describe_game_sessions()
        .fleet_id("fleet-aaaa")
        .location("ap-south-1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.as_service_error().unwrap().message(),
        Some("Location ap-south-1 is not a location of fleet fleet-aaaa.")
    );
    let err = client
        .describe_game_sessions()
        .fleet_id("fleet-aaaa")
        .limit(0)
        .send()
        .await
        .unwrap_err();
    assert!(err.as_service_error().unwrap().is_invalid_request_exception());
    let err = client.describe_game_sessions().send().await.unwrap_err();
    assert!(err.as_service_error().unwrap().is_invalid_request_exception());

    // Forged, altered, reused and stale page tokens.
    let first = client
        .describe_game_sessions()
        .fleet_id("fleet-aaaa")
        .limit(5)
        .send()
        .await
        .unwrap();
    let token = first.next_token().unwrap().to_string();
    for bad in [
        "forged".to_string(),
        token.replacen('.', "0.", 1),
        format!("{token}x"),
    ] {
        let err = client
            .describe_game_sessions()
            .fleet_id("fleet-aaaa")
            .next_token(bad)
            .send()
            .await
            .unwrap_err();
        assert!(err.as_service_error().unwrap().is_invalid_request_exception());
    }
    let reused = client
        .describe_game_sessions()
        .fleet_id("fleet-aaaa")
        .status_filter("ACTIVE")
        .next_token(&token)
        .send()
        .await
        .unwrap_err();
    assert!(reused.as_service_error().unwrap().is_invalid_request_exception());
    sim.advance(Duration::from_secs(20 * 60));
    let stale = client
        .describe_game_sessions()
        .fleet_id("fleet-aaaa")
        .next_token(&token)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        stale.as_service_error().unwrap().message(),
        Some("Invalid NextToken: the token has expired.")
    );

    // Throttling: a budget of 2 requests/s, retries off.
    let mut faults = Faults::none();
    faults.rate_limits.insert("DescribeGameSessions".into(), 2.0);
    sim.set_faults(faults);
    let mut throttled = 0;
    for _ in 0..5 {
        if let Err(err) = client
            .describe_game_sessions()
            .fleet_id("fleet-bbbb")
            .send()
            .await
        {
            assert_eq!(err.code(), Some("ThrottlingException"));
            assert_eq!(err.message(), Some("Rate exceeded"));
            throttled += 1;
        }
    }
    assert_eq!(throttled, 3, "a bucket of 2 lets 2 of 5 immediate calls through");

    // Server errors, dropped connections and malformed bodies.
    sim.set_faults(Faults {
        server_error_ratio: 1.0,
        ..Faults::none()
    });
    let err = client
        .describe_game_sessions()
        .fleet_id("fleet-bbbb")
        .send()
        .await
        .unwrap_err();
    assert!(err.as_service_error().unwrap().is_internal_service_exception());
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 500);
    sim.set_faults(Faults {
        failing_fleets: vec!["fleet-aaaa".into()],
        ..Faults::none()
    });
    assert!(client
        .describe_game_sessions()
        .fleet_id("fleet-aaaa")
        .send()
        .await
        .is_err());
    assert!(client
        .describe_game_sessions()
        .fleet_id("fleet-bbbb")
        .send()
        .await
        .is_ok());
    let lobby_with = |faults: Faults| {
        sim.set_faults(faults);
        client.describe_game_sessions().fleet_id("fleet-bbbb").send()
    };
    let err = lobby_with(Faults {
        drop_connection_ratio: 1.0,
        ..Faults::none()
    })
    .await
    .unwrap_err();
    assert!(
        matches!(err, aws_sdk_gamelift::error::SdkError::DispatchFailure(_)),
        "{err:?}"
    );
    let err = lobby_with(Faults {
        malformed_body_ratio: 1.0,
        ..Faults::none()
    })
    .await
    .unwrap_err();
    assert!(
        err.as_service_error().is_some_and(|e| e.code().is_none())
            || matches!(err, aws_sdk_gamelift::error::SdkError::ResponseError(_)),
        "{err:?}"
    );

    // The request log saw all of it.
    let outcomes: Vec<String> = sim.requests().iter().map(|r| r.outcome.clone()).collect();
    for outcome in [
        "NotFoundException",
        "InvalidRequestException",
        "ThrottlingException",
        "InternalServiceException",
        "dropped",
        "malformed",
        "ok",
    ] {
        assert!(
            outcomes.iter().any(|o| o == outcome),
            "{outcome} missing from the request log"
        );
    }
    assert!(sim.requests().iter().all(|r| r.protocol == "rpc-v2-cbor"));
}

/// A raw RPC v2 CBOR request, for what the SDK never sends.
fn raw_cbor(url: &str, operation: &str, authorization: Option<&str>) -> (u16, Doc) {
    let address = url.trim_start_matches("http://");
    let body = Protocol::RpcV2Cbor.encode(&gamelift_exporter::simulator::wire::map([(
        "FleetId",
        Doc::Str("fleet-aaaa".into()),
    )]));
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let auth = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "POST /service/GameLift/operation/{operation} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/cbor\r\nsmithy-protocol: rpc-v2-cbor\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(&body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    assert!(
        head.to_lowercase().contains("smithy-protocol: rpc-v2-cbor"),
        "{head}"
    );
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, Protocol::RpcV2Cbor.decode(&raw[split + 4..]).unwrap())
}

#[tokio::test]
async fn unsigned_and_unknown_requests_are_refused_clearly() {
    let sim = Simulator::start(&scenario(SCENARIO), Clock::Manual)
        .await
        .unwrap();
    let url = sim.url.clone();
    let (status, doc) = tokio::task::spawn_blocking(move || raw_cbor(&url, "DescribeGameSessions", None))
        .await
        .unwrap();
    assert_eq!(status, 400);
    let Doc::Map(m) = doc else {
        panic!("error body is a map")
    };
    assert_eq!(m["__type"], Doc::Str("UnauthorizedException".into()));

    let url = sim.url.clone();
    let auth = "AWS4-HMAC-SHA256 Credential=AKID/20261125/us-west-2/gamelift/aws4_request, SignedHeaders=host, Signature=00";
    let (status, doc) = tokio::task::spawn_blocking(move || raw_cbor(&url, "DescribeBogus", Some(auth)))
        .await
        .unwrap();
    assert_eq!(status, 404);
    let Doc::Map(m) = doc else {
        panic!("error body is a map")
    };
    assert_eq!(m["__type"], Doc::Str("UnknownOperationException".into()));
    assert_eq!(
        m["message"],
        Doc::Str("operation \"DescribeBogus\" is not supported by the GameLift simulator".into())
    );
}

#[tokio::test]
async fn clock_drives_deterministic_evolution_and_interruptions() {
    let text = SCENARIO.replace(
        "interrupted = 4\n",
        "interrupted = 4\n[fleet.churn]\nnew_sessions_per_tick = 0.5\nend_probability = 0.05\nplayer_change = 2\ninterruption_probability = 0.05\n",
    );
    let a = Simulator::new(&scenario(&text), Clock::Manual);
    let b = Simulator::new(&scenario(&text), Clock::Manual);
    let before = a.count("TERMINATED");
    a.advance(Duration::from_secs(3600));
    b.advance(Duration::from_secs(1800));
    b.advance(Duration::from_secs(1800));
    assert_eq!(a.sessions(), b.sessions(), "same seed and time, same world");
    assert!(a.count("TERMINATED") > before, "sessions ended during the hour");
    let interrupted_late = a
        .sessions()
        .iter()
        .filter(|s| s.status_reason == Some("INTERRUPTED") && s.termination_time_ms > Some(1_793_491_200_000))
        .count();
    assert!(
        interrupted_late > 0,
        "spot interruptions happened during the hour"
    );

    // An explicit interruption, for tests that need one between two sweeps.
    let ended = a.interrupt_instances("fleet-aaaa", "us-east-1", 1).unwrap();
    assert!(!ended.is_empty());
    let now = a.now_ms();
    let records = a.sessions();
    for id in &ended {
        let s = records.iter().find(|s| &s.game_session_id == id).unwrap();
        assert_eq!(
            (s.status, s.status_reason, s.termination_time_ms),
            ("TERMINATED", Some("INTERRUPTED"), Some(now))
        );
    }
    assert!(a.interrupt_instances("fleet-bbbb", "eu-west-1", 1).is_err());

    // Retention: after 31 days, the initial history is gone.
    let c = Simulator::new(&scenario(SCENARIO), Clock::Manual);
    c.advance(Duration::from_secs(31 * 86_400));
    assert_eq!(c.count("TERMINATED"), 0);
    // ACTIVATING sessions have activated; the other fleets have 3 and 2 ACTIVE sessions.
    assert_eq!(c.count("ACTIVE"), 3 * 20 + 3 * 3 + 3 + 2);
}

#[tokio::test]
async fn serves_100k_sessions_in_one_fleet() {
    let text = r#"
start_time = 1793491200
max_page_size = 1000
[faults]
rate_limits = {}
[[fleet]]
id = "fleet-big"
name = "big"
type = "ON_DEMAND"
home_region = "us-west-2"
[fleet.sessions]
active = 10000
terminated = 90000
"#;
    let started = std::time::Instant::now();
    let sim = Simulator::start(&scenario(text), Clock::Manual).await.unwrap();
    let client = sdk_client(&sim.url, "us-west-2", 1);
    let (sessions, pages) = all_sessions(&client, "fleet-big", None, None, 1000).await;
    assert_eq!(sessions.len(), 100_000);
    assert_eq!(pages, 100);
    let unique: BTreeSet<&str> = sessions.iter().map(|s| s.game_session_id().unwrap()).collect();
    assert_eq!(unique.len(), 100_000);
    eprintln!("100,000 sessions built and paged in {:.2?}", started.elapsed());

    // By id, found from the number in the ARN rather than by a scan: the newest session too.
    let started = std::time::Instant::now();
    for session in sessions.iter().rev().take(200) {
        let id = session.game_session_id().unwrap();
        let found = client
            .describe_game_session_details()
            .game_session_id(id)
            .send()
            .await
            .unwrap();
        let detail = &found.game_session_details()[0];
        assert_eq!(detail.game_session().unwrap(), session);
    }
    eprintln!("200 lookups by id in {:.2?}", started.elapsed());
}

// ---------------------------------------------------------------------------------------------
// Instances, spot reclaims, fleet events, DescribeFleetEvents and DescribeGameSessionDetails.

use aws_sdk_gamelift::primitives::DateTime;
use gamelift_exporter::simulator::{EventRecord, SessionRecord};

/// A SPOT fleet with 3 game-server slots per instance: per location, 7 ACTIVE, 1 ACTIVATING and
/// 1 TERMINATING session fill exactly 3 instances.
const INSTANCES: &str = r#"
seed = 3
start_time = 1793491200
[faults]
rate_limits = {}

[[fleet]]
id = "fleet-spot"
name = "spot"
type = "SPOT"
home_region = "us-west-2"
locations = ["us-east-1"]
sessions_per_instance = 3
[fleet.sessions]
active = 7
activating = 1
terminating = 1
terminated = 5
interrupted = 2

[[fleet]]
id = "fleet-ondemand"
name = "ondemand"
type = "ON_DEMAND"
home_region = "us-west-2"
[fleet.sessions]
active = 2
"#;

fn is_live(session: &SessionRecord) -> bool {
    matches!(session.status, "ACTIVE" | "ACTIVATING" | "TERMINATING")
}

/// ARNs of the live sessions on an instance.
fn live_on(sim: &Simulator, instance: &str) -> BTreeSet<String> {
    sim.sessions()
        .into_iter()
        .filter(|s| s.compute_name == instance && is_live(s))
        .map(|s| s.game_session_id)
        .collect()
}

fn looks_like_ec2_instance_id(id: &str) -> bool {
    id.len() == 19
        && id.starts_with("i-")
        && id[2..]
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

#[tokio::test]
async fn sessions_fill_instances_in_order_and_history_was_hosted_by_gone_ones() {
    let sim = Simulator::new(&scenario(INSTANCES), Clock::Manual);
    let records = sim.sessions();
    assert!(records
        .iter()
        .all(|s| looks_like_ec2_instance_id(&s.compute_name)));
    let mut live_instances = BTreeSet::new();
    for location in ["us-west-2", "us-east-1"] {
        // Creation order: each run of 3 live sessions shares the lowest instance with a free slot.
        let live: Vec<&SessionRecord> = records
            .iter()
            .filter(|s| s.fleet_id == "fleet-spot" && s.location == location && is_live(s))
            .collect();
        assert_eq!(live.len(), 9);
        for chunk in live.chunks(3) {
            assert!(chunk.iter().all(|s| s.compute_name == chunk[0].compute_name));
            assert!(
                live_instances.insert(chunk[0].compute_name.clone()),
                "an instance hosts sessions of one location only"
            );
        }
    }
    assert_eq!(live_instances.len(), 6);
    let ondemand: BTreeSet<&str> = records
        .iter()
        .filter(|s| s.fleet_id == "fleet-ondemand")
        .map(|s| s.compute_name.as_str())
        .collect();
    assert_eq!(ondemand.len(), 1, "2 sessions fit on one instance of 4 slots");
    assert!(!live_instances.contains(*ondemand.iter().next().unwrap()));

    // History: hosts that no longer exist, never one that runs, at most 3 sessions each.
    let mut hosted: BTreeMap<&str, usize> = BTreeMap::new();
    for s in records.iter().filter(|s| !is_live(s)) {
        assert!(!live_instances.contains(&s.compute_name), "{}", s.compute_name);
        *hosted.entry(s.compute_name.as_str()).or_default() += 1;
    }
    assert!(hosted.values().all(|&n| (1..=3).contains(&n)), "{hosted:?}");
    assert_eq!(hosted.values().sum::<usize>(), 2 * (5 + 2));
    // Per location, 7 ended sessions need 3 gone instances.
    assert_eq!(hosted.len(), 2 * 3);
}

#[tokio::test]
async fn an_instance_interruption_ends_exactly_its_live_sessions() {
    let sim = Simulator::start(&scenario(INSTANCES), Clock::Manual)
        .await
        .unwrap();
    let client = sdk_client(&sim.url, "us-west-2", 1);
    let before: Vec<SessionRecord> = sim
        .sessions()
        .into_iter()
        .filter(|s| s.fleet_id == "fleet-spot")
        .collect();
    let first = before
        .iter()
        .find(|s| s.location == "us-east-1" && s.status == "ACTIVE")
        .unwrap()
        .compute_name
        .clone();
    let expected = live_on(&sim, &first);
    assert_eq!(expected.len(), 3);

    let ended = sim.interrupt_instances("fleet-spot", "us-east-1", 1).unwrap();
    let now = sim.now_ms();
    assert_eq!(ended.iter().cloned().collect::<BTreeSet<_>>(), expected);
    assert_eq!(ended.len(), 3, "no session twice");

    // Through the SDK: the instance's sessions ended INTERRUPTED now, nothing else changed.
    let (listed, _) = all_sessions(&client, "fleet-spot", None, None, 100).await;
    assert_eq!(listed.len(), before.len());
    for session in &listed {
        let id = session.game_session_id().unwrap();
        let was = before.iter().find(|s| s.game_session_id == id).unwrap();
        assert_eq!(session.compute_name(), Some(was.compute_name.as_str()));
        if expected.contains(id) {
            assert_eq!(session.status().unwrap().as_str(), "TERMINATED");
            assert_eq!(session.status_reason().unwrap().as_str(), "INTERRUPTED");
            assert_eq!(session.termination_time().unwrap().to_millis().unwrap(), now);
            assert_eq!(session.current_player_session_count(), Some(0));
        } else {
            assert_eq!(session.status().unwrap().as_str(), was.status, "{id}");
            assert_eq!(
                session.termination_time().map(|t| t.to_millis().unwrap()),
                was.termination_time_ms
            );
        }
    }
    let events = client
        .describe_fleet_events()
        .fleet_id("fleet-spot")
        .send()
        .await
        .unwrap();
    assert_eq!(events.events().len(), 1);
    let event = &events.events()[0];
    assert_eq!(event.event_code().unwrap().as_str(), "INSTANCE_INTERRUPTED");
    assert_eq!(event.resource_id(), Some(first.as_str()));
    assert_eq!(event.event_time().unwrap().to_millis().unwrap(), now);
    assert_eq!(event.count(), None);
    assert!(event.message().unwrap().contains(&first), "{:?}", event.message());
    assert_eq!(
        event.event_id(),
        Some(sim.events("fleet-spot")[0].event_id.as_str())
    );

    // With a two-minute notice: the event at once, the sessions at the first tick at or after
    // the notice (115 s from now, ticks every 10 s: 120 s), taking no other end meanwhile.
    let notified = sim.now_ms();
    let last = before
        .iter()
        .find(|s| s.location == "us-west-2" && s.status == "TERMINATING")
        .unwrap()
        .compute_name
        .clone();
    let expected = live_on(&sim, &last);
    assert_eq!(expected.len(), 3, "the instance of the TERMINATING session");
    let will_end = sim
        .interrupt_instance("fleet-spot", &last, Duration::from_secs(115))
        .unwrap();
    assert_eq!(will_end.iter().cloned().collect::<BTreeSet<_>>(), expected);
    let newest = client
        .describe_fleet_events()
        .fleet_id("fleet-spot")
        .limit(1)
        .send()
        .await
        .unwrap();
    assert_eq!(newest.events()[0].resource_id(), Some(last.as_str()));
    assert_eq!(
        newest.events()[0].event_time().unwrap().to_millis().unwrap(),
        notified
    );
    assert_eq!(
        sim.interrupt_instance("fleet-spot", &last, Duration::ZERO),
        Err(format!(
            "instance {last} of fleet fleet-spot is already being reclaimed"
        ))
    );
    sim.advance(Duration::from_secs(110));
    assert_eq!(live_on(&sim, &last), expected, "still running during the notice");
    assert!(sim
        .sessions()
        .iter()
        .any(|s| expected.contains(&s.game_session_id) && s.status == "TERMINATING"));
    sim.advance(Duration::from_secs(10));
    for id in &expected {
        let s = sim
            .sessions()
            .into_iter()
            .find(|s| &s.game_session_id == id)
            .unwrap();
        assert_eq!(
            (s.status, s.status_reason, s.termination_time_ms),
            ("TERMINATED", Some("INTERRUPTED"), Some(notified + 120_000)),
            "{id}"
        );
    }
    let interrupted: Vec<String> = sim
        .events("fleet-spot")
        .into_iter()
        .filter(|e| e.event_code == "INSTANCE_INTERRUPTED")
        .map(|e| e.resource_id)
        .collect();
    assert_eq!(interrupted, [first.clone(), last.clone()]);

    // Gone instances, ON_DEMAND fleets, unknown names.
    assert_eq!(
        sim.interrupt_instance("fleet-spot", &last, Duration::ZERO),
        Err(format!("instance {last} of fleet fleet-spot no longer exists"))
    );
    assert_eq!(
        sim.interrupt_instance("fleet-spot", "i-00000000000000000", Duration::ZERO),
        Err("fleet fleet-spot has no instance i-00000000000000000".to_string())
    );
    assert_eq!(
        sim.interrupt_instances("fleet-ondemand", "us-west-2", 1),
        Err("fleet fleet-ondemand is ON_DEMAND: only SPOT instances are interrupted".to_string())
    );
    assert_eq!(
        sim.interrupt_instances("fleet-spot", "eu-west-1", 1),
        Err("fleet fleet-spot has no location eu-west-1".to_string())
    );
    assert_eq!(
        sim.interrupt_instances("fleet-nope", "us-west-2", 1),
        Err("no fleet fleet-nope".to_string())
    );
}

/// Interruptions every tick on 2-slot instances, with a 25 s notice (ticks every 10 s).
const RECLAIMS: &str = r#"
seed = 21
start_time = 1793491200
[[fleet]]
id = "fleet-spot"
name = "spot"
type = "SPOT"
home_region = "us-west-2"
locations = ["us-east-1"]
sessions_per_instance = 2
[fleet.sessions]
active = 9
[fleet.churn]
interruption_probability = 1.0
interruption_fraction = 0.5
interruption_notice = "25s"
"#;

#[tokio::test]
async fn spot_churn_reclaims_whole_instances_after_the_notice_deterministically() {
    let sim = Simulator::new(&scenario(RECLAIMS), Clock::Manual);
    let start = sim.now_ms();
    let instances_at = |location: &str| -> BTreeSet<String> {
        sim.sessions()
            .into_iter()
            .filter(|s| s.location == location)
            .map(|s| s.compute_name)
            .collect()
    };
    let hosts = [instances_at("us-west-2"), instances_at("us-east-1")];
    assert_eq!(hosts[0].len(), 5, "9 sessions on 2-slot instances");

    // First tick: round(0.5 x 5) = 3 of the 5 instances at each location get notice.
    sim.advance(Duration::from_secs(10));
    let events = sim.events("fleet-spot");
    assert_eq!(events.len(), 6);
    for (location, hosts) in ["us-west-2", "us-east-1"].iter().zip(&hosts) {
        let reclaimed: BTreeSet<&str> = events
            .iter()
            .filter(|e| hosts.contains(&e.resource_id))
            .map(|e| e.resource_id.as_str())
            .collect();
        assert_eq!(reclaimed.len(), 3, "{location}: 3 distinct instances");
    }
    assert!(events
        .iter()
        .all(|e| e.event_code == "INSTANCE_INTERRUPTED" && e.event_time_ms == start + 10_000));

    // Each reclaimed instance's sessions end at the first tick at or after event + 25 s, all
    // of them, INTERRUPTED; sessions of instances not reclaimed stay ACTIVE.
    for _ in 0..6 {
        sim.advance(Duration::from_secs(10));
        let now = sim.now_ms();
        let events = sim.events("fleet-spot");
        for session in sim.sessions() {
            let reclaim = events.iter().find(|e| e.resource_id == session.compute_name);
            match reclaim {
                Some(event) if event.event_time_ms + 30_000 <= now => assert_eq!(
                    (session.status, session.status_reason, session.termination_time_ms),
                    (
                        "TERMINATED",
                        Some("INTERRUPTED"),
                        Some(event.event_time_ms + 30_000)
                    ),
                    "{}",
                    session.game_session_id
                ),
                _ => assert_eq!(session.status, "ACTIVE", "{}", session.game_session_id),
            }
        }
    }
    // 5 instances per location: 3 on the first tick, then round(0.5 x 2) = 1 and 1; none left.
    assert_eq!(sim.events("fleet-spot").len(), 10);
    assert_eq!(sim.count("ACTIVE"), 0);
    assert_eq!(sim.count("TERMINATED"), 18);

    // Same seed, same instance ids and events, however time was advanced.
    let again = Simulator::new(&scenario(RECLAIMS), Clock::Manual);
    for _ in 0..7 {
        again.advance(Duration::from_secs(10));
    }
    let once = Simulator::new(&scenario(RECLAIMS), Clock::Manual);
    once.advance(Duration::from_secs(70));
    assert_eq!(again.events("fleet-spot"), sim.events("fleet-spot"));
    assert_eq!(once.events("fleet-spot"), sim.events("fleet-spot"));
    assert_eq!(once.sessions(), sim.sessions());
    // Another seed, other ids.
    let other = Simulator::new(
        &scenario(&RECLAIMS.replace("seed = 21", "seed = 22")),
        Clock::Manual,
    );
    other.advance(Duration::from_secs(70));
    let ids = |events: Vec<EventRecord>| -> BTreeSet<String> {
        events
            .into_iter()
            .flat_map(|e| [e.event_id, e.resource_id])
            .collect()
    };
    assert!(ids(other.events("fleet-spot")).is_disjoint(&ids(sim.events("fleet-spot"))));
}

#[tokio::test]
async fn random_events_follow_the_churn_table_and_expire_with_retention() {
    let text = r#"
seed = 5
start_time = 1793491200
retention = "1m"
[[fleet]]
id = "fleet-busy"
name = "busy"
type = "ON_DEMAND"
home_region = "us-west-2"
locations = ["us-east-1"]
[fleet.sessions]
active = 5
[fleet.churn]
events = { SERVER_PROCESS_CRASHED = 1.0, FLEET_SCALING_EVENT = 1.0 }

[[fleet]]
id = "fleet-empty"
name = "empty"
type = "ON_DEMAND"
home_region = "us-west-2"
[fleet.churn]
events = { SERVER_PROCESS_CRASHED = 1.0, FLEET_SCALING_EVENT = 1.0 }
"#;
    let sim = Simulator::new(&scenario(text), Clock::Manual);
    let instances: BTreeMap<String, String> = sim
        .sessions()
        .into_iter()
        .map(|s| (s.compute_name, s.location))
        .collect();
    assert_eq!(instances.len(), 4, "5 sessions per location on 4-slot instances");
    sim.advance(Duration::from_secs(10));
    let events = sim.events("fleet-busy");
    let crashed: Vec<&str> = events
        .iter()
        .filter(|e| e.event_code == "SERVER_PROCESS_CRASHED")
        .map(|e| instances[&e.resource_id].as_str())
        .collect();
    assert_eq!(
        crashed,
        ["us-west-2", "us-east-1"],
        "one per location, on an instance there"
    );
    let scaling: Vec<&str> = events
        .iter()
        .filter(|e| e.event_code == "FLEET_SCALING_EVENT")
        .map(|e| e.resource_id.as_str())
        .collect();
    assert_eq!(scaling, ["fleet-busy", "fleet-busy"]);
    assert!(events
        .iter()
        .all(|e| e.event_time_ms == sim.now_ms() && e.count.is_none()));
    // No instance, no instance event; fleet events still happen.
    let empty: Vec<&str> = sim.events("fleet-empty").iter().map(|e| e.event_code).collect();
    assert_eq!(empty, ["FLEET_SCALING_EVENT"]);

    // A minute of retention keeps the 6 latest ticks' events: (4 + 1) per tick.
    sim.advance(Duration::from_secs(120));
    let now = sim.now_ms();
    let all = sim.all_events();
    assert_eq!(all.len(), 6 * 5);
    assert!(all.iter().all(|e| e.event_time_ms > now - 60_000));
    assert_eq!(all.iter().map(|e| e.event_time_ms).min(), Some(now - 50_000));
}

async fn events_page(
    client: &aws_sdk_gamelift::Client,
    fleet: &str,
    window: (Option<i64>, Option<i64>),
    limit: i32,
    token: Option<String>,
) -> Result<
    aws_sdk_gamelift::operation::describe_fleet_events::DescribeFleetEventsOutput,
    aws_sdk_gamelift::error::SdkError<
        aws_sdk_gamelift::operation::describe_fleet_events::DescribeFleetEventsError,
    >,
> {
    client
        .describe_fleet_events()
        .fleet_id(fleet)
        .set_start_time(window.0.map(DateTime::from_millis))
        .set_end_time(window.1.map(DateTime::from_millis))
        .limit(limit)
        .set_next_token(token)
        .send()
        .await
}

/// Every event of a (filtered) listing, following NextToken; and the number of pages.
async fn all_events(
    client: &aws_sdk_gamelift::Client,
    fleet: &str,
    window: (Option<i64>, Option<i64>),
    limit: i32,
) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = events_page(client, fleet, window, limit, token).await.unwrap();
        pages += 1;
        ids.extend(page.events().iter().map(|e| e.event_id().unwrap().to_string()));
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return (ids, pages);
        }
    }
}

fn newest_first(events: &[EventRecord]) -> Vec<String> {
    events.iter().rev().map(|e| e.event_id.clone()).collect()
}

const CODES: [&str; 3] = [
    "SERVER_PROCESS_CRASHED",
    "GAME_SESSION_ACTIVATION_TIMEOUT",
    "FLEET_SCALING_EVENT",
];

#[tokio::test]
async fn fleet_events_page_newest_first_exactly_once_while_events_arrive() {
    let sim = Simulator::start(&scenario(SCENARIO), Clock::Manual)
        .await
        .unwrap();
    let client = sdk_client(&sim.url, "us-west-2", 1);
    let instance = sim.sessions()[0].compute_name.clone();
    let emit = |i: usize| {
        sim.advance(Duration::from_secs(10));
        let resource = (i % 3 != 2).then_some(instance.as_str());
        let count = (i % 2 == 1).then_some(i as i64);
        sim.emit_event("fleet-aaaa", CODES[i % 3], resource, count)
            .unwrap()
    };
    let emitted: Vec<String> = (0..10).map(emit).collect();
    let stored = sim.events("fleet-aaaa");
    assert_eq!(
        stored.iter().map(|e| e.event_id.clone()).collect::<Vec<_>>(),
        emitted
    );
    let unique: BTreeSet<&String> = emitted.iter().collect();
    assert_eq!(unique.len(), 10);
    assert!(emitted.iter().all(|id| {
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        groups == [8, 4, 4, 4, 12] && id.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
    }));

    // Pages of 3 while 3 more events arrive in between: the 10 that existed, newest first,
    // each once, and none of the newcomers.
    let mut seen = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = events_page(&client, "fleet-aaaa", (None, None), 3, token)
            .await
            .unwrap();
        pages += 1;
        for event in page.events() {
            let stored = stored
                .iter()
                .find(|e| Some(e.event_id.as_str()) == event.event_id())
                .unwrap();
            assert_eq!(event.resource_id(), Some(stored.resource_id.as_str()));
            assert_eq!(event.event_code().unwrap().as_str(), stored.event_code);
            assert_eq!(event.message(), Some(stored.message.as_str()));
            assert_eq!(
                event.event_time().unwrap().to_millis().unwrap(),
                stored.event_time_ms
            );
            assert_eq!(event.count(), stored.count);
            seen.push(event.event_id().unwrap().to_string());
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
        emit(10 + pages);
    }
    assert_eq!(pages, 4);
    assert_eq!(seen, newest_first(&stored));
    let all = sim.events("fleet-aaaa");
    assert_eq!(all.len(), 13);
    let (fresh, _) = all_events(&client, "fleet-aaaa", (None, None), 100).await;
    assert_eq!(fresh, newest_first(&all));
    // Newest first really is by time: a client assuming chronological order is wrong here.
    let times: Vec<i64> = all.iter().rev().map(|e| e.event_time_ms).collect();
    assert!(times.windows(2).all(|w| w[0] > w[1]));

    // Time windows are inclusive at both ends, by the ARN of the fleet too.
    let (t3, t6) = (stored[3].event_time_ms, stored[6].event_time_ms);
    let (window, pages) = all_events(&client, "fleet-aaaa", (Some(t3), Some(t6)), 2).await;
    assert_eq!((window, pages), (newest_first(&stored[3..=6]), 2));
    let (from, _) = all_events(&client, "fleet-aaaa", (Some(t6), None), 100).await;
    assert_eq!(from, newest_first(&all[6..]));
    let (until, _) = all_events(&client, "fleet-aaaa", (None, Some(t3)), 100).await;
    assert_eq!(until, newest_first(&stored[..=3]));
    let (exact, _) = all_events(&client, "fleet-aaaa", (Some(t3), Some(t3)), 100).await;
    assert_eq!(exact, [stored[3].event_id.clone()]);
    let (between, _) = all_events(&client, "fleet-aaaa", (Some(t3 + 1), Some(t6 - 1)), 100).await;
    assert_eq!(between, newest_first(&stored[4..=5]));
    let by_arn = client
        .describe_fleet_events()
        .fleet_id("arn:aws:gamelift:us-west-2:123456789012:fleet/fleet-aaaa")
        .send()
        .await
        .unwrap();
    assert_eq!(by_arn.events().len(), 13);

    // The request log tells pages apart by their token hash and shows the time window.
    let requests: Vec<String> = sim
        .requests()
        .into_iter()
        .filter(|r| r.operation == "DescribeFleetEvents")
        .map(|r| r.params)
        .collect();
    let tokens: Vec<&str> = requests[1..4]
        .iter()
        .map(|p| {
            let start = p.find("<token:").unwrap();
            &p[start..start + "<token:XXXXXXXX>".len()]
        })
        .collect();
    assert!(tokens.iter().all(|t| t.ends_with('>')), "{tokens:?}");
    assert_eq!(tokens.iter().collect::<BTreeSet<_>>().len(), 3, "{tokens:?}");
    assert!(
        requests.iter().any(|p| p.contains(
            "\"EndTime\":\"2026-11-01T00:01:10.000Z\",\"FleetId\":\"fleet-aaaa\",\"Limit\":2,\"StartTime\":\"2026-11-01T00:00:40.000Z\""
        )),
        "{requests:?}"
    );
}

#[tokio::test]
async fn fleet_event_errors_are_typed() {
    let sim = Simulator::start(&scenario(SCENARIO), Clock::Manual)
        .await
        .unwrap();
    let client = sdk_client(&sim.url, "us-west-2", 1);
    for i in 0..4 {
        sim.emit_event("fleet-aaaa", CODES[i % 3], None, None).unwrap();
    }
    let invalid = |err: aws_sdk_gamelift::error::SdkError<_>| {
        let service: aws_sdk_gamelift::operation::describe_fleet_events::DescribeFleetEventsError =
            err.into_service_error();
        assert!(service.is_invalid_request_exception(), "{service:?}");
        service.message().unwrap().to_string()
    };
    let err = client.describe_fleet_events().send().await.unwrap_err();
    assert_eq!(
        invalid(err),
        "1 validation error detected: Value null at 'fleetId' failed to satisfy constraint: Member must not be null"
    );
    let err = events_page(&client, "fleet-aaaa", (None, None), 0, None)
        .await
        .unwrap_err();
    assert_eq!(
        invalid(err),
        "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
    );
    let err = events_page(&client, "fleet-aaaa", (None, None), 5, Some("forged".into()))
        .await
        .unwrap_err();
    assert_eq!(
        invalid(err),
        "Invalid NextToken: the token is malformed or was not issued for this request."
    );
    // A token is bound to its query: not valid for another time window or another operation.
    let first = events_page(&client, "fleet-aaaa", (Some(0), None), 2, None)
        .await
        .unwrap();
    let token = first.next_token().unwrap().to_string();
    let err = events_page(&client, "fleet-aaaa", (None, None), 2, Some(token.clone()))
        .await
        .unwrap_err();
    assert!(invalid(err).starts_with("Invalid NextToken"));
    let err = client
        .describe_game_sessions()
        .fleet_id("fleet-aaaa")
        .next_token(&token)
        .send()
        .await
        .unwrap_err();
    assert!(err.as_service_error().unwrap().is_invalid_request_exception());
    for (client, fleet) in [
        (&client, "fleet-nope"),
        // Fleets are found in the Region the request is signed for.
        (&client, "fleet-cccc"),
    ] {
        let err = events_page(client, fleet, (None, None), 5, None)
            .await
            .unwrap_err();
        let service = err.into_service_error();
        assert!(service.is_not_found_exception(), "{service:?}");
        assert_eq!(
            service.message(),
            Some(format!("Fleet {fleet} not found.").as_str())
        );
    }
    // A larger Limit is capped at max_page_size (100 here): 4 events fit anyway.
    let page = events_page(&client, "fleet-aaaa", (None, None), 5000, None)
        .await
        .unwrap();
    assert_eq!((page.events().len(), page.next_token()), (4, None));
    // AWS's default rate for DescribeFleetEvents and DescribeGameSessionDetails: 30/s.
    sim.set_faults(Faults::default());
    let mut throttled = 0;
    for _ in 0..35 {
        if let Err(err) = events_page(&client, "fleet-aaaa", (None, None), 1, None).await {
            assert_eq!(err.code(), Some("ThrottlingException"));
            throttled += 1;
        }
    }
    assert!((4..=6).contains(&throttled), "{throttled} of 35 throttled");
}

#[tokio::test]
async fn game_session_details_by_id_and_by_fleet() {
    let sim = Simulator::start(&scenario(SCENARIO), Clock::Manual)
        .await
        .unwrap();
    let client = sdk_client(&sim.url, "us-west-2", 1);
    let truth: Vec<SessionRecord> = sim
        .sessions()
        .into_iter()
        .filter(|s| s.fleet_id == "fleet-aaaa")
        .collect();
    let interrupted = truth
        .iter()
        .find(|s| s.status_reason == Some("INTERRUPTED"))
        .unwrap();
    let active = truth.iter().rev().find(|s| s.status == "ACTIVE").unwrap();

    // By id, with and without FleetId: the same document DescribeGameSessions returns.
    for record in [interrupted, active] {
        let id = record.game_session_id.as_str();
        let plain = client
            .describe_game_sessions()
            .game_session_id(id)
            .send()
            .await
            .unwrap();
        for fleet in [None, Some("fleet-aaaa")] {
            let details = client
                .describe_game_session_details()
                .set_fleet_id(fleet.map(str::to_string))
                .game_session_id(id)
                .send()
                .await
                .unwrap();
            assert_eq!(details.game_session_details().len(), 1);
            let detail = &details.game_session_details()[0];
            assert_eq!(detail.protection_policy().unwrap().as_str(), "NoProtection");
            let session = detail.game_session().unwrap();
            assert_eq!(session, &plain.game_sessions()[0]);
            assert_eq!(session.game_session_id(), Some(id));
            assert_eq!(session.status().unwrap().as_str(), record.status);
            assert_eq!(session.compute_name(), Some(record.compute_name.as_str()));
            assert_eq!(details.next_token(), None);
        }
    }
    // A filter that leaves the one session out gives an empty list, not an error.
    let filtered = client
        .describe_game_session_details()
        .game_session_id(&active.game_session_id)
        .status_filter("TERMINATED")
        .send()
        .await
        .unwrap();
    assert!(filtered.game_session_details().is_empty());

    // By fleet, filtered and paged: every ACTIVE session once, in creation order.
    let mut ids = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = client
            .describe_game_session_details()
            .fleet_id("fleet-aaaa")
            .status_filter("ACTIVE")
            .limit(7)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        pages += 1;
        for detail in page.game_session_details() {
            let session = detail.game_session().unwrap();
            let record = truth
                .iter()
                .find(|s| Some(s.game_session_id.as_str()) == session.game_session_id())
                .unwrap();
            assert_eq!(session.status().unwrap().as_str(), "ACTIVE");
            assert_eq!(session.compute_name(), Some(record.compute_name.as_str()));
            assert_eq!(
                session.current_player_session_count(),
                Some(record.current_players as i32)
            );
            ids.push(record.game_session_id.clone());
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    let expected: Vec<String> = truth
        .iter()
        .filter(|s| s.status == "ACTIVE")
        .map(|s| s.game_session_id.clone())
        .collect();
    assert_eq!(expected.len(), 60);
    assert_eq!((ids, pages), (expected, 60_usize.div_ceil(7)));
    let (by_location, _) = {
        let page = client
            .describe_game_session_details()
            .fleet_id("fleet-aaaa")
            .location("eu-west-1")
            .status_filter("TERMINATED")
            .send()
            .await
            .unwrap();
        (page.game_session_details().len(), page.next_token().is_none())
    };
    assert_eq!(by_location, 14);

    // Unknown ids: the NotFoundException of DescribeGameSessions, for both operations.
    // 13 hex digits: no session id has that shape.
    let misshapen = active.game_session_id.replace("gsess-", "gsess-f");
    let unknown = [
        (
            None,
            "arn:aws:gamelift:us-west-2::gamesession/fleet-aaaa/gsess-0000000fffff".to_string(),
        ),
        (
            Some("fleet-aaaa"),
            "arn:aws:gamelift:us-west-2::gamesession/fleet-aaaa/gsess-0000000fffff".to_string(),
        ),
        // A session of another fleet.
        (Some("fleet-bbbb"), active.game_session_id.clone()),
        // The right number under the wrong location.
        (
            None,
            active.game_session_id.replace(&active.location, "ap-south-1"),
        ),
        (None, "not-an-arn".to_string()),
        (None, misshapen),
    ];
    for (fleet, id) in unknown {
        let message = format!("Game session {id} not found.");
        let err = client
            .describe_game_session_details()
            .set_fleet_id(fleet.map(str::to_string))
            .game_session_id(&id)
            .send()
            .await
            .unwrap_err();
        let service = err.into_service_error();
        assert!(service.is_not_found_exception(), "{id}: {service:?}");
        assert_eq!(service.message(), Some(message.as_str()));
        let err = client
            .describe_game_sessions()
            .set_fleet_id(fleet.map(str::to_string))
            .game_session_id(&id)
            .send()
            .await
            .unwrap_err();
        let service = err.into_service_error();
        assert!(service.is_not_found_exception(), "{id}: {service:?}");
        assert_eq!(service.message(), Some(message.as_str()));
    }

    // The validation of DescribeGameSessions; its failing fleets fail only that operation.
    let err = client.describe_game_session_details().send().await.unwrap_err();
    assert_eq!(
        err.into_service_error().message(),
        Some("Either FleetId, AliasId or GameSessionId must be specified.")
    );
    let err = client
        .describe_game_session_details()
        .fleet_id("fleet-aaaa")
        .limit(0)
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_invalid_request_exception());
    let err = client
        .describe_game_session_details()
        .fleet_id("fleet-aaaa")
        .status_filter("ERROR")
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_invalid_request_exception());
    let by_alias = client
        .describe_game_session_details()
        .alias_id("alias-arena")
        .limit(2)
        .send()
        .await
        .unwrap();
    let token = by_alias.next_token().unwrap().to_string();
    let err = client
        .describe_game_sessions()
        .alias_id("alias-arena")
        .next_token(&token)
        .send()
        .await
        .unwrap_err();
    assert!(
        err.into_service_error().is_invalid_request_exception(),
        "a Details token is not a DescribeGameSessions token"
    );
    sim.set_faults(Faults {
        failing_fleets: vec!["fleet-aaaa".into()],
        ..Faults::none()
    });
    let err = client
        .describe_game_sessions()
        .fleet_id("fleet-aaaa")
        .send()
        .await
        .unwrap_err();
    assert!(err.into_service_error().is_internal_service_exception());
    let details = client
        .describe_game_session_details()
        .fleet_id("fleet-aaaa")
        .send()
        .await
        .unwrap();
    assert_eq!(details.game_session_details().len(), 100);
}

#[tokio::test]
async fn control_endpoints_interrupt_emit_and_list() {
    let sim = Simulator::start(&scenario(SCENARIO), Clock::Manual)
        .await
        .unwrap();
    let address = sim.url.trim_start_matches("http://").to_string();
    let call = |method: &'static str, path: String| {
        let address = address.clone();
        tokio::task::spawn_blocking(move || support::http(method, &address, &path))
    };
    let (status, _, body) = call("GET", "/_simulator/sessions".into()).await.unwrap();
    assert_eq!(status, 200);
    let listed: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    let records = sim.sessions();
    assert_eq!(listed.len(), records.len());
    for (json, record) in listed.iter().zip(&records) {
        assert_eq!(json["GameSessionId"], record.game_session_id.as_str());
        assert_eq!(json["ComputeName"], record.compute_name.as_str());
    }

    let (status, _, body) = call(
        "POST",
        "/_simulator/interrupt?fleet=fleet-aaaa&location=us-east-1&instances=2".into(),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let ended: Vec<String> =
        serde_json::from_value(serde_json::from_str::<serde_json::Value>(&body).unwrap()["Ended"].clone())
            .unwrap();
    let now = sim.now_ms();
    let interrupted: Vec<String> = sim
        .sessions()
        .into_iter()
        .filter(|s| s.termination_time_ms == Some(now))
        .map(|s| s.game_session_id)
        .collect();
    assert_eq!(ended, interrupted);
    assert_eq!(ended.len(), 8, "two full instances of 4 ACTIVE sessions");

    let resource = "arn%3Aaws%3Agamelift%3Aus-west-2%3A%3Acompute%2Fx";
    let (status, _, body) = call(
        "POST",
        format!("/_simulator/event?fleet=fleet-bbbb&code=SERVER_PROCESS_CRASHED&resource={resource}&count=3"),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let event_id = serde_json::from_str::<serde_json::Value>(&body).unwrap()["EventId"].clone();
    let (status, _, body) = call("GET", "/_simulator/events".into()).await.unwrap();
    assert_eq!(status, 200);
    let events: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    let stored = sim.all_events();
    assert_eq!(events.len(), 3);
    for (json, record) in events.iter().zip(&stored) {
        assert_eq!(json["FleetId"], record.fleet_id.as_str());
        assert_eq!(json["EventId"], record.event_id.as_str());
        assert_eq!(json["ResourceId"], record.resource_id.as_str());
        assert_eq!(json["EventCode"], record.event_code);
        assert_eq!(json["EventTimeMs"], record.event_time_ms);
        assert_eq!(json["Count"], serde_json::json!(record.count));
    }
    assert_eq!(events[2]["EventId"], event_id);
    assert_eq!(events[2]["ResourceId"], "arn:aws:gamelift:us-west-2::compute/x");
    assert_eq!(events[2]["Count"], 3);

    for (path, message) in [
        ("/_simulator/interrupt?fleet=fleet-aaaa&location=us-east-1", "missing parameter instances: expected /_simulator/interrupt?fleet=ID&location=LOC&instances=N"),
        ("/_simulator/interrupt?fleet=fleet-aaaa&location=us-east-1&instances=0", "invalid instances \"0\": expected a whole number of instances above 0"),
        ("/_simulator/interrupt?fleet=fleet-bbbb&location=us-west-2&instances=1", "fleet fleet-bbbb is ON_DEMAND: only SPOT instances are interrupted"),
        ("/_simulator/event?fleet=fleet-aaaa&code=BOGUS", "unknown event code \"BOGUS\": expected a GameLift EventCode"),
        ("/_simulator/event?fleet=fleet-aaaa&code=FLEET_SCALING_EVENT&count=many", "invalid count \"many\": expected a whole number"),
        ("/_simulator/event?code=FLEET_SCALING_EVENT", "missing parameter fleet: expected /_simulator/event?fleet=ID&code=CODE[&resource=ID][&count=N]"),
        ("/_simulator/event?fleet=fleet-nope&code=FLEET_SCALING_EVENT", "no fleet fleet-nope"),
        ("/_simulator/event?fleet=fleet-aaaa&code=%G1", "invalid percent-encoding in \"%G1\": expected /_simulator/event?fleet=ID&code=CODE[&resource=ID][&count=N]"),
    ] {
        let (status, _, body) = call("POST", path.to_string()).await.unwrap();
        assert_eq!((status, body.trim_end()), (400, message), "{path}");
    }
    assert_eq!(sim.all_events().len(), 3, "refused calls changed nothing");
}

/// The built-in demo shows every kind of fleet event within 15 minutes, and its spot
/// interruptions end their sessions after AWS's two-minute notice.
#[tokio::test]
async fn demo_world_shows_its_events_within_15_minutes() {
    let sim = Simulator::new(&gamelift_exporter::demo::scenario(), Clock::Manual);
    let start = sim.now_ms();
    sim.advance(Duration::from_secs(15 * 60));
    let events = sim.all_events();
    let mut codes: BTreeMap<&str, usize> = BTreeMap::new();
    for event in &events {
        *codes.entry(event.event_code).or_default() += 1;
    }
    eprintln!("demo events in 15 minutes: {codes:?}");
    for code in [
        "INSTANCE_INTERRUPTED",
        "SERVER_PROCESS_CRASHED",
        "GAME_SESSION_ACTIVATION_TIMEOUT",
        "INSTANCE_REPLACED_UNHEALTHY",
    ] {
        assert!(codes.contains_key(code), "{code} missing: {codes:?}");
    }
    let sessions = sim.sessions();
    for event in events.iter().filter(|e| e.event_code == "INSTANCE_INTERRUPTED") {
        let hosted: Vec<&SessionRecord> = sessions
            .iter()
            .filter(|s| s.compute_name == event.resource_id)
            .collect();
        assert!(!hosted.is_empty());
        let ends = event.event_time_ms + 120_000;
        // The sessions it hosted when the notice came (others had ended, or came after).
        let noticed = hosted.iter().filter(|s| {
            s.creation_time_ms <= event.event_time_ms
                && s.termination_time_ms.is_none_or(|t| t > event.event_time_ms)
        });
        for s in noticed {
            if ends <= sim.now_ms() {
                assert_eq!(
                    (s.status, s.status_reason, s.termination_time_ms),
                    ("TERMINATED", Some("INTERRUPTED"), Some(ends))
                );
            } else {
                assert!(is_live(s), "{} ended during the notice", s.game_session_id);
            }
        }
    }
    assert!(events.iter().all(|e| e.event_time_ms > start));
}
