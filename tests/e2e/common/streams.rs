//! Cameras on loopback for the ingest tests, as the lane meets them in the field: an MJPEG
//! camera over HTTP served from this process, and an RTSP camera served by GStreamer's RTSP
//! server in a child process (installed by scripts/setup). Both can be killed mid-stream and
//! started again on the same port; the MJPEG camera can also stall (connections stay open,
//! nothing is sent) and counts the connections its clients hold open; the RTSP camera can
//! freeze (SIGSTOP: its sockets stay open, nothing moves), as a hung camera does.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use image::{Rgb, RgbImage};

use super::fixture;

/// Camera tests take turns: OpenCV's FFmpeg backend opens one stream at a time in a process,
/// so one test's stalled open would hold up another's reconnection, and a test counts the
/// reader threads of its kind of stream by name.
pub fn one_at_a_time() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::new(());
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Threads of this process whose name starts with `prefix` (Linux keeps 15 bytes of a name).
pub fn threads_named(prefix: &str) -> usize {
    let tasks = std::fs::read_dir("/proc/self/task").expect("lists this process's threads");
    tasks.filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok()).filter(|name| name.starts_with(prefix)).count()
}

/// Frame size of the test cameras.
pub const WIDTH: u32 = 640;
pub const HEIGHT: u32 = 480;

/// A camera frame: the fixture photo `name` as high as the frame, on a grey concourse with
/// its left edge at `x` (passengers at the two edges never share a track).
pub fn frame_of(name: &str, x: u32) -> RgbImage {
    let photo = image::open(fixture(name)).expect("fixture").to_rgb8();
    let width = photo.width() * HEIGHT / photo.height();
    let photo = image::imageops::resize(&photo, width, HEIGHT, image::imageops::FilterType::Triangle);
    let mut frame = RgbImage::from_pixel(WIDTH, HEIGHT, Rgb([128, 128, 128]));
    image::imageops::overlay(&mut frame, &photo, i64::from(x), 0);
    frame
}

fn jpeg(frame: &RgbImage) -> Vec<u8> {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 85).encode_image(frame).expect("encodes");
    bytes
}

/// How long a serving thread sleeps between looks at the camera's state.
const TICK: Duration = Duration::from_millis(10);

/// State shared with the serving threads.
struct Shared {
    /// JPEG frames, sent in a loop.
    frames: Mutex<Arc<Vec<Vec<u8>>>>,
    fps: u32,
    stalled: AtomicBool,
    /// Connections whose client has not closed them.
    open: AtomicUsize,
    accepted: AtomicUsize,
}

/// One run of the server, from start to kill.
struct Serving {
    killed: Arc<AtomicBool>,
    accept: JoinHandle<()>,
}

/// An MJPEG camera (`multipart/x-mixed-replace`, one JPEG part per frame) at
/// `http://127.0.0.1:PORT/lane.mjpg`.
pub struct MjpegCamera {
    port: u16,
    shared: Arc<Shared>,
    serving: Option<Serving>,
}

impl MjpegCamera {
    /// Serves `frames`, looped, at `fps`, on a free port.
    pub fn start(frames: &[RgbImage], fps: u32) -> MjpegCamera {
        let shared = Arc::new(Shared {
            frames: Mutex::new(Arc::new(frames.iter().map(jpeg).collect())),
            fps,
            stalled: AtomicBool::new(false),
            open: AtomicUsize::new(0),
            accepted: AtomicUsize::new(0),
        });
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
        let port = listener.local_addr().expect("address").port();
        let mut camera = MjpegCamera { port, shared, serving: None };
        camera.serve(listener);
        camera
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/lane.mjpg", self.port)
    }

    /// Stops as a killed camera does: the port refuses connections and every open connection
    /// is closed under its client. Returns once all is closed.
    pub fn kill(&mut self) {
        let serving = self.serving.take().expect("serving");
        serving.killed.store(true, Ordering::SeqCst);
        serving.accept.join().expect("accept thread");
    }

    /// Serves again on the same port, the next frames from `frames`.
    pub fn restart(&mut self, frames: &[RgbImage]) {
        assert!(self.serving.is_none(), "killed first");
        *self.shared.frames.lock().expect("lock") = Arc::new(frames.iter().map(jpeg).collect());
        let listener = TcpListener::bind(("127.0.0.1", self.port)).expect("binds the same port again");
        self.serve(listener);
    }

    /// While stalled, connections stay open and new ones are accepted, but nothing is sent on
    /// any of them (not even the HTTP response): a camera alive on the network, frozen inside.
    pub fn stall(&self, stalled: bool) {
        self.shared.stalled.store(stalled, Ordering::SeqCst);
    }

    /// Connections open now: accepted and not yet closed by their client.
    pub fn open_connections(&self) -> usize {
        self.shared.open.load(Ordering::SeqCst)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    fn serve(&mut self, listener: TcpListener) {
        listener.set_nonblocking(true).expect("non-blocking");
        let killed = Arc::new(AtomicBool::new(false));
        let (shared, stop) = (Arc::clone(&self.shared), Arc::clone(&killed));
        let accept = std::thread::spawn(move || {
            let mut connections = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        shared.accepted.fetch_add(1, Ordering::SeqCst);
                        shared.open.fetch_add(1, Ordering::SeqCst);
                        let closer = stream.try_clone().expect("clones the connection");
                        let (shared, stop) = (Arc::clone(&shared), Arc::clone(&stop));
                        let thread = std::thread::spawn(move || {
                            serve_connection(stream, &shared, &stop);
                            shared.open.fetch_sub(1, Ordering::SeqCst);
                        });
                        connections.push((thread, closer));
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(TICK),
                    Err(e) => panic!("accept: {e}"),
                }
            }
            // Closed under the clients at once, even a connection blocked in a write.
            drop(listener);
            for (thread, closer) in connections {
                let _ = closer.shutdown(Shutdown::Both);
                thread.join().expect("connection thread");
            }
        });
        self.serving = Some(Serving { killed, accept });
    }
}

