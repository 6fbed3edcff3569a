"""A local Entra ID: OpenID configurations, a JWKS, and RS256 managed-identity tokens.

Entra issues managed-identity tokens as v1 tokens (iss `https://sts.windows.net/<tenant>/`)
unless the target app asks for v2 (iss `<authority>/<tenant>/v2.0`). We serve both OpenID
configurations at the real paths, so a verifier discovers the keys and both issuers the way
it would at login.microsoftonline.com. `mint()` also makes the bad tokens tests need: forged
(a key that is not published), unknown kid, expired, wrong audience or issuer, alg none/HS256.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from functools import lru_cache

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from sim.http import HttpError, Request, Response, Server
from sim.vm import Identity

ARM_AUDIENCES = ("https://management.azure.com/", "https://management.azure.com", "https://management.core.windows.net/")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@lru_cache(maxsize=2)
def _cached_key(slot: str) -> rsa.RSAPrivateKey:
    """RSA keys are slow to make: one signing and one rogue key per process."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class SigningKey:
    def __init__(self, key: rsa.RSAPrivateKey):
        self.key = key
        der = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.kid = _b64(hashlib.sha1(der).digest())  # like Entra's kid/x5t: a thumbprint

    def jwk(self) -> dict:
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {**jwk, "use": "sig", "kid": self.kid, "x5t": self.kid}


class Idp:
    def __init__(self, tenant: str, tls):
        self.tenant = tenant
        self.keys = [SigningKey(_cached_key("signing"))]  # newest first; all are published
        self.rogue = SigningKey(_cached_key("rogue"))  # never published
        t = r"/(?P<tenant>[^/]+)"
        self.server = Server([
            ("GET", t + r"/v2\.0/\.well-known/openid-configuration", lambda r: self._config(r, v2=True)),
            ("GET", t + r"/\.well-known/openid-configuration", lambda r: self._config(r, v2=False)),
            ("GET", t + r"/discovery/(v2\.0/)?keys", self._jwks),
        ], tls=tls.server_context())

    @property
    def issuer_v1(self) -> str:
        return f"https://sts.windows.net/{self.tenant}/"

    @property
    def issuer_v2(self) -> str:
        return f"{self.server.url}/{self.tenant}/v2.0"

    def _tenant(self, req: Request) -> None:
        if req.params["tenant"] not in (self.tenant, "common", "organizations"):
            raise HttpError(400, {"error": "invalid_tenant", "error_description": "AADSTS90002: Tenant not found."})

    def _config(self, req: Request, v2: bool) -> Response:
        self._tenant(req)
        base = f"{self.server.url}/{self.tenant}"
        return Response(200, {
            "issuer": self.issuer_v2 if v2 else self.issuer_v1,
            "jwks_uri": f"{base}/discovery/v2.0/keys" if v2 else f"{base}/discovery/keys",
            "authorization_endpoint": f"{base}/oauth2{'/v2.0' if v2 else ''}/authorize",
            "token_endpoint": f"{base}/oauth2{'/v2.0' if v2 else ''}/token",
            "id_token_signing_alg_values_supported": ["RS256"], "response_types_supported": ["code", "id_token"],
            "subject_types_supported": ["pairwise"], "tenant_region_scope": "EU",
        })

    def _jwks(self, req: Request) -> Response:
        self._tenant(req)
        return Response(200, {"keys": [k.jwk() for k in self.keys]})

    def rotate(self) -> str:
        """A new signing key (published first); the old ones stay published. Returns its kid."""
        self.keys.insert(0, SigningKey(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
        return self.keys[0].kid

    def claims(self, identity: Identity, audience: str, *, now: float | None = None, lifetime: int = 3600,
               version: str = "1.0") -> dict:
        now = int(now if now is not None else time.time())
        issuer = self.issuer_v1 if version == "1.0" else self.issuer_v2
        claims = {"aud": audience, "iss": issuer, "iat": now, "nbf": now, "exp": now + lifetime,
                  "aio": _b64(uuid.uuid4().bytes), "idp": self.issuer_v1, "idtyp": "app",
                  "oid": identity.principal_id, "sub": identity.principal_id, "tid": self.tenant,
                  "uti": _b64(uuid.uuid4().bytes), "ver": version, "xms_mirid": identity.resource_id}
        app = {"appid": identity.client_id, "appidacr": "2"} if version == "1.0" else {
            "azp": identity.client_id, "azpacr": "2"}
        return {**claims, **app}

    def mint(self, identity: Identity, audience: str, *, forged: bool = False, kid: str | None = None,
             alg: str = "RS256", **claim_args) -> str:
        """A token for `identity`; override claims with `extra={...}` (e.g. iss, exp)."""
        extra = claim_args.pop("extra", {})
        claims = {**self.claims(identity, audience, **claim_args), **extra}
        key = self.rogue if forged else self.keys[0]
        headers = {"kid": kid or self.keys[0].kid, "x5t": kid or self.keys[0].kid}
        if alg == "none":
            head = {"typ": "JWT", "alg": "none", **headers}
            return f"{_b64(json.dumps(head).encode())}.{_b64(json.dumps(claims).encode())}."
        if alg == "HS256":  # the classic confusion attack: HMAC keyed with the public key
            secret = key.key.public_key().public_bytes(serialization.Encoding.PEM,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo)
            return _hmac_token(claims, headers, secret)
        return jwt.encode(claims, key.key, algorithm="RS256", headers=headers)

    def accepts(self, token: str, audiences=ARM_AUDIENCES) -> bool:
        """Whether ARM would take this token: ours, unexpired, for ARM."""
        for key in self.keys:
            try:
                jwt.decode(token, key.key.public_key(), algorithms=["RS256"], audience=list(audiences),
                           issuer=[self.issuer_v1, self.issuer_v2])
                return True
            except jwt.PyJWTError:
                continue
        return False


def _hmac_token(claims: dict, headers: dict, secret: bytes) -> str:
    head = _b64(json.dumps({"typ": "JWT", "alg": "HS256", **headers}).encode())
    body = _b64(json.dumps(claims).encode())
    sig = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(sig)}"
