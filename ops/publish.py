"""`tasks.py publish`: zip the app as .funcignore says (its requirements.txt: the hash-pinned lock)
and deploy it through the app's one-deploy endpoint (`POST /api/publish?RemoteBuild=true` on the
scm host), then poll the deployment id it returns. Flex Consumption answers 200 even for a failed
deployment: success is read from the body.

Right after deploy-compute the upload can fail while the app's new Storage Blob Data Owner
assignment propagates: the scm site answers 400 with a storage 403 (BlobUploadFailedException), and
the status endpoint can answer a proxy's non-JSON page. Both are retried, bounded, saying why.
Then the agents' function key (the host's default key, read through ARM) is written to the storage
group's Key Vault, where the VMs read it with their identities; it is never printed.
"""
from __future__ import annotations

import fnmatch
import io
import os
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import requests

from ops.config import ROOT
from ops.errors import OpsError

LOCK = "requirements.lock.txt"  # the deployed app's pins with hashes (tasks.py lock)
STATUS = {0: "Pending", 1: "Building", 2: "Deploying", 3: "Failed", 4: "Success", 5: "PartialSuccess"}
PROPAGATION_S = 600.0  # how long a fresh role assignment may take to reach the storage service
PROPAGATION_SIGNS = ("BlobUploadFailedException", "403", "AuthorizationPermissionMismatch", "AuthorizationFailure")


def ignored(relative: str, patterns: list[str]) -> bool:
    parts = relative.split("/")
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if "/" in pattern:
            if relative == pattern or relative.startswith(pattern + "/"):
                return True
        elif any(fnmatch.fnmatch(part, pattern) for part in parts):
            return True
    return False


def package(root: Path = ROOT) -> tuple[bytes, list[str]]:
    """The zip (deterministic order and times) and the paths it holds."""
    patterns = [line.strip() for line in (root / ".funcignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    names = []
    for folder, dirs, files in os.walk(root):
        base = Path(folder).relative_to(root).as_posix()
        prefix = "" if base == "." else base + "/"
        dirs[:] = sorted(d for d in dirs if not ignored(prefix + d, patterns))  # never walk into .venv
        names += [prefix + f for f in files if not ignored(prefix + f, patterns)]
    names.sort()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
            archive.writestr(info, _content(root, name))
    return buffer.getvalue(), names


def _content(root: Path, name: str) -> bytes:
    """The remote build installs requirements.txt: it gets the hash-pinned lock, so pip checks every
    file against its sha256 (the ranges stay in the repository's requirements.txt)."""
    if name == "requirements.txt" and (root / LOCK).exists():
        return (root / LOCK).read_bytes()
    return (root / name).read_bytes()


def propagating(status: int, text: str) -> bool:
    """The scm site's answer while the app's storage role is not yet effective: 400 wrapping a storage 403."""
    return status == 400 and any(sign in text for sign in PROPAGATION_SIGNS)


def upload(scm_url: str, headers: dict, archive: bytes, *, verify=True, wait: float = 30.0,
           budget: float = PROPAGATION_S, sleep: Callable[[float], None] = time.sleep,
           clock: Callable[[], float] = time.monotonic, say=print) -> str:
    """POST the zip; the deployment id. Retries the role-propagation 400 until `budget` is spent."""
    deadline = clock() + budget
    while True:
        reply = requests.post(f"{scm_url}/api/publish", params={"RemoteBuild": "true", "Deployer": "tasks.py"},
                              data=archive, headers={**headers, "Content-Type": "application/zip"}, verify=verify,
                              timeout=300)
        if not propagating(reply.status_code, reply.text) or clock() + wait > deadline:
            break
        say(f"the app's storage role is not effective yet (HTTP 400, storage 403: a new role assignment takes "
            f"minutes); retrying in {wait:.0f}s")
        sleep(wait)
    if reply.status_code >= 400:
        hint = (f"; still refused after {budget:.0f}s: check the app identity's Storage Blob Data Owner role"
                if propagating(reply.status_code, reply.text) else "")
        raise OpsError(f"publish refused: HTTP {reply.status_code} {reply.text[:200]}{hint}")
    deployment = reply.text.strip().strip('"') or reply.headers.get("Location", "").rsplit("/", 1)[-1]
    if not deployment:
        raise OpsError("publish answered without a deployment id")
    return deployment


def poll(scm_url: str, headers: dict, deployment: str, *, verify=True) -> dict | None:
    """One status read; None when the answer is not the status (a proxy's page, a 404 or 5xx while the
    scm site restarts): the caller polls again."""
    try:
        reply = requests.get(f"{scm_url}/api/deployments/{deployment}", headers=headers, verify=verify, timeout=60)
        body = reply.json() if reply.status_code == 200 else None
    except (requests.RequestException, ValueError):
        return None
    return body if isinstance(body, dict) else None


def publish(scm_url: str, token: str, archive: bytes, *, verify=True, interval: float = 3.0,
            timeout: float = 900.0, retry_wait: float = 30.0, say=print) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    say(f"uploading {len(archive)} bytes to {scm_url}/api/publish (remote build)")
    deployment = upload(scm_url, headers, archive, verify=verify, wait=retry_wait, say=say)
    deadline = time.monotonic() + timeout
    last, unreadable = None, 0
    while time.monotonic() < deadline:
        body = poll(scm_url, headers, deployment, verify=verify)
        if body is None:
            unreadable += 1
            if unreadable in (1, 10):
                say(f"deployment {deployment}: the status endpoint answered no status (the scm site restarting?); "
                    "polling on")
            time.sleep(interval)
            continue
        status = STATUS.get(body.get("status"), str(body.get("status")))
        if status != last:
            say(f"deployment {deployment}: {status} {body.get('status_text') or ''}".rstrip())
            last = status
        if body.get("complete") or status in ("Failed", "Success", "PartialSuccess"):
            if status != "Success":
                raise OpsError(f"deployment {deployment} {status}: {body.get('status_text') or 'see the build log'}")
            return body
        time.sleep(interval)
    raise OpsError(f"deployment {deployment} did not finish within {timeout:.0f}s")
