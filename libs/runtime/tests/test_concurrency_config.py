"""``job.<queue>.concurrency`` (system config) -> the bus's concurrency hook (issue #15 item 2)."""

from __future__ import annotations

from typing import Any

import msgspec
from darkroom_bus import handler_spec, subscribe
from darkroom_db import system_config
from darkroom_db.system_config import ConfigSource
from darkroom_events import AssetCreated, AssetMetadataExtracted
from darkroom_runtime.live_config import LiveConfig
from darkroom_runtime.runner import concurrency_from_config


@subscribe(AssetMetadataExtracted, durable="thumbnail", concurrency=4)
async def _thumbnail(event: AssetMetadataExtracted, ctx: Any) -> None:
    """A handler of the thumbnailGeneration queue."""


@subscribe(AssetCreated, durable="somebody-else", concurrency=4)
async def _other(event: AssetCreated, ctx: Any) -> None:
    """A handler of no Immich queue."""


def _with_thumbnail_concurrency(live: LiveConfig, value: int) -> None:
    current = live.current
    job = msgspec.structs.replace(
        current.job,
        thumbnail_generation=msgspec.structs.replace(
            current.job.thumbnail_generation, concurrency=value
        ),
    )
    live._current = msgspec.structs.replace(current, job=job)  # as a reload would


def test_the_hook_follows_the_live_config_and_keeps_tuned_defaults() -> None:
    source = ConfigSource()
    live = LiveConfig(None, source)  # type: ignore[arg-type]  # never loads: no pool needed
    hook = concurrency_from_config(live)
    thumbnail, other = handler_spec(_thumbnail), handler_spec(_other)
    default = system_config.defaults(source).job.thumbnail_generation.concurrency
    assert hook(thumbnail) is None  # Immich's default: the handler's own tuning stays
    _with_thumbnail_concurrency(live, 7)
    assert hook(thumbnail) == 7
    assert hook(other) is None
    _with_thumbnail_concurrency(live, default)
    assert hook(thumbnail) is None
