"""The one visibility rule of every asset listing: which visibilities a listing shows.

Immich's ``AssetVisibility``: ``timeline`` (the main timeline), ``archive``, ``hidden`` (the video
half of a live photo) and ``locked`` (the locked folder, issue #18). A listing shows its default
set (e.g. timeline only, or timeline and archive) unless the request names one visibility; the
locked folder is shown only when the request asks for ``locked`` explicitly *and* the caller's
session is unlocked with the PIN code (Immich's ``requireElevatedPermission`` before
``visibility: locked`` searches and time buckets). The gateway refuses such a request without
an unlocked session (401) before it gets here; this predicate is the second line: a filter
asking for ``locked`` without ``unlocked`` matches nothing. The timeline
(:mod:`darkroom_db.timeline`) and search (:mod:`darkroom_db.search`) builders go through it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

#: Visibilities a listing may show without naming one.
DEFAULT_LISTED: tuple[str, ...] = ("timeline", "archive")


def condition(
    alias: str,
    requested: str | None,
    *,
    unlocked: bool,
    param: Callable[[object], str],
    default: Iterable[str] = DEFAULT_LISTED,
) -> str:
    """SQL condition on ``<alias>.visibility`` for a listing.

    Args:
        alias: Alias of ``assets`` in the query.
        requested: The one visibility the request asks for, or None for the listing's default.
        unlocked: The caller's session is unlocked with the PIN code.
        param: Adds a positional parameter to the caller's query and returns its ``$n``.
        default: The visibilities shown when none is requested; ``locked`` is never among
            them (it is dropped if passed).

    Returns:
        A condition (``false`` for ``locked`` without ``unlocked``; the locked folder leaves
        out the motion parts of its live photos, locked with their stills by
        :func:`darkroom_db.assets.update_assets`).
    """
    if requested == "locked" and not unlocked:
        return "false"
    if requested == "locked":  # the motion part of a locked live photo goes with its still
        return (
            f"{alias}.visibility = 'locked' AND NOT EXISTS (SELECT 1 FROM assets still "
            f"WHERE still.live_photo_video_id = {alias}.id)"
        )
    if requested is not None:
        return f"{alias}.visibility = {param(requested)}"
    shown = [v for v in default if v != "locked"]
    return f"{alias}.visibility = ANY({param(shown)}::text[])"
