"""Find the certificates between an attested document's signer and a trusted root.

Azure embeds only the signing leaf. Its issuers come, in this order, from the document itself, the
known intermediates (the bundled set, then NODEPOOL_ATTESTATION_INTERMEDIATES) and last the "CA
Issuers" URL of the certificate's AIA extension (fetched, allow-listed, cached: aia.py). A
candidate counts only when its name matches, it is valid at `now` and its key verifies the child's
signature, so a stale bundled copy or a planted look-alike only means a fetch. None of these is
trusted: they only let the path validator (cryptography's) find a path to a root.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.x509.oid import AuthorityInformationAccessOID

from nodepool.adapters.aia import AiaFetcher
from nodepool.adapters.pem import common_name

MAX_DEPTH = 4  # leaf -> issuing CA -> cross-signed root -> root is Azure's longest today
MAX_URLS = 2  # Azure's leaves name two (www.microsoft.com, caissuers.microsoft.com)


class MissingIssuer(Exception):
    """No certificate that issued `child` could be found: the chain cannot be built."""


class IssuerDown(Exception):
    """The issuer is only at an AIA URL whose host did not answer."""


@dataclass(frozen=True)
class Known:
    cert: x509.Certificate
    source: str  # bundled | setting


class Signatures:
    """Which certificate's key signed which: a pure function of the two, so remembered (by fingerprint) once
    checked; every document of a region has the same leaf. It only picks candidates: cryptography's path
    validation checks every signature of the path again."""

    def __init__(self, limit: int = 1024):
        self._seen: dict[tuple[bytes, bytes], bool] = {}
        self._limit = limit

    def issued(self, child: x509.Certificate, parent: x509.Certificate, now: datetime) -> bool:
        if parent.subject.public_bytes() != child.issuer.public_bytes() \
                or not parent.not_valid_before_utc <= now <= parent.not_valid_after_utc:
            return False
        key = (child.fingerprint(SHA256()), parent.fingerprint(SHA256()))
        if key not in self._seen:
            if len(self._seen) >= self._limit:
                self._seen.clear()
            self._seen[key] = _signed_by(child, parent)
        return self._seen[key]


def _signed_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    try:
        child.verify_directly_issued_by(parent)
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return True


def ca_issuer_urls(cert: x509.Certificate) -> list[str]:
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return []
    return [d.access_location.value for d in aia if d.access_method == AuthorityInformationAccessOID.CA_ISSUERS
            and isinstance(d.access_location, x509.UniformResourceIdentifier)][:MAX_URLS]


class Issuers:
    def __init__(self, roots: Sequence[x509.Certificate], known: Sequence[Known] = (),
                 fetcher: AiaFetcher | None = None):
        self._roots: dict[bytes, list[x509.Certificate]] = defaultdict(list)
        for root in roots:
            self._roots[root.subject.public_bytes()].append(root)
        self.known, self.fetcher, self._signatures = tuple(known), fetcher, Signatures()

    def path(self, leaf: x509.Certificate, document: Sequence[x509.Certificate],
             now: datetime) -> list[x509.Certificate]:
        """The untrusted certificates from `leaf`'s issuer up to (not including) a trusted root."""
        pool = [c for c in document if c is not leaf] + [k.cert for k in self.known]
        found: list[x509.Certificate] = []
        child, issued = leaf, self._signatures.issued
        for _ in range(MAX_DEPTH):
            if any(issued(child, root, now) for root in self._roots.get(child.issuer.public_bytes(), ())):
                return found
            parent = next((c for c in pool if c != child and issued(child, c, now)), None) \
                or self._fetch(child, now)
            found.append(parent)
            child = parent
        raise MissingIssuer(f"no trusted root within {MAX_DEPTH} certificates of {common_name(leaf)}")

    def _fetch(self, child: x509.Certificate, now: datetime) -> x509.Certificate:
        wanted = _issuer_name(child)
        if child.issuer == child.subject:
            raise MissingIssuer(f"{wanted} is self-signed and not a trusted root")
        urls = ca_issuer_urls(child)
        if self.fetcher is None or not urls:
            raise MissingIssuer(f"{wanted}, the issuer of {common_name(child)}, is neither a trusted root nor in the "
                                f"document or the known intermediates, and {common_name(child)} has no AIA URL"
                                f"{' we may fetch' if urls else ''}")
        problems, down = [], False
        for url in urls:
            outcome = self.fetcher.fetch(url)
            if outcome.cert is not None and self._signatures.issued(child, outcome.cert, now):
                return outcome.cert
            problems.append(outcome.why or f"{url} sent a certificate that did not issue {common_name(child)}")
            down = down or outcome.down
        message = (f"{wanted}, the issuer of {common_name(child)}, is neither a trusted root nor in the document or "
                   f"the known intermediates, and its AIA URLs gave nothing: {'; '.join(problems)}")
        raise IssuerDown(message) if down else MissingIssuer(message)

    def describe(self, now: datetime) -> list[dict]:
        """Each intermediate known to this process: from the bundle, the setting, or fetched."""
        known = [(k.cert, k.source, "") for k in self.known]
        fetched = [(cert, "fetched", url) for url, cert in (self.fetcher.cached() if self.fetcher else [])]
        return [{"subject": common_name(c), "issuer": _issuer_name(c), "source": source,
                 **({"url": url} if url else {}), "not_after": c.not_valid_after_utc.isoformat(),
                 "valid_now": c.not_valid_after_utc > now}
                for c, source, url in known + fetched]


def _issuer_name(cert: x509.Certificate) -> str:
    names = cert.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.issuer.rfc4514_string()
