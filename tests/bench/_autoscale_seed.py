"""The seed's autoscale setting, implemented as Azure Monitor autoscale evaluates it.

The setting (one profile on the agent scale set): metric "Percentage CPU" of the scale set
(the average over its instances), time grain 1 minute, statistic Average, time window 5
minutes, time aggregation Average; rule 1: > 80 % → increase count by 1, cooldown 5 min;
rule 2: < 10 % → decrease count by 1, cooldown 5 min; capacity min 1, max and default 2 as
the template's parameters. The engine evaluates once a minute. What we model of its behaviour:
- the window averages the per-minute grains that have data (a new VM adds its own samples);
- after a scale action no rule fires until that action's cooldown has passed;
- scale-in is refused when it would flap: the projected metric, avg × n / (n − 1), would
  trip the scale-out threshold (Azure's documented flapping protection);
- the count is kept within [min, max] (below min: set to min);
- the scale set itself chooses the instance a scale-in removes (default scale-in policy:
  the highest instance id), without any drain; a refused capacity write changes nothing.
We give it the benefit of metrics without ingestion delay (real host metrics lag 1–3 min).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from nodepool.core.errors import NodepoolError
from nodepool.fakes.autoscale_scaleset import FakePoolScaleSet


@dataclass(frozen=True)
class CpuRule:
    minimum: int = 1
    maximum: int = 20
    default: int = 2
    scale_out_above: float = 80.0
    scale_in_below: float = 10.0
    window_min: int = 5
    cooldown_s: float = 300.0


class SeedAutoscale:
    def __init__(self, scaleset: FakePoolScaleSet, rule: CpuRule = CpuRule()):
        self.scaleset, self.rule = scaleset, rule
        self.grains: deque[float | None] = deque(maxlen=rule.window_min)
        self._samples: list[float] = []
        self.last_action_s: float | None = None
        self.actions: list[tuple[float, int, int]] = []

    def sample(self, cpu_by_vm: dict[str, float]) -> None:
        """One metric sample: the scale set's Percentage CPU is the mean over instances reporting it."""
        if cpu_by_vm:
            self._samples.append(sum(cpu_by_vm.values()) / len(cpu_by_vm))

    def evaluate(self, t: float) -> None:
        """Once a minute: close the grain, then decide as the autoscale engine does."""
        self.grains.append(sum(self._samples) / len(self._samples) if self._samples else None)
        self._samples = []
        info = self.scaleset.info()
        n, rule = info.capacity, self.rule
        if n < rule.minimum:
            return self._set(t, rule.minimum, info.etag)
        values = [g for g in self.grains if g is not None]
        if not values or (self.last_action_s is not None and t - self.last_action_s < rule.cooldown_s):
            return
        avg = sum(values) / len(values)
        if avg > rule.scale_out_above and n < rule.maximum:
            self._set(t, n + 1, info.etag)
        elif avg < rule.scale_in_below and n > rule.minimum:
            if n > 1 and avg * n / (n - 1) > rule.scale_out_above:
                return  # flapping protection
            self._set(t, n - 1, info.etag)

    def _set(self, t: float, capacity: int, etag: str) -> None:
        try:
            self.scaleset.set_capacity(capacity, etag)
        except NodepoolError:
            return  # the action failed; the engine tries again at a later evaluation
        self.actions.append((t, self.scaleset.info().capacity, capacity))
        self.last_action_s = t
