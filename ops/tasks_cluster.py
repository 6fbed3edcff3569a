"""invoke tasks for the cluster's lifecycle, publishing, access and read-only listings."""
from __future__ import annotations

import shutil

from invoke import task

from ops.config import ROOT, Config
from ops.errors import OpsError
from ops.tasks import azure, failures, say


def _confirm(group: str, yes: bool) -> None:
    if not yes and input(f"this deletes resource group {group}; type its name to go on: ").strip() != group:
        raise OpsError("not confirmed; nothing deleted")


@task(help={"yes": "do not ask for the group's name"})
def destroy_compute(c, yes=False):
    """Delete COMPUTE_GROUP (VMs, app, network); the /srv storage stays. The usual end of a day."""
    from ops import deploy

    with failures("destroy-compute"):
        az = azure()
        _confirm(az.config["COMPUTE_GROUP"], yes)
        deploy.forget_storage_access(az, say=say)
        deploy.destroy(az, az.config["COMPUTE_GROUP"], say=say)


@task(help={"yes": "do not ask for the group's name"})
def destroy_storage(c, yes=False):
    """Delete the storage group and everything on /srv (avoid: the data is gone)."""
    from ops import deploy

    with failures("destroy-storage"):
        az = azure()
        _confirm(az.config.storage_group, yes)
        deploy.destroy(az, az.config.storage_group, say=say)


@task(help={"yes": "do not ask for the groups' names"})
def destroy_cluster(c, yes=False):
    """Delete the compute and the storage groups: the whole cluster."""
    from ops import deploy

    with failures("destroy-cluster"):
        az = azure()
        for group in (az.config["COMPUTE_GROUP"], az.config.storage_group):
            _confirm(group, yes)
            deploy.destroy(az, group, say=say)


@task(help={"yes": "do not ask for the group's name"})
def redeploy(c, yes=False):
    """destroy-compute, then deploy-compute with the current parameters (storage untouched)."""
    from ops import deploy

    with failures("redeploy"):
        az = azure()
        _confirm(az.config["COMPUTE_GROUP"], yes)
        deploy.forget_storage_access(az, say=say)
        deploy.destroy(az, az.config["COMPUTE_GROUP"], say=say)
        deploy.deploy(az, "compute", say=say)


@task
def clean(c):
    """Remove generated files: .run/arm (templates, parameter files) and .run/cloud-init."""
    for folder in (ROOT / ".run" / "arm", ROOT / ".run" / "cloud-init"):
        if folder.exists():
            shutil.rmtree(folder)
            say(f"removed {folder}")


@task
def create_shares(c):
    """Create the /srv and registry shares on the storage account if missing (deploy-storage does too)."""
    from ops import shares

    with failures("create-shares"):
        shares.create(azure(), say=say)


@task(help={"scm": "deployment endpoint (default https://APP.scm.azurewebsites.net)",
            "retry_wait": "seconds between uploads while the app's storage role propagates (default 30)"})
def publish(c, scm="", retry_wait=30.0):
    """Zip the app, deploy it with a remote build, wait for it, and put the agents' key in Key Vault."""
    from ops import function_key
    from ops import publish as P
    from ops.intermediates import refresh_for_publish

    with failures("publish"):
        az, cfg = azure(), Config.load()
        refresh_for_publish(say)  # the bundled intermediates for attested documents, generated into the package
        archive, names = P.package()
        say(f"package: {len(names)} files")
        url = (scm or f"https://{cfg.function_app}.scm.azurewebsites.net").rstrip("/")
        P.publish(url, az.arm_token(), archive, verify=cfg["ARM_CA_BUNDLE"] or True, retry_wait=float(retry_wait),
                  say=say)
        say("published")
        function_key.deliver(az, say=say)


@task
def proxy(c):
    """SSH to master0, forwarding localhost:6443 (k3s API) and :8080/:8443 (ingress)."""
    from ops import remote

    with failures("proxy"):
        remote.proxy(azure(), say=say)


@task(aliases=("tail-helper",),
      help={"minutes": "how far back to start (default 10)", "no_follow": "print once and exit"})
def tail_logs(c, minutes=10, no_follow=False):
    """The Function App's logs (AppTraces in Log Analytics), followed live. Seed: tail-helper."""
    from ops import remote

    with failures("tail-logs"):
        remote.tail_logs(azure(), int(minutes), follow=not no_follow, say=say)


@task
def list_endpoints(c):
    """Public names: master0's SSH address and the control plane's URL."""
    from ops import catalog

    with failures("list-endpoints"):
        catalog.endpoints(azure(), say=say)


@task
def list_resources(c):
    """Every resource in the compute and storage groups."""
    from ops import catalog

    with failures("list-resources"):
        catalog.resources(azure(), say=say)


@task
def list_locations(c):
    """Azure regions of the subscription."""
    from ops import catalog

    with failures("list-locations"):
        catalog.locations(azure(), say=say)


@task(help={"location": "region (default LOCATION)"})
def list_sizes(c, location=""):
    """VM sizes in the region."""
    from ops import catalog

    with failures("list-sizes"):
        catalog.sizes(azure(), location or None, say=say)


@task(help={"location": "region (default LOCATION)"})
def list_images(c, location=""):
    """Ubuntu LTS image SKUs in the region (the image the VMs use)."""
    from ops import catalog

    with failures("list-images"):
        catalog.images(azure(), location or None, say=say)
