"""`python3 tasks.py status`: fetch GET /api/status (and GET /api/audit where the app has it).

Where the app is: --url/--key, else NODEPOOL_API_URL and NODEPOOL_OPERATOR_KEY, else the local stack's
.run/api-url and .run/master-key, written by `serve` and `demo`. The operator routes are admin level:
the key is the app's master key (`az functionapp keys list -g GROUP -n APP --query masterKey`; the
agents' function key does not open them). It is sent as x-functions-key and never printed.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / ".run"


class StatusError(Exception):
    """One line for the operator: what is missing or what the app answered."""


@dataclass(frozen=True)
class Endpoint:
    url: str  # ending in /api
    key: str
    local: bool = False  # found in .run/api-url: the local stack's, which may have stopped since

    @classmethod
    def find(cls, url: str = "", key: str = "", run: Path = RUN) -> Endpoint:
        given = url or os.environ.get("NODEPOOL_API_URL", "")
        url = given or _read(run / "api-url")
        key = key or os.environ.get("NODEPOOL_OPERATOR_KEY", "") or _read(run / "master-key")
        if not url:
            raise StatusError("no app to ask: start one with `python3 tasks.py serve` (or demo), or pass "
                              "--url https://APP.azurewebsites.net/api and --key "
                              "(or NODEPOOL_API_URL, NODEPOOL_OPERATOR_KEY)")
        if not key:
            raise StatusError(f"no operator key for {url}: pass --key or set NODEPOOL_OPERATOR_KEY (the app's "
                              "master key: az functionapp keys list -g GROUP -n APP --query masterKey)")
        return cls(url.rstrip("/"), key, local=not given)

    def get(self, path: str) -> requests.Response:
        try:
            return requests.get(f"{self.url}/{path}", headers={"x-functions-key": self.key}, timeout=30)
        except requests.RequestException as err:
            hint = ("the local stack that wrote .run/api-url has stopped? start `python3 tasks.py serve`"
                    if self.local else "is the app running?")
            raise StatusError(f"{self.url} is not answering ({type(err).__name__}); {hint}") from err


def fetch(endpoint: Endpoint, audit_limit: int = 10) -> dict:
    """GET /api/status, plus the newest audit rows; a part the app does not serve is said, not faked."""
    answer = endpoint.get("status")
    if answer.status_code == 404:
        raise StatusError(f"{endpoint.url}/status: 404 — this app predates GET /api/status; publish the current one")
    if answer.status_code != 200:
        raise StatusError(f"{endpoint.url}/status: {answer.status_code} {_error(answer)}")
    status = answer.json()
    audit = endpoint.get(f"audit?limit={audit_limit}")
    if audit.status_code == 200:
        body = audit.json()
        status["audit"] = body.get("entries", []) if isinstance(body, dict) else body
    else:
        status["audit"] = {"unavailable": f"GET /api/audit: {audit.status_code}"
                                          + (" (no audit trail in this app)" if audit.status_code == 404 else "")}
    return status


def _read(path: Path) -> str:
    return path.read_text().strip() if path.is_file() else ""


def _error(answer: requests.Response) -> str:
    try:
        body = answer.json()
        return f"{body.get('error')}: {body.get('message')}"
    except ValueError:
        return answer.text[:200]
