"""IMDS attested data: a CMS (PKCS7) SignedData over a JSON document, signed as Azure signs it.

Azure answers `GET /metadata/attested/document?api-version=...&nonce=...` with
`{"encoding": "pkcs7", "signature": "<base64 DER>"}`; the signed content is JSON with licenseType,
nonce, plan, sku, subscriptionId, timeStamp {createdOn, expiresOn} ("MM/dd/yy HH:mm:ss -0000",
valid six hours) and vmId, compact, keys sorted. The PKCS7 has Azure's shape, as read from a real
document (../shared/vectors/azure-attested/README.md): SignedData v1 with the content embedded; the
digest algorithm written as sha256WithRSAEncryption (1.2.840.113549.1.1.11) in both places; no
signed attributes (the RSA PKCS#1 v1.5 signature covers the content itself); signatureAlgorithm
rsaEncryption; only the signing leaf embedded. The leaf is a TLS certificate for
<region>.metadata.azure.com and metadata.azure.com (serverAuth only, RSA 2048), its AIA caIssuers
URLs on Microsoft's PKI hosts; its issuing CA carries serverAuth only. Ours chains to a throwaway
root that the app trusts only when told to (NODEPOOL_ATTESTATION_ROOTS); the issuing CA is served
at the leaf's AIA URL by sim/pki.py, as Microsoft's PKI host serves Azure's.

Everything a forger would try is a parameter here, so tests can build each forgery: another CA
(`make_chain()` again), another leaf name, an expired leaf, content swapped under a signature.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import threading
from dataclasses import dataclass
from urllib.parse import quote

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from sim.certs import ca_certificate, tls_leaf

SIGNER_NAME = "metadata.azure.com"
ROOT_NAME = "Simulated TLS RSA Root G2"
TIME_FORMAT = "%m/%d/%y %H:%M:%S -0000"
VALID_FOR = dt.timedelta(hours=6)
LEAF_LIFETIME = dt.timedelta(days=180)  # Azure's signing certificates live 180 days
YEAR = dt.timedelta(days=365)
PKI_HOSTS = ("www.microsoft.com", "caissuers.microsoft.com")  # where Azure's AIA URLs point
AZURE_DIGEST = "1.2.840.113549.1.1.11"  # sha256WithRSAEncryption, where RFC 5652 wants sha256
SHA256 = "2.16.840.1.101.3.4.2.1"


def issuer_urls(ca_name: str) -> list[str]:
    """The AIA caIssuers URLs of a certificate issued by `ca_name`, as Microsoft writes them."""
    return [f"http://{host}/pkiops/certs/{quote(ca_name)}.crt" for host in PKI_HOSTS]


@dataclass(frozen=True)
class Chain:
    root: x509.Certificate
    intermediate: x509.Certificate
    leaf: x509.Certificate
    leaf_key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

    def root_pem(self) -> bytes:
        return self.root.public_bytes(serialization.Encoding.PEM)


def _key(use_rsa: bool):
    return rsa.generate_private_key(65537, 2048) if use_rsa else ec.generate_private_key(ec.SECP256R1())


def make_chain(name: str = SIGNER_NAME, *, root_name: str = ROOT_NAME, region: str = "eastus",
               now: dt.datetime | None = None, not_before: dt.datetime | None = None,
               not_after: dt.datetime | None = None, use_rsa: bool = True) -> Chain:
    """A fresh root, issuing CA and leaf for `name`, valid around `now` (the wall clock by default: a
    test that verifies at a fixed instant passes that instant); the leaf's validity can be set
    (expired). RSA 2048 like Azure's; `use_rsa=False` for EC P-256 (cheap, for tests of other things)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    root_key, ca_key, leaf_key = (_key(use_rsa) for _ in range(3))
    start, end = now - dt.timedelta(days=1), now + 5 * YEAR
    ca_name = "Simulated TLS G2 RSA CA OCSP 02" if root_name == ROOT_NAME else f"{root_name} Issuing CA"
    root = ca_certificate(root_name, root_key, root_name, root_key, start=start, end=end)
    ca = ca_certificate(ca_name, ca_key, root_name, root_key, start=start, end=end, path_length=0,
                        server_auth_only=True, issuer_urls=issuer_urls(root_name))
    names = [f"{region}.{name}", name] if name == SIGNER_NAME else [name]
    leaf = tls_leaf(names, leaf_key, ca_name, ca_key, start=not_before or start,
                    end=not_after or now + LEAF_LIFETIME, issuer_urls=issuer_urls(ca_name))
    return Chain(root, ca, leaf, leaf_key)


