//! ONNX Runtime set-up: the only module that touches `ort` directly.
//!
//! The runtime library is loaded at run time from the pinned wheel's `libonnxruntime.so`
//! (`ort`'s `load-dynamic`), so a missing or wrong library is an error that names the file.
//! A [`OnnxModel`] holds a small pool of sessions: `ort` runs need `&mut Session`, and one
//! session per worker thread lets rayon embed images in parallel without a global lock.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use ort::environment::Environment;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::{Tensor, ValueType};

use crate::error::{Error, Result};

/// How models are run.
#[derive(Debug, Clone, Copy)]
pub struct RuntimeOptions {
    /// Threads one inference may use (ONNX Runtime intra-op threads).
    pub intra_threads: usize,
    /// Sessions per model: how many inferences of one model may run at once.
    pub sessions: usize,
}

impl Default for RuntimeOptions {
    /// One thread per inference and one session per core: the throughput set-up for a
    /// 2-core station PC where images are processed in parallel.
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        RuntimeOptions { intra_threads: 1, sessions: cores }
    }
}

/// A loaded ONNX Runtime: proof that [`init`] succeeded, needed to load models.
#[derive(Clone, Copy)]
pub struct Runtime {
    environment: &'static Environment,
}

static RUNTIME: OnceLock<std::result::Result<Environment, String>> = OnceLock::new();

/// Loads the ONNX Runtime library once per process; later calls return the first outcome
/// (ONNX Runtime allows one environment per process).
pub fn init(library: &Path) -> Result<Runtime> {
    let outcome = RUNTIME.get_or_init(|| {
        if !library.is_file() {
            return Err("file not found (run scripts/setup)".to_string());
        }
        // `with_telemetry(false)` comes too late: on loading, the library opens its telemetry
        // queue (`~/.cache/Microsoft/DeveloperTools/.onnxruntime/`, naming the process, OS and
        // CPU) unless this variable is set. Set here, once, before any model thread exists.
        std::env::set_var("ORT_DISABLE_TELEMETRY", "1");
        let builder = ort::init_from(library).map_err(|e| e.to_string())?;
        builder.with_name("boardcheck").with_telemetry(false).build().map_err(|e| e.to_string())
    });
    match outcome {
        Ok(environment) => Ok(Runtime { environment }),
        Err(reason) => Err(Error::RuntimeLibrary { path: library.to_path_buf(), reason: reason.clone() }),
    }
}

/// One output tensor, copied out of the session.
#[derive(Debug, Clone)]
pub struct Output {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// A loaded ONNX model with one float input.
pub struct OnnxModel {
    id: String,
    sessions: Vec<Mutex<Session>>,
    input_shape: Vec<i64>,
    /// Time spent inside ONNX Runtime, summed over calls: the floor a benchmark compares to.
    inference_ns: AtomicU64,
}

impl OnnxModel {
    /// Loads `path` and checks that its single input has the expected shape (`-1` for a
    /// dimension that may vary, such as the batch), so a wrong model fails here, by name.
    pub fn load(runtime: Runtime, id: &str, path: &Path, expected_input: &[i64], options: RuntimeOptions) -> Result<Self> {
        let model_error = |reason: String| Error::Model { id: id.to_string(), path: path.to_path_buf(), reason };
        let mut sessions = Vec::with_capacity(options.sessions.max(1));
        for _ in 0..options.sessions.max(1) {
            let session = Session::builder(runtime.environment)
                .and_then(|b| b.with_optimization_level(GraphOptimizationLevel::Level3).map_err(Into::into))
                .and_then(|b| b.with_intra_threads(options.intra_threads.max(1)).map_err(Into::into))
                .and_then(|mut b| b.commit_from_file(path))
                .map_err(|e| model_error(e.to_string()))?;
            sessions.push(session);
        }
        let input_shape = match sessions[0].inputs() {
            [input] => match input.dtype() {
                ValueType::Tensor { shape, .. } => shape.iter().copied().collect::<Vec<i64>>(),
                other => return Err(model_error(format!("input is {other:?}, expected a float tensor"))),
            },
            inputs => return Err(model_error(format!("has {} inputs, expected 1", inputs.len()))),
        };
        let compatible = input_shape.len() == expected_input.len()
            && input_shape.iter().zip(expected_input).all(|(&got, &want)| want == -1 || got == want);
        if !compatible {
            return Err(model_error(format!(
                "input shape is {input_shape:?}, expected {expected_input:?}: not the model this stage needs"
            )));
        }
        Ok(OnnxModel {
            id: id.to_string(),
            sessions: sessions.into_iter().map(Mutex::new).collect(),
            input_shape,
            inference_ns: AtomicU64::new(0),
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The input shape the model declares (`-1` where it varies).
    pub fn input_shape(&self) -> &[i64] {
        &self.input_shape
    }

    /// Total time spent in ONNX Runtime by this model so far.
    pub fn inference_time(&self) -> Duration {
        Duration::from_nanos(self.inference_ns.load(Ordering::Relaxed))
    }

    /// Runs the model on one float tensor and returns every output, in the model's order.
    pub fn run(&self, shape: &[usize], data: Vec<f32>) -> Result<Vec<Output>> {
        let inference_error = |reason: String| Error::Inference { id: self.id.clone(), reason };
        let tensor = Tensor::from_array((shape.to_vec(), data)).map_err(|e| inference_error(e.to_string()))?;
        let mut session = self.free_session()?;
        let started = Instant::now();
        let outputs = session.run(ort::inputs![tensor]).map_err(|e| inference_error(e.to_string()))?;
        self.inference_ns.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        let mut copied = Vec::with_capacity(outputs.len());
        for (_, value) in outputs.iter() {
            let (shape, data) = value.try_extract_tensor::<f32>().map_err(|e| inference_error(e.to_string()))?;
            copied.push(Output { shape: shape.iter().map(|&d| d.max(0) as usize).collect(), data: data.to_vec() });
        }
        Ok(copied)
    }

    /// A session nobody is using, or (all busy) the first one, waited for.
    fn free_session(&self) -> Result<std::sync::MutexGuard<'_, Session>> {
        for session in &self.sessions {
            if let Ok(guard) = session.try_lock() {
                return Ok(guard);
            }
        }
        self.sessions[0].lock().map_err(|_| Error::Inference { id: self.id.clone(), reason: "a previous inference panicked".to_string() })
    }
}
