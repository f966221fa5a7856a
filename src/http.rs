//! The HTTP face: `/metrics`, a landing page at `/`, `/-/healthy` and `/-/ready`.

use crate::exporter::Exporter;
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{header, Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus::{Encoder, TextEncoder};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// The exposition format Prometheus negotiates by default.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// A client that has not sent its request headers by then is disconnected (slowloris).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves HTTP on `listener` until `shutdown` resolves.
pub async fn serve(listener: TcpListener, exporter: Arc<Exporter>, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let exporter = exporter.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let exporter = exporter.clone();
                async move { Ok::<_, std::convert::Infallible>(route(&exporter, &request)) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn text(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(Full::new(body.into()))
        .expect("static response parts are valid")
}

fn route(exporter: &Exporter, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path();
    let known = matches!(path, "/" | "/metrics" | "/-/healthy" | "/-/ready");
    if !known {
        return text(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "404 page not found\n",
        );
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            "405 method not allowed\n",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let mut response = match path {
        "/metrics" => {
            let mut body = Vec::new();
            match TextEncoder::new().encode(&exporter.registry().gather(), &mut body) {
                Ok(()) => text(StatusCode::OK, METRICS_CONTENT_TYPE, body),
                Err(error) => text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "text/plain; charset=utf-8",
                    format!("error encoding metrics: {error}\n"),
                ),
            }
        }
        "/-/healthy" => text(StatusCode::OK, "text/plain; charset=utf-8", "Healthy\n"),
        "/-/ready" if exporter.is_ready() => text(StatusCode::OK, "text/plain; charset=utf-8", "Ready\n"),
        "/-/ready" => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain; charset=utf-8",
            "Not ready: waiting for the first sweep of every Region\n",
        ),
        _ => text(StatusCode::OK, "text/html; charset=utf-8", landing_page(exporter)),
    };
    if request.method() == Method::HEAD {
        *response.body_mut() = Full::new(Bytes::new());
    }
    response
}

fn landing_page(exporter: &Exporter) -> String {
    let config = exporter.config();
    format!(
        "<!DOCTYPE html>\n<html><head><title>GameLift Exporter</title></head><body>\n<h1>GameLift Exporter</h1>\n<p>Amazon GameLift game sessions as Prometheus metrics. Version {}.</p>\n<ul>\n<li><a href=\"/metrics\">Metrics</a></li>\n<li><a href=\"/-/healthy\">Health</a></li>\n<li><a href=\"/-/ready\">Readiness</a></li>\n</ul>\n<p>Sweeping every {} (history every {}), page size {}.</p>\n</body></html>\n",
        env!("CARGO_PKG_VERSION"),
        crate::duration::format(config.sweep.interval),
        crate::duration::format(config.sweep.history_interval),
        config.sweep.page_size,
    )
}
