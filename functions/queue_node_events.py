"""Queue `node-events`: drain a node before its deadline. `node-events-poison`: record the failure.

A raised error leaves the message to the host: retried after the visibility timeout,
moved to the poison queue after maxDequeueCount (host.json).
"""
from __future__ import annotations

import json

import azure.functions as func

from nodepool import wiring
from nodepool.core.errors import InvalidInput
from nodepool.core.logs import logger
from nodepool.drain.state import NODE_EVENTS_QUEUE, POISON_QUEUE, DrainRequest

bp = func.Blueprint()
log = logger(__name__)


def _request(msg: func.QueueMessage) -> DrainRequest | None:
    """A malformed message is logged and dropped: retrying cannot make it valid."""
    try:
        return DrainRequest.from_message(json.loads(msg.get_body()))
    except (ValueError, InvalidInput) as err:
        log.error("dropping malformed message %s: %s", msg.id, err)
        return None


@bp.queue_trigger(arg_name="msg", queue_name=NODE_EVENTS_QUEUE, connection="AzureWebJobsStorage")
def drain_node(msg: func.QueueMessage) -> None:
    request = _request(msg)
    if request is None:
        return
    log.info("drain %s for %s (%s), attempt %s", request.node, request.event_id, request.type, msg.dequeue_count)
    wiring.services().drains.drain(request)


@bp.queue_trigger(arg_name="msg", queue_name=POISON_QUEUE, connection="AzureWebJobsStorage")
def drain_failed(msg: func.QueueMessage) -> None:
    request = _request(msg)
    if request is None:
        return
    log.error("drain of %s for %s failed for good", request.node, request.event_id)
    services = wiring.services()
    services.drains.failed(request, services.clock.now())
