"""register and join: the helper against the simulator's IMDS and the real app in the dev host.

The master registers with what the k3s server would have on disk (KubeSim.registration() as
files); agents join, and the token written into the k3s config is presented to the simulator's
supervisor, which checks bootstrap tokens, the CA hash and node passwords as k3s does.
"""
from __future__ import annotations

import json
import threading

import pytest

from infra.cloud_init import agent_zipapp
from sim.kube import JoinRefused
from sim.kube.wire import K3S_VERSION
from tests.agent.integration import wait

SPOT = "kubernetes.azure.com/scalesetpriority"


@pytest.fixture
def pyz(tmp_path):
    """The helper exactly as cloud-init installs it."""
    path = tmp_path / "agent.pyz"
    path.write_bytes(agent_zipapp())
    return path


def master_files(cluster, tmp_path) -> dict[str, str]:
    """What the master's k3s server has on disk, as the register command reads it (node.env style)."""
    kube = cluster.sim.kube
    (tmp_path / "credential").write_text(kube.token + "\n")
    (tmp_path / "agent-token").write_text(kube.agent_token + "\n")
    return {"NODEPOOL_CA_FILE": kube.ca_file, "NODEPOOL_CREDENTIAL_FILE": str(tmp_path / "credential"),
            "NODEPOOL_AGENT_TOKEN_FILE": str(tmp_path / "agent-token"), "NODEPOOL_SERVER_URL": kube.url,
            "NODEPOOL_K3S_VERSION": K3S_VERSION, "NODEPOOL_REGISTER_TIMEOUT": "20"}


def test_join_waits_out_503_until_the_master_registers_then_k3s_accepts_the_token(cluster, node_on, pyz,
                                                                                 tmp_path):
    agent, master = node_on(0), node_on("master0")
    outcome = {}
    joining = threading.Thread(target=lambda: outcome.update(run=agent.run("join", "--join-timeout", "30",
                                                                           max_sleep=0.2)))
    joining.start()
    try:
        wait(lambda: agent.sleeps, what="the join's first 503")
        # The master registers from its own IMDS identity, as its cloud-init does (a real process).
        registered = master.zipapp(pyz, "register", env=master_files(cluster, tmp_path))
        assert registered.code == 0, registered.log
        assert "registered %s" % cluster.sim.kube.url in registered.log
    finally:
        joining.join(40)
    result = outcome["run"]
    assert result.code == 0, result.log
    assert "master_not_registered" in result.log
    assert min(agent.sleeps) >= 15  # every wait honoured the app's Retry-After (15 s; shortened here)

    config = agent.config()
    kube = cluster.sim.kube
    assert config["server"] == kube.url
    assert config["token"].startswith("K10%s::" % kube.ca_hash)
    assert config["node-name"] == agent.name
    assert set(config["node-label"]) == {"nodepool/pool=agents", SPOT + "=spot"}
    assert "node-role.kubernetes.io/agent" in result.log  # dropped: the kubelet may not set it on itself
    assert config["token"] not in result.log

    node = agent.kubelet_join()
    assert node["metadata"]["labels"][SPOT] == "spot"
    assert node["spec"]["providerID"] == agent.vm.provider_id
    assert kube.secret("kube-system", "%s.node-password.k3s" % agent.name) is not None
    row = cluster.node_row(agent.name)
    assert row["state"] == "joining" and row["vm_id"] == agent.vm.vm_id.lower()


def test_join_gives_up_within_its_bound_while_the_master_is_missing(cluster, node_on):
    agent = node_on(0)
    result = agent.run("join", "--join-timeout", "1")
    assert result.code == 1
    assert "gave up" in result.log and "master_not_registered" in result.log
    assert result.seconds < 10  # bounded: it does not wait out the 15 s Retry-After
    assert not agent.k3s_config.exists() and not agent.started.exists()


def test_join_as_a_zipapp_process_configured_like_the_systemd_unit(cluster, node_on, pyz):
    cluster.register_master()
    agent = node_on(1)
    result = agent.zipapp(pyz, "join")
    assert result.code == 0, result.log
    assert result.log.startswith("<6>")  # journald priority prefixes
    assert agent.kubelet_join()["metadata"]["name"] == agent.name


def test_rejoin_after_reimage_sends_fresh_and_k3s_accepts_the_new_node_password(cluster, node_on):
    cluster.register_master()
    kube, sim = cluster.sim.kube, cluster.sim
    first = node_on(0, disk="first-disk")
    first.join()
    old_password = first.password_file.read_text().strip()
    old_uid = kube.node(first.name)["metadata"]["uid"]

    # A reboot on the same disk: not fresh, the Node stays, the same password is accepted again.
    again = first.run("join", "--join-timeout", "20")
    assert again.code == 0 and "k3s node password present" in again.log, again.log
    assert first.kubelet_join()["metadata"]["uid"] == old_uid

    sim.world.act("reimage", [first.vm.instance_id])
    sim.wait_until(lambda: sim.vm(first.vm.instance_id).power == "running")
    reimaged = node_on(0, disk="reimaged-disk")  # a new OS disk: no k3s config, no node password
    assert not reimaged.password_file.exists()

    # What k3s on the new disk would meet without `fresh`: the old Node's password secret.
    (reimaged.disk / "etc/rancher/node").mkdir(parents=True)
    reimaged.password_file.write_text("new-disk-password\n")
    # A token of its own: the first disk's may be revoked by now (used tokens are, by the cleanup timer).
    presented = json.loads(first.started.read_text())
    presented["config"]["token"], presented["password"] = kube.create_join_token(), "new-disk-password"
    reimaged.started.write_text(json.dumps(presented))
    with pytest.raises(JoinRefused) as refused:
        reimaged.kubelet_join()
    assert refused.value.reason == "node_password_rejected"
    reimaged.password_file.unlink()

    result = reimaged.run("join", "--join-timeout", "20")
    assert result.code == 0, result.log
    assert "fresh disk" in result.log
    new_password = reimaged.password_file.read_text().strip()
    assert new_password != old_password
    node = reimaged.kubelet_join()  # accepted: the app removed the stale Node and its password secret
    assert node["metadata"]["uid"] != old_uid
