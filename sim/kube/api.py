"""The HTTPS front of the simulated API server on sim/http.py's Server: bearer auth, faults,
routing, JSON and Status.

Paths and verbs follow the real API (core/v1 nodes, pods, pods/eviction, secrets;
policy/v1 poddisruptionbudgets); errors are metav1.Status objects with the real reasons.
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
from sim.kube import routes
from sim.kube.wire import K3S_VERSION, ApiError, status_object

log = logging.getLogger("sim.kube")
_FAIL_REASON = {500: "InternalError", 503: "ServiceUnavailable", 429: "TooManyRequests", 504: "Timeout"}
ROUTES = [(re.compile(pattern), name) for pattern, name in [
    (r"^/api/v1/(?P<resource>nodes)$", "collection"),
    (r"^/api/v1/(?P<resource>nodes)/(?P<name>[^/]+)$", "item"),
    (r"^/api/v1/(?P<resource>pods|secrets)$", "collection"),
    (r"^/api/v1/namespaces/(?P<ns>[^/]+)/(?P<resource>pods|secrets)$", "collection"),
    (r"^/api/v1/namespaces/(?P<ns>[^/]+)/(?P<resource>pods|secrets)/(?P<name>[^/]+)$", "item"),
    (r"^/api/v1/namespaces/(?P<ns>[^/]+)/(?P<resource>pods)/(?P<name>[^/]+)/eviction$", "eviction"),
    (r"^/apis/policy/v1/(?P<resource>poddisruptionbudgets)$", "collection"),
    (r"^/apis/policy/v1/namespaces/(?P<ns>[^/]+)/(?P<resource>poddisruptionbudgets)$", "collection"),
    (r"^/apis/policy/v1/namespaces/(?P<ns>[^/]+)/(?P<resource>poddisruptionbudgets)/(?P<name>[^/]+)$", "item"),
    (r"^/(?P<probe>healthz|livez|readyz)$", "probe"),
    (r"^/version$", "version"),
    (r"^/_sim/chaos$", "chaos"),
]]


def make_server(sim, host: str, port: int) -> Server:
    return Server([("*", r".*", lambda req: handle(sim, req))], tls=sim.tls.server_context(), host=host, port=port)


def handle(sim, req: Request) -> Response:
    try:
        if not _authorized(sim, req):
            raise ApiError(401, "Unauthorized", "Unauthorized")
        fault = sim.faults.pick(req.method, req.path, req.query)
        if fault:
            return _fault_answer(sim, fault)
        for pattern, route in ROUTES:
            if m := pattern.match(req.path):
                args = {k: unquote(v) for k, v in m.groupdict().items() if v is not None}
                sim.requests[f"{req.method} {args.get('resource', route)}"
                             f"{'/eviction' if route == 'eviction' else ''}"] += 1
                code, out = _route(sim, route, req, args)
                break
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
    except ApiError as err:
        code, out = err.code, err.status()
    except Exception as err:  # a simulator bug: answer like a broken server, and say why
        log.exception("kubesim %s %s failed", req.method, req.path)
        code, out = 500, status_object(500, "InternalError", f"kubesim: {type(err).__name__}: {err}")
    return answer(code, out)


def answer(code: int, out, headers: dict | None = None) -> Response:
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
        raise ApiError(400, "BadRequest", f"the body of the request could not be decoded: {err}") from err


def _route(sim, route: str, req: Request, args: dict):
    if route == "probe":
        return 200, b"ok"
    if route == "version":
        return 200, {"major": "1", "minor": "30", "gitVersion": K3S_VERSION, "platform": "linux/amd64"}
    if route == "chaos":
        return 200, routes.chaos(sim, req.method, body_of(req))
    return routes.dispatch(sim, route, req.method, args, req.query, body_of(req),
                           req.headers.get("Content-Type", ""))


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
