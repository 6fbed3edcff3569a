"""The story's chapters: those the demo tells, and those it leaves out with the reason (never faked).

Listed in `python3 tasks.py demo --help`, in docs/development.md and in summary.json (chapters_left_out).
"""
from __future__ import annotations

TOLD = (
    "the stack starts: Azurite, the simulator, the app in its own dev host process",
    "master0 registers the cluster; every agent joins with the real helper",
    "a workload: ReplicaSet web and StatefulSet db behind a PodDisruptionBudget",
    "a spoofed request: one agent, with its own token and node credential, about another: refused",
    "a burst of pending pods the autoscaler answers in one decision (one capacity write; the new VMs join)",
    "a spot capacity outage: ARM refuses spot (SkuNotAvailable); one decision falls back to the regular pool, "
    "its VM joins and takes the pods; capacity returns: a spot node again, the regular one scaled down",
    "a spot eviction with --notice seconds (30 as Azure gives): cordon, drain, Node deleted, ack, VM gone",
    "a short-notice (5 s) eviction: the same, inside 5 s",
    "a VM killed without notice: its ghost Node removed by one reconcile tick (after a dry run)",
    "a reboot: cordon and drain (the VM stays), the VM restarts, its Node Ready again, reconcile uncordons it",
    "idle time that scales down a chosen node: cordon, drain (ScaleDown), that instance deleted",
    "the pool keeps running until --duration, sampled for summary.json and timeline.png",
)
LEFT_OUT: dict[str, str] = {}


def help_text() -> str:
    told = "\n".join(f"  - {c}" for c in TOLD)
    left = "\n".join(f"  - {name}: {why}" for name, why in LEFT_OUT.items()) or "  (none)"
    return f"chapters told:\n{told}\n\nchapters left out (listed, never faked):\n{left}"
