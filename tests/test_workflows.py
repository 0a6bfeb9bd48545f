"""Workflows and webhooks end to end (issue #21 item 4) on a real stack.

What it must show: a workflow "on upload by user A with a person X, add to album Y and call
webhook Z" runs end to end (the album gains the asset; a loopback receiver gets a correctly
signed delivery within 5 s of the trigger event, the asset's faces-recognized event); a failing
receiver is retried, then dead-lettered and visible in the API; a private target is refused
(SSRF); every workflow and plugin route refuses another user, a shared link and anonymous
callers, and an API key without the permission.

The stack runs the services the scenario needs (face recognition with minFaces 2 from a config
file: a face and its nearest assigned face make a match) and the webhook service with loopback
allowed (``DARKROOM_WEBHOOK_ALLOWED_HOSTS=127.0.0.1``), 3 attempts, 1 s first backoff.
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import nats
import nats.errors
import pytest
from darkroom_bus import Bus, queues
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir
from PIL import Image, ImageOps
from standardwebhooks.webhooks import Webhook

from .conftest import User, db_rows, first_admin, make_user, noise_jpeg, running_stack, upload
from .conftest import upload_jpeg as upload_noise

SAMPLES = samples_dir()
FACES = SAMPLES / "faces" / "face_recognition_knn" / "train" if SAMPLES is not None else None
SERVICES = ("ingest", "metadata", "thumbnail", "face", "webhook", "gateway")
MAX_ATTEMPTS = 3
BACKOFF_S = 1.0


class Receiver:
    """A loopback HTTP server that records every request (arrival time, path, headers, body)
    and answers ``/ok...`` with 204 and ``/fail...`` with 500 ``receiver is down``."""

    def __init__(self) -> None:
        self.requests: list[tuple[datetime, str, dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with owner.lock:
                    owner.requests.append(
                        (datetime.now(UTC), self.path, dict(self.headers.items()), body)
                    )
                if self.path.startswith("/fail"):
                    payload = b"receiver is down"
                    self.send_response(500)
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def on(self, path: str) -> list[tuple[datetime, str, dict[str, str], bytes]]:
        with self.lock:
            return [r for r in self.requests if r[1] == path]

    def wait(self, path: str, count: int, timeout: float) -> list[Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.on(path)
            if len(got) >= count:
                return got
            time.sleep(0.1)
        return self.on(path)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def wf_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack with the webhook service, loopback allowed, minFaces 2."""
    tmp = tmp_path_factory.mktemp("workflows")
    config = tmp / "config.json"
    config.write_text(json.dumps({"machineLearning": {"facialRecognition": {"minFaces": 2}}}))
    env = {
        "DARKROOM_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "DARKROOM_WEBHOOK_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        "DARKROOM_WEBHOOK_BACKOFF_S": str(BACKOFF_S),
        "DARKROOM_CONFIG_FILE": str(config),
    }
    with running_stack(tmp / "stack", services=SERVICES, env=env) as running:
        yield running


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture(scope="module")
def wf_admin(wf_stack: Stack) -> User:
    return first_admin(wf_stack)


def _user(stack: Stack, admin: User) -> User:
    return make_user(stack, admin)


