"""Calendar heatmaps (GET /api/users/me/calendar-heatmap, /api/admin/users/{id}/calendar-heatmap)
on the session stack: assets counted per UTC day by upload or by capture, over ``from``..``to``
(both included, defaults: the 365 days up to today), refused to other users, shared-link
visitors and anonymous callers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user, noise_jpeg, upload_jpeg


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> tuple[User, list[str]]:
    """A fresh user with five photos taken on three days (two, two and one), uploaded today."""
    user = make_user(stack, admin)
    taken = [
        "2024-03-01T10:00:00.000Z",
        "2024-03-01T23:59:59.000Z",
        "2024-03-02T00:00:00.000Z",
        "2024-03-02T12:00:00.000Z",
        "2024-07-15T08:00:00.000Z",
    ]
    ids = [upload_jpeg(user, noise_jpeg(7100 + i), t) for i, t in enumerate(taken)]
    return user, ids


def test_taken_counts_per_day_in_the_period(owner: tuple[User, list[str]]) -> None:
    user, _ = owner
    r = user.client.get(
        "/api/users/me/calendar-heatmap",
        params={"from": "2024-03-01", "to": "2024-03-31", "type": "Taken"},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {
        "from": "2024-03-01",
        "to": "2024-03-31",
        "series": [{"date": "2024-03-01", "count": 2}, {"date": "2024-03-02", "count": 2}],
        "totalCount": 4,
    }
    whole = user.client.get(
        "/api/users/me/calendar-heatmap",
        params={"from": "2024-01-01", "to": "2024-12-31", "type": "Taken"},
    ).json()
    assert [d["count"] for d in whole["series"]] == [2, 2, 1] and whole["totalCount"] == 5
    edge = user.client.get(
        "/api/users/me/calendar-heatmap",
        params={"from": "2024-03-02", "to": "2024-03-02", "type": "Taken"},
    ).json()
    assert edge["series"] == [{"date": "2024-03-02", "count": 2}]


def test_upload_is_the_default_and_ends_today(owner: tuple[User, list[str]]) -> None:
    user, _ = owner
    before = datetime.now(UTC).date()
    r = user.client.get("/api/users/me/calendar-heatmap")
    after = datetime.now(UTC).date()
    assert r.status_code == 200, r.text
    body = r.json()
    today = body["to"]
    assert today in (before.isoformat(), after.isoformat())
    start = datetime.fromisoformat(today).date() - timedelta(days=364)
    assert body["from"] == start.isoformat()
    assert body["totalCount"] == 5  # every photo was uploaded within the last minutes
    assert sum(d["count"] for d in body["series"]) == 5
    assert {d["date"] for d in body["series"]} <= {before.isoformat(), after.isoformat()}
    # nothing was taken in the last year
    taken = user.client.get("/api/users/me/calendar-heatmap", params={"type": "Taken"}).json()
    assert taken["series"] == [] and taken["totalCount"] == 0


def test_trashed_assets_are_not_counted(stack: Stack, admin: User) -> None:
    user = make_user(stack, admin)
    ids = [upload_jpeg(user, noise_jpeg(7200 + i), "2023-05-05T05:00:00.000Z") for i in range(2)]
    assert user.client.request("DELETE", "/api/assets", json={"ids": ids[:1]}).status_code == 204
    body = user.client.get(
        "/api/users/me/calendar-heatmap",
        params={"from": "2023-05-05", "to": "2023-05-05", "type": "Taken"},
    ).json()
    assert body["totalCount"] == 1


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2024-02-30"},
        {"from": "yesterday"},
        {"to": "2024-1-1"},
        {"from": "2024-05-01", "to": "2024-04-01"},
        {"type": "Modified"},
    ],
)
def test_bad_parameters_are_400(owner: tuple[User, list[str]], params: dict[str, str]) -> None:
    user, _ = owner
    r = user.client.get("/api/users/me/calendar-heatmap", params=params)
    assert r.status_code == 400, (params, r.text)
    assert isinstance(r.json()["message"], str)


def test_admin_reads_any_user_and_others_are_refused(
    stack: Stack, admin: User, other_user: User, owner: tuple[User, list[str]]
) -> None:
    user, ids = owner
    path = f"/api/admin/users/{user.id}/calendar-heatmap"
    params = {"from": "2024-01-01", "to": "2024-12-31", "type": "Taken"}
    mine = user.client.get("/api/users/me/calendar-heatmap", params=params).json()
    by_admin = admin.client.get(path, params=params)
    assert by_admin.status_code == 200, by_admin.text
    assert by_admin.json() == mine
    assert user.client.get(path, params=params).json() == mine  # oneself
    refused = other_user.client.get(path, params=params)
    assert refused.status_code == 403, refused.text
    unknown = admin.client.get(
        "/api/admin/users/00000000-0000-4000-8000-000000000000/calendar-heatmap"
    )
    assert unknown.status_code == 400
    anon = httpx.Client(base_url=stack.url, timeout=60)
    assert anon.get("/api/users/me/calendar-heatmap").status_code == 401
    assert anon.get(path).status_code == 401
    link = user.client.post("/api/shared-links", json={"type": "INDIVIDUAL", "assetIds": ids[:1]})
    assert link.status_code == 201, link.text
    key = link.json()["key"]
    try:
        assert anon.get("/api/users/me/calendar-heatmap", params={"key": key}).status_code == 403
        assert anon.get(path, params={"key": key}).status_code == 403
    finally:
        user.client.delete(f"/api/shared-links/{link.json()['id']}")


def test_period_defaults_and_extremes() -> None:
    """The period's defaults (365 days up to today) hold at the ends of the calendar too."""
    from datetime import date

    from darkroom_gateway.domain.heatmap import period

    assert period(None, None, today=date(2026, 3, 1)) == (date(2025, 3, 2), date(2026, 3, 1))
    assert period(None, "0001-01-05", today=date(2026, 1, 1)) == (date(1, 1, 1), date(1, 1, 5))
    assert period("9999-12-31", "9999-12-31", today=date(2026, 1, 1)) == (
        date(9999, 12, 31),
        date(9999, 12, 31),
    )
