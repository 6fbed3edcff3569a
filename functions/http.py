"""Shared HTTP plumbing for triggers: body parsing, the one error mapping, JSON out."""
from __future__ import annotations

import json
import logging
from typing import Callable

import azure.functions as func

from nodepool import wiring
from nodepool.core.errors import (
    Conflict,
    Forbidden,
    IllegalTransition,
    InvalidInput,
    NodepoolError,
    NotFound,
    PermanentError,
    Throttled,
    TooLarge,
    TransientError,
    Unauthenticated,
)
from nodepool.core.inputs import parse_json
from nodepool.core.model import Caller
from nodepool.identity.guard import NodeClaim

MAX_BODY = 64 * 1024
NODE_CREDENTIAL_HEADER = "X-Node-Credential"  # the agent's credential from its attested join
log = logging.getLogger("nodepool.http")
# The one mapping of typed errors to HTTP: the most specific class in an error's MRO wins.
STATUS: dict[type, int] = {
    NodepoolError: 500, PermanentError: 400, TransientError: 503, InvalidInput: 400, Unauthenticated: 401,
    Forbidden: 403, NotFound: 404, Conflict: 409, IllegalTransition: 409, TooLarge: 413, Throttled: 429,
}


def status_of(err: NodepoolError) -> int:
    return next(STATUS[cls] for cls in type(err).__mro__ if cls in STATUS)


def json_response(body: dict, status: int = 200, headers: dict | None = None) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body, sort_keys=True), status_code=status,
                             headers=headers, mimetype="application/json")


def error(err: NodepoolError) -> func.HttpResponse:
    headers = {}
    if err.retry_after is not None or isinstance(err, TransientError):
        headers["Retry-After"] = str(max(1, round(err.retry_after or 5)))
    return json_response(err.as_dict(), status=status_of(err), headers=headers)


def node_claim(req: func.HttpRequest, caller: Caller) -> NodeClaim:
    """The verified caller and the node credential it presents (X-Node-Credential)."""
    return NodeClaim(caller, req.headers.get(NODE_CREDENTIAL_HEADER))


def page_args(req: func.HttpRequest) -> tuple[int, str | None]:
    """`limit` and `next` of a paged GET."""
    try:
        limit = int(req.params.get("limit", "100"))
    except ValueError as err:
        raise InvalidInput("limit must be a number") from err
    return limit, req.params.get("next")


def read_json(req: func.HttpRequest) -> object:
    body = req.get_body() or b""
    if len(body) > MAX_BODY:
        raise TooLarge(f"body over {MAX_BODY} bytes")
    return parse_json(body)  # depth measured before decoding: deep nesting is a 400, not a RecursionError


def respond(run: Callable[[wiring.Services], dict], status: int = 200) -> func.HttpResponse:
    """Run a use case with the app's services; typed errors become JSON errors."""
    try:
        result = run(wiring.services())
    except NodepoolError as err:
        if status_of(err) >= 500:
            log.warning("request failed: %s (%s)", err.code, err.message)
        return error(err)
    return json_response(result, status=status)
