//! Talking to GameLift: one SDK client per account and Region (credentials of the default
//! chain, or of a role assumed through STS), the exporter's own retries (so that every attempt
//! takes a slot of its operation's [`Budgets`]), the counters for every HTTP attempt with a
//! bounded failure reason, and each account's health.

use crate::budget::{BudgetGauges, Budgets, Lane, AWS_RATES};
use crate::clock::SharedClock;
use crate::config::{AccountConfig, AwsConfig};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_credential_types::provider::{self as credentials_provider, ProvideCredentials};
use aws_sdk_gamelift::config::interceptors::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_gamelift::config::{ConfigBag, Credentials, Intercept, Region, RuntimeComponents};
use aws_sdk_gamelift::error::SdkError;
use aws_sdk_gamelift::error::{BoxError, ProvideErrorMetadata};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use prometheus::{CounterVec, GaugeVec, IntCounterVec, Opts, Registry};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Why an API call failed, as a bounded label value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum FailureReason {
    #[error("throttled")]
    Throttled,
    #[error("not_found")]
    NotFound,
    #[error("unauthorized")]
    Unauthorized,
    #[error("invalid_request")]
    InvalidRequest,
    #[error("server_error")]
    ServerError,
    #[error("timeout")]
    Timeout,
    #[error("transport")]
    Transport,
    #[error("other")]
    Other,
}

impl FailureReason {
    /// Every reason, for the series that exist at 0 from the start.
    pub const ALL: [FailureReason; 8] = [
        FailureReason::Throttled,
        FailureReason::NotFound,
        FailureReason::Unauthorized,
        FailureReason::InvalidRequest,
        FailureReason::ServerError,
        FailureReason::Timeout,
        FailureReason::Transport,
        FailureReason::Other,
    ];

    /// Classifies an AWS error code (and HTTP status, when the code is missing).
    pub fn from_code(code: Option<&str>, status: Option<u16>) -> FailureReason {
        match code {
            Some(
                "ThrottlingException" | "Throttling" | "TooManyRequestsException" | "RequestLimitExceeded",
            ) => FailureReason::Throttled,
            Some("NotFoundException") => FailureReason::NotFound,
            Some(
                "UnauthorizedException"
                | "AccessDeniedException"
                | "ExpiredTokenException"
                | "UnrecognizedClientException"
                | "InvalidSignatureException"
                | "MissingAuthenticationTokenException",
            ) => FailureReason::Unauthorized,
            Some("InvalidRequestException" | "ValidationException" | "UnsupportedRegionException") => {
                FailureReason::InvalidRequest
            }
            Some("InternalServiceException" | "InternalFailure" | "ServiceUnavailableException") => {
                FailureReason::ServerError
            }
            _ if status.is_some_and(|s| s >= 500) => FailureReason::ServerError,
            _ => FailureReason::Other,
        }
    }

    /// Whether another attempt may succeed: throttling, server errors, timeouts, broken
    /// connections and unreadable answers are transient; a bad request, a missing fleet or
    /// refused credentials are not.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            FailureReason::Throttled
                | FailureReason::ServerError
                | FailureReason::Timeout
                | FailureReason::Transport
                | FailureReason::Other
        )
    }

    /// Classifies a failed SDK call.
    pub fn of<E: ProvideErrorMetadata>(error: &aws_sdk_gamelift::error::SdkError<E>) -> FailureReason {
        use aws_sdk_gamelift::error::SdkError;
        match error {
            SdkError::TimeoutError(_) => FailureReason::Timeout,
            SdkError::DispatchFailure(failure) => {
                if failure.is_timeout() {
                    FailureReason::Timeout
                } else {
                    FailureReason::Transport
                }
            }
            SdkError::ResponseError(_) => FailureReason::Other,
            SdkError::ServiceError(service) => {
                FailureReason::from_code(service.err().code(), Some(service.raw().status().as_u16()))
            }
            _ => FailureReason::Other,
        }
    }
}

/// A one-line description of a failed call (GameLift's or SQS's: both SDKs share the error
/// type): the service's code and message, or the transport error with its causes.
pub fn describe<E>(error: &aws_sdk_gamelift::error::SdkError<E>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if let Some(service) = error.as_service_error() {
        return format!(
            "{}: {}",
            service.code().unwrap_or("error"),
            service.message().unwrap_or("no message")
        );
    }
    describe_chain(error)
}

