//! A fleet on a real Prometheus (issue 15.5): three coordinator processes (the main job,
//! `examples/coordinator.rs`) serve `/metrics` on 127.0.0.1, a real `prometheus` server
//! scrapes them every second with the shipped rules loaded, and the Prometheus HTTP API
//! shows that
//! * `sum by (phase)` of the executions counter equals the sum of the processes' own reports
//!   (and so does the autometrics `function_calls_total`, on in this fleet's config),
//! * `histogram_quantile` over the fleet's buckets gives a value for every phase,
//! * every query of the shipped Grafana dashboard returns data,
//!
//! and `promtool check metrics` finds nothing to say about a scrape. Everything listens on
//! loopback only, in a temporary directory, and is killed at the end. Skipped, with a message,
//! when `prometheus` is not installed (CI installs the Debian package `prometheus`).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// Changes each coordinator takes through its pipeline: about ten seconds of runs in a debug build,
/// so Prometheus scrapes them while they run.
const RUNS: u32 = 800;
/// The bound of every wait; the whole test takes well under a minute.
const PATIENCE: Duration = Duration::from_secs(40);

/// Kills the processes it holds when dropped, also when an assertion fails.
#[derive(Default)]
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Whether `program` runs (`--version`).
fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The main job's binary, built by cargo for this test's profile if needed.
fn coordinator() -> PathBuf {
    // This test is `target/<profile>/deps/fleet-<hash>`; examples are beside `deps`.
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let release = profile_dir.file_name().is_some_and(|n| n == "release");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build.args([
        "build",
        "-q",
        "-p",
        "analytics-examples",
        "--example",
        "coordinator",
    ]);
    if release {
        build.arg("--release");
    }
    let status = build
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap();
    assert!(status.success(), "cannot build the coordinator example");
    profile_dir.join("examples").join("coordinator")
}

/// A free loopback port (closed again: Prometheus binds it a moment later).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `s` percent-encoded for a query string.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `GET http://addr{path}`: the status and the body.
fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let raw = String::from_utf8_lossy(&raw);
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    // Prometheus answers small bodies whole, larger ones chunked.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Ok((status, body))
}

/// The body of a chunked response.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

/// The `data.result` of a Prometheus API call, or `None` while it is not ready.
fn api(prometheus: SocketAddr, path: &str, params: &[(&str, &str)]) -> Option<Vec<Value>> {
    let query: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    let (status, body) = http_get(prometheus, &format!("{path}?{}", query.join("&"))).ok()?;
    let json: Value = serde_json::from_str(&body).ok()?;
    assert_eq!(status, 200, "{path} {params:?}: {json}");
    json["data"]["result"].as_array().cloned()
}

/// An instant query's `(labels, value)` pairs.
fn query(prometheus: SocketAddr, promql: &str) -> Option<Vec<(BTreeMap<String, String>, f64)>> {
    let result = api(prometheus, "/api/v1/query", &[("query", promql)])?;
    Some(
        result
            .iter()
            .map(|r| {
                let labels = serde_json::from_value(r["metric"].clone()).unwrap_or_default();
                let value = r["value"][1]
                    .as_str()
                    .unwrap_or("NaN")
                    .parse()
                    .unwrap_or(f64::NAN);
                (labels, value)
            })
            .collect(),
    )
}

/// A range query from `start` to now, every second: each series' labels and whether it has
/// a finite value.
fn query_range(prometheus: SocketAddr, promql: &str, start: f64) -> Vec<(String, bool)> {
    let end = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let (start, end) = (format!("{start:.3}"), format!("{end:.3}"));
    let params = [
        ("query", promql),
        ("start", &start),
        ("end", &end),
        ("step", "1"),
    ];
    let result = api(prometheus, "/api/v1/query_range", &params).unwrap_or_default();
    result
        .iter()
        .map(|r| {
            let finite = r["values"].as_array().is_some_and(|values| {
                values.iter().any(|v| {
                    v[1].as_str()
                        .and_then(|s| s.parse::<f64>().ok())
                        .is_some_and(f64::is_finite)
                })
            });
            (r["metric"].to_string(), finite)
        })
        .collect()
}

/// Waits for `check` to give `Some`, at most [`PATIENCE`].
fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Every `expr` of the dashboard's panels.
fn dashboard_queries(path: &Path) -> Vec<String> {
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut queries = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            queries.push(target["expr"].as_str().unwrap().to_owned());
        }
    }
    queries
}

