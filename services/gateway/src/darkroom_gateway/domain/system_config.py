"""System config (admin only): Immich 3.1's ``/api/system-config`` routes.

``GET`` answers the config in force (defaults, the admin's saved values over them, a
``DARKROOM_CONFIG_FILE`` over both: :mod:`darkroom_db.system_config`); ``PUT`` takes the whole
SystemConfigDto, validated against the spec's bounds while it is decoded (an invalid value is
answered 400 ``Validation failed`` with one issue whose ``path`` names the field, the shape of
every validation error here: :mod:`darkroom_gateway.errors`), stores what differs from the
defaults and announces ``darkroom.config.updated`` so every replica of every service reloads it
(:mod:`darkroom_runtime.live_config`). While a config file is in use PUT is refused as Immich
refuses it when ``IMMICH_CONFIG_FILE`` is set (400, "Cannot update configuration while ... is in
use").
"""

from __future__ import annotations

from datetime import UTC, datetime

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
            BadRequest: ``DARKROOM_CONFIG_FILE`` is in use (it locks the config), or the storage
                template does not compile (as Immich's ``config.validate``).
            ValidationException: A schedule in use is not a cron expression
                (:func:`check_cron_expressions`).
        """
        if deps.config.source.locked:
            raise BadRequest(LOCKED_MESSAGE)
        check_cron_expressions(data)
        check_storage_template(data.storage_template.template)
        changed = await system_config.save(deps.pool, data, deps.config.source)
        current = await deps.config.reload()
        if changed:
            log.info("config.updated", sections=changed, user_id=str(auth.user.id))
            await announce(deps, ConfigUpdated(sections=changed, at=datetime.now(UTC)))
        return current


def check_cron_expressions(config: SystemConfigDto) -> None:
    """Refuse a schedule that is on and is not a cron expression, before it is saved: Immich's
    SystemConfigDto validates ``library.scan.cronExpression`` and
    ``backup.database.cronExpression`` while their job is enabled (its ``CronValidator``,
    "Invalid cron expression"; the library service's ``onConfigValidate`` too). Expressions are
    read as the scheduler reads them (cronsim: 5 fields, or 6 with seconds first).

    Raises:
        ValidationException: 400 ``Validation failed`` naming the field.
    """
    schedules = (
        ("library.scan.cronExpression", config.library.scan),
        ("backup.database.cronExpression", config.backup.database),
    )
    for path, schedule in schedules:
        if not schedule.enabled:
            continue
        try:
            CronSim(schedule.cron_expression, datetime.now(UTC))
        except CronSimError:
            message = "Invalid cron expression"
            raise ValidationException(
                detail=message, extra=[{"key": path, "message": message}]
            ) from None


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
