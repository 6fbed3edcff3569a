"""Fuzzing the HTTP API through the dev host: strategies for whole requests, and the checks every
answer must pass. Shared by tests/functions/test_http_properties.py (short runs in CI) and
tests/bench/faults.py (the long run).

A request is a route, headers (function key, identity, junk), query and path values and a body:
arbitrary JSON, JSON shaped like the route's document with fields mutated, raw bytes or deep
nesting. The checks, per request: no 5xx; a 4xx wrote nothing (table writes counted by a
CountingProxy in front of Azurite's table endpoint, queue messages by the queue's count); no
secret and no traceback in the answer. `secrets_in(text)` checks the host's log the same way.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import quote

import requests
from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient
from hypothesis import strategies as st

from localenv.counting_proxy import CountingProxy
from localenv.node_identity import MASTER_VM
from localenv.node_identity import document as attested_document
from nodepool.drain.state import NODE_EVENTS_QUEUE

ROUTES = (("POST", "cluster/nonce"), ("POST", "cluster"), ("POST", "join/nonce"), ("POST", "join"),
          ("POST", "leave"), ("POST", "events"), ("GET", "nodes"), ("GET", "nodes/{name}"), ("GET", "audit"),
          ("GET", "healthz"))
# The one 5xx by design: a syntactically valid hostname ARM does not list (yet) is "not visible
# yet", 503 with Retry-After (a VM seconds old may not be listed): a state of the pool, not bad input.
NOT_VISIBLE = "instance_not_visible"
FRESH = "fresh-attested-document"  # replaced in `send` by a document attested for a new nonce
WRITE_METHODS = ("POST", "PUT", "PATCH", "MERGE", "DELETE")
TRACE_MARKS = ("Traceback (most recent call last)", 'File "/')
EVENT_TYPES = ("Preempt", "Terminate", "Reboot", "Redeploy", "Freeze", "Bogus", "")

text = st.text(max_size=80)
ascii_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=60)
json_leaf = st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70) | \
    st.floats(allow_nan=False) | text
json_any = st.recursive(json_leaf, lambda inner: st.lists(inner, max_size=4) |
                        st.dictionaries(text, inner, max_size=4), max_leaves=12)


@st.composite
def event(draw, hostname: str, vm_name: str) -> dict:
    """A scheduled event as IMDS writes it, each field often right and sometimes anything."""
    def field_(good, bad=json_any):
        return draw(st.one_of(st.just(good), bad)) if draw(st.integers(0, 3)) == 0 else good
    not_before = draw(st.sampled_from(["", "Mon, 19 Sep 2016 18:29:47 GMT", "Tue, 01 Dec 2026 20:40:00 GMT",
                                       "2026-12-01T20:40:00", "Mon, 01 Jan 9999 00:00:00 GMT", "soon"]))
    return {"EventId": field_(draw(st.sampled_from(["E1", "a/b", "x#y", "q?", "back\\s", "ctl\x01", "E" * 70])),
                              ascii_text),
            "EventType": field_(draw(st.sampled_from(EVENT_TYPES))),
            "ResourceType": "VirtualMachine",
            "Resources": field_([draw(st.sampled_from([hostname, vm_name, "someone_else", hostname.upper()]))]),
            "EventStatus": field_(draw(st.sampled_from(["Scheduled", "Started"]))),
            "NotBefore": field_(not_before), "DurationInSeconds": field_(draw(st.sampled_from([-1, 5, 10**30])))}


@st.composite
def document(draw, route: str, hostname: str, vm_name: str, registration: dict) -> object:
    """A body near the route's valid document: a field dropped, replaced or added at random."""
    if route == "cluster":
        doc = dict(registration)
    elif route == "events":
        doc = {"hostname": hostname, "document": {"DocumentIncarnation": draw(st.integers(-5, 2**40)),
                                                  "Events": draw(st.lists(event(hostname, vm_name), max_size=3))}}
    else:
        doc = {"hostname": draw(st.sampled_from([hostname, hostname.upper(), "nothere0", "", "a" * 300, "-x"]))}
    if route in ("join", "cluster"):
        doc["attested"] = FRESH
    for _ in range(draw(st.integers(0, 2))):
        key = draw(st.sampled_from([*doc.keys(), "vm_id", "fresh", "extra"]))
        if draw(st.booleans()):
            doc.pop(key, None)
        else:
            doc[key] = draw(json_any)
    return doc


@dataclass
class Case:
    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, str]
    body: bytes | None


