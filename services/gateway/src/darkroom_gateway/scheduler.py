"""The scheduler of the cluster-wide scheduled tasks (Immich's nightly tasks; issue #15 item 4).

A task is a name, a coroutine ``async def task(deps: Deps) -> None`` (it may return counts to
log) and a schedule read from the system config in force: a cron expression, or None while the
task is off. :func:`nightly` makes Immich's nightly schedule (``nightlyTasks.startTime``, HH:MM,
every day, while a switch of ``nightlyTasks`` is on); a task on its own cron (the database backup's
``backup.database.cronExpression``, the library scans' ``library.scan.cronExpression``) gives
that expression. The tasks are registered in :data:`darkroom_gateway.nightly.TASKS`, one line
each.

Time: cron expressions are read in the server's time zone: the ``TZ`` environment variable
(an IANA name, e.g. ``Europe/Paris``) when set, else UTC, as Immich's server reads its cron jobs
in the process's local time (its containers run in UTC unless ``TZ`` is set). Expressions are
evaluated by cronsim (Debian cron's rules, DST included; 5 fields, or 6 with seconds first).

Exactly one replica per scheduled time: every gateway replica runs a :class:`Scheduler`. When a
task's latest due time has come, each replica tries to claim the run (task, due time) by
inserting its row in ``scheduled_runs`` (:func:`darkroom_db.scheduled_runs.claim`): the primary
key makes exactly one INSERT succeed, and that replica runs the task. While it runs it
refreshes the row's heartbeat every :data:`HEARTBEAT`; a replica that dies mid-task leaves the
row unfinished, and once its heartbeat is older than :data:`LEASE` (5 minutes) another replica
takes the run over (:func:`darkroom_db.scheduled_runs.take_over`) and runs the task again (every
task is idempotent).

Catch-up: at start-up a replica claims each task's latest due time if nobody ran it (no row for
it and none later), so a run missed while every replica was down happens at the next start, once
(not once per missed day). After start-up only due times that come while it watches are claimed:
moving ``startTime`` to a time already past today does not run the task until tomorrow, as in
Immich. A save of the system config (``darkroom.config.updated``) wakes the scheduler, so the
next run follows the new schedule without a restart; otherwise it sleeps until the next due time
(at most :data:`CHECK`, when it also looks for runs to take over).

Visibility: every run is logged (``scheduler.task_ran`` / ``scheduler.task_failed`` with the
task, its due time, duration and result counts); the last run of each task is stored in
``system_metadata`` under :data:`LAST_RUNS_KEY` and the next due time of each under
:data:`NEXT_RUNS_KEY`.

For tests, ``DARKROOM_NIGHTLY_PERIOD_S`` (``GatewaySettings.nightly_period_s``) replaces every
enabled task's schedule by "every N seconds" (due times at multiples of N since the epoch).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from cronsim import CronSim, CronSimError
from darkroom_db import scheduled_runs, system_metadata
from darkroom_db.system_config import SystemConfigDto, SystemConfigNightlyTasksDto
from litestar import Litestar

from darkroom_gateway.deps import Deps

log = structlog.get_logger()

#: A task: ``async def task(deps) -> None``; a returned mapping (or int) is logged as its counts.
TaskFn = Callable[[Deps], Awaitable[object]]
#: A schedule: the cron expression of the config in force, or None while the task is off.
ScheduleFn = Callable[[SystemConfigDto], str | None]

#: How long a run's holder may go without a heartbeat before another replica takes it over.
LEASE = timedelta(minutes=5)
#: How often the holder of a run refreshes its heartbeat (a fifth of the lease).
HEARTBEAT = LEASE / 5
#: Longest sleep of the scheduler between two looks (for takeovers; due times wake it sooner).
CHECK = timedelta(minutes=1)
#: How long finished runs are kept in ``scheduled_runs`` (for the admin to look at).
KEEP_RUNS = timedelta(days=30)
#: ``system_metadata`` key: ``{task: {dueAt, startedAt, durationMs, result, error, replica}}``.
LAST_RUNS_KEY = "darkroom-scheduled-last-runs"
#: ``system_metadata`` key: ``{task: next due time (ISO 8601) or null while off}``.
NEXT_RUNS_KEY = "darkroom-scheduled-next-runs"


@dataclass(frozen=True)
class Task:
    """One scheduled task.

    Attributes:
        name: Its name, the key of its runs (``database-cleanup``); never rename one.
        run: The coroutine, ``async def task(deps: Deps) -> None``; must be idempotent (a run
            taken over after a replica died runs again).
        schedule: Its schedule from the config in force (:func:`nightly`, or a function
            returning a cron expression; None: off).
    """

    name: str
    run: TaskFn
    schedule: ScheduleFn


def nightly(switch: str) -> ScheduleFn:
    """Immich's nightly schedule: every day at ``nightlyTasks.startTime`` while the switch
    ``nightlyTasks.<switch>`` is on.

    Args:
        switch: The snake_case field of SystemConfigNightlyTasksDto (``"database_cleanup"``).

    Returns:
        The schedule (``"<minute> <hour> * * *"`` of the start time, or None while off).

    Raises:
        ValueError: ``switch`` is not a field of SystemConfigNightlyTasksDto.
    """
    if switch not in SystemConfigNightlyTasksDto.__struct_fields__ or switch == "start_time":
        raise ValueError(f"nightlyTasks has no switch {switch!r}")

    def schedule(config: SystemConfigDto) -> str | None:
        if not getattr(config.nightly_tasks, switch):
            return None
        hour, minute = config.nightly_tasks.start_time.split(":")
        return f"{int(minute)} {int(hour)} * * *"

    return schedule


def server_zone(environ: Mapping[str, str]) -> tzinfo:
    """The time zone cron expressions are read in: ``TZ`` (an IANA name) when set, else UTC.

    Args:
        environ: The process environment.

    Returns:
        The zone; UTC (logged) when ``TZ`` names no known zone.
    """
    name = environ.get("TZ", "").lstrip(":")
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("scheduler.unknown_time_zone", tz=name, using="UTC")
        return UTC


class Timing:
    """When a schedule is due: the cron expression in ``zone``, or every ``period``.

    Args:
        zone: The server's time zone (:func:`server_zone`).
        period: Test-only: every enabled schedule becomes "every ``period``" (due times at
            multiples of it since the epoch); None for the expressions themselves.
    """

    def __init__(self, zone: tzinfo, period: timedelta | None = None) -> None:
        self.zone = zone
        self.period = period

    def previous(self, expression: str, now: datetime) -> datetime:
        """The latest due time at or before ``now`` (UTC).

        Raises:
            CronSimError: ``expression`` is not a cron expression.
            StopIteration: It never matched in the last 50 years.
        """
        if self.period is not None:
            step = self.period.total_seconds()
            return datetime.fromtimestamp(now.timestamp() // step * step, UTC)
        start = now.astimezone(self.zone).replace(microsecond=0) + timedelta(seconds=1)
        return next(CronSim(expression, start, reverse=True)).astimezone(UTC)

    def next(self, expression: str, now: datetime) -> datetime:
        """The first due time after ``now`` (UTC).

        Raises:
            CronSimError: ``expression`` is not a cron expression.
            StopIteration: It does not match in the next 50 years.
        """
        if self.period is not None:
            return self.previous(expression, now) + self.period
        return next(CronSim(expression, now.astimezone(self.zone))).astimezone(UTC)


def replica_id() -> str:
    """This process's id in ``scheduled_runs``: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def _counts(value: object) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, int) and not isinstance(value, bool):
        return {"count": value}
    return {}


