"""``make demo``: put real photos and videos through Darkroom and show what each asset got.

Only HTTP, as a client would: sign up the admin (or log in as the demo admin), make an API key,
upload every supported file of the folder, wait for each asset's thumbnail (or its failure, from
the jobs admin API), then print a table: type, capture time, camera, place, thumbnail and
preview sizes, and the seconds from upload to thumbnail.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pyvips
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from darkroom_stack.testing import samples_dir

DEMO_EMAIL = "admin@darkroom.local"
DEMO_PASSWORD = "darkroom-demo"  # noqa: S105 - the demo's own throwaway account
FAILED_QUEUES = ("metadataExtraction", "thumbnailGeneration")


@dataclass
class Row:
    """What the demo learnt about one uploaded file."""

    path: Path
    asset_id: str | None = None
    status: str = ""
    uploaded_at: float = 0.0
    done_in: float | None = None
    error: str | None = None
    info: dict[str, object] | None = None
    thumb: str = ""
    preview: str = ""


def media_files(folder: Path, client: httpx.Client) -> list[Path]:
    """Every file under ``folder`` whose extension the server accepts, sorted."""
    types = client.get("/api/server/media-types").json()
    accepted = {e.lower() for e in types["image"] + types["video"]}
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in accepted)


def login(client: httpx.Client) -> str:
    """Sign up the demo admin on a fresh server, or log in as it; returns an API key.

    Raises:
        SystemExit: The server has another admin (give credentials via DARKROOM_DEMO_EMAIL and
            DARKROOM_DEMO_PASSWORD).
    """
    email = os.environ.get("DARKROOM_DEMO_EMAIL", DEMO_EMAIL)
    password = os.environ.get("DARKROOM_DEMO_PASSWORD", DEMO_PASSWORD)
    client.post(
        "/api/auth/admin-sign-up", json={"email": email, "password": password, "name": "Demo Admin"}
    )
    r = client.post("/api/auth/login", json={"email": email, "password": password})
    if r.status_code != 201:
        raise SystemExit(
            f"cannot log in as {email}: {r.json().get('message')} (set "
            "DARKROOM_DEMO_EMAIL / DARKROOM_DEMO_PASSWORD)"
        )
    token = r.json()["accessToken"]
    key = client.post(
        "/api/api-keys",
        json={"name": "demo", "permissions": ["all"]},
        headers={"Authorization": f"Bearer {token}"},
    )
    key.raise_for_status()
    return str(key.json()["secret"])


def _size(data: bytes) -> str:
    image = pyvips.Image.new_from_buffer(data, "")
    return f"{image.width}x{image.height}"


def upload_all(client: httpx.Client, files: list[Path], console: Console) -> list[Row]:
    """Upload each file (streamed from disk) as @immich/cli does."""
    rows = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("uploading", total=len(files))
        for path in files:
            row = Row(path=path)
            stat = path.stat()
            when = datetime.fromtimestamp(stat.st_mtime, UTC).isoformat()
            with path.open("rb") as fh:
                r = client.post(
                    "/api/assets",
                    files={"assetData": (path.name, fh)},
                    data={
                        "deviceAssetId": f"demo-{path.name}-{stat.st_size}",
                        "deviceId": "demo",
                        "fileCreatedAt": when,
                        "fileModifiedAt": when,
                        "isFavorite": "false",
                    },
                )
            row.uploaded_at = time.monotonic()
            if r.status_code in (200, 201):
                row.asset_id, row.status = r.json()["id"], r.json()["status"]
            else:
                row.status, row.error = "rejected", r.json().get("message", r.text)
            rows.append(row)
            progress.advance(task)
    return rows


def wait_for_pipeline(client: httpx.Client, rows: list[Row], timeout: float) -> None:
    """Poll thumbnails and failed jobs until every asset is done or failed, or time runs out."""
    pending = {r.asset_id: r for r in rows if r.asset_id}
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for queue in FAILED_QUEUES:
            failed = client.get(f"/api/queues/{queue}/jobs", params={"status": "failed"})
            for job in failed.json() if failed.status_code == 200 else []:
                row = pending.pop(str(job["data"].get("id")), None)
                if row is not None:
                    row.error = str(job["data"].get("error"))
        for asset_id, row in list(pending.items()):
            thumb = client.get(f"/api/assets/{asset_id}/thumbnail")
            if thumb.status_code == 200:
                row.done_in = time.monotonic() - row.uploaded_at
                row.thumb = _size(thumb.content)
                preview = client.get(
                    f"/api/assets/{asset_id}/thumbnail", params={"size": "preview"}
                )
                row.preview = _size(preview.content) if preview.status_code == 200 else "-"
                row.info = client.get(f"/api/assets/{asset_id}").json()
                del pending[asset_id]
        time.sleep(0.5)
    for row in pending.values():
        row.error = f"not processed within {timeout:.0f} s"


def report(rows: list[Row], console: Console) -> Table:
    """The table of what each asset got."""
    table = Table(title="Darkroom demo: what each asset got", show_lines=False)
    for column in (
        "file",
        "type",
        "captured",
        "camera",
        "place",
        "thumbnail",
        "preview",
        "seconds",
        "status",
    ):
        table.add_column(column, overflow="fold")
    for row in rows:
        info = row.info or {}
        exif = info.get("exifInfo") or {}
        assert isinstance(exif, dict)
        camera = " ".join(str(exif[k]) for k in ("make", "model") if exif.get(k))
        place = ", ".join(str(exif[k]) for k in ("city", "country") if exif.get(k))
        status = row.error or row.status
        table.add_row(
            row.path.name,
            str(info.get("type", "")),
            str(exif.get("dateTimeOriginal") or "")[:19],
            camera,
            place,
            row.thumb,
            row.preview,
            f"{row.done_in:.1f}" if row.done_in is not None else "",
            status,
        )
    console.print(table)
    done = [r for r in rows if r.done_in is not None]
    console.print(
        f"{len(rows)} files: {len(done)} processed, "
        f"{sum(1 for r in rows if r.error)} failed or rejected."
    )
    return table


def run_demo(directory: Path | None = None, url: str | None = None, timeout: float = 600.0) -> int:
    """Run the demo against ``url`` (or a stack started here); returns the exit status."""
    from darkroom_stack.cli import stack_config
    from darkroom_stack.supervisor import Stack

    console = Console(width=max(Console().width, 160))  # a readable table in logs and CI too
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise here
    folder = directory or samples_dir()
    if folder is None or not folder.is_dir():
        console.print("[red]No media folder: pass DIR=... or place ../shared/samples[/red]")
        return 2
    base = url or os.environ.get("DARKROOM_URL", "http://localhost:2283")
    stack = None
    with contextlib.suppress(httpx.HTTPError):
        httpx.get(f"{base}/api/server/ping", timeout=2).raise_for_status()
        url = base
    if url is None:
        console.print("No server answered: starting the embedded stack (logs in data/logs)")
        stack = Stack(stack_config(log_to_files=True))
        stack.start()
        url = stack.url
    try:
        client = httpx.Client(base_url=url, timeout=120)
        client.headers["x-api-key"] = login(client)
        files = media_files(folder, client)
        console.print(f"Uploading {len(files)} files from {folder} to {url}")
        started = time.monotonic()
        rows = upload_all(client, files, console)
        wait_for_pipeline(client, rows, timeout)
        report(rows, console)
        console.print(f"Total {time.monotonic() - started:.1f} s")
        return 0
    finally:
        if stack is not None:
            stack.stop()
