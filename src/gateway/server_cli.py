"""`gateway serve` and `gateway db upgrade`."""

from __future__ import annotations

from typing import Annotated

import typer

from .cli_lang import say
from .settings import Settings, get_settings

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade_command(revision: str = "head") -> None:
    """Apply migrations (SQLite or PostgreSQL, from GATEWAY_DATABASE_URL)."""
    from .db import upgrade_blocking

    settings = get_settings()
    upgrade_blocking(settings, revision)
    url = _safe_url(settings.effective_database_url)
    typer.echo(say(f"cơ sở dữ liệu ở {revision}: {url}", f"database at {revision}: {url}"))


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

    from .cli_problems import debugging
    from .listen import listening_socket
    from .observability.logging import configure_logging
    from .startup_failure import ExplainStartupFailure

    settings = get_settings()
    # one log handler for everything: GATEWAY_LOG_FORMAT=json gives JSON lines with request_id
    # (gateway.observability.logging); its gateway.http line per request replaces uvicorn's
    # access log
    configure_logging(settings.log_format, log_level)
    url = settings.effective_database_url
    if workers > 1 and url.startswith("sqlite"):
        raise typer.BadParameter(
            say(
                "--workers > 1 cần PostgreSQL (SQLite chỉ có một tiến trình ghi)",
                "--workers > 1 needs PostgreSQL (SQLite has one writer)",
            )
        )
    bind_host = host or settings.host
    bind_port = settings.port if port is None else port  # --port 0: any free port
    # the port first: on a busy port nothing may be migrated or started (on SQLite a second
    # server would be a second queue consumer, which must never happen)
    sock = listening_socket(bind_host, bind_port)
    bind_port = sock.getsockname()[1]
    try:
        settings = _database_ready(settings)
        where = f"http://{bind_host}:{bind_port}/"
        typer.echo(
            say(
                f"gateway tại {where} (API /api/v1, tài liệu /api/v1/docs), cơ sở dữ liệu "
                f"{_safe_url(url)}, {workers} tiến trình",
                f"gateway on {where} (API /api/v1, docs /api/v1/docs), database "
                f"{_safe_url(url)}, {workers} process(es)",
            ),
            err=True,
        )
        options = {"log_level": log_level, "log_config": None, "access_log": False}
        # uvloop when importable, else asyncio's loop: the rule of gateway.event_loop.run
        options["loop"] = "auto"
        options["proxy_headers"] = False
        if workers == 1:
            from .app import create_app

            app = create_app(settings)
            if not debugging():
                app = ExplainStartupFailure(app)  # one line, not a traceback, if start-up fails
            server = uvicorn.Server(uvicorn.Config(app, **options))
            server.run(sockets=[sock])
            if not server.started:  # the app's start-up failed (uvicorn logged why)
                raise typer.Exit(3)
            return
        from uvicorn.supervisors import Multiprocess

        os.environ["GATEWAY_AUTO_MIGRATE"] = "false"  # migrated once, above
        config = uvicorn.Config(
            "gateway.server_cli:asgi_app", factory=True, workers=workers, **options
        )
        Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()


def _database_ready(settings: Settings) -> Settings:
    """Migrate once, here, before the app starts (GATEWAY_AUTO_MIGRATE), or make sure the
    database is already migrated; the app then starts without migrating."""
    import asyncio

    from .db import Database
    from .migration_state import require_migrated

    async def check() -> None:
        db = Database(settings)
        try:
            if settings.auto_migrate:
                await db.migrate()
            await require_migrated(db.engine)
        finally:
            await db.dispose()

    asyncio.run(check())
    return settings.model_copy(update={"auto_migrate": False})


def asgi_app():
    """The app from the environment's settings: the factory each `--workers` process calls."""
    from .app import create_app
    from .observability.logging import configure_logging

    settings = get_settings()
    configure_logging(settings.log_format, settings.log_level)
    return create_app(settings)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
