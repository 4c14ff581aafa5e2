"""`gateway backups …`: encrypted backups with retention, a schedule for single-machine
installs, and the restore drill (gateway.ops.backup_vault; docs/operations.md "Backups")."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..settings import get_settings
from .backup import BackupError
from .backup_vault import drill, encrypted_backup, new_key, parse_key, prune

backups_app = typer.Typer(
    help="Encrypted, scheduled and pruned backups; the restore drill.", no_args_is_help=True
)
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DirOption = Annotated[
    Path | None, typer.Option("--dir", help="backup directory (default: <data_dir>/backups)")
]
KeepOption = Annotated[int, typer.Option(min=1, help="how many backups to keep (newest)")]


def _key(required: bool = True) -> bytes | None:
    secret = get_settings().backup_key
    if secret is None:
        if required:
            err.print("[red]GATEWAY_BACKUP_KEY is not set[/red] (`gateway backups keygen`)")
            raise typer.Exit(code=1)
        return None
    try:
        return parse_key(secret.get_secret_value())
    except BackupError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(code=1) from None


def _once(directory: Path, keep: int) -> None:
    settings = get_settings()
    key = _key()
    assert key is not None
    sealed = encrypted_backup(settings, directory, key)
    removed = prune(directory, keep)
    console.print(f"[green]OK[/green]: {sealed} (encrypted); {len(removed)} old backups removed")


@backups_app.command("keygen")
def keygen_command() -> None:
    """Print a new backup key (store it as the secret GATEWAY_BACKUP_KEY, away from backups)."""
    typer.echo(new_key())


@backups_app.command("run")
def run_command(directory: DirOption = None, keep: KeepOption = 14) -> None:
    """One encrypted backup, then keep only the newest KEEP (what the Helm CronJob runs)."""
    target = directory or get_settings().data_dir / "backups"
    try:
        _once(target, keep)
    except BackupError as exc:
        err.print(f"[red]backup failed[/red]: {exc}")
        raise typer.Exit(code=1) from None


@backups_app.command("schedule")
def schedule_command(
    every_hours: Annotated[float, typer.Option(min=0.01, help="hours between backups")] = 24.0,
    directory: DirOption = None,
    keep: KeepOption = 14,
) -> None:
    """For single-machine installs: an encrypted backup every EVERY_HOURS (first one now), old
    ones pruned; runs until stopped (as a systemd service, for instance). A failed backup is
    reported and tried again at the next time."""
    target = directory or get_settings().data_dir / "backups"
    _key()  # refuse at once without a key
    while True:
        try:
            _once(target, keep)
        except BackupError as exc:
            err.print(f"[red]backup failed[/red]: {exc}")
        time.sleep(every_hours * 3600)


@backups_app.command("prune")
def prune_command(directory: DirOption = None, keep: KeepOption = 14) -> None:
    """Remove all but the newest KEEP backups of the directory."""
    target = directory or get_settings().data_dir / "backups"
    for path in prune(target, keep):
        console.print(f"removed {path}")


@backups_app.command("drill")
def drill_command(
    path: Annotated[Path, typer.Argument(help="backup (.gwenc or plain)")],
    server: Annotated[
        str | None,
        typer.Option(
            help="PostgreSQL backups: the server (SQLAlchemy URL) to create the scratch "
            "database on (default: the configured database's server)"
        ),
    ] = None,
    pg_bin: Annotated[
        Path | None, typer.Option("--pg-bin", help="directory of pg_restore and psql")
    ] = None,
) -> None:
    """Restore drill: restore the backup into a scratch database (SQLite: a scratch file;
    PostgreSQL: a temporary database, dropped afterwards) and verify the audit chain and every
    package's SHA-256. Exit 1 when anything does not hold."""
    try:
        report = drill(
            path,
            _key(required=False),
            settings=get_settings(),
            server_url=server,
            pg_bin=pg_bin,
        )
    except BackupError as exc:
        err.print(f"[red]drill failed[/red]: {exc}")
        raise typer.Exit(code=1) from None
    console.print(
        f"restored ({report.backend}) into {report.scratch}, revision {report.revision}; "
        f"audit chain: {'intact' if report.audit_ok else 'BROKEN: ' + str(report.audit_reason)}"
        f" ({report.audit_events} events); packages: {report.packages}, "
        f"{len(report.bad_packages)} with a wrong SHA-256"
    )
    for package_id in report.bad_packages:
        console.print(f"  bad package {package_id}")
    if not report.ok:
        raise typer.Exit(code=1)
    console.print("[green]OK[/green]")
