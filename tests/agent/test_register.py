"""`register` (master) and `storage-credentials` against loopback stand-ins."""
from __future__ import annotations

import base64
import hashlib
import os
import stat

from tests.agent.stubs import FUNCTION_KEY, IDENTITY_TOKEN, STUB_NONCE, Stub

CA = (b"-----BEGIN CERTIFICATE-----\n"
      b"MIIBdjCCAR2gAwIBAgIBADAKBggqhkjOPQQDAjAjMSEwHwYDVQQDDBhrM3Mtc2VydmVy\n"
      b"-----END CERTIFICATE-----\n")
CREDENTIAL = "eyJhbGciOiJSUzI1NiIsImtpZCI6InNhIn0.service-account-token.sig"
AGENT_TOKEN = "K10abc::server:0f9e8d7c6b5a"


def _files(tmp_path):
    paths = {}
    for name, data in (("ca.crt", CA), ("credential", CREDENTIAL.encode()), ("agent-token", AGENT_TOKEN.encode())):
        (tmp_path / name).write_bytes(data + (b"\n" if name != "ca.crt" else b""))
        paths[name] = str(tmp_path / name)
    return ["--ca-file", paths["ca.crt"], "--credential-file", paths["credential"],
            "--agent-token-file", paths["agent-token"], "--k3s-version", "v1.30.4+k3s1"]


def test_register_posts_the_cluster_with_server_from_imds(api, imds, run_agent, tmp_path):
    api.on("POST", "/api/cluster", (503, {"Retry-After": "3"}, {"error": "starting", "message": ""}),
           (201, {}, {"registered": True}))
    result = run_agent("register", "--api-url", api.url, *_files(tmp_path))
    assert result.code == 0, result.log
    body = api.calls("POST", "/api/cluster")[-1].body
    attested = body.pop("attested")  # the master VM's document for the nonce of this attempt
    assert base64.b64decode(attested["signature"]).decode().endswith(imds.vm_id + ":" + STUB_NONCE)
    assert len(api.calls("POST", "/api/cluster/nonce")) == len(api.calls("POST", "/api/cluster")) == 2
    assert body == {"server": "https://10.0.0.4:6443", "ca_hash": hashlib.sha256(CA).hexdigest(),
                    "ca_cert": CA.decode(), "credential": CREDENTIAL, "agent_token": AGENT_TOKEN,
                    "k3s_version": "v1.30.4+k3s1"}
    for secret in (CREDENTIAL, AGENT_TOKEN, IDENTITY_TOKEN, FUNCTION_KEY):
        assert secret not in result.log


def test_register_with_an_explicit_server_and_a_refusal(api, imds, run_agent, tmp_path):
    api.on("POST", "/api/cluster", (403, {}, {"error": "wrong_identity", "message": "agent identity"}))
    result = run_agent("register", "--api-url", api.url, "--server-url", "https://master0:6443", *_files(tmp_path))
    assert result.code == 1 and "wrong_identity" in result.log
    assert api.calls("POST", "/api/cluster")[0].body["server"] == "https://master0:6443"


def test_register_without_its_files_fails_clearly(api, imds, run_agent, tmp_path):
    result = run_agent("register", "--api-url", api.url, "--ca-file", str(tmp_path / "nope"))
    assert result.code == 1 and "cannot read" in result.log and api.seen == []


ACCOUNT_ID = "/subscriptions/0000/resourceGroups/k3s-storage/providers/Microsoft.Storage/storageAccounts/k3sshared"
STORAGE_KEY = "c3RvcmFnZS1rZXktdmFsdWUtZm9yLXRlc3Rz=="


def test_storage_credentials_lists_keys_with_the_identity_and_writes_a_private_file(imds, run_agent, tmp_path):
    seen = []

    def arm(method, path, query, headers, body):
        seen.append((method, path, query, headers.get("Authorization")))
        return 200, {}, {"keys": [{"keyName": "key1", "value": STORAGE_KEY, "permissions": "FULL"}]}

    stub = Stub(arm)
    try:
        out = tmp_path / "smb" / "k3sshared.cred"
        result = run_agent("storage-credentials", "--arm-url", stub.url, "--account-id", ACCOUNT_ID, "--out", str(out))
    finally:
        stub.close()
    assert result.code == 0, result.log
    assert seen == [("POST", ACCOUNT_ID + "/listKeys", {"api-version": "2023-05-01"}, "Bearer " + IDENTITY_TOKEN)]
    token_call = [s for s in imds.seen if s.path.endswith("/oauth2/token")][0]
    assert token_call.query["resource"] == stub.url + "/"
    assert out.read_text() == "username=k3sshared\npassword=%s\n" % STORAGE_KEY
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert STORAGE_KEY not in result.log


def test_storage_credentials_waits_out_a_403_while_the_role_assignment_propagates(imds, run_agent, tmp_path):
    answers = [(403, {}, {"error": {"code": "AuthorizationFailed", "message": "no listKeys yet"}})] * 2

    def arm(method, path, query, headers, body):
        if answers:
            return answers.pop()
        return 200, {}, {"keys": [{"keyName": "key1", "value": STORAGE_KEY, "permissions": "FULL"}]}

    stub = Stub(arm)
    try:
        out = tmp_path / "k3sshared.cred"
        result = run_agent("storage-credentials", "--arm-url", stub.url, "--account-id", ACCOUNT_ID, "--out", str(out))
    finally:
        stub.close()
    assert result.code == 0, result.log
    assert not answers and out.read_text().endswith("password=%s\n" % STORAGE_KEY)


def test_storage_credentials_refuses_a_bad_account_id(imds, run_agent, tmp_path):
    result = run_agent("storage-credentials", "--account-id", "/subscriptions/x/resourceGroups/y", "--out",
                       str(tmp_path / "c"))
    assert result.code == 1 and "not a storage account" in result.log


def test_function_key_from_key_vault_with_the_identity(api, imds, run_agent, tmp_path):
    seen = []

    def vault(method, path, query, headers, body):
        seen.append((path, query, headers.get("Authorization")))
        return 200, {}, {"value": FUNCTION_KEY, "id": "https://vault/secrets/agent-key/1"}

    stub = Stub(vault)
    (tmp_path / "node-credential").write_text("npc1.stub-node-credential\n")  # a joined node leaves
    api.on("POST", "/api/leave", (404, {}, {"error": "unknown_node", "message": ""}))
    try:
        result = run_agent("leave", "--api-url", api.url, "--node-name", "n1", "--function-key-uri",
                           stub.url + "/secrets/agent-key", env={"NODEPOOL_FUNCTION_KEY": ""})
    finally:
        stub.close()
    assert result.code == 0, result.log
    assert seen == [("/secrets/agent-key", {"api-version": "7.4"}, "Bearer " + IDENTITY_TOKEN)]
    token_calls = [s.query["resource"] for s in imds.seen if s.path.endswith("/oauth2/token")]
    assert "https://vault.azure.net" in token_calls


def test_function_key_from_a_file(api, imds, run_agent, tmp_path):
    key_file = tmp_path / "function-key"
    key_file.write_text(FUNCTION_KEY + "\n")
    api.on("POST", "/api/leave", (404, {}, {"error": "unknown_node", "message": ""}))
    result = run_agent("leave", "--api-url", api.url, "--node-name", "n1", "--function-key-file", str(key_file),
                       env={"NODEPOOL_FUNCTION_KEY": ""})
    assert result.code == 0, result.log
