"""The worker supervisor's parts: restart backoff and each worker's settings."""

from __future__ import annotations

from controller.cli.workers import RestartPolicy, WorkerSettings, worker_environment


def test_backoff_doubles_is_bounded_and_gives_up() -> None:
    policy = RestartPolicy(first_delay=0.5, longest_delay=3.0, max_quick_restarts=5)
    delays = [policy.next_delay(0.1) for _ in range(5)]
    assert delays == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.next_delay(0.1) is None


def test_a_healthy_run_resets_the_backoff() -> None:
    policy = RestartPolicy(first_delay=0.5, healthy_run=60.0, max_quick_restarts=5)
    for _ in range(5):
        policy.next_delay(0.1)
    assert policy.next_delay(60.0) == 0.5


def test_each_worker_shares_the_forward_port_and_has_its_own_api_port() -> None:
    parent = {"WF_LOGGER_PORT": "9000", "WF_WORKERS": "3", "WF_FORWARD_PORT": "24224"}
    second = worker_environment(parent, 1)
    assert second["WF_LOGGER_PORT"] == "9001"
    assert second["WF_FORWARD_PORT"] == "24224"
    assert second["WF_FORWARD_REUSE_PORT"] == "true"
    # A worker supervises nothing.
    assert WorkerSettings.from_env(second).workers == 1
    assert worker_environment({"WF_LOGGER_PORT": "0"}, 1)["WF_LOGGER_PORT"] == "0"


def test_only_the_first_worker_watches_kubernetes() -> None:
    parent = {"WF_SCHEDULER": "kubernetes"}
    assert worker_environment(parent, 0)["WF_SCHEDULER"] == "kubernetes"
    assert worker_environment(parent, 1)["WF_SCHEDULER"] == "none"


def test_one_worker_by_default() -> None:
    assert WorkerSettings.from_env({}).workers == 1
