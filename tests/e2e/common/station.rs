//! A real station service for the integration tests: a temporary station folder with
//! `station.toml`, two staff accounts, one trip imported from fixture ID photos, and
//! `boardcheck serve` running on a free loopback port (killed when dropped); over HTTPS with a
//! fresh self-signed certificate if asked.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::{boardcheck, fixture};

pub const STAFF: (&str, &str) = ("li", "li-password-1");
pub const SUPERVISOR: (&str, &str) = ("wang", "wang-password-1");
/// The trip boarding at gate 3, departing 30 minutes after the station starts.
pub const TRIP: &str = "G3-0900";

pub struct TestStation {
    pub dir: tempfile::TempDir,
    pub url: String,
    /// The service's self-signed certificate, when it serves HTTPS: the lanes pin it.
    pub ca_file: Option<PathBuf>,
    max_open_files: Option<u32>,
    serve: Child,
}

/// How to start a [`TestStation`] other than the default.
#[derive(Default)]
pub struct Options<'a> {
    /// More top-level `station.toml` lines.
    pub settings: &'a str,
    /// Serve HTTPS with a certificate for 127.0.0.1 made now.
    pub tls: bool,
    /// Start the service with this open-file limit (`ulimit -n`).
    pub max_open_files: Option<u32>,
}

fn must(output: Output, what: &str) -> Output {
    assert!(output.status.success(), "{what} failed: {}", String::from_utf8_lossy(&output.stderr));
    output
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

impl TestStation {
    /// Lanes `lane-1` and `lane-2`, both at gate 3. Tickets: `G3-01` (Obama's photo), `G3-02`
    /// (Biden's photo, a child: always a manual check), `G3-03` (no photo).
    pub fn start() -> TestStation {
        TestStation::start_with(&Options::default())
    }

    pub fn start_with(options: &Options) -> TestStation {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let config = dir.path().join("station.toml");
        let ca_file = options.tls.then(|| self_signed(dir.path()));
        let tls = if options.tls { "tls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n" } else { "" };
        let settings = options.settings;
        let text = format!(
            "listen = \"127.0.0.1:{port}\"\nlogin_max_failures = 5\nlogin_lockout_s = 60\n{tls}{settings}\n\
             [[lanes]]\nname = \"lane-1\"\ngate = \"3\"\ntoken_file = \"lane-1.token\"\n\
             [[lanes]]\nname = \"lane-2\"\ngate = \"3\"\ntoken_file = \"lane-2.token\"\n"
        );
        std::fs::write(&config, text).expect("writes station.toml");
        let config_arg = config.to_string_lossy().to_string();
        must(boardcheck(&["staff", "add", STAFF.0, "--role", "staff", "--config", &config_arg], Some(STAFF.1)), "staff add");
        must(boardcheck(&["staff", "add", SUPERVISOR.0, "--role", "supervisor", "--config", &config_arg], Some(SUPERVISOR.1)), "staff add");
        import_trip(dir.path());
        let serve = spawn_serve(dir.path(), options.max_open_files);
        let scheme = if options.tls { "https" } else { "http" };
        let station =
            TestStation { dir, url: format!("{scheme}://127.0.0.1:{port}"), ca_file, max_open_files: options.max_open_files, serve };
        station.wait_until_up();
        station
    }

    /// Stops the service (its folder stays until the station is dropped).
    pub fn stop(&mut self) {
        let _ = self.serve.kill();
        let _ = self.serve.wait();
    }

    /// Stops the service and starts it again on the same folder and port.
    pub fn restart(&mut self) {
        self.stop();
        self.serve = spawn_serve(self.dir.path(), self.max_open_files);
        self.wait_until_up();
    }

    /// The service's process id.
    pub fn pid(&self) -> u32 {
        self.serve.id()
    }

    /// What the service has written to standard error so far (across restarts).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serve.log")).expect("reads serve.log")
    }

    /// Runs `boardcheck staff …` against this station, with `stdin` piped in.
    pub fn staff_command(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let config = self.dir.path().join("station.toml").to_string_lossy().to_string();
        let mut all = vec!["staff"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--config", &config]);
        boardcheck(&all, stdin)
    }

    /// An HTTP agent that trusts the service's certificate, if it has one.
    pub fn agent(&self) -> ureq::Agent {
        let roots = match &self.ca_file {
            Some(ca) => {
                let pem = std::fs::read(ca).expect("reads the certificate");
                ureq::tls::RootCerts::new_with_certs(&[ureq::tls::Certificate::from_pem(&pem).expect("a certificate")])
            }
            None => ureq::tls::RootCerts::WebPki,
        };
        ureq::Agent::config_builder().tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build()).build().into()
    }

    fn wait_until_up(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let agent = self.agent();
        while Instant::now() < deadline {
            if agent.get(&format!("{}/healthz", self.url)).call().is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the station service did not come up at {}", self.url);
    }

    pub fn lane_token(&self, lane: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(format!("{lane}.token"))).expect("the service wrote the lane token").trim().to_string()
    }

    /// Runs `boardcheck lane` for `lane` over an image folder, through the service.
    pub fn run_lane(&self, lane: &str, frames: &Path) -> Output {
        let lane_toml = self.dir.path().join(format!("{lane}.toml"));
        let pinned = self.ca_file.as_ref().map(|ca| format!("ca_file = \"{}\"\n", ca.display())).unwrap_or_default();
        let text = format!(
            "lane = \"{lane}\"\nsource = \"{}\"\nservice_url = \"{}\"\ntoken_file = \"{lane}.token\"\n{pinned}",
            frames.display(),
            self.url
        );
        std::fs::write(&lane_toml, text).expect("writes lane.toml");
        must(boardcheck(&["lane", "--config", &lane_toml.to_string_lossy()], None), "lane")
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("station.db")
    }
}

