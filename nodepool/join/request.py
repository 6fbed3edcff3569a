"""Join policy: the join request, bootstrap tokens as k3s writes them, the stale-node rule.

Bootstrap tokens match `k3s token create`: id [a-z0-9]{6}, secret [a-z0-9]{16}, secret
`bootstrap-token-<id>` in kube-system of type bootstrap.kubernetes.io/token with
token-id, token-secret, expiration (RFC 3339, UTC), usage-bootstrap-{signing,authentication}
"true" and auth-extra-groups `system:bootstrappers:k3s:default-node-token`. The token the
agent gets is the k3s "secure" form `K10<sha256 of the CA PEM>::<id>.<secret>`, so the
agent authenticates the server before sending the credential.
"""
from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from nodepool.core.errors import InvalidInput
from nodepool.core.inputs import check_depth, check_hostname
from nodepool.core.k3s import BOOTSTRAP_GROUP
from nodepool.core.model import Instance
from nodepool.core.records import NodeRecord
from nodepool.identity.attestation import parse_attested

CA_HASH = re.compile(r"^[0-9a-f]{64}$")
TOKEN_ID = re.compile(r"^[a-z0-9]{6}$")
_ALPHABET = string.ascii_lowercase + string.digits


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
