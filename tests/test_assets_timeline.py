"""Asset lifecycle and timeline over HTTP, against the running embedded stack.

Edits (favourite, archive, description, rating, capture date, location) show in the asset and
in the timeline; the trash hides assets until restored and emptying it removes their files;
force delete; statistics; timeline buckets and the columnar bucket; ZIP downloads that unpack
to the original bytes; video playback with Range; and another user can touch none of it.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import httpx
import numpy as np
import pytest
import pyvips
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, upload, wait_processed


@dataclass
class Asset:
    """An uploaded test asset: its id, original bytes and file name."""

    id: str
    data: bytes
    name: str


def make_jpeg(seed: int, width: int = 96, height: int = 64) -> bytes:
    """A small JPEG with content unique to ``seed`` (so no two are duplicates)."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, size=(height, width, 3), dtype=np.uint8)
    return pyvips.Image.new_from_array(pixels, interpretation="srgb").jpegsave_buffer(Q=80)


def make_mp4(path: Path, frames: int = 12) -> bytes:
    """A 0.5 s 64x64 H.264 MP4 at 24 fps (playable everywhere, so never transcoded)."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=24)  # playable as is: served untranscoded
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        stream.time_base = Fraction(1, 24)
        for i in range(frames):
            img = np.full((64, 64, 3), (i * 20) % 255, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path.read_bytes()


def put_asset(user: User, asset_id: str, body: dict[str, object]) -> dict[str, object]:
    r = user.client.put(f"/api/assets/{asset_id}", json=body)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    return r.json()


def buckets(user: User, **params: object) -> dict[str, int]:
    r = user.client.get("/api/timeline/buckets", params=params)
    assert r.status_code == 200, r.text
    return {b["timeBucket"]: b["count"] for b in r.json()}


def bucket(user: User, time_bucket: str, **params: object) -> dict[str, list[object]]:
    r = user.client.get("/api/timeline/bucket", params={"timeBucket": time_bucket, **params})
    assert r.status_code == 200, r.text
    return r.json()


def timeline_ids(user: User, **params: object) -> set[str]:
    """Every asset id of every bucket of a timeline."""
    ids: set[str] = set()
    for month in buckets(user, **params):
        ids.update(bucket(user, month, **params)["id"])
    return ids


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user of this module alone, so counts are exact."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def photos(owner: User) -> list[Asset]:
    """Four processed photos of ``owner``; the last two share a file name."""
    made = []
    for i, name in enumerate(["a.jpg", "b.jpg", "same.jpg", "same.jpg"]):
        data = make_jpeg(1000 + i)
        r = upload(owner, Path(name), name=name, data=data)
        assert r.status_code == 201, r.text
        made.append(Asset(id=r.json()["id"], data=data, name=name))
    wait_processed(owner, [a.id for a in made])
    return made


@pytest.fixture(scope="module")
def video(owner: User, tmp_path_factory: pytest.TempPathFactory) -> Asset:
    data = make_mp4(tmp_path_factory.mktemp("video") / "clip.mp4")
    r = upload(owner, Path("clip.mp4"), data=data)
    assert r.status_code == 201, r.text
    return Asset(id=r.json()["id"], data=data, name="clip.mp4")


@pytest.fixture(scope="module")
def placed(owner: User, photos: list[Asset]) -> Iterator[list[Asset]]:
    """Photos 0 and 1 placed in March and May 1975 (months no other asset uses)."""
    put_asset(owner, photos[0].id, {"dateTimeOriginal": "1975-03-15T10:00:00+02:00"})
    put_asset(owner, photos[1].id, {"dateTimeOriginal": "1975-05-02T08:30:00.000Z"})
    yield photos


def test_edits_show_in_asset_and_timeline(owner: User, placed: list[Asset]) -> None:
    a = placed[0]
    body = put_asset(
        owner,
        a.id,
        {
            "isFavorite": True,
            "description": "Harbour at dawn",
            "rating": 4,
            "latitude": 44.4056,
            "longitude": 8.9463,
        },
    )
    assert body["id"] == a.id and body["isFavorite"] is True
    info = owner.client.get(f"/api/assets/{a.id}").json()
    assert info["isFavorite"] is True
    exif = info["exifInfo"]
    assert exif["description"] == "Harbour at dawn"
    assert exif["rating"] == 4
    assert exif["latitude"] == pytest.approx(44.4056)
    assert exif["longitude"] == pytest.approx(8.9463)
    # 10:00 at +02:00: the wall clock is the local date-time, the instant is 08:00 UTC
    assert info["localDateTime"].startswith("1975-03-15T10:00:00")
    assert exif["dateTimeOriginal"].startswith("1975-03-15T08:00:00")
    assert info["fileCreatedAt"].startswith("1975-03-15T08:00:00")

    march = bucket(owner, "1975-03-01", withCoordinates="true")
    assert march["id"] == [a.id]
    assert march["isFavorite"] == [True]
    assert march["localOffsetHours"] == [2]
    assert march["latitude"] == [pytest.approx(44.4056)]
    # favourite filter
    assert buckets(owner, isFavorite="true") == {"1975-03-01": 1}
    assert a.id not in timeline_ids(owner, isFavorite="false")

    # rating null clears it; a rating outside [-1, 5] is refused
    assert put_asset(owner, a.id, {"rating": None})["exifInfo"]["rating"] is None
    assert owner.client.put(f"/api/assets/{a.id}", json={"rating": 7}).status_code == 400
    assert owner.client.put(f"/api/assets/{a.id}", json={"latitude": 91}).status_code == 400
    assert owner.client.put(f"/api/assets/{a.id}", json={"visibility": "nope"}).status_code == 400


def test_timeline_buckets_and_columnar_bucket(owner: User, placed: list[Asset]) -> None:
    b = placed[1]
    months = buckets(owner)
    assert months["1975-03-01"] == 1 and months["1975-05-01"] == 1
    listed = list(months)
    assert listed == sorted(listed, reverse=True)  # newest first by default
    assert list(buckets(owner, order="asc")) == sorted(listed)

    may = bucket(owner, "1975-05-01")
    required = [
        "id", "ownerId", "ratio", "isFavorite", "visibility", "isTrashed", "isImage",
        "thumbhash", "fileCreatedAt", "createdAt", "localOffsetHours", "duration",
        "projectionType", "livePhotoVideoId", "city", "country",
    ]  # fmt: skip
    for column in required:
        assert len(may[column]) == 1, column
    assert may["id"] == [b.id]
    assert may["ownerId"] == [owner.id]
    assert may["ratio"] == [pytest.approx(96 / 64, rel=1e-3)]
    assert may["visibility"] == ["timeline"]
    assert may["isTrashed"] == [False] and may["isImage"] == [True]
    assert may["thumbhash"][0]  # base64 thumbhash from the thumbnail service
    assert may["fileCreatedAt"][0].startswith("1975-05-02T08:30:00")
    assert may["localOffsetHours"] == [0]
    assert "latitude" not in may  # only withCoordinates
    # an ISO date-time in the month works as the bucket key too; an empty month is empty
    assert bucket(owner, "1975-05-01T00:00:00.000Z")["id"] == [b.id]
    assert bucket(owner, "1975-04-01")["id"] == []
    bad = owner.client.get("/api/timeline/bucket", params={"timeBucket": "May"})
    assert bad.status_code == 400

    # a bulk relative shift moves b by 31 days into June
    r = owner.client.put("/api/assets", json={"ids": [b.id], "dateTimeRelative": 31 * 24 * 60})
    assert r.status_code == 204, r.text
    assert bucket(owner, "1975-06-01")["id"] == [b.id]
    assert "1975-05-01" not in buckets(owner)
    put_asset(owner, b.id, {"dateTimeOriginal": "1975-05-02T08:30:00.000Z"})


def test_archive_leaves_the_default_timeline(owner: User, placed: list[Asset]) -> None:
    c = placed[2]
    put_asset(owner, c.id, {"visibility": "archive"})
    info = owner.client.get(f"/api/assets/{c.id}").json()
    assert info["isArchived"] is True and info["visibility"] == "archive"
    assert c.id not in timeline_ids(owner)
    archived = timeline_ids(owner, visibility="archive")
    assert archived == {c.id}
    put_asset(owner, c.id, {"visibility": "timeline"})
    assert c.id in timeline_ids(owner)


def test_bulk_update(owner: User, placed: list[Asset]) -> None:
    ids = [placed[2].id, placed[3].id]
    r = owner.client.put(
        "/api/assets", json={"ids": ids, "isFavorite": True, "rating": 2, "description": "dup"}
    )
    assert r.status_code == 204, r.text
    for asset_id in ids:
        info = owner.client.get(f"/api/assets/{asset_id}").json()
        assert info["isFavorite"] is True
        assert info["exifInfo"]["rating"] == 2 and info["exifInfo"]["description"] == "dup"
    r = owner.client.put("/api/assets", json={"ids": ids, "isFavorite": False})
    assert r.status_code == 204
    assert not any(owner.client.get(f"/api/assets/{i}").json()["isFavorite"] for i in ids)


def test_statistics(owner: User, placed: list[Asset], video: Asset) -> None:
    wait_processed(owner, [video.id])
    stats = owner.client.get("/api/assets/statistics").json()
    assert stats == {"images": 4, "videos": 1, "total": 5}
    put_asset(owner, placed[3].id, {"visibility": "archive", "isFavorite": True})
    assert owner.client.get("/api/assets/statistics", params={"visibility": "timeline"}).json() == {
        "images": 3,
        "videos": 1,
        "total": 4,
    }
    favs = owner.client.get("/api/assets/statistics", params={"isFavorite": "true"}).json()
    assert favs == {"images": 2, "videos": 0, "total": 2}  # photo 0 and photo 3
    trashed = owner.client.get("/api/assets/statistics", params={"isTrashed": "true"}).json()
    assert trashed == {"images": 0, "videos": 0, "total": 0}
    put_asset(owner, placed[3].id, {"visibility": "timeline", "isFavorite": False})


def test_video_playback(owner: User, placed: list[Asset], video: Asset) -> None:
    wait_processed(owner, [video.id])
    r = owner.client.get(f"/api/assets/{video.id}/video/playback")
    assert r.status_code == 200 and r.content == video.data
    part = owner.client.get(
        f"/api/assets/{video.id}/video/playback", headers={"Range": "bytes=10-19"}
    )
    assert part.status_code == 206 and part.content == video.data[10:20]
    image = owner.client.get(f"/api/assets/{placed[0].id}/video/playback")
    assert image.status_code == 400


def test_live_photo_link_hides_the_motion_part(
    owner: User, placed: list[Asset], video: Asset
) -> None:
    photo = placed[3]
    wait_processed(owner, [video.id])
    body = put_asset(owner, photo.id, {"livePhotoVideoId": video.id})
    assert body["livePhotoVideoId"] == video.id
    assert owner.client.get(f"/api/assets/{video.id}").json()["visibility"] == "hidden"
    assert video.id not in timeline_ids(owner)
    assert video.id in timeline_ids(owner, visibility="hidden")
    assert put_asset(owner, photo.id, {"livePhotoVideoId": None})["livePhotoVideoId"] is None
    assert owner.client.get(f"/api/assets/{video.id}").json()["visibility"] == "timeline"
    # a photo is no motion part
    r = owner.client.put(f"/api/assets/{photo.id}", json={"livePhotoVideoId": placed[0].id})
    assert r.status_code == 400


def test_download_archive_unzips_to_originals(owner: User, placed: list[Asset]) -> None:
    chosen = [placed[0], placed[2], placed[3]]  # the last two are both "same.jpg"
    ids = [a.id for a in chosen]
    info = owner.client.post("/api/download/info", json={"assetIds": ids})
    assert info.status_code == 201, info.text
    total = sum(len(a.data) for a in chosen)
    assert info.json() == {"archives": [{"assetIds": ids, "size": total}], "totalSize": total}
    # an archive closes once past the limit (Immich): a limit under every size, one asset each
    limit = min(len(a.data) for a in chosen) - 1
    small = owner.client.post(
        "/api/download/info", json={"assetIds": ids, "archiveSize": limit}
    ).json()
    assert [x["assetIds"] for x in small["archives"]] == [[i] for i in ids]

    r = owner.client.post("/api/download/archive", json={"assetIds": ids})
    assert r.status_code == 200, r.text
    with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert names == ["a.jpg", "same.jpg", "same+1.jpg"]
        for name, asset in zip(names, chosen, strict=True):
            assert archive.getinfo(name).compress_type == zipfile.ZIP_STORED
            assert archive.read(name) == asset.data


def test_trash_restore_and_empty(stack: Stack, owner: User, placed: list[Asset]) -> None:
    b = placed[1]
    r = owner.client.request("DELETE", "/api/assets", json={"ids": [b.id]})
    assert r.status_code == 204, r.text
    info = owner.client.get(f"/api/assets/{b.id}").json()
    assert info["isTrashed"] is True
    assert b.id not in timeline_ids(owner)
    assert timeline_ids(owner, isTrashed="true") == {b.id}
    assert bucket(owner, "1975-05-01", isTrashed="true")["isTrashed"] == [True]
    stats = owner.client.get("/api/assets/statistics", params={"isTrashed": "true"}).json()
    assert stats["total"] == 1

    r = owner.client.post("/api/trash/restore/assets", json={"ids": [b.id]})
    assert r.status_code == 200 and r.json() == {"count": 1}
    assert b.id in timeline_ids(owner)
    owner.client.request("DELETE", "/api/assets", json={"ids": [b.id]})
    assert owner.client.post("/api/trash/restore").json() == {"count": 1}
    assert owner.client.get(f"/api/assets/{b.id}").json()["isTrashed"] is False

    storage = Path(stack.env()["DARKROOM_STORAGE_ROOT"])
    before = {p for p in storage.rglob(f"*{b.id}*") if p.is_file()}
    assert len(before) >= 2  # the original and at least the thumbnail
    owner.client.request("DELETE", "/api/assets", json={"ids": [b.id]})
    r = owner.client.post("/api/trash/empty")
    assert r.status_code == 200 and r.json() == {"count": 1}
    assert owner.client.get(f"/api/assets/{b.id}").status_code == 400
    assert owner.client.get(f"/api/assets/{b.id}/original").status_code == 400
    assert not any(p.exists() for p in before)
    assert b.id not in timeline_ids(owner, isTrashed="true")
    assert owner.client.post("/api/trash/empty").json() == {"count": 0}


def test_force_delete(stack: Stack, owner: User) -> None:
    data = make_jpeg(4242)
    r = upload(owner, Path("gone.jpg"), data=data)
    asset_id = r.json()["id"]
    wait_processed(owner, [asset_id])
    storage = Path(stack.env()["DARKROOM_STORAGE_ROOT"])
    files = [p for p in storage.rglob(f"*{asset_id}*") if p.is_file()]
    assert files
    r = owner.client.request("DELETE", "/api/assets", json={"ids": [asset_id], "force": True})
    assert r.status_code == 204, r.text
    assert owner.client.get(f"/api/assets/{asset_id}").status_code == 400
    assert asset_id not in timeline_ids(owner, isTrashed="true")
    assert not any(p.exists() for p in files)
    # the same file can be uploaded again: it is a new asset, not a duplicate
    again = upload(owner, Path("gone.jpg"), data=data)
    assert again.status_code == 201 and again.json()["id"] != asset_id
    owner.client.request("DELETE", "/api/assets", json={"ids": [again.json()["id"]], "force": True})


def test_another_user_can_touch_none_of_it(
    owner: User, other_user: User, placed: list[Asset], video: Asset
) -> None:
    a = placed[0]
    other = other_user.client
    assert other.get(f"/api/assets/{a.id}").status_code == 400
    assert other.put(f"/api/assets/{a.id}", json={"isFavorite": True}).status_code == 400
    assert other.get(f"/api/assets/{video.id}/video/playback").status_code == 400
    bulk = other.put("/api/assets", json={"ids": [a.id], "isFavorite": True})
    assert bulk.status_code == 400 and set(bulk.json()) == {"message"}
    assert other.request("DELETE", "/api/assets", json={"ids": [a.id]}).status_code == 400
    forced = other.request("DELETE", "/api/assets", json={"ids": [a.id], "force": True})
    assert forced.status_code == 400
    assert other.post("/api/trash/restore/assets", json={"ids": [a.id]}).status_code == 400
    assert other.post("/api/download/info", json={"assetIds": [a.id]}).status_code == 400
    assert other.post("/api/download/archive", json={"assetIds": [a.id]}).status_code == 400
    assert other.post("/api/download/info", json={"userId": owner.id}).status_code == 400
    assert other.get("/api/timeline/buckets", params={"userId": owner.id}).status_code == 400
    assert (
        other.get(
            "/api/timeline/bucket", params={"timeBucket": "1975-03-01", "userId": owner.id}
        ).status_code
        == 400
    )
    # their own trash operations leave the owner's assets alone
    other.post("/api/trash/empty")
    other.post("/api/trash/restore")
    mine = {a.id for a in placed} | {video.id}
    for view in ({}, {"isTrashed": "true"}, {"visibility": "archive"}, {"isFavorite": "true"}):
        assert not timeline_ids(other_user, **view) & mine
    assert bucket(other_user, "1975-03-01")["id"] == []
    info = owner.client.get(f"/api/assets/{a.id}").json()
    assert info["isTrashed"] is False and info["isFavorite"] is True
    unknown = owner.client.put(f"/api/assets/{uuid.uuid4()}", json={"isFavorite": True})
    assert unknown.status_code == 400


def test_timeline_requires_credentials(stack: Stack) -> None:
    anon = httpx.Client(base_url=stack.url, timeout=30)
    assert anon.get("/api/timeline/buckets").status_code == 401
    assert anon.post("/api/trash/empty").status_code == 401
