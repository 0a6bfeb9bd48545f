"""The storage template: Immich's path language, rendered to a storage key.

Immich compiles ``storageTemplate.template`` with Handlebars in strict mode and renders it with
one value per token (Immich's ``StorageTemplateService``, read for behaviour, not copied). The
subset of Handlebars it is used with is small, so it is implemented here rather than pulling in
a Python Handlebars port whose escaping and strictness differ:

- ``{{name}}``: the value, HTML-escaped as Handlebars escapes (``&`` -> ``&amp;``...; Immich's
  docs: wrap in three braces to avoid it);
- ``{{{name}}}``: the value as is;
- ``{{#if name}}...{{else}}...{{/if}}`` and ``{{#unless name}}...{{/unless}}`` (an empty value
  is false), nested;
- an unknown name is an error (Handlebars' ``strict: true``), so a bad template is refused when
  it is saved rather than when files move.

Tokens: the capture date (``assets.local_date_time``, the wall-clock time where it was taken,
as Immich formats ``fileCreatedAt`` in the asset's time zone) with Luxon's format tokens
(``y yy M MM MMM MMMM W WW d dd h hh H HH m mm s ss SSS``), ``filename`` (the original file
name without extension, sanitised), ``ext``, ``filetype`` (``IMG``/``VID``), ``filetypefull``
(``IMAGE``/``VIDEO``), ``assetId``, ``assetIdShort`` (its last 12 characters), ``album`` (the
owner's most recently created album holding the asset, dots removed and sanitised; empty when
none) and ``album-startDate-<token>`` / ``album-endDate-<token>`` (the album's first and last
capture dates, Immich PR #17188; empty when no album).

The rendered path goes under ``library/<storage label or user id>/`` with ``.<ext>``; runs of
``/`` collapse, ``.``/``..`` are resolved and a path that would leave the user's folder is
refused (Immich leaves the file where it is), control characters and backslashes are dropped
and over-long segments cut, so the result is always a valid key
(:func:`darkroom_storage.validate_key`). Collisions get Immich's ``+1``, ``+2``... suffix
before the extension (:func:`candidate_keys`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath

from darkroom_storage.keys import validate_key

__all__ = [
    "DATE_TOKENS",
    "Template",
    "TemplateAsset",
    "TemplateError",
    "already_placed",
    "candidate_keys",
    "compile_template",
    "format_date",
    "known_names",
    "library_root",
    "normalize_extension",
    "render_key",
    "sanitize_filename",
    "values_for",
]

#: Luxon date tokens Immich offers (``storageTokens`` of its storage-template service; the
#: same lists as GET /api/system-config/storage-template-options).
DATE_TOKENS: tuple[str, ...] = (
    "y", "yy", "M", "MM", "MMM", "MMMM", "W", "WW", "d", "dd",
    "h", "hh", "H", "HH", "m", "mm", "s", "ss", "SSS",
)  # fmt: skip

#: Extensions Immich renames when it builds the path (its ``getTemplatePath``).
_EXTENSION_ALIASES = {
    "jpeg": "jpg",
    "jpe": "jpg",
    "tif": "tiff",
    "3gpp": "3gp",
    "mpeg": "mpg",
    "mpe": "mpg",
    "m2ts": "mts",
    "m2t": "mts",
}

#: Longest rendered segment in UTF-8 bytes: darkroom_storage's 200-byte segment limit less
#: room for a collision suffix and the extension (``+99999.tiff``).
_MAX_SEGMENT_BYTES = 180

_TAG_RE = re.compile(r"\{\{\{\s*(?P<raw>[^{}]*?)\s*\}\}\}|\{\{\s*(?P<tag>[^{}]*?)\s*\}\}")
_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9-]*$")
# sanitize-filename (npm, used by Immich): these characters and names are removed.
_ILLEGAL_RE = re.compile(r'[/?<>\\:*|"]')
_CONTROL_RE = re.compile(r"[\x00-\x1f\x80-\x9f]")
_RESERVED_RE = re.compile(r"^\.+$")
_WINDOWS_RESERVED_RE = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", re.IGNORECASE)
_WINDOWS_TRAILING_RE = re.compile(r"[. ]+$")
_KEY_UNSAFE_RE = re.compile(r"[\x00-\x1f\x7f\\]")
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


class TemplateError(ValueError):
    """The template is malformed or names an unknown token (message says which)."""


# -- the Handlebars subset ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Text:
    text: str


@dataclass(frozen=True)
class _Var:
    name: str
    escape: bool


@dataclass(frozen=True)
class _Cond:
    name: str
    negate: bool
    then: list[_Node] = field(default_factory=list)
    otherwise: list[_Node] = field(default_factory=list)


_Node = _Text | _Var | _Cond


@dataclass(frozen=True)
class Template:
    """A compiled template.

    Attributes:
        raw: The template text.
        names: Every token name it uses.
    """

    raw: str
    names: frozenset[str]
    _nodes: list[_Node]

    @property
    def needs_album(self) -> bool:
        """Whether rendering needs the asset's album (a database query Immich also skips)."""
        return any(n == "album" or n.startswith("album-") for n in self.names)

    def render(self, values: Mapping[str, str]) -> str:
        """Render with one string per token.

        Raises:
            TemplateError: A token the template uses has no value (strict mode).
        """
        out: list[str] = []
        self._emit(self._nodes, values, out)
        return "".join(out)

    def _emit(self, nodes: list[_Node], values: Mapping[str, str], out: list[str]) -> None:
        for node in nodes:
            if isinstance(node, _Text):
                out.append(node.text)
            elif isinstance(node, _Var):
                value = _lookup(values, node.name)
                out.append(_escape(value) if node.escape else value)
            else:
                truthy = bool(_lookup(values, node.name))
                self._emit(node.then if truthy != node.negate else node.otherwise, values, out)


