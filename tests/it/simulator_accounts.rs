//! Several AWS accounts in one simulator (issue 13): requests attributed by their access key,
//! STS AssumeRole as aws-config's real `AssumeRoleProvider` and boto3 call it, temporary
//! credentials that expire, and rate limits per account, Region and operation (and per fleet).

use crate::python_clients::{python_has_boto3, run_client};
use crate::support::{self, scenario};
use aws_config::sts::AssumeRoleProvider;
use aws_config::BehaviorVersion;
use aws_sdk_gamelift::config::{Credentials, ProvideCredentials, Region};
use aws_sdk_gamelift::error::{DisplayErrorContext, ProvideErrorMetadata};
use gamelift_exporter::simulator::{Clock, Simulator};
use std::io::{Read, Write};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const PROD: &str = "111111111111";
const STAGING: &str = "222222222222";
const DEFAULT: &str = "123456789012";
const PROD_KEY: &str = "AKIAPRODUCTION0001";
const ROLE: &str = "arn:aws:iam::222222222222:role/exporter";
const START: i64 = 1_793_491_200;

/// Three accounts: the default one (any unlisted key), prod (its own long-term key) and staging
/// (reachable only by assuming a role with an external id); fleets in two Regions.
const WORLD: &str = r#"
seed = 13
start_time = 1793491200
[faults]
rate_limits = {}

[[account]]
id = "111111111111"
name = "prod"
access_keys = ["AKIAPRODUCTION0001"]

[[account]]
id = "222222222222"
name = "staging"
[[account.role]]
arn = "arn:aws:iam::222222222222:role/exporter"
external_id = "studio-42"

[[fleet]]
id = "fleet-d0"
name = "default"
type = "ON_DEMAND"
home_region = "us-west-2"
[fleet.sessions]
active = 2

[[fleet]]
id = "fleet-p1"
name = "prod-west"
type = "SPOT"
home_region = "us-west-2"
locations = ["us-east-1"]
alias_id = "alias-prod"
account = "111111111111"
[fleet.sessions]
active = 3
terminated = 1

[[fleet]]
id = "fleet-p2"
name = "prod-west-2"
type = "ON_DEMAND"
home_region = "us-west-2"
account = "111111111111"
[fleet.sessions]
active = 1

[[fleet]]
id = "fleet-p3"
name = "prod-eu"
type = "ON_DEMAND"
home_region = "eu-west-1"
account = "111111111111"
[fleet.sessions]
active = 4

[[fleet]]
id = "fleet-s1"
name = "staging-west"
type = "SPOT"
home_region = "us-west-2"
account = "222222222222"
[fleet.sessions]
active = 5

[[fleet]]
id = "fleet-s2"
name = "staging-eu"
type = "ON_DEMAND"
home_region = "eu-west-1"
account = "222222222222"
[fleet.sessions]
active = 6
"#;

fn static_keys(key: &str, token: Option<&str>) -> Credentials {
    Credentials::new(key, "secret", token.map(str::to_string), None, "test")
}

/// A real `aws-sdk-gamelift` client (RPC v2 CBOR) with these credentials, retries off.
fn client(
    url: &str,
    region: &str,
    credentials: impl ProvideCredentials + 'static,
) -> aws_sdk_gamelift::Client {
    let config = aws_sdk_gamelift::Config::builder()
        .behavior_version(aws_sdk_gamelift::config::BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(url)
        .credentials_provider(credentials)
        .retry_config(aws_sdk_gamelift::config::retry::RetryConfig::standard().with_max_attempts(1))
        .build();
    aws_sdk_gamelift::Client::from_conf(config)
}

async fn fleet_ids(client: &aws_sdk_gamelift::Client) -> Vec<String> {
    client
        .list_fleets()
        .send()
        .await
        .expect("ListFleets")
        .fleet_ids()
        .to_vec()
}

/// aws-config's `AssumeRoleProvider`, its STS calls signed with `key`, sent to the simulator.
async fn assume_role_provider(url: &str, key: &str, external_id: Option<&str>) -> AssumeRoleProvider {
    let base = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-west-2"))
        .endpoint_url(url)
        .credentials_provider(static_keys(key, None))
        .load()
        .await;
    let mut builder = AssumeRoleProvider::builder(ROLE)
        .configure(&base)
        .session_name("exporter-test");
    if let Some(id) = external_id {
        builder = builder.external_id(id);
    }
    builder.build().await
}

fn assume_role_calls(sim: &Simulator) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.operation == "AssumeRole" && r.outcome == "ok")
        .count()
}

