//! The exporter's configuration: the TOML file as written (`Raw*`, strict, every field checked
//! while parsing) and the validated [`Config`] everything else uses.

use crate::duration;
use crate::tomlfile::{self, FileError};
use serde::{Deserialize, Deserializer};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default listen port: 9100–9999 of the Prometheus default port allocations are taken, so the
/// exporter uses one above that range.
pub const DEFAULT_PORT: u16 = 10319;
/// Sweeping more often than this spends API quota for little gain; we warn below it.
pub const INTERVAL_FLOOR: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The file it came from, if any (for messages and reloads).
    pub source: Option<PathBuf>,
    pub server: ServerConfig,
    pub aws: AwsConfig,
    pub sweep: SweepConfig,
    pub fleets: FleetFilter,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Whether `POST /-/reload` reloads the config file (SIGHUP always does).
    pub enable_reload: bool,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// A client that has not sent its request headers in this time is disconnected (slowloris).
    pub header_read_timeout: Duration,
    /// Prometheus exporter-toolkit web config (TLS, basic auth), YAML.
    pub web_config_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AwsConfig {
    /// Home Regions to sweep; empty means "the Region of the default AWS chain".
    pub regions: Vec<String>,
    pub endpoint_url: Option<String>,
    pub profile: Option<String>,
    /// Client-side budget shared by every API call to one Region.
    pub max_requests_per_second: f64,
    /// SDK standard retry mode: attempts per call, first one included.
    pub max_attempts: u32,
    pub request_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SweepConfig {
    pub interval: Duration,
    /// How often the terminated history is read (a full, unfiltered pass).
    pub history_interval: Duration,
    pub discovery_interval: Duration,
    pub page_size: u32,
    /// Statuses listed by every live sweep (ACTIVE always); the others come from full sweeps.
    pub live_statuses: Vec<String>,
    pub concurrency: usize,
    /// A fleet sweep taking longer than this fails (and publishes nothing).
    pub timeout: Duration,
    /// A fleet without a complete sweep for this long has its session series dropped.
    pub stale_after: Duration,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FleetFilter {
    pub include: Vec<Glob>,
    pub exclude: Vec<Glob>,
}

impl FleetFilter {
    /// A fleet is swept when its id or name matches an include pattern (or there are none) and
    /// neither matches an exclude pattern.
    pub fn accepts(&self, fleet_id: &str, fleet_name: &str) -> bool {
        let matches = |g: &Glob| g.matches(fleet_id) || g.matches(fleet_name);
        (self.include.is_empty() || self.include.iter().any(matches)) && !self.exclude.iter().any(matches)
    }
}

/// A shell-style pattern where `*` matches any run of characters and `?` one character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob(String);

impl Glob {
    pub fn parse(pattern: &str) -> Result<Glob, String> {
        if pattern.is_empty() {
            return Err("empty pattern: expected a fleet id, name, or glob such as \"prod-*\"".into());
        }
        if let Some(c) = pattern
            .chars()
            .find(|c| "[]{}!\\".contains(*c) || c.is_whitespace())
        {
            return Err(format!(
                "invalid glob {pattern:?}: unsupported character {c:?} (only * and ? are special)"
            ));
        }
        Ok(Glob(pattern.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn matches(&self, text: &str) -> bool {
        fn go(p: &[char], t: &[char]) -> bool {
            match (p.first(), t.first()) {
                (None, None) => true,
                (Some('*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
                (Some('?'), Some(_)) => go(&p[1..], &t[1..]),
                (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
                _ => false,
            }
        }
        let p: Vec<char> = self.0.chars().collect();
        let t: Vec<char> = text.chars().collect();
        go(&p, &t)
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            source: None,
            server: ServerConfig {
                listen: SocketAddr::from(([0, 0, 0, 0], DEFAULT_PORT)),
                enable_reload: false,
                max_connections: 128,
                header_read_timeout: Duration::from_secs(10),
                web_config_file: None,
            },
            aws: AwsConfig {
                regions: Vec::new(),
                endpoint_url: None,
                profile: None,
                max_requests_per_second: 5.0,
                max_attempts: 3,
                request_timeout: Duration::from_secs(10),
            },
            sweep: SweepConfig {
                interval: Duration::from_secs(60),
                history_interval: Duration::from_secs(600),
                discovery_interval: Duration::from_secs(600),
                page_size: 100,
                live_statuses: vec!["ACTIVE".to_string()],
                concurrency: 4,
                // Generous: a full pass over a month of history at the client budget takes minutes.
                timeout: Duration::from_secs(30 * 60),
                stale_after: Duration::from_secs(900),
            },
            fleets: FleetFilter::default(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    aws: RawAws,
    #[serde(default)]
    sweep: RawSweep,
    #[serde(default)]
    fleets: RawFleets,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    #[serde(default, deserialize_with = "listen_address")]
    listen: Option<SocketAddr>,
    #[serde(default)]
    enable_reload: Option<bool>,
    #[serde(default, deserialize_with = "max_connections")]
    max_connections: Option<usize>,
    #[serde(default, deserialize_with = "positive_duration")]
    header_read_timeout: Option<Duration>,
    #[serde(default, deserialize_with = "path")]
    web_config_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAws {
    #[serde(default, deserialize_with = "region")]
    region: Option<String>,
    #[serde(default, deserialize_with = "regions")]
    regions: Option<Vec<String>>,
    #[serde(default, deserialize_with = "endpoint_url")]
    endpoint_url: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    profile: Option<String>,
    #[serde(default, deserialize_with = "positive_rate")]
    max_requests_per_second: Option<f64>,
    #[serde(default, deserialize_with = "attempts")]
    max_attempts: Option<u32>,
    #[serde(default, deserialize_with = "positive_duration")]
    request_timeout: Option<Duration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSweep {
    #[serde(default, deserialize_with = "positive_duration")]
    interval: Option<Duration>,
    #[serde(default, deserialize_with = "any_duration")]
    history_interval: Option<Duration>,
    #[serde(default, deserialize_with = "any_duration")]
    discovery_interval: Option<Duration>,
    #[serde(default, deserialize_with = "page_size")]
    page_size: Option<u32>,
    #[serde(default, deserialize_with = "live_statuses")]
    live_statuses: Option<Vec<String>>,
    #[serde(default, deserialize_with = "concurrency")]
    concurrency: Option<usize>,
    #[serde(default, deserialize_with = "positive_duration")]
    timeout: Option<Duration>,
    #[serde(default, deserialize_with = "positive_duration")]
    stale_after: Option<Duration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFleets {
    #[serde(default, deserialize_with = "globs")]
    include: Vec<Glob>,
    #[serde(default, deserialize_with = "globs")]
    exclude: Vec<Glob>,
}

fn custom<E: serde::de::Error>(message: String) -> E {
    E::custom(message)
}

fn listen_address<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map(Some).map_err(|_| {
        custom(format!(
            "invalid listen address {text:?}: expected IP:PORT such as \"0.0.0.0:{DEFAULT_PORT}\" or \"[::1]:{DEFAULT_PORT}\""
        ))
    })
}

fn check_region(text: &str) -> Result<(), String> {
    let valid = !text.is_empty()
        && text.len() <= 64
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && text.contains('-');
    if valid {
        Ok(())
    } else if text.is_empty() {
        Err("empty region: expected an AWS Region code such as \"us-west-2\"".into())
    } else {
        Err(format!(
            "invalid region {text:?}: expected an AWS Region code such as \"us-west-2\""
        ))
    }
}

fn region<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let text = String::deserialize(d)?;
    check_region(&text).map_err(custom)?;
    Ok(Some(text))
}

fn regions<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let list = Vec::<String>::deserialize(d)?;
    if list.is_empty() {
        return Err(custom("empty list: expected at least one AWS Region code".into()));
    }
    for (i, text) in list.iter().enumerate() {
        check_region(text).map_err(custom)?;
        if list[..i].contains(text) {
            return Err(custom(format!("region {text:?} is listed twice")));
        }
    }
    Ok(Some(list))
}

fn endpoint_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let text = String::deserialize(d)?;
    let rest = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') => Ok(Some(text)),
        _ => Err(custom(format!(
            "invalid endpoint URL {text:?}: expected http:// or https:// followed by a host"
        ))),
    }
}

fn non_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let text = String::deserialize(d)?;
    if text.is_empty() {
        return Err(custom("empty value: expected a profile name".into()));
    }
    Ok(Some(text))
}

fn positive_rate<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let value = f64::deserialize(d)?;
    if value > 0.0 && value.is_finite() {
        Ok(Some(value))
    } else {
        Err(custom(format!(
            "invalid value {value}: expected requests per second above 0"
        )))
    }
}

fn attempts<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let value = u32::deserialize(d)?;
    if (1..=10).contains(&value) {
        Ok(Some(value))
    } else {
        Err(custom(format!(
            "invalid value {value}: expected 1 to 10 attempts"
        )))
    }
}

fn any_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(d)?;
    duration::parse(&text).map(Some).map_err(custom)
}

fn positive_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(d)?;
    let value = duration::parse(&text).map_err(custom)?;
    if value.is_zero() {
        return Err(custom(format!(
            "invalid duration {text:?}: expected more than zero"
        )));
    }
    Ok(Some(value))
}

fn page_size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let value = i64::deserialize(d)?;
    if (1..=1000).contains(&value) {
        Ok(Some(value as u32))
    } else {
        Err(custom(format!("invalid page size {value}: expected 1 to 1000")))
    }
}

fn live_statuses<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let list = Vec::<String>::deserialize(d)?;
    for status in &list {
        if !crate::aggregate::LIVE_STATUSES.contains(&status.as_str()) {
            return Err(custom(format!(
                "invalid status {status:?}: expected ACTIVE, ACTIVATING or TERMINATING"
            )));
        }
    }
    if !list.iter().any(|s| s == "ACTIVE") {
        return Err(custom(
            "ACTIVE must be listed: players, slots and occupancy come from it".into(),
        ));
    }
    let mut ordered: Vec<String> = crate::aggregate::LIVE_STATUSES
        .iter()
        .filter(|s| list.iter().any(|l| l == *s))
        .map(|s| s.to_string())
        .collect();
    ordered.dedup();
    Ok(Some(ordered))
}

fn concurrency<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    let value = i64::deserialize(d)?;
    if (1..=64).contains(&value) {
        Ok(Some(value as usize))
    } else {
        Err(custom(format!("invalid concurrency {value}: expected 1 to 64")))
    }
}