def _lookup(values: Mapping[str, str], name: str) -> str:
    try:
        return values[name]
    except KeyError:
        raise TemplateError(f'"{name}" not defined') from None


def _escape(value: str) -> str:
    """Handlebars' ``escapeExpression``: ``& < > " ' ` =`` as HTML entities."""
    return html.escape(value, quote=True).replace("`", "&#x60;").replace("=", "&#x3D;")


def compile_template(raw: str, known: frozenset[str] | None = None) -> Template:
    """Parse ``raw`` (the Handlebars subset in the module docstring).

    Args:
        raw: The template, e.g. ``"{{y}}/{{y}}-{{MM}}-{{dd}}/{{filename}}"``.
        known: Token names allowed; the storage template's own (:func:`known_names`) when None.

    Returns:
        The compiled template.

    Raises:
        TemplateError: Unbalanced or unknown block, ``{{else}}`` outside a block, or an unknown
            token name.
    """
    allowed = known_names() if known is None else known
    root: list[_Node] = []
    stack: list[tuple[_Cond, list[_Node]]] = []
    current = root
    names: set[str] = set()
    pos = 0

    def use(name: str) -> str:
        if not _NAME_RE.match(name) or name not in allowed:
            raise TemplateError(f'"{name}" not defined')
        names.add(name)
        return name

    for match in _TAG_RE.finditer(raw):
        if match.start() > pos:
            current.append(_Text(raw[pos : match.start()]))
        pos = match.end()
        if match.group("raw") is not None:
            current.append(_Var(use(match.group("raw")), escape=False))
            continue
        tag = match.group("tag")
        if tag.startswith("#"):
            helper, _, arg = tag[1:].partition(" ")
            if helper not in ("if", "unless") or not arg.strip():
                raise TemplateError(f"unsupported block {{{{{tag}}}}}")
            cond = _Cond(use(arg.strip()), negate=helper == "unless")
            current.append(cond)
            stack.append((cond, current))
            current = cond.then
        elif tag == "else":
            if not stack or current is not stack[-1][0].then:
                raise TemplateError("{{else}} outside an {{#if}} block")
            current = stack[-1][0].otherwise
        elif tag.startswith("/"):
            helper = tag[1:].strip()
            if not stack or helper != ("unless" if stack[-1][0].negate else "if"):
                raise TemplateError(f"{{{{{tag}}}}} does not close an open block")
            current = stack.pop()[1]
        else:
            current.append(_Var(use(tag), escape=True))
    if pos < len(raw):
        current.append(_Text(raw[pos:]))
    if stack:
        raise TemplateError("an {{#if}} block is not closed")
    return Template(raw=raw, names=frozenset(names), _nodes=root)


