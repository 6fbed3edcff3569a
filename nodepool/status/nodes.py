"""GET /api/nodes and /api/nodes/{name}: the registry view (no secrets live in it)."""
from __future__ import annotations

from datetime import datetime

from nodepool.core.errors import InvalidInput, NotFound
from nodepool.core.inputs import check_hostname
from nodepool.core.ports import Registry
from nodepool.core.records import NodeRecord
from nodepool.drain.release import acknowledgeable
from nodepool.identity.guard import NodeClaim, NodeGuard

MAX_PAGE = 500
# A `next` token is what nodes_page handed out: two table keys (each at most 1 KiB), printable ASCII.
MAX_TOKEN = 2 * 1024 + 1


def get_node(registry: Registry, name: str) -> NodeRecord:
    row = registry.node(check_hostname(name))
    if row is None:
        raise NotFound(f"no node {name} in the registry", code="node_not_found")
    return row


def check_page_token(token: str | None) -> str | None:
    """Refuse what no page ever handed out, before storage sees it (it would answer 400, or worse)."""
    if token is None:
        return None
    if not token or len(token) > MAX_TOKEN or not all(" " < ch < "\x7f" for ch in token):
        raise InvalidInput("next is not a token this API handed out", code="invalid_next_token")
    return token


def list_nodes(registry: Registry, limit: int, token: str | None) -> dict:
    rows, next_token = registry.nodes_page(max(1, min(limit, MAX_PAGE)), token)
    return {"nodes": [r.public() for r in rows], "next": next_token}


class NodeDirectory:
    """The operator's paged list, and a node's own status poll (with its credential)."""

    def __init__(self, registry: Registry, guard: NodeGuard):
        self.registry, self.guard = registry, guard

    def own(self, claim: NodeClaim, name: str, now: datetime) -> dict:
        """GET /api/nodes/{name}: a node's own status poll, with its credential. `acknowledge`: the
        EventId its agent may acknowledge now (drain/release.py), when there is one."""
        self.guard.authenticate(claim, name, now)
        row = get_node(self.registry, name)
        answer = row.public()
        event_id = acknowledgeable(self.registry, row)
        if event_id:
            answer["acknowledge"] = event_id
        return answer

    def page(self, limit: int, token: str | None) -> dict:
        return list_nodes(self.registry, limit, check_page_token(token))
