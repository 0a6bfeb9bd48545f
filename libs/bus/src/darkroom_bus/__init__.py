"""A thin layer over nats-py JetStream: streams, typed handlers, retries, dead letters, RPC.

Example::

    @subscribe(AssetCreated, durable="metadata", max_deliver=5, backoff=(1, 5, 30))
    async def extract(event: AssetCreated, ctx: Context) -> None: ...

    bus = await Bus.connect(settings.nats_url, name="metadata")
    await bus.ensure_stream()
    await bus.run([extract], ctx, on_dead_letter=record_failure, stop=stop)
"""

from __future__ import annotations

from darkroom_bus.bus import RPC_ERROR_HEADER, Bus, Envelope
from darkroom_bus.errors import (
    CONNECTION_ERRORS,
    SERVER_DOWN_ERRORS,
    Gone,
    PermanentError,
    PublishError,
    RpcError,
    RpcRetryLater,
    RpcTimeout,
    RpcTransient,
    RpcUnavailable,
    Unavailable,
)
from darkroom_bus.handlers import HandlerSpec, handler_spec, subscribe
from darkroom_bus.redact import scrub_paths
from darkroom_bus.runner import AssetExistsHook, DeadLetter, DeadLetterHook, Metrics

__all__ = [
    "CONNECTION_ERRORS",
    "RPC_ERROR_HEADER",
    "SERVER_DOWN_ERRORS",
    "AssetExistsHook",
    "Bus",
    "DeadLetter",
    "DeadLetterHook",
    "Envelope",
    "Gone",
    "HandlerSpec",
    "Metrics",
    "PermanentError",
    "PublishError",
    "RpcError",
    "RpcRetryLater",
    "RpcTimeout",
    "RpcTransient",
    "RpcUnavailable",
    "Unavailable",
    "handler_spec",
    "scrub_paths",
    "subscribe",
]
