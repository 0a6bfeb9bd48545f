"""``python -m darkroom_embedding``: CLIP-embed previews into smart_search, group duplicates,
and read the text in previews (OCR) into asset_ocr."""

from __future__ import annotations

from darkroom_runtime import run_service

from darkroom_embedding.handlers import embed_preview, setup
from darkroom_embedding.ocr_handlers import recognize_text
from darkroom_embedding.settings import EmbeddingSettings


def main() -> None:
    """Run the embedding service until SIGTERM/SIGINT."""
    run_service(
        "embedding", EmbeddingSettings, handlers=[embed_preview, recognize_text], setup=setup
    )


if __name__ == "__main__":
    main()