/// A raw Query-protocol STS request; (status, content type, body).
fn raw_sts(url: &str, body: &str, authorization: Option<&str>) -> (u16, String, String) {
    let address = url.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let auth = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded; charset=utf-8\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_string)
        })
        .unwrap_or_default();
    (status, content_type, body.to_string())
}

fn signed(key: &str) -> String {
    format!("AWS4-HMAC-SHA256 Credential={key}/20261101/us-west-2/sts/aws4_request, SignedHeaders=host, Signature=00")
}

/// The text of the first `<tag>` in an XML document.
fn xml_text<'a>(xml: &'a str, tag: &str) -> &'a str {
    let open = format!("<{tag}>");
    let start = xml.find(&open).unwrap_or_else(|| panic!("no <{tag}> in {xml}")) + open.len();
    &xml[start..start + xml[start..].find('<').unwrap()]
}

#[tokio::test]
async fn each_account_sees_only_its_fleets_and_requests_name_their_account() {
    let sim = Simulator::start(&scenario(WORLD), Clock::Manual).await.unwrap();
    let default_west = client(
        &sim.url,
        "us-west-2",
        gamelift_exporter::aws::simulator_credentials(),
    );
    let prod_west = client(&sim.url, "us-west-2", static_keys(PROD_KEY, None));
    let prod_eu = client(&sim.url, "eu-west-1", static_keys(PROD_KEY, None));
    assert_eq!(fleet_ids(&default_west).await, ["fleet-d0"]);
    assert_eq!(fleet_ids(&prod_west).await, ["fleet-p1", "fleet-p2"]);
    assert_eq!(fleet_ids(&prod_eu).await, ["fleet-p3"]);

    // Another account's fleet does not exist for the caller, by id, alias or session ARN.
    let err = default_west
        .describe_game_sessions()
        .fleet_id("fleet-p1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("NotFoundException"));
    assert_eq!(err.message(), Some("Fleet fleet-p1 not found."));
    let err = default_west
        .describe_game_sessions()
        .alias_id("alias-prod")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.message(), Some("Alias alias-prod not found."));
    let prod_session = sim.sessions_of_account(PROD)[0].game_session_id.clone();
    let err = default_west
        .describe_game_sessions()
        .game_session_id(&prod_session)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("NotFoundException"));
    let sessions = prod_west
        .describe_game_sessions()
        .alias_id("alias-prod")
        .send()
        .await
        .unwrap();
    assert_eq!(sessions.game_sessions().len(), 2 * (3 + 1));
    let attributes = prod_west
        .describe_fleet_attributes()
        .fleet_ids("fleet-p1")
        .fleet_ids("fleet-d0")
        .send()
        .await
        .unwrap();
    let arns: Vec<&str> = attributes
        .fleet_attributes()
        .iter()
        .map(|a| a.fleet_arn().unwrap())
        .collect();
    assert_eq!(arns, ["arn:aws:gamelift:us-west-2:111111111111:fleet/fleet-p1"]);
    assert_eq!(
        sessions.game_sessions()[0].fleet_arn(),
        Some("arn:aws:gamelift:us-west-2:111111111111:fleet/fleet-p1")
    );

    // The truth API, per account.
    let names = |fleets: Vec<(String, Vec<String>)>| fleets.into_iter().map(|(id, _)| id).collect::<Vec<_>>();
    assert_eq!(names(sim.fleets_of_account(DEFAULT)), ["fleet-d0"]);
    assert_eq!(
        names(sim.fleets_of_account(PROD)),
        ["fleet-p1", "fleet-p2", "fleet-p3"]
    );
    assert_eq!(names(sim.fleets_of_account(STAGING)), ["fleet-s1", "fleet-s2"]);
    assert_eq!(
        sim.fleets_of_account(PROD)[0],
        (
            "fleet-p1".to_string(),
            vec!["us-west-2".to_string(), "us-east-1".to_string()]
        )
    );
    let count = |account: &str| sim.sessions_of_account(account).len();
    assert_eq!(
        (count(DEFAULT), count(PROD), count(STAGING)),
        (2, 8 + 1 + 4, 5 + 6)
    );
    assert!(sim
        .sessions_of_account(STAGING)
        .iter()
        .all(|s| s.fleet_id.starts_with("fleet-s")));

    // Every request names its account and signing Region, in the log and at the control API.
    let attributed: Vec<(String, String, String)> = sim
        .requests()
        .into_iter()
        .map(|r| (r.operation, r.account, r.region))
        .collect();
    let expected = [
        ("ListFleets", DEFAULT, "us-west-2"),
        ("ListFleets", PROD, "us-west-2"),
        ("ListFleets", PROD, "eu-west-1"),
        ("DescribeGameSessions", DEFAULT, "us-west-2"),
        ("DescribeGameSessions", DEFAULT, "us-west-2"),
        ("DescribeGameSessions", DEFAULT, "us-west-2"),
        ("DescribeGameSessions", PROD, "us-west-2"),
        ("DescribeFleetAttributes", PROD, "us-west-2"),
    ]
    .map(|(o, a, r)| (o.to_string(), a.to_string(), r.to_string()));
    assert_eq!(attributed, expected);
    let address = sim.url.trim_start_matches("http://").to_string();
    let (status, _, body) =
        tokio::task::spawn_blocking(move || support::http("GET", &address, "/_simulator/requests"))
            .await
            .unwrap();
    assert_eq!(status, 200);
    let log: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(log[2]["Account"], PROD);
    assert_eq!(log[2]["Region"], "eu-west-1");
    assert_eq!(log[2]["Operation"], "ListFleets");

    // Accounts and keys added at run time take effect at once.
    sim.add_account("333333333333", &["AKIALATECOMER00001"]);
    let late = client(&sim.url, "us-west-2", static_keys("AKIALATECOMER00001", None));
    assert_eq!(fleet_ids(&late).await, Vec::<String>::new());
    assert_eq!(sim.requests().last().unwrap().account, "333333333333");
}

