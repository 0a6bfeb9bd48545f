"""Settings every service has (``DARKROOM_*``); a service extends them by subclassing."""

from __future__ import annotations

from typing import Annotated

import msgspec
from darkroom_storage import StorageSettings


class ServiceSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Common settings of a pipeline service.

    Attributes:
        nats_url: NATS server (``DARKROOM_NATS_URL``; a cluster's nodes comma-separated).
        nats_replicas: Replicas of the JetStream stream (``DARKROOM_NATS_REPLICAS``; 1, 3 on a
            three-node cluster, where it then survives the loss of a node); consumers inherit
            it. Give every service the same value.
        database_url: PostgreSQL (``DARKROOM_DATABASE_URL``).
        storage: Object storage (``DARKROOM_STORAGE_*``).
        log_level: Level name for structlog (``DARKROOM_LOG_LEVEL``).
        metrics_host: Address of the Prometheus ``/metrics`` and ``/healthz`` endpoint.
        metrics_port: Its port; 0 turns it off (``DARKROOM_METRICS_PORT``).
        tracing_exporter: "console", "otlp" or empty for none (``DARKROOM_TRACING_EXPORTER``).
        db_pool_size: Most database connections this process opens.
        workers: Threads for blocking work (decoding, rendering) (``DARKROOM_WORKERS``).
        fault_after_commit: TEST ONLY, empty (off) by default (``DARKROOM_FAULT_AFTER_COMMIT``):
            ``<service>:<count>`` pairs, comma-separated (``*`` for every service); the named
            service kills itself (``os._exit``) right after its ``count``-th commit that carries
            events, before publishing them (:class:`darkroom_runtime.outbox.CommitFault`).
            Proves the outbox loses nothing; never set it in production.
        config_file: A JSON or YAML file of system config values (``DARKROOM_CONFIG_FILE``,
            like Immich's ``IMMICH_CONFIG_FILE``; empty: none): they win over the values saved
            in PostgreSQL and the defaults (:mod:`darkroom_db.system_config`). Give every
            service the same file.
    """

    nats_url: str = "nats://127.0.0.1:4222"
    nats_replicas: Annotated[int, msgspec.Meta(ge=1)] = 1
    database_url: str = "postgresql://postgres@127.0.0.1:5432/darkroom"
    storage: StorageSettings = StorageSettings()
    log_level: str = "INFO"
    metrics_host: str = "0.0.0.0"
    metrics_port: int = 0
    tracing_exporter: str | None = None
    db_pool_size: int = 5
    workers: int = 2
    fault_after_commit: str = ""
    config_file: str = ""
