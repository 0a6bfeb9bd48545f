"""OCR end to end: an uploaded image of rendered text is found by metadata search on a word of it.

The OCR handler (``darkroom_embedding.ocr_handlers.recognize_text``) runs here through
``darkroom_runtime.serve`` in a thread, against the stack's NATS, PostgreSQL and storage, so this
test does not depend on which service process registers it.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import pyvips
from darkroom_config import load_settings
from darkroom_embedding.ocr import OcrEngine
from darkroom_embedding.ocr_handlers import recognize_text
from darkroom_runtime import ServiceSettings, serve
from darkroom_stack.supervisor import Stack

from tests.conftest import User, make_user, upload

TEXT = "Invoice 2024 total 118.50"


def render_text(text: str, font: str = "sans") -> bytes:
    """A JPEG of ``text`` in black on white at a readable size (pyvips' text renderer; ``font``
    is a Pango font description such as "sans italic")."""
    ink = pyvips.Image.text(text, dpi=300, font=font)
    page = (255 - ink).embed(60, 60, ink.width + 120, ink.height + 120, extend="white")
    return page.cast("uchar").colourspace("srgb").write_to_buffer(".jpg", Q=92)


@pytest.fixture(scope="module")
def ocr_worker(stack: Stack) -> Iterator[None]:
    """The OCR handler consuming the stack's events in a background thread."""
    settings = load_settings(ServiceSettings, environ=stack.env())
    ready = threading.Event()
    state: dict[str, object] = {}

    def run() -> None:
        async def main() -> None:
            stop = asyncio.Event()
            state["loop"], state["stop"] = asyncio.get_running_loop(), stop
            ready.set()
            await serve("ocr-test", settings, [recognize_text], stop=stop)

        asyncio.run(main())

    thread = threading.Thread(target=run, name="ocr-worker", daemon=True)
    thread.start()
    assert ready.wait(30)
    yield
    loop, stop = state["loop"], state["stop"]
    loop.call_soon_threadsafe(stop.set)  # type: ignore[attr-defined]
    thread.join(timeout=60)


def test_engine_reads_rendered_text() -> None:
    lines = OcrEngine().read(render_text(TEXT))
    joined = " ".join(line.text for line in lines)
    assert "Invoice" in joined and "118.50" in joined
    for line in lines:
        assert len(line.box) == 8 and all(0.0 <= v <= 1.0 for v in line.box)
        assert 0.5 <= line.score <= 1.0
    with pytest.raises(ValueError):
        OcrEngine().read(b"not an image")


def test_engine_runs_its_sessions_on_the_threads_it_is_given() -> None:
    """``DARKROOM_ML_THREADS`` reaches each of RapidOCR's three onnxruntime sessions, and one
    thread reads the same text."""
    engine = OcrEngine(threads=1)
    lines = engine.read(render_text(TEXT))
    assert "Invoice" in " ".join(line.text for line in lines)
    assert engine._engine is not None
    ocr = engine._engine
    sessions = (
        ocr.text_det.infer.session,
        ocr.text_cls.infer.session,
        ocr.text_rec.session.session,
    )
    for session in sessions:
        assert session.get_session_options().intra_op_num_threads == 1


def test_engine_honours_the_ocr_settings() -> None:
    """Immich's ``maxResolution`` shrinks the image detection sees (at 64 px the 761 px wide
    text is too small to find), ``minRecognitionScore`` drops lines less confident, and a
    small image is read as it is (not enlarged: cheap, and still read)."""
    engine, image = OcrEngine(), render_text(TEXT)
    assert engine.read(image, max_resolution=64) == []
    assert engine.read(image, min_recognition_score=1.0) == []
    kept = engine.read(image, min_recognition_score=0.9)
    assert kept and all(line.score >= 0.9 for line in kept)
    small = pyvips.Image.new_from_buffer(image, "").resize(0.5).jpegsave_buffer(Q=92)
    assert "Invoice" in " ".join(line.text for line in engine.read(small))


def _wait_found(user: User, asset_id: str, text: str) -> list[str]:
    """Search ``text`` until ``asset_id`` shows (OCR runs after upload, thumbnail and preview);
    the last result. Generous: a loaded machine queues the pipeline."""
    deadline = time.monotonic() + 300
    found = _ocr_search(user, text)
    while asset_id not in found and time.monotonic() < deadline:
        time.sleep(1)
        found = _ocr_search(user, text)
    return found


def _ocr_search(user: User, text: str) -> list[str]:
    r = user.client.post("/api/search/metadata", json={"ocr": text})
    assert r.status_code == 200, r.text
    return [a["id"] for a in r.json()["assets"]["items"]]


