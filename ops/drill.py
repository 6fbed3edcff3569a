"""`tasks.py drill`: ask Azure to evict one spot VM (simulateEviction: a real Preempt scheduled event
with the usual notice) and print the drain's timeline from the app's audit rows (ops/drill_timeline.py).
How a user, and we from their reports, learn whether eviction handling works for real.
"""
from __future__ import annotations

import time
from datetime import datetime, timezone

import requests
from azure.core.exceptions import ResourceNotFoundError

from ops import agents, deploy
from ops.arm import Azure, text
from ops.drill_timeline import Timeline, collect
from ops.errors import OpsError


def pick(az: Azure, instance: str = "") -> tuple[str, str, str]:
    """(scale set, instance id, computer name) of a running spot VM (the named instance when given)."""
    for scale_set in agents.pools(az):
        profile = scale_set.virtual_machine_profile
        if not profile or text(profile.priority) != "Spot":
            continue
        for vm in agents.instances(az, scale_set.name):
            name = vm.os_profile.computer_name if vm.os_profile else vm.name
            if instance and instance not in (vm.instance_id, name):
                continue
            if agents.power_state(vm) == "running":
                return scale_set.name, vm.instance_id, name
    raise OpsError(f"no running spot VM{' ' + instance if instance else ''} to evict: "
                   "`python3 tasks.py scale-agents 1 --pool agents` first")


class Api:
    """The app's operator routes (admin level: the master key)."""

    def __init__(self, url: str, key: str, verify=True):
        self.url, self.key, self.verify = url.rstrip("/"), key, verify

    def get(self, path: str) -> dict:
        reply = requests.get(f"{self.url}/{path}", headers={"x-functions-key": self.key}, timeout=30,
                             verify=self.verify)
        if reply.status_code != 200:
            raise OpsError(f"GET {self.url}/{path}: HTTP {reply.status_code} "
                           "(the operator key is the app's master key)")
        return reply.json()

    def node(self, name: str) -> dict:
        rows = self.get("nodes?limit=500").get("nodes", [])
        return next((row for row in rows if row.get("name") == name), {})


def api_for(az: Azure, url: str = "", key: str = "") -> Api:
    from ops.function_key import operator_key

    url = url or deploy.outputs(az, "compute").get("functionAppUrl", "").rstrip("/") + "/api"
    return Api(url, key or operator_key(az), verify=az.config["ARM_CA_BUNDLE"] or True)


def run(az: Azure, api: Api, instance: str = "", timeout: float = 240.0, interval: float = 1.0, say=print) -> Timeline:
    group = az.config["COMPUTE_GROUP"]
    scale_set, instance_id, node = pick(az, instance)
    asked = datetime.now(timezone.utc)
    az.compute.virtual_machine_scale_set_vms.simulate_eviction(group, scale_set, instance_id)
    say(f"simulateEviction of {scale_set}/{instance_id} ({node}) asked; following the drain (at most {timeout:.0f}s)")
    deadline, gone, row = time.monotonic() + timeout, None, {}
    while True:
        seen = collect(api.get("audit?limit=100").get("entries", []), node, asked)
        row = api.node(node) or row
        if gone is None:
            try:
                az.compute.virtual_machine_scale_set_vms.get(group, scale_set, instance_id)
            except ResourceNotFoundError:
                gone = datetime.now(timezone.utc)
        notice = datetime.fromisoformat(row["deadline"]) if row.get("deadline") else None
        timeline = Timeline(asked, seen, notice, gone)
        if timeline.complete or time.monotonic() > deadline:
            break
        time.sleep(interval)
    for line in timeline.lines(f"{scale_set}/{instance_id}", node):
        say(line)
    if not timeline.complete:
        raise OpsError(f"the drain of {node} did not finish within {timeout:.0f}s: see the lines above and "
                       "`python3 tasks.py tail-logs`")
    return timeline
