"""While PostgreSQL restarts, the API answers 503 with Retry-After (never 500), and works again
once it is back: uploads (gateway and ingest both use the database) and reads, through HTTP."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pyvips

from .conftest import User, first_admin, running_stack, upload

#: Seconds to wait for each phase (outage seen, service back): generous for a busy CI machine.
CEILING_S = 120


def _jpeg(width: int) -> bytes:
    return bytes(pyvips.Image.xyz(width, 40).extract_band(0).cast("uchar").jpegsave_buffer())


class Traffic(threading.Thread):
    """Uploads (each a new file) and album listings in a loop, recording every response."""

    def __init__(self, user: User) -> None:
        super().__init__(daemon=True)
        self.user = user
        self.responses: list[httpx.Response] = []
        self.done = threading.Event()

    def run(self) -> None:
        width = 100
        while not self.done.is_set():
            width += 1
            for r in (
                upload(self.user, Path(f"w{width}.jpg"), data=_jpeg(width)),
                self.user.client.get("/api/albums"),
            ):
                self.responses.append(r)

    def wait_for(self, status: int, after: int) -> None:
        """Wait until a response with ``status`` comes after the first ``after`` responses."""
        deadline = time.monotonic() + CEILING_S
        while not any(r.status_code == status for r in self.responses[after:]):
            assert time.monotonic() < deadline, f"no {status} within {CEILING_S} s"
            assert self.is_alive()
            time.sleep(0.2)


def test_postgres_restart_is_503_with_retry_after_then_recovers(tmp_path: Path) -> None:
    with running_stack(tmp_path, services=("ingest", "gateway")) as stack:
        owner = first_admin(stack)
        traffic = Traffic(owner)
        traffic.start()
        try:
            traffic.wait_for(201, after=0)
            assert stack.postgres is not None
            port = stack.postgres.port
            stack.hold_server("postgres")
            traffic.wait_for(503, after=len(traffic.responses))
            stack.start_postgres(port)
            traffic.wait_for(201, after=len(traffic.responses))
        finally:
            traffic.done.set()
            traffic.join(CEILING_S)
        statuses = [r.status_code for r in traffic.responses]
        odd = [(r.request.url.path, r.status_code, r.text[:200]) for r in traffic.responses]
        assert set(statuses) <= {200, 201, 503}, [o for o in odd if o[1] not in (200, 201, 503)]
        for r in traffic.responses:
            if r.status_code == 503:
                assert int(r.headers["retry-after"]) > 0
                assert set(r.json()) == {"message"} and r.json()["message"]
