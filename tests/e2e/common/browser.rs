//! A minimal W3C WebDriver client for the browser tests: headless Chromium driven through
//! `chromedriver`, spoken to over HTTP with ureq (no WebDriver crate).
//!
//! Lookups and waits that fail panic, naming what was not found and the page's address. When
//! a test panics with a browser open, dropping the browser saves `failure.png`, `failure.html`
//! and the browser's console log in the artefacts folder and prints the page source and the
//! log, so a failure in the page's script can be read after the run.

use std::cell::RefCell;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

/// The key of an element reference in WebDriver's JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
const POLL: Duration = Duration::from_millis(100);
const BROWSER_ARGS: [&str; 7] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-extensions",
    "--window-size=1280,900",
];

/// An element on the current page (a WebDriver element reference).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element(String);

/// An error answer from the driver: `error` is the W3C code (`no such element`, …).
#[derive(Debug)]
pub struct DriverError {
    pub error: String,
    pub message: String,
}

impl std::fmt::Display for DriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let first_line = self.message.lines().next().unwrap_or_default();
        write!(f, "{}: {first_line}", self.error)
    }
}

/// One line of the browser's console log.
#[derive(Debug, Clone)]
pub struct LogEntry {
    /// `SEVERE`, `WARNING`, `INFO`, …
    pub level: String,
    /// `javascript` (an uncaught exception), `console-api`, `network`, …
    pub source: String,
    pub message: String,
}

/// Where the browser tests leave their screenshots: `target/browser-artefacts/`.
pub fn artefacts_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("the target folder").join("browser-artefacts")
}

/// The artefacts folder, emptied of an earlier run's files.
pub fn fresh_artefacts_dir() -> PathBuf {
    let dir = artefacts_dir();
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot make {}: {e}", dir.display()));
    dir
}

