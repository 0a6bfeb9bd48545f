"""The gateway's HTTP protocol hands request bodies over intact, whether the application reads
each piece as it comes (handed over as it is) or lets pieces pile up (gathered as uvicorn does)."""

from __future__ import annotations

import asyncio
import hashlib
import socket
from typing import Any

import httpx
import pytest
import uvicorn
from darkroom_gateway.server import protocol_class


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers ``<sha1 hex> <pieces>`` of the body; with ``?slow``, waits before each read."""
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    sha1, pieces, more = hashlib.sha1(), 0, True  # noqa: S324 - a checksum
    while more:
        if scope["query_string"] == b"slow":
            await asyncio.sleep(0.01)  # the socket's next pieces pile up meanwhile
        message = await receive()
        sha1.update(message.get("body", b""))
        pieces += 1
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": f"{sha1.hexdigest()} {pieces}".encode()})


@pytest.mark.parametrize("query", ["", "slow"])
async def test_request_bodies_arrive_intact(query: str) -> None:
    port = _free_port()
    config = uvicorn.Config(
        _app, host="127.0.0.1", port=port, http=protocol_class(64 * 1024), log_config=None
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn sets a flag, no event
            await asyncio.sleep(0.01)
        body = hashlib.sha256(b"body").digest() * (300_000 // 32)  # ~9.2 MB

        async def pieces() -> Any:
            for start in range(0, len(body), 100_000):
                yield body[start : start + 100_000]

        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            r = await client.post(f"/?{query}", content=pieces())
        digest, count = r.text.split()
        assert r.status_code == 200
        assert digest == hashlib.sha1(body).hexdigest()  # noqa: S324 - a checksum
        assert int(count) > 1
    finally:
        server.should_exit = True
        await task
