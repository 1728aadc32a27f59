#!/usr/bin/env python3
"""Compare boardcheck's lane latency with the `face_recognition` Python library (dlib) on the same frames.

What it measures
----------------
For the first N frames of a source (a video file or an image folder, as `boardcheck bench
--source` takes), one frame at a time on one thread:

* face_recognition, the way a lane would use it: `face_locations(frame, model="hog")`, then
  `face_encodings(frame, locations)` for the faces found — detection, 5-point landmarks,
  alignment and the 128-d ResNet embedding. That is comparable to boardcheck's
  detect → assess → embed, without liveness (face_recognition has none). The timer covers
  those two calls only; decoding the frame (OpenCV, or Pillow for a folder without OpenCV)
  is outside it.
* boardcheck: `target/release/boardcheck bench --source SRC --frames N --threads 1 --json`
  on the same source, whose JSON gives the end-to-end latency (`e2e`, capture → decision),
  the frames per second the pipeline completed, the per-stage latencies and the floor (raw
  detector + embedder inference, frame by frame).

It prints one JSON object: both sides' p50/p95/p99 ms per frame and fps, and the ratios
face_recognition p50 / boardcheck e2e p50 (how many times slower per frame) and
boardcheck fps / face_recognition fps (how many times more frames per second), with the
dlib version and build flags, and the load averages at the time (benchmarks on a shared
machine are only as good as its load).

Fairness notes, also recorded in the output:

* OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS and VECLIB_MAXIMUM_THREADS are set
  to 1 (unless already set) before numpy and dlib load, so dlib's BLAS, if it has one, uses
  one thread like boardcheck's `--threads 1`. The CPU time / wall time of each side is
  reported so any extra thread shows, and face_recognition's per-frame CPU time of the
  timed calls (`cpu_p50_ms`) beside its wall time, which other load on the machine inflates.
* boardcheck's `--threads 1` is one ONNX Runtime thread per inference, but the lane
  pipeline runs its stages on their own threads and drops stale frames (latest frame wins,
  as with a live camera), so its `e2e` percentiles cover the frames it processed
  (`frames - dropped`), and its fps is those frames over the wall time. face_recognition
  runs every frame, in order, with nothing overlapped.
* No warm-up on either side: each side's first frame is in its figures.
* The `dlib-bin` wheel is built without BLAS (`dlib_use_blas: false` in the output), so its
  ResNet embedding is slower than that of a `pip install dlib` built against OpenBLAS; its
  HOG detector is not affected.

Installing the dependencies (once, outside CI — this script is not part of CI)
------------------------------------------------------------------------------
Use a virtual environment outside the checkout. The prebuilt dlib wheel (`dlib-bin`) takes
about a minute; `pip install dlib` instead builds dlib from source (~25 min, needs cmake and
a C++ compiler). face_recognition is installed with --no-deps so that pip does not pull
`dlib` (the source build) in beside `dlib-bin`:

    python3 -m venv ~/.cache/boardcheck/fr-venv
    ~/.cache/boardcheck/fr-venv/bin/pip install dlib-bin
    ~/.cache/boardcheck/fr-venv/bin/pip install --no-deps face_recognition face_recognition_models
    ~/.cache/boardcheck/fr-venv/bin/pip install Click numpy Pillow opencv-python-headless

and build boardcheck: `cargo build --release`.

Usage
-----
    ~/.cache/boardcheck/fr-venv/bin/python scripts/compare_face_recognition.py \\
        --source fixtures/generated/demo-v3/lane1.avi --frames 435 [--runs 2] \\
        [--boardcheck target/release/boardcheck] [--upsample 1] [--bench-arg=--no-liveness]

With --runs R > 1 both sides are measured R times, alternating, and the summary is the
median of the runs.
"""

import os

# Before numpy, OpenCV or dlib load: one BLAS/OpenMP thread, like boardcheck's --threads 1.
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
for _var in THREAD_VARS:
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import importlib.metadata  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BOARDCHECK = ROOT / "target" / "release" / "boardcheck"
# The extensions boardcheck's image-folder source reads, in file-name order.
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
INSTALL_HINT = (
    "install it once in a venv outside the checkout (see the top of this script):\n"
    "  python3 -m venv ~/.cache/boardcheck/fr-venv\n"
    "  ~/.cache/boardcheck/fr-venv/bin/pip install dlib-bin\n"
    "  ~/.cache/boardcheck/fr-venv/bin/pip install --no-deps face_recognition face_recognition_models\n"
    "  ~/.cache/boardcheck/fr-venv/bin/pip install Click numpy Pillow opencv-python-headless\n"
    "then run this script with ~/.cache/boardcheck/fr-venv/bin/python"
)

try:
    import numpy as np
    import dlib
    import face_recognition
except ImportError as e:
    sys.exit(f"compare_face_recognition: cannot import {e.name or e}: {INSTALL_HINT}")

