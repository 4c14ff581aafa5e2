"""`gateway backup` and `gateway restore` (see gateway.ops.backup and docs/operations.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..cli_lang import say
from ..settings import get_settings
from .backup import BackupError, backend_of, backup, restore, sqlite_path

backup_app = typer.Typer(help="Backup and restore of the gateway database.")

SchemaOption = Annotated[str, typer.Option(help="PostgreSQL schema holding the gateway's tables.")]
PgBinOption = Annotated[
    Path | None,
    typer.Option(
        "--pg-bin",
        envvar="GATEWAY_PG_BIN_DIR",
        help="Directory of pg_dump/pg_restore/psql (default: PATH). Same major version as "
        "the server, or newer.",
    ),
]


@backup_app.command("backup")
def backup_command(
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Backup file (default: <data_dir>/backups/gateway-<time>.*)"
        ),
    ] = None,
    schema: SchemaOption = "public",
    pg_bin: PgBinOption = None,
) -> None:
    """Back the database up while the gateway runs (SQLite: online backup API; PostgreSQL:
    pg_dump of the gateway's schema). Writes <file> and <file>.json (version, revision,
    SHA-256)."""
    try:
        result = backup(get_settings(), output, schema=schema, pg_bin=pg_bin)
    except BackupError as exc:
        failed = say("sao lưu thất bại", "backup failed")
        Console(stderr=True, soft_wrap=True).print(f"[red]{failed}[/red]: {exc}")
        raise typer.Exit(code=1) from None
    m = result.manifest
    console = Console(soft_wrap=True)
    console.print(
        say(
            f"[green]OK[/green]: bản sao lưu {m.backend} {result.path} ({m.size} byte, phiên bản "
            f"lược đồ {m.alembic_revision})",
            f"[green]OK[/green]: {m.backend} backup {result.path} ({m.size} bytes, revision "
            f"{m.alembic_revision})",
        )
    )
    console.print(f"sha256 {m.sha256}; manifest {result.manifest_path}")
    console.print(
        say(
            "Giữ kèm, cất riêng: khóa bí mật (GATEWAY_SECRETS_KEY hoặc <data_dir>/secrets.key) "
            "và khóa ký cùng chứng thư số.",
            "Keep with it, stored separately: the secrets key (GATEWAY_SECRETS_KEY or "
            "<data_dir>/secrets.key) and the signing key and certificate.",
        )
    )


@backup_app.command("restore")
def restore_command(
    path: Annotated[Path, typer.Argument(help="Backup file made by `gateway backup`.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    force: Annotated[
        bool,
        typer.Option(help="Restore even though other connections are open (dangerous)."),
    ] = False,
    schema: SchemaOption = "public",
    pg_bin: PgBinOption = None,
) -> None:
    """Replace the database with a backup. Stop the gateway first (serve, relay, worker,
    connector): restore refuses while the database is in use."""
    settings = get_settings()
    err = Console(stderr=True, soft_wrap=True)
    try:
        backend = backend_of(settings)
        where = str(sqlite_path(settings)) if backend == "sqlite" else _safe(settings)
    except BackupError as exc:
        err.print(f"[red]{say('khôi phục thất bại', 'restore failed')}[/red]: {exc}")
        raise typer.Exit(code=1) from None
    if not yes and not typer.confirm(
        say(
            f"Thay cơ sở dữ liệu {backend} {where} bằng {path}? Mọi thứ ghi sau lần sao lưu sẽ mất",
            f"Replace the {backend} database {where} with {path}? Everything written since the "
            "backup is lost",
        ),
        default=False,
    ):
        raise typer.Exit(code=1)
    try:
        result = restore(settings, path, schema=schema, pg_bin=pg_bin, force=force)
    except BackupError as exc:
        err.print(f"[red]{say('khôi phục thất bại', 'restore failed')}[/red]: {exc}")
        raise typer.Exit(code=1) from None
    console = Console(soft_wrap=True)
    console.print(
        say(
            f"[green]OK[/green]: đã khôi phục {where} từ {path} (phiên bản lược đồ "
            f"{result.alembic_revision})",
            f"[green]OK[/green]: {where} restored from {path} (revision {result.alembic_revision})",
        )
    )
    if result.previous:
        console.print(
            say(
                f"cơ sở dữ liệu cũ được giữ lại ở {result.previous}",
                f"the replaced database was kept as {result.previous}",
            )
        )
    for note in result.notes:
        console.print(f"[yellow]{say('lưu ý', 'note')}[/yellow]: {note}")
    console.print(say("kiểm tra: `gateway audit verify`", "check it: `gateway audit verify`"))


def _safe(settings) -> str:  # type: ignore[no-untyped-def]
    from sqlalchemy.engine import make_url

    return make_url(settings.effective_database_url).render_as_string(hide_password=True)
