"""An `ops.arm.Azure` pointed at a started simulator, and the parameter files a deployment needs."""
from __future__ import annotations

import json
from pathlib import Path

from ops import params as P
from ops.arm import Azure
from ops.config import Config

FIXTURES = Path(__file__).parent / "fixtures"


def azure_for(sim, **extra) -> Azure:
    env = {"AZURE_SUBSCRIPTION_ID": sim.subscription_id, "ARM_ENDPOINT": sim.arm_url,
           "ARM_STATIC_TOKEN": sim.arm_token, "ARM_CA_BUNDLE": sim.ca_bundle,
           "COMPUTE_GROUP": sim.world.config.resource_group, "STORAGE_GROUP": "k3s-storage", **extra}
    return Azure(Config.load(env, dotenv=Path("/nonexistent")), polling_interval=0.02)


def fixture_template(name: str = "compute") -> dict:
    return json.loads((FIXTURES / f"{name}.arm.json").read_text())


def write_parameters(out: Path, which: str, values: dict) -> None:
    P.write(out, {which: values}, say=lambda _: None)
