"""The OpenID Connect relying party behind ``/api/oauth``: discovery, the authorization request,
the code exchange and the checks of what comes back.

Built on two well-kept libraries, no hand-written token checks: Authlib builds the authorization
URL (``state``, ``nonce``, PKCE ``S256`` challenge, RFC 7636) and its httpx OAuth 2 client
exchanges the code at the token endpoint with ``client_secret_post`` or ``client_secret_basic``
(RFC 6749 section 2.3.1), checking the callback's ``state``; joserfc verifies the ID token
(OpenID Connect Core 1.0 section 3.1.3.7): its signature against the provider's JWKS (or the
client secret for the ``HS*`` algorithms) with the one algorithm the system config names
(``oauth.signingAlgorithm``), ``iss`` equal to the discovered issuer, ``aud`` holding the client
id, ``exp``/``iat`` with :data:`CLOCK_LEEWAY_S` of leeway, ``sub``, and ``nonce`` equal to the
one sent. Claims the ID token lacks (no ``email``) are read from the UserInfo endpoint, whose
``sub`` must be the ID token's (Core 5.3.2), as a signed JWT when ``profileSigningAlgorithm`` is
not ``none``. This is what Immich 3.1 does with openid-client (its ``OAuthRepository``: discovery
from ``issuerUrl``, ID token claims used when they carry ``email``); read to learn the behaviour.

Every request honours ``oauth.timeout`` (milliseconds) and, unless ``allowInsecureRequests`` is
on, refuses a provider URL that is not https (openid-client refuses them the same way). Discovery
and the key set are fetched for each sign-in, so a provider's key rotation applies at once.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import msgspec
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from darkroom_db.system_config import SystemConfigOAuthDto
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OctKey
from joserfc.jwt import JWTClaimsRegistry

#: Clock skew allowed on ``exp``/``iat``, seconds (Authlib's and openid-client's default is
#: also a minute or less; a minute keeps expired tokens refused while tolerating NTP drift).
CLOCK_LEEWAY_S = 60
#: Path of the discovery document under an issuer (OpenID Connect Discovery 1.0 section 4).
WELL_KNOWN = "/.well-known/openid-configuration"


class OidcError(Exception):
    """The provider could not be used, or what it sent failed a check (the message says which;
    it is logged, never shown to the caller: it may name the provider's internals)."""


class ProviderMetadata(msgspec.Struct, frozen=True, kw_only=True):
    """The fields of a discovery document Darkroom uses (Discovery 1.0 section 3)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None = None
    end_session_endpoint: str | None = None


class Profile(msgspec.Struct, frozen=True, kw_only=True):
    """Who signed in: the verified ID token's claims, completed from UserInfo."""

    claims: dict[str, Any]

    @property
    def sub(self) -> str:
        """The provider's stable id of the account."""
        return str(self.claims["sub"])

    @property
    def sid(self) -> str | None:
        """The provider's session id (for back-channel logout), when it sends one."""
        sid = self.claims.get("sid")
        return sid if isinstance(sid, str) and sid else None


def _http(config: SystemConfigOAuthDto) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=config.timeout / 1000, follow_redirects=False)


