"""Every 5 minutes: delete expired or used bootstrap tokens (secret and row)."""
from __future__ import annotations

import logging

import azure.functions as func

from nodepool import wiring

bp = func.Blueprint()
log = logging.getLogger("nodepool.tokens")


@bp.timer_trigger(arg_name="timer", schedule="0 */5 * * * *", run_on_startup=False, use_monitor=True)
def clean_tokens(timer: func.TimerRequest) -> None:
    services = wiring.services()
    result = services.tokens.clean(services.clock.now())
    log.info("token cleanup", extra=result)
