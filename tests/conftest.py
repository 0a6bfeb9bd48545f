"""End-to-end fixtures: the whole embedded stack (real NATS, PostgreSQL, every service process)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import nats
import nats.errors
import numpy as np
import pytest
import pyvips
from darkroom_stack.servers import free_port
from darkroom_stack.supervisor import Stack, StackConfig


@contextmanager
def running_stack(
    data_dir: Path,
    *,
    services: tuple[str, ...] | None = None,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> Iterator[Stack]:
    """A whole embedded stack (as `make up` runs it) on free ports, service logs in
    ``data_dir/logs``; stopped on exit. ``services`` defaults to every service. ``timeout`` is
    a ceiling only: the start waits while the services are alive and progressing (the stack's
    ``DARKROOM_START_TIMEOUT`` default when None), so a busy machine does not fail it."""
    config = StackConfig(
        data_dir=data_dir,
        gateway_port=free_port(),
        nats_port=free_port(),
        postgres_port=free_port(),
        log_to_files=True,
        env={
            "DARKROOM_LOG_LEVEL": "INFO",
            # no nightly run at 00:00 racing a test: tests/test_nightly.py runs its own replicas
            "DARKROOM_NIGHTLY_ENABLED": "false",
            # one onnxruntime thread per inference (CLIP, OCR): the suite runs several stacks on
            # 2 cores, where a second thread mostly spins (a third of OCR's CPU time)
            "DARKROOM_ML_THREADS": "1",
            **(env or {}),
        },
    )
    if services is not None:
        config.services = services
    running = Stack(config)
    running.start(timeout=timeout)
    try:
        yield running
    finally:
        running.stop()


#: The services smart search needs (no face, no transcode: a smaller, faster stack).
SMART_SEARCH_SERVICES = ("ingest", "metadata", "thumbnail", "embedding", "search", "gateway")


@contextmanager
def running_clip_stack(
    data_dir: Path,
    models_dir: Path,
    model: str,
    *,
    services: tuple[str, ...] = SMART_SEARCH_SERVICES,
    seed: int = 7,
) -> Iterator[Stack]:
    """A stack whose embedding and search services load a tiny random CLIP model ``model``
    built into ``models_dir`` (darkroom_ml.testing.build_tiny_clip: 64-d, 32 px images, its
    weights fixed by ``seed``); nothing is downloaded."""
    from darkroom_ml.testing import build_tiny_clip

    build_tiny_clip(models_dir, model, dim=64, image_size=32, seed=seed)
    with running_stack(
        data_dir,
        services=services,
        env={
            "DARKROOM_ML_MODEL_DIR": str(models_dir),
            "DARKROOM_CLIP_MODEL": model,
            "DARKROOM_ML_DOWNLOAD": "false",
        },
    ) as running:
        yield running


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The embedded stack shared by the end-to-end tests."""
    with running_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


#: The first admin's credentials: the API fixture and the web UI's sign-up test use the same, so
#: whichever runs first, the other can log in.
ADMIN = ("admin@darkroom.test", "correct horse battery staple")


@dataclass
class User:
    """A signed-up user with an API key and an HTTP client that sends it."""

    id: str
    email: str
    password: str
    api_key: str
    client: httpx.Client


