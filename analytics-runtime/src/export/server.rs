//! The `/metrics` endpoint: hyper's HTTP/1 server on one dedicated thread running a
//! current-thread tokio runtime, with fixed budgets, so that no client (nor many) can cost the
//! host process more than a fixed number of threads, descriptors and bytes, or hold up
//! another scrape (issue 13.7: tiny_http gave each connection a thread with no timeout; 500
//! idle connections took 426 threads and the application's descriptors, one endless header
//! line grew memory by 258 MB, a client that never read blocked every scrape for 20 s).
//!
//! The budgets:
//! * **threads**: one, whatever the clients do; connections are tasks on it.
//! * **descriptors**: at most [`MAX_CONNECTIONS`] connections (plus the listener). At the cap,
//!   a new connection evicts the oldest one that has not sent a complete request yet, so idle
//!   connections cannot lock a scraper out; if every connection is being answered, the new
//!   one is closed at once.
//! * **bytes**: a request head larger than [`MAX_HEAD_BYTES`] is refused (`431`) and the
//!   connection closed; each connection holds one request and one response at most.
//! * **time**: a request head must arrive within [`HEAD_TIMEOUT`] of the connection, and a
//!   connection lives at most [`CONNECTION_DEADLINE`] (a client that never reads its
//!   response is dropped then); each connection serves one request (`Connection: close`).
//!   Making the report is the only work done on the thread outside these bounds.
//!
//! The encoding lives in the sibling module `prometheus`; this one only answers HTTP.

use std::convert::Infallible;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{ACCEPT, ALLOW, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::oneshot;

use super::prometheus::{
    OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE, openmetrics_text_with, prometheus_text_with,
};
use crate::Runtime;
use crate::config::ExportConfig;

/// Connections held at once (each one descriptor).
pub(crate) const MAX_CONNECTIONS: usize = 32;
/// Bytes a request head may take (hyper's smallest read buffer).
pub(crate) const MAX_HEAD_BYTES: usize = 8192;
/// Time a client has, from connecting, to send its whole request head.
pub(crate) const HEAD_TIMEOUT: Duration = Duration::from_secs(2);
/// Time a connection may live in all, response included.
pub(crate) const CONNECTION_DEADLINE: Duration = Duration::from_secs(10);
/// How long the accept loop waits after a failed accept (descriptors exhausted elsewhere in
/// the process) before trying again.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);

/// Serves `runtime`'s figures at `http://addr/metrics` on a background thread, until the
/// returned [`PrometheusServer`] is dropped.
///
/// Bind a loopback address (`127.0.0.1:9464`) unless the network is trusted: the endpoint has
/// no authentication (a non-loopback address is logged as a warning here; in the config it
/// needs `export.prometheus_allow_remote`). Port `0` picks a free port
/// ([`PrometheusServer::local_addr`] tells which). What the endpoint answers, and the bounds
/// it keeps to, are in the [module docs](super).
///
/// # Errors
/// The error of binding `addr` (address in use, permission denied, ...) or of starting the
/// server's thread.
pub fn serve(runtime: Runtime, addr: SocketAddr) -> io::Result<PrometheusServer> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let local_addr = listener.local_addr()?;
    if !local_addr.ip().is_loopback() {
        tracing::warn!(
            target: "analytics_runtime::export",
            addr = %local_addr,
            "the /metrics endpoint listens on {local_addr}, which other machines may reach; it has no authentication"
        );
    }
    let autometrics = runtime
        .config()
        .export
        .autometrics
        .then(super::prometheus::Autometrics::from_env);
    let (stop, stopped) = oneshot::channel();
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    let thread = std::thread::Builder::new()
        .name("analytics-prometheus".to_owned())
        .spawn(move || {
            tokio.block_on(async move {
                // Inside the runtime: registering the socket needs its reactor.
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => {
                        let service = Arc::new(Service {
                            runtime,
                            autometrics,
                        });
                        accept_loop(listener, service, stopped).await;
                    }
                    Err(error) => tracing::error!(
                        target: "analytics_runtime::export",
                        %error,
                        "the /metrics endpoint cannot listen"
                    ),
                }
            });
            // Dropping the runtime here cancels every connection and closes the listener.
        })?;
    Ok(PrometheusServer {
        local_addr,
        stop: Some(stop),
        thread: Some(thread),
    })
}

