"""Login throttling over HTTP against the running gateway: the attempt count is atomic under
concurrency, the client address comes from X-Forwarded-For only through a trusted proxy
(``DARKROOM_TRUSTED_PROXIES``), expired throttle rows are pruned, and a login for an unknown
e-mail costs as much as one for a known e-mail with a wrong password.
"""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import asyncpg
import httpx
import pytest
from darkroom_gateway.domain.auth import LOGIN_MAX_FAILURES, LOGIN_WINDOW_S
from darkroom_stack.supervisor import Stack

from .conftest import User, first_admin, make_user, running_stack

WRONG = "not the password"


def _login(
    stack: Stack, email: str, password: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    with httpx.Client(base_url=stack.url, timeout=120) as anon:
        return anon.post(
            "/api/auth/login", json={"email": email, "password": password}, headers=headers
        )


def _assert_error(r: httpx.Response, status: int) -> None:
    """``r`` is an Immich-shaped error with ``status``."""
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"message"}
    assert r.headers["x-immich-cid"]
    if status == 429:
        assert "Too many" in str(body["message"])


def test_concurrent_wrong_logins_get_exactly_the_limit(stack: Stack, admin: User) -> None:
    """20 simultaneous wrong-password logins from one address: LOGIN_MAX_FAILURES x 401, the
    rest 429 (the check and the count are one atomic step)."""
    user = make_user(stack, admin)
    attempts = 20
    barrier = threading.Barrier(attempts, timeout=120)

    def attempt(_: int) -> httpx.Response:
        with httpx.Client(base_url=stack.url, timeout=120) as client:
            barrier.wait()
            return client.post("/api/auth/login", json={"email": user.email, "password": WRONG})

    with ThreadPoolExecutor(attempts) as pool:
        responses = list(pool.map(attempt, range(attempts)))
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {401: LOGIN_MAX_FAILURES, 429: attempts - LOGIN_MAX_FAILURES}, statuses
    for r in responses:
        _assert_error(r, r.status_code)
    # the right password is refused too while the window lasts
    _assert_error(_login(stack, user.email, user.password), 429)


def test_forwarded_for_from_an_untrusted_peer_is_ignored(stack: Stack, admin: User) -> None:
    """With no trusted proxy (the default), a client cannot escape the limit by sending a new
    X-Forwarded-For with each attempt."""
    user = make_user(stack, admin)
    for i in range(LOGIN_MAX_FAILURES):
        r = _login(stack, user.email, WRONG, {"X-Forwarded-For": f"198.51.100.{i + 1}"})
        _assert_error(r, 401)
    r = _login(stack, user.email, user.password, {"X-Forwarded-For": "198.51.100.200"})
    _assert_error(r, 429)


def test_forwarded_for_through_trusted_proxies(tmp_path: Path) -> None:
    """Peer and inner proxy trusted (an address and a CIDR): the client is the right-most
    untrusted X-Forwarded-For entry, so two clients behind the same proxies are counted apart,
    and a client cannot choose its address by prepending entries. X-Forwarded-Proto from the
    trusted proxy makes the session cookie Secure."""
    env = {"DARKROOM_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"}
    with running_stack(tmp_path, services=("gateway",), env=env) as stack:
        user = make_user(stack, first_admin(stack))
        alice = {"X-Forwarded-For": "203.0.113.5, 10.1.2.3"}
        for _ in range(LOGIN_MAX_FAILURES):
            _assert_error(_login(stack, user.email, WRONG, alice), 401)
        _assert_error(_login(stack, user.email, WRONG, alice), 429)
        spoofed = {"X-Forwarded-For": "192.0.2.77, 203.0.113.5, 10.1.2.3"}
        _assert_error(_login(stack, user.email, user.password, spoofed), 429)
        bob = {"X-Forwarded-For": "203.0.113.6, 10.1.2.3", "X-Forwarded-Proto": "https"}
        r = _login(stack, user.email, user.password, bob)
        assert r.status_code == 201, r.text
        assert "secure" in r.headers["set-cookie"].lower()


