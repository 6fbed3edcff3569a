"""PEM certificate files: the trusted roots, extra intermediates, and the bundled intermediates.

The bundle (`attestation-intermediates.pem` beside this module) is built, never committed:
`python3 tasks.py intermediates` fetches Microsoft's current public intermediates and writes it, and
`publish` ships it. Its header says when it was fetched and from where; each certificate's comment
line names it. A missing or stale bundle costs only AIA fetches (nodepool/adapters/aia.py).
"""
from __future__ import annotations

import os
import re
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

BUNDLED = Path(__file__).with_name("attestation-intermediates.pem")
PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)
FETCHED_AT = re.compile(rb"^# fetched-at: (\S+)$", re.MULTILINE)


def load_pem_bundle(path: str | Path) -> list[x509.Certificate]:
    """Every certificate of a PEM bundle that this cryptography still reads; one odd root (a public
    bundle has a few with non-positive serials) never costs the rest."""
    return _certificates(Path(path).read_bytes())


def _certificates(data: bytes) -> list[x509.Certificate]:
    certs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for block in PEM_BLOCK.findall(data):
            try:
                certs.append(x509.load_pem_x509_certificate(block))
            except ValueError:
                continue
    return certs


def common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


@dataclass(frozen=True)
class Bundle:
    path: Path
    certificates: tuple[x509.Certificate, ...]
    fetched_at: str  # ISO time from the header ("" when the file has none)

    @property
    def expires(self) -> datetime | None:
        """When the first of its certificates expires: refresh before then."""
        return min((c.not_valid_after_utc for c in self.certificates), default=None)

    def describe(self, now: datetime) -> dict:
        expires = self.expires
        return {"path": str(self.path), "fetched_at": self.fetched_at, "count": len(self.certificates),
                "expires": expires.isoformat() if expires else None, "expired": bool(expires and expires <= now)}


def load_bundle(path: Path = BUNDLED) -> Bundle | None:
    """The bundled intermediates, or None when the file was never built."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    stamp = FETCHED_AT.search(data)
    return Bundle(path, tuple(_certificates(data)), stamp.group(1).decode() if stamp else "")


def write_bundle(path: Path, entries: Sequence[tuple[x509.Certificate, str]], fetched_at: datetime,
                 title: str) -> None:
    """(certificate, where it came from) entries, atomically: a reader sees the old file or the new one."""
    lines = [f"# {title}", f"# fetched-at: {fetched_at.isoformat()}", ""]
    for cert, origin in entries:
        lines += [f"# {common_name(cert)} (valid to {cert.not_valid_after_utc:%Y-%m-%d}; from {origin})",
                  cert.public_bytes(Encoding.PEM).decode().strip(), ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".intermediates-")
    with os.fdopen(handle, "w") as out:
        out.write("\n".join(lines))
    os.replace(temporary, path)