impl Drop for TestStation {
    fn drop(&mut self) {
        let _ = self.serve.kill();
        let _ = self.serve.wait();
        if std::thread::panicking() {
            eprintln!("--- boardcheck serve's log ---\n{}", std::fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default());
        }
    }
}

/// `boardcheck serve` on the station folder `dir`, its standard error appended to `serve.log`
/// (shown when a test fails), with an open-file limit if given.
fn spawn_serve(dir: &Path, max_open_files: Option<u32>) -> Child {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("serve.log")).expect("opens serve.log");
    let binary = env!("CARGO_BIN_EXE_boardcheck");
    let mut serve = Command::new(binary);
    if let Some(limit) = max_open_files {
        // The shell lowers its limit, then becomes the service.
        serve = Command::new("sh");
        serve.args(["-c", &format!("ulimit -n {limit} && exec \"$0\" \"$@\""), binary]);
    }
    serve
        .args(["serve", "--config", &dir.join("station.toml").to_string_lossy()])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("serve starts")
}

/// A self-signed certificate for 127.0.0.1 as `cert.pem` and `key.pem` (mode 0600, as the
/// service demands) in `dir`; the certificate's path.
fn self_signed(dir: &Path) -> PathBuf {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).expect("a certificate");
    let cert = dir.join("cert.pem");
    std::fs::write(&cert, made.cert.pem()).expect("writes cert.pem");
    let mut key = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(dir.join("key.pem")).expect("creates key.pem");
    key.write_all(made.signing_key.serialize_pem().as_bytes()).expect("writes key.pem");
    cert
}

fn import_trip(dir: &Path) {
    let photos = dir.join("photos");
    std::fs::create_dir_all(&photos).expect("photos folder");
    std::fs::copy(fixture("obama.jpg"), photos.join("G3-01.jpg")).expect("copies");
    std::fs::copy(fixture("biden.jpg"), photos.join("G3-02.jpg")).expect("copies");
    let export = dir.join("export.csv");
    std::fs::write(
        &export,
        "ticket_id,seat,name,document_type,document_number,child,refunded\n\
         G3-01,01,Barack Obama,passport,P12345678,0,0\n\
         G3-02,02,Joe Biden,id_card,110101201001011234,1,0\n\
         G3-03,03,Li Lei,id_card,110101199001011234,0,0\n",
    )
    .expect("writes export");
    let departure = (boardcheck_core::clock::unix_now() + 30 * 60).to_string();
    let db = dir.join("station.db");
    must(
        boardcheck(
            &[
                "manifest",
                "import",
                "--trip",
                TRIP,
                "--route",
                "Hefei → Nanjing",
                "--departure",
                &departure,
                "--gate",
                "3",
                "--file",
                &export.to_string_lossy(),
                "--photos",
                &photos.to_string_lossy(),
                "--db",
                &db.to_string_lossy(),
            ],
            None,
        ),
        "manifest import",
    );
}

/// A folder of `n` copies of a fixture photo, as lane frames.
pub fn frames_of(name: &str, n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let photo = image::open(fixture(name)).expect("fixture").to_rgb8();
    let frame = image::imageops::resize(&photo, 455, 568, image::imageops::FilterType::Triangle);
    for i in 0..n {
        frame.save(dir.path().join(format!("{i:03}.png"))).expect("saves");
    }
    dir
}
