"""The sync stream's people, faces, OCR, asset metadata and user metadata types, over HTTP,
every line validated with jsonschema against the Immich spec's schema of its type.

What this proves, for each served type (``PeopleV1``, ``AssetFacesV1``/``V2``, ``AssetOcrV1``,
``AssetMetadataV1``, ``UserMetadataV1``): the data made through the API or the pipeline comes as
lines whose ``data`` validates against ``Sync<Type>`` of the spec (``$ref``s resolved, OpenAPI's
``nullable`` honoured) and has exactly its fields; after acking, the next stream has nothing
new; a deletion comes as the spec's delete line; another user gets none of it. Also: the
upload's ``metadata`` field is stored and served by ``/api/assets/{id}/metadata``, and a session
whose last sync predates pruned deletion audits gets ``SyncResetV1`` and then starts over.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import jsonschema
import pytest
from darkroom_db import create_pool
from darkroom_db import sync as sync_db
from darkroom_gateway import apidoc
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir

from tests.conftest import User, make_user, upload
from tests.faces import wait_faces_detected
from tests.test_ocr import TEXT, ocr_worker, render_text  # noqa: F401 - ocr_worker is a fixture
from tests.test_sync import Device, jpeg, upload_processed

SPEC_PATH = apidoc.default_spec_path()
FACE = (
    samples_dir() / "faces" / "face_recognition_knn/train/biden/biden.jpg"
    if samples_dir()
    else None
)

pytestmark = pytest.mark.skipif(not SPEC_PATH.is_file(), reason=f"no Immich spec at {SPEC_PATH}")

#: SyncEntityType -> its schema in the spec (as the spec's SyncStreamResponseDto pairs them).
SCHEMA_OF = {
    "PersonV1": "SyncPersonV1",
    "PersonDeleteV1": "SyncPersonDeleteV1",
    "AssetFaceV1": "SyncAssetFaceV1",
    "AssetFaceV2": "SyncAssetFaceV2",
    "AssetFaceDeleteV1": "SyncAssetFaceDeleteV1",
    "AssetOcrV1": "SyncAssetOcrV1",
    "AssetOcrDeleteV1": "SyncAssetOcrDeleteV1",
    "AssetMetadataV1": "SyncAssetMetadataV1",
    "AssetMetadataDeleteV1": "SyncAssetMetadataDeleteV1",
    "UserMetadataV1": "SyncUserMetadataV1",
    "UserMetadataDeleteV1": "SyncUserMetadataDeleteV1",
    "AssetV1": "SyncAssetV1",
    "AssetDeleteV1": "SyncAssetDeleteV1",
    "SyncCompleteV1": "SyncCompleteV1",
    "SyncResetV1": "SyncResetV1",
    "MemoryToAssetV1": "SyncMemoryAssetV1",
    "MemoryToAssetDeleteV1": "SyncMemoryAssetDeleteV1",
}


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema: ``nullable: true`` adds ``null`` to the ``type``
    (``pattern`` and ``format`` apply to strings only, so a null passes them)."""
    if isinstance(node, list):
        return [_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


@pytest.fixture(scope="module")
def components() -> dict[str, Any]:
    spec = apidoc.load_spec(SPEC_PATH)
    return {"components": _json_schema(copy.deepcopy(spec["components"]))}


def validate(components: dict[str, Any], lines: list[dict[str, Any]]) -> None:
    """Every line's ``data`` against the spec's schema of its type, with exactly its fields."""
    checker = jsonschema.Draft7Validator.FORMAT_CHECKER
    for line in lines:
        assert set(line) == {"type", "data", "ack"}, line
        name = SCHEMA_OF.get(line["type"], f"Sync{line['type']}")
        schema = {"$ref": f"#/components/schemas/{name}", **components}
        jsonschema.validate(line["data"], schema, format_checker=checker)
        properties = components["components"]["schemas"][name].get("properties", {})
        assert set(line["data"]) == set(properties), (line["type"], line["data"])


def data_lines(lines: list[dict[str, Any]], *types: str) -> list[dict[str, Any]]:
    return [line["data"] for line in lines if line["type"] in types]


def only_complete(lines: list[dict[str, Any]]) -> bool:
    return [line["type"] for line in lines] == ["SyncCompleteV1"]


@pytest.fixture(scope="module")
def carol(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def dave(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


def _poll(db_url: str, sql: str, *args: Any, wait_s: float = 300) -> Any:
    """Run ``sql`` every 0.5 s until it returns a truthy value (or ``wait_s`` s pass)."""

    async def run() -> Any:
        conn = await asyncpg.connect(db_url)
        try:
            deadline = time.monotonic() + wait_s
            while True:
                value = await conn.fetchval(sql, *args)
                if value or time.monotonic() > deadline:
                    return value
                await asyncio.sleep(0.5)
        finally:
            await conn.close()

    return asyncio.run(run())


def test_user_metadata_preferences_and_onboarding(
    stack: Stack, carol: User, dave: User, components: dict[str, Any]
) -> None:
    device = Device(stack, carol)
    r = carol.client.put("/api/users/me/preferences", json={"folders": {"enabled": True}})
    assert r.status_code == 200, r.text
    r = carol.client.put("/api/users/me/onboarding", json={"isOnboarded": True})
    assert r.status_code == 200, r.text
    lines = device.sync(["UserMetadataV1"])
    validate(components, lines)
    got = {d["key"]: d for d in data_lines(lines, "UserMetadataV1")}
    assert got["preferences"]["userId"] == carol.id
    assert got["preferences"]["value"]["folders"]["enabled"] is True
    assert got["onboarding"]["value"] == {"isOnboarded": True}
    assert carol.client.get("/api/users/me/preferences").json()["folders"]["enabled"] is True
    device.ack(lines)
    assert only_complete(device.sync(["UserMetadataV1"]))
    r = carol.client.put("/api/users/me/preferences", json={"tags": {"enabled": True}})
    assert r.status_code == 200, r.text
    lines = device.sync(["UserMetadataV1"])
    validate(components, lines)
    [changed] = data_lines(lines, "UserMetadataV1")
    assert changed["key"] == "preferences"
    assert changed["value"]["tags"]["enabled"] and changed["value"]["folders"]["enabled"]
    other = Device(stack, dave).sync(["UserMetadataV1"])
    assert all(d["userId"] == dave.id for d in data_lines(other, "UserMetadataV1"))


def test_asset_metadata_from_upload_routes_and_sync(
    stack: Stack, carol: User, dave: User, components: dict[str, Any]
) -> None:
    device = Device(stack, carol)
    first = device.sync(["AssetsV1", "AssetMetadataV1"])
    device.ack(first)
    cloud = {"iCloudId": f"ICLOUD-{uuid.uuid4()}"}
    r = carol.client.post(
        "/api/assets",
        files={"assetData": ("ios.jpg", jpeg(), "image/jpeg")},
        data={
            "deviceAssetId": uuid.uuid4().hex,
            "deviceId": "iphone",
            "fileCreatedAt": "2020-01-01T00:00:00.000Z",
            "fileModifiedAt": "2020-01-01T00:00:00.000Z",
            "metadata": json.dumps([{"key": "mobile-app", "value": cloud}]),
        },
    )
    assert r.status_code == 201, r.text
    asset_id = r.json()["id"]
    stored = carol.client.get(f"/api/assets/{asset_id}/metadata")
    assert stored.status_code == 200, stored.text
    assert [(m["key"], m["value"]) for m in stored.json()] == [("mobile-app", cloud)]
    one = carol.client.get(f"/api/assets/{asset_id}/metadata/mobile-app")
    assert one.status_code == 200 and one.json()["value"] == cloud
    # another user can neither read nor write it; an anonymous client is not let in
    assert dave.client.get(f"/api/assets/{asset_id}/metadata").status_code == 400
    assert dave.client.get(f"/api/assets/{asset_id}/metadata/mobile-app").status_code == 400
    anonymous = httpx.Client(base_url=stack.url, timeout=60)
    assert anonymous.get(f"/api/assets/{asset_id}/metadata").status_code == 401
    assert (
        anonymous.post("/api/sync/stream", json={"types": ["AssetMetadataV1"]}).status_code == 401
    )
    bad = dave.client.put(
        f"/api/assets/{asset_id}/metadata", json={"items": [{"key": "x", "value": {}}]}
    )
    assert bad.status_code == 400
    r = carol.client.put(
        f"/api/assets/{asset_id}/metadata", json={"items": [{"key": "note", "value": {"a": 1}}]}
    )
    assert r.status_code == 200 and r.json()[0]["key"] == "note", r.text

    lines = device.sync(["AssetsV1", "AssetMetadataV1"])
    validate(components, lines)
    meta = {(d["assetId"], d["key"]): d["value"] for d in data_lines(lines, "AssetMetadataV1")}
    assert meta == {(asset_id, "mobile-app"): cloud, (asset_id, "note"): {"a": 1}}
    device.ack(lines)
    # the pipeline may still touch the asset row; metadata lines must not come again
    assert data_lines(device.sync(["AssetMetadataV1"]), "AssetMetadataV1") == []

    # another user cannot delete it either (Immich's requireAccess: 400), nothing removed
    refused = dave.client.delete(f"/api/assets/{asset_id}/metadata/note")
    assert refused.status_code == 400 and set(refused.json()) == {"message"}, refused.text
    assert carol.client.get(f"/api/assets/{asset_id}/metadata/note").status_code == 200
    assert carol.client.delete(f"/api/assets/{asset_id}/metadata/note").status_code == 204
    lines = device.sync(["AssetMetadataV1"])
    validate(components, lines)
    assert data_lines(lines, "AssetMetadataDeleteV1") == [{"assetId": asset_id, "key": "note"}]
    device.ack(lines)
    assert only_complete(device.sync(["AssetMetadataV1"]))
    other = Device(stack, dave).sync(["AssetMetadataV1"])
    assert only_complete(other)


@pytest.mark.skipif(FACE is None or not FACE.is_file(), reason="face samples not found")
def test_people_and_faces(
    stack: Stack, carol: User, dave: User, components: dict[str, Any]
) -> None:
    assert FACE is not None
    db = stack.env()["DARKROOM_DATABASE_URL"]
    r = upload(carol, FACE)
    assert r.status_code == 201, r.text
    asset_id = r.json()["id"]
    assert wait_faces_detected(db, [asset_id], wait_s=300) == 1
    # recognition settles (no person near: "unmatched"), so nothing changes behind the test
    assert _poll(
        db,
        "SELECT count(*) > 0 AND bool_and(recognition IN ('unmatched', 'done')) "
        "FROM asset_faces WHERE asset_id = $1",
        uuid.UUID(asset_id),
    ), "faces were not detected or did not settle"
    faces = carol.client.get("/api/faces", params={"id": asset_id}).json()
    assert faces, "no face detected in the sample"
    person = carol.client.post("/api/people", json={"name": "Joe", "birthDate": "1942-11-20"})
    assert person.status_code == 201, person.text
    person_id = person.json()["id"]
    for face in faces:
        r = carol.client.put(f"/api/faces/{person_id}", json={"id": face["id"]})
        assert r.status_code == 200, r.text
    r = carol.client.post(
        "/api/faces",
        json={
            "assetId": asset_id, "personId": person_id, "imageWidth": faces[0]["imageWidth"],
            "imageHeight": faces[0]["imageHeight"], "x": 1, "y": 1, "width": 10, "height": 10,
        },
    )  # fmt: skip
    assert r.status_code == 201, r.text
    # the face service renders the person's thumbnail from its feature face in the background,
    # which changes the person (a later PersonV1): the test syncs once that has happened
    assert _poll(
        db,
        "SELECT coalesce(thumbnail_path, '') <> '' FROM people WHERE id = $1",
        uuid.UUID(person_id),
    ), "the person's thumbnail was never rendered"

    types = ["AssetsV1", "PeopleV1", "AssetFacesV1", "AssetFacesV2"]
    device = Device(stack, carol)
    lines = device.sync(types)
    validate(components, lines)
    people = {d["id"]: d for d in data_lines(lines, "PersonV1")}
    assert people[person_id]["name"] == "Joe" and people[person_id]["ownerId"] == carol.id
    assert people[person_id]["birthDate"].startswith("1942-11-20T00:00:00")
    for kind in ("AssetFaceV1", "AssetFaceV2"):
        mine = [d for d in data_lines(lines, kind) if d["assetId"] == asset_id]
        assert len(mine) == len(faces) + 1, (kind, mine)
        assert {d["personId"] for d in mine} == {person_id}
        assert {d["sourceType"] for d in mine} == {"machine-learning", "manual"}
    assert [line["type"] for line in lines].index("PersonV1") < [
        line["type"] for line in lines
    ].index("AssetFaceV1")  # parents first
    device.ack(lines)
    assert only_complete(device.sync(["PeopleV1", "AssetFacesV1", "AssetFacesV2"]))

    manual = next(
        f["id"]
        for f in carol.client.get("/api/faces", params={"id": asset_id}).json()
        if f["sourceType"] == "manual"
    )
    r = carol.client.request("DELETE", f"/api/faces/{manual}", json={"force": True})
    assert r.status_code == 204, r.text  # forced: deleted (without force, soft-deleted)
    assert carol.client.delete(f"/api/people/{person_id}").status_code == 204
    lines = device.sync(["PeopleV1", "AssetFacesV1", "AssetFacesV2"])
    validate(components, lines)
    assert data_lines(lines, "PersonDeleteV1") == [{"personId": person_id}]
    assert {"assetFaceId": manual} in data_lines(lines, "AssetFaceDeleteV1")
    # the detected faces stay, without their person
    assert [d["personId"] for d in data_lines(lines, "AssetFaceV2")] == [None] * len(faces)

    other = Device(stack, dave).sync(types)
    assert only_complete(other)


def test_ocr_lines_and_their_deletion(
    ocr_worker: None,  # noqa: F811 - the fixture imported from test_ocr
    stack: Stack,
    carol: User,
    dave: User,
    components: dict[str, Any],
    tmp_path: Any,
) -> None:
    db = stack.env()["DARKROOM_DATABASE_URL"]
    path = tmp_path / "invoice.jpg"
    path.write_bytes(render_text(TEXT))
    r = upload(carol, path)
    assert r.status_code == 201, r.text
    asset_id = r.json()["id"]
    assert _poll(
        db, "SELECT lines > 0 FROM asset_ocr_status WHERE asset_id = $1", uuid.UUID(asset_id)
    ), "OCR did not read the image"
    device = Device(stack, carol)
    lines = device.sync(["AssetsV1", "AssetOcrV1"])
    validate(components, lines)
    ocr = [d for d in data_lines(lines, "AssetOcrV1") if d["assetId"] == asset_id]
    assert "Invoice" in " ".join(d["text"] for d in ocr)
    assert all(0 <= d["x1"] <= 1 and 0 <= d["y3"] <= 1 and d["isVisible"] for d in ocr)
    device.ack(lines)
    assert data_lines(device.sync(["AssetOcrV1"]), "AssetOcrV1") == []

    r = carol.client.request("DELETE", "/api/assets", json={"ids": [asset_id], "force": True})
    assert r.status_code == 204, r.text
    lines = device.sync(["AssetsV1", "AssetOcrV1"])
    validate(components, lines)
    gone = data_lines(lines, "AssetOcrDeleteV1")
    assert {d["id"] for d in gone} == {d["id"] for d in ocr}
    assert {d["assetId"] for d in gone} == {asset_id}
    assert {"assetId": asset_id} in data_lines(lines, "AssetDeleteV1")
    assert only_complete(Device(stack, dave).sync(["AssetOcrV1"]))


def test_checkpoint_older_than_pruned_audit_gets_reset(
    stack: Stack, dave: User, components: dict[str, Any]
) -> None:
    device = Device(stack, dave)
    asset_id = upload_processed(dave)
    device.ack(device.sync(["AssetsV1"]))
    r = dave.client.request("DELETE", "/api/assets", json={"ids": [asset_id], "force": True})
    assert r.status_code == 204, r.text

    async def prune() -> int:
        pool = await create_pool(stack.env()["DARKROOM_DATABASE_URL"], max_size=1)
        try:  # the gateway's daily prune, with a retention of nothing
            return await sync_db.prune_audit(pool, timedelta(0))
        finally:
            await pool.close()

    assert asyncio.run(prune()) >= 1
    lines = device.sync(["AssetsV1"])
    validate(components, lines)
    assert [line["type"] for line in lines] == ["SyncResetV1"]
    lines = device.sync(["AssetsV1"], reset=True)
    assert lines[-1]["type"] == "SyncCompleteV1"
    assert asset_id not in {d["id"] for d in data_lines(lines, "AssetV1")}
    device.ack(lines)
    assert only_complete(device.sync(["AssetsV1"]))
    # a fresh session (no checkpoints) is never reset
    assert Device(stack, dave).sync(["AssetsV1"])[-1]["type"] == "SyncCompleteV1"
