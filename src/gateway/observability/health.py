"""Probes for the orchestrator, at the root (not under /api/v1):

- `GET /livez`: the process answers. No dependency is checked (a database outage must not
  get every replica restarted).
- `GET /readyz`: ready to take traffic — the database answers, the broker is connected (when
  one is configured and this process relays or delivers), the XSD schemas are compiled. 503
  with `{"status": "unavailable", "checks": {name: {"ok": false, "detail": …}}}` otherwise.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter(tags=["ops"])


@router.get("/livez", include_in_schema=True)
async def livez() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={503: {"description": "not ready; `checks` says which dependency failed"}},
)
async def readyz(request: Request) -> JSONResponse:
    checks: dict[str, dict[str, object]] = {}
    state = request.app.state
    try:
        async with asyncio.timeout(3):
            async with state.db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        checks["database"] = {"ok": True}
    except Exception as exc:
        checks["database"] = {"ok": False, "detail": f"{type(exc).__name__}: {exc}"[:300]}
    runtime = getattr(state, "delivery", None)
    if state.settings.broker_url:
        if runtime is None:
            checks["broker"] = {"ok": True, "detail": "not used by this process"}
        else:
            ok = runtime.broker_ok
            checks["broker"] = {"ok": ok} if ok else {"ok": False, "detail": "not connected"}
    if runtime is not None and runtime.fatal:
        checks["delivery"] = {"ok": False, "detail": runtime.fatal}
    try:
        from ..edxml.schema import compiled

        compiled("document")
        compiled("status")
        checks["schemas"] = {"ok": True}
    except Exception as exc:
        checks["schemas"] = {"ok": False, "detail": f"{type(exc).__name__}: {exc}"[:300]}
    ok = all(c["ok"] for c in checks.values())
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503
    )
