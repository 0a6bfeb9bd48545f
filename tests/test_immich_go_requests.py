"""The requests immich-go (`simulot/immich-go`, the Go bulk uploader) makes, replayed over HTTP.

immich-go is a Go program, not installed here: each test sends what its ``immich`` package sends
(method, path, query, ``x-api-key`` header, JSON or multipart body, legacy fields included) and
checks that the answer is one its Go structs decode and its logic accepts. How immich-go reads
an answer (``immich/call.go`` ``serverCall.do``): any status >= 300 is an error whose JSON body
(``message``) it prints; a success is decoded with ``encoding/json`` into its struct, where a JSON
value of the wrong type fails the whole call, ``null`` leaves a field empty, and a
``json:",string"`` field must be a JSON string. Behaviours checked, with the immich-go source:

* connect (``ping.go``): ``GET /api/server/ping`` ``{"res": "pong"}``; ``GET /api/users/me`` (a
  ``User`` whose dates Go's ``time.Time`` parses, RFC 3339); ``GET /api/server/media-types``
  (``map[string][]string`` of extensions); ``GET /api/server/about`` (``version`` must parse as
  ``major.minor.patch``, optional ``v``); ``GET /api/assets/statistics`` and, with an admin key,
  ``GET /api/server/statistics``. A wrong key is a 401 with a JSON ``message`` (its
  ``decodeServerError`` reads the body only when the Content-Type is JSON).
* upload (``upload.go`` ``uploadAsset``/``prepareCallValues``): multipart ``assetData`` plus the
  text fields ``deviceAssetId``, ``deviceId``, ``assetType``, ``fileExtension``, ``duration``
  (``"00:00:00.000000"``), ``isReadOnly``, ``isArchived`` (legacy: Immich 3.1 lists none of them
  and ignores them) and ``fileCreatedAt``/``fileModifiedAt`` (``...T15:04:05.000Z``),
  ``isFavorite``, ``visibility`` (``archive`` for an archived Google Photos item, else
  ``timeline``); the v3-aware variant leaves out deviceAssetId/deviceId and sends ``duration``
  in milliseconds. Header ``x-immich-checksum`` (base64 SHA-1). 201 ``created``; 200
  ``duplicate`` with the existing id (header or body checksum). Immich's
  ``AssetMediaService.create`` stores ``visibility: dto.visibility ?? timeline``.
* the server index (``metadata.go``/``search.go`` ``callSearchMetadata``): ``POST
  /api/search/metadata`` pages of 1000 by ``visibility`` (archive, timeline, hidden), each again
  with ``trashedAfter: "0001-01-01T00:00:00.000Z"`` for the trash, ``order: "asc"``; the legacy
  form ``{isVisible, withDeleted}``; by ``checksum`` and ``originalFileName``. Every item needs
  an ``id`` and a base64 ``checksum`` (its ``immichIndex.add`` panics on an empty one);
  ``nextPage`` is read with ``json:",string"`` (a string or null, never a number).
* albums (``albums.go``): ``POST /api/albums`` ``{albumName, description, assetIds}``, ``GET
  /api/albums``, ``GET /api/albums?assetId=``, ``GET /api/albums/{id}?withoutAssets=``, ``PUT
  /api/albums/{id}/assets`` ``{ids}`` (``[{id, success, error}]``), ``DELETE /api/albums/{id}``;
  another user's asset is refused per item (``no_permission``), another user's album is 400.
* stacks and tags (``stacks.go``, ``tag.go``): ``POST /api/stacks`` ``{assetIds}`` -> ``{id,
  primaryAssetId}``; ``PUT /api/tags`` ``{tags}`` -> ``[{id, name, value}]``; ``PUT
  /api/tags/{id}/assets`` ``{ids}``; ``PUT /api/tags/assets`` ``{tagIds, assetIds}`` ->
  ``{count}``; ``GET /api/tags``.
* asset edits (``asset.go``): ``PUT /api/assets/{id}`` (description, rating, GPS,
  dateTimeOriginal) answers the asset; ``PUT /api/assets`` with the legacy ``isArchived``,
  ``removeParent`` fields is accepted (204); ``PUT /api/assets/copy``; ``GET
  /api/assets/{id}/original`` with ``Accept: application/octet-stream``; ``DELETE /api/assets``.
* admin jobs (``job.go``): ``GET /api/jobs`` (``map[string]{jobCounts, queueStatus}``), ``PUT
  /api/jobs/storageTemplateMigration`` ``{command: "start", force}``; a non-admin key gets 403
  (``isPermissionError``). (immich-go's ``pause``/``resume`` of that queue and ``POST /api/jobs``
  ``{name: "tag-cleanup"}`` ignore the answer; Darkroom refuses the first with 400 for now.)
* ``GET /api/people?page=1&size=500`` (``people.go``) and ``GET /api/search/suggestions``
  (``search.go``).
* bodies without a length: Go streams the upload through an ``io.Pipe`` and older releases'
  ``setJSONBody`` set no length either, so both arrive ``Transfer-Encoding: chunked``.
* a key holding exactly immich-go's ``RequiredUserPermissions`` (``permissions.go``, less
  ``asset.replace``, gone in Immich 3.1) runs a whole upload session.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, noise_jpeg, wait_processed

#: immich-go's upload time format (``upload.go`` ``TimeFormat``).
GO_TIME = "%Y-%m-%dT%H:%M:%S.000Z"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def gouser(stack: Stack, admin: User) -> User:
    """A fresh user, so the index and statistics are this module's alone."""
    return make_user(stack, admin)


