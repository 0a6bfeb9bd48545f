"""CLIP encoders on onnxruntime, in Immich's model repository layout.

A model directory (``<cache>/<name>/``, e.g. ``ViT-B-32__openai``) holds::

    config.json                  OpenCLIP model config: embed_dim, vision_cfg, text_cfg
    visual/model.onnx            image [N, 3, S, S] float32 -> embedding [N, D]
    visual/preprocess_cfg.json   size, mean, std, interpolation, resize_mode
    textual/model.onnx           token ids [N, 77] int64 (or int32) -> embedding [N, D]
    textual/tokenizer.json       (+ tokenizer_config.json) or bpe_simple_vocab_16e6.txt.gz

Capabilities are named by enums (:class:`ModelTask`, :class:`ModelType`); every model is an
:class:`InferenceModel` with the template methods :meth:`InferenceModel.load` and
:meth:`InferenceModel.predict`. All calls are blocking: services run them in their thread pool
(``ctx.run_blocking``). Nothing is global: each instance owns its session and its caches.
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any, ClassVar

import msgspec
import numpy as np
import onnxruntime as ort
import structlog
from numpy.typing import NDArray
from tokenizers import Tokenizer

from darkroom_ml.languages import DEFAULT_FLORES, FLORES_RE, flores_code
from darkroom_ml.preprocess import ImageInput, PreprocessConfig
from darkroom_ml.preprocess import preprocess as _preprocess
from darkroom_ml.tokenizer import clean_text, load_tokenizer

log = structlog.get_logger()


class ModelTask(StrEnum):
    """What a model is for (Immich's task names)."""

    SEARCH = "clip"
    FACIAL_RECOGNITION = "facial-recognition"
    OCR = "ocr"


class ModelType(StrEnum):
    """Which part of a task's model; also the sub-directory holding its ``model.onnx``."""

    VISUAL = "visual"
    TEXTUAL = "textual"
    DETECTION = "detection"
    RECOGNITION = "recognition"


class ModelError(Exception):
    """A model directory is missing files or holds something unusable."""


def default_providers() -> list[str]:
    """onnxruntime execution providers to use: CUDA first when this build has it, then CPU.

    Returns:
        e.g. ``["CUDAExecutionProvider", "CPUExecutionProvider"]`` with onnxruntime-gpu on an
        NVIDIA machine, ``["CPUExecutionProvider"]`` otherwise.
    """
    available = ort.get_available_providers()
    preferred = [p for p in ("CUDAExecutionProvider",) if p in available]
    return [*preferred, "CPUExecutionProvider"]


def l2_normalize(x: NDArray[np.floating[Any]]) -> NDArray[np.float32]:
    """Rows scaled to unit Euclidean length (zero rows stay zero).

    Args:
        x: ``(N, D)``.

    Returns:
        ``(N, D)`` float32; cosine similarity of two rows is then their dot product.
    """
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, np.float32(1e-12))


