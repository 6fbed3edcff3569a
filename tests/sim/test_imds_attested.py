"""The simulated IMDS's attested documents, checked by real OpenSSL and by our verifier.

OpenSSL (`openssl cms -verify`) is the judge nobody here wrote: it must accept the simulator's
documents with the simulator's root and refuse them without it, and our verifier must accept a
SignedData that OpenSSL itself made.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import shutil
import subprocess

import pytest
import requests
from cryptography.hazmat.primitives import serialization

from nodepool.adapters.attestation import verifier_from_settings
from nodepool.identity import attestation as att
from nodepool.identity.attestation import AttestationRefused
from nodepool.settings import Settings
from sim import attest

M = {"Metadata": "true"}
NONCE = "0123456789abcdef0123456789abcdef"
openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


def attested(sim, which, headers=M, **params):
    return requests.get(f"{sim.imds_for(which)}/metadata/attested/document", headers=headers,
                        params={"api-version": "2021-02-01", **params}, timeout=5)


def settings(**env) -> Settings:
    return Settings.from_env({"AzureWebJobsStorage": "UseDevelopmentStorage=true", **env})


def test_the_document_is_azure_shaped_and_names_the_vm_and_nonce(sim, tmp_path):
    answer = attested(sim, 1, nonce=NONCE)
    assert answer.status_code == 200 and set(answer.json()) == {"encoding", "signature"}
    assert answer.json()["encoding"] == "pkcs7"
    roots = sim.imds.attester.write_root(str(tmp_path / "attestation-root.pem"))
    claims = verifier_from_settings(settings(NODEPOOL_ATTESTATION_ROOTS=roots)).verify(
        answer.json(), dt.datetime.now(dt.timezone.utc))
    assert (claims.vm_id, claims.nonce, claims.subscription_id) == (sim.vm(1).vm_id, NONCE, sim.subscription_id)


def test_the_simulator_root_is_trusted_only_when_a_setting_names_it(sim):
    with pytest.raises(AttestationRefused) as err:
        verifier_from_settings(settings()).verify(attested(sim, 0, nonce=NONCE).json(),
                                                  dt.datetime.now(dt.timezone.utc))
    assert err.value.code == att.CHAIN


def test_a_bad_nonce_is_refused_and_a_missing_one_defaults_to_the_time(sim):
    assert attested(sim, 0, nonce="not-alphanumeric!").status_code == 400
    assert attested(sim, 0, nonce="a" * 33).status_code == 400
    assert attested(sim, 0, headers={}).status_code == 400
    der = base64.b64decode(attested(sim, 0).json()["signature"])
    assert json.loads(_content(der))["nonce"][:2] == "20"


def _content(der: bytes) -> bytes:
    from asn1crypto import cms
    return cms.ContentInfo.load(der)["content"]["encap_content_info"]["content"].native


def _openssl_verify(der: bytes, root_pem: bytes, tmp_path) -> subprocess.CompletedProcess:
    (tmp_path / "doc.der").write_bytes(der)
    (tmp_path / "root.pem").write_bytes(root_pem)
    return subprocess.run(["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(tmp_path / "doc.der"),
                           "-CAfile", str(tmp_path / "root.pem"), "-purpose", "any"],
                          capture_output=True, timeout=30, check=False)


@openssl
def test_openssl_accepts_the_simulator_document_with_its_root_and_only_with_it(sim, tmp_path):
    der = base64.b64decode(attested(sim, 2, nonce=NONCE).json()["signature"])
    done = _openssl_verify(der, sim.imds.attester.chain.root_pem(), tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["vmId"] == sim.vm(2).vm_id
    assert _openssl_verify(der, attest.make_chain().root_pem(), tmp_path).returncode != 0
    forged = attest.swap_content(der, attest.encode(attest.content("other-vm", NONCE, "s")))
    assert _openssl_verify(forged, sim.imds.attester.chain.root_pem(), tmp_path).returncode != 0


@openssl
def test_our_verifier_accepts_a_signed_data_made_by_openssl(tmp_path):
    chain = attest.make_chain(use_rsa=True)
    files = {"leaf.pem": chain.leaf.public_bytes(serialization.Encoding.PEM),
             "key.pem": chain.leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()),
             "mid.pem": chain.intermediate.public_bytes(serialization.Encoding.PEM),
             "content.json": attest.encode(attest.content("vm-9", NONCE, "sub"))}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    subprocess.run(["openssl", "cms", "-sign", "-binary", "-nodetach", "-outform", "DER", "-md", "sha256",
                    "-in", str(tmp_path / "content.json"), "-signer", str(tmp_path / "leaf.pem"),
                    "-inkey", str(tmp_path / "key.pem"), "-certfile", str(tmp_path / "mid.pem"),
                    "-out", str(tmp_path / "doc.der")], check=True, capture_output=True, timeout=30)
    (tmp_path / "root.pem").write_bytes(chain.root_pem())
    verifier = verifier_from_settings(settings(NODEPOOL_ATTESTATION_ROOTS=str(tmp_path / "root.pem")))
    claims = verifier.verify(attest.envelope((tmp_path / "doc.der").read_bytes()), dt.datetime.now(dt.timezone.utc))
    assert (claims.vm_id, claims.nonce) == ("vm-9", NONCE)
