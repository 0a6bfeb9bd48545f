"""The ``darkroom`` command: ``up`` (the embedded stack), ``migrate``, ``demo``, ``backup`` and
``restore``."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

import structlog
from darkroom_config import ConfigError, load_settings

from darkroom_stack.settings import StackSettings
from darkroom_stack.startup import StartError
from darkroom_stack.supervisor import Stack, StackConfig, replicas_from_environ

log = structlog.get_logger()


def stack_config(*, log_to_files: bool = False) -> StackConfig:
    """The embedded stack's configuration from ``DARKROOM_*`` (:class:`StackSettings`: ./data,
    gateway on 127.0.0.1:2283, NATS 4222, PostgreSQL 5433, start timeout 600 s).

    ``DARKROOM_NATS_CLUSTER``, ``DARKROOM_REPLICAS_<SERVICE>`` and
    ``DARKROOM_STORAGE_BACKEND=s3`` give the scaled-out shape of a cluster (issue #25).

    Raises:
        darkroom_config.ConfigError: A variable has a bad value (names it).
    """
    settings = load_settings(StackSettings)
    try:
        replicas = replicas_from_environ()
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return StackConfig(
        data_dir=Path(settings.data_dir),
        host=settings.host,
        gateway_port=settings.port,
        nats_port=settings.nats_port,
        postgres_port=settings.postgres_port,
        log_to_files=log_to_files,
        start_timeout=settings.start_timeout,
        nats_cluster=settings.nats_cluster,
        replicas=replicas,
        storage=settings.storage_backend,
        background_nice=settings.background_nice,
    )


def cmd_up(_: argparse.Namespace) -> int:
    """Run the embedded stack in the foreground until Ctrl-C (or SIGTERM).

    Returns:
        0 after a clean stop; 1 when the stack did not start (the reason is logged as
        ``darkroom.start_failed``, naming the service or port).
    """
    try:
        stack = Stack(stack_config())
    except ConfigError as exc:
        log.error("darkroom.start_failed", error=str(exc))
        return 1

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    # explicit for both: a shell starting us in the background may have left SIGINT ignored
    signal.signal(signal.SIGINT, interrupt)
    signal.signal(signal.SIGTERM, interrupt)
    try:
        stack.start()
        host = stack.config.host
        log.info(
            "darkroom.up",
            url=f"http://localhost:{stack.config.gateway_port}",
            host=host,
            lan=host not in ("127.0.0.1", "localhost", "::1"),
            data=str(stack.config.data_dir.resolve()),
        )
        signal.pause()
    except StartError as exc:
        log.error("darkroom.start_failed", error=str(exc), service=exc.service)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        log.info("darkroom.stopping")
        stack.stop()
    return 0


def cmd_migrate(_: argparse.Namespace) -> int:
    """Apply pending migrations to ``DARKROOM_DATABASE_URL``."""
    from darkroom_db.migrate import main as migrate_main

    return migrate_main()


def cmd_demo(args: argparse.Namespace) -> int:
    """Upload sample media to a running stack (or one started here) and print a report."""
    from darkroom_stack.demo import run_demo

    return run_demo(directory=args.dir, url=args.url)


def cmd_import(args: argparse.Namespace) -> int:
    """Import a Google Takeout export into a server through its public API (docs/takeout.md).

    Returns:
        0 when every file was imported (or was there already), 1 when some failed, 2 when the
        inputs or the server could not be used, 130 after Ctrl-C (the same command resumes).
    """
    from darkroom_import.cli import import_takeout

    return import_takeout(args.paths, server=args.server, api_key=args.key, state_path=args.state)


def cmd_backup(args: argparse.Namespace) -> int:
    """Dump the database of the running installation to storage ``backups/`` (keeping the
    ``--keep`` newest) or to ``--output FILE``.

    Returns:
        0 after the backup; 1 when the installation is not reachable or the dump failed (the
        reason is logged).
    """
    import asyncio

    from darkroom_db.backup import BackupError

    from darkroom_stack.operator import OperatorSettings, StackUnreachable, run_backup

    try:
        where = asyncio.run(run_backup(load_settings(OperatorSettings), args.output, args.keep))
    except (ConfigError, StackUnreachable, BackupError) as exc:
        log.error("darkroom.backup_failed", error=str(exc))
        return 1
    log.info("darkroom.backup_written", backup=where)
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    """Restore ``FILE`` into the running installation (maintenance mode meanwhile), migrate it
    forward and leave maintenance mode.

    Returns:
        0 after the restore; 1 when FILE is not a Darkroom dump, the installation is not
        reachable, or the restore failed (the reason is logged; the server then stays in
        maintenance mode).
    """
    import asyncio

    from darkroom_db.backup import BackupError

    from darkroom_stack.operator import OperatorSettings, StackUnreachable, run_restore

    if not args.file.is_file():
        log.error("darkroom.restore_failed", error=f"{args.file} is not a file")
        return 1
    try:
        applied = asyncio.run(run_restore(load_settings(OperatorSettings), args.file))
    except (ConfigError, StackUnreachable, BackupError, ValueError) as exc:
        log.error("darkroom.restore_failed", error=str(exc))
        return 1
    log.info("darkroom.restored", file=str(args.file), migrations_applied=applied)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``darkroom`` console script."""
    from darkroom_observability import configure_logging

    configure_logging(
        "darkroom", os.environ.get("DARKROOM_LOG_LEVEL", "INFO"), json=not sys.stdout.isatty()
    )
    parser = argparse.ArgumentParser(prog="darkroom", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="run NATS, PostgreSQL and every service (Ctrl-C stops)")
    sub.add_parser("migrate", help="apply database migrations to DARKROOM_DATABASE_URL")
    demo = sub.add_parser("demo", help="upload sample media and report what each asset got")
    demo.add_argument(
        "--dir", type=Path, default=None, help="media folder (default: the shared samples)"
    )
    demo.add_argument(
        "--url", default=None, help="a running server (default: start the embedded stack)"
    )
    importer = sub.add_parser("import", help="import from another service (Google Takeout)")
    sources = importer.add_subparsers(dest="source", required=True)
    takeout = sources.add_parser(
        "takeout", help="upload a Google Takeout export (zips or folders) through the Immich API"
    )
    takeout.add_argument("paths", nargs="+", type=Path, help="Takeout zip parts or folders")
    takeout.add_argument("--server", required=True, help="the server's URL (Darkroom or Immich)")
    takeout.add_argument("--key", required=True, help="an API key of the receiving user")
    takeout.add_argument(
        "--state", type=Path, default=None, help="resume file (default: beside the first PATH)"
    )
    backup = sub.add_parser(
        "backup", help="dump the database of the running stack to storage backups/ or a file"
    )
    backup.add_argument(
        "--output", type=Path, default=None, help="write the .sql.gz here instead of storage"
    )
    backup.add_argument(
        "--keep", type=int, default=14, help="Darkroom backups kept in storage (default 14)"
    )
    restore = sub.add_parser(
        "restore", help="restore a database backup (.sql.gz) into the running stack"
    )
    restore.add_argument("file", type=Path, help="the backup to restore")
    args = parser.parse_args(argv)
    handlers = {
        "up": cmd_up,
        "migrate": cmd_migrate,
        "demo": cmd_demo,
        "import": cmd_import,
        "backup": cmd_backup,
        "restore": cmd_restore,
    }
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
