"""People, settings and administration pages in a real browser against the real stack.

Faces come from real photos of two people (../shared/samples/faces) through the face service;
every step checks the page AND the server's state over the API. Screenshots of each step go to
``test-output/web/people-*.png``.
"""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path

import httpx
import pytest
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir
from PIL import Image, ImageOps

from tests.conftest import User, make_user, upload
from tests.web.conftest import axe_violations, library_owner, needs_build, shot, signed_in_page

#: Two people with three photos each in labels.csv (a mirrored copy makes the fourth face):
#: Immich's default minFaces is 3, so both become people without the nightly pass.
PEOPLE = ("fr_obama", "fr_kit_harington")
#: How long the face step and clustering of 8 photos may take on a busy 2-core machine.
FACES_WAIT_S = 420
#: A count on the jobs page: queue name, statistic.
COUNT = 'li[data-queue="{}"] dd[data-count="{}"]'


def _face_photos() -> dict[str, list[tuple[str, bytes]]]:
    """Identity -> (file name, JPEG bytes) of its labelled photos plus a mirrored first one."""
    samples = samples_dir()
    faces = samples / "faces" if samples is not None else None
    if faces is None or not (faces / "labels.csv").is_file():
        pytest.skip("face samples absent: set DARKROOM_SAMPLES (needs faces/labels.csv)")
    out: dict[str, list[tuple[str, bytes]]] = {p: [] for p in PEOPLE}
    for row in csv.DictReader((faces / "labels.csv").open()):
        if row["person"] in out:
            path = faces / row["file"]
            out[row["person"]].append((f"{row['person']}-{path.name}", path.read_bytes()))
    for person, photos in out.items():
        first = faces / next(
            r["file"]
            for r in csv.DictReader((faces / "labels.csv").open())
            if r["person"] == person
        )
        with Image.open(first) as im:
            mirrored = ImageOps.mirror(ImageOps.exif_transpose(im).convert("RGB"))
        buf = io.BytesIO()
        mirrored.save(buf, "JPEG", quality=90)
        photos.append((f"{person}-mirror.jpg", buf.getvalue()))
    return out


def _biggest_face_person(user: User, asset_id: str) -> str | None:
    """The person id of the largest face in an asset (each sample shows one main face)."""
    faces = user.client.get("/api/faces", params={"id": asset_id}).json()
    if not faces:
        return None
    big = max(faces, key=lambda f: f["boundingBoxX2"] - f["boundingBoxX1"])
    return big["person"]["id"] if big["person"] else None


def _wait_for_people(user: User, uploaded: dict[str, list[str]]) -> dict[str, str]:
    """Identity -> person id, once every uploaded photo's main face is on a person that
    GET /api/people lists and the two identities are different people."""
    deadline = time.monotonic() + FACES_WAIT_S
    while True:
        found: dict[str, set[str | None]] = {
            who: {_biggest_face_person(user, a) for a in ids} for who, ids in uploaded.items()
        }
        listed = {p["id"] for p in user.client.get("/api/people").json()["people"]}
        if all(len(s) == 1 and None not in s and s <= listed for s in found.values()):
            people = {who: next(iter(s)) for who, s in found.items()}
            if len(set(people.values())) == len(people):
                return people  # type: ignore[return-value]
        assert time.monotonic() < deadline, f"people never formed: {found}, listed {listed}"
        time.sleep(3)


def _wait_for_failure(admin: User, asset_id: str, wait_s: float = 180) -> tuple[str, dict]:
    """(queue name, failed job) once some queue lists a dead letter for ``asset_id``."""
    deadline = time.monotonic() + wait_s
    while True:
        for queue in admin.client.get("/api/queues").json():
            if queue["statistics"]["failed"] == 0:
                continue
            jobs = admin.client.get(
                f"/api/queues/{queue['name']}/jobs", params={"status": "failed"}
            ).json()
            for job in jobs:
                if job["data"].get("id") == asset_id:
                    return queue["name"], job
        assert time.monotonic() < deadline, f"no queue failed the broken asset {asset_id}"
        time.sleep(2)


def _statistics(user: User, person_id: str) -> int:
    r = user.client.get(f"/api/people/{person_id}/statistics")
    assert r.status_code == 200, r.text
    return int(r.json()["assets"])


