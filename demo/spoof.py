"""A spoofed request: one agent, with its own valid identity token and node credential, asks about
another node. Every such request must be refused; the same credential opens its own node's row.

The requests are what a compromised agent VM could send: the agents share one managed identity,
so only the node credential (bound at the attested join) tells them apart, and an attested
document proves only the VM that asked IMDS for it.
"""
from __future__ import annotations

import email.utils
import time
import uuid

from demo.timeline import check
from localenv.node_identity import NODE_CREDENTIAL_HEADER


def _credential(helper) -> str:
    return (helper.disk / "var/lib/nodepool/node-credential").read_text().strip()


def spoofed_requests(story) -> None:
    t, stack = story.t, story.stack
    others = [h for h in story.agents() if h not in story.cast.values()] or story.agents()
    liar, target = others[0], next(h for h in story.agents() if h is not others[0])
    mine = {NODE_CREDENTIAL_HEADER: _credential(liar)}
    own = stack.call("GET", f"nodes/{liar.name}", who="agent", headers=mine)
    check(own.status_code == 200, f"{liar.name}'s own credential does not open its own row: {own.status_code}")
    not_before = email.utils.formatdate(time.time() + 30, usegmt=True)
    event = {"EventId": str(uuid.uuid4()), "EventType": "Preempt", "ResourceType": "VirtualMachine",
             "Resources": [target.vm.name], "EventStatus": "Scheduled", "NotBefore": not_before}
    attempts = {
        f"POST /api/events: a Preempt for {target.name}": stack.call(
            "POST", "events", who="agent", headers=mine,
            body={"hostname": target.name, "document": {"DocumentIncarnation": 99, "Events": [event]}}),
        f"POST /api/leave for {target.name}": stack.call("POST", "leave", who="agent", headers=mine,
                                                          body={"hostname": target.name}),
        f"GET /api/nodes/{target.name}": stack.call("GET", f"nodes/{target.name}", who="agent", headers=mine),
        f"POST /api/join as {target.name} with {liar.name}'s attested document": stack.identities.join(
            target.name, vm=liar.vm.name),
    }
    for answer in attempts.values():
        story.recorder.spoofs.append(200 <= answer.status_code < 300)
    story.recorder.mark("event", f"{len(attempts)} spoofed requests from {liar.name}")
    node = story.kube.node(target.name) or {}
    check(not (node.get("spec") or {}).get("unschedulable"), f"{target.name} was cordoned by another's request")
    refused = [f"{what} -> {a.status_code} {_code(a)}" for what, a in attempts.items() if not a.ok]
    accepted = [what for what, a in attempts.items() if a.ok]
    check(not accepted, f"spoofed requests accepted: {accepted}")
    t.say(f"spoofed requests: {liar.name}, with its own identity token and node credential (which opens its "
          f"own row: 200), asks about {target.name}: all {len(attempts)} refused; {target.name} untouched")
    for line in refused:
        t.more(line)
    story.facts["spoofed"] = {"attempts": len(attempts), "accepted": len(accepted)}


def _code(answer) -> str:
    try:
        return answer.json().get("error", "")
    except ValueError:
        return ""
