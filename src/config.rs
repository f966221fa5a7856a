//! The exporter's configuration: each key declared once, in the typed [`Config`] itself
//! (serde defaults, a validating deserializer per field, cross-field checks after parsing, and
//! `Serialize` for `--check-config`), plus the command-line [`Overrides`] layered on top.

use crate::duration;
use crate::tomlfile::{self, FileError};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default listen port: 9100–9999 of the Prometheus default port allocations are taken, so the
/// exporter uses one above that range.
pub const DEFAULT_PORT: u16 = 10319;
/// Sweeping more often than this spends API quota for little gain; we warn below it.
pub const INTERVAL_FLOOR: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The file it came from, if any (for messages and reloads).
    #[serde(skip)]
    pub source: Option<PathBuf>,
    pub server: ServerConfig,
    pub aws: AwsConfig,
    pub sweep: SweepConfig,
    pub state: StateConfig,
    pub fleets: FleetFilter,
    /// Placement and matchmaking events from an SQS queue; none: not read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<EventsConfig>,
    /// Several AWS accounts in one process; none means one account, `[aws]`'s credentials.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<AccountConfig>,
}

/// `[events]`: the SQS queue that GameLift's queue placement and FlexMatch events reach
/// (EventBridge rule -> SQS, or SNS -> SQS).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsConfig {
    #[serde(deserialize_with = "queue_url")]
    pub sqs_queue_url: String,
    /// The queue's Region; by default the one in the queue URL (`sqs.<region>.amazonaws.com`),
    /// else `[aws]`'s.
    #[serde(default, deserialize_with = "region", skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The `[[accounts]]` entry whose credentials read the queue (its role, if it has one); by
    /// default the default credential chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Where to send SQS requests; by default AWS, or the queue URL's own host when it is not an
    /// AWS one (a local SQS such as moto or the simulator).
    #[serde(
        default,
        deserialize_with = "endpoint_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub endpoint_url: Option<String>,
    /// Long-polling wait of each ReceiveMessage (0s to 20s).
    #[serde(
        default = "default_wait_time",
        deserialize_with = "wait_time",
        serialize_with = "duration::serde_text::serialize"
    )]
    pub wait_time: Duration,
    /// How long event ids are remembered to drop SQS's redeliveries (kept in `state.path`).
    #[serde(
        default = "default_dedup_window",
        deserialize_with = "positive_duration",
        serialize_with = "duration::serde_text::serialize"
    )]
    pub dedup_window: Duration,
}

fn default_wait_time() -> Duration {
    Duration::from_secs(20)
}

fn default_dedup_window() -> Duration {
    Duration::from_secs(6 * 3600)
}

fn wait_time<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    let value = duration::parse(&text).map_err(custom)?;
    if value > Duration::from_secs(20) {
        return Err(custom(format!(
            "invalid wait time {text:?}: SQS long polling waits 0s to 20s"
        )));
    }
    Ok(value)
}

fn queue_url<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    let path = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .and_then(|rest| rest.split_once('/'))
        .map(|(_, path)| path);
    match path {
        Some(path) if path.split('/').filter(|p| !p.is_empty()).count() == 2 => Ok(text),
        _ => Err(custom(format!(
            "invalid queue URL {text:?}: expected https://sqs.<region>.amazonaws.com/<account id>/<queue name>"
        ))),
    }
}

impl EventsConfig {
    /// The queue's Region, from the URL's host when it names one.
    pub fn url_region(&self) -> Option<String> {
        let host = self.sqs_queue_url.split("://").nth(1)?.split('/').next()?;
        let region = host.strip_prefix("sqs.")?.split('.').next()?;
        (host.contains(".amazonaws.com") && !region.is_empty()).then(|| region.to_string())
    }

    /// The endpoint to send SQS requests to: the configured one, else the queue URL's host when
    /// it is not AWS's.
    pub fn effective_endpoint(&self) -> Option<String> {
        if let Some(url) = &self.endpoint_url {
            return Some(url.clone());
        }
        let (scheme, rest) = self.sqs_queue_url.split_once("://")?;
        let host = rest.split('/').next()?;
        (!host.ends_with(".amazonaws.com") && !host.ends_with(".amazonaws.com.cn"))
            .then(|| format!("{scheme}://{host}"))
    }
}

