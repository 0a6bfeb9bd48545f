from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import darkroom_events as ev
import msgspec
import pytest
from darkroom_events.docs import render

DOC = Path(__file__).resolve().parents[3] / "docs" / "events.md"

# One example payload per registered event, as an integration would receive it.
EXAMPLES: dict[str, bytes] = {
    "darkroom.asset.created": b'{"version":1,"asset_id":"6f0c7c8e-1b1a-4a8e-9d3e-0c5f6f3f7c1a",'
    b'"owner_id":"0b6f1c2e-0000-4000-8000-000000000001","type":"IMAGE",'
    b'"original_key":"upload/0b6f/6f/0c/6f0c7c8e.jpg","original_file_name":"IMG_0001.jpg",'
    b'"mime_type":"image/jpeg","checksum":"a9993e364706816aba3e25717850c26c9cd0d89d",'
    b'"file_size":123456,"file_created_at":"2024-05-01T12:00:00Z",'
    b'"file_modified_at":"2024-05-01T12:00:00Z"}',
    "darkroom.asset.metadata.extracted": b'{"asset_id":"a","owner_id":"o","type":"VIDEO",'
    b'"original_key":"k","mime_type":"video/quicktime","width":1920,"height":1080,'
    b'"orientation":6,"captured_at":"2024-05-01T14:00:00+02:00"}',
    "darkroom.asset.thumbnail.generated": b'{"asset_id":"a","owner_id":"o","type":"IMAGE",'
    b'"preview_key":"p","thumbnail_key":"t","preview_width":1920,"preview_height":1440}',
    "darkroom.asset.video.transcoded": b'{"asset_id":"a","owner_id":"o","encoded_key":"e"}',
    "darkroom.asset.embedding.computed": b'{"asset_id":"a","owner_id":"o","model":"ViT-B-32"}',
    "darkroom.asset.faces.detected": b'{"asset_id":"a","owner_id":"o","face_count":2}',
    "darkroom.asset.failed": b'{"asset_id":"a","step":"thumbnail","reason":"corrupt JPEG"}',
    "darkroom.asset.deleted": b'{"asset_id":"a","owner_id":"o"}',
    "darkroom.asset.faces.recognized": b'{"asset_id":"a","owner_id":"o",'
    b'"person_ids":["p1","p2"],"unassigned":1}',
    "darkroom.person.created": b'{"person_id":"p","owner_id":"o","face_id":"f","asset_id":"a"}',
    "darkroom.asset.trashed": b'{"owner_id":"o","asset_ids":["a","b"],"at":"2024-05-01T12:00:00Z"}',
    "darkroom.asset.restored": b'{"owner_id":"o","asset_ids":["a"],"at":"2024-05-01T12:00:00Z"}',
    "darkroom.asset.updated": b'{"asset_id":"a","owner_id":"o","at":"2024-05-01T12:00:00Z"}',
    "darkroom.session.deleted": b'{"session_id":"s","user_id":"u"}',
    "darkroom.api_key.deleted": b'{"api_key_id":"k","user_id":"u"}',
    "darkroom.person.thumbnail.updated": b'{"person_id":"p","owner_id":"o","face_id":"f",'
    b'"thumbnail_key":"thumbs/o/ab/cd/p.jpeg","at":"2024-05-01T12:00:00Z"}',
    "darkroom.asset.hidden": b'{"asset_id":"v","owner_id":"o","still_id":"a"}',
    "darkroom.asset.shown": b'{"asset_id":"v","owner_id":"o","still_id":"a"}',
    "darkroom.partner.added": b'{"shared_by_id":"a","shared_with_id":"b",'
    b'"at":"2024-05-01T12:00:00Z"}',
    "darkroom.partner.removed": b'{"shared_by_id":"a","shared_with_id":"b",'
    b'"at":"2024-05-01T12:00:00Z"}',
    "darkroom.activity.created": b'{"activity_id":"ac","album_id":"al","asset_id":"a",'
    b'"user_id":"u","type":"comment"}',
    "darkroom.activity.deleted": b'{"activity_id":"ac","album_id":"al","user_id":"u"}',
    "darkroom.notification.created": b'{"notification_id":"n","user_id":"u","type":"AlbumInvite"}',
    "darkroom.notification.email.requested": b'{"notification_id":"n","user_id":"u"}',
    "darkroom.album.shared": b'{"album_id":"al","owner_id":"o","user_ids":["u"],'
    b'"at":"2024-05-01T12:00:00Z"}',
    "darkroom.shared_link.created": b'{"shared_link_id":"l","owner_id":"o","type":"ALBUM",'
    b'"album_id":"al","asset_count":0,"expires_at":"2024-06-01T00:00:00Z","has_password":true,'
    b'"allow_upload":false,"allow_download":true,"show_metadata":true}',
    "darkroom.shared_link.removed": b'{"shared_link_id":"l","owner_id":"o","type":"INDIVIDUAL"}',
    "darkroom.stack.created": (
        b'{"stack_id":"s","owner_id":"o","primary_asset_id":"a","asset_ids":["a","b"]}'
    ),
    "darkroom.stack.updated": b'{"stack_id":"s","owner_id":"o","at":"2024-05-01T10:00:00Z"}',
    "darkroom.stack.deleted": b'{"stack_ids":["s","t"],"owner_id":"o"}',
    "darkroom.memory.created": b'{"memory_id":"m","owner_id":"o","at":"2024-05-01T12:00:00Z"}',
    "darkroom.memory.updated": b'{"memory_id":"m","owner_id":"o","at":"2024-05-01T12:00:00Z"}',
    "darkroom.memory.deleted": b'{"memory_id":"m","owner_id":"o","at":"2024-05-01T12:00:00Z"}',
    "darkroom.backup.created": (
        b'{"filename":"darkroom-db-backup-20240501T120000-v0.1.0-pg18.1.sql.gz",'
        b'"size":13625,"at":"2024-05-01T12:00:00Z"}'
    ),
    "darkroom.backup.restored": (
        b'{"filename":"uploaded-db.sql.gz","migrations_applied":["0023_jobs"],'
        b'"at":"2024-05-01T12:00:00Z"}'
    ),
    "darkroom.maintenance.changed": (
        b'{"active":true,"action":"restore_database","at":"2024-05-01T12:00:00Z"}'
    ),
    "darkroom.config.updated": b'{"sections":["image","trash"],"at":"2024-05-01T12:00:00Z"}',
    "darkroom.face.clustering.requested": b'{"requested_at":"2024-05-02T00:00:00Z",'
    b'"reason":"nightly"}',
    "darkroom.storage_template.migration.requested": (
        b'{"run_id":"5b1d0c2e-7f3a-4c1e-9a55-2f6e1d3c4b5a","requested_at":"2024-05-01T12:00:00Z"}'
    ),
    "darkroom.library.scan.requested": b'{"library_id":"l","scan_id":"s","force":false}',
    "darkroom.library.scan.batch": b'{"library_id":"l","scan_id":"s","index":0,'
    b'"paths":["/mnt/photos/2019/IMG_0001.jpg","/mnt/photos/2019/IMG_0002.jpg"]}',
    "darkroom.asset.offline": b'{"owner_id":"o","asset_ids":["a"],"at":"2024-05-01T12:00:00Z"}',
    "darkroom.asset.online": b'{"owner_id":"o","asset_ids":["a"],"at":"2024-05-01T12:00:00Z"}',
    "darkroom.asset.edits.changed": b'{"asset_id":"a","owner_id":"o","at":"2024-05-01T12:00:00Z"}',
    "darkroom.asset.edit.rendered": b'{"asset_id":"a","owner_id":"o","edited":true,'
    b'"at":"2024-05-01T12:00:00Z"}',
    "darkroom.album.created": b'{"album_id":"al","owner_id":"o","at":"2024-05-01T12:00:00Z"}',
    "darkroom.album.updated": b'{"album_id":"al","user_id":"u","at":"2024-05-01T12:00:00Z"}',
    "darkroom.person.merged": b'{"person_id":"p","owner_id":"o","merged_ids":["p2"],'
    b'"at":"2024-05-01T12:00:00Z"}',
    "darkroom.user.created": b'{"user_id":"u","at":"2024-05-01T12:00:00Z"}',
    "darkroom.user.deleted": b'{"user_id":"u","permanent":false,"at":"2024-05-01T12:00:00Z"}',
    "darkroom.webhook.requested": b'{"delivery_id":"d","workflow_id":"w","owner_id":"u",'
    b'"for_asset_id":"a"}',
}


