"""Attested join, the pure part: the nonces we hand out, what a verified IMDS attested document says,
and the checks on it that need no cryptography (signer name, nonce, expiry, vmId against the scale set).

Nonces are issued by us to one host, single use, short-lived. IMDS takes a nonce of at most 32
alphanumeric characters and signs it into the attested document, so a document answers exactly one
challenge: 32 hex characters (128 random bits).

The order of all checks, each with its own reason code (the cryptographic ones are in
nodepool/adapters/attestation.py): malformed (400: bytes that are no IMDS document) -> signature ->
chain (503 when the issuer's PKI host did not answer) -> signer name -> nonce (unknown, other host,
expired, replayed) -> document expired -> vmId (not in the scale set, another instance's); every
refusal but malformed is a 403. `now` is always a parameter.
"""
from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from nodepool.core.errors import Forbidden, InvalidInput, Unavailable
from nodepool.core.model import Instance

MALFORMED = "attestation_malformed"
SIGNATURE = "attestation_signature"
CHAIN = "attestation_untrusted_signer"
ISSUER_UNAVAILABLE = "attestation_issuer_unavailable"
SIGNER_NAME = "attestation_signer_name"
NONCE_UNKNOWN = "attestation_nonce_unknown"
NONCE_OTHER_HOST = "attestation_nonce_other_host"
NONCE_EXPIRED = "attestation_nonce_expired"
NONCE_REPLAYED = "attestation_nonce_replayed"
EXPIRED = "attestation_expired"
SUBSCRIPTION = "attestation_subscription"
VM_UNKNOWN = "attestation_vm_not_in_scale_set"
VM_MISMATCH = "attestation_vm_other_instance"

TIME_FORMAT = "%m/%d/%y %H:%M:%S %z"  # "11/28/18 06:16:17 -0000"
MISSING = "attestation_missing"
NOT_MASTER = "attestation_not_master_vm"
MAX_DOCUMENT = 16 * 1024  # an attested document is ~4 KiB of base64
PUBLIC_SIGNERS = ("metadata.azure.com",)  # sovereign clouds: metadata.azure.us, metadata.azure.cn, ...
# Where the AIA URLs of Azure's signing certificates and their CAs point (Microsoft's and DigiCert's PKI).
PKI_HOSTS = ("www.microsoft.com", "caissuers.microsoft.com", "cacerts.digicert.com")


NONCE_RE = re.compile(r"^[0-9a-f]{32}$")
DEFAULT_TTL_S = 120


@dataclass(frozen=True)
class NonceRecord:
    nonce: str
    hostname: str
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    etag: str | None = None

    def used(self, now: datetime) -> NonceRecord:
        return replace(self, used_at=now)


def issue(hostname: str, now: datetime, ttl_s: int = DEFAULT_TTL_S,
          token: Callable[[int], str] = secrets.token_hex) -> NonceRecord:
    return NonceRecord(nonce=token(16), hostname=hostname, issued_at=now, expires_at=now + timedelta(seconds=ttl_s))


def well_formed(nonce: object) -> bool:
    """Only our own shape is ever looked up: anything else is refused before storage is asked."""
    return isinstance(nonce, str) and bool(NONCE_RE.match(nonce))


class AttestationRefused(Forbidden):
    """The document does not prove that the caller is the VM it claims to be; `code` says why."""


class AttestationMalformed(InvalidInput):
    """The bytes are not an attested document at all (400): unreadable, truncated, corrupted."""

    def __init__(self, message: str):
        super().__init__(message, code=MALFORMED)


class IssuerUnavailable(Unavailable):
    """The signer's issuer had to be fetched from its PKI host, which did not answer: try again."""

    def __init__(self, message: str):
        super().__init__(message, code=ISSUER_UNAVAILABLE, retry_after=30)


@dataclass(frozen=True)
class AttestedClaims:
    vm_id: str
    nonce: str
    subscription_id: str
    sku: str
    created_on: datetime
    expires_on: datetime
    plan: dict


