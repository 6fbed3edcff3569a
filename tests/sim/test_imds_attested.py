"""The simulated IMDS's attested documents have Azure's shape, and are checked by real OpenSSL and by
our verifier, which finds the issuer at the leaf's AIA URL on the simulator's "Microsoft PKI host".

The real document in ../shared/vectors/azure-attested/ is the reference: the shape of the
simulator's documents must equal its shape (checked field by field), and OpenSSL (`openssl cms
-verify`), the judge nobody here wrote, must accept both the same way.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import shutil
import subprocess

import pytest
import requests
from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

from nodepool.adapters.attestation import verifier_from_settings
from nodepool.identity import attestation as att
from nodepool.identity.attestation import AttestationRefused
from nodepool.settings import Settings
from sim import attest
from tests.unit import azure_vectors as vectors

M = {"Metadata": "true"}
NONCE = "0123456789abcdef0123456789abcdef"
openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
# What the real document shows (../shared/vectors/azure-attested/README.md, "Facts"), read back below.
AZURE_SHAPE = {
    "content_type": "1.2.840.113549.1.7.2", "signed_data_version": "v1", "digest_algorithms": ["1.2.840.113549.1.1.11"],
    "encap_content_type": "1.2.840.113549.1.7.1", "certificates": 1, "crls": 0, "signer_infos": 1,
    "signer_version": "v1", "sid": "issuer_and_serial_number", "digest_algorithm": "1.2.840.113549.1.1.11",
    "digest_parameters": "NULL", "signed_attrs": 0, "unsigned_attrs": 0, "signature_algorithm": "1.2.840.113549.1.1.1",
    "signature_bytes": 256, "leaf_key_bits": 2048, "leaf_eku": ["serverAuth"], "leaf_ca": False,
    "leaf_san": ["<region>.metadata.azure.com", "metadata.azure.com"], "leaf_key_usage": ["digital_signature",
                                                                                          "key_encipherment"],
    "leaf_aia_issuer_hosts": ["www.microsoft.com", "caissuers.microsoft.com"], "content_keys": [
        "licenseType", "nonce", "plan", "sku", "subscriptionId", "timeStamp", "vmId"], "content_compact": True,
}


def shape(der: bytes) -> dict:
    info = cms.ContentInfo.load(der)
    signed = info["content"]
    signer = signed["signer_infos"][0]
    leaf = x509.load_der_x509_certificate(signed["certificates"][0].chosen.dump())
    ext = leaf.extensions
    aia = ext.get_extension_for_class(x509.AuthorityInformationAccess).value
    usage = ext.get_extension_for_class(x509.KeyUsage).value
    san = ext.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    data = signed["encap_content_info"]["content"].native
    return {
        "content_type": info["content_type"].dotted, "signed_data_version": signed["version"].native,
        "digest_algorithms": [a["algorithm"].dotted for a in signed["digest_algorithms"]],
        "encap_content_type": signed["encap_content_info"]["content_type"].dotted,
        "certificates": len(signed["certificates"]), "crls": len(signed["crls"]) if signed["crls"] else 0,
        "signer_infos": len(signed["signer_infos"]), "signer_version": signer["version"].native,
        "sid": signer["sid"].name, "digest_algorithm": signer["digest_algorithm"]["algorithm"].dotted,
        "digest_parameters": "NULL" if signer["digest_algorithm"]["parameters"].dump() == b"\x05\x00" else "absent",
        "signed_attrs": len(signer["signed_attrs"]), "unsigned_attrs": len(signer["unsigned_attrs"]),
        "signature_algorithm": signer["signature_algorithm"]["algorithm"].dotted,
        "signature_bytes": len(signer["signature"].native), "leaf_key_bits": leaf.public_key().key_size,
        "leaf_eku": [{ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth"}.get(u, u.dotted_string)
                     for u in ext.get_extension_for_class(x509.ExtendedKeyUsage).value],
        "leaf_ca": ext.get_extension_for_class(x509.BasicConstraints).value.ca,
        "leaf_san": [("<region>." + n.split(".", 1)[1]) if n.count(".") == 3 else n for n in san],
        "leaf_key_usage": [k for k in ("digital_signature", "key_encipherment", "key_cert_sign") if getattr(usage, k)],
        "leaf_aia_issuer_hosts": [d.access_location.value.split("/")[2] for d in aia
                                  if d.access_method == AuthorityInformationAccessOID.CA_ISSUERS],
        "content_keys": list(json.loads(data)),
        "content_compact": data == json.dumps(json.loads(data), separators=(",", ":"), sort_keys=True).encode(),
    }


def attested(sim, which, headers=M, **params):
    return requests.get(f"{sim.imds_for(which)}/metadata/attested/document", headers=headers,
                        params={"api-version": "2021-02-01", **params}, timeout=5)


def settings(**env) -> Settings:
    return Settings.from_env({"AzureWebJobsStorage": "UseDevelopmentStorage=true", **env})


@pytest.fixture
def pki_proxy(sim, monkeypatch):
    """This process reaches the AIA URLs as the app does under the local stack: through the simulator's PKI host."""
    for name, value in sim.proxy_env().items():
        monkeypatch.setenv(name, value)


