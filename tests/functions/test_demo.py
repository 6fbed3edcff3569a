"""`python3 tasks.py demo`: the whole story, reduced (4 VMs, 15 s notice), as its own process.

The demo checks every claim it prints and exits non-zero when one fails; here we also read the
facts it measured (--facts) so a demo that "passes" without doing the work is caught too.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from demo import __main__ as demo_main
from demo.story import Story
from demo.timeline import StepFailed
from localenv.devhost_process import ROOT

NOTICE = 15.0


@pytest.mark.slow
@pytest.mark.timeout(300)  # the demo's own run, ~70-110 s here (two boots of 12 s in the outage alone)
def test_the_demo_story_runs_end_to_end(tmp_path):
    facts_file = tmp_path / "facts.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("NODEPOOL_")}
    report = tmp_path / "report"
    done = subprocess.run([sys.executable, "-m", "demo", "--agents", "4", "--pods", "12", "--notice", str(NOTICE),
                           "--logs", str(tmp_path / "logs"), "--facts", str(facts_file), "--report", str(report)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=280)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    facts = json.loads(facts_file.read_text())
    assert facts["ok"] and facts["joined"] == 4, facts
    # the report: every figure measured in this run
    summary = json.loads((report / "summary.json").read_text())
    assert summary["joins"] == summary["agents"], summary
    assert summary["preemptions"] == 2 and summary["missed_deadlines"] == 0 and summary["lost_events"] == 0, summary
    assert summary["node_hours"] > 0 and summary["samples"] > 10, summary
    assert summary["spoofed_requests_accepted"] == 0 and facts["spoofed"]["attempts"] >= 4, summary
    assert (report / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert facts["short_notice"]["deleted_before_not_before"], facts
    # the autoscaler: a burst answered by one decision whose new VMs joined, an idle node scaled down
    assert facts["burst"]["scale_up_nodes"] == len(facts["burst"]["new_vms"]) > 0, facts
    assert summary["agents"] == 4 + facts["burst"]["scale_up_nodes"] + 2, summary  # + the outage's two VMs
    assert len(facts["scale_down"]["nodes"]) >= 1, facts
    # the spot eviction: cordoned, drained, Node deleted and the VM gone on our ack, all before NotBefore
    assert facts["deleted_before_not_before"] and facts["vm_gone_s"] < NOTICE, facts
    assert facts["cordon_ms"] < 2000 and facts["pods_evicted"] >= 2, facts  # db-0 and db-1 at least
    assert facts["eviction_calls"] >= facts["pods_evicted"], facts  # through the Eviction API (PDB-aware)
    # the capacity outage: spot refused, one decision to the regular pool, its VM joined; then back to spot
    outage = facts["outage"]
    assert outage["backed_off"] == {"spot": "SkuNotAvailable"} and outage["pending"] > 0, outage
    assert [n[:7] for n in outage["fallback_vms"]] == ["regular"] and outage["spot_vms"], outage
    assert outage["regular_after"] == 0, outage  # the regular node scaled down once spot was back
    assert set(outage["fallback_vms"] + outage["spot_vms"]) <= set(facts["joined_vms"]), facts
    # the reboot: drained with the VM kept, NotReady while it restarted, Ready again, uncordoned by reconcile
    reboot = facts["reboot"]
    assert reboot["cordon_s"] <= reboot["drained_s"] <= reboot["acked_s"] < reboot["not_ready_s"], reboot
    assert reboot["not_ready_s"] < reboot["ready_again_s"] and reboot["uncordoned"], reboot
    assert summary["chapters"]["reboot"]["node"] == reboot["node"] and summary["chapters_left_out"] == {}, summary
    assert "spot capacity back" in [label for _, _, label in summary["marks"]], summary["marks"]
    # the VM killed without notice: its ghost Node removed by one reconcile tick
    assert facts["ghost_removed"] and facts["reconcile_planned"].get("delete_node") == 1, facts
    assert "reconcile, dry run" in out and "FAILED" not in out
    logs = {p.name for p in (tmp_path / "logs").iterdir()}
    assert {"devhost.log", "master0.log", "agents000001.log"} <= logs
    assert "acknowledged event" in (tmp_path / "logs" / "agents000001.log").read_text()


def test_a_failing_step_exits_non_zero_and_says_what_failed(tmp_path, monkeypatch, capsys):
    def broken(self):
        raise StepFailed("Node agents000001 cordoned: not within 30 s")

    monkeypatch.setattr(Story, "run", broken)
    facts_file = tmp_path / "facts.json"
    code = demo_main.main(["--logs", str(tmp_path / "logs"), "--facts", str(facts_file)])
    assert code == 1
    assert "FAILED: Node agents000001 cordoned: not within 30 s" in capsys.readouterr().out
    assert json.loads(facts_file.read_text())["ok"] is False