impl Drop for MjpegCamera {
    fn drop(&mut self) {
        if let Some(serving) = self.serving.take() {
            serving.killed.store(true, Ordering::SeqCst);
            let _ = serving.accept.join();
        }
    }
}

/// Serves one client until it goes away or the camera is killed.
fn serve_connection(mut stream: TcpStream, shared: &Shared, killed: &AtomicBool) {
    stream.set_nonblocking(false).expect("blocking");
    stream.set_read_timeout(Some(TICK)).expect("read timeout");
    let interval = Duration::from_secs_f64(1.0 / f64::from(shared.fps));
    let mut request = Vec::new();
    let mut responded = false;
    let mut next = 0;
    let mut last_sent = std::time::Instant::now() - interval;
    while !killed.load(Ordering::SeqCst) {
        // Reads the request, and notices a client that has gone away.
        let mut buffer = [0u8; 1024];
        match stream.read(&mut buffer) {
            Ok(0) => return,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
        let asked = request.windows(4).any(|w| w == b"\r\n\r\n");
        if !asked || shared.stalled.load(Ordering::SeqCst) || last_sent.elapsed() < interval {
            continue;
        }
        if !responded {
            let header = "HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=frame\r\nCache-Control: no-cache\r\n\r\n";
            if stream.write_all(header.as_bytes()).is_err() {
                return;
            }
            responded = true;
        }
        let frames = Arc::clone(&shared.frames.lock().expect("lock"));
        let part = &frames[next % frames.len()];
        next += 1;
        let head = format!("--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n", part.len());
        if stream.write_all(head.as_bytes()).and_then(|_| stream.write_all(part)).and_then(|_| stream.write_all(b"\r\n")).is_err() {
            return;
        }
        last_sent = std::time::Instant::now();
    }
}

/// An RTSP camera at `rtsp://127.0.0.1:PORT/lane`: GStreamer's RTSP server (a child process)
/// serving JPEG frames, looped, as RTP/JPEG.
pub struct RtspCamera {
    port: u16,
    fps: u32,
    frames: tempfile::TempDir,
    server: Option<Child>,
}

impl RtspCamera {
    /// Serves `frames`, looped, at `fps`, on a free port.
    pub fn start(frames: &[RgbImage], fps: u32) -> RtspCamera {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut camera = RtspCamera { port: 0, fps, frames: dir, server: None };
        camera.write_frames(frames);
        camera.port = camera.spawn(0);
        camera
    }

    pub fn url(&self) -> String {
        format!("rtsp://127.0.0.1:{}/lane", self.port)
    }

    /// Kills the server process (SIGKILL): its sockets are closed by the kernel mid-stream.
    pub fn kill(&mut self) {
        let mut server = self.server.take().expect("serving");
        server.kill().expect("kills the RTSP server");
        server.wait().expect("reaps the RTSP server");
    }

    /// Freezes the server process (SIGSTOP) or lets it go on (SIGCONT): while frozen, its
    /// connections stay open and the kernel still accepts new ones, but nothing is sent.
    pub fn freeze(&self, frozen: bool) {
        let pid = self.server.as_ref().expect("serving").id();
        let signal = if frozen { "-STOP" } else { "-CONT" };
        let status = Command::new("kill").arg(signal).arg(pid.to_string()).status().expect("runs kill");
        assert!(status.success(), "kill {signal} {pid}: {status}");
    }

    /// Serves again on the same port, the next frames from `frames`.
    pub fn restart(&mut self, frames: &[RgbImage]) {
        assert!(self.server.is_none(), "killed first");
        self.write_frames(frames);
        let port = self.spawn(self.port);
        assert_eq!(port, self.port);
    }

    fn write_frames(&self, frames: &[RgbImage]) {
        for entry in std::fs::read_dir(self.frames.path()).expect("lists") {
            std::fs::remove_file(entry.expect("entry").path()).expect("removes");
        }
        for (i, frame) in frames.iter().enumerate() {
            std::fs::write(self.frames.path().join(format!("frame_{i:04}.jpg")), jpeg(frame)).expect("writes a frame");
        }
    }

    /// Starts the server on `port` (0: a free one) and returns the port it serves on.
    fn spawn(&mut self, port: u16) -> u16 {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/common/rtsp_camera.py");
        let pattern = self.frames.path().join("frame_%04d.jpg");
        // Debian's interpreter: python3-gi is installed for it, not for any other python3 on PATH.
        let mut server = Command::new("/usr/bin/python3")
            .arg(&script)
            .arg(&pattern)
            .arg(self.fps.to_string())
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .expect("starts GStreamer's RTSP server (run scripts/setup)");
        let mut line = String::new();
        let mut stdout = server.stdout.take().expect("stdout");
        let mut byte = [0u8; 1];
        while stdout.read(&mut byte).expect("reads the server's port") == 1 && byte[0] != b'\n' {
            line.push(char::from(byte[0]));
        }
        let served = line.trim().parse().unwrap_or_else(|_| {
            let status = server.wait().expect("server exits");
            panic!("the RTSP server did not start ({status}): {line:?}")
        });
        self.server = Some(server);
        served
    }
}

impl Drop for RtspCamera {
    fn drop(&mut self) {
        if let Some(mut server) = self.server.take() {
            let _ = server.kill();
            let _ = server.wait();
        }
    }
}
