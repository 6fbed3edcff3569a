"""One `requests` session shape for every client the app builds (storage, Kubernetes, signing keys).

With `trust_env`, requests scans the whole environment for proxy variables, reads the CA-bundle
variables and stats ~/.netrc on every call: in a mass eviction that was an eighth of the dev
host's CPU. The environment does not change under a running worker, so this session reads it once
per scheme and host (the CA bundle once) and then behaves as requests would with it: a proxy (NO_PROXY honoured) or
REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE still apply. Never ~/.netrc: every client here sets its own
Authorization, and a netrc login sent to storage or the API server would only leak.
"""
from __future__ import annotations

import os
import threading
from urllib.parse import urlsplit

from requests import Session
from requests.adapters import HTTPAdapter
from requests.utils import get_environ_proxies

CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


class EnvironmentOnceSession(Session):
    def __init__(self, adapter: HTTPAdapter | None = None):
        super().__init__()
        self.trust_env = False  # requests' per-call reading; done here, once per host
        self._hosts: dict[tuple[str, str], dict[str, str]] = {}
        self._ca_bundle = next((os.environ[v] for v in CA_BUNDLE_VARIABLES if os.environ.get(v)), None)
        self._lock = threading.Lock()
        if adapter is not None:
            for scheme in ("http://", "https://"):
                self.mount(scheme, adapter)

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        parts = urlsplit(url)
        host = (parts.scheme, parts.netloc)
        with self._lock:
            if host not in self._hosts:
                self._hosts[host] = get_environ_proxies(url)
            from_env = self._hosts[host]
        if verify is True or verify is None:
            verify = self._ca_bundle or True  # what requests would take from the environment
        return super().merge_environment_settings(url, {**from_env, **(proxies or {})}, stream, verify, cert)