fn max_connections<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    let value = i64::deserialize(d)?;
    if (1..=65_536).contains(&value) {
        Ok(Some(value as usize))
    } else {
        Err(custom(format!(
            "invalid max_connections {value}: expected 1 to 65536"
        )))
    }
}

fn path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    let text = String::deserialize(d)?;
    if text.is_empty() {
        return Err(custom("empty path: expected a file name".into()));
    }
    Ok(Some(PathBuf::from(text)))
}

fn globs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Glob>, D::Error> {
    Vec::<String>::deserialize(d)?
        .iter()
        .map(|p| Glob::parse(p).map_err(custom))
        .collect()
}

/// Settings that outrank the config file: command-line flags and `--demo`. Kept by the exporter
/// and re-applied by [`Config::layered`] on every load (start, SIGHUP, `POST /-/reload`,
/// `--check-config`), so a reload can never drop one of them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    /// `--web.config.file`: TLS and basic auth; outranks `server.web_config_file`.
    pub web_config_file: Option<PathBuf>,
    /// `--demo`: the built-in simulator replaces the AWS endpoint, Regions and profile.
    pub demo: Option<DemoTarget>,
}

/// Where `--demo` points the exporter: the simulator's Regions, and its URL once it listens.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DemoTarget {
    pub regions: Vec<String>,
    /// `None` until the simulator is started (`--check-config --demo` has no URL to show).
    pub endpoint_url: Option<String>,
}

