//! The Prometheus endpoint end to end (feature `prometheus`): a runtime with a few phases is
//! served on a loopback port, scraped over a real TCP connection, and the exposition text,
//! parsed by `prometheus-parse`, carries the report's figures; other paths are 404, and the
//! port is closed once the server is dropped. Hostile clients (many idle connections, an
//! endless header line, a client that never reads) cost the process a fixed budget and do
//! not hold up another scrape (issue 13.7).
//!
//! `prometheus-parse` keeps label values as written (escaped) and splits labels naively, so the
//! phase name that needs escaping has its quotes in the middle and is looked up escaped; the
//! escaping itself is checked by the unit tests of `export::prometheus`.

mod common;
#[path = "common/exporters.rs"]
mod exporters;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use analytics_runtime::export::{self, PrometheusServer};
use analytics_runtime::{AnalyticsConfig, Report, Runtime};
use prometheus_parse::{Sample, Scrape, Value};

/// A response: status code, headers (names lower-cased) and body.
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    /// The value of header `name` (lower case).
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `GET path` with the extra header lines `headers` (each ending in `\r\n`) and reads the
/// whole response: the request says `Connection: close`, so the server closes after it.
fn get(addr: SocketAddr, path: &str, headers: &str) -> io::Result<Response> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Connection: close\r\n\r\n"
    )?;
    let mut raw = String::new();
    stream.read_to_string(&mut raw)?;
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .ok_or_else(|| io::Error::other(format!("no end of headers in {raw:?}")))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other(format!("bad status line {status_line:?}")))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok(Response {
        status,
        headers,
        body: body.to_owned(),
    })
}

/// Runs `build` 5 times (one failure, one panic), `test` 4 times (one cancelled) and a phase
/// whose name needs escaping once, then waits for the engines.
fn run_phases(rt: &Runtime) {
    exporters::record_phases(rt, "say \"hi\" now");
    rt.flush();
}

/// `value` as the exposition writes a label value (as `prometheus-parse` returns it).
fn escaped(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The value of the sample `metric` whose labels are exactly `labels` (values escaped).
fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<&Sample> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .filter(|s| s.labels.len() == labels.len())
        .collect();
    let [sample] = found.as_slice() else {
        panic!("{} samples {metric}{labels:?}", found.len());
    };
    match sample.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
        ref other => panic!("{metric}: unexpected value {other:?}"),
    }
}

/// Asserts that the scraped figures of every phase equal `report`'s.
fn assert_phases_match(scrape: &Scrape, report: &Report) {
    for p in &report.phases {
        let name = escaped(&p.name);
        let phase = [("phase", name.as_str())];
        for (metric, expected) in [
            ("analytics_phase_executions_total", p.executions),
            ("analytics_phase_successes_total", p.successes),
            ("analytics_phase_failures_total", p.failures),
            ("analytics_phase_panics_total", p.panics),
            ("analytics_phase_cancelled_total", p.cancelled),
        ] {
            assert_eq!(value(scrape, metric, &phase), expected as f64, "{metric}");
        }
        assert_eq!(
            value(scrape, "analytics_phase_seconds_total", &phase),
            p.total_ms / 1000.0
        );
        let d = &p.duration_ms;
        for (q, ms) in [
            ("0", d.min),
            ("0.5", d.p50),
            ("0.9", d.p90),
            ("0.99", d.p99),
            ("1", d.max),
        ] {
            let labels = [("phase", name.as_str()), ("window_quantile", q)];
            assert_eq!(
                value(scrape, "analytics_phase_window_duration_seconds", &labels),
                ms / 1000.0,
                "{} quantile {q}",
                p.name
            );
        }
        // The histogram: every run in a bucket, the sum their total time.
        let histogram: Vec<&Sample> = scrape
            .samples
            .iter()
            .filter(|s| s.metric == "analytics_phase_duration_seconds")
            .filter(|s| s.labels.get("phase") == Some(name.as_str()))
            .collect();
        let [sample] = histogram.as_slice() else {
            panic!("{}: {histogram:?}", p.name);
        };
        let Value::Histogram(buckets) = &sample.value else {
            panic!("{}: not a histogram: {sample:?}", p.name);
        };
        let inf = buckets.last().unwrap();
        assert!(inf.less_than.is_infinite(), "{buckets:?}");
        assert_eq!(inf.count, p.executions as f64, "{}", p.name);
        assert!(buckets.windows(2).all(|w| w[0].count <= w[1].count));
        let probability: Vec<&Sample> = scrape
            .samples
            .iter()
            .filter(|s| s.metric == "analytics_phase_failure_probability")
            .filter(|s| s.labels.get("phase") == Some(name.as_str()))
            .collect();
        match p.prediction {
            Some(prediction) => assert_eq!(
                value(scrape, "analytics_phase_failure_probability", &phase),
                prediction.failure_probability
            ),
            None => assert!(probability.is_empty(), "{}: {probability:?}", p.name),
        }
    }
}

