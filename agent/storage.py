"""`storage-credentials`: fetch the /srv share's key at boot with the VM's identity.

The mount needs the storage account key; customData must not carry it. The identity is allowed
`Microsoft.Storage/storageAccounts/listkeys/action` on that one account, and this writes the
mount.cifs credentials file (root only) at every boot, so a rotated key is picked up.
"""
from __future__ import annotations

import logging

from agent import httpjson
from agent.backoff import RETRYABLE, GaveUp, retry
from agent.imds import ImdsError, TokenSource
from agent.k3sconfig import write_private
from agent.runtime import Runtime

log = logging.getLogger("agent.storage")
STORAGE_API = "2023-05-01"
# 403 too: at first boot the VM's Reader and Data Access assignment may not have reached ARM's
# caches yet (role assignments take minutes to propagate); the budget still bounds the wait.
LIST_KEYS_RETRYABLE = RETRYABLE | {403}


def account_name(account_id: str) -> str:
    parts = [p for p in account_id.strip().split("/") if p]
    if len(parts) < 2 or parts[-2].lower() != "storageaccounts":
        raise ValueError("not a storage account resource id: %r" % account_id)
    return parts[-1]


def pick_key(answer: object) -> str:
    keys = answer.get("keys") if isinstance(answer, dict) else None
    for key in keys or []:
        if isinstance(key, dict) and key.get("value") and str(key.get("permissions", "FULL")).upper() == "FULL":
            return key["value"]
    raise ValueError("listKeys answered without a usable key")


def credentials_text(account: str, key: str) -> str:
    return "username=%s\npassword=%s\n" % (account, key)


def run(cfg, tokens: TokenSource, rt: Runtime, http=httpjson.call) -> int:
    try:
        account = account_name(cfg.account_id)
    except ValueError as err:
        log.error("%s", err)
        return 1
    url = "%s%s/listKeys?api-version=%s" % (cfg.arm_url.rstrip("/"), cfg.account_id.rstrip("/"), STORAGE_API)

    def attempt():
        token = tokens.get(cfg.arm_url.rstrip("/") + "/")
        return http("POST", url, headers={"Authorization": "Bearer " + token}, body={}, timeout=cfg.http_timeout)

    try:
        reply = retry(attempt, what="listKeys on " + account, budget=cfg.storage_timeout,
                      clock=rt.clock, sleep=rt.sleep, rand=rt.rand, retryable=LIST_KEYS_RETRYABLE)
        if not reply.ok:
            log.error("listKeys on %s refused: %s", account, reply.error())
            return 1
        key = pick_key(reply.data())
    except (GaveUp, ImdsError, ValueError) as err:
        log.error("%s", err)
        return 1
    rt.redactor.add(key)
    out = cfg.out or "/etc/smbcredentials/%s.cred" % account
    write_private(out, credentials_text(account, key))
    log.info("wrote mount credentials for %s to %s", account, out)
    return 0
