"""Workflows and plugins (the spec's "Workflows" and "Plugins" operations, Immich 3.1).

A workflow is a user's automation: a trigger (``AssetCreate``, ``AssetMetadataExtraction``)
and steps, each a method of a plugin with a config. Darkroom has one built-in plugin,
``darkroom-core`` (:mod:`darkroom_db.workflow_plugin`): filters (owner, file type, album,
person, file name/path glob) and actions (add to album, tag, archive, favorite, call a
webhook). The webhook service runs them (:mod:`darkroom_webhook.handlers`).

Behaviour:

- every route is the caller's own: another user's workflow id is 400 ``Not found or no
  workflow.<action> access`` (Immich's ``requireAccess``), a shared link is refused (403) and
  anonymous callers 401 by the guard;
- steps are validated on create and update: an unknown method or a config that does not fit
  its schema is 400; a step's method may be given as Immich's ``<plugin>[@<version>]#<method>``
  (or by bare name) and is stored and answered as ``<plugin>#<method>`` (Immich's
  ``resolveMethod`` and ``mapWorkflow``); an album must be the caller's or one they may edit,
  a person the caller's (400 ``Not found or no album.update/person.read access``);
- a webhook step without ``secret`` gets a new ``whsec_`` one, shown in its config to the
  owner; ``GET /api/workflows/{id}/share`` (a copy to give others) leaves secrets out;
- Darkroom extension, not in Immich's spec: ``GET /api/workflows/deliveries`` lists webhook
  deliveries with their last response (status, body excerpt, error) and state (``pending``,
  ``delivered``, ``dead`` after the allowed attempts): the caller's, or everyone's for an
  admin (``?status=dead`` for the dead letters).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
import structlog
from darkroom_db import albums, people, workflows
from darkroom_db.workflow_plugin import (
    METHODS,
    PLUGIN_ID,
    PLUGIN_NAME,
    PLUGIN_VERSION,
    TRIGGERS,
    WORKFLOW_TYPES,
    ActionAddToAlbum,
    ActionWebhook,
    BadConfig,
    FilterAlbum,
    FilterPerson,
    Method,
    UnknownMethod,
    method_of,
    method_schema,
    new_secret,
    parse_config,
)
from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from darkroom_gateway.auth import Auth
from darkroom_gateway.deps import Deps
from darkroom_gateway.errors import BadRequest
from darkroom_gateway.permissions import require_access

log = structlog.get_logger()

#: Spec: WorkflowTrigger.
WorkflowTrigger = Literal["AssetCreate", "AssetMetadataExtraction"]
#: When the built-in plugin "was created" (it ships with the server): a fixed date.
_PLUGIN_DATE = "2026-01-01T00:00:00.000Z"


class WorkflowStep(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: WorkflowStepDto."""

    method: str
    config: dict[str, Any] | None = None
    enabled: bool = True


