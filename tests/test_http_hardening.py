"""The gateway's application-wide HTTP behaviour, against the real gateway process: bodies that
do not decode are 400, limits on request heads (431) and bodies (413), a missing file is 404, a
service that is down is 503 with Retry-After, and the security headers of every response."""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import pyvips
from darkroom_stack.supervisor import Stack

from .conftest import User, first_admin, running_stack, upload

#: A small JSON body limit for this stack, so the test need not send 16 MiB.
JSON_LIMIT = 1024 * 1024
#: A tile server with Leaflet's ``{s}`` subdomains: the CSP must allow its images.
TILE_URL = "https://{s}.tiles.example.org/{z}/{x}/{y}.png"


@pytest.fixture(scope="module")
def hardened(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of ingest and the gateway (what these requests reach) with a 1 MiB body limit."""
    with running_stack(
        tmp_path_factory.mktemp("hardening"),
        services=("ingest", "gateway"),
        env={"DARKROOM_MAX_JSON_BODY_BYTES": str(JSON_LIMIT), "DARKROOM_MAP_TILE_URL": TILE_URL},
    ) as running:
        yield running


@pytest.fixture(scope="module")
def owner(hardened: Stack) -> User:
    return first_admin(hardened)


def assert_immich_error(r: httpx.Response, status: int) -> dict[str, object]:
    """``r`` has ``status`` and Immich's error body; the body."""
    assert r.status_code == status, r.text[:300]
    body = r.json()
    assert set(body) in ({"message"}, {"message", "errors"}) and body["message"], body
    assert r.headers["x-immich-cid"], r.headers
    return dict(body)


def jpeg(width: int) -> bytes:
    """A small JPEG, different for each ``width`` (an upload of the same bytes is a duplicate)."""
    return bytes(pyvips.Image.xyz(width, 48).extract_band(0).cast("uchar").jpegsave_buffer())


JSON = {"content-type": "application/json"}


@pytest.mark.parametrize(
    ("path", "body", "says"),
    [
        ("/api/albums", b'{"albumName":"\xff\xfe"}', "utf-8"),  # invalid UTF-8
        ("/api/albums", b"[" * 50_000 + b"]" * 50_000, "nested"),  # 50,000 levels deep
        ("/api/albums", b'{"albumName":"a\\u0000b"}', "0x00"),  # NUL: PostgreSQL refuses it
        ("/api/search/metadata", b'{"page": 9223372036854775808}', "out of range"),  # > int64
    ],
    ids=["invalid-utf8", "nested-50000", "nul-in-text", "page-past-int64"],
)
def test_bodies_that_cannot_be_decoded_or_stored_are_400(
    owner: User, path: str, body: bytes, says: str
) -> None:
    r = owner.client.post(path, content=body, headers=JSON)
    message = assert_immich_error(r, 400)["message"]
    assert says in str(message).lower(), message


def test_json_body_over_the_limit_is_413(owner: User) -> None:
    name = "a" * (JSON_LIMIT - 100)
    fits = owner.client.post("/api/albums", json={"albumName": name})
    assert fits.status_code == 201, fits.text[:300]
    too_big = owner.client.post("/api/albums", json={"albumName": name + "a" * 200})
    assert_immich_error(too_big, 413)


def _send_head(url: str, head: bytes) -> bytes:
    """Send ``head`` in 64 KiB pieces, stopping as soon as the server answers; the answer (up to
    the connection's end)."""
    host, port = url.removeprefix("http://").split(":")
    answer = b""
    with socket.create_connection((host, int(port)), timeout=120) as sock:
        for start in range(0, len(head), 64 * 1024):
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            sock.sendall(head[start : start + 64 * 1024])
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_request_head_over_the_limit_is_431_and_others_are_served(hardened: Stack) -> None:
    huge = b"GET /api/server/ping HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 8_000_000 + b"\r\n\r\n"
    pings: list[int] = []

    def ping_meanwhile() -> None:
        with httpx.Client(base_url=hardened.url, timeout=120) as client:
            pings.extend(client.get("/api/server/ping").status_code for _ in range(20))

    other = threading.Thread(target=ping_meanwhile)
    other.start()
    answer = _send_head(hardened.url, huge)
    other.join()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 "), answer[:300]
    assert body.startswith(b'{"message":') and b"x-immich-cid: " in head, answer[:300]
    assert pings == [200] * 20
    # a large but reasonable head (a 32 KiB cookie) is still served
    r = httpx.get(f"{hardened.url}/api/server/ping", headers={"Cookie": "c=" + "x" * 32_000})
    assert r.status_code == 200


def test_a_missing_original_file_is_404(hardened: Stack, owner: User) -> None:
    r = upload(owner, Path("gone.jpg"), data=jpeg(64))
    assert r.status_code == 201, r.text
    asset_id = r.json()["id"]
    files = list((hardened.config.data_dir / "storage").rglob(f"{asset_id}.*"))
    assert len(files) == 1, files
    files[0].unlink()
    assert_immich_error(owner.client.get(f"/api/assets/{asset_id}/original"), 404)


def test_ingest_down_is_503_with_retry_after(hardened: Stack, owner: User) -> None:
    hardened.hold("ingest")
    try:
        r = upload(owner, Path("later.jpg"), data=jpeg(65))
        assert_immich_error(r, 503)
        assert int(r.headers["retry-after"]) > 0
    finally:
        hardened.spawn("ingest")
    # once ingest serves again, the same upload goes through (its start-up may take a while)
    deadline = time.monotonic() + 120
    while (r := upload(owner, Path("later.jpg"), data=jpeg(65))).status_code == 503:
        assert time.monotonic() < deadline, "ingest did not come back"
        time.sleep(0.5)
    assert r.status_code == 201, r.text


def test_security_headers(hardened: Stack, owner: User) -> None:
    page = httpx.get(f"{hardened.url}/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    csp = {d.split()[0]: d.split()[1:] for d in page.headers["content-security-policy"].split("; ")}
    assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"]
    assert csp["script-src"] == ["'self'"]
    assert "https://*.tiles.example.org" in csp["img-src"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"

    api = owner.client.get("/api/server/about")
    assert api.status_code == 200 and api.headers["cache-control"] == "no-store"
    assert api.headers["x-content-type-options"] == "nosniff"
    error = owner.client.get("/api/albums/not-a-uuid")
    assert error.status_code >= 400 and error.headers["cache-control"] == "no-store"

    r = upload(owner, Path("shown.jpg"), data=jpeg(66))
    assert r.status_code == 201, r.text
    original = owner.client.get(f"/api/assets/{r.json()['id']}/original")
    assert original.status_code == 200
    assert original.headers["x-content-type-options"] == "nosniff"
    assert "no-store" not in original.headers["cache-control"]  # media keep their own caching
