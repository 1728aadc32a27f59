//! The station service over HTTP, against a real `boardcheck serve`: who may call what
//! (sessions, CSRF, throttling, lane tokens, roles), hostile search strings, two lanes racing
//! for one ticket, and a lane process deciding through the service.

use crate::common;

use std::sync::{Arc, Barrier};

use common::station::{frames_of, TestStation, STAFF, SUPERVISOR, TRIP};
use serde_json::{json, Value};
use ureq::http::Response;
use ureq::Body;

/// An HTTP client that reports every status instead of failing on 4xx/5xx.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

fn status(r: &Response<Body>) -> u16 {
    r.status().as_u16()
}

/// Logs in; returns the cookie header value and the CSRF token.
fn login(station: &TestStation, (staff, password): (&str, &str)) -> (String, String) {
    let mut r =
        agent().post(&format!("{}/api/login", station.url)).send_json(json!({ "staff": staff, "password": password })).expect("login");
    assert_eq!(status(&r), 200, "login as {staff}");
    let set_cookie = r.headers().get("set-cookie").and_then(|v| v.to_str().ok()).expect("a session cookie").to_string();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().expect("name=value").to_string();
    let body: Value = r.body_mut().read_json().expect("JSON");
    (cookie, body["csrf"].as_str().expect("csrf").to_string())
}

const STAFF_GETS: &[&str] = &[
    "/api/session",
    "/api/lanes",
    "/api/stream",
    "/api/manual",
    "/api/manual/1/photo",
    "/api/trips",
    "/api/trips/G3-0900/passengers?q=01",
    "/api/reports/day",
    "/api/reports/day/chart.svg",
    "/api/reports/month?month=2026-11",
    "/api/reports/month/chart.svg",
    "/api/reports/trip/G3-0900",
];

#[test]
fn who_may_call_what() {
    let station = TestStation::start();
    let http = agent();
    let url = |path: &str| format!("{}{path}", station.url);

    // No session: every staff API is 401, and so is every lane API without a token.
    for path in STAFF_GETS {
        assert_eq!(status(&http.get(&url(path)).call().expect("answers")), 401, "GET {path}");
    }
    for path in ["/api/manual/1", "/api/logout"] {
        assert_eq!(status(&http.post(&url(path)).send_json(json!({})).expect("answers")), 401, "POST {path}");
    }
    let observe = json!({ "track": 1, "model": common::engine().embedder_id(), "observations": [] });
    assert_eq!(status(&http.post(&url("/api/lane/observe")).send_json(&observe).expect("answers")), 401);
    assert_eq!(status(&http.get(&url("/api/lane/results?wait=false")).call().expect("answers")), 401);

    // A lane token is not a staff session, in either place a browser could put it.
    let token = station.lane_token("lane-1");
    let bearer = format!("Bearer {token}");
    let as_lane = http.get(&url("/api/manual")).header("Authorization", &bearer).call().expect("answers");
    assert_eq!(status(&as_lane), 401);
    let as_cookie = http.get(&url("/api/manual")).header("Cookie", &format!("boardcheck_session={token}")).call().expect("answers");
    assert_eq!(status(&as_cookie), 401);
    let lane_ok = http.post(&url("/api/lane/observe")).header("Authorization", &bearer).send_json(&observe).expect("answers");
    assert_eq!(status(&lane_ok), 200, "the token works where it belongs");

    // A staff session: reads work; a state change needs the CSRF token.
    let (cookie, csrf) = login(&station, STAFF);
    for path in ["/api/session", "/api/lanes", "/api/manual", "/api/trips"] {
        assert_eq!(status(&http.get(&url(path)).header("Cookie", &cookie).call().expect("answers")), 200, "GET {path}");
    }
    let resolve = json!({ "approve": true, "reason": "id_document_checked" });
    let no_csrf = http.post(&url("/api/manual/999")).header("Cookie", &cookie).send_json(&resolve).expect("answers");
    assert_eq!(status(&no_csrf), 403);
    let wrong_csrf =
        http.post(&url("/api/manual/999")).header("Cookie", &cookie).header("X-CSRF-Token", "forged").send_json(&resolve).expect("answers");
    assert_eq!(status(&wrong_csrf), 403);
    let with_csrf =
        http.post(&url("/api/manual/999")).header("Cookie", &cookie).header("X-CSRF-Token", &csrf).send_json(&resolve).expect("answers");
    assert_eq!(status(&with_csrf), 404, "past the guards: there is no check 999");
    // A staff session is not a lane.
    let staff_as_lane = http.post(&url("/api/lane/observe")).header("Cookie", &cookie).send_json(&observe).expect("answers");
    assert_eq!(status(&staff_as_lane), 401);
    // Reports are for supervisors.
    assert_eq!(status(&http.get(&url("/api/reports/day")).header("Cookie", &cookie).call().expect("answers")), 403);
    let (boss, _) = login(&station, SUPERVISOR);
    let mut report = http.get(&url("/api/reports/trip/G3-0900")).header("Cookie", &boss).call().expect("answers");
    assert_eq!(status(&report), 200);
    let report: Value = report.body_mut().read_json().expect("JSON");
    assert_eq!(report["totals"]["passengers"], 3, "{report}");
    let mut csv = http.get(&url("/api/reports/trip/G3-0900?format=csv")).header("Cookie", &boss).call().expect("answers");
    assert!(csv.body_mut().read_to_string().expect("text").contains("G3-0900"));
    let chart = http.get(&url("/api/reports/day/chart.svg")).header("Cookie", &boss).call().expect("answers");
    assert_eq!(chart.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("image/svg+xml"));

    // Logging out needs the token too, and ends the session.
    let logout_forged = http.post(&url("/api/logout")).header("Cookie", &cookie).send_json(json!({})).expect("answers");
    assert_eq!(status(&logout_forged), 403);
    let logout =
        http.post(&url("/api/logout")).header("Cookie", &cookie).header("X-CSRF-Token", &csrf).send_json(json!({})).expect("answers");
    assert_eq!(status(&logout), 204);
    assert_eq!(status(&http.get(&url("/api/session")).header("Cookie", &cookie).call().expect("answers")), 401);
}

