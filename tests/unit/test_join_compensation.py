"""A join answered with an error leaves no live bootstrap token behind."""
import pytest

from nodepool.core.errors import Unavailable
from nodepool.core.model import Caller, Role
from tests.unit.fakes_world import Plane

AGENT = Caller(Role.AGENT, "agent-principal")


def bootstrap_secrets(plane: Plane) -> list[str]:
    return [s["name"] for s in plane.kube.secrets("kube-system") if s["name"].startswith("bootstrap-token-")]


def failing(error):
    def fail(*args, **kwargs):
        raise error
    return fail


@pytest.fixture
def plane():
    plane = Plane()
    plane.register_master()
    return plane


def test_a_row_write_failing_after_the_secret_revokes_the_token_it_minted(plane, monkeypatch):
    monkeypatch.setattr(plane.registry, "save_node", failing(Unavailable("storage restarting")))
    with pytest.raises(Unavailable):
        plane.join(plane.hostnames()[0])
    assert bootstrap_secrets(plane) == [] and plane.registry.join_tokens() == []


def test_a_secret_create_that_failed_after_landing_is_revoked_too(plane, monkeypatch):
    create = plane.kube.create_secret

    def lands_then_times_out(*args, **kwargs):
        create(*args, **kwargs)
        raise Unavailable("kubernetes API timed out")

    monkeypatch.setattr(plane.kube, "create_secret", lands_then_times_out)
    with pytest.raises(Unavailable):
        plane.join(plane.hostnames()[0])
    assert bootstrap_secrets(plane) == [] and plane.registry.join_tokens() == []


def test_when_storage_cannot_forget_the_row_the_secret_still_goes(plane, monkeypatch):
    monkeypatch.setattr(plane.registry, "save_node", failing(Unavailable("storage down")))
    monkeypatch.setattr(plane.registry, "delete_join_token", failing(Unavailable("storage down")))
    with pytest.raises(Unavailable):
        plane.join(plane.hostnames()[0])
    assert bootstrap_secrets(plane) == []
    [left] = plane.registry.join_tokens()  # only a name: the cleanup timer removes it
    assert left.node == plane.hostnames()[0]


def test_a_successful_join_keeps_its_token(plane):
    answer = plane.join(plane.hostnames()[0])
    token_id = answer["token"].split("::")[1].split(".")[0]
    assert bootstrap_secrets(plane) == [f"bootstrap-token-{token_id}"]
