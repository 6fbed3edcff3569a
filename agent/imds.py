"""Azure Instance Metadata Service: identity tokens, scheduled events, this VM's own metadata.

The base URL is configurable: http://169.254.169.254 on Azure, the simulator's per-VM prefix
(`http://127.0.0.1:PORT/vms/<computerName>`) locally; the paths below are IMDS's own.
"""
from __future__ import annotations

import time
import urllib.parse
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from agent import httpjson
from agent.backoff import IMDS_RETRYABLE, retry
from agent.httpjson import Reply
from agent.log import Redactor

EVENTS_API = "2020-07-01"
TOKEN_API = "2018-02-01"
INSTANCE_API = "2021-02-01"
ATTESTED_API = "2021-02-01"
REFRESH_BEFORE_S = 300.0


class ImdsError(Exception):
    """IMDS answered, but not with what we asked for."""


@dataclass(frozen=True)
class Token:
    value: str
    expires_on: float


class Imds:
    def __init__(self, base_url: str, timeout: float = 2.0, http: Callable[..., Reply] = httpjson.call):
        self.base_url, self.timeout, self.http = base_url.rstrip("/"), timeout, http

    def get(self, path: str, query: dict, timeout: float | None = None) -> Reply:
        url = "%s%s?%s" % (self.base_url, path, urllib.parse.urlencode(query))
        return self.http("GET", url, headers={"Metadata": "true"}, timeout=timeout or self.timeout, proxy=False)

    def scheduled_events(self, timeout: float | None = None) -> dict:
        reply = self.get("/metadata/scheduledevents", {"api-version": EVENTS_API}, timeout)
        return _json_object(reply, "scheduled events")

    def acknowledge(self, event_ids: Iterable[str], timeout: float | None = None) -> None:
        url = "%s/metadata/scheduledevents?api-version=%s" % (self.base_url, EVENTS_API)
        body = {"StartRequests": [{"EventId": event_id} for event_id in event_ids]}
        reply = self.http("POST", url, headers={"Metadata": "true"}, body=body,
                          timeout=timeout or self.timeout, proxy=False)
        if not reply.ok:
            raise ImdsError("acknowledging scheduled events: %s" % reply.error())

    def compute(self) -> dict:
        """This VM's compute metadata: name (the scheduled-events resource name), vmId, osProfile..."""
        return _json_object(self.get("/metadata/instance/compute", {"api-version": INSTANCE_API}), "compute metadata")

    def private_ip(self) -> str:
        path = "/metadata/instance/network/interface/0/ipv4/ipAddress/0/privateIpAddress"
        reply = self.get(path, {"api-version": INSTANCE_API, "format": "text"})
        if not reply.ok or not reply.body.strip():
            raise ImdsError("private IP address: %s" % reply.error())
        return reply.body.decode().strip()

    def attested(self, nonce: str) -> dict:
        """IMDS's attested document for `nonce`: {"encoding": "pkcs7", "signature": base64 SignedData}."""
        reply = self.get("/metadata/attested/document", {"api-version": ATTESTED_API, "nonce": nonce},
                         timeout=max(self.timeout, 5.0))
        data = _json_object(reply, "attested document")
        if not isinstance(data.get("signature"), str) or not data["signature"]:
            raise ImdsError("attested document: no signature in the answer")
        return {"encoding": data.get("encoding", "pkcs7"), "signature": data["signature"]}

    def token(self, resource: str, client_id: str = "") -> Reply:
        query = {"api-version": TOKEN_API, "resource": resource}
        if client_id:
            query["client_id"] = client_id
        return self.get("/metadata/identity/oauth2/token", query, timeout=max(self.timeout, 5.0))


class TokenSource:
    """Managed-identity access tokens per resource, cached until five minutes before expiry."""

    def __init__(self, imds: Imds, client_id: str, redactor: Redactor, *, clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep, rand: Callable[[], float] = lambda: 0.5,
                 budget: float = 60.0):
        self.imds, self.client_id, self.redactor = imds, client_id, redactor
        self.clock, self.sleep, self.rand, self.budget = clock, sleep, rand, budget
        self._cache: dict[str, Token] = {}

    def get(self, resource: str) -> str:
        cached = self._cache.get(resource)
        if cached and cached.expires_on - REFRESH_BEFORE_S > self.clock():
            return cached.value
        reply = retry(lambda: self.imds.token(resource, self.client_id), what="identity token from IMDS",
                      budget=self.budget, clock=self.clock, sleep=self.sleep, rand=self.rand,
                      retryable=IMDS_RETRYABLE)
        data = _json_object(reply, "identity token")
        value = data.get("access_token")
        if not isinstance(value, str) or not value:
            raise ImdsError("identity token: no access_token in the answer")
        self.redactor.add(value)
        try:
            expires_on = float(data.get("expires_on") or 0)
        except (TypeError, ValueError):
            expires_on = 0.0
        if expires_on <= self.clock():
            expires_on = self.clock() + _int(data.get("expires_in"), 3600)
        self._cache[resource] = Token(value, expires_on)
        return value

    def forget(self, resource: str) -> None:
        self._cache.pop(resource, None)


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _json_object(reply: Reply, what: str) -> dict:
    if not reply.ok:
        raise ImdsError("%s: %s" % (what, reply.error()))
    try:
        data = reply.json()
    except ValueError:
        raise ImdsError("%s: answer is not JSON" % what) from None
    if not isinstance(data, dict):
        raise ImdsError("%s: answer is not a JSON object" % what)
    return data
