"""HTTP sample app for devhost tests: routes, params, methods, auth levels, failures.

`GET /edge/calls` reports how often each function ran, so tests can prove one never did.
"""
import json
import logging
import os
import threading
from collections import Counter

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
ANONYMOUS, ADMIN = func.AuthLevel.ANONYMOUS, func.AuthLevel.ADMIN
CALLS: Counter = Counter()
_lock = threading.Lock()


def _ran(name: str) -> None:
    with _lock:
        CALLS[name] += 1


def _json(body: dict, status: int = 200) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(body), status_code=status, mimetype="application/json")


@app.route(route="hello/{name}", methods=["GET"], auth_level=ANONYMOUS)
def hello(req: func.HttpRequest) -> func.HttpResponse:
    _ran("hello")
    logging.info("saying hello to %s", req.route_params["name"])
    return _json({"name": req.route_params["name"]})


@app.route(route="items/{id:int}", methods=["GET"], auth_level=ANONYMOUS)
def item_by_id(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"by": "id", "id": int(req.route_params["id"])})


@app.route(route="items/{slug}", methods=["GET"], auth_level=ANONYMOUS)
def item_by_slug(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"by": "slug", "slug": req.route_params["slug"]})


@app.route(route="pages/{page?}", methods=["GET"], auth_level=ANONYMOUS)
def pages(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"page": req.route_params.get("page")})


@app.route(route="echo", methods=["POST", "PUT"], auth_level=ANONYMOUS)
def echo(req: func.HttpRequest) -> func.HttpResponse:
    _ran("echo")
    return func.HttpResponse(
        json.dumps({"method": req.method, "url": req.url, "params": dict(req.params),
                    "header": req.headers.get("x-sample"), "size": len(req.get_body()),
                    "body": req.get_body().decode("utf-8", "replace")[:200]}),
        status_code=201, headers={"X-Echoed": "yes"}, mimetype="application/json")


@app.route(route="text", methods=["GET"], auth_level=ANONYMOUS)
def text(req: func.HttpRequest) -> str:
    return "plain text"


@app.route(route="secret", methods=["GET"])  # the app's default level: function
def secret(req: func.HttpRequest) -> func.HttpResponse:
    _ran("secret")
    return func.HttpResponse("function level ok")


@app.route(route="admin-only", methods=["GET"], auth_level=ADMIN)
def admin_only(req: func.HttpRequest) -> func.HttpResponse:
    _ran("admin_only")
    return func.HttpResponse("admin level ok")


@app.route(route="boom", methods=["GET"], auth_level=ANONYMOUS)
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("internal detail: password=hunter2 in /srv/secret.txt")


@app.route(route="setting/{name}", methods=["GET"], auth_level=ANONYMOUS)
def setting(req: func.HttpRequest) -> func.HttpResponse:
    name = req.route_params["name"]
    return _json({"value": os.environ.get(name) if name.startswith("SAMPLE_") else None})


@app.route(route="calls", methods=["GET"], auth_level=ANONYMOUS)
def calls(req: func.HttpRequest) -> func.HttpResponse:
    with _lock:
        return _json(dict(CALLS))
