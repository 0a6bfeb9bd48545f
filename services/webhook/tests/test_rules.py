"""Deciding workflows without I/O: which event decides one, and whether its filters pass."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from darkroom_db.workflow_plugin import BadConfig, UnknownMethod, method_of, parse_config
from darkroom_db.workflows import Step, Workflow
from darkroom_webhook import rules

T0 = datetime(2026, 1, 1, tzinfo=UTC)
OWNER = str(uuid.uuid4())
PERSON = str(uuid.uuid4())
ALBUM = str(uuid.uuid4())


def workflow(*steps: Step, trigger: str = "AssetCreate", created_at: datetime = T0) -> Workflow:
    return Workflow(
        id=uuid.uuid4(),
        owner_id=uuid.UUID(OWNER),
        name=None,
        description=None,
        trigger=trigger,  # type: ignore[arg-type]
        enabled=True,
        steps=list(steps),
        created_at=created_at,
        updated_at=created_at,
    )


def facts(**changes: object) -> rules.Facts:
    base = dict(
        owner_id=OWNER,
        type="IMAGE",
        original_file_name="IMG_0001.JPG",
        original_path=f"upload/{OWNER}/ab/cd/x.jpg",
        person_ids=frozenset(),
        album_ids=frozenset(),
    )
    base.update(changes)
    return rules.Facts(**base)  # type: ignore[arg-type]


def test_a_person_filter_waits_for_the_faces_whatever_the_trigger() -> None:
    person = Step(method="darkroom-core#filterPerson", config={"personIds": [PERSON]})
    assert rules.decided_on(workflow(person)) == "faces"
    assert rules.decided_on(workflow(person, trigger="AssetMetadataExtraction")) == "faces"
    # a disabled person filter does not hold the workflow back
    off = Step(method="filterPerson", config={"personIds": [PERSON]}, enabled=False)
    assert rules.decided_on(workflow(off)) == "created"
    assert rules.decided_on(workflow(trigger="AssetMetadataExtraction")) == "metadata"


def test_only_assets_created_since_the_workflow_are_candidates() -> None:
    wf = workflow(created_at=T0)
    assert rules.candidates([wf], "created", T0 + timedelta(seconds=1)) == [wf]
    assert rules.candidates([wf], "created", T0 - timedelta(seconds=1)) == []
    assert rules.candidates([wf], "faces", T0 + timedelta(seconds=1)) == []


def test_person_filter_any_or_all() -> None:
    other = str(uuid.uuid4())
    any_of = workflow(Step(method="filterPerson", config={"personIds": [PERSON, other]}))
    all_of = workflow(
        Step(method="filterPerson", config={"personIds": [PERSON, other], "matchAll": True})
    )
    assert rules.passes(any_of, facts(person_ids=frozenset({PERSON})))
    assert not rules.passes(all_of, facts(person_ids=frozenset({PERSON})))
    assert rules.passes(all_of, facts(person_ids=frozenset({PERSON, other})))
    assert not rules.passes(any_of, facts())


def test_type_owner_album_and_path_filters() -> None:
    videos = workflow(Step(method="filterFileType", config={"types": ["VIDEO"]}))
    assert not rules.passes(videos, facts())
    assert rules.passes(videos, facts(type="VIDEO"))
    owner = workflow(Step(method="filterOwner", config={"userIds": [str(uuid.uuid4())]}))
    assert not rules.passes(owner, facts())
    album = workflow(Step(method="filterAlbum", config={"albumIds": [ALBUM]}))
    assert rules.albums_named(album) == {uuid.UUID(ALBUM)}
    assert not rules.passes(album, facts())
    assert rules.passes(album, facts(album_ids=frozenset({ALBUM})))
    glob = workflow(Step(method="filterPath", config={"pattern": "img_*.jpg"}))
    assert rules.passes(glob, facts())  # case-insensitive by default
    exact = workflow(Step(method="filterPath", config={"pattern": "img_*", "caseSensitive": True}))
    assert not rules.passes(exact, facts())
    by_path = workflow(Step(method="filterPath", config={"pattern": f"upload/{OWNER}/*"}))
    assert rules.passes(by_path, facts())


def test_actions_in_step_order_disabled_ones_skipped() -> None:
    wf = workflow(
        Step(method="filterFileType", config={"types": ["IMAGE"]}),
        Step(method="actionArchive"),
        Step(method="actionFavorite", enabled=False),
        Step(method="actionAddToAlbum", config={"albumId": ALBUM}),
    )
    assert [(i, m.name) for i, m, _ in rules.actions(wf)] == [
        (1, "actionArchive"),
        (3, "actionAddToAlbum"),
    ]


def test_bad_steps_are_refused() -> None:
    with pytest.raises(UnknownMethod):
        method_of("immich-core#explode")
    with pytest.raises(BadConfig, match="actionAddToAlbum"):
        parse_config(method_of("actionAddToAlbum"), {"albumId": "not-a-uuid"})
    with pytest.raises(BadConfig):
        parse_config(method_of("actionArchive"), {"unexpected": 1})
    with pytest.raises(BadConfig):
        parse_config(method_of("actionWebhook"), {"url": "ftp://example.com/"})
