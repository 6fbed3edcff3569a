"""Step 6: a VM killed without notice leaves a ghost Node; one reconcile tick removes it.

The tick is the reconcile timer's own code path, `wiring.Services(settings).reconciler(now).tick(now)`,
run in this process with the app's settings (same Azurite, same simulator): faithful, and at once
rather than at the next minute. A dry run goes first: the same plan, logged, nothing written.
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import replace

from demo.timeline import check, wait_until
from nodepool.core.clock import utcnow
from nodepool.core.k3s import KUBE_SYSTEM, node_password_secret
from nodepool.settings import Settings
from nodepool.wiring import Services


@contextmanager
def log_lines(name: str = "nodepool.reconcile"):
    """A logger's lines while the block runs (a tick's: what it would do / did, and why), collected."""
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger, handler = logging.getLogger(name), Collect()
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def tick(settings: Settings):
    with log_lines() as lines:
        now = utcnow()
        report = Services(settings).reconciler(now).tick(now)
    return report, [line for line in lines if not line.startswith("reconcile tick")]


def killed_vm(story) -> None:
    t, sim, kube, facts = story.t, story.sim, story.kube, story.facts
    ghost = story.ghost
    name = ghost.name
    killed = time.time()
    sim.terminate(ghost.vm.name)
    ghost.stop()
    story.recorder.mark("event", f"{name} killed")
    t.say(f"{name} killed without notice (no scheduled event, its helper gone with it): its Node stays behind")
    wait_until(lambda: story.ready(name) != "True", story.opts.grace + 10, f"Node {name} NotReady")
    not_ready = time.time() - killed
    t.more(f"Node {name} NotReady ({story.ready(name)}) after {not_ready:.1f} s (node-monitor grace "
           f"{story.opts.grace:.0f} s here, 40 s in k3s); its VM is no longer in the scale set")

    settings = Settings.from_env(story.stack.app_env)
    dry, would = tick(replace(settings, dry_run=True))
    check(kube.node(name) is not None, f"the dry run deleted Node {name}")
    story.recorder.mark("decision", f"reconcile dry run: {_planned(dry)}")
    t.say(f"reconcile, dry run ({dry.seconds:.2f} s): {_planned(dry)}; nothing written")
    for line in grouped(would):
        t.more(line)

    live, _ = tick(settings)
    story.recorder.mark("decision", f"reconcile: {_planned(live)}")
    row = story.stack.node_row(name) or {}
    check(kube.node(name) is None, f"reconcile did not delete the ghost Node {name}: {live.line()}")
    check(kube.secret(KUBE_SYSTEM, node_password_secret(name)) is None, f"{name}'s node-password secret is left")
    check(row.get("state") == "deleted", f"GET /api/nodes/{name} after reconcile: {row}")
    t.say(f"reconcile tick ({live.seconds:.2f} s, the timer's code path): {_planned(live)}; applied {live.applied}, "
          f"failed {live.failed}")
    t.more(f"ghost Node {name} and its node-password secret removed; GET /api/nodes/{name}: state {row['state']}")
    facts.update(ghost_not_ready_s=round(not_ready, 1), ghost_removed=True, reconcile_tick_s=round(live.seconds, 2),
                 reconcile_planned=live.planned)


def grouped(lines: list[str]) -> list[str]:
    """"reconcile would KIND NODE: REASON" lines, one per (kind, reason) with its nodes listed."""
    groups: dict[tuple[str, str], list[str]] = {}
    for line in lines:
        head, _, reason = line.partition(": ")
        *verb, target = head.split(" ")
        groups.setdefault((" ".join(verb), reason), []).append(target)
    return [f"{verb} {', '.join(targets)}: {reason}" for (verb, reason), targets in groups.items()]


def _planned(report) -> str:
    return "planned " + (", ".join(f"{k} {v}" for k, v in sorted(report.planned.items())) or "nothing")
