"""Endpoints, SSH, shares and the confirmations of destructive tasks, against the simulator."""
import subprocess
import sys

from localenv.devhost_process import ROOT
from ops import catalog, deploy, remote, shares
from tests.infra.ops_support import azure_for, fixture_template, write_parameters


def deployed(sim, tmp_path, group="k3s-compute"):
    az = azure_for(sim, COMPUTE_GROUP=group)
    write_parameters(tmp_path, "compute", {"adminPublicKey": "ssh-ed25519 AAAA test"})
    deploy.deploy(az, "compute", template=fixture_template(), out=tmp_path, say=lambda _: None)
    return az


def test_list_endpoints_reads_the_deployment_outputs_and_public_names(sim, tmp_path):
    az = deployed(sim, tmp_path)
    sim.arm.estate.fqdns["k3s-compute"] = {"k3s-master0-ip": "k3s-abc.westeurope.cloudapp.azure.com"}
    found = catalog.endpoints(az, say=lambda _: None)
    assert found["control plane"] == "https://k3s-nodepool.azurewebsites.net"
    assert found["k3s-master0-ip"] == found["master (ssh)"] == "k3s-abc.westeurope.cloudapp.azure.com"


def test_proxy_connects_to_master0_on_the_deployed_port_with_the_forwards(sim, tmp_path):
    command = remote.ssh_command(deployed(sim, tmp_path))
    assert command[0] == "ssh" and command[-1] == "cluster@k3s-abc.westeurope.cloudapp.azure.com"
    assert command[command.index("-p") + 1] == "2222" and "6443:localhost:6443" in command


def test_create_shares_makes_the_missing_ones_once(sim, tmp_path):
    az = azure_for(sim, STORAGE_GROUP="k3s-storage", STORAGE_ACCOUNT_NAME="k3ssrv")
    az.resources.resource_groups.create_or_update("k3s-storage", {"location": "westeurope"})
    sim.arm.groups.resources["k3s-storage"] = [{"name": "k3ssrv", "type": "Microsoft.Storage/storageAccounts"}]
    assert shares.create(az, say=lambda _: None) == ["srv", "registry"]
    assert shares.create(az, say=lambda _: None) == []


def test_destroy_without_typing_the_group_name_deletes_nothing(sim):
    az = azure_for(sim, COMPUTE_GROUP="k3s-keep")
    az.resources.resource_groups.create_or_update("k3s-keep", {"location": "westeurope"})
    env = {k: v for k, v in az.config.values.items() if v}
    done = subprocess.run([sys.executable, "tasks.py", "destroy-compute"], cwd=ROOT, input="k3s-kep\n",
                          capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin", **env})
    assert done.returncode != 0 and "not confirmed; nothing deleted" in done.stderr
    assert az.resources.resource_groups.check_existence("k3s-keep")


def test_tail_logs_prints_the_apps_traces_after_the_start_and_then_only_new_ones(sim, tmp_path):
    from sim.logs import Logs

    logs = Logs("00000000-0000-0000-0000-0000000000ee", lambda t: t == sim.arm_token, tls=sim.tls)
    logs.server.start()
    try:
        deployed(sim, tmp_path)  # its workspaceId output names the workspace
        az = azure_for(sim, LOGS_ENDPOINT=logs.server.url)
        logs.add("2020-01-01T00:00:00.000000Z", 1, "join", "too old to show")
        logs.add("2999-01-01T00:00:01.000000Z", 1, "join", "node agents000001 joined")
        lines = []
        remote.tail_logs(az, minutes=10, follow=False, say=lines.append)
        assert len(lines) == 1 and lines[0].endswith("1 join node agents000001 joined")
    finally:
        logs.server.stop()