#[test]
fn a_fleet_of_three_on_a_real_prometheus() {
    if !installed("prometheus") {
        eprintln!(
            "SKIPPED: `prometheus` is not installed (Debian package `prometheus`; .ci/run \
             installs it): the fleet test needs a real Prometheus server"
        );
        return;
    }
    let started = Instant::now();
    let t0 = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        - 1.0;
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let coordinator = coordinator();
    let dir = tempfile::tempdir().unwrap();
    let mut processes = Processes::default();

    // Three coordinators, each on its own loopback port, with the autometrics families on.
    let config = dir.path().join("config.json");
    std::fs::write(&config, r#"{"export": {"autometrics": true}}"#).unwrap();
    let mut outputs = Vec::new();
    for i in 0..3 {
        let out = dir.path().join(format!("coordinator-{i}.out"));
        let child = Command::new(&coordinator)
            .args(["--runs", &RUNS.to_string(), "--seed", &(11 + i).to_string()])
            .args(["--prometheus", "127.0.0.1:0", "--linger", "120"])
            .arg("--config")
            .arg(&config)
            .arg("--report-json")
            .arg(dir.path().join(format!("report-{i}.json")))
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        processes.0.push(child);
        outputs.push(out);
    }
    let targets: Vec<SocketAddr> = outputs
        .iter()
        .map(|out| {
            eventually("a coordinator's /metrics address", || {
                let text = std::fs::read_to_string(out).ok()?;
                let rest = text.split("serving Prometheus metrics at http://").nth(1)?;
                rest.split("/metrics").next()?.parse().ok()
            })
        })
        .collect();

    // A real Prometheus, scraping them every second, with the shipped rules.
    let prometheus: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let rules = repo.join("deploy/prometheus/rules.yml");
    let quoted: Vec<String> = targets.iter().map(|t| format!("'{t}'")).collect();
    let yml = dir.path().join("prometheus.yml");
    std::fs::write(
        &yml,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             rule_files: ['{}']\n\
             scrape_configs:\n  - job_name: coordinator\n    static_configs:\n      - targets: [{}]\n",
            rules.display(),
            quoted.join(", ")
        ),
    )
    .unwrap();
    let server = Command::new("prometheus")
        .arg(format!("--config.file={}", yml.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address={prometheus}"))
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("prometheus.log")).unwrap())
        .spawn()
        .unwrap();
    processes.0.push(server);

    // Each process's own report, once its runs are over.
    let reports: Vec<Value> = (0..3)
        .map(|i| {
            let path = dir.path().join(format!("report-{i}.json"));
            eventually("a coordinator's report", || {
                serde_json::from_str(&std::fs::read_to_string(&path).ok()?).ok()
            })
        })
        .collect();
    let mut expected: BTreeMap<String, f64> = BTreeMap::new();
    let mut ok_calls = 0.0;
    for report in &reports {
        for phase in report["phases"].as_array().unwrap() {
            let name = phase["name"].as_str().unwrap().to_owned();
            *expected.entry(name).or_default() += phase["executions"].as_f64().unwrap();
            ok_calls += phase["successes"].as_f64().unwrap();
        }
    }
    assert!(expected.len() >= 5, "{expected:?}");

    // The fleet's executions, through Prometheus, equal the processes' reports.
    let sum = "sum by (phase) (analytics_phase_executions_total)";
    let fleet = eventually("Prometheus to scrape the final counts", || {
        let result = query(prometheus, sum)?;
        let got: BTreeMap<String, f64> = result
            .into_iter()
            .map(|(labels, v)| (labels.get("phase").cloned().unwrap_or_default(), v))
            .collect();
        (got == expected).then_some(got)
    });
    assert_eq!(fleet, expected);
    // The histogram counts every run too, and the autometrics counter every call that ended.
    let counts = query(
        prometheus,
        "sum by (phase) (analytics_phase_duration_seconds_count)",
    )
    .unwrap();
    for (labels, v) in counts {
        assert_eq!(Some(&v), expected.get(&labels["phase"]), "{labels:?}");
    }
    let ok = query(prometheus, r#"sum(function_calls_total{result="ok"})"#).unwrap();
    assert_eq!(ok.first().map(|(_, v)| *v), Some(ok_calls));

    // Fleet-wide quantiles from the buckets: a value for every phase while they ran.
    let p90 = "histogram_quantile(0.9, sum by (phase, le) \
               (rate(analytics_phase_duration_seconds_bucket[10s])))";
    let series = query_range(prometheus, p90, t0);
    for phase in expected.keys() {
        let found = series
            .iter()
            .any(|(labels, finite)| *finite && labels.contains(&format!("\"phase\":\"{phase}\"")));
        assert!(found, "no p90 for {phase}: {series:?}");
    }

    // Every query of the shipped dashboard returns data.
    for expr in dashboard_queries(&repo.join("deploy/grafana/analytics-fleet.json")) {
        let promql = expr
            .replace("$__rate_interval", "10s")
            .replace("$job", ".*")
            .replace("$instance", ".*");
        let series = query_range(prometheus, &promql, t0);
        assert!(
            series.iter().any(|(_, finite)| *finite),
            "no data for the dashboard's {expr}: {series:?}"
        );
    }

    // The recording rules evaluate over the fleet.
    let recorded = eventually("the recording rules", || {
        let r = query(prometheus, "phase:analytics_phase_executions:rate5m")?;
        (!r.is_empty()).then_some(r)
    });
    assert_eq!(recorded.len(), expected.len(), "{recorded:?}");

    // promtool has nothing to say about a scrape of the main job.
    if installed("promtool") {
        let (status, body) = http_get(targets[0], "/metrics").unwrap();
        assert_eq!(status, 200);
        let mut promtool = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        promtool
            .stdin
            .take()
            .unwrap()
            .write_all(body.as_bytes())
            .unwrap();
        let out = promtool.wait_with_output().unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success() && said.trim().is_empty(), "{said}");
    }
    drop(processes);
    eprintln!("fleet test: {:?}", started.elapsed());
}