#[tokio::test]
async fn aws_config_assume_role_provider_gets_the_role_accounts_fleets() {
    // Simulated time starts at the real time here, as the SDK's credential cache judges
    // expirations by the real clock (from a fixed past start it would refresh on every call).
    let world = WORLD.replace("start_time = 1793491200\n", "");
    let sim = Simulator::start(&scenario(&world), Clock::Manual).await.unwrap();
    let start = sim.now_ms() as u64 / 1000;
    let provider = assume_role_provider(&sim.url, PROD_KEY, Some("studio-42")).await;
    let credentials = provider.provide_credentials().await.expect("role assumed");
    assert!(credentials.access_key_id().starts_with("ASIA"));
    assert_eq!(credentials.access_key_id().len(), 20);
    assert!(credentials.session_token().is_some());
    assert_eq!(
        credentials.expiry(),
        Some(UNIX_EPOCH + Duration::from_secs(start + 3600)),
        "one hour of the simulated clock"
    );
    assert_eq!(credentials.account_id().map(|a| a.as_str()), Some(STAGING));
    let sts = sim.requests().pop().unwrap();
    assert_eq!(
        (sts.operation.as_str(), sts.protocol, sts.outcome.as_str()),
        ("AssumeRole", "aws-query", "ok")
    );
    assert_eq!((sts.account.as_str(), sts.region.as_str()), (PROD, "us-west-2"));
    assert_eq!(
        sts.params,
        r#"{"ExternalId":"studio-42","RoleArn":"arn:aws:iam::222222222222:role/exporter","RoleSessionName":"exporter-test"}"#
    );

    // The provider plugged into a GameLift client: staging's fleets only, in each Region.
    let west = client(&sim.url, "us-west-2", provider);
    assert_eq!(fleet_ids(&west).await, ["fleet-s1"]);
    let sessions = west
        .describe_game_sessions()
        .fleet_id("fleet-s1")
        .send()
        .await
        .unwrap();
    assert_eq!(sessions.game_sessions().len(), 5);
    let eu = client(
        &sim.url,
        "eu-west-1",
        assume_role_provider(&sim.url, PROD_KEY, Some("studio-42")).await,
    );
    assert_eq!(fleet_ids(&eu).await, ["fleet-s2"]);
    let log = sim.requests();
    let gamelift: Vec<(&str, &str)> = log
        .iter()
        .filter(|r| r.operation != "AssumeRole")
        .map(|r| (r.account.as_str(), r.region.as_str()))
        .collect();
    assert_eq!(
        gamelift,
        [
            (STAGING, "us-west-2"),
            (STAGING, "us-west-2"),
            (STAGING, "eu-west-1")
        ]
    );
    // The client's identity cache keeps the credentials: one AssumeRole per client.
    assert_eq!(assume_role_calls(&sim), 1 + 1 + 1);
}

