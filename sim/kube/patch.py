"""PATCH bodies as the API server applies them to a Node.

- application/merge-patch+json (RFC 7386): objects merge, null deletes, lists replace.
- application/strategic-merge-patch+json: the same, except lists with a merge key merge by
  it (`status.conditions` by `type`, `status.addresses` by `type`); `spec.taints` has no
  patch strategy in core/v1 and is replaced, as on a real server. `$patch: delete` honoured.
- application/json-patch+json (RFC 6902): add, replace, remove, test (e.g. a `test` of
  /metadata/resourceVersion, the idiomatic optimistic-concurrency guard).
"""
from __future__ import annotations

import copy

from sim.kube.wire import ApiError

MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
MERGE_KEYS = {("status", "conditions"): "type", ("status", "addresses"): "type"}


def apply_patch(obj: dict, patch, content_type: str) -> dict:
    kind = (content_type or "").split(";")[0].strip()
    if kind == MERGE:
        return _merge(copy.deepcopy(obj), patch, None)
    if kind == STRATEGIC:
        return _merge(copy.deepcopy(obj), patch, ())
    if kind == JSON_PATCH:
        return _json_patch(copy.deepcopy(obj), patch)
    raise ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - accepted "
                                                f"media types include: {JSON_PATCH}, {MERGE}, {STRATEGIC}")


def _merge(target, patch, path: tuple | None):
    """path is None for plain merge patch, else the key path (strategic lists merge by key)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    for key, value in patch.items():
        sub = None if path is None else (*path, key)
        if value is None:
            target.pop(key, None)
        elif sub is not None and sub in MERGE_KEYS and isinstance(value, list):
            target[key] = _merge_list(target.get(key) or [], value, MERGE_KEYS[sub])
        elif isinstance(value, dict):
            target[key] = _merge(target.get(key), value, sub)
        else:
            target[key] = copy.deepcopy(value)
    return target


def _merge_list(current: list, patch: list, merge_key: str) -> list:
    out = [copy.deepcopy(item) for item in current]
    for item in patch:
        index = next((i for i, old in enumerate(out) if old.get(merge_key) == item.get(merge_key)), None)
        if item.get("$patch") == "delete":
            if index is not None:
                out.pop(index)
        elif index is None:
            out.append(copy.deepcopy(item))
        else:
            out[index] = _merge(out[index], item, ())
    return out


def _pointer(doc, pointer: str):
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    if not parts:
        raise ApiError(422, "Invalid", "the root of a document cannot be patched")
    parent = doc
    for part in parts[:-1]:
        parent = parent[int(part)] if isinstance(parent, list) else parent.setdefault(part, {})
    return parent, parts[-1]


def _json_patch(doc: dict, ops) -> dict:
    if not isinstance(ops, list):
        raise ApiError(400, "BadRequest", "json patch must be a list of operations")
    for op in ops:
        try:
            parent, last = _pointer(doc, op["path"])
            kind = op["op"]
            if isinstance(parent, list):
                index = len(parent) if last == "-" else int(last)
                if kind == "add":
                    parent.insert(index, op["value"])
                elif kind == "remove":
                    parent.pop(index)
                elif kind == "replace":
                    parent[index] = op["value"]
                elif kind == "test" and parent[index] != op["value"]:
                    raise ApiError(422, "Invalid", f"testing value {op['path']} failed")
            elif kind in ("add", "replace"):
                if kind == "replace" and last not in parent:
                    raise ApiError(422, "Invalid", f"replace operation does not apply: doc is missing key: "
                                                   f"{op['path']}")
                parent[last] = op["value"]
            elif kind == "remove":
                del parent[last]
            elif kind == "test" and parent.get(last) != op["value"]:
                raise ApiError(422, "Invalid", f"testing value {op['path']} failed")
            elif kind not in ("add", "replace", "remove", "test"):
                raise ApiError(400, "BadRequest", f"unsupported json patch operation {kind!r}")
        except (KeyError, IndexError, ValueError, TypeError) as err:
            raise ApiError(422, "Invalid", f"json patch {op!r} does not apply: {err}") from err
    return doc
