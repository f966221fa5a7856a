//! Talking to GameLift: one SDK client per Region, a shared request budget, and the counters for
//! every HTTP attempt (retries included) with a bounded failure reason.

use crate::config::AwsConfig;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_gamelift::config::interceptors::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_gamelift::config::{ConfigBag, Credentials, Intercept, Region, RuntimeComponents};
use aws_sdk_gamelift::error::{BoxError, ProvideErrorMetadata};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use prometheus::{IntCounterVec, Opts, Registry};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

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
/// that every attempt is counted, including the SDK's own retries.
#[derive(Clone)]
pub struct ApiMetrics {
    pub requests: IntCounterVec,
    pub failures: IntCounterVec,
}

impl ApiMetrics {
    pub fn new(registry: &Registry) -> prometheus::Result<ApiMetrics> {
        let requests = IntCounterVec::new(
            Opts::new(
                "gamelift_exporter_api_requests_total",
                "HTTP requests sent to the GameLift API since the exporter started, SDK retries included.",
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
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(failures.clone()))?;
        Ok(ApiMetrics { requests, failures })
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
    None
}

/// Spaces API calls to at most `rate` per second for one Region, so a sweep of many pages
/// trickles instead of bursting into the account's shared quota.
#[derive(Debug)]
pub struct RequestBudget {
    interval: Duration,
    next_slot: Mutex<Instant>,
}

impl RequestBudget {
    pub fn new(rate: f64) -> RequestBudget {
        RequestBudget {
            // 5% slack, so that scheduling jitter on a busy host never lands N+1 calls in one
            // second at the server.
            interval: Duration::from_secs_f64(1.05 / rate),
            next_slot: Mutex::new(Instant::now()),
        }
    }

    /// Waits for this call's slot.
    pub async fn acquire(&self) {
        let slot = {
            let mut next = self.next_slot.lock().await;
            let now = Instant::now();
            let slot = (*next).max(now);
            *next = slot + self.interval;
            slot
        };
        // A slot already due needs no timer (a timer would cost a wheel tick per call).
        if slot > Instant::now() {
            tokio::time::sleep_until(slot).await;
        }
    }
}

/// A GameLift client for one home Region, with its request budget.
#[derive(Debug, Clone)]
pub struct RegionClient {
    pub region: String,
    pub client: aws_sdk_gamelift::Client,
    pub budget: Arc<RequestBudget>,
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
    if !config.regions.is_empty() {
        return Ok(config.regions.clone());
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

/// Builds one client per Region with retries, timeouts and the attempt counter.
pub async fn clients(
    config: &AwsConfig,
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
            .retry_config(RetryConfig::standard().with_max_attempts(config.max_attempts))
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
        out.push(RegionClient {
            region: region.clone(),
            client: aws_sdk_gamelift::Client::from_conf(gamelift),
            budget: Arc::new(RequestBudget::new(config.max_requests_per_second)),
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

    #[tokio::test(start_paused = true)]
    async fn budget_spaces_calls() {
        let budget = RequestBudget::new(4.0);
        let start = Instant::now();
        for _ in 0..5 {
            budget.acquire().await;
        }
        assert_eq!(start.elapsed(), Duration::from_secs_f64(4.0 * 1.05 / 4.0));
    }
}