@pytest.mark.samples
def test_people_name_open_hide_merge(
    stack: Stack, browser: object, request: pytest.FixtureRequest
) -> None:
    """Real faces of two people become two people; one is named on /people (the API sees the
    name), its page lists exactly its photos, the other is hidden and shown again, then merged
    into the first (gone from the list and the API; the first's photo count grows)."""
    needs_build()
    photos = _face_photos()
    user = library_owner(stack, request)
    uploaded: dict[str, list[str]] = {}
    for who, files in photos.items():
        for name, data in files:
            r = upload(user, Path(name), name=name, data=data)
            assert r.status_code in (200, 201), r.text
            uploaded.setdefault(who, []).append(r.json()["id"])
    people = _wait_for_people(user, uploaded)
    obama, kit = people["fr_obama"], people["fr_kit_harington"]

    page = signed_in_page(browser, stack, user)
    page.goto("/people")  # type: ignore[attr-defined]
    card = page.locator(f'li[data-person-id="{obama}"]')  # type: ignore[attr-defined]
    card.wait_for()
    page.locator(f'li[data-person-id="{kit}"]').wait_for()  # type: ignore[attr-defined]
    face = card.locator("img")
    deadline = time.monotonic() + FACES_WAIT_S  # loads, and may be reloaded by on_person_thumbnail
    while not face.evaluate("img => img.complete && img.naturalWidth > 0"):
        assert time.monotonic() < deadline, "the person's face never loaded"
        time.sleep(0.2)
    shot(page, "people-01-grid")

    # Name a person in place.
    card.locator("input").fill("Barack Obama")
    card.locator("input").press("Enter")
    page.get_by_role("status").get_by_text("Saved Barack Obama").wait_for()  # type: ignore[attr-defined]
    assert user.client.get(f"/api/people/{obama}").json()["name"] == "Barack Obama"
    shot(page, "people-02-named")

    # Their page: the header and exactly their photos.
    card.get_by_role("link").click()
    page.wait_for_url(f"**/people/{obama}")  # type: ignore[attr-defined]
    count = _statistics(user, obama)
    assert count == len(uploaded["fr_obama"])
    page.get_by_text(f"{count} photos").wait_for()  # type: ignore[attr-defined]
    assert page.get_by_label("Name of person").input_value() == "Barack Obama"  # type: ignore[attr-defined]
    tiles = page.locator("main a[data-asset-id]")  # type: ignore[attr-defined]
    tiles.nth(count - 1).wait_for()
    assert tiles.count() == count
    shown = {tiles.nth(i).get_attribute("data-asset-id") for i in range(count)}
    assert shown == set(uploaded["fr_obama"])
    shot(page, "people-03-person-page")
    # The viewer opens over the person's timeline and closes back to it.
    tiles.first.click()
    page.wait_for_url(re.compile(rf"/people/{obama}/photos/[0-9a-f-]{{36}}$"))  # type: ignore[attr-defined]
    page.get_by_role("dialog", name="Asset viewer").wait_for()  # type: ignore[attr-defined]
    shot(page, "people-04-viewer")
    page.keyboard.press("Escape")  # type: ignore[attr-defined]
    page.wait_for_url(f"**/people/{obama}/photos")  # type: ignore[attr-defined]
    page.get_by_text(f"{count} photos").wait_for()  # type: ignore[attr-defined]

    # Hide the other person: gone from the grid, back with "Show hidden", then shown again.
    page.goto("/people")  # type: ignore[attr-defined]
    other = page.locator(f'li[data-person-id="{kit}"]')  # type: ignore[attr-defined]
    other.get_by_role("button", name="Hide unnamed person").click()
    other.wait_for(state="detached")
    assert user.client.get(f"/api/people/{kit}").json()["isHidden"] is True
    assert kit not in {p["id"] for p in user.client.get("/api/people").json()["people"]}
    page.get_by_text("1 hidden").wait_for()  # type: ignore[attr-defined]
    shot(page, "people-05-hidden")
    page.get_by_label("Show hidden").check()  # type: ignore[attr-defined]
    other.get_by_text("Hidden", exact=True).wait_for()
    shot(page, "people-06-show-hidden")
    other.get_by_role("button", name="Show unnamed person").click()
    page.get_by_role("status").get_by_text("Showing unnamed person").wait_for()  # type: ignore[attr-defined]
    assert user.client.get(f"/api/people/{kit}").json()["isHidden"] is False

    # Merge the other person into Barack Obama.
    before, kit_photos = _statistics(user, obama), _statistics(user, kit)
    total_before = user.client.get("/api/people").json()["total"]
    card.get_by_role("button", name="Merge people into Barack Obama").click()
    other.get_by_role("button", name="Choose unnamed person to merge").click()
    shot(page, "people-07-merge-choose")
    dialogs: list[str] = []

    def accept(dialog: object) -> None:
        dialogs.append(dialog.message)  # type: ignore[attr-defined]
        dialog.accept()  # type: ignore[attr-defined]

    page.once("dialog", accept)  # type: ignore[attr-defined]
    page.get_by_role("region", name="Merge people").get_by_role("button", name="Merge").click()  # type: ignore[attr-defined]
    page.get_by_role("status").get_by_text("Merged 1 person into Barack Obama").wait_for()  # type: ignore[attr-defined]
    assert "into Barack Obama" in dialogs[0]
    other.wait_for(state="detached")
    assert user.client.get(f"/api/people/{kit}").status_code == 400
    assert user.client.get("/api/people").json()["total"] == total_before - 1
    assert _statistics(user, obama) == before + kit_photos > before
    shot(page, "people-08-merged")
    assert axe_violations(page) == []

    # Phone width: the grid still fits.
    page.set_viewport_size({"width": 390, "height": 800})  # type: ignore[attr-defined]
    # laid out again for the new width (the phone navigation swaps in), then nothing overflows
    page.wait_for_function("() => document.documentElement.scrollWidth <= 390")  # type: ignore[attr-defined]
    shot(page, "people-09-phone")
    assert page.errors == [], page.errors  # type: ignore[attr-defined]
    page.context.close()  # type: ignore[attr-defined]


