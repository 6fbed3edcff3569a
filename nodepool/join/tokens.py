"""Tidy join tokens: delete bootstrap-token secrets and rows that expired or were used.

Kubernetes expires bootstrap tokens itself; we delete them anyway so neither side
accumulates, and revoke a token as soon as its node is up (single use in effect).
"""
from __future__ import annotations

from datetime import datetime

from nodepool.core.cluster import RegisteredCluster
from nodepool.core.errors import NodepoolError
from nodepool.core.k3s import KUBE_SYSTEM, bootstrap_secret_name
from nodepool.core.logs import logger
from nodepool.core.ports import Kube, Registry
from nodepool.identity.ports import NonceStore

log = logger(__name__)


class TokenCleaner:
    """The token timer's use case; before the master registers only rows that expired go. Join
    nonces past their expiry go too (used or not, they can never be spent again)."""

    def __init__(self, registry: Registry, cluster: RegisteredCluster, nonces: NonceStore | None = None):
        self.registry, self.cluster, self.nonces = registry, cluster, nonces

    def clean(self, now: datetime) -> dict:
        result = clean_join_tokens(self.registry, self.cluster.kube_or_none(now), now)
        if self.nonces is not None:
            try:
                result["nonces_removed"] = self.nonces.delete_expired(now)
            except NodepoolError as err:
                log.warning("nonce cleanup failed", extra={"error": err.code})
        return result


def clean_join_tokens(registry: Registry, kube: Kube | None, now: datetime) -> dict:
    removed = kept = failed = 0
    for token in registry.join_tokens():
        expired = token.expires_at <= now
        try:
            node = kube.node(token.node) if kube and not expired else None
            if not expired and not (node and node.ready):
                kept += 1
                continue
            if kube:
                kube.delete_secret(KUBE_SYSTEM, bootstrap_secret_name(token.token_id))
            registry.delete_join_token(token.token_id)
            removed += 1
        except NodepoolError as err:  # one bad token never stops the sweep
            failed += 1
            log.warning("token cleanup failed", extra={"token_id": token.token_id, "error": err.code})
    return {"removed": removed, "kept": kept, "failed": failed}
