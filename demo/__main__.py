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

from demo.chapters import LEFT_OUT, help_text
from demo.live import live_view
from demo.report import Recorder
from demo.story import Options, Story
from demo.timeline import StepFailed, Timeline

ROOT = Path(__file__).resolve().parent.parent
SUMMARY = ("agents", "joins", "preemptions", "missed_deadlines", "lost_events", "pending_pod_seconds", "node_hours",
           "spoofed_requests_accepted")


def parse(argv: list[str] | None) -> tuple[Options, Path | None, Path]:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__.split("\n\n")[0],
                                     epilog=help_text(), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=5, help="spot VMs in the scale set (at least 3; default 5)")
    parser.add_argument("--pods", type=int, default=40, help="pods of the ReplicaSet web (default 40)")
    parser.add_argument("--notice", type=float, default=30.0, help="seconds of notice of the eviction (default 30)")
    parser.add_argument("--grace", type=float, default=3.0,
                        help="seconds until a silent kubelet's Node turns NotReady (default 3; 40 in k3s)")
    parser.add_argument("--logs", type=Path, default=ROOT / ".run" / "demo", help="log folder (default .run/demo)")
    parser.add_argument("--facts", type=Path, help="also write what was measured to this file, as JSON")
    parser.add_argument("--duration", type=float, default=0.0,
                        help="seconds the demo runs at least: the pool keeps running after the story (default 0)")
    parser.add_argument("--seed", type=int, default=1, help="picks the VMs the trouble happens to (default 1)")
    parser.add_argument("--no-chaos", action="store_true",
                        help="no outage, eviction, kill or reboot: join, workload, autoscale and the pool running")
    parser.add_argument("--report", type=Path, default=ROOT / ".run" / "demo" / "report",
                        help="where summary.json and timeline.png go (default .run/demo/report)")
    args = parser.parse_args(argv)
    if args.agents < (4 if not args.no_chaos else 1):
        parser.error("--agents must be at least 4: two evicted, one killed, one left (1 with --no-chaos)")
    opts = Options(args.agents, args.pods, args.notice, args.grace, args.logs.resolve(), args.duration, args.seed,
                   not args.no_chaos)
    return opts, args.facts, args.report.resolve()


def summary(story: Story) -> None:
    f, t = story.facts, story.t
    if not story.opts.chaos:
        t.say(f"done in {f['total_s']:.1f} s. {f['joined']} VMs joined through the app and ran the workload, "
              f"{len(f['burst']['new_vms'])} more for a burst, {', '.join(f['scale_down']['nodes'])} scaled down "
              "when idle (--no-chaos: no eviction, no kill)")
        return
    short, burst, down, out, boot = f["short_notice"], f["burst"], f["scale_down"], f["outage"], f["reboot"]
    t.say(f"done in {f['total_s']:.1f} s. {f['joined']} VMs joined through the app, {len(burst['new_vms'])} more "
          f"when one autoscale decision answered a burst of {burst['pending']} pending pods; with spot capacity "
          f"gone one decision fell back to {', '.join(out['fallback_vms'])} (Regular), and back to spot "
          f"({', '.join(out['spot_vms'])}) when it returned; a spot eviction was "
          f"drained and acknowledged {f['before_not_before_s']:.1f} s before NotBefore, a 5-s one "
          f"{short['before_not_before_s']:.1f} s before; a VM killed without notice left a ghost Node, which one "
          f"reconcile tick removed; {boot['node']} rebooted and was uncordoned by reconcile once Ready; idle, "
          f"{', '.join(down['nodes'])} {'was' if len(down['nodes']) == 1 else 'were'} scaled down; "
          f"{f['spoofed']['attempts']} spoofed requests, {f['spoofed']['accepted']} accepted")
    t.more(f"timings: stack up {f['start_s']:.1f} s, joins {f['join_s']:.1f} s, cordon {f['cordon_ms']} ms after "
           f"the event ({f['cordon_after_seen_ms']} ms after the agent's IMDS poll saw it), {f['pods_evicted']} pods "
           f"evicted by +{f['drained_s']:.1f} s, Node deleted "
           f"+{f['node_deleted_s']:.1f} s, VM gone +{f['vm_gone_s']:.1f} s, ghost NotReady "
           f"{f['ghost_not_ready_s']:.1f} s, reconcile tick {f['reconcile_tick_s']:.2f} s")
    t.more(f"logs: {story.opts.logs} (devhost.log, one <vm>.log per VM: the helper's own lines)")
    t.more("next: `python3 tasks.py serve` runs the same stack for you to call by hand; docs/ explains it all")


def main(argv: list[str] | None = None) -> int:
    opts, facts_file, report = parse(argv)
    opts.logs.mkdir(parents=True, exist_ok=True)
    for old in opts.logs.glob("*.log"):  # the last run's
        old.unlink()
    timeline = Timeline()
    work = Path(tempfile.mkdtemp(prefix="nodepool-demo-"))
    recorder = Recorder(timeline.started)
    story = Story(opts, timeline, work, recorder)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    code = 1
    try:
        with live_view(recorder):
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
            recorder.stop()
            story.close()
            shutil.rmtree(work, ignore_errors=True)
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, previous)
    if recorder.samples:
        figures = recorder.write(report, LEFT_OUT)
        timeline.say(f"report: {report}/summary.json, timeline.png: " + ", ".join(
            f"{k} {figures[k]}" for k in SUMMARY if figures[k] is not None))
    if code:
        timeline.say(f"logs: {opts.logs}")
    if facts_file:
        facts_file.write_text(json.dumps(story.facts, indent=2, sort_keys=True))
    return code


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
