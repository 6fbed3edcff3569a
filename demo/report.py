"""What the demo measured, over time: a sampler of the simulated world and the app's registry,
the story's marks (events, decisions), then summary.json and timeline.png in --report DIR.

Every figure of the summary comes from what was sampled or observed in this run; a figure whose
chapter did not run is null, and `not_measured` says why.
"""
from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Sample:
    t: float  # seconds since the demo started
    nodes: dict[str, int]  # "pool/state" -> count (state: Ready, cordoned, NotReady)
    pending: int  # pods without a node
    registry: dict[str, int]  # registry state -> count
    vms: int = 0  # the pool's VMs in ARM (booting ones included)


@dataclass
class Preemption:
    node: str
    event_id: str
    notice_s: float
    drained_before_deadline: bool  # every evictable pod off the node before NotBefore
    recorded: bool  # the app's events table has the event (not lost)


@dataclass
class Recorder:
    started: float  # time.monotonic() of the demo's start
    interval: float = 0.25
    samples: list[Sample] = field(default_factory=list)
    marks: list[tuple[float, str, str]] = field(default_factory=list)  # (t, kind, label); kind: event | decision
    preemptions: list[Preemption] = field(default_factory=list)
    spoofs: list[bool] = field(default_factory=list)  # one per spoofed request: accepted?
    joins: int | None = None
    agents: int | None = None
    chapters: dict[str, dict] = field(default_factory=dict)  # what chapters without a figure of their own measured

    def __post_init__(self):
        self._stop, self._thread, self._probe = threading.Event(), None, None

    def start(self, probe: Callable[[], tuple[dict, int, dict, int]]) -> None:
        self._probe = probe
        self._thread = threading.Thread(target=self._run, name="demo-report", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def mark(self, kind: str, label: str) -> None:
        self.marks.append((round(time.monotonic() - self.started, 2), kind, label))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                nodes, pending, registry, vms = self._probe()
            except Exception:  # the world half torn down at the end, or a registry read failing: skip one
                continue
            self.samples.append(Sample(round(time.monotonic() - self.started, 2), nodes, pending, registry, vms))

    # -- the summary ------------------------------------------------------------------------------
    def integral(self, value: Callable[[Sample], float]) -> float:
        return sum(value(a) * (b.t - a.t) for a, b in zip(self.samples, self.samples[1:]))

    def summary(self, left_out: dict[str, str]) -> dict:
        ready = self.integral(lambda s: sum(n for k, n in s.nodes.items() if not k.endswith("/NotReady")))
        not_measured = {}
        if not self.spoofs:
            not_measured["spoofed_requests_accepted"] = left_out.get("spoofed request", "the chapter did not run")
        return {
            "agents": self.agents, "joins": self.joins, "preemptions": len(self.preemptions),
            "missed_deadlines": sum(not p.drained_before_deadline for p in self.preemptions),
            "lost_events": sum(not p.recorded for p in self.preemptions),
            "pending_pod_seconds": round(self.integral(lambda s: s.pending), 1),
            "node_hours": round(ready / 3600, 4),
            "spoofed_requests_accepted": sum(self.spoofs) if self.spoofs else None,
            "samples": len(self.samples), "duration_s": self.samples[-1].t if self.samples else 0.0,
            "preempted": [p.__dict__ for p in self.preemptions], "marks": self.marks, "chapters": self.chapters,
            "chapters_left_out": left_out, "not_measured": not_measured,
        }

    def write(self, folder: Path, left_out: dict[str, str]) -> dict:
        folder.mkdir(parents=True, exist_ok=True)
        summary = self.summary(left_out)
        (folder / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        if self.samples:
            from demo.plot import timeline_png
            timeline_png(self, folder / "timeline.png")
        return summary


def count_nodes(nodes: list[dict], pool_of: Callable[[str], str]) -> dict[str, int]:
    """Kubernetes Nodes as "pool/state": Ready, cordoned (Ready but unschedulable) or NotReady."""
    out: Counter = Counter()
    for node in nodes:
        conditions = node.get("status", {}).get("conditions") or []
        ready = next((c["status"] for c in conditions if c["type"] == "Ready"), "Unknown") == "True"
        state = ("cordoned" if node.get("spec", {}).get("unschedulable") else "Ready") if ready else "NotReady"
        out[f"{pool_of(node['metadata']['name'])}/{state}"] += 1
    return dict(out)
