"""The simulated etcd: objects by resource, one resourceVersion counter, paging and indexes.

Built for a pool of 1000 nodes x 20 pods listed every reconcile tick: keys are kept sorted
(bisect), pods are indexed by `spec.nodeName` (unbound pods under ""), and each object's JSON
is encoded once per change, so a page is a join of cached bytes. Not thread-safe on its own:
the cluster holds one lock around every use.

Unlike etcd, a continued list reads the current state, not the first page's snapshot: an
object created mid-listing after the cursor shows up, one deleted before it does not.
Once a client has read over HTTP (`watched`: it may watch from there), every change is also
kept, encoded, in a bounded `log` that watches read from (`changed` wakes them); a watch from
a resourceVersion older than the log gets 410 Gone. Seeding a pool from Python before that
costs no encoding.
"""
from __future__ import annotations

import base64
import bisect
import json
import threading
from collections import deque
from collections.abc import Callable, Iterable

from sim.kube.wire import ApiError, not_found

NAMESPACED = {"pods": True, "secrets": True, "poddisruptionbudgets": True, "deployments": True, "nodes": False}
LOG_SIZE = 20_000  # changes kept for watches: a 1000-node pool's worth of pod churn


def key_of(namespace: str | None, name: str) -> str:
    return f"{namespace}/{name}" if namespace else name


class Table:
    def __init__(self, resource: str):
        self.resource = resource
        self.objs: dict[str, dict] = {}
        self.keys: list[str] = []
        self.encoded: dict[str, bytes] = {}


class Store:
    def __init__(self):
        self.rv = 0
        self.tables = {r: Table(r) for r in NAMESPACED}
        self.pods_by_node: dict[str, set[str]] = {"": set()}
        self.node_changes: dict[str, int] = {}  # node -> how often its set of pods changed (caches key on it)
        self.pods_by_label: dict[tuple[str, str, str], set[str]] = {}  # (namespace, key, value)
        self._node_of: dict[str, str] = {}
        self._labels_of: dict[str, tuple] = {}
        self.log: deque[tuple[int, str, str, bytes]] = deque(maxlen=LOG_SIZE)  # (rv, type, resource, object)
        self.changed = threading.Condition()
        self.watched = False

    # -- single objects ---------------------------------------------------------------
    def get(self, resource: str, namespace: str | None, name: str) -> dict:
        obj = self.tables[resource].objs.get(key_of(namespace, name))
        if obj is None:
            raise not_found(resource, name)
        return obj

    def find(self, resource: str, namespace: str | None, name: str) -> dict | None:
        return self.tables[resource].objs.get(key_of(namespace, name))

    def create(self, resource: str, obj: dict) -> dict:
        meta = obj["metadata"]
        key = key_of(meta.get("namespace"), meta["name"])
        table = self.tables[resource]
        if key in table.objs:
            raise ApiError(409, "AlreadyExists", f'{resource} "{meta["name"]}" already exists',
                           {"name": meta["name"], "kind": resource})
        bisect.insort(table.keys, key)
        table.objs[key] = obj
        return self.touch(resource, obj, "ADDED")

    def touch(self, resource: str, obj: dict, change: str = "MODIFIED") -> dict:
        """Record a change to a stored object: new resourceVersion, fresh encoding, indexes."""
        self.rv += 1
        meta = obj["metadata"]
        meta["resourceVersion"] = str(self.rv)
        key = key_of(meta.get("namespace"), meta["name"])
        if self.watched:
            self._record(change, resource, self.encoded(resource, key, fresh=True))
        else:
            self.tables[resource].encoded.pop(key, None)
        if resource == "pods":
            self._index_pod(key, obj["spec"].get("nodeName") or "")
            self._index_labels(key, meta["namespace"], tuple(sorted((meta.get("labels") or {}).items())))
        return obj

    def _record(self, change: str, resource: str, data: bytes) -> None:
        self.log.append((self.rv, change, resource, data))
        with self.changed:
            self.changed.notify_all()

    def remove(self, resource: str, namespace: str | None, name: str) -> dict:
        key = key_of(namespace, name)
        table = self.tables[resource]
        obj = table.objs.pop(key, None)
        if obj is None:
            raise not_found(resource, name)
        del table.keys[bisect.bisect_left(table.keys, key)]
        table.encoded.pop(key, None)
        if resource == "pods":
            node = self._node_of.pop(key)
            self.pods_by_node[node].discard(key)
            self._pods_changed(node)
            self._index_labels(key, namespace, ())
            self._labels_of.pop(key, None)
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        if self.watched:
            self._record("DELETED", resource, json.dumps(obj, separators=(",", ":")).encode())
        return obj

    def _index_pod(self, key: str, node: str) -> None:
        old = self._node_of.get(key)
        if old == node:
            return
        if old is not None:
            self.pods_by_node[old].discard(key)
            self._pods_changed(old)
        self._node_of[key] = node
        self.pods_by_node.setdefault(node, set()).add(key)
        self._pods_changed(node)

    def _pods_changed(self, node: str) -> None:
        self.node_changes[node] = self.node_changes.get(node, 0) + 1

    def _index_labels(self, key: str, namespace: str, labels: tuple) -> None:
        old = self._labels_of.get(key, ())
        if old == labels:
            return
        for pair in old:
            self.pods_by_label[(namespace, *pair)].discard(key)
        for pair in labels:
            self.pods_by_label.setdefault((namespace, *pair), set()).add(key)
        self._labels_of[key] = labels

    def encoded(self, resource: str, key: str, fresh: bool = False) -> bytes:
        table = self.tables[resource]
        data = None if fresh else table.encoded.get(key)
        if data is None:
            data = table.encoded[key] = json.dumps(table.objs[key], separators=(",", ":")).encode()
        return data

    # -- lists ------------------------------------------------------------------------
    def candidate_keys(self, resource: str, namespace: str | None, node: str | None) -> list[str]:
        """Sorted keys to scan: a node's pods from the index, a namespace's range, or all."""
        if node is not None:
            keys = sorted(self.pods_by_node.get(node, ()))
            return [k for k in keys if k.startswith(f"{namespace}/")] if namespace else keys
        keys = self.tables[resource].keys
        if namespace:
            lo = bisect.bisect_left(keys, f"{namespace}/")
            hi = bisect.bisect_left(keys, f"{namespace}0")  # '0' sorts right after '/'
            return keys[lo:hi]
        return keys

    def page(self, resource: str, keys: list[str], match: Callable[[dict], bool] | None,
             limit: int, cont: str | None) -> tuple[list[bytes], str | None]:
        """Up to `limit` encoded objects after the continue token; the next token or None."""
        start = bisect.bisect_right(keys, decode_continue(cont)) if cont else 0
        objs, out, last = self.tables[resource].objs, [], None
        for i in range(start, len(keys)):
            key = keys[i]
            obj = objs.get(key)
            if obj is None or (match and not match(obj)):
                continue
            if limit and len(out) == limit:
                return out, encode_continue(last, self.rv)
            out.append(self.encoded(resource, key))
            last = key
        return out, None

    def items(self, resource: str, keys: Iterable[str] | None = None) -> list[dict]:
        table = self.tables[resource]
        return [table.objs[k] for k in (table.keys if keys is None else keys) if k in table.objs]


def encode_continue(key: str, rv: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": key}).encode()).decode()


def decode_continue(token: str) -> str:
    try:
        return json.loads(base64.urlsafe_b64decode(token.encode()))["start"]
    except (ValueError, KeyError, TypeError) as err:
        raise ApiError(400, "BadRequest", "continue key is not valid: illegal base64 data") from err
