"""A small threaded HTTP(S) server with a route table: ARM, IMDS, the IdP and Kubernetes speak through it.

Handlers take a `Request` and return a `Response` (or raise `HttpError`, or `Hangup` to close
the connection without an answer). A `before` hook sees every request first (authentication,
fault injection). A body that is an iterator of bytes is streamed with chunked transfer
encoding (Kubernetes watches). Servers listen on 127.0.0.1 and a free port unless told,
HTTP/1.1 with keep-alive, each in its own daemon thread.
"""
from __future__ import annotations

import json
import re
import socket
import ssl
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Response:
    status: int = 200
    body: Any = None  # dict/list -> JSON, bytes -> as is, None -> empty
    headers: dict[str, str] = field(default_factory=dict)


class HttpError(Exception):
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None):
        super().__init__(status)
        self.response = Response(status, body, headers or {})


class Hangup(Exception):
    """Close the connection without answering (a hung server, as the client sees it)."""


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Any  # email.message.Message: case-insensitive get()
    body: bytes
    params: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError as err:
            raise HttpError(400, {"error": {"code": "InvalidRequestContent", "message": "body is not JSON"}}) from err

    def arg(self, name: str) -> str | None:
        """A query parameter, name matched case-insensitively (ARM and IMDS do)."""
        return next((v for k, v in self.query.items() if k.lower() == name.lower()), None)


Handler = Callable[[Request], Response]
Route = tuple[str, str, Handler]  # method ("GET", "POST|PUT", "*"), path regex, handler
_serving = threading.local()


def in_request() -> bool:
    """True on a thread that is answering an HTTP request of one of our servers."""
    return getattr(_serving, "active", False)


class Server:
    """Routes are full-match, case-insensitive regexes; named groups land in `Request.params`."""

    def __init__(self, routes: list[Route], *, tls: ssl.SSLContext | None = None,
                 before: Callable[[Request], Response | None] | None = None, host: str = "127.0.0.1",
                 port: int = 0):
        self.routes = [(m.upper().split("|"), re.compile(p, re.IGNORECASE), h) for m, p, h in routes]
        self.before = before
        self.hits: Counter[str] = Counter()  # "METHOD /path" -> count, for tests
        self._httpd = _Httpd(self, (host, port))
        if tls:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True, do_handshake_on_connect=False)
        self.scheme = "https" if tls else "http"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"{self.scheme}://{host}:{port}"

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    def start(self) -> Server:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        for conn in list(self._httpd.open):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def dispatch(self, req: Request) -> Response:
        self.hits[f"{req.method} {req.path}"] += 1
        _serving.active = True
        try:
            early = self.before(req) if self.before else None
            if early is not None:
                return early
            for methods, pattern, handler in self.routes:
                match = pattern.fullmatch(req.path)
                if match and (req.method in methods or "*" in methods):
                    req.params = match.groupdict()
                    return handler(req)
            return Response(404, {"error": {"code": "NotFound", "message": f"no route for {req.method} {req.path}"}})
        except HttpError as err:
            return err.response
        except Hangup:
            raise
        except Exception as err:  # a simulator bug must still answer, loudly
            return Response(500, {"error": {"code": "SimulatorError", "message": repr(err)}})
        finally:
            _serving.active = False


class _Httpd(ThreadingHTTPServer):
    daemon_threads = True
    # One server stands in for the IMDS of every VM: hundreds of agents polling each second must wait in the
    # accept queue, not be dropped (socketserver's backlog is 5; a dropped SYN costs the client 1-3 s).
    request_queue_size = 1024

    def __init__(self, owner: Server, address: tuple[str, int]):
        self.owner = owner
        self.open: set[socket.socket] = set()
        super().__init__(address, _Handler)

    def process_request(self, request, client_address):
        self.open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        self.open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        pass  # clients hanging up or failing TLS are not our problem


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms delayed-ACK stalls

    def setup(self):
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
        super().setup()

    def _serve(self):
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        req = Request(self.command, parts.path, dict(parse_qsl(parts.query, keep_blank_values=True)),
                      self.headers, self.rfile.read(length) if length else b"")
        try:
            resp = self.server.owner.dispatch(req)
        except Hangup:
            self.close_connection = True
            return
        if resp.body is not None and not isinstance(resp.body, (bytes, dict, list)):
            return self._stream(resp)
        raw = isinstance(resp.body, bytes)
        body = resp.body if raw else b"" if resp.body is None else json.dumps(resp.body).encode()
        self.send_response(resp.status)
        headers = {"Content-Type": "application/json; charset=utf-8"} if body and not raw else {}
        for name, value in {**headers, **resp.headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _stream(self, resp: Response) -> None:
        """Chunked transfer encoding, one chunk per item, until the iterator ends or the client leaves."""
        self.send_response(resp.status)
        for name, value in {**resp.headers, "Transfer-Encoding": "chunked"}.items():
            self.send_header(name, value)
        self.end_headers()
        try:
            for chunk in resp.body:
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True
        finally:
            close = getattr(resp.body, "close", None)
            if close:
                close()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    def log_message(self, format, *args):
        pass
