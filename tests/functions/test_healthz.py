"""GET /api/healthz of the real app, through the devhost over real HTTP, against Azurite."""
import time

import requests

from localenv.azurite import Azurite

# What the app cannot start without besides storage (Settings.complete); nothing here calls them.
APP = {"NODEPOOL_TENANT_ID": "t", "AZURE_SUBSCRIPTION_ID": "s", "NODEPOOL_RESOURCE_GROUP": "rg"}


def test_healthz_is_200_with_every_check_ok(devhost):
    host = devhost(env=APP)
    reply = requests.get(f"{host.url}/api/healthz", timeout=10)
    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    body = reply.json()
    assert body["status"] == "ok"
    assert {"settings", "tables", "queues"} <= body["checks"].keys()
    assert all(check["ok"] for check in body["checks"].values())


def test_healthz_is_503_naming_the_failing_check_promptly_when_storage_goes_away(devhost):
    own = Azurite().start()
    try:
        host = devhost(env={**APP, "AzureWebJobsStorage": own.connection_string()})
        assert requests.get(f"{host.url}/api/healthz", timeout=10).status_code == 200
    finally:
        own.stop()
    started = time.monotonic()
    reply = requests.get(f"{host.url}/api/healthz", timeout=10)
    elapsed = time.monotonic() - started
    body = reply.json()
    assert reply.status_code == 503, body
    # bounded by the storage clients' own connect timeout and two retries, not by the SDKs' minutes of
    # retrying; generous, so a loaded machine does not fail it
    assert elapsed < 30, body
    failing = {name for name, check in body["checks"].items() if not check["ok"]}
    assert body["status"] == "failing" and failing & {"tables", "queues"}
    assert body["checks"]["settings"]["ok"]
