"""The official Kubernetes schemas, from the `kubernetes` package's generated models
(`openapi_types`: attribute -> type, `attribute_map`: attribute -> JSON name).

- `undefined(body, "V1Node")`: the dotted paths in a body that the API does not define.
- `Tracing`: a dict that records the paths code reads from it, to check those with `defined`.
"""
from __future__ import annotations

import re

from kubernetes.client import models

_LIST = re.compile(r"^[Ll]ist\[(.+)\]$")
_DICT = re.compile(r"^(?:Dict\[str, (.+)\]|dict\(str, (.+)\))$")


def _fields(type_name: str) -> dict[str, str] | None:
    """JSON name -> type of a model, or None for primitives (str, int, bool, object, datetime...)."""
    model = getattr(models, type_name, None)
    if model is None or not hasattr(model, "openapi_types"):
        return None
    return {model.attribute_map[attr]: kind for attr, kind in model.openapi_types.items()}


def _inner(type_name: str) -> tuple[str, str] | None:
    if m := _LIST.match(type_name):
        return "list", m.group(1)
    if m := _DICT.match(type_name):
        return "dict", m.group(1) or m.group(2)
    return None


def undefined(value, type_name: str, path: str = "") -> list[str]:
    inner = _inner(type_name)
    if inner and inner[0] == "list":
        return [p for item in value or () for p in undefined(item, inner[1], f"{path}[]")]
    if inner:
        return [p for key, item in (value or {}).items() for p in undefined(item, inner[1], f"{path}.{key}")]
    fields = _fields(type_name)
    if fields is None or not isinstance(value, dict):
        return []
    out = []
    for key, item in value.items():
        where = f"{path}.{key}" if path else key
        out += undefined(item, fields[key], where) if key in fields else [where]
    return out


def defined(path: str, type_name: str) -> bool:
    """Whether a read path like `status.conditions[].type` or `metadata.labels.*` exists in the schema."""
    kind = type_name
    for part in path.split("."):
        inner = _inner(kind)
        if inner and inner[0] == "dict":  # the rest is a key (labels may hold dots): fine if values are plain
            kind = inner[1]
            if _fields(kind) is None:
                return True
            continue
        name = part.removesuffix("[]")
        fields = _fields(kind)
        if fields is None or name not in fields:
            return False
        kind = fields[name]
        if part.endswith("[]"):
            inner = _inner(kind)
            if not inner or inner[0] != "list":
                return False
            kind = inner[1]
    return True


class Tracing(dict):
    """A JSON object that notes every key read from it (`get`, `[]`, `in`) into `reads`."""

    def __init__(self, data: dict, reads: set[str], path: str = ""):
        super().__init__(data)
        self._reads, self._path = reads, path

    def _wrap(self, key: str, value):
        where = f"{self._path}.{key}" if self._path else key
        self._reads.add(where)
        if isinstance(value, dict):
            return Tracing(value, self._reads, where)
        if isinstance(value, list):
            return [Tracing(v, self._reads, f"{where}[]") if isinstance(v, dict) else v for v in value]
        return value

    def get(self, key, default=None):
        return self._wrap(key, super().get(key, default))

    def __getitem__(self, key):
        return self._wrap(key, super().__getitem__(key))

    def __contains__(self, key) -> bool:
        self._wrap(key, None)
        return super().__contains__(key)