#[test]
fn wrong_passwords_are_throttled_even_before_the_right_one() {
    let station = TestStation::start();
    let http = agent();
    let login_url = format!("{}/api/login", station.url);
    for attempt in 1..=5 {
        let r = http.post(&login_url).send_json(json!({ "staff": STAFF.0, "password": format!("guess-{attempt}") })).expect("answers");
        assert_eq!(status(&r), 401, "attempt {attempt}");
    }
    let mut locked = http.post(&login_url).send_json(json!({ "staff": STAFF.0, "password": STAFF.1 })).expect("answers");
    assert_eq!(status(&locked), 429);
    assert!(locked.headers().get("retry-after").is_some());
    let said: Value = locked.body_mut().read_json().expect("JSON");
    assert!(said["error"].as_str().is_some_and(|e| e.contains("try again")), "{said}");
    // An unknown id answers like a wrong password (and is throttled the same way).
    let unknown = http.post(&login_url).send_json(json!({ "staff": "nobody", "password": "whatever1" })).expect("answers");
    assert!([401, 429].contains(&status(&unknown)));
}

#[test]
fn hostile_search_strings_match_nothing_and_change_nothing() {
    let station = TestStation::start();
    let (cookie, _) = login(&station, STAFF);
    let search = |q: &str| -> Value {
        let mut r = agent()
            .get(&format!("{}/api/trips/{TRIP}/passengers", station.url))
            .query("q", q)
            .header("Cookie", &cookie)
            .call()
            .expect("answers");
        assert_eq!(status(&r), 200, "q={q}");
        r.body_mut().read_json().expect("JSON")
    };
    for hostile in ["' OR '1'='1", "%", "_", "\"; DROP TABLE tickets; --", "1' UNION SELECT name FROM staff --"] {
        assert_eq!(search(hostile), json!([]), "q={hostile}");
    }
    let found = search("obama");
    assert_eq!(found.as_array().map(Vec::len), Some(1), "{found}");
    assert_eq!(found[0]["ticket"], "G3-01");
    assert_eq!(found[0]["document_masked"], "P123*5678", "staff see the masked number only");
    let everyone = agent()
        .get(&format!("{}/api/trips/{TRIP}/passengers", station.url))
        .header("Cookie", &cookie)
        .call()
        .expect("answers")
        .body_mut()
        .read_json::<Value>()
        .expect("JSON");
    assert_eq!(everyone.as_array().map(Vec::len), Some(3), "the tables are intact: {everyone}");
}

