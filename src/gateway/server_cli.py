"""`gateway serve` and `gateway db upgrade`."""

from __future__ import annotations

from typing import Annotated

import typer

from .settings import get_settings

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade_command(revision: str = "head") -> None:
    """Apply migrations (SQLite or PostgreSQL, from GATEWAY_DATABASE_URL)."""
    from .db import upgrade_blocking

    settings = get_settings()
    upgrade_blocking(settings, revision)
    typer.echo(f"database at {revision}: {_safe_url(settings.effective_database_url)}")


def serve_command(
    host: Annotated[str | None, typer.Option(help="default: GATEWAY_HOST or 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="default: GATEWAY_PORT or 8080")] = None,
    log_level: str = "info",
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="server processes sharing the port (PostgreSQL only; each runs the relay "
            "and, in embedded-queue mode, a worker, as configured)",
        ),
    ] = 1,
) -> None:
    """Run the gateway service (embedded SQLite by default; migrates on start)."""
    import os

    import uvicorn

    from .app import create_app
    from .ops.logging import configure_logging

    settings = get_settings()
    # one log handler for everything: GATEWAY_LOG_FORMAT=json gives JSON lines with request_id
    # (gateway.ops.logging); its gateway.http line per request replaces uvicorn's access log
    configure_logging(settings.log_format, log_level)
    url = settings.effective_database_url
    if workers > 1 and url.startswith("sqlite"):
        raise typer.BadParameter("--workers > 1 needs PostgreSQL (SQLite has one writer)")
    typer.echo(
        f"gateway on http://{host or settings.host}:{port or settings.port}/api/v1 "
        f"(docs: /api/v1/docs), database {_safe_url(url)}, {workers} process(es)",
        err=True,
    )
    options = {
        "host": host or settings.host,
        "port": port or settings.port,
        "log_level": log_level,
        "log_config": None,
        "access_log": False,
        "proxy_headers": False,
    }
    if workers == 1:
        uvicorn.run(create_app(settings), **options)
        return
    if settings.auto_migrate:  # once, here, rather than racing in every process
        from .db import upgrade_blocking

        upgrade_blocking(settings)
        os.environ["GATEWAY_AUTO_MIGRATE"] = "false"
    uvicorn.run("gateway.server_cli:asgi_app", factory=True, workers=workers, **options)


def asgi_app():
    """The app from the environment's settings: the factory each `--workers` process calls."""
    from .app import create_app
    from .ops.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    return create_app(settings)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
