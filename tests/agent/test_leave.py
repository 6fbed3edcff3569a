"""`leave` is bounded: it never holds shutdown longer than --leave-timeout."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.agent.stubs import IDENTITY_TOKEN

ACCEPTED = (202, {}, {"node": "agent000001", "event_id": "leave-tok1", "deadline": "2030-01-01T00:01:30Z"})


@pytest.fixture(autouse=True)
def joined(tmp_path):
    """The node credential its attested join stored (run_agent reads it from the test's folder)."""
    (tmp_path / "node-credential").write_text("npc1.stub-node-credential\n")


def _iso(epoch):
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat()


def _argv(url, timeout="90"):
    return ["leave", "--api-url", url, "--node-name", "agent000001", "--leave-timeout", timeout]


def test_leave_returns_once_the_drain_finished(api, imds, clock, run_agent):
    done = (200, {}, {"name": "agent000001", "state": "left", "drained_at": _iso(clock.now + 3)})
    api.on("POST", "/api/leave", ACCEPTED)
    api.on("GET", "/api/nodes/agent000001", (200, {}, {"state": "draining"}), (200, {}, {"state": "draining"}), done)
    result = run_agent(*_argv(api.url))
    assert result.code == 0, result.log
    assert api.calls("POST", "/api/leave")[0].body == {"hostname": "agent000001"}
    assert len(api.calls("GET", "/api/nodes/agent000001")) == 3


def test_leave_stops_waiting_at_its_bound(api, imds, clock, run_agent):
    api.on("POST", "/api/leave", ACCEPTED)
    api.on("GET", "/api/nodes/agent000001", (200, {}, {"state": "draining"}))
    t0 = clock.now
    result = run_agent(*_argv(api.url, "20"))
    assert result.code == 2
    assert clock.now - t0 <= 20.001
    assert "not waiting longer" in result.log


def test_leave_is_bounded_when_the_app_is_down(imds, clock, run_agent, dead_url):
    t0 = clock.now
    result = run_agent(*_argv(dead_url, "15"))
    assert result.code == 2
    assert clock.now - t0 <= 15.001
    assert "without a drain" in result.log


def test_leave_of_an_unknown_node_is_immediate(api, imds, run_agent):
    api.on("POST", "/api/leave", (404, {}, {"error": "unknown_node", "message": "no such node"}))
    assert run_agent(*_argv(api.url)).code == 0


def test_leave_of_a_node_that_never_joined_asks_nothing(api, imds, run_agent, tmp_path):
    (tmp_path / "node-credential").unlink()
    result = run_agent(*_argv(api.url))
    assert result.code == 0 and "never joined" in result.log
    assert api.calls("POST", "/api/leave") == []


def test_leave_waits_for_the_drain_of_its_own_leave_event(api, imds, clock, run_agent):
    earlier = (200, {}, {"state": "left", "drained_at": _iso(clock.now + 1), "last_event_id": "preempt-1"})
    ours = (200, {}, {"state": "left", "drained_at": _iso(clock.now + 2), "last_event_id": "leave-tok1"})
    api.on("POST", "/api/leave", ACCEPTED)
    api.on("GET", "/api/nodes/agent000001", earlier, earlier, ours)
    assert run_agent(*_argv(api.url)).code == 0
    assert len(api.calls("GET", "/api/nodes/agent000001")) == 3


def test_leave_ignores_a_drain_finished_before_it_asked(api, imds, clock, run_agent):
    stale = (200, {}, {"state": "left", "drained_at": "2001-01-01T00:00:00Z"})
    api.on("POST", "/api/leave", ACCEPTED)
    api.on("GET", "/api/nodes/agent000001", stale)
    assert run_agent(*_argv(api.url, "5")).code == 2
    assert api.calls("GET", "/api/nodes/agent000001")[0].headers["Authorization"] == "Bearer " + IDENTITY_TOKEN
