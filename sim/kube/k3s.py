"""What the k3s server's supervisor does when an agent starts: token, node password, Node.

Matched against the k3s source (k3s-io/k3s):
- Tokens (pkg/clientaccess/token.go `parseToken`): `K10<ca-hash>::<creds>` or the bare creds;
  creds are a bootstrap token `<id>.<secret>` ([a-z0-9]{6}.[a-z0-9]{16}) or `<user>:<password>`
  (`server:<secret>`; the agent replaces the user with "node", so only the password counts); the CA hash
  is the hex SHA-256 of the cluster CA PEM (a single-certificate bundle is hashed as is); an
  empty hash skips the check, a wrong one refuses ("token CA hash does not match").
- Bootstrap tokens (`k3s token create`, pkg/cli/token + pkg/kubeadm/utils.go
  `BootstrapTokenToSecret`): secret `bootstrap-token-<id>` in kube-system, type
  `bootstrap.kubernetes.io/token`, data token-id, token-secret, expiration (RFC 3339 UTC),
  description, `usage-bootstrap-<usage>: "true"` for signing and authentication, and
  auth-extra-groups `system:bootstrappers:k3s:default-node-token`. The API server's bootstrap
  authenticator accepts it while unexpired, not being deleted, with usage-bootstrap-authentication.
- Node passwords (pkg/nodepassword): secret `<node>.node-password.k3s` in kube-system, type
  `k3s.cattle.io/node-password`, immutable, data `hash` in k3s's scrypt format
  `$1:<salt hex>:<log2 N>:<r>:<p>:<base64 raw key>` (N=15, r=8, p=1, 64-byte key); created on
  first join, verified after; a mismatch is refused and the agent logs "Node password
  rejected, duplicate hostname ...". Once the Node exists the secret gets an ownerReference
  to it, so the garbage collector deletes it with the Node.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import re
import secrets

from sim.kube.wire import ApiError

BOOTSTRAP_TYPE = "bootstrap.kubernetes.io/token"
NODE_PASSWORD_TYPE = "k3s.cattle.io/node-password"
NODE_GROUP = "system:bootstrappers:k3s:default-node-token"
PASSWORD_REJECTED = ("Node password rejected, duplicate hostname or contents of '/etc/rancher/node/password' may "
                     "not match server node-passwd entry, try enabling a unique node name with the --with-node-id flag")
_BOOTSTRAP = re.compile(r"^([a-z0-9]{6})\.([a-z0-9]{16})$")
_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"


class JoinRefused(Exception):
    """The supervisor refused the agent; `reason` is token_invalid | token_expired | node_labels_forbidden |
    ca_hash_mismatch | node_password_rejected."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def ca_hash(ca_pem: bytes) -> str:
    return hashlib.sha256(ca_pem).hexdigest()


def parse_token(token: str) -> tuple[str, tuple[str, str] | None, str, str]:
    """(ca hash, bootstrap (id, secret) or None, username, password), like k3s parseToken."""
    if not token:
        raise JoinRefused("token_invalid", "token must not be empty")
    if not token.startswith("K10"):
        token = ("K10::" if _BOOTSTRAP.match(token) else "K10:::") + token
    digest, _, creds = token[3:].partition("::")
    if digest and len(digest) != 64:
        raise JoinRefused("token_invalid", "invalid token CA hash length")
    if m := _BOOTSTRAP.match(creds):
        return digest, (m.group(1), m.group(2)), "", ""
    user, sep, password = creds.partition(":")
    if not sep or not password:
        raise JoinRefused("token_invalid", "invalid token format")
    return digest, None, user, password


def check_token(token: str, cluster_ca_hash: str, server_secret: str) -> tuple[str, str] | None:
    """The supervisor's first look at an agent's token: JoinRefused for a wrong CA hash or server secret;
    a bootstrap token's (id, secret) for the API server's authenticator to judge; None for the server's."""
    digest, bootstrap, _, password = parse_token(token)
    if digest and digest != cluster_ca_hash:
        raise JoinRefused("ca_hash_mismatch", f"token CA hash does not match the Cluster CA certificate hash: "
                                              f"{digest} != {cluster_ca_hash}")
    if bootstrap is None and not hmac.compare_digest(password, server_secret):  # sent as user "node"
        raise JoinRefused("token_invalid", "401 Unauthorized: token is not the cluster's server or agent token")
    return bootstrap


