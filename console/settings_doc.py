"""docs/settings.md's table: every variable of nodepool/settings.py, its default, what it does.

tests/unit/test_docs_follow_code.py fails when a setting is added, renamed or re-defaulted in settings.py
without this table (and so docs/settings.md) following; `python -m console.settings_doc` prints it.
"""
from __future__ import annotations

from dataclasses import MISSING, fields

from nodepool.settings import Settings

WHAT = {
    "AzureWebJobsStorage": "storage connection string (Azurite locally); secret",
    "AzureWebJobsStorage__accountName": "Azure: identity-based storage account name (no keys)",
    "AzureWebJobsStorage__tableServiceUri": "Azure: table endpoint, instead of the account name",
    "AzureWebJobsStorage__queueServiceUri": "Azure: queue endpoint, instead of the account name",
    "NODEPOOL_CLUSTER": "partition of every table: one app can serve one cluster",
    "AZURE_SUBSCRIPTION_ID": "the scale sets' subscription (required)",
    "NODEPOOL_RESOURCE_GROUP": "the scale sets' resource group (required)",
    "NODEPOOL_SCALE_SET": "the agents' scale set (join, events, reconcile)",
    "NODEPOOL_ARM_ENDPOINT": "ARM endpoint (sovereign clouds; the simulator locally)",
    "NODEPOOL_ARM_STATIC_TOKEN": "a fixed ARM bearer token: only for the simulator, never in Azure; secret",
    "NODEPOOL_CA_BUNDLE": "extra CA bundle to trust (the simulator's CA locally)",
    "NODEPOOL_TENANT_ID": "Entra tenant whose tokens are accepted (required)",
    "NODEPOOL_AUTHORITY": "Entra authority (sovereign clouds; the simulator locally)",
    "NODEPOOL_AUDIENCE": "the app ID URI agents and the master request tokens for",
    "NODEPOOL_AGENT_IDENTITY": "principal id of the agents' managed identity",
    "NODEPOOL_MASTER_IDENTITY": "principal id of the master's managed identity",
    "NODEPOOL_JOIN_TOKEN_TTL": "seconds a join's bootstrap token lives",
    "NODEPOOL_BOOTSTRAP_TOKENS": "single-use bootstrap tokens (false: the master's agent token)",
    "NODEPOOL_NODE_LABELS": "labels every agent registers with (k=v,...)",
    "NODEPOOL_NODE_TAINTS": "taints every agent registers with (k=v:Effect,...)",
    "NODEPOOL_DRAIN_MARGIN": "at most this many seconds kept before NotBefore for the last steps",
    "NODEPOOL_FORCE_DELETE_PODS": "delete pods left when a drain runs out of time",
    "NODEPOOL_POD_GRACE": "the longest grace period a drain gives a pod",
    "NODEPOOL_DRAIN_WORKERS": "drains short of time evicting at once in one app instance (a quarter as many "
                              "with time to spare); every thread and connection pool is sized from it",
    "NODEPOOL_DRY_RUN": "reconcile and autoscale log their plans and write nothing",
    "NODEPOOL_REPAIR_AFTER": "seconds NotReady before the repair ladder starts",
    "NODEPOOL_PROVISIONING_TIMEOUT": "seconds a VM may go without a Node before reimage, then delete",
    "NODEPOOL_MAX_DESTRUCTIVE_PER_TICK": "destructive reconcile actions a tick, at most",
    "NODEPOOL_RECONCILE_SCHEDULE": "NCRONTAB (6 fields, UTC) of the reconcile timer",
    "NODEPOOL_AUTOSCALE_ENABLED": "register timer_autoscale (else the seed's CPU rule, or nothing)",
    "NODEPOOL_AUTOSCALE_SCHEDULE": "NCRONTAB of the autoscale timer",
    "NODEPOOL_AUTOSCALE_POOLS": "JSON list of pools, one scale set each (see docs/operate.md, Autoscale)",
    "NODEPOOL_AUTOSCALE_UTILIZATION_THRESHOLD": "a node below this share of requests is unneeded",
    "NODEPOOL_AUTOSCALE_UNNEEDED_TIME": "seconds unneeded before scale-down",
    "NODEPOOL_AUTOSCALE_DELAY_AFTER_SCALE_UP": "no scale-down this many seconds after a scale-up",
    "NODEPOOL_AUTOSCALE_MAX_STEP": "nodes added to a pool in one decision, at most",
    "NODEPOOL_AUTOSCALE_HEADROOM_NODES": "whole nodes of free room kept ready (0: none)",
    "NODEPOOL_ATTESTATION_ROOTS": "PEM bundle of roots for attested documents (empty: the platform's "
                                  "public roots; the simulator's CA locally)",
    "NODEPOOL_ATTESTATION_INTERMEDIATES": "PEM intermediates to build the attested document's chain with, beside "
                                          "the bundled ones (`tasks.py intermediates`)",
    "NODEPOOL_ATTESTATION_AIA_HOSTS": "hosts a signer's issuer may be fetched from (its AIA URL); off: never fetch",
    "NODEPOOL_ATTESTATION_SIGNERS": "accepted signer names of attested documents (sovereign clouds add theirs)",
    "NODEPOOL_NONCE_TTL": "seconds a join or registration nonce is valid (single use)",
    "NODEPOOL_MASTER_VM_ID": "the master VM's vmId: registration only from that VM's attested document",
}


def rows() -> list[tuple[str, str]]:
    out = []
    for f in fields(Settings):
        if "env" not in f.metadata:
            continue
        default = f.default if f.default is not MISSING else None
        if isinstance(default, tuple):
            default = ",".join(map(str, default))
        shown = "" if default in (None, "") else (str(default).lower() if isinstance(default, bool) else str(default))
        out.append((f.metadata["env"], shown))
    return out


def markdown() -> str:
    lines = ["| setting | default | what |", "|---|---|---|"]
    for env, default in rows():
        lines.append(f"| `{env}` | {f'`{default}`' if default else ''} | {WHAT.get(env, 'UNDOCUMENTED')} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())
