"""Operator settings from the environment and `.env`, with the seed Makefile's names and defaults.

The environment wins over `.env`. Names the seed did not have are ours (FUNCTION_APP_NAME,
SSH_ALLOWED_CIDRS, AUTOSCALER, ...). Derived names (storage accounts, app, Key Vault) are deterministic,
so `params` needs no Azure access; the globally unique ones are salted with the subscription and the
group, so two people keeping the default group names never collide.
"""
from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ops.errors import OpsError

ROOT = Path(__file__).resolve().parent.parent

DEFAULTS = {
    "COMPUTE_GROUP": "k3s-compute", "STORAGE_GROUP": "k3s-storage", "LOCATION": "westeurope",
    "MASTER_SKU": "Standard_B2s", "AGENT_SKU": "Standard_D2as_v5", "AGENT_COUNT": "2", "AGENT_PRIORITY": "Spot",
    "ADMIN_USERNAME": "cluster", "SSH_PORT": "22", "SHARE_NAME": "srv", "APPLY_CLOUDFLARE_NSG": "false",
    "APPLY_ORIGIN_NSG": "false", "ENABLE_NVIDIA": "false", "ENABLE_TAILSCALE": "false",
    "K3S_VERSION": "v1.35.0+k3s1", "STORAGE_ACCOUNT_GROUP": "", "STORAGE_ACCOUNT_NAME": "",
    "FUNCTION_APP_NAME": "", "SSH_ALLOWED_CIDRS": "", "AUTOSCALER": "nodepool", "AGENT_MAX": "10",
    "SSH_KEY": "keys/cluster", "AZURE_SUBSCRIPTION_ID": "",
    # Only for the local simulator: where ARM is, a static token, an extra CA bundle.
    "ARM_ENDPOINT": "https://management.azure.com", "ARM_STATIC_TOKEN": "", "ARM_CA_BUNDLE": "",
    "LOGS_ENDPOINT": "https://api.loganalytics.io", "GRAPH_ENDPOINT": "https://graph.microsoft.com",
}
_BOOL = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False,
         "": False}


def read_dotenv(path: Path) -> dict[str, str]:
    values = {}
    if path.exists():
        for number, line in enumerate(path.read_text().splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.removeprefix("export ").partition("=")
            if not sep:
                raise OpsError(f"{path.name}:{number}: expected KEY=VALUE")
            values[key.strip()] = value.strip().strip('"').strip("'")
    return values


def _alnum(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


@dataclass(frozen=True)
class Config:
    values: Mapping[str, str]

    @classmethod
    def load(cls, env: Mapping[str, str] | None = None, dotenv: Path | None = None) -> Config:
        env = os.environ if env is None else env
        merged = {**DEFAULTS, **read_dotenv(dotenv or ROOT / ".env")}
        merged.update({k: v for k, v in env.items() if k in DEFAULTS})
        return cls(merged)

    def __getitem__(self, name: str) -> str:
        return self.values[name]

    def flag(self, name: str) -> bool:
        raw = self.values[name].strip().lower()
        if raw not in _BOOL:
            raise OpsError(f"{name} must be true or false")
        return _BOOL[raw]

    def number(self, name: str) -> int:
        try:
            return int(self.values[name])
        except ValueError:
            raise OpsError(f"{name} must be a whole number") from None

    @property
    def prefix(self) -> str:
        return (_alnum(self["COMPUTE_GROUP"].removesuffix("-compute")) or "k3s")[:12]

    @property
    def storage_group(self) -> str:
        return self["STORAGE_ACCOUNT_GROUP"] or self["STORAGE_GROUP"]

    def _suffix(self, salt: str) -> str:
        """8 hex characters from the subscription and the group: storage account, app and vault names are
        global, and everyone's groups are called k3s-compute."""
        return hashlib.sha256(f"{salt}/{self.subscription.lower()}/{self['COMPUTE_GROUP']}".encode()).hexdigest()[:8]

    @property
    def storage_account(self) -> str:
        return self["STORAGE_ACCOUNT_NAME"] or (_alnum(self["STORAGE_GROUP"])[:16] + self._suffix("srv"))

    @property
    def app_storage_account(self) -> str:
        return self.prefix[:12] + "app" + self._suffix("app")

    @property
    def key_vault(self) -> str:
        """3-24 letters, digits and hyphens, starting with a letter."""
        return "kv" + _alnum(self["STORAGE_GROUP"])[:14] + self._suffix("kv")

    @property
    def function_app(self) -> str:
        return self["FUNCTION_APP_NAME"] or f"{self.prefix}-nodepool-{self._suffix('func')}"

    @property
    def subscription(self) -> str:
        if not self["AZURE_SUBSCRIPTION_ID"]:
            raise OpsError("AZURE_SUBSCRIPTION_ID is not set (in .env or the environment); "
                           "`az account show --query id -o tsv` prints yours")
        return self["AZURE_SUBSCRIPTION_ID"]