try:
    import cv2
except ImportError:
    cv2 = None


def package_version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def percentile(sorted_samples, q):
    """Nearest-rank percentile, the same rule as boardcheck's `pipeline::stats::percentile`."""
    if not sorted_samples:
        return 0.0
    rank = min(max(math.ceil(q * len(sorted_samples)), 1), len(sorted_samples))
    return sorted_samples[rank - 1]


def summary(samples_ms):
    s = sorted(samples_ms)
    return {"p50_ms": percentile(s, 0.5), "p95_ms": percentile(s, 0.95), "p99_ms": percentile(s, 0.99)}


def frames_of(source, limit):
    """Yields up to `limit` RGB uint8 frames of a video file or an image folder, in order."""
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
        if not files:
            sys.exit(f"compare_face_recognition: no image files in {source}")
        for f in files[:limit]:
            if cv2 is not None:
                bgr = cv2.imread(str(f), cv2.IMREAD_COLOR)
                if bgr is None:  # boardcheck skips undecodable files too
                    continue
                yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            else:
                from PIL import Image

                with Image.open(f) as im:
                    yield np.asarray(im.convert("RGB"))
        return
    if not path.is_file():
        sys.exit(f"compare_face_recognition: no such file or folder: {source}")
    if cv2 is None:
        sys.exit("compare_face_recognition: reading a video needs OpenCV: pip install opencv-python-headless")
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)  # the backend boardcheck uses for files
    if not capture.isOpened():
        sys.exit(f"compare_face_recognition: OpenCV cannot open {source}")
    try:
        n = 0
        while n < limit:
            ok, bgr = capture.read()
            if not ok:
                break
            n += 1
            yield cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    finally:
        capture.release()


