"""The integration credential against the embedded stack's real nats-server (issue #21 item 3).

docs/integrations.md's Python consumer runs as written (its code block, in a process of its own)
with the credential ``darkroom up`` generates: it receives ``darkroom.public.asset.uploaded.v1``
for an upload. The same credential is refused publishing on ``darkroom.>``, subscribing to
internal subjects and the services' inboxes, and reading the internal stream ``DARKROOM``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import nats
import nats.errors
import pytest
from darkroom_stack.supervisor import Stack

from tests.conftest import User, noise_jpeg, upload_jpeg

DOC = Path(__file__).resolve().parents[1] / "docs" / "integrations.md"
#: Longest wait for the example to log the event; the wait ends early when the process exits.
EVENT_DEADLINE_S = 300.0


def example_code() -> str:
    """The Python block of docs/integrations.md."""
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 1, "docs/integrations.md should hold one Python example"
    return blocks[0]


def integration_url(stack: Stack) -> str:
    """The integration credential ``darkroom up`` wrote to the data directory."""
    return (stack.secrets_dir / "nats-integration-url").read_text().strip()


def test_example_is_about_thirty_lines() -> None:
    code = [line for line in example_code().splitlines() if line.strip()]
    assert 20 <= len(code) <= 40, len(code)


def test_example_consumer_receives_an_upload(stack: Stack, admin: User, tmp_path: Path) -> None:
    script = tmp_path / "consumer.py"
    script.write_text(example_code())
    env = {
        **os.environ,
        "DARKROOM_NATS_URL": integration_url(stack),
        "DARKROOM_DURABLE": f"test-{uuid.uuid4().hex[:8]}",
    }
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    try:
        asset_id = upload_jpeg(admin, noise_jpeg(2101))
        seen: list[str] = []
        found = None
        deadline = time.monotonic() + EVENT_DEADLINE_S
        while found is None and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            if line is None:
                break  # the example exited: its output says why
            seen.append(line)
            if line.startswith("{"):
                record = json.loads(line)
                if (
                    record["subject"] == "darkroom.public.asset.uploaded.v1"
                    and record["event"]["asset_id"] == asset_id
                ):
                    found = record["event"]
        assert found is not None, "".join(seen[-30:])
        assert found["owner_id"] == admin.id
        assert found["original_file_name"] == "gen.jpg"
        assert admin.client.get(f"/api/assets/{found['asset_id']}").status_code == 200
    finally:
        proc.terminate()
        proc.wait(30)


async def _refusals(url: str, service_url: str) -> tuple[list[str], bool]:
    """Try what the credential must not do; the server's permission errors, and whether the
    internal stream could be read."""
    errors: list[str] = []
    all_reported = asyncio.Event()

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc).lower())
        if len(errors) >= 6:
            all_reported.set()

    nc = await nats.connect(url, inbox_prefix="_INBOX_integrations", error_cb=on_error)
    try:
        await nc.publish("darkroom.asset.created", b"{}")
        await nc.publish("darkroom.public.asset.uploaded.v1", b"{}")
        await nc.publish("darkroom.rpc.ingest.upload", b"{}")
        await nc.subscribe("darkroom.asset.>")
        await nc.subscribe("_INBOX.>")
        await nc.flush()
        read_internal = True
        try:
            sub = await nc.jetstream(timeout=10).pull_subscribe(
                "darkroom.asset.created", durable="sneaky", stream="DARKROOM"
            )
            await sub.fetch(1, timeout=5)
        except (nats.errors.Error, TimeoutError):
            read_internal = False
        # the server reports each violation asynchronously: wait until all have come (the
        # ceiling only matters when one never comes, which the test then reports)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_reported.wait(), 120)
    finally:
        await nc.close()
    # the services' user sees that no sneaky consumer was made on the internal stream
    svc = await nats.connect(service_url)
    try:
        names = [c.name async for c in _consumers(svc)]
    finally:
        await svc.close()
    return errors, read_internal or "sneaky" in names


async def _consumers(nc: nats.NATS):  # type: ignore[no-untyped-def]
    for info in await nc.jetstream().consumers_info("DARKROOM"):
        yield info


def test_integration_credential_is_refused_internal_subjects(stack: Stack) -> None:
    errors, read_internal = asyncio.run(_refusals(integration_url(stack), stack.nats.url))
    joined = "\n".join(errors)
    for what in (
        'publish to "darkroom.asset.created"',
        'publish to "darkroom.public.asset.uploaded.v1"',
        'publish to "darkroom.rpc.ingest.upload"',
        'subscription to "darkroom.asset.>"',
        'subscription to "_inbox.>"',
        "$js.api.consumer.",
    ):
        assert what in joined, joined
    assert not read_internal


def test_wrong_password_is_refused(stack: Stack) -> None:
    bad = integration_url(stack).replace("integrations:", "integrations:x", 1)

    async def attempt() -> None:
        await nats.connect(bad, max_reconnect_attempts=0, allow_reconnect=False)

    with pytest.raises(Exception, match="(?i)authorization"):
        asyncio.run(attempt())
