"""Open a CMS (PKCS7) SignedData and verify its signature over the embedded content (RFC 5652 §5.4, §5.6).

`cryptography` builds PKCS7 signatures but cannot verify them, so asn1crypto parses the CMS
structure and `cryptography` does the public-key work. What is checked here, and nothing else:
plain data content and exactly one signer; its certificate is in the bundle (by issuer+serial or key identifier); with
signed attributes, their content-type matches and their message-digest equals the digest of the
content, and the signature covers the DER SET OF those attributes; without (as Azure signs), the
signature covers the content itself. Whether the certificate is trustworthy is the caller's next question.

Every way the bytes can be unreadable (bad DER, a certificate cryptography cannot load, a key it
cannot use) is Malformed, never another exception.
"""
from __future__ import annotations

import hashlib
import hmac
import warnings
from dataclasses import dataclass

from asn1crypto import cms
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.utils import CryptographyDeprecationWarning

HASHES: dict[str, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    "sha256": hashes.SHA256, "sha384": hashes.SHA384, "sha512": hashes.SHA512}  # no SHA-1
# SignerInfo.digestAlgorithm by OID. Azure writes sha256WithRSAEncryption there (RFC 5652 wants a plain
# digest OID, but OpenSSL and Go's pkcs7 read the hash out of it): the hash it names is what is used.
DIGESTS = {"2.16.840.1.101.3.4.2.1": "sha256", "2.16.840.1.101.3.4.2.2": "sha384", "2.16.840.1.101.3.4.2.3": "sha512",
           "1.2.840.113549.1.1.11": "sha256", "1.2.840.113549.1.1.12": "sha384", "1.2.840.113549.1.1.13": "sha512"}
# SignerInfo.signatureAlgorithm: (key type, the hash it names, None = the digest algorithm's). No PSS, no SHA-1.
SIGNATURES = {"1.2.840.113549.1.1.1": ("rsa", None), "1.2.840.113549.1.1.11": ("rsa", "sha256"),
              "1.2.840.113549.1.1.12": ("rsa", "sha384"), "1.2.840.113549.1.1.13": ("rsa", "sha512"),
              "1.2.840.10045.4.3.2": ("ecdsa", "sha256"), "1.2.840.10045.4.3.3": ("ecdsa", "sha384"),
              "1.2.840.10045.4.3.4": ("ecdsa", "sha512")}
# What asn1crypto and cryptography raise for bytes they cannot read (lazily, so also after loading).
READ_ERRORS: tuple[type[Exception], ...] = (
    ValueError, TypeError, KeyError, IndexError, OverflowError, UnsupportedAlgorithm, x509.InvalidVersion,
    x509.DuplicateExtension, x509.UnsupportedGeneralNameType)
# Reading a non-positive serial only warns (above, it is refused): the warning is ours to have seen.
warnings.filterwarnings("ignore", "Parsed a serial number which wasn't positive", CryptographyDeprecationWarning,
                        r"nodepool\.adapters\.pkcs7")


class Malformed(ValueError):
    """Not a SignedData we can read: not DER, no content, no signer, an algorithm we do not accept."""


class BadSignature(ValueError):
    """Readable, but the signature does not verify over the content with the signer's certificate."""


@dataclass(frozen=True)
class Signed:
    content: bytes
    signer: x509.Certificate
    certificates: tuple[x509.Certificate, ...]  # everything in the bundle, signer included


def open_signed(der: bytes) -> Signed:
    """The verified content and its signer; Malformed or BadSignature otherwise."""
    try:
        return _open(der)
    except (Malformed, BadSignature):
        raise
    except READ_ERRORS as err:
        raise Malformed(f"not a readable SignedData ({type(err).__name__})") from None


def load_certificate(der: bytes) -> x509.Certificate:
    """A certificate with every part read now (cryptography parses lazily): what the chain checks
    touch later cannot fail on unreadable bytes any more. READ_ERRORS otherwise."""
    cert = x509.load_der_x509_certificate(der)
    if cert.serial_number <= 0:  # RFC 5280 4.1.2.2; cryptography only warns today and will refuse it later
        raise Malformed("a certificate's serial number is not positive")
    cert.subject, cert.issuer, cert.public_key(), cert.not_valid_before_utc, cert.not_valid_after_utc  # noqa: B018
    for extension in cert.extensions:
        extension.value  # noqa: B018
    return cert


