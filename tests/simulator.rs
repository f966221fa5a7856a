//! The simulator driven by the real `aws-sdk-gamelift` client over HTTP on loopback.

mod common;

use aws_sdk_gamelift::error::ProvideErrorMetadata;
use common::{scenario, sdk_client};
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
        assert!(session.compute_name().is_some() && !session.game_properties().is_empty());
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
}
