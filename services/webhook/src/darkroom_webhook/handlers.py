"""The webhook service's consumers: the workflow runner and webhook delivery.

Workflow runner (durable ``workflow``, like OCR's ``ocr`` inside the embedding service): takes
``darkroom.asset.created``, ``darkroom.asset.metadata.extracted`` and
``darkroom.asset.faces.recognized``, picks the owner's enabled workflows that event decides
(:mod:`darkroom_webhook.rules`), and runs the actions of those whose filters pass, as the
owner, in one transaction per workflow together with its ``workflow_runs`` row (so a
redelivered event never runs a workflow twice for one asset) and the events of its changes
(through the outbox). A webhook action only queues a ``webhook_deliveries`` row (its id
derived from workflow, asset and step: repeat-safe) and announces ``darkroom.webhook.requested``.

Delivery (durable ``webhook``): per ``darkroom.webhook.requested``, checks the target
(:mod:`darkroom_webhook.ssrf`), sends the signed request (:mod:`darkroom_webhook.deliver`) and
records the attempt on the row. A failure is retried by the bus with exponential backoff
(``DARKROOM_WEBHOOK_BACKOFF_S`` doubling); after ``DARKROOM_WEBHOOK_MAX_ATTEMPTS`` requests, or at
once for a refused target, the row is marked ``dead`` and the message dead-lettered
(``job_failures``, durable ``webhook``); both show in ``GET /api/workflows/deliveries``.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import structlog
from darkroom_bus import PermanentError, subscribe
from darkroom_db import albums, assets, tags, workflows
from darkroom_db.workflow_plugin import (
    ActionAddToAlbum,
    ActionArchive,
    ActionFavorite,
    ActionTag,
    ActionWebhook,
)
from darkroom_events import (
    AlbumUpdated,
    AssetCreated,
    AssetFacesRecognized,
    AssetMetadataExtracted,
    AssetUpdated,
    WebhookRequested,
)
from darkroom_events.catalogue import Event
from darkroom_runtime import Context

from darkroom_webhook import rules
from darkroom_webhook.deliver import send
from darkroom_webhook.settings import WebhookSettings
from darkroom_webhook.ssrf import Allowed, RefusedTarget, resolve_target

log = structlog.get_logger()

#: Namespace of delivery ids: uuid5(namespace, "<workflow>:<asset>:<step>").
DELIVERY_NAMESPACE = uuid.UUID("0b8f6a2e-5c1d-4e7f-9a3b-2d4c6e8f0a1b")
#: The ``type`` of a workflow's webhook body.
EVENT_TYPE = "workflow.asset"


class DeliveryFailed(Exception):
    """A webhook attempt failed in a way a retry may fix (the bus retries with backoff)."""


class WebhookBody(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """What a workflow's webhook receives (``data`` of the Standard Webhooks body)."""

    workflow_id: str
    workflow_name: str | None
    trigger: str
    asset_id: str
    owner_id: str
    asset_type: str
    original_file_name: str
    person_ids: list[str]


class WebhookEnvelope(msgspec.Struct, frozen=True, kw_only=True):
    """The JSON body, shaped as Standard Webhooks recommends: ``type``, ``timestamp``, ``data``."""

    type: str
    timestamp: datetime
    data: WebhookBody


def delivery_id(workflow_id: uuid.UUID, asset_id: uuid.UUID, step: int) -> uuid.UUID:
    """The id of a workflow step's delivery for an asset (the same on every redelivery)."""
    return uuid.uuid5(DELIVERY_NAMESPACE, f"{workflow_id}:{asset_id}:{step}")


async def run_workflows(
    ctx: Context, asset_id: str, moment: rules.Moment, person_ids: list[str] | None = None
) -> int:
    """Run the workflows ``moment`` decides for one asset; how many ran.

    Raises:
        darkroom_bus.Gone: The asset was deleted (the bus acks quietly).
    """
    asset = await ctx.asset(uuid.UUID(asset_id))
    if asset.status != "active" or asset.visibility == "locked":
        # the locked folder is the owner's alone, behind the PIN: no automation touches or
        # announces it (archive would even move it out); a trashed asset is left alone too
        return 0
    found = rules.candidates(
        await workflows.enabled_of_owner(ctx.pool, asset.owner_id), moment, asset.created_at
    )
    ran = 0
    for workflow in found:
        named = rules.albums_named(workflow)
        held = await workflows.albums_holding(ctx.pool, asset.id, list(named)) if named else set()
        facts = rules.Facts(
            owner_id=str(asset.owner_id),
            type=asset.type,
            original_file_name=asset.original_file_name,
            original_path=asset.original_path,
            person_ids=frozenset(person_ids or ()),
            album_ids=frozenset(str(a) for a in held),
        )
        if not rules.passes(workflow, facts):
            continue
        if await _run_actions(ctx, workflow, asset, facts):
            ran += 1
    return ran


