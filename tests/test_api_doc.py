"""docs/api.md is generated from the Immich spec and the gateway's route table (`make docs`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from darkroom_gateway import apidoc

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    path = apidoc.default_spec_path()
    if not path.is_file():
        pytest.skip(f"Immich spec not found at {path}: set DARKROOM_IMMICH_SPEC")
    return apidoc.load_spec(path)


@pytest.fixture(scope="module")
def routes() -> dict[str, dict[str, Any]]:
    return apidoc.gateway_operations()


def test_docs_are_current(spec: dict[str, Any], routes: dict[str, dict[str, Any]]) -> None:
    assert DOC.read_text() == apidoc.render(spec, routes), "docs/api.md is stale: run `make docs`"


def test_path_parameters_compare_by_position() -> None:
    assert apidoc.path_key("/albums/{album_id:uuid}/user/{user_id:str}") == "/albums/{}/user/{}"
    assert apidoc.path_key("/albums/{id}/user/{userId}") == "/albums/{}/user/{}"


def test_every_spec_operation_is_classified_once(
    spec: dict[str, Any], routes: dict[str, dict[str, Any]]
) -> None:
    ops = apidoc.coverage(spec, routes)
    spec_count = sum(1 for item in spec["paths"].values() for m in apidoc.METHODS if m in item)
    assert len(ops) == spec_count
    assert len({(o.method, o.path) for o in ops}) == spec_count
    by_key = {f"{o.method} {o.path}": o for o in ops}
    # Served by domain/albums.py and domain/assets.py; the spec's {id} is our {album_id:uuid}.
    assert by_key["GET /albums/{id}"].status in ("implemented", "partly")
    assert by_key["POST /assets"].status == "partly"  # a hand-kept note
    assert all(o.notes for o in ops if o.status == "partly")
    assert not any(o.notes for o in ops if o.status != "partly")
    # Routes outside the spec are listed as such, not lost.
    assert "GET /.well-known/immich" in routes
    assert "`GET /.well-known/immich`" in apidoc.render(spec, routes).split("## Not in the spec")[1]


def test_gaps_name_missing_query_parameters_and_fields() -> None:
    spec_op = {
        "parameters": [{"name": "albumId", "in": "query"}, {"name": "id", "in": "path"}],
        "requestBody": {
            "content": {"application/json": {"schema": {"properties": {"a": {}, "b": {}}}}}
        },
        "responses": {
            "200": {
                "content": {
                    "application/json": {
                        "schema": {"properties": {"x": {}, "y": {}}, "required": ["x"]}
                    }
                }
            }
        },
    }
    own_op = {
        "parameters": [],
        "requestBody": {"content": {"application/json": {"schema": {"properties": {"a": {}}}}}},
        "responses": {"200": {"content": {"application/json": {"schema": {"properties": {}}}}}},
    }
    assert apidoc._gaps(spec_op, own_op) == [
        "query parameters not supported: `albumId`",
        "request fields ignored: `b`",
        "response lacks required: `x`",
        "response omits optional: `y`",
    ]
    assert apidoc._gaps(spec_op, spec_op) == []
