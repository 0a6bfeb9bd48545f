"""Memories over HTTP against the running embedded stack (issue 16, item 1).

What this proves: photos dated today's month and day in three earlier years (set with
``PUT /api/assets`` ``dateTimeOriginal``) give one "on this day" memory per year after
``POST /api/jobs {"name": "memory-create"}``, shown today, each with its year's photos; an
archived photo and a trashed one do not appear (nor a memory of a year that only has those); a
second run creates nothing new; each of the eight memory operations answers as Immich 3.1 does
(shapes, filters, BulkIdResponseDto per id); another user gets 400 ``Not found or no memory.*
access`` for every id-taking operation, and an anonymous client 401; ``memory-create`` is an
admin's job; the mobile sync lines (``MemoriesV1``, ``MemoryToAssetsV1`` and their deletions)
validate against the spec's schemas; ``memory-cleanup`` removes expired unsaved memories and
the changes are published as ``darkroom.memory.*`` events; two gateways never generate at once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import httpx
import msgspec
import numpy as np
import pytest
import pyvips
from darkroom_events import MemoryCreated, MemoryDeleted
from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user, stream_events, upload_jpeg, wait_processed
from tests.test_sync import Device
from tests.test_sync_types import SPEC_PATH, _json_schema, data_lines, validate

#: Generous ceiling for the pipeline on a busy 2-core machine (polled, not slept).
PIPELINE_S = 600
#: Earlier years with photos on today's month and day; ARCHIVED_YEAR has only an archived one.
YEARS = (2023, 2020, 2017)
ARCHIVED_YEAR = 2014


def jpeg(seed: int) -> bytes:
    """A small JPEG of random pixels unique to ``seed``."""
    pixels = np.random.default_rng(seed).integers(0, 255, size=(32, 48, 3), dtype=np.uint8)
    return bytes(pyvips.Image.new_from_array(pixels, interpretation="srgb").jpegsave_buffer(Q=80))


def today() -> date:
    """The server's day (UTC), which the generation and ``for`` use."""
    return datetime.now(UTC).date()


def on_day(year: int, hour: int = 12) -> str:
    day = today()
    if (day.month, day.day) == (2, 29) and year % 4:
        pytest.skip("29 February: most earlier years have no such day")
    return f"{year:04d}-{day.month:02d}-{day.day:02d}T{hour:02d}:00:00.000Z"


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user whose memories are only this module's."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def stranger(stack: Stack, admin: User) -> User:
    """Another user, who must be refused."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def photos(owner: User, stranger: User) -> dict[str, str]:
    """``owner``'s processed photos: two in YEARS[0], one in each other year of YEARS, an
    archived one in YEARS[1] and in ARCHIVED_YEAR, a trashed one in YEARS[2], one on another
    day; and one of ``stranger`` on today's day. Name -> asset id."""
    names = ["y0a", "y0b", "y1", "y2", "arch1", "arch_only", "trashed", "other_day"]
    ids = {name: upload_jpeg(owner, jpeg(100 + k)) for k, name in enumerate(names)}
    ids["theirs"] = upload_jpeg(stranger, jpeg(199))
    wait_processed(owner, [ids[n] for n in names], timeout=PIPELINE_S)
    wait_processed(stranger, [ids["theirs"]], timeout=PIPELINE_S)
    dated = {
        "y0a": on_day(YEARS[0], 9),
        "y0b": on_day(YEARS[0], 15),
        "y1": on_day(YEARS[1]),
        "y2": on_day(YEARS[2]),
        "arch1": on_day(YEARS[1], 18),
        "arch_only": on_day(ARCHIVED_YEAR),
        "trashed": on_day(YEARS[2], 8),
    }
    for name, when in dated.items():
        ok(
            owner.client.put("/api/assets", json={"ids": [ids[name]], "dateTimeOriginal": when}),
            204,
        )
    other = today().replace(year=2019, day=1 if today().day != 1 else 2)
    body = {"ids": [ids["other_day"]], "dateTimeOriginal": f"{other.isoformat()}T12:00:00.000Z"}
    ok(owner.client.put("/api/assets", json=body), 204)
    ok(
        stranger.client.put(
            "/api/assets", json={"ids": [ids["theirs"]], "dateTimeOriginal": on_day(YEARS[0])}
        ),
        204,
    )
    archive = {"ids": [ids["arch1"], ids["arch_only"]], "visibility": "archive"}
    ok(owner.client.put("/api/assets", json=archive), 204)
    ok(owner.client.request("DELETE", "/api/assets", json={"ids": [ids["trashed"]]}), 204)
    return ids


