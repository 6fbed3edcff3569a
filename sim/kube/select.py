"""Label and field selectors as the API server parses them (`labelSelector=`, `fieldSelector=`).

Labels: `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`, comma-joined (AND).
Fields: `path=v`, `path==v`, `path!=v` over the few fields each resource supports; any other
field is a 400 "field label not supported", as the real server answers.
"""
from __future__ import annotations

import re
from collections.abc import Callable

from sim.kube.wire import ApiError

_SET = re.compile(r"^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$")
FIELDS = {
    "pods": {"metadata.name", "metadata.namespace", "spec.nodeName", "status.phase", "spec.schedulerName"},
    "nodes": {"metadata.name", "spec.unschedulable"},
    "secrets": {"metadata.name", "metadata.namespace", "type"},
    "poddisruptionbudgets": {"metadata.name", "metadata.namespace"},
    "deployments": {"metadata.name", "metadata.namespace"},
}


def _terms(raw: str) -> list[str]:
    """Split on commas outside parentheses."""
    terms, depth, start = [], 0, 0
    for i, ch in enumerate(raw):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            terms.append(raw[start:i])
            start = i + 1
    terms.append(raw[start:])
    return [t.strip() for t in terms if t.strip()]


def label_matcher(raw: str | None) -> Callable[[dict], bool] | None:
    if not raw:
        return None
    reqs = []
    for term in _terms(raw):
        if m := _SET.match(term):
            values = {v.strip() for v in m.group(3).split(",")}
            reqs.append((m.group(1), m.group(2), values))
        elif "!=" in term:
            key, value = term.split("!=", 1)
            reqs.append((key.strip(), "notin", {value.strip()}))
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            reqs.append((key.strip(), "in", {value.strip()}))
        elif term.startswith("!"):
            reqs.append((term[1:].strip(), "!", set()))
        elif re.fullmatch(r"[\w./-]+", term):
            reqs.append((term, "exists", set()))
        else:
            raise ApiError(400, "BadRequest", f"unable to parse requirement: {term!r}")

    def match(labels: dict) -> bool:
        for key, op, values in reqs:
            present, value = key in labels, labels.get(key)
            if op == "in" and (not present or value not in values):
                return False
            if op == "notin" and present and value in values:
                return False
            if op == "exists" and not present:
                return False
            if op == "!" and present:
                return False
        return True
    return match


def field_value(obj: dict, path: str) -> str:
    node = obj
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, bool) or path == "spec.unschedulable":
        return "true" if node else "false"
    return "" if node is None else str(node)


def field_terms(resource: str, raw: str | None) -> list[tuple[str, bool, str]]:
    """[(path, equal?, value)]; validated against what `resource` supports."""
    terms = []
    for term in _terms(raw or ""):
        equal = "!=" not in term
        path, value = term.replace("!=", "=").replace("==", "=").split("=", 1) if "=" in term else (term, "")
        if "=" not in term or path.strip() not in FIELDS[resource]:
            raise ApiError(400, "BadRequest", f'"{path.strip()}" is not a known field selector: '
                                              f"only {', '.join(sorted(FIELDS[resource]))}")
        terms.append((path.strip(), equal, value.strip()))
    return terms


def field_matcher(terms: list[tuple[str, bool, str]]) -> Callable[[dict], bool] | None:
    if not terms:
        return None
    return lambda obj: all((field_value(obj, path) == value) == equal for path, equal, value in terms)
