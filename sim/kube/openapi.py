"""Just enough OpenAPI v3 for kubectl to trust the server with field validation.

`kubectl apply` asks whether the server validates fields itself (`fieldValidation=Strict`):
it reads `/openapi/v3`, then each group-version's document, looking for the PATCH operation
of the object's kind with a `fieldValidation` query parameter. We list those operations and
no schemas, so kubectl leaves validation to the server (which, being a simulation, checks only
the fields it uses: unknown fields are dropped, not refused).
"""
from __future__ import annotations

from sim.kube.discovery import RESOURCES
from sim.kube.wire import K3S_VERSION

PARAMETERS = [{"name": name, "in": "query", "schema": {"type": "string"}}
              for name in ("dryRun", "fieldManager", "fieldValidation", "force")]


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def root() -> dict:
    gvs = sorted({(r.group, r.version) for r in RESOURCES})
    return {"paths": {_gv_path(g, v): {"serverRelativeURL": f"/openapi/v3/{_gv_path(g, v)}?hash={K3S_VERSION}"}
                      for g, v in gvs}}


def document(path: str) -> dict | None:
    found = [r for r in RESOURCES if _gv_path(r.group, r.version) == path]
    if not found:
        return None
    paths = {}
    for r in found:
        if "patch" not in r.verbs:
            continue
        scope = "/namespaces/{namespace}" if r.namespaced else ""
        paths[f"/{path}{scope}/{r.name}/{{name}}"] = {"patch": {
            "operationId": f"patch{r.kind}", "parameters": PARAMETERS,
            "x-kubernetes-group-version-kind": {"group": r.group, "version": r.version, "kind": r.kind},
            "responses": {"200": {"description": "OK"}}}}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": K3S_VERSION}, "paths": paths}


# -- OpenAPI v2, which kubectl up to 1.29 reads instead, only as protobuf (gnostic openapi_v2.Document) --
def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, value: bytes | str) -> bytes:
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


def v2_document() -> bytes:
    """swagger, info and, per patchable kind, a PATCH operation with the query parameters and
    its x-kubernetes-group-version-kind: all that kubectl's field-validation check reads."""
    paths = b""
    for r in RESOURCES:
        if "patch" not in r.verbs:
            continue
        params = b"".join(_field(8, _field(1, _field(2, _field(3, _field(2, "query") + _field(4, p["name"]) +
                                                                _field(6, "string")))))
                          for p in PARAMETERS)
        gvk = f"group: {r.group!r}\nversion: {r.version}\nkind: {r.kind}\n"
        extension = _field(13, _field(1, "x-kubernetes-group-version-kind") + _field(2, _field(2, gvk)))
        operation = _field(5, f"patch{r.kind}") + params + extension
        scope = "/namespaces/{namespace}" if r.namespaced else ""
        prefix = f"/apis/{r.group}/{r.version}" if r.group else f"/api/{r.version}"
        paths += _field(2, _field(1, f"{prefix}{scope}/{r.name}/{{name}}") + _field(2, _field(8, operation)))
    info = _field(1, "Kubernetes") + _field(2, K3S_VERSION)
    return _field(1, "2.0") + _field(2, info) + _field(8, paths)
