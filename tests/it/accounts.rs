//! Accounts, per-operation budgets and pacing (issue 13): the request log against each budget
//! in every one-second window, the interval the exporter says it can hold, and several accounts
//! (one through an assumed role) swept by one process with exact numbers per account.

use crate::support::{self, series, total, Harness, Scheduled};
use gamelift_exporter::simulator::RequestRecord;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const FLEET_A: &str = "fleet-a0000000-0000-4000-8000-0000000000a1";
const FLEET_B: &str = "fleet-b0000000-0000-4000-8000-0000000000b2";

/// Two small fleets: every live pass costs exactly one page per live status and one events
/// call, and the world holds still (manual clock), so every round costs the same.
fn small_world() -> String {
    format!(
        r#"
seed = 9
[faults]
rate_limits = {{}}

[[fleet]]
id = "{FLEET_A}"
name = "a"
type = "SPOT"
home_region = "us-west-2"
[fleet.sessions]
active = 5

[[fleet]]
id = "{FLEET_B}"
name = "b"
type = "ON_DEMAND"
home_region = "us-west-2"
[fleet.sessions]
active = 3
"#
    )
}

/// The most requests of the log that fall in any one-second window.
fn busiest_second(requests: &[&RequestRecord]) -> usize {
    let times: Vec<Instant> = requests.iter().map(|r| r.at).collect();
    (0..times.len())
        .map(|i| {
            times[i..]
                .iter()
                .take_while(|t| t.duration_since(times[i]) < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interval_the_budgets_cannot_pay_for_is_stretched_and_said_so() {
    // DescribeGameSessions gets 20/s x 0.1 = 2/s, of which full passes may take a quarter: a
    // live round of 2 fleets x 3 statuses = 6 pages needs 6 / 1.5 = 4 s, not the 1 s asked.
    let h = Harness::with_config(&small_world(), |url| {
        let mut c = support::test_config(url);
        c.aws.regions = vec!["us-west-2".into()];
        c.aws.quota_share = 0.1;
        c.aws.max_requests_per_second = 100.0;
        c.sweep.interval = Duration::from_secs(1);
        c.sweep.history_budget_share = 0.25;
        c
    })
    .await;
    let started = Instant::now();
    let _running = Scheduled::start(&h);
    let effective = series(
        "gamelift_exporter_effective_interval_seconds",
        &[("account", "default"), ("region", "us-west-2")],
    );
    let mut seen = Vec::new();
    while started.elapsed() < Duration::from_secs(14) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let (_, metrics) = h.scrape_settled().await;
        if let Some(value) = metrics.get(&effective) {
            seen.push(*value);
        }
    }
    let (_, metrics) = h.scrape_settled().await;
    let configured = |operation: &str| {
        metrics[&series(
            "gamelift_exporter_request_budget_configured_per_second",
            &[
                ("account", "default"),
                ("operation", operation),
                ("region", "us-west-2"),
            ],
        )]
    };
    assert_eq!(configured("DescribeGameSessions"), 2.0);
    assert_eq!(configured("DescribeFleetEvents"), 3.0);
    assert_eq!(configured("all"), 100.0);

    // Published from the first live passes on, the same every time: 6 / (2 - 0.25 x 2) = 4 s.
    assert!(seen.len() >= 20, "{seen:?}");
    let settled: Vec<f64> = seen.iter().copied().skip_while(|v| *v < 4.0).collect();
    assert!(settled.len() >= seen.len() - 6, "published late: {seen:?}");
    assert!(settled.iter().all(|v| *v == 4.0), "not stable at 4 s: {seen:?}");

    // Each fleet's live passes (the first page of its ACTIVE listing) come every 4 s, not every
    // 1 s: in 14 s, the first pass, at most one planned before the other fleet's first pass was
    // known, and three more. (A pass's first request also waits for the budget, so single gaps
    // vary by that wait.)
    let requests = h.sim.requests();
    for fleet in [FLEET_A, FLEET_B] {
        let starts: Vec<Instant> = requests
            .iter()
            .filter(|r| {
                r.operation == "DescribeGameSessions"
                    && r.params.contains(fleet)
                    && r.params.contains("\"StatusFilter\":\"ACTIVE\"")
            })
            .map(|r| r.at)
            .collect();
        assert!(
            (3..=5).contains(&starts.len()),
            "{fleet}: {} live passes in 14 s",
            starts.len()
        );
    }

    // Every operation's budget held in every one-second window (rate + 1 at most), and the cap.
    let mut by_operation: BTreeMap<&str, Vec<&RequestRecord>> = BTreeMap::new();
    for request in &requests {
        by_operation
            .entry(request.operation.as_str())
            .or_default()
            .push(request);
    }
    for (operation, log) in &by_operation {
        let budget = configured(operation);
        let worst = busiest_second(log);
        assert!(
            worst as f64 <= budget + 1.0,
            "{operation}: {worst} requests in one second, budget {budget}/s"
        );
    }
    let all: Vec<&RequestRecord> = requests.iter().collect();
    assert!(busiest_second(&all) <= 101);
    // The waits are shown: DescribeGameSessions calls waited for their budget.
    let waited = total(
        &metrics,
        "gamelift_exporter_request_budget_wait_seconds_total",
        &[("operation", "DescribeGameSessions")],
    );
    assert!(waited > 1.0, "DescribeGameSessions waited {waited} s in all");
}

const PROD_ID: &str = "123456789012";
const STAGING_ID: &str = "210987654321";
const STAGING_ROLE: &str = "arn:aws:iam::210987654321:role/gamelift-exporter";

/// Two accounts with a spot and an on-demand fleet in each of two Regions; the second account
/// is reachable only through a role, with an external id.
fn two_accounts() -> String {
    let mut text = format!(
        r#"
seed = 31
account_id = "{PROD_ID}"
[faults]
rate_limits = {{}}

[[account]]
id = "{STAGING_ID}"
name = "staging"
[[account.role]]
arn = "{STAGING_ROLE}"
external_id = "gle-staging"
"#
    );
    let mut n = 0;
    for (account, prefix) in [(PROD_ID, "prod"), (STAGING_ID, "staging")] {
        for region in ["us-west-2", "eu-west-1"] {
            for (kind, active) in [("SPOT", 9), ("ON_DEMAND", 4)] {
                n += 1;
                text += &format!(
                    "\n[[fleet]]\nid = \"fleet-{n:08x}-0000-4000-8000-000000000000\"\nname = \"{prefix}-{region}-{}\"\ntype = \"{kind}\"\nhome_region = \"{region}\"\naccount = \"{account}\"\n[fleet.sessions]\nactive = {active}\nterminated = 3\ninterrupted = {}\n",
                    kind.to_lowercase(),
                    if kind == "SPOT" { 2 } else { 0 }
                );
            }
        }
    }
    text
}

#[tokio::test]
async fn two_accounts_in_two_regions_each_and_a_role_that_cannot_be_assumed() {
    use gamelift_exporter::config::{AccountConfig, FleetFilter};
    let account =
        |name: &str, role: Option<&str>, external_id: Option<&str>, regions: &[&str]| AccountConfig {
            name: name.to_string(),
            regions: regions.iter().map(|r| r.to_string()).collect(),
            role_arn: role.map(str::to_string),
            external_id: external_id.map(str::to_string),
            session_name: "gamelift-exporter".to_string(),
            fleets: FleetFilter::default(),
        };
    let h = Harness::start(&two_accounts(), |c| {
        c.accounts = vec![
            account("prod", None, None, &["us-west-2", "eu-west-1"]),
            account(
                "staging",
                Some(STAGING_ROLE),
                Some("gle-staging"),
                &["us-west-2", "eu-west-1"],
            ),
            account(
                "broken",
                Some("arn:aws:iam::333333333333:role/not-there"),
                None,
                &["us-west-2"],
            ),
        ];
    })
    .await;
    let report = h.exporter.sweep_once().await;
    assert_eq!(report.fleets_failed, 0);
    assert_eq!(
        report.fleets_ok, 8,
        "four fleets in each of the two working accounts"
    );
    // The account whose role cannot be assumed has its reason published; it does not hold the
    // exporter (and the others' series) unready.
    assert_eq!(h.get("/-/ready").await.0, 200, "ready with one account down");
    let (_, metrics) = h.scrape_settled().await;

    // Every session number is exact, for both accounts' fleets.
    crate::support::assert_metrics_eq(
        &crate::support::only(&metrics, &crate::support::SESSION_METRICS),
        &crate::support::only(&h.truth(), &crate::support::SESSION_METRICS),
        "sessions of both accounts",
    );
    // Each fleet is labelled with the account it was found in, and that account's id.
    let info = crate::support::only(&metrics, &["gamelift_fleet_info"]);
    assert_eq!(info.len(), 8);
    for key in info.keys() {
        let expected = if key.contains("fleet_name=\"prod-") {
            format!("account=\"prod\",account_id=\"{PROD_ID}\"")
        } else {
            format!("account=\"staging\",account_id=\"{STAGING_ID}\"")
        };
        assert!(key.contains(&expected), "{key}");
    }
    // The simulator saw each account's calls under that account, and none under the unknown one.
    let requests = h.sim.requests();
    for (name, id) in [("prod", PROD_ID), ("staging", STAGING_ID)] {
        let seen = requests
            .iter()
            .filter(|r| r.account == id && r.operation != "AssumeRole")
            .count() as f64;
        let counted = total(
            &metrics,
            "gamelift_exporter_api_requests_total",
            &[("account", name)],
        );
        assert_eq!(
            counted, seen,
            "{name}: requests counted as the simulator saw them"
        );
        assert!(seen > 0.0);
    }
    assert!(!requests.iter().any(|r| r.account == "333333333333"));
    assert!(
        requests
            .iter()
            .any(|r| r.operation == "AssumeRole" && r.outcome == "ok"),
        "the staging role was assumed through STS"
    );
    // The role that cannot be assumed takes only its own account down.
    let up = |name: &str| metrics[&series("gamelift_exporter_account_up", &[("account", name)])];
    assert_eq!((up("prod"), up("staging"), up("broken")), (1.0, 1.0, 0.0));
    assert!(
        metrics[&series(
            "gamelift_exporter_api_request_failures_total",
            &[
                ("account", "broken"),
                ("operation", "AssumeRole"),
                ("reason", "unauthorized"),
                ("region", "us-west-2"),
            ],
        )] >= 1.0
    );
    assert_eq!(
        total(
            &metrics,
            "gamelift_exporter_api_requests_total",
            &[("account", "broken")]
        ),
        0.0,
        "without credentials no GameLift request leaves"
    );
}

#[tokio::test]
async fn check_config_prints_the_quota_arithmetic_for_the_fleets_it_reaches() {
    use gamelift_exporter::simulator::{Clock, Simulator};
    let sim = Simulator::start(&crate::support::scenario(&small_world()), Clock::Manual)
        .await
        .unwrap();
    let config = crate::support::temp_path("quota.toml");
    std::fs::write(
        &config,
        format!(
            "[aws]\nregion = \"us-west-2\"\nendpoint_url = \"{}\"\nquota_share = 0.1\nmax_requests_per_second = 100\n",
            sim.url
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap().to_string();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_gamelift-exporter"))
            .args(["--config", &config, "--check-config"])
            .env("AWS_ACCESS_KEY_ID", "AKIDTEST")
            .env("AWS_SECRET_ACCESS_KEY", "test-secret")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The budgets: 20/s x 0.1 and 30/s x 0.1, under the cap of 100/s.
    assert!(
        stdout.contains("#   DescribeGameSessions: 2/s (AWS's 20/s x 0.1 = 2/s)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("#   DescribeFleetEvents: 3/s (AWS's 30/s x 0.1 = 3/s)"),
        "{stdout}"
    );
    // The two fleets it reached: 6 listing calls need 6 / (2 - 0.25 x 2) = 4 s.
    assert!(
        stdout.contains("# account \"default\", us-west-2: 2 fleets in 2 locations; a live round costs at least 6 DescribeGameSessions + 2 DescribeFleetEvents calls, which the budgets pay for every 4s or more (sweep.interval = 1m); a capacity cycle costs 2 x ceil(2 / batch) + 0 calls."),
        "{stdout}"
    );
    // And it is still a config that loads.
    let printed = crate::support::temp_path("printed.toml");
    std::fs::write(&printed, stdout.as_bytes()).unwrap();
    gamelift_exporter::config::Config::load(&printed).unwrap();
}
