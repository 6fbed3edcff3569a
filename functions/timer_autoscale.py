"""Autoscale timer: one tick of observe → decide → act (nodepool/autoscale/tick.py).

Registered only when NODEPOOL_AUTOSCALE_ENABLED is true (function_app.py), so a deployment that
keeps the seed's CPU autoscale setting never runs both on one scale set. The schedule is
NODEPOOL_AUTOSCALE_SCHEDULE (default every 30 s), read when the worker indexes the app.
"""
from __future__ import annotations

import azure.functions as func

from nodepool import wiring
from nodepool.settings import Settings

bp = func.Blueprint()


@bp.timer_trigger(arg_name="timer", schedule=Settings.one("autoscale_schedule"), run_on_startup=False,
                  use_monitor=True)
def autoscale(timer: func.TimerRequest) -> None:
    services = wiring.services()
    now = services.clock.now()
    services.autoscaler(now).tick(now)