#[tokio::test]
async fn refused_roles_are_access_denied_as_sts_answers() {
    let sim = Simulator::start(&scenario(WORLD), Clock::Manual).await.unwrap();
    let denied = format!(
        "User: arn:aws:iam::{PROD}:user/gamelift-exporter is not authorized to perform: sts:AssumeRole on resource: {ROLE}"
    );
    for external_id in [None, Some("studio-41")] {
        let provider = assume_role_provider(&sim.url, PROD_KEY, external_id).await;
        let err = provider.provide_credentials().await.unwrap_err();
        let text = format!("{}", DisplayErrorContext(&err));
        assert!(text.contains("AccessDenied"), "{text}");
        assert!(text.contains(&denied), "{text}");
    }
    sim.remove_role(ROLE);
    let provider = assume_role_provider(&sim.url, PROD_KEY, Some("studio-42")).await;
    assert!(provider.provide_credentials().await.is_err(), "a removed role");
    sim.add_role(STAGING, ROLE, None);
    let provider = assume_role_provider(&sim.url, PROD_KEY, None).await;
    assert!(
        provider.provide_credentials().await.is_ok(),
        "no external id required any more"
    );
    let outcomes: Vec<String> = sim.requests().into_iter().map(|r| r.outcome).collect();
    assert_eq!(outcomes, ["AccessDenied", "AccessDenied", "AccessDenied", "ok"]);

    // The wire: status 403, text/xml, the documented ErrorResponse.
    let url = sim.url.clone();
    let body = "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A222222222222%3Arole%2Fnobody&RoleSessionName=s1";
    let (status, content_type, xml) =
        tokio::task::spawn_blocking(move || raw_sts(&url, body, Some(&signed(PROD_KEY))))
            .await
            .unwrap();
    assert_eq!((status, content_type.as_str()), (403, "text/xml"));
    let request_id = xml_text(&xml, "RequestId").to_string();
    assert_eq!(
        xml,
        format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <Error>\n    <Type>Sender</Type>\n    <Code>AccessDenied</Code>\n    <Message>User: arn:aws:iam::{PROD}:user/gamelift-exporter is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::222222222222:role/nobody</Message>\n  </Error>\n  <RequestId>{request_id}</RequestId>\n</ErrorResponse>\n"
        )
    );
    assert_eq!(request_id.len(), 36);
    // And the success shape, from the same wire.
    let url = sim.url.clone();
    let body = "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A222222222222%3Arole%2Fexporter&RoleSessionName=raw&DurationSeconds=900";
    let (status, content_type, xml) =
        tokio::task::spawn_blocking(move || raw_sts(&url, body, Some(&signed(PROD_KEY))))
            .await
            .unwrap();
    assert_eq!((status, content_type.as_str()), (200, "text/xml"));
    assert!(xml.starts_with("<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n  <AssumeRoleResult>\n    <AssumedRoleUser>\n      <Arn>arn:aws:sts::222222222222:assumed-role/exporter/raw</Arn>\n      <AssumedRoleId>AROA"), "{xml}");
    assert_eq!(xml_text(&xml, "Expiration"), "2026-11-01T00:15:00Z");
    assert!(xml_text(&xml, "AssumedRoleId").ends_with(":raw"));
    // Refusals of the request itself.
    let cases = [
        ("Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A222222222222%3Arole%2Fexporter&RoleSessionName=raw&DurationSeconds=7200", Some(signed(PROD_KEY)), 400, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."),
        ("Action=AssumeRole&Version=2011-06-15&RoleSessionName=raw", Some(signed(PROD_KEY)), 400, "ValidationError", "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null"),
        ("Action=GetCallerIdentity&Version=2011-06-15", Some(signed(PROD_KEY)), 400, "InvalidAction", "Could not find operation GetCallerIdentity for version 2011-06-15"),
        ("Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A222222222222%3Arole%2Fexporter&RoleSessionName=raw", None, 403, "MissingAuthenticationToken", "Request is missing Authentication Token"),
    ];
    for (body, auth, status, code, message) in cases {
        let url = sim.url.clone();
        let (got, _, xml) = tokio::task::spawn_blocking(move || raw_sts(&url, body, auth.as_deref()))
            .await
            .unwrap();
        assert_eq!(
            (got, xml_text(&xml, "Code"), xml_text(&xml, "Message")),
            (status, code, message),
            "{body}"
        );
    }
}

