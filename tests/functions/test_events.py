"""POST /api/events end to end: dev host + Azurite + simulator (ARM, IMDS, KubeSim).

The agent's side is played by the test: it reads the scheduled-events document from the
simulated IMDS of its VM and posts it, as agent/watch.py does. VMs join KubeSim by
themselves (`auto_join`), so every agent has its Node and node-password secret. Outcomes
are read from KubeSim (requests it served, Nodes, pods) and from GET /api/nodes.
Also holds the helpers the drain tests (test_drain.py) use.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import pytest
import requests

from localenv.waiting import wait_for
from nodepool.settings import Settings
from nodepool.wiring import Services
from tests.fixtures.stack import Stack

# terminate_s: an evicted pod takes a moment to stop, so a PodDisruptionBudget really refuses.
SIM = {"agents": 3, "kube_options": {"auto_join": True, "scrypt_log_n": 4, "terminate_s": 0.2}}
ENV = {"NODEPOOL_RECONCILE_SCHEDULE": "0 0 0 1 1 *"}  # no reconcile tick acts on the pool mid-test
EVENTS_API = "api-version=2020-07-01"


@dataclass
class EventStack:
    stack: Stack

    @property
    def sim(self):
        return self.stack.sim

    @property
    def kube(self):
        return self.stack.sim.kube

    @property
    def host(self):
        return self.stack.host

    def names(self) -> list[str]:
        return self.stack.hostnames()

    def document(self, name: str) -> dict:
        """What the agent on VM `name` reads from IMDS."""
        answer = requests.get(f"{self.sim.imds_for(name)}/metadata/scheduledevents?{EVENTS_API}",
                              headers={"Metadata": "true"}, timeout=5)
        answer.raise_for_status()
        return answer.json()

    def post(self, name: str, document: dict | None = None) -> requests.Response:
        return self.stack.call("POST", "events", body={"hostname": name,
                                                       "document": document or self.document(name)})

    def row(self, name: str) -> dict:
        return self.stack.node_row(name) or {}

    def wait_row(self, name: str, timeout: float = 25.0, **expected) -> dict:
        def matches():
            row = self.row(name)
            return row if all(row.get(k) == v for k, v in expected.items()) else None
        return wait_for(matches, timeout=timeout, interval=0.1, what=f"row {name} with {expected}")

    def unschedulable(self, name: str) -> bool:
        node = self.kube.node(name)
        return bool(node and node["spec"].get("unschedulable"))

    def workload(self, name: str) -> list[dict]:
        """Pods on `name` a drain must move: not DaemonSet pods, not finished."""
        return [p for p in self.kube.pods(name)
                if (p["metadata"].get("ownerReferences") or [{}])[0].get("kind") != "DaemonSet"]

    def running_elsewhere(self, app: str, name: str) -> list[dict]:
        return [p for p in self.kube.pods() if p["metadata"]["labels"].get("app") == app
                and p["spec"].get("nodeName") not in (None, "", name) and p["status"]["phase"] == "Running"
                and not p["metadata"].get("deletionTimestamp")]

    def drains_run(self, name: str, event_id: str) -> int | None:
        """How many drains took this event's lease (its row in table `events`); None: no row."""
        row = Services(Settings.from_env(self.stack.app_env)).registry.event(name, event_id)
        return row.attempt if row else None

    def drain_attempts(self, name: str, event_id: str, logs: str | None = None) -> list[int]:
        """The queue trigger's deliveries of this event's message, from the host's log."""
        found = re.findall(rf"drain {name} for {event_id} \(\w+\), attempt (\d+)", logs or self.host.logs())
        return [int(n) for n in found]


def start(make_stack, sim_options: dict | None = None, env: dict | None = None) -> EventStack:
    return joined(make_stack({**SIM, **(sim_options or {})}, {**ENV, **(env or {})}))


def joined(stack: Stack) -> EventStack:
    """The master registered and each VM's agent joined at boot (attested): each holds its node credential."""
    stack.register_master()
    for name in stack.hostnames():
        assert stack.join(name).status_code == 200
    return EventStack(stack)


@pytest.fixture
def events(make_stack) -> EventStack:
    return start(make_stack)


