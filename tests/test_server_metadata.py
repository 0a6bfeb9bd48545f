"""System metadata, licences, the about page, APK links, legacy jobs and smaller Immich
mismatches, over HTTP against the running embedded stack (issue 13, items 3, 4 and 6).

Each response body is checked against its schema in the Immich 3.1.0 spec
(shared/reference/immich-openapi-specs.json) with jsonschema; each route is tried as its owner, as
an ordinary user (where the route is admin-only) and anonymously.
"""

from __future__ import annotations

import json
import time
import uuid
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from darkroom_stack.servers import free_port
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user

SPEC = Path(__file__).resolve().parents[2] / "shared" / "reference" / "immich-openapi-specs.json"
#: A key of the spec's LicenseKeyDto pattern (IMSV: server, IMCL: client/user).
SERVER_KEY = "IMSV-" + "-".join(["AB12"] * 8)
USER_KEY = "IMCL-" + "-".join(["CD34"] * 8)
#: An activation key of the form Immich's have (a 256-byte signature, base64url): the gateway
#: refuses one that cannot be a signature, but cannot check whose it is.
ACTIVATION_KEY = "Ab-_" * 85 + "Aw"


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema: ``nullable: true`` becomes a null alternative."""
    if isinstance(node, list):
        return [_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


@cache
def _components() -> dict[str, Any]:
    if not SPEC.exists():
        pytest.skip(f"{SPEC} is absent")
    return _json_schema(json.loads(SPEC.read_text())["components"])  # type: ignore[no-any-return]


def conforms(body: Any, schema: str, *, array: bool = False) -> Any:
    """Assert ``body`` validates against spec schema ``schema`` (or an array of it)."""
    ref: dict[str, Any] = {"$ref": f"#/components/schemas/{schema}"}
    root = {"components": _components(), **({"type": "array", "items": ref} if array else ref)}
    jsonschema.Draft7Validator(root, format_checker=jsonschema.FormatChecker()).validate(body)
    return body


def _anon(stack: Stack) -> httpx.Client:
    return httpx.Client(base_url=stack.url, timeout=60)


def _refused(r: httpx.Response, status: int) -> None:
    assert r.status_code == status, (r.request.url, r.status_code, r.text)
    body = r.json()  # Immich 3.1's error body: a message, and a validation error's details
    assert body["message"] and set(body) <= {"message", "errors"}, body


@pytest.fixture(scope="module")
def user(stack: Stack, admin: User) -> User:
    """An ordinary user of this module (not the admin)."""
    return make_user(stack, admin)


ADMIN_ONLY = [
    ("GET", "/api/system-metadata/admin-onboarding", None),
    ("POST", "/api/system-metadata/admin-onboarding", {"isOnboarded": True}),
    ("GET", "/api/system-metadata/reverse-geocoding-state", None),
    ("GET", "/api/system-metadata/version-check-state", None),
    ("GET", "/api/server/license", None),
    ("PUT", "/api/server/license", {"licenseKey": SERVER_KEY, "activationKey": "x"}),
    ("DELETE", "/api/server/license", None),
    ("GET", "/api/server/statistics", None),
    ("GET", "/api/jobs", None),
    ("GET", "/api/darkroom/privacy", None),
    ("PUT", "/api/darkroom/privacy", {"mapEnabled": False}),
]
SIGNED_IN = [
    ("GET", "/api/server/about", None),
    ("GET", "/api/server/apk-links", None),
    ("GET", "/api/users/me/license", None),
    ("PUT", "/api/users/me/license", {"licenseKey": USER_KEY, "activationKey": "x"}),
    ("DELETE", "/api/users/me/license", None),
]


def test_routes_refuse_as_immich_does(stack: Stack, user: User) -> None:
    """Admin-only routes: 403 for a user; every route: 401 anonymously."""
    with _anon(stack) as anon:
        for method, path, body in ADMIN_ONLY + SIGNED_IN:
            _refused(anon.request(method, path, json=body), 401)
    for method, path, body in ADMIN_ONLY:
        _refused(user.client.request(method, path, json=body), 403)


def test_admin_onboarding(stack: Stack, admin: User) -> None:
    path = "/api/system-metadata/admin-onboarding"
    try:
        r = admin.client.post(path, json={"isOnboarded": False})
        assert r.status_code == 204, r.text
        assert conforms(admin.client.get(path).json(), "AdminOnboardingUpdateDto") == {
            "isOnboarded": False
        }
        with _anon(stack) as anon:
            assert anon.get("/api/server/config").json()["isOnboarded"] is False
            assert admin.client.post(path, json={"isOnboarded": True}).status_code == 204
            assert admin.client.get(path).json() == {"isOnboarded": True}
            assert anon.get("/api/server/config").json()["isOnboarded"] is True
        _refused(admin.client.post(path, json={}), 400)
        _refused(admin.client.post(path, json={"isOnboarded": "yes"}), 400)
    finally:
        admin.client.post(path, json={"isOnboarded": True})


def test_reverse_geocoding_and_version_check_state(admin: User) -> None:
    state = admin.client.get("/api/system-metadata/reverse-geocoding-state")
    assert state.status_code == 200, state.text
    conforms(state.json(), "ReverseGeocodingStateResponseDto")
    check = admin.client.get("/api/system-metadata/version-check-state")
    assert conforms(check.json(), "VersionCheckStateResponseDto") == {
        "checkedAt": None,
        "releaseVersion": None,
    }


def test_privacy_map_choice_reaches_features(stack: Stack, admin: User) -> None:
    privacy = "/api/darkroom/privacy"
    try:
        default = {"mapEnabled": True, "versionCheckEnabled": False}
        assert admin.client.get(privacy).json() == default
        with _anon(stack) as anon:
            assert anon.get("/api/server/features").json()["map"] is True
            r = admin.client.put(privacy, json={"mapEnabled": False})
            assert r.json() == {"mapEnabled": False, "versionCheckEnabled": False}
            assert anon.get("/api/server/features").json()["map"] is False
        _refused(admin.client.put(privacy, json={"mapEnabled": "no"}), 400)
    finally:
        admin.client.put(privacy, json={"mapEnabled": True})


def test_server_license_is_stored(admin: User, user: User) -> None:
    try:
        _refused(admin.client.get("/api/server/license"), 404)
        body = {"licenseKey": SERVER_KEY, "activationKey": ACTIVATION_KEY}
        r = admin.client.put("/api/server/license", json=body)
        assert r.status_code == 200, r.text
        stored = conforms(r.json(), "LicenseResponseDto")
        assert stored["licenseKey"] == SERVER_KEY and stored["activationKey"] == ACTIVATION_KEY
        assert admin.client.get("/api/server/license").json() == stored
        assert admin.client.get("/api/server/about").json()["licensed"] is True
        assert user.client.get("/api/server/about").json()["licensed"] is True
        # a user (client) key, or one off the spec's pattern, is refused
        for key in (USER_KEY, "IMSV-1234", ""):
            bad = {"licenseKey": key, "activationKey": "a"}
            _refused(admin.client.put("/api/server/license", json=bad), 400)
        assert admin.client.delete("/api/server/license").status_code == 204
        _refused(admin.client.get("/api/server/license"), 404)
        assert admin.client.get("/api/server/about").json()["licensed"] is False
    finally:
        admin.client.delete("/api/server/license")


def test_user_license_is_stored_per_user(stack: Stack, admin: User, user: User) -> None:
    _refused(user.client.get("/api/users/me/license"), 404)
    body = {"licenseKey": USER_KEY, "activationKey": ACTIVATION_KEY}
    r = user.client.put("/api/users/me/license", json=body)
    assert r.status_code == 200, r.text
    stored = conforms(r.json(), "LicenseResponseDto")
    assert stored["licenseKey"] == USER_KEY
    assert user.client.get("/api/users/me/license").json() == stored
    other = make_user(stack, admin)
    _refused(other.client.get("/api/users/me/license"), 404)  # not another user's
    _refused(
        user.client.put(
            "/api/users/me/license", json={"licenseKey": SERVER_KEY, "activationKey": "a"}
        ),
        400,
    )
    assert user.client.delete("/api/users/me/license").status_code == 204
    _refused(user.client.get("/api/users/me/license"), 404)


def test_about_reports_component_versions(user: User) -> None:
    # the services report their libraries once started, which a loaded machine makes slow:
    # wait for the reports, with a generous ceiling
    deadline = time.monotonic() + 180
    about = user.client.get("/api/server/about").json()
    while not {"libvips", "ffmpeg", "exiftool"} <= set(about) and time.monotonic() < deadline:
        time.sleep(0.5)
        about = user.client.get("/api/server/about").json()
    conforms(about, "ServerAboutResponseDto")
    assert about["version"] == "v3.1.0" and about["versionUrl"].endswith("v3.1.0")
    # the services report what they loaded at start-up; the gateway asks the servers
    assert about["libvips"].count(".") == 2
    assert about["ffmpeg"][0].isdigit()
    assert about["exiftool"]
    image = about["buildImage"]
    for part in ("Python 3.", "PostgreSQL ", "pgvector 0.", "NATS 2."):
        assert part in image, image


def test_apk_links_and_theme(stack: Stack, user: User) -> None:
    links = conforms(user.client.get("/api/server/apk-links").json(), "ServerApkLinksDto")
    assert set(links) == {"arm64v8a", "armeabiv7a", "universal", "x86_64"}
    assert all(url.startswith("https://") and url.endswith(".apk") for url in links.values())
    with _anon(stack) as anon:
        assert anon.get("/api/server/theme").json() == {"customCss": ""}


def test_legacy_jobs_have_every_queue(admin: User) -> None:
    r = admin.client.get("/api/jobs")
    assert r.status_code == 200, r.text
    queues = conforms(r.json(), "QueuesResponseLegacyDto")
    assert "metadataExtraction" in queues and len(queues) == 19
    metadata = queues["metadataExtraction"]
    active = metadata["jobCounts"]["active"] > 0
    assert metadata["queueStatus"] == {"isActive": active, "isPaused": False}
    assert queues["workflow"]["jobCounts"] == dict.fromkeys(
        ("active", "completed", "delayed", "failed", "paused", "waiting"), 0
    )


def test_admin_created_users_must_change_password(admin: User) -> None:
    email = f"{uuid.uuid4().hex[:10]}@darkroom.test"
    body = {"email": email, "name": "New", "password": "a password 123"}
    r = admin.client.post("/api/admin/users", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["shouldChangePassword"] is True
    body = {**body, "email": "x" + email, "shouldChangePassword": False}
    assert admin.client.post("/api/admin/users", json=body).json()["shouldChangePassword"] is False


def test_preferences_carry_every_field(user: User) -> None:
    prefs = conforms(
        user.client.get("/api/users/me/preferences").json(), "UserPreferencesResponseDto"
    )
    spec = _components()["schemas"]
    for section, ref in spec["UserPreferencesResponseDto"]["properties"].items():
        fields = set(spec[ref["$ref"].split("/")[-1]]["properties"])
        assert set(prefs[section]) == fields, section
    assert prefs["people"]["minimumFaces"] == 3
    r = user.client.put("/api/users/me/preferences", json={"people": {"minimumFaces": 5}})
    assert r.json()["people"] == {"enabled": True, "minimumFaces": 5, "sidebarWeb": False}


def test_people_without_a_thumbnail_are_not_listed(user: User) -> None:
    r = user.client.post("/api/people", json={"name": "Nobody Yet"})
    assert r.status_code == 201, r.text
    person = r.json()
    assert person["thumbnailPath"] == ""
    assert user.client.get(f"/api/people/{person['id']}").status_code == 200
    listed = conforms(user.client.get("/api/people").json(), "PeopleResponseDto")
    assert person["id"] not in [p["id"] for p in listed["people"]]
    assert listed["total"] == 0


def test_admin_routes_refuse_before_reading_the_body(user: User) -> None:
    """The guard checks ``admin``/``permission`` (declared on the route) before the body is
    parsed: a user's malformed body is 403, not a validation error."""
    for path in ("/api/system-metadata/admin-onboarding",):
        _refused(user.client.post(path, json={"isOnboarded": "not a boolean"}), 403)
    _refused(user.client.put("/api/darkroom/privacy", json={"mapEnabled": "no"}), 403)


