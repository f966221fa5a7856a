//! Bad scenario and config files fail with the exact message (file, line, column, field, what
//! was expected) and exit code 2, through the real binary.

use std::process::Command;

const BINARY: &str = env!("CARGO_BIN_EXE_gamelift-exporter");

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(BINARY)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("RUST_LOG")
        .output()
        .expect("run the binary");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[track_caller]
fn assert_rejected(args: &[&str], expected: &str) {
    let (code, _, stderr) = run(args);
    assert_eq!(code, Some(2), "exit code for {args:?}\nstderr: {stderr}");
    assert_eq!(stderr.trim_end(), expected, "message for {args:?}");
}

#[test]
fn bad_scenarios_name_file_line_and_field() {
    let cases = [
        ("unknown_field", "7:1: field `fleet[0].max_player`: unknown field `max_player`, expected one of `id`, `name`, `type`, `compute_type`, `home_region`, `locations`, `alias_id`, `account`, `max_players`, `sessions_per_instance`, `sessions`, `occupancy`, `churn`, `status`, `location_status`, `capacity`"),
        ("bad_enum", "5:8: field `fleet[0].type`: unknown variant `RESERVED`, expected `SPOT` or `ON_DEMAND`"),
        ("negative_count", "9:10: field `fleet[0].sessions.active`: invalid count -5: expected a whole number from 0 to 4294967295"),
        ("unknown_operation", "2:1: field `faults.rate_limits`: unknown operation \"DescribeGameSession\": expected one of ListFleets, DescribeFleetAttributes, DescribeFleetLocationAttributes, DescribeGameSessions, DescribeGameSessionDetails, DescribeFleetEvents, DescribeFleetCapacity, DescribeFleetLocationCapacity, DescribeFleetUtilization, DescribeFleetLocationUtilization, DescribeGameSessionQueues, DescribeMatchmakingConfigurations"),
        ("bad_ratio", "3:22: field `faults.server_error_ratio`: invalid value 1.5: expected a fraction between 0 and 1"),
        ("ondemand_interruptions", "9:1: field `fleet[0].churn.interruption_probability`: only SPOT fleets are interrupted; set type = \"SPOT\" or remove it"),
        ("unknown_event_code", "9:43: field `fleet[0].churn.events.SERVER_CRASHED`: unknown event code \"SERVER_CRASHED\": expected a GameLift EventCode such as SERVER_PROCESS_CRASHED (all are listed in config/scenarios/README.md)"),
        ("random_instance_interrupted", "10:1: field `fleet[0].churn.events.INSTANCE_INTERRUPTED`: INSTANCE_INTERRUPTED is not drawn at random: spot reclaims emit it (set interruption_probability)"),
        ("zero_sessions_per_instance", "7:25: field `fleet[0].sessions_per_instance`: invalid value 0: expected at least 1"),
    ];
    for (name, message) in cases {
        let file = format!("tests/fixtures/scenarios/{name}.toml");
        assert_rejected(
            &["simulate", "--scenario", &file, "--listen", "127.0.0.1:0"],
            &format!("gamelift-exporter: {file}:{message}"),
        );
    }
    assert_rejected(
        &["simulate", "--scenario", "tests/fixtures/scenarios/missing.toml", "--listen", "127.0.0.1:0"],
        "gamelift-exporter: tests/fixtures/scenarios/missing.toml: cannot read file: No such file or directory (os error 2)",
    );
}

