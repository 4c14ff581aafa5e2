"""`gateway archive export | verify | prune` (see docs/operations.md)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ..audit.checkpoints import Published
from ..audit.checkpoints import latest as latest_checkpoint
from ..audit.service import chain_all
from ..cli_lang import say
from ..db import Database, utcnow
from ..edxml.timefmt import VIETNAM
from ..settings import Settings, get_settings
from .bundle import BundleWriter, VerifyReport, verify_bundle
from .service import ArchiveError, ArchiveService, PruneReport, Selection, day_start

# the latest signed audit checkpoint at export (gateway.audit.checkpoints): a copy kept outside
# the gateway, for `gateway audit verify --expect <token>`
AUDIT_CHECKPOINT = "audit-checkpoint.json"

archive_app = typer.Typer(
    help="Hand-off to the historical archive: export signed bundles, verify them, prune.",
    no_args_is_help=True,
)


def _actor() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # pragma: no cover - no user name in some containers
        return "cli"


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            say(f"{value!r} không phải ngày (YYYY-MM-DD)", f"{value!r} is not a date (YYYY-MM-DD)"),
            param_hint=option,
        ) from None


# ------------------------------------------------------------------------------ export
async def export_bundle(
    settings: Settings,
    selection: Selection,
    output: Path,
    *,
    actor: str,
    console: Console | None = None,
) -> tuple[Path, str, int, list[str]]:
    """Write, verify and record a bundle. Returns (path, sha256, documents, skipped-pruned)."""
    from ..trust.runtime import load_signer

    output = Path(output)
    if output.exists():
        raise ArchiveError(f"{output} exists already; choose another --output")
    signer = load_signer(settings)
    db = Database(settings)
    try:
        if settings.auto_migrate:
            await db.migrate()
        # the bundle carries the documents' audit events with their links, and a signed
        # checkpoint of the chain that covers them (a copy of it kept outside the gateway)
        await chain_all(db, force_checkpoint=True)
        created = utcnow()
        bundle_id = str(uuid.uuid4())
        exported: list[tuple[str, str]] = []
        async with db.read_session() as session:  # one consistent read (SQLite: no lock)
            service = ArchiveService(session, settings)
            ids, pruned = await service.select(selection)
            if not ids:
                raise ArchiveError(
                    "no document matches the selection"
                    + (f" ({len(pruned)} matching were pruned already)" if pruned else "")
                )
            writer = BundleWriter(
                output,
                bundle_id=bundle_id,
                created_at=created,
                node_code=settings.node_code,
                selection=selection.as_dict(),
            )
            try:
                with Progress(
                    TextColumn("[bold]Xuất hồ sơ lưu trữ"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeRemainingColumn(),
                    console=console or Console(stderr=True),
                    transient=False,
                ) as progress:
                    task = progress.add_task("export", total=len(ids))
                    for package_id in ids:
                        doc = await service.document(package_id)
                        writer.add_package(
                            package_id=doc.package_id,
                            raw=doc.raw,
                            sha256=doc.sha256,
                            document_id=doc.document_id,
                            code=doc.code,
                            attachments=doc.attachments,
                            metadata=doc.metadata,
                        )
                        exported.append((doc.package_id, doc.sha256))
                        session.expunge_all()  # do not hold every package's bytes
                        progress.advance(task)
                checkpoint = await latest_checkpoint(session)
                if checkpoint is not None:
                    published = Published.of(checkpoint)
                    writer.add_file(
                        AUDIT_CHECKPOINT,
                        json.dumps({**published.as_dict(), "token": published.token}).encode(),
                        role="audit-checkpoint",
                    )
                path, sha = writer.finish(signer)
            except BaseException:
                writer.abort()
                raise
        report = verify_bundle(path, signer.certificate_pem().encode("ascii"))
        if not report.ok:
            raise ArchiveError(
                f"the bundle written to {path} does not verify, not recorded: "
                + "; ".join(report.problems)
            )
        async with db.sessionmaker() as session:
            session.info["db"] = db
            try:
                await ArchiveService(session, settings).record_export(
                    bundle_id=bundle_id,
                    bundle_sha256=sha,
                    bundle_name=path.name,
                    packages=exported,
                    selection=selection,
                    actor=actor,
                    at=created,
                )
                await session.commit()
            finally:
                db.end_write(session)
        await chain_all(db)
        return path, sha, len(exported), pruned
    finally:
        await db.dispose()


@archive_app.command("export")
def export_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="The bundle file (.zip).")],
    agency: Annotated[
        list[str] | None, typer.Option("--agency", help="Agency code (repeatable; default all).")
    ] = None,
    role: Annotated[
        str, typer.Option(help="The agency as `sender`, `recipient` or `any`.")
    ] = "any",
    from_: Annotated[
        str | None, typer.Option("--from", help="First day of receipt (YYYY-MM-DD).")
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last day of receipt, included.")] = None,
    doc_type: Annotated[
        list[str] | None,
        typer.Option("--type", help='Document type name, e.g. "Công văn" (repeatable).'),
    ] = None,
) -> None:
    """Export the selected documents as a signed bundle for the historical archive: each
    package's original bytes and attachments, a metadata record with the timeline, SHA-256 of
    every file and a manifest signed with the gateway's key."""
    if role not in ("any", "sender", "recipient"):
        raise typer.BadParameter(
            say("any, sender hoặc recipient", "any, sender or recipient"), param_hint="--role"
        )
    selection = Selection(
        agencies=tuple(agency or ()),
        role=role,  # type: ignore[arg-type]
        start=_date(from_, "--from"),
        end=_date(to, "--to"),
        document_types=tuple(doc_type or ()),
    )
    if selection.start and selection.end and selection.start > selection.end:
        raise typer.BadParameter(
            say("--from sau --to", "--from is after --to"), param_hint="--from"
        )
    try:
        path, sha, count, pruned = asyncio.run(
            export_bundle(get_settings(), selection, output, actor=_actor())
        )
    except ArchiveError as exc:
        failed = say("xuất thất bại", "export failed")
        Console(stderr=True, soft_wrap=True).print(f"[red]{failed}[/red]: {exc}")
        raise typer.Exit(code=1) from None
    console = Console(soft_wrap=True)
    console.print(
        say(
            f"[green]OK[/green]: đã xuất {count} văn bản vào {path}",
            f"[green]OK[/green]: {count} documents exported to {path}",
        )
    )
    console.print(say(f"sha256 của gói {sha}", f"bundle sha256 {sha}"))
    if pruned:
        console.print(
            say(
                f"[yellow]lưu ý[/yellow]: {len(pruned)} văn bản khớp đã được dọn trước đó và nằm "
                "trong các gói trước",
                f"[yellow]note[/yellow]: {len(pruned)} matching documents were pruned already "
                "and are in earlier bundles",
            )
        )