async def _run_actions(
    ctx: Context, workflow: workflows.Workflow, asset: assets.Asset, facts: rules.Facts
) -> bool:
    """Do the actions of ``workflow`` for ``asset`` once; False when it had run already."""
    steps = rules.actions(workflow)
    owner = asset.owner_id
    # Album rights are checked before the transaction: as the owner, who must own or edit it.
    editable: set[uuid.UUID] = set()
    for _, _, config in steps:
        if isinstance(config, ActionAddToAlbum):
            album_id = uuid.UUID(config.album_id)
            if await albums.get_role(ctx.pool, owner, album_id) in ("owner", "editor"):
                editable.add(album_id)
    now = datetime.now(UTC)
    events: list[Event] = []
    async with ctx.outbox.transaction() as tx:
        if not await workflows.claim_run(tx.conn, workflow.id, asset.id):
            log.info("workflow.already_ran", workflow_id=str(workflow.id), asset_id=str(asset.id))
            return False
        asset_changed = False
        for index, method, config in steps:
            if isinstance(config, ActionAddToAlbum):
                album_id = uuid.UUID(config.album_id)
                if album_id not in editable:
                    log.warning(
                        "workflow.album_not_editable",
                        workflow_id=str(workflow.id),
                        album_id=str(album_id),
                    )
                    continue
                if await workflows.add_to_album(tx.conn, album_id, asset.id):
                    events.append(AlbumUpdated(album_id=str(album_id), user_id=str(owner), at=now))
            elif isinstance(config, ActionTag):
                leaves = await tags.upsert_paths(tx.conn, owner, config.tag_values)
                added = await tags.add_assets(tx.conn, [(t.id, asset.id) for t in leaves])
                asset_changed |= bool(added)
            elif isinstance(config, ActionArchive):
                changed = await assets.update_assets(
                    tx.conn, owner, [asset.id], visibility="archive"
                )
                asset_changed |= bool(changed)
            elif isinstance(config, ActionFavorite):
                changed = await assets.update_assets(tx.conn, owner, [asset.id], is_favorite=True)
                asset_changed |= bool(changed)
            elif isinstance(config, ActionWebhook):
                body = WebhookEnvelope(
                    type=EVENT_TYPE,
                    timestamp=now,
                    data=WebhookBody(
                        workflow_id=str(workflow.id),
                        workflow_name=workflow.name,
                        trigger=workflow.trigger,
                        asset_id=str(asset.id),
                        owner_id=str(owner),
                        asset_type=asset.type,
                        original_file_name=asset.original_file_name,
                        person_ids=sorted(facts.person_ids),
                    ),
                )
                did = delivery_id(workflow.id, asset.id, index)
                if await workflows.add_delivery(
                    tx.conn,
                    delivery_id=did,
                    workflow_id=workflow.id,
                    step=index,
                    owner_id=owner,
                    asset_id=asset.id,
                    url=config.url,
                    payload=msgspec.json.encode(body),
                ):
                    events.append(
                        WebhookRequested(
                            delivery_id=str(did),
                            workflow_id=str(workflow.id),
                            owner_id=str(owner),
                            for_asset_id=str(asset.id),
                        )
                    )
            else:  # pragma: no cover - every action is handled above
                raise AssertionError(f"unhandled action {method.name}")
        if asset_changed:
            events.append(AssetUpdated(asset_id=str(asset.id), owner_id=str(owner), at=now))
        for event in events:
            await tx.add(event)
    log.info(
        "workflow.ran",
        workflow_id=str(workflow.id),
        asset_id=str(asset.id),
        actions=len(steps),
        events=len(events),
    )
    return True


@subscribe(AssetCreated, durable="workflow", max_deliver=5, backoff=(1, 5, 30))
async def workflows_on_upload(event: AssetCreated, ctx: Context) -> None:
    """Run the ``AssetCreate`` workflows without a person filter for a new asset."""
    await run_workflows(ctx, event.asset_id, "created")