def test_the_simulators_document_has_the_shape_of_azures(sim):
    assert shape(base64.b64decode(attested(sim, 1, nonce=NONCE).json()["signature"])) == AZURE_SHAPE


@vectors.needs_vectors
def test_the_real_document_has_the_shape_the_simulator_copies():
    _, doc = vectors.documents()[0]
    assert shape(vectors.der(doc)) == AZURE_SHAPE


def test_the_issuing_ca_has_server_auth_only_like_azures(sim):
    ca = sim.imds.attester.chain.intermediate
    assert list(ca.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value) == [ExtendedKeyUsageOID.SERVER_AUTH]
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.path_length == 0


def test_the_document_names_the_vm_and_nonce_and_its_issuer_comes_from_the_aia_url(sim, pki_proxy, tmp_path):
    answer = attested(sim, 1, nonce=NONCE)
    assert answer.status_code == 200 and set(answer.json()) == {"encoding", "signature"}
    verifier = verifier_from_settings(settings(NODEPOOL_ATTESTATION_ROOTS=sim.attestation_roots))
    claims = verifier.verify(answer.json(), dt.datetime.now(dt.timezone.utc))
    assert (claims.vm_id, claims.nonce, claims.subscription_id) == (sim.vm(1).vm_id, NONCE, sim.subscription_id)
    assert sum(n for hit, n in sim.pki.server.hits.items() if "/pkiops/certs/" in hit) == 1
    verifier.verify(attested(sim, 2, nonce=NONCE).json(), dt.datetime.now(dt.timezone.utc))
    assert sum(n for hit, n in sim.pki.server.hits.items() if "/pkiops/certs/" in hit) == 1  # cached


def test_the_simulator_root_is_trusted_only_when_a_setting_names_it(sim, pki_proxy):
    with pytest.raises(AttestationRefused) as err:
        verifier_from_settings(settings()).verify(attested(sim, 0, nonce=NONCE).json(),
                                                  dt.datetime.now(dt.timezone.utc))
    assert err.value.code == att.CHAIN


def test_the_pki_host_answers_only_for_microsofts_hosts(sim):
    url = attest.issuer_urls(sim.imds.attester.chain.intermediate.issuer.rfc4514_string())[0]
    proxies = {"http": sim.pki.url}
    ca_name = sim.imds.attester.chain.leaf.issuer.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    for found in attest.issuer_urls(ca_name):
        answer = requests.get(found, proxies=proxies, timeout=5)
        assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/pkix-cert"
        assert x509.load_der_x509_certificate(answer.content) == sim.imds.attester.chain.intermediate
    other_host = url.replace("www.microsoft.com", "pki.example.org")
    assert requests.get(other_host, proxies=proxies, timeout=5).status_code == 404


