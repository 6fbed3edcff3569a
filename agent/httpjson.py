"""The one HTTP primitive: JSON over urllib, an HTTP status is a value, a network failure raises.

IMDS must never go through a proxy (Azure refuses proxied metadata requests), so callers choose
whether the environment's proxy settings apply. Redirects are not followed for non-GET calls.
"""
from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Mapping

_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_PROXIED = urllib.request.build_opener()
MAX_BODY = 1 << 20


class Unreachable(Exception):
    """The peer could not be reached or did not answer in time (connection refused, DNS, timeout)."""


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body as JSON; {} for an empty body; ValueError for anything else that is not JSON."""
        if not self.body.strip():
            return {}
        return json.loads(self.body.decode("utf-8"))

    def data(self) -> Any:
        """Like json(), but {} when the body is not JSON."""
        try:
            return self.json()
        except ValueError:
            return {}

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None

    def error(self) -> str:
        """`code: message` from our API's error JSON, or the status line for anything else."""
        try:
            data = self.json()
        except ValueError:
            data = None
        if isinstance(data, dict) and ("error" in data or "message" in data):
            return "%s (%s): %s" % (self.status, data.get("error", "?"), data.get("message", ""))
        if isinstance(data, dict) and isinstance(data.get("error_description"), str):
            return "%s: %s" % (self.status, data["error_description"])
        return "HTTP %s" % self.status


def call(method: str, url: str, *, headers: Mapping[str, str] | None = None, body: Any = None,
         timeout: float = 5.0, proxy: bool = True) -> Reply:
    """One request. Returns every HTTP status as a Reply; raises Unreachable on network failure."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url, data=data, method=method)
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    opener = _PROXIED if proxy else _DIRECT
    try:
        with opener.open(request, timeout=max(timeout, 0.05)) as response:
            return Reply(response.status, response.read(MAX_BODY), dict(response.headers.items()))
    except urllib.error.HTTPError as err:
        try:
            payload = err.read(MAX_BODY)
        except OSError:
            payload = b""
        return Reply(err.code, payload, dict(err.headers.items()) if err.headers else {})
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise Unreachable("%s %s: %s" % (method, _without_query(url), reason)) from None


def _without_query(url: str) -> str:
    return url.split("?", 1)[0]
