"""docs/api.md: which operations of the Immich OpenAPI spec the gateway implements.

``python -m darkroom_gateway.apidoc [--spec PATH] > docs/api.md`` (run by ``make docs``; a test
regenerates it and compares, so the document cannot drift from the code).

Each spec operation (method + path) is matched against the gateway's own route table (Litestar's
``app.routes`` of :func:`darkroom_gateway.app.create_app`), path parameters compared by position
(our ``{album_id:uuid}`` is the spec's ``{id}``). A matched operation is *partly implemented*
when the hand-kept :data:`NOTES` say so, or when the gateway's own OpenAPI document shows it
lacks spec query parameters, top-level request body fields or top-level response fields.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: HTTP methods an OpenAPI path item may hold operations for.
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
#: Hand-kept notes on operations that are served but do less than the spec says, keyed by
#: "METHOD /spec/path" (paths as in the spec, without the /api prefix).
NOTES: dict[str, str] = {
    # domain/assets.py upload_asset reads only the other AssetMediaCreateDto fields.
    "POST /assets": "multipart fields ignored: `metadata`, `visibility`",
}


@dataclass(frozen=True)
class Operation:
    """One spec operation and how the gateway covers it.

    Attributes:
        method: Upper-case HTTP method.
        path: Spec path (without the ``/api`` server prefix), e.g. ``/albums/{id}``.
        operation_id: The spec's ``operationId``.
        tag: The spec's first tag ("Untagged" when it has none).
        status: "implemented", "partly" or "missing".
        notes: What is missing, for "partly".
    """

    method: str
    path: str
    operation_id: str
    tag: str
    status: str
    notes: tuple[str, ...] = field(default=())


def default_spec_path() -> Path:
    """The Immich spec: env ``DARKROOM_IMMICH_SPEC``, else
    ``<repo>/../shared/reference/immich-openapi-specs.json``."""
    env = os.environ.get("DARKROOM_IMMICH_SPEC")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[4]
    return (repo / ".." / "shared" / "reference" / "immich-openapi-specs.json").resolve()


def path_key(path: str) -> str:
    """A path with every ``{param}`` / ``{param:type}`` replaced by ``{}``, so routes and spec
    paths compare by parameter position, e.g. ``/albums/{album_id:uuid}`` -> ``/albums/{}``."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def gateway_operations() -> dict[str, dict[str, Any]]:
    """The gateway's routes as ``{"METHOD /path-key": openapi operation or {}}``.

    Paths lose the ``/api`` prefix (the spec's server URL) and are keyed by :func:`path_key`;
    the value is the operation object from the gateway's own OpenAPI document (empty for a
    route left out of it). Builds the app without connecting to anything.
    """
    from darkroom_gateway.app import create_app
    from darkroom_gateway.settings import GatewaySettings

    app = create_app(GatewaySettings())
    own = app.openapi_schema.to_schema()
    own_ops: dict[str, dict[str, Any]] = {}
    for path, item in own.get("paths", {}).items():
        for method, op in item.items():
            if method in METHODS:
                own_ops[f"{method.upper()} {path_key(path)}"] = _resolve(own, op)
    routes: dict[str, dict[str, Any]] = {}
    for route in app.routes:
        for method in sorted(getattr(route, "methods", ())):
            if method in ("OPTIONS", "HEAD"):
                continue
            key = f"{method} {path_key(route.path)}"
            routes[key.replace(" /api/", " /", 1)] = own_ops.get(key, {})
    return routes


