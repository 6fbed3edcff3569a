"""`watch`: poll IMDS scheduled events twice a second, forward ours, acknowledge what is drained.

One event's life: it appears (new EventId naming our instance) -> forwarded to POST /api/events
(the control plane cordons at once and drains) -> GET /api/nodes/{name} until the control plane says
it may be acknowledged -> StartRequests ack. Only the control plane can say so: an acknowledgement
lets the event proceed for every VM it names (host maintenance names several), and it knows them all;
it says so once every one of them is drained, its pods gone. An event it never says that for (the
drain ran out of time, the control plane is down) is not acknowledged at all: Azure proceeds at
NotBefore by itself, and an earlier acknowledgement would only cut the drain short. An event that
leaves the document while still Scheduled (Azure withdrew it) is reported, so the node's cordon is
lifted. Only our VM's events are forwarded. Each step is isolated: a failure is logged and retried
next tick, never allowed to stop the loop. Between events the identity token is kept warm, so a
short notice does not wait for one.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Collection

from agent import events as ev
from agent.api import Api
from agent.backoff import RETRYABLE
from agent.httpjson import Unreachable
from agent.imds import Imds, ImdsError
from agent.runtime import Runtime

log = logging.getLogger("agent.watch")
REPEAT_LOG_S = 30.0
POLL_S = 0.5  # IMDS allows 5 requests a second; a 3 s notice must not wait a second to be seen
# GET /api/nodes/{name} until the drain is done: every agent of a mass eviction asks, for as long as
# its pods take to stop (up to the whole notice), so an agent asks every sixth of its notice, at least
# every DRAIN_POLL_S and at most every DRAIN_POLL_MAX_S; the acknowledgement of a finished drain may
# wait that long (nothing waits for it: Azure proceeds at NotBefore anyway).
DRAIN_POLL_S, DRAIN_POLL_MAX_S = 1.0, 5.0
DRAIN_POLLS_PER_NOTICE = 6
WARM_EVERY_S = 60.0  # credentials are cached until shortly before they expire: this is cheap
# IMDS enables scheduled events on the first request and may take up to two minutes to answer it.
FIRST_POLL_TIMEOUT_S = 120.0
_UNSEEN = object()


@dataclass
class Tracked:
    event: ev.Event
    first_seen: float
    tried: bool = False  # forwarding was attempted
    forwarded: bool = False
    refused: str = ""  # the control plane's permanent refusal, if any
    released: bool = False  # the control plane said: acknowledge it (every node it names is drained)
    acked: bool = False


class Watcher:
    def __init__(self, imds: Imds, api: Api, rt: Runtime, hostname: str, names: Collection[str], *,
                 interval: float = POLL_S, http_timeout: float = 5.0, imds_timeout: float = 2.0):
        self.imds, self.api, self.rt, self.hostname = imds, api, rt, hostname
        self.names = {n for n in names if n}
        self.interval, self.http_timeout, self.imds_timeout = interval, http_timeout, imds_timeout
        self.incarnation: object = _UNSEEN
        self.document: dict = {}
        self.tracked: dict[str, Tracked] = {}
        self.withdrawn: set[str] = set()  # events Azure cancelled, not yet reported to the control plane
        self.ignored: set[str] = set()
        self.app_error = ""
        self._warmed = self._drain_polled = float("-inf")
        self._logged: dict[str, float] = {}

    def run(self, stop: Callable[[], bool] = lambda: False) -> None:
        log.info("watching scheduled events for %s every %.1f s", ", ".join(sorted(self.names)), self.interval)
        while not stop():
            started = self.rt.clock()
            self.tick()
            self.rt.sleep(max(0.0, started + self.interval - self.rt.clock()))

    def tick(self) -> None:
        for step in (self._refresh, self._forward, self._report_withdrawn, self._poll_drain, self._acknowledge,
                     self._warm):
            try:
                step(self.rt.clock())
            except Exception as err:  # one bad step must never stop the watcher
                self._say(logging.ERROR, "step %s failed: %r" % (step.__name__, err))

    def _refresh(self, now: float) -> None:
        try:
            first = self.incarnation is _UNSEEN
            doc = self.imds.scheduled_events(timeout=FIRST_POLL_TIMEOUT_S if first else self.imds_timeout)
        except (Unreachable, ImdsError, ValueError) as err:
            self._say(logging.WARNING, "reading scheduled events failed: %s" % err)
            return
        incarnation = doc.get("DocumentIncarnation")
        if incarnation is not None and incarnation == self.incarnation:
            return  # same incarnation, same events: IMDS's own promise
        self.incarnation, self.document = incarnation, doc
        _, all_events = ev.parse_document(doc)
        current = {event.id: event for event in ev.mine(all_events, self.names)}
        for event in all_events:
            if event.id not in current and event.id not in self.ignored:
                if len(self.ignored) > 1024:
                    self.ignored.clear()
                self.ignored.add(event.id)
                log.info("event %s (%s) is for %s, not us: ignored", event.id, event.type, ",".join(event.resources))
        for event_id, event in current.items():
            if event_id in self.tracked:
                self.tracked[event_id].event = event
                continue
            self.tracked[event_id] = Tracked(event, first_seen=now)
            log.info("new event %s: %s %s, not before %s (%s)", event_id, event.type, event.status,
                     _when(event.not_before, now), event.source or "?")
        for event_id in [i for i in self.tracked if i not in current]:
            gone = self.tracked.pop(event_id)
            if ev.withdrawn(gone.event, now) and not gone.acked and gone.tried and gone.event.type in ev.DRAIN_TYPES:
                log.warning("event %s (%s) withdrawn by Azure before it started: telling the control plane",
                            event_id, gone.event.type)
                self.withdrawn.add(event_id)
            else:
                log.info("event %s is no longer listed (started or finished)", event_id)

    def _acknowledge(self, now: float) -> None:
        due = [t for t in self.tracked.values() if t.released and not t.acked and t.event.needs_ack]
        if not due:
            return
        try:
            self.imds.acknowledge([t.event.id for t in due], timeout=self.imds_timeout)
        except (Unreachable, ImdsError) as err:
            self._say(logging.ERROR, "acknowledging failed, retrying next tick: %s" % err)
            return
        for t in due:
            t.acked = True
            left = "" if t.event.not_before is None else ", %.1f s before NotBefore" % (t.event.not_before - now)
            log.info("acknowledged event %s (%s): every node it names is drained%s", t.event.id, t.event.type, left)

    def _forward(self, now: float) -> None:
        pending = [t for t in self.tracked.values() if not t.forwarded and not t.refused]
        if not pending:
            return
        for t in pending:
            t.tried = True
        reply = self._report(now)
        if reply is None:
            return
        answer = reply.data() if isinstance(reply.data(), dict) else {}
        answered = {e.get("event_id"): e for e in answer.get("events", []) if isinstance(e, dict)}
        if reply.ok:
            self._drain_polled = now  # the drain has only just started: ask one interval from now
        for t in pending:
            if reply.ok:
                t.forwarded = True
                log.info("forwarded event %s (%s); control plane deadline %s", t.event.id, t.event.type,
                         answered.get(t.event.id, {}).get("deadline", "?"))
            else:
                t.refused = reply.error()
                log.error("control plane refused event %s: %s; Azure proceeds at NotBefore", t.event.id, t.refused)

    def _report_withdrawn(self, now: float) -> None:
        if not self.withdrawn or any(not t.forwarded and not t.refused for t in self.tracked.values()):
            return  # a forward still to make carries them
        reply = self._report(now)
        if reply is not None and not reply.ok:
            self._say(logging.ERROR, "control plane refused the withdrawal of %s: %s" % (
                ", ".join(sorted(self.withdrawn)), reply.error()))
            self.withdrawn.clear()

    def _report(self, now: float):
        """POST /api/events: our events as IMDS lists them now, and those Azure withdrew since the last
        report; None when the control plane could not be reached (the withdrawals wait for the next)."""
        withdrawn = sorted(self.withdrawn)
        try:
            reply = self.api.events(self.hostname, ev.own_document(self.document, self.names),
                                    withdrawn=withdrawn, timeout=self._api_timeout(now))
        except Unreachable as err:
            return self._app_down(str(err))
        if reply.status in RETRYABLE:
            return self._app_down(reply.error())
        self.app_error = ""
        if reply.ok:
            self.withdrawn -= set(withdrawn)
        return reply

    def _poll_drain(self, now: float) -> None:
        waiting = [t for t in self.tracked.values()
                   if t.event.needs_ack and t.forwarded and not t.acked and not t.released]
        if not waiting or now - self._drain_polled < self._drain_poll_interval(now) - 0.01:
            return
        self._drain_polled = now
        try:
            reply = self.api.node(self.hostname, timeout=self._api_timeout(now))
        except Unreachable as err:
            return self._app_down(str(err))
        if reply.status in RETRYABLE:
            return self._app_down(reply.error())
        self.app_error = ""
        if not reply.ok:
            return self._say(logging.WARNING, "drain status of %s: %s" % (self.hostname, reply.error()))
        row = ev.node_row(reply.data())
        for t in waiting:
            t.released = ev.may_acknowledge(row, t.event.id)

    def _drain_poll_interval(self, now: float) -> float:
        notices = [t.event.not_before - t.first_seen for t in self.tracked.values()
                   if t.event.needs_ack and not t.acked and t.event.not_before is not None]
        return max(DRAIN_POLL_S, min([DRAIN_POLL_MAX_S, *(n / DRAIN_POLLS_PER_NOTICE for n in notices)]))

    def _api_timeout(self, now: float) -> float:
        """Never let an API call run past the earliest NotBefore: after it, Azure goes ahead anyway."""
        soonest = self._soonest_not_before()
        budget = self.http_timeout if soonest is None else min(self.http_timeout, soonest - now)
        return max(ev.FORWARD_MIN_S, budget)

    def _soonest_not_before(self) -> float | None:
        times = [t.event.not_before for t in self.tracked.values() if t.event.needs_ack and not t.acked]
        return min((n for n in times if n is not None), default=None)

    def _warm(self, now: float) -> None:
        """With nothing to do, fetch the identity token and function key ahead of need (cached)."""
        if self.tracked or now - self._warmed < WARM_EVERY_S:
            return
        self._warmed = now
        try:
            self.api.warm(timeout=self.http_timeout)
        except Unreachable as err:
            self._say(logging.WARNING, "cannot fetch credentials for the control plane yet: %s" % err)

    def _app_down(self, reason: str) -> None:
        self.app_error = reason
        self._say(logging.WARNING, "control plane unreachable: %s" % reason)

    def _say(self, level: int, message: str) -> None:
        """Log, but the same message at most every REPEAT_LOG_S (the loop runs every second)."""
        now = self.rt.clock()
        if now - self._logged.get(message, float("-inf")) >= REPEAT_LOG_S:
            self._logged[message] = now
            if len(self._logged) > 256:
                self._logged.clear()
            log.log(level, "%s", message)


def _when(epoch: float | None, now: float) -> str:
    return "now (started)" if epoch is None else "%+.0f s" % (epoch - now)
