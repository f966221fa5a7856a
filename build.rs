//! Records the git revision and rustc version for `gamelift_exporter_build_info` and
//! `--version`.
use std::path::Path;
use std::process::Command;

fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn main() {
    let revision = output("git", &["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let rust_version = output(&rustc, &["--version"])
        .and_then(|v| v.split_whitespace().nth(1).map(str::to_string))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=GAMELIFT_EXPORTER_REVISION={revision}");
    println!("cargo:rustc-env=GAMELIFT_EXPORTER_RUSTC_VERSION={rust_version}");
    // Run again when HEAD moves: HEAD itself (a branch switch or a detached checkout) and the
    // branch refs (a commit). `git rev-parse --git-path` finds them in a linked worktree too,
    // where `.git` is a file. Paths that do not exist are not named: cargo would rerun the
    // script on every build. Outside a git checkout (a crate tarball) nothing is named, and cargo
    // reruns it when any file of the package changes.
    println!("cargo:rerun-if-changed=build.rs");
    for name in ["HEAD", "refs/heads", "packed-refs"] {
        if let Some(path) = output("git", &["rev-parse", "--git-path", name]) {
            if Path::new(&path).exists() {
                println!("cargo:rerun-if-changed={path}");
            }
        }
    }
}
