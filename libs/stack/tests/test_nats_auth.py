"""NATS users (darkroom_stack.nats_auth) on a real nats-server: the embedded launcher's literal
passwords and compose's deploy/nats-accounts.conf (passwords from the server's environment)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from pathlib import Path

import nats
import nats.errors
import pytest
from darkroom_stack import nats_auth
from darkroom_stack.servers import _bin, _wait_for_port, free_port, start_nats

DEPLOY_CONF = Path(__file__).resolve().parents[3] / "deploy" / "nats-accounts.conf"


def test_committed_compose_config_is_current() -> None:
    assert DEPLOY_CONF.read_text() == nats_auth.deploy_config(), (
        "run `python -m darkroom_stack.nats_auth > deploy/nats-accounts.conf`"
    )


def test_passwords_are_generated_once_and_private(tmp_path: Path) -> None:
    first = nats_auth.load_or_create(tmp_path / "secrets")
    again = nats_auth.load_or_create(tmp_path / "secrets")
    assert first == again and first.service_password != first.integration_password
    assert len(first.service_password) >= 43  # token_urlsafe(32): 256 bits
    for name in (nats_auth.SERVICE_PASSWORD_FILE, nats_auth.INTEGRATION_PASSWORD_FILE):
        assert (tmp_path / "secrets" / name).stat().st_mode & 0o777 == 0o600
    assert first.service_password not in repr(first)


def test_a_literal_password_with_a_quote_is_refused() -> None:
    with pytest.raises(ValueError, match="quotes"):
        nats_auth.server_config(nats_auth.NatsAuth('a"b', "c"))


async def _who_may_what(service_url: str, integration_url: str) -> tuple[bool, list[str]]:
    """The service user stores an event; the integration user's publish is refused."""
    svc = await nats.connect(service_url)
    try:
        js = svc.jetstream()
        await js.add_stream(name="T", subjects=["darkroom.t.>"])
        ack = await js.publish("darkroom.t.x", b"{}")
        stored = ack.seq == 1
    finally:
        await svc.close()
    errors: list[str] = []
    reported = asyncio.Event()

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc).lower())
        reported.set()

    nc = await nats.connect(integration_url, error_cb=on_error, inbox_prefix="_INBOX_integrations")
    try:
        await nc.publish("darkroom.t.x", b"{}")
        await nc.flush()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(reported.wait(), 60)
    finally:
        await nc.close()
    return stored, errors


def test_embedded_server_with_generated_passwords(tmp_path: Path) -> None:
    auth = nats_auth.load_or_create(tmp_path / "secrets")
    server = start_nats(tmp_path / "nats", auth=auth)
    try:
        assert auth.service_password in server.url
        assert (tmp_path / "nats" / "nats.conf").stat().st_mode & 0o777 == 0o600
        stored, errors = asyncio.run(_who_may_what(server.url, server.extra["integration_url"]))
        assert stored
        assert any('publish to "darkroom.t.x"' in e for e in errors), errors
    finally:
        server.stop()


def test_compose_config_with_passwords_from_the_environment(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "nats.log"
    env = {
        **os.environ,
        "NATS_SERVICE_PASSWORD": "svc-pw-1",
        "NATS_INTEGRATION_PASSWORD": "int-pw-2",
    }
    proc = subprocess.Popen(
        [
            _bin("nats-server"),
            "-js",
            "-a",
            "127.0.0.1",
            "-p",
            str(port),
            "-sd",
            str(tmp_path),
            "-l",
            str(log),
            "-c",
            str(DEPLOY_CONF),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port("127.0.0.1", port, 60, proc, log)
        auth = nats_auth.NatsAuth("svc-pw-1", "int-pw-2")
        stored, errors = asyncio.run(
            _who_may_what(
                auth.service_url("127.0.0.1", port), auth.integration_url("127.0.0.1", port)
            )
        )
        assert stored
        assert any('publish to "darkroom.t.x"' in e for e in errors), errors

        async def anonymous() -> None:
            await nats.connect(f"nats://127.0.0.1:{port}", allow_reconnect=False)

        with pytest.raises(Exception, match="(?i)authorization"):
            asyncio.run(anonymous())
    finally:
        proc.terminate()
        proc.wait(30)
