"""Secrets and payloads never reach a log line: the redaction processor, alone and in the
configure_logging pipeline (structlog events, stdlib records, exceptions, console output)."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import structlog
from darkroom_observability import configure_logging
from darkroom_observability.redact import (
    REDACTED,
    is_secret_name,
    redact_secrets,
    redact_text,
    redact_value,
)

LogLines = tuple[io.StringIO, Callable[[], list[dict[str, Any]]]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer eyJh.bG9n-c2Vj_cmV0", "Authorization: Bearer [REDACTED]"),
        ("token Bearer abc123== then", "token Bearer [REDACTED] then"),
        ("authorization=Basic dXNlcjpwYXNz", "authorization=[REDACTED]"),
        (
            "postgresql://darkroom:pg-s3cret@db:5432/darkroom",
            "postgresql://darkroom:[REDACTED]@db:5432/darkroom",
        ),
        ("nats://user:nats-pass@nats:4222", "nats://user:[REDACTED]@nats:4222"),
        ("nats://s3cret-token@nats:4222", "nats://[REDACTED]@nats:4222"),
        (
            "GET /api/assets/1/thumbnail?key=share-k&size=preview&apiKey=api-k HTTP/1.1",
            "GET /api/assets/1/thumbnail?key=[REDACTED]&size=preview&apiKey=[REDACTED] HTTP/1.1",
        ),
        (
            "GET /api/users/me?sessionKey=sess-k&x=1 HTTP/1.1",
            "GET /api/users/me?sessionKey=[REDACTED]&x=1 HTTP/1.1",
        ),
        (
            "/api/shared-links/me?sharedLinkToken=abc&x=1",
            "/api/shared-links/me?sharedLinkToken=[REDACTED]&x=1",
        ),
        ("/x?token=t0k#frag", "/x?token=[REDACTED]#frag"),
        (
            "https://s3/b/o?X-Amz-Credential=AK%2F1&X-Amz-Signature=beef&X-Amz-Date=2025",
            "https://s3/b/o?X-Amz-Credential=[REDACTED]&X-Amz-Signature=[REDACTED]&X-Amz-Date=2025",
        ),
        (
            "immich_access_token=tok; immich_auth_type=password; immich_is_authenticated=true",
            "immich_access_token=[REDACTED]; immich_auth_type=password; "
            "immich_is_authenticated=true",
        ),
        (
            '{"email":"me@example.com","password":"Pw42"}',
            '{"email":"me@example.com","password":"[REDACTED]"}',
        ),
        ('{\\"password\\": \\"Pw42\\"}', '{\\"password\\": \\"[REDACTED]\\"}'),
        (
            "<Headers('host': 'h', 'cookie': 'a=b; c=d', 'x-api-key': 'k', "
            "'x-immich-share-key': 's')>",
            "<Headers('host': 'h', 'cookie': '[REDACTED]', 'x-api-key': '[REDACTED]', "
            "'x-immich-share-key': '[REDACTED]')>",
        ),
        ("{'pinCode': '1234', 'name': 'n'}", "{'pinCode': '[REDACTED]', 'name': 'n'}"),
        ("password = hunter2, user = me", "password = [REDACTED], user = me"),
        (
            "UnicodeDecodeError('utf-8', b'Pw42\\xff', 4, 5, 'invalid start byte')",
            "UnicodeDecodeError('utf-8', b'[REDACTED]', 4, 5, 'invalid start byte')",
        ),
        ("body=b'{\"a\": 1}' done", "body=b'[REDACTED]' done"),
    ],
)
def test_redact_text_takes_out_each_kind_of_secret(text: str, expected: str) -> None:
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Incorrect email or password",
        "Invalid user token",
        "thumbnail.generated",
        "nats://127.0.0.1:4222",
        "postgresql://postgres@127.0.0.1:5432/darkroom",
        "monkey=banana",
        "/api/assets/2b1e3c8a-6f0e-4b7e-9a55-0d2c1f3e4a5b/thumbnail?size=preview",
        "disk /data at 93%",
    ],
)
def test_redact_text_keeps_what_is_not_secret(text: str) -> None:
    assert redact_text(text) == text


def test_redact_text_is_idempotent() -> None:
    once = redact_text("Authorization: Bearer abc ?key=k password='p' b'x' nats://t@h")
    assert redact_text(once) == once


@pytest.mark.parametrize(
    "name",
    [
        "authorization",
        "Authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "X-Immich-Share-Key",
        "x-immich-user-token",
        "password",
        "newPassword",
        "secret",
        "client_secret",
        "token",
        "accessToken",
        "apiKey",
        "api_key",
        "pin",
        "pinCode",
        "body",
        b"cookie",
    ],
)
def test_secret_names(name: str | bytes) -> None:
    assert is_secret_name(name)
    assert is_secret_name(name, nested=False)


@pytest.mark.parametrize("name", ["asset_id", "trace_id", "event", "email", "token_hash", "size"])
def test_names_that_are_not_secret(name: str) -> None:
    assert not is_secret_name(name)


def test_key_is_secret_only_when_nested() -> None:
    assert is_secret_name("key")
    assert not is_secret_name("key", nested=False)


def test_redact_value_walks_dicts_lists_and_tuples() -> None:
    value = {
        "headers": {"Authorization": "Bearer t", "x-api-key": "k", "accept": "*/*"},
        "query": {"key": "share", "size": "thumbnail"},
        "raw_headers": [(b"cookie", b"immich_access_token=c"), (b"host", b"h")],
        "pairs": (("x-immich-share-key", "s"), ("user-agent", "ua")),
        "urls": ["postgresql://u:p@h/db"],
        "payload": b"\x00\x01secret",
        "count": 3,
        "ratio": 0.5,
        "ok": True,
        "none": None,
    }
    assert redact_value(value) == {
        "headers": {"Authorization": REDACTED, "x-api-key": REDACTED, "accept": "*/*"},
        "query": {"key": REDACTED, "size": "thumbnail"},
        "raw_headers": [("cookie", REDACTED), ("[REDACTED 4 bytes]", "[REDACTED 1 bytes]")],
        "pairs": (("x-immich-share-key", REDACTED), ("user-agent", "ua")),
        "urls": [f"postgresql://u:{REDACTED}@h/db"],
        "payload": "[REDACTED 8 bytes]",
        "count": 3,
        "ratio": 0.5,
        "ok": True,
        "none": None,
    }


def test_redact_value_renders_other_objects_as_redacted_text() -> None:
    class Request:
        def __repr__(self) -> str:
            return "<Request cookie='immich_access_token=abc' url='/x?apiKey=k'>"

    assert redact_value(Request()) == f"<Request cookie='{REDACTED}' url='/x?apiKey={REDACTED}'>"


def test_redact_value_ends_on_a_cycle() -> None:
    loop: list[Any] = ["password=p"]
    loop.append(loop)
    out = redact_value(loop)
    assert out[0] == f"password={REDACTED}"
    assert "password=p" not in repr(out)


def test_processor_keeps_useful_fields_and_the_storage_key() -> None:
    event = {
        "event": "user.profile_image_set",
        "asset_id": "a1",
        "trace_id": "0" * 32,
        "key": "profile/u1/p.jpg",
        "password": "p",
        "token": "t",
        "url": "/api/x?key=s",
    }
    assert redact_secrets(None, "info", event) == {
        "event": "user.profile_image_set",
        "asset_id": "a1",
        "trace_id": "0" * 32,
        "key": "profile/u1/p.jpg",
        "password": REDACTED,
        "token": REDACTED,
        "url": f"/api/x?key={REDACTED}",
    }


def _raise_with_secret_locals(password: str, headers: dict[str, str]) -> None:
    body = f'{{"password": "{password}\xff"}}'.encode()
    body.decode("ascii")  # a UnicodeDecodeError whose repr carries the body's bytes


def test_exception_has_no_locals_and_redacted_messages(log_lines: LogLines) -> None:
    stream, read = log_lines
    configure_logging("gateway", stream=stream)
    log = structlog.get_logger("darkroom.test")
    password, token, db_password = (uuid4().hex for _ in range(3))
    try:
        _raise_with_secret_locals(password, {"authorization": f"Bearer {token}"})
    except UnicodeDecodeError as exc:
        log.exception("http.unhandled", error=repr(exc), path="/api/auth/login")
    try:
        raise RuntimeError(f"connect to postgresql://u:{db_password}@h/db failed, token={token}")
    except RuntimeError:
        log.exception("db.failed")

    text = stream.getvalue()
    for secret in (password, token, db_password):
        assert secret not in text
    decode, db = read()
    assert decode["path"] == "/api/auth/login"
    assert decode["exception"][0]["exc_type"] == "UnicodeDecodeError"
    assert all("locals" not in frame for frame in decode["exception"][0]["frames"])
    assert db["exception"][0]["exc_value"] == (
        f"connect to postgresql://u:{REDACTED}@h/db failed, token={REDACTED}"
    )


def test_stdlib_records_are_redacted(log_lines: LogLines) -> None:
    stream, read = log_lines
    configure_logging("gateway", stream=stream)
    uvicorn = logging.getLogger("uvicorn.error")
    share, token, cookie = (uuid4().hex for _ in range(3))
    uvicorn.warning("request %s with %s", f"/api/assets?key={share}", f"Bearer {token}")
    scope = {"headers": [(b"cookie", f"immich_access_token={cookie}".encode())]}
    try:
        scope["missing"]
    except KeyError:
        uvicorn.exception("Exception in ASGI application")

    text = stream.getvalue()
    for secret in (share, token, cookie):
        assert secret not in text
    warning, error = read()
    assert warning["event"] == f"request /api/assets?key={REDACTED} with Bearer {REDACTED}"
    assert warning["logger"] == "uvicorn.error"
    assert error["exception"][0]["exc_type"] == "KeyError"


def test_console_output_is_redacted_and_has_no_locals(log_lines: LogLines) -> None:
    stream, _ = log_lines
    configure_logging("gateway", json=False, stream=stream)
    log = structlog.get_logger("darkroom.test")
    password, api_key, token = (uuid4().hex for _ in range(3))
    try:
        _raise_with_secret_locals(password, {"x-api-key": api_key})
    except UnicodeDecodeError:
        log.exception("http.unhandled", authorization=f"Bearer {token}")
    text = stream.getvalue()
    assert "http.unhandled" in text and "UnicodeDecodeError" in text
    for secret in (password, api_key, token):
        assert secret not in text


def test_uncaught_exceptions_are_logged_redacted(tmp_path: Path) -> None:
    token = uuid4().hex
    script = tmp_path / "crash.py"
    script.write_text(
        "import sys, threading\n"
        "from darkroom_observability import configure_logging\n"
        "configure_logging('ingest')\n"
        "def fail():\n"
        "    raise RuntimeError('thread: nats://' + sys.argv[1] + '@nats:4222')\n"
        "thread = threading.Thread(target=fail, name='worker')\n"
        "thread.start()\n"
        "thread.join()\n"
        "raise RuntimeError('main: postgresql://u:' + sys.argv[1] + '@db/darkroom')\n"
    )
    done = subprocess.run(
        [sys.executable, str(script), token], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1
    assert token not in done.stdout + done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(line["event"], line["level"], line.get("thread")) for line in lines] == [
        ("process.uncaught_exception", "critical", "worker"),
        ("process.uncaught_exception", "critical", None),
    ]
    assert lines[0]["exception"][0]["exc_value"] == f"thread: nats://{REDACTED}@nats:4222"
    assert lines[1]["exception"][0]["exc_value"] == f"main: postgresql://u:{REDACTED}@db/darkroom"
