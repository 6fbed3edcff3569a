"""`proxy` (SSH to master0 with forwarding) and `tail-logs` (the app's traces in Log Analytics)."""
from __future__ import annotations

import os
import shutil
import time
from datetime import timedelta

from ops import deploy
from ops.arm import Azure
from ops.config import ROOT
from ops.errors import OpsError

FORWARDS = ("6443:localhost:6443", "8080:localhost:80", "8443:localhost:443")  # k3s API, traefik


def ssh_command(az: Azure) -> list[str]:
    out = deploy.outputs(az, "compute")
    host, ssh = out.get("masterFqdn"), out.get("ssh") or {}
    if not host:
        raise OpsError("the compute deployment has no masterFqdn output")
    command = ["ssh", "-i", str(ROOT / az.config["SSH_KEY"]), "-p", str(ssh.get("port", az.config["SSH_PORT"]))]
    for forward in FORWARDS:
        command += ["-L", forward]
    return [*command, f"{ssh.get('user', az.config['ADMIN_USERNAME'])}@{host}"]


def proxy(az: Azure, say=print) -> None:
    command = ssh_command(az)
    if not shutil.which("ssh"):
        raise OpsError("ssh is not installed (apt-get install openssh-client)")
    say("forwarding localhost:6443 (k3s API), :8080 and :8443 (ingress) via " + command[-1])
    os.execvp("ssh", command)


QUERY = ("AppTraces | where TimeGenerated > todatetime('{since}') "
         "| project TimeGenerated, SeverityLevel, OperationName, Message | order by TimeGenerated asc")


def tail_logs(az: Azure, minutes: int = 10, follow: bool = True, interval: float = 10.0, say=print) -> None:
    from azure.monitor.query import LogsQueryClient, LogsQueryStatus

    workspace = deploy.outputs(az, "compute").get("workspaceId")
    if not workspace:
        raise OpsError("the compute deployment has no workspaceId output")
    options = {"connection_verify": az.config["ARM_CA_BUNDLE"]} if az.config["ARM_CA_BUNDLE"] else {}
    client = LogsQueryClient(az.credential, endpoint=az.config["LOGS_ENDPOINT"], **options)
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - minutes * 60))
    while True:
        result = client.query_workspace(workspace, QUERY.format(since=since), timespan=timedelta(minutes=minutes + 60))
        if result.status != LogsQueryStatus.SUCCESS:
            raise OpsError(f"log query failed: {getattr(result, 'partial_error', result.status)}")
        for row in result.tables[0].rows if result.tables else []:
            stamp = row[0].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            say(f"{stamp} {row[1]} {row[2]} {row[3]}")
            since = stamp
        if not follow:
            return
        time.sleep(interval)
