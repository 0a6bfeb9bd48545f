"""Deciding workflows: which event decides a workflow, and whether its filters pass.

Pure functions over plain data (no NATS, no database), tested without I/O.

When a workflow is decided (:func:`decided_on`):

- a workflow with an enabled person filter waits for the asset's faces: it is decided on
  ``darkroom.asset.faces.recognized`` (after detection, and again when a later pass finds a
  person: the first time its filters pass, it runs; ``workflow_runs`` keeps it to once);
- otherwise trigger ``AssetCreate`` is decided on ``darkroom.asset.created`` and
  ``AssetMetadataExtraction`` on ``darkroom.asset.metadata.extracted``.

Only assets created at or after the workflow are considered, so a workflow never reaches back
to older assets whose faces are recognized again.
"""

from __future__ import annotations

import fnmatch
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from darkroom_db.workflow_plugin import (
    ActionAddToAlbum,
    FilterAlbum,
    FilterFileType,
    FilterOwner,
    FilterPath,
    FilterPerson,
    Method,
    method_of,
    needs_faces,
    parse_config,
)
from darkroom_db.workflows import Step, Workflow

#: The internal event a workflow is decided on.
Moment = Literal["created", "metadata", "faces"]


@dataclass(frozen=True)
class Facts:
    """What the filters look at, for one asset.

    Attributes:
        owner_id: The asset's owner.
        type: ``IMAGE``, ``VIDEO``...
        original_file_name: As uploaded.
        original_path: Where the original is (a storage key, or an external library's path).
        person_ids: The people the asset shows (empty before recognition).
        album_ids: Albums holding the asset (among those the filters name).
    """

    owner_id: str
    type: str
    original_file_name: str
    original_path: str
    person_ids: frozenset[str]
    album_ids: frozenset[str]


def decided_on(workflow: Workflow) -> Moment:
    """The event that decides ``workflow`` (see the module docstring)."""
    if needs_faces(workflow.steps):
        return "faces"
    return "created" if workflow.trigger == "AssetCreate" else "metadata"


def candidates(
    workflows: list[Workflow], moment: Moment, asset_created_at: datetime
) -> list[Workflow]:
    """The enabled workflows decided at ``moment`` for an asset created at ``asset_created_at``."""
    return [
        w
        for w in workflows
        if w.enabled and decided_on(w) == moment and asset_created_at >= w.created_at
    ]


def _enabled(steps: list[Step]) -> list[tuple[int, Step, Method]]:
    out = []
    for index, step in enumerate(steps):
        if step.enabled:
            out.append((index, step, method_of(step.method)))
    return out


def albums_named(workflow: Workflow) -> set[uuid.UUID]:
    """Albums the workflow's album filters name (to look up which hold the asset)."""
    found: set[uuid.UUID] = set()
    for _, step, method in _enabled(workflow.steps):
        config = parse_config(method, step.config)
        if isinstance(config, FilterAlbum):
            found |= {uuid.UUID(a) for a in config.album_ids}
    return found


def _glob(pattern: str, value: str, case_sensitive: bool) -> bool:
    if case_sensitive:
        return fnmatch.fnmatchcase(value, pattern)
    return fnmatch.fnmatchcase(value.lower(), pattern.lower())


def passes(workflow: Workflow, facts: Facts) -> bool:
    """Whether every enabled filter of ``workflow`` passes for ``facts``.

    Raises:
        darkroom_db.workflow_plugin.UnknownMethod / BadConfig: A stored step is invalid
            (the API validates them, so only a hand-edited row).
    """
    for _, step, method in _enabled(workflow.steps):
        if method.kind != "filter":
            continue
        config = parse_config(method, step.config)
        if isinstance(config, FilterOwner):
            ok = facts.owner_id in config.user_ids
        elif isinstance(config, FilterFileType):
            ok = facts.type in config.types
        elif isinstance(config, FilterAlbum):
            wanted = set(config.album_ids)
            held = wanted & facts.album_ids
            ok = held == wanted if config.match_all else bool(held)
        elif isinstance(config, FilterPerson):
            wanted = set(config.person_ids)
            shown = wanted & facts.person_ids
            ok = shown == wanted if config.match_all else bool(shown)
        elif isinstance(config, FilterPath):
            ok = _glob(config.pattern, facts.original_file_name, config.case_sensitive) or _glob(
                config.pattern, facts.original_path, config.case_sensitive
            )
        else:  # pragma: no cover - every filter is handled above
            raise AssertionError(f"unhandled filter {method.name}")
        if not ok:
            return False
    return True


def actions(workflow: Workflow) -> list[tuple[int, Method, object]]:
    """The enabled actions of ``workflow`` in order: (step index, method, parsed config)."""
    return [
        (index, method, parse_config(method, step.config))
        for index, step, method in _enabled(workflow.steps)
        if method.kind == "action"
    ]


__all__ = [
    "ActionAddToAlbum",
    "Facts",
    "Moment",
    "actions",
    "albums_named",
    "candidates",
    "decided_on",
    "passes",
]