def _new_user(stack: Stack, admin: User | None) -> User:
    """Sign up the admin (when ``admin`` is None) or have the admin create a user, over HTTP;
    then log in and make an API key with every permission."""
    email, password = (
        ADMIN
        if admin is None
        else (f"{uuid.uuid4().hex[:10]}@darkroom.test", "correct horse battery staple")
    )
    anon = httpx.Client(base_url=stack.url, timeout=60)
    body = {"email": email, "password": password, "name": "Admin" if admin is None else "Other"}
    if admin is None:
        r = anon.post("/api/auth/admin-sign-up", json=body)
        if r.status_code == 400 and "already" in r.text:  # signed up through the web UI
            r = httpx.Response(201)
    else:  # the test user goes straight in (the forced first-login change has its own tests)
        r = admin.client.post("/api/admin/users", json={**body, "shouldChangePassword": False})
    assert r.status_code == 201, r.text
    login = anon.post("/api/auth/login", json={"email": email, "password": password})
    assert login.status_code == 201, login.text
    token = login.json()["accessToken"]
    key = anon.post(
        "/api/api-keys",
        json={"name": "tests", "permissions": ["all"]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert key.status_code == 201, key.text
    secret = key.json()["secret"]
    client = httpx.Client(base_url=stack.url, headers={"x-api-key": secret}, timeout=60)
    if admin is None:  # as Immich's own e2e setup: the admin has been through onboarding
        done = client.post("/api/system-metadata/admin-onboarding", json={"isOnboarded": True})
        assert done.status_code == 204, done.text
    return User(
        id=login.json()["userId"], email=email, password=password, api_key=secret, client=client
    )


def first_admin(stack: Stack) -> User:
    """Sign up the first admin of ``stack`` (or log in as it) over HTTP."""
    return _new_user(stack, None)


def make_user(stack: Stack, admin: User) -> User:
    """A new ordinary user created by the admin through POST /api/admin/users."""
    return _new_user(stack, admin)


@pytest.fixture(scope="session")
def admin(stack: Stack) -> User:
    """The first user (admin), signed up through the API."""
    return _new_user(stack, None)


@pytest.fixture(scope="session")
def other_user(stack: Stack, admin: User) -> User:
    """A second, unrelated user."""
    return _new_user(stack, admin)


def upload(
    user: User, path: Path, *, name: str | None = None, data: bytes | None = None
) -> httpx.Response:
    """POST /api/assets with the fields @immich/cli sends."""
    content = data if data is not None else path.read_bytes()
    return user.client.post(
        "/api/assets",
        files={"assetData": (name or path.name, content, "application/octet-stream")},
        data={
            "deviceAssetId": f"{path.name}-{len(content)}",
            "deviceId": "pytest",
            "fileCreatedAt": "2020-01-01T00:00:00.000Z",
            "fileModifiedAt": "2020-01-01T00:00:00.000Z",
            "isFavorite": "false",
        },
    )


def upload_jpeg(user: User, data: bytes, created_at: str = "2020-01-01T00:00:00.000Z") -> str:
    """Upload ``data`` (a generated JPEG) taken (``fileCreatedAt``) at ``created_at``, as a
    fresh device asset; its asset id."""
    r = user.client.post(
        "/api/assets",
        files={"assetData": ("gen.jpg", data, "image/jpeg")},
        data={
            "deviceAssetId": uuid.uuid4().hex,
            "deviceId": "pytest",
            "fileCreatedAt": created_at,
            "fileModifiedAt": created_at,
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def wait_processed(user: User, ids: list[str], timeout: float = 120) -> None:
    """Wait until every asset has its thumbnail (metadata is extracted before it)."""
    deadline = time.monotonic() + timeout
    pending = set(ids)
    while pending and time.monotonic() < deadline:
        for asset_id in list(pending):
            if user.client.get(f"/api/assets/{asset_id}/thumbnail").status_code == 200:
                pending.discard(asset_id)
        time.sleep(0.3)
    assert not pending, f"not processed in {timeout} s: {pending}"


async def stream_events(nats_url: str, subject: str, stream: str = "DARKROOM") -> list[bytes]:
    """Every payload on ``subject`` in ``stream`` (an ephemeral pull consumer)."""
    nc = await nats.connect(nats_url)
    try:
        sub = await nc.jetstream().pull_subscribe(subject, stream=stream)
        out: list[bytes] = []
        while True:
            try:
                msgs = await sub.fetch(256, timeout=2)
            except (TimeoutError, nats.errors.TimeoutError):
                return out
            out += [m.data for m in msgs]
    finally:
        await nc.close()


def noise_jpeg(seed: int) -> bytes:
    """A 64x48 JPEG of random pixels from ``seed``: distinct seeds, distinct checksums."""
    pixels = np.random.default_rng(seed).integers(0, 255, size=(48, 64, 3), dtype=np.uint8)
    return bytes(pyvips.Image.new_from_array(pixels, interpretation="srgb").jpegsave_buffer(Q=80))


def db_rows(stack: Stack, query: str, *args: object) -> list[asyncpg.Record]:
    """Run one query against the stack's database (a connection of its own) and return its rows."""

    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(stack.env()["DARKROOM_DATABASE_URL"])
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    return asyncio.run(run())


def stored_files(stack: Stack, *needles: str) -> list[Path]:
    """The stored objects (filesystem storage) whose path names one of ``needles`` (asset or user
    ids): originals, thumbnails, encoded videos."""
    root = stack.config.data_dir / "storage"
    return [p for p in root.rglob("*") if p.is_file() and any(n in str(p) for n in needles)]


def config_reloads(stack: Stack, service: str) -> int:
    """How many times ``service`` has applied a saved system config (its ``config.reloaded``
    log lines): wait for this to grow after ``PUT /api/system-config`` before relying on it."""
    log = stack.config.data_dir / "logs" / f"{service}.log"
    return log.read_bytes().count(b'"config.reloaded"') if log.exists() else 0


#: Ceiling for a service to apply a saved config (it ends as soon as it has; catches a hang).
CONFIG_RELOAD_CEILING_S = 180.0


def save_config(stack: Stack, admin: User, config: dict[str, object], service: str) -> None:
    """``PUT /api/system-config`` with ``config`` (the whole config), then wait until
    ``service`` has applied it, so what it does next runs under it. Nothing is sent when
    ``config`` is the one saved already (no service would reload)."""
    if admin.client.get("/api/system-config").json() == config:
        return
    seen = config_reloads(stack, service)
    r = admin.client.put("/api/system-config", json=config)
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + CONFIG_RELOAD_CEILING_S
    while config_reloads(stack, service) <= seen:
        assert time.monotonic() < deadline, f"the {service} service did not reload its config"
        time.sleep(0.1)
