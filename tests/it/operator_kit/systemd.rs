//! The systemd units (`systemd/*.service`): their contract (ExecStart with the config and the
//! state file in the StateDirectory, reload, sandbox), `systemd-analyze security` exposure at most
//! [`MAX_EXPOSURE`], and `systemd-analyze verify` without a word.

use super::{describe, read, repo_path, run, tool};
use crate::support;
use std::fs;
use std::path::Path;
use std::process::Command;

const UNITS: [&str; 2] = [
    "systemd/gamelift-exporter.service",
    "systemd/gamelift-exporter@.service",
];
/// Highest acceptable `systemd-analyze security` exposure level: what the units have scored since
/// they were hardened (1.1), so that no change loosens them unnoticed.
const MAX_EXPOSURE: f64 = 1.1;

/// Copies a directory tree; symlinks are copied as symlinks.
fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap_or_else(|e| panic!("read_dir {}: {e}", from.display())) {
        let entry = entry.unwrap();
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let ty = entry.file_type().unwrap();
        if ty.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&src).unwrap(), &dst).unwrap();
        } else if ty.is_dir() {
            copy_tree(&src, &dst);
        } else {
            fs::copy(&src, &dst).unwrap();
        }
    }
}

fn write_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, "#!/bin/sh\nexit 0\n").unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// Absolute paths of the executables a unit's Exec*= lines run.
fn unit_executables(unit: &str) -> Vec<String> {
    unit.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#') && l.starts_with("Exec"))
        .filter_map(|l| l.split_once('=').map(|(_, v)| v.trim()))
        .filter_map(|v| {
            v.trim_start_matches(['-', '@', ':', '+', '!'])
                .split_whitespace()
                .next()
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn systemd_units_are_hardened_and_verify() {
    let Some(analyze) = tool(
        "systemd-analyze",
        &["/usr/bin/systemd-analyze", "/bin/systemd-analyze"],
    ) else {
        return;
    };

    // `verify` runs on a scratch root (--root): the unit's binaries are
    // stand-ins there, so it passes before the exporter is installed, and the
    // distribution's units (sysinit.target, ...) are copied in for the default
    // dependencies. Real problems (unknown keys, bad values, missing
    // executables) are printed as warnings, so the output must be empty.
    let root = support::temp_dir("systemd-root");
    let system_units = ["/usr/lib/systemd/system", "/lib/systemd/system"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.join("sysinit.target").exists())
        .expect("no /usr/lib/systemd/system/sysinit.target: is the systemd package installed?");
    copy_tree(system_units, &root.join(system_units.strip_prefix("/").unwrap()));
    let etc = root.join("etc/systemd/system");
    fs::create_dir_all(&etc).unwrap();

    let mut report = Vec::new();
    for rel in UNITS {
        let text = read(rel);
        let name = Path::new(rel).file_name().unwrap().to_str().unwrap();

        // The contract of the units.
        // The state file lives in the unit's StateDirectory (one per instance for the template),
        // which systemd creates, owned by the dynamic user, and keeps across restarts.
        let (config, state_directory, state) = if name.contains('@') {
            (
                "/etc/gamelift-exporter/%i.toml",
                "gamelift-exporter/%i",
                "${STATE_DIRECTORY}/state.json",
            )
        } else {
            (
                "/etc/gamelift-exporter/gamelift-exporter.toml",
                "gamelift-exporter",
                "${STATE_DIRECTORY}/state.json",
            )
        };
        for line in [
            format!("ExecStart=/usr/local/bin/gamelift-exporter --config {config} --state.path {state}"),
            format!("StateDirectory={state_directory}"),
            "StateDirectoryMode=0700".to_string(),
            "ExecReload=/bin/kill -HUP $MAINPID".to_string(),
            "Restart=on-failure".to_string(),
            // Exit status 2 is a bad config: restarting cannot fix it (README, exit codes).
            "RestartPreventExitStatus=2".to_string(),
            "DynamicUser=yes".to_string(),
            "CapabilityBoundingSet=".to_string(),
            "ProtectSystem=strict".to_string(),
            "SystemCallFilter=@system-service".to_string(),
            "UMask=0077".to_string(),
        ] {
            assert!(text.lines().any(|l| l.trim() == line), "{rel}: missing `{line}`");
        }
        assert!(
            text.contains("LoadCredential=aws-credentials:")
                && text.contains("AWS_SHARED_CREDENTIALS_FILE=%d/aws-credentials"),
            "{rel}: the credentials how-to (LoadCredential/AWS_SHARED_CREDENTIALS_FILE) is missing"
        );

        // Exposure.
        let unit_path = repo_path(rel);
        let out = run(Command::new(&analyze)
            .arg("security")
            .arg("--offline=yes")
            .arg(&unit_path));
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{}",
            describe(&format!("systemd-analyze security --offline=yes {rel}"), &out)
        );
        let line = stdout
            .lines()
            .find(|l| l.contains("Overall exposure level"))
            .unwrap_or_else(|| panic!("no exposure level in:\n{stdout}"));
        let level: f64 = line
            .rsplit_once(':')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("cannot parse exposure from {line:?}"));
        assert!(
            level <= MAX_EXPOSURE,
            "{rel}: exposure {level} > {MAX_EXPOSURE}\n{stdout}"
        );

        // Verify.
        fs::write(etc.join(name), &text).unwrap();
        for exe in unit_executables(&text) {
            assert!(
                exe.starts_with('/'),
                "{rel}: Exec command {exe} is not an absolute path"
            );
            write_executable(&root.join(exe.trim_start_matches('/')));
        }
        let mut names = vec![name.to_string()];
        if name.contains('@') {
            names.push(name.replace("@.", "@prod-eu-west-1."));
        }
        for unit in names {
            let out = run(Command::new(&analyze)
                .arg("verify")
                .arg(format!("--root={}", root.display()))
                .arg(&unit));
            let noise = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                out.status.success() && noise.trim().is_empty(),
                "{}",
                describe(&format!("systemd-analyze verify --root=... {unit}"), &out)
            );
        }
        report.push(format!("{rel}: exposure {level}, verify clean"));
    }
    let _ = fs::remove_dir_all(&root);
    println!("{}", report.join("\n"));
}
