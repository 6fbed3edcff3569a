"""The JWT verifier against the simulator's IdP over HTTPS: claims, keys, issuers and refusals."""
import dataclasses
import logging
import time

import pytest

from nodepool.adapters.identity import JwtVerifier, Keys
from nodepool.core.errors import Unauthenticated, Unavailable
from nodepool.core.model import Role


@pytest.fixture
def verifier(sim_settings):
    return JwtVerifier(sim_settings)


def reason(verifier, token, role=Role.AGENT) -> str:
    with pytest.raises(Unauthenticated) as raised:
        verifier.verify(f"Bearer {token}", role)
    assert token not in str(raised.value) and raised.value.__cause__ is None
    return raised.value.code


def jwks_fetches(sim) -> int:
    return sum(n for key, n in sim.idp.server.hits.items() if key.endswith("/keys"))


def test_the_caller_carries_the_identity_resource_id(sim, verifier):
    caller = verifier.verify(f"Bearer {sim.token('agent')}", Role.AGENT)
    assert caller.resource_id == sim.agent_identity.resource_id
    assert "/userAssignedIdentities/" in caller.resource_id


def test_v2_tokens_of_the_tenant_are_accepted_too(sim, verifier):
    assert verifier.verify(f"Bearer {sim.token('agent', version='2.0')}", Role.AGENT).role == Role.AGENT


def test_identities_may_be_allowed_by_resource_id(sim, sim_settings):
    settings = dataclasses.replace(sim_settings, agent_identity=sim.agent_identity.resource_id.upper())
    caller = JwtVerifier(settings).verify(f"Bearer {sim.token('agent')}", Role.AGENT)
    assert caller.principal_id == sim.agent_principal_id


def test_a_role_without_a_configured_identity_admits_nobody(sim, sim_settings):
    verifier = JwtVerifier(dataclasses.replace(sim_settings, master_identity=None))
    with pytest.raises(Exception) as raised:
        verifier.verify(f"Bearer {sim.token('master')}", Role.MASTER)
    assert raised.value.code == "identity_not_allowed"


def test_wrong_audience_is_refused(sim, verifier):
    assert reason(verifier, sim.token("agent", audience="https://management.azure.com/")) == "token_wrong_audience"


def test_wrong_issuer_is_refused(sim, verifier):
    other = sim.token("agent", extra={"iss": "https://sts.windows.net/00000000-0000-0000-0000-000000000000/"})
    assert reason(verifier, other) == "token_wrong_issuer"


def test_a_token_signed_by_another_key_under_a_known_kid_is_refused(sim, verifier):
    assert reason(verifier, sim.token("agent", forged=True)) == "token_invalid_signature"


def test_unknown_kids_cannot_make_us_hammer_the_idp(sim, verifier):
    verifier.verify(f"Bearer {sim.token('agent')}", Role.AGENT)
    for n in range(20):
        assert reason(verifier, sim.token("agent", forged=True, kid=f"made-up-{n}")) == "token_invalid_signature"
    assert jwks_fetches(sim) == 1


def test_a_rotated_signing_key_is_picked_up_on_its_first_token(sim, sim_settings):
    verifier = JwtVerifier(sim_settings, Keys(sim.authority, sim.tenant_id, sim.ca_bundle, min_refresh_s=0, retry_s=0))
    verifier.verify(f"Bearer {sim.token('agent')}", Role.AGENT)
    sim.idp.rotate()
    assert verifier.verify(f"Bearer {sim.token('agent')}", Role.AGENT).role == Role.AGENT
    assert jwks_fetches(sim) == 2


@pytest.mark.parametrize("alg", ["none", "HS256"])
def test_only_rs256_is_accepted(sim, verifier, alg):
    assert reason(verifier, sim.token("agent", alg=alg)) == "token_wrong_algorithm"


def test_expiry_within_the_clock_skew_is_tolerated(sim, verifier):
    token = sim.token("agent", now=time.time() - 3630)  # expired 30 s ago
    assert verifier.verify(f"Bearer {token}", Role.AGENT).role == Role.AGENT


def test_expiry_beyond_the_clock_skew_is_refused(sim, verifier):
    assert reason(verifier, sim.token("agent", now=time.time() - 3700)) == "token_expired"


def test_a_token_not_valid_yet_is_refused(sim, verifier):
    assert reason(verifier, sim.token("agent", now=time.time() + 600)) == "token_not_yet_valid"


def test_a_token_without_oid_is_refused(sim, verifier):
    token = sim.idp.mint(sim.agent_identity, sim.audience, extra={"oid": None})
    assert reason(verifier, token) == "token_missing_claim"


@pytest.mark.parametrize("garbage", ["abc", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30"])
def test_garbage_is_malformed(verifier, garbage):
    assert reason(verifier, garbage) == "token_malformed"


def test_an_unreachable_idp_is_unavailable_not_a_refusal(sim, sim_settings):
    url = sim.authority
    sim.idp.server.stop()
    verifier = JwtVerifier(dataclasses.replace(sim_settings, authority=url))
    with pytest.raises(Unavailable) as raised:
        verifier.verify(f"Bearer {sim.token('agent')}", Role.AGENT)
    assert raised.value.code == "idp_unavailable"


def test_the_idp_is_only_trusted_through_the_ca_bundle(sim, sim_settings):
    verifier = JwtVerifier(dataclasses.replace(sim_settings, ca_bundle=None))
    with pytest.raises(Unavailable):
        verifier.verify(f"Bearer {sim.token('agent')}", Role.AGENT)


def test_a_failed_key_refresh_is_logged_and_the_keys_loaded_before_stay(sim, sim_settings, caplog):
    """A key rotated during an identity provider outage: its tokens are refused until a refresh works,
    and the log says why (it used to keep the old keys silently)."""
    keys = Keys(sim.authority, sim.tenant_id, sim.ca_bundle, min_refresh_s=0, retry_s=0)
    verifier = JwtVerifier(sim_settings, keys)
    old = sim.token("agent")
    verifier.verify(f"Bearer {old}", Role.AGENT)
    sim.idp.rotate()
    rotated = sim.token("agent")
    sim.idp.server.stop()
    with caplog.at_level(logging.WARNING, logger="nodepool"):
        assert reason(verifier, rotated)
    [record] = [r for r in caplog.records if "keys not refreshed" in r.getMessage()]
    assert record.keys == 1 and record.error
