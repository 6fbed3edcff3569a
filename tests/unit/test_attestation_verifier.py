"""The cryptographic checks on attested documents: signature first, then chain, then signer name."""
from __future__ import annotations

import base64
import datetime as dt

import pytest
from asn1crypto import cms
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from functions.http import status_of
from nodepool.adapters.attestation import platform_roots
from nodepool.core.errors import NodepoolError
from nodepool.identity import attestation as att
from sim import attest
from tests.unit.attest_docs import NOW, chain, document, swapped, trusting, untrusted_chain

VM, NONCE = "3f1c2a9e-0000-4000-8000-000000000001", "0123456789abcdef0123456789abcdef"
NAMES = ["metadata.evil.example", "eastus.metadata.azure.com", "metadata.azure.us", "evilmetadata.azure.com"]


def verifier(*names: str, roots=None):
    if roots is not None:
        from nodepool.adapters.attestation import PkcsAttestationVerifier
        return PkcsAttestationVerifier(roots, names or att.PUBLIC_SIGNERS, [chain().intermediate])
    return trusting(chain(), chain(expired=True), chain(use_rsa=False), *(chain(n) for n in NAMES),
                    names=names or None)


def refused(doc, check=None, now=NOW, status=403) -> str:
    with pytest.raises(NodepoolError) as err:
        (check or verifier()).verify(doc, now)
    assert status_of(err.value) == status, err.value
    return err.value.code


def test_a_genuine_document_yields_its_claims():
    claims = verifier().verify(document(VM, NONCE), NOW)
    assert (claims.vm_id, claims.nonce, claims.subscription_id) == (VM, NONCE, "00000000-0000-0000-0000-00000000aaaa")
    assert claims.created_on == NOW.replace(microsecond=0)
    assert claims.expires_on - claims.created_on == dt.timedelta(hours=6)


def test_ec_signers_are_accepted_too():
    assert verifier().verify(document(VM, NONCE, signed_by=chain(use_rsa=False)), NOW).vm_id == VM


@pytest.mark.parametrize("digest_oid", [attest.AZURE_DIGEST, attest.SHA256])
@pytest.mark.parametrize("signed_attributes", [False, True])
def test_azure_s_digest_oid_and_the_plain_one_with_and_without_signed_attributes(digest_oid, signed_attributes):
    c = chain()
    der = attest.sign(attest.encode(attest.content(VM, NONCE, "s", now=NOW)), c, digest_oid=digest_oid,
                      signed_attributes=signed_attributes)
    assert verifier().verify(attest.envelope(der), NOW).nonce == NONCE
    forged = attest.swap_content(der, attest.encode(attest.content("other-vm", NONCE, "s", now=NOW)))
    assert refused(attest.envelope(forged)) == att.SIGNATURE


def test_a_standard_cms_from_cryptography_s_builder_is_accepted():
    c = chain()
    der = (pkcs7.PKCS7SignatureBuilder().set_data(attest.encode(attest.content(VM, NONCE, "s", now=NOW)))
           .add_signer(c.leaf, c.leaf_key, hashes.SHA256()).add_certificate(c.intermediate)
           .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary]))
    assert trusting(c).verify(attest.envelope(der), NOW).nonce == NONCE


def test_a_message_digest_attribute_that_does_not_match_the_content_is_refused():
    c = chain()
    der = attest.sign(b"{}", c, signed_attributes=True)
    info = cms.ContentInfo.load(der)
    info["content"]["encap_content_info"]["content"] = attest.encode(attest.content(VM, NONCE, "s", now=NOW))
    assert refused(attest.envelope(info.dump(force=True))) == att.SIGNATURE


def test_a_signature_algorithm_naming_another_hash_than_the_digest_is_malformed():
    info = cms.ContentInfo.load(attest.sign(attest.encode(attest.content(VM, NONCE, "s", now=NOW)), chain()))
    info["content"]["signer_infos"][0]["signature_algorithm"] = {"algorithm": "sha512_rsa"}
    assert refused(attest.envelope(info.dump(force=True)), status=400) == att.MALFORMED


def test_content_signed_by_an_untrusted_certificate_is_refused():
    assert refused(document(VM, NONCE, signed_by=untrusted_chain())) == att.CHAIN


def test_a_refusal_for_the_chain_names_the_issuer_it_could_not_find():
    with pytest.raises(att.AttestationRefused) as err:
        verifier().verify(document(VM, NONCE, signed_by=untrusted_chain()), NOW)
    assert "Attacker Root CA Issuing CA" in err.value.message


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
def test_unreadable_documents_are_malformed_and_a_400(doc):
    assert refused(doc, status=400) == att.MALFORMED


def test_signed_content_that_is_not_attested_data_is_malformed():
    assert refused(attest.envelope(attest.sign(b'{"vmId": 1}', chain())), status=400) == att.MALFORMED


def test_a_sha1_signature_is_not_accepted():
    info = cms.ContentInfo.load(base64.b64decode(document(VM, NONCE)["signature"]))
    info["content"]["signer_infos"][0]["digest_algorithm"] = {"algorithm": "sha1"}
    assert refused(attest.envelope(info.dump(force=True)), status=400) == att.MALFORMED


def test_an_embedded_certificate_with_an_invalid_version_is_malformed_not_an_error():
    """Found by flipping bits in a real document: cryptography raises InvalidVersion on loading it."""
    der = bytearray(base64.b64decode(document(VM, NONCE)["signature"]))
    version = der.index(bytes.fromhex("a003020102"))  # the leaf's [0] EXPLICIT INTEGER 2 (v3)
    der[version + 4] = 7
    assert refused(attest.envelope(bytes(der)), status=400) == att.MALFORMED
