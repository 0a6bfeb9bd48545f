"""EXIF values of ``GET /api/assets/{id}`` (ExifResponseDto) as Immich stores them for a file.

Photos are generated here (Pillow writes their EXIF, the XMP packet is written by hand), so each
value is known exactly. Immich reads tags with exiftool-vendored (print conversion on, except
for its ``numericTags``) and maps them in metadata.service ``handleMetadataExtraction``:

* ``timeZone`` of a capture time with a UTC offset is the zone name exiftool-vendored gives the
  offset, ``UTC+9``, ``UTC-4``, ``UTC+5:30``, ``UTC`` (metadata.service ``getDates``:
  ``exifTags.tz``, from exiftool-vendored ``offsetMinutesToZoneName``), not ``+09:00``; an
  owner's edit of ``dateTimeOriginal`` with an offset gets the same name (asset.service
  ``updateExif``: ``timeZone: extractTimeZone(dateTimeOriginal)?.name``, luxon's fixed-offset
  zone name).
* ``fNumber`` is ExifTool's printed f-number, one decimal (two below 1): 189/100 -> 1.9
  (``fNumber: validate(exifTags.FNumber)``; ExifTool ``PrintFNumber``).
* ``focalLength`` is the tag's value, not rounded: 18098/1000 -> 18.098 (FocalLength is one of
  metadata.repository's ``numericTags``; Immich's own e2e expects 18.098 for a Canon G12).
* ``latitude``/``longitude`` are ExifTool's signed degrees, not rounded (GPSLatitude and
  GPSLongitude are exiftool-vendored default ``numericTags``; ``latitude = exifTags.GPSLatitude``).
* ``modifyDate`` is the original file's modification time, which for an upload is its
  ``fileModifiedAt``, whatever EXIF ModifyDate says (``modifyDate: stats.mtime``).
* ``rating`` is rounded, not truncated (``validateRange``: ``Math.round(val)``): XMP 2.6 -> 3.
* A stranger still gets 400 for the asset (asset.service ``get``: requireAccess AssetRead).
"""

from __future__ import annotations

import io
import uuid
from datetime import datetime

import pytest
from darkroom_stack.supervisor import Stack
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from .conftest import User, make_user, wait_processed

#: 43 deg 28' 2.814" N, 11 deg 53' 6.456" E (as the EXIF GPS IFD states it).
_LAT_DMS = ((43, 1), (28, 1), (2814, 1000))
_LON_DMS = ((11, 1), (53, 1), (6456, 1000))
_LAT = 43 + 28 / 60 + 2.814 / 3600
_LON = 11 + 53 / 60 + 6.456 / 3600


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user for this module's uploads."""
    return make_user(stack, admin)


def _xmp(rating: str) -> bytes:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
        f'rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="{rating}"/>'
        "</rdf:RDF></x:xmpmeta>"
    ).encode()


def _photo(
    seed: int,
    *,
    taken: str = "2022:06:01 12:00:00",
    offset: str | None = None,
    f_number: tuple[int, int] | None = None,
    focal: tuple[int, int] | None = None,
    gps: bool = False,
    modify: str | None = None,
    rating: str | None = None,
) -> bytes:
    """A 64x48 JPEG with the given EXIF (and an XMP rating when ``rating``)."""
    img = Image.new("RGB", (64, 48), ((seed * 53) % 256, (seed * 17) % 256, 90))
    exif = Image.Exif()
    if modify is not None:
        exif[0x0132] = modify  # IFD0 ModifyDate
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = taken  # DateTimeOriginal
    if offset is not None:
        sub[0x9011] = offset  # OffsetTimeOriginal
    if f_number is not None:
        sub[0x829D] = IFDRational(*f_number)
    if focal is not None:
        sub[0x920A] = IFDRational(*focal)
    if gps:
        gps_ifd = exif.get_ifd(0x8825)
        gps_ifd[1] = "N"
        gps_ifd[2] = tuple(IFDRational(*p) for p in _LAT_DMS)
        gps_ifd[3] = "E"
        gps_ifd[4] = tuple(IFDRational(*p) for p in _LON_DMS)
    out = io.BytesIO()
    extra = {"xmp": _xmp(rating)} if rating is not None else {}
    img.save(out, format="JPEG", exif=exif, **extra)
    return out.getvalue()