@st.composite
def cases(draw, target: "Target", route: tuple[str, str] | None = None) -> Case:
    method, path = route or draw(st.sampled_from(ROUTES))
    if "{name}" in path:
        path = path.replace("{name}", quote(draw(st.sampled_from([target.hostname, "x"]) | text), safe=""))
    name = path.split("/")[0] if path != "join/nonce" else "nonce"
    headers = {}
    credential = draw(st.sampled_from(["good", "good", "none", "junk"]))
    if credential != "none" and target.credential():
        headers["X-Node-Credential"] = target.credential() if credential == "good" else draw(ascii_text)
    key = draw(st.sampled_from(["good", "good", "good", "none", "wrong"]))
    if key != "none":
        headers["x-functions-key"] = target.function_key if key == "good" else draw(ascii_text)
    who = draw(st.sampled_from(["route", "route", "agent", "master", "forged", "junk", "none"]))
    token = target.tokens.get("master" if who == "route" and name in ("cluster", "cluster/nonce") else
                              "agent" if who == "route" else who)
    if who == "junk":
        token = draw(ascii_text)
    if token is not None:
        headers["Authorization"] = draw(st.sampled_from(["Bearer ", "bearer ", "", "Basic "])) + token
    for extra, value in draw(st.dictionaries(st.sampled_from(["Content-Type", "X-Forwarded-For", "X-Junk",
                                                              "Accept", "Content-Encoding"]), ascii_text,
                                             max_size=2)).items():
        headers[extra] = value
    headers = {k: v.strip() for k, v in headers.items()}  # a client cannot send leading blanks or CR/LF
    params = draw(st.dictionaries(st.sampled_from(["limit", "next", "code", "x"]),
                                  st.sampled_from(["1", "0", "-3", "1000000", "9" * 5000, "a:b", "x" * 3000]) | text,
                                  max_size=2))
    body = None
    if method == "POST":
        kind = draw(st.sampled_from(["document", "document", "document", "json", "bytes", "deep", "empty"]))
        if kind == "document":
            body = json.dumps(draw(document(name, target.hostname, target.vm_name, target.registration))).encode()
        elif kind == "json":
            body = json.dumps(draw(json_any)).encode()
        elif kind == "bytes":
            body = draw(st.binary(max_size=200))
        elif kind == "deep":
            depth = draw(st.integers(30, 100_000))
            body = (b"[" * depth + b"]" * depth) if draw(st.booleans()) else b'{"a":' * depth + b"1" + b"}" * depth
        else:
            body = b""
    return Case(method, path, headers, params, body)


@dataclass
class Outcome:
    status: int
    writes: int
    leaked: list[str]
    error: str = ""  # the error code of a JSON error answer

    @property
    def failed(self) -> bool:
        """A 5xx other than the designed `not visible yet`."""
        return self.status >= 500 and not (self.status == 503 and self.error == NOT_VISIBLE)


@dataclass
class Target:
    """The app under fuzz: its host, a counting proxy in front of its tables, its queue, its secrets."""
    url: str
    function_key: str
    proxy: CountingProxy
    queue: QueueClient
    hostname: str
    vm_name: str
    registration: dict
    tokens: dict[str, str]
    stack: object = None  # the LocalStack: fresh attested documents, the node credential it keeps
    host: object = None  # its DevHostProcess
    secrets: dict[str, str] = field(default_factory=dict)
    handed: list[str] = field(default_factory=list)  # node credentials joins answered with

    def credential(self) -> str | None:
        return self.stack.node_credentials.get(self.hostname) if self.stack else None

    def attested(self, path: str) -> dict:
        """A document attested for a fresh nonce: the agent's own VM for a join, the master's for /cluster."""
        who, body = ("master", {}) if path == "cluster" else ("agent", {"hostname": self.hostname})
        challenge = self.stack.call("POST", f"{path}/nonce", who=who, body=body, host=self.host)
        vm = MASTER_VM if path == "cluster" else self.hostname
        return attested_document(self.stack.sim, vm, challenge.json()["nonce"]) if challenge.ok else {}

    def secrets_in(self, text: str, log: bool = False) -> list[str]:
        """Secrets (and, in a log, node credentials ever handed out) and traceback marks in `text`."""
        kept = {**self.secrets, **({f"credential {i}": c for i, c in enumerate(self.handed)} if log else {})}
        found = [what for what, value in kept.items() if value and value in text]
        return found + [mark for mark in TRACE_MARKS if mark in text]

    def queued(self) -> int:
        return self.queue.get_queue_properties().approximate_message_count

    def send(self, case: Case, session: requests.Session) -> Outcome:
        body = case.body
        if body and FRESH.encode() in body:
            body = body.replace(json.dumps(FRESH).encode(), json.dumps(self.attested(case.path)).encode())
        self.proxy.take()
        before = self.queued()
        answer = session.request(case.method, f"{self.url}/api/{case.path}", headers=case.headers,
                                 params=case.params, data=body, timeout=60)
        tables = sum(n for key, n in self.proxy.take().items()
                     if key.split()[0] in WRITE_METHODS and not key.endswith("/Tables"))
        writes = tables + max(0, self.queued() - before)
        if case.path == "join" and answer.status_code == 200:  # the VM's earlier credential stops working
            self.stack.node_credentials[self.hostname] = answer.json()["node_credential"]
            self.handed.append(answer.json()["node_credential"])
        error = answer.json().get("error", "") if answer.headers.get("content-type", "").startswith(
            "application/json") and answer.status_code >= 400 else ""
        return Outcome(answer.status_code, writes, self.secrets_in(answer.text), str(error))


def target_for(stack, proxy: CountingProxy, host) -> Target:
    """A fuzz target on `stack`'s dev host `host` whose tables go through `proxy`; master registered."""
    sim, kube = stack.sim, stack.sim.kube
    vm = next(v for v in sim.vms if v.instance_id)
    tokens = {"agent": sim.token("agent"), "master": sim.token("master"), "forged": sim.token("agent", forged=True)}
    queue = QueueClient.from_connection_string(stack.connection_string(), NODE_EVENTS_QUEUE)
    try:
        queue.create_queue()
    except ResourceExistsError:
        pass
    stack.join(vm.computer_name, host=host).raise_for_status()
    target = Target(host.url, host.function_key, proxy, queue, vm.computer_name, vm.name, kube.registration(),
                    tokens, stack, host)
    target.handed.append(target.credential())
    target.secrets = {"function key": host.function_key, "master key": host.master_key, "credential": kube.token,
                      "agent token": kube.agent_token, **{f"{k} jwt": v for k, v in tokens.items()}}
    return target