def content(vm_id: str, nonce: str, subscription: str, *, now: dt.datetime | None = None,
            sku: str = "22_04-lts-gen2", valid_for: dt.timedelta = VALID_FOR) -> dict:
    created = (now or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    return {"licenseType": "", "nonce": nonce, "plan": {"name": "", "product": "", "publisher": ""},
            "sku": sku, "subscriptionId": subscription,
            "timeStamp": {"createdOn": created.strftime(TIME_FORMAT),
                          "expiresOn": (created + valid_for).strftime(TIME_FORMAT)}, "vmId": vm_id}


def sign(data: bytes, chain: Chain, *, key=None, signed_attributes: bool = False, digest_oid: str | None = None,
         extra_certificates: tuple[x509.Certificate, ...] = ()) -> bytes:
    """DER SignedData with `data` embedded, signer = chain.leaf (signed with `key`, by default its own),
    as Azure makes it; `signed_attributes` and `digest_oid` make the other shapes CMS allows."""
    key = key or chain.leaf_key
    rsa_key = isinstance(key, rsa.RSAPrivateKey)
    digest = algos.DigestAlgorithm({"algorithm": digest_oid or (AZURE_DIGEST if rsa_key else SHA256),
                                    **({"parameters": core.Null()} if rsa_key else {})})
    leaf = asn1_x509.Certificate.load(chain.leaf.public_bytes(serialization.Encoding.DER))
    info: dict = {"version": "v1", "digest_algorithm": digest,
                  "sid": cms.SignerIdentifier({"issuer_and_serial_number": cms.IssuerAndSerialNumber(
                      {"issuer": leaf.issuer, "serial_number": leaf.serial_number})}),
                  "signature_algorithm": algos.SignedDigestAlgorithm(
                      {"algorithm": "rsassa_pkcs1v15", "parameters": core.Null()} if rsa_key
                      else {"algorithm": "sha256_ecdsa"})}
    signed = data
    if signed_attributes:
        attrs = cms.CMSAttributes([{"type": "content_type", "values": ["data"]},
                                   {"type": "message_digest", "values": [hashlib.sha256(data).digest()]}])
        info["signed_attrs"], signed = attrs, attrs.dump()  # signed as the universal SET OF
    info["signature"] = (key.sign(signed, padding.PKCS1v15(), hashes.SHA256()) if rsa_key
                         else key.sign(signed, ec.ECDSA(hashes.SHA256())))
    certificates = [leaf] + [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
                             for c in extra_certificates]
    signed_data = cms.SignedData({
        "version": "v1", "digest_algorithms": [digest],
        "encap_content_info": {"content_type": "data", "content": data},
        "certificates": certificates, "signer_infos": [cms.SignerInfo(info)]})
    return cms.ContentInfo({"content_type": "signed_data", "content": signed_data}).dump()


def swap_content(der: bytes, data: bytes) -> bytes:
    """The same signature and certificates around other content (what a forger does with a real document)."""
    info = cms.ContentInfo.load(der)
    info["content"]["encap_content_info"]["content"] = data
    return info.dump(force=True)


def envelope(der: bytes) -> dict:
    return {"encoding": "pkcs7", "signature": base64.b64encode(der).decode("ascii")}


def encode(document: dict) -> bytes:
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode("utf-8")


class Attester:
    """What the simulated IMDS signs with. `chain` and `overrides` are knobs for forgery tests."""

    def __init__(self, chain: Chain | None = None, region: str = "eastus"):
        self._chain, self._region, self._lock = chain, region, threading.Lock()
        self.overrides: dict = {}  # merged into every document's content (e.g. another vmId)

    @property
    def chain(self) -> Chain:
        with self._lock:  # made once, on first use: three RSA key pairs are not free on a busy machine
            if self._chain is None:
                self._chain = make_chain(region=self._region)
        return self._chain

    @chain.setter
    def chain(self, chain: Chain) -> None:
        self._chain = chain

    def issuers(self) -> list[x509.Certificate]:
        """What Microsoft's PKI host serves for this signer: its issuing CA and the root."""
        return [self.chain.intermediate, self.chain.root]

    def write_root(self, path: str) -> str:
        with open(path, "wb") as handle:
            handle.write(self.chain.root_pem())
        return path

    def document(self, vm_id: str, nonce: str, subscription: str, now: dt.datetime | None = None) -> dict:
        body = {**content(vm_id, nonce, subscription, now=now), **self.overrides}
        return envelope(sign(encode(body), self.chain))
