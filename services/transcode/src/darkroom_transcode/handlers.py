"""Transcode handler: make a video playable everywhere, or record that it already is."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import get_args

import asyncpg
import msgspec
import structlog
from darkroom_bus import PermanentError, subscribe
from darkroom_db import assets
from darkroom_db import hls as hls_db
from darkroom_events import AssetMetadataExtracted, AssetVideoTranscoded
from darkroom_media import MediaError
from darkroom_runtime import Context

from darkroom_transcode import hls
from darkroom_transcode import transcode as tc
from darkroom_transcode.policy import Probe, VideoCodec, VideoSettings, bitrate_kbps, decide

log = structlog.get_logger()

#: Prefix of the per-job scratch folders; the pid after it tells whose they are.
SCRATCH_PREFIX = "darkroom-transcode-"
_CHUNK = 1 << 20


def encoded_key(owner_id: str, asset_id: str) -> str:
    """``encoded-video/<userId>/<ab>/<cd>/<assetId>.mp4`` (Immich's layout)."""
    hex_id = uuid.UUID(asset_id).hex
    return f"encoded-video/{owner_id}/{hex_id[:2]}/{hex_id[2:4]}/{asset_id}.mp4"


def ladder_key(owner_id: str, asset_id: str) -> str:
    """``encoded-video/<userId>/<ab>/<cd>/<assetId>.hls.ts``: the HLS segments of all renditions,
    beside the MP4 (:mod:`darkroom_db.hls`)."""
    return encoded_key(owner_id, asset_id).removesuffix(".mp4") + ".hls.ts"


def video_settings(ctx: Context) -> VideoSettings:
    """The service's encoding settings (``DARKROOM_TRANSCODE_*``) with what the system config in
    force sets of them, read live: ``ffmpeg.transcode`` (policy), ``ffmpeg.crf``,
    ``ffmpeg.targetResolution`` (``"original"``: keep the size), ``ffmpeg.preset``,
    ``ffmpeg.targetVideoCodec`` (a codec this service cannot encode, VP9, keeps its own), and
    what the policy accepts as it is: ``acceptedVideoCodecs``, ``acceptedAudioCodecs``,
    ``acceptedContainers`` and ``maxBitrate`` (Immich's media service reads them all from the
    config for every job). The variables are the config's defaults
    (:data:`darkroom_db.system_config.ENV_DEFAULTS`).
    """
    own: VideoSettings = getattr(ctx.settings, "transcode", VideoSettings())
    ffmpeg = ctx.config.current.ffmpeg
    resolution = ffmpeg.target_resolution.strip().lower()
    codec = ffmpeg.target_video_codec
    return msgspec.structs.replace(
        own,
        policy=ffmpeg.transcode,
        crf=ffmpeg.crf,
        preset=ffmpeg.preset,
        target_resolution=int(resolution) if resolution.isdigit() else 0,
        codec=codec if codec in get_args(VideoCodec) else own.codec,
        accepted_video_codecs=tuple(ffmpeg.accepted_video_codecs),
        accepted_audio_codecs=tuple(ffmpeg.accepted_audio_codecs),
        accepted_containers=tuple(ffmpeg.accepted_containers),
        max_bitrate_kbps=bitrate_kbps(ffmpeg.max_bitrate),
    )


def scratch_root(ctx: Context) -> Path:
    """The folder holding per-job scratch folders."""
    return Path(getattr(ctx.settings, "scratch_dir", "") or tempfile.gettempdir())


def remove_stale_scratch(root: Path) -> list[Path]:
    """Delete scratch folders left by transcode processes that no longer run (kill -9).

    Folders are named ``darkroom-transcode-<pid>-<random>``; one whose pid is alive is kept.

    Returns:
        The folders removed.
    """
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for path in root.glob(f"{SCRATCH_PREFIX}*"):
        try:
            pid = int(path.name.removeprefix(SCRATCH_PREFIX).split("-", 1)[0])
        except ValueError:
            continue
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
            continue  # still running
        except ProcessLookupError:
            pass
        except PermissionError:
            continue  # someone else's live process
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


async def setup(ctx: Context) -> None:
    """Start-up: remove scratch files of killed runs."""
    removed = await asyncio.to_thread(remove_stale_scratch, scratch_root(ctx))
    if removed:
        log.info("transcode.scratch_cleaned", folders=len(removed))


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    with await asyncio.to_thread(path.open, "rb") as f:
        while chunk := await asyncio.to_thread(f.read, _CHUNK):
            yield chunk


class _Progress:
    """The latest percent reported by the transcoding thread (read by the writer task)."""

    def __init__(self) -> None:
        self.percent = 0.0

    def __call__(self, percent: float) -> None:
        self.percent = percent


async def _write_progress(
    ctx: Context, asset_id: uuid.UUID, progress: _Progress, interval: float
) -> None:
    written = -1.0
    while True:
        if progress.percent != written:
            written = progress.percent
            await assets.set_transcode_progress(ctx.pool, asset_id, round(written, 1))
        await asyncio.sleep(interval)


@subscribe(
    AssetMetadataExtracted,
    durable="transcode",
    ack_wait=10.0,
    max_deliver=5,
    backoff=(1, 5, 30),
    concurrency=1,
)
async def transcode_video(event: AssetMetadataExtracted, ctx: Context) -> None:
    """Make a video playable: an H.264/AAC MP4 when the policy says so, and the HLS ladder
    (:mod:`darkroom_transcode.hls`) when ``DARKROOM_TRANSCODE_HLS_ENABLED``.

    Images are acknowledged at once. Idempotent, each part on its own: a redelivered job skips
    the MP4 when its transcode finished after the latest metadata extraction, and the ladder
    when its ``hls`` file is newer than that; an interrupted part is redone from the start
    (encodes are written to a scratch folder and stored with one atomic put each, so no half
    file is ever visible).

    A job for an asset deleted before it started is skipped by the runner; one deleted while
    it encoded leaves no file behind (:meth:`Context.commit_derived`).

    Raises:
        PermanentError: The video cannot be decoded (the asset is marked failed).
        darkroom_bus.Gone: The asset was deleted while the encoding was stored.
    """
    if event.type != "VIDEO":
        return
    asset_id = uuid.UUID(event.asset_id)
    extracted_at, transcoded_at, _, _ = await assets.transcode_state(ctx.pool, asset_id)
    mp4_due = transcoded_at is None or (extracted_at is not None and transcoded_at < extracted_at)
    settings = video_settings(ctx)
    ladder_due = settings.hls.enabled and await _ladder_due(ctx, event, extracted_at)
    if not mp4_due and not ladder_due:
        log.info("transcode.skipped", asset_id=event.asset_id, reason="already done")
        return
    root = scratch_root(ctx)
    root.mkdir(parents=True, exist_ok=True)
    async with ctx.original_file(event.asset_id, event.original_key) as src:
        try:
            info = await ctx.run_blocking(tc.probe, src)
        except MediaError as exc:
            raise PermanentError(str(exc)) from exc
        if mp4_due:
            await _transcode_mp4(event, ctx, src, info, settings)
        if ladder_due:
            await _encode_ladder(event, ctx, src, info, settings)


async def _ladder_due(
    ctx: Context, event: AssetMetadataExtracted, extracted_at: datetime | None
) -> bool:
    """Whether the asset has no HLS ladder newer than its latest metadata extraction."""
    stored = await hls_db.get_ladder(ctx.pool, uuid.UUID(event.owner_id), uuid.UUID(event.asset_id))
    return stored is None or (extracted_at is not None and stored.updated_at < extracted_at)


async def _encode_ladder(
    event: AssetMetadataExtracted, ctx: Context, src: Path, info: Probe, settings: VideoSettings
) -> None:
    """Encode the HLS ladder, store its segments object and record it (``hls`` file)."""
    asset_id = uuid.UUID(event.asset_id)
    key = ladder_key(event.owner_id, event.asset_id)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(
        prefix=f"{SCRATCH_PREFIX}{os.getpid()}-", dir=scratch_root(ctx)
    ) as d:
        dst = Path(d) / "segments.ts"
        work = Path(d) / "hls"
        work.mkdir()
        try:
            ladder = await ctx.run_blocking(
                hls.encode_ladder, src, work, dst, settings, settings.hls, info=info
            )
        except MediaError as exc:
            raise PermanentError(str(exc)) from exc
        stored = await ctx.storage.put(key, _file_chunks(dst), content_type="video/mp2t")

    async def record(conn: asyncpg.Connection) -> None:
        await hls_db.store_ladder(
            conn,
            asset_id=asset_id,
            owner_id=uuid.UUID(event.owner_id),
            key=key,
            size=stored.size,
            ladder=ladder,
        )

    await ctx.commit_derived(asset_id, [key], record)
    log.info(
        "transcode.hls_done",
        asset_id=event.asset_id,
        renditions=",".join(r.name for r in ladder.renditions),
        segments=sum(len(r.segments) for r in ladder.renditions),
        size=stored.size,
        ms=round((time.perf_counter() - started) * 1000, 1),
    )


async def _transcode_mp4(
    event: AssetMetadataExtracted, ctx: Context, src: Path, info: Probe, settings: VideoSettings
) -> None:
    """Transcode to MP4 when the policy says so and store it, or record why not."""
    asset_id = uuid.UUID(event.asset_id)
    interval = float(getattr(ctx.settings, "progress_interval_s", 2.0))
    owner_id = uuid.UUID(event.owner_id)
    key = encoded_key(event.owner_id, event.asset_id)
    root = scratch_root(ctx)
    started = time.perf_counter()
    decision = decide(info, settings)
    if not decision.transcode:
        await _record_skip(ctx, asset_id, decision.reason)
        log.info("transcode.not_needed", asset_id=event.asset_id, reason=decision.reason)
        return
    with tempfile.TemporaryDirectory(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-", dir=root) as d:
        dst = Path(d) / "encoded.mp4"
        progress = _Progress()
        writer = asyncio.create_task(_write_progress(ctx, asset_id, progress, interval))
        try:
            result = await ctx.run_blocking(
                tc.transcode, src, dst, settings, info=info, on_progress=progress
            )
        except MediaError as exc:
            raise PermanentError(str(exc)) from exc
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        stored = await ctx.storage.put(key, _file_chunks(dst), content_type="video/mp4")

    async def record(conn: asyncpg.Connection) -> None:
        await assets.upsert_file(
            conn,
            asset_id=asset_id,
            owner_id=owner_id,
            type="encoded_video",
            path=key,
            mime_type="video/mp4",
            width=result.width,
            height=result.height,
            size=stored.size,
        )
        await assets.set_transcode_progress(conn, asset_id, 100.0)
        await assets.record_transcode_decision(conn, asset_id, f"transcoded: {decision.reason}")
        await assets.mark_step_done(conn, asset_id, "transcoded")

    transcoded = AssetVideoTranscoded(
        asset_id=event.asset_id, owner_id=event.owner_id, encoded_key=key
    )
    await ctx.commit_derived(asset_id, [key], record, [transcoded])
    log.info(
        "transcode.done",
        asset_id=event.asset_id,
        encoder=result.encoder,
        size=f"{result.width}x{result.height}",
        frames=result.frames,
        duration_s=result.duration_s,
        fps=round(result.frames / result.seconds, 1) if result.seconds else None,
        ms=round((time.perf_counter() - started) * 1000, 1),
        reason=decision.reason,
    )


async def _record_skip(ctx: Context, asset_id: uuid.UUID, reason: str) -> None:
    """The original is playable: drop any older encoding, record why, mark the step done."""
    async with ctx.pool.acquire() as conn, conn.transaction():
        old = await assets.delete_file(conn, asset_id, "encoded_video")
        await assets.record_transcode_decision(conn, asset_id, f"skipped: {reason}")
        await assets.mark_step_done(conn, asset_id, "transcoded")
    if old is not None:
        await ctx.storage.delete(old)
