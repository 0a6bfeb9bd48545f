"""Replays Immich's e2e/src/api/specs/person.e2e-spec.ts (the ``/people`` routes of 3.x).

Checked against the running stack, case by case: authentication on every route (401), the
listing with and without hidden people and its pagination, 400 for an unknown person (read and
statistics), statistics counting assets not faces, creating (with a birth date, a colour, as a
favourite), null ``name``/``featureFaceAssetId``/``isHidden``/``isFavorite`` refused, a birth
date set and cleared, a colour set and cleared, merging a person into themselves refused. All of
these already had an equivalent test (tests/test_people*.py) and passed; kept here is the one
that differed:

* a birth date in the future is refused on create as on update (Immich's ``PersonCreateDto``:
  ``@MaxDateString(now)``, 400 ``Birth date cannot be in the future``; Darkroom checked it on
  update only and created the person).
"""

from __future__ import annotations

from datetime import date, timedelta

from tests.conftest import User


def test_a_future_birth_date_is_refused_on_create_as_on_update(admin: User) -> None:
    future = (date.today() + timedelta(days=400)).isoformat()
    for body in ({"birthDate": "9999-01-01"}, {"name": "Later", "birthDate": future}):
        r = admin.client.post("/api/people", json=body)
        assert r.status_code == 400, r.text
        assert r.json()["message"] == "Birth date cannot be in the future"
    made = admin.client.post("/api/people", json={"name": "Now", "birthDate": "1990-01-01"})
    assert made.status_code == 201 and made.json()["birthDate"] == "1990-01-01", made.text
    r = admin.client.put(f"/api/people/{made.json()['id']}", json={"birthDate": "9999-01-01"})
    assert r.status_code == 400 and r.json()["message"] == "Birth date cannot be in the future"
