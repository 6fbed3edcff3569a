"""A corrupt attested document is refused with a reason code, never an error: bits flipped anywhere in
a real Azure document and in a simulated one (the embedded certificate included) give 400
attestation_malformed or a 403 refusal, and through POST /api/join a 400 or 403, never a 500."""
from __future__ import annotations

import base64
import json

import azure.functions as func
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from functions.http import status_of
from functions.http_join import post_join
from nodepool import wiring
from nodepool.adapters import aia
from nodepool.adapters.attestation import PkcsAttestationVerifier, platform_roots
from nodepool.core.errors import NodepoolError
from nodepool.core.model import Role
from nodepool.fakes.attest import FakeNodeCredentials, FakeNonceStore
from nodepool.fakes.identity import FakeIdentity
from nodepool.fakes.kube import FakeKube
from nodepool.fakes.registry import FakeRegistry
from nodepool.fakes.scaleset import FakeScaleSet
from nodepool.settings import Settings
from sim import attest
from tests.unit import azure_vectors as vectors
from tests.unit.attest_docs import NOW, chain, document
from tests.unit.fakes_world import ManualClock, Plane

REFUSALS = {(400, "attestation_malformed"), (403, "attestation_signature"), (403, "attestation_untrusted_signer"),
            (403, "attestation_signer_name")}
APP = {"AzureWebJobsStorage": "UseDevelopmentStorage=true", "NODEPOOL_TENANT_ID": "t", "AZURE_SUBSCRIPTION_ID": "s",
       "NODEPOOL_RESOURCE_GROUP": "rg"}
KINDS = ["simulated"] + (["real"] if (vectors.VECTORS / "README.md").is_file() else [])


class Issuers(vectors.VectorPki):
    """Microsoft's PKI host for both: the real CAs and the simulator's, at the URLs their leaves name."""

    def fetch(self, url: str) -> aia.Fetched:
        sim_ca = chain().intermediate
        if url in attest.issuer_urls(sim_ca.subject.get_attributes_for_oid(aia.x509.NameOID.COMMON_NAME)[0].value):
            return aia.Fetched(sim_ca) if not aia.refusal(url, self.hosts) else aia.Fetched(None, "refused")
        return super().fetch(url) if vectors.VECTORS.is_dir() else aia.Fetched(None, f"{url} answered 404")


def case(kind: str):
    """(DER, when to verify, the verifier) of a genuine document of `kind`."""
    roots = platform_roots() + [chain().root]
    verifier = PkcsAttestationVerifier(roots, fetcher=Issuers())
    if kind == "real":
        _, doc = vectors.documents()[0]
        return vectors.der(doc), vectors.signed_at(doc), verifier
    return base64.b64decode(document("3f1c2a9e-0000-4000-8000-000000000001", "0" * 32)["signature"]), NOW, verifier


CASES = {kind: case(kind) for kind in KINDS}


def flipped(der: bytes, bits: list[int]) -> bytes:
    out = bytearray(der)
    for bit in bits:
        out[bit // 8 % len(out)] ^= 1 << (bit % 8)
    return bytes(out)


def bits_of(der: bytes):
    """Anywhere, or in the embedded leaf's first bytes (version, serial, algorithms: where loading fails)."""
    leaf = der.index(bytes.fromhex("a003020102")) * 8
    anywhere = st.integers(0, len(der) * 8 - 1)
    return st.lists(st.one_of(anywhere, st.integers(leaf - 64, leaf + 400)), min_size=1, max_size=3)


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_flipped_bits_are_refused_with_a_reason_code_or_leave_the_claims_unchanged(kind, data):
    der, at, verifier = CASES[kind]
    genuine = verifier.verify(attest.envelope(der), at)
    bits = data.draw(bits_of(der))
    try:
        claims = verifier.verify(attest.envelope(flipped(der, bits)), at)
    except NodepoolError as err:
        assert (status_of(err), err.code) in REFUSALS, err
    else:  # a bit the signature does not cover (e.g. SignedData's own digest list): nothing it says changed
        assert claims == genuine


@pytest.fixture(scope="module")
def app():
    services = wiring.Services(Settings.from_env(APP), clock=ManualClock(NOW), registry=FakeRegistry(),
                               scaleset=FakeScaleSet("agents", capacity=1), identity=FakeIdentity(),
                               kube_for=lambda cluster: FakeKube(), verifier=CASES["simulated"][2],
                               nonces=FakeNonceStore(), credentials=FakeNodeCredentials())
    Plane(registry=services.registry).register_master()
    wiring.install(services)
    yield services
    wiring.reset()


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_join_with_a_corrupt_document_answers_400_or_403_never_500(app, kind, data):
    der, at, _ = CASES[kind]
    app.clock.current = at
    doc = attest.envelope(flipped(der, data.draw(bits_of(der))))
    body = json.dumps({"hostname": "agents000000", "attested": doc}).encode()
    request = func.HttpRequest("POST", "/api/join", headers={"Authorization": app._identity.header(Role.AGENT)},
                               body=body)
    reply = post_join.build().get_user_function()(request)
    answer = json.loads(reply.get_body())
    assert (reply.status_code, answer.get("error")) in REFUSALS | {(403, "attestation_nonce_unknown")}, answer
