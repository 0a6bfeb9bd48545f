"""The built-in workflow plugin ``darkroom-core``: its filters and actions, and their configs.

Immich 3.1 runs workflow steps as methods of plugins (``GET /api/plugins``); Darkroom has no
plugin runtime, only this one built-in plugin, so a workflow step's ``method`` is one of
:data:`METHODS` (by key ``darkroom-core#<name>`` or by bare name). Each method's config is a
msgspec Struct; ``PluginMethodResponseDto.schema`` is its JSON schema
(:func:`method_schema`), and :func:`parse_config` validates a step's config with it.

Filters run first (all must pass), in step order; then the actions, in step order. A workflow
with a person filter is decided once the asset's faces went through recognition (see the
webhook service's runner): the people an asset shows are not known at upload.

The shared code of the gateway (which validates and lists) and the webhook service (which
runs): plain data, no I/O.
"""

from __future__ import annotations

import base64
import re
import secrets
import uuid
from typing import Annotated, Any, Literal

import msgspec

#: The built-in plugin's id (a fixed UUID v4), name and version.
PLUGIN_ID = "6d1f3c52-9b1e-4a7d-8c2e-0f4b5a6c7d8e"
PLUGIN_NAME = "darkroom-core"
PLUGIN_VERSION = "1.0.0"
#: Immich's WorkflowType: the only one there is (steps over one asset).
WORKFLOW_TYPES = ("AssetV1",)
#: Immich 3.1's WorkflowTrigger values.
TRIGGERS = ("AssetCreate", "AssetMetadataExtraction")

Uuid = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")]


class _Config(
    msgspec.Struct, frozen=True, kw_only=True, rename="camel", forbid_unknown_fields=True
):
    """Base of method configs: camelCase keys, unknown keys refused."""


class FilterOwner(_Config, frozen=True, kw_only=True):
    """The asset's owner is one of ``userIds``."""

    user_ids: Annotated[list[Uuid], msgspec.Meta(min_length=1)]


class FilterFileType(_Config, frozen=True, kw_only=True):
    """The asset's type is one of ``types``."""

    types: Annotated[list[Literal["IMAGE", "VIDEO", "AUDIO", "OTHER"]], msgspec.Meta(min_length=1)]


class FilterAlbum(_Config, frozen=True, kw_only=True):
    """The asset is in one of ``albumIds`` (every one with ``matchAll``)."""

    album_ids: Annotated[list[Uuid], msgspec.Meta(min_length=1)]
    match_all: bool = False


class FilterPerson(_Config, frozen=True, kw_only=True):
    """The asset shows one of ``personIds`` (every one with ``matchAll``)."""

    person_ids: Annotated[list[Uuid], msgspec.Meta(min_length=1)]
    match_all: bool = False


class FilterPath(_Config, frozen=True, kw_only=True):
    """The original's file name or path matches the glob ``pattern`` (``fnmatch``: ``*``,
    ``?``, ``[abc]``; ``*`` also crosses ``/``)."""

    pattern: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
    case_sensitive: bool = False


class ActionAddToAlbum(_Config, frozen=True, kw_only=True):
    """Add the asset to the album ``albumId`` (the workflow owner's, or one they may edit)."""

    album_id: Uuid


class ActionTag(_Config, frozen=True, kw_only=True):
    """Tag the asset with each of ``tagValues`` (tag paths ``Parent/Child``, made if missing)."""

    tag_values: Annotated[
        list[Annotated[str, msgspec.Meta(min_length=1)]], msgspec.Meta(min_length=1)
    ]


class ActionArchive(_Config, frozen=True, kw_only=True):
    """Move the asset to the archive (visibility ``archive``)."""


class ActionFavorite(_Config, frozen=True, kw_only=True):
    """Mark the asset as a favorite."""


class ActionWebhook(_Config, frozen=True, kw_only=True):
    """POST the event to ``url``, signed per Standard Webhooks with ``secret`` (``whsec_`` and
    base64; made when not given). Private and loopback targets are refused unless allowed by
    ``DARKROOM_WEBHOOK_ALLOWED_HOSTS``."""

    url: Annotated[str, msgspec.Meta(pattern=r"^https?://[^\s]+$", max_length=2048)]
    secret: Annotated[str, msgspec.Meta(pattern=r"^whsec_[A-Za-z0-9+/]+=*$")] | None = None


