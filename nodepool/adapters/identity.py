"""Verifies callers' managed-identity JWTs (PyJWT): the `IdentityVerifier` port.

Signing keys come from the tenant's JWKS, found through its OpenID configurations: v2.0 gives
the key set and the v2 issuer, v1 the `sts.windows.net` issuer that managed-identity tokens
usually carry. Keys are cached; an unknown kid triggers a refresh at most once per
`min_refresh_s`, so made-up kids cannot make us hammer the IdP. Only RS256 is accepted, with
a small clock skew. A valid token of an identity the settings do not allow for the role is
Forbidden. Tokens are never logged or echoed.
"""
from __future__ import annotations

import threading
import time

import jwt
import requests

from nodepool.adapters.http_session import EnvironmentOnceSession
from nodepool.core.errors import Forbidden, Unauthenticated, Unavailable
from nodepool.core.logs import logger
from nodepool.core.model import Caller, Role
from nodepool.settings import InvalidSettings, Settings

SKEW_S = 60
REASONS = (  # most specific first: InvalidSignatureError is a DecodeError, and so on
    (jwt.ExpiredSignatureError, "token_expired", "token has expired"),
    (jwt.ImmatureSignatureError, "token_not_yet_valid", "token is not valid yet"),
    (jwt.InvalidAudienceError, "token_wrong_audience", "token is for another audience"),
    (jwt.InvalidIssuerError, "token_wrong_issuer", "token is from another issuer"),
    (jwt.InvalidSignatureError, "token_invalid_signature", "token signature is invalid"),
    (jwt.MissingRequiredClaimError, "token_missing_claim", "token lacks a required claim"),
    (jwt.InvalidAlgorithmError, "token_wrong_algorithm", "token algorithm is not RS256"),
    (jwt.DecodeError, "token_malformed", "token is not a valid JWT"),
    (jwt.PyJWTError, "token_invalid", "token is invalid"),
)

log = logger(__name__)


class Keys:
    """The issuer's signing keys and issuers, discovered once and refreshed sparingly."""

    def __init__(self, authority: str, tenant: str, verify: str | bool = True, *, min_refresh_s: float = 60.0,
                 retry_s: float = 5.0, timeout_s: float = 5.0):
        self._base = f"{authority.rstrip('/')}/{tenant}"
        self._verify, self._timeout = verify, timeout_s
        self._min_refresh_s, self._retry_s = min_refresh_s, retry_s
        self._keys: dict[str, jwt.PyJWK] = {}
        self.issuers: list[str] = []
        self._loaded_at = self._tried_at = float("-inf")
        self._lock = threading.Lock()
        self._http = EnvironmentOnceSession()

    def get(self, kid: str) -> jwt.PyJWK | None:
        if kid not in self._keys:
            self.refresh()
        return self._keys.get(kid)

    def refresh(self) -> None:
        """Reload, unless we did within min_refresh_s (or failed within retry_s)."""
        with self._lock:
            now = time.monotonic()
            if now - self._loaded_at < self._min_refresh_s or now - self._tried_at < self._retry_s:
                if not self._keys:
                    raise Unavailable("identity provider keys unavailable", code="idp_unavailable")
                return
            self._tried_at = now
            try:
                v2 = self._json(f"{self._base}/v2.0/.well-known/openid-configuration")
                v1 = self._json(f"{self._base}/.well-known/openid-configuration")
                jwks = self._json(v2["jwks_uri"])
                keys = {k["kid"]: jwt.PyJWK(k, algorithm="RS256") for k in jwks["keys"]
                        if k.get("kty") == "RSA" and k.get("kid") and k.get("use", "sig") == "sig"}
            except (requests.RequestException, ValueError, KeyError, TypeError, jwt.PyJWTError) as err:
                if not self._keys:
                    raise Unavailable("identity provider unreachable", code="idp_unavailable") from err
                # keep the keys we have: a key rotated meanwhile refuses its tokens (401) until a refresh works
                log.warning("identity provider keys not refreshed; the keys loaded before stay in use",
                            extra={"error": type(err).__name__, "keys": len(self._keys)})
                return
            self._keys, self.issuers, self._loaded_at = keys, [v2["issuer"], v1["issuer"]], now

    def _json(self, url: str) -> dict:
        response = self._http.get(url, timeout=self._timeout, verify=self._verify)
        response.raise_for_status()
        return response.json()


class JwtVerifier:
    def __init__(self, settings: Settings, keys: Keys | None = None):
        if not settings.tenant_id:
            raise InvalidSettings("NODEPOOL_TENANT_ID is needed to verify callers")
        self._audience = settings.audience
        self._allowed = {Role.AGENT: settings.agent_identity, Role.MASTER: settings.master_identity}
        self._keys = keys or Keys(settings.authority, settings.tenant_id, settings.ca_bundle or True)

    def verify(self, authorization: str | None, role: Role) -> Caller:
        token = _bearer(authorization)
        claims = self._claims(token)
        principal, resource_id = str(claims.get("oid", "")), str(claims.get("xms_mirid", ""))
        allowed = (self._allowed.get(role) or "").strip()
        if not allowed or allowed.lower() not in (principal.lower(), resource_id.lower()):
            raise Forbidden(f"this identity may not call as {role.value}", code="identity_not_allowed")
        return Caller(role, principal, resource_id)

    def _claims(self, token: str) -> dict:
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != "RS256":
                raise jwt.InvalidAlgorithmError("alg")
            key = self._keys.get(str(header.get("kid", "")))
            if key is None:
                raise jwt.InvalidSignatureError("unknown kid")
            return jwt.decode(token, key, algorithms=["RS256"], audience=self._audience, issuer=self._keys.issuers,
                              leeway=SKEW_S, options={"require": ["exp", "nbf", "iss", "aud", "oid"]})
        except jwt.PyJWTError as err:
            code, message = next((c, msg) for kind, c, msg in REASONS if isinstance(err, kind))
            raise Unauthenticated(message, code=code) from None  # no chained detail: it could quote the token


def _bearer(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("a Bearer token is required", code="token_missing")
    return token.strip()
