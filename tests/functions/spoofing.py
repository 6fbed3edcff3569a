"""Agent A, with its own real credentials, trying to act as agent B: the cases the security tests
and `bench security` run against the local stack.

A holds what its VM really has: the agent identity's token (shared by every agent), the function
key, its own node credential and its own IMDS (attested documents naming A's vmId). Each case is
one request about B; it is accepted if the app answers below 400, or if B was touched anyway
(B's Node cordoned or gone, its node-password secret gone, B's registry row written, B's credential
replaced). The stack is a LocalStack (tests/fixtures or the benchmarks' own).
"""
from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass

import requests

from localenv.node_identity import document
from localenv.stack import LocalStack

PASSWORD = "{}.node-password.k3s"


def raw(stack, method: str, path: str, **kwargs) -> requests.Response:
    """Exactly the request given: no attestation or node credential added for the node it names
    (the tests' Stack.call adds them, as each VM's own agent would)."""
    return LocalStack.call(stack, method, path, **kwargs)


@dataclass(frozen=True)
class Outcome:
    case: str
    status: int
    code: str
    accepted: bool


def _events(stack, hostname: str, resource: str, event_id: str, status: str, headers: dict) -> requests.Response:
    not_before = "" if status == "Started" else email.utils.formatdate(time.time() + 30, usegmt=True)
    event = {"EventId": event_id, "EventType": "Preempt", "ResourceType": "VirtualMachine", "Resources": [resource],
             "EventStatus": status, "NotBefore": not_before, "Description": "", "EventSource": "Platform",
             "DurationInSeconds": -1}
    body = {"hostname": hostname, "document": {"DocumentIncarnation": 7, "Events": [event]}}
    return raw(stack, "POST", "events", who="agent", body=body, headers=headers)


def cases(stack, a: str, b: str, b_vm: str) -> dict[str, Callable[[], requests.Response]]:
    """Every way A tries to pass for B (`b_vm`: B's ARM VM name, as scheduled events name it)."""
    mine = stack.identities.headers(a)

    def join_as_b(fresh: bool) -> Callable[[], requests.Response]:
        return lambda: stack.identities.join(b, vm=a, body={"fresh": fresh})

    def join_b_with_a_nonce() -> requests.Response:
        nonce = raw(stack, "POST", "join/nonce", who="agent", body={"hostname": a}).json()["nonce"]
        return raw(stack, "POST", "join", who="agent", body={"hostname": b, "attested": document(stack.sim, a, nonce)})

    def replay_for_b() -> requests.Response:  # A's own document, already spent on A's nonce
        nonce = raw(stack, "POST", "join/nonce", who="agent", body={"hostname": b}).json()["nonce"]
        attested = document(stack.sim, a, nonce)
        raw(stack, "POST", "join", who="agent", body={"hostname": b, "attested": attested})
        return raw(stack, "POST", "join", who="agent", body={"hostname": b, "attested": attested, "fresh": True})

    return {
        "join_as_b": join_as_b(False),
        "join_as_b_fresh": join_as_b(True),
        "join_as_b_with_a_nonce": join_b_with_a_nonce,
        "join_as_b_without_document": lambda: raw(stack, "POST", "join", who="agent", body={"hostname": b}),
        "join_as_b_replayed_document": replay_for_b,
        "leave_b": lambda: raw(stack, "POST", "leave", who="agent", body={"hostname": b}, headers=mine),
        "leave_b_without_credential": lambda: raw(stack, "POST", "leave", who="agent", body={"hostname": b}),
        "events_b_preempt": lambda: _events(stack, b, b_vm, "spoof-preempt", "Scheduled", mine),
        "events_b_started": lambda: _events(stack, b, b_vm, "spoof-started", "Started", mine),
        "events_b_without_credential": lambda: _events(stack, b, b_vm, "spoof-bare", "Started", {}),
        "status_b": lambda: raw(stack, "GET", f"nodes/{b}", who="agent", headers=mine),
        "status_b_without_credential": lambda: raw(stack, "GET", f"nodes/{b}", who="agent"),
        "register_cluster_as_agent": lambda: raw(stack, "POST", "cluster", who="agent",
                                                        body=stack.sim.kube.registration()),
        "master_nonce_as_agent": lambda: raw(stack, "POST", "cluster/nonce", who="agent", body={}),
    }


def b_state(stack, b: str) -> dict:
    """What a spoofed request could have changed about B."""
    cluster = stack.sim.kube.cluster
    with cluster.lock:
        node = cluster.store.tables["nodes"].objs.get(b)
        secret = cluster.store.tables["secrets"].objs.get("kube-system/" + PASSWORD.format(b))
        return {"node": bool(node), "unschedulable": bool(node and node["spec"].get("unschedulable")),
                "password_secret": secret["metadata"]["resourceVersion"] if secret else None,
                "row": stack.node_row(b), "credential_ok": stack.call(
                    "GET", f"nodes/{b}", who="agent", headers=stack.identities.headers(b)).ok}


def run(stack, a: str, b: str, b_vm: str) -> list[Outcome]:
    """Each case in turn; B's state is compared after each, so a side effect counts even when refused."""
    out = []
    for name, send in cases(stack, a, b, b_vm).items():
        before = b_state(stack, b)
        response = send()
        try:
            code = response.json().get("error", "")
        except ValueError:
            code = ""
        touched = b_state(stack, b) != before
        out.append(Outcome(name, response.status_code, code, response.status_code < 400 or touched))
    return out

