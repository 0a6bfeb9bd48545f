"""Search side endpoints (suggestions, cities, explore) and album answers, checked against
what Immich does.

Places and cameras are written into ``asset_exif`` directly (after the pipeline has processed
each upload), so that the checks do not depend on EXIF writing or reverse geocoding; one photo
is turned into a video the same way.

Search (Immich ``SearchService`` / ``SearchRepository``):

* ``GET /api/search/suggestions`` orders values as Immich's database does (case and accents
  ignored: ``samsung`` before ``SONY``; ``search.e2e-spec`` "camera make"), appends ``null``
  whenever ``includeNull`` is true (``getSearchSuggestions`` pushes it unconditionally), leaves
  out archived assets (``getExifField``: ``visibility = timeline``), includes the partners the
  caller shows in their timeline (``getUserIdsToSearch``) but never another user, and narrows
  each type only by the fields Immich passes for it (``getSuggestions``: ``state`` by
  ``country`` alone, so a ``make`` given with ``type=state`` is ignored).
* ``GET /api/search/cities`` lists images only, of the timeline, of the caller and of those
  partners (``getAssetsByCity``: ``type = IMAGE``, ``userIds``).
* ``GET /api/search/explore`` shows images only (``AssetRepository.getAssetIdByCity``:
  ``type = IMAGE``), of the caller alone, of cities with at least 5 assets of any kind
  (``minAssetsPerField: 5``).

Albums (Immich ``AlbumService`` / ``AlbumRepository`` / ``mapAlbum``):

* an album with a shared link and no member is ``shared`` (``mapAlbum``:
  ``hasSharedUser || hasSharedLink``), counts as shared in ``GET /api/albums/statistics`` and
  in ``GET /api/albums?isShared=`` (``buildAlbumBaseQuery``: a member or a shared link);
* ``contributorCounts`` comes only with ``GET /api/albums/{id}`` of a shared album
  (``AlbumService.get``: ``isShared ? getContributorCounts : undefined``), never on create
  or update answers;
* ``startDate``/``endDate`` of ``GET /api/albums`` and ``GET /api/albums/{id}`` are the days of
  the earliest and latest asset (``getMetadataForIds``:
  ``min/max(("localDateTime" AT TIME ZONE 'UTC')::date)``), while the create answer keeps the
  asset's own time (``mapAlbum`` over the assets).
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, db_rows, make_user, noise_jpeg, upload_jpeg, wait_processed


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user whose library is only this module's photos."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def partner(stack: Stack, admin: User) -> User:
    """A user who shares their library with ``owner`` (shown in the owner's timeline)."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def stranger(stack: Stack, admin: User) -> User:
    """A user with no link to ``owner``."""
    return make_user(stack, admin)


def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def _placed(stack: Stack, user: User, seed: int, **exif: str | None) -> str:
    """Upload a photo of ``user``, wait for the pipeline, then set its place and camera."""
    asset_id = upload_jpeg(user, noise_jpeg(seed))
    wait_processed(user, [asset_id])
    cols = ("make", "model", "lens_model", "city", "state", "country")
    db_rows(
        stack,
        "INSERT INTO asset_exif (asset_id, owner_id, make, model, lens_model, city, state, "
        "country) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (asset_id) DO UPDATE SET "
        + ", ".join(f"{c} = excluded.{c}" for c in cols),
        uuid.UUID(asset_id),
        uuid.UUID(user.id),
        *(exif.get(c) for c in cols),
    )
    return asset_id


@pytest.fixture(scope="module")
def lib(stack: Stack, owner: User, partner: User, stranger: User) -> dict[str, str]:
    """The owner's photos (one archived, one made a video), a partner's and a stranger's."""
    ids = {
        "sony": _placed(
            stack,
            owner,
            9101,
            make="SONY",
            model="A7",
            lens_model="FE 50",
            city="Paris",
            state="Île-de-France",
            country="France",
        ),
        "samsung": _placed(
            stack,
            owner,
            9102,
            make="samsung",
            model="SM-1",
            city="Lyon",
            state="Auvergne",
            country="France",
        ),
        "apple": _placed(
            stack,
            owner,
            9103,
            make="Apple",
            model="iPhone 7",
            city="Tokyo",
            state="Tokyo",
            country="Japan",
        ),
        "archived": _placed(
            stack, owner, 9104, make="Leica", model="M6", city="Berlin", country="Germany"
        ),
        "video": _placed(stack, owner, 9105, make="GoPro", city="Oslo", country="Norway"),
        "partner": _placed(stack, partner, 9106, make="Canon", city="Rome", country="Italy"),
        "stranger": _placed(stack, stranger, 9107, make="Nikon", city="Madrid", country="Spain"),
    }
    ok(owner.client.put(f"/api/assets/{ids['archived']}", json={"visibility": "archive"}))
    db_rows(stack, "UPDATE assets SET type = 'VIDEO' WHERE id = $1", uuid.UUID(ids["video"]))
    ok(partner.client.post("/api/partners", json={"sharedWithId": owner.id}), 201)
    ok(owner.client.put(f"/api/partners/{partner.id}", json={"inTimeline": True}))
    return ids


def _sugg(user: User, **params: str) -> list[str | None]:
    return ok(user.client.get("/api/search/suggestions", params=params))  # type: ignore[no-any-return]


def test_suggestions_order_ignores_case(owner: User, lib: dict[str, str]) -> None:
    assert _sugg(owner, type="camera-make") == ["Apple", "Canon", "GoPro", "samsung", "SONY"]


def test_suggestions_include_null_is_always_appended(owner: User, lib: dict[str, str]) -> None:
    # every one of these assets has a make, yet Immich appends null when asked
    makes = _sugg(owner, type="camera-make", includeNull="true")
    assert makes == ["Apple", "Canon", "GoPro", "samsung", "SONY", None]
    assert _sugg(owner, type="camera-lens-model", includeNull="true") == ["FE 50", None]


def test_suggestions_leave_out_archived_and_strangers(
    owner: User, stranger: User, lib: dict[str, str]
) -> None:
    countries = _sugg(owner, type="country")
    assert countries == ["France", "Italy", "Japan", "Norway"]  # no Germany (archived)
    assert "Spain" not in countries and "Leica" not in _sugg(owner, type="camera-make")
    # the stranger sees only their own, never the owner's or the partner's
    assert _sugg(stranger, type="camera-make") == ["Nikon"]


def test_suggestions_narrow_only_by_the_fields_of_their_type(
    owner: User, lib: dict[str, str]
) -> None:
    # type=state is narrowed by country alone: a make is ignored (Immich getStates)
    assert _sugg(owner, type="state", make="SONY") == ["Auvergne", "Île-de-France", "Tokyo"]
    assert _sugg(owner, type="state", country="France") == ["Auvergne", "Île-de-France"]
    assert _sugg(owner, type="city", country="France", state="Auvergne") == ["Lyon"]
    # camera models are narrowed by make (and lens), not by a place
    assert _sugg(owner, type="camera-model", make="SONY", country="Japan") == ["A7"]


def test_cities_are_timeline_images_of_caller_and_partners(
    owner: User, stranger: User, lib: dict[str, str]
) -> None:
    found = ok(owner.client.get("/api/search/cities"))
    by_city = {a["exifInfo"]["city"]: a["id"] for a in found}
    # no Berlin (archived), no Oslo (a video), no Madrid (a stranger's); Rome is the partner's
    assert by_city == {
        "Lyon": lib["samsung"],
        "Paris": lib["sony"],
        "Rome": lib["partner"],
        "Tokyo": lib["apple"],
    }
    assert [a["exifInfo"]["city"] for a in ok(stranger.client.get("/api/search/cities"))] == [
        "Madrid"
    ]


def test_explore_shows_images_only(stack: Stack, owner: User, lib: dict[str, str]) -> None:
    # Explore lists a city from 5 assets on (Immich's minAssetsPerField), whatever their type
    # or visibility: 4 archived photos more in Paris and in Oslo make 5 in each
    extra = [upload_jpeg(owner, noise_jpeg(9300 + i)) for i in range(8)]
    wait_processed(owner, extra)
    for city, ids in (("Paris", extra[:4]), ("Oslo", extra[4:])):
        db_rows(
            stack,
            "UPDATE asset_exif SET city = $2 WHERE asset_id = ANY($1::uuid[])",
            [uuid.UUID(i) for i in ids],
            city,
        )
    r = owner.client.put("/api/assets", json={"ids": extra, "visibility": "archive"})
    assert r.status_code == 204, r.text
    [places] = ok(owner.client.get("/api/search/explore"))
    assert places["fieldName"] == "exifInfo.city"
    items = {i["value"]: i["data"]["id"] for i in places["items"]}
    # Paris shows its one timeline image; Oslo's only timeline asset is a video: not listed
    # (Lyon and Tokyo have 1 asset each)
    assert items == {"Paris": lib["sony"]}
    assert all(i["data"]["type"] == "IMAGE" for i in places["items"])


# --- albums ------------------------------------------------------------------------------------


def test_shared_link_makes_an_album_shared(owner: User, stranger: User) -> None:
    c = owner.client
    before = ok(c.get("/api/albums/statistics"))
    album = ok(c.post("/api/albums", json={"albumName": "Linked"}), 201)
    assert album["shared"] is False
    middle = ok(c.get("/api/albums/statistics"))
    assert middle == {
        "owned": before["owned"] + 1,
        "shared": before["shared"],
        "notShared": before["notShared"] + 1,
    }
    ok(c.post("/api/shared-links", json={"type": "ALBUM", "albumId": album["id"]}), 201)

    got = ok(c.get(f"/api/albums/{album['id']}"))
    assert got["shared"] is True and got["hasSharedLink"] is True
    listed = {a["id"]: a for a in ok(c.get("/api/albums"))}
    assert listed[album["id"]]["shared"] is True
    after = ok(c.get("/api/albums/statistics"))
    assert after == {
        "owned": before["owned"] + 1,
        "shared": before["shared"] + 1,
        "notShared": before["notShared"],
    }
    shared = {a["id"] for a in ok(c.get("/api/albums", params={"isShared": "true"}))}
    not_shared = {a["id"] for a in ok(c.get("/api/albums", params={"isShared": "false"}))}
    assert album["id"] in shared and album["id"] not in not_shared
    # a stranger still does not see it
    assert stranger.client.get(f"/api/albums/{album['id']}").status_code == 400
    assert album["id"] not in {a["id"] for a in ok(stranger.client.get("/api/albums"))}


def test_contributor_counts_only_on_get_of_a_shared_album(
    owner: User, partner: User, lib: dict[str, str]
) -> None:
    c = owner.client
    created = ok(c.post("/api/albums", json={"albumName": "Solo", "assetIds": [lib["sony"]]}), 201)
    assert "contributorCounts" not in created
    assert "contributorCounts" not in ok(c.get(f"/api/albums/{created['id']}"))
    updated = ok(c.patch(f"/api/albums/{created['id']}", json={"albumName": "Solo 2"}))
    assert "contributorCounts" not in updated

    shared = ok(
        c.post(
            "/api/albums",
            json={
                "albumName": "Together",
                "assetIds": [lib["sony"]],
                "albumUsers": [{"userId": partner.id, "role": "editor"}],
            },
        ),
        201,
    )
    assert "contributorCounts" not in shared
    got = ok(c.get(f"/api/albums/{shared['id']}"))
    assert got["contributorCounts"] == [{"userId": owner.id, "assetCount": 1}]
    as_member = ok(partner.client.get(f"/api/albums/{shared['id']}"))
    assert as_member["contributorCounts"] == [{"userId": owner.id, "assetCount": 1}]


def test_album_dates_are_days_on_get_and_list(owner: User) -> None:
    early = upload_jpeg(owner, noise_jpeg(9201), "2019-05-01T10:00:00.000Z")
    late = upload_jpeg(owner, noise_jpeg(9202), "2021-07-01T12:30:00.000Z")
    wait_processed(owner, [early, late])
    c = owner.client
    created = ok(c.post("/api/albums", json={"albumName": "Dates", "assetIds": [early, late]}), 201)
    assert created["startDate"] == "2019-05-01T10:00:00.000Z"  # the create answer: as is
    assert created["endDate"] == "2021-07-01T12:30:00.000Z"
    got = ok(c.get(f"/api/albums/{created['id']}"))
    assert (got["startDate"], got["endDate"]) == (
        "2019-05-01T00:00:00.000Z",
        "2021-07-01T00:00:00.000Z",
    )
    listed = {a["id"]: a for a in ok(c.get("/api/albums"))}[created["id"]]
    assert (listed["startDate"], listed["endDate"]) == (got["startDate"], got["endDate"])
