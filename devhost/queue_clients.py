"""Queue clients from a binding's `connection` setting, resolved as the Functions host does:
`NAME` (or `AzureWebJobsNAME`) as a connection string, else identity-based
`NAME__queueServiceUri` / `NAME__accountName` with DefaultAzureCredential.

Clients carry no message encoding policy: the listener sees the raw text, decodes it
itself, and can move a poison message on byte for byte.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

from azure.storage.queue import LinearRetry, QueueClient

from devhost.settings import SettingsError

# Fail fast and let the listener back off: the SDK's default retry sleeps 15 s, then 45 s, and
# its ExponentialRetry adds increment_base ** n seconds (6 s over three refused connects).
_OPTIONS = {"connection_timeout": 3, "read_timeout": 10}


def _retry() -> LinearRetry:
    return LinearRetry(backoff=0.2, retry_total=1, random_jitter_range=0.1)


def queue_client_factory(setting: str, env: Mapping[str, str]) -> Callable[[str], QueueClient]:
    """A function that returns a QueueClient for a queue name in the account `setting` names."""
    for name in (setting, f"AzureWebJobs{setting}"):
        value = env.get(name)
        if value and "=" in value:
            return lambda queue: QueueClient.from_connection_string(value, queue, retry_policy=_retry(), **_OPTIONS)
    account = env.get(f"{setting}__accountName")
    url = env.get(f"{setting}__queueServiceUri") or (account and f"https://{account}.queue.core.windows.net")
    if url:
        from azure.identity import DefaultAzureCredential  # heavy: only for identity-based connections

        credential = DefaultAzureCredential()
        return lambda queue: QueueClient(url, queue, credential=credential, retry_policy=_retry(), **_OPTIONS)
    raise SettingsError(f"Storage account connection string '{setting}' does not exist. "
                        "Make sure that it is a defined App Setting.")