@subscribe(AssetMetadataExtracted, durable="workflow", max_deliver=5, backoff=(1, 5, 30))
async def workflows_on_metadata(event: AssetMetadataExtracted, ctx: Context) -> None:
    """Run the ``AssetMetadataExtraction`` workflows without a person filter."""
    await run_workflows(ctx, event.asset_id, "metadata")


@subscribe(AssetFacesRecognized, durable="workflow", max_deliver=5, backoff=(1, 5, 30))
async def workflows_on_faces(event: AssetFacesRecognized, ctx: Context) -> None:
    """Run the workflows with a person filter, now that the asset's people are known."""
    await run_workflows(ctx, event.asset_id, "faces", list(event.person_ids))


#: The workflow runner's handlers.
WORKFLOW_HANDLERS = (workflows_on_upload, workflows_on_metadata, workflows_on_faces)


def _secret(workflow: workflows.Workflow, step: int) -> str | None:
    if step >= len(workflow.steps):
        return None
    config: dict[str, Any] = workflow.steps[step].config or {}
    secret = config.get("secret")
    return secret if isinstance(secret, str) else None


def delivery_handler(settings: WebhookSettings) -> Callable[..., Awaitable[None]]:
    """The ``webhook`` consumer's handler, with the attempts and backoff of ``settings``.

    Args:
        settings: ``webhook_max_attempts``, ``webhook_backoff_s`` (doubling up to
            ``webhook_backoff_max_s``), ``webhook_allowed_hosts``, timeouts.

    Returns:
        The ``@subscribe``-decorated handler of :class:`WebhookRequested`.
    """
    allowed = Allowed.parse(settings.webhook_allowed_hosts)
    attempts = settings.webhook_max_attempts

    @subscribe(
        WebhookRequested,
        durable="webhook",
        max_deliver=attempts,
        backoff=settings.backoff()[:attempts],
        ack_wait=max(30.0, settings.webhook_timeout_s * 3),
        concurrency=8,
        skip_if_gone=False,
    )
    async def deliver_webhook(event: WebhookRequested, ctx: Context) -> None:
        """Send one signed webhook; retried with backoff, dead after the allowed attempts."""
        delivery = await workflows.get_delivery(ctx.pool, uuid.UUID(event.delivery_id))
        if delivery is None or delivery.status != "pending":
            return  # its workflow was deleted, or an earlier delivery of this message settled it
        workflow = await workflows.get_for_worker(ctx.pool, delivery.workflow_id)
        secret = _secret(workflow, delivery.step) if workflow is not None else None
        dlog = log.bind(delivery_id=str(delivery.id), workflow_id=str(delivery.workflow_id))
        if secret is None:
            await workflows.record_attempt(
                ctx.pool,
                delivery.id,
                status="dead",
                http_status=None,
                response=None,
                error="the workflow's webhook step has no secret any more",
            )
            raise PermanentError("webhook step has no secret")
        try:
            target = await resolve_target(delivery.url, allowed)
        except RefusedTarget as exc:
            await workflows.record_attempt(
                ctx.pool,
                delivery.id,
                status="dead",
                http_status=None,
                response=None,
                error=str(exc),
            )
            dlog.warning("webhook.refused", error=str(exc))
            raise PermanentError(str(exc)) from None
        client: httpx.AsyncClient = ctx.extra["http"]
        outcome = await send(
            client,
            target,
            secret=secret,
            msg_id=str(delivery.id),
            body=delivery.payload,
            timeout_s=settings.webhook_timeout_s,
            excerpt_chars=settings.webhook_response_excerpt,
        )
        if outcome.ok:
            await workflows.record_attempt(
                ctx.pool,
                delivery.id,
                status="delivered",
                http_status=outcome.status,
                response=outcome.excerpt,
                error=None,
            )
            dlog.info("webhook.delivered", status=outcome.status, attempt=delivery.attempts + 1)
            return
        dead = delivery.attempts + 1 >= attempts
        made = await workflows.record_attempt(
            ctx.pool,
            delivery.id,
            status="dead" if dead else "pending",
            http_status=outcome.status,
            response=outcome.excerpt,
            error=outcome.error,
        )
        dlog.warning("webhook.failed", error=outcome.error, attempt=made, dead=dead)
        if dead:
            raise PermanentError(f"webhook failed {made} times; last: {outcome.error}")
        raise DeliveryFailed(outcome.error or "webhook failed")

    return deliver_webhook