def _b64_sha1(data: bytes) -> str:
    """The checksum immich-go computes (``assets.Asset.GetChecksum``): base64 of the SHA-1."""
    return base64.b64encode(hashlib.sha1(data).digest()).decode()  # noqa: S324 - Immich's hash


def _go_time(value: Any) -> None:
    """Fail unless ``value`` is null or a date-time Go's ``time.Time`` decodes (RFC 3339)."""
    if value is None:
        return
    assert isinstance(value, str), value
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value), (
        f"not RFC 3339: {value!r}"
    )


def _str_or_null(obj: dict[str, Any], *names: str) -> None:
    """Go decodes these into ``string`` fields: a string or null, never another type."""
    for name in names:
        assert obj.get(name) is None or isinstance(obj[name], str), (name, obj.get(name))


def _int(obj: dict[str, Any], *names: str) -> None:
    for name in names:
        assert isinstance(obj[name], int) and not isinstance(obj[name], bool), (name, obj)


def _upload(
    user: User,
    data: bytes,
    name: str,
    *,
    legacy: bool = True,
    archived: bool = False,
    favorite: bool = False,
    taken: str = "2019-06-01T10:00:00.000Z",
    checksum_header: bool = True,
    sidecar: bytes | None = None,
) -> httpx.Response:
    """``POST /api/assets`` as immich-go's ``uploadAsset`` builds it: the ``legacy`` form
    (``prepareCallValues`` of simulot/immich-go) or the v3-aware one."""
    fields = {
        "fileCreatedAt": taken,
        "fileModifiedAt": "2020-02-02T02:02:02.000Z",
        "isFavorite": "true" if favorite else "false",
        "visibility": "archive" if archived else "timeline",
    }
    if legacy:
        fields |= {
            "deviceAssetId": f"{name}-{len(data)}",
            "deviceId": "immich-go-host",
            "assetType": "image",
            "fileExtension": "." + name.rsplit(".", 1)[-1],
            "duration": "00:00:00.000000",
            "isReadOnly": "false",
            "isArchived": "true" if archived else "false",
        }
    else:
        fields["duration"] = "0"
    files: dict[str, tuple[str, bytes, str]] = {
        "assetData": (name, data, "application/octet-stream")
    }
    if sidecar is not None:
        files["sidecarData"] = (name + ".xmp", sidecar, "application/octet-stream")
    headers = {"Accept": "application/json"}
    if checksum_header:
        headers["x-immich-checksum"] = _b64_sha1(data)
    return user.client.post("/api/assets", data=fields, files=files, headers=headers)


