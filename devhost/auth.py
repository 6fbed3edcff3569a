"""HTTP auth levels with function keys, as the Functions host checks them before any code runs.

A key comes from the `x-functions-key` header, else the `code` query parameter. Function
level accepts a function key or the master key; admin level only the master key. Keys come
from DEVHOST_FUNCTION_KEYS / DEVHOST_MASTER_KEY; without a master key, one is generated.
"""
from __future__ import annotations

import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from devhost.settings import HostSettings

LEVELS = ("anonymous", "function", "admin")


@dataclass(frozen=True)
class Keys:
    function_keys: tuple[str, ...]
    master_key: str
    generated: bool  # no master key configured: one was made up, and the host prints it once

    @classmethod
    def from_settings(cls, settings: HostSettings) -> Keys:
        master = settings.master_key
        return cls(settings.function_keys, master or secrets.token_urlsafe(32), generated=not master)

    def allows(self, level: str, presented: str | None) -> bool:
        if level == "anonymous":
            return True
        if not presented:
            return False
        valid = (self.master_key, *(self.function_keys if level == "function" else ()))
        # compare against every key, always, so timing says nothing about which one is close
        return sum(hmac.compare_digest(presented.encode(), key.encode()) for key in valid) > 0


def presented_key(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    return headers.get("x-functions-key") or query.get("code") or None
