"""CLIP text tokenisation with Hugging Face ``tokenizers`` (Rust; no torch, no ftfy).

Two sources, in this order, from a model's ``textual/`` directory:

1. ``tokenizer.json`` (what Immich's exported models and Hugging Face CLIP repositories ship),
   with the pad token named in ``tokenizer_config.json`` or ``special_tokens_map.json``
   (default ``<|endoftext|>`` for CLIP vocabularies, ``<pad>`` for SentencePiece ones: M-CLIP,
   NLLB, SigLIP);
2. OpenCLIP's BPE merges file ``bpe_simple_vocab_16e6.txt.gz`` (as in the ``open-clip-torch``
   wheel), turned into the equivalent fast tokenizer by :func:`clip_bpe_tokenizer`.

Either way the result pads and truncates to the model's context length (77 for CLIP) with the
start-of-text and end-of-text tokens kept, as OpenCLIP's ``tokenize`` does.
"""

from __future__ import annotations

import gzip
import json
import string
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

#: Special tokens of every CLIP vocabulary (OpenAI ``clip/simple_tokenizer.py``).
SOT = "<|startoftext|>"
EOT = "<|endoftext|>"
#: The words-numbers-punctuation split of CLIP's tokenizer (OpenAI ``simple_tokenizer.py``;
#: the special tokens are added separately).
CLIP_SPLIT = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
#: Merges CLIP uses from ``bpe_simple_vocab_16e6.txt.gz``: 49152 tokens - 256 bytes - 2 specials.
CLIP_MERGES = 49152 - 256 - 2
BPE_FILE = "bpe_simple_vocab_16e6.txt.gz"


class TokenizerError(Exception):
    """No usable tokenizer in a model directory."""


#: ASCII punctuation removed by :func:`clean_text` with ``canonicalize``.
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def clean_text(text: str, *, canonicalize: bool = False) -> str:
    """A query as the text encoder's training saw text, before tokenisation.

    Always: runs of whitespace become one space, ends stripped. With ``canonicalize`` (models
    whose OpenCLIP ``text_cfg.tokenizer_kwargs.clean`` is ``"canonicalize"``: SigLIP, SigLIP2),
    also as OpenCLIP's ``canonicalize_text`` (MIT): ``_`` becomes a space, ASCII punctuation is
    removed and the text lower-cased.

    Args:
        text: The query.
        canonicalize: Apply the SigLIP cleaning.

    Returns:
        The cleaned text.
    """
    if canonicalize:
        text = text.replace("_", " ").translate(_PUNCTUATION).lower()
    return " ".join(text.split())


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map, used by CLIP's byte-level BPE.

    Source: OpenAI GPT-2 ``encoder.py`` / CLIP ``simple_tokenizer.py`` (MIT).

    Returns:
        256 entries, byte value -> one unicode character.
    """
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs), strict=True))


def clip_bpe_tokenizer(bpe_path: Path, *, max_merges: int = CLIP_MERGES) -> Tokenizer:
    """Build CLIP's tokenizer from OpenCLIP's gzipped merges file.

    The vocabulary is laid out as CLIP's ``SimpleTokenizer`` does: the 256 byte characters, the
    same with ``</w>``, one token per merge, then ``<|startoftext|>`` and ``<|endoftext|>``; text
    is NFC-normalised, whitespace-collapsed and lower-cased (CLIP also runs ``ftfy``, which only
    matters for mojibake).

    Args:
        bpe_path: ``bpe_simple_vocab_16e6.txt.gz`` (first line a header, then "a b" per merge).
        max_merges: How many merges to use (CLIP: 48894; smaller files use all theirs).

    Returns:
        A tokenizer that adds SOT/EOT; padding and truncation are not yet enabled.
    """
    with gzip.open(bpe_path, "rt", encoding="utf-8") as fh:
        lines = fh.read().split("\n")[1 : 1 + max_merges]
    merges = [tuple(line.split()) for line in lines if len(line.split()) == 2]
    base = list(bytes_to_unicode().values())
    vocab_list = base + [b + "</w>" for b in base] + ["".join(m) for m in merges] + [SOT, EOT]
    vocab = {tok: i for i, tok in enumerate(vocab_list)}
    tok = Tokenizer(
        models.BPE(
            vocab=vocab,
            merges=merges,
            continuing_subword_prefix="",
            end_of_word_suffix="</w>",
            unk_token=EOT,
            fuse_unk=False,
        )
    )
    tok.normalizer = normalizers.Sequence(
        [normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "), normalizers.Lowercase()]
    )
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(CLIP_SPLIT), behavior="removed", invert=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.TemplateProcessing(
        single=f"{SOT} $A {EOT}",
        pair=f"{SOT} $A {EOT} $B {EOT}",
        special_tokens=[(SOT, vocab[SOT]), (EOT, vocab[EOT])],
    )
    tok.add_special_tokens([SOT, EOT])
    return tok


def _pad_token(textual_dir: Path) -> str | None:
    """The pad token named by ``tokenizer_config.json``, else ``special_tokens_map.json``."""
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        cfg_path = textual_dir / name
        if cfg_path.is_file():
            pad = json.loads(cfg_path.read_text()).get("pad_token")
            if isinstance(pad, dict):
                pad = pad.get("content")
            if isinstance(pad, str) and pad:
                return pad
    return None


def load_tokenizer(textual_dir: Path, context_length: int) -> Tokenizer:
    """The model's tokenizer, padding/truncating every text to ``context_length`` tokens.

    Args:
        textual_dir: ``<model>/textual`` (``tokenizer.json`` or ``bpe_simple_vocab_16e6.txt.gz``;
            the BPE file is also looked for one level up).
        context_length: Tokens per text (CLIP: 77).

    Returns:
        A ready tokenizer; ``encode_batch(texts)`` gives ids of length ``context_length``.

    Raises:
        TokenizerError: Neither file is there, or the pad token is not in the vocabulary.
    """
    if (textual_dir / "tokenizer.json").is_file():
        tok = Tokenizer.from_file(str(textual_dir / "tokenizer.json"))
        # unnamed: CLIP's <|endoftext|>, else the SentencePiece models' <pad>
        pad = _pad_token(textual_dir) or (EOT if tok.token_to_id(EOT) is not None else "<pad>")
    else:
        for candidate in (textual_dir / BPE_FILE, textual_dir.parent / BPE_FILE):
            if candidate.is_file():
                tok = clip_bpe_tokenizer(candidate)
                break
        else:
            raise TokenizerError(f"no tokenizer.json or {BPE_FILE} in {textual_dir}")
        pad = EOT
    pad_id = tok.token_to_id(pad)
    if pad_id is None:
        raise TokenizerError(f"pad token {pad!r} is not in the vocabulary of {textual_dir}")
    tok.enable_truncation(max_length=context_length)
    tok.enable_padding(length=context_length, pad_id=pad_id, pad_token=pad)
    return tok
