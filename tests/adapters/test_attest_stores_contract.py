"""One contract for the nonce, node-credential and audit stores: the in-memory fakes and Table Storage (Azurite)."""
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from nodepool.adapters.attest_tables import TableNodeCredentials, TableNonceStore
from nodepool.adapters.audit_table import TableAuditLog
from nodepool.adapters.tables import Tables
from nodepool.core.audit import Actor, AuditEntry
from nodepool.core.errors import AlreadyExists, Conflict
from nodepool.fakes.attest import FakeNodeCredentials, FakeNonceStore
from nodepool.fakes.audit import FakeAuditLog
from nodepool.identity import attestation as nonce
from nodepool.identity import credential as node_credential
from nodepool.settings import Settings

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def _tables(request):
    return Tables(Settings.from_env(request.getfixturevalue("storage_env"))), "c" + uuid.uuid4().hex[:12]


@pytest.fixture(params=["fake", "tables"])
def nonces(request):
    return FakeNonceStore() if request.param == "fake" else TableNonceStore(*_tables(request))


@pytest.fixture(params=["fake", "tables"])
def credentials(request):
    return FakeNodeCredentials() if request.param == "fake" else TableNodeCredentials(*_tables(request))


def test_a_nonce_round_trips_and_is_spent_once(nonces):
    issued = nonce.issue("agents000001", NOW, ttl_s=60)
    nonces.add(issued)
    read = nonces.get(issued.nonce)
    assert replace(read, etag=None) == issued and read.etag
    nonces.mark_used(read, NOW + timedelta(seconds=1))
    assert nonces.get(issued.nonce).used_at == NOW + timedelta(seconds=1)
    with pytest.raises(Conflict):  # a second join that read it before the first one spent it
        nonces.mark_used(read, NOW + timedelta(seconds=2))


def test_a_nonce_issued_here_and_spent_or_removed_by_another_instance_cannot_be_spent_here(request):
    tables, cluster = _tables(request)
    here, elsewhere = TableNonceStore(tables, cluster), TableNonceStore(tables, cluster)
    spent, removed = nonce.issue("agents000001", NOW, 60), nonce.issue("agents000001", NOW - timedelta(hours=1), 60)
    here.add(spent)
    here.add(removed)
    elsewhere.mark_used(elsewhere.get(spent.nonce), NOW)
    assert elsewhere.delete_expired(NOW) == 1
    for issued in (spent, removed):
        remembered = here.get(issued.nonce)  # what this instance issued, not read back
        assert remembered.used_at is None
        with pytest.raises(Conflict):
            here.mark_used(remembered, NOW + timedelta(seconds=1))
    assert here.get(spent.nonce).used_at == NOW and here.get(removed.nonce) is None


def test_a_nonce_cannot_be_issued_twice_and_unknown_ones_read_as_none(nonces):
    issued = nonce.issue("agents000001", NOW)
    nonces.add(issued)
    with pytest.raises(AlreadyExists):
        nonces.add(issued)
    assert nonces.get("0" * 32) is None


def test_expired_nonces_are_deleted_and_fresh_ones_kept(nonces):
    old, fresh = nonce.issue("a", NOW - timedelta(hours=1), 60), nonce.issue("b", NOW, 60)
    nonces.add(old)
    nonces.add(fresh)
    assert nonces.delete_expired(NOW) == 1
    assert nonces.get(old.nonce) is None and nonces.get(fresh.nonce) is not None


def test_a_credential_is_stored_as_its_hash_and_replaced_on_rotation(credentials):
    first, record = node_credential.mint("agents000001", "vm-1", NOW)
    credentials.put(record)
    assert credentials.get("agents000001") == record and first not in repr(record)
    second, rotated = node_credential.mint("agents000001", "vm-1", NOW + timedelta(minutes=5))
    credentials.put(rotated)
    assert credentials.get("agents000001") == rotated
    credentials.delete("agents000001")
    credentials.delete("agents000001")  # missing is fine
    assert credentials.get("agents000001") is None


@pytest.fixture(params=["fake", "tables"])
def audit_log(request):
    return FakeAuditLog() if request.param == "fake" else TableAuditLog(*_tables(request))


def test_audit_entries_round_trip_newest_first_in_pages(audit_log):
    who = Actor("agent", "principal-1", "0123456789abcdef")
    for i in range(3):
        audit_log.add(AuditEntry.of(who, "cordon", f"agents00000{i}", f"Preempt E{i}", NOW + timedelta(seconds=i)))
    first, token = audit_log.page(2, None)
    rest, end = audit_log.page(2, token)
    assert [e.node for e in first + rest] == ["agents000002", "agents000001", "agents000000"] and end is None
    entry = rest[0]
    assert (entry.at, entry.action, entry.reason, entry.role, entry.principal_id, entry.credential_id) == (
        NOW, "cordon", "Preempt E0", "agent", "principal-1", "0123456789abcdef")
    assert entry.entry_id

