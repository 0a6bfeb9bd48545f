"""Finding a model in the model cache, and downloading it once from its hub.

Immich publishes its exported models as Hugging Face repositories ``immich-app/<name>``
(e.g. ``immich-app/ViT-B-32__openai``) in the layout :mod:`darkroom_ml.models` reads. A model is
looked for in ``<cache>/<name>`` and ``<cache>/clip/<name>`` (Immich's own cache layout, so an
Immich model cache can be mounted as is). Downloading needs the optional ``huggingface_hub``
package (``darkroom-ml[hub]``); without it, or offline, models must be copied into the cache.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import structlog

from darkroom_ml.models import ModelTask, ModelType

log = structlog.get_logger()

#: Hugging Face organisation holding Immich's exported models.
DEFAULT_HUB_ORG = "immich-app"


class ModelUnavailable(Exception):
    """No usable model: not in the cache, and downloading is off or failed (message says why)."""


def _complete(model_dir: Path, types: tuple[ModelType, ...]) -> bool:
    return (
        all((model_dir / t.value / "model.onnx").is_file() for t in types)
        and (model_dir / "config.json").is_file()
    )


def find_model(
    cache_dir: Path, name: str, types: tuple[ModelType, ...] = (ModelType.VISUAL,)
) -> Path | None:
    """The directory of model ``name`` in the cache, if it holds the parts ``types``.

    Args:
        cache_dir: The model cache (``DARKROOM_ML_MODEL_DIR``).
        name: Model name, e.g. ``ViT-B-32__openai``.
        types: Parts that must be present (``<part>/model.onnx``), plus ``config.json``.

    Returns:
        ``<cache>/<name>`` or ``<cache>/clip/<name>``, or None.
    """
    for candidate in (cache_dir / name, cache_dir / ModelTask.SEARCH.value / name):
        if _complete(candidate, types):
            return candidate
    return None


def download_model(
    cache_dir: Path,
    name: str,
    types: tuple[ModelType, ...] = (ModelType.VISUAL,),
    *,
    hub_org: str = DEFAULT_HUB_ORG,
) -> Path:
    """Download model ``name`` from ``<hub_org>/<name>`` on Hugging Face into ``<cache>/<name>``.

    Only the files of the parts in ``types`` and the configs are fetched (blocking; a ViT-B-32
    is ~350 MB for both parts).

    Returns:
        The model directory.

    Raises:
        ModelUnavailable: ``huggingface_hub`` is not installed, or the download failed.
    """
    if importlib.util.find_spec("huggingface_hub") is None:
        raise ModelUnavailable("downloads need the huggingface_hub package (darkroom-ml[hub])")
    from huggingface_hub import snapshot_download

    target = cache_dir / name
    patterns = ["config.json", *(f"{t.value}/*" for t in types)]
    try:
        snapshot_download(
            repo_id=f"{hub_org}/{name}", local_dir=str(target), allow_patterns=patterns
        )
    except Exception as exc:  # network, auth, missing repository: all mean "not available"
        raise ModelUnavailable(f"download of {hub_org}/{name} failed: {exc}") from exc
    if not _complete(target, types):
        raise ModelUnavailable(f"{hub_org}/{name} lacks {[t.value for t in types]} model files")
    return target


def resolve_model(
    cache_dir: Path | str,
    name: str,
    types: tuple[ModelType, ...] = (ModelType.VISUAL,),
    *,
    download: bool = True,
    hub_org: str = DEFAULT_HUB_ORG,
) -> Path:
    """The model's directory: from the cache, else downloaded once when ``download`` is on.

    Raises:
        ModelUnavailable: Not in the cache and not downloadable (the message says why).
    """
    cache = Path(cache_dir)
    found = find_model(cache, name, types)
    if found is not None:
        return found
    if not download:
        raise ModelUnavailable(f"model {name} is not in {cache} and downloads are off")
    log.info("ml.model_downloading", model=name, hub=f"{hub_org}/{name}", cache=str(cache))
    cache.mkdir(parents=True, exist_ok=True)
    return download_model(cache, name, types, hub_org=hub_org)
