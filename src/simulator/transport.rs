//! The simulator as an in-process HTTP client for the AWS SDKs: each request the SDK builds
//! (signed, encoded as it would go on the wire) is answered by the simulator's own HTTP handler
//! without a socket. The timeline simulation runs the exporter on a paused tokio clock, where a
//! real socket would let the clock jump while a request is in flight; in-process, a request is
//! answered before the runtime can call itself idle. Every other test talks to the simulator
//! over loopback HTTP.

use super::Simulator;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use http_body_util::{BodyExt, Full};

/// The endpoint of an in-process simulator: never dialed, only named.
pub const IN_PROCESS_URL: &str = "http://simulator.in-process";

/// An SDK HTTP client whose every request the simulator answers in-process.
#[derive(Clone)]
pub struct InProcess {
    simulator: Simulator,
}

impl std::fmt::Debug for InProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InProcess(simulator)")
    }
}

impl Simulator {
    /// An SDK HTTP client that reaches this simulator without a socket (see [`InProcess`]). A
    /// simulator that does not serve on a socket hands out its SQS queue URLs under
    /// [`IN_PROCESS_URL`], the endpoint to give the clients.
    pub fn in_process_client(&self) -> SharedHttpClient {
        let mut inner = self.lock();
        inner
            .sqs
            .listen_url
            .get_or_insert_with(|| IN_PROCESS_URL.to_string());
        drop(inner);
        SharedHttpClient::new(InProcess {
            simulator: self.clone(),
        })
    }
}

impl HttpClient for InProcess {
    fn http_connector(&self, _: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

impl HttpConnector for InProcess {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let simulator = self.simulator.clone();
        HttpConnectorFuture::new(async move {
            let mut builder = hyper::Request::builder()
                .method(request.method())
                .uri(request.uri());
            for (name, value) in request.headers().iter() {
                builder = builder.header(name, value);
            }
            // Read as a socket would, so that the SDK's throughput watch sees the upload done.
            let body = request
                .into_body()
                .collect()
                .await
                .map_err(ConnectorError::io)?
                .to_bytes();
            let request = builder
                .body(Full::new(body))
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            let answer = simulator
                .handle(request)
                .await
                .map_err(|dropped| ConnectorError::io(dropped.to_string().into()))?;
            let (parts, body) = answer.into_parts();
            let bytes = body
                .collect()
                .await
                .map_err(|e| ConnectorError::other(e.into(), None))?
                .to_bytes();
            let status = StatusCode::try_from(parts.status.as_u16())
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            let mut response = Response::new(status, SdkBody::from(bytes));
            for (name, value) in &parts.headers {
                if let Ok(value) = value.to_str() {
                    response
                        .headers_mut()
                        .insert(name.as_str().to_string(), value.to_string());
                }
            }
            Ok(response)
        })
    }
}