def _chunked(body: bytes, piece: int = 4096) -> Iterator[bytes]:
    """``body`` as a stream of unknown length: httpx then sends it chunked, as Go's client sends
    immich-go's upload (an ``io.Pipe``) and, before ``setJSONBody`` set a length, its JSON."""
    for at in range(0, len(body), piece):
        yield body[at : at + piece]


def _upload_chunked(user: User, data: bytes, name: str) -> httpx.Response:
    """The legacy upload, its multipart body streamed with ``Transfer-Encoding: chunked``."""
    boundary = uuid.uuid4().hex
    fields = {
        "deviceAssetId": f"{name}-{len(data)}",
        "deviceId": "immich-go-host",
        "assetType": "image",
        "fileCreatedAt": "2019-06-01T10:00:00.000Z",
        "fileModifiedAt": "2020-02-02T02:02:02.000Z",
        "isFavorite": "false",
        "fileExtension": ".jpg",
        "duration": "00:00:00.000000",
        "isReadOnly": "false",
        "visibility": "timeline",
    }
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    )
    body += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="assetData"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    body += data + f"\r\n--{boundary}--\r\n".encode()
    return user.client.post(
        "/api/assets",
        content=_chunked(body),
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Accept": "application/json",
            "x-immich-checksum": _b64_sha1(data),
        },
    )


def _created(r: httpx.Response) -> str:
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "created" and UUID_RE.match(body["id"]), body
    return str(body["id"])


def _search(user: User, query: dict[str, Any]) -> list[dict[str, Any]]:
    """Every item ``callSearchMetadata`` collects for ``query``: pages of 1000 from page 1,
    following ``nextPage`` (a JSON string) until it is null."""
    query = {**query, "page": 1, "size": query.get("size", 1000)}
    items: list[dict[str, Any]] = []
    for _ in range(50):
        r = user.client.post(
            "/api/search/metadata", json=query, headers={"Accept": "application/json"}
        )
        assert r.status_code == 200, (query, r.text)
        page = r.json()["assets"]
        _int(page, "total", "count")
        assert isinstance(page["items"], list)
        for item in page["items"]:
            assert item["id"] and UUID_RE.match(item["id"]), item
            assert len(base64.b64decode(item["checksum"], validate=True)) == 20, item
            assert isinstance(item["originalFileName"], str)
            _go_time(item["fileCreatedAt"])
            _go_time(item["fileModifiedAt"])
            assert isinstance(item["isFavorite"], bool) and isinstance(item["isTrashed"], bool)
            assert isinstance(item["tags"], list)
        items += page["items"]
        next_page = page["nextPage"]
        assert next_page is None or isinstance(next_page, str), next_page
        if next_page is None:
            return items
        query["page"] = int(next_page)
    raise AssertionError("nextPage never ended")


# --- connect --------------------------------------------------------------------------------