def todays(user: User) -> list[dict[str, Any]]:
    body = ok(user.client.get("/api/memories", params={"for": today().isoformat()}))
    return [m for m in body if m["type"] == "on_this_day"]


@pytest.fixture(scope="module")
def generated(admin: User, owner: User, photos: dict[str, str]) -> list[dict[str, Any]]:
    """``owner``'s memories shown today after one ``memory-create`` run."""
    ok(admin.client.post("/api/jobs", json={"name": "memory-create"}), 204)
    return todays(owner)


def test_one_on_this_day_memory_per_earlier_year(
    generated: list[dict[str, Any]], photos: dict[str, str]
) -> None:
    by_year = {m["data"]["year"]: m for m in generated}
    assert sorted(by_year) == sorted(YEARS), generated  # none for the archived-only year
    assert len(generated) == len(YEARS)
    assert [a["id"] for a in by_year[YEARS[0]]["assets"]] == [photos["y0a"], photos["y0b"]]
    assert [a["id"] for a in by_year[YEARS[1]]["assets"]] == [photos["y1"]]  # not the archived
    assert [a["id"] for a in by_year[YEARS[2]]["assets"]] == [photos["y2"]]  # not the trashed
    day = today()
    for year, m in by_year.items():
        assert m["memoryAt"].startswith(f"{year:04d}-{day.month:02d}-{day.day:02d}T00:00:00")
        assert m["showAt"].startswith(f"{day.isoformat()}T00:00:00")
        assert m["hideAt"].startswith(f"{day.isoformat()}T23:59:59")
        assert m["isSaved"] is False and "seenAt" not in m and "deletedAt" not in m
        assert set(m) == {
            "id", "ownerId", "type", "data", "memoryAt", "showAt", "hideAt", "isSaved",
            "createdAt", "updatedAt", "assets",
        }  # fmt: skip


def test_a_second_run_creates_nothing_new(
    admin: User, owner: User, generated: list[dict[str, Any]]
) -> None:
    ok(admin.client.post("/api/jobs", json={"name": "memory-create"}), 204)
    again = todays(owner)
    assert sorted(m["id"] for m in again) == sorted(m["id"] for m in generated)
    total = ok(owner.client.get("/api/memories/statistics", params={"for": today().isoformat()}))
    assert total == {"total": len(YEARS)}


def test_jobs_are_for_admins_and_only_known_names(owner: User, admin: User) -> None:
    r = owner.client.post("/api/jobs", json={"name": "memory-create"})
    assert r.status_code == 403, r.text
    bad = admin.client.post("/api/jobs", json={"name": "no-such-job"})
    assert bad.status_code == 400, bad.text
    unsupported = admin.client.post("/api/jobs", json={"name": "person-cleanup"})
    assert unsupported.status_code == 400, unsupported.text
    assert "not supported" in unsupported.json()["message"]
    ok(admin.client.post("/api/jobs", json={"name": "memory-cleanup"}), 204)


def test_the_stranger_sees_only_their_own(
    stranger: User, generated: list[dict[str, Any]], photos: dict[str, str]
) -> None:
    mine = todays(stranger)
    assert [m["data"]["year"] for m in mine] == [YEARS[0]]
    assert [a["id"] for a in mine[0]["assets"]] == [photos["theirs"]]
    assert not {m["id"] for m in mine} & {m["id"] for m in generated}


