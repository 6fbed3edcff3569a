"""Every 5 minutes: delete expired or used bootstrap tokens (secret and row)."""
from __future__ import annotations

import azure.functions as func

from nodepool import wiring
from nodepool.core.logs import logger

bp = func.Blueprint()
log = logger(__name__)


@bp.timer_trigger(arg_name="timer", schedule="0 */5 * * * *", run_on_startup=False, use_monitor=True)
def clean_tokens(timer: func.TimerRequest) -> None:
    services = wiring.services()
    result = services.tokens.clean(services.clock.now())
    log.info("token cleanup", extra=result)