def test_connect_ping_user_media_types_about_statistics(
    stack: Stack, gouser: User, admin: User
) -> None:
    api = gouser.client
    accept = {"Accept": "application/json"}
    r = api.get("/api/server/ping", headers=accept)
    assert r.status_code == 200 and r.json() == {"res": "pong"}, r.text

    r = api.get("/api/users/me", headers=accept)
    assert r.status_code == 200, r.text
    me = r.json()
    assert me["id"] == gouser.id and me["email"] == gouser.email
    assert isinstance(me["isAdmin"], bool) and me["isAdmin"] is False
    assert isinstance(me["shouldChangePassword"], bool)
    _str_or_null(me, "storageLabel", "profileImagePath", "oauthId", "name")
    for key in ("createdAt", "updatedAt", "deletedAt"):
        _go_time(me.get(key))

    r = api.get("/api/server/media-types", headers=accept)
    assert r.status_code == 200, r.text
    media = r.json()
    assert all(
        isinstance(v, list) and all(isinstance(e, str) and e.startswith(".") for e in v)
        for v in media.values()
    ), media
    assert ".jpg" in media["image"] and ".mp4" in media["video"] and ".xmp" in media["sidecar"]

    r = api.get("/api/server/about", headers=accept)
    assert r.status_code == 200, r.text
    about = r.json()
    assert re.fullmatch(r"v?\d+\.\d+\.\d+([+-].*)?", about["version"].strip()), about
    assert int(about["version"].lstrip("v").split(".")[0]) == 3
    assert isinstance(about["licensed"], bool)
    _str_or_null(about, *(k for k in about if k != "licensed"))

    r = api.get("/api/assets/statistics", headers=accept)
    assert r.status_code == 200, r.text
    _int(r.json(), "images", "videos", "total")

    r = admin.client.get("/api/server/statistics", headers=accept)
    assert r.status_code == 200, r.text
    stats = r.json()
    _int(stats, "photos", "videos", "usage")
    for row in stats["usageByUser"]:
        _int(row, "photos", "videos", "usage")
        assert isinstance(row["userId"], str) and isinstance(row["userName"], str), row
    assert gouser.id in {row["userId"] for row in stats["usageByUser"]}

    # what immich-go prints for a refused call: a JSON body with a message
    bad = httpx.get(f"{stack.url}/api/users/me", headers={"x-api-key": "nope", **accept})
    assert bad.status_code == 401
    assert bad.headers["content-type"].startswith("application/json")
    assert isinstance(bad.json()["message"], str) and bad.json()["message"]


# --- upload ---------------------------------------------------------------------------------


def test_upload_legacy_fields_then_duplicates(gouser: User, other_user: User) -> None:
    photo = noise_jpeg(7101)
    asset_id = _created(_upload(gouser, photo, "IMG_0001.jpg"))
    # after extraction too: a file without a date in it keeps the earlier of the two times
    # (Immich's getDates falls back on the earliest of fileCreatedAt and fileModifiedAt)
    wait_processed(gouser, [asset_id])
    info = gouser.client.get(f"/api/assets/{asset_id}").json()
    assert info["originalFileName"] == "IMG_0001.jpg"
    assert info["checksum"] == _b64_sha1(photo)
    assert info["fileCreatedAt"].startswith("2019-06-01T10:00:00")
    assert info["fileModifiedAt"].startswith("2020-02-02T02:02:02")
    assert info["visibility"] == "timeline" and info["isArchived"] is False
    assert info["duration"] is None  # "00:00:00.000000" is not milliseconds: ignored

    # the checksum header finds it before the body is read; without it, the body's SHA-1 does
    for header in (True, False):
        r = _upload(gouser, photo, "IMG_0001.jpg", checksum_header=header)
        assert r.status_code == 200, r.text
        assert r.json() == {"id": asset_id, "status": "duplicate"}

    # Go streams the body chunked (no Content-Length); the duplicate is found all the same
    r = _upload_chunked(gouser, photo, "IMG_0001.jpg")
    assert r.status_code == 200 and r.json() == {"id": asset_id, "status": "duplicate"}, r.text
    chunked = _created(_upload_chunked(gouser, noise_jpeg(7106), "IMG_0002.jpg"))
    info = gouser.client.get(f"/api/assets/{chunked}").json()
    assert info["originalFileName"] == "IMG_0002.jpg"
    assert info["checksum"] == _b64_sha1(noise_jpeg(7106))

    # the same bytes are new to another user
    theirs = _created(_upload(other_user, photo, "IMG_0001.jpg"))
    assert theirs != asset_id


