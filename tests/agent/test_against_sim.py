"""The helper against the simulator's IMDS (real time, real wire format) with a stub for our API.

It pins the helper's side of the wire without the app; the same flows against the real app in the
dev host are in test_integration_*.py.
"""
from __future__ import annotations

import base64
import io
import json
import time

import pytest

from agent.cli import main
from agent.runtime import Runtime
from tests.agent.stubs import FUNCTION_KEY, Seen, Stub

cluster = pytest.importorskip("sim.cluster", reason="the simulator (sim/cluster.py) has not landed yet")


class AnyBearerApi:
    """Our API's wire format, accepting whichever token the simulator's IdP minted."""

    def __init__(self, node: str):
        self.node, self.seen, self.polls, self.event_id = node, [], 0, ""

    def __call__(self, method, path, query, headers, body):
        self.seen.append(Seen(method, path, query, headers, body))
        if path == "/api/events":
            self.event_id = next((e["EventId"] for e in body["document"]["Events"]), "")
            return 202, {}, {"deadline": "soon"}
        if path == "/api/nodes/" + self.node:
            self.polls += 1
            done = self.polls >= 3 and self.event_id
            return 200, {}, {"name": self.node, "state": "deleted" if done else "draining",
                             **({"acknowledge": self.event_id} if done else {})}
        return 404, {}, {"error": "not_found", "message": path}


@pytest.fixture
def simulator():
    sim = cluster.Simulator(agents=2).start()
    yield sim
    sim.stop()


def test_watch_with_simulated_imds_forwards_our_preempt_and_acks_after_the_drain(simulator):
    mine, other = simulator.vms[0], simulator.vms[1]
    api = AnyBearerApi(mine.computer_name)
    stub = Stub(api)
    try:
        ours = simulator.preempt(mine.computer_name, notice=30)
        simulator.preempt(other.computer_name, notice=30)
        started, out = time.monotonic(), io.StringIO()
        main(["watch", "--api-url", stub.url + "/api", "--node-name", mine.computer_name,
              "--audience", simulator.audience],
             env={"NODEPOOL_FUNCTION_KEY": FUNCTION_KEY, "NODEPOOL_IMDS_URL": simulator.imds_for(mine.computer_name)},
             rt=Runtime(stop=lambda: "acknowledged" in out.getvalue() or time.monotonic() - started > 20),
             stream=out)
    finally:
        stub.close()
    log = out.getvalue()
    assert "acknowledged event %s (Preempt): every node it names is drained" % ours.event_id in log, log
    assert time.monotonic() - started < 25  # before NotBefore (30 s): three polls, a sixth of the notice apart
    forwarded = [s for s in api.seen if s.path == "/api/events"]
    assert len(forwarded) == 1 and forwarded[0].body["hostname"] == mine.computer_name
    assert [e["EventId"] for e in forwarded[0].body["document"]["Events"]] == [ours.event_id]  # not the other's
    assert "is for %s, not us: ignored" % other.name in log
    token = forwarded[0].headers["Authorization"].split(" ", 1)[1]
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["aud"] == simulator.audience
