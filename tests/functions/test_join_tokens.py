"""Token cleanup (the `clean_tokens` timer's work) against Azurite and KubeSim: expired tokens and
tokens whose node is up lose their bootstrap-token secret and their row; others stay.

The timer fires every 5 minutes; rather than wait, this runs the timer's own line (the app's
wiring, real adapters) in the test process with `now` moved past the tokens' expiry.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from nodepool.join.tokens import clean_join_tokens
from nodepool.settings import Settings
from nodepool.wiring import Services
from sim.kube import JoinRefused
from tests.functions.join_support import bootstrap_secrets, quiet_stack, table_rows, token_parts


def test_cleanup_removes_used_and_expired_tokens_secret_and_row(make_stack):
    stack = quiet_stack(make_stack)
    stack.register_master()
    used_vm, idle_vm = stack.sim.vms[:2]
    used = stack.call("POST", "join", body={"hostname": used_vm.computer_name}).json()["token"]
    idle = stack.call("POST", "join", body={"hostname": idle_vm.computer_name}).json()["token"]
    stack.sim.kube.k3s_agent_join(used_vm.computer_name, used, "pw")  # this node is up: its token is spent
    used_id, idle_id = token_parts(used)[0], token_parts(idle)[0]
    assert set(bootstrap_secrets(stack)) == {used_id, idle_id}

    services = Services(Settings.from_env(stack.host.env))  # what the timer builds in its worker
    now = datetime.now(timezone.utc)
    assert clean_join_tokens(services.registry, services.kube_or_none(now), now) == {
        "removed": 1, "kept": 1, "failed": 0}
    assert set(bootstrap_secrets(stack)) == {idle_id}
    assert [key[1] for key in table_rows(stack)["jointokens"]] == [idle_id]

    later = now + timedelta(minutes=16)  # past the 15-minute TTL
    assert clean_join_tokens(services.registry, services.kube_or_none(later), later) == {
        "removed": 1, "kept": 0, "failed": 0}
    assert bootstrap_secrets(stack) == {} and "jointokens" not in table_rows(stack)
    with pytest.raises(JoinRefused) as refused:  # a cleaned-up token no longer authenticates
        stack.sim.kube.k3s_agent_join(idle_vm.computer_name, idle, "pw")
    assert refused.value.reason == "token_invalid"
    assert stack.node_row(idle_vm.computer_name)["state"] == "joining"
