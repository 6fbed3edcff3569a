"""Attested documents for tests: a trusted simulator chain and every kind of forgery built on it."""
from __future__ import annotations

import datetime as dt
from functools import lru_cache

from sim import attest
from sim.attest import Chain

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)
SUBSCRIPTION = "00000000-0000-0000-0000-00000000aaaa"


@lru_cache(maxsize=None)
def chain(name: str = attest.SIGNER_NAME, *, expired: bool = False, use_rsa: bool = True) -> Chain:
    """One chain per kind per test process (key generation is the slow part), valid at NOW, the instant
    every test verifies at: never made from the wall clock, so the suite passes on any date."""
    if expired:
        return attest.make_chain(name, now=NOW, not_before=NOW - dt.timedelta(days=30),
                                 not_after=NOW - dt.timedelta(days=1))
    return attest.make_chain(name, now=NOW, use_rsa=use_rsa)


def trusting(*chains: Chain, names=None, fetcher=None):
    """A verifier trusting the roots of `chains`, their issuing CAs known (the documents carry only
    the leaf, as Azure's do): the production verifier with the simulator's roots."""
    from nodepool.adapters.attestation import PkcsAttestationVerifier
    from nodepool.identity.attestation import PUBLIC_SIGNERS
    return PkcsAttestationVerifier([c.root for c in chains], names or PUBLIC_SIGNERS,
                                   [c.intermediate for c in chains], fetcher=fetcher)


@lru_cache(maxsize=None)
def untrusted_chain() -> Chain:
    """Same names, another root: what anyone can make for themselves."""
    return attest.make_chain(attest.SIGNER_NAME, root_name="Attacker Root CA", now=NOW)


def document(vm_id: str, nonce: str, *, signed_by: Chain | None = None, now: dt.datetime = NOW,
             subscription: str = SUBSCRIPTION, key=None, **content_changes) -> dict:
    body = {**attest.content(vm_id, nonce, subscription, now=now), **content_changes}
    return attest.envelope(attest.sign(attest.encode(body), signed_by or chain(), key=key))


def swapped(genuine: dict, vm_id: str, nonce: str) -> dict:
    """A genuine document's signature and certificates around content naming another VM."""
    import base64
    der = base64.b64decode(genuine["signature"])
    other = attest.encode(attest.content(vm_id, nonce, SUBSCRIPTION, now=NOW))
    return attest.envelope(attest.swap_content(der, other))