def _ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def _wait(predicate: Any, timeout: float, what: str) -> Any:
    """Poll ``predicate`` (returns a truthy value when done) every 0.2 s up to ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _album(user: User, name: str) -> str:
    return str(_ok(user.client.post("/api/albums", json={"albumName": name}), 201)["id"])


def _workflow(user: User, steps: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    body = {"trigger": "AssetCreate", "name": "test", "steps": steps, **extra}
    made: dict[str, Any] = _ok(user.client.post("/api/workflows", json=body), 201)
    return made


def _deliveries(user: User, **params: str) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = _ok(user.client.get("/api/workflows/deliveries", params=params))
    return got


# --- routes: shapes and permissions ------------------------------------------------------


def test_workflow_crud_and_shapes(wf_stack: Stack, wf_admin: User) -> None:
    a = _user(wf_stack, wf_admin)
    made = _workflow(
        a,
        [
            {"method": "darkroom-core#filterFileType", "config": {"types": ["IMAGE"]}},
            {"method": "actionWebhook", "config": {"url": "https://example.com/h"}},
        ],
        description="d",
    )
    assert set(made) == {
        "id",
        "name",
        "description",
        "trigger",
        "enabled",
        "steps",
        "createdAt",
        "updatedAt",
    }
    assert made["enabled"] is True and made["trigger"] == "AssetCreate"
    secret = made["steps"][1]["config"]["secret"]
    assert secret.startswith("whsec_")  # made for the owner, who must give it to the receiver
    wid = made["id"]
    assert _ok(a.client.get(f"/api/workflows/{wid}")) == made
    assert [w["id"] for w in _ok(a.client.get("/api/workflows"))] == [wid]
    assert _ok(a.client.get("/api/workflows", params={"trigger": "AssetMetadataExtraction"})) == []
    share = _ok(a.client.get(f"/api/workflows/{wid}/share"))
    assert set(share) == {"name", "description", "trigger", "steps"}
    assert "secret" not in json.dumps(share)  # a copy to give away carries no secret
    updated = _ok(a.client.put(f"/api/workflows/{wid}", json={"enabled": False, "name": None}))
    assert updated["enabled"] is False and updated["name"] is None
    assert updated["description"] == "d" and updated["steps"] == made["steps"]
    triggers = _ok(a.client.get("/api/workflows/triggers"))
    assert {t["trigger"] for t in triggers} == {"AssetCreate", "AssetMetadataExtraction"}
    assert all(t["types"] == ["AssetV1"] for t in triggers)
    assert a.client.delete(f"/api/workflows/{wid}").status_code == 204
    assert a.client.get(f"/api/workflows/{wid}").status_code == 400


def test_plugins_list_the_built_in_filters_and_actions(wf_stack: Stack, wf_admin: User) -> None:
    a = _user(wf_stack, wf_admin)
    (plugin,) = _ok(a.client.get("/api/plugins"))
    assert {
        "id",
        "name",
        "title",
        "description",
        "author",
        "version",
        "createdAt",
        "updatedAt",
        "methods",
    } == set(plugin)
    names = {m["name"] for m in plugin["methods"]}
    assert {
        "filterOwner",
        "filterFileType",
        "filterAlbum",
        "filterPerson",
        "filterPath",
        "actionAddToAlbum",
        "actionTag",
        "actionArchive",
        "actionFavorite",
        "actionWebhook",
    } == names
    webhook = next(m for m in plugin["methods"] if m["name"] == "actionWebhook")
    assert webhook["key"] == "darkroom-core#actionWebhook"
    assert webhook["schema"]["required"] == ["url"] and webhook["types"] == ["AssetV1"]
    assert _ok(a.client.get(f"/api/plugins/{plugin['id']}")) == plugin
    assert a.client.get(f"/api/plugins/{uuid.uuid4()}").status_code == 400
    only = _ok(a.client.get("/api/plugins/methods", params={"name": "actionTag"}))
    assert [m["name"] for m in only] == ["actionTag"]
    assert _ok(a.client.get("/api/plugins", params={"name": "nope"})) == []
    templates = _ok(a.client.get("/api/plugins/templates"))
    assert templates and all(
        t["trigger"] in ("AssetCreate", "AssetMetadataExtraction") for t in templates
    )


def test_steps_are_validated_against_schemas_and_access(wf_stack: Stack, wf_admin: User) -> None:
    a, b = _user(wf_stack, wf_admin), _user(wf_stack, wf_admin)
    bad = [
        [{"method": "immich-core#explode", "config": {}}],
        [{"method": "actionAddToAlbum", "config": {"albumId": "x"}}],
        [{"method": "actionArchive", "config": {"unknown": True}}],
        [{"method": "actionWebhook", "config": {"url": "file:///etc/passwd"}}],
    ]
    for steps in bad:
        r = a.client.post("/api/workflows", json={"trigger": "AssetCreate", "steps": steps})
        assert r.status_code == 400, (steps, r.text)
    r = a.client.post("/api/workflows", json={"trigger": "Nope", "steps": []})
    assert r.status_code == 400
    their_album = _album(b, "B's")
    r = a.client.post(
        "/api/workflows",
        json={
            "trigger": "AssetCreate",
            "steps": [{"method": "actionAddToAlbum", "config": {"albumId": their_album}}],
        },
    )
    assert r.status_code == 400 and r.json()["message"] == "Not found or no album.update access"
    r = a.client.post(
        "/api/workflows",
        json={
            "trigger": "AssetCreate",
            "steps": [{"method": "filterPerson", "config": {"personIds": [str(uuid.uuid4())]}}],
        },
    )
    assert r.status_code == 400 and r.json()["message"] == "Not found or no person.read access"


def test_every_route_refuses_others_links_anonymous_and_keys_without_permission(
    wf_stack: Stack, wf_admin: User
) -> None:
    a, b = _user(wf_stack, wf_admin), _user(wf_stack, wf_admin)
    wid = _workflow(a, [{"method": "actionFavorite"}])["id"]
    # another user: Immich's requireAccess answer, nothing changed
    for method, path, perm in (
        ("GET", f"/api/workflows/{wid}", "workflow.read"),
        ("GET", f"/api/workflows/{wid}/share", "workflow.read"),
        ("PUT", f"/api/workflows/{wid}", "workflow.update"),
        ("DELETE", f"/api/workflows/{wid}", "workflow.delete"),
    ):
        kwargs: dict[str, Any] = {"json": {"enabled": False}} if method == "PUT" else {}
        r = b.client.request(method, path, **kwargs)
        assert r.status_code == 400, (method, path, r.text)
        assert r.json()["message"] == f"Not found or no {perm} access"
    assert _ok(b.client.get("/api/workflows")) == []
    assert _ok(a.client.get(f"/api/workflows/{wid}"))["enabled"] is True
    routes = [
        ("GET", "/api/workflows", "workflow.read"),
        ("POST", "/api/workflows", "workflow.create"),
        ("GET", "/api/workflows/triggers", None),
        ("GET", "/api/workflows/deliveries", "workflow.read"),
        ("GET", f"/api/workflows/{wid}", "workflow.read"),
        ("GET", f"/api/workflows/{wid}/share", "workflow.read"),
        ("PUT", f"/api/workflows/{wid}", "workflow.update"),
        ("DELETE", f"/api/workflows/{wid}", "workflow.delete"),
        ("GET", "/api/plugins", "plugin.read"),
        ("GET", "/api/plugins/methods", "plugin.read"),
        ("GET", "/api/plugins/templates", "plugin.read"),
        ("GET", "/api/plugins/6d1f3c52-9b1e-4a7d-8c2e-0f4b5a6c7d8e", "plugin.read"),
    ]
    anon = httpx.Client(base_url=wf_stack.url, timeout=60)
    # a shared link of A's album: a link visitor may not use these routes
    album = _album(a, "linked")
    link = _ok(a.client.post("/api/shared-links", json={"type": "ALBUM", "albumId": album}), 201)
    # an API key of A holding only asset.read
    key = _ok(
        a.client.post("/api/api-keys", json={"name": "narrow", "permissions": ["asset.read"]}),
        201,
    )["secret"]
    narrow = httpx.Client(base_url=wf_stack.url, headers={"x-api-key": key}, timeout=60)
    body = {"trigger": "AssetCreate", "steps": []}
    for method, path, perm in routes:
        kwargs = {"json": body} if method in ("POST", "PUT") else {}
        r = anon.request(method, path, **kwargs)
        assert r.status_code == 401, (method, path, r.text)
        r = anon.request(method, path, params={"key": link["key"]}, **kwargs)
        assert r.status_code == 403, (method, path, r.text)
        r = narrow.request(method, path, **kwargs)
        if perm is None:  # triggers: any signed-in caller (no permission in the spec)
            assert r.status_code == 200, r.text
        else:
            assert r.status_code == 403, (method, path, r.text)
            assert perm in r.json()["message"]
    assert _ok(a.client.get(f"/api/workflows/{wid}"))["enabled"] is True  # nothing changed


# --- the runner and the webhook service ------------------------------------------------


async def _recognized(nats_url: str, asset_id: str) -> tuple[datetime, bytes] | None:
    """When the stream stored the asset's (last) faces-recognized event with people, and it."""
    nc = await nats.connect(nats_url)
    found: tuple[datetime, bytes] | None = None
    try:
        sub = await nc.jetstream().pull_subscribe(
            "darkroom.asset.faces.recognized", stream="DARKROOM"
        )
        while True:
            try:
                msgs = await sub.fetch(256, timeout=2)
            except (TimeoutError, nats.errors.TimeoutError):
                return found
            for m in msgs:
                data = json.loads(m.data)
                if data["asset_id"] == asset_id and data["person_ids"]:
                    found = (m.metadata.timestamp, m.data)
    finally:
        await nc.close()


