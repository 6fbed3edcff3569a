"""Attested join on the node: nonce from the app, document from IMDS, credential kept and sent."""
from __future__ import annotations

import base64
import stat

from tests.agent.stubs import event
from tests.agent.test_join import ANSWER, NOT_YET, _args
from tests.agent.test_leave import ACCEPTED as LEFT
from tests.agent.test_watch import ACCEPTED as FORWARDED
from tests.agent.test_watch import ME, _until

CREDENTIAL = "npc1.stub-node-credential-7d41c0ffee"
NONCES = ["0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"]


def _nonce(n: int):
    return 200, {}, {"nonce": NONCES[n], "expires_at": "2030-01-01T00:02:00+00:00"}


def _signed(call) -> str:
    return base64.b64decode(call.body["attested"]["signature"]).decode()


def test_join_sends_the_attested_document_for_the_nonce_it_was_given(api, imds, run_agent, tmp_path):
    api.on("POST", "/api/join/nonce", _nonce(0))
    api.on("POST", "/api/join", (200, {}, {**ANSWER, "node_credential": CREDENTIAL}))
    argv, _ = _args(api, tmp_path)
    result = run_agent(*argv)
    assert result.code == 0, result.log
    (asked,) = api.calls("POST", "/api/join/nonce")
    assert asked.body == {"hostname": "agent000001"}
    (fetched,) = [s for s in imds.seen if s.path.endswith("/metadata/attested/document")]
    assert fetched.query["nonce"] == NONCES[0] and fetched.headers["Metadata"] == "true"
    (join,) = api.calls("POST", "/api/join")
    assert join.body["attested"]["encoding"] == "pkcs7"
    assert _signed(join) == "stub-pkcs7:%s:%s" % (imds.vm_id, NONCES[0])
    assert (join.body["hostname"], join.body["vm_id"]) == ("agent000001", imds.vm_id)


def test_join_keeps_the_node_credential_in_a_root_only_file_and_out_of_the_log(api, imds, run_agent, tmp_path):
    api.on("POST", "/api/join/nonce", _nonce(0))
    api.on("POST", "/api/join", (200, {}, {**ANSWER, "node_credential": CREDENTIAL}))
    argv, _ = _args(api, tmp_path)
    result = run_agent(*argv, "-v")
    assert result.code == 0, result.log
    kept = tmp_path / "node-credential"
    assert kept.read_text().strip() == CREDENTIAL
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert CREDENTIAL not in result.log


def test_every_join_attempt_starts_over_with_a_new_nonce(api, imds, clock, run_agent, tmp_path):
    api.on("POST", "/api/join/nonce", _nonce(0), _nonce(1))
    api.on("POST", "/api/join", NOT_YET, (200, {}, ANSWER))
    argv, _ = _args(api, tmp_path)
    assert run_agent(*argv).code == 0
    assert [_signed(c).rsplit(":", 1)[1] for c in api.calls("POST", "/api/join")] == NONCES


def test_an_imds_failure_is_retried_with_a_new_nonce(api, imds, run_agent, tmp_path):
    imds.attested_failures = 1
    api.on("POST", "/api/join/nonce", _nonce(0), _nonce(1))
    api.on("POST", "/api/join", (200, {}, ANSWER))
    argv, _ = _args(api, tmp_path)
    result = run_agent(*argv)
    assert result.code == 0, result.log
    assert len(api.calls("POST", "/api/join/nonce")) == 2
    assert _signed(api.calls("POST", "/api/join")[0]).endswith(NONCES[1])


def test_a_refused_nonce_request_is_a_refused_join(api, imds, run_agent, tmp_path):
    api.on("POST", "/api/join/nonce", (403, {}, {"error": "forbidden", "message": "not an agent"}))
    argv, _ = _args(api, tmp_path)
    result = run_agent(*argv)
    assert result.code == 1 and "forbidden" in result.log
    assert not api.calls("POST", "/api/join")


def test_without_a_nonce_route_there_is_no_join_without_a_document(api, imds, run_agent, tmp_path):
    api.on("POST", "/api/join/nonce", (404, {}, {"error": "not_found", "message": "no such route"}))
    api.on("POST", "/api/join", (200, {}, ANSWER))
    argv, _ = _args(api, tmp_path)
    result = run_agent(*argv)
    assert result.code == 1 and "not_found" in result.log
    assert not api.calls("POST", "/api/join") and not (tmp_path / "node-credential").exists()


def test_leave_and_its_status_polls_present_the_node_credential(api, imds, run_agent, tmp_path):
    (tmp_path / "node-credential").write_text(CREDENTIAL + "\n")
    api.on("POST", "/api/leave", LEFT)
    api.on("GET", "/api/nodes/agent000001", (404, {}, {"error": "not_found", "message": "gone"}))
    result = run_agent("leave", "--api-url", api.url, "--node-name", "agent000001")
    assert result.code == 0, result.log
    calls = api.calls("POST", "/api/leave") + api.calls("GET", "/api/nodes/agent000001")
    assert [c.headers.get("X-Node-Credential") for c in calls] == [CREDENTIAL, CREDENTIAL]


def test_watch_presents_the_credential_current_at_each_call(api, imds, clock, run_agent, tmp_path):
    kept = tmp_path / "node-credential"
    kept.write_text("npc1.before-the-rejoin-0000\n")
    imds.publish([event("E1", [ME], not_before=clock.now + 30)])
    api.on("POST", "/api/events", lambda body: (kept.write_text(CREDENTIAL), FORWARDED)[1])
    api.on("GET", "/api/nodes/agent000001", (200, {}, {"name": "agent000001", "state": "deleted"}))
    run_agent("watch", "--api-url", api.url, "--node-name", "agent000001", stop=_until(clock, 40, lambda: bool(
        imds.acks)))
    (forward,) = api.calls("POST", "/api/events")
    assert forward.headers.get("X-Node-Credential") == "npc1.before-the-rejoin-0000"
    assert api.calls("GET", "/api/nodes/agent000001")[-1].headers.get("X-Node-Credential") == CREDENTIAL


def test_join_itself_does_not_send_an_old_credential(api, imds, run_agent, tmp_path):
    (tmp_path / "node-credential").write_text(CREDENTIAL)
    api.on("POST", "/api/join/nonce", _nonce(0))
    api.on("POST", "/api/join", (200, {}, ANSWER))
    argv, _ = _args(api, tmp_path)
    assert run_agent(*argv).code == 0
    calls = api.calls("POST", "/api/join/nonce") + api.calls("POST", "/api/join")
    assert all("X-Node-Credential" not in c.headers for c in calls)
