"""`tasks.py intermediates`: Microsoft's current public intermediates for IMDS attested documents,
fetched from Microsoft's PKI into the bundle the app ships (nodepool/adapters/attestation-
intermediates.pem: git-ignored, generated, put in the package by `publish`).

Azure's signing leaves are issued by the "Microsoft TLS G2 RSA CA OCSP NN" CAs (Microsoft's
Azure CA details list; NN even, 02 to 16 since the 2026 rotation), served at
http://www.microsoft.com/pkiops/certs/<name>.crt, the URL their leaves' AIA names. Each is kept only
when it is a CA valid now whose chain (followed through its own AIA URLs: the cross-signed Microsoft
TLS RSA Root G2) reaches a root the app trusts, every signature checked; the chain's certificates go
into the bundle too. The fetch is the app's own (allow-list, bounds; HTTP_PROXY honoured).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

from cryptography import x509

from nodepool.adapters.aia import AiaFetcher
from nodepool.adapters.attestation import platform_roots
from nodepool.adapters.issuers import IssuerDown, Issuers, MissingIssuer
from nodepool.adapters.pem import BUNDLED, common_name, load_bundle, write_bundle
from ops.errors import OpsError

NAMES = tuple(f"Microsoft TLS G2 RSA CA OCSP {n:02d}" for n in range(2, 17, 2))
SOURCE = "http://www.microsoft.com/pkiops/certs/"
TITLE = "Microsoft's public intermediates for IMDS attested documents: python3 tasks.py intermediates"
REFRESH_AFTER = timedelta(days=7)  # publish fetches again when the bundle is older than this
EXPIRY_MARGIN = timedelta(days=30)  # ... or when one of its certificates expires sooner


@dataclass
class Built:
    kept: list[tuple[x509.Certificate, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def build(out: Path = BUNDLED, *, fetcher: AiaFetcher | None = None, roots: Sequence[x509.Certificate] = (),
          names: Sequence[str] = NAMES, now: datetime | None = None, say: Callable[[str], None] = print) -> Built:
    """Fetch, check and write; OpsError (and the file left as it was) when nothing could be kept."""
    now = now or datetime.now(timezone.utc)
    fetcher = fetcher or AiaFetcher()
    issuers, built = Issuers(list(roots) or platform_roots(), fetcher=fetcher), Built()
    for name in names:
        url = SOURCE + quote(name) + ".crt"
        why = _check(fetcher, url, name, issuers, built, now)
        if why:
            built.skipped.append(f"{name}: {why}")
            say(f"skipped {name}: {why}")
    if not built.kept:
        raise OpsError("no intermediate could be fetched and checked; the bundle was left as it was: "
                       + "; ".join(built.skipped[:3]))
    write_bundle(out, built.kept, now, TITLE)
    say(f"{len(built.kept)} certificates -> {out} (the first expires "
        f"{min(c.not_valid_after_utc for c, _ in built.kept):%Y-%m-%d})")
    return built


def _check(fetcher: AiaFetcher, url: str, name: str, issuers: Issuers, built: Built, now: datetime) -> str:
    got = fetcher.fetch(url)
    cert = got.cert
    if cert is None:
        return got.why
    if common_name(cert) != name:
        return f"{url} sent {common_name(cert)}"
    try:
        is_ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        is_ca = False
    if not is_ca or not cert.not_valid_before_utc <= now < cert.not_valid_after_utc:
        return "not a CA valid now"
    try:
        path = issuers.path(cert, [], now)
    except (MissingIssuer, IssuerDown) as err:
        return f"no chain to a trusted root ({err})"
    origins = {id(c): u for u, c in fetcher.cached()}
    for found in [cert, *path]:
        if all(found != k for k, _ in built.kept):
            built.kept.append((found, origins.get(id(found), url)))
    return ""


def refresh_for_publish(say: Callable[[str], None], out: Path = BUNDLED, now: datetime | None = None,
                        fetch: Callable[[], Built] | None = None) -> None:
    """Before a publish: fetch again when the bundle is missing, old or about to expire; when that fails,
    say so and go on (the app fetches from the AIA URL at run time, and an older bundle still helps)."""
    now = now or datetime.now(timezone.utc)
    bundle = load_bundle(out)
    fresh = bundle is not None and bundle.fetched_at and bundle.expires is not None \
        and datetime.fromisoformat(bundle.fetched_at) > now - REFRESH_AFTER and bundle.expires > now + EXPIRY_MARGIN
    if fresh:
        say(f"attestation intermediates: {out.name} fetched {bundle.fetched_at}, kept")
        return
    try:
        (fetch or (lambda: build(out, now=now, say=say)))()
    except (OpsError, OSError) as err:
        state = f"shipping the one fetched {bundle.fetched_at}" if bundle else "shipping none"
        say(f"warning: attestation intermediates not refreshed ({err}); {state}: the app fetches them from the "
            "signer's AIA URL when it needs them")