def _open(der: bytes) -> Signed:
    info = cms.ContentInfo.load(der, strict=True)
    if info["content_type"].native != "signed_data":
        raise Malformed("not a SignedData")
    signed = info["content"]
    if signed["encap_content_info"]["content_type"].native != "data":
        raise Malformed("the signed content is not plain data")
    content = signed["encap_content_info"]["content"].native
    certs = tuple(load_certificate(c.chosen.dump()) for c in signed["certificates"] if c.name == "certificate")
    signers = list(signed["signer_infos"])
    if not isinstance(content, bytes) or not content:
        raise Malformed("no embedded content")
    if len(signers) != 1:
        raise Malformed(f"{len(signers)} signers; exactly one expected")
    signer_info = signers[0]
    signer = _signer_certificate(signer_info["sid"], certs)
    digest_oid = signer_info["digest_algorithm"]["algorithm"].dotted
    if digest_oid not in DIGESTS:
        raise Malformed(f"digest algorithm {digest_oid} not accepted")
    digest_name = DIGESTS[digest_oid]
    signed_bytes = _signed_bytes(signer_info, content, digest_name)
    _verify(signer, signer_info, signed_bytes, digest_name)
    return Signed(content, signer, certs)


def _signer_certificate(sid, certs: tuple[x509.Certificate, ...]) -> x509.Certificate:
    for cert in certs:
        if sid.name == "issuer_and_serial_number":
            wanted = sid.chosen
            if (cert.serial_number == wanted["serial_number"].native
                    and cert.issuer.public_bytes() == wanted["issuer"].dump()):
                return cert
        elif sid.name == "subject_key_identifier":
            try:
                ski = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
            except x509.ExtensionNotFound:
                continue
            if ski == sid.chosen.native:
                return cert
    raise Malformed("the signer's certificate is not in the bundle")


def _signed_bytes(signer_info, content: bytes, digest_name: str) -> bytes:
    attrs = signer_info["signed_attrs"]
    if not len(attrs):
        return content
    values = {attr["type"].native: list(attr["values"]) for attr in attrs}
    if len(values) != len(attrs):
        raise Malformed("a signed attribute appears twice")
    digests, types = values.get("message_digest") or [], values.get("content_type") or []
    if len(digests) != 1 or len(types) != 1:
        raise Malformed("signed attributes need exactly one message-digest and one content-type")
    if types[0].native != "data":
        raise BadSignature("signed content-type differs from the content's")
    if not hmac.compare_digest(digests[0].native, hashlib.new(digest_name, content).digest()):
        raise BadSignature("message digest does not match the content")
    encoded = attrs.dump()
    return b"\x31" + encoded[1:]  # signed over the universal SET OF, not the [0] IMPLICIT tag


def _verify(cert: x509.Certificate, signer_info, data: bytes, digest_name: str) -> None:
    oid = signer_info["signature_algorithm"]["algorithm"].dotted
    kind, named = SIGNATURES.get(oid, (None, None))
    if kind is None or named not in (None, digest_name):
        raise Malformed(f"signature algorithm {oid} with digest {digest_name} not accepted")
    key, signature, digest = cert.public_key(), signer_info["signature"].native, HASHES[digest_name]()
    try:
        if isinstance(key, rsa.RSAPublicKey) and kind == "rsa":
            key.verify(signature, data, padding.PKCS1v15(), digest)
        elif isinstance(key, ec.EllipticCurvePublicKey) and kind == "ecdsa":
            key.verify(signature, data, ec.ECDSA(digest))
        else:
            raise Malformed(f"signature algorithm {oid} with a {type(key).__name__} not accepted")
    except InvalidSignature:
        raise BadSignature("signature does not verify with the signer's certificate") from None