def test_create_update_assets_and_delete(
    stack: Stack, owner: User, stranger: User, photos: dict[str, str]
) -> None:
    body = {
        "type": "on_this_day",
        "data": {"year": 2001},
        "memoryAt": "2001-06-01T00:00:00.000Z",
        "assetIds": [photos["y1"], photos["theirs"]],  # the stranger's is left out
        "isSaved": True,
    }
    made = ok(owner.client.post("/api/memories", json=body), 201)
    assert made["data"] == {"year": 2001} and made["isSaved"] is True
    assert made["ownerId"] == owner.id
    assert [a["id"] for a in made["assets"]] == [photos["y1"]]
    assert "showAt" not in made and "hideAt" not in made
    memory_id = made["id"]
    assert ok(owner.client.get(f"/api/memories/{memory_id}"))["id"] == memory_id

    seen = "2026-01-02T03:04:05.000Z"
    updated = ok(owner.client.put(f"/api/memories/{memory_id}", json={"seenAt": seen}))
    assert updated["seenAt"].startswith("2026-01-02T03:04:05") and updated["isSaved"] is True
    unsaved = ok(owner.client.put(f"/api/memories/{memory_id}", json={"isSaved": False}))
    assert unsaved["isSaved"] is False and unsaved["seenAt"] == updated["seenAt"]
    saved = ok(owner.client.get("/api/memories", params={"isSaved": "true"}))
    assert memory_id not in {m["id"] for m in saved}

    ghost = str(uuid.uuid4())
    added = ok(
        owner.client.put(
            f"/api/memories/{memory_id}/assets",
            json={"ids": [photos["y2"], photos["y1"], photos["theirs"], ghost]},
        )
    )
    assert added == [
        {"id": photos["y2"], "success": True},
        {"id": photos["y1"], "success": False, "error": "duplicate"},
        {"id": photos["theirs"], "success": False, "error": "no_permission"},
        {"id": ghost, "success": False, "error": "no_permission"},
    ]
    removed = ok(
        owner.client.request(
            "DELETE", f"/api/memories/{memory_id}/assets", json={"ids": [photos["y1"], ghost]}
        )
    )
    assert removed == [
        {"id": photos["y1"], "success": True},
        {"id": ghost, "success": False, "error": "not_found"},
    ]
    after = ok(owner.client.get(f"/api/memories/{memory_id}"))
    assert [a["id"] for a in after["assets"]] == [photos["y2"]]

    # another user: every id-taking operation is refused as Immich refuses
    for method, path, json in [
        ("GET", f"/api/memories/{memory_id}", None),
        ("PUT", f"/api/memories/{memory_id}", {"isSaved": True}),
        ("DELETE", f"/api/memories/{memory_id}", None),
        ("PUT", f"/api/memories/{memory_id}/assets", {"ids": [photos["theirs"]]}),
        ("DELETE", f"/api/memories/{memory_id}/assets", {"ids": [photos["y2"]]}),
    ]:
        r = stranger.client.request(method, path, json=json)
        assert r.status_code == 400, (method, path, r.text)
        assert r.json()["message"].startswith("Not found or no memory"), r.text
    assert memory_id not in {m["id"] for m in ok(stranger.client.get("/api/memories"))}
    anonymous = httpx.Client(base_url=stack.url, timeout=60)
    for method, path in [
        ("GET", "/api/memories"),
        ("POST", "/api/memories"),
        ("GET", "/api/memories/statistics"),
        ("GET", f"/api/memories/{memory_id}"),
        ("PUT", f"/api/memories/{memory_id}/assets"),
    ]:
        assert anonymous.request(method, path, json={}).status_code == 401, (method, path)

    ok(owner.client.delete(f"/api/memories/{memory_id}"), 204)
    assert owner.client.get(f"/api/memories/{memory_id}").status_code == 400


def test_search_filters_order_and_size(owner: User, generated: list[dict[str, Any]]) -> None:
    asc = ok(owner.client.get("/api/memories", params={"order": "asc"}))
    stamps = [m["memoryAt"] for m in asc]
    assert stamps == sorted(stamps)
    desc = ok(owner.client.get("/api/memories", params={"order": "desc", "size": 2}))
    assert len(desc) == 2 and desc[0]["memoryAt"] >= desc[1]["memoryAt"]
    assert ok(owner.client.get("/api/memories", params={"isTrashed": "true"})) == []
    elsewhen = ok(owner.client.get("/api/memories", params={"for": "2001-01-01"}))
    assert not {m["id"] for m in elsewhen} & {m["id"] for m in generated}
    assert owner.client.get("/api/memories", params={"for": "not a day"}).status_code == 400
    assert owner.client.get("/api/memories", params={"size": 0}).status_code == 400
    assert owner.client.get("/api/memories", params={"type": "other"}).status_code == 400


@pytest.mark.skipif(not SPEC_PATH.is_file(), reason=f"no Immich spec at {SPEC_PATH}")
def test_sync_lines_validate_against_the_spec(
    stack: Stack, owner: User, photos: dict[str, str], generated: list[dict[str, Any]]
) -> None:
    from darkroom_gateway import apidoc

    components = {"components": _json_schema(apidoc.load_spec(SPEC_PATH)["components"])}
    device = Device(stack, owner)
    types = ["AssetsV1", "MemoriesV1", "MemoryToAssetsV1"]
    lines = device.sync(types)
    validate(components, lines)
    memories = {d["id"]: d for d in data_lines(lines, "MemoryV1")}
    assert {m["id"] for m in generated} <= set(memories)
    links = {(d["memoryId"], d["assetId"]) for d in data_lines(lines, "MemoryToAssetV1")}
    by_year = {m["data"]["year"]: m["id"] for m in generated}
    assert (by_year[YEARS[1]], photos["y1"]) in links
    device.ack(lines)
    assert [line["type"] for line in device.sync(types)] == ["SyncCompleteV1"]

    # a removed link and a deleted memory come as the spec's delete lines
    year0 = by_year[YEARS[0]]
    out = {"ids": [photos["y0b"]]}
    ok(owner.client.request("DELETE", f"/api/memories/{year0}/assets", json=out))
    ok(owner.client.delete(f"/api/memories/{by_year[YEARS[2]]}"), 204)
    lines = device.sync(types)
    validate(components, lines)
    assert data_lines(lines, "MemoryToAssetDeleteV1") == [
        {"memoryId": year0, "assetId": photos["y0b"]}
    ]
    assert data_lines(lines, "MemoryDeleteV1") == [{"memoryId": by_year[YEARS[2]]}]
    assert [d["id"] for d in data_lines(lines, "MemoryV1")] == [year0]  # updated: assets changed