def test_a_bad_nonce_is_refused_and_a_missing_one_defaults_to_the_time(sim):
    assert attested(sim, 0, nonce="not-alphanumeric!").status_code == 400
    assert attested(sim, 0, nonce="a" * 33).status_code == 400
    assert attested(sim, 0, headers={}).status_code == 400
    der = base64.b64decode(attested(sim, 0).json()["signature"])
    assert json.loads(_content(der))["nonce"][:2] == "20"


def _content(der: bytes) -> bytes:
    return cms.ContentInfo.load(der)["content"]["encap_content_info"]["content"].native


def _pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _openssl_verify(der: bytes, root_pem: bytes, issuers_pem: bytes, tmp_path, at: dt.datetime | None = None):
    """`openssl cms -verify` as a TLS server certificate. The issuing CA goes into the CA file beside the
    root (this OpenSSL's cms has no -untrusted); without -partial_chain the chain must still end at the root."""
    (tmp_path / "doc.der").write_bytes(der)
    (tmp_path / "ca.pem").write_bytes(root_pem + issuers_pem)
    when = ["-attime", str(int(at.timestamp()))] if at else []
    return subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(tmp_path / "doc.der"),
                           "-CAfile", str(tmp_path / "ca.pem"), "-purpose", "sslserver", *when],
                          capture_output=True, timeout=30, check=False)


@openssl
def test_openssl_accepts_the_simulator_document_with_its_root_and_only_with_it(sim, tmp_path):
    der = base64.b64decode(attested(sim, 2, nonce=NONCE).json()["signature"])
    chain = sim.imds.attester.chain
    done = _openssl_verify(der, chain.root_pem(), _pem(chain.intermediate), tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["vmId"] == sim.vm(2).vm_id
    assert _openssl_verify(der, attest.make_chain().root_pem(), _pem(chain.intermediate), tmp_path).returncode != 0
    forged = attest.swap_content(der, attest.encode(attest.content("other-vm", NONCE, "s")))
    assert _openssl_verify(forged, chain.root_pem(), _pem(chain.intermediate), tmp_path).returncode != 0


@openssl
@vectors.needs_vectors
def test_openssl_accepts_the_real_document_the_same_way_at_its_own_time(tmp_path):
    _, doc = vectors.documents()[0]
    root = (vectors.VECTORS / "microsoft-tls-rsa-root-g2.pem").read_bytes()
    issuing = (vectors.VECTORS / "microsoft-tls-g2-rsa-ca-ocsp-02.pem").read_bytes()
    done = _openssl_verify(vectors.der(doc), root, issuing, tmp_path, at=vectors.signed_at(doc))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["vmId"] == vectors.content(doc)["vmId"]


@openssl
def test_our_verifier_accepts_a_signed_data_made_by_openssl(tmp_path):
    chain = attest.make_chain()
    files = {"leaf.pem": _pem(chain.leaf),
             "key.pem": chain.leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()),
             "content.json": attest.encode(attest.content("vm-9", NONCE, "sub"))}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    subprocess.run(["openssl", "cms", "-sign", "-binary", "-nodetach", "-outform", "DER", "-md", "sha256",
                    "-in", str(tmp_path / "content.json"), "-signer", str(tmp_path / "leaf.pem"),
                    "-inkey", str(tmp_path / "key.pem"), "-out", str(tmp_path / "doc.der")],
                   check=True, capture_output=True, timeout=30)
    (tmp_path / "root.pem").write_bytes(chain.root_pem())
    (tmp_path / "mid.pem").write_bytes(_pem(chain.intermediate))
    verifier = verifier_from_settings(settings(NODEPOOL_ATTESTATION_ROOTS=str(tmp_path / "root.pem"),
                                               NODEPOOL_ATTESTATION_INTERMEDIATES=str(tmp_path / "mid.pem")))
    claims = verifier.verify(attest.envelope((tmp_path / "doc.der").read_bytes()), dt.datetime.now(dt.timezone.utc))
    assert (claims.vm_id, claims.nonce) == ("vm-9", NONCE)
