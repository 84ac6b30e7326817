"""The supervisor without IO: failures logged and restarted with back-off, states for /readyz."""

from __future__ import annotations

import asyncio

import pytest
import structlog

from services.common.supervisor import Halt, Supervisor, TaskState
from tests.polling import eventually


class FakeTime:
    """A clock that moves only when the supervisor sleeps; each sleep is recorded."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def supervisor(time: FakeTime, **kwargs) -> Supervisor:
    return Supervisor(first_delay=0.5, max_delay=4.0, sleep=time.sleep, clock=time.clock, **kwargs)


async def test_a_failing_task_is_logged_with_its_traceback_and_restarted_with_capped_backoff():
    time = FakeTime()
    sup = supervisor(time)
    runs = 0
    done = asyncio.Event()

    async def flaky():
        nonlocal runs
        runs += 1
        if runs <= 5:
            raise RuntimeError(f"boom {runs}")
        await done.wait()

    with structlog.testing.capture_logs() as logs:
        sup.start("flaky", flaky, stop=done.set)
        await eventually(lambda: runs == 6, timeout=2)
    assert time.sleeps == [0.5, 1.0, 2.0, 4.0, 4.0]  # doubled, capped at max_delay
    failures = [e for e in logs if e["event"] == "task failed; restarting"]
    assert len(failures) == 5
    assert all(e["log_level"] == "error" and e["exc_info"] is True for e in failures)
    [status] = sup.statuses()
    assert (status.state, status.restarts) == (TaskState.RUNNING, 5)
    assert status.last_error == "RuntimeError: boom 5"
    assert sup.troubles() == {"flaky": None}
    await sup.stop("flaky")
    assert sup.statuses() == []


async def test_backoff_starts_over_after_a_task_ran_stably():
    time = FakeTime()
    sup = supervisor(time, stable_after=10)
    runs = 0
    done = asyncio.Event()

    async def task():
        nonlocal runs
        runs += 1
        if runs in (1, 2):
            raise RuntimeError("early")
        if runs == 3:
            time.now += 60  # ran a long while before failing
            raise RuntimeError("late")
        await done.wait()

    sup.start("t", task, stop=done.set)
    await eventually(lambda: runs == 4, timeout=2)
    assert time.sleeps == [0.5, 1.0, 0.5]
    await sup.stop("t")


async def test_a_task_that_ends_by_itself_counts_as_failed():
    time = FakeTime()
    sup = supervisor(time)
    runs = 0
    done = asyncio.Event()

    async def ends():
        nonlocal runs
        runs += 1
        if runs == 1:
            return
        await done.wait()

    with structlog.testing.capture_logs() as logs:
        sup.start("ends", ends, stop=done.set)
        await eventually(lambda: runs == 2, timeout=2)
    assert any(e["event"] == "task ended by itself; restarting" for e in logs)
    assert sup.statuses()[0].last_error == "ended by itself"
    await sup.stop("ends")


async def test_unready_while_restarting_and_halted_with_the_reason():
    time = FakeTime()
    gate = asyncio.Event()

    async def slow_sleep(seconds: float) -> None:
        await gate.wait()

    sup = Supervisor(first_delay=1, sleep=slow_sleep, clock=time.clock)

    async def broken():
        raise ValueError("cannot read the log")

    async def poisoned():
        raise Halt("event 42 cannot be applied: numeric field overflow")

    sup.start("broken", broken)
    sup.start("poisoned", poisoned)
    await eventually(
        lambda: {s.state for s in sup.statuses()} == {TaskState.RESTARTING, TaskState.HALTED}, timeout=2
    )
    troubles = sup.troubles()
    assert troubles["broken"] == "restarting: ValueError: cannot read the log"
    assert troubles["poisoned"] == "halted: event 42 cannot be applied: numeric field overflow"
    await sup.stop_all()
    assert sup.troubles() == {}


async def test_a_probe_speaks_for_a_running_task():
    sup = Supervisor()
    done = asyncio.Event()
    trouble: list[str | None] = [None]

    sup.start("follower", done.wait, stop=done.set, probe=lambda: trouble[0])
    await asyncio.sleep(0)
    assert sup.troubles() == {"follower": None}
    trouble[0] = "reconnecting to PostgreSQL"
    assert sup.troubles() == {"follower": "reconnecting to PostgreSQL"}
    await sup.stop("follower")


async def test_stop_cancels_a_task_that_does_not_listen():
    sup = Supervisor()
    cancelled = asyncio.Event()

    async def deaf():
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()

    sup.start("deaf", deaf)
    await asyncio.sleep(0)
    await sup.stop("deaf", timeout=0.05)
    assert cancelled.is_set()


async def test_two_tasks_may_not_share_a_name():
    sup = Supervisor()
    done = asyncio.Event()
    sup.start("x", done.wait, stop=done.set)
    with pytest.raises(ValueError, match="already runs"):
        sup.start("x", done.wait)
    await sup.stop("x")
    sup.start("x", done.wait, stop=done.set)  # a stopped name can be used again
    await sup.stop("x")
