"""The messages a queue listener has in flight, each leased (invisible to other consumers)
while its function runs and renewed at half the lease, as the Functions host does, so a long
invocation keeps its message and a crashed host's messages come back after one lease.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

log = logging.getLogger("devhost.queues")


@dataclass
class Lease:
    message: object  # azure.storage.queue.QueueMessage, raw (undecoded) content
    pop_receipt: str
    renew_at: float
    lock: threading.Lock = field(default_factory=threading.Lock)  # held to renew or to finish
    done: bool = False


class Leases:
    def __init__(self, queue, lease_s: int):
        self.queue, self.lease_s = queue, lease_s
        self._items: dict[str, Lease] = {}
        self.changed = threading.Condition()  # notified when a message finishes (or on stop)

    def __len__(self) -> int:
        with self.changed:
            return len(self._items)

    def add(self, message) -> Lease:
        lease = Lease(message, message.pop_receipt, time.monotonic() + self.lease_s / 2)
        with self.changed:
            self._items[message.id] = lease
        return lease

    def remove(self, lease: Lease) -> None:
        with self.changed:
            self._items.pop(lease.message.id, None)
            self.changed.notify_all()

    def renew_due(self) -> None:
        now = time.monotonic()
        with self.changed:
            due = [lease for lease in self._items.values() if lease.renew_at <= now]
        for lease in due:
            if not lease.lock.acquire(blocking=False):
                continue  # being finished right now
            try:
                if not lease.done:
                    receipt = self.queue.update_message(lease.message.id, lease.pop_receipt,
                                                        visibility_timeout=self.lease_s)
                    lease.pop_receipt, lease.renew_at = receipt.pop_receipt, now + self.lease_s / 2
            except Exception as err:
                log.warning("queue '%s': could not renew message %s (%s)", self.queue.queue_name,
                            lease.message.id, type(err).__name__)
            finally:
                lease.lock.release()
