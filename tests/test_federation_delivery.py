"""Deliveries to a follower's inbox are retried while it is down, against a real HTTP peer.

A delivery that fails in a way that may pass (a 5xx, a 429, no connection, a timeout) runs
again after each of ``FEDERATION_DELIVERY_RETRY_INTERVALS`` (0 here: at once); a refusal (any
other 4xx) is not retried. Both in-process job modes (no Redis; ``JOBS_SYNC`` through real
Redis) and a real ``rq worker`` are covered. These tests commit for real: an in-process retry
runs on a timer thread, with its own connection.
"""

import os
import threading
import time

import pytest

from tests import federation_support
from tests.federation_support import follow_group, follower_actors, wait_until

peer, fedi = federation_support.peer, federation_support.fedi  # the fixtures
needs_redis = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (real Redis)"
)
JOB_MODES = ["in-process", pytest.param("rq-sync", marks=needs_redis)]


def _use_mode(app, monkeypatch, mode: str) -> None:
    """Run jobs in-process without Redis, or (``JOBS_SYNC``) through Redis in this process."""
    if mode == "in-process":
        monkeypatch.setitem(app.config, "REDIS_URL", None)
    monkeypatch.setitem(app.config, "FEDERATION_DELIVERY_RETRY_INTERVALS", [0, 0])


def _retries_done() -> bool:
    """No in-process retry is waiting on its timer thread."""
    return not any(isinstance(thread, threading.Timer) for thread in threading.enumerate())


@pytest.mark.parametrize("mode", JOB_MODES)
@pytest.mark.parametrize("first_answer", [503, 429])
def test_a_delivery_that_fails_is_retried_and_arrives_once(
    committing_app, fedi, peer, client_for, monkeypatch, mode, first_answer
):
    group, _ann = fedi
    _use_mode(committing_app, monkeypatch, mode)
    peer.answers = [first_answer]
    follow_group(peer, client_for("fedi"))
    assert wait_until(lambda: peer.taken("Accept")), peer.received
    assert wait_until(_retries_done)
    assert [r["status"] for r in peer.received] == [first_answer, 202]
    assert len(peer.taken("Accept")) == 1
    assert follower_actors(committing_app, group) == [peer.actor]


def test_a_delivery_is_given_up_after_the_last_retry(
    committing_app, fedi, peer, client_for, monkeypatch
):
    _use_mode(committing_app, monkeypatch, "in-process")
    peer.answers = [500, 502, 503, 504]
    follow_group(peer, client_for("fedi"))
    assert wait_until(lambda: len(peer.received) == 3) and wait_until(_retries_done)
    time.sleep(0.3)  # a fourth try would come at once (interval 0)
    assert [r["status"] for r in peer.received] == [500, 502, 503]  # the first run, 2 retries
    assert peer.taken("Accept") == []


@pytest.mark.parametrize("refusal", [400, 401, 410])
def test_a_refusal_is_not_retried(committing_app, fedi, peer, client_for, monkeypatch, refusal):
    _use_mode(committing_app, monkeypatch, "in-process")
    peer.answers = [refusal]
    follow_group(peer, client_for("fedi"))
    assert wait_until(lambda: peer.received) and wait_until(_retries_done)
    time.sleep(0.3)  # a retry would come at once (interval 0)
    assert [r["status"] for r in peer.received] == [refusal]


@pytest.mark.concurrency
@needs_redis
def test_a_real_worker_retries_a_delivery(
    committing_app, real_queue, fedi, peer, client_for, monkeypatch
):
    from tests.test_signup_worker import run_workers

    monkeypatch.setitem(committing_app.config, "FEDERATION_DELIVERY_RETRY_INTERVALS", [0, 0])
    monkeypatch.setenv("FEDERATION_ALLOW_PRIVATE_HOSTS", "1")  # the worker's own config
    peer.answers = [503]
    follow_group(peer, client_for("fedi"))
    assert real_queue.count == 1  # the Accept waits for a worker
    run_workers()
    assert [r["status"] for r in peer.received] == [503, 202]
    assert len(peer.taken("Accept")) == 1
