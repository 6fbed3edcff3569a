"""The Node list's resourceVersion marks: what is older, what is not comparable, when a new baseline is taken."""
from datetime import datetime, timedelta, timezone

import pytest

from nodepool.core.model import Node, Snapshot
from nodepool.reconcile.versions import Marks, compare, freshness

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
REBASE = timedelta(minutes=30)


@pytest.mark.parametrize("a, b, expected", [
    ("9", "10", -1), ("10", "9", 1), ("123", "123", 0), ("99999999999999999999", "100000000000000000000", -1),
    ("010", "9", None), ("0", "1", None), ("", "1", None), ("abc", "1", None), ("1.5", "1", None),
    ("١٢", "1", None),  # Arabic-Indic digits are decimal to Python, not to Kubernetes
])
def test_versions_compare_as_kubernetes_allows(a, b, expected):
    """KEP-5504 (client-go's CompareResourceVersion): positive decimal integers without leading zeros,
    compared by length, then digit by digit; anything else compares with nothing."""
    assert compare(a, b) == expected


def listed(version: str, **nodes: str) -> Snapshot[Node]:
    return Snapshot(tuple(Node(name, resource_version=rv) for name, rv in nodes.items()), version=version)


def test_a_list_older_than_the_mark_or_with_a_node_gone_back_is_stale():
    marks = freshness(listed("100", a="90", b="95"), Marks(), NOW, REBASE).marks
    assert marks == Marks("100", {"a": "90", "b": "95"})
    assert "list resourceVersion 99 < 100" in freshness(listed("99", a="90", b="95"), marks, NOW, REBASE).stale
    went_back = freshness(listed("", a="80", b="95"), marks, NOW, REBASE)  # no list version: the Nodes tell
    assert "Node a at resourceVersion 80, seen at 90 before" in went_back.stale
    assert went_back.marks.behind == (NOW, "")


def test_a_newer_list_moves_the_marks_and_forgets_nodes_no_longer_listed():
    marks = Marks("100", {"a": "90", "b": "95"})
    fresh = freshness(listed("120", a="110"), marks, NOW, REBASE)
    assert fresh.stale is None and fresh.marks == Marks("120", {"a": "110"})


def test_versions_that_do_not_compare_never_prove_a_list_stale():
    marks = Marks("etcd-7", {"a": "x1"})
    assert freshness(listed("etcd-3", a="x0"), marks, NOW, REBASE).stale is None


def test_lists_behind_the_marks_become_the_baseline_only_after_a_while_and_only_if_they_move():
    marks = Marks("5000", {"a": "4990"})
    first = freshness(listed("40", a="30"), marks, NOW, REBASE)  # an etcd restored from a backup
    assert first.stale and first.marks.behind == (NOW, "40")
    stuck = freshness(listed("40", a="30"), first.marks, NOW + REBASE, REBASE)  # a cache stuck on one snapshot
    assert stuck.stale and stuck.note is None
    early = freshness(listed("60", a="30"), first.marks, NOW + REBASE - timedelta(seconds=1), REBASE)
    assert early.stale
    moved = freshness(listed("60", a="55"), first.marks, NOW + REBASE, REBASE)
    assert moved.stale is None and moved.marks == Marks("60", {"a": "55"}) and "new baseline" in moved.note