class Method(msgspec.Struct, frozen=True, kw_only=True):
    """One method of the plugin (Immich's PluginMethodResponseDto, less the schema).

    Attributes:
        name: Method name, e.g. ``actionAddToAlbum``.
        title: Short label.
        description: What it does.
        kind: ``filter`` or ``action``.
        config: Its config Struct.
        needs_faces: It can only be decided once faces are recognized.
    """

    name: str
    title: str
    description: str
    kind: Literal["filter", "action"]
    config: type[_Config]
    needs_faces: bool = False

    @property
    def key(self) -> str:
        """``darkroom-core#<name>``."""
        return f"{PLUGIN_NAME}#{self.name}"


def _method(
    name: str,
    title: str,
    kind: Literal["filter", "action"],
    config: type[_Config],
    *,
    needs_faces: bool = False,
) -> Method:
    doc = (config.__doc__ or "").strip().replace("\n    ", " ")
    return Method(
        name=name, title=title, description=doc, kind=kind, config=config, needs_faces=needs_faces
    )


#: Every method of the built-in plugin, filters first.
METHODS: tuple[Method, ...] = (
    _method("filterOwner", "Owner", "filter", FilterOwner),
    _method("filterFileType", "File type", "filter", FilterFileType),
    _method("filterAlbum", "Album", "filter", FilterAlbum),
    _method("filterPerson", "Person", "filter", FilterPerson, needs_faces=True),
    _method("filterPath", "File name or path", "filter", FilterPath),
    _method("actionAddToAlbum", "Add to album", "action", ActionAddToAlbum),
    _method("actionTag", "Tag", "action", ActionTag),
    _method("actionArchive", "Archive", "action", ActionArchive),
    _method("actionFavorite", "Favorite", "action", ActionFavorite),
    _method("actionWebhook", "Call a webhook", "action", ActionWebhook),
)
_BY_NAME = {m.name: m for m in METHODS} | {m.key: m for m in METHODS}


class UnknownMethod(ValueError):
    """A step names no method of the built-in plugin."""


class BadConfig(ValueError):
    """A step's config does not fit its method's schema."""


#: Immich's method string (``server/src/utils/workflow.ts`` ``parseMethodString``):
#: ``<plugin>[@<version>]#<method>``; the version is not matched (``resolveMethod``).
_METHOD_STRING = re.compile(r"^(?P<plugin>[^@#\s]+)(?:@[^#\s]*)?#(?P<method>[^@#\s]+)$")


def method_of(method: str) -> Method:
    """The method a step names: ``darkroom-core#actionArchive``, with a plugin version
    (``darkroom-core@1.0.0#actionArchive``, as Immich accepts, any version), or the bare name
    ``actionArchive`` (a Darkroom shorthand).

    Raises:
        UnknownMethod: No such method.
    """
    parsed = _METHOD_STRING.match(method)
    if parsed is not None:
        found = _BY_NAME.get(f"{parsed['plugin']}#{parsed['method']}")
    else:
        found = _BY_NAME.get(method)
    if found is None:
        raise UnknownMethod(f"Unknown workflow step method: {method}")
    return found


def parse_config(method: Method, config: dict[str, Any] | None) -> _Config:
    """A step's config as its method's Struct.

    Raises:
        BadConfig: It does not fit (message names the method and the problem).
    """
    try:
        return msgspec.convert(config or {}, method.config)
    except msgspec.ValidationError as exc:
        raise BadConfig(f"{method.name}: {exc}") from None


def method_schema(method: Method) -> dict[str, Any]:
    """The JSON schema of a method's config (``PluginMethodResponseDto.schema``), inlined."""
    schema = msgspec.json.schema(method.config)
    defs = schema.pop("$defs", {})
    if "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    return dict(schema)


def needs_faces(steps: list[Any]) -> bool:
    """Whether enabled ``steps`` (objects with ``method``, ``enabled``) include a filter that is
    only decided after face recognition."""
    for step in steps:
        if not step.enabled:
            continue
        try:
            found = method_of(step.method)
        except UnknownMethod:
            continue
        if found.needs_faces:
            return True
    return False


def new_secret() -> str:
    """A fresh Standard Webhooks secret: ``whsec_`` and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def parse_uuid(value: str) -> uuid.UUID:
    """A config's UUID string as a UUID (already validated by :func:`parse_config`)."""
    return uuid.UUID(value)
