"""IMDS attested data: a CMS (PKCS7) SignedData over a JSON document, signed by the simulator's CA.

Azure answers `GET /metadata/attested/document?api-version=...&nonce=...` with
`{"encoding": "pkcs7", "signature": "<base64 DER>"}`; the signed content is JSON with vmId, nonce,
subscriptionId, sku, plan, licenseType and timeStamp {createdOn, expiresOn} ("MM/dd/yy HH:mm:ss
-0000", valid six hours). Azure signs with a TLS certificate for metadata.azure.com (or a
subdomain) under a public root. Ours has the same shape (root -> intermediate -> leaf) under a
throwaway root that the app trusts only when told to (NODEPOOL_ATTESTATION_ROOTS).

Everything a forger would try is a parameter here, so tests can build each forgery: another CA
(`make_chain()` again), another leaf name, an expired leaf, content swapped under a signature.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import threading
from dataclasses import dataclass

from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SIGNER_NAME = "metadata.azure.com"
TIME_FORMAT = "%m/%d/%y %H:%M:%S -0000"
VALID_FOR = dt.timedelta(hours=6)
YEAR = dt.timedelta(days=365)


@dataclass(frozen=True)
class Chain:
    root: x509.Certificate
    intermediate: x509.Certificate
    leaf: x509.Certificate
    leaf_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

    def root_pem(self) -> bytes:
        return self.root.public_bytes(serialization.Encoding.PEM)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "k3s spot-pool simulator"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _cert(subject: str, key, issuer: str, issuer_key, *, ca: bool, start: dt.datetime, end: dt.datetime,
          usages: tuple = (ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH)) -> x509.Certificate:
    public = key.public_key()
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
               .public_key(public).serial_number(x509.random_serial_number())
               .not_valid_before(start).not_valid_after(end)
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                              critical=False))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False, encipher_only=False,
            decipher_only=False), critical=True)
    else:  # a TLS certificate, as Azure's is
        builder = (builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False)
                   .add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False))
    return builder.sign(issuer_key, hashes.SHA256())


def make_chain(name: str = SIGNER_NAME, *, root_name: str = "Simulated Azure Root CA",
               now: dt.datetime | None = None, not_before: dt.datetime | None = None,
               not_after: dt.datetime | None = None, use_rsa: bool = False,
               server_auth_only: bool = False) -> Chain:
    """A fresh root, an intermediate and a leaf for `name`, valid around `now` (the wall clock by
    default: a test that verifies at a fixed instant passes that instant); the leaf's validity can be
    set (expired). EC P-256 keys by default (cheap); `use_rsa` for RSA 2048 like Azure's."""
    now = now or dt.datetime.now(dt.timezone.utc)
    root_key, mid_key, leaf_key = (rsa.generate_private_key(65537, 2048) if use_rsa
                                   else ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    start, end = now - dt.timedelta(days=1), now + 5 * YEAR
    root = _cert(root_name, root_key, root_name, root_key, ca=True, start=start, end=end)
    mid_name = root_name.replace("Root", "Issuing") + " 01"
    intermediate = _cert(mid_name, mid_key, root_name, root_key, ca=True, start=start, end=end)
    usages = (ExtendedKeyUsageOID.SERVER_AUTH,) + (() if server_auth_only else (ExtendedKeyUsageOID.CLIENT_AUTH,))
    leaf = _cert(name, leaf_key, mid_name, mid_key, ca=False, start=not_before or start,
                 end=not_after or now + YEAR, usages=usages)
    return Chain(root, intermediate, leaf, leaf_key)


def content(vm_id: str, nonce: str, subscription: str, *, now: dt.datetime | None = None,
            sku: str = "22_04-lts-gen2", valid_for: dt.timedelta = VALID_FOR) -> dict:
    created = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    return {"licenseType": "", "nonce": nonce, "plan": {"name": "", "product": "", "publisher": ""},
            "sku": sku, "subscriptionId": subscription, "vmId": vm_id,
            "timeStamp": {"createdOn": created.strftime(TIME_FORMAT),
                          "expiresOn": (created + valid_for).strftime(TIME_FORMAT)}}


def sign(data: bytes, chain: Chain, *, key=None) -> bytes:
    """DER SignedData with `data` embedded, signer = chain.leaf (signed with `key`, by default its own)."""
    builder = (pkcs7.PKCS7SignatureBuilder().set_data(data)
               .add_signer(chain.leaf, key or chain.leaf_key, hashes.SHA256())
               .add_certificate(chain.intermediate))
    return builder.sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])


def swap_content(der: bytes, data: bytes) -> bytes:
    """The same signature and certificates around other content (what a forger does with a real document)."""
    info = cms.ContentInfo.load(der)
    info["content"]["encap_content_info"]["content"] = data
    return info.dump(force=True)


def envelope(der: bytes) -> dict:
    return {"encoding": "pkcs7", "signature": base64.b64encode(der).decode("ascii")}


def encode(document: dict) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode("utf-8")


class Attester:
    """What the simulated IMDS signs with. `chain` and `overrides` are knobs for forgery tests."""

    def __init__(self, chain: Chain | None = None):
        self._chain, self._lock = chain, threading.Lock()
        self.overrides: dict = {}  # merged into every document's content (e.g. another vmId)

    @property
    def chain(self) -> Chain:
        with self._lock:  # made once, on first use: three key pairs are not free on a busy machine
            if self._chain is None:
                self._chain = make_chain()
        return self._chain

    @chain.setter
    def chain(self, chain: Chain) -> None:
        self._chain = chain

    def write_root(self, path: str) -> str:
        with open(path, "wb") as handle:
            handle.write(self.chain.root_pem())
        return path

    def document(self, vm_id: str, nonce: str, subscription: str, now: dt.datetime | None = None) -> dict:
        body = {**content(vm_id, nonce, subscription, now=now), **self.overrides}
        return envelope(sign(encode(body), self.chain))
