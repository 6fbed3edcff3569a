"""The HTTPS front of the simulated API server on sim/http.py's Server: bearer auth, faults,
routing, JSON and Status.

Paths and verbs follow the real API (discovery, core/v1, apps/v1, policy/v1, authorization.k8s.io/v1:
sim/kube/discovery.py lists what is served); errors are metav1.Status objects with the real reasons.
k3s runs the API server with anonymous auth off, so every path needs the bearer token.
Bodies are read raw and decoded only by the route that needs one.
"""
from __future__ import annotations

import json
import logging
import re
from urllib.parse import unquote

from sim.faults import retry_after
from sim.http import Hangup, Request, Response, Server
from sim.kube import discovery, openapi, routes
from sim.kube.wire import K3S_VERSION, ApiError, status_object

VERSION = {"major": "1", "minor": "30", "gitVersion": K3S_VERSION, "gitCommit": "0" * 40, "gitTreeState": "clean",
           "buildDate": "2024-10-23T00:00:00Z", "goVersion": "go1.22.8", "compiler": "gc", "platform": "linux/amd64"}

log = logging.getLogger("sim.kube")
_FAIL_REASON = {500: "InternalError", 503: "ServiceUnavailable", 429: "TooManyRequests", 504: "Timeout"}
OBJECTS = re.compile(r"^/(?:api|apis/(?P<group>[^/]+))/(?P<version>v1)(?:/namespaces/(?P<ns>[^/]+))?"
                     r"/(?P<resource>[^/]+)(?:/(?P<name>[^/]+))?(?:/(?P<sub>[^/]+))?$")
NOT_FOUND = "the server could not find the requested resource"


def make_server(sim, host: str, port: int) -> Server:
    return Server([("*", r".*", lambda req: handle(sim, req))], tls=sim.tls.server_context(), host=host, port=port)


def handle(sim, req: Request) -> Response:
    try:
        if not _authorized(sim, req):
            raise ApiError(401, "Unauthorized", "Unauthorized")
        fault = sim.faults.pick(req.method, req.path, req.query)
        if fault:
            return _fault_answer(sim, fault)
        stale = _stale(sim, req)
        code, out = (200, stale) if stale is not None else _route(sim, req)
    except ApiError as err:
        code, out = err.code, err.status()
    except Exception as err:  # a simulator bug: answer like a broken server, and say why
        log.exception("kubesim %s %s failed", req.method, req.path)
        code, out = 500, status_object(500, "InternalError", f"kubesim: {type(err).__name__}: {err}")
    return answer(code, out)


def answer(code: int, out, headers: dict | None = None) -> Response:
    if not isinstance(out, (bytes, dict, list)):  # a watch: events as they come
        return Response(code, out, {"Content-Type": "application/json", **(headers or {})})
    if out == b"ok":
        return Response(code, out, {"Content-Type": "text/plain", **(headers or {})})
    data = out if isinstance(out, bytes) else json.dumps(out, separators=(",", ":")).encode()
    return Response(code, data, {"Content-Type": "application/json", **(headers or {})})


def body_of(req: Request):
    """The request's JSON body (None when empty); a 400 Status when it is not JSON."""
    if not req.body:
        return None
    try:
        return json.loads(req.body)
    except ValueError as err:
        if "yaml" in (req.headers.get("Content-Type") or ""):
            return _yaml(req.body)
        raise ApiError(400, "BadRequest", f"the body of the request could not be decoded: {err}") from err


def _yaml(raw: bytes):
    try:
        import yaml
        return yaml.safe_load(raw)
    except Exception as err:  # no PyYAML, or not YAML either
        raise ApiError(400, "BadRequest", f"the body of the request could not be decoded: {err}") from err


def _route(sim, req: Request):
    path = req.path.rstrip("/") or "/"
    if path in ("/healthz", "/livez", "/readyz"):
        return 200, b"ok"
    if path == "/version":
        return 200, VERSION
    if path == "/_sim/chaos":
        return 200, routes.chaos(sim, req.method, body_of(req))
    if path == "/openapi/v2":
        return 200, openapi.v2_document()
    if req.method == "GET" and (doc := _discovery(path)) is not None:
        return 200, doc
    match = OBJECTS.match(path)
    if not match:
        raise ApiError(404, "NotFound", NOT_FOUND)
    args = {k: unquote(v) for k, v in match.groupdict().items() if v is not None}
    res = discovery.BY_PATH.get((args.get("group", ""), args["resource"]))
    if res is None or res.version != args["version"] or ("ns" in args and not res.namespaced):
        raise ApiError(404, "NotFound", NOT_FOUND)
    sim.requests[f"{req.method} {res.name}{'/' + args['sub'] if 'sub' in args else ''}"] += 1
    return routes.dispatch(sim, res, req.method, args, req, body_of)


def _stale(sim, req: Request) -> bytes | None:
    """A `stale_list` fault's answer to a list (never to a watch, or a GET of one object)."""
    match = OBJECTS.match(req.path.rstrip("/"))
    if req.method != "GET" or not match or match["name"] or req.query.get("watch"):
        return None
    fault = sim.faults.take("stale_list", req.method, req.path, req.query)
    if fault is None:
        return None
    if fault.snapshot is None:
        fault.snapshot = sim.snapshot(match["resource"])
    sim.requests[f"GET {match['resource']}"] += 1
    return fault.snapshot


def _discovery(path: str) -> dict | None:
    if path == "/openapi/v3":
        return openapi.root()
    if path.startswith("/openapi/v3/"):
        return openapi.document(path.removeprefix("/openapi/v3/"))
    if path == "/api":
        return discovery.api_versions()
    if path == "/apis":
        return discovery.api_group_list()
    parts = path.split("/")[1:]
    if parts[0] == "api" and len(parts) == 2:
        return discovery.resource_list("", parts[1])
    if parts[0] == "apis" and len(parts) == 2:
        return discovery.api_group(parts[1])
    if parts[0] == "apis" and len(parts) == 3:
        return discovery.resource_list(parts[1], parts[2])
    return None


def _authorized(sim, req: Request) -> bool:
    scheme, _, token = (req.headers.get("Authorization") or "").partition(" ")
    return scheme.lower() == "bearer" and token.strip() in sim.tokens


def _fault_answer(sim, fault) -> Response:
    if fault.kind == "hang":
        sim.faults.hold(fault)
        raise Hangup()
    status = fault.answer_status
    reason = _FAIL_REASON.get(status, "InternalError")
    return answer(status, status_object(status, reason, f"simulated fault: {reason}"), retry_after(fault))