async def _redeliver(nats_url: str, payload: bytes, patience_s: float = 120) -> None:
    """Publish ``payload`` again on its subject (a new message id, as a re-run would) and wait
    until the workflow consumer has handled it (delivered past it, nothing pending or unacked)."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        ack = await js.publish(
            "darkroom.asset.faces.recognized",
            payload,
            headers={"Nats-Msg-Id": f"test-redelivery-{uuid.uuid4()}"},
        )
        deadline = time.monotonic() + patience_s
        while True:
            info = await js.consumer_info("DARKROOM", "workflow_darkroom_asset_faces_recognized")
            if (
                info.delivered.stream_seq is not None
                and info.delivered.stream_seq >= ack.seq
                and not info.num_ack_pending
                and not info.num_pending
            ):
                return
            assert time.monotonic() < deadline, "the workflow consumer did not take the redelivery"
            await asyncio.sleep(0.2)
    finally:
        await nc.close()


def _faces_done(stack: Stack, asset_id: str) -> bool:
    rows = db_rows(
        stack,
        "SELECT 1 FROM asset_job_status WHERE asset_id = $1 AND faces_at IS NOT NULL",
        uuid.UUID(asset_id),
    )
    return bool(rows)


def _scaled(path: Path) -> bytes:
    """The photo at 80% (another file, so another asset, of the same face)."""
    with Image.open(path) as im:
        image = ImageOps.exif_transpose(im).convert("RGB")
    buf = io.BytesIO()
    image.resize((int(image.width * 0.8), int(image.height * 0.8))).save(buf, "JPEG", quality=90)
    return buf.getvalue()


@pytest.mark.skipif(
    FACES is None or not (FACES / "biden" / "biden.jpg").is_file(),
    reason="face samples not found: set DARKROOM_SAMPLES or place ../shared/samples/faces",
)
def test_person_workflow_adds_to_album_and_calls_a_signed_webhook(
    wf_stack: Stack, wf_admin: User, receiver: Receiver
) -> None:
    assert FACES is not None
    photo = FACES / "biden" / "biden.jpg"
    a = _user(wf_stack, wf_admin)
    # person X: the first photo's face, put on a person made through the API
    first = _ok(upload(a, photo), 201)["id"]
    _wait(lambda: _faces_done(wf_stack, first), 300, "the first photo's faces")
    faces = _ok(a.client.get("/api/faces", params={"id": first}))
    assert faces, "no face found on the sample photo"
    person = _ok(a.client.post("/api/people", json={"name": "X"}), 201)["id"]
    for face in faces:
        _ok(a.client.put(f"/api/faces/{person}", json={"id": face["id"]}))
    album = _album(a, "Y")
    made = _workflow(
        a,
        [
            {"method": "darkroom-core#filterPerson", "config": {"personIds": [person]}},
            {"method": "darkroom-core#actionAddToAlbum", "config": {"albumId": album}},
            {"method": "darkroom-core#actionWebhook", "config": {"url": receiver.url("/ok-a")}},
        ],
    )
    secret = made["steps"][2]["config"]["secret"]
    second = _ok(upload(a, photo, name="biden-small.jpg", data=_scaled(photo)), 201)["id"]

    (hit,) = receiver.wait("/ok-a", 1, 300)
    arrived, _, headers, body = hit
    payload = Webhook(secret).verify(body, headers)  # Standard Webhooks: id, timestamp, v1 HMAC
    assert payload["type"] == "workflow.asset"
    data = payload["data"]
    assert (data["assetId"], data["ownerId"], data["workflowId"]) == (second, a.id, made["id"])
    assert person in data["personIds"]
    recognized = asyncio.run(_recognized(wf_stack.nats.url, second))
    assert recognized is not None
    delay = (arrived - recognized[0]).total_seconds()
    assert delay < 5.0, f"delivered {delay:.2f} s after the faces were recognized"

    got = _ok(a.client.get(f"/api/albums/{album}"))
    # the album holds the new photo only: the first predates the workflow and is left alone
    assert (got["assetCount"], got["albumThumbnailAssetId"]) == (1, second)
    (delivery,) = _deliveries(a, workflowId=made["id"])
    assert (delivery["status"], delivery["attempts"], delivery["lastStatus"]) == (
        "delivered",
        1,
        204,
    )
    assert delivery["id"] == headers["webhook-id"] and delivery["assetId"] == second
    # one run per asset: the same event again (a redelivery, a re-run) changes nothing
    asyncio.run(_redeliver(wf_stack.nats.url, recognized[1]))
    assert len(_deliveries(a, workflowId=made["id"])) == 1
    assert _ok(a.client.get(f"/api/albums/{album}"))["assetCount"] == 1
    assert len(receiver.on("/ok-a")) == 1


def test_failing_receiver_is_retried_then_dead_lettered(
    wf_stack: Stack, wf_admin: User, receiver: Receiver
) -> None:
    a, b = _user(wf_stack, wf_admin), _user(wf_stack, wf_admin)
    made = _workflow(
        a,
        [
            {"method": "filterFileType", "config": {"types": ["IMAGE"]}},
            {"method": "actionFavorite"},
            {"method": "actionWebhook", "config": {"url": receiver.url("/fail-a")}},
        ],
    )
    asset = upload_noise(a, noise_jpeg(4242))

    def dead() -> list[dict[str, Any]]:
        return [d for d in _deliveries(a, status="dead") if d["workflowId"] == made["id"]]

    (delivery,) = _wait(dead, 120, "the delivery to be dead-lettered")
    hits = receiver.on("/fail-a")
    assert len(hits) == MAX_ATTEMPTS  # retried, then given up on
    assert {h[2]["webhook-id"] for h in hits} == {delivery["id"]}  # the same message each time
    gaps = [(hits[i + 1][0] - hits[i][0]).total_seconds() for i in range(len(hits) - 1)]
    # each retry waits at least its backoff: 1 s, then twice that
    assert gaps[0] >= BACKOFF_S * 0.95 and gaps[1] >= 2 * BACKOFF_S * 0.95, gaps
    assert delivery["attempts"] == MAX_ATTEMPTS and delivery["lastStatus"] == 500
    assert delivery["lastResponse"] == "receiver is down" and delivery["lastError"] == "HTTP 500"
    assert delivery["assetId"] == asset
    # the admin sees it; another user does not
    assert delivery["id"] in {d["id"] for d in _deliveries(wf_admin, status="dead")}
    assert _deliveries(b) == []
    # the other action ran, and the dead letter is in job_failures (durable "webhook")
    assert _ok(a.client.get(f"/api/assets/{asset}"))["isFavorite"] is True
    rows = db_rows(
        wf_stack,
        "SELECT error FROM job_failures WHERE durable = 'webhook' "
        "AND convert_from(payload, 'UTF8') LIKE $1",
        f"%{delivery['id']}%",
    )
    assert rows and "HTTP 500" in rows[0]["error"]


def test_private_target_is_refused_and_the_other_actions_run(
    wf_stack: Stack, wf_admin: User, receiver: Receiver
) -> None:
    a = _user(wf_stack, wf_admin)
    made = _workflow(
        a,
        [
            {"method": "filterPath", "config": {"pattern": "*.jpg"}},
            {"method": "actionTag", "config": {"tagValues": ["Auto/Hooked"]}},
            {"method": "actionArchive"},
            {"method": "actionWebhook", "config": {"url": "http://10.255.255.1:9/hook"}},
        ],
    )
    asset = upload_noise(a, noise_jpeg(4243))

    def dead() -> list[dict[str, Any]]:
        return _deliveries(a, status="dead", workflowId=made["id"])

    (delivery,) = _wait(dead, 120, "the refused delivery")
    assert delivery["attempts"] == 1 and delivery["lastStatus"] is None
    assert "not a public address" in delivery["lastError"]
    got = _ok(a.client.get(f"/api/assets/{asset}"))
    assert got["visibility"] == "archive"
    assert [t["value"] for t in got["tags"]] == ["Auto/Hooked"]


async def _set_paused(nats_url: str, consumer: str, paused: bool) -> None:
    """Pause or resume one durable consumer (JetStream consumer pause, as the jobs admin)."""
    bus = await Bus.connect(nats_url, name="test-workflows")
    try:
        await (queues.pause if paused else queues.resume)(bus, consumer)
    finally:
        await bus.close()


async def _drained(nats_url: str, consumer: str, patience_s: float = 120) -> None:
    """Wait until ``consumer`` has nothing pending or unacknowledged."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        deadline = time.monotonic() + patience_s
        while True:
            info = await js.consumer_info("DARKROOM", consumer)
            if not info.num_pending and not info.num_ack_pending:
                return
            assert time.monotonic() < deadline, f"{consumer} did not drain"
            await asyncio.sleep(0.2)
    finally:
        await nc.close()


