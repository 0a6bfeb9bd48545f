"""Unit tests of the @subscribe declaration (no server needed)."""

from __future__ import annotations

import pytest
from darkroom_bus import HandlerSpec, handler_spec, subscribe
from darkroom_events.catalogue import AssetCreated, AssetThumbnailGenerated


async def test_subscribe_attaches_spec_and_keeps_function_callable() -> None:
    calls: list[str] = []

    @subscribe(AssetThumbnailGenerated, durable="embedding", max_deliver=4, backoff=(2, 10))
    async def embed(event: AssetThumbnailGenerated, ctx: list[str]) -> None:
        ctx.append(event.asset_id)

    spec = handler_spec(embed)
    assert isinstance(spec, HandlerSpec)
    assert spec.fn is embed
    assert spec.name == "embed"
    assert spec.subject == "darkroom.asset.thumbnail.generated"
    assert spec.consumer_name == "embedding_darkroom_asset_thumbnail_generated"
    assert (spec.max_deliver, spec.backoff, spec.ack_wait) == (4, (2.0, 10.0), 60.0)
    event = AssetThumbnailGenerated(
        asset_id="a1",
        owner_id="o",
        type="IMAGE",
        preview_key="p",
        thumbnail_key="t",
        preview_width=1440,
        preview_height=1080,
    )
    await embed(event, calls)
    assert calls == ["a1"]


def test_retry_delay_uses_backoff_and_repeats_the_last_value() -> None:
    @subscribe(AssetCreated, durable="metadata", max_deliver=6, backoff=(1, 5, 30))
    async def h(event: AssetCreated, ctx: None) -> None: ...

    spec = handler_spec(h)
    assert [spec.retry_delay(n) for n in range(1, 7)] == [1, 5, 30, 30, 30, 30]

    @subscribe(AssetCreated, durable="metadata", backoff=())
    async def no_backoff(event: AssetCreated, ctx: None) -> None: ...

    assert handler_spec(no_backoff).retry_delay(1) is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"durable": "bad.name"},
        {"durable": "ok", "max_deliver": 0},
        {"durable": "ok", "max_deliver": 2, "backoff": (1, 2, 3)},
        {"durable": "ok", "backoff": (-1,)},
        {"durable": "ok", "concurrency": 0},
        {"durable": "ok", "max_ack_pending": 0},
        {"durable": "ok", "ack_wait": 0},
    ],
)
def test_subscribe_rejects_bad_settings(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        subscribe(AssetCreated, **kwargs)  # type: ignore[arg-type]


def test_handler_spec_rejects_undecorated_function() -> None:
    async def plain(event: AssetCreated, ctx: None) -> None: ...

    with pytest.raises(TypeError, match="@subscribe"):
        handler_spec(plain)
