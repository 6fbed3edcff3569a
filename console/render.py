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


def view(status: dict) -> Group:
    return Group(headline(status), nodes_table(status), decisions_table(status), audit_table(status))


def show(status: dict, console: Console | None = None) -> None:
    (console or Console()).print(view(status))
