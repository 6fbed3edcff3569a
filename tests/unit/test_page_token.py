"""GET /api/nodes?next=...: a token no page handed out is a 400 with its code, before storage sees it."""
import pytest

from nodepool.core.errors import InvalidInput
from nodepool.fakes.registry import FakeRegistry
from nodepool.status.nodes import MAX_TOKEN, NodeDirectory


@pytest.mark.parametrize("token", ["", "x" * (MAX_TOKEN + 1), "a\x00b", "a\nb", "a b", "\u00e9:x", "\ud800"])
def test_a_garbled_or_oversized_token_is_refused_with_its_code(token):
    registry = FakeRegistry()
    with pytest.raises(InvalidInput) as err:
        NodeDirectory(registry, guard=None).page(10, token)
    assert err.value.code == "invalid_next_token"


@pytest.mark.parametrize("token", [None, "test:agents000003", "1!12!dGVzdA--:1!8!YWdlbnQ-"])
def test_tokens_the_api_hands_out_pass(token):
    assert NodeDirectory(FakeRegistry(), guard=None).page(10, token) == {"nodes": [], "next": None}
