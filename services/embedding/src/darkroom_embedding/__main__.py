"""``python -m darkroom_embedding``: CLIP-embed previews into smart_search, group duplicates,
and read the text in previews (OCR) into asset_ocr."""

from __future__ import annotations

from darkroom_runtime import Context, run_service

from darkroom_embedding.handlers import embed_preview
from darkroom_embedding.handlers import setup as setup_search
from darkroom_embedding.ocr_handlers import recognize_text, setup_ocr
from darkroom_embedding.settings import EmbeddingSettings


async def setup(ctx: Context) -> None:
    """Load the CLIP model and the OCR models, each reporting its readiness."""
    await setup_search(ctx)
    await setup_ocr(ctx)


def main() -> None:
    """Run the embedding service until SIGTERM/SIGINT."""
    run_service(
        "embedding", EmbeddingSettings, handlers=[embed_preview, recognize_text], setup=setup
    )


if __name__ == "__main__":
    main()