def test_user_responses_carry_the_stored_license(admin: User, user: User) -> None:
    """UserAdminResponseDto.license is the user's stored licence (null without one)."""
    assert (
        conforms(user.client.get("/api/users/me").json(), "UserAdminResponseDto")["license"] is None
    )
    body = {"licenseKey": USER_KEY, "activationKey": ACTIVATION_KEY}
    stored = user.client.put("/api/users/me/license", json=body).json()
    try:
        me = conforms(user.client.get("/api/users/me").json(), "UserAdminResponseDto")
        assert me["license"] == stored
        seen = conforms(
            admin.client.get(f"/api/admin/users/{user.id}").json(), "UserAdminResponseDto"
        )
        assert seen["license"] == stored
        listed = admin.client.get("/api/admin/users").json()
        conforms(listed, "UserAdminResponseDto", array=True)
        assert next(u for u in listed if u["id"] == user.id)["license"] == stored
        assert next(u for u in listed if u["id"] == admin.id)["license"] is None
    finally:
        assert user.client.delete("/api/users/me/license").status_code == 204
    assert user.client.get("/api/users/me").json()["license"] is None


def test_about_names_darkrooms_own_source(stack: Stack, user: User) -> None:
    """Only the required ``versionUrl`` (the Immich API version served) points at Immich; the
    source URLs are ``DARKROOM_SOURCE_URL``'s, left out while it is unset; no component
    Darkroom does not run is reported."""
    about = conforms(user.client.get("/api/server/about").json(), "ServerAboutResponseDto")
    urls = {k: v for k, v in about.items() if k.endswith("Url") and k != "versionUrl"}
    assert urls == {}, urls
    assert not {"nodejs", "imagemagick"} & set(about)
    source = "https://git.example.org/darkroom"
    port = free_port()
    proc, _ = stack.spawn_replica(
        "gateway", env={"DARKROOM_PORT": str(port), "DARKROOM_SOURCE_URL": source}
    )
    try:
        url = f"http://{stack.config.host}:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                r = httpx.get(f"{url}/api/server/about", headers={"x-api-key": user.api_key})
                if r.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, "the second gateway exited"
            assert time.monotonic() < deadline, "the second gateway did not start"
            time.sleep(0.3)
        about = conforms(r.json(), "ServerAboutResponseDto")
        assert about["repositoryUrl"] == about["sourceUrl"] == source
        assert about["thirdPartySourceUrl"] == source
    finally:
        proc.terminate()
        proc.wait(timeout=30)
