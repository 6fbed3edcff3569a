"""Join policy: request validation, bootstrap tokens as k3s writes them, stale-node rule.

Bootstrap tokens match `k3s token create`: id [a-z0-9]{6}, secret [a-z0-9]{16}, secret
`bootstrap-token-<id>` in kube-system of type bootstrap.kubernetes.io/token with
token-id, token-secret, expiration (RFC 3339, UTC), usage-bootstrap-{signing,authentication}
"true" and auth-extra-groups `system:bootstrappers:k3s:default-node-token`. The token the
agent gets is the k3s "secure" form `K10<sha256 of the CA PEM>::<id>.<secret>`, so the
agent authenticates the server before sending the credential.
"""
from __future__ import annotations

import json
import re
import secrets
import string
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from nodepool.core.errors import Forbidden, InvalidInput, Unavailable
from nodepool.core.k3s import BOOTSTRAP_GROUP
from nodepool.core.model import Instance
from nodepool.core.records import NodeRecord
from nodepool.identity.attestation import parse_attested

HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
MAX_DEPTH = 16  # our documents nest 5 deep; anything much deeper is an attack or a bug
_JSON_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
CA_HASH = re.compile(r"^[0-9a-f]{64}$")
TOKEN_ID = re.compile(r"^[a-z0-9]{6}$")
_ALPHABET = string.ascii_lowercase + string.digits
NOT_VISIBLE_RETRY_AFTER_S = 10  # a new VM shows in the scale set's listing within a refresh or two


def parse_json(raw: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """A request body as JSON, refused (400) when not UTF-8 JSON or nested deeper than `max_depth`.
    The depth is measured before decoding, so a body of 60 000 `[` never reaches json.loads
    (whose RecursionError would be a 500)."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes | bytearray) else raw
    except UnicodeDecodeError as err:
        raise InvalidInput("body is not valid JSON", code="invalid_json") from err
    depth = 0
    for match in _JSON_STRUCTURE.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > max_depth:
                raise InvalidInput(f"JSON nested deeper than {max_depth}", code="too_deep")
        elif token in "]}":
            depth -= 1
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as err:
        raise InvalidInput("body is not valid JSON", code="invalid_json") from err


def check_depth(value: Any, max_depth: int = MAX_DEPTH) -> Any:
    """`value` (already decoded JSON) unless it nests deeper than `max_depth`: 400 `too_deep`.
    Iterative, so no depth can make it fail itself."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > max_depth:
                raise InvalidInput(f"JSON nested deeper than {max_depth}", code="too_deep")
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return value


def check_hostname(value: Any) -> str:
    if not isinstance(value, str) or not HOSTNAME.fullmatch(value):  # `$` alone would let "name\n" through
        raise InvalidInput("hostname must be an RFC 1123 label (a-z, 0-9, '-', at most 63)", code="invalid_hostname")
    return value


@dataclass(frozen=True)
class JoinRequest:
    hostname: str
    vm_id: str = ""
    fresh: bool = False  # the agent has no k3s node password yet (new VM or reimaged disk)
    attested: dict | None = None  # IMDS's attested document {"encoding": "pkcs7", "signature": ...}

    @classmethod
    def from_json(cls, body: Any) -> "JoinRequest":
        if not isinstance(check_depth(body), dict):
            raise InvalidInput("body must be a JSON object")
        vm_id = body.get("vm_id", "")
        if not isinstance(vm_id, str) or len(vm_id) > 64:
            raise InvalidInput("vm_id must be a string", code="invalid_vm_id")
        fresh = body.get("fresh", False)
        if not isinstance(fresh, bool):
            raise InvalidInput("fresh must be true or false")
        return cls(check_hostname(body.get("hostname")), vm_id.lower(), fresh, parse_attested(body))


@dataclass(frozen=True)
class BootstrapToken:
    token_id: str
    secret: str = field(repr=False)
    expires_at: datetime

    @classmethod
    def mint(cls, now: datetime, ttl_s: int) -> "BootstrapToken":
        def pick(n: int) -> str:
            return "".join(secrets.choice(_ALPHABET) for _ in range(n))

        return cls(pick(6), pick(16), (now + timedelta(seconds=ttl_s)).replace(microsecond=0))

    def k3s_token(self, ca_hash: str) -> str:
        return f"K10{ca_hash}::{self.token_id}.{self.secret}"

    def secret_data(self, node: str) -> dict[str, str]:
        return {
            "token-id": self.token_id,
            "token-secret": self.secret,
            "expiration": self.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "usage-bootstrap-authentication": "true",
            "usage-bootstrap-signing": "true",
            "auth-extra-groups": BOOTSTRAP_GROUP,
            "description": f"join of {node} by the nodepool control plane",
        }


def check_instance(request: JoinRequest, instance: Instance | None) -> Instance:
    """The caller must name a current VM of the scale set (and its vmId, when given)."""
    if instance is None:  # a VM created seconds ago may not be listed yet: ask again, never refuse for good
        raise Unavailable(f"{request.hostname} is not a visible instance of the agent scale set (yet)",
                          code="instance_not_visible", retry_after=NOT_VISIBLE_RETRY_AFTER_S)
    if request.vm_id and instance.vm_id and request.vm_id != instance.vm_id.lower():
        raise Forbidden(f"vm_id does not match instance {request.hostname}", code="vm_id_mismatch")
    return instance


def replaces_earlier(row: NodeRecord | None, request: JoinRequest, instance: Instance) -> bool:
    """Is this join a new VM or a fresh disk under a name an earlier one used?

    k3s refuses a node whose password differs from the `<node>.node-password.k3s` secret
    ("Node password rejected"), so that secret and any Node of the earlier VM must go first.
    A name we never recorded is left to reconcile, unless the agent says its disk is fresh.
    """
    if request.fresh:
        return True
    known_vm = row.vm_id if row else ""
    current_vm = request.vm_id or instance.vm_id.lower()
    return bool(known_vm and current_vm and known_vm != current_vm)


def join_response(server: str, token: str, ca_hash: str, k3s_version: str, labels, taints,
                  expires_at: datetime | None) -> dict:
    return {
        "server": server,
        "token": token,
        "ca_hash": ca_hash,
        "k3s_version": k3s_version,
        "node_labels": list(labels),
        "node_taints": list(taints),
        "expires_at": expires_at.isoformat() if expires_at else None,
    }
