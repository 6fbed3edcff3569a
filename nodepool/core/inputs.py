"""What every request body goes through first: JSON with a bounded depth, and node names as RFC 1123 labels.

A refusal is an InvalidInput (400) with its own code; nothing here depends on what the body is for.
"""
from __future__ import annotations

import json
import re
from typing import Any

from nodepool.core.errors import InvalidInput

HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
MAX_DEPTH = 16  # our documents nest 5 deep; anything much deeper is an attack or a bug
_JSON_STRUCTURE = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def parse_json(raw: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """A request body as JSON, refused (400) when not UTF-8 JSON or nested deeper than `max_depth`.
    The depth is measured before decoding, so a body of 60 000 `[` never reaches json.loads
    (whose RecursionError would be a 500)."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes | bytearray) else raw
    except UnicodeDecodeError as err:
        raise InvalidInput("body is not valid JSON", code="invalid_json") from err
    depth = 0
    for match in _JSON_STRUCTURE.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > max_depth:
                raise InvalidInput(f"JSON nested deeper than {max_depth}", code="too_deep")
        elif token in "]}":
            depth -= 1
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as err:
        raise InvalidInput("body is not valid JSON", code="invalid_json") from err


def check_depth(value: Any, max_depth: int = MAX_DEPTH) -> Any:
    """`value` (already decoded JSON) unless it nests deeper than `max_depth`: 400 `too_deep`.
    Iterative, so no depth can make it fail itself."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > max_depth:
                raise InvalidInput(f"JSON nested deeper than {max_depth}", code="too_deep")
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return value


def check_hostname(value: Any) -> str:
    if not isinstance(value, str) or not HOSTNAME.fullmatch(value):  # `$` alone would let "name\n" through
        raise InvalidInput("hostname must be an RFC 1123 label (a-z, 0-9, '-', at most 63)", code="invalid_hostname")
    return value
