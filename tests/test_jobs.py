"""Jobs as in Immich (issue #15 item 2): "missing", "all", pause/resume, empty, dead-letter retry
and asset jobs, over HTTP against a real stack (NATS, PostgreSQL, the pipeline services).

The stack starts without a CLIP model (the embedding service has nothing to load: smart search
is off); 30 sample photos are processed; then the tiny generated CLIP model is added and the
embedding service restarted, and "missing" for smartSearch embeds exactly those 30. The tests
run in file order on one stack.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import io
import json
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir
from PIL import Image

from tests.conftest import User, first_admin, make_user, running_stack, stream_events, upload

pytest.importorskip("onnx")

MODEL = "Tiny-CLIP__jobs"
SERVICES = ("ingest", "metadata", "thumbnail", "embedding", "gateway")
#: Ceiling of every wait on progress (a busy 2-core machine is slow; the waits end early).
PATIENCE_S = 180.0
THUMBNAIL_REPLAY = "darkroom.job.thumbnail_darkroom_asset_metadata_extracted.run"


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def jobs_stack(tmp_path_factory: pytest.TempPathFactory, models: Path) -> Iterator[Stack]:
    with running_stack(
        tmp_path_factory.mktemp("jobs-stack"),
        services=SERVICES,
        env={
            "DARKROOM_ML_MODEL_DIR": str(models),
            "DARKROOM_CLIP_MODEL": MODEL,
            "DARKROOM_ML_DOWNLOAD": "false",
        },
    ) as running:
        yield running


@pytest.fixture(scope="module")
def admin(jobs_stack: Stack) -> User:
    return first_admin(jobs_stack)


@pytest.fixture(scope="module")
def other(jobs_stack: Stack, admin: User) -> User:
    return make_user(jobs_stack, admin)


def _samples(count: int) -> list[Path]:
    """``count`` small sample JPEGs with distinct contents."""
    root = samples_dir()
    if root is None:
        pytest.skip("no sample media (../shared/samples)")
    photos = root / "photos"
    found = sorted(photos.glob("recurser_exif-orientation/*.jpg")) + sorted(
        photos.glob("ianare_exif-samples/jpg/gps/*.jpg")
    )
    found += sorted(photos.glob("ianare_exif-samples/jpg/exif-org/*.jpg"))
    picked: list[Path] = []
    seen: set[str] = set()
    for path in found:
        digest = hashlib.sha1(path.read_bytes()).hexdigest()
        if digest not in seen and path.stat().st_size < 400_000:
            seen.add(digest)
            picked.append(path)
    assert len(picked) >= count, f"only {len(picked)} samples"
    return picked[:count]


def _jpeg(seed: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (seed % 256, (seed * 7) % 256, 99)).save(buf, "JPEG")
    return buf.getvalue()


async def _db(stack: Stack) -> asyncpg.Connection:
    return await asyncpg.connect(stack.env()["DARKROOM_DATABASE_URL"])


async def _times(stack: Stack, ids: list[str], column: str) -> dict[str, datetime | None]:
    conn = await _db(stack)
    try:
        rows = await conn.fetch(
            f"SELECT asset_id, {column} AS at FROM asset_job_status "
            "WHERE asset_id = ANY($1::uuid[])",
            [uuid.UUID(i) for i in ids],
        )
        return {str(r["asset_id"]): r["at"] for r in rows}
    finally:
        await conn.close()


async def _scalar(stack: Stack, sql: str, *args: object) -> object:
    conn = await _db(stack)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def _until(check, what: str, ceiling_s: float = PATIENCE_S):  # type: ignore[no-untyped-def]
    """Poll ``check`` (async, truthy when done) until done; fail naming ``what``."""
    deadline = time.monotonic() + ceiling_s
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.5)


def _queue(user: User, name: str) -> dict[str, object]:
    r = user.client.get(f"/api/queues/{name}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def _command(user: User, name: str, command: str, force: bool | None = None) -> httpx.Response:
    body: dict[str, object] = {"command": command}
    if force is not None:
        body["force"] = force
    return user.client.put(f"/api/jobs/{name}", json=body)


@pytest.fixture(scope="module")
def photos(jobs_stack: Stack, admin: User) -> list[str]:
    """30 sample photos, uploaded and through metadata and thumbnails (no model: no embedding)."""
    ids: list[str] = []
    for path in _samples(30):
        r = upload(admin, path)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    assert len(set(ids)) == 30

    async def thumbnailed() -> bool:
        times = await _times(jobs_stack, ids, "thumbnail_at")
        return all(times.get(i) for i in ids)

    asyncio.run(_until(thumbnailed, "30 thumbnails"))
    return ids


def _renders(stack: Stack) -> collections.Counter[str]:
    """Asset id -> times the thumbnail service logged ``thumbnail.generated`` for it."""
    counts: collections.Counter[str] = collections.Counter()
    log = stack.config.data_dir / "logs" / "thumbnail.log"
    for line in log.read_text(errors="replace").splitlines():
        _, _, body = line.partition(" | ")
        if '"thumbnail.generated"' in body:
            counts[json.loads(body)["asset_id"]] += 1
    return counts


def test_refused_to_non_admins_anonymous_and_bad_names(
    jobs_stack: Stack, admin: User, other: User
) -> None:
    anon = httpx.Client(base_url=jobs_stack.url, timeout=60)
    for client, status in ((other.client, 403), (anon, 401)):
        assert _command(admin, "x", "start").status_code == 400
        r = client.put("/api/jobs/thumbnailGeneration", json={"command": "start", "force": True})
        assert r.status_code == status, r.text
        r = client.put("/api/queues/thumbnailGeneration", json={"isPaused": True})
        assert r.status_code == status, r.text
        r = client.delete("/api/queues/thumbnailGeneration/jobs")
        assert r.status_code == status, r.text
    r = anon.post(
        "/api/assets/jobs", json={"assetIds": [str(uuid.uuid4())], "name": "refresh-metadata"}
    )
    assert r.status_code == 401, r.text
    r = _command(admin, "thumbnailGeneration", "restart")
    assert r.status_code == 400, r.text
    assert _queue(admin, "thumbnailGeneration")["isPaused"] is False


async def test_missing_smart_search_embeds_exactly_the_assets_before_the_model(
    jobs_stack: Stack, admin: User, photos: list[str], models: Path
) -> None:
    from darkroom_ml.testing import build_tiny_clip

    assert await _scalar(jobs_stack, "SELECT count(*) FROM smart_search") == 0
    thumbs_before = await _times(jobs_stack, photos, "thumbnail_at")
    meta_before = await _times(jobs_stack, photos, "metadata_extracted_at")
    # no model yet: "missing" sends nothing (the service could not embed it)
    assert _command(admin, "smartSearch", "start", force=False).status_code == 200

    build_tiny_clip(models, MODEL, dim=64, image_size=32, seed=3)
    jobs_stack.hold("embedding")
    jobs_stack.spawn("embedding")

    async def model_ready() -> bool:
        ready = await _scalar(jobs_stack, "SELECT ready FROM ml_model_status WHERE task = 'clip'")
        return ready is True

    await _until(model_ready, "the embedding service to load the model")
    assert await _scalar(jobs_stack, "SELECT count(*) FROM smart_search") == 0

    r = _command(admin, "smartSearch", "start", force=False)
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"jobCounts", "queueStatus"}

    async def embedded() -> bool:
        return await _scalar(jobs_stack, "SELECT count(*) FROM smart_search") == 30

    await _until(embedded, "30 embeddings")
    stored = await _scalar(
        jobs_stack,
        "SELECT count(*) FROM smart_search WHERE asset_id = ANY($1::uuid[])",
        [uuid.UUID(i) for i in photos],
    )
    assert stored == 30
    assert await _times(jobs_stack, photos, "thumbnail_at") == thumbs_before, "thumbnails re-ran"
    assert await _times(jobs_stack, photos, "metadata_extracted_at") == meta_before
    assert _queue(admin, "smartSearch")["statistics"]["completed"] == 30  # type: ignore[index]


async def test_all_thumbnails_re_renders_each_asset_once(
    jobs_stack: Stack, admin: User, photos: list[str]
) -> None:
    before = await _times(jobs_stack, photos, "thumbnail_at")
    r = _command(admin, "thumbnailGeneration", "start", force=True)
    assert r.status_code == 200, r.text

    async def all_moved() -> bool:
        now = await _times(jobs_stack, photos, "thumbnail_at")
        logged = _renders(jobs_stack)  # logged right after the commit: wait for both
        return all(now[i] and now[i] > before[i] and logged[i] >= 2 for i in photos)  # type: ignore[operator]

    await _until(all_moved, "every thumbnail to be rendered again")
    replays = await stream_events(jobs_stack.env()["DARKROOM_NATS_URL"], THUMBNAIL_REPLAY)
    assert len(replays) == 30, "one re-run job per asset"
    renders = _renders(jobs_stack)
    assert {i: renders[i] for i in photos} == dict.fromkeys(photos, 2), "upload + all, once each"


async def test_pause_lets_the_lag_grow_resume_drains_and_a_dead_letter_is_retried(
    jobs_stack: Stack, admin: User
) -> None:
    r = admin.client.put("/api/queues/thumbnailGeneration", json={"isPaused": True})
    assert r.status_code == 200, r.text
    assert r.json()["isPaused"] is True
    good = upload(admin, Path("good.jpg"), data=_jpeg(1)).json()["id"]
    bad = upload(admin, Path("bad.jpg"), data=_jpeg(2)).json()["id"]

    async def lag() -> bool:
        stats = _queue(admin, "thumbnailGeneration")["statistics"]
        # BullMQ's counts of a paused queue: its jobs are paused, none waiting
        return stats["waiting"] == 0 and stats["paused"] >= 2  # type: ignore[index,operator]

    await _until(lag, "the paused queue's lag to grow")
    assert set((await _times(jobs_stack, [good, bad], "thumbnail_at")).values()) == {None}
    legacy = admin.client.get("/api/jobs").json()["thumbnailGeneration"]
    assert legacy["queueStatus"]["isPaused"] is True

    # the "bad" original is corrupted before its job runs: a permanent failure, dead-lettered
    key = await _scalar(
        jobs_stack, "SELECT original_path FROM assets WHERE id = $1", uuid.UUID(bad)
    )
    original = Path(jobs_stack.env()["DARKROOM_STORAGE_ROOT"]) / str(key)
    kept = original.read_bytes()
    original.write_bytes(b"not an image at all")

    r = _command(admin, "thumbnailGeneration", "resume")
    assert r.status_code == 200, r.text
    assert r.json()["queueStatus"]["isPaused"] is False

    async def drained_with_one_failure() -> bool:
        done = await _times(jobs_stack, [good], "thumbnail_at")
        stats = _queue(admin, "thumbnailGeneration")["statistics"]
        return bool(done[good]) and stats["failed"] == 1  # type: ignore[index]

    await _until(drained_with_one_failure, "the queue to drain, one job dead-lettered")
    failed = admin.client.get("/api/queues/thumbnailGeneration/jobs?status=failed").json()
    assert [job["data"]["id"] for job in failed] == [bad]

    original.write_bytes(kept)  # the cause is fixed
    assert _command(admin, "thumbnailGeneration", "start", force=False).status_code == 200

    async def retried() -> bool:
        done = await _times(jobs_stack, [bad], "thumbnail_at")
        return bool(done[bad])

    await _until(retried, "the dead letter to be retried")
    assert _queue(admin, "thumbnailGeneration")["statistics"]["failed"] == 0  # type: ignore[index]
    assert admin.client.get("/api/queues/thumbnailGeneration/jobs?status=failed").json() == []


async def test_empty_drops_what_waits_and_clear_failed(jobs_stack: Stack, admin: User) -> None:
    assert _command(admin, "thumbnailGeneration", "pause").status_code == 200
    dropped = upload(admin, Path("dropped.jpg"), data=_jpeg(3)).json()["id"]

    async def waiting() -> bool:
        return _queue(admin, "thumbnailGeneration")["statistics"]["paused"] >= 1  # type: ignore[index,operator]

    await _until(waiting, "a job waiting in the paused queue")
    r = admin.client.request(
        "DELETE", "/api/queues/thumbnailGeneration/jobs", json={"failed": True}
    )
    assert r.status_code == 204, r.text
    stats = _queue(admin, "thumbnailGeneration")
    assert stats["isPaused"] is True and stats["statistics"]["paused"] == 0  # type: ignore[index]
    assert _command(admin, "thumbnailGeneration", "resume").status_code == 200
    assert _command(admin, "thumbnailGeneration", "clear-failed").status_code == 200
    # the dropped job is "missing" now: start brings it back
    assert (await _times(jobs_stack, [dropped], "thumbnail_at"))[dropped] is None
    assert _command(admin, "thumbnailGeneration", "start", force=False).status_code == 200

    async def rendered() -> bool:
        return bool((await _times(jobs_stack, [dropped], "thumbnail_at"))[dropped])

    await _until(rendered, "the missing thumbnail")


async def test_asset_job_regenerates_one_thumbnail_and_refuses_others_assets(
    jobs_stack: Stack, admin: User, other: User, photos: list[str]
) -> None:
    before = await _times(jobs_stack, photos, "thumbnail_at")
    target = photos[0]
    r = other.client.post(
        "/api/assets/jobs", json={"assetIds": [target], "name": "regenerate-thumbnail"}
    )
    assert r.status_code == 400, r.text
    assert r.json()["message"] == "Not found or no asset.update access"

    r = admin.client.post(
        "/api/assets/jobs", json={"assetIds": [target], "name": "regenerate-thumbnail"}
    )
    assert r.status_code == 204, r.text

    async def moved() -> bool:
        now = await _times(jobs_stack, [target], "thumbnail_at")
        return now[target] > before[target]  # type: ignore[operator]

    await _until(moved, "the asset's thumbnail to be rendered again")
    after = await _times(jobs_stack, photos, "thumbnail_at")
    assert {i for i in photos if after[i] != before[i]} == {target}
