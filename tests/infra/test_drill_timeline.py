"""drill's report from audit rows (pure): each milestone from its first row after the eviction, against NotBefore."""
from datetime import datetime, timedelta, timezone

from ops.drill_timeline import Timeline, collect

ASKED = datetime(2026, 12, 6, 12, 0, 0, tzinfo=timezone.utc)


def row(action: str, seconds: float, node: str = "agents000001", **extra) -> dict:
    return {"action": action, "node": node, "at": (ASKED + timedelta(seconds=seconds)).isoformat(), **extra}


def test_each_milestone_comes_from_its_first_row_about_the_node_after_the_eviction():
    rows = [row("node_delete", 4.0), row("drain", 3.5, detail="pods_left=0"), row("cordon", 1.2, reason="Preempt e1"),
            row("cordon", -60.0, reason="an older event"), row("cordon", 1.0, node="agents000002")]
    seen = collect(rows, "agents000001", ASKED)
    assert {k: ((v[0] - ASKED).total_seconds(), v[1]) for k, v in seen.items()} == {
        "cordon": (1.2, "Preempt e1"), "drain": (3.5, "pods_left=0"), "node_delete": (4.0, "")}
    timeline = Timeline(ASKED, seen, ASKED + timedelta(seconds=30), ASKED + timedelta(seconds=5))
    assert timeline.complete
    assert timeline.lines("agents/1", "agents000001") == [
        "+   0.0s  simulateEviction asked for agents/1 (agents000001)",
        "+   1.2s  event seen, node cordoned (Preempt e1)",
        "+   3.5s  pods evicted (pods_left=0)",
        "+   4.0s  Node deleted",
        "+   5.0s  VM gone (ARM: instance not found)",
        "+  30.0s  NotBefore (the notice Azure gave); Node deleted 26.0s before it"]


def test_what_never_happened_is_said_and_the_drill_is_incomplete():
    timeline = Timeline(ASKED, collect([row("cordon", 2.0)], "agents000001", ASKED), None, None)
    assert not timeline.complete
    lines = timeline.lines("agents/1", "agents000001")
    assert "   never   pods evicted: no `drain` audit row for agents000001" in lines
    assert lines[-1] == "   never   VM gone: the instance still exists"