impl Overrides {
    /// Applies the overrides to a config read from a file (or the defaults).
    pub fn apply(&self, mut config: Config) -> Config {
        if let Some(file) = &self.web_config_file {
            config.server.web_config_file = Some(file.clone());
        }
        if let Some(demo) = &self.demo {
            config.aws.regions = demo.regions.clone();
            config.aws.endpoint_url = demo.endpoint_url.clone();
            config.aws.profile = None;
        }
        config
    }
}

impl Config {
    /// The effective config: the file (or the defaults when there is none), then `overrides`.
    /// Every load goes through here.
    pub fn layered(file: Option<&Path>, overrides: &Overrides) -> Result<Config, FileError> {
        let config = match file {
            Some(path) => Config::load(path)?,
            None => Config::default(),
        };
        Ok(overrides.apply(config))
    }

    /// Reads, parses and validates a config file.
    pub fn load(path: &Path) -> Result<Config, FileError> {
        let (raw, text): (RawConfig, String) = tomlfile::load(path)?;
        Config::from_raw(raw, path, &text)
    }

    /// Parses and validates config text; `path` is only used in messages.
    pub fn parse(path: &Path, text: &str) -> Result<Config, FileError> {
        let raw: RawConfig = tomlfile::parse(path, text)?;
        Config::from_raw(raw, path, text)
    }

