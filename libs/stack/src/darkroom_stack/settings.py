"""Settings of ``darkroom up`` / ``darkroom demo`` (``DARKROOM_*``), built once by the CLI."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec


class StackSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How ``darkroom up`` runs the embedded stack.

    Attributes:
        data_dir: State of NATS, PostgreSQL, the storage and the generated secrets
            (``DARKROOM_DATA_DIR``; ``./data``).
        host: Address the gateway listens on (``DARKROOM_HOST``). ``127.0.0.1`` by default, so
            only this machine reaches it; ``0.0.0.0`` serves the LAN. NATS and PostgreSQL always
            listen on 127.0.0.1 only.
        port: The gateway's port (``DARKROOM_PORT``; 2283 as Immich).
        nats_port: NATS port (``DARKROOM_NATS_PORT``; 4222).
        postgres_port: PostgreSQL port (``DARKROOM_POSTGRES_PORT``; 5433, beside a system
            PostgreSQL on 5432).
        start_timeout: Seconds the start may take at most (``DARKROOM_START_TIMEOUT``; 600). It
            is a ceiling, not an expectation: the start fails earlier when a process dies, or
            when one shows no progress (CPU time, output) for half of it.
        nats_cluster: NATS nodes (``DARKROOM_NATS_CLUSTER``; 1). 3 runs a three-node JetStream
            cluster on loopback (the first node on ``nats_port``) with the stream replicated on
            all three, so the stack keeps working when one node dies.
        storage_backend: Where the stack keeps objects when it starts the storage itself
            (``DARKROOM_STORAGE_BACKEND``): ``filesystem`` (``<data>/storage``) or ``s3``
            (the bundled S3-compatible server, nanio, data in ``<data>/s3``).
        background_nice: Niceness added to the embedding, face and transcode processes
            (``DARKROOM_BACKGROUND_NICE``; 0, at most 19): e.g. 10 so the upload -> thumbnail
            path gets the CPU first when both want it
            (:attr:`darkroom_stack.supervisor.StackConfig.background_nice`).

    Processes per service come from ``DARKROOM_REPLICAS_<SERVICE>`` (e.g.
    ``DARKROOM_REPLICAS_THUMBNAIL=3``; :func:`darkroom_stack.supervisor.replicas_from_environ`).
    """

    data_dir: str = "data"
    host: str = "127.0.0.1"
    port: int = 2283
    nats_port: int = 4222
    postgres_port: int = 5433
    start_timeout: Annotated[float, msgspec.Meta(gt=0)] = 600.0
    nats_cluster: Annotated[int, msgspec.Meta(ge=1, le=9)] = 1
    storage_backend: Literal["filesystem", "s3"] = "filesystem"
    background_nice: Annotated[int, msgspec.Meta(ge=0, le=19)] = 0