# ------------------------------------------------------------------------------ verify
def print_report(report: VerifyReport, path: Path) -> None:
    if report.ok:
        console = Console(soft_wrap=True)
        console.print(
            say(
                f"[green]OK[/green]: {path}: gói {report.bundle_id} lúc {report.created_at}, "
                f"{report.packages} văn bản, {report.files} tệp, mọi SHA-256 đều khớp, bản kê "
                f"do {report.signer} ký",
                f"[green]OK[/green]: {path}: bundle {report.bundle_id} of {report.created_at}, "
                f"{report.packages} documents, "
                f"{report.files} files, every SHA-256 matches, manifest signed by {report.signer}",
            )
        )
        console.print(
            say(
                f"SHA-256 của chứng thư {report.signer_sha256}",
                f"certificate SHA-256 {report.signer_sha256}",
            )
        )
        if not report.pinned:
            console.print(
                say(
                    "[yellow]lưu ý[/yellow]: đã kiểm bằng chứng thư nằm trong gói; so SHA-256 ở "
                    "trên với chứng thư công bố của trục, hoặc dùng --cert",
                    "[yellow]note[/yellow]: checked with the certificate inside the bundle; "
                    "compare its SHA-256 above with the gateway's published certificate, or "
                    "pass --cert",
                )
            )
        return
    err = Console(stderr=True, soft_wrap=True)
    err.print(
        say(
            f"[red]KHÔNG ĐẠT[/red]: {path}: {len(report.problems)} vấn đề",
            f"[red]FAILED[/red]: {path}: {len(report.problems)} problem(s)",
        )
    )
    for problem in report.problems:
        err.print(f"  - {problem}")


