"""The HTTPS front of the simulated API server: routing, bearer auth, chaos, JSON and Status.

Paths and verbs follow the real API (core/v1 nodes, pods, pods/eviction, secrets;
policy/v1 poddisruptionbudgets); errors are metav1.Status objects with the real reasons.
k3s runs the API server with anonymous auth off, so every path needs the bearer token.
"""
from __future__ import annotations

import json
import logging
import re
import socket
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote, urlsplit

from sim import kube_routes
from sim.kube_wire import K3S_VERSION, ApiError, status_object

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


def make_handler(sim) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 60  # idle keep-alive connections close; clients reconnect
        server_version = "kubesim"
        wbufsize = -1  # one write per response (headers + body): no Nagle / delayed-ACK stalls

        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def log_message(self, *args) -> None:  # quiet; tests read counters instead
            pass

        def _handle(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            try:
                body = self._body()
                if not self._authorized():
                    raise ApiError(401, "Unauthorized", "Unauthorized")
                fault = sim.chaos.pick(url.path, query)
                if fault and not self._inject(fault):
                    return
                for pattern, route in ROUTES:
                    if m := pattern.match(url.path):
                        args = {k: unquote(v) for k, v in m.groupdict().items() if v is not None}
                        sim.requests[f"{self.command} {args.get('resource', route)}"
                                     f"{'/eviction' if route == 'eviction' else ''}"] += 1
                        code, out = self._route(route, args, query, body)
                        break
                else:
                    raise ApiError(404, "NotFound", "the server could not find the requested resource")
            except ApiError as err:
                code, out = err.code, err.status()
            except Exception as err:  # a simulator bug: answer like a broken server, and say why
                log.exception("kubesim %s %s failed", self.command, url.path)
                code, out = 500, status_object(500, "InternalError", f"kubesim: {type(err).__name__}: {err}")
            self._send(code, out)

        def _route(self, route: str, args: dict, query: dict, body):
            if route == "probe":
                return 200, b"ok"
            if route == "version":
                return 200, {"major": "1", "minor": "30", "gitVersion": K3S_VERSION, "platform": "linux/amd64"}
            if route == "chaos":
                return 200, kube_routes.chaos(sim, self.command, body)
            return kube_routes.dispatch(sim, route, self.command, args, query, body,
                                        self.headers.get("Content-Type", ""))

        def _authorized(self) -> bool:
            scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
            return scheme.lower() == "bearer" and token.strip() in sim.tokens

        def _body(self):
            length = int(self.headers.get("Content-Length") or 0)
            if not length:
                return None
            raw = self.rfile.read(length)
            try:
                return json.loads(raw)
            except ValueError as err:
                raise ApiError(400, "BadRequest", f"the body of the request could not be decoded: {err}") from err

        def _inject(self, fault) -> bool:
            """Apply a fault; False when the request must not be answered normally."""
            if fault.kind == "slow":
                time.sleep(fault.delay_s)
                return True
            if fault.kind == "hang":
                sim.chaos.released.wait(fault.delay_s)
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return False
            reason = _FAIL_REASON.get(fault.status, "InternalError")
            headers = {"Retry-After": "1"} if fault.status in (429, 503) else {}
            self._send(fault.status, status_object(fault.status, reason, f"simulated fault: {reason}"), headers)
            return False

        def _send(self, code: int, out, headers: dict | None = None) -> None:
            data = out if isinstance(out, bytes) else json.dumps(out, separators=(",", ":")).encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain" if out == b"ok" else "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

    return Handler
