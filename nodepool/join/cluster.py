"""Validation of the master's registration (POST /api/cluster)."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from nodepool.core.errors import InvalidInput
from nodepool.core.records import ClusterInfo
from nodepool.identity.attestation import parse_attested
from nodepool.join.request import CA_HASH

K3S_VERSION = re.compile(r"^v\d+\.\d+\.\d+(\+k3s\d+)?$")


def _text(body: dict, key: str, limit: int, required: bool = True) -> str:
    value = body.get(key, "")
    if not isinstance(value, str) or len(value) > limit or (required and not value.strip()):
        raise InvalidInput(f"{key} must be a non-empty string of at most {limit} characters", code=f"invalid_{key}")
    return value.strip()


@dataclass(frozen=True)
class Registration:
    server: str
    ca_hash: str
    ca_cert: str
    k3s_version: str
    credential: str = field(repr=False)
    agent_token: str = field(repr=False)
    attested: dict | None = field(default=None, repr=False, compare=False)  # the master VM's attested document

    @classmethod
    def from_json(cls, body: Any) -> "Registration":
        if not isinstance(body, dict):
            raise InvalidInput("body must be a JSON object")
        server = _text(body, "server", 512)
        parts = urlsplit(server)
        if parts.scheme != "https" or not parts.hostname:
            raise InvalidInput("server must be an https:// URL", code="invalid_server")
        ca_hash = _text(body, "ca_hash", 64).lower()
        ca_cert = _text(body, "ca_cert", 16384)
        if not CA_HASH.match(ca_hash):
            raise InvalidInput("ca_hash must be 64 hex digits (sha256)", code="invalid_ca_hash")
        if "BEGIN CERTIFICATE" not in ca_cert:
            raise InvalidInput("ca_cert must be a PEM certificate", code="invalid_ca_cert")
        if hashlib.sha256(body["ca_cert"].encode()).hexdigest() != ca_hash:
            raise InvalidInput("ca_hash is not the sha256 of ca_cert as sent", code="ca_hash_mismatch")
        version = _text(body, "k3s_version", 64)
        if not K3S_VERSION.match(version):
            raise InvalidInput("k3s_version must look like v1.31.4+k3s1", code="invalid_k3s_version")
        return cls(server.rstrip("/"), ca_hash, body["ca_cert"], version,
                   _text(body, "credential", 8192), _text(body, "agent_token", 1024, required=False),
                   parse_attested(body))

    def to_cluster(self, now: datetime) -> ClusterInfo:
        return ClusterInfo(server=self.server, ca_hash=self.ca_hash, ca_cert=self.ca_cert,
                           k3s_version=self.k3s_version, registered_at=now,
                           credential=self.credential, agent_token=self.agent_token)
