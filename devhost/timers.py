"""Timer triggers: NCRONTAB or TimeSpan schedules in UTC, `runOnStartup`, `useMonitor`, and
never two overlapping runs of one function (each timer waits for its own invocation).

With the monitor on (the host's default for schedules of a minute or more), the schedule
status {Last, Next, LastUpdated} is kept in a JSON file, so an occurrence missed while the
host was down runs at start-up with `past_due`. An occurrence missed because the previous
run overran is run once, at once, also with `past_due` (the host runs it at once too; it
sets IsPastDue only at start-up, see Azure/azure-webjobs-sdk-extensions#631).
"""
from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import CancelledError
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from azure.functions.timer import TimerRequest

from devhost import ncrontab
from devhost.app_index import IndexedFunction
from devhost.host_config import HostConfigError, parse_timespan
from devhost.invoker import Invoker, failure_text

log = logging.getLogger("devhost.timers")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Interval:
    """A TimeSpan schedule ("00:00:30"): every interval, counted from the previous occurrence."""
    seconds: float

    def next_after(self, after: datetime) -> datetime:
        return after + timedelta(seconds=self.seconds)


def parse_schedule(text: str):
    try:
        if " " not in text.strip() and ":" in text:
            interval = Interval(parse_timespan(text))
            if interval.seconds <= 0:
                raise ValueError("zero interval")
            return interval
        return ncrontab.parse(text)
    except (ValueError, HostConfigError) as err:
        raise ValueError(f"The schedule expression '{text}' was not recognized as a valid cron expression "
                         f"or timespan string ({err}).") from None


def monitor_by_default(schedule, now: datetime) -> bool:
    """The host monitors schedules whose occurrences are at least a minute apart."""
    first = schedule.next_after(now)
    second = first and schedule.next_after(first)
    return bool(second) and second - first >= timedelta(minutes=1)


class ScheduleMonitor:
    """The schedule status of one timer function in a JSON file (the host keeps it in blob storage)."""

    def __init__(self, path: Path):
        self.path = path

    def load(self) -> dict[str, datetime] | None:
        try:
            raw = json.loads(self.path.read_text())
            return {key: datetime.fromisoformat(raw[key]) for key in ("Last", "Next", "LastUpdated")}
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, last: datetime, next_: datetime | None, now: datetime) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        status = {"Last": last.isoformat(), "Next": (next_ or datetime.max.replace(tzinfo=UTC)).isoformat(),
                  "LastUpdated": now.isoformat()}
        scratch = self.path.with_suffix(".tmp")
        scratch.write_text(json.dumps(status))
        scratch.replace(self.path)


class TimerRunner:
    def __init__(self, function: IndexedFunction, schedule, run_on_startup: bool, monitor: ScheduleMonitor | None,
                 invoker: Invoker):
        self.function, self.schedule, self.run_on_startup = function, schedule, run_on_startup
        self.monitor, self.invoker = monitor, invoker
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"timer-{function.name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _loop(self) -> None:
        status = self.monitor.load() if self.monitor else None
        if status and status["Next"] < utcnow():
            self._invoke(past_due=True, scheduled=status["Next"])
        elif self.run_on_startup:
            self._invoke(past_due=False, scheduled=utcnow())
        due, past_due = self.schedule.next_after(utcnow()), False
        while due is not None and self._sleep_until(due):
            self._invoke(past_due, due)
            following, now = self.schedule.next_after(due), utcnow()
            if following is not None and following <= now:  # overran: one catch-up run, now
                due, past_due = now, True
            else:
                due, past_due = following, False

    def _invoke(self, past_due: bool, scheduled: datetime) -> None:
        status = self.monitor.load() if self.monitor else None
        request = TimerRequest(
            past_due=past_due, schedule={"AdjustForDST": True},
            schedule_status={k: v.isoformat() for k, v in status.items()} if status else None)
        try:
            future = self.invoker.submit(self.function, request)
        except RuntimeError:  # the host is stopping
            return
        try:
            future.result()
            log.info("Executed 'Functions.%s' (Succeeded, scheduled %s%s)", self.function.name,
                     scheduled.isoformat(timespec="seconds"), ", past due" if past_due else "")
        except CancelledError:
            return
        except Exception as err:
            log.error("Executed 'Functions.%s' (Failed)\n%s", self.function.name, failure_text(err))
        if self.monitor:
            now = utcnow()
            try:
                self.monitor.save(scheduled, self.schedule.next_after(max(scheduled, now)), now)
            except OSError as err:
                log.warning("timer %s: could not save its schedule status (%s)", self.function.name, err)

    def _sleep_until(self, due: datetime) -> bool:
        while not self._stop.is_set():
            remaining = (due - utcnow()).total_seconds()
            if remaining <= 0:
                return True
            self._stop.wait(min(remaining, 1.0))
        return False
