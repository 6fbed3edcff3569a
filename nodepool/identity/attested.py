"""Attested join: nonces out, attested documents in, per-node credentials minted and checked.

The use cases behind `POST /api/join/nonce`, the attestation step of `POST /api/join`, and the
node-credential check of `leave`, `events` and the agent's status polls. Talks only to ports.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from nodepool.core.errors import AlreadyExists, Conflict, Unavailable
from nodepool.core.model import Instance
from nodepool.identity import attestation as att
from nodepool.identity import credential as node_credential
from nodepool.identity.attestation import DEFAULT_TTL_S, AttestationRefused, AttestedClaims, issue, well_formed
from nodepool.identity.credential import NodeCredentialRecord
from nodepool.identity.ports import AttestationVerifier, NodeCredentials, NonceStore


@dataclass(frozen=True)
class AttestationPolicy:
    nonce_ttl_s: int = DEFAULT_TTL_S
    subscription_id: str | None = None  # when set, documents from other subscriptions are refused


@dataclass(frozen=True)
class Attested:
    instance: Instance
    claims: AttestedClaims
    credential: str  # the new node credential: returned to the node once, stored only as a hash
    record: NodeCredentialRecord  # what `adopt` stores

    def response_fields(self) -> dict:
        return {"node_credential": self.credential, "vm_id": self.instance.vm_id}


class AttestedJoin:
    def __init__(self, verifier: AttestationVerifier, nonces: NonceStore, credentials: NodeCredentials,
                 policy: AttestationPolicy = AttestationPolicy()):
        self.verifier, self.nonces, self.credentials, self.policy = verifier, nonces, credentials, policy

    def issue_nonce(self, hostname: str, now: datetime) -> dict:
        for _ in range(3):  # a 128-bit collision twice in a row is a broken random source
            record = issue(hostname, now, self.policy.nonce_ttl_s)
            try:
                self.nonces.add(record)
            except AlreadyExists:
                continue
            return {"nonce": record.nonce, "expires_at": record.expires_at.isoformat()}
        raise Unavailable("could not issue a unique nonce: the random source repeats itself", code="nonce_unavailable")

    def verify(self, hostname: str, document: object, now: datetime) -> AttestedClaims:
        """The document's claims, checked in the documented order up to its expiry (signature, chain,
        signer name, nonce, expiry); the nonce is spent before the checks after it, so a refused
        document cannot be tried again. AttestationRefused (403) carries the reason code."""
        if document is None:
            raise AttestationRefused("this request needs an attested document (POST /api/join/nonce, then IMDS)",
                                     code=att.MISSING)
        claims = self.verifier.verify(document, now)
        record = self.nonces.get(claims.nonce) if well_formed(claims.nonce) else None
        issued = att.check_nonce(record, hostname, now)
        try:
            self.nonces.mark_used(issued, now)
        except Conflict:  # another join spent it between our read and our write
            raise AttestationRefused("the document's nonce was already used", code=att.NONCE_REPLAYED) from None
        att.check_document(claims, now, self.policy.subscription_id)
        return claims

    def bind(self, claims: AttestedClaims, hostname: str, candidates: Iterable[Instance], now: datetime) -> Attested:
        """The last check (the instance called `hostname` among `candidates` has the attested vmId), and a
        credential minted for it. The credential counts only once `adopt`ed: the join adopts it when
        everything else succeeded, so a join that fails later leaves the node's current one working."""
        instance = att.attested_instance(claims, hostname, candidates)
        secret, record = node_credential.mint(hostname, instance.vm_id, now)
        return Attested(instance, claims, secret, record)

    def attest_vm(self, name: str, document: object, vm_id: str, now: datetime) -> AttestedClaims:
        """A VM outside the scale set (the master): the document must carry exactly `vm_id`."""
        claims = self.verify(name, document, now)
        att.check_vm(claims, vm_id)
        return claims

    def adopt(self, attested: Attested) -> None:
        """Make the minted credential the node's one (replacing, so the previous one stops working)."""
        self.credentials.put(attested.record)

    def authenticate(self, hostname: str, presented: str | None) -> NodeCredentialRecord:
        """This node's credential record when `presented` is its current credential (401/403 otherwise)."""
        return node_credential.verify(self.credentials.get(hostname), presented, hostname)
