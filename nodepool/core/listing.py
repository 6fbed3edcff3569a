"""Is a complete listing one consistent picture? Pure.

A listing that names one thing twice was paged while it changed: a page boundary moved, so the
same instance came back on two pages (maybe in two states) and another one may have been skipped.
Whichever copy we kept, we would be acting on a guess: nothing destructive is done on it.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


def listed_twice(items: Iterable[T], key: Callable[[T], str], state: Callable[[T], str], what: str) -> str | None:
    """Why the listing is inconsistent (the first few keys listed more than once), or None."""
    items = list(items)
    if len({key(item) for item in items}) == len(items):
        return None  # the common case, at the cost of one set
    seen: dict[str, str] = {}
    twice: dict[str, set[str]] = {}
    for item in items:
        k, s = key(item), state(item)
        if k in seen:
            twice.setdefault(k, {seen[k]}).add(s)
        else:
            seen[k] = s
    if not twice:
        return None
    shown = [f"{k} ({' / '.join(sorted(states))})" for k, states in sorted(twice.items())[:5]]
    more = f" and {len(twice) - 5} more" if len(twice) > 5 else ""
    return f"inconsistent {what} listing: listed twice: {', '.join(shown)}{more}"