def _resolve(doc: dict[str, Any], node: Any, depth: int = 0) -> Any:
    """``node`` with every local ``$ref`` of ``doc`` replaced by its target (cycles cut)."""
    if depth > 12:
        return {}
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = doc
            for part in ref[2:].split("/"):
                target = target[part]
            return _resolve(doc, target, depth + 1)
        return {k: _resolve(doc, v, depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(doc, v, depth + 1) for v in node]
    return node


def _fields(schema: Any) -> set[str] | None:
    """Top-level property names of an object schema (of the items of an array schema, of the
    members of allOf); None when the schema says nothing about properties."""
    if not isinstance(schema, dict):
        return None
    if schema.get("type") == "array" or "items" in schema:
        return _fields(schema.get("items"))
    if "allOf" in schema:
        parts = [f for f in (_fields(s) for s in schema["allOf"]) if f is not None]
        return set().union(*parts) if parts else None
    props = schema.get("properties")
    return set(props) if isinstance(props, dict) else None


def _body_schema(content: Any) -> Any:
    """The schema of a JSON or multipart body (``content`` map of a request or response)."""
    if not isinstance(content, dict):
        return None
    for media in ("application/json", "multipart/form-data"):
        if media in content:
            return content[media].get("schema")
    return None


def _ok_response(op: dict[str, Any]) -> Any:
    """The schema of the first 2xx response of an operation, or None."""
    for status, response in sorted(op.get("responses", {}).items()):
        if str(status).startswith("2"):
            return _body_schema(response.get("content"))
    return None


def _gaps(spec_op: dict[str, Any], own_op: dict[str, Any]) -> list[str]:
    """What the gateway's own document shows missing against the spec operation."""
    if not own_op:
        return []
    gaps: list[str] = []
    ours = {p.get("name") for p in own_op.get("parameters", []) if p.get("in") == "query"}
    theirs = [p["name"] for p in spec_op.get("parameters", []) if p.get("in") == "query"]
    if unknown := sorted(n for n in theirs if n not in ours):
        gaps.append("query parameters not supported: " + ", ".join(f"`{n}`" for n in unknown))
    spec_body = _fields(_body_schema(spec_op.get("requestBody", {}).get("content")))
    own_body = _fields(_body_schema(own_op.get("requestBody", {}).get("content")))
    if spec_body is not None and own_body is not None and (missing := spec_body - own_body):
        gaps.append("request fields ignored: " + ", ".join(f"`{n}`" for n in sorted(missing)))
    spec_schema = _ok_response(spec_op)
    spec_out, own_out = _fields(spec_schema), _fields(_ok_response(own_op))
    if spec_out is not None and own_out is not None and (missing := spec_out - own_out):
        required = _required(spec_schema)
        for label, names in (
            ("response lacks required", sorted(missing & required)),
            ("response omits optional", sorted(missing - required)),
        ):
            if names:
                gaps.append(f"{label}: " + ", ".join(f"`{n}`" for n in names))
    return gaps


def _required(schema: Any) -> set[str]:
    """The ``required`` property names of an object schema (of an array's items)."""
    if not isinstance(schema, dict):
        return set()
    if schema.get("type") == "array" or "items" in schema:
        return _required(schema.get("items"))
    return set(schema.get("required", []))


def coverage(spec: dict[str, Any], routes: dict[str, dict[str, Any]]) -> list[Operation]:
    """Classify every operation of ``spec`` against ``routes`` (from :func:`gateway_operations`).

    Args:
        spec: The Immich OpenAPI document (parsed JSON).
        routes: ``{"METHOD /path-key": own openapi operation}``.

    Returns:
        One :class:`Operation` per spec operation, in spec path order then method order.
    """
    out: list[Operation] = []
    for path, item in spec["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            key = f"{method.upper()} {path_key(path)}"
            note_key = f"{method.upper()} {path}"
            notes: tuple[str, ...] = ()
            if key not in routes:
                status = "missing"
            else:
                found = _gaps(_resolve(spec, op), routes[key])
                if note_key in NOTES:
                    found.insert(0, NOTES[note_key])
                status, notes = ("partly" if found else "implemented"), tuple(found)
            out.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    operation_id=op.get("operationId", ""),
                    tag=(op.get("tags") or ["Untagged"])[0],
                    status=status,
                    notes=notes,
                )
            )
    return out


_LABEL = {"implemented": "implemented", "partly": "partly", "missing": "not yet"}


def render(spec: dict[str, Any], routes: dict[str, dict[str, Any]]) -> str:
    """docs/api.md as Markdown: totals, a table per tag, and routes the spec does not have."""
    ops = coverage(spec, routes)
    by_tag: dict[str, list[Operation]] = defaultdict(list)
    for op in ops:
        by_tag[op.tag].append(op)

    def counts(items: list[Operation]) -> tuple[int, int, int]:
        return tuple(sum(o.status == s for o in items) for s in _LABEL)  # type: ignore[return-value]

    done, partly, missing = counts(ops)
    version = spec.get("info", {}).get("version", "?")
    lines = [
        "# Immich API coverage",
        "",
        f"Generated from the Immich OpenAPI spec (v{version}) and the gateway's route table by",
        "`python -m darkroom_gateway.apidoc` (`make docs`); do not edit by hand.",
        "Paths are relative to `/api`. *Partly* lists what is missing: hand-kept notes, and",
        "query parameters / top-level fields the gateway's own OpenAPI document lacks.",
        "",
        f"**{done + partly} of {len(ops)} operations served**: {done} implemented, "
        f"{partly} partly, {missing} not yet.",
        "",
        "| Tag | Implemented | Partly | Not yet | Total |",
        "|---|---:|---:|---:|---:|",
    ]
    for tag in sorted(by_tag):
        d, p, m = counts(by_tag[tag])
        lines.append(f"| [{tag}](#{_anchor(tag)}) | {d} | {p} | {m} | {len(by_tag[tag])} |")
    for tag in sorted(by_tag):
        d, p, m = counts(by_tag[tag])
        lines += [
            "",
            f"## {tag}",
            "",
            f"{d} implemented, {p} partly, {m} not yet.",
            "",
            "| Method | Path | Operation | Status | Missing |",
            "|---|---|---|---|---|",
        ]
        for op in by_tag[tag]:
            notes = "; ".join(op.notes).replace("|", "\\|")
            lines.append(
                f"| {op.method} | `{op.path}` | {op.operation_id} | {_LABEL[op.status]} | {notes} |"
            )
    spec_keys = {f"{o.method} {path_key(o.path)}" for o in ops}
    extras = sorted(k for k in routes if k not in spec_keys)
    lines += ["", "## Not in the spec", ""]
    lines += [f"- `{k}`" for k in extras] or ["(none)"]
    return "\n".join(lines) + "\n"


def _anchor(title: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    return re.sub(r"[^a-z0-9 _-]", "", title.lower()).replace(" ", "-")


def load_spec(path: Path) -> dict[str, Any]:
    """Parse the spec at ``path``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
    """
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> None:
    """Write docs/api.md's text to stdout."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=None, help="Immich OpenAPI JSON")
    args = parser.parse_args(argv)
    spec_path = args.spec or default_spec_path()
    if not spec_path.is_file():
        parser.exit(
            2, f"Immich spec not found at {spec_path}: pass --spec or DARKROOM_IMMICH_SPEC\n"
        )
    sys.stdout.write(render(load_spec(spec_path), gateway_operations()))


if __name__ == "__main__":
    main()
