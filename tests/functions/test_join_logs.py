"""No secret ever reaches the dev host's captured output: bootstrap tokens (whole and their secret
half), the agents' and the master's JWTs (good and forged), the function and master keys, the
cluster credential and the agent token. The stack runs with timers and queue listeners on, and
the requests take the paths that log: errors, Kubernetes failures, the drain worker.
"""
from __future__ import annotations

import requests

from localenv.waiting import wait_for
from tests.functions.join_support import token_parts


def test_no_token_or_key_appears_in_the_host_logs(make_stack):
    stack = make_stack({"agents": 3, "kube_options": {"scrypt_log_n": 4}})
    sim, kube, host = stack.sim, stack.sim.kube, stack.host
    first, second, third = stack.hostnames()
    secrets = {"function key": host.function_key, "master key": host.master_key, "credential": kube.token,
               "agent token": kube.agent_token}
    agent_jwt, master_jwt, forged = sim.token("agent"), sim.token("master"), sim.token("agent", forged=True)
    secrets.update({"agent jwt": agent_jwt, "master jwt": master_jwt, "forged jwt": forged})

    assert stack.identities.register(kube.registration(), token=master_jwt).status_code == 200
    for name in (first, second):
        answer = stack.call("POST", "join", token=agent_jwt, body={"hostname": name}).json()
        secrets[f"token of {name}"], secrets[f"secret of {name}"] = answer["token"], token_parts(answer["token"])[1]
        kube.k3s_agent_join(name, answer["token"], "node-password")
    assert stack.call("POST", "join", token=forged, body={"hostname": third}).status_code == 401
    assert stack.call("POST", "join", token=master_jwt, body={"hostname": third}).status_code == 403
    query_key = requests.get(f"{host.url}/api/nodes", params={"code": host.master_key}, timeout=10)  # admin level
    assert query_key.status_code == 200  # the key in the query string: the access log leaves the query out

    kube.faults.fail(500, path="/secrets", times=1)  # a Kubernetes error on the join path is logged
    assert stack.call("POST", "join", token=agent_jwt, body={"hostname": third}).status_code == 503
    kube.tokens.discard(kube.token)  # our credential revoked: logged, and the caller gets 503
    assert stack.call("POST", "join", token=agent_jwt, body={"hostname": third}).json()["error"] == "kube_credentials"
    kube.tokens.add(kube.token)
    assert stack.call("POST", "leave", token=agent_jwt, body={"hostname": first}).status_code == 202
    wait_for(lambda: f"drain {first} for leave-" in host.logs(), what="the drain worker's log line")

    logs = host.logs()
    assert "POST /api/join 200" in logs and "kube_credentials" in logs  # we are reading the right output
    leaked = [what for what, value in secrets.items() if value and value in logs]
    assert leaked == [], f"found in the dev host's logs: {leaked}"
