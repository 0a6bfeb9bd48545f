"""The requests the Immich mobile app (Flutter, ``immich-app/immich`` ``mobile/``) makes outside
the sync stream and websockets, replayed over HTTP with a session token.

The app is not installed here: each test sends what its services and repositories send
(``mobile/lib/services``, ``mobile/lib/repositories``) and checks the answer the way its
generated OpenAPI client (``mobile/openapi/lib/model/*.dart``) decodes it. That client is strict:
a required field decodes as ``mapValueOfType<T>(json, key)!``, so a missing or null required
field, or one of another JSON type, throws; an ``integer`` must be a JSON integer (``1.0`` is a
Dart ``double``, not an ``int``); an enum decodes through its ``TypeTransformer``, which answers
null for an unknown value, and the ``!`` throws; a date-time must parse with
``DateTime.tryParse``. ``dart_decodes`` below walks a body against the Immich 3.1.0 spec
(shared/reference/immich-openapi-specs.json) with exactly those rules. Behaviours checked, with
the app source:

* server discovery (``api.service.dart`` ``resolveAndSetEndpoint``): ``GET /api/server/ping``
  (``pingServer``), then ``GET /.well-known/immich`` whose ``api.endpoint`` is joined to the
  base URL; ``server_info.service.dart``: ``GET /api/server/features``, ``/config``,
  ``/version``, ``/storage``; ``GET /api/server/media-types`` (the share intent's type check),
  ``GET /api/server/about``.
* login (``auth.service.dart``/``auth_api.repository.dart``): ``POST /api/auth/login`` with the
  ``deviceModel``/``deviceType`` headers (201 ``LoginResponseDto``); every later request carries
  the token in ``x-immich-user-token`` (``ApiService.getRequestHeaders``); ``POST
  /api/auth/validateToken``; ``GET /api/users/me``, ``/api/users/me/preferences``, ``GET
  /api/users``, ``GET /api/auth/status``; ``POST /api/auth/logout`` ends the session (the token
  is then refused with 401, which sends the app back to the login page). The session it
  makes should describe the phone (``GET /api/sessions``: ``deviceType`` from the
  ``devicemodel`` header, ``deviceOS`` from ``devicetype``, ``appVersion`` from the User-Agent
  ``immich-ios/<version>``, as Immich's ``getUserAgentDetails``): Darkroom does not yet, marked
  xfail (strict) until ``domain/auth.py`` does.
* backup (``foreground_upload.service.dart`` ``uploadSingleAsset``, ``upload.repository.dart``
  ``uploadFile``, ``upload.service.dart`` ``buildUploadTask`` for the background uploader):
  ``POST /api/assets`` multipart ``assetData`` plus ``deviceAssetId``, ``deviceId``,
  ``fileCreatedAt``/``fileModifiedAt`` (Dart ``toIso8601String`` of a UTC time: microseconds
  and ``Z``), ``isFavorite``, ``duration`` (milliseconds, ``"0"`` for a photo); the background
  task also sends ``filename`` (the original name) while its file part is named after the cached
  file; 200 and 201 are both success and the app reads ``id`` from the body. iOS live photos:
  the motion part goes first with ``visibility=hidden``, then the still with
  ``livePhotoVideoId`` and ``metadata`` (``[{key: "mobile-app", value: {cloudId, ...}}]``).
  ``POST /api/assets/bulk-upload-check`` ``{assets: [{id, checksum}]}`` (the backup's
  duplicate check): ``accept``, or ``reject`` with ``reason: duplicate``, ``assetId`` and
  ``isTrashed``. The native iOS uploader (``mobile/ios/Runner/Upload/AssetData.swift``) writes
  its own multipart body: an empty ``deviceAssetId``, seconds-only dates, no ``duration``.
* asset actions (``asset_api.repository.dart``, ``action.service.dart``): ``PUT /api/assets``
  with ``isFavorite``, ``visibility`` (``archive``/``timeline``/``locked``),
  ``dateTimeOriginal``, ``latitude``/``longitude`` (204); ``PUT /api/assets/{id}`` with
  ``description``/``rating`` (an ``AssetResponseDto``); ``DELETE /api/assets`` ``{ids, force}``;
  ``POST /api/trash/restore/assets``, ``/api/trash/empty``, ``/api/trash/restore``
  (``TrashResponseDto``); ``POST /api/stacks`` / ``DELETE /api/stacks``; ``POST
  /api/shared-links`` (``shared_link.service.dart``: ``INDIVIDUAL`` with ``assetIds``, or
  ``ALBUM``); ``GET /api/assets/{id}/original?edited=``.
* locked folder (``auth.service.dart``, ``local_auth``): ``POST /api/auth/pin-code``, ``POST
  /api/auth/session/unlock``, move to ``locked``, ``GET /api/auth/status``, ``POST
  /api/auth/session/lock``.
* albums (``album_api.repository.dart``, ``drift_album_api_repository.dart``): create with
  ``albumUsers``, list owned and ``shared=true``, get one, add/remove assets
  (``BulkIdResponseDto`` with its ``error`` enum), ``PATCH`` name/description/order/activity,
  add users, change role, leave with ``me``, delete; activities (``activity.service.dart``).
* people, memories, map, search, partners, tags, folders: ``GET /api/people``, ``PUT
  /api/people/{id}``, ``GET /api/faces?id=``; ``GET /api/memories?for=``; ``GET
  /api/map/markers`` with the app's filters; ``POST /api/search/metadata`` /
  ``/api/search/smart`` (``search_api.repository.dart``), ``GET /api/search/explore``,
  ``/suggestions``, ``/person``, ``/places``; ``/api/partners``; ``GET /api/tags``; ``GET
  /api/view/folder/unique-paths`` and ``/api/view/folder``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user, noise_jpeg, wait_processed

SPEC = Path(__file__).resolve().parents[2] / "shared" / "reference" / "immich-openapi-specs.json"
#: What ``DateTime.tryParse`` accepts (Dart's ``_parseFormat``), less the rarely used forms.
DART_DATE = re.compile(
    r"^[+-]?\d{4,6}-?\d\d-?\d\d(?:[ T]\d\d(?::?\d\d(?::?\d\d(?:[.,]\d+)?)?)?"
    r"(?:\s*(?:Z|z|[+-]\d\d(?::?\d\d)?))?)?$"
)
#: The headers the app's login adds (``auth_api.repository.dart``/``api.service.dart``
#: ``setDeviceInfoHeader``).
DEVICE_HEADERS = {"deviceModel": "iPhone15,2", "deviceType": "iOS"}


# --- the generated client's decoding rules ---------------------------------------------------


@cache
def _spec() -> dict[str, Any]:
    if not SPEC.exists():
        pytest.skip(f"{SPEC} is absent")
    return json.loads(SPEC.read_text())  # type: ignore[no-any-return]


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = _spec()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def dart_decodes(value: Any, schema: dict[str, Any], where: str = "$") -> list[str]:
    """Why the app's generated Dart model would fail to decode ``value`` (empty: it decodes).

    Rules of the generated ``fromJson`` (openapi-generator's dart template as Immich ships it):
    required and non-nullable -> present, non-null and of its JSON type; ``integer`` -> a JSON
    integer; ``number`` -> any JSON number; enums -> one of the spec's values; ``date-time`` /
    ``date`` -> a string ``DateTime.tryParse`` reads. Optional fields of the wrong type are
    reported too (the client silently drops them: the app then misses the value).
    """
    nullable = bool(schema.get("nullable"))
    if "allOf" in schema:
        nullable = nullable or any(_resolve(s).get("nullable") for s in schema["allOf"])
        if value is None:
            return [] if nullable else [f"{where}: null"]
        return [p for s in schema["allOf"] for p in dart_decodes(value, s, where)]
    for key in ("oneOf", "anyOf"):
        if key in schema:
            if value is None and nullable:
                return []
            tries = [dart_decodes(value, s, where) for s in schema[key]]
            return [] if any(not t for t in tries) else tries[0]
    schema = _resolve(schema)
    nullable = nullable or bool(schema.get("nullable"))
    if value is None:
        return [] if nullable else [f"{where}: null"]
    kind = schema.get("type")
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: {value!r} not in {schema['enum']}"]
    if kind == "string":
        if not isinstance(value, str):
            return [f"{where}: {value!r} is not a string"]
        if schema.get("format") in ("date-time", "date") and not DART_DATE.match(value):
            return [f"{where}: {value!r} is not a Dart DateTime"]
        return []
    if kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return [] if ok else [f"{where}: {value!r} is not a JSON integer"]
    if kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return [] if ok else [f"{where}: {value!r} is not a number"]
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{where}: {value!r} is not a boolean"]
    if kind == "array":
        if not isinstance(value, list):
            return [f"{where}: {type(value).__name__} is not a list"]
        items = schema.get("items", {})
        return [p for i, v in enumerate(value) for p in dart_decodes(v, items, f"{where}[{i}]")]
    if kind == "object" or "properties" in schema:
        if not isinstance(value, dict):
            return [f"{where}: {type(value).__name__} is not an object"]
        problems: list[str] = []
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                problems.append(f"{where}.{name}: required, missing")
        required = set(schema.get("required", []))
        for name, sub in props.items():
            # an optional field sent as null decodes as absent (``mapValueOfType`` -> null)
            if name in value and (name in required or value[name] is not None):
                problems += dart_decodes(value[name], sub, f"{where}.{name}")
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            for name, v in value.items():
                if name not in props:
                    problems += dart_decodes(v, extra, f"{where}.{name}")
        return problems
    return []


def _operation(method: str, path: str) -> dict[str, Any]:
    """The spec's operation for ``method`` on a concrete ``/api/...`` ``path``."""
    bare = path.split("?", 1)[0].removeprefix("/api")
    for template, ops in _spec()["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, bare) and method.lower() in ops:
            # a literal segment beats a parameter (/albums/statistics over /albums/{id})
            if "{" not in template or not any(
                re.fullmatch(t, bare) for t in _spec()["paths"] if "{" not in t
            ):
                return ops[method.lower()]  # type: ignore[no-any-return]
    raise AssertionError(f"{method} {path} is not in the spec")


def app_call(
    client: httpx.Client, method: str, path: str, *, status: int | None = None, **kw: Any
) -> Any:
    """Send one request as the app does and check the answer decodes as its client decodes it:
    the spec's success status (or ``status``) and a body its model accepts. The body, parsed."""
    op = _operation(method, path)
    r = client.request(method, path, **kw)
    expected = status or int(next(c for c in op["responses"] if c.startswith("2")))
    assert r.status_code == expected, (method, path, r.status_code, r.text)
    content = op["responses"].get(str(expected), {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is None:
        return None
    body = r.json()
    problems = dart_decodes(body, schema)
    assert not problems, (method, path, problems[:10])
    return body


# --- fixtures --------------------------------------------------------------------------------


def _login(stack: Stack, user: User) -> httpx.Client:
    """``POST /api/auth/login`` as the app sends it; a client that then sends the token as the
    app does (``x-immich-user-token``), not an API key."""
    anon = httpx.Client(base_url=stack.url, timeout=60)
    body = app_call(
        anon,
        "POST",
        "/api/auth/login",
        json={"email": user.email, "password": user.password},
        headers=DEVICE_HEADERS,
    )
    assert body["userId"] == user.id and body["accessToken"], body
    anon.headers["x-immich-user-token"] = body["accessToken"]
    return anon


@pytest.fixture(scope="module")
def me(stack: Stack, admin: User) -> User:
    """The phone's user (a fresh one, so counts and lists are this module's)."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def friend(stack: Stack, admin: User) -> User:
    """A second user: album member, partner."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def phone(stack: Stack, me: User) -> Iterator[httpx.Client]:
    client = _login(stack, me)
    yield client
    client.close()


def _iso(moment: datetime) -> str:
    """Dart's ``DateTime.toUtc().toIso8601String()``: microseconds and ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _b64_sha1(data: bytes) -> str:
    return base64.b64encode(hashlib.sha1(data).digest()).decode()  # noqa: S324 - Immich's hash


def _backup(
    phone: httpx.Client,
    data: bytes,
    name: str,
    *,
    part_name: str | None = None,
    status: int = 201,
    **extra: str,
) -> dict[str, Any]:
    """``POST /api/assets`` with the fields ``uploadSingleAsset`` builds (``extra`` adds the
    background task's ``filename``, ``visibility``, ``livePhotoVideoId``, ``metadata``)."""
    fields = {
        "deviceAssetId": f"local-{uuid.uuid4()}",
        "deviceId": "app-device-1",
        "fileCreatedAt": _iso(datetime(2021, 7, 3, 9, 30, 15, 123456, tzinfo=UTC)),
        "fileModifiedAt": _iso(datetime(2021, 7, 3, 9, 30, 15, 123456, tzinfo=UTC)),
        "isFavorite": "false",
        "duration": "0",
        **extra,
    }
    files = {"assetData": (part_name or name, data, "application/octet-stream")}
    body = app_call(phone, "POST", "/api/assets", status=status, data=fields, files=files)
    assert body["status"] == ("created" if status == 201 else "duplicate"), body
    return body  # type: ignore[no-any-return]


def _clip(path: Path, seed: int) -> bytes:
    """A short H.264 MOV, a live photo's motion part."""
    with av.open(str(path), "w", format="mov") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        stream.time_base = Fraction(1, 10)
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(
                np.full((64, 64, 3), (seed * 40 + i * 9) % 255, dtype=np.uint8), format="rgb24"
            )
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path.read_bytes()


@pytest.fixture(scope="module")
def photos(phone: httpx.Client, me: User) -> list[str]:
    """Six photos backed up as the app backs them up, processed."""
    ids = [_backup(phone, noise_jpeg(9100 + i), f"IMG_{i:04}.JPG")["id"] for i in range(6)]
    wait_processed(me, ids)
    return ids


def _asset(phone: httpx.Client, asset_id: str) -> dict[str, Any]:
    return app_call(phone, "GET", f"/api/assets/{asset_id}")  # type: ignore[no-any-return]


# --- discovery and login ---------------------------------------------------------------------


def test_server_discovery_before_login(stack: Stack, admin: User) -> None:
    anon = httpx.Client(base_url=stack.url, timeout=60)
    assert app_call(anon, "GET", "/api/server/ping") == {"res": "pong"}
    r = anon.get("/.well-known/immich", headers={"Accept": "application/json"})
    assert r.status_code == 200, r.text
    endpoint = r.json()["api"]["endpoint"]
    assert endpoint == "/api", endpoint  # joined to the base URL by _getWellKnownEndpoint
    features = app_call(anon, "GET", "/api/server/features")
    assert features["passwordLogin"] is True
    config = app_call(anon, "GET", "/api/server/config")
    assert config["isInitialized"] is True
    version = app_call(anon, "GET", "/api/server/version")
    # the app gates newer endpoints on this (openapi ApiVersion): Immich 3.x
    assert version["major"] == 3, version
    types = app_call(anon, "GET", "/api/server/media-types")
    assert ".jpg" in types["image"] and ".mov" in types["video"], types


def test_login_session_token_and_logout(stack: Stack, me: User, phone: httpx.Client) -> None:
    assert app_call(phone, "POST", "/api/auth/validateToken") == {"authStatus": True}
    user = app_call(phone, "GET", "/api/users/me")
    assert user["id"] == me.id and user["email"] == me.email
    app_call(phone, "GET", "/api/users/me/preferences")
    users = app_call(phone, "GET", "/api/users")
    assert me.id in {u["id"] for u in users}
    status = app_call(phone, "GET", "/api/auth/status")
    assert status["password"] is True and status["isElevated"] is False
    app_call(phone, "GET", "/api/server/storage")
    app_call(phone, "GET", "/api/server/about")
    # a second phone logs in and out: its token is then refused (the app shows the login page)
    other = _login(stack, me)
    out = app_call(other, "POST", "/api/auth/logout")
    assert out["successful"] is True, out
    assert other.post("/api/auth/validateToken").status_code == 401
    assert app_call(phone, "POST", "/api/auth/validateToken") == {"authStatus": True}


def test_login_session_describes_the_phone(stack: Stack, me: User, phone: httpx.Client) -> None:
    """Immich (``utils/request.ts`` ``getUserAgentDetails``, used by ``AuthService.login``):
    ``deviceType`` is the parsed browser or device type, else the ``devicemodel`` header;
    ``deviceOS`` the parsed OS, else the ``devicetype`` header; ``appVersion`` is read from the
    app's User-Agent (``immich-ios/<version>``, ``mobile/lib/utils/user_agent.dart``)."""
    with httpx.Client(
        base_url=stack.url, timeout=60, headers={"User-Agent": "immich-ios/3.1.0"}
    ) as client:
        r = client.post(
            "/api/auth/login",
            json={"email": me.email, "password": me.password},
            headers=DEVICE_HEADERS,
        )
        assert r.status_code == 201, r.text
        client.headers["x-immich-user-token"] = r.json()["accessToken"]
        current = next(s for s in app_call(client, "GET", "/api/sessions") if s["current"])
    assert (current["deviceType"], current["deviceOS"], current["appVersion"]) == (
        "iPhone15,2",
        "iOS",
        "3.1.0",
    ), current


# --- backup ----------------------------------------------------------------------------------


def test_backup_check_upload_duplicate_and_trashed(me: User, phone: httpx.Client) -> None:
    data = noise_jpeg(9200)
    check = {"assets": [{"id": "local-a", "checksum": _b64_sha1(data)}]}
    result = app_call(phone, "POST", "/api/assets/bulk-upload-check", json=check)
    assert result["results"] == [{"id": "local-a", "action": "accept"}], result
    first = _backup(phone, data, "IMG_9200.JPG")
    again = _backup(phone, data, "IMG_9200.JPG", status=200)
    assert again["id"] == first["id"]
    result = app_call(phone, "POST", "/api/assets/bulk-upload-check", json=check)["results"][0]
    assert result["action"] == "reject" and result["reason"] == "duplicate", result
    assert result["assetId"] == first["id"] and result["isTrashed"] is False, result
    app_call(phone, "DELETE", "/api/assets", json={"ids": [first["id"]], "force": False})
    result = app_call(phone, "POST", "/api/assets/bulk-upload-check", json=check)["results"][0]
    assert result["assetId"] == first["id"] and result["isTrashed"] is True, result


def test_background_upload_names_the_asset_from_the_filename_field(
    me: User, phone: httpx.Client
) -> None:
    """The background task's file part is the cached file; ``filename`` is the real name."""
    body = _backup(
        phone,
        noise_jpeg(9201),
        "IMG_9201.JPG",
        part_name="8F3A2C1B-cache.jpg",
        filename="IMG_9201.JPG",
    )
    asset = _asset(phone, body["id"])
    assert asset["originalFileName"] == "IMG_9201.JPG", asset["originalFileName"]
    assert asset["type"] == "IMAGE"
    assert asset["fileCreatedAt"].startswith("2021-07-03T09:30:15.123"), asset["fileCreatedAt"]


def test_native_ios_uploader_body(me: User, phone: httpx.Client) -> None:
    """``AssetData.multipart()`` + ``UploadQueue.startUpload``: a hand-written multipart body
    (boundary ``Boundary-<UUID>``), the token in ``X-Immich-User-Token``; 200/201 read as
    ``UploadSuccessResponse`` (``id``)."""
    data = noise_jpeg(9777)
    boundary = f"Boundary-{uuid.uuid4()}".upper()
    fields = {
        "deviceAssetId": "",
        "deviceId": "app-device-1",
        "fileCreatedAt": "2021-07-03T09:30:15Z",
        "fileModifiedAt": "2021-07-03T09:30:15Z",
        "isFavorite": "true",
    }
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    )
    body += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="assetData"; '
        'filename="IMG_7777.JPG"\r\nContent-Type: application/octet-stream\r\n\r\n'
    ).encode()
    body += data + f"\r\n--{boundary}--\r\n".encode()
    created = app_call(
        phone,
        "POST",
        "/api/assets",
        status=201,
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    asset = _asset(phone, created["id"])
    assert asset["isFavorite"] is True and asset["originalFileName"] == "IMG_7777.JPG", asset


def test_ios_live_photo_motion_first_then_still(
    me: User, phone: httpx.Client, tmp_path: Path
) -> None:
    video = _backup(
        phone,
        _clip(tmp_path / "live.mov", 3),
        "IMG_9300.MOV",
        visibility="hidden",
        duration="500",
    )
    cloud = {"cloudId": "A1B2C3D4-0001", "createdAt": "2021-07-03T09:30:15.123456"}
    still = _backup(
        phone,
        noise_jpeg(9300),
        "IMG_9300.HEIC.JPG",
        livePhotoVideoId=video["id"],
        metadata=json.dumps([{"key": "mobile-app", "value": cloud}]),
    )
    asset = _asset(phone, still["id"])
    assert asset["livePhotoVideoId"] == video["id"], asset
    motion = _asset(phone, video["id"])
    assert motion["visibility"] == "hidden" and motion["type"] == "VIDEO", motion
    items = app_call(phone, "GET", f"/api/assets/{still['id']}/metadata")
    assert {"key": "mobile-app", "value": cloud} in [
        {"key": i["key"], "value": i["value"]} for i in items
    ], items


# --- asset actions ---------------------------------------------------------------------------


def test_favorite_archive_date_location_description_rating(
    phone: httpx.Client, photos: list[str]
) -> None:
    a, b = photos[0], photos[1]
    app_call(phone, "PUT", "/api/assets", json={"ids": [a, b], "isFavorite": True})
    assert _asset(phone, a)["isFavorite"] is True
    app_call(phone, "PUT", "/api/assets", json={"ids": [b], "visibility": "archive"})
    assert _asset(phone, b)["visibility"] == "archive"
    app_call(phone, "PUT", "/api/assets", json={"ids": [b], "visibility": "timeline"})
    # the date picker sends a local time with its offset (``DateTime.toIso8601String`` + offset)
    taken = "2019-05-04T18:20:00.000+02:00"
    app_call(phone, "PUT", "/api/assets", json={"ids": [a], "dateTimeOriginal": taken})
    app_call(
        phone, "PUT", "/api/assets", json={"ids": [a], "latitude": 48.8566, "longitude": 2.3522}
    )
    got = _asset(phone, a)
    assert got["exifInfo"]["latitude"] == pytest.approx(48.8566), got["exifInfo"]
    assert got["localDateTime"].startswith("2019-05-04T18:20:00"), got["localDateTime"]
    described = app_call(phone, "PUT", f"/api/assets/{a}", json={"description": "a café"})
    assert described["exifInfo"]["description"] == "a café"
    rated = app_call(phone, "PUT", f"/api/assets/{a}", json={"rating": 4})
    assert rated["exifInfo"]["rating"] == 4, rated["exifInfo"]
    r = phone.get(f"/api/assets/{a}/original", params={"edited": "true"})
    assert r.status_code == 200 and r.content[:2] == b"\xff\xd8", r.status_code


def test_markers_after_the_app_sets_a_location(phone: httpx.Client, photos: list[str]) -> None:
    c = photos[2]
    app_call(
        phone, "PUT", "/api/assets", json={"ids": [c], "latitude": 35.6762, "longitude": 139.65}
    )
    markers = app_call(
        phone,
        "GET",
        "/api/map/markers",
        params={"withPartners": "false", "withSharedAlbums": "false", "isArchived": "false"},
    )
    mine = [m for m in markers if m["id"] == c]
    assert mine and mine[0]["lat"] == pytest.approx(35.6762), markers
    after = app_call(
        phone,
        "GET",
        "/api/map/markers",
        params={"isFavorite": "false", "fileCreatedAfter": "2000-01-01T00:00:00.000Z"},
    )
    assert c in {m["id"] for m in after}


def test_stack_share_link_trash_restore_empty(phone: httpx.Client, photos: list[str]) -> None:
    a, b, c = photos[3], photos[4], photos[5]
    stack = app_call(phone, "POST", "/api/stacks", json={"assetIds": [a, b]})
    assert stack["primaryAssetId"] == a and {x["id"] for x in stack["assets"]} == {a, b}
    assert _asset(phone, a)["stack"]["assetCount"] == 2
    app_call(phone, "DELETE", "/api/stacks", json={"ids": [stack["id"]]})
    assert _asset(phone, a).get("stack") is None

    link = app_call(
        phone,
        "POST",
        "/api/shared-links",
        json={
            "type": "INDIVIDUAL",
            "assetIds": [a],
            "allowDownload": True,
            "allowUpload": False,
            "showMetadata": True,
            "description": "from the phone",
            "expiresAt": "2099-01-01T00:00:00.000Z",
        },
    )
    assert link["type"] == "INDIVIDUAL" and [x["id"] for x in link["assets"]] == [a]
    assert link["id"] in {x["id"] for x in app_call(phone, "GET", "/api/shared-links")}
    app_call(phone, "DELETE", f"/api/shared-links/{link['id']}")

    app_call(phone, "DELETE", "/api/assets", json={"ids": [c], "force": False})
    assert _asset(phone, c)["isTrashed"] is True
    assert app_call(phone, "POST", "/api/trash/restore/assets", json={"ids": [c]}) == {"count": 1}
    assert _asset(phone, c)["isTrashed"] is False
    app_call(phone, "DELETE", "/api/assets", json={"ids": [c], "force": False})
    assert app_call(phone, "POST", "/api/trash/restore")["count"] >= 1
    assert _asset(phone, c)["isTrashed"] is False


def test_locked_folder(stack: Stack, me: User, phone: httpx.Client, photos: list[str]) -> None:
    app_call(phone, "POST", "/api/auth/pin-code", json={"pinCode": "123456"})
    app_call(phone, "POST", "/api/auth/session/unlock", json={"pinCode": "123456"})
    status = app_call(phone, "GET", "/api/auth/status")
    assert status["pinCode"] is True and status["isElevated"] is True, status
    locked = photos[5]
    app_call(phone, "PUT", "/api/assets", json={"ids": [locked], "visibility": "locked"})
    assert _asset(phone, locked)["visibility"] == "locked"
    app_call(phone, "PUT", "/api/assets", json={"ids": [locked], "visibility": "timeline"})
    app_call(phone, "POST", "/api/auth/session/lock")
    assert app_call(phone, "GET", "/api/auth/status")["isElevated"] is False


# --- albums ----------------------------------------------------------------------------------


def test_album_lifecycle(
    stack: Stack, friend: User, phone: httpx.Client, photos: list[str]
) -> None:
    album = app_call(
        phone,
        "POST",
        "/api/albums",
        json={
            "albumName": "Trip",
            "assetIds": photos[:2],
            "albumUsers": [{"userId": friend.id, "role": "editor"}],
        },
    )
    aid = album["id"]
    roles = {(u["user"]["id"], u["role"]) for u in album["albumUsers"]}
    assert album["assetCount"] == 2 and (friend.id, "editor") in roles, album
    assert aid in {x["id"] for x in app_call(phone, "GET", "/api/albums")}
    assert aid in {x["id"] for x in app_call(phone, "GET", "/api/albums?shared=true")}
    got = app_call(phone, "GET", f"/api/albums/{aid}")
    assert got["assetCount"] == 2 and got["shared"] is True, got
    added = app_call(phone, "PUT", f"/api/albums/{aid}/assets", json={"ids": photos[1:3]})
    assert {(x["id"], x["success"], x.get("error")) for x in added} == {
        (photos[1], False, "duplicate"),
        (photos[2], True, None),
    }, added
    removed = app_call(phone, "DELETE", f"/api/albums/{aid}/assets", json={"ids": [photos[2]]})
    assert removed == [{"id": photos[2], "success": True}], removed
    patched = app_call(
        phone,
        "PATCH",
        f"/api/albums/{aid}",
        json={"albumName": "Trip 2", "description": "d", "isActivityEnabled": True, "order": "asc"},
    )
    assert patched["albumName"] == "Trip 2" and patched["order"] == "asc", patched
    comment = app_call(
        phone,
        "POST",
        "/api/activities",
        json={"albumId": aid, "assetId": photos[0], "type": "comment", "comment": "nice"},
    )
    assert comment["type"] == "comment" and comment["user"]["id"], comment
    app_call(phone, "POST", "/api/activities", json={"albumId": aid, "type": "like"})
    listed = app_call(phone, "GET", "/api/activities", params={"albumId": aid})
    assert {x["type"] for x in listed} == {"comment", "like"}, listed
    stats = app_call(phone, "GET", "/api/activities/statistics", params={"albumId": aid})
    assert stats["comments"] == 1, stats
    app_call(
        phone, "PUT", f"/api/albums/{aid}/user/{friend.id}", json={"role": "viewer"}, status=204
    )
    friend_phone = _login(stack, friend)
    shared = app_call(friend_phone, "GET", "/api/albums?shared=true")
    assert aid in {x["id"] for x in shared}
    app_call(friend_phone, "DELETE", f"/api/albums/{aid}/user/me")
    assert aid not in {x["id"] for x in app_call(friend_phone, "GET", "/api/albums?shared=true")}
    app_call(phone, "GET", "/api/albums/statistics")
    app_call(phone, "DELETE", f"/api/albums/{aid}")


# --- people, memories, search, partners, tags, folders ---------------------------------------


def test_people_and_faces(phone: httpx.Client, photos: list[str]) -> None:
    person = app_call(phone, "POST", "/api/people", json={"name": "Ann"})
    pid = person["id"]
    updated = app_call(
        phone, "PUT", f"/api/people/{pid}", json={"name": "Anne", "birthDate": "1990-02-03"}
    )
    assert updated["name"] == "Anne" and updated["birthDate"] == "1990-02-03", updated
    # a person without faces is left out of the list, as Immich's getAllForUser joins faces
    app_call(phone, "GET", "/api/people", params={"withHidden": "false"})
    app_call(phone, "GET", f"/api/people/{pid}")
    app_call(phone, "GET", f"/api/people/{pid}/statistics")
    app_call(phone, "GET", "/api/faces", params={"id": photos[0]})


def test_memories_for_today(phone: httpx.Client, photos: list[str]) -> None:
    today = date.today()
    made = app_call(
        phone,
        "POST",
        "/api/memories",
        json={
            "type": "on_this_day",
            "data": {"year": today.year - 3},
            "memoryAt": f"{today.year - 3}-{today:%m-%d}T00:00:00.000Z",
            "assetIds": [photos[0]],
        },
    )
    memories = app_call(phone, "GET", "/api/memories", params={"for": today.isoformat()})
    assert made["id"] in {m["id"] for m in memories}, memories
    saved = app_call(phone, "PUT", f"/api/memories/{made['id']}", json={"isSaved": True})
    assert saved["isSaved"] is True


def test_search_as_the_app_searches(phone: httpx.Client, photos: list[str]) -> None:
    found = app_call(
        phone,
        "POST",
        "/api/search/metadata",
        json={"originalFileName": "IMG_0003", "page": 1, "size": 100, "withExif": True},
    )
    assert [x["id"] for x in found["assets"]["items"]] == [photos[3]], found["assets"]
    page = app_call(
        phone,
        "POST",
        "/api/search/metadata",
        json={"type": "IMAGE", "isFavorite": False, "visibility": "timeline", "size": 2},
    )
    assert page["assets"]["nextPage"] == "2", page["assets"]["nextPage"]
    # a Dart client of the 3.x spec may send its nullable filters as explicit nulls
    nulls = dict.fromkeys(["city", "state", "country", "make", "model", "lensModel"])
    app_call(phone, "POST", "/api/search/metadata", json={**nulls, "personIds": [], "size": 10})
    app_call(phone, "GET", "/api/search/explore")
    for kind in ("country", "state", "city", "camera-make", "camera-model"):
        app_call(phone, "GET", "/api/search/suggestions", params={"type": kind})
    app_call(phone, "GET", "/api/search/person", params={"name": "An"})
    app_call(phone, "GET", "/api/search/places", params={"name": "Par"})
    features = app_call(phone, "GET", "/api/server/features")
    smart = phone.post("/api/search/smart", json={"query": "a dog", "page": 1, "size": 50})
    # the app offers smart search only when the server says it has it
    assert (smart.status_code == 200) == features["smartSearch"], (smart.text, features)


def test_partners_tags_folders(stack: Stack, me: User, friend: User, phone: httpx.Client) -> None:
    partner = app_call(phone, "POST", "/api/partners", json={"sharedWithId": friend.id})
    assert partner["id"] == friend.id
    shared_by = app_call(phone, "GET", "/api/partners", params={"direction": "shared-by"})
    assert friend.id in {p["id"] for p in shared_by}
    friend_phone = _login(stack, friend)
    shared_with = app_call(
        friend_phone, "GET", "/api/partners", params={"direction": "shared-with"}
    )
    assert me.id in {p["id"] for p in shared_with}
    shown = app_call(friend_phone, "PUT", f"/api/partners/{me.id}", json={"inTimeline": True})
    assert shown["inTimeline"] is True, shown
    app_call(phone, "DELETE", f"/api/partners/{friend.id}")
    app_call(phone, "GET", "/api/tags")
    paths = app_call(phone, "GET", "/api/view/folder/unique-paths")
    if paths:
        app_call(phone, "GET", "/api/view/folder", params={"path": paths[0]})
