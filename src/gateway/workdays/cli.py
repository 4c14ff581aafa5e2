"""`gateway calendar …`: the effective office calendar of a year and operators' changes.

Changes are audited under `cli:<user>`; a running server uses them within a minute."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from ..cli_session import run_in_session
from ..db import utcnow
from ..errors import GatewayError
from ..settings import get_settings
from .service import CalendarChanges, apply_changes, year_view

calendar_app = typer.Typer(
    help="Office calendar: public holidays, days off, working Saturdays, office hours.",
    no_args_is_help=True,
)
console = Console()
err = Console(stderr=True)


def _actor() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # pragma: no cover - no user name in some containers
        return "cli"


def _run(work):
    try:
        return run_in_session(get_settings(), work)
    except GatewayError as exc:
        err.print(f"[red]{exc.code}[/red]: {exc.message}")
        raise typer.Exit(code=1) from None


@calendar_app.command("show")
def show_command(
    year: Annotated[int | None, typer.Option(help="default: the current year")] = None,
) -> None:
    """Days off and working weekend days of a year, with where each comes from."""
    settings = get_settings()

    async def work(session: AsyncSession):
        changes = await CalendarChanges(session, _actor()).list()
        calendar = apply_changes(settings.office_calendar(), changes)
        chosen = year or utcnow().astimezone(calendar.zone).year
        return year_view(calendar, settings, changes, chosen)

    view = _run(work)
    table = Table("ngày / day", "tên / name", "nguồn / source", title=f"Ngày nghỉ {view['year']}")
    for d in view["days_off"]:
        table.add_row(d["day"].isoformat(), d["name"], d["source"])
    console.print(table)
    work_table = Table("ngày / day", "tên / name", "nguồn / source", title="Làm việc bù")
    for d in view["working_days"]:
        work_table.add_row(d["day"].isoformat(), d["name"], d["source"])
    console.print(work_table)
    changes = Table("id", "kind", "day / season", "periods", "note", "by", title="Thay đổi")
    for c in view["changes"]:
        when = c.day.isoformat() if c.day else f"{c.first_day} → {c.last_day}"
        changes.add_row(str(c.id), c.kind, when, c.periods or "", c.note, c.created_by)
    console.print(changes)


def _add_day(kind: str, day: date, note: str) -> None:
    async def work(session: AsyncSession):
        change = await CalendarChanges(session, _actor()).add_day(kind, day, note)  # type: ignore[arg-type]
        return change.id

    console.print(f"#{_run(work)}: {kind} {day.isoformat()}")


DayArg = Annotated[str, typer.Argument(help="YYYY-MM-DD")]
NoteOpt = Annotated[str, typer.Option("--note", help="e.g. Nghỉ bù Quốc khánh")]


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"bad date {text!r} (expected YYYY-MM-DD)") from None


@calendar_app.command("add-day-off")
def add_day_off_command(day: DayArg, note: NoteOpt = "") -> None:
    """A day off: a compensatory day, a province's own day (one decision per day)."""
    _add_day("day_off", _date(day), note)


@calendar_app.command("add-working-day")
def add_working_day_command(day: DayArg, note: NoteOpt = "") -> None:
    """A working day on a weekend or a holiday (e.g. a Saturday worked in exchange)."""
    _add_day("working_day", _date(day), note)


@calendar_app.command("add-office-hours")
def add_office_hours_command(
    first_day: Annotated[str, typer.Argument(help="MM-DD, e.g. 04-15")],
    last_day: Annotated[str, typer.Argument(help="MM-DD, included, e.g. 10-14")],
    periods: Annotated[str, typer.Argument(help="e.g. 07:00-11:30,13:00-16:30")],
    note: NoteOpt = "",
) -> None:
    """Office hours for a part of every year (summer / winter hours); newest wins."""

    async def work(session: AsyncSession):
        change = await CalendarChanges(session, _actor()).add_office_hours(
            first_day, last_day, periods, note
        )
        return change.id

    console.print(f"#{_run(work)}: office hours {first_day} → {last_day}: {periods}")


@calendar_app.command("remove")
def remove_command(change_id: int) -> None:
    """Remove a change (by its id from `gateway calendar show`)."""

    async def work(session: AsyncSession):
        await CalendarChanges(session, _actor()).remove(change_id)

    _run(work)
    console.print(f"#{change_id} removed")