/// One AWS account to sweep (`[[accounts]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountConfig {
    /// The `account` label value: letters, digits, `-` and `_`.
    #[serde(deserialize_with = "account_name")]
    pub name: String,
    /// Its home Regions; none means `[aws]`'s (`region`/`regions`, else the default chain's).
    #[serde(default, deserialize_with = "regions", skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    /// A role to assume (through STS, with the default credential chain as the source); none
    /// means the default chain's own account.
    #[serde(
        default,
        deserialize_with = "role_arn",
        skip_serializing_if = "Option::is_none"
    )]
    pub role_arn: Option<String>,
    #[serde(
        default,
        deserialize_with = "external_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub external_id: Option<String>,
    #[serde(default = "default_session_name", deserialize_with = "session_name")]
    pub session_name: String,
    /// Applied after the top-level `[fleets]` filter: a fleet must pass both.
    #[serde(default)]
    pub fleets: FleetFilter,
}

/// The name of the single account `[aws]` describes when there are no `[[accounts]]`.
pub const DEFAULT_ACCOUNT: &str = "default";

fn default_session_name() -> String {
    "gamelift-exporter".to_string()
}

impl AccountConfig {
    /// The account id in the role ARN, if a role is assumed.
    pub fn role_account_id(&self) -> Option<&str> {
        self.role_arn.as_deref().and_then(|arn| arn.split(':').nth(4))
    }
}

impl Config {
    /// The accounts to sweep: the `[[accounts]]`, or the single account `[aws]` describes.
    /// Accounts without `regions` get `[aws]`'s.
    pub fn effective_accounts(&self) -> Vec<AccountConfig> {
        let mut accounts = if self.accounts.is_empty() {
            vec![AccountConfig {
                name: DEFAULT_ACCOUNT.to_string(),
                regions: Vec::new(),
                role_arn: None,
                external_id: None,
                session_name: default_session_name(),
                fleets: FleetFilter::default(),
            }]
        } else {
            self.accounts.clone()
        };
        for account in &mut accounts {
            if account.regions.is_empty() {
                account.regions = self.aws.home_regions();
            }
        }
        accounts
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    #[serde(deserialize_with = "listen_address")]
    pub listen: SocketAddr,
    /// Whether `POST /-/reload` reloads the config file (SIGHUP always does).
    pub enable_reload: bool,
    /// Connections served at once; more wait in the listen backlog.
    #[serde(deserialize_with = "max_connections")]
    pub max_connections: usize,
    /// A client that has not sent its request headers in this time is disconnected (slowloris).
    #[serde(
        deserialize_with = "positive_duration",
        serialize_with = "duration::serde_text::serialize"
    )]
    pub header_read_timeout: Duration,
    /// Prometheus exporter-toolkit web config (TLS, basic auth), YAML; relative to the config file.
    #[serde(deserialize_with = "path", skip_serializing_if = "Option::is_none")]
    pub web_config_file: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], DEFAULT_PORT)),
            enable_reload: false,
            max_connections: 128,
            header_read_timeout: Duration::from_secs(10),
            web_config_file: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AwsConfig {
    /// One home Region (`region`) or several (`regions`), not both; neither means "the Region of
    /// the default AWS chain". See [`AwsConfig::home_regions`].
    #[serde(deserialize_with = "region", skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(deserialize_with = "regions", skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<String>,
    #[serde(deserialize_with = "endpoint_url", skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    #[serde(deserialize_with = "profile", skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Client-side cap on every API call (every attempt) to one account and Region, over all
    /// operations together.
    #[serde(deserialize_with = "request_rate")]
    pub max_requests_per_second: f64,
    /// Share of AWS's per-operation rate quota each operation's budget takes (the game's own
    /// backend uses the same quota). Above 1 only for an account whose quotas AWS raised.
    #[serde(deserialize_with = "quota_share")]
    pub quota_share: f64,
    /// Attempts per call, first one included; the exporter retries itself, so that every
    /// attempt takes a slot of the budget.
    #[serde(deserialize_with = "attempts")]
    pub max_attempts: u32,
    #[serde(
        deserialize_with = "positive_duration",
        serialize_with = "duration::serde_text::serialize"
    )]
    pub request_timeout: Duration,
}

