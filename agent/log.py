"""Logging for journald: one line per record with an sd-daemon `<N>` priority prefix.

systemd captures stdout/stderr of our units and parses the prefix (SyslogLevelPrefix=yes is
the default), so `journalctl -p warning -u nodepool-watch` works. Every secret the helper
handles is registered with the Redactor and masked in any line that would contain it.
"""
from __future__ import annotations

import logging
import sys

_PRIORITY = {logging.CRITICAL: 2, logging.ERROR: 3, logging.WARNING: 4, logging.INFO: 6, logging.DEBUG: 7}


class Redactor:
    """Secrets seen at run time (tokens, keys); masked wherever they would be printed."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def add(self, *secrets: str | None) -> None:
        for secret in secrets:
            if secret and len(secret) >= 6:
                self._secrets.add(secret)

    def redact(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text


class JournalFormatter(logging.Formatter):
    def __init__(self, redactor: Redactor, journal: bool = True) -> None:
        super().__init__("%(name)s: %(message)s")
        self.redactor, self.journal = redactor, journal

    def format(self, record: logging.LogRecord) -> str:
        text = self.redactor.redact(super().format(record))
        if not self.journal:
            return text
        prefix = "<%d>" % _PRIORITY.get(record.levelno, 6)
        return "\n".join(prefix + line for line in text.splitlines() or [""])


def setup(redactor: Redactor, verbose: bool = False, stream=None) -> logging.Logger:
    """Configure the `agent` logger tree once per process; returns it."""
    logger = logging.getLogger("agent")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JournalFormatter(redactor))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False
    return logger