class ClipConfig(msgspec.Struct, frozen=True, kw_only=True):
    """What Darkroom reads from a CLIP model's ``config.json`` (OpenCLIP model config).

    Attributes:
        embed_dim: Embedding size D (512 for ViT-B-32).
        image_size: Visual input side in pixels (``vision_cfg.image_size``).
        context_length: Tokens per text (``text_cfg.context_length``; 77, SigLIP 64).
        text_clean: ``text_cfg.tokenizer_kwargs.clean`` ("canonicalize" for SigLIP models,
            see :func:`darkroom_ml.tokenizer.clean_text`), "" when absent.
    """

    embed_dim: int
    image_size: int = 224
    context_length: int = 77
    text_clean: str = ""

    @classmethod
    def read(cls, model_dir: Path) -> ClipConfig:
        """Parse ``<model_dir>/config.json``.

        Raises:
            ModelError: Missing or without ``embed_dim``.
        """
        path = model_dir / "config.json"
        try:
            raw = json.loads(path.read_text())
            vision = raw.get("vision_cfg") or {}
            text = raw.get("text_cfg") or {}
            size = vision.get("image_size", 224)
            return cls(
                embed_dim=int(raw["embed_dim"]),
                image_size=int(size[0] if isinstance(size, list) else size),
                context_length=int(text.get("context_length", 77)),
                text_clean=str((text.get("tokenizer_kwargs") or {}).get("clean") or ""),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelError(f"bad or missing {path}: {exc}") from exc


class InferenceModel(ABC):
    """One ONNX model of a task, loaded on first use.

    Subclasses set :attr:`task` and :attr:`type` and implement :meth:`_predict` (and
    :meth:`_load` for files besides the ONNX graph). Not re-entrant during :meth:`load`;
    :meth:`predict` may be called from several threads (onnxruntime sessions are thread-safe).

    Args:
        model_dir: The model's directory (``<cache>/<name>``).
        providers: onnxruntime providers in preference order; :func:`default_providers` if None.
        threads: Intra-op threads per inference (0: onnxruntime's default, all cores).
    """

    task: ClassVar[ModelTask]
    type: ClassVar[ModelType]

    def __init__(
        self, model_dir: Path, *, providers: Sequence[str] | None = None, threads: int = 0
    ) -> None:
        self.model_dir = Path(model_dir)
        self.providers = list(providers) if providers is not None else default_providers()
        self.threads = threads
        self.session: ort.InferenceSession | None = None
        self._lock = threading.Lock()

    @property
    def model_path(self) -> Path:
        """``<model_dir>/<type>/model.onnx``."""
        return self.model_dir / self.type.value / "model.onnx"

    @property
    def loaded(self) -> bool:
        """Whether :meth:`load` has run."""
        return self.session is not None

    def load(self) -> None:
        """Open the ONNX session and read the model's other files (once; later calls no-op).

        Raises:
            ModelError: ``model.onnx`` or a file the subclass needs is missing or unreadable.
        """
        with self._lock:
            if self.session is not None:
                return
            if not self.model_path.is_file():
                raise ModelError(f"no model at {self.model_path}")
            opts = ort.SessionOptions()
            if self.threads:
                opts.intra_op_num_threads = self.threads
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
            try:
                session = ort.InferenceSession(
                    str(self.model_path), sess_options=opts, providers=self.providers
                )
            except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
                raise ModelError(f"cannot load {self.model_path}: {exc}") from exc
            self._load(session)
            self.session = session
            log.info(
                "ml.model_loaded",
                task=self.task.value,
                type=self.type.value,
                model=self.model_dir.name,
                providers=session.get_providers(),
            )

    def _load(self, session: ort.InferenceSession) -> None:  # noqa: B027 - optional hook
        """Hook: read the model's other files once the session exists."""

    def predict(self, inputs: Any) -> NDArray[np.float32]:
        """Load if needed, then run the model on ``inputs`` (see the subclass)."""
        if self.session is None:
            self.load()
        return self._predict(inputs)

    @abstractmethod
    def _predict(self, inputs: Any) -> NDArray[np.float32]:
        """Run the loaded model."""


class ClipVisualEncoder(InferenceModel):
    """CLIP image encoder: images -> L2-normalised ``(N, D)`` embeddings.

    Args:
        model_dir: See :class:`InferenceModel`.
        batch_size: Most images per inference call (when the graph has a dynamic batch axis).
        **kwargs: ``providers``, ``threads``.
    """

    task = ModelTask.SEARCH
    type = ModelType.VISUAL

    def __init__(self, model_dir: Path, *, batch_size: int = 16, **kwargs: Any) -> None:
        super().__init__(model_dir, **kwargs)
        self.batch_size = max(1, batch_size)
        self.preprocess_cfg = PreprocessConfig()

    def _load(self, session: ort.InferenceSession) -> None:
        path = self.model_path.parent / "preprocess_cfg.json"
        if path.is_file():
            try:
                self.preprocess_cfg = msgspec.json.decode(path.read_bytes(), type=PreprocessConfig)
            except msgspec.DecodeError as exc:
                raise ModelError(f"bad {path}: {exc}") from exc
        else:
            size = ClipConfig.read(self.model_dir).image_size
            self.preprocess_cfg = PreprocessConfig(size=size)
        batch_dim = session.get_inputs()[0].shape[0]
        if isinstance(batch_dim, int):  # a graph exported with a fixed batch size
            self.batch_size = batch_dim

    def preprocess(self, images: Sequence[ImageInput]) -> NDArray[np.float32]:
        """The model input for ``images``: ``(N, 3, S, S)`` float32, normalised (see
        :func:`darkroom_ml.preprocess.preprocess`). Loads the model config if needed."""
        if self.session is None:
            self.load()
        return _preprocess(list(images), self.preprocess_cfg)

    def _predict(self, inputs: Sequence[ImageInput]) -> NDArray[np.float32]:
        assert self.session is not None
        pixels = self.preprocess(inputs)
        name = self.session.get_inputs()[0].name
        outs = [
            self.session.run(None, {name: pixels[i : i + self.batch_size]})[0]
            for i in range(0, len(pixels), self.batch_size)
        ]
        return l2_normalize(np.concatenate(outs, axis=0))


class TextModelKind(StrEnum):
    """Which family a CLIP text encoder belongs to; decides its inputs and preprocessing.

    All read ``textual/tokenizer.json`` (padding/truncation to ``text_cfg.context_length`` with
    the ``pad_token`` of ``tokenizer_config.json``) and clean the text (:func:`clean_text`).

    - ``clip``: OpenAI CLIP / OpenCLIP (BPE tokenizer); one input, the token ids.
    - ``m-clip``: Multilingual-CLIP (``XLM-Roberta-Large-Vit-B-16Plus``, ``LABSE-Vit-L-14``...):
      XLM-R / LaBSE tokenizer; two inputs, ``input_ids`` and ``attention_mask`` (the mean
      pooling over real tokens and the linear projection are in the ONNX graph). Recognised by
      the graph's ``attention_mask`` input.
    - ``nllb``: NLLB-CLIP (``nllb-clip-base-siglip__v1``...): NLLB SentencePiece tokenizer; the
      text starts with the FLORES-200 code token of the query's language (``deu_Latn``).
      Recognised by the model name starting with ``nllb`` (Immich's convention) or a
      tokenizer holding the ``eng_Latn`` token.
    - ``siglip``: SigLIP / SigLIP2 (``ViT-B-16-SigLIP2__webli``...): T5 / Gemma SentencePiece
      tokenizer, fixed padding to the context length (64), text canonicalised (lower case,
      no punctuation). Recognised by ``text_cfg.tokenizer_kwargs.clean == "canonicalize"``.
    """

    CLIP = "clip"
    MCLIP = "m-clip"
    NLLB = "nllb"
    SIGLIP = "siglip"


def _without_template_language(tokenizer: Tokenizer) -> Tokenizer:
    """An NLLB tokenizer whose post-processor template does not add a language token itself.

    Hugging Face's NLLB tokenizer saves its source language in the template
    (``eng_Latn $A </s>``); the encoder puts the query's own language token before the text
    instead, so a fixed one is taken out of the template (a template without one, as in
    Immich's exports, is returned unchanged).
    """
    data = json.loads(tokenizer.to_str())
    post = data.get("post_processor") or {}
    if post.get("type") != "TemplateProcessing":
        return tokenizer
    single = post.get("single") or []
    kept = [
        piece
        for piece in single
        if not FLORES_RE.match(str((piece.get("SpecialToken") or {}).get("id", "")))
    ]
    if len(kept) == len(single):
        return tokenizer
    post["single"] = kept
    return Tokenizer.from_str(json.dumps(data))


class ClipTextualEncoder(InferenceModel):
    """CLIP text encoder: texts -> L2-normalised ``(N, D)`` embeddings, with an LRU cache.

    Handles every :class:`TextModelKind` Immich offers (OpenAI CLIP, M-CLIP, NLLB-CLIP,
    SigLIP/SigLIP2) from their files in Immich's layout.

    Args:
        model_dir: See :class:`InferenceModel`.
        cache_size: Recent (language, text) pairs whose embeddings are kept (0: no cache).
        **kwargs: ``providers``, ``threads``.
    """

    task = ModelTask.SEARCH
    type = ModelType.TEXTUAL

    def __init__(self, model_dir: Path, *, cache_size: int = 256, **kwargs: Any) -> None:
        super().__init__(model_dir, **kwargs)
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str], NDArray[np.float32]] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.context_length = 77
        self.canonicalize = False
        self.kind = TextModelKind.CLIP
        self._language_ids: dict[str, int] = {}

    def _load(self, session: ort.InferenceSession) -> None:
        cfg_path = self.model_dir / "config.json"
        if cfg_path.is_file():
            cfg = ClipConfig.read(self.model_dir)
            self.context_length = cfg.context_length
            self.canonicalize = cfg.text_clean == "canonicalize"
        self.tokenizer = load_tokenizer(self.model_path.parent, self.context_length)
        self._inputs = {i.name: i for i in session.get_inputs()}
        self._language_ids = {
            tok.content: tid
            for tid, tok in self.tokenizer.get_added_tokens_decoder().items()
            if FLORES_RE.match(tok.content)
        }
        if "attention_mask" in self._inputs:
            self.kind = TextModelKind.MCLIP
            self._ids_input = (
                "input_ids"
                if "input_ids" in self._inputs
                else next(n for n in self._inputs if n != "attention_mask")
            )
        else:
            self._ids_input = session.get_inputs()[0].name
            if self.model_dir.name.lower().startswith("nllb") or DEFAULT_FLORES in (
                self._language_ids
            ):
                self.kind = TextModelKind.NLLB
            elif self.canonicalize:
                self.kind = TextModelKind.SIGLIP
        if self.kind is TextModelKind.NLLB:
            if DEFAULT_FLORES not in self._language_ids:
                raise ModelError(f"NLLB model {self.model_dir.name}: no {DEFAULT_FLORES} token")
            self.tokenizer = _without_template_language(self.tokenizer)

    def _dtype(self, name: str) -> np.dtype[Any]:
        int32 = self._inputs[name].type == "tensor(int32)"
        return np.dtype(np.int32) if int32 else np.dtype(np.int64)

    def language_key(self, language: str | None) -> str:
        """The part of ``language`` that changes this model's output: the FLORES-200 code for
        NLLB models (see :func:`darkroom_ml.languages.flores_code`), "" for the others."""
        if self.session is None:
            self.load()
        if self.kind is not TextModelKind.NLLB:
            return ""
        code = flores_code(language)
        if code not in self._language_ids:
            log.warning("ml.language_not_in_model", language=code, model=self.model_dir.name)
            return DEFAULT_FLORES
        return code

    def prepare(self, text: str, language: str | None = None) -> str:
        """The text the tokenizer gets: cleaned (:func:`clean_text`), and for NLLB models
        preceded by the language's FLORES-200 code token (which the tokenizer keeps whole).
        Loads the model if needed."""
        if self.session is None:
            self.load()
        text = clean_text(text, canonicalize=self.canonicalize)
        if self.kind is TextModelKind.NLLB:
            return self.language_key(language) + text
        return text

    def tokenize(self, texts: Sequence[str], language: str | None = None) -> NDArray[np.int64]:
        """Token ids, ``(N, context_length)``: what the tokenizer gives for the prepared texts
        (:meth:`prepare`), padded/truncated to the context length (CLIP: SOT first, EOT after
        the text; NLLB: the language token first). Loads the tokenizer if needed."""
        return self.feeds(texts, language)[self._ids_input].astype(np.int64)

    def feeds(
        self, texts: Sequence[str], language: str | None = None
    ) -> dict[str, NDArray[np.integer[Any]]]:
        """The ONNX inputs for ``texts``: ``{ids input: (N, L)}``, plus ``attention_mask``
        ``(N, L)`` (1 for real tokens, 0 for padding) for M-CLIP; each in the dtype the graph
        declares (int32 or int64)."""
        if self.session is None:
            self.load()
        encoded = self.tokenizer.encode_batch([self.prepare(t, language) for t in texts])
        out = {
            self._ids_input: np.asarray(
                [e.ids for e in encoded], dtype=self._dtype(self._ids_input)
            )
        }
        if self.kind is TextModelKind.MCLIP:
            out["attention_mask"] = np.asarray(
                [e.attention_mask for e in encoded], dtype=self._dtype("attention_mask")
            )
        return out

    def predict(self, inputs: Any, language: str | None = None) -> NDArray[np.float32]:
        """Embed texts ``inputs`` written in ``language`` (a client language tag; only NLLB
        models use it). Loads the model if needed."""
        if self.session is None:
            self.load()
        return self._predict(inputs, language)

    def _predict(self, inputs: Sequence[str], language: str | None = None) -> NDArray[np.float32]:
        assert self.session is not None
        texts = list(inputs)
        lang = self.language_key(language)
        out: list[NDArray[np.float32] | None] = [None] * len(texts)
        with self._cache_lock:
            for i, text in enumerate(texts):
                hit = self._cache.get((lang, text))
                if hit is not None:
                    self._cache.move_to_end((lang, text))
                    out[i] = hit
        missing = [i for i, v in enumerate(out) if v is None]
        if missing:
            feeds = self.feeds([texts[i] for i in missing], lang or None)
            emb = l2_normalize(self.session.run(None, feeds)[0])
            with self._cache_lock:
                for row, i in zip(emb, missing, strict=True):
                    out[i] = row
                    if self.cache_size:
                        key = (lang, texts[i])
                        self._cache[key] = row
                        self._cache.move_to_end(key)
                        while len(self._cache) > self.cache_size:
                            self._cache.popitem(last=False)
        return np.stack([v for v in out if v is not None]).astype(np.float32)


