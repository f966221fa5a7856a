//! The container image (`Containerfile`, `deploy/container/`) and the Kubernetes manifests
//! (`deploy/kubernetes/`).
//!
//! - The image is built by `deploy/container/build.sh` with buildah, in a network namespace of
//!   its own (no network at all: nothing is pulled), from the exporter binary this test run
//!   built; its root filesystem is then run as the image says (entrypoint, command, user 65532)
//!   under `chroot`, read-only, with a state volume and a config mounted as Kubernetes would,
//!   and serves the demo. Needs root (mount namespaces, chroot) and buildah, apt-get, dpkg-deb,
//!   readelf, strip, unshare, chroot.
//! - The manifests (a kustomize base, two optional components and two overlays) are rendered
//!   with `kubectl kustomize` and validated offline against Kubernetes' schemas
//!   (`kubernetes-validate`) and, for the prometheus-operator kinds, against models generated from
//!   its CRDs (`deploy/kubernetes/validate-crds.py`); a config change renames the generated
//!   ConfigMap and so changes the pod template; the PrometheusRule is the rules file, which
//!   promtool checks and tests; the resources agree with each other, with the image and with the
//!   exporter's own `--check-config`.

use crate::support::{self, http, parse_metrics, Process};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const MANIFESTS: &str = "deploy/kubernetes";
/// The base: everything the exporter needs, nothing that needs CRDs.
const BASE: &str = "deploy/kubernetes/base";
/// The config the base's configMapGenerator turns into the ConfigMap.
const CONFIG_TOML: &str = "deploy/kubernetes/base/gamelift-exporter.toml";
const RULES: &str = "config/prometheus/gamelift-exporter.rules.yml";
const OPT_IN_RULES: &str = "config/prometheus/gamelift-exporter.opt-in.rules.yml";
const RULE_TESTS: &str = "config/prometheus/gamelift-exporter.rules.test.yml";
const PROMETHEUS_RULE: &str = "deploy/kubernetes/components/prometheusrule/prometheusrule.yaml";
const SERVICE_MONITOR: &str = "deploy/kubernetes/components/servicemonitor/servicemonitor.yaml";
/// What `kubectl kustomize` renders, and the kinds each holds.
const RENDERINGS: [(&str, &[&str]); 3] = [
    (
        "deploy/kubernetes",
        &[
            "ConfigMap",
            "Deployment",
            "Namespace",
            "NetworkPolicy",
            "Service",
            "ServiceAccount",
        ],
    ),
    (
        "deploy/kubernetes/overlays/persistent-state",
        &[
            "ConfigMap",
            "Deployment",
            "Namespace",
            "NetworkPolicy",
            "PersistentVolumeClaim",
            "Service",
            "ServiceAccount",
        ],
    ),
    (
        "deploy/kubernetes/overlays/prometheus-operator",
        &[
            "ConfigMap",
            "Deployment",
            "Namespace",
            "NetworkPolicy",
            "PrometheusRule",
            "Service",
            "ServiceAccount",
            "ServiceMonitor",
        ],
    ),
];
const IMAGE_CONFIG: &str = "deploy/container/gamelift-exporter.toml";
/// The image's user and group, and where it keeps its config and state.
const UID: u32 = 65532;
const CONFIG_DIR: &str = "/etc/gamelift-exporter";
const CONFIG_FILE: &str = "/etc/gamelift-exporter/gamelift-exporter.toml";
const STATE_DIR: &str = "/var/lib/gamelift-exporter";
const PORT: u16 = 10319;
/// The scrape job the rules select (the mixin's default jobSelector).
const JOB: &str = "gamelift-exporter";
/// Kubernetes versions whose schemas the manifests must satisfy: the oldest one EKS still
/// supports (extended support) and kubernetes-validate's newest (its default).
const KUBERNETES_VERSIONS: [Option<&str>; 2] = [Some("1.29"), None];
/// Everything in the image but the exporter binary (loader, libc, libm, libgcc_s, CA bundle,
/// /etc files, copyright files) stays below this many bytes.
const MAX_BASE_BYTES: u64 = 4 * 1024 * 1024;
/// Every file the image holds: nothing else creeps in.
const IMAGE_FILES: [&str; 14] = [
    "etc/gamelift-exporter/gamelift-exporter.toml",
    "etc/group",
    "etc/nsswitch.conf",
    "etc/passwd",
    "etc/ssl/certs/ca-certificates.crt",
    "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
    "lib/x86_64-linux-gnu/libc.so.6",
    "lib/x86_64-linux-gnu/libgcc_s.so.1",
    "lib/x86_64-linux-gnu/libm.so.6",
    "lib64/ld-linux-x86-64.so.2",
    "usr/local/bin/gamelift-exporter",
    "usr/share/doc/ca-certificates/copyright",
    "usr/share/doc/libc6/copyright",
    "usr/share/doc/libgcc-s1/copyright",
];

fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn read(rel: &str) -> String {
    let path = repo_path(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn yaml(what: &str, text: &str) -> Value {
    yaml_serde::from_str(text).unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// Runs a command to completion with stdin closed.
fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Runs it and panics with its output unless it succeeds; returns its stdout.
fn run_ok(what: &str, cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(out.status.success(), "{}", describe(what, &out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn describe(what: &str, out: &Output) -> String {
    format!(
        "`{what}` exited with {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Whether this process runs as root (mount namespaces and chroot need it; CI runs as root).
fn is_root() -> bool {
    run(Command::new("id").arg("-u")).stdout.starts_with(b"0\n")
}

// ------------------------------------------------------------------------------------------
// The container image
// ------------------------------------------------------------------------------------------

/// buildah with a storage of its own (vfs, in a temporary directory), removed with everything
/// in it when dropped.
struct Buildah {
    storage: PathBuf,
    conf: PathBuf,
    /// Containers to remove before the storage.
    containers: Vec<String>,
}

impl Buildah {
    fn new() -> Buildah {
        let storage = support::temp_dir("buildah-storage");
        let conf = storage.join("storage.conf");
        std::fs::write(
            &conf,
            format!(
                "[storage]\ndriver = \"vfs\"\ngraphroot = \"{0}/root\"\nrunroot = \"{0}/run\"\n",
                storage.display()
            ),
        )
        .unwrap();
        Buildah {
            storage,
            conf,
            containers: Vec::new(),
        }
    }

    /// A command that uses this storage (`CONTAINERS_STORAGE_CONF`).
    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("CONTAINERS_STORAGE_CONF", &self.conf);
        cmd
    }

    fn run(&self, args: &[&str]) -> String {
        run_ok(
            &format!("buildah {}", args.join(" ")),
            self.command("buildah").args(args),
        )
        .trim()
        .to_string()
    }
}

impl Drop for Buildah {
    fn drop(&mut self) {
        for container in &self.containers {
            let _ = self.command("buildah").args(["umount", container]).output();
            let _ = self.command("buildah").args(["rm", container]).output();
        }
        let _ = std::fs::remove_dir_all(&self.storage);
    }
}

/// A command that runs `argv` from the image's root filesystem `root` as a container runtime
/// would, under `chroot`: in a mount namespace of its own, the root filesystem bound read-only,
/// `state` (a directory owned by the image's user) mounted at the state volume, `config` (a
/// directory) read-only over the config directory as a ConfigMap is, `hosts` over `/etc/hosts`
/// as runtimes do, `/proc` mounted, as user and group 65532, with only the image's environment
/// and `env`. Its pid is the exporter's (`exec` all the way).
fn in_image(root: &Path, mounts: &Mounts, env: &[(String, String)], argv: &[String]) -> Command {
    const SCRIPT: &str = r#"set -e
root=$1 state=$2 config=$3 hosts=$4 uid=$5
shift 5
mount --bind "$root" "$root"
mount -o remount,bind,ro "$root"
mount --bind "$state" "$root/var/lib/gamelift-exporter"
mount --bind "$config" "$root/etc/gamelift-exporter"
mount -o remount,bind,ro "$root/etc/gamelift-exporter"
mount --bind "$hosts" "$root/etc/hosts"
mount -t proc proc "$root/proc"
exec chroot --userspec="$uid:$uid" --groups="$uid" "$root" "$@"
"#;
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private", "sh", "-c", SCRIPT, "sh"])
        .arg(root)
        .arg(&mounts.state)
        .arg(&mounts.config)
        .arg(&mounts.hosts)
        .arg(UID.to_string())
        .args(argv)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)));
    cmd
}

/// What [`in_image`] mounts into the image.
struct Mounts {
    state: PathBuf,
    config: PathBuf,
    hosts: PathBuf,
}

/// Waits (60 s at most) until the exporter answers `/-/ready` with 200.
fn wait_ready(exporter: &mut Process, address: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = exporter.exited() {
            panic!(
                "{} exited with {status}\n{}",
                exporter.name,
                exporter.log_tail(40)
            );
        }
        if let Ok((200, _, _)) = support::try_http("GET", address, "/-/ready") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "never ready\n{}",
            exporter.log_tail(40)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The ACTIVE sessions `/metrics` counts, and the whole text.
fn active_sessions(address: &str) -> (f64, String) {
    let (status, _, body) = http("GET", address, "/metrics");
    assert_eq!(status, 200);
    let active = parse_metrics(&body, "")
        .iter()
        .filter(|(k, _)| k.starts_with("gamelift_game_sessions{") && k.contains("status=\"ACTIVE\""))
        .map(|(_, v)| v)
        .sum();
    (active, body)
}

/// `Name:\tvalues` of `/proc/<pid>/status`.
fn proc_status(pid: u32, name: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn container_image_builds_offline_and_its_root_filesystem_serves_the_demo() {
    let tools = [
        "buildah", "apt-get", "dpkg-deb", "readelf", "strip", "unshare", "chroot",
    ];
    let missing: Vec<&str> = tools.into_iter().filter(|t| !support::require_tool(t)).collect();
    if !missing.is_empty() || !support::required(is_root(), "root (mount namespaces and chroot)") {
        return;
    }
    let started = Instant::now();
    let mut buildah = Buildah::new();
    let tag = format!("localhost/gamelift-exporter:it-{}", std::process::id());
    let build = repo_path("deploy/container/build.sh");

    // The Debian packages first (the one step that reaches a package registry), then the build
    // with no network at all: `unshare --net` leaves it only a loopback interface that is down.
    let debs = support::temp_dir("debs");
    run_ok(
        "build.sh --download-only",
        Command::new(&build)
            .arg("--download-only")
            .arg("--debs")
            .arg(&debs),
    );
    run_ok(
        "unshare --net build.sh",
        buildah
            .command("unshare")
            .arg("--net")
            .arg(&build)
            .args(["--tool", "buildah", "--tag", &tag, "--debs"])
            .arg(&debs)
            .arg("--binary")
            .arg(env!("CARGO_BIN_EXE_gamelift-exporter")),
    );
    let built = started.elapsed();

    // What the image says about itself.
    let inspect: Value = serde_json::from_str(&buildah.run(&["inspect", "--type", "image", &tag])).unwrap();
    let config = &inspect["OCIv1"]["config"];
    assert_eq!(config["User"], json!(format!("{UID}:{UID}")), "{config:#}");
    assert_eq!(
        config["ExposedPorts"],
        json!({ format!("{PORT}/tcp"): {} }),
        "{config:#}"
    );
    assert_eq!(
        config["Entrypoint"],
        json!(["/usr/local/bin/gamelift-exporter"]),
        "{config:#}"
    );
    assert_eq!(config["Cmd"], json!(["--config", CONFIG_FILE]), "{config:#}");
    assert_eq!(config["Volumes"], json!({ STATE_DIR: {} }), "{config:#}");
    let env: Vec<(String, String)> = config["Env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e.as_str()?.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();

    // Its root filesystem.
    let container = buildah.run(&["from", "--pull-never", &tag]);
    buildah.containers.push(container.clone());
    let root = PathBuf::from(buildah.run(&["mount", &container]));
    let files = image_files(&root);
    let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(names, IMAGE_FILES, "the image's files");
    let binary = files
        .iter()
        .find(|f| f.0.ends_with("/gamelift-exporter"))
        .unwrap()
        .1;
    let total: u64 = files.iter().map(|f| f.1).sum();
    assert!(
        total - binary < MAX_BASE_BYTES,
        "the image holds {} bytes besides the binary: {files:?}",
        total - binary
    );
    check_ownership(&root);
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap();
    assert!(
        passwd
            .lines()
            .any(|l| l.starts_with(&format!("gamelift-exporter:x:{UID}:{UID}:"))),
        "{passwd}"
    );
    let bundle = std::fs::read_to_string(root.join("etc/ssl/certs/ca-certificates.crt")).unwrap();
    let certificates = bundle.matches("-----BEGIN CERTIFICATE-----").count();
    assert!(certificates > 100, "{certificates} CA certificates");
    assert_eq!(certificates, bundle.matches("-----END CERTIFICATE-----").count());
    // Amazon Root CA 1, which signs the AWS endpoints' certificates (its first base64 line).
    assert!(
        bundle.contains("MIIDQTCCAimgAwIBAgITBmyfz5m/jAo54vB4ikPmljZbyjANBgkqhkiG9w0BAQsF"),
        "the bundle lacks Amazon Root CA 1"
    );
    assert_eq!(
        std::fs::read_to_string(root.join(CONFIG_FILE.trim_start_matches('/'))).unwrap(),
        read(IMAGE_CONFIG)
    );
    // The mount points a runtime makes for /proc and /etc/hosts (mounted below).
    std::fs::create_dir_all(root.join("proc")).unwrap();
    std::fs::write(root.join("etc/hosts"), "").unwrap();

    // The state volume (owned by the image's user, as the image's own directory is), /etc/hosts,
    // and the config directory: the image's default config, listening on a free loopback port.
    let state = support::temp_dir("image-state");
    std::os::unix::fs::chown(&state, Some(UID), Some(UID)).unwrap();
    let hosts = support::temp_path("hosts");
    std::fs::write(
        &hosts,
        "127.0.0.1\tlocalhost\n127.0.0.1\tgamelift-simulator.test\n",
    )
    .unwrap();
    let default_config = read(IMAGE_CONFIG);
    let default_listen = format!("listen = \"0.0.0.0:{PORT}\"");
    assert!(
        default_config.contains(&default_listen),
        "{IMAGE_CONFIG}: {default_listen} expected"
    );
    let port = support::free_port();
    let address = format!("127.0.0.1:{port}");
    let config_dir = support::temp_dir("image-config");
    let mounts = Mounts {
        state: state.clone(),
        config: config_dir.clone(),
        hosts,
    };
    std::fs::write(
        config_dir.join("gamelift-exporter.toml"),
        default_config.replace(&default_listen, &format!("listen = \"{address}\"")),
    )
    .unwrap();
    // The Kubernetes ConfigMap's config too, loaded by the exporter in the image.
    std::fs::write(config_dir.join("configmap.toml"), configmap_config()).unwrap();
    for file in ["gamelift-exporter.toml", "configmap.toml"] {
        let argv = [
            "/usr/local/bin/gamelift-exporter".to_string(),
            "--config".to_string(),
            format!("{CONFIG_DIR}/{file}"),
            "--check-config".to_string(),
        ];
        let printed = run_ok(
            &format!("--check-config of {file} in the image"),
            &mut in_image(&root, &mounts, &env, &argv),
        );
        assert!(
            printed.contains(&format!("path = \"{STATE_DIR}/state.json\"")),
            "{file}:\n{printed}"
        );
    }

    // The image's entrypoint and command, plus --demo.
    let mut argv: Vec<String> = [&config["Entrypoint"], &config["Cmd"]]
        .into_iter()
        .flat_map(|v| {
            v.as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
        })
        .collect();
    argv.push("--demo".to_string());
    let mut exporter = Process::spawn("exporter-in-image", &mut in_image(&root, &mounts, &env, &argv));
    wait_ready(&mut exporter, &address);
    let pid = exporter.child.id();
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    assert_eq!(comm.trim(), "gamelift-export", "the child is the exporter itself");
    assert_eq!(proc_status(pid, "Uid"), format!("{UID} {UID} {UID} {UID}"));
    assert_eq!(proc_status(pid, "Gid"), format!("{UID} {UID} {UID} {UID}"));
    assert_eq!(proc_status(pid, "Groups"), UID.to_string());
    assert_eq!(proc_status(pid, "CapEff"), "0000000000000000");
    let root_of_process = std::fs::read_link(format!("/proc/{pid}/root")).unwrap();
    assert_eq!(root_of_process, root, "the exporter runs chrooted in the image");

    assert_eq!(http("GET", &address, "/-/healthy").0, 200);
    let (active, body) = active_sessions(&address);
    let metrics = parse_metrics(&body, "");
    assert!(active > 0.0, "no ACTIVE sessions in /metrics:\n{body}");
    let fleets = metrics
        .keys()
        .filter(|k| k.starts_with("gamelift_fleet_info{"))
        .count();
    assert!(fleets >= 2, "{fleets} fleets in /metrics:\n{body}");
    assert!(
        metrics
            .keys()
            .any(|k| k.starts_with("gamelift_exporter_build_info{")),
        "{body}"
    );
    // The process collector reads /proc/self: present in a container.
    assert!(
        metrics
            .get("process_resident_memory_bytes")
            .is_some_and(|v| *v > 0.0),
        "{body}"
    );
    let log = exporter.log();
    assert!(log.contains("DEMO MODE"), "{log}");

    // SIGTERM: a clean exit, and the state file written by the image's user to the volume.
    exporter.signal("TERM");
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = exporter.exited() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "SIGTERM did not stop it\n{}",
            exporter.log_tail(40)
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0), "{}", exporter.log_tail(40));
    let state_file = state.join("state.json");
    let meta = std::fs::metadata(&state_file)
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", state_file.display(), exporter.log_tail(40)));
    use std::os::unix::fs::MetadataExt;
    assert_eq!((meta.uid(), meta.gid()), (UID, UID));
    let log = exporter.log();
    assert!(
        !log.contains("ERROR") && !log.contains("WARN gamelift_exporter::statefile"),
        "{log}"
    );

    // Against an endpoint given by name, as on AWS: the name is looked up through the image's
    // glibc and /etc/nsswitch.conf (`hosts: files dns`) in the /etc/hosts a runtime mounts. The
    // simulator runs outside, the exporter in the image with dummy credentials from the
    // environment.
    let simulator_address = format!("127.0.0.1:{}", support::free_port());
    let simulator = Process::spawn(
        "simulator",
        Command::new(env!("CARGO_BIN_EXE_gamelift-exporter"))
            .args(["simulate", "--scenario"])
            .arg(repo_path("config/scenarios/demo.toml"))
            .args(["--listen", &simulator_address]),
    );
    simulator.wait_for_log("simulator listening");
    let regions: Vec<String> = gamelift_exporter::demo::regions()
        .iter()
        .map(|r| format!("{r:?}"))
        .collect();
    std::fs::write(
        config_dir.join("by-name.toml"),
        format!(
            "[server]\nlisten = \"{address}\"\n\n[aws]\nregions = [{}]\nendpoint_url = \
             \"http://gamelift-simulator.test:{}\"\n",
            regions.join(", "),
            simulator_address.rsplit_once(':').unwrap().1
        ),
    )
    .unwrap();
    let mut env_with_keys = env.clone();
    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", "AKIDTEST"),
        ("AWS_SECRET_ACCESS_KEY", "test-secret"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ] {
        env_with_keys.push((k.to_string(), v.to_string()));
    }
    let argv: Vec<String> = [
        "/usr/local/bin/gamelift-exporter",
        "--config",
        &format!("{CONFIG_DIR}/by-name.toml"),
    ]
    .map(String::from)
    .to_vec();
    let mut by_name = Process::spawn(
        "exporter-in-image-by-name",
        &mut in_image(&root, &mounts, &env_with_keys, &argv),
    );
    wait_ready(&mut by_name, &address);
    let (active, body) = active_sessions(&address);
    assert!(active > 0.0, "no ACTIVE sessions in /metrics:\n{body}");
    let log = by_name.log();
    assert!(!log.contains("DEMO MODE") && !log.contains("WARN"), "{log}");
    drop(by_name);
    drop(simulator);

    println!(
        "image {tag}: {total} bytes in its root filesystem ({binary} the exporter binary as built by \
         this test run, stripped; {} the rest), {certificates} CA certificates; built in {:.1} s, \
         test {:.1} s",
        total - binary,
        built.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    buildah.run(&["umount", &container]);
    buildah.run(&["rm", &container]);
    buildah.containers.clear();
    buildah.run(&["rmi", &tag]);
    let _ = std::fs::remove_dir_all(&debs);
}

/// Every file and symlink of the image (not directories), relative and sorted, with its size.
fn image_files(root: &Path) -> Vec<(String, u64)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, u64)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let meta = std::fs::symlink_metadata(entry.path()).unwrap();
            if meta.is_dir() {
                walk(root, &entry.path(), out);
            } else {
                let rel = entry
                    .path()
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, meta.len()));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// Everything is root's and read-only to others, without set-id bits, except the state
/// directory: the exporter's user's, 0700.
fn check_ownership(root: &Path) {
    use std::os::unix::fs::MetadataExt;
    fn walk(root: &Path, path: &Path) {
        let meta = std::fs::symlink_metadata(path).unwrap();
        let rel = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        if meta.file_type().is_symlink() {
            return;
        }
        let mode = meta.mode() & 0o7777;
        if rel == STATE_DIR.trim_start_matches('/') {
            assert_eq!((meta.uid(), meta.gid(), mode), (UID, UID, 0o700), "{rel}");
        } else {
            assert_eq!((meta.uid(), meta.gid()), (0, 0), "{rel} is not root's");
            assert_eq!(
                mode & 0o7022,
                0,
                "{rel}: mode {mode:o} (set-id or writable by others)"
            );
        }
        if meta.is_dir() {
            for entry in std::fs::read_dir(path).unwrap() {
                walk(root, &entry.unwrap().path());
            }
        }
    }
    for entry in std::fs::read_dir(root).unwrap() {
        walk(root, &entry.unwrap().path());
    }
}

// ------------------------------------------------------------------------------------------
// The Kubernetes manifests
// ------------------------------------------------------------------------------------------

/// Every `*.yaml` of the base but its kustomization, sorted.
fn manifest_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(repo_path(BASE))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml") || n.ends_with(".yml"))
        .filter(|n| n != "kustomization.yaml")
        .collect();
    files.sort();
    files
}

/// The manifest of `kind` in the base or a component, parsed (each file holds one resource).
fn manifest(kind: &str) -> Value {
    manifest_files()
        .iter()
        .map(|f| format!("{BASE}/{f}"))
        .chain([SERVICE_MONITOR.to_string(), PROMETHEUS_RULE.to_string()])
        .map(|f| yaml(&f, &read(&f)))
        .find(|m| m["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {BASE} or the components"))
}

/// The config the ConfigMap mounts.
fn configmap_config() -> String {
    read(CONFIG_TOML)
}

/// `kubectl kustomize DIR`: the resources it renders, parsed.
fn kustomize(kubectl: &Path, dir: &Path) -> Vec<Value> {
    let text = run_ok(
        &format!("kubectl kustomize {}", dir.display()),
        Command::new(kubectl).arg("kustomize").arg(dir),
    );
    text.split("\n---\n")
        .map(|doc| yaml("kustomize output", doc))
        .filter(|v| !v.is_null())
        .collect()
}

fn kinds(resources: &[Value]) -> Vec<String> {
    let mut kinds: Vec<String> = resources
        .iter()
        .map(|r| r["kind"].as_str().unwrap().to_string())
        .collect();
    kinds.sort();
    kinds
}

fn find<'a>(resources: &'a [Value], kind: &str) -> &'a Value {
    resources
        .iter()
        .find(|r| r["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} rendered"))
}

/// The base, its overlays and the components, rendered by kubectl's kustomize: what each holds,
/// every resource in the namespace, the ConfigMap named by a hash of the config (so that a
/// config change is a new pod template), and the state volume a claim in the persistent overlay.
#[test]
fn kustomize_renders_the_base_the_components_and_the_overlays() {
    let Some(kubectl) = support::require_tool_at("kubectl", &["/usr/bin/kubectl"]) else {
        return;
    };
    for (dir, expected) in RENDERINGS {
        let resources = kustomize(&kubectl, &repo_path(dir));
        assert_eq!(kinds(&resources), *expected, "{dir}");
        for r in &resources {
            if r["kind"] != "Namespace" {
                assert_eq!(r["metadata"]["namespace"], "gamelift-exporter", "{dir}: {r}");
            }
            assert_eq!(
                r["metadata"]["labels"]["app.kubernetes.io/name"], "gamelift-exporter",
                "{dir}: {}",
                r["metadata"]["name"]
            );
        }
        let config = find(&resources, "ConfigMap");
        let name = config["metadata"]["name"].as_str().unwrap();
        assert!(name.starts_with("gamelift-exporter-") && name.len() > "gamelift-exporter-".len());
        assert_eq!(config["data"]["gamelift-exporter.toml"], configmap_config());
        let pod = &find(&resources, "Deployment")["spec"]["template"]["spec"];
        let volume = |n: &str| {
            pod["volumes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["name"] == n)
                .unwrap()
                .clone()
        };
        assert_eq!(volume("config")["configMap"]["name"], name, "{dir}");
        let state = volume("state");
        if dir.ends_with("persistent-state") {
            let claim = find(&resources, "PersistentVolumeClaim");
            assert_eq!(
                state,
                json!({"name": "state", "persistentVolumeClaim": {"claimName": claim["metadata"]["name"]}})
            );
            assert_eq!(claim["spec"]["accessModes"], json!(["ReadWriteOnce"]));
        } else {
            assert!(state.get("emptyDir").is_some(), "{state}");
        }
    }

    // A config change: a new ConfigMap name, so a new pod template, which rolls the pod.
    let copy = support::temp_dir("kustomize-copy");
    for file in std::fs::read_dir(repo_path(BASE)).unwrap() {
        let file = file.unwrap();
        std::fs::copy(file.path(), copy.join(file.file_name())).unwrap();
    }
    let template = |resources: &[Value]| find(resources, "Deployment")["spec"]["template"].clone();
    let before = kustomize(&kubectl, &copy);
    std::fs::write(
        copy.join("gamelift-exporter.toml"),
        configmap_config().replace("max_requests_per_second = 5", "max_requests_per_second = 4"),
    )
    .unwrap();
    let after = kustomize(&kubectl, &copy);
    assert_ne!(
        find(&before, "ConfigMap")["metadata"]["name"],
        find(&after, "ConfigMap")["metadata"]["name"]
    );
    assert_ne!(
        template(&before),
        template(&after),
        "the pod template must change with the config"
    );
    let _ = std::fs::remove_dir_all(&copy);
}

#[test]
fn kubernetes_manifests_validate_offline() {
    let Some(validate) = support::require_tool_at("kubernetes-validate", &[]) else {
        return;
    };
    let Some(kubectl) = support::require_tool_at("kubectl", &["/usr/bin/kubectl"]) else {
        return;
    };
    let crd_models = run(Command::new("python3").args(["-c", "import cloudcoil.models.prometheus_operator"]));
    if !support::required(
        crd_models.status.success(),
        "the Python package cloudcoil-models-prometheus-operator",
    ) {
        return;
    }
    // As root (CI), in a network namespace of its own: proof that nothing is fetched.
    let offline = |program: &Path| {
        let mut cmd = if is_root() {
            let mut cmd = Command::new("unshare");
            cmd.arg("--net").arg(program);
            cmd
        } else {
            Command::new(program)
        };
        cmd.current_dir(repo_path(""));
        cmd
    };
    // Every resource of every rendering, one file each.
    let dir = support::temp_dir("rendered");
    let mut core = Vec::new();
    let mut crds = Vec::new();
    for (rendering, _) in RENDERINGS {
        for resource in kustomize(&kubectl, &repo_path(rendering)) {
            let name = format!(
                "{}-{}-{}.yaml",
                rendering.replace('/', "_"),
                resource["kind"].as_str().unwrap(),
                resource["metadata"]["name"].as_str().unwrap()
            );
            let path = dir.join(&name);
            std::fs::write(&path, yaml_serde::to_string(&resource).unwrap()).unwrap();
            let path = path.display().to_string();
            if resource["apiVersion"]
                .as_str()
                .is_some_and(|a| a.starts_with("monitoring.coreos.com/"))
            {
                crds.push(path);
            } else {
                core.push(path);
            }
        }
    }
    assert_eq!(core.len(), 6 + 7 + 6, "{core:?}");
    assert_eq!(crds.len(), 2, "{crds:?}");

    for version in KUBERNETES_VERSIONS {
        let mut cmd = offline(&validate);
        cmd.arg("--strict");
        if let Some(v) = version {
            cmd.args(["--kubernetes-version", v]);
        }
        let out = run(cmd.args(&core));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "{}",
            describe("kubernetes-validate --strict", &out)
        );
        // A kind without a schema is only a warning: every file must say "passed".
        for file in &core {
            assert!(
                text.lines()
                    .any(|l| l.starts_with("INFO") && l.contains(file.as_str()) && l.contains("passed")),
                "{file} did not pass against Kubernetes {}:\n{text}",
                version.unwrap_or("(newest)")
            );
        }
        assert!(!text.contains("WARN") && !text.contains("ERROR"), "{text}");
    }

    let script = repo_path("deploy/kubernetes/validate-crds.py");
    let mut cmd = offline(Path::new("python3"));
    let out = run(cmd.arg(&script).args(&crds));
    assert!(out.status.success(), "{}", describe("validate-crds.py", &out));
    let text = String::from_utf8_lossy(&out.stdout);
    for file in &crds {
        assert!(
            text.lines()
                .any(|l| l.starts_with("OK ") && l.contains(file.as_str())),
            "{text}"
        );
    }

    // The CRD check is not a no-op: a field the CRD lacks and a malformed duration fail it.
    let broken = support::temp_path("servicemonitor-broken.yaml");
    std::fs::write(
        &broken,
        read(SERVICE_MONITOR)
            .replace("scrapeTimeout:", "scrapeTimout:")
            .replace("interval: 30s", "interval: 30 seconds"),
    )
    .unwrap();
    let out = run(offline(Path::new("python3")).arg(&script).arg(&broken));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success() && text.contains("interval"), "{text}");
    std::fs::write(
        &broken,
        read(SERVICE_MONITOR).replace("scrapeTimeout:", "scrapeTimout:"),
    )
    .unwrap();
    let out = run(offline(Path::new("python3")).arg(&script).arg(&broken));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success() && text.contains("scrapeTimout: not a field"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn prometheus_rule_is_the_rules_file() {
    // Its spec is the rules file, parsed (mixin/generate.sh renders both from the mixin; the
    // operator kit's mixin test checks they are up to date). The opt-in rules stay out.
    let rule = yaml(PROMETHEUS_RULE, &read(PROMETHEUS_RULE));
    assert_eq!(rule["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(rule["kind"], "PrometheusRule");
    assert_eq!(
        rule["spec"],
        yaml(RULES, &read(RULES)),
        "{PROMETHEUS_RULE}: spec differs from {RULES}: run mixin/generate.sh"
    );

    // promtool on the rules extracted from the manifest: check, and the rules' unit tests.
    let Some(promtool) = support::require_tool_at("promtool", &["/usr/bin/promtool"]) else {
        return;
    };
    let dir = support::temp_dir("prometheusrule");
    let extracted = dir.join("gamelift-exporter.rules.yml");
    std::fs::write(&extracted, yaml_serde::to_string(&rule["spec"]).unwrap()).unwrap();
    std::fs::write(dir.join("gamelift-exporter.opt-in.rules.yml"), read(OPT_IN_RULES)).unwrap();
    std::fs::write(dir.join("gamelift-exporter.rules.test.yml"), read(RULE_TESTS)).unwrap();
    let checked = run_ok(
        "promtool check rules",
        Command::new(&promtool).args(["check", "rules"]).arg(&extracted),
    );
    let rules = rule["spec"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["rules"].as_array().unwrap().len())
        .sum::<usize>();
    assert!(
        checked.contains(&format!("SUCCESS: {rules} rules found")),
        "{checked}"
    );
    run_ok(
        "promtool test rules",
        Command::new(&promtool)
            .args(["test", "rules", "gamelift-exporter.rules.test.yml"])
            .current_dir(&dir),
    );
}

#[test]
fn kustomization_lists_every_manifest() {
    let kustomization = yaml(
        "base/kustomization.yaml",
        &read(&format!("{BASE}/kustomization.yaml")),
    );
    assert_eq!(kustomization["kind"], "Kustomization");
    let listed: Vec<String> = kustomization["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    let unique: BTreeSet<&String> = listed.iter().collect();
    assert_eq!(unique.len(), listed.len(), "listed twice: {listed:?}");
    assert_eq!(
        unique.into_iter().cloned().collect::<Vec<_>>(),
        manifest_files(),
        "base/kustomization.yaml resources vs the files of {BASE}"
    );
    assert_eq!(
        kustomization["configMapGenerator"],
        json!([{"name": "gamelift-exporter", "files": ["gamelift-exporter.toml"]}])
    );
    assert_eq!(
        kustomization["namespace"],
        manifest("Namespace")["metadata"]["name"]
    );
    assert_eq!(
        yaml(
            "kustomization.yaml",
            &read(&format!("{MANIFESTS}/kustomization.yaml"))
        )["resources"],
        json!(["base"])
    );
    for (component, file) in [
        ("servicemonitor", SERVICE_MONITOR),
        ("prometheusrule", PROMETHEUS_RULE),
    ] {
        let k = yaml(
            component,
            &read(&format!("{MANIFESTS}/components/{component}/kustomization.yaml")),
        );
        assert_eq!(k["kind"], "Component");
        assert_eq!(
            k["resources"],
            json!([Path::new(file).file_name().unwrap().to_str().unwrap()])
        );
    }
    for file in manifest_files()
        .iter()
        .map(|f| format!("{BASE}/{f}"))
        .chain([SERVICE_MONITOR.to_string(), PROMETHEUS_RULE.to_string()])
    {
        let text = read(&file);
        assert_eq!(
            text.lines().filter(|l| l.trim_end() == "---").count(),
            0,
            "{file}: one resource per file"
        );
        let m = yaml(&file, &text);
        assert_eq!(
            m["metadata"]["labels"]["app.kubernetes.io/name"], "gamelift-exporter",
            "{file}"
        );
        assert!(
            m["metadata"].get("namespace").is_none(),
            "{file}: the kustomization sets it"
        );
    }
}

#[test]
fn kubernetes_resources_agree_with_each_other_and_the_image() {
    let deployment = manifest("Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    assert_eq!(deployment["spec"]["selector"]["matchLabels"], *labels);
    assert_eq!(
        deployment["spec"]["replicas"], 1,
        "one replica: replicas do not add AWS quota"
    );
    assert_eq!(deployment["spec"]["strategy"]["type"], "Recreate");
    let containers = pod["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    let container = &containers[0];

    // The image: this version, and the user, port and paths the Containerfile gives it.
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        container["image"],
        format!("localhost/gamelift-exporter:{version}")
    );
    let containerfile = read("Containerfile");
    assert!(containerfile.lines().any(|l| l == format!("USER {UID}:{UID}")));
    assert!(containerfile.lines().any(|l| l == format!("EXPOSE {PORT}/tcp")));
    assert!(containerfile.contains(&format!("VOLUME [\"{STATE_DIR}\"]")));

    // Restricted pod security.
    let psc = &pod["securityContext"];
    assert_eq!(psc["runAsNonRoot"], true);
    assert_eq!(psc["runAsUser"], UID);
    assert_eq!(psc["runAsGroup"], UID);
    assert_eq!(psc["fsGroup"], UID);
    assert_eq!(psc["seccompProfile"]["type"], "RuntimeDefault");
    let csc = &container["securityContext"];
    assert_eq!(csc["allowPrivilegeEscalation"], false);
    assert_eq!(csc["readOnlyRootFilesystem"], true);
    assert_eq!(csc["privileged"], false);
    assert_eq!(csc["capabilities"], json!({"drop": ["ALL"]}));
    assert!(csc.get("capabilities").unwrap().get("add").is_none());
    assert_eq!(pod["automountServiceAccountToken"], false);
    for volume in pod["volumes"].as_array().unwrap() {
        assert!(
            volume.get("configMap").is_some() || volume.get("emptyDir").is_some(),
            "restricted volume types only: {volume}"
        );
    }
    for kind in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            assert!(
                container["resources"][kind][resource].is_string(),
                "{kind}.{resource}"
            );
        }
    }

    // Port, probes, Service, ServiceMonitor, NetworkPolicy: the same named port.
    let ports = container["ports"].as_array().unwrap();
    assert_eq!(
        *ports,
        vec![json!({"name": "metrics", "containerPort": PORT, "protocol": "TCP"})]
    );
    assert_eq!(
        container["livenessProbe"]["httpGet"],
        json!({"path": "/-/healthy", "port": "metrics"})
    );
    assert_eq!(
        container["readinessProbe"]["httpGet"],
        json!({"path": "/-/ready", "port": "metrics"})
    );
    let service = manifest("Service");
    assert_eq!(service["spec"]["selector"], *labels);
    let service_port = &service["spec"]["ports"][0];
    assert_eq!(
        (&service_port["name"], &service_port["targetPort"]),
        (&json!("metrics"), &json!("metrics"))
    );
    let monitor = manifest("ServiceMonitor");
    for (k, v) in monitor["spec"]["selector"]["matchLabels"].as_object().unwrap() {
        assert_eq!(
            service["metadata"]["labels"][k], *v,
            "the ServiceMonitor selects the Service"
        );
    }
    let job_label = monitor["spec"]["jobLabel"].as_str().unwrap();
    assert_eq!(
        service["metadata"]["labels"][job_label], JOB,
        "job=\"{JOB}\", as the rules expect"
    );
    assert_eq!(monitor["spec"]["endpoints"][0]["port"], "metrics");
    assert_eq!(monitor["spec"]["endpoints"][0]["path"], "/metrics");
    let policy = manifest("NetworkPolicy");
    assert_eq!(policy["spec"]["podSelector"]["matchLabels"], *labels);
    assert_eq!(policy["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
    let ingress = policy["spec"]["ingress"].as_array().unwrap();
    assert_eq!(ingress.len(), 1);
    assert_eq!(
        ingress[0]["ports"],
        json!([{"port": "metrics", "protocol": "TCP"}])
    );
    let egress_ports: BTreeSet<(u64, String)> = policy["spec"]["egress"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|rule| rule["ports"].as_array().unwrap().clone())
        .map(|p| {
            (
                p["port"].as_u64().unwrap(),
                p["protocol"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: BTreeSet<(u64, String)> = [(53, "UDP"), (53, "TCP"), (443, "TCP"), (80, "TCP")]
        .into_iter()
        .map(|(p, t)| (p, t.to_string()))
        .collect();
    assert_eq!(
        egress_ports, expected,
        "egress: DNS, HTTPS, the Pod Identity agent"
    );

    // The ServiceAccount, with the IRSA annotation.
    let account = manifest("ServiceAccount");
    assert_eq!(pod["serviceAccountName"], account["metadata"]["name"]);
    let role = account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
        .as_str()
        .unwrap();
    assert!(
        role.starts_with("arn:aws:iam::") && role.contains(":role/"),
        "{role}"
    );

    // The config: the ConfigMap mounted where --config points, and the state volume where
    // state.path points.
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        args.contains(&format!("--config={CONFIG_FILE}").as_str()),
        "{args:?}"
    );
    let mounts = container["volumeMounts"].as_array().unwrap();
    let mount_of = |path: &str| {
        let mount = mounts
            .iter()
            .find(|m| m["mountPath"] == path)
            .unwrap_or_else(|| panic!("nothing mounted at {path}"));
        pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == mount["name"])
            .unwrap()
            .clone()
    };
    // The generated ConfigMap's name, before kustomize appends the hash.
    assert_eq!(mount_of(CONFIG_DIR)["configMap"]["name"], "gamelift-exporter");
    assert!(mount_of(STATE_DIR).get("emptyDir").is_some());
    assert!(mounts
        .iter()
        .any(|m| m["mountPath"] == CONFIG_DIR && m["readOnly"] == true));

    // The exporter itself accepts the ConfigMap's config, which listens on the container port
    // and keeps its state in the volume.
    let file = support::temp_path("configmap.toml");
    std::fs::write(&file, configmap_config()).unwrap();
    let printed = run_ok(
        "gamelift-exporter --check-config (the ConfigMap)",
        Command::new(env!("CARGO_BIN_EXE_gamelift-exporter"))
            .arg("--config")
            .arg(&file)
            .arg("--check-config")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
    );
    assert!(
        printed.contains(&format!("listen = \"0.0.0.0:{PORT}\"")),
        "{printed}"
    );
    assert!(
        printed.contains(&format!("path = \"{STATE_DIR}/state.json\"")),
        "{printed}"
    );
}
