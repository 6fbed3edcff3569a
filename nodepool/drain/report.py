"""Scheduled events (IMDS api-version 2020-07-01) as an agent forwards them, and what we do.

Preempt (spot eviction, >= 30 s notice), Terminate, Reboot and Redeploy get a cordon at
once and a drain before NotBefore; Freeze (seconds of pause) is only recorded. Leave is
our own event type for a graceful shutdown, drained like Terminate. An EventType we do not
know (Azure may add one) is ignored and said so in the answer, never a reason to refuse the
events beside it. The agent also says which of its events Azure withdrew (gone from the
document before they started): their cordon is lifted.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from nodepool.core.errors import InvalidInput
from nodepool.core.inputs import check_depth, check_hostname

DRAINED_TYPES = frozenset({"Preempt", "Terminate", "Reboot", "Redeploy", "Leave"})
NODE_REMOVING_TYPES = frozenset({"Preempt", "Terminate", "Leave"})  # the VM goes away: delete the Node
KNOWN_TYPES = DRAINED_TYPES | {"Freeze"}
# The agent forwards only its own VM's events (the document lists the whole placement group's, up to
# 100 VMs); whatever else a report carries is ignored unparsed. Of its own, a VM has a handful at most.
MAX_EVENTS = 150
# The event id is a RowKey of table `events`: Table Storage refuses / \ # ? and control characters in keys.
KEY_FORBIDDEN = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f]")
# NotBefore is minutes from now; a year outside this is not a real one (and would overflow deadlines).
NOT_BEFORE_YEARS = range(2000, 2200)
MAX_INCARNATION = 2**31 - 1


@dataclass(frozen=True)
class ScheduledEvent:
    event_id: str
    type: str
    resources: tuple[str, ...]
    status: str = "Scheduled"
    not_before: datetime | None = None
    description: str = ""
    source: str = ""
    duration_s: int = -1

    @classmethod
    def from_imds(cls, raw: Any) -> "ScheduledEvent":
        if not isinstance(raw, dict):
            raise InvalidInput("each event must be an object", code="invalid_event")
        event_id, kind = raw.get("EventId"), raw.get("EventType")
        if not isinstance(event_id, str) or not 0 < len(event_id) <= 64:
            raise InvalidInput("EventId must be a string", code="invalid_event")
        if KEY_FORBIDDEN.search(event_id):
            raise InvalidInput("EventId must not contain / \\ # ? or control characters", code="invalid_event_id")
        if not isinstance(kind, str) or not 0 < len(kind) <= 64:
            raise InvalidInput("EventType must be a string", code="invalid_event")
        resources = raw.get("Resources") or []
        if not isinstance(resources, list) or not all(isinstance(r, str) for r in resources):
            raise InvalidInput("Resources must be a list of names", code="invalid_event")
        duration = raw.get("DurationInSeconds", -1)
        return cls(event_id, kind, tuple(resources), str(raw.get("EventStatus", "Scheduled")),
                   parse_not_before(raw.get("NotBefore")), str(raw.get("Description", ""))[:512],
                   str(raw.get("EventSource", "")), duration if isinstance(duration, int) else -1)

    def deadline(self, now: datetime) -> datetime:
        """When Azure acts: NotBefore, or now if the event already started / has no time."""
        if self.not_before is None or self.status == "Started":
            return now
        return max(now, self.not_before)

    @property
    def drains(self) -> bool:
        return self.type in DRAINED_TYPES

    @property
    def known(self) -> bool:
        return self.type in KNOWN_TYPES


def parse_not_before(value: Any) -> datetime | None:
    """IMDS gives NotBefore as an RFC 1123 date ('Mon, 19 Sep 2016 18:29:47 GMT') or ''."""
    if not value:
        return None
    if not isinstance(value, str) or len(value) > 64:
        raise InvalidInput("NotBefore must be an RFC 1123 date string", code="invalid_not_before")
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError) as err:
        raise InvalidInput(f"NotBefore is not an RFC 1123 date: {value!r}", code="invalid_not_before") from err
    if parsed.tzinfo is None:  # no zone, or "-0000": an unknown offset is no deadline
        raise InvalidInput(f"NotBefore has no time zone: {value!r}", code="invalid_not_before")
    if parsed.year not in NOT_BEFORE_YEARS:
        raise InvalidInput(f"NotBefore is out of range: {value!r}", code="invalid_not_before")
    return parsed


@dataclass(frozen=True)
class EventReport:
    """What an agent forwarded: its document (only events naming its VM count; any others are
    left unparsed, so one odd event of another VM cannot get ours refused) and the EventIds of
    its events Azure withdrew."""
    hostname: str
    incarnation: int
    events: tuple[Any, ...]  # as the document had them
    withdrawn: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, body: Any) -> "EventReport":
        if not isinstance(check_depth(body), dict):
            raise InvalidInput("body must be a JSON object")
        document = body.get("document")
        if not isinstance(document, dict):
            raise InvalidInput("document must be the scheduled-events JSON", code="invalid_document")
        raw = document.get("Events", [])
        if not isinstance(raw, list):
            raise InvalidInput("Events must be a list", code="invalid_document")
        incarnation = document.get("DocumentIncarnation", 0)
        if not isinstance(incarnation, int) or isinstance(incarnation, bool) or not 0 <= incarnation <= MAX_INCARNATION:
            raise InvalidInput("DocumentIncarnation must be a number", code="invalid_document")
        return cls(check_hostname(body.get("hostname")), incarnation, tuple(raw), _event_ids(body.get("withdrawn", [])))

    def named(self, vm_name: str = "") -> tuple[ScheduledEvent, ...]:
        """Every event naming this agent's VM, parsed; others in the document are ignored.

        Azure lists a scale-set VM in Resources by its VM name (ScaleSet.vm_name), not its
        hostname; we accept either. Azure resource names are case-insensitive, and so is this.
        All of them are parsed before any is returned, so one malformed event of ours refuses
        the whole report before anything is recorded (an unknown EventType is not malformed).
        """
        names = {self.hostname.casefold(), vm_name.casefold()} - {""}
        ours = [e for e in self.events if names & _resources(e)]
        if len(ours) > MAX_EVENTS:
            raise InvalidInput(f"more than {MAX_EVENTS} events name {self.hostname}", code="invalid_document")
        return tuple(ScheduledEvent.from_imds(e) for e in ours)

    def mine(self, vm_name: str = "") -> tuple[ScheduledEvent, ...]:
        """The events naming this VM whose EventType we know."""
        return tuple(e for e in self.named(vm_name) if e.known)


def _event_ids(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or len(raw) > MAX_EVENTS or not all(
            isinstance(i, str) and 0 < len(i) <= 64 and not KEY_FORBIDDEN.search(i) for i in raw):
        raise InvalidInput(f"withdrawn must be a list of at most {MAX_EVENTS} EventIds", code="invalid_document")
    return tuple(dict.fromkeys(raw))


def _resources(raw: Any) -> set[str]:
    resources = raw.get("Resources") if isinstance(raw, dict) else None
    return {r.casefold() for r in resources if isinstance(r, str)} if isinstance(resources, list) else set()
