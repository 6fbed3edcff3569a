"""The production verifier against documents Azure really signed (../shared/vectors/azure-attested/),
each at its own time, and against their tampered forms: each refused with its own code."""
from __future__ import annotations

import base64
import datetime as dt

import pytest

from functions.http import status_of
from nodepool import wiring
from nodepool.adapters.aia import Fetched
from nodepool.adapters.attestation import PkcsAttestationVerifier, platform_roots, verifier_from_settings
from nodepool.core.errors import NodepoolError
from nodepool.core.model import Caller, Role
from nodepool.fakes.attest import FakeNodeCredentials, FakeNonceStore
from nodepool.fakes.clock import ManualClock
from nodepool.identity import attestation as att
from nodepool.join.cluster import Registration
from nodepool.settings import Settings
from sim import attest
from sim.certs import ca_certificate, tls_leaf
from tests.unit import azure_vectors as vectors
from tests.unit.azure_vectors import VectorPki, needs_vectors

pytestmark = needs_vectors
APP = {"AzureWebJobsStorage": "UseDevelopmentStorage=true", "NODEPOOL_TENANT_ID": "t", "AZURE_SUBSCRIPTION_ID": "s",
       "NODEPOOL_RESOURCE_GROUP": "rg"}
ISSUING_CA = "Microsoft TLS G2 RSA CA OCSP 02"


def production(**env) -> PkcsAttestationVerifier:
    """Built as the app builds it (certifi roots, default signers and AIA hosts), with the vectors' CAs as
    the bundled set (what `tasks.py intermediates` writes and publish ships) and Microsoft's PKI host
    played by the vectors (no network in unit tests)."""
    verifier = verifier_from_settings(Settings.from_env({**APP, **env}), bundle=vectors.bundle())
    verifier.issuers.fetcher = VectorPki(verifier.issuers.fetcher.hosts)
    return verifier


def outcome(verifier, doc, now) -> tuple[int, str]:
    with pytest.raises(NodepoolError) as err:
        verifier.verify(doc, now)
    return status_of(err.value), err.value.code


def real() -> tuple[dict, dt.datetime]:
    _, doc = vectors.documents()[0]
    return doc, vectors.signed_at(doc)


@pytest.mark.parametrize("name", [n for n, _ in vectors.documents()] if vectors.VECTORS.is_dir() else [])
def test_every_real_document_verifies_at_its_own_time_with_the_production_configuration(name):
    doc = dict(vectors.documents())[name]
    verifier = production()
    claims = verifier.verify(doc, vectors.signed_at(doc))
    content = vectors.content(doc)
    assert (claims.vm_id, claims.nonce, claims.subscription_id) == (
        content["vmId"], content["nonce"], content["subscriptionId"])
    assert verifier.issuers.fetcher.requests == 0  # the bundled set had the chain: nothing fetched


def test_the_real_document_verifies_with_the_issuer_fetched_from_its_aia_url_alone():
    doc, at = real()
    pki = VectorPki()
    verifier = PkcsAttestationVerifier(platform_roots(), fetcher=pki)
    assert verifier.verify(doc, at).vm_id == vectors.content(doc)["vmId"]
    assert [u.rsplit("/", 1)[1] for u in pki.asked] == [
        "Microsoft%20TLS%20G2%20RSA%20CA%20OCSP%2002.crt", "Microsoft%20TLS%20RSA%20Root%20G2%20-%20xsign.crt"]


def test_the_real_document_is_refused_once_its_signer_certificate_expired():
    doc, at = real()
    assert outcome(production(), doc, at + dt.timedelta(days=180)) == (403, att.CHAIN)


def test_without_its_issuer_the_refusal_names_it_and_the_aia_url_it_tried():
    doc, at = real()
    with pytest.raises(att.AttestationRefused) as err:
        PkcsAttestationVerifier(platform_roots(), fetcher=VectorPki(hosts=("pki.example.org",))).verify(doc, at)
    assert err.value.code == att.CHAIN
    assert ISSUING_CA in err.value.message and "www.microsoft.com is not an allowed PKI host" in err.value.message


def test_a_pki_host_that_does_not_answer_is_a_503_to_try_again():
    class Down(VectorPki):
        def fetch(self, url):
            return Fetched(None, f"{url} did not answer (ConnectTimeout)", down=True)

    doc, at = real()
    assert outcome(PkcsAttestationVerifier(platform_roots(), fetcher=Down()), doc, at) == (503, att.ISSUER_UNAVAILABLE)


