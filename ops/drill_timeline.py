"""`drill`'s report (pure): the drain of one evicted node as our audit rows tell it, against the notice.

Milestones, each from the first row of its kind about the node at or after the eviction request:
the event seen and the node cordoned (the `cordon` row the app writes on receiving the event), the
pods evicted (`drain`, with pods_left), the Node deleted (`node_delete`), then the VM gone (ARM
answers 404 for the instance, observed by drill itself). The notice is the node's deadline
(NotBefore) from the registry row. Times are seconds after drill asked for the eviction; the app's
clock and ours are both NTP-synced in Azure, so sub-second differences are noise.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

MILESTONES = (("cordon", "event seen, node cordoned"), ("drain", "pods evicted"), ("node_delete", "Node deleted"))


@dataclass(frozen=True)
class Timeline:
    asked: datetime
    seen: dict[str, tuple[datetime, str]]  # audit action -> (at, reason or detail)
    deadline: datetime | None
    vm_gone: datetime | None

    @property
    def complete(self) -> bool:
        return all(action in self.seen for action, _ in MILESTONES) and self.vm_gone is not None

    def lines(self, vm: str, node: str) -> list[str]:
        def at(when: datetime) -> str:
            return f"+{(when - self.asked).total_seconds():6.1f}s"
        out = [f"{at(self.asked)}  simulateEviction asked for {vm} ({node})"]
        for action, label in MILESTONES:
            if action in self.seen:
                when, note = self.seen[action]
                out.append(f"{at(when)}  {label}" + (f" ({note})" if note else ""))
            else:
                out.append(f"   never   {label}: no `{action}` audit row for {node}")
        out.append(f"{at(self.vm_gone)}  VM gone (ARM: instance not found)" if self.vm_gone else
                   "   never   VM gone: the instance still exists")
        if self.deadline is not None:
            done = self.seen.get("node_delete", (None,))[0]
            margin = f"; Node deleted {(self.deadline - done).total_seconds():.1f}s before it" if done else ""
            out.append(f"{at(self.deadline)}  NotBefore (the notice Azure gave){margin}")
        return out


def collect(rows: list[dict], node: str, asked: datetime) -> dict[str, tuple[datetime, str]]:
    """The first audit row of each milestone about `node` at or after `asked` (rows come newest first)."""
    seen: dict[str, tuple[datetime, str]] = {}
    for row in sorted(rows, key=lambda r: r["at"]):
        when = datetime.fromisoformat(row["at"])
        wanted = {action for action, _ in MILESTONES}
        if row.get("node") == node and row.get("action") in wanted and when >= asked and row["action"] not in seen:
            seen[row["action"]] = (when, row.get("detail") or row.get("reason") or "")
    return seen
