"""Timer triggers through the devhost (tests/functions/apps/timer_app)."""
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from localenv.waiting import wait_for

APP = Path(__file__).parent / "apps" / "timer_app"
YEARLY = "0 0 0 1 1 *"


def runs(host, name: str) -> list[dict]:
    return requests.get(f"{host.url}/api/state", timeout=5).json()["runs"].get(name, [])


def test_run_on_startup_runs_once_at_start_not_past_due(devhost):
    host = devhost(APP, env={"SLOW_SCHEDULE": YEARLY})
    [run] = wait_for(lambda: runs(host, "on_startup"), what="the start-up run")
    assert run["past_due"] is False


def test_slow_timer_never_overlaps_and_its_catch_up_runs_are_past_due(devhost):
    host = devhost(APP, env={"SLOW_SCHEDULE": "* * * * * *"})  # every second; each run takes 1.3 s
    done = wait_for(lambda: len(runs(host, "slow_tick")) >= 3 and runs(host, "slow_tick"),
                    what="three runs")
    for previous, following in zip(done, done[1:]):
        assert following["start"] >= previous["end"]
    state = requests.get(f"{host.url}/api/state", timeout=5).json()
    assert state["max_active"]["slow_tick"] == 1
    assert done[0]["past_due"] is False
    assert all(run["past_due"] for run in done[1:])  # each run overran the next occurrence


def test_occurrence_missed_while_down_runs_at_start_past_due(devhost, tmp_path):
    state_dir, now = tmp_path / "state", datetime.now(UTC)
    status = state_dir / "timers" / "daily.json"
    status.parent.mkdir(parents=True)
    missed = {"Last": (now - timedelta(days=2)).isoformat(), "Next": (now - timedelta(days=1)).isoformat(),
              "LastUpdated": (now - timedelta(days=2)).isoformat()}
    status.write_text(json.dumps(missed))
    host = devhost(APP, env={"SLOW_SCHEDULE": YEARLY, "DEVHOST_STATE_DIR": str(state_dir)})
    [run] = wait_for(lambda: runs(host, "daily"), what="the past-due run")
    assert run["past_due"] is True
    assert run["status"]["Next"] == missed["Next"]  # the function sees the schedule status it missed
    def saved_status():
        saved = json.loads(status.read_text())
        return saved["Next"] != missed["Next"] and saved
    saved = wait_for(saved_status, what="status updated")
    assert datetime.fromisoformat(saved["Next"]) > now


def test_monitored_timer_with_nothing_missed_does_not_run_at_start(devhost, tmp_path):
    host = devhost(APP, env={"SLOW_SCHEDULE": YEARLY})
    wait_for(lambda: runs(host, "on_startup"), what="the start-up run")
    assert runs(host, "daily") == []