impl Default for AwsConfig {
    fn default() -> Self {
        AwsConfig {
            region: None,
            regions: Vec::new(),
            endpoint_url: None,
            profile: None,
            max_requests_per_second: 5.0,
            quota_share: 0.25,
            max_attempts: 3,
            request_timeout: Duration::from_secs(10),
        }
    }
}

impl AwsConfig {
    /// The configured home Regions; empty means "the Region of the default AWS chain".
    pub fn home_regions(&self) -> Vec<String> {
        self.region.iter().chain(self.regions.iter()).cloned().collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SweepConfig {
    /// Each fleet's live pass: live statuses, new fleet events, interruption lookups.
    #[serde(
        deserialize_with = "positive_duration",
        serialize_with = "duration::serde_text::serialize"
    )]
    pub interval: Duration,
    /// How often each fleet's terminated history is read by a full pass in the background.
    #[serde(
        deserialize_with = "any_duration",
        serialize_with = "duration::serde_text::serialize"
    )]
    pub history_interval: Duration,
    #[serde(
        deserialize_with = "any_duration",
        serialize_with = "duration::serde_text::serialize"
    )]
    pub discovery_interval: Duration,
    /// How often instance counts and utilization are read (`DescribeFleetCapacity`,
    /// `DescribeFleetUtilization` and their location forms); "0s" turns them off.
    #[serde(
        deserialize_with = "any_duration",
        serialize_with = "duration::serde_text::serialize"
    )]
    pub capacity_interval: Duration,
    #[serde(deserialize_with = "page_size")]
    pub page_size: u32,
    /// Statuses every live pass lists (ACTIVE always); the others are not published.
    #[serde(deserialize_with = "live_statuses")]
    pub live_statuses: Vec<String>,
    /// Share of a Region's request budget that full passes may use; live passes never wait for
    /// more than this share.
    #[serde(deserialize_with = "share")]
    pub history_budget_share: f64,
    /// `DescribeGameSessionDetails` calls per live pass for sessions on interrupted instances.
    #[serde(deserialize_with = "lookups")]
    pub max_session_lookups: u32,
    /// Live passes of one Region's fleets in flight at once (full passes likewise).
    #[serde(deserialize_with = "concurrency")]
    pub concurrency: usize,
    /// A live pass taking longer fails (and publishes nothing).
    #[serde(
        deserialize_with = "positive_duration",
        serialize_with = "duration::serde_text::serialize"
    )]
    pub timeout: Duration,
    /// A fleet without a complete live pass for this long has its session series dropped.
    #[serde(
        deserialize_with = "positive_duration",
        serialize_with = "duration::serde_text::serialize"
    )]
    pub stale_after: Duration,
}

impl Default for SweepConfig {
    fn default() -> Self {
        SweepConfig {
            interval: Duration::from_secs(60),
            history_interval: Duration::from_secs(3600),
            discovery_interval: Duration::from_secs(600),
            capacity_interval: Duration::from_secs(60),
            page_size: 100,
            live_statuses: crate::aggregate::LIVE_STATUSES
                .iter()
                .map(|s| s.to_string())
                .collect(),
            history_budget_share: 0.25,
            max_session_lookups: 100,
            concurrency: 4,
            timeout: Duration::from_secs(600),
            stale_after: Duration::from_secs(900),
        }
    }
}

/// What survives a restart: the interruption ledger and each fleet's event high-water mark.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StateConfig {
    /// The state file (JSON, written atomically); relative to the config file. None: no state
    /// survives a restart.
    #[serde(deserialize_with = "path", skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FleetFilter {
    #[serde(deserialize_with = "globs")]
    pub include: Vec<Glob>,
    #[serde(deserialize_with = "globs")]
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

