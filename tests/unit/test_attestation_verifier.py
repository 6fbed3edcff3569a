"""The cryptographic checks on attested documents: signature first, then chain, then signer name."""
from __future__ import annotations

import base64
import datetime as dt

import pytest
from asn1crypto import cms
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from functions.http import status_of
from nodepool.adapters.attestation import PkcsAttestationVerifier, platform_roots
from nodepool.identity import attestation as att
from nodepool.identity.attestation import AttestationRefused
from sim import attest
from tests.unit.attest_docs import NOW, chain, document, swapped, untrusted_chain

VM, NONCE = "3f1c2a9e-0000-4000-8000-000000000001", "0123456789abcdef0123456789abcdef"


def verifier(*names: str, roots=None) -> PkcsAttestationVerifier:
    trusted = roots or [chain().root, chain(expired=True).root, chain("metadata.evil.example").root,
                        chain(use_rsa=True).root, chain("eastus.metadata.azure.com").root,
                        chain("metadata.azure.us").root, chain("evilmetadata.azure.com").root]
    return PkcsAttestationVerifier(trusted, names or att.PUBLIC_SIGNERS)


def refused(doc, check=None, now=NOW) -> str:
    with pytest.raises(AttestationRefused) as err:
        (check or verifier()).verify(doc, now)
    assert status_of(err.value) == 403
    return err.value.code


def test_a_genuine_document_yields_its_claims():
    claims = verifier().verify(document(VM, NONCE), NOW)
    assert (claims.vm_id, claims.nonce, claims.subscription_id) == (VM, NONCE, "00000000-0000-0000-0000-00000000aaaa")
    assert claims.created_on == NOW.replace(microsecond=0)
    assert claims.expires_on - claims.created_on == dt.timedelta(hours=6)


def test_rsa_signers_as_azure_uses_are_accepted():
    assert verifier().verify(document(VM, NONCE, signed_by=chain(use_rsa=True)), NOW).vm_id == VM


def test_a_tls_certificate_for_server_authentication_only_is_accepted():
    c = attest.make_chain(server_auth_only=True, now=NOW)
    assert PkcsAttestationVerifier([c.root]).verify(document(VM, NONCE, signed_by=c), NOW).vm_id == VM


def test_a_signature_without_signed_attributes_is_checked_over_the_content_itself():
    c = chain()
    der = (pkcs7.PKCS7SignatureBuilder().set_data(attest.encode(attest.content(VM, NONCE, "s", now=NOW)))
           .add_signer(c.leaf, c.leaf_key, hashes.SHA256()).add_certificate(c.intermediate)
           .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary, pkcs7.PKCS7Options.NoAttributes]))
    assert verifier().verify(attest.envelope(der), NOW).nonce == NONCE
    forged = attest.swap_content(der, attest.encode(attest.content("other-vm", NONCE, "s", now=NOW)))
    assert refused(attest.envelope(forged)) == att.SIGNATURE


def test_content_signed_by_an_untrusted_certificate_is_refused():
    assert refused(document(VM, NONCE, signed_by=untrusted_chain())) == att.CHAIN


def test_a_genuine_public_certificate_around_content_signed_with_another_key_is_refused():
    """The CVE-style trap: the chain is perfect, only the signature tells the content is not Azure's."""
    assert refused(document(VM, NONCE, key=untrusted_chain().leaf_key)) == att.SIGNATURE


def test_a_genuine_signature_around_other_content_is_refused():
    assert refused(swapped(document(VM, NONCE), "another-vm", NONCE)) == att.SIGNATURE


def test_an_expired_signer_certificate_is_refused():
    assert refused(document(VM, NONCE, signed_by=chain(expired=True))) == att.CHAIN


@pytest.mark.parametrize("name", ["metadata.evil.example", "evilmetadata.azure.com", "metadata.azure.us"])
def test_a_trusted_certificate_for_another_name_is_refused(name):
    assert refused(document(VM, NONCE, signed_by=chain(name))) == att.SIGNER_NAME


def test_subdomains_and_configured_sovereign_names_are_accepted():
    assert verifier().verify(document(VM, NONCE, signed_by=chain("eastus.metadata.azure.com")), NOW).vm_id == VM
    us = verifier("metadata.azure.com", "metadata.azure.us")
    assert us.verify(document(VM, NONCE, signed_by=chain("metadata.azure.us")), NOW).vm_id == VM


def test_the_simulator_root_is_not_trusted_by_the_platform_roots():
    assert refused(document(VM, NONCE), verifier(roots=platform_roots())) == att.CHAIN


@pytest.mark.parametrize("doc", [
    None, {}, {"encoding": "pkcs7"}, {"encoding": "pkcs7", "signature": "not base64!"},
    {"encoding": "pkcs7", "signature": base64.b64encode(b"not DER").decode()},
    {"encoding": "jws", "signature": "AAAA"}, {"encoding": "pkcs7", "signature": "A" * 40000},
])
def test_unreadable_documents_are_malformed(doc):
    assert refused(doc) == att.MALFORMED


def test_signed_content_that_is_not_attested_data_is_malformed():
    c = chain()
    doc = attest.envelope(attest.sign(b'{"vmId": 1}', c))
    assert refused(doc) == att.MALFORMED


def test_a_sha1_signature_is_not_accepted():
    der = base64.b64decode(document(VM, NONCE, signed_by=chain(use_rsa=True))["signature"])
    info = cms.ContentInfo.load(der)
    info["content"]["signer_infos"][0]["digest_algorithm"] = {"algorithm": "sha1"}
    assert refused(attest.envelope(info.dump(force=True))) == att.MALFORMED
