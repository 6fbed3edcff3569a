"""`CountingProxy`: a loopback HTTP/1.1 reverse proxy that counts the requests passing through
(e.g. in front of Azurite's table endpoint). Use it for a separate counting run, never for a
timed one: it adds a hop.
"""
from __future__ import annotations

import http.client
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


class CountingProxy:
    """HTTP/1.1 reverse proxy on 127.0.0.1 to `upstream` (http://host:port); `counts` keys are
    "METHOD /first-path-segment/second" with any "(keys)" or query cut off, e.g.
    "GET /devstoreaccount1/nodes". One upstream connection per client connection."""

    def __init__(self, upstream: str):
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port)
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _proxy_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> CountingProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def count(self, method: str, path: str) -> None:
        segments = urlsplit(path).path.split("/")[1:3]
        key = f"{method} /" + "/".join(s.split("(")[0] for s in segments)
        with self._lock:
            self.counts[key] += 1

    def take(self) -> Counter[str]:
        """The counts so far; the counter starts again from zero."""
        with self._lock:
            counts, self.counts = self.counts, Counter()
        return counts

    def __enter__(self) -> CountingProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _proxy_handler(proxy: CountingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True
        upstream: http.client.HTTPConnection | None = None

        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            proxy.count(self.command, self.path)
            for attempt in (1, 2):  # a kept-alive upstream connection may have closed meanwhile
                if self.upstream is None:
                    self.upstream = http.client.HTTPConnection(*proxy.upstream, timeout=30)
                try:
                    self.upstream.request(self.command, self.path, body=body or None, headers=headers)
                    reply = self.upstream.getresponse()
                    data = reply.read()
                    break
                except (http.client.HTTPException, OSError):
                    self.upstream.close()
                    self.upstream = None
                    if attempt == 2:
                        raise
            self.send_response(reply.status, reply.reason)
            for name, value in reply.getheaders():
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_MERGE = _forward

        def log_message(self, *args) -> None:
            pass

    return Handler
