"""System config (admin only): Immich 3.1's ``/api/system-config`` routes.

``GET`` answers the config in force (defaults, the admin's saved values over them, a
``DARKROOM_CONFIG_FILE`` over both: :mod:`darkroom_db.system_config`); ``PUT`` takes the whole
SystemConfigDto, validated against the spec's bounds while it is decoded and then as the rest of
Immich's SystemConfigDto checks it (schedules, addresses: :func:`check_values`; an invalid value
is answered 400 ``Validation failed`` with one issue per field whose ``path`` names it, the shape
of every validation error here: :mod:`darkroom_gateway.errors`), checks an SMTP server being
turned on (:func:`check_smtp`), stores what differs from the defaults and announces
``darkroom.config.updated`` so every replica of every service reloads it
(:mod:`darkroom_runtime.live_config`). While a config file is in use PUT is refused as Immich
refuses it when ``IMMICH_CONFIG_FILE`` is set (400, "Cannot update configuration while ... is in
use").
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import msgspec
import structlog
from cronsim import CronSim, CronSimError
from darkroom_db import system_config
from darkroom_db.system_config import SystemConfigDto
from darkroom_events import ConfigUpdated
from darkroom_storage.template import TemplateAsset, TemplateError, compile_template, values_for
from litestar import Controller, get, put
from litestar.di import NamedDependency
from litestar.exceptions import ValidationException
from litestar.params import JSONBody

from darkroom_gateway import mail
from darkroom_gateway.announce import announce
from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.errors import BadRequest

log = structlog.get_logger()

#: Immich's answer to a PUT while its config file is in use, naming Darkroom's variable.
LOCKED_MESSAGE = f"Cannot update configuration while {system_config.CONFIG_FILE_VAR} is in use"


class SystemConfigTemplateStorageOptionDto(
    msgspec.Struct, frozen=True, kw_only=True, rename="camel"
):
    """Spec: SystemConfigTemplateStorageOptionDto (the storage template's tokens and presets)."""

    day_options: list[str]
    hour_options: list[str]
    minute_options: list[str]
    month_options: list[str]
    preset_options: list[str]
    second_options: list[str]
    week_options: list[str]
    year_options: list[str]


class SystemConfigController(Controller):
    """/api/system-config (admin only: ``systemConfig.read`` / ``systemConfig.update``)."""

    path = "/api/system-config"

    @get("/", admin=True, permission="systemConfig.read")
    async def get_config(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> SystemConfigDto:
        """The config in force (read from PostgreSQL, so a save on any replica shows at once)."""
        return await deps.config.reload()

    @get("/defaults", admin=True, permission="systemConfig.read")
    async def get_defaults(
        self, auth: NamedDependency[Auth], deps: NamedDependency[Deps]
    ) -> SystemConfigDto:
        """The config with nothing saved: Immich's defaults, Darkroom's where it differs, and
        the ``DARKROOM_*`` variables that set a value until now
        (:func:`darkroom_db.system_config.defaults`)."""
        return system_config.defaults(deps.config.source)

    @get("/storage-template-options", admin=True, permission="systemConfig.read")
    async def get_storage_template_options(
        self, auth: NamedDependency[Auth]
    ) -> SystemConfigTemplateStorageOptionDto:
        """The storage template's date tokens and preset templates, as Immich lists them."""
        return msgspec.convert(
            system_config.STORAGE_TEMPLATE_OPTIONS, SystemConfigTemplateStorageOptionDto
        )

    @put("/", admin=True, permission="systemConfig.update")
    async def update_config(
        self,
        data: JSONBody[SystemConfigDto],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> SystemConfigDto:
        """Save the whole config and have every service apply it without a restart.

        Raises:
            BadRequest: ``DARKROOM_CONFIG_FILE`` is in use (it locks the config), the storage
                template does not compile, or the SMTP server being turned on does not answer
                (as Immich's ``config.validate``).
            ValidationException: A schedule is not a cron expression or an address no URL
                (:func:`check_values`).
        """
        if deps.config.source.locked:
            raise BadRequest(LOCKED_MESSAGE)
        check_values(data)
        check_storage_template(data.storage_template.template)
        await check_smtp(deps, data)
        changed = await system_config.save(deps.pool, data, deps.config.source)
        current = await deps.config.reload()
        if changed:
            log.info("config.updated", sections=changed, user_id=str(auth.user.id))
            await announce(deps, ConfigUpdated(sections=changed, at=datetime.now(UTC)))
        return current


#: Where Immich's SystemConfigDto runs its cron check (``cronExpressionSchema``), job on or off.
SCHEDULES = (
    "backup.database.cronExpression",
    "library.scan.cronExpression",
    "integrityChecks.missingFiles.cronExpression",
    "integrityChecks.untrackedFiles.cronExpression",
    "integrityChecks.checksumFiles.cronExpression",
)

#: Addresses Immich's SystemConfigDto takes empty or as a URL, and its message for each.
EMPTY_OR_URL = (
    ("server.externalDomain", "External domain must be an empty string or a valid URL"),
    ("oauth.issuerUrl", "Issuer URL must be an empty string or a valid URL"),
    ("oauth.endSessionEndpoint", "endSessionEndpoint must be an empty string or a valid URL"),
)

#: URL schemes whose URLs have a host (WHATWG URL's "special" schemes but ``file``).
_HOST_SCHEMES = frozenset({"http", "https", "ws", "wss", "ftp"})


def is_url(value: str) -> bool:
    """Whether ``value`` (trimmed) is an absolute URL as zod's ``z.url()`` takes one (it
    parses with WHATWG's ``new URL``): a scheme, and a host where the scheme needs one.

    Args:
        value: The text to check.
    """
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname
        parts.port  # noqa: B018 (raises ValueError for a port that is no number)
    except ValueError:
        return False
    if not parts.scheme or not value.strip().lower().startswith(f"{parts.scheme}:"):
        return False
    if parts.scheme in _HOST_SCHEMES:
        return bool(host) and not any(c.isspace() for c in host or "")
    return True


def _field(tree: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        tree = tree[part]
    return tree


def value_issues(config: SystemConfigDto) -> list[dict[str, str]]:
    """The problems Immich's SystemConfigDto finds beyond the spec's bounds, one per field
    (``key`` the dotted path, ``message`` Immich's):

    - every schedule of :data:`SCHEDULES`, whether or not its job is on, is a cron expression
      ("Invalid cron expression"; read as the scheduler reads it: cronsim, 5 fields or 6 with
      seconds first);
    - ``map.lightStyle``/``map.darkStyle`` are URLs (``z.url()``: "Invalid URL");
    - the addresses of :data:`EMPTY_OR_URL` are empty or URLs;
    - ``oauth.mobileRedirectUri`` is empty or a URL while ``oauth.mobileOverrideEnabled`` is on
      (SystemConfigOAuthDto's ``transform``, whose issue names the ``oauth`` section).

    Args:
        config: The decoded request.
    """
    tree = msgspec.to_builtins(config)
    issues: list[dict[str, str]] = []
    now = datetime.now(UTC)
    for path in SCHEDULES:
        try:
            CronSim(_field(tree, path), now)
        except CronSimError:
            issues.append({"key": path, "message": "Invalid cron expression"})
    for path in ("map.lightStyle", "map.darkStyle"):
        if not is_url(_field(tree, path)):
            issues.append({"key": path, "message": "Invalid URL"})
    for path, message in EMPTY_OR_URL:
        value = _field(tree, path)
        if value and not is_url(value):
            issues.append({"key": path, "message": message})
    oauth = config.oauth
    if oauth.mobile_override_enabled and oauth.mobile_redirect_uri:
        if not is_url(oauth.mobile_redirect_uri):
            message = "Mobile redirect URI must be an empty string or a valid URL"
            issues.append({"key": "oauth", "message": message})
    return issues


def check_values(config: SystemConfigDto) -> None:
    """Refuse a config that Immich's SystemConfigDto refuses beyond the spec's bounds, before
    it is saved (:func:`value_issues`).

    Raises:
        ValidationException: 400 ``Validation failed``, one issue per field.
    """
    issues = value_issues(config)
    if issues:
        raise ValidationException(detail=issues[0]["message"], extra=issues)


async def check_smtp(deps: Deps, config: SystemConfigDto) -> None:
    """Check the SMTP server when a save turns e-mail on or changes it while on, as Immich's
    notification service does on ``ConfigValidate`` (``verifySmtp``: connect, and log in when
    a username is set), comparing with the config in force.

    Raises:
        BadRequest: "Invalid SMTP configuration": the server did not answer or refused the
            login.
    """
    smtp = config.notifications.smtp
    before = (await deps.config.reload()).notifications.smtp
    if not smtp.enabled or smtp == before:
        return
    settings = mail.settings_of(smtp, deps.settings.smtp.timeout_s)
    try:
        await mail.verify(settings)
    except mail.SendError as exc:
        log.info("config.smtp_invalid", error=str(exc))
        raise BadRequest("Invalid SMTP configuration") from exc


def check_storage_template(template: str) -> None:
    """Refuse a storage template that cannot render, before it is saved: Immich compiles it
    (Handlebars, strict) and renders a sample asset, answering 400 "Invalid storage template:
    ..." when either fails (its storage-template service, ``onConfigValidate``).

    Raises:
        BadRequest: The template is malformed or names an unknown token.
    """
    sample = TemplateAsset(
        asset_id="d587e44b-f8c0-4832-9ba3-43268bbf5d4e",
        type="IMAGE",
        original_file_name="IMG_123.jpg",
        current_key="upload/test/IMG_123.jpg",
        captured=datetime.now(UTC),
        album="album",
    )
    try:
        compile_template(template).render(values_for(sample))
    except TemplateError as exc:
        raise BadRequest(f"Invalid storage template: {exc}") from exc


ROUTES = [SystemConfigController]