def test_every_event_is_frozen_versioned_and_subject_unique() -> None:
    subjects = [spec.type.subject for spec in ev.REGISTRY]
    assert len(subjects) == len(set(subjects))
    for spec in ev.REGISTRY:
        assert spec.type.__struct_config__.frozen, spec.type
        with pytest.raises(TypeError):  # kw_only: no positional construction
            spec.type("positional")
        assert "version" in spec.type.__struct_fields__
        assert spec.type.subject.startswith("darkroom.")
        assert any(spec.type.subject.startswith(s.rstrip(">")) for s in ev.STREAM_SUBJECTS)
    for rpc in ev.RPCS:  # requests must stay outside the stream (else JetStream acks them)
        assert not any(rpc.subject.startswith(s.rstrip(">")) for s in ev.STREAM_SUBJECTS)


@pytest.mark.parametrize("spec", ev.REGISTRY, ids=lambda s: s.type.subject)
def test_example_payload_decodes_and_round_trips(spec: ev.EventSpec) -> None:
    event = msgspec.json.decode(EXAMPLES[spec.type.subject], type=spec.type)
    assert event.version == 1
    assert msgspec.json.decode(msgspec.json.encode(event), type=spec.type) == event
    assert ev.type_for_subject(spec.type.subject) is spec.type
    assert ev.spec_for(spec.type) is spec


