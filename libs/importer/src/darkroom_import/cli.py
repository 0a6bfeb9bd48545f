"""The terminal side of ``darkroom import takeout``: a rich progress bar and the summary."""

from __future__ import annotations

from pathlib import Path

import httpx
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from darkroom_import.client import ApiError, ImmichClient
from darkroom_import.state import State
from darkroom_import.takeout import Item, Summary, run

#: Exit statuses: all imported; some files failed; the import could not start; Ctrl-C (128 + 2).
EXIT_OK, EXIT_FAILED, EXIT_UNUSABLE, EXIT_INTERRUPTED = 0, 1, 2, 130


def default_state_path(paths: list[Path]) -> Path:
    """The state file beside the first input: ``<input>.darkroom-import.jsonl``."""
    first = paths[0].resolve()
    return first.with_name(first.name + ".darkroom-import.jsonl")


def summary_table(summary: Summary) -> Table:
    """The summary as a table (one row per outcome)."""
    table = Table(title="Google Takeout import", show_header=False)
    table.add_row("imported", str(summary.imported))
    table.add_row("duplicates (already on the server)", str(summary.duplicates))
    table.add_row("done by an earlier run", str(summary.resumed))
    table.add_row("skipped (in the Google Photos bin)", str(len(summary.skipped)))
    table.add_row("without a JSON sidecar", str(summary.unmatched))
    table.add_row("albums", ", ".join(f"{k} ({v})" for k, v in summary.albums.items()) or "-")
    table.add_row("failed", str(len(summary.failed)))
    return table


def import_takeout(
    paths: list[Path],
    *,
    server: str,
    api_key: str,
    state_path: Path | None = None,
    console: Console | None = None,
) -> int:
    """Import a Google Takeout export into ``server``, showing progress and a summary.

    Args:
        paths: the export's zip parts and/or extracted folders.
        server: the server's URL (``http://host:2283``).
        api_key: an API key of the user who receives the photos.
        state_path: the resume state file (:func:`default_state_path` when None).
        console: where to print (stderr's terminal when None).

    Returns:
        :data:`EXIT_OK`, :data:`EXIT_FAILED` when some files or albums failed (listed with
        their reasons), or :data:`EXIT_UNUSABLE` when the inputs or the server cannot be used.
    """
    console = console or Console(stderr=True)
    missing = [p for p in paths if not p.exists()]
    if missing:
        console.print(f"[red]no such file or folder: {escape(', '.join(map(str, missing)))}")
        return EXIT_UNUSABLE
    state = State(state_path or default_state_path(paths), server)
    try:
        state.check_writable()
    except OSError as exc:
        console.print(f"[red]cannot write the state file (choose one with --state): {exc}")
        return EXIT_UNUSABLE
    client = ImmichClient(server, api_key)
    summary = Summary()
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("reading the export", total=None)

            def advance(item: Item | None, total: int) -> None:
                if item is None:
                    progress.update(task, total=total, description="importing")
                else:
                    progress.update(task, advance=1, description=item.entry.name[:40])

            run(client, paths, state, on_progress=advance, summary=summary)
    except (ApiError, httpx.HTTPError) as exc:
        console.print(f"[red]cannot import into {escape(server)}: {escape(str(exc))}")
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        console.print(summary_table(summary))
        console.print(f"interrupted: run the same command again to resume (state: {state.path})")
        return EXIT_INTERRUPTED
    finally:
        client.close()
    console.print(summary_table(summary))
    for name, reason in summary.failed:
        console.print(f"[red]failed[/red] {escape(name)}: {escape(reason)}", highlight=False)
    console.print(f"state: {state.path}")
    return EXIT_FAILED if summary.failed else EXIT_OK