def _upload(user: User, data: bytes, modified_at: str = "2020-01-01T00:00:00.000Z") -> str:
    r = user.client.post(
        "/api/assets",
        files={"assetData": (f"{uuid.uuid4().hex}.jpg", data, "image/jpeg")},
        data={
            "deviceAssetId": uuid.uuid4().hex,
            "deviceId": "pytest",
            "fileCreatedAt": "2020-01-01T00:00:00.000Z",
            "fileModifiedAt": modified_at,
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _exif(user: User, asset_id: str) -> dict:
    r = user.client.get(f"/api/assets/{asset_id}")
    assert r.status_code == 200, r.text
    info = r.json()["exifInfo"]
    assert info is not None
    return info


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_time_zone_of_an_offset_is_exiftool_vendored_zone_name(owner: User) -> None:
    cases = {"+09:00": "UTC+9", "-04:00": "UTC-4", "+05:30": "UTC+5:30", "+00:00": "UTC"}
    ids = {offset: _upload(owner, _photo(10 + i, offset=offset)) for i, offset in enumerate(cases)}
    wait_processed(owner, list(ids.values()))
    for offset, name in cases.items():
        info = _exif(owner, ids[offset])
        assert info["timeZone"] == name, (offset, info["timeZone"])
        assert _instant(info["dateTimeOriginal"]) == datetime.fromisoformat(
            f"2022-06-01T12:00:00{offset}"
        )
    asset = owner.client.get(f"/api/assets/{ids['+09:00']}").json()
    assert asset["localDateTime"].startswith("2022-06-01T12:00:00")


def test_time_zone_of_an_edited_date_with_offset_is_the_same_zone_name(owner: User) -> None:
    asset_id = _upload(owner, _photo(20))
    wait_processed(owner, [asset_id])
    for value, name in (("2021-02-03T04:05:06+09:00", "UTC+9"), ("2021-02-03T04:05:06Z", "UTC")):
        r = owner.client.put(f"/api/assets/{asset_id}", json={"dateTimeOriginal": value})
        assert r.status_code == 200, r.text
        assert r.json()["exifInfo"]["timeZone"] == name, (value, r.json()["exifInfo"])
        assert _exif(owner, asset_id)["timeZone"] == name


def test_camera_numbers_are_immich_values(owner: User) -> None:
    asset_id = _upload(owner, _photo(30, f_number=(189, 100), focal=(18098, 1000)))
    small = _upload(owner, _photo(31, f_number=(64, 100), focal=(4, 1)))
    wait_processed(owner, [asset_id, small])
    info = _exif(owner, asset_id)
    assert info["fNumber"] == 1.9
    assert info["focalLength"] == 18.098
    assert _exif(owner, small)["fNumber"] == 0.64


def test_gps_position_is_not_rounded(owner: User) -> None:
    asset_id = _upload(owner, _photo(40, gps=True))
    wait_processed(owner, [asset_id])
    info = _exif(owner, asset_id)
    assert abs(info["latitude"] - _LAT) < 1e-9, info["latitude"]
    assert abs(info["longitude"] - _LON) < 1e-9, info["longitude"]


def test_modify_date_is_the_files_modification_time(owner: User) -> None:
    modified = "2021-03-04T05:06:07.000Z"
    asset_id = _upload(owner, _photo(50, modify="2019:01:01 00:00:00"), modified_at=modified)
    wait_processed(owner, [asset_id])
    asset = owner.client.get(f"/api/assets/{asset_id}").json()
    assert _instant(asset["exifInfo"]["modifyDate"]) == _instant(modified)
    assert _instant(asset["fileModifiedAt"]) == _instant(modified)


def test_rating_is_rounded(owner: User, other_user: User) -> None:
    asset_id = _upload(owner, _photo(60, rating="2.6"))
    wait_processed(owner, [asset_id])
    assert _exif(owner, asset_id)["rating"] == 3
    assert other_user.client.get(f"/api/assets/{asset_id}").status_code == 400
