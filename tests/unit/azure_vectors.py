"""The real Azure attested documents and Microsoft's CA certificates in ../shared/vectors/azure-attested/
(never committed here), read for tests; tests that need them skip, saying why, where they are missing.

`VectorPki` answers AIA URLs as Microsoft's PKI host does (the URLs written in the real certificates),
from those files, after the same allow-list check the production fetcher makes.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

import pytest
from asn1crypto import cms
from cryptography import x509

from nodepool.adapters import aia
from nodepool.adapters.pem import Bundle, common_name, load_pem_bundle
from nodepool.identity.attestation import PKI_HOSTS, parse_time

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT.parent / "shared" / "vectors" / "azure-attested"
needs_vectors = pytest.mark.skipif(
    not (VECTORS / "README.md").is_file(),
    reason=f"the real Azure vectors are not at {VECTORS} (../shared is not beside this checkout)")
XSIGN = "microsoft-tls-rsa-root-g2-xsign.pem"


@lru_cache(maxsize=None)
def documents() -> tuple[tuple[str, dict], ...]:
    """(file name, IMDS's JSON answer) of every real document."""
    return tuple((p.name, json.loads(p.read_text())) for p in sorted(VECTORS.glob("*.json")))


def der(document: dict) -> bytes:
    return base64.b64decode(document["signature"])


def content(document: dict) -> dict:
    return json.loads(cms.ContentInfo.load(der(document))["content"]["encap_content_info"]["content"].native)


def signed_at(document: dict) -> dt.datetime:
    """A minute after the document was made: its own time, when everything in it was valid."""
    return parse_time(content(document)["timeStamp"]["createdOn"]) + dt.timedelta(minutes=1)


@lru_cache(maxsize=None)
def intermediates() -> tuple[tuple[str, x509.Certificate], ...]:
    """(the name Microsoft's PKI serves it under, certificate): the issuing CAs and the cross-signed root."""
    out = [(common_name(c), c) for p in sorted(VECTORS.glob("microsoft-tls-g2-*.pem")) for c in load_pem_bundle(p)]
    return tuple(out + [("Microsoft TLS RSA Root G2 - xsign", c) for c in load_pem_bundle(VECTORS / XSIGN)])


def bundle() -> Bundle:
    """The vectors' intermediates as a bundled set (what `tasks.py intermediates` would write)."""
    return Bundle(VECTORS, tuple(c for _, c in intermediates()), "vectors")


class VectorPki:
    """An AiaFetcher stand-in: the real URLs, the real files, no network."""

    def __init__(self, hosts=PKI_HOSTS):
        self.hosts, self.requests, self.asked = tuple(hosts), 0, []
        self._by_url = {f"http://{host}/pkiops/certs/{quote(name)}.crt": cert
                        for name, cert in intermediates() for host in ("www.microsoft.com", "caissuers.microsoft.com")}

    def fetch(self, url: str) -> aia.Fetched:
        self.asked.append(url)
        why = aia.refusal(url, self.hosts)
        if why:
            return aia.Fetched(None, why)
        self.requests += 1
        cert = self._by_url.get(url)
        return aia.Fetched(cert) if cert else aia.Fetched(None, f"{url} answered 404")

    def cached(self) -> list:
        return []