def test_two_replicas_never_generate_at_once(stack: Stack) -> None:
    """While another gateway holds the generation's advisory lock, a daily run does nothing and
    a run that waits (the job) goes on once the lock is released."""
    from darkroom_db import create_pool
    from darkroom_db import memories as memories_db

    async def run() -> tuple[object, object, object]:
        url = stack.env()["DARKROOM_DATABASE_URL"]
        other = await asyncpg.connect(url)
        pool = await create_pool(url)
        try:
            await other.execute("SELECT pg_advisory_lock($1)", memories_db.GENERATION_LOCK)
            skipped = await memories_db.generate(pool, today())
            waiting = asyncio.ensure_future(memories_db.generate(pool, today(), wait=True))
            deadline = asyncio.get_running_loop().time() + PIPELINE_S
            while not await other.fetchval(  # until it is queued behind the lock
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ):
                assert asyncio.get_running_loop().time() < deadline, "never asked for the lock"
                await asyncio.sleep(0.05)
            blocked = waiting.done()
            await other.execute("SELECT pg_advisory_unlock($1)", memories_db.GENERATION_LOCK)
            return skipped, blocked, await asyncio.wait_for(waiting, timeout=PIPELINE_S)
        finally:
            await pool.close()
            await other.close()

    skipped, blocked, waited = asyncio.run(run())
    assert skipped is None
    assert blocked is False
    assert isinstance(waited, list)


def test_cleanup_removes_expired_unsaved_memories_and_tells_the_stream(
    stack: Stack, admin: User, owner: User, photos: dict[str, str]
) -> None:
    """``memory-cleanup`` deletes unsaved memories made more than 30 days ago (Immich's rule);
    a saved one and a recent one stay; the deletion is published as ``darkroom.memory.deleted``
    (ids only)."""

    def make(saved: bool) -> str:
        body = {
            "type": "on_this_day",
            "data": {"year": 2005},
            "memoryAt": "2005-03-01T00:00:00.000Z",
            "assetIds": [photos["y1"]],
            "isSaved": saved,
        }
        return str(ok(owner.client.post("/api/memories", json=body), 201)["id"])

    expired, kept_saved, recent = make(False), make(True), make(False)

    async def age(ids: list[str]) -> None:  # made 31 days ago: the test's only way back in time
        conn = await asyncpg.connect(stack.env()["DARKROOM_DATABASE_URL"])
        try:
            await conn.execute(
                "UPDATE memories SET created_at = now() - interval '31 days' "
                "WHERE id = ANY($1::uuid[])",
                [uuid.UUID(i) for i in ids],
            )
        finally:
            await conn.close()

    asyncio.run(age([expired, kept_saved]))
    ok(admin.client.post("/api/jobs", json={"name": "memory-cleanup"}), 204)
    assert owner.client.get(f"/api/memories/{expired}").status_code == 400
    assert ok(owner.client.get(f"/api/memories/{kept_saved}"))["isSaved"] is True
    assert ok(owner.client.get(f"/api/memories/{recent}"))["id"] == recent

    url = stack.env()["DARKROOM_NATS_URL"]
    deadline = time.monotonic() + PIPELINE_S
    while True:  # published after the commit: wait for it on the stream
        events = [
            msgspec.json.decode(d, type=MemoryDeleted)
            for d in asyncio.run(stream_events(url, MemoryDeleted.subject))
            if expired.encode() in d
        ]
        if events or time.monotonic() > deadline:
            break
    assert [(e.memory_id, e.owner_id) for e in events] == [(expired, owner.id)]
    created = asyncio.run(stream_events(url, MemoryCreated.subject))
    assert any(recent.encode() in d for d in created)