class Scheduler:
    """One replica's scheduler of ``tasks`` (see the module docstring for the rules).

    Args:
        deps: The gateway's connections and the live system config.
        tasks: The tasks (:data:`darkroom_gateway.nightly.TASKS`).
        timing: When schedules are due (zone, test period).
        replica: This replica's id (:func:`replica_id` when None).
        lease: The lease timeout (:data:`LEASE`).
        check: Longest sleep between two looks (:data:`CHECK`).
    """

    def __init__(
        self,
        deps: Deps,
        tasks: Iterable[Task],
        timing: Timing,
        *,
        replica: str | None = None,
        lease: timedelta = LEASE,
        check: timedelta = CHECK,
    ) -> None:
        self.deps = deps
        self.tasks = tuple(tasks)
        names = [t.name for t in self.tasks]
        if len(set(names)) != len(names):
            raise ValueError(f"two scheduled tasks share a name: {sorted(names)}")
        self.timing = timing
        self.replica = replica or replica_id()
        self.lease = lease
        self.check = check
        self._wake = asyncio.Event()
        self._running: dict[str, asyncio.Task[None]] = {}
        self._next_runs: dict[str, str | None] = {}

    def _expression(self, task: Task, config: SystemConfigDto) -> str | None:
        try:
            return task.schedule(config)
        except Exception as exc:  # noqa: BLE001 - a bad schedule turns its task off, not all
            log.warning("scheduler.bad_schedule", task=task.name, error=repr(exc))
            return None

    def _due(
        self, task: Task, config: SystemConfigDto, now: datetime
    ) -> tuple[datetime | None, datetime | None]:
        """(latest due time at or before ``now``, next due time after it); Nones while off."""
        expression = self._expression(task, config)
        if expression is None:
            return None, None
        try:
            return self.timing.previous(expression, now), self.timing.next(expression, now)
        except (CronSimError, StopIteration) as exc:
            log.warning("scheduler.bad_schedule", task=task.name, cron=expression, error=repr(exc))
            return None, None

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Look for due runs and start them until ``stop`` is set (then the runs under way are
        waited for) or until cancelled (then they are cancelled: another replica takes them
        over after the lease)."""

        async def on_change(_: SystemConfigDto) -> None:
            self._wake.set()

        self.deps.config.on_change(on_change)
        stop = stop or asyncio.Event()
        last_look: datetime | None = None  # None: the first look, which catches up
        try:
            while not stop.is_set():
                self._wake.clear()  # a save from now on wakes the sleep below
                now = datetime.now(UTC)
                try:
                    wait = await self.look(now, since=last_look)
                    last_look = now
                except Exception as exc:  # noqa: BLE001 - PostgreSQL away: look again later
                    log.warning("scheduler.look_failed", error=repr(exc))
                    wait = self.check
                waiters = [
                    asyncio.ensure_future(self._wake.wait()),
                    asyncio.ensure_future(stop.wait()),
                ]
                try:
                    await asyncio.wait(
                        waiters,
                        timeout=max(wait.total_seconds(), 0.05),
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                finally:
                    for waiter in waiters:
                        waiter.cancel()
            await self.drain()  # stopped (not cancelled): let the runs under way end
        finally:
            jobs = list(self._running.values())
            for job in jobs:
                job.cancel()
            await asyncio.gather(*jobs, return_exceptions=True)

    async def drain(self) -> None:
        """Wait for the runs this replica has started to end."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def look(self, now: datetime, *, since: datetime | None) -> timedelta:
        """Start every run that is due: claim each task's latest due time if it came after
        ``since`` (or at start-up, ``since`` None: the catch-up), take over an abandoned one.

        Args:
            now: The current time (UTC).
            since: The previous look's time; None at start-up.

        Returns:
            How long to sleep before the next look.
        """
        config = self.deps.config.current
        wake = now + self.check
        next_runs: dict[str, str | None] = {}
        for task in self.tasks:
            due, upcoming = self._due(task, config, now)
            next_runs[task.name] = upcoming.isoformat() if upcoming else None
            if upcoming is not None:
                wake = min(wake, upcoming)
            if due is None or task.name in self._running:
                continue
            held: datetime | None = None
            if (since is None or due > since) and await scheduled_runs.claim(
                self.deps.pool, task.name, due, self.replica
            ):
                held = due
            else:
                held = await scheduled_runs.take_over(
                    self.deps.pool, task.name, self.replica, self.lease
                )
                if held is not None:
                    log.warning("scheduler.task_taken_over", task=task.name, due_at=held)
            if held is not None:
                self._running[task.name] = asyncio.create_task(self._run(task, held))
        if next_runs != self._next_runs:
            await system_metadata.put(self.deps.pool, NEXT_RUNS_KEY, dict(next_runs))
            self._next_runs = next_runs
        return wake - datetime.now(UTC)

    async def _heartbeat(self, task: Task, due: datetime) -> None:
        while True:
            await asyncio.sleep(min(HEARTBEAT, self.lease / 5).total_seconds())
            try:
                if not await scheduled_runs.heartbeat(self.deps.pool, task.name, due, self.replica):
                    log.warning("scheduler.lease_lost", task=task.name, due_at=due)
            except Exception as exc:  # noqa: BLE001 - try again at the next beat
                log.warning("scheduler.heartbeat_failed", task=task.name, error=repr(exc))

    async def _run(self, task: Task, due: datetime) -> None:
        """Run ``task`` for ``due`` (held by this replica), record and log how it went."""
        try:
            await self._run_and_record(task, due)
        finally:
            self._running.pop(task.name, None)

    async def _run_and_record(self, task: Task, due: datetime) -> None:
        started_at = datetime.now(UTC)
        started = time.perf_counter()
        beat = asyncio.create_task(self._heartbeat(task, due))
        counts: dict[str, Any] = {}
        error: str | None = None
        try:
            counts = _counts(await task.run(self.deps))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - recorded; the next due time runs it again
            error = repr(exc)
        finally:
            beat.cancel()
        ms = round((time.perf_counter() - started) * 1000, 1)
        try:
            await scheduled_runs.finish(
                self.deps.pool, task.name, due, self.replica, result=counts, error=error
            )
            await system_metadata.merge(
                self.deps.pool,
                LAST_RUNS_KEY,
                {
                    task.name: {
                        "dueAt": due.isoformat(),
                        "startedAt": started_at.isoformat(),
                        "durationMs": ms,
                        "result": counts,
                        "error": error,
                        "replica": self.replica,
                    }
                },
            )
            await scheduled_runs.prune(self.deps.pool, task.name, due - KEEP_RUNS)
        except Exception as exc:  # noqa: BLE001 - the run happened; only its record is lost
            log.warning("scheduler.record_failed", task=task.name, error=repr(exc))
        if error is None:
            log.info("scheduler.task_ran", task=task.name, due_at=due.isoformat(), ms=ms, **counts)
        else:
            log.warning(
                "scheduler.task_failed", task=task.name, due_at=due.isoformat(), ms=ms, error=error
            )


def scheduler_lifespan(
    tasks: Iterable[Task],
) -> Callable[[Litestar], contextlib.AbstractAsyncContextManager[None]]:
    """A Litestar lifespan running a :class:`Scheduler` of ``tasks`` while the app runs.

    Uses ``app.state.deps`` (so it must come after the lifespan that sets it), its settings
    ``nightly_enabled`` (false: no scheduler on this replica) and ``nightly_period_s``
    (test-only period), and the ``TZ`` environment variable.

    Args:
        tasks: The tasks to schedule.

    Returns:
        The lifespan.
    """
    registered = tuple(tasks)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        deps: Deps = app.state.deps
        if not deps.settings.nightly_enabled:
            log.info("scheduler.off", reason="DARKROOM_NIGHTLY_ENABLED is false")
            yield
            return
        period = deps.settings.nightly_period_s
        timing = Timing(server_zone(os.environ), timedelta(seconds=period) if period > 0 else None)
        scheduler = Scheduler(deps, registered, timing)
        log.info("scheduler.started", replica=scheduler.replica, zone=str(timing.zone))
        job = asyncio.create_task(scheduler.run())
        try:
            yield
        finally:
            job.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await job

    return lifespan
