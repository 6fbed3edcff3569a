"""`watch`: poll IMDS scheduled events twice a second, forward ours, acknowledge in time.

One event's life: it appears (new EventId naming our instance) -> forwarded to POST /api/events
(the control plane cordons at once and drains) -> GET /api/nodes/{name} until drained ->
StartRequests ack. The event is always forwarded (or forwarding tried) before it is acknowledged;
if the drain does not finish, or the control plane cannot be reached at all, it is acknowledged
at NotBefore minus a margin sized from the notice (agent.events.ack_margin) anyway, with the
reason in the log. Only when even the shortest forward would push the ack past NotBefore is the
ack sent first, and the event forwarded right after (the control plane still cordons and deletes
the Node). Each step is isolated: a failure is logged and retried next tick, never allowed to
stop the loop. Between events the identity token is kept warm, so a short notice does not wait
for one.
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
# GET /api/nodes/{name} until the drain is done: every agent of a mass eviction asks, so an agent
# with time to spare asks less often (an eighth of the time left before its ack deadline, at most
# every DRAIN_POLL_MAX_S); the ack of a finished drain may wait that long, the deadline never does.
DRAIN_POLL_S, DRAIN_POLL_MAX_S = 1.0, 3.0
WARM_EVERY_S = 60.0  # credentials are cached until shortly before they expire: this is cheap
# IMDS enables scheduled events on the first request and may take up to two minutes to answer it.
FIRST_POLL_TIMEOUT_S = 120.0
_UNSEEN = object()


@dataclass
class Tracked:
    event: ev.Event
    first_seen: float
    margin: float  # acknowledge at NotBefore - margin at the latest
    tried: bool = False  # forwarding was attempted (an unreachable app does not hold the ack back)
    forwarded: bool = False
    refused: str = ""  # the control plane's permanent refusal, if any
    drained: bool = False
    acked: bool = False


class Watcher:
    def __init__(self, imds: Imds, api: Api, rt: Runtime, hostname: str, names: Collection[str], *,
                 interval: float = POLL_S, margin: float = 5.0, http_timeout: float = 5.0, imds_timeout: float = 2.0):
        self.imds, self.api, self.rt, self.hostname = imds, api, rt, hostname
        self.names = {n for n in names if n}
        self.interval, self.margin, self.http_timeout, self.imds_timeout = interval, margin, http_timeout, imds_timeout
        self.incarnation: object = _UNSEEN
        self.document: dict = {}
        self.tracked: dict[str, Tracked] = {}
        self.ignored: set[str] = set()
        self.app_error = ""
        self.imds_rtt = 0.0  # IMDS's recent round trip, seconds: part of every ack's margin
        self._warmed = self._drain_polled = float("-inf")
        self._logged: dict[str, float] = {}

    def run(self, stop: Callable[[], bool] = lambda: False) -> None:
        log.info("watching scheduled events for %s every %.1f s", ", ".join(sorted(self.names)), self.interval)
        while not stop():
            started = self.rt.clock()
            self.tick()
            now = self.rt.clock()
            wake = started + self.interval
            soonest = self._soonest_ack(pending_only=True)
            if soonest is not None and now < soonest < wake:
                wake = soonest  # wake for the deadline itself, not the tick after it
            self.rt.sleep(max(0.0, wake - now))

    def tick(self) -> None:
        for step in (self._refresh, self._ack_unforwardable, self._forward, self._poll_drain, self._acknowledge,
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
        if not first:
            self.imds_rtt = 0.7 * self.imds_rtt + 0.3 * min(self.imds_timeout, max(0.0, self.rt.clock() - now))
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
            notice = None if event.not_before is None else event.not_before - now
            margin = self.margin if notice is None else ev.ack_margin(notice, self.margin, self.imds_rtt)
            self.tracked[event_id] = Tracked(event, first_seen=now, margin=margin)
            log.info("new event %s: %s %s, not before %s (%s)%s", event_id, event.type, event.status,
                     _when(event.not_before, now), event.source or "?",
                     ", acknowledged %.1f s before it at the latest" % margin if event.needs_ack else "")
        for event_id in [i for i in self.tracked if i not in current]:
            log.info("event %s is no longer listed (started, finished or cancelled)", event_id)
            del self.tracked[event_id]

    def _ack_unforwardable(self, now: float) -> None:
        """Before forwarding: ack only what a forward could no longer precede in time."""
        self._send_acks(now, [(t, "unforwardable") for t in self.tracked.values() if not t.acked and not t.tried
                              and ev.too_late_to_forward(t.event, now, self.imds_rtt)])

    def _acknowledge(self, now: float) -> None:
        due = []
        for t in self.tracked.values():
            reason = None if t.acked or not t.tried else ev.ack_reason(t.event, now, t.margin, t.drained)
            if reason:
                due.append((t, reason))
        self._send_acks(now, due)

    def _send_acks(self, now: float, due: list) -> None:
        if not due:
            return
        try:
            self.imds.acknowledge([t.event.id for t, _ in due], timeout=self.imds_timeout)
        except (Unreachable, ImdsError) as err:
            self._say(logging.ERROR, "acknowledging failed, retrying next tick: %s" % err)
            return
        for t, reason in due:
            t.acked = True
            if reason == "drained":
                log.info("acknowledged event %s (%s): drain finished", t.event.id, t.event.type)
            else:
                left = None if t.event.not_before is None else t.event.not_before - now
                log.warning("acknowledged event %s (%s) %s", t.event.id, t.event.type,
                            ev.why_acknowledged(reason, left, t.refused, t.forwarded, self.app_error))

    def _forward(self, now: float) -> None:
        pending = [t for t in self.tracked.values() if not t.forwarded and not t.refused]
        if not pending:
            return
        for t in pending:
            t.tried = True
        try:
            reply = self.api.events(self.hostname, self.document, timeout=self._api_timeout(now))
        except Unreachable as err:
            return self._app_down(str(err))
        if reply.status in RETRYABLE:
            return self._app_down(reply.error())
        self.app_error = ""
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
                log.error("control plane refused event %s: %s", t.event.id, t.refused)

    def _poll_drain(self, now: float) -> None:
        waiting = [t for t in self.tracked.values()
                   if t.event.needs_ack and t.forwarded and not t.acked and not t.drained]
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
            t.drained = ev.drained(row, since=t.first_seen, event_id=t.event.id)

    def _drain_poll_interval(self, now: float) -> float:
        soonest = self._soonest_ack()
        spare = float("inf") if soonest is None else soonest - now
        return max(DRAIN_POLL_S, min(DRAIN_POLL_MAX_S, spare / 8))

    def _api_timeout(self, now: float) -> float:
        """Never let an API call run past the earliest acknowledgement deadline."""
        soonest = self._soonest_ack()
        budget = self.http_timeout if soonest is None else min(self.http_timeout, soonest - now)
        return max(ev.FORWARD_MIN_S, budget)

    def _soonest_ack(self, pending_only: bool = False) -> float | None:
        """The earliest NotBefore - margin of the events still to acknowledge (`pending_only`: of
        those whose forward was tried, so the deadline alone will acknowledge them)."""
        deadlines = [t.event.ack_at(t.margin) for t in self.tracked.values()
                     if t.event.needs_ack and not t.acked and (t.tried or not pending_only)]
        return min((d for d in deadlines if d is not None), default=None)

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