#[test]
fn two_lanes_racing_for_one_ticket_board_it_once() {
    let station = TestStation::start();
    let obama = common::main_face("obama2.jpg").embedding;
    let observations: Vec<Value> = (0..3).map(|_| json!({ "spoof": false, "embedding": obama })).collect();
    let body = Arc::new(json!({ "track": 7, "model": common::engine().embedder_id(), "observations": observations }));
    let lanes = 8;
    let barrier = Arc::new(Barrier::new(lanes));
    let answers: Vec<Value> = (0..lanes)
        .map(|i| {
            let (body, barrier) = (body.clone(), barrier.clone());
            let bearer = format!("Bearer {}", station.lane_token(if i % 2 == 0 { "lane-1" } else { "lane-2" }));
            let url = format!("{}/api/lane/observe", station.url);
            std::thread::spawn(move || {
                barrier.wait();
                let mut r = agent().post(&url).header("Authorization", &bearer).send_json(&*body).expect("answers");
                assert_eq!(status(&r), 200);
                r.body_mut().read_json::<Value>().expect("JSON")
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    let outcomes: Vec<&str> = answers.iter().filter_map(|a| a["decision"]["outcome"].as_str()).collect();
    assert_eq!(outcomes.iter().filter(|o| **o == "boarded").count(), 1, "{answers:?}");
    assert_eq!(outcomes.iter().filter(|o| **o == "already_boarded").count(), lanes - 1, "{answers:?}");
    assert!(answers.iter().all(|a| a["decision"]["ticket"] == "G3-01"), "{answers:?}");
    let store = boardcheck_core::manifest::store::Store::open(&station.db()).expect("store");
    let boarded =
        store.events_since(0).expect("events").into_iter().filter(|e| e.outcome == boardcheck_core::boarding::Outcome::Boarded).count();
    assert_eq!(boarded, 1);
}

#[test]
fn a_lane_process_decides_through_the_service() {
    let station = TestStation::start();
    let frames = frames_of("obama2.jpg", 12);
    let out = station.run_lane("lane-2", frames.path());
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert_eq!(lines.len(), 1, "one passenger, one decision: {lines:?}");
    assert_eq!(lines[0]["outcome"], "boarded", "{lines:?}");
    assert_eq!(lines[0]["ticket"], "G3-01");
    // The service recorded it, counts it, and the console can see it.
    let mut metrics = agent().get(&format!("{}/metrics", station.url)).call().expect("answers");
    let metrics = metrics.body_mut().read_to_string().expect("text");
    assert!(metrics.contains("boardcheck_decisions_total{lane=\"lane-2\",outcome=\"boarded\"} 1"), "{metrics}");
    assert!(metrics.contains("boardcheck_stage_seconds_bucket"), "the lane reported stage times: {metrics}");
    let (cookie, _) = login(&station, STAFF);
    let mut lanes = agent().get(&format!("{}/api/lanes", station.url)).header("Cookie", &cookie).call().expect("answers");
    let lanes: Value = lanes.body_mut().read_json().expect("JSON");
    let lane2 = lanes.as_array().and_then(|l| l.iter().find(|l| l["lane"] == "lane-2")).expect("lane-2 listed");
    assert_eq!(lane2["last_decisions"][0]["outcome"], "boarded", "{lane2}");
    assert_eq!(lane2["last_decisions"][0]["kiosk"]["pass"], true);
}

#[test]
fn an_id_card_tap_boards_through_the_service_after_a_one_to_one_check() {
    let station = TestStation::start();
    let bearer = format!("Bearer {}", station.lane_token("lane-1"));
    let shown = |face: &str| {
        let observations: Vec<Value> = (0..2).map(|_| json!({ "spoof": false, "embedding": common::main_face(face).embedding })).collect();
        let body = json!({
            "presented": { "id_card": { "document_number": "P12345678", "chip_embedding": null } },
            "model": common::engine().embedder_id(),
            "observations": observations,
        });
        let mut r =
            agent().post(&format!("{}/api/lane/ticket", station.url)).header("Authorization", &bearer).send_json(&body).expect("answers");
        assert_eq!(status(&r), 200);
        r.body_mut().read_json::<Value>().expect("JSON")["decision"].clone()
    };
    // Obama's passport with Biden's face: staff check; with Obama's face: boarded by ticket + face.
    let mismatch = shown("biden.jpg");
    assert_eq!((mismatch["outcome"].as_str(), mismatch["reason"].as_str()), (Some("manual_pending"), Some("face_mismatch")), "{mismatch}");
    let boarded = shown("obama2.jpg");
    assert_eq!(
        (boarded["outcome"].as_str(), boarded["method"].as_str(), boarded["ticket"].as_str()),
        (Some("boarded"), Some("ticket_face"), Some("G3-01"))
    );
    // A QR e-ticket with no trusted issuer configured: refused with its reason.
    let qr = json!({ "presented": { "qr": "BC1.not-a-ticket" }, "model": common::engine().embedder_id() });
    let mut r = agent().post(&format!("{}/api/lane/ticket", station.url)).header("Authorization", &bearer).send_json(&qr).expect("answers");
    let refused: Value = r.body_mut().read_json().expect("JSON");
    assert_eq!(refused["decision"]["outcome"], "ticket_invalid", "{refused}");
}

#[test]
fn the_lane_api_refuses_broken_evidence_and_answers_a_retried_request_as_it_first_did() {
    let station = TestStation::start();
    let bearer = format!("Bearer {}", station.lane_token("lane-1"));
    let observe = |request_id: Option<&str>, embedding: &[f32]| {
        let observations: Vec<Value> = (0..3).map(|_| json!({ "spoof": false, "embedding": embedding })).collect();
        let body = json!({ "track": 7, "request_id": request_id, "model": common::engine().embedder_id(), "observations": observations });
        let mut r =
            agent().post(&format!("{}/api/lane/observe", station.url)).header("Authorization", &bearer).send_json(&body).expect("answers");
        (status(&r), r.body_mut().read_json::<Value>().expect("JSON"))
    };
    let obama = common::main_face("obama2.jpg").embedding;
    // Obama's face scaled a hundredfold: today it scored 100 against his template and boarded.
    let scaled: Vec<f32> = obama.iter().map(|v| v * 100.0).collect();
    let (code, answer) = observe(None, &scaled);
    assert_eq!(code, 400, "{answer}");
    assert!(answer["error"].as_str().is_some_and(|e| e.contains("not 1")), "{answer}");
    let (code, answer) = observe(None, &obama[..100]);
    assert_eq!(code, 400, "a vector of another length: {answer}");
    // The genuine face boards; the same request again (its reply lost) gets that answer again.
    let (code, first) = observe(Some("lane-1-run-9-track-7"), &obama);
    assert_eq!((code, first["decision"]["outcome"].as_str()), (200, Some("boarded")), "{first}");
    let (_, retried) = observe(Some("lane-1-run-9-track-7"), &obama);
    assert_eq!(retried, first, "a retry is answered as first, not 'already boarded'");
    let (_, another) = observe(Some("lane-1-run-9-track-8"), &obama);
    assert_eq!(another["decision"]["outcome"], "already_boarded", "{another}");
    let store = boardcheck_core::manifest::store::Store::open(&station.db()).expect("the station database");
    let boarded =
        store.events_since(0).expect("events").into_iter().filter(|e| e.outcome == boardcheck_core::boarding::Outcome::Boarded).count();
    assert_eq!(boarded, 1);
}

#[test]
fn staff_approve_only_what_the_lane_could_board_and_only_supervisors_override() {
    let station = TestStation::start();
    let http = agent();
    let url = |path: &str| format!("{}{path}", station.url);
    let bearer = format!("Bearer {}", station.lane_token("lane-1"));
    let face = |photo: &str, track: u64| {
        let observations: Vec<Value> = (0..3).map(|_| json!({ "spoof": false, "embedding": common::main_face(photo).embedding })).collect();
        let body = json!({ "track": track, "model": common::engine().embedder_id(), "observations": observations });
        let mut r = http.post(&url("/api/lane/observe")).header("Authorization", &bearer).send_json(&body).expect("answers");
        r.body_mut().read_json::<Value>().expect("JSON")["decision"].clone()
    };
    assert_eq!(face("obama2.jpg", 1)["outcome"], "boarded");
    // Biden's ticket is a child's: a manual check names it.
    let child = face("biden.jpg", 2);
    assert_eq!((child["outcome"].as_str(), child["reason"].as_str()), (Some("manual_pending"), Some("child")), "{child}");
    let check = child["manual_check"].as_i64().expect("a check");

    let resolve = |who: (&str, &str), body: Value| {
        let (cookie, csrf) = login(&station, who);
        let mut r = http
            .post(&url(&format!("/api/manual/{check}")))
            .header("Cookie", &cookie)
            .header("X-CSRF-Token", &csrf)
            .send_json(&body)
            .expect("answers");
        (status(&r), r.body_mut().read_json::<Value>().expect("JSON"))
    };
    // Approving it for Obama's ticket, boarded already: refused with the reason; the check stays open.
    // A reason is a code from the list, never free text; a note is one line.
    let (code, answer) = resolve(STAFF, json!({ "approve": true, "reason": "guardian's ID seen" }));
    assert_eq!(code, 422, "free text is not a reason: {answer}");
    assert!(answer["error"].as_str().is_some_and(|e| e.contains("unknown variant") && e.contains("id_document_checked")), "{answer}");
    let (code, answer) = resolve(STAFF, json!({ "approve": true, "reason": "no_document" }));
    assert_eq!(code, 400, "a refusal's reason does not explain an approval: {answer}");
    let (code, answer) = resolve(STAFF, json!({ "approve": true, "reason": "other" }));
    assert_eq!(code, 400, "'other' needs a note: {answer}");
    let (code, answer) = resolve(STAFF, json!({ "approve": true, "reason": "other", "note": "seen\nforged log line" }));
    assert_eq!(code, 400, "a note is one line: {answer}");
    let (code, answer) = resolve(STAFF, json!({ "approve": true, "reason": "id_document_checked", "ticket": "G3-01" }));
    assert_eq!(code, 400, "a check's own ticket cannot be switched: {answer}");
    let (code, answer) = resolve(STAFF, json!({ "approve": true, "reason": "child_with_guardian", "override": true }));
    assert_eq!(code, 403, "an override is a supervisor's: {answer}");
    let (cookie, _) = login(&station, STAFF);
    let mut queue = http.get(&url("/api/manual")).header("Cookie", &cookie).call().expect("answers");
    let queue: Value = queue.body_mut().read_json().expect("JSON");
    assert!(queue.as_array().is_some_and(|q| q.iter().any(|c| c["id"] == check)), "still open: {queue}");
    let photo = || {
        let (cookie, _) = login(&station, SUPERVISOR);
        status(&http.get(&url(&format!("/api/manual/{check}/photo"))).header("Cookie", &cookie).call().expect("answers"))
    };
    assert_eq!(photo(), 200, "staff see the ID photo while the check is open");
    let (code, approved) = resolve(STAFF, json!({ "approve": true, "reason": "child_with_guardian", "note": "guardian's ID seen" }));
    assert_eq!((code, approved["outcome"].as_str(), approved["ticket"].as_str()), (200, Some("manual_approved"), Some("G3-02")));
    assert_eq!(photo(), 404, "and not once it is resolved");
    let (code, again) = resolve(SUPERVISOR, json!({ "approve": false, "reason": "other", "note": "second look" }));
    assert_eq!(code, 409, "resolved once: {again}");
    assert!(again["error"].as_str().is_some_and(|e| e.contains(STAFF.0)), "names who resolved it: {again}");
}

#[test]
fn a_lane_cannot_mint_metric_labels() {
    let station = TestStation::start();
    let bearer = format!("Bearer {}", station.lane_token("lane-1"));
    let report = |stage: &str| {
        let body = json!({ "camera": "up", "fps": 15.0, "frames": 10, "samples": [{ "stage": stage, "ms": 3.0 }] });
        status(
            &agent().post(&format!("{}/api/lane/health", station.url)).header("Authorization", &bearer).send_json(&body).expect("answers"),
        )
    };
    assert_eq!(report("detect"), 204);
    assert_eq!(report("evil_stage_1"), 422, "a stage that is not one of the lane's");
    let mut metrics = agent().get(&format!("{}/metrics", station.url)).call().expect("answers");
    let metrics = metrics.body_mut().read_to_string().expect("text");
    assert!(metrics.contains("stage=\"detect\"") && !metrics.contains("evil_stage"), "{metrics}");
}

#[test]
fn parallel_wrong_passwords_meet_the_throttle_and_the_right_one_after_them_is_refused() {
    let station = TestStation::start();
    let login_url = format!("{}/api/login", station.url);
    // Waves of 40 parallel guesses from one address, until the throttle has counted its five.
    let mut checked = 0;
    for wave in 0..10 {
        let barrier = Arc::new(Barrier::new(40));
        let guesses: Vec<_> = (0..40)
            .map(|i| {
                let (barrier, login_url) = (barrier.clone(), login_url.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let guess = json!({ "staff": STAFF.0, "password": format!("guess-{wave}-{i}") });
                    status(&agent().post(&login_url).send_json(guess).expect("answers"))
                })
            })
            .collect();
        let statuses: Vec<u16> = guesses.into_iter().map(|g| g.join().expect("a guess")).collect();
        assert!(statuses.iter().all(|s| [401, 429].contains(s)), "wave {wave}: {statuses:?}");
        checked += statuses.iter().filter(|s| **s == 401).count();
        assert!(checked <= 5, "{checked} wrong passwords were checked by wave {wave}; the throttle allows 5: {statuses:?}");
        if checked == 5 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(checked, 5, "the five allowed guesses were checked");
    let right = agent().post(&login_url).send_json(json!({ "staff": STAFF.0, "password": STAFF.1 })).expect("answers");
    assert_eq!(status(&right), 429, "the right password after the guesses waits like them");
    assert!(right.headers().get("retry-after").is_some());
}

/// A login sent from loopback address `from` (all of 127.0.0.0/8 is this host), as raw HTTP;
/// its status.
fn login_from(server: std::net::SocketAddr, from: std::net::Ipv4Addr, staff: &str, password: &str) -> u16 {
    use socket2::{Domain, Socket, Type};
    use std::io::{Read, Write};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("a socket");
    socket.bind(&std::net::SocketAddr::from((from, 0)).into()).expect("binds to the client address");
    socket.connect(&server.into()).expect("connects");
    let mut stream: std::net::TcpStream = socket.into();
    let body = json!({ "staff": staff, "password": password }).to_string();
    let request = format!(
        "POST /api/login HTTP/1.1\r\nHost: {server}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("sends");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("reads the answer");
    answer.get(9..12).and_then(|code| code.parse().ok()).unwrap_or_else(|| panic!("an HTTP status line: {answer:?}"))
}

/// The peak resident memory of process `pid` (VmHWM), in MiB.
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("reads /proc/<pid>/status");
    let kib =
        status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
    kib.expect("a VmHWM line") / 1024
}

#[test]
fn a_burst_of_logins_from_many_addresses_keeps_memory_bounded() {
    let station = TestStation::start();
    let server: std::net::SocketAddr = station.url.trim_start_matches("http://").parse().expect("the service address");
    let before = peak_rss_mib(station.pid());
    let barrier = Arc::new(Barrier::new(100));
    let burst: Vec<_> = (0..100u8)
        .map(|i| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                login_from(server, std::net::Ipv4Addr::new(127, 0, 1, i + 1), &format!("nobody-{i}"), "whatever-1")
            })
        })
        .collect();
    let statuses: Vec<u16> = burst.into_iter().map(|b| b.join().expect("a login")).collect();
    assert!(statuses.iter().all(|s| [401, 503].contains(s)), "{statuses:?}");
    assert!(statuses.contains(&401), "some were checked: {statuses:?}");
    let peak = peak_rss_mib(station.pid());
    eprintln!("boardcheck serve peak RSS: {before} MiB before, {peak} MiB after a burst of 100 logins from 100 addresses");
    // Argon2 takes ≈19 MiB a hash; one hash per core at a time, with room for the allocator.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let bound = before + 150 + cores * 40;
    assert!(peak <= bound, "peak RSS {peak} MiB after the burst, over {bound} MiB (started at {before} MiB)");
}

#[test]
fn a_newline_in_a_staff_id_forges_no_log_line() {
    let station = TestStation::start();
    let forged = json!({ "staff": "li\nFAKE LINE: supervisor wang approved everything", "password": "wrong-password" });
    let r = agent().post(&format!("{}/api/login", station.url)).send_json(forged).expect("answers");
    assert_eq!(status(&r), 401);
    let log = station.log();
    assert!(log.contains("failed login"), "the failure is logged: {log}");
    assert!(!log.lines().any(|line| line.starts_with("FAKE")), "a forged line: {log}");
}

#[test]
fn sessions_survive_a_restart_and_end_with_a_password_change_or_a_supervisor() {
    let mut station = TestStation::start();
    let http = agent();
    let base = station.url.clone();
    let url = |path: &str| format!("{base}{path}");
    let (cookie, csrf) = login(&station, STAFF);
    station.restart();
    let mut kept = http.get(&url("/api/session")).header("Cookie", &cookie).call().expect("answers");
    assert_eq!(status(&kept), 200, "the session outlived the restart");
    let kept: Value = kept.body_mut().read_json().expect("JSON");
    assert_eq!((kept["staff"].as_str(), kept["csrf"].as_str()), (Some(STAFF.0), Some(csrf.as_str())));

    // A new password ends the sessions of whoever knew the old one.
    let new_password = "li-new-password-2";
    let changed = station.staff_command(&["password", STAFF.0], Some(&format!("{new_password}\n")));
    assert!(changed.status.success(), "{}", String::from_utf8_lossy(&changed.stderr));
    assert_eq!(status(&http.get(&url("/api/session")).header("Cookie", &cookie).call().expect("answers")), 401);

    // A supervisor ends a colleague's sessions; a staff member may not.
    let (cookie, csrf) = login(&station, (STAFF.0, new_password));
    let (boss, boss_csrf) = login(&station, SUPERVISOR);
    let end = url(&format!("/api/staff/{}/sessions", STAFF.0));
    let by_staff = http.delete(&end).header("Cookie", &cookie).header("X-CSRF-Token", &csrf).call().expect("answers");
    assert_eq!(status(&by_staff), 403);
    let no_csrf = http.delete(&end).header("Cookie", &boss).call().expect("answers");
    assert_eq!(status(&no_csrf), 403);
    let by_boss = http.delete(&end).header("Cookie", &boss).header("X-CSRF-Token", &boss_csrf).call().expect("answers");
    assert_eq!(status(&by_boss), 204);
    assert_eq!(status(&http.get(&url("/api/session")).header("Cookie", &cookie).call().expect("answers")), 401);
    assert_eq!(status(&http.get(&url("/api/session")).header("Cookie", &boss).call().expect("answers")), 200, "the supervisor's own stays");
}

#[test]
fn a_report_for_the_end_of_the_calendar_is_a_bad_request_not_a_failure() {
    let station = TestStation::start();
    let (cookie, _) = login(&station, SUPERVISOR);
    for path in ["/api/reports/day?date=9999-12-31", "/api/reports/month?month=9999-12"] {
        let mut r = agent().get(&format!("{}{path}", station.url)).header("Cookie", &cookie).call().expect("answers");
        let code = status(&r);
        let body = r.body_mut().read_to_string().expect("text");
        assert_eq!(code, 400, "{path}: {body}");
        assert!(!body.contains(".db") && !body.contains(&station.dir.path().to_string_lossy().to_string()), "{body}");
    }
}
