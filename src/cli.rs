//! Command-line arguments, as parsed. `main` turns them into a validated config before anything
//! starts.

use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

/// `--version`: the crate version, the git revision it was built from (`unknown` outside a git
/// checkout) and the compiler, as `gamelift_exporter_build_info` reports them.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (revision ",
    env!("GAMELIFT_EXPORTER_REVISION"),
    ", rustc ",
    env!("GAMELIFT_EXPORTER_RUSTC_VERSION"),
    ")"
);

/// Amazon GameLift game sessions as Prometheus metrics.
#[derive(Debug, Parser)]
#[command(name = "gamelift-exporter", version = VERSION, about, long_about = None)]
pub struct Args {
    /// TOML config file (see config/gamelift-exporter.toml). Without it, defaults apply and
    /// credentials and Region come from the standard AWS chain.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Validate the config, print the effective config, and exit (0 valid, 2 invalid).
    #[arg(long)]
    pub check_config: bool,

    /// Web config YAML for TLS and basic auth (Prometheus exporter-toolkit format); overrides
    /// server.web_config_file.
    #[arg(long = "web.config.file", value_name = "FILE")]
    pub web_config_file: Option<PathBuf>,

    /// State file (interruption ledger, event positions) kept across restarts; overrides
    /// state.path. The systemd units point it into their StateDirectory.
    #[arg(long = "state.path", value_name = "FILE")]
    pub state_path: Option<PathBuf>,

    /// Run on a built-in simulated GameLift world instead of AWS (no account needed).
    #[arg(long)]
    pub demo: bool,

    /// Log level or tracing filter directive (error, warn, info, debug, trace). `--log-level`
    /// is an alias.
    #[arg(
        long = "log.level",
        visible_alias = "log-level",
        value_name = "LEVEL",
        default_value = "info",
        global = true
    )]
    pub log_level: String,

    /// Log format: text, or json (one flat JSON object per line: ts, level, msg, target and the
    /// event's fields). `--log-format` is an alias.
    #[arg(
        long = "log.format",
        visible_alias = "log-format",
        value_enum,
        default_value_t = LogFormat::Text,
        global = true
    )]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the GameLift simulator on its own (for the AWS CLI, boto3, or a separate exporter).
    Simulate {
        /// Scenario file (see config/scenarios/).
        #[arg(long, value_name = "FILE")]
        scenario: PathBuf,
        /// Address to listen on; port 0 picks a free port (printed on start).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:4566")]
        listen: SocketAddr,
        /// Simulated seconds per real second; 0 freezes time except for /_simulator/advance.
        #[arg(long, default_value_t = 1.0)]
        speed: f64,
    },
}
