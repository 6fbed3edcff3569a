"""Request-level scenarios for tests/bench/faults.py, through the dev host: the fuzz run, spoofed
identities, clock skew of the callers' tokens, duplicate and reordered event deliveries.
"""
from __future__ import annotations

import math
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import requests
from hypothesis import HealthCheck, given, settings

from localenv.node_identity import document as attested_document
from tests.functions.http_fuzz import ROUTES, Target, cases

SKEW_S = 300


def fuzz(target: Target, total: int, host) -> dict:
    """`total` requests spread over the routes; every answer checked (no assertion stops the run)."""
    session, seen, failures = requests.Session(), Counter(), []

    for route in ROUTES:
        @settings(max_examples=math.ceil(total / len(ROUTES)), deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=cases(target, route))
        def run(case):
            seen["cases"] += 1
            try:
                outcome = target.send(case, session)
            except requests.ConnectionError:  # the host dropped the request: no better than a 5xx
                seen["5xx"] += 1
                return
            seen["5xx"] += outcome.failed
            seen["not_visible"] += outcome.status >= 500 and not outcome.failed
            if outcome.failed:
                failures.append(f"{case.method} {case.path} {outcome.status} {outcome.error}")
            seen["writes_on_rejected"] += outcome.writes if outcome.status >= 400 else 0
            seen["leaks"] += bool(outcome.leaked)
            seen[f"{case.path.split('/')[0]} {outcome.status // 100}xx"] += 1

        run()
    seen["leaks"] += bool(target.secrets_in(host.logs(), log=True))
    return {"fuzz_cases": seen.pop("cases"), "fuzz_5xx": seen.pop("5xx"),
            "writes_on_rejected": seen.pop("writes_on_rejected"), "secrets_leaked": seen.pop("leaks"),
            "fuzz_503_not_visible": seen.pop("not_visible"), "fuzz_answers": dict(seen),
            "fuzz_5xx_answers": failures[:20]}


def identity_cases(sim) -> dict[str, tuple[str, str | None]]:
    """name -> (route, bearer token): the caller's Entra ID token as an attacker could present it
    (the attested join's and node credentials' cases are node_identity_cases)."""
    agent, now = sim.agent_identity, time.time()
    mint = sim.idp.mint
    aud = sim.audience
    cases = {
        "no token": None, "not a jwt": "garbage", "forged signature": mint(agent, aud, forged=True),
        "alg none": mint(agent, aud, alg="none"), "hs256 with the public key": mint(agent, aud, alg="HS256"),
        "unknown kid": mint(agent, aud, kid="nope"), "wrong audience": mint(agent, "api://someone-else"),
        "expired": mint(agent, aud, now=now - 7200, lifetime=3600),
        "not yet valid": mint(agent, aud, now=now + 3600),
        "wrong issuer": mint(agent, aud, extra={"iss": "https://sts.windows.net/evil/"}),
    }
    routes = {f"{route}: {name}": (route, token) for name, token in cases.items()
              for route in ("join", "events", "leave", "cluster")}
    routes["join: the master's identity"] = ("join", sim.token("master"))
    routes["events: the master's identity"] = ("events", sim.token("master"))
    routes["cluster: an agent's identity"] = ("cluster", sim.token("agent"))
    return routes


def spoofed(stack, host, hostname: str) -> dict:
    bodies = {"join": {"hostname": hostname}, "leave": {"hostname": hostname}, "cluster": stack.sim.kube.registration(),
              "events": {"hostname": hostname, "document": {"DocumentIncarnation": 1, "Events": []}}}
    accepted, tried = [], identity_cases(stack.sim)
    for name, (route, token) in tried.items():
        answer = stack.call("POST", route, token=token, body=bodies[route], host=host)
        if answer.status_code < 400:
            accepted.append(name)
    no_key = stack.call("POST", "join", who="agent", key=False, body=bodies["join"], host=host)
    accepted += ["join: no function key"] if no_key.status_code < 400 else []
    node_cases = node_identity_cases(stack, host, hostname, bodies)
    accepted += [name for name, answer in node_cases.items() if answer.status_code < 400]
    return {"spoofed_cases": len(tried) + 1 + len(node_cases), "spoofed_requests_accepted": len(accepted),
            "spoofed_accepted": accepted}


