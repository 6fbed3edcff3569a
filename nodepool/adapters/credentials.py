"""Azure credentials: managed identity in Azure, a static token against the simulator."""
from __future__ import annotations

import time
from functools import lru_cache

from azure.core.credentials import AccessToken

from nodepool.settings import Settings


class StaticTokenCredential:
    """A TokenCredential that hands out one fixed bearer token (local simulator only)."""

    def __init__(self, token: str):
        self._token = token

    def get_token(self, *scopes, **kwargs) -> AccessToken:
        return AccessToken(self._token, int(time.time()) + 3600)

    def close(self) -> None:
        pass


@lru_cache(maxsize=1)
def _default_credential():
    from azure.identity import DefaultAzureCredential  # heavy import: only when in Azure

    return DefaultAzureCredential()


def azure_credential(settings: Settings):
    if settings.arm_static_token:
        return StaticTokenCredential(settings.arm_static_token)
    return _default_credential()
