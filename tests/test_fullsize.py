"""Full-size images (issue 19 item 4): ``?size=fullsize`` of a HEIC is a JPEG of the whole
original, upright, rendered once and kept; a browser format is its original; nobody else and no
anonymous client gets it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pillow_heif
import pytest
import pyvips
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir

from .conftest import User, make_user, upload, wait_processed

#: A 12 MP iPhone HEIC (the samples hold none whose HEIF ``irot`` turns it: the upright size
#: libheif gives, transformations applied, is what the rendering must have).
HEIC = "photos/ente_test-fixtures/ml/indexing/v1/files/IMG_8606_rotate_90_cw_contains_text.HEIC"
CEILING_S = 240.0


def _sample(rel: str) -> Path:
    root = samples_dir()
    path = root / rel if root else None
    if path is None or not path.exists():
        pytest.skip(f"sample {rel} not found (set DARKROOM_SAMPLES)")
    return path


@pytest.fixture
def fullsize_enabled(admin: User) -> Iterator[None]:
    """``image.fullsize`` on (JPEG, quality 80) for the test, the config restored after."""
    before = admin.client.get("/api/system-config").json()
    config = {**before, "image": {**before["image"], "fullsize": {
        "enabled": True, "format": "jpeg", "quality": 80, "progressive": False,
    }}}  # fmt: skip
    r = admin.client.put("/api/system-config", json=config)
    assert r.status_code == 200, r.text
    try:
        yield
    finally:
        assert admin.client.put("/api/system-config", json=before).status_code == 200


def test_heic_fullsize_is_a_jpeg_of_the_whole_upright_original(
    stack: Stack, admin: User, other_user: User, fullsize_enabled: None
) -> None:
    path = _sample(HEIC)
    upright = pillow_heif.open_heif(str(path)).size  # libheif applies irot/imir
    owner = make_user(stack, admin)
    r = upload(owner, path)
    assert r.status_code == 201, r.text
    asset_id = r.json()["id"]
    wait_processed(owner, [asset_id], timeout=CEILING_S)

    url = f"/api/assets/{asset_id}/thumbnail?size=fullsize"
    deadline = time.monotonic() + CEILING_S
    while True:  # the preview stands in until the rendering is stored
        first = owner.client.get(url)
        assert first.status_code == 200, first.text
        image = pyvips.Image.new_from_buffer(first.content, "")
        if (image.width, image.height) == upright or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert (image.width, image.height) == upright
    assert first.headers["content-type"] == "image/jpeg"
    assert image.get("vips-loader").startswith("jpegload")

    # kept: later requests are served from storage, the same file (its ETag holds its time)
    time.sleep(2)
    again = owner.client.get(url)
    assert again.status_code == 200
    assert again.headers["etag"] == first.headers["etag"]
    assert again.content == first.content
    cached = owner.client.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert cached.status_code == 304

    # the viewer's zoom on a browser format loads the original itself
    jpeg = pyvips.Image.black(320, 200).jpegsave_buffer()
    r = owner.client.post(
        "/api/assets",
        files={"assetData": ("plain.jpg", jpeg, "image/jpeg")},
        data={"deviceAssetId": "plain", "deviceId": "pytest",
              "fileCreatedAt": "2020-01-01T00:00:00Z", "fileModifiedAt": "2020-01-01T00:00:00Z"},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert owner.client.get(f"/api/assets/{r.json()['id']}/thumbnail?size=fullsize").content == (
        jpeg
    )

    # nobody else, and no anonymous client
    assert other_user.client.get(url).status_code == 400
    assert owner.client.get(url, headers={"x-api-key": ""}).status_code == 401

    # a shared link's visitor: the full size with allowDownload, else the preview only
    anon = httpx.Client(base_url=stack.url, timeout=60)
    for allow, expected in ((True, upright), (False, None)):
        link = owner.client.post(
            "/api/shared-links",
            json={"type": "INDIVIDUAL", "assetIds": [asset_id], "allowDownload": allow},
        )
        assert link.status_code == 201, link.text
        seen = anon.get(
            f"/api/assets/{asset_id}/thumbnail",
            params={"size": "fullsize", "key": link.json()["key"]},
        )
        assert seen.status_code == 200, seen.text
        got = pyvips.Image.new_from_buffer(seen.content, "")
        if expected is None:
            assert max(got.width, got.height) < max(upright)  # the preview
        else:
            assert (got.width, got.height) == expected