#[test]
fn the_endpoint_serves_the_report() {
    let rt = exporters::runtime();
    run_phases(&rt);
    let server = export::serve(rt.clone(), "127.0.0.1:0".parse().unwrap()).unwrap();
    assert!(server.local_addr().ip().is_loopback());
    assert_ne!(server.local_addr().port(), 0);

    let response = get(server.local_addr(), "/metrics", "").unwrap();
    let report = rt.report();
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(
        response.header("content-type"),
        Some(export::PROMETHEUS_CONTENT_TYPE)
    );
    let scrape = Scrape::parse(response.body.lines().map(|l| Ok(l.to_owned()))).unwrap();

    assert_eq!(report.phases.len(), 3);
    assert_eq!(common::counts(&report, "build"), (5, 3, 2, 1, 0));
    assert_eq!(common::counts(&report, "test"), (4, 3, 0, 0, 1));
    assert!(
        report.phase("build").unwrap().prediction.is_some(),
        "{report}"
    );
    assert_phases_match(&scrape, &report);
    assert_eq!(
        value(
            &scrape,
            "analytics_phase_executions_total",
            &[("phase", r#"say \"hi\" now"#)]
        ),
        1.0
    );
    assert_eq!(
        value(&scrape, "analytics_predictions_total", &[]),
        report.predictions.made as f64
    );
    assert_eq!(
        value(
            &scrape,
            "analytics_anomalies_total",
            &[("severity", "critical")]
        ),
        report.anomalies.by_severity.critical as f64
    );
    assert_eq!(value(&scrape, "analytics_runtime_enabled", &[]), 1.0);
    // The body is the exposition of the same report `prometheus_text` renders.
    assert!(
        response
            .body
            .contains("analytics_phase_executions_total{phase=\"build\"} 5\n")
    );
    // No sample is NaN or infinite.
    for sample in &scrape.samples {
        if let Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) = sample.value {
            assert!(v.is_finite(), "{sample:?}");
        }
    }
    rt.shutdown();
}

#[test]
fn openmetrics_is_served_to_who_asks_for_it() {
    let rt = exporters::runtime();
    run_phases(&rt);
    let server = export::serve(rt.clone(), "127.0.0.1:0".parse().unwrap()).unwrap();
    let response = get(
        server.local_addr(),
        "/metrics?x=1",
        "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n",
    )
    .unwrap();
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some(export::OPENMETRICS_CONTENT_TYPE)
    );
    assert!(response.body.ends_with("# EOF\n"), "{}", response.body);
    assert!(
        response
            .body
            .contains("# TYPE analytics_phase_executions counter\n")
    );
    assert!(
        response
            .body
            .contains("analytics_phase_executions_total{phase=\"test\"} 4\n")
    );
    rt.shutdown();
}

#[test]
fn other_paths_are_not_found() {
    let rt = exporters::runtime();
    let server = export::serve(rt.clone(), "127.0.0.1:0".parse().unwrap()).unwrap();
    for path in ["/", "/metricsx", "/other/metrics"] {
        let response = get(server.local_addr(), path, "").unwrap();
        assert_eq!(response.status, 404, "{path}");
    }
    rt.shutdown();
}

/// Whether a connection to `addr` is refused within 5 s (the listener closes on the server's
/// accept thread, just after the drop).
fn refused_soon(addr: SocketAddr) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        match TcpStream::connect(addr) {
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => return true,
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    false
}

#[test]
fn dropping_the_server_closes_the_port() {
    let rt = exporters::runtime();
    let server: PrometheusServer =
        export::serve(rt.clone(), "127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = server.local_addr();
    assert_eq!(get(addr, "/metrics", "").unwrap().status, 200);
    let started = Instant::now();
    drop(server);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the drop took {:?}",
        started.elapsed()
    );
    assert!(refused_soon(addr), "{addr} still accepts connections");
    rt.shutdown();
}

#[test]
fn the_config_starts_the_endpoint_only_when_asked() {
    let rt = common::runtime();
    assert!(export::serve_from_config(&rt).unwrap().is_none());
    rt.shutdown();

    let config: AnalyticsConfig =
        r#"{"export": {"prometheus_addr": "127.0.0.1:0"}}"#.parse().unwrap();
    let rt = Runtime::new(config);
    let server = export::serve_from_config(&rt).unwrap().unwrap();
    assert_eq!(
        get(server.local_addr(), "/metrics", "").unwrap().status,
        200
    );
    rt.shutdown();
}

/// A runtime with `phases` phases whose names are `width` bytes long: a large exposition.
fn big_runtime(phases: usize, width: usize) -> Runtime {
    let rt = exporters::runtime();
    for i in 0..phases {
        let name = format!("{i:0width$}");
        rt.record_run(
            &name,
            Duration::from_millis(1),
            analytics_runtime::Outcome::Success,
        );
    }
    rt.flush();
    rt
}

