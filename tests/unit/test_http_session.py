"""Our clients' session reads proxies and CA bundles from the environment once per host, and then
settles every request as requests itself would with `trust_env` (compared against a plain Session)."""
import pytest
from requests import Request, Session

from nodepool.adapters.http_session import EnvironmentOnceSession
from nodepool.adapters.tables import transport
from nodepool.settings import Settings

SETTINGS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
URLS = ("https://acct.table.core.windows.net/registry", "http://127.0.0.1:10002/devstoreaccount1/registry",
        "https://10.0.0.4:6443/api/v1/nodes", "https://internal.corp/api")


@pytest.fixture
def bare_env(monkeypatch, tmp_path):
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return monkeypatch


def settled(session: Session, url: str, verify=None) -> dict:
    return session.merge_environment_settings(url, {}, False, verify, None)


@pytest.mark.parametrize("env", [{}, {"HTTPS_PROXY": "http://proxy.corp:3128"},
                                 {"https_proxy": "http://proxy.corp:3128", "no_proxy": "127.0.0.1,internal.corp"},
                                 {"HTTP_PROXY": "http://p:1", "HTTPS_PROXY": "http://p:2", "NO_PROXY": "10.0.0.4"},
                                 {"REQUESTS_CA_BUNDLE": "/etc/ssl/corp.pem"}, {"CURL_CA_BUNDLE": "/etc/ssl/curl.pem"}])
@pytest.mark.parametrize("verify", [None, True, False, "/etc/cluster-ca.pem"])
def test_every_request_is_settled_as_requests_would_with_the_environment(bare_env, env, verify):
    for name, value in env.items():
        bare_env.setenv(name, value)
    ours, theirs = EnvironmentOnceSession(), Session()
    for url in URLS:
        assert settled(ours, url, verify) == settled(theirs, url, verify), url


def test_the_environment_is_read_once_per_host_not_per_call(bare_env):
    bare_env.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    session = EnvironmentOnceSession()
    first = settled(session, URLS[0])
    bare_env.setenv("HTTPS_PROXY", "http://elsewhere:1")
    assert settled(session, URLS[0]) == first  # the worker's environment is fixed at start
    assert settled(session, URLS[2])["proxies"]["https"] == "http://elsewhere:1"  # a new host: read now


def test_the_ca_bundle_is_read_once_when_the_session_is_made(bare_env):
    bare_env.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/corp.pem")
    session = EnvironmentOnceSession()
    bare_env.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/other.pem")
    assert settled(session, URLS[2])["verify"] == "/etc/ssl/corp.pem"


def test_a_netrc_login_is_never_attached(bare_env, tmp_path):
    (tmp_path / ".netrc").write_text("machine acct.table.core.windows.net login me password secret\n")
    (tmp_path / ".netrc").chmod(0o600)
    assert "Authorization" in Session().prepare_request(Request("GET", URLS[0])).headers  # requests would
    assert "Authorization" not in EnvironmentOnceSession().prepare_request(Request("GET", URLS[0])).headers


def test_the_storage_transport_uses_it(bare_env):
    assert isinstance(transport(Settings()).session, EnvironmentOnceSession)
