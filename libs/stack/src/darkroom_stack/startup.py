"""Waiting for services to become ready by their progress, not by a fixed short timeout.

On a busy two-core machine the whole stack can take minutes to import and connect, so a service
that is not ready yet is waited for as long as it is alive and making progress (gaining CPU time
or writing output), up to a generous ceiling. A service that dies fails the start at once, one
that shows no progress at all for ``stall_s`` seconds is reported as stalled, and while waiting
the slow ones are logged every few seconds with their pid and CPU time.

:func:`decide` is the pure decision (tested without processes); :class:`ProgressTracker` turns
successive samples into "seconds without progress"; :func:`wait_until_ready` is the loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import structlog

log = structlog.get_logger()


class StartError(RuntimeError):
    """The stack did not start: a service died, stalled or was not ready in time.

    Attributes:
        service: The service to blame, when there is one.
    """

    def __init__(self, message: str, service: str | None = None) -> None:
        super().__init__(message)
        self.service = service


class StartTimeoutError(StartError, TimeoutError):
    """Services were alive and progressing but not ready within the start timeout."""


@dataclass(frozen=True)
class Sample:
    """One look at a service being waited for.

    Attributes:
        name: Service name.
        pid: Its process id (None before it has one).
        alive: The process is running.
        ready: It answered its readiness check.
        cpu_s: User + system CPU seconds it has used so far.
        output_bytes: Bytes it has written to stdout/stderr so far.
        exit_code: Its exit status once it is not alive.
    """

    name: str
    pid: int | None
    alive: bool
    ready: bool
    cpu_s: float = 0.0
    output_bytes: int = 0
    exit_code: int | None = None


@dataclass(frozen=True)
class Decision:
    """What to do after a round of samples.

    Attributes:
        outcome: ``"ready"`` (all ready), ``"waiting"`` or ``"failed"``.
        waiting: The samples not ready yet.
        reason: Why it failed (names the service).
        service: The service it failed on.
    """

    outcome: Literal["ready", "waiting", "failed"]
    waiting: tuple[Sample, ...] = ()
    reason: str = ""
    service: str | None = None
    timed_out: bool = False


def decide(
    samples: Sequence[Sample],
    idle_s: Mapping[str, float],
    elapsed_s: float,
    *,
    timeout_s: float,
    stall_s: float,
) -> Decision:
    """Decide whether to keep waiting for ``samples``.

    Args:
        samples: The services waited for, as seen now.
        idle_s: Seconds since each service (by name) last gained CPU time or wrote output.
        elapsed_s: Seconds since the wait began.
        timeout_s: The ceiling (``DARKROOM_START_TIMEOUT``).
        stall_s: Seconds without any progress after which a live service counts as stalled.

    Returns:
        ``ready`` when every sample is ready; ``failed`` when one exited before it was ready, one
        stalled, or the ceiling passed; otherwise ``waiting`` with the slow ones.
    """
    waiting = tuple(s for s in samples if not s.ready)
    if not waiting:
        return Decision("ready")
    for s in waiting:
        if not s.alive:
            return Decision(
                "failed",
                waiting,
                f"{s.name} exited (status {s.exit_code}) before it was ready",
                s.name,
            )
    for s in waiting:
        idle = idle_s.get(s.name, 0.0)
        if idle >= stall_s:
            return Decision(
                "failed",
                waiting,
                f"{s.name} (pid {s.pid}) is alive but made no progress (no CPU time, no output) "
                f"for {idle:.0f} s",
                s.name,
            )
    if elapsed_s >= timeout_s:
        names = ", ".join(describe(s) for s in waiting)
        return Decision(
            "failed",
            waiting,
            f"not ready after {elapsed_s:.0f} s (DARKROOM_START_TIMEOUT={timeout_s:g}): {names}",
            waiting[0].name,
            timed_out=True,
        )
    return Decision("waiting", waiting)


def describe(s: Sample) -> str:
    """``"gateway (pid 12, alive, 3.4 s CPU)"``: one service's state, for messages."""
    state = "alive" if s.alive else f"exited {s.exit_code}"
    return f"{s.name} (pid {s.pid}, {state}, {s.cpu_s:.1f} s CPU)"


@dataclass
class ProgressTracker:
    """Remembers, per service, when its CPU time or output last grew.

    A restarted process (new pid) counts as progress.
    """

    _last: dict[str, tuple[int | None, float, int]] = field(default_factory=dict)
    _since: dict[str, float] = field(default_factory=dict)

    def observe(self, samples: Sequence[Sample], now: float) -> dict[str, float]:
        """Record ``samples`` taken at ``now`` (monotonic seconds).

        Returns:
            Seconds since each service last made progress.
        """
        idle: dict[str, float] = {}
        for s in samples:
            key = (s.pid, s.cpu_s, s.output_bytes)
            if self._last.get(s.name) != key:
                self._last[s.name] = key
                self._since[s.name] = now
            idle[s.name] = now - self._since[s.name]
        return idle


def wait_until_ready(
    sample: Callable[[], Sequence[Sample]],
    *,
    timeout_s: float,
    stall_s: float,
    report_every_s: float = 10.0,
    poll_s: float = 0.25,
) -> None:
    """Poll ``sample`` until every service is ready, logging the slow ones every
    ``report_every_s`` seconds (``stack.waiting``).

    Args:
        sample: Looks at every service waited for (each call probes readiness once).
        timeout_s: Ceiling in seconds.
        stall_s: See :func:`decide`.
        report_every_s: Seconds between progress lines.
        poll_s: Seconds between samples.

    Raises:
        StartTimeoutError: Still not ready after ``timeout_s``.
        StartError: A service exited or stalled before it was ready.
    """
    tracker = ProgressTracker()
    started = last_report = time.monotonic()
    while True:
        now = time.monotonic()
        samples = sample()
        idle = tracker.observe(samples, now)
        decision = decide(samples, idle, now - started, timeout_s=timeout_s, stall_s=stall_s)
        if decision.outcome == "ready":
            log.info("stack.ready", waited_s=round(now - started, 1))
            return
        if decision.outcome == "failed":
            error = StartTimeoutError if decision.timed_out else StartError
            raise error(decision.reason, decision.service)
        if now - last_report >= report_every_s:
            last_report = now
            for s in decision.waiting:
                log.info(
                    "stack.waiting",
                    service=s.name,
                    pid=s.pid,
                    alive=s.alive,
                    cpu_s=round(s.cpu_s, 1),
                    idle_s=round(idle.get(s.name, 0.0), 1),
                    waited_s=round(now - started, 1),
                    message=f"waiting for {describe(s)}",
                )
        time.sleep(poll_s)
