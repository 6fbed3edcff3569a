"""A throwaway certificate authority and a server certificate for 127.0.0.1 / localhost.

ARM and the IdP must speak HTTPS (azure-core refuses to send a bearer token over plain
http), so the simulator makes its own CA and clients are given the CA file
(`NODEPOOL_CA_BUNDLE` -> `connection_verify`), never a switch that turns verification off.
EC P-256 keys make this cheap; `shared()` makes one set per process for fast test fixtures.
"""
from __future__ import annotations

import atexit
import datetime as dt
import ipaddress
import shutil
import ssl
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HOSTS = ("127.0.0.1", "localhost")


@dataclass(frozen=True)
class Tls:
    """PEM files on disk (ssl wants paths) for one CA and one server certificate it signed."""
    dir: Path

    @property
    def ca_path(self) -> str:
        return str(self.dir / "ca.pem")

    @property
    def cert_path(self) -> str:
        return str(self.dir / "server.pem")

    @property
    def key_path(self) -> str:
        return str(self.dir / "server.key")

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert_path, self.key_path)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """For stdlib clients (urllib) that should trust the simulator."""
        return ssl.create_default_context(cafile=self.ca_path)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


# A throwaway local CA must never be the reason a run fails: valid ten years either side of when it was
# made, so a `serve` left running for months, or a test run with the clock moved (`--clock-shift`), whose
# certificates Python makes on the moved clock and OpenSSL checks on the machine's, still trusts it.
VALIDITY = dt.timedelta(days=3653)


def issue(subject, issuer, public_key, signer, *, ca: bool, hosts=(),
          usage=ExtendedKeyUsageOID.SERVER_AUTH) -> x509.Certificate:
    """A certificate for `subject`, signed by `signer`: a CA, or a leaf for `usage` (server or client auth)."""
    now = dt.datetime.now(dt.timezone.utc)
    builder = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - VALIDITY).not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False)
        .add_extension(x509.KeyUsage(
            digital_signature=True, key_cert_sign=ca, crl_sign=ca, content_commitment=False,
            key_encipherment=False, data_encipherment=False, key_agreement=False,
            encipher_only=False, decipher_only=False), critical=True)
    )
    if hosts:
        sans = [x509.IPAddress(ipaddress.ip_address(h)) if h[0].isdigit() else x509.DNSName(h) for h in hosts]
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return builder.sign(signer, hashes.SHA256())


def make(hosts=HOSTS) -> Tls:
    """A fresh CA and server certificate in a temporary directory removed at exit."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("nodepool simulator CA")
    ca_cert = issue(ca_name, ca_name, ca_key.public_key(), ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = issue(_name(hosts[0]), ca_name, key.public_key(), ca_key, ca=False, hosts=hosts)
    folder = Path(tempfile.mkdtemp(prefix="nodepool-sim-tls-"))
    atexit.register(shutil.rmtree, folder, True)
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca_cert.public_bytes(pem))
    (folder / "server.pem").write_bytes(cert.public_bytes(pem))
    (folder / "server.key").write_bytes(key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return Tls(folder)


@lru_cache(maxsize=1)
def shared() -> Tls:
    """One CA per process: every simulator started in this process presents it."""
    return make()
