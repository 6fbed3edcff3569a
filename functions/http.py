"""Shared HTTP plumbing for triggers: body parsing, the one error mapping, JSON out."""
from __future__ import annotations

import json
from typing import Callable
from urllib.parse import urlsplit

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
from nodepool.core.logs import logger
from nodepool.core.model import Caller, Role
from nodepool.identity.guard import NodeClaim
from nodepool.settings import InvalidSettings

MAX_BODY = 64 * 1024
NODE_CREDENTIAL_HEADER = "X-Node-Credential"  # the agent's credential from its attested join
log = logger(__name__)
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


def route_of(req: func.HttpRequest) -> str:
    """`POST /api/join`: the method and path only (a query string may hold the function key)."""
    return f"{req.method} {urlsplit(req.url).path}"


def refused(req: func.HttpRequest, err: NodepoolError, caller: Caller | None) -> None:
    """One line per refused request, with its code and who asked (never a credential: errors carry none)."""
    status = status_of(err)
    fields = {"route": route_of(req), "status": status, "error": err.code,
              "caller": f"{caller.role.value} {caller.principal_id}" if caller else "unverified"}
    if status >= 500 or status in (401, 403):  # server faults, and what a forger or a stale VM would cause
        log.warning("%s answered %d %s: %s", fields["route"], status, err.code, err.message, extra=fields)
    else:
        log.info("%s answered %d %s: %s", fields["route"], status, err.code, err.message, extra=fields)


def respond(req: func.HttpRequest, run: Callable[[wiring.Services], dict], *, status: int = 200) -> func.HttpResponse:
    """Run one use case with the app's services (the function key is the host's check), answer JSON;
    every typed error becomes its status and is logged once with its code."""
    return _answer(req, run, status, lambda: None)


def respond_as(req: func.HttpRequest, role: Role, run: Callable[[wiring.Services, Caller], dict], *,
               status: int = 200) -> func.HttpResponse:
    """The same for a caller who must prove `role` (the managed-identity token) first."""
    caller: Caller | None = None

    def verified(services: wiring.Services) -> dict:
        nonlocal caller
        caller = services.identity.verify(req.headers.get("Authorization"), role)
        return run(services, caller)
    return _answer(req, verified, status, lambda: caller)


def _answer(req: func.HttpRequest, run: Callable[[wiring.Services], dict], status: int,
            caller: Callable[[], Caller | None]) -> func.HttpResponse:
    try:
        result = run(wiring.services())
    except InvalidSettings as err:  # logged once per worker by the wiring, not once per request
        return error(err)
    except NodepoolError as err:
        refused(req, err, caller())
        return error(err)
    return json_response(result, status=status)
