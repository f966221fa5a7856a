//! Talking to GameLift: one SDK client per Region, the exporter's own retries (so that every
//! attempt takes a slot of the Region's [`RequestBudget`]), and the counters for every HTTP
//! attempt with a bounded failure reason.

use crate::budget::{Lane, RequestBudget};
use crate::config::AwsConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_gamelift::config::interceptors::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_gamelift::config::{ConfigBag, Credentials, Intercept, Region, RuntimeComponents};
use aws_sdk_gamelift::error::SdkError;
use aws_sdk_gamelift::error::{BoxError, ProvideErrorMetadata};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use prometheus::{GaugeVec, IntCounterVec, Opts, Registry};
use std::future::Future;
use std::sync::Arc;
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

/// A one-line description of a failed call: the service's code and message, or the transport
/// error with its causes.
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
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `gamelift_exporter_api_requests_total` and `..._failures_total`, fed by an SDK interceptor so
/// that every HTTP attempt is counted, retries included; and each Region's current budget.
#[derive(Clone)]
pub struct ApiMetrics {
    pub requests: IntCounterVec,
    pub failures: IntCounterVec,
    pub budget: GaugeVec,
}

impl ApiMetrics {
    pub fn new(registry: &Registry) -> prometheus::Result<ApiMetrics> {
        let requests = IntCounterVec::new(
            Opts::new(
                "gamelift_exporter_api_requests_total",
                "HTTP requests sent to the GameLift API since the exporter started, every retry included.",
            ),
            &["operation"],
        )?;
        let failures = IntCounterVec::new(
            Opts::new(
                "gamelift_exporter_api_request_failures_total",
                "GameLift API requests that failed since the exporter started, by operation and reason (throttled, not_found, unauthorized, invalid_request, server_error, timeout, transport, other).",
            ),
            &["operation", "reason"],
        )?;
        let budget = GaugeVec::new(
            Opts::new(
                "gamelift_exporter_request_budget_per_second",
                "Requests per second the exporter allows itself to one Region now: aws.max_requests_per_second, halved on each ThrottlingException and recovered gradually.",
            ),
            &["region"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(failures.clone()))?;
        registry.register(Box::new(budget.clone()))?;
        Ok(ApiMetrics {
            requests,
            failures,
            budget,
        })
    }
}

#[derive(Debug)]
struct AttemptCounter {
    metrics: ApiMetrics,
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
            .with_label_values(&[&operation_name(cfg)])
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
            .with_label_values(&[&operation_name(cfg), &reason.to_string()])
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
    None
}

/// First and largest wait between attempts; each retry doubles the ceiling ("full jitter": the
/// wait is drawn uniformly below it), as the AWS SDKs' standard retry mode does.
const BACKOFF_BASE: Duration = Duration::from_millis(200);
const BACKOFF_CAP: Duration = Duration::from_secs(20);

/// A GameLift client for one home Region, with its request budget and retry policy.
#[derive(Debug, Clone)]
pub struct RegionClient {
    pub region: String,
    pub client: aws_sdk_gamelift::Client,
    pub budget: Arc<RequestBudget>,
    /// Attempts per call, first included (`aws.max_attempts`).
    pub max_attempts: u32,
}

impl RegionClient {
    /// Sends one call with the exporter's retries: every attempt waits for a budget slot, a
    /// throttled attempt slows the budget down, and transient failures are retried after a
    /// capped, fully jittered exponential backoff. The SDK's own retries are off, so the
    /// budget sees every request that leaves the process.
    pub async fn call<T, E, F, Fut>(&self, lane: Lane, mut send: F) -> Result<T, SdkError<E, HttpResponse>>
    where
        E: ProvideErrorMetadata,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    {
        let mut attempt = 1;
        loop {
            self.budget.acquire(lane).await;
            match send().await {
                Ok(output) => {
                    self.budget.succeeded();
                    return Ok(output);
                }
                Err(error) => {
                    let reason = FailureReason::of(&error);
                    if reason == FailureReason::Throttled {
                        self.budget.throttled();
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

/// Builds one client per Region with its budget, timeouts and the attempt counter.
pub async fn clients(
    config: &AwsConfig,
    history_share: f64,
    regions: &[String],
    metrics: &ApiMetrics,
    credentials: Option<Credentials>,
) -> Vec<RegionClient> {
    let mut out = Vec::new();
    for region in regions {
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).region(Region::new(region.clone()));
        if let Some(profile) = &config.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &config.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(credentials) = &credentials {
            loader = loader.credentials_provider(credentials.clone());
        }
        let sdk = loader.load().await;
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
                metrics: metrics.clone(),
            })
            .build();
        let gauge = metrics.budget.with_label_values(&[region]);
        out.push(RegionClient {
            region: region.clone(),
            client: aws_sdk_gamelift::Client::from_conf(gamelift),
            budget: Arc::new(RequestBudget::new(
                config.max_requests_per_second,
                history_share,
                Some(gauge),
            )),
            max_attempts: config.max_attempts,
        });
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
