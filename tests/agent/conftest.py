"""Fixtures for the helper's tests: loopback IMDS and API stand-ins, a fake clock, a runner."""
from __future__ import annotations

import io
import socket

import pytest

from agent.cli import main
from agent.runtime import Runtime
from tests.agent.stubs import FUNCTION_KEY, FakeApi, FakeClock, FakeImds, Stub


@pytest.fixture
def imds():
    fake = FakeImds()
    stub = Stub(fake)
    fake.url = stub.url + fake.prefix
    yield fake
    stub.close()


@pytest.fixture
def api():
    fake = FakeApi()
    stub = Stub(fake)
    fake.url = stub.url + "/api"
    yield fake
    stub.close()


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def dead_url():
    """A loopback URL nobody listens on: connection refused at once (the app is down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return "http://127.0.0.1:%d/api" % port


class Run:
    def __init__(self, code: int, log: str):
        self.code, self.log = code, log


@pytest.fixture
def run_agent(imds, clock, tmp_path):
    """Run `python -m agent ARGV` in-process with the fake clock; returns exit code and log text.
    The node credential lives in the test's own folder (NODEPOOL_NODE_CREDENTIAL_FILE)."""

    def run(*argv, stop=lambda: False, env=None, rand=lambda: 0.5):
        stream = io.StringIO()
        imds.clock = clock
        rt = Runtime(clock=clock, sleep=clock.sleep, rand=rand, stop=stop)
        environment = {"NODEPOOL_FUNCTION_KEY": FUNCTION_KEY, "NODEPOOL_IMDS_URL": imds.url,
                       "NODEPOOL_NODE_CREDENTIAL_FILE": str(tmp_path / "node-credential")}
        environment.update(env or {})
        code = main(list(argv), env=environment, rt=rt, stream=stream)
        return Run(code, stream.getvalue())

    return run


# -- integration: the helper against the simulator and the real app in the dev host --------------
APP_ENV = {"NODEPOOL_NODE_LABELS": "nodepool/pool=agents,node-role.kubernetes.io/agent=true",
           "NODEPOOL_DRAIN_MARGIN": "1"}


@pytest.fixture
def cluster(make_stack):
    """The stack (Azurite, simulator, the app in the dev host) with 3 agents; master not registered."""
    return make_stack(env=APP_ENV)


@pytest.fixture
def node_on(cluster, tmp_path):
    """node_on(which, disk="a"): the helper on VM `which`, with a disk folder of its own."""
    from tests.agent.integration import Node

    def make(which, disk: str = "") -> Node:
        vm = cluster.sim.vm(which)
        return Node(cluster, vm, tmp_path / (disk or vm.computer_name))

    return make