class ClipModel:
    """A CLIP model: its image and text encoders, which embed into the same space.

    Use :meth:`load`; then :meth:`encode_images` and :meth:`encode_text` (blocking: call them
    through the service's thread pool).

    Attributes:
        name: The model's name (its directory name, e.g. ``ViT-B-32__openai``).
        dim: Embedding size D.
        visual: The image encoder, or None when not loaded.
        textual: The text encoder, or None when not loaded.
    """

    def __init__(
        self,
        name: str,
        dim: int,
        visual: ClipVisualEncoder | None,
        textual: ClipTextualEncoder | None,
    ) -> None:
        self.name = name
        self.dim = dim
        self.visual = visual
        self.textual = textual

    @classmethod
    def load(
        cls,
        model_dir: Path | str,
        providers: Sequence[str] | None = None,
        *,
        types: Sequence[ModelType] = (ModelType.VISUAL, ModelType.TEXTUAL),
        batch_size: int = 16,
        text_cache_size: int = 256,
        threads: int = 0,
    ) -> ClipModel:
        """Load a CLIP model from its directory (blocking: a few seconds for real models).

        Args:
            model_dir: ``<cache>/<name>`` in Immich's layout (see the module docstring).
            providers: onnxruntime providers; :func:`default_providers` (CUDA, then CPU) if None.
            types: Which encoders to load (the embedding service needs only VISUAL, the search
                service only TEXTUAL).
            batch_size: Most images per inference call.
            text_cache_size: Recent query texts whose embeddings are cached.
            threads: Intra-op threads per inference (0: all cores).

        Returns:
            The loaded model.

        Raises:
            ModelError: A file is missing or unusable.
            darkroom_ml.tokenizer.TokenizerError: No usable tokenizer for the text encoder.
        """
        model_dir = Path(model_dir)
        cfg = ClipConfig.read(model_dir)
        visual = textual = None
        if ModelType.VISUAL in types:
            visual = ClipVisualEncoder(
                model_dir, batch_size=batch_size, providers=providers, threads=threads
            )
            visual.load()
        if ModelType.TEXTUAL in types:
            textual = ClipTextualEncoder(
                model_dir, cache_size=text_cache_size, providers=providers, threads=threads
            )
            textual.load()
        return cls(model_dir.name, cfg.embed_dim, visual, textual)

    def _need(self, part: ClipVisualEncoder | ClipTextualEncoder | None, t: ModelType) -> Any:
        if part is None:
            raise ModelError(f"the {t.value} encoder of {self.name} is not loaded")
        return part

    def preprocess(self, images: Sequence[ImageInput]) -> NDArray[np.float32]:
        """Images -> ``(N, 3, S, S)`` float32 model input (resize, crop, normalise).

        Raises:
            ModelError: The visual encoder is not loaded.
        """
        return self._need(self.visual, ModelType.VISUAL).preprocess(images)

    def encode_images(self, images: Sequence[ImageInput]) -> NDArray[np.float32]:
        """Embed images (encoded bytes, ``(H, W, 3)`` uint8 RGB arrays or Pillow images).

        Returns:
            ``(N, D)`` float32, rows of unit L2 norm, in input order; batched by ``batch_size``.

        Raises:
            ModelError: The visual encoder is not loaded.
            PIL.UnidentifiedImageError / OSError: Bytes that are not an image.
        """
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._need(self.visual, ModelType.VISUAL).predict(images)

    def encode_text(self, texts: Sequence[str], language: str | None = None) -> NDArray[np.float32]:
        """Embed texts (tokenised to the context length; recent texts come from the LRU cache).

        Args:
            texts: Queries.
            language: Their language as a client language tag (``de``, ``pt-BR``); NLLB models
                put its FLORES-200 code before the text (English when None or unknown), the
                others ignore it.

        Returns:
            ``(N, D)`` float32, rows of unit L2 norm, in input order.

        Raises:
            ModelError: The text encoder is not loaded.
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return self._need(self.textual, ModelType.TEXTUAL).predict(texts, language)
