"""The one source of 'now' for triggers; services and domain take it as a parameter."""
from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
