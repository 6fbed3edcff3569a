"""The CA hash k3s pins in `K10<hash>::` tokens, computed as k3s computes it (standard library only).

k3s (pkg/clientaccess/token.go `hashCA`, docs/cli/token.md): a bundle of one certificate (the default
self-signed cluster CA) is hashed as the file's bytes; a bundle of several (a custom CA: the
intermediate, then its root) is hashed as the DER of the root that the first certificate chains to,
the roots being the later certificates without an authority key id or whose authority key id is their
own subject key id. When no such chain is found, k3s hashes the file's bytes after all.

Go's x509 Verify also checks the chain's signatures; the standard library cannot, so the chain is
built from names and key ids, and checked for validity in time. The bundle is the master's own
server-ca.crt, read from its disk: no third party chooses it.
"""
from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone

PEM = re.compile(rb"-----BEGIN CERTIFICATE-----\s+(.+?)\s+-----END CERTIFICATE-----", re.S)
SKI, AKI = "2.5.29.14", "2.5.29.35"


def ca_hash(bundle: bytes, now: datetime | None = None) -> str:
    blocks = [base64.b64decode(b"".join(m.group(1).split())) for m in PEM.finditer(bundle)]
    if len(blocks) > 1:
        try:
            certs = [Cert.parse(der) for der in blocks]
        except (ValueError, IndexError, KeyError):  # not certificates we can read: the file's bytes
            certs = []
        root = _root_of(certs[0], certs[1:], now or datetime.now(timezone.utc)) if certs else None
        if root is not None:
            return hashlib.sha256(root.der).hexdigest()
    return hashlib.sha256(bundle).hexdigest()


@dataclass(frozen=True)
class Cert:
    der: bytes
    issuer: bytes  # the Name's DER
    subject: bytes
    not_before: datetime
    not_after: datetime
    ski: bytes = b""
    aki: bytes = b""

    @classmethod
    def parse(cls, der: bytes) -> "Cert":
        tbs = _items(_value(_value(der)))  # Certificate -> tbsCertificate -> its fields
        if tbs[0][0] == 0xA0:
            tbs = tbs[1:]  # [0] version
        _, issuer, validity, subject = tbs[1:5]
        extensions = next((_items(_value(_value(f[1]))) for f in tbs[6:] if f[0] == 0xA3), [])
        ids = {}
        for ext in extensions:
            fields = _items(_value(ext[1]))
            ids[_oid(_value(fields[0][1]))] = _value(fields[-1][1])
        ski = _value(ids[SKI]) if SKI in ids else b""
        aki = next((_value(f[1]) for f in _items(_value(ids[AKI])) if f[0] == 0x80), b"") if AKI in ids else b""
        start, end = (_time(t) for t in _items(_value(validity[1])))
        return cls(der, issuer[1], subject[1], start, end, ski, aki)

    @property
    def root(self) -> bool:
        """What k3s counts as a root: no authority key id, or its own."""
        return not self.aki or self.aki == self.ski

    def issued(self, child: "Cert") -> bool:
        return child.issuer == self.subject and (not child.aki or not self.ski or child.aki == self.ski)


def _root_of(leaf: Cert, others: list[Cert], now: datetime) -> Cert | None:
    chain, current = [leaf], leaf
    while len(chain) <= len(others) + 1:
        if not current.not_before <= now <= current.not_after:
            return None
        parent = next((c for c in others if c not in chain and c.issued(current)), None)
        if parent is None:
            return None
        if parent.root:
            return parent if parent.not_before <= now <= parent.not_after else None
        chain.append(parent)
        current = parent
    return None


def _tlv(data: bytes, at: int = 0) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the DER element at `at`."""
    tag, size = data[at], data[at + 1]
    at += 2
    if size & 0x80:
        count = size & 0x7F
        size = int.from_bytes(data[at:at + count], "big")
        at += count
    return tag, at, at + size


def _value(element: bytes) -> bytes:
    _, start, end = _tlv(element)
    return element[start:end]


def _items(content: bytes) -> list[tuple[int, bytes]]:
    """The (tag, whole element) of each element in a constructed value."""
    out, at = [], 0
    while at < len(content):
        tag, _, end = _tlv(content, at)
        out.append((tag, content[at:end]))
        at = end
    return out


def _oid(raw: bytes) -> str:
    parts, value = [raw[0] // 40, raw[0] % 40], 0
    for byte in raw[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            parts.append(value)
            value = 0
    return ".".join(map(str, parts))


def _time(item: tuple[int, bytes]) -> datetime:
    tag, element = item
    text = _value(element).decode("ascii")
    stamp = datetime.strptime(text, "%y%m%d%H%M%SZ" if tag == 0x17 else "%Y%m%d%H%M%SZ")
    return stamp.replace(tzinfo=timezone.utc)
