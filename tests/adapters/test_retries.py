"""Retries of ARM and Table Storage calls spread out: half to all of azure-core's backoff, never in lockstep."""
from azure.core.pipeline.policies import RetryPolicy

from nodepool.adapters.retries import JitteredRetry
from nodepool.adapters.scaleset import BoundedRetry


def backoffs(policy: RetryPolicy, errors: int, times: int = 200) -> list[float]:
    settings = policy.configure_retries({})
    settings["history"] = [object()] * errors  # as after `errors` consecutive failed attempts
    return [policy.get_backoff_time(settings) for _ in range(times)]


def test_each_backoff_lies_between_half_and_all_of_azure_cores_and_they_differ():
    plain = RetryPolicy(retry_backoff_factor=0.8, retry_backoff_max=8)
    jittered = JitteredRetry(retry_backoff_factor=0.8, retry_backoff_max=8)
    for errors in (2, 3, 4):
        [base] = set(backoffs(plain, errors))
        spread = backoffs(jittered, errors)
        assert all(base / 2 <= b <= base for b in spread) and len(set(spread)) > 100


def test_the_arm_adapters_bounded_retry_is_jittered_too():
    assert isinstance(BoundedRetry(), JitteredRetry) and len(set(backoffs(BoundedRetry(), 3))) > 100