/// Starts the endpoint at the config's `export.prometheus_addr`, if it sets one (the default,
/// `null`, starts nothing).
///
/// ```
/// use analytics_runtime::{AnalyticsConfig, Runtime};
///
/// let runtime = Runtime::new(AnalyticsConfig::default());
/// assert!(analytics_runtime::export::serve_from_config(&runtime)?.is_none());
///
/// let config: AnalyticsConfig = r#"{"export": {"prometheus_addr": "127.0.0.1:0"}}"#.parse().unwrap();
/// let server = analytics_runtime::export::serve_from_config(&Runtime::new(config))?;
/// assert!(server.unwrap().local_addr().ip().is_loopback());
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
/// [`io::ErrorKind::InvalidInput`] if the address does not parse, or is not loopback without
/// `export.prometheus_allow_remote` (a validated config has neither), else the error of
/// [`serve`].
pub fn serve_from_config(runtime: &Runtime) -> io::Result<Option<PrometheusServer>> {
    let export = &runtime.config().export;
    let Some(addr) = export.prometheus_addr.as_deref() else {
        return Ok(None);
    };
    let invalid = |why: String| io::Error::new(io::ErrorKind::InvalidInput, why);
    let socket: SocketAddr = ExportConfig::parse_prometheus_addr(addr).ok_or_else(|| {
        invalid(format!(
            "export.prometheus_addr: {addr:?} is not a socket address (IP:port) or a port"
        ))
    })?;
    if !socket.ip().is_loopback() && !export.prometheus_allow_remote {
        return Err(invalid(format!(
            "export.prometheus_addr: {addr:?} is not a loopback address; set \
             export.prometheus_allow_remote to serve the metrics there"
        )));
    }
    serve(runtime.clone(), socket).map(Some)
}

/// What every connection answers with.
struct Service {
    runtime: Runtime,
    autometrics: Option<super::prometheus::Autometrics>,
}

/// One accepted connection: its task and whether its request head has arrived.
struct Connection {
    task: tokio::task::JoinHandle<()>,
    requested: Arc<AtomicBool>,
}

/// Accepts connections until `stop` fires (or its sender is dropped), within the budgets of
/// the module docs.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    service: Arc<Service>,
    mut stop: oneshot::Receiver<()>,
) {
    let mut open: Vec<Connection> = Vec::with_capacity(MAX_CONNECTIONS);
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(_) => {
                // EMFILE and the like: the process is short of descriptors; wait, do not spin.
                tokio::time::sleep(ACCEPT_RETRY).await;
                continue;
            }
        };
        open.retain(|c| !c.task.is_finished());
        if open.len() >= MAX_CONNECTIONS {
            // `open` is in accept order: evict the oldest connection still silent.
            match open
                .iter()
                .position(|c| !c.requested.load(Ordering::Acquire))
            {
                Some(oldest) => open.remove(oldest).task.abort(),
                None => {
                    drop(stream);
                    continue;
                }
            }
        }
        let requested = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(connection(
            stream,
            Arc::clone(&service),
            Arc::clone(&requested),
        ));
        open.push(Connection { task, requested });
    }
}

/// Serves one request on `stream`, within [`CONNECTION_DEADLINE`].
async fn connection(
    stream: tokio::net::TcpStream,
    service: Arc<Service>,
    requested: Arc<AtomicBool>,
) {
    let handler = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
        requested.store(true, Ordering::Release);
        let response = answer(&service, &request);
        async move { Ok::<_, Infallible>(response) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEAD_TIMEOUT)
        .max_buf_size(MAX_HEAD_BYTES)
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), handler);
    // An error is the client's (bad request, reset, head too large: hyper answers 431/400
    // itself) and a timeout ends a client that would not finish: there is nobody to tell.
    let _ = tokio::time::timeout(CONNECTION_DEADLINE, conn).await;
}

/// The response to one request: the metrics at `/metrics`, `404` or `405` otherwise.
fn answer<B>(service: &Service, request: &Request<B>) -> Response<Full<Bytes>> {
    if request.uri().path() != "/metrics" {
        return text(
            StatusCode::NOT_FOUND,
            "not found: the metrics are at /metrics\n",
        );
    }
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        let mut response = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed: use GET\n",
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let openmetrics = request.headers().get_all(ACCEPT).iter().any(|v| {
        v.to_str()
            .is_ok_and(|v| v.contains("application/openmetrics-text"))
    });
    // A report that cannot be made must not take the endpoint down with it.
    let body = catch_unwind(AssertUnwindSafe(|| {
        let report = service.runtime.report();
        let autometrics = service.autometrics.as_ref();
        if openmetrics {
            openmetrics_text_with(&report, autometrics)
        } else {
            prometheus_text_with(&report, autometrics)
        }
    }));
    let Ok(body) = body else {
        return text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the report could not be made\n",
        );
    };
    let content_type = if openmetrics {
        OPENMETRICS_CONTENT_TYPE
    } else {
        PROMETHEUS_CONTENT_TYPE
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A plain-text response with `status`.
fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// The running `/metrics` endpoint of [`serve`]: dropping it stops the server, closes its
/// port and joins its thread.
pub struct PrometheusServer {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl PrometheusServer {
    /// The address the endpoint listens on (with the port chosen when `serve` was given 0).
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops the server and waits for its thread; the same as dropping it.
    pub fn stop(self) {}
}

impl fmt::Debug for PrometheusServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrometheusServer")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            // The loop may have ended already (it could not listen): nothing to stop then.
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            // The thread catches the report's panics; a join error has nothing left to undo.
            let _ = thread.join();
        }
    }
}