def bootstrap_secret(ttl_s: float | None, now: float, description: str = "",
                     token_id: str | None = None) -> tuple[str, dict]:
    """The token `<id>.<secret>` and the Secret body `k3s token create --ttl` writes."""
    token_id = token_id or "".join(secrets.choice(_ALNUM) for _ in range(6))
    secret = "".join(secrets.choice(_ALNUM) for _ in range(16))
    data = {"token-id": token_id, "token-secret": secret, "usage-bootstrap-authentication": "true",
            "usage-bootstrap-signing": "true", "auth-extra-groups": NODE_GROUP}
    if description:
        data["description"] = description
    if ttl_s:
        expires = dt.datetime.fromtimestamp(now + ttl_s, dt.timezone.utc)
        data["expiration"] = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {"metadata": {"name": f"bootstrap-token-{token_id}", "namespace": "kube-system"},
            "type": BOOTSTRAP_TYPE, "stringData": data}
    return f"{token_id}.{secret}", body


def check_bootstrap(secret: dict | None, token_id: str, token_secret: str, now: float) -> None:
    """The API server's bootstrap-token authenticator; raises JoinRefused when it says no."""
    def data(key: str) -> str:
        return base64.b64decode(secret["data"].get(key, "")).decode()
    if secret is None or secret.get("type") != BOOTSTRAP_TYPE or secret["metadata"].get("deletionTimestamp"):
        raise JoinRefused("token_invalid", "401 Unauthorized: no bootstrap token secret for this token id")
    if data("token-id") != token_id or not hmac.compare_digest(data("token-secret"), token_secret):
        raise JoinRefused("token_invalid", "401 Unauthorized: bootstrap token secret does not match")
    if data("usage-bootstrap-authentication") != "true":
        raise JoinRefused("token_invalid", "401 Unauthorized: bootstrap token is not for authentication")
    expiration = data("expiration")
    if expiration and dt.datetime.fromisoformat(expiration.replace("Z", "+00:00")).timestamp() <= now:
        raise JoinRefused("token_expired", f"401 Unauthorized: bootstrap token expired at {expiration}")


# The labels a kubelet may give its own Node (k8s.io/kubelet/pkg/apis/well_known_labels.go): any outside the
# kubernetes.io and k8s.io namespaces, these, and any under these prefixes. It refuses to start with
# another (and NodeRestriction would refuse the Node), so a role label is the control plane's to set.
KUBELET_LABELS = {"kubernetes.io/hostname", "kubernetes.io/arch", "kubernetes.io/os", "beta.kubernetes.io/arch",
                  "beta.kubernetes.io/os", "beta.kubernetes.io/instance-type", "node.kubernetes.io/instance-type",
                  "failure-domain.beta.kubernetes.io/region", "failure-domain.beta.kubernetes.io/zone",
                  "topology.kubernetes.io/region", "topology.kubernetes.io/zone"}
KUBELET_LABEL_PREFIXES = ("kubelet.kubernetes.io/", "node.kubernetes.io/")


def check_node_labels(labels) -> None:
    """JoinRefused, as the k3s agent's kubelet fails to start, for a label it may not set itself."""
    def reserved(key: str) -> bool:
        namespace = key.rpartition("/")[0]
        return any(namespace == ns or namespace.endswith("." + ns) for ns in ("kubernetes.io", "k8s.io"))
    refused = sorted(key for key in labels if reserved(key) and key not in KUBELET_LABELS
                     and not key.startswith(KUBELET_LABEL_PREFIXES))
    if refused:
        raise JoinRefused("node_labels_forbidden", f"unknown 'kubernetes.io' or 'k8s.io' labels specified with "
                                                   f"--node-labels: {refused}")


def hash_password(password: str, log_n: int = 15) -> str:
    salt = os.urandom(8)
    key = hashlib.scrypt(password.encode(), salt=salt, n=1 << log_n, r=8, p=1, dklen=64, maxmem=1 << 28)
    return f"$1:{salt.hex()}:{log_n}:8:1:{base64.b64encode(key).decode().rstrip('=')}"


def verify_password(stored: str, password: str) -> bool:
    try:
        version, salt, log_n, r, p, enc = stored.lstrip("$").split(":")
        key = base64.b64decode(enc + "=" * (-len(enc) % 4))
        if version != "1":
            return False
        got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=1 << int(log_n), r=int(r), p=int(p),
                             dklen=len(key), maxmem=1 << 28)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, key)


def parse_taint(taint) -> dict:
    """A taint as a dict, or in k3s's `--node-taint key=value:Effect` form."""
    if isinstance(taint, dict):
        return {k: v for k, v in taint.items() if v not in (None, "")} | {"key": taint["key"]}
    if hasattr(taint, "key"):
        return parse_taint({"key": taint.key, "value": taint.value, "effect": taint.effect})
    head, _, effect = str(taint).rpartition(":")
    key, _, value = head.partition("=")
    if not key or effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
        raise ApiError(422, "Invalid", f"invalid taint {taint!r}")
    return {"key": key, "value": value, "effect": effect} if value else {"key": key, "effect": effect}