#[test]
fn bad_configs_name_file_line_and_field() {
    let cases = [
        ("syntax_error", "3:7: unclosed table, expected `]`"),
        ("unknown_key", "3:1: field `sweep.pagesize`: unknown field `pagesize`, expected one of `interval`, `history_interval`, `discovery_interval`, `capacity_interval`, `page_size`, `live_statuses`, `history_budget_share`, `max_session_lookups`, `concurrency`, `timeout`, `stale_after`"),
        ("bad_duration", "2:12: field `sweep.interval`: invalid duration \"1 minute\": unexpected ' ', expected a duration such as \"500ms\", \"60s\", \"5m\", \"1h30m\" or \"30d\""),
        ("empty_region", "2:10: field `aws.region`: empty region: expected an AWS Region code such as \"us-west-2\""),
        ("invalid_listen", "2:10: field `server.listen`: invalid listen address \"localhost\": expected IP:PORT such as \"0.0.0.0:10319\" or \"[::1]:10319\""),
        ("bad_glob", "2:11: field `fleets.include`: invalid glob \"prod-[abc]\": unsupported character '[' (only * and ? are special)"),
        ("bad_endpoint", "2:16: field `aws.endpoint_url`: invalid endpoint URL \"127.0.0.1:4566\": expected http:// or https:// followed by a host"),
        ("bad_page_size", "2:13: field `sweep.page_size`: invalid page size 0: expected 1 to 1000"),
        ("region_and_regions", "3:1: field `aws.regions`: set either `region` or `regions`, not both"),
        ("live_statuses_without_active", "2:17: field `sweep.live_statuses`: ACTIVE must be listed: players, slots and occupancy come from it"),
        ("tiny_rate", "2:27: field `aws.max_requests_per_second`: invalid value 1e-20: expected requests per second from 0.01 to 1000000"),
        ("bad_share", "2:24: field `sweep.history_budget_share`: invalid share 1: expected a fraction above 0 and below 1"),
        ("empty_state_path", "2:8: field `state.path`: empty path: expected a file name"),
        ("bad_quota_share", "2:15: field `aws.quota_share`: invalid share 0: expected a fraction above 0 (at most 1 unless AWS raised your quotas; at most 1000)"),
        ("duplicate_account", "5:1: field `accounts[1].name`: account name \"prod\" is used twice: expected a unique name per account"),
        ("external_id_without_role", "3:1: field `accounts[0].external_id`: an external id is only sent when assuming a role: set role_arn too"),
        ("bad_role_arn", "3:12: field `accounts[0].role_arn`: invalid role ARN \"arn:aws:iam::2109:role/x\": expected arn:aws:iam::<12-digit account id>:role/<name>"),
        ("events_unknown_account", "6:1: field `events.account`: no [[accounts]] entry is named \"staging\""),
        ("bad_queue_url", "2:17: field `events.sqs_queue_url`: invalid queue URL \"https://sqs.us-west-2.amazonaws.com/q\": expected https://sqs.<region>.amazonaws.com/<account id>/<queue name>"),
        ("long_wait_time", "3:13: field `events.wait_time`: invalid wait time \"30s\": SQS long polling waits 0s to 20s"),
        ("stale_after_below_two_intervals", "3:1: field `sweep.stale_after`: stale_after 15m is less than twice sweep.interval (10m): every fleet would turn stale between two live passes; expected at least 20m"),
        ("one_aws_account_twice", "10:1: field `accounts[1]`: accounts \"prod-a\" and \"prod-b\" are both AWS account 210987654321 in Region us-west-2: each would spend the account's quota share; expected one entry per AWS account and Region (its fleets filter can select both sets of fleets)"),
    ];
    for (name, message) in cases {
        let file = format!("tests/fixtures/configs/{name}.toml");
        assert_rejected(
            &["--config", &file, "--check-config"],
            &format!("gamelift-exporter: invalid config: {file}:{message}"),
        );
        // The same file refuses to start the exporter, before anything listens.
        assert_rejected(
            &["--config", &file],
            &format!("gamelift-exporter: invalid config: {file}:{message}"),
        );
    }
    assert_rejected(
        &["--config", "tests/fixtures/configs", "--check-config"],
        "gamelift-exporter: invalid config: tests/fixtures/configs: cannot read file: Is a directory (os error 21)",
    );
    assert_rejected(
        &["--config", "tests/fixtures/configs/missing.toml", "--check-config"],
        "gamelift-exporter: invalid config: tests/fixtures/configs/missing.toml: cannot read file: No such file or directory (os error 2)",
    );
}

