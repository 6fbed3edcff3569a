"""Join end to end through the dev host, the simulator and Azurite: the happy path."""


def test_master_registers_then_an_agent_joins_with_a_bootstrap_token(stack):
    host = stack.hostnames()[0]
    assert stack.call("POST", "join", body={"hostname": host}).status_code == 503
    stack.register_master()
    answer = stack.call("POST", "join", body={"hostname": host})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token"].startswith(f"K10{stack.sim.kube.ca_hash}::")
    assert stack.node_row(host)["state"] == "joining"
