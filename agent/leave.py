"""`leave`: tell the control plane this node leaves, wait (bounded) for its drain.

Runs from ExecStop at shutdown, so it must never block: every wait is cut at --leave-timeout,
and the unit's TimeoutStopSec is a little longer as a last resort.
"""
from __future__ import annotations

import logging

from agent.api import Api
from agent.backoff import GaveUp, retry
from agent.events import drained, node_row
from agent.httpjson import Unreachable
from agent.runtime import Runtime

log = logging.getLogger("agent.leave")
POLL_S = 1.0


def run(cfg, api: Api, rt: Runtime) -> int:
    """0 when drained (or nothing to drain), 2 when the bound cut the wait, 1 when refused."""
    name, start = cfg.node_name, rt.clock()
    deadline = start + cfg.leave_timeout

    def remaining() -> float:
        return deadline - rt.clock()

    if api.credential is not None and not api.credential.get():
        log.info("%s never joined (no node credential): nothing to drain", name)
        return 0
    try:
        reply = retry(lambda: api.leave(name, timeout=max(0.2, min(cfg.http_timeout, remaining()))),
                      what="POST /api/leave", budget=cfg.leave_timeout, clock=rt.clock, sleep=rt.sleep,
                      rand=rt.rand)
    except GaveUp as err:
        log.error("%s; shutting down without a drain", err)
        return 2
    if reply.status == 404:
        log.info("%s is not registered: nothing to drain", name)
        return 0
    if not reply.ok:
        log.error("leave refused: %s; shutting down without a drain", reply.error())
        return 1
    answer = reply.data() if isinstance(reply.data(), dict) else {}
    event_id = answer.get("event_id") if isinstance(answer.get("event_id"), str) else None
    log.info("leaving: control plane cordoned %s and queued its drain (%s); waiting up to %.0f s",
             name, event_id or "no event id", max(remaining(), 0))
    last_error = None
    while remaining() > 0:
        try:
            status = api.node(name, timeout=max(0.2, min(cfg.http_timeout, remaining())))
        except Unreachable as err:
            status, last_error = None, str(err)
        if status is not None and status.status == 404:
            log.info("%s is gone from the registry: done", name)
            return 0
        if status is not None and status.ok:
            row = node_row(status.data())
            if drained(row, since=start, event_id=event_id):
                log.info("%s drained (state %s): done", name, row.get("state"))
                return 0
        elif status is not None:
            last_error = status.error()
        rt.sleep(max(0.0, min(POLL_S, remaining())))
    log.warning("drain of %s not finished after %.0f s (%s); not waiting longer",
                name, cfg.leave_timeout, last_error or "still draining")
    return 2