/// A program on `PATH`, or at Debian's place for it.
fn program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]).map(|dir| dir.join(name)).find(|p| p.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// A headless Chromium session; the session is closed and chromedriver killed when dropped.
pub struct Browser {
    driver: Child,
    agent: ureq::Agent,
    /// `http://127.0.0.1:PORT/session/ID`
    session: String,
    artefacts: PathBuf,
    /// Everything the browser logged so far (the driver hands each line out once).
    log: RefCell<Vec<LogEntry>>,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium. Screenshots go to `artefacts`. Panics,
    /// saying to run `scripts/setup`, when chromium or chromedriver is not installed.
    pub fn start(artefacts: &Path) -> Browser {
        let missing = |what: &str, package: &str| -> ! {
            panic!("{what} is not installed (Debian package '{package}'): run scripts/setup, which installs chromium and chromium-driver")
        };
        let chromium = program("chromium").unwrap_or_else(|| missing("chromium", "chromium"));
        let chromedriver = program("chromedriver").unwrap_or_else(|| missing("chromedriver", "chromium-driver"));
        std::fs::create_dir_all(artefacts).unwrap_or_else(|e| panic!("cannot make {}: {e}", artefacts.display()));

        let port = free_port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver.display()));
        let agent = ureq::Agent::config_builder().timeout_global(Some(Duration::from_secs(60))).http_status_as_error(false).build().into();
        let driver_url = format!("http://127.0.0.1:{port}");
        let mut browser = Browser { driver, agent, session: String::new(), artefacts: artefacts.to_path_buf(), log: RefCell::default() };

        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(status) = browser.request("GET", &format!("{driver_url}/status"), None) {
                if status["ready"] == true {
                    break;
                }
            }
            if let Ok(Some(exit)) = browser.driver.try_wait() {
                panic!("chromedriver exited at start ({exit})");
            }
            assert!(Instant::now() < deadline, "chromedriver at {driver_url} was not ready within 20 s");
            std::thread::sleep(POLL);
        }

        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": BROWSER_ARGS },
            "goog:loggingPrefs": { "browser": "ALL" },
            "timeouts": { "pageLoad": 30_000, "script": 30_000 },
        }}});
        let created = browser
            .request("POST", &format!("{driver_url}/session"), Some(capabilities))
            .unwrap_or_else(|e| panic!("chromedriver could not start {}: {e}", chromium.display()));
        let id = created["sessionId"].as_str().unwrap_or_else(|| panic!("no sessionId in {created}"));
        browser.session = format!("{driver_url}/session/{id}");
        browser
    }

    /// One WebDriver request; the answer's `value`.
    fn request(&self, method: &str, url: &str, body: Option<Value>) -> Result<Value, DriverError> {
        let sent = match method {
            "GET" => self.agent.get(url).call(),
            "DELETE" => self.agent.delete(url).call(),
            _ => self.agent.post(url).send_json(body.unwrap_or_else(|| json!({}))),
        };
        let transport = |e: String| DriverError { error: "transport".into(), message: format!("{method} {url}: {e}") };
        let mut response = sent.map_err(|e| transport(e.to_string()))?;
        let ok = response.status().is_success();
        let text = response.body_mut().with_config().limit(64 << 20).read_to_string().map_err(|e| transport(e.to_string()))?;
        let mut answer: Value = serde_json::from_str(&text).map_err(|e| transport(format!("unreadable answer ({e}): {text}")))?;
        let value = answer["value"].take();
        if ok {
            return Ok(value);
        }
        let said = |key: &str| value[key].as_str().unwrap_or_default().to_string();
        Err(DriverError { error: said("error"), message: said("message") })
    }

    /// A command on this session (`path` after `/session/ID`).
    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, DriverError> {
        self.request(method, &format!("{}{path}", self.session), body)
    }

    /// A command that must succeed; `what` names it in the panic.
    #[track_caller]
    fn must(&self, what: &str, method: &str, path: &str, body: Option<Value>) -> Value {
        match self.command(method, path, body) {
            Ok(value) => value,
            Err(e) => panic!("{what} failed: {e} (page: {})", self.current_url()),
        }
    }

    #[track_caller]
    pub fn goto(&self, url: &str) {
        self.must(&format!("opening {url}"), "POST", "/url", Some(json!({ "url": url })));
    }

    /// The page's address (`<unknown>` if the driver cannot say).
    pub fn current_url(&self) -> String {
        match self.command("GET", "/url", None) {
            Ok(Value::String(url)) => url,
            _ => "<unknown>".into(),
        }
    }

    pub fn try_find(&self, css: &str) -> Option<Element> {
        let found = self.command("POST", "/element", Some(json!({ "using": "css selector", "value": css }))).ok()?;
        found[ELEMENT_KEY].as_str().map(|id| Element(id.to_string()))
    }

    #[track_caller]
    pub fn find(&self, css: &str) -> Element {
        match self.try_find(css) {
            Some(element) => element,
            None => panic!("no element '{css}' on {}", self.current_url()),
        }
    }

    #[track_caller]
    pub fn find_all(&self, css: &str) -> Vec<Element> {
        let found = self.must(&format!("looking for '{css}'"), "POST", "/elements", Some(json!({ "using": "css selector", "value": css })));
        found.as_array().into_iter().flatten().filter_map(|e| e[ELEMENT_KEY].as_str()).map(|id| Element(id.to_string())).collect()
    }

    #[track_caller]
    pub fn click(&self, element: &Element) {
        self.must("click", "POST", &format!("/element/{}/click", element.0), None);
    }

    #[track_caller]
    pub fn send_keys(&self, element: &Element, text: &str) {
        self.must("typing", "POST", &format!("/element/{}/value", element.0), Some(json!({ "text": text })));
    }

    /// The element's rendered text (empty while it is hidden), or `None` if it left the page.
    pub fn try_text(&self, element: &Element) -> Option<String> {
        self.command("GET", &format!("/element/{}/text", element.0), None).ok()?.as_str().map(str::to_string)
    }

    #[track_caller]
    pub fn attribute(&self, element: &Element, name: &str) -> Option<String> {
        let value = self.must(&format!("reading attribute '{name}'"), "GET", &format!("/element/{}/attribute/{name}", element.0), None);
        value.as_str().map(str::to_string)
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`) in the page; its return value.
    #[track_caller]
    pub fn execute(&self, script: &str, args: &[Value]) -> Value {
        self.must("running a script", "POST", "/execute/sync", Some(json!({ "script": script, "args": args })))
    }

    /// Saves a PNG of the viewport.
    #[track_caller]
    pub fn screenshot(&self, path: &Path) {
        let data = self.must("screenshot", "GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD.decode(data.as_str().unwrap_or_default()).expect("the screenshot is base64");
        std::fs::write(path, png).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }

    /// Saves `<artefacts>/<name>.png`.
    #[track_caller]
    pub fn shot(&self, name: &str) -> PathBuf {
        let path = self.artefacts.join(format!("{name}.png"));
        self.screenshot(&path);
        path
    }

    /// This tab's handle.
    #[track_caller]
    pub fn window(&self) -> String {
        self.must("reading the window handle", "GET", "/window", None).as_str().unwrap_or_default().to_string()
    }

    /// Opens a new tab (without switching to it); its handle.
    #[track_caller]
    pub fn new_tab(&self) -> String {
        let opened = self.must("opening a tab", "POST", "/window/new", Some(json!({ "type": "tab" })));
        opened["handle"].as_str().unwrap_or_default().to_string()
    }

    #[track_caller]
    pub fn switch_to(&self, handle: &str) {
        self.must("switching tabs", "POST", "/window", Some(json!({ "handle": handle })));
    }

    /// Polls `probe` until it gives a value; `None` after `timeout`.
    pub fn poll<T>(&self, timeout: Duration, mut probe: impl FnMut(&Browser) -> Option<T>) -> Option<T> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(value) = probe(self) {
                return Some(value);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(POLL);
        }
    }

    /// Polls `probe` until it gives a value; panics naming `what` after `timeout`.
    #[track_caller]
    pub fn wait_until<T>(&self, what: &str, timeout: Duration, probe: impl FnMut(&Browser) -> Option<T>) -> T {
        match self.poll(timeout, probe) {
            Some(value) => value,
            None => panic!("timed out after {timeout:?} waiting for {what} on {}", self.current_url()),
        }
    }

    /// Waits until an element matches `css`.
    #[track_caller]
    pub fn wait_for(&self, css: &str, timeout: Duration) -> Element {
        self.wait_until(&format!("an element '{css}'"), timeout, |b| b.try_find(css))
    }

    /// Waits until no element matches `css`.
    #[track_caller]
    pub fn wait_gone(&self, css: &str, timeout: Duration) {
        self.wait_until(&format!("'{css}' to leave the page"), timeout, |b| b.try_find(css).is_none().then_some(()))
    }

    /// Waits until an element matching `css` shows text containing `needle`; panics with the
    /// texts last seen.
    #[track_caller]
    pub fn wait_for_text(&self, css: &str, needle: &str, timeout: Duration) -> Element {
        let mut seen = Vec::new();
        let found = self.poll(timeout, |b| {
            seen.clear();
            b.find_all(css).into_iter().find(|e| {
                let text = b.try_text(e).unwrap_or_default();
                let hit = text.contains(needle);
                seen.push(text);
                hit
            })
        });
        match found {
            Some(element) => element,
            None => {
                panic!("timed out after {timeout:?} waiting for '{css}' to show '{needle}' on {}; it showed {seen:?}", self.current_url())
            }
        }
    }

    /// Everything the browser's pages logged so far (console messages, uncaught exceptions,
    /// failed requests), from every tab.
    pub fn console_log(&self) -> Vec<LogEntry> {
        if let Ok(Value::Array(entries)) = self.command("POST", "/se/log", Some(json!({ "type": "browser" }))) {
            let text = |e: &Value, key: &str| e[key].as_str().unwrap_or_default().to_string();
            let entries =
                entries.iter().map(|e| LogEntry { level: text(e, "level"), source: text(e, "source"), message: text(e, "message") });
            self.log.borrow_mut().extend(entries);
        }
        self.log.borrow().clone()
    }

    /// The uncaught exceptions the pages threw so far.
    pub fn script_errors(&self) -> Vec<String> {
        self.console_log().into_iter().filter(|e| e.source == "javascript").map(|e| e.message).collect()
    }

    /// What a failed test leaves behind: a screenshot, the page source and the console log.
    fn save_failure(&self) {
        eprintln!("---- browser at failure: {} ----", self.current_url());
        if let Ok(Value::String(data)) = self.command("GET", "/screenshot", None) {
            if let Ok(png) = base64::engine::general_purpose::STANDARD.decode(data) {
                let path = self.artefacts.join("failure.png");
                if std::fs::write(&path, png).is_ok() {
                    eprintln!("screenshot: {}", path.display());
                }
            }
        }
        if let Ok(Value::String(source)) = self.command("GET", "/source", None) {
            let _ = std::fs::write(self.artefacts.join("failure.html"), &source);
            eprintln!("---- page source ----\n{source}");
        }
        let log: Vec<String> = self.console_log().iter().map(|e| format!("{} {} {}", e.level, e.source, e.message)).collect();
        let _ = std::fs::write(self.artefacts.join("failure-console.log"), log.join("\n"));
        eprintln!("---- browser console ({} lines) ----\n{}", log.len(), log.join("\n"));
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            if std::thread::panicking() {
                self.save_failure();
            }
            let _ = self.request("DELETE", &self.session, None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