/// `gamelift_exporter_api_requests_total` and `..._failures_total`, fed by an SDK interceptor so
/// that every HTTP attempt is counted, retries included; each budget's rates and waits; and
/// each account's health.
#[derive(Clone)]
pub struct ApiMetrics {
    pub requests: IntCounterVec,
    pub failures: IntCounterVec,
    pub budget: GaugeVec,
    pub budget_configured: GaugeVec,
    pub budget_wait: CounterVec,
    pub account_up: GaugeVec,
    pub effective_interval: GaugeVec,
}

impl ApiMetrics {
    pub fn new(registry: &Registry) -> prometheus::Result<ApiMetrics> {
        let requests = IntCounterVec::new(
            Opts::new(
                "gamelift_exporter_api_requests_total",
                "HTTP requests sent to the GameLift API since the exporter started, by account, Region and operation, every retry included.",
            ),
            &["account", "region", "operation"],
        )?;
        let failures = IntCounterVec::new(
            Opts::new(
                "gamelift_exporter_api_request_failures_total",
                "GameLift API requests that failed since the exporter started, by account, Region, operation and reason (throttled, not_found, unauthorized, invalid_request, server_error, timeout, transport, other); operation AssumeRole counts failures to get an account's role credentials from STS.",
            ),
            &["account", "region", "operation", "reason"],
        )?;
        let budget = GaugeVec::new(
            Opts::new(
                "gamelift_exporter_request_budget_per_second",
                "Requests per second the exporter allows itself now, per account, Region and operation (operation=\"all\": the overall cap, aws.max_requests_per_second): the configured rate, halved on each ThrottlingException and recovered gradually.",
            ),
            &["account", "region", "operation"],
        )?;
        let budget_configured = GaugeVec::new(
            Opts::new(
                "gamelift_exporter_request_budget_configured_per_second",
                "Configured rate of each budget: AWS's rate quota of the operation times aws.quota_share, at most aws.max_requests_per_second (operation=\"all\": that cap).",
            ),
            &["account", "region", "operation"],
        )?;
        let budget_wait = CounterVec::new(
            Opts::new(
                "gamelift_exporter_request_budget_wait_seconds_total",
                "Time API calls waited for a slot of each budget, in seconds, since the exporter started.",
            ),
            &["account", "region", "operation"],
        )?;
        let account_up = GaugeVec::new(
            Opts::new(
                "gamelift_exporter_account_up",
                "1 if the account's credentials work (its role could be assumed, if it has one) and its latest fleet discovery succeeded in every one of its Regions; 0 otherwise (see gamelift_exporter_api_request_failures_total by reason). The other accounts are swept either way.",
            ),
            &["account"],
        )?;
        let effective_interval = GaugeVec::new(
            Opts::new(
                "gamelift_exporter_effective_interval_seconds",
                "The live interval each account-Region holds: sweep.interval, or longer when the live passes' calls per interval (from each fleet's latest live pass) need more than the per-operation budgets can pay for.",
            ),
            &["account", "region"],
        )?;
        for collector in [&budget, &budget_configured, &account_up, &effective_interval] {
            registry.register(Box::new(collector.clone()))?;
        }
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(failures.clone()))?;
        registry.register(Box::new(budget_wait.clone()))?;
        Ok(ApiMetrics {
            requests,
            failures,
            budget,
            budget_configured,
            budget_wait,
            account_up,
            effective_interval,
        })
    }

    /// Makes the request and failure series of these operations exist at 0 (every failure
    /// reason), so that each first reaches Prometheus at 0 and `increase()` sees its first step.
    pub fn zero(&self, account: &str, region: &str, operations: &[&str]) {
        for operation in operations {
            self.requests.with_label_values(&[account, region, operation]);
            for reason in FailureReason::ALL {
                self.failures
                    .with_label_values(&[account, region, operation, &reason.to_string()]);
            }
        }
    }

    fn budget_gauges(&self, account: &str, region: &str, operation: &str) -> BudgetGauges {
        let labels = [account, region, operation];
        BudgetGauges {
            current: self.budget.with_label_values(&labels),
            configured: self.budget_configured.with_label_values(&labels),
            waited: self.budget_wait.with_label_values(&labels),
        }
    }
}

