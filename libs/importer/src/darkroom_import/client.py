"""The calls of the public Immich API (3.x) the importer makes, over httpx with an API key.

Only operations any Immich or Darkroom server serves: ``GET /api/server/media-types``,
``GET /api/users/me``, ``POST /api/assets/bulk-upload-check``, ``POST /api/assets`` (multipart,
with the ``x-immich-checksum`` header), ``PUT /api/assets/{id}``, ``GET /api/albums``,
``POST /api/albums`` and ``PUT /api/albums/{id}/assets``, as @immich/cli and immich-go use them.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

import httpx
from tenacity import (
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

#: Most asset ids one ``PUT /api/albums/{id}/assets`` carries.
ALBUM_BATCH = 500

#: Statuses that mean "not now": the server is busy or a dependency is restarting (Darkroom
#: answers 503 with Retry-After while its ingest is down).
TRANSIENT = frozenset({429, 502, 503, 504})

#: Attempts of one call before its item fails (waits 1, 2, 4, 8 s between, at most 30 s).
ATTEMPTS = 5


class ApiError(Exception):
    """The server refused a call; the message is its ``message`` (Immich's error body)."""


class TransientError(ApiError):
    """The server could not answer now (:data:`TRANSIENT`); the call is retried."""


@dataclass(frozen=True)
class Uploaded:
    """The outcome of one upload.

    Attributes:
        asset_id: the new asset's id, or the existing one's for a duplicate.
        duplicate: the server already had a file with these bytes.
    """

    asset_id: str
    duplicate: bool


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    message = body.get("message") if isinstance(body, dict) else None
    if isinstance(message, list):
        message = "; ".join(str(m) for m in message)
    return f"HTTP {response.status_code}: {message or response.reason_phrase}"


def _check(response: httpx.Response) -> httpx.Response:
    if response.status_code in TRANSIENT:
        raise TransientError(_message(response))
    if response.status_code >= 400:
        raise ApiError(_message(response))
    return response


class ImmichClient:
    """A thin client of the Immich API.

    Args:
        server: the server's base URL (``http://host:2283``; a trailing ``/api`` is accepted).
        api_key: an API key with the ``asset.upload``, ``asset.update``, ``album.create``,
            ``album.read`` and ``albumAsset.create`` permissions (or ``all``).
        timeout: seconds per request (an upload of a large video may need more).
        transport: an httpx transport (tests); None for the network.
    """

    def __init__(
        self,
        server: str,
        api_key: str,
        *,
        timeout: float = 300.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        base = server.rstrip("/")
        base = base[: -len("/api")] if base.endswith("/api") else base
        self.http = httpx.Client(
            base_url=base,
            headers={"x-api-key": api_key, "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        """Close the connections."""
        self.http.close()

    @retry(
        retry=retry_if_exception_type((httpx.TransportError, TransientError)),
        stop=stop_after_attempt(ATTEMPTS),
        wait=wait_exponential(multiplier=1, max=30),
        reraise=True,
    )
    def _call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One request, retried on a lost connection or a transient status (httpx seeks a
        file part back to its start on each attempt).

        Raises:
            ApiError: The server refused the call, or kept failing (:data:`ATTEMPTS` tries).
            httpx.TransportError: The server stayed unreachable.
        """
        return _check(self.http.request(method, url, **kwargs))

    def whoami(self) -> dict[str, Any]:
        """The key's user (``GET /api/users/me``); checks the key.

        Raises:
            ApiError: The server refused the key (401) or is not an Immich API.
        """
        return dict(self._call("GET", "/api/users/me").json())

    def media_types(self) -> tuple[frozenset[str], frozenset[str]]:
        """The image and the video extensions the server accepts (``.jpg``, ``.mp4``...),
        lower case."""
        body = self._call("GET", "/api/server/media-types").json()
        return (
            frozenset(e.lower() for e in body.get("image", [])),
            frozenset(e.lower() for e in body.get("video", [])),
        )

    def existing(self, sha1: bytes) -> str | None:
        """The caller's asset with these bytes (``bulk-upload-check``), or None."""
        checksum = base64.b64encode(sha1).decode()
        body = self._call(
            "POST",
            "/api/assets/bulk-upload-check",
            json={"assets": [{"id": "takeout", "checksum": checksum}]},
        ).json()
        result = body["results"][0]
        if result.get("action") == "reject" and result.get("assetId"):
            return str(result["assetId"])
        return None

    def upload(
        self,
        data: IO[bytes],
        *,
        file_name: str,
        sha1: bytes,
        device_asset_id: str,
        created_at: datetime,
        modified_at: datetime,
        is_favorite: bool,
    ) -> Uploaded:
        """``POST /api/assets`` (multipart) as @immich/cli sends it.

        Args:
            data: the file's bytes, at offset 0.
            file_name: the name the asset keeps (``originalFileName``).
            sha1: its SHA-1 (the ``x-immich-checksum`` header, so a duplicate is answered
                without storing it again).
            device_asset_id: a stable id of the file on this "device".
            created_at: ``fileCreatedAt`` (aware).
            modified_at: ``fileModifiedAt`` (aware).
            is_favorite: ``isFavorite``.

        Raises:
            ApiError: The server refused the file.
        """
        response = self._call(
            "POST",
            "/api/assets",
            headers={"x-immich-checksum": base64.b64encode(sha1).decode()},
            files={"assetData": (file_name, data, "application/octet-stream")},
            data={
                "deviceAssetId": device_asset_id,
                "deviceId": "darkroom-import",
                "fileCreatedAt": created_at.isoformat(),
                "fileModifiedAt": modified_at.isoformat(),
                "isFavorite": "true" if is_favorite else "false",
                "filename": file_name,
            },
        )
        body = response.json()
        return Uploaded(asset_id=str(body["id"]), duplicate=body.get("status") == "duplicate")

    def update(self, asset_id: str, changes: dict[str, Any]) -> None:
        """``PUT /api/assets/{id}`` with ``changes`` (UpdateAssetDto fields).

        Raises:
            ApiError: The server refused the change.
        """
        self._call("PUT", f"/api/assets/{asset_id}", json=changes)

    def albums(self, owner_id: str) -> dict[str, str]:
        """The albums ``owner_id`` owns (not those shared with them): name -> id (the first of
        each name). Immich 3 names the owner among ``albumUsers`` (role ``owner``); older
        servers send ``ownerId``."""
        out: dict[str, str] = {}
        for album in self._call("GET", "/api/albums").json():
            owners = {
                str(u.get("user", {}).get("id"))
                for u in album.get("albumUsers", [])
                if u.get("role") == "owner"
            }
            if album.get("ownerId") is not None:
                owners.add(str(album["ownerId"]))
            if owner_id in owners:
                out.setdefault(str(album["albumName"]), str(album["id"]))
        return out

    def create_album(self, name: str, description: str = "") -> str:
        """Create an album; its id."""
        body = {"albumName": name, "description": description}
        return str(self._call("POST", "/api/albums", json=body).json()["id"])

    def add_to_album(self, album_id: str, asset_ids: list[str]) -> None:
        """Add assets to an album (those already in it are left as they are)."""
        for start in range(0, len(asset_ids), ALBUM_BATCH):
            batch = asset_ids[start : start + ALBUM_BATCH]
            self._call("PUT", f"/api/albums/{album_id}/assets", json={"ids": batch})
