"""GET /api/map/markers (and the map tile settings) over HTTP against the running embedded stack.

What this proves: real geotagged photos (the shared samples' GPS JPEGs) come back as markers
at the coordinates their EXIF holds, with a reverse-geocoded place; photos placed by an edit
(PUT latitude/longitude) too; a photo without GPS never; ``isFavorite``, ``isArchived``,
``fileCreatedAfter`` and ``fileCreatedBefore`` keep what they say; trashed photos never show;
``withSharedAlbums`` adds the photos of an album shared with the caller and nothing else;
another user never sees anyone's markers; an API key without ``map.read`` gets 403; and
``/api/server/config`` hands the web app its tile URL next to Immich's own fields.
"""

from __future__ import annotations

import csv
import time

import httpx
import numpy as np
import pytest
import pyvips
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir

from .conftest import User, make_user, upload, upload_jpeg, wait_processed

#: Where the generated photos are put (lat, lon) and when they were "taken" (fileCreatedAt).
PLACED = {
    "favorite": ((64.1466, -21.9426), "2019-05-01T12:00:00.000Z"),  # Reykjavik
    "archived": ((48.8566, 2.3522), "2020-06-01T12:00:00.000Z"),  # Paris
    "plain": ((-33.8688, 151.2093), "2021-07-01T12:00:00.000Z"),  # Sydney
    "trashed": ((35.6762, 139.6503), "2022-08-01T12:00:00.000Z"),  # Tokyo
}
GPS_SAMPLES = ("DSCN0010.jpg", "DSCN0042.jpg")


def jpeg(seed: int) -> bytes:
    """A small JPEG of random pixels unique to ``seed`` (no EXIF, so no GPS)."""
    pixels = np.random.default_rng(seed).integers(0, 255, size=(48, 64, 3), dtype=np.uint8)
    return bytes(pyvips.Image.new_from_array(pixels, interpretation="srgb").jpegsave_buffer(Q=80))


