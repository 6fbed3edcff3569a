"""Telemetry: JSON log lines with no credentials in them; spans and metrics through OpenTelemetry."""
from __future__ import annotations

import json
import logging

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from nodepool.core.logs import extras, logger, redact
from nodepool.telemetry import METRICS, NULL, JsonLines, Telemetry, install_json_logs

K3S_TOKEN = "K10" + "ab" * 32 + "::abcdef.0123456789abcdef"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZ2VudCJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


@pytest.mark.parametrize("secret", [K3S_TOKEN, "abcdef.0123456789abcdef", JWT, "Bearer " + JWT,
                                    "https://app/api/join?code=" + "x" * 40])
def test_credentials_are_redacted(secret):
    cleaned = redact(f"joined with {secret} ok")
    assert "[redacted]" in cleaned and cleaned.endswith(" ok")
    for secret_part in ("0123456789abcdef", "eyJ", "x" * 16):
        assert secret_part not in cleaned


def test_ordinary_text_is_kept():
    text = "drained agents000001 for 9d1c-event in 1520 ms (pods_left 0)"
    assert redact(text) == text


def _emit(caplog, logger_name, msg, *args, **extra):
    install_json_logs([caplog.handler])
    with caplog.at_level(logging.INFO, logger=logger_name):
        logging.getLogger(logger_name).info(msg, *args, extra=extra)
    return json.loads(caplog.records[-1].getMessage())


def test_a_log_record_becomes_one_json_object_with_every_field_it_was_given(caplog):
    line = _emit(caplog, "nodepool.drain", "drained %s", "agents000001", node="agents000001",
                 event_id="E1", action="drain", reason="Preempt", seconds=1.52, late=False,
                 reconcile_applied=3, pods=["a", "b"])
    assert line == {"msg": "drained agents000001", "level": "INFO", "logger": "nodepool.drain",
                    "node": "agents000001", "event_id": "E1", "action": "drain", "reason": "Preempt",
                    "seconds": 1.52, "late": False, "reconcile_applied": 3, "pods": ["a", "b"]}


def test_a_handler_on_the_nodepool_logger_sees_no_secret():
    """Azure Monitor's distro puts its exporting handler on `nodepool` (configure_azure_monitor(logger_name=
    "nodepool")): Python calls it before the root logger's handlers, so redaction must happen where the
    record is made, not in a root handler's filter."""
    seen: list[dict] = []

    class Exporter(logging.Handler):
        def emit(self, record):  # what it exports: the message and every attribute, as it gets them
            seen.append({"msg": record.getMessage(), **extras(record)})

    exporter, parent = Exporter(), logging.getLogger("nodepool")
    parent.addHandler(exporter)
    try:
        logger("nodepool.join.service").warning("joined with %s", K3S_TOKEN, extra={
            "token": K3S_TOKEN, "headers": {"Authorization": "Bearer " + JWT}, "node": "agents000001"})
    finally:
        parent.removeHandler(exporter)
    [record] = seen
    exported = json.dumps(record)
    assert K3S_TOKEN not in exported and "0123456789abcdef" not in exported and JWT not in exported
    assert record["msg"] == "joined with [redacted]" and record["node"] == "agents000001"


def test_a_token_passed_as_a_field_or_argument_is_redacted(caplog):
    line = _emit(caplog, "functions.http_join", "join answered %s", K3S_TOKEN, reason=f"token {K3S_TOKEN}")
    assert K3S_TOKEN not in json.dumps(line)
    assert line["msg"] == "join answered [redacted]" and line["reason"] == "token [redacted]"


def test_install_is_idempotent_and_a_record_is_encoded_once(caplog):
    install_json_logs([caplog.handler])
    install_json_logs([caplog.handler])
    assert sum(isinstance(f, JsonLines) for f in caplog.handler.filters) == 1
    line = _emit(caplog, "nodepool", "once")
    assert line["msg"] == "once"


def test_other_libraries_records_are_left_alone(caplog):
    install_json_logs([caplog.handler])
    with caplog.at_level(logging.INFO, logger="azure.core"):
        logging.getLogger("azure.core").info("plain %s", "text")
    assert caplog.records[-1].getMessage() == "plain text"


@pytest.fixture
def otel():
    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tracer = TracerProvider()
    tracer.add_span_processor(SimpleSpanProcessor(spans))
    return Telemetry(tracer_provider=tracer, meter_provider=MeterProvider(metric_readers=[reader])), spans, reader


def _points(reader) -> dict[str, list]:
    found = {}
    for resource in reader.get_metrics_data().resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found[metric.name] = list(metric.data.data_points)
    return found


def test_spans_carry_their_attributes_and_nest(otel):
    telemetry, spans, _ = otel
    with telemetry.span("event", node="agents000001", event_id="E1"):
        with telemetry.span("drain", node="agents000001", token=K3S_TOKEN, missing=None):
            pass
    finished = {s.name: s for s in spans.get_finished_spans()}
    assert set(finished) == {"event", "drain"}
    assert finished["drain"].parent.span_id == finished["event"].context.span_id
    assert dict(finished["drain"].attributes) == {"node": "agents000001", "token": "[redacted]"}


def test_every_metric_is_recorded_with_its_attributes(otel):
    telemetry, _, reader = otel
    for name, (kind, _, _) in METRICS.items():
        (telemetry.add if kind == "counter" else telemetry.record)(name, 3, pool="spot")
    points = _points(reader)
    assert set(points) == set(METRICS)
    for name, (kind, _, _) in METRICS.items():
        (point,) = points[name]
        assert dict(point.attributes) == {"pool": "spot"}
        assert (point.value if kind == "counter" else point.sum) == 3


def test_without_a_connection_string_nothing_is_configured():
    assert Telemetry.from_connection_string("") is NULL
    with NULL.span("join", node="n") as span:
        NULL.add("nodepool.joins")
        NULL.record("nodepool.drain.duration", 1.0)
    assert span is None


def test_the_exporter_authenticates_with_the_apps_identity_as_local_auth_is_off(monkeypatch):
    import azure.monitor.opentelemetry as distro
    from azure.identity import ManagedIdentityCredential

    seen = {}
    monkeypatch.setattr(distro, "configure_azure_monitor", lambda **kwargs: seen.update(kwargs))
    monkeypatch.setenv("APPLICATIONINSIGHTS_CONNECTION_STRING", "InstrumentationKey=" + "0" * 32)
    monkeypatch.setenv("AZURE_CLIENT_ID", "11111111-2222-4333-8444-555555555555")
    from nodepool import wiring
    from nodepool.settings import Settings
    from tests.unit.test_wiring import APP

    assert wiring.Services(Settings.from_env(APP)).telemetry is not None
    assert isinstance(seen["credential"], ManagedIdentityCredential)
    assert seen["connection_string"].startswith("InstrumentationKey=") and seen["logger_name"] == "nodepool"
