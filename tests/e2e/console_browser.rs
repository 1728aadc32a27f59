//! The console and the kiosk in a real browser (headless Chromium through chromedriver),
//! against a real `boardcheck serve` and a real lane process: a child's ticket is sent to
//! staff, the check appears on the console live, a staff member approves it with a reason,
//! and the lane card, the manifest board and the lane's kiosk all show it.
//!
//! Needs the Debian packages `chromium` and `chromium-driver` (scripts/setup installs them);
//! without them the test fails saying so. Screenshots of each step are left in
//! `target/browser-artefacts/` (and `failure.png`, `failure.html` and the browser's console
//! log when it fails).

use crate::common;

use std::time::{Duration, Instant};

use boardcheck_core::boarding::{Outcome, StaffReason};
use boardcheck_core::manifest::store::{ManualState, Store};
use boardcheck_core::manifest::Method;
use common::browser::{fresh_artefacts_dir, Browser};
use common::station::{frames_of, TestStation, STAFF, TRIP};
use serde_json::Value;

const SHORT: Duration = Duration::from_secs(15);
/// The lane loads its models and runs its frames before it asks the service.
const LANE: Duration = Duration::from_secs(180);
const TICKET: &str = "G3-02";
/// Staff's note beside the reason they choose (kept with the check, never in the log).
const NOTE: &str = "核对儿童票与监护人证件 checked the child's ticket and guardian ID";

/// Marks the page; a reload loses the mark.
const MARK: &str = "window.__boardcheckTestMark = 'not reloaded';";
const MARKED: &str = "return window.__boardcheckTestMark === 'not reloaded';";

/// Switches off the page's timers (the console's 15 s refetch), so that whatever changes on
/// the page from now on came over the event stream.
const STOP_TIMERS: &str = "const last = setTimeout(() => {}, 0); for (let id = 1; id <= last; id++) clearInterval(id);";

/// Records every state the kiosk shows, with its English message.
const RECORD_KIOSK: &str = r#"
    const kiosk = document.getElementById('kiosk');
    const note = () => {
        const state = kiosk.dataset.state, en = document.getElementById('message-en').textContent;
        const last = window.__kioskStates[window.__kioskStates.length - 1];
        if (!last || last.state !== state || last.en !== en) window.__kioskStates.push({ state, en });
    };
    window.__kioskStates = [];
    note();
    new MutationObserver(note).observe(kiosk, { attributes: true, childList: true, subtree: true, characterData: true });
"#;

fn kiosk_states(browser: &Browser) -> Vec<(String, String)> {
    let states = browser.execute("return window.__kioskStates || [];", &[]);
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    states.as_array().into_iter().flatten().map(|s| (text(&s["state"]), text(&s["en"]))).collect()
}

fn open_tab(browser: &Browser, tab: &str) {
    browser.click(&browser.find(&format!(".tab[data-tab=\"{tab}\"]")));
    browser.wait_until(&format!("the {tab} panel to show"), SHORT, |b| {
        (b.attribute(&b.find(&format!("#{tab}")), "hidden").is_none()).then_some(())
    });
}

