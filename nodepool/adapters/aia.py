"""Fetch a certificate's issuer from its AIA "CA Issuers" URL, as Microsoft tells IMDS verifiers to.

The URL comes from a certificate nobody has verified yet, so it is treated as hostile: only http(s)
on the default port, only hosts on the allow-list (Microsoft's and DigiCert's PKI hosts by
default), never a name that resolves to a private, loopback, link-local or otherwise non-global
address (plain http connects to the address checked, so DNS cannot change its answer in between),
no redirects, at most MAX_BYTES, at most TIMEOUT_S. Through an HTTP proxy (HTTP_PROXY, NO_PROXY
honoured) the proxy resolves the name. Answers are cached per URL: a certificate for a day, a miss
for a few minutes, so a flood of forged documents costs Microsoft one request per URL.
"""
from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from requests import RequestException, Session
from requests.utils import get_environ_proxies

from nodepool.adapters.http_session import EnvironmentOnceSession
from nodepool.adapters.pkcs7 import READ_ERRORS, load_certificate
from nodepool.core.clock import SYSTEM, Clock
from nodepool.identity.attestation import PKI_HOSTS

MAX_BYTES = 16 * 1024  # an intermediate is ~2 KiB of DER
TIMEOUT_S = 3.0
HIT_TTL_S, MISS_TTL_S, DOWN_TTL_S = 24 * 3600.0, 300.0, 30.0
Resolve = Callable[[str], list[str]]


def _resolve(host: str) -> list[str]:
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)})


def _global(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    return ip.is_global and not ip.is_multicast


def refusal(url: str, hosts: Sequence[str]) -> str | None:
    """Why `url` may not be fetched at all (None: it may)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "not a URL"
    if parts.scheme not in ("http", "https") or parts.username or parts.password:
        return "not a plain http(s) URL"
    if port not in (None, 80 if parts.scheme == "http" else 443):
        return f"port {port} is not the default"
    if (parts.hostname or "").lower().rstrip(".") not in {h.lower() for h in hosts}:
        return f"host {parts.hostname} is not an allowed PKI host"
    return None


@dataclass(frozen=True)
class Fetched:
    cert: x509.Certificate | None
    why: str = ""  # when cert is None
    down: bool = False  # the host did not answer: worth trying again later, unlike a refusal or a 404


class AiaFetcher:
    def __init__(self, hosts: Sequence[str] = PKI_HOSTS, *, session: Session | None = None,
                 resolve: Resolve = _resolve, address_allowed: Callable[[str], bool] = _global,
                 clock: Clock = SYSTEM, timeout_s: float = TIMEOUT_S, max_bytes: int = MAX_BYTES):
        self.hosts, self._session = tuple(hosts), session or EnvironmentOnceSession()
        self._resolve, self._address_allowed, self._clock = resolve, address_allowed, clock
        self._timeout_s, self._max_bytes = timeout_s, max_bytes
        self._cache: dict[str, tuple[float, Fetched]] = {}
        self._lock = threading.Lock()  # one fetch at a time: a burst of joins waits for the first, then hits the cache
        self.requests = 0  # HTTP requests made (the bench and tests count them)

    def fetch(self, url: str) -> Fetched:
        with self._lock:
            cached = self._cache.get(url)
            if cached and cached[0] > self._clock.monotonic():
                return cached[1]
            outcome = self._fetch(url)
            ttl = HIT_TTL_S if outcome.cert else DOWN_TTL_S if outcome.down else MISS_TTL_S
            self._cache[url] = (self._clock.monotonic() + ttl, outcome)
            return outcome

    def cached(self) -> list[tuple[str, x509.Certificate]]:
        return [(url, hit.cert) for url, (_, hit) in self._cache.items() if hit.cert is not None]

    def _fetch(self, url: str) -> Fetched:
        why = refusal(url, self.hosts)
        if why:
            return Fetched(None, why)
        parts = urlsplit(url)
        host = parts.hostname or ""
        target, headers = url, {"Accept": "application/pkix-cert, */*"}
        if not self._proxied(url):
            try:
                addresses = self._resolve(host)
            except OSError as err:
                return Fetched(None, f"{host} does not resolve ({err})", down=True)
            if not addresses or not all(self._address_allowed(a) for a in addresses):
                return Fetched(None, f"{host} resolves to a non-public address")
            if parts.scheme == "http":  # connect to the address checked; https keeps the name for TLS
                ip = addresses[0]
                target = urlunsplit(("http", f"[{ip}]" if ":" in ip else ip, parts.path, parts.query, ""))
                headers["Host"] = host
        return self._download(url, target, headers)

    def _proxied(self, url: str) -> bool:
        scheme = urlsplit(url).scheme
        return bool((self._session.proxies or {}).get(scheme) or get_environ_proxies(url).get(scheme))

    def _download(self, url: str, target: str, headers: dict) -> Fetched:
        self.requests += 1
        deadline = self._clock.monotonic() + self._timeout_s
        try:
            with self._session.get(target, headers=headers, timeout=self._timeout_s, stream=True,
                                   allow_redirects=False) as answer:
                if answer.status_code != 200:
                    return Fetched(None, f"{url} answered {answer.status_code}", down=answer.status_code >= 500)
                body = b""
                for chunk in answer.iter_content(4096):
                    body += chunk
                    if len(body) > self._max_bytes:
                        return Fetched(None, f"{url} sent more than {self._max_bytes} bytes")
                    if self._clock.monotonic() > deadline:
                        return Fetched(None, f"{url} took over {self._timeout_s:.0f} s", down=True)
        except RequestException as err:
            return Fetched(None, f"{url} did not answer ({type(err).__name__})", down=True)
        return _certificate(url, body)


def _certificate(url: str, body: bytes) -> Fetched:
    try:
        if body.lstrip().startswith(b"-----BEGIN"):
            return Fetched(load_certificate(x509.load_pem_x509_certificate(body).public_bytes(Encoding.DER)))
        return Fetched(load_certificate(body))
    except READ_ERRORS:
        return Fetched(None, f"{url} did not send a certificate")

