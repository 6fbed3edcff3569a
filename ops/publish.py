"""`tasks.py publish`: zip the app as .funcignore says and deploy it through the app's one-deploy
endpoint (`POST /api/publish?RemoteBuild=true` on the scm host), then poll the deployment id it
returns. Flex Consumption answers 200 even for a failed deployment: success is read from the body.
"""
from __future__ import annotations

import fnmatch
import io
import os
import time
import zipfile
from pathlib import Path

import requests

from ops.config import ROOT
from ops.errors import OpsError

STATUS = {0: "Pending", 1: "Building", 2: "Deploying", 3: "Failed", 4: "Success", 5: "PartialSuccess"}


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
            archive.writestr(info, (root / name).read_bytes())
    return buffer.getvalue(), names


def publish(scm_url: str, token: str, archive: bytes, *, verify=True, interval: float = 3.0,
            timeout: float = 900.0, say=print) -> dict:
    headers = {"Authorization": f"Bearer {token}"}
    say(f"uploading {len(archive)} bytes to {scm_url}/api/publish (remote build)")
    reply = requests.post(f"{scm_url}/api/publish", params={"RemoteBuild": "true", "Deployer": "tasks.py"},
                          data=archive, headers={**headers, "Content-Type": "application/zip"}, verify=verify,
                          timeout=300)
    if reply.status_code >= 400:
        raise OpsError(f"publish refused: HTTP {reply.status_code} {reply.text[:200]}")
    deployment = reply.text.strip().strip('"') or reply.headers.get("Location", "").rsplit("/", 1)[-1]
    if not deployment:
        raise OpsError("publish answered without a deployment id")
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        body = requests.get(f"{scm_url}/api/deployments/{deployment}", headers=headers, verify=verify,
                            timeout=60).json()
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
