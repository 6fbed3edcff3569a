"""Reconcile timer: one tick of observe → plan → act (nodepool/reconcile/tick.py).

The schedule is the app setting NODEPOOL_RECONCILE_SCHEDULE (default every minute), read
when the worker indexes the app: unlike `%NAME%`, which the host refuses to start without,
a missing setting means the default. Changing an app setting restarts the app, so it applies.
"""
from __future__ import annotations

import azure.functions as func

from nodepool import wiring
from nodepool.settings import Settings

bp = func.Blueprint()


@bp.timer_trigger(arg_name="timer", schedule=Settings.one("reconcile_schedule"), run_on_startup=False,
                  use_monitor=True)
def reconcile(timer: func.TimerRequest) -> None:
    services = wiring.services()
    now = services.clock.now()
    services.reconciler(now).tick(now)