/// account -> (credentials failing?, Region -> latest discovery succeeded)
type HealthByAccount = BTreeMap<String, (bool, BTreeMap<String, bool>)>;

/// Whether each account works: its credentials, and its latest discovery in each Region.
/// Feeds `gamelift_exporter_account_up`.
#[derive(Debug, Default)]
pub struct AccountHealth {
    state: Mutex<HealthByAccount>,
}

impl AccountHealth {
    /// The accounts and Regions being swept; the others are forgotten. New ones are down until
    /// their first discovery.
    pub fn set_scopes(&self, metrics: &ApiMetrics, scopes: &[(String, String)]) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.retain(|account, _| scopes.iter().any(|(a, _)| a == account));
        for (account, region) in scopes {
            let entry = state.entry(account.clone()).or_default();
            entry.1.entry(region.clone()).or_insert(false);
        }
        for (account, entry) in state.iter_mut() {
            entry
                .1
                .retain(|region, _| scopes.iter().any(|(a, r)| a == account && r == region));
        }
        let _ = metrics.account_up.reset_if_unused(&state);
        for account in state.keys() {
            Self::show(metrics, account, &state);
        }
    }

    pub fn discovered(&self, metrics: &ApiMetrics, account: &str, region: &str, ok: bool) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = state.get_mut(account) {
            entry.1.insert(region.to_string(), ok);
        }
        Self::show(metrics, account, &state);
    }

    fn credentials(&self, metrics: &ApiMetrics, account: &str, failing: bool) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = state.get_mut(account) {
            entry.0 = failing;
        }
        Self::show(metrics, account, &state);
    }

    fn show(metrics: &ApiMetrics, account: &str, state: &HealthByAccount) {
        if let Some((failing, regions)) = state.get(account) {
            let up = !failing && regions.values().all(|ok| *ok);
            metrics
                .account_up
                .with_label_values(&[account])
                .set(if up { 1.0 } else { 0.0 });
        }
    }
}

trait ResetIfUnused {
    fn reset_if_unused(&self, state: &HealthByAccount) -> bool;
}

impl ResetIfUnused for GaugeVec {
    /// Drops the series of accounts no longer configured.
    fn reset_if_unused(&self, state: &HealthByAccount) -> bool {
        use prometheus::core::Collector;
        let stale: Vec<String> = self
            .collect()
            .iter()
            .flat_map(|family| family.get_metric().iter())
            .filter_map(|m| m.get_label().first().map(|l| l.value().to_string()))
            .filter(|account| !state.contains_key(account))
            .collect();
        for account in &stale {
            let _ = self.remove_label_values(&[account]);
        }
        !stale.is_empty()
    }
}

/// An account's role credentials, watched: every refresh's outcome reaches the account's health
/// and, when it fails, `gamelift_exporter_api_request_failures_total{operation="AssumeRole"}`.
#[derive(Debug)]
struct WatchedCredentials {
    inner: aws_config::sts::AssumeRoleProvider,
    account: String,
    region: String,
    health: Arc<AccountHealth>,
    metrics: ApiMetrics,
}

impl ProvideCredentials for WatchedCredentials {
    fn provide_credentials<'a>(&'a self) -> credentials_provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        credentials_provider::future::ProvideCredentials::new(async move {
            let result = self.inner.provide_credentials().await;
            match &result {
                Ok(_) => self.health.credentials(&self.metrics, &self.account, false),
                Err(error) => {
                    let reason = credentials_failure(error);
                    tracing::warn!(account = %self.account, region = %self.region, %reason, error = %describe_chain(error), "cannot assume the account's role");
                    self.metrics
                        .failures
                        .with_label_values(&[&self.account, &self.region, "AssumeRole", &reason.to_string()])
                        .inc();
                    self.health.credentials(&self.metrics, &self.account, true);
                }
            }
            result
        })
    }
}

