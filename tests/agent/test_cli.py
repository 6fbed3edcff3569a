"""The helper as a program: --help everywhere, configuration from the environment, a real process."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.cli import ALL, KNOBS, parser
from tests.agent.stubs import FUNCTION_KEY, JOIN_TOKEN

ROOT = Path(__file__).resolve().parents[2]


def _python(*argv, env=None, timeout=60):
    return subprocess.run([sys.executable, "-m", "agent", *argv], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)


@pytest.mark.parametrize("command", [None, *ALL])
def test_help_for_every_command(command):
    done = _python(*([command] if command else []), "--help")
    assert done.returncode == 0, done.stderr
    assert "usage: nodepool-agent" in done.stdout


def test_every_knob_has_an_environment_variable_shown_in_help():
    for _flag, env, *_ in KNOBS:
        assert env.startswith("NODEPOOL_")
    assert "NODEPOOL_POLL_INTERVAL" in _python("watch", "--help").stdout


def test_environment_sets_defaults_and_flags_override():
    env = {"NODEPOOL_API_URL": "https://a/api", "NODEPOOL_POLL_INTERVAL": "0.7", "NODEPOOL_EXTRA_LABELS": "a=1, b=2"}
    args = parser(env).parse_args(["watch"])
    assert args.api_url == "https://a/api" and args.poll_interval == 0.7
    assert parser(env).parse_args(["watch", "--poll-interval", "0.3"]).poll_interval == 0.3
    assert parser(env).parse_args(["join"]).extra_labels == ["a=1", "b=2"]


def test_no_secret_can_be_passed_as_a_flag():
    assert not any("key" in flag and "file" not in flag and "uri" not in flag for flag, *_ in KNOBS)


def test_a_bad_number_in_the_environment_is_a_clear_error():
    done = _python("watch", "--api-url", "https://x/api", env={"NODEPOOL_POLL_INTERVAL": "soon"})
    assert done.returncode == 2 and "could not convert" in done.stderr


def test_api_url_is_required():
    done = _python("leave", env={"NODEPOOL_API_URL": ""})
    assert done.returncode == 2 and "--api-url" in done.stderr


def test_join_as_a_real_process_with_real_time(api, imds, tmp_path):
    """The one test on the wall clock: 503 with Retry-After: 1, then success."""
    api.on("POST", "/api/join", (503, {"Retry-After": "1"}, {"error": "master_not_registered", "message": ""}),
           (200, {}, {"server": "https://10.0.0.4:6443", "token": JOIN_TOKEN, "ca_hash": "ef" * 32,
                      "k3s_version": "v1.30.4+k3s1", "node_labels": [], "node_taints": [],
                      "expires_at": "2030-01-01T00:00:00Z"}))
    config = tmp_path / "k3s" / "config.yaml"
    started = time.monotonic()
    done = _python("join", "--start-command", "true", env={
        "NODEPOOL_API_URL": api.url, "NODEPOOL_IMDS_URL": imds.url, "NODEPOOL_FUNCTION_KEY": FUNCTION_KEY,
        "NODEPOOL_NODE_NAME": "agent000001", "NODEPOOL_K3S_CONFIG": str(config)})
    assert done.returncode == 0, done.stderr
    assert 1.0 <= time.monotonic() - started < 20
    assert JOIN_TOKEN in config.read_text() and JOIN_TOKEN not in done.stderr + done.stdout
    assert "<4>agent.backoff: POST /api/join failed (503 (master_not_registered)" in done.stderr