def test_uploaded_text_image_is_found_by_searching_invoice(
    ocr_worker: None, admin: User, other_user: User, tmp_path
) -> None:
    path = tmp_path / "invoice.jpg"
    path.write_bytes(render_text(TEXT))
    r = upload(admin, path)
    assert r.status_code == 201, r.text
    asset_id = r.json()["id"]
    deadline = time.monotonic() + 180
    found: list[str] = []
    while time.monotonic() < deadline:
        found = _ocr_search(admin, "invoice")
        if asset_id in found:
            break
        time.sleep(1)
    assert asset_id in found, "the invoice image was not found by its OCR text"
    assert asset_id in _ocr_search(admin, "INVOICE total")  # case-insensitive, every word
    assert asset_id not in _ocr_search(admin, "receipt")
    assert asset_id not in _ocr_search(admin, "invoice receipt")
    assert _ocr_search(other_user, "invoice") == []  # never another user's text
    stats = admin.client.post("/api/search/statistics", json={"ocr": "118.50"})
    assert stats.status_code == 200 and stats.json()["total"] >= 1


def test_italic_invoice_is_found_whatever_the_case(
    ocr_worker: None, stack: Stack, admin: User, tmp_path
) -> None:
    """Issue #23: an italic "INVOICE" (which OCR may read as "INVOlCE") is found by "invoice"
    and "Invoice"; a word that is not in the image is not."""
    user = make_user(stack, admin)  # a library of only this image
    path = tmp_path / "italic-invoice.jpg"
    path.write_bytes(render_text("INVOICE", font="sans italic"))
    r = upload(user, path)
    assert r.status_code == 201, r.text
    asset_id = r.json()["id"]
    assert _wait_found(user, asset_id, "invoice") == [asset_id]
    assert _ocr_search(user, "Invoice") == [asset_id]
    assert _ocr_search(user, "receipt") == []
    assert _ocr_search(user, "invoice receipt") == []


def test_asset_ocr_lists_the_lines_read_and_refuses_others(
    ocr_worker: None, stack: Stack, admin: User, other_user: User, tmp_path
) -> None:
    """GET /api/assets/{id}/ocr: AssetOcrResponseDto per line read, boxes in 0..1 and around
    the text; another user and a shared-link visitor get 400, anonymous 401."""
    path = tmp_path / "ocr-api.jpg"
    path.write_bytes(render_text("Receipt 77 paid"))
    r = upload(admin, path)
    assert r.status_code == 201, r.text
    asset_id = r.json()["id"]
    assert asset_id in _wait_found(admin, asset_id, "receipt"), "OCR never read the image"
    got = admin.client.get(f"/api/assets/{asset_id}/ocr")
    assert got.status_code == 200, got.text
    lines = got.json()
    assert "Receipt" in " ".join(line["text"] for line in lines)
    fields = {"id", "assetId", "text", "textScore", "boxScore"} | {
        f"{a}{n}" for a in "xy" for n in range(1, 5)
    }
    for line in lines:
        assert set(line) == fields
        assert line["assetId"] == asset_id and uuid.UUID(line["id"])
        assert 0.5 <= line["textScore"] <= 1 and 0.5 <= line["boxScore"] <= 1
        xs = [line[f"x{n}"] for n in range(1, 5)]
        ys = [line[f"y{n}"] for n in range(1, 5)]
        assert all(0 <= v <= 1 for v in xs + ys)
        assert xs[0] < xs[1] and ys[0] < ys[3]  # clockwise from the top left
    assert admin.client.get(f"/api/assets/{asset_id}/ocr").json() == lines  # ids are stable
    # an asset with no text: an empty list, not an error
    blank = tmp_path / "blank.jpg"
    blank.write_bytes(pyvips.Image.black(64, 64).invert().cast("uchar").jpegsave_buffer())
    r = upload(admin, blank)
    assert r.status_code == 201, r.text
    assert admin.client.get(f"/api/assets/{r.json()['id']}/ocr").json() == []

    refused = other_user.client.get(f"/api/assets/{asset_id}/ocr")
    assert refused.status_code == 400
    assert refused.json()["message"] == "Not found or no asset.read access"
    anon = httpx.Client(base_url=stack.url, timeout=60)
    assert anon.get(f"/api/assets/{asset_id}/ocr").status_code == 401
    link = admin.client.post(
        "/api/shared-links", json={"type": "INDIVIDUAL", "assetIds": [asset_id]}
    )
    assert link.status_code == 201, link.text
    try:
        visitor = anon.get(f"/api/assets/{asset_id}/ocr", params={"key": link.json()["key"]})
        assert visitor.status_code == 403, visitor.text
    finally:
        admin.client.delete(f"/api/shared-links/{link.json()['id']}")
