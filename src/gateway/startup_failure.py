"""`gateway serve`: a failure while the app starts (database, broker, a refused setting) is told
in one line (gateway.cli_problems) instead of uvicorn's traceback; `gateway --debug serve` keeps
the traceback.

Starlette reports a failed start-up to the server as `lifespan.startup.failed` carrying the
formatted traceback, then re-raises; this wrapper holds that message back and sends its own,
with the one-line explanation, and uvicorn logs it and exits."""

from __future__ import annotations

from typing import Any

from .cli_lang import language
from .cli_problems import explain


class ExplainStartupFailure:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        held: list[dict] = []

        async def send_or_hold(message: dict) -> None:
            if message["type"] == "lifespan.startup.failed":
                held.append(message)
                return
            await send(message)

        try:
            await self.app(scope, receive, send_or_hold)
        except Exception as exc:
            if not held:  # not a start-up failure (shutdown): as before
                raise
            await send({"type": "lifespan.startup.failed", "message": explain(exc, language())})
            return
        for message in held:
            await send(message)
