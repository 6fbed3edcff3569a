"""The storage transport reads proxy and CA-bundle settings from the environment only when some are set."""
import pytest

from nodepool.adapters.tables import transport

SETTINGS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@pytest.fixture
def bare_env(monkeypatch):
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


def test_without_proxy_or_ca_settings_requests_does_not_look_them_up_per_call(bare_env):
    assert transport().session.trust_env is False


@pytest.mark.parametrize("name, value", [("HTTPS_PROXY", "http://proxy.corp:3128"),
                                         ("https_proxy", "http://proxy.corp:3128"),
                                         ("REQUESTS_CA_BUNDLE", "/etc/ssl/corp.pem")])
def test_a_configured_proxy_or_ca_bundle_is_honoured_as_requests_does(bare_env, name, value):
    bare_env.setenv(name, value)
    assert transport().session.trust_env is True
