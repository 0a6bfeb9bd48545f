"""Search end to end: uploads with real EXIF (camera, capture time, GPS) go through the pipeline,
then the /api/search endpoints narrow them; another user's assets never appear."""

from __future__ import annotations

import io
import time

import pytest
from darkroom_stack.supervisor import Stack
from PIL import Image

from .conftest import User, make_user, upload

#: (name, make, model, taken, (lat, lon) or None, favourite)
PHOTOS = [
    ("paris-canon.jpg", "Canon", "EOS 5D", "2019:06:01 10:00:00", (48.8566, 2.3522), True),
    ("paris-nikon.jpg", "NIKON", "D750", "2021:03:15 12:00:00", (48.8600, 2.3400), False),
    ("tokyo-canon.jpg", "Canon", "EOS R5", "2022:11:20 08:30:00", (35.6762, 139.6503), False),
    ("nowhere.jpg", "Apple", "iPhone 12", "2023:01:05 09:00:00", None, False),
]


def _dms(value: float) -> tuple[float, float, float]:
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60, 4)
    return (float(degrees), float(minutes), seconds)


def make_jpeg(
    make: str, model: str, taken: str, gps: tuple[float, float] | None, seed: int
) -> bytes:
    """A small JPEG with EXIF Make, Model, DateTimeOriginal and GPS (written by Pillow)."""
    img = Image.new("RGB", (64, 48), ((seed * 60) % 256, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = make
    exif[0x0110] = model
    exif.get_ifd(0x8769)[0x9003] = taken  # ExifIFD DateTimeOriginal
    if gps is not None:
        lat, lon = gps
        gps_ifd = exif.get_ifd(0x8825)
        gps_ifd[1] = "N" if lat >= 0 else "S"
        gps_ifd[2] = _dms(lat)
        gps_ifd[3] = "E" if lon >= 0 else "W"
        gps_ifd[4] = _dms(lon)
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif)
    return out.getvalue()


def _wait_extracted(user: User, ids: list[str], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    pending = set(ids)
    while pending and time.monotonic() < deadline:
        for asset_id in list(pending):
            r = user.client.get(f"/api/assets/{asset_id}")
            assert r.status_code == 200, r.text
            exif = r.json().get("exifInfo") or {}
            if exif.get("make"):
                pending.discard(asset_id)
        if pending:
            time.sleep(0.5)
    assert not pending, f"metadata not extracted for {pending}"


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user whose library is only this module's photos."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def stranger(stack: Stack, admin: User) -> User:
    """Another fresh user."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def library(owner: User, stranger: User, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The owner's four photos, and one of the other user's (Canon, in Paris too)."""
    tmp = tmp_path_factory.mktemp("search")
    ids: dict[str, str] = {}
    for i, (name, make, model, taken, gps, favourite) in enumerate(PHOTOS):
        path = tmp / name
        path.write_bytes(make_jpeg(make, model, taken, gps, i))
        r = upload(owner, path)
        assert r.status_code == 201, r.text
        ids[name] = r.json()["id"]
        if favourite:
            u = owner.client.put(f"/api/assets/{ids[name]}", json={"isFavorite": True})
            assert u.status_code == 200, u.text
    other_path = tmp / "other-paris.jpg"
    other_path.write_bytes(make_jpeg("Canon", "EOS 5D", "2019:06:02 10:00:00", (48.85, 2.35), 9))
    r = upload(stranger, other_path)
    assert r.status_code == 201, r.text
    other_id = r.json()["id"]
    _wait_extracted(owner, list(ids.values()))
    _wait_extracted(stranger, [other_id])
    return {"ids": ids, "other": other_id}


def _names(resp: dict) -> set[str]:
    return {a["originalFileName"] for a in resp["assets"]["items"]}


def _search(user: User, body: dict) -> dict:
    r = user.client.post("/api/search/metadata", json=body)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    return r.json()


def test_metadata_filters_narrow(owner: User, library: dict) -> None:
    everything = _search(owner, {})
    assert _names(everything) == {p[0] for p in PHOTOS}
    assert everything["albums"] == {"items": [], "total": 0, "count": 0, "facets": []}
    assert _names(_search(owner, {"make": "Canon"})) == {"paris-canon.jpg", "tokyo-canon.jpg"}
    assert _names(_search(owner, {"make": "Canon", "model": "EOS R5"})) == {"tokyo-canon.jpg"}
    paris = _search(owner, {"city": "Paris"})
    assert _names(paris) == {"paris-canon.jpg", "paris-nikon.jpg"}
    assert all(a["exifInfo"]["city"] == "Paris" for a in paris["assets"]["items"])
    assert _names(_search(owner, {"city": None})) == {"nowhere.jpg"}
    assert _names(_search(owner, {"country": "Japan"})) == {"tokyo-canon.jpg"}
    assert _names(_search(owner, {"isFavorite": True})) == {"paris-canon.jpg"}
    assert _names(_search(owner, {"type": "VIDEO"})) == set()
    assert _names(_search(owner, {"type": "IMAGE"})) == {p[0] for p in PHOTOS}
    ranged = _search(
        owner,
        {"takenAfter": "2021-01-01T00:00:00.000Z", "takenBefore": "2022-12-31T00:00:00.000Z"},
    )
    assert _names(ranged) == {"paris-nikon.jpg", "tokyo-canon.jpg"}
    assert _names(_search(owner, {"originalFileName": "TOKYO"})) == {"tokyo-canon.jpg"}
    newest_first = [a["originalFileName"] for a in _search(owner, {})["assets"]["items"]]
    assert newest_first[0] == "nowhere.jpg" and newest_first[-1] == "paris-canon.jpg"
    oldest_first = [
        a["originalFileName"] for a in _search(owner, {"order": "asc"})["assets"]["items"]
    ]
    assert oldest_first == list(reversed(newest_first))


def test_paging(owner: User, library: dict) -> None:
    first = _search(owner, {"size": 3, "page": 1})
    assert first["assets"]["count"] == 3 and first["assets"]["nextPage"] == "2"
    second = _search(owner, {"size": 3, "page": 2})
    assert second["assets"]["count"] == 1 and second["assets"]["nextPage"] is None
    assert _names(first) | _names(second) == {p[0] for p in PHOTOS}
    bad = owner.client.post("/api/search/metadata", json={"size": 0})
    assert bad.status_code == 400


def test_other_users_assets_never_appear(owner: User, stranger: User, library: dict) -> None:
    mine = _search(owner, {"city": "Paris", "make": "Canon"})
    assert _names(mine) == {"paris-canon.jpg"}
    assert library["other"] not in {a["id"] for a in mine["assets"]["items"]}
    theirs = _search(stranger, {})
    assert [a["id"] for a in theirs["assets"]["items"]] == [library["other"]]
    assert _search(stranger, {"id": library["ids"]["tokyo-canon.jpg"]})["assets"]["items"] == []
    r = stranger.client.post("/api/search/random", json={"size": 100})
    assert r.status_code == 200 and [a["id"] for a in r.json()] == [library["other"]]
    s = stranger.client.post("/api/search/statistics", json={})
    assert s.json() == {"total": 1}
    sugg = stranger.client.get("/api/search/suggestions", params={"type": "camera-make"})
    assert sugg.json() == ["Canon"]


def test_random_and_statistics(owner: User, library: dict) -> None:
    r = owner.client.post("/api/search/random", json={"size": 2, "make": "Canon"})
    assert r.status_code == 200, r.text
    items = r.json()
    assert len(items) == 2 and {a["exifInfo"]["make"] for a in items} == {"Canon"}
    stats = owner.client.post("/api/search/statistics", json={"city": "Paris"})
    assert stats.status_code == 200 and stats.json() == {"total": 2}
    assert owner.client.post("/api/search/statistics", json={}).json() == {"total": 4}


def test_suggestions(owner: User, library: dict) -> None:
    def sugg(**params: str) -> list:
        r = owner.client.get("/api/search/suggestions", params=params)
        assert r.status_code == 200, r.text
        return r.json()

    assert sugg(type="camera-make") == ["Apple", "Canon", "NIKON"]
    assert sugg(type="camera-model", make="Canon") == ["EOS 5D", "EOS R5"]
    assert sugg(type="country") == ["France", "Japan"]
    assert sugg(type="country", includeNull="true") == ["France", "Japan", None]
    assert sugg(type="city", country="France") == ["Paris"]
    assert owner.client.get("/api/search/suggestions", params={"type": "x"}).status_code == 400


def test_places_cities_explore(
    owner: User, stranger: User, library: dict, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # places: the GeoNames gazetteer (as Immich), not only the cities of one's photos
    places = owner.client.get("/api/search/places", params={"name": "Paris"})
    assert places.status_code == 200, places.text
    paris = places.json()[0]
    assert paris["name"] == "Paris" and paris["admin1name"] == "Ile-de-France"
    assert paris["admin2name"] == "Paris"
    assert 48.8 < paris["latitude"] < 48.9 and 2.3 < paris["longitude"] < 2.4
    assert owner.client.get("/api/search/places", params={"name": "zzz"}).json() == []

    cities = owner.client.get("/api/search/cities")
    assert cities.status_code == 200
    by_city = {a["exifInfo"]["city"]: a for a in cities.json()}
    assert set(by_city) == {"Paris", "Tokyo"}
    assert by_city["Paris"]["originalFileName"] == "paris-nikon.jpg"  # the newest there

    # Explore lists a city from 5 assets on (Immich's minAssetsPerField): Paris has 2, so
    # nothing yet; 3 more there, archived, make 5, and Paris shows its newest timeline photo
    assert owner.client.get("/api/search/explore").json()[0]["items"] == []
    tmp = tmp_path_factory.mktemp("explore")
    more = []
    for i in range(3):
        path = tmp / f"paris-archived-{i}.jpg"
        path.write_bytes(
            make_jpeg("Canon", "EOS 5D", "2018:01:01 10:00:00", (48.857, 2.35), 20 + i)
        )
        r = upload(owner, path)
        assert r.status_code == 201, r.text
        more.append(r.json()["id"])
    _wait_extracted(owner, more)
    r = owner.client.put("/api/assets", json={"ids": more, "visibility": "archive"})
    assert r.status_code == 204, r.text
    explore = owner.client.get("/api/search/explore").json()
    assert explore[0]["fieldName"] == "exifInfo.city"
    items = {i["value"]: i["data"]["id"] for i in explore[0]["items"]}
    assert items == {"Paris": library["ids"]["paris-nikon.jpg"]}  # Tokyo has 1
    # the owner's five do not put Paris on the stranger's Explore, whose one photo is there
    assert stranger.client.get("/api/search/explore").json()[0]["items"] == []


def test_person_search_is_scoped(owner: User, library: dict) -> None:
    r = owner.client.get("/api/search/person", params={"name": "nobody"})
    assert r.status_code == 200 and r.json() == []
    assert owner.client.get("/api/search/person").status_code == 400  # name is required


def test_smart_search_without_model_is_a_clear_400(owner: User, library: dict) -> None:
    r = owner.client.post("/api/search/smart", json={"query": "dog on the beach"})
    assert r.status_code == 400, r.text
    assert "Smart search is not available" in r.json()["message"]
    assert owner.client.post("/api/search/smart", json={}).status_code == 400


def test_unauthenticated_is_rejected(stack: object, library: dict) -> None:
    import httpx

    r = httpx.post(f"{stack.url}/api/search/metadata", json={})  # type: ignore[attr-defined]
    assert r.status_code == 401


def test_file_name_and_description_ignore_case_and_accents(
    stack: Stack, admin: User, tmp_path
) -> None:
    """File name and description match as Immich's metadata search does: any case, with or
    without accents, part of a word; never another user's assets."""
    user = make_user(stack, admin)  # libraries of only these assets
    stranger = make_user(stack, admin)
    tmp_path.joinpath("a.jpg").write_bytes(
        make_jpeg("Canon", "EOS 5D", "2020:01:01 10:00:00", None, 1)
    )
    tmp_path.joinpath("b.jpg").write_bytes(
        make_jpeg("Canon", "EOS 5D", "2020:01:02 10:00:00", None, 2)
    )
    r = upload(user, tmp_path / "a.jpg", name="Crème-Brûlée Été.jpg")
    assert r.status_code == 201, r.text
    dessert = r.json()["id"]
    r = upload(user, tmp_path / "b.jpg", name="IMG_0042.JPG")
    assert r.status_code == 201, r.text
    lunch = r.json()["id"]
    r = upload(stranger, tmp_path / "a.jpg", name="creme brulee.jpg")
    assert r.status_code == 201, r.text
    theirs = r.json()["id"]
    _wait_extracted(user, [dessert, lunch])
    _wait_extracted(stranger, [theirs])
    for asset_id, owner_of in ((lunch, user), (theirs, stranger)):
        r = owner_of.client.put(
            f"/api/assets/{asset_id}", json={"description": "Déjeuner à Zürich"}
        )
        assert r.status_code == 200, r.text

    def ids(who: User, body: dict) -> set[str]:
        return {a["id"] for a in _search(who, body)["assets"]["items"]}

    for name in ("Crème-Brûlée", "creme", "BRULEE", "brûl", "ete.jpg", "rulée ét"):
        assert ids(user, {"originalFileName": name}) == {dessert}, name
    assert ids(user, {"originalFileName": "img_00"}) == {lunch}  # "_" is no wildcard here...
    assert ids(user, {"originalFileName": "img%42"}) == set()  # ...nor "%"
    assert ids(user, {"originalFileName": "tiramisu"}) == set()
    for text in ("Déjeuner à Zürich", "zurich", "DEJEUNER A", "jeun", "ZÜR"):
        assert ids(user, {"description": text}) == {lunch}, text
    assert ids(user, {"description": "Genève"}) == set()
    assert ids(stranger, {"originalFileName": "Crème"}) == {theirs}  # only their own
    assert ids(stranger, {"description": "zurich"}) == {theirs}
