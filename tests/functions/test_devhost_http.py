"""HTTP triggers through the devhost over real HTTP (tests/functions/apps/http_app).

One host serves the module; `GET /edge/calls` tells whether a function ran.
"""
from pathlib import Path

import pytest
import requests

from localenv.devhost_process import DevHostProcess

APP = Path(__file__).parent / "apps" / "http_app"
BODY_LIMIT = 1024


@pytest.fixture(scope="module")
def host():
    with DevHostProcess(app_dir=APP, env={"FUNCTIONS_REQUEST_BODY_SIZE_LIMIT": str(BODY_LIMIT)}) as started:
        yield started


def calls(host, name: str) -> int:
    return requests.get(f"{host.url}/edge/calls", timeout=5).json().get(name, 0)


def test_route_params_reach_the_function(host):
    reply = requests.get(f"{host.url}/edge/hello/World%20Wide", timeout=5)
    assert (reply.status_code, reply.json()) == (200, {"name": "World Wide"})


def test_function_logs_reach_the_host_log_with_the_function_name(host):
    requests.get(f"{host.url}/edge/hello/logger", timeout=5)
    assert host.wait_for_log("[hello] saying hello to logger")


def test_route_prefix_comes_from_host_json(host):
    assert requests.get(f"{host.url}/api/hello/x", timeout=5).status_code == 404


def test_literal_routes_match_case_insensitively_with_a_trailing_slash(host):
    assert requests.get(f"{host.url}/EDGE/Hello/x/", timeout=5).json() == {"name": "x"}


def test_int_constraint_picks_the_constrained_route_only_for_numbers(host):
    assert requests.get(f"{host.url}/edge/items/42", timeout=5).json() == {"by": "id", "id": 42}
    assert requests.get(f"{host.url}/edge/items/abc", timeout=5).json() == {"by": "slug", "slug": "abc"}


def test_optional_route_param(host):
    assert requests.get(f"{host.url}/edge/pages", timeout=5).json() == {"page": None}
    assert requests.get(f"{host.url}/edge/pages/7", timeout=5).json() == {"page": "7"}


def test_unknown_route_is_404(host):
    assert requests.get(f"{host.url}/edge/nowhere", timeout=5).status_code == 404


def test_method_not_allowed_by_the_route_is_404_like_azure_and_never_runs(host):
    before = calls(host, "echo")
    for method in ("GET", "DELETE"):
        assert requests.request(method, f"{host.url}/edge/echo", timeout=5).status_code == 404
    assert calls(host, "echo") == before


def test_request_and_response_are_converted_both_ways(host):
    reply = requests.put(f"{host.url}/edge/echo?a=1&a=2&empty=", data="héllo".encode(),
                         headers={"X-Sample": "s1"}, timeout=5)
    assert reply.status_code == 201
    assert reply.headers["X-Echoed"] == "yes"
    assert reply.headers["Content-Type"] == "application/json"
    body = reply.json()
    assert body["method"] == "PUT"
    assert body["params"] == {"a": "1,2", "empty": ""}
    assert body["header"] == "s1"
    assert body["body"] == "héllo"
    assert body["url"].endswith("/edge/echo?a=1&a=2&empty=")


def test_a_returned_string_is_a_200_text_response(host):
    reply = requests.get(f"{host.url}/edge/text", timeout=5)
    assert (reply.status_code, reply.text, reply.headers["Content-Type"]) == (
        200, "plain text", "text/plain; charset=utf-8")


AUTH_CASES = [
    # route,       how the key is sent,   which key,  status
    ("secret",     None,                  None,       401),
    ("secret",     "header",              "wrong",    401),
    ("secret",     "query",               "wrong",    401),
    ("secret",     "header",              "function", 200),
    ("secret",     "query",               "function", 200),
    ("secret",     "header",              "master",   200),
    ("admin-only", None,                  None,       401),
    ("admin-only", "header",              "function", 401),
    ("admin-only", "query",               "function", 401),
    ("admin-only", "header",              "master",   200),
    ("admin-only", "query",               "master",   200),
]


