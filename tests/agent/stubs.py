"""Loopback HTTP stand-ins for IMDS and our API, for the helper's tests (stdlib servers).

They speak the wire formats the helper depends on; the integration pass replaces them with the
simulator's IMDS and the devhost. Nothing of the helper itself is mocked.
"""
from __future__ import annotations

import base64
import email.utils
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

IDENTITY_TOKEN = "eyJhbGciOiJSUzI1NiJ9.stub-identity-token-4f1c.c2lnbmF0dXJl"
FUNCTION_KEY = "stub-function-key-93be2a"
JOIN_TOKEN = "abcdef.0123456789abcdef"


@dataclass
class Seen:
    method: str
    path: str
    query: dict
    headers: dict
    body: object


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _serve(self):
        parts = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw
        query = dict(urllib.parse.parse_qsl(parts.query))
        status, headers, payload = self.server.app(self.command, parts.path, query, self.headers, body)
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _serve

    def log_message(self, *args):
        pass


class Stub:
    """A ThreadingHTTPServer on 127.0.0.1 serving `app(method, path, query, headers, body)`."""

    def __init__(self, app):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.app = app
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def rfc1123(epoch: float) -> str:
    return email.utils.formatdate(epoch, usegmt=True)


def event(event_id: str, resources, *, kind="Preempt", status="Scheduled", not_before: float | None = None):
    return {"EventId": event_id, "EventType": kind, "ResourceType": "VirtualMachine", "Resources": list(resources),
            "EventStatus": status, "NotBefore": rfc1123(not_before) if not_before else "",
            "Description": "stub event", "EventSource": "Platform", "DurationInSeconds": -1}


@dataclass
class FakeImds:
    """IMDS of one VM, served under `prefix` like the simulator (`/vms/<computerName>`)."""
    prefix: str = "/vms/agent000001"
    instance_name: str = "agents_1"
    computer_name: str = "agent000001"
    vm_id: str = "2f6a1b8e-0000-4000-8000-000000000001"
    private_ip: str = "10.0.0.4"
    token_failures: int = 0
    events_failures: int = 0
    attested_failures: int = 0
    incarnation: int = 1
    events: list = field(default_factory=list)
    acks: list = field(default_factory=list)
    acked_at: list = field(default_factory=list)  # the test's clock at each acknowledgement
    clock: object = None  # set by the run_agent fixture
    seen: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def publish(self, events, bump: bool = True):
        with self.lock:
            self.events = list(events)
            self.incarnation += 1 if bump else 0

    def __call__(self, method, path, query, headers, body):
        self.seen.append(Seen(method, path, query, headers, body))
        if headers.get("Metadata") != "true" or not path.startswith(self.prefix):
            return 400, {}, {"error": "bad_request", "error_description": "Metadata header or path"}
        path = path[len(self.prefix):]
        if path == "/metadata/scheduledevents" and query.get("api-version") == "2020-07-01":
            with self.lock:
                if method == "POST":
                    self.acks.append([r["EventId"] for r in body["StartRequests"]])
                    self.acked_at.append(self.clock() if self.clock else time.time())
                    return 200, {}, b""
                if self.events_failures > 0:
                    self.events_failures -= 1
                    return 500, {}, {"error": "internal"}
                return 200, {}, {"DocumentIncarnation": self.incarnation, "Events": self.events}
        if path == "/metadata/identity/oauth2/token" and query.get("api-version") == "2018-02-01":
            if self.token_failures > 0:
                self.token_failures -= 1
                return 500, {}, {"error": "unknown", "error_description": "transient"}
            return 200, {}, {"access_token": IDENTITY_TOKEN, "expires_on": str(int(time.time()) + 3600),
                             "expires_in": "3600", "resource": query.get("resource"), "token_type": "Bearer"}
        if path == "/metadata/attested/document" and query.get("api-version"):
            if self.attested_failures > 0:
                self.attested_failures -= 1
                return 500, {}, {"error": "Internal server error"}
            signed = "stub-pkcs7:%s:%s" % (self.vm_id, query.get("nonce", ""))
            return 200, {}, {"encoding": "pkcs7", "signature": base64.b64encode(signed.encode()).decode()}
        if path == "/metadata/instance/compute":
            return 200, {}, {"name": self.instance_name, "vmId": self.vm_id,
                             "osProfile": {"computerName": self.computer_name}}
        if path.endswith("/privateIpAddress") and query.get("format") == "text":
            return 200, {"Content-Type": "text/plain"}, self.private_ip.encode()
        return 404, {}, {"error": "not_found"}


STUB_NONCE = "0123456789abcdef0123456789abcdef"


@dataclass
class FakeApi:
    """Our API: each (method, path) answers from a script; the last answer repeats. The nonce routes
    answer a nonce unless scripted otherwise, as the control plane does for every join."""
    script: dict = field(default_factory=lambda: {
        (method_path): [(200, {}, {"nonce": STUB_NONCE, "expires_at": "2026-12-01T12:02:00+00:00"})]
        for method_path in (("POST", "/api/join/nonce"), ("POST", "/api/cluster/nonce"))})
    seen: list = field(default_factory=list)

    def on(self, method: str, path: str, *answers):
        self.script[(method, path)] = list(answers)

    def calls(self, method: str, path: str) -> list:
        return [s for s in self.seen if (s.method, s.path) == (method, path)]

    def __call__(self, method, path, query, headers, body):
        self.seen.append(Seen(method, path, query, headers, body))
        if headers.get("x-functions-key") != FUNCTION_KEY:
            return 401, {}, {"error": "unauthorized", "message": "function key"}
        if headers.get("Authorization") != "Bearer " + IDENTITY_TOKEN:
            return 401, {}, {"error": "invalid_token", "message": "identity"}
        answers = self.script.get((method, path))
        if not answers:
            return 404, {}, {"error": "not_found", "message": path}
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        return answer(body) if callable(answer) else answer


class FakeClock:
    """Epoch clock that moves only when the code under test sleeps."""

    def __init__(self, start: float | None = None):
        self.now = time.time() if start is None else start
        self.sleeps: list = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
