"""Replays Immich's server/src/services/asset-media.service.spec.ts over HTTP.

Only what no other module checks (checksum short-cut in hex, bulk-upload-check with
``isTrashed``, quota, access refusals, "Asset is not a video", thumbnail names are covered in
test_pipeline, test_mobile_app_requests, test_e2e_asset, test_error_bodies, test_shared_links,
test_asset_read_fields_more):

* ``canUploadFile``: ``assetData`` named ``.html`` or ``.xml`` is refused, 400 "Unsupported
  file type <name>", judged by the ``filename`` field when one is sent (a mobile cache name
  with a real ``filename`` passes); a ``sidecarData`` part not named ``.xmp`` is refused
  the same way; a profile picture must be ``.avif .dng .heic .heif .jpeg .jpg .png .webp``
  (``.dng`` taken, ``.cr2``/``.gif`` refused).
* ``getUploadAssetIdByChecksum`` / ``bulkUploadCheck`` take base64 checksums as well as hex.
"""

from __future__ import annotations

import base64
import hashlib
import io

import pytest
from darkroom_stack.supervisor import Stack
from PIL import Image

from .conftest import User, make_user, noise_jpeg, upload_jpeg

DATES = {"fileCreatedAt": "2020-01-01T00:00:00.000Z", "fileModifiedAt": "2020-01-01T00:00:00.000Z"}


@pytest.mark.parametrize("name", ["asset.html", "asset.xml"])
def test_asset_of_an_unsupported_name_is_refused(admin: User, name: str) -> None:
    r = admin.client.post(
        "/api/assets",
        files={"assetData": (name, noise_jpeg(77100 + len(name)), "image/jpeg")},
        data=DATES,
    )
    assert r.status_code == 400, r.text
    assert r.json()["message"] == f"Unsupported file type {name}"


def test_filename_field_is_the_name_judged(admin: User) -> None:
    refused = admin.client.post(
        "/api/assets",
        files={"assetData": ("IMG_1.jpg", noise_jpeg(77110), "image/jpeg")},
        data={**DATES, "filename": "page.html"},
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["message"] == "Unsupported file type page.html"
    taken = admin.client.post(
        "/api/assets",
        files={"assetData": ("8F3A-cache.bin", noise_jpeg(77111), "image/jpeg")},
        data={**DATES, "filename": "IMG_2.JPG"},
    )
    assert taken.status_code == 201, taken.text


def test_sidecar_must_be_named_xmp(admin: User) -> None:
    photo = noise_jpeg(77120)
    refused = admin.client.post(
        "/api/assets",
        files={
            "assetData": ("side.jpg", photo, "image/jpeg"),
            "sidecarData": ("side.jpeg", b"<x/>", "text/xml"),
        },
        data=DATES,
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["message"] == "Unsupported file type side.jpeg"
    # nothing was created: the same photo still uploads as new
    taken = admin.client.post(
        "/api/assets",
        files={
            "assetData": ("side.jpg", photo, "image/jpeg"),
            "sidecarData": ("side.jpg.xmp", b"<x/>", "text/xml"),
        },
        data=DATES,
    )
    assert taken.status_code == 201 and taken.json()["status"] == "created", taken.text


@pytest.mark.parametrize(("name", "ok"), [("me.dng", True), ("me.cr2", False), ("me.gif", False)])
def test_profile_picture_names(stack: Stack, admin: User, name: str, ok: bool) -> None:
    user = make_user(stack, admin)
    png = io.BytesIO()
    Image.new("RGB", (8, 8), (20, 120, 200)).save(png, "PNG")
    r = user.client.post("/api/users/profile-image", files={"file": (name, png.getvalue())})
    if ok:
        assert r.status_code == 201, r.text
    else:
        assert r.status_code == 400, r.text
        assert r.json()["message"] == f"Unsupported file type {name}"


def test_checksums_in_base64_find_the_duplicate(admin: User) -> None:
    data = noise_jpeg(77130)
    asset_id = upload_jpeg(admin, data)
    b64 = base64.b64encode(hashlib.sha1(data).digest()).decode()
    short = admin.client.post(
        "/api/assets",
        headers={"x-immich-checksum": b64},
        files={"assetData": ("x.jpg", b"")},
        data=DATES,
    )
    assert short.status_code == 200
    assert short.json() == {"id": asset_id, "status": "duplicate"}
    other = hashlib.sha1(b"not uploaded").hexdigest()
    r = admin.client.post(
        "/api/assets/bulk-upload-check",
        json={"assets": [{"id": "1", "checksum": b64}, {"id": "2", "checksum": other}]},
    )
    assert r.json()["results"] == [
        {
            "id": "1",
            "action": "reject",
            "reason": "duplicate",
            "assetId": asset_id,
            "isTrashed": False,
        },
        {"id": "2", "action": "accept"},
    ]
