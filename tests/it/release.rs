//! A release people can install: the licence and changelog, the release profile, `--version`
//! with the git revision, the log flags and their flat JSON lines, and `cargo install --locked`
//! from a fresh clone.

use crate::support::{self, Process};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn repo(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// `git rev-parse --short=12 HEAD` in `dir`, as build.rs records it.
fn revision(dir: &Path) -> String {
    let out = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// What `--version` must print for a build of `revision`.
fn expected_version(revision: &str) -> String {
    let rustc = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("--version")
        .output()
        .unwrap();
    let rustc = String::from_utf8_lossy(&rustc.stdout);
    let rustc = rustc.split_whitespace().nth(1).unwrap();
    format!(
        "gamelift-exporter {} (revision {revision}, rustc {rustc})",
        env!("CARGO_PKG_VERSION")
    )
}

#[test]
fn licence_changelog_and_release_profile() {
    // The Apache-2.0 text Cargo.toml names, whole.
    let licence = read("LICENSE");
    assert!(licence.trim_start().starts_with("Apache License"));
    for part in [
        "Version 2.0, January 2004",
        "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION",
        "9. Accepting Warranty or Additional Liability.",
        "END OF TERMS AND CONDITIONS",
    ] {
        assert!(licence.contains(part), "LICENSE lacks {part:?}");
    }
    let manifest: toml::Table = read("Cargo.toml").parse().unwrap();
    assert_eq!(manifest["package"]["license"].as_str(), Some("Apache-2.0"));

    // Keep a Changelog, with the label change of the API metrics.
    let changelog = read("CHANGELOG.md");
    assert!(changelog.starts_with("# Changelog\n"));
    assert!(changelog.contains("[Keep a Changelog](https://keepachangelog.com/"));
    assert!(changelog.contains("\n## [Unreleased]\n"));
    for part in [
        "### Changed",
        "### Added",
        "`gamelift_exporter_api_requests_total` has the labels `account`, `region`, `operation` (was\n  `operation`)",
    ] {
        assert!(changelog.contains(part), "CHANGELOG.md lacks {part:?}");
    }

    // The release profile, as the README states it.
    let release = manifest["profile"]["release"]
        .as_table()
        .expect("[profile.release]");
    assert_eq!(release["lto"].as_str(), Some("fat"));
    assert_eq!(release["codegen-units"].as_integer(), Some(1));
    assert_eq!(release["strip"].as_str(), Some("symbols"));
    assert_eq!(
        release["panic"].as_str(),
        Some("unwind"),
        "a panicking pass is caught where its task is joined"
    );
    let readme = read("README.md");
    assert!(readme.contains("cargo install --locked --path ."));
    assert!(!readme.contains("RELEASE_SIZE") && !readme.contains("RELEASE_TIME"));
}

#[test]
fn version_names_the_git_revision() {
    if !support::require_tool("git") {
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_gamelift-exporter"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim_end(),
        expected_version(&revision(&repo("")))
    );
}

/// Starts the exporter on the demo with these log flags; stops it once its log holds `until`;
/// returns the log.
fn demo_log(flags: &[&str], until: &str) -> (String, u16) {
    let port = support::free_port();
    let config = support::temp_path("logs.toml");
    std::fs::write(&config, format!("[server]\nlisten = \"127.0.0.1:{port}\"\n")).unwrap();
    let mut args = vec!["--demo", "--config", config.to_str().unwrap()];
    args.extend_from_slice(flags);
    let mut exporter = support::ExporterProcess::start(&args, "");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !exporter.log().contains(until) {
        if let Some(status) = exporter.exited() {
            panic!("exited with {status}\n{}", exporter.log_tail(20));
        }
        assert!(Instant::now() < deadline, "{}", exporter.log_tail(20));
        std::thread::sleep(Duration::from_millis(50));
    }
    exporter.signal("TERM");
    let deadline = Instant::now() + Duration::from_secs(15);
    while exporter.exited().is_none() {
        assert!(Instant::now() < deadline, "SIGTERM did not stop it");
        std::thread::sleep(Duration::from_millis(50));
    }
    (exporter.log(), port)
}

#[test]
fn log_flags_and_their_aliases_write_flat_json_lines() {
    for flags in [
        ["--log.format=json", "--log.level=info"],
        ["--log-format=json", "--log-level=info"],
    ] {
        let (log, port) = demo_log(&flags, "fleets discovered");
        let lines: Vec<serde_json::Value> = log
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{flags:?}: not JSON ({e}): {l}")))
            .collect();
        for (line, text) in lines.iter().zip(log.lines()) {
            let keys: Vec<&String> = line.as_object().unwrap().keys().collect();
            assert!(
                text.starts_with("{\"ts\":\"")
                    && text.contains("\",\"level\":\"")
                    && text.contains("\",\"msg\":\""),
                "{flags:?}: {text}"
            );
            assert!(
                ["error", "warn", "info"].contains(&line["level"].as_str().unwrap()),
                "{flags:?}: level {} at --log.level=info",
                line["level"]
            );
            assert!(!keys.iter().any(|k| *k == "fields" || *k == "message"), "{text}");
        }
        let serving = lines
            .iter()
            .find(|l| l["msg"] == "serving /metrics")
            .unwrap_or_else(|| panic!("{flags:?}: no \"serving /metrics\" line:\n{log}"));
        assert_eq!(serving["level"], "info");
        assert_eq!(serving["target"], "gamelift_exporter");
        assert_eq!(serving["address"], format!("127.0.0.1:{port}"));
        let discovered = lines.iter().find(|l| l["msg"] == "fleets discovered").unwrap();
        assert!(
            discovered["fleets"].is_u64(),
            "a number stays a number: {discovered}"
        );
        assert!(lines.iter().any(|l| l["msg"] == "shutting down"), "{log}");
    }
    // The level filter applies, and a bad one names the new flag.
    let (log, _) = demo_log(&["--log.format", "json", "--log.level", "warn"], "DEMO MODE");
    assert!(!log.contains("\"level\":\"info\""), "{log}");
    assert!(log.contains("\"level\":\"warn\",\"msg\":\"DEMO MODE"), "{log}");
    let out = Command::new(env!("CARGO_BIN_EXE_gamelift-exporter"))
        .args([
            "--log.level",
            "gamelift_exporter=loud",
            "--check-config",
            "--demo",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .starts_with("gamelift-exporter: invalid --log.level \"gamelift_exporter=loud\": "),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The release profile's settings that make it slow, overridden (as environment variables, so the
/// command stays `cargo install --locked --path .`) for this test: fat LTO over the AWS SDK in one
/// codegen unit took 12.5 minutes (620 s of CPU) on a 2-core machine, too long for every CI run.
/// The test proves what `cargo install` needs from the repository: a committed `Cargo.lock` that
/// `--locked` accepts, a build that works from a fresh clone, a build script that finds the
/// revision there, an installed binary that runs. The profile's own settings are checked in
/// [`licence_changelog_and_release_profile`]; its build time and binary size in the README were
/// measured with it as it is.
const INSTALL_PROFILE: [(&str, &str); 4] = [
    ("CARGO_PROFILE_RELEASE_LTO", "false"),
    ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "256"),
    ("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0"),
    ("CARGO_PROFILE_RELEASE_INCREMENTAL", "false"),
];

/// `cargo install --locked --path .` from a fresh clone of the committed tree, then the installed
/// binary's `--version`. The clone builds offline, from the crates this test run's build
/// fetched.
#[test]
fn cargo_install_from_a_fresh_clone() {
    if !support::require_tool("git") {
        return;
    }
    let work = support::temp_dir("install");
    let clone = work.join("clone");
    let status = Command::new("git")
        .args(["clone", "--quiet", "--no-hardlinks"])
        .arg(repo(""))
        .arg(&clone)
        .status()
        .unwrap();
    assert!(status.success());
    let root = work.join("root");
    let started = Instant::now();
    let mut install = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    install
        .args(["install", "--locked", "--offline", "--path", "."])
        .arg("--root")
        .arg(&root)
        .current_dir(&clone)
        .env("CARGO_TARGET_DIR", work.join("target"))
        .envs(INSTALL_PROFILE.iter().copied());
    let mut build = Process::spawn("cargo-install", &mut install);
    let status = loop {
        if let Some(status) = build.exited() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(status.success(), "cargo install failed\n{}", build.log_tail(40));
    let binary = root.join("bin/gamelift-exporter");
    let out = Command::new(&binary).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim_end(),
        expected_version(&revision(&clone)),
        "the installed binary's --version"
    );
    let size = std::fs::metadata(&binary).unwrap().len();
    println!(
        "cargo install --locked --path . from a fresh clone: {:.0} s, {size} bytes installed",
        started.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&work);
}