#[tokio::test]
async fn expired_credentials_are_refused_and_fresh_ones_accepted() {
    let sim = Simulator::start(&scenario(WORLD), Clock::Manual).await.unwrap();
    let provider = assume_role_provider(&sim.url, PROD_KEY, Some("studio-42")).await;
    let first = provider.provide_credentials().await.unwrap();
    // Fixed credentials, so that no cache refreshes them behind the test's back.
    let fixed = |c: &Credentials| static_keys(c.access_key_id(), c.session_token());
    let west = client(&sim.url, "us-west-2", fixed(&first));
    assert_eq!(fleet_ids(&west).await, ["fleet-s1"]);
    sim.advance(Duration::from_secs(3599));
    assert_eq!(fleet_ids(&west).await, ["fleet-s1"], "valid until the Expiration");
    sim.advance(Duration::from_secs(1));
    let err = west.list_fleets().send().await.unwrap_err();
    assert_eq!(err.code(), Some("ExpiredTokenException"));
    assert_eq!(
        err.message(),
        Some("The security token included in the request is expired")
    );
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 400);
    let refused = sim.requests().pop().unwrap();
    assert_eq!(
        (refused.outcome.as_str(), refused.account.as_str()),
        ("ExpiredTokenException", STAGING)
    );

    // A temporary key without its session token is not recognized.
    let tokenless = client(&sim.url, "us-west-2", static_keys(first.access_key_id(), None));
    let err = tokenless.list_fleets().send().await.unwrap_err();
    assert_eq!(err.code(), Some("UnrecognizedClientException"));
    assert_eq!(
        err.message(),
        Some("The security token included in the request is invalid.")
    );

    // New credentials from the same provider are accepted, the expired ones stay refused.
    let second = provider.provide_credentials().await.unwrap();
    assert_ne!(second.access_key_id(), first.access_key_id());
    assert_eq!(
        second.expiry(),
        Some(UNIX_EPOCH + Duration::from_secs(START as u64 + 3600 + 3600))
    );
    assert_eq!(
        fleet_ids(&client(&sim.url, "us-west-2", fixed(&second))).await,
        ["fleet-s1"]
    );
    assert!(west.list_fleets().send().await.is_err());
}

