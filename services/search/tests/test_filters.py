"""The smart-search request's filters survive the wire, and no model means "unavailable"."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
from darkroom_db.search import AssetFilters
from darkroom_events.catalogue import SearchFilters, SmartSearchRequest
from darkroom_search.handlers import TextEncoder, to_db_filters
from darkroom_search.settings import SearchSettings


def test_filters_round_trip_through_json() -> None:
    album = uuid.uuid4()
    wire = SearchFilters(
        city=None,
        make="Canon",
        album_ids=[str(album)],
        taken_after=datetime(2020, 1, 1, tzinfo=UTC),
        is_favorite=True,
        ocr="invoice",
    )
    req = SmartSearchRequest(owner_id=str(uuid.uuid4()), query="dog", filters=wire)
    decoded = msgspec.json.decode(msgspec.json.encode(req), type=SmartSearchRequest)
    f = to_db_filters(decoded.filters)
    assert isinstance(f, AssetFilters)
    assert f.city is None  # null: "unknown city", not "any city"
    assert f.state is msgspec.UNSET and f.country is msgspec.UNSET
    assert f.make == "Canon" and f.album_ids == [album] and f.is_favorite is True
    assert f.taken_after == datetime(2020, 1, 1, tzinfo=UTC) and f.ocr == "invoice"


def test_encoder_without_model_files_stays_unloaded(tmp_path: Path) -> None:
    off = TextEncoder(SearchSettings(ml_model_dir=""))
    assert off.model_path is None and off.try_load() is False
    missing = TextEncoder(SearchSettings(ml_model_dir=str(tmp_path), clip_model="nope"))
    assert missing.try_load() is False and missing.model is None
    assert "no model at" in (missing.error or "")


def test_tag_filters_survive_the_wire() -> None:
    """The gateway's tag filters (tagIds, and tagIds null = untagged) reach the search service."""
    wire_filters = pytest.importorskip("darkroom_gateway.domain.search").wire_filters
    tag = uuid.uuid4()
    for sent in (AssetFilters(tag_ids=[tag]), AssetFilters(is_untagged=True)):
        req = SmartSearchRequest(owner_id=str(uuid.uuid4()), query="x", filters=wire_filters(sent))
        decoded = msgspec.json.decode(msgspec.json.encode(req), type=SmartSearchRequest)
        got = to_db_filters(decoded.filters)
        assert (got.tag_ids, got.is_untagged) == (sent.tag_ids, sent.is_untagged)
