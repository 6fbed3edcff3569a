"""Apps the real host would refuse are refused at start-up, with a message naming the function."""
from pathlib import Path

import pytest

from devhost.host_config import HostConfigError, parse_function_timeout
from localenv.devhost_process import DevHostError, DevHostProcess

APPS = Path(__file__).parent / "apps"


def start_failure(app: str, env: dict | None = None) -> str:
    with pytest.raises(DevHostError) as failed:
        DevHostProcess(app_dir=APPS / app, env=env).start()
    return str(failed.value)


def test_unsupported_binding_fails_start_up_naming_the_function_and_binding():
    message = start_failure("unsupported_app")
    assert "exit code 2" in message
    assert "function 'forward_to_queue'" in message and "type 'queue'" in message


def test_unresolved_setting_in_a_binding_fails_start_up_naming_the_function():
    message = start_failure("timer_app")  # SLOW_SCHEDULE is not set
    assert "function 'slow_tick'" in message and "'%SLOW_SCHEDULE%' does not resolve to a value" in message


def test_invalid_schedule_fails_start_up_naming_the_function():
    message = start_failure("timer_app", env={"SLOW_SCHEDULE": "*/5 * * * *"})
    assert "function 'slow_tick'" in message and "'*/5 * * * *' was not recognized" in message


def test_queue_trigger_without_its_connection_setting_fails_start_up(monkeypatch):
    monkeypatch.delenv("AzureWebJobsStorage", raising=False)
    message = start_failure("queue_app")
    assert "function 'flaky'" in message and "'AzureWebJobsStorage' does not exist" in message


def test_missing_app_fails_start_up(tmp_path):
    assert "host.json not found" in start_failure(str(tmp_path))


@pytest.mark.parametrize("raw, seconds", [(None, 1800.0), ("00:05:00", 300.0), ("-1", None), ("01:00:00", 3600.0)])
def test_function_timeout_is_read_as_the_host_reads_it(raw, seconds):
    """Flex Consumption's default is 30 minutes; -1 means no limit (allowed there)."""
    assert parse_function_timeout(raw) == seconds


def test_a_function_timeout_under_a_second_is_refused():
    with pytest.raises(HostConfigError, match="functionTimeout"):
        parse_function_timeout("00:00:00.5")
