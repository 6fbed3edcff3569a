"""`create-shares`: the /srv and registry file shares, created when missing (azure-mgmt-storage)."""
from __future__ import annotations

from ops.arm import Azure

REGISTRY_SHARE = "registry"


def create(az: Azure, say=print) -> list[str]:
    cfg, created = az.config, []
    existing = {s.name for s in az.storage.file_shares.list(cfg.storage_group, cfg.storage_account)}
    for share in (cfg["SHARE_NAME"], REGISTRY_SHARE):
        if share in existing:
            say(f"{cfg.storage_account}/{share} exists")
            continue
        az.storage.file_shares.create(cfg.storage_group, cfg.storage_account, share,
                                      {"properties": {"shareQuota": 100, "enabledProtocols": "SMB"}})
        say(f"{cfg.storage_account}/{share} created")
        created.append(share)
    return created
