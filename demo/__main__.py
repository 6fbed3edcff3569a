"""`python -m demo` (or `python3 tasks.py demo`): the local story of the product, as a timeline.

Exit 0 when every step did what it says; 1 naming the step that did not; 130 when interrupted.
Everything started is stopped on the way out, Ctrl-C and SIGTERM included.
"""
from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import tempfile
import traceback
from pathlib import Path

from demo.story import Options, Story
from demo.timeline import StepFailed, Timeline

ROOT = Path(__file__).resolve().parent.parent


def parse(argv: list[str] | None) -> tuple[Options, Path | None]:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=5, help="spot VMs in the scale set (at least 3; default 5)")
    parser.add_argument("--pods", type=int, default=40, help="pods of the ReplicaSet web (default 40)")
    parser.add_argument("--notice", type=float, default=30.0, help="seconds of notice of the eviction (default 30)")
    parser.add_argument("--grace", type=float, default=3.0,
                        help="seconds until a silent kubelet's Node turns NotReady (default 3; 40 in k3s)")
    parser.add_argument("--logs", type=Path, default=ROOT / ".run" / "demo", help="log folder (default .run/demo)")
    parser.add_argument("--facts", type=Path, help="also write what was measured to this file, as JSON")
    args = parser.parse_args(argv)
    if args.agents < 3:
        parser.error("--agents must be at least 3: one evicted, one killed, one left")
    return Options(args.agents, args.pods, args.notice, args.grace, args.logs.resolve()), args.facts


def summary(story: Story) -> None:
    f, t = story.facts, story.t
    t.say(f"done in {f['total_s']:.1f} s. {f['joined']} VMs joined through the app; a spot eviction was drained "
          f"and acknowledged {f['before_not_before_s']:.1f} s before NotBefore; a VM killed without notice left a "
          f"ghost Node, which one reconcile tick removed")
    t.more(f"timings: stack up {f['start_s']:.1f} s, joins {f['join_s']:.1f} s, cordon {f['cordon_ms']} ms after "
           f"the event ({f['cordon_after_seen_ms']} ms after the agent's IMDS poll saw it), {f['pods_evicted']} pods "
           f"evicted by +{f['drained_s']:.1f} s, Node deleted "
           f"+{f['node_deleted_s']:.1f} s, VM gone +{f['vm_gone_s']:.1f} s, ghost NotReady "
           f"{f['ghost_not_ready_s']:.1f} s, reconcile tick {f['reconcile_tick_s']:.2f} s")
    t.more(f"logs: {story.opts.logs} (devhost.log, one <vm>.log per VM: the helper's own lines)")
    t.more("next: `python3 tasks.py serve` runs the same stack for you to call by hand; README.md explains it all")


def main(argv: list[str] | None = None) -> int:
    opts, facts_file = parse(argv)
    opts.logs.mkdir(parents=True, exist_ok=True)
    for old in opts.logs.glob("*.log"):  # the last run's
        old.unlink()
    timeline = Timeline()
    work = Path(tempfile.mkdtemp(prefix="nodepool-demo-"))
    story = Story(opts, timeline, work)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    code = 1
    try:
        story.run()
        summary(story)
        code = 0
    except StepFailed as err:
        timeline.say(f"FAILED: {err}")
        story.facts["failed"] = str(err)
    except KeyboardInterrupt:
        timeline.say("interrupted: stopping everything")
        code = 130
    except Exception as err:  # a bug or an unexpected answer: say where, still clean up
        timeline.say(f"FAILED: {type(err).__name__}: {err}")
        traceback.print_exc()
        story.facts["failed"] = f"{type(err).__name__}: {err}"
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave processes behind
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            story.close()
            shutil.rmtree(work, ignore_errors=True)
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, previous)
    if code:
        timeline.say(f"logs: {opts.logs}")
    if facts_file:
        facts_file.write_text(json.dumps(story.facts, indent=2, sort_keys=True))
    return code


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
