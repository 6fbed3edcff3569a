"""cloud-init for the master and the agents: the variable catalogue and rendering.

`tasks.py params` calls `render_cloud_init(role, params)` for "master" and "agent" and passes the
result as customData. Parameters are validated here (each against its pattern, so no value can
break out of the YAML, shell or unit file it lands in); the agent helper and the registry manifest
are derived values embedded as base64, so a node needs nothing from the repository at boot.
"""
from __future__ import annotations

import base64
import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from infra.render import TemplateError, render, variables

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = {"master": ROOT / "cloud-init" / "master.yml", "agent": ROOT / "cloud-init" / "agent.yml"}
CUSTOM_DATA_LIMIT = 65535  # bytes, after base64 decoding (osProfile.customData)

_BOOL = r"true|false"
_URL = r"https://[A-Za-z0-9._~:/?#@%=+-]+"  # nothing a shell or unit file would interpret
_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
_SECONDS = r"[1-9][0-9]{0,4}"
_KV = r"[A-Za-z0-9./_-]+=[A-Za-z0-9._-]*"


@dataclass(frozen=True)
class Variable:
    description: str
    pattern: str = r".+"
    default: str | None = None
    derived: bool = False


VARIABLES: dict[str, Variable] = {
    "TIMEZONE": Variable("tz database name, e.g. Europe/Lisbon", r"[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*", "Etc/UTC"),
    "PACKAGE_UPGRADE": Variable("upgrade packages at first boot and reboot if they need it", _BOOL, "true"),
    "MASTER_NAME": Variable("host name of the master VM", _LABEL, "master0"),
    "K3S_VERSION": Variable("pinned k3s release, e.g. v1.30.4+k3s1", r"v\d+\.\d+\.\d+\+k3s\d+"),
    "K3S_SHA256": Variable("SHA-256 of that release's k3s binary for K3S_ARCH", r"[0-9a-f]{64}"),
    "K3S_ARCH": Variable("node CPU architecture", r"amd64|arm64", "amd64"),
    "K3S_DOWNLOAD_URL": Variable("where k3s releases are fetched when /srv/k3s/VERSION/ has none", _URL,
                                 "https://github.com/k3s-io/k3s/releases/download"),
    "FUNCTION_APP_URL": Variable("the control plane, https://APP.azurewebsites.net (no /api)", _URL),
    "API_AUDIENCE": Variable("audience of the identity tokens the API verifies (NODEPOOL_AUDIENCE)",
                             _URL + r"|api://[A-Za-z0-9._/-]+", "api://nodepool"),
    "FUNCTION_KEY_SECRET_URI": Variable("Key Vault secret URI holding the function key (empty: no key)",
                                        r"(%s)?" % _URL, ""),
    "MASTER_IDENTITY_CLIENT_ID": Variable("client id of the master's user-assigned identity", _GUID),
    "AGENT_IDENTITY_CLIENT_ID": Variable("client id of the agents' user-assigned identity", _GUID),
    "STORAGE_ACCOUNT_ID": Variable("ARM id of the storage account holding the /srv share",
                                   r"/subscriptions/[0-9a-fA-F-]+/resourceGroups/[A-Za-z0-9._()-]+/providers/"
                                   r"Microsoft\.Storage/storageAccounts/[a-z0-9]{3,24}"),
    "STORAGE_SHARE": Variable("Azure Files share mounted at /srv", r"[a-z0-9](-?[a-z0-9]){2,62}"),
    "STORAGE_SUFFIX": Variable("storage DNS suffix of the cloud", r"[a-z0-9.-]+", "core.windows.net"),
    "ARM_ENDPOINT": Variable("Azure Resource Manager endpoint", _URL, "https://management.azure.com"),
    "SSH_PORT": Variable("TCP port sshd listens on (SSH_PORT; the NSG opens the same)",
                         r"[1-9][0-9]{0,4}", "22"),
    "PRIVATE_REGISTRY": Variable("run the /srv-backed registry on the master, MASTER_NAME:5000", _BOOL, "false"),
    "TAILSCALE": Variable("install Tailscale on the master (log in once with `sudo tailscale up`)", _BOOL, "false"),
    "NVIDIA": Variable("install NVIDIA drivers and container toolkit on agents", _BOOL, "false"),
    "AGENT_LABELS": Variable("extra node labels for agents, comma-separated key=value", r"(%s(,%s)*)?" % (_KV, _KV),
                             ""),
    "JOIN_TIMEOUT": Variable("seconds an agent keeps retrying /api/join per attempt", _SECONDS, "600"),
    "LEAVE_TIMEOUT": Variable("seconds an agent waits for its drain at shutdown", _SECONDS, "90"),
    # Derived: computed here, never passed in.
    "STORAGE_ACCOUNT": Variable("storage account name (from STORAGE_ACCOUNT_ID)", derived=True),
    "LEAVE_STOP_TIMEOUT": Variable("TimeoutStopSec of the leave unit: LEAVE_TIMEOUT + 30", derived=True),
    "AGENT_PYZ_B64": Variable("the agent helper as a zipapp, base64", derived=True),
    "REGISTRY_MANIFEST_B64": Variable("manifests/registry.yml, base64", derived=True),
}


