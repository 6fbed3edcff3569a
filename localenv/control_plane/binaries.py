"""The real control plane's binaries: built from the official Go modules into .tools/, once.

tools/kube-control-plane/go.mod pins k8s.io/kubernetes (kube-apiserver, kube-controller-manager,
kube-scheduler) and tools/kube-control-plane/kine/go.mod pins kine, each with its go.sum. A build
is stamped with the digest of those files, so it is redone only when a pin changes; Go's build
cache makes a rebuild take a fraction of the first (which compiles ~3,000 packages). Where Go is
missing (or older than the modules' go line), `missing()` says why and the tier that needs them
is skipped: nothing else needs Go. A failed build raises BuildError with the compiler's last lines.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "tools" / "kube-control-plane"
TARGET = ROOT / ".tools" / "kube-control-plane"
KUBE_COMMANDS = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")
BINARIES = (*KUBE_COMMANDS, "kine")
STAMP = TARGET / ".source.sha256"
PROGRESS_EVERY_S = 30.0
# Upstream's release builds are static and stripped (hack/lib/golang.sh); kine is pure Go without cgo.
BUILD_ENV = {"CGO_ENABLED": "0", "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=readonly"}


class BuildError(RuntimeError):
    pass


def kubernetes_version() -> str:
    """The k8s.io/kubernetes release go.mod requires, e.g. v1.37.2."""
    found = re.search(r"^\s*(?:require\s+)?k8s\.io/kubernetes\s+(v\S+)", (SOURCE / "go.mod").read_text(), re.M)
    return found.group(1) if found else "unknown"


def path(name: str) -> Path:
    return TARGET / name


def _source_digest() -> str:
    digest = hashlib.sha256()
    for module in (SOURCE, SOURCE / "kine"):
        for name in ("go.mod", "go.sum"):
            digest.update((module / name).read_bytes())
    return digest.hexdigest()


def built() -> bool:
    return all(path(b).exists() for b in BINARIES) and STAMP.exists() and STAMP.read_text() == _source_digest()


def _go_too_old() -> str:
    """Why the installed Go cannot build the pinned modules ("" when it can)."""
    if shutil.which("go") is None:
        return ("Go is not installed: the real control plane is built from the official Go modules "
                "(see docs/development.md)")
    wanted = re.search(r"^go (\d+)\.(\d+)", (SOURCE / "go.mod").read_text(), re.M)
    found = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True).stdout.strip()
    have = re.match(r"go(\d+)\.(\d+)", found)
    if wanted and have and tuple(map(int, have.groups())) < tuple(map(int, wanted.groups())):
        return f"Go {wanted.group(1)}.{wanted.group(2)} or newer is needed to build the control plane (found {found})"
    return ""


def missing() -> str:
    """Why the control plane cannot run here ("" when it can)."""
    if built():
        return ""
    return _go_too_old() or "the control plane is not built yet: run `python3 tasks.py build-control-plane`"


def _ldflags(version: str) -> str:
    """Stamp the version as hack/lib/version.sh does, so /version and kubectl see the release."""
    major, minor = version.lstrip("v").split(".")[:2]
    flags = ["-s", "-w"]
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [f"-X {package}.gitVersion={version}", f"-X {package}.gitMajor={major}",
                  f"-X {package}.gitMinor={minor}", f"-X {package}.gitTreeState=clean"]
    return " ".join(flags)


def _go_build(module: Path, out: Path, packages: list[str], ldflags: str, say: Callable[[str], None]) -> None:
    """`go build -v` (one line per package compiled), summarised every PROGRESS_EVERY_S seconds."""
    cmd = ["go", "build", "-v", "-trimpath", "-ldflags", ldflags, "-o", str(out) + os.sep, *packages]
    proc = subprocess.Popen(cmd, cwd=module, env={**os.environ, **BUILD_ENV}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    done = threading.Event()

    def report() -> None:
        start = time.monotonic()
        while not done.wait(PROGRESS_EVERY_S):
            say(f"  ... {time.monotonic() - start:.0f} s: {len(lines)} packages compiled (cached ones are not)")
    threading.Thread(target=report, daemon=True).start()
    try:
        for line in proc.stdout:
            lines.append(line.rstrip())
    finally:
        done.set()
    if proc.wait() != 0:
        errors = [ln for ln in lines if not re.fullmatch(r"[\w./~-]+", ln)] or lines
        raise BuildError(f"go build in {module.relative_to(ROOT)} failed:\n" + "\n".join(errors[-30:]))


def build(say: Callable[[str], None]) -> str:
    """Build what is missing or stale; returns "" when built, or why it could not be (Go missing)."""
    if built():
        return ""
    if reason := _go_too_old():
        return reason
    version = kubernetes_version()
    partial = TARGET / ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    started = time.monotonic()
    say(f"building {', '.join(KUBE_COMMANDS)} {version} and kine from the Go modules in "
        f"{SOURCE.relative_to(ROOT)} into {TARGET.relative_to(ROOT)} (first build: tens of minutes on 2 cores; "
        "later ones use Go's build cache)")
    _go_build(SOURCE, partial, [f"k8s.io/kubernetes/cmd/{c}" for c in KUBE_COMMANDS], _ldflags(version), say)
    say(f"  kubernetes built in {(time.monotonic() - started) / 60:.1f} min; building kine")
    _go_build(SOURCE / "kine", partial, ["github.com/k3s-io/kine"], "-s -w", say)
    for name in BINARIES:
        os.replace(partial / name, path(name))
    partial.rmdir()
    STAMP.write_text(_source_digest())
    say(f"control plane built in {(time.monotonic() - started) / 60:.1f} min")
    return ""