#[test]
fn a_manual_check_appears_live_and_an_approval_reaches_the_lane_card_the_board_and_the_kiosk() {
    let station = TestStation::start();
    let frames = frames_of("biden.jpg", 12);
    let artefacts = fresh_artefacts_dir();
    let browser = Browser::start(&artefacts);

    // The kiosk of lane 1 in its own tab, recording what it shows from here on.
    let console_tab = browser.window();
    let kiosk_tab = browser.new_tab();
    browser.switch_to(&kiosk_tab);
    browser.goto(&format!("{}/kiosk/lane-1", station.url));
    browser.wait_for("#kiosk-conn[data-state=\"live\"]", SHORT);
    // No lane has reported yet: the display sends passengers to the staffed lane instead of
    // inviting them to a camera that decides nothing.
    assert_eq!(browser.attribute(&browser.find("#kiosk"), "data-state").as_deref(), Some("closed"));
    browser.execute(RECORD_KIOSK, &[]);
    browser.shot("01-kiosk-closed");

    // Log in as a staff member through the login page.
    browser.switch_to(&console_tab);
    browser.goto(&format!("{}/login", station.url));
    browser.wait_for("#login-form", SHORT);
    browser.send_keys(&browser.find("#staff"), STAFF.0);
    browser.send_keys(&browser.find("#password"), STAFF.1);
    browser.shot("02-login");
    browser.click(&browser.find("#login-button"));
    browser.wait_for("#manual", SHORT);
    browser.wait_for_text("#staff-id", STAFF.0, SHORT);
    browser.wait_for("#stream-state[data-state=\"live\"]", SHORT);
    browser.execute(MARK, &[]);
    browser.execute(STOP_TIMERS, &[]);
    open_tab(&browser, "manual");
    assert!(browser.find_all(".manual-check").is_empty(), "the queue starts empty");
    browser.shot("03-console-empty-queue");

    std::thread::scope(|scope| {
        // A lane sees Joe Biden, whose ticket is a child's: a manual check.
        let lane = scope.spawn(|| station.run_lane("lane-1", frames.path()));

        let started = Instant::now();
        let mut lane_done: Option<Instant> = None;
        let item = browser
            .poll(LANE, |b| {
                if lane_done.is_none() && lane.is_finished() {
                    lane_done = Some(Instant::now());
                }
                // The lane has ended and nothing came: do not wait out the whole timeout.
                if lane_done.is_some_and(|t| t.elapsed() > SHORT) {
                    panic!("the lane finished {:?} ago and no manual check appeared on the console", SHORT);
                }
                b.try_find(".manual-check")
            })
            .unwrap_or_else(|| panic!("no manual check appeared on the console within {LANE:?}"));
        eprintln!("the manual check appeared after {:.1} s", started.elapsed().as_secs_f64());
        assert!(browser.execute(MARKED, &[]) == true, "the console reloaded to show the manual check: it must come over the event stream");
        assert_eq!(browser.find_all(".manual-check").len(), 1, "one manual check for one passenger");
        assert_eq!(browser.attribute(&item, "data-reason").as_deref(), Some("child"));
        browser.wait_for_text(".manual-check", TICKET, SHORT);
        browser.wait_for_text(".manual-check", "Joe Biden", SHORT);
        browser.wait_for_text("#manual-count", "1", SHORT);
        let check_id: i64 = browser.attribute(&item, "data-id").and_then(|id| id.parse().ok()).expect("the check's id");
        browser.shot("04-manual-check-queued");

        // The kiosk sent the passenger to staff meanwhile.
        browser.switch_to(&kiosk_tab);
        browser.wait_until("the kiosk to send the passenger to staff", SHORT, |b| {
            kiosk_states(b).iter().any(|(s, _)| s == "see_staff").then_some(())
        });
        browser.switch_to(&console_tab);

        // Approve, with a reason from the list and a note.
        browser.click(&browser.find(".manual-check select.reason option[value=\"child_with_guardian\"]"));
        browser.send_keys(&browser.find(".manual-check .note"), NOTE);
        browser.shot("05-reason-typed");
        browser.click(&browser.find(".manual-check .approve"));
        browser.wait_gone(".manual-check", SHORT);
        browser.wait_for_text("#notice", "Approved by staff", SHORT);
        browser.wait_for_text("#manual-count", "0", SHORT);
        browser.shot("06-approved");

        // The kiosk turns to pass (it goes back to idle 8 s later: look at once).
        browser.switch_to(&kiosk_tab);
        browser.wait_until("the kiosk to show pass", SHORT, |b| kiosk_states(b).iter().any(|(s, _)| s == "pass").then_some(()));
        let states = kiosk_states(&browser);
        let see_staff = states.iter().position(|(s, _)| s == "see_staff").expect("see staff shown");
        let pass = states.iter().rposition(|(s, _)| s == "pass").expect("pass shown");
        assert!(see_staff < pass, "the kiosk showed pass before see staff: {states:?}");
        assert_eq!(states[pass].1, "Seat 02: please board", "a staff approval is addressed to its passenger");
        if browser.attribute(&browser.find("#kiosk"), "data-state").as_deref() == Some("pass") {
            browser.shot("07-kiosk-pass");
        } else {
            eprintln!("the kiosk was back to idle before its screenshot: {states:?}");
        }
        browser.switch_to(&console_tab);

        // The lane card shows the staff approval, by whom.
        open_tab(&browser, "lanes");
        let card = ".lane[data-lane=\"lane-1\"] .last-decision[data-outcome=\"manual_approved\"]";
        browser.wait_for_text(card, "Approved by staff", SHORT);
        browser.wait_for_text(card, &format!("by {}", STAFF.0), SHORT);
        browser.wait_for_text(card, TICKET, SHORT);
        browser.shot("08-lane-card");

        // The manifest board shows the passenger boarded.
        open_tab(&browser, "board");
        browser.click(&browser.wait_for(&format!(".trip[data-trip=\"{TRIP}\"]"), SHORT));
        let status = format!(".passenger[data-ticket=\"{TICKET}\"] .status");
        browser.wait_for_text(&status, "boarded", SHORT);
        browser.wait_for_text(&format!(".trip[data-trip=\"{TRIP}\"] .count-boarded"), "Boarded 1 / 3", SHORT);
        browser.shot("09-manifest-board");
        assert!(browser.execute(MARKED, &[]) == true, "the console reloaded during the test");

        let output = lane.join().expect("the lane thread");
        assert!(output.status.success(), "the lane failed: {}", String::from_utf8_lossy(&output.stderr));

        // The lane has stopped: once it has been silent for a while its display closes, by
        // itself, without a reload.
        browser.switch_to(&kiosk_tab);
        browser.wait_until("the kiosk of the stopped lane to close", Duration::from_secs(30), |b| {
            (b.attribute(&b.find("#kiosk"), "data-state").as_deref() == Some("closed")).then_some(())
        });
        browser.wait_for_text("#message-en", "Lane closed", SHORT);
        browser.shot("10-kiosk-closed-after-the-lane-stopped");
        browser.switch_to(&console_tab);

        // What the database recorded: one boarding, by li, and the audit with the reason.
        let store = Store::open(&station.db()).expect("the station database");
        let events = store.events_since(0).expect("events");
        let of_ticket: Vec<_> = events.iter().filter(|e| e.ticket_id.as_deref() == Some(TICKET)).collect();
        let boarded: Vec<_> = of_ticket.iter().filter(|e| e.outcome == Outcome::Boarded).collect();
        assert_eq!(boarded.len(), 1, "exactly one boarded event for {TICKET}: {of_ticket:#?}");
        assert_eq!(boarded[0].method, Some(Method::Manual));
        assert_eq!(boarded[0].staff.as_deref(), Some(STAFF.0));
        let audit: Vec<_> = of_ticket.iter().filter(|e| e.outcome == Outcome::ManualApproved).collect();
        assert_eq!(audit.len(), 1, "one approval recorded: {of_ticket:#?}");
        assert_eq!(audit[0].staff.as_deref(), Some(STAFF.0));
        // The log keeps the reason's code and ids; staff's own words stay with the check (purged
        // with the trip).
        assert_eq!(audit[0].detail.as_deref(), Some("child_with_guardian"), "a code, no free text in the log: {:?}", audit[0]);
        assert_eq!(audit[0].check_id, Some(check_id));
        let check = store.manual_check(check_id).expect("reads").expect("the manual check");
        assert_eq!(check.state, ManualState::Approved);
        assert_eq!(check.resolved_by.as_deref(), Some(STAFF.0));
        assert_eq!((check.resolution, check.note.as_deref()), (Some(StaffReason::ChildWithGuardian), Some(NOTE)));
        assert!(
            events.iter().filter(|e| e.outcome == Outcome::Boarded).all(|e| e.ticket_id.as_deref() == Some(TICKET)),
            "only {TICKET} boarded"
        );
    });

    // The pages ran without an uncaught exception.
    let errors = browser.script_errors();
    assert!(errors.is_empty(), "the pages threw: {errors:#?}");
}
