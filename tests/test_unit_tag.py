"""Replays Immich's server/src/services/tag.service.spec.ts over HTTP, for what the other tag
modules (tests/test_tags.py, tests/test_e2e_tag.py, tests/test_medium_tag.py) leave open.

Checked here: ``PUT /api/tags`` (``upsert``) ignores leading and trailing slashes of a value
(``/Parent/Child/`` makes ``Parent`` and ``Parent/Child``, the child under the parent); an id
that names no tag is refused with 400 ``Not found or no tag.* access`` on ``GET``, ``DELETE``
and as the ``parentId`` of ``POST /api/tags`` (``get``/``remove``: ``requireAccess``;
``create``: "should handle invalid parent ids"). The rest of the spec (duplicate name, color,
foreign parent, bulk counts, ``duplicate``/``no_permission``/``not_found`` per asset, cleanup)
is covered by those modules.
"""

from __future__ import annotations

import uuid

import pytest
from darkroom_stack.supervisor import Stack

from .conftest import User, make_user


@pytest.fixture(scope="module")
def owner(stack: Stack, admin: User) -> User:
    """A fresh user whose tags are only this module's."""
    return make_user(stack, admin)


def test_upsert_ignores_leading_and_trailing_slashes(owner: User) -> None:
    r = owner.client.put("/api/tags", json={"tags": ["/Parent/Child/"]})
    assert r.status_code == 200, r.text
    (child,) = r.json()
    assert (child["value"], child["name"]) == ("Parent/Child", "Child")
    tags = {t["value"]: t for t in owner.client.get("/api/tags").json()}
    assert set(tags) == {"Parent", "Parent/Child"}
    assert child["parentId"] == tags["Parent"]["id"]
    assert "parentId" not in tags["Parent"]


def test_an_unknown_tag_id_is_refused(owner: User) -> None:
    nobody = str(uuid.uuid4())
    for method, path, body, permission in (
        ("GET", f"/api/tags/{nobody}", None, "tag.read"),
        ("DELETE", f"/api/tags/{nobody}", None, "tag.delete"),
        ("POST", "/api/tags", {"name": "Orphan", "parentId": nobody}, "tag.read"),
    ):
        r = owner.client.request(method, path, json=body)
        assert r.status_code == 400, (method, path, r.text)
        assert r.json()["message"] == f"Not found or no {permission} access", r.text
    assert "Orphan" not in {t["name"] for t in owner.client.get("/api/tags").json()}