def known_names() -> frozenset[str]:
    """Every token the storage template knows (see the module docstring)."""
    base = {"filename", "ext", "filetype", "filetypefull", "assetId", "assetIdShort", "album"}
    base.update(DATE_TOKENS)
    for which in ("startDate", "endDate"):
        base.update(f"album-{which}-{token}" for token in DATE_TOKENS)
    return frozenset(base)


# -- values -------------------------------------------------------------------------------------


def format_date(when: datetime, token: str) -> str:
    """Format one Luxon token (en-US names), as Immich's ``DateTime.toFormat(token)``.

    Args:
        when: The wall-clock time (its tzinfo, if any, is ignored: it is already local).
        token: One of :data:`DATE_TOKENS`.

    Raises:
        TemplateError: Unknown token.
    """
    match token:
        case "y":
            return str(when.year)
        case "yy":
            return f"{when.year % 100:02d}"
        case "M":
            return str(when.month)
        case "MM":
            return f"{when.month:02d}"
        case "MMM":
            return _MONTHS[when.month - 1][:3]
        case "MMMM":
            return _MONTHS[when.month - 1]
        case "W":
            return str(when.isocalendar().week)
        case "WW":
            return f"{when.isocalendar().week:02d}"
        case "d":
            return str(when.day)
        case "dd":
            return f"{when.day:02d}"
        case "h":
            return str(when.hour % 12 or 12)
        case "hh":
            return f"{when.hour % 12 or 12:02d}"
        case "H":
            return str(when.hour)
        case "HH":
            return f"{when.hour:02d}"
        case "m":
            return str(when.minute)
        case "mm":
            return f"{when.minute:02d}"
        case "s":
            return str(when.second)
        case "ss":
            return f"{when.second:02d}"
        case "SSS":
            return f"{when.microsecond // 1000:03d}"
    raise TemplateError(f"unknown date token {token!r}")


def sanitize_filename(name: str) -> str:
    """npm ``sanitize-filename`` (what Immich applies to file and album names): drop
    ``/ ? < > \\ : * | "`` and control characters, names made only of dots, Windows device
    names and trailing dots/spaces; cut to 255 UTF-8 bytes."""
    out = _ILLEGAL_RE.sub("", name)
    out = _CONTROL_RE.sub("", out)
    out = _RESERVED_RE.sub("", out)
    out = _WINDOWS_RESERVED_RE.sub("", out)
    out = _WINDOWS_TRAILING_RE.sub("", out)
    return _cut(out, 255)


def normalize_extension(extension: str) -> str:
    """Lower-case, without dot, with Immich's aliases (``jpeg`` -> ``jpg``, ``tif`` -> ``tiff``,
    ``3gpp`` -> ``3gp``, ``mpeg`` -> ``mpg``, ``m2ts`` -> ``mts``...)."""
    ext = extension.lstrip(".").lower()
    return _EXTENSION_ALIASES.get(ext, ext)


