"""The AIA fetcher over real HTTP, against the simulator's Microsoft PKI host (sim/pki.py) as a proxy:
what it fetches, what it refuses before any request, its bounds and its cache."""
from __future__ import annotations

import pytest
import requests

from nodepool.adapters.aia import AiaFetcher, refusal
from nodepool.fakes.clock import ManualClock
from nodepool.identity.attestation import PKI_HOSTS
from sim import attest
from sim.http import Hangup, Response
from sim.pki import Pki
from tests.unit.attest_docs import NOW, chain

CA = chain().intermediate
CA_NAME = "Simulated TLS G2 RSA CA OCSP 02"
URL = attest.issuer_urls(CA_NAME)[0]


@pytest.fixture
def pki():
    server = Pki(lambda: [CA])
    server.server.start()
    yield server
    server.server.stop()


def fetcher(pki, **kwargs) -> AiaFetcher:
    session = requests.Session()
    session.trust_env = False
    session.proxies = {"http": pki.url}  # as HTTP_PROXY does under the local stack
    return AiaFetcher(session=session, clock=kwargs.pop("clock", ManualClock(NOW)), **kwargs)


def asked(pki) -> int:
    return sum(n for hit, n in pki.server.hits.items() if "/pkiops/" in hit)


def test_the_issuer_at_an_allowed_url_is_fetched_once_then_served_from_the_cache(pki):
    fetch = fetcher(pki)
    assert fetch.fetch(URL).cert == CA
    assert fetch.fetch(URL).cert == CA
    assert (asked(pki), fetch.requests) == (1, 1)
    assert fetch.cached() == [(URL, CA)]


def test_a_miss_is_cached_for_minutes_and_then_asked_again(pki):
    clock = ManualClock(NOW)
    fetch = fetcher(pki, clock=clock)
    missing = URL.replace("OCSP%2002", "OCSP%2099")
    assert "answered 404" in fetch.fetch(missing).why
    fetch.fetch(missing)
    assert asked(pki) == 1
    clock._monotonic += 301
    fetch.fetch(missing)
    assert asked(pki) == 2


@pytest.mark.parametrize("url, why", [
    ("http://pki.example.org/pkiops/certs/x.crt", "not an allowed PKI host"),
    ("http://www.microsoft.com.evil.example/pkiops/certs/x.crt", "not an allowed PKI host"),
    ("http://www.microsoft.com:8080/pkiops/certs/x.crt", "not the default"),
    ("http://user@www.microsoft.com/pkiops/certs/x.crt", "not a plain http(s) URL"),
    ("ftp://www.microsoft.com/pkiops/certs/x.crt", "not a plain http(s) URL"),
    ("ldap://www.microsoft.com/CN=x", "not a plain http(s) URL"),
    ("http://169.254.169.254/metadata/identity/oauth2/token", "not an allowed PKI host"),
    ("http://[::1]/x.crt", "not an allowed PKI host"),
])
def test_urls_off_the_allow_list_are_refused_without_a_request(pki, url, why):
    assert why in refusal(url, PKI_HOSTS)
    assert why in fetcher(pki).fetch(url).why and asked(pki) == 0


@pytest.mark.parametrize("addresses", [["10.0.0.5"], ["169.254.169.254"], ["127.0.0.1"], ["::1"], ["fd00::1"],
                                       ["20.112.52.29", "192.168.1.1"], []])
def test_a_pki_host_that_resolves_to_a_non_public_address_is_not_asked(addresses):
    fetch = AiaFetcher(resolve=lambda host: addresses, session=_Recording())
    outcome = fetch.fetch(URL)
    assert outcome.cert is None and "non-public address" in outcome.why and fetch.requests == 0


def test_plain_http_connects_to_the_address_checked_with_the_host_named():
    session = _Recording()
    AiaFetcher(resolve=lambda host: ["20.112.52.29"], session=session).fetch(URL)
    assert session.seen == [("http://20.112.52.29/pkiops/certs/Simulated%20TLS%20G2%20RSA%20CA%20OCSP%2002.crt",
                             "www.microsoft.com")]


def test_a_name_that_does_not_resolve_is_down_not_refused():
    def fails(host):
        raise OSError("no such name")
    outcome = AiaFetcher(resolve=fails, session=_Recording()).fetch(URL)
    assert outcome.down and "does not resolve" in outcome.why


@pytest.mark.parametrize("answer, why, down", [
    (Response(200, b"x" * 20000, {"Content-Type": "application/pkix-cert"}), "more than 16384 bytes", False),
    (Response(200, b"<html>not found</html>", {"Content-Type": "text/html"}), "did not send a certificate", False),
    (Response(301, b"", {"Location": "http://pki.example.org/x.crt"}), "answered 301", False),
    (Response(503, b""), "answered 503", True),
])
def test_bad_answers_are_misses_and_server_errors_are_down(pki, answer, why, down):
    pki.answer(CA_NAME, answer)
    outcome = fetcher(pki).fetch(URL)
    assert outcome.cert is None and why in outcome.why and outcome.down == down


def test_a_host_that_hangs_up_is_down(pki):
    def hang_up(request):
        raise Hangup()
    pki.answer(CA_NAME, hang_up)
    outcome = fetcher(pki, timeout_s=1.0).fetch(URL)
    assert outcome.down and "did not answer" in outcome.why


def test_a_pem_answer_is_read_too(pki):
    from cryptography.hazmat.primitives.serialization import Encoding
    pki.answer(CA_NAME, Response(200, CA.public_bytes(Encoding.PEM), {"Content-Type": "application/x-pem-file"}))
    assert fetcher(pki).fetch(URL).cert == CA


class _Recording(requests.Session):
    """No network: records where a request would go."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def get(self, url, **kwargs):
        self.seen.append((url, kwargs["headers"].get("Host")))
        raise requests.ConnectionError("not in this test")
