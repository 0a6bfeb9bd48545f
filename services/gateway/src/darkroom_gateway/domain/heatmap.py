"""Calendar heatmaps (spec ``getMyCalendarHeatmap``, ``getUserCalendarHeatmapAdmin``).

``GET /api/users/me/calendar-heatmap`` and ``GET /api/admin/users/{id}/calendar-heatmap`` count
a user's assets per UTC day between ``from`` and ``to`` (dates, both included): by upload day
(``type=Upload``, the default) or by the day they were taken (``type=Taken``). Without ``to``
the period ends today (UTC); without ``from`` it starts 364 days before ``to`` (52 weeks and a
day, the span a year-wide heatmap draws). ``series`` lists only the days with assets, oldest
first (a heatmap draws the other days empty); ``totalCount`` is their sum.

Both operations need ``user.read`` (the spec marks neither admin-only); the admin route answers
an admin about any user and any other caller only about themselves (403 otherwise), so a user
never reads another's activity. Shared-link visitors are refused (403).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

import msgspec
from darkroom_db import heatmap, users
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.errors import BadRequest, Forbidden

#: Days before ``to`` that a period without ``from`` starts.
DEFAULT_SPAN_DAYS = 364
_TYPES = ("Upload", "Taken")


class CalendarHeatmapDay(msgspec.Struct, frozen=True, kw_only=True):
    """One day of ``CalendarHeatmapResponseDto.series``."""

    date: str
    count: int


class CalendarHeatmapResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: CalendarHeatmapResponseDto (dates as ``YYYY-MM-DD``, UTC)."""

    from_: str = msgspec.field(name="from")
    to: str
    series: list[CalendarHeatmapDay]
    total_count: int


def _date(value: str | None, name: str) -> date | None:
    """A ``YYYY-MM-DD`` query parameter, None when absent.

    Raises:
        BadRequest: Not a calendar date in that form.
    """
    if value is None:
        return None
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{name} must be a valid ISO 8601 date string (YYYY-MM-DD)") from None


def period(start: str | None, end: str | None, *, today: date) -> tuple[date, date]:
    """The period a request asks for, with the defaults filled in.

    Args:
        start: ``from`` as sent (``YYYY-MM-DD``) or None.
        end: ``to`` as sent or None.
        today: The current UTC date (the default ``to``).

    Returns:
        ``(from, to)``, both included.

    Raises:
        BadRequest: A malformed date, or ``from`` after ``to``.
    """
    last = _date(end, "to") or today
    first = _date(start, "from") or max(date.min + timedelta(days=DEFAULT_SPAN_DAYS), last) - (
        timedelta(days=DEFAULT_SPAN_DAYS)
    )
    if first > last:
        raise BadRequest("from must not be after to")
    return first, last


async def calendar_heatmap(
    deps: Deps, owner_id: uuid.UUID, start: str | None, end: str | None, kind: str
) -> CalendarHeatmapResponse:
    """The heatmap of ``owner_id``'s assets (see the module docstring).

    Raises:
        BadRequest: Bad dates or a ``type`` other than Upload/Taken.
    """
    if kind not in _TYPES:
        raise BadRequest("type must be one of the following values: Upload, Taken")
    first, last = period(start, end, today=datetime.now(UTC).date())
    days = await heatmap.daily_counts(deps.pool, owner_id, first, last, kind)  # type: ignore[arg-type]
    return CalendarHeatmapResponse(
        from_=first.isoformat(),
        to=last.isoformat(),
        series=[CalendarHeatmapDay(date=day.isoformat(), count=n) for day, n in days],
        total_count=sum(n for _, n in days),
    )


_From = Annotated[str | None, QueryParameter(name="from", required=False)]
_To = Annotated[str | None, QueryParameter(name="to", required=False)]
_Type = Annotated[str, QueryParameter(name="type", required=False)]


class MyHeatmapController(Controller):
    """/api/users/me/calendar-heatmap."""

    path = "/api/users/me/calendar-heatmap"

    @get("/", permission="user.read")
    async def get_my_calendar_heatmap(
        self,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        start: _From = None,
        end: _To = None,
        kind: _Type = "Upload",
    ) -> CalendarHeatmapResponse:
        """The caller's assets per day (uploaded or taken) over a period."""
        return await calendar_heatmap(deps, auth.user.id, start, end, kind)


class UserHeatmapController(Controller):
    """/api/admin/users/{id}/calendar-heatmap."""

    path = "/api/admin/users/{user_id:uuid}/calendar-heatmap"

    @get("/", permission="user.read")
    async def get_user_calendar_heatmap_admin(
        self,
        user_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        start: _From = None,
        end: _To = None,
        kind: _Type = "Upload",
    ) -> CalendarHeatmapResponse:
        """A user's assets per day; an admin may ask about anyone, others about themselves.

        Raises:
            Forbidden: A non-admin asks about another user.
            BadRequest: ``User not found`` (an admin asking about an unknown id).
        """
        if user_id != auth.user.id and not auth.user.is_admin:
            raise Forbidden("Forbidden")
        if await users.get_user(deps.pool, user_id) is None:
            raise BadRequest("User not found")
        return await calendar_heatmap(deps, user_id, start, end, kind)


ROUTES = [MyHeatmapController, UserHeatmapController]
