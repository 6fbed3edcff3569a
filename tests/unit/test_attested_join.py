"""Attested join with fakes: nonce, expiry and vmId checks after the crypto, credentials minted and checked."""
from __future__ import annotations

import datetime as dt

import pytest

from nodepool.core.errors import AlreadyExists, Conflict, Forbidden, Unauthenticated, Unavailable
from nodepool.core.model import Instance
from nodepool.fakes.attest import FakeNodeCredentials, FakeNonceStore
from nodepool.identity import attestation as att
from nodepool.identity import credential as nc
from nodepool.identity.attestation import AttestationRefused
from nodepool.identity.attested import AttestationPolicy, AttestedJoin
from tests.unit.attest_docs import NOW, SUBSCRIPTION, chain, document, swapped, trusting, untrusted_chain

A = Instance("0", "agents000000", vm_id="aaaaaaaa-0000-4000-8000-000000000000")
B = Instance("1", "agents000001", vm_id="bbbbbbbb-0000-4000-8000-000000000001")
POOL = [A, B]
LATER = NOW + dt.timedelta(seconds=5)


@pytest.fixture
def service():
    return AttestedJoin(trusting(chain()), FakeNonceStore(), FakeNodeCredentials(),
                        AttestationPolicy(nonce_ttl_s=60, subscription_id=SUBSCRIPTION))


def joined(service, instance=A):
    """A whole attested join: attest, then adopt (what the join does once the rest succeeded)."""
    doc = document(instance.vm_id, nonce_for(service, instance.name))
    attested = attest(service, instance.name, doc, POOL, LATER)
    service.adopt(attested)
    return attested


def attest(service, host, doc, pool, now):
    """The join's two steps: the document verified (its nonce spent), then bound to `host`'s instance."""
    return service.bind(service.verify(host, doc, now), host, pool, now)


def nonce_for(service, host=A.name, now=NOW) -> str:
    return service.issue_nonce(host, now)["nonce"]


def refusal(service, doc, host=A.name, now=LATER, pool=POOL) -> str:
    with pytest.raises(AttestationRefused) as err:
        attest(service, host, doc, pool, now)
    return err.value.code


def test_an_attested_join_mints_a_credential_stored_only_as_a_hash(service):
    attested = joined(service)
    assert attested.instance == A and attested.credential.startswith(nc.PREFIX)
    row = service.credentials.get(A.name)
    assert (row.vm_id, row.issued_at) == (A.vm_id, LATER)
    assert attested.credential not in repr(row) and row.digest == nc.digest(attested.credential)
    assert service.authenticate(A.name, attested.credential) == row
    assert attested.response_fields() == {"node_credential": attested.credential, "vm_id": A.vm_id}


def test_every_attested_join_rotates_the_credential(service):
    first, second = joined(service).credential, joined(service).credential
    assert first != second
    with pytest.raises(Forbidden) as err:
        service.authenticate(A.name, first)
    assert err.value.code == nc.INVALID
    assert service.authenticate(A.name, second).vm_id == A.vm_id


def test_a_credential_minted_by_a_join_that_failed_later_does_not_replace_the_current_one(service):
    current = joined(service).credential
    attest(service, A.name, document(A.vm_id, nonce_for(service)), POOL, LATER)  # never adopted
    assert service.authenticate(A.name, current).vm_id == A.vm_id


def test_a_replayed_nonce_is_refused(service):
    doc = document(A.vm_id, nonce_for(service))
    attest(service, A.name, doc, POOL, LATER)
    assert refusal(service, doc) == att.NONCE_REPLAYED


def test_of_two_joins_racing_with_one_nonce_only_one_wins(service):
    doc = document(A.vm_id, nonce_for(service))
    real_mark = service.nonces.mark_used

    def raced(record, now):  # the other join spends it between our read and our write
        real_mark(record, now)
        raise Conflict("nonces: changed by another writer")

    service.nonces.mark_used = raced
    assert refusal(service, doc) == att.NONCE_REPLAYED


def test_a_nonce_we_never_issued_is_refused(service):
    assert refusal(service, document(A.vm_id, "f" * 32)) == att.NONCE_UNKNOWN
    assert refusal(service, document(A.vm_id, "20261201-120000")) == att.NONCE_UNKNOWN  # IMDS's default


