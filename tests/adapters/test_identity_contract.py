"""One contract for the IdentityVerifier port: the fake and the JWT verifier against the sim IdP."""
import pytest

from nodepool.adapters.identity import JwtVerifier
from nodepool.core.errors import Forbidden, Unauthenticated
from nodepool.core.model import Role
from nodepool.fakes.identity import FakeIdentity
from sim.vm import Identity


class Issuer:
    """Hands out tokens the verifier under test should accept or refuse."""

    def __init__(self, verifier, good, stranger, expired, unsigned, agent_id):
        self.verifier, self.good, self.stranger, self.expired, self.unsigned = (
            verifier, good, stranger, expired, unsigned)
        self.agent_id = agent_id


@pytest.fixture(params=["fake", "jwt"])
def issuer(request):
    if request.param == "fake":
        fake = FakeIdentity()
        return Issuer(fake, lambda role: fake.issue(role), lambda: fake.issue("someone-else"),
                      lambda: fake.issue(Role.AGENT, expired=True), lambda: "fake.not-issued-here", "agent-principal")
    sim = request.getfixturevalue("sim")
    verifier = JwtVerifier(request.getfixturevalue("sim_settings"))
    stranger = Identity.new(sim.subscription_id, "elsewhere", "stranger")
    return Issuer(verifier, lambda role: sim.token(role.value), lambda: sim.token(stranger),
                  lambda: sim.token("agent", now=0), lambda: sim.token("agent", forged=True), sim.agent_principal_id)


def refusal(issuer, token, role=Role.AGENT):
    with pytest.raises((Unauthenticated, Forbidden)) as raised:
        issuer.verifier.verify(f"Bearer {token}", role)
    assert token not in str(raised.value)
    return type(raised.value).__name__, raised.value.code


def test_an_agent_token_is_accepted_as_agent(issuer):
    caller = issuer.verifier.verify(f"Bearer {issuer.good(Role.AGENT)}", Role.AGENT)
    assert (caller.role, caller.principal_id) == (Role.AGENT, issuer.agent_id)


def test_a_master_token_is_accepted_as_master(issuer):
    assert issuer.verifier.verify(f"Bearer {issuer.good(Role.MASTER)}", Role.MASTER).role == Role.MASTER


def test_a_master_token_used_as_agent_is_forbidden(issuer):
    assert refusal(issuer, issuer.good(Role.MASTER)) == ("Forbidden", "identity_not_allowed")


def test_an_agent_token_used_as_master_is_forbidden(issuer):
    assert refusal(issuer, issuer.good(Role.AGENT), Role.MASTER) == ("Forbidden", "identity_not_allowed")


def test_another_identity_is_forbidden(issuer):
    assert refusal(issuer, issuer.stranger()) == ("Forbidden", "identity_not_allowed")


def test_an_expired_token_is_refused(issuer):
    assert refusal(issuer, issuer.expired()) == ("Unauthenticated", "token_expired")


def test_a_token_nobody_signed_is_refused(issuer):
    assert refusal(issuer, issuer.unsigned()) == ("Unauthenticated", "token_invalid_signature")


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer   ", "Basic abc", "token-without-scheme"])
def test_a_missing_bearer_token_is_refused(issuer, header):
    with pytest.raises(Unauthenticated) as raised:
        issuer.verifier.verify(header, Role.AGENT)
    assert raised.value.code == "token_missing"