def test_upload_v3_form_with_archive_visibility(gouser: User) -> None:
    """Immich's ``AssetMediaService.create``: ``visibility: dto.visibility ?? timeline``;
    immich-go sends ``archive`` for an item archived in Google Photos."""
    archived = _created(_upload(gouser, noise_jpeg(7102), "PXL_archived.jpg", legacy=False))
    info = gouser.client.get(f"/api/assets/{archived}").json()
    assert info["visibility"] == "timeline"  # sent as "timeline"
    hidden = _created(
        _upload(gouser, noise_jpeg(7103), "PXL_arch2.jpg", legacy=False, archived=True)
    )
    info = gouser.client.get(f"/api/assets/{hidden}").json()
    assert info["visibility"] == "archive" and info["isArchived"] is True, info
    bad = gouser.client.post(
        "/api/assets",
        data={
            "fileCreatedAt": "2019-06-01T10:00:00.000Z",
            "fileModifiedAt": "2019-06-01T10:00:00.000Z",
            "visibility": "shelved",
        },
        files={"assetData": ("bad.jpg", noise_jpeg(7107), "application/octet-stream")},
    )
    assert bad.status_code == 400 and "visibility" in bad.json()["message"], bad.text
    favorite = _created(_upload(gouser, noise_jpeg(7104), "PXL_fav.jpg", favorite=True))
    assert gouser.client.get(f"/api/assets/{favorite}").json()["isFavorite"] is True


def test_upload_with_xmp_sidecar(gouser: User) -> None:
    xmp = (
        b"<?xpacket begin='' id='W5M0MpCehiHzreSzNTczkc9d'?>"
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
        b'xmlns:exif="http://ns.adobe.com/exif/1.0/">'
        b"<exif:DateTimeOriginal>2012-03-04T05:06:07Z</exif:DateTimeOriginal>"
        b"</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end='w'?>"
    )
    asset_id = _created(_upload(gouser, noise_jpeg(7105), "side.jpg", sidecar=xmp))
    wait_processed(gouser, [asset_id])
    info = gouser.client.get(f"/api/assets/{asset_id}").json()
    assert info["exifInfo"]["dateTimeOriginal"].startswith("2012-03-04T05:06:07"), info


# --- the server index -----------------------------------------------------------------------


def test_search_metadata_index_by_visibility_and_trash(gouser: User, other_user: User) -> None:
    live = _created(_upload(gouser, noise_jpeg(7110), "idx_live.jpg"))
    arch = _created(_upload(gouser, noise_jpeg(7111), "idx_arch.jpg", archived=True))
    gone = _created(_upload(gouser, noise_jpeg(7112), "idx_gone.jpg"))
    r = gouser.client.request("DELETE", "/api/assets", json={"ids": [gone], "force": False})
    assert r.status_code == 204, r.text
    _created(_upload(other_user, noise_jpeg(7113), "idx_theirs.jpg"))

    found: dict[str, set[str]] = {}
    for visibility in ("archive", "timeline", "hidden"):
        base = {"withExif": True, "visibility": visibility, "order": "asc"}
        found[visibility] = {a["id"] for a in _search(gouser, base)}
        trash = {**base, "trashedAfter": "0001-01-01T00:00:00.000Z"}
        found[visibility + "+trash"] = {a["id"] for a in _search(gouser, trash)}
    assert live in found["timeline"] and live not in found["archive"]
    assert arch in found["archive"] and arch not in found["timeline"]
    assert gone not in found["timeline"] and gone in found["timeline+trash"]
    assert live not in found["timeline+trash"]
    everything = set().union(*found.values())
    assert {a["ownerId"] for a in _search(gouser, {"withDeleted": True})} == {gouser.id}
    assert {live, arch, gone} <= everything

    # the legacy form of GetAllAssets: isVisible (gone from the spec) is ignored
    legacy_query = {"withExif": True, "isVisible": True, "withDeleted": True}
    legacy = {a["id"] for a in _search(gouser, legacy_query)}
    assert {live, arch, gone} <= legacy

    # by checksum and by name (GetAssetsByHash / GetAssetsByImageName)
    by_hash = _search(gouser, {"withDeleted": True, "checksum": _b64_sha1(noise_jpeg(7110))})
    assert [a["id"] for a in by_hash] == [live]
    by_name = _search(gouser, {"withDeleted": True, "originalFileName": "idx_arch.jpg"})
    assert [a["id"] for a in by_name] == [arch]

    # pages: nextPage is a string while there is more
    r = gouser.client.post("/api/search/metadata", json={"page": 1, "size": 1, "withDeleted": True})
    assert r.status_code == 200, r.text
    assert r.json()["assets"]["nextPage"] == "2"
    paged = _search(gouser, {"size": 1, "withDeleted": True})
    assert len({a["id"] for a in paged}) == len(paged) >= 3


