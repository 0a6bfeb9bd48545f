"""Repository: login attempts per throttle key, for the gateway's login rate limit.

One row per key (the gateway uses ``lower(email)|client address``) holds the attempts counted
since the start of its window. :func:`count_login_attempt` counts an attempt and returns the
count in one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` statement, so concurrent attempts
on one key are serialised by PostgreSQL's row lock and each sees a distinct count: exactly the
allowed number of them get through, however many arrive at once. The same statement deletes
every row whose window has ended, so the table stays bounded by the keys of the last window.
"""

from __future__ import annotations

import asyncpg

# $1 key, $2 window in seconds. The CTE prunes expired rows of other keys, skipping rows that a
# concurrent attempt holds locked (so two attempts never wait on each other's pruning); the
# upsert starts a new window for this key when its old one has ended. SET expressions read the
# row as it was before the update, so both CASEs test the old window_start.
_COUNT_ATTEMPT = """
WITH pruned AS (
    DELETE FROM login_attempts WHERE key IN (
        SELECT key FROM login_attempts
        WHERE window_start <= now() - make_interval(secs => $2) AND key <> $1
        FOR UPDATE SKIP LOCKED
    )
)
INSERT INTO login_attempts AS t (key, attempts, window_start) VALUES ($1, 1, now())
ON CONFLICT (key) DO UPDATE SET
    attempts = CASE WHEN t.window_start <= now() - make_interval(secs => $2)
                    THEN 1 ELSE t.attempts + 1 END,
    window_start = CASE WHEN t.window_start <= now() - make_interval(secs => $2)
                        THEN now() ELSE t.window_start END
RETURNING attempts
"""


async def count_login_attempt(pool: asyncpg.Pool, key: str, window_s: float) -> int:
    """Count one login attempt for ``key`` and prune every expired row.

    The window is fixed: it starts at the first attempt after the previous window ended and
    lasts ``window_s`` seconds.

    Args:
        pool: Database pool.
        key: Throttle key (e.g. ``lower(email)|client address``).
        window_s: Length of a window, seconds.

    Returns:
        Attempts for ``key`` in its current window, this one included (1 for the first).
    """
    return int(await pool.fetchval(_COUNT_ATTEMPT, key, float(window_s)))


async def clear_login_attempts(pool: asyncpg.Pool, key: str) -> None:
    """Forget ``key``'s attempts (after a successful login)."""
    await pool.execute("DELETE FROM login_attempts WHERE key = $1", key)
