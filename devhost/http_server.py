"""HTTP triggers over a stdlib threading server: route, authorize, bound the body, convert to
`func.HttpRequest`, run on the shared pool, convert the `func.HttpResponse` back.

What a caller can observe matches the Functions host: 404 for unknown routes and methods,
401 before any code runs, 413 over FUNCTIONS_REQUEST_BODY_SIZE_LIMIT, 500 without internals.
One access-log line per request names the path but never the query (it may carry `code=`).
"""
from __future__ import annotations

import logging
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import azure.functions as func

from devhost.auth import Keys, presented_key
from devhost.invoker import Invoker, failure_text
from devhost.routes import RouteTable

log = logging.getLogger("devhost.http")


class BodyTooLarge(Exception):
    pass


class FunctionsHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # socketserver's default backlog of 5 drops bursts from load tests

    def __init__(self, address, routes: RouteTable, keys: Keys, invoker: Invoker, body_limit: int):
        self.routes, self.keys, self.invoker, self.body_limit = routes, keys, invoker, body_limit
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "devhost"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    server: FunctionsHttpServer

    def _handle(self) -> None:
        started = time.perf_counter()
        self._body_read = False
        try:
            status = self._dispatch()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return
        log.info("%s %s %d %.1fms", self.command, urlsplit(self.path).path, status,
                 (time.perf_counter() - started) * 1000)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle

    def _dispatch(self) -> int:
        url = urlsplit(self.path)
        query = {k: ",".join(v) for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        headers = {k.lower(): ", ".join(self.headers.get_all(k)) for k in set(self.headers.keys())}
        found = self.server.routes.match(self.command, url.path)
        if found is None:
            if url.path == "/" and self.command in ("GET", "HEAD"):
                return self._send(200, {"Content-Type": "text/plain; charset=utf-8"}, b"devhost is running\n")
            return self._send(404)
        function, route_params = found
        level = str(function.trigger.get("authLevel") or "function").lower()
        if not self.server.keys.allows(level, presented_key(headers, query)):
            return self._send(401)
        try:
            body = self._read_body()
        except BodyTooLarge:
            return self._send(413)
        except ValueError:
            return self._send(400)
        request = func.HttpRequest(self.command, f"http://{headers.get('host', 'localhost')}{self.path}",
                                   headers=headers, params=query, route_params=route_params, body=body)
        try:
            status, response_headers, response_body = _convert(self.server.invoker.submit(function, request).result())
        except Exception as err:
            log.error("Executed 'Functions.%s' (Failed)\n%s", function.name, failure_text(err))
            return self._send(500, {"Content-Type": "text/plain; charset=utf-8"}, b"Internal Server Error")
        return self._send(status, response_headers, response_body)

    def _read_body(self) -> bytes:
        limit = self.server.body_limit
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked(limit)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        if length > limit:
            raise BodyTooLarge
        self._body_read = True
        return self.rfile.read(length)

    def _read_chunked(self, limit: int) -> bytes:
        chunks, total = [], 0
        while True:
            size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                self._body_read = True
                return b"".join(chunks)
            total += size
            if total > limit:
                raise BodyTooLarge
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _send(self, status: int, headers=(), body: bytes = b"") -> int:
        if not self._body_read and (self.headers.get("Content-Length") not in (None, "0")
                                    or self.headers.get("Transfer-Encoding")):
            self.close_connection = True  # the unread body would be taken for the next request
        self.send_response(status)
        for name, value in (headers.items() if isinstance(headers, dict) else headers):
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        return status

    def log_message(self, format, *args) -> None:
        """Silence BaseHTTPRequestHandler's own log: its request line includes the query string."""


def _convert(result) -> tuple[int, list[tuple[str, str]], bytes]:
    """A function's return value as (status, headers, body), as the worker's http converter reads it."""
    if isinstance(result, str):
        return 200, [("Content-Type", "text/plain; charset=utf-8")], result.encode()
    if not isinstance(result, func.HttpResponse):
        raise TypeError(f"an HTTP function must return func.HttpResponse or str, not {type(result).__name__}")
    headers = list(result.headers.items())
    if not any(name.lower() == "content-type" for name, _ in headers):
        mime = result.mimetype
        headers.append(("Content-Type", f"{mime}; charset={result.charset}" if mime.startswith("text/") else mime))
    return result.status_code, headers, result.get_body()
