"""The operators' dashboard at /dashboard: server-rendered pages, a little JavaScript.

Pages (every one needs a logged-in operator, see gateway.ops.sessions):

- `/dashboard/` overview: packages today, in flight, failed, oldest undelivered, backlog by
  priority, outbox, volume of the last 14 days;
- `/dashboard/queues`: per recipient agency — pending, failing, circuit state, last success;
- `/dashboard/dead-letters`: failed copies with resend / cancel (a reason is required and
  audited); an admin may resend every failed copy of one agency at once;
- `/dashboard/packages`: search (DocumentId, code/notation, agency, dates, delivery state,
  kind); `/dashboard/packages/{id}`: the per-recipient timeline and the audit trail;
- `/dashboard/outages`: outage incidents (gateway.outages), open ones with the working hours
  elapsed and the copies affected, recent closed ones with their durations;
  `/dashboard/outages/{id}`: one incident and the documents it affected;
- `/dashboard/charts`: packages per day, delivery latency p50/p90/p99, share of signed docs;
- `/dashboard/reports`: the monthly report (printable), `/dashboard/reports/monthly.csv`.

Roles: operators and admins may both resend and cancel single deliveries (chasing agencies is
the operators' daily work); the bulk resend of an agency is for admins, as are registry
changes (API / CLI). Every POST form carries the session's CSRF token (403 without it).
Everything shown is escaped by Jinja2's autoescape: an agency's Subject cannot inject markup.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined

from ... import __version__
from ...audit.checkpoints import Published
from ...audit.checkpoints import latest as latest_checkpoint
from ...body_policy import authenticator
from ...db import SessionDep, begin_write
from ...delivery.push import endpoint_origin
from ...delivery.service import DeliveryAdmin
from ...errors import Conflict, GatewayError, NotFound, ValidationFailed
from ...observability.metrics import endpoint_snapshots
from ...outages.report import entry_for
from ...outages.repository import OutageRepository
from ...packages.service import PackageService
from ..reports import BadMonth, monthly_report, parse_month
from ..sessions import (
    COOKIE,
    COOKIE_PATH,
    LOGIN_CSRF_COOKIE,
    LoginRefused,
    OperatorContext,
    SessionStore,
    new_token,
    same_secret,
)
from . import charts, i18n
from .repository import MAX_CHART_DAYS, OpsRepository, SearchFilters, group_states, percentile

PREFIX = "/dashboard"
STATIC_DIR = Path(__file__).parent / "static"
PAGE = 50
# a page beyond this would put the offset past what the database takes (10^20 was a 500)
PageNumber = Annotated[int, Query(le=10**6)]
STATES = ("pending", "delivered", "acknowledged", "failed", "cancelled")
FLASHES = {
    "resent": "ok",
    "cancelled": "ok",
    "reason": "error",
    "conflict": "error",
    "not_found": "error",
    "admin_only": "error",
}
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

templates = Environment(
    loader=PackageLoader("gateway.ops.dashboard", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

router = APIRouter(prefix=PREFIX, include_in_schema=False)


# --------------------------------------------------------------------------- plumbing


class LoginRequired(Exception):
    def __init__(self, next_path: str, expired: bool) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.expired = expired


class DashboardError(Exception):
    def __init__(self, key: str, status: int) -> None:
        super().__init__(key)
        self.key = key
        self.status = status


def _store(request: Request) -> SessionStore:
    return request.app.state.dashboard_sessions


def _now(request: Request) -> datetime:
    return request.app.state.clock()


def _zone(request: Request) -> Any:
    return request.app.state.calendar.zone


@authenticator  # the session is checked before a form body is read
async def current_operator(request: Request) -> OperatorContext:
    token = request.cookies.get(COOKIE)
    ctx = await _store(request).resolve(request.app.state.db, token)
    if ctx is None:
        target = request.url.path
        if request.url.query and request.method == "GET":
            target += "?" + request.url.query
        raise LoginRequired(target, expired=bool(token))
    return ctx


Op = Annotated[OperatorContext, Depends(current_operator)]
CsrfField = Annotated[str, Form()]


def check_csrf(ctx: OperatorContext, token: str) -> None:
    if not same_secret(ctx.csrf_token, token):
        raise DashboardError("login.csrf", 403)


def _lang(request: Request) -> str:
    return (
        i18n.pick(request.query_params.get("lang"))
        or i18n.pick(request.cookies.get(i18n.COOKIE))
        or i18n.DEFAULT
    )


def _safe_next(value: str | None) -> str:
    """Only paths of the dashboard itself (no open redirect)."""
    if value and value.startswith(PREFIX + "/") and not any(c in value for c in ("\\", "\n", "\r")):
        return value
    return PREFIX + "/"


def _with_query(path: str, **params: Any) -> str:
    """`path` with `params` set in its query (None: removed)."""
    base, _, query = path.partition("?")
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k not in params]
    pairs += [(k, str(v)) for k, v in params.items() if v is not None]
    return base + ("?" + urlencode(pairs) if pairs else "")


def _secure(request: Request) -> bool:
    forced = request.app.state.settings.dashboard_cookie_secure
    return forced if forced is not None else request.url.scheme == "https"


def _vntime(zone: Any) -> Any:
    def fmt(value: datetime | None, seconds: bool = True) -> str:
        if value is None:
            return "—"
        return value.astimezone(zone).strftime("%d/%m/%Y %H:%M:%S" if seconds else "%d/%m %H:%M")

    return fmt


def age(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = int(max(0, seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def hours(seconds: float | None) -> str:
    """Working time, in hours (a working day is not 24 h, so never shown in days)."""
    return "—" if seconds is None else f"{max(0.0, seconds) / 3600:.1f} h"


def render(
    request: Request,
    name: str,
    op: OperatorContext | None,
    *,
    status: int = 200,
    section: str = "",
    **context: Any,
) -> HTMLResponse:
    lang = _lang(request)
    other = "en" if lang == "vi" else "vi"
    current = request.url.path + ("?" + request.url.query if request.url.query else "")
    flash = request.query_params.get("flash")
    html = templates.get_template(name).render(
        t=i18n.translator(lang),
        lang=lang,
        lang_url=_with_query(current, lang=other, flash=None),
        op=op,
        section=section,
        flash=flash if flash in FLASHES else None,
        flash_kind=FLASHES.get(flash or "", ""),
        vntime=_vntime(_zone(request)),
        age=age,
        hours=hours,
        now=_now(request),
        version=__version__,
        node_code=request.app.state.settings.node_code,
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    security_headers(response)
    if i18n.pick(request.query_params.get("lang")):
        response.set_cookie(
            i18n.COOKIE,
            lang,
            max_age=365 * 86400,
            path=COOKIE_PATH,
            samesite="strict",
            secure=_secure(request),
        )
    return response


def security_headers(response: Response) -> None:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"


def redirect(url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    security_headers(response)
    return response


# --------------------------------------------------------------------------- login


@router.get("", response_class=HTMLResponse)
async def root() -> Response:
    return redirect(PREFIX + "/")


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str | None = None, expired: str | None = None):
    ctx = await _store(request).resolve(request.app.state.db, request.cookies.get(COOKIE))
    if ctx is not None:
        return redirect(_safe_next(next))
    return _login_form(request, next, "login.expired" if expired else None, 200)


def _login_form(request: Request, next_path: str | None, error: str | None, status: int):
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or new_token()
    response = render(
        request,
        "login.html",
        None,
        status=status,
        login_csrf=token,
        next=_safe_next(next_path),
        error=error,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path=COOKIE_PATH,
    )
    return response


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: CsrfField = "",
    next: Annotated[str, Form()] = "",
    code: Annotated[str, Form(max_length=20)] = "",
):
    if not same_secret(request.cookies.get(LOGIN_CSRF_COOKIE), csrf_token):
        return _login_form(request, next, "login.csrf", 403)
    client = request.client.host if request.client else None
    try:
        ctx, token = await _store(request).login(
            request.app.state.db,
            session,
            username,
            password,
            ip=client,
            user_agent=request.headers.get("user-agent"),
            code=code,
        )
    except LoginRefused as refused:
        status = 429 if refused.reason == "locked" else 401
        return _login_form(request, next, f"login.{refused.reason}", status)
    response = redirect(_safe_next(next))
    response.set_cookie(
        COOKIE,
        token,
        max_age=int((ctx.expires_at - _now(request)).total_seconds()),
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path=COOKIE_PATH,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=COOKIE_PATH)
    return response


@router.post("/logout")
async def logout(request: Request, session: SessionDep, op: Op, csrf_token: CsrfField = ""):
    check_csrf(op, csrf_token)
    await _store(request).logout(session, request.cookies.get(COOKIE) or "")
    response = redirect(PREFIX + "/login")
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response


# --------------------------------------------------------------------------- pages


@router.get("/", response_class=HTMLResponse)
async def overview(request: Request, op: Op):
    now, zone = _now(request), _zone(request)
    today = now.astimezone(zone).date()
    async with request.app.state.db.read_session() as session:
        repo = OpsRepository(session)
        ov = await repo.overview(now, zone)
        days = await repo.days(today - timedelta(days=13), today, zone)
        open_outages = len(await OutageRepository(session).open_incidents())
        checkpoint = await latest_checkpoint(session)
    t = i18n.translator(_lang(request))
    labels = [f"{d.day:%d/%m}" for d in days]
    volume = charts.bars(
        labels,
        [
            (t("ov.documents"), [d.documents for d in days], "s1"),
            (t("ov.statuses"), [d.statuses for d in days], "s2"),
        ],
        title=t("ov.volume_14"),
    )
    oldest = (now - ov.oldest_pending_at).total_seconds() if ov.oldest_pending_at else None
    outbox_lag = (now - ov.outbox_oldest_at).total_seconds() if ov.outbox_oldest_at else None
    return render(
        request,
        "overview.html",
        op,
        section="overview",
        ov=ov,
        oldest=oldest,
        outbox_lag=outbox_lag,
        volume=volume,
        open_outages=open_outages,
        checkpoint=Published.of(checkpoint) if checkpoint else None,
    )


@router.get("/queues", response_class=HTMLResponse)
async def queues(request: Request, op: Op):
    now = _now(request)
    async with request.app.state.db.read_session() as session:
        rows = await OpsRepository(session).queues()
    circuits = {s.endpoint: s for s in endpoint_snapshots(request.app)}
    view = []
    for r in rows:
        snap = circuits.get(endpoint_origin(r.endpoint_url)) if r.endpoint_url else None
        view.append(
            {
                "row": r,
                "circuit": str(snap.state.value) if snap else "unknown",
                "failures": snap.consecutive_failures if snap else None,
                "oldest": (now - r.oldest_pending_at).total_seconds()
                if r.oldest_pending_at
                else None,
            }
        )
    return render(request, "queues.html", op, section="queues", rows=view)


@router.get("/dead-letters", response_class=HTMLResponse)
async def dead_letters(request: Request, op: Op, agency: str = "", page: PageNumber = 1):
    page = max(1, page)
    async with request.app.state.db.read_session() as session:
        rows, total = await OpsRepository(session).failed_deliveries(
            agency=agency.strip() or None, limit=PAGE, offset=(page - 1) * PAGE
        )
    return render(
        request,
        "dead_letters.html",
        op,
        section="dead",
        rows=rows,
        total=total,
        agency=agency.strip(),
        page=page,
        pages=max(1, math.ceil(total / PAGE)),
        back=request.url.path + ("?" + request.url.query if request.url.query else ""),
    )


def _back(value: str, flash: str) -> RedirectResponse:
    return redirect(_with_query(_safe_next(value), flash=flash, lang=None))


@router.post("/deliveries/{delivery_id}/resend")
async def resend(
    request: Request,
    delivery_id: str,
    session: SessionDep,
    op: Op,
    csrf_token: CsrfField = "",
    reason: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
):
    check_csrf(op, csrf_token)
    return await _act(request, session, op, back, "resent", delivery_id, reason)


@router.post("/deliveries/{delivery_id}/cancel")
async def cancel(
    request: Request,
    delivery_id: str,
    session: SessionDep,
    op: Op,
    csrf_token: CsrfField = "",
    reason: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
):
    check_csrf(op, csrf_token)
    return await _act(request, session, op, back, "cancelled", delivery_id, reason)


@router.post("/agencies/{code}/resend")
async def resend_agency(
    request: Request,
    code: str,
    session: SessionDep,
    op: Op,
    csrf_token: CsrfField = "",
    reason: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
):
    check_csrf(op, csrf_token)
    if not op.is_admin:
        raise DashboardError("flash.admin_only", 403)
    return await _act(request, session, op, back, "resent", None, reason, agency=code)


async def _act(
    request: Request,
    session: Any,
    op: OperatorContext,
    back: str,
    done: str,
    delivery_id: str | None,
    reason: str,
    *,
    agency: str | None = None,
) -> RedirectResponse:
    if not reason.strip():
        return _back(back, "reason")
    await begin_write(session)
    admin = DeliveryAdmin(session, op.actor, clock=request.app.state.clock)
    try:
        if done == "cancelled" and delivery_id:
            await admin.cancel(delivery_id, reason=reason)
        elif agency:
            await admin.resend(agency=agency, reason=reason)
        else:
            await admin.resend([delivery_id or ""], reason=reason)
    except NotFound:
        return _back(back, "not_found")
    except (Conflict, ValidationFailed):
        return _back(back, "conflict")
    runtime = getattr(request.app.state, "delivery", None)
    relay = getattr(runtime, "relay", None)
    if relay is not None:
        relay.wake()
    return _back(back, done)


RECENT_OUTAGES = 50


@router.get("/outages", response_class=HTMLResponse)
async def outages(request: Request, op: Op):
    state = request.app.state
    now = _now(request)
    async with state.db.read_session() as session:
        repo = OutageRepository(session)
        incidents = [*await repo.open_incidents(), *await repo.recent_closed(RECENT_OUTAGES)]
        names = await repo.agency_names({i.target for i in incidents})
        entries = [
            (await entry_for(repo, i, state.calendar, now, names, with_copies=False), i.affected)
            for i in incidents
        ]
    return render(
        request,
        "outages.html",
        op,
        section="outages",
        open=[(e, n) for e, n in entries if e.open],
        closed=[(e, n) for e, n in entries if not e.open],
        threshold=state.settings.outage_threshold_working_hours,
    )


@router.get("/outages/{incident_id}", response_class=HTMLResponse)
async def outage(
    request: Request, incident_id: Annotated[int, PathParam(ge=1, le=2**63 - 1)], op: Op
):
    state = request.app.state
    async with state.db.read_session() as session:
        repo = OutageRepository(session)
        incident = await repo.incident(incident_id)
        if incident is None:
            raise DashboardError("e.not_found", 404)
        names = await repo.agency_names({incident.target})
        entry = await entry_for(repo, incident, state.calendar, _now(request), names)
    return render(request, "outage.html", op, section="outages", e=entry)


def _date(value: str | None) -> date | None:
    """A search bound, or None when absent or not a plausible date (years 1900–2999: the
    extremes overflow once shifted to UTC)."""
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return day if day is not None and 1900 <= day.year <= 2999 else None


@router.get("/packages", response_class=HTMLResponse)
async def packages(
    request: Request,
    op: Op,
    document_id: str = "",
    code: str = "",
    agency: str = "",
    date_from: str = "",
    date_to: str = "",
    status: str = "",
    kind: str = "",
    page: PageNumber = 1,
):
    page = max(1, page)
    filters = SearchFilters(
        document_id=document_id.strip(),
        code=code.strip(),
        agency=agency.strip(),
        date_from=_date(date_from),
        date_to=_date(date_to),
        status=status if status in STATES else "",
        kind=kind if kind in ("document", "status") else "",
    )
    async with request.app.state.db.read_session() as session:
        hits, more = await OpsRepository(session).search(
            filters, _zone(request), limit=PAGE, offset=(page - 1) * PAGE
        )
    current = request.url.path + ("?" + request.url.query if request.url.query else "")
    return render(
        request,
        "packages.html",
        op,
        section="search",
        f=filters,
        date_from=date_from,
        date_to=date_to,
        hits=[(h, group_states(h.states)) for h in hits],
        states=STATES,
        page=page,
        next_url=_with_query(current, page=page + 1) if more else None,
        prev_url=_with_query(current, page=page - 1) if page > 1 else None,
    )


@router.get("/packages/{package_id}", response_class=HTMLResponse)
async def package_timeline(request: Request, package_id: str, op: Op):
    state = request.app.state
    async with state.db.read_session() as session:
        service = PackageService(
            session,
            limits=state.settings.edxml_limits(),
            calendar=state.calendar,
            node_code=state.settings.node_code,
            signature_check=state.signature_check,
            clock=state.clock,
            routing=getattr(state, "axis_routing", None),
        )
        try:
            timeline = await service.timeline(package_id, op.principal)
        except GatewayError as exc:
            raise DashboardError("e.not_found", exc.status_code) from None
        repo = OpsRepository(session)
        row = await repo.package(package_id)
        trail = await repo.audit_trail(package_id, [r.delivery_id for r in timeline.recipients])
    current = request.url.path + ("?" + request.url.query if request.url.query else "")
    return render(
        request,
        "package.html",
        op,
        section="search",
        tl=timeline,
        row=row,
        trail=trail,
        back=current,
    )


@router.get("/charts", response_class=HTMLResponse)
async def charts_page(request: Request, op: Op, days: int = 30):
    days = min(max(days, 7), MAX_CHART_DAYS)
    now, zone = _now(request), _zone(request)
    today = now.astimezone(zone).date()
    async with request.app.state.db.read_session() as session:
        figures = await OpsRepository(session).days(today - timedelta(days=days - 1), today, zone)
    t = i18n.translator(_lang(request))
    labels = [f"{d.day:%d/%m}" for d in figures]
    volume = charts.bars(
        labels,
        [
            (t("ov.documents"), [d.documents for d in figures], "s1"),
            (t("ov.statuses"), [d.statuses for d in figures], "s2"),
        ],
        title=t("c.volume"),
    )
    all_latencies = [v for d in figures for v in d.latencies]
    # seconds, or minutes when copies wait for a poll (typical for agencies that fetch)
    scale, unit = (
        (60.0, t("c.minutes")) if max(all_latencies, default=0) > 600 else (1.0, t("c.seconds"))
    )

    def scaled(v: float | None) -> float | None:
        return None if v is None else v / scale

    latency = charts.lines(
        labels,
        [(f"p{p}", [scaled(d.latency(p)) for d in figures], f"p{p}") for p in (50, 90, 99)],
        title=t("c.latency"),
        unit=unit,
    )
    share = []
    for d in figures:
        docs = d.signed + d.unsigned
        share.append((100 * d.signed / docs, 100 * d.unsigned / docs) if docs else (0.0, 0.0))
    signed = charts.bars(
        labels,
        [
            (t("c.signed_legend"), [s for s, _ in share], "ok"),
            (t("c.unsigned_legend"), [u for _, u in share], "warn"),
        ],
        title=t("c.signed"),
        unit="%",
        top=100,
    )
    signed_total = sum(d.signed for d in figures)
    docs_total = signed_total + sum(d.unsigned for d in figures)
    return render(
        request,
        "charts.html",
        op,
        section="charts",
        days=days,
        volume=volume,
        latency=latency,
        signed=signed,
        signed_share=(100 * signed_total / docs_total) if docs_total else None,
        overall={p: scaled(percentile(all_latencies, p)) for p in (50, 90, 99)},
        latency_unit=unit,
        delivered=len(all_latencies),
    )


def _default_month(now: datetime, zone: Any) -> str:
    first = now.astimezone(zone).date().replace(day=1)
    return f"{first - timedelta(days=1):%Y-%m}"


@router.get("/reports", response_class=HTMLResponse)
async def reports(request: Request, op: Op, month: str = ""):
    month = month or _default_month(_now(request), _zone(request))
    try:
        parse_month(month)
    except BadMonth:
        month = _default_month(_now(request), _zone(request))
    async with request.app.state.db.read_session() as session:
        report = await monthly_report(session, month, request.app.state.calendar, now=_now(request))
    return render(
        request,
        "report.html",
        op,
        section="reports",
        report=report,
        totals=report.totals,
        csv_url=f"{PREFIX}/reports/monthly.csv?{urlencode({'month': report.month})}",
    )


@router.get("/reports/monthly.csv")
async def report_csv(request: Request, op: Op, month: str = "") -> Response:
    try:
        parse_month(month)
    except BadMonth:
        raise DashboardError("e.not_found", 400) from None
    async with request.app.state.db.read_session() as session:
        report = await monthly_report(session, month, request.app.state.calendar)
    return Response(
        report.to_csv(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="bao-cao-{report.month}.csv"',
            "Cache-Control": "no-store",
        },
    )