def test_locked_folder_assets_are_left_alone(
    wf_stack: Stack, wf_admin: User, receiver: Receiver
) -> None:
    """An asset moved to the locked folder before its workflow runs is neither changed nor
    announced to a webhook (the workflow consumer is held back while it is locked)."""
    a = _user(wf_stack, wf_admin)
    made = _workflow(
        a,
        [
            {"method": "actionFavorite"},
            {"method": "actionWebhook", "config": {"url": receiver.url("/ok-locked")}},
        ],
    )
    consumer = "workflow_darkroom_asset_created"
    asyncio.run(_set_paused(wf_stack.nats.url, consumer, True))
    try:
        asset = upload_noise(a, noise_jpeg(4244))
        login = httpx.post(
            f"{wf_stack.url}/api/auth/login",
            json={"email": a.email, "password": a.password},
            timeout=60,
        )
        token = _ok(login, 201)["accessToken"]
        session = httpx.Client(
            base_url=wf_stack.url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )
        _ok(session.post("/api/auth/pin-code", json={"pinCode": "042917"}), 204)
        _ok(session.post("/api/auth/session/unlock", json={"pinCode": "042917"}), 204)
        _ok(session.put("/api/assets", json={"ids": [asset], "visibility": "locked"}), 204)
    finally:
        asyncio.run(_set_paused(wf_stack.nats.url, consumer, False))
    asyncio.run(_drained(wf_stack.nats.url, consumer))
    rows = db_rows(
        wf_stack, "SELECT is_favorite, visibility FROM assets WHERE id = $1", uuid.UUID(asset)
    )
    assert (rows[0]["is_favorite"], rows[0]["visibility"]) == (False, "locked")
    assert _deliveries(a, workflowId=made["id"]) == []
    assert receiver.on("/ok-locked") == []