def _check_url(config: SystemConfigOAuthDto, url: str, what: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme != "https" and not (scheme == "http" and config.allow_insecure_requests):
        raise OidcError(f"{what} is not https and allowInsecureRequests is off: {url}")
    return url


def issuer_of(config: SystemConfigOAuthDto) -> str:
    """The issuer named by ``oauth.issuerUrl``, which may also be given as the discovery
    document's own URL (as Immich accepts it)."""
    url = config.issuer_url.strip()
    if url.endswith(WELL_KNOWN):
        url = url[: -len(WELL_KNOWN)]
    return url.rstrip("/")


async def discover(config: SystemConfigOAuthDto) -> ProviderMetadata:
    """Read the provider's discovery document.

    Args:
        config: System config ``oauth``.

    Returns:
        The endpoints, after checking the document's ``issuer`` is the configured one
        (Discovery 1.0 section 4.3) and, unless ``allowInsecureRequests``, that every endpoint
        is https.

    Raises:
        OidcError: Unreachable, not JSON, another issuer, or an insecure URL.
    """
    issuer = issuer_of(config)
    if not issuer:
        raise OidcError("oauth.issuerUrl is empty")
    url = _check_url(config, issuer + WELL_KNOWN, "issuerUrl")
    try:
        async with _http(config) as http:
            response = await http.get(url)
            response.raise_for_status()
        metadata = msgspec.json.decode(response.content, type=ProviderMetadata)
    except (httpx.HTTPError, msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise OidcError(f"discovery failed: {exc}") from exc
    if metadata.issuer.rstrip("/") != issuer:
        raise OidcError(f"discovery names another issuer: {metadata.issuer}")
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        _check_url(config, getattr(metadata, name), name)
    return metadata


def _client(config: SystemConfigOAuthDto, redirect_uri: str) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=config.client_id,
        client_secret=config.client_secret or None,
        token_endpoint_auth_method=config.token_endpoint_auth_method,
        scope=config.scope,
        redirect_uri=redirect_uri,
        timeout=config.timeout / 1000,
    )


def authorization_url(
    config: SystemConfigOAuthDto,
    metadata: ProviderMetadata,
    *,
    redirect_uri: str,
    state: str,
    nonce: str,
    code_challenge: str,
) -> str:
    """The provider URL that asks the user to sign in (an authorization code request).

    Args:
        config: System config ``oauth`` (client id, scope, prompt).
        metadata: The provider's endpoints.
        redirect_uri: Where the provider sends the browser back.
        state: The request's ``state``.
        nonce: The ``nonce`` the ID token must carry.
        code_challenge: PKCE ``S256`` challenge of the verifier the token request will send.

    Returns:
        The URL, with ``prompt`` only when ``oauth.prompt`` is set (as Immich).
    """
    extra = {"prompt": config.prompt} if config.prompt else {}
    return str(
        prepare_grant_uri(
            metadata.authorization_endpoint,
            client_id=config.client_id,
            response_type="code",
            redirect_uri=redirect_uri,
            scope=config.scope,
            state=state,
            nonce=nonce,
            code_challenge=code_challenge,
            code_challenge_method="S256",
            **extra,
        )
    )


async def _key_set(config: SystemConfigOAuthDto, metadata: ProviderMetadata) -> KeySet:
    try:
        async with _http(config) as http:
            response = await http.get(metadata.jwks_uri)
            response.raise_for_status()
        return KeySet.import_key_set(response.json())
    except (httpx.HTTPError, ValueError, JoseError) as exc:
        raise OidcError(f"JWKS unusable: {exc}") from exc


def _verify(
    token: str, key: KeySet | OctKey, algorithm: str, registry: JWTClaimsRegistry
) -> dict[str, Any]:
    """Verify a JWT's signature with ``algorithm`` only, then its claims."""
    try:
        decoded = jwt.decode(token, key, algorithms=[algorithm])
        registry.validate(decoded.claims)
    except (JoseError, ValueError) as exc:
        raise OidcError(f"token refused: {exc!r}") from exc
    return dict(decoded.claims)


def verify_id_token(
    config: SystemConfigOAuthDto,
    metadata: ProviderMetadata,
    keys: KeySet,
    id_token: str,
    nonce: str,
) -> dict[str, Any]:
    """Check an ID token (OpenID Connect Core 1.0 section 3.1.3.7) with joserfc.

    Args:
        config: System config ``oauth``: ``signingAlgorithm`` (the only one accepted),
            ``clientId`` (the audience), ``clientSecret`` (the key of ``HS*`` algorithms).
        metadata: The discovered issuer.
        keys: The provider's JWKS.
        id_token: The compact JWT from the token response.
        nonce: The nonce the authorization request sent.

    Returns:
        Its claims.

    Raises:
        OidcError: Bad signature or algorithm, another issuer or audience, expired, issued in
            the future, no ``sub``, or another nonce.
    """
    algorithm = config.signing_algorithm
    try:
        key: KeySet | OctKey = (
            OctKey.import_key(config.client_secret) if algorithm.startswith("HS") else keys
        )
    except (JoseError, ValueError) as exc:
        raise OidcError(f"no key for {algorithm}: {exc!r}") from exc
    registry = JWTClaimsRegistry(
        leeway=CLOCK_LEEWAY_S,
        iss={"essential": True, "value": metadata.issuer},
        aud={"essential": True, "value": config.client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    return _verify(id_token, key, algorithm, registry)


async def _userinfo(
    config: SystemConfigOAuthDto,
    metadata: ProviderMetadata,
    keys: KeySet,
    access_token: str,
    sub: str,
) -> dict[str, Any]:
    if not metadata.userinfo_endpoint:
        return {}
    url = _check_url(config, metadata.userinfo_endpoint, "userinfo_endpoint")
    try:
        async with _http(config) as http:
            response = await http.get(url, headers={"Authorization": f"Bearer {access_token}"})
            response.raise_for_status()
    except httpx.HTTPError as exc:
        raise OidcError(f"userinfo failed: {exc}") from exc
    if config.profile_signing_algorithm not in ("", "none"):
        registry = JWTClaimsRegistry(sub={"essential": True, "value": sub})
        return _verify(response.text, keys, config.profile_signing_algorithm, registry)
    try:
        claims = response.json()
    except ValueError as exc:
        raise OidcError(f"userinfo is not JSON: {exc}") from exc
    if not isinstance(claims, dict) or claims.get("sub") != sub:
        raise OidcError("userinfo is about another subject")
    return claims


async def fetch_profile(
    config: SystemConfigOAuthDto,
    metadata: ProviderMetadata,
    *,
    callback_url: str,
    state: str,
    code_verifier: str,
    nonce: str,
) -> Profile:
    """Finish a sign-in: exchange the callback's code and check everything that comes back.

    Args:
        config: System config ``oauth``.
        metadata: The provider's endpoints.
        callback_url: The URL the provider redirected to (``code`` and ``state`` in its query);
            the token request's ``redirect_uri`` is that URL without its query.
        state: The state of the authorization this callback must answer (Authlib refuses the
            callback when its ``state`` differs).
        code_verifier: The PKCE verifier of the authorization's challenge.
        nonce: The nonce the ID token must carry.

    Returns:
        The verified claims (ID token, completed from UserInfo when it has no ``email``).

    Raises:
        OidcError: The provider answered an error, the exchange failed, or a check failed.
    """
    query = dict(parse_qsl(urlsplit(callback_url).query))
    if "error" in query:
        raise OidcError(f"provider error: {query['error']} {query.get('error_description', '')}")
    redirect_uri = callback_url.split("?", 1)[0]
    _check_url(config, metadata.token_endpoint, "token_endpoint")
    try:
        async with _client(config, redirect_uri) as client:
            token = await client.fetch_token(
                metadata.token_endpoint,
                authorization_response=callback_url,
                state=state,
                code_verifier=code_verifier,
            )
    except (AuthlibBaseError, httpx.HTTPError, ValueError) as exc:
        raise OidcError(f"code exchange failed: {exc!r}") from exc
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        raise OidcError("the token response has no id_token")
    keys = await _key_set(config, metadata)
    claims = verify_id_token(config, metadata, keys, id_token, nonce)
    if "email" not in claims and isinstance(token.get("access_token"), str):
        info = await _userinfo(config, metadata, keys, token["access_token"], str(claims["sub"]))
        claims = {**info, **claims}
    return Profile(claims=claims)


async def verify_logout_token(config: SystemConfigOAuthDto, logout_token: str) -> Profile:
    """Check a back-channel logout token (OpenID Connect Back-Channel Logout 1.0 section 2.6):
    signature, ``iss``, ``aud``, ``iat``, the logout ``events`` member, no ``nonce``, and a
    ``sub`` or a ``sid``.

    Raises:
        OidcError: Any check failed, or the provider could not be reached.
    """
    metadata = await discover(config)
    keys = await _key_set(config, metadata)
    registry = JWTClaimsRegistry(
        leeway=CLOCK_LEEWAY_S,
        iss={"essential": True, "value": metadata.issuer},
        aud={"essential": True, "value": config.client_id},
        iat={"essential": True},
        events={"essential": True},
    )
    claims = _verify(logout_token, keys, config.signing_algorithm, registry)
    events = claims.get("events")
    if not isinstance(events, dict) or BACKCHANNEL_EVENT not in events:
        raise OidcError("not a logout token: no back-channel logout event")
    if "nonce" in claims:
        raise OidcError("a logout token must not carry a nonce")
    if not claims.get("sub") and not claims.get("sid"):
        raise OidcError("a logout token names neither sub nor sid")
    return Profile(claims=claims)


#: Largest profile picture read from a ``picture`` claim's URL (Darkroom's bound: a provider's
#: avatar is well under it; a larger answer is not read to its end).
PICTURE_MAX_BYTES = 10 << 20


async def fetch_picture(config: SystemConfigOAuthDto, url: str) -> tuple[bytes, str]:
    """Download the profile picture a ``picture`` claim names (Immich's ``getProfilePicture``).

    Args:
        config: System config ``oauth`` (``timeout``).
        url: The claim's http(s) URL.

    Returns:
        The bytes and the answer's media type (lower case, parameters dropped).

    Raises:
        OidcError: Not an http(s) URL, unreachable, an error status, or over
            :data:`PICTURE_MAX_BYTES`.
    """
    if urlsplit(url).scheme not in ("http", "https"):
        raise OidcError(f"picture is not an http(s) URL: {url}")
    try:
        async with (
            httpx.AsyncClient(timeout=config.timeout / 1000, follow_redirects=True) as http,
            http.stream("GET", url) as response,
        ):
            response.raise_for_status()
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > PICTURE_MAX_BYTES:
                    raise OidcError(f"picture over {PICTURE_MAX_BYTES} bytes")
            kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    except httpx.HTTPError as exc:
        raise OidcError(f"picture unavailable: {exc}") from exc
    return bytes(data), kind


#: The ``events`` member a logout token carries (Back-Channel Logout 1.0 section 2.4).
BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"


async def logout_url(config: SystemConfigOAuthDto) -> str | None:
    """Where a browser signed in through OAuth goes after logging out: ``oauth.
    endSessionEndpoint`` when set, else the provider's discovered ``end_session_endpoint``
    (as Immich's ``getLogoutEndpoint``); None while OAuth is off or the provider names none or
    cannot be reached (the caller then sends the browser to the login page).
    """
    if not config.enabled:
        return None
    if config.end_session_endpoint:
        return config.end_session_endpoint
    try:
        return (await discover(config)).end_session_endpoint
    except OidcError:
        return None
