"""Late jobs of deleted assets are quiet no-ops; dead-letter reasons hold no server paths.

Against the real nats-server of ``conftest.py``: the runner asks ``asset_exists`` before a
handler runs and again after it fails, and scrubs every reason it dead-letters.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from darkroom_bus import DeadLetter, Gone, PermanentError, scrub_paths, subscribe
from darkroom_events.catalogue import AssetCreated
from nats.js.errors import NotFoundError


def _event(asset_id: str) -> AssetCreated:
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    return AssetCreated(
        asset_id=asset_id,
        owner_id="owner-1",
        type="IMAGE",
        original_key="upload/owner-1/ab/cd/x.jpg",
        original_file_name="x.jpg",
        mime_type="image/jpeg",
        checksum="0" * 40,
        file_size=1234,
        file_created_at=now,
        file_modified_at=now,
    )


@dataclass
class World:
    """The assets that exist, what handlers ran, and the dead letters."""

    existing: set[str] = field(default_factory=set)
    ran: list[str] = field(default_factory=list)
    letters: list[DeadLetter] = field(default_factory=list)

    async def exists(self, asset_id: str) -> bool:
        return asset_id in self.existing

    async def dead_letter(self, letter: DeadLetter) -> None:
        self.letters.append(letter)


async def _settled(bus: Any, durable: str, within: float = 30.0) -> None:
    """Wait until the consumer has nothing pending or un-acked."""
    name = f"{durable}_{AssetCreated.subject.replace('.', '_')}"
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            info = await bus.js.consumer_info(bus.stream_name, name)
        except NotFoundError:  # the runner task has not provisioned it yet
            await asyncio.sleep(0.05)
            continue
        if info.num_ack_pending == 0 and info.num_pending == 0 and info.delivered.stream_seq:
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"consumer {name} did not settle within {within} s")


async def test_job_of_a_deleted_asset_is_acked_without_running(make_bus: Any, runners: Any) -> None:
    bus = await make_bus()
    world = World()

    @subscribe(AssetCreated, durable="late", max_deliver=3, backoff=(0.1,))
    async def handler(event: AssetCreated, ctx: World) -> None:
        ctx.ran.append(event.asset_id)

    runners(bus, [handler], world, on_dead_letter=world.dead_letter, asset_exists=world.exists)
    await bus.publish(_event(str(uuid.uuid4())))  # never existed / deleted before the job
    await _settled(bus, "late")
    assert world.ran == [] and world.letters == []


async def test_failure_after_the_asset_was_deleted_is_not_dead_lettered(
    make_bus: Any, runners: Any
) -> None:
    """The asset exists when the job starts and is deleted while it runs: its failure (a
    vanished original, a foreign key) is not retried nor dead-lettered; nor is Gone."""
    bus = await make_bus()
    world = World()
    racing, gone = str(uuid.uuid4()), str(uuid.uuid4())
    world.existing |= {racing, gone}

    @subscribe(AssetCreated, durable="racing", max_deliver=3, backoff=(0.1,))
    async def handler(event: AssetCreated, ctx: World) -> None:
        ctx.ran.append(event.asset_id)
        ctx.existing.discard(event.asset_id)  # the force delete commits meanwhile
        if event.asset_id == gone:
            raise Gone(event.asset_id)
        raise PermanentError("cannot decode /srv/darkroom/storage/upload/x.jpg")

    runners(bus, [handler], world, on_dead_letter=world.dead_letter, asset_exists=world.exists)
    await bus.publish(_event(racing))
    await bus.publish(_event(gone))
    await _settled(bus, "racing")
    assert sorted(world.ran) == sorted([racing, gone])  # each ran once, never retried
    assert world.letters == []


async def test_dead_letter_reason_has_no_server_path(make_bus: Any, runners: Any) -> None:
    bus = await make_bus()
    world = World()
    asset_id = str(uuid.uuid4())
    world.existing.add(asset_id)

    @subscribe(AssetCreated, durable="paths", max_deliver=1, backoff=())
    async def handler(event: AssetCreated, ctx: World) -> None:
        raise OSError(
            "cannot identify image file '/srv/darkroom/data/storage/upload/o/ab/cd/x.jpg' "
            "(also tried data/storage/upload/o/ab/cd/x.jpg and /tmp/darkroom-meta-1/original.jpg)"
        )

    runners(
        bus,
        [handler],
        world,
        on_dead_letter=world.dead_letter,
        asset_exists=world.exists,
        redact_roots=("data/storage",),
    )
    await bus.publish(_event(asset_id))
    await _settled(bus, "paths")
    assert len(world.letters) == 1
    error = world.letters[0].error
    assert "/srv" not in error and "/tmp" not in error and "data/storage" not in error, error
    assert "x.jpg" in error and "original.jpg" in error, error


@pytest.mark.parametrize(
    ("text", "roots", "expected"),
    [
        (
            "Invalid data found when processing input: '/srv/dr/storage/upload/o/a.mp4'",
            (),
            "Invalid data found when processing input: 'a.mp4'",
        ),
        (
            "no such file: data/storage/upload/o/a.jpg",
            ("./data/storage",),
            "no such file: upload/o/a.jpg",
        ),
        ("cannot decode image/jpeg (1/2 read) from http://host/x", (), None),
        ("not a path: /", (), None),
    ],
)
def test_scrub_paths(text: str, roots: tuple[str, ...], expected: str | None) -> None:
    assert scrub_paths(text, roots) == (text if expected is None else expected)