/// How many descriptors and threads this process has open (Linux: `/proc/self`).
fn fds_and_threads() -> Option<(usize, usize)> {
    let fds = std::fs::read_dir("/proc/self/fd").ok()?.count();
    let threads = std::fs::read_dir("/proc/self/task").ok()?.count();
    Some((fds, threads))
}

/// Scrapes `/metrics` and asserts a complete `200` within `limit` (generous: it takes
/// milliseconds; the bound only catches a scrape held up behind another client).
fn scrape_within(addr: SocketAddr, limit: Duration) {
    let started = Instant::now();
    let response = get(addr, "/metrics", "").unwrap();
    assert_eq!(response.status, 200);
    assert!(
        response.body.contains("analytics_runtime_enabled 1\n"),
        "incomplete body"
    );
    assert!(
        started.elapsed() < limit,
        "the scrape took {:?}",
        started.elapsed()
    );
}

/// Issue 13.7: 300 idle connections (tiny_http: one thread each, and the process's
/// descriptors) cost the server no thread and at most its connection cap in descriptors,
/// and a scrape still gets through.
#[test]
fn many_idle_connections_cost_a_fixed_budget() {
    let rt = exporters::runtime();
    run_phases(&rt);
    let server = export::serve(rt.clone(), "127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = server.local_addr();
    scrape_within(addr, Duration::from_secs(5));
    let before = fds_and_threads();

    let idle: Vec<TcpStream> = (0..300)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    // Let the server accept (and evict) them all.
    std::thread::sleep(Duration::from_millis(500));
    if let (Some((fds0, threads0)), Some((fds1, threads1))) = (before, fds_and_threads()) {
        // The other tests of this file run meanwhile and have threads and descriptors of
        // their own: the bounds leave them room, far below one per connection.
        let threads = threads1.saturating_sub(threads0);
        assert!(
            threads < 20,
            "the idle connections started {threads} threads"
        );
        // Our own 300 client sockets, plus what the server holds (at most 32 connections).
        let server_fds = fds1.saturating_sub(fds0 + idle.len());
        assert!(
            server_fds <= 64,
            "the server holds {server_fds} descriptors"
        );
    }
    scrape_within(addr, Duration::from_secs(5));
    drop(idle);
    drop(server);
    rt.shutdown();
}

/// Issue 13.7: a header line that never ends (tiny_http buffered it all: 258 MB) is cut off
/// after a few KiB, and the endpoint keeps serving.
#[test]
fn an_endless_header_line_is_cut_off() {
    let rt = exporters::runtime();
    let server = export::serve(rt.clone(), "127.0.0.1:0".parse().unwrap()).unwrap();
    let mut stream = TcpStream::connect(server.local_addr()).unwrap();
    stream
        .set_write_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nX-Endless: ")
        .unwrap();
    let chunk = [b'a'; 64 * 1024];
    let mut sent = 0_usize;
    // Up to 256 MB; the server must close the connection long before (the kernel's socket
    // buffers take a few MB of what is sent before the close shows).
    while sent < 256 << 20 {
        match stream.write(&chunk) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
    }
    assert!(
        sent < 64 << 20,
        "the server took {} MB of one header line",
        sent >> 20
    );
    scrape_within(server.local_addr(), Duration::from_secs(5));
    drop(server);
    rt.shutdown();
}

/// Issue 13.7: a client that asks for a large exposition and never reads it (tiny_http: every
/// other scrape waited 20 s) does not hold up another scrape.
#[test]
fn a_client_that_never_reads_does_not_hold_up_another_scrape() {
    // 1000 phases with 800-byte names: an exposition of tens of MB, more than the kernel's
    // socket buffers take, so the server's write to the stuck client blocks.
    let rt = big_runtime(1000, 800);
    let server = export::serve(rt.clone(), "127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = server.local_addr();
    let mut stuck = Vec::new();
    for _ in 0..1 {
        let mut stream = TcpStream::connect(addr).unwrap();
        write!(stream, "GET /metrics HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
        stuck.push(stream);
    }
    std::thread::sleep(Duration::from_millis(500));
    // Generous: encoding tens of MB takes seconds in a debug build on a busy machine; held up
    // behind the stuck client (tiny_http), the scrape never completed (its reads time out).
    for _ in 0..2 {
        scrape_within(addr, Duration::from_secs(30));
    }
    drop(stuck);
    drop(server);
    rt.shutdown();
}

#[test]
fn a_non_loopback_address_needs_the_opt_in() {
    let mut config = AnalyticsConfig::default();
    config.export.prometheus_addr = Some("0.0.0.0:0".into());
    assert!(config.validate().is_err());
    // A config built in code and never validated is refused at start all the same.
    let rt = Runtime::new(config.clone());
    let error = export::serve_from_config(&rt).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
    assert!(
        error.to_string().contains("prometheus_allow_remote"),
        "{error}"
    );
    rt.shutdown();
    config.export.prometheus_allow_remote = true;
    assert!(config.validate().is_ok());
}