def threads_now():
    """Threads of this process (Linux), to show whether dlib started any."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def run_face_recognition(source, frames, upsample):
    """face_locations (HOG) + face_encodings per frame; times only those calls."""
    total, detect, encode, cpu_ms, faces, max_threads = [], [], [], [], 0, threads_now() or 0
    height = width = None
    load_before = os.getloadavg()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for rgb in frames_of(source, frames):
        height, width = rgb.shape[:2]
        c0, t0 = time.thread_time(), time.perf_counter()
        locations = face_recognition.face_locations(rgb, number_of_times_to_upsample=upsample, model="hog")
        t1 = time.perf_counter()
        if locations:
            face_recognition.face_encodings(rgb, locations)
        t2, c2 = time.perf_counter(), time.thread_time()
        total.append((t2 - t0) * 1000.0)
        detect.append((t1 - t0) * 1000.0)
        cpu_ms.append((c2 - c0) * 1000.0)
        if locations:
            encode.append((t2 - t1) * 1000.0)
        faces += len(locations)
        max_threads = max(max_threads, threads_now() or 0)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    if not total:
        sys.exit(f"compare_face_recognition: no frames read from {source}")
    timed_s = sum(total) / 1000.0
    return {
        "frames": len(total),
        "frame_size": [width, height],
        "frames_with_faces": len(encode),
        "faces": faces,
        **summary(total),
        # Frames per second of the timed calls, one frame after another.
        "fps": len(total) / timed_s,
        "detect_p50_ms": summary(detect)["p50_ms"],
        # face_encodings (landmarks + alignment + embedding of every face) on frames with faces.
        "encode_p50_ms": summary(encode)["p50_ms"] if encode else None,
        # CPU time of this thread in the timed calls: less sensitive to other load than wall time.
        "cpu_p50_ms": summary(cpu_ms)["p50_ms"],
        # Includes decoding; above 1.0 means more than one core was busy.
        "cpu_over_wall": cpu / wall,
        "max_threads_seen": max_threads,
        "load_avg_before": [round(x, 2) for x in load_before],
        "load_avg_after": [round(x, 2) for x in os.getloadavg()],
    }


def run_boardcheck(binary, source, frames, extra_args):
    cmd = [str(binary), "bench", "--source", str(source), "--frames", str(frames), "--threads", "1", "--json", *extra_args]
    load_before = os.getloadavg()
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - wall0
    children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"compare_face_recognition: {' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")
    json_lines = [line for line in done.stdout.splitlines() if line.lstrip().startswith("{")]
    if not json_lines:
        sys.exit(f"compare_face_recognition: no JSON from {' '.join(cmd)}:\n{done.stdout}\n{done.stderr}")
    report = json.loads(json_lines[-1])
    cpu = (children1.ru_utime - children0.ru_utime) + (children1.ru_stime - children0.ru_stime)
    return {
        "command": " ".join(cmd),
        "frames": report["frames"],
        "dropped": report["dropped"],
        "processed": report["frames"] - report["dropped"],
        "e2e": report["e2e"],
        "fps": report["fps"],
        "stages": report["stages"],
        "floor": report["floor"],
        "threads": report.get("threads"),
        # The whole process: model loading, the pipeline and the floor pass.
        "process_wall_s": wall,
        "process_cpu_over_wall": cpu / wall if wall > 0 else None,
        "load_avg_before": [round(x, 2) for x in load_before],
        "load_avg_after": [round(x, 2) for x in os.getloadavg()],
    }


def ratios(fr, bc):
    return {
        "latency_p50_fr_over_boardcheck_e2e": fr["p50_ms"] / bc["e2e"]["p50_ms"],
        "latency_p95_fr_over_boardcheck_e2e": fr["p95_ms"] / bc["e2e"]["p95_ms"],
        "throughput_boardcheck_fps_over_fr_fps": bc["fps"] / fr["fps"],
        "fr_p50_over_boardcheck_floor_p50": fr["p50_ms"] / bc["floor"]["p50_ms"],
    }


def median_of(values):
    return statistics.median(values)


def main():
    parser = argparse.ArgumentParser(
        description="Time face_recognition (dlib HOG + ResNet) against `boardcheck bench` on the same frames.",
    )
    parser.add_argument("--source", required=True, help="a video file or an image folder (as boardcheck bench --source)")
    parser.add_argument("--frames", type=int, required=True, help="the first N frames of the source")
    parser.add_argument("--runs", type=int, default=1, help="measure both sides this many times, alternating (default 1)")
    parser.add_argument("--boardcheck", default=str(DEFAULT_BOARDCHECK), help="the boardcheck binary (default target/release/boardcheck)")
    parser.add_argument("--upsample", type=int, default=1, help="face_locations number_of_times_to_upsample (default 1, the library's)")
    parser.add_argument(
        "--bench-arg", action="append", default=[], metavar="ARG",
        help="an extra argument for boardcheck bench, e.g. --bench-arg=--no-liveness (repeatable)",
    )
    args = parser.parse_args()
    if args.frames < 1 or args.runs < 1:
        parser.error("--frames and --runs must be at least 1")
    binary = Path(args.boardcheck)
    if not binary.is_file():
        sys.exit(f"compare_face_recognition: no boardcheck binary at {binary}: cargo build --release")
    source = Path(args.source).resolve()

    runs = []
    for i in range(args.runs):
        fr = run_face_recognition(source, args.frames, args.upsample)
        bc = run_boardcheck(binary, source, args.frames, args.bench_arg)
        runs.append({"run": i + 1, "face_recognition": fr, "boardcheck": bc, "ratio": ratios(fr, bc)})
        print(f"run {i + 1}/{args.runs}: face_recognition p50 {fr['p50_ms']:.1f} ms, boardcheck e2e p50 "
              f"{bc['e2e']['p50_ms']:.1f} ms, ratio {runs[-1]['ratio']['latency_p50_fr_over_boardcheck_e2e']:.2f}",
              file=sys.stderr)

    def med(side, key, sub=None):
        return median_of([(r[side][key][sub] if sub else r[side][key]) for r in runs])

    result = {
        "source": str(args.source),
        "frames_requested": args.frames,
        "runs": args.runs,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "face_recognition_setup": {
            "face_recognition": package_version("face_recognition"),
            "face_recognition_models": package_version("face_recognition_models"),
            "dlib_package": "dlib-bin" if package_version("dlib-bin") else "dlib",
            "dlib": dlib.__version__,
            "dlib_use_blas": bool(getattr(dlib, "DLIB_USE_BLAS", False)),
            "dlib_use_avx": bool(getattr(dlib, "USE_AVX_INSTRUCTIONS", False)),
            "dlib_use_cuda": bool(getattr(dlib, "DLIB_USE_CUDA", False)),
            "opencv": cv2.__version__ if cv2 is not None else None,
            "calls": f"face_locations(frame, number_of_times_to_upsample={args.upsample}, model='hog'); "
                     "face_encodings(frame, locations) (model='small', num_jitters=1)",
            "thread_env": {v: os.environ.get(v) for v in THREAD_VARS},
        },
        "median": {
            "face_recognition": {
                "p50_ms": med("face_recognition", "p50_ms"),
                "p95_ms": med("face_recognition", "p95_ms"),
                "fps": med("face_recognition", "fps"),
                "cpu_p50_ms": med("face_recognition", "cpu_p50_ms"),
            },
            "boardcheck": {
                "e2e_p50_ms": med("boardcheck", "e2e", "p50_ms"),
                "e2e_p95_ms": med("boardcheck", "e2e", "p95_ms"),
                "fps": med("boardcheck", "fps"),
                "floor_p50_ms": med("boardcheck", "floor", "p50_ms"),
            },
            "ratio": {key: median_of([r["ratio"][key] for r in runs]) for key in runs[0]["ratio"]},
        },
        "per_run": runs,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
