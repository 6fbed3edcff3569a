"""host.json: the HTTP route prefix and the queue trigger options, with the real host's
defaults and limits, so the dev host polls, retries and poisons exactly as configured for Azure.
As in the real host, an app setting `AzureFunctionsJobHost__path__to__setting` overrides the
host.json value at that path (keys matched case-insensitively), e.g.
`AzureFunctionsJobHost__extensions__queues__visibilityTimeout=00:00:01`.
"""
from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

OVERRIDE_PREFIX = "AzureFunctionsJobHost__"
_TIMESPAN = re.compile(r"^(?:(\d+)\.)?(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,7}))?)?$")


class HostConfigError(ValueError):
    pass


def parse_timespan(text: str) -> float:
    """A .NET TimeSpan string ("[d.]hh:mm[:ss[.fffffff]]") in seconds."""
    match = _TIMESPAN.match(str(text).strip())
    if not match:
        raise HostConfigError(f"'{text}' is not a TimeSpan ([d.]hh:mm:ss)")
    days, hours, minutes, seconds, fraction = match.groups()
    return (int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + int(seconds or 0)
            + (int(fraction.ljust(7, "0")) / 1e7 if fraction else 0.0))


@dataclass(frozen=True)
class QueueOptions:
    batch_size: int = 16
    new_batch_threshold: int = 8
    max_polling_interval: float = 60.0
    visibility_timeout: float = 0.0
    max_dequeue_count: int = 5
    message_encoding: str = "base64"

    @classmethod
    def from_json(cls, raw: dict) -> QueueOptions:
        batch = int(raw.get("batchSize", 16))
        options = cls(
            batch_size=batch,
            new_batch_threshold=int(raw.get("newBatchThreshold", batch // 2)),
            max_polling_interval=parse_timespan(raw.get("maxPollingInterval", "00:01:00")),
            visibility_timeout=parse_timespan(raw.get("visibilityTimeout", "00:00:00")),
            max_dequeue_count=int(raw.get("maxDequeueCount", 5)),
            message_encoding=str(raw.get("messageEncoding", "base64")).lower(),
        )
        problems = [text for bad, text in (
            (not 1 <= options.batch_size <= 32, "batchSize must be 1..32"),
            (options.new_batch_threshold < 0, "newBatchThreshold must be >= 0"),
            (options.max_polling_interval < 0.1, "maxPollingInterval must be at least 00:00:00.1"),
            (options.max_dequeue_count < 1, "maxDequeueCount must be >= 1"),
            (options.message_encoding not in ("base64", "none"), "messageEncoding must be base64 or none"),
        ) if bad]
        if problems:
            raise HostConfigError("host.json extensions.queues: " + "; ".join(problems))
        return options


DEFAULT_FUNCTION_TIMEOUT_S = 30 * 60  # the Flex Consumption plan's default, as the app is deployed


def parse_function_timeout(raw: object) -> float | None:
    """host.json functionTimeout: a TimeSpan, or -1 for none (allowed on Flex Consumption); None: no limit."""
    if raw is None:
        return DEFAULT_FUNCTION_TIMEOUT_S
    if str(raw).strip() == "-1":
        return None
    seconds = parse_timespan(str(raw))
    if seconds < 1:
        raise HostConfigError(f"functionTimeout '{raw}' must be at least 00:00:01 (or -1 for none)")
    return seconds


@dataclass(frozen=True)
class HostConfig:
    route_prefix: str = "api"
    queues: QueueOptions = field(default_factory=QueueOptions)
    function_timeout_s: float | None = DEFAULT_FUNCTION_TIMEOUT_S

    @classmethod
    def load(cls, app_dir: Path, env: Mapping[str, str] = os.environ) -> HostConfig:
        path = Path(app_dir) / "host.json"
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            raise HostConfigError(f"{path} not found: not a function app directory") from None
        except json.JSONDecodeError as err:
            raise HostConfigError(f"{path}: invalid JSON ({err})") from None
        raw = with_overrides(raw, env)
        if str(raw.get("version")) != "2.0":
            raise HostConfigError(f"{path}: 'version' must be \"2.0\"")
        extensions = raw.get("extensions") or {}
        prefix = (extensions.get("http") or {}).get("routePrefix", "api")
        return cls(route_prefix=str(prefix).strip("/"), queues=QueueOptions.from_json(extensions.get("queues") or {}),
                   function_timeout_s=parse_function_timeout(raw.get("functionTimeout")))


def with_overrides(raw: dict, env: Mapping[str, str]) -> dict:
    """host.json with the `AzureFunctionsJobHost__a__b` app settings applied (the value is a string,
    as app settings are; the options above parse strings)."""
    out = json.loads(json.dumps(raw))
    for name, value in sorted(env.items()):
        if not name.startswith(OVERRIDE_PREFIX):
            continue
        *parents, leaf = name[len(OVERRIDE_PREFIX):].split("__")
        node = out
        for part in parents:
            key = next((k for k in node if k.lower() == part.lower()), part)
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        node[next((k for k in node if k.lower() == leaf.lower()), leaf)] = value
    return out
