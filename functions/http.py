"""Shared HTTP plumbing for triggers: body parsing, the one error mapping, JSON out."""
from __future__ import annotations

import json
import logging
from typing import Callable

import azure.functions as func

from nodepool import bootstrap
from nodepool.errors import InvalidInput, NodepoolError, TooLarge, TransientError

MAX_BODY = 64 * 1024
log = logging.getLogger("nodepool.http")


def json_response(body: dict, status: int = 200, headers: dict | None = None) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body, sort_keys=True), status_code=status,
                             headers=headers, mimetype="application/json")


def error(err: NodepoolError) -> func.HttpResponse:
    headers = {}
    if err.retry_after is not None or isinstance(err, TransientError):
        headers["Retry-After"] = str(max(1, round(err.retry_after or 5)))
    return json_response(err.as_dict(), status=err.status, headers=headers)


def read_json(req: func.HttpRequest) -> object:
    body = req.get_body() or b""
    if len(body) > MAX_BODY:
        raise TooLarge(f"body over {MAX_BODY} bytes")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InvalidInput("body is not valid JSON", code="invalid_json") from err


def respond(run: Callable[[bootstrap.Services], dict], status: int = 200) -> func.HttpResponse:
    """Run a use case with the app's services; typed errors become JSON errors."""
    try:
        result = run(bootstrap.services())
    except NodepoolError as err:
        if err.status >= 500:
            log.warning("request failed: %s (%s)", err.code, err.message)
        return error(err)
    return json_response(result, status=status)