def test_settings_password_and_api_keys(
    stack: Stack, browser: object, request: pytest.FixtureRequest
) -> None:
    """Rename yourself; a wrong current password is refused, a mismatched confirmation blocks
    the form, the right one changes the password (new works, old fails over the API); an API
    key made in the UI works with its shown secret, is renamed, and fails once deleted."""
    needs_build()
    user = library_owner(stack, request)
    page = signed_in_page(browser, stack, user)
    page.goto("/settings")  # type: ignore[attr-defined]
    account = page.get_by_role("region", name="Account")  # type: ignore[attr-defined]
    assert account.get_by_label("Email").input_value() == user.email
    account.get_by_label("Name").fill("Grace")
    account.get_by_role("button", name="Save name").click()
    account.get_by_role("status").get_by_text("Name saved").wait_for()
    assert user.client.get("/api/users/me").json()["name"] == "Grace"
    shot(page, "people-10-settings")

    form = page.get_by_role("region", name="Password")  # type: ignore[attr-defined]
    new_password = "a much newer password"
    form.get_by_label("Current password").fill("not my password")
    form.get_by_label("New password", exact=True).fill(new_password)
    form.get_by_label("Confirm new password").fill(new_password + "!")
    form.get_by_text("The new passwords do not match").wait_for()
    assert form.get_by_role("button", name="Change password").is_disabled()
    form.get_by_label("Confirm new password").fill(new_password)
    form.get_by_role("button", name="Change password").click()
    form.get_by_role("alert").get_by_text("Wrong password").wait_for()
    shot(page, "people-11-wrong-password")
    form.get_by_label("Current password").fill(user.password)
    form.get_by_role("button", name="Change password").click()
    form.get_by_role("status").get_by_text("Password changed").wait_for()
    with httpx.Client(base_url=stack.url, timeout=30) as anon:
        new = anon.post("/api/auth/login", json={"email": user.email, "password": new_password})
        assert new.status_code == 201, new.text
        other_token = new.json()["accessToken"]  # another device's session
        old = anon.post("/api/auth/login", json={"email": user.email, "password": user.password})
        assert old.status_code == 401, old.text
    shot(page, "people-12-password-changed")

    keys = page.get_by_role("region", name="API keys")  # type: ignore[attr-defined]
    keys.get_by_label("Key name").fill("pytest-ui")
    keys.get_by_role("button", name="New API key").click()
    secret = keys.get_by_label("API key secret")
    secret.wait_for()
    secret.scroll_into_view_if_needed()
    value = secret.input_value()
    assert len(value) >= 20
    shot(page, "people-13-api-key-created")
    with httpx.Client(base_url=stack.url, headers={"x-api-key": value}, timeout=30) as keyed:
        me = keyed.get("/api/users/me")
        assert me.status_code == 200 and me.json()["email"] == user.email
        made = next(k for k in user.client.get("/api/api-keys").json() if k["name"] == "pytest-ui")
        assert made["permissions"] == ["all"]
        row = keys.locator(f'li[data-key-id="{made["id"]}"]')
        row.get_by_role("button", name="Rename pytest-ui").click()
        row.get_by_label("New name of pytest-ui").fill("pytest-renamed")
        row.get_by_role("button", name="Save").click()
        row.get_by_text("pytest-renamed").wait_for()
        assert user.client.get(f"/api/api-keys/{made['id']}").json()["name"] == "pytest-renamed"
        page.once("dialog", lambda d: d.accept())  # type: ignore[attr-defined]
        row.get_by_role("button", name="Delete pytest-renamed").click()
        row.wait_for(state="detached")
        secret.wait_for(state="detached")  # the secret of a deleted key is no use any more
        assert keyed.get("/api/users/me").status_code == 401
    assert all(k["id"] != made["id"] for k in user.client.get("/api/api-keys").json())
    shot(page, "people-14-api-key-deleted")

    # The devices list marks this browser's session as the current one.
    devices = page.get_by_role("region", name="Devices")  # type: ignore[attr-defined]
    page.reload()  # type: ignore[attr-defined]
    devices.get_by_text("This device").wait_for()
    sessions = user.client.get("/api/sessions").json()
    assert len(sessions) >= 2  # this browser and the login with the new password
    assert devices.get_by_role("listitem").count() == len(sessions)
    devices.scroll_into_view_if_needed()
    shot(page, "people-15-devices")
    page.once("dialog", lambda d: d.accept())  # type: ignore[attr-defined]
    devices.get_by_role("button", name="Log out all other devices").click()
    devices.get_by_role("button", name="Log out all other devices").wait_for(state="detached")
    assert devices.get_by_role("listitem").count() == 1
    assert [s["current"] for s in user.client.get("/api/sessions").json()] == [False]
    bearer = {"Authorization": f"Bearer {other_token}"}
    assert httpx.get(f"{stack.url}/api/users/me", headers=bearer).status_code == 401
    assert axe_violations(page) == []
    page.set_viewport_size({"width": 390, "height": 800})  # type: ignore[attr-defined]
    # laid out again for the new width (the phone navigation swaps in), then nothing overflows
    page.wait_for_function("() => document.documentElement.scrollWidth <= 390")  # type: ignore[attr-defined]
    shot(page, "people-16-settings-phone")
    assert page.errors == [], page.errors  # type: ignore[attr-defined]
    page.context.close()  # type: ignore[attr-defined]


