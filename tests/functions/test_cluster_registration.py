"""POST /api/cluster: re-registering rotates the control plane's Kubernetes credential, and the
credential is never handed back, by this endpoint or any other.
"""
from __future__ import annotations

import secrets

from tests.functions.join_support import quiet_stack, table_rows


def test_reregistering_rotates_the_credential_and_no_endpoint_returns_it(make_stack):
    stack = quiet_stack(make_stack)
    kube, (first, second, third) = stack.sim.kube, stack.hostnames()
    old = kube.token
    answers = [stack.register_master()]
    answers.append(stack.call("POST", "join", body={"hostname": first}))

    new = secrets.token_urlsafe(24)
    kube.tokens.add(new)  # the master minted a new ServiceAccount token ...
    answers.append(stack.identities.register({**kube.registration(), "credential": new}))
    assert answers[-1].status_code == 200, answers[-1].text
    kube.tokens.discard(old)  # ... and revoked the old one

    [row] = table_rows(stack)["cluster"].values()
    assert row["credential"] == new
    answers.append(stack.call("POST", "join", body={"hostname": second}))  # the app talks to Kubernetes with `new`
    answers.append(stack.call("POST", "leave", body={"hostname": first}))
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 202], [a.text for a in answers]
    assert set(answers[0].json()) == {"server", "k3s_version", "registered_at"}

    answers += [stack.call("GET", "nodes", who=None), stack.call("GET", f"nodes/{first}"),
                stack.call("GET", "healthz", who=None, key=False),
                stack.call("POST", "join", body={"hostname": third, "padding": "x" * 70000}),
                stack.call("POST", "cluster", who="master", body={**kube.registration(), "credential": ""})]
    for answer in answers:
        assert old not in answer.text and new not in answer.text, answer.request.url
        assert "credential" not in answer.json() if answer.content else True


def test_the_first_registration_is_recorded_with_what_the_master_sent(make_stack):
    stack = quiet_stack(make_stack)
    registration = stack.sim.kube.registration()
    answer = stack.register_master().json()
    assert answer["server"] == registration["server"] and answer["k3s_version"] == registration["k3s_version"]
    [row] = table_rows(stack)["cluster"].values()
    for key in ("server", "ca_hash", "ca_cert", "k3s_version", "credential", "agent_token"):
        assert row[key] == registration[key], key
