"""The autoscale state as JSON text (what the state store keeps) and back.

Text that is not a state we wrote decodes as an empty state: the cost is a few ticks of
forgotten unneeded-since times and backoffs, never a wrong action (a backoff forgotten means
one more failed capacity request, which backs the pool off again).
"""
from __future__ import annotations

import json
from datetime import datetime

from nodepool.autoscale.model import AutoscaleState, Backoff, Draining

VERSION = 1


def encode(state: AutoscaleState) -> str:
    return json.dumps({
        "v": VERSION,
        "backoffs": {k: [b.kind, b.until.isoformat(), b.reason] for k, b in sorted(state.backoffs.items())},
        "unneeded_since": {k: v.isoformat() for k, v in sorted(state.unneeded_since.items())},
        "last_scale_up": state.last_scale_up.isoformat() if state.last_scale_up else None,
        "draining": {k: [d.pool, d.instance_id, d.since.isoformat()] for k, d in sorted(state.draining.items())},
        "creating": {k: v.isoformat() for k, v in sorted(state.creating.items())},
    }, separators=(",", ":"))


def decode(text: str | None) -> AutoscaleState:
    try:
        raw = json.loads(text or "")
        if raw.get("v") != VERSION:
            return AutoscaleState()
        when = datetime.fromisoformat
        return AutoscaleState(
            backoffs={k: Backoff(kind, when(until), reason) for k, (kind, until, reason) in raw["backoffs"].items()},
            unneeded_since={k: when(v) for k, v in raw["unneeded_since"].items()},
            last_scale_up=when(raw["last_scale_up"]) if raw["last_scale_up"] else None,
            draining={k: Draining(pool, iid, when(since)) for k, (pool, iid, since) in raw["draining"].items()},
            creating={k: when(v) for k, v in (raw.get("creating") or {}).items()})
    except (ValueError, TypeError, KeyError, AttributeError):
        return AutoscaleState()