# --- albums ---------------------------------------------------------------------------------


def test_album_create_list_add_delete(gouser: User, other_user: User) -> None:
    a = _created(_upload(gouser, noise_jpeg(7120), "alb_a.jpg"))
    b = _created(_upload(gouser, noise_jpeg(7121), "alb_b.jpg"))
    stranger = _created(_upload(other_user, noise_jpeg(7122), "alb_x.jpg"))
    accept = {"Accept": "application/json"}
    api = gouser.client

    # an older immich-go sends its JSON chunked, with the encoder's trailing newline
    created = json.dumps({"albumName": "Trip 2019", "description": "", "assetIds": [a]})
    r = api.post(
        "/api/albums",
        content=_chunked((created + "\n").encode(), piece=16),
        headers={"Content-Type": "application/json", **accept},
    )
    assert r.status_code == 201, r.text
    album = r.json()
    assert UUID_RE.match(album["id"]) and album["albumName"] == "Trip 2019"
    _str_or_null(album, "description")

    r = api.get("/api/albums", headers=accept)
    assert r.status_code == 200, r.text
    assert album["id"] in {x["id"] for x in r.json()}
    r = api.get(f"/api/albums?assetId={a}", headers=accept)
    assert r.status_code == 200 and [x["id"] for x in r.json()] == [album["id"]], r.text

    for without in ("true", "false"):
        r = api.get(f"/api/albums/{album['id']}?withoutAssets={without}", headers=accept)
        assert r.status_code == 200, r.text
        content = r.json()
        assert content["albumName"] == "Trip 2019" and isinstance(content["shared"], bool)
        assert isinstance(content.get("assets", []), list)

    r = api.put(f"/api/albums/{album['id']}/assets", json={"ids": [a, b, stranger]}, headers=accept)
    assert r.status_code == 200, r.text
    results = {x["id"]: x for x in r.json()}
    assert results[b]["success"] is True
    assert results[a]["success"] is False and results[a]["error"] == "duplicate"
    assert results[stranger]["success"] is False and results[stranger]["error"] == "no_permission"

    theirs = other_user.client.put(f"/api/albums/{album['id']}/assets", json={"ids": [stranger]})
    assert theirs.status_code == 400, theirs.text
    assert isinstance(theirs.json()["message"], str)

    r = api.delete(f"/api/albums/{album['id']}")
    assert r.status_code == 204, r.text
    assert api.get(f"/api/albums/{album['id']}").status_code == 400


# --- stacks and tags ------------------------------------------------------------------------


