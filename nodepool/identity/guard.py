"""Who may act on a node: the agent identity plus that node's own credential, checked cheaply.

The managed-identity token (verified by the trigger) proves "a VM of the scale set"; the node
credential proves "the VM that attested as this node". A check costs no IMDS or ARM round trip:
a credential seen recently for a node is compared against the cached hash in-process, and
storage is read only on a miss (first call, expiry, or a credential that differs from the cached
one, as after a re-join through another worker). A credential rotated elsewhere stays accepted
here for at most `ttl_s`; a re-join through this worker replaces the cached hash at once.
"""
from __future__ import annotations

import hmac
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from nodepool.core.audit import Actor
from nodepool.core.inputs import check_hostname
from nodepool.core.model import Caller
from nodepool.identity import credential as node_credential
from nodepool.identity.credential import NodeCredentialRecord
from nodepool.identity.ports import NodeCredentials

CACHE_TTL_S = 60


@dataclass(frozen=True)
class NodeClaim:
    """What a node's request presents: the verified caller and the X-Node-Credential header."""
    caller: Caller
    credential: str | None


@dataclass(frozen=True)
class NodeActor:
    """A caller proven to be `node`'s VM (vmId of its attested join)."""
    caller: Caller
    node: str
    vm_id: str
    credential_id: str

    @property
    def actor(self) -> Actor:
        return Actor.of(self.caller, self.credential_id)


class NodeGuard:
    def __init__(self, credentials: NodeCredentials, ttl_s: float = CACHE_TTL_S):
        self.credentials = credentials
        self._ttl = timedelta(seconds=ttl_s)
        self._cache: dict[str, tuple[NodeCredentialRecord, datetime]] = {}
        self._lock = threading.Lock()
        self.reads = 0  # storage reads so far (the event path's cost)

    def authenticate(self, claim: NodeClaim, hostname: str, now: datetime) -> NodeActor:
        """`claim`'s caller acts as `hostname` only with `hostname`'s current credential (401/403 otherwise)."""
        hostname = check_hostname(hostname)
        record = self._cached(hostname, claim.credential, now)
        if record is None:
            self.reads += 1
            record = node_credential.verify(self.credentials.get(hostname), claim.credential, hostname)
            self.remember(record, now)
        return NodeActor(claim.caller, hostname, record.vm_id, record.credential_id)

    def remember(self, record: NodeCredentialRecord, now: datetime) -> None:
        """A credential just adopted (or verified): later checks on this worker need no read."""
        with self._lock:
            self._cache[record.hostname] = (record, now)

    def forget(self, hostname: str) -> None:
        with self._lock:
            self._cache.pop(hostname, None)

    def _cached(self, hostname: str, presented: str | None, now: datetime) -> NodeCredentialRecord | None:
        if not presented:
            return None  # verify() refuses it with the right code
        with self._lock:
            hit = self._cache.get(hostname)
        if hit is None or now - hit[1] >= self._ttl:
            return None
        record = hit[0]
        return record if hmac.compare_digest(node_credential.digest(presented), record.digest) else None
