"""App settings as the Functions host sees them: `local.settings.json` Values merged under the
process environment (the environment wins, as with Core Tools), `%NAME%` references in binding
values, and the dev host's own knobs (keys, body limit, thread count, state directory).
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path

_REFERENCE = re.compile(r"%([^%]+)%")
DEFAULT_BODY_LIMIT = 100 * 1024 * 1024  # the host's FUNCTIONS_REQUEST_BODY_SIZE_LIMIT default


class SettingsError(ValueError):
    pass


def load_local_settings(app_dir: Path, environ: MutableMapping[str, str] = os.environ) -> dict:
    """Copy `Values` into `environ` where not already set; returns the whole file (or {})."""
    path = Path(app_dir) / "local.settings.json"
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise SettingsError(f"{path}: invalid JSON ({err})") from None
    if data.get("IsEncrypted"):
        raise SettingsError(f"{path}: encrypted settings are not supported by the dev host")
    for name, value in (data.get("Values") or {}).items():
        environ.setdefault(name, "" if value is None else str(value))
    return data


def resolve(value: str, env: Mapping[str, str]) -> str:
    """Replace each `%NAME%` with the app setting NAME; a missing one is an error, as in the host."""
    def lookup(match: re.Match) -> str:
        name = match.group(1)
        if name not in env:
            raise SettingsError(f"'%{name}%' does not resolve to a value.")
        return env[name]
    return _REFERENCE.sub(lookup, value)


@dataclass(frozen=True)
class HostSettings:
    function_keys: tuple[str, ...]
    master_key: str | None
    body_limit: int
    threads: int
    state_dir: Path
    queue_lease_s: float

    @classmethod
    def from_env(cls, app_dir: Path, env: Mapping[str, str] = os.environ) -> HostSettings:
        try:
            threads = int(env.get("PYTHON_THREADPOOL_THREAD_COUNT") or 0) or min(32, (os.cpu_count() or 1) + 4)
            body_limit = int(env.get("FUNCTIONS_REQUEST_BODY_SIZE_LIMIT") or DEFAULT_BODY_LIMIT)
            lease = float(env.get("DEVHOST_QUEUE_LEASE") or 600)  # the host's 10-minute message lease
        except ValueError as err:
            raise SettingsError(f"invalid dev host setting: {err}") from None
        keys = tuple(k.strip() for k in (env.get("DEVHOST_FUNCTION_KEYS") or "").split(",") if k.strip())
        state = env.get("DEVHOST_STATE_DIR") or str(Path(app_dir) / ".run" / "devhost")
        return cls(function_keys=keys, master_key=env.get("DEVHOST_MASTER_KEY") or None, body_limit=body_limit,
                   threads=threads, state_dir=Path(state), queue_lease_s=max(lease, 2.0))