#[tokio::test]
async fn the_sdk_refreshes_assumed_credentials_before_they_expire() {
    // The SDK's credential cache runs on the real clock: a simulated clock that starts at the real
    // time, and a role whose sessions last 15 s, let it refresh within seconds. The lazy cache
    // refreshes from 10 s (its buffer) minus up to 5 s (jitter) before the Expiration: between 5
    // and 10 s after the credentials were issued.
    let world = WORLD.replace("start_time = 1793491200\n", "").replace(
        "external_id = \"studio-42\"",
        "external_id = \"studio-42\"\nsession_duration = \"15s\"",
    );
    let sim = Simulator::start(&scenario(&world), Clock::Manual).await.unwrap();
    let issued_at = UNIX_EPOCH + Duration::from_millis(sim.now_ms() as u64);
    let west = client(
        &sim.url,
        "us-west-2",
        assume_role_provider(&sim.url, PROD_KEY, Some("studio-42")).await,
    );
    assert_eq!(fleet_ids(&west).await, ["fleet-s1"]);
    assert_eq!(fleet_ids(&west).await, ["fleet-s1"]);
    assert!(
        SystemTime::now() < issued_at + Duration::from_secs(5),
        "the test ran too slowly to see the cache at work"
    );
    assert_eq!(assume_role_calls(&sim), 1, "cached while far from the Expiration");
    let refresh_by = issued_at + Duration::from_millis(10_200);
    tokio::time::sleep(refresh_by.duration_since(SystemTime::now()).unwrap_or_default()).await;
    assert_eq!(fleet_ids(&west).await, ["fleet-s1"]);
    assert_eq!(assume_role_calls(&sim), 2, "refreshed before the Expiration");
    let refreshed: Vec<String> = sim
        .requests()
        .into_iter()
        .filter(|r| r.operation == "ListFleets")
        .map(|r| r.outcome)
        .collect();
    assert_eq!(
        refreshed,
        ["ok", "ok", "ok"],
        "the client never saw an expired token"
    );
}

#[tokio::test]
async fn rate_limits_are_per_account_region_and_operation() {
    let world = WORLD.replace(
        "rate_limits = {}",
        "rate_limits = { DescribeGameSessions = 3, ListFleets = 3 }",
    );
    let sim = Simulator::start(&scenario(&world), Clock::Manual).await.unwrap();
    let default_west = client(
        &sim.url,
        "us-west-2",
        gamelift_exporter::aws::simulator_credentials(),
    );
    let prod_west = client(&sim.url, "us-west-2", static_keys(PROD_KEY, None));
    let prod_eu = client(&sim.url, "eu-west-1", static_keys(PROD_KEY, None));
    let burst = |client: aws_sdk_gamelift::Client, fleet: &'static str| async move {
        let mut ok = 0;
        for _ in 0..5 {
            match client.describe_game_sessions().fleet_id(fleet).send().await {
                Ok(_) => ok += 1,
                Err(err) => {
                    assert_eq!(err.code(), Some("ThrottlingException"));
                    assert_eq!(err.message(), Some("Rate exceeded"));
                }
            }
        }
        ok
    };
    // Each account-Region gets its full rate, whatever the others spent.
    assert_eq!(burst(prod_west.clone(), "fleet-p1").await, 3);
    assert_eq!(
        burst(prod_west.clone(), "fleet-p2").await,
        0,
        "same account, Region, operation"
    );
    assert_eq!(
        burst(default_west.clone(), "fleet-d0").await,
        3,
        "another account"
    );
    assert_eq!(burst(prod_eu.clone(), "fleet-p3").await, 3, "another Region");
    // Another operation has a bucket of its own.
    assert_eq!(fleet_ids(&prod_west).await, ["fleet-p1", "fleet-p2"]);
    let throttled: Vec<(String, String)> = sim
        .requests()
        .into_iter()
        .filter(|r| r.outcome == "ThrottlingException")
        .map(|r| (r.account, r.region))
        .collect();
    let expected: Vec<(String, String)> = [
        (PROD, "us-west-2"),
        (PROD, "us-west-2"),
        (PROD, "us-west-2"),
        (PROD, "us-west-2"),
        (PROD, "us-west-2"),
        (PROD, "us-west-2"),
        (PROD, "us-west-2"),
        (DEFAULT, "us-west-2"),
        (DEFAULT, "us-west-2"),
        (PROD, "eu-west-1"),
        (PROD, "eu-west-1"),
    ]
    .into_iter()
    .map(|(a, r)| (a.to_string(), r.to_string()))
    .collect();
    assert_eq!(throttled, expected);
}

/// `ok`, or the error code a call failed with.
fn outcome<T, E: ProvideErrorMetadata, R>(
    result: Result<T, aws_sdk_gamelift::error::SdkError<E, R>>,
) -> String {
    match result {
        Ok(_) => "ok".to_string(),
        Err(err) => err.code().unwrap_or("?").to_string(),
    }
}

