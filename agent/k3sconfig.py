"""The k3s agent configuration written by `join` (pure rendering, plus one atomic write).

k3s reads /etc/rancher/k3s/config.yaml; JSON-quoted scalars are valid YAML, so we need no YAML
library. The kubelet refuses to start with labels in the kubernetes.io / k8s.io namespaces other
than a few it may set on itself (NodeRestriction), so such labels are dropped here and reported:
role labels like node-role.kubernetes.io/agent are set by the control plane, not by the node.
"""
from __future__ import annotations

import json
import os
import tempfile
from typing import Any, Iterable, Mapping

_RESTRICTED_DOMAINS = ("kubernetes.io", "k8s.io")
_SELF_LABEL_PREFIXES = ("kubelet.kubernetes.io/", "node.kubernetes.io/")
_SELF_LABEL_KEYS = frozenset({
    "kubernetes.io/hostname", "kubernetes.io/arch", "kubernetes.io/os",
    "beta.kubernetes.io/instance-type", "beta.kubernetes.io/arch", "beta.kubernetes.io/os",
    "failure-domain.beta.kubernetes.io/region", "failure-domain.beta.kubernetes.io/zone",
    "topology.kubernetes.io/region", "topology.kubernetes.io/zone",
})
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


class BadJoinResponse(ValueError):
    pass


def kubelet_may_set(label: str) -> bool:
    """Whether a kubelet may put this label on its own Node (`key=value` or bare key)."""
    key = label.split("=", 1)[0]
    domain = key.split("/", 1)[0] if "/" in key else ""
    if not any(domain == d or domain.endswith("." + d) for d in _RESTRICTED_DOMAINS):
        return True
    return key in _SELF_LABEL_KEYS or key.startswith(_SELF_LABEL_PREFIXES)


def labels(value: Any) -> list[str]:
    """`key=value` strings from a JSON object or a list of strings."""
    if isinstance(value, Mapping):
        return ["%s=%s" % (k, v) for k, v in value.items()]
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value if isinstance(item, str) and item.strip()]
    return []


def taints(value: Any) -> list[str]:
    """`key=value:Effect` strings from a list of strings or of {key, value, effect} objects."""
    out = []
    for item in value if isinstance(value, (list, tuple)) else []:
        if isinstance(item, Mapping) and item.get("key"):
            value_part = "=%s" % item["value"] if item.get("value") else ""
            out.append("%s%s:%s" % (item["key"], value_part, item.get("effect") or "NoSchedule"))
        elif isinstance(item, str) and item.strip():
            out.append(item.strip())
    return [t for t in out if t.rsplit(":", 1)[-1] in TAINT_EFFECTS]


def full_token(token: str, ca_hash: str) -> str:
    """k3s's secure token form K10<ca-hash>::<credential>, so the agent pins the server CA."""
    if token.startswith("K10") or not ca_hash:
        return token
    return "K10%s::%s" % (ca_hash, token)


def render(join: Mapping, node_name: str, extra_labels: Iterable[str] = ()) -> tuple[str, list[str]]:
    """(config.yaml text, labels dropped because the kubelet may not set them)."""
    server, token = join.get("server"), join.get("token")
    if not isinstance(server, str) or not server.startswith("https://"):
        raise BadJoinResponse("join response: 'server' must be an https URL")
    if not isinstance(token, str) or not token:
        raise BadJoinResponse("join response: no 'token'")
    wanted = labels(join.get("node_labels", join.get("labels"))) + [x for x in extra_labels if x]
    kept = [label for label in dict.fromkeys(wanted) if kubelet_may_set(label)]
    dropped = [label for label in dict.fromkeys(wanted) if not kubelet_may_set(label)]
    node_taints = list(dict.fromkeys(taints(join.get("node_taints", join.get("taints")))))
    lines = ["# Written by the nodepool agent at join; rewritten at every boot.",
             "server: %s" % json.dumps(server),
             "token: %s" % json.dumps(full_token(token, str(join.get("ca_hash") or ""))),
             "node-name: %s" % json.dumps(node_name)]
    for key, items in (("node-label", kept), ("node-taint", node_taints)):
        if items:
            lines.append("%s:" % key)
            lines.extend("  - %s" % json.dumps(item) for item in items)
    return "\n".join(lines) + "\n", dropped


def write_private(path: str, text: str) -> None:
    """Atomically replace `path` with `text`, readable by root only (it holds the join token)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, mode=0o755, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".nodepool-", dir=directory)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
