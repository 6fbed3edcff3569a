"""`tasks.py intermediates` against the simulator playing Microsoft's PKI host, fed Microsoft's real CA
certificates from ../shared/vectors under their real names; and the publish hook that ships the result."""
from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest

from nodepool.adapters.attestation import PkcsAttestationVerifier, platform_roots
from nodepool.adapters.pem import BUNDLED, common_name, load_bundle
from ops import publish
from ops.errors import OpsError
from ops.intermediates import NAMES, build, refresh_for_publish
from sim import attest
from sim.http import Response
from sim.pki import Pki
from tests.unit import azure_vectors as vectors

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pki(monkeypatch):
    server = Pki()
    server.server.start()
    monkeypatch.setenv("HTTP_PROXY", server.url)  # the task's fetches go where the app's go under the local stack
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    yield server
    server.server.stop()


def microsofts(pki) -> dt.datetime:
    """Serve every vector CA under the name Microsoft's PKI serves it; the instant to check them at."""
    for name, cert in vectors.intermediates():
        pki.publish(cert, name)
    _, doc = vectors.documents()[0]
    return vectors.signed_at(doc)


@vectors.needs_vectors
def test_the_task_bundles_microsofts_issuing_cas_and_the_cross_signed_root(pki, tmp_path):
    at = microsofts(pki)
    built = build(tmp_path / "bundle.pem", now=at, say=lambda msg: None)
    bundle = load_bundle(tmp_path / "bundle.pem")
    assert [common_name(c) for c in bundle.certificates] == [
        NAMES[0], "Microsoft TLS RSA Root G2", *NAMES[1:]]  # the cross-signed root after the first CA needing it
    assert (built.skipped, bundle.fetched_at) == ([], at.isoformat())
    assert bundle.expires == min(c.not_valid_after_utc for _, c in vectors.intermediates())
    _, doc = vectors.documents()[0]
    verifier = PkcsAttestationVerifier(platform_roots(), bundle=bundle)  # no fetcher: the bundle alone
    assert verifier.verify(doc, at).vm_id == vectors.content(doc)["vmId"]


@vectors.needs_vectors
def test_wrong_missing_and_unchained_certificates_are_left_out_and_said(pki, tmp_path):
    at = microsofts(pki)
    pki.answer(NAMES[1], Response(200, b"<html>moved</html>", {"Content-Type": "text/html"}))
    del pki.published[NAMES[2]]
    impostor = attest.make_chain(root_name="Attacker Root CA", now=at).intermediate
    pki.publish(impostor, NAMES[3])  # served under Microsoft's name, but its CN and issuer are the attacker's
    built = build(tmp_path / "bundle.pem", now=at, say=lambda msg: None)
    assert [s.split(":")[0] for s in built.skipped] == [NAMES[1], NAMES[2], NAMES[3]]
    assert "did not send a certificate" in built.skipped[0] and "answered 404" in built.skipped[1]
    assert "sent Attacker Root CA Issuing CA" in built.skipped[2]
    assert len(load_bundle(tmp_path / "bundle.pem").certificates) == len(NAMES) - 3 + 1


def test_a_ca_that_does_not_chain_to_a_trusted_root_is_left_out(pki, tmp_path):
    chain = attest.make_chain()
    pki.publish(chain.intermediate)  # its issuer (the simulator's root) is not served and not trusted
    name = common_name(chain.intermediate)
    with pytest.raises(OpsError):
        build(tmp_path / "bundle.pem", names=[name], say=lambda msg: None)
    assert not (tmp_path / "bundle.pem").exists()
    built = build(tmp_path / "bundle.pem", names=[name], roots=[chain.root], say=lambda msg: None)
    assert [common_name(c) for c, _ in built.kept] == [name]


def test_nothing_fetched_leaves_the_bundle_as_it_was(pki, tmp_path):
    (tmp_path / "bundle.pem").write_text("# the old one\n")
    with pytest.raises(OpsError) as err:
        build(tmp_path / "bundle.pem", say=lambda msg: None)
    assert "answered 404" in str(err.value)
    assert (tmp_path / "bundle.pem").read_text() == "# the old one\n"


def test_publish_refreshes_a_missing_or_week_old_bundle_and_goes_on_when_it_cannot(pki, tmp_path):
    start = dt.datetime.now(dt.timezone.utc)
    chain = attest.make_chain(now=start)
    pki.publish(chain.intermediate)
    out, said = tmp_path / "bundle.pem", []

    def refresh(days: int, fetch=None):
        now = start + dt.timedelta(days=days)
        refresh_for_publish(said.append, out, now, fetch or (lambda: build(
            out, names=[common_name(chain.intermediate)], roots=[chain.root], now=now, say=said.append)))

    refresh(0)  # missing: fetched
    assert load_bundle(out).fetched_at == start.isoformat()
    refresh(6, fetch=lambda: pytest.fail("a bundle younger than a week is fetched again"))
    assert said[-1].endswith("kept")
    refresh(8)  # a week old: fetched again
    assert load_bundle(out).fetched_at == (start + dt.timedelta(days=8)).isoformat()
    refresh(16, fetch=lambda: build(out, say=said.append))  # Microsoft's PKI unreachable (nothing served there)
    assert said[-1].startswith("warning: attestation intermediates not refreshed")
    assert load_bundle(out).fetched_at == (start + dt.timedelta(days=8)).isoformat()  # the older one still ships


def test_the_bundle_is_shipped_by_publish_and_never_committed(tmp_path):
    shutil.copy(ROOT / ".funcignore", tmp_path / ".funcignore")
    target = tmp_path / BUNDLED.relative_to(ROOT)
    target.parent.mkdir(parents=True)
    target.write_text("# bundle\n")
    _, names = publish.package(tmp_path)
    assert BUNDLED.relative_to(ROOT).as_posix() in names
    ignored = subprocess.run(["git", "check-ignore", "-q", str(BUNDLED.relative_to(ROOT))], cwd=ROOT, check=False)
    assert ignored.returncode == 0
