"""`gateway agencies …`, `gateway systems …`, `gateway operators …`."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..cli_lang import language, say
from ..cli_output import JsonFlag, print_json, print_table
from ..cli_session import run_in_session
from ..errors import GatewayError, ValidationFailed
from ..settings import get_settings
from .export import export_csv
from .models import Agency
from .schemas import SystemIn
from .service import RegistryService, parse_import

console = Console()
err = Console(stderr=True)

agencies_app = typer.Typer(help="Agency registry (danh bạ cơ quan).", no_args_is_help=True)
systems_app = typer.Typer(help="Agency systems and their API keys.", no_args_is_help=True)
operators_app = typer.Typer(help="Operator accounts (operator, admin).", no_args_is_help=True)

EXAMPLE = "tinh-mau-h99.csv"


def _actor() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # pragma: no cover - no user name in some containers
        return "cli"


def _fail(exc: GatewayError) -> typer.Exit:
    body = exc.body(language())["error"]
    err.print(f"[red]{body['code']}[/red]: {body['message']}")
    for f in exc.findings or []:
        err.print(f"  - {f.get('path') or ''}: {f.get('message')}")
    return typer.Exit(code=1)


def example_registry() -> bytes:
    return resources.files("gateway.registry").joinpath("examples", EXAMPLE).read_bytes()


@agencies_app.command("import")
def import_command(
    file: Annotated[
        Path | None,
        typer.Argument(exists=True, dir_okay=False, help="CSV or JSON file of agencies"),
    ] = None,
    example: Annotated[
        bool, typer.Option("--example", help=f"Import the shipped example ({EXAMPLE})")
    ] = False,
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv or json (default: guess)")
    ] = None,
) -> None:
    """Create or update agencies from a file (upsert by code; all or nothing)."""
    if (file is None) == (not example):
        raise typer.BadParameter(say("cho một FILE hoặc --example", "give a FILE or --example"))
    data = example_registry() if example else file.read_bytes()  # type: ignore[union-attr]
    try:
        rows = parse_import(data, fmt)
    except GatewayError as exc:
        raise _fail(exc) from None

    with Progress(
        TextColumn(f"[bold]{say('Nhập danh bạ', 'Importing the registry')}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("import", total=len(rows))

        settings = get_settings()
        production = settings.environment == "production"

        async def work(session: AsyncSession):
            service = RegistryService(
                session, _actor(), box=settings.secret_box(), require_https=production
            )
            return await service.import_agencies(rows, progress=lambda n: progress.advance(task, n))

        try:
            result = run_in_session(settings, work)
        except GatewayError as exc:
            raise _fail(exc) from None
    console.print(
        say(
            f"{result.total} cơ quan: {result.created} thêm mới, {result.updated} cập nhật",
            f"{result.total} agencies: {result.created} created, {result.updated} updated",
        )
    )
    missing = run_in_session(get_settings(), _push_agencies_without_secret)
    if missing:
        console.print(
            say(
                f"{len(missing)} cơ quan nhận kiểu push chưa có khóa push (chưa đẩy được bản "
                "gửi): chạy `gateway agencies push-secret --missing`",
                f"{len(missing)} push-mode agencies have no push secret yet (their copies cannot "
                "be pushed): run `gateway agencies push-secret --missing`",
            )
        )


async def _push_agencies_without_secret(session: AsyncSession) -> list[Agency]:
    return list(
        (
            await session.scalars(
                select(Agency)
                .where(
                    Agency.delivery_mode == "push",
                    Agency.active.is_(True),
                    Agency.push_secret_sealed.is_(None),
                )
                .order_by(Agency.code)
            )
        ).all()
    )


@agencies_app.command("push-secret")
def push_secret_command(
    codes: Annotated[list[str] | None, typer.Argument(help="agencies to give a new secret")] = None,
    missing: Annotated[
        bool, typer.Option("--missing", help="every active push agency that has none yet")
    ] = False,
) -> None:
    """Generate (or rotate) push secrets and print them once, `CODE<TAB>SECRET` a line: the
    agency verifies the gateway's X-Gateway-Signature with it. A rotated secret replaces the
    old one at once; hand it over before its next push."""
    from .push_secrets import rotate_push_secret

    if not codes and not missing:
        raise typer.BadParameter(
            say("cho mã cơ quan hoặc --missing", "give agency codes or --missing")
        )
    settings = get_settings()

    async def work(session: AsyncSession) -> list[tuple[str, str]]:
        service = RegistryService(session, _actor())
        agencies = [await service.get_agency(code) for code in codes or []]
        if missing:
            agencies += await _push_agencies_without_secret(session)
        for agency in agencies:
            if agency.delivery_mode != "push":
                raise ValidationFailed(f"Cơ quan {agency.code} nhận theo kiểu poll, không cần khóa")
        box = settings.secret_box()
        return [
            (agency.code, await rotate_push_secret(session, agency, box, actor=_actor()))
            for agency in {a.code: a for a in agencies}.values()
        ]

    try:
        issued = run_in_session(settings, work)
    except GatewayError as exc:
        raise _fail(exc) from None
    for code, secret in issued:
        typer.echo(f"{code}\t{secret}")
    err.print(
        say(
            f"đã cấp {len(issued)} khóa push; chúng không được hiện lại",
            f"{len(issued)} push secrets issued; they are not shown again",
        )
    )


@agencies_app.command("export")
def export_command(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file to write (default: stdout)")
    ] = None,
) -> None:
    """Write the registry as CSV (the import columns, contacts included); `import` reads it."""

    async def work(session: AsyncSession) -> str:
        return await export_csv(session)

    text = run_in_session(get_settings(), work)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"written: {output}")


@agencies_app.command("list")
def list_command(
    q: Annotated[str | None, typer.Option(help="part of the code or name")] = None,
    parent: Annotated[str | None, typer.Option(help="only children of this code")] = None,
    limit: int = 200,
    as_json: JsonFlag = False,
) -> None:
    """List agencies."""
    from .schemas import AgencyOut

    async def work(session: AsyncSession):
        return await RegistryService(session, _actor()).agencies.page(
            q=q, parent=parent, limit=limit
        )

    items, total = run_in_session(get_settings(), work)
    if as_json:  # the API's shape (GET /api/v1/admin/agencies)
        agencies = [AgencyOut.model_validate(a).model_dump(mode="json") for a in items]
        print_json({"items": agencies, "total": total})
        return
    print_table(
        ("code", "name", "parent", "level", "active", "mode"),
        [
            (
                a.code,
                a.name,
                a.parent_code,
                a.level,
                "yes" if a.active else f"no → {a.superseded_by or '-'}",
                a.delivery_mode,
            )
            for a in items
        ],
        whole=("code", "parent"),
    )
    console.print(f"{len(items)} / {total}")


@agencies_app.command("show")
def show_command(code: str, as_json: JsonFlag = False) -> None:
    """Show one agency."""
    from .schemas import AgencyOut

    async def work(session: AsyncSession):
        service = RegistryService(session, _actor())
        agency = await service.get_agency(code)
        children, _ = await service.agencies.page(parent=code, limit=1000)
        systems = await service.systems.systems_for_agencies([code])
        return agency, children, systems

    try:
        agency, children, systems = run_in_session(get_settings(), work)
    except GatewayError as exc:
        raise _fail(exc) from None
    if as_json:
        out = AgencyOut.model_validate(agency).model_dump(mode="json", exclude={"push_secret"})
        out["systems"] = [s.name for s in systems]
        out["children"] = [{"code": c.code, "name": c.name} for c in children]
        print_json(out)
        return
    for field in (
        "code",
        "name",
        "parent_code",
        "level",
        "active",
        "superseded_by",
        "delivery_mode",
        "endpoint_url",
        "test_endpoint",
        "contact_name",
        "contact_position",
        "contact_email",
        "contact_phone",
    ):
        console.print(f"[bold]{field}[/bold]: {getattr(agency, field)}")
    console.print(f"[bold]systems[/bold]: {', '.join(s.name for s in systems) or '-'}")
    if children:
        console.print("[bold]children[/bold]:")
        for c in children:
            console.print(f"  {c.code}  {c.name}")


@systems_app.command("create")
def create_system_command(
    name: str,
    agency: Annotated[list[str], typer.Option("--agency", help="code it may act as (repeat)")],
    certificate: Annotated[
        list[str] | None, typer.Option("--certificate", help="client certificate identity")
    ] = None,
) -> None:
    """Register a system allowed to act as the given agencies; prints its API key once."""

    async def work(session: AsyncSession):
        service = RegistryService(session, _actor())
        system, key = await service.create_system(
            SystemIn(name=name, agencies=agency, certificates=certificate or [])
        )
        return system.id, key

    try:
        system_id, key = run_in_session(get_settings(), work)
    except GatewayError as exc:
        raise _fail(exc) from None
    err.print(
        say(
            f"hệ thống {name} ({system_id}) cho {', '.join(agency)}. Khóa API (chỉ hiện một lần):",
            f"system {name} ({system_id}) for {', '.join(agency)}. API key (shown once):",
        )
    )
    print(key)


@systems_app.command("list")
def list_systems_command(as_json: JsonFlag = False) -> None:
    """List systems, their agencies and live API key prefixes."""

    async def work(session: AsyncSession):
        service = RegistryService(session, _actor())
        return [await service.system_out(s) for s in await service.systems.all()]

    systems = run_in_session(get_settings(), work)
    if as_json:  # the API's shape (GET /api/v1/admin/systems)
        print_json([s.model_dump(mode="json") for s in systems])
        return
    print_table(
        ("id", "name", "active", "agencies", "keys"),
        [
            (
                s.id,
                s.name,
                s.active,
                ", ".join(s.agencies),
                ", ".join(k.prefix for k in s.keys if k.revoked_at is None),
            )
            for s in systems
        ],
        whole=("id", "name"),
    )


@systems_app.command("new-key")
def new_key_command(system: str, label: str | None = None) -> None:
    """Issue another API key for a system (by id or name); prints it once."""

    async def work(session: AsyncSession):
        _, key = await RegistryService(session, _actor()).new_key(system, label)
        return key

    try:
        print(run_in_session(get_settings(), work))
    except GatewayError as exc:
        raise _fail(exc) from None


@operators_app.command("create")
def create_operator_command(
    name: str,
    role: Annotated[str, typer.Option(help="operator or admin")] = "operator",
    password: Annotated[
        bool, typer.Option("--password", help="also set a password (prompted)")
    ] = False,
) -> None:
    """Create an operator account; prints its API key once."""
    secret = (
        typer.prompt(say("Mật khẩu", "Password"), hide_input=True, confirmation_prompt=True)
        if password
        else None
    )

    async def work(session: AsyncSession):
        _, key = await RegistryService(session, _actor()).create_operator(name, role, secret)
        return key

    try:
        key = run_in_session(get_settings(), work)
    except GatewayError as exc:
        raise _fail(exc) from None
    err.print(
        say(
            f"người vận hành {name} ({role}). Khóa API (chỉ hiện một lần):",
            f"operator {name} ({role}). API key (shown once):",
        )
    )
    print(key)
