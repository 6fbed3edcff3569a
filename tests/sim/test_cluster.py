"""The composed simulator: start-up time, settings for the app, the control server, `python -m sim`."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from nodepool.settings import Settings
from sim.cluster import Simulator
from sim.hooks import RecordingHooks

ROOT = Path(__file__).resolve().parents[2]


def test_starts_and_stops_cleanly():
    Simulator(agents=1, kube=False).start().stop()  # keys and CA are made once per process
    with Simulator(agents=5) as sim:
        assert len(sim.vms) == 5


def test_settings_env_is_what_our_settings_read(sim, sim_env):
    settings = Settings.from_env(sim_env)
    assert (settings.arm_endpoint, settings.ca_bundle) == (sim.arm_url, sim.ca_bundle)
    assert (settings.authority, settings.arm_static_token) == (sim.authority, sim.arm_token)
    assert (settings.agent_identity, settings.master_identity) == (sim.agent_principal_id, sim.master_principal_id)
    assert (settings.tenant_id, settings.audience) == (sim.tenant_id, sim.audience)


def test_vm_lifecycle_reaches_the_hooks_in_order(make_sim):
    hooks = RecordingHooks()
    sim = make_sim(agents=1, hooks=hooks, kube=False, boot_seconds=0.1)
    assert hooks.calls == [("started", "master0"), ("started", "agents000000")]
    sim.world.scale_to(2)
    sim.wait_until(lambda: ("started", "agents000001") in hooks.calls)
    sim.world.act("deallocate", ["1"])
    sim.world.act("start", ["1"])
    sim.wait_until(lambda: hooks.calls.count(("started", "agents000001")) == 2)
    assert hooks.calls[2:] == [("started", "agents000001"), ("stopped", "agents000001"), ("started", "agents000001")]


def test_the_control_server_drives_chaos_and_faults(sim):
    control = sim.control_url
    event = requests.post(f"{control}/sim/vms/agents000001/preempt", json={"notice": 45}, timeout=5).json()
    assert event["EventType"] == "Preempt" and event["Resources"] == ["agents_1"]
    assert requests.post(f"{control}/sim/vms/2/terminate", timeout=5).status_code == 204
    fault = requests.post(f"{control}/sim/arm/faults", json={"kind": "throttle", "count": 2}, timeout=5)
    assert fault.status_code == 201
    assert requests.post(f"{control}/sim/scale", json={"capacity": 4}, timeout=5).status_code == 204
    state = requests.get(f"{control}/sim/state", timeout=5).json()
    assert state["scale_set"]["capacity"] == 4 and len(state["arm_faults"]) == 1
    assert [vm["computer_name"] for vm in state["vms"]][:2] == ["agents000000", "agents000001"]
    assert state["vms"][0]["imds"] == sim.imds_for(0)
    assert requests.delete(f"{control}/sim/arm/faults", timeout=5).status_code == 204
    assert requests.post(f"{control}/sim/vms/nope/reboot", timeout=5).status_code == 404


def test_python_m_sim_prints_where_everything_listens():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "sim", "--agents", "2", "--no-kube"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, text=True)
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Ctrl-C"):
                break
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)  # generous: a loaded machine takes its time to stop the servers
    out = "".join(lines)
    assert "agents000001" in out and "master0" in out and "export NODEPOOL_ARM_ENDPOINT=https://127.0.0.1:" in out


def test_kubesim_hears_about_every_vm_when_present(make_sim):
    hooks = RecordingHooks()
    sim = make_sim(hooks=hooks)
    if sim.kube is None:
        pytest.skip("sim/kube/ is not there")
    assert {"master0", "agents000000", "agents000002"} <= set(sim.kube.cluster.kubelets)
    sim.terminate(1)
    assert hooks.calls[-1] == ("deleted", "agents000001")


def test_hooks_may_call_back_into_arm_without_deadlock(make_sim):
    """A Kubernetes side that reacts to a VM by asking ARM (as our app does) must not hang the sim."""
    class AskArm(RecordingHooks):
        def vm_stopped(self, name):
            super().vm_stopped(name)
            requests.get(sim.arm_url + sim.world.config.scale_set_id, params={"api-version": "2026-04-01"},
                         headers={"Authorization": f"Bearer {sim.arm_token}"}, verify=sim.ca_bundle, timeout=5)

    hooks = AskArm()
    sim = make_sim(hooks=hooks, kube=False)
    response = requests.patch(sim.arm_url + sim.world.config.scale_set_id, params={"api-version": "2026-04-01"},
                              json={"sku": {"capacity": 1}}, headers={"Authorization": f"Bearer {sim.arm_token}"},
                              verify=sim.ca_bundle, timeout=5)
    assert response.status_code == 200
    assert ("stopped", "agents000002") in hooks.calls and ("deleted", "agents000001") in hooks.calls
