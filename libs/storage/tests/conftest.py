"""Fixtures: one storage per test, on the filesystem (tmp_path) or on a real S3 server (nanio)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from darkroom_stack.servers import RunningServer
from darkroom_storage import Storage, StorageSettings, open_storage
from darkroom_storage.settings import MIN_PART_SIZE

#: Tests use the smallest S3 part size, so a 20 MiB streamed put is a 4-part multipart upload.
TEST_PART_SIZE = MIN_PART_SIZE


@pytest.fixture(scope="module")
def s3_bucket() -> str:
    """A bucket name unique to the test module."""
    return f"dr-test-{uuid.uuid4().hex[:16]}"


def s3_settings(server: RunningServer, bucket: str, **overrides: object) -> StorageSettings:
    """Settings for the S3 back end against the test server."""
    values: dict[str, object] = {
        "backend": "s3",
        "s3_endpoint": server.url,
        "s3_access_key": server.extra["access_key"],
        "s3_secret_key": server.extra["secret_key"],
        "s3_bucket": bucket,
        "s3_part_size": TEST_PART_SIZE,
    }
    values.update(overrides)
    return StorageSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def s3_settings_for_module(s3_server: RunningServer, s3_bucket: str) -> StorageSettings:
    """S3 settings pointing at this module's bucket."""
    return s3_settings(s3_server, s3_bucket)


@pytest.fixture(params=["filesystem", "s3"])
async def storage(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Storage]:
    """The storage under test, for each back end (the S3 one in this module's bucket)."""
    if request.param == "filesystem":
        settings = StorageSettings(root=str(tmp_path_factory.mktemp("storage")))
    else:
        settings = request.getfixturevalue("s3_settings_for_module")
    store = open_storage(settings)
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
def prefix() -> str:
    """A key prefix unique to the test (S3 tests share a bucket per module)."""
    return f"t/{uuid.uuid4().hex}/"
