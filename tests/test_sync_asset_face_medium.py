"""Replays Immich's server/test/medium/specs/sync/sync-asset-face.spec.ts over HTTP.

What is checked (faces added by hand, POST /api/faces, so that no face model is needed): the
first face comes as one ``AssetFaceV2`` line with its ids, person, image size, bounding box
and source type, ``deletedAt`` null and ``isVisible`` true; once acked it does not come
again; a face deleted for good is an ``AssetFaceDeleteV1`` ``{assetFaceId}`` alone; another
user never gets either. (Faces found by the pipeline: tests/test_sync_types.py.)
"""

from __future__ import annotations

from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user
from tests.test_sync import Device, upload_processed


def _data(lines: list[dict]) -> list[tuple[str, dict]]:
    assert lines[-1]["type"] == "SyncCompleteV1"
    return [(x["type"], x["data"]) for x in lines[:-1]]


def test_face_then_its_deletion(stack: Stack, admin: User) -> None:
    user, stranger = make_user(stack, admin), make_user(stack, admin)
    asset_id = upload_processed(user)
    person = user.client.post("/api/people", json={"name": "Ann"})
    assert person.status_code == 201, person.text
    person_id = person.json()["id"]
    r = user.client.post(
        "/api/faces",
        json={
            "assetId": asset_id, "personId": person_id, "imageWidth": 64, "imageHeight": 48,
            "x": 4, "y": 6, "width": 20, "height": 10,
        },
    )  # fmt: skip
    assert r.status_code == 201, r.text
    [face] = user.client.get("/api/faces", params={"id": asset_id}).json()

    phone = Device(stack, user)
    lines = phone.sync(["AssetFacesV2"])
    assert _data(lines) == [
        (
            "AssetFaceV2",
            {
                "id": face["id"], "assetId": asset_id, "personId": person_id,
                "imageWidth": 64, "imageHeight": 48, "boundingBoxX1": 4, "boundingBoxY1": 6,
                "boundingBoxX2": 24, "boundingBoxY2": 16, "sourceType": "manual",
                "deletedAt": None, "isVisible": True,
            },
        )
    ]  # fmt: skip
    phone.ack(lines)
    assert _data(phone.sync(["AssetFacesV2"])) == []
    assert _data(Device(stack, stranger).sync(["AssetFacesV2"])) == []

    r = user.client.request("DELETE", f"/api/faces/{face['id']}", json={"force": True})
    assert r.status_code == 204, r.text
    lines = phone.sync(["AssetFacesV2"])
    assert _data(lines) == [("AssetFaceDeleteV1", {"assetFaceId": face["id"]})]
    phone.ack(lines)
    assert _data(phone.sync(["AssetFacesV2"])) == []
    assert _data(Device(stack, stranger).sync(["AssetFacesV2"])) == []
