"""Reconcile values: label/taint policy parsing, tick-state persistence, action log fields."""
import json
import logging
from dataclasses import replace

import pytest

from nodepool.core.labels import label_changes, parse_labels, parse_taints, taints_for
from nodepool.core.model import Taint
from nodepool.reconcile.plan import Baseline, NodeRepair, TickState, UnjoinedVm
from tests.unit.reconcile_world import NOW, POLICY, TAINTED, World, ago, messy, name, node


@pytest.mark.parametrize("raw, taint", [
    ("spot=true:NoSchedule", Taint("spot", "true", "NoSchedule")),
    ("example.com/gpu:NoExecute", Taint("example.com/gpu", "", "NoExecute")),
    ("dedicated=batch", Taint("dedicated", "batch", "NoSchedule")),
], ids=["key_value_effect", "key_effect", "key_value_defaults_to_noschedule"])
def test_taint_settings_are_parsed(raw, taint):
    assert parse_taints([raw]) == (taint,)


@pytest.mark.parametrize("raw", ["spot=true:Sometimes", "bad key=x", "=x:NoSchedule", "k=" + "v" * 64])
def test_malformed_taints_are_refused(raw):
    with pytest.raises(ValueError):
        parse_taints([raw])


@pytest.mark.parametrize("raw", ["novalue", "a/b/c=x", "k=has space"])
def test_malformed_labels_are_refused(raw):
    with pytest.raises(ValueError):
        parse_labels([raw])


def test_label_changes_only_touch_what_differs():
    assert label_changes({"a": "1", "b": "2"}, {"a": "1", "b": "3", "c": None, "d": "4"}) == {"b": "3", "d": "4"}
    assert label_changes({"c": "x"}, {"c": None}) == {"c": None}


def test_taints_converged_means_none():
    spot = Taint("spot", "true")
    assert taints_for((Taint("x"), spot), (spot,)) is None
    assert taints_for((), ()) is None


def test_tick_state_round_trips_through_json():
    state = TickState(repairs={"a": NodeRepair("1", ago(minutes=30), 2, ago(minutes=3))},
                      unjoined={"7": UnjoinedVm("agent000007", ago(minutes=20), 1, ago(minutes=2))},
                      instances=Baseline(12, 3, ago(minutes=1)), nodes=Baseline(13),
                      missing={"agent000004": ago(minutes=4)}, reported_poison=frozenset({"m1"}))
    assert TickState.from_dict(json.loads(json.dumps(state.to_dict()))) == state
    assert TickState.from_dict({}) == TickState()
    assert TickState.from_dict({"instance_count": 7}).instances == Baseline(7)  # a row saved before baselines


def every_action():
    return messy().plan(NOW, TAINTED).actions


def test_log_fields_are_json_safe_and_fit_a_log_record():
    record_keys = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
    actions = every_action()
    assert len({a.kind for a in actions}) == 11
    for action in actions:
        fields = action.log_fields()
        json.dumps(fields)
        assert not set(fields) & record_keys
        assert fields["action"] == action.kind and fields["reason"] and fields["target"] == action.target
        assert isinstance(fields["destructive"], bool)


def test_actions_are_frozen_values():
    action = every_action()[0]
    with pytest.raises(AttributeError):
        action.reason = "changed"
    assert replace(action) == action and hash(replace(action)) == hash(action)


def test_plan_counts_actions_per_kind():
    world = World.converged(3)
    world.nodes[name(0)] = node(0, labels={})
    world.nodes[name(1)] = node(1, labels={})
    assert world.plan(NOW, POLICY).counts() == {"label_node": 2}