@archive_app.command("verify")
def verify_command(
    bundle: Annotated[Path, typer.Argument(help="The bundle (.zip) to check.")],
    cert: Annotated[
        Path | None,
        typer.Option(help="Pinned gateway certificate (PEM); default: the one in the bundle."),
    ] = None,
) -> None:
    """Check a bundle offline: every file's SHA-256 and size, nothing missing or added, and
    the manifest's signature. Exit 1 on any mismatch."""
    report = verify_bundle(bundle, cert.read_bytes() if cert else None)
    print_report(report, bundle)
    if not report.ok:
        raise typer.Exit(code=1)


# ------------------------------------------------------------------------------- prune
async def prune_exported(
    settings: Settings, before: date, *, actor: str, dry_run: bool
) -> PruneReport:
    db = Database(settings)
    try:
        if settings.auto_migrate:
            await db.migrate()
        async with db.sessionmaker() as session:
            session.info["db"] = db
            try:
                service = ArchiveService(session, settings)
                cutoff = day_start(before)
                if dry_run:
                    report = PruneReport(pruned=await service.prune_candidates(cutoff))
                    report.freed_bytes = sum(c.size for c in report.pruned)
                    report.skipped = [
                        (p, "a copy is still pending or failed")
                        for p in await service.waiting(cutoff)
                    ]
                    return report
                report = await service.prune(cutoff, actor=actor, now=utcnow())
                await session.commit()
            finally:
                db.end_write(session)
        await chain_all(db)
        return report
    finally:
        await db.dispose()


@archive_app.command("prune")
def prune_command(
    exported_before: Annotated[
        str,
        typer.Option(
            "--exported-before",
            help="Prune documents exported before this day (YYYY-MM-DD, Vietnam time).",
        ),
    ],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    dry_run: Annotated[bool, typer.Option(help="Only say what would be pruned.")] = False,
) -> None:
    """Remove the stored bytes of documents already exported to the archive, leaving a
    tombstone (hashes, bundle) so timelines still answer; GET of such a package answers
    410 Gone. Audit events are appended, never rewritten."""
    before = _date(exported_before, "--exported-before")
    assert before is not None
    if before > utcnow().astimezone(VIETNAM).date() + timedelta(days=1):
        raise typer.BadParameter(
            say("một ngày trong tương lai", "a date in the future"), param_hint="--exported-before"
        )
    settings = get_settings()
    preview = asyncio.run(prune_exported(settings, before, actor=_actor(), dry_run=True))
    console = Console(soft_wrap=True)
    console.print(
        say(
            f"có thể dọn {len(preview.pruned)} văn bản đã xuất ({preview.freed_bytes} byte)",
            f"{len(preview.pruned)} exported documents can be pruned ({preview.freed_bytes} bytes)",
        )
    )
    for package_id, why in preview.skipped:
        console.print(say(f"  giữ {package_id}: {why}", f"  kept {package_id}: {why}"))
    if dry_run or not preview.pruned:
        return
    question = say("Xóa nội dung của chúng khỏi trục?", "Remove their bytes from the gateway?")
    if not yes and not typer.confirm(question, default=False):
        raise typer.Exit(code=1)
    report = asyncio.run(prune_exported(settings, before, actor=_actor(), dry_run=False))
    console.print(
        say(
            f"[green]OK[/green]: đã dọn {len(report.pruned)} văn bản, giải phóng "
            f"{report.freed_bytes} byte (SQLite: chạy VACUUM khi trục dừng để thu nhỏ tệp)",
            f"[green]OK[/green]: {len(report.pruned)} documents pruned, {report.freed_bytes} "
            "bytes freed (SQLite: run VACUUM while the gateway is stopped to shrink the file)",
        )
    )