def test_a_nonce_issued_for_another_node_is_refused(service):
    assert refusal(service, document(A.vm_id, nonce_for(service, host=B.name))) == att.NONCE_OTHER_HOST


def test_an_expired_nonce_is_refused(service):
    doc = document(A.vm_id, nonce_for(service))
    assert refusal(service, doc, now=NOW + dt.timedelta(seconds=61)) == att.NONCE_EXPIRED


def test_an_expired_document_is_refused(service):
    old = NOW - dt.timedelta(hours=7)
    assert refusal(service, document(A.vm_id, nonce_for(service), now=old)) == att.EXPIRED


def test_a_document_from_another_subscription_is_refused(service):
    doc = document(A.vm_id, nonce_for(service), subscription="00000000-0000-0000-0000-00000000bbbb")
    assert refusal(service, doc) == att.SUBSCRIPTION


def test_the_vm_id_of_another_instance_is_refused(service):
    """B's genuine document, presented as A: the signature, chain and nonce are all fine."""
    assert refusal(service, document(B.vm_id, nonce_for(service))) == att.VM_MISMATCH
    assert service.credentials.get(A.name) is None


def test_a_vm_id_not_in_the_scale_set_is_refused(service):
    assert refusal(service, document("cccccccc-0000-4000-8000-00000000000c", nonce_for(service))) == att.VM_UNKNOWN
    assert refusal(service, document(A.vm_id, nonce_for(service)), pool=[B]) == att.VM_UNKNOWN


def test_a_refused_document_spends_its_nonce(service):
    nonce = nonce_for(service)
    refusal(service, document(B.vm_id, nonce))
    assert refusal(service, document(A.vm_id, nonce)) == att.NONCE_REPLAYED


def test_a_forged_document_does_not_spend_the_nonce(service):
    nonce = nonce_for(service)
    assert refusal(service, document(A.vm_id, nonce, signed_by=untrusted_chain())) == att.CHAIN
    assert attest(service, A.name, document(A.vm_id, nonce), POOL, LATER).instance == A


def test_every_forgery_is_refused_with_its_own_code(service):
    genuine = document(A.vm_id, nonce_for(service))
    forgeries = {
        "untrusted signer": document(A.vm_id, nonce_for(service), signed_by=untrusted_chain()),
        "signature over other content": swapped(genuine, A.vm_id, nonce_for(service)),
        "wrong signer name": document(A.vm_id, nonce_for(service), signed_by=chain("metadata.evil.example")),
        "expired": document(A.vm_id, nonce_for(service), now=NOW - dt.timedelta(hours=7)),
        "vmId of another instance": document(B.vm_id, nonce_for(service)),
        "vmId not in the scale set": document("dddddddd-0000-4000-8000-00000000000d", nonce_for(service)),
    }
    service.verifier = trusting(chain(), chain("metadata.evil.example"))
    codes = {kind: refusal(service, doc) for kind, doc in forgeries.items()}
    service.adopt(attest(service, A.name, genuine, POOL, LATER))
    codes["replayed nonce"] = refusal(service, genuine)
    assert len(set(codes.values())) == len(codes), codes
    assert set(service.credentials.rows) == {A.name}  # only the genuine join left a credential


def test_a_node_credential_is_required_and_must_be_the_nodes_own(service):
    a, b = joined(service, A).credential, joined(service, B).credential
    with pytest.raises(Unauthenticated) as missing:
        service.authenticate(A.name, None)
    with pytest.raises(Forbidden) as others:
        service.authenticate(A.name, b)
    with pytest.raises(Forbidden) as unbound:
        service.authenticate("agents000002", a)
    assert (missing.value.code, others.value.code, unbound.value.code) == (nc.MISSING, nc.INVALID, nc.UNBOUND)


class RepeatingNonces(FakeNonceStore):
    """A random source that repeats itself: every nonce is taken already."""

    def add(self, record):
        raise AlreadyExists("taken")


def test_a_nonce_that_cannot_be_made_unique_is_unavailable_not_a_bare_500():
    service = AttestedJoin(trusting(chain()), RepeatingNonces(), FakeNodeCredentials())
    with pytest.raises(Unavailable) as raised:
        service.issue_nonce("agents000000", NOW)
    assert raised.value.code == "nonce_unavailable"
