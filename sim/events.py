"""The scheduled-events documents IMDS serves, one per group.

Like a placement group in Azure, every VM of the scale set sees the same document (events
name the VMs they affect in `Resources`, one or several); master0 has a document of its own.
Every change bumps `DocumentIncarnation`, as the real service does: a new event, one that
starts (NotBefore blanked), one that ends or is withdrawn (gone from the list).
"""
from __future__ import annotations

import json

from sim.vm import ScheduledEvent


class EventBoard:
    def __init__(self):
        self._events: dict[str, list[ScheduledEvent]] = {}
        self._incarnation: dict[str, int] = {}
        self._encoded: dict[str, tuple[int, bytes]] = {}  # group -> (incarnation, its document as JSON)

    def _bump(self, group: str) -> None:
        self._incarnation[group] = self._incarnation.get(group, 1) + 1

    def add(self, group: str, event: ScheduledEvent) -> ScheduledEvent:
        self._events.setdefault(group, []).append(event)
        self._bump(group)
        return event

    def document(self, group: str) -> dict:
        return {"DocumentIncarnation": self._incarnation.get(group, 1),
                "Events": [e.as_imds() for e in self._events.get(group, [])]}

    def encoded(self, group: str) -> bytes:
        """The document as IMDS sends it, encoded once per incarnation: every VM of a group polls the
        same document twice a second, and a mass eviction's is ~10 KB (every change bumps it)."""
        incarnation = self._incarnation.get(group, 1)
        hit = self._encoded.get(group)
        if hit is None or hit[0] != incarnation:
            hit = self._encoded[group] = (incarnation, json.dumps(self.document(group)).encode())
        return hit[1]

    def all(self) -> list[tuple[str, ScheduledEvent]]:
        return [(g, e) for g, events in self._events.items() for e in events]

    def start(self, group: str, event_ids: set[str]) -> list[ScheduledEvent]:
        """Acknowledged (StartRequests): scheduled events start now."""
        started = [e for e in self._events.get(group, []) if e.event_id in event_ids and e.status == "Scheduled"]
        for event in started:
            event.status = "Started"
        if started:
            self._bump(group)
        return started

    def due(self, now: float) -> list[ScheduledEvent]:
        """Events whose NotBefore has passed start; Freeze events past their end leave."""
        started = []
        for group, events in self._events.items():
            changed = False
            for event in list(events):
                if event.status == "Scheduled" and event.not_before <= now:
                    event.status, changed = "Started", True
                    started.append(event)
                elif event.ends_at is not None and event.status == "Started" and event.ends_at <= now:
                    events.remove(event)
                    changed = True
            if changed:
                self._bump(group)
        return started

    def withdraw(self, event_id: str) -> bool:
        """A cancelled event leaves the document while still Scheduled (the next incarnation lacks it)."""
        for group, events in self._events.items():
            for event in events:
                if event.event_id == event_id and event.status == "Scheduled":
                    events.remove(event)
                    self._bump(group)
                    return True
        return False

    def pending(self, group: str, vm_name: str, event_type: str) -> ScheduledEvent | None:
        return next((e for e in self._events.get(group, [])
                     if vm_name in e.resources and e.event_type == event_type), None)

    def forget(self, group: str, vm_name: str, types: tuple[str, ...] | None = None) -> None:
        """The VM is gone (or back from a reboot): its events leave the document."""
        events = self._events.get(group, [])
        changed = False
        for event in list(events):
            if vm_name in event.resources and (types is None or event.event_type in types):
                event.resources.remove(vm_name)
                changed = True
                if not event.resources:
                    events.remove(event)
        if changed:
            self._bump(group)
