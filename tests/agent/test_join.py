"""`join` against loopback IMDS and API stand-ins."""
from __future__ import annotations

import base64
import sys

from tests.agent.stubs import FUNCTION_KEY, IDENTITY_TOKEN, JOIN_TOKEN, STUB_NONCE

CA = "cd" * 32
ANSWER = {"server": "https://10.0.0.4:6443", "token": JOIN_TOKEN, "ca_hash": CA, "k3s_version": "v1.30.4+k3s1",
          "node_labels": ["nodepool/pool=agents", "node-role.kubernetes.io/agent=true"],
          "node_taints": ["kubernetes.azure.com/scalesetpriority=spot:NoSchedule"],
          "expires_at": "2030-01-01T00:15:00Z"}
NOT_YET = (503, {"Retry-After": "7"}, {"error": "master_not_registered", "message": "no master yet"})


def _args(api, tmp_path, *extra):
    marker = tmp_path / "started"
    start = "%s -c \"open('%s', 'w').write('k3s')\"" % (sys.executable, marker)
    return ["join", "--api-url", api.url, "--node-name", "agent000001", "--k3s-config",
            str(tmp_path / "config.yaml"), "--start-command", start,
            "--node-password-file", str(tmp_path / "node-password"), *extra], marker


def test_join_waits_out_503_retry_after_then_writes_config_and_starts_k3s(api, imds, clock, run_agent, tmp_path):
    api.on("POST", "/api/join", NOT_YET, NOT_YET, (200, {}, ANSWER))
    argv, marker = _args(api, tmp_path)
    t0 = clock.now
    result = run_agent(*argv)
    assert result.code == 0, result.log
    assert len(api.calls("POST", "/api/join")) == 3
    assert clock.sleeps[:2] == [7.7, 7.7]  # Retry-After 7 s + jitter (rand=0.5 -> 10 %)
    assert clock.now - t0 >= 14
    config = (tmp_path / "config.yaml").read_text()
    assert 'token: "K10%s::%s"' % (CA, JOIN_TOKEN) in config
    assert 'node-name: "agent000001"' in config and '"nodepool/pool=agents"' in config
    assert "node-role.kubernetes.io/agent" not in config  # the control plane sets role labels
    assert marker.read_text() == "k3s"


def test_join_sends_hostname_vm_id_identity_and_function_key(api, imds, run_agent, tmp_path):
    api.on("POST", "/api/join", (200, {}, ANSWER))
    argv, _ = _args(api, tmp_path)
    assert run_agent(*argv).code == 0
    (call,) = api.calls("POST", "/api/join")
    attested = call.body.pop("attested")
    assert call.body == {"hostname": "agent000001", "vm_id": imds.vm_id, "fresh": True}
    assert base64.b64decode(attested["signature"]).decode().endswith(imds.vm_id + ":" + STUB_NONCE)
    assert call.headers["Authorization"] == "Bearer " + IDENTITY_TOKEN
    assert call.headers["x-functions-key"] == FUNCTION_KEY
    token_calls = [s for s in imds.seen if s.path.endswith("/oauth2/token")]
    assert token_calls[0].query["resource"] == "api://nodepool"  # the default audience


def test_join_says_fresh_only_while_the_disk_has_no_k3s_node_password(api, imds, run_agent, tmp_path):
    api.on("POST", "/api/join", (200, {}, ANSWER))
    argv, _ = _args(api, tmp_path)
    assert run_agent(*argv).code == 0
    (tmp_path / "node-password").write_text("written by k3s at its first start\n")
    assert run_agent(*argv).code == 0
    assert [c.body["fresh"] for c in api.calls("POST", "/api/join")] == [True, False]


def test_join_passes_the_identity_client_id_and_audience(api, imds, run_agent, tmp_path):
    api.on("POST", "/api/join", (200, {}, ANSWER))
    argv, _ = _args(api, tmp_path, "--identity-client-id", "c1d2", "--audience", "api://nodepool")
    assert run_agent(*argv).code == 0
    (token_call,) = [s for s in imds.seen if s.path.endswith("/oauth2/token")]
    assert token_call.query == {"api-version": "2018-02-01", "resource": "api://nodepool", "client_id": "c1d2"}


def test_join_gives_up_after_its_time_budget_and_starts_nothing(api, imds, clock, run_agent, tmp_path):
    api.on("POST", "/api/join", NOT_YET)
    argv, marker = _args(api, tmp_path, "--join-timeout", "60")
    t0 = clock.now
    result = run_agent(*argv)
    assert result.code == 1
    assert "gave up" in result.log
    assert 60 <= clock.now - t0 <= 61
    assert not (tmp_path / "config.yaml").exists() and not marker.exists()


def test_join_refused_is_not_retried(api, imds, run_agent, tmp_path):
    api.on("POST", "/api/join", (403, {}, {"error": "unknown_instance", "message": "not in the scale set"}))
    argv, marker = _args(api, tmp_path)
    result = run_agent(*argv)
    assert result.code == 1
    assert len(api.calls("POST", "/api/join")) == 1
    assert "unknown_instance" in result.log and not marker.exists()


def test_join_retries_identity_token_errors_from_imds(api, imds, run_agent, tmp_path):
    imds.token_failures = 2
    api.on("POST", "/api/join", (200, {}, ANSWER))
    argv, _ = _args(api, tmp_path)
    assert run_agent(*argv).code == 0


def test_join_when_app_is_down_retries_then_fails(imds, clock, run_agent, tmp_path, dead_url):
    argv = ["join", "--api-url", dead_url, "--node-name", "n1", "--k3s-config", str(tmp_path / "c.yaml"),
            "--start-command", "", "--join-timeout", "30"]
    result = run_agent(*argv)
    assert result.code == 1
    assert "Connection refused" in result.log or "refused" in result.log.lower()


def test_no_secret_is_ever_logged(api, imds, run_agent, tmp_path):
    api.on("POST", "/api/join", NOT_YET, (200, {}, ANSWER))
    argv, _ = _args(api, tmp_path, "--verbose")
    result = run_agent(*argv)
    assert result.code == 0
    for secret in (JOIN_TOKEN, IDENTITY_TOKEN, FUNCTION_KEY):
        assert secret not in result.log
    assert all(line.startswith("<") for line in result.log.splitlines())  # journald priority prefix