def parse_claims(content: bytes) -> AttestedClaims:
    """The signed JSON content; AttestationMalformed for anything else."""
    try:
        doc = json.loads(content.decode("utf-8"))
        stamp, plan = doc["timeStamp"], doc.get("plan")
        claims = AttestedClaims(
            vm_id=_text(doc["vmId"]), nonce=_text(doc["nonce"]), subscription_id=_text(doc.get("subscriptionId", "")),
            sku=_text(doc.get("sku", "")), created_on=parse_time(stamp["createdOn"]),
            expires_on=parse_time(stamp["expiresOn"]), plan=plan if isinstance(plan, dict) else {})
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
        raise AttestationMalformed(f"attested content is not the expected JSON ({type(err).__name__})") from None
    if not claims.vm_id or not claims.nonce:
        raise AttestationMalformed("attested content has no vmId or nonce")
    return claims


def parse_attested(body: dict) -> dict | None:
    """The request's "attested" member: IMDS's document object, or None when absent (refused later)."""
    doc = body.get("attested")
    if doc is not None and (not isinstance(doc, dict) or len(json.dumps(doc)) > MAX_DOCUMENT):
        raise InvalidInput("attested must be IMDS's attested document object", code="invalid_attested")
    return doc


def parse_time(text: str) -> datetime:
    if not isinstance(text, str):
        raise ValueError("not a time string")
    return datetime.strptime(text.strip(), TIME_FORMAT).astimezone(timezone.utc)


def _text(value) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def signer_name_allowed(names: Iterable[str], allowed: Sequence[str] = PUBLIC_SIGNERS) -> bool:
    """Some DNS name of the signer is one of `allowed` or a subdomain of one (eastus.metadata.azure.com)."""
    suffixes = [a.lower().strip(".") for a in allowed if a.strip(".")]
    for name in names:
        name = name.lower().rstrip(".")
        if "*" in name:
            continue
        if any(name == s or name.endswith("." + s) for s in suffixes):
            return True
    return False


def check_nonce(record: NonceRecord | None, hostname: str, now: datetime) -> NonceRecord:
    """The nonce must be ours, issued for this host, fresh and unused (consuming it is the caller's write)."""
    if record is None:
        raise AttestationRefused("the document's nonce was not issued by this control plane", code=NONCE_UNKNOWN)
    if record.hostname != hostname:
        raise AttestationRefused("the document's nonce was issued for another node", code=NONCE_OTHER_HOST)
    if record.used_at is not None:
        raise AttestationRefused("the document's nonce was already used", code=NONCE_REPLAYED)
    if now >= record.expires_at:
        raise AttestationRefused("the document's nonce expired", code=NONCE_EXPIRED)
    return record


def check_document(claims: AttestedClaims, now: datetime, subscription_id: str | None = None) -> None:
    if now >= claims.expires_on:
        raise AttestationRefused("the attested document expired", code=EXPIRED)
    if subscription_id and claims.subscription_id.lower() != subscription_id.lower():
        raise AttestationRefused("the attested document is from another subscription", code=SUBSCRIPTION)


def check_vm(claims: AttestedClaims, vm_id: str) -> None:
    """The master's registration: the document must be the master VM's own (NODEPOOL_MASTER_VM_ID)."""
    if claims.vm_id.lower() != vm_id.lower():
        raise AttestationRefused("the attested vmId is not the master VM's", code=NOT_MASTER)


def attested_instance(claims: AttestedClaims, hostname: str, instances: Iterable[Instance]) -> Instance:
    """The scale-set instance whose computer name is `hostname` must have the attested vmId."""
    vm_id, listed = claims.vm_id.lower(), list(instances)
    by_vm = [i for i in listed if i.vm_id and i.vm_id.lower() == vm_id]
    if not by_vm:
        raise AttestationRefused("the attested vmId is not an instance of the scale set", code=VM_UNKNOWN)
    mine = [i for i in by_vm if i.name.lower() == hostname.lower()]
    if not mine:
        raise AttestationRefused(f"the attested vmId belongs to another instance than {hostname}", code=VM_MISMATCH)
    return mine[0]
