"""Client of our control-plane API (Azure Functions, route prefix /api).

Every call carries the function key (`x-functions-key`) and this VM's managed-identity JWT
(`Authorization: Bearer`); calls about this node (leave, events, status) also carry the node
credential from its attested join (`X-Node-Credential`). The key comes from the environment, a
file, or a Key Vault secret read with the same identity, so nothing secret is ever written into
customData.
"""
from __future__ import annotations

import urllib.parse
from typing import Any, Callable

from agent import httpjson
from agent.backoff import GaveUp
from agent.credential import HEADER, NodeCredential
from agent.httpjson import Reply, Unreachable
from agent.imds import ImdsError, TokenSource
from agent.log import Redactor

KEY_VAULT_RESOURCE = "https://vault.azure.net"
KEY_VAULT_API = "7.4"


class FunctionKey:
    """The function key, resolved lazily: literal value, else file, else Key Vault secret URI."""

    def __init__(self, redactor: Redactor, tokens: TokenSource | None = None, literal: str = "",
                 path: str = "", uri: str = "", http: Callable[..., Reply] = httpjson.call):
        self.redactor, self.tokens, self.literal, self.path, self.uri, self.http = (
            redactor, tokens, literal, path, uri, http)
        self._value: str | None = None
        redactor.add(literal)

    def get(self, timeout: float = 5.0) -> str:
        if self._value is None:
            self._value = self._resolve(timeout)
            self.redactor.add(self._value)
        return self._value

    def forget(self) -> None:
        self._value = None

    def _resolve(self, timeout: float) -> str:
        if self.literal:
            return self.literal
        if self.path:
            with open(self.path, encoding="utf-8") as handle:
                return handle.read().strip()
        if self.uri and self.tokens is not None:
            token = self.tokens.get(KEY_VAULT_RESOURCE)
            url = "%s?%s" % (self.uri.rstrip("/"), urllib.parse.urlencode({"api-version": KEY_VAULT_API}))
            reply = self.http("GET", url, headers={"Authorization": "Bearer " + token}, timeout=timeout)
            if not reply.ok:
                raise Unreachable("function key from Key Vault: %s" % reply.error())
            data = reply.data()
            value = data.get("value") if isinstance(data, dict) else None
            if not isinstance(value, str) or not value:
                raise Unreachable("function key from Key Vault: the secret has no value")
            return value.strip()
        return ""


class Api:
    def __init__(self, base_url: str, tokens: TokenSource, audience: str, key: FunctionKey,
                 timeout: float = 5.0, http: Callable[..., Reply] = httpjson.call,
                 credential: NodeCredential | None = None):
        self.base_url, self.tokens, self.audience, self.key = base_url.rstrip("/"), tokens, audience, key
        self.timeout, self.http, self.credential = timeout, http, credential

    def warm(self, timeout: float | None = None) -> None:
        """Fetch (and cache) the identity token and the function key now, ahead of the first call."""
        self._credentials(self.timeout if timeout is None else timeout)

    def _credentials(self, timeout: float) -> tuple[str, str]:
        try:
            return self.tokens.get(self.audience), self.key.get(timeout)
        except (GaveUp, ImdsError, OSError, ValueError) as err:
            raise Unreachable("credentials for the API: %s" % err) from None

    def request(self, method: str, path: str, body: Any = None, timeout: float | None = None,
                node: bool = False) -> Reply:
        """One call; identity or key failures surface as Unreachable (transient for the caller)."""
        timeout = self.timeout if timeout is None else timeout
        token, key = self._credentials(timeout)
        headers = {"Authorization": "Bearer " + token, "Accept": "application/json"}
        if key:
            headers["x-functions-key"] = key
        if node and self.credential is not None:
            try:
                credential = self.credential.get()
            except OSError as err:
                raise Unreachable("node credential: %s" % err) from None
            if credential:
                headers[HEADER] = credential
        reply = self.http(method, self.base_url + path, headers=headers, body=body, timeout=timeout)
        if reply.status == 401:  # rotated key or token: fetch both afresh next time
            self.tokens.forget(self.audience)
            self.key.forget()
        return reply

    def nonce(self, hostname: str, timeout: float | None = None) -> Reply:
        """A single-use nonce for this host's attested join: {"nonce": 32 hex, "expires_at": ISO time}."""
        return self.request("POST", "/join/nonce", {"hostname": hostname}, timeout)

    def join(self, hostname: str, vm_id: str = "", fresh: bool = False, timeout: float | None = None,
             attested: dict | None = None) -> Reply:
        """`fresh`: this OS disk has no k3s node password yet (new VM or reimaged disk), so the control
        plane removes a stale Node and its `<node>.node-password.k3s` secret, which k3s would hold
        against the new password. `attested`: IMDS's attested document for a nonce from `nonce()`."""
        body: dict = {"hostname": hostname, "fresh": bool(fresh)}
        if vm_id:
            body["vm_id"] = vm_id
        if attested:
            body["attested"] = attested
        return self.request("POST", "/join", body, timeout)

    def leave(self, hostname: str, timeout: float | None = None) -> Reply:
        return self.request("POST", "/leave", {"hostname": hostname}, timeout, node=True)

    def events(self, hostname: str, document: dict, withdrawn: list[str] | None = None,
               timeout: float | None = None) -> Reply:
        """`withdrawn`: EventIds of ours Azure cancelled before they started (they left the document)."""
        body: dict = {"hostname": hostname, "document": document}
        if withdrawn:
            body["withdrawn"] = list(withdrawn)
        return self.request("POST", "/events", body, timeout, node=True)

    def node(self, name: str, timeout: float | None = None) -> Reply:
        return self.request("GET", "/nodes/" + urllib.parse.quote(name, safe=""), None, timeout, node=True)

    def cluster_nonce(self, timeout: float | None = None) -> Reply:
        """A single-use nonce for the master's attested registration."""
        return self.request("POST", "/cluster/nonce", {}, timeout)

    def cluster(self, registration: dict, timeout: float | None = None) -> Reply:
        return self.request("POST", "/cluster", registration, timeout)
