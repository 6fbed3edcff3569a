"""Watch streams: `GET <collection>?watch=true&resourceVersion=N`, one JSON event per chunk.

From a resourceVersion: every change after it, from the store's log (410 Gone as an ERROR
event when the log no longer reaches back that far). Without one (or "0"): ADDED for what
exists, then the changes. Events are ADDED, MODIFIED and DELETED, filtered by namespace,
label and field selectors; with a Table Accept header each object is a one-row Table. The
stream ends after `timeoutSeconds`, when the client goes, or when the server stops.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

from sim.kube import tables
from sim.kube.wire import status_object

MAX_S = 1800.0


def stream(sim, resource: str, namespace: str | None, query: dict, match: Callable[[dict], bool] | None,
           table_of: Callable[[dict], dict] | None) -> Iterator[bytes]:
    cluster = sim.cluster
    store = cluster.store
    deadline = time.monotonic() + min(float(query.get("timeoutSeconds") or MAX_S), MAX_S)
    since = query.get("resourceVersion") or "0"
    with cluster.lock:
        if since == "0":
            since_rv = store.rv
            first = [("ADDED", json.loads(store.encoded(resource, k))) for k in store.candidate_keys(
                resource, namespace, None)]
        else:
            since_rv = int(since) if since.isdigit() else -1
            oldest = store.log[0][0] if store.log else store.rv + 1
            if since_rv < 0 or (since_rv < store.rv and oldest > since_rv + 1):
                yield _event("ERROR", status_object(410, "Expired", f"too old resource version: {since} "
                                                                     f"({oldest - 1})"))
                return
            first = []

    def wanted(obj: dict) -> bool:
        meta = obj.get("metadata", {})
        return (namespace is None or meta.get("namespace") == namespace) and (match is None or match(obj))

    for change, obj in first:
        if wanted(obj):
            yield _event(change, table_of(obj) if table_of else obj)
    while time.monotonic() < deadline and not sim.stopped.is_set():
        with cluster.lock:
            fresh = [(rv, change, data) for rv, change, res, data in store.log if rv > since_rv and res == resource]
            since_rv = store.rv
        for _, change, data in fresh:
            obj = json.loads(data)
            if wanted(obj):
                yield _event(change, table_of(obj) if table_of else obj)
        with store.changed:
            if store.rv == since_rv:
                store.changed.wait(0.5)


def _event(change: str, obj: dict) -> bytes:
    return json.dumps({"type": change, "object": obj}, separators=(",", ":")).encode() + b"\n"


def table_converter(resource: str, query: dict, now: Callable[[], float]) -> Callable[[dict], dict]:
    return lambda obj: tables.table(resource, [obj], {"resourceVersion": obj["metadata"].get("resourceVersion", "")},
                                    query.get("includeObject"), now())