@dataclass(frozen=True)
class TemplateAsset:
    """What the template needs of one asset.

    Attributes:
        asset_id: Its id.
        type: ``IMAGE``, ``VIDEO``...
        original_file_name: The name it was uploaded with.
        current_key: Its original's key now (gives the extension).
        captured: Capture wall-clock time (``assets.local_date_time``).
        album: Name of its album (see the module docstring), or None.
        album_start: First capture time in that album, or None.
        album_end: Last capture time in that album, or None.
    """

    asset_id: str
    type: str
    original_file_name: str
    current_key: str
    captured: datetime
    album: str | None = None
    album_start: datetime | None = None
    album_end: datetime | None = None


def values_for(asset: TemplateAsset) -> dict[str, str]:
    """Every token's value for ``asset`` (see the module docstring)."""
    ext = normalize_extension(PurePosixPath(asset.current_key).suffix)
    name = asset.original_file_name or asset.asset_id
    stem, dot, _ = name.rpartition(".")
    values = {
        "filename": sanitize_filename(stem if dot and stem else name),
        "ext": ext,
        "filetype": "IMG" if asset.type == "IMAGE" else "VID",
        "filetypefull": "IMAGE" if asset.type == "IMAGE" else "VIDEO",
        "assetId": asset.asset_id,
        "assetIdShort": asset.asset_id[-12:],
        "album": sanitize_filename(asset.album.replace(".", "")) if asset.album else "",
    }
    for token in DATE_TOKENS:
        values[token] = format_date(asset.captured, token)
        for which, when in (("startDate", asset.album_start), ("endDate", asset.album_end)):
            values[f"album-{which}-{token}"] = format_date(when, token) if when else ""
    return values


# -- keys ---------------------------------------------------------------------------------------


def _cut(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[:limit].decode(errors="ignore")


def library_root(owner_id: str, storage_label: str | None) -> str:
    """``library/<storage label or user id>`` (Immich's ``getLibraryFolder``); a label that
    sanitises to nothing falls back to the id."""
    label = sanitize_filename(storage_label or "")
    return f"library/{label or owner_id}"


def render_key(template: Template, asset: TemplateAsset, root: str) -> tuple[str, str] | None:
    """The key the template gives ``asset``, before any collision suffix.

    Args:
        template: The compiled template.
        asset: The asset's values.
        root: :func:`library_root` of its owner.

    Returns:
        ``(base, ext)``: the key is ``f"{base}.{ext}"`` and its n-th collision variant
        ``f"{base}+{n}.{ext}"``; None when the rendered path would leave ``root`` or is empty
        (Immich then leaves the file where it is).

    Raises:
        TemplateError: The template uses a token without a value.
    """
    values = values_for(asset)
    rendered = template.render(values)
    parts: list[str] = []
    for segment in rendered.split("/"):
        segment = _KEY_UNSAFE_RE.sub("", segment)
        if segment in ("", "."):
            continue
        if segment == "..":
            if not parts:
                return None
            parts.pop()
            continue
        parts.append(_cut(segment, _MAX_SEGMENT_BYTES))
    if not parts:
        return None
    base = f"{root}/{'/'.join(parts)}"
    ext = values["ext"]
    try:
        validate_key(f"{base}+1.{ext}")
    except ValueError:
        return None
    return base, ext


def candidate_keys(base: str, ext: str) -> Iterator[str]:
    """``base.ext``, then Immich's collision variants ``base+1.ext``, ``base+2.ext``..."""
    yield f"{base}.{ext}" if ext else base
    n = 0
    while True:
        n += 1
        yield f"{base}+{n}.{ext}" if ext else f"{base}+{n}"


def already_placed(current_key: str, base: str, ext: str) -> bool:
    """Whether ``current_key`` is the template's key or one of its ``+N`` variants (Immich
    then leaves the file: it was placed by an earlier run that met a collision)."""
    suffix = f".{ext}" if ext else ""
    if current_key == f"{base}{suffix}":
        return True
    if not (current_key.startswith(base) and current_key.endswith(suffix)):
        return False
    middle = current_key[len(base) : len(current_key) - len(suffix)]
    return re.fullmatch(r"\+\d+", middle) is not None
