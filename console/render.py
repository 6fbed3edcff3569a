"""The status as rich tables: pools, nodes, pending pods, the last decisions, the audit trail."""
from __future__ import annotations

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

STATE_STYLE = {"ready": "green", "joining": "cyan", "cordoned": "yellow", "draining": "yellow",
               "drained": "magenta", "deleted": "dim", "left": "dim", "stale": "red"}


def drain_outcome(node: dict) -> str:
    if node.get("drained_at"):
        left = node.get("pods_left") or 0
        return f"drained, {left} pods left" if left else "drained"
    if node.get("drain_started_at"):
        return "draining"
    return node.get("note", "")


def nodes_table(status: dict) -> Table:
    table = Table(title="nodes", title_justify="left")
    for column in ("node", "pool", "state", "Ready", "pods", "last event", "drain"):
        table.add_column(column)
    for node in status["nodes"]:
        state = node["state"]
        table.add_row(node["name"], node.get("pool") or "?", Text(state, style=STATE_STYLE.get(state, "")),
                      str(node.get("ready", "?")), str(node.get("pods", "?")),
                      node.get("last_event_type", ""), drain_outcome(node))
    return table


def decisions_table(status: dict, limit: int = 3) -> Table:
    table = Table(title="decisions (newest first)", title_justify="left")
    for column in ("kind", "at", "decision", "reasons"):
        table.add_column(column, overflow="fold")
    for kind, rows in status["decisions"].items():
        if isinstance(rows, dict):
            table.add_row(kind, "", Text(rows.get("unavailable", "?"), style="red"), "")
            continue
        for row in rows[:limit] or [{"at": "", "line": "no tick recorded yet"}]:
            table.add_row(kind, row["at"][11:19], row["line"], "; ".join(row.get("reasons") or []))
    return table


def audit_table(status: dict) -> Table | Text:
    audit = status.get("audit")
    if isinstance(audit, dict):
        return Text(f"audit trail: {audit.get('unavailable', '?')}", style="dim")
    table = Table(title="audit (newest first)", title_justify="left")
    for column in ("at", "action", "node", "who", "reason"):
        table.add_column(column)
    for row in audit or []:
        who = row.get("who") or {}
        table.add_row(row.get("at", "")[11:19], row.get("action", ""), row.get("node", ""),
                      f"{who.get('role', '')} {who.get('principal_id', '')[:12]}", row.get("reason", ""))
    return table


def headline(status: dict) -> Text:
    pools = ", ".join(f"{pool} {n}" for pool, n in sorted(status["pools"].items())) or "no nodes"
    kube = status["kubernetes"]
    if "unavailable" in kube:
        pending = f"Kubernetes: {kube['unavailable']}"
    else:
        names = kube["pending_pods"]["names"]
        pending = f"pending pods: {kube['pending_pods']['count']}" + (f" ({', '.join(names[:5])})" if names else "")
    extra = f"; pools: {status['pools_unavailable']}" if status.get("pools_unavailable") else ""
    return Text(f"{status['at'][:19]}  nodes by pool: {pools}; {pending}{extra}")


def attestation_line(status: dict) -> Text:
    """What the attested-join verifier trusts, and when its bundled intermediates expire."""
    trust = status.get("attestation")
    if not isinstance(trust, dict):
        return Text("attestation: not reported by this app", style="dim")
    if "unavailable" in trust:
        return Text(f"attestation: {trust['unavailable']}", style="red")
    bundle, known = trust.get("bundle") or {}, trust.get("intermediates") or []
    by_source = ", ".join(f"{sum(k['source'] == s for k in known)} {s}" for s in ("bundled", "setting", "fetched")
                          if any(k["source"] == s for k in known)) or "none"
    if "missing" in bundle:
        state, style = bundle["missing"], "yellow"
    else:
        fetched, expires = bundle.get("fetched_at") or "?", bundle.get("expires") or "?"
        state = f"bundle fetched {fetched[:10]}, first expiry {expires[:10]}"
        style = "red" if bundle.get("expired") else ""
    roots = trust.get("roots") or {}
    return Text(f"attestation: roots {roots.get('source', '?')} ({roots.get('count', '?')}); "
                f"intermediates {by_source}; {state}", style=style)


def view(status: dict) -> Group:
    return Group(headline(status), attestation_line(status), nodes_table(status), decisions_table(status),
                 audit_table(status))


def show(status: dict, console: Console | None = None) -> None:
    (console or Console()).print(view(status))
