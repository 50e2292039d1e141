"""Transom itself in the image: a wheel built from this checkout, in a venv with its locked dependencies.

The dependency list is `uv export` from uv.lock (exact versions, with hashes), so the image
runs what the tests ran. uv does the installing inside the chroot, with the host's uv cache
bind-mounted: a rebuild installs from the cache and fetches nothing (PyPI only when a
wheel is new). The venv uses Debian's /usr/bin/python3 (3.11 on bookworm).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from image.chroot import in_root, run
from image.errors import ImageBuildFailed
from image.layout import VENV

# Debian's CA bundle on the host (uv in the chroot checks PyPI's certificate against it).
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


def project_root() -> Path:
    """The checkout this builder belongs to (the folder holding pyproject.toml and uv.lock)."""
    root = Path(__file__).resolve().parents[1]
    if not (root / "pyproject.toml").is_file() or not (root / "uv.lock").is_file():
        raise ImageBuildFailed(f"{root} is not a Transom checkout (no pyproject.toml and uv.lock)")
    return root


def find_uv() -> Path:
    """The uv binary: $TRANSOM_UV, the project's .tools/bin/uv, the venv's, or the one on PATH."""
    candidates = [os.environ.get("TRANSOM_UV", ""), str(project_root() / ".tools/bin/uv")]
    candidates += [str(Path(sys.prefix) / "bin/uv"), shutil.which("uv") or ""]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise ImageBuildFailed("uv not found: run `make venv` (it installs .tools/bin/uv)")


def uv_cache_dir(uv: Path) -> Path:
    """The host's uv cache directory."""
    found = subprocess.run([str(uv), "cache", "dir"], capture_output=True, text=True, check=False)
    return Path(found.stdout.strip() or Path.home() / ".cache/uv")


def build_wheel(work: Path, log: Path) -> Path:
    """Build Transom's wheel from the checkout into `work/dist`; its path."""
    uv = find_uv()
    dist = work / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    run([str(uv), "build", "--wheel", "--out-dir", str(dist), str(project_root())], log=log)
    wheels = sorted(dist.glob("transom-*.whl"))
    if not wheels:
        raise ImageBuildFailed(f"uv build made no wheel; see {log}")
    return wheels[-1]


def export_requirements(work: Path, log: Path) -> Path:
    """uv.lock's runtime dependencies as a hashed requirements file."""
    uv = find_uv()
    target = work / "requirements.txt"
    run(
        [
            str(uv),
            "export",
            "--frozen",
            "--no-dev",
            "--no-emit-project",
            "--format",
            "requirements-txt",
            "--project",
            str(project_root()),
            "--output-file",
            str(target),
        ],
        log=log,
        env={"UV_PYTHON_DOWNLOADS": "never"},
    )
    return target


@contextmanager
def _bound(source: Path, target: Path, log: Path) -> Iterator[None]:
    target.mkdir(parents=True, exist_ok=True)
    run(["mount", "--bind", str(source), str(target)], log=log)
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def install(root: Path, wheel: Path, requirements: Path, log: Path) -> None:
    """Make VENV in `root` and install the locked dependencies, then the wheel (call inside `mounted`)."""
    uv = find_uv()
    stage = root / "tmp/transom-install"
    stage.mkdir(parents=True, exist_ok=True)
    shutil.copy2(uv, stage / "uv")
    shutil.copy2(wheel, stage / wheel.name)
    shutil.copy2(requirements, stage / "requirements.txt")
    cache = uv_cache_dir(uv)
    cache.mkdir(parents=True, exist_ok=True)
    inside = "/tmp/transom-install"
    # The host's resolver and CA bundle, for the wheels the cache lacks (the chroot has neither).
    for host_file, name in ((Path("/etc/resolv.conf"), "resolv.conf"), (Path(CA_BUNDLE), "ca.crt")):
        if host_file.exists():
            shutil.copy2(host_file, stage / name)
    resolv = root / "etc/resolv.conf"
    resolv.unlink(missing_ok=True)
    if (stage / "resolv.conf").exists():
        shutil.copy2(stage / "resolv.conf", resolv)
    env = ["env", f"UV_CACHE_DIR={inside}/cache", "UV_PYTHON_DOWNLOADS=never", "UV_LINK_MODE=copy"]
    if (stage / "ca.crt").exists():
        env.append(f"SSL_CERT_FILE={inside}/ca.crt")
    # Bytecode compiled now: the root is read-mostly, and a driver host on a slow PC must start quickly.
    pip = [*env, f"{inside}/uv", "pip", "install", "--compile-bytecode", "--python", f"{VENV}/bin/python"]
    try:
        with _bound(cache, stage / "cache", log):
            in_root(root, [*env, f"{inside}/uv", "venv", "--python", "/usr/bin/python3", VENV], log=log)
            try:  # everything from the cache when it has it: no network at all
                in_root(root, [*pip, "--offline", "-r", f"{inside}/requirements.txt"], log=log)
            except ImageBuildFailed:
                in_root(root, [*pip, "-r", f"{inside}/requirements.txt"], log=log)
            in_root(
                root,
                [
                    *env,
                    f"{inside}/uv",
                    "pip",
                    "install",
                    "--python",
                    f"{VENV}/bin/python",
                    "--no-deps",
                    "--compile-bytecode",
                    f"{inside}/{wheel.name}",
                ],
                log=log,
            )
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    (root / "usr/local/bin").mkdir(parents=True, exist_ok=True)
    link = root / "usr/local/bin/transom"
    link.unlink(missing_ok=True)
    link.symlink_to(f"{VENV}/bin/transom")