def test_preempt_with_30s_notice_cordons_at_once_drains_20_pods_and_deletes_the_node_before_not_before(events):
    name = events.names()[0]
    events.kube.add_pods(name, 14, owner="ReplicaSet/web")
    events.kube.add_pods(name, 6, owner="StatefulSet/db")
    events.kube.add_pdb("db", selector={"app": "db"}, max_unavailable=1)
    preempt = events.sim.preempt(name, notice=30)

    answer = events.post(name)

    assert answer.status_code == 202, answer.text
    assert events.unschedulable(name)  # cordoned inside the request, before the drain evicts anything
    [event] = answer.json()["events"]
    assert (event["event_id"], event["type"], event["action"]) == (preempt.event_id, "Preempt", "drain")
    row = events.wait_row(name, state="deleted")
    assert events.kube.node(name) is None
    assert events.kube.secret("kube-system", f"{name}.node-password.k3s") is None
    assert (row["last_event_id"], row["pods_left"]) == (preempt.event_id, 0)
    assert events.sim.vm(name).power == "running"  # Node gone while the VM still runs: before NotBefore
    assert datetime.fromisoformat(row["drained_at"]).timestamp() < preempt.not_before
    served = events.kube.requests
    assert served["POST pods/eviction"] > 20  # every pod through the Eviction API; the PDB made us retry
    assert served["DELETE pods"] == 0  # never a plain pod delete
    assert len(events.running_elsewhere("web", name)) == 14
    assert sorted(p["metadata"]["name"] for p in events.running_elsewhere("db", name)) == [f"db-{i}" for i in range(6)]
    assert events.kube.pdb("default", "db")["currentHealthy"] == 6
    assert events.drains_run(name, preempt.event_id) == 1


def test_a_duplicate_event_gets_the_earlier_answer_and_is_acted_on_once(events):
    name = events.names()[0]
    events.kube.add_pods(name, 5)
    preempt = events.sim.preempt(name, notice=30)
    document = events.document(name)

    first = events.post(name, document)
    again = events.post(name, document)
    row = events.wait_row(name, state="deleted")
    started = {**document, "Events": [{**e, "EventStatus": "Started", "NotBefore": ""} for e in document["Events"]]}
    late = events.post(name, started)  # the same event again, now Started: still the same event

    assert first.status_code == again.status_code == late.status_code == 202
    same = {k: v for k, v in first.json()["events"][0].items() if k != "status"}
    assert [{k: v for k, v in e.items() if k not in ("status", "pods_left")} for e in again.json()["events"]] == [
        {**same, "duplicate": True}]
    assert late.json()["events"] == [{**same, "duplicate": True, "status": "done", "pods_left": 0,
                                      "pods_terminating": 0}]
    served = events.kube.requests
    assert (served["PATCH nodes"], served["DELETE nodes"], served["DELETE secrets"]) == (1, 1, 1)
    assert events.drains_run(name, preempt.event_id) == 1
    assert events.row(name) == row


def test_out_of_order_documents_handle_each_event_once(events):
    name = events.names()[0]
    events.kube.add_pods(name, 3)
    freeze = events.sim.world.freeze(name, 20, duration_s=5)
    older = events.document(name)
    reboot = events.sim.reboot(name, notice=20)
    newer = events.document(name)
    assert newer["DocumentIncarnation"] > older["DocumentIncarnation"]

    first = events.post(name, newer)
    stale = events.post(name, older)

    assert [(e["event_id"], e["action"]) for e in first.json()["events"]] == [
        (freeze.event_id, "record"), (reboot.event_id, "drain")]
    assert stale.json()["events"] == [{**first.json()["events"][0], "duplicate": True}]
    row = events.wait_row(name, state="cordoned", last_event_id=reboot.event_id, pods_left=0)
    assert row["drained_at"]
    assert events.kube.requests["PATCH nodes"] == 1
    assert events.drains_run(name, reboot.event_id) == 1
    assert events.drains_run(name, freeze.event_id) == 0 and events.drain_attempts(name, freeze.event_id) == []


def test_an_event_for_another_instance_is_ignored(events):
    mine, other = events.names()[:2]
    events.sim.preempt(other, notice=30)
    document = events.document(mine)  # every VM of the scale set sees the same document
    assert document["Events"][0]["Resources"] == [events.sim.vm(other).name]

    answer = events.post(mine, document)

    assert answer.status_code == 202, answer.text
    assert (answer.json()["events"], answer.json()["ignored"]) == ([], 1)
    assert not events.unschedulable(mine) and not events.unschedulable(other)
    assert events.kube.requests["PATCH nodes"] == 0
    assert events.stack.node_row(mine)["state"] == "joining"  # no event recorded
    assert events.stack.node_row(other)["state"] == "joining"


def test_a_hostname_outside_the_scale_set_is_refused(events):
    name = events.names()[0]
    events.sim.preempt(name, notice=30)
    answer = events.stack.call("POST", "events", body={"hostname": "intruder", "document": events.document(name)})
    assert (answer.status_code, answer.json()["error"]) == (401, "node_credential_missing"), answer.text
    borrowed = events.stack.identities.headers(name)  # a joined VM's own credential, for a name it is not
    answer = events.stack.call("POST", "events", body={"hostname": "intruder", "document": events.document(name)},
                               headers=borrowed)
    assert (answer.status_code, answer.json()["error"]) == (403, "node_credential_unbound"), answer.text
    assert not events.unschedulable(name)