/// Every `section.key = value` of a TOML document, values as TOML text.
fn keys(text: &str) -> std::collections::BTreeMap<String, String> {
    let table: toml::Table = text.parse().expect("valid TOML");
    let mut out = std::collections::BTreeMap::new();
    for (section, value) in table {
        match value {
            toml::Value::Table(entries) => {
                for (key, value) in entries {
                    out.insert(format!("{section}.{key}"), value.to_string());
                }
            }
            other => {
                out.insert(section, other.to_string());
            }
        }
    }
    out
}

#[test]
fn check_config_prints_every_effective_key_and_round_trips() {
    let example = "config/gamelift-exporter.toml";
    let (code, stdout, stderr) = run(&["--config", example, "--check-config"]);
    assert_eq!(code, Some(0), "{stderr}");
    let printed = keys(&stdout);
    let written =
        keys(&std::fs::read_to_string(format!("{}/{example}", env!("CARGO_MANIFEST_DIR"))).unwrap());
    for key in written.keys() {
        assert!(
            printed.contains_key(key),
            "--check-config leaves out {key}:\n{stdout}"
        );
    }
    // Every key the config has, not only those the example sets: the example's commented keys
    // are named as unset.
    for key in [
        "server.web_config_file",
        "aws.endpoint_url",
        "aws.profile",
        "state.path",
    ] {
        assert!(stdout.contains(&format!("# not set: {key}")), "{key}:\n{stdout}");
    }
    assert_eq!(
        printed["sweep.interval"], "\"1m\"",
        "durations in their canonical form"
    );
    assert_eq!(
        printed["sweep.live_statuses"],
        "[\"ACTIVE\", \"ACTIVATING\", \"TERMINATING\"]"
    );
    // The printed config, loaded again, is the same effective config, and prints the same.
    let copy = std::env::temp_dir().join(format!("effective-{}.toml", std::process::id()));
    std::fs::write(&copy, &stdout).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let original = gamelift_exporter::config::Config::load(&root.join(example)).unwrap();
    let reloaded = gamelift_exporter::config::Config::load(&copy).unwrap();
    assert_eq!(
        gamelift_exporter::config::Config {
            source: None,
            ..reloaded
        },
        gamelift_exporter::config::Config {
            source: None,
            ..original
        }
    );
    let (code, again, _) = run(&["--config", copy.to_str().unwrap(), "--check-config"]);
    assert_eq!((code, again), (Some(0), stdout));
    std::fs::remove_file(copy).unwrap();

    // Without a file: the defaults, and the Region from the default AWS chain.
    let (code, stdout, _) = run(&["--check-config"]);
    assert_eq!(code, Some(0));
    assert!(
        stdout.contains("# not set: aws.region and aws.regions (the Region of the default AWS chain)"),
        "{stdout}"
    );
    // Command-line overrides are part of the effective config.
    let (code, stdout, stderr) = run(&["--check-config", "--web.config.file", "tests/fixtures/web/ok.yml"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stdout.contains("web_config_file = \"tests/fixtures/web/ok.yml\""),
        "{stdout}"
    );
}

#[test]
fn bad_flags_are_usage_errors() {
    let (code, _, stderr) = run(&["--log-format", "xml"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("invalid value 'xml' for '--log.format <LOG_FORMAT>'"),
        "{stderr}"
    );
}

#[test]
fn every_example_scenario_and_config_is_valid() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seen = 0;
    for entry in std::fs::read_dir(root.join("config/scenarios")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            gamelift_exporter::simulator::Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
            seen += 1;
        }
    }
    assert_eq!(seen, 5, "accounts, demo, minimal, faults, large");
    gamelift_exporter::config::Config::load(&root.join("config/gamelift-exporter.toml")).unwrap();
}