impl Serialize for Glob {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

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

fn custom<E: serde::de::Error>(message: String) -> E {
    E::custom(message)
}

fn listen_address<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    let text = String::deserialize(d)?;
    text.parse().map_err(|_| {
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

fn regions<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
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
    Ok(list)
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

fn profile<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let text = String::deserialize(d)?;
    if text.is_empty() {
        return Err(custom("empty value: expected a profile name".into()));
    }
    Ok(Some(text))
}

/// Requests per second a budget can space: from one per 100 s to a million per second (a rate
/// outside this range is a typo, and a tiny one would overflow the spacing interval).
const RATE_RANGE: (f64, f64) = (0.01, 1_000_000.0);

fn request_rate<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let value = f64::deserialize(d)?;
    if (RATE_RANGE.0..=RATE_RANGE.1).contains(&value) {
        Ok(value)
    } else {
        Err(custom(format!(
            "invalid value {value:?}: expected requests per second from {} to {}",
            RATE_RANGE.0, RATE_RANGE.1
        )))
    }
}

fn share<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let value = f64::deserialize(d)?;
    if value > 0.0 && value < 1.0 {
        Ok(value)
    } else {
        Err(custom(format!(
            "invalid share {value}: expected a fraction above 0 and below 1"
        )))
    }
}

fn quota_share<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let value = f64::deserialize(d)?;
    if value > 0.0 && value <= 1000.0 {
        Ok(value)
    } else {
        Err(custom(format!(
            "invalid share {value}: expected a fraction above 0 (at most 1 unless AWS raised your quotas; at most 1000)"
        )))
    }
}

fn bounded_integer<'de, D: Deserializer<'de>>(d: D, what: &str, range: (i64, i64)) -> Result<i64, D::Error> {
    let value = i64::deserialize(d)?;
    if (range.0..=range.1).contains(&value) {
        Ok(value)
    } else {
        Err(custom(format!(
            "invalid {what} {value}: expected {} to {}",
            range.0, range.1
        )))
    }
}

fn attempts<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    bounded_integer(d, "number of attempts", (1, 10)).map(|v| v as u32)
}

fn page_size<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    bounded_integer(d, "page size", (1, 1000)).map(|v| v as u32)
}

fn lookups<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    bounded_integer(d, "number of lookups", (0, 10_000)).map(|v| v as u32)
}

fn concurrency<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    bounded_integer(d, "concurrency", (1, 64)).map(|v| v as usize)
}

fn max_connections<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    bounded_integer(d, "max_connections", (1, 65_536)).map(|v| v as usize)
}

fn any_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    duration::parse(&text).map_err(custom)
}

fn positive_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(d)?;
    let value = duration::parse(&text).map_err(custom)?;
    if value.is_zero() {
        return Err(custom(format!(
            "invalid duration {text:?}: expected more than zero"
        )));
    }
    Ok(value)
}

fn live_statuses<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
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
    // In a fixed order, once each: the same statuses always give the same config.
    Ok(crate::aggregate::LIVE_STATUSES
        .iter()
        .filter(|s| list.iter().any(|l| l == *s))
        .map(|s| s.to_string())
        .collect())
}

fn path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    let text = String::deserialize(d)?;
    if text.is_empty() {
        return Err(custom("empty path: expected a file name".into()));
    }
    Ok(Some(PathBuf::from(text)))
}

fn account_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    if text.is_empty()
        || text.len() > 64
        || !text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(custom(format!(
            "invalid account name {text:?}: expected 1 to 64 letters, digits, '-' or '_' (it becomes the `account` label)"
        )));
    }
    Ok(text)
}

fn role_arn<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let text = String::deserialize(d)?;
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    let valid = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[3].is_empty()
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5]
            .strip_prefix("role/")
            .is_some_and(|name| !name.is_empty());
    if !valid {
        return Err(custom(format!(
            "invalid role ARN {text:?}: expected arn:aws:iam::<12-digit account id>:role/<name>"
        )));
    }
    Ok(Some(text))
}

fn external_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let text = String::deserialize(d)?;
    // STS: 2 to 1224 characters of [\w+=,.@:/-].
    let valid = (2..=1224).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c));
    if !valid {
        return Err(custom(format!(
            "invalid external id {text:?}: expected 2 to 1224 characters of letters, digits and _+=,.@:/-"
        )));
    }
    Ok(Some(text))
}

fn session_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    // STS: 2 to 64 characters of [\w+=,.@-].
    let valid = (2..=64).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if !valid {
        return Err(custom(format!(
            "invalid session name {text:?}: expected 2 to 64 characters of letters, digits and _+=,.@-"
        )));
    }
    Ok(text)
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
    /// `--state.path`: outranks `state.path`.
    pub state_path: Option<PathBuf>,
    /// `--demo`: the built-in simulator replaces the AWS endpoint, Regions and profile.
    pub demo: Option<DemoTarget>,
}

