"""Benchmark: what verifying one attested document costs, the issuer's AIA fetch cached.

    python -m tests.bench.attest [--runs 500] [--json]     (or: python3 tasks.py bench attest --json)

The real Azure document of ../shared/vectors/azure-attested/ (a simulated one where ../shared is
missing, said in `document`) is verified at its own time by the production verifier: certifi's
roots, no bundled intermediates, the issuing CA and the cross-signed root fetched from the leaf's
AIA URLs on the simulator playing Microsoft's PKI host (HTTP_PROXY), Microsoft's real certificates
served under their real names. The first verification fetches; the next `runs` are timed. A
simulated document (RSA 2048, Azure's shape) is timed the same way beside it.

Figures: verify_p50_ms (goal <= 5), verify_p99_ms, first_verify_ms (with the fetches), aia_requests
(over all runs: the fetches of the first only), sim_verify_p50_ms, runs, document.
The last line is one JSON object.
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time

from nodepool.adapters.aia import AiaFetcher
from nodepool.adapters.attestation import PkcsAttestationVerifier, platform_roots
from sim import attest
from sim.pki import Pki
from tests.bench.common import emit, percentile, rounded
from tests.unit import azure_vectors as vectors


def timed(verifier, doc: dict, at: dt.datetime, runs: int) -> tuple[float, list[float]]:
    started = time.perf_counter()
    verifier.verify(doc, at)
    first = (time.perf_counter() - started) * 1000
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        verifier.verify(doc, at)
        samples.append((time.perf_counter() - started) * 1000)
    return first, samples


def run(runs: int) -> dict:
    pki, sim = Pki(), attest.Attester()
    pki.server.start()
    os.environ.update({"HTTP_PROXY": pki.url, "NO_PROXY": "127.0.0.1,localhost"})
    try:
        real = (vectors.VECTORS / "README.md").is_file()
        if real:
            for name, cert in vectors.intermediates():
                pki.publish(cert, name)
            name, doc = vectors.documents()[0]
            at = vectors.signed_at(doc)
        else:
            name, at = "simulated (../shared/vectors missing)", dt.datetime.now(dt.timezone.utc)
            doc = sim.document("3f1c2a9e-0000-4000-8000-000000000001", "0" * 32, "sub", at)
        for cert in sim.issuers():
            pki.publish(cert)
        fetcher = AiaFetcher()
        verifier = PkcsAttestationVerifier(platform_roots() + [sim.chain.root], fetcher=fetcher)
        first, samples = timed(verifier, doc, at, runs)
        now = dt.datetime.now(dt.timezone.utc)
        _, sim_samples = timed(verifier, sim.document("3f1c2a9e-0000-4000-8000-000000000001", "0" * 32, "s", now),
                               now, runs)
    finally:
        pki.server.stop()
    return rounded({"verify_p50_ms": percentile(samples, 50), "verify_p99_ms": percentile(samples, 99),
                    "first_verify_ms": first, "aia_requests": fetcher.requests,
                    "sim_verify_p50_ms": percentile(sim_samples, 50), "runs": runs, "document": name})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500, help="timed verifications of each document")
    parser.add_argument("--json", action="store_true", help="print only the figures, as one JSON line")
    args = parser.parse_args(argv)
    figures = run(args.runs)
    emit(figures, args.json, [f"{key:>18}: {value}" for key, value in figures.items()])
    return 0 if figures["verify_p50_ms"] <= 5 else 1


if __name__ == "__main__":
    sys.exit(main())
