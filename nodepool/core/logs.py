"""Our loggers: one naming rule, and credentials redacted before any handler sees a record.

Every product module logs through `logger(__name__)`. Its filter runs on the logger where a record
is made, before the record reaches any handler: the JSON lines of the root logger's handlers, and the
OpenTelemetry handler that Azure Monitor's distro puts on the `nodepool` logger (which runs first),
see the same redacted record, its message and every `extra` field alike. Anything that looks like a
credential is replaced, whoever wrote it there.
"""
from __future__ import annotations

import logging
import re
from typing import Any

# k3s tokens (K10<hash>::id.secret, id.secret), JWTs, bearer headers, function keys in URLs, node credentials.
_SECRETS = [(re.compile(p), r) for p, r in (
    (r"(?i)bearer\s+[\w.~+/=-]+", "[redacted]"),
    (r"K10[0-9a-f]{16,}::[\w.-]+", "[redacted]"),
    (r"\b[a-z0-9]{6}\.[a-z0-9]{16}\b", "[redacted]"),
    (r"eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]*", "[redacted]"),
    (r"(?i)\b(code|sig|key)=[\w%~+/=-]{16,}", r"\1=[redacted]"),
    (r"\bnpc1\.[\w-]{16,}", "[redacted]"),
)]
# What every LogRecord has: anything else on a record is an `extra` its caller passed.
STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def scrubbed(value: Any) -> Any:
    """`value` with every string in it redacted (extras may be lists or dicts of text)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: scrubbed(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(scrubbed(v) for v in value)
    return value


def extras(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a caller passed with `extra=`, as the record holds them."""
    return {k: v for k, v in vars(record).items() if k not in STANDARD and not k.startswith("_")}


class Redact(logging.Filter):
    """A logger's filter: the message is formatted once and redacted, and so is every extra field."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # arguments that do not fit the message: keep both, as text
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = redact(message), ()
        for key, value in extras(record).items():
            setattr(record, key, scrubbed(value))
        return True


_REDACT = Redact()


def logger(name: str) -> logging.Logger:
    """The logger of module `name` (pass `__name__`), redacting before any handler."""
    log = logging.getLogger(name)
    if _REDACT not in log.filters:
        log.addFilter(_REDACT)
    return log
