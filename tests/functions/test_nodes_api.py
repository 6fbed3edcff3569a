"""GET /api/nodes (paged with limit/next; operators) and GET /api/nodes/{name} (a node's own status
poll): the registry view, no secrets."""
from __future__ import annotations

import pytest

from tests.functions.join_support import quiet_stack

PUBLIC = {"name", "state", "instance_id", "scale_set", "vm_id", "joined_at", "updated_at"}


@pytest.fixture
def stack(make_stack):
    stack = quiet_stack(make_stack, sim_options={"agents": 5})
    stack.register_master()
    stack.tokens = [stack.call("POST", "join", body={"hostname": name}).json()["token"] for name in stack.hostnames()]
    return stack


def pages(stack, limit: int) -> list[list[dict]]:
    out, token = [], None
    while True:
        params = {"limit": limit, **({"next": token} if token else {})}
        answer = stack.call("GET", "nodes", who=None, params=params)
        assert answer.status_code == 200, answer.text
        out.append(answer.json()["nodes"])
        token = answer.json()["next"]
        if not token:
            return out
        assert len(out) < 10, "paging does not end"


def test_nodes_are_listed_in_pages_that_cover_every_node_once(stack):
    paged = pages(stack, 2)
    assert all(len(page) <= 2 for page in paged) and len(paged) >= 3
    names = [n["name"] for page in paged for n in page]
    assert names == sorted(stack.hostnames())
    [whole] = pages(stack, 100)
    assert [n["name"] for n in whole] == names
    for node in whole:
        assert set(node) == PUBLIC and node["state"] == "joining"
        assert not any(token in str(node) for token in stack.tokens)
    assert [n["name"] for n in stack.call("GET", "nodes", who=None).json()["nodes"]] == names  # default limit


def test_one_node_reads_its_own_row_and_the_errors_around_it(stack):
    name = stack.hostnames()[3]
    node = stack.call("GET", f"nodes/{name}")  # its agent's status poll: identity and node credential
    assert node.status_code == 200 and node.json()["name"] == name and set(node.json()) == PUBLIC
    assert stack.node_row(name) == node.json()  # what an operator reads in the listing
    operator = stack.call("GET", f"nodes/{name}", who=None)
    assert operator.status_code == 401 and operator.json()["error"] == "token_missing"
    missing = stack.call("GET", "nodes/agents0000zz", headers=stack.identities.headers(name))
    assert missing.status_code == 403 and missing.json()["error"] == "node_credential_unbound"
    bad = stack.call("GET", "nodes/Not_A_Label")
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_hostname"
    limit = stack.call("GET", "nodes", who=None, params={"limit": "many"})
    assert limit.status_code == 400 and limit.json()["error"] == "invalid_request"
    assert stack.call("GET", "nodes", who=None, key=False).status_code == 401
    assert stack.call("GET", f"nodes/{name}", who=None, key=False).status_code == 401
