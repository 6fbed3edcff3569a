"""The operator's invoke tasks (added to tasks.py's namespace): parse arguments, call one ops function.

Every failure the operator can act on ends as one line `TASK: message` and a non-zero exit.
"""
from __future__ import annotations

import sys
from contextlib import contextmanager

from invoke import task

from ops.config import ROOT, Config
from ops.errors import OpsError


def say(msg: str) -> None:
    print(f"[tasks] {msg}", flush=True)


@contextmanager
def failures(name: str):
    from azure.core.exceptions import AzureError, ClientAuthenticationError
    from requests import RequestException

    try:
        yield
    except OpsError as err:
        sys.exit(f"{name}: {err}")
    except ClientAuthenticationError as err:
        sys.exit(f"{name}: not signed in to Azure ({type(err).__name__}); run `az login` or set AZURE_* credentials")
    except AzureError as err:
        sys.exit(f"{name}: Azure refused: " + (str(err).strip().splitlines() or [type(err).__name__])[0])
    except (RequestException, OSError) as err:
        sys.exit(f"{name}: {type(err).__name__}: {err}")


def azure():
    from ops.arm import Azure

    return Azure(Config.load())


POOL = {"pool": "one scale set (pool) by name; default: every pool in COMPUTE_GROUP"}
WHICH = {"which": "storage or compute (default compute)"}


@task(help={"force": "replace an existing key pair"})
def keys(c, force=False):
    """Generate the admin SSH key pair (keys/cluster, keys/cluster.pub; SSH_KEY moves it)."""
    from ops.keys import generate

    with failures("keys"):
        generate(ROOT / Config.load()["SSH_KEY"], force=force, say=say)


@task
def preflight(c):
    """Check the subscription before deploying: offer, sizes, Spot, quota, providers, rights, names."""
    from ops import preflight as checks

    with failures("preflight"):
        failed = [f for f in checks.run(azure(), say=say) if f.level == "FAIL"]
        if failed:
            raise OpsError(f"{len(failed)} check(s) would fail the deployment: fix the FAIL lines above")
        say("preflight passed: deploy-storage, then deploy-compute")


@task(help={"out": "where the compiled ARM JSON goes (default .run/arm)"})
def build(c, out=".run/arm"):
    """Compile infra/bicep (storage.bicep, compute.bicep) to ARM JSON with bicep or `az bicep`."""
    from ops.bicep import build as compile_all

    with failures("build"):
        compile_all(ROOT / out, say=say)


def _deploy(which: str, no_wait: bool, what_if: bool, arm_dir: str):
    from ops import deploy

    with failures(f"deploy-{which}"):
        outputs = deploy.deploy(azure(), which, out=ROOT / arm_dir, wait=not no_wait, say=say, preview=what_if)
        for name, value in (outputs or {}).items():
            say(f"  {name} = {value.get('value') if isinstance(value, dict) else value}")


DEPLOY_HELP = {"no_wait": "start the deployment and return (watch-deployment follows it)",
               "what_if": "show ARM's what-if of the deployment (after its validation) and deploy nothing",
               "arm_dir": "where params wrote the parameter files and the compiled templates go (default .run/arm)"}


@task(help=DEPLOY_HELP)
def deploy_storage(c, no_wait=False, what_if=False, arm_dir=".run/arm"):
    """Deploy storage.bicep into STORAGE_GROUP: the /srv shares and the Key Vault (survive destroy-compute)."""
    _deploy("storage", no_wait, what_if, arm_dir)


@task(help=DEPLOY_HELP)
def deploy_compute(c, no_wait=False, what_if=False, arm_dir=".run/arm"):
    """Deploy compute.bicep into COMPUTE_GROUP: network, master0, agent pools, the Function App."""
    _deploy("compute", no_wait, what_if, arm_dir)


@task(help=WHICH)
def view_deployment(c, which="compute"):
    """Show the deployment's state and each of its operations."""
    from ops import deploy

    with failures("view-deployment"):
        deploy.view(azure(), which, say=say)


@task(help={**WHICH, "interval": "seconds between polls (default 5)"})
def watch_deployment(c, which="compute", interval=5.0):
    """Follow the deployment's operations live until it ends; non-zero unless it Succeeded."""
    from ops import deploy

    with failures("watch-deployment"):
        if deploy.watch(azure(), which, interval=float(interval), say=say) != "Succeeded":
            raise OpsError(f"{which} deployment did not succeed")