/// An error with its causes, on one line.
fn describe_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Why role credentials could not be had, from the STS error code in the error's causes.
fn credentials_failure(error: &credentials_provider::error::CredentialsError) -> FailureReason {
    let text = describe_chain(error);
    for code in [
        "AccessDenied",
        "ExpiredToken",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "RegionDisabledException",
    ] {
        if text.contains(code) {
            return FailureReason::Unauthorized;
        }
    }
    if text.contains("Throttling") {
        return FailureReason::Throttled;
    }
    match error {
        credentials_provider::error::CredentialsError::ProviderTimedOut(_) => FailureReason::Timeout,
        _ if text.contains("dispatch failure") || text.contains("io error") => FailureReason::Transport,
        _ => FailureReason::Other,
    }
}

#[derive(Debug)]
struct AttemptCounter {
    metrics: ApiMetrics,
    account: String,
    region: String,
}

fn operation_name(cfg: &ConfigBag) -> String {
    cfg.load::<Metadata>()
        .map_or_else(|| "unknown".to_string(), |m| m.name().to_string())
}

impl std::fmt::Debug for ApiMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiMetrics")
    }
}

impl Intercept for AttemptCounter {
    fn name(&self) -> &'static str {
        "gamelift-exporter-attempt-counter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.metrics
            .requests
            .with_label_values(&[&self.account, &self.region, &operation_name(cfg)])
            .inc();
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(Err(error)) = context.output_or_error() else {
            return Ok(());
        };
        let status = context.response().map(|r| r.status().as_u16());
        let reason = if error.is_timeout_error() {
            FailureReason::Timeout
        } else if let Some(connector) = error.as_connector_error() {
            if connector.is_timeout() {
                FailureReason::Timeout
            } else {
                FailureReason::Transport
            }
        } else if let Some(operation_error) = error.as_operation_error() {
            FailureReason::from_code(error_code(operation_error), status)
        } else {
            FailureReason::from_code(None, status)
        };
        self.metrics
            .failures
            .with_label_values(&[
                &self.account,
                &self.region,
                &operation_name(cfg),
                &reason.to_string(),
            ])
            .inc();
        Ok(())
    }
}

/// The AWS error code of a type-erased operation error, for the operations we call.
fn error_code(error: &aws_smithy_runtime_api::client::interceptors::context::Error) -> Option<&str> {
    use aws_sdk_gamelift::operation::*;
    if let Some(e) = error.downcast_ref::<describe_game_sessions::DescribeGameSessionsError>() {
        return e.code();
    }
    if let Some(e) = error.downcast_ref::<list_fleets::ListFleetsError>() {
        return e.code();
    }
    if let Some(e) = error.downcast_ref::<describe_fleet_attributes::DescribeFleetAttributesError>() {
        return e.code();
    }
    if let Some(e) =
        error.downcast_ref::<describe_fleet_location_attributes::DescribeFleetLocationAttributesError>()
    {
        return e.code();
    }
    if let Some(e) = error.downcast_ref::<describe_fleet_events::DescribeFleetEventsError>() {
        return e.code();
    }
    if let Some(e) = error.downcast_ref::<describe_game_session_details::DescribeGameSessionDetailsError>() {
        return e.code();
    }
    if let Some(e) = error.downcast_ref::<describe_fleet_capacity::DescribeFleetCapacityError>() {
        return e.code();
    }
    if let Some(e) = error.downcast_ref::<describe_fleet_utilization::DescribeFleetUtilizationError>() {
        return e.code();
    }
    if let Some(e) =
        error.downcast_ref::<describe_fleet_location_capacity::DescribeFleetLocationCapacityError>()
    {
        return e.code();
    }
    if let Some(e) =
        error.downcast_ref::<describe_fleet_location_utilization::DescribeFleetLocationUtilizationError>()
    {
        return e.code();
    }
    if let Some(e) = error.downcast_ref::<describe_game_session_queues::DescribeGameSessionQueuesError>() {
        return e.code();
    }
    if let Some(e) =
        error.downcast_ref::<describe_matchmaking_configurations::DescribeMatchmakingConfigurationsError>()
    {
        return e.code();
    }
    if let Some(e) = error.downcast_ref::<aws_sdk_sqs::operation::receive_message::ReceiveMessageError>() {
        return aws_sdk_sqs::error::ProvideErrorMetadata::code(e);
    }
    if let Some(e) =
        error.downcast_ref::<aws_sdk_sqs::operation::delete_message_batch::DeleteMessageBatchError>()
    {
        return aws_sdk_sqs::error::ProvideErrorMetadata::code(e);
    }
    None
}