def test_admin_users_and_jobs(
    stack: Stack, browser: object, admin: User, request: pytest.FixtureRequest
) -> None:
    """The admin sees the users and each queue's counts (equal to GET /api/queues), creates a
    user in the UI (the API lists it) and deletes it; a non-admin gets "Administrators only"
    and the API answers 403."""
    needs_build()
    page = signed_in_page(browser, stack, admin)
    page.goto("/admin")  # type: ignore[attr-defined]
    page.get_by_role("cell", name=admin.email, exact=True).wait_for()  # type: ignore[attr-defined]
    listed = {
        u["email"]
        for u in admin.client.get("/api/admin/users", params={"withDeleted": "true"}).json()
    }  # the page lists deleted users too (to restore them)
    rows = page.locator("tr[data-user-id]")  # type: ignore[attr-defined]
    assert rows.count() == len(listed)
    shot(page, "people-17-admin-users")

    email, password = "created-in-ui@darkroom.test", "a password long enough"
    page.get_by_role("button", name="Create user").click()  # type: ignore[attr-defined]
    form = page.get_by_role("form", name="Create user")  # type: ignore[attr-defined]
    form.get_by_label("Email").fill(email)
    form.get_by_label("Name").fill("Created In UI")
    form.get_by_label("Password").fill(password)
    form.get_by_role("button", name="Create", exact=True).click()
    page.get_by_role("status").get_by_text(f"Created {email}").wait_for()  # type: ignore[attr-defined]
    made = next(u for u in admin.client.get("/api/admin/users").json() if u["email"] == email)
    assert made["name"] == "Created In UI" and made["isAdmin"] is False
    with httpx.Client(base_url=stack.url, timeout=30) as anon:
        login = anon.post(
            "/api/auth/login", json={"email": email, "password": "a password long enough"}
        )
        assert login.status_code == 201, login.text
    shot(page, "people-18-user-created")
    page.get_by_role("button", name=f"Delete {email}").click()  # type: ignore[attr-defined]
    page.get_by_role("form", name=f"Delete {email}").get_by_role(  # type: ignore[attr-defined]
        "button", name="Delete user"
    ).click()
    page.get_by_role("button", name=f"Restore {email}").wait_for()  # type: ignore[attr-defined]
    assert all(u["email"] != email for u in admin.client.get("/api/admin/users").json())
    deleted = admin.client.get("/api/admin/users", params={"withDeleted": "true"}).json()
    assert next(u for u in deleted if u["id"] == made["id"])["status"] == "deleted"

    # A JPEG cut after its header fails in the pipeline: a queue counts a failed job.
    cut = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 512
    broken = upload(admin, Path("broken.jpg"), name="broken.jpg", data=cut)
    assert broken.status_code in (200, 201), broken.text
    broken_id = broken.json()["id"]
    failed = _wait_for_failure(admin, broken_id)

    # Jobs: every queue's counts as the API gives them (polled, so wait for a settled match).
    page.get_by_role("link", name="Jobs").click()  # type: ignore[attr-defined]
    page.wait_for_url("**/admin/jobs")  # type: ignore[attr-defined]
    deadline = time.monotonic() + 60
    while True:
        api = {q["name"]: q["statistics"] for q in admin.client.get("/api/queues").json()}
        page.wait_for_timeout(3500)  # type: ignore[attr-defined]
        shown = {
            name: {
                key: int(
                    page.locator(f'li[data-queue="{name}"] dd[data-count="{key}"]').inner_text()
                )  # type: ignore[attr-defined]
                for key in ("active", "waiting", "delayed", "failed", "completed")
            }
            for name in api
        }
        wanted = {
            name: {k: stats[k] for k in ("active", "waiting", "delayed", "failed", "completed")}
            for name, stats in api.items()
        }
        if shown == wanted:
            break
        assert time.monotonic() < deadline, (shown, wanted)
    assert page.locator("li[data-queue]").count() == len(api)  # type: ignore[attr-defined]
    shot(page, "people-19-admin-jobs")
    # The failed job expands with its asset and the reason the service gave.
    queue_name, job = failed
    queue = page.locator(f'li[data-queue="{queue_name}"]')  # type: ignore[attr-defined]
    queue.get_by_role("button", name="Show failed jobs").click()
    item = queue.locator(f'li:has(a[href="/photos/{broken_id}"])')
    item.wait_for()
    assert item.locator("pre").inner_text().strip() == str(job["data"]["error"]).strip()
    item.scroll_into_view_if_needed()
    shot(page, "people-20-failed-job")
    assert axe_violations(page) == []
    page.set_viewport_size({"width": 390, "height": 800})  # type: ignore[attr-defined]
    # laid out again for the new width (the phone navigation swaps in), then nothing overflows
    page.wait_for_function("() => document.documentElement.scrollWidth <= 390")  # type: ignore[attr-defined]
    shot(page, "people-21-jobs-phone")
    assert page.errors == [], page.errors  # type: ignore[attr-defined]
    page.context.close()  # type: ignore[attr-defined]

    # Not an admin: the page says so and the API refuses.
    plain = make_user(stack, admin)
    assert plain.client.get("/api/queues").status_code == 403
    assert plain.client.get("/api/admin/users").status_code == 403
    other = signed_in_page(browser, stack, plain)
    other.goto("/admin/jobs")  # type: ignore[attr-defined]
    other.get_by_role("alert").get_by_text("Administrators only").wait_for()  # type: ignore[attr-defined]
    assert other.locator("li[data-queue]").count() == 0  # type: ignore[attr-defined]
    assert other.get_by_role("link", name="Administration").count() == 0  # type: ignore[attr-defined]
    shot(other, "people-22-not-admin")
    assert other.errors == [], other.errors  # type: ignore[attr-defined]
    other.context.close()  # type: ignore[attr-defined]
