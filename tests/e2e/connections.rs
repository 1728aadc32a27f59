//! The station service's connections: a client that stalls is closed or answered, a flood of idle
//! connections does not keep `/healthz` from answering, and lanes reach the service over TLS
//! with its certificate pinned, and not without it.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use boardcheck_lane::client::ServiceClient;
use boardcheck_lane::Error;

use crate::common::station::{frames_of, Options, TestStation};

/// The header timeout these tests give the service.
const HEADER_TIMEOUT: Duration = Duration::from_secs(2);
/// Slack on top of it, for a loaded machine.
const MARGIN: Duration = Duration::from_secs(5);

/// Reads until the server closes the connection; how long that took from `since`, or `None`
/// if it was still open after `HEADER_TIMEOUT + MARGIN` more.
fn closed_after(stream: &mut TcpStream, since: Instant) -> Option<Duration> {
    stream.set_read_timeout(Some(HEADER_TIMEOUT + MARGIN)).expect("read timeout");
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Some(since.elapsed()),
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return None,
            // Reset by the server: closed too.
            Err(_) => return Some(since.elapsed()),
        }
    }
}

/// The request timeout these tests give the service.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

#[test]
fn a_stalled_client_is_closed_or_answered_within_the_timeouts() {
    let station = TestStation::start_with(&Options { settings: "header_timeout_s = 2\nrequest_timeout_s = 3", ..Options::default() });
    let address = station.url.trim_start_matches("http://").to_string();

    let mut half_sent = TcpStream::connect(&address).expect("connects");
    let sent = Instant::now();
    half_sent.write_all(b"GET /healthz HTT").expect("sends half a request line");
    let closed = closed_after(&mut half_sent, sent).expect("the half-sent request is closed");
    eprintln!("a half-sent request was closed after {closed:?} (header timeout {HEADER_TIMEOUT:?})");
    assert!(closed >= HEADER_TIMEOUT - Duration::from_millis(200), "not before the timeout: {closed:?}");

    // A keep-alive connection, answered and then left idle.
    let mut idle = TcpStream::connect(&address).expect("connects");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: station\r\n\r\n").expect("sends a request");
    let mut answer = [0u8; 1024];
    let n = idle.read(&mut answer).expect("an answer");
    assert!(String::from_utf8_lossy(&answer[..n]).starts_with("HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer[..n]));
    let answered = Instant::now();
    let closed = closed_after(&mut idle, answered).expect("the idle connection is closed");
    eprintln!("an idle keep-alive connection was closed after {closed:?}");

    // Headers in time, then a body that never comes, at the one route anyone may call.
    let mut slow = TcpStream::connect(&address).expect("connects");
    slow.write_all(
        b"POST /api/login HTTP/1.1\r\nHost: station\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"staff\"",
    )
    .expect("sends headers and the start of a body");
    let sent = Instant::now();
    slow.set_read_timeout(Some(REQUEST_TIMEOUT + MARGIN)).expect("read timeout");
    let n = slow.read(&mut answer).unwrap_or(0);
    let waited = sent.elapsed();
    let status = String::from_utf8_lossy(&answer[..n]).lines().next().unwrap_or_default().to_string();
    assert_eq!(status, "HTTP/1.1 503 Service Unavailable", "a body that never comes is answered after {waited:?}");
    eprintln!("a request whose body stalled was answered 503 after {waited:?} (request timeout {REQUEST_TIMEOUT:?})");
}

#[test]
fn idle_connections_beyond_the_cap_do_not_keep_healthz_from_answering() {
    // A low file limit, as on a small station box: the service runs out of descriptors long
    // before 300 idle connections unless it caps them.
    let options = Options { settings: "header_timeout_s = 2\nmax_connections = 32", max_open_files: Some(128), ..Options::default() };
    let station = TestStation::start_with(&options);
    let address: std::net::SocketAddr = station.url.trim_start_matches("http://").parse().expect("an address");
    // Until the listener's backlog stays full, if it does: a connect then waits for minutes.
    // (A backlog the service drains takes a retried SYN, after a second.)
    let idle: Vec<TcpStream> = (0..300).map_while(|_| TcpStream::connect_timeout(&address, Duration::from_secs(3)).ok()).collect();
    assert!(idle.len() >= 200, "the test opened its idle connections: {}", idle.len());

    let agent = ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(2))).build().new_agent();
    let started = Instant::now();
    let deadline = started + HEADER_TIMEOUT + MARGIN;
    let mut answered = false;
    while !answered && Instant::now() < deadline {
        answered = agent.get(&format!("{}/healthz", station.url)).call().is_ok_and(|r| r.status() == 200);
        if !answered {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    assert!(answered, "/healthz answers within {:?} with {} idle connections open", HEADER_TIMEOUT + MARGIN, idle.len());
    eprintln!("/healthz answered after {:?} with {} idle connections open", started.elapsed(), idle.len());
    // The operator sees the cap being hit.
    let refused = metric(&station, "boardcheck_connections_refused_total").expect("refusals are counted");
    assert!(refused >= 1.0, "{refused} connections counted as refused at a cap of 32 with {} opened", idle.len());
    eprintln!("/metrics: {refused} connections refused at the cap");
    drop(idle);
}

/// A value of the service's `/metrics`, read over a connection of its own.
fn metric(station: &TestStation, name: &str) -> Option<f64> {
    let text = station.agent().get(&format!("{}/metrics", station.url)).call().ok()?.body_mut().read_to_string().ok()?;
    text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// The write timeout the next test gives the service.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

#[test]
fn a_client_that_never_reads_its_answers_is_closed_after_the_write_timeout() {
    // A header timeout far beyond the write timeout, so only the write timeout can close it.
    let station = TestStation::start_with(&Options { settings: "header_timeout_s = 30\nwrite_timeout_s = 2", ..Options::default() });
    let address: std::net::SocketAddr = station.url.trim_start_matches("http://").parse().expect("an address");
    // A small receive buffer, so the answers pile up at the service rather than in this socket.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("a socket");
    socket.set_recv_buffer_size(4096).expect("SO_RCVBUF");
    socket.connect(&address.into()).expect("connects");
    let mut stalled: TcpStream = socket.into();
    // 1000 pipelined requests (50 kB, which the buffers take) for the 12 kB stylesheet: 12 MB of
    // answers, more than the kernel's buffers hold, and never read.
    let requests = "GET /static/console.css HTTP/1.1\r\nHost: station\r\n\r\n".repeat(1000);
    stalled.write_all(requests.as_bytes()).expect("sends the requests");
    let sent = Instant::now();

    // Open: the stalled connection and the one asking.
    let mut open = metric(&station, "boardcheck_connections_open").expect("open connections are counted");
    assert!(open >= 2.0, "the stalled connection is open at first: {open}");
    let deadline = sent + WRITE_TIMEOUT + MARGIN;
    while open > 1.0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        open = metric(&station, "boardcheck_connections_open").expect("answers");
    }
    let closed = sent.elapsed();
    assert_eq!(open, 1.0, "the stalled connection is closed within {:?} of its requests", WRITE_TIMEOUT + MARGIN);
    assert!(closed >= WRITE_TIMEOUT - Duration::from_millis(200), "not before the write timeout: {closed:?}");
    eprintln!("a client that never read its answers was closed after {closed:?} (write timeout {WRITE_TIMEOUT:?})");
    // The client sees it too: what was on its way, then the end.
    assert!(closed_after(&mut stalled, Instant::now()).is_some(), "the client sees its connection closed");
    let health = station.agent().get(&format!("{}/healthz", station.url)).call().expect("answers").body_mut().read_to_string();
    assert_eq!(health.expect("text"), "ok");
}

/// `boardcheck serve` on the station folder `dir`, until it exits by itself (or a minute has
/// passed: `None`); its standard error.
fn serve_once(dir: &std::path::Path) -> (Option<std::process::ExitStatus>, String) {
    let mut serve = std::process::Command::new(env!("CARGO_BIN_EXE_boardcheck"))
        .args(["serve", "--config", &dir.join("station.toml").to_string_lossy()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("serve starts");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut exited = None;
    while exited.is_none() && Instant::now() < deadline {
        exited = serve.try_wait().expect("waits");
        std::thread::sleep(Duration::from_millis(100));
    }
    if exited.is_none() {
        let _ = serve.kill();
    }
    let output = serve.wait_with_output().expect("ends");
    (exited, String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn a_lane_token_or_tls_key_others_may_read_stops_the_service_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let mut station = TestStation::start_with(&Options { tls: true, ..Options::default() });
    station.stop();
    let dir = station.dir.path().to_path_buf();
    for (file, what) in [("lane-1.token", "lane token"), ("key.pem", "TLS private key")] {
        let path = dir.join(file);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let (exited, stderr) = serve_once(&dir);
        assert!(exited.is_some_and(|status| !status.success()), "the service refuses to start with {file} at 0644: {stderr}");
        assert!(stderr.contains(file) && stderr.contains(what) && stderr.contains("chmod 600"), "{stderr}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    station.restart();
    let health = station.agent().get(&format!("{}/healthz", station.url)).call().expect("answers").body_mut().read_to_string();
    assert_eq!(health.expect("text"), "ok", "with both at 0600 it starts");
}

#[test]
fn a_lane_reaches_the_service_over_tls_with_its_certificate_pinned_and_not_without() {
    let station = TestStation::start_with(&Options { tls: true, ..Options::default() });
    assert!(station.url.starts_with("https://127.0.0.1:"), "{}", station.url);
    let ca_file = station.ca_file.clone().expect("the station's certificate");
    let token = station.lane_token("lane-1");

    // The whole lane, over HTTPS: its decision was recorded by the service.
    let frames = frames_of("obama2.jpg", 12);
    let out = station.run_lane("lane-1", frames.path());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert_eq!(lines.len(), 1, "one passenger, one decision: {lines:?}");
    assert_eq!(lines[0]["outcome"], "boarded", "{lines:?}");
    let metrics = station.agent().get(&format!("{}/metrics", station.url)).call().expect("answers").body_mut().read_to_string();
    assert!(metrics.expect("text").contains("boardcheck_decisions_total{lane=\"lane-1\",outcome=\"boarded\"} 1"));

    // Pinned, the client is heard; unpinned, the self-signed certificate is refused before
    // the token or any template is sent.
    let model = crate::common::engine().embedder_id();
    let pinned = ServiceClient::new(&station.url, &token, model).pinned(&ca_file).expect("the certificate loads");
    pinned.results(None, false).expect("the pinned client is answered");
    match ServiceClient::new(&station.url, &token, model).results(None, false) {
        Err(Error::Service { reason, .. }) => assert!(reason.to_lowercase().contains("certificate"), "{reason}"),
        other => panic!("an unpinned client refuses the station's self-signed certificate: {other:?}"),
    }
    // Plain HTTP to the TLS port gets nothing.
    let plain = station.url.replace("https://", "http://");
    assert!(ureq::get(&format!("{plain}/healthz")).call().is_err(), "no plain HTTP on the TLS port");
}
