"""Queue triggers with the Functions host's `extensions.queues` semantics.

Fetch `batchSize` messages; fetch again when in-flight drops to `newBatchThreshold`; when the
queue is empty, back off exponentially from 100 ms up to `maxPollingInterval` (and when storage
is down, log once and keep backing off). A message is leased while its function runs (renewed
at half the lease); success deletes it; failure makes it visible again after
`visibilityTimeout`; the failure at `maxDequeueCount` - or any dequeue beyond it - moves it,
byte for byte, to `<queue>-poison`.
"""
from __future__ import annotations

import base64
import binascii
import logging
import math
import threading
from concurrent.futures import Future

from azure.core.exceptions import ResourceExistsError
from azure.functions.queue import QueueMessage

from devhost.app_index import IndexedFunction
from devhost.host_config import QueueOptions
from devhost.invoker import Invoker, failure_text
from devhost.queue_leases import Lease, Leases

log = logging.getLogger("devhost.queues")
MIN_POLL_S = 0.1


class QueueListener:
    def __init__(self, function: IndexedFunction, queue_name: str, client_for, options: QueueOptions,
                 invoker: Invoker, lease_s: float):
        self.function, self.queue_name, self.options, self.invoker = function, queue_name, options, invoker
        self.queue, self.poison = client_for(queue_name), client_for(f"{queue_name}-poison")
        self.lease_s = int(lease_s)
        self._leases = Leases(self.queue, self.lease_s)
        self._stop = threading.Event()
        self._created: set[str] = set()
        self._thread = threading.Thread(target=self._loop, name=f"queue-{queue_name}", daemon=True)

    def start(self) -> None:
        try:
            self._ensure(self.queue)
        except Exception as err:  # storage down at start: the loop keeps trying, like the host
            log.warning("queue '%s' for %s: cannot create it yet (%s)", self.queue_name, self.function.name,
                        _short(err))
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        with self._leases.changed:
            self._leases.changed.notify_all()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _loop(self) -> None:
        delay, outage = MIN_POLL_S, False
        while not self._stop.is_set():
            self._leases.renew_due()
            if len(self._leases) > self.options.new_batch_threshold:
                self._wait(self.lease_s / 4)  # woken early when an invocation completes
                continue
            try:
                self._ensure(self.queue)
                pages = self.queue.receive_messages(messages_per_page=self.options.batch_size,
                                                    visibility_timeout=self.lease_s).by_page()
                messages = list(next(pages, []))
            except Exception as err:
                if not outage:
                    log.warning("queue '%s': storage unavailable, retrying (%s)", self.queue_name, _short(err))
                outage, delay = True, min(delay * 2, self.options.max_polling_interval)
                self._wait(delay)
                continue
            if outage:
                log.info("queue '%s': storage reachable again", self.queue_name)
                outage = False
            if not messages:
                delay = min(delay * 2, self.options.max_polling_interval)
                self._wait(min(delay, self.lease_s / 4))
                continue
            delay = MIN_POLL_S
            for message in messages:
                try:
                    self._dispatch(message)
                except Exception as err:  # e.g. storage gone while poisoning: the message comes back later
                    log.warning("queue '%s': message %s not dispatched (%s)", self.queue_name, message.id, _short(err))

    def _dispatch(self, message) -> None:
        limit = self.options.max_dequeue_count
        if message.dequeue_count > limit:
            self._to_poison(message, message.pop_receipt, f"dequeued {message.dequeue_count} times, over {limit}")
            return
        try:
            body = self._decode(message.content)
        except (binascii.Error, ValueError):
            self._to_poison(message, message.pop_receipt, "content is not valid base64")
            return
        trigger = QueueMessage(id=message.id, body=body, dequeue_count=message.dequeue_count,
                               expiration_time=message.expires_on, insertion_time=message.inserted_on,
                               time_next_visible=message.next_visible_on, pop_receipt=message.pop_receipt)
        lease = self._leases.add(message)
        try:
            future = self.invoker.submit(self.function, trigger)
        except RuntimeError:  # the host is stopping: hand the message back at once
            self._leases.remove(lease)
            self.queue.update_message(message.id, message.pop_receipt, visibility_timeout=0)
            return
        future.add_done_callback(lambda done: self._complete(lease, done))

    def _decode(self, content: str) -> bytes:
        if self.options.message_encoding == "none":
            return (content or "").encode()
        return base64.b64decode(content or "", validate=True)

    def _complete(self, lease: Lease, done: Future) -> None:
        message = lease.message
        try:
            with lease.lock:
                lease.done = True
                if done.cancelled():  # host stopping before it started: hand it back at once
                    self.queue.update_message(message.id, lease.pop_receipt, visibility_timeout=0)
                elif done.exception() is None:
                    self.queue.delete_message(message.id, lease.pop_receipt)
                    log.info("Executed 'Functions.%s' (Succeeded, message %s)", self.function.name, message.id)
                else:
                    log.error("Executed 'Functions.%s' (Failed, message %s, dequeue count %d)\n%s", self.function.name,
                              message.id, message.dequeue_count, failure_text(done.exception()))
                    if message.dequeue_count >= self.options.max_dequeue_count:
                        self._to_poison(message, lease.pop_receipt, f"reached maxDequeueCount {message.dequeue_count}")
                    else:
                        self.queue.update_message(message.id, lease.pop_receipt,
                                                  visibility_timeout=math.ceil(self.options.visibility_timeout))
        except Exception as err:
            log.warning("queue '%s': could not complete message %s (%s)", self.queue_name, message.id, _short(err))
        finally:
            self._leases.remove(lease)

    def _to_poison(self, message, pop_receipt: str, why: str) -> None:
        log.warning("Moving message %s to queue '%s-poison' (%s)", message.id, self.queue_name, why)
        self._ensure(self.poison)
        self.poison.send_message(message.content)
        self.queue.delete_message(message.id, pop_receipt)

    def _ensure(self, client) -> None:
        if client.queue_name not in self._created:
            try:
                client.create_queue()
            except ResourceExistsError:
                pass
            self._created.add(client.queue_name)

    def _wait(self, seconds: float) -> None:
        with self._leases.changed:
            if not self._stop.is_set():
                self._leases.changed.wait(seconds)


def _short(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0] if text else ''}"[:200]
