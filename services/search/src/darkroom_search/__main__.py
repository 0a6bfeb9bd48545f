"""``python -m darkroom_search``: serve ``darkroom.rpc.search.smart`` (queue group "search")."""

from __future__ import annotations

import asyncio

from darkroom_db.system_config import SystemConfigDto
from darkroom_events.catalogue import SmartSearchRequest
from darkroom_runtime import Context, run_service

from darkroom_search.handlers import TextEncoder, load_until_ready, smart_search
from darkroom_search.settings import SearchSettings


async def setup(ctx: Context) -> None:
    """Start loading the CLIP text encoder of the system config's model in the background
    (RPCs answer "unavailable" until it is loaded); load another when the config names one."""
    name = ctx.config.current.machine_learning.clip.model_name
    encoder = TextEncoder(ctx.settings, name)  # type: ignore[arg-type]
    stop = asyncio.Event()
    ctx.extra["encoder"] = encoder
    ctx.extra["encoder_stop"] = stop
    ctx.extra["encoder_task"] = asyncio.create_task(load_until_ready(encoder, ctx, stop))

    async def on_config(config: SystemConfigDto) -> None:
        if encoder.select(config.machine_learning.clip.model_name):
            task: asyncio.Task[None] = ctx.extra["encoder_task"]
            if task.done():  # the running loop, if any, picks the new name up itself
                ctx.extra["encoder_task"] = asyncio.create_task(
                    load_until_ready(encoder, ctx, stop)
                )

    ctx.config.on_change(on_config)


async def register_rpc(ctx: Context) -> None:
    """Answer smart search requests; replicas share them in the "search" queue group."""
    encoder: TextEncoder = ctx.extra["encoder"]

    async def handle(req: SmartSearchRequest):  # type: ignore[no-untyped-def]
        return await smart_search(req, ctx, encoder)

    await ctx.bus.serve(SmartSearchRequest.subject, handle, SmartSearchRequest, queue="search")


def main() -> None:
    """Run the search service until SIGTERM/SIGINT."""
    run_service("search", SearchSettings, handlers=[], setup=setup, rpc=register_rpc)


if __name__ == "__main__":
    main()