/// First and largest wait between attempts; each retry doubles the ceiling ("full jitter": the
/// wait is drawn uniformly below it), as the AWS SDKs' standard retry mode does.
const BACKOFF_BASE: Duration = Duration::from_millis(200);
const BACKOFF_CAP: Duration = Duration::from_secs(20);

/// A GameLift client for one account and home Region, with its budgets and retry policy.
#[derive(Debug, Clone)]
pub struct RegionClient {
    /// The account's name (the `account` label).
    pub account: String,
    pub region: String,
    pub client: aws_sdk_gamelift::Client,
    pub budgets: Arc<Budgets>,
    /// Attempts per call, first included (`aws.max_attempts`).
    pub max_attempts: u32,
}

impl RegionClient {
    /// Sends one call with the exporter's retries: every attempt waits for a budget slot, a
    /// throttled attempt slows the budget down, and transient failures are retried after a
    /// capped, fully jittered exponential backoff. The SDK's own retries are off, so the
    /// budget sees every request that leaves the process.
    pub async fn call<T, E, F, Fut>(
        &self,
        lane: Lane,
        operation: &'static str,
        mut send: F,
    ) -> Result<T, SdkError<E, HttpResponse>>
    where
        E: ProvideErrorMetadata,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    {
        let mut attempt = 1;
        loop {
            self.budgets.acquire(operation, lane).await;
            match send().await {
                Ok(output) => {
                    self.budgets.succeeded(operation);
                    return Ok(output);
                }
                Err(error) => {
                    let reason = FailureReason::of(&error);
                    if reason == FailureReason::Throttled {
                        self.budgets.throttled(operation);
                    }
                    if attempt >= self.max_attempts || !reason.is_retryable() {
                        return Err(error);
                    }
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
            }
        }
    }
}

/// The wait before attempt `attempt + 1`: uniform in [0, min(cap, base × 2^(attempt-1))].
fn backoff(attempt: u32) -> Duration {
    let ceiling = BACKOFF_BASE
        .saturating_mul(1 << (attempt - 1).min(16))
        .min(BACKOFF_CAP);
    ceiling.mul_f64(jitter())
}

/// Uniform in [0, 1): a xorshift per thread, seeded from the clock. Jitter only spreads retries
/// apart; it needs no cryptographic quality.
fn jitter() -> f64 {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = Cell::new(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0x9E37_79B9_7F4A_7C15, |d| d.as_nanos() as u64)
                | 1,
        );
    }
    STATE.with(|state| {
        let mut x = state.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        state.set(x);
        (x >> 11) as f64 / (1u64 << 53) as f64
    })
}

/// Static credentials for the simulator; never valid on AWS.
pub fn simulator_credentials() -> Credentials {
    Credentials::new(
        "AKIDSIMULATOR",
        "simulator-secret",
        None,
        None,
        "gamelift-simulator",
    )
}

/// Resolves the Regions to sweep: the configured ones, or the default chain's.
pub async fn resolve_regions(config: &AwsConfig) -> anyhow::Result<Vec<String>> {
    let configured = config.home_regions();
    if !configured.is_empty() {
        return Ok(configured);
    }
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = &config.profile {
        loader = loader.profile_name(profile);
    }
    let sdk = loader.load().await;
    match sdk.region() {
        Some(region) => Ok(vec![region.to_string()]),
        None => anyhow::bail!(
            "no AWS Region configured: set aws.region in the config file, or AWS_REGION / a profile region"
        ),
    }
}

/// Each account with its Regions resolved (an account without Regions gets the default chain's).
pub async fn resolve_accounts(
    config: &AwsConfig,
    accounts: &[AccountConfig],
) -> anyhow::Result<Vec<AccountConfig>> {
    let mut out = Vec::new();
    for account in accounts {
        let mut account = account.clone();
        if account.regions.is_empty() {
            account.regions = resolve_regions(config)
                .await
                .map_err(|e| anyhow::anyhow!("account {:?}: {e}", account.name))?;
        }
        out.push(account);
    }
    Ok(out)
}

/// `account/region`: how workers, budgets and the store's scopes are keyed.
pub fn scope_key(account: &str, region: &str) -> String {
    format!("{account}/{region}")
}

