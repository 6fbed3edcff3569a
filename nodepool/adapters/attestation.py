"""AttestationVerifier: the cryptographic checks on an IMDS attested document, in this order.

1. The PKCS7 signature over the content, with the signer certificate in the bundle (pkcs7.py).
   Checked first and always: a chain check alone accepts any content wrapped around a public
   certificate. Unreadable bytes of any kind are attestation_malformed (400).
2. The signer's chain to a trusted root, at `now`, as a TLS server certificate for its DNS name
   (Azure signs with its TLS certificate: serverAuth, and so are its issuing CAs). Production
   trusts the platform's public roots (certifi: DigiCert Global Root G2 holds Microsoft's G2
   chain through a cross-signature). The path is found by issuers.py: the document (Azure's holds
   only the leaf), the bundled intermediates, NODEPOOL_ATTESTATION_INTERMEDIATES, then the AIA URL.
   The simulator's root is trusted only when NODEPOOL_ATTESTATION_ROOTS names its file.
3. The signer's DNS name: metadata.azure.com or a subdomain (sovereign clouds by setting).
Then the content must parse as attested data. The checks that need no crypto are pure
(nodepool/identity/attestation.py).
"""
from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from cryptography.x509.verification import DNSName, PolicyBuilder, Store, VerificationError

from nodepool.adapters.aia import AiaFetcher
from nodepool.adapters.issuers import IssuerDown, Issuers, Known, MissingIssuer
from nodepool.adapters.pem import Bundle, load_bundle, load_pem_bundle
from nodepool.adapters.pkcs7 import READ_ERRORS, BadSignature, Malformed, Signed, open_signed
from nodepool.identity import attestation as att
from nodepool.identity.attestation import AttestationMalformed, AttestationRefused, AttestedClaims, IssuerUnavailable

MAX_DOCUMENT = 32 * 1024  # Azure's are ~5 KiB of base64


def platform_roots() -> list[x509.Certificate]:
    import certifi  # shipped with requests: the public roots, updated with the app's dependencies
    return load_pem_bundle(certifi.where())


class PkcsAttestationVerifier:
    def __init__(self, roots: Sequence[x509.Certificate], signer_names: Sequence[str] = att.PUBLIC_SIGNERS,
                 intermediates: Sequence[x509.Certificate] = (), *, fetcher: AiaFetcher | None = None,
                 bundle: Bundle | None = None, roots_source: str = "given"):
        if not roots:
            raise ValueError("no trusted roots for attested documents")
        self._store, self._names = Store(list(roots)), tuple(signer_names)
        known = [Known(c, "bundled") for c in (bundle.certificates if bundle else ())]
        self.issuers = Issuers(roots, known + [Known(c, "setting") for c in intermediates], fetcher)
        self._bundle, self._roots = bundle, (roots_source, len(roots))

    def verify(self, document: object, now: datetime) -> AttestedClaims:
        signed = self._open(document)
        try:
            names = [n for n in _dns_names(signed.signer) if "*" not in n]
            allowed = [n for n in names if att.signer_name_allowed([n], self._names)]
            if not names:
                raise AttestationRefused("the document's signer names no DNS name", code=att.SIGNER_NAME)
            self._chain(signed, (allowed or names)[0], now)
        except READ_ERRORS as err:
            raise AttestationMalformed(f"the document's certificate is not readable ({type(err).__name__})") from None
        if not allowed:
            raise AttestationRefused(f"the document is signed for {', '.join(names)}, not for "
                                     f"{' or '.join(self._names)}", code=att.SIGNER_NAME)
        return att.parse_claims(signed.content)

    def describe(self, now: datetime) -> dict:
        """What this verifier trusts and knows, for the operator (GET /api/status)."""
        source, count = self._roots
        fetcher = self.issuers.fetcher
        return {"roots": {"source": source, "count": count}, "signers": list(self._names),
                "bundle": self._bundle.describe(now) if self._bundle else {
                    "missing": "no bundled intermediates: run `python3 tasks.py intermediates` (publish does)"},
                "intermediates": self.issuers.describe(now),
                "aia_hosts": list(fetcher.hosts) if fetcher else [], "aia_requests": fetcher.requests if fetcher else 0}

    def _open(self, document: object) -> Signed:
        signature = document.get("signature") if isinstance(document, dict) else None
        if not isinstance(document, dict) or not isinstance(signature, str) or not signature \
                or len(signature) > MAX_DOCUMENT:
            raise AttestationMalformed("the attested document has no usable signature field")
        if str(document.get("encoding", "pkcs7")).lower() != "pkcs7":
            raise AttestationMalformed("the attested document is not pkcs7")
        try:
            return open_signed(base64.b64decode(signature, validate=True))
        except (binascii.Error, Malformed) as err:
            raise AttestationMalformed(f"the attested document is not a readable PKCS7 ({err})") from None
        except BadSignature as err:
            raise AttestationRefused(f"the attested document's signature is invalid: {err}",
                                     code=att.SIGNATURE) from None

    def _chain(self, signed: Signed, name: str, now: datetime) -> None:
        try:
            path = self.issuers.path(signed.signer, signed.certificates, now)
        except MissingIssuer as err:
            raise AttestationRefused(f"the document's signer does not chain to a trusted root: {err}",
                                     code=att.CHAIN) from None
        except IssuerDown as err:
            raise IssuerUnavailable(f"the document's signer chain cannot be completed now: {err}") from None
        verifier = PolicyBuilder().store(self._store).time(now).build_server_verifier(DNSName(name))
        try:
            verifier.verify(signed.signer, path)
        except VerificationError as err:
            raise AttestationRefused(f"the document's signer does not chain to a trusted root ({err})",
                                     code=att.CHAIN) from None


def _dns_names(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return san.get_values_for_type(x509.DNSName)


def verifier_from_settings(settings, bundle: Bundle | None = None) -> PkcsAttestationVerifier:
    """Production's verifier: `bundle` defaults to the bundled intermediates file (when built)."""
    if settings.attestation_roots:
        roots, source = load_pem_bundle(settings.attestation_roots), settings.attestation_roots
    else:
        roots, source = platform_roots(), "platform (certifi)"
    extra = load_pem_bundle(settings.attestation_intermediates) if settings.attestation_intermediates else []
    fetcher = AiaFetcher(settings.attestation_aia_hosts) if settings.attestation_aia_hosts else None
    return PkcsAttestationVerifier(roots, settings.attestation_signers, extra, fetcher=fetcher,
                                   bundle=bundle or load_bundle(), roots_source=source)
