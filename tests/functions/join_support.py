"""Helpers for the join, cluster and nodes tests through the dev host.

`quiet_stack` is the stack of tests/fixtures/stack.py with the dev host's timers and queue
listeners off, so nothing but the request under test writes (the reconcile timer fires every
minute; the drain worker would take the leave message before we peek it). `written(stack)`
is everything the stack has stored: table rows with their ETags, `node-events` messages,
Kubernetes secrets and nodes. A rejected request must leave it unchanged.
"""
from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager

from azure.core.exceptions import ResourceNotFoundError
from azure.data.tables import TableServiceClient
from azure.storage.queue import QueueClient

from tests.fixtures.stack import Stack, build_stack

QUIET = ("--no-timers", "--no-queues")
SIM_DEFAULTS = {"agents": 3, "boot_seconds": 0.1, "page_size": 2, "kube_options": {"scrypt_log_n": 4}}
NODE_EVENTS = "node-events"


def quiet_stack(make_stack, sim_options: dict | None = None, env: dict | None = None, args=QUIET) -> Stack:
    """From the function-scoped fixture: a simulator (cheap node passwords) and a quiet dev host."""
    return make_stack({**SIM_DEFAULTS, **(sim_options or {})}, env, args=args)


@contextmanager
def stack_on(azurite, sim_options: dict | None = None) -> Iterator[Stack]:
    """The same stack for a wider scope (a module of read-only rejection tests)."""
    with build_stack(azurite, {**SIM_DEFAULTS, **(sim_options or {})}, args=QUIET) as stack:
        yield stack


def connection(stack: Stack) -> str:
    return stack.host.env["AzureWebJobsStorage"]


def table_rows(stack: Stack) -> dict[str, dict[tuple[str, str], dict]]:
    """table -> (PartitionKey, RowKey) -> entity (with 'etag'); empty tables left out."""
    service = TableServiceClient.from_connection_string(connection(stack))
    out = {}
    for table in service.list_tables():
        rows = {(e["PartitionKey"], e["RowKey"]): {**e, "etag": e.metadata["etag"]}
                for e in service.get_table_client(table.name).list_entities()}
        if rows:
            out[table.name] = rows
    return out


def queue_messages(stack: Stack, name: str = NODE_EVENTS) -> list[dict]:
    """Peek (without taking) up to 32 messages: base64 of a JSON object, as our queue adapter sends."""
    client = QueueClient.from_connection_string(connection(stack), name)
    try:
        return [json.loads(base64.b64decode(m.content)) for m in client.peek_messages(max_messages=32)]
    except ResourceNotFoundError:
        return []


def kube_objects(stack: Stack) -> dict:
    """Secrets (with resourceVersion) and Nodes (with spec.unschedulable) in KubeSim right now."""
    cluster = stack.sim.kube.cluster
    with cluster.lock:
        secrets = {k: s["metadata"]["resourceVersion"] for k, s in cluster.store.tables["secrets"].objs.items()}
        nodes = {k: bool(n["spec"].get("unschedulable")) for k, n in cluster.store.tables["nodes"].objs.items()}
    return {"secrets": secrets, "nodes": nodes}


CHALLENGES = ("nonces",)  # a join's nonce is issued and spent whether or not the join succeeds


def written(stack: Stack) -> dict:
    """Everything a request could have written: rows, queued messages, Kubernetes objects (but the
    nonce a refused join spent: that is the challenge, not state)."""
    return {"tables": {t: {k: e["etag"] for k, e in rows.items()} for t, rows in table_rows(stack).items()
                       if t not in CHALLENGES},
            "queue": queue_messages(stack), "kube": kube_objects(stack)}


def bootstrap_secrets(stack: Stack) -> dict[str, dict]:
    """kube-system bootstrap-token secrets by token id, data decoded."""
    cluster = stack.sim.kube.cluster
    with cluster.lock:
        found = [s for key, s in cluster.store.tables["secrets"].objs.items()
                 if key.startswith("kube-system/bootstrap-token-")]
    return {s["metadata"]["name"].removeprefix("bootstrap-token-"):
            {k: base64.b64decode(v).decode() for k, v in s["data"].items()} for s in found}


def token_parts(token: str) -> tuple[str, str]:
    """(id, secret) of a k3s secure bootstrap token K10<ca hash>::<id>.<secret>."""
    token_id, _, secret = token.rpartition("::")[2].partition(".")
    return token_id, secret