/// Each account-Region's budgets, for the life of the process: a reload reconfigures them in
/// place instead of starting new ones beside calls still in flight on the old.
pub type BudgetRegistry = std::sync::Mutex<std::collections::HashMap<String, Arc<Budgets>>>;

/// A service that hands out the same NextToken twice would make a pagination loop forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepeatedToken;

impl std::fmt::Display for RepeatedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the API returned the same NextToken twice; stopping to avoid a loop")
    }
}

/// The token of the next page (`None` after the last), guarded against a repeated token: every
/// pagination follows its tokens through this.
pub fn next_page(previous: &Option<String>, next: Option<&str>) -> Result<Option<String>, RepeatedToken> {
    let next = next.map(str::to_string);
    if next.is_some() && next == *previous {
        return Err(RepeatedToken);
    }
    Ok(next)
}

/// How the SDK clients reach AWS: credentials, the HTTP client and the clock. Production uses
/// the default chain, the default HTTPS client and the system clock; the demo and tests hand in
/// static credentials, and the timeline simulation the simulator's in-process client and clock.
#[derive(Debug, Clone)]
pub struct Connection {
    /// Static source credentials (tests, `--demo`); the default chain when `None`.
    pub credentials: Option<Credentials>,
    /// The SDKs' HTTP client; the default HTTPS client when `None`.
    pub http_client: Option<SharedHttpClient>,
    /// Wall time for signing and credential expiry (the exporter's clock).
    pub clock: SharedClock,
}

impl Default for Connection {
    fn default() -> Connection {
        Connection {
            credentials: None,
            http_client: None,
            clock: crate::clock::system(),
        }
    }
}

/// What every client is built from.
pub struct ClientSettings<'a> {
    pub aws: &'a AwsConfig,
    pub history_share: f64,
    pub metrics: &'a ApiMetrics,
    pub health: &'a Arc<AccountHealth>,
    pub connection: Connection,
    /// Budgets already in force, reused (reconfigured) by account-Region; `None`: new ones.
    pub budgets: Option<&'a BudgetRegistry>,
}

/// The SDK settings of one account in one Region: the source credentials (static, a profile
/// or the default chain), and for an account with a role, that role assumed through STS.
pub async fn sdk_config(
    settings: &ClientSettings<'_>,
    account: &AccountConfig,
    region: &str,
    endpoint_url: Option<&str>,
) -> aws_config::SdkConfig {
    let config = settings.aws;
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).region(Region::new(region.to_string()));
    if let Some(profile) = &config.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some(credentials) = &settings.connection.credentials {
        loader = loader.credentials_provider(credentials.clone());
    }
    if let Some(client) = &settings.connection.http_client {
        loader = loader.http_client(client.clone());
    }
    loader = loader.time_source(crate::clock::SdkTimeSource(settings.connection.clock.clone()));
    let sdk = loader.load().await;
    let Some(role) = &account.role_arn else {
        return sdk;
    };
    let mut builder = aws_config::sts::AssumeRoleProvider::builder(role.clone())
        .session_name(account.session_name.clone())
        .region(Region::new(region.to_string()))
        .configure(&sdk);
    if let Some(id) = &account.external_id {
        builder = builder.external_id(id.clone());
    }
    let watched = WatchedCredentials {
        inner: builder.build().await,
        account: account.name.clone(),
        region: region.to_string(),
        health: settings.health.clone(),
        metrics: settings.metrics.clone(),
    };
    sdk.into_builder()
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
            watched,
        ))
        .build()
}

/// The interceptor that counts every attempt of an SDK client (GameLift's or SQS's) in
/// `gamelift_exporter_api_requests_total` and `..._failures_total`.
pub fn attempt_counter(metrics: &ApiMetrics, account: &str, region: &str) -> impl Intercept + 'static {
    AttemptCounter {
        metrics: metrics.clone(),
        account: account.to_string(),
        region: region.to_string(),
    }
}