def markers(user: User, **params: object) -> dict[str, dict[str, object]]:
    """The caller's markers by asset id (asserting the answer's shape)."""
    r = user.client.get("/api/map/markers", params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert isinstance(body, list)
    for m in body:
        assert set(m) == {"id", "lat", "lon", "city", "state", "country"}, m
    by_id = {m["id"]: m for m in body}
    assert len(by_id) == len(body), "an asset listed twice"
    return by_id


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user whose library is only this module's photos."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def placed(owner: User) -> dict[str, str]:
    """Generated photos put on the map by an edit, then one favourited, one archived, one
    trashed; plus one never placed (``nowhere``). Name -> asset id."""
    ids = {
        name: upload_jpeg(owner, jpeg(k), when)
        for k, (name, (_, when)) in enumerate(PLACED.items())
    }
    ids["nowhere"] = upload_jpeg(owner, jpeg(99), "2021-01-01T00:00:00.000Z")
    # After processing: metadata extraction must not overwrite the coordinates set below.
    wait_processed(owner, list(ids.values()))
    for name, ((lat, lon), _) in PLACED.items():
        r = owner.client.put(f"/api/assets/{ids[name]}", json={"latitude": lat, "longitude": lon})
        assert r.status_code == 200, r.text
    r = owner.client.put(f"/api/assets/{ids['favorite']}", json={"isFavorite": True})
    assert r.status_code == 200, r.text
    r = owner.client.put(f"/api/assets/{ids['archived']}", json={"visibility": "archive"})
    assert r.status_code == 200, r.text
    r = owner.client.request("DELETE", "/api/assets", json={"ids": [ids["trashed"]]})
    assert r.status_code == 204, r.text
    return ids


def test_placed_photos_are_markers_at_their_coordinates(
    owner: User, placed: dict[str, str]
) -> None:
    found = markers(owner)
    # Timeline only by default: not the archived, never the trashed or the unplaced one.
    assert set(found) == {placed["favorite"], placed["plain"]}
    for name in ("favorite", "plain"):
        (lat, lon), _ = PLACED[name]
        assert found[placed[name]]["lat"] == pytest.approx(lat, abs=1e-6)
        assert found[placed[name]]["lon"] == pytest.approx(lon, abs=1e-6)


def test_filters(owner: User, placed: dict[str, str]) -> None:
    with_archive = markers(owner, isArchived="true")
    assert set(with_archive) == {placed["favorite"], placed["plain"], placed["archived"]}
    assert with_archive[placed["archived"]]["lat"] == pytest.approx(48.8566, abs=1e-6)
    assert set(markers(owner, isArchived="false")) == {placed["favorite"], placed["plain"]}
    assert set(markers(owner, isFavorite="true")) == {placed["favorite"]}
    assert set(markers(owner, isFavorite="false")) == {placed["plain"]}
    assert set(markers(owner, isFavorite="true", isArchived="true")) == {placed["favorite"]}
    after = markers(owner, isArchived="true", fileCreatedAfter="2020-01-01T00:00:00.000Z")
    assert set(after) == {placed["archived"], placed["plain"]}
    before = markers(owner, isArchived="true", fileCreatedBefore="2020-12-31T23:59:59.000Z")
    assert set(before) == {placed["favorite"], placed["archived"]}
    window = markers(
        owner,
        isArchived="true",
        fileCreatedAfter="2020-01-01T00:00:00Z",
        fileCreatedBefore="2020-12-31T00:00:00Z",
    )
    assert set(window) == {placed["archived"]}
    # The owner has no partners: withPartners adds nothing (tests/test_partners.py has them).
    assert set(markers(owner, withPartners="true")) == {placed["favorite"], placed["plain"]}
    assert owner.client.get("/api/map/markers", params={"isFavorite": "maybe"}).status_code == 400
    bad_date = owner.client.get("/api/map/markers", params={"fileCreatedAfter": "yesterday"})
    assert bad_date.status_code == 400


def test_restored_photo_comes_back(owner: User, placed: dict[str, str]) -> None:
    assert placed["trashed"] not in markers(owner, isArchived="true")
    r = owner.client.post("/api/trash/restore/assets", json={"ids": [placed["trashed"]]})
    assert r.status_code == 200, r.text
    try:
        assert placed["trashed"] in markers(owner)
    finally:
        r = owner.client.request("DELETE", "/api/assets", json={"ids": [placed["trashed"]]})
        assert r.status_code == 204, r.text
    assert placed["trashed"] not in markers(owner)


def test_other_users_never_see_them(
    stack: Stack, admin: User, owner: User, placed: dict[str, str]
) -> None:
    stranger = make_user(stack, admin)
    assert markers(stranger) == {}
    assert markers(stranger, isArchived="true", withSharedAlbums="true", withPartners="true") == {}
    # Sharing an album shows its photos to the member with withSharedAlbums=true, and only then.
    r = owner.client.post(
        "/api/albums",
        json={
            "albumName": "Trip",
            "assetIds": [placed["plain"]],
            "albumUsers": [{"userId": stranger.id, "role": "viewer"}],
        },
    )
    assert r.status_code == 201, r.text
    assert markers(stranger) == {}
    shared = markers(stranger, withSharedAlbums="true")
    assert set(shared) == {placed["plain"]}
    assert shared[placed["plain"]]["lon"] == pytest.approx(151.2093, abs=1e-6)
    # The owner's own map is the same with or without the album.
    assert set(markers(owner, withSharedAlbums="true")) == {placed["favorite"], placed["plain"]}
    assert owner.client.delete(f"/api/albums/{r.json()['id']}").status_code == 204
    assert markers(stranger, withSharedAlbums="true") == {}


def test_needs_map_read(owner: User) -> None:
    anon = httpx.Client(base_url=str(owner.client.base_url))
    assert anon.get("/api/map/markers").status_code == 401
    for permissions, status in ((["asset.read"], 403), (["map.read"], 200)):
        r = owner.client.post("/api/api-keys", json={"name": "map", "permissions": permissions})
        assert r.status_code == 201, r.text
        scoped = httpx.Client(
            base_url=str(owner.client.base_url), headers={"x-api-key": r.json()["secret"]}
        )
        assert scoped.get("/api/map/markers").status_code == status


def test_sample_gps_photos_are_markers_at_their_exif_position(stack: Stack, admin: User) -> None:
    samples = samples_dir()
    if samples is None:
        pytest.skip("sample media absent (/work/shared/samples or DARKROOM_SAMPLES)")
    photos = samples / "photos"
    with (photos / "exif_summary.csv").open(newline="", encoding="utf-8", errors="replace") as f:
        truth = {
            row["file"].rsplit("/", 1)[-1]: (float(row["gps_lat"]), float(row["gps_lon"]))
            for row in csv.DictReader(f)
            if "/gps/" in row["file"]
        }
    user = make_user(stack, admin)
    ids = {}
    for name in GPS_SAMPLES:
        r = upload(user, photos / "ianare_exif-samples" / "jpg" / "gps" / name)
        assert r.status_code == 201, r.text
        ids[r.json()["id"]] = name
    wait_processed(user, list(ids))
    deadline = time.monotonic() + 60
    found = markers(user)
    while set(found) != set(ids) and time.monotonic() < deadline:
        time.sleep(0.5)
        found = markers(user)
    assert set(found) == set(ids)
    for asset_id, name in ids.items():
        lat, lon = truth[name]
        assert found[asset_id]["lat"] == pytest.approx(lat, abs=1e-4)
        assert found[asset_id]["lon"] == pytest.approx(lon, abs=1e-4)
        # Offline reverse geocoding (GeoNames) names the place: Tuscany, Italy.
        assert found[asset_id]["country"] == "Italy"
        assert found[asset_id]["city"]


def test_darkroom_map_route_hands_out_the_tile_url(stack: Stack, owner: User) -> None:
    r = owner.client.get("/api/darkroom/map")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "tileUrl": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "attribution": r.json()["attribution"],
    }
    assert "OpenStreetMap" in r.json()["attribution"]
    anonymous = httpx.get(f"{stack.url}/api/darkroom/map")
    assert anonymous.status_code == 401 and anonymous.json() == {
        "message": "Authentication required"
    }
    # Immich's ServerConfigDto carries no Darkroom-only field (strict clients refuse them)
    config = httpx.get(f"{stack.url}/api/server/config").json()
    assert not [k for k in config if k.startswith("darkroom")], config
    # Immich's MapLibre styles (for the mobile apps) are untouched.
    assert config["mapLightStyleUrl"].endswith("/light.json")
    assert config["mapDarkStyleUrl"].endswith("/dark.json")


