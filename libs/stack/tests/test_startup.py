"""The start-up wait's decisions (darkroom_stack.startup), without processes: keep waiting while
a service is alive and progressing, fail at once when it dies or stalls, and at the ceiling."""

from __future__ import annotations

from darkroom_stack.startup import ProgressTracker, Sample, decide


def _gateway(**kw: object) -> Sample:
    values: dict[str, object] = {"name": "gateway", "pid": 42, "alive": True, "ready": False}
    values.update(kw)
    return Sample(**values)  # type: ignore[arg-type]


def test_ready_when_every_service_answers() -> None:
    decision = decide([_gateway(ready=True)], {}, 5.0, timeout_s=600, stall_s=300)
    assert decision.outcome == "ready"


def test_a_slow_but_progressing_service_is_waited_for_past_a_minute() -> None:
    # the old fixed 60 s wait gave up here; a busy machine's gateway is still importing
    decision = decide([_gateway(cpu_s=40.0)], {"gateway": 0.5}, 240.0, timeout_s=600, stall_s=300)
    assert decision.outcome == "waiting"
    assert [s.name for s in decision.waiting] == ["gateway"]


def test_a_dead_service_fails_at_once_naming_it() -> None:
    dead = _gateway(alive=False, exit_code=1)
    decision = decide([dead], {"gateway": 0.0}, 1.0, timeout_s=600, stall_s=300)
    assert decision.outcome == "failed"
    assert decision.service == "gateway"
    assert "gateway exited (status 1)" in decision.reason


def test_a_service_without_progress_fails_as_stalled_before_the_ceiling() -> None:
    decision = decide([_gateway()], {"gateway": 301.0}, 320.0, timeout_s=600, stall_s=300)
    assert decision.outcome == "failed"
    assert not decision.timed_out
    assert "gateway (pid 42) is alive but made no progress" in decision.reason


def test_the_ceiling_fails_and_names_the_slow_service_with_its_cpu_time() -> None:
    decision = decide([_gateway(cpu_s=12.0)], {"gateway": 1.0}, 600.0, timeout_s=600, stall_s=300)
    assert decision.outcome == "failed"
    assert decision.timed_out
    assert "gateway (pid 42, alive, 12.0 s CPU)" in decision.reason
    assert "DARKROOM_START_TIMEOUT=600" in decision.reason


def test_progress_is_cpu_time_output_or_a_new_process() -> None:
    tracker = ProgressTracker()
    assert tracker.observe([_gateway(cpu_s=1.0)], 0.0) == {"gateway": 0.0}
    assert tracker.observe([_gateway(cpu_s=1.0)], 30.0) == {"gateway": 30.0}  # nothing changed
    assert tracker.observe([_gateway(cpu_s=1.5)], 40.0) == {"gateway": 0.0}  # CPU time
    assert tracker.observe([_gateway(cpu_s=1.5, output_bytes=10)], 70.0) == {"gateway": 0.0}
    assert tracker.observe([_gateway(cpu_s=1.5, output_bytes=10)], 95.0) == {"gateway": 25.0}
    restarted = _gateway(pid=43, cpu_s=1.5, output_bytes=10)
    assert tracker.observe([restarted], 100.0) == {"gateway": 0.0}