@pytest.mark.parametrize("route, sent, key, status", AUTH_CASES)
def test_auth_levels(host, route, sent, key, status):
    function = route.replace("-", "_")
    value = {"function": host.function_key, "master": host.master_key, "wrong": "not-a-key"}.get(key)
    headers = {"x-functions-key": value} if sent == "header" else {}
    params = {"code": value} if sent == "query" else {}
    before = calls(host, function)
    reply = requests.get(f"{host.url}/edge/{route}", headers=headers, params=params, timeout=5)
    assert reply.status_code == status
    assert calls(host, function) == before + (1 if status == 200 else 0)  # a 401 never runs the function


def test_keys_and_query_strings_never_reach_the_logs(host):
    requests.get(f"{host.url}/edge/secret", params={"code": host.function_key}, timeout=5)
    requests.get(f"{host.url}/edge/admin-only", headers={"x-functions-key": host.master_key}, timeout=5)
    assert host.wait_for_log("GET /edge/admin-only 200")
    logs = host.logs()
    assert "GET /edge/secret 200" in logs
    assert host.function_key not in logs and host.master_key not in logs and "code=" not in logs


def test_body_at_the_limit_is_accepted(host):
    reply = requests.post(f"{host.url}/edge/echo", data=b"x" * BODY_LIMIT, timeout=5)
    assert (reply.status_code, reply.json()["size"]) == (201, BODY_LIMIT)


def test_body_over_the_limit_is_413_and_never_runs(host):
    before = calls(host, "echo")
    assert requests.post(f"{host.url}/edge/echo", data=b"x" * (BODY_LIMIT + 1), timeout=5).status_code == 413
    chunked = iter([b"x" * 600, b"y" * 600])  # no Content-Length: the limit holds for chunked bodies too
    assert requests.post(f"{host.url}/edge/echo", data=chunked, timeout=5).status_code == 413
    assert calls(host, "echo") == before


def test_unhandled_exception_is_a_500_that_hides_internals(host):
    reply = requests.get(f"{host.url}/edge/boom", timeout=5)
    assert reply.status_code == 500
    assert "hunter2" not in reply.text and "Traceback" not in reply.text and "RuntimeError" not in reply.text
    assert host.wait_for_log("RuntimeError: internal detail")  # the traceback goes to the host's log
    assert requests.get(f"{host.url}/edge/hello/still-up", timeout=5).status_code == 200


def test_generated_master_key_is_printed_and_works_when_no_keys_are_configured():
    with DevHostProcess(app_dir=APP, keys=False) as host:
        assert host.function_key is None and host.master_key
        assert f"devhost master key (generated): {host.master_key}" in host.logs()
        reply = requests.get(f"{host.url}/edge/admin-only", headers={"x-functions-key": host.master_key}, timeout=5)
        assert reply.status_code == 200


def test_local_settings_values_load_under_the_environment(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    for name in ("function_app.py", "host.json"):
        (app / name).write_bytes((APP / name).read_bytes())
    (app / "local.settings.json").write_text(
        '{"IsEncrypted": false, "Values": {"SAMPLE_FROM_FILE": "file", "SAMPLE_BOTH": "file"}}')
    with DevHostProcess(app_dir=app, env={"SAMPLE_BOTH": "environment"}) as host:
        def setting(name):
            return requests.get(f"{host.url}/edge/setting/{name}", timeout=5).json()["value"]
        assert setting("SAMPLE_FROM_FILE") == "file"
        assert setting("SAMPLE_BOTH") == "environment"


def test_sigterm_stops_the_host_cleanly_and_kill_does_not():
    stopped, killed = DevHostProcess(app_dir=APP).start(), DevHostProcess(app_dir=APP).start()
    assert stopped.stop() == 0
    killed.kill()
    assert killed.returncode == -9
