"""Queue Storage adapter (azure-storage-queue): JSON messages, queues created on first use.

Messages are base64-encoded, the encoding the Functions queue trigger expects by default.
"""
from __future__ import annotations

import json
import math
import threading

from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import (
    BinaryBase64DecodePolicy,
    BinaryBase64EncodePolicy,
    LinearRetry,
    QueueServiceClient,
)

from nodepool.adapters.credentials import azure_credential
from nodepool.adapters.tables import TIMEOUTS, storage_errors, transport
from nodepool.core.limits import STORAGE_BACKOFF_S, STORAGE_RETRIES
from nodepool.drain.state import NODE_EVENTS_QUEUE
from nodepool.settings import Settings


def queue_service(settings: Settings) -> QueueServiceClient:
    # The storage SDK's default retry waits 15 s, then 45 s, and its ExponentialRetry adds 2^n s
    # whatever the initial backoff: far too long inside a request or a health check.
    # The SDK annotates backoff and jitter as int; it computes with floats, and whole seconds would be too long.
    retry = LinearRetry(backoff=STORAGE_BACKOFF_S, retry_total=STORAGE_RETRIES,  # type: ignore[arg-type]
                        random_jitter_range=STORAGE_BACKOFF_S / 2)  # type: ignore[arg-type]
    options = {**TIMEOUTS, "retry_policy": retry, "transport": transport(settings)}
    if settings.storage_connection and settings.uses_connection_string():
        return QueueServiceClient.from_connection_string(settings.storage_connection, **options)
    return QueueServiceClient(settings.service_url("queue"), credential=azure_credential(settings), **options)


class Queues:
    def __init__(self, settings: Settings):
        self._service = queue_service(settings)
        self._created: set[str] = set()
        self._lock = threading.Lock()

    def client(self, name: str):
        """A QueueClient for `name` (base64 message encoding), the queue created once."""
        client = self._service.get_queue_client(
            name,
            message_encode_policy=BinaryBase64EncodePolicy(),
            message_decode_policy=BinaryBase64DecodePolicy(),
        )
        if name not in self._created:
            with self._lock, storage_errors(f"queue {name}"):
                try:
                    client.create_queue()
                except ResourceExistsError:  # created by another worker: fine
                    pass
                self._created.add(name)
        return client

    def send(self, name: str, message: dict, visibility_timeout: int | None = None) -> str:
        """Enqueue one JSON message; returns its id."""
        client = self.client(name)
        with storage_errors(f"queue {name}"):
            body = json.dumps(message, sort_keys=True).encode()
            sent = client.send_message(body, visibility_timeout=visibility_timeout)
        return sent.id

    def ping(self) -> None:
        with storage_errors("queue service"):
            next(iter(self._service.list_queues(results_per_page=1)), None)


class NodeEventQueue:
    """The EventQueue port: drain messages onto `node-events`, where the drain trigger listens."""

    def __init__(self, queues: Queues):
        self._queues = queues

    def send(self, message: dict, delay_s: float = 0) -> None:
        """`delay_s`: the message stays invisible that long (whole seconds, rounded up), so the
        drain trigger sees it only if the drain started in-process has not finished by then."""
        delay = math.ceil(delay_s) if delay_s > 0 else None
        self._queues.send(NODE_EVENTS_QUEUE, message, visibility_timeout=delay)
