"""asyncpg pool with pgvector, numbered SQL migrations (yoyo), one repository per aggregate.

Repository modules (plain SQL, asyncpg): :mod:`darkroom_db.users` (users, API keys, sessions),
:mod:`darkroom_db.login_throttle` (login attempts per throttle key),
:mod:`darkroom_db.assets` (assets, asset files, job status), :mod:`darkroom_db.exif`,
:mod:`darkroom_db.jobs` (dead letters). Every query of a user's rows filters by ``owner_id``.
"""

from __future__ import annotations

from darkroom_db.errors import CONNECTION_ERRORS, INPUT_ERRORS
from darkroom_db.migrate import migrate, pending
from darkroom_db.pool import create_pool

__all__ = ["CONNECTION_ERRORS", "INPUT_ERRORS", "create_pool", "migrate", "pending"]