    fn from_raw(raw: RawConfig, path: &Path, text: &str) -> Result<Config, FileError> {
        let defaults = Config::default();
        let regions = match (raw.aws.region, raw.aws.regions) {
            (Some(_), Some(_)) => {
                let start = text.find("regions").unwrap_or(0);
                return Err(FileError::at_span(
                    path,
                    text,
                    start..start,
                    "aws.regions",
                    "set either `region` or `regions`, not both".into(),
                ));
            }
            (Some(region), None) => vec![region],
            (None, Some(regions)) => regions,
            (None, None) => Vec::new(),
        };
        let sweep = SweepConfig {
            interval: raw.sweep.interval.unwrap_or(defaults.sweep.interval),
            history_interval: raw
                .sweep
                .history_interval
                .unwrap_or(defaults.sweep.history_interval),
            discovery_interval: raw
                .sweep
                .discovery_interval
                .unwrap_or(defaults.sweep.discovery_interval),
            page_size: raw.sweep.page_size.unwrap_or(defaults.sweep.page_size),
            live_statuses: raw.sweep.live_statuses.unwrap_or(defaults.sweep.live_statuses),
            concurrency: raw.sweep.concurrency.unwrap_or(defaults.sweep.concurrency),
            timeout: raw.sweep.timeout.unwrap_or(defaults.sweep.timeout),
            stale_after: raw.sweep.stale_after.unwrap_or(defaults.sweep.stale_after),
        };
        Ok(Config {
            source: Some(path.to_path_buf()),
            server: ServerConfig {
                listen: raw.server.listen.unwrap_or(defaults.server.listen),
                enable_reload: raw.server.enable_reload.unwrap_or(defaults.server.enable_reload),
                max_connections: raw
                    .server
                    .max_connections
                    .unwrap_or(defaults.server.max_connections),
                header_read_timeout: raw
                    .server
                    .header_read_timeout
                    .unwrap_or(defaults.server.header_read_timeout),
                // Relative to the config file, so a unit's WorkingDirectory does not matter.
                web_config_file: raw
                    .server
                    .web_config_file
                    .map(|p| path.parent().map_or(p.clone(), |dir| dir.join(&p))),
            },
            aws: AwsConfig {
                regions,
                endpoint_url: raw.aws.endpoint_url,
                profile: raw.aws.profile,
                max_requests_per_second: raw
                    .aws
                    .max_requests_per_second
                    .unwrap_or(defaults.aws.max_requests_per_second),
                max_attempts: raw.aws.max_attempts.unwrap_or(defaults.aws.max_attempts),
                request_timeout: raw.aws.request_timeout.unwrap_or(defaults.aws.request_timeout),
            },
            sweep,
            fleets: FleetFilter {
                include: raw.fleets.include,
                exclude: raw.fleets.exclude,
            },
        })
    }

