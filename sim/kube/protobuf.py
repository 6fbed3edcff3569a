"""The Kubernetes protobuf envelope, read just far enough for what kubectl sends that way.

Newer kubectl clients post some built-in kinds (a SelfSubjectAccessReview for `auth can-i`)
as `application/vnd.kubernetes.protobuf`: the magic `k8s\\0`, then a runtime.Unknown whose
field 2 is the object's own protobuf encoding. We answer in JSON, which clients accept.
"""
from __future__ import annotations

from sim.kube.wire import ApiError

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"


def fields(data: bytes) -> dict[int, list]:
    """Field number -> values (ints for varints, bytes for length-delimited) of one message."""
    out: dict[int, list] = {}
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(data, i)
        elif wire == 2:
            size, i = _varint(data, i)
            value, i = data[i:i + size], i + size
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            value, i = data[i:i + size], i + size
        else:
            raise ApiError(400, "BadRequest", f"unsupported protobuf wire type {wire}")
        out.setdefault(number, []).append(value)
    return out


def _varint(data: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if i >= len(data):
            raise ApiError(400, "BadRequest", "truncated protobuf body")
        byte = data[i]
        result |= (byte & 0x7F) << shift
        i += 1
        if not byte & 0x80:
            return result, i
        shift += 7


def unwrap(body: bytes) -> bytes:
    if not body.startswith(MAGIC):
        raise ApiError(400, "BadRequest", "a protobuf body must start with the k8s envelope")
    return (fields(body[len(MAGIC):]).get(2) or [b""])[0]


def _text(message: dict[int, list], number: int) -> str:
    return (message.get(number) or [b""])[0].decode()


def access_review(body: bytes) -> dict:
    """authorization.k8s.io/v1 SelfSubjectAccessReview from protobuf to its JSON shape (spec only)."""
    spec = fields((fields(unwrap(body)).get(2) or [b""])[0])
    out: dict = {}
    if spec.get(1):
        attrs = fields(spec[1][0])
        names = ("namespace", "verb", "group", "version", "resource", "subresource", "name")
        out["resourceAttributes"] = {n: _text(attrs, i) for i, n in enumerate(names, 1) if attrs.get(i)}
    if spec.get(2):
        attrs = fields(spec[2][0])
        out["nonResourceAttributes"] = {n: _text(attrs, i) for i, n in enumerate(("path", "verb"), 1) if attrs.get(i)}
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": out}