class WorkflowCreate(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: WorkflowCreateDto."""

    trigger: WorkflowTrigger
    name: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    description: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    enabled: bool = True
    steps: Annotated[list[WorkflowStep], msgspec.Meta(max_length=50)] = msgspec.field(
        default_factory=list
    )


class WorkflowUpdate(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: WorkflowUpdateDto (a field left out is left as it is)."""

    trigger: WorkflowTrigger | msgspec.UnsetType = msgspec.UNSET
    name: Annotated[str, msgspec.Meta(max_length=200)] | None | msgspec.UnsetType = msgspec.UNSET
    description: Annotated[str, msgspec.Meta(max_length=2000)] | None | msgspec.UnsetType = (
        msgspec.UNSET
    )
    enabled: bool | msgspec.UnsetType = msgspec.UNSET
    steps: Annotated[list[WorkflowStep], msgspec.Meta(max_length=50)] | msgspec.UnsetType = (
        msgspec.UNSET
    )


class WorkflowResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: WorkflowResponseDto."""

    id: str
    name: str | None
    description: str | None
    trigger: str
    enabled: bool
    steps: list[WorkflowStep]
    created_at: str
    updated_at: str


class WorkflowShareStep(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: WorkflowShareStepDto."""

    method: str
    config: dict[str, Any] | None
    enabled: bool


class WorkflowShareResponse(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: WorkflowShareResponseDto."""

    name: str | None
    description: str | None
    trigger: str
    steps: list[WorkflowShareStep]


class WorkflowTriggerResponse(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: WorkflowTriggerResponseDto."""

    trigger: str
    types: list[str]


class PluginMethodResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: PluginMethodResponseDto."""

    key: str
    name: str
    title: str
    description: str
    host_functions: bool
    schema: dict[str, Any]
    types: list[str]
    ui_hints: list[str]


class PluginResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: PluginResponseDto."""

    id: str
    name: str
    title: str
    description: str
    author: str
    version: str
    created_at: str
    updated_at: str
    methods: list[PluginMethodResponse]


class PluginTemplateStep(msgspec.Struct, frozen=True, kw_only=True):
    """Spec: PluginTemplateStepResponseDto."""

    method: str
    config: dict[str, Any] | None
    enabled: bool = True


class PluginTemplateResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Spec: PluginTemplateResponseDto."""

    key: str
    title: str
    description: str
    trigger: str
    steps: list[PluginTemplateStep]
    ui_hints: list[str]


class DeliveryResponse(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Darkroom extension: one webhook delivery and its last response."""

    id: str
    workflow_id: str
    owner_id: str
    asset_id: str | None
    url: str
    status: str
    attempts: int
    last_status: int | None
    last_response: str | None
    last_error: str | None
    last_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def workflow_response(workflow: workflows.Workflow) -> WorkflowResponse:
    """Map a workflow row to WorkflowResponseDto."""
    return WorkflowResponse(
        id=str(workflow.id),
        name=workflow.name,
        description=workflow.description,
        trigger=workflow.trigger,
        enabled=workflow.enabled,
        steps=[
            WorkflowStep(method=s.method, config=s.config, enabled=s.enabled)
            for s in workflow.steps
        ],
        created_at=_iso(workflow.created_at),
        updated_at=_iso(workflow.updated_at),
    )


def _method_response(method: Method) -> PluginMethodResponse:
    return PluginMethodResponse(
        key=method.key,
        name=method.name,
        title=method.title,
        description=method.description,
        host_functions=False,
        schema=method_schema(method),
        types=list(WORKFLOW_TYPES),
        ui_hints=[method.kind],
    )


def plugin_response() -> PluginResponse:
    """The built-in plugin as PluginResponseDto."""
    return PluginResponse(
        id=PLUGIN_ID,
        name=PLUGIN_NAME,
        title="Darkroom built-in",
        description="Filters (owner, file type, album, person, file name or path) and actions "
        "(add to album, tag, archive, favorite, call a signed webhook).",
        author="Darkroom",
        version=PLUGIN_VERSION,
        created_at=_PLUGIN_DATE,
        updated_at=_PLUGIN_DATE,
        methods=[_method_response(m) for m in METHODS],
    )


#: Ready-made workflows (PluginTemplateResponseDto).
TEMPLATES: tuple[PluginTemplateResponse, ...] = (
    PluginTemplateResponse(
        key="darkroom-core#personAlbum",
        title="Album of a person",
        description="Add every new photo or video showing a person to an album.",
        trigger="AssetCreate",
        steps=[
            PluginTemplateStep(method=f"{PLUGIN_NAME}#filterPerson", config={"personIds": []}),
            PluginTemplateStep(method=f"{PLUGIN_NAME}#actionAddToAlbum", config={"albumId": ""}),
        ],
        ui_hints=["smart-album"],
    ),
    PluginTemplateResponse(
        key="darkroom-core#archiveScreenshots",
        title="Archive screenshots",
        description="Move new files whose name starts with 'Screenshot' to the archive.",
        trigger="AssetCreate",
        steps=[
            PluginTemplateStep(
                method=f"{PLUGIN_NAME}#filterPath", config={"pattern": "Screenshot*"}
            ),
            PluginTemplateStep(method=f"{PLUGIN_NAME}#actionArchive", config=None),
        ],
        ui_hints=[],
    ),
    PluginTemplateResponse(
        key="darkroom-core#notifyUpload",
        title="Webhook on upload",
        description="Call a signed webhook for every new photo or video.",
        trigger="AssetCreate",
        steps=[
            PluginTemplateStep(
                method=f"{PLUGIN_NAME}#actionWebhook", config={"url": "https://example.com/hook"}
            )
        ],
        ui_hints=[],
    ),
)


async def validate_steps(deps: Deps, auth: Auth, steps: list[WorkflowStep]) -> list[workflows.Step]:
    """Check each step's method and config, and the caller's access to what it names; give a
    webhook step without secret a new one.

    Raises:
        BadRequest: Unknown method, or a config that does not fit its schema.
        NoAccess: An album the caller may not edit, a person not theirs.
    """
    out: list[workflows.Step] = []
    for step in steps:
        try:
            method = method_of(step.method)
            config = parse_config(method, step.config)
        except (UnknownMethod, BadConfig) as exc:
            raise BadRequest(str(exc)) from None
        stored = dict(step.config or {})
        if isinstance(config, ActionAddToAlbum):
            role = await albums.get_role(deps.pool, auth.user.id, uuid.UUID(config.album_id))
            require_access(role in ("owner", "editor") or None, "album.update")
        elif isinstance(config, FilterAlbum):
            for album_id in config.album_ids:
                role = await albums.get_role(deps.pool, auth.user.id, uuid.UUID(album_id))
                require_access(role, "album.read")
        elif isinstance(config, FilterPerson):
            person_ids = [uuid.UUID(p) for p in config.person_ids]
            found = await people.get_people(deps.pool, auth.user.id, person_ids)
            require_access(
                len({p.id for p in found}) == len(set(person_ids)) or None, "person.read"
            )
        elif isinstance(config, ActionWebhook) and config.secret is None:
            stored["secret"] = new_secret()
        out.append(  # stored under its key, as Immich answers ``<plugin>#<method>``
            workflows.Step(method=method.key, config=stored or step.config, enabled=step.enabled)
        )
    return out


def _share_step(step: workflows.Step) -> WorkflowShareStep:
    config = {k: v for k, v in (step.config or {}).items() if k != "secret"}
    return WorkflowShareStep(
        method=step.method, config=config if step.config is not None else None, enabled=step.enabled
    )


class WorkflowController(Controller):
    """/api/workflows."""

    path = "/api/workflows"

    @get("/", permission="workflow.read")
    async def search_workflows(
        self,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        workflow_id: Annotated[uuid.UUID | None, QueryParameter(name="id")] = None,
        name: FromQuery[str | None] = None,
        description: FromQuery[str | None] = None,
        enabled: FromQuery[bool | None] = None,
        trigger: FromQuery[WorkflowTrigger | None] = None,
    ) -> list[WorkflowResponse]:
        """The caller's workflows, narrowed by each query parameter given."""
        found = await workflows.search(
            deps.pool,
            auth.user.id,
            workflow_id=workflow_id,
            name=name,
            description=description,
            enabled=enabled,
            trigger=trigger,
        )
        return [workflow_response(w) for w in found]

    @post("/", status_code=201, permission="workflow.create")
    async def create_workflow(
        self,
        data: JSONBody[WorkflowCreate],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> WorkflowResponse:
        """Create a workflow of the caller.

        Raises:
            BadRequest: A step's method or config is invalid.
            NoAccess: A step names an album or person the caller may not use.
        """
        steps = await validate_steps(deps, auth, data.steps)
        made = await workflows.create(
            deps.pool,
            auth.user.id,
            trigger=data.trigger,
            steps=steps,
            name=data.name,
            description=data.description,
            enabled=data.enabled,
        )
        log.info("workflow.created", workflow_id=str(made.id), user_id=str(auth.user.id))
        return workflow_response(made)

    @get("/triggers", permission=False)
    async def get_workflow_triggers(
        self, auth: NamedDependency[Auth]
    ) -> list[WorkflowTriggerResponse]:
        """The triggers a workflow may have (any signed-in user; no permission in the spec)."""
        return [WorkflowTriggerResponse(trigger=t, types=list(WORKFLOW_TYPES)) for t in TRIGGERS]

    @get("/deliveries", permission="workflow.read")
    async def get_webhook_deliveries(
        self,
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
        status: FromQuery[Literal["pending", "delivered", "dead"] | None] = None,
        workflow_id: Annotated[uuid.UUID | None, QueryParameter(name="workflowId")] = None,
    ) -> list[DeliveryResponse]:
        """Darkroom extension: webhook deliveries, newest first (the caller's; an admin's call
        lists everyone's), with their last response; ``status=dead`` lists the dead letters."""
        owner = None if auth.user.is_admin else auth.user.id
        found = await workflows.list_deliveries(
            deps.pool, owner_id=owner, workflow_id=workflow_id, status=status
        )
        return [
            DeliveryResponse(
                id=str(d.id),
                workflow_id=str(d.workflow_id),
                owner_id=str(d.owner_id),
                asset_id=str(d.asset_id) if d.asset_id else None,
                url=d.url,
                status=d.status,
                attempts=d.attempts,
                last_status=d.last_status,
                last_response=d.last_response,
                last_error=d.last_error,
                last_attempt_at=d.last_attempt_at,
                delivered_at=d.delivered_at,
                created_at=d.created_at,
            )
            for d in found
        ]

    @get("/{workflow_id:uuid}", permission="workflow.read")
    async def get_workflow(
        self,
        workflow_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> WorkflowResponse:
        """One of the caller's workflows.

        Raises:
            NoAccess: Not the caller's.
        """
        found = await workflows.get(deps.pool, auth.user.id, workflow_id)
        return workflow_response(require_access(found, "workflow.read"))

    @get("/{workflow_id:uuid}/share", permission="workflow.read")
    async def get_workflow_for_share(
        self,
        workflow_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> WorkflowShareResponse:
        """A copy of the caller's workflow to give to others: no id, no webhook secrets.

        Raises:
            NoAccess: Not the caller's.
        """
        found = require_access(
            await workflows.get(deps.pool, auth.user.id, workflow_id), "workflow.read"
        )
        return WorkflowShareResponse(
            name=found.name,
            description=found.description,
            trigger=found.trigger,
            steps=[_share_step(s) for s in found.steps],
        )

    @put("/{workflow_id:uuid}", permission="workflow.update")
    async def update_workflow(
        self,
        workflow_id: FromPath[uuid.UUID],
        data: JSONBody[WorkflowUpdate],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> WorkflowResponse:
        """Change the caller's workflow; fields left out stay as they are.

        Raises:
            NoAccess: Not the caller's.
            BadRequest: A step is invalid.
        """
        require_access(await workflows.get(deps.pool, auth.user.id, workflow_id), "workflow.update")
        changes: dict[str, Any] = {
            f: getattr(data, f)
            for f in ("trigger", "name", "description", "enabled")
            if getattr(data, f) is not msgspec.UNSET
        }
        if not isinstance(data.steps, msgspec.UnsetType):
            changes["steps"] = await validate_steps(deps, auth, data.steps)
        updated = await workflows.update(deps.pool, auth.user.id, workflow_id, changes)
        return workflow_response(require_access(updated, "workflow.update"))

    @delete("/{workflow_id:uuid}", status_code=204, permission="workflow.delete")
    async def delete_workflow(
        self,
        workflow_id: FromPath[uuid.UUID],
        auth: NamedDependency[Auth],
        deps: NamedDependency[Deps],
    ) -> None:
        """Delete the caller's workflow (its pending webhook deliveries go with it).

        Raises:
            NoAccess: Not the caller's.
        """
        require_access(
            await workflows.delete(deps.pool, auth.user.id, workflow_id) or None, "workflow.delete"
        )
        log.info("workflow.deleted", workflow_id=str(workflow_id), user_id=str(auth.user.id))


def _matches(value: str, wanted: str | None) -> bool:
    return wanted is None or value == wanted


class PluginController(Controller):
    """/api/plugins: the built-in plugin only."""

    path = "/api/plugins"

    @get("/", permission="plugin.read")
    async def search_plugins(
        self,
        auth: NamedDependency[Auth],
        plugin_id: Annotated[uuid.UUID | None, QueryParameter(name="id")] = None,
        name: FromQuery[str | None] = None,
        title: FromQuery[str | None] = None,
        description: FromQuery[str | None] = None,
        version: FromQuery[str | None] = None,
        enabled: FromQuery[bool | None] = None,
    ) -> list[PluginResponse]:
        """The plugins (the built-in one), narrowed by each query parameter given."""
        plugin = plugin_response()
        keep = (
            (plugin_id is None or str(plugin_id) == plugin.id)
            and _matches(plugin.name, name)
            and _matches(plugin.title, title)
            and _matches(plugin.description, description)
            and _matches(plugin.version, version)
            and enabled in (None, True)
        )
        return [plugin] if keep else []

    @get("/methods", permission="plugin.read")
    async def search_plugin_methods(
        self,
        auth: NamedDependency[Auth],
        method_id: Annotated[str | None, QueryParameter(name="id")] = None,
        name: FromQuery[str | None] = None,
        title: FromQuery[str | None] = None,
        description: FromQuery[str | None] = None,
        enabled: FromQuery[bool | None] = None,
        plugin_name: Annotated[str | None, QueryParameter(name="pluginName")] = None,
        plugin_version: Annotated[str | None, QueryParameter(name="pluginVersion")] = None,
        trigger: FromQuery[WorkflowTrigger | None] = None,
        workflow_type: Annotated[Literal["AssetV1"] | None, QueryParameter(name="type")] = None,
    ) -> list[PluginMethodResponse]:
        """The built-in plugin's methods, narrowed by each query parameter given (every method
        works with every trigger and the one workflow type)."""
        if not (
            _matches(PLUGIN_NAME, plugin_name)
            and _matches(PLUGIN_VERSION, plugin_version)
            and enabled in (None, True)
        ):
            return []
        return [
            _method_response(m)
            for m in METHODS
            if (method_id is None or method_id in (m.key, m.name))
            and _matches(m.name, name)
            and _matches(m.title, title)
            and _matches(m.description, description)
        ]

    @get("/templates", permission="plugin.read")
    async def search_plugin_templates(
        self, auth: NamedDependency[Auth]
    ) -> list[PluginTemplateResponse]:
        """Ready-made workflows of the built-in plugin."""
        return list(TEMPLATES)

    @get("/{plugin_id:uuid}", permission="plugin.read")
    async def get_plugin(
        self, plugin_id: FromPath[uuid.UUID], auth: NamedDependency[Auth]
    ) -> PluginResponse:
        """One plugin.

        Raises:
            BadRequest: No such plugin.
        """
        if str(plugin_id) != PLUGIN_ID:
            raise BadRequest("Plugin not found")
        return plugin_response()


ROUTES = [WorkflowController, PluginController]
