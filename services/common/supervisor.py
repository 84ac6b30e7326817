"""One supervisor for a service's background work: nothing long-running stops unseen.

Each task runs by name. An exception is logged at once with its traceback and
the task starts again after an exponential back-off (capped); a task that
returns while nobody asked it to stop counts as a failure too. A task that
raises :class:`Halt` stays down with its reason: it found something a restart
cannot mend (a projection that will not skip an event it cannot apply). Every
task's state feeds ``/readyz``: a service is ready only while each task runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

import structlog
from aiohttp import web

log = structlog.get_logger(__name__)


class TaskState(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    RESTARTING = "restarting"
    HALTED = "halted"
    STOPPED = "stopped"


class Halt(Exception):
    """Raised by a task that must stay down until someone looks (the message says why)."""


@dataclass
class TaskStatus:
    """What ``/readyz`` and ``/metrics`` say about one task."""

    name: str
    state: TaskState = TaskState.STARTING
    restarts: int = 0
    last_error: str | None = None
    since: float = 0.0

    def trouble(self, probe: str | None) -> str | None:
        """Why this task keeps the service unready, or None while it runs well."""
        if self.state is TaskState.RUNNING:
            return probe
        if self.state is TaskState.STARTING:
            return "starting"
        if self.last_error:
            return f"{self.state}: {self.last_error}"
        return str(self.state)


@dataclass
class _Task:
    status: TaskStatus
    run: Callable[[], Awaitable[None]]
    stop: Callable[[], object] | None
    probe: Callable[[], str | None] | None
    task: asyncio.Task | None = None
    stopping: bool = False


class Supervisor:
    """Starts, restarts and stops named background tasks, and reports their states.

    ``first_delay`` doubles after each failure up to ``max_delay``; a task that
    ran ``stable_after`` seconds before failing starts again at ``first_delay``.
    ``sleep`` and ``clock`` are there for tests.
    """

    def __init__(
        self,
        *,
        first_delay: float = 0.5,
        max_delay: float = 30.0,
        stable_after: float = 60.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.stable_after = stable_after
        self._sleep = sleep
        self._clock = clock
        self._tasks: dict[str, _Task] = {}

    def start(
        self,
        name: str,
        run: Callable[[], Awaitable[None]],
        *,
        stop: Callable[[], object] | None = None,
        probe: Callable[[], str | None] | None = None,
    ) -> None:
        """Run ``run()`` under ``name`` until :meth:`stop`.

        ``stop`` asks the task to finish (it is cancelled if it does not, soon);
        ``probe`` says what troubles a running task (reconnecting, halted) or None.
        """
        if name in self._tasks and not self._tasks[name].stopping:
            raise ValueError(f"a task named {name!r} already runs")
        entry = _Task(TaskStatus(name, since=self._clock()), run, stop, probe)
        self._tasks[name] = entry
        entry.task = asyncio.create_task(self._keep(entry), name=name)

    async def _keep(self, entry: _Task) -> None:
        status = entry.status
        delay = self.first_delay
        while not entry.stopping:
            started = self._clock()
            status.state, status.since = TaskState.RUNNING, started
            try:
                await entry.run()
            except asyncio.CancelledError:
                raise
            except Halt as exc:
                status.state, status.last_error, status.since = TaskState.HALTED, str(exc), self._clock()
                log.error("task halted; it stays down until someone looks", task=status.name, reason=str(exc))
                return
            except Exception as exc:
                status.last_error = f"{type(exc).__name__}: {exc}"[:500]
                log.exception("task failed; restarting", task=status.name, retry_in=delay)
            else:
                if entry.stopping:
                    break
                status.last_error = "ended by itself"
                log.error("task ended by itself; restarting", task=status.name, retry_in=delay)
            if self._clock() - started >= self.stable_after:
                delay = self.first_delay
            status.state, status.since = TaskState.RESTARTING, self._clock()
            status.restarts += 1
            await self._sleep(delay)
            delay = min(delay * 2, self.max_delay)
        status.state, status.since = TaskState.STOPPED, self._clock()

    async def stop(self, name: str, timeout: float = 5.0) -> None:
        """Ask ``name`` to finish, wait up to ``timeout`` seconds, then cancel it."""
        entry = self._tasks.get(name)
        if entry is None or entry.task is None:
            return
        entry.stopping = True
        if entry.stop is not None:
            entry.stop()
        if entry.status.state in (TaskState.RESTARTING, TaskState.STARTING):
            entry.task.cancel()  # asleep between tries: nothing to finish
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(asyncio.shield(entry.task), timeout)
        if not entry.task.done():
            if timeout > 0:
                log.warning("task did not stop in time; cancelled", task=name, waited=timeout)
            entry.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await entry.task
        entry.status.state, entry.status.since = TaskState.STOPPED, self._clock()
        if self._tasks.get(name) is entry:
            del self._tasks[name]

    async def stop_all(self, timeout: float = 5.0) -> None:
        await asyncio.gather(*(self.stop(name, timeout) for name in list(self._tasks)))

    def statuses(self) -> list[TaskStatus]:
        return [entry.status for entry in self._tasks.values()]

    def troubles(self) -> dict[str, str | None]:
        """Each task by name: None when it runs well, else why it does not."""
        out = {}
        for name, entry in self._tasks.items():
            probe = None
            if entry.probe is not None and entry.status.state is TaskState.RUNNING:
                probe = entry.probe()
            out[name] = entry.status.trouble(probe)
        return out


SUPERVISOR = web.AppKey("supervisor", Supervisor)
"""Where each service's composition root keeps its supervisor."""


class TaskCollector:
    """Prometheus view of a supervisor: ``loa_task_up``, ``loa_task_restarts_total`` and, for
    projections that park events, ``loa_events_parked_total`` (register it on the app's registry)."""

    def __init__(
        self, service: str, supervisor: Supervisor, parked: Callable[[], dict[str, int]] | None = None
    ) -> None:
        self.service = service
        self.supervisor = supervisor
        self.parked = parked

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        labels = ["service", "task"]
        up = GaugeMetricFamily("loa_task_up", "1 while the background task runs well", labels=labels)
        restarts = CounterMetricFamily("loa_task_restarts", "Restarts of a background task", labels=labels)
        troubles = self.supervisor.troubles()
        for status in self.supervisor.statuses():
            up.add_metric([self.service, status.name], 0 if troubles.get(status.name) else 1)
            restarts.add_metric([self.service, status.name], status.restarts)
        yield up
        yield restarts
        if self.parked is not None:
            parked = CounterMetricFamily(
                "loa_events_parked", "Events a projection could not apply, parked with the reason",
                labels=["service", "subscription"],
            )  # fmt: skip
            for name, count in self.parked().items():
                parked.add_metric([self.service, name], count)
            yield parked
