"""HTTP plumbing for the Kubernetes adapter: one `requests` session, the cluster's CA,
timeouts on every call, paged lists, and the one mapping from API answers to our errors.

`verify` is passed on every request: a Session's own `verify` loses to REQUESTS_CA_BUNDLE
in the environment. The bearer token lives only in a request header: never in a message,
a log line or a repr.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from nodepool.adapters.http_session import EnvironmentOnceSession
from nodepool.core.errors import AlreadyExists, Conflict, InvalidInput, NodepoolError, NotFound, Throttled, Unavailable
from nodepool.core.limits import KUBE_CONNECT_S, KUBE_READ_S, Pools


class BudgetRefused(Throttled):
    """The eviction subresource's "not now" for a PodDisruptionBudget: 429 with a DisruptionBudget
    cause, or 403 Forbidden on the PDB itself (its disruptionsAllowed negative, or its DisruptedPods
    map too big: kubernetes pkg/registry/core/pod/storage/eviction.go). Neither is about credentials."""


def budget_forbidden(status: dict) -> bool:
    """A 403 that names a PodDisruptionBudget (errors.NewForbidden(policy "poddisruptionbudget", ...))."""
    details = status.get("details")
    if not isinstance(details, dict):
        return False
    return details.get("group") == "policy" and details.get("kind") in ("poddisruptionbudget", "poddisruptionbudgets")


def ca_bundle(ca: str | None) -> str | bool:
    """A CA given as PEM text is written once to a file named by its hash (requests wants a path)."""
    if not ca:
        return True
    if "-----BEGIN" not in ca:
        return ca
    path = os.path.join(tempfile.gettempdir(), f"nodepool-kube-ca-{hashlib.sha256(ca.encode()).hexdigest()[:16]}.pem")
    if not os.path.exists(path):
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path))
        with os.fdopen(fd, "w") as f:
            f.write(ca)
        os.replace(tmp, path)
    return path


def api_error(what: str, response: requests.Response) -> NodepoolError:
    try:
        status = response.json()
    except ValueError:
        status = {}
    status = status if isinstance(status, dict) else {}
    code, reason = response.status_code, status.get("reason", "")
    detail = f"{what}: Kubernetes API answered {code} {reason}: {str(status.get('message', ''))[:300]}".rstrip(": ")
    if code == 403 and budget_forbidden(status):
        return BudgetRefused(detail)
    if code in (401, 403):
        return Unavailable(f"{what}: the Kubernetes API refused the control plane's credential ({code}); "
                           "the cluster registration needs a valid token", code="kube_credentials")
    if code == 404:
        return NotFound(detail)
    if code == 409:
        return AlreadyExists(detail) if reason == "AlreadyExists" else Conflict(detail)
    if code == 429:
        retry = response.headers.get("Retry-After")
        causes = (status.get("details") or {}).get("causes") or ()
        kind = BudgetRefused if any(c.get("reason") == "DisruptionBudget" for c in causes) else Throttled
        return kind(detail, retry_after=float(retry) if retry and retry.isdigit() else None)
    if code >= 500 or code == 410:  # 410: an expired continue token; list again
        return Unavailable(detail)
    return InvalidInput(detail, code="kube_rejected")


class KubeHttp:
    def __init__(self, server: str, token: str, ca: str | None = None, *, connect_timeout: float = KUBE_CONNECT_S,
                 read_timeout: float = KUBE_READ_S, page_size: int = 500, pool_size: int = Pools(0).kube_connections):
        self.server = server.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        self._verify = ca_bundle(ca)
        self._timeout = (connect_timeout, read_timeout)
        self._page_size = page_size
        retry = Retry(total=1, connect=1, read=False, redirect=0, status=0, other=0,  # one reconnect, no resend
                      respect_retry_after_header=False)
        self._session = EnvironmentOnceSession(HTTPAdapter(pool_maxsize=pool_size, max_retries=retry))

    def __repr__(self) -> str:
        return f"KubeHttp({self.server!r})"

    def close(self) -> None:
        """Release the connection pools. The CA file stays: it is named by the CA's hash, shared by every
        client of that cluster, one small file per CA ever registered."""
        self._session.close()

    def call(self, method: str, path: str, what: str, *, params: dict | None = None, body=None,
             content_type: str = "application/json"):
        headers = self._headers if body is None else {**self._headers, "Content-Type": content_type}
        try:
            response = self._session.request(method, self.server + path, params=params, headers=headers,
                                             json=body, timeout=self._timeout, verify=self._verify)
        except requests.Timeout as err:
            raise Unavailable(f"{what}: Kubernetes API timed out") from err
        except (requests.RequestException, OSError) as err:  # OSError: the CA file is missing
            raise Unavailable(f"{what}: Kubernetes API unreachable ({type(err).__name__})") from err
        if response.status_code >= 300:
            raise api_error(what, response)
        return response.json() if response.content else None

    def pages(self, path: str, what: str, params: dict, meta: dict | None = None) -> Iterator[dict]:
        """Every item of every page; `meta` (when given) gets the first page's list metadata: its
        resourceVersion is the whole list's (continue tokens keep one snapshot)."""
        cont = None
        while True:
            page = self.call("GET", path, what, params={**params, "limit": self._page_size,
                                                        **({"continue": cont} if cont else {})})
            if meta is not None and not cont:
                meta.update(page.get("metadata") or {})
            yield from page.get("items") or ()
            cont = (page.get("metadata") or {}).get("continue")
            if not cont:
                return
