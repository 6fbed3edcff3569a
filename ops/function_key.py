"""The agents' function key, delivered for real: the Function App's default host key (read through
ARM, as `az functionapp keys list` reads it) written to the storage group's Key Vault as the secret
FUNCTION_KEY_SECRET_URI names, through ARM's management plane (the deployer needs no Key Vault data
role). The master and the agents read it with their identities (Key Vault Secrets User).

The operator's own key is the master key: the routes only operators call (/status, /audit, the
/nodes listing) are admin level, so the agents' key cannot open them. Whoever may list the app's
keys through ARM (Contributor on the app) is an operator. Neither key is ever printed.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from azure.core.exceptions import HttpResponseError

from ops.arm import Azure
from ops.errors import OpsError
from ops.params import FUNCTION_KEY_SECRET

HOST_START_TRIES = 10  # the host answers for its keys only once it runs: right after a publish, retry


def host_keys(az: Azure, tries: int = HOST_START_TRIES, wait: float = 15.0,
              sleep: Callable[[float], None] = time.sleep):
    cfg = az.config
    for attempt in range(tries):
        try:
            return az.web.web_apps.list_host_keys(cfg["COMPUTE_GROUP"], cfg.function_app)
        except HttpResponseError as err:
            if attempt == tries - 1 or (err.status_code or 0) < 500 and err.status_code not in (404, 409):
                raise OpsError(f"the app's host keys could not be read: HTTP {err.status_code} "
                               f"({err.error.code if err.error else err.reason})") from None
            sleep(wait)
    raise OpsError("the app's host keys could not be read")


def operator_key(az: Azure) -> str:
    """The master key: what `status` and `drill` send to the admin-level operator routes."""
    return host_keys(az, tries=1).master_key


def deliver(az: Azure, say=print, **retry) -> str:
    """Write the app's default host key to the vault; the secret's id (never its value)."""
    cfg = az.config
    value = (host_keys(az, **retry).function_keys or {}).get("default")
    if not value:
        raise OpsError("the app has no default host key yet: publish again in a minute")
    secret = az.keyvault.secrets.create_or_update(cfg.storage_group, cfg.key_vault, FUNCTION_KEY_SECRET,
                                                  {"properties": {"value": value}})
    say(f"agents' function key written to Key Vault {cfg.key_vault} as {FUNCTION_KEY_SECRET}; master0 and the "
        "agents read it at boot with their identities")
    return secret.id
