"""GET /api/status through the dev host, and `tasks.py status` reading it: the operator's view."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from localenv.devhost_process import ROOT
from tests.functions.join_support import quiet_stack


def test_status_before_and_after_joins_names_what_it_cannot_read_and_never_a_secret(make_stack):
    stack = quiet_stack(make_stack, sim_options={"agents": 3})
    before = stack.call("GET", "status", who=None)
    assert before.status_code == 200, before.text
    assert before.json()["nodes"] == [] and "unavailable" in before.json()["kubernetes"]  # no master yet
    assert stack.call("GET", "status", who=None, key=False).status_code == 401

    stack.register_master()
    tokens = [stack.call("POST", "join", body={"hostname": h}).json()["token"] for h in stack.hostnames()]
    body = stack.call("GET", "status", who=None).json()
    assert sorted(n["name"] for n in body["nodes"]) == sorted(stack.hostnames())
    assert {n["state"] for n in body["nodes"]} == {"joining"} and body["pools"] == {"agents": 3}
    assert body["kubernetes"]["pending_pods"]["count"] == 0
    assert set(body["decisions"]) == {"reconcile", "autoscale"}
    assert not any(token in json.dumps(body) for token in tokens)


def test_the_status_task_prints_the_pool_from_the_stack_it_is_given(make_stack, tmp_path):
    stack = quiet_stack(make_stack, sim_options={"agents": 2})
    stack.register_master()
    for host in stack.hostnames():
        stack.call("POST", "join", body={"hostname": host})
    env = {**os.environ, "NODEPOOL_API_URL": stack.api, "NODEPOOL_OPERATOR_KEY": stack.host.master_key,
           "COLUMNS": "160"}
    as_json = subprocess.run([sys.executable, "tasks.py", "status", "--json"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=60)
    assert as_json.returncode == 0, as_json.stderr
    status = json.loads(as_json.stdout)
    assert sorted(n["name"] for n in status["nodes"]) == sorted(stack.hostnames())
    assert {row["node"] for row in status["audit"] if row["action"] == "join"} == set(stack.hostnames())
    tables = subprocess.run([sys.executable, "tasks.py", "status"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert tables.returncode == 0 and all(h in tables.stdout for h in stack.hostnames()), tables.stdout
    assert "audit (newest first)" in tables.stdout
    assert stack.host.master_key not in tables.stdout + as_json.stdout
    nowhere = subprocess.run([sys.executable, "tasks.py", "status", "--url", "http://127.0.0.1:9/api", "--key", "k"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert nowhere.returncode == 1 and "is not answering" in nowhere.stderr


def test_the_agents_key_and_identity_cannot_read_the_operator_routes(make_stack):
    stack = quiet_stack(make_stack, sim_options={"agents": 1})
    stack.register_master()
    for path in ("status", "audit", "nodes"):
        as_agent = stack.call("GET", path, who="agent", as_node=False)  # the function key the VMs hold
        assert as_agent.status_code == 401, (path, as_agent.status_code)
        assert stack.call("GET", path, who=None).status_code == 200, path  # the master key, an operator's