    /// Warnings about settings that work but are probably not what the operator wants.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.sweep.interval < INTERVAL_FLOOR {
            out.push(format!(
                "sweep.interval = \"{}\" is below {}s: every sweep spends DescribeGameSessions quota that the game's own backend shares",
                duration::format(self.sweep.interval),
                INTERVAL_FLOOR.as_secs()
            ));
        }
        if self.sweep.history_interval < self.sweep.interval {
            out.push("sweep.history_interval is shorter than sweep.interval: every sweep re-reads the terminated history".into());
        }
        out
    }

    /// The effective config as TOML, for `--check-config`.
    pub fn to_toml(&self) -> String {
        let quote = |s: &str| format!("{s:?}");
        let list = |items: Vec<&str>| {
            format!(
                "[{}]",
                items.iter().map(|s| quote(s)).collect::<Vec<_>>().join(", ")
            )
        };
        let mut out = String::new();
        let server = &self.server;
        let _ = writeln!(out, "[server]\nlisten = {}", quote(&server.listen.to_string()));
        let _ = writeln!(out, "enable_reload = {}", server.enable_reload);
        let _ = writeln!(out, "max_connections = {}", server.max_connections);
        let _ = writeln!(
            out,
            "header_read_timeout = {}",
            quote(&duration::format(server.header_read_timeout))
        );
        if let Some(file) = &server.web_config_file {
            let _ = writeln!(out, "web_config_file = {}", quote(&file.display().to_string()));
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "[aws]");
        if self.aws.regions.is_empty() {
            let _ = writeln!(
                out,
                "# regions: from the default AWS chain (AWS_REGION, profile, instance metadata)"
            );
        } else {
            let _ = writeln!(
                out,
                "regions = {}",
                list(self.aws.regions.iter().map(String::as_str).collect())
            );
        }
        if let Some(url) = &self.aws.endpoint_url {
            let _ = writeln!(out, "endpoint_url = {}", quote(url));
        }
        if let Some(profile) = &self.aws.profile {
            let _ = writeln!(out, "profile = {}", quote(profile));
        }
        let _ = writeln!(
            out,
            "max_requests_per_second = {}",
            self.aws.max_requests_per_second
        );
        let _ = writeln!(out, "max_attempts = {}", self.aws.max_attempts);
        let _ = writeln!(
            out,
            "request_timeout = {}\n",
            quote(&duration::format(self.aws.request_timeout))
        );
        let s = &self.sweep;
        let _ = writeln!(out, "[sweep]");
        for (key, value) in [
            ("interval", s.interval),
            ("history_interval", s.history_interval),
            ("discovery_interval", s.discovery_interval),
            ("timeout", s.timeout),
            ("stale_after", s.stale_after),
        ] {
            let _ = writeln!(out, "{key} = {}", quote(&duration::format(value)));
        }
        let _ = writeln!(
            out,
            "page_size = {}\nconcurrency = {}\n",
            s.page_size, s.concurrency
        );
        let _ = writeln!(out, "[fleets]");
        let _ = writeln!(
            out,
            "include = {}",
            list(self.fleets.include.iter().map(Glob::as_str).collect())
        );
        let _ = writeln!(
            out,
            "exclude = {}",
            list(self.fleets.exclude.iter().map(Glob::as_str).collect())
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(Path::new("c.toml"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn empty_file_gives_defaults() {
        let config = parse("").unwrap();
        assert_eq!(
            Config {
                source: config.source.clone(),
                ..Config::default()
            },
            config
        );
    }

    #[test]
    fn effective_config_round_trips() {
        let config = parse(
            "[aws]\nregions = [\"us-west-2\", \"eu-west-1\"]\nendpoint_url = \"http://127.0.0.1:4566\"\n[sweep]\ninterval = \"2m\"\n[fleets]\ninclude = [\"prod-*\"]\n",
        )
        .unwrap();
        assert_eq!(parse(&config.to_toml()).unwrap(), config);
    }

    #[test]
    fn glob_matching() {
        let g = Glob::parse("prod-*-eu?").unwrap();
        assert!(g.matches("prod-shooter-eu1"));
        assert!(!g.matches("prod-shooter-eu"));
        assert!(!g.matches("staging-x-eu1"));
        let filter = FleetFilter {
            include: vec![Glob::parse("fleet-1*").unwrap()],
            exclude: vec![Glob::parse("*-old").unwrap()],
        };
        assert!(filter.accepts("fleet-123", "arena"));
        assert!(!filter.accepts("fleet-123", "arena-old"));
        assert!(!filter.accepts("fleet-999", "arena"));
    }

    #[test]
    fn bad_values_name_line_and_field() {
        assert_eq!(
            parse("[sweep]\ninterval = \"60\"\n").unwrap_err(),
            "c.toml:2:12: field `sweep.interval`: invalid duration \"60\": missing unit, expected a duration such as \"500ms\", \"60s\", \"5m\", \"1h30m\" or \"30d\""
        );
        assert_eq!(
            parse("[aws]\nregion = \"us-west-2\"\nregions = [\"eu-west-1\"]\n").unwrap_err(),
            "c.toml:3:1: field `aws.regions`: set either `region` or `regions`, not both"
        );
    }
}