#[tokio::test]
async fn describe_game_sessions_is_also_throttled_per_fleet() {
    let world = WORLD.replace(
        "rate_limits = {}",
        "rate_limits = {}\nper_fleet_rate_limits = { DescribeGameSessions = 2 }",
    );
    let sim = Simulator::start(&scenario(&world), Clock::Manual).await.unwrap();
    let prod_west = client(&sim.url, "us-west-2", static_keys(PROD_KEY, None));
    let default_west = client(
        &sim.url,
        "us-west-2",
        gamelift_exporter::aws::simulator_credentials(),
    );
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(outcome(
            prod_west
                .describe_game_sessions()
                .fleet_id("fleet-p1")
                .send()
                .await,
        ));
    }
    // The same fleet by alias, by ARN and by one of its sessions: the same bucket.
    seen.push(outcome(
        prod_west
            .describe_game_sessions()
            .alias_id("alias-prod")
            .send()
            .await,
    ));
    seen.push(outcome(
        prod_west
            .describe_game_sessions()
            .fleet_id("arn:aws:gamelift:us-west-2:111111111111:fleet/fleet-p1")
            .send()
            .await,
    ));
    let session = sim.sessions_of_account(PROD)[0].game_session_id.clone();
    seen.push(outcome(
        prod_west
            .describe_game_sessions()
            .game_session_id(session)
            .send()
            .await,
    ));
    // Another fleet, and another account's fleet, have their own.
    for _ in 0..3 {
        seen.push(outcome(
            prod_west
                .describe_game_sessions()
                .fleet_id("fleet-p2")
                .send()
                .await,
        ));
    }
    seen.push(outcome(
        default_west
            .describe_game_sessions()
            .fleet_id("fleet-d0")
            .send()
            .await,
    ));
    // Other operations are not throttled per fleet.
    for _ in 0..3 {
        seen.push(outcome(
            prod_west
                .describe_game_session_details()
                .fleet_id("fleet-p1")
                .send()
                .await,
        ));
    }
    assert_eq!(
        seen,
        [
            "ok",
            "ok",
            "ThrottlingException",
            "ThrottlingException",
            "ThrottlingException",
            "ThrottlingException",
            "ok",
            "ok",
            "ThrottlingException",
            "ok",
            "ok",
            "ok",
            "ok"
        ]
    );
}