def test_unknown_fields_are_ignored_so_producers_may_add_fields() -> None:
    payload = b'{"asset_id":"a","owner_id":"o","face_count":1,"added_later":true}'
    assert msgspec.json.decode(payload, type=ev.AssetFacesDetected).face_count == 1


def test_dedupe_key_is_the_asset_id() -> None:
    e = ev.AssetVideoTranscoded(asset_id="a1", owner_id="o", encoded_key="k")
    assert e.dedupe_key() == "a1"
    now = datetime.now(UTC)
    assert (
        ev.AssetCreated(
            asset_id="x",
            owner_id="o",
            type="IMAGE",
            original_key="k",
            original_file_name="n",
            mime_type="m",
            checksum="c",
            file_size=1,
            file_created_at=now,
            file_modified_at=now,
        ).dedupe_key()
        == "x"
    )


def test_docs_are_current() -> None:
    assert DOC.read_text() == render(), "docs/events.md is stale: run `make docs`"


def test_face_events_dedupe_on_their_own_identity() -> None:
    assert ev.PersonCreated(person_id="p1", owner_id="o").dedupe_key() == "p1"
    a = ev.AssetFacesRecognized(asset_id="a", owner_id="o", person_ids=["p1"], unassigned=0)
    b = ev.AssetFacesRecognized(asset_id="a", owner_id="o", person_ids=["p1", "p2"], unassigned=0)
    assert a.dedupe_key() != b.dedupe_key()
    assert (
        a.dedupe_key()
        == ev.AssetFacesRecognized(asset_id="a", owner_id="o", person_ids=["p1"]).dedupe_key()
    )


def test_shared_link_events_carry_no_secret() -> None:
    """A link's key or password opens it: the public stream never carries them."""
    for event_type in (ev.SharedLinkCreated, ev.SharedLinkRemoved):
        fields = set(event_type.__struct_fields__)
        assert not fields & {"key", "password", "password_hash", "slug", "token"}, event_type
