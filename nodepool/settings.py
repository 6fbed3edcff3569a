"""One frozen settings object, built from the environment (app settings in Azure,
`local.settings.json` Values locally) and validated once at start-up.

Storage follows the Functions host's own convention for `AzureWebJobsStorage`: a
connection string (Azurite), or identity-based `AzureWebJobsStorage__accountName` /
`__tableServiceUri` / `__queueServiceUri` (Azure: no keys, DefaultAzureCredential).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from nodepool.autoscale.policy import PoolSetting, parse_pools
from nodepool.core.errors import TransientError
from nodepool.core.labels import parse_labels, parse_taints
from nodepool.identity.attestation import PKI_HOSTS

SETTINGS_RETRY_AFTER_S = 60  # a settings change restarts the app: a minute is long enough to wait


class InvalidSettings(TransientError):
    """The app cannot run on its settings. Not the caller's fault, and not for good: every route answers
    503 with Retry-After (an agent waits and asks again) until the operator fixes them, which restarts
    the app; healthz names what is wrong."""
    code = "invalid_settings"

    def __init__(self, message: str):
        super().__init__(message, retry_after=SETTINGS_RETRY_AFTER_S)


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("expected true/false")


def _positive(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(raw: str):
        value = kind(raw)
        if value <= 0:
            raise ValueError("must be > 0")
        return value
    return parse


def _not_negative(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("must be >= 0")
    return value


def _csv(raw: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _hosts(raw: str) -> tuple[str, ...]:
    if raw.strip().lower() == "off":
        return ()
    hosts = _csv(raw)
    if not hosts or any("/" in h or ":" in h or " " in h for h in hosts):
        raise ValueError("expected host names, comma-separated, or off")
    return hosts


def _labels(raw: str) -> tuple[str, ...]:
    items = _csv(raw)
    parse_labels(items)  # ValueError naming the bad item: a label is no secret
    return items


def _taints(raw: str) -> tuple[str, ...]:
    items = _csv(raw)
    parse_taints(items)
    return items


def _url(raw: str) -> str:
    if not raw.startswith(("https://", "http://")):
        raise ValueError("must be an http(s) URL")
    return raw


def _ncrontab(raw: str) -> str:
    if len(raw.split()) != 6:
        raise ValueError("must be an NCRONTAB expression of 6 fields (seconds first)")
    return raw


def _count(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("must be >= 0")
    return value


def _share(raw: str) -> float:
    value = float(raw)
    if not 0 < value <= 1:
        raise ValueError("must be above 0 and at most 1")
    return value


def _env(name: str, default: Any = None, parse: Callable[[str], Any] = str, secret: bool = False):
    return field(default=default, metadata={"env": name, "parse": parse, "secret": secret})


@dataclass(frozen=True)
class Settings:
    # Storage (tables + queues)
    storage_connection: str | None = _env("AzureWebJobsStorage", secret=True)
    storage_account: str | None = _env("AzureWebJobsStorage__accountName")
    table_service_url: str | None = _env("AzureWebJobsStorage__tableServiceUri")
    queue_service_url: str | None = _env("AzureWebJobsStorage__queueServiceUri")
    cluster: str = _env("NODEPOOL_CLUSTER", "k3s")

    # Azure Resource Manager: the agent scale set
    subscription_id: str | None = _env("AZURE_SUBSCRIPTION_ID")
    resource_group: str | None = _env("NODEPOOL_RESOURCE_GROUP")
    scale_set: str = _env("NODEPOOL_SCALE_SET", "agents")
    arm_endpoint: str = _env("NODEPOOL_ARM_ENDPOINT", "https://management.azure.com", _url)
    # A static ARM bearer token: only for the local simulator, never set in Azure.
    arm_static_token: str | None = _env("NODEPOOL_ARM_STATIC_TOKEN", secret=True)
    # Extra CA bundle to trust (the simulator's CA locally); empty in Azure.
    ca_bundle: str | None = _env("NODEPOOL_CA_BUNDLE")

    # Identity of callers (managed-identity JWTs)
    tenant_id: str | None = _env("NODEPOOL_TENANT_ID")
    authority: str = _env("NODEPOOL_AUTHORITY", "https://login.microsoftonline.com", _url)
    # A dedicated app ID URI: a token for it is useless against ARM or anything else if it leaks.
    audience: str = _env("NODEPOOL_AUDIENCE", "api://nodepool")
    agent_identity: str | None = _env("NODEPOOL_AGENT_IDENTITY")
    master_identity: str | None = _env("NODEPOOL_MASTER_IDENTITY")

    # Join
    join_token_ttl_s: int = _env("NODEPOOL_JOIN_TOKEN_TTL", 900, _positive(int))
    bootstrap_tokens: bool = _env("NODEPOOL_BOOTSTRAP_TOKENS", True, _bool)
    node_labels: tuple[str, ...] = _env("NODEPOOL_NODE_LABELS", (), _labels)
    node_taints: tuple[str, ...] = _env("NODEPOOL_NODE_TAINTS", (), _taints)

    # Drains
    drain_margin_s: float = _env("NODEPOOL_DRAIN_MARGIN", 5.0, _positive(float))
    force_delete_pods: bool = _env("NODEPOOL_FORCE_DELETE_PODS", False, _bool)
    pod_grace_s: int = _env("NODEPOOL_POD_GRACE", 30, _positive(int))
    # drains short of time evicting at once in one instance (every pool is sized from it: core/limits.py Pools);
    # 0: drains run from the queue message only
    drain_workers: int = _env("NODEPOOL_DRAIN_WORKERS", 64, _not_negative)

    # Reconcile
    dry_run: bool = _env("NODEPOOL_DRY_RUN", False, _bool)
    repair_after_s: int = _env("NODEPOOL_REPAIR_AFTER", 600, _positive(int))
    provisioning_timeout_s: int = _env("NODEPOOL_PROVISIONING_TIMEOUT", 900, _positive(int))
    max_destructive_per_tick: int = _env("NODEPOOL_MAX_DESTRUCTIVE_PER_TICK", 3, _positive(int))
    # NCRONTAB (6 fields, UTC) of the reconcile timer; read when the app is indexed (see `one`).
    reconcile_schedule: str = _env("NODEPOOL_RECONCILE_SCHEDULE", "0 * * * * *", _ncrontab)

    # Autoscale (timer_autoscale): off unless enabled; the infra deploys it or the seed's CPU rule, never both
    autoscale_enabled: bool = _env("NODEPOOL_AUTOSCALE_ENABLED", False, _bool)
    autoscale_schedule: str = _env("NODEPOOL_AUTOSCALE_SCHEDULE", "*/30 * * * * *", _ncrontab)
    autoscale_pools: tuple[PoolSetting, ...] = _env("NODEPOOL_AUTOSCALE_POOLS", (), parse_pools)
    autoscale_utilization_threshold: float = _env("NODEPOOL_AUTOSCALE_UTILIZATION_THRESHOLD", 0.5, _share)
    autoscale_unneeded_time_s: int = _env("NODEPOOL_AUTOSCALE_UNNEEDED_TIME", 600, _positive(int))
    autoscale_delay_after_scale_up_s: int = _env("NODEPOOL_AUTOSCALE_DELAY_AFTER_SCALE_UP", 600, _positive(int))
    autoscale_max_step: int = _env("NODEPOOL_AUTOSCALE_MAX_STEP", 20, _positive(int))
    # Whole nodes of free room kept ready, as overprovisioning pods do for cluster-autoscaler: a spot
    # preemption or a burst's first pods land at once instead of waiting a boot. 0 turns it off.
    autoscale_headroom_nodes: int = _env("NODEPOOL_AUTOSCALE_HEADROOM_NODES", 1, _count)
    # Attested join (IMDS attested documents). Roots: a PEM bundle; empty = the platform's public
    # roots (certifi). The simulator's CA is trusted only by naming its file here.
    attestation_roots: str | None = _env("NODEPOOL_ATTESTATION_ROOTS")
    # Extra intermediates for path building, beside the bundled ones (never pinned, never trusted by themselves).
    attestation_intermediates: str | None = _env("NODEPOOL_ATTESTATION_INTERMEDIATES")
    # Hosts a signer's issuer may be fetched from (its AIA "CA Issuers" URL); "off": never fetch.
    attestation_aia_hosts: tuple[str, ...] = _env("NODEPOOL_ATTESTATION_AIA_HOSTS", PKI_HOSTS, _hosts)
    # Signer DNS names (and their subdomains); sovereign clouds: metadata.azure.us, metadata.azure.cn
    attestation_signers: tuple[str, ...] = _env("NODEPOOL_ATTESTATION_SIGNERS", ("metadata.azure.com",), _csv)
    nonce_ttl_s: int = _env("NODEPOOL_NONCE_TTL", 120, _positive(int))
    # The master VM's vmId: POST /cluster must carry that VM's attested document (unset: identity only).
    master_vm_id: str = _env("NODEPOOL_MASTER_VM_ID", "")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Parse every known variable; raise InvalidSettings naming each bad one."""
        env = os.environ if env is None else env
        values, problems = {}, []
        for f in fields(cls):
            raw = env.get(f.metadata["env"])
            if raw is None or raw == "":
                continue
            try:
                values[f.name] = f.metadata["parse"](raw)
            except ValueError as err:  # the value itself is never echoed: it may be a secret
                problems.append(f"{f.metadata['env']}: {err}")
        if problems:
            raise InvalidSettings("invalid settings: " + "; ".join(problems))
        settings = cls(**values)
        missing = settings.missing()
        if missing:
            raise InvalidSettings("missing settings: " + ", ".join(missing))
        return settings

    @classmethod
    def one(cls, name: str, env: Mapping[str, str] | None = None) -> Any:
        """One setting for binding when function_app.py is indexed (a timer's schedule), before settings
        are checked: its default when unset or invalid. It never raises, so the app always indexes and
        healthz can name a bad value; from_env refuses it when the app serves."""
        env = os.environ if env is None else env
        f = next(f for f in fields(cls) if f.name == name)
        raw = env.get(f.metadata["env"])
        try:
            return f.default if raw is None or raw == "" else f.metadata["parse"](raw)
        except ValueError:
            return f.default

    def missing(self) -> list[str]:
        """What must be set for storage to work at all."""
        if self.storage_connection or self.storage_account or (
            self.table_service_url and self.queue_service_url
        ):
            return []
        return ["AzureWebJobsStorage (connection string) or AzureWebJobsStorage__accountName"]

    def complete(self) -> Settings:
        """These settings, if the whole app can run on them: callers verified (tenant), the scale set
        reachable (subscription, resource group). The app checks this at start-up, so /api/healthz
        reports what is missing instead of agents meeting it on their first join."""
        needed: dict[str, object] = {"NODEPOOL_TENANT_ID": self.tenant_id,
                                     "AZURE_SUBSCRIPTION_ID": self.subscription_id,
                                     "NODEPOOL_RESOURCE_GROUP": self.resource_group}
        if self.autoscale_enabled:
            needed["NODEPOOL_AUTOSCALE_POOLS"] = self.autoscale_pools
        missing = [name for name, value in needed.items() if not value]
        if missing:
            raise InvalidSettings("missing settings: " + ", ".join(missing))
        return self

    def uses_connection_string(self) -> bool:
        return bool(self.storage_connection and "=" in self.storage_connection)

    def service_url(self, kind: str) -> str:
        """Account URL for 'table' or 'queue' when storage is identity-based."""
        explicit = self.table_service_url if kind == "table" else self.queue_service_url
        if explicit:
            return explicit
        if not self.storage_account:
            raise InvalidSettings(f"no {kind} service URL configured")
        return f"https://{self.storage_account}.{kind}.core.windows.net"
