"""Shared HTTP plumbing for triggers: JSON responses and the one error mapping."""
from __future__ import annotations

import json

import azure.functions as func

from nodepool.errors import NodepoolError, TransientError


def json_response(body: dict, status: int = 200, headers: dict | None = None) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body, sort_keys=True), status_code=status,
                             headers=headers, mimetype="application/json")


def error(err: NodepoolError) -> func.HttpResponse:
    headers = {}
    if err.retry_after is not None or isinstance(err, TransientError):
        headers["Retry-After"] = str(max(1, round(err.retry_after or 5)))
    return json_response(err.as_dict(), status=err.status, headers=headers)
