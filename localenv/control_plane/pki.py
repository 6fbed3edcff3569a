"""The control plane's certificates and keys, laid out as envtest does: one CA signs the
apiserver's serving certificate and every client certificate (user = CN, groups = O), and a
separate key signs ServiceAccount tokens. EC P-256, made in milliseconds, on disk as PEM
files because the binaries take paths.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sim.tls import issue

# Names the apiserver's certificate must answer to: loopback for us, the in-cluster names for kubectl's
# `--server` rewrites and for ServiceAccount clients.
SERVING_HOSTS = ("127.0.0.1", "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc")
PEM = serialization.Encoding.PEM


def _key_pem(key) -> bytes:
    return key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def _subject(user: str, groups=()) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, user),
                      *(x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups)])


@dataclass(frozen=True)
class Pki:
    dir: Path

    @classmethod
    def make(cls, folder: Path) -> Pki:
        folder.mkdir(parents=True, exist_ok=True)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = _subject("nodepool-control-plane-ca")
        ca = issue(ca_name, ca_name, ca_key.public_key(), ca_key, ca=True)
        (folder / "ca.crt").write_bytes(ca.public_bytes(PEM))
        (folder / "ca.key").write_bytes(_key_pem(ca_key))
        pki = cls(folder)
        pki._leaf("apiserver", _subject("kube-apiserver"), hosts=SERVING_HOSTS)
        sa_key = ec.generate_private_key(ec.SECP256R1())
        (folder / "sa.key").write_bytes(_key_pem(sa_key))
        (folder / "sa.pub").write_bytes(sa_key.public_key().public_bytes(
            PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        return pki

    def _leaf(self, name: str, subject: x509.Name, *, hosts=(),
              usage=ExtendedKeyUsageOID.SERVER_AUTH) -> tuple[str, str]:
        ca_key = serialization.load_pem_private_key((self.dir / "ca.key").read_bytes(), None)
        ca = x509.load_pem_x509_certificate((self.dir / "ca.crt").read_bytes())
        key = ec.generate_private_key(ec.SECP256R1())
        cert = issue(subject, ca.subject, key.public_key(), ca_key, ca=False, hosts=hosts, usage=usage)
        crt, key_path = self.dir / f"{name}.crt", self.dir / f"{name}.key"
        crt.write_bytes(cert.public_bytes(PEM))
        key_path.write_bytes(_key_pem(key))
        key_path.chmod(0o600)
        return str(crt), str(key_path)

    def client(self, user: str, groups=()) -> tuple[str, str]:
        """(certificate, key) paths of a client certificate: the apiserver sees `user` in `groups`."""
        safe = user.replace(":", "_")
        return self._leaf(f"client-{safe}", _subject(user, groups), usage=ExtendedKeyUsageOID.CLIENT_AUTH)

    def path(self, name: str) -> str:
        return str(self.dir / name)

    @property
    def ca_pem(self) -> str:
        return (self.dir / "ca.crt").read_text()