/// Builds one client per account and Region with its budgets, timeouts, the attempt counter,
/// and, for an account with a role, credentials assumed through STS from the source ones.
pub async fn clients(settings: &ClientSettings<'_>, accounts: &[AccountConfig]) -> Vec<RegionClient> {
    let config = settings.aws;
    let mut out = Vec::new();
    for account in accounts {
        for region in &account.regions {
            let sdk = sdk_config(settings, account, region, config.endpoint_url.as_deref()).await;
            let gamelift = aws_sdk_gamelift::config::Builder::from(&sdk)
                // The exporter retries itself (RegionClient::call), so that every attempt is paced.
                .retry_config(RetryConfig::disabled())
                .timeout_config(
                    TimeoutConfig::builder()
                        .operation_attempt_timeout(config.request_timeout)
                        .connect_timeout(config.request_timeout.min(Duration::from_secs(5)))
                        .build(),
                )
                .interceptor(AttemptCounter {
                    metrics: settings.metrics.clone(),
                    account: account.name.clone(),
                    region: region.clone(),
                })
                .build();
            let operations: Vec<&str> = AWS_RATES.iter().map(|(op, _)| *op).collect();
            settings.metrics.zero(&account.name, region, &operations);
            if account.role_arn.is_some() {
                // STS calls are not in the requests counter; their failures are.
                for reason in FailureReason::ALL {
                    settings.metrics.failures.with_label_values(&[
                        &account.name,
                        region,
                        "AssumeRole",
                        &reason.to_string(),
                    ]);
                }
            }
            let fresh = || {
                Arc::new(Budgets::new(
                    config.max_requests_per_second,
                    config.quota_share,
                    settings.history_share,
                    |operation| Some(settings.metrics.budget_gauges(&account.name, region, operation)),
                ))
            };
            let budgets = match settings.budgets {
                None => fresh(),
                Some(registry) => {
                    let mut registry = registry.lock().unwrap_or_else(|p| p.into_inner());
                    match registry.get(&scope_key(&account.name, region)) {
                        Some(budgets) => {
                            budgets.reconfigure(
                                config.max_requests_per_second,
                                config.quota_share,
                                settings.history_share,
                            );
                            budgets.clone()
                        }
                        None => {
                            let budgets = fresh();
                            registry.insert(scope_key(&account.name, region), budgets.clone());
                            budgets
                        }
                    }
                }
            };
            out.push(RegionClient {
                account: account.name.clone(),
                region: region.clone(),
                client: aws_sdk_gamelift::Client::from_conf(gamelift),
                budgets,
                max_attempts: config.max_attempts,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_map_to_bounded_reasons() {
        assert_eq!(
            FailureReason::from_code(Some("ThrottlingException"), Some(400)),
            FailureReason::Throttled
        );
        assert_eq!(
            FailureReason::from_code(Some("NotFoundException"), Some(400)),
            FailureReason::NotFound
        );
        assert_eq!(
            FailureReason::from_code(Some("ExpiredTokenException"), Some(400)),
            FailureReason::Unauthorized
        );
        assert_eq!(
            FailureReason::from_code(None, Some(503)),
            FailureReason::ServerError
        );
        assert_eq!(
            FailureReason::from_code(Some("Weird"), Some(400)),
            FailureReason::Other
        );
        assert_eq!(FailureReason::Throttled.to_string(), "throttled");
    }

    #[test]
    fn a_token_handed_out_twice_stops_the_pagination() {
        assert_eq!(next_page(&None, Some("t1")), Ok(Some("t1".to_string())));
        assert_eq!(
            next_page(&Some("t1".into()), Some("t2")),
            Ok(Some("t2".to_string()))
        );
        assert_eq!(next_page(&Some("t2".into()), None), Ok(None));
        assert_eq!(next_page(&Some("t2".into()), Some("t2")), Err(RepeatedToken));
    }

    #[test]
    fn backoff_is_jittered_below_a_doubling_capped_ceiling() {
        for attempt in 1..=12u32 {
            let ceiling = (BACKOFF_BASE * 2u32.pow(attempt - 1)).min(BACKOFF_CAP);
            let waits: Vec<Duration> = (0..200).map(|_| backoff(attempt)).collect();
            assert!(waits.iter().all(|w| *w < ceiling), "attempt {attempt}");
            // Full jitter: spread over the whole range, not clustered at the ceiling.
            assert!(waits.iter().any(|w| *w < ceiling / 4) && waits.iter().any(|w| *w > ceiling * 3 / 4));
        }
    }
}