def one_content_byte_changed(doc: dict) -> dict:
    der = bytearray(vectors.der(doc))
    at = der.index(b'"sku":"') + 8
    der[at] ^= 0x01
    return attest.envelope(bytes(der))


def signature_moved_onto_other_content(doc: dict) -> dict:
    other = {**vectors.content(doc), "vmId": "00000000-0000-4000-8000-000000000001"}
    return attest.envelope(attest.swap_content(vectors.der(doc), attest.encode(other)))


def attacker_chain(doc: dict, now: dt.datetime, *, embed_chain: bool) -> dict:
    """Anyone's own root, issuing CA and metadata.azure.com leaf, over the real content; the issuing CA
    copies Microsoft's name and the leaf Microsoft's AIA URLs."""
    theirs = attest.make_chain(root_name="Attacker Root CA", now=now)
    ca = ca_certificate(ISSUING_CA, theirs.leaf_key, "Attacker Root CA", theirs.leaf_key, start=now - dt.timedelta(1),
                        end=now + dt.timedelta(30), path_length=0, server_auth_only=True)
    leaf = tls_leaf(["eastus.metadata.azure.com", "metadata.azure.com"], theirs.leaf_key, ISSUING_CA, theirs.leaf_key,
                    start=now - dt.timedelta(1), end=now + dt.timedelta(30), issuer_urls=attest.issuer_urls(ISSUING_CA))
    signer = attest.Chain(theirs.root, ca, leaf, theirs.leaf_key)
    extra = (ca, theirs.root) if embed_chain else ()
    return attest.envelope(attest.sign(attest.encode(vectors.content(doc)), signer, extra_certificates=extra))


def test_each_tampered_form_of_the_real_document_is_refused_with_its_own_code():
    doc, at = real()
    verifier = production()
    forms = {
        "one content byte changed": one_content_byte_changed(doc),
        "signature moved onto other content": signature_moved_onto_other_content(doc),
        "attacker root, self-made metadata.azure.com chain": attacker_chain(doc, at, embed_chain=False),
        "attacker root, its whole chain embedded": attacker_chain(doc, at, embed_chain=True),
    }
    codes = {form: outcome(verifier, tampered, at) for form, tampered in forms.items()}
    codes["signer name not allowed"] = outcome(production(NODEPOOL_ATTESTATION_SIGNERS="metadata.azure.us"), doc, at)
    assert codes == {
        "one content byte changed": (403, att.SIGNATURE),
        "signature moved onto other content": (403, att.SIGNATURE),
        "attacker root, self-made metadata.azure.com chain": (403, att.CHAIN),
        "attacker root, its whole chain embedded": (403, att.CHAIN),
        "signer name not allowed": (403, att.SIGNER_NAME),
    }


def test_the_master_registration_checks_the_real_document_with_the_same_verifier():
    """Signature, chain and signer name pass; IMDS wrote its own nonce (not one we issued), so the
    registration is refused there, and a tampered document before it."""
    doc, at = real()
    services = wiring.Services(Settings.from_env({**APP, "NODEPOOL_MASTER_VM_ID": vectors.content(doc)["vmId"]}),
                               clock=ManualClock(at), verifier=production(), nonces=FakeNonceStore(),
                               credentials=FakeNodeCredentials())
    master = Caller(Role.MASTER, "master-principal")

    def register(document) -> str:
        registration = Registration("https://10.1.0.4:6443", "0" * 64, "-----BEGIN CERTIFICATE-----", "v1.31.4+k3s1",
                                    "credential", "", attested=document)
        with pytest.raises(NodepoolError) as err:
            services.joins.register(master, registration, at)
        return err.value.code

    assert register(doc) == att.NONCE_UNKNOWN
    assert register(one_content_byte_changed(doc)) == att.SIGNATURE
    assert register(attacker_chain(doc, at, embed_chain=False)) == att.CHAIN


def test_the_real_document_der_is_what_the_readme_says():
    doc, _ = real()
    assert len(base64.b64decode(doc["signature"])) == 3167


def test_the_operator_sees_the_bundled_set_its_expiry_and_what_was_fetched():
    _, at = real()
    verifier = production()
    trust = verifier.describe(at)
    assert trust["bundle"]["count"] == 9 and trust["bundle"]["expires"].startswith("2029-06-03")
    assert not trust["bundle"]["expired"]
    assert {(i["subject"], i["source"]) for i in trust["intermediates"]} >= {(ISSUING_CA, "bundled"),
                                                                            ("Microsoft TLS RSA Root G2", "bundled")}
    assert verifier.describe(at + dt.timedelta(days=3 * 365))["bundle"]["expired"]