def test_reverse_geocode_names_the_place_as_the_photos_get_it(
    stack: Stack, owner: User, placed: dict[str, str]
) -> None:
    """GET /api/map/reverse-geocode answers with the metadata service's geocoder: the place a
    photo at that point is named with; [] at sea; 400 for bad coordinates; 401 anonymous, 403
    for a shared-link visitor and for an API key without ``map.search``."""
    (lat, lon), _ = PLACED["favorite"]
    r = owner.client.get("/api/map/reverse-geocode", params={"lat": lat, "lon": lon})
    assert r.status_code == 200, r.text
    assert r.json() == [{"city": "Reykjavik", "state": "Capital Region", "country": "Iceland"}]
    deadline = time.monotonic() + 120
    while not (marker := markers(owner)[placed["favorite"]])["city"]:
        assert time.monotonic() < deadline, "the photo was never reverse-geocoded"
        time.sleep(0.5)
    assert r.json() == [{k: marker[k] for k in ("city", "state", "country")}]
    sea = owner.client.get("/api/map/reverse-geocode", params={"lat": 0, "lon": -30})
    assert sea.status_code == 200 and sea.json() == []
    for params in (
        {"lat": 91, "lon": 0},
        {"lat": 0, "lon": -180.5},
        {"lat": "x", "lon": 0},
        {"lat": "nan", "lon": 0},
        {"lat": 10},
    ):
        bad = owner.client.get("/api/map/reverse-geocode", params=params)
        assert bad.status_code == 400, (params, bad.text)
    anon = httpx.Client(base_url=stack.url, timeout=60)
    assert anon.get("/api/map/reverse-geocode", params={"lat": lat, "lon": lon}).status_code == 401
    link = owner.client.post(
        "/api/shared-links", json={"type": "INDIVIDUAL", "assetIds": [placed["favorite"]]}
    )
    assert link.status_code == 201, link.text
    try:
        visitor = anon.get(
            "/api/map/reverse-geocode", params={"lat": lat, "lon": lon, "key": link.json()["key"]}
        )
        assert visitor.status_code == 403, visitor.text
    finally:
        owner.client.delete(f"/api/shared-links/{link.json()['id']}")
    for permissions, status in ((["map.read"], 403), (["map.search"], 200)):
        key = owner.client.post("/api/api-keys", json={"name": "geo", "permissions": permissions})
        assert key.status_code == 201, key.text
        scoped = httpx.Client(
            base_url=stack.url, headers={"x-api-key": key.json()["secret"]}, timeout=60
        )
        got = scoped.get("/api/map/reverse-geocode", params={"lat": lat, "lon": lon})
        assert got.status_code == status, got.text