#[tokio::test]
async fn boto3_assumes_the_role_and_lists_the_role_accounts_fleets() {
    if !python_has_boto3() {
        return;
    }
    let sim = Simulator::start(&scenario(WORLD), Clock::Manual).await.unwrap();
    let out = run_client(
        "boto3_accounts.py",
        vec![
            "assume".into(),
            sim.url.clone(),
            PROD_KEY.into(),
            ROLE.into(),
            "studio-42".into(),
        ],
    )
    .await;
    let creds = &out["credentials"];
    assert!(creds["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    assert_eq!(creds["Expiration"], "2026-11-01T01:00:00+00:00");
    assert_eq!(
        out["assumed_role_arn"],
        "arn:aws:sts::222222222222:assumed-role/exporter/boto3-session"
    );
    assert!(out["assumed_role_id"]
        .as_str()
        .unwrap()
        .ends_with(":boto3-session"));
    assert_eq!(
        out["wrong_external_id"],
        serde_json::json!({
            "code": "AccessDenied",
            "type": "Sender",
            "status": 403,
            "message": format!("User: arn:aws:iam::{PROD}:user/gamelift-exporter is not authorized to perform: sts:AssumeRole on resource: {ROLE}"),
        })
    );
    assert_eq!(
        out["assumed_us-west-2"],
        serde_json::json!({"fleets": ["fleet-s1"]})
    );
    assert_eq!(
        out["assumed_eu-west-1"],
        serde_json::json!({"fleets": ["fleet-s2"]})
    );
    assert_eq!(
        out["own_us-west-2"],
        serde_json::json!({"fleets": ["fleet-p1", "fleet-p2"]})
    );
    assert_eq!(out["own_eu-west-1"], serde_json::json!({"fleets": ["fleet-p3"]}));
    let protocols: Vec<(String, &str, String)> = sim
        .requests()
        .into_iter()
        .map(|r| (r.operation, r.protocol, r.account))
        .collect();
    assert_eq!(protocols[0], ("AssumeRole".into(), "aws-query", PROD.into()));
    assert_eq!(protocols[1], ("AssumeRole".into(), "aws-query", PROD.into()));
    assert_eq!(protocols[2], ("ListFleets".into(), "awsJson1_1", STAGING.into()));
    assert_eq!(protocols[3], ("ListFleets".into(), "awsJson1_1", PROD.into()));

    // After the Expiration, the same credentials are refused over AWS JSON too.
    sim.advance(Duration::from_secs(3600));
    let args = |region: &str| {
        vec![
            "list".to_string(),
            sim.url.clone(),
            creds["AccessKeyId"].as_str().unwrap().to_string(),
            creds["SecretAccessKey"].as_str().unwrap().to_string(),
            creds["SessionToken"].as_str().unwrap().to_string(),
            region.to_string(),
        ]
    };
    let expired = run_client("boto3_accounts.py", args("us-west-2")).await;
    assert_eq!(
        expired,
        serde_json::json!({
            "code": "ExpiredTokenException",
            "message": "The security token included in the request is expired",
            "status": 400,
        })
    );
    let raw = sim.requests().pop().unwrap();
    assert_eq!(
        (raw.protocol, raw.outcome.as_str()),
        ("awsJson1_1", "ExpiredTokenException")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_assumes_the_role_and_lists_fleets_with_it() {
    if !support::require_tool("aws") {
        return;
    }
    let sim = Simulator::start(&scenario(WORLD), Clock::Manual).await.unwrap();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut command = Command::new("aws");
        command
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
            .env_remove("AWS_SESSION_TOKEN");
        for (name, value) in env {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        assert!(
            output.status.success(),
            "aws {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap()
    };
    let prod = [
        ("AWS_ACCESS_KEY_ID", PROD_KEY),
        ("AWS_SECRET_ACCESS_KEY", "cli-secret"),
    ];
    let assumed = tokio::task::block_in_place(|| {
        run(
            &[
                "sts",
                "assume-role",
                "--role-arn",
                ROLE,
                "--role-session-name",
                "cli",
                "--external-id",
                "studio-42",
            ],
            &prod,
        )
    });
    let creds = &assumed["Credentials"];
    let env = [
        ("AWS_ACCESS_KEY_ID", creds["AccessKeyId"].as_str().unwrap()),
        (
            "AWS_SECRET_ACCESS_KEY",
            creds["SecretAccessKey"].as_str().unwrap(),
        ),
        ("AWS_SESSION_TOKEN", creds["SessionToken"].as_str().unwrap()),
    ];
    let fleets = tokio::task::block_in_place(|| run(&["gamelift", "list-fleets"], &env));
    assert_eq!(fleets["FleetIds"], serde_json::json!(["fleet-s1"]));
    let own = tokio::task::block_in_place(|| run(&["gamelift", "list-fleets"], &prod));
    assert_eq!(own["FleetIds"], serde_json::json!(["fleet-p1", "fleet-p2"]));
    let log: Vec<(String, &str, String)> = sim
        .requests()
        .into_iter()
        .map(|r| (r.operation, r.protocol, r.account))
        .collect();
    assert_eq!(
        log,
        [
            ("AssumeRole".to_string(), "aws-query", PROD.to_string()),
            ("ListFleets".to_string(), "awsJson1_1", STAGING.to_string()),
            ("ListFleets".to_string(), "awsJson1_1", PROD.to_string()),
        ]
    );
}

#[test]
fn the_scenario_file_loads_with_its_accounts() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/scenarios/accounts.toml");
    let scenario = gamelift_exporter::simulator::Scenario::load(&path).unwrap();
    let sim = Simulator::new(&scenario, Clock::Manual);
    let ids: Vec<&str> = scenario.accounts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, [PROD, STAGING]);
    assert!(scenario.accounts[1].roles[0].external_id.is_some());
    assert!(
        scenario.accounts[1].access_keys.is_empty(),
        "staging only through its role"
    );
    for account in ids {
        let mut regions: Vec<String> = sim
            .fleets_of_account(account)
            .into_iter()
            .map(|(_, locations)| locations[0].clone())
            .collect();
        regions.dedup();
        assert_eq!(
            regions,
            ["us-west-2", "eu-west-1"],
            "{account}: fleets in two Regions"
        );
    }
}