def test_stack_and_tags(gouser: User, other_user: User) -> None:
    raw = _created(_upload(gouser, noise_jpeg(7130), "burst_0001.jpg"))
    jpg = _created(_upload(gouser, noise_jpeg(7131), "burst_0002.jpg"))
    stranger = _created(_upload(other_user, noise_jpeg(7132), "burst_x.jpg"))
    accept = {"Accept": "application/json"}
    api = gouser.client

    r = api.post("/api/stacks", json={"assetIds": [jpg, raw]}, headers=accept)
    assert r.status_code == 201, r.text
    stack = r.json()
    assert UUID_RE.match(stack["id"]) and stack["primaryAssetId"] == jpg

    session = "{immich-go}/2024-01-02 03:04:05"
    r = api.put("/api/tags", json={"tags": ["holidays/beach", session]}, headers=accept)
    assert r.status_code == 200, r.text
    upserted = {t["value"]: t for t in r.json()}
    assert set(upserted) == {"holidays/beach", session}, r.json()
    assert upserted["holidays/beach"]["name"] == "beach"
    beach = upserted["holidays/beach"]["id"]

    r = api.put(f"/api/tags/{beach}/assets", json={"ids": [raw, stranger]}, headers=accept)
    assert r.status_code == 200, r.text
    results = {x["id"]: x for x in r.json()}
    assert results[raw]["success"] is True
    assert results[stranger]["success"] is False and results[stranger]["error"] == "no_permission"

    r = api.put(
        "/api/tags/assets",
        json={"tagIds": [upserted[session]["id"]], "assetIds": [raw, jpg]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["count"] == 2

    r = api.get("/api/tags")
    assert r.status_code == 200, r.text
    values = {t["value"] for t in r.json()}
    assert {"holidays", "holidays/beach", session} <= values


# --- asset edits, copy, download, delete ----------------------------------------------------


def test_update_copy_download_delete(gouser: User) -> None:
    photo = noise_jpeg(7140)
    old = _created(_upload(gouser, photo, "upd.jpg"))
    new = _created(_upload(gouser, noise_jpeg(7141), "upd_better.jpg"))
    api = gouser.client

    r = api.put(
        f"/api/assets/{old}",
        json={
            "description": "From Google Photos",
            "rating": 4,
            "latitude": 48.8584,
            "longitude": 2.2945,
            "dateTimeOriginal": "2018-05-06T07:08:09Z",
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == old and body["checksum"] == _b64_sha1(photo)
    assert body["exifInfo"]["description"] == "From Google Photos"

    r = api.put(
        "/api/assets",
        json={
            "ids": [old],
            "isArchived": False,
            "isFavorite": True,
            "latitude": 48.8584,
            "longitude": 2.2945,
            "removeParent": False,
        },
    )
    assert r.status_code == 204, r.text
    assert api.get(f"/api/assets/{old}").json()["isFavorite"] is True

    r = api.put(
        "/api/assets/copy",
        json={
            "sourceId": old,
            "targetId": new,
            "albums": True,
            "favorite": True,
            "sharedLinks": True,
            "sidecar": True,
            "stack": True,
        },
    )
    assert r.status_code == 204, r.text
    assert api.get(f"/api/assets/{new}").json()["isFavorite"] is True

    r = api.get(f"/api/assets/{old}/original", headers={"Accept": "application/octet-stream"})
    assert r.status_code == 200 and r.content == photo

    r = api.request("DELETE", "/api/assets", json={"force": True, "ids": [old]})
    assert r.status_code == 204, r.text
    assert api.get(f"/api/assets/{old}").status_code == 400


# --- admin jobs, people, suggestions --------------------------------------------------------


def test_jobs_people_suggestions(gouser: User, admin: User) -> None:
    r = admin.client.get("/api/jobs", headers={"Accept": "application/json"})
    assert r.status_code == 200, r.text
    jobs = r.json()
    assert "storageTemplateMigration" in jobs
    for job in jobs.values():
        _int(job["jobCounts"], "active", "completed", "failed", "delayed", "waiting", "paused")
        assert isinstance(job["queueStatus"]["isActive"], bool)
        assert isinstance(job["queueStatus"]["isPaused"], bool)

    r = admin.client.put(
        "/api/jobs/storageTemplateMigration", json={"command": "start", "force": False}
    )
    assert r.status_code == 200, r.text
    _int(r.json()["jobCounts"], "active", "completed", "failed", "delayed", "waiting", "paused")

    refused = gouser.client.get("/api/jobs")
    assert refused.status_code == 403, refused.text
    assert isinstance(refused.json()["message"], str)

    r = gouser.client.get("/api/people", params={"page": 1, "size": 500})
    assert r.status_code == 200, r.text
    people = r.json()
    _int(people, "total", "hidden")
    assert isinstance(people["people"], list) and isinstance(people["hasNextPage"], bool)

    r = gouser.client.get("/api/search/suggestions", params={"type": "camera-make"})
    assert r.status_code == 200, r.text
    assert all(isinstance(s, str) for s in r.json())


# --- the API key immich-go documents --------------------------------------------------------

#: immich-go's ``RequiredUserPermissions`` (``immich/permissions.go``), less ``asset.replace``,
#: which Immich 3.1 no longer has (its API-key DTO refuses the name).
GO_PERMISSIONS = [
    "asset.read",
    "asset.statistics",
    "asset.update",
    "asset.upload",
    "asset.copy",
    "asset.delete",
    "asset.download",
    "album.create",
    "album.read",
    "albumAsset.create",
    "server.about",
    "stack.create",
    "tag.asset",
    "tag.create",
    "user.read",
]


def test_key_with_the_documented_permissions_runs_an_upload(stack: Stack, gouser: User) -> None:
    """Every call of an upload session passes with a key holding only the permissions immich-go
    documents (Immich's ``AuthGuard`` checks each route's ``x-immich-permission``)."""
    anon = httpx.Client(base_url=stack.url, timeout=60)
    login = anon.post("/api/auth/login", json={"email": gouser.email, "password": gouser.password})
    assert login.status_code == 201, login.text
    key = anon.post(
        "/api/api-keys",
        json={"name": "immich-go", "permissions": GO_PERMISSIONS},
        headers={"Authorization": f"Bearer {login.json()['accessToken']}"},
    )
    assert key.status_code == 201, key.text
    go = User(
        id=gouser.id,
        email=gouser.email,
        password=gouser.password,
        api_key=key.json()["secret"],
        client=httpx.Client(
            base_url=stack.url, headers={"x-api-key": key.json()["secret"]}, timeout=60
        ),
    )
    api = go.client
    for path in ("/api/users/me", "/api/server/about", "/api/assets/statistics"):
        assert api.get(path).status_code == 200, (path, api.get(path).text)
    assert _search(go, {"withExif": True, "visibility": "timeline", "order": "asc"}) is not None
    first = _created(_upload(go, noise_jpeg(7150), "perm_1.jpg"))
    second = _created(_upload(go, noise_jpeg(7151), "perm_2.jpg"))
    r = api.post("/api/albums", json={"albumName": "perm", "description": "", "assetIds": [first]})
    assert r.status_code == 201, r.text
    album = r.json()["id"]
    assert api.get(f"/api/albums?assetId={first}").status_code == 200
    r = api.put(f"/api/albums/{album}/assets", json={"ids": [second]})
    assert r.status_code == 200 and r.json()[0]["success"] is True, r.text
    r = api.post("/api/stacks", json={"assetIds": [first, second]})
    assert r.status_code == 201, r.text
    r = api.put("/api/tags", json={"tags": ["perm/tag"]})
    assert r.status_code == 200, r.text
    tag = r.json()[0]["id"]
    assert api.put(f"/api/tags/{tag}/assets", json={"ids": [first]}).status_code == 200
    r = api.put("/api/tags/assets", json={"tagIds": [tag], "assetIds": [second]})
    assert r.status_code == 200, r.text
    r = api.put(f"/api/assets/{first}", json={"description": "d", "rating": 2})
    assert r.status_code == 200, r.text
    r = api.put("/api/assets/copy", json={"sourceId": first, "targetId": second})
    assert r.status_code == 204, r.text
    assert api.get(f"/api/assets/{first}/original").status_code == 200
    r = api.request("DELETE", "/api/assets", json={"ids": [second], "force": False})
    assert r.status_code == 204, r.text
    # and no more: reading the tag list needs tag.read, which immich-go does not ask for
    assert api.get("/api/tags").status_code == 403
