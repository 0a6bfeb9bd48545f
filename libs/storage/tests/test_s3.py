"""S3-only behaviour, against a real SigV4-checking server (nanio): URLs, credentials, retries."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from darkroom_stack.servers import RunningServer, free_port
from darkroom_storage import (
    AccessDenied,
    NotFound,
    S3Storage,
    StorageSettings,
    StorageUnavailable,
    open_storage,
)
from structlog.testing import capture_logs

from .conftest import s3_settings


@pytest.fixture
async def s3(s3_settings_for_module: StorageSettings) -> AsyncIterator[S3Storage]:
    store = open_storage(s3_settings_for_module)
    assert isinstance(store, S3Storage)
    yield store
    await store.close()


async def test_presigned_get_works_and_tampering_is_refused(s3: S3Storage, prefix: str) -> None:
    key = prefix + "shared/photo.jpg"
    await s3.put(key, b"jpeg bytes", content_type="image/jpeg")
    url = await s3.presigned_get_url(key, timedelta(minutes=5))
    assert url is not None and "X-Amz-Signature=" in url
    async with httpx.AsyncClient() as http:
        ok = await http.get(url)
        assert ok.status_code == 200
        assert ok.content == b"jpeg bytes"
        assert ok.headers["content-type"] == "image/jpeg"
        signature = url.split("X-Amz-Signature=")[1][:64]
        flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
        assert (await http.get(url.replace(signature, flipped))).status_code == 403
        other_key = url.replace("photo.jpg", "other.jpg")  # signature does not cover this key
        assert (await http.get(other_key)).status_code == 403
    with pytest.raises(ValueError):
        await s3.presigned_get_url(key, timedelta(days=8))  # over the SigV4 limit of 7 days


async def test_presigned_put_works(s3: S3Storage, prefix: str) -> None:
    key = prefix + "direct/upload.bin"
    url = await s3.presigned_put_url(key, timedelta(minutes=5))
    assert url is not None
    async with httpx.AsyncClient() as http:
        response = await http.put(url, content=b"uploaded directly")
        assert response.status_code == 200
    assert await s3.get_bytes(key) == b"uploaded directly"


async def test_single_part_etag_is_the_md5(s3: S3Storage, prefix: str) -> None:
    data = b"small object"
    info = await s3.put(prefix + "e.bin", data)
    assert info.etag == hashlib.md5(data).hexdigest()


async def test_wrong_secret_key_fails_clearly(s3_server: RunningServer, s3_bucket: str) -> None:
    settings = s3_settings(s3_server, s3_bucket, s3_secret_key="not-the-secret")
    with pytest.raises(AccessDenied) as caught:
        open_storage(settings)
    message = str(caught.value)
    assert "SignatureDoesNotMatch" in message
    assert repr(s3_server.extra["access_key"]) in message
    assert "not-the-secret" not in message and "not-the-secret" not in repr(settings)


async def test_missing_key_is_not_retried(s3: S3Storage, prefix: str) -> None:
    with capture_logs() as logs:
        with pytest.raises(NotFound):
            await s3.head(prefix + "absent.jpg")
        with pytest.raises(NotFound):
            await s3.open(prefix + "absent.jpg")
    assert [e for e in logs if e["event"] == "storage.retry"] == []


async def test_unreachable_server_is_retried_then_reported() -> None:
    port = free_port()  # nothing listens there
    settings = StorageSettings(
        backend="s3", s3_endpoint=f"http://127.0.0.1:{port}", s3_access_key="a", s3_secret_key="b"
    )
    store = S3Storage(settings, attempts=3, backoff=0.01)
    try:
        with capture_logs() as logs:
            with pytest.raises(StorageUnavailable, match="after 3 tries"):
                await store.head("some/key.jpg")
    finally:
        await store.close()
    retries = [e for e in logs if e["event"] == "storage.retry"]
    assert [e["attempt"] for e in retries] == [1, 2]


async def test_open_storage_creates_the_bucket(s3_server: RunningServer) -> None:
    bucket = f"dr-new-{uuid.uuid4().hex[:16]}"
    settings = s3_settings(s3_server, bucket)
    async with open_storage(settings) as store:
        assert isinstance(store, S3Storage)
        assert store._client.bucket_exists(bucket)
        await store.put("k.txt", b"kept")
    async with open_storage(settings) as again:  # a second start finds the bucket as it was
        assert await again.get_bytes("k.txt") == b"kept"


def test_settings_validation_and_endpoint_forms(s3_server: RunningServer) -> None:
    with pytest.raises(ValueError, match="s3_endpoint"):
        StorageSettings(backend="s3", s3_access_key="a", s3_secret_key="b")
    with pytest.raises(ValueError, match="s3_part_size"):
        StorageSettings(s3_part_size=1024)
    bare = s3_settings(s3_server, "x-bucket", s3_endpoint=f"127.0.0.1:{s3_server.port}")
    assert S3Storage(bare).endpoint == f"127.0.0.1:{s3_server.port}"
    with pytest.raises(ValueError, match="s3_endpoint"):
        S3Storage(s3_settings(s3_server, "x-bucket", s3_endpoint="ftp://host:21"))
    secure = S3Storage(s3_settings(s3_server, "x-bucket", s3_endpoint="https://s3.example:443"))
    assert secure._client._base_url.is_https