def node_identity_cases(stack, host, hostname: str, bodies: dict) -> dict:
    """Attested join and node credentials: another VM's document, a replayed one, calls without a
    node credential or with another node's."""
    other = next(v.computer_name for v in stack.sim.vms if v.instance_id and v.computer_name != hostname)
    assert stack.join(other, host=host).ok, "the other VM could not join"
    answers = {"join: another VM's attested document": stack.identities.join(hostname, vm=other, host=host)}
    challenge = stack.call("POST", "join/nonce", who="agent", body={"hostname": hostname}, host=host).json()
    replay = {"hostname": hostname, "attested": attested_document(stack.sim, hostname, challenge["nonce"])}
    first = stack.call("POST", "join", who="agent", body=replay, host=host)
    if first.ok:
        stack.node_credentials[hostname] = first.json()["node_credential"]
    answers["join: a replayed attested document"] = stack.call("POST", "join", who="agent", body=replay, host=host)
    for route in ("leave", "events"):
        answers[f"{route}: no node credential"] = stack.call("POST", route, who="agent", body=bodies[route], host=host)
        answers[f"{route}: another node's credential"] = stack.call(
            "POST", route, who="agent", body=bodies[route], host=host, headers=stack.identities.headers(other))
    return answers


def clock_skew(stack, host, hostname: str) -> dict:
    """The caller's clock (its token's iat/nbf/exp) 5 min ahead or behind ours: still a caller."""
    refused = []
    for skew in (-SKEW_S, SKEW_S):
        token = stack.sim.idp.mint(stack.sim.agent_identity, stack.sim.audience, now=time.time() + skew)
        answer = stack.join(hostname, token=token, host=host)
        if answer.status_code != 200:
            refused.append(f"{skew:+d} s: {answer.status_code} {answer.json().get('error')}")
    return {"skewed_callers_refused": len(refused), "skew_refusals": refused, "skewed_clocks": 2}


def _report(hostname: str, vm_name: str, incarnation: int, events: list[tuple[str, int]]) -> dict:
    at = lambda s: format_datetime(datetime.now(timezone.utc) + timedelta(seconds=s), usegmt=True)  # noqa: E731
    return {"hostname": hostname, "document": {"DocumentIncarnation": incarnation, "Events": [
        {"EventId": eid, "EventType": "Preempt", "ResourceType": "VirtualMachine", "Resources": [vm_name],
         "EventStatus": "Scheduled", "NotBefore": at(offset)} for eid, offset in events]}}


def deliveries(stack, host, queue, registry, vm) -> dict:
    """The same document twice, a later incarnation, then the earlier one again (reordered), and
    NotBefore 5 min in the past and future (clock skew): one drain message per event, no more.
    Messages are counted by the queue's length (delayed ones are invisible to a peek; nothing
    consumes them: the host runs without queue listeners), events by their registry rows."""
    specs = [(1, [("dup-1", 30)]), (1, [("dup-1", 30)]), (2, [("dup-1", 30), ("dup-2", SKEW_S)]),
             (1, [("dup-1", 30)]), (3, [("dup-3", -SKEW_S)])]
    events = sorted({eid for _, evs in specs for eid, _ in evs})
    before = queue.get_queue_properties().approximate_message_count
    headers = stack.identities.headers(vm.computer_name)  # the node credential its join gave
    statuses = [stack.call("POST", "events", who="agent", host=host, headers=headers,
                           body=_report(vm.computer_name, vm.name, inc, evs)).status_code for inc, evs in specs]
    sent = queue.get_queue_properties().approximate_message_count - before
    recorded = [e for e in events if registry.event(vm.computer_name, e)]
    return {"deliveries": len(specs), "skewed_events": sum(abs(o) == SKEW_S for _, evs in specs for _, o in evs),
            "delivery_errors": sum(s >= 400 for s in statuses), "events_lost": len(events) - len(recorded),
            "duplicate_actions": max(0, sent - len(recorded))}
