"""Contract fuzzing and conformance with schemathesis.

Fuzzing: no request, however odd, may make the gateway fail (5xx). Conformance: over every
served operation of the Immich spec, the status codes, content types and response bodies are the
spec's (schemathesis's ``status_code_conformance``, ``content_type_conformance`` and
``response_schema_conformance`` checks), as a user and as another user given the first one's
ids (:func:`test_immich_spec_conformance`).

The fuzzer runs on its own stack (it creates users, albums and uploads at random and changes the
admin's profile, which would upset the session's other tests), authenticated with an admin API
key, with a fixed seed so a run is reproducible, at most ``MAX_EXAMPLES`` cases per operation
and only the ``not_a_server_error`` check. Two schemas drive it:

- the gateway's own OpenAPI document (Litestar serves it at /api/docs/openapi.json), cut to
  the operations the Immich spec does not describe (Darkroom's own);
- the Immich spec (shared/reference), cut to the operations the gateway serves (as
  ``darkroom_gateway.apidoc`` classifies them): what real clients are allowed to send.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from darkroom_gateway import apidoc
from darkroom_stack.supervisor import Stack
from PIL import Image

from .conftest import User, first_admin, make_user, running_stack

#: Test cases per API operation and phase (schemathesis --max-examples).
MAX_EXAMPLES = 10
#: Fixed hypothesis seed: the same cases every run, so a finding reproduces.
SEED = 20240501
#: schemathesis's command line with ``ast.parse`` serialised (a CPython 3.11 race: see the module).
SCHEMATHESIS_CLI = Path(__file__).with_name("schemathesis_cli.py")


@pytest.fixture(scope="module")
def fuzz_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of its own, so the fuzzer's writes touch no other test's data."""
    with running_stack(
        tmp_path_factory.mktemp("fuzz-stack"),
        env={"DARKROOM_LOG_LEVEL": "INFO"},
    ) as running:
        yield running


@pytest.fixture(scope="module")
def fuzz_admin(fuzz_stack: Stack) -> User:
    """The fuzz stack's admin with an all-permission API key."""
    return first_admin(fuzz_stack)


@pytest.fixture
def fuzzer(fuzz_stack: Stack, fuzz_admin: User) -> Iterator[User]:
    """An admin of its own for one fuzz run (a user the stack's admin creates and promotes).

    The fuzzer renames its caller, changes its e-mail and narrows its API key's permissions
    (``PUT /api/api-keys/{id}`` on the key it authenticates with is allowed, as in Immich), so
    the stack's admin, which the other tests create users with, is never handed to it. It may
    also save any valid system config (password login off, which the next tests' logins need):
    the defaults are put back after the run."""
    user = make_user(fuzz_stack, fuzz_admin)
    promoted = fuzz_admin.client.put(f"/api/admin/users/{user.id}", json={"isAdmin": True})
    assert promoted.status_code == 200, promoted.text
    yield user
    defaults = fuzz_admin.client.get("/api/system-config/defaults")
    assert defaults.status_code == 200, defaults.text
    reset = fuzz_admin.client.put("/api/system-config", json=defaults.json())
    assert reset.status_code == 200, reset.text


