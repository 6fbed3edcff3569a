"""AttestationVerifier: the cryptographic checks on an IMDS attested document, in this order.

1. The PKCS7 signature over the content, with the signer certificate in the bundle. Checked
   first and always: a chain check alone accepts any content wrapped around a public certificate.
2. The signer's chain to a trusted root, at `now`. Production trusts the platform's public roots
   (certifi's Mozilla bundle, which holds the DigiCert and Microsoft roots Azure chains to);
   intermediates are never pinned: they come from the document, plus optional extra untrusted
   ones (Azure may omit the intermediate from the bundle). The simulator's root is trusted only
   when NODEPOOL_ATTESTATION_ROOTS names its file.
3. The signer's DNS name: metadata.azure.com or a subdomain (sovereign clouds by setting).
Then the content must parse as attested data. The checks that need no crypto are pure
(nodepool/identity/attestation.py).
"""
from __future__ import annotations

import base64
import binascii
import re
import warnings
from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import Criticality, ExtensionPolicy, PolicyBuilder, Store, VerificationError

from nodepool.adapters.pkcs7 import BadSignature, Malformed, open_signed
from nodepool.identity import attestation as att
from nodepool.identity.attestation import AttestationRefused, AttestedClaims

MAX_DOCUMENT = 32 * 1024  # Azure's are ~5 KiB of base64


PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


def load_pem_bundle(path: str) -> list[x509.Certificate]:
    """Every certificate of a PEM bundle that this cryptography still reads; one odd root (a public
    bundle has a few with non-positive serials) never costs the rest."""
    with open(path, "rb") as handle:
        blocks = PEM_BLOCK.findall(handle.read())
    certs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for block in blocks:
            try:
                certs.append(x509.load_pem_x509_certificate(block))
            except ValueError:
                continue
    return certs


def platform_roots() -> list[x509.Certificate]:
    import certifi  # shipped with requests: the public roots, updated with the app's dependencies
    return load_pem_bundle(certifi.where())


class PkcsAttestationVerifier:
    def __init__(self, roots: Sequence[x509.Certificate], signer_names: Sequence[str] = att.PUBLIC_SIGNERS,
                 intermediates: Sequence[x509.Certificate] = ()):
        if not roots:
            raise ValueError("no trusted roots for attested documents")
        self._store, self._names, self._extra = Store(list(roots)), tuple(signer_names), list(intermediates)
        # Azure signs with its TLS certificate (serverAuth): the client-verifier profile's
        # clientAuth requirement does not apply, every other web-PKI rule does.
        self._ee = ExtensionPolicy.webpki_defaults_ee().may_be_present(
            x509.ExtendedKeyUsage, Criticality.AGNOSTIC, None)

    def verify(self, document: object, now: datetime) -> AttestedClaims:
        signed = self._open(document)
        chain = self._chain(signed.signer, [c for c in signed.certificates if c is not signed.signer], now)
        names = [n.value for n in chain.subjects or () if isinstance(n, x509.DNSName)] or _common_names(signed.signer)
        if not att.signer_name_allowed(names, self._names):
            raise AttestationRefused(f"the document is signed for {', '.join(names) or 'no name'}, not for "
                                     f"{' or '.join(self._names)}", code=att.SIGNER_NAME)
        return att.parse_claims(signed.content)

    def _open(self, document: object):
        signature = document.get("signature") if isinstance(document, dict) else None
        if not isinstance(document, dict) or not isinstance(signature, str) or not signature \
                or len(signature) > MAX_DOCUMENT:
            raise AttestationRefused("the attested document has no usable signature field", code=att.MALFORMED)
        if str(document.get("encoding", "pkcs7")).lower() != "pkcs7":
            raise AttestationRefused("the attested document is not pkcs7", code=att.MALFORMED)
        try:
            return open_signed(base64.b64decode(signature, validate=True))
        except (binascii.Error, Malformed) as err:
            raise AttestationRefused(f"the attested document is not a readable PKCS7 ({err})",
                                     code=att.MALFORMED) from None
        except BadSignature as err:
            raise AttestationRefused(f"the attested document's signature is invalid: {err}",
                                     code=att.SIGNATURE) from None

    def _chain(self, leaf: x509.Certificate, bundled: list[x509.Certificate], now: datetime):
        verifier = (PolicyBuilder().store(self._store).time(now)
                    .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(), ee_policy=self._ee)
                    .build_client_verifier())
        try:
            return verifier.verify(leaf, bundled + self._extra)
        except VerificationError as err:
            raise AttestationRefused(f"the document's signer does not chain to a trusted root ({err})",
                                     code=att.CHAIN) from None


def _common_names(cert: x509.Certificate) -> list[str]:
    return [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]


def verifier_from_settings(settings) -> PkcsAttestationVerifier:
    roots = load_pem_bundle(settings.attestation_roots) if settings.attestation_roots else platform_roots()
    extra = load_pem_bundle(settings.attestation_intermediates) if settings.attestation_intermediates else []
    return PkcsAttestationVerifier(roots, settings.attestation_signers, extra)