/// Where `--demo` points the exporter: the simulator's Regions, and its URL once it listens.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DemoTarget {
    pub regions: Vec<String>,
    /// `None` until the simulator is started (`--check-config --demo` has no URL to show).
    pub endpoint_url: Option<String>,
    /// The simulator's SQS queue of placement and matchmaking events, once it is started.
    pub events_queue_url: Option<String>,
}

impl Overrides {
    /// Applies the overrides to a config read from a file (or the defaults).
    pub fn apply(&self, mut config: Config) -> Config {
        if let Some(file) = &self.web_config_file {
            config.server.web_config_file = Some(file.clone());
        }
        if let Some(file) = &self.state_path {
            config.state.path = Some(file.clone());
        }
        if let Some(demo) = &self.demo {
            config.aws.region = None;
            config.aws.regions = demo.regions.clone();
            config.aws.endpoint_url = demo.endpoint_url.clone();
            config.aws.profile = None;
            // The simulated world is one account.
            config.accounts.clear();
            // Its placement and matchmaking events come from its own SQS queue.
            config.events = demo.events_queue_url.as_ref().map(|url| EventsConfig {
                sqs_queue_url: url.clone(),
                region: demo.regions.first().cloned(),
                account: None,
                endpoint_url: None,
                wait_time: default_wait_time(),
                dedup_window: default_dedup_window(),
            });
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
        let (config, text): (Config, String) = tomlfile::load(path)?;
        config.validated(path, &text)
    }

    /// Parses and validates config text; `path` is only used in messages and to resolve the
    /// relative paths it names.
    pub fn parse(path: &Path, text: &str) -> Result<Config, FileError> {
        let config: Config = tomlfile::parse(path, text)?;
        config.validated(path, text)
    }

    /// The checks that span several keys, after serde has checked each key on its own; and
    /// relative paths made absolute from the config file's directory, so that neither a unit's
    /// WorkingDirectory nor `--check-config`'s output depends on where it runs.
    fn validated(mut self, path: &Path, text: &str) -> Result<Config, FileError> {
        if self.aws.region.is_some() && !self.aws.regions.is_empty() {
            let start = text.find("regions").unwrap_or(0);
            return Err(FileError::at_span(
                path,
                text,
                start..start,
                "aws.regions",
                "set either `region` or `regions`, not both".into(),
            ));
        }
        for (i, account) in self.accounts.iter().enumerate() {
            let at = |needle: &str| {
                // The i-th [[accounts]] table, then the key in it.
                let table = text.match_indices("[[accounts]]").nth(i).map_or(0, |(at, _)| at);
                let start = text[table..].find(needle).map_or(table, |at| table + at);
                start..start
            };
            if self.accounts[..i].iter().any(|a| a.name == account.name) {
                return Err(FileError::at_span(
                    path,
                    text,
                    at("name"),
                    &format!("accounts[{i}].name"),
                    format!(
                        "account name {:?} is used twice: expected a unique name per account",
                        account.name
                    ),
                ));
            }
            // Two entries for one AWS account in one Region would each spend its quota share.
            let identity = |a: &AccountConfig| a.role_account_id().map(str::to_string);
            let regions = |a: &AccountConfig| -> Vec<String> {
                if a.regions.is_empty() {
                    self.aws.home_regions()
                } else {
                    a.regions.clone()
                }
            };
            if let Some(twin) = self.accounts[..i]
                .iter()
                .find(|a| identity(a) == identity(account))
            {
                let (mine, theirs) = (regions(account), regions(twin));
                let shared: Vec<&String> = mine
                    .iter()
                    .filter(|r| theirs.is_empty() || theirs.contains(r))
                    .collect();
                if !shared.is_empty() || mine.is_empty() {
                    let who = match identity(account) {
                        Some(id) => format!("AWS account {id}"),
                        None => "the default credentials (no role_arn)".to_string(),
                    };
                    let where_ = match shared.first() {
                        Some(region) => format!("Region {region}"),
                        None => "the default Region".to_string(),
                    };
                    return Err(FileError::at_span(
                        path,
                        text,
                        at(if account.role_arn.is_some() { "role_arn" } else { "name" }),
                        &format!("accounts[{i}]"),
                        format!(
                            "accounts {:?} and {:?} are both {who} in {where_}: each would spend the account's quota share; expected one entry per AWS account and Region (its fleets filter can select both sets of fleets)",
                            twin.name, account.name
                        ),
                    ));
                }
            }
            if account.external_id.is_some() && account.role_arn.is_none() {
                return Err(FileError::at_span(
                    path,
                    text,
                    at("external_id"),
                    &format!("accounts[{i}].external_id"),
                    "an external id is only sent when assuming a role: set role_arn too".into(),
                ));
            }
        }
        if self.sweep.stale_after < self.sweep.interval * 2 {
            // At the stale_after key if the file sets it, else at the interval.
            let section = text.find("[sweep]").unwrap_or(0);
            let key = if text[section..].contains("stale_after") {
                "stale_after"
            } else {
                "interval"
            };
            let start = text[section..].find(key).map_or(section, |at| section + at);
            return Err(FileError::at_span(
                path,
                text,
                start..start,
                "sweep.stale_after",
                format!(
                    "stale_after {} is less than twice sweep.interval ({}): every fleet would turn stale between two live passes; expected at least {}",
                    duration::format(self.sweep.stale_after),
                    duration::format(self.sweep.interval),
                    duration::format(self.sweep.interval * 2)
                ),
            ));
        }
        if let Some(events) = &self.events {
            if let Some(account) = &events.account {
                if !self.accounts.iter().any(|a| &a.name == account) {
                    let section = text.find("[events]").unwrap_or(0);
                    let start = text[section..].find("account").map_or(section, |at| section + at);
                    return Err(FileError::at_span(
                        path,
                        text,
                        start..start,
                        "events.account",
                        format!("no [[accounts]] entry is named {account:?}"),
                    ));
                }
            }
        }
        let base = std::path::absolute(path.parent().unwrap_or(Path::new("")))
            .unwrap_or_else(|_| path.parent().unwrap_or(Path::new("")).to_path_buf());
        for file in [&mut self.server.web_config_file, &mut self.state.path] {
            if let Some(relative) = file.as_ref().filter(|p| p.is_relative()) {
                *file = Some(base.join(relative));
            }
        }
        self.source = Some(path.to_path_buf());
        Ok(self)
    }

    /// Warnings about settings that work but are probably not what the operator wants.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.sweep.interval < INTERVAL_FLOOR {
            out.push(format!(
                "sweep.interval = \"{}\" is below {}s: every live pass spends DescribeGameSessions quota that the game's own backend shares",
                duration::format(self.sweep.interval),
                INTERVAL_FLOOR.as_secs()
            ));
        }
        if self.aws.quota_share > 1.0 {
            out.push(format!("aws.quota_share = {} takes more than AWS's default quota of each operation: only right if AWS raised your account's quotas", self.aws.quota_share));
        }
        if self.sweep.history_interval < self.sweep.interval {
            out.push("sweep.history_interval is shorter than sweep.interval: full passes re-read the terminated history more often than live passes run".into());
        }
        out
    }

    /// The effective config as TOML, for `--check-config`: every key with its value, and the
    /// optional keys that are not set named in a comment with what applies instead.
    pub fn to_toml(&self) -> String {
        let mut unset = Vec::new();
        if self.server.web_config_file.is_none() {
            unset.push("server.web_config_file (no TLS, no basic auth)");
        }
        if self.events.is_none() {
            unset.push("events (no placement or matchmaking events are read)");
        }
        if self.aws.home_regions().is_empty() {
            unset.push("aws.region and aws.regions (the Region of the default AWS chain)");
        }
        if self.aws.endpoint_url.is_none() {
            unset.push("aws.endpoint_url (AWS's endpoint)");
        }
        if self.aws.profile.is_none() {
            unset.push("aws.profile (the default credential chain)");
        }
        if self.state.path.is_none() {
            unset.push("state.path (no state survives a restart)");
        }
        let mut out = String::from("# The effective configuration: the file, then the command line.\n");
        for key in unset {
            out.push_str(&format!("# not set: {key}\n"));
        }
        out.push('\n');
        out.push_str(&toml::to_string(self).expect("the config serializes to TOML"));
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