def _fuzz(
    stack: Stack,
    admin: User,
    location: str,
    base_url: str | None,
    report: Path,
    checks: str = "not_a_server_error",
    config: Path | None = None,
    phases: str = "examples,coverage,fuzzing",
    max_examples: int = MAX_EXAMPLES,
    timeout_s: float = 800,
    workers: int = 2,
) -> dict[str, Any]:
    """Run ``schemathesis run`` and return its JSON report.

    Args:
        stack: The stack under test (its gateway log is quoted on failure).
        admin: Whose API key authenticates every request.
        location: URL or file of the OpenAPI document.
        base_url: API base URL when ``location`` is a file.
        report: Where the JSON report goes.
        checks: schemathesis ``--checks``.
        config: A ``schemathesis.toml`` (per-operation parameters), if any.
        phases: schemathesis ``--phases``.
        max_examples: Cases per operation and phase.
        timeout_s: Ceiling of the whole run (a safety net: the run ends on its own; the served
            operations' run took 254 s on a slowed 2-core VM, so the ceiling is kept well clear).
        workers: schemathesis ``--workers``.

    Returns:
        The parsed report (keys ``failures``, ``errors``, ``operations``, ``test_cases``...).
    """
    args = [
        sys.executable,
        str(SCHEMATHESIS_CLI),
        *(["--config-file", str(config)] if config else []),
        "run",
        location,
        *(["--url", base_url] if base_url else []),
        "--header",
        f"x-api-key: {admin.api_key}",
        "--checks",
        checks,
        "--phases",
        phases,
        "--max-examples",
        str(max_examples),
        "--seed",
        str(SEED),
        # no example database: it would go to the run's temporary folder and be thrown away
        # (its file writes were ~5 % of the fuzzer's CPU time, py-spy)
        "--generation-database",
        "none",
        "--workers",
        str(workers),
        "--request-timeout",
        "60",
        "--warnings",
        "off",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    done = subprocess.run(  # in the report's folder: schemathesis keeps a cache in its cwd
        args, capture_output=True, text=True, timeout=timeout_s, check=False, cwd=report.parent
    )
    assert report.is_file(), f"schemathesis wrote no report:\n{done.stdout}\n{done.stderr}"
    result: dict[str, Any] = json.loads(report.read_text())
    result["output"] = done.stdout[-6000:]
    return result


#: 5xx the fuzzer has found and the lead was told about, as (method + path without /api) ->
#: the start of the gateway's logged exception. They reproduce deterministically in
#: :func:`test_utf8_multipart_file_names_are_not_server_errors` (strict xfail): when that
#: passes, empty this. The fuzzer does not hit them on every run, so the fuzz tests tolerate
#: exactly these (checked against the gateway log) and fail on anything else.
KNOWN_5XX: dict[str, str] = {}
_UNHANDLED = re.compile(
    r"'path': '(?P<path>[^']*)', 'error': (?P<q>['\"])(?P<error>.*?)(?P=q), .*'event': "
    r"'http\.unhandled'"
)


def _unexpected_5xx(result: dict[str, Any], log: Path) -> list[str]:
    """Server errors of a run that are not in :data:`KNOWN_5XX`: every unhandled exception the
    gateway logged (path and error) that is not a known one, and every operation schemathesis
    saw fail for which the log shows no known exception."""
    found: list[str] = []
    explained: set[str] = set()
    text = log.read_text(errors="replace") if log.is_file() else ""
    for m in _UNHANDLED.finditer(text):
        path, error = m["path"].removeprefix("/api"), m["error"]
        known = [
            op
            for op, prefix in KNOWN_5XX.items()
            if op.endswith(f" {path}") and error.startswith(prefix)
        ]
        explained.update(known)
        if not known:
            found.append(f"{m['path']}: {error}")
    for failure in result["failures"]:
        for op in failure.get("operations", []):
            if op.replace(" /api/", " /", 1) not in explained:
                found.append(f"{op}: {failure.get('code')} {failure.get('title')}")
    return found


def _assert_no_server_errors(result: dict[str, Any], stack: Stack, expected_ops: int) -> None:
    """Every selected operation ran its cases and none answered 5xx (beyond
    :data:`KNOWN_5XX`), nor broke the run."""
    assert result["complete"], result["output"]
    assert result["operations"]["tested"] >= expected_ops, result["operations"]
    assert result["test_cases"]["generated"] >= expected_ops, result["test_cases"]
    assert not result["errors"], result["output"]
    log = stack.config.data_dir / "logs" / "gateway.log"
    unexpected = _unexpected_5xx(result, log)
    assert not unexpected, f"server errors (see {log}): {unexpected}\n{result['output']}"


#: Served operations the fuzzer leaves alone: maintenance mode on would answer every later case
#: 503 (tests/test_backup_restore.py covers it).
NOT_FUZZED = {("post", "/admin/maintenance")}


def _served_spec(spec: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The Immich spec cut to the operations the gateway serves (as ``darkroom_gateway.apidoc``
    classifies them), and how many those are."""
    served = {
        (op.method.lower(), op.path)
        for op in apidoc.coverage(spec, apidoc.gateway_operations())
        if op.status != "missing" and (op.method.lower(), op.path) not in NOT_FUZZED
    }
    paths: dict[str, Any] = {}
    for p, item in spec["paths"].items():
        kept = {m: v for m, v in item.items() if (m, p) in served or m not in apidoc.METHODS}
        if any(m in apidoc.METHODS for m in kept):
            paths[p] = kept
    return spec | {"paths": paths}, len(served)


def _beyond_the_spec(doc: dict[str, Any]) -> dict[str, Any]:
    """The gateway's own document cut to the operations the Immich spec does not describe
    (Darkroom's own routes): the others are fuzzed through the Immich spec, with the shapes
    real clients send (:func:`test_immich_spec_of_served_operations_has_no_server_errors`)."""
    path = apidoc.default_spec_path()
    if not path.is_file():
        return doc
    described = {
        f"{method.upper()} {apidoc.path_key(p)}"
        for p, item in apidoc.load_spec(path)["paths"].items()
        for method in item
        if method in apidoc.METHODS
    }
    paths: dict[str, Any] = {}
    for p, item in doc["paths"].items():
        key = apidoc.path_key(p.removeprefix("/api"))
        kept = {
            m: v
            for m, v in item.items()
            if m not in apidoc.METHODS or f"{m.upper()} {key}" not in described
        }
        if any(m in apidoc.METHODS for m in kept):
            paths[p] = kept
    return doc | {"paths": paths}


def test_own_openapi_document_has_no_server_errors(
    fuzz_stack: Stack, fuzzer: User, tmp_path: Path
) -> None:
    url = f"{fuzz_stack.url}/api/docs/openapi.json"
    doc = httpx.get(url, timeout=60)
    assert doc.status_code == 200, doc.text
    assert doc.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    served = sum(1 for item in doc.json()["paths"].values() for m in item if m in apidoc.METHODS)
    assert served > 50  # the document describes the API, not a stub
    own = _beyond_the_spec(doc.json())
    operations = sum(1 for item in own["paths"].values() for m in item if m in apidoc.METHODS)
    assert operations > 0  # /api/darkroom/* at least
    cut = tmp_path / "own.json"
    cut.write_text(json.dumps(own))
    result = _fuzz(fuzz_stack, fuzzer, str(cut), fuzz_stack.url, tmp_path / "own-r.json")
    _assert_no_server_errors(result, fuzz_stack, operations)


@pytest.mark.timeout(900)  # ~15,000 cases: 170-254 s on the 2-core VM, more on a busy one
def test_immich_spec_of_served_operations_has_no_server_errors(
    fuzz_stack: Stack, fuzzer: User, tmp_path: Path
) -> None:
    path = apidoc.default_spec_path()
    if not path.is_file():
        pytest.skip(f"Immich spec not found at {path}: set DARKROOM_IMMICH_SPEC")
    spec, served = _served_spec(apidoc.load_spec(path))
    cut = tmp_path / "immich-served.json"
    cut.write_text(json.dumps(spec))
    result = _fuzz(fuzz_stack, fuzzer, str(cut), f"{fuzz_stack.url}/api", tmp_path / "r.json")
    _assert_no_server_errors(result, fuzz_stack, served)


@pytest.mark.parametrize(
    ("route", "field"), [("/api/users/profile-image", "file"), ("/api/assets", "assetData")]
)
def test_utf8_multipart_file_names_are_not_server_errors(
    fuzz_stack: Stack, fuzz_admin: User, route: str, field: str
) -> None:
    # a fresh user: the fuzz runs above may have given the admin a tiny quota
    user = make_user(fuzz_stack, fuzz_admin)
    png = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(png, "PNG")
    r = user.client.post(
        route,
        files={field: ("東京.png", png.getvalue(), "image/png")},  # UTF-8, as browsers send it
        data={"fileCreatedAt": "2020-01-01T00:00:00.000Z", "fileModifiedAt": "2020-01-01"},
    )
    assert r.status_code in (200, 201), r.text


#: Immich's error body (its global exception filter, 3.1): ``{"message"}``, and for a request
#: that failed validation ``{"message", "errors"}``; nothing else.
IMMICH_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["message"],
    "additionalProperties": False,
    "properties": {
        "message": {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        "errors": {
            "type": "array",
            "items": {"type": "object", "required": ["code", "path", "message"]},
        },
    },
}
#: The allow-list of spec bugs the conformance run corrects, each with its reason:
#:
#: - every operation gets a ``4XX`` response with :data:`IMMICH_ERROR_SCHEMA`: the Immich spec
#:   documents no error response at all (only the success one), yet every route answers 400
#:   (validation, "Not found or no <permission> access"), 401 and 403, as the Immich server
#:   does. This does not hide wrong success codes (a 200 where the spec says 201 still fails),
#:   and every error body is checked against Immich's exact shape.
#: - a file response documented as ``application/octet-stream`` only (original, thumbnail,
#:   playback, profile image) also admits ``image/*`` and ``video/*``: Immich's server sends the
#:   file's own type (``image/jpeg``, ``image/webp``, ``video/mp4``...), which browsers and the
#:   apps rely on to display it; the spec's generator just writes octet-stream for every file.
#: - ``POST /activities`` also answers 200: a like that already exists is returned with 200
#:   instead of 201 (Immich's activity controller sets the status from the service's
#:   ``duplicate`` flag; its e2e tests expect 200 for a duplicate like), which the spec's
#:   generator cannot express.
#: - ``GET /oauth/mobile-redirect`` answers 307: it is a redirect to ``app.immich:///oauth-
#:   callback`` (Immich's controller: ``@Redirect()`` with ``HttpStatus.TEMPORARY_REDIRECT``); the
#:   spec's generator documents the decorator's default 200.
SPEC_CORRECTIONS = (
    "4XX error responses with Immich's error body",
    "image/* and video/* beside application/octet-stream for file responses",
    "200 beside 201 for POST /activities (a duplicate like)",
    "307 beside 200 for GET /oauth/mobile-redirect (a redirect)",
)
#: Success statuses an operation answers beside the spec's, (method, path) -> (status, as).
EXTRA_SUCCESS = {
    ("post", "/activities"): ("200", "201"),
    ("get", "/oauth/mobile-redirect"): ("307", "200"),
}
OCTET_STREAM = "application/octet-stream"


def _corrected_operation(op: dict[str, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for status, response in op["responses"].items():
        content = response.get("content", {})
        if list(content) == [OCTET_STREAM]:
            file = content[OCTET_STREAM]
            response = response | {
                "content": {OCTET_STREAM: file, "image/*": file, "video/*": file}
            }
        responses[status] = response
    responses["4XX"] = {
        "description": "Immich's error body",
        "content": {"application/json": {"schema": IMMICH_ERROR_SCHEMA}},
    }
    return op | {"responses": responses}


def _with_error_responses(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with :data:`SPEC_CORRECTIONS` applied."""
    paths = {
        p: {m: _corrected_operation(op) if m in apidoc.METHODS else op for m, op in item.items()}
        for p, item in spec["paths"].items()
    }
    for (method, path), (status, same_as) in EXTRA_SUCCESS.items():
        if method in paths.get(path, {}):
            responses = paths[path][method]["responses"]
            responses[status] = responses[same_as]
    return spec | {"paths": paths}


def _pinned_ids(owner: User) -> str:
    """A ``schemathesis.toml`` that gives the path ``id`` of each resource family one of
    ``owner``'s real ids (an asset, an album, a person, a spare API key, a session, the user),
    so cases reach the routes' success and refusal paths, not only "no such id"."""
    png = io.BytesIO()
    Image.new("RGB", (16, 12), (10, 120, 200)).save(png, "PNG")
    asset = owner.client.post(
        "/api/assets",
        files={"assetData": ("c.png", png.getvalue(), "image/png")},
        data={
            "deviceAssetId": "conformance",
            "deviceId": "pytest",
            "fileCreatedAt": "2021-05-01T00:00:00.000Z",
            "fileModifiedAt": "2021-05-01T00:00:00.000Z",
        },
    )
    assert asset.status_code == 201, asset.text
    album = owner.client.post(
        "/api/albums", json={"albumName": "c", "assetIds": [asset.json()["id"]]}
    )
    person = owner.client.post("/api/people", json={"name": "C"})
    key = owner.client.post("/api/api-keys", json={"name": "spare", "permissions": ["asset.read"]})
    sessions = owner.client.get("/api/sessions").json()
    assert album.status_code == person.status_code == key.status_code == 201
    ids = {
        "/assets/": asset.json()["id"],
        "/albums/": album.json()["id"],
        "/people/": person.json()["id"],
        "/api-keys/": key.json()["apiKey"]["id"],
        "/users/": owner.id,
        **({"/sessions/": sessions[0]["id"]} if sessions else {}),
    }
    return "".join(
        f'[[operations]]\ninclude-path-regex = "^{prefix}\\\\{{id\\\\}}"\n'
        f'parameters = {{ "path.id" = "{value}" }}\n\n'
        for prefix, value in ids.items()
    )


@pytest.mark.timeout(900)  # a stack's start and ~350 cases on a busy 2-core machine
@pytest.mark.parametrize("caller", ["owner", "other"])
def test_immich_spec_conformance(
    fuzz_stack: Stack, fuzz_admin: User, tmp_path: Path, caller: str
) -> None:
    """Status codes, content types and bodies as the spec says, for every served operation,
    as a user with their own ids and as another user given the same ids."""
    path = apidoc.default_spec_path()
    if not path.is_file():
        pytest.skip(f"Immich spec not found at {path}: set DARKROOM_IMMICH_SPEC")
    spec, served = _served_spec(apidoc.load_spec(path))
    cut = tmp_path / "immich-served.json"
    cut.write_text(json.dumps(_with_error_responses(spec)))
    owner = make_user(fuzz_stack, fuzz_admin)
    config = tmp_path / "schemathesis.toml"
    config.write_text(_pinned_ids(owner))
    caller_user = owner if caller == "owner" else make_user(fuzz_stack, fuzz_admin)
    result = _fuzz(
        fuzz_stack,
        caller_user,
        str(cut),
        f"{fuzz_stack.url}/api",
        tmp_path / "r.json",
        checks=CONFORMANCE_CHECKS,
        config=config,
        phases="examples,fuzzing",
        max_examples=CONFORMANCE_EXAMPLES,
        timeout_s=700,
        # one worker: with two, schemathesis 4.32 on CPython 3.11 sometimes fails generating a
        # case itself ("AST constructor recursion depth mismatch"), an error of the tool
        workers=1,
    )
    assert result["complete"], result["output"]
    assert result["operations"]["tested"] >= served, result["operations"]
    assert not result["errors"], result["output"]
    failures = [
        f"{op}: {f.get('code')} {f.get('title')}"
        for f in result["failures"]
        for op in f.get("operations", [])
    ]
    assert not failures, "\n".join(failures) + "\n" + result["output"]


#: Cases per operation and phase of :func:`test_immich_spec_conformance` (kept small: the run
#: covers every served operation twice, as two users, on a 2-core CI machine).
CONFORMANCE_EXAMPLES = 3
#: The checks of :func:`test_immich_spec_conformance` (schemathesis 4 names).
CONFORMANCE_CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    )
)