def agent_zipapp() -> bytes:
    """agent/ as a runnable zipapp (`python3 agent.pyz COMMAND`); byte-for-byte reproducible."""
    buffer = io.BytesIO()
    buffer.write(b"#!/usr/bin/env python3\n")
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_DEFLATED) as archive:
        sources = sorted((ROOT / "agent").glob("*.py"))
        entries = [("__main__.py", b"from agent.cli import main\nimport sys\nsys.exit(main())\n")]
        entries += [("agent/" + path.name, path.read_bytes()) for path in sources]
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type, info.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
            archive.writestr(info, data, compresslevel=9)
    return buffer.getvalue()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def values(params: Mapping[str, str]) -> dict[str, str]:
    """Validated parameters + defaults + derived values; ValueError naming every bad one."""
    problems = []
    for name, value in params.items():
        spec = VARIABLES.get(name)
        if spec is None:
            problems.append("unknown variable %s" % name)
        elif spec.derived:
            problems.append("%s is derived, not a parameter" % name)
        elif not re.fullmatch(spec.pattern, str(value)):
            problems.append("%s: invalid value (%s; pattern %s)" % (name, spec.description, spec.pattern))
    if problems:
        raise TemplateError(problems)
    out = {name: spec.default for name, spec in VARIABLES.items() if spec.default is not None}
    out.update({name: str(value) for name, value in params.items()})
    if "STORAGE_ACCOUNT_ID" in out:
        out["STORAGE_ACCOUNT"] = out["STORAGE_ACCOUNT_ID"].rstrip("/").rsplit("/", 1)[-1]
    out["LEAVE_STOP_TIMEOUT"] = str(int(out["LEAVE_TIMEOUT"]) + 30)
    out["AGENT_PYZ_B64"] = _b64(agent_zipapp())
    out["REGISTRY_MANIFEST_B64"] = _b64((ROOT / "manifests" / "registry.yml").read_bytes())
    return out


def required(role: str) -> list[str]:
    """Parameters the role's template needs that have no default."""
    used = variables(TEMPLATES[role].read_text())
    return [n for n in used if VARIABLES.get(n) and not VARIABLES[n].derived and VARIABLES[n].default is None]


def render_cloud_init(role: str, params: Mapping[str, str]) -> str:
    """customData for `role` ("master" or "agent"); TemplateError names every problem."""
    path = TEMPLATES[role]
    problems = ["%s: missing parameter %s (%s)" % (path.name, name, VARIABLES[name].description)
                for name in required(role) if name not in params]
    try:
        filled = values(params)
    except TemplateError as err:  # report these together with the missing ones
        problems += err.problems
    if problems:
        raise TemplateError(problems)
    text = render(path.read_text(), filled, known=VARIABLES, source=path.name)
    size = len(text.encode("utf-8"))
    if size > CUSTOM_DATA_LIMIT:
        raise TemplateError(["%s: %d bytes rendered, over the %d-byte customData limit" % (path.name, size,
                                                                                            CUSTOM_DATA_LIMIT)])
    return text


EXAMPLE = {
    "TIMEZONE": "Europe/Lisbon",
    "K3S_VERSION": "v1.30.4+k3s1",
    "K3S_SHA256": "0" * 64,
    "FUNCTION_APP_URL": "https://nodepool-example.azurewebsites.net",
    "FUNCTION_KEY_SECRET_URI": "https://nodepool-example.vault.azure.net/secrets/agent-function-key",
    "MASTER_IDENTITY_CLIENT_ID": "11111111-2222-4333-8444-555555555555",
    "AGENT_IDENTITY_CLIENT_ID": "66666666-7777-4888-8999-000000000000",
    "STORAGE_ACCOUNT_ID": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/k3s-storage/"
                          "providers/Microsoft.Storage/storageAccounts/k3sshared",
    "STORAGE_SHARE": "srv",
}
