"""Replays Immich's server/test/medium/specs/sync/sync-types.spec.ts over HTTP.

What is checked: every ``SyncRequestType`` of the spec is accepted in one stream, which ends
with ``SyncCompleteV1``; the request types are answered in Immich's ``SYNC_TYPES_ORDER``
(whatever order the request lists them in), in particular album assets before the albums that
point at them (``thumbnailAssetId``), exifs after their assets, faces after people.
"""

from __future__ import annotations

import json
from typing import Any

from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user
from tests.test_sync import Device, upload_processed
from tests.test_sync_types import SPEC_PATH

#: Immich 3.1's SYNC_TYPES_ORDER (server/src/services/sync.service.ts).
IMMICH_ORDER = [
    "AuthUsersV1", "UsersV1", "PartnersV1", "AssetsV1", "AssetsV2", "StacksV1",
    "PartnerAssetsV1", "PartnerAssetsV2", "PartnerStacksV1", "AlbumAssetsV1", "AlbumAssetsV2",
    "AlbumsV1", "AlbumsV2", "AlbumUsersV1", "AlbumToAssetsV1", "AssetExifsV1",
    "AlbumAssetExifsV1", "AssetOcrV1", "PartnerAssetExifsV1", "MemoriesV1", "MemoryToAssetsV1",
    "PeopleV1", "AssetFacesV1", "AssetFacesV2", "UserMetadataV1", "AssetMetadataV1",
    "AssetEditsV1",
]  # fmt: skip


def _request_types() -> list[str]:
    spec = json.loads(SPEC_PATH.read_text())
    return list(spec["components"]["schemas"]["SyncRequestType"]["enum"])


def test_every_request_type_is_in_the_order() -> None:
    assert sorted(IMMICH_ORDER) == sorted(_request_types())
    assert IMMICH_ORDER.index("AlbumsV1") > IMMICH_ORDER.index("AlbumAssetsV1")


def test_types_are_streamed_in_immichs_order(stack: Stack, admin: User) -> None:
    from darkroom_gateway.domain.sync import SERVED

    owner, viewer = make_user(stack, admin), make_user(stack, admin)
    asset_id = upload_processed(owner)
    r = owner.client.post("/api/albums", json={"albumName": "order", "assetIds": [asset_id]})
    assert r.status_code == 201, r.text
    album_id = r.json()["id"]
    r = owner.client.put(
        f"/api/albums/{album_id}/users", json={"albumUsers": [{"userId": viewer.id}]}
    )
    assert r.status_code == 200, r.text

    lines = Device(stack, viewer).sync(list(reversed(_request_types())))
    assert lines[-1]["type"] == "SyncCompleteV1"
    request_of: dict[str, Any] = {}
    for request_type, entity_types in SERVED.items():
        for entity_type in entity_types:
            request_of.setdefault(entity_type, request_type)
    kinds = [request_of[line["type"]] for line in lines[:-1]]
    ranks = [IMMICH_ORDER.index(k) for k in kinds]
    assert ranks == sorted(ranks), kinds
    types = [line["type"] for line in lines]
    assert types.index("AlbumAssetCreateV2") < types.index("AlbumV2"), types