def test_expired_throttle_rows_are_pruned(stack: Stack, admin: User) -> None:
    """A login attempt deletes every throttle row whose window has ended, whatever its key."""
    assert stack.postgres is not None
    stale_key = f"stale-{uuid.uuid4().hex}@darkroom.test|192.0.2.1"
    live_key = f"live-{uuid.uuid4().hex}@darkroom.test|192.0.2.1"

    async def insert() -> None:
        conn = await asyncpg.connect(stack.postgres.url)  # type: ignore[union-attr]
        try:
            await conn.execute(
                "INSERT INTO login_attempts (key, attempts, window_start) VALUES "
                "($1, 3, now() - make_interval(secs => $3)), ($2, 3, now())",
                stale_key,
                live_key,
                LOGIN_WINDOW_S + 5,
            )
        finally:
            await conn.close()

    async def keys() -> set[str]:
        conn = await asyncpg.connect(stack.postgres.url)  # type: ignore[union-attr]
        try:
            rows = await conn.fetch(
                "SELECT key FROM login_attempts WHERE key = ANY($1)", [stale_key, live_key]
            )
        finally:
            await conn.close()
        return {r["key"] for r in rows}

    asyncio.run(insert())
    assert asyncio.run(keys()) == {stale_key, live_key}
    _assert_error(_login(stack, f"{uuid.uuid4().hex}@darkroom.test", WRONG), 401)
    assert asyncio.run(keys()) == {live_key}


def test_dummy_hash_has_the_cost_of_real_ones() -> None:
    """The hash checked for unknown e-mails costs what a stored hash costs (bcrypt cost field)."""
    from darkroom_gateway.auth import BCRYPT_ROUNDS, DUMMY_PASSWORD_HASH

    assert DUMMY_PASSWORD_HASH.startswith(f"$2b${BCRYPT_ROUNDS:02d}$")


def test_unknown_email_takes_as_long_as_a_wrong_password(stack: Stack, admin: User) -> None:
    """Median time of a login for an unknown e-mail vs a known e-mail with a wrong password,
    interleaved so machine load hits both alike: within a factor of 2 (before, an unknown e-mail
    skipped bcrypt and answered about 5-10 times faster)."""
    per_user = LOGIN_MAX_FAILURES - 1  # stay under the limit: a 429 is not a password check
    known = [make_user(stack, admin) for _ in range(4)]
    unknown_ms: list[float] = []
    known_ms: list[float] = []

    def timed(email: str) -> float:
        with httpx.Client(base_url=stack.url, timeout=120) as client:
            client.get("/api/server/ping")  # connect outside the measurement
            start = time.perf_counter()
            r = client.post("/api/auth/login", json={"email": email, "password": WRONG})
            elapsed = (time.perf_counter() - start) * 1000
        _assert_error(r, 401)
        return elapsed

    for i in range(per_user * len(known)):
        stranger = f"nobody-{uuid.uuid4().hex}@darkroom.test"
        member = known[i % len(known)].email
        if i % 2:
            unknown_ms.append(timed(stranger))
            known_ms.append(timed(member))
        else:
            known_ms.append(timed(member))
            unknown_ms.append(timed(stranger))
    ratio = statistics.median(unknown_ms) / statistics.median(known_ms)
    assert 0.5 <= ratio <= 2, (ratio, sorted(unknown_ms), sorted(known_ms))


def test_trusted_proxies_setting_refuses_what_is_not_an_address() -> None:
    """DARKROOM_TRUSTED_PROXIES takes addresses and networks; anything uvicorn would silently
    ignore (a name, a network with host bits set) stops the gateway at start-up."""
    from darkroom_config import ConfigError, load_settings
    from darkroom_gateway.settings import GatewaySettings

    ok = load_settings(GatewaySettings, {"DARKROOM_TRUSTED_PROXIES": "127.0.0.1, fd00::/8"})
    assert ok.trusted_proxies == ("127.0.0.1", "fd00::/8")
    assert load_settings(GatewaySettings, {}).trusted_proxies == ()
    for bad in ("proxy.local", "10.0.0.1/8"):
        with pytest.raises(ConfigError, match="DARKROOM_TRUSTED_PROXIES"):
            load_settings(GatewaySettings, {"DARKROOM_TRUSTED_PROXIES": bad})
