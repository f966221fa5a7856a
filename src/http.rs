//! The HTTP face: `/metrics`, a landing page at `/`, `/-/healthy`, `/-/ready` and `/-/reload`;
//! optional TLS and basic auth (see [`crate::web`]); hardened against slow and greedy clients.

use crate::exporter::Exporter;
use crate::web::{Access, Check};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{header, Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// The exposition format Prometheus negotiates by default.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";
/// Largest request head accepted (hyper's minimum); we never read request bodies.
const MAX_REQUEST_HEAD: usize = 8192;
/// A TLS handshake must finish within this.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves HTTP(S) on `listener` until `shutdown` resolves.
///
/// At most `server.max_connections` connections are served at once (the rest wait in the
/// kernel's backlog), and a client that does not send its request head within
/// `server.header_read_timeout` is dropped, so idle or slow clients cannot starve a scrape.
pub async fn serve(listener: TcpListener, exporter: Arc<Exporter>, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    let server = exporter.config().server.clone();
    let slots = Arc::new(Semaphore::new(server.max_connections));
    loop {
        let permit = tokio::select! {
            _ = &mut shutdown => return,
            permit = slots.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
        };
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
        let header_timeout = server.header_read_timeout;
        tokio::spawn(async move {
            let _permit = permit;
            match exporter.web().tls.clone() {
                None => connection(stream, exporter, header_timeout).await,
                Some(tls) => {
                    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
                    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => connection(stream, exporter, header_timeout).await,
                        Ok(Err(error)) => tracing::debug!(%error, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                }
            }
        });
    }
}

async fn connection<S>(stream: S, exporter: Arc<Exporter>, header_timeout: Duration)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| {
        let exporter = exporter.clone();
        async move { Ok::<_, std::convert::Infallible>(route(&exporter, request).await) }
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(MAX_REQUEST_HEAD)
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

fn text(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(Full::new(body.into()))
        .expect("static response parts are valid")
}

fn plain(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    text(status, "text/plain; charset=utf-8", body)
}

async fn route(exporter: &Exporter, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path().to_string();
    let method = request.method().clone();
    let web = exporter.web();
    if web.requires_auth() {
        let authorization = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let access = match web.check(authorization) {
            Check::Done(access) => access,
            // bcrypt is slow on purpose: keep it off the I/O threads.
            Check::Password(check) => tokio::task::spawn_blocking(move || check.run())
                .await
                .unwrap_or(Access::Denied),
        };
        match access {
            Access::Allowed => {}
            Access::Denied => {
                let mut response = plain(StatusCode::UNAUTHORIZED, "401 Unauthorized\n");
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Basic realm=\"gamelift-exporter\""),
                );
                return response;
            }
            Access::Busy => {
                let mut response = plain(
                    StatusCode::TOO_MANY_REQUESTS,
                    "429 Too Many Requests: too many password checks at once; try again\n",
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
                return response;
            }
        }
    }
    let allowed: &[Method] = match path.as_str() {
        "/" | "/metrics" | "/-/healthy" | "/-/ready" => &[Method::GET, Method::HEAD],
        "/-/reload" => &[Method::POST, Method::PUT],
        _ => return plain(StatusCode::NOT_FOUND, "404 page not found\n"),
    };
    if !allowed.contains(&method) {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "405 method not allowed\n");
        let list = allowed.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
        response
            .headers_mut()
            .insert(header::ALLOW, list.parse().expect("method names are valid"));
        return response;
    }
    let response = match path.as_str() {
        "/metrics" => match exporter.render_metrics(accepts_gzip(&request)) {
            Ok(body) => {
                let mut response = text(StatusCode::OK, METRICS_CONTENT_TYPE, body);
                if accepts_gzip(&request) {
                    response
                        .headers_mut()
                        .insert(header::CONTENT_ENCODING, header::HeaderValue::from_static("gzip"));
                }
                response
                    .headers_mut()
                    .insert(header::VARY, header::HeaderValue::from_static("Accept-Encoding"));
                response
            }
            Err(error) => plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("error encoding metrics: {error}\n"),
            ),
        },
        "/-/healthy" => plain(StatusCode::OK, "Healthy\n"),
        "/-/ready" if exporter.is_ready() => plain(StatusCode::OK, "Ready\n"),
        "/-/ready" => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "Not ready: waiting for every Region's fleet discovery and every fleet's first live pass\n",
        ),
        "/-/reload" if !exporter.config().server.enable_reload => plain(
            StatusCode::FORBIDDEN,
            "Lifecycle API is not enabled (set server.enable_reload = true; SIGHUP always reloads)\n",
        ),
        "/-/reload" => match exporter.reload_from_file().await {
            Ok(()) => plain(StatusCode::OK, "Reloaded\n"),
            Err(error) => {
                tracing::error!(%error, "reload failed; keeping the running configuration");
                plain(
                    StatusCode::BAD_REQUEST,
                    format!("reload failed, running configuration kept: {error}\n"),
                )
            }
        },
        _ => text(StatusCode::OK, "text/html; charset=utf-8", landing_page(exporter)),
    };
    // For HEAD, hyper sends the head only, with the Content-Length of this body.
    response
}

/// Whether the client takes gzip (`Accept-Encoding: gzip`, not with `q=0`), as Prometheus does.
fn accepts_gzip(request: &Request<Incoming>) -> bool {
    request
        .headers()
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused =
                parts.any(|p| p.strip_prefix("q=").and_then(|q| q.trim().parse::<f64>().ok()) == Some(0.0));
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

fn landing_page(exporter: &Exporter) -> String {
    let config = exporter.config();
    format!(
        "<!DOCTYPE html>\n<html><head><title>GameLift Exporter</title></head><body>\n<h1>GameLift Exporter</h1>\n<p>Amazon GameLift game sessions as Prometheus metrics. Version {}.</p>\n<ul>\n<li><a href=\"/metrics\">Metrics</a></li>\n<li><a href=\"/-/healthy\">Health</a></li>\n<li><a href=\"/-/ready\">Readiness</a></li>\n</ul>\n<p>Live passes every {} (full passes over the terminated history every {}), page size {}.</p>\n</body></html>\n",
        env!("CARGO_PKG_VERSION"),
        crate::duration::format(config.sweep.interval),
        crate::duration::format(config.sweep.history_interval),
        config.sweep.page_size,
    )
}
