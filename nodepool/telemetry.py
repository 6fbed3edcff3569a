"""Structured logs and OpenTelemetry: what an operator reads in Application Insights.

Logs: every record of the `nodepool` and `functions` loggers becomes one JSON object a line: `msg`,
`level`, `logger`, and every field the call passed as `extra=`, so a Kusto query can filter on
`node`, `event_id`, `reconcile_applied`, `pods_left`... without parsing prose. No field is dropped
(a list of allowed ones is what once dropped every reconcile count). Credentials are redacted where
the record is made (core/logs.py), before this or any other handler sees it.

Traces and metrics: `Telemetry` wraps an OpenTelemetry tracer and meter. The app builds it from
settings (`Telemetry.from_connection_string`): with APPLICATIONINSIGHTS_CONNECTION_STRING set it
configures the Azure Monitor distro; without it, it is `NULL`, which records nothing and imports
nothing, so a cold start that serves /healthz pays no OpenTelemetry import.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nodepool.core.instruments import NULL, NullTelemetry
from nodepool.core.logs import extras, redact, scrubbed

OURS = ("nodepool", "functions")

SPANS = ("join", "event", "drain", "reconcile.tick", "autoscale.tick")
METRICS = {  # name -> (kind, unit, description)
    "nodepool.joins": ("counter", "1", "joins answered with a token"),
    "nodepool.cordon.latency": ("histogram", "ms", "event received to Node cordoned"),
    "nodepool.drain.duration": ("histogram", "s", "drain start to done"),
    "nodepool.drain.pods_left": ("histogram", "1", "pods still on the node when the drain ended"),
    "nodepool.reconcile.actions": ("counter", "1", "reconcile actions applied, by kind"),
    "nodepool.autoscale.decisions": ("counter", "1", "autoscale decisions, by kind and pool"),
    "nodepool.pool.backoffs": ("counter", "1", "pools backed off after a capacity error, by reason"),
    "nodepool.errors": ("counter", "1", "errors that are no typed error of ours (bugs), by where they escaped"),
}


class JsonLines(logging.Filter):
    """A handler filter: rewrites each record of our loggers as one JSON object; never drops one.

    On the handler, not the logger: a logger's filters see only records logged on it by name,
    while the handlers of the root logger (the Functions worker's, the dev host's) see them all."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_nodepool_json", False) or record.name.split(".")[0] not in OURS:
            return True  # another library's record, or one a second handler already rewrote
        fields = {k: scrubbed(v) for k, v in extras(record).items() if v is not None}
        line: dict[str, Any] = {**fields, "msg": redact(record.getMessage()), "level": record.levelname,
                                "logger": record.name}
        record.msg, record.args, record._nodepool_json = json.dumps(line, default=str, sort_keys=True), (), True
        return True


def install_json_logs(handlers: list[logging.Handler] | None = None) -> None:
    """On the root logger's handlers unless given. Idempotent: safe on every cold start."""
    for handler in logging.getLogger().handlers if handlers is None else handlers:
        if not any(isinstance(f, JsonLines) for f in handler.filters):
            handler.addFilter(JsonLines())


class Telemetry:
    """Spans and metrics over OpenTelemetry providers (the global ones unless given)."""

    def __init__(self, tracer_provider=None, meter_provider=None):
        from opentelemetry import metrics, trace

        self._tracer = (tracer_provider or trace.get_tracer_provider()).get_tracer("nodepool")
        meter = (meter_provider or metrics.get_meter_provider()).get_meter("nodepool")
        self._counters = {name: meter.create_counter(name, unit=unit, description=text)
                          for name, (kind, unit, text) in METRICS.items() if kind == "counter"}
        self._histograms = {name: meter.create_histogram(name, unit=unit, description=text)
                            for name, (kind, unit, text) in METRICS.items() if kind == "histogram"}

    @classmethod
    def from_connection_string(cls, connection_string: str | None,
                               client_id: str | None = None) -> Telemetry | NullTelemetry:
        """`client_id`: the app's user-assigned identity (AZURE_CLIENT_ID). Application Insights has local
        auth off, so the exporter must authenticate with it or Azure Monitor drops everything it sends."""
        if not connection_string:
            return NULL
        from azure.monitor.opentelemetry import configure_azure_monitor

        options = {}
        if client_id:
            from azure.identity import ManagedIdentityCredential

            options["credential"] = ManagedIdentityCredential(client_id=client_id)
        configure_azure_monitor(connection_string=connection_string, logger_name="nodepool", **options)
        return cls()

    @contextmanager
    def span(self, name: str, **attributes: Any) -> Iterator[Any]:
        with self._tracer.start_as_current_span(name, attributes=_clean(attributes)) as span:
            yield span

    def add(self, metric: str, value: float = 1, **attributes: Any) -> None:
        self._counters[metric].add(value, attributes=_clean(attributes))

    def record(self, metric: str, value: float, **attributes: Any) -> None:
        self._histograms[metric].record(value, attributes=_clean(attributes))


def _clean(attributes: dict[str, Any]) -> dict[str, Any]:
    return {k: scrubbed(v) for k, v in attributes.items() if v is not None}
